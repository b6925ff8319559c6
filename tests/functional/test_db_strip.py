"""`db strip` re-checks both sides now: a copy that lost or changed rows after `db verify` blocks the drop.

The finding (issue 17, 3.5): copy + verify, then `DELETE FROM members` in the service database, then `db strip`
dropped every moved table, so the members' rows were gone from both databases. The oracle here is the database
itself: rows read back with plain SELECTs, table names as the server lists them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from spinout import api
from spinout.cli import main
from spinout.errors import DataMismatch, UnsafeSourceError
from spinout.progress import Noted, RecordingProgress
from tests.fixtures import neutron_db
from tests.fixtures.datahelpers import sibling_database, snapshot, table_names, write_plan

LB = neutron_db.SERVICES["lbaas"]
SVC = "neutron-lbaas"


@contextmanager
def _verified(db_url: str, tmp_path: Path) -> Iterator[tuple[Path, Path, str]]:
    """The LBaaS tables copied into a sibling database and verified; yields (plan, migrations dir, target URL)."""
    neutron_db.create(db_url, 6)
    plan = write_plan(tmp_path, services=("lbaas",))
    out = tmp_path / "migrations"
    api.db_migrations(plan, db_url, out)
    with sibling_database(db_url, tmp_path, "lb") as target:
        api.db_copy(plan, db_url, {SVC: target})
        assert api.db_verify(plan, db_url, {SVC: target}).exit_code == 0
        yield plan, out, target


def _execute(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_strip_refuses_when_the_copy_lost_rows_since_verified(db_url: str, tmp_path: Path) -> None:
    with _verified(db_url, tmp_path) as (plan, out, target):
        before = snapshot(db_url)
        members = snapshot(target, ["members"])["members"]
        assert members  # the test proves nothing on an empty table
        _execute(target, "DELETE FROM members")
        with pytest.raises(DataMismatch, match=rf"{SVC}\.members \(target has 0 rows, {len(members)} when verified\)"):
            api.db_strip(plan, db_url, {SVC: target}, out)
        # nothing dropped: the core still holds every row, the only copy of the members now
        assert snapshot(db_url) == before

        # the rows put back exactly: the re-check passes and the strip goes through
        engine = sa.create_engine(target)
        md = sa.MetaData()
        md.reflect(engine, only=["members"])
        cols = sorted(c.name for c in md.tables["members"].columns)
        with engine.begin() as conn:
            conn.execute(md.tables["members"].insert(), [dict(zip(cols, r, strict=True)) for r in members])
        engine.dispose()
        stripped = api.db_strip(plan, db_url, {SVC: target}, out)
    assert sorted(stripped.dropped) == sorted(LB) and stripped.forced == []
    assert table_names(db_url) & set(LB) == set()


def test_strip_refuses_when_the_copy_changed_or_vanished(db_url: str, tmp_path: Path) -> None:
    with _verified(db_url, tmp_path) as (plan, out, target):
        before = snapshot(db_url)
        # an update keeps the count: the checksum recomputed at strip time sees it
        _execute(target, "UPDATE pools SET name = 'changed' WHERE name = 'pool 1'")
        with pytest.raises(DataMismatch, match=rf"{SVC}\.pools \(target rows changed since verified\)"):
            api.db_strip(plan, db_url, {SVC: target}, out)
        _execute(target, "UPDATE pools SET name = 'pool 1' WHERE name = 'changed'")
        _execute(target, "DROP TABLE lb_events")
        with pytest.raises(DataMismatch, match=rf"{SVC}\.lb_events \(the table is gone from "):
            api.db_strip(plan, db_url, {SVC: target}, out)
        assert snapshot(db_url) == before


def test_strip_force_drops_a_changed_copy_loudly(sqlite_url: str, tmp_path: Path) -> None:
    with _verified(sqlite_url, tmp_path) as (plan, out, target):
        count = len(snapshot(target, ["members"])["members"])
        _execute(target, "DELETE FROM members")
        progress = RecordingProgress()
        stripped = api.db_strip(plan, sqlite_url, {SVC: target}, out, force=True, progress=progress)
    assert stripped.forced == [f"{SVC}.members (target has 0 rows, {count} when verified)"]
    assert any(n.level == "warning" and "members" in n.text for n in progress.of(Noted))
    assert table_names(sqlite_url) & set(LB) == set()


def test_strip_cli_exits_5_naming_the_table(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _verified(sqlite_url, tmp_path) as (plan, out, target):
        _execute(target, "DELETE FROM members WHERE 1 = 1")
        args = ["db", "strip", str(plan), "--db-url", sqlite_url, "--service-db-url", f"{SVC}={target}"]
        code = main([*args, "--migrations", str(out), "--json"])
        captured = capsys.readouterr()
        assert code == 5
        payload = json.loads(captured.out)
        assert payload["error"] == "DataMismatch" and "members (target has 0 rows" in payload["message"]
        assert set(LB) <= table_names(sqlite_url)
        # a never-verified service is still exit 3 (UnsafeSourceError), as before
        _execute(target, "DROP TABLE spinout_verify")
        with pytest.raises(UnsafeSourceError, match="not verified"):
            api.db_strip(plan, sqlite_url, {SVC: target}, out)
