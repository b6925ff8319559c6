"""The deployer's upgrade as a journaled sequence of steps that resumes where it stopped.

The steps themselves (split the config, run the services' migrations, copy the data, verify, strip the core) are
callables passed in by `spinout.api`; a step that is not available in this build is passed as `None` with the
reason, and the run stops before it, saying so, rather than pretending. Each step must be safe to run again after
an interruption (the config split is idempotent, the data copy resumes from its checkpoints).

The journal is a JSON file in the config directory (`.spinout-upgrade.json`), rewritten atomically after every
change of a step's state. It records the fingerprint of the plan and of the upgrade's inputs: resuming with a
different plan or different databases is refused, because the steps already done were done for the old ones.
It is readable by its owner only (0600) and holds no secret: every line and error is masked (spinout.masking)
before it is written, and the caller fingerprints the database URLs without their credentials.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from spinout.errors import SpinoutError, UnsafeSourceError
from spinout.inifiles.document import IniSyntaxError
from spinout.inifiles.files import os_failure, read_regular, remove_stale_temporaries
from spinout.masking import mask_text
from spinout.progress import NullProgress, Progress
from spinout.results import Result

JOURNAL = ".spinout-upgrade.json"
# A step returns its summary lines, or a command's Result (a finding — non-zero exit code — fails the step).
StepRun = Callable[[Progress], list[str] | Result]
Status = Literal["done", "failed", "running", "pending", "unavailable", "not run"]


@dataclass(frozen=True)
class Step:
    """One step of the upgrade: `run` returns lines for the summary, or is None when the step is unavailable."""

    name: str
    description: str
    run: StepRun | None
    unavailable: str = ""
    preview: StepRun | None = None  # what a dry run shows for the step (it must change nothing)


@dataclass(frozen=True)
class StepReport:
    name: str
    description: str
    status: Status
    lines: list[str] = field(default_factory=list)
    at: str | None = None


@dataclass(frozen=True)
class UpgradeResult:
    """The state of every step after this run, and what the deployer still has to do."""

    config_dir: str
    journal: str
    dry_run: bool
    steps: list[StepReport]
    todo: list[str]
    failed_code: int = 0

    @property
    def complete(self) -> bool:
        return all(s.status == "done" for s in self.steps)

    @property
    def exit_code(self) -> int:
        # An incomplete upgrade is a finding: a deployment script must not carry on as if it were done.
        if self.failed_code:
            return self.failed_code
        return 0 if self.complete or self.dry_run else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "upgrade",
            "ok": self.complete,
            "dry_run": self.dry_run,
            "config_dir": self.config_dir,
            "journal": self.journal,
            "steps": [
                {"name": s.name, "description": s.description, "status": s.status, "lines": s.lines, "at": s.at}
                for s in self.steps
            ],
            "todo": self.todo,
        }

    def lines(self) -> list[str]:
        out = ["upgrade plan (dry run, nothing done):" if self.dry_run else "upgrade:"]
        for s in self.steps:
            when = f" ({s.at})" if s.at else ""
            out.append(f"  [{s.status}] {s.name}: {s.description}{when}")
            out.extend(f"      {line}" for line in s.lines)
        out.append("still to do:" if self.todo else "nothing left to do")
        out.extend(f"  - {t}" for t in self.todo)
        return out


def fingerprint(*parts: str) -> str:
    """A digest of the upgrade's inputs (plan fingerprint, database URLs): stored, never the URLs themselves."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Journal:
    """The state file; every `save` replaces it atomically."""

    def __init__(self, path: Path, digest: str) -> None:
        self.path = path
        self.digest = digest
        self.steps: dict[str, dict[str, Any]] = {}
        for stale in path.parent.glob(f".{path.name}.*.tmp"):  # a save killed before its rename
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        if path.exists():
            try:
                data = json.loads(read_regular(path, 16 << 20).decode("utf-8"))
                stored = data["fingerprint"]
                self.steps = dict(data["steps"])
            except (IniSyntaxError, ValueError, KeyError, TypeError) as exc:
                reason = exc.reason if isinstance(exc, IniSyntaxError) else str(exc)
                raise UnsafeSourceError(
                    f"upgrade journal {path} is unreadable ({reason})",
                    hint="check which steps were done by hand; delete the journal to start over",
                ) from None
            if stored != digest:
                raise UnsafeSourceError(
                    f"upgrade journal {path} belongs to a different plan or different databases",
                    hint="finish that upgrade with the same plan and URLs, or delete the journal to start over",
                )

    def status(self, name: str) -> str | None:
        entry = self.steps.get(name)
        return None if entry is None else str(entry.get("status"))

    def set(self, name: str, status: str, lines: list[str] | None = None, error: str | None = None) -> None:
        entry: dict[str, Any] = {"status": status, "at": _now()}
        if lines is not None:
            entry["lines"] = lines
        if error is not None:
            entry["error"] = error
        self.steps[name] = entry
        self.save()

    def save(self) -> None:
        steps = {name: _masked(entry) for name, entry in self.steps.items()}
        payload = {"version": 1, "fingerprint": self.digest, "steps": steps}
        _write_private(self.path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _masked(value: Any) -> Any:
    """A journal entry with every string masked: a step's lines or error may quote a database URL."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


def _write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with a file only its owner can read (0600, whatever the umask and the mode of the
    journal it replaces): the journal describes the deployment's databases."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # created 0600
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fchmod(fh.fileno(), 0o600)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def run_upgrade(
    config_dir: Path,
    steps: Sequence[Step],
    digest: str,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    after: Sequence[str] = (),
) -> UpgradeResult:
    """Run the steps not yet done, in order, journaling each; stop at the first unavailable one.

    `after` lists what the deployer must do once every step is done (e.g. restart the server).
    """
    progress = progress or NullProgress()
    if not config_dir.is_dir():
        raise UnsafeSourceError(
            f"config directory {str(config_dir)!r} does not exist or is not a directory", hint="check --config-dir"
        )
    journal = Journal(config_dir / JOURNAL, digest)
    if not dry_run:  # the caller holds the directory's lock: a temporary file of the journal is a killed run's
        for stale in remove_stale_temporaries([journal.path]):
            progress.note(f"removed {stale}, a temporary file of an interrupted run")

    def record(name: str, status: str, lines: list[str] | None = None, error: str | None = None) -> None:
        try:
            journal.set(name, status, lines, error)
        except OSError as exc:  # a full disk, say: located, never an internal error
            raise os_failure(exc, journal.path, "recording the upgrade's progress in") from None

    reports: list[StepReport] = []
    blocked = False
    failed_code = 0
    for step in steps:
        entry = journal.steps.get(step.name, {})
        status = entry.get("status")
        if status == "done":
            reports.append(StepReport(step.name, step.description, "done", list(entry.get("lines", [])), entry["at"]))
            continue
        if blocked:
            reports.append(StepReport(step.name, step.description, "not run"))
            continue
        if step.run is None:
            reports.append(StepReport(step.name, step.description, "unavailable", [step.unavailable]))
            blocked = True  # later steps depend on this one (strip after copy after migrations)
            continue
        if dry_run:
            was = ["interrupted earlier; will run again"] if status in ("running", "failed") else []
            if step.preview is not None:
                shown = step.preview(progress)
                was.extend(shown if isinstance(shown, list) else shown.lines())
            reports.append(StepReport(step.name, step.description, "pending", was))
            continue
        if status in ("running", "failed"):
            progress.note(f"resuming step {step.name} (it was {status} at {entry.get('at')})")
        record(step.name, "running")
        progress.start(f"upgrade:{step.name}", step.description)
        try:
            out = step.run(progress)
        except SpinoutError as exc:
            try:
                record(step.name, "failed", error=exc.message)
            except SpinoutError as unrecorded:  # the step's own error says more; the journal still says "running"
                progress.warn(f"could not record the failure of step {step.name}: {unrecorded.message}")
            raise
        lines = out if isinstance(out, list) else out.lines()
        code = 0 if isinstance(out, list) else out.exit_code
        if code:
            record(step.name, "failed", lines=lines, error=f"exit code {code}")
            progress.finish(f"upgrade:{step.name}", f"{step.name}: failed (exit code {code})")
            reports.append(StepReport(step.name, step.description, "failed", lines, journal.steps[step.name]["at"]))
            failed_code = failed_code or code
            blocked = True
            continue
        record(step.name, "done", lines=lines)
        progress.finish(f"upgrade:{step.name}", f"{step.name}: done")
        reports.append(StepReport(step.name, step.description, "done", lines, journal.steps[step.name]["at"]))
    result_steps = reports
    todo: list[str] = []
    for r in result_steps:
        if r.status == "unavailable":
            todo.append(f"step {r.name} is unavailable: {r.lines[0] if r.lines else ''}".rstrip())
        elif r.status == "failed":
            todo.append(f"step {r.name} failed: fix what its lines above report")
    if all(r.status == "done" for r in result_steps):
        todo.extend(after)
    elif not dry_run:
        todo.append(f"run `spinout upgrade` again to continue; the journal is {journal.path}")
    return UpgradeResult(str(config_dir), str(journal.path), dry_run, result_steps, todo, failed_code)
