"""The module map: which dotted module names change, derived from the files that actually move.

Shared by the code, boundary and config stages (it sits in the plan layer, below them all). A module is renamed
only if its file moves to a service: a module that stays in the core keeps its name even when it shares a prefix
with moved ones (in 2014, `neutron.services.provider_configuration` was rewritten to the service package by mistake).
A file a service lists in `shared` is a copy — it stays in the core — so it never moves a module.

Pure: takes the plan and the list of file paths at the source's main branch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from spinout.plan.model import Plan, Service, is_dotted_identifier, path_covers


def path_to_module(path: str) -> str | None:
    """`acme/services/lb/plugin.py` → `acme.services.lb.plugin`; `acme/lb/__init__.py` → `acme.lb`; else None."""
    if not path.endswith(".py"):
        return None
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts:
        return None
    dotted = ".".join(parts)
    return dotted if is_dotted_identifier(dotted) else None


def moved_files(service: Service, files: Iterable[str]) -> dict[str, str]:
    """Files of the source tree that leave the core for `service`, old path → new path."""
    out: dict[str, str] = {}
    for f in files:
        if any(path_covers(s, f) for s in service.shared):
            continue
        if any(path_covers(p, f) for p in service.paths):
            out[f] = service.renamed(f)
    return out


@dataclass(frozen=True)
class ModuleMap:
    """Old dotted module name → (new dotted name, service name), for moved modules only."""

    moves: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def lookup(self, dotted: str) -> tuple[str, str, str] | None:
        """The longest moved module that `dotted` is or lies inside, as (old prefix, new prefix, service)."""
        parts = dotted.split(".")
        for n in range(len(parts), 0, -1):
            prefix = ".".join(parts[:n])
            hit = self.moves.get(prefix)
            if hit is not None:
                return prefix, hit[0], hit[1]
        return None

    def rename(self, dotted: str) -> str | None:
        """The new name of `dotted` (a module or a name inside one), or None if it did not move."""
        hit = self.lookup(dotted)
        if hit is None:
            return None
        old, new, _ = hit
        return new + dotted[len(old) :]

    def for_service(self, name: str) -> dict[str, str]:
        return {old: new for old, (new, svc) in self.moves.items() if svc == name}

    def __len__(self) -> int:
        return len(self.moves)


def build_module_map(plan: Plan, files: Iterable[str]) -> ModuleMap:
    """Derive the module map from the files at the source's main branch, plus each service's `modules` overrides."""
    file_list = list(files)
    moves: dict[str, tuple[str, str]] = {}
    for svc in plan.service:
        for old_path, new_path in moved_files(svc, file_list).items():
            old_mod, new_mod = path_to_module(old_path), path_to_module(new_path)
            if old_mod is None or new_mod is None or old_mod == new_mod:
                continue
            moves[old_mod] = (new_mod, svc.name)
        for old_mod, new_mod in svc.modules.items():
            moves[old_mod] = (new_mod, svc.name)
    return ModuleMap(moves)
