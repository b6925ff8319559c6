"""`spinout db migrations` on real servers: upgrade → downgrade → upgrade with reflected schemas compared, the strip
revision's downgrade restoring the core schema, and `db strip` only after a verified copy."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from spinout import api
from spinout.errors import UnsafeSourceError
from spinout.progress import RecordingProgress
from tests.fixtures import neutron_db
from tests.fixtures.datahelpers import alembic_run, sibling_database, snapshot, table_names, write_plan

LB, FW = neutron_db.SERVICES["lbaas"], neutron_db.SERVICES["fwaas"]
MODELS = "tests.fixtures.neutron_db:METADATA"


def describe(
    url: str,
    tables: list[str],
    drop_fks_to: frozenset[str] = frozenset(),
    former_fks: frozenset[tuple[str, str]] = frozenset(),
) -> dict[str, Any]:
    """The reflected schema of `tables`, as the database itself reports it (types compiled by its dialect)."""
    engine = sa.create_engine(url)
    try:
        insp = sa.inspect(engine)
        out: dict[str, Any] = {}
        for t in sorted(tables):
            cols = [
                (c["name"], c["type"].compile(dialect=engine.dialect), c["nullable"], str(c.get("default")))
                for c in insp.get_columns(t)
            ]
            fks = sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                for fk in insp.get_foreign_keys(t)
                if fk["referred_table"] not in drop_fks_to
            )
            uniques = sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(t))
            # MySQL backs every foreign key with an index of the same columns; those come and go with the keys
            # (and the index of a dropped cross-database key stays: it still serves lookups by that column)
            fk_cols = {tuple(fk["constrained_columns"]) for fk in insp.get_foreign_keys(t)}
            fk_cols |= {(col,) for table, col in former_fks if table == t}
            indexes = sorted(
                (tuple(str(c) for c in ix["column_names"]), bool(ix["unique"]))
                for ix in insp.get_indexes(t)
                if not (engine.dialect.name == "mysql" and tuple(ix["column_names"]) in fk_cols and not ix["unique"])
                and not (engine.dialect.name == "mysql" and ix["unique"] and tuple(ix["column_names"]) in uniques)
            )
            pk = tuple(insp.get_pk_constraint(t)["constrained_columns"])
            out[t] = {"columns": cols, "pk": pk, "fks": fks, "uniques": uniques, "indexes": indexes}
        return out
    finally:
        engine.dispose()


def _generated_files_are_clean(out: Path) -> None:
    files = sorted(out.rglob("*.py"))
    assert files
    for path in files:
        if path.parent.name == "versions":  # env.py runs alembic on import; revisions must import standalone
            spec = importlib.util.spec_from_file_location(f"rev_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            assert callable(module.upgrade) and callable(module.downgrade)
        compile(path.read_text(), str(path), "exec")
    ruff = Path(sys.executable).parent / "ruff"
    proc = subprocess.run(
        [str(ruff), "format", "--check", "--isolated", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("source", ["models", "reflected"])
def test_service_and_strip_revisions_round_trip(db_url: str, tmp_path: Path, source: str) -> None:
    neutron_db.create(db_url, 3)
    plan = write_plan(tmp_path, metadata=MODELS if source == "models" else None)
    out = tmp_path / "migrations"
    before = snapshot(db_url)
    result = api.db_migrations(plan, db_url, out)
    assert snapshot(db_url) == before  # generating migrations reads the source only
    assert {w.name for w in result.written} == {"neutron-lbaas", "neutron-fwaas", "neutron"}
    _generated_files_are_clean(out)
    core_tables = sorted(neutron_db.CORE_TABLES + neutron_db.SERVICES["vpnaas"])

    # each service chain: upgrade, downgrade, upgrade on an empty database of the same backend
    for svc, tables in (("neutron-lbaas", LB), ("neutron-fwaas", FW)):
        expected = describe(db_url, tables, drop_fks_to=frozenset(core_tables))
        with sibling_database(db_url, tmp_path, svc) as target:
            alembic_run(out / svc, target, "upgrade", "head")
            former = frozenset(
                (fk.parent.table.name, fk.parent.name)
                for name in tables
                for fk in neutron_db.METADATA.tables[name].foreign_keys
                if fk.column.table.name in core_tables
            )
            first = describe(target, tables, former_fks=former)
            assert first == expected, svc
            assert f"alembic_version_{svc.replace('-', '_')}" in table_names(target)
            alembic_run(out / svc, target, "downgrade", "base")
            assert table_names(target) & set(tables) == set()
            alembic_run(out / svc, target, "upgrade", "head")
            assert describe(target, tables, former_fks=former) == first

    # the core's strip revision: drop, then restore the schema exactly, then drop again
    original = describe(db_url, LB + FW + core_tables)
    alembic_run(out / "neutron", db_url, "upgrade", "head")
    assert table_names(db_url) & set(LB + FW) == set()
    assert describe(db_url, core_tables) == {t: original[t] for t in core_tables}
    alembic_run(out / "neutron", db_url, "downgrade", "base")
    assert describe(db_url, LB + FW + core_tables) == original
    alembic_run(out / "neutron", db_url, "upgrade", "head")
    assert table_names(db_url) & set(LB + FW) == set()


def test_shared_mode_writes_empty_base_revisions(sqlite_url: str, tmp_path: Path) -> None:
    neutron_db.create(sqlite_url, 2)
    plan = write_plan(tmp_path, mode="shared")
    out = tmp_path / "migrations"
    result = api.db_migrations(plan, sqlite_url, out)
    assert {w.name for w in result.written} == {"neutron-lbaas", "neutron-fwaas"}  # no strip revision
    before = describe(sqlite_url, LB + FW)
    alembic_run(out / "neutron-lbaas", sqlite_url, "upgrade", "head")
    assert describe(sqlite_url, LB + FW) == before
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version_neutron_lbaas")).scalar_one()
    engine.dispose()
    assert stamped == result.written[0].revision


CORE_ENV = """
from alembic import context

def run():
    context.configure(connection=context.config.attributes["connection"], target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()

run()
"""

CORE_REV = """
revision = "c0re00000001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
"""


def _core_chain(tmp_path: Path) -> Path:
    chain = tmp_path / "core-alembic"
    (chain / "versions").mkdir(parents=True)
    (chain / "env.py").write_text(CORE_ENV)
    (chain / "script.py.mako").write_text("")
    (chain / "versions" / "c0re00000001_base.py").write_text(CORE_REV)
    return chain


def test_strip_only_after_a_verified_copy(db_url: str, tmp_path: Path) -> None:
    neutron_db.create(db_url, 6)
    plan = write_plan(tmp_path)
    chain = _core_chain(tmp_path)
    out = tmp_path / "migrations"
    result = api.db_migrations(plan, db_url, out, core_alembic=chain)
    strip = next(w for w in result.written if w.name == "neutron")
    assert strip.down_revision == "c0re00000001" and strip.version_table == "alembic_version"
    cfg = Config()
    cfg.set_main_option("script_location", str(chain))
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "c0re00000001")
    engine.dispose()
    core_tables = sorted(neutron_db.CORE_TABLES + neutron_db.SERVICES["vpnaas"])
    before = snapshot(db_url)
    with sibling_database(db_url, tmp_path, "lb") as lb, sibling_database(db_url, tmp_path, "fw") as fw:
        urls = {"neutron-lbaas": lb, "neutron-fwaas": fw}
        with pytest.raises(UnsafeSourceError, match="not verified"):
            api.db_strip(plan, db_url, urls, out)
        api.db_copy(plan, db_url, urls)
        with pytest.raises(UnsafeSourceError, match="no verified copy"):
            api.db_strip(plan, db_url, urls, out)
        assert snapshot(db_url) == before
        assert api.db_verify(plan, db_url, urls).exit_code == 0
        # a row written to the source after verification makes the verification stale
        fw2 = neutron_db.uid("fw", 2)
        engine = sa.create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM lb_events WHERE event = 'created'"))
        with pytest.raises(UnsafeSourceError, match=r"lb_events \(source has 3 rows, 6 when verified\)"):
            api.db_strip(plan, db_url, urls, out)
        with engine.begin() as conn:
            conn.execute(
                neutron_db.METADATA.tables["lb_events"].insert(),
                [r for r in neutron_db.rows(6)["lb_events"] if r["event"] == "created"],
            )
            # an update keeps the count: the checksum recomputed at strip time sees it
            conn.execute(sa.text("UPDATE firewalls SET status = 'DOWN' WHERE id = :i"), {"i": fw2})
        with pytest.raises(UnsafeSourceError, match=r"firewalls \(source rows changed since verified\)"):
            api.db_strip(plan, db_url, urls, out)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE firewalls SET status = 'ACTIVE' WHERE id = :i"), {"i": fw2})
        engine.dispose()
        stripped = api.db_strip(plan, db_url, urls, out)
    assert sorted(stripped.dropped) == sorted(LB + FW) and stripped.forced == []
    assert table_names(db_url) & set(LB + FW) == set()
    assert snapshot(db_url, core_tables) == {t: before[t] for t in core_tables}
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == strip.revision
    engine.dispose()


def test_strip_force_drops_loudly(sqlite_url: str, tmp_path: Path) -> None:
    neutron_db.create(sqlite_url, 2)
    plan = write_plan(tmp_path, services=("fwaas",))
    out = tmp_path / "migrations"
    api.db_migrations(plan, sqlite_url, out)
    progress = RecordingProgress()
    target = f"sqlite:///{tmp_path / 'fw.db'}"
    result = api.db_strip(plan, sqlite_url, {"neutron-fwaas": target}, out, force=True, progress=progress)
    assert sorted(result.dropped) == sorted(FW)
    assert any("WITHOUT a verified copy" in n for n in progress.notes())
    assert any("forced without a verified copy" in line for line in result.lines())


@pytest.mark.parametrize("backend", ["postgres_url", "sqlite_url", "mariadb_url"])
def test_strip_revision_keeps_an_enum_type_a_core_table_shares(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A service table and a core table use one enum type (PostgreSQL: one CREATE TYPE). The strip upgrade must
    not drop it (the core still uses it), and its downgrade must recreate the service table without creating the
    type again; an enum only the service used is dropped and recreated. Upgrade → downgrade → upgrade."""
    url: str = request.getfixturevalue(backend)
    md = sa.MetaData()
    shared = sa.Enum("UP", "DOWN", name="port_status")
    sa.Table("ports", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("status", shared))
    sa.Table(
        "lb_ports",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", shared, nullable=False),
        sa.Column("mode", sa.Enum("ACTIVE", "BACKUP", name="lb_mode")),
    )
    engine = sa.create_engine(url)
    md.create_all(engine)
    engine.dispose()
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[source]\nrepo = "."\n[core]\nname = "c"\npackage = "c"\n'
        '[[service]]\nname = "s"\npackage = "s"\npaths = ["s/"]\ntables = ["lb_ports"]\n'
    )
    out = tmp_path / "migrations"
    api.db_migrations(plan, url, out)
    _generated_files_are_clean(out)

    def types() -> set[str]:
        if not url.startswith("postgresql"):
            return set()
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            names = set(conn.execute(sa.text("SELECT typname FROM pg_type WHERE typtype = 'e'")).scalars())
        engine.dispose()
        return names

    original = describe(url, ["ports", "lb_ports"])
    assert types() >= ({"port_status", "lb_mode"} if url.startswith("postgresql") else set())
    alembic_run(out / "c", url, "upgrade", "head")
    assert table_names(url) & {"lb_ports"} == set()
    if url.startswith("postgresql"):
        assert "port_status" in types() and "lb_mode" not in types()
    alembic_run(out / "c", url, "downgrade", "base")
    assert describe(url, ["ports", "lb_ports"]) == original
    alembic_run(out / "c", url, "upgrade", "head")
    assert table_names(url) & {"lb_ports"} == set()
    assert describe(url, ["ports"]) == {"ports": original["ports"]}
