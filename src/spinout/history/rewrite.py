"""The history engine: one walk over the source history writes every target, with git filter-repo's semantics.

For each source commit (parents before children) and each target:

1. the filtered, renamed tree, memoized by (tree id, rule node) — `TreeFilter`; unchanged subtrees are kept by
   id, and only trees along the rule trie are read;
2. the parents, rewritten and trimmed exactly as filter-repo's `_maybe_trim_extra_parents` does (pruned parents
   replaced by their replacement, vanished ones removed, duplicate or newly-redundant rewritten parents of a
   merge dropped unless the original merge was already degenerate);
3. the pruning decision of filter-repo's `_prunable` (`--prune-empty auto`, `--prune-degenerate auto`);
4. a new commit whose author, committer, encoding and message are the source's bytes, except commit hashes
   quoted in the message, which are rewritten (see `HashRewriter`).

Objects go into one pack per target (`PackSink`); the target reads the source's objects through alternates
during the run, and `finalize_target` makes it standalone. docs/history.md states the semantics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pygit2

from spinout.history.commitmap import CommitState
from spinout.history.pack import OBJ_COMMIT, OBJ_TAG, OBJ_TREE, PackSink, object_id
from spinout.history.router import Node, Rules

TREE_MODE = 0o040000
EMPTY_TREE = object_id(OBJ_TREE, b"")
# Memo sizes, in entries; a memo is cleared wholesale when full. Reuse is mostly between neighbouring commits,
# so small bounds cost little time and keep the peak memory of a 30,000-commit split low.
_MEMO_LIMIT = 300_000  # (tree, node) -> tree id, without renames
_PIECES_LIMIT = 10_000  # (tree, node) -> kept pieces, with renames: values hold paths
_BUILT_LIMIT = 20_000  # pieces -> tree id
_WRITTEN_LIMIT = 10_000  # filtered entries of a small tree -> its id
_WRITTEN_WIDTH = 32  # trees of at most this many entries are memoized by their entries


def commit_at(repo: pygit2.Repository, oid: bytes) -> pygit2.Commit:
    """The commit with raw id `oid` (peeling tags)."""
    obj = repo[pygit2.Oid(raw=oid)]
    return obj if isinstance(obj, pygit2.Commit) else obj.peel(pygit2.Commit)


def parse_tree(data: bytes) -> list[tuple[bytes, int, bytes]]:
    """Entries (name, mode, raw id) of a raw tree object, in stored order."""
    out = []
    i, n = 0, len(data)
    while i < n:
        sp = data.index(b" ", i)
        nul = data.index(b"\0", sp)
        out.append((data[sp + 1 : nul], int(data[i:sp], 8), data[nul + 1 : nul + 21]))
        i = nul + 21
    return out


def _sort_key(entry: tuple[bytes, int, bytes]) -> bytes:
    return entry[0] + b"/" if entry[1] == TREE_MODE else entry[0]


def serialize_tree(entries: list[tuple[bytes, int, bytes]]) -> bytes:
    """Canonical tree bytes: git's order (a tree sorts as if its name ended in '/')."""
    return b"".join(b"%o %s\0%s" % (mode, name, oid) for name, mode, oid in sorted(entries, key=_sort_key))


class TreeReader:
    """Source tree lookups shared by every target of a walk.

    The targets look at the same few trees along their rule tries (the root, `acme/`, `acme/services/`), so
    each lookup by name (done by libgit2) and each parsed tree is cached here once for all of them. Bounded:
    cleared wholesale when full, since reuse is between targets and neighbouring commits.
    """

    PARSED_LIMIT = 4_096  # whole parsed trees: a big directory is tens of kilobytes
    LOOKUP_LIMIT = 20_000  # reuse is between the targets of one commit and its neighbours

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self._parsed: dict[bytes, list[tuple[bytes, int, bytes]]] = {}
        self._hits: dict[tuple[bytes, tuple[bytes, ...]], list[tuple[bytes, int, bytes]]] = {}

    def entries(self, tree: bytes) -> list[tuple[bytes, int, bytes]]:
        hit = self._parsed.get(tree)
        if hit is None:
            if len(self._parsed) > self.PARSED_LIMIT:
                self._parsed.clear()
            hit = self._parsed[tree] = parse_tree(self.repo.odb.read(pygit2.Oid(raw=tree))[1])
        return hit

    def lookup(self, tree: bytes, names: tuple[bytes, ...]) -> list[tuple[bytes, int, bytes]]:
        """The entries named `names` that `tree` has. Cached per (tree, names): the targets share tries' shapes."""
        key = (tree, names)
        found = self._hits.get(key)
        if found is not None:
            return found
        if len(self._hits) > self.LOOKUP_LIMIT:
            self._hits.clear()
        obj = self.repo[pygit2.Oid(raw=tree)]
        assert isinstance(obj, pygit2.Tree)
        found = []
        for name in names:
            try:
                entry = obj[name.decode()]  # plan paths are UTF-8, so rule names decode
            except KeyError:
                continue
            # a tree's mode is always 040000 (libgit2 parses it as a number); `filemode` builds an enum per call,
            # ten times the cost of `type`
            mode = TREE_MODE if entry.type == pygit2.GIT_OBJECT_TREE else int(entry.filemode)
            found.append((name, mode, entry.id.raw))
        self._hits[key] = found
        return found


class TreeFilter:
    """Filtered, renamed trees of one target. Reads source trees through `reader`, writes new trees to `sink`."""

    def __init__(self, repo: pygit2.Repository, rules: Rules, sink: PackSink, reader: TreeReader | None = None) -> None:
        self.repo = repo
        self.reader = reader or TreeReader(repo)
        self.rules = rules
        self.sink = sink
        self._roots: dict[bytes, bytes] = {}
        self._memo: dict[tuple[bytes, int], bytes | None] = {}
        self._pieces_memo: dict[tuple[bytes, int], tuple[tuple[bytes, int, bytes], ...]] = {}
        self._renamed: dict[bytes, bytes] = {}
        self._built: dict[tuple[tuple[bytes, int, bytes], ...], bytes | None] = {}
        self._written: dict[tuple[tuple[bytes, int, bytes], ...], bytes] = {}
        self._plain = not rules.renames and not rules.old_names
        self._top_renames = _top_level_renames(rules)

    def _entries(self, tree: bytes) -> list[tuple[bytes, int, bytes]]:
        return self.reader.entries(tree)

    def _lookup(self, tree: bytes, names: tuple[bytes, ...]) -> list[tuple[bytes, int, bytes]]:
        return self.reader.lookup(tree, names)

    def filter_root(self, tree: bytes) -> bytes:
        """The target tree for source root tree `tree` (the empty tree when nothing is kept)."""
        hit = self._roots.get(tree)
        if hit is not None:
            return hit
        root = self.rules.root
        if len(self._memo) > _MEMO_LIMIT:
            self._memo.clear()
        if len(self._pieces_memo) > _PIECES_LIMIT:
            self._pieces_memo.clear()
        if self._plain:
            out = self._out(tree, root) if root.children else (tree if root.tree else None)
        elif not root.children:
            out = self._build(((b"", TREE_MODE, tree),) if root.tree else ())
        elif self._top_renames is not None:
            out = self._renamed_root(tree, root)
        else:
            out = self._build(self._pieces(tree, root, memo=False))  # a root tree rarely comes back
        if out is None:
            out = self.sink.add(OBJ_TREE, b"")
        self._roots[tree] = out
        return out

    # --- without renames: rebuild the trees along the trie, reuse everything else by id ----------------------
    def _out(self, tree: bytes, node: Node) -> bytes | None:
        key = (tree, id(node))
        if key in self._memo:
            return self._memo[key]
        new, unchanged = self._kept_entries(tree, node)
        result = tree if unchanged else self._write(new)
        self._memo[key] = result
        return result

    def _kept_entries(self, tree: bytes, node: Node) -> tuple[list[tuple[bytes, int, bytes]], bool]:
        """The entries of `tree` kept at `node`, subtrees filtered; and whether they are the tree's own."""
        new: list[tuple[bytes, int, bytes]] = []
        if node.tree:
            entries = self._entries(tree)
            for name, mode, oid in entries:
                child = node.children.get(name)
                if child is None:
                    new.append((name, mode, oid))
                else:
                    kept = self._sub_out(mode, oid, child)
                    if kept is not None:
                        new.append((name, kept[0], kept[1]))
            return new, new == entries
        for name, mode, oid in self._lookup(tree, node.names):
            kept = self._sub_out(mode, oid, node.children[name])
            if kept is not None:
                new.append((name, kept[0], kept[1]))
        return new, False

    def _renamed_root(self, tree: bytes, root: Node) -> bytes | None:
        """Renames of top-level directories only (`acme/` -> `acme_lb/`, the usual plan): the plain filter's
        memoized subtrees, with the renamed directories' root entries renamed. When a renamed directory meets a
        kept entry of the same name, the pieces must be merged: the general path does it."""
        top = self._top_renames
        assert top is not None
        kept, _ = self._kept_entries(tree, root)
        renamed = [(top.get(name, name) if mode == TREE_MODE else name, mode, oid) for name, mode, oid in kept]
        if len({name for name, _, _ in renamed}) != len(renamed):
            return self._build(self._pieces(tree, root, memo=False))
        return self._write(renamed)

    def _sub_out(self, mode: int, oid: bytes, child: Node) -> tuple[int, bytes] | None:
        if mode == TREE_MODE:
            if child.children:
                sub = self._out(oid, child)
                return None if sub is None else (mode, sub)
            return (mode, oid) if child.tree else None
        return (mode, oid) if child.blob else None

    def _write(self, entries: list[tuple[bytes, int, bytes]]) -> bytes | None:
        if not entries:
            return None
        if len(entries) > _WRITTEN_WIDTH:
            return self.sink.add(OBJ_TREE, serialize_tree(entries))
        # A commit elsewhere in the source changes every tree above it, but not this target's filtered entries:
        # the same entries give the same tree, without serializing and hashing it again.
        key = tuple(entries)
        hit = self._written.get(key)
        if hit is None:
            if len(self._written) > _WRITTEN_LIMIT:
                self._written.clear()
            hit = self._written[key] = self.sink.add(OBJ_TREE, serialize_tree(entries))
        return hit

    # --- with renames: collect kept pieces (whole subtrees or files) and lay them out at their new paths -----
    def _pieces(
        self, tree: bytes, node: Node, prefix: bytes = b"", *, memo: bool = True
    ) -> tuple[tuple[bytes, int, bytes], ...]:
        """Kept pieces below `node` (whose path from the root is `prefix`), with paths from the root."""
        key = (tree, id(node))
        hit = self._pieces_memo.get(key) if memo else None
        if hit is not None:
            return hit
        out: list[tuple[bytes, int, bytes]] = []
        if node.tree:
            for name, mode, oid in self._entries(tree):
                child = node.children.get(name)
                if child is None:
                    out.append((prefix + name, mode, oid))
                else:
                    self._sub_pieces(out, prefix + name, mode, oid, child)
        else:
            for name, mode, oid in self._lookup(tree, node.names):
                self._sub_pieces(out, prefix + name, mode, oid, node.children[name])
        result = tuple(out)
        if memo:
            self._pieces_memo[key] = result
        return result

    def _sub_pieces(self, out: list[tuple[bytes, int, bytes]], path: bytes, mode: int, oid: bytes, child: Node) -> None:
        if mode == TREE_MODE:
            if child.children:
                out.extend(self._pieces(oid, child, path + b"/"))
            elif child.tree:
                out.append((path, mode, oid))
        elif child.blob:
            out.append((path, mode, oid))

    def _rename(self, path: bytes, is_tree: bool) -> bytes:
        key = path + b"/" if is_tree else path
        hit = self._renamed.get(key)
        if hit is None:
            text = key.decode("utf-8", "surrogateescape")
            hit = self.rules.renamed(text).encode("utf-8", "surrogateescape")
            if is_tree:
                hit = hit.rstrip(b"/")
            self._renamed[key] = hit
        return hit

    def _build(self, pieces: tuple[tuple[bytes, int, bytes], ...]) -> bytes | None:
        # Most commits leave a service's pieces as they were: the same pieces give the same tree.
        if pieces in self._built:
            return self._built[pieces]
        if len(self._built) > _BUILT_LIMIT:
            self._built.clear()
        result = self._build_new(pieces)
        self._built[pieces] = result
        return result

    def _build_new(self, pieces: tuple[tuple[bytes, int, bytes], ...]) -> bytes | None:
        top: dict[bytes, object] = {}
        for path, mode, oid in pieces:
            is_tree = mode == TREE_MODE
            new = self._rename(path, is_tree)
            comps = new.split(b"/") if new else []
            if not comps:  # a directory renamed to the root: its entries join the root
                self._merge_into(top, oid)
                continue
            d = top
            for comp in comps[:-1]:
                cur = d.get(comp)
                if not isinstance(cur, dict):
                    expanded: dict[bytes, object] = {}
                    if isinstance(cur, tuple) and cur[0] == TREE_MODE:
                        self._merge_into(expanded, cur[1])
                    d[comp] = expanded
                    cur = expanded
                d = cur
            last = comps[-1]
            existing = d.get(last)
            if is_tree and isinstance(existing, tuple) and existing[0] == TREE_MODE:
                # a second tree lands where a whole tree already is (`a/` renamed onto a kept `lib/`): both merge
                expanded = {}
                self._merge_into(expanded, existing[1])
                existing = d[last] = expanded
            if isinstance(existing, dict) and is_tree:
                self._merge_into(existing, oid)
            else:
                d[last] = (mode, oid)
        return self._write_dir(top)

    def _merge_into(self, d: dict[bytes, object], tree: bytes) -> None:
        for name, mode, oid in self._entries(tree):
            existing = d.get(name)
            if isinstance(existing, dict) and mode == TREE_MODE:
                self._merge_into(existing, oid)
            elif existing is None:
                d[name] = (mode, oid)

    def _write_dir(self, d: dict[bytes, object]) -> bytes | None:
        entries: list[tuple[bytes, int, bytes]] = []
        for name, value in d.items():
            if isinstance(value, dict):
                sub = self._write_dir(value)
                if sub is not None:
                    entries.append((name, TREE_MODE, sub))
            else:
                assert isinstance(value, tuple)
                entries.append((name, value[0], value[1]))
        return self._write(entries)


def _top_level_renames(rules: Rules) -> dict[bytes, bytes] | None:
    """{old name: new name} when every rename renames a top-level directory to another top-level directory and
    the old names follow_renames adds land where the plan's renames put them; else None."""
    out: dict[bytes, bytes] = {}
    for old, new in rules.renames:
        if not (old.endswith("/") and new.endswith("/")):
            return None
        old_name, new_name = old[:-1], new[:-1]
        if not old_name or not new_name or "/" in old_name or "/" in new_name:
            return None
        out[old_name.encode()] = new_name.encode()
    plain = Rules(rules.name, rules.paths, rules.renames, rules.invert)
    if not out or any(plain.renamed(old) != new for old, new in rules.old_names):
        return None
    return out


class Graph:
    """Commit ancestry with generation numbers, as filter-repo's AncestryGraph: `is_ancestor` stops descending
    below the candidate's depth. Commits not added are read through `parents_of` (earlier runs)."""

    def __init__(self, parents_of: Callable[[bytes], Sequence[bytes]]) -> None:
        self._parents: dict[bytes, tuple[bytes, ...]] = {}
        self._depth: dict[bytes, int] = {}
        self._parents_of = parents_of
        self._cache: dict[tuple[bytes, bytes], bool] = {}

    def add(self, commit: bytes, parents: Sequence[bytes]) -> None:
        self._parents[commit] = tuple(parents)

    def parents(self, commit: bytes) -> tuple[bytes, ...]:
        got = self._parents.get(commit)
        if got is None:
            got = self._parents[commit] = tuple(self._parents_of(commit))
        return got

    def depth(self, commit: bytes) -> int:
        if commit in self._depth:
            return self._depth[commit]
        stack = [commit]
        while stack:
            top = stack[-1]
            if top in self._depth:
                stack.pop()
                continue
            missing = [p for p in self.parents(top) if p not in self._depth]
            if missing:
                stack.extend(missing)
                continue
            self._depth[top] = 1 + max((self._depth[p] for p in self.parents(top)), default=0)
            stack.pop()
        return self._depth[commit]

    def is_ancestor(self, a: bytes, b: bytes) -> bool:
        """Whether `a` is `b` or an ancestor of `b`."""
        key = (a, b)
        if key in self._cache:
            return self._cache[key]
        a_depth = self.depth(a)
        todo, seen, found = [b], set(), False
        while todo:
            x = todo.pop()
            if x == a:
                found = True
                break
            if x in seen or self.depth(x) <= a_depth:
                continue
            seen.add(x)
            todo.extend(self.parents(x))
        self._cache[key] = found
        return found


_HASH_RE = re.compile(rb"\b[0-9a-f]{7,40}\b")


@dataclass
class SourceCommit:
    """What the engine needs of one source commit (raw ids)."""

    id: bytes
    tree: bytes
    parents: tuple[bytes, ...]
    headers: bytes  # author, committer and encoding lines, verbatim
    message: bytes


def read_source_commit(repo: pygit2.Repository, oid: bytes) -> SourceCommit:
    data = repo.odb.read(pygit2.Oid(raw=oid))[1]
    head, _, message = data.partition(b"\n\n")
    tree = b""
    parents: list[bytes] = []
    kept: list[bytes] = []
    keep_current = False
    for line in head.split(b"\n"):
        if line.startswith(b" "):  # continuation of a multi-line header (gpgsig, mergetag): dropped with it
            if keep_current:
                kept.append(line)
            continue
        key = line.split(b" ", 1)[0]
        keep_current = False
        if key == b"tree":
            tree = bytes.fromhex(line[5:].decode())
        elif key == b"parent":
            parents.append(bytes.fromhex(line[7:].decode()))
        elif key in (b"author", b"committer", b"encoding"):
            kept.append(line)
            keep_current = True
    return SourceCommit(oid, tree, tuple(parents), b"\n".join(kept) + b"\n", message)


@dataclass
class TargetRun:
    """One target's side of the walk: its tree filter, its maps and its pack."""

    name: str
    rules: Rules
    sink: PackSink
    filter: TreeFilter
    state: CommitState
    new_graph: Graph
    new_tree_of: Callable[[bytes], bytes]
    walk: set[bytes] | None = None  # source commits this target takes; None: all walked
    previous: set[bytes] = field(default_factory=set)  # the source tips its last run walked
    kept_prefix: dict[bytes, list[bytes]] | None = None  # built on first need: most messages quote no hash
    new_trees: dict[bytes, bytes] = field(default_factory=dict)
    kept: int = 0
    pruned: int = 0

    def tree_of_new(self, commit: bytes) -> bytes:
        hit = self.new_trees.get(commit)
        return hit if hit is not None else self.new_tree_of(commit)

    def index_kept(self, old: bytes) -> None:
        if self.kept_prefix is not None:
            self.kept_prefix.setdefault(old.hex()[:7].encode(), []).append(old)

    def prefix_index(self) -> dict[bytes, list[bytes]]:
        """Kept source commits so far by their first 7 hex digits."""
        if self.kept_prefix is None:
            index: dict[bytes, list[bytes]] = {}
            for old in self.state.replacement:
                if old not in self.state.pruned:
                    index.setdefault(old.hex()[:7].encode(), []).append(old)
            self.kept_prefix = index
        return self.kept_prefix


class Walk:
    """Shared per-walk knowledge of the source: trees and the original ancestry."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self.orig_graph = Graph(self._source_parents)
        self._trees: dict[bytes, bytes] = {}

    def _source_parents(self, oid: bytes) -> list[bytes]:
        return [p.raw for p in commit_at(self.repo, oid).parent_ids]

    def tree(self, commit: bytes) -> bytes:
        hit = self._trees.get(commit)
        if hit is None:
            hit = self._trees[commit] = commit_at(self.repo, commit).tree_id.raw
        return hit

    def add(self, c: SourceCommit) -> None:
        self._trees[c.id] = c.tree
        self.orig_graph.add(c.id, c.parents)


def process_commit(walk: Walk, t: TargetRun, c: SourceCommit) -> None:
    """Rewrite one source commit for one target, or prune it (filter-repo's rules, see module docstring)."""
    st = t.state
    orig_parents = list(c.parents)
    rewritten = [st.replacement[p] for p in orig_parents]
    is_rw = [p in st.pruned for p in orig_parents]
    prev_first = rewritten[0] if rewritten else None
    parents, new_first = _trim_parents(walk, t, orig_parents, rewritten, is_rw)

    new_tree = t.filter.filter_root(c.tree)
    had_changes = c.tree != (walk.tree(orig_parents[0]) if orig_parents else EMPTY_TREE)

    # The filtered changes filter-repo looks at are relative to the original first parent, or, when the
    # parents changed, to the original commit behind the new first parent.
    base: bytes | None = orig_parents[0] if orig_parents else None
    if parents and (prev_first != parents[0] or (new_first is not None and new_first != parents[0])):
        will_be_first = new_first if new_first is not None else parents[0]
        base = next(op for op, np in zip(orig_parents, rewritten, strict=True) if np == will_be_first)
    base_tree = t.filter.filter_root(walk.tree(base)) if base is not None else EMPTY_TREE
    no_changes = new_tree == base_tree

    prune = False
    if len(parents) >= 2 and new_first is None:
        prune = False
    elif len(parents) < 2:
        if not had_changes:
            had_parents_pruned = len(parents) < len(orig_parents) or (
                len(orig_parents) == 1 and orig_parents[0] in st.pruned
            )
            prune = no_changes and had_parents_pruned
        elif no_changes:
            prune = True
        elif parents:
            prune = new_tree == t.tree_of_new(parents[0])
    else:
        assert new_first is not None
        prune = new_tree == t.tree_of_new(new_first)

    if prune:
        st.record(c.id, new_first if new_first is not None else (parents[0] if parents else None), pruned=True)
        t.pruned += 1
        return
    message = _rewrite_hashes(walk, t, c)
    body = b"tree %s\n" % new_tree.hex().encode()
    body += b"".join(b"parent %s\n" % p.hex().encode() for p in parents)
    body += c.headers + b"\n" + message
    new_id = t.sink.add(OBJ_COMMIT, body)
    st.record(c.id, new_id, pruned=False)
    t.new_trees[new_id] = new_tree
    t.new_graph.add(new_id, parents)
    t.index_kept(c.id)
    t.kept += 1


def _trim_parents(
    walk: Walk, t: TargetRun, orig_parents: list[bytes], rewritten: list[bytes | None], is_rw: list[bool]
) -> tuple[list[bytes], bytes | None]:
    """filter-repo's `_maybe_trim_extra_parents` with `--prune-degenerate auto`: (parents, new first parent if
    the merge would become a non-merge)."""
    if len(rewritten) < 2:  # nothing to trim below two parents
        return ([rewritten[0]] if rewritten and rewritten[0] is not None else []), None
    rows = [(np, op, rw) for np, op, rw in zip(rewritten, orig_parents, is_rw, strict=True) if np is not None]
    if not rows:
        return [], None
    parents = [r[0] for r in rows]
    if len(parents) < 2:
        return parents, None
    seen: set[bytes] = set()
    uniq = []
    for np, op, rw in rows:
        if np not in seen or not rw:
            uniq.append((np, op, rw))
        seen.add(np)
    if len(uniq) < 2:
        return parents, uniq[0][0]
    to_remove = []
    for cur in range(len(uniq)):
        if not uniq[cur][2]:
            continue
        for other in range(len(uniq)):
            if cur == other:
                continue
            if not t.new_graph.is_ancestor(uniq[cur][0], uniq[other][0]):
                continue
            # an ancestor already in the original (a --no-ff merge) stays
            if walk.orig_graph.is_ancestor(uniq[cur][1], uniq[other][1]):
                continue
            to_remove.append(cur)
            break
    remaining = [u[0] for i, u in enumerate(uniq) if i not in to_remove]
    if len(remaining) < 2:
        return parents, remaining[0]
    return remaining, None


def _rewrite_hashes(walk: Walk, t: TargetRun, c: SourceCommit) -> bytes:
    """Rewrite hashes of the commit's kept ancestors quoted in its message to their new ids (same length).

    filter-repo rewrites any commit it has already emitted; spinout limits this to ancestors so that ids do not
    depend on the walk order (incremental runs walk in a different order). See docs/history.md.
    """
    if not _HASH_RE.search(c.message):
        return c.message
    kept_prefix = t.prefix_index()

    def replace(m: re.Match[bytes]) -> bytes:
        h = m.group(0)
        candidates = [x for x in kept_prefix.get(h[:7], []) if x.hex().encode().startswith(h)]
        if len(candidates) != 1:
            return h
        old = candidates[0]
        if not any(walk.orig_graph.is_ancestor(old, p) for p in c.parents):
            return h
        new = t.state.replacement[old]
        assert new is not None
        return new.hex().encode()[: len(h)]

    return _HASH_RE.sub(replace, c.message)


def rewrite_tag(repo: pygit2.Repository, tag_id: bytes, new_target: bytes, sink: PackSink) -> bytes:
    """A new annotated tag object pointing at `new_target`: name, tagger and message kept, signature stripped
    (filter-repo's `--signed-tags=strip`)."""
    data = repo.odb.read(pygit2.Oid(raw=tag_id))[1]
    head, _, message = data.partition(b"\n\n")
    lines = head.split(b"\n")
    out = [b"object " + new_target.hex().encode()]
    for line in lines:
        if line.startswith(b"object "):
            continue
        out.append(line)
    sig = message.find(b"-----BEGIN PGP SIGNATURE-----")
    if sig >= 0:
        message = message[:sig]
    return sink.add(OBJ_TAG, b"\n".join(out) + b"\n\n" + message)
