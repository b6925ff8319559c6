"""`spinout rewrite` end to end on split targets built the way `spinout split` leaves them."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest
from tests.unit.code.monorepo import SOURCE, blob, build, d, tip

from spinout.cli import main
from spinout.code.gitops import TRAILER


def targets(root: Path) -> tuple[Path, Path]:
    return root / "out" / "acme-lb", root / "out" / "acme"


def test_rewrite_service_and_core(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = build(tmp_path)
    svc, core = targets(tmp_path)
    svc_base, core_base = tip(svc), tip(core)
    assert main(["rewrite", str(plan), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)

    # One commit on each target, on top of the split, with the trailer; deterministic signature.
    for repo, base in ((svc, svc_base), (core, core_base)):
        head = tip(repo)
        assert [p.id for p in head.parents] == [base.id]
        assert head.committer.time == base.committer.time + 1
        assert head.author.email == base.committer.email
    assert tip(svc).message.endswith(f"\n{TRAILER}: acme-lb\n")
    assert tip(core).message.endswith(f"\n{TRAILER}: acme\n")

    assert blob(svc, "acme_lb/services/lb/drivers/haproxy.py") == d("""\
        import acme_lb.services.lb.plugin


        class Driver:
            def plugin_class(self):
                return acme_lb.services.lb.plugin.Plugin
        """)
    # Core modules keep their names; valid relative imports stay relative.
    plugin = blob(svc, "acme_lb/services/lb/plugin.py")
    assert plugin == SOURCE["acme/services/lb/plugin.py"].replace(
        '"acme.services.lb.drivers.haproxy:Driver"', '"acme_lb.services.lb.drivers.haproxy:Driver"'
    )
    assert "mock.patch('acme_lb.services.lb.plugin.Plugin.providers'" in blob(
        svc, "acme_lb/tests/unit/services/lb/test_plugin.py"
    )
    assert blob(svc, "etc/lb.ini").endswith("driver = acme_lb.services.lb.drivers.haproxy.Driver\n")
    assert "-s acme_lb/tests/unit/services/lb -t ." in blob(svc, "tox.ini")
    assert "project=openstack/acme-lb.git\n" in blob(svc, ".gitreview")
    assert "acme_lb.services.lb.plugin." in blob(svc, "README.rst")
    legacy = blob(svc, "acme_lb/services/lb/legacy.py")
    assert "except KeyError, e:" in legacy and 'print "acme_lb.services.lb.plugin failed", e' in legacy

    pyproject = blob(svc, "pyproject.toml")
    assert 'name = "acme-lb"' in pyproject
    assert 'dependencies = ["acme"]' in pyproject
    assert '"lb" = "acme_lb.services.lb.plugin:Plugin"' in pyproject
    assert '"core"' not in pyproject

    # The core: shims (none for tests), entry point moved out, alias from the old class path.
    shim = blob(core, "acme/services/lb/plugin.py")
    assert 'import_module("acme_lb.services.lb.plugin")' in shim and "DeprecationWarning" in shim
    tree = pygit2.Repository(str(core)).references["refs/heads/main"].peel(pygit2.Commit).tree
    assert "acme/tests/unit/services/lb/test_plugin.py" not in _paths(tree)
    core_pyproject = blob(core, "pyproject.toml")
    assert 'lb = "acme.services.lb.plugin:Plugin"' not in core_pyproject
    assert '"acme.services.lb.plugin.Plugin" = "acme_lb.services.lb.plugin:Plugin"' in core_pyproject
    assert 'core = "acme.core:Core"' in core_pyproject

    # The JSON listing names every rewrite with file, line, old, new, kind.
    lb = next(t for t in report["targets"] if t["target"] == "acme-lb")
    assert lb["fallback"] == ["acme_lb/services/lb/legacy.py"]
    assert {
        "file": "acme_lb/services/lb/drivers/haproxy.py",
        "line": 6,
        "old": "acme.services.lb.plugin",
        "new": "acme_lb.services.lb.plugin",
        "kind": "attribute",
    } in lb["rewrites"]
    assert {r["kind"] for r in lb["rewrites"]} >= {"import", "from-import", "string", "fallback-name"}

    # The work tree of a non-bare target follows the branch.
    assert (svc / "acme_lb/services/lb/drivers/haproxy.py").read_text() == blob(
        svc, "acme_lb/services/lb/drivers/haproxy.py"
    )
    assert (svc / "pyproject.toml").exists()


def _paths(tree: pygit2.Tree) -> set[str]:
    index = pygit2.Index()
    index.read_tree(tree)
    return {e.path for e in index}


def test_rerun_does_not_stack(tmp_path: Path) -> None:
    plan = build(tmp_path)
    svc, core = targets(tmp_path)
    assert main(["rewrite", str(plan), "-q"]) == 0
    first = (tip(svc).id, tip(core).id)
    assert main(["rewrite", str(plan), "-q"]) == 0
    assert (tip(svc).id, tip(core).id) == first


def test_dry_run_writes_nothing_and_prints_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = build(tmp_path, bare=True)
    svc, core = targets(tmp_path)
    before = (tip(svc).id, tip(core).id)
    assert main(["rewrite", str(plan), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert (tip(svc).id, tip(core).id) == before
    assert "--- a/acme_lb/services/lb/drivers/haproxy.py\n+++ b/acme_lb/services/lb/drivers/haproxy.py\n" in out
    assert "-import acme.services.lb.plugin\n+import acme_lb.services.lb.plugin\n" in out
    assert "--- /dev/null\n+++ b/pyproject.toml\n" in out


def test_bare_targets_get_the_commit(tmp_path: Path) -> None:
    plan = build(tmp_path, bare=True)
    svc, _ = targets(tmp_path)
    assert main(["rewrite", str(plan), "-q"]) == 0
    assert blob(svc, "acme_lb/services/lb/drivers/haproxy.py").startswith("import acme_lb.services.lb.plugin\n")


def test_new_pyflakes_error_fails_the_stage_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Crafted: `del acme` after `import acme.services.lb.plugin` keeps `acme` needed, and the rewritten
    import is then unused: a new pyflakes unused-import message."""
    source = dict(SOURCE)
    source["acme/services/lb/register.py"] = "import acme.services.lb.plugin\n\ndel acme\n"
    plan = build(tmp_path, source=source)
    svc, core = targets(tmp_path)
    before = (tip(svc).id, tip(core).id)
    assert main(["rewrite", str(plan)]) == 6
    err = capsys.readouterr().err
    assert "acme_lb/services/lb/register.py:1: 'acme_lb.services.lb.plugin' imported but unused" in err
    assert (tip(svc).id, tip(core).id) == before


def test_missing_target_says_run_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = build(tmp_path, bare=True)
    import shutil

    shutil.rmtree(tmp_path / "out" / "acme")
    assert main(["rewrite", str(plan)]) == 3
    assert "spinout split" in capsys.readouterr().err


def test_plan_chooses_reference_files_and_exclusions(tmp_path: Path) -> None:
    extra = '\n[code]\nreferences = ["etc/*.ini"]\nexclude = ["acme_lb/services/lb/legacy.py"]\n'
    plan = build(tmp_path, bare=True, extra_plan=extra)
    svc, _ = targets(tmp_path)
    assert main(["rewrite", str(plan), "-q"]) == 0
    assert blob(svc, "etc/lb.ini").endswith("driver = acme_lb.services.lb.drivers.haproxy.Driver\n")
    assert blob(svc, "README.rst") == SOURCE["README.rst"]
    assert blob(svc, "tox.ini") == SOURCE["tox.ini"]
    assert blob(svc, "acme_lb/services/lb/legacy.py") == SOURCE["acme/services/lb/legacy.py"]


def test_target_dir_inside_another_repository_is_not_taken_for_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty target dir under an enclosing repository must not resolve to that repository."""
    plan = build(tmp_path, bare=True)
    import shutil

    shutil.rmtree(tmp_path / "out" / "acme")
    (tmp_path / "out" / "acme").mkdir()
    pygit2.init_repository(str(tmp_path))  # an enclosing repository with a main branch
    assert main(["rewrite", str(plan)]) == 3
    assert "is not a git repository" in capsys.readouterr().err
