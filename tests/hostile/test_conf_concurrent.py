"""Issue 17, 3.17 (conf split): a second run on a config directory that another run is writing fails at once.

Before the lock, a second `conf split` "recovered" the first one's pending marker while the first was still
writing — it put the first run's files back under it — and the first then exited 70. Two real processes: the first
stops inside its writes (its writer waits for a signal file) while the second starts.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from spinout import api
from spinout.sample import SampleInfo
from tests.hostile.confkit import copy_config, pristine_sample, snapshot

FIRST = """
import sys, time
from pathlib import Path
from spinout import api
from spinout.inifiles.files import atomic_write

plan, config, ready, go = map(Path, sys.argv[1:5])

def writer(path, text, like):
    atomic_write(path, text, like)
    if not ready.exists():
        ready.touch()  # one file written, the marker in place: wait here
        deadline = time.monotonic() + 120
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

api.conf_split(plan, config, writer=writer)
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    return pristine_sample(tmp_path_factory.mktemp("conf-concurrent") / "w")


def _spinout(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spinout", *args, "--quiet"], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("second", ["conf split", "upgrade"])
def test_a_second_run_fails_at_once_naming_the_first_whose_result_stays_intact(
    sample: SampleInfo, tmp_path: Path, second: str
) -> None:
    reference = copy_config(sample, tmp_path / "reference")
    api.conf_split(sample.plan, reference)
    config = copy_config(sample, tmp_path / "config")
    ready, go = tmp_path / "ready", tmp_path / "go"
    first = subprocess.Popen(
        [sys.executable, "-c", FIRST, str(sample.plan), str(config), str(ready), str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never reached its writes"
            time.sleep(0.05)
        started = time.monotonic()
        if second == "conf split":
            proc = _spinout("conf", "split", str(sample.plan), "--config-dir", str(config))
        else:
            db = f"sqlite:///{tmp_path / 'core.db'}"
            proc = _spinout("upgrade", str(sample.plan), "--config-dir", str(config), "--db-url", db)
        assert proc.returncode == 3, proc.stderr
        assert f"another spinout run is using the config directory {str(config)!r} (pid {first.pid}," in proc.stderr
        assert time.monotonic() - started < 30  # at once: it does not wait for the first
    finally:
        go.touch()
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert snapshot(config) == snapshot(reference)  # the first run's result, whole
    assert not (tmp_path / "core.db").exists()
