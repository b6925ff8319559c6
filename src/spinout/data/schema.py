"""Which table goes where: load the source schema (models' MetaData or reflection) and classify every foreign key.

`classify` is a pure function over a SQLAlchemy `MetaData` and the plan: it assigns each table to a service or to
the core and sorts every foreign key into kept (inside one service), cross-database (service → core: the column
stays, the constraint goes, the reference is reported and checked by `db verify`) or a problem (core → service,
service → another service: the core or a sibling would depend on data that leaves). `service_metadata` builds the
schema a service's own database gets; `load_metadata` is the adapter around it. `mask_url` and `scrub` (from
spinout.masking) keep credentials out of every message.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from spinout.errors import PlanError, Problem, ToolError
from spinout.masking import mask_url as mask_url  # re-exported: the data stage's modules import it from here
from spinout.masking import scrub as scrub
from spinout.plan.model import Plan

CORE = "<core>"

FkKind = Literal["kept", "cross", "core_to_service", "service_to_service"]


def db_message(exc: BaseException) -> str:
    """The driver's own message of a SQLAlchemy error (first line), else the error's text."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class ForeignKeyInfo:
    """One foreign key, classified. `columns`/`ref_columns` are parallel."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    owner: str
    ref_owner: str
    kind: FkKind
    name: str | None = None

    def describe(self) -> str:
        return f"{self.table}({', '.join(self.columns)}) -> {self.ref_table}({', '.join(self.ref_columns)})"

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "columns": list(self.columns),
            "ref_table": self.ref_table,
            "ref_columns": list(self.ref_columns),
            "owner": self.owner,
            "ref_owner": self.ref_owner,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class DataPlan:
    """Every table's owner and every foreign key's fate. Owners are service names or CORE."""

    owner: dict[str, str]
    services: dict[str, tuple[str, ...]]
    foreign_keys: tuple[ForeignKeyInfo, ...]
    problems: tuple[Problem, ...] = field(default=())

    def of_kind(self, kind: FkKind) -> list[ForeignKeyInfo]:
        return [fk for fk in self.foreign_keys if fk.kind == kind]

    def cross(self, service: str) -> list[ForeignKeyInfo]:
        """The service's references to core rows: plain columns in the service's database."""
        return [fk for fk in self.foreign_keys if fk.kind == "cross" and fk.owner == service]

    @property
    def moved_tables(self) -> list[str]:
        return [t for tables in self.services.values() for t in tables]

    def flagged(self) -> list[str]:
        """Core tables that reference a service table (they would dangle once the service's tables leave)."""
        return sorted({fk.table for fk in self.of_kind("core_to_service")})


def classify(metadata: sa.MetaData, plan: Plan) -> DataPlan:
    """Assign tables to services per `plan.service[i].tables` and classify every foreign key.

    Problems (located at the plan entry they concern) are collected, not raised: a plan table missing from the
    database, a table claimed by two services, a core table referencing a service table, a service referencing
    another service's table.
    """
    problems: list[Problem] = []
    owner: dict[str, str] = {name: CORE for name in metadata.tables}
    services: dict[str, tuple[str, ...]] = {}
    for i, svc in enumerate(plan.service):
        mine: list[str] = []
        for j, table in enumerate(svc.tables):
            loc = f"service[{i}].tables[{j}]"
            if table not in metadata.tables:
                problems.append(Problem(loc, f"table {table!r} is not in the source database"))
                continue
            if owner[table] != CORE:
                problems.append(Problem(loc, f"table {table!r} is already claimed by service {owner[table]!r}"))
                continue
            owner[table] = svc.name
            mine.append(table)
        services[svc.name] = tuple(mine)

    fks: list[ForeignKeyInfo] = []
    for tbl in metadata.tables.values():
        for fkc in sorted(tbl.foreign_key_constraints, key=lambda c: [e.parent.name for e in c.elements]):
            ref = fkc.referred_table.name if fkc.referred_table.schema is None else fkc.referred_table.fullname
            src_owner, ref_owner = owner[tbl.name], owner.get(ref, CORE)
            kind: FkKind
            if src_owner == ref_owner:
                kind = "kept"
            elif src_owner == CORE:
                kind = "core_to_service"
            elif ref_owner == CORE:
                kind = "cross"
            else:
                kind = "service_to_service"
            info = ForeignKeyInfo(
                table=tbl.name,
                columns=tuple(e.parent.name for e in fkc.elements),
                ref_table=ref,
                ref_columns=tuple(e.column.name for e in fkc.elements),
                owner=src_owner,
                ref_owner=ref_owner,
                kind=kind,
                name=fkc.name if isinstance(fkc.name, str) else None,
            )
            fks.append(info)
            if kind == "core_to_service":
                svc_index = next(i for i, s in enumerate(plan.service) if s.name == ref_owner)
                problems.append(
                    Problem(
                        f"service[{svc_index}].tables",
                        f"core table {tbl.name!r} references service table {ref!r} ({info.describe()}): the core "
                        f"would depend on data that leaves; add {tbl.name!r} to the service or drop the reference",
                    )
                )
            elif kind == "service_to_service":
                svc_index = next(i for i, s in enumerate(plan.service) if s.name == src_owner)
                problems.append(
                    Problem(
                        f"service[{svc_index}].tables",
                        f"{info.describe()} links service {src_owner!r} to service {ref_owner!r}; "
                        "move both tables into one service",
                    )
                )
    return DataPlan(owner=owner, services=services, foreign_keys=tuple(fks), problems=tuple(problems))


def require_clean(data_plan: DataPlan, source: str = "<plan>") -> None:
    """Raise PlanError when the classification found problems; commands that move data refuse to go on."""
    if data_plan.problems:
        raise PlanError(list(data_plan.problems), source=source)


def service_metadata(source: sa.MetaData, data_plan: DataPlan, service: str) -> sa.MetaData:
    """The schema of the service's own database: its tables, with foreign keys to core tables removed
    (the columns stay), everything else (types, defaults, keys, unique constraints, indexes) kept."""
    target = sa.MetaData()
    for name in sorted_tables(source, data_plan.services[service]):
        table = source.tables[name]
        copy = table.to_metadata(target)
        for fkc in list(copy.foreign_key_constraints):
            # target_fullname is a string: the referred core table is not in `target`, so it cannot be resolved
            referred = fkc.elements[0].target_fullname.rsplit(".", 1)[0]
            if data_plan.owner.get(referred, CORE) != service:
                copy.constraints.discard(fkc)
                for element in fkc.elements:
                    element.parent.foreign_keys.discard(element)
                    copy.foreign_keys.discard(element)
    return target


def sorted_tables(metadata: sa.MetaData, names: Iterable[str]) -> list[str]:
    """`names` in foreign-key order (referenced tables first), ties by name so that the order is stable."""
    wanted = set(names)
    tables = sorted((metadata.tables[n] for n in wanted), key=lambda t: t.name)
    # Self-references and cycles do not constrain the order: the copy writes whole tables, and a cycle is broken
    # the same way SQLAlchemy's create_all breaks it.
    ordered = sa.sql.util.sort_tables(tables)
    return [t.name for t in ordered if t.name in wanted]


def load_metadata(engine: sa.Engine, models: str | None, search_path: Iterable[Path] = ()) -> sa.MetaData:
    """The source schema: the models' MetaData when the plan names one ('module:attr'), else reflected.

    Reflection is lossy on SQLite (an enum becomes VARCHAR), so the models are preferred. They are imported with
    `search_path` (the source repository's working tree) in front of sys.path, since the models live in the
    monorepo. Bookkeeping tables of alembic and spinout are never part of the schema.
    """
    if models:
        module_name, _, attr = models.partition(":")
        added = [str(p) for p in search_path if p.is_dir() and str(p) not in sys.path]
        sys.path[:0] = added
        loaded = set(sys.modules)
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ToolError(
                f"cannot import {module_name!r} named by database.metadata: {exc}",
                hint="install the monorepo's package into this environment or remove database.metadata",
            ) from None
        finally:
            for entry in added:
                sys.path.remove(entry)
            # Forget the modules imported from the source tree (the MetaData object outlives them): a later import
            # of the same package, from another tree or by another stage's analysis, must not get these.
            for name in set(sys.modules) - loaded:
                origin = getattr(sys.modules[name], "__file__", None) or ""
                if any(origin.startswith(entry + "/") for entry in added):
                    del sys.modules[name]
        value: object = module
        for part in attr.split("."):
            value = getattr(value, part, None)
        if not isinstance(value, sa.MetaData):
            raise ToolError(
                f"database.metadata {models!r} is not a SQLAlchemy MetaData (found {type(value).__name__})",
                hint="name the declarative base's metadata, e.g. 'pkg.db.models:Base.metadata'",
            )
        return value
    metadata = sa.MetaData()
    if engine.dialect.name == "mysql":
        _exact_mysql_reflection(engine.dialect)
    elif engine.dialect.name == "postgresql":
        _exact_postgresql_foreign_keys(engine.dialect)
    try:
        with warnings.catch_warnings():
            # the MySQL parser's complaint about a foreign key line it cannot read: information_schema has the key
            warnings.filterwarnings("ignore", r"Unknown schema content: '  CONSTRAINT .* FOREIGN KEY", sa.exc.SAWarning)
            # SQLite: the key is read exactly (PRAGMA foreign_key_list); only its name, which SQLAlchemy looks for in
            # the CREATE TABLE text, is lost when the referred table's name holds a double quote
            warnings.filterwarnings("ignore", r"WARNING: SQL-parsed foreign key constraint", sa.exc.SAWarning)
            metadata.reflect(engine, only=lambda name, _md: not is_bookkeeping(name))
    except sa.exc.SQLAlchemyError as exc:
        raise ToolError(
            f"cannot read the schema of {mask_url(engine.url)}: {scrub(db_message(exc), [engine.url])}",
            hint="check --db-url and that the database server is reachable",
        ) from None
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        # SQLAlchemy parses some catalog text with regular expressions; a name they cannot read must not crash
        raise ToolError(
            f"cannot read the schema of {mask_url(engine.url)}: SQLAlchemy's reflection failed on it "
            f"({type(exc).__name__}: {scrub(str(exc), [engine.url])})",
            hint="name the models' MetaData in the plan (database.metadata) instead of reflecting the schema, "
            "and report this with the table definitions",
        ) from None
    return metadata


# -- MySQL/MariaDB reflection with exact names ----------------------------------------------------------------------
#
# SQLAlchemy reads a MySQL table's columns, keys and indexes by parsing SHOW CREATE TABLE with regular expressions.
# Names there are quoted with backticks, a backtick inside a name doubled; the parser keeps it doubled (a column
# i`d comes back as i``d, and every later statement names a column that does not exist), and a foreign key whose
# names its pattern cannot read (a backtick in the referred table's name, a ')' in a column's) is dropped with a
# mere warning, so `db plan` would not classify it. The reflection of one engine is corrected here: names are
# unescaped, a column the parser skipped is an error naming it, and foreign keys are read from information_schema,
# which lists names as they are.

_COLUMNS_OF = sa.text(
    "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = :schema AND TABLE_NAME = :table "
    "ORDER BY ORDINAL_POSITION"
)
_FOREIGN_KEYS_OF = sa.text(
    "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, "
    "k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE "
    "FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
    "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
    "AND r.TABLE_NAME = k.TABLE_NAME "
    "WHERE k.TABLE_SCHEMA = :schema AND k.TABLE_NAME = :table AND k.REFERENCED_TABLE_NAME IS NOT NULL "
    "ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
)


def _unescape(name: Any) -> Any:
    return name.replace("``", "`") if isinstance(name, str) else name


def _exact_mysql_reflection(dialect: sa.Dialect) -> None:
    """Wrap this dialect instance's reflection methods (the engine's own; SQLAlchemy's reflection calls them for
    every table) so that names come back exact. Idempotent."""
    if getattr(dialect, "_spinout_exact_names", False):
        return
    d: Any = dialect
    get_columns, get_pk, get_indexes, get_uniques = (
        d.get_columns,
        d.get_pk_constraint,
        d.get_indexes,
        d.get_unique_constraints,
    )

    def schema_of(connection: sa.Connection, schema: str | None) -> str:
        return schema or str(connection.dialect.default_schema_name)

    def columns(connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any) -> Any:
        found = get_columns(connection, table_name, schema, **kw)
        for column in found:
            column["name"] = _unescape(column["name"])
        real = list(connection.execute(_COLUMNS_OF, {"schema": schema_of(connection, schema), "table": table_name}))
        missing = [r[0] for r in real if r[0] not in {c["name"] for c in found}]
        if missing:
            raise ToolError(
                f"cannot read the definition of column(s) {', '.join(map(repr, missing))} of table {table_name!r} "
                "(SQLAlchemy's MySQL reflection did not parse its SHOW CREATE TABLE line)",
                hint="name the models' MetaData in the plan (database.metadata) instead of reflecting the schema",
            )
        return found

    def pk(connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any) -> Any:
        found = get_pk(connection, table_name, schema, **kw)
        found["name"] = _unescape(found.get("name"))
        found["constrained_columns"] = [_unescape(c) for c in found.get("constrained_columns", [])]
        return found

    def indexes(connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any) -> Any:
        found = get_indexes(connection, table_name, schema, **kw)
        for index in found:
            index["name"] = _unescape(index.get("name"))
            index["column_names"] = [_unescape(c) for c in index.get("column_names", [])]
            if "duplicates_constraint" in index:
                index["duplicates_constraint"] = _unescape(index["duplicates_constraint"])
            options = index.get("dialect_options") or {}
            if isinstance(options.get("mysql_length"), dict):
                options["mysql_length"] = {_unescape(k): v for k, v in options["mysql_length"].items()}
        return found

    def uniques(connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any) -> Any:
        found = get_uniques(connection, table_name, schema, **kw)
        for unique in found:
            unique["name"] = _unescape(unique.get("name"))
            unique["column_names"] = [_unescape(c) for c in unique.get("column_names", [])]
            if "duplicates_index" in unique:
                unique["duplicates_index"] = _unescape(unique["duplicates_index"])
        return found

    def foreign_keys(connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any) -> Any:
        own = schema_of(connection, schema)
        keys: dict[str, dict[str, Any]] = {}
        for name, column, ref_schema, ref_table, ref_column, on_update, on_delete in connection.execute(
            _FOREIGN_KEYS_OF, {"schema": own, "table": table_name}
        ):
            key = keys.setdefault(
                name,
                {
                    "name": name,
                    "constrained_columns": [],
                    "referred_schema": schema if ref_schema == own else ref_schema,
                    "referred_table": ref_table,
                    "referred_columns": [],
                    # as SQLAlchemy's own reflection: the server's default (RESTRICT / NO ACTION) is not an option
                    "options": {
                        option: rule
                        for option, rule in (("onupdate", on_update), ("ondelete", on_delete))
                        if rule not in ("RESTRICT", "NO ACTION")
                    },
                },
            )
            key["constrained_columns"].append(column)
            key["referred_columns"].append(ref_column)
        return list(keys.values())

    d.get_columns, d.get_pk_constraint, d.get_indexes = columns, pk, indexes
    d.get_unique_constraints, d.get_foreign_keys = uniques, foreign_keys
    d._spinout_exact_names = True


# PostgreSQL: SQLAlchemy reads a foreign key's columns from pg_get_constraintdef's text and splits the list at
# commas, inside quoted names too (a column "a, b" becomes two). The column lists are taken from pg_constraint's
# conkey/confkey instead; everything else SQLAlchemy parses (quoted names included) is kept.
_PG_FOREIGN_KEY_COLUMNS = sa.text(
    """
    SELECT cl.relname, c.conname,
           array_agg(a.attname::text ORDER BY k.i), array_agg(b.attname::text ORDER BY k.i)
    FROM pg_constraint c
    JOIN pg_class cl ON cl.oid = c.conrelid
    CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(l, r, i)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.l
    JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = k.r
    WHERE c.contype = 'f'
      AND cl.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = COALESCE(:schema, current_schema()))
    GROUP BY cl.relname, c.conname
    """
)


def _exact_postgresql_foreign_keys(dialect: sa.Dialect) -> None:
    if getattr(dialect, "_spinout_exact_names", False):
        return
    d: Any = dialect
    get_multi = d.get_multi_foreign_keys

    def multi(connection: sa.Connection, schema: str | None, *args: Any, **kw: Any) -> Any:
        found = list(get_multi(connection, schema, *args, **kw))
        exact = {
            (table, name): (list(local), list(remote))
            for table, name, local, remote in connection.execute(_PG_FOREIGN_KEY_COLUMNS, {"schema": schema})
        }
        for (_, table), keys in found:
            for key in keys:
                columns = exact.get((table, key["name"]))
                if columns is not None:
                    key["constrained_columns"], key["referred_columns"] = columns
        return found

    d.get_multi_foreign_keys = multi
    d._spinout_exact_names = True


def reflect_table(engine: sa.Engine, name: str) -> sa.Table:
    """One table as the database has it, with the same exact-name corrections as `load_metadata`."""
    if engine.dialect.name == "mysql":
        _exact_mysql_reflection(engine.dialect)
    elif engine.dialect.name == "postgresql":
        _exact_postgresql_foreign_keys(engine.dialect)
    return sa.Table(name, sa.MetaData(), autoload_with=engine)


def is_bookkeeping(name: str) -> bool:
    return name.startswith("alembic_version") or name.startswith("spinout_")


def version_table(service: str) -> str:
    """`alembic_version_<service>` with the service name made an identifier (acme-lb → acme_lb)."""
    return "alembic_version_" + "".join(c if c.isalnum() else "_" for c in service.lower())
