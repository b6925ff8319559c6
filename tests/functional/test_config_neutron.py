"""conf split on Neutron's own Juno config (the state the Kilo split started from), read from a real clone.

Opt-in: set SPINOUT_NEUTRON to the path of an openstack/neutron clone (with the 2014.2 tag). Nothing from that
repository is stored here; the files are read from the clone when the test runs.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from oslo_config import cfg

from spinout.inifiles.apply import conf_split
from spinout.inifiles.split import ServiceRule
from spinout.plan.load import parse_plan
from spinout.plan.model import ConfigRule
from spinout.plan.modules import build_module_map

TAG = "2014.2"
SERVICES = [("lbaas", "LOADBALANCER", "loadbalancer"), ("fwaas", "FIREWALL", "firewall"), ("vpnaas", "VPN", "vpn")]
# A concrete sample with a driver's dotted path; the section's leading explanation has placeholders
# (`FIREWALL:name2:firewall_driver_path`) and moves, as documented, with the option right below it.
SAMPLE = re.compile(r"^#\s*service_provider\s*=\s*([A-Z]+):[^:]+:\w+\.")


def _git(clone: str, *args: str) -> str:
    return subprocess.run(["git", "-C", clone, *args], capture_output=True, text=True, check=True).stdout


def _providers(path: Path) -> list[str]:
    if not path.exists():
        return []
    conf = cfg.ConfigOpts()
    conf.register_opt(cfg.MultiStrOpt("service_provider", default=[]), group="service_providers")
    conf(args=[], default_config_files=[str(path)])
    return list(conf.service_providers.service_provider)


def _sample_kinds(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [m.group(1) for line in path.read_text().splitlines() if (m := SAMPLE.match(line))]


@pytest.mark.heavy
def test_juno_neutron_conf_splits_like_the_kilo_split(tmp_path: Path) -> None:
    clone = os.environ.get("SPINOUT_NEUTRON")
    if not clone:
        pytest.skip("set SPINOUT_NEUTRON to the path of an openstack/neutron clone")
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "neutron.conf").write_text(_git(clone, "show", f"{TAG}:etc/neutron.conf"))
    plan_text = '[source]\nrepo = "x"\n[core]\nname = "neutron"\npackage = "neutron"\n'
    for svc, _, pkg in SERVICES:
        plan_text += (
            f'[[service]]\nname = "neutron-{svc}"\npackage = "neutron_{svc}"\n'
            f'paths = ["neutron/services/{pkg}/", "neutron/db/{pkg}/"]\nrename = {{ "neutron/" = "neutron_{svc}/" }}\n'
        )
    rename = build_module_map(
        parse_plan(plan_text, base_dir=tmp_path), _git(clone, "ls-tree", "-r", "--name-only", TAG).splitlines()
    ).rename
    rules = [
        ServiceRule(
            f"neutron-{svc}",
            f"service[{i}].config[0]",
            ConfigRule.model_validate(
                {
                    "from": "neutron.conf",
                    "to": f"neutron_{svc}.conf",
                    "section": "service_providers",
                    "key": "service_provider",
                    "match": f"{kind}:*",
                }
            ),
        )
        for i, (svc, kind, _) in enumerate(SERVICES)
    ]
    providers = _providers(etc / "neutron.conf")
    samples = _sample_kinds(etc / "neutron.conf")
    assert len(providers) >= 2 and len(samples) >= 5  # the test is about something

    conf_split(etc, rules, [], rename)

    for svc, kind, pkg in SERVICES:
        target = etc / f"neutron_{svc}.conf"
        # oslo.config reads every provider of the kind back from the service's file, renamed (bug 1492069 would
        # have lost all but one)...
        assert _providers(target) == [
            p.replace(f"neutron.services.{pkg}.", f"neutron_{svc}.services.{pkg}.")
            for p in providers
            if p.startswith(f"{kind}:")
        ]
        # ...and the commented-out samples of that kind went with them.
        assert _sample_kinds(target) == [k for k in samples if k == kind]
    assert _providers(etc / "neutron.conf") == []
    assert _sample_kinds(etc / "neutron.conf") == [k for k in samples if k not in {s[1] for s in SERVICES}]

    snapshot = {p.name: p.read_bytes() for p in etc.iterdir()}
    conf_split(etc, rules, [], rename)
    assert {p.name: p.read_bytes() for p in etc.iterdir()} == snapshot
