"""Where spinout writes (issue 17, §3 items 1, 2 and 7): never into the source repository, never over the plan's
folder, and `--force` replaces only what spinout created.

Before the fix: with `output.dir = "."` and the core named after the source's folder, `split --force` emptied the
source (every commit gone) and exited 70; with `dir = ".."` and the core named after the plan's folder it removed
plan, database, config and source; `rewrite` committed onto the source's main through the same gap;
`source.repo = "acme/.git"` let output.dir sit inside the source work tree; `conf split --config-dir <source>`,
`db migrations --out <inside the source>` and `guard --repo <source work tree>` wrote there.
Each test starts from the pristine sample (repository, database, config, plan).
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pygit2
import pytest

from spinout.cli import main
from spinout.errors import UnsafeSourceError
from spinout.history import split as history_split
from spinout.history.split import TargetSpec, targets_from_plan
from spinout.progress import NullProgress
from spinout.sample import build_sample
from tests.fixtures.snapshot import assert_unchanged, changes, snapshot


@pytest.fixture
def w(tmp_path: Path) -> Path:
    """The sample's folder: acme/ (the source), acme.db, config/, plan.toml (output.dir "out", core "acme")."""
    return build_sample(tmp_path / "w", commits=60, rows=2).root


def _set(w: Path, edits: dict[str, str]) -> Path:
    plan = w / "plan.toml"
    text = plan.read_text()
    for old, new in edits.items():
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    plan.write_text(text)
    return plan


def _commits(repo: Path) -> int:
    out = subprocess.run(["git", "-C", str(repo), "rev-list", "--all", "--count"], capture_output=True, text=True)
    return int(out.stdout)


def _run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_target_that_is_the_source_is_a_plan_problem(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _set(w, {'dir = "out"': 'dir = "."'})
    before = snapshot(w)
    code, out = _run("plan", "check", str(plan), capsys=capsys)
    assert code == 2, out
    assert f"core.name: the target directory '{w / 'acme'}' is the source repository '{w / 'acme'}'" in out
    assert_unchanged(w, before)


def test_split_force_never_empties_the_source(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _set(w, {'dir = "out"': 'dir = "."'})
    commits = _commits(w / "acme")
    before = snapshot(w)
    code, out = _run("split", str(plan), "--force", capsys=capsys)
    assert code == 2, out
    assert "is the source repository" in out
    assert _commits(w / "acme") == commits
    assert_unchanged(w, before)  # no service target was written either


def test_split_force_never_removes_the_plans_folder(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # output.dir is the folder above the plan's, and the core is named after the plan's folder ("w"), which holds
    # the plan, the database, the config and the source
    plan = _set(w, {'dir = "out"': 'dir = ".."', 'name = "acme"\npackage': 'name = "w"\npackage'})
    before = snapshot(w.parent)
    code, out = _run("split", str(plan), "--force", capsys=capsys)
    assert code == 2, out
    assert f"core.name: the target directory '{w}' contains the source repository" in out
    assert_unchanged(w.parent, before)


def test_a_symlinked_target_into_the_source_counts_as_the_source(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (w / "out").mkdir()
    (w / "out" / "acme").symlink_to(w / "acme")  # out/acme -> ../acme: the core's target resolves to the source
    plan = w / "plan.toml"
    before = snapshot(w)
    code, out = _run("split", str(plan), "--force", capsys=capsys)
    assert code == 2, out
    assert f"core.name: the target directory '{w / 'acme'}' is the source repository" in out
    assert_unchanged(w, before)


def test_a_symlinked_output_dir_into_the_source_is_refused(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Held before the fix too (output.dir was resolved); kept under test."""
    (w / "out").symlink_to(w / "acme" / "tools")
    before = snapshot(w)
    code, out = _run("split", str(w / "plan.toml"), "--force", capsys=capsys)
    assert code == 2, out
    assert f"output.dir: 'out' is inside the source repository '{w / 'acme'}'" in out
    assert_unchanged(w, before)


def test_split_force_keeps_a_directory_spinout_did_not_create(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = w / "out" / "acme-vpn"  # the second target prepared: refused before the first is written
    foreign.mkdir(parents=True)
    (foreign / "precious.txt").write_text("mine\n")
    before = snapshot(w)
    code, out = _run("split", str(w / "plan.toml"), "--force", capsys=capsys)
    assert code == 3, out
    assert "was not created by spinout" in out and "even with --force" in out
    # only the output directory's lock (a declared output); no other target written, the foreign one untouched
    assert changes(before, snapshot(w)) == ["changed out: mtime", "added out/.spinout.lock"]


def test_rewrite_never_commits_onto_the_source(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # split with the core named acme-core beside the source, then rename the core after the source's folder
    plan = _set(w, {'dir = "out"': 'dir = "."', 'name = "acme"\npackage': 'name = "acme-core"\npackage'})
    assert main(["split", str(plan), "--quiet"]) == 0
    _set(w, {'name = "acme-core"': 'name = "acme"'})
    before = snapshot(w / "acme")
    capsys.readouterr()
    code, out = _run("rewrite", str(plan), capsys=capsys)
    assert code == 2, out
    assert "core.name: the target directory" in out and "is the source repository" in out
    assert_unchanged(w / "acme", before)


def test_a_source_named_by_its_git_dir_still_keeps_output_dir_out(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _set(w, {'repo = "acme"': 'repo = "acme/.git"', 'dir = "out"': 'dir = "acme/out"'})
    before = snapshot(w)
    code, out = _run("split", str(plan), capsys=capsys)
    assert code == 2, out
    assert f"output.dir: 'acme/out' is inside the source repository '{w / 'acme'}'" in out
    assert_unchanged(w, before)


@pytest.mark.parametrize("where", ["acme", "acme/etc", "link"])
def test_conf_split_never_edits_the_source(w: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    (w / "link").symlink_to(w / "acme")
    before = snapshot(w / "acme")
    code, out = _run("conf", "split", str(w / "plan.toml"), "--config-dir", str(w / where), capsys=capsys)
    assert code == 3, out
    assert "the config directory" in out and "the source repository" in out
    assert_unchanged(w / "acme", before)


def test_conf_split_never_writes_through_a_link_into_the_source(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a config directory of its own, whose etc/ is a link into the source's etc/
    conf = w / "deploy"
    conf.mkdir()
    (conf / "etc").symlink_to(w / "acme" / "etc")
    before = snapshot(w / "acme")
    code, out = _run("conf", "split", str(w / "plan.toml"), "--config-dir", str(conf), capsys=capsys)
    assert code == 3, out
    assert "is inside the source repository" in out
    assert_unchanged(w / "acme", before)


def test_upgrade_never_edits_the_source(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(w / "acme")
    code, out = _run(
        "upgrade", str(w / "plan.toml"), "--config-dir", str(w / "acme"), "--db-url", f"sqlite:///{w / 'acme.db'}",
        capsys=capsys,
    )  # fmt: skip
    assert code == 3, out
    assert_unchanged(w / "acme", before)


@pytest.mark.parametrize("out_dir", ["acme/migrations", "."])
def test_db_migrations_never_write_into_the_source(w: Path, out_dir: str, capsys: pytest.CaptureFixture[str]) -> None:
    # "." is the sample's folder: the core's environment would go to ./acme, the source
    before = snapshot(w / "acme")
    url = f"sqlite:///{w / 'acme.db'}"
    args = ["db", "migrations", str(w / "plan.toml"), "--db-url", url, "--out", str(w / out_dir)]
    code, out = _run(*args, capsys=capsys)
    assert code == 3, out
    assert "the migrations directory" in out and "the source repository" in out
    assert_unchanged(w / "acme", before)


def test_guard_never_writes_into_a_source_named_by_its_git_dir(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _set(w, {'repo = "acme"': 'repo = "acme/.git"'})
    before = snapshot(w / "acme")
    code, out = _run("guard", str(plan), "--repo", str(w / "acme"), capsys=capsys)
    assert code == 3, out
    assert "which spinout never writes to" in out
    assert_unchanged(w / "acme", before)


def test_coupling_never_draws_into_the_source(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(w / "acme")
    svg = w / "acme" / "coupling.svg"
    code, out = _run("coupling", str(w / "plan.toml"), "--svg", str(svg), capsys=capsys)
    assert code == 3, out
    assert_unchanged(w / "acme", before)


# --- the history stage's own check, right before it writes or removes (whatever plan check said) ---------------


def _specs(w: Path, core_path: Path, plan_dir: Path | None = None) -> list[TargetSpec]:
    from spinout.plan.load import load_plan

    specs = targets_from_plan(load_plan(w / "plan.toml"))
    return [dataclasses.replace(s, path=core_path, plan_dir=plan_dir) if s.name == "acme" else s for s in specs]


@pytest.mark.parametrize("where", ["source", "inside", "above", "above, plan elsewhere", "plan folder"])
def test_the_split_itself_refuses_before_writing_anything(w: Path, where: str) -> None:
    """A caller that skipped plan check (or a link swapped after it) still cannot make split remove the source."""
    core_path = {"source": w / "acme", "inside": w / "acme" / "x", "plan folder": w}.get(where, w.parent)
    plan_dir = None if where == "above, plan elsewhere" else w
    # mark the place as spinout's own, so that only the place check stands between --force and the removal
    (core_path / ".git" / "spinout").mkdir(parents=True, exist_ok=True)
    before = snapshot(w.parent)
    source = pygit2.Repository(str(w / "acme"))
    with pytest.raises(UnsafeSourceError, match="spinout never writes into nor removes it"):
        history_split.split(source, _specs(w, core_path, plan_dir), force=True, progress=NullProgress(), jobs=1)
    assert_unchanged(w.parent, before)


def test_prepare_target_checks_again_right_before_the_removal(w: Path) -> None:
    spec = next(s for s in _specs(w, w / "acme", w) if s.name == "acme")
    (w / "acme" / ".git" / "spinout").mkdir()
    before = snapshot(w / "acme")
    with pytest.raises(UnsafeSourceError, match="is the source repository"):
        history_split.prepare_target(spec, True, history_split.repository_dirs(pygit2.Repository(str(w / "acme"))))
    assert_unchanged(w / "acme", before)


def test_a_linked_target_of_spinouts_is_not_replaced_through_the_link(w: Path) -> None:
    elsewhere = w.parent / "elsewhere"
    (elsewhere / ".git" / "spinout").mkdir(parents=True)
    (elsewhere / "keep.txt").write_text("kept\n")
    (w / "out").mkdir()
    (w / "out" / "acme-fw").symlink_to(elsewhere)
    spec = next(s for s in _specs(w, w / "out" / "acme", w) if s.name == "acme-fw")
    before = snapshot(elsewhere)
    with pytest.raises(UnsafeSourceError, match="symbolic link"):
        history_split.prepare_target(spec, True, ())
    assert_unchanged(elsewhere, before)


def test_a_linked_work_tree_source_protects_its_main_repository(w: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A source that is a linked work tree (`git worktree add`) shares objects and refs with the main repository:
    spinout writes into neither its git directory nor its work tree."""
    subprocess.run(
        ["git", "-C", str(w / "acme"), "worktree", "add", "-q", "--detach", str(w / "acme-wt")],
        check=True,
        capture_output=True,
    )
    plan = _set(w, {'repo = "acme"': 'repo = "acme-wt"', 'dir = "out"': 'dir = "acme/out"'})
    before = snapshot(w / "acme")
    code, out = _run("plan", "check", str(plan), capsys=capsys)
    assert code == 2, out
    assert f"output.dir: 'acme/out' is inside the source repository '{w / 'acme'}" in out
    assert_unchanged(w / "acme", before)


def test_a_plan_whose_source_is_no_repository_protects_nothing_else(tmp_path: Path) -> None:
    """The commands that do not need the repository (the data stage) still run where the plan's source.repo is no
    repository at all; inside one, that repository is protected."""
    from spinout.repo import source_dirs

    (tmp_path / "plain").mkdir()
    assert source_dirs(tmp_path / "plain") == ()
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "sub").mkdir()
    assert repo.resolve() in source_dirs(repo / "sub")
