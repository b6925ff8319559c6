"""After rewrite, the service installs and imports in a fresh virtual environment next to the core.

One test, marked slow: a venv and two pip installs. The core's remaining tests run before the service is installed
(the core does not require it); the service's moved tests run after; the core's shims and entry-point aliases give
the very objects the service defines.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pygit2
import pytest

from spinout.cli import main
from spinout.code.gitops import read_tree
from tests.unit.code.monorepo import build


def export(repo_path: Path, dest: Path) -> Path:
    repo = pygit2.Repository(str(repo_path))
    tree = repo.references["refs/heads/main"].peel(pygit2.Commit).tree
    for path, data in read_tree(repo, tree).items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_bytes(data)
    return dest


def sh(*args: str | Path, cwd: Path) -> str:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_service_installs_and_its_tests_pass_next_to_the_core(tmp_path: Path) -> None:
    plan = build(tmp_path, bare=True)
    assert main(["rewrite", str(plan), "-q"]) == 0
    core = export(tmp_path / "out" / "acme", tmp_path / "core-src")
    svc = export(tmp_path / "out" / "acme-lb", tmp_path / "lb-src")
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    py = venv / "bin" / "python"
    sh(py, "-m", "pip", "install", "-q", "wheel", cwd=tmp_path)  # from the configured local index
    install = (py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation")

    sh(*install, core, cwd=tmp_path)
    out = sh(py, "-m", "unittest", "discover", "-s", "acme/tests", "-t", ".", cwd=core)
    assert "Ran 1 test" in out and "OK" in out
    missing = subprocess.run([py, "-c", "import acme.services.lb.plugin"], capture_output=True, text=True, check=False)
    assert missing.returncode == 1 and "No module named 'acme_lb'" in missing.stderr

    sh(*install, svc, cwd=tmp_path)
    out = sh(py, "-m", "unittest", "discover", "-s", "acme_lb/tests", "-t", ".", cwd=svc)
    assert "Ran 2 tests" in out and "OK" in out

    check = textwrap.dedent("""\
        import warnings
        from importlib.metadata import entry_points

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from acme.services.lb.plugin import Plugin as Old
        from acme_lb.services.lb.plugin import Plugin
        assert Old is Plugin
        assert any(w.category is DeprecationWarning and "acme_lb.services.lb.plugin" in str(w.message)
                   for w in caught), caught
        eps = {ep.name: ep for ep in entry_points(group="acme.plugins")}
        assert eps["lb"].load() is Plugin
        assert eps["acme.services.lb.plugin.Plugin"].load() is Plugin
        assert eps["core"].load().name == "core"
        print("compat ok")
        """)
    assert "compat ok" in sh(py, "-c", check, cwd=tmp_path)
