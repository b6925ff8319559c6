"""Audit a finished split: re-derive every kept commit's tree from the source, path by path, and compare.

The re-derivation does not use the engine's rule trie or memo: it lists every file of the source tree, asks the
pure `Rules.target_path` where it lands, and hashes the resulting tree. A target whose trees differ, whose state
is missing, or that still borrows objects from the source fails with exit code 6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from spinout.history.commitmap import load_state
from spinout.history.pack import OBJ_TREE, object_id
from spinout.history.rewrite import TREE_MODE, commit_at, serialize_tree
from spinout.history.split import TargetSpec
from spinout.progress import Progress

EXIT_MISMATCH = 6


@dataclass
class VerifyResult:
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_MISMATCH if self.problems else 0

    def to_json(self) -> dict[str, Any]:
        return {"command": "verify-split", "ok": not self.problems, "checked": self.checked, "problems": self.problems}

    def lines(self) -> list[str]:
        out = [f"{name}: {n} commits checked" for name, n in self.checked.items()]
        out += [f"MISMATCH {p}" for p in self.problems]
        if not self.problems:
            out.append("every kept commit's tree matches its re-derivation from the source")
        return out


def _files(repo: pygit2.Repository, tree: pygit2.Tree, prefix: bytes, out: list[tuple[bytes, int, bytes]]) -> None:
    for entry in tree:
        name = prefix + (entry.raw_name or b"")
        if entry.filemode == TREE_MODE:
            sub = repo[entry.id]
            assert isinstance(sub, pygit2.Tree)
            _files(repo, sub, name + b"/", out)
        else:
            out.append((name, entry.filemode, entry.id.raw))


def expected_tree(repo: pygit2.Repository, spec: TargetSpec, tree_id: pygit2.Oid) -> bytes:
    """The id the target tree must have: every source file placed where the rules put it."""
    files: list[tuple[bytes, int, bytes]] = []
    root = repo[tree_id]
    assert isinstance(root, pygit2.Tree)
    _files(repo, root, b"", files)
    top: dict[bytes, Any] = {}
    for path, mode, oid in files:
        new = spec.rules.target_path(path.decode("utf-8", "surrogateescape"))
        if new is None:
            continue
        comps = new.encode("utf-8", "surrogateescape").split(b"/")
        d = top
        for comp in comps[:-1]:
            d = d.setdefault(comp, {})
        d[comps[-1]] = (mode, oid)
    return _hash_dir(top)


def _hash_dir(d: dict[bytes, Any]) -> bytes:
    entries = []
    for name, value in d.items():
        if isinstance(value, dict):
            entries.append((name, TREE_MODE, _hash_dir(value)))
        else:
            entries.append((name, value[0], value[1]))
    return object_id(OBJ_TREE, serialize_tree(entries))


def verify(source: pygit2.Repository, specs: list[TargetSpec], progress: Progress) -> VerifyResult:
    result = VerifyResult()
    for spec in specs:
        git_dir = spec.path if spec.bare else spec.path / ".git"
        if (git_dir / "objects" / "info" / "alternates").exists():
            result.problems.append(f"{spec.name}: still borrows objects from another repository (alternates)")
        saved = load_state(git_dir)
        if saved is None:
            result.problems.append(f"{spec.name}: no split state in {git_dir}; run `spinout split` first")
            continue
        try:
            target = pygit2.Repository(str(git_dir))
        except pygit2.GitError:
            result.problems.append(f"{spec.name}: {git_dir} is not a git repository")
            continue
        memo: dict[bytes, bytes] = {}
        progress.start(f"verify:{spec.name}", f"verifying {spec.name}")
        n = 0
        if spec.mode == "remove":
            main = target.references.get(spec.main_ref)
            tip = saved.tips.get(spec.main_ref)
            if main is None or tip is None:
                result.problems.append(f"{spec.name}: {spec.main_ref} is missing")
                continue
            head = commit_at(source, bytes.fromhex(tip))
            want = expected_tree(source, spec, head.tree_id)
            # later stages add commits on top (the code stage's shims): the removal commit is the one whose parent
            # is the source's main tip, down the first-parent line
            got = target[main.target].peel(pygit2.Commit)
            while got.parent_ids and got.parent_ids[0] != head.id and len(got.parent_ids) == 1:
                got = got.parents[0]
            n = 1
            if got.tree_id.raw != want or [p.raw for p in got.parent_ids] != [head.id.raw]:
                result.problems.append(
                    f"{spec.name}: the removal commit {got.id} does not remove exactly the moved paths"
                )
        else:
            for old, new in sorted(saved.commits.replacement.items()):
                if old in saved.commits.pruned or new is None:
                    continue
                n += 1
                src_commit = commit_at(source, old)
                tree = src_commit.tree_id.raw
                if tree not in memo:
                    memo[tree] = expected_tree(source, spec, src_commit.tree_id)
                try:
                    got_tree = target[pygit2.Oid(raw=new)].peel(pygit2.Commit).tree_id.raw
                except (KeyError, ValueError):
                    result.problems.append(f"{spec.name}: commit {new.hex()} (from {old.hex()}) is missing")
                    continue
                if got_tree != memo[tree]:
                    result.problems.append(
                        f"{spec.name}: commit {new.hex()} (from {old.hex()}) has tree {got_tree.hex()}, "
                        f"expected {memo[tree].hex()}"
                    )
                if n % 256 == 0:
                    progress.advance(f"verify:{spec.name}", n)
        result.checked[spec.name] = n
        progress.finish(f"verify:{spec.name}", f"{spec.name}: {n} commits checked")
    return result


def target_paths(specs: list[TargetSpec]) -> list[Path]:
    return [s.path for s in specs]
