"""PostgreSQL targets: load fresh tables without their keys and indexes, then rebuild them exactly, as pg_dump does.

Maintaining a primary key, unique constraints, indexes and foreign-key triggers row by row is most of the target's
work in a copy (measured: 9.9 s of copy become 4.1 s without them on 1M rows). So before the copy, for each table
of the service that is *fresh* (no checkpoint yet and empty in the target) spinout drops its foreign keys, its
primary-key and unique constraints and its other indexes, and after every table is copied it recreates them from
definitions the server itself printed (`pg_get_constraintdef`, `pg_get_indexdef`). Check constraints, NOT NULL and
defaults stay: they cost little and make a bad row fail in its batch, named. An index or unique constraint that a
foreign key of a non-fresh table depends on stays too (it cannot be dropped without that key).

Crash safety: the drop and the record of every restore statement, in `spinout_copy_deferred`, are one transaction
(PostgreSQL DDL is transactional), and each restore statement commits together with the deletion of its record.
So at any instant every dropped key is either in place or recorded, and the next `db copy` — even one that finds
every table already copied — restores what is recorded. Duplicates cannot slip in while the primary key is absent:
each batch commits with its checkpoint, and a resumed copy starts after the last committed key; rebuilding the
primary key at the end checks it anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from spinout.data import space
from spinout.data.schema import db_message, mask_url, scrub
from spinout.errors import DataMismatch
from spinout.progress import Progress

DEFERRED_TABLE = "spinout_copy_deferred"

_md = sa.MetaData()
deferred = sa.Table(
    DEFERRED_TABLE,
    _md,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),  # restore order
    sa.Column("table_name", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),  # the constraint's or index's name, for messages
    sa.Column("restore", sa.Text, nullable=False),  # the statement that recreates it
)

# What to drop for the tables in :oids, each with the statement that drops it and the one that recreates it, in
# restore order: primary keys and unique constraints, then plain indexes, then foreign keys (which need the
# referenced keys). Indexes that a foreign key from a table outside :oids depends on (conindid) are kept.
_WHAT_TO_DEFER = sa.text(
    """
    WITH kept AS (
        SELECT conindid FROM pg_constraint
        WHERE contype = 'f' AND confrelid = ANY(:oids) AND NOT conrelid = ANY(:oids)
    )
    SELECT * FROM (
        SELECT 1 AS step, c.conrelid::regclass::text AS tbl, c.conname::text AS name,
               format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop_sql,
               format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                      pg_get_constraintdef(c.oid)) AS restore_sql
        FROM pg_constraint c
        WHERE c.contype IN ('p', 'u') AND c.conrelid = ANY(:oids) AND c.conindid NOT IN (SELECT conindid FROM kept)
        UNION ALL
        SELECT 2, i.indrelid::regclass::text, i.indexrelid::regclass::text,
               format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(:oids) AND i.indexrelid NOT IN (SELECT conindid FROM kept)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                          WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
        UNION ALL
        SELECT 3, c.conrelid::regclass::text, c.conname::text,
               format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
               format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                      pg_get_constraintdef(c.oid))
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.conrelid = ANY(:oids)
    ) AS d
    ORDER BY step, tbl, name
    """
)


def applies(target: sa.Engine) -> bool:
    return target.dialect.name == "postgresql"


def ensure_table(target: sa.Engine) -> None:
    _md.create_all(target, checkfirst=True)


def defer(target: sa.Engine, service: str, fresh: Sequence[sa.Table], progress: Progress) -> int:
    """Drop the keys and indexes of the `fresh` tables, recording how to recreate them; return how many."""
    if not fresh:
        return 0
    task = f"defer:{service}"
    progress.start(task, f"{service}: setting keys and indexes of {len(fresh)} fresh tables aside for the load")
    with target.begin() as conn:
        oids = [
            conn.execute(sa.text("SELECT to_regclass(:name)::oid"), {"name": _qualified(conn, t)}).scalar_one()
            for t in fresh
        ]
        items = conn.execute(_WHAT_TO_DEFER, {"oids": [o for o in oids if o is not None]}).all()
        start = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(deferred.c.seq), 0)).where(deferred.c.service == service)
        ).scalar_one()
        for seq, item in enumerate(items, start=int(start) + 1):
            conn.execute(
                deferred.insert().values(
                    service=service, seq=seq, table_name=item.tbl, name=item.name, restore=item.restore_sql
                )
            )
        # drop in reverse restore order: foreign keys before the keys they reference
        for item in reversed(items):
            conn.exec_driver_sql(item.drop_sql)
    said = f"{service}: {len(items)} keys and indexes of {len(fresh)} fresh tables set aside for the load"
    progress.finish(task, said if items else "")
    return len(items)


def restore(target: sa.Engine, service: str, progress: Progress) -> int:
    """Recreate every recorded key and index of `service`, each in its own transaction with its record."""
    with target.connect() as conn:
        items = conn.execute(
            sa.select(deferred.c.seq, deferred.c.table_name, deferred.c.name, deferred.c.restore)
            .where(deferred.c.service == service)
            .order_by(deferred.c.seq)
        ).all()
    task = f"restore:{service}"
    if items:
        progress.start(task, f"{service}: rebuilding keys and indexes", total=len(items))
    for done, item in enumerate(items, start=1):
        try:
            with target.begin() as conn:
                # building an index sorts the whole table: give the sort room (the server's default is 64 MB)
                conn.exec_driver_sql("SET LOCAL maintenance_work_mem TO '256MB'")
                conn.exec_driver_sql(item.restore)
                conn.execute(deferred.delete().where(deferred.c.service == service, deferred.c.seq == item.seq))
        except sa.exc.DBAPIError as exc:
            if space.is_full(exc):
                doing = f"rebuilding {item.name} of table {item.table_name}, set aside for the load,"
                raise space.full_error(target, exc, doing, None, None, "spinout db copy") from None
            raise DataMismatch(
                f"the copied rows of table {item.table_name} in {mask_url(target.url)} do not satisfy "
                f"{item.name}, which spinout set aside for the load and is recreating: "
                f"{scrub(db_message(exc), [target.url])}",
                hint=f"fix the rows or the target's schema, then rerun `spinout db copy` (it recreates {item.name} "
                f"and the rest; the statement is: {item.restore})",
            ) from None
        progress.advance(task, done, len(items))
    if items:
        progress.finish(task, f"{service}: {len(items)} keys and indexes rebuilt")
    return len(items)


def _qualified(conn: sa.Connection, table: sa.Table) -> str:
    ident = conn.dialect.identifier_preparer
    name = ident.quote(table.name)
    return f"{ident.quote(table.schema)}.{name}" if table.schema else name
