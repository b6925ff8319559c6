"""A full disk under a database, told apart from every other error and reported with where and how much.

`is_full` recognizes the out-of-space error of each backend (SQLite's SQLITE_FULL, PostgreSQL's SQLSTATE 53100,
MariaDB/MySQL's "table is full" / errno 28, and an OSError ENOSPC). `full_error` turns one into a ToolError that
says which device filled up, how much is free there, how much more the rest of the work needs (estimated from the
space the rows copied so far take), and that a rerun resumes: each batch commits together with its checkpoint, so
the batch that hit the full disk was rolled back whole and nothing half-written stays.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from spinout.errors import ToolError
from spinout.masking import mask_url, scrub

_PG_DISK_FULL = "53100"
_MYSQL_FULL = {1021, 1114}  # ER_DISK_FULL, ER_RECORD_FILE_FULL ("The table '...' is full")


def is_full(exc: BaseException) -> bool:
    """Whether `exc` (a SQLAlchemy error, a driver's, or an OSError) says the disk is full."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _says_full(current):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def _says_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    if getattr(exc, "sqlstate", None) == _PG_DISK_FULL:  # psycopg
        return True
    if getattr(exc, "sqlite_errorcode", None) == 13:  # SQLITE_FULL (Python 3.11+ exposes the code)
        return True
    text = str(exc)
    if type(exc).__module__.startswith("sqlite3") and "database or disk is full" in text:
        return True
    args = getattr(exc, "args", ())
    if type(exc).__module__.startswith(("pymysql", "MySQLdb", "mysql")) and args and args[0] in _MYSQL_FULL:
        return True
    return "No space left on device" in text or "Errcode: 28" in text or "errno: 28" in text


class DiskFull(ToolError):
    """Out of disk space under a database (exit 4, like any tool failure): located, with what to free."""


@dataclass(frozen=True)
class Place:
    """Where a database keeps its data, as far as spinout can see it."""

    description: str  # "the file system holding /srv/lb.db (mounted at /srv)" or "the server at db:5432"
    free: int | None = None  # bytes free there, when spinout can see the device
    used: int | None = None  # bytes the database takes now


def place(engine: sa.Engine) -> Place:
    """The device under the database: the SQLite file's file system, else the server (its disk is not visible
    from here; its own message names the file it could not extend)."""
    url = engine.url
    if engine.dialect.name == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).resolve()
        mount = _mount_point(path.parent)
        stats = os.statvfs(path.parent)
        size = path.stat().st_size if path.exists() else None
        return Place(f"the file system holding {path} (mounted at {mount})", stats.f_bavail * stats.f_frsize, size)
    used = None
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                used = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
            elif engine.dialect.name == "mysql":
                used = conn.execute(
                    sa.text(
                        "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = DATABASE()"
                    )
                ).scalar_one()
    except sa.exc.SQLAlchemyError:
        used = None
    where = f"{url.host or 'localhost'}{f':{url.port}' if url.port else ''}"
    return Place(f"the disk of the database server at {where} (database {url.database})", None, _int(used))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _mount_point(directory: Path) -> Path:
    device = directory.stat().st_dev
    while directory.parent != directory and directory.parent.stat().st_dev == device:
        directory = directory.parent
    return directory


def size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def full_error(
    engine: sa.Engine, exc: BaseException, doing: str, rows_done: int | None, rows_left: int | None, rerun: str
) -> DiskFull:
    """The located, actionable error for a full disk under `engine`'s database while `doing` (e.g. "copying table
    members of acme-lb"); `rows_done` rows are in the database now, `rows_left` still to write."""
    where = place(engine)
    said = scrub(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0], [engine.url])
    parts = [f"out of disk space in {mask_url(engine.url)} while {doing}: {where.description} is full"]
    if where.free is not None:
        parts.append(f"({size(where.free)} free)")
    message = " ".join(parts) + f"; the database said: {said}"
    need = ""
    if where.used and rows_done and rows_left:
        estimate = where.used / rows_done * rows_left
        need = (
            f"the {rows_left:,} rows left need about {size(estimate)} more (estimated from the {size(where.used)} "
            f"the {rows_done:,} rows copied so far take; leave room for indexes and journals too), "
        )
    hint = (
        f"free space there, or move the database to a larger disk: {need}then rerun `{rerun}`: it resumes after "
        "the last committed batch (the batch that hit the full disk was rolled back whole, nothing of it is "
        "half-written)"
    )
    return DiskFull(message, hint=hint)
