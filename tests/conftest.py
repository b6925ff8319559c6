"""Fixtures every stage reuses: RepoBuilder, throwaway databases on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.databases import mariadb_database, postgres_database
from tests.fixtures.repobuilder import RepoBuilder

BACKENDS = ["sqlite", "postgresql", "mariadb"]


@pytest.fixture
def repo_builder(tmp_path: Path) -> Callable[..., RepoBuilder]:
    """Factory: repo_builder("name") → a RepoBuilder on a fresh repository under tmp_path."""

    def make(name: str = "source", **kwargs: object) -> RepoBuilder:
        return RepoBuilder(tmp_path / name, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    with mariadb_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using it runs once per backend: SQLite, PostgreSQL, MariaDB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    elif request.param == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        with mariadb_database() as url:
            yield url
