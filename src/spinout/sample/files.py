"""The files of the sample monorepo: templates keyed by their final path, rendered for an era of its history.

A file's text depends on the era (the top-level package was `quantum` before it became `acme`, and the load
balancer lived under `plugins/services/agent_loadbalancer/` before it moved to `services/lb/`) and on a revision
number that each change bumps. Templates use `string.Template` placeholders: `$pkg` (top-level package) and `$lb`
(the load balancer's dotted package), so that a move rewrites the imports that name the moved modules, as the
real moves did.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template


@dataclass(frozen=True)
class Era:
    """Where things live in one period of the sample's history."""

    pkg: str  # top-level package: "quantum" early on, then "acme"
    lb_old: bool  # load balancer still under <pkg>/plugins/services/agent_loadbalancer/

    @property
    def lb_dir(self) -> str:
        return f"{self.pkg}/plugins/services/agent_loadbalancer/" if self.lb_old else f"{self.pkg}/services/lb/"

    @property
    def lb_module(self) -> str:
        return self.lb_dir.rstrip("/").replace("/", ".")

    def path(self, logical: str) -> str:
        """The path a file with final path `logical` has in this era."""
        if logical.startswith("acme/services/lb/"):
            return self.lb_dir + logical[len("acme/services/lb/") :]
        if logical.startswith("acme/"):
            return f"{self.pkg}/" + logical[len("acme/") :]
        return logical


FINAL_ERA = Era("acme", lb_old=False)

_LICENSE_HEAD = """\
# Copyright 2013 Acme Networks, Inc.
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License.
"""

_PY: dict[str, str] = {
    # ---- core -------------------------------------------------------------------------------------------------
    "acme/__init__.py": '"""$pkg: networking as a service."""\n',
    "acme/manager.py": '''"""Loads the core plugin and the service plugins named by `service_plugins`."""

import importlib

from $pkg.common import config
from $pkg.common import constants
from $pkg.common import exceptions


class PluginManager(object):
    _instance = None

    def __init__(self):
        self.service_plugins = {}
        for path in config.CONF.service_plugins:
            plugin = self._load(path)
            self.service_plugins[plugin.get_plugin_type()] = plugin

    @staticmethod
    def _load(path):
        module_name, _, class_name = path.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise exceptions.PluginNotFound(plugin=path)
        return getattr(module, class_name)()

    @classmethod
    def get_service_plugins(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance.service_plugins

    def has_loadbalancer(self):
        return constants.LOADBALANCER in self.service_plugins
''',
    "acme/common/__init__.py": "",
    "acme/common/config.py": '''"""Options of the core service."""

from oslo_config import cfg

core_opts = [
    cfg.StrOpt("core_plugin", default="$pkg.plugins.ml2.plugin.Ml2Plugin", help="The core plugin to load"),
    cfg.ListOpt("service_plugins", default=[], help="Dotted class paths of the service plugins to load"),
    cfg.StrOpt("api_extensions_path", default="", help="Where to look for API extensions"),
    cfg.IntOpt("agent_down_time", default=75, help="Seconds before an agent counts as down"),
]

CONF = cfg.CONF
CONF.register_opts(core_opts)
''',
    "acme/common/constants.py": '''"""Names shared by the core and the services."""

LOADBALANCER = "LOADBALANCER"
FIREWALL = "FIREWALL"
VPN = "VPN"
L3_ROUTER_NAT = "L3_ROUTER_NAT"

ACTIVE = "ACTIVE"
DOWN = "DOWN"
PENDING_CREATE = "PENDING_CREATE"
ERROR = "ERROR"

DEVICE_OWNER_LOADBALANCER = "$pkg:LOADBALANCER"
DEVICE_OWNER_ROUTER_INTF = "network:router_interface"
''',
    "acme/common/exceptions.py": '''"""Exceptions of the core and the services."""


class AcmeException(Exception):
    message = "An unknown exception occurred."

    def __init__(self, **kwargs):
        super(AcmeException, self).__init__(self.message % kwargs)


class NotFound(AcmeException):
    message = "Resource could not be found."


class PluginNotFound(NotFound):
    message = "Plugin %(plugin)s could not be found."


class PortNotFound(NotFound):
    message = "Port %(port_id)s could not be found."


class InvalidInput(AcmeException):
    message = "Invalid input for operation: %(error_message)s."
''',
    "acme/common/rpc.py": '''"""A thin RPC layer: topics and a proxy the agents and plugins share."""

TOPIC_L3_AGENT = "l3_agent"
TOPIC_LOADBALANCER_AGENT = "lbaas_agent"
TOPIC_FIREWALL_PLUGIN = "q-firewall-plugin"
TOPIC_VPN_AGENT = "vpn_agent"


class RpcProxy(object):
    def __init__(self, topic, default_version):
        self.topic = topic
        self.default_version = default_version

    def make_msg(self, method, **kwargs):
        return {"method": method, "args": kwargs}

    def call(self, context, msg, topic=None):
        return (topic or self.topic, msg)

    def cast(self, context, msg, topic=None):
        return None
''',
    "acme/db/__init__.py": "",
    "acme/db/api.py": '''"""Engine and session of the core database."""

import sqlalchemy as sa
from sqlalchemy import orm

_ENGINE = None
_MAKER = None


def get_engine(url="sqlite://"):
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = sa.create_engine(url)
    return _ENGINE


def get_session():
    global _MAKER
    if _MAKER is None:
        _MAKER = orm.sessionmaker(bind=get_engine())
    return _MAKER()
''',
    "acme/db/model_base.py": '''"""The declarative base every model (core and services) derives from."""

import sqlalchemy as sa
from sqlalchemy import orm

BASEV2 = orm.declarative_base()


class HasId(object):
    id = sa.Column(sa.String(36), primary_key=True)


class HasTenant(object):
    tenant_id = sa.Column(sa.String(255), index=True)


class HasStatusDescription(object):
    status = sa.Column(sa.String(16), nullable=False)
    status_description = sa.Column(sa.String(255))
''',
    "acme/db/models_v2.py": '''"""Core models: networks, subnets, ports."""

import sqlalchemy as sa

from $pkg.db import model_base


class Network(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "networks"
    name = sa.Column(sa.String(255))
    status = sa.Column(sa.String(16))
    admin_state_up = sa.Column(sa.Boolean)


class Subnet(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "subnets"
    name = sa.Column(sa.String(255))
    network_id = sa.Column(sa.String(36), sa.ForeignKey("networks.id"))
    ip_version = sa.Column(sa.Integer, nullable=False)
    cidr = sa.Column(sa.String(64), nullable=False)
    gateway_ip = sa.Column(sa.String(64))


class Port(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "ports"
    name = sa.Column(sa.String(255))
    network_id = sa.Column(sa.String(36), sa.ForeignKey("networks.id"), nullable=False)
    mac_address = sa.Column(sa.String(32), nullable=False)
    admin_state_up = sa.Column(sa.Boolean, nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    device_id = sa.Column(sa.String(255), nullable=False)
    device_owner = sa.Column(sa.String(255), nullable=False)
''',
    "acme/db/l3_db.py": '''"""Core model of routers and the L3 mixin."""

import sqlalchemy as sa

from $pkg.db import model_base


class Router(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "routers"
    name = sa.Column(sa.String(255))
    status = sa.Column(sa.String(16))
    admin_state_up = sa.Column(sa.Boolean)
    gw_port_id = sa.Column(sa.String(36), sa.ForeignKey("ports.id"))


class L3_NAT_db_mixin(object):
    def get_router(self, context, router_id):
        return context.session.get(Router, router_id)
''',
    "acme/db/agents_db.py": '''"""Core model of agents."""

import sqlalchemy as sa

from $pkg.db import model_base


class Agent(model_base.BASEV2, model_base.HasId):
    __tablename__ = "agents"
    agent_type = sa.Column(sa.String(255), nullable=False)
    binary = sa.Column(sa.String(255), nullable=False)
    topic = sa.Column(sa.String(255), nullable=False)
    host = sa.Column(sa.String(255), nullable=False)
    admin_state_up = sa.Column(sa.Boolean, default=True, nullable=False)
    heartbeat_timestamp = sa.Column(sa.DateTime, nullable=False)
''',
    "acme/db/head.py": '''"""Every model, imported so that `metadata` describes the whole schema (core and services)."""

from $pkg.db import agents_db
from $pkg.db import l3_db
from $pkg.db import model_base
from $pkg.db import models_v2
from $pkg.db.fw import firewall_db
from $pkg.db.lb import loadbalancer_db
from $pkg.db.vpn import vpn_db

MODEL_MODULES = (agents_db, l3_db, models_v2, firewall_db, loadbalancer_db, vpn_db)

metadata = model_base.BASEV2.metadata
''',
    "acme/agent/__init__.py": "",
    "acme/agent/rpc.py": '''"""RPC helpers the agents use to report state."""

from $pkg.common import rpc


class PluginReportStateAPI(rpc.RpcProxy):
    def __init__(self, topic):
        super(PluginReportStateAPI, self).__init__(topic=topic, default_version="1.0")

    def report_state(self, context, agent_state):
        return self.cast(context, self.make_msg("report_state", agent_state=agent_state))
''',
    "acme/agent/l3_agent.py": '''"""The L3 agent: routers in namespaces.

Mixes in the firewall agent callbacks: the known exception to the rule that the core does not import the
services.
"""

from $pkg.agent import rpc as agent_rpc
from $pkg.agent.linux import ip_lib
from $pkg.common import constants
from $pkg.common import rpc
from $pkg.services.fw.agents.l3reference import firewall_l3_agent


class L3NATAgent(firewall_l3_agent.FWaaSL3AgentRpcCallback):
    def __init__(self, host, conf=None):
        self.host = host
        self.conf = conf
        self.router_info = {}
        self.state_rpc = agent_rpc.PluginReportStateAPI(rpc.TOPIC_L3_AGENT)
        super(L3NATAgent, self).__init__(conf)

    def _router_added(self, router_id, router):
        namespace = "qrouter-" + router_id
        ip_lib.IPWrapper(namespace=namespace).ensure_namespace()
        self.router_info[router_id] = router

    def agent_type(self):
        return constants.L3_ROUTER_NAT
''',
    "acme/agent/linux/__init__.py": "",
    "acme/agent/linux/ip_lib.py": '''"""Wrappers around the `ip` command."""

import subprocess


class IPWrapper(object):
    def __init__(self, namespace=None):
        self.namespace = namespace

    def _run(self, *args):
        cmd = ["ip"]
        if self.namespace:
            cmd = ["ip", "netns", "exec", self.namespace, "ip"]
        return subprocess.check_output(cmd + list(args))

    def ensure_namespace(self):
        return self._run("link", "set", "lo", "up")

    def netns_exists(self, name):
        return name in self._run("netns", "list").decode()
''',
    "acme/services/__init__.py": "",
    "acme/services/service_base.py": '''"""Base class of every service plugin; stays in the core."""

import abc


class ServicePluginBase(object, metaclass=abc.ABCMeta):
    supported_extension_aliases = []

    @abc.abstractmethod
    def get_plugin_type(self):
        """The service type, e.g. constants.LOADBALANCER."""

    def get_plugin_description(self):
        return self.__class__.__doc__ or ""
''',
    "acme/services/provider_configuration.py": '''"""Parses `service_provider` options (TYPE:name:driver[:default]).

Stays in the core, although its path starts like the services' paths.
"""

from oslo_config import cfg

from $pkg.common import exceptions

serviceprovider_opts = [
    cfg.MultiStrOpt("service_provider", default=[], help="Service providers: <type>:<name>:<driver>[:default]"),
]
cfg.CONF.register_opts(serviceprovider_opts, "service_providers")


def parse_service_provider_opt():
    providers = []
    for entry in cfg.CONF.service_providers.service_provider:
        parts = entry.split(":")
        if len(parts) not in (3, 4):
            raise exceptions.InvalidInput(error_message="bad service_provider %s" % entry)
        providers.append(
            {"service_type": parts[0], "name": parts[1], "driver": parts[2], "default": len(parts) == 4}
        )
    return providers


class ProviderConfiguration(object):
    def __init__(self, providers):
        self.providers = {(p["service_type"], p["name"]): p for p in providers}

    def get_service_providers(self, service_type):
        return [p for (kind, _), p in sorted(self.providers.items()) if kind == service_type]
''',
    "acme/extensions/__init__.py": "",
    "acme/extensions/loadbalancer.py": '''"""The load balancer API extension (stayed in the core at the split)."""

from $pkg.common import constants
from $pkg.common import exceptions


class VipNotFound(exceptions.NotFound):
    message = "Vip %(vip_id)s could not be found"


class PoolNotFound(exceptions.NotFound):
    message = "Pool %(pool_id)s could not be found"


RESOURCE_ATTRIBUTE_MAP = {
    "vips": {"id": {"allow_post": False}, "protocol": {"allow_post": True}},
    "pools": {"id": {"allow_post": False}, "lb_method": {"allow_post": True}},
}


class Loadbalancer(object):
    @classmethod
    def get_alias(cls):
        return "lbaas"

    @classmethod
    def get_plugin_type(cls):
        return constants.LOADBALANCER
''',
    "acme/extensions/firewall.py": '''"""The firewall API extension."""

from $pkg.common import exceptions


class FirewallNotFound(exceptions.NotFound):
    message = "Firewall %(firewall_id)s could not be found."


class FirewallRuleNotFound(exceptions.NotFound):
    message = "Firewall rule %(firewall_rule_id)s could not be found."


FIREWALL_ACTIONS = ["allow", "deny"]
''',
    "acme/extensions/vpnaas.py": '''"""The VPN API extension."""

from $pkg.common import exceptions


class VPNServiceNotFound(exceptions.NotFound):
    message = "VPNService %(vpnservice_id)s could not be found"


class IPsecSiteConnectionNotFound(exceptions.NotFound):
    message = "ipsec_site_connection %(ipsecsite_conn_id)s not found"
''',
    "acme/tests/__init__.py": "",
    "acme/tests/unit/__init__.py": "",
    "acme/tests/unit/services/__init__.py": "",
    "acme/tests/unit/test_manager.py": """import unittest

import mock

from $pkg import manager


class PluginManagerTestCase(unittest.TestCase):
    @mock.patch("$lb.plugin.LoadBalancerPlugin")
    @mock.patch("$pkg.common.config.CONF")
    def test_loads_service_plugins(self, conf, plugin):
        conf.service_plugins = ["$lb.plugin.LoadBalancerPlugin"]
        plugin.return_value.get_plugin_type.return_value = "LOADBALANCER"
        self.assertTrue(manager.PluginManager().has_loadbalancer())
""",
    "acme/tests/unit/test_l3_agent.py": """import unittest

import mock

from $pkg.agent import l3_agent


class L3AgentTestCase(unittest.TestCase):
    @mock.patch("$pkg.services.fw.agents.l3reference.firewall_l3_agent.FWaaSL3AgentRpcCallback.__init__")
    @mock.patch("$pkg.agent.linux.ip_lib.IPWrapper")
    def test_router_added(self, ipwrapper, fw_init):
        fw_init.return_value = None
        agent = l3_agent.L3NATAgent("host-1")
        agent._router_added("r1", {"id": "r1"})
        self.assertIn("r1", agent.router_info)
""",
    # ---- load balancer ----------------------------------------------------------------------------------------
    "acme/services/lb/__init__.py": "",
    "acme/services/lb/constants.py": '''"""Load balancer constants."""

LB_METHOD_ROUND_ROBIN = "ROUND_ROBIN"
LB_METHOD_LEAST_CONNECTIONS = "LEAST_CONNECTIONS"
LB_METHOD_SOURCE_IP = "SOURCE_IP"

PROTOCOL_TCP = "TCP"
PROTOCOL_HTTP = "HTTP"
PROTOCOL_HTTPS = "HTTPS"

HEALTH_MONITOR_PING = "PING"
HEALTH_MONITOR_HTTP = "HTTP"
''',
    "acme/services/lb/plugin.py": '''"""The load balancer service plugin."""

from $pkg.common import constants
from $pkg.db.lb import loadbalancer_db as ldb
from $pkg.extensions import loadbalancer
from $pkg.services import provider_configuration as pconf
from $pkg.services import service_base
from $lb import constants as lb_const


class LoadBalancerPlugin(ldb.LoadBalancerPluginDb, service_base.ServicePluginBase):
    """Load balancing as a service: pools, vips, members, health monitors."""

    supported_extension_aliases = ["lbaas", "lbaas_agent_scheduler", "service-type"]

    def __init__(self):
        self.service_type_manager = pconf.ProviderConfiguration(pconf.parse_service_provider_opt())
        self.default_method = lb_const.LB_METHOD_ROUND_ROBIN

    def get_plugin_type(self):
        return constants.LOADBALANCER

    def get_pool(self, context, pool_id):
        pool = self._get_resource(context, ldb.Pool, pool_id)
        if pool is None:
            raise loadbalancer.PoolNotFound(pool_id=pool_id)
        return pool
''',
    "acme/services/lb/agent/__init__.py": "",
    "acme/services/lb/agent/agent_manager.py": '''"""The load balancer agent: runs device drivers on a host."""

import importlib

from oslo_config import cfg

from $pkg.agent import rpc as agent_rpc
from $pkg.common import rpc

OPTS = [
    cfg.MultiStrOpt(
        "device_driver",
        default=["$lb.drivers.haproxy.namespace_driver.HaproxyNSDriver"],
        help="Drivers used to manage load balancing devices",
    ),
]


class LbaasAgentManager(object):
    def __init__(self, conf):
        self.conf = conf
        self.state_rpc = agent_rpc.PluginReportStateAPI(rpc.TOPIC_LOADBALANCER_AGENT)
        self.device_drivers = {}
        for path in conf.device_driver:
            module_name, _, class_name = path.rpartition(".")
            driver = getattr(importlib.import_module(module_name), class_name)(conf)
            self.device_drivers[driver.get_name()] = driver
''',
    "acme/services/lb/drivers/__init__.py": "",
    "acme/services/lb/drivers/abstract_driver.py": '''"""The interface every load balancer driver implements."""

import abc


class LoadBalancerAbstractDriver(object, metaclass=abc.ABCMeta):
    @abc.abstractmethod
    def create_vip(self, context, vip):
        pass

    @abc.abstractmethod
    def delete_pool(self, context, pool):
        pass
''',
    "acme/services/lb/drivers/noop_driver.py": '''"""A driver that does nothing (removed later)."""

from $lb.drivers import abstract_driver


class NoopLbaaSDriver(abstract_driver.LoadBalancerAbstractDriver):
    def create_vip(self, context, vip):
        return None

    def delete_pool(self, context, pool):
        return None
''',
    "acme/services/lb/drivers/haproxy/__init__.py": "",
    "acme/services/lb/drivers/haproxy/namespace_driver.py": '''"""HAProxy in a network namespace."""

from $pkg.agent.linux import ip_lib
from $pkg.common import exceptions
from $lb.drivers import abstract_driver

NS_PREFIX = "qlbaas-"


class HaproxyNSDriver(abstract_driver.LoadBalancerAbstractDriver):
    def __init__(self, conf):
        self.conf = conf

    def get_name(self):
        return "haproxy_ns"

    def create_vip(self, context, vip):
        ip_lib.IPWrapper(namespace=NS_PREFIX + vip["pool_id"]).ensure_namespace()

    def delete_pool(self, context, pool):
        if not pool:
            raise exceptions.NotFound()
''',
    "acme/db/lb/__init__.py": "",
    "acme/db/lb/loadbalancer_db.py": '''"""Load balancer models and their database mixin."""

import sqlalchemy as sa
from sqlalchemy import orm

from $pkg.db import model_base
from $pkg.db import models_v2

PROTOCOLS = ("HTTP", "HTTPS", "TCP")
LB_METHODS = ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP")


class SessionPersistence(model_base.BASEV2):
    __tablename__ = "sessionpersistences"
    vip_id = sa.Column(sa.String(36), sa.ForeignKey("vips.id"), primary_key=True)
    type = sa.Column(
        sa.Enum("SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE", name="sesssionpersistences_type"), nullable=False
    )
    cookie_name = sa.Column(sa.String(1024))


class Vip(model_base.BASEV2, model_base.HasId, model_base.HasTenant, model_base.HasStatusDescription):
    __tablename__ = "vips"
    name = sa.Column(sa.String(255))
    port_id = sa.Column(sa.String(36), sa.ForeignKey("ports.id"))
    protocol_port = sa.Column(sa.Integer, nullable=False)
    protocol = sa.Column(sa.Enum(*PROTOCOLS, name="lb_protocols"), nullable=False)
    pool_id = sa.Column(sa.String(36), nullable=False, unique=True)
    connection_limit = sa.Column(sa.Integer)
    admin_state_up = sa.Column(sa.Boolean, nullable=False)
    port = orm.relationship(models_v2.Port)


class Member(model_base.BASEV2, model_base.HasId, model_base.HasTenant, model_base.HasStatusDescription):
    __tablename__ = "members"
    pool_id = sa.Column(sa.String(36), sa.ForeignKey("pools.id"), nullable=False)
    address = sa.Column(sa.String(64), nullable=False)
    protocol_port = sa.Column(sa.Integer, nullable=False)
    weight = sa.Column(sa.Integer, nullable=False)
    admin_state_up = sa.Column(sa.Boolean, nullable=False)


class Pool(model_base.BASEV2, model_base.HasId, model_base.HasTenant, model_base.HasStatusDescription):
    __tablename__ = "pools"
    vip_id = sa.Column(sa.String(36), sa.ForeignKey("vips.id"))
    name = sa.Column(sa.String(255))
    # A core subnet, referred to by value only (no foreign key), as in the original.
    subnet_id = sa.Column(sa.String(36), nullable=False)
    protocol = sa.Column(sa.Enum(*PROTOCOLS, name="lb_protocols"), nullable=False)
    lb_method = sa.Column(sa.Enum(*LB_METHODS, name="pools_lb_method"), nullable=False)
    admin_state_up = sa.Column(sa.Boolean, nullable=False)


class HealthMonitor(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "healthmonitors"
    type = sa.Column(sa.Enum("PING", "TCP", "HTTP", "HTTPS", name="healthmontiors_type"), nullable=False)
    delay = sa.Column(sa.Integer, nullable=False)
    timeout = sa.Column(sa.Integer, nullable=False)
    max_retries = sa.Column(sa.Integer, nullable=False)
    admin_state_up = sa.Column(sa.Boolean, nullable=False)


class PoolMonitorAssociation(model_base.BASEV2, model_base.HasStatusDescription):
    __tablename__ = "poolmonitorassociations"
    pool_id = sa.Column(sa.String(36), sa.ForeignKey("pools.id"), primary_key=True)
    monitor_id = sa.Column(sa.String(36), sa.ForeignKey("healthmonitors.id"), primary_key=True)


class PoolLoadbalancerAgentBinding(model_base.BASEV2):
    __tablename__ = "poolloadbalanceragentbindings"
    pool_id = sa.Column(sa.String(36), sa.ForeignKey("pools.id", ondelete="CASCADE"), primary_key=True)
    agent_id = sa.Column(sa.String(36), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False)


# No primary key: an append-only log of statistics samples.
lbaas_stats_log = sa.Table(
    "lbaas_stats_log",
    model_base.BASEV2.metadata,
    sa.Column("pool_id", sa.String(36), nullable=False),
    sa.Column("sampled_at", sa.DateTime, nullable=False),
    sa.Column("bytes_in", sa.BigInteger, nullable=False),
    sa.Column("bytes_out", sa.BigInteger, nullable=False),
)


class LoadBalancerPluginDb(object):
    def _get_resource(self, context, model, resource_id):
        return context.session.get(model, resource_id)
''',
    "acme/tests/unit/services/lb/__init__.py": "",
    "acme/tests/unit/services/lb/test_plugin.py": """import unittest

import mock

import $lb.agent.agent_manager
from $pkg.common import constants
from $pkg.db import lb, models_v2
from $lb import plugin


class LoadBalancerPluginTestCase(unittest.TestCase):
    @mock.patch("$pkg.services.provider_configuration.parse_service_provider_opt")
    def test_plugin_type(self, parse):
        parse.return_value = []
        self.assertEqual(constants.LOADBALANCER, plugin.LoadBalancerPlugin().get_plugin_type())

    def test_models(self):
        # One import line naming a package that moves (acme.db.lb) and a module that stays (models_v2).
        self.assertEqual("pools", lb.loadbalancer_db.Pool.__tablename__)
        self.assertEqual("ports", models_v2.Port.__tablename__)

    def test_agent_options(self):
        # An attribute chain through a plain `import a.b.c`.
        opts = $lb.agent.agent_manager.OPTS
        self.assertEqual("device_driver", opts[0].name)

    @mock.patch("$lb.agent.agent_manager.LbaasAgentManager")
    @mock.patch("$pkg.db.models_v2.Port")
    def test_agent_manager_is_mocked(self, port, manager):
        self.assertIsNotNone(manager)
""",
    # ---- firewall ---------------------------------------------------------------------------------------------
    "acme/services/fw/__init__.py": "",
    "acme/services/fw/fwaas_plugin.py": '''"""The firewall service plugin."""

from $pkg.common import constants
from $pkg.common import rpc
from $pkg.db.fw import firewall_db
from $pkg.extensions import firewall as fw_ext
from $pkg.services import service_base


class FirewallAgentApi(rpc.RpcProxy):
    def __init__(self, topic, host):
        super(FirewallAgentApi, self).__init__(topic, "1.0")
        self.host = host


class FirewallPlugin(firewall_db.Firewall_db_mixin, service_base.ServicePluginBase):
    supported_extension_aliases = ["fwaas"]

    def __init__(self):
        self.agent_rpc = FirewallAgentApi(rpc.TOPIC_FIREWALL_PLUGIN, "host")

    def get_plugin_type(self):
        return constants.FIREWALL

    def check_action(self, action):
        if action not in fw_ext.FIREWALL_ACTIONS:
            raise fw_ext.FirewallRuleNotFound(firewall_rule_id=action)
''',
    "acme/services/fw/agents/__init__.py": "",
    "acme/services/fw/agents/firewall_agent_api.py": '''"""The RPC API between the firewall plugin and its agents."""

from oslo_config import cfg

from $pkg.common import rpc

FWaaSOpts = [
    cfg.StrOpt("driver", default="$pkg.services.fw.drivers.linux.iptables_fwaas.IptablesFwaasDriver"),
    cfg.BoolOpt("enabled", default=False),
]


class FWaaSPluginApiMixin(rpc.RpcProxy):
    def __init__(self, topic, host):
        super(FWaaSPluginApiMixin, self).__init__(topic=topic, default_version="1.0")
        self.host = host


class FWaaSAgentRpcCallbackMixin(object):
    def create_firewall(self, context, firewall, host):
        raise NotImplementedError()
''',
    "acme/services/fw/agents/l3reference/__init__.py": "",
    "acme/services/fw/agents/l3reference/firewall_l3_agent.py": '''"""Firewall callbacks the core L3 agent mixes in."""

from $pkg.common import rpc
from $pkg.services.fw.agents import firewall_agent_api as api


class FWaaSL3PluginApi(api.FWaaSPluginApiMixin):
    def get_firewalls_for_tenant(self, context, **kwargs):
        return self.call(context, self.make_msg("get_firewalls_for_tenant", host=self.host))


class FWaaSL3AgentRpcCallback(api.FWaaSAgentRpcCallbackMixin):
    def __init__(self, conf):
        self.fwplugin_rpc = FWaaSL3PluginApi(rpc.TOPIC_FIREWALL_PLUGIN, getattr(conf, "host", None))
        self.services_sync = False
''',
    "acme/db/fw/__init__.py": "",
    "acme/db/fw/firewall_db.py": '''"""Firewall models and their database mixin."""

import sqlalchemy as sa

from $pkg.db import model_base


class FirewallRule(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "firewall_rules"
    name = sa.Column(sa.String(255))
    firewall_policy_id = sa.Column(sa.String(36), sa.ForeignKey("firewall_policies.id"))
    protocol = sa.Column(sa.String(40))
    destination_port_range_min = sa.Column(sa.Integer)
    destination_port_range_max = sa.Column(sa.Integer)
    action = sa.Column(sa.Enum("allow", "deny", name="firewallrules_action"))
    enabled = sa.Column(sa.Boolean)
    position = sa.Column(sa.Integer)


class Firewall(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "firewalls"
    name = sa.Column(sa.String(255))
    admin_state_up = sa.Column(sa.Boolean)
    status = sa.Column(sa.String(16))
    firewall_policy_id = sa.Column(sa.String(36), sa.ForeignKey("firewall_policies.id"))


class FirewallPolicy(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "firewall_policies"
    name = sa.Column(sa.String(255))
    shared = sa.Column(sa.Boolean)
    audited = sa.Column(sa.Boolean)


class Firewall_db_mixin(object):
    def _get_firewall(self, context, firewall_id):
        return context.session.get(Firewall, firewall_id)
''',
    "acme/tests/unit/services/fw/__init__.py": "",
    "acme/tests/unit/services/fw/test_fwaas_plugin.py": """import unittest

import mock

from $pkg.common import constants
from $pkg.services.fw import fwaas_plugin


class FirewallPluginTestCase(unittest.TestCase):
    @mock.patch("$pkg.services.fw.fwaas_plugin.FirewallAgentApi")
    def test_plugin_type(self, api):
        self.assertEqual(constants.FIREWALL, fwaas_plugin.FirewallPlugin().get_plugin_type())
""",
    # ---- VPN --------------------------------------------------------------------------------------------------
    "acme/services/vpn/__init__.py": "",
    "acme/services/vpn/plugin.py": '''"""The VPN service plugin."""

from $pkg.common import constants
from $pkg.db.vpn import vpn_db
from $pkg.services import service_base
from $pkg.services.vpn.service_drivers import ipsec


class VPNPlugin(vpn_db.VPNPluginDb, service_base.ServicePluginBase):
    supported_extension_aliases = ["vpnaas", "service-type"]

    def __init__(self):
        self.ipsec_driver = ipsec.IPsecVPNDriver(self)

    def get_plugin_type(self):
        return constants.VPN
''',
    "acme/services/vpn/agent.py": '''"""The VPN agent: an L3 agent with VPN device drivers."""

from oslo_config import cfg

from $pkg.agent import l3_agent

vpn_agent_opts = [
    cfg.MultiStrOpt(
        "vpn_device_driver",
        default=["$pkg.services.vpn.device_drivers.ipsec.OpenSwanDriver"],
        help="The vpn device drivers to use",
    ),
]


class VPNAgent(l3_agent.L3NATAgent):
    def __init__(self, host, conf=None):
        super(VPNAgent, self).__init__(host=host, conf=conf)
        self.devices = []
''',
    "acme/services/vpn/service_drivers/__init__.py": "",
    "acme/services/vpn/service_drivers/ipsec.py": '''"""The IPsec service driver."""

from $pkg.common import rpc

IPSEC = "ipsec"


class IPsecVPNDriver(object):
    def __init__(self, service_plugin):
        self.service_plugin = service_plugin
        self.agent_rpc = rpc.RpcProxy(rpc.TOPIC_VPN_AGENT, "1.0")

    @property
    def service_type(self):
        return IPSEC
''',
    "acme/services/vpn/device_drivers/__init__.py": "",
    # Python 2 only, as the 2014 original: libcst cannot parse it, the code stage must fall back to tokens.
    "acme/services/vpn/device_drivers/cisco_csr_rest_client.py": '''"""REST client of the Cisco CSR (Python 2 only)."""

import requests

from $pkg.common import exceptions
from $pkg.services.vpn.device_drivers import cisco_csr_rest_client as self_module  # noqa

TIMEOUT = 20.0


class CsrRestClient(object):
    def __init__(self, host):
        self.host = host
        self.status = 200

    def _do_request(self, method, resource):
        url = "https://%s/api/v1/%s" % (self.host, resource)
        try:
            response = requests.request(method, url, verify=False, timeout=TIMEOUT)
        except requests.exceptions.Timeout, e:
            print "%s: timeout on %s" % (self_module.__name__, url)
            raise exceptions.AcmeException()
        self.status = response.status_code
        return response.json()
''',
    "acme/db/vpn/__init__.py": "",
    "acme/db/vpn/vpn_db.py": '''"""VPN models and their database mixin."""

import sqlalchemy as sa

from $pkg.db import model_base


class IPsecPeerCidr(model_base.BASEV2):
    __tablename__ = "ipsecpeercidrs"
    cidr = sa.Column(sa.String(32), nullable=False, primary_key=True)
    ipsec_site_connection_id = sa.Column(
        sa.String(36), sa.ForeignKey("ipsec_site_connections.id", ondelete="CASCADE"), primary_key=True
    )


class IPsecPolicy(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "ipsecpolicies"
    name = sa.Column(sa.String(255))
    transform_protocol = sa.Column(sa.Enum("esp", "ah", "ah-esp", name="ipsec_transform_protocols"), nullable=False)
    encryption_algorithm = sa.Column(sa.String(16), nullable=False)
    lifetime_value = sa.Column(sa.Integer, nullable=False)


class IKEPolicy(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "ikepolicies"
    name = sa.Column(sa.String(255))
    ike_version = sa.Column(sa.Enum("v1", "v2", name="ike_versions"), nullable=False)
    encryption_algorithm = sa.Column(sa.String(16), nullable=False)
    lifetime_value = sa.Column(sa.Integer, nullable=False)


class IPsecSiteConnection(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "ipsec_site_connections"
    name = sa.Column(sa.String(255))
    peer_address = sa.Column(sa.String(255), nullable=False)
    mtu = sa.Column(sa.Integer, nullable=False)
    psk = sa.Column(sa.String(255), nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    vpnservice_id = sa.Column(sa.String(36), sa.ForeignKey("vpnservices.id"), nullable=False)
    ipsecpolicy_id = sa.Column(sa.String(36), sa.ForeignKey("ipsecpolicies.id"), nullable=False)
    ikepolicy_id = sa.Column(sa.String(36), sa.ForeignKey("ikepolicies.id"), nullable=False)


class VPNService(model_base.BASEV2, model_base.HasId, model_base.HasTenant):
    __tablename__ = "vpnservices"
    name = sa.Column(sa.String(255))
    status = sa.Column(sa.String(16), nullable=False)
    admin_state_up = sa.Column(sa.Boolean, nullable=False)
    subnet_id = sa.Column(sa.String(36), sa.ForeignKey("subnets.id"), nullable=False)
    router_id = sa.Column(sa.String(36), sa.ForeignKey("routers.id"), nullable=False)


class VPNPluginDb(object):
    def _get_vpnservice(self, context, vpnservice_id):
        return context.session.get(VPNService, vpnservice_id)
''',
    "acme/tests/unit/services/vpn/__init__.py": "",
    "acme/tests/unit/services/vpn/test_vpn_plugin.py": """import unittest

import mock

from $pkg.common import constants
from $pkg.services.vpn import plugin


class VPNPluginTestCase(unittest.TestCase):
    @mock.patch("$pkg.services.vpn.service_drivers.ipsec.IPsecVPNDriver")
    def test_plugin_type(self, driver):
        self.assertEqual(constants.VPN, plugin.VPNPlugin().get_plugin_type())
""",
    # ---- the load balancer v2 feature branch ------------------------------------------------------------------
    "acme/services/lb/v2/__init__.py": "",
    "acme/services/lb/v2/plugin.py": '''"""Load balancer v2: listeners and load balancers (feature branch)."""

from $pkg.common import constants
from $pkg.services import service_base
from $lb import constants as lb_const


class LoadBalancerPluginv2(service_base.ServicePluginBase):
    supported_extension_aliases = ["lbaasv2"]

    def get_plugin_type(self):
        return constants.LOADBALANCER + "V2"

    def default_method(self):
        return lb_const.LB_METHOD_ROUND_ROBIN
''',
    "acme/tests/unit/services/lb/v2/__init__.py": "",
    "acme/tests/unit/services/lb/v2/test_plugin_v2.py": """import unittest

import mock

from $lb.v2 import plugin


class LoadBalancerPluginv2TestCase(unittest.TestCase):
    @mock.patch("$lb.v2.plugin.LoadBalancerPluginv2.get_plugin_type")
    def test_type(self, get_type):
        get_type.return_value = "LOADBALANCERV2"
        self.assertEqual("LOADBALANCERV2", plugin.LoadBalancerPluginv2().get_plugin_type())
""",
}

_TEXT: dict[str, str] = {
    "README.rst": """\
====
Acme
====

Networking as a service: a core API and plugins for load balancing, firewalls and VPNs.

See doc/source/Design Notes.rst for the design.
""",
    "LICENSE": "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n",
    ".gitignore": "*.pyc\n*.egg-info\n.tox/\nbuild/\n",
    "requirements.txt": "pbr>=0.6\nSQLAlchemy>=0.8.4\noslo.config>=1.4.0\nrequests>=1.2.1\nmock>=1.0\n",
    "setup.py": "import setuptools\n\nsetuptools.setup(setup_requires=['pbr'], pbr=True)\n",
    "setup.cfg": """\
[metadata]
name = $pkg
summary = Networking as a service

[files]
packages =
    $pkg

[entry_points]
console_scripts =
    $pkg-server = $pkg.manager:main
    $pkg-l3-agent = $pkg.agent.l3_agent:main
    $pkg-lbaas-agent = $lb.agent.agent_manager:main
    $pkg-vpn-agent = $pkg.services.vpn.agent:main
$pkg.service_plugins =
    lbaas = $lb.plugin:LoadBalancerPlugin
    firewall = $pkg.services.fw.fwaas_plugin:FirewallPlugin
    vpnaas = $pkg.services.vpn.plugin:VPNPlugin
""",
    "tox.ini": """\
[tox]
envlist = py27,pep8

[testenv]
deps = -r{toxinidir}/requirements.txt
commands = python -m unittest discover -s $pkg/tests

[testenv:pep8]
commands = flake8
""",
    "tools/install_venv.py": '"""Install a virtualenv for development."""\n\nimport sys\n\nprint(sys.version)\n',
    "tools/check_uptodate.sh": "#!/bin/sh\n# Check that the sample config is up to date.\nexit 0\n",
    "doc/source/Design Notes.rst": """\
Design notes
============

The core owns networks, subnets, ports, routers and agents. Services (load balancer, firewall, VPN) plug in
through `service_plugins` and `service_provider` options.
""",
    "etc/lb_agent.ini": """\
[DEFAULT]
# Show debugging output in log (sets DEBUG log level output)
# debug = False

# The agent polls the plugin every periodic_interval seconds
periodic_interval = 10

# Drivers used to manage load balancing devices
device_driver = $lb.drivers.haproxy.namespace_driver.HaproxyNSDriver

[haproxy]
# Location to store config and state files
# loadbalancer_state_path = $$state_path/lbaas
user_group = nogroup
""",
    "etc/fw_driver.ini": """\
[fwaas]
# driver = $pkg.services.fw.drivers.linux.iptables_fwaas.IptablesFwaasDriver
enabled = True
""",
    "etc/vpn_agent.ini": """\
[vpnagent]
# vpn_device_driver = $pkg.services.vpn.device_drivers.ipsec.OpenSwanDriver
vpn_device_driver = $pkg.services.vpn.device_drivers.cisco_ipsec.CiscoCsrIPsecDriver

[ipsec]
# Status check interval
ipsec_status_check_interval = 60
""",
    "acme/tests/unit/services/lb/test data/pool.json": """\
{"pool": {"name": "web", "lb_method": "ROUND_ROBIN", "protocol": "HTTP", "subnet_id": "SUBNET"}}
""",
}


def acme_conf(era: Era, *, database_url: str | None = None) -> str:
    """etc/acme.conf: oslo-style, with the repeated `service_provider` keys, comments and commented samples."""
    connection = database_url or "sqlite://"
    return f"""\
[DEFAULT]
# Print more verbose output (set logging level to INFO instead of default WARNING level).
verbose = True

# The core plugin
core_plugin = {era.pkg}.plugins.ml2.plugin.Ml2Plugin

# Service plugins, by dotted class path, comma separated
service_plugins = {era.lb_module}.plugin.LoadBalancerPlugin,{era.pkg}.services.fw.fwaas_plugin.FirewallPlugin,\
{era.pkg}.services.vpn.plugin.VPNPlugin

# Paths to look for API extensions in, colon separated
api_extensions_path = {era.pkg}/extensions:{era.lb_dir}extensions

agent_down_time = 75

[database]
# The SQLAlchemy connection string of the core database
connection = {connection}

[service_providers]
# Specify service providers (drivers) for advanced services like loadbalancer, VPN, Firewall.
# Must be in form:
# service_provider=<service_type>:<name>:<driver>[:default]
# List of allowed service types includes LOADBALANCER, FIREWALL, VPN
# Combination of <service type> and <name> must be unique; <driver> must also be unique
# This is multiline option, example for default provider:
# service_provider=LOADBALANCER:name:lbaas_plugin_driver_path:default
# example of non-default provider:
# service_provider=FIREWALL:name2:firewall_driver_path
# --- Reference implementations ---
service_provider = LOADBALANCER:Haproxy:{era.lb_module}.drivers.haproxy.plugin_driver.HaproxyOnHostPluginDriver:default
service_provider = VPN:openswan:{era.pkg}.services.vpn.service_drivers.ipsec.IPsecVPNDriver:default
# In order to activate Radware's lbaas driver you need to uncomment the next line.
# service_provider = LOADBALANCER:Radware:{era.lb_module}.drivers.radware.driver.LoadBalancerDriver:default
service_provider = FIREWALL:iptables:{era.pkg}.services.fw.drivers.linux.iptables_fwaas.IptablesFwaasDriver:default
# Uncomment the following line for the Cisco CSR VPN service provider
# service_provider = VPN:cisco:{era.pkg}.services.vpn.service_drivers.cisco_ipsec.CiscoCsrIPsecVPNDriver
service_provider = LOADBALANCER:NetScaler:{era.lb_module}.drivers.netscaler.netscaler_driver.NetScalerPluginDriver
"""


def services_conf(era: Era) -> str:
    """etc/services.conf: one section per load balancer driver, plus a firewall one."""
    return f"""\
[radware]
#vdirect_address = 0.0.0.0
#ha_secondary_address=
#service_adc_type = VA
#service_compression_throughput = 100
vdirect_user = vDirect

[netscaler_driver]
#netscaler_ncc_uri = https://ncc_server.acme.com/ncc_service/1.0
#netscaler_ncc_username = admin
netscaler_ncc_password = secret

[heleoslb]
#esm_mgmt =
#admin_username =
#admin_password =
#lb_image =
async_requests = True

[haproxy]
# Driver of the haproxy-on-host provider
driver = {era.lb_module}.drivers.haproxy.namespace_driver.HaproxyNSDriver
user_group = nogroup

[fwaas_iptables]
# Kept in the core: no service claims it
enabled = True
"""


def is_python(logical: str) -> bool:
    return logical.endswith(".py")


def render(logical: str, era: Era, rev: int) -> bytes:
    """The content of file `logical` in `era` after `rev` changes (0: as first added)."""
    if logical == "etc/acme.conf":
        text = acme_conf(era)
    elif logical == "etc/services.conf":
        text = services_conf(era)
    else:
        template = _PY.get(logical)
        if template is None:
            template = _TEXT[logical]
        text = Template(template).substitute(pkg=era.pkg, lb=era.lb_module)
        if is_python(logical) and logical.count("/") > 1 and text and not text.startswith('"""'):
            text = _LICENSE_HEAD + "\n" + text
    if rev:
        # A change bumps a marker at the end; the rest of the file is stable, like most real edits.
        if logical.endswith(".json"):
            text = text.rstrip("\n")[:-1] + f', "revision": {rev}}}\n'
        elif logical.endswith(".rst") or logical == "LICENSE":
            text += f"\n.. revision {rev}\n"
        else:
            text += f"\n# revision {rev}\n"
    return text.encode("utf-8")


def all_files() -> list[str]:
    """Every logical path the sample ever has (the final layout)."""
    return sorted([*_PY, *_TEXT, "etc/acme.conf", "etc/services.conf"])
