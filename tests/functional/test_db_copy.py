"""`spinout db copy / verify` on real servers: whole copies, verification, rejection, refusals, source untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from spinout import api
from spinout.cli import main
from spinout.errors import DataMismatch, UnsafeSourceError
from spinout.progress import Advanced, RecordingProgress
from tests.fixtures import neutron_db
from tests.fixtures.datahelpers import sibling_database, snapshot, write_plan
from tests.fixtures.neutron_db import uid

LB, FW = neutron_db.SERVICES["lbaas"], neutron_db.SERVICES["fwaas"]


def test_copy_then_verify_equals_source_rows(db_url: str, tmp_path: Path) -> None:
    neutron_db.create(db_url, 25)
    plan = write_plan(tmp_path)
    _copy_then_verify(db_url, tmp_path, plan)


def test_copy_through_python_between_mariadb_databases(mariadb_url: str, tmp_path: Path) -> None:
    """Same server, but without the INSERT ... SELECT pass-through: the path rows take between two servers."""
    neutron_db.create(mariadb_url, 25)
    plan = write_plan(tmp_path, pass_through=False)
    _copy_then_verify(mariadb_url, tmp_path, plan)


def _copy_then_verify(db_url: str, tmp_path: Path, plan: Path) -> None:
    before = snapshot(db_url)
    planned = api.db_plan(plan, db_url)
    assert planned.exit_code == 0 and set(planned.data_plan.services["neutron-lbaas"]) == set(LB)
    with sibling_database(db_url, tmp_path, "lb") as lb, sibling_database(db_url, tmp_path, "fw") as fw:
        urls = {"neutron-lbaas": lb, "neutron-fwaas": fw}
        progress = RecordingProgress()
        copied = api.db_copy(plan, db_url, urls, progress=progress)
        assert copied.exit_code == 0
        # the target rows are the source rows, read back with plain SELECTs
        assert snapshot(lb, LB) == {t: before[t] for t in LB}
        assert snapshot(fw, FW) == {t: before[t] for t in FW}
        assert {t.table: t.rows for t in copied.tables} == {t: len(before[t]) for t in LB + FW}
        assert any(dict(e.counters).get("rows/s") is not None for e in progress.of(Advanced))
        verified = api.db_verify(plan, db_url, urls)
        assert verified.exit_code == 0, verified.lines()
        assert sorted(c.table for c in verified.checks) == sorted(LB + FW)
        assert all(c.source.rows == len(before[c.table]) for c in verified.checks)
        # a rerun copies nothing
        again = api.db_copy(plan, db_url, urls)
        assert {t.status for t in again.tables} == {"already copied"} and sum(t.copied for t in again.tables) == 0
        # the verification is recorded in the target
        engine = sa.create_engine(lb)
        with engine.connect() as conn:
            recorded = dict(conn.execute(sa.text("SELECT table_name, ok FROM spinout_verify")).all())
        engine.dispose()
        assert set(recorded) == set(LB) and all(recorded.values())
    # no command but strip changes the source (plan, copy, verify, a second copy)
    assert snapshot(db_url) == before


def test_cross_database_foreign_keys_become_plain_columns(db_url: str, tmp_path: Path) -> None:
    neutron_db.create(db_url, 8)
    plan = write_plan(tmp_path, services=("lbaas",))
    with sibling_database(db_url, tmp_path, "lb") as lb:
        api.db_copy(plan, db_url, {"neutron-lbaas": lb})
        engine = sa.create_engine(lb)
        inspector = sa.inspect(engine)
        vips_fks = {fk["referred_table"] for fk in inspector.get_foreign_keys("vips")}
        bindings_fks = {fk["referred_table"] for fk in inspector.get_foreign_keys("poolloadbalanceragentbindings")}
        vips_cols = {c["name"] for c in inspector.get_columns("vips")}
        engine.dispose()
        assert vips_fks == {"pools"}  # ports.id reference dropped, pools kept
        assert bindings_fks == {"pools"}
        assert "port_id" in vips_cols


def test_verify_detects_changed_missing_and_dangling(db_url: str, tmp_path: Path) -> None:
    neutron_db.create(db_url, 12)
    plan = write_plan(tmp_path, services=("lbaas",))
    with sibling_database(db_url, tmp_path, "lb") as lb:
        urls = {"neutron-lbaas": lb}
        api.db_copy(plan, db_url, urls)
        target = sa.create_engine(lb)
        with target.begin() as conn:
            conn.execute(sa.text("UPDATE members SET weight = weight + 1 WHERE id = :i"), {"i": uid("member", 3)})
            conn.execute(sa.text("DELETE FROM lb_events WHERE event = 'created'"))
            # a vip whose port is not in the core: a dangling cross-database reference
            conn.execute(sa.text("UPDATE vips SET port_id = 'no-such-port' WHERE id = :i"), {"i": uid("vip", 1)})
        target.dispose()
        result = api.db_verify(plan, db_url, urls)
        assert result.exit_code == 5
        bad = {c.table for c in result.checks if not c.ok}
        assert bad == {"members", "lb_events", "vips"}
        lb_events = next(c for c in result.checks if c.table == "lb_events")
        assert lb_events.source.rows == 12 and lb_events.target.rows == 6
        assert [(d.reference.table, d.values) for d in result.dangling] == [("vips", (("no-such-port",),))]
        assert any("dangling: vips(port_id) -> ports(id)" in line for line in result.lines())


@pytest.mark.parametrize("pass_through", [True, False], ids=["pass-through", "python"])
def test_rejected_row_is_named_and_its_batch_not_committed(db_url: str, tmp_path: Path, pass_through: bool) -> None:
    neutron_db.create(db_url, 10)
    plan = write_plan(tmp_path, services=("lbaas",), batch_size=4, pass_through=pass_through)
    with sibling_database(db_url, tmp_path, "lb") as lb:
        # the target's members table refuses weight 7 (member 6, in the second batch of four)
        md = sa.MetaData()
        neutron_db.METADATA.tables["pools"].to_metadata(md)
        members = neutron_db.METADATA.tables["members"].to_metadata(md)
        members.append_constraint(sa.CheckConstraint("weight < 7", name="ck_weight"))
        engine = sa.create_engine(lb)
        md.create_all(engine)
        with pytest.raises(DataMismatch) as err:
            api.db_copy(plan, db_url, {"neutron-lbaas": lb})
        message = str(err.value)
        assert "members" in message and f"id={uid('member', 6)!r}" in message
        assert "nothing of this batch was committed" in message
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM members")).scalar_one()
            state = conn.execute(
                sa.text("SELECT rows_copied, done FROM spinout_copy_state WHERE table_name = 'members'")
            ).one()
        engine.dispose()
        assert count == 4  # the first batch only
        assert tuple(state) == (4, False)


def test_table_without_key_is_refused_above_the_limit(db_url: str, tmp_path: Path) -> None:
    neutron_db.create(db_url, 10)
    plan = write_plan(tmp_path, services=("lbaas",), no_pk_row_limit=9)
    with sibling_database(db_url, tmp_path, "lb") as lb:
        with pytest.raises(UnsafeSourceError) as err:
            api.db_copy(plan, db_url, {"neutron-lbaas": lb})
        assert "lb_events has no primary key and 10 rows" in str(err.value)
        assert "no_pk_row_limit" in str(err.value)
        engine = sa.create_engine(lb)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM lb_events")).scalar_one() == 0
        engine.dispose()


def test_target_rows_not_copied_by_spinout_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    neutron_db.create(sqlite_url, 5)
    plan = write_plan(tmp_path, services=("fwaas",))
    target = f"sqlite:///{tmp_path / 'fw.db'}"
    neutron_db.create(target, 1)  # already holds a firewall policy
    with pytest.raises(UnsafeSourceError, match=r"firewall_policies .* already holds rows"):
        api.db_copy(plan, sqlite_url, {"neutron-fwaas": target})


def test_checksums_are_equal_across_backends(
    sqlite_url: str, postgres_url: str, mariadb_url: str, tmp_path: Path
) -> None:
    from spinout.data.reconcile import table_digest

    digests = []
    for url in (sqlite_url, postgres_url, mariadb_url):
        md = neutron_db.create(url, 15)
        engine = sa.create_engine(url)
        digests.append({t.name: table_digest(engine, t, sorted(c.name for c in t.columns)) for t in md.sorted_tables})
        engine.dispose()
    assert digests[0] == digests[1] == digests[2]
    assert len({d.checksum for d in digests[0].values()}) == len(digests[0])


def test_cli_masks_passwords(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path)
    url = "postgresql+psycopg://postgres:s3cretpw@127.0.0.1:1/nowhere"
    code = main(["db", "plan", str(plan), "--db-url", url, "--json"])
    out, err = capsys.readouterr()
    assert code == 4
    assert "s3cretpw" not in out + err
    assert "postgres:***@127.0.0.1:1/nowhere" in out + err
    assert json.loads(out)["error"] == "ToolError"


def test_shared_mode_copies_nothing(sqlite_url: str, tmp_path: Path) -> None:
    neutron_db.create(sqlite_url, 3)
    plan = write_plan(tmp_path, mode="shared")
    result = api.db_copy(plan, sqlite_url, {})
    assert result.tables == [] and "nothing to copy" in result.lines()[0]


def test_cli_runs_the_whole_data_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    core = f"sqlite:///{tmp_path / 'core.db'}"
    fw = f"sqlite:///{tmp_path / 'fw.db'}"
    neutron_db.create(core, 6)
    plan = str(write_plan(tmp_path, services=("fwaas",)))
    svc = ["--service-db-url", f"neutron-fwaas={fw}"]
    out = str(tmp_path / "migrations")

    def cli(*args: str) -> tuple[int, dict[str, object]]:
        code = main([*args, "--json", "--quiet"])
        return code, json.loads(capsys.readouterr().out)

    code, planned = cli("db", "plan", plan, "--db-url", core)
    assert code == 0 and planned["services"] == {"neutron-fwaas": FW}
    assert cli("db", "migrations", plan, "--db-url", core, "--out", out)[0] == 0
    code, refused = cli("db", "strip", plan, "--db-url", core, *svc, "--migrations", out)
    assert code == 3 and refused["error"] == "UnsafeSourceError"
    code, copied = cli("db", "copy", plan, "--db-url", core, *svc)
    assert code == 0 and [t["rows"] for t in copied["tables"]] == [6, 12, 6]  # type: ignore[index]
    code, verified = cli("db", "verify", plan, "--db-url", core, *svc)
    assert code == 0 and verified["ok"] is True
    code, stripped = cli("db", "strip", plan, "--db-url", core, *svc, "--migrations", out)
    assert code == 0 and sorted(stripped["dropped"]) == sorted(FW)  # type: ignore[arg-type]
    code, bad = cli("db", "copy", plan, "--db-url", core, "--service-db-url", "nonsense")
    assert code == 2 and "NAME=URL" in json.dumps(bad)


@pytest.mark.parametrize("pass_through", [True, False])
def test_zero_key_stays_zero_on_mariadb(mariadb_url: str, tmp_path: Path, pass_through: bool) -> None:
    """MariaDB turns a 0 written into an AUTO_INCREMENT key into the next value unless told not to."""
    md = sa.MetaData()
    table = sa.Table("items", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.String(5)))
    engine = sa.create_engine(mariadb_url)
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')"))
        conn.execute(table.insert(), [{"id": 0, "v": "zero"}, {"id": 1, "v": "one"}])
    engine.dispose()
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[source]\nrepo = "."\n[core]\nname = "c"\npackage = "c"\n'
        '[[service]]\nname = "s"\npackage = "s"\npaths = ["s/"]\ntables = ["items"]\n'
        f"[database]\npass_through = {str(pass_through).lower()}\n"
    )
    with sibling_database(mariadb_url, tmp_path, "s") as target:
        api.db_copy(plan, mariadb_url, {"s": target})
        assert snapshot(target, ["items"]) == {"items": [(0, "zero"), (1, "one")]}


@pytest.mark.parametrize("backend", ["mariadb_url", "postgres_url"])
@pytest.mark.parametrize("pass_through", [True, False], ids=["pass-through", "python"])
def test_self_reference_to_a_later_key_copies(
    backend: str, pass_through: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Row 1 points at row 2: in key order the parent comes second, which MariaDB accepts only with its foreign
    key checks off for the copy, as mysqldump does, and PostgreSQL because the keys of a fresh table are built
    after the load (spinout.data.deferkeys) — on every route."""
    url: str = request.getfixturevalue(backend)
    md = sa.MetaData()
    nodes = sa.Table(
        "nodes",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("nodes.id")),
    )
    engine = sa.create_engine(url)
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(nodes.insert(), [{"id": 2, "parent_id": None}, {"id": 1, "parent_id": 2}])
    engine.dispose()
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[source]\nrepo = "."\n[core]\nname = "c"\npackage = "c"\n'
        '[[service]]\nname = "s"\npackage = "s"\npaths = ["s/"]\ntables = ["nodes"]\n'
        # one row per batch: the parent arrives in a later statement and transaction than its child
        f"[database]\nbatch_size = 1\npass_through = {str(pass_through).lower()}\n"
    )
    with sibling_database(url, tmp_path, "s") as target:
        api.db_copy(plan, url, {"s": target})
        assert snapshot(target, ["nodes"]) == {"nodes": [(1, 2), (2, None)]}
        fks = sa.inspect(sa.create_engine(target)).get_foreign_keys("nodes")
        assert [fk["referred_table"] for fk in fks] == ["nodes"]  # the constraint is there, and holds
