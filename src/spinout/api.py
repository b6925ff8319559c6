"""The library front of spinout: one function per command, wiring plan, adapters and engines together.

`spinout.cli` is a thin layer over these functions. Each returns a result object (see `spinout.results`) and raises
`SpinoutError` subclasses for failures the user must fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from spinout.errors import PlanError, Problem, UnsafeSourceError
from spinout.plan.load import load_plan_lenient
from spinout.plan.model import Plan
from spinout.plan.validate import repo_problems
from spinout.progress import NullProgress, Progress
from spinout.repo import GitRepoView, open_repository
from spinout.results import PlanCheckResult

if TYPE_CHECKING:
    from spinout.code.stage import RewriteResult


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


def rewrite(plan_path: Path, *, dry_run: bool = False, progress: Progress | None = None) -> RewriteResult:
    """`spinout rewrite`: one commit per split target (the service's split commit, the core's compat commit)."""
    from spinout.code.stage import run_rewrite  # libcst and pyflakes load only for this command

    plan = load_checked_plan(plan_path)
    return run_rewrite(plan, dry_run=dry_run, progress=progress or NullProgress())
