"""The files a split leaves in each target's git dir under `spinout/`, and the incremental state.

* `commit-map`: git filter-repo's format — a header line, then `old new` per walked source commit, sorted, with
  forty zeros as `new` for a pruned commit.
* `ref-map`: filter-repo's format — a header, then `old new ref` per mapped source ref (zeros when dropped).
* `commit-state`: what an incremental rerun needs: `old replacement flag` per walked commit, where `flag` is `k`
  (kept: `replacement` is its new commit) or `p` (pruned: `replacement` is the commit its children attach to, or
  zeros when none).
* `state.json`: format version, the rules fingerprint and the source tips walked (the next run hides them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

STATE_VERSION = 1
ZEROS = "0" * 40
ZERO_RAW = b"\0" * 20


def spinout_dir(git_dir: Path) -> Path:
    return git_dir / "spinout"


@dataclass
class CommitState:
    """Per walked source commit (raw ids): its replacement (None when its whole history was pruned), and
    whether it was kept."""

    replacement: dict[bytes, bytes | None] = field(default_factory=dict)
    pruned: set[bytes] = field(default_factory=set)


@dataclass(frozen=True)
class SavedState:
    fingerprint: str
    tips: dict[str, str]
    commits: CommitState


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_commit_map(path: Path, state: CommitState) -> None:
    lines = [b"%-40s %s\n" % (b"old", b"new")]
    for old in sorted(state.replacement):
        new = state.replacement[old]
        shown = ZEROS if old in state.pruned or new is None else new.hex()
        lines.append(f"{old.hex()} {shown}\n".encode())
    _atomic_write(path, b"".join(lines))


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


def save_state(git_dir: Path, fingerprint: str, tips: Mapping[str, str], commits: CommitState) -> None:
    d = spinout_dir(git_dir)
    d.mkdir(exist_ok=True)
    rows = []
    for old in sorted(commits.replacement):
        new = commits.replacement[old]
        flag = b"p" if old in commits.pruned else b"k"
        rows.append(b"%s %s %s\n" % (old.hex().encode(), (new or ZERO_RAW).hex().encode(), flag))
    _atomic_write(d / "commit-state", b"".join(rows))
    meta = {"version": STATE_VERSION, "fingerprint": fingerprint, "tips": dict(sorted(tips.items()))}
    _atomic_write(d / "state.json", json.dumps(meta, indent=2).encode() + b"\n")


def load_state(git_dir: Path) -> SavedState | None:
    d = spinout_dir(git_dir)
    try:
        meta = json.loads((d / "state.json").read_text())
        raw = (d / "commit-state").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("version") != STATE_VERSION:
        return None
    commits = CommitState()
    for line in raw.splitlines():
        old_h, new_h, flag = line.split()
        old, new = bytes.fromhex(old_h.decode()), bytes.fromhex(new_h.decode())
        commits.replacement[old] = None if new == ZERO_RAW else new
        if flag == b"p":
            commits.pruned.add(old)
    return SavedState(str(meta["fingerprint"]), {str(k): str(v) for k, v in meta["tips"].items()}, commits)


def has_state(git_dir: Path) -> bool:
    return (spinout_dir(git_dir) / "state.json").is_file()
