"""Adapter: the Python tree the boundary stage looks at, and its import graph (grimp).

The tree is a directory holding the core's top-level package: a work tree given by the user, a split target, or
the source's main branch exported to a temporary directory (`export_tree`; the source repository is only read).
`load_tree` builds grimp's graph of it. A file grimp cannot parse (Python 2 code, say) would stop grimp
altogether, so such files are found, reported and left out: the graph is then built from a copy of the tree
without them.
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import grimp
import pygit2
from grimp.exceptions import SourceSyntaxError

from spinout.errors import PlanError, Problem, ToolError, UnsafeSourceError

SCAN_AFTER = 3  # unparsable files found one grimp build at a time before parsing every file instead


@dataclass(frozen=True)
class Unparsable:
    """A file left out of the graph because it does not parse as Python 3."""

    path: str  # relative to the tree, with '/'
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Tree:
    """A directory of Python packages with the import graph of its root packages."""

    root: Path
    packages: tuple[str, ...]
    graph: grimp.ImportGraph
    unparsable: tuple[Unparsable, ...]
    files: tuple[str, ...]  # the .py files under the root packages, relative, '/'-separated

    def internal_modules(self) -> set[str]:
        """The graph's modules that belong to the root packages (not squashed externals)."""
        return {m for m in self.graph.modules if m.split(".")[0] in self.packages}

    def source_of(self, module: str) -> Path | None:
        """The file defining `module` in this tree, if there is one."""
        base = self.root.joinpath(*module.split("."))
        for candidate in (base / "__init__.py", base.with_name(base.name + ".py")):
            if candidate.is_file():
                return candidate
        return None


def python_files(root: Path, packages: Sequence[str]) -> list[str]:
    """Every .py file under the top-level package directories, relative to `root`, sorted."""
    out: list[str] = []
    base = len(str(root)) + 1
    for package in packages:
        for dirpath, dirnames, filenames in os.walk(root / package):
            # hidden directories and caches are never part of a package
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
            rel = dirpath[base:].replace(os.sep, "/")
            out.extend(f"{rel}/{name}" for name in filenames if name.endswith(".py"))
    return sorted(out)


def _parse_problem(root: Path, rel: str) -> Unparsable | None:
    try:
        source = (root / rel).read_bytes()
        ast.parse(source, filename=rel)
    except SyntaxError as exc:
        return Unparsable(rel, exc.lineno, exc.msg)
    except (ValueError, UnicodeDecodeError) as exc:  # null bytes, undecodable source
        return Unparsable(rel, None, str(exc))
    return None


@contextmanager
def _on_sys_path(directory: Path) -> Iterator[None]:
    # grimp finds packages through importlib, i.e. on sys.path; put the tree first so that it wins over any
    # installed package of the same name, and take it off again afterwards.
    entry = str(directory)
    sys.path.insert(0, entry)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(entry)
        importlib.invalidate_caches()


def _build(root: Path, packages: Sequence[str], include_external: bool) -> grimp.ImportGraph:
    for package in packages:
        if package in sys.modules:
            # importlib would answer with the already imported module, not the one in this tree
            raise ToolError(
                f"package {package!r} is imported by the running Python, so the tree's copy cannot be analysed",
                hint="run spinout from an environment where the core package is not imported",
            )
    with _on_sys_path(root):
        return grimp.build_graph(*packages, include_external_packages=include_external, cache_dir=None)


def scratch_dir() -> str | None:
    """Where temporary copies of a tree go: /dev/shm (RAM) on Linux unless TMPDIR says otherwise.

    Creating a thousand small files on a disk-backed /tmp can take longer than everything else the check does.
    """
    if "TMPDIR" not in os.environ and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    return None


def _copy_without(root: Path, files: Sequence[str], skip: set[str], dest: Path) -> None:
    for rel in files:
        if rel in skip:
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, target)


def load_tree(root: Path, packages: Sequence[str], *, include_external: bool = True) -> Tree:
    """Build the import graph of `packages` under `root`, leaving out (and reporting) files that do not parse."""
    root = root.resolve()
    missing = [p for p in packages if not (root / p).is_dir()]
    if missing:
        raise PlanError(
            [Problem("core.package", f"package directory {root / m} does not exist") for m in missing],
        )
    files = python_files(root, packages)
    try:
        graph = _build(root, packages, include_external)
        return Tree(root, tuple(packages), graph, (), tuple(files))
    except SourceSyntaxError as exc:
        first = exc
    # Slow path, only for trees with unparsable files: grimp stops at the first one, so build from a copy of the
    # tree and delete each file grimp rejects from the copy until it goes through. One build per bad file is the
    # cheapest way for a tree with a few; past SCAN_AFTER of them, Python's parser finds the rest in one pass over
    # the files (much slower than a build, but bounded). Python's own parser also words the report.
    bad: dict[str, Unparsable] = {}
    with tempfile.TemporaryDirectory(prefix="spinout-tree-", dir=scratch_dir()) as tmp:
        copy = Path(tmp)
        _copy_without(root, files, set(), copy)
        error: SourceSyntaxError | None = first
        for _attempt in range(len(files) + 1):
            if error is not None:
                rel = _relative(error.filename, (root, copy))
                if rel is None or rel in bad:  # grimp misreports; avoid looping forever
                    raise ToolError(f"grimp keeps failing on {error.filename}", hint="report this with the file")
                bad[rel] = _parse_problem(root, rel) or Unparsable(rel, error.lineno, "syntax error")
                (copy / rel).unlink()
                if len(bad) == SCAN_AFTER:
                    for other in files:
                        problem = None if other in bad else _parse_problem(root, other)
                        if problem is not None:
                            bad[other] = problem
                            (copy / other).unlink()
            try:
                graph = _build(copy, packages, include_external)
            except SourceSyntaxError as exc:
                error = exc
                continue
            return Tree(root, tuple(packages), graph, tuple(bad[k] for k in sorted(bad)), tuple(files))
    raise ToolError("could not build the import graph", hint="run with --debug and report the traceback")


def _relative(filename: str, bases: Sequence[Path]) -> str | None:
    path = Path(filename).resolve()
    for base in bases:
        try:
            return path.relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return None


def _subtree(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Tree:
    tree = repo[oid]
    assert isinstance(tree, pygit2.Tree)
    return tree


def export_tree(repo_path: Path, ref: str, dest: Path, packages: Sequence[str]) -> list[str]:
    """Write the .py files under `packages` at `ref` of a repository into `dest`; return every file path at `ref`.

    Only reads the repository. The full path list (not only .py files) is what the module map is derived from.
    """
    try:
        repo = pygit2.Repository(str(repo_path))
        commit = repo.revparse_single(ref).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise UnsafeSourceError(
            f"cannot read {ref} of {repo_path}: {exc}", hint="check source.repo and source.main in the plan"
        ) from None
    all_paths: list[str] = []
    tops = set(packages)

    def walk(tree: pygit2.Tree, prefix: str) -> None:
        # type_str comes from the tree entry: only subtrees and the blobs written are read from the object store
        for entry in tree:
            path = f"{prefix}{entry.name}"
            if entry.type_str == "tree":
                walk(_subtree(repo, entry.id), path + "/")
            elif entry.type_str == "blob":
                all_paths.append(path)
                if path.endswith(".py") and path.split("/", 1)[0] in tops:
                    target = dest / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(repo[entry.id].read_raw())

    walk(commit.tree, "")
    return sorted(all_paths)


def repo_file_list(repo_path: Path, ref: str) -> list[str] | None:
    """Every file path at `ref` of a repository, or None if it cannot be read (then callers use the tree's)."""
    try:
        repo = pygit2.Repository(str(repo_path))
        commit = repo.revparse_single(ref).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return None
    out: list[str] = []

    def walk(tree: pygit2.Tree, prefix: str) -> None:
        for entry in tree:
            if entry.type_str == "tree":
                walk(_subtree(repo, entry.id), f"{prefix}{entry.name}/")
            elif entry.type_str == "blob":
                out.append(f"{prefix}{entry.name}")

    walk(commit.tree, "")
    return sorted(out)
