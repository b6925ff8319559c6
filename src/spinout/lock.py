"""One spinout run per directory: an exclusive advisory lock on `DIR/.spinout.lock`.

Two `spinout split` runs on one output directory, or a second `conf split` that "recovers" a first one still running,
would break each other's files. Every command that writes into a directory holds this lock for the whole run. It is a
`flock` on an open file, so the kernel releases it when the process holding it ends, however it ends (SIGKILL
included): a lock never outlives its run, and a stale lock file is simply taken again. Forked workers inherit the
open file, so the lock is held until the last of them exits.

The lock file holds the holder's pid, start time and command, to name it in the error the next run prints.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spinout.errors import ToolError, UnsafeSourceError

LOCK_NAME = ".spinout.lock"


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {int(info['pid'])}, `{info['command']}`, started {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def exclusive(directory: Path, what: str, *, create: bool = False) -> Iterator[None]:
    """Hold the lock of `directory` for the block (`create`: make the directory first if missing); `what` names the
    directory in errors ("output directory", "config directory"). Raises UnsafeSourceError (exit 3) at once if
    another run holds it."""
    try:
        if create:
            directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise ToolError(
            f"cannot create the lock file of the {what} {str(directory)!r}: {exc.strerror}",
            hint="check that the directory is writable and its disk is not full",
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise ToolError(
                    f"cannot lock the {what} {str(directory)!r}: {exc.strerror}",
                    hint="the file system may not support locks; use a local directory",
                ) from exc
            raise UnsafeSourceError(
                f"another spinout run is using the {what} {str(directory)!r} ({_holder(directory / LOCK_NAME)})",
                hint="wait for it to finish, then run again; the lock is released as soon as that process ends",
            ) from None
        stamp = {
            "pid": os.getpid(),
            "command": " ".join(Path(sys.argv[0]).name if i == 0 else a for i, a in enumerate(sys.argv)),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(stamp) + "\n").encode(), 0)
        except OSError:
            pass  # the holder's description is a courtesy; the lock itself is held
        yield
    finally:
        os.close(fd)
