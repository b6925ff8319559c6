"""The pure path rules, and the engine's memoized tree filter against the path-by-path reference."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pygit2
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.history.histories import write_tree

from spinout.history.pack import PackSink
from spinout.history.rewrite import TreeFilter
from spinout.history.router import Rules, core_rules, old_name_map
from spinout.history.split import TargetSpec
from spinout.history.verify import expected_tree
from spinout.plan.model import Plan


def test_directory_and_file_paths() -> None:
    r = Rules.build("s", ["acme/lb/", "tox.ini"])
    assert r.target_path("acme/lb/x.py") == "acme/lb/x.py"
    assert r.target_path("acme/lbx/y.py") is None  # a directory path is not a string prefix
    assert r.target_path("tox.ini") == "tox.ini"
    assert r.target_path("tox.ini.bak") is None
    assert r.target_path("README") is None


def test_longest_rename_wins_and_file_renames_are_exact() -> None:
    r = Rules.build("s", ["acme/"], {"acme/": "acme_lb/", "acme/db/": "acme_lb/db_lb/", "acme/a.py": "b.py"})
    assert r.target_path("acme/x.py") == "acme_lb/x.py"
    assert r.target_path("acme/db/m.py") == "acme_lb/db_lb/m.py"
    assert r.target_path("acme/a.py") == "b.py"
    assert r.target_path("acme/a.pyc") == "acme_lb/a.pyc"


def test_old_names_keep_the_names_they_had_then_through_the_renames() -> None:
    earlier = {"neutron/services/lb/x.py": ["quantum/services/lb/x.py", "neutron/lb_old.py"]}
    r = Rules.build(
        "lb",
        ["neutron/services/lb/"],
        {"neutron/": "neutron_lbaas/"},
        old_names=old_name_map(earlier),
    )
    assert r.target_path("quantum/services/lb/x.py") == "quantum/services/lb/x.py"  # no rename covers it
    assert r.target_path("neutron/lb_old.py") == "neutron_lbaas/lb_old.py"  # the plan's rename applies
    assert r.target_path("neutron/services/lb/x.py") == "neutron_lbaas/services/lb/x.py"
    assert r.target_path("quantum/services/lb/y.py") is None  # only the files that became kept files


def test_old_name_already_kept_keeps_its_own_rules() -> None:
    r = Rules.build("s", ["a/"], {"a/": "b/"}, old_names={"a/old.py": "a/new.py"})
    assert r.target_path("a/old.py") == "b/old.py"


def test_core_complement_keeps_shared_paths() -> None:
    plan = Plan.model_validate(
        {
            "source": {"repo": "."},
            "core": {"name": "acme", "package": "acme"},
            "service": [
                {"name": "lb", "package": "lb", "paths": ["acme/lb/", "tox.ini"], "shared": ["tox.ini"]},
                {"name": "fw", "package": "fw", "paths": ["acme/fw/", "etc/fw.ini"]},
            ],
        }
    )
    r = core_rules(plan)
    assert r.target_path("acme/lb/x.py") is None
    assert r.target_path("etc/fw.ini") is None
    assert r.target_path("etc/other.ini") == "etc/other.ini"
    assert r.target_path("tox.ini") == "tox.ini"
    assert r.target_path("acme/core.py") == "acme/core.py"


FILES = ["a/x", "a/y", "a/s/z", "a/s/t/u", "b/x", "c", "d/e", "a/n\udce9"]
RULES = [
    Rules.build("1", ["a/"]),
    Rules.build("2", ["a/s/", "c"], {"a/s/": "s/"}),
    Rules.build("3", ["a/", "b/"], {"a/": "", "a/s/": "deep/s/"}),
    Rules.build("4", ["a/s/", "b/x"], invert=True),
    Rules.build("5", ["a/"], {"a/": "z/"}, old_names={"b/x": "a/x", "c": "a/y"}),
    Rules.build("6", ["a/s/t/", "d/e"], {"a/s/t/": "t/", "d/e": "e"}),
]


@settings(max_examples=150, deadline=None)
@given(
    files=st.dictionaries(st.sampled_from(FILES), st.sampled_from([b"1", b"2"]), min_size=1),
    rule_index=st.integers(0, len(RULES) - 1),
)
def test_tree_filter_equals_path_by_path_reference(files: dict[str, bytes], rule_index: int) -> None:
    rules = RULES[rule_index]
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.init_repository(tmp, bare=True)
        tree = write_tree(repo, {k.encode("utf-8", "surrogateescape"): v for k, v in files.items()})
        sink = PackSink(Path(tmp))
        try:
            got = TreeFilter(repo, rules, sink).filter_root(tree)
        finally:
            sink.abort()
        spec = TargetSpec("t", Path(tmp), rules, ("refs/heads/*",), "refs/heads/main")
        assert got == expected_tree(repo, spec, pygit2.Oid(raw=tree))
