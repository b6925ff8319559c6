"""The library front of spinout: one function per command, wiring plan, adapters and engines together.

`spinout.cli` is a thin layer over these functions. Each returns a result object (see `spinout.results`) and raises
`SpinoutError` subclasses for failures the user must fix.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from spinout.boundary import stage as boundary_stage
from spinout.boundary.results import CouplingResult, GuardCheckResult, GuardResult
from spinout.errors import PlanError, Problem, UnsafeSourceError
from spinout.plan.load import load_plan, load_plan_lenient
from spinout.plan.model import Plan
from spinout.plan.validate import repo_problems
from spinout.progress import NullProgress, Progress
from spinout.repo import GitRepoView, open_repository
from spinout.results import PlanCheckResult, StepsResult
from spinout.sample import DEFAULT_COMMITS, DEFAULT_ROWS, SampleInfo, build_sample


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
def _demo_boundary(info: SampleInfo, progress: Progress) -> list[str]:
    # before the split: what would break, and how the services use the core (findings do not fail the demo)
    plan = load_plan(info.plan)
    check = boundary_stage.guard_check(plan, None, progress)
    coupling = boundary_stage.coupling(plan, None, None, progress)
    lines = [line for line in check.lines() if not line.startswith("    ")]  # chains: see guard check
    for svc in coupling.services:
        private = sum(1 for row in svc.modules for n in row["names"] if n["private"])
        lines.append(
            f"coupling {svc.service}: {len(svc.modules)} core modules, {svc.names_count()} names, {private} private"
        )
    lines.append(f"details: spinout guard check {info.plan}; spinout coupling {info.plan} --svg coupling.svg")
    return lines


DEMO_STEPS: list[tuple[str, DemoStep]] = [
    ("plan check", _demo_plan_check),
    ("boundary", _demo_boundary),
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


# --- boundary stage ---------------------------------------------------------------------------------------------


def guard(plan_path: Path, repo: Path | None = None, progress: Progress | None = None) -> GuardResult:
    """`spinout guard PLAN`: write the import-linter contract keeping the core from importing the services."""
    return boundary_stage.guard(load_plan(plan_path), repo, progress or NullProgress())


def guard_check(plan_path: Path, repo: Path | None = None, progress: Progress | None = None) -> GuardCheckResult:
    """`spinout guard check PLAN`: run the contract on the monorepo (before the split) or the core (after)."""
    return boundary_stage.guard_check(load_plan(plan_path), repo, progress or NullProgress())


def coupling(
    plan_path: Path, repo: Path | None = None, svg: Path | None = None, progress: Progress | None = None
) -> CouplingResult:
    """`spinout coupling PLAN`: where each service uses the core."""
    return boundary_stage.coupling(load_plan(plan_path), repo, svg, progress or NullProgress())
