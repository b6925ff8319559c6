"""Issue 17, 3.16 (conf split): a full disk stops the run cleanly — exit 4 naming the device, the mount point and
the free space — with every file as it was and no backup left that is not a good one.

Before the fix `conf split` exited 70 and left a 0-byte `NAME.spinout-<stamp>.bak` named like a good backup.

Two ways to fill the disk: a real one (a small tmpfs, mounted when the tests run as root; skipped otherwise), filled
to leave 0, 1, 2, ... pages free, so that the space runs out at every stage of the run (marker, backups, new files)
until it is enough; and everywhere, `os.fsync` failing with ENOSPC at its first, second, ... call.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spinout import api
from spinout.cli import main
from spinout.sample import SampleInfo
from tests.hostile.confkit import copy_config, pristine_sample, snapshot

PAGE = 4096


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    return pristine_sample(tmp_path_factory.mktemp("conf-disk-full") / "w")


@pytest.fixture(scope="module")
def uninterrupted(sample: SampleInfo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[object]]:
    done = copy_config(sample, tmp_path_factory.mktemp("reference") / "config")
    api.conf_split(sample.plan, done)
    return snapshot(done)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs of our own (needs root); unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path, leave_pages: int) -> None:
    st = os.statvfs(mount)
    free = st.f_bavail * st.f_frsize
    with (mount / "filler").open("wb") as fh:
        fh.write(b"\0" * max(0, free - leave_pages * PAGE))


def test_conf_split_on_a_full_disk_stops_cleanly_at_every_stage(
    sample: SampleInfo,
    uninterrupted: dict[str, list[object]],
    small_disk: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes = []
    for pages in range(0, 40):
        config = copy_config(sample, small_disk / "config")
        before = snapshot(config)
        _fill(small_disk, pages)
        code = main(["conf", "split", str(sample.plan), "--config-dir", str(config), "--quiet"])
        err = capsys.readouterr().err
        outcomes.append(code)
        if code == 0:
            assert snapshot(config) == uninterrupted, f"{pages} pages free"
            break
        assert code == 4, f"{pages} pages free: {err}"
        assert f"no space left on device tmpfs (mounted at {small_disk}," in err, err
        assert f"in {config}" in err and "free space on" in err
        assert snapshot(config) == before, f"{pages} pages free: not as it was"
        (small_disk / "filler").unlink()
        shutil.rmtree(config)
    assert outcomes[0] == 4 and outcomes[-1] == 0 and len(outcomes) > 3, outcomes


def test_conf_split_stops_cleanly_whichever_fsync_finds_the_disk_full(
    sample: SampleInfo,
    uninterrupted: dict[str, list[object]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = os.fsync
    calls = 0
    fail_at = 0

    def fsync(fd: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    codes = []
    for fail_at in range(1, 60):
        calls = 0
        config = copy_config(sample, tmp_path / f"config-{fail_at}")
        before = snapshot(config)
        try:
            api.conf_split(sample.plan, config)
            codes.append(0)
            assert snapshot(config) == uninterrupted
            break
        except Exception as exc:
            codes.append(getattr(exc, "exit_code", 70))
            assert codes[-1] == 4 and "no space left on device" in str(exc), (fail_at, exc)
            assert snapshot(config) == before, f"fsync {fail_at}: not as it was"
    assert codes[-1] == 0 and codes.count(4) >= 10, codes
