"""Shared by the config stage's hostile tests: the pristine sample, directory snapshots compared modulo backup time
stamps, and runs killed with SIGKILL — a forked child killed just before its N-th file-system call, or after a
given time.

Killing before the N-th call of `os.open`, `os.replace`, `os.unlink`, `os.fsync`, ... walks every crash window
between two file-system operations (an empty temporary file, a complete one not yet renamed, a marker without
backups, half the files written, ...); a kill after a random time reaches the moments in between (inside a database
transaction during `upgrade`). The child is a fork of the test process, so a trial costs milliseconds, not an
interpreter start.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import re
import shutil
import signal
import stat
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spinout.inifiles.upgrade import JOURNAL
from spinout.lock import LOCK_NAME
from spinout.sample import MIN_COMMITS, SampleInfo, build_sample

SAMPLE_COMMITS = MIN_COMMITS
# neutron.conf.spinout-20261204T172143387027Z.bak (a second backup in the same microsecond gets -1, -2, ...)
_STAMP = re.compile(r"\.spinout-\d{8}T\d{12}Z(?:-\d+)?\.bak$")
FS_CALLS = (
    "open",
    "replace",
    "rename",
    "unlink",
    "rmdir",
    "mkdir",
    "fsync",
    "chmod",
    "fchmod",
    "chown",
    "utime",
    "link",
    "symlink",
    "truncate",
    "ftruncate",
)


def pristine_sample(root: Path) -> SampleInfo:
    return build_sample(root, commits=SAMPLE_COMMITS, rows=5)


def copy_config(info: SampleInfo, dest: Path) -> Path:
    shutil.copytree(info.config_dir, dest, symlinks=True)
    return dest


def normalized_name(name: str) -> str:
    return _STAMP.sub(".spinout-STAMP.bak", name)


def _journal(data: bytes) -> bytes:
    """The upgrade journal without its times (and its fingerprint, which digests the trial's database paths): each
    step's status."""
    parsed = json.loads(data)
    steps = {name: entry.get("status") for name, entry in parsed.get("steps", {}).items()}
    return json.dumps({"steps": steps}, sort_keys=True).encode()


def snapshot(directory: Path) -> dict[str, list[Any]]:
    """Every entry under `directory` (the lock file aside) by relative name, backup time stamps normalized: its
    mode and bytes, a link's target, or "dir". Two backups of one file stay two entries."""
    out: dict[str, list[Any]] = defaultdict(list)
    for path in sorted(directory.rglob("*")):
        if path.name == LOCK_NAME:
            continue
        rel = normalized_name(path.relative_to(directory).as_posix())
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            out[rel].append(("link", os.readlink(path)))
        elif stat.S_ISDIR(mode):
            out[rel].append("dir")
        elif not stat.S_ISREG(mode):
            out[rel].append(("special", stat.S_IFMT(mode)))  # a FIFO is never opened: reading it would block
        else:
            data = path.read_bytes()
            if path.name == JOURNAL:
                data = _journal(data)
            out[rel].append((stat.S_IMODE(path.stat().st_mode), data))
    return dict(out)


def campaign_seed() -> int:
    """A fresh seed per run (SPINOUT_KILL_SEED replays one), printed so that a failure can be replayed."""
    seed = int(os.environ.get("SPINOUT_KILL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"SIGKILL campaign seed {seed} (replay with SPINOUT_KILL_SEED={seed})")
    return seed


def trials(default: int) -> int:
    """SPINOUT_KILL_TRIALS scales every campaign (CI runs the default; a full campaign is 20 or more)."""
    return int(os.environ.get("SPINOUT_KILL_TRIALS") or default)


@dataclass(frozen=True)
class ChildRun:
    killed: bool
    exit_code: int | None
    calls: int  # file-system calls made (when the child was not killed)
    seconds: float


def _arm(kill_at: int | None) -> Callable[[], int]:
    """Count the child's file-system calls; SIGKILL it just before call number `kill_at`."""
    count = 0

    def wrap(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal count
            count += 1
            if kill_at is not None and count >= kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)

        return call

    for name in FS_CALLS:
        if hasattr(os, name):
            setattr(os, name, wrap(getattr(os, name)))
    return lambda: count


def run_in_child(fn: Callable[[], object], *, kill_at: int | None = None, kill_after: float | None = None) -> ChildRun:
    """Run `fn` in a forked child (its output discarded) and wait for it; SIGKILL it before its `kill_at`-th
    file-system call or `kill_after` seconds after it started."""
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the test
        code = 3
        try:
            gc.disable()  # never finalize the parent's garbage (a database connection would close the parent's socket)
            os.close(read_end)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            calls = _arm(kill_at)
            try:
                fn()
                code = 0
            except BaseException:
                code = 1
            os.write(write_end, str(calls()).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    if kill_after is not None:
        time.sleep(kill_after)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    seconds = time.monotonic() - started
    with os.fdopen(read_end, "rb") as fh:
        reported = fh.read()
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return ChildRun(killed, None if killed else os.WEXITSTATUS(status), int(reported or 0), seconds)
