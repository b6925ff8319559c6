"""Proof that a copy is whole: per table a row count and an order-independent checksum, computed the same way on
both sides, plus the cross-database references checked against the core; the result is recorded in the target.

The checksum streams each table once: every row becomes a canonical byte string (values normalized across
backends: booleans and numbers as their decimal value, text as text, timestamps in ISO form, bytes as hex), hashed
with BLAKE2b-128, and the hashes are *summed* modulo 2**128. A sum is commutative, so the order rows come back in
does not matter, and unlike XOR a duplicated row changes it. Equal data gives equal checksums on SQLite,
PostgreSQL and MariaDB.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from spinout.data.schema import ForeignKeyInfo, db_message, mask_url, scrub
from spinout.errors import ToolError
from spinout.progress import Progress

VERIFY_TABLE = "spinout_verify"
_MOD = 1 << 128
_DEC = decimal.Context(prec=200)

_verify_md = sa.MetaData()
verify_table = sa.Table(
    VERIFY_TABLE,
    _verify_md,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("table_name", sa.String(200), primary_key=True),
    sa.Column("source_rows", sa.BigInteger, nullable=False),
    sa.Column("target_rows", sa.BigInteger, nullable=False),
    sa.Column("source_checksum", sa.String(40), nullable=False),
    sa.Column("target_checksum", sa.String(40), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("dangling", sa.BigInteger, nullable=False),
    sa.Column("verified_at", sa.DateTime, nullable=False),
)


def canonical(value: Any) -> bytes:
    """One value as backend-independent bytes, prefixed by its kind so that '1' (text) differs from 1 (number)."""
    if value is None:
        return b"\x00"
    if isinstance(value, bool):
        return b"n1" if value else b"n0"
    if isinstance(value, int | decimal.Decimal | float):
        d = _DEC.create_decimal(repr(value) if isinstance(value, float) else value)
        if not d.is_finite():
            return b"n" + str(d).encode()
        return b"n" + format(_DEC.normalize(d), "f").encode()
    if isinstance(value, str):
        return b"s" + value.encode("utf-8")
    if isinstance(value, enum.Enum):
        return b"s" + value.name.encode("utf-8")
    if isinstance(value, uuid.UUID):
        return b"s" + str(value).encode()
    if isinstance(value, dt.datetime):
        stamp: dt.datetime = value
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return b"t" + stamp.isoformat(sep=" ").encode()
    if isinstance(value, dt.date):
        return b"d" + value.isoformat().encode()
    if isinstance(value, dt.time):
        return b"h" + value.replace(tzinfo=None).isoformat().encode()
    if isinstance(value, dt.timedelta):
        return b"n" + format(_DEC.normalize(_DEC.create_decimal(repr(value.total_seconds()))), "f").encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return b"b" + bytes(value).hex().encode()
    if isinstance(value, dict | list):
        return b"j" + json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return b"x" + repr(value).encode()


def row_hash(row: Sequence[Any]) -> int:
    h = hashlib.blake2b(digest_size=16)
    for value in row:
        part = canonical(value)
        # length-prefix each value so that ("ab", "c") and ("a", "bc") differ
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    return int.from_bytes(h.digest(), "big")


def combine(hashes: Iterable[int]) -> int:
    total = 0
    for value in hashes:
        total = (total + value) % _MOD
    return total


@dataclass(frozen=True)
class Digest:
    rows: int
    checksum: str  # 32 hex digits


def table_digest(engine: sa.Engine, table: sa.Table, columns: Sequence[str], chunk: int = 5000) -> Digest:
    """Count and checksum of `columns` (in this order) of every row of `table`, streamed."""
    rows = 0
    total = 0
    try:
        with engine.connect() as conn:
            result = conn.execution_options(yield_per=chunk).execute(sa.select(*(table.c[c] for c in columns)))
            for part in result.partitions():
                for row in part:
                    total = (total + row_hash(row)) % _MOD
                    rows += 1
    except sa.exc.SQLAlchemyError as exc:
        raise ToolError(
            f"cannot read table {table.name} in {mask_url(engine.url)}: {scrub(db_message(exc), [engine.url])}",
            hint="check the database URL and that the table exists (run `spinout db copy` first)",
        ) from None
    return Digest(rows, f"{total:032x}")


@dataclass(frozen=True)
class TableCheck:
    service: str
    table: str
    source: Digest
    target: Digest

    @property
    def ok(self) -> bool:
        return self.source == self.target

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "source_rows": self.source.rows,
            "target_rows": self.target.rows,
            "source_checksum": self.source.checksum,
            "target_checksum": self.target.checksum,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class Dangling:
    """Values of a cross-database reference that match no core row."""

    reference: ForeignKeyInfo
    values: tuple[tuple[Any, ...], ...]

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference.describe(), "values": [list(v) for v in self.values]}


def check_tables(
    source: sa.Engine,
    target: sa.Engine,
    source_md: sa.MetaData,
    target_md: sa.MetaData,
    service: str,
    tables: Sequence[str],
    progress: Progress,
) -> list[TableCheck]:
    checks = []
    for name in tables:
        columns = sorted(c.name for c in source_md.tables[name].columns)
        progress.start(f"verify:{service}:{name}", f"{service}: verifying {name}")
        src = table_digest(source, source_md.tables[name], columns)
        dst = table_digest(target, target_md.tables[name], columns)
        check = TableCheck(service, name, src, dst)
        state = "ok" if check.ok else "MISMATCH"
        progress.finish(f"verify:{service}:{name}", f"{service}: {name}: {state} ({src.rows} / {dst.rows} rows)")
        checks.append(check)
    return checks


def dangling_references(
    core: sa.Engine,
    target: sa.Engine,
    core_md: sa.MetaData,
    target_md: sa.MetaData,
    references: Sequence[ForeignKeyInfo],
    chunk: int = 500,
) -> list[Dangling]:
    """For each service → core reference: the distinct non-null values in the service's table that no core row has."""
    out = []
    for ref in references:
        table = target_md.tables[ref.table]
        cols = [table.c[c] for c in ref.columns]
        with target.connect() as conn:
            values = [
                tuple(r) for r in conn.execute(sa.select(*cols).where(*(c.is_not(None) for c in cols)).distinct())
            ]
        core_table = core_md.tables[ref.ref_table]
        core_cols = [core_table.c[c] for c in ref.ref_columns]
        found: set[tuple[Any, ...]] = set()
        with core.connect() as conn:
            for i in range(0, len(values), chunk):
                part = values[i : i + chunk]
                cond = core_cols[0].in_([v[0] for v in part]) if len(cols) == 1 else sa.tuple_(*core_cols).in_(part)
                found.update(tuple(r) for r in conn.execute(sa.select(*core_cols).where(cond)))
        missing = tuple(sorted((v for v in values if v not in found), key=repr))
        if missing:
            out.append(Dangling(ref, missing))
    return out


def record(target: sa.Engine, service: str, checks: Sequence[TableCheck], dangling: Sequence[Dangling]) -> None:
    """Store the verification in the target's `spinout_verify` table (one row per table, replaced each run)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    per_table: dict[str, int] = {}
    for d in dangling:
        per_table[d.reference.table] = per_table.get(d.reference.table, 0) + len(d.values)
    _verify_md.create_all(target, checkfirst=True)
    with target.begin() as conn:
        conn.execute(verify_table.delete().where(verify_table.c.service == service))
        if checks:
            conn.execute(
                verify_table.insert(),
                [
                    {
                        "service": service,
                        "table_name": c.table,
                        "source_rows": c.source.rows,
                        "target_rows": c.target.rows,
                        "source_checksum": c.source.checksum,
                        "target_checksum": c.target.checksum,
                        "ok": c.ok,
                        "dangling": per_table.get(c.table, 0),
                        "verified_at": now,
                    }
                    for c in checks
                ],
            )


def recorded(target: sa.Engine, service: str) -> dict[str, sa.Row[Any]]:
    """The verification rows recorded in the target for `service`, by table; empty when never verified."""
    if not sa.inspect(target).has_table(VERIFY_TABLE):
        return {}
    with target.connect() as conn:
        rows = conn.execute(sa.select(verify_table).where(verify_table.c.service == service)).all()
    return {r.table_name: r for r in rows}
