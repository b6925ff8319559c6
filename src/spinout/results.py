"""Result objects returned by `spinout.api`: a human rendering, a JSON form and an exit code.

Findings (violations, failed checks) are results with a non-zero exit code, not exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from spinout.plan.model import Plan


class Result(Protocol):
    """What every command returns."""

    @property
    def exit_code(self) -> int: ...

    def to_json(self) -> dict[str, Any]: ...

    def lines(self) -> list[str]: ...


@dataclass(frozen=True)
class PlanCheckResult:
    plan_path: str
    plan: Plan
    main_commit: str

    @property
    def exit_code(self) -> int:
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "plan check",
            "ok": True,
            "plan": self.plan_path,
            "source": str(self.plan.source_repo),
            "main": {"ref": self.plan.source.main_ref, "commit": self.main_commit},
            "core": self.plan.core.name,
            "services": [s.name for s in self.plan.service],
            "problems": [],
        }

    def lines(self) -> list[str]:
        svcs = ", ".join(s.name for s in self.plan.service)
        return [
            f"plan {self.plan_path} is valid",
            f"  source {self.plan.source_repo} at {self.plan.source.main_ref} ({self.main_commit[:12]})",
            f"  core {self.plan.core.name} ({self.plan.core.history}); services: {svcs}",
        ]


@dataclass(frozen=True)
class StepsResult:
    """A sequence of named steps with their own lines, e.g. the demo."""

    command: str
    steps: list[tuple[str, list[str]]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    code: int = 0

    @property
    def exit_code(self) -> int:
        return self.code

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "steps": [{"name": n, "lines": ls} for n, ls in self.steps], **self.data}

    def lines(self) -> list[str]:
        out: list[str] = []
        for name, ls in self.steps:
            out.append(f"{name}:")
            out.extend(f"  {line}" for line in ls)
        return out
