"""The split with follow_renames: trivial files bring no unrelated history into a target (Django's comments case),
and the summary lists every followed earlier name or says how many it leaves out and where the full list is."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from spinout import api
from spinout.cli import main
from spinout.history.split import FOLLOWED_SHOWN
from tests.fixtures.repobuilder import RepoBuilder
from tests.unit.history.test_follow_renames_trivial import _django_comments_shape, lines

PLAN = """
[source]
repo = "src"
refs = ["refs/heads/main"]

[core]
name = "proj"
package = "proj"

[[service]]
name = "{name}"
package = "{package}"
paths = ["{path}"]
follow_renames = true

[output]
dir = "out"
"""


def _plan(tmp_path: Path, name: str, path: str) -> Path:
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.format(name=name, package=name.replace("-", "_"), path=path))
    return plan


def test_the_comments_repository_gets_no_aggregation_commit(
    tmp_path: Path, repo_builder: Callable[..., RepoBuilder]
) -> None:
    _django_comments_shape(repo_builder("src"))
    result = api.split(_plan(tmp_path, "comments", "tests/comment_tests/"))
    target = pygit2.Repository(str(tmp_path / "out" / "comments"))
    messages = [c.message for c in target.walk(target.head.target)]
    # the true predecessor's history, and not the unrelated 2009 commit git's pairing would bring in
    assert messages == [
        "Removed the distinction between modeltests and regressiontests",
        "more comment tests",
        "comment tests",
    ]
    (report,) = [t for t in result.targets if t.name == "comments"]
    assert report.followed == [
        "tests/regressiontests/comment_tests/__init__.py",
        "tests/regressiontests/comment_tests/models.py",
        "tests/regressiontests/comment_tests/tests.py",
    ]


@pytest.mark.parametrize("files", [FOLLOWED_SHOWN, FOLLOWED_SHOWN + 3])
def test_the_summary_lists_every_followed_name_or_says_how_many_it_leaves_out(
    tmp_path: Path, repo_builder: Callable[..., RepoBuilder], capsys: pytest.CaptureFixture[str], files: int
) -> None:
    b = repo_builder("src")
    old = {f"old/m{i:02}.py": lines(10, f"m{i}") for i in range(files)}
    b.commit("old", {"README": "r\n", **old})
    b.commit("move", {**dict.fromkeys(old), **{f"new/m{i:02}.py": lines(10, f"m{i}") for i in range(files)}})
    plan = _plan(tmp_path, "mods", "new/")
    assert main(["split", str(plan)]) == 0
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if "followed" in line]
    full = tmp_path / "out" / "mods" / ".git" / "spinout" / api.FOLLOWED_NAMES
    assert full.read_text().splitlines()[1:] == [f"old/m{i:02}.py -> new/m{i:02}.py" for i in range(files)]
    shown = ", ".join(f"old/m{i:02}.py" for i in range(FOLLOWED_SHOWN))
    if files == FOLLOWED_SHOWN:
        assert line == f"  followed {files} earlier names: {shown}"
    else:
        assert line == f"  followed {files} earlier names: {shown}, … and 3 more (all in {full} and in --json)"
    assert main(["split", str(plan), "--json"]) == 0
    (target,) = [t for t in json.loads(capsys.readouterr().out)["targets"] if t["name"] == "mods"]
    assert target["followed"] == sorted(old)
    assert Path(target["path"], target["followed_file"]) == full
    assert target["followed_file"] == ".git/spinout/followed-names.txt"
