"""follow_renames against git itself: for every kept file, the names `git log --follow` reports for it.

Each scenario builds a history with RepoBuilder, runs `find_earlier_names` once for all kept paths, then runs
`git log --follow --name-only -- FILE` per file and compares the sets of names. The deliberate differences (a file
created where an unrelated file was deleted earlier; a trivial file paired by content alone, which spinout follows
only where the paths corroborate it — `corroborate=False` is git's pairing) are asserted on both sides; the
trivial-file rule's own cases are in test_follow_renames_trivial.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fixtures.repobuilder import RepoBuilder

from spinout.errors import PlanError
from spinout.history.renames import (
    EarlierNames,
    find_earlier_names,
    follow_renames,
    follow_renames_with_state,
    walk_earlier_names,
)
from spinout.plan.load import parse_plan
from spinout.plan.model import Core, Plan, Service, Source
from spinout.progress import Finished, RecordingProgress, Started

Builder = Callable[..., RepoBuilder]


def git_follow(repo: Path, tip: str, path: str) -> set[str]:
    """Every name `git log --follow --name-only` prints for `path` from `tip`."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--follow", "--name-only", "-z", "--format=%x01%H", tip, "--", path],
        capture_output=True,
        check=True,
    ).stdout
    names = set()
    for token in out.split(b"\0"):
        token = token.lstrip(b"\n")
        if token and not token.startswith(b"\x01"):
            names.add(token.decode())
    return names


def assert_same_as_git(
    b: RepoBuilder, paths: list[str], *, branch: str = "main", corroborate: bool = True
) -> dict[str, list[str]]:
    tip = b.head(branch)
    assert tip is not None
    ours = find_earlier_names(b.repo, paths, [tip], corroborate=corroborate)
    assert ours, "the scenario keeps no file"
    for path, names in ours.items():
        assert len(names) == len(set(names)), names
        assert {path, *names} == git_follow(b.path, tip, path), path
    return ours


def lines(n: int, tag: str = "line", start: int = 0) -> str:
    return "".join(f"{tag} {i} of a file long enough to compare\n" for i in range(start, start + n))


def test_plain_rename(repo_builder: Builder) -> None:
    b = repo_builder()
    b.commit("add", {"old/a.py": lines(10), "other.txt": "x\n"})
    b.commit("edit", {"old/a.py": lines(11)})
    b.commit("move", {"old/a.py": None, "new/a.py": lines(11)})
    ours = assert_same_as_git(b, ["new/"])
    assert ours == {"new/a.py": ["old/a.py"]}


def test_rename_with_edits_above_and_below_the_threshold(repo_builder: Builder) -> None:
    b = repo_builder()
    b.commit("add", {"a.py": lines(10), "c.py": lines(10, "other")})
    # 8 of 10 lines kept: above 50%, a rename; 3 of 10 kept: a new file
    b.commit("move a", {"a.py": None, "b.py": lines(8) + lines(2, "new")})
    b.commit("move c", {"c.py": None, "d.py": lines(3, "other") + lines(7, "fresh")})
    ours = assert_same_as_git(b, ["b.py", "d.py"])
    assert ours == {"b.py": ["a.py"], "d.py": []}


def test_package_directory_renamed(repo_builder: Builder) -> None:
    b = repo_builder()
    files = {
        "quantum/__init__.py": "",
        "quantum/services/__init__.py": "",
        "quantum/services/lb/__init__.py": "",
        "quantum/services/lb/plugin.py": "from quantum.db import api\n" + lines(12, "plugin"),
        "quantum/services/lb/driver.py": "import quantum\n" + lines(9, "driver"),
        "quantum/db/api.py": lines(6, "db"),
        "setup.py": "setup()\n",
    }
    b.commit("quantum", files)
    b.commit("lb work", {"quantum/services/lb/driver.py": "import quantum\n" + lines(10, "driver")})
    # the project rename: every file moves and its imports change (renames with edits)
    moved: dict[str, str | None] = {}
    for path, content in files.items():
        if path.startswith("quantum/"):
            moved[path] = None
            moved["acme/" + path.removeprefix("quantum/")] = content.replace("quantum", "acme")
    moved["acme/services/lb/driver.py"] = "import acme\n" + lines(10, "driver")
    b.commit("rename quantum to acme", moved)
    b.commit("after", {"acme/services/lb/plugin.py": "from acme.db import api\n" + lines(13, "plugin")})
    git_like = assert_same_as_git(b, ["acme/services/lb/"], corroborate=False)
    assert git_like["acme/services/lb/plugin.py"] == ["quantum/services/lb/plugin.py"]
    assert git_like["acme/services/lb/driver.py"] == ["quantum/services/lb/driver.py"]
    # empty files: git takes the first deleted empty file with the same basename in path order ...
    assert git_like["acme/services/lb/__init__.py"] == ["quantum/__init__.py"]
    # ... spinout the one whose directory moved to the new file's (plugin.py and driver.py went the same way)
    tip = b.head()
    assert tip is not None
    ours = find_earlier_names(b.repo, ["acme/services/lb/"], [tip])
    assert ours == {**git_like, "acme/services/lb/__init__.py": ["quantum/services/lb/__init__.py"]}


def test_chain_of_renames(repo_builder: Builder) -> None:
    b = repo_builder()
    b.commit("a", {"a.py": lines(10)})
    b.commit("a to b", {"a.py": None, "pkg/b.py": lines(10) + "edit\n"})
    b.commit("noise", {"README": "r\n"})
    b.commit("b to c", {"pkg/b.py": None, "lib/c.py": lines(10) + "edit\n"})
    ours = assert_same_as_git(b, ["lib/c.py"])
    assert ours == {"lib/c.py": ["pkg/b.py", "a.py"]}


def test_rename_on_a_side_branch_then_merged(repo_builder: Builder) -> None:
    b = repo_builder()
    base = b.commit("base", {"a.py": lines(10), "x.txt": "x\n"})
    b.branch("side", base)
    side = b.commit("rename on side", {"a.py": None, "lib/b.py": lines(10)}, branch="side")
    main = b.commit("work on main", {"x.txt": "y\n"})
    tree = {"lib/b.py": lines(10), "x.txt": "y\n"}
    b.commit("merge side", tree=tree, parents=[main, side])
    ours = assert_same_as_git(b, ["lib/"])
    assert ours == {"lib/b.py": ["a.py"]}


def test_deleted_then_unrelated_file_created_at_the_same_path(repo_builder: Builder) -> None:
    """Deliberate difference: git follows the name past the deletion into the older file's renames."""
    b = repo_builder()
    b.commit("a", {"a.py": lines(10)})
    b.commit("a to d", {"a.py": None, "d.py": lines(10)})
    b.commit("delete d", {"d.py": None})
    tip = b.commit("new d", {"d.py": lines(10, "unrelated")})
    assert find_earlier_names(b.repo, ["d.py"], [tip]) == {"d.py": []}
    assert git_follow(b.path, tip, "d.py") == {"d.py", "a.py"}


def test_copies(repo_builder: Builder) -> None:
    b = repo_builder()
    b.commit("a", {"src/a.py": lines(10), "src/m.py": lines(10, "mod")})
    b.commit(
        "copies",
        {
            "lib/exact.py": lines(10),  # exact copy of a file that stays
            "lib/edited.py": lines(9) + "changed\n",  # copy with an edit
            "src/m.py": lines(10, "mod") + "more\n",  # modified in the same commit ...
            "lib/m2.py": lines(10, "mod"),  # ... and copied from its old content
        },
    )
    ours = assert_same_as_git(b, ["lib/"])
    assert ours == {"lib/edited.py": ["src/a.py"], "lib/exact.py": ["src/a.py"], "lib/m2.py": ["src/m.py"]}
    # renames only: a copy's history starts where it was made
    tip = b.head()
    assert tip is not None
    assert find_earlier_names(b.repo, ["lib/"], [tip], copies=False) == {
        "lib/edited.py": [],
        "lib/exact.py": [],
        "lib/m2.py": [],
    }


def test_renames_only_still_follows_renames_and_prefers_the_same_basename(repo_builder: Builder) -> None:
    b = repo_builder()
    b.commit("a", {"x/__init__.py": "", "y/__init__.py": "", "z/mod.py": lines(10), "keep/__init__.py": ""})
    tip = b.commit(
        "move",
        {"x/__init__.py": None, "y/__init__.py": None, "z/mod.py": None, "n/__init__.py": "", "n/mod.py": lines(9)},
    )
    with_copies = assert_same_as_git(b, ["n/"], corroborate=False)
    assert with_copies == {"n/__init__.py": ["x/__init__.py"], "n/mod.py": ["z/mod.py"]}
    assert find_earlier_names(b.repo, ["n/"], [tip], copies=False, corroborate=False) == with_copies
    # an empty file whose old directory did not move with it: not followed
    assert find_earlier_names(b.repo, ["n/"], [tip], copies=False) == {"n/__init__.py": [], "n/mod.py": ["z/mod.py"]}


def test_one_file_split_in_two_and_a_rename_preferred_over_a_better_copy(repo_builder: Builder) -> None:
    b = repo_builder()
    b.commit("a", {"a.py": lines(10), "keep.py": lines(10, "k")})
    b.commit("split", {"a.py": None, "p/one.py": lines(10), "p/two.py": lines(7) + lines(3, "x")})
    # q.py: a deleted source at 70% beats an existing file it copies exactly except one line
    b.commit("prefer rename", {"keep.py": lines(10, "k"), "gone.py": lines(10, "k")})
    b.commit("q", {"gone.py": None, "p/q.py": lines(7, "k") + lines(3, "y")})
    assert_same_as_git(b, ["p/"])


def test_many_tips_and_unknown_tip(repo_builder: Builder) -> None:
    b = repo_builder()
    base = b.commit("a", {"a.py": lines(10)})
    b.branch("other", base)
    b.commit("move on main", {"a.py": None, "m/a.py": lines(10)})
    b.commit("move on other", {"a.py": None, "o/a.py": lines(10)}, branch="other")
    found = find_earlier_names(b.repo, ["m/", "o/"], ["refs/heads/main", "refs/heads/other"])
    assert found == {"m/a.py": ["a.py"], "o/a.py": ["a.py"]}
    with pytest.raises(PlanError, match="nope"):
        find_earlier_names(b.repo, ["m/"], ["refs/heads/nope"])


def test_only_commits_that_change_trees_are_diffed_and_progress_is_reported(repo_builder: Builder) -> None:
    b = repo_builder()
    b.commit("a", {"a.py": lines(10)})
    for i in range(5):
        b.commit(f"empty {i}", {})  # same tree as the parent: never diffed
    b.commit("touch", {"x": "1\n"})
    tip = b.commit("move", {"a.py": None, "b/a.py": lines(10)})
    progress = RecordingProgress()
    found = walk_earlier_names(b.repo, ["b/"], [tip], progress)
    assert found.commits_walked == 8
    assert found.commits_diffed == 2
    assert found.origins_searched == 1  # b/a.py at "move"; a root commit has no parent to search
    assert [e.task for e in progress.of(Started)] == ["renames"]
    assert "1 of 1 file(s) had earlier names" in progress.of(Finished)[0].summary


def test_follow_renames_per_service(repo_builder: Builder, tmp_path: Path) -> None:
    b = repo_builder()
    b.commit("q", {"quantum/lb/plugin.py": lines(10), "quantum/fw/fw.py": lines(10, "fw"), "tox.ini": "t\n"})
    b.commit(
        "rename",
        {
            "quantum/lb/plugin.py": None,
            "quantum/fw/fw.py": None,
            "acme/lb/plugin.py": lines(10),
            "acme/fw/fw.py": lines(10, "fw"),
        },
    )
    # tools/fw.py copies acme/fw/fw.py: its earlier name is still a file at the tip, so it is not added
    tip = b.commit("copy", {"tools/fw.py": lines(10, "fw")})
    plan = Plan(
        source=Source(repo=str(b.path)),
        core=Core(name="acme", package="acme"),
        service=[
            Service(
                name="acme-lb",
                package="acme_lb",
                paths=["acme/lb/", "tox.ini"],
                rename={"acme/": "acme_lb/"},
                follow_renames=True,
            ),
            Service(name="acme-fw", package="acme_fw", paths=["tools/"], follow_renames=True),
            Service(name="acme-vpn", package="acme_vpn", paths=["acme/vpn/"]),
        ],
    )
    result = follow_renames(b.repo, plan, [tip])
    assert set(result) == {"acme-lb", "acme-fw"}
    lb = result["acme-lb"]
    assert lb.added == {"acme/lb/plugin.py": ("quantum/lb/plugin.py",)}
    assert lb.extra_paths(plan.service[0].renamed) == {"quantum/lb/plugin.py": "quantum/lb/plugin.py"}
    assert lb.to_json()["added_paths"] == ["quantum/lb/plugin.py"]
    assert lb.exit_code == 0
    fw = result["acme-fw"]
    assert fw.added == {"tools/fw.py": ("quantum/fw/fw.py",)}
    assert fw.skipped == {"acme/fw/fw.py": "earlier name of tools/fw.py, but a different file has this path at a tip"}
    assert any("not kept: acme/fw/fw.py" in line for line in fw.lines())

    # a rerun with the stored state walks only the new commit and gives the same answer
    _, state = follow_renames_with_state(b.repo, plan, [tip])
    assert state is not None
    b.commit("new lb file", {"acme/lb/new.py": lines(4, "new")})
    new_tip = b.head()
    assert new_tip is not None
    again, again_state = follow_renames_with_state(
        b.repo, plan, [new_tip], previous=EarlierNames.from_state(json.loads(json.dumps(state.to_state())))
    )
    assert again_state is not None and again_state.incremental and again_state.commits_walked == 1
    assert again == follow_renames(b.repo, plan, [new_tip])
    no_follow = plan.model_copy(update={"service": [plan.service[2]]})
    assert follow_renames_with_state(b.repo, no_follow, [new_tip]) == ({}, None)


# Generated linear histories: random adds, edits, renames (with and without edits), copies and deletes over a
# small set of names, compared with git for every file at the tip.

_NAMES = ["a.py", "b.py", "pkg/c.py", "pkg/d.py", "lib/e.py", "lib/sub/f.py"]
_op = st.tuples(
    st.sampled_from(["add", "edit", "rename", "rename_edit", "copy", "delete"]),
    st.sampled_from(_NAMES),
    st.sampled_from(_NAMES),
    st.integers(min_value=0, max_value=12),
)


def _apply(files: dict[str, str], used: set[str], op: tuple[str, str, str, int]) -> dict[str, str | None]:
    """The change `op` makes, or {} when it does not apply. New files only go to paths never used before: a file
    created where an unrelated one was deleted is the one place where spinout differs from git on purpose
    (test_deleted_then_unrelated_file_created_at_the_same_path)."""
    kind, src, dst, n = op
    if kind == "add":
        return {} if src in used else {src: lines(n + 1, f"v{n}{src}")}
    if src not in files:
        return {}
    body = files[src]
    if kind == "edit":
        return {src: body + lines(1 + n // 3, f"e{n}")}
    if kind == "delete":
        return {src: None}
    if dst in used:
        return {}
    if kind == "rename":
        return {src: None, dst: body}
    if kind == "rename_edit":
        kept = body.splitlines(keepends=True)[: max(1, len(body.splitlines()) - n // 2)]
        return {src: None, dst: "".join(kept) + lines(n // 2, f"r{n}")}
    return {dst: body if n % 2 else body + "tail\n"}  # copy


@settings(
    max_examples=int(os.environ.get("SPINOUT_RENAME_EXAMPLES", "40")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(_op, min_size=1, max_size=10))
def test_generated_linear_histories_match_git(tmp_path_factory: pytest.TempPathFactory, ops: list[tuple]) -> None:  # type: ignore[type-arg]
    b = RepoBuilder(tmp_path_factory.mktemp("gen"))
    files: dict[str, str] = {"seed.txt": "seed\n"}
    used = set(files)
    b.commit("seed", dict(files))
    for i, op in enumerate(ops):
        change = _apply(files, used, op)
        if not change:
            continue
        used.update(change)
        for path, content in change.items():
            if content is None:
                files.pop(path, None)
            else:
                files[path] = content
        b.commit(f"op {i} {op[0]}", change)
    tip = b.head()
    assert tip is not None
    ours = find_earlier_names(b.repo, ["a.py", "b.py", "pkg/", "lib/"], [tip])
    for path, names in ours.items():
        assert {path, *names} == git_follow(b.path, tip, path), (path, ops)


def test_repository_is_not_written(repo_builder: Builder) -> None:
    b = repo_builder()
    b.commit("a", {"a.py": lines(10)})
    tip = b.commit("move", {"a.py": None, "b.py": lines(10)})
    objects = Path(b.repo.path) / "objects"
    before = sorted(p.relative_to(objects) for p in objects.rglob("*"))
    find_earlier_names(b.repo, ["b.py"], [tip])
    assert sorted(p.relative_to(objects) for p in objects.rglob("*")) == before


NEUTRON_SPLIT_BASE = "08d436720ba75b752ab37d4b84a7e2cb856186f8"
LBAAS_PATHS = [
    "etc/lbaas_agent.ini",
    "neutron/db/loadbalancer/",
    "neutron/services/loadbalancer/",
    "neutron/tests/unit/db/loadbalancer/",
    "neutron/tests/unit/services/loadbalancer/",
]


# Where spinout's default differs from git on the 71 LBaaS files (copies searched, as git log --follow does), all
# by the trivial-file rule (docs/follow_renames.md); every other file, the modules among them, is git's answer.
LBAAS_DIFFERENCES = {
    # Packages created in place, empty or license-only: git gives each the history of whichever identical file it
    # meets first (neutron/api/__init__.py, smoketests/__init__.py, the Cisco plugin's ...); no path corroborates it.
    **{
        f"neutron/{tests}services/loadbalancer/{package}__init__.py": []
        for tests, package in [
            ("", "agent/"),
            ("", "drivers/a10networks/"),
            ("", "drivers/common/"),
            ("", "drivers/embrane/"),
            ("", "drivers/embrane/agent/"),
            ("", "drivers/logging_noop/"),
            ("", "drivers/netscaler/"),
            ("", "drivers/radware/"),
            ("tests/unit/", "agent/"),
            ("tests/unit/", "drivers/a10networks/"),
            ("tests/unit/", "drivers/embrane/"),
            ("tests/unit/", "drivers/logging_noop/"),
            ("tests/unit/", "drivers/netscaler/"),
            ("tests/unit/", "drivers/radware/"),
        ]
    },
    # Package __init__.py files that moved with their package: their own directory's earlier names, where git takes
    # the first identical file (haproxy/__init__.py "was" drivers/__init__.py; the tests' packages "were" the
    # services' drivers/__init__.py or quantum/db/loadbalancer/__init__.py) ...
    "neutron/services/loadbalancer/drivers/haproxy/__init__.py": [
        "quantum/services/loadbalancer/drivers/haproxy/__init__.py",
        "quantum/plugins/services/agent_loadbalancer/drivers/haproxy/__init__.py",
    ],
    "neutron/tests/unit/db/loadbalancer/__init__.py": ["quantum/tests/unit/db/loadbalancer/__init__.py"],
    "neutron/tests/unit/services/loadbalancer/__init__.py": ["quantum/tests/unit/services/loadbalancer/__init__.py"],
    "neutron/tests/unit/services/loadbalancer/drivers/__init__.py": [
        "quantum/tests/unit/services/loadbalancer/drivers/__init__.py",
        "quantum/tests/unit/services/agent_loadbalancer/driver/__init__.py",  # driver/ -> drivers/ with its tests
    ],
    "neutron/tests/unit/services/loadbalancer/drivers/haproxy/__init__.py": [
        "quantum/tests/unit/services/loadbalancer/drivers/haproxy/__init__.py",
        "quantum/tests/unit/services/agent_loadbalancer/driver/haproxy/__init__.py",
    ],
    # ... and whose history ends where the package was created, not in an older look-alike (git goes on into
    # quantum/extensions/__init__.py, quantum/plugins/__init__.py, quantum/agent/__init__.py and their copies).
    "neutron/db/loadbalancer/__init__.py": ["quantum/db/loadbalancer/__init__.py"],
    "neutron/services/loadbalancer/__init__.py": [
        "quantum/services/loadbalancer/__init__.py",
        "quantum/plugins/services/agent_loadbalancer/__init__.py",
    ],
    "neutron/services/loadbalancer/drivers/__init__.py": [
        "quantum/services/loadbalancer/drivers/__init__.py",
        "quantum/plugins/services/agent_loadbalancer/drivers/__init__.py",
    ],
    # Chains of substantive files that git continues through a trivial one: cut there. (The links before it are
    # git's copy pairings through the same license header; copies are not followed by the split, see below.)
    "neutron/services/loadbalancer/constants.py": [
        "quantum/services/loadbalancer/constants.py",
        "quantum/plugins/services/agent_loadbalancer/constants.py",
        "bin/quantum-hyperv-agent",
        "bin/quantum-ovs-cleanup",
        "bin/quantum-nec-agent",
        "bin/quantum-openvswitch-agent",
        "bin/quantum-server",
        "tests/__init__.py",  # git goes on: smoketests/__init__.py, test_scripts/__init__.py
    ],
    "neutron/services/loadbalancer/drivers/embrane/models.py": [
        "neutron/plugins/ibm/common/exceptions.py",
        "neutron/plugins/ml2/common/exceptions.py",  # git goes on: neutron/plugins/ml2/__init__.py (license only)
    ],
}


def _neutron_clone() -> pygit2.Repository:
    where = os.environ.get("SPINOUT_NEUTRON_CLONE")
    if not where:
        pytest.skip("set SPINOUT_NEUTRON_CLONE to the path of an openstack/neutron clone")
    return pygit2.Repository(where)


@pytest.mark.heavy
def test_neutron_lbaas_files_match_git() -> None:
    """On a real clone (SPINOUT_NEUTRON_CLONE=path): every LBaaS file at the split base, against git log --follow:
    git's pairing exactly (`corroborate=False`), and the trivial-file rule only where LBAAS_DIFFERENCES says."""
    repo = _neutron_clone()
    git_like = find_earlier_names(repo, LBAAS_PATHS, [NEUTRON_SPLIT_BASE], corroborate=False)
    assert len(git_like) == 71
    for path, names in git_like.items():
        assert {path, *names} == git_follow(Path(repo.path), NEUTRON_SPLIT_BASE, path), path
    ours = find_earlier_names(repo, LBAAS_PATHS, [NEUTRON_SPLIT_BASE])
    assert {path: names for path, names in ours.items() if names != git_like[path]} == LBAAS_DIFFERENCES
    # the point of follow_renames in the Neutron case: the quantum/ history before July 2013
    assert ours["neutron/db/loadbalancer/loadbalancer_db.py"] == ["quantum/db/loadbalancer/loadbalancer_db.py"]
    assert ours["neutron/services/loadbalancer/plugin.py"] == [
        "quantum/services/loadbalancer/plugin.py",
        "quantum/plugins/services/agent_loadbalancer/plugin.py",
    ]


@pytest.mark.heavy
def test_neutron_kilo_services_follow_no_other_services_history() -> None:
    """examples/neutron-kilo/plan.toml as the split runs it (renames only): FWaaS and VPNaaS, created after the
    Quantum -> Neutron rename, follow only the earlier names of the shared files they keep (the package
    __init__.py files and README.rst, renamed with the project), none of LBaaS's; LBaaS keeps its modules'."""
    repo = _neutron_clone()
    example = Path(__file__).resolve().parents[3] / "examples" / "neutron-kilo" / "plan.toml"
    plan = parse_plan(example.read_text(), base_dir=example.parent)
    found = follow_renames(repo, plan, [NEUTRON_SPLIT_BASE], copies=False)
    shared = {
        "README.rst": ("README",),
        "neutron/db/__init__.py": ("quantum/db/__init__.py", "server/lib/quantum/db/__init__.py"),
        "neutron/services/__init__.py": ("quantum/services/__init__.py",),
        # a real module (BaseTest, the test set-up) that moved twice with the packaging changes of 2011
        "neutron/tests/unit/__init__.py": (
            "quantum/tests/unit/__init__.py",
            "plugins/cisco-plugin/lib/quantum/plugins/cisco/tests/unit/__init__.py",
            "plugins/cisco-plugin/lib/quantum/tests/unit/__init__.py",
            "quantum/plugins/cisco/tests/unit/__init__.py",
        ),
        "neutron/tests/unit/db/__init__.py": ("quantum/tests/unit/db/__init__.py",),
        "neutron/tests/unit/services/__init__.py": ("quantum/tests/unit/services/__init__.py",),
    }
    assert found["neutron-fwaas"].added == shared
    assert found["neutron-vpnaas"].added == shared
    lbaas = found["neutron-lbaas"].added
    assert {path: names for path, names in lbaas.items() if path in shared} == shared
    assert lbaas["neutron/db/loadbalancer/loadbalancer_db.py"] == ("quantum/db/loadbalancer/loadbalancer_db.py",)
    assert lbaas["neutron/tests/unit/db/loadbalancer/__init__.py"] == (
        "quantum/tests/unit/db/loadbalancer/__init__.py",
    )
    assert len(found["neutron-lbaas"].added_paths()) == 64


def test_sample_service_files_match_git(tmp_path: Path) -> None:
    """The sample monorepo (quantum/ → acme/ rename, moves, branches): every LB file against git log --follow."""
    sample = pytest.importorskip("spinout.sample")
    info = sample.build_sample(tmp_path / "sample", commits=sample.MIN_COMMITS, rows=1)
    repo = pygit2.Repository(str(info.repo))
    paths = ["acme/services/lb/", "acme/db/lb/", "acme/tests/unit/services/lb/"]
    tip = str(repo.references["refs/heads/main"].peel(pygit2.Commit).id)
    git_like = find_earlier_names(repo, paths, [tip], corroborate=False)
    assert any(name.startswith("quantum/") for names in git_like.values() for name in names)
    for path, names in git_like.items():
        assert {path, *names} == git_follow(info.repo, tip, path), path
    # the sample's empty __init__.py files: git gives them all the history of quantum/agent/__init__.py (the first
    # deleted empty file in path order); spinout follows each through its own package's moves
    ours = find_earlier_names(repo, paths, [tip])
    differ = {path: names for path, names in ours.items() if names != git_like[path]}
    assert set(differ) == {path for path in ours if path.endswith("/__init__.py")}
    assert not any("quantum/agent/" in name for names in ours.values() for name in names)
    assert differ["acme/services/lb/drivers/__init__.py"] == [
        "quantum/services/lb/drivers/__init__.py",
        "quantum/plugins/services/agent_loadbalancer/drivers/__init__.py",
    ]


def test_a_merge_parent_without_the_file_is_not_followed(repo_builder: Builder) -> None:
    """A file created on a side branch has no history on the main line, even where its name existed long ago."""
    b = repo_builder()
    b.commit("y", {"y.py": lines(10)})
    b.commit("x copies y", {"x.py": lines(10)})
    base = b.commit("x deleted", {"x.py": None})
    b.branch("side", base)
    side = b.commit("a new x on the side", {"x.py": lines(10, "unrelated")}, branch="side")
    main = b.commit("main work", {"z.py": "z\n"})
    merged = {"y.py": lines(10), "z.py": "z\n", "x.py": lines(10, "unrelated")}
    tip = b.commit("merge", tree=merged, parents=[main, side])
    assert find_earlier_names(b.repo, ["x.py"], [tip]) == {"x.py": []}


def _history_for_incremental(b: RepoBuilder) -> str:
    b.commit("q", {"quantum/lb/a.py": lines(10), "quantum/lb/b.py": lines(10, "b"), "core/c.py": lines(10, "c")})
    b.commit("rename", {"quantum/lb/a.py": None, "quantum/lb/b.py": None, "acme/lb/a.py": lines(10)})
    b.commit("b", {"acme/lb/b.py": lines(10, "b") + "x\n"})
    tip = b.head()
    assert tip is not None
    return tip


def test_incremental_rerun_walks_only_new_commits_and_equals_a_fresh_walk(repo_builder: Builder) -> None:
    b = repo_builder()
    old_tip = _history_for_incremental(b)
    first = walk_earlier_names(b.repo, ["acme/lb/"], [old_tip])
    state = json.loads(json.dumps(first.to_state()))  # what a caller stores between runs
    b.commit("more", {"acme/lb/b.py": lines(10, "b") + "y\n", "README": "r\n"})
    b.commit("move a", {"acme/lb/a.py": None, "acme/lb/sub/a2.py": lines(10) + "z\n"})
    b.commit("new", {"acme/lb/new.py": lines(3, "new")})
    tip = b.head()
    assert tip is not None
    fresh = walk_earlier_names(b.repo, ["acme/lb/"], [tip])
    again = walk_earlier_names(b.repo, ["acme/lb/"], [tip], previous=EarlierNames.from_state(state))
    assert again.earlier == fresh.earlier
    assert fresh.earlier["acme/lb/sub/a2.py"] == ("acme/lb/a.py", "quantum/lb/a.py")
    assert again.incremental and not fresh.incremental
    assert again.commits_walked == 3 < fresh.commits_walked


def test_incremental_rerun_falls_back_when_new_commits_reach_old_history_otherwise(repo_builder: Builder) -> None:
    b = repo_builder()
    old_tip = _history_for_incremental(b)
    first = walk_earlier_names(b.repo, ["acme/lb/"], [old_tip])
    # a core file moves into the service: its earlier names lie below the old tip, outside what was followed
    b.commit("move core file in", {"core/c.py": None, "acme/lb/c.py": lines(10, "c")})
    tip = b.head()
    assert tip is not None
    progress = RecordingProgress()
    again = walk_earlier_names(b.repo, ["acme/lb/"], [tip], progress, previous=first)
    assert again.earlier == walk_earlier_names(b.repo, ["acme/lb/"], [tip]).earlier
    assert again.earlier["acme/lb/c.py"] == ("core/c.py",)
    assert not again.incremental
    assert any("walking it all again" in note for note in progress.notes())
    # other paths or options: the previous result is not used at all
    other = walk_earlier_names(b.repo, ["acme/"], [tip], previous=first)
    assert not other.incremental


def test_state_round_trip_and_garbage() -> None:
    found = EarlierNames(
        tips=("a" * 40,),
        earlier={"x": ("y", "z")},
        paths=("x",),
        copies=False,
        links={"x": {"x": ("y",), "y": ("z",), "s": ("t",)}},
        seeds={"x": ("s",)},
        corroborate=False,
    )
    back = EarlierNames.from_state(json.loads(json.dumps(found.to_state())))
    assert back is not None
    assert (back.tips, dict(back.earlier), back.paths, back.copies) == (found.tips, {"x": ("y", "z")}, ("x",), False)
    assert (back.links, back.seeds, back.corroborate) == (found.links, found.seeds, False)
    assert back.reach("x", ["s"]) == ("s", "y", "t", "z")  # added names first, then breadth first
    assert back.reach("x", ["s"], veto=["y"]) == ("s", "t")  # z lies only behind y
    assert EarlierNames.from_state({"version": 999}) is None
    assert EarlierNames.from_state({"version": 2, "tips": 3}) is None
    assert EarlierNames.from_state({**found.to_state(), "version": 1}) is None  # before links: walk afresh
