"""Alembic environments and revisions for the split: one chain per service, and the core's strip revision.

Every revision body is produced by alembic itself: `produce_migrations` compares the wanted schema with an empty
in-memory database and `render_python_code` renders the operations, so types, nullability, server defaults, keys,
unique constraints, indexes and enums come out the way alembic's autogenerate writes them. The files are then
formatted with ruff so that they are clean in the target repositories.

- `separate` mode: the service's initial revision creates its tables (foreign keys to core tables dropped, columns
  kept), with types made portable (the service database may run on another backend than the core's).
- `shared` mode: the initial revision is an empty base to stamp, as Neutron did; the tables stay where they are.
- The core's strip revision (separate mode) drops the service tables; its downgrade recreates them with their
  indexes and constraints. Its down_revision is the core chain's current head when `--core-alembic` is given.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.migration import MigrationContext
from alembic.operations import ops

from spinout.data.schema import sorted_tables, version_table
from spinout.errors import PlanError, Problem, ToolError

_DIALECT_PREFIX = re.compile(r"\b(postgresql|mysql|sqlite|mssql|oracle)\.")


@dataclass(frozen=True)
class Written:
    """One generated environment."""

    name: str
    directory: Path
    revision: str
    down_revision: str | None
    version_table: str
    files: tuple[Path, ...]


def revision_id(*parts: str) -> str:
    """Deterministic revision ids: a rerun on the same plan and schema writes the same files."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


def portable(metadata: sa.MetaData) -> sa.MetaData:
    """A copy with generic SQLAlchemy types (reflected dialect types become their generic kin; enums keep their
    name, which PostgreSQL needs), and without PostgreSQL sequence defaults, which belong to the source database."""
    out = sa.MetaData()
    for table in metadata.sorted_tables:
        copy = table.to_metadata(out)
        for column in copy.columns:
            column.type = _portable_type(column.type)
            default = column.server_default
            if isinstance(default, sa.DefaultClause) and "nextval(" in str(getattr(default.arg, "text", default.arg)):
                column.server_default = None
    return out


def _portable_type(t: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    if isinstance(t, sa.Enum):
        return sa.Enum(*t.enums, name=t.name or None)
    if t.__class__.__name__ == "TINYINT" and getattr(t, "display_width", None) == 1:
        return sa.Boolean()  # MySQL spells BOOLEAN as TINYINT(1); reflection cannot tell them apart
    try:
        generic = t.as_generic()
    except NotImplementedError:
        return t
    if isinstance(generic, sa.String):
        generic.collation = None  # collations are backend-specific names
    return generic


def _ops(metadata: sa.MetaData) -> tuple[ops.UpgradeOps, ops.DowngradeOps]:
    """Alembic's own diff of `metadata` against an empty database: create in the upgrade, drop in the downgrade."""
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        context = MigrationContext.configure(connection=conn)
        script = produce_migrations(context, metadata)
    engine.dispose()
    assert script.upgrade_ops is not None and script.downgrade_ops is not None
    return script.upgrade_ops, _without_index_drops(script.downgrade_ops)


def _without_index_drops(down: ops.DowngradeOps) -> ops.DowngradeOps:
    """Drop tables without dropping their indexes first: DROP TABLE takes them along, and MySQL refuses to drop an
    index that backs a foreign key."""
    dropped = {op.table_name for op in down.ops if isinstance(op, ops.DropTableOp)}
    kept: list[ops.MigrateOperation] = []
    for op in down.ops:
        if isinstance(op, ops.ModifyTableOps) and op.table_name in dropped:
            op.ops = [o for o in op.ops if not isinstance(o, ops.DropIndexOp)]
            if not op.ops:
                continue
        kept.append(op)
    return ops.DowngradeOps(ops=kept)


def _enum_names(metadata: sa.MetaData) -> list[str]:
    names = {c.type.name for t in metadata.tables.values() for c in t.columns if isinstance(c.type, sa.Enum)}
    return sorted(n for n in names if n)


def _drop_enums(names: Sequence[str]) -> str:
    # PostgreSQL keeps an enum type after DROP TABLE; without this a downgrade followed by an upgrade fails with
    # "type already exists". On other backends Enum.drop does nothing.
    return "".join(f"    sa.Enum(name={n!r}).drop(op.get_bind(), checkfirst=True)\n" for n in names)


def _existing_enums(code: str, names: Sequence[str]) -> str:
    """Rendered `sa.Enum(..., name='n')` of the enum types in `names`, made to use the existing PostgreSQL type
    instead of creating it: `.with_variant(postgresql.ENUM(name='n', create_type=False), 'postgresql')`. On other
    backends the generic type is unchanged (there an enum is not a type of its own)."""
    out, at, i = [], 0, 0
    while i < len(code):
        if code[i] in "'\"":  # a string literal: skip it whole (it may quote what looks like a call)
            i = _string_end(code, i) + 1
            continue
        found_call = _ENUM_CALL.match(code, i)
        if found_call is None or (i > 0 and (code[i - 1].isalnum() or code[i - 1] in "._")):
            i += 1
            continue
        end = _closing_paren(code, found_call.end())
        call = code[i : end + 1]
        named = re.search(r"\bname=(['\"])(.*?)\1", call)
        if not named or named.group(2) not in names or "create_type=" in call:
            out.append(code[at : end + 1])
        elif found_call.group(0).startswith("postgresql."):  # the core's own type, reflected from PostgreSQL
            out.append(code[at:end] + ", create_type=False)")
        else:
            variant = f"postgresql.ENUM(name={named.group(2)!r}, create_type=False)"
            out.append(code[at : end + 1] + f".with_variant({variant}, 'postgresql')")
        at = i = end + 1
    out.append(code[at:])
    return "".join(out)


_ENUM_CALL = re.compile(r"\b(?:sa\.Enum|postgresql\.ENUM)\(")


def _closing_paren(code: str, i: int) -> int:
    """The index of the parenthesis closing the call whose arguments start at `i` (string literals skipped)."""
    depth = 1
    while i < len(code):
        ch = code[i]
        if ch in "'\"":
            i = _string_end(code, i)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced parentheses in rendered migration code")


def _string_end(code: str, i: int) -> int:
    """The index of the quote closing the one-line string literal that opens at `i` (as repr() writes them)."""
    quote, i = code[i], i + 1
    while i < len(code) and code[i] != quote:
        i += 2 if code[i] == "\\" else 1
    return i


def _body(rendered: str) -> str:
    lines = rendered.strip("\n").splitlines()
    code = [line for line in lines if not line.strip().startswith("# ###")]
    if not any(line.strip() for line in code):
        return "    pass\n"
    return "\n".join(line if line.startswith("    ") or not line else "    " + line for line in code) + "\n"


_REVISION = '''"""{message}

Revision ID: {revision}
Revises: {down}
Create Date: generated by spinout
"""

from collections.abc import Sequence

{imports}
revision: str = {revision!r}
down_revision: str | Sequence[str] | None = {down_revision!r}
branch_labels: str | Sequence[str] | None = {branch_labels!r}
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
{upgrade}

def downgrade() -> None:
{downgrade}'''

_ENV = '''"""Alembic environment of the {name} database chain (version table {version_table}), generated by spinout.

The database URL comes from `sqlalchemy.url` in alembic.ini, else from the SPINOUT_DB_URL environment variable.
"""

import os

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection

VERSION_TABLE = {version_table!r}
config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("SPINOUT_DB_URL")
    if not url:
        raise SystemExit("set sqlalchemy.url in alembic.ini or the SPINOUT_DB_URL environment variable")
    return url


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=None, literal_binds=True, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

_MAKO = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''

_INI = """[alembic]
script_location = %(here)s
path_separator = os
{version_locations}
[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""


def _imports(code: str) -> str:
    lines = ["import sqlalchemy as sa", "from alembic import op"]
    dialects = sorted(set(_DIALECT_PREFIX.findall(code)))
    if dialects:
        lines.append(f"from sqlalchemy.dialects import {', '.join(dialects)}")
    return "\n".join(lines) + "\n"


def _write_env(directory: Path, name: str, vtable: str, version_locations: Sequence[Path] = ()) -> list[Path]:
    (directory / "versions").mkdir(parents=True, exist_ok=True)
    locations = ""
    if version_locations:
        locations = "version_locations = " + ":".join(str(p) for p in version_locations) + "\n"
    files = {
        directory / "env.py": _ENV.format(name=name, version_table=vtable),
        directory / "script.py.mako": _MAKO,
        directory / "alembic.ini": _INI.format(version_locations=locations),
    }
    for path, text in files.items():
        path.write_text(text)
    return list(files)


def _write_revision(
    directory: Path,
    message: str,
    revision: str,
    down_revision: str | None,
    upgrade: str,
    downgrade: str,
    branch_labels: Sequence[str] | None = None,
) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    path = directory / "versions" / f"{revision}_{slug}.py"
    text = _REVISION.format(
        message=message,
        revision=revision,
        down=down_revision or "",
        down_revision=down_revision,
        branch_labels=tuple(branch_labels) if branch_labels else None,
        imports=_imports(upgrade + downgrade),
        upgrade=upgrade,
        downgrade=downgrade,
    )
    path.write_text(text)
    return path


def service_environment(out: Path, service: str, service_md: sa.MetaData | None, tables: Sequence[str]) -> Written:
    """`out/<service>/`: env.py with version table alembic_version_<service>, the template, versions/ with the
    initial revision — creating the service's tables (separate mode, `service_md` given) or empty (shared mode)."""
    directory = out / service
    vtable = version_table(service)
    files = _write_env(directory, service, vtable)
    if service_md is None:
        revision = revision_id(service, "shared-base")
        message = f"start {service} chain (shared database: tables stay in the core database)"
        upgrade = downgrade = "    pass\n"
    else:
        md = portable(service_md)
        revision = revision_id(service, "initial", *tables)
        message = f"initial {service} schema"
        up_ops, down_ops = _ops(md)
        upgrade = _body(render_python_code(up_ops))
        downgrade = _body(render_python_code(down_ops)) + _drop_enums(_enum_names(md))
    files.append(_write_revision(directory, message, revision, None, upgrade, downgrade, (service.replace("-", "_"),)))
    return Written(service, directory, revision, None, vtable, tuple(files))


def core_head(core_alembic: Path) -> tuple[str, list[Path]]:
    """The single head of the core's alembic chain in `core_alembic` (its script directory), and its version
    locations."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    if not (core_alembic / "env.py").is_file():
        raise PlanError([Problem("--core-alembic", f"{core_alembic} is not an alembic script directory (no env.py)")])
    try:
        script = ScriptDirectory(str(core_alembic))
        heads = script.get_heads()
    except CommandError as exc:
        raise ToolError(f"cannot read the core's alembic chain in {core_alembic}: {exc}") from None
    if len(heads) != 1:
        raise ToolError(
            f"the core's alembic chain in {core_alembic} has {len(heads)} heads ({', '.join(heads) or 'none'})",
            hint="merge the heads (`alembic merge heads`) so that the strip revision has one parent",
        )
    return heads[0], [Path(p) for p in (script.version_locations or [script.versions])]


def core_environment(
    out: Path,
    core: str,
    core_md: sa.MetaData,
    moved: Sequence[str],
    core_alembic: Path | None,
) -> Written:
    """`out/<core>/`: the strip revision dropping the moved tables (downgrade recreates them). With the core's
    own chain it follows that chain's head and uses its version table (`alembic_version`); standalone it is a
    one-revision chain with version table alembic_version_<core>_strip."""
    directory = out / core
    down: str | None = None
    locations: list[Path] = []
    vtable = version_table(f"{core}_strip")
    if core_alembic is not None:
        down, locations = core_head(core_alembic.resolve())
        vtable = "alembic_version"
        locations.append((directory / "versions").resolve())
    files = _write_env(directory, core, vtable, locations)
    # The moved tables keep their foreign keys to core tables, which alembic's diff against an empty database
    # cannot resolve; the operations are therefore built from the tables directly, then rendered the same way.
    order = sorted_tables(core_md, moved)
    create: list[ops.MigrateOperation] = []
    for name in order:
        table = core_md.tables[name]
        create.append(ops.CreateTableOp.from_table(table))
        create.extend(ops.CreateIndexOp.from_index(ix) for ix in sorted(table.indexes, key=lambda i: str(i.name)))
    drop: list[ops.MigrateOperation] = [ops.DropTableOp.from_table(core_md.tables[n]) for n in reversed(order)]
    for op in drop:
        # DROP TABLE IF EXISTS: on MariaDB/MySQL each DROP commits on its own, so a strip killed halfway has dropped
        # some tables; its rerun applies the revision again (db strip checks that the gone tables were verified)
        op.if_exists = True  # type: ignore[attr-defined]
    up_ops, down_ops = ops.UpgradeOps(ops=create), ops.DowngradeOps(ops=drop)
    moved_md = _subset(core_md, order)
    kept_enums = set(_enum_names(_subset(core_md, [t for t in core_md.tables if t not in set(moved)])))
    strip_enums = [n for n in _enum_names(moved_md) if n not in kept_enums]
    upgrade = _body(render_python_code(down_ops)) + _drop_enums(strip_enums)
    # an enum type a core table still uses survives the upgrade: the downgrade must not create it again
    shared = [n for n in _enum_names(moved_md) if n in kept_enums]
    downgrade = _existing_enums(_body(render_python_code(up_ops)), shared)
    revision = revision_id(core, "strip", down or "", *sorted(moved))
    files.append(_write_revision(directory, "strip service tables from the core", revision, down, upgrade, downgrade))
    return Written(core, directory, revision, down, vtable, tuple(files))


def _subset(metadata: sa.MetaData, names: Sequence[str]) -> sa.MetaData:
    out = sa.MetaData()
    for name in names:
        metadata.tables[name].to_metadata(out)
    return out


def format_python(paths: Sequence[Path]) -> bool:
    """Format generated files with ruff (alembic's documented post-write hook does the same). False when ruff
    is not installed."""
    candidates = [Path(sys.executable).parent / "ruff", shutil.which("ruff")]
    ruff = next((str(c) for c in candidates if c and Path(c).exists()), None)
    if ruff is None:
        return False
    py = [str(p) for p in paths if p.suffix == ".py"]
    if not py:
        # ruff given no path formats the current directory: the user's own files.
        return True
    for args in (["check", "--fix-only", "--select", "I,F401", "--quiet"], ["format", "--quiet"]):
        proc = subprocess.run([ruff, *args, "--isolated", *py], capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 1):
            raise ToolError(f"ruff failed on the generated migrations: {proc.stderr.strip()}")
    return True
