"""The copy of a service's tables from the core database into the service's own database, resumable at any instant.

Tables go in foreign-key order. Rows are read in primary-key order with keyset pagination (`WHERE key > last
ORDER BY key LIMIT n`) and written in batches (executemany / insertmanyvalues; `COPY FROM STDIN` on PostgreSQL;
between two databases of one MariaDB/MySQL server, one server-side `INSERT ... SELECT` per batch).
After each batch the table's checkpoint — the last key written and the running row count — is stored in the
target's `spinout_copy_state` table *in the same transaction as the batch*, so a crash at any instant leaves either
the batch and its checkpoint or neither: a rerun resumes exactly after the last committed key, without loss or
duplicates. A table without a primary key has no key to resume from: it is copied in one transaction, and refused
above `database.no_pk_row_limit` rows. The source is only ever read. On a PostgreSQL target, fresh tables are
loaded without their keys and indexes, rebuilt afterwards (spinout.data.deferkeys).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import sqlalchemy as sa

from spinout.data import deferkeys
from spinout.data.schema import db_message, mask_url, scrub
from spinout.errors import DataMismatch, ToolError, UnsafeSourceError
from spinout.progress import Progress

STATE_TABLE = "spinout_copy_state"

_state_md = sa.MetaData()
copy_state = sa.Table(
    STATE_TABLE,
    _state_md,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("table_name", sa.String(200), primary_key=True),
    sa.Column("last_key", sa.Text, nullable=True),
    sa.Column("rows_copied", sa.BigInteger, nullable=False),
    sa.Column("done", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)


# Rows per batch when the plan does not say: through Python a batch is held in memory (twice, with the read-ahead);
# on the PostgreSQL COPY relay it only streams through, and each batch costs a few round trips and a pipeline
# restart, so larger batches are faster there (measured, docs/benchmarks.md).
DEFAULT_BATCH = 5000
RELAY_BATCH = 100_000


@dataclass(frozen=True)
class CopyOptions:
    batch_size: int | None = None  # None: DEFAULT_BATCH, or RELAY_BATCH on the PostgreSQL COPY relay
    no_pk_row_limit: int = 1_000_000
    pass_through: bool = True  # keep the rows out of Python when both ends allow it (see pass_through_route)
    defer_keys: bool = True  # PostgreSQL target: load fresh tables without keys and indexes, rebuild them after


@dataclass(frozen=True)
class TableCopy:
    """What one run did to one table."""

    service: str
    table: str
    rows: int  # rows in the target after this run
    copied: int  # rows written by this run
    seconds: float
    status: str  # "copied", "resumed", "already copied"
    route: str = "python"  # how the rows went: "python", or a pass-through route (see pass_through_route)

    @property
    def rate(self) -> float:
        return self.copied / self.seconds if self.seconds > 0 else 0.0


# -- checkpoint keys -----------------------------------------------------------------------------------------------


def encode_key(values: Sequence[Any]) -> str:
    """A primary key as JSON with a type tag per value, so that it decodes to the same Python values."""
    out: list[list[str]] = []
    for v in values:
        if isinstance(v, bool):
            out.append(["bool", "1" if v else "0"])
        elif isinstance(v, int):
            out.append(["int", str(v)])
        elif isinstance(v, str):
            out.append(["str", v])
        elif isinstance(v, decimal.Decimal):
            out.append(["dec", str(v)])
        elif isinstance(v, float):
            out.append(["float", repr(v)])
        elif isinstance(v, dt.datetime):
            out.append(["datetime", v.isoformat()])
        elif isinstance(v, dt.date):
            out.append(["date", v.isoformat()])
        elif isinstance(v, bytes | bytearray | memoryview):
            out.append(["bytes", bytes(v).hex()])
        elif isinstance(v, uuid.UUID):
            out.append(["uuid", str(v)])
        else:
            raise UnsafeSourceError(
                f"cannot checkpoint a primary key value of type {type(v).__name__}",
                hint="report this key type; meanwhile copy the table with a key spinout knows (int, text, date, uuid)",
            )
    return json.dumps(out)


def decode_key(text: str) -> list[Any]:
    decoders: dict[str, Any] = {
        "bool": lambda s: s == "1",
        "int": int,
        "str": str,
        "dec": decimal.Decimal,
        "float": float,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "bytes": bytes.fromhex,
        "uuid": uuid.UUID,
    }
    return [decoders[tag](value) for tag, value in json.loads(text)]


def after_key(columns: Sequence[sa.ColumnElement[Any]], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """`(c1, c2, ...) > (v1, v2, ...)` spelled as OR of ANDs, which every backend understands. The redundant
    leading `c1 >= v1` gives the planner an index range to start from; without it PostgreSQL scans the key index
    from its beginning on every batch (quadratic in the table size)."""
    terms = []
    for k in range(len(columns)):
        eqs = [columns[i] == values[i] for i in range(k)]
        terms.append(sa.and_(*eqs, columns[k] > values[k]))
    if len(columns) == 1:
        return terms[0]
    return sa.and_(columns[0] >= values[0], sa.or_(*terms))


# -- the copy ------------------------------------------------------------------------------------------------------


def ensure_target(target: sa.Engine, service_md: sa.MetaData) -> None:
    """Create the checkpoint table and any service table that the migrations have not created yet."""
    try:
        _state_md.create_all(target, checkfirst=True)
        service_md.create_all(target, checkfirst=True)
    except sa.exc.SQLAlchemyError as exc:
        raise ToolError(
            f"cannot prepare the target database {mask_url(target.url)}: {scrub(db_message(exc), [target.url])}",
            hint="check the --service-db-url and that the user may create tables",
        ) from None


def copy_service(
    source: sa.Engine,
    target: sa.Engine,
    source_md: sa.MetaData,
    service_md: sa.MetaData,
    service: str,
    tables: Sequence[str],
    options: CopyOptions,
    progress: Progress,
) -> list[TableCopy]:
    """Copy `tables` (already in foreign-key order) of `service` from `source` to `target`; resumable."""
    ensure_target(target, service_md)
    if deferkeys.applies(target):
        deferkeys.ensure_table(target)
        if options.defer_keys:
            fresh = [service_md.tables[n] for n in tables if _is_fresh(target, service, service_md.tables[n])]
            deferkeys.defer(target, service, fresh, progress)
    route = pass_through_route(source, target) if options.pass_through else None
    progress.note(f"{service}: rows go {ROUTES[route or 'python']}")
    results = []
    for name in tables:
        results.append(
            _copy_table(
                source, target, source_md.tables[name], service_md.tables[name], service, options, route, progress
            )
        )
    if deferkeys.applies(target):
        # also what an earlier, interrupted run set aside, even when every table was already copied
        deferkeys.restore(target, service, progress)
    return results


def _is_fresh(target: sa.Engine, service: str, dst: sa.Table) -> bool:
    """No checkpoint and no rows yet: spinout is about to load the whole table."""
    return _state(target, service, dst.name) is None and _count(target, dst) == 0


def _state(target: sa.Engine, service: str, table: str) -> sa.Row[Any] | None:
    with target.connect() as conn:
        return conn.execute(
            sa.select(copy_state).where(copy_state.c.service == service, copy_state.c.table_name == table)
        ).first()


def _save_state(
    conn: sa.Connection, service: str, table: str, last_key: str | None, rows: int, done: bool, existed: bool
) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    values = {"last_key": last_key, "rows_copied": rows, "done": done, "updated_at": now}
    if existed:
        conn.execute(
            copy_state.update()
            .where(copy_state.c.service == service, copy_state.c.table_name == table)
            .values(**values)
        )
    else:
        conn.execute(copy_state.insert().values(service=service, table_name=table, **values))


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _copy_table(
    source: sa.Engine,
    target: sa.Engine,
    src: sa.Table,
    dst: sa.Table,
    service: str,
    options: CopyOptions,
    route: str | None,
    progress: Progress,
) -> TableCopy:
    task = f"copy:{service}:{src.name}"
    if not src.primary_key.columns:
        route = None  # one transaction through Python: there is no key to bound the batches with
    state = _state(target, service, src.name)
    if state is not None and state.done:
        progress.note(f"{service}: {src.name} already copied ({state.rows_copied} rows)")
        return TableCopy(service, src.name, int(state.rows_copied), 0, 0.0, "already copied", route or "python")
    if state is None and _count(target, dst) > 0:
        raise UnsafeSourceError(
            f"target table {dst.name} in {mask_url(target.url)} already holds rows that spinout did not copy",
            hint="empty the target table (or use a fresh target database) and run `spinout db copy` again",
        )
    total = _count(source, src)
    columns = [c.name for c in src.columns]
    pk = [c.name for c in src.primary_key.columns]
    progress.start(task, f"{service}: {src.name}", total=total)
    started = time.monotonic()
    if not pk:
        copied = _copy_without_key(source, target, src, dst, columns, service, total, options, progress, task)
        rows, status = copied, "copied"
    else:
        rows = int(state.rows_copied) if state is not None else 0
        last = decode_key(state.last_key) if state is not None and state.last_key else None
        status = "resumed" if state is not None else "copied"
        existed = state is not None
        copied = 0
        keys = [src.c[c] for c in pk]
        size = batch_rows(options, route)
        select = sa.select(*(src.c[c] for c in columns)).order_by(*keys).limit(size)
        key_index = [columns.index(c) for c in pk]
        with source.connect() as sconn, ThreadPoolExecutor(1, thread_name_prefix="spinout-read") as reader:

            def read(after: list[Any] | None) -> list[tuple[Any, ...]]:
                batch = _fetch(sconn, select if after is None else select.where(after_key(keys, after)))
                sconn.rollback()  # end the read transaction between batches: no long-held snapshot on the source
                return batch

            # Through Python, the next batch is read (in one thread, the only user of the source connection)
            # while this one is written: the two servers and the two halves of the conversion work at once.
            pending = reader.submit(read, last) if route is None else None
            relay: _Relay | None = None
            while True:
                if pending is not None:
                    batch = pending.result()
                    if not batch:
                        break
                    last = [batch[-1][i] for i in key_index]
                    pending = reader.submit(read, last)
                    with target.begin() as tconn:
                        _write_batch(tconn, target, dst, columns, pk, batch)
                        _save_state(tconn, service, src.name, encode_key(last), rows + len(batch), False, existed)
                    count = len(batch)
                elif route == "postgresql-copy":
                    sconn.execute(_PG_READ_SETTINGS)
                    if relay is None:
                        relay = _Relay(sconn, src, dst, columns, pk, size)
                    with target.begin() as tconn:
                        count, upto = relay.batch(sconn, tconn, target, last)
                        if count:
                            _save_state(tconn, service, src.name, encode_key(upto), rows + count, False, existed)
                    sconn.rollback()
                    if not count:
                        break
                    last = upto
                else:
                    assert route is not None  # no reader: the servers move the rows
                    high = _upper_bound(sconn, keys, last, size)
                    if high is None:
                        sconn.rollback()
                        break
                    with target.begin() as tconn:
                        count = _pass_batch(route, sconn, tconn, source, target, src, dst, columns, pk, last, high)
                        _save_state(tconn, service, src.name, encode_key(high), rows + count, False, existed)
                    sconn.rollback()
                    last = high
                rows += count
                existed = True
                copied += count
                progress.advance(task, rows, total, counters={"rows/s": _rate(copied, started)})
        with target.begin() as tconn:
            _save_state(tconn, service, src.name, encode_key(last) if last else None, rows, True, existed)
    seconds = time.monotonic() - started
    progress.finish(task, f"{service}: {src.name}: {rows} rows ({copied} copied, {_rate(copied, started)} rows/s)")
    return TableCopy(service, src.name, rows, copied, seconds, status, route or "python")


def batch_rows(options: CopyOptions, route: str | None) -> int:
    """Rows per batch: the plan's, else the route's default."""
    if options.batch_size is not None:
        return options.batch_size
    return RELAY_BATCH if route == "postgresql-copy" else DEFAULT_BATCH


def _fetch(sconn: sa.Connection, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """One batch of rows. On PostgreSQL through psycopg's own cursor: its C row loaders are several times faster
    than SQLAlchemy's result rows, and the values are the same Python objects (COPY writes them back)."""
    if sconn.dialect.name == "postgresql" and sconn.dialect.driver == "psycopg":
        compiled = query.compile(dialect=sconn.dialect)
        with sconn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(str(compiled), compiled.params)
            return list(cursor.fetchall())
    return [tuple(r) for r in sconn.execute(query).all()]


def _rate(rows: int, started: float) -> int:
    return int(rows / max(time.monotonic() - started, 1e-6))


def _copy_without_key(
    source: sa.Engine,
    target: sa.Engine,
    src: sa.Table,
    dst: sa.Table,
    columns: list[str],
    service: str,
    total: int,
    options: CopyOptions,
    progress: Progress,
    task: str,
) -> int:
    """Whole table in one target transaction: without a key there is no point to resume from."""
    if total > options.no_pk_row_limit:
        raise UnsafeSourceError(
            f"table {src.name} has no primary key and {total} rows, above database.no_pk_row_limit "
            f"({options.no_pk_row_limit}): without a key it can only go in one transaction, refused at this size",
            hint=f"add a primary key to {src.name}, or raise database.no_pk_row_limit in the plan if one "
            "transaction of this size is acceptable",
        )
    rows = 0
    started = time.monotonic()
    with source.connect() as sconn, target.begin() as tconn:
        everything = sa.select(*(src.c[c] for c in columns))
        result = sconn.execution_options(yield_per=batch_rows(options, None)).execute(everything)
        for chunk in result.partitions():
            batch = [tuple(r) for r in chunk]
            _write_batch(tconn, target, dst, columns, [], batch)
            rows += len(batch)
            progress.advance(task, rows, total, counters={"rows/s": _rate(rows, started)})
        _save_state(tconn, service, src.name, None, rows, True, False)
    return rows


def _write_batch(
    tconn: sa.Connection,
    target: sa.Engine,
    dst: sa.Table,
    columns: list[str],
    pk: list[str],
    batch: list[tuple[Any, ...]],
) -> None:
    """Insert a batch; on rejection, find the row the target refuses and name it. The caller's transaction rolls
    back, so nothing of the batch is committed."""
    try:
        if target.dialect.name == "postgresql":
            # A batch and its checkpoint commit atomically either way; what an asynchronous commit risks on a
            # server crash is losing the last few batches *with* their checkpoints, which the copy then redoes.
            # The final "done" mark commits synchronously, and WAL is flushed in order, so it makes all earlier
            # batches durable before the table counts as copied.
            tconn.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
            _copy_rows(tconn, dst, columns, batch)
        else:
            _keep_zero_keys(tconn)
            tconn.execute(dst.insert(), [dict(zip(columns, row, strict=True)) for row in batch])
    except Exception as exc:
        if not _is_db_error(exc):
            raise
        tconn.rollback()
        raise _rejected(target, dst, columns, pk, batch, exc) from None


_NO_AUTO_VALUE_ON_ZERO = sa.text(
    "SET SESSION sql_mode = IF(FIND_IN_SET('NO_AUTO_VALUE_ON_ZERO', @@SESSION.sql_mode), @@SESSION.sql_mode, "
    "CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'NO_AUTO_VALUE_ON_ZERO')), SESSION foreign_key_checks = 0"
)


def _keep_zero_keys(tconn: sa.Connection) -> None:
    """MySQL/MariaDB session settings for copied rows, the ones mysqldump's output sets too: a 0 written into an
    AUTO_INCREMENT column stays 0 (instead of silently becoming the next sequence value), and foreign keys are not
    checked row by row, so a row may reference one with a greater key in the same table (the source held them
    together; verify compares the result)."""
    if tconn.dialect.name == "mysql":
        tconn.execute(_NO_AUTO_VALUE_ON_ZERO)


def _is_db_error(exc: Exception) -> bool:
    if isinstance(exc, sa.exc.DBAPIError | sa.exc.StatementError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.Error)


def _copy_rows(tconn: sa.Connection, dst: sa.Table, columns: list[str], batch: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: `COPY ... FROM STDIN` on the connection's own transaction (psycopg 3)."""
    from psycopg import sql

    raw = tconn.connection.driver_connection
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(dst.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    # psycopg reads json and jsonb as dicts and lists, and would write a list back as an array: say they are JSON
    json_at = [i for i, c in enumerate(columns) if isinstance(dst.c[c].type, sa.JSON)]
    if json_at:
        from psycopg.types.json import Json

        batch = [tuple(Json(v) if i in json_at and v is not None else v for i, v in enumerate(row)) for row in batch]
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in batch:
            copy.write_row(row)


def _rejected(
    target: sa.Engine, dst: sa.Table, columns: list[str], pk: list[str], batch: list[tuple[Any, ...]], exc: Exception
) -> DataMismatch:
    """Name the row the target refuses: on PostgreSQL the COPY error gives its line in the batch; otherwise the
    batch is replayed row by row in a transaction that is rolled back."""
    culprit: tuple[Any, ...] | None = None
    reason = str(getattr(exc, "orig", None) or exc)
    line = _copy_line(exc)
    if line is not None and 1 <= line <= len(batch):
        culprit = batch[line - 1]
    else:
        with target.connect() as conn:
            conn.begin()
            _keep_zero_keys(conn)
            for row in batch:
                try:
                    conn.execute(dst.insert(), [dict(zip(columns, row, strict=True))])
                except sa.exc.DBAPIError as row_exc:
                    culprit, reason = row, str(row_exc.orig or row_exc)
                    break
            conn.rollback()
    key_cols = pk or columns
    if culprit is not None:
        key = ", ".join(f"{c}={culprit[columns.index(c)]!r}" for c in key_cols)
        where = f"row ({key})"
    else:
        first = ", ".join(f"{c}={batch[0][columns.index(c)]!r}" for c in key_cols)
        where = f"the batch starting at ({first})"
    reason = scrub(reason.strip().splitlines()[0] if reason.strip() else reason, [target.url])
    return DataMismatch(
        f"the target {mask_url(target.url)} rejected {where} of table {dst.name}: {reason}; "
        "nothing of this batch was committed",
        hint="fix the row in the source or the target's schema, then rerun `spinout db copy` (it resumes)",
    )


def _copy_line(exc: Exception) -> int | None:
    """The input line a PostgreSQL COPY FROM failed on (its error context: `COPY members, line 6: "..."`)."""
    orig = getattr(exc, "orig", None) or exc
    context = getattr(getattr(orig, "diag", None), "context", None)
    found = re.match(r"COPY .*?, line (\d+)[,:]", context or "", re.DOTALL)
    return int(found.group(1)) if found else None


# -- pass-through: the servers move the rows, spinout only bounds the batches -------------------------------------


ROUTES = {
    "python": "through Python (read in key order, written in batches)",
    "mysql-same-server": "server-side: one INSERT ... SELECT per batch between two databases of one server",
    "postgresql-copy": "as COPY data, unparsed: COPY (SELECT ...) TO STDOUT on the source relayed into COPY FROM STDIN",
}


def pass_through_route(source: sa.Engine, target: sa.Engine) -> str | None:
    """How rows can go without being converted to Python values and back, or None.

    - MariaDB/MySQL → the same server (another schema): one INSERT ... SELECT per batch, the server moves the rows.
    - PostgreSQL → PostgreSQL (psycopg on both ends, any two servers): each batch is `COPY (SELECT ... ORDER BY key)
      TO STDOUT` on the source, its bytes relayed unparsed, in large chunks, into `COPY ... FROM STDIN` on the
      target — what `pg_dump | psql` does, per checkpointed batch (see _Relay). Through psycopg's Copy object,
      which hands the stream over one row per call, this was no faster than the Python route; with libpq's calls
      and rows read in blocks it costs spinout about a fifth of the CPU of the Python route. A server-side
      route, the target pulling the rows with dblink, was measured too: no faster, and it needs an extension,
      the privilege to create it, the source's password in the target's session and a target server that can
      reach the source (docs/benchmarks.md).
    """
    s, t = source.dialect.name, target.dialect.name
    if s == t == "mysql":
        a, b = source.url, target.url
        if (a.host, a.port, a.username) == (b.host, b.port, b.username) and a.database and b.database:
            return "mysql-same-server"
    if s == t == "postgresql" and source.dialect.driver == target.dialect.driver == "psycopg":
        return "postgresql-copy"
    return None


def _upper_bound(
    sconn: sa.Connection, keys: list[sa.Column[Any]], last: list[Any] | None, batch_size: int
) -> list[Any] | None:
    """The key of the batch's last row: the `batch_size`-th key after `last`, or the greatest one if fewer are left."""
    query = sa.select(*keys).order_by(*keys)
    if last is not None:
        query = query.where(after_key(keys, last))
    row = sconn.execute(query.offset(batch_size - 1).limit(1)).first()
    if row is None:
        row = sconn.execute(query.order_by(None).order_by(*(k.desc() for k in keys)).limit(1)).first()
    return None if row is None else list(row)


def _bounded(src: sa.Table, pk: list[str], last: list[Any] | None, high: list[Any]) -> sa.ColumnElement[bool]:
    keys = [src.c[c] for c in pk]
    upto = sa.not_(after_key(keys, high))
    if len(keys) > 1:  # the redundant `k1 <= h1` ends the index range: the NOT above gives the planner none
        upto = sa.and_(keys[0] <= high[0], upto)
    return upto if last is None else sa.and_(after_key(keys, last), upto)


def _pass_batch(
    route: str,
    sconn: sa.Connection,
    tconn: sa.Connection,
    source: sa.Engine,
    target: sa.Engine,
    src: sa.Table,
    dst: sa.Table,
    columns: list[str],
    pk: list[str],
    last: list[Any] | None,
    high: list[Any],
) -> int:
    """Move the rows with last < key <= high inside the target's open transaction; return how many."""
    try:
        return _mysql_insert_select(tconn, source, target, src, dst, columns, pk, last, high)
    except Exception as exc:
        if not _is_db_error(exc):
            raise
        tconn.rollback()
        sconn.rollback()
        query = sa.select(*(src.c[c] for c in columns)).where(_bounded(src, pk, last, high))
        batch = [tuple(r) for r in sconn.execute(query.order_by(*(src.c[c] for c in pk))).all()]
        raise _rejected(target, dst, columns, pk, batch, exc) from None


def _mysql_insert_select(
    tconn: sa.Connection,
    source: sa.Engine,
    target: sa.Engine,
    src: sa.Table,
    dst: sa.Table,
    columns: list[str],
    pk: list[str],
    last: list[Any] | None,
    high: list[Any],
) -> int:
    # the same columns, qualified by each database's name, for one server-side statement
    s_cols = [sa.Column(c.name, c.type) for c in src.columns]
    s_table = sa.Table(src.name, sa.MetaData(), *s_cols, schema=source.url.database)
    t_cols = [sa.Column(c, sa.Integer) for c in columns]  # types unused: the statement binds only key values
    t_table = sa.Table(dst.name, sa.MetaData(), *t_cols, schema=target.url.database)
    query = sa.select(*(s_table.c[c] for c in columns)).where(_bounded(s_table, pk, last, high))
    _keep_zero_keys(tconn)
    result = tconn.execute(sa.insert(t_table).from_select(columns, query.order_by(*(s_table.c[c] for c in pk))))
    return int(result.rowcount)


# Settings of each batch's read transaction on a PostgreSQL source (set_config(..., true) is SET LOCAL: they end
# with the transaction). The COPY text is then exact and parses back the same on any target: ISO dates (any
# DateStyle reads them), the interval style every server reads, shortest-exact floats, hex bytea — what pg_dump
# sets for its COPY output too. And the rows are read with the key index, in its order: a table without
# statistics (just loaded, never analysed) otherwise gets a bitmap scan and an on-disk sort of every batch.
_PG_READ_SETTINGS = sa.text(
    "SELECT set_config('DateStyle', 'ISO', true), set_config('IntervalStyle', 'postgres', true), "
    "set_config('extra_float_digits', '3', true), set_config('bytea_output', 'hex', true), "
    "set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true), "
    "set_config('enable_seqscan', 'off', true)"
)
_RELAY_CHUNK = 256 * 1024  # bytes joined before each write to the target: one call per chunk, not per row
_RELAY_ROWS = 256  # rows read per block, between two checks of the chunk size (bounds memory for wide rows)


class _Relay:
    """PostgreSQL → PostgreSQL: one table's batches relayed as COPY text, in key order, each into the target's
    open transaction.

    A batch is `COPY (SELECT ... WHERE key > last ORDER BY key LIMIT n) TO STDOUT` on the source, read with
    libpq's own calls (psycopg.pq: one `PQgetCopyData` per row, each row in a buffer of its own), in blocks of
    _RELAY_ROWS rows joined at once — holding thousands of per-row buffers alive cost four times the CPU — and
    written in chunks of about 256 KiB, one call each, to psycopg's `COPY ... FROM STDIN` on the target. The
    batch's last key, the checkpoint, is read from its last row (psycopg's text loaders for the key columns'
    types): no second query, and no gap for a row inserted meanwhile to fall into. The COPY data is in the
    source's client encoding, and the target is told so."""

    def __init__(
        self, sconn: sa.Connection, src: sa.Table, dst: sa.Table, columns: list[str], pk: list[str], size: int
    ) -> None:
        from psycopg import pq, sql

        self.src, self.dst, self.columns, self.pk, self.size = src, dst, columns, pk, size
        self.keys = [src.c[c] for c in pk]
        self.key_at = [columns.index(c) for c in pk]
        sraw = sconn.connection.driver_connection
        assert sraw is not None
        # the key columns' types as the source reports them, and psycopg's text loader for each
        probe = sa.select(*self.keys).limit(0).compile(dialect=sconn.dialect)
        with sraw.cursor() as cursor:
            cursor.execute(str(probe), probe.params)
            oids = [d.type_code for d in cursor.description or ()]
        # a type psycopg has no loader for (an enum, a domain) reads as text, as in its result rows
        text, adapters = pq.Format.TEXT, sraw.adapters
        self.loaders = [(adapters.get_loader(oid, text) or adapters.get_loader(0, text))(oid, sraw) for oid in oids]
        self.encoding = sraw.info.encoding
        client_encoding = str(sraw.info.parameter_status("client_encoding") or "UTF8")
        self.copy_in = sql.SQL("COPY {} ({}) FROM STDIN WITH (ENCODING {})").format(
            sql.Identifier(dst.name),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.Literal(client_encoding),
        )

    def query(self, last: list[Any] | None) -> sa.Select[Any]:
        query = sa.select(*(self.src.c[c] for c in self.columns)).order_by(*self.keys).limit(self.size)
        return query if last is None else query.where(after_key(self.keys, last))

    def batch(
        self, sconn: sa.Connection, tconn: sa.Connection, target: sa.Engine, last: list[Any] | None
    ) -> tuple[int, list[Any]]:
        """Relay the next batch after `last`; return its row count (0: the table is done) and its last key."""
        try:
            return self._relay(sconn, tconn, last)
        except Exception as exc:
            if not _is_db_error(exc):
                raise
            tconn.rollback()
            sconn.rollback()
            sconn.execute(_PG_READ_SETTINGS)  # psycopg parses timestamps in the ISO DateStyle only
            batch = [tuple(r) for r in sconn.execute(self.query(last)).all()]
            raise _rejected(target, self.dst, self.columns, self.pk, batch, exc) from None

    def _relay(self, sconn: sa.Connection, tconn: sa.Connection, last: list[Any] | None) -> tuple[int, list[Any]]:
        from psycopg import ClientCursor, errors, pq

        compiled = self.query(last).compile(dialect=sconn.dialect)
        sraw = sconn.connection.driver_connection
        traw = tconn.connection.driver_connection
        assert sraw is not None and traw is not None
        # COPY takes no parameters: psycopg renders the key values as literals, with its own adapters
        copy_out = f"COPY ({ClientCursor(sraw).mogrify(str(compiled), compiled.params)}) TO STDOUT"
        tconn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")  # see _write_batch
        pg = sraw.pgconn
        relayed = 0
        row = b""
        with sraw.lock:
            pg.send_query(copy_out.encode(self.encoding))
            _flush(pg)
            res = pg.get_result()
            if res is None or res.status != pq.ExecStatus.COPY_OUT:
                _drain(pg)
                raise errors.error_from_result(res, encoding=self.encoding) if res else errors.InternalError("no COPY")
            finished = False
            try:
                with traw.cursor() as cursor:
                    with cursor.copy(self.copy_in) as copy:
                        # The per-row work is the cost here (about a microsecond): rows are read in blocks of
                        # _RELAY_ROWS without any other bookkeeping, each block joined, and the joined blocks
                        # written once they reach _RELAY_CHUNK bytes.
                        get = pg.get_copy_data
                        pending: list[bytes] = []
                        size = 0
                        nbytes = 1
                        while nbytes > 0:
                            block: list[bytes] = []
                            append = block.append
                            for _ in repeat(None, _RELAY_ROWS):
                                nbytes, data = get(0)
                                if nbytes <= 0:
                                    break
                                append(data)
                            if block:
                                relayed += len(block)
                                row = block[-1]
                                joined = b"".join(block)
                                pending.append(joined)
                                size += len(joined)
                            if size >= _RELAY_CHUNK or (nbytes <= 0 and pending):
                                copy.write(b"".join(pending) if len(pending) > 1 else pending[0])
                                pending.clear()
                                size = 0
                        finished = True
                        _end_copy_out(pg, nbytes, self.encoding)
                    loaded = cursor.rowcount
            finally:
                if not finished:  # the target failed mid-batch: leave the source connection usable
                    _drain(pg)
        if loaded != relayed:  # one COPY text message is one row: anything else is a bug, never a partial batch
            raise DataMismatch(
                f"table {self.dst.name}: COPY relayed {relayed} rows but the target loaded {loaded}; "
                "nothing of this batch was committed",
                hint="report this; meanwhile set database.pass_through = false in the plan to copy through Python",
            )
        return relayed, (self.last_key(bytes(row)) if relayed else [])

    def last_key(self, row: bytes) -> list[Any]:
        """The key values of one row of COPY text (fields split at tabs, which data can only hold escaped)."""
        fields = row[:-1].split(b"\t") if row.endswith(b"\n") else row.split(b"\t")
        return [loader.load(_unescape(fields[i])) for loader, i in zip(self.loaders, self.key_at, strict=True)]


_COPY_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", re.DOTALL)
_COPY_LETTERS = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _unescape(field: bytes) -> bytes:
    """A field of COPY's text format as its bytes: backslash sequences (\\n, \\t, octal, hex, \\\\) undone."""
    if b"\\" not in field:
        return field

    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1] == b"x" and len(code) > 1:
            return bytes([int(code[1:], 16)])
        if code[:1].isdigit():
            return bytes([int(code, 8) & 0xFF])
        return _COPY_LETTERS.get(code, code)

    return _COPY_ESCAPE.sub(one, field)


def _flush(pg: Any) -> None:
    """Send a query fully on a non-blocking libpq connection."""
    import select

    while pg.flush() == 1:
        select.select([pg.socket], [pg.socket], [])


def _end_copy_out(pg: Any, nbytes: int, encoding: str) -> None:
    """After the last row (-1) or an error (-2): the final result of the COPY, raised if it failed."""
    from psycopg import errors, pq

    failure = None
    while (res := pg.get_result()) is not None:
        if res.status != pq.ExecStatus.COMMAND_OK and failure is None:
            failure = res
    if failure is not None:
        raise errors.error_from_result(failure, encoding=encoding)
    if nbytes == -2:
        raise errors.OperationalError(bytes(pg.error_message).decode(encoding, "replace") or "COPY TO STDOUT failed")


def _drain(pg: Any) -> None:
    """Read and drop whatever the source still sends for the current query (rest of a COPY, its results)."""
    while True:
        nbytes, _ = pg.get_copy_data(0)
        if nbytes < 0:
            break
    while pg.get_result() is not None:
        pass
