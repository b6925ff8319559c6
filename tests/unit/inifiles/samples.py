"""INI texts and rules shared by the config stage's tests (a trimmed Kilo neutron.conf)."""

from __future__ import annotations

from typing import Any

from spinout.inifiles.split import ServiceRule
from spinout.plan.model import ConfigRule, CoreSetting

NEUTRON_CONF = """\
# Neutron's main config file.
[DEFAULT]
# The core plugin
core_plugin = ml2
# service_plugins = router
service_plugins = router,neutron.services.loadbalancer.plugin.LoadBalancerPlugin
state_path = /var/lib/neutron

[service_providers]
# Must be in form:
# service_provider=<service_type>:<name>:<driver>[:default]
service_provider=LOADBALANCER:Haproxy:neutron.services.loadbalancer.drivers.haproxy.plugin_driver.HaproxyOnHostPluginDriver:default
service_provider=VPN:openswan:neutron.services.vpn.service_drivers.ipsec.IPsecVPNDriver:default
# A second load balancer
service_provider = LOADBALANCER:Octavia:neutron.services.loadbalancer.drivers.octavia.Driver

# In order to activate Radware's lbaas driver you need to uncomment the next line.
# service_provider = LOADBALANCER:Radware:neutron.services.loadbalancer.drivers.radware.driver.LoadBalancerDriver

[radware]
# Radware's vDirect
vdirect_address = 10.0.0.1
service_ha_pair = False

[haproxy]
user_group = nogroup
loadbalancer_state_path = $state_path/lbaas
send_gratuitous_arp = 3

[agent]
root_helper = sudo
"""

MOVED = {
    "neutron.services.loadbalancer": "neutron_lbaas.services.loadbalancer",
    "neutron.services.vpn": "neutron_vpnaas.services.vpn",
}


def rename(dotted: str) -> str | None:
    """A stand-in for the code stage's module map (`ModuleMap.rename`): longest moved prefix wins."""
    for old, new in MOVED.items():
        if dotted == old or dotted.startswith(old + "."):
            return new + dotted[len(old) :]
    return None


def no_rename(dotted: str) -> str | None:
    return None


def rule(service: str = "lb", /, **fields: Any) -> ServiceRule:
    return ServiceRule(service, f"service[0].config[{fields.pop('n', 0)}]", ConfigRule.model_validate(fields))


def lb_values(to: str = "neutron_lbaas.conf") -> ServiceRule:
    return rule(
        **{"from": "neutron.conf", "to": to, "section": "service_providers"},
        key="service_provider",
        match="LOADBALANCER:*",
    )


def setting(**fields: Any) -> tuple[str, CoreSetting]:
    return ("core.settings[0]", CoreSetting.model_validate(fields))
