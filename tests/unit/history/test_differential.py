"""Differential tests: spinout's commit ids and refs equal git filter-repo's, on hand-built and generated
histories (git filter-repo is the oracle; see docs/history.md for the deliberate differences)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from tests.fixtures.repobuilder import RepoBuilder
from tests.unit.history.histories import FILTERS, Op, build_history, histories
from tests.unit.history.oracle import filter_repo, spinout_split, unfaithful_commits

from spinout.history.router import Rules

SCALE = int(os.environ.get("SPINOUT_HEAVY_SCALE", "1"))


def _check(program: list, filter_index: int, encoding: bool = False) -> None:  # type: ignore[type-arg]
    paths, renames = FILTERS[filter_index]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        built = build_history(work / "src.git", program, encoding_header=encoding)
        # spinout keeps `encoding` headers and message bytes as they are: filter-repo's --preserve-commit-encoding
        extra = ["--preserve-commit-encoding"]
        expected_map, expected_refs = filter_repo(built.path, work / "fr", paths, renames, extra)
        got_map, got_refs, target = spinout_split(built.path, work / "sp", Rules.build("t", paths, renames))
        # spinout's trees are always the filtered source trees, checked independently of both tools
        assert unfaithful_commits(built.path, target, got_map, paths, renames) == []
        fr_git = work / "fr" / "filter-repo-clone" / ".git"
        if unfaithful_commits(built.path, fr_git, expected_map, paths, renames):
            # filter-repo's known defect (docs/history.md, differences): a kept merge whose first-parent side was
            # pruned away gets its changes against the new first parent applied to the old one, so its tree is
            # not the source's; ids differ from there on. Everything else was checked above.
            event("filter-repo wrote a tree that is not the filtered source tree")
            return
        assert got_map == expected_map
        assert got_refs == expected_refs


# Found by hypothesis: `two` merges `one` after a commit that filters to nothing; the merge adds a/y and keeps
# one's a/x = 2. filter-repo writes a/x = 1 (see _check).
FILTER_REPO_MERGE_DEFECT = [
    Op(kind="commit", branch=0, changes=((0, None),)),
    Op(kind="commit", branch=1, changes=((0, 1),)),
    Op(kind="commit", branch=2, changes=((4, 0),)),
    Op(kind="merge", branch=2, others=(1,), tree_from=1, changes=((1, 0),)),
]


def test_filter_repo_merge_defect_is_a_documented_difference() -> None:
    """The case above, pinned: filter-repo's merge tree is not the filtered source tree; spinout's is, with the
    same parents and the same kept/pruned decisions."""
    paths, renames = FILTERS[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        built = build_history(work / "src.git", FILTER_REPO_MERGE_DEFECT)
        expected_map, _ = filter_repo(built.path, work / "fr", paths, renames)
        got_map, _, target = spinout_split(built.path, work / "sp", Rules.build("t", paths, renames))
        fr_git = work / "fr" / "filter-repo-clone" / ".git"
        merge = built.commits[-1]
        assert unfaithful_commits(built.path, fr_git, expected_map, paths, renames) == [merge]
        assert unfaithful_commits(built.path, target, got_map, paths, renames) == []
        assert {old for old, new in got_map.items() if set(new) == {"0"}} == {
            old for old, new in expected_map.items() if set(new) == {"0"}
        }
        fr, sp = pygit2.Repository(str(fr_git)), pygit2.Repository(str(target))
        assert [str(p) for p in sp[got_map[merge]].parent_ids] == [str(p) for p in fr[expected_map[merge]].parent_ids]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=histories, filter_index=st.integers(0, len(FILTERS) - 1), encoding=st.booleans())
@example(program=FILTER_REPO_MERGE_DEFECT, filter_index=0, encoding=False)
def test_generated_histories_match_filter_repo(program: list, filter_index: int, encoding: bool) -> None:  # type: ignore[type-arg]
    _check(program, filter_index, encoding)


@pytest.mark.heavy
@settings(max_examples=250 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=histories, filter_index=st.integers(0, len(FILTERS) - 1), encoding=st.booleans())
def test_many_generated_histories_match_filter_repo(program: list, filter_index: int, encoding: bool) -> None:  # type: ignore[type-arg]
    _check(program, filter_index, encoding)


def _hand_built(b: RepoBuilder) -> None:
    root = b.commit("root", {"a/x": "1", "c": "1", "d": "file"})
    b.commit("a only", {"a/x": "2"})
    b.branch("side", root)
    s1 = b.commit("side c", {"c": "2"}, branch="side")
    # a --no-ff merge that is degenerate in the source already (its first parent is an ancestor of the second)
    b.branch("noff", root)
    b.commit("noff merge", parents=[root, s1], tree={"a/x": "1", "c": "2", "d": "file"}, branch="noff")
    m1 = b.commit(f"merge side, after {s1[:8]}", parents=[b.head(), s1], tree={"a/x": "2", "c": "2", "d": "file"})
    # criss-cross: side merges main's previous tip while main merges side
    b.commit("side merges main", parents=[s1, root], tree={"a/x": "1", "c": "2", "d": "file"}, branch="side")
    b.commit("d becomes a directory", {"d": None, "d/e": "dir"})
    b.branch("oct1", m1)
    o1 = b.commit("oct one", {"a/y": "y"}, branch="oct1")
    b.branch("oct2", m1)
    o2 = b.commit("oct two", {"b/z": "z"}, branch="oct2")
    files = {"a/x": "2", "a/y": "y", "b/z": "z", "c": "2", "d/e": "dir"}
    b.commit("octopus", parents=[b.head(), o1, o2], tree=files)
    b.commit("evil merge", parents=[b.head(), str(b.head("side"))], tree={**files, "a/evil": "!"})
    b.commit("d is a file again", {"d/e": None, "d": "file again"})
    b.commit("nothing", {})
    b.tag("annotated", m1, message="tag message\n")


def test_encoding_header_and_message_bytes_are_kept(tmp_path: Path) -> None:
    program = [
        Op(kind="commit", branch=0, changes=((0, 1),), message=1),
        Op(kind="commit", branch=0, changes=((4, 1),)),
    ]
    built = build_history(tmp_path / "src.git", program, encoding_header=True)
    got_map, got_refs, target = spinout_split(built.path, tmp_path / "sp", Rules.build("t", ["a/"], {}))
    head = pygit2.Repository(str(target)).head.peel(pygit2.Commit)
    raw = head.read_raw()
    assert b"\nencoding ISO-8859-1\n" in raw
    assert raw.endswith(b"\n\ncaf\xe9 latin-1 bytes\n")
    expected = filter_repo(built.path, tmp_path / "fr", ["a/"], {}, ["--preserve-commit-encoding"])
    assert (got_map, got_refs) == expected


@pytest.mark.parametrize(
    ("paths", "renames"),
    [(["a/"], {}), (["c"], {}), (["d"], {}), (["d/"], {"d/": "dd/"}), (["b/", "c"], {"b/": ""}), (["a/y"], {})],
)
def test_hand_built_history_matches_filter_repo(
    tmp_path: Path, repo_builder: Callable[..., RepoBuilder], paths: list[str], renames: dict[str, str]
) -> None:
    b = repo_builder("src", bare=True)
    _hand_built(b)
    expected_map, expected_refs = filter_repo(b.path, tmp_path / "fr", paths, renames)
    got_map, got_refs, _ = spinout_split(b.path, tmp_path / "sp", Rules.build("t", paths, renames))
    assert got_map == expected_map
    assert got_refs == expected_refs
    assert "0" * 40 in got_map.values() or paths == ["a/"]  # something was pruned: the case is not trivial
