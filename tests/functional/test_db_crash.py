"""Crash safety of `db copy`: a copy process killed with SIGKILL at a random instant, then resumed, is whole.

Each trial forks a child that runs the copy, kills it with SIGKILL, resumes the copy in this process and compares
the target's rows with the source's (plain SELECTs), its keys and indexes with an uninterrupted copy's, and the
verify checksums. The same target database is emptied between trials.

- During the batches: the child is slowed a little per batch so that the kill lands mid-table most of the time,
  at a random batch and a random instant within it (SPINOUT_CRASH_TRIALS per backend and route, default 10).
- In the phases around the batches, which take milliseconds and so a random instant would almost never hit:
  preparing the target (creating the checkpoint table and the service tables, reading what is fresh), setting the
  keys aside (PostgreSQL) and rebuilding them (PostgreSQL). The child stops at a random statement the phase sends
  to the target, before or after it runs (so inside an open transaction, or between two), says so, and is killed
  there: every such trial provably hit its phase (SPINOUT_CRASH_PHASE_TRIALS per phase, default 3; `heavy`).

Seeds differ per run; each test prints its seed (shown on failure); SPINOUT_CRASH_SEED=<seed> replays one.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from spinout import api
from spinout.progress import Advanced, Event, Progress, Started
from tests.fixtures import neutron_db
from tests.fixtures.datahelpers import sibling_database, snapshot, write_plan

TRIALS = int(os.environ.get("SPINOUT_CRASH_TRIALS", "10"))
PHASE_TRIALS = int(os.environ.get("SPINOUT_CRASH_PHASE_TRIALS", "3"))
LB = neutron_db.SERVICES["lbaas"]


class _Sleepy:
    """A progress sink that pauses a little after each batch, so that a copy takes long enough to be killed, and
    counts the batches in shared memory so that the parent can pick the batch to kill in."""

    def __init__(self, batches: Any) -> None:
        self.batches = batches

    def emit(self, event: Event) -> None:
        if isinstance(event, Advanced) and event.task.startswith("copy:"):
            self.batches.value += 1
        time.sleep(0.002)


def _child(plan: Path, core: str, target: str, batches: Any) -> None:
    api.db_copy(plan, core, {"neutron-lbaas": target}, progress=Progress(_Sleepy(batches)))
    os._exit(0)


def _wait_batches(batches: Any, proc: Any, count: int) -> None:
    deadline = time.monotonic() + 60
    while batches.value < count and proc.is_alive() and time.monotonic() < deadline:
        time.sleep(0.0005)


def _reset(target: str) -> None:
    engine = sa.create_engine(target)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS spinout_copy_state"))
        conn.execute(sa.text("DROP TABLE IF EXISTS spinout_verify"))
        conn.execute(sa.text("DROP TABLE IF EXISTS spinout_copy_deferred"))
    neutron_db.METADATA.drop_all(engine, tables=[neutron_db.METADATA.tables[t] for t in LB])
    engine.dispose()


def _state(target: str) -> list[tuple[str, int, bool]]:
    engine = sa.create_engine(target)
    try:
        if not sa.inspect(engine).has_table("spinout_copy_state"):
            return []
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT table_name, rows_copied, done FROM spinout_copy_state")).all()
        return [(r[0], int(r[1]), bool(r[2])) for r in rows]
    finally:
        engine.dispose()


def _keys(target: str) -> dict[str, Any]:
    """Each service table's primary key, foreign keys, unique constraints and indexes, as reflected."""
    engine = sa.create_engine(target)
    try:
        insp = sa.inspect(engine)
        return {
            t: (
                insp.get_pk_constraint(t),
                sorted(map(str, insp.get_foreign_keys(t))),
                sorted(map(str, insp.get_unique_constraints(t))),
                sorted(map(str, insp.get_indexes(t))),
            )
            for t in LB
        }
    finally:
        engine.dispose()


def crash_seed() -> int:
    """A new seed per run (or SPINOUT_CRASH_SEED's), printed: pytest shows it when the test fails."""
    seed = int(os.environ.get("SPINOUT_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"replay with SPINOUT_CRASH_SEED={seed}")
    return seed


# the route each backend's copy takes with pass_through on (off: "python" everywhere)
PASS_THROUGH_ROUTE = {"sqlite": "python", "postgresql": "postgresql-copy", "mysql": "mysql-same-server"}


@pytest.mark.slow
@pytest.mark.parametrize("pass_through", [True, False], ids=["pass-through", "python"])
def test_copy_killed_at_random_points_resumes_whole(db_url: str, tmp_path: Path, pass_through: bool) -> None:
    kind = sa.make_url(db_url).get_backend_name()
    if kind == "sqlite" and not pass_through:
        pytest.skip("SQLite has no pass-through route: the other case runs the same path")
    neutron_db.create(db_url, 16)
    # the models' MetaData spares each trial a reflection of the source
    plan = write_plan(
        tmp_path,
        services=("lbaas",),
        batch_size=4,
        metadata="tests.fixtures.neutron_db:METADATA",
        pass_through=pass_through,
    )
    expected_route = PASS_THROUGH_ROUTE[kind] if pass_through else "python"
    source_rows = {t: rows for t, rows in snapshot(db_url).items() if t in LB}
    rng = random.Random(crash_seed())
    ctx = multiprocessing.get_context("fork")
    mid_table = 0
    with sibling_database(db_url, tmp_path, "lb") as target:
        # calibrate: how many batches an uninterrupted copy has, and how long one takes here
        batches = ctx.Value("i", 0)
        proc = ctx.Process(target=_child, args=(plan, db_url, target, batches))
        proc.start()
        _wait_batches(batches, proc, 1)
        first = time.monotonic()
        proc.join(60)
        assert proc.exitcode == 0
        total = batches.value
        whole_keys = _keys(target)  # on PostgreSQL, set aside during the load and rebuilt after it
        per_batch = (time.monotonic() - first) / total
        # at least TRIALS kills, and more (up to 3 x TRIALS) until half of TRIALS landed inside a table's copy:
        # whether a kill lands there or between two tables is up to the scheduler, not to the test
        trial = 0
        while trial < TRIALS or (mid_table < TRIALS // 2 and trial < 3 * TRIALS):
            trial += 1
            _reset(target)
            batches = ctx.Value("i", 0)
            proc = ctx.Process(target=_child, args=(plan, db_url, target, batches))
            proc.start()
            # a random batch, then a random instant within it (reading, writing, committing or checkpointing)
            _wait_batches(batches, proc, rng.randint(1, total - 1))
            time.sleep(rng.uniform(0.0, per_batch))
            assert proc.pid is not None
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(10)
            state = _state(target)
            if proc.exitcode == -signal.SIGKILL and any(not done and rows for _, rows, done in state):
                mid_table += 1
            # resume in this process
            resumed = api.db_copy(plan, db_url, {"neutron-lbaas": target})
            routes = {t.table: t.route for t in resumed.tables}
            assert routes.pop("lb_events") == "python"  # no primary key: one transaction through Python
            assert set(routes.values()) == {expected_route}
            assert snapshot(target, LB) == source_rows, f"trial {trial}: target differs after resume"
            assert _keys(target) == whole_keys, f"trial {trial}: keys and indexes differ after resume"
            result = api.db_verify(plan, db_url, {"neutron-lbaas": target})
            assert result.exit_code == 0, f"trial {trial}: {result.lines()}"
    # most kills must have hit a table in the middle of its copy, or the test proves little
    assert mid_table >= TRIALS // 2, f"only {mid_table} of {trial} kills landed mid-table"


# -- kills inside the phases around the batches --------------------------------------------------------------------

PHASES = ("prepare", "defer", "copy", "restore")


class _PhaseSink:
    """Follows the copy's progress events to know its phase: preparing the target until keys are set aside
    (`defer:`), a table is copied (`copy:`) or keys are rebuilt (`restore:`)."""

    def __init__(self) -> None:
        self.phase = "prepare"

    def emit(self, event: Event) -> None:
        if isinstance(event, Started):
            self.phase = event.task.split(":", 1)[0] if event.task.split(":", 1)[0] in PHASES else self.phase


def _phase_child(plan: Path, core: str, target: str, stop: tuple[str, int, str], counts: Any, reached: Any) -> None:
    """Run the copy, counting the statements it sends to the target in each phase; at the `stop` (phase, n-th
    statement, "before" or "after" it runs) say so in `reached` and wait to be killed."""
    sink = _PhaseSink()
    target_url = sa.make_url(target)
    phase, nth, side = stop

    def listener(when: str) -> Any:
        def on_statement(conn: sa.Connection, *args: Any) -> None:
            if conn.engine.url != target_url:
                return
            index = PHASES.index(sink.phase)
            if when == "before":
                counts[index] += 1
            if sink.phase == phase and counts[index] == nth and when == side:
                reached.value = 1
                time.sleep(120)  # the parent kills us here

        return on_statement

    sa.event.listen(sa.Engine, "before_cursor_execute", listener("before"))
    sa.event.listen(sa.Engine, "after_cursor_execute", listener("after"))
    after = listener("after")  # a statement that fails (a table probed that is not there yet) ran too

    def on_error(context: Any) -> None:
        if context.connection is not None:
            after(context.connection)

    sa.event.listen(sa.Engine, "handle_error", on_error)
    api.db_copy(plan, core, {"neutron-lbaas": target}, progress=Progress(sink))
    os._exit(0)


def _run_phase_child(ctx: Any, plan: Path, core: str, target: str, stop: tuple[str, int, str]) -> tuple[Any, Any, Any]:
    counts, reached = ctx.Array("i", len(PHASES)), ctx.Value("i", 0)
    proc = ctx.Process(target=_phase_child, args=(plan, core, target, stop, counts, reached))
    proc.start()
    return proc, counts, reached


@pytest.mark.slow
@pytest.mark.heavy
def test_copy_killed_in_each_phase_resumes_whole(db_url: str, tmp_path: Path) -> None:
    kind = sa.make_url(db_url).get_backend_name()
    neutron_db.create(db_url, 6)
    plan = write_plan(tmp_path, services=("lbaas",), batch_size=4, metadata="tests.fixtures.neutron_db:METADATA")
    source_rows = {t: rows for t, rows in snapshot(db_url).items() if t in LB}
    rng = random.Random(crash_seed())
    ctx = multiprocessing.get_context("fork")
    with sibling_database(db_url, tmp_path, "lb") as target:
        # an uninterrupted copy: how many statements each phase sends to the target, and the keys it leaves
        proc, counts, _ = _run_phase_child(ctx, plan, db_url, target, ("none", 0, "before"))
        proc.join(120)
        assert proc.exitcode == 0
        per_phase = dict(zip(PHASES, list(counts), strict=True))
        whole_keys = _keys(target)
        phases = ["prepare", "defer", "restore"] if kind == "postgresql" else ["prepare"]
        assert all(per_phase[p] > 0 for p in phases), per_phase  # every phase is there to be hit
        for phase in phases:
            n = per_phase[phase]
            for trial in range(PHASE_TRIALS):
                _reset(target)
                # stratified: each trial a random statement of its own slice of the phase, so that a few trials
                # still spread over all of it
                low, high = (
                    1 + trial * n // PHASE_TRIALS,
                    max(1 + trial * n // PHASE_TRIALS, (trial + 1) * n // PHASE_TRIALS),
                )
                stop = (phase, rng.randint(low, high), rng.choice(["before", "after"]))
                proc, counts, reached = _run_phase_child(ctx, plan, db_url, target, stop)
                deadline = time.monotonic() + 60
                while not reached.value and proc.is_alive() and time.monotonic() < deadline:
                    time.sleep(0.001)
                assert reached.value, f"{stop}: the copy ended without reaching this point ({per_phase})"
                assert proc.pid is not None
                os.kill(proc.pid, signal.SIGKILL)
                proc.join(10)
                assert proc.exitcode == -signal.SIGKILL
                what = f"killed in {phase} at statement {stop[1]} of {per_phase[phase]} ({stop[2]} it ran)"
                resumed = api.db_copy(plan, db_url, {"neutron-lbaas": target})
                assert sorted(t.table for t in resumed.tables) == sorted(LB)
                assert snapshot(target, LB) == source_rows, f"{what}: target differs after resume"
                assert _keys(target) == whole_keys, f"{what}: keys and indexes differ after resume"
                if kind == "postgresql":
                    assert _deferred_count(target) == 0, f"{what}: keys still set aside after resume"
                result = api.db_verify(plan, db_url, {"neutron-lbaas": target})
                assert result.exit_code == 0, f"{what}: {result.lines()}"


def _deferred_count(target: str) -> int:
    engine = sa.create_engine(target)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM spinout_copy_deferred")).scalar_one())
    finally:
        engine.dispose()
