"""Where spinout may write, and what it may replace: pure decisions over real (resolved) paths.

spinout never writes into the source repository (its work tree, its git directory, the common directory of a linked
work tree). A split target is replaced as a whole (`split --force`, or a first run that stopped half-way), so it may
also not contain the source, nor be or contain the plan's own folder (the plan, and usually the database and config
beside it). Every caller compares real paths: symlinks and `..` resolved, so that `out/acme -> ../acme` is the
source. docs/plan.md states the rules; `spinout.plan.validate` applies them in `plan check`, the history stage again
right before it removes anything, the other stages before they write into a directory the user named.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

SOURCE = "the source repository"
PLAN_FOLDER = "the plan's folder"


def real(path: Path) -> Path:
    """`path` with every symlink and `..` resolved (the parts that do not exist yet are kept as written)."""
    return Path(os.path.realpath(path))


def write_conflict(directory: Path, source_dirs: Iterable[Path]) -> str | None:
    """Why spinout may not write into `directory` (it is, or lies inside, the source repository), or None."""
    where = real(directory)
    sources = [real(s) for s in source_dirs]
    for src in sources:
        if where == src:
            return f"is {SOURCE} {str(src)!r}"
    for src in sources:
        if where.is_relative_to(src):
            return f"is inside {SOURCE} {str(src)!r}"
    return None


def removal_conflict(directory: Path, source_dirs: Iterable[Path], plan_dir: Path | None) -> str | None:
    """Why `directory` may not be written nor replaced as a whole: it is, lies inside or contains the source
    repository, or it is or contains the plan's folder (a target may lie inside the plan's folder). None if it may."""
    sources = [real(s) for s in source_dirs]
    why = write_conflict(directory, sources)
    if why is not None:
        return why
    where = real(directory)
    for src in sources:
        if src.is_relative_to(where):
            return f"contains {SOURCE} {str(src)!r}"
    if plan_dir is not None:
        folder = real(plan_dir)
        if folder == where:
            return f"is {PLAN_FOLDER} {str(folder)!r}"
        if folder.is_relative_to(where):
            return f"contains {PLAN_FOLDER} {str(folder)!r}"
    return None
