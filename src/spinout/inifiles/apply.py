"""`spinout conf split` as a transaction over a config directory: read, split, back up, write, verify, or roll back.

Order of a real run: roll back a run that was interrupted mid-write (its pending marker lists the backups); map
the plan's files to the directory; read and parse every file (a malformed one stops everything here, before any
write); compute the new texts; back up every file that changes; write a pending marker; write the files
atomically; check equivalence with oslo.config; on any failure restore the backups; remove the marker. A second run
finds nothing to move and writes nothing. `--dry-run` stops after computing the texts: it prints a unified diff per
file and runs the same equivalence check on copies in a temporary directory.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spinout.errors import SpinoutError, UnsafeSourceError
from spinout.inifiles.document import IniSyntaxError
from spinout.inifiles.files import atomic_write, make_backup, read_files, resolve_layout, restore
from spinout.inifiles.split import Moved, Rename, ServiceRule, SplitOutcome, ValueChange, named_files, split_config
from spinout.inifiles.verify import check_equivalence
from spinout.plan.model import CoreSetting
from spinout.progress import NullProgress, Progress

Writer = Callable[[Path, str, Path | None], None]
PENDING = ".spinout-conf-split.pending.json"


@dataclass(frozen=True)
class ConfSplitResult:
    """What `spinout conf split` did (or, with --dry-run, would do)."""

    config_dir: str
    dry_run: bool
    moved: list[Moved] = field(default_factory=list)
    changes: list[ValueChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    diffs: dict[str, str] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    backups: dict[str, str | None] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "conf split",
            "ok": True,
            "dry_run": self.dry_run,
            "config_dir": self.config_dir,
            "moved": [m.to_json() for m in self.moved],
            "changes": [c.to_json() for c in self.changes],
            "notes": self.notes,
            "changed": self.changed,
            "diffs": self.diffs,
            "written": self.written,
            "backups": self.backups,
            "recovered": self.recovered,
        }

    def lines(self) -> list[str]:
        out = [f"rolled back an interrupted run: {r}" for r in self.recovered]
        if self.dry_run:
            for diff in self.diffs.values():
                out.extend(diff.splitlines())
        return out + self.summary()

    def summary(self) -> list[str]:
        """Everything but the diffs: the moves, value changes, notes and the closing line."""
        out: list[str] = []
        for m in self.moved:
            out.append(f"{m.location} ({m.service}): {m.what} from {m.source} [{m.section}] to {m.target}")
        for c in self.changes:
            if c.old is None:
                out.append(f"{c.file} [{c.section}] {c.key}: added {c.new!r} ({c.reason})")
            else:
                out.append(f"{c.file} [{c.section}] {c.key}: {c.old!r} -> {c.new!r} ({c.reason})")
        out.extend(self.notes)
        if not self.changed:
            out.append(f"config in {self.config_dir} is already split: nothing to change")
        elif self.dry_run:
            out.append(f"dry run: {len(self.changed)} file(s) would change; equivalence checked with oslo.config")
        else:
            out.append(f"wrote {len(self.written)} file(s); equivalence checked with oslo.config")
            out.extend(f"  backup of {name}: {bak}" for name, bak in self.backups.items() if bak)
        return out


def _diff(name: str, old: str | None, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{name}" if old is not None else "/dev/null",
            tofile=f"b/{name}",
        )
    )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def recover(config_dir: Path, progress: Progress) -> list[str]:
    """Roll back a run that stopped between its first write and its verification; return what was restored."""
    marker = config_dir / PENDING
    if not marker.exists():
        return []
    try:
        pending = json.loads(marker.read_text(encoding="utf-8"))
        files = {Path(p): (Path(b) if b else None) for p, b in pending["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnsafeSourceError(
            f"{marker} is unreadable ({exc}); an earlier run was interrupted and cannot be rolled back automatically",
            hint="restore the files from their *.spinout-*.bak backups by hand, then delete the marker",
        ) from None
    done = []
    for path, backup in files.items():
        restore(path, backup)
        done.append(f"{path} ← {backup}" if backup else f"{path} removed (it was new)")
        progress.warn(f"restored {path} from an interrupted run")
    marker.unlink()
    return done


def conf_split(
    config_dir: Path,
    rules: Sequence[ServiceRule],
    settings: Sequence[tuple[str, CoreSetting]],
    rename: Rename,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    writer: Writer = atomic_write,
) -> ConfSplitResult:
    """Split the config in `config_dir` by the plan's rules (see the module docstring for the order of events)."""
    progress = progress or NullProgress()
    recovered: list[str] = []
    if dry_run:
        if (config_dir / PENDING).exists():
            progress.warn("an interrupted run left files half-written; a real run rolls them back first")
    else:
        recovered = recover(config_dir, progress)
    names = named_files(rules, settings)
    must = [sr.rule.from_ for sr in rules] + [st.file for _, st in settings]
    paths = resolve_layout(config_dir, names, must)
    progress.start("config", f"reading {len(paths)} config file(s) in {config_dir}", total=len(paths))
    texts = read_files(paths)
    try:
        outcome = split_config(texts, rules, settings, rename)
    except IniSyntaxError as exc:  # name the file by its path on disk, not by the plan's name for it
        raise IniSyntaxError(str(paths.get(exc.file, exc.file)), exc.line, exc.reason, hint=exc.hint) from None
    # Diffs only for a dry run: difflib is the slowest part on a large file, and a real run leaves backups to diff.
    diffs = {n: _diff(n, outcome.originals[n], t) for n, t in outcome.texts.items()} if dry_run else {}
    base = ConfSplitResult(
        str(config_dir),
        dry_run,
        moved=outcome.moved,
        changes=outcome.changes,
        notes=outcome.notes,
        changed=list(outcome.texts),
        diffs=diffs,
        recovered=recovered,
    )
    if not outcome.changed:
        progress.finish("config", "config already split: nothing to change")
        return base
    if dry_run:
        _check_in_tempdir(outcome)
        progress.finish("config", f"dry run: {len(outcome.texts)} file(s) would change")
        return base
    backups = _write(config_dir, paths, outcome, writer, progress)
    progress.finish("config", f"split config: {len(outcome.texts)} file(s) written, equivalence checked")
    return ConfSplitResult(
        base.config_dir,
        False,
        moved=base.moved,
        changes=base.changes,
        notes=base.notes,
        changed=base.changed,
        written=[str(paths[n]) for n in outcome.texts],
        backups={str(paths[n]): (str(b) if b else None) for n, b in backups.items()},
        recovered=recovered,
    )


def _write(
    config_dir: Path, paths: dict[str, Path], outcome: SplitOutcome, writer: Writer, progress: Progress
) -> dict[str, Path | None]:
    stamp = _stamp()
    backups: dict[str, Path | None] = {}
    for name in outcome.texts:
        backups[name] = make_backup(paths[name], stamp) if outcome.originals[name] is not None else None
    marker = config_dir / PENDING
    atomic_write(
        marker,
        json.dumps(
            {"stamp": stamp, "files": {str(paths[n]): (str(b) if b else None) for n, b in backups.items()}},
            indent=2,
        )
        + "\n",
    )
    try:
        for i, (name, text) in enumerate(outcome.texts.items(), start=1):
            source = outcome.created_from.get(name)
            writer(paths[name], text, paths[source] if source else None)
            progress.advance("config", i, len(outcome.texts))
        check_equivalence(backups.values(), [paths[n] for n in outcome.texts], outcome.changes)
    except BaseException as exc:
        for name, backup in backups.items():
            restore(paths[name], backup)
        marker.unlink()
        if isinstance(exc, SpinoutError):
            progress.warn(f"restored {len(backups)} file(s) from their backups")
        raise
    marker.unlink()
    return backups


def _check_in_tempdir(outcome: SplitOutcome) -> None:
    """The equivalence check of a dry run: the same oslo.config comparison, on copies."""
    with tempfile.TemporaryDirectory(prefix="spinout-conf-") as tmp:
        before: list[Path | None] = []
        after: list[Path | None] = []
        for i, (name, text) in enumerate(outcome.texts.items()):
            original = outcome.originals[name]
            if original is not None:
                p = Path(tmp) / f"before-{i}.conf"
                p.write_text(original, encoding="utf-8")
                before.append(p)
            q = Path(tmp) / f"after-{i}.conf"
            q.write_text(text, encoding="utf-8")
            after.append(q)
        check_equivalence(before, after, outcome.changes)
