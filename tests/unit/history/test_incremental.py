"""Incremental runs on generated histories: split at an earlier state of the refs, move the refs on, split again;
the result equals a fresh split of the final state (commit-map and refs)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pygit2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.history.histories import FILTERS, build_history, histories
from tests.unit.history.oracle import git_refs

from spinout.history.commitmap import read_map
from spinout.history.router import Rules
from spinout.history.split import TargetSpec, split
from spinout.progress import NullProgress


def _split(source: pygit2.Repository, target: Path, rules: Rules) -> int:
    spec = TargetSpec("t", target, rules, ("refs/heads/*", "refs/tags/*"), "refs/heads/main", bare=True)
    return split(source, [spec], force=False, progress=NullProgress()).walked


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=histories, filter_index=st.integers(0, len(FILTERS) - 1), back=st.integers(1, 6))
def test_incremental_run_equals_fresh_run(program: list, filter_index: int, back: int) -> None:  # type: ignore[type-arg]
    paths, renames = FILTERS[filter_index]
    rules = Rules.build("t", paths, renames)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        built = build_history(work / "src.git", program)
        repo = built.repo
        final = {r: repo.references[r].target for r in repo.references if r.startswith("refs/")}
        # an earlier state: every branch moved back along first parents, no tags yet
        for name, target in final.items():
            if name.startswith("refs/tags/"):
                repo.references.delete(name)
                continue
            commit = repo[target].peel(pygit2.Commit)
            for _ in range(back):
                if not commit.parents:
                    break
                commit = commit.parents[0]
            repo.references.create(name, commit.id, force=True)
        first = _split(repo, work / "inc", rules)
        for name, target in final.items():
            repo.references.create(name, target, force=True)
        again = _split(repo, work / "inc", rules)
        _split(repo, work / "fresh", rules)
        assert read_map(work / "inc" / "spinout" / "commit-map") == read_map(work / "fresh" / "spinout" / "commit-map")
        assert git_refs(work / "inc") == git_refs(work / "fresh")
        assert first + again >= len(read_map(work / "fresh" / "spinout" / "commit-map"))
