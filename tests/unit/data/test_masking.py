"""Credentials never shown: every form a database URL carries a password in, masked by `mask_url` and `scrub`.

The oracle is the secret itself: each form is built around a generated secret, and the masked text must not hold
it, nor any two of its letters/digits in a row (a partial leak, e.g. the `ss` of `p@ss` taken for the host).
The templates hold no capital letter and no digit, so any such pair in the output can only come from the secret.
"""

from __future__ import annotations

import re
import stat
import string
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import sqlalchemy as sa
from hypothesis import example, given
from hypothesis import strategies as st

from spinout.masking import mask_text, mask_url, scrub, secrets_of
from spinout.progress import Progress

SPECIALS = "@:/?=#%'\\!;,$+*()[]{}~"
_CORE = string.ascii_uppercase + string.digits


def _libpq(secret: str) -> str:
    escaped = secret.replace("\\", "\\\\").replace("'", "\\'")
    return f"host=db user=neutron password='{escaped}' dbname=neutron"


# How a user may write a password, each as a function of it. "raw" forms put the secret in unencoded, as people do
# (SQLAlchemy may then not parse the URL at all, or parse it wrongly); their secrets hold no '&' or whitespace,
# which end a query value or a keyword's value by definition.
FORMS: dict[str, Callable[[str], str]] = {
    "userinfo": lambda s: f"postgresql+psycopg://neutron:{quote(s, safe='')}@db/neutron",
    "userinfo-raw": lambda s: f"postgresql+psycopg://neutron:{s}@db/neutron",
    "query-password": lambda s: f"postgresql+psycopg://neutron@db/neutron?password={quote_plus(s)}&sslmode=require",
    "query-password-raw": lambda s: f"postgresql+psycopg://neutron@db/neutron?sslmode=require&password={s}",
    "mariadb-passwd": lambda s: f"mysql+pymysql://root@db/neutron?passwd={quote_plus(s)}&charset=utf8mb",
    "mariadb-password": lambda s: f"mysql+pymysql://root@db/neutron?charset=utf8mb&password={quote_plus(s)}",
    "sslpassword": lambda s: f"postgresql+psycopg://neutron@db/neutron?sslpassword={quote_plus(s)}",
    "no-scheme": lambda s: f"neutron:{s}@db/neutron",
    "libpq": _libpq,
    "odbc": lambda s: f"driver=x;server=db;pwd={s}",
}
RAW = {"userinfo-raw", "query-password-raw", "no-scheme", "odbc"}

secret_parts = st.text(alphabet=_CORE + SPECIALS, max_size=12)


def _secret(middle: str) -> str:
    return f"K9{middle}Z7"


def _leaks(text: str, secret: str) -> bool:
    return secret in text or re.search(r"[A-Z0-9]{2}", text) is not None


@pytest.mark.parametrize("form", sorted(FORMS))
@given(middle=secret_parts)
@example(middle="@SS")  # `user:p@ss@host`: SQLAlchemy splits at the first '@' and takes "SS@db" for the host
@example(middle="'\\X")  # a libpq quote and backslash
@example(middle="/A?B=C")
def test_mask_url_hides_every_form(form: str, middle: str) -> None:
    secret = _secret(middle)
    if form in RAW:
        secret = secret.replace("&", "").replace("#", "")
    url = FORMS[form](secret)
    shown = mask_url(url)
    assert not _leaks(shown, secret), (url, shown)
    assert "***" in shown
    # a driver's message quoting the password, or the whole URL, keeps none of it either
    said = scrub(f"connection failed: {url} rejected password {secret}, or {quote_plus(secret)}", [url])
    assert not _leaks(said, secret), said
    assert secret in secrets_of(url) or quote_plus(secret) in secrets_of(url) or form in RAW


def test_mask_url_keeps_what_is_not_a_credential() -> None:
    assert mask_url("postgresql+psycopg://neutron:hunter2@db:5432/neutron") == (
        "postgresql+psycopg://neutron:***@db:5432/neutron"
    )
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert mask_url("postgresql+psycopg://neutron@db/neutron?sslmode=require") == (
        "postgresql+psycopg://neutron@db/neutron?sslmode=require"
    )
    assert mask_url("mysql+pymysql://root@db/x?charset=utf8mb4&password=s3") == (
        "mysql+pymysql://root@db/x?charset=utf8mb4&password=***"
    )
    assert mask_url(sa.make_url("postgresql://u:pw@h/d")) == "postgresql://u:***@h/d"
    assert mask_url("postgresql://u:p@ss@h/d") == "postgresql://u:***@h/d"
    assert mask_url("u:pw@h/d") == "u:***@h/d"
    assert mask_url("host=h password='a b' dbname=d") == "host=h password=*** dbname=d"
    assert mask_text("Access denied for user 'root'@'localhost' (using password: YES)") == (
        "Access denied for user 'root'@'localhost' (using password: YES)"
    )


def test_scrub_replaces_the_passwords_of_the_urls_it_is_given() -> None:
    assert scrub("failed for neutron:hunter2", ["mysql+pymysql://neutron:hunter2@h/db"]) == "failed for neutron:***"
    assert scrub("auth hunter2 failed", ["postgresql://u@h/db?password=hunter2"]) == "auth *** failed"
    assert scrub("auth a b' c failed", ["host=h password='a b\\' c'"]) == "auth *** failed"


def test_the_upgrade_journal_is_private_and_masks_what_steps_report(tmp_path: Path) -> None:
    from spinout.errors import DataMismatch
    from spinout.inifiles.upgrade import JOURNAL, Step, run_upgrade

    secret = "Hunter2-Secret"
    url = f"postgresql://u@db/x?password={secret}"
    journal = tmp_path / JOURNAL
    journal.write_text('{"version": 1, "fingerprint": "fp", "steps": {}}')
    journal.chmod(0o644)  # as spinout used to write it

    def reports_a_url(progress: Progress) -> list[str]:
        return [f"copied into {url}", f"libpq: host=db password={secret}"]

    def fails_quoting_one(progress: Progress) -> list[str]:
        raise DataMismatch(f"the target {url.replace('?', ' ?')} said no to user:{secret}@db")

    steps = [Step("db-copy", "copy", reports_a_url), Step("db-verify", "verify", fails_quoting_one)]
    with pytest.raises(DataMismatch):
        run_upgrade(tmp_path, steps, "fp")
    text = journal.read_text()
    assert secret not in text
    assert "password=***" in text and "user:***@db" in text
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
