"""The per-directory lock: a second run is refused while the first holds it, and a killed holder frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spinout.errors import UnsafeSourceError
from spinout.lock import LOCK_NAME, exclusive

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from spinout.lock import exclusive
    with exclusive(Path(sys.argv[1]), "output directory"):
        print("held", flush=True)
        time.sleep(60)
    """
)


def _hold(directory: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_is_refused_naming_the_holder_and_a_killed_holder_frees_the_lock(tmp_path: Path) -> None:
    holder = _hold(tmp_path)
    try:
        with pytest.raises(UnsafeSourceError) as caught, exclusive(tmp_path, "output directory"):
            pytest.fail("the lock was taken twice")
        assert f"pid {holder.pid}" in caught.value.message
        assert str(tmp_path) in caught.value.message
        assert caught.value.exit_code == 3
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the kernel released the killed holder's lock: the lock file is still there, and is simply taken again
    assert (tmp_path / LOCK_NAME).exists()
    with exclusive(tmp_path, "output directory"):
        pass


def test_the_lock_is_released_after_the_block_and_on_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), exclusive(tmp_path, "config directory"):
        raise RuntimeError("boom")
    # same process, another open file description: flock refuses it too (two stages of one run never overlap)
    with (
        exclusive(tmp_path, "config directory"),
        pytest.raises(UnsafeSourceError),
        exclusive(tmp_path, "config directory"),
    ):
        pass
    with exclusive(tmp_path, "config directory"):
        pass


def test_create_makes_the_directory_and_without_it_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with exclusive(tmp_path / "new" / "out", "output directory", create=True):
        assert (tmp_path / "new" / "out" / LOCK_NAME).is_file()
    with pytest.raises(Exception, match="lock file"), exclusive(tmp_path / "missing", "config directory"):
        pass


def test_forked_children_keep_the_lock_until_they_exit(tmp_path: Path) -> None:
    with exclusive(tmp_path, "output directory"):
        child = os.fork()
        if child == 0:  # pragma: no cover - the child only sleeps, then leaves without cleanup
            import time

            time.sleep(2)
            os._exit(0)
    try:
        # the parent left the block, but the forked worker still holds the open file: a new run must wait
        with pytest.raises(UnsafeSourceError), exclusive(tmp_path, "output directory"):
            pass
    finally:
        os.waitpid(child, 0)
    with exclusive(tmp_path, "output directory"):
        pass
