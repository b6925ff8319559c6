"""The checksum's normalization and combination, and the copy's checkpoint keys and keyset predicate."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from spinout.data.reconcile import canonical, combine, row_hash
from spinout.data.transfer import _bounded, after_key, decode_key, encode_key


def test_equal_values_from_different_drivers_normalize_alike() -> None:
    # MariaDB returns booleans as 0/1, SQLite numerics as floats, PostgreSQL as Decimals with their scale
    assert canonical(True) == canonical(1) == canonical(decimal.Decimal("1.00")) == canonical(1.0)
    assert canonical(decimal.Decimal("2.50")) == canonical(2.5)
    assert canonical(decimal.Decimal("100")) == canonical(100)
    assert canonical(memoryview(b"\x00\xff")) == canonical(b"\x00\xff") == canonical(bytearray(b"\x00\xff"))
    aware = dt.datetime(2014, 12, 5, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert canonical(aware) == canonical(dt.datetime(2014, 12, 5, 10, 0))
    u = uuid.UUID(int=5)
    assert canonical(u) == canonical(str(u))


def test_different_values_stay_different() -> None:
    values: list[Any] = [None, "", "1", 1, 0, "None", b"1", dt.date(2014, 1, 1), "2014-01-01", 2**70, 2**70 + 1]
    assert len({canonical(v) for v in values}) == len(values)
    assert row_hash(("ab", "c")) != row_hash(("a", "bc"))
    assert row_hash((None, "x")) != row_hash(("x", None))


rows_strategy = st.lists(
    st.tuples(st.integers(-(2**63), 2**63 - 1), st.text(max_size=8), st.none() | st.booleans()), max_size=30
)


@given(rows_strategy, st.randoms())
def test_checksum_ignores_row_order(rows: list[tuple[Any, ...]], rnd: Any) -> None:
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert combine(map(row_hash, rows)) == combine(map(row_hash, shuffled))


@given(rows_strategy.filter(bool))
def test_checksum_sees_a_duplicated_or_missing_row(rows: list[tuple[Any, ...]]) -> None:
    whole = combine(map(row_hash, rows))
    assert combine(map(row_hash, [*rows, rows[0]])) != whole
    assert combine(map(row_hash, rows[1:])) != whole


key_values = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.text(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.datetimes(),
    st.dates(),
    st.binary(max_size=16),
    st.uuids(),
    st.booleans(),
)


@given(st.lists(key_values, min_size=1, max_size=4))
def test_checkpoint_keys_round_trip(values: list[Any]) -> None:
    decoded = decode_key(encode_key(values))
    assert decoded == values
    assert [type(v) for v in decoded] == [type(v) for v in values]


@given(
    st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["a", "b", "c"])), unique=True, max_size=20),
    st.tuples(st.integers(0, 4), st.sampled_from(["a", "b", "c"])),
)
def test_keyset_predicate_matches_tuple_order(keys: list[tuple[int, str]], last: tuple[int, str]) -> None:
    """The database evaluates `after_key`; Python's tuple comparison is the oracle."""
    engine = sa.create_engine("sqlite://")
    md = sa.MetaData()
    t = sa.Table("t", md, sa.Column("a", sa.Integer, primary_key=True), sa.Column("b", sa.String, primary_key=True))
    md.create_all(engine)
    with engine.begin() as conn:
        if keys:
            conn.execute(t.insert(), [{"a": a, "b": b} for a, b in keys])
        got = conn.execute(sa.select(t.c.a, t.c.b).where(after_key([t.c.a, t.c.b], list(last)))).all()
    engine.dispose()
    assert sorted(tuple(r) for r in got) == sorted(k for k in keys if k > last)


_KEY = st.tuples(st.integers(0, 4), st.sampled_from(["a", "b", "c"]))


@given(st.lists(_KEY, unique=True, max_size=20), st.one_of(st.none(), _KEY), _KEY)
def test_batch_range_matches_tuple_order(
    keys: list[tuple[int, str]], last: tuple[int, str] | None, high: tuple[int, str]
) -> None:
    """A pass-through batch takes the keys in (last, high]: the database evaluates `_bounded`, Python's tuple
    comparison is the oracle (the redundant `a <= high.a` must not drop a key)."""
    engine = sa.create_engine("sqlite://")
    md = sa.MetaData()
    t = sa.Table("t", md, sa.Column("a", sa.Integer, primary_key=True), sa.Column("b", sa.String, primary_key=True))
    md.create_all(engine)
    with engine.begin() as conn:
        if keys:
            conn.execute(t.insert(), [{"a": a, "b": b} for a, b in keys])
        where = _bounded(t, ["a", "b"], None if last is None else list(last), list(high))
        got = conn.execute(sa.select(t.c.a, t.c.b).where(where)).all()
    engine.dispose()
    assert sorted(tuple(r) for r in got) == sorted(k for k in keys if (last is None or k > last) and k <= high)
