"""The sample's SQLite database: core and service tables as in Neutron at the split, filled deterministically.

The schema mirrors the models the sample repository carries (`acme/db/**`, collected by `acme.db.head`); a test
compares the two. Service tables keep their foreign keys to core tables (vips.port_id → ports.id,
vpnservices.router_id → routers.id, ...), `poolmonitorassociations` and `ipsecpeercidrs` have composite primary
keys, `vips.protocol` and friends are enums, and `lbaas_stats_log` has no primary key at all.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spinout.lazy import lazy_module

if TYPE_CHECKING:
    import sqlalchemy as sa
else:
    sa = lazy_module("sqlalchemy")  # 0.2 s of imports every command would pay for (see spinout.lazy)

SEED = 1492069  # the configparser bug that lost repeated keys

CORE_TABLES = ["networks", "subnets", "ports", "routers", "agents"]
SERVICE_TABLES: dict[str, list[str]] = {
    "lb": [
        "pools",
        "vips",
        "members",
        "healthmonitors",
        "poolmonitorassociations",
        "sessionpersistences",
        "poolloadbalanceragentbindings",
        "lbaas_stats_log",
    ],
    "fw": ["firewall_rules", "firewalls", "firewall_policies"],
    "vpn": ["vpnservices", "ikepolicies", "ipsecpolicies", "ipsec_site_connections", "ipsecpeercidrs"],
}

PROTOCOLS = ("HTTP", "HTTPS", "TCP")
LB_METHODS = ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP")


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(36), primary_key=True)


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(255), index=True)


def _status() -> list[sa.Column[Any]]:
    return [sa.Column("status", sa.String(16), nullable=False), sa.Column("status_description", sa.String(255))]


def _enum(*values: str, name: str) -> sa.Enum:
    # create_constraint: SQLite has no enum type; the CHECK keeps bad values out as a real enum would.
    return sa.Enum(*values, name=name, create_constraint=True)


def schema() -> sa.MetaData:
    """The whole schema, core and services, as SQLAlchemy Core tables."""
    md = sa.MetaData()
    s36 = sa.String(36)
    sa.Table(
        "networks", md, _id(), _tenant(), sa.Column("name", sa.String(255)), sa.Column("status", sa.String(16)),
        sa.Column("admin_state_up", sa.Boolean),
    )  # fmt: skip
    sa.Table(
        "subnets", md, _id(), _tenant(), sa.Column("name", sa.String(255)),
        sa.Column("network_id", s36, sa.ForeignKey("networks.id")),
        sa.Column("ip_version", sa.Integer, nullable=False), sa.Column("cidr", sa.String(64), nullable=False),
        sa.Column("gateway_ip", sa.String(64)),
    )  # fmt: skip
    sa.Table(
        "ports", md, _id(), _tenant(), sa.Column("name", sa.String(255)),
        sa.Column("network_id", s36, sa.ForeignKey("networks.id"), nullable=False),
        sa.Column("mac_address", sa.String(32), nullable=False),
        sa.Column("admin_state_up", sa.Boolean, nullable=False), sa.Column("status", sa.String(16), nullable=False),
        sa.Column("device_id", sa.String(255), nullable=False),
        sa.Column("device_owner", sa.String(255), nullable=False),
    )  # fmt: skip
    sa.Table(
        "routers", md, _id(), _tenant(), sa.Column("name", sa.String(255)), sa.Column("status", sa.String(16)),
        sa.Column("admin_state_up", sa.Boolean), sa.Column("gw_port_id", s36, sa.ForeignKey("ports.id")),
    )  # fmt: skip
    sa.Table(
        "agents", md, _id(), sa.Column("agent_type", sa.String(255), nullable=False),
        sa.Column("binary", sa.String(255), nullable=False), sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("admin_state_up", sa.Boolean, nullable=False, default=True),
        sa.Column("heartbeat_timestamp", sa.DateTime, nullable=False),
    )  # fmt: skip
    # ---- load balancer
    sa.Table(
        "sessionpersistences", md, sa.Column("vip_id", s36, sa.ForeignKey("vips.id"), primary_key=True),
        sa.Column("type", _enum("SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE", name="sesssionpersistences_type"),
                  nullable=False),
        sa.Column("cookie_name", sa.String(1024)),
    )  # fmt: skip
    sa.Table(
        "vips", md, _id(), _tenant(), *_status(), sa.Column("name", sa.String(255)),
        sa.Column("port_id", s36, sa.ForeignKey("ports.id")),
        sa.Column("protocol_port", sa.Integer, nullable=False),
        sa.Column("protocol", _enum(*PROTOCOLS, name="lb_protocols"), nullable=False),
        sa.Column("pool_id", s36, nullable=False, unique=True), sa.Column("connection_limit", sa.Integer),
        sa.Column("admin_state_up", sa.Boolean, nullable=False),
    )  # fmt: skip
    sa.Table(
        "members", md, _id(), _tenant(), *_status(),
        sa.Column("pool_id", s36, sa.ForeignKey("pools.id"), nullable=False),
        sa.Column("address", sa.String(64), nullable=False), sa.Column("protocol_port", sa.Integer, nullable=False),
        sa.Column("weight", sa.Integer, nullable=False), sa.Column("admin_state_up", sa.Boolean, nullable=False),
    )  # fmt: skip
    sa.Table(
        "pools", md, _id(), _tenant(), *_status(), sa.Column("vip_id", s36, sa.ForeignKey("vips.id")),
        sa.Column("name", sa.String(255)), sa.Column("subnet_id", s36, nullable=False),
        sa.Column("protocol", _enum(*PROTOCOLS, name="lb_protocols"), nullable=False),
        sa.Column("lb_method", _enum(*LB_METHODS, name="pools_lb_method"), nullable=False),
        sa.Column("admin_state_up", sa.Boolean, nullable=False),
    )  # fmt: skip
    sa.Table(
        "healthmonitors", md, _id(), _tenant(),
        sa.Column("type", _enum("PING", "TCP", "HTTP", "HTTPS", name="healthmontiors_type"), nullable=False),
        sa.Column("delay", sa.Integer, nullable=False), sa.Column("timeout", sa.Integer, nullable=False),
        sa.Column("max_retries", sa.Integer, nullable=False), sa.Column("admin_state_up", sa.Boolean, nullable=False),
    )  # fmt: skip
    sa.Table(
        "poolmonitorassociations", md, *_status(),
        sa.Column("pool_id", s36, sa.ForeignKey("pools.id"), primary_key=True),
        sa.Column("monitor_id", s36, sa.ForeignKey("healthmonitors.id"), primary_key=True),
    )  # fmt: skip
    sa.Table(
        "poolloadbalanceragentbindings", md,
        sa.Column("pool_id", s36, sa.ForeignKey("pools.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("agent_id", s36, sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    )  # fmt: skip
    sa.Table(
        "lbaas_stats_log", md, sa.Column("pool_id", s36, nullable=False),
        sa.Column("sampled_at", sa.DateTime, nullable=False), sa.Column("bytes_in", sa.BigInteger, nullable=False),
        sa.Column("bytes_out", sa.BigInteger, nullable=False),
    )  # fmt: skip
    # ---- firewall
    sa.Table(
        "firewall_rules", md, _id(), _tenant(), sa.Column("name", sa.String(255)),
        sa.Column("firewall_policy_id", s36, sa.ForeignKey("firewall_policies.id")),
        sa.Column("protocol", sa.String(40)), sa.Column("destination_port_range_min", sa.Integer),
        sa.Column("destination_port_range_max", sa.Integer),
        sa.Column("action", _enum("allow", "deny", name="firewallrules_action")),
        sa.Column("enabled", sa.Boolean), sa.Column("position", sa.Integer),
    )  # fmt: skip
    sa.Table(
        "firewalls", md, _id(), _tenant(), sa.Column("name", sa.String(255)),
        sa.Column("admin_state_up", sa.Boolean), sa.Column("status", sa.String(16)),
        sa.Column("firewall_policy_id", s36, sa.ForeignKey("firewall_policies.id")),
    )  # fmt: skip
    sa.Table(
        "firewall_policies", md, _id(), _tenant(), sa.Column("name", sa.String(255)),
        sa.Column("shared", sa.Boolean), sa.Column("audited", sa.Boolean),
    )  # fmt: skip
    # ---- VPN
    sa.Table(
        "ipsecpeercidrs", md, sa.Column("cidr", sa.String(32), nullable=False, primary_key=True),
        sa.Column("ipsec_site_connection_id", s36, sa.ForeignKey("ipsec_site_connections.id", ondelete="CASCADE"),
                  primary_key=True),
    )  # fmt: skip
    sa.Table(
        "ipsecpolicies", md, _id(), _tenant(), sa.Column("name", sa.String(255)),
        sa.Column("transform_protocol", _enum("esp", "ah", "ah-esp", name="ipsec_transform_protocols"),
                  nullable=False),
        sa.Column("encryption_algorithm", sa.String(16), nullable=False),
        sa.Column("lifetime_value", sa.Integer, nullable=False),
    )  # fmt: skip
    sa.Table(
        "ikepolicies", md, _id(), _tenant(), sa.Column("name", sa.String(255)),
        sa.Column("ike_version", _enum("v1", "v2", name="ike_versions"), nullable=False),
        sa.Column("encryption_algorithm", sa.String(16), nullable=False),
        sa.Column("lifetime_value", sa.Integer, nullable=False),
    )  # fmt: skip
    sa.Table(
        "ipsec_site_connections", md, _id(), _tenant(), sa.Column("name", sa.String(255)),
        sa.Column("peer_address", sa.String(255), nullable=False), sa.Column("mtu", sa.Integer, nullable=False),
        sa.Column("psk", sa.String(255), nullable=False), sa.Column("status", sa.String(16), nullable=False),
        sa.Column("vpnservice_id", s36, sa.ForeignKey("vpnservices.id"), nullable=False),
        sa.Column("ipsecpolicy_id", s36, sa.ForeignKey("ipsecpolicies.id"), nullable=False),
        sa.Column("ikepolicy_id", s36, sa.ForeignKey("ikepolicies.id"), nullable=False),
    )  # fmt: skip
    sa.Table(
        "vpnservices", md, _id(), _tenant(), sa.Column("name", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False), sa.Column("admin_state_up", sa.Boolean, nullable=False),
        sa.Column("subnet_id", s36, sa.ForeignKey("subnets.id"), nullable=False),
        sa.Column("router_id", s36, sa.ForeignKey("routers.id"), nullable=False),
    )  # fmt: skip
    return md


def _rows(rows: int, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows; `rows` is the number of ports, the other tables are sized from it."""

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def tenant() -> str:
        return f"tenant-{rng.randrange(1, 20):02d}"

    when = dt.datetime(2014, 12, 5, 12, 0, 0)
    out: dict[str, list[dict[str, Any]]] = {}
    n_net = max(2, rows // 10)
    out["networks"] = [
        {"id": uid(), "tenant_id": tenant(), "name": f"net-{i}", "status": "ACTIVE", "admin_state_up": True}
        for i in range(n_net)
    ]
    out["subnets"] = [
        {
            "id": uid(),
            "tenant_id": net["tenant_id"],
            "name": f"subnet-{i}",
            "network_id": net["id"],
            "ip_version": 4,
            "cidr": f"10.{i // 256}.{i % 256}.0/24",
            "gateway_ip": f"10.{i // 256}.{i % 256}.1",
        }
        for i, net in enumerate(out["networks"])
    ]
    out["ports"] = []
    for i in range(max(4, rows)):
        net = out["networks"][i % n_net]
        out["ports"].append(
            {
                "id": uid(),
                "tenant_id": net["tenant_id"],
                "name": f"port-{i}",
                "network_id": net["id"],
                "mac_address": f"fa:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                "admin_state_up": True,
                "status": rng.choice(["ACTIVE", "DOWN"]),
                "device_id": uid(),
                "device_owner": rng.choice(["compute:nova", "network:dhcp", "acme:LOADBALANCER"]),
            }
        )
    ports = out["ports"]
    out["routers"] = [
        {
            "id": uid(),
            "tenant_id": tenant(),
            "name": f"router-{i}",
            "status": "ACTIVE",
            "admin_state_up": True,
            "gw_port_id": ports[i]["id"],
        }
        for i in range(max(2, rows // 20))
    ]
    out["agents"] = [
        {
            "id": uid(),
            "agent_type": kind,
            "binary": binary,
            "topic": topic,
            "host": f"host-{i}",
            "admin_state_up": True,
            "heartbeat_timestamp": when,
        }
        for i, (kind, binary, topic) in enumerate(
            [
                ("L3 agent", "acme-l3-agent", "l3_agent"),
                ("Loadbalancer agent", "acme-lbaas-agent", "lbaas_agent"),
                ("Loadbalancer agent", "acme-lbaas-agent", "lbaas_agent"),
                ("VPN agent", "acme-vpn-agent", "vpn_agent"),
            ]
        )
    ]
    lb_agents = [a for a in out["agents"] if a["agent_type"] == "Loadbalancer agent"]
    # ---- load balancer: each pool has a vip on its own port; half the vips persist sessions.
    n_pools = max(2, rows // 4)
    out["pools"], out["vips"], out["sessionpersistences"] = [], [], []
    for i in range(n_pools):
        pool_id, vip_id = uid(), uid()
        protocol = rng.choice(PROTOCOLS)
        tenant_id = tenant()
        out["pools"].append(
            {
                "id": pool_id,
                "tenant_id": tenant_id,
                "status": "ACTIVE",
                "status_description": None,
                "vip_id": vip_id,
                "name": f"pool-{i}",
                "subnet_id": out["subnets"][i % len(out["subnets"])]["id"],
                "protocol": protocol,
                "lb_method": rng.choice(LB_METHODS),
                "admin_state_up": True,
            }
        )
        out["vips"].append(
            {
                "id": vip_id,
                "tenant_id": tenant_id,
                "status": "ACTIVE",
                "status_description": None,
                "name": f"vip-{i}",
                "port_id": ports[i % len(ports)]["id"],
                "protocol_port": rng.choice([80, 443, 8080]),
                "protocol": protocol,
                "pool_id": pool_id,
                "connection_limit": rng.choice([None, -1, 1000]),
                "admin_state_up": True,
            }
        )
        if i % 2 == 0:
            kind = rng.choice(["SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"])
            out["sessionpersistences"].append(
                {"vip_id": vip_id, "type": kind, "cookie_name": "SESSION" if kind == "APP_COOKIE" else None}
            )
    pools = out["pools"]
    out["members"] = [
        {
            "id": uid(),
            "tenant_id": pools[i % n_pools]["tenant_id"],
            "status": "ACTIVE",
            "status_description": None,
            "pool_id": pools[i % n_pools]["id"],
            "address": f"192.168.{i // 250}.{i % 250 + 2}",
            "protocol_port": 80,
            "weight": rng.randrange(1, 10),
            "admin_state_up": True,
        }
        for i in range(max(2, rows // 2))
    ]
    out["healthmonitors"] = [
        {
            "id": uid(),
            "tenant_id": tenant(),
            "type": rng.choice(["PING", "TCP", "HTTP", "HTTPS"]),
            "delay": 5,
            "timeout": 3,
            "max_retries": rng.randrange(1, 5),
            "admin_state_up": True,
        }
        for _ in range(max(2, rows // 8))
    ]
    monitors = out["healthmonitors"]
    pairs = sorted({(i % n_pools, (i * 7) % len(monitors)) for i in range(n_pools * 2)})
    out["poolmonitorassociations"] = [
        {"pool_id": pools[p]["id"], "monitor_id": monitors[m]["id"], "status": "ACTIVE", "status_description": None}
        for p, m in pairs
    ]
    out["poolloadbalanceragentbindings"] = [
        {"pool_id": pool["id"], "agent_id": lb_agents[i % len(lb_agents)]["id"]} for i, pool in enumerate(pools)
    ]
    # Identical rows are allowed here (no key); a copy must keep duplicates.
    out["lbaas_stats_log"] = [
        {
            "pool_id": pools[i % n_pools]["id"],
            "sampled_at": when + dt.timedelta(minutes=5 * (i // n_pools)),
            "bytes_in": rng.randrange(0, 1 << 40),
            "bytes_out": rng.randrange(0, 1 << 40),
        }
        for i in range(max(2, rows))
    ]
    out["lbaas_stats_log"].append(dict(out["lbaas_stats_log"][0]))
    # ---- firewall
    out["firewall_policies"] = [
        {"id": uid(), "tenant_id": tenant(), "name": f"policy-{i}", "shared": i % 3 == 0, "audited": False}
        for i in range(max(2, rows // 10))
    ]
    policies = out["firewall_policies"]
    out["firewall_rules"] = [
        {
            "id": uid(),
            "tenant_id": policies[i % len(policies)]["tenant_id"],
            "name": f"rule-{i}",
            "firewall_policy_id": policies[i % len(policies)]["id"] if i % 5 else None,
            "protocol": rng.choice(["tcp", "udp", "icmp", None]),
            "destination_port_range_min": 1000 + i,
            "destination_port_range_max": 1000 + i + rng.randrange(0, 10),
            "action": rng.choice(["allow", "deny"]),
            "enabled": True,
            "position": i // len(policies) + 1 if i % 5 else None,
        }
        for i in range(max(2, rows // 2))
    ]
    out["firewalls"] = [
        {
            "id": uid(),
            "tenant_id": p["tenant_id"],
            "name": f"fw-{i}",
            "admin_state_up": True,
            "status": "ACTIVE",
            "firewall_policy_id": p["id"],
        }
        for i, p in enumerate(policies)
    ]
    # ---- VPN
    n_vpn = max(2, rows // 10)
    out["ikepolicies"] = [
        {
            "id": uid(),
            "tenant_id": tenant(),
            "name": f"ike-{i}",
            "ike_version": rng.choice(["v1", "v2"]),
            "encryption_algorithm": "aes-128",
            "lifetime_value": 3600,
        }
        for i in range(n_vpn)
    ]
    out["ipsecpolicies"] = [
        {
            "id": uid(),
            "tenant_id": tenant(),
            "name": f"ipsec-{i}",
            "transform_protocol": rng.choice(["esp", "ah", "ah-esp"]),
            "encryption_algorithm": "aes-128",
            "lifetime_value": 3600,
        }
        for i in range(n_vpn)
    ]
    routers = out["routers"]
    out["vpnservices"] = [
        {
            "id": uid(),
            "tenant_id": tenant(),
            "name": f"vpn-{i}",
            "status": "ACTIVE",
            "admin_state_up": True,
            "subnet_id": out["subnets"][i % len(out["subnets"])]["id"],
            "router_id": routers[i % len(routers)]["id"],
        }
        for i in range(n_vpn)
    ]
    out["ipsec_site_connections"] = [
        {
            "id": uid(),
            "tenant_id": tenant(),
            "name": f"conn-{i}",
            "peer_address": f"172.16.{i // 250}.{i % 250 + 1}",
            "mtu": 1500,
            "psk": "secret",
            "status": rng.choice(["ACTIVE", "DOWN"]),
            "vpnservice_id": out["vpnservices"][i % n_vpn]["id"],
            "ipsecpolicy_id": out["ipsecpolicies"][i % n_vpn]["id"],
            "ikepolicy_id": out["ikepolicies"][i % n_vpn]["id"],
        }
        for i in range(n_vpn * 2)
    ]
    out["ipsecpeercidrs"] = [
        {"cidr": f"10.{200 + j}.{i % 250}.0/24", "ipsec_site_connection_id": conn["id"]}
        for i, conn in enumerate(out["ipsec_site_connections"])
        for j in range(2)
    ]
    return out


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file; `#`, `?` and `%` in the path are escaped, not read as URL syntax."""
    return sa.engine.URL.create("sqlite", database=str(path)).render_as_string()


def build_database(path: Path, rows: int, on_table: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Create the SQLite database at `path` and fill it; return the row count per table."""
    md = schema()
    data = _rows(rows, random.Random(SEED))
    engine = sa.create_engine(sqlite_url(path))
    counts: dict[str, int] = {}
    try:
        md.create_all(engine)
        with engine.begin() as conn:
            for table in md.sorted_tables:
                batch = data[table.name]
                if batch:
                    conn.execute(table.insert(), batch)
                counts[table.name] = len(batch)
                if on_table is not None:
                    on_table(table.name, len(batch))
    finally:
        engine.dispose()
    return counts
