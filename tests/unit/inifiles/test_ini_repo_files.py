"""GitRepoView.files: the file list the module map is derived from, checked against `git ls-tree`."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from tests.fixtures.repobuilder import RepoBuilder

from spinout.repo import GitRepoView


def test_files_equal_git_ls_tree(repo_builder: Callable[..., RepoBuilder]) -> None:
    rb = repo_builder("src")
    rb.commit("one", {"a/b/c.py": "x", "a/d.py": "y", "top.txt": "z", "e/f/g/h.ini": "[s]\n"})
    rb.commit("two", {"a/d.py": None, "a/b/i.py": "w"})
    git = subprocess.run(
        ["git", "-C", str(rb.path), "ls-tree", "-r", "--name-only", "refs/heads/main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    view = GitRepoView(rb.repo)
    assert view.files("refs/heads/main") == sorted(git)
    assert view.files("refs/heads/nope") is None
