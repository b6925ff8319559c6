"""`db strip` re-checks both sides now: a copy that lost or changed rows after `db verify` blocks the drop.

The finding (issue 17, 3.5): copy + verify, then `DELETE FROM members` in the service database, then `db strip`
dropped every moved table, so the members' rows were gone from both databases. The oracle here is the database
itself: rows read back with plain SELECTs, table names as the server lists them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from spinout import api
from spinout.cli import main
from spinout.errors import DataMismatch, UnsafeSourceError
from spinout.progress import Event, Noted, Progress, RecordingProgress, Started
from tests.fixtures import neutron_db
from tests.fixtures.datahelpers import sibling_database, snapshot, table_names, write_plan

LB = neutron_db.SERVICES["lbaas"]
SVC = "neutron-lbaas"


@contextmanager
def _verified(db_url: str, tmp_path: Path) -> Iterator[tuple[Path, Path, str]]:
    """The LBaaS tables copied into a sibling database and verified; yields (plan, migrations dir, target URL)."""
    neutron_db.create(db_url, 6)
    plan = write_plan(tmp_path, services=("lbaas",))
    out = tmp_path / "migrations"
    api.db_migrations(plan, db_url, out)
    with sibling_database(db_url, tmp_path, "lb") as target:
        api.db_copy(plan, db_url, {SVC: target})
        assert api.db_verify(plan, db_url, {SVC: target}).exit_code == 0
        yield plan, out, target


def _execute(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_strip_refuses_when_the_copy_lost_rows_since_verified(db_url: str, tmp_path: Path) -> None:
    with _verified(db_url, tmp_path) as (plan, out, target):
        before = snapshot(db_url)
        members = snapshot(target, ["members"])["members"]
        assert members  # the test proves nothing on an empty table
        _execute(target, "DELETE FROM members")
        with pytest.raises(DataMismatch, match=rf"{SVC}\.members \(target has 0 rows, {len(members)} when verified\)"):
            api.db_strip(plan, db_url, {SVC: target}, out)
        # nothing dropped: the core still holds every row, the only copy of the members now
        assert snapshot(db_url) == before

        # the rows put back exactly: the re-check passes and the strip goes through
        engine = sa.create_engine(target)
        md = sa.MetaData()
        md.reflect(engine, only=["members"])
        cols = sorted(c.name for c in md.tables["members"].columns)
        with engine.begin() as conn:
            conn.execute(md.tables["members"].insert(), [dict(zip(cols, r, strict=True)) for r in members])
        engine.dispose()
        stripped = api.db_strip(plan, db_url, {SVC: target}, out)
    assert sorted(stripped.dropped) == sorted(LB) and stripped.forced == []
    assert table_names(db_url) & set(LB) == set()


def test_strip_refuses_when_the_copy_changed_or_vanished(db_url: str, tmp_path: Path) -> None:
    with _verified(db_url, tmp_path) as (plan, out, target):
        before = snapshot(db_url)
        # an update keeps the count: the checksum recomputed at strip time sees it
        _execute(target, "UPDATE pools SET name = 'changed' WHERE name = 'pool 1'")
        with pytest.raises(DataMismatch, match=rf"{SVC}\.pools \(target rows changed since verified\)"):
            api.db_strip(plan, db_url, {SVC: target}, out)
        _execute(target, "UPDATE pools SET name = 'pool 1' WHERE name = 'changed'")
        _execute(target, "DROP TABLE lb_events")
        with pytest.raises(DataMismatch, match=rf"{SVC}\.lb_events \(the table is gone from "):
            api.db_strip(plan, db_url, {SVC: target}, out)
        assert snapshot(db_url) == before


def test_strip_force_drops_a_changed_copy_loudly(sqlite_url: str, tmp_path: Path) -> None:
    with _verified(sqlite_url, tmp_path) as (plan, out, target):
        count = len(snapshot(target, ["members"])["members"])
        _execute(target, "DELETE FROM members")
        progress = RecordingProgress()
        stripped = api.db_strip(plan, sqlite_url, {SVC: target}, out, force=True, progress=progress)
    assert stripped.forced == [f"{SVC}.members (target has 0 rows, {count} when verified)"]
    assert any(n.level == "warning" and "members" in n.text for n in progress.of(Noted))
    assert table_names(sqlite_url) & set(LB) == set()


def test_strip_cli_exits_5_naming_the_table(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _verified(sqlite_url, tmp_path) as (plan, out, target):
        _execute(target, "DELETE FROM members WHERE 1 = 1")
        args = ["db", "strip", str(plan), "--db-url", sqlite_url, "--service-db-url", f"{SVC}={target}"]
        code = main([*args, "--migrations", str(out), "--json"])
        captured = capsys.readouterr()
        assert code == 5
        payload = json.loads(captured.out)
        assert payload["error"] == "DataMismatch" and "members (target has 0 rows" in payload["message"]
        assert set(LB) <= table_names(sqlite_url)
        # a never-verified service is still exit 3 (UnsafeSourceError), as before
        _execute(target, "DROP TABLE spinout_verify")
        with pytest.raises(UnsafeSourceError, match="not verified"):
            api.db_strip(plan, sqlite_url, {SVC: target}, out)


def test_a_table_an_earlier_strip_dropped_needs_its_verified_copy(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a strip killed halfway on MariaDB leaves (some tables dropped, the revision not stamped), made by hand:
    the rerun goes on only while each gone table's copy is still the verified one."""
    with _verified(sqlite_url, tmp_path) as (plan, out, target):
        members = snapshot(target, ["members"])["members"]
        _execute(sqlite_url, "DROP TABLE members")
        _execute(target, "UPDATE members SET weight = weight + 1")  # the same count, other rows
        with pytest.raises(DataMismatch, match=rf"{SVC}\.members \(target has (\d+) rows, \1 when verified, and its"):
            api.db_strip(plan, sqlite_url, {SVC: target}, out)
        _execute(target, "DELETE FROM members WHERE rowid % 2 = 0")
        with pytest.raises(DataMismatch, match=rf"gone from the core database .*{SVC}\.members \(target has "):
            api.db_strip(plan, sqlite_url, {SVC: target}, out)
        assert set(LB) - {"members"} <= table_names(sqlite_url)  # nothing else dropped
        _execute(target, "DELETE FROM members")
        engine = sa.create_engine(target)
        md = sa.MetaData()
        md.reflect(engine, only=["members"])
        cols = sorted(c.name for c in md.tables["members"].columns)
        with engine.begin() as conn:
            conn.execute(md.tables["members"].insert(), [dict(zip(cols, r, strict=True)) for r in members])
        engine.dispose()
        stripped = api.db_strip(plan, sqlite_url, {SVC: target}, out)
        assert stripped.earlier == ["members"] and sorted(stripped.dropped) == sorted(LB)
        assert table_names(sqlite_url) & set(LB) == set()
        # run again: everything is gone and verified, the revision is applied: nothing to do, and it says so
        again = api.db_strip(plan, sqlite_url, {SVC: target}, out)
        assert sorted(again.earlier) == sorted(LB)
        # a table missing without any verification is a plan naming a table the database does not have
        _execute(target, "DROP TABLE spinout_verify")
        code = main(
            [
                "db",
                "strip",
                str(plan),
                "--db-url",
                sqlite_url,
                "--service-db-url",
                f"{SVC}={target}",
                "--migrations",
                str(out),
                "--json",
            ]
        )
        assert code == 2
        assert "is not in the source database" in capsys.readouterr().out


# -- SIGKILL at any statement of `db strip`, then a rerun: the same result as an uninterrupted strip -------------

STRIP_TRIALS = int(os.environ.get("SPINOUT_CRASH_STRIP_TRIALS", "4"))


class _StripPhase:
    """`check` while strip re-checks both sides (reads), `drop` once it applies the strip revision."""

    def __init__(self) -> None:
        self.phase = "check"

    def emit(self, event: Event) -> None:
        if isinstance(event, Started) and event.task.startswith("strip:"):
            self.phase = "drop"


def _strip_child(plan: Path, core: str, target: str, out: Path, nth: int, side: str, counts: Any, reached: Any) -> None:
    """Strip, counting the statements sent to the core database; at the `nth` (before or after it runs) say so in
    `reached` and wait to be killed."""
    sink = _StripPhase()
    core_url = sa.make_url(core)

    def listener(when: str) -> Any:
        def on_statement(conn: sa.Connection, *args: Any) -> None:
            if conn.engine.url != core_url:
                return
            if when == "before":
                counts[0] += 1
                counts[1 if sink.phase == "check" else 2] += 1
            if counts[0] == nth and when == side:
                reached.value = 1 if sink.phase == "check" else 2
                time.sleep(120)  # the parent kills us here

        return on_statement

    sa.event.listen(sa.Engine, "before_cursor_execute", listener("before"))
    after = listener("after")
    sa.event.listen(sa.Engine, "after_cursor_execute", after)
    sa.event.listen(sa.Engine, "handle_error", lambda ctx: after(ctx.connection) if ctx.connection else None)
    api.db_strip(plan, core, {SVC: target}, out, progress=Progress(sink))
    os._exit(0)


def _core_state(url: str) -> tuple[set[str], dict[str, list[tuple[Any, ...]]], list[str]]:
    engine = sa.create_engine(url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            versions = sorted(
                str(v)
                for t in names
                if t.startswith("alembic_version")
                for v in conn.execute(sa.text(f"SELECT version_num FROM {t}")).scalars()
            )
    finally:
        engine.dispose()
    return names, snapshot(url, sorted(n for n in names if not n.startswith("alembic_version"))), versions


@pytest.mark.slow
@pytest.mark.heavy
def test_strip_killed_anywhere_then_rerun_ends_as_an_uninterrupted_strip(db_url: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("SPINOUT_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"replay with SPINOUT_CRASH_SEED={seed}")  # pytest shows it when the test fails
    rng = random.Random(seed)
    ctx = multiprocessing.get_context("fork")
    kind = sa.make_url(db_url).get_backend_name()
    with _verified(db_url, tmp_path) as (plan, out, target):
        copy = snapshot(target, LB)
        # an uninterrupted strip, counting its statements; then the core is rebuilt as it was (same rows, so the
        # recorded verification holds again) before each trial
        counts, reached = ctx.Array("i", 3), ctx.Value("i", 0)
        proc = ctx.Process(target=_strip_child, args=(plan, db_url, target, out, 0, "before", counts, reached))
        proc.start()
        proc.join(120)
        assert proc.exitcode == 0
        total, checks, drops = list(counts)
        assert checks > 0 and drops > 0, list(counts)
        expected = _core_state(db_url)
        assert expected[0] & set(LB) == set()
        for trial in range(STRIP_TRIALS):
            _rebuild_core(db_url)
            # stratified over the strip's statements: half the trials in the re-check, half in the drops
            low, high = (1, checks) if trial % 2 == 0 else (checks + 1, total)
            nth, side = rng.randint(low, high), rng.choice(["before", "after"])
            counts, reached = ctx.Array("i", 3), ctx.Value("i", 0)
            proc = ctx.Process(target=_strip_child, args=(plan, db_url, target, out, nth, side, counts, reached))
            proc.start()
            deadline = time.monotonic() + 60
            while not reached.value and proc.is_alive() and time.monotonic() < deadline:
                time.sleep(0.001)
            what = f"killed at statement {nth} of {total} ({side} it ran; re-check has {checks})"
            assert reached.value == (1 if nth <= checks else 2), what
            assert proc.pid is not None
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(10)
            # nothing dropped that is not verified: whatever is gone from the core is whole in the service database
            assert snapshot(target, LB) == copy, what
            if kind != "mysql":  # transactional DDL: the strip is one transaction, all of it or nothing
                assert table_names(db_url) & set(LB) in (set(), set(LB)), f"{what}: a half-done strip"
            again = api.db_strip(plan, db_url, {SVC: target}, out)
            assert sorted(again.dropped) == sorted(LB), what
            assert _core_state(db_url) == expected, f"{what}: the core differs from an uninterrupted strip's"
            assert snapshot(target, LB) == copy, what


def _rebuild_core(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        md = sa.MetaData()
        md.reflect(engine)
        md.drop_all(engine)
    finally:
        engine.dispose()
    neutron_db.create(url, 6)
