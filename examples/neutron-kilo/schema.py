#!/usr/bin/env python3
"""Build a SQLite database shaped like Neutron's at the split base, from the table facts, for the data stage.

Usage: schema.py DB_FILE [--rows N]

Installing 2014 Neutron (Python 2, its migration chain) is not possible here, so the data stage is exercised on a
schema built from the facts in the reference (../shared/reference/neutron-kilo.md): the 18 service tables with their
keys, the foreign keys between them, and the five that point at core tables (vips.port_id and
embrane_pool_port.port_id → ports, poolloadbalanceragentbindings.agent_id → agents, vpnservices.subnet_id → subnets,
vpnservices.router_id → routers), plus those core tables. `pools.subnet_id` refers to a subnet by value, without a
foreign key, as in Neutron. Columns beyond the keys are a few representative ones, not Neutron's full models.
With --rows N (default 3) each table gets N rows that satisfy every foreign key.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

CORE = """
CREATE TABLE networks (id VARCHAR(36) PRIMARY KEY, name VARCHAR(255));
CREATE TABLE subnets (id VARCHAR(36) PRIMARY KEY, network_id VARCHAR(36) REFERENCES networks(id), cidr VARCHAR(64));
CREATE TABLE ports (id VARCHAR(36) PRIMARY KEY, network_id VARCHAR(36) NOT NULL REFERENCES networks(id),
    mac_address VARCHAR(32));
CREATE TABLE routers (id VARCHAR(36) PRIMARY KEY, name VARCHAR(255));
CREATE TABLE agents (id VARCHAR(36) PRIMARY KEY, agent_type VARCHAR(255), host VARCHAR(255));
"""

LBAAS = """
CREATE TABLE vips (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), name VARCHAR(255),
    port_id VARCHAR(36) REFERENCES ports(id), protocol_port INTEGER, protocol VARCHAR(16), pool_id VARCHAR(36),
    status VARCHAR(16), admin_state_up BOOLEAN, connection_limit INTEGER);
CREATE TABLE pools (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), vip_id VARCHAR(36) REFERENCES vips(id),
    subnet_id VARCHAR(36) NOT NULL, protocol VARCHAR(16), lb_method VARCHAR(32), status VARCHAR(16),
    admin_state_up BOOLEAN);
CREATE TABLE sessionpersistences (vip_id VARCHAR(36) PRIMARY KEY REFERENCES vips(id), type VARCHAR(32),
    cookie_name VARCHAR(1024));
CREATE TABLE poolstatisticss (pool_id VARCHAR(36) PRIMARY KEY REFERENCES pools(id), bytes_in BIGINT,
    bytes_out BIGINT, active_connections BIGINT, total_connections BIGINT);
CREATE TABLE members (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), pool_id VARCHAR(36) NOT NULL
    REFERENCES pools(id), address VARCHAR(64), protocol_port INTEGER, weight INTEGER, status VARCHAR(16),
    admin_state_up BOOLEAN);
CREATE TABLE healthmonitors (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), type VARCHAR(16), delay INTEGER,
    timeout INTEGER, max_retries INTEGER, admin_state_up BOOLEAN);
CREATE TABLE poolmonitorassociations (pool_id VARCHAR(36) REFERENCES pools(id),
    monitor_id VARCHAR(36) REFERENCES healthmonitors(id), status VARCHAR(16), PRIMARY KEY (pool_id, monitor_id));
CREATE TABLE poolloadbalanceragentbindings (pool_id VARCHAR(36) PRIMARY KEY REFERENCES pools(id) ON DELETE CASCADE,
    agent_id VARCHAR(36) NOT NULL REFERENCES agents(id) ON DELETE CASCADE);
CREATE TABLE embrane_pool_port (pool_id VARCHAR(36) PRIMARY KEY REFERENCES pools(id),
    port_id VARCHAR(36) NOT NULL REFERENCES ports(id));
"""

FWAAS = """
CREATE TABLE firewall_policies (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), name VARCHAR(255),
    shared BOOLEAN, audited BOOLEAN);
CREATE TABLE firewall_rules (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), name VARCHAR(255),
    firewall_policy_id VARCHAR(36) REFERENCES firewall_policies(id), protocol VARCHAR(40), action VARCHAR(8),
    enabled BOOLEAN, position INTEGER);
CREATE TABLE firewalls (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), name VARCHAR(255),
    firewall_policy_id VARCHAR(36) REFERENCES firewall_policies(id), status VARCHAR(16), admin_state_up BOOLEAN);
"""

VPNAAS = """
CREATE TABLE ikepolicies (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), name VARCHAR(255),
    auth_algorithm VARCHAR(16), encryption_algorithm VARCHAR(16), ike_version VARCHAR(8));
CREATE TABLE ipsecpolicies (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), name VARCHAR(255),
    transform_protocol VARCHAR(16), auth_algorithm VARCHAR(16), encryption_algorithm VARCHAR(16));
CREATE TABLE vpnservices (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), name VARCHAR(255),
    status VARCHAR(16), admin_state_up BOOLEAN, subnet_id VARCHAR(36) NOT NULL REFERENCES subnets(id),
    router_id VARCHAR(36) NOT NULL REFERENCES routers(id));
CREATE TABLE ipsec_site_connections (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255), name VARCHAR(255),
    peer_address VARCHAR(255), mtu INTEGER, psk VARCHAR(255), status VARCHAR(16), admin_state_up BOOLEAN,
    vpnservice_id VARCHAR(36) NOT NULL REFERENCES vpnservices(id),
    ipsecpolicy_id VARCHAR(36) NOT NULL REFERENCES ipsecpolicies(id),
    ikepolicy_id VARCHAR(36) NOT NULL REFERENCES ikepolicies(id));
CREATE TABLE ipsecpeercidrs (cidr VARCHAR(32) NOT NULL,
    ipsec_site_connection_id VARCHAR(36) NOT NULL REFERENCES ipsec_site_connections(id) ON DELETE CASCADE,
    PRIMARY KEY (cidr, ipsec_site_connection_id));
CREATE TABLE cisco_csr_identifier_map (tenant_id VARCHAR(255),
    ipsec_site_conn_id VARCHAR(64) PRIMARY KEY REFERENCES ipsec_site_connections(id) ON DELETE CASCADE,
    csr_tunnel_id INTEGER NOT NULL, csr_ike_policy_id INTEGER NOT NULL, csr_ipsec_policy_id INTEGER NOT NULL);
"""

# Rows in dependency order: (table, columns); the value of a key column `x_id` is the id of row i in its table.
ROWS = [
    ("networks", "id name"),
    ("subnets", "id network_id cidr"),
    ("ports", "id network_id mac_address"),
    ("routers", "id name"),
    ("agents", "id agent_type host"),
    ("vips", "id tenant_id name port_id protocol_port protocol status admin_state_up connection_limit"),
    ("pools", "id tenant_id vip_id subnet_id protocol lb_method status admin_state_up"),
    ("sessionpersistences", "vip_id type cookie_name"),
    ("poolstatisticss", "pool_id bytes_in bytes_out active_connections total_connections"),
    ("members", "id tenant_id pool_id address protocol_port weight status admin_state_up"),
    ("healthmonitors", "id tenant_id type delay timeout max_retries admin_state_up"),
    ("poolmonitorassociations", "pool_id monitor_id status"),
    ("poolloadbalanceragentbindings", "pool_id agent_id"),
    ("embrane_pool_port", "pool_id port_id"),
    ("firewall_policies", "id tenant_id name shared audited"),
    ("firewall_rules", "id tenant_id name firewall_policy_id protocol action enabled position"),
    ("firewalls", "id tenant_id name firewall_policy_id status admin_state_up"),
    ("ikepolicies", "id tenant_id name auth_algorithm encryption_algorithm ike_version"),
    ("ipsecpolicies", "id tenant_id name transform_protocol auth_algorithm encryption_algorithm"),
    ("vpnservices", "id tenant_id name status admin_state_up subnet_id router_id"),
    (
        "ipsec_site_connections",
        "id tenant_id name peer_address mtu psk status admin_state_up vpnservice_id ipsecpolicy_id ikepolicy_id",
    ),
    ("ipsecpeercidrs", "cidr ipsec_site_connection_id"),
    ("cisco_csr_identifier_map", "tenant_id ipsec_site_conn_id csr_tunnel_id csr_ike_policy_id csr_ipsec_policy_id"),
]
# Which table a key column points at (the row with the same index).
KEY_TABLE = {
    "network_id": "networks", "subnet_id": "subnets", "port_id": "ports", "router_id": "routers",
    "agent_id": "agents", "vip_id": "vips", "pool_id": "pools", "monitor_id": "healthmonitors",
    "firewall_policy_id": "firewall_policies", "vpnservice_id": "vpnservices", "ipsecpolicy_id": "ipsecpolicies",
    "ikepolicy_id": "ikepolicies", "ipsec_site_connection_id": "ipsec_site_connections",
    "ipsec_site_conn_id": "ipsec_site_connections",
}  # fmt: skip
INTS = {"protocol_port", "connection_limit", "bytes_in", "bytes_out", "active_connections", "total_connections"}
INTS |= {"weight", "delay", "timeout", "max_retries", "position", "mtu", "csr_tunnel_id", "csr_ike_policy_id"}
INTS |= {"csr_ipsec_policy_id", "shared", "audited", "enabled", "admin_state_up"}


def _value(table: str, column: str, i: int) -> object:
    if column == "id":
        return f"{table}-{i:04d}"
    if column in KEY_TABLE:
        return f"{KEY_TABLE[column]}-{i:04d}"
    if column in INTS:
        return i % 2 if column in {"shared", "audited", "enabled", "admin_state_up"} else 10 + i
    if column == "cidr":
        return f"10.{i // 256}.{i % 256}.0/24"
    return f"{column}-{i}"


def build(path: Path, rows: int) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript("PRAGMA foreign_keys = ON;" + CORE + LBAAS + FWAAS + VPNAAS)
        for table, columns in ROWS:
            cols = columns.split()
            marks = ", ".join("?" for _ in cols)
            data = [tuple(_value(table, c, i) for c in cols) for i in range(rows)]
            con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", data)
        con.commit()
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="SQLite database shaped like Neutron's service tables at the split base")
    ap.add_argument("db", type=Path, help="the SQLite file to create (must not exist)")
    ap.add_argument("--rows", type=int, default=3, help="rows per table")
    args = ap.parse_args(argv)
    if args.db.exists():
        ap.error(f"{args.db} exists; give a new file")
    build(args.db, args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
