"""Table assignment and foreign-key classification (pure), service schemas, URL masking."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from tests.fixtures import neutron_db
from tests.fixtures.datahelpers import write_plan

from spinout.data.schema import (
    CORE,
    classify,
    mask_url,
    scrub,
    service_metadata,
    sorted_tables,
    version_table,
)
from spinout.plan.load import load_plan


def _kinds(md: sa.MetaData, plan_path: Path) -> dict[str, str]:
    dp = classify(md, load_plan(plan_path))
    return {fk.describe(): fk.kind for fk in dp.foreign_keys}


def test_neutron_foreign_keys_are_classified_like_the_reference(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path, services=("lbaas", "fwaas", "vpnaas")))
    dp = classify(neutron_db.build_metadata(), plan)
    assert dp.problems == ()
    cross = sorted(fk.describe() for fk in dp.of_kind("cross"))
    # reference/neutron-kilo.md: vips.port_id, poolloadbalanceragentbindings.agent_id, vpnservices.subnet_id/router_id
    assert cross == [
        "poolloadbalanceragentbindings(agent_id) -> agents(id)",
        "vips(port_id) -> ports(id)",
        "vpnservices(router_id) -> routers(id)",
        "vpnservices(subnet_id) -> subnets(id)",
    ]
    assert "members(pool_id) -> pools(id)" in {fk.describe() for fk in dp.of_kind("kept")}
    assert "subnets(network_id) -> networks(id)" in {fk.describe() for fk in dp.of_kind("kept")}
    assert dp.owner["networks"] == CORE and dp.owner["vips"] == "neutron-lbaas"
    assert {fk.owner for fk in dp.cross("neutron-vpnaas")} == {"neutron-vpnaas"}


def test_core_referencing_a_service_table_is_a_located_problem(tmp_path: Path) -> None:
    md = neutron_db.build_metadata()
    sa.Table("port_pools", md, sa.Column("pool_id", sa.String(36), sa.ForeignKey("pools.id"), primary_key=True))
    dp = classify(md, load_plan(write_plan(tmp_path, services=("fwaas", "lbaas"))))
    assert dp.flagged() == ["port_pools"]
    assert [p.location for p in dp.problems] == ["service[1].tables"]
    assert "core table 'port_pools' references service table 'pools'" in dp.problems[0].message


def test_service_to_service_reference_and_bad_tables_are_problems(tmp_path: Path) -> None:
    md = neutron_db.build_metadata()
    fw = md.tables["firewalls"]
    fw.append_column(sa.Column("vip_id", sa.String(36)))
    fw.append_constraint(sa.ForeignKeyConstraint(["vip_id"], ["vips.id"]))
    plan = write_plan(tmp_path, services=("lbaas", "fwaas"), extra_tables={"fwaas": ["nosuch"]})
    dp = classify(md, load_plan(plan))
    messages = {p.location: p.message for p in dp.problems}
    assert messages["service[1].tables[3]"] == "table 'nosuch' is not in the source database"
    assert "links service 'neutron-fwaas' to service 'neutron-lbaas'" in messages["service[1].tables"]


def test_sorted_tables_puts_referenced_tables_first() -> None:
    md = neutron_db.build_metadata()
    order = sorted_tables(md, neutron_db.SERVICES["lbaas"])
    assert sorted(order) == sorted(neutron_db.SERVICES["lbaas"])
    for name in order:
        for fk in md.tables[name].foreign_keys:
            if fk.column.table.name in order:
                assert order.index(fk.column.table.name) < order.index(name), (name, fk.column.table.name)


def test_service_metadata_drops_cross_keys_and_keeps_columns(tmp_path: Path) -> None:
    md = neutron_db.build_metadata()
    dp = classify(md, load_plan(write_plan(tmp_path, services=("lbaas",))))
    svc = service_metadata(md, dp, "neutron-lbaas")
    assert set(svc.tables) == set(neutron_db.SERVICES["lbaas"])
    vips = svc.tables["vips"]
    assert [fk.target_fullname for fk in vips.foreign_keys] == ["pools.id"]
    assert "port_id" in vips.c and vips.c.port_id.foreign_keys == set()
    assert {tuple(c.name for c in u.columns) for u in vips.constraints if isinstance(u, sa.UniqueConstraint)} == {
        ("pool_id",)
    }
    # the source schema is not modified
    assert {fk.target_fullname for fk in md.tables["vips"].foreign_keys} == {"pools.id", "ports.id"}
    # and it can be created on its own (no reference to a missing core table)
    engine = sa.create_engine("sqlite://")
    svc.create_all(engine)
    assert set(sa.inspect(engine).get_table_names()) == set(neutron_db.SERVICES["lbaas"])


def test_mask_url_hides_passwords() -> None:
    assert mask_url("postgresql+psycopg://neutron:hunter2@db:5432/neutron") == (
        "postgresql+psycopg://neutron:***@db:5432/neutron"
    )
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert scrub("failed for neutron:hunter2", ["mysql+pymysql://neutron:hunter2@h/db"]) == "failed for neutron:***"


def test_version_table_names() -> None:
    assert version_table("neutron-lbaas") == "alembic_version_neutron_lbaas"
