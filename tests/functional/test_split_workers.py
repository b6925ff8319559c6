"""`spinout split` with its targets spread over worker processes: the same bytes as one process, failures carried
to the caller, nothing half-written; and the "remove"-mode core's first copy made by linking object files."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pygit2
import pytest

from spinout import api
from spinout.errors import ToolError
from spinout.history import split as history_split
from spinout.history import workers
from tests.fixtures.repobuilder import RepoBuilder
from tests.functional.test_split import make_source, snapshot, write_plan
from tests.unit.history.oracle import git_refs

VPN = """
[[service]]
name = "acme-vpn"
package = "acme_vpn"
paths = ["acme/services/vpn/", "tox.ini"]
shared = ["tox.ini"]

"""

TARGETS = ("acme-lb", "acme-fw", "acme-vpn", "acme")


@pytest.fixture
def source(tmp_path: Path, repo_builder: Callable[..., RepoBuilder]) -> RepoBuilder:
    b = repo_builder("src")
    make_source(b)
    b.commit("add vpn", {"acme/services/vpn/site.py": "s = 1\n", "tox.ini": "[tox]\nenvlist = py3\n"})
    b.commit("vpn and fw", {"acme/services/vpn/site.py": "s = 2\n", "acme/services/fw/rules.py": "r = 2\n"})
    return b


def plan_file(tmp: Path, out: str, history: str = "rewrite") -> Path:
    """test_split's plan (acme-lb, acme-fw) with a third service."""
    plan = write_plan(tmp, out=out, history=history)
    plan.write_text(plan.read_text().replace("[output]", VPN + "[output]"))
    return plan


def outputs(out: Path, names: Sequence[str] = TARGETS) -> dict[str, tuple[dict[str, str], str, str]]:
    """Per target: refs, commit-map and ref-map."""
    result = {}
    for name in names:
        git_dir = out / name / ".git"
        sd = git_dir / "spinout"
        result[name] = (git_refs(git_dir), (sd / "commit-map").read_text(), (sd / "ref-map").read_text())
    return result


@pytest.mark.parametrize("jobs", [2, 3])
def test_workers_write_the_same_targets_as_one_process(tmp_path: Path, source: RepoBuilder, jobs: int) -> None:
    one = api.split(plan_file(tmp_path, "one"), jobs=1)
    many = api.split(plan_file(tmp_path, "many"), jobs=jobs)
    assert outputs(tmp_path / "many") == outputs(tmp_path / "one")
    assert [t.to_json() | {"path": ""} for t in many.targets] == [t.to_json() | {"path": ""} for t in one.targets]
    # and the incremental rerun, too
    source.commit("more fw", {"acme/services/fw/rules.py": "r = 3\n"})
    source.commit("more lb", {"acme/services/lb/pool.py": "p = 3\n"})
    api.split(plan_file(tmp_path, "one"), jobs=1)
    api.split(plan_file(tmp_path, "many"), jobs=jobs)
    assert outputs(tmp_path / "many") == outputs(tmp_path / "one")


def test_plan_groups_deal_every_target_once() -> None:
    for targets in range(1, 7):
        for jobs in (None, 1, 2, 3, 8):
            groups = workers.plan_groups([1.0] * targets, jobs)
            assert sorted(i for g in groups for i in g) == list(range(targets))
            assert len(groups) <= targets
            if jobs is not None:
                assert len(groups) == min(jobs, targets)
    # heaviest first, each to the least loaded worker: the core's complement (2.0) gets a worker of its own
    # while the services share the other
    assert workers.plan_groups([1.0, 1.1, 2.0], 2) == [[2], [0, 1]]
    assert workers.plan_groups([1.1, 1.0, 1.0, 2.0], 2) == [[2, 3], [0, 1]]
    # a core preloaded with follow_renames and the services waiting for it: the ready targets share the other
    # core unless that leaves it the busier one
    assert workers.plan_groups([1.0, 1.0], 2, preload=1.7) == [[0, 1]]
    assert workers.plan_groups([2.0, 1.0, 1.0], 2, preload=1.7) == [[1], [0, 2]]
    with pytest.raises(ValueError, match="at least 1"):
        workers.plan_groups([1.0, 1.0, 1.0], 0)


def _no_temporary_packs(out: Path) -> None:
    leftovers = [p for p in out.rglob("tmp_spinout_*")]
    assert leftovers == []


def test_a_failing_worker_stops_the_split_with_its_error(
    tmp_path: Path, source: RepoBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = history_split.process_commit

    def failing(walk: object, run: history_split.TargetRun, c: object) -> None:
        if run.name == "acme-fw":
            raise ToolError("disk full while writing acme-fw", hint="free some space")
        real(walk, run, c)  # type: ignore[arg-type]

    monkeypatch.setattr(history_split, "process_commit", failing)
    plan = plan_file(tmp_path, "out")
    with pytest.raises(ToolError, match="disk full while writing acme-fw") as info:
        api.split(plan, jobs=2)
    assert info.value.hint == "free some space"
    _no_temporary_packs(tmp_path / "out")
    # the next run (the fault gone) finishes every target, identical to a run in one process
    monkeypatch.setattr(history_split, "process_commit", real)
    api.split(plan, jobs=2)
    api.split(plan_file(tmp_path, "one"), jobs=1)
    assert outputs(tmp_path / "out") == outputs(tmp_path / "one")


def test_a_worker_that_dies_is_reported(tmp_path: Path, source: RepoBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    def dying(walk: object, run: history_split.TargetRun, c: object) -> None:
        os._exit(9)

    monkeypatch.setattr(history_split, "process_commit", dying)
    with pytest.raises(ToolError, match=r"ended without a result \(exit code 9\)"):
        api.split(plan_file(tmp_path, "out"), jobs=2)


def test_remove_mode_core_is_linked_standalone_and_reruns_fetch(tmp_path: Path, source: RepoBuilder) -> None:
    plan = plan_file(tmp_path, "out", history="remove")
    before = snapshot(source.path / ".git")
    api.split(plan)
    assert snapshot(source.path / ".git") == before
    core = tmp_path / "out" / "acme" / ".git"
    assert not (core / "objects" / "info" / "alternates").exists()
    subprocess.run(["git", "--git-dir", str(core), "fsck", "--full", "--strict"], check=True, capture_output=True)
    src_refs = git_refs(source.path / ".git")
    core_refs = git_refs(core)
    assert {r: o for r, o in core_refs.items() if r != "refs/heads/main"} == {
        r: o for r, o in src_refs.items() if r != "refs/heads/main"
    }
    main = pygit2.Repository(str(core)).references["refs/heads/main"].peel(pygit2.Commit)
    assert [str(p) for p in main.parent_ids] == [src_refs["refs/heads/main"]]
    # a rerun after new commits brings them by fetch, into a repository that still checks
    new = source.commit("core again", {"acme/db.py": "db 2\n"})
    api.split(plan)
    main = pygit2.Repository(str(core)).references["refs/heads/main"].peel(pygit2.Commit)
    assert [str(p) for p in main.parent_ids] == [new]
    subprocess.run(["git", "--git-dir", str(core), "fsck", "--full", "--strict"], check=True, capture_output=True)


def test_remove_mode_core_of_a_source_with_alternates_stands_alone(
    tmp_path: Path, source: RepoBuilder, repo_builder: Callable[..., RepoBuilder]
) -> None:
    # a source that borrows its objects (git clone --shared): its own object files are not the whole history, so
    # the core's copy links those of the store it borrows from too
    borrowed = tmp_path / "borrowed"
    subprocess.run(["git", "clone", "-q", "--shared", str(source.path), str(borrowed)], check=True)
    subprocess.run(["git", "-C", str(borrowed), "branch", "-f", "feature", "origin/feature"], check=True)
    own_packs = list((borrowed / ".git" / "objects" / "pack").glob("*.pack"))
    assert own_packs == []  # everything it has is borrowed
    before = snapshot(borrowed / ".git")
    plan = plan_file(tmp_path, "out", history="remove")
    plan.write_text(plan.read_text().replace('repo = "src"', 'repo = "borrowed"'))
    api.split(plan)
    assert snapshot(borrowed / ".git") == before
    core = tmp_path / "out" / "acme" / ".git"
    assert not (core / "objects" / "info" / "alternates").exists()
    subprocess.run(["git", "--git-dir", str(core), "fsck", "--full", "--strict"], check=True, capture_output=True)
    main = pygit2.Repository(str(core)).references["refs/heads/main"].peel(pygit2.Commit)
    assert [str(p) for p in main.parent_ids] == [git_refs(borrowed / ".git")["refs/heads/main"]]
    # linked from the store the source borrows from, not fetched (a fetch would write a pack of its own)
    store = source.path / ".git" / "objects"
    lent = {
        f.relative_to(store): f.stat().st_ino
        for f in store.rglob("*")
        if f.is_file() and f.relative_to(store).parts[0] != "info"
    }
    got = {rel: (core / "objects" / rel).stat().st_ino for rel in lent if (core / "objects" / rel).is_file()}
    assert lent and got == lent


def test_object_stores_follow_alternates_transitively(tmp_path: Path) -> None:
    from spinout.history.split import _object_stores

    a, b, c = (tmp_path / n / "objects" for n in "abc")
    for store in (a, b, c):
        (store / "info").mkdir(parents=True)
    (a / "info" / "alternates").write_text(f"# comment\n\n../../b/objects\n{c}\n")
    (b / "info" / "alternates").write_text(f"{a}\n")  # a cycle: each store once
    assert _object_stores(a) == [a.resolve(), b.resolve(), c.resolve()]


@pytest.mark.parametrize(("history", "all_follow"), [("remove", False), ("rewrite", False), ("remove", True)])
def test_sample_with_follow_renames_and_merges_is_the_same_with_workers(
    tmp_path: Path, history: str, all_follow: bool
) -> None:
    """The sample: a service following renames (its rules completed while the others already walk, in a worker of
    its own), a merged feature branch, tags, the core in both modes; and every service following renames (nothing
    walks until their rules are known)."""
    from spinout.sample import build_sample

    plan = build_sample(tmp_path / "s", commits=300, rows=20).plan
    text = plan.read_text().replace('history = "remove"', f'history = "{history}"')
    if all_follow:
        for svc in ("fw", "vpn"):
            rename = f'rename = {{ "acme/" = "acme_{svc}/" }}'
            text = text.replace(rename, f"{rename}\nfollow_renames = true")
        assert text.count("follow_renames = true") == 3
    for rerun in (False, True):
        if rerun:  # the source gains commits (one renames a service file): each variant reruns incrementally
            src = RepoBuilder(plan.parent / "acme")
            tip = src.repo.references["refs/heads/main"].peel(pygit2.Commit)
            plugin = src.repo[tip.tree["acme/services/lb/plugin.py"].id].data
            src.commit("lb: rename", {"acme/services/lb/plugin.py": None, "acme/services/lb/lb_plugin.py": plugin})
            src.commit("fw: more", {"acme/services/fw/more.py": "y = 1\n"})
        runs = {}
        for jobs in (1, 2, 3):
            out = f"out{jobs}"
            variant = plan.with_name(f"plan{jobs}.toml")
            variant.write_text(text.replace('dir = "out"', f'dir = "{out}"'))
            result = api.split(variant, jobs=jobs)
            reports = [t.to_json() | {"path": ""} for t in result.targets]
            assert all(t["incremental"] == rerun for t in reports)
            runs[jobs] = (reports, outputs(plan.parent / out, [t["name"] for t in reports]))
        assert any(t["followed"] for t in runs[1][0])  # the case this test is about
        assert runs[2] == runs[1]
        assert runs[3] == runs[1]
