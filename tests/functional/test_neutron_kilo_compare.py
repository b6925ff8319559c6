"""examples/neutron-kilo/compare.py: its rewrite extractor and split-commit finder on crafted diffs and repositories.

The real comparison needs clones of the service repositories (see examples/neutron-kilo/README.md); these tests pin
down the pieces the numbers in the README come from, on inputs whose answer is known by construction.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.fixtures.repobuilder import RepoBuilder

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "neutron-kilo" / "compare.py"


@pytest.fixture(scope="module")
def compare() -> ModuleType:
    spec = importlib.util.spec_from_file_location("neutron_kilo_compare", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_references_reads_import_forms_and_dotted_strings(compare: ModuleType) -> None:
    assert compare.references("from neutron.services import provider_configuration as pconf, service_base") == {
        "neutron.services.provider_configuration",
        "neutron.services.service_base",
    }
    assert compare.references("import neutron.db.loadbalancer.loadbalancer_db as ldb") == {
        "neutron.db.loadbalancer.loadbalancer_db"
    }
    assert compare.references("    mock.patch('neutron_lbaas.services.loadbalancer.plugin.X').start()") == {
        "neutron_lbaas.services.loadbalancer.plugin.X"
    }
    # A dotted name glued to another word is not a reference to neutron.
    assert compare.references("x = myneutron.a.b + 'a.neutron.c'") == set()
    assert compare.references("from oslo.config import cfg") == set()


DIFF = """\
diff --git a/neutron/services/loadbalancer/plugin.py b/neutron_lbaas/services/loadbalancer/plugin.py
@@ -20,2 +20,0 @@
-from neutron.services import provider_configuration as pconf
-from neutron.db.loadbalancer import loadbalancer_db as ldb
@@ -30,0 +29,2 @@
+from neutron_lbaas.db.loadbalancer import loadbalancer_db as ldb
+from neutron_lbaas.services import provider_configuration as pconf
diff --git a/neutron_lbaas/tests/unit/test_plugin.py b/neutron_lbaas/tests/unit/test_plugin.py
@@ -5 +5 @@
-from neutron_lbaas.services import service_base
+from neutron.services import service_base
@@ -9 +9 @@
-    cfg.CONF.set_override('x', 'neutron.common.rpc')
+    cfg.CONF.set_override('x', 'neutron.common.rpc.Y')
"""


def test_renames_pairs_removed_and_added_names_within_one_file(compare: ModuleType) -> None:
    r = compare.renames_in_diff(DIFF, "neutron_lbaas")
    assert dict(r.forward) == {
        ("neutron.services.provider_configuration", "neutron_lbaas.services.provider_configuration"): 1,
        ("neutron.db.loadbalancer.loadbalancer_db", "neutron_lbaas.db.loadbalancer.loadbalancer_db"): 1,
    }
    assert dict(r.revert) == {("neutron_lbaas.services.service_base", "neutron.services.service_base"): 1}


def test_a_rewrite_is_broken_when_the_new_name_reaches_less_deep(compare: ModuleType) -> None:
    neutron = {"neutron/__init__.py", "neutron/services/__init__.py", "neutron/services/provider_configuration.py"}
    neutron |= {"neutron/db/loadbalancer/__init__.py", "neutron/db/loadbalancer/loadbalancer_db.py"}
    service = {"neutron_lbaas/__init__.py", "neutron_lbaas/services/__init__.py"}
    service |= {"neutron_lbaas/db/loadbalancer/__init__.py", "neutron_lbaas/db/loadbalancer/loadbalancer_db.py"}
    assert compare.module_depth("neutron.db.loadbalancer.loadbalancer_db.Pool", neutron) == 4
    assert compare.module_depth("neutron_lbaas.services.provider_configuration", service) == 2
    r = compare.renames_in_diff(DIFF, "neutron_lbaas")
    assert dict(compare.broken(r.forward, neutron, service)) == {
        ("neutron.services.provider_configuration", "neutron_lbaas.services.provider_configuration"): 1
    }


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def test_split_commit_and_fixups_of_a_service_repository(compare: ModuleType, tmp_path: Path) -> None:
    b = RepoBuilder(tmp_path / "svc")
    b.commit("old history", {"neutron/__init__.py": "", "neutron/services/vpn/a.py": "import neutron.x\n"})
    split = b.commit(
        "Split vpnaas",
        {
            "neutron/__init__.py": None,
            "neutron/services/vpn/a.py": None,
            "neutron_vpnaas/__init__.py": "",
            "neutron_vpnaas/services/vpn/a.py": "import neutron_vpnaas.x\n",
        },
    )
    fix = b.commit("fix-up", {"neutron_vpnaas/services/vpn/a.py": "import neutron.x\n"})
    b.clock += 5 * 86400
    b.commit("later", {"neutron_vpnaas/services/vpn/b.py": ""})
    repo = tmp_path / "svc"
    assert compare.their_split_commit(repo, "vpnaas") == str(split)
    # The last commit is five days later: only the fix-up is within one day of the split.
    assert compare.fixups(repo, str(split), 1) == [str(fix)]
    assert len(compare.fixups(repo, str(split), 10)) == 2
    found = compare.renames_in_diff(compare.show(repo, str(fix)), "neutron_vpnaas")
    assert dict(found.revert) == {("neutron_vpnaas.x", "neutron.x"): 1}
    # Before the split commit (as compare.py asks), one commit touched the old path.
    assert compare.oldest(repo, f"{split}^1", ["neutron/services/vpn/"])["commits"] == 1
    with pytest.raises(SystemExit, match=r"neutron_lbaas/__init__\.py"):
        compare.their_split_commit(repo, "lbaas")


# What the real repositories show (read by hand from their histories): the split commit's subject, and the
# names the 2014 sed renamed although their modules stayed in neutron, which later commits turned back.
REAL = {
    "lbaas": (
        "Split lbaas services code into neutron-lbaas",
        {"neutron.services.provider_configuration", "neutron.services.service_base"},
    ),
    "fwaas": ("Split fwaas services code into neutron-fwaas", set()),
    "vpnaas": ("Split vpnaas services code into neutron-vpnaas", {"neutron.services.service_base"}),
}


@pytest.mark.parametrize("svc", sorted(REAL))
def test_compare_on_the_real_service_repository(compare: ModuleType, svc: str, tmp_path: Path) -> None:
    neutron = os.environ.get("SPINOUT_NEUTRON_CLONE")
    clone = os.environ.get(f"SPINOUT_NEUTRON_{svc.upper()}")
    if not neutron or not clone:
        pytest.skip(f"set SPINOUT_NEUTRON_CLONE and SPINOUT_NEUTRON_{svc.upper()} to clones of the repositories")
    # An OUT as run.sh leaves it before any stage ran: only the scratch clone of neutron.
    _git(tmp_path, "clone", "--quiet", "--bare", "--shared", neutron, str(tmp_path / "neutron"))
    report = compare.compare_service(tmp_path, svc, Path(clone), 31)
    subject, broken_names = REAL[svc]
    theirs = report["theirs"]
    assert theirs["split_commit"].endswith(subject)
    assert {b.split(" -> ")[0] for b in theirs["rewrites"]["split_commit_broken"]} == broken_names
    assert {r.split(" -> ")[1] for r in theirs["rewrites"]["reverted_names"]} >= broken_names
    # split.sh kept history only from the Quantum → Neutron rename (2013-07-03) on. The db module, not the
    # plugin: `git log --follow`'s own heuristic takes VPNaaS's plugin.py to unrelated 2011 files.
    db_module = f"neutron/{compare.KEY_FILES[svc][0]}"
    assert theirs["key_files"][db_module]["oldest"] >= "2013-07"
    assert report["ours"] is None
