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


def _files(repo: pygit2.Repository, tree: pygit2.Tree, prefix: bytes = b"") -> dict[bytes, tuple[int, bytes]]:
    out: dict[bytes, tuple[int, bytes]] = {}
    for entry in tree:
        path = prefix + entry.raw_name
        obj = repo[entry.id] if entry.filemode == pygit2.GIT_FILEMODE_TREE else None
        if isinstance(obj, pygit2.Tree):
            out.update(_files(repo, obj, path + b"/"))
        else:
            out[path] = (int(entry.filemode), entry.id.raw)
    return out


def expected_files(
    repo: pygit2.Repository, commit: str, paths: Sequence[str], renames: Mapping[str, str]
) -> dict[bytes, tuple[int, bytes]]:
    """The files of source `commit` a target keeps, at their renamed paths: the plain definition of a filtered
    tree (every file, kept by prefix or exact name, renamed by the longest matching prefix), independent of both
    tools."""
    keep = [p.encode() for p in paths]
    moves = sorted(((o.encode(), n.encode()) for o, n in renames.items()), key=lambda m: -len(m[0]))
    out: dict[bytes, tuple[int, bytes]] = {}
    for path, entry in _files(repo, repo[commit].peel(pygit2.Tree)).items():
        if not any(path.startswith(k) if k.endswith(b"/") else path == k for k in keep):
            continue
        for old, new in moves:
            if path.startswith(old):
                path = new + path[len(old) :]
                break
        out[path] = entry
    return out


def unfaithful_commits(
    source: Path, target: Path, commit_map: Mapping[str, str], paths: Sequence[str], renames: Mapping[str, str]
) -> list[str]:
    """Source commits whose rewritten commit in `target` (a git dir) does not hold exactly the files the plain
    definition keeps (`expected_files`)."""
    src, dst = pygit2.Repository(str(source)), pygit2.Repository(str(target))
    bad = []
    for old, new in commit_map.items():
        if set(new) == {"0"} or old == "old":
            continue
        got = _files(dst, dst[new].peel(pygit2.Tree))
        if got != expected_files(src, old, paths, renames):
            bad.append(old)
    return bad


def spinout_split(
    source: Path, work: Path, rules: Rules, refs: Sequence[str] = ALL_REFS, main: str = "refs/heads/main"
) -> tuple[dict[str, str], dict[str, str], Path]:
    """(commit-map, refs, git dir) of spinout's split of `source` into one bare target under `work`."""
    target = work / "spinout-target"
    spec = TargetSpec(rules.name, target, rules, tuple(refs), main, bare=True)
    split(pygit2.Repository(str(source)), [spec], force=False, progress=NullProgress())
    return read_map(target / "spinout" / "commit-map"), git_refs(target), target
