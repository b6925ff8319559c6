"""Pure path → target rules of the history stage: which source paths a target keeps, and where they land.

A `Rules` value answers two questions for one target, without touching git:

* `target_path(path)`: the path a source file has in the target, or None when the target drops it. This is the
  slow, obviously-correct reference the engine's verification re-derives trees with.
* `root`: the same rules as a trie of `Node`s, one per path component where the rules change (a selected path,
  an excluded path, a rename boundary inside a selected directory). The engine walks source trees along this
  trie only, and memoizes by (tree id, node): subtrees below a node without children are taken whole, by id.

Selection follows the plan: a path ending in '/' selects a directory and everything below it, any other path
selects exactly that file. Renames are prefix renames: a key ending in '/' renames a directory prefix, any other
key renames exactly that file; the longest matching key wins. Old names found by `follow_renames` are added as
exact files renamed to where the file they became lands (see docs/history.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from spinout.plan.model import Plan, Service, path_covers


@dataclass(eq=False)
class Node:
    """One path component of a rule trie. Hashed by identity: nodes are memo keys.

    `tree` / `blob`: whether the entry at this node is kept when it is a tree (with everything below it, except
    what `children` say) / when it is a file, symlink or submodule. `children`: components below where the
    rules differ from "keep all" (when `tree`) or "keep nothing" (when not).
    """

    tree: bool = False
    blob: bool = False
    children: dict[bytes, Node] = field(default_factory=dict)

    @property
    def names(self) -> tuple[bytes, ...]:
        """The children's names, in order (cached: the trie is complete once built)."""
        cached = self.__dict__.get("_names")
        if cached is None or len(cached) != len(self.children):
            cached = self.__dict__["_names"] = tuple(self.children)
        return cached

    def child(self, name: bytes) -> Node:
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = Node()
        return node


def _components(path: str) -> list[bytes]:
    return [c.encode() for c in path.rstrip("/").split("/")]


def _covers_rename(old: str, path: str) -> bool:
    return path.startswith(old) if old.endswith("/") else path == old


@dataclass(frozen=True)
class Rules:
    """One target's path rules: kept paths (or, when `invert`, dropped paths) and renames."""

    name: str
    paths: tuple[str, ...]
    renames: tuple[tuple[str, str], ...] = ()
    invert: bool = False
    # exact old-name files (from follow_renames) and where they land in the target
    old_names: tuple[tuple[str, str], ...] = ()
    root: Node = field(default_factory=Node, compare=False)

    @staticmethod
    def build(
        name: str,
        paths: Iterable[str],
        renames: Mapping[str, str] | None = None,
        *,
        invert: bool = False,
        old_names: Mapping[str, str] | None = None,
    ) -> Rules:
        """Rules for `paths` (kept, or dropped when `invert`), `renames` (key → replacement prefix) and
        `old_names` (old path → the current path it became; the old path lands under its own name, renamed)."""
        path_t = tuple(sorted(set(paths)))
        rename_t = tuple(sorted((renames or {}).items()))
        if invert and rename_t:
            raise ValueError("an inverted (complement) filter cannot rename paths")
        proto = Rules(name, path_t, rename_t, invert)
        olds: list[tuple[str, str]] = []
        for old in sorted(old_names or {}):
            # An old name keeps the name it had then, through the plan's renames (filter-repo's `--path OLD`);
            # one that the paths already select keeps its own rules: it is also a current file.
            if not invert and not proto.selects(old):
                olds.append((old, proto.renamed(old)))
        rules = Rules(name, path_t, rename_t, invert, tuple(olds))
        rules._build_trie()
        return rules

    # --- the reference semantics -------------------------------------------------------------------------
    def selects(self, path: str) -> bool:
        hit = any(path_covers(p, path) for p in self.paths)
        if self.invert:
            return not hit
        return hit or any(path == old for old, _ in self.old_names)

    def renamed(self, path: str) -> str:
        for old, new in self.old_names:
            if path == old:
                return new
        best = ""
        for old, _ in self.renames:
            if _covers_rename(old, path) and len(old) > len(best):
                best = old
        if not best:
            return path
        return dict(self.renames)[best] + path[len(best) :]

    def target_path(self, path: str) -> str | None:
        """Where source file `path` lands in this target, or None if the target drops it."""
        return self.renamed(path) if self.selects(path) else None

    # --- the trie ------------------------------------------------------------------------------------------
    def _build_trie(self) -> None:
        root = self.root
        if self.invert:
            root.tree = root.blob = True
            excluded_dirs: list[Node] = []
            for p in self.paths:
                node = root
                comps = _components(p)
                for comp in comps[:-1]:
                    node = node.child(comp)
                    if not node.children and not (node.tree or node.blob):
                        node.tree = node.blob = True
                last = node.child(comps[-1])
                if not last.children and not (last.tree or last.blob):
                    last.tree = last.blob = True
                if p.endswith("/"):
                    last.tree = False
                    excluded_dirs.append(last)
                else:
                    last.blob = False
            for node in excluded_dirs:
                node.children.clear()  # nothing below an excluded directory is kept
            return
        for p in self.paths:
            node = root
            for comp in _components(p):
                node = node.child(comp)
            if p.endswith("/"):
                node.tree = True
            else:
                node.blob = True
        for old, _ in self.old_names:
            node = root
            for comp in _components(old):
                node = node.child(comp)
            node.blob = True
        # A rename key strictly inside a kept directory splits it, so that every whole subtree the engine takes
        # by id is renamed uniformly.
        for old, _ in self.renames:
            inside = any(p.endswith("/") and old.startswith(p) and old != p for p in self.paths)
            if inside:
                node = root
                for comp in _components(old):
                    node = node.child(comp)
        _propagate(root, False)


def _propagate(node: Node, inside: bool) -> None:
    if inside:
        node.tree = node.blob = True
    for child in node.children.values():
        _propagate(child, inside or node.tree)


def service_rules(service: Service, old_names: Mapping[str, str] | None = None) -> Rules:
    """A service's rules: its paths, its renames, and the old names `follow_renames` found."""
    return Rules.build(service.name, service.paths, service.rename, old_names=old_names)


def core_rules(plan: Plan) -> Rules:
    """The core's complement filter: everything except the paths that move to a service.

    A path a service lists under `shared` is copied, not moved, so the core keeps it.
    """
    moved: set[str] = set()
    for service in plan.service:
        moved.update(p for p in service.paths if p not in service.shared)
    return Rules.build(plan.core.name, moved, invert=True)


def old_name_map(earlier: Mapping[str, list[str]]) -> dict[str, str]:
    """Turn `find_earlier_names` output (current path → earlier names) into old name → current path.

    When two current files had the same earlier name, the first in sorted order wins, deterministically.
    """
    out: dict[str, str] = {}
    for current in sorted(earlier):
        for old in earlier[current]:
            if old != current:
                out.setdefault(old, current)
    return out
