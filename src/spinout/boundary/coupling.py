"""The coupling report: where each service uses the core, and whether as a library or by reaching into it.

For each service (its modules are the moved ones, by their old names, in the monorepo tree), every core module it
imports and every name of it the service uses:

* modules come from grimp's import graph (direct imports, with their lines) together with an AST pass, because an
  attribute chain such as `acme.db.api.get_x` after `import acme` imports `acme` but uses `acme.db.api`;
* names come from the AST pass: `from M import n`, and attribute chains `alias.n...` on a name bound to a core
  module;
* a name (or module) is private by convention when a dotted part starts with one underscore (not a dunder), or it
  lies in a tests package (`tests` / `test` part);
* a name (or module) is used only by the services when no core module other than its own refers to it — a
  candidate for moving along, or for becoming public API.

Counts are numbers of distinct service modules; `imports` is the number of import lines grimp found. Pure apart
from reading the tree's files.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from spinout.boundary.tree import Tree, Unparsable
from spinout.plan.model import Plan
from spinout.plan.modules import ModuleMap


def is_private(dotted: str) -> bool:
    """True if a dotted part starts with a single underscore, or the name lies in a tests package."""
    for part in dotted.split("."):
        if part in ("tests", "test"):
            return True
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            return True
    return False


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str | None:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        if level - 1 > len(base):
            return None
        base = base[: len(base) - (level - 1)]
    parts = [*base, *(target.split(".") if target else [])]
    return ".".join(parts) if parts else None


def references(source: str, module: str, is_package: bool) -> set[str]:
    """The dotted names a module's source refers to through its imports (import targets and attribute chains)."""
    tree = ast.parse(source)
    bound: dict[str, str] = {}
    refs: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                refs.add(alias.name)
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    bound[head] = head
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(module, is_package, node.level, node.module) if node.level else node.module
            if base is None:
                continue
            for alias in node.names:
                if alias.name == "*":
                    refs.add(base)
                    continue
                dotted = f"{base}.{alias.name}"
                refs.add(dotted)
                bound[alias.asname or alias.name] = dotted
    visitor = _Chains(bound)
    visitor.visit(tree)
    return refs | visitor.refs


class _Chains(ast.NodeVisitor):
    """Attribute chains `alias.a.b` rooted at a name bound by an import, skipping names a function rebinds
    (a parameter called `context` is not the module `context` imported at the top)."""

    def __init__(self, bound: Mapping[str, str]) -> None:
        self.bound = bound
        self.shadow: list[set[str]] = []
        self.refs: set[str] = set()

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        a = node.args
        local = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x is not None}
        imported: set[str] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                local.add(sub.id)
            elif isinstance(sub, ast.Import | ast.ImportFrom):
                imported |= {al.asname or al.name.split(".")[0] for al in sub.names}
        self.shadow.append(local - imported)
        self.generic_visit(node)
        self.shadow.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def visit_Attribute(self, node: ast.Attribute) -> None:
        parts: list[str] = []
        cur: ast.expr = node
        while isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            cur = cur.value
        if isinstance(cur, ast.Name):
            # only the outermost chain counts: `a.b.c` is one reference, not also `a.b`
            if cur.id in self.bound and not any(cur.id in s for s in self.shadow):
                self.refs.add(".".join([self.bound[cur.id], *reversed(parts)]))
        else:
            self.visit(cur)


@dataclass
class NameUse:
    name: str
    users: set[str] = field(default_factory=set)
    core_users: set[str] = field(default_factory=set)


@dataclass
class ModuleUse:
    module: str
    users: set[str] = field(default_factory=set)
    imports: int = 0
    names: dict[str, NameUse] = field(default_factory=dict)
    core_users: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ServiceCoupling:
    service: str
    modules: tuple[dict[str, Any], ...]

    def names_count(self) -> int:
        return sum(len(m["names"]) for m in self.modules)


def _split(dotted: str, core: set[str], moved: Mapping[str, str]) -> tuple[str, str | None] | None:
    """(core module, name in it or None) for a dotted reference, using the longest module prefix; None if that
    module is not a core one (a service module, or outside the tree)."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in moved:
            return None
        if prefix in core:
            return prefix, (parts[n] if n < len(parts) else None)
    return None


def _module_refs(tree: Tree, modules: Iterable[str], skip: set[str], failed: list[Unparsable]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in sorted(modules):
        path = tree.source_of(m)
        if path is None:
            continue
        rel = path.relative_to(tree.root).as_posix()
        if rel in skip:
            continue  # already reported by load_tree
        try:
            out[m] = references(path.read_text(encoding="utf-8", errors="replace"), m, path.name == "__init__.py")
        except SyntaxError as exc:  # grimp's parser took it, Python's does not: report it too
            failed.append(Unparsable(rel, exc.lineno, exc.msg))
        except ValueError as exc:
            failed.append(Unparsable(rel, None, str(exc)))
    return out


def compute_coupling(
    plan: Plan, tree: Tree, module_map: ModuleMap, failed: list[Unparsable] | None = None
) -> list[ServiceCoupling]:
    """The coupling of every service of the plan to the core, sorted by use (see the module docstring).

    Files Python's parser rejects although grimp read them are appended to `failed` and left out of the names.
    """
    failed = failed if failed is not None else []
    internal = tree.internal_modules()
    owner: dict[str, str] = {}
    for m in internal:
        moved = module_map.lookup(m)
        if moved is not None:
            owner[m] = moved[2]
    core = {m for m in internal if m not in owner}
    skip = {u.path for u in tree.unparsable}
    svc_refs = _module_refs(tree, owner, skip, failed)
    core_refs = _module_refs(tree, core, skip, failed)
    graph = tree.graph

    # which core module refers to which (module, name), for "only the services use it"
    core_use: dict[tuple[str, str | None], set[str]] = {}
    for importer, refs in core_refs.items():
        for ref in refs:
            hit = _split(ref, core, owner)
            if hit is not None:
                core_use.setdefault(hit, set()).add(importer)
                core_use.setdefault((hit[0], None), set()).add(importer)
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported in core:
                core_use.setdefault((imported, None), set()).add(importer)

    out: list[ServiceCoupling] = []
    for svc in plan.service:
        mods = sorted(m for m, s in owner.items() if s == svc.name)
        uses: dict[str, ModuleUse] = {}
        for m in mods:
            for imported in graph.find_modules_directly_imported_by(m):
                if imported in core:
                    use = uses.setdefault(imported, ModuleUse(imported))
                    use.users.add(m)
                    use.imports += len(graph.get_import_details(importer=m, imported=imported))
            for ref in svc_refs.get(m, ()):
                hit = _split(ref, core, owner)
                if hit is None:
                    continue
                module, name = hit
                use = uses.setdefault(module, ModuleUse(module))
                use.users.add(m)
                if name is not None:
                    use.names.setdefault(name, NameUse(name)).users.add(m)
        rows: list[dict[str, Any]] = []
        for use in uses.values():
            # "core users" leave the module itself out: a module using its own helper does not make it public
            mod_core = core_use.get((use.module, None), set()) - {use.module}
            names: list[dict[str, Any]] = [
                {
                    "name": n.name,
                    "users": len(n.users),
                    "private": is_private(f"{use.module}.{n.name}"),
                    "only_services": not (core_use.get((use.module, n.name), set()) - {use.module}),
                }
                for n in use.names.values()
            ]
            names.sort(key=lambda d: (-int(d["users"]), str(d["name"])))
            rows.append(
                {
                    "module": use.module,
                    "users": len(use.users),
                    "imports": use.imports,
                    "private": is_private(use.module),
                    "only_services": not mod_core,
                    "names": names,
                }
            )
        rows.sort(key=lambda d: (-int(d["users"]), -int(d["imports"]), str(d["module"])))
        out.append(ServiceCoupling(svc.name, tuple(rows)))
    return out


def markdown(couplings: Iterable[ServiceCoupling]) -> list[str]:
    """The report as Markdown lines: one table per service, most used core modules first."""
    lines: list[str] = ["# Service → core coupling", ""]
    for c in couplings:
        lines += [f"## {c.service}: {len(c.modules)} core modules, {c.names_count()} names", ""]
        if not c.modules:
            lines += ["No imports of the core.", ""]
            continue
        lines += ["| core module | service modules | import lines | names (service modules) |", "|---|---|---|---|"]
        for row in c.modules:
            flag = _flags(row)
            names = ", ".join(f"`{n['name']}` ({n['users']}){_flags(n)}" for n in row["names"]) or "—"
            lines.append(f"| `{row['module']}`{flag} | {row['users']} | {row['imports']} | {names} |")
        private = [f"{r['module']}.{n['name']}" for r in c.modules for n in r["names"] if n["private"]]
        private += [r["module"] for r in c.modules if r["private"]]
        only = [f"{r['module']}.{n['name']}" for r in c.modules for n in r["names"] if n["only_services"]]
        lines.append("")
        lines.append(f"Private by convention ({len(private)}): " + (", ".join(sorted(private)) or "none"))
        lines.append(f"Used by no other core module ({len(only)}): " + (", ".join(sorted(only)) or "none"))
        lines.append("")
    lines.append("Flags: [private] leading underscore or tests package; [services only] no other core module uses it.")
    return lines


def _flags(row: Mapping[str, Any]) -> str:
    out = ""
    if row["private"]:
        out += " [private]"
    if row["only_services"]:
        out += " [services only]"
    return out


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def svg(couplings: Iterable[ServiceCoupling], *, top: int = 40) -> str:
    """A picture of services (left) → core modules (right, most used first); line width grows with use."""
    cs = list(couplings)
    totals: dict[str, int] = {}
    for c in cs:
        for row in c.modules:
            totals[row["module"]] = totals.get(row["module"], 0) + int(row["users"])
    modules = sorted(totals, key=lambda m: (-totals[m], m))[:top]
    row_h, width = 22, 900
    height = max(len(modules), len(cs), 1) * row_h + 60
    left_x, right_x = 180, 560
    y_mod = {m: 40 + i * row_h for i, m in enumerate(modules)}
    y_svc = {c.service: 40 + i * max(row_h, (height - 60) // max(len(cs), 1)) for i, c in enumerate(cs)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        '<text x="10" y="20" font-weight="bold">services → core modules (line width: service modules using it)</text>',
    ]
    for c in cs:
        for row in c.modules:
            if row["module"] not in y_mod:
                continue
            w = 1 + min(int(row["users"]), 12)
            color = "#c0392b" if row["private"] else "#2c7fb8"
            parts.append(
                f'<line x1="{left_x}" y1="{y_svc[c.service]}" x2="{right_x}" y2="{y_mod[row["module"]]}" '
                f'stroke="{color}" stroke-opacity="0.6" stroke-width="{w}"/>'
            )
    for c in cs:
        parts.append(f'<text x="{left_x - 8}" y="{y_svc[c.service] + 4}" text-anchor="end">{_esc(c.service)}</text>')
    for m in modules:
        parts.append(f'<text x="{right_x + 8}" y="{y_mod[m] + 4}">{_esc(m)} ({totals[m]})</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
