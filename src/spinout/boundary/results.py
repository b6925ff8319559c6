"""Result objects of the boundary stage's commands: `guard`, `guard check`, `coupling`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spinout.boundary.contracts import Boundary, Violation
from spinout.boundary.coupling import ServiceCoupling, markdown
from spinout.boundary.tree import Unparsable


def _unparsable_lines(unparsable: tuple[Unparsable, ...]) -> list[str]:
    if not unparsable:
        return []
    out = [f"{len(unparsable)} file(s) do not parse as Python 3 and were left out:"]
    out += [f"  {u}" for u in unparsable]
    return out


def _contracts_json(boundary: Boundary) -> list[dict[str, Any]]:
    return [{"id": c.id, "name": c.name, "type": c.type, **c.as_options()} for c in boundary.contracts]


@dataclass(frozen=True)
class GuardResult:
    """`spinout guard PLAN`: the contracts written into the core's configuration."""

    tree: str
    config: Path
    created: bool
    changed: bool
    boundary: Boundary
    unparsable: tuple[Unparsable, ...] = ()

    @property
    def exit_code(self) -> int:
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "guard",
            "ok": True,
            "tree": self.tree,
            "config": str(self.config),
            "created": self.created,
            "changed": self.changed,
            "protected": {"internal": list(self.boundary.internal), "external": list(self.boundary.external)},
            "ignore_imports": list(self.boundary.ignore_imports),
            "contracts": _contracts_json(self.boundary),
            "warnings": list(self.boundary.warnings),
            "unparsable": [{"path": u.path, "line": u.line, "message": u.message} for u in self.unparsable],
        }

    def lines(self) -> list[str]:
        verb = "created" if self.created else ("updated" if self.changed else "already up to date:")
        out = [f"{verb} {self.config}: {len(self.boundary.contracts)} contract(s)"]
        for c in self.boundary.contracts:
            out.append(f"  {c.id} ({c.type})")
        out.append(f"  protected in the core: {', '.join(self.boundary.internal) or 'none'}")
        out.append(f"  service packages: {', '.join(self.boundary.external) or 'none'}")
        out += [f"  allowed: {i}" for i in self.boundary.ignore_imports]
        out += [f"warning: {w}" for w in self.boundary.warnings]
        out += _unparsable_lines(self.unparsable)
        out.append(f"check it with `lint-imports --config {self.config.name}` in the core, or `spinout guard check`")
        return out


@dataclass(frozen=True)
class GuardCheckResult:
    """`spinout guard check PLAN`: the violations of the boundary; exit 1 if there is any."""

    tree: str
    boundary: Boundary
    violations: tuple[Violation, ...]
    unparsable: tuple[Unparsable, ...] = ()
    modules: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.violations else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "guard check",
            "ok": not self.violations,
            "tree": self.tree,
            "modules": self.modules,
            "contracts": _contracts_json(self.boundary),
            "violations": [v.to_json() for v in self.violations],
            "warnings": list(self.boundary.warnings),
            "unparsable": [{"path": u.path, "line": u.line, "message": u.message} for u in self.unparsable],
        }

    def lines(self) -> list[str]:
        out: list[str] = []
        for v in self.violations:
            first = v.hops[0]
            line = f":{first.lines[0]}" if first.lines else ""
            if v.direct:
                text = f"  ({first.contents[0].strip()})" if first.contents else ""
                out.append(f"{v.importer}{line} imports {v.imported}{text}")
                continue
            out.append(f"{v.importer}{line} indirectly imports {v.imported}")
            for hop in v.hops:
                text = f"  ({hop.contents[0].strip()})" if hop.contents else ""
                out.append(f"    {hop}{text}")
        out += [f"warning: {w}" for w in self.boundary.warnings]
        out += _unparsable_lines(self.unparsable)
        n = len(self.violations)
        if n:
            out.append(f"{n} boundary violation{'s' if n != 1 else ''} in {self.tree} ({self.modules} modules)")
        else:
            out.append(f"boundary kept: the core does not import the services ({self.modules} modules checked)")
        return out


@dataclass(frozen=True)
class CouplingResult:
    """`spinout coupling PLAN`: per service, the core modules and names it uses."""

    tree: str
    services: tuple[ServiceCoupling, ...]
    unparsable: tuple[Unparsable, ...] = ()
    svg: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "coupling",
            "ok": True,
            "tree": self.tree,
            "services": [{"service": s.service, "core_modules": list(s.modules)} for s in self.services],
            "svg": str(self.svg) if self.svg else None,
            "unparsable": [{"path": u.path, "line": u.line, "message": u.message} for u in self.unparsable],
        }

    def lines(self) -> list[str]:
        out = markdown(self.services)
        if self.unparsable:
            out += ["", *_unparsable_lines(self.unparsable)]
        if self.svg:
            out += ["", f"picture: {self.svg}"]
        return out
