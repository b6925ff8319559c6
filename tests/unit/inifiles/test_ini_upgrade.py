"""The journaled upgrade: resume after an interruption, unavailable steps, dry run, a journal from another plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.inifiles.samples import NEUTRON_CONF, lb_values, rename

from spinout.errors import DataMismatch, UnsafeSourceError
from spinout.inifiles.apply import conf_split
from spinout.inifiles.upgrade import JOURNAL, Step, run_upgrade
from spinout.progress import Progress, RecordingProgress


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    (tmp_path / "neutron.conf").write_text(NEUTRON_CONF)
    return tmp_path


class FakeCopy:
    """A data step that fails on its first call (an interrupted copy) and succeeds after."""

    def __init__(self, fail_times: int = 1) -> None:
        self.calls = 0
        self.fail_times = fail_times

    def __call__(self, progress: Progress) -> list[str]:
        self.calls += 1
        if self.calls <= self.fail_times:
            raise DataMismatch("copy interrupted: 3 of 10 batches done")
        return ["copied 10 rows"]


def _steps(etc: Path, copy: FakeCopy, config_calls: list[int]) -> list[Step]:
    def config(progress: Progress) -> list[str]:
        config_calls.append(1)
        return conf_split(etc, [lb_values()], [], rename, progress=progress).lines()

    return [
        Step("config", "split the config", config),
        Step("db-copy", "copy the data", copy),
        Step("db-strip", "strip the core", None, "not in this build"),
    ]


def test_an_interrupted_upgrade_resumes_where_it_stopped(etc: Path) -> None:
    copy, config_calls = FakeCopy(), []
    with pytest.raises(DataMismatch):
        run_upgrade(etc, _steps(etc, copy, config_calls), "fp1")
    journal = json.loads((etc / JOURNAL).read_text())
    assert journal["steps"]["config"]["status"] == "done"
    assert journal["steps"]["db-copy"]["status"] == "failed"
    assert journal["steps"]["db-copy"]["error"] == "copy interrupted: 3 of 10 batches done"
    split_once = (etc / "neutron_lbaas.conf").read_text()

    progress = RecordingProgress()
    result = run_upgrade(etc, _steps(etc, copy, config_calls), "fp1", progress=progress)
    assert config_calls == [1]  # the config step is not run again
    assert copy.calls == 2
    assert (etc / "neutron_lbaas.conf").read_text() == split_once
    assert [(s.name, s.status) for s in result.steps] == [
        ("config", "done"),
        ("db-copy", "done"),
        ("db-strip", "unavailable"),
    ]
    assert result.steps[1].lines == ["copied 10 rows"]
    assert any(n.startswith("resuming step db-copy (it was failed at ") for n in progress.notes())
    assert result.exit_code == 1 and not result.complete
    assert result.todo[0] == "step db-strip is unavailable: not in this build"


def test_a_step_killed_mid_run_is_run_again(etc: Path) -> None:
    (etc / JOURNAL).write_text(
        json.dumps({"version": 1, "fingerprint": "fp1", "steps": {"config": {"status": "running", "at": "x"}}})
    )
    copy, config_calls = FakeCopy(fail_times=0), []
    result = run_upgrade(etc, _steps(etc, copy, config_calls)[:2], "fp1", after=["restart neutron-server"])
    assert config_calls == [1]
    assert result.complete and result.exit_code == 0
    assert result.todo == ["restart neutron-server"]
    assert (etc / "neutron_lbaas.conf").exists()


def test_dry_run_lists_the_steps_and_does_nothing(etc: Path) -> None:
    copy, config_calls = FakeCopy(), []
    result = run_upgrade(etc, _steps(etc, copy, config_calls), "fp1", dry_run=True)
    assert config_calls == [] and copy.calls == 0
    assert sorted(p.name for p in etc.iterdir()) == ["neutron.conf"]
    assert [(s.name, s.status) for s in result.steps] == [
        ("config", "pending"),
        ("db-copy", "pending"),
        ("db-strip", "unavailable"),
    ]
    assert result.lines()[0] == "upgrade plan (dry run, nothing done):"
    assert result.exit_code == 0


def test_steps_after_an_unavailable_one_are_not_run(etc: Path) -> None:
    copy = FakeCopy(fail_times=0)
    steps = [Step("db-migrations", "migrate", None, "not in this build"), Step("db-copy", "copy", copy)]
    result = run_upgrade(etc, steps, "fp1")
    assert copy.calls == 0
    assert [(s.name, s.status) for s in result.steps] == [("db-migrations", "unavailable"), ("db-copy", "not run")]


def test_a_journal_of_another_plan_is_refused(etc: Path) -> None:
    copy, config_calls = FakeCopy(fail_times=0), []
    run_upgrade(etc, _steps(etc, copy, config_calls)[:1], "fp1")
    with pytest.raises(UnsafeSourceError, match="belongs to a different plan or different databases"):
        run_upgrade(etc, _steps(etc, copy, config_calls), "fp2")
    assert config_calls == [1]


class Finding:
    """A command's Result with a finding, like `spinout db verify` reporting a mismatch."""

    exit_code = 5

    def to_json(self) -> dict[str, object]:
        return {}

    def lines(self) -> list[str]:
        return ["table pools: 10 rows in the core, 9 in neutron-lbaas"]


def test_a_step_returning_a_finding_fails_and_stops_the_upgrade(etc: Path) -> None:
    copy = FakeCopy(fail_times=0)
    steps = [Step("db-verify", "verify", lambda progress: Finding()), Step("db-strip", "strip", copy)]
    result = run_upgrade(etc, steps, "fp1")
    assert [(s.name, s.status) for s in result.steps] == [("db-verify", "failed"), ("db-strip", "not run")]
    assert result.exit_code == 5 and copy.calls == 0
    assert result.steps[0].lines == ["table pools: 10 rows in the core, 9 in neutron-lbaas"]
    journal = json.loads((etc / JOURNAL).read_text())
    assert journal["steps"]["db-verify"]["status"] == "failed"


def test_a_missing_config_dir_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnsafeSourceError, match="does not exist or is not a directory"):
        run_upgrade(tmp_path / "nowhere", [Step("db-copy", "copy", FakeCopy(0))], "fp1")
    assert list(tmp_path.iterdir()) == []
