"""The library front of spinout: one function per command, wiring plan, adapters and engines together.

`spinout.cli` is a thin layer over these functions. Each returns a result object (see `spinout.results`) and raises
`SpinoutError` subclasses for failures the user must fix.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from pathlib import Path

import pygit2

from spinout.errors import PlanError, Problem, UnsafeSourceError
from spinout.history import router as history_router
from spinout.history import split as history_split
from spinout.history import verify as history_verify
from spinout.plan.load import load_plan_lenient
from spinout.plan.model import Plan
from spinout.plan.validate import repo_problems
from spinout.progress import NullProgress, Progress
from spinout.repo import GitRepoView, open_repository
from spinout.results import PlanCheckResult


def check_plan(plan_path: Path, progress: Progress | None = None) -> PlanCheckResult:
    """Load a plan and check it against its source repository. Raises PlanError listing every problem."""
    progress = progress or NullProgress()
    progress.start("plan", f"checking {plan_path}")
    plan, problems = load_plan_lenient(plan_path)
    main_commit = _repo_summary(plan, str(plan_path), problems)
    progress.finish("plan", "plan is valid")
    return PlanCheckResult(plan_path=str(plan_path), plan=plan, main_commit=main_commit)


def load_checked_plan(plan_path: Path) -> Plan:
    """A plan that passed both the static and the repository checks."""
    plan, problems = load_plan_lenient(plan_path)
    _repo_summary(plan, str(plan_path), problems)
    return plan


def _repo_summary(plan: Plan, source: str, static: list[Problem]) -> str:
    """Check the plan against its repository; raise with the static and repository problems together;
    return the main branch's commit id."""
    try:
        repo = open_repository(plan.source_repo)
    except UnsafeSourceError as exc:  # an unusable source repo is a plan problem at source.repo
        raise PlanError([*static, Problem("source.repo", exc.message)], source=source) from None
    view = GitRepoView(repo)
    problems = [*static, *repo_problems(plan, view)]
    if problems:
        raise PlanError(problems, source=source)
    return view.resolve(plan.source.main_ref) or ""


# --- history stage --------------------------------------------------------------------------------------------


def _earlier_names(plan: Plan, repo: pygit2.Repository, progress: Progress) -> dict[str, dict[str, str]]:
    """For services with follow_renames: old path → current path, from the renames engine when it is present."""
    wanted = [s for s in plan.service if s.follow_renames]
    if not wanted:
        return {}
    try:
        module = importlib.import_module("spinout.history.renames")
    except ImportError:
        progress.warn("follow_renames is set but this build has no rename detection; old names are not followed")
        return {}
    find: Callable[..., dict[str, list[str]]] = module.find_earlier_names
    tips = [str(t.hex()) for t in history_split.resolve_refs(repo, plan.source.refs).values()]
    out: dict[str, dict[str, str]] = {}
    for service in wanted:
        progress.start(f"renames:{service.name}", f"finding earlier names of {service.name}'s files")
        found = history_router.old_name_map(find(repo, list(service.paths), tips))
        out[service.name] = found
        progress.finish(f"renames:{service.name}", f"{len(found)} earlier names")
    return out


def split(
    plan_path: Path, *, force: bool = False, verify: bool = False, progress: Progress | None = None
) -> history_split.SplitResult | history_verify.VerifyResult:
    """`spinout split PLAN`: every target in one walk of the source history; with `verify`, audit it after."""
    progress = progress or NullProgress()
    plan = load_checked_plan(plan_path)
    repo = open_repository(plan.source_repo)
    specs = history_split.targets_from_plan(plan, _earlier_names(plan, repo, progress))
    result = history_split.split(repo, specs, force=force, progress=progress)
    for spec, report in zip(specs, result.targets, strict=True):
        report.followed = [old for old, _ in spec.rules.old_names]
    if verify:
        checked = history_verify.verify(repo, specs, progress)
        if checked.exit_code:
            return checked
        result = dataclasses.replace(result, verified=checked.checked)
    return result


def verify_split(plan_path: Path, progress: Progress | None = None) -> history_verify.VerifyResult:
    """`spinout verify-split PLAN`: re-derive every kept commit's tree from the source and compare."""
    progress = progress or NullProgress()
    plan = load_checked_plan(plan_path)
    repo = open_repository(plan.source_repo)
    specs = history_split.targets_from_plan(plan, _earlier_names(plan, repo, progress))
    return history_verify.verify(repo, specs, progress)
