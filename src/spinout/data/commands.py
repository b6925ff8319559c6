"""The data stage's commands over a plan and database URLs: plan, migrations, copy, verify, strip.

`spinout.api` calls these with the loaded plan; each opens its engines, runs the engines of schema / migrations /
transfer / reconcile, and returns a result object. Passwords never appear in a message: URLs are shown masked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from spinout.data import reconcile, transfer
from spinout.data.schema import (
    CORE,
    DataPlan,
    classify,
    db_message,
    load_metadata,
    mask_url,
    require_clean,
    scrub,
    service_metadata,
    sorted_tables,
)
from spinout.errors import PlanError, Problem, ToolError, UnsafeSourceError
from spinout.plan.model import Plan
from spinout.progress import Progress

if TYPE_CHECKING:  # the migrations module imports alembic (0.2 s): only `db migrations` loads it
    from spinout.data import migrations as mig


@contextmanager
def engine(url: str) -> Iterator[sa.Engine]:
    try:
        eng = sa.create_engine(url)
    except Exception as exc:  # bad URL, unknown driver
        raise ToolError(
            f"cannot use database URL {mask_url(url)}: {scrub(str(exc), [url])}",
            hint="write it as dialect+driver://user:password@host:port/database, e.g. postgresql+psycopg://...",
        ) from None
    try:
        with eng.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        eng.dispose()
        raise ToolError(
            f"cannot connect to {mask_url(url)}: {scrub(db_message(exc), [url])}",
            hint="check the URL and that the database server is running",
        ) from None
    try:
        yield eng
    finally:
        eng.dispose()


def _analyse(plan: Plan, core: sa.Engine) -> tuple[sa.MetaData, DataPlan]:
    md = load_metadata(core, plan.database.metadata, [plan.source_repo])
    return md, classify(md, plan)


def service_urls(plan: Plan, data_plan: DataPlan, core_url: str, given: Mapping[str, str]) -> dict[str, str]:
    """The target URL of every service that owns tables (separate mode); located problems when one is missing."""
    problems = []
    names = {s.name for s in plan.service}
    for name in given:
        if name not in names:
            known = ", ".join(sorted(names))
            problems.append(Problem("--service-db-url", f"{name!r} is not a service of the plan ({known})"))
    out = {}
    for i, svc in enumerate(plan.service):
        if not data_plan.services.get(svc.name):
            continue
        url = given.get(svc.name)
        if url is None:
            count = len(data_plan.services[svc.name])
            problems.append(Problem(f"service[{i}]", f"no --service-db-url {svc.name}=URL for its {count} tables"))
        elif sa.make_url(url) == sa.make_url(core_url):
            problems.append(
                Problem("--service-db-url", f"{svc.name}'s database is the core database; use database.mode = 'shared'")
            )
        else:
            out[svc.name] = url
    if problems:
        raise PlanError(problems, source="command line")
    return out


# -- db plan -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbPlanResult:
    core_url: str
    mode: str
    data_plan: DataPlan

    @property
    def exit_code(self) -> int:
        return 2 if self.data_plan.problems else 0

    def to_json(self) -> dict[str, Any]:
        dp = self.data_plan
        return {
            "command": "db plan",
            "ok": not dp.problems,
            "database": mask_url(self.core_url),
            "mode": self.mode,
            "services": {k: list(v) for k, v in dp.services.items()},
            "core_tables": sorted(t for t, o in dp.owner.items() if o == CORE),
            "foreign_keys": [fk.to_json() for fk in dp.foreign_keys],
            "flagged": dp.flagged(),
            "problems": [{"location": p.location, "message": p.message} for p in dp.problems],
        }

    def lines(self) -> list[str]:
        dp = self.data_plan
        out = [f"database {mask_url(self.core_url)} ({self.mode} mode)"]
        core = sorted(t for t, o in dp.owner.items() if o == CORE)
        out.append(f"  core keeps {len(core)} tables: {', '.join(core)}")
        for svc, tables in dp.services.items():
            out.append(f"  {svc}: {len(tables)} tables: {', '.join(tables) or '-'}")
            for fk in dp.foreign_keys:
                if fk.owner == svc and fk.kind == "cross":
                    out.append(f"    cross-database reference (constraint dropped, column kept): {fk.describe()}")
        for table in dp.flagged():
            out.append(f"  flagged: core table {table} references a service table")
        for p in dp.problems:
            out.append(f"  problem: {p}")
        return out


def db_plan(plan: Plan, core_url: str, progress: Progress) -> DbPlanResult:
    with engine(core_url) as core:
        progress.start("db-plan", f"reading the schema of {mask_url(core_url)}")
        _, dp = _analyse(plan, core)
        progress.finish("db-plan", f"{len(dp.owner)} tables, {len(dp.foreign_keys)} foreign keys classified")
    return DbPlanResult(core_url, plan.database.mode, dp)


# -- db migrations -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationsResult:
    mode: str
    written: list[mig.Written]
    formatted: bool

    @property
    def exit_code(self) -> int:
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "db migrations",
            "ok": True,
            "mode": self.mode,
            "formatted": self.formatted,
            "environments": [
                {
                    "name": w.name,
                    "directory": str(w.directory),
                    "revision": w.revision,
                    "down_revision": w.down_revision,
                    "version_table": w.version_table,
                    "files": [str(f) for f in w.files],
                }
                for w in self.written
            ],
        }

    def lines(self) -> list[str]:
        out = []
        for w in self.written:
            parent = f" after {w.down_revision}" if w.down_revision else ""
            out.append(f"{w.name}: {w.directory} (revision {w.revision}{parent}, version table {w.version_table})")
        if not self.formatted:
            out.append("warning: ruff is not installed; the generated files are valid but not formatted")
        return out


def db_migrations(
    plan: Plan, core_url: str, out: Path, core_alembic: Path | None, progress: Progress
) -> MigrationsResult:
    with engine(core_url) as core:
        md, dp = _analyse(plan, core)
    require_clean(dp)
    written = []
    from spinout.data import migrations as mig

    progress.start("db-migrations", f"writing alembic environments into {out}")
    for svc in plan.service:
        tables = dp.services.get(svc.name, ())
        if plan.database.mode == "shared":
            written.append(mig.service_environment(out, svc.name, None, tables))
        elif tables:
            written.append(mig.service_environment(out, svc.name, service_metadata(md, dp, svc.name), tables))
    if plan.database.mode == "separate" and dp.moved_tables:
        written.append(mig.core_environment(out, plan.core.name, md, dp.moved_tables, core_alembic))
    formatted = mig.format_python([f for w in written for f in w.files])
    progress.finish("db-migrations", f"{len(written)} alembic environments written")
    return MigrationsResult(plan.database.mode, written, formatted)


# -- db copy -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CopyResult:
    mode: str
    tables: list[transfer.TableCopy] = field(default_factory=list)
    targets: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "db copy",
            "ok": True,
            "mode": self.mode,
            "targets": {k: mask_url(v) for k, v in self.targets.items()},
            "tables": [
                {
                    "service": t.service,
                    "table": t.table,
                    "rows": t.rows,
                    "copied": t.copied,
                    "status": t.status,
                    "route": t.route,
                    "rows_per_second": round(t.rate),
                }
                for t in self.tables
            ],
        }

    def lines(self) -> list[str]:
        if self.mode == "shared":
            return ["shared mode: the service tables stay in the core database; nothing to copy"]
        out = []
        for t in self.tables:
            out.append(
                f"{t.service}: {t.table}: {t.rows} rows ({t.status}, {t.copied} copied, {t.rate:,.0f} rows/s, "
                f"route {t.route})"
            )
        out.append("next: spinout db verify (with the same URLs)")
        return out


def db_copy(
    plan: Plan, core_url: str, given: Mapping[str, str], progress: Progress, batch_size: int | None = None
) -> CopyResult:
    if plan.database.mode == "shared":
        return CopyResult("shared")
    db = plan.database
    options = transfer.CopyOptions(batch_size or db.batch_size, db.no_pk_row_limit, db.pass_through)
    results: list[transfer.TableCopy] = []
    with engine(core_url) as core:
        md, dp = _analyse(plan, core)
        require_clean(dp)
        urls = service_urls(plan, dp, core_url, given)
        for name, url in urls.items():
            with engine(url) as target:
                svc_md = service_metadata(md, dp, name)
                tables = sorted_tables(md, dp.services[name])
                results.extend(transfer.copy_service(core, target, md, svc_md, name, tables, options, progress))
    return CopyResult("separate", results, urls)


# -- db verify -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    mode: str
    checks: list[reconcile.TableCheck] = field(default_factory=list)
    dangling: list[reconcile.Dangling] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        if not self.ok:
            return 5
        return 1 if self.dangling else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "db verify",
            "ok": self.ok,
            "mode": self.mode,
            "tables": [{"service": c.service, **c.to_json()} for c in self.checks],
            "dangling": [d.to_json() for d in self.dangling],
        }

    def lines(self) -> list[str]:
        if self.mode == "shared":
            return ["shared mode: the service tables stay in the core database; nothing to verify"]
        out = []
        for c in self.checks:
            state = "ok" if c.ok else "MISMATCH"
            detail = f"{c.source.rows} rows, checksum {c.source.checksum[:16]}"
            if not c.ok:
                detail = (
                    f"source {c.source.rows} rows {c.source.checksum[:16]}, "
                    f"target {c.target.rows} rows {c.target.checksum[:16]}"
                )
            out.append(f"{c.service}: {c.table}: {state} ({detail})")
        for d in self.dangling:
            shown = ", ".join(repr(v[0] if len(v) == 1 else v) for v in d.values[:10])
            more = f" and {len(d.values) - 10} more" if len(d.values) > 10 else ""
            out.append(f"dangling: {d.reference.describe()}: {len(d.values)} values with no core row: {shown}{more}")
        out.append("verified: the copy is whole" if self.ok else "the copy differs from its source: do not strip")
        return out


def db_verify(plan: Plan, core_url: str, given: Mapping[str, str], progress: Progress) -> VerifyResult:
    if plan.database.mode == "shared":
        return VerifyResult("shared")
    checks: list[reconcile.TableCheck] = []
    dangling: list[reconcile.Dangling] = []
    with engine(core_url) as core:
        md, dp = _analyse(plan, core)
        require_clean(dp)
        urls = service_urls(plan, dp, core_url, given)
        for name, url in urls.items():
            with engine(url) as target:
                svc_md = service_metadata(md, dp, name)
                tables = sorted_tables(md, dp.services[name])
                mine = reconcile.check_tables(core, target, md, svc_md, name, tables, progress)
                refs = reconcile.dangling_references(core, target, md, svc_md, dp.cross(name))
                reconcile.record(target, name, mine, refs)
                checks.extend(mine)
                dangling.extend(refs)
    return VerifyResult("separate", checks, dangling)


# -- db strip ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StripResult:
    revision: str
    dropped: list[str]
    forced: list[str]

    @property
    def exit_code(self) -> int:
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "db strip",
            "ok": True,
            "revision": self.revision,
            "dropped": self.dropped,
            "forced_unverified": self.forced,
        }

    def lines(self) -> list[str]:
        out = [f"applied strip revision {self.revision}: dropped {len(self.dropped)} tables: {', '.join(self.dropped)}"]
        if self.forced:
            out.append(f"WARNING: forced without a verified copy of: {', '.join(self.forced)}")
        return out


def unverified(plan: Plan, core: sa.Engine, md: sa.MetaData, dp: DataPlan, urls: Mapping[str, str]) -> list[str]:
    """Moved tables without a recorded, matching verification, or whose source has changed since (row count, then
    checksum recomputed now: an update after the verification would otherwise be lost with the dropped table)."""
    missing = []
    for name, url in urls.items():
        with engine(url) as target:
            done = reconcile.recorded(target, name)
        for table in dp.services[name]:
            row = done.get(table)
            if row is None or not row.ok:
                missing.append(f"{name}.{table} ({'not verified' if row is None else 'verification failed'})")
                continue
            with core.connect() as conn:
                now = conn.execute(sa.select(sa.func.count()).select_from(md.tables[table])).scalar_one()
            if now != row.source_rows:
                missing.append(f"{name}.{table} (source has {now} rows, {row.source_rows} when verified)")
                continue
            columns = sorted(c.name for c in md.tables[table].columns)
            if reconcile.table_digest(core, md.tables[table], columns).checksum != row.source_checksum:
                missing.append(f"{name}.{table} (source rows changed since verified)")
    return missing


def db_strip(
    plan: Plan,
    core_url: str,
    given: Mapping[str, str],
    migrations_dir: Path,
    force: bool,
    progress: Progress,
) -> StripResult:
    if plan.database.mode == "shared":
        raise UnsafeSourceError(
            "database.mode is 'shared': the service tables stay in the core database, there is nothing to strip",
            hint="use database.mode = 'separate' to move the tables out",
        )
    env_dir = migrations_dir / plan.core.name
    if not (env_dir / "env.py").is_file():
        raise PlanError(
            [Problem("--migrations", f"{env_dir} has no strip revision (no env.py)")],
            source="command line",
        )
    with engine(core_url) as core:
        md, dp = _analyse(plan, core)
        require_clean(dp)
        urls = service_urls(plan, dp, core_url, given)
        missing = unverified(plan, core, md, dp, urls)
        if missing and not force:
            raise UnsafeSourceError(
                f"refusing to drop service tables from {mask_url(core_url)}: no verified copy of " + "; ".join(missing),
                hint="run `spinout db copy` and `spinout db verify` first (or --force to drop anyway, losing data)",
            )
        if missing:
            progress.warn(f"--force: DROPPING {len(missing)} tables WITHOUT a verified copy: {'; '.join(missing)}")
        revision = _upgrade(env_dir, core)
        left = set(sa.inspect(core).get_table_names())
    dropped = [t for t in dp.moved_tables if t not in left]
    still = [t for t in dp.moved_tables if t in left]
    if still:
        raise ToolError(
            f"the strip revision {revision} left service tables in place: {', '.join(still)}",
            hint="regenerate the migrations with `spinout db migrations` for the current plan",
        )
    return StripResult(revision, dropped, missing)


def _upgrade(env_dir: Path, core: sa.Engine) -> str:
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    cfg = Config(str(env_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(env_dir))
    target = _transactional_ddl(core)
    try:
        heads = ScriptDirectory.from_config(cfg).get_heads()
        with target.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except (CommandError, sa.exc.SQLAlchemyError) as exc:
        raise ToolError(f"applying the migrations of {env_dir.name} failed: {scrub(str(exc), [core.url])}") from None
    finally:
        if target is not core:
            target.dispose()
    return ",".join(heads)


def _transactional_ddl(eng: sa.Engine) -> sa.Engine:
    """An engine whose transactions hold DDL too. pysqlite commits before every CREATE/DROP (its legacy transaction
    handling), so a migration killed half-way left some tables created and its revision unrecorded, and every
    rerun failed on "table ... already exists". SQLite itself has transactional DDL: BEGIN explicitly (SQLAlchemy's
    documented pysqlite recipe). Other backends are used as they are."""
    if eng.dialect.name != "sqlite":
        return eng
    from sqlalchemy import event, pool

    out = sa.create_engine(eng.url, poolclass=pool.NullPool)

    @event.listens_for(out, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(out, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return out


# -- the deployer's upgrade (`spinout upgrade`): the data steps -----------------------------------------------------


def apply_service_migrations(
    plan: Plan, core_url: str, given: Mapping[str, str], migrations_dir: Path, progress: Progress
) -> list[str]:
    """`alembic upgrade heads` of every service environment written by `db migrations` into `migrations_dir`: on the
    service's own database (separate mode; it creates the tables) or on the core database (shared mode; it stamps
    the empty base revision into alembic_version_<service>)."""
    lines = []
    with engine(core_url) as core:
        _, dp = _analyse(plan, core)
        require_clean(dp)
        urls = service_urls(plan, dp, core_url, given) if plan.database.mode == "separate" else {}
    for svc in plan.service:
        env_dir = migrations_dir / svc.name
        if not (env_dir / "env.py").is_file():
            continue
        url = urls.get(svc.name, core_url) if plan.database.mode == "separate" else core_url
        if plan.database.mode == "separate" and svc.name not in urls:
            continue
        progress.note(f"{svc.name}: alembic upgrade on {mask_url(url)}")
        with engine(url) as target:
            revision = _upgrade(env_dir, target)
        lines.append(f"{svc.name}: {mask_url(url)} at revision {revision}")
    return lines


def upgrade_steps(
    plan: Plan, core_url: str, given: Mapping[str, str], workdir: Path
) -> dict[str, Callable[[Progress], list[str] | Any]]:
    """The data steps of `spinout upgrade`, by name (db-migrations, db-copy, db-verify, db-strip). The generated
    alembic environments go into `workdir` and stay there: the strip step applies the core's revision from it."""
    shared = plan.database.mode == "shared"
    if not any(s.tables for s in plan.service):
        # Nothing moves between databases: each step says so rather than failing on artefacts it never made.
        def nothing(progress: Progress) -> list[str]:
            return ["the plan names no tables (service[i].tables): no data to move"]

        return dict.fromkeys(("db-migrations", "db-copy", "db-verify", "db-strip"), nothing)

    def migrations(progress: Progress) -> list[str]:
        written = db_migrations(plan, core_url, workdir, None, progress)
        return [*written.lines(), *apply_service_migrations(plan, core_url, given, workdir, progress)]

    def strip(progress: Progress) -> list[str] | StripResult:
        if shared:
            return ["shared mode: the service tables stay in the core database; nothing to strip"]
        # An upgrade killed after the strip committed but before the journal said so runs this step again: the
        # tables are gone (the strip is one transaction on PostgreSQL and SQLite), which is the step's result.
        moved = {t for s in plan.service for t in s.tables}
        with engine(core_url) as core:
            inspector = sa.inspect(core)
            present = [
                t
                for t in moved
                if t.rpartition(".")[2] in inspector.get_table_names(schema=t.rpartition(".")[0] or None)
            ]
        if not present:
            return [
                f"the services' {len(moved)} tables are no longer in the core database: an earlier run stripped them"
            ]
        return db_strip(plan, core_url, given, workdir, False, progress)

    return {
        "db-migrations": migrations,
        "db-copy": lambda progress: db_copy(plan, core_url, given, progress),
        "db-verify": lambda progress: db_verify(plan, core_url, given, progress),
        "db-strip": strip,
    }


def demo(plan: Plan, core_url: str, root: Path, progress: Progress) -> list[str]:
    """The data stage on the sample, for `spinout demo`: SQLite service databases under `root/service-dbs/`,
    alembic environments under `root/migrations/`, then migrations, copy, verify and strip, as `spinout upgrade`
    runs them. Returns the summary lines."""
    dbs = root / "service-dbs"
    dbs.mkdir(exist_ok=True)
    # URL.create escapes '#', '?' and '%' in the path instead of reading them as URL syntax
    urls = {
        s.name: sa.URL.create("sqlite", database=str(dbs / f"{s.name}.db")).render_as_string()
        for s in plan.service
        if s.tables
    }
    out = root / "migrations"
    lines: list[str] = []
    for name, run in upgrade_steps(plan, core_url, urls, out).items():
        result = run(progress)
        if isinstance(result, list):
            continue  # migrations: summarized below
        if result.exit_code:
            return [*lines, f"{name} failed:", *result.lines()]
        if isinstance(result, CopyResult):
            rows = sum(t.rows for t in result.tables)
            lines.append(f"copied {rows} rows of {len(result.tables)} tables into {dbs}/<service>.db")
        elif isinstance(result, VerifyResult):
            lines.append(f"verified {len(result.checks)} tables: row counts and checksums equal")
        elif isinstance(result, StripResult):
            lines.append(f"stripped {len(result.dropped)} tables from the core database (revision {result.revision})")
    lines.insert(0, f"alembic environments in {out} (one per service, and the core's strip revision)")
    return lines
