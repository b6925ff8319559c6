"""The one error hierarchy of spinout.

Every failure a user can cause or fix is a `SpinoutError` subclass with its own exit code; only `spinout.cli`
catches them. A message says what happened, why, and what to do. Findings (violations, failed checks) are not
errors: they are results with an exit code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class SpinoutError(Exception):
    """Base of every error spinout raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


@dataclass(frozen=True)
class Problem:
    """One located problem in a plan: `location` is a path such as `service[1].paths[2]`."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class PlanError(SpinoutError):
    """The plan is malformed or does not fit the source repository. Carries every problem found."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        where = f" in {source}" if source else ""
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''}{where}:"
        body = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{head}\n{body}", hint="fix the plan and run `spinout plan check PLAN` again")


class UnsafeSourceError(SpinoutError):
    """Going on would change or lose something the user did not ask to change (source repo, target, data)."""

    exit_code = 3


class ToolError(SpinoutError):
    """An external tool or library failed (git, a database driver, a subprocess)."""

    exit_code = 4


class DataMismatch(SpinoutError):
    """Copied data differs from its source (counts or checksums), or a row was rejected."""

    exit_code = 5


class VerificationFailed(SpinoutError):
    """A result failed its own verification (a rewritten tree, an equivalence check, a post-check)."""

    exit_code = 6
