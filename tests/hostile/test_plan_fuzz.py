"""Generated plan files (issue 17's goal): `plan check` on any file — valid plans, broken TOML, hostile strings, wrong
types, deep nesting, bytes that are not UTF-8 — ends with 0 (valid) or 2 (plan problems, located), never 70, never
hangs, prints one JSON object with --json, and writes nothing.

Two generators: structured mutations of the corpus's base plan (a value replaced by a hostile one, a key dropped or
added, an item added to a list), written out as TOML; and raw mutations of the base plan's bytes. Hypothesis picks
a new seed on every run, so CI explores new plans each time (SPINOUT_PROPERTY_EXAMPLES sets the count).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import os
import re
import tomllib
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from spinout.cli import main
from spinout.plan.model import Boundary, Code, ConfigRule, Core, CoreSetting, Database, Output, Plan, Service, Source
from tests.fixtures.repobuilder import RepoBuilder
from tests.fixtures.snapshot import changes, snapshot
from tests.unit.plan.test_plan_corpus import ASSETS, build_source

_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}
EXAMPLES = int(os.environ.get("SPINOUT_PROPERTY_EXAMPLES", "60")) * 3
BASE_TEXT = (ASSETS / "good" / "base.toml").read_text()
BASE = tomllib.loads(BASE_TEXT)

# --- a TOML writer for any value the generators make ---------------------------------------------------------------

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _string(value: str) -> str:
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else _string(key)


class Huge:
    """An integer of 4,100 hex digits (about 5,000 decimal ones), more than Python prints: written as hex."""

    def __repr__(self) -> str:
        return "HUGE"


HUGE = Huge()


def _value(value: Any) -> str:
    if isinstance(value, Huge):
        return "0x" + "f" * 4100
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def to_toml(data: dict[str, Any]) -> str:
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not _is_table(v)]
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"\n[{_key(key)}]")
            lines.extend(f"{_key(k)} = {_value(v)}" for k, v in value.items())
        elif _is_table(value):
            for item in value:
                lines.append(f"\n[[{_key(key)}]]")
                lines.extend(f"{_key(k)} = {_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    )


# --- hostile values ----------------------------------------------------------------------------------------------

PIECES = [
    "\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\u2028", "\u202e", "\u200d", "\ufeff", "\uff4c", "\u0130",
    "ß", "é", "/", "\\", ".", "..", "*", "?", "[", "]", "{", "}", '"', "'", "#", "=", ":", "~", "@{", " ", "-", "_",
    "a", "Z", "0", ".git", ".GIT", "git~1", ".git.", "acme", "acme/", "refs/heads/", "refs/tags/*", "->", "lb",
]  # fmt: skip
hostile_text = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=10).map("".join),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    st.integers(100, 3000).map(lambda n: "a/" * n),
    st.integers(250, 5000).map(lambda n: "x" * n),
)
scalars = st.one_of(
    hostile_text,
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 10**30, 2**63]),
    st.just(HUGE),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)


# every key a plan table may have, so that optional ones (earlier_names_add, settings, ...) are generated too
KNOWN_KEYS = sorted(
    {
        name if info.alias is None else info.alias
        for model in (Plan, Source, Output, Core, Service, ConfigRule, Boundary, Database, Code, CoreSetting)
        for name, info in model.model_fields.items()
    }
)


def _slots(data: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in `data` a value sits: dict keys and list indexes."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*at, k)
            yield from _slots(v, (*at, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield (*at, i)
            yield from _slots(v, (*at, i))


def _parent(data: Any, slot: tuple[Any, ...]) -> Any:
    for part in slot[:-1]:
        data = data[part]
    return data


@st.composite
def mutated_plans(draw: st.DrawFn) -> dict[str, Any]:
    data = json.loads(json.dumps(BASE))  # a deep copy
    for _ in range(draw(st.integers(1, 4))):
        slots = list(_slots(data))
        slot = draw(st.sampled_from(slots))
        parent, last = _parent(data, slot), slot[-1]
        action = draw(st.sampled_from(["replace", "drop", "add key", "add item"]))
        if action == "replace":
            parent[last] = draw(values)
        elif action == "drop":
            del parent[last]
        elif action == "add key" and isinstance(parent, dict):
            parent[draw(hostile_text | st.sampled_from(KNOWN_KEYS))] = draw(values)
        elif action == "add item" and isinstance(parent[last], list):
            parent[last].append(draw(hostile_text | values))
    return data


@st.composite
def raw_plans(draw: st.DrawFn) -> bytes:
    raw = bytearray(BASE_TEXT.encode())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["insert", "delete", "bytes", "nest"]))
        if kind == "insert":
            raw[at:at] = draw(hostile_text).encode("utf-8")
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 40))]
        elif kind == "bytes":
            raw[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            n = draw(st.integers(1, 2000))
            raw[at:at] = draw(st.sampled_from([b"[" * n + b"]" * n, b"{a=" * n + b"1" + b"}" * n, b"a." * n]))
    return bytes(raw)


# --- the property ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    build_source(RepoBuilder(root / "source"))
    (root / "notgit").mkdir()
    return root


def _check(workdir: Path, content: bytes, as_json: bool) -> None:
    plan = workdir / "plan.toml"
    plan.write_bytes(content)
    before = snapshot(workdir)
    out, err = io.StringIO(), io.StringIO()
    args = ["plan", "check", str(plan), "--debug", *(["--json"] if as_json else [])]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    event(f"exit {code}")
    assert code in (0, 2), f"exit {code}\n{err.getvalue()}\nplan:\n{content[:2000]!r}"
    assert "internal error" not in err.getvalue()
    if as_json:
        data = json.loads(out.getvalue())
        assert data["ok"] is (code == 0)
    # no control or invisible character of the plan reaches the terminal raw (messages quote with repr)
    leaked = [ch for ch in out.getvalue() + err.getvalue() if ch != "\n" and unicodedata.category(ch) in _INVISIBLE]
    assert not leaked, f"{leaked!r} in\n{err.getvalue()}"
    assert changes(before, snapshot(workdir)) == []


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan=mutated_plans(), as_json=st.booleans())
def test_generated_plans_never_crash_nor_write(workdir: Path, plan: dict[str, Any], as_json: bool) -> None:
    _check(workdir, to_toml(plan).encode("utf-8"), as_json)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(content=raw_plans(), as_json=st.booleans())
def test_mutated_bytes_never_crash_nor_write(workdir: Path, content: bytes, as_json: bool) -> None:
    _check(workdir, content, as_json)


def test_the_writer_round_trips_the_base_plan() -> None:
    """The generators' TOML writer is faithful (else the fuzzing would test the writer, not the plan check)."""
    assert tomllib.loads(to_toml(BASE)) == BASE
    odd = {"k": ['\x00\n\u2028"\\', 2**70, -0.0, math.inf], "t": {"a b": {"c": True}}}
    assert tomllib.loads(to_toml(odd)) == odd
