"""`spinout conf split` as a transaction over a config directory: read, split, back up, write, verify, or roll back.

Order of a real run (the caller holds the config directory's lock): roll back a run that was interrupted (its
pending marker lists the files and their backups); map the plan's files to the directory and remove temporary files
a killed run left; read and parse every file (a malformed one stops everything here, before any write); compute the
new texts; write the pending marker; back up every file that changes; write the files atomically; check
equivalence with oslo.config; on any failure put every file back; remove the marker. A second run finds nothing to
move and writes nothing. `--dry-run` stops after computing the texts: it prints a unified diff per file and runs the
same equivalence check on copies in a temporary directory.

The marker is written before the first backup, so whatever moment a run is killed at, the next run knows every
file it may have touched. Its paths are relative to the config directory and are resolved against the directory the
next run is given, so a copied directory recovers its own files; a marker naming anything outside the directory is
refused. Rolling back renames each backup over its file (no free space needed) or, when the file was never written,
just removes the backup: the directory is then exactly as it was, and the rerun makes the same files and backups
an uninterrupted run makes.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from spinout.errors import SpinoutError, UnsafeSourceError
from spinout.inifiles.document import IniSyntaxError, ini_lines, line_body
from spinout.inifiles.files import (
    DiskFull,
    atomic_write,
    backup_path,
    make_backup,
    read_files,
    read_regular,
    remove_stale_temporaries,
    resolve_layout,
    restore,
    space_needed,
)
from spinout.inifiles.split import Moved, Rename, ServiceRule, SplitOutcome, ValueChange, named_files, split_config
from spinout.inifiles.verify import check_equivalence
from spinout.plan.model import CoreSetting
from spinout.progress import NullProgress, Progress

Writer = Callable[[Path, str, Path | None], None]
PENDING = ".spinout-conf-split.pending.json"
MARKER_VERSION = 2


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
                out.extend(line_body(line) for line in ini_lines(diff))
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
    """A unified diff of the file's lines as oslo.config cuts them; a last line without a line break is marked
    as `diff` marks it."""

    def lines(text: str) -> list[str]:
        out = ini_lines(text)
        if out and line_body(out[-1]) == out[-1]:
            out[-1] += "\n\\ No newline at end of file\n"
        return out

    return "".join(
        difflib.unified_diff(
            lines(old or ""),
            lines(new),
            fromfile=f"a/{name}" if old is not None else "/dev/null",
            tofile=f"b/{name}",
        )
    )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _inside(config_dir: Path, marker: Path, stored: str, version: int) -> Path:
    """A path the marker stores, resolved against the config directory of this run; refused if it leaves it."""
    pure = PurePosixPath(stored)
    if version < MARKER_VERSION:
        # Version 1 stored paths as the user typed --config-dir: absolute, or relative to that run's working
        # directory. Accept them only where they name a file of this directory.
        given = Path(stored).absolute()
        for base in (config_dir.absolute(), config_dir.resolve()):
            if given.is_relative_to(base):
                pure = PurePosixPath(given.relative_to(base).as_posix())
                break
        else:
            pure = PurePosixPath("/")  # refused below
    if pure.is_absolute() or not pure.parts or ".." in pure.parts or str(pure) == ".":
        raise UnsafeSourceError(
            f"{marker} lists {stored!r}, which is not a file of the config directory {config_dir}: the marker was "
            "not written by a run on this directory (a copy of another config directory?), so spinout will not roll "
            "anything back from it",
            hint="restore this directory's files from their *.spinout-*.bak backups by hand (or copy them again "
            "from the original directory), delete the marker, and run again",
        )
    return config_dir / pure


def recover(config_dir: Path, progress: Progress) -> list[str]:
    """Roll back a run that stopped between writing its marker and removing it; return what was done."""
    marker = config_dir / PENDING
    if not marker.exists() and not marker.is_symlink():
        return []
    try:
        pending = json.loads(read_regular(marker, 1 << 20).decode("utf-8"))
        version = int(pending.get("version", 1))
        stored = {str(p): (str(b) if b else None) for p, b in pending["files"].items()}
    except (IniSyntaxError, ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = exc.reason if isinstance(exc, IniSyntaxError) else str(exc)
        raise UnsafeSourceError(
            f"{marker} is unreadable ({reason}); an earlier run was interrupted and cannot be rolled back "
            "automatically",
            hint="restore the files from their *.spinout-*.bak backups by hand, then delete the marker",
        ) from None
    # Every path is checked before anything is touched: a foreign marker changes nothing.
    files = {
        _inside(config_dir, marker, p, version): (_inside(config_dir, marker, b, version) if b else None)
        for p, b in stored.items()
    }
    done = []
    for path, backup in files.items():
        done.append(restore(path, backup))
        progress.warn(f"rolled back {path} after an interrupted run")
    touched = [*files, *(b for b in files.values() if b is not None), marker]
    done.extend(f"removed {t}, a temporary file of the interrupted run" for t in remove_stale_temporaries(touched))
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
    if not dry_run:  # under the caller's lock: no other run is writing them
        stale = remove_stale_temporaries([*paths.values(), config_dir / PENDING])
        recovered.extend(f"removed {t}, a temporary file of an interrupted run" for t in stale)
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


def _relative(config_dir: Path, path: Path) -> str:
    return path.relative_to(config_dir).as_posix()


def _write(
    config_dir: Path, paths: dict[str, Path], outcome: SplitOutcome, writer: Writer, progress: Progress
) -> dict[str, Path | None]:
    stamp = _stamp()
    backups: dict[str, Path | None] = {
        name: backup_path(paths[name], stamp) if outcome.originals[name] is not None else None for name in outcome.texts
    }
    originals = {name: (outcome.originals[name] or "").encode("utf-8") for name in outcome.texts}
    texts = {name: text.encode("utf-8") for name, text in outcome.texts.items()}
    # What the run holds on disk at its peak: the marker, every backup, and each new file while the file it replaces
    # still exists — in whole blocks, as file systems allocate them.
    needed = space_needed(
        config_dir, [4096, *(len(originals[n]) for n, b in backups.items() if b), *map(len, texts.values())]
    )
    marker = config_dir / PENDING
    listing = {_relative(config_dir, paths[n]): (_relative(config_dir, b) if b else None) for n, b in backups.items()}
    try:  # before the first backup: a run killed at any later moment is rolled back by the next one
        atomic_write(marker, json.dumps({"version": MARKER_VERSION, "stamp": stamp, "files": listing}, indent=2) + "\n")
    except DiskFull as exc:
        marker.unlink(missing_ok=True)  # in case only the directory's fsync failed, after the rename
        raise DiskFull(config_dir, "starting the split", needed, done="; nothing was changed") from exc
    try:
        for name, backup in backups.items():
            if backup is not None:
                make_backup(paths[name], backup, originals[name])
        for i, (name, text) in enumerate(outcome.texts.items(), start=1):
            source = outcome.created_from.get(name)
            writer(paths[name], text, paths[source] if source else None)
            progress.advance("config", i, len(outcome.texts))
        check_equivalence(backups.values(), [paths[n] for n in outcome.texts], outcome.changes)
    except BaseException as exc:
        try:
            for name, backup in backups.items():
                restore(paths[name], backup)
            marker.unlink()
        except (SpinoutError, OSError) as again:
            raise UnsafeSourceError(
                f"the split failed ({exc}) and putting the files back failed too ({again}); the marker {marker} "
                "stays, so the next run rolls back first",
                hint="fix the cause, then run the command again",
            ) from exc
        if isinstance(exc, DiskFull):
            raise DiskFull(
                config_dir, "splitting the config", needed, done="; every file was put back as it was"
            ) from exc
        if isinstance(exc, SpinoutError):
            progress.warn(f"put {len(backups)} file(s) back as they were")
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
