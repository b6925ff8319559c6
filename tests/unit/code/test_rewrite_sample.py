"""`spinout rewrite` on the sample monorepo (spinout.sample), its targets split the way `spinout split` leaves them."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest
from tests.fixtures.repobuilder import RepoBuilder
from tests.unit.code.monorepo import blob

from spinout.cli import main
from spinout.code.gitops import read_tree
from spinout.plan.load import load_plan
from spinout.plan.model import path_covers
from spinout.plan.modules import moved_files
from spinout.sample import MIN_COMMITS, build_sample


def split_sample(root: Path) -> Path:
    info = build_sample(root / "sample", commits=MIN_COMMITS, rows=10)
    plan = load_plan(info.plan)
    src = pygit2.Repository(str(plan.source_repo))
    files = read_tree(src, src.references[plan.source.main_ref].peel(pygit2.Commit).tree)
    moved: set[str] = set()
    for svc in plan.service:
        moved |= set(moved_files(svc, list(files)))
        tree = {svc.renamed(f): c for f, c in files.items() if any(path_covers(p, f) for p in svc.paths)}
        RepoBuilder(plan.target_dir(svc.name), bare=True).commit("split", tree)
    RepoBuilder(plan.target_dir(plan.core.name), bare=True).commit(
        "removal", {f: c for f, c in files.items() if f not in moved}
    )
    return info.plan


def test_sample_rewrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_path = split_sample(tmp_path)
    assert main(["rewrite", str(plan_path), "--json"]) == 0
    report = {t["target"]: t for t in json.loads(capsys.readouterr().out)["targets"]}
    out = plan_path.parent / "out"

    assert report["acme-vpn"]["fallback"] == ["acme_vpn/services/vpn/device_drivers/cisco_csr_rest_client.py"]
    assert report["acme-lb"]["fallback"] == []
    plugin = blob(out / "acme-lb", "acme_lb/services/lb/plugin.py")
    # Moved modules renamed; the core modules next to them (the 2014 trap) keep their names.
    assert "from acme_lb.db.lb import loadbalancer_db as ldb\n" in plugin
    assert "from acme.services import provider_configuration as pconf\n" in plugin
    assert "from acme.services import service_base\n" in plugin
    setup_cfg = blob(out / "acme-lb", "setup.cfg")
    assert "name = acme-lb\n" in setup_cfg
    assert "lbaas = acme_lb.services.lb.plugin:LoadBalancerPlugin" in setup_cfg
    assert "firewall =" not in setup_cfg and "acme-server" not in setup_cfg
    assert blob(out / "acme-lb", "requirements.txt").endswith("\nacme\n")
    assert "driver = acme_lb.services.lb.drivers.haproxy" in blob(out / "acme-lb", "etc/lb_agent.ini")

    core_cfg = blob(out / "acme", "setup.cfg")
    assert "acme.services.fw.fwaas_plugin.FirewallPlugin = acme_fw.services.fw.fwaas_plugin:FirewallPlugin" in core_cfg
    assert "acme-server = acme.manager:main" in core_cfg
    assert "DeprecationWarning" in blob(out / "acme", "acme/services/lb/plugin.py")
