"""The PostgreSQL → PostgreSQL COPY relay of `db copy` (spinout.data.transfer, route "postgresql-copy").

Differential: the same source copied through the relay and through Python (`pass_through = false`) must give the
same target rows, equal to the source's read back with plain SELECTs, and `db verify`'s checksums must agree. The
source and target databases are given awkward session defaults (DateStyle, IntervalStyle, bytea_output,
extra_float_digits, client encoding) that change COPY's text unless the relay sets its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from spinout import api
from spinout.cli import main
from spinout.errors import DataMismatch
from spinout.progress import Noted, RecordingProgress
from tests.fixtures.databases import POSTGRES_ADMIN_URL, postgres_database
from tests.fixtures.datahelpers import snapshot

AWKWARD = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE things (
    name text NOT NULL,
    n integer NOT NULL,
    amount numeric(20, 6),
    ratio double precision,
    real_ratio real,
    at_tz timestamp with time zone,
    at_naive timestamp,
    day date,
    span interval,
    flag boolean,
    blob bytea,
    doc jsonb,
    doc_text json,
    tags text[],
    numbers integer[],
    feeling mood,
    ident uuid,
    note text,
    PRIMARY KEY (name, n)
);
CREATE TABLE events (
    at timestamp with time zone PRIMARY KEY,
    what text NOT NULL
);
"""

# text keys with non-ASCII letters (LATIN1-representable: the source's client encoding is LATIN1 in one test),
# and values that COPY's text format must escape: tabs, newlines, backslashes, \N look-alikes
NAMES = ["alpha", "Ärger", "zeta", "élan", "tab\there", "back\\slash", "new\nline", "\\N", "ü"]


def _fill(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(AWKWARD)
        rows = []
        for i, name in enumerate(NAMES):
            for n in range(3):
                k = i * 3 + n
                rows.append(
                    {
                        "name": name,
                        "n": n,
                        "amount": None if k % 5 == 0 else f"{k * 1234567.891011:.6f}",
                        "ratio": [0.1, 1e300, -2.5e-300, 1 / 3][k % 4],
                        "real_ratio": [0.1, 3.4028235e38, 1 / 3][k % 3],
                        "at_tz": f"2014-12-0{1 + k % 9} 0{k % 10}:30:15.123456+0{k % 5}:30",
                        "at_naive": f"2015-0{1 + k % 9}-12 23:59:59.99999{k % 10}",
                        "day": f"1999-{1 + k % 12:02d}-{1 + k % 28:02d}",
                        "span": f"{k} days {k % 24} hours 3 minutes 4.5 seconds",
                        "flag": None if k % 7 == 0 else k % 2 == 0,
                        "blob": bytes([0, 92, 9, 10, 255, k % 256]) + b"\\x00",
                        "doc": json.dumps({"k": k, "s": f"é\t{name}", "nested": [1, None, "\\"]}),
                        "doc_text": json.dumps({"b": k, "a": [1.5, "x"]}),
                        "tags": [name, "with,comma", 'with"quote', "", None][: 1 + k % 5],
                        "numbers": [k, -k, 0][: k % 4],
                        "feeling": ["sad", "ok", "happy", None][k % 4],
                        "ident": str(uuid.UUID(int=k * 7919)),
                        "note": None if k % 3 == 0 else f"line one\nline two\t{name}\\",
                    }
                )
        conn.execute(
            sa.text(
                "INSERT INTO things VALUES (:name, :n, CAST(:amount AS numeric), :ratio, :real_ratio, "
                "CAST(:at_tz AS timestamptz), CAST(:at_naive AS timestamp), CAST(:day AS date), "
                "CAST(:span AS interval), :flag, :blob, CAST(:doc AS jsonb), CAST(:doc_text AS json), "
                "CAST(:tags AS text[]), CAST(:numbers AS integer[]), CAST(:feeling AS mood), CAST(:ident AS uuid), "
                ":note)"
            ),
            rows,
        )
        conn.execute(
            sa.text("INSERT INTO events VALUES (CAST(:at AS timestamptz), :what)"),
            [{"at": f"2020-02-29 12:00:{s:02d}.5+0{s % 3}", "what": f"event {s}"} for s in range(20)],
        )
    engine.dispose()


def _plan(tmp: Path, pass_through: bool, batch_size: int = 4) -> Path:
    plan = tmp / f"plan-{pass_through}.toml"
    plan.write_text(
        '[source]\nrepo = "."\n[core]\nname = "c"\npackage = "c"\n'
        '[[service]]\nname = "s"\npackage = "s"\npaths = ["s/"]\ntables = ["things", "events"]\n'
        f"[database]\nbatch_size = {batch_size}\npass_through = {str(pass_through).lower()}\n"
    )
    return plan


def _alter_database(url: str, settings: dict[str, str]) -> None:
    """Session defaults for every later connection to the database of `url`."""
    name = sa.make_url(url).database
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for key, value in settings.items():
            conn.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET {key} = '{value}'")
    admin.dispose()


def _prepare_target(url: str) -> None:
    """The enum type, as the service's migration would have created it."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    engine.dispose()


@contextmanager
def _awkward_source(client_encoding: str = "UTF8") -> Iterator[str]:
    with postgres_database() as source:
        _fill(source)
        _alter_database(
            source,
            {
                "DateStyle": "SQL, DMY",
                "IntervalStyle": "sql_standard",
                "bytea_output": "escape",
                "extra_float_digits": "-3",
                "TimeZone": "Asia/Kathmandu",
                "client_encoding": client_encoding,
            },
        )
        yield source


def _iso(url: str) -> str:
    """The URL with session settings for exact reads through psycopg: it parses timestamps only in the ISO
    DateStyle and intervals only in the postgres IntervalStyle, and reads floats as text, which
    extra_float_digits < 1 rounds, and its json loader reads UTF-8 only. For the reads of the test and of the
    route through Python."""
    options = "-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 -c client_encoding=UTF8"
    return sa.make_url(url).update_query_dict({"options": options}).render_as_string(hide_password=False)


@pytest.mark.parametrize("client_encoding", ["UTF8", "LATIN1"])
def test_relay_and_python_routes_copy_awkward_types_identically(tmp_path: Path, client_encoding: str) -> None:
    with _awkward_source(client_encoding) as source:
        before = snapshot(_iso(source))
        copies = {}
        for pass_through in (True, False):
            with postgres_database() as target:
                _prepare_target(target)
                _alter_database(target, {"DateStyle": "German, MDY", "TimeZone": "America/St_Johns"})
                plan = _plan(tmp_path, pass_through)
                progress = RecordingProgress()
                # the relay reads the source and writes the target under their awkward defaults: it sets its own
                urls = (source, target) if pass_through else (_iso(source), _iso(target))
                result = api.db_copy(plan, urls[0], {"s": urls[1]}, progress=progress)
                expected = "postgresql-copy" if pass_through else "python"
                assert {t.route for t in result.tables} == {expected}
                assert {t.table: t.rows for t in result.tables} == {"things": len(NAMES) * 3, "events": 20}
                notes = [e.text for e in progress.of(Noted)]
                assert any(("COPY" in n) == pass_through and n.startswith("s: rows go") for n in notes), notes
                copies[pass_through] = snapshot(_iso(target), ["things", "events"])
                verified = api.db_verify(plan, _iso(source), {"s": _iso(target)})
                assert verified.exit_code == 0, verified.lines()
        assert copies[True] == {t: before[t] for t in ("things", "events")}
        assert copies[True] == copies[False]
        assert snapshot(_iso(source)) == before  # the source is only read


def test_relay_resumes_after_the_last_checkpointed_key(tmp_path: Path) -> None:
    """A first run stopped by a rejected row leaves its earlier batches; after the fix the rerun resumes there."""
    with _awkward_source() as source, postgres_database() as target:
        _prepare_target(target)
        engine = sa.create_engine(target)
        with engine.begin() as conn:  # the target refuses the first row of 'zeta' (in the third batch of four)
            conn.exec_driver_sql(_with_check(AWKWARD.split(";", 1)[1], "name <> 'zeta'"))
        plan = _plan(tmp_path, True)
        with pytest.raises(DataMismatch) as err:
            api.db_copy(plan, source, {"s": target})
        message = str(err.value)
        assert "things" in message and "name='zeta'" in message and "n=0" in message, message
        assert "nothing of this batch was committed" in message
        with engine.connect() as conn:
            state = conn.execute(
                sa.text("SELECT rows_copied, done FROM spinout_copy_state WHERE table_name = 'things'")
            ).one()
            count = conn.execute(sa.text("SELECT count(*) FROM things")).scalar_one()
        # keys sorted by the source's collation: the batches before the rejected one are committed, not more
        assert tuple(state) == (count, False) and count % 4 == 0 and 0 < count < len(NAMES) * 3
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE things DROP CONSTRAINT ck_test")
        engine.dispose()
        again = api.db_copy(plan, source, {"s": target})
        things = next(t for t in again.tables if t.table == "things")
        assert things.status == "resumed" and things.copied == len(NAMES) * 3 - count
        assert api.db_verify(plan, _iso(source), {"s": _iso(target)}).exit_code == 0


def test_relay_never_shows_passwords(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Password-bearing URLs (a role with a password; the test server trusts local connections, so the password
    travels in the URL without being checked): no message, note or JSON result of the relay route quotes it, on
    a rejected row nor on success."""
    role, password = f"spinout_relay_{uuid.uuid4().hex[:8]}", "Pw-" + uuid.uuid4().hex
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'")
    try:
        with _awkward_source() as source, postgres_database() as target:
            _prepare_target(target)
            engine = sa.create_engine(target)
            with engine.begin() as conn:
                conn.exec_driver_sql(_with_check(AWKWARD.split(";", 1)[1], "name <> 'zeta'"))
            url = {
                k: sa.make_url(u).set(username=role, password=password).render_as_string(hide_password=False)
                for k, u in (("source", source), ("target", target))
            }
            args = ["db", "copy", str(_plan(tmp_path, True)), "--db-url", url["source"]]
            args += ["--service-db-url", f"s={url['target']}", "--json"]
            code = main(args)
            out, err = capsys.readouterr()
            assert code == 5, out + err
            assert password not in out + err
            assert f"{role}:***@" in json.loads(out)["message"]
            with engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE things DROP CONSTRAINT ck_test")
            engine.dispose()
            code = main(args[:-1])  # the human-readable output, with progress notes
            out, err = capsys.readouterr()
            assert code == 0, out + err
            assert "COPY" in out + err and "route postgresql-copy" in out and password not in out + err
            code = main(args)
            out, err = capsys.readouterr()
            assert code == 0 and password not in out + err
            assert {t["route"] for t in json.loads(out)["tables"]} == {"postgresql-copy"}
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


def _with_check(ddl: str, check: str) -> str:
    return ddl.replace("PRIMARY KEY (name, n)", f"PRIMARY KEY (name, n), CONSTRAINT ck_test CHECK ({check})")


def test_last_key_reads_the_copy_text_of_every_key_type() -> None:
    """The relay's checkpoint comes from the batch's last row of COPY text: for key columns of many types and
    values that COPY escapes, it must equal what a plain SELECT returns (the oracle: psycopg's result rows)."""
    from spinout.data.transfer import _PG_READ_SETTINGS, _Relay

    texts = ["plain", "tab\there", "new\nline", "cr\rhere", "back\\slash", "\\N", "\\x41", "é€", "\b\f\v", " "]
    with postgres_database() as url:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
            conn.exec_driver_sql(
                "CREATE TABLE k (t text, b bytea, ts timestamptz, n numeric, u uuid, d date, f float8, ok boolean, "
                "m mood, PRIMARY KEY (t, b, ts, n, u, d, f, ok, m))"
            )
            for i, t in enumerate(texts):
                conn.execute(
                    sa.text(
                        "INSERT INTO k VALUES (:t, :b, CAST(:ts AS timestamptz), CAST(:n AS numeric), "
                        "CAST(:u AS uuid), CAST(:d AS date), :f, :ok, CAST(:m AS mood))"
                    ),
                    {
                        "t": t,
                        "b": t.encode() + bytes([0, 9, 10, 92, 255]),
                        "ts": f"2001-02-03 04:05:0{i}.12345+05:45",
                        "n": f"-{i}.5000",
                        "u": str(uuid.UUID(int=i)),
                        "d": f"0{1 + i % 9}-0{1 + i % 9}-2020",
                        "f": i / 7,
                        "ok": i % 2 == 0,
                        "m": ["sad", "ok", "happy"][i % 3],
                    },
                )
        md = sa.MetaData()
        md.reflect(engine)
        table = md.tables["k"]
        columns = [c.name for c in table.columns]
        with engine.connect() as conn:
            conn.execute(_PG_READ_SETTINGS)
            relay = _Relay(conn, table, table, columns, columns, 100)
            raw = conn.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cursor:
                expected = cursor.execute("SELECT * FROM k ORDER BY t").fetchall()
                with cursor.copy("COPY (SELECT * FROM k ORDER BY t) TO STDOUT") as copy:
                    lines = [bytes(line) for line in copy]
        engine.dispose()
    assert len(lines) == len(texts)
    for line, row in zip(lines, expected, strict=True):
        assert relay.last_key(line) == list(row)
