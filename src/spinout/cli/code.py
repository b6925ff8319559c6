"""`spinout rewrite PLAN`: the code stage's command."""

from __future__ import annotations

from pathlib import Path

import click

from spinout import api
from spinout.cli import PLAN_ARG, cli, common_options, run


@cli.command("rewrite")
@PLAN_ARG
@click.option("--dry-run", is_flag=True, help="Print unified diffs of what would change; write nothing.")
@common_options
def rewrite(plan: Path, dry_run: bool) -> None:
    """Rewrite each split target for its new package: one commit per target.

    \b
    Services: imports, attribute chains and dotted names in strings that refer to moved modules; non-Python
    references (setup.cfg, tox.ini, MANIFEST.in, .gitreview, docs, INI values); packaging. Files libcst cannot
    parse (Python 2) go through a token-level fallback and are listed. A rewrite that would add a pyflakes
    undefined-name or unused-import error stops the stage (exit 6) with nothing written.
    Core: shims at the old import paths, entry-point aliases, requirements (plan `core.compat`, `core.dependency`).
    Rerunning replaces spinout's own commit instead of stacking another. `--json` lists every rewrite.
    """
    run(lambda progress: api.rewrite(plan, dry_run=dry_run, progress=progress))
