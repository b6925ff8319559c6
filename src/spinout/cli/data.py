"""`spinout db plan|migrations|copy|verify|strip`: the data stage's commands."""

from __future__ import annotations

from pathlib import Path

import click

from spinout import api
from spinout.cli import PLAN_ARG, cli, common_options, run
from spinout.errors import PlanError, Problem

DB_URL = click.option(
    "--db-url",
    required=True,
    envvar="SPINOUT_DB_URL",
    help="URL of the source (core) database, e.g. postgresql+psycopg://user:pw@host/neutron [env SPINOUT_DB_URL].",
)
SERVICE_URLS = click.option(
    "--service-db-url",
    "service_db_urls",
    multiple=True,
    metavar="NAME=URL",
    help="Target database of service NAME (separate mode); repeat per service.",
)


def _service_urls(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url:
            # never echo the value: it may carry a password
            raise PlanError([Problem("--service-db-url", "expected NAME=URL, e.g. acme-lb=postgresql+psycopg://...")])
        out[name] = url
    return out


@cli.group("db")
def db_group() -> None:
    """Move service tables into their own databases: plan, migrations, copy, verify, strip."""


@db_group.command("plan")
@PLAN_ARG
@DB_URL
@common_options
def db_plan(plan: Path, db_url: str) -> None:
    """Classify the tables and foreign keys of the source database per PLAN (exit 2 on problems)."""
    run(lambda progress: api.db_plan(plan, db_url, progress))


@db_group.command("migrations")
@PLAN_ARG
@DB_URL
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Output directory.")
@click.option(
    "--core-alembic",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="The core's alembic script directory: the strip revision follows its head.",
)
@common_options
def db_migrations(plan: Path, db_url: str, out: Path, core_alembic: Path | None) -> None:
    """Write an alembic environment per service, and the core's strip revision, into OUT."""
    run(lambda progress: api.db_migrations(plan, db_url, out, core_alembic, progress))


@db_group.command("copy")
@PLAN_ARG
@DB_URL
@SERVICE_URLS
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Rows per batch (default: the plan's).")
@common_options
def db_copy(plan: Path, db_url: str, service_db_urls: tuple[str, ...], batch_size: int | None) -> None:
    """Copy each service's tables into its database; rerun after a crash to resume."""
    urls = _service_urls(service_db_urls)
    run(lambda progress: api.db_copy(plan, db_url, urls, batch_size, progress))


@db_group.command("verify")
@PLAN_ARG
@DB_URL
@SERVICE_URLS
@common_options
def db_verify(plan: Path, db_url: str, service_db_urls: tuple[str, ...]) -> None:
    """Compare row counts and checksums; list dangling cross-database references (exit 5 on mismatch)."""
    urls = _service_urls(service_db_urls)
    run(lambda progress: api.db_verify(plan, db_url, urls, progress))


@db_group.command("strip")
@PLAN_ARG
@DB_URL
@SERVICE_URLS
@click.option(
    "--migrations",
    "migrations_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    required=True,
    help="The --out directory of `spinout db migrations`.",
)
@click.option("--force", is_flag=True, help="Drop the tables even without a verified copy (data may be lost).")
@common_options
def db_strip(plan: Path, db_url: str, service_db_urls: tuple[str, ...], migrations_dir: Path, force: bool) -> None:
    """Drop the service tables from the core database, only after a verified copy."""
    urls = _service_urls(service_db_urls)
    run(lambda progress: api.db_strip(plan, db_url, urls, migrations_dir, force, progress))
