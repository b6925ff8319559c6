"""Rich rendering of progress events and results for the terminal; JSON output for `--json`."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from spinout.progress import Advanced, Event, Finished, Noted, Started
from spinout.results import Result


class RichProgressSink:
    """Shows each task as a bar with rate and ETA on stderr; notes and summaries as lines."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self._console = console
        self._quiet = quiet
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._started: dict[str, float] = {}

    def _bars(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[counters]}"),
                console=self._console,
                transient=True,
            )
            self._progress.start()
        return self._progress

    def emit(self, event: Event) -> None:
        if isinstance(event, Noted):
            if event.level == "warning":
                # Event texts quote paths and plan text ("[haproxy]"): never read them as rich markup.
                self._console.print(f"[yellow]warning:[/] {escape(event.text)}")
            elif not self._quiet:
                self._console.print(escape(event.text))
            return
        if self._quiet:
            return
        if isinstance(event, Started):
            bars = self._bars()
            self._tasks[event.task] = bars.add_task(escape(event.description), total=event.total, rate="", counters="")
            self._started[event.task] = time.monotonic()
        elif isinstance(event, Advanced):
            tid = self._tasks.get(event.task)
            if tid is None:
                return
            elapsed = max(time.monotonic() - self._started[event.task], 1e-9)
            counters = " ".join(f"{k}={v}" for k, v in event.counters)
            self._bars().update(
                tid,
                completed=event.completed,
                total=event.total,
                rate=f"{event.completed / elapsed:,.0f}/s",
                counters=counters,
            )
        elif isinstance(event, Finished):
            tid = self._tasks.pop(event.task, None)
            if tid is not None and self._progress is not None:
                self._progress.remove_task(tid)
            if event.summary:
                self._console.print(f"[green]✓[/] {escape(event.summary)}")
            if not self._tasks:
                self.close()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def print_result(result: Result, *, as_json: bool, console: Console) -> None:
    if as_json:
        print_json(result.to_json())
        return
    for line in result.lines():
        console.print(line, markup=False, highlight=False, soft_wrap=True)  # long lines stay whole when piped


def print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
