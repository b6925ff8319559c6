"""The pyflakes post-check: a rewritten file must not gain an undefined name or an unused import.

pyflakes runs on every changed Python file before and after the rewrite. Messages are compared as multisets of
(kind, name) — not by line, since a split import shifts lines — and any undefined-name or unused-import message the
rewrite added is a `Finding` naming file and line. Files pyflakes cannot compile before the rewrite (Python 2) are
skipped: there is nothing to compare against. A file that compiled before and does not afterwards is a finding too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyflakes.api
import pyflakes.messages

_WATCHED = (pyflakes.messages.UndefinedName, pyflakes.messages.UnusedImport)


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class _Collector:
    """A pyflakes reporter that keeps messages instead of printing them."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.broken: str | None = None

    def unexpectedError(self, filename: str, msg: str) -> None:
        self.broken = msg

    def syntaxError(self, filename: str, msg: str, lineno: int, offset: int, text: str) -> None:
        self.broken = f"line {lineno}: {msg}"

    def flake(self, message: Any) -> None:
        self.messages.append(message)


def _flakes(data: bytes, path: str) -> _Collector:
    collector = _Collector()
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        collector.broken = "not UTF-8"
        return collector
    pyflakes.api.check(source, path, collector)
    return collector


def _key(message: Any, rename: Callable[[str], str] = str) -> tuple[str, str]:
    return type(message).__name__, rename(str(message.message_args[0]))


def check_file(path: str, before: bytes, after: bytes, rename: Callable[[str], str] = str) -> list[Finding]:
    """New undefined-name / unused-import messages in `after` compared with `before`.

    `rename` maps a name in a message about `before` to its spelling after the rewrite, so that an import that was
    already unused and only got its module renamed is not reported as new.
    """
    new = _flakes(after, path)
    if new.broken is None and not any(isinstance(m, _WATCHED) for m in new.messages):
        return []  # nothing to compare: the common case costs one pyflakes run, not two
    old = _flakes(before, path)
    if old.broken is not None:
        return []
    if new.broken is not None:
        return [Finding(path, 0, f"no longer compiles after the rewrite: {new.broken}")]
    budget = Counter(_key(m, rename) for m in old.messages if isinstance(m, _WATCHED))
    findings: list[Finding] = []
    for m in new.messages:
        if not isinstance(m, _WATCHED):
            continue
        key = _key(m)
        if budget[key] > 0:
            budget[key] -= 1
            continue
        findings.append(Finding(path, int(m.lineno), m.message % m.message_args))
    return findings
