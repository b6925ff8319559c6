"""After rewrite, the services install and import in a fresh virtual environment next to the core.

One test, marked slow (one venv, pip installs), in two phases:

1. the small acme monorepo of tests/unit/code/monorepo.py: the core installs and its remaining tests pass without
   the service; the service installs and its moved tests pass; the core's shim and entry-point alias give the very
   class the service defines;
2. the sample monorepo (spinout.sample, pbr packaging): the core and the three services install; each service's
   moved tests pass, and so do the core's — which need the services: the sample's core keeps one import of the
   firewall (its `boundary.allow`) and a test that patches the old load balancer path, which the shims serve.

Third-party dependencies (pbr, oslo.config, SQLAlchemy, requests) come from this test run's own environment through
a .pth file; the sample's tests use the py2-era `mock` package, provided as an alias of unittest.mock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pygit2
import pytest
from tests.unit.code.monorepo import build
from tests.unit.code.test_rewrite_sample import split_sample

from spinout.cli import main
from spinout.code.gitops import read_tree


def export(repo_path: Path, dest: Path) -> Path:
    repo = pygit2.Repository(str(repo_path))
    tree = repo.references["refs/heads/main"].peel(pygit2.Commit).tree
    for path, data in read_tree(repo, tree).items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_bytes(data)
    return dest


def sh(*args: str | Path, cwd: Path) -> str:
    env = {**os.environ, "PBR_VERSION": "1.0.0"}  # pbr without git metadata
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_services_install_and_their_tests_pass_next_to_the_core(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    py = venv / "bin" / "python"
    purelib = Path(sh(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip())
    (purelib / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (purelib / "mock.py").write_text("from unittest.mock import *  # noqa: F403\n")
    sh(py, "-m", "pip", "install", "-q", "wheel", cwd=tmp_path)  # from the configured local index
    install = (py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation")

    # Phase 1: the small monorepo.
    plan = build(tmp_path / "small", bare=True)
    assert main(["rewrite", str(plan), "-q"]) == 0
    core = export(tmp_path / "small" / "out" / "acme", tmp_path / "small" / "core-src")
    svc = export(tmp_path / "small" / "out" / "acme-lb", tmp_path / "small" / "lb-src")
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
    sh(py, "-m", "pip", "uninstall", "-q", "-y", "acme", "acme-lb", cwd=tmp_path)

    # Phase 2: the sample monorepo, pbr packaging.
    plan = split_sample(tmp_path / "sample")
    assert main(["rewrite", str(plan), "-q"]) == 0
    out_dir = plan.parent / "out"
    names = {"acme-lb": "acme_lb", "acme-fw": "acme_fw", "acme-vpn": "acme_vpn"}
    trees = {name: export(out_dir / name, tmp_path / "sample" / f"{name}-src") for name in ["acme", *names]}
    sh(*install, trees["acme"], cwd=tmp_path)
    sh(py, "-c", "import acme.manager", cwd=tmp_path)
    for name in names:
        sh(*install, trees[name], cwd=tmp_path)
    for name, package in names.items():
        out = sh(py, "-m", "unittest", "discover", "-s", f"{package}/tests", "-t", ".", cwd=trees[name])
        assert "OK" in out and "Ran 0 tests" not in out, out
    out = sh(py, "-m", "unittest", "discover", "-s", "acme/tests", "-t", ".", cwd=trees["acme"])
    assert "Ran 2 tests" in out and "OK" in out
    plugins = sh(
        py,
        "-c",
        "from importlib.metadata import entry_points as e; "
        "print(sorted(f'{x.name}={x.value}' for x in e(group='acme.service_plugins')))",
        cwd=tmp_path,
    )
    assert "lbaas=acme_lb.services.lb.plugin:LoadBalancerPlugin" in plugins
    assert "acme.services.lb.plugin.LoadBalancerPlugin=acme_lb.services.lb.plugin:LoadBalancerPlugin" in plugins
