"""No password leaves spinout: stdout, `--json`, error messages and the upgrade journal, for every credential form.

Issue 17, 3.14: a password in a URL's query (`?password=`, MariaDB's too) was shown everywhere and written into the
0644 upgrade journal; a URL without a scheme was echoed whole in the error; a malformed `--service-db-url` exited 70.
The servers here trust local connections, so a PostgreSQL URL may carry any password; on MariaDB a user with a
password is created for the test.
"""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from spinout.cli import main
from spinout.inifiles.upgrade import JOURNAL
from spinout.sample import build_sample
from tests.fixtures import neutron_db
from tests.fixtures.databases import MARIADB_ADMIN_URL
from tests.fixtures.datahelpers import sibling_database, write_plan

SECRET = "S3cr3t-" + uuid.uuid4().hex[:8]

MALFORMED = {
    "no-scheme": f"neutron:{SECRET}@db/neutron",
    "libpq": f"host=db user=neutron password={SECRET} dbname=neutron",
    "bad-port": f"postgresql+psycopg://neutron:{SECRET}@db:five/neutron",
}


@pytest.mark.parametrize("form", sorted(MALFORMED))
def test_a_malformed_url_is_a_located_exit_2_without_the_password(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    core = f"sqlite:///{tmp_path / 'core.db'}"
    neutron_db.create(core, 2)
    plan = write_plan(tmp_path, services=("lbaas",))
    bad = MALFORMED[form]
    for option, args in (
        ("--service-db-url", ["--db-url", core, "--service-db-url", f"neutron-lbaas={bad}"]),
        ("--db-url", ["--db-url", bad, "--service-db-url", f"neutron-lbaas=sqlite:///{tmp_path / 'lb.db'}"]),
    ):
        for command in (["db", "copy"], ["db", "verify"]):
            code = main([*command, str(plan), *args, "--json"])
            out, err = capsys.readouterr()
            assert code == 2, (command, option, out, err)
            assert SECRET not in out + err
            payload = json.loads(out)
            assert payload["error"] == "PlanError"
            assert [p["location"] for p in payload["problems"]] == [option]
            assert "is not a database URL" in payload["problems"][0]["message"]
            assert "***" in payload["problems"][0]["message"]


def test_upgrade_refuses_a_malformed_service_url_before_any_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = build_sample(tmp_path / "sample", commits=60, rows=20)
    before = (info.config_dir / "acme.conf").read_text()
    args = ["upgrade", str(info.plan), "--config-dir", str(info.config_dir), "--db-url", info.database_url]
    code = main([*args, "--service-db-url", f"acme-lb={MALFORMED['no-scheme']}", "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and SECRET not in out + err
    assert json.loads(out)["problems"][0]["location"] == "--service-db-url"
    assert (info.config_dir / "acme.conf").read_text() == before  # no step ran
    assert not (info.config_dir / JOURNAL).exists()


@pytest.mark.slow
def test_upgrade_journal_is_private_and_holds_no_password(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = build_sample(tmp_path / "sample", commits=60, rows=20)
    with sibling_database(postgres_url, tmp_path, "fw") as fw, sibling_database(postgres_url, tmp_path, "vpn") as vpn:

        def urls(tag: str) -> dict[str, str]:
            lb = sa.make_url(postgres_url).set(password=f"{tag}User")  # user:password@; the fixture's database
            return {
                "acme-lb": lb.render_as_string(hide_password=False),
                "acme-fw": f"{fw}?password={tag}Query",  # psycopg reads a password from the query
                "acme-vpn": sa.make_url(vpn).set(password=f"{tag}@At").render_as_string(hide_password=False),
            }

        def upgrade(tag: str) -> tuple[int, str]:
            args = ["upgrade", str(info.plan), "--config-dir", str(info.config_dir), "--db-url", info.database_url]
            for name, url in urls(tag).items():
                args += ["--service-db-url", f"{name}={url}"]
            code = main([*args, "--json"])
            out, err = capsys.readouterr()
            return code, out + err

        code, shown = upgrade(SECRET)
        assert code == 0, shown
        assert SECRET not in shown and "password=***" in shown
        journal = info.config_dir / JOURNAL
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
        text = journal.read_text()
        assert SECRET not in text
        assert "password=***" in text  # the step lines name the databases, masked
        # the fingerprint ignores credentials: the same upgrade with a changed password is the same upgrade
        code, shown = upgrade("Other-" + SECRET)
        assert code == 0, shown
        assert "[done] db-strip" in shown or '"status": "done"' in shown
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:'passwd' is deprecated:DeprecationWarning")
def test_mariadb_query_passwords_are_masked(
    mariadb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = f"spinout_pw_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(MARIADB_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE USER '{user}'@'%%' IDENTIFIED BY '{SECRET}'")
        conn.exec_driver_sql(f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%%'")
    try:
        neutron_db.create(mariadb_url, 3)
        plan = write_plan(tmp_path, services=("fwaas",))
        with sibling_database(mariadb_url, tmp_path, "fw") as fw:
            for key in ("password", "passwd"):  # PyMySQL reads either from the query
                core = sa.make_url(mariadb_url).set(username=user).update_query_dict({key: SECRET})
                target = sa.make_url(fw).set(username=user).update_query_dict({key: SECRET})
                urls = [core.render_as_string(hide_password=False), target.render_as_string(hide_password=False)]
                args = ["--db-url", urls[0], "--service-db-url", f"neutron-fwaas={urls[1]}", "--json"]
                assert main(["db", "plan", str(plan), args[0], args[1], "--json"]) == 0
                out, err = capsys.readouterr()
                assert SECRET not in out + err and json.loads(out)["database"].endswith(f"{key}=***")
                assert main(["db", "copy", str(plan), *args]) == 0
                out, err = capsys.readouterr()
                assert SECRET not in out + err
                shown = sa.make_url(fw).set(username=user).render_as_string(hide_password=False)
                assert list(json.loads(out)["targets"].values()) == [f"{shown}&{key}=***"]
                # a wrong password: the driver's error, masked
                wrong = core.update_query_dict({key: SECRET + "x"}).render_as_string(hide_password=False)
                assert main(["db", "plan", str(plan), "--db-url", wrong, "--json"]) == 4
                out, err = capsys.readouterr()
                assert SECRET not in out + err and "Access denied" in out + err
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP USER '{user}'@'%%'")
        admin.dispose()
