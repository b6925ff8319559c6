"""The whole data stage on the sample monorepo's SQLite database, into service databases on each backend.

The sample (spinout.sample) is the independent peer here: its plan, its models (`acme.db.head:metadata`) and its
own row counts per table. The migrations create the service tables on the target backend, the copy fills them,
verify proves them equal, strip drops them from the core.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from spinout import api
from spinout.cli import main
from spinout.plan.load import load_plan
from spinout.sample import build_sample
from tests.fixtures.datahelpers import alembic_run, sibling_database, snapshot, table_names


@pytest.mark.slow
def test_sample_database_is_split_copied_verified_and_stripped(db_url: str, tmp_path: Path) -> None:
    info = build_sample(tmp_path / "sample")
    core = info.database_url
    planned = api.db_plan(info.plan, core)
    assert planned.exit_code == 0
    moved = {t for tables in planned.data_plan.services.values() for t in tables}
    assert sorted(fk.describe() for fk in planned.data_plan.of_kind("cross")) == [
        "poolloadbalanceragentbindings(agent_id) -> agents(id)",
        "vips(port_id) -> ports(id)",
        "vpnservices(router_id) -> routers(id)",
        "vpnservices(subnet_id) -> subnets(id)",
    ]
    out = tmp_path / "migrations"
    api.db_migrations(info.plan, core, out)
    before = snapshot(core)
    services = list(planned.data_plan.services)
    with (
        sibling_database(db_url, tmp_path, "s0") as s0,
        sibling_database(db_url, tmp_path, "s1") as s1,
        sibling_database(db_url, tmp_path, "s2") as s2,
    ):
        urls = dict(zip(services, (s0, s1, s2), strict=True))
        for name, url in urls.items():
            alembic_run(out / name, url, "upgrade", "head")
        copied = api.db_copy(info.plan, core, urls)
        assert {t.table: t.rows for t in copied.tables} == {t: info.table_rows[t] for t in moved}
        verified = api.db_verify(info.plan, core, urls)
        assert verified.exit_code == 0, verified.lines()
        assert verified.dangling == []
        assert snapshot(core) == before
        stripped = api.db_strip(info.plan, core, urls, out)
    assert set(stripped.dropped) == moved
    assert table_names(core) & moved == set()
    kept = set(before) - moved
    assert {t: rows for t, rows in snapshot(core).items() if t in kept} == {t: before[t] for t in kept}
    engine = sa.create_engine(core)
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA foreign_key_check")).all() == []
    engine.dispose()


@pytest.mark.slow
def test_deployer_upgrade_runs_the_data_steps(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`spinout upgrade` with the data steps wired: config split, migrations, copy, verify, strip; rerun is a no-op."""
    info = build_sample(tmp_path / "sample")
    core = info.database_url
    before = snapshot(core)
    services = ["acme-lb", "acme-fw", "acme-vpn"]
    with (
        sibling_database(db_url, tmp_path, "s0") as s0,
        sibling_database(db_url, tmp_path, "s1") as s1,
        sibling_database(db_url, tmp_path, "s2") as s2,
    ):
        urls = dict(zip(services, (s0, s1, s2), strict=True))
        # Through the command line, so that the default wiring of the data steps is what runs.
        args = ["upgrade", str(info.plan), "--config-dir", str(info.config_dir), "--db-url", core, "--json"]
        for name, url in urls.items():
            args += ["--service-db-url", f"{name}={url}"]
        assert main(args) == 0
        out = json.loads(capsys.readouterr().out)
        assert [(s["name"], s["status"]) for s in out["steps"]] == [
            ("config", "done"),
            ("db-migrations", "done"),
            ("db-copy", "done"),
            ("db-verify", "done"),
            ("db-strip", "done"),
        ]
        moved = {t for svc in load_plan(info.plan).service for t in svc.tables}
        assert table_names(core) == (set(before) - moved) | {"alembic_version_acme_strip"}
        copied = {}
        for url in urls.values():
            copied.update(snapshot(url, sorted(moved & table_names(url))))
        assert {t: len(rows) for t, rows in copied.items()} == {t: len(before[t]) for t in moved}
        assert main(args) == 0
        again = json.loads(capsys.readouterr().out)
        assert {s["status"] for s in again["steps"]} == {"done"}
