"""Hostile identifiers through the whole data stage, on every backend: plan, migrations, copy (both routes), verify,
strip.

Issue 17, 3.18: on MariaDB a column name with a backtick made `db copy` exit 70, and a foreign key to such a column
was silently left out of `db plan` (SQLAlchemy's MySQL reflection parses SHOW CREATE TABLE with regular
expressions that keep a doubled backtick doubled, and drop a key whose names they cannot read). The names here hold
a backtick, a double quote, spaces, non-ASCII letters, '%' and ':' (placeholders to the drivers and to
SQLAlchemy's text()), a closing parenthesis, a comma (SQLAlchemy splits PostgreSQL's key column lists at commas),
and reserved words (tables `order`, `user`; a column `select`); the core table's name (which the plan does not
restrict) holds quotes, parentheses, a comma and a non-ASCII letter. The oracle is the server: rows read back with
plain SELECTs, and the foreign keys as information_schema / pg_catalog / SQLite's pragma list them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from spinout import api
from tests.fixtures.datahelpers import alembic_run, sibling_database, table_names

# column names, by role
PK = 'i"d`x'
NAME = "na`me with spaces"
UNI = "ünïcødé ß"
RESERVED = "select"
PERCENT = "per%cent %s %(x)s"
COLON = "col:on :x)"
CROSS = "gr`oup id"  # the service's reference to the core table: a plain column in the service database
CORE = 'gr"o`up (ü), x'  # a core table: the plan does not name it, so any name may occur
CHILD_REF = "ord`er) ref, x"  # a ')' ends SQLAlchemy's pattern for a foreign key's columns

PLAN = """
[source]
repo = "."
[core]
name = "core"
package = "core"
[[service]]
name = "svc"
package = "svc"
paths = ["svc/"]
tables = ["order", "user"]
[database]
pass_through = {pass_through}
batch_size = 3
"""


def _schema() -> sa.MetaData:
    md = sa.MetaData()
    core = sa.Table(
        CORE, md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False), sa.Column("g`n", sa.String(40))
    )
    sa.Table(
        "order",
        md,
        sa.Column(PK, sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(NAME, sa.String(40)),
        sa.Column(UNI, sa.String(40)),
        sa.Column(RESERVED, sa.Integer),
        sa.Column(PERCENT, sa.String(40)),
        sa.Column(COLON, sa.String(40)),
        sa.Column(CROSS, sa.Integer, sa.ForeignKey(core.c.id, name='fk `to` "group"')),
        sa.UniqueConstraint(NAME, name='uq `name` "x"'),
        sa.Index('ix `select` "y"', RESERVED),
    )
    sa.Table(
        "user",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(CHILD_REF, sa.Integer, sa.ForeignKey(f"order.{PK}", name="fk (user) `order`")),
    )
    return md


def _rows() -> dict[str, list[dict[str, Any]]]:
    return {
        CORE: [{"id": i, "g`n": f"g{i}"} for i in range(3)],
        "order": [
            {
                PK: i,
                NAME: f"name {i}",
                UNI: f"ü{i}",
                RESERVED: i * 10,
                PERCENT: f"{i}%s",
                COLON: f":x{i}",
                CROSS: i % 3 if i != 7 else None,
            }
            for i in range(8)
        ],
        "user": [{"id": i, CHILD_REF: i % 8} for i in range(11)],
    }


def _create(url: str) -> None:
    md = _schema()
    engine = sa.create_engine(url)
    try:
        md.create_all(engine)
        with engine.begin() as conn:
            for table in md.sorted_tables:
                conn.execute(table.insert(), _rows()[table.name])
    finally:
        engine.dispose()


def _rows_of(url: str, tables: list[str]) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """`SELECT *` of each table: the column names as the server's result names them (no reflection), and the rows
    sorted, columns in name order."""
    engine = sa.create_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            for table in tables:
                result = conn.exec_driver_sql(f"SELECT * FROM {engine.dialect.identifier_preparer.quote(table)}")
                names = list(result.keys())
                order = sorted(range(len(names)), key=lambda i: names[i])
                rows = sorted((tuple(r[i] for i in order) for r in result.all()), key=repr)
                out[table] = ([names[i] for i in order], rows)
    finally:
        engine.dispose()
    return out


def _server_foreign_keys(url: str) -> set[tuple[str, tuple[str, ...], str, tuple[str, ...]]]:
    """(table, columns, referred table, referred columns) of every foreign key, as the server's catalog lists them."""
    engine = sa.create_engine(url)
    out: dict[tuple[str, str], tuple[str, list[tuple[int, str, str]]]] = {}
    try:
        with engine.connect() as conn:
            kind = engine.dialect.name
            if kind == "mysql":
                rows = conn.execute(
                    sa.text(
                        "SELECT TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION, COLUMN_NAME, REFERENCED_TABLE_NAME, "
                        "REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
                        "WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL"
                    )
                ).all()
            elif kind == "postgresql":
                rows = conn.execute(
                    sa.text(
                        "SELECT t.relname, c.conname, k.i, a.attname, r.relname, b.attname "
                        "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = "
                        "c.confrelid, unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(l, f, i), pg_attribute a, "
                        "pg_attribute b WHERE c.contype = 'f' AND a.attrelid = c.conrelid AND a.attnum = k.l "
                        "AND b.attrelid = c.confrelid AND b.attnum = k.f"
                    )
                ).all()
            else:
                rows = []
                for table in sa.inspect(engine).get_table_names():
                    quoted = '"' + table.replace('"', '""') + '"'
                    for fk in conn.exec_driver_sql(f"PRAGMA foreign_key_list({quoted})").all():
                        rows.append((table, str(fk[0]), fk[1], fk[3], fk[2], fk[4]))
    finally:
        engine.dispose()
    for table, name, pos, col, ref, refcol in rows:
        out.setdefault((table, name), (ref, []))[1].append((int(pos), col, refcol))
    return {
        (t, tuple(c for _, c, _ in sorted(cols)), ref, tuple(r for _, _, r in sorted(cols)))
        for (t, _), (ref, cols) in out.items()
    }


@pytest.mark.parametrize("pass_through", [True, False], ids=["pass-through", "python"])
def test_hostile_identifiers_through_plan_copy_verify_strip(db_url: str, tmp_path: Path, pass_through: bool) -> None:
    if sa.make_url(db_url).get_backend_name() == "sqlite" and not pass_through:
        pytest.skip("SQLite has no pass-through route: the other case runs the same path")
    _create(db_url)
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.format(pass_through=str(pass_through).lower()))
    before = _rows_of(db_url, [CORE, "order", "user"])
    assert before["order"][0] == sorted([PK, NAME, UNI, RESERVED, PERCENT, COLON, CROSS])

    planned = api.db_plan(plan, db_url)
    assert planned.exit_code == 0, planned.lines()
    found = {(fk.table, fk.columns, fk.ref_table, fk.ref_columns, fk.kind) for fk in planned.data_plan.foreign_keys}
    server = _server_foreign_keys(db_url)
    assert {f[:4] for f in found} == server  # every key the server has, with its exact names
    assert found == {
        ("order", (CROSS,), CORE, ("id",), "cross"),
        ("user", (CHILD_REF,), "order", (PK,), "kept"),
    }

    out = tmp_path / "migrations"
    api.db_migrations(plan, db_url, out)
    with sibling_database(db_url, tmp_path, "svc") as target:
        alembic_run(out / "svc", target, "upgrade", "head")
        copied = api.db_copy(plan, db_url, {"svc": target})
        assert {t.table: t.rows for t in copied.tables} == {"order": 8, "user": 11}
        assert _rows_of(target, ["order", "user"]) == {t: before[t] for t in ("order", "user")}
        # the service's own key survives (on PostgreSQL it was set aside for the load and rebuilt)
        assert _server_foreign_keys(target) == {("user", (CHILD_REF,), "order", (PK,))}
        verified = api.db_verify(plan, db_url, {"svc": target})
        assert verified.ok, verified.lines()
        assert verified.dangling == []
        stripped = api.db_strip(plan, db_url, {"svc": target}, out)
    assert sorted(stripped.dropped) == ["order", "user"]
    assert table_names(db_url) & {"order", "user"} == set()
    assert _rows_of(db_url, [CORE]) == {CORE: before[CORE]}
