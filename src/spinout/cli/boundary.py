"""Commands of the boundary stage: `spinout guard PLAN`, `spinout guard check PLAN`, `spinout coupling PLAN`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from spinout import api
from spinout.cli import PLAN_ARG, cli, common_options, run

REPO_OPTION = click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="A work tree to use instead of the core's split target or the source's main branch.",
)


class _GuardGroup(click.Group):
    """`spinout guard PLAN` writes the contract; `spinout guard check PLAN` checks it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["write", *args]
        elif not args:
            args = ["write"]
        return super().parse_args(ctx, args)


@cli.group("guard", cls=_GuardGroup)
def guard_group() -> None:
    """Keep the core from importing the services (an import-linter contract).

    \b
      spinout guard PLAN [--repo PATH]         write the contract into the core's configuration
      spinout guard check PLAN [--repo PATH]   check it; exit 1 on violations
    """


@guard_group.command("write")
@PLAN_ARG
@REPO_OPTION
@common_options
def guard_write(plan: Path, repo: Path | None) -> None:
    """Write the contract into the core's pyproject.toml, .importlinter or setup.cfg (the one it uses).

    The core is the split target of the plan's core, or the work tree given with --repo. Run it again after
    the code changes: the allowed imports are listed exactly.
    """
    run(lambda progress: api.guard(plan, repo, progress))


@guard_group.command("check")
@PLAN_ARG
@REPO_OPTION
@common_options
def guard_check(plan: Path, repo: Path | None) -> None:
    """Report every import of a service by the core: importer, imported module, line, and the chain hop by hop.

    Checks --repo if given; else the core's split target if it exists (after the split); else the source's
    main branch (before the split: what would break). Exit 1 on violations, 0 when clean.
    """
    run(lambda progress: api.guard_check(plan, repo, progress))


@cli.command("coupling")
@PLAN_ARG
@REPO_OPTION
@click.option(
    "--svg", "svg", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Also draw services → core."
)
@common_options
def coupling(plan: Path, repo: Path | None, svg: Path | None) -> None:
    """Report, per service, every core module and name it uses, sorted by use (Markdown, or --json).

    Names private by convention and names no other core module uses are flagged.
    """
    run(lambda progress: api.coupling(plan, repo, svg, progress))


__all__: list[Any] = []
