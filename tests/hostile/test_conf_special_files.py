"""Issue 17, 3.15 (config files): a config file that is not a regular file, or is huge, is refused at once, named.

Before the fix a FIFO as a config file hung `conf split` (reading it waits for a writer forever) and a symbolic link
to /dev/zero read until memory ran out. Each case runs `spinout conf split` as a separate process with a time
limit and a memory limit, so that the old behaviour fails the test instead of hanging or exhausting the machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spinout.inifiles.files import MAX_CONFIG_BYTES
from spinout.sample import SampleInfo
from tests.hostile.confkit import copy_config, pristine_sample, snapshot

MEMORY_LIMIT = 3 << 30  # address space: far above what conf split needs, far below the machine


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    return pristine_sample(tmp_path_factory.mktemp("conf-special") / "w")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _conf_split(plan: Path, config: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "spinout", "conf", "split", str(plan), "--config-dir", str(config), "--quiet"],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_limit_memory,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"conf split still running after {timeout} s (it hangs)")


@pytest.mark.parametrize("name", ["acme.conf", "acme_lb.conf"], ids=["source", "target"])
def test_a_fifo_as_a_config_file_is_refused_at_once(sample: SampleInfo, tmp_path: Path, name: str) -> None:
    config = copy_config(sample, tmp_path / "config")
    (config / name).unlink(missing_ok=True)
    os.mkfifo(config / name)
    before = snapshot(config)
    started = time.monotonic()
    proc = _conf_split(sample.plan, config)
    assert proc.returncode == 3, proc.stderr
    assert f"{config / name}:0: is a FIFO (named pipe), not a config file" in proc.stderr
    assert "regular files only" in proc.stderr
    assert time.monotonic() - started < 30
    assert snapshot(config) == before


def test_a_link_to_dev_zero_is_refused_without_reading_it(sample: SampleInfo, tmp_path: Path) -> None:
    config = copy_config(sample, tmp_path / "config")
    (config / "services.conf").unlink()
    (config / "services.conf").symlink_to("/dev/zero")
    proc = _conf_split(sample.plan, config)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert f"{config / 'services.conf'}:0: is a character device (through the symbolic link" in proc.stderr
    assert (config / "services.conf").is_symlink() and os.readlink(config / "services.conf") == "/dev/zero"
    assert not list(config.glob("*.bak"))


def test_a_file_above_the_size_limit_is_refused_with_the_limit(sample: SampleInfo, tmp_path: Path) -> None:
    config = copy_config(sample, tmp_path / "config")
    head = (config / "services.conf").read_bytes()
    filler = b"# " + b"x" * 1021 + b"\n"
    count = (MAX_CONFIG_BYTES - len(head)) // len(filler) + 1
    (config / "services.conf").write_bytes(head + filler * count)  # valid INI, just over the limit
    before = snapshot(config)
    proc = _conf_split(sample.plan, config, timeout=120)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert f"{config / 'services.conf'}:0: is larger than 16.0 MiB" in proc.stderr
    assert snapshot(config) == before
