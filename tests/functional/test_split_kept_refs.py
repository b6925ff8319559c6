"""A rerun of `spinout split` keeps what someone else committed on a target's branches (a `spinout rewrite`
commit, a hand-made fix-up) under refs/spinout/kept/ instead of silently moving the branch past it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from spinout import api
from spinout.history.split import SplitResult
from tests.fixtures.repobuilder import RepoBuilder
from tests.functional.test_split import make_source, write_plan


@pytest.fixture
def source(tmp_path: Path, repo_builder: Callable[..., RepoBuilder]) -> RepoBuilder:
    b = repo_builder("src")
    make_source(b)
    return b


def commit_on(target: Path, ref: str, message: str) -> str:
    repo = pygit2.Repository(str(target))
    head = repo.references[ref].peel(pygit2.Commit)
    sig = pygit2.Signature("Dev", "dev@example.com", 1_700_000_000, 0)
    oid = repo.create_commit(ref, sig, sig, message, head.tree_id, [head.id])
    return str(oid)


def report(result: object, name: str) -> dict[str, object]:
    assert isinstance(result, SplitResult)
    return next(t.to_json() for t in result.targets if t.name == name)


@pytest.mark.parametrize("history", ["rewrite", "remove"])
def test_rerun_keeps_commits_it_did_not_write(tmp_path: Path, source: RepoBuilder, history: str) -> None:
    plan = write_plan(tmp_path, history=history)
    api.split(plan)
    lb = tmp_path / "out" / "acme-lb"
    core = tmp_path / "out" / "acme"
    fix_lb = commit_on(lb, "refs/heads/main", "hand-made fix-up\n")
    fix_core = commit_on(core, "refs/heads/main", "compatibility shims\n")
    untouched = pygit2.Repository(str(tmp_path / "out" / "acme-fw")).references["refs/heads/main"].target
    source.commit("more lb", {"acme/services/lb/pool.py": "p = 3\n"})
    result = api.split(plan)
    for target, fix, name in ((lb, fix_lb, "acme-lb"), (core, fix_core, "acme")):
        repo = pygit2.Repository(str(target))
        assert str(repo.references["refs/spinout/kept/heads/main"].target) == fix
        assert str(repo.references["refs/heads/main"].target) != fix  # the branch is the split's again
        assert report(result, name)["kept_refs"] == {"refs/heads/main": "refs/spinout/kept/heads/main"}
    fw = pygit2.Repository(str(tmp_path / "out" / "acme-fw"))
    assert fw.references["refs/heads/main"].target == untouched
    assert report(result, "acme-fw")["kept_refs"] == {}
    assert "refs/spinout/kept/heads/main" not in list(fw.references)
    # a rerun with nothing moved keeps nothing more
    again = api.split(plan)
    assert all(t.kept_refs == {} for t in again.targets)  # type: ignore[union-attr]
