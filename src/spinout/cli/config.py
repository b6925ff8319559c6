"""`spinout conf split` and `spinout upgrade`: the config stage's commands, thin over `spinout.api`."""

from __future__ import annotations

from pathlib import Path

import click

from spinout import api
from spinout.cli import PLAN_ARG, cli, common_options, run

CONFIG_DIR = click.option(
    "--config-dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory holding the core's config files (a checkout's root, or a deployment's /etc/<core>).",
)
DRY_RUN = click.option("--dry-run", is_flag=True, help="Change nothing; show what would be done.")


@cli.group("conf")
def conf_group() -> None:
    """Split configuration files into per-service files."""


@conf_group.command("split")
@PLAN_ARG
@CONFIG_DIR
@DRY_RUN
@common_options
def conf_split(plan: Path, config_dir: Path, dry_run: bool) -> None:
    """Move the services' options into their own INI files, as the plan's config rules say.

    Comments and repeated keys move with their options, everything else stays byte for byte; dotted names of
    moved modules are rewritten; the core settings are set or extended. Writes are atomic, each changed file gets
    a timestamped *.bak backup, and oslo.config must read the same values back (else the backups are restored).
    --dry-run prints a unified diff per file instead. Running it twice changes nothing.
    """
    run(lambda progress: api.conf_split(plan, config_dir, dry_run=dry_run, progress=progress))


def _service_url(value: str) -> tuple[str, str]:
    name, sep, url = value.partition("=")
    if not sep or not name or not url:
        # never echo the value: it may carry a password
        raise click.BadParameter("expected NAME=URL, e.g. neutron-lbaas=postgresql+psycopg://...")
    return name, url


@cli.command("upgrade")
@PLAN_ARG
@CONFIG_DIR
@click.option("--db-url", required=True, help="SQLAlchemy URL of the core's database.")
@click.option(
    "--service-db-url",
    "service_db_urls",
    multiple=True,
    metavar="NAME=URL",
    help="Database of one service (repeatable); services without one use the mode in the plan's [database].",
)
@DRY_RUN
@common_options
def upgrade(plan: Path, config_dir: Path, db_url: str, service_db_urls: tuple[str, ...], dry_run: bool) -> None:
    """The deployer's upgrade: split the config, migrate and copy the data, verify, strip the core.

    Every step is recorded in CONFIG_DIR/.spinout-upgrade.json, so an interrupted upgrade resumes where it stopped.
    --dry-run lists the steps and their state. Exits 1 while steps remain.
    """
    urls = dict(_service_url(v) for v in service_db_urls)
    run(lambda progress: api.upgrade(plan, config_dir, db_url, urls, dry_run=dry_run, progress=progress))
