"""`space.is_full` tells a full disk from every other database error, on each backend's driver and through the
wrappers (SQLAlchemy's, and a spinout error raised while handling one)."""

from __future__ import annotations

import errno
import sqlite3

import psycopg.errors
import pymysql
import pytest
import sqlalchemy as sa

from spinout.data.space import is_full, size
from spinout.errors import DataMismatch

FULL = [
    sqlite3.OperationalError("database or disk is full"),
    psycopg.errors.DiskFull('could not extend file "base/1/2": No space left on device'),
    psycopg.errors.DiskFull("could not write to file"),  # told by its SQLSTATE (53100) alone
    pymysql.err.OperationalError(1114, "The table 'big' is full"),
    pymysql.err.OperationalError(1021, "Disk full (/tmp/#sql_1.MAI); waiting for someone to free some space..."),
    pymysql.err.InternalError(3, "Error writing file './db/big.ibd' (Errcode: 28 \"No space left on device\")"),
    OSError(errno.ENOSPC, "No space left on device"),
]
NOT_FULL = [
    sqlite3.OperationalError("database is locked"),
    sqlite3.IntegrityError("UNIQUE constraint failed: big.id"),
    psycopg.errors.UniqueViolation("duplicate key value violates unique constraint"),
    psycopg.errors.OutOfMemory("out of memory"),
    pymysql.err.IntegrityError(1062, "Duplicate entry '1' for key 'PRIMARY'"),
    pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock"),
    OSError(errno.EACCES, "Permission denied"),
]


def _wrapped(exc: Exception) -> Exception:
    return sa.exc.OperationalError("INSERT ...", {}, exc)


def _raised_while_handling(exc: Exception) -> Exception:
    try:
        try:
            raise _wrapped(exc)
        except sa.exc.DBAPIError:
            raise DataMismatch("the target rejected the batch") from None
    except DataMismatch as outer:
        return outer


@pytest.mark.parametrize("exc", FULL, ids=lambda e: f"{type(e).__module__}.{type(e).__name__}")
def test_a_full_disk_is_recognized_however_it_is_wrapped(exc: Exception) -> None:
    assert is_full(exc)
    assert is_full(_wrapped(exc))
    assert is_full(_raised_while_handling(exc))


@pytest.mark.parametrize("exc", NOT_FULL, ids=lambda e: f"{type(e).__module__}.{type(e).__name__}")
def test_other_errors_are_not_a_full_disk(exc: Exception) -> None:
    assert not is_full(exc)
    assert not is_full(_wrapped(exc))
    assert not is_full(_raised_while_handling(exc))


def test_sizes_read_naturally() -> None:
    assert [size(n) for n in (0, 1023, 1024, 1536, 5 * 2**20, 3 * 2**40)] == [
        "0 bytes",
        "1,023 bytes",
        "1.0 KiB",
        "1.5 KiB",
        "5.0 MiB",
        "3.0 TiB",
    ]
