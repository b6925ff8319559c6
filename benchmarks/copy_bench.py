"""Benchmark of `spinout db copy` against its anchors, measured in the same run.

PostgreSQL: spinout copy vs `pg_dump -t ... | psql` (schema and data: the keys are built after the load), vs
`pg_dump --data-only | psql` into tables that already have their keys (what a copy into a migrated service database
must do), and vs a naive ORM row-by-row loop; MariaDB: spinout copy vs `mysqldump | mysql`. A source database
with `--rows` rows over three tables is generated server-side, each method
copies it into a fresh database, and the median wall time of `--repeat` runs gives rows/s and the ratios. spinout runs
as a child process (`python -m spinout db copy ...`), so its figure includes start-up, and its peak RSS is measured
(os.wait4) at two sizes to show that memory stays flat in the number of rows. The naive loop is timed on a slice
(`--naive-rows`), since it is a rate.

    python -m benchmarks.copy_bench --rows 1000000 --repeat 3

(Not named copy.py: a file of that name in benchmarks/ shadows the standard library's copy module for every
benchmark run as a script.)

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and MariaDB on 127.0.0.1:3306 (root, no password), and
the pg_dump/psql and mysqldump/mysql clients. Results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import orm

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MARIA_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/mysql"
TABLES = {"bench_pools": 0.1, "bench_members": 0.6, "bench_stats": 0.3}  # share of the rows

PLAN = """[source]
repo = "."
[core]
name = "bench"
package = "bench"
[[service]]
name = "svc"
package = "svc"
paths = ["svc/"]
tables = ["bench_pools", "bench_members", "bench_stats"]
[database]
pass_through = {pass_through}
"""


@contextmanager
def database(kind: str) -> Iterator[str]:
    name = f"spinout_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN if kind == "pg" else MARIA_ADMIN, isolation_level="AUTOCOMMIT")
    quote = '"' if kind == "pg" else "`"
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {quote}{name}{quote}"))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            force = " WITH (FORCE)" if kind == "pg" else ""
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{force}"))
        admin.dispose()


def populate(url: str, rows: int) -> dict[str, int]:
    """Create and fill the source tables server-side (generate_series / MariaDB's sequence engine)."""
    engine = sa.create_engine(url)
    counts = {t: max(int(rows * share), 1) for t, share in TABLES.items()}
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE bench_pools (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, "
                "weight NUMERIC(10,2), created_at TIMESTAMP NULL)"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TABLE bench_members (id VARCHAR(36) PRIMARY KEY, pool_id BIGINT NOT NULL "
                "REFERENCES bench_pools(id), address VARCHAR(64) NOT NULL, port INTEGER NOT NULL, note TEXT)"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TABLE bench_stats (pool_id BIGINT NOT NULL, seq INTEGER NOT NULL, bytes_in BIGINT NOT NULL, "
                "PRIMARY KEY (pool_id, seq))"
            )
        )
        p, m, s = counts["bench_pools"], counts["bench_members"], counts["bench_stats"]
        if pg:
            series = "generate_series(1, {n}) AS g(i)"
            lpad = "lpad(i::text, 12, '0')"
            ts = "timestamp '2014-12-05' + i * interval '1 second'"
        else:
            series = "seq_1_to_{n} AS g"
            lpad = "lpad(seq, 12, '0')"
            ts = "timestamp '2014-12-05 00:00:00' + interval seq second"
        i = "i" if pg else "seq"
        conn.execute(
            sa.text(
                f"INSERT INTO bench_pools SELECT {i}, concat('pool ', {i}), ({i} % 1000) / 4.0, {ts} "
                f"FROM {series.format(n=p)}"
            )
        )
        conn.execute(
            sa.text(
                f"INSERT INTO bench_members SELECT concat('member-', {lpad}, '-0000-0000'), ({i} % {p}) + 1, "
                f"concat('10.0.', {i} % 250, '.', {i} % 200), 80 + {i} % 1000, "
                f"CASE WHEN {i} % 3 = 0 THEN NULL ELSE repeat('x', {i} % 40) END FROM {series.format(n=m)}"
            )
        )
        conn.execute(
            sa.text(f"INSERT INTO bench_stats SELECT ({i} % {p}) + 1, {i}, {i} * 1000 FROM {series.format(n=s)}")
        )
    engine.dispose()
    return counts


def run_spinout(plan: Path, source: str, target: str, batch: int | None) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of `spinout db copy` in a child process."""
    cmd = [sys.executable, "-m", "spinout", "--quiet", "db", "copy", str(plan), "--db-url", source]
    cmd += ["--service-db-url", f"svc={target}"]
    if batch is not None:
        cmd += ["--batch-size", str(batch)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        assert proc.stderr is not None
        raise SystemExit(f"spinout db copy failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss


def pipe(producer: list[str], consumer: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    first = subprocess.Popen(producer, stdout=subprocess.PIPE, env=env)
    second = subprocess.run(consumer, stdin=first.stdout, capture_output=True, env=env, check=False)
    assert first.stdout is not None
    first.stdout.close()
    if first.wait() or second.returncode:
        raise SystemExit(f"{producer[0]} | {consumer[0]} failed: {second.stderr.decode()}")
    return time.perf_counter() - started


def pg_dump_psql(source: str, target: str) -> float:
    src, dst = sa.make_url(source), sa.make_url(target)
    tables = [a for t in TABLES for a in ("-t", t)]
    common = ["-h", "127.0.0.1", "-U", "postgres"]
    return pipe(
        ["pg_dump", *common, "-d", str(src.database), *tables],
        ["psql", *common, "-q", "-v", "ON_ERROR_STOP=1", "-d", str(dst.database)],
    )


def pg_data_only(source: str, target: str, schema_from: str) -> float:
    """`pg_dump --data-only | psql` into tables created beforehand (with their keys): the work a copy into a
    migrated service database has to do, index maintenance included. Times only the data."""
    src, dst = sa.make_url(source), sa.make_url(target)
    tables = [a for t in TABLES for a in ("-t", t)]
    common = ["-h", "127.0.0.1", "-U", "postgres"]
    psql = ["psql", *common, "-q", "-v", "ON_ERROR_STOP=1", "-d", str(dst.database)]
    pipe(["pg_dump", *common, "--schema-only", "-d", str(sa.make_url(schema_from).database), *tables], psql)
    return pipe(["pg_dump", *common, "--data-only", "-d", str(src.database), *tables], psql)


def mysqldump_mysql(source: str, target: str) -> float:
    src, dst = sa.make_url(source), sa.make_url(target)
    common = ["-h", "127.0.0.1", "-u", "root"]
    return pipe(["mysqldump", *common, str(src.database), *TABLES], ["mysql", *common, str(dst.database)])


def naive_orm(source: str, target: str, limit: int) -> float:
    """What a hand-written data migration typically does: ORM objects, one INSERT per row. Seconds per row."""
    src_engine, dst_engine = sa.create_engine(source), sa.create_engine(target)
    md = sa.MetaData()
    md.reflect(src_engine, only=list(TABLES))
    md.create_all(dst_engine)

    class Base(orm.DeclarativeBase):
        pass

    class Pool(Base):
        __table__ = md.tables["bench_pools"]

    class Member(Base):
        __table__ = md.tables["bench_members"]

    started = time.perf_counter()
    done = 0
    with orm.Session(src_engine) as src, orm.Session(dst_engine) as dst:
        for model in (Pool, Member):
            for obj in src.scalars(sa.select(model).limit(limit - done)):
                cols = {c.key: getattr(obj, c.key) for c in model.__table__.columns}
                dst.add(model(**cols))
                dst.flush()  # row by row
                done += 1
            if done >= limit:
                break
        dst.commit()
    elapsed = time.perf_counter() - started
    src_engine.dispose()
    dst_engine.dispose()
    return elapsed / done


def median_of(repeat: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(repeat))


def _runs(times: list[float]) -> str:
    return " ".join(f"{t:.2f}" for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=0, help="second size for the memory check (default rows/5)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=None, help="rows per batch (default: spinout's own choice)")
    parser.add_argument("--naive-rows", type=int, default=20_000)
    parser.add_argument("--only", choices=["pg", "maria"], default=None)
    parser.add_argument(
        "--no-pass-through",
        action="store_true",
        help="rows through Python instead of the pass-through route (MariaDB: as between two servers; PostgreSQL: "
        "the route of spinout before the COPY relay); PostgreSQL runs always measure both",
    )
    args = parser.parse_args()
    small = args.small or max(args.rows // 5, 1)
    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / "plan.toml"
        plan.write_text(PLAN.format(pass_through=str(not args.no_pass_through).lower()))
        through_python = Path(tmp) / "plan-python.toml"
        through_python.write_text(PLAN.format(pass_through="false"))
        for kind in ("pg", "maria"):
            if args.only and kind != args.only:
                continue
            report(kind, plan, through_python, args.rows, small, args.repeat, args.batch, args.naive_rows)


def report(
    kind: str, plan: Path, through_python: Path, rows: int, small: int, repeat: int, batch: int | None, naive_rows: int
) -> None:
    label = "PostgreSQL" if kind == "pg" else "MariaDB"
    with database(kind) as source:
        total = sum(populate(source, rows).values())
        # interleaved, so that a change in the machine's load hits every method alike
        spin_times, rss, anchor_times, python_times = [], [], [], []
        for _ in range(repeat):
            with database(kind) as target:
                elapsed, peak = run_spinout(plan, source, target, batch)
                spin_times.append(elapsed)
                rss.append(peak)
            with database(kind) as target:
                anchor_times.append(pg_dump_psql(source, target) if kind == "pg" else mysqldump_mysql(source, target))
            if kind == "pg" and plan.read_text() != through_python.read_text():
                with database(kind) as target:
                    python_times.append(run_spinout(through_python, source, target, batch)[0])
        spin = statistics.median(spin_times)
        anchor = statistics.median(anchor_times)
        anchor_name = "pg_dump | psql" if kind == "pg" else "mysqldump | mysql"
        print(f"== {label}: {total:,} rows over {len(TABLES)} tables, median of {repeat}, batch {batch or 'default'}")
        print(f"spinout db copy      {spin:8.2f} s  {total / spin:>11,.0f} rows/s  peak RSS {max(rss) / 1024:.0f} MiB")
        print(f"{anchor_name:<20} {anchor:8.2f} s  {total / anchor:>11,.0f} rows/s")
        print(f"ratio spinout / {anchor_name}: {anchor / spin:.2f}x")
        print(f"  runs: spinout {_runs(spin_times)}; {anchor_name} {_runs(anchor_times)}")
        if python_times:
            slow = statistics.median(python_times)
            print(f"spinout, pass_through = false (rows through Python) {slow:.2f} s ({_runs(python_times)}): ", end="")
            print(f"ratio {anchor / slow:.2f}x of {anchor_name}; the pass-through route is {slow / spin:.2f}x as fast")
        if kind == "pg":
            data_times = []
            for _ in range(repeat):
                with database(kind) as target:
                    data_times.append(pg_data_only(source, target, source))
            data_only = statistics.median(data_times)
            print(f"pg_dump -a | psql    {data_only:8.2f} s  {total / data_only:>11,.0f} rows/s  (into keyed tables)")
            print(f"ratio spinout / pg_dump -a | psql: {data_only / spin:.2f}x")
            with database(kind) as target:
                per_row = naive_orm(source, target, naive_rows)
            naive = per_row * total
            print(f"naive ORM row loop   {naive:8.2f} s  {1 / per_row:>11,.0f} rows/s (on {naive_rows:,} rows)")
            print(f"ratio spinout / naive ORM: {naive / spin:.1f}x")
    with database(kind) as source:
        populate(source, small)
        with database(kind) as target:
            _, small_rss = run_spinout(plan, source, target, batch)
    print(f"memory: peak RSS {small_rss / 1024:.0f} MiB at {small:,} rows, {max(rss) / 1024:.0f} MiB at {rows:,} rows")


if __name__ == "__main__":
    main()
