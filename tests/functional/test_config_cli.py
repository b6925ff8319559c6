"""`spinout conf split` and `spinout upgrade` end to end: a source repository, a plan file, a config directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from spinout.cli import main
from tests.fixtures.repobuilder import RepoBuilder
from tests.unit.inifiles.samples import NEUTRON_CONF

PLAN = """
[source]
repo = "source"

[core]
name = "neutron"
package = "neutron"
[[core.settings]]
file = "etc/neutron.conf"
section = "DEFAULT"
key = "service_plugins"
value = "neutron_vpnaas.plugin.VPN"
action = "append"

[[service]]
name = "neutron-lbaas"
package = "neutron_lbaas"
paths = ["neutron/__init__.py", "neutron/services/__init__.py", "neutron/services/loadbalancer/"]
shared = ["neutron/__init__.py", "neutron/services/__init__.py"]
rename = { "neutron/" = "neutron_lbaas/" }

[[service.config]]
from = "etc/neutron.conf"
to = "etc/neutron_lbaas.conf"
section = "service_providers"
key = "service_provider"
match = "LOADBALANCER:*"

[[service.config]]
from = "etc/neutron.conf"
to = "etc/services_lbaas.conf"
section = "radware"
"""


@pytest.fixture
def project(tmp_path: Path, repo_builder: Callable[..., RepoBuilder]) -> Path:
    rb = repo_builder("source")
    rb.commit(
        "neutron with a load balancer",
        {
            "neutron/__init__.py": "",
            "neutron/services/__init__.py": "",
            "neutron/services/provider_configuration.py": "",
            "neutron/services/loadbalancer/__init__.py": "",
            "neutron/services/loadbalancer/plugin.py": "class LoadBalancerPlugin: pass\n",
            "neutron/services/loadbalancer/drivers/__init__.py": "",
            "neutron/services/loadbalancer/drivers/octavia.py": "class Driver: pass\n",
            "neutron/services/loadbalancer/drivers/haproxy/__init__.py": "",
            "neutron/services/loadbalancer/drivers/haproxy/plugin_driver.py": "class HaproxyOnHostPluginDriver: pass\n",
            "etc/neutron.conf": NEUTRON_CONF,
        },
    )
    (tmp_path / "plan.toml").write_text(PLAN)
    etc = tmp_path / "etc-neutron"
    etc.mkdir()
    (etc / "neutron.conf").write_text(NEUTRON_CONF)
    return tmp_path


def test_conf_split_dry_run_then_real_then_again(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan, etc = str(project / "plan.toml"), str(project / "etc-neutron")
    assert main(["conf", "split", plan, "--config-dir", etc, "--dry-run", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "--- /dev/null\n+++ b/etc/neutron_lbaas.conf\n" in out
    assert "+service_provider = LOADBALANCER:Octavia:neutron_lbaas.services.loadbalancer.drivers.octavia.Driver" in out
    # provider_configuration stayed in the core: it is not renamed (the module map, not a prefix rewrite)
    assert sorted(p.name for p in (project / "etc-neutron").iterdir()) == ["neutron.conf"]

    assert main(["conf", "split", plan, "--config-dir", etc, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["command"] == "conf split" and data["dry_run"] is False
    written = sorted(Path(p).name for p in data["written"])
    assert written == ["neutron.conf", "neutron_lbaas.conf", "services_lbaas.conf"]
    core = (project / "etc-neutron" / "neutron.conf").read_text()
    assert (
        "service_plugins = router,neutron_lbaas.services.loadbalancer.plugin.LoadBalancerPlugin,"
        "neutron_vpnaas.plugin.VPN\n"
    ) in core
    assert "LOADBALANCER" not in core and "[radware]" not in core

    assert main(["conf", "split", plan, "--config-dir", etc, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["written"] == [] and again["changed"] == []


def test_conf_split_malformed_file_exits_3_with_location(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etc = project / "etc-neutron"
    (etc / "neutron.conf").write_text("[DEFAULT]\nfoo = 1\n  # indented\n")
    code = main(["conf", "split", str(project / "plan.toml"), "--config-dir", str(etc), "--quiet"])
    assert code == 3
    err = capsys.readouterr().err
    assert f"{etc / 'neutron.conf'}:3: indented comment" in err


def test_upgrade_runs_the_config_step_and_says_a_plan_without_tables_moves_no_data(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan, etc = str(project / "plan.toml"), str(project / "etc-neutron")
    core, lbaas = f"sqlite:///{project / 'neutron.db'}", f"sqlite:///{project / 'lbaas.db'}"
    args = ["upgrade", plan, "--config-dir", etc, "--db-url", core, "--service-db-url", f"neutron-lbaas={lbaas}"]
    assert main([*args, "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert [(s["name"], s["status"]) for s in dry["steps"]] == [
        ("config", "pending"),
        ("db-migrations", "pending"),
        ("db-copy", "pending"),
        ("db-verify", "pending"),
        ("db-strip", "pending"),
    ]
    assert dry["steps"][0]["lines"][:2] == [
        "service[0].config[0] (neutron-lbaas): 2 option line(s): service_provider from etc/neutron.conf "
        "[service_providers] to etc/neutron_lbaas.conf",
        "service[0].config[1] (neutron-lbaas): section [radware] (2 option line(s)) from etc/neutron.conf [radware] "
        "to etc/services_lbaas.conf",
    ]
    assert dry["steps"][0]["lines"][-1] == "run `spinout conf split --dry-run` for the diffs"
    assert not (project / "etc-neutron" / "neutron_lbaas.conf").exists()

    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(s["name"], s["status"]) for s in data["steps"]] == [
        ("config", "done"),
        ("db-migrations", "done"),
        ("db-copy", "done"),
        ("db-verify", "done"),
        ("db-strip", "done"),
    ]
    assert data["steps"][1]["lines"] == ["the plan names no tables (service[i].tables): no data to move"]
    assert (project / "etc-neutron" / "neutron_lbaas.conf").exists()
    assert (project / "etc-neutron" / ".spinout-upgrade.json").exists()
    assert not (project / "neutron.db").exists()  # nothing touched the database


def test_upgrade_rejects_an_unknown_service_url(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "upgrade",
            str(project / "plan.toml"),
            "--config-dir",
            str(project / "etc-neutron"),
            "--db-url",
            "sqlite://",
            "--service-db-url",
            "neutron-fw=sqlite://",
        ]
    )
    assert code == 2
    assert "no service named 'neutron-fw' in the plan (neutron-lbaas)" in capsys.readouterr().err


def test_error_messages_keep_their_section_names(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etc = project / "etc-neutron"
    (etc / "neutron.conf").write_text("[radware]\na = 1\n[radware]\nb = 2\n")
    code = main(["conf", "split", str(project / "plan.toml"), "--config-dir", str(etc), "--quiet"])
    assert code == 3
    assert "neutron.conf:3: section [radware] appears twice (first at line 1)" in capsys.readouterr().err


def test_upgrade_with_the_data_steps_wired_completes_and_says_restart(project: Path) -> None:
    from spinout import api
    from spinout.progress import Progress

    ran: list[str] = []

    def step(name: str) -> Callable[[Progress], list[str]]:
        def run(progress: Progress) -> list[str]:
            ran.append(name)
            return [f"{name} ok"]

        return run

    names = ["db-migrations", "db-copy", "db-verify", "db-strip"]
    result = api.upgrade(
        project / "plan.toml",
        project / "etc-neutron",
        "sqlite:///neutron.db",
        {},
        data_steps={n: step(n) for n in names},
    )
    assert ran == names
    assert result.complete and result.exit_code == 0
    assert result.todo[0] == "install the service packages (neutron-lbaas) on every node that runs the core"
    assert result.todo[1].startswith("restart the core's server and agents")
