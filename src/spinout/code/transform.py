"""spinout's own libcst transformer: rewrite every reference to a moved module in one Python file.

Why not libcst's RenameCommand: it splits nothing (`from a import moved, kept` comes out wrong), it loses the
binding in `from parent import pkg` + `pkg.moved.x`, it drops `import a.b.c` when that was the only binding of `a`
although `a.kept` is still used, it renames the imported name when only the last component changes (so the local
name the code uses disappears), and it never looks inside strings.

How it works, per file (only files the cheap text pre-filter in `Renamer.wants` selects are parsed):

1. a scan pass collects, in the file's *old* coordinates (its module name before the move, so relative imports
   resolve as they did in the monorepo), every name an import binds and every attribute chain `n.a.b` rooted at a
   plain name;
2. decisions: a chain whose resolved dotted name enters a moved module deeper than its base binding is rewritten to
   the new dotted module (and `import new.module` is added when nothing binds it); an import binding that was used
   before and is no longer used afterwards is dropped (it would be a new pyflakes unused-import); an
   `import a.b.c` that was the only binding of `a` while `a` is still used keeps `import a.b`;
3. a transform pass applies them; nodes it does not touch keep their bytes, so formatting and comments elsewhere
   stay byte-identical. Every change is recorded as a `Rewrite` (file, line, old, new, kind).

Name resolution is file-wide (flat), not per scope: a local variable that shadows an imported package name is
treated as that package. Monorepo code rarely does this; pyflakes' post-check catches the damage if it does.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import libcst as cst

from spinout.plan.modules import ModuleMap

KIND_IMPORT = "import"
KIND_FROM = "from-import"
KIND_SPLIT = "from-import-split"
KIND_RELATIVE = "relative-import"
KIND_ATTRIBUTE = "attribute"
KIND_STRING = "string"
KIND_ADDED = "import-added"
KIND_KEPT_PARENT = "import-kept-parent"
KIND_REMOVED = "import-removed"


@dataclass(frozen=True)
class Rewrite:
    """One change, for the JSON listing a reviewer audits."""

    file: str
    line: int
    old: str
    new: str
    kind: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "old": self.old, "new": self.new, "kind": self.kind}


def _alternation(names: list[str]) -> str:
    # Longest first: Python's regex alternation takes the first alternative that matches.
    return "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))


class Renamer:
    """The module map plus the compiled text patterns every pass shares (built once per run)."""

    def __init__(self, modules: ModuleMap) -> None:
        self.modules = modules
        names = list(modules.moves)
        # A dotted-name boundary: not preceded by a word character or a dot, not followed by a word character
        # (a following dot or colon is fine: `a.b.c.Foo`, `a.b.c:Foo`).
        self._names = re.compile(r"(?<![\w.])(?:" + _alternation(names) + r")(?!\w)") if names else None
        self._names_b = re.compile(self._names.pattern.encode()) if self._names else None
        # Literal gates: a file without any moved name's first two components cannot match `_names`; checking
        # them with bytes.find first saves most of the regex time on a large tree.
        self._gates = sorted({".".join(n.split(".")[:2]).encode() for n in names})
        # `from P import ..., C, ...` where P.C is on the way to a moved module (a parent or any ancestor package):
        # `from acme import services` followed by `services.lb.x` must be parsed too.
        self._ancestors = {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1)}
        children: dict[str, set[str]] = {}
        for n in names:
            parts = n.split(".")
            for i in range(1, len(parts)):
                children.setdefault(".".join(parts[:i]), set()).add(parts[i])
        # The imported names run to the closing parenthesis (comments included), or to the end of the line.
        alternatives = [
            re.escape(p) + r"\s+import\s+(?:\([^)]*?|(?:[^\n;\\]|\\\n)*?)\b(?:" + _alternation(sorted(cs)) + r")\b"
            for p, cs in sorted(children.items())
        ]
        self._from_b = re.compile((r"\bfrom\s+(?:" + "|".join(alternatives) + ")").encode()) if alternatives else None
        # `import acme.services as s` followed by `s.lb.x`.
        self._import_as_b = (
            re.compile((r"\bimport\s+(?:" + _alternation(sorted(self._ancestors)) + r")\s+as\b").encode())
            if self._ancestors
            else None
        )

    def rename(self, dotted: str) -> str | None:
        return self.modules.rename(dotted)

    def wants(self, data: bytes, *, moved_file: bool) -> bool:
        """The cheap pre-filter: does this file mention a moved name at all?

        Full names (`acme.services.lb.plugin`, also in strings), `from <ancestor package> import <next part>`
        on the way to a moved module, `import <ancestor package> as x`, and, in a file whose own module name
        changed, any relative import (it may no longer resolve).
        """
        if (
            self._names_b is not None
            and any(data.find(g) >= 0 for g in self._gates)
            and self._names_b.search(data) is not None
        ):
            return True
        if self._from_b is not None and self._from_b.search(data):
            return True
        if self._import_as_b is not None and self._import_as_b.search(data):
            return True
        return moved_file and re.search(rb"\bfrom\s+\.", data) is not None

    def related(self, dotted: str) -> bool:
        """Is `dotted` a moved module, inside one, or an ancestor package of one?"""
        return dotted in self._ancestors or self.modules.lookup(dotted) is not None

    def mentions(self, text: str) -> bool:
        return self._names is not None and self._names.search(text) is not None

    def sub_text(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Rewrite moved dotted names in free text on dotted-name boundaries; return the text and (old, new) pairs."""
        if self._names is None:
            return text, []
        changes: list[tuple[str, str]] = []

        def repl(m: re.Match[str]) -> str:
            old = m.group(0)
            new = self.modules.rename(old) or old
            if new != old:
                changes.append((old, new))
            return new

        return self._names.sub(repl, text), changes


@dataclass(frozen=True)
class FileContext:
    """Where a file sits: its path in the target, and its module name before and after the move."""

    path: str
    old_module: str | None
    new_module: str | None
    is_package: bool

    @property
    def moved(self) -> bool:
        return self.old_module != self.new_module


def resolve_relative(module: str | None, is_package: bool, level: int, name: str | None) -> str | None:
    """The absolute module `from <level dots><name> import` refers to inside `module`, or None if it escapes."""
    if module is None:
        return None
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level - 1 > len(parts) - 1 and level > 1:
        return None
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    if not parts:
        return None
    base = ".".join(parts)
    return f"{base}.{name}" if name else base


def dotted_of(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a pure Name/Attribute chain, else None."""
    parts: list[str] = []
    cur: cst.BaseExpression = node
    while isinstance(cur, cst.Attribute):
        parts.append(cur.attr.value)
        cur = cur.value
    if not isinstance(cur, cst.Name):
        return None
    parts.append(cur.value)
    return ".".join(reversed(parts))


def dotted_expr(dotted: str) -> cst.Name | cst.Attribute:
    parts = dotted.split(".")
    node: cst.Name | cst.Attribute = cst.Name(parts[0])
    for p in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(p))
    return node


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@dataclass(eq=False)
class _Binding:
    name: str
    target: str  # old-coordinate dotted name the local name refers to
    plain: bool  # `import a.b.c` binding `a`
    full: str  # for plain imports: the imported module (`a.b.c`)
    alias: cst.ImportAlias
    line: cst.SimpleStatementLine | None


@dataclass(eq=False)
class _Chain:
    parts: list[str]
    nodes: list[cst.BaseExpression]  # nodes[0] is the base Name, nodes[i] the chain of parts[: i + 1]


# Nodes that hold only whitespace, comments or punctuation: nothing there can name a module.
_INERT: frozenset[type] = frozenset(
    {
        cst.SimpleWhitespace,
        cst.ParenthesizedWhitespace,
        cst.EmptyLine,
        cst.TrailingWhitespace,
        cst.Newline,
        cst.Comment,
        cst.Comma,
        cst.Dot,
        cst.Colon,
        cst.Semicolon,
        cst.LeftParen,
        cst.RightParen,
        cst.LeftSquareBracket,
        cst.RightSquareBracket,
        cst.LeftCurlyBrace,
        cst.RightCurlyBrace,
        cst.AssignEqual,
    }
)


def _child_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


class _Scanner:
    """Pass 1: bindings made by imports and attribute chains rooted at names, in old coordinates.

    It walks the tree itself, over the nodes' dataclass fields, instead of through libcst's visitor machinery,
    which rebuilds every node it passes even for a read-only visitor; the walk is several times cheaper.
    """

    def __init__(self, ctx: FileContext, renamer: Renamer, skip: set[int] | None = None) -> None:
        self.ctx = ctx
        self.renamer = renamer
        self.skip = skip or set()
        self.bindings: list[_Binding] = []
        self.chains: list[_Chain] = []
        self.bare: set[str] = set()
        self._lines: list[cst.SimpleStatementLine] = []
        # Nodes the transform pass must enter (ids): ancestors of anything it may change. It skips the rest,
        # which makes it cheap: most of a file is method bodies that mention no moved name.
        self.interesting: set[int] = set()
        self._parent: dict[int, cst.CSTNode] = {}
        self._fields: dict[type, tuple[str, ...]] = {}
        self._handlers: dict[type, Callable[[Any], bool]] = {
            cst.SimpleString: self.visit_SimpleString,
            cst.FormattedStringText: self.visit_FormattedStringText,
            cst.Import: self.visit_Import,
            cst.ImportFrom: self.visit_ImportFrom,
            cst.Attribute: self.visit_Attribute,
            cst.Name: self.visit_Name,
        }

    def walk(self, node: cst.CSTNode) -> None:
        handler = self._handlers.get(type(node))
        if handler is not None and not handler(node):
            return
        line = isinstance(node, cst.SimpleStatementLine)
        if line:
            self._lines.append(node)  # type: ignore[arg-type]
        names = self._fields.get(type(node))
        if names is None:
            names = self._fields[type(node)] = _child_fields(type(node))
        for name in names:
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                self._child(node, value)
            elif isinstance(value, (tuple, list)):
                for item in value:
                    if isinstance(item, cst.CSTNode):
                        self._child(node, item)
        if line:
            self._lines.pop()

    def _child(self, parent: cst.CSTNode, child: cst.CSTNode) -> None:
        if type(child) in _INERT:
            return
        self._parent[id(child)] = parent
        if id(child) not in self.skip:
            self.walk(child)

    def mark(self, node: cst.CSTNode) -> None:
        """The transform pass must reach `node`: mark it and its ancestors."""
        current: cst.CSTNode | None = node
        while current is not None and id(current) not in self.interesting:
            self.interesting.add(id(current))
            current = self._parent.get(id(current))

    def visit_SimpleString(self, node: cst.SimpleString) -> bool:
        if self.renamer.mentions(node.value):
            self.mark(node)
        return False

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> bool:
        if self.renamer.mentions(node.value):
            self.mark(node)
        return False

    def _line(self) -> cst.SimpleStatementLine | None:
        return self._lines[-1] if self._lines else None

    def visit_Import(self, node: cst.Import) -> bool:
        self.mark(node)
        for alias in node.names:
            full = dotted_of(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.bindings.append(_Binding(alias.asname.name.value, full, False, full, alias, self._line()))
            else:
                top = full.split(".")[0]
                self.bindings.append(_Binding(top, top, True, full, alias, self._line()))
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self.mark(node)
        module = from_module(node, self.ctx.old_module, self.ctx.is_package)
        if module is None or isinstance(node.names, cst.ImportStar):
            return False
        for alias in node.names:
            name = dotted_of(alias.name)
            if name is None:
                continue
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            self.bindings.append(_Binding(local, f"{module}.{name}", False, "", alias, self._line()))
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        nodes: list[cst.BaseExpression] = []
        cur: cst.BaseExpression = node
        while isinstance(cur, cst.Attribute):
            nodes.append(cur)
            cur = cur.value
        if not isinstance(cur, cst.Name):
            return True  # `f().x`: look inside for chains
        nodes.append(cur)
        nodes.reverse()
        parts = [cur.value] + [n.attr.value for n in nodes[1:] if isinstance(n, cst.Attribute)]
        self.chains.append(_Chain(parts, nodes))
        return False

    def visit_Name(self, node: cst.Name) -> bool:
        self.bare.add(node.value)
        return False


def from_module(node: cst.ImportFrom, module: str | None, is_package: bool) -> str | None:
    name = dotted_of(node.module) if node.module is not None else None
    if not node.relative:
        return name
    return resolve_relative(module, is_package, len(node.relative), name)


@dataclass
class _Plan:
    """Pass 2's instructions, computed from the scan."""

    chain_new: dict[int, tuple[str, str]] = field(default_factory=dict)  # id(node) → (old, new)
    remove_alias: set[int] = field(default_factory=set)  # id(alias)
    extra_after: dict[int, list[str]] = field(default_factory=dict)  # id(line) → modules to `import`
    extra_kind: dict[str, str] = field(default_factory=dict)  # module → kind
    orphans: list[str] = field(default_factory=list)
    interesting: set[int] = field(default_factory=set)  # ids of nodes the transform pass enters


def _decide(scan: _Scanner, renamer: Renamer) -> _Plan:
    plan = _Plan(interesting=scan.interesting)
    env: dict[str, _Binding] = {}
    for b in scan.bindings:
        env.setdefault(b.name, b)
    used_before = set(scan.bare) | {c.parts[0] for c in scan.chains}
    used_after = set(scan.bare)
    needed: list[tuple[str, _Binding]] = []
    for chain in scan.chains:
        base = chain.parts[0]
        found = env.get(base)
        if found is None:
            used_after.add(base)
            continue
        b = found
        target_parts = b.target.split(".")
        full = ".".join(target_parts + chain.parts[1:])
        hit = renamer.modules.lookup(full)
        depth = hit[0].count(".") + 1 if hit is not None else 0
        # A plain `import top.x` binds the package name itself: when `top` moved, the chain's base must change too
        # (k = 0). Any other binding keeps its local name, so a moved module at or above its target is handled
        # by rewriting the import statement alone.
        if hit is None or depth < len(target_parts) or (depth == len(target_parts) and not b.plain):
            used_after.add(base)
            continue
        new_prefix = hit[1]
        k = depth - len(target_parts)
        base_new = renamer.rename(b.target)
        suffix = ".".join(chain.parts[1 : k + 1])
        if not b.plain and base_new is not None and new_prefix == f"{base_new}.{suffix}":
            used_after.add(base)  # the base's own import is rewritten and the chain stays valid through it
            continue
        node = chain.nodes[k]
        plan.chain_new[id(node)] = (".".join(chain.parts[: k + 1]), new_prefix)
        scan.mark(chain.nodes[-1])
        scan.interesting.update(id(n) for n in chain.nodes[k:])
        needed.append((new_prefix, b))

    provided: set[str] = set()
    for b in scan.bindings:
        if b.plain:
            provided.update(_prefixes(renamer.rename(b.full) or b.full))

    # Bindings that were used before the rewrite and are not any more: drop them (they would be new unused imports).
    for b in scan.bindings:
        if b.name in used_before and b.name not in used_after:
            if b.plain and renamer.rename(b.full) is not None:
                continue  # rewritten to its new name; its binding changes anyway
            plan.remove_alias.add(id(b.alias))
    surviving_tops = {
        b.name
        for b in scan.bindings
        if id(b.alias) not in plan.remove_alias and not (b.plain and renamer.rename(b.full) is not None)
    }

    # `import a.b.c` rewritten although `a` is still used and nothing else binds it: keep `import <unmoved parent>`.
    for b in scan.bindings:
        if not b.plain or renamer.rename(b.full) is None:
            continue
        if b.name in used_after and b.name not in surviving_tops:
            parent = ""
            for p in _prefixes(b.full):
                if renamer.rename(p) is not None:
                    break
                parent = p
            if parent:
                _add_extra(plan, b.line, parent, KIND_KEPT_PARENT)
                surviving_tops.add(b.name)

    for new_module, b in needed:
        if new_module in provided:
            continue
        _add_extra(plan, b.line, new_module, KIND_ADDED)
        provided.update(_prefixes(new_module))
    return plan


def _add_extra(plan: _Plan, line: cst.SimpleStatementLine | None, module: str, kind: str) -> None:
    plan.extra_kind[module] = kind
    if line is None:
        plan.orphans.append(module)
    else:
        plan.extra_after.setdefault(id(line), []).append(module)


def _import_line(module: str) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(name=dotted_expr(module))])])


class _Transformer(cst.CSTTransformer):
    """Pass 2: apply the plan, rewrite imports and strings, record every change."""

    def __init__(self, ctx: FileContext, renamer: Renamer, plan: _Plan, top: dict[int, int]) -> None:
        super().__init__()
        self.ctx = ctx
        self.renamer = renamer
        self.plan = plan
        # (top-level statement index, text to look for, rewrite): lines are found afterwards (see _locate), which
        # costs one codegen instead of libcst's PositionProvider (a third of the whole run in profiles).
        self.records: list[tuple[int, str, Rewrite, int]] = []
        self._pending: list[list[cst.SimpleStatementLine]] = []
        self._top_of = top
        self._top = -1

    # -- bookkeeping ---------------------------------------------------------------------------------------------
    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) not in self.plan.interesting:
            return False
        top = self._top_of.get(id(node))
        if top is not None:
            self._top = top
        return super().on_visit(node)

    def on_leave(
        self, original_node: cst.CSTNodeT, updated_node: cst.CSTNodeT
    ) -> cst.CSTNodeT | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNodeT]:
        if id(original_node) not in self.plan.interesting:
            return updated_node
        return super().on_leave(original_node, updated_node)

    def _record(self, needle: str, old: str, new: str, kind: str, node: cst.CSTNode | None = None) -> None:
        """Record a rewrite; records with the same `node` (a split import, a string with two names) share a line."""
        self.records.append((self._top, needle, Rewrite(self.ctx.path, 0, old, new, kind), id(node) if node else 0))

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        self._pending.append([])
        return True

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        extra = self._pending.pop()
        for module in self.plan.extra_after.get(id(original_node), []):
            extra.append(_import_line(module))
            self._record("", "", f"import {module}", self.plan.extra_kind[module])
        if not updated_node.body:
            if not extra:
                return cst.RemoveFromParent()
            # The first new line takes over the old line's blank lines above and its trailing comment.
            first = extra[0].with_changes(
                leading_lines=updated_node.leading_lines, trailing_whitespace=updated_node.trailing_whitespace
            )
            return cst.FlattenSentinel([first, *extra[1:]])
        if not extra:
            return updated_node
        return cst.FlattenSentinel([updated_node, *extra])

    # -- imports --------------------------------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def leave_Import(
        self, original_node: cst.Import, updated_node: cst.Import
    ) -> cst.BaseSmallStatement | cst.RemovalSentinel:
        names: list[cst.ImportAlias] = []
        changed = False
        for alias in original_node.names:
            if id(alias) in self.plan.remove_alias:
                self._record(dotted_of(alias.name) or "", f"import {dotted_of(alias.name)}", "", KIND_REMOVED, alias)
                changed = True
                continue
            full = dotted_of(alias.name)
            new = self.renamer.rename(full) if full else None
            if full is not None and new is not None:
                self._record(full, full, new, KIND_IMPORT, alias)
                alias = alias.with_changes(name=dotted_expr(new))
                changed = True
            names.append(alias)
        if not changed:
            return updated_node
        if not names:
            return cst.RemoveFromParent()
        names[-1] = names[-1].with_changes(comma=original_node.names[-1].comma)
        return updated_node.with_changes(names=names)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.BaseSmallStatement | cst.RemovalSentinel:
        ctx = self.ctx
        old_mod = from_module(original_node, ctx.old_module, ctx.is_package)
        if old_mod is None:
            return updated_node
        relative = bool(original_node.relative)
        new_here = from_module(original_node, ctx.new_module, ctx.is_package) if relative else old_mod
        written = _written_module(original_node)
        if isinstance(original_node.names, cst.ImportStar):
            expected = self.renamer.rename(old_mod) or old_mod
            if expected == new_here:
                return updated_node
            self._record(written, f"from {written} import *", f"from {expected} import *", KIND_FROM, original_node)
            return updated_node.with_changes(module=dotted_expr(expected), relative=[])

        # Per alias: None keeps it in this statement; else (destination module, imported name, local name).
        dest: list[tuple[cst.ImportAlias, tuple[str, str, str | None] | None]] = []
        removed = 0
        for alias in original_node.names:
            if id(alias) in self.plan.remove_alias:
                self._record(written, f"from {written} import {dotted_of(alias.name)}", "", KIND_REMOVED, original_node)
                removed += 1
                continue
            name = dotted_of(alias.name) or ""
            asname = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else None
            full = f"{old_mod}.{name}"
            new_full = self.renamer.rename(full)
            if relative:
                expected = new_full or full
                if expected == f"{new_here}.{name}":
                    dest.append((alias, None))
                    continue
                new_full = expected
            elif new_full is None:
                dest.append((alias, None))
                continue
            parent, _, last = new_full.rpartition(".")
            local = asname or name
            dest.append((alias, (parent, last, None if local == last else local)))
        if removed == 0 and all(d is None for _, d in dest):
            return updated_node

        groups: dict[str, list[tuple[cst.ImportAlias, str, str | None]]] = {}
        kept: list[cst.ImportAlias] = []
        for alias, d in dest:
            if d is None:
                kept.append(alias)
            else:
                groups.setdefault(d[0], []).append((alias, d[1], d[2]))
        kind = KIND_RELATIVE if relative else KIND_FROM
        if not kept and len(groups) == 1:
            # Everything moves together: rewrite in place, keeping the statement's own layout.
            (module, members) = next(iter(groups.items()))
            aliases = [_alias_to(a, name, local) for a, name, local in members]
            aliases[-1] = aliases[-1].with_changes(comma=original_node.names[-1].comma)
            self._record(
                written, _describe(written, members), _describe(module, members, new=True), kind, original_node
            )
            return updated_node.with_changes(module=dotted_expr(module), relative=[], names=aliases)
        if kept or len(groups) > 1:
            kind = KIND_SPLIT
        for module, members in groups.items():
            new_aliases = [
                cst.ImportAlias(
                    name=dotted_expr(name), asname=cst.AsName(name=cst.Name(local)) if local is not None else None
                )
                for _, name, local in members
            ]
            stmt = cst.ImportFrom(module=dotted_expr(module), names=new_aliases)
            self._pending[-1].append(cst.SimpleStatementLine(body=[stmt]))
            self._record(
                written, _describe(written, members), _describe(module, members, new=True), kind, original_node
            )
        if not kept:
            return cst.RemoveFromParent()
        names = original_node.names
        kept[-1] = kept[-1].with_changes(comma=names[-1].comma if isinstance(names, (list, tuple)) else kept[-1].comma)
        return updated_node.with_changes(names=kept)

    # -- chains and strings ----------------------------------------------------------------------------------------
    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        hit = self.plan.chain_new.get(id(original_node))
        if hit is None:
            return updated_node
        self._record(hit[0], hit[0], hit[1], KIND_ATTRIBUTE, original_node)
        return dotted_expr(hit[1])

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        hit = self.plan.chain_new.get(id(original_node))  # the base of a chain whose top-level package moved
        if hit is None:
            return updated_node
        self._record(hit[0], hit[0], hit[1], KIND_ATTRIBUTE, original_node)
        return dotted_expr(hit[1])

    def leave_SimpleString(self, original_node: cst.SimpleString, updated_node: cst.SimpleString) -> cst.SimpleString:
        value, changes = self.renamer.sub_text(updated_node.value)
        if not changes:
            return updated_node
        for old, new in changes:
            self._record(old, old, new, KIND_STRING, original_node)
        return updated_node.with_changes(value=value)

    def leave_FormattedStringText(
        self, original_node: cst.FormattedStringText, updated_node: cst.FormattedStringText
    ) -> cst.FormattedStringText:
        value, changes = self.renamer.sub_text(updated_node.value)
        if not changes:
            return updated_node
        for old, new in changes:
            self._record(old, old, new, KIND_STRING, original_node)
        return updated_node.with_changes(value=value)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.plan.orphans:
            return updated_node
        body = list(updated_node.body)
        at = 0
        for i, stmt in enumerate(body):
            if isinstance(stmt, cst.SimpleStatementLine) and any(
                isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
            ):
                at = i + 1
        for module in self.plan.orphans:
            body.insert(at, _import_line(module))
            added = Rewrite(self.ctx.path, 0, "", f"import {module}", self.plan.extra_kind[module])
            self.records.append((-1, "", added, 0))
            at += 1
        return updated_node.with_changes(body=body)


def _written_module(node: cst.ImportFrom) -> str:
    name = dotted_of(node.module) if node.module is not None else None
    return "." * len(node.relative) + (name or "")


def _alias_to(alias: cst.ImportAlias, name: str, local: str | None) -> cst.ImportAlias:
    return alias.with_changes(
        name=dotted_expr(name),
        asname=cst.AsName(name=cst.Name(local)) if local is not None else None,
    )


def _describe(module: str, members: list[tuple[cst.ImportAlias, str, str | None]], *, new: bool = False) -> str:
    names = []
    for alias, name, local in members:
        if new:
            names.append(name if local is None else f"{name} as {local}")
        else:
            names.append(dotted_of(alias.name) or "")
    return f"from {module} import {', '.join(names)}"


@dataclass(frozen=True)
class PythonOutcome:
    after: bytes
    rewrites: tuple[Rewrite, ...]


def rewrite_module(data: bytes, ctx: FileContext, renamer: Renamer) -> PythonOutcome:
    """Rewrite one parsed file. Raises `libcst.ParserSyntaxError` when libcst cannot parse it (Python 2)."""
    module = cst.parse_module(data)
    scan = _Scanner(ctx, renamer, _unrelated_statements(module, ctx, renamer))
    scan.walk(module)
    scan.interesting.add(id(module))
    plan = _decide(scan, renamer)
    transformer = _Transformer(ctx, renamer, plan, {id(stmt): i for i, stmt in enumerate(module.body)})
    new_module = module.visit(transformer)
    if not transformer.records:
        return PythonOutcome(data, ())
    return PythonOutcome(new_module.bytes, tuple(_locate(module, transformer.records)))


def _unrelated_statements(module: cst.Module, ctx: FileContext, renamer: Renamer) -> set[int]:
    """Top-level statements the scan can skip (ids): no import inside, no string mentioning a moved name, and no
    word that a top-level import binds to a moved module or an ancestor package of one. Skipping them cannot change
    a decision: every binding that could be rewritten or dropped is one of those words. Most of a file's bytes are
    in such statements (class and function bodies), so this roughly halves the scan."""
    relevant: set[str] = set()
    imports: set[int] = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Import):
                imports.add(id(stmt))
                for alias in small.names:
                    full = dotted_of(alias.name)
                    if full is not None and renamer.related(full):
                        relevant.add(_local_name(alias) or full.split(".")[0])
            elif isinstance(small, cst.ImportFrom):
                imports.add(id(stmt))
                base = from_module(small, ctx.old_module, ctx.is_package)
                if base is None or isinstance(small.names, cst.ImportStar):
                    continue
                for alias in small.names:
                    name = dotted_of(alias.name)
                    if name is not None and renamer.related(f"{base}.{name}"):
                        relevant.add(_local_name(alias) or name)
    words = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(relevant))) + r")\b") if relevant else None
    skip: set[int] = set()
    for stmt in module.body:
        if id(stmt) in imports:
            continue
        code = module.code_for_node(stmt)
        if "import" in code or renamer.mentions(code) or (words is not None and words.search(code)):
            continue
        skip.add(id(stmt))
    return skip


def _local_name(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


def _locate(module: cst.Module, records: list[tuple[int, str, Rewrite, int]]) -> list[Rewrite]:
    """Give each record its line: the top-level statement's first line (from codegen of the statements before it),
    plus the newlines before the first occurrence of its text at or after the previous record's in that statement."""
    last = max(top for top, _, _, _ in records)
    line = 1 + len(module.header)  # each header EmptyLine (comment or blank) is one line
    starts: list[int] = []
    codes: list[str] = []
    for stmt in module.body[: last + 1]:
        code = module.code_for_node(stmt)
        starts.append(line)
        codes.append(code)
        line += code.count("\n")
    cursor: dict[int, int] = {}
    out: list[Rewrite] = []
    previous = (0, 0)  # (node key, line) of the last record
    for top, needle, rewrite, key in records:
        if top < 0:
            out.append(rewrite)
            continue
        if key and key == previous[0]:
            out.append(replace(rewrite, line=previous[1]))
            continue
        code, at = codes[top], cursor.get(top, 0)
        pos = code.find(needle, at) if needle else -1
        if pos < 0 and needle:
            pos = code.find(needle)
        if pos < 0:
            pos = at
        # Records come in source order (leaves before their statement's extras): search on after this match.
        cursor[top] = pos + len(needle) if needle else pos
        line = starts[top] + code.count("\n", 0, pos)
        previous = (key, line)
        out.append(replace(rewrite, line=line))
    return out
