"""The library front of spinout: one function per command, wiring plan, adapters and engines together.

`spinout.cli` is a thin layer over these functions. Each returns a result object (see `spinout.results`) and raises
`SpinoutError` subclasses for failures the user must fix.
"""

from __future__ import annotations

from pathlib import Path

from spinout.data import commands as data_commands
from spinout.errors import PlanError, Problem, UnsafeSourceError
from spinout.plan.load import load_plan, load_plan_lenient
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


# -- data stage (spinout db ...) -----------------------------------------------------------------------------------


def db_plan(plan_path: Path, db_url: str, progress: Progress | None = None) -> data_commands.DbPlanResult:
    """Reflect the source database and classify its tables and foreign keys per the plan."""
    return data_commands.db_plan(load_plan(plan_path), db_url, progress or NullProgress())


def db_migrations(
    plan_path: Path, db_url: str, out: Path, core_alembic: Path | None = None, progress: Progress | None = None
) -> data_commands.MigrationsResult:
    """Write an alembic environment per service (and the core's strip revision) into `out`."""
    plan = load_plan(plan_path)
    return data_commands.db_migrations(plan, db_url, out, core_alembic, progress or NullProgress())


def db_copy(
    plan_path: Path,
    db_url: str,
    service_urls: dict[str, str],
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> data_commands.CopyResult:
    """Copy each service's tables into its own database; resumable after a crash."""
    plan = load_plan(plan_path)
    return data_commands.db_copy(plan, db_url, service_urls, progress or NullProgress(), batch_size)


def db_verify(
    plan_path: Path, db_url: str, service_urls: dict[str, str], progress: Progress | None = None
) -> data_commands.VerifyResult:
    """Compare counts and checksums of every copied table; check cross-database references; record the result."""
    return data_commands.db_verify(load_plan(plan_path), db_url, service_urls, progress or NullProgress())


def db_strip(
    plan_path: Path,
    db_url: str,
    service_urls: dict[str, str],
    migrations_dir: Path,
    force: bool = False,
    progress: Progress | None = None,
) -> data_commands.StripResult:
    """Apply the core's strip revision, only when every moved table has a verified copy (or `force`)."""
    plan = load_plan(plan_path)
    return data_commands.db_strip(plan, db_url, service_urls, migrations_dir, force, progress or NullProgress())
