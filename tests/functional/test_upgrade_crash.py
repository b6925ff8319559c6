"""`spinout upgrade` killed with SIGKILL at a random instant, then run again, ends as an uninterrupted upgrade.

The deployer's flow on the sample (config split, migrations, copy, verify, strip; SQLite service databases): each
trial builds a fresh sample, forks a child that runs the upgrade, kills it at a random instant of the run
(stratified over its length, so that a few trials spread over every step) and runs the upgrade again to the end.
The oracle is an uninterrupted upgrade of another copy of the sample: the same config files byte for byte (the
timestamped backups aside), the same rows in the core and the service databases, every step done.
SPINOUT_CRASH_UPGRADE_TRIALS sets the number of trials (default 3; `heavy`); seeds vary per run and are printed.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from spinout import api
from spinout.inifiles.upgrade import JOURNAL
from spinout.sample import build_sample
from tests.fixtures.datahelpers import snapshot, table_names

TRIALS = int(os.environ.get("SPINOUT_CRASH_UPGRADE_TRIALS", "3"))
SERVICES = ("acme-lb", "acme-fw", "acme-vpn")


def _urls(root: Path) -> dict[str, str]:
    return {name: f"sqlite:///{root / f'{name}.db'}" for name in SERVICES}


def _run(root: Path) -> Any:
    return api.upgrade(root / "plan.toml", root / "config", f"sqlite:///{root / 'acme.db'}", _urls(root))


def _child(root: Path) -> None:
    _run(root)
    os._exit(0)


def _state(root: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    config = {  # the sample's config names its own database: its path differs from one sample to the next
        p.name: p.read_bytes().replace(str(root).encode(), b"<root>")
        for p in sorted((root / "config").iterdir())
        if p.is_file() and ".bak" not in p.name and not p.name.startswith(".")
    }
    databases = {}
    for name, url in {"core": f"sqlite:///{root / 'acme.db'}", **_urls(root)}.items():
        # spinout's own bookkeeping holds times (checkpoints, verification): the data and alembic's versions count
        databases[name] = snapshot(url, sorted(t for t in table_names(url) if not t.startswith("spinout_")))
    return config, databases


@pytest.mark.slow
@pytest.mark.heavy
def test_upgrade_killed_at_random_instants_then_rerun_ends_as_an_uninterrupted_one(tmp_path: Path) -> None:
    seed = int(os.environ.get("SPINOUT_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"replay with SPINOUT_CRASH_SEED={seed}")  # pytest shows it when the test fails
    rng = random.Random(seed)
    reference = tmp_path / "reference"
    build_sample(reference, commits=60, rows=20)
    started = time.monotonic()
    assert _run(reference).complete
    duration = time.monotonic() - started
    expected = _state(reference)
    ctx = multiprocessing.get_context("fork")
    for trial in range(TRIALS):
        root = tmp_path / f"trial{trial}"
        build_sample(root, commits=60, rows=20)
        proc = ctx.Process(target=_child, args=(root,))
        proc.start()
        delay = rng.uniform(trial * duration / TRIALS, (trial + 1) * duration / TRIALS)
        time.sleep(delay)
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        what = f"killed after {delay:.2f} s of a {duration:.2f} s upgrade"
        result = _run(root)
        assert result.complete, f"{what}: {result.lines()}"
        assert _state(root) == expected, f"{what}: the result differs from an uninterrupted upgrade's"
        journal = root / "config" / JOURNAL
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
        assert not list(journal.parent.glob(f".{JOURNAL}.*.tmp")), f"{what}: a half-saved journal was left behind"
