"""SIGKILL campaigns for `conf split` and `upgrade`: killed at a random moment, then run again, the result is
byte for byte the uninterrupted run's — files, modes, backups (modulo their time stamp), no marker or temporary
file left, and for `upgrade` the journal's states and every database's content.

Seeds vary per run and are printed (SPINOUT_KILL_SEED replays one); SPINOUT_KILL_TRIALS sets the number of trials
(CI runs a few; a full campaign is `SPINOUT_KILL_TRIALS=25`).
"""

from __future__ import annotations

import random
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from spinout import api
from spinout.inifiles.apply import PENDING
from spinout.sample import SampleInfo
from tests.hostile.confkit import campaign_seed, copy_config, pristine_sample, run_in_child, snapshot, trials


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    return pristine_sample(tmp_path_factory.mktemp("conf-sigkill") / "w")


@pytest.mark.heavy
def test_conf_split_killed_anywhere_then_rerun_is_the_uninterrupted_result(sample: SampleInfo, tmp_path: Path) -> None:
    reference = copy_config(sample, tmp_path / "reference")
    api.conf_split(sample.plan, reference)  # also imports everything before the first fork
    expected = snapshot(reference)
    assert any(".spinout-STAMP.bak" in name for name in expected) and PENDING not in expected

    counted = run_in_child(lambda: api.conf_split(sample.plan, copy_config(sample, tmp_path / "count")))
    assert counted.exit_code == 0 and counted.calls > 20, counted
    seed = campaign_seed()
    rng = random.Random(seed)
    for trial in range(trials(12)):
        config = copy_config(sample, tmp_path / f"trial-{trial}")
        if rng.random() < 0.8:
            at: dict[str, Any] = {"kill_at": rng.randint(1, counted.calls)}
        else:
            at = {"kill_after": rng.uniform(0, counted.seconds)}
        run = run_in_child(lambda c=config: api.conf_split(sample.plan, c), **at)  # type: ignore[misc]
        assert run.killed or run.exit_code == 0, (seed, trial, at, run)
        try:
            api.conf_split(sample.plan, config)
        except Exception as exc:
            pytest.fail(f"seed {seed}, trial {trial}: killed {at}; the rerun failed: {exc}")
        assert snapshot(config) == expected, f"seed {seed}, trial {trial}: killed {at}"
        assert api.conf_split(sample.plan, config).written == []
        shutil.rmtree(config)


def _setup(sample: SampleInfo, root: Path) -> tuple[Path, str, dict[str, str]]:
    root.mkdir()
    config = copy_config(sample, root / "config")
    shutil.copy2(sample.database, root / "acme.db")
    services = {name: f"sqlite:///{root / (name + '.db')}" for name in ("acme-lb", "acme-fw", "acme-vpn")}
    return config, f"sqlite:///{root / 'acme.db'}", services


# The data stage's bookkeeping rows record when a table was copied or verified.
_WHEN = re.compile(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?'")


def _databases(root: Path) -> dict[str, list[str]]:
    """Every database's SQL dump (its own text output), times of day masked."""
    out = {}
    for db in sorted(root.glob("*.db")):
        conn = sqlite3.connect(db)
        try:
            out[db.name] = [_WHEN.sub("'<time>'", line) for line in conn.iterdump()]
        finally:
            conn.close()
    return out


def _upgrade(sample: SampleInfo, root: Path) -> None:
    config = root / "config"
    core = f"sqlite:///{root / 'acme.db'}"
    services = {name: f"sqlite:///{root / (name + '.db')}" for name in ("acme-lb", "acme-fw", "acme-vpn")}
    result = api.upgrade(sample.plan, config, core, services)
    assert result.exit_code == 0, result.lines()


@pytest.mark.heavy
@pytest.mark.slow
def test_upgrade_killed_anywhere_then_rerun_is_the_uninterrupted_result(sample: SampleInfo, tmp_path: Path) -> None:
    ref = tmp_path / "reference"
    _setup(sample, ref)
    _upgrade(sample, ref)
    expected = (snapshot(ref / "config"), _databases(ref))
    assert {s for s in expected[1]} == {"acme.db", "acme-lb.db", "acme-fw.db", "acme-vpn.db"}

    count = tmp_path / "count"
    _setup(sample, count)
    counted = run_in_child(lambda: _upgrade(sample, count))
    assert counted.exit_code == 0 and counted.calls > 20, counted
    seed = campaign_seed()
    rng = random.Random(seed)
    for trial in range(trials(2)):
        root = tmp_path / f"trial-{trial}"
        _setup(sample, root)
        if rng.random() < 0.5:
            at: dict[str, Any] = {"kill_at": rng.randint(1, counted.calls)}
        else:
            at = {"kill_after": rng.uniform(0, counted.seconds)}
        run = run_in_child(lambda r=root: _upgrade(sample, r), **at)  # type: ignore[misc]
        assert run.killed or run.exit_code == 0, (seed, trial, at, run)
        try:
            _upgrade(sample, root)
        except Exception as exc:
            pytest.fail(f"seed {seed}, trial {trial}: killed {at}; the rerun failed: {exc}")
        assert (snapshot(root / "config"), _databases(root)) == expected, f"seed {seed}, trial {trial}: killed {at}"
        shutil.rmtree(root)
