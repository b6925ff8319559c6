"""The top-level-rename fast path of `TreeFilter` (plain filter, then root entries renamed) against git
filter-repo, and against the general (pieces) path where a renamed directory meets a kept entry of its new name:
there the fast path hands the root to the general path, which merges the two trees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.fixtures.repobuilder import RepoBuilder
from tests.unit.history.oracle import filter_repo, spinout_split

from spinout.history import rewrite
from spinout.history.router import Rules


def _history(b: RepoBuilder) -> None:
    root = b.commit("root", {"a/x": "1", "a/s/y": "1", "b/z": "1", "c": "1", "lib/w": "1"})
    b.commit("a changes", {"a/x": "2"})
    b.branch("side", root)
    side = b.commit("b and lib change", {"b/z": "2", "lib/w": "2"}, branch="side")
    b.commit("c only", {"c": "2"})
    b.commit(
        "merge side", parents=[str(b.head()), side], tree={"a/x": "2", "a/s/y": "1", "b/z": "2", "c": "2", "lib/w": "2"}
    )
    b.commit("a file named like the renamed directory", {"lib": "file", "lib/w": None})
    b.commit("a/s goes", {"a/s/y": None})
    b.tag("t1", str(b.head()), message="tag\n")


@pytest.mark.parametrize(
    ("paths", "renames"),
    [
        (["a/", "c"], {"a/": "lib/"}),  # lib/ and later a file `lib` exist, but are not kept
        (["a/", "lib"], {"a/": "lib/"}),  # the kept file `lib` and the renamed a/ never meet: lib/ is a tree
        (["a/", "lib/"], {"a/": "lib/"}),  # a/ lands on the kept lib/: the two merge
        (["a/s/", "b/"], {"b/": "bee/"}),
    ],
)
def test_top_level_renames_match_filter_repo(
    tmp_path: Path, repo_builder: Callable[..., RepoBuilder], paths: list[str], renames: dict[str, str]
) -> None:
    b = repo_builder("src", bare=True)
    _history(b)
    rules = Rules.build("t", paths, renames)
    assert rewrite._top_level_renames(rules) is not None  # the fast path is the one under test
    expected_map, expected_refs = filter_repo(b.path, tmp_path / "fr", paths, renames)
    got_map, got_refs, _ = spinout_split(b.path, tmp_path / "sp", rules)
    assert got_map == expected_map
    assert got_refs == expected_refs


@pytest.mark.parametrize("paths", [["a/", "lib/"], ["a/", "lib/", "c"]])
def test_a_renamed_directory_meeting_a_kept_one_gives_the_general_paths_result(
    tmp_path: Path, repo_builder: Callable[..., RepoBuilder], monkeypatch: pytest.MonkeyPatch, paths: list[str]
) -> None:
    b = repo_builder("src", bare=True)
    _history(b)
    renames = {"a/": "lib/"}
    assert rewrite._top_level_renames(Rules.build("t", paths, renames)) is not None
    fast = spinout_split(b.path, tmp_path / "fast", Rules.build("t", paths, renames))[:2]
    monkeypatch.setattr(rewrite, "_top_level_renames", lambda rules: None)
    general = spinout_split(b.path, tmp_path / "general", Rules.build("t", paths, renames))[:2]
    assert fast == general
    assert len(set(fast[0].values())) > 3  # commits were kept: the comparison is not between empty maps


def test_other_renames_take_the_general_path() -> None:
    assert rewrite._top_level_renames(Rules.build("t", ["a/"], {"a/": "lib/a/"})) is None
    assert rewrite._top_level_renames(Rules.build("t", ["a/s/"], {"a/s/": "s/"})) is None
    assert rewrite._top_level_renames(Rules.build("t", ["a/"], {"a/": ""})) is None
    assert rewrite._top_level_renames(Rules.build("t", ["c"], {"c": "d"})) is None
    assert rewrite._top_level_renames(Rules.build("t", ["a/"], {"a/": "b/"})) == {b"a": b"b"}
