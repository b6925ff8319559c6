"""The rewritten targets of a split spread over worker processes, one per core.

Each target's rewrite depends only on the source and its own rules, so targets are independent: a worker
(forked after the targets are prepared, so it inherits their packs, states and filters) walks the new source
commits once for its group of targets, then finishes them — refs, pack index, commit-map, ref-map and state —
exactly as the single-process walk does, so the results are byte for byte the same. The parent relays the
workers' progress events and waits. An error in a worker stops the others (each drops its unfinished pack);
targets a worker already finished keep their complete state, and the next run goes on incrementally.

Forking is used only where the platform forks cleanly (Linux); elsewhere, and with `jobs = 1`, the walk runs
in the calling process.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygit2

from spinout.errors import ToolError
from spinout.history.rewrite import TreeReader
from spinout.progress import Event, Progress

if TYPE_CHECKING:
    from spinout.history.split import TargetSpec, _Run

Finished = tuple[Path, "TargetSpec", list[str] | None]
WalkFn = Callable[[pygit2.Repository, list["_Run"], Progress, list[bytes], str], int]
OrderFn = Callable[[pygit2.Repository, list["_Run"]], list[bytes]]
FinishFn = Callable[..., Finished]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def plan_groups(weights: Sequence[float], jobs: int | None, preload: float = 0.0) -> list[list[int]]:
    """Target indexes per worker: `jobs` workers (default: one per core), never more than targets, each target
    given to the least loaded worker, heaviest first (`weights`: relative costs). `preload`: work already bound
    to the first worker's core (follow_renames and the targets waiting for it); the targets dealt to that core
    still get a worker of their own. A single group means: no workers, walk in this process."""
    wanted = (jobs if jobs is not None else available_cores()) if can_fork(jobs) else 1
    count = max(1, min(wanted, len(weights) + (preload > 0)))
    groups: list[list[int]] = [[] for _ in range(count)]
    loads = [0.0] * count
    loads[0] = preload
    for i in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        least = min(range(count), key=lambda g: (loads[g], g))
        groups[least].append(i)
        loads[least] += weights[i]
    return [sorted(g) for g in groups if g]


class _PipeSink:
    """A worker's progress events, sent to the parent."""

    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self.conn = conn

    def emit(self, event: Event) -> None:
        self.conn.send(("event", event))


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else a ToolError carrying its text and traceback."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        text = "".join(traceback.format_exception(exc)).strip()
        return ToolError(f"a split worker failed: {type(exc).__name__}: {exc}", hint=f"traceback:\n{text}")


def _worker(
    conn: multiprocessing.connection.Connection,
    index: int,
    source_path: str,
    runs: list[_Run],
    order: list[bytes] | None,
    walk_all: WalkFn,
    finish: FinishFn,
    order_of: OrderFn,
) -> None:
    # Ctrl-C reaches the whole process group: the parent decides, a worker only stops when told (SIGTERM below).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop)
    try:
        # a repository of its own: no libgit2 file offset or cache shared with the parent or another worker
        source = pygit2.Repository(source_path)
        reader = TreeReader(source)
        for _spec, _git_dir, run, _tips, _report in runs:
            run.filter.repo = source
            run.filter.reader = reader
        progress = Progress(_PipeSink(conn))
        walked = walk_all(source, runs, progress, order_of(source, runs) if order is None else order, f"split:{index}")
        # writing refs, maps and state takes a moment: not stopped half-way through (a stop waits for it)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        finished = [finish(source, *r, progress) for r in runs]
        # the reports' figures and each target's previous refs go back; the parent has the rest
        conn.send(("done", walked, [(r[4], f[2]) for r, f in zip(runs, finished, strict=True)]))
    except _Stopped:
        conn.send(("stopped",))
    except BaseException as exc:  # every failure goes to the parent, which raises it
        conn.send(("error", _portable(exc)))
    finally:
        conn.close()


class _Stopped(BaseException):
    """The parent asked this worker to stop (another one failed, or the user interrupted)."""


def _stop(signum: int, frame: Any) -> None:
    raise _Stopped()


def can_fork(jobs: int | None) -> bool:
    """Whether worker processes can be used at all: a platform that forks cleanly, and more than one job."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    wanted = jobs if jobs is not None else available_cores()
    return wanted > 1 and sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class Pool:
    """Forked workers, each walking and finishing a group of targets; groups may start at different times (a
    target whose rules are still being worked out starts when they are known)."""

    def __init__(self, source: pygit2.Repository, walk_all: WalkFn, finish: FinishFn, order_of: OrderFn) -> None:
        self.source = source
        self.walk_all = walk_all
        self.finish = finish
        self.order_of = order_of
        self._ctx = multiprocessing.get_context("fork")
        self._procs: list[tuple[multiprocessing.process.BaseProcess, multiprocessing.connection.Connection]] = []
        self._groups: dict[multiprocessing.connection.Connection, list[_Run]] = {}

    def start(self, runs: list[_Run], order: list[bytes] | None) -> None:
        """Fork a worker that walks `order` for `runs` (None: the worker lists it, `order_of`) and finishes them.
        The split forks only while this process runs no other thread (its packing threads start after)."""
        index = len(self._procs)
        parent_end, child_end = self._ctx.Pipe(duplex=False)
        proc: multiprocessing.process.BaseProcess = self._ctx.Process(
            target=_worker,
            args=(child_end, index, self.source.path, runs, order, self.walk_all, self.finish, self.order_of),
            name=f"spinout-split-{index}",
            daemon=True,
        )
        proc.start()
        child_end.close()
        self._procs.append((proc, parent_end))
        self._groups[parent_end] = runs

    def wait(self, progress: Progress, finished: Callable[[Path, TargetSpec, list[str] | None], None]) -> int:
        """Relay the workers' progress until all are done; call `finished` for each target as its worker reports
        it done. Returns the number of commits walked (the most any worker walked). The parent's TargetReports
        take the workers' figures. On a failure the other workers are stopped, and the failure raised."""
        walked = 0
        failure: BaseException | None = None
        done: set[int] = set()
        by_conn = {conn: proc for proc, conn in self._procs}
        pending = set(by_conn)
        try:
            while pending:
                for conn in multiprocessing.connection.wait(list(pending)):
                    assert isinstance(conn, multiprocessing.connection.Connection)
                    proc = by_conn[conn]
                    try:
                        message = conn.recv()
                    except EOFError:
                        pending.discard(conn)
                        proc.join()
                        if failure is None:
                            failure = ToolError(
                                f"split worker {proc.name} ended without a result (exit code {proc.exitcode})",
                                hint="run again with --jobs 1 and --debug, and report it",
                            )
                            self.stop()
                        continue
                    kind = message[0]
                    if kind == "event":
                        progress.emit(message[1])
                        continue
                    pending.discard(conn)
                    if kind == "done":
                        walked = max(walked, message[1])
                        for run, (report, previous) in zip(self._groups[conn], message[2], strict=True):
                            spec, git_dir, _run, _tips, own_report = run
                            own_report.__dict__.update(report.__dict__)
                            done.add(id(run))
                            finished(git_dir, spec, previous)
                    elif kind == "error" and failure is None:
                        failure = message[1]
                        self.stop()
        except BaseException:
            self.close()
            raise
        self.close()
        if failure is not None:
            raise failure
        missing = [run[0].name for runs in self._groups.values() for run in runs if id(run) not in done]
        if missing:
            raise ToolError(f"split workers stopped before finishing {', '.join(missing)}", hint="run the split again")
        return walked

    def stop(self) -> None:
        """Ask every running worker to stop (each drops its unfinished packs)."""
        for proc, _conn in self._procs:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)

    def close(self) -> None:
        """Stop what still runs, wait for every worker, remove packs a stopped worker left."""
        self.stop()
        for proc, _conn in self._procs:
            proc.join()
        for runs in self._groups.values():
            _drop_unfinished_packs(runs)


def _drop_unfinished_packs(runs: Sequence[_Run]) -> None:
    """The parent's side of each target's pack: its inherited handle closed, and the file removed when a worker
    stopped before indexing it (a finished pack is gone already)."""
    for _spec, _git_dir, run, _tips, _report in runs:
        run.sink.abort()
