"""The module map renames exactly the modules whose files move."""

from __future__ import annotations

from pathlib import Path

from spinout.plan.load import parse_plan
from spinout.plan.modules import ModuleMap, build_module_map, path_to_module

PLAN = """
[source]
repo = "src"
[core]
name = "acme"
package = "acme"
[[service]]
name = "acme-lb"
package = "acme_lb"
paths = ["acme/__init__.py", "acme/services/__init__.py", "acme/services/lb/", "acme/db/lb/", "etc/lb.ini"]
shared = ["acme/__init__.py", "acme/services/__init__.py"]
rename = { "acme/" = "acme_lb/" }
modules = { "acme.extensions.lbaas" = "acme_lb.extensions.lbaas" }
[[service]]
name = "acme-fw"
package = "acme_fw"
paths = ["acme/__init__.py", "acme/services/fw/"]
shared = ["acme/__init__.py"]
rename = { "acme/services/fw/" = "acme_fw/" }
"""

FILES = [
    "acme/__init__.py",
    "acme/services/__init__.py",
    "acme/services/provider_configuration.py",
    "acme/services/service_base.py",
    "acme/services/lb/__init__.py",
    "acme/services/lb/plugin.py",
    "acme/services/lbaas_extra.py",
    "acme/services/fw/__init__.py",
    "acme/services/fw/agents/l3.py",
    "acme/db/lb/models.py",
    "etc/lb.ini",
    "acme/services/lb/data file.py",
]


def _map() -> ModuleMap:
    return build_module_map(parse_plan(PLAN, base_dir=Path(".")), FILES)


def test_moved_modules_and_packages_are_renamed() -> None:
    m = _map()
    assert m.rename("acme.services.lb") == "acme_lb.services.lb"
    assert m.rename("acme.services.lb.plugin.LoadBalancerPlugin") == "acme_lb.services.lb.plugin.LoadBalancerPlugin"
    assert m.rename("acme.db.lb.models") == "acme_lb.db.lb.models"
    assert m.rename("acme.services.fw.agents.l3") == "acme_fw.agents.l3"
    assert m.rename("acme.services.fw") == "acme_fw"


def test_modules_that_stay_in_the_core_keep_their_names() -> None:
    m = _map()
    # the 2014 trap: siblings sharing a prefix with moved packages
    assert m.rename("acme.services.provider_configuration") is None
    assert m.rename("acme.services.service_base.ServiceBase") is None
    assert m.rename("acme.services.lbaas_extra") is None
    # shared copies stay in the core
    assert m.rename("acme") is None
    assert m.rename("acme.services") is None


def test_overrides_and_service_attribution() -> None:
    m = _map()
    assert m.rename("acme.extensions.lbaas.Loadbalancer") == "acme_lb.extensions.lbaas.Loadbalancer"
    assert m.for_service("acme-fw") == {
        "acme.services.fw": "acme_fw",
        "acme.services.fw.agents.l3": "acme_fw.agents.l3",
    }


def test_path_to_module() -> None:
    assert path_to_module("a/b/__init__.py") == "a.b"
    assert path_to_module("a/b/c.py") == "a.b.c"
    assert path_to_module("a/data file.py") is None
    assert path_to_module("a/b/c.txt") is None
    assert path_to_module("a/class.py") is None
