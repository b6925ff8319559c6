"""A full disk under the target database: `db copy` names the device and what to free, commits nothing half-written,
and resumes once there is room (issue 17, 3.16: it exited 70).

The full disk is real: a small tmpfs, mounted for the test (root only; skipped otherwise). SQLite targets live on
it as a file; a PostgreSQL target gets a tablespace on it as the database's default, so the server itself runs out
of space extending a table (SQLSTATE 53100). "Freeing space" is remounting the tmpfs larger.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from spinout import api
from spinout.cli import main
from spinout.data.space import DiskFull
from tests.fixtures.databases import POSTGRES_ADMIN_URL, postgres_database
from tests.fixtures.datahelpers import snapshot

ROWS = 3000
PLAN = """
[source]
repo = "."
[core]
name = "core"
package = "core"
[[service]]
name = "svc"
package = "svc"
paths = ["svc/"]
tables = ["big"]
[database]
batch_size = 250
pass_through = {pass_through}
"""


@contextmanager
def tmpfs(size: str, owner: str | None = None) -> Iterator[Path]:
    """A fresh tmpfs of `size` under /tmp (reachable by the database server's user), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a real full disk) needs root")
    where = Path(f"/tmp/spinout-full-{uuid.uuid4().hex[:10]}")
    where.mkdir()
    options = f"size={size},mode=0755"
    if owner is not None:
        user = pwd.getpwnam(owner)
        options += f",uid={user.pw_uid},gid={user.pw_gid},mode=0700"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)
        where.rmdir()


def _grow(where: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True)


def _source(url: str) -> None:
    engine = sa.create_engine(url)
    md = sa.MetaData()
    big = sa.Table("big", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("payload", sa.Text))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(big.insert(), [{"id": i, "payload": f"{i:06d}" + "x" * 600} for i in range(ROWS)])
    engine.dispose()


def _consistent(target: str) -> int:
    """The target's rows agree with its checkpoint (nothing half-committed); returns how many there are."""
    engine = sa.create_engine(target)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM big")).scalar_one()
            state = conn.execute(sa.text("SELECT rows_copied FROM spinout_copy_state WHERE table_name = 'big'")).all()
            if engine.dialect.name == "sqlite":
                assert conn.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
    finally:
        engine.dispose()
    assert [r[0] for r in state] == ([rows] if state else []) or (rows == 0 and state == [])
    return int(rows)


def _copy_fails_then_resumes(
    core: str, target: str, plan: Path, where: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(DiskFull) as info:
        api.db_copy(plan, core, {"svc": target})
    message, hint = info.value.message, info.value.hint or ""
    assert f"out of disk space in {target} while copying table big of svc: " in message
    assert "rerun `spinout db copy`" in hint and "rows left need about" in hint
    partial = _consistent(target)
    assert partial < ROWS
    # the command line: exit 4 with the message, never 70
    code = main(["db", "copy", str(plan), "--db-url", core, "--service-db-url", f"svc={target}"])
    assert code == 4
    assert "out of disk space" in capsys.readouterr().err
    assert _consistent(target) >= partial

    _grow(where, "64m")
    resumed = api.db_copy(plan, core, {"svc": target})
    assert [t.rows for t in resumed.tables] == [ROWS]
    assert snapshot(target, ["big"]) == snapshot(core, ["big"])
    assert api.db_verify(plan, core, {"svc": target}).exit_code == 0


def test_sqlite_target_on_a_full_disk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    core = f"sqlite:///{tmp_path / 'core.db'}"
    _source(core)
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.format(pass_through="true"))
    with tmpfs("1m") as where:
        target = f"sqlite:///{where / 'svc.db'}"
        with pytest.raises(DiskFull, match=rf"the file system holding {where}/svc\.db \(mounted at {where}\) is full"):
            api.db_copy(plan, core, {"svc": target})
        _copy_fails_then_resumes(core, target, plan, where, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("pass_through", [True, False], ids=["relay", "python"])
def test_postgresql_target_on_a_full_disk(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], pass_through: bool
) -> None:
    _source(postgres_url)
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.format(pass_through=str(pass_through).lower()))
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no local postgres user: the server is not on this machine")
    space = f"spinout_full_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with tmpfs("1m", owner="postgres") as where, postgres_database() as target:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE TABLESPACE {space} LOCATION '{where}'")
        except sa.exc.DBAPIError as exc:
            pytest.skip(f"the PostgreSQL server cannot use a tablespace here: {exc.orig}")
        try:
            with admin.connect() as conn:
                name = sa.make_url(target).database
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_tablespace = {space}')
            with pytest.raises(DiskFull, match=r"the disk of the database server at .* is full; .*No space left"):
                api.db_copy(plan, postgres_url, {"svc": target})
            _copy_fails_then_resumes(postgres_url, target, plan, where, capsys)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(target).database}" WITH (FORCE)')
                conn.exec_driver_sql(f"DROP TABLESPACE IF EXISTS {space}")
            admin.dispose()
