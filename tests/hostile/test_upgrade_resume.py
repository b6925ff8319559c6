"""An interrupted `spinout upgrade` can be resumed: two windows the upgrade SIGKILL campaign found.

- The migrations step on SQLite was not all or nothing: pysqlite commits before every CREATE TABLE, so a service's
  initial migration killed (or failing) half-way left some tables created and no revision recorded; every rerun then
  failed with "table healthmonitors already exists". A failure half-way is the deterministic version of that kill.
- A kill after the strip committed but before the journal recorded it ran the strip step again on a core without
  the services' tables: exit 70 (`no such table: pools`). The journal edited back to "running" is the deterministic
  version.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from spinout import api
from spinout.errors import ToolError
from tests.hostile.confkit import copy_config, pristine_sample


def _tables(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_a_migration_failing_half_way_leaves_nothing_and_the_upgrade_resumes(tmp_path: Path) -> None:
    info = pristine_sample(tmp_path / "w")
    config = copy_config(info, tmp_path / "config")
    core = f"sqlite:///{info.database}"
    lb = tmp_path / "lb.db"
    services = {"acme-lb": f"sqlite:///{lb}", "acme-fw": f"sqlite:///{tmp_path / 'fw.db'}"}
    services["acme-vpn"] = f"sqlite:///{tmp_path / 'vpn.db'}"
    conn = sqlite3.connect(lb)
    conn.execute("CREATE TABLE pools (planted INTEGER)")  # the initial migration creates other tables before it
    conn.commit()
    conn.close()
    with pytest.raises(ToolError, match=r"applying the migrations of acme-lb failed: .*table pools already exists"):
        api.upgrade(info.plan, config, core, services)
    assert _tables(lb) == {"pools"}  # nothing of the failed migration stayed: no table, no version row

    conn = sqlite3.connect(lb)
    conn.execute("DROP TABLE pools")
    conn.commit()
    conn.close()
    result = api.upgrade(info.plan, config, core, services)
    assert result.exit_code == 0, result.lines()
    assert {"pools", "vips", "members", "alembic_version_acme_lb"} <= _tables(lb)


def test_a_strip_that_committed_before_the_journal_said_so_is_not_run_again(tmp_path: Path) -> None:
    info = pristine_sample(tmp_path / "w")
    config = copy_config(info, tmp_path / "config")
    core = f"sqlite:///{info.database}"
    services = {name: f"sqlite:///{tmp_path / (name + '.db')}" for name in ("acme-lb", "acme-fw", "acme-vpn")}
    assert api.upgrade(info.plan, config, core, services).exit_code == 0
    journal = config / ".spinout-upgrade.json"
    state = json.loads(journal.read_text())
    state["steps"]["db-strip"]["status"] = "running"  # killed between the strip's commit and the journal's write
    journal.write_text(json.dumps(state))
    before = {db.name: _tables(db) for db in [info.database, *tmp_path.glob("*.db")]}
    result = api.upgrade(info.plan, config, core, services)
    assert result.exit_code == 0, result.lines()
    strip = next(s for s in result.steps if s.name == "db-strip")
    assert strip.status == "done" and "an earlier run stripped them" in strip.lines[0]
    assert {db.name: _tables(db) for db in [info.database, *tmp_path.glob("*.db")]} == before
