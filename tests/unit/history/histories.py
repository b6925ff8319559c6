"""Hypothesis strategies for random histories: branches, merges (criss-cross, octopus), empty commits, renames,
a file replaced by a directory and back, non-UTF-8 paths and messages, hashes quoted in messages, tags.

Objects are written raw (small independent serializer), so that names and messages can be arbitrary bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pygit2
from hypothesis import strategies as st

# The path universe. "d" and "d/e" exclude each other: a file replaced by a directory and back.
PATHS = [b"a/x", b"a/y", b"a/s/z", b"a/n\xe9\xff", b"b/x", b"b/y", b"c", b"d", b"d/e", b"e/f"]
CONTENTS = [b"1\n", b"2\n", b"3\n"]  # few values: trees revert, commits become empty after filtering
MESSAGES = [b"change\n", b"caf\xe9 latin-1 bytes\n", b"", b"no newline", b"ref deadbeefcafe1 stays\n"]

# (paths, renames) pairs expressible identically in spinout and filter-repo
FILTERS: list[tuple[list[str], dict[str, str]]] = [
    (["a/"], {}),
    (["a/s/"], {}),
    (["a/", "c"], {"a/": "lib/a/"}),
    (["b/", "d/"], {}),
    (["d", "e/"], {"e/": "ee/"}),
    (["a/"], {"a/": ""}),
    (["c", "b/x"], {}),
    (["a/s/", "b/"], {"a/s/": "s/", "b/": "bee/"}),
]


def _tree_bytes(entries: list[tuple[bytes, int, bytes]]) -> bytes:
    key = [(n + b"/" if m == 0o040000 else n, n, m, o) for n, m, o in entries]
    return b"".join(b"%o %s\0%s" % (m, n, o) for _, n, m, o in sorted(key))


def _write(repo: pygit2.Repository, kind: int, data: bytes) -> bytes:
    return bytes(repo.odb.write(kind, data).raw)


def write_tree(repo: pygit2.Repository, files: dict[bytes, bytes]) -> bytes:
    here: list[tuple[bytes, int, bytes]] = []
    below: dict[bytes, dict[bytes, bytes]] = {}
    for path, content in files.items():
        head, sep, rest = path.partition(b"/")
        if sep:
            below.setdefault(head, {})[rest] = content
        else:
            here.append((head, 0o100644, _write(repo, pygit2.GIT_OBJECT_BLOB, content)))
    for name, sub in below.items():
        here.append((name, 0o040000, write_tree(repo, sub)))
    return _write(repo, pygit2.GIT_OBJECT_TREE, _tree_bytes(here))


@dataclass
class Built:
    repo: pygit2.Repository
    path: Path
    commits: list[str] = field(default_factory=list)


@dataclass
class Op:
    kind: str  # commit | empty | merge | branch | tag
    branch: int
    changes: tuple[tuple[int, int | None], ...] = ()  # (path index, content index or None = delete)
    others: tuple[int, ...] = ()  # merge: other branches; branch: commit index to branch from
    tree_from: int = 0  # merge: which parent's tree to start from
    message: int = 0
    quote: int = 0  # 0 none, 1 first parent abbreviated, 2 first parent full


ops = st.one_of(
    st.builds(
        Op,
        kind=st.just("commit"),
        branch=st.integers(0, 2),
        changes=st.lists(
            st.tuples(st.integers(0, len(PATHS) - 1), st.one_of(st.none(), st.integers(0, len(CONTENTS) - 1))),
            min_size=1,
            max_size=3,
        ).map(tuple),
        message=st.integers(0, len(MESSAGES) - 1),
        quote=st.integers(0, 2),
    ),
    st.builds(Op, kind=st.just("empty"), branch=st.integers(0, 2), message=st.integers(0, len(MESSAGES) - 1)),
    st.builds(
        Op,
        kind=st.just("merge"),
        branch=st.integers(0, 2),
        others=st.lists(st.integers(0, 2), min_size=1, max_size=2).map(tuple),
        tree_from=st.integers(0, 2),
        changes=st.lists(
            st.tuples(st.integers(0, len(PATHS) - 1), st.one_of(st.none(), st.integers(0, len(CONTENTS) - 1))),
            max_size=1,
        ).map(tuple),
    ),
    st.builds(Op, kind=st.just("branch"), branch=st.integers(1, 2), others=st.tuples(st.integers(0, 40))),
    st.builds(Op, kind=st.just("tag"), branch=st.integers(0, 2), message=st.integers(0, 1)),
)

histories = st.lists(ops, min_size=1, max_size=25)


def build_history(path: Path, program: list[Op], *, encoding_header: bool = False) -> Built:
    """Play `program` into a new bare repository at `path`. Branch 0 is main, 1 and 2 start at main's root."""
    repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
    built = Built(repo, path)
    clock = 1_300_000_000
    heads: dict[int, tuple[bytes | None, dict[bytes, bytes]]] = {0: (None, {})}
    names = {0: "main", 1: "one", 2: "two"}
    tags = 0

    def commit(parents: list[bytes], files: dict[bytes, bytes], message: bytes, quote: int) -> bytes:
        nonlocal clock
        clock += 60
        if quote and parents:
            h = parents[0].hex().encode()
            message = message + b"\nfollows " + (h[:9] if quote == 1 else h) + b"\n"
        body = b"tree " + write_tree(repo, files).hex().encode() + b"\n"
        body += b"".join(b"parent " + p.hex().encode() + b"\n" for p in parents)
        body += b"author A U Thor <a@example.com> %d +0100\ncommitter C O Mitter <c@example.com> %d -0230\n" % (
            clock,
            clock,
        )
        if encoding_header and b"\xe9" in message:
            body += b"encoding ISO-8859-1\n"
        oid = _write(repo, pygit2.GIT_OBJECT_COMMIT, body + b"\n" + message)
        built.commits.append(oid.hex())
        return oid

    def apply(files: dict[bytes, bytes], changes: tuple[tuple[int, int | None], ...]) -> dict[bytes, bytes]:
        files = dict(files)
        for pi, ci in changes:
            p = PATHS[pi]
            if ci is None:
                files.pop(p, None)
                continue
            if p == b"d":
                files.pop(b"d/e", None)
            if p == b"d/e":
                files.pop(b"d", None)
            files[p] = CONTENTS[ci]
        return files

    root = commit([], {b"a/x": b"1\n", b"c": b"1\n"}, b"root\n", 0)
    heads = {0: (root, {b"a/x": b"1\n", b"c": b"1\n"})}
    heads[1] = heads[2] = heads[0]
    for op in program:
        tip, files = heads[op.branch]
        parents = [tip] if tip else []
        if op.kind == "commit":
            new_files = apply(files, op.changes)
            heads[op.branch] = (commit(parents, new_files, MESSAGES[op.message], op.quote), new_files)
        elif op.kind == "empty":
            heads[op.branch] = (commit(parents, files, MESSAGES[op.message], 0), files)
        elif op.kind == "merge":
            others = [heads[o] for o in op.others if heads[o][0] not in parents]
            if not others:
                continue
            for o in others:
                if o[0] not in parents:
                    parents.append(o[0])  # type: ignore[arg-type]
            sides = [files] + [o[1] for o in others]
            base = sides[min(op.tree_from, len(sides) - 1)]
            merged = dict(base)
            for side in sides:
                for p, v in side.items():
                    merged.setdefault(p, v)
            if b"d" in merged and b"d/e" in merged:
                merged.pop(b"d/e")
            merged = apply(merged, op.changes)
            heads[op.branch] = (commit(parents, merged, b"Merge\n", 0), merged)  # type: ignore[arg-type]
        elif op.kind == "branch":
            idx = op.others[0] % len(built.commits)
            oid = bytes.fromhex(built.commits[idx])
            tree = repo[pygit2.Oid(raw=oid)].peel(pygit2.Tree)
            heads[op.branch] = (oid, _files_of(repo, tree))
        elif op.kind == "tag" and tip is not None:
            tags += 1
            if op.message:
                body = b"object %s\ntype commit\ntag t%d\ntagger T <t@example.com> %d +0000\n\nrelease\n" % (
                    tip.hex().encode(),
                    tags,
                    clock,
                )
                tag_oid = _write(repo, pygit2.GIT_OBJECT_TAG, body)
                repo.references.create(f"refs/tags/t{tags}", pygit2.Oid(raw=tag_oid))
            else:
                repo.references.create(f"refs/tags/t{tags}", pygit2.Oid(raw=tip))
    for i, (tip, _) in heads.items():
        if tip is not None:
            repo.references.create(f"refs/heads/{names[i]}", pygit2.Oid(raw=tip), force=True)
    return built


def _files_of(repo: pygit2.Repository, tree: pygit2.Tree, prefix: bytes = b"") -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for entry in tree:
        name = prefix + entry.raw_name
        if entry.type_str == "tree":
            out.update(_files_of(repo, repo[entry.id], name + b"/"))
        else:
            out[name] = repo[entry.id].data
    return out


def digest(program: list[Op]) -> str:
    return hashlib.sha1(repr(program).encode()).hexdigest()[:8]
