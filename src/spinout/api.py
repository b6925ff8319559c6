"""The library front of spinout: one function per command, wiring plan, adapters and engines together.

`spinout.cli` is a thin layer over these functions. Each returns a result object (see `spinout.results`) and raises
`SpinoutError` subclasses for failures the user must fix.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from spinout.errors import PlanError, Problem, UnsafeSourceError
from spinout.inifiles.files import atomic_write
from spinout.inifiles.split import Rename, ServiceRule
from spinout.inifiles.upgrade import Step, StepRun, UpgradeResult, fingerprint, run_upgrade
from spinout.lazy import lazy_module
from spinout.lock import exclusive
from spinout.masking import mask_url
from spinout.plan.load import load_plan, load_plan_lenient
from spinout.plan.model import CoreSetting, Plan
from spinout.plan.modules import build_module_map
from spinout.plan.places import write_conflict
from spinout.plan.validate import place_problems, repo_problems
from spinout.progress import NullProgress, Progress
from spinout.results import PlanCheckResult, StepsResult
from spinout.sample import DEFAULT_COMMITS, DEFAULT_ROWS, SampleInfo, build_sample

if TYPE_CHECKING:
    import pygit2

    from spinout import repo as git_repo
    from spinout.boundary import stage as boundary_stage
    from spinout.boundary.results import CouplingResult, GuardCheckResult, GuardResult
    from spinout.code.stage import RewriteResult
    from spinout.data import commands as data_commands
    from spinout.history import renames as history_renames
    from spinout.history import split as history_split
    from spinout.history import verify as history_verify
    from spinout.inifiles import apply as inifiles_apply
    from spinout.inifiles.apply import ConfSplitResult, Writer


# the data, boundary and config stages pull in sqlalchemy, alembic, grimp and oslo.config (0.4 s of imports),
# the history stage pygit2 (0.1 s, which `db copy` does not need): loaded on first use
if not TYPE_CHECKING:
    boundary_stage = lazy_module("spinout.boundary.stage")
    data_commands = lazy_module("spinout.data.commands")
    inifiles_apply = lazy_module("spinout.inifiles.apply")
    git_repo = lazy_module("spinout.repo")
    history_renames = lazy_module("spinout.history.renames")
    history_split = lazy_module("spinout.history.split")
    history_verify = lazy_module("spinout.history.verify")


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
        repo = git_repo.open_repository(plan.source_repo)
    except UnsafeSourceError as exc:  # an unusable source repo is a plan problem at source.repo
        # where the targets would go is still checked against the path as given and the plan's folder
        places = place_problems(plan, [plan.source_repo])
        raise PlanError([*static, Problem("source.repo", exc.message), *places], source=source) from None
    view = git_repo.GitRepoView(repo)
    problems = [*static, *repo_problems(plan, view)]
    if problems:
        raise PlanError(problems, source=source)
    return view.resolve(plan.source.main_ref) or ""


def refuse_source_writes(plan: Plan, places: Iterable[Path], what: str, option: str) -> None:
    """Raise UnsafeSourceError (exit 3) if any of `places` (directories or files a command is about to write) is, or
    lies inside, the source repository: spinout never writes there, whatever directory the user names."""
    dirs = git_repo.source_dirs(plan.source_repo)
    for place in places:
        why = write_conflict(place, dirs)
        if why is not None:
            raise UnsafeSourceError(
                f"{what} {str(place)!r} {why}; spinout never writes there",
                hint=f"pass a {option} outside the source repository",
            )


# ---- demo -----------------------------------------------------------------------------------------------------

DemoStep = Callable[[SampleInfo, Progress], list[str]]


def _demo_plan_check(info: SampleInfo, progress: Progress) -> list[str]:
    return check_plan(info.plan, progress).lines()


# The stages the demo runs on the sample, in order; a stage adds itself here with one line and one function
# returning the lines that tell what it produced and where.
def _demo_conf_split(info: SampleInfo, progress: Progress) -> list[str]:
    return conf_split(info.plan, info.config_dir, progress=progress).lines()


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


def _demo_data(info: SampleInfo, progress: Progress) -> list[str]:
    return data_commands.demo(load_plan(info.plan), info.database_url, info.root, progress)


def _demo_split(info: SampleInfo, progress: Progress) -> list[str]:
    return split(info.plan, verify=True, progress=progress).lines()


def _demo_rewrite(info: SampleInfo, progress: Progress) -> list[str]:
    return rewrite(info.plan, progress=progress).lines()


DEMO_STEPS: list[tuple[str, DemoStep]] = [
    ("plan check", _demo_plan_check),
    ("boundary", _demo_boundary),
    ("split", _demo_split),
    ("rewrite", _demo_rewrite),
    ("conf split", _demo_conf_split),
    ("data", _demo_data),
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


# --- config stage (spinout conf split, spinout upgrade) -------------------------------------------------------------


def _main_tree_files(plan: Plan) -> list[str]:
    """Every file path at the source's main branch (the module map is derived from them)."""
    files = git_repo.GitRepoView(git_repo.open_repository(plan.source_repo)).files(plan.source.main_ref)
    if files is None:
        raise PlanError([Problem("source.main", f"{plan.source.main_ref} does not exist in the source repository")])
    return files


def _config_inputs(plan: Plan) -> tuple[list[ServiceRule], list[tuple[str, CoreSetting]], Rename]:
    rules = [
        ServiceRule(svc.name, f"service[{i}].config[{j}]", rule)
        for i, svc in enumerate(plan.service)
        for j, rule in enumerate(svc.config)
    ]
    settings = [(f"core.settings[{k}]", st) for k, st in enumerate(plan.core.settings)]
    return rules, settings, build_module_map(plan, _main_tree_files(plan)).rename


def conf_split(
    plan_path: Path,
    config_dir: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    writer: Writer | None = None,
) -> ConfSplitResult:
    """`spinout conf split`: move the services' config into their own files, losslessly and verified."""
    plan = load_checked_plan(plan_path)
    rules, settings, rename = _config_inputs(plan)
    refuse_source_writes(plan, _config_places(config_dir, rules, settings), "the config directory", "--config-dir")
    with _config_lock(config_dir, dry_run):
        return inifiles_apply.conf_split(
            config_dir, rules, settings, rename, dry_run=dry_run, progress=progress, writer=writer or atomic_write
        )


def _config_places(config_dir: Path, rules: list[ServiceRule], settings: list[tuple[str, CoreSetting]]) -> list[Path]:
    """The config directory and every file the config stage may write in it, in either layout (docs/config.md)."""
    names = {n for r in rules for n in (r.rule.from_, r.rule.to)} | {st.file for _, st in settings}
    files = [config_dir / n for n in sorted(names)] + [config_dir / Path(n).name for n in sorted(names)]
    return [config_dir, *files]


def _config_lock(config_dir: Path, dry_run: bool) -> AbstractContextManager[None]:
    """The config directory's lock for a run that writes there (a dry run writes nothing, and takes none)."""
    if dry_run or not config_dir.is_dir():  # a missing directory is the stage's own, located error
        return nullcontext()
    return exclusive(config_dir, "config directory")


# The data stage's steps, in the deployer's order; `db_upgrade_steps` gives their callables (a StepRun takes a Progress
# and returns summary lines). A step without a callable is reported as unavailable, never skipped silently.
UPGRADE_DATA_STEPS: tuple[tuple[str, str], ...] = (
    ("db-migrations", "run each service's migrations on its own database"),
    ("db-copy", "copy each service's tables from the core database (resumable)"),
    ("db-verify", "verify the copies (row counts and checksums)"),
    ("db-strip", "drop the services' tables from the core database (strip revision)"),
)


def upgrade(
    plan_path: Path,
    config_dir: Path,
    db_url: str,
    service_db_urls: dict[str, str],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    data_steps: dict[str, StepRun] | None = None,
) -> UpgradeResult:
    """`spinout upgrade`: the deployer's flow (config split, then the data steps), journaled and resumable."""
    plan = load_checked_plan(plan_path)
    names = {s.name for s in plan.service}
    unknown = sorted(set(service_db_urls) - names)
    if unknown:
        known = ", ".join(sorted(names))
        raise PlanError([Problem("--service-db-url", f"no service named {n!r} in the plan ({known})") for n in unknown])
    rules, settings, rename = _config_inputs(plan)
    workdir = config_dir / ".spinout-db"
    places = [*_config_places(config_dir, rules, settings), workdir]
    refuse_source_writes(plan, places, "the config directory", "--config-dir")

    def config_step(step_progress: Progress) -> list[str]:
        return inifiles_apply.conf_split(config_dir, rules, settings, rename, progress=step_progress).lines()

    def config_preview(step_progress: Progress) -> list[str]:
        preview = inifiles_apply.conf_split(config_dir, rules, settings, rename, dry_run=True, progress=step_progress)
        return [*preview.summary(), "run `spinout conf split --dry-run` for the diffs"] if preview.changed else []

    steps = [
        Step(
            "config",
            f"split the config in {config_dir} into the services' files",
            config_step,
            preview=config_preview,
        )
    ]
    if data_steps is None:
        data_commands.check_urls(db_url, service_db_urls)  # a malformed URL: exit 2 now, not a failed step later
        # The data stage's work files (alembic environments) live beside the journal, so a resumed upgrade finds them.
        data_steps = db_upgrade_steps(plan_path, db_url, service_db_urls, workdir)
    for name, description in UPGRADE_DATA_STEPS:
        run = data_steps.get(name)
        steps.append(Step(name, description, run, "" if run else "no callable for this step was given"))
    # the URLs without their credentials: the journal holds no secret, not even a hash of one (and a password
    # changed between two runs of one upgrade does not make it another upgrade)
    digest = fingerprint(
        plan.fingerprint(), mask_url(db_url), *sorted(f"{k}={mask_url(v)}" for k, v in service_db_urls.items())
    )
    after = [
        "install the service packages (" + ", ".join(sorted(names)) + ") on every node that runs the core",
        "restart the core's server and agents so they read the new config files (pass each service's file with "
        "--config-file, or use --config-dir)",
    ]
    with _config_lock(config_dir, dry_run):
        return run_upgrade(config_dir, steps, digest, dry_run=dry_run, progress=progress, after=after)


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
    plan = load_plan(plan_path)
    if svg is not None:
        refuse_source_writes(plan, [svg], "the picture", "--svg")
    return boundary_stage.coupling(plan, repo, svg, progress or NullProgress())


def rewrite(plan_path: Path, *, dry_run: bool = False, progress: Progress | None = None) -> RewriteResult:
    """`spinout rewrite`: one commit per split target (the service's split commit, the core's compat commit)."""
    from spinout.code.stage import run_rewrite  # libcst and pyflakes load only for this command

    plan = load_checked_plan(plan_path)
    if dry_run or not plan.output_dir.is_dir():  # nothing split yet: the stage says so
        return run_rewrite(plan, dry_run=dry_run, progress=progress or NullProgress())
    with exclusive(plan.output_dir, "output directory"):
        return run_rewrite(plan, dry_run=dry_run, progress=progress or NullProgress())


# -- data stage (spinout db ...) -----------------------------------------------------------------------------------


def db_plan(plan_path: Path, db_url: str, progress: Progress | None = None) -> data_commands.DbPlanResult:
    """Reflect the source database and classify its tables and foreign keys per the plan."""
    return data_commands.db_plan(load_plan(plan_path), db_url, progress or NullProgress())


def db_migrations(
    plan_path: Path, db_url: str, out: Path, core_alembic: Path | None = None, progress: Progress | None = None
) -> data_commands.MigrationsResult:
    """Write an alembic environment per service (and the core's strip revision) into `out`."""
    plan = load_plan(plan_path)
    written = [out, *(out / name for name in (*(s.name for s in plan.service), plan.core.name))]
    refuse_source_writes(plan, written, "the migrations directory", "--out")
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


def db_upgrade_steps(plan_path: Path, db_url: str, service_urls: dict[str, str], workdir: Path) -> dict[str, StepRun]:
    """The data steps for `upgrade(..., data_steps=...)`: migrations (written into `workdir` and applied), copy,
    verify, strip. A step whose result has a non-zero exit code (a mismatch) fails and blocks the next ones."""
    return data_commands.upgrade_steps(load_plan(plan_path), db_url, service_urls, workdir)


# --- history stage --------------------------------------------------------------------------------------------


def _earlier_names(plan: Plan, repo: pygit2.Repository, progress: Progress) -> dict[str, dict[str, str]]:
    """For services with follow_renames: old path → current path, found in one walk for all of them.

    The walk's result is kept in the output directory, so that a rerun walks only the new commits.
    """
    if not any(s.follow_renames for s in plan.service):
        return {}
    refs = history_split.resolve_refs(repo, plan.source.refs)
    tips = sorted({history_split.peel_commit(repo, t).hex() for t in refs.values()})  # commits, not tag objects
    state_file = plan.output_dir / RENAMES_STATE
    previous = None
    if state_file.is_file():
        try:
            previous = history_renames.EarlierNames.from_state(json.loads(state_file.read_text()))
        except ValueError:
            previous = None  # unreadable: walk afresh, the answer is the same
    # Renames only, not copies: git log --follow also takes a file's copy source, which on real repositories
    # pulls in the history of unrelated look-alikes (empty __init__.py files, READMEs) - see docs/history.md.
    followed, state = history_renames.follow_renames_with_state(
        repo, plan, tips, progress, copies=False, previous=previous
    )
    if state is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state.to_state()))
        os.replace(tmp, state_file)
    for name, found in followed.items():
        for old, why in sorted(found.skipped.items()):
            progress.note(f"{name}: earlier name {old} not followed: {why}")
    return {
        name: {old: current for current, olds in found.added.items() for old in olds}
        for name, found in followed.items()
    }


# follow_renames' walk state, beside the targets in the output directory
RENAMES_STATE = ".spinout-follow-renames.json"
# every earlier name a service's target kept, in the target's spinout dir (the summary lists only the first few)
FOLLOWED_NAMES = "followed-names.txt"


def _write_followed(plan: Plan, result: history_split.SplitResult, followed: dict[str, dict[str, str]]) -> None:
    """Write each following service's full list of earlier names (old path -> the current file it became) into
    its target's spinout dir, and say where in its report."""
    for report in result.targets:
        names = followed.get(report.name)
        if names is None:
            continue  # no follow_renames for this target
        git_dir = Path(report.path) if plan.output.bare else Path(report.path) / ".git"
        where = git_dir / "spinout" / FOLLOWED_NAMES
        if not where.parent.is_dir():
            continue
        lines = [f"# {report.name}: earlier names kept by follow_renames, old path -> the file it became\n"]
        lines += [f"{old} -> {current}\n" for old, current in sorted(names.items())]
        atomic_write(where, "".join(lines))
        report.followed_file = str(where.relative_to(report.path))  # relative: reports compare across output dirs


def split(
    plan_path: Path,
    *,
    force: bool = False,
    verify: bool = False,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> history_split.SplitResult | history_verify.VerifyResult:
    """`spinout split PLAN`: every target in one walk of the source history; with `verify`, audit it after.
    `jobs`: worker processes sharing the targets (default: one per core)."""
    progress = progress or NullProgress()
    plan = load_checked_plan(plan_path)
    repo = git_repo.open_repository(plan.source_repo)
    following = frozenset(s.name for s in plan.service if s.follow_renames)
    final: list[history_split.TargetSpec] = []
    followed: dict[str, dict[str, str]] = {}

    def resolve() -> list[history_split.TargetSpec]:
        # follow_renames' walk: with workers, it runs while the other targets are walked already. On a repository
        # object of its own, dropped after: libgit2's cache of the whole history is not kept (nor inherited by
        # the worker forked next).
        import pygit2  # loaded with the history stage, not for every command (see the lazy modules above)

        walk_repo = pygit2.Repository(repo.path)
        old_names = _earlier_names(plan, walk_repo, progress)
        followed.update({name: old_names.get(name, {}) for name in following})
        git_repo.drop_repository(walk_repo)
        del walk_repo
        git_repo.release_native_memory()
        final[:] = history_split.targets_from_plan(plan, old_names)
        return final

    specs = history_split.targets_from_plan(plan)  # the following services' rules are completed by resolve()
    later = history_split.Later(following, resolve) if following else None
    with exclusive(plan.output_dir, "output directory", create=True):
        result = history_split.split(repo, specs, force=force, progress=progress, jobs=jobs, later=later)
        _write_followed(plan, result, followed)
    specs = final or specs
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
    repo = git_repo.open_repository(plan.source_repo)
    specs = history_split.targets_from_plan(plan, _earlier_names(plan, repo, progress))
    return history_verify.verify(repo, specs, progress)
