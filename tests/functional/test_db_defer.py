"""PostgreSQL targets: keys and indexes set aside for the load and rebuilt after it (spinout.data.deferkeys).

The reference for "rebuilt exactly" is the source database itself: each service table's constraints and indexes as
the server prints them (`pg_get_constraintdef`, `pg_get_indexdef`) and as SQLAlchemy reflects them, minus the
foreign keys to core tables that the service database never has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from spinout import api
from spinout.data import deferkeys
from spinout.errors import DataMismatch
from spinout.progress import Advanced, Event, Progress, RecordingProgress
from tests.fixtures import neutron_db
from tests.fixtures.datahelpers import sibling_database, snapshot, write_plan

LB = neutron_db.SERVICES["lbaas"]

_KEYS = sa.text(
    """
    SELECT conrelid::regclass::text, contype::text, conname::text, pg_get_constraintdef(oid), confrelid::regclass::text
    FROM pg_constraint WHERE conrelid::regclass::text = ANY(:tables)
    UNION ALL
    SELECT indrelid::regclass::text, 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid), '-'
    FROM pg_index WHERE indrelid::regclass::text = ANY(:tables)
    """
)


def keys(url: str, tables: list[str] = LB) -> set[tuple[str, ...]]:
    """Every constraint and index of `tables` as the server prints it; foreign keys to other tables left out."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(_KEYS, {"tables": tables}).all()
    finally:
        engine.dispose()
    return {tuple(r[:4]) for r in rows if r[1] != "f" or r[4] in tables}


def reflected(url: str, tables: list[str] = LB) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        insp = sa.inspect(engine)
        return {
            t: (
                insp.get_pk_constraint(t),
                sorted((fk for fk in insp.get_foreign_keys(t) if fk["referred_table"] in tables), key=lambda f: str(f)),
                sorted(insp.get_unique_constraints(t), key=lambda u: str(u["name"])),
                sorted(insp.get_indexes(t), key=lambda i: str(i["name"])),
            )
            for t in tables
        }
    finally:
        engine.dispose()


class _Crash(Exception):
    pass


class _CrashAfter:
    """A progress sink that raises after `batches` committed batches: the copy stops mid-table, like a crash."""

    def __init__(self, batches: int) -> None:
        self.left = batches

    def emit(self, event: Event) -> None:
        if isinstance(event, Advanced):
            self.left -= 1
            if self.left == 0:
                raise _Crash


def _deferred(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM spinout_copy_deferred")).scalar_one())
    finally:
        engine.dispose()


def test_interrupted_copy_resumes_and_rebuilds_keys_exactly(postgres_url: str, tmp_path: Path) -> None:
    neutron_db.create(postgres_url, 12)
    plan = write_plan(tmp_path, services=("lbaas",), batch_size=4)
    expected_keys, expected_reflected = keys(postgres_url), reflected(postgres_url)
    assert any(k[1] == "f" for k in expected_keys) and any(k[1] == "u" for k in expected_keys)
    with sibling_database(postgres_url, tmp_path, "lb") as target:
        with pytest.raises(_Crash):
            api.db_copy(plan, postgres_url, {"neutron-lbaas": target}, progress=Progress(_CrashAfter(5)))
        # mid-copy: the fresh tables have no keys, foreign keys or unique constraints, and each one is recorded
        during = keys(target)
        assert not [k for k in during if k[1] in ("p", "u", "f")]
        backing = {k[2] for k in expected_keys if k[1] in ("p", "u")}  # indexes that come with their constraint
        assert _deferred(target) == len([k for k in expected_keys - during if k[2] not in backing or k[1] != "index"])
        api.db_copy(plan, postgres_url, {"neutron-lbaas": target})
        assert keys(target) == expected_keys
        assert reflected(target) == expected_reflected
        assert _deferred(target) == 0
        assert snapshot(target, LB) == {t: r for t, r in snapshot(postgres_url).items() if t in LB}
        assert api.db_verify(plan, postgres_url, {"neutron-lbaas": target}).exit_code == 0


def test_rows_breaking_a_rebuilt_key_are_reported_and_the_key_kept_recorded(postgres_url: str, tmp_path: Path) -> None:
    """A migrated target stricter than the source: its unique index cannot be rebuilt over the copied rows."""
    neutron_db.create(postgres_url, 10)
    plan = write_plan(tmp_path, services=("lbaas",), batch_size=4)
    with sibling_database(postgres_url, tmp_path, "lb") as target:
        md = sa.MetaData()
        neutron_db.METADATA.tables["pools"].to_metadata(md)
        members = neutron_db.METADATA.tables["members"].to_metadata(md)
        sa.Index("ix_strict_member_port", members.c.protocol_port, unique=True)  # ports repeat in the source
        engine = sa.create_engine(target)
        md.create_all(engine)
        engine.dispose()
        for _ in range(2):  # a rerun retries the rebuild and fails the same way, the index still recorded
            with pytest.raises(DataMismatch) as err:
                api.db_copy(plan, postgres_url, {"neutron-lbaas": target})
            message = str(err.value)
            assert "members" in message and "ix_strict_member_port" in message and "could not create" in message
            assert "ix_strict_member_port" not in {k[2] for k in keys(target, ["members"])}
            assert _deferred(target) >= 1


def test_a_key_that_a_kept_foreign_key_needs_stays(postgres_url: str) -> None:
    """Only `pools` is fresh; `members`, not being loaded, keeps its foreign key to pools, so pools' primary key
    (which that foreign key depends on) stays while pools' other index and unique constraint are set aside."""
    md = sa.MetaData()
    pools = sa.Table(
        "pools",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(20), unique=True),
        sa.Column("size", sa.Integer, index=True),
    )
    sa.Table(
        "members", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("pool_id", sa.ForeignKey("pools.id"))
    )
    engine = sa.create_engine(postgres_url)
    try:
        md.create_all(engine)
        before = keys(postgres_url, ["pools", "members"])
        deferkeys.ensure_table(engine)
        count = deferkeys.defer(engine, "svc", [pools], RecordingProgress())
        during = keys(postgres_url, ["pools", "members"])
        assert {(k[2], k[1]) for k in before - during} == {
            ("pools_name_key", "u"),
            ("pools_name_key", "index"),
            ("ix_pools_size", "index"),
        }
        assert count == 2
        assert deferkeys.restore(engine, "svc", RecordingProgress()) == 2
        assert keys(postgres_url, ["pools", "members"]) == before
    finally:
        engine.dispose()
