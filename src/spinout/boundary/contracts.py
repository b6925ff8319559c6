"""The import-linter contract that keeps the core from importing the services: generate it, check it.

What is protected: each service's package and, during the transition, the old dotted paths of the modules that
move (from the module map, collapsed to the top-most moved packages). Inside the core's graph the old paths are
internal modules; the services' new packages are external to it (they live in other repositories).

Two contract types, as the plan's `[boundary] contract` says:

* `protected` — import-linter's protected contract over the internal protected modules (the protected modules may
  import each other: they are the service code, or compat shims that re-export it), plus a `forbidden` contract for
  the services' external packages: a protected contract errors on a module absent from the graph, and a clean core
  never imports a service package, so only a forbidden contract can guard those.
* `forbidden` — forbidden contracts with every protected module as forbidden and the core's modules as sources.

The sources of a forbidden contract are never the root package: import-linter skips a source that contains the
forbidden module, so `acme` → `acme.services.lb` would pass even when broken. The sources are the largest core
subpackages holding no protected module (`as_packages`), plus — in a second contract with `as_packages = False` —
the `__init__` modules of the packages that mix core and protected modules (the root among them).

The plan's `allow` entries ('importer -> imported', each side a module or package) become `ignore_imports` lines:
the actual direct imports they cover, so that the written contract is exact and import-linter itself flags an
entry once its import is gone. An entry that covers no import is a plan error at `boundary.allow[i]`.

Pure: decisions over the plan, the module map and a grimp graph; checking runs import-linter's contract classes
on that graph (no subprocess, no configuration file).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grimp

from spinout.errors import PlanError, Problem, ToolError
from spinout.plan.model import Plan, is_dotted_identifier, path_covers
from spinout.plan.modules import ModuleMap

CONTRACT_ID = "spinout-boundary"

OptionValue = str | tuple[str, ...]


@dataclass(frozen=True)
class ContractSpec:
    """One import-linter contract, as its configuration options."""

    id: str
    name: str
    type: str
    options: Mapping[str, OptionValue] = field(default_factory=dict)

    def as_options(self) -> dict[str, Any]:
        """Options as import-linter reads them from a configuration file (lists of strings, strings)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()}


@dataclass(frozen=True)
class Boundary:
    """The computed boundary: what is protected, the contracts, and what went into them."""

    root: str
    internal: tuple[str, ...]  # protected modules inside the core's graph (old paths, in-tree service packages)
    external: tuple[str, ...]  # the services' packages outside the core (top-level names)
    ignore_imports: tuple[str, ...]  # 'importer -> imported', from the plan's allow entries
    contracts: tuple[ContractSpec, ...]
    warnings: tuple[str, ...] = ()

    @property
    def include_external(self) -> bool:
        return bool(self.external)

    def session_options(self) -> dict[str, Any]:
        return {"root_packages": [self.root], "include_external_packages": "True" if self.external else "False"}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def collapse_moved(moved: Iterable[str], present: set[str]) -> tuple[list[str], list[str]]:
    """The top-most moved packages among the modules present, and warnings.

    A module stands for its whole subtree only if every present module under it moved too; a moved package
    `__init__` with a descendant that stays cannot be protected as a package, so it is left out with a warning
    (its moved descendants are still protected one by one).
    """
    moved_present = {m for m in moved if m in present}
    by_prefix: dict[str, list[str]] = {}
    for m in present:
        parts = m.split(".")
        for n in range(1, len(parts)):
            by_prefix.setdefault(".".join(parts[:n]), []).append(m)

    def whole(m: str) -> bool:
        return m in moved_present and all(d in moved_present for d in by_prefix.get(m, ()))

    out: list[str] = []
    warnings: list[str] = []
    for m in sorted(moved_present):
        parts = m.split(".")
        if any(whole(".".join(parts[:n])) for n in range(1, len(parts))):
            continue  # covered by a moved ancestor
        if whole(m):
            out.append(m)
        else:
            stays = sorted(d for d in by_prefix.get(m, ()) if d not in moved_present)
            warnings.append(
                f"{m} moves but {stays[0]} under it stays in the core: {m} itself is not protected "
                "(its moved modules are)"
            )
    return out, warnings


def core_sources(root: str, present: set[str], protected: Sequence[str]) -> tuple[list[str], list[str]]:
    """The sources of a forbidden contract: (largest core subpackages free of protected modules, mixed inits).

    The root package is always a mixed `__init__`, never a package source (see the module docstring).
    """
    children: dict[str, list[str]] = {}
    for m in present:
        if "." in m:
            children.setdefault(m.rsplit(".", 1)[0], []).append(m)
    packages: list[str] = []
    mixed: list[str] = [root]

    def holds_protected(m: str) -> bool:
        return any(_within(p, m) for p in protected)

    def visit(parent: str) -> None:
        for child in sorted(children.get(parent, ())):
            if any(_within(child, p) for p in protected):
                continue
            if holds_protected(child):
                mixed.append(child)
                visit(child)
            else:
                packages.append(child)

    visit(root)
    return packages, mixed


def _is_protected(module: str, graph: grimp.ImportGraph, internal: Sequence[str], external: Sequence[str]) -> bool:
    if any(_within(module, p) for p in internal):
        return True
    return module in external and graph.is_module_squashed(module)


def renamed_by_plan(plan: Plan, dotted: str) -> set[str]:
    """The new names the services' path renames give `dotted` (as a package or a module), from the plan alone.

    The module map needs the moved files; in the core after the split, without the monorepo at hand, they are gone.
    """
    out: set[str] = set()
    base = dotted.replace(".", "/")
    for svc in plan.service:
        for path in (base + "/", base + ".py"):
            moves = any(path_covers(p, path) for p in svc.paths) and not any(path_covers(p, path) for p in svc.shared)
            if moves:
                new = svc.renamed(path)
                new = new[: -len(".py")] if new.endswith(".py") else new.rstrip("/")
                if new and is_dotted_identifier(new.replace("/", ".")):
                    out.add(new.replace("/", "."))
    return out


def resolve_allow(
    plan: Plan, graph: grimp.ImportGraph, module_map: ModuleMap, internal: Sequence[str], external: Sequence[str]
) -> list[str]:
    """The direct imports the plan's allow entries cover, as import-linter `ignore_imports` lines.

    Each side of an entry is a module or a package (covering its descendants); the imported side may be written
    with its old or its new name. Raises PlanError, located at `boundary.allow[i]`, for an entry covering none.
    """
    problems: list[Problem] = []
    pairs: set[str] = set()
    modules = graph.modules
    for i, (importer, imported) in enumerate(plan.boundary.allowed_pairs()):
        # the imported side may be written with the old name (before the split) or the new one (after it)
        targets = {imported}
        renamed = module_map.rename(imported)
        if renamed is not None:
            targets.add(renamed)
        targets |= {old for old, (new, _) in module_map.moves.items() if new == imported}
        targets |= renamed_by_plan(plan, imported)
        found: set[str] = set()
        sources = [m for m in modules if _within(m, importer) and not graph.is_module_squashed(m)]
        for source in sources:
            if _is_protected(source, graph, internal, external):
                continue
            for target in graph.find_modules_directly_imported_by(source):
                if not _is_protected(target, graph, internal, external):
                    continue
                squashed = graph.is_module_squashed(target)
                if any(_within(target, t) or (squashed and _within(t, target)) for t in targets):
                    found.add(f"{source} -> {target}")
        if not found:
            why = (
                f"no module {importer} in the core"
                if not sources
                else f"no import from {importer} of a protected module under {' or '.join(sorted(targets))}"
            )
            problems.append(
                Problem(f"boundary.allow[{i}]", f"'{importer} -> {imported}' matches no actual import: {why}")
            )
        pairs |= found
    if problems:
        raise PlanError(problems)
    return sorted(pairs)


def build_boundary(plan: Plan, graph: grimp.ImportGraph, module_map: ModuleMap) -> Boundary:
    """Compute the protected modules and the contracts for a core whose import graph is `graph`."""
    root = plan.core.package.split(".")[0]
    present = {m for m in graph.modules if _within(m, root)}
    old_paths, warnings = collapse_moved(module_map.moves, present)
    internal_set = set(old_paths)
    external_set: set[str] = set()
    for svc in plan.service:
        if _within(svc.package, root):
            if svc.package in present:
                internal_set.add(svc.package)
        else:
            # an external forbidden module must be a top-level package for import-linter
            external_set.add(svc.package.split(".")[0])
    # keep only the top-most internal ones (a service package may sit inside an old path)
    internal = sorted(m for m in internal_set if not any(_within(m, o) and m != o for o in internal_set))
    external = sorted(external_set)
    ignore = resolve_allow(plan, graph, module_map, internal, external)

    contracts: list[ContractSpec] = []
    packages, mixed = core_sources(root, present, internal)
    common: dict[str, OptionValue] = {}
    if ignore:
        common["ignore_imports"] = tuple(ignore)
    if plan.boundary.contract == "protected" and internal:
        contracts.append(
            ContractSpec(
                CONTRACT_ID,
                "The core must not import the services (spinout)",
                "protected",
                {"protected_modules": tuple(internal), "allowed_importers": tuple(internal), **common},
            )
        )
    forbidden = external if plan.boundary.contract == "protected" else [*internal, *external]
    if forbidden:
        suffix = "" if not contracts else "-packages"
        if packages:
            contracts.append(
                ContractSpec(
                    f"{CONTRACT_ID}{suffix}",
                    "The core's packages must not import the services (spinout)",
                    "forbidden",
                    {"source_modules": tuple(packages), "forbidden_modules": tuple(forbidden), **common},
                )
            )
        # as_packages applies to both sides, so the forbidden side names each protected package's descendants
        # with a wildcard (which may match nothing, unlike a plain name)
        exact = [*forbidden]
        exact += [f"{m}.**" for m in forbidden if m in internal]
        contracts.append(
            ContractSpec(
                f"{CONTRACT_ID}-inits",
                "The core's package __init__ modules must not import the services (spinout)",
                "forbidden",
                {
                    "source_modules": tuple(mixed),
                    "forbidden_modules": tuple(exact),
                    "as_packages": "False",
                    **common,
                },
            )
        )
    if not contracts:
        warnings.append("nothing to protect: no moved module is in the tree and every service package is inside it")
    return Boundary(root, tuple(internal), tuple(external), tuple(ignore), tuple(contracts), tuple(warnings))


@dataclass(frozen=True)
class Hop:
    """One direct import: importer → imported, at these lines."""

    importer: str
    imported: str
    lines: tuple[int, ...]
    contents: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "importer": self.importer,
            "imported": self.imported,
            "lines": list(self.lines),
            "contents": list(self.contents),
        }

    def __str__(self) -> str:
        where = ", ".join(f"l.{n}" for n in self.lines) or "l.?"
        return f"{self.importer} -> {self.imported} ({where})"


@dataclass(frozen=True)
class Violation:
    """A broken rule: a direct import (one hop) or an indirect one (a chain of hops)."""

    contract: str
    hops: tuple[Hop, ...]

    @property
    def importer(self) -> str:
        return self.hops[0].importer

    @property
    def imported(self) -> str:
        return self.hops[-1].imported

    @property
    def direct(self) -> bool:
        return len(self.hops) == 1

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "importer": self.importer,
            "imported": self.imported,
            "line": self.hops[0].lines[0] if self.hops[0].lines else None,
            "direct": self.direct,
            "chain": [h.to_json() for h in self.hops],
        }


def _hop(graph: grimp.ImportGraph, importer: str, imported: str) -> Hop:
    details = graph.get_import_details(importer=importer, imported=imported)
    lines = tuple(sorted({int(d["line_number"]) for d in details if d.get("line_number") is not None}))
    contents = tuple(str(d["line_contents"]) for d in sorted(details, key=lambda d: d["line_number"] or 0))
    return Hop(importer, imported, lines, contents)


def check_boundary(graph: grimp.ImportGraph, boundary: Boundary) -> list[Violation]:
    """Run the boundary's contracts through import-linter on `graph`; every violation, sorted."""
    # configure() registers import-linter's default settings (timer, output), which the contracts use
    from importlinter import configuration
    from importlinter.contracts.forbidden import ForbiddenContract
    from importlinter.contracts.protected import ProtectedContract
    from importlinter.domain.contract import InvalidContractOptions

    configuration.configure()
    classes: dict[str, Any] = {"protected": ProtectedContract, "forbidden": ForbiddenContract}
    session = boundary.session_options()
    violations: set[Violation] = set()
    for spec in boundary.contracts:
        try:
            contract = classes[spec.type](name=spec.name, session_options=session, contract_options=spec.as_options())
            # each contract removes its ignored imports from the graph it is given: give it a copy
            check = contract.check(copy.deepcopy(graph), verbose=False)
        except (InvalidContractOptions, ValueError) as exc:
            raise ToolError(
                f"import-linter rejected contract {spec.id}: {exc}", hint="run `spinout guard PLAN` again"
            ) from exc
        if check.kept:
            continue
        if spec.type == "protected":
            for broken in check.metadata["illegal_imports"]:
                for link in broken.illegal_links:
                    violations.add(Violation(spec.id, (_hop(graph, link["importer"], link["imported"]),)))
        else:
            for group in check.metadata["invalid_chains"]:
                for chain in group["chains"]:
                    hops = tuple(_hop(graph, link["importer"], link["imported"]) for link in chain)
                    violations.add(Violation(spec.id, hops))
    return sorted(violations, key=lambda v: (v.importer, v.imported, [(h.importer, h.imported) for h in v.hops]))
