"""examples/neutron-kilo: the plan and run.sh, on a real openstack/neutron clone when one is given.

Opt-in for the real case: set SPINOUT_NEUTRON_CLONE to a clone of openstack/neutron holding the split base
08d436720ba7. Nothing from that repository is stored here; the tests read it through git. Without it only the
checks that need no clone run (the plan's static validity, run.sh's argument errors).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from oslo_config import cfg

from spinout.plan.load import load_plan
from spinout.plan.validate import static_problems
from tests.fixtures.repobuilder import RepoBuilder

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "neutron-kilo"
SPLIT_BASE = "08d436720ba75b752ab37d4b84a7e2cb856186f8"
QUANTUM_TO_NEUTRON = "2013-07-03"  # the project's rename; LBaaS code older than this lived under quantum/
SPINOUT = shutil.which("spinout", path=str(Path(sys.executable).parent)) or "spinout"


def _clone() -> str:
    clone = os.environ.get("SPINOUT_NEUTRON_CLONE")
    if not clone:
        pytest.skip("set SPINOUT_NEUTRON_CLONE to the path of an openstack/neutron clone")
    return clone


def _git(repo: Path | str, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def _scratch(tmp_path: Path, clone: str) -> Path:
    """A plan directory as run.sh makes it: plan.toml beside a bare shared clone with the split-base branch."""
    _git(tmp_path, "clone", "--quiet", "--bare", "--shared", clone, str(tmp_path / "neutron"))
    _git(tmp_path / "neutron", "branch", "--force", "split-base", SPLIT_BASE)
    shutil.copy(EXAMPLE / "plan.toml", tmp_path / "plan.toml")
    return tmp_path / "plan.toml"


def _run_sh(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SPINOUT=SPINOUT)
    return subprocess.run(["bash", str(EXAMPLE / "run.sh"), *args], capture_output=True, text=True, env=env)


def _has_command(*words: str) -> bool:
    return subprocess.run([SPINOUT, *words, "--help"], capture_output=True).returncode == 0


def test_plan_is_statically_valid_and_every_service_shares_the_same_copies() -> None:
    plan = load_plan(EXAMPLE / "plan.toml")
    assert static_problems(plan) == []
    assert [s.name for s in plan.service] == ["neutron-lbaas", "neutron-fwaas", "neutron-vpnaas"]
    shared = {tuple(s.shared) for s in plan.service}
    assert len(shared) == 1, "the three services must keep the same shared copies"
    for s in plan.service:
        own = [p for p in s.paths if p not in s.shared]
        # Only the package is renamed: etc/ stays where it is, neutron/... lands under the service's package.
        assert s.renamed("etc/lbaas_agent.ini") == "etc/lbaas_agent.ini"
        assert all(s.renamed(p).startswith(f"{s.package}/") for p in own if p.startswith("neutron/"))
        assert s.follow_renames


# The reference's facts: foreign keys from service tables to core tables (../shared/reference/neutron-kilo.md).
CORE_FKS = {
    ("vips", "port_id", "ports"),
    ("poolloadbalanceragentbindings", "agent_id", "agents"),
    ("embrane_pool_port", "port_id", "ports"),
    ("vpnservices", "subnet_id", "subnets"),
    ("vpnservices", "router_id", "routers"),
}
CORE_TABLES = {"networks", "subnets", "ports", "routers", "agents"}


def test_schema_py_builds_the_tables_of_the_facts_with_consistent_rows(tmp_path: Path) -> None:
    db = tmp_path / "neutron.db"
    proc = subprocess.run([sys.executable, str(EXAMPLE / "schema.py"), str(db), "--rows", "4"], capture_output=True)
    assert proc.returncode == 0, proc.stderr
    con = sqlite3.connect(db)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        plan = load_plan(EXAMPLE / "plan.toml")
        assert tables == CORE_TABLES | {t for s in plan.service for t in s.tables}
        to_core = set()
        for t in tables - CORE_TABLES:
            for row in con.execute(f"PRAGMA foreign_key_list({t})"):
                if row[2] in CORE_TABLES:
                    to_core.add((t, row[3], row[2]))
        assert to_core == CORE_FKS
        # pools.subnet_id refers to a subnet by value only.
        assert [r for r in con.execute("PRAGMA foreign_key_list(pools)") if r[3] == "subnet_id"] == []
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        assert all(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 4 for t in tables)
    finally:
        con.close()


def test_run_sh_wants_two_arguments() -> None:
    proc = _run_sh("only-one")
    assert proc.returncode == 2
    assert "usage:" in proc.stderr


def test_run_sh_refuses_a_clone_without_the_split_base(tmp_path: Path) -> None:
    repo = RepoBuilder(tmp_path / "not-neutron")
    repo.commit("init", {"README": "x\n"})
    proc = _run_sh(str(tmp_path / "not-neutron"), str(tmp_path / "out"))
    assert proc.returncode == 2
    assert SPLIT_BASE in proc.stderr
    assert not (tmp_path / "out").exists()


def test_plan_check_passes_on_the_clone_and_git_sees_every_path(tmp_path: Path) -> None:
    clone = _clone()
    plan_path = _scratch(tmp_path, clone)
    proc = subprocess.run([SPINOUT, "plan", "check", str(plan_path), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["ok"] is True
    # Oracle: git itself lists every path the plan names at the split base.
    files = set(_git(clone, "ls-tree", "-r", "--name-only", SPLIT_BASE).splitlines())
    for s in load_plan(plan_path).service:
        for p in s.paths:
            assert any(f.startswith(p) for f in files) if p.endswith("/") else p in files, p


def test_plan_check_on_the_clone_catches_a_wrong_path(tmp_path: Path) -> None:
    clone = _clone()
    plan_path = _scratch(tmp_path, clone)
    text = plan_path.read_text()
    plan_path.write_text(text.replace('"neutron/db/firewall/"', '"neutron/db/firewalls/"', 1))
    proc = subprocess.run([SPINOUT, "plan", "check", str(plan_path), "--json"], capture_output=True, text=True)
    assert proc.returncode == 2
    locations = [p["location"] for p in json.loads(proc.stdout)["problems"]]
    assert locations == ["service[1].paths[1]"]


def _expected_tree(clone: str, paths: list[str], package: str) -> set[str]:
    """The service's tree at the split base by plain git + the plan's rules (keep by prefix, rename neutron/)."""
    out: set[str] = set()
    for f in _git(clone, "ls-tree", "-r", "--name-only", SPLIT_BASE).splitlines():
        if any(f.startswith(p) if p.endswith("/") else f == p for p in paths):
            out.add(package + "/" + f[len("neutron/") :] if f.startswith("neutron/") else f)
    return out


def _split_tip(out: Path, target: str) -> str:
    """The target's split commit: the rewrite's base when the code stage ran (it adds one commit), else the tip."""
    log = out / "logs" / "rewrite.json"
    if log.exists():
        for t in json.loads(log.read_text())["targets"]:
            if t["target"] == target:
                return str(t["base"])
    return "refs/heads/split-base"


def _providers(path: Path) -> list[str]:
    conf = cfg.ConfigOpts()
    conf.register_opt(cfg.MultiStrOpt("service_provider", default=[]), group="service_providers")
    conf(args=[], default_config_files=[str(path)])
    return list(conf.service_providers.service_provider)


@pytest.mark.heavy
def test_run_sh_on_the_clone(tmp_path: Path) -> None:
    clone = _clone()
    out = tmp_path / "out"
    proc = _run_sh(clone, str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = (out / "summary.txt").read_text()
    steps = {
        "plan-check": ("plan", "check"),
        "guard-check-before": ("guard", "check"),
        "coupling": ("coupling",),
        "split": ("split",),
        "conf-split": ("conf", "split"),
        "db-plan": ("db", "plan"),
    }
    for step, words in steps.items():
        ran = any(line.startswith(f"{step}: ran") for line in summary.splitlines())
        assert ran == _has_command(*words), (step, summary)
    # Before the split the core imports the services in more places than the one allowed (the L3 agent).
    before = json.loads((out / "logs" / "guard-check-before.json").read_text())
    importers = {v["importer"] for v in before["violations"]}
    assert "neutron.agent.l3_agent" not in importers
    assert "neutron.plugins.vmware.plugins.service" in importers

    # Config: oslo.config reads every provider back from its own file, with the service's package.
    etc = out / "conf" / "etc"
    lb = _providers(etc / "neutron_lbaas.conf")
    vpn = _providers(etc / "neutron_vpnaas.conf")
    assert lb and all(p.startswith("LOADBALANCER:") and ":neutron_lbaas.services." in p for p in lb)
    assert vpn and all(p.startswith("VPN:") and ":neutron_vpnaas.services." in p for p in vpn)
    assert _providers(etc / "neutron.conf") == []
    lb_sections = [line for line in (etc / "services_lbaas.conf").read_text().splitlines() if line.startswith("[")]
    assert lb_sections == ["[radware]", "[netscaler_driver]", "[heleoslb]"]

    if _has_command("db", "plan"):
        fks = json.loads((out / "logs" / "db-plan.json").read_text())["foreign_keys"]
        cross = {(f["table"], f["columns"][0], f["ref_table"]) for f in fks if f["kind"] == "cross"}
        assert cross == CORE_FKS

    if not _has_command("split"):
        return
    plan = load_plan(out / "plan.toml")
    for s in plan.service:
        target = out / "split" / s.name
        files = set(_git(target, "ls-tree", "-r", "--name-only", _split_tip(out, s.name)).splitlines())
        assert files == _expected_tree(clone, list(s.paths), s.package), s.name
    # follow_renames: the LBaaS code's history reaches back past the Quantum → Neutron rename.
    tip = _split_tip(out, "neutron-lbaas")
    lb_target = out / "split" / "neutron-lbaas"
    # A real module, not a directory: an empty __init__.py can be paired with any older empty file.
    db_module = "neutron_lbaas/db/loadbalancer/loadbalancer_db.py"
    # Earlier names keep their old paths in the target (filter-repo's `--path OLD`): git follows the rename.
    dates = _git(lb_target, "log", "--follow", "--format=%cd", "--date=short", tip, "--", db_module)
    assert min(dates.split()) < QUANTUM_TO_NEUTRON
