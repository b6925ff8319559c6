"""Crash safety of `db copy`: a copy process killed with SIGKILL at a random instant, then resumed, is whole.

Each trial forks a child that runs the copy (slowed a little per batch so that the kill lands mid-table most of the
time), kills it with SIGKILL after a random delay, resumes the copy in this process and compares the target's rows
with the source's (plain SELECTs) and the verify checksums. 10 trials per backend; the same target database is
emptied between trials.
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
from spinout.progress import Advanced, Event, Progress
from tests.fixtures import neutron_db
from tests.fixtures.datahelpers import sibling_database, snapshot, write_plan

TRIALS = int(os.environ.get("SPINOUT_CRASH_TRIALS", "10"))
LB = neutron_db.SERVICES["lbaas"]


class _Sleepy:
    """A progress sink that pauses a little after each batch, so that a copy takes long enough to be killed, and
    counts the batches in shared memory so that the parent can pick the batch to kill in."""

    def __init__(self, batches: Any) -> None:
        self.batches = batches

    def emit(self, event: Event) -> None:
        if isinstance(event, Advanced):
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
    rng = random.Random(f"crash-{db_url.split(':')[0]}-{pass_through}")
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
        for trial in range(TRIALS):
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
    assert mid_table >= TRIALS // 2, f"only {mid_table} of {TRIALS} kills landed mid-table"
