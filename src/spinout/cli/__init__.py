"""The `spinout` command line: a thin layer over `spinout.api`.

Only this package catches `SpinoutError`: it prints the message (and the traceback with `--debug`) and exits with
the error's code. Every command takes `--json` for machine-readable output and `--debug`.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from spinout import __version__, api
from spinout.cli.render import RichProgressSink, print_json, print_result
from spinout.errors import PlanError, SpinoutError
from spinout.progress import Progress
from spinout.repo import scrub_git_environment
from spinout.results import Result

F = TypeVar("F", bound=Callable[..., Any])

INTERNAL_ERROR = 70


@dataclass
class Settings:
    debug: bool = False
    json: bool = False
    quiet: bool = False


def _settings() -> Settings:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj


def _set_flag(name: str) -> Callable[[click.Context, click.Parameter, bool], bool]:
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value:
            setattr(_settings(), name, True)
        return value

    return callback


def common_options(func: F) -> F:
    """`--json`, `--debug`, `--quiet` on every command (they may also precede the command)."""
    func = click.option(
        "--json",
        "json_",
        is_flag=True,
        expose_value=False,
        callback=_set_flag("json"),
        help="Print the result as JSON on stdout.",
    )(func)
    func = click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        callback=_set_flag("debug"),
        help="Show tracebacks for errors.",
    )(func)
    func = click.option(
        "--quiet",
        "-q",
        is_flag=True,
        expose_value=False,
        callback=_set_flag("quiet"),
        help="Show no progress, only the result and warnings.",
    )(func)
    return func


def err_console() -> Console:
    return Console(stderr=True, soft_wrap=True)


def make_progress() -> tuple[Progress, RichProgressSink]:
    settings = _settings()
    sink = RichProgressSink(err_console(), quiet=settings.quiet or settings.json)
    return Progress(sink), sink


def run(call: Callable[[Progress], Result]) -> None:
    """Run an api call with a progress renderer, print its result, exit with its code."""
    progress, sink = make_progress()
    try:
        result = call(progress)
    finally:
        sink.close()
    print_result(result, as_json=_settings().json, console=Console(soft_wrap=True))
    if result.exit_code:
        raise SystemExit(result.exit_code)


PLAN_ARG = click.argument("plan", type=click.Path(path_type=Path, dir_okay=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="spinout")
@common_options
def cli() -> None:
    """Spin services off a Python monorepo, from one declarative plan (TOML).

    \b
    The maintainer's order:
      spinout plan check PLAN     check the plan against the source repository
      spinout split PLAN          one git repository per target, history preserved
      spinout rewrite PLAN        imports and packaging per service; shims in the core
      spinout guard PLAN          the import rule that keeps the core off the services
      spinout coupling PLAN       what each service uses of the core
      spinout db ... PLAN         per-service databases: migrations, copy, verify, strip
      spinout conf split PLAN     per-service config files, losslessly
    The deployer's:
      spinout upgrade PLAN        config split, migrations, copy, verify, strip; resumable
    To see it all on a built-in sample:
      spinout demo [DIR]

    See docs/plan.md for the plan format. Exit codes: 0 ok, 1 findings, 2 plan error, 3 unsafe to go on,
    4 tool failure, 5 data mismatch, 6 verification failed, 70 internal error.
    """


@cli.group("plan")
def plan_group() -> None:
    """Work with plan files."""


@plan_group.command("check")
@PLAN_ARG
@common_options
def plan_check(plan: Path) -> None:
    """Load PLAN and check it against its source repository.

    Reports every problem at once, each with its location (e.g. `service[1].paths[2]`), exits 2 if there is
    any, and writes nothing.
    """
    run(lambda progress: api.check_plan(plan, progress))


# Stage commands live in their own modules under spinout.cli; importing one adds its commands to `cli`.
STAGE_MODULES: tuple[str, ...] = ("demo", "config", "boundary", "code", "data", "history")


def _register_stages() -> None:
    for name in STAGE_MODULES:
        importlib.import_module(f"spinout.cli.{name}")


def _report(exc: SpinoutError, settings: Settings) -> None:
    if settings.json:
        payload: dict[str, Any] = {"ok": False, "error": type(exc).__name__, "message": exc.message}
        if exc.hint:
            payload["hint"] = exc.hint
        if isinstance(exc, PlanError):
            payload["problems"] = [{"location": p.location, "message": p.message} for p in exc.problems]
        print_json(payload)
    console = err_console()
    # Messages quote plan text ("[haproxy]", "paths[2]"): escape it so that rich does not read it as markup.
    console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
    if exc.hint:
        console.print(f"  [dim]hint:[/] {escape(exc.hint)}", highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `spinout` console script and `python -m spinout`."""
    _register_stages()
    scrub_git_environment()  # a git alias or hook that runs spinout exports GIT_DIR & co.: never inherit them
    settings = Settings()
    try:
        cli.main(
            args=list(argv) if argv is not None else None, prog_name="spinout", standalone_mode=False, obj=settings
        )
    except SpinoutError as exc:
        if settings.debug:
            traceback.print_exc()
        _report(exc, settings)
        return exc.exit_code
    except click.exceptions.Abort:
        _report_other(settings, "Aborted", "aborted")
        err_console().print("aborted")
        return 130
    except click.ClickException as exc:
        _report_other(settings, "UsageError", exc.format_message())
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        _report_other(settings, "Interrupted", "interrupted")
        err_console().print("interrupted")
        return 130
    except Exception as exc:
        # the exception's text may quote anything (a URL with its password): only its type goes out without --debug
        message = f"spinout hit a bug ({type(exc).__name__}); run again with --debug for the traceback and report it"
        _report_other(settings, "InternalError", message)
        if settings.debug:
            traceback.print_exc()
        else:
            err_console().print(f"[bold red]internal error:[/] {escape(message)}", highlight=False)
        return INTERNAL_ERROR
    return 0


def _report_other(settings: Settings, error: str, message: str) -> None:
    """With --json, every way a command ends without its result still prints one JSON object on stdout."""
    if settings.json:
        print_json({"ok": False, "error": error, "message": message})


if __name__ == "__main__":
    sys.exit(main())
