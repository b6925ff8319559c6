"""Read-only pygit2 views of a repository, shared by the stages that need to look at the source.

Nothing here writes: the source repository is never modified.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Literal

import pygit2

from spinout.errors import UnsafeSourceError

# The variables through which git (and a git alias or hook that runs spinout) points a git command at a repository,
# an index, an object store or a configuration: `git rev-parse --local-env-vars` and their relatives. Inherited
# by a git subprocess, GIT_DIR / GIT_WORK_TREE would make `git reset --hard` in a target act on the source.
GIT_REPOSITORY_VARIABLES = frozenset(
    {
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_CONFIG",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_PARAMETERS",
        "GIT_DIR",
        "GIT_GRAFT_FILE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_INTERNAL_SUPER_PREFIX",
        "GIT_NAMESPACE",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_OBJECT_DIRECTORY",
        "GIT_PREFIX",
        "GIT_QUARANTINE_PATH",
        "GIT_REPLACE_REF_BASE",
        "GIT_SHALLOW_FILE",
        "GIT_WORK_TREE",
    }
)


def git_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for every git subprocess spinout runs: `base` (default: this process's) without git's
    repository variables (each command names its repository with --git-dir / -C instead), `GIT_CONFIG_KEY_n` /
    `GIT_CONFIG_VALUE_n` pairs dropped with their count, and replace refs ignored (`GIT_NO_REPLACE_OBJECTS`): libgit2,
    which reads the same objects, never applies them, so git and libgit2 must not disagree about a commit's parents."""
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if key not in GIT_REPOSITORY_VARIABLES and not key.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    return env


def scrub_git_environment() -> None:
    """Remove git's repository variables from this process's environment (the command line does it at start, so
    that nothing spinout runs, forks or loads can inherit them)."""
    for key in list(os.environ):
        if key in GIT_REPOSITORY_VARIABLES or key.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")):
            del os.environ[key]


def open_repository(path: Path, *, what: str = "source repository") -> pygit2.Repository:
    """Open a repository, or raise a located error saying what to do."""
    try:
        exists = path.exists()
    except OSError as exc:  # a name too long, a loop of links: not a repository spinout can open
        raise UnsafeSourceError(
            f"{what} {str(path)!r} cannot be read: {exc.strerror}", hint="check source.repo"
        ) from exc
    if not exists:
        raise UnsafeSourceError(f"{what} {str(path)!r} does not exist", hint="check source.repo in the plan")
    try:
        found = pygit2.discover_repository(str(path))
    except pygit2.GitError:
        found = None
    if found is None:
        raise UnsafeSourceError(f"{what} {str(path)!r} is not a git repository", hint="check source.repo in the plan")
    repo = pygit2.Repository(found)
    # discover_repository walks up from `path`; a directory inside a repository is not that repository.
    top = Path(repo.workdir if repo.workdir else repo.path).resolve()
    if path.resolve() not in (top, Path(repo.path).resolve()):
        raise UnsafeSourceError(
            f"{what} {str(path)!r} is a directory inside the git repository {str(top)!r}, not a repository",
            hint="point source.repo at the repository's top directory",
        )
    return repo


def repository_dirs(repo: pygit2.Repository) -> tuple[Path, ...]:
    """The real directories that make up `repo`, which spinout never writes into: its work tree (none if bare), its
    git directory and, for a linked work tree, the main repository's git directory (objects and refs live there) and
    the main work tree above it."""
    git_dir = Path(repo.path).resolve()
    dirs = [Path(repo.workdir).resolve()] if repo.workdir else []
    dirs.append(git_dir)
    try:
        common = (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        common = ""
    if common:
        main_git_dir = (git_dir / common).resolve()
        dirs.append(main_git_dir)
        if main_git_dir.name == ".git":
            dirs.append(main_git_dir.parent)
    return tuple(dict.fromkeys(dirs))


def source_dirs(path: Path) -> tuple[Path, ...]:
    """The real directories of the repository the plan names at `path` (`repository_dirs`, with `path` itself):
    where spinout never writes. A directory inside a repository stands for that repository; a path in no repository
    at all protects nothing (there is no source to keep; `plan check` says so)."""
    try:
        repo = open_repository(path)
    except UnsafeSourceError:
        try:
            found = pygit2.discover_repository(str(path))
        except (pygit2.GitError, OSError, ValueError):
            found = None
        if found is None:
            return ()
        repo = pygit2.Repository(found)
    return tuple(dict.fromkeys((path.resolve(), *repository_dirs(repo))))


class GitRepoView:
    """`spinout.plan.validate.RepoView` over pygit2."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self._repo = repo

    def ref_names(self) -> list[str]:
        return sorted(r for r in self._repo.references if r.startswith("refs/"))

    def resolve(self, ref: str) -> str | None:
        try:
            reference = self._repo.references.get(ref)
            if reference is None:
                return None
            commit = reference.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            return None
        return str(commit.id)

    def kind_at(self, ref: str, path: str) -> Literal["tree", "blob"] | None:
        commit_id = self.resolve(ref)
        if commit_id is None:
            return None
        tree = self._repo[commit_id].peel(pygit2.Tree)
        try:
            entry = tree[path]
        except KeyError:
            return None
        return "tree" if entry.type_str == "tree" else "blob"

    def directories(self) -> tuple[Path, ...]:
        return repository_dirs(self._repo)

    def files_in_history(self, refs: Sequence[str], paths: Collection[str]) -> set[str]:
        """Which of `paths` were a file (blob) in some commit reachable from `refs` (the rest: never)."""
        want = set(paths)
        found: set[str] = set()
        walker = None
        for ref in refs:
            commit_id = self.resolve(ref)
            if commit_id is None:
                continue
            if walker is None:
                walker = self._repo.walk(commit_id)
            else:
                walker.push(commit_id)
        seen: set[pygit2.Oid] = set()
        for commit in walker or ():
            if not want:
                break
            if commit.tree_id in seen:
                continue
            seen.add(commit.tree_id)
            tree = commit.tree
            for path in list(want):
                try:
                    entry = tree[path]
                except KeyError:
                    continue
                if entry.type_str == "blob":
                    found.add(path)
                    want.discard(path)
        return found

    def is_shallow(self) -> bool:
        return bool(self._repo.is_shallow)

    def files(self, ref: str) -> list[str] | None:
        """Every file path in the tree of `ref` (sorted), or None if `ref` does not resolve."""
        commit_id = self.resolve(ref)
        if commit_id is None:
            return None
        out: list[str] = []
        stack = [("", self._repo[commit_id].peel(pygit2.Tree))]
        while stack:
            prefix, tree = stack.pop()
            for entry in tree:
                path = prefix + (entry.name or "")
                if entry.type_str == "tree":
                    stack.append((path + "/", self._repo[entry.id].peel(pygit2.Tree)))
                else:
                    out.append(path)
        return sorted(out)


def drop_repository(repo: pygit2.Repository) -> None:
    """Let `repo` be freed as soon as the caller drops it: a pygit2 Repository refers to itself through its
    collections (`branches`, `references`, ...), a cycle only the garbage collector would break, late."""
    vars(repo).clear()


def release_native_memory() -> None:
    """Give the C heap's free memory back to the system (glibc's malloc_trim), e.g. after a libgit2 walk whose
    repository has been dropped (`drop_repository`): its object cache is freed, but glibc keeps the pages. Forked
    workers then do not inherit them. Nothing where the C library has no malloc_trim."""
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return
    trim(0)
