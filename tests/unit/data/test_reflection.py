"""Reflection failures inside SQLAlchemy are located errors (exit 4), never an internal error (exit 70)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from spinout.data.schema import load_metadata
from spinout.errors import ToolError


def test_a_reflection_parser_failure_is_a_tool_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")

    def broken(*args: Any, **kw: Any) -> Any:
        raise AttributeError("'NoneType' object has no attribute 'groups'")  # as a regex that did not match

    monkeypatch.setattr(engine.dialect, "get_foreign_keys", broken)
    with pytest.raises(ToolError, match=r"reflection failed on it \(AttributeError: 'NoneType'") as info:
        load_metadata(engine, None)
    assert info.value.exit_code == 4
    engine.dispose()
