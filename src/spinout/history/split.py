"""`spinout split`: prepare the targets, walk the source once, map refs, leave standalone repositories.

The source repository is only ever read (pygit2 reads, `git fetch` and alternates from the target side). Each
target is created by spinout and marked by its state under `<git dir>/spinout/`; a directory spinout did not
create is refused unless `force`. docs/history.md describes the outputs and the incremental state.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pygit2

from spinout.errors import PlanError, Problem, ToolError, UnsafeSourceError
from spinout.history.commitmap import (
    CommitState,
    has_state,
    load_state,
    save_state,
    spinout_dir,
    write_commit_map,
    write_ref_map,
)
from spinout.history.pack import PackSink
from spinout.history.rewrite import (
    Graph,
    TargetRun,
    TreeFilter,
    TreeReader,
    Walk,
    commit_at,
    process_commit,
    read_source_commit,
    rewrite_tag,
)
from spinout.history.router import Rules, core_rules, service_rules
from spinout.plan.model import Plan
from spinout.plan.places import removal_conflict
from spinout.progress import Progress
from spinout.repo import git_environ, repository_dirs

MERGE_AUTHOR = b"spinout <spinout@localhost>"


@dataclass(frozen=True)
class TargetSpec:
    """One target of a split.

    `mode`: "rewrite" filters the whole history through `rules`; "remove" copies the history as is and adds the
    removal commit (deleting what `rules` drop) on top of `main_ref`.
    """

    name: str
    path: Path
    rules: Rules
    ref_patterns: tuple[str, ...]
    main_ref: str
    merge_refs: tuple[str, ...] = ()
    bare: bool = False
    mode: Literal["rewrite", "remove"] = "rewrite"
    plan_dir: Path | None = None  # the plan's folder, which a target may not be nor contain (spinout.plan.places)

    def fingerprint(self) -> str:
        """Digest of everything that decides this target's commit ids; a change invalidates the state."""
        blob = json.dumps(
            {
                "mode": self.mode,
                "paths": self.rules.paths,
                "renames": self.rules.renames,
                "invert": self.rules.invert,
                "old_names": self.rules.old_names,
                "refs": self.ref_patterns,
                "main": self.main_ref,
                "merge": self.merge_refs,
            },
            sort_keys=True,
        ).encode()
        return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True)
class Later:
    """Targets whose final specs come from work that can run beside the other targets' walks (follow_renames):
    their names, and the callable that returns their final specs."""

    names: frozenset[str]
    resolve: Callable[[], Sequence[TargetSpec]]


@dataclass
class TargetReport:
    name: str
    path: str
    mode: str
    incremental: bool
    walked: int = 0
    kept: int = 0
    pruned: int = 0
    refs: dict[str, str] = field(default_factory=dict)
    dropped_refs: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    removal_commit: str | None = None
    followed: list[str] = field(default_factory=list)  # old names follow_renames added
    followed_file: str = ""  # the full list of followed names (api.split), relative to `path`, if written
    kept_refs: dict[str, str] = field(default_factory=dict)  # ref moved by someone else -> where its commit was kept

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SplitResult:
    targets: list[TargetReport]
    walked: int
    seconds: float
    verified: dict[str, int] | None = None  # commits re-derived per target, with --verify

    @property
    def exit_code(self) -> int:
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": "split",
            "ok": True,
            "walked": self.walked,
            "seconds": round(self.seconds, 3),
            "targets": [t.to_json() for t in self.targets],
            "verified": self.verified,
        }

    def lines(self) -> list[str]:
        out = [f"walked {self.walked} new source commits in {self.seconds:.1f}s"]
        for t in self.targets:
            how = "incremental" if t.incremental else "fresh"
            if t.mode == "remove":
                out.append(f"{t.name}: history copied, removal commit {str(t.removal_commit)[:12]} -> {t.path}")
            else:
                out.append(f"{t.name} ({how}): {t.kept} kept, {t.pruned} pruned, {len(t.refs)} refs -> {t.path}")
            for ref in t.dropped_refs:
                out.append(f"  dropped {ref}: no commit of it survives the filter")
            if t.followed:
                out.append(followed_line(t.followed, str(Path(t.path, t.followed_file)) if t.followed_file else ""))
            for ref in t.merged:
                out.append(f"  merged {ref} into the main branch")
            for ref, kept in t.kept_refs.items():
                out.append(f"  {ref} held commits spinout had not written: kept as {kept}")
        if self.verified is not None:
            counts = ", ".join(f"{name} {n}" for name, n in self.verified.items())
            out.append(f"verified: every kept commit's tree re-derived from the source ({counts})")
        return out


FOLLOWED_SHOWN = 8  # earlier names listed in the summary; the rest are counted, and found in the full list


def followed_line(followed: list[str], full_list: str) -> str:
    """The summary's line of followed earlier names: all of them, or the first few and how many are left out."""
    if len(followed) <= FOLLOWED_SHOWN:
        return f"  followed {len(followed)} earlier names: {', '.join(followed)}"
    where = f"in {full_list} and " if full_list else ""
    return (
        f"  followed {len(followed)} earlier names: {', '.join(followed[:FOLLOWED_SHOWN])}, … "
        f"and {len(followed) - FOLLOWED_SHOWN} more (all {where}in --json)"
    )


WRITTEN_REFS = "written-refs.json"  # in the target's spinout dir: the refs as the last run left them
KEPT_PREFIX = "refs/spinout/kept/"


def keep_moved_refs(repo: pygit2.Repository, git_dir: Path, report: TargetReport, progress: Progress) -> None:
    """Before a rerun moves a target's branches and tags: keep, under refs/spinout/kept/, every one that someone
    else moved since the last run (a `spinout rewrite` commit, a hand-made fix-up), so the rerun loses nothing."""
    path = spinout_dir(git_dir) / WRITTEN_REFS
    if not path.is_file():
        return  # no record (a target from before this record existed): nothing to compare with
    written: dict[str, str] = json.loads(path.read_text())
    for name in sorted(repo.references):
        if not name.startswith(("refs/heads/", "refs/tags/")):
            continue
        now = str(repo.references[name].target)
        if written.get(name) == now:
            continue
        kept = KEPT_PREFIX + name.removeprefix("refs/")
        repo.references.create(kept, pygit2.Oid(hex=now), force=True)
        report.kept_refs[name] = kept
        progress.warn(
            f"{report.name}: {name} held commits spinout had not written; they are kept as {kept} (a `spinout "
            "rewrite` commit is made again by running it again)"
        )


def record_written_refs(repo: pygit2.Repository, git_dir: Path) -> None:
    """The target's branches and tags as this run leaves them (see `keep_moved_refs`)."""
    refs = {
        name: str(repo.references[name].target)
        for name in sorted(repo.references)
        if name.startswith(("refs/heads/", "refs/tags/"))
    }
    path = spinout_dir(git_dir) / WRITTEN_REFS
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(refs, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def git(args: Sequence[str], *, cwd: Path | None = None, what: str = "git") -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False, env=git_environ())
    if proc.returncode != 0:
        raise ToolError(
            f"{what} failed: git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}",
            hint="run again with --debug; check the disk space and permissions of the target directory",
        )
    return proc.stdout.decode(errors="replace")


class _Background:
    """A git command running while the walk goes on (the core's fetch in "remove" mode: a separate process, so it
    takes the other core instead of adding its time after the walk's)."""

    def __init__(self, args: Sequence[str], what: str) -> None:
        self.args, self.what = list(args), what
        self.proc = subprocess.Popen(
            ["git", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_environ(),
        )

    def wait(self) -> None:
        _out, err = self.proc.communicate()
        if self.proc.returncode != 0:
            raise ToolError(
                f"{self.what} failed: git {' '.join(self.args)}: {err.decode(errors='replace').strip()}",
                hint="run again with --debug; check the disk space and permissions of the target directory",
            )

    def kill(self) -> None:
        """Stop it if it still runs (the walk failed); nothing when it has been waited for."""
        if self.proc.returncode is None:
            self.proc.kill()
            self.proc.communicate()


class _Linked:
    """The core's first copy in "remove" mode, as `git clone --local` makes it: the source's object files linked
    (copied where the file system cannot link) and its refs written — no pack to compute, so the walk has both
    cores. The object files of the stores the source borrows from (`objects/info/alternates`, followed) are linked
    too, so the copy stands alone. It holds every object of those stores, also those of refs the plan does not
    take. A rerun fetches."""

    def __init__(self, source: pygit2.Repository, git_dir: Path, tips: Mapping[str, bytes]) -> None:
        dst_objects = git_dir / "objects"
        try:
            for src_objects in _object_stores(Path(source.path) / "objects"):
                for src in sorted(src_objects.rglob("*")):
                    rel = src.relative_to(src_objects)
                    if src.is_dir() or rel.parts[0] == "info" or src.name.startswith("tmp"):
                        continue
                    dst = dst_objects / rel
                    if dst.exists():  # the same object (or pack) in two stores: the same bytes
                        continue
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.link(src, dst)
                    except OSError:
                        shutil.copy2(src, dst)
        except OSError as exc:
            raise ToolError(
                f"copying the history into {git_dir} failed: {exc}",
                hint="check the disk space and permissions of the target directory",
            ) from exc
        repo = pygit2.Repository(str(git_dir))
        for ref, oid in tips.items():
            repo.references.create(ref, pygit2.Oid(raw=oid), force=True)

    def wait(self) -> None:
        """Done in the constructor."""

    def kill(self) -> None:
        """Nothing runs."""


def _object_stores(objects: Path) -> list[Path]:
    """`objects` and every object store it borrows from through `info/alternates`, transitively (git's rules:
    one path per line, relative paths from the borrowing store, `#` comments)."""
    stores: list[Path] = []
    todo = [objects.resolve()]
    while todo:
        store = todo.pop(0)
        if store in stores or not store.is_dir():
            continue
        stores.append(store)
        alternates = store / "info" / "alternates"
        if alternates.is_file():
            for line in alternates.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    todo.append((store / line).resolve())
    return stores


def _can_link_objects(git_dir: Path) -> bool:
    """Whether the target is a fresh, empty repository."""
    return not any((git_dir / "objects" / "pack").glob("*.pack"))


def resolve_refs(repo: pygit2.Repository, patterns: Sequence[str]) -> dict[str, bytes]:
    """Expand ref patterns against the source; {ref name: the object it points to (raw id)}.

    A pattern without wildcards must exist. Refs that do not lead to a commit are left out.
    """
    names = sorted(r for r in repo.references if r.startswith("refs/"))
    out: dict[str, bytes] = {}
    missing = []
    for i, pattern in enumerate(patterns):
        hits = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not hits and not any(ch in pattern for ch in "*?["):
            missing.append(Problem(f"source.refs[{i}]", f"ref {pattern!r} does not exist in the source"))
        for name in hits:
            ref = repo.references[name].resolve()
            try:
                ref.peel(pygit2.Commit)
            except (ValueError, pygit2.GitError, pygit2.InvalidSpecError):
                continue
            target = ref.target
            assert isinstance(target, pygit2.Oid)
            out[name] = target.raw
    if missing:
        raise PlanError(missing)
    return out


def peel_commit(repo: pygit2.Repository, oid: bytes) -> bytes:
    return bytes(repo[pygit2.Oid(raw=oid)].peel(pygit2.Commit).id.raw)


def _git_dir(path: Path, bare: bool) -> Path:
    return path if bare else path / ".git"


def check_target(spec: TargetSpec, force: bool, source_dirs: Sequence[Path]) -> None:
    """Refuse, before anything is written: a target that is, lies inside or contains the source repository, or is or
    contains the plan's folder (`spinout.plan.places`, which `plan check` applies too); a file; a non-empty directory
    spinout did not create (marked by its <git dir>/spinout/), `force` or not; a target split with the other `bare`."""
    path = spec.path
    why = removal_conflict(path, source_dirs, spec.plan_dir)
    if why is not None:
        raise UnsafeSourceError(
            f"target {spec.name}: the directory {str(path)!r} {why}; spinout never writes into nor removes it",
            hint="choose another output.dir, or another name for the target",
        )
    if path.exists() and not path.is_dir():
        raise UnsafeSourceError(
            f"target {spec.name}: {path} exists and is a file", hint="move it away or set output.dir in the plan"
        )
    if not (path.is_dir() and any(path.iterdir())):
        return
    # spinout marks what it creates with <git dir>/spinout/ from the start, so that a run that stopped half-way is
    # still recognised as spinout's own
    if not (spinout_dir(path / ".git").is_dir() or spinout_dir(path).is_dir()):
        raise UnsafeSourceError(
            f"target {spec.name}: {path} exists, is not empty and was not created by spinout",
            hint="spinout replaces only directories it created (marked by <git dir>/spinout/), even with --force: "
            "move it away, or choose another output.dir",
        )
    if not force and not spinout_dir(_git_dir(path, spec.bare)).is_dir():
        raise UnsafeSourceError(
            f"target {spec.name}: {path} was split {'not ' if spec.bare else ''}bare, and output.bare changed",
            hint="pass --force to rebuild the target from scratch",
        )


def prepare_target(
    spec: TargetSpec, force: bool, source_dirs: Sequence[Path] = ()
) -> tuple[Path, CommitState | None, dict[str, str]]:
    """Create (or reopen, for an incremental run) the target repository; (git dir, saved commits, saved tips).

    Only a directory spinout created is ever removed (with `force`, or to restart an interrupted first run), and
    never one that holds the source or the plan (`check_target`, again right before the removal)."""
    path = spec.path
    check_target(spec, force, source_dirs)
    git_dir = _git_dir(path, spec.bare)
    if path.is_dir() and any(path.iterdir()):
        saved = load_state(git_dir) if not force else None
        if saved is not None:
            if saved.fingerprint == spec.fingerprint():
                return git_dir, saved.commits, saved.tips
            raise UnsafeSourceError(
                f"target {spec.name}: the plan changed since {path} was split (paths, renames, refs or the "
                "earlier names follow_renames found), so its incremental state no longer applies",
                hint="pass --force to rebuild the target from scratch",
            )
        # forced, or ours without a usable state (an interrupted first run): start afresh (`check_target` above
        # made sure it is spinout's and holds neither the source nor the plan)
        if path.is_symlink():
            raise UnsafeSourceError(
                f"target {spec.name}: {path} is a symbolic link to {str(path.resolve())!r}; spinout does not replace "
                "a target through a link",
                hint="remove the link (or the directory it points to) yourself, or choose another output.dir",
            )
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    pygit2.init_repository(str(path), bare=spec.bare, initial_head=spec.main_ref.removeprefix("refs/heads/"))
    spinout_dir(git_dir).mkdir(exist_ok=True)
    return git_dir, None, {}


def _set_alternates(git_dir: Path, source: pygit2.Repository) -> None:
    info = git_dir / "objects" / "info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "alternates").write_text(str(Path(source.path).resolve() / "objects") + "\n")


def _drop_alternates(git_dir: Path) -> None:
    (git_dir / "objects" / "info" / "alternates").unlink(missing_ok=True)


def _finalize(git_dir: Path, spec: TargetSpec, previous: Sequence[str] | None = None, pack: bool = True) -> None:
    """Copy every object the target needs into its own packs, drop the alternates, check out the work tree.

    A fresh target is repacked whole. An incremental run packs only the objects reachable from the new refs and
    not from `previous` (the target's refs before the run, which were standalone already): its cost follows
    the number of new commits, not the size of the history.
    """
    if not pack:
        pass  # everything arrived by fetch: already standalone
    elif previous is None:
        git(
            ["--git-dir", str(git_dir), "repack", "-a", "-d", "-q", "--no-write-bitmap-index"],
            what=f"repacking {spec.name}",
        )
    else:
        repo = pygit2.Repository(str(git_dir))
        tips = sorted({str(repo.references[r].target) for r in repo.references if r.startswith("refs/")})
        revs = "".join(f"{t}\n" for t in tips) + "".join(f"^{t}\n" for t in sorted(previous))
        proc = subprocess.run(
            [
                "git",
                "--git-dir",
                str(git_dir),
                "pack-objects",
                "--revs",
                "-q",
                str(git_dir / "objects" / "pack" / "pack"),
            ],
            input=revs.encode(),
            capture_output=True,
            check=False,
            env=git_environ(),
        )
        if proc.returncode != 0:
            raise ToolError(
                f"packing the new objects of {spec.name} failed: {proc.stderr.decode(errors='replace').strip()}",
                hint="run `spinout split --force` to rebuild the target",
            )
    _drop_alternates(git_dir)
    if any((git_dir / "objects").glob("[0-9a-f][0-9a-f]/*")):
        git(["--git-dir", str(git_dir), "prune-packed"], what=f"cleaning {spec.name}")
    if not spec.bare:
        repo = pygit2.Repository(str(git_dir))
        if not repo.head_is_unborn:
            git(["reset", "-q", "--hard", "HEAD"], cwd=spec.path, what=f"checking out {spec.name}")


def split(
    source: pygit2.Repository,
    specs: Sequence[TargetSpec],
    *,
    force: bool,
    progress: Progress,
    jobs: int | None = None,
    later: Later | None = None,
) -> SplitResult:
    """Write every target in one walk over the source history.

    `jobs`: how many worker processes share the rewritten targets (default: one per core, at most one per
    target); each worker walks the new source commits once for its targets. 1 walks in this process.
    `later`: targets of `specs` whose final specs are still to be worked out (follow_renames): with workers, that
    work runs while the other targets are walked already."""
    start = time.monotonic()
    if source.is_shallow:
        raise UnsafeSourceError(
            f"the source {source.path} is a shallow clone: its history is incomplete, so the split would be too",
            hint="fetch the whole history first: git fetch --unshallow",
        )
    source_dirs = repository_dirs(source)
    for spec in specs:  # every target, before anything is written (`prepare_target` checks again)
        check_target(spec, force, source_dirs)
    base_patterns = tuple(dict.fromkeys(p for s in specs for p in s.ref_patterns))
    base_tips = resolve_refs(source, base_patterns)
    # the history every rewritten target may walk, listed beside the preparations (see `Universe`); only for a
    # first split (or a forced one): a rerun walks the new commits only
    every_tip = {*base_tips.values(), *(t for s in specs for t in resolve_refs(source, s.merge_refs).values())}
    first = force or any(not has_state(_git_dir(s.path, s.bare)) for s in specs if s.mode == "rewrite")
    universe = Universe(source, [peel_commit(source, t) for t in every_tip]) if first else None
    reports: list[TargetReport] = []
    runs: list[_Run] = []
    removals: list[tuple[TargetSpec, Path, TargetReport, list[str], _Background | _Linked]] = []
    # Packing and checking out are git processes, mostly single-threaded: each target's starts as soon as the
    # target is written, beside the walks still going on and the other targets' (the core's copy is standalone
    # already, it only needs its work tree).
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        finals: list[Future[None]] = []

        def finished(git_dir: Path, spec: TargetSpec, previous: list[str] | None) -> None:
            finals.append(pool.submit(_finalize, git_dir, spec, previous, True))

        def core() -> None:
            # the core's copy ran beside the walk (or was linked): its removal commit and maps
            for spec, git_dir, report, saved_tips, fetch in removals:
                fetch.wait()
                # its commit-map lists the commits its tips reach: on a first split, known from the listing of the
                # whole history
                known = None
                if universe is not None and not saved_tips:
                    listed = universe.plan_for({peel_commit(source, t) for t in base_tips.values()})
                    known = listed.graph if listed is not None else None
                _remove_mode(source, spec, git_dir, base_tips, report, progress, saved_tips, known)
                finals.append(pool.submit(_finalize, git_dir, spec, None, False))

        def prepare_later() -> list[_Run]:
            assert later is not None
            final = {spec.name: spec for spec in later.resolve()}
            more: list[_Run] = []
            later_specs = [final[name] for name in later_names]
            _prepare_all(source, later_specs, force, base_tips, progress, reports, more, [], source_dirs)
            return more

        later_names = [s.name for s in specs if later is not None and s.name in later.names]
        try:
            ready = [s for s in specs if s.name not in later_names]
            _prepare_all(source, ready, force, base_tips, progress, reports, runs, removals, source_dirs)
            if runs or later_names:
                walked = _walk_targets(
                    source,
                    runs,
                    progress,
                    jobs,
                    meanwhile=core,
                    finished=finished,
                    later=prepare_later if later_names else None,
                    later_specs=[s for s in specs if s.name in later_names],
                    universe=universe,
                )
            else:
                walked = 0
                core()
        finally:
            for *_, fetch in removals:
                fetch.kill()
            if universe is not None:
                universe.close()
        for done in finals:
            done.result()
    for spec, _gd, report, _saved, _fetch in removals:
        progress.finish(f"finish:{spec.name}", f"{spec.name}: removal commit {str(report.removal_commit)[:12]}")
    for spec, _gd, _run, _tips, report in runs:
        report.followed = [old for old, _ in spec.rules.old_names]
    position = {spec.name: i for i, spec in enumerate(specs)}
    reports.sort(key=lambda r: position[r.name])
    for spec, _gd, _run, _tips, report in runs:
        progress.finish(f"finish:{spec.name}", f"{spec.name}: {report.kept} commits kept, {report.pruned} pruned")
    return SplitResult(reports, walked, time.monotonic() - start)


def _prepare_all(
    source: pygit2.Repository,
    specs: Sequence[TargetSpec],
    force: bool,
    base_tips: dict[str, bytes],
    progress: Progress,
    reports: list[TargetReport],
    runs: list[_Run],
    removals: list[tuple[TargetSpec, Path, TargetReport, list[str], _Background | _Linked]],
    source_dirs: Sequence[Path],
) -> None:
    """Open or create every target; start the "remove"-mode copies; set up one `TargetRun` per rewritten one."""
    reader = TreeReader(source)
    for spec in specs:
        git_dir, saved, saved_tips = prepare_target(spec, force, source_dirs)
        report = TargetReport(spec.name, str(spec.path), spec.mode, incremental=saved is not None)
        reports.append(report)
        if spec.mode == "remove":
            progress.start(f"finish:{spec.name}", f"copying the history into {spec.name}")
            if report.incremental:  # before the fetch moves them
                keep_moved_refs(pygit2.Repository(str(git_dir)), git_dir, report, progress)
            fetch: _Background | _Linked
            if saved is None and _can_link_objects(git_dir):
                fetch = _Linked(source, git_dir, base_tips)
            else:
                fetch = _Background(_fetch_args(source, git_dir, base_tips), f"copying the history into {spec.name}")
            removals.append((spec, git_dir, report, list(saved_tips.values()), fetch))
            continue
        tips = dict(base_tips)
        tips.update(resolve_refs(source, spec.merge_refs))
        _set_alternates(git_dir, source)
        target_repo = pygit2.Repository(str(git_dir))
        sink = PackSink(git_dir)
        state = saved or CommitState()

        def new_parents(oid: bytes, repo: pygit2.Repository = target_repo) -> list[bytes]:
            return [p.raw for p in commit_at(repo, oid).parent_ids]

        def new_tree(oid: bytes, repo: pygit2.Repository = target_repo) -> bytes:
            return bytes(commit_at(repo, oid).tree_id.raw)

        run = TargetRun(
            spec.name,
            spec.rules,
            sink,
            TreeFilter(source, spec.rules, sink, reader),
            state,
            Graph(new_parents),
            new_tree,
        )
        if saved is not None:
            run.previous = {bytes.fromhex(t) for t in saved_tips.values()}
        runs.append((spec, git_dir, run, tips, report))


PARALLEL_MIN = 4_000  # commits x targets below which worker processes cost more than they save
FOLLOW_WEIGHT = 0.5  # follow_renames' walk, against a target's (see `_weight`; measured on the sample)


def _walk_targets(
    source: pygit2.Repository,
    runs: list[_Run],
    progress: Progress,
    jobs: int | None,
    *,
    meanwhile: Callable[[], None],
    finished: Callable[[Path, TargetSpec, list[str] | None], None],
    later: Callable[[], list[_Run]] | None = None,
    later_specs: Sequence[TargetSpec] = (),
    universe: Universe | None = None,
) -> int:
    """Walk the source for every rewritten target and finish each (refs, pack index, maps, state), calling
    `finished` with the arguments of `_finalize` as each target is done: in this process, or spread over worker
    processes (`spinout.history.workers`) while this process runs `meanwhile`. `later` prepares more targets
    (those whose rules follow_renames completes; `later_specs` their provisional specs): with workers, it runs
    here while the first workers walk (the core it takes counts as loaded when the first targets are dealt out),
    and its targets are then dealt out to workers of their own. Returns the number of source commits walked."""
    from spinout.history import workers

    if later is not None and not runs:
        # nothing can walk before follow_renames is done: then every target as if it had been ready. (The core's
        # work stays for later: its checkout runs in a thread, and no thread may run while workers are forked.)
        runs.extend(later())
        later = None
    parallel = workers.can_fork(jobs)
    # A first split with follow_renames pending: the ready targets' workers start at once and list their own
    # walk, so that follow_renames' walk here begins without waiting for that list.
    early = parallel and later is not None and all(not run.previous for _s, _g, run, _t, _r in runs)
    order: list[bytes] | None = None
    if not early:
        if later is not None and not parallel:
            runs.extend(later())
            later = None
        order = _walk_order(source, runs, universe).order
        if not parallel or (jobs is None and len(order) * len(runs) < PARALLEL_MIN):
            if later is not None:
                runs.extend(later())
                order = _walk_order(source, runs, universe).order
            walked = _walk_all(source, runs, progress, order)
            for r in runs:
                finished(*_finish_target(source, *r, progress))
            meanwhile()
            return walked
    cores = jobs if jobs is not None else workers.available_cores()
    pool = workers.Pool(source, _walk_all, _finish_target, _order_of)
    try:
        # the core that will walk the following services after their follow_renames walk counts as loaded
        preload = 0.0 if later is None else FOLLOW_WEIGHT + sum(_weight(s) for s in later_specs)
        for group in workers.plan_groups([_weight(spec) for spec, *_ in runs], cores, preload):
            pool.start([runs[i] for i in group], order)
        if later is not None:
            # every core again: the first workers may still walk, but the work left is what matters
            more = later()
            more_order = _walk_order(source, more, universe).order
            for group in workers.plan_groups([_weight(spec) for spec, *_ in more], cores):
                pool.start([more[i] for i in group], more_order)
            runs.extend(more)
        meanwhile()
    except BaseException:
        pool.close()
        raise
    return pool.wait(progress, finished)


def _order_of(source: pygit2.Repository, runs: list[_Run]) -> list[bytes]:
    """A worker's own walk (it limits each of its targets to what the target's tips reach)."""
    return _walk_order(source, runs).order


def _weight(spec: TargetSpec) -> float:
    """A rough relative cost of rewriting a target, to deal targets out to workers: the core's complement keeps
    most of every tree; earlier names and merged branches add paths and commits."""
    weight = 2.0 if spec.rules.invert else 1.0
    return weight + 0.1 * bool(spec.rules.old_names) + 0.1 * bool(spec.merge_refs)


_REV_LIST = ["rev-list", "--parents", "--stdin"]


def rev_list(
    source: pygit2.Repository, tips: Sequence[bytes], hidden: Sequence[bytes], *, topo: bool
) -> list[tuple[bytes, tuple[bytes, ...]]]:
    """The commits `tips` reach and `hidden` do not, each with its parents (raw ids), by `git rev-list --parents`
    (several times faster than a libgit2 walk made of Python objects); with `topo`, parents before children."""
    if not tips:
        return []
    revs = "".join(f"{t.hex()}\n" for t in tips) + "".join(f"^{h.hex()}\n" for h in hidden)
    args = ["git", "--git-dir", str(Path(source.path)), *_REV_LIST]
    if topo:
        args += ["--topo-order", "--reverse"]
    proc = subprocess.run(args, input=revs.encode(), capture_output=True, check=False, env=git_environ())
    if proc.returncode != 0:
        raise ToolError(
            f"listing the source's commits failed: {proc.stderr.decode(errors='replace').strip()}",
            hint="check the source repository with `git fsck`; run again with --debug",
        )
    return _parse_rev_list(proc.stdout)


def _parse_rev_list(out: bytes) -> list[tuple[bytes, tuple[bytes, ...]]]:
    listed = []
    for line in out.splitlines():
        ids = [bytes.fromhex(h.decode()) for h in line.split()]
        listed.append((ids[0], tuple(ids[1:])))
    return listed


def reach(graph: Mapping[bytes, tuple[bytes, ...]], tips: Sequence[bytes]) -> set[bytes]:
    """The commits of `graph` (commit -> parents) that `tips` reach inside it."""
    seen: set[bytes] = set()
    todo = [t for t in tips if t in graph]
    while todo:
        oid = todo.pop()
        if oid in seen:
            continue
        seen.add(oid)
        todo.extend(p for p in graph[oid] if p in graph and p not in seen)
    return seen


@dataclass
class WalkPlan:
    """What the walk visits: `order` (parents first) and `graph` (each commit's parents; at least the walked ones)."""

    order: list[bytes]
    graph: dict[bytes, tuple[bytes, ...]]


class Universe:
    """Every commit the tips of every target reach, with parents, listed once by one `git rev-list` that runs while
    the split prepares (follow_renames, targets): each group of targets that starts afresh takes its walk from it
    instead of listing the history again. The command writes to a temporary file (no thread, no full pipe), read
    on first use."""

    def __init__(self, source: pygit2.Repository, tips: Sequence[bytes]) -> None:
        self.tips = frozenset(tips)
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 - closed when read
        self._proc = subprocess.Popen(
            ["git", "--git-dir", str(Path(source.path)), *_REV_LIST, "--topo-order", "--reverse"],
            stdin=subprocess.PIPE,
            stdout=self._out,
            stderr=subprocess.PIPE,
            env=git_environ(),
        )
        assert self._proc.stdin is not None
        self._proc.stdin.write("".join(f"{t.hex()}\n" for t in sorted(self.tips)).encode())
        self._proc.stdin.close()
        self._listed: list[tuple[bytes, tuple[bytes, ...]]] | None = None
        self._graph: dict[bytes, tuple[bytes, ...]] = {}

    def _list(self) -> list[tuple[bytes, tuple[bytes, ...]]]:
        if self._listed is None:
            assert self._proc.stderr is not None
            err = self._proc.stderr.read()
            if self._proc.wait() != 0:
                raise ToolError(
                    f"listing the source's commits failed: {err.decode(errors='replace').strip()}",
                    hint="check the source repository with `git fsck`; run again with --debug",
                )
            self._out.seek(0)
            self._listed = _parse_rev_list(self._out.read())
            self._graph = dict(self._listed)
            self._out.close()
        return self._listed

    def plan_for(self, tips: set[bytes]) -> WalkPlan | None:
        """The walk of the commits `tips` reach (nothing hidden), or None when `tips` are not all known here."""
        if not tips <= self.tips:
            return None
        listed = self._list()
        mine = reach(self._graph, sorted(tips))
        # the whole graph, shared: what `tips` reach in it is what they reach in their own walk
        return WalkPlan([c for c, _ in listed if c in mine], self._graph)

    def close(self) -> None:
        """Stop the listing if nobody used it (the split failed before)."""
        if self._listed is None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._out.close()


def _walk_order(source: pygit2.Repository, runs: list[_Run], universe: Universe | None = None) -> WalkPlan:
    """The commits to walk, parents first: every commit the targets' tips reach that not every target has yet.
    Limits each target's own walk to what its tips reach (`_limit_walks`)."""
    previous = [run.previous for _s, _g, run, _t, _r in runs]
    all_tips = sorted({peel_commit(source, tip) for _, _, _, tips, _ in runs for tip in tips.values()})
    # Hide a previously walked tip only when every target already has its commit (and so all its ancestors)
    hidden: list[bytes] = []
    for tip in sorted(set.intersection(*previous) if previous else set()):
        # a tip the source no longer has hides nothing; commits already known are skipped anyway
        with contextlib.suppress(KeyError, ValueError, pygit2.GitError):
            commit = peel_commit(source, tip)
            if all(commit in run.state.replacement for _s, _g, run, _t, _r in runs):
                hidden.append(commit)
    plan = universe.plan_for(set(all_tips)) if universe is not None and not hidden else None
    if plan is None:
        listed = rev_list(source, all_tips, hidden, topo=True)
        plan = WalkPlan([c for c, _ in listed], dict(listed))
    _limit_walks(source, runs, plan.graph)
    return plan


def _walk_all(
    source: pygit2.Repository, runs: list[_Run], progress: Progress, order: list[bytes], task: str = "split"
) -> int:
    """The one walk over the source: every commit of `order`, for every target that does not have it yet."""
    walked = 0
    walk = Walk(source)
    names = ", ".join(spec.name for spec, *_ in runs)
    what = f"walking {len(order)} source commits" + (f" for {names}" if task != "split" else "")
    progress.start(task, what, total=len(order))
    try:
        for n, oid in enumerate(order, 1):
            todo = [
                run
                for _spec, _gd, run, _tips, _report in runs
                if oid not in run.state.replacement and (run.walk is None or oid in run.walk)
            ]
            if todo:
                walked += 1
                c = read_source_commit(source, oid)
                walk.add(c)
                for run in todo:
                    process_commit(walk, run, c)
            if n % 256 == 0 or n == len(order):
                progress.advance(task, n, len(order), {spec.name: run.kept for spec, _, run, _, _ in runs})
    except BaseException:
        for _spec, _gd, run, _tips, _report in runs:
            run.sink.abort()  # no half-written pack left behind; the state on disk is still the old one
        raise
    progress.finish(task, f"walked {walked} commits" + (f" for {names}" if task != "split" else ""))
    return walked


_Run = tuple[TargetSpec, Path, TargetRun, dict[str, bytes], "TargetReport"]


def _limit_walks(source: pygit2.Repository, runs: list[_Run], graph: Mapping[bytes, tuple[bytes, ...]]) -> None:
    """A target whose refs reach fewer commits than the union (another service's merge refs) walks only its own:
    of the commits this walk visits, those its own tips reach."""
    union = {t for _, _, _, tips, _ in runs for t in tips.values()}
    reaches: dict[frozenset[bytes], set[bytes]] = {}
    for _spec, _gd, run, tips, _r in runs:
        own = frozenset(tips.values())
        if own == union:
            continue
        if own not in reaches:
            reaches[own] = reach(graph, sorted({peel_commit(source, tip) for tip in own}))
        run.walk = reaches[own]


def _finish_target(
    source: pygit2.Repository,
    spec: TargetSpec,
    git_dir: Path,
    run: TargetRun,
    tips: dict[str, bytes],
    report: TargetReport,
    progress: Progress,
) -> tuple[Path, TargetSpec, list[str] | None]:
    """Map the refs, index the pack, write the maps and the state; return the arguments of `_finalize`."""
    progress.start(f"finish:{spec.name}", f"writing {spec.name}")
    new_refs: dict[str, bytes] = {}
    ref_rows: list[tuple[str, str | None, str]] = []
    for ref in sorted(tips):
        obj = tips[ref]
        commit = peel_commit(source, obj)
        new_commit = run.state.replacement.get(commit)
        if new_commit is None:
            report.dropped_refs.append(ref)
            ref_rows.append((obj.hex(), None, ref))
            continue
        new = new_commit
        tag = source[pygit2.Oid(raw=obj)]
        if isinstance(tag, pygit2.Tag):
            if tag.target.raw != commit:
                report.dropped_refs.append(ref)  # a tag of a tag: not supported, reported
                ref_rows.append((obj.hex(), None, ref))
                continue
            new = rewrite_tag(source, obj, new_commit, run.sink)
        new_refs[ref] = new
        ref_rows.append((obj.hex(), new.hex(), ref))
    run.sink.finish()
    repo = pygit2.Repository(str(git_dir))
    previous = (
        [str(repo.references[r].target) for r in repo.references if r.startswith("refs/")]
        if report.incremental
        else None
    )
    if report.incremental:
        keep_moved_refs(repo, git_dir, report, progress)
    for name in list(repo.references):
        if (name.startswith(("refs/heads/", "refs/tags/"))) and name not in new_refs:
            repo.references.delete(name)
    for ref, oid in new_refs.items():
        repo.references.create(ref, pygit2.Oid(raw=oid), force=True)
    for merge_ref in spec.merge_refs:
        if _merge_into_main(repo, spec, merge_ref, new_refs):
            report.merged.append(merge_ref)
    record_written_refs(repo, git_dir)
    sd = spinout_dir(git_dir)
    write_commit_map(sd / "commit-map", run.state, incremental=report.incremental)
    write_ref_map(sd / "ref-map", ref_rows)
    save_state(
        git_dir, spec.fingerprint(), {r: o.hex() for r, o in tips.items()}, run.state, incremental=report.incremental
    )
    report.walked = len(run.state.replacement)
    report.kept = len(run.state.replacement) - len(run.state.pruned)
    report.pruned = len(run.state.pruned)
    report.refs = {r: o.hex() for r, o in sorted(new_refs.items())}
    return git_dir, spec, previous


def _merge_into_main(repo: pygit2.Repository, spec: TargetSpec, merge_ref: str, refs: dict[str, bytes]) -> bool:
    """Merge the split `merge_ref` into the target's main branch with one deterministic merge commit.

    Author and committer: `spinout <spinout@localhost>`, dated the later of the two tips' committer dates, UTC;
    message `Merge <ref> into <main>`. Returns False when there is nothing to merge.
    """
    main, branch = refs.get(spec.main_ref), refs.get(merge_ref)
    if main is None or branch is None:
        return False
    main_oid, branch_oid = pygit2.Oid(raw=main), pygit2.Oid(raw=branch)
    if main == branch or repo.descendant_of(main_oid, branch_oid):
        return False
    index = repo.merge_commits(main_oid, branch_oid)
    if index.conflicts is not None:
        paths = sorted({(e.our or e.their or e.ancestor).path for e in index.conflicts})
        raise PlanError(
            [Problem(f"service {spec.name}.merge", f"{merge_ref} conflicts with {spec.main_ref} in {', '.join(paths)}")]
        )
    tree = index.write_tree(repo)
    when = max(commit_at(repo, main).commit_time, commit_at(repo, branch).commit_time)
    sig = pygit2.Signature("spinout", "spinout@localhost", when, 0)
    msg = f"Merge {merge_ref} into {spec.main_ref}\n"
    new = repo.create_commit(None, sig, sig, msg, tree, [main_oid, branch_oid])
    repo.references.create(spec.main_ref, new, force=True)
    refs[spec.main_ref] = new.raw
    return True


def _fetch_args(source: pygit2.Repository, git_dir: Path, tips: Mapping[str, bytes]) -> list[str]:
    """The git command that copies the source history (the refs `tips` names) into a "remove"-mode target."""
    refspecs = [f"+{ref}:{ref}" for ref in sorted(tips)]
    return [
        "--git-dir",
        str(git_dir),
        "fetch",
        "-q",
        "--no-tags",
        "--update-head-ok",
        str(Path(source.path).resolve()),
        *refspecs,
    ]


def _remove_mode(
    source: pygit2.Repository,
    spec: TargetSpec,
    git_dir: Path,
    tips: dict[str, bytes],
    report: TargetReport,
    progress: Progress,
    previous: Sequence[str] = (),
    known: Mapping[bytes, tuple[bytes, ...]] | None = None,
) -> None:
    """The core in "remove" mode: the source history as is (fetched by `_fetch_args`' command, which has run),
    plus the removal commit on the main branch. `known`: the walk's graph (commit -> parents), when it holds
    every commit the tips reach."""
    repo = pygit2.Repository(str(git_dir))
    for name in list(repo.references):
        if name.startswith(("refs/heads/", "refs/tags/")) and name not in tips:
            repo.references.delete(name)
    main = tips.get(spec.main_ref)
    if main is None:
        raise PlanError([Problem("source.main", f"{spec.main_ref} is not among the source refs")])
    sink = PackSink(git_dir)
    filt = TreeFilter(repo, spec.rules, sink)
    head = commit_at(repo, main)
    new_tree = filt.filter_root(head.tree_id.raw)
    sink.finish()
    moved = ", ".join(spec.rules.paths)
    msg = f"Remove the paths moved to services\n\nspinout split removed: {moved}\n"
    sig = pygit2.Signature("spinout", "spinout@localhost", head.commit_time, 0)
    commit = repo.create_commit(None, sig, sig, msg, pygit2.Oid(raw=new_tree), [head.id])
    repo.references.create(spec.main_ref, commit, force=True)
    record_written_refs(repo, git_dir)
    report.removal_commit = str(commit)
    report.refs = {r: (str(commit) if r == spec.main_ref else o.hex()) for r, o in sorted(tips.items())}
    # the history is the source's: the commit-map is the identity over every commit the refs reach (a rerun adds
    # the commits its previous tips did not reach)
    state = CommitState()
    core_tips = sorted({peel_commit(source, tip) for tip in tips.values()})
    if known is not None:
        commits = reach(known, core_tips)
    else:
        hidden = []
        for old_tip in sorted(previous):
            with contextlib.suppress(KeyError, ValueError, pygit2.GitError):
                hidden.append(peel_commit(source, bytes.fromhex(old_tip)))
        commits = {c for c, _ in rev_list(source, core_tips, hidden, topo=False)}
    for c in commits:
        state.record(c, c, pruned=False)
    write_commit_map(spinout_dir(git_dir) / "commit-map", state, incremental=bool(previous))
    save_state(git_dir, spec.fingerprint(), {r: o.hex() for r, o in tips.items()}, CommitState())
    write_ref_map(spinout_dir(git_dir) / "ref-map", [(o.hex(), report.refs[r], r) for r, o in tips.items()])
    # its work tree is checked out by `_finalize`, beside the other targets'


def targets_from_plan(plan: Plan, old_names: Mapping[str, Mapping[str, str]] | None = None) -> list[TargetSpec]:
    """One spec per service (with the old names follow_renames found, old → current) and one for the core."""
    old_names = old_names or {}
    specs = [
        TargetSpec(
            name=s.name,
            path=plan.target_dir(s.name),
            rules=service_rules(s, old_names.get(s.name)),
            ref_patterns=tuple(plan.source.refs),
            main_ref=plan.source.main_ref,
            merge_refs=tuple(s.merge),
            bare=plan.output.bare,
            plan_dir=plan.base_dir,
        )
        for s in plan.service
    ]
    specs.append(
        TargetSpec(
            name=plan.core.name,
            path=plan.target_dir(plan.core.name),
            rules=core_rules(plan),
            ref_patterns=tuple(plan.source.refs),
            main_ref=plan.source.main_ref,
            bare=plan.output.bare,
            mode=plan.core.history,
            plan_dir=plan.base_dir,
        )
    )
    return specs
