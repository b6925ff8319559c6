"""An inherited GIT_DIR / GIT_WORK_TREE (what a git alias running spinout exports) must not reach the source.

Before the fix, `GIT_DIR=acme/.git GIT_WORK_TREE=acme spinout split plan.toml` reset the source's index and work
tree (the targets' `git reset --hard` ran on the source) and exited 0 with the targets not checked out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from spinout import api
from spinout.repo import GIT_REPOSITORY_VARIABLES, git_environ
from spinout.sample import build_sample


def _status(repo: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in GIT_REPOSITORY_VARIABLES}
    return subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True, check=True, env=env
    ).stdout


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Path]:
    info = build_sample(tmp_path / "w", commits=120, rows=5)
    edited = info.repo / "README.rst"
    edited.write_text(edited.read_text() + "an uncommitted edit\n")
    staged = info.repo / "NEW_FILE"
    staged.write_text("staged\n")
    subprocess.run(["git", "-C", str(info.repo), "add", "NEW_FILE"], check=True)
    return info.repo, info.plan


def _hostile_env(repo: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GIT_DIR": str(repo / ".git"),
        "GIT_WORK_TREE": str(repo),
        "GIT_INDEX_FILE": str(repo / ".git" / "index"),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.hooksPath",
        "GIT_CONFIG_VALUE_0": "/nonexistent",
    }


def _targets_checked_out(plan: Path) -> None:
    out = plan.parent / "out"
    for name in ("acme-lb", "acme-fw", "acme-vpn", "acme"):
        assert (out / name / ".git").is_dir(), name
        assert _status(out / name) == "", f"{name} is not checked out cleanly"


def test_cli_split_under_an_inherited_git_dir_leaves_the_source_alone(sample: tuple[Path, Path]) -> None:
    repo, plan = sample
    before = _status(repo)
    assert "README.rst" in before and "NEW_FILE" in before
    proc = subprocess.run(
        [sys.executable, "-m", "spinout", "split", str(plan), "--quiet"],
        env=_hostile_env(repo),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert _status(repo) == before  # the edit and the staged file survive
    assert "an uncommitted edit" in (repo / "README.rst").read_text()
    _targets_checked_out(plan)


def test_api_split_under_an_inherited_git_dir_leaves_the_source_alone(
    sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library call, without the command line's scrubbing: every git subprocess gets a clean environment."""
    repo, plan = sample
    before = _status(repo)
    for key, value in _hostile_env(repo).items():
        if key.startswith("GIT_"):
            monkeypatch.setenv(key, value)
    api.split(plan, jobs=2)
    monkeypatch.undo()
    assert _status(repo) == before
    _targets_checked_out(plan)


def test_git_environ_drops_every_repository_variable_and_ignores_replace_refs() -> None:
    base = {
        "PATH": "/bin",
        "HOME": "/root",
        "GIT_AUTHOR_NAME": "kept",
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "a.b",
        "GIT_CONFIG_VALUE_0": "c",
        **{k: "x" for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE")},
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": "/elsewhere",
    }
    env = git_environ(base)
    assert env == {"PATH": "/bin", "HOME": "/root", "GIT_AUTHOR_NAME": "kept", "GIT_NO_REPLACE_OBJECTS": "1"}
    # the list covers what git itself calls repository-local
    local = subprocess.run(["git", "rev-parse", "--local-env-vars"], capture_output=True, text=True, check=True)
    assert set(local.stdout.split()) <= GIT_REPOSITORY_VARIABLES
