"""follow_renames and trivial files: an empty or license-only file is followed only where its path corroborates
the pairing (docs/follow_renames.md, "Trivial files").

The two noise cases of issue 12 are reduced here to generated histories of the same shape, each checked against
git (which makes the noisy pairing) and against spinout's rule (which does not); the cases where the paths do
corroborate the pairing must still be followed. Most scenarios run in the split's mode (`copies=False`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.fixtures.repobuilder import RepoBuilder

from spinout.history.renames import EarlierNames, find_earlier_names, follow_renames, follow_renames_with_state
from spinout.history.similarity import is_trivial
from spinout.plan.model import Core, Plan, Service, Source

Builder = Callable[..., RepoBuilder]

LICENSE = "".join(
    f"# {line}\n"
    for line in [
        "Copyright 2013 OpenStack Foundation",
        "",
        "Licensed under the Apache License, Version 2.0 (the 'License'); you may",
        "not use this file except in compliance with the License. You may obtain",
        "a copy of the License at http://www.apache.org/licenses/LICENSE-2.0",
    ]
)


def lines(n: int, tag: str) -> str:
    return "".join(f"{tag} {i} of a file long enough to compare\n" for i in range(n))


def git_follow(repo: Path, tip: str, path: str) -> set[str]:
    """The names `git log --follow` prints for `path` (git's --follow always searches copies too)."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--follow", "--name-only", "--format=", tip, "--", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line for line in out.splitlines() if line}


def plan_for(b: RepoBuilder, *services: Service) -> Plan:
    return Plan(source=Source(repo=str(b.path)), core=Core(name="proj", package="proj"), service=list(services))


def service(name: str, paths: list[str], **extra: object) -> Service:
    return Service(name=name, package=name.replace("-", "_"), paths=paths, follow_renames=True, **extra)  # type: ignore[arg-type]


# --- what a trivial file is ---------------------------------------------------------------------------------------


def test_trivial_files_are_empty_or_comments_with_at_most_16_bytes_else() -> None:
    assert is_trivial(b"")
    assert is_trivial(b"\n\n  \n")
    assert is_trivial(LICENSE.encode())
    assert is_trivial(LICENSE.encode() + b"\n__all__ = []\n")  # 12 bytes of code
    assert is_trivial(b"   pass   \n" + b"#" * 4000 + b"\n")  # surrounding whitespace is not counted
    assert not is_trivial(b"#" * 4097)  # a trivial file is small
    assert is_trivial(b"x" * 16)
    assert not is_trivial(b"x" * 17)
    assert not is_trivial(b"import gettext\ngettext.install('neutron')\n")
    assert not is_trivial(LICENSE.encode() + b"def f():\n    return 42\n")  # 8 + 9 bytes
    assert not is_trivial(b"\0")  # binary content is not trivial unless empty


# --- the two noise cases ------------------------------------------------------------------------------------------


def _neutron_fwaas_shape(b: RepoBuilder) -> str:
    """LBaaS's package moves while FWaaS is created beside it; later VPNaaS appears as an unrelated package goes.

    Every package's __init__.py is the same license header, so git pairs FWaaS's and VPNaaS's with LBaaS's and the
    deleted package's: the noise on neutron-fwaas at the Kilo split base (quantum/db/loadbalancer/__init__.py).
    """
    b.commit("lb", {"proj/__init__.py": "", "proj/lb/__init__.py": LICENSE, "proj/lb/db.py": lines(12, "lb")})
    b.commit("lb work", {"proj/lb/db.py": lines(13, "lb")})
    b.commit(
        "move lb, add fw",
        {
            "proj/lb/__init__.py": None,
            "proj/lb/db.py": None,
            "proj/services/lb/__init__.py": LICENSE,
            "proj/services/lb/db.py": lines(13, "lb"),
            "proj/fw/__init__.py": LICENSE,
            "proj/fw/plugin.py": lines(10, "fw"),
        },
    )
    b.commit("old package", {"proj/old/__init__.py": LICENSE, "proj/old/thing.py": lines(10, "old")})
    return b.commit(
        "drop old, add vpn",
        {
            "proj/old/__init__.py": None,
            "proj/old/thing.py": None,
            "proj/vpn/__init__.py": LICENSE,
            "proj/vpn/plugin.py": lines(10, "vpn"),
        },
    )


def test_a_new_package_does_not_take_the_history_of_another_packages_license_only_init(
    repo_builder: Builder,
) -> None:
    b = repo_builder()
    tip = _neutron_fwaas_shape(b)
    # the shape: git pairs the new packages' __init__.py with the moved one's and the deleted one's
    assert git_follow(b.path, tip, "proj/fw/__init__.py") == {
        "proj/fw/__init__.py",
        "proj/lb/__init__.py",
    }
    assert git_follow(b.path, tip, "proj/vpn/__init__.py") == {
        "proj/vpn/__init__.py",
        "proj/old/__init__.py",
        "proj/fw/__init__.py",  # old/__init__.py, in turn, "copies" fw's ...
        "proj/lb/__init__.py",  # ... and so on
    }
    plan = plan_for(
        b,
        service("proj-lb", ["proj/services/lb/"]),
        service("proj-fw", ["proj/fw/"]),
        service("proj-vpn", ["proj/vpn/"]),
    )
    found = follow_renames(b.repo, plan, [tip], copies=False)
    assert found["proj-fw"].added == {}  # FWaaS was created after the move: no earlier names at all
    assert found["proj-vpn"].added == {}
    # the package that did move keeps its history, __init__.py included (its directory moved with db.py)
    assert found["proj-lb"].added == {
        "proj/services/lb/__init__.py": ("proj/lb/__init__.py",),
        "proj/services/lb/db.py": ("proj/lb/db.py",),
    }


def _django_comments_shape(b: RepoBuilder) -> str:
    """Django's test reorganisation: tests/modeltests/X/ and tests/regressiontests/Y/ all become tests/X/, tests/Y/
    in one commit. Every test package's __init__.py is empty."""
    b.commit(
        "Added support for aggregation to the ORM",
        {"tests/modeltests/aggregation/__init__.py": "", "tests/modeltests/aggregation/models.py": lines(12, "agg")},
    )
    b.commit(
        "comment tests",
        {
            "tests/regressiontests/comment_tests/__init__.py": "",
            "tests/regressiontests/comment_tests/tests.py": lines(12, "comments"),
            "tests/regressiontests/comment_tests/models.py": lines(8, "comment models"),
        },
    )
    b.commit("more comment tests", {"tests/regressiontests/comment_tests/tests.py": lines(14, "comments")})
    files = {
        "tests/modeltests/aggregation/__init__.py": "",
        "tests/modeltests/aggregation/models.py": lines(12, "agg"),
        "tests/regressiontests/comment_tests/__init__.py": "",
        "tests/regressiontests/comment_tests/tests.py": lines(14, "comments"),
        "tests/regressiontests/comment_tests/models.py": lines(8, "comment models"),
    }
    move: dict[str, str | None] = {}
    for path, body in files.items():
        move[path] = None
        move["tests/" + path.split("/", 2)[2]] = body
    return b.commit("Removed the distinction between modeltests and regressiontests", move)


def test_an_empty_test_package_init_follows_its_own_directory_rename(repo_builder: Builder) -> None:
    b = repo_builder()
    tip = _django_comments_shape(b)
    # the shape: git takes the first deleted empty __init__.py in path order, aggregation's
    assert git_follow(b.path, tip, "tests/comment_tests/__init__.py") == {
        "tests/comment_tests/__init__.py",
        "tests/modeltests/aggregation/__init__.py",
    }
    plan = plan_for(b, service("comments", ["tests/comment_tests/"]))
    assert follow_renames(b.repo, plan, [tip], copies=False)["comments"].added == {
        # the true predecessor: its directory moved with tests.py and models.py
        "tests/comment_tests/__init__.py": ("tests/regressiontests/comment_tests/__init__.py",),
        "tests/comment_tests/models.py": ("tests/regressiontests/comment_tests/models.py",),
        "tests/comment_tests/tests.py": ("tests/regressiontests/comment_tests/tests.py",),
    }
    # with copies (git's --follow), the same
    assert find_earlier_names(b.repo, ["tests/comment_tests/__init__.py"], [tip]) == {
        "tests/comment_tests/__init__.py": ["tests/regressiontests/comment_tests/__init__.py"]
    }


# --- corroborated pairings are still followed, and only those -------------------------------------------------


def test_a_package_moved_with_its_parent_is_followed_and_a_renamed_one_is_not(repo_builder: Builder) -> None:
    b = repo_builder()
    b.commit(
        "a",
        {
            "a/pkg/__init__.py": "",
            "a/pkg/mod.py": lines(10, "mod"),
            "a/pkg/sub/__init__.py": LICENSE,  # alone in its directory: only its parent's move corroborates it
            "a/pkg/other/__init__.py": LICENSE + "\n",
        },
    )
    tip = b.commit(
        "move a/pkg to b/pkg, and other/ to b/pkg/renamed/",
        {
            "a/pkg/__init__.py": None,
            "a/pkg/mod.py": None,
            "a/pkg/sub/__init__.py": None,
            "a/pkg/other/__init__.py": None,
            "b/pkg/__init__.py": "",
            "b/pkg/mod.py": lines(10, "mod"),
            "b/pkg/sub/__init__.py": LICENSE,
            "b/pkg/renamed/__init__.py": LICENSE + "\n",
        },
    )
    assert find_earlier_names(b.repo, ["b/"], [tip], copies=False) == {
        "b/pkg/__init__.py": ["a/pkg/__init__.py"],
        "b/pkg/mod.py": ["a/pkg/mod.py"],
        "b/pkg/sub/__init__.py": ["a/pkg/sub/__init__.py"],  # sub/ is sub/ on both sides, and a/pkg moved
        "b/pkg/renamed/__init__.py": [],  # other/ became renamed/: no parent pairing for a different name
    }
    git = find_earlier_names(b.repo, ["b/"], [tip], copies=False, corroborate=False)
    assert git["b/pkg/renamed/__init__.py"] == ["a/pkg/other/__init__.py"]
    assert git_follow(b.path, tip, "b/pkg/renamed/__init__.py") == {
        "b/pkg/renamed/__init__.py",
        "a/pkg/other/__init__.py",
    }


def test_evidence_of_a_directory_rename_is_a_substantive_file_and_the_same_base_name(repo_builder: Builder) -> None:
    """Empty files prove nothing, not even about each other; and a trivial file renamed inside a renamed directory
    is a different file as far as the path can tell."""
    b = repo_builder()
    mods = {"pkg/mod.py": lines(9, "m"), "pkg/mod2.py": lines(9, "m2")}
    b.commit("a", {"skel/__init__.py": "", "skel/sub/__init__.py": "", "pkg/a.py": LICENSE, **mods})
    tip = b.commit(
        "move both",
        {
            **dict.fromkeys(["skel/__init__.py", "skel/sub/__init__.py", "pkg/a.py", *mods]),
            "bones/__init__.py": "",
            "bones/sub/__init__.py": "",
            "lib/b.py": LICENSE,  # pkg/ became lib/ (mod.py, mod2.py), but a.py is not b.py
            **{"lib/" + path.removeprefix("pkg/"): body for path, body in mods.items()},
        },
    )
    git = find_earlier_names(b.repo, ["bones/", "lib/"], [tip], copies=False, corroborate=False)
    assert git["bones/__init__.py"] == ["skel/__init__.py"] and git["lib/b.py"] == ["pkg/a.py"]
    assert find_earlier_names(b.repo, ["bones/", "lib/"], [tip], copies=False) == {
        "bones/__init__.py": [],
        "bones/sub/__init__.py": [],
        "lib/b.py": [],
        "lib/mod.py": ["pkg/mod.py"],
        "lib/mod2.py": ["pkg/mod2.py"],
    }


def test_a_files_own_pairing_does_not_corroborate_it(repo_builder: Builder) -> None:
    """git pairs new/x.py with the license-only a/x.py (88%) over old/x.py (63%); old/ became new/ as far as x.py
    itself can tell, but no other file says so: the history starts here."""
    b = repo_builder()
    code = "def handler(event):\n    return event\n"
    b.commit("a", {"a/x.py": LICENSE, "old/x.py": LICENSE + code + lines(5, "more")})
    tip = b.commit("x", {"a/x.py": None, "old/x.py": None, "new/x.py": LICENSE + code})
    assert find_earlier_names(b.repo, ["new/"], [tip], copies=False, corroborate=False) == {"new/x.py": ["a/x.py"]}
    assert find_earlier_names(b.repo, ["new/"], [tip], copies=False) == {"new/x.py": []}


def test_a_substantive_file_paired_only_through_a_license_header_is_not_followed(repo_builder: Builder) -> None:
    """neutron's agent_loadbalancer/constants.py "came from" an emptied package's license-only __init__.py."""
    b = repo_builder()
    b.commit("old package", {"p/__init__.py": LICENSE, "p/x.py": lines(10, "p")})
    constants = LICENSE + "A = 'A'\nB = 'B'\nC = 'C'\n"
    tip = b.commit("replace it", {"p/__init__.py": None, "p/x.py": None, "q/constants.py": constants})
    assert git_follow(b.path, tip, "q/constants.py") == {"q/constants.py", "p/__init__.py"}
    assert find_earlier_names(b.repo, ["q/"], [tip], copies=False) == {"q/constants.py": []}


def test_a_directory_that_stays_is_not_renamed_by_one_file_moving_out(repo_builder: Builder) -> None:
    """With copies, neutron's tests/unit/services/loadbalancer/__init__.py took tests/unit/__init__.py as its source,
    because test_loadbalancer_plugin.py moved from tests/unit/ into the new directory."""
    b = repo_builder()
    b.commit(
        "tests", {"tests/unit/__init__.py": "", "tests/unit/test_lb.py": lines(10, "lb"), "tests/unit/t.py": "t\n"}
    )
    tip = b.commit(
        "move lb tests",
        {"tests/unit/test_lb.py": None, "tests/unit/lb/test_lb.py": lines(10, "lb"), "tests/unit/lb/__init__.py": ""},
    )
    assert git_follow(b.path, tip, "tests/unit/lb/__init__.py") == {
        "tests/unit/lb/__init__.py",
        "tests/unit/__init__.py",
    }
    assert find_earlier_names(b.repo, ["tests/unit/lb/"], [tip]) == {
        "tests/unit/lb/__init__.py": [],
        "tests/unit/lb/test_lb.py": ["tests/unit/test_lb.py"],
    }


@pytest.mark.parametrize(("arriving", "followed"), [(1, False), (2, True)])
def test_a_directory_moved_when_most_of_its_files_arrive(repo_builder: Builder, arriving: int, followed: bool) -> None:
    """old/ has 4 files; __init__.py plus `arriving` of the others reappear below new/: 2 of 4 is no directory
    rename (the rest went elsewhere), 3 of 4 is."""
    b = repo_builder()
    olds = {f"old/m{i}.py": lines(10, f"m{i}") for i in range(3)}
    b.commit("old", {"old/__init__.py": "", **olds})
    change: dict[str, str | None] = {path: None for path in ["old/__init__.py", *olds]}
    change["new/__init__.py"] = ""
    for i in range(3):
        change[f"new/m{i}.py" if i < arriving else f"elsewhere/m{i}.py"] = lines(10, f"m{i}")
    tip = b.commit("split old/", change)
    got = find_earlier_names(b.repo, ["new/__init__.py"], [tip], copies=False)
    assert got == {"new/__init__.py": ["old/__init__.py"] if followed else []}


def test_the_rule_can_be_switched_off_and_the_walk_counts_what_it_left_out(repo_builder: Builder) -> None:
    b = repo_builder()
    tip = _neutron_fwaas_shape(b)
    found = follow_renames_with_state(b.repo, plan_for(b, service("proj-fw", ["proj/fw/"])), [tip], copies=False)[1]
    assert found is not None and found.corroborate
    assert [(b.repo[c].message, path, source) for c, path, source in found.uncorroborated] == [
        ("move lb, add fw", "proj/fw/__init__.py", "proj/lb/__init__.py")
    ]
    assert find_earlier_names(b.repo, ["proj/fw/"], [tip], copies=False, corroborate=False)["proj/fw/__init__.py"] == [
        "proj/lb/__init__.py"
    ]


# --- the plan's vetoes and additions ------------------------------------------------------------------------------


def _chain(b: RepoBuilder) -> str:
    b.commit("a", {"a.py": lines(10, "x"), "other.py": lines(10, "other")})
    b.commit("a to b", {"a.py": None, "b.py": lines(10, "x")})
    b.commit("b to lib/c", {"b.py": None, "lib/c.py": lines(10, "x")})
    # lib/d.py is rewritten beyond recognition when it moves: git (and spinout) cannot pair it
    b.commit("d", {"old/d0.py": lines(10, "d")})
    b.commit("d0 to d1", {"old/d0.py": None, "old/d1.py": lines(10, "d")})
    return b.commit("d1 to lib/d, rewritten", {"old/d1.py": None, "lib/d.py": lines(10, "rewritten")})


def test_the_plan_vetoes_an_earlier_name_and_what_lies_only_behind_it(repo_builder: Builder) -> None:
    b = repo_builder()
    tip = _chain(b)
    plan = plan_for(
        b,
        service("vetoing", ["lib/"], earlier_names_veto=["b.py"]),
        service("plain", ["lib/", "x/"], shared=["lib/"]),
    )
    found = follow_renames(b.repo, plan, [tip], copies=False)
    assert found["plain"].added == {"lib/c.py": ("b.py", "a.py")}
    assert found["vetoing"].added == {}
    assert found["vetoing"].skipped == {
        "b.py": "earlier name of lib/c.py, vetoed by the plan (earlier_names_veto)",
        "a.py": "earlier name of lib/c.py only through a name the plan vetoes",
    }


def test_the_plan_adds_an_earlier_name_and_it_is_followed_further(repo_builder: Builder) -> None:
    b = repo_builder()
    tip = _chain(b)
    plan = plan_for(
        b,
        service("adding", ["lib/"], earlier_names_add={"lib/d.py": ["old/d1.py"]}),
        service("plain", ["lib/", "x/"], shared=["lib/"]),
    )
    found, state = follow_renames_with_state(b.repo, plan, [tip], copies=False)
    # old/d1.py as the plan says, then what the walk found behind it: its own rename from old/d0.py
    assert found["adding"].added == {"lib/c.py": ("b.py", "a.py"), "lib/d.py": ("old/d1.py", "old/d0.py")}
    assert found["plain"].added == {"lib/c.py": ("b.py", "a.py")}  # another service's addition is not its own
    assert state is not None and state.earlier["lib/d.py"] == ()

    # a rerun after a new commit walks only it, and gives the same answer as a fresh walk
    b.commit("new", {"lib/e.py": lines(3, "e")})
    new_tip = b.head()
    assert new_tip is not None
    previous = EarlierNames.from_state(json.loads(json.dumps(state.to_state())))
    again, again_state = follow_renames_with_state(b.repo, plan, [new_tip], copies=False, previous=previous)
    assert again_state is not None and again_state.incremental and again_state.commits_walked == 1
    assert again == follow_renames(b.repo, plan, [new_tip], copies=False)
    # other additions: the stored walk does not apply
    other = plan.model_copy(
        update={"service": [service("adding", ["lib/"], earlier_names_add={"lib/d.py": ["old/d0.py"]})]}
    )
    assert not follow_renames_with_state(b.repo, other, [new_tip], copies=False, previous=previous)[1].incremental  # type: ignore[union-attr]


def test_an_added_name_that_is_still_a_file_at_a_tip_is_not_kept(repo_builder: Builder) -> None:
    b = repo_builder()
    tip = _chain(b)
    plan = plan_for(b, service("adding", ["lib/"], earlier_names_add={"lib/d.py": ["other.py"]}))
    found = follow_renames(b.repo, plan, [tip], copies=False)["adding"]
    assert "lib/d.py" not in found.added
    assert found.skipped["other.py"] == "earlier name of lib/d.py, but a different file has this path at a tip"
