"""`spinout.plan.places`: which directories spinout may write into or replace, on real paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from spinout.plan.places import removal_conflict, write_conflict


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "w" / "acme" / ".git").mkdir(parents=True)
    (tmp_path / "w" / "out").mkdir()
    (tmp_path / "w" / "out" / "core").symlink_to(tmp_path / "w" / "acme")
    (tmp_path / "w" / "out" / "up").symlink_to(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("directory", "write", "remove"),
    [
        ("w/out/lb", None, None),  # beside the source, inside the plan's folder: fine
        ("w/acme", "is the source repository", "is the source repository"),
        ("w/acme/.git", "is the source repository", "is the source repository"),
        ("w/acme/sub/x", "is inside the source repository", "is inside the source repository"),
        ("w/out/../acme", "is the source repository", "is the source repository"),
        ("w/out/core", "is the source repository", "is the source repository"),  # a link to the source
        ("w/out/core/x", "is inside the source repository", "is inside the source repository"),
        ("w/out/up", None, "contains the source repository"),  # a link to the folder above
        ("w", None, "contains the source repository"),
        ("", None, "contains the source repository"),
        ("w/acmex", None, None),  # a sibling sharing the name's start is not inside
    ],
)
def test_against_the_source(tree: Path, directory: str, write: str | None, remove: str | None) -> None:
    sources = [tree / "w" / "acme", tree / "w" / "acme" / ".git"]
    got_write = write_conflict(tree / directory, sources)
    got_remove = removal_conflict(tree / directory, sources, None)
    assert (got_write or "").startswith(write or "") and (got_write is None) == (write is None), got_write
    assert (got_remove or "").startswith(remove or "") and (got_remove is None) == (remove is None), got_remove


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        ("w/out/lb", None),
        ("w", "is the plan's folder"),
        ("", "contains the plan's folder"),
        ("w/out/up", "contains the plan's folder"),
    ],
)
def test_against_the_plans_folder(tree: Path, directory: str, expected: str | None) -> None:
    got = removal_conflict(tree / directory, [Path("/nonexistent/elsewhere")], tree / "w")
    assert (got or "").startswith(expected or "") and (got is None) == (expected is None), got
    assert write_conflict(tree / directory, [Path("/nonexistent/elsewhere")]) is None  # writing beside the plan is fine
