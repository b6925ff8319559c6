"""The code stage's git adapter: read a target's tree, write the one commit `spinout rewrite` adds (pygit2).

Determinism: the commit's author and committer are the base commit's committer (name, email, time zone) at the
base commit's committer time + 1 s, and its message is fixed by the target's name and the rewrite's counts, so a
rerun on the same split gives the same commit id.

Reruns never stack: the commit message ends with the trailer `Spinout-Rewrite: <target>`; when the branch tip
carries it, the tip's first parent is the base and the tip is replaced (or kept, when the new commit is the same).
A non-bare target whose HEAD is that branch gets its work tree and index updated with a safe checkout (files the
user changed are not overwritten; libgit2 refuses instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import CheckoutStrategy, FileMode, RepositoryOpenFlag

from spinout.errors import ToolError, UnsafeSourceError

TRAILER = "Spinout-Rewrite"


@dataclass(frozen=True)
class Target:
    """A target repository's branch as the code stage sees it."""

    repo: pygit2.Repository
    ref: str
    tip: pygit2.Commit
    base: pygit2.Commit  # the tip, or the tip's parent when the tip is our own earlier commit
    previous: pygit2.Commit | None  # our own earlier commit, if any


def open_target(path: Path, ref: str, name: str) -> Target:
    """Open target `name` at `path` on branch `ref`, or say to run `spinout split` first."""
    if not path.exists():
        raise UnsafeSourceError(
            f"target {name!r} does not exist at {path}", hint="run `spinout split PLAN` first, then rewrite"
        )
    try:
        # NO_SEARCH: never walk up to an enclosing repository (an output dir inside the monorepo's checkout would
        # otherwise get the rewrite commit on the monorepo's own branch).
        repo = pygit2.Repository(str(path), RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError:
        raise UnsafeSourceError(
            f"target {name!r} at {path} is not a git repository", hint="run `spinout split PLAN`"
        ) from None
    reference = repo.references.get(ref)
    if reference is None:
        raise UnsafeSourceError(
            f"target {name!r} has no branch {ref}", hint="run `spinout split PLAN`; rewrite works on its main branch"
        )
    tip = reference.peel(pygit2.Commit)
    if own_commit(tip, name):
        if not tip.parents:
            raise UnsafeSourceError(f"target {name!r}: rewrite commit {tip.id} has no parent")
        return Target(repo, ref, tip, tip.parents[0], tip)
    return Target(repo, ref, tip, tip, None)


def own_commit(commit: pygit2.Commit, name: str) -> bool:
    return f"\n{TRAILER}: {name}\n" in "\n" + commit.message.rstrip("\n") + "\n"


def read_tree(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> dict[str, bytes]:
    """Every blob of `tree`, path → content (submodules skipped)."""
    out: dict[str, bytes] = {}
    for entry in tree:
        path = prefix + str(entry.name)
        if entry.type_str == "tree":
            out.update(read_tree(repo, repo[entry.id].peel(pygit2.Tree), path + "/"))
        elif entry.type_str == "blob":
            out[path] = repo[entry.id].peel(pygit2.Blob).data
    return out


def tree_paths(repo: pygit2.Repository, ref: str) -> tuple[list[str], pygit2.Commit]:
    reference = repo.references.get(ref)
    if reference is None:
        raise UnsafeSourceError(f"the source repository has no branch {ref}", hint="check source.main in the plan")
    commit = reference.peel(pygit2.Commit)
    index = pygit2.Index()
    index.read_tree(commit.tree)
    return [e.path for e in index], commit


def write_commit(target: Target, changes: Mapping[str, bytes | None], message: str) -> str:
    """Write the rewrite commit on the target's base and move the branch; return the new tip id.

    No change at all leaves the branch at the base (dropping an earlier rewrite commit that is no longer needed).
    """
    repo = target.repo
    index = pygit2.Index()
    index.read_tree(target.base.tree)
    for path, content in sorted(changes.items()):
        if content is None:
            if path in index:
                index.remove(path)
            continue
        mode = index[path].mode if path in index else FileMode.BLOB
        index.add(pygit2.IndexEntry(path, repo.create_blob(content), mode))
    tree_id = index.write_tree(repo)
    if tree_id == target.base.tree.id:
        new_id = target.base.id
    else:
        c = target.base.committer
        sig = pygit2.Signature(c.name, c.email, c.time + 1, c.offset)
        new_id = repo.create_commit(None, sig, sig, message, tree_id, [target.base.id])
    if new_id != target.tip.id:
        _move_branch(target, new_id)
    return str(new_id)


def _move_branch(target: Target, new_id: pygit2.Oid) -> None:
    repo = target.repo
    checkout = not repo.is_bare and not repo.head_is_unborn and repo.head.name == target.ref
    if checkout:
        try:
            repo.checkout_tree(repo[new_id], strategy=CheckoutStrategy.SAFE)  # type: ignore[no-untyped-call]
        except pygit2.GitError as exc:
            raise ToolError(
                f"could not update the work tree of {repo.workdir}: {exc}",
                hint="commit or discard local changes in the target, then rerun `spinout rewrite`",
            ) from None
    repo.references[target.ref].set_target(new_id, "spinout rewrite")
