"""Issue 17, 3.6: recovering an interrupted `conf split` acts on the folder it is given, and only on it.

Before the fix the pending marker stored paths as typed: with an absolute --config-dir, a run on a copy of an
interrupted folder rolled back the original folder and split the copy's half-written files; with a relative one,
resuming from another working directory exited 70 writing under <cwd>/config/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from spinout import api
from spinout.cli import main
from spinout.inifiles.apply import PENDING
from spinout.inifiles.files import atomic_write
from spinout.sample import SampleInfo
from tests.hostile.confkit import copy_config, pristine_sample, run_in_child, snapshot


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    return pristine_sample(tmp_path_factory.mktemp("conf-recovery") / "w")


@pytest.fixture(scope="module")
def uninterrupted(sample: SampleInfo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[object]]:
    done = copy_config(sample, tmp_path_factory.mktemp("reference") / "config")
    api.conf_split(sample.plan, done)
    return snapshot(done)


def _dies_after_the_first_write(path: Path, text: str, like: Path | None) -> None:
    atomic_write(path, text, like)
    os.kill(os.getpid(), signal.SIGKILL)


def _interrupt(plan: Path, config_dir: Path, cwd: Path | None = None) -> None:
    """A real run of `conf split` on `config_dir` (as given, relative or not), killed after its first write."""

    def run() -> None:
        if cwd is not None:
            os.chdir(cwd)
        api.conf_split(plan, config_dir, writer=_dies_after_the_first_write)

    assert run_in_child(run).killed
    root = cwd / config_dir if cwd is not None else config_dir
    assert (root / PENDING).exists()


def test_a_copy_of_an_interrupted_folder_recovers_itself_and_leaves_the_original_alone(
    sample: SampleInfo, uninterrupted: dict[str, list[object]], tmp_path: Path
) -> None:
    original = copy_config(sample, tmp_path / "original")
    _interrupt(sample.plan, original.absolute())
    left = snapshot(original)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy, symlinks=True)
    assert main(["conf", "split", str(sample.plan), "--config-dir", str(copy.absolute()), "--quiet"]) == 0
    assert snapshot(original) == left  # the original folder is untouched
    assert snapshot(copy) == uninterrupted  # the copy rolled back its own files, then split them


def test_resuming_from_another_working_directory_with_a_relative_config_dir(
    sample: SampleInfo, uninterrupted: dict[str, list[object]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    copy_config(sample, work / "config")
    _interrupt(sample.plan, Path("config"), cwd=work)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["conf", "split", str(sample.plan), "--config-dir", "../work/config", "--quiet"]) == 0
    assert snapshot(work / "config") == uninterrupted
    assert list(elsewhere.iterdir()) == []  # nothing written under the working directory


@pytest.mark.parametrize(
    "files",
    [
        {"../outside.conf": "../outside.conf.spinout-x.bak"},
        {"acme.conf": "../elsewhere/acme.conf.bak"},
        {"{tmp}/outside.conf": None},  # an absolute path: never a real system file, whatever the code under test does
    ],
    ids=["parent", "backup-outside", "absolute"],
)
def test_a_marker_naming_files_outside_the_folder_is_refused_with_nothing_touched(
    sample: SampleInfo, tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str | None]
) -> None:
    config = copy_config(sample, tmp_path / "config")
    (tmp_path / "outside.conf").write_text("[DEFAULT]\nkept = 1\n")
    (tmp_path / "outside.conf.spinout-x.bak").write_text("[DEFAULT]\nfrom the backup = 1\n")
    files = {k.replace("{tmp}", str(tmp_path)): v for k, v in files.items()}
    (config / PENDING).write_text(json.dumps({"version": 2, "stamp": "x", "files": files}))
    before, outside = snapshot(config), (tmp_path / "outside.conf").read_bytes()
    assert main(["conf", "split", str(sample.plan), "--config-dir", str(config), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert f"{config / PENDING} lists" in err and "which is not a file of the config directory" in err
    assert snapshot(config) == before
    assert (tmp_path / "outside.conf").read_bytes() == outside


def test_a_version_1_marker_of_another_folder_is_refused(
    sample: SampleInfo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The marker format before the fix (absolute paths as typed), copied along with its folder."""
    original = copy_config(sample, tmp_path / "original")
    copy = copy_config(sample, tmp_path / "copy")
    bak = original / "acme.conf.spinout-x.bak"
    bak.write_bytes((original / "acme.conf").read_bytes())
    (copy / PENDING).write_text(json.dumps({"files": {str(original / "acme.conf"): str(bak)}}))
    before = snapshot(original)
    assert main(["conf", "split", str(sample.plan), "--config-dir", str(copy), "--quiet"]) == 3
    assert "not a file of the config directory" in capsys.readouterr().err
    assert snapshot(original) == before
