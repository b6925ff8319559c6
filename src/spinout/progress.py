"""The one progress protocol: stages emit events, a sink renders or records them.

Engines take a `Progress` and call `start`, `advance`, `note` and `finish`; they never print. The CLI passes a
rich renderer, tests pass `RecordingProgress`, library users may pass `NullProgress`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar, runtime_checkable


@dataclass(frozen=True)
class Started:
    """A task began. `total` is None when the amount of work is unknown."""

    task: str
    description: str
    total: int | None = None


@dataclass(frozen=True)
class Advanced:
    """A task moved on to `completed` units; `counters` carries named figures (e.g. kept commits per target)."""

    task: str
    completed: int
    total: int | None = None
    counters: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Noted:
    """A message worth showing the user while work goes on."""

    level: Literal["info", "warning"]
    text: str


@dataclass(frozen=True)
class Finished:
    """A task ended; `summary` is a one-line account of what it did."""

    task: str
    summary: str = ""


Event = Started | Advanced | Noted | Finished
E = TypeVar("E", Started, Advanced, Noted, Finished)


@runtime_checkable
class ProgressSink(Protocol):
    """Anything that accepts progress events."""

    def emit(self, event: Event) -> None: ...


class Progress:
    """Convenience front over a sink; engines hold one of these."""

    def __init__(self, sink: ProgressSink | None = None) -> None:
        self._sink = sink

    def emit(self, event: Event) -> None:
        if self._sink is not None:
            self._sink.emit(event)

    def start(self, task: str, description: str, total: int | None = None) -> None:
        self.emit(Started(task, description, total))

    def advance(
        self, task: str, completed: int, total: int | None = None, counters: dict[str, int] | None = None
    ) -> None:
        self.emit(Advanced(task, completed, total, tuple(sorted((counters or {}).items()))))

    def note(self, text: str, level: Literal["info", "warning"] = "info") -> None:
        self.emit(Noted(level, text))

    def warn(self, text: str) -> None:
        self.note(text, "warning")

    def finish(self, task: str, summary: str = "") -> None:
        self.emit(Finished(task, summary))


class NullProgress(Progress):
    """Discards every event."""

    def __init__(self) -> None:
        super().__init__(None)


@dataclass
class RecordingProgress(Progress):
    """Keeps every event in order; the fake that tests pass to engines."""

    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(None)

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def notes(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Noted)]
