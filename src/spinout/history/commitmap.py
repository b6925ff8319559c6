"""The files a split leaves in each target's git dir under `spinout/`, and the incremental state.

* `commit-map`: git filter-repo's format — a header line, then `old new` per walked source commit, sorted, with
  forty zeros as `new` for a pruned commit.
* `ref-map`: filter-repo's format — a header, then `old new ref` per mapped source ref (zeros when dropped).
* `commit-state`: what an incremental rerun needs, appended to by each run: one 41-byte binary record per walked
  commit — its raw id, its replacement's raw id (the new commit when kept; when pruned, the commit its children
  attach to, or zeros when none) and `k` (kept) or `p` (pruned).
* `state.json`: format version, the rules fingerprint and the source tips walked (the next run hides them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

STATE_VERSION = 2
ZEROS = "0" * 40
ZERO_RAW = b"\0" * 20
RECORD = 41


def spinout_dir(git_dir: Path) -> Path:
    return git_dir / "spinout"


@dataclass
class CommitState:
    """Per walked source commit (raw ids): its replacement (None when its whole history was pruned), and
    whether it was kept."""

    replacement: dict[bytes, bytes | None] = field(default_factory=dict)
    pruned: set[bytes] = field(default_factory=set)
    added: list[bytes] = field(default_factory=list)  # walked in this run, in order

    def record(self, old: bytes, new: bytes | None, *, pruned: bool) -> None:
        self.replacement[old] = new
        if pruned:
            self.pruned.add(old)
        self.added.append(old)


@dataclass(frozen=True)
class SavedState:
    fingerprint: str
    tips: dict[str, str]
    commits: CommitState


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _map_line(state: CommitState, old: bytes) -> bytes:
    new = state.replacement[old]
    shown = ZEROS if old in state.pruned or new is None else new.hex()
    return f"{old.hex()} {shown}\n".encode()


def write_commit_map(path: Path, state: CommitState, *, incremental: bool = False) -> None:
    """Write the commit-map; on an incremental run, merge the new lines into the existing file."""
    lines: list[bytes] = []
    if incremental and path.exists():
        lines = path.read_bytes().splitlines(keepends=True)[1:]
        lines.extend(_map_line(state, old) for old in state.added)
    else:
        lines = [_map_line(state, old) for old in state.replacement]
    lines.sort()
    _atomic_write(path, b"%-40s %s\n" % (b"old", b"new") + b"".join(lines))


def write_ref_map(path: Path, rows: Iterable[tuple[str, str | None, str]]) -> None:
    """`rows`: (old id, new id or None, ref name)."""
    lines = [b"%-40s %-40s %s\n" % (b"old", b"new", b"ref")]
    for old, new, ref in sorted(rows, key=lambda r: r[2]):
        lines.append(f"{old} {new or ZEROS} {ref}\n".encode())
    _atomic_write(path, b"".join(lines))


def read_map(path: Path) -> dict[str, str]:
    """A commit-map as {old: new} (hex), header skipped."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines()[1:]:
        old, new = line.split()[:2]
        out[old] = new
    return out


def _record(state: CommitState, old: bytes) -> bytes:
    new = state.replacement[old]
    return old + (new or ZERO_RAW) + (b"p" if old in state.pruned else b"k")


def save_state(
    git_dir: Path, fingerprint: str, tips: Mapping[str, str], commits: CommitState, *, incremental: bool = False
) -> None:
    """Write the state; an incremental run appends the records of the commits it walked."""
    d = spinout_dir(git_dir)
    d.mkdir(exist_ok=True)
    if incremental:
        with open(d / "commit-state", "ab") as f:
            f.write(b"".join(_record(commits, old) for old in commits.added))
    else:
        _atomic_write(d / "commit-state", b"".join(_record(commits, old) for old in commits.replacement))
    meta = {"version": STATE_VERSION, "fingerprint": fingerprint, "tips": dict(sorted(tips.items()))}
    _atomic_write(d / "state.json", json.dumps(meta, indent=2).encode() + b"\n")


def load_state(git_dir: Path) -> SavedState | None:
    d = spinout_dir(git_dir)
    try:
        meta = json.loads((d / "state.json").read_text())
        raw = (d / "commit-state").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("version") != STATE_VERSION or len(raw) % RECORD:
        return None
    commits = CommitState()
    replacement, pruned = commits.replacement, commits.pruned
    for i in range(0, len(raw), RECORD):
        old, new = raw[i : i + 20], raw[i + 20 : i + 40]
        replacement[old] = None if new == ZERO_RAW else new
        if raw[i + 40] == 0x70:  # b"p"
            pruned.add(old)
    return SavedState(str(meta["fingerprint"]), {str(k): str(v) for k, v in meta["tips"].items()}, commits)


def has_state(git_dir: Path) -> bool:
    return (spinout_dir(git_dir) / "state.json").is_file()
