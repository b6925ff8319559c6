"""`spinout split` and `spinout verify-split`: the history stage's commands (see docs/history.md)."""

from __future__ import annotations

from pathlib import Path

import click

from spinout import api
from spinout.cli import PLAN_ARG, cli, common_options, run


@cli.command("split")
@PLAN_ARG
@click.option(
    "--force",
    is_flag=True,
    help="Rebuild spinout's own targets from scratch (the plan changed); never removes a directory spinout did not "
    "create.",
)
@click.option("--verify", is_flag=True, help="Re-derive every kept commit's tree afterwards; exit 6 on mismatch.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes sharing the targets (default: one per core; 1: walk in this process).",
)
@common_options
def split_cmd(plan: Path, force: bool, verify: bool, jobs: int | None) -> None:
    """Write one git repository per target (each service, and the core), in one walk of the source history.

    Pruning follows git filter-repo. A rerun after the source gained commits processes only the new ones. The
    source repository is never modified.
    """
    run(lambda progress: api.split(plan, force=force, verify=verify, progress=progress, jobs=jobs))


@cli.command("verify-split")
@PLAN_ARG
@common_options
def verify_split_cmd(plan: Path) -> None:
    """Check a finished split: every kept commit's tree, re-derived from the source; exit 6 on mismatch."""
    run(lambda progress: api.verify_split(plan, progress))
