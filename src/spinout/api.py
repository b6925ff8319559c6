"""The library front of spinout: one function per command, wiring plan, adapters and engines together.

`spinout.cli` is a thin layer over these functions. Each returns a result object (see `spinout.results`) and raises
`SpinoutError` subclasses for failures the user must fix.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from spinout.errors import PlanError, Problem, UnsafeSourceError
from spinout.plan.load import load_plan_lenient
from spinout.plan.model import Plan
from spinout.plan.validate import repo_problems
from spinout.progress import NullProgress, Progress
from spinout.repo import GitRepoView, open_repository
from spinout.results import PlanCheckResult, StepsResult
from spinout.sample import DEFAULT_COMMITS, DEFAULT_ROWS, SampleInfo, build_sample

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


# ---- demo -----------------------------------------------------------------------------------------------------

DemoStep = Callable[[SampleInfo, Progress], list[str]]


def _demo_plan_check(info: SampleInfo, progress: Progress) -> list[str]:
    return check_plan(info.plan, progress).lines()


# The stages the demo runs on the sample, in order; a stage adds itself here with one line and one function
# returning the lines that tell what it produced and where.
DEMO_STEPS: list[tuple[str, DemoStep]] = [
    ("plan check", _demo_plan_check),
]


def demo(
    dest: Path | None = None,
    *,
    commits: int = DEFAULT_COMMITS,
    rows: int = DEFAULT_ROWS,
    progress: Progress | None = None,
) -> StepsResult:
    """Build the sample into `dest` (default: a new temporary directory) and run every demo step on it."""
    progress = progress or NullProgress()
    if dest is None:
        dest = Path(tempfile.mkdtemp(prefix="spinout-demo-"))
        progress.note(f"building the sample in {dest}")
    info = build_sample(dest, commits=commits, rows=rows, progress=progress)
    hist = info.history
    steps: list[tuple[str, list[str]]] = [
        (
            "sample",
            [
                f"repository {info.repo}: {hist.commits} commits ({hist.merges} merges, {hist.empty} empty), "
                f"branches main, feature/lb-v2, stable/2013.2, "
                f"{len(hist.annotated_tags) + len(hist.lightweight_tags)} tags",
                f"database {info.database}: {sum(info.table_rows.values())} rows in {len(info.table_rows)} tables",
                f"config {info.config_dir}",
                f"plan {info.plan}",
            ],
        )
    ]
    for name, step in DEMO_STEPS:
        progress.note(f"demo: {name}")
        steps.append((name, step(info, progress)))
    steps.append(("done", [f"everything is in {info.root}", f"next: spinout plan check {info.plan}"]))
    data = {
        "ok": True,
        "dir": str(info.root),
        "repo": str(info.repo),
        "database": str(info.database),
        "config_dir": str(info.config_dir),
        "plan": str(info.plan),
        "commits": hist.commits,
        "rows": info.table_rows,
    }
    return StepsResult("demo", steps, data=data)


def rewrite(plan_path: Path, *, dry_run: bool = False, progress: Progress | None = None) -> RewriteResult:
    """`spinout rewrite`: one commit per split target (the service's split commit, the core's compat commit)."""
    from spinout.code.stage import run_rewrite  # libcst and pyflakes load only for this command

    plan = load_checked_plan(plan_path)
    return run_rewrite(plan, dry_run=dry_run, progress=progress or NullProgress())
