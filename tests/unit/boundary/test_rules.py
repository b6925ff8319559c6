"""The pure rules: which moved modules are protected, and which core modules are a forbidden contract's sources."""

from __future__ import annotations

from spinout.boundary.contracts import collapse_moved, core_sources

PRESENT = {"a", "a.s", "a.s.x", "a.s.y", "a.t", "a.t.z", "a.t.w", "a.p", "a.p.m", "a.p.k"}


def test_moved_modules_collapse_to_the_top_most_wholly_moved_packages() -> None:
    out, warnings = collapse_moved({"a.s", "a.s.x", "a.s.y", "a.t.z", "gone.module"}, PRESENT)
    assert out == ["a.s", "a.t.z"]  # a.t stays (a.t.w stays with it); modules absent from the tree are ignored
    assert warnings == []


def test_a_moved_package_init_with_a_staying_module_is_not_protected_whole() -> None:
    out, warnings = collapse_moved({"a.p", "a.p.m"}, PRESENT)
    assert out == ["a.p.m"]
    assert len(warnings) == 1 and "a.p moves but a.p.k under it stays" in warnings[0]


def test_forbidden_sources_are_the_largest_clean_subpackages_and_the_mixed_inits() -> None:
    present = {"a", "a.b", "a.b.c", "a.s", "a.s.x", "a.m", "a.m.k", "a.m.s", "a.m.s.q", "a.z"}
    packages, mixed = core_sources("a", present, ["a.s", "a.m.s"])
    assert packages == ["a.b", "a.m.k", "a.z"]
    assert mixed == ["a", "a.m"]  # the root is never a package source


def test_without_protected_modules_in_the_tree_the_root_still_is_no_package_source() -> None:
    packages, mixed = core_sources("a", {"a", "a.b", "a.c"}, [])
    assert (packages, mixed) == (["a.b", "a.c"], ["a"])
