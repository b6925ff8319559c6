"""`spinout demo [DIR]`: build the sample monorepo and run every stage on it."""

from __future__ import annotations

from pathlib import Path

import click

from spinout import api
from spinout.cli import cli, common_options, run
from spinout.sample import DEFAULT_COMMITS, DEFAULT_ROWS, MIN_COMMITS


@cli.command("demo")
@click.argument("directory", metavar="[DIR]", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--commits",
    type=click.IntRange(min=MIN_COMMITS),
    default=DEFAULT_COMMITS,
    show_default=True,
    help="Approximate number of commits in the sample history.",
)
@click.option(
    "--rows",
    type=click.IntRange(min=1),
    default=DEFAULT_ROWS,
    show_default=True,
    help="Rows of the ports table; the other tables are sized from it.",
)
@common_options
def demo(directory: Path | None, commits: int, rows: int) -> None:
    """Build the sample monorepo into DIR and run every stage on it.

    DIR must be new or empty; without it a new temporary directory is used (and printed). The sample is a core
    package plus load-balancer, firewall and VPN services with a realistic history, a SQLite database, an
    oslo-style configuration directory and the plan that splits it.
    """
    run(lambda progress: api.demo(directory, commits=commits, rows=rows, progress=progress))
