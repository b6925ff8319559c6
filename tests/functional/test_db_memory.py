"""Memory of `db copy` and of verify's checksums stays flat in the number of rows (batches and streams, never
whole tables).

Python's own allocations (tracemalloc) are compared at N and 4N rows, with batches (copy: 500 rows) and stream
chunks (checksum: 500 rows) well below N; CI runs a small N, SPINOUT_DATA_HEAVY_ROWS scales it up.
"""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
import sqlalchemy as sa

from spinout import api
from spinout.data.reconcile import table_digest
from tests.fixtures.datahelpers import sibling_database

ROWS = int(os.environ.get("SPINOUT_DATA_HEAVY_ROWS", "2000"))
PLAN = """[source]
repo = "."
[core]
name = "core"
package = "core"
[[service]]
name = "svc"
package = "svc"
paths = ["svc/"]
tables = ["items", "events"]
[database]
batch_size = 500
"""


def _fill(url: str, rows: int) -> None:
    md = sa.MetaData()
    items = sa.Table("items", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("payload", sa.String(200)))
    events = sa.Table("events", md, sa.Column("item_id", sa.Integer), sa.Column("note", sa.String(50)))
    engine = sa.create_engine(url)
    md.create_all(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "mysql":  # key 0 must stay 0 (the copy must keep it too)
            conn.execute(sa.text("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')"))
        for start in range(0, rows, 5000):
            part = range(start, min(start + 5000, rows))
            conn.execute(items.insert(), [{"id": i, "payload": f"{i:08d}" * 20} for i in part])
            conn.execute(events.insert(), [{"item_id": i, "note": "n"} for i in part])
    engine.dispose()


def _peak(db_url: str, tmp_path: Path, rows: int) -> int:
    name = f"m{rows}"
    with sibling_database(db_url, tmp_path, name + "src") as core, sibling_database(db_url, tmp_path, name) as svc:
        _fill(core, rows)
        plan = tmp_path / f"{name}.toml"
        plan.write_text(PLAN)
        tracemalloc.start()
        try:
            copied = api.db_copy(plan, core, {"svc": svc})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert [t.rows for t in copied.tables] == [rows, rows]
        return peak


@pytest.mark.heavy
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_copy_memory_is_flat_in_rows(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # MariaDB is left out to keep the suite short; its batches take the same path as SQLite's
    db_url = request.getfixturevalue(f"{backend.replace('postgresql', 'postgres')}_url")
    small = _peak(db_url, tmp_path, ROWS)
    large = _peak(db_url, tmp_path, 4 * ROWS)
    # four times the rows may not need even twice the memory (a whole table in memory would need four times)
    assert large < 2 * small, (small, large)


@pytest.mark.heavy
def test_checksum_memory_is_flat_in_rows(tmp_path: Path) -> None:
    peaks = []
    for rows in (ROWS, 4 * ROWS):
        url = f"sqlite:///{tmp_path / f'd{rows}.db'}"
        _fill(url, rows)
        engine = sa.create_engine(url)
        md = sa.MetaData()
        md.reflect(engine)
        tracemalloc.start()
        try:
            digest = table_digest(engine, md.tables["items"], ["id", "payload"], chunk=500)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        engine.dispose()
        assert digest.rows == rows
        peaks.append(peak)
    assert peaks[1] < 2 * peaks[0], peaks
