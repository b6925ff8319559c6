"""The shared fixtures work: deterministic RepoBuilder ids, real throwaway databases."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from tests.fixtures.repobuilder import RepoBuilder


def _history(b: RepoBuilder) -> str:
    c1 = b.commit("one", {"a/x.py": "x = 1\n", "README": "hi\n"})
    b.commit("two", {"a/x.py": None, "a/y.py": "y\n"})
    b.branch("feature", c1)
    b.commit("three", {"b/z.py": "z\n"}, branch="feature")
    b.tag("v1", c1, message="release 1\n")
    return str(b.head())


def test_repo_builder_is_deterministic(repo_builder: Callable[..., RepoBuilder]) -> None:
    first = _history(repo_builder("one"))
    second = _history(repo_builder("two"))
    assert first == second


def test_repo_builder_applies_changes(repo_builder: Callable[..., RepoBuilder]) -> None:
    b = repo_builder()
    _history(b)
    tree = b.repo[b.head()].peel(2)  # tree
    assert sorted(e.name for e in tree) == ["README", "a"]
    assert [e.name for e in b.repo[tree["a"].id]] == ["y.py"]
    assert b.repo.references.get("refs/tags/v1") is not None


def _roundtrip(url: str) -> list[tuple[int, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(10))"))
            conn.execute(sa.text("INSERT INTO t VALUES (1, 'é'), (2, 'b')"))
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text("SELECT id, v FROM t ORDER BY id"))]  # type: ignore[misc]
    finally:
        engine.dispose()


def test_each_backend_gives_a_fresh_database(db_url: str) -> None:
    assert _roundtrip(db_url) == [(1, "é"), (2, "b")]


def _closed_port_database() -> None:
    from tests.fixtures.databases import _server_database

    with _server_database(
        "postgresql+psycopg://postgres@127.0.0.1:1/postgres?connect_timeout=2", "nothing", "SELECT 1", "SELECT 1"
    ):
        raise AssertionError("a database on a closed port was handed out")


def test_unreachable_server_skips_without_the_requirement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPINOUT_REQUIRE_DBS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not reachable"):
        _closed_port_database()


def test_unreachable_server_fails_when_databases_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINOUT_REQUIRE_DBS", "1")
    with pytest.raises(pytest.fail.Exception, match="SPINOUT_REQUIRE_DBS=1 but nothing is not reachable"):
        _closed_port_database()
