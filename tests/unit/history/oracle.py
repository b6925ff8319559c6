"""The differential oracle: run git filter-repo on a fresh clone and spinout on the source; read both results."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pygit2

from spinout.history.commitmap import read_map
from spinout.history.router import Rules
from spinout.history.split import TargetSpec, split
from spinout.progress import NullProgress

FILTER_REPO = str(Path(sys.executable).parent / "git-filter-repo")
ALL_REFS = ("refs/heads/*", "refs/tags/*")


def git_refs(git_dir: Path) -> dict[str, str]:
    out = subprocess.run(
        ["git", "--git-dir", str(git_dir), "for-each-ref", "--format=%(refname) %(objectname)"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    refs = dict(line.split(" ", 1)[::-1][::-1] for line in out.splitlines())  # type: ignore[misc]
    return {k: v for k, v in refs.items() if k.startswith(("refs/heads/", "refs/tags/"))}


def filter_repo(
    source: Path, work: Path, paths: Sequence[str], renames: Mapping[str, str], extra: Sequence[str] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """(commit-map, refs) of `git filter-repo --path ... --path-rename ...` run on a fresh clone of `source`."""
    clone = work / "filter-repo-clone"
    subprocess.run(["git", "clone", "-q", "--no-local", str(source), str(clone)], check=True, capture_output=True)
    args = [FILTER_REPO, "--force", "--quiet", *extra]
    # A plan path without a trailing '/' is exactly one file; filter-repo's --path would also take a directory
    # of that name, so say "exactly this file" with an anchored regex.
    args += [f"--path={p}" if p.endswith("/") else f"--path-regex=^{re.escape(p)}$" for p in paths]
    args += [f"--path-rename={old}:{new}" for old, new in renames.items()]
    subprocess.run(args, cwd=clone, check=True, capture_output=True)
    return read_map(clone / ".git" / "filter-repo" / "commit-map"), git_refs(clone / ".git")


def spinout_split(
    source: Path, work: Path, rules: Rules, refs: Sequence[str] = ALL_REFS, main: str = "refs/heads/main"
) -> tuple[dict[str, str], dict[str, str], Path]:
    """(commit-map, refs, git dir) of spinout's split of `source` into one bare target under `work`."""
    target = work / "spinout-target"
    spec = TargetSpec(rules.name, target, rules, tuple(refs), main, bare=True)
    split(pygit2.Repository(str(source)), [spec], force=False, progress=NullProgress())
    return read_map(target / "spinout" / "commit-map"), git_refs(target), target
