"""The boundary stage's commands over a loaded plan: which tree to look at, then generate, check or report.

Which tree: a work tree given with `--repo`; else the core's split target (`plan.target_dir(core.name)`, after the
split; a bare one is exported); else the source's main branch exported to a temporary directory (before the split:
what would break). The module map always comes from the source's main branch when it can be read — after the
split the moved files are gone from the core — and from the tree's own files otherwise. The coupling report always
looks at the monorepo (the services' code is not in the core).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from spinout.boundary.configfile import write_contracts
from spinout.boundary.contracts import build_boundary, check_boundary
from spinout.boundary.coupling import compute_coupling, svg
from spinout.boundary.results import CouplingResult, GuardCheckResult, GuardResult
from spinout.boundary.tree import Tree, Unparsable, export_tree, load_tree, python_files, repo_file_list, scratch_dir
from spinout.errors import UnsafeSourceError
from spinout.plan.model import Plan
from spinout.plan.modules import ModuleMap, build_module_map
from spinout.plan.places import write_conflict
from spinout.progress import Progress
from spinout.repo import source_dirs


@dataclass(frozen=True)
class Loaded:
    label: str  # what was analysed, for the user
    tree: Tree
    module_map: ModuleMap


def _is_work_tree(path: Path) -> bool:
    return (path / ".git").exists() or not (path / "HEAD").is_file()


@contextmanager
def open_tree(plan: Plan, repo: Path | None, progress: Progress, *, after_split: bool = True) -> Iterator[Loaded]:
    """Yield the tree to analyse (see the module docstring); temporary exports are removed afterwards.

    `after_split=False` skips the core's split target: the coupling report needs the services' code, which only
    the monorepo has.
    """
    root = plan.core.package.split(".")[0]
    source_files = repo_file_list(plan.source_repo, plan.source.main_ref)
    with tempfile.TemporaryDirectory(prefix="spinout-boundary-", dir=scratch_dir()) as tmp:
        core_target = plan.target_dir(plan.core.name)
        if repo is not None:
            where, label = repo.resolve(), str(repo)
        elif after_split and core_target.exists() and _is_work_tree(core_target):
            where, label = core_target, f"{core_target} (the core after the split)"
        elif after_split and core_target.exists():
            where, label = Path(tmp), f"{core_target} at HEAD (the core after the split)"
            export_tree(core_target, "HEAD", where, [root])
        else:
            where = Path(tmp)
            label = f"{plan.source_repo} at {plan.source.main_ref} (before the split)"
            export_tree(plan.source_repo, plan.source.main_ref, where, [root])
        progress.start("boundary", f"import graph of {label}")
        tree = load_tree(where, [root])
        files = source_files if source_files is not None else python_files(where, [root])
        module_map = build_module_map(plan, files)
        progress.finish("boundary", f"{len(tree.internal_modules())} modules in {label}")
        for u in tree.unparsable:
            progress.warn(f"left out (does not parse): {u}")
        yield Loaded(label, tree, module_map)


def guard(plan: Plan, repo: Path | None, progress: Progress) -> GuardResult:
    """Write the boundary contracts into the core's import-linter configuration."""
    target = repo.resolve() if repo is not None else plan.target_dir(plan.core.name)
    # the source, its .git directory or a directory inside it (a symlinked target resolves there too)
    inside = write_conflict(target, source_dirs(plan.source_repo))
    if inside is not None or (repo is None and not (target.exists() and _is_work_tree(target))):
        why = f"{inside}, which spinout never writes to" if inside is not None else ""
        raise UnsafeSourceError(
            f"no core work tree to write the contract into: {target} {why or 'is missing or bare'}".strip(),
            hint="run `spinout split PLAN` first, or pass --repo with a clone of the core",
        )
    with open_tree(plan, target, progress) as loaded:
        boundary = build_boundary(plan, loaded.tree.graph, loaded.module_map)
        written = write_contracts(target, boundary, plan.boundary.config)
        return GuardResult(
            loaded.label, written.path, written.created, written.changed, boundary, loaded.tree.unparsable
        )


def guard_check(plan: Plan, repo: Path | None, progress: Progress) -> GuardCheckResult:
    """Check the boundary on the tree: every violation, with lines and chains."""
    with open_tree(plan, repo, progress) as loaded:
        boundary = build_boundary(plan, loaded.tree.graph, loaded.module_map)
        violations = check_boundary(loaded.tree.graph, boundary)
        return GuardCheckResult(
            loaded.label, boundary, tuple(violations), loaded.tree.unparsable, len(loaded.tree.internal_modules())
        )


def coupling(plan: Plan, repo: Path | None, svg_path: Path | None, progress: Progress) -> CouplingResult:
    """The service → core coupling report; with `svg_path`, also a picture."""
    failed: list[Unparsable] = []
    with open_tree(plan, repo, progress, after_split=False) as loaded:
        couplings = tuple(compute_coupling(plan, loaded.tree, loaded.module_map, failed))
    for u in failed:
        progress.warn(f"left out of the names (does not parse): {u}")
    if svg_path is not None:
        svg_path.write_text(svg(couplings), encoding="utf-8")
    return CouplingResult(loaded.label, couplings, (*loaded.tree.unparsable, *failed), svg_path)
