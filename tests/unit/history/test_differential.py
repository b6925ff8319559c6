"""Differential tests: spinout's commit ids and refs equal git filter-repo's, on hand-built and generated
histories (git filter-repo is the oracle; see docs/history.md for the deliberate differences)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.history.histories import FILTERS, build_history, histories
from tests.unit.history.oracle import filter_repo, spinout_split

from spinout.history.router import Rules

SCALE = int(os.environ.get("SPINOUT_HEAVY_SCALE", "1"))


def _check(program: list, filter_index: int) -> None:  # type: ignore[type-arg]
    paths, renames = FILTERS[filter_index]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        built = build_history(work / "src.git", program)
        expected_map, expected_refs = filter_repo(built.path, work / "fr", paths, renames)
        got_map, got_refs, _ = spinout_split(built.path, work / "sp", Rules.build("t", paths, renames))
        assert got_map == expected_map
        assert got_refs == expected_refs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=histories, filter_index=st.integers(0, len(FILTERS) - 1))
def test_generated_histories_match_filter_repo(program: list, filter_index: int) -> None:  # type: ignore[type-arg]
    _check(program, filter_index)


@pytest.mark.heavy
@settings(max_examples=250 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=histories, filter_index=st.integers(0, len(FILTERS) - 1))
def test_many_generated_histories_match_filter_repo(program: list, filter_index: int) -> None:  # type: ignore[type-arg]
    _check(program, filter_index)
