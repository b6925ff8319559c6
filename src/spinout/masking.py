"""Credentials kept out of everything spinout shows or writes: database URLs, and any text that may quote one.

The forms a credential takes in what users pass as a database URL, all masked as `***`:

- the password of a URL's `user:password@` — also when it holds `@`, `:` or `/` (SQLAlchemy then splits the URL at
  the first `@` and takes the rest of the password for the host), and in a URL without a scheme (`user:pw@host/db`);
- a password in the query: `?password=`, `?passwd=` (PyMySQL, MariaDB), `?pwd=`, `?sslpassword=`, and any other key
  naming a password, secret or token;
- libpq keyword strings (`host=db password='a b' dbname=x`) and ODBC-style `PWD=...;` strings.

Masking errs towards hiding: a value it cannot tell apart from a credential is hidden too. Everything here is pure
(strings in, strings out); `mask_url` shows a URL, `scrub` cleans a message (a driver's error) that may quote the
credentials of some URLs, `mask_text` cleans any text without knowing the URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"

# A key that names a credential: password, passwd, pwd, sslpassword, db_password, secret, auth_token, ...
_KEY = r"[\w.\-]*(?:password|passwd|pwd|secret|token)[\w.\-]*"
# key=value, with the value quoted (libpq: single quotes, backslash escapes) or running to whitespace or '&'
_KEY_VALUE = re.compile(
    rf"""(?ix)
    (?<![\w.\-])(?P<key>{_KEY})
    (?P<eq>\s*=\s*)
    (?P<value>'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s&]*)
    """
)
# a run of a message that may be a URL: no whitespace, quotes or angle brackets (a message quotes what it names)
_TOKEN = re.compile(r"""[^\s'"<>`]+""")
# a run of a URL as given: a raw password may hold quotes
_WORD = re.compile(r"\S+")


def is_credential_key(key: str) -> bool:
    return re.fullmatch(_KEY, key, re.IGNORECASE) is not None


def _after_scheme(token: str) -> int:
    """Where the part after `scheme://` begins: a scheme is the text before the token's first ':' when '//'
    follows it (in `user:pw://x@host` the '://' is part of the password)."""
    colon = token.find(":")
    return colon + 3 if colon >= 0 and token.startswith("//", colon + 1) else 0


def _mask_userinfo(token: str) -> str:
    """`scheme://user:password@host...` or `user:password@host...` with the password masked. The password runs
    to the token's *last* '@' (a password may hold '@'; a host never does)."""
    start = _after_scheme(token)
    at = token.rfind("@")
    if at <= start:
        return token
    colon = token.find(":", start, at)
    if colon < 0:
        return token  # a user name without a password
    return f"{token[: colon + 1]}{MASK}{token[at:]}"


def mask_text(text: str, tokens: re.Pattern[str] = _TOKEN) -> str:
    """`text` with every credential it may quote masked: `key=value` pairs naming a password, and the password of
    anything URL-like (`user:password@`). Applied to messages, and to URLs that do not parse."""
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{m['eq']}{MASK}", text)
    return tokens.sub(lambda m: _mask_userinfo(m.group(0)), text)


def _mask_value(value: str | tuple[str, ...]) -> str | tuple[str, ...]:
    return mask_text(value) if isinstance(value, str) else tuple(mask_text(v) for v in value)


def mask_url(url: Any) -> str:
    """A database URL (a string or a SQLAlchemy URL) as it may be shown: every credential replaced by '***'."""
    from sqlalchemy.engine import make_url

    raw = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy reads: mask whatever in it looks like a credential
        return mask_text(raw, _WORD)
    if raw.count("@") > 1:
        # `user:p@ss@host`: SQLAlchemy splits at the first '@', and takes the rest of the password for the host or
        # the database: mask up to the last '@' instead
        return mask_text(raw, _WORD)
    query = {k: (MASK if is_credential_key(k) else _mask_value(v)) for k, v in parsed.query.items()}
    shown = parsed.set(query=query).render_as_string(hide_password=True)
    # the query renders URL-quoted ('***' as %2A%2A%2A); and a value may itself be a keyword string
    shown = shown.replace("%2A%2A%2A", MASK)
    return mask_text(shown) if "=" in shown else shown


def secrets_of(url: Any) -> list[str]:
    """The credential values in `url` as they may appear verbatim in a driver's message, longest first."""
    from sqlalchemy.engine import make_url

    text = str(url) if not hasattr(url, "render_as_string") else url.render_as_string(hide_password=False)
    found: set[str] = set()
    for m in _KEY_VALUE.finditer(text):
        value = m["value"]
        found.add(value)
        if len(value) >= 2 and value[0] in "'\"":
            inner = value[1:-1] if value[-1] == value[0] else value[1:]
            found.update([inner, re.sub(r"\\(.)", r"\1", inner)])  # as written, and as libpq reads it
    for m in _WORD.finditer(text):
        token = m.group(0)
        masked = _mask_userinfo(token)
        if masked != token:
            start = _after_scheme(token)
            found.add(token[token.find(":", start) + 1 : token.rfind("@")])
    try:
        parsed = make_url(url)
    except Exception:
        parsed = None
    if parsed is not None:
        if parsed.password:
            found.add(str(parsed.password))
        for key, value in parsed.query.items():
            if is_credential_key(key):
                found.update([value] if isinstance(value, str) else value)
    # as a URL spells them too (a message may quote the URL as given)
    found |= {quote(s, safe="") for s in found} | {quote_plus(s) for s in found}
    return sorted((s for s in found if s), key=len, reverse=True)


def scrub(text: str, urls: Iterable[Any]) -> str:
    """A message (e.g. a database driver's error) with the credentials of `urls` removed wherever it quotes them,
    and anything else that looks like a credential masked."""
    for url in urls:
        for secret in secrets_of(url):
            text = text.replace(secret, MASK)
    return mask_text(text)
