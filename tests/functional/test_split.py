"""`spinout split` end to end: outputs, equality with git filter-repo per target, safety, incremental reruns,
merges, the core's two modes and `verify-split`."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from spinout import api
from spinout.cli import main
from spinout.history.commitmap import read_map
from spinout.progress import Advanced, RecordingProgress
from tests.fixtures.repobuilder import RepoBuilder
from tests.unit.history.oracle import filter_repo, git_refs

PLAN = """
[source]
repo = "src"
refs = ["refs/heads/*", "refs/tags/*"]
main = "refs/heads/main"

[core]
name = "acme"
package = "acme"
history = "{history}"

[[service]]
name = "acme-lb"
package = "acme_lb"
paths = ["acme/services/lb/", "etc/lb.ini", "tox.ini"]
shared = ["tox.ini"]
rename = {{ "acme/services/lb/" = "acme_lb/" }}
{merge}

[[service]]
name = "acme-fw"
package = "acme_fw"
paths = ["acme/services/fw/"]

[output]
dir = "{out}"
bare = {bare}
"""


def make_source(b: RepoBuilder) -> dict[str, str]:
    ids = {}
    ids["root"] = b.commit("root", {"acme/__init__.py": "", "tox.ini": "[tox]\n", "README": "acme\n"})
    ids["lb1"] = b.commit("add lb", {"acme/services/lb/__init__.py": "", "acme/services/lb/pool.py": "p = 1\n"})
    ids["fw1"] = b.commit("add fw", {"acme/services/fw/rules.py": "r = 1\n"})
    ids["core"] = b.commit("core only", {"acme/db.py": "db\n"})
    b.branch("feature", ids["lb1"])
    ids["feat"] = b.commit("lb v2", {"acme/services/lb/v2.py": "v2\n"}, branch="feature")
    ids["lb2"] = b.commit(
        f"fix lb, see {ids['lb1'][:10]}", {"acme/services/lb/pool.py": "p = 2\n", "etc/lb.ini": "x\n"}
    )
    ids["empty"] = b.commit("empty on purpose", {})
    b.tag("v1", ids["lb2"], message="release 1\n")
    b.tag("core-only", ids["core"])
    return ids


def write_plan(tmp: Path, *, out: str = "out", history: str = "rewrite", merge: str = "", bare: str = "false") -> Path:
    plan = tmp / f"plan-{out}.toml"
    plan.write_text(PLAN.format(out=out, history=history, merge=merge, bare=bare))
    return plan


def run_cli(*args: str) -> int:
    return main([*args, "--quiet"])


@pytest.fixture
def source(tmp_path: Path, repo_builder: Callable[..., RepoBuilder]) -> RepoBuilder:
    b = repo_builder("src")
    make_source(b)
    return b


def snapshot(git_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(git_dir)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(git_dir.rglob("*"))
        if p.is_file()
    }


def test_split_writes_every_target_like_filter_repo(tmp_path: Path, source: RepoBuilder) -> None:
    plan = write_plan(tmp_path)
    before = snapshot(source.path / ".git")
    assert run_cli("split", str(plan)) == 0
    assert snapshot(source.path / ".git") == before  # the source is never touched
    src = source.path / ".git"
    cases = {
        "acme-lb": (["acme/services/lb/", "etc/lb.ini", "tox.ini"], {"acme/services/lb/": "acme_lb/"}, []),
        "acme-fw": (["acme/services/fw/"], {}, []),
        "acme": (["acme/services/lb/", "etc/lb.ini", "acme/services/fw/"], {}, ["--invert-paths"]),
    }
    for name, (paths, renames, extra) in cases.items():
        target = tmp_path / "out" / name
        expected_map, expected_refs = filter_repo(src, tmp_path / f"fr-{name}", paths, renames, extra)
        assert read_map(target / ".git" / "spinout" / "commit-map") == expected_map, name
        assert git_refs(target / ".git") == expected_refs, name
        # standalone: no alternates, every object present
        assert not (target / ".git" / "objects" / "info" / "alternates").exists()
        subprocess.run(["git", "-C", str(target), "fsck", "--full", "--strict"], check=True, capture_output=True)
        status = subprocess.run(["git", "-C", str(target), "status", "--porcelain"], capture_output=True, text=True)
        assert status.stdout == ""  # the work tree is checked out at main
    assert (tmp_path / "out" / "acme-lb" / "acme_lb" / "pool.py").read_text() == "p = 2\n"
    lines = (tmp_path / "out" / "acme-fw" / ".git" / "spinout" / "ref-map").read_text().splitlines()
    assert lines[0].split() == ["old", "new", "ref"]
    ref_map = {ref: (old, new) for old, new, ref in (line.split() for line in lines[1:])}
    fw_refs = git_refs(tmp_path / "out" / "acme-fw" / ".git")
    # feature branched off before fw existed: nothing of it survives, the ref is dropped (zeros)
    assert ref_map["refs/heads/feature"] == (source.head("feature"), "0" * 40)
    # core-only tags a commit fw does not keep: it moves to the nearest kept ancestor, as filter-repo does
    assert ref_map["refs/tags/core-only"][1] == fw_refs["refs/tags/core-only"]
    assert set(ref_map) == {"refs/heads/feature", "refs/heads/main", "refs/tags/core-only", "refs/tags/v1"}


def test_fw_drops_refs_whose_history_vanished(tmp_path: Path, source: RepoBuilder) -> None:
    plan = write_plan(tmp_path)
    result = api.split(plan)
    fw = next(t for t in result.to_json()["targets"] if t["name"] == "acme-fw")
    assert "refs/heads/feature" in fw["dropped_refs"]  # feature branched before fw existed
    assert "refs/heads/feature" not in git_refs(tmp_path / "out" / "acme-fw" / ".git")


def test_bare_targets_and_progress(tmp_path: Path, source: RepoBuilder) -> None:
    plan = write_plan(tmp_path, bare="true")
    progress = RecordingProgress()
    api.split(plan, progress=progress)
    repo = pygit2.Repository(str(tmp_path / "out" / "acme-lb"))
    assert repo.is_bare
    assert repo.head.name == "refs/heads/main"
    # one walk per worker process (one per core), each reporting its own targets; in all, every target's figure
    last = {a.task: a for a in progress.of(Advanced) if a.task.startswith("split")}
    assert all(a.completed == a.total == 7 for a in last.values())
    counters = {name: kept for a in last.values() for name, kept in a.counters}
    assert counters == {"acme-lb": 5, "acme-fw": 1, "acme": 2}


def test_refuses_foreign_target_even_forced(tmp_path: Path, source: RepoBuilder) -> None:
    """--force replaces only what spinout created (issue 17 §3.1): a directory of the user's is never removed."""
    plan = write_plan(tmp_path)
    foreign = tmp_path / "out" / "acme-fw"
    foreign.mkdir(parents=True)
    (foreign / "precious.txt").write_text("mine\n")
    assert run_cli("split", str(plan)) == 3
    assert (foreign / "precious.txt").exists()
    assert run_cli("split", str(plan), "--force") == 3
    assert (foreign / "precious.txt").exists()
    (foreign / "precious.txt").unlink()  # an empty directory is taken
    assert run_cli("split", str(plan)) == 0
    assert (foreign / ".git" / "spinout").is_dir()


def test_force_rebuilds_a_target_split_with_the_other_bare(tmp_path: Path, source: RepoBuilder) -> None:
    plan = write_plan(tmp_path)
    assert run_cli("split", str(plan)) == 0
    plan.write_text(plan.read_text().replace("bare = false", "bare = true"))
    assert run_cli("split", str(plan)) == 3  # output.bare changed: not rebuilt without --force
    assert (tmp_path / "out" / "acme-fw" / ".git").is_dir()
    assert run_cli("split", str(plan), "--force") == 0
    assert pygit2.Repository(str(tmp_path / "out" / "acme-fw")).is_bare


def test_refuses_target_that_is_a_file(tmp_path: Path, source: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "acme-lb").write_text("not a dir\n")
    assert run_cli("split", str(plan)) == 3
    assert "is a file" in capsys.readouterr().err


def test_refuses_shallow_source(tmp_path: Path, source: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    shallow = tmp_path / "shallow"
    url = f"file://{source.path}"
    subprocess.run(["git", "clone", "-q", "--depth=2", "--no-single-branch", url, str(shallow)], check=True)
    for name in ("feature",):
        subprocess.run(["git", "-C", str(shallow), "branch", name, f"origin/{name}"], check=True, capture_output=True)
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.format(out="out", history="rewrite", merge="", bare="false").replace('"src"', '"shallow"'))
    assert run_cli("split", str(plan)) == 3
    assert "shallow" in capsys.readouterr().err


def test_missing_ref_is_a_plan_error(tmp_path: Path, source: RepoBuilder) -> None:
    plan = write_plan(tmp_path)
    plan.write_text(plan.read_text().replace('"refs/tags/*"', '"refs/heads/nope"'))
    assert run_cli("split", str(plan)) == 2


@pytest.mark.parametrize("history", ["rewrite", "remove"])
def test_incremental_rerun_equals_fresh_run(tmp_path: Path, source: RepoBuilder, history: str) -> None:
    plan = write_plan(tmp_path, history=history)
    api.split(plan)
    lb2 = source.commit("lb three", {"acme/services/lb/pool.py": "p = 3\n"})
    source.commit(f"core again after {lb2[:12]}", {"acme/db.py": "db2\n"})
    source.commit(
        "merge feature",
        parents=[str(source.head()), str(source.head("feature"))],
        tree={
            "acme/__init__.py": "",
            "tox.ini": "[tox]\n",
            "README": "acme\n",
            "acme/services/lb/pool.py": "p = 3\n",
            "acme/services/lb/__init__.py": "",
            "acme/services/lb/v2.py": "v2\n",
            "acme/services/fw/rules.py": "r = 1\n",
            "acme/db.py": "db2\n",
            "etc/lb.ini": "x\n",
        },
    )
    progress = RecordingProgress()
    result = api.split(plan, progress=progress)
    data = result.to_json()
    assert data["walked"] == 3  # only the new commits
    assert all(t["incremental"] for t in data["targets"])
    fresh = write_plan(tmp_path, out="fresh", history=history)
    api.split(fresh)
    for name in ("acme-lb", "acme-fw", "acme"):
        inc, new = tmp_path / "out" / name / ".git", tmp_path / "fresh" / name / ".git"
        assert read_map(inc / "spinout" / "commit-map") == read_map(new / "spinout" / "commit-map")
        assert git_refs(inc) == git_refs(new)
        subprocess.run(["git", "--git-dir", str(inc), "fsck", "--full"], check=True, capture_output=True)
        assert not (inc / "objects" / "info" / "alternates").exists()


def test_changed_plan_invalidates_state(
    tmp_path: Path, source: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path)
    assert run_cli("split", str(plan)) == 0
    plan.write_text(
        plan.read_text().replace('paths = ["acme/services/fw/"]', 'paths = ["acme/services/fw/", "README"]')
    )
    capsys.readouterr()
    assert run_cli("split", str(plan)) == 3
    assert "plan changed" in capsys.readouterr().err
    assert run_cli("split", str(plan), "--force") == 0
    assert (tmp_path / "out" / "acme-fw" / "README").exists()


def test_merge_ref_is_merged_into_main(tmp_path: Path, source: RepoBuilder) -> None:
    merge = 'merge = ["refs/heads/feature"]'
    plan = write_plan(tmp_path, merge=merge)
    plan.write_text(plan.read_text().replace('refs = ["refs/heads/*", "refs/tags/*"]', 'refs = ["refs/heads/main"]'))
    api.split(plan)
    repo = pygit2.Repository(str(tmp_path / "out" / "acme-lb"))
    head = repo.head.peel(pygit2.Commit)
    assert len(head.parents) == 2
    assert head.message == "Merge refs/heads/feature into refs/heads/main\n"
    assert head.author.name == "spinout"
    assert (tmp_path / "out" / "acme-lb" / "acme_lb" / "v2.py").read_text() == "v2\n"
    # the feature branch only exists for acme-lb; the other targets do not walk its commits
    fw_map = read_map(tmp_path / "out" / "acme-fw" / ".git" / "spinout" / "commit-map")
    feat = str(source.head("feature"))
    assert feat not in fw_map
    again = write_plan(tmp_path, out="again", merge=merge)
    again.write_text(again.read_text().replace('refs = ["refs/heads/*", "refs/tags/*"]', 'refs = ["refs/heads/main"]'))
    api.split(again)
    assert pygit2.Repository(str(tmp_path / "again" / "acme-lb")).head.target == head.id  # deterministic


def test_core_remove_mode(tmp_path: Path, source: RepoBuilder) -> None:
    plan = write_plan(tmp_path, history="remove")
    api.split(plan)
    core = pygit2.Repository(str(tmp_path / "out" / "acme"))
    head = core.head.peel(pygit2.Commit)
    assert [str(p) for p in head.parent_ids] == [source.head()]  # the source history as is, below
    files = subprocess.run(["git", "-C", str(tmp_path / "out" / "acme"), "ls-files"], capture_output=True, text=True)
    assert files.stdout.split() == ["README", "acme/__init__.py", "acme/db.py", "tox.ini"]  # shared tox.ini stays
    assert str(core.references["refs/heads/feature"].target) == source.head("feature")
    commit_map = read_map(tmp_path / "out" / "acme" / ".git" / "spinout" / "commit-map")
    assert len(commit_map) == 7 and all(old == new for old, new in commit_map.items())
    assert run_cli("verify-split", str(plan)) == 0
    # a later stage's commit on top (the code stage's shims) does not hide the removal commit from verification
    sig = pygit2.Signature("code", "code@example.com", 1, 0)
    core.create_commit("refs/heads/main", sig, sig, "shims\n", head.tree_id, [head.id])
    assert run_cli("verify-split", str(plan)) == 0


def test_verify_split_passes_and_catches_corruption(tmp_path: Path, source: RepoBuilder) -> None:
    plan = write_plan(tmp_path)
    verified = api.split(plan, verify=True).to_json()["verified"]
    assert verified == {"acme-lb": 5, "acme-fw": 1, "acme": 2}
    state = tmp_path / "out" / "acme-lb" / ".git" / "spinout" / "commit-state"
    raw = state.read_bytes()
    rows = [bytearray(raw[i : i + 41]) for i in range(0, len(raw), 41)]
    kept = [r for r in rows if r[40:] == b"k"]
    target = pygit2.Repository(str(tmp_path / "out" / "acme-lb"))
    trees = {bytes(r[20:40]): target[pygit2.Oid(raw=bytes(r[20:40]))].peel(pygit2.Commit).tree_id for r in kept}
    a, b = next((x, y) for x in kept for y in kept if trees[bytes(x[20:40])] != trees[bytes(y[20:40])])
    a[20:40], b[20:40] = b[20:40], a[20:40]  # two commits swapped: each now claims the other's tree
    state.write_bytes(b"".join(rows))
    assert run_cli("verify-split", str(plan)) == 6
    assert main(["verify-split", str(plan), "--json"]) == 6


def test_split_json_result(tmp_path: Path, source: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path)
    assert main(["split", str(plan), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["command"] == "split"
    assert {t["name"]: t["kept"] for t in data["targets"]} == {"acme-lb": 5, "acme-fw": 1, "acme": 2}


def test_follow_renames_keeps_old_names_under_the_names_they_had_then(
    tmp_path: Path, repo_builder: Callable[..., RepoBuilder]
) -> None:
    b = repo_builder("src")
    # more than a trivial file (follow_renames pairs those only where the path corroborates it)
    pool_py = "pool = Pool(size=0)\n"
    b.commit("quantum era", {"quantum/services/lb/pool.py": pool_py, "quantum/core.py": "c\n", "README": "q\n"})
    b.commit(
        "rename to acme",
        {
            "quantum/services/lb/pool.py": None,
            "acme/services/lb/pool.py": pool_py,
            "quantum/core.py": None,
            "acme/core.py": "c\n",
        },
    )
    b.commit("lb change", {"acme/services/lb/pool.py": "p = 1\n"})
    b.commit("fw", {"acme/services/fw/rules.py": "r\n", "etc/lb.ini": "x\n", "tox.ini": "t\n"})
    b.tag("v0", str(b.head()))
    plan = write_plan(tmp_path)
    plan.write_text(plan.read_text().replace('shared = ["tox.ini"]', 'shared = ["tox.ini"]\nfollow_renames = true'))
    result = api.split(plan)
    lb = next(t for t in result.to_json()["targets"] if t["name"] == "acme-lb")
    assert lb["followed"] == ["quantum/services/lb/pool.py"]  # the core file's old name is not the service's
    target = tmp_path / "out" / "acme-lb"
    repo = pygit2.Repository(str(target))
    log = list(repo.walk(repo.head.target))
    assert [c.message for c in log] == ["fw", "lb change", "rename to acme", "quantum era"]
    first = log[-1].tree
    blob = repo[(first / "quantum" / "services" / "lb" / "pool.py").id]  # under the name it had then
    assert isinstance(blob, pygit2.Blob) and blob.data == pool_py.encode()
    # the oracle: filter-repo keeping the old name as one more exact path
    expected_map, expected_refs = filter_repo(
        b.path / ".git",
        tmp_path / "fr",
        ["acme/services/lb/", "etc/lb.ini", "tox.ini", "quantum/services/lb/pool.py"],
        {"acme/services/lb/": "acme_lb/"},
    )
    assert read_map(target / ".git" / "spinout" / "commit-map") == expected_map
    assert git_refs(target / ".git") == expected_refs
    # a rerun with nothing new reuses the stored walk and changes nothing
    assert (tmp_path / "out" / api.RENAMES_STATE).is_file()
    again = api.split(plan)
    assert next(t for t in again.to_json()["targets"] if t["name"] == "acme-lb")["followed"] == lb["followed"]
    assert read_map(target / ".git" / "spinout" / "commit-map") == expected_map


def test_follow_renames_does_not_follow_a_copy(tmp_path: Path, repo_builder: Callable[..., RepoBuilder]) -> None:
    b = repo_builder("src")
    body = "".join(f"line {i}\n" for i in range(40))
    b.commit("core module", {"acme/core.py": body, "README": "q\n"})
    b.commit("lb starts as a copy of it", {"acme/services/lb/pool.py": body + "extra\n"})
    b.commit("the core module goes", {"acme/core.py": None})  # so it is no current file at the tip
    b.commit("fw", {"acme/services/fw/rules.py": "r\n", "etc/lb.ini": "x\n", "tox.ini": "t\n"})
    b.tag("v0", str(b.head()))
    plan = write_plan(tmp_path)
    plan.write_text(plan.read_text().replace('shared = ["tox.ini"]', 'shared = ["tox.ini"]\nfollow_renames = true'))
    # git log --follow would take acme/core.py as the copy's source
    follow = subprocess.run(
        ["git", "-C", str(b.path), "log", "--follow", "--name-only", "--format=", "--", "acme/services/lb/pool.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "acme/core.py" in follow
    lb = next(t for t in api.split(plan).to_json()["targets"] if t["name"] == "acme-lb")
    assert lb["followed"] == []


def test_interrupted_first_run_is_redone(tmp_path: Path, source: RepoBuilder) -> None:
    plan = write_plan(tmp_path)
    api.split(plan)
    expected = read_map(tmp_path / "out" / "acme-lb" / ".git" / "spinout" / "commit-map")
    (tmp_path / "out" / "acme-lb" / ".git" / "spinout" / "state.json").unlink()  # as if it stopped half-way
    result = api.split(plan)
    lb = next(t for t in result.to_json()["targets"] if t["name"] == "acme-lb")
    assert lb["incremental"] is False
    assert read_map(tmp_path / "out" / "acme-lb" / ".git" / "spinout" / "commit-map") == expected
