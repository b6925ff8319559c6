"""The data stage's commands over a plan and database URLs: plan, migrations, copy, verify, strip.

`spinout.api` calls these with the loaded plan; each opens its engines, runs the engines of schema / migrations /
transfer / reconcile, and returns a result object. Passwords never appear in a message: URLs are shown masked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from spinout.data import reconcile, space, transfer
from spinout.data.schema import (
    CORE,
    DataPlan,
    classify,
    db_message,
    load_metadata,
    mask_url,
    reflect_table,
    require_clean,
    scrub,
    service_metadata,
    sorted_tables,
)
from spinout.errors import DataMismatch, PlanError, Problem, ToolError, UnsafeSourceError
from spinout.plan.model import Plan
from spinout.progress import Event, Progress, Started

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


def check_urls(core_url: str, given: Mapping[str, str] | None = None) -> None:
    """Every URL the command was given must parse as a database URL; otherwise a located problem per option (exit
    2), the URL shown masked (a malformed URL may still carry a password: `user:pw@host`, `host=... password=...`)."""
    problems = []
    named = [("--db-url", "", core_url), *(("--service-db-url", f"{n}=", u) for n, u in (given or {}).items())]
    for option, prefix, url in named:
        try:
            sa.make_url(url)
        except Exception:  # ArgumentError, or ValueError for a port that is not a number
            problems.append(
                Problem(
                    option,
                    f"{prefix}{mask_url(url)} is not a database URL: write it as "
                    "dialect+driver://user:password@host:port/database, e.g. postgresql+psycopg://user@db/neutron "
                    "or sqlite:////var/lib/app.db",
                )
            )
    if problems:
        raise PlanError(problems, source="command line")


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
    check_urls(core_url)
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
    check_urls(core_url)
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
    check_urls(core_url, given)
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
                tracked = _CurrentTable(progress)
                try:
                    results.extend(transfer.copy_service(core, target, md, svc_md, name, tables, options, tracked))
                except space.DiskFull:
                    raise
                except Exception as exc:
                    if not space.is_full(exc):
                        raise
                    done, left = _rows_done_and_left(core, target, md, name, tables)
                    doing = f"copying table {tracked.table} of {name}" if tracked.table else f"preparing {name}"
                    raise space.full_error(target, exc, doing, done, left, "spinout db copy") from None
    return CopyResult("separate", results, urls)


class _CurrentTable(Progress):
    """Passes every event on, and remembers which table the copy is on (for a message about a full disk)."""

    def __init__(self, inner: Progress) -> None:
        super().__init__(None)
        self.inner = inner
        self.table: str | None = None

    def emit(self, event: Event) -> None:
        if isinstance(event, Started) and event.task.startswith("copy:"):
            self.table = event.task.split(":", 2)[2]
        self.inner.emit(event)


def _rows_done_and_left(
    core: sa.Engine, target: sa.Engine, md: sa.MetaData, service: str, tables: list[str]
) -> tuple[int | None, int | None]:
    """Rows the target holds now (committed checkpoints) and rows still to copy, for the estimate of the space the
    rest needs; None when they cannot be read."""
    try:
        with target.connect() as conn:
            state = transfer.copy_state
            done = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(state.c.rows_copied), 0)).where(state.c.service == service)
            ).scalar_one()
        with core.connect() as conn:
            total = sum(conn.execute(sa.select(sa.func.count()).select_from(md.tables[t])).scalar_one() for t in tables)
    except sa.exc.SQLAlchemyError:
        return None, None
    return int(done), max(int(total) - int(done), 0)


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
    check_urls(core_url, given)
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
                try:
                    reconcile.record(target, name, mine, refs)
                except sa.exc.SQLAlchemyError as exc:
                    if not space.is_full(exc):
                        raise
                    doing = f"recording the verification of {name}"
                    raise space.full_error(target, exc, doing, None, None, "spinout db verify") from None
                checks.extend(mine)
                dangling.extend(refs)
    return VerifyResult("separate", checks, dangling)


# -- db strip ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StripResult:
    revision: str
    dropped: list[str]  # every moved table, now gone from the core database
    forced: list[str]
    earlier: list[str] = field(default_factory=list)  # of those, the ones an earlier, interrupted strip dropped

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
            "dropped_earlier": self.earlier,
        }

    def lines(self) -> list[str]:
        out = [f"applied strip revision {self.revision}: dropped {len(self.dropped)} tables: {', '.join(self.dropped)}"]
        if self.earlier:
            out.append(
                f"{len(self.earlier)} of them were dropped by an earlier, interrupted strip (their verified copies "
                f"were checked again): {', '.join(self.earlier)}"
            )
        if self.forced:
            out.append(f"WARNING: forced without a verified copy of: {', '.join(self.forced)}")
        return out


@dataclass(frozen=True)
class StripBlockers:
    """Why `db strip` may not drop some moved tables. `unverified`: no recorded, matching verification, or the source
    changed since (exit 3); `target_changed`: the copy in the service database no longer is what was verified
    (exit 5): dropping the source table then would lose the rows the copy has lost."""

    unverified: list[str] = field(default_factory=list)
    target_changed: list[str] = field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return [*self.target_changed, *self.unverified]


def strip_blockers(
    core: sa.Engine, md: sa.MetaData, dp: DataPlan, urls: Mapping[str, str], progress: Progress
) -> StripBlockers:
    """Re-check, now, every moved table against its recorded verification, on both sides: the source's row count
    and checksum (an update after the verification would be lost with the dropped table) and the target's (rows
    deleted or changed in the service database since would be lost too: the source is the only other copy)."""
    out = StripBlockers()
    for name, url in urls.items():
        with engine(url) as target:
            done = reconcile.recorded(target, name)
            svc_md = service_metadata(md, dp, name)
            present = set(sa.inspect(target).get_table_names())
            for table in dp.services[name]:
                row = done.get(table)
                if row is None or not row.ok:
                    out.unverified.append(
                        f"{name}.{table} ({'not verified' if row is None else 'verification failed'})"
                    )
                    continue
                progress.note(f"{name}: re-checking {table} on both sides before dropping it")
                columns = sorted(c.name for c in md.tables[table].columns)
                if table not in present:
                    out.target_changed.append(f"{name}.{table} (the table is gone from {mask_url(url)})")
                    continue
                now = reconcile.table_digest(target, svc_md.tables[table], columns)
                if now.rows != row.target_rows:
                    out.target_changed.append(
                        f"{name}.{table} (target has {now.rows} rows, {row.target_rows} when verified)"
                    )
                    continue
                if now.checksum != row.target_checksum:
                    out.target_changed.append(f"{name}.{table} (target rows changed since verified)")
                    continue
                with core.connect() as conn:
                    count = conn.execute(sa.select(sa.func.count()).select_from(md.tables[table])).scalar_one()
                if count != row.source_rows:
                    out.unverified.append(f"{name}.{table} (source has {count} rows, {row.source_rows} when verified)")
                    continue
                if reconcile.table_digest(core, md.tables[table], columns).checksum != row.source_checksum:
                    out.unverified.append(f"{name}.{table} (source rows changed since verified)")
    return out


def db_strip(
    plan: Plan,
    core_url: str,
    given: Mapping[str, str],
    migrations_dir: Path,
    force: bool,
    progress: Progress,
) -> StripResult:
    check_urls(core_url, given)
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
        present = set(sa.inspect(core).get_table_names())
        gone = [t for svc in plan.service for t in svc.tables if t not in present]
        earlier = dropped_earlier(plan, gone, given, progress) if gone else []
        # the tables an earlier strip dropped are core tables no more: the rest of the strip is about the others
        rest = plan.model_copy(
            update={
                "service": [
                    s.model_copy(update={"tables": [t for t in s.tables if t not in earlier]}) for s in plan.service
                ]
            }
        )
        md, dp = _analyse(rest, core)
        require_clean(dp)
        urls = service_urls(rest, dp, core_url, given)
        blockers = strip_blockers(core, md, dp, urls, progress)
        missing = blockers.all
        if blockers.target_changed and not force:
            raise DataMismatch(
                f"refusing to drop service tables from {mask_url(core_url)}: the copy in the service database "
                "differs from what `db verify` recorded: " + "; ".join(missing),
                hint="find out who changed the service database; copy again into an empty one (or restore it), "
                "run `spinout db verify`, then strip (or --force to drop anyway, losing data)",
            )
        if missing and not force:
            raise UnsafeSourceError(
                f"refusing to drop service tables from {mask_url(core_url)}: no verified copy of " + "; ".join(missing),
                hint="run `spinout db copy` and `spinout db verify` first (or --force to drop anyway, losing data)",
            )
        if missing:
            progress.warn(f"--force: DROPPING {len(missing)} tables WITHOUT a verified copy: {'; '.join(missing)}")
        progress.start(f"strip:{plan.core.name}", f"applying the strip revision in {env_dir}")
        revision = _upgrade(env_dir, core)
        progress.finish(f"strip:{plan.core.name}")
        left = set(sa.inspect(core).get_table_names())
    dropped = [*earlier, *(t for t in dp.moved_tables if t not in left)]
    still = [t for t in dp.moved_tables if t in left]
    if still:
        raise ToolError(
            f"the strip revision {revision} left service tables in place: {', '.join(still)}",
            hint="regenerate the migrations with `spinout db migrations` for the current plan",
        )
    return StripResult(revision, dropped, missing, earlier)


def dropped_earlier(plan: Plan, gone: Sequence[str], given: Mapping[str, str], progress: Progress) -> list[str]:
    """Which of the moved tables missing from the core database an earlier `db strip` dropped.

    On MariaDB/MySQL every DROP TABLE commits on its own, so a strip killed halfway has dropped some tables and not
    others (on PostgreSQL and SQLite the strip is one transaction). Its rerun carries on when each gone table has a
    recorded, matching verification in its service database and the copy there is still what was verified (count
    and checksum now). A gone table without any verification is what it always was: a plan naming a table the
    database does not have (exit 2); one whose copy changed since is data that exists nowhere whole (exit 5)."""
    problems: list[Problem] = []
    changed: list[str] = []
    earlier: list[str] = []
    for i, svc in enumerate(plan.service):
        mine = [t for t in svc.tables if t in gone]
        if not mine:
            continue
        recorded: dict[str, Any] = {}
        url = given.get(svc.name)
        if url is not None:
            with engine(url) as target:
                recorded = reconcile.recorded(target, svc.name)
                present = set(sa.inspect(target).get_table_names())
                for table in mine:
                    row = recorded.get(table)
                    if row is None or not row.ok:
                        continue
                    if table not in present:
                        changed.append(f"{svc.name}.{table} (gone from both databases)")
                        continue
                    progress.note(f"{svc.name}: {table} is gone from the core database: checking its verified copy")
                    copy = reflect_table(target, table)
                    now = reconcile.table_digest(target, copy, sorted(c.name for c in copy.columns))
                    if (now.rows, now.checksum) != (row.target_rows, row.target_checksum):
                        changed.append(
                            f"{svc.name}.{table} (target has {now.rows} rows, {row.target_rows} when verified"
                            f"{'' if now.rows != row.target_rows else ', and its rows changed'})"
                        )
                    else:
                        earlier.append(table)
        for table in mine:
            if table not in earlier and not any(c.startswith(f"{svc.name}.{table} ") for c in changed):
                j = svc.tables.index(table)
                problems.append(Problem(f"service[{i}].tables[{j}]", f"table {table!r} is not in the source database"))
    if changed:
        raise DataMismatch(
            "service tables are gone from the core database while their copy differs from what `db verify` "
            "recorded: " + "; ".join(changed),
            hint="the rows that differ exist nowhere else: restore those tables of the core database from a backup, "
            "copy and verify again, then strip",
        )
    if problems:
        raise PlanError(problems, source="<plan>")
    return earlier


@contextmanager
def _transactional(eng: sa.Engine) -> Iterator[sa.Engine]:
    """`eng`, or on SQLite an engine over the same file whose transactions include DDL: Python's sqlite3 module
    commits before each CREATE / DROP on its own, so a strip killed halfway would have dropped some tables and not
    stamped its revision. With the driver's own transaction handling off and an explicit BEGIN (SQLAlchemy's
    documented recipe for pysqlite) the whole revision commits at once, or not at all."""
    if eng.dialect.name != "sqlite":
        yield eng
        return
    db = sa.create_engine(eng.url, poolclass=sa.pool.NullPool)

    @sa.event.listens_for(db, "connect")
    def _no_driver_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(db, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    try:
        yield db
    finally:
        db.dispose()


def _upgrade(env_dir: Path, core: sa.Engine) -> str:
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    cfg = Config(str(env_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(env_dir))
    try:
        heads = ScriptDirectory.from_config(cfg).get_heads()
        with _transactional(core) as db, db.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except (CommandError, sa.exc.SQLAlchemyError) as exc:
        if space.is_full(exc):
            doing = f"applying the revisions in {env_dir}"
            raise space.full_error(core, exc, doing, None, None, "spinout db strip") from None
        raise ToolError(f"applying the migrations of {env_dir.name} failed: {scrub(str(exc), [core.url])}") from None
    return ",".join(heads)


# -- the deployer's upgrade (`spinout upgrade`): the data steps -----------------------------------------------------


def apply_service_migrations(
    plan: Plan, core_url: str, given: Mapping[str, str], migrations_dir: Path, progress: Progress
) -> list[str]:
    """`alembic upgrade heads` of every service environment written by `db migrations` into `migrations_dir`: on the
    service's own database (separate mode; it creates the tables) or on the core database (shared mode; it stamps
    the empty base revision into alembic_version_<service>)."""
    check_urls(core_url, given)
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
