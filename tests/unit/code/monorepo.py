"""A small acme monorepo and its split targets, built the way `spinout split` leaves them.

The service target holds the service's files at their renamed paths; the core target holds what stayed (the
history stage's removal commit already deleted the moved paths). Tests of the code stage start from here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pygit2
from tests.fixtures.repobuilder import RepoBuilder

from spinout.plan.model import Plan, path_covers
from spinout.plan.modules import moved_files


def d(text: str) -> str:
    return textwrap.dedent(text)


SOURCE: dict[str, str] = {
    "pyproject.toml": d("""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "acme"
        version = "1.0.0"
        dependencies = []

        # plugins the core loads by name
        [project.entry-points."acme.plugins"]
        core = "acme.core:Core"
        lb = "acme.services.lb.plugin:Plugin"

        [tool.setuptools.packages.find]
        include = ["acme", "acme.*"]
        """),
    "tox.ini": d("""\
        [testenv]
        commands = python -m unittest discover -s acme/tests/unit/services/lb -t .
        """),
    ".gitreview": "[gerrit]\nhost=review.example.org\nproject=openstack/acme.git\n",
    "README.rst": "acme\n====\n\nThe load balancer lives in acme.services.lb.plugin.\n",
    "acme/__init__.py": "",
    "acme/core.py": d("""\
        class Core:
            name = "core"
        """),
    "acme/services/__init__.py": "",
    "acme/services/service_base.py": d("""\
        class ServiceBase:
            kind = "base"
        """),
    "acme/services/provider_configuration.py": "PROVIDERS = ['acme.services.lb.plugin.Plugin']\n",
    "acme/services/lb/__init__.py": "",
    "acme/services/lb/plugin.py": d("""\
        \"\"\"The load balancer plugin.\"\"\"
        from acme.services import service_base, provider_configuration as pconf
        from . import drivers
        from .drivers import haproxy


        class Plugin(service_base.ServiceBase):
            driver = "acme.services.lb.drivers.haproxy:Driver"

            def providers(self):
                return pconf.PROVIDERS

            def make_driver(self):
                return haproxy.Driver(), drivers
        """),
    "acme/services/lb/drivers/__init__.py": "",
    "acme/services/lb/drivers/haproxy.py": d("""\
        import acme.services.lb.plugin


        class Driver:
            def plugin_class(self):
                return acme.services.lb.plugin.Plugin
        """),
    "acme/services/lb/legacy.py": d("""\
        import acme.services.lb.plugin

        def check():
            try:
                return acme.services.lb.plugin.Plugin
            except KeyError, e:
                print "acme.services.lb.plugin failed", e
        """),
    "acme/tests/__init__.py": "",
    "acme/tests/test_core.py": d("""\
        import unittest

        from acme import core
        from acme.services import provider_configuration


        class TestCore(unittest.TestCase):
            def test_core(self):
                self.assertEqual(core.Core.name, "core")
                self.assertEqual(len(provider_configuration.PROVIDERS), 1)
        """),
    "acme/tests/unit/__init__.py": "",
    "acme/tests/unit/services/__init__.py": "",
    "acme/tests/unit/services/lb/__init__.py": "",
    "acme/tests/unit/services/lb/test_plugin.py": d("""\
        import unittest
        from unittest import mock

        from acme.services.lb import plugin
        from acme.services.lb.drivers import haproxy
        import acme.services.lb.drivers.haproxy


        class TestPlugin(unittest.TestCase):
            @mock.patch('acme.services.lb.plugin.Plugin.providers', return_value=['x'])
            def test_patched(self, providers):
                self.assertEqual(plugin.Plugin().providers(), ['x'])

            def test_driver(self):
                self.assertIs(haproxy.Driver().plugin_class(), plugin.Plugin)
                self.assertEqual(plugin.Plugin.kind, "base")
                self.assertIs(acme.services.lb.drivers.haproxy.Driver, haproxy.Driver)
                self.assertEqual(plugin.Plugin.driver.split(":")[0], haproxy.__name__)
        """),
    "etc/lb.ini": "[DEFAULT]\n# the driver\ndriver = acme.services.lb.drivers.haproxy.Driver\n",
}

PLAN = d("""\
    [source]
    repo = "source"

    [core]
    name = "acme"
    package = "acme"

    [output]
    dir = "out"

    [[service]]
    name = "acme-lb"
    package = "acme_lb"
    paths = ["acme/__init__.py", "acme/services/__init__.py", "acme/services/lb/", "acme/tests/__init__.py",
             "acme/tests/unit/__init__.py", "acme/tests/unit/services/__init__.py", "acme/tests/unit/services/lb/",
             "etc/lb.ini", "tox.ini", ".gitreview", "README.rst"]
    shared = ["acme/__init__.py", "acme/services/__init__.py", "acme/tests/__init__.py",
              "acme/tests/unit/__init__.py", "acme/tests/unit/services/__init__.py", "tox.ini", ".gitreview",
              "README.rst"]
    rename = { "acme/" = "acme_lb/" }
    """)


def build(root: Path, *, source: dict[str, str] | None = None, bare: bool = False, extra_plan: str = "") -> Path:
    """Source repo, plan, and the split targets under root/out; returns the plan path."""
    files = dict(SOURCE if source is None else source)
    src = RepoBuilder(root / "source")
    src.commit("initial", files)
    plan_text = (PLAN if not bare else PLAN.replace('dir = "out"', 'dir = "out"\nbare = true')) + extra_plan
    plan_path = root / "plan.toml"
    plan_path.write_text(plan_text)
    from spinout.plan.load import load_plan

    plan: Plan = load_plan(plan_path)
    service = plan.service[0]
    svc_files = {service.renamed(f): c for f, c in files.items() if any(path_covers(p, f) for p in service.paths)}
    core_files = {f: c for f, c in files.items() if f not in moved_files(service, list(files))}
    for name, tree in ((service.name, svc_files), (plan.core.name, core_files)):
        rb = RepoBuilder(plan.target_dir(name), bare=bare)
        rb.commit("split", tree)
        if not bare:
            rb.repo.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE)  # type: ignore[no-untyped-call]
    return plan_path


def blob(repo_path: Path, path: str, ref: str = "refs/heads/main") -> str:
    repo = pygit2.Repository(str(repo_path))
    tree = repo.references[ref].peel(pygit2.Commit).tree
    return repo[tree[path].id].peel(pygit2.Blob).data.decode()


def tip(repo_path: Path, ref: str = "refs/heads/main") -> pygit2.Commit:
    return pygit2.Repository(str(repo_path)).references[ref].peel(pygit2.Commit)
