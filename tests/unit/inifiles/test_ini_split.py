"""The split engine on texts: each rule kind, comment attachment, repeated keys, rewrites, settings, idempotence."""

from __future__ import annotations

import pytest
from tests.unit.inifiles.samples import NEUTRON_CONF, lb_values, no_rename, rename, rule, setting

from spinout.errors import UnsafeSourceError
from spinout.inifiles.split import Rename, ServiceRule, SplitOutcome, ValueChange, rewrite_dotted, split_config
from spinout.plan.model import CoreSetting


def _run(
    files: dict[str, str | None],
    rules: list[ServiceRule],
    settings: list[tuple[str, CoreSetting]] | None = None,
    ren: Rename = no_rename,
) -> SplitOutcome:
    return split_config(files, rules, settings or [], ren)


def test_whole_section_moves_with_its_comments_and_the_rest_stays_byte_for_byte() -> None:
    out = _run(
        {"neutron.conf": NEUTRON_CONF, "services_lbaas.conf": None},
        [rule(**{"from": "neutron.conf", "to": "services_lbaas.conf", "section": "radware"})],
    )
    assert out.texts["services_lbaas.conf"] == (
        "[radware]\n# Radware's vDirect\nvdirect_address = 10.0.0.1\nservice_ha_pair = False\n"
    )
    assert out.texts["neutron.conf"] == NEUTRON_CONF.replace(
        "[radware]\n# Radware's vDirect\nvdirect_address = 10.0.0.1\nservice_ha_pair = False\n\n", ""
    )
    assert out.created_from == {"services_lbaas.conf": "neutron.conf"}


def test_named_options_move_with_their_attached_comment() -> None:
    src = "[haproxy]\nuser_group = nogroup\n# where state lives\nstate = /x\nsend_arp = 3\n"
    out = _run(
        {"a.conf": src, "b.conf": None},
        [rule(**{"from": "a.conf", "to": "b.conf", "section": "haproxy"}, options=["state"])],
    )
    assert out.texts["a.conf"] == "[haproxy]\nuser_group = nogroup\nsend_arp = 3\n"
    assert out.texts["b.conf"] == "[haproxy]\n# where state lives\nstate = /x\n"


def test_an_option_alone_between_blank_lines_takes_its_blank_line_along() -> None:
    src = "[s]\na = 1\n\n# about b\nb = 2\n\nc = 3\n"
    only_b = rule(**{"from": "a.conf", "to": "b.conf", "section": "s"}, options=["b"])
    out = _run({"a.conf": src, "b.conf": None}, [only_b])
    assert out.texts["a.conf"] == "[s]\na = 1\n\nc = 3\n"
    assert out.texts["b.conf"] == "[s]\n# about b\nb = 2\n"


def test_repeated_key_values_matching_the_pattern_move_all_of_them() -> None:
    out = _run({"neutron.conf": NEUTRON_CONF, "neutron_lbaas.conf": None}, [lb_values()])
    assert out.texts["neutron_lbaas.conf"] == (
        "[service_providers]\n"
        "# Must be in form:\n"
        "# service_provider=<service_type>:<name>:<driver>[:default]\n"
        "service_provider=LOADBALANCER:Haproxy:neutron.services.loadbalancer.drivers.haproxy.plugin_driver."
        "HaproxyOnHostPluginDriver:default\n"
        "# A second load balancer\n"
        "service_provider = LOADBALANCER:Octavia:neutron.services.loadbalancer.drivers.octavia.Driver\n"
        "\n"
        "# In order to activate Radware's lbaas driver you need to uncomment the next line.\n"
        "# service_provider = LOADBALANCER:Radware:neutron.services.loadbalancer.drivers.radware.driver."
        "LoadBalancerDriver\n"
    )
    assert (
        "[service_providers]\n"
        "service_provider=VPN:openswan:neutron.services.vpn.service_drivers.ipsec.IPsecVPNDriver:default\n"
        "\n[radware]\n"
    ) in out.texts["neutron.conf"]
    assert out.texts["neutron.conf"].count("LOADBALANCER") == 0


def test_values_into_an_existing_section_go_at_its_end_before_its_blank_lines() -> None:
    target = "[DEFAULT]\nx = 1\n\n[service_providers]\nservice_provider = LOADBALANCER:Old:a.B\n\n[z]\nq = 1\n"
    src = "[service_providers]\nservice_provider = LOADBALANCER:New:c.D\nservice_provider = VPN:v:e.F\n"
    out = _run(
        {"n.conf": src, "l.conf": target},
        [
            lb_values("l.conf").__class__(
                "lb", "service[0].config[0]", lb_values().rule.model_copy(update={"from_": "n.conf", "to": "l.conf"})
            )
        ],
    )
    assert out.texts["l.conf"] == (
        "[DEFAULT]\nx = 1\n\n[service_providers]\nservice_provider = LOADBALANCER:Old:a.B\n"
        "service_provider = LOADBALANCER:New:c.D\n\n[z]\nq = 1\n"
    )
    assert out.texts["n.conf"] == "[service_providers]\nservice_provider = VPN:v:e.F\n"


def test_a_moved_identical_value_that_is_already_in_the_target_is_a_conflict() -> None:
    target = "[service_providers]\nservice_provider = LOADBALANCER:New:c.D\n"
    src = "[service_providers]\nservice_provider = LOADBALANCER:New:c.D\n"
    r = lb_values().rule.model_copy(update={"from_": "n.conf", "to": "l.conf"})
    with pytest.raises(UnsafeSourceError, match=r"already has the same value in l.conf \(line 2\)"):
        _run({"n.conf": src, "l.conf": target}, [lb_values().__class__("lb", "service[0].config[0]", r)])


def test_a_moved_option_already_set_in_the_target_is_a_conflict() -> None:
    with pytest.raises(UnsafeSourceError, match=r"\[s\] a already has a value in b.conf"):
        _run(
            {"a.conf": "[s]\na = 1\n", "b.conf": "[s]\na = 2\n"},
            [rule(**{"from": "a.conf", "to": "b.conf", "section": "s"}, options=["a"])],
        )


def test_dotted_names_of_moved_modules_are_rewritten_in_values_and_comments() -> None:
    out = _run({"neutron.conf": NEUTRON_CONF, "neutron_lbaas.conf": None}, [lb_values()], ren=rename)
    lb = out.texts["neutron_lbaas.conf"]
    assert "neutron.services" not in lb
    assert "service_provider = LOADBALANCER:Octavia:neutron_lbaas.services.loadbalancer.drivers.octavia.Driver\n" in lb
    assert "# service_provider = LOADBALANCER:Radware:neutron_lbaas.services.loadbalancer.drivers.radware." in lb
    core = out.texts["neutron.conf"]
    assert "service_plugins = router,neutron_lbaas.services.loadbalancer.plugin.LoadBalancerPlugin\n" in core
    assert "VPN:openswan:neutron_vpnaas.services.vpn.service_drivers.ipsec.IPsecVPNDriver:default" in core
    assert "state_path = /var/lib/neutron\n" in core
    assert (
        ValueChange(
            "neutron.conf",
            "DEFAULT",
            "service_plugins",
            "router,neutron.services.loadbalancer.plugin.LoadBalancerPlugin",
            "router,neutron_lbaas.services.loadbalancer.plugin.LoadBalancerPlugin",
            "rewrite",
        )
        in out.changes
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("neutron.services.vpn.X", "neutron_vpnaas.services.vpn.X"),
        ("a:neutron.services.vpn:b", "a:neutron_vpnaas.services.vpn:b"),
        ("/etc/neutron.services.vpn.conf", "/etc/neutron.services.vpn.conf"),  # a path, not a module
        ("neutron.services.vpnx.Y", "neutron.services.vpnx.Y"),  # a prefix of a name is not the module
        ("see neutron.services.vpn.", "see neutron_vpnaas.services.vpn."),
    ],
)
def test_rewrite_dotted(text: str, expected: str) -> None:
    assert rewrite_dotted(text, rename) == expected


def test_core_settings_set_and_append() -> None:
    out = _run(
        {"neutron.conf": NEUTRON_CONF},
        [],
        [
            setting(file="neutron.conf", section="DEFAULT", key="service_plugins", value="firewall", action="append"),
            setting(file="neutron.conf", section="DEFAULT", key="api_extensions_path", value="/opt/ext"),
            setting(file="neutron.conf", section="DEFAULT", key="state_path", value="/srv/neutron"),
            setting(file="neutron.conf", section="quotas", key="quota_pool", value="10"),
        ],
    )
    text = out.texts["neutron.conf"]
    assert (
        "service_plugins = router,neutron.services.loadbalancer.plugin.LoadBalancerPlugin,firewall\n"
        "state_path = /srv/neutron\n"
        "api_extensions_path = /opt/ext\n"
        "\n[service_providers]\n"
    ) in text
    assert text.endswith("[agent]\nroot_helper = sudo\n\n[quotas]\nquota_pool = 10\n")
    assert [(c.key, c.old, c.new, c.reason) for c in out.changes] == [
        (
            "service_plugins",
            "router,neutron.services.loadbalancer.plugin.LoadBalancerPlugin",
            "router,neutron.services.loadbalancer.plugin.LoadBalancerPlugin,firewall",
            "append",
        ),
        ("api_extensions_path", None, "/opt/ext", "set"),
        ("state_path", "/var/lib/neutron", "/srv/neutron", "set"),
        ("quota_pool", None, "10", "set"),
    ]


def test_settings_already_in_place_change_nothing() -> None:
    out = _run(
        {"c.conf": "[DEFAULT]\nplugins = a, b\nx = 1\n"},
        [],
        [
            setting(file="c.conf", section="DEFAULT", key="plugins", value="b", action="append"),
            setting(file="c.conf", section="DEFAULT", key="x", value="1"),
        ],
    )
    assert out.texts == {}
    assert out.changes == []


def test_a_setting_on_a_repeated_key_is_refused() -> None:
    with pytest.raises(UnsafeSourceError, match="appears 2 times"):
        _run({"c.conf": "[s]\nk = 1\nk = 2\n"}, [], [setting(file="c.conf", section="s", key="k", value="3")])


def test_a_second_run_changes_nothing() -> None:
    rules = [
        lb_values(),
        rule(**{"from": "neutron.conf", "to": "neutron_lbaas.conf", "section": "radware", "n": 1}),
        rule(**{"from": "neutron.conf", "to": "neutron_lbaas.conf", "section": "haproxy"}, options=["user_group"]),
        rule("vpn", **{"from": "neutron.conf", "to": "neutron_vpnaas.conf", "section": "service_providers"}),
    ]
    settings = [setting(file="neutron.conf", section="DEFAULT", key="service_plugins", value="fw", action="append")]
    files: dict[str, str | None] = {"neutron.conf": NEUTRON_CONF, "neutron_lbaas.conf": None}
    files["neutron_vpnaas.conf"] = None
    first = _run(files, rules, settings, rename)
    assert set(first.texts) == {"neutron.conf", "neutron_lbaas.conf", "neutron_vpnaas.conf"}
    second = _run({**files, **first.texts}, rules, settings, rename)
    assert second.texts == {}
    assert second.moved == [] and second.changes == []
    assert len(second.notes) == 4 and all("nothing to move" in n for n in second.notes)


def test_a_missing_source_file_is_an_error() -> None:
    with pytest.raises(UnsafeSourceError, match=r"'neutron\.conf' does not exist"):
        _run({"neutron.conf": None, "neutron_lbaas.conf": None}, [lb_values()])


def test_a_malformed_target_stops_before_anything_is_computed() -> None:
    from spinout.inifiles.document import IniSyntaxError

    with pytest.raises(IniSyntaxError, match=r"neutron_lbaas\.conf:2"):
        _run({"neutron.conf": NEUTRON_CONF, "neutron_lbaas.conf": "[a]\n  x\n"}, [lb_values()])


def test_append_to_a_quoted_value_goes_inside_the_quotes() -> None:
    out = _run(
        {"c.conf": "[DEFAULT]\nplugins = 'router'\n"},
        [],
        [setting(file="c.conf", section="DEFAULT", key="plugins", value="lbaas", action="append")],
    )
    assert out.texts["c.conf"] == "[DEFAULT]\nplugins = 'router,lbaas'\n"
    assert [(c.old, c.new) for c in out.changes] == [("router", "router,lbaas")]


def test_a_core_setting_inside_what_a_rule_moves_is_a_plan_error() -> None:
    from spinout.errors import PlanError

    with pytest.raises(PlanError) as err:
        _run(
            {"neutron.conf": NEUTRON_CONF, "neutron_lbaas.conf": None},
            [rule(**{"from": "neutron.conf", "to": "neutron_lbaas.conf", "section": "radware"})],
            [setting(file="neutron.conf", section="radware", key="vdirect_address", value="10.0.0.2")],
        )
    assert [p.location for p in err.value.problems] == ["core.settings[0]"]
    assert "what service[0].config[0] moves to neutron_lbaas.conf" in err.value.problems[0].message


def test_a_repeated_key_merges_into_a_target_that_already_has_it() -> None:
    src = "[service_providers]\nservice_provider = LB:a:x\nservice_provider = LB:b:y\n"
    target = "[service_providers]\nservice_provider = LB:c:z\n"
    out = _run(
        {"n.conf": src, "l.conf": target},
        [rule(**{"from": "n.conf", "to": "l.conf", "section": "service_providers"})],
    )
    assert out.texts["l.conf"] == (
        "[service_providers]\nservice_provider = LB:c:z\nservice_provider = LB:a:x\nservice_provider = LB:b:y\n"
    )
    assert out.texts["n.conf"] == ""


PROVIDERS = """\
[service_providers]
# Must be in form:
# service_provider=<service_type>:<name>:<driver>[:default]
service_provider = LOADBALANCER:Haproxy:h.D:default
service_provider = VPN:openswan:o.D:default
# In order to activate Radware's lbaas driver you need to uncomment the next line.
# service_provider = LOADBALANCER:Radware:r.D:default
service_provider = FIREWALL:iptables:i.D:default
# Uncomment the following line for the Cisco CSR VPN service provider
# service_provider = VPN:cisco:c.D
service_provider = LOADBALANCER:NetScaler:n.D
"""


def test_commented_samples_go_to_the_service_they_describe_and_a_rerun_changes_nothing() -> None:
    def values(service: str, kind: str, n: int) -> ServiceRule:
        fields = {"from": "a.conf", "to": f"{service}.conf", "section": "service_providers", "n": n}
        return rule(service, **fields, key="service_provider", match=f"{kind}:*")

    rules = [values("lb", "LOADBALANCER", 0), values("fw", "FIREWALL", 1), values("vpn", "VPN", 2)]
    files: dict[str, str | None] = {"a.conf": PROVIDERS, "lb.conf": None, "fw.conf": None, "vpn.conf": None}
    out = _run(files, rules)
    assert out.texts["lb.conf"] == (
        "[service_providers]\n"
        "# Must be in form:\n"
        "# service_provider=<service_type>:<name>:<driver>[:default]\n"
        "service_provider = LOADBALANCER:Haproxy:h.D:default\n"
        "service_provider = LOADBALANCER:NetScaler:n.D\n"
        "# In order to activate Radware's lbaas driver you need to uncomment the next line.\n"
        "# service_provider = LOADBALANCER:Radware:r.D:default\n"
    )
    assert out.texts["fw.conf"] == "[service_providers]\nservice_provider = FIREWALL:iptables:i.D:default\n"
    assert out.texts["vpn.conf"] == (
        "[service_providers]\n"
        "service_provider = VPN:openswan:o.D:default\n"
        "# Uncomment the following line for the Cisco CSR VPN service provider\n"
        "# service_provider = VPN:cisco:c.D\n"
    )
    assert out.texts["a.conf"] == ""
    assert _run({**files, **out.texts}, rules).texts == {}


def test_a_trailing_block_of_samples_is_shared_out_sample_by_sample() -> None:
    src = (
        "[service_providers]\n"
        "service_provider = LOADBALANCER:Haproxy:h.D:default\n"
        "service_provider = VPN:openswan:o.D:default\n"
        "\n"
        "# Radware, uncomment:\n"
        "# service_provider = LOADBALANCER:Radware:r.D\n"
        "# Cisco's VPN driver, uncomment\n"
        "# (and comment out the OpenSwan line):\n"
        "# service_provider=VPN:cisco:c.D\n"
        "# service_provider = LOADBALANCER:Embrane:e.D\n"
        "# end of the samples\n"
    )

    def values(service: str, kind: str) -> ServiceRule:
        fields = {"from": "a.conf", "to": f"{service}.conf", "section": "service_providers"}
        return rule(service, **fields, key="service_provider", match=f"{kind}:*")

    out = _run({"a.conf": src, "lb.conf": None, "vpn.conf": None}, [values("lb", "LOADBALANCER"), values("vpn", "VPN")])
    assert out.texts["lb.conf"] == (
        "[service_providers]\n"
        "service_provider = LOADBALANCER:Haproxy:h.D:default\n"
        "# Radware, uncomment:\n"
        "# service_provider = LOADBALANCER:Radware:r.D\n"
        "# service_provider = LOADBALANCER:Embrane:e.D\n"
    )
    assert out.texts["vpn.conf"] == (
        "[service_providers]\n"
        "service_provider = VPN:openswan:o.D:default\n"
        "\n"
        "# Cisco's VPN driver, uncomment\n"
        "# (and comment out the OpenSwan line):\n"
        "# service_provider=VPN:cisco:c.D\n"
    )
    assert out.texts["a.conf"] == "[service_providers]\n# end of the samples\n"


def test_a_sample_left_alone_by_another_move_is_reported_as_a_sample_not_as_zero_options() -> None:
    conf = (
        "[service_providers]\n"
        "service_provider = LOADBALANCER:Haproxy:a.b.C:default\n"
        "# Uncomment for the Radware driver.\n"
        "# service_provider = LOADBALANCER:Radware:a.b.D:default\n"
        "service_provider = FIREWALL:iptables:a.f.G:default\n"
    )
    fw = rule(
        "fw",
        **{"from": "neutron.conf", "to": "fw.conf", "section": "service_providers"},
        key="service_provider",
        match="FIREWALL:*",
        n=1,
    )
    out = _run({"neutron.conf": conf, "neutron_lbaas.conf": None, "fw.conf": None}, [lb_values(), fw])
    # The Radware sample sat above the firewall line; once that moved, a second pass gives the sample to lb.
    assert "# service_provider = LOADBALANCER:Radware" in (out.texts["neutron_lbaas.conf"] or "")
    assert [m.what for m in out.moved] == [
        "1 option line(s): service_provider",
        "1 option line(s): service_provider",
        "2 commented sample line(s)",
    ]


# -- the routing decisions a review's planted bugs got through (issue 18) -------------------------------------------

LB_SP = rule(**{"from": "a.conf", "to": "lb.conf", "section": "sp"}, key="service_provider", match="LOADBALANCER:*")
VPN_SP = rule(
    "vpn", **{"from": "a.conf", "to": "vpn.conf", "section": "sp", "n": 1}, key="service_provider", match="VPN:*"
)


def test_a_values_rule_takes_only_its_own_key_whatever_the_value() -> None:
    """`default_provider = LOADBALANCER:a` matches the LB glob but is not a service_provider line: it stays."""
    src = "[sp]\ndefault_provider = LOADBALANCER:a\nservice_provider = LOADBALANCER:h:h.D\nlb_note: LOADBALANCER:x\n"
    out = _run({"a.conf": src, "lb.conf": None}, [LB_SP])
    assert out.texts["lb.conf"] == "[sp]\nservice_provider = LOADBALANCER:h:h.D\n"
    assert out.texts["a.conf"] == "[sp]\ndefault_provider = LOADBALANCER:a\nlb_note: LOADBALANCER:x\n"


def test_a_comment_with_samples_of_this_rule_and_another_moves_with_the_value_below_it() -> None:
    """The comment above the LB line shows an LB sample and a VPN sample: it describes this value too, so it is not
    "foreign" and moves with the line, in one piece and in place (not cut up afterwards as a lone block)."""
    comment = "# Providers, e.g.:\n# service_provider = VPN:cisco:c.D\n# service_provider = LOADBALANCER:r:r.D\n"
    src = f"[sp]\nservice_provider = VPN:o:o.D\n{comment}service_provider = LOADBALANCER:h:h.D\n"
    out = _run({"a.conf": src, "lb.conf": None, "vpn.conf": None}, [LB_SP, VPN_SP])
    assert out.texts["lb.conf"] == f"[sp]\n{comment}service_provider = LOADBALANCER:h:h.D\n"
    assert out.texts["vpn.conf"] == "[sp]\nservice_provider = VPN:o:o.D\n"


def test_a_comment_with_only_another_rules_samples_stays_for_that_rule() -> None:
    comment = "# service_provider = VPN:cisco:c.D\n"
    src = f"[sp]\n{comment}service_provider = LOADBALANCER:h:h.D\n"
    out = _run({"a.conf": src, "lb.conf": None, "vpn.conf": None}, [LB_SP, VPN_SP])
    assert out.texts["lb.conf"] == "[sp]\nservice_provider = LOADBALANCER:h:h.D\n"
    assert out.texts["vpn.conf"] == f"[sp]\n{comment}"  # left alone above nothing, then taken by the VPN rule


@pytest.mark.parametrize("separator", ["=", " = ", ": ", ":", " :\t"])
def test_commented_samples_are_recognised_with_either_delimiter(separator: str) -> None:
    """oslo.config reads `key: value` like `key = value`; a commented-out sample written either way is a sample."""
    sample = f"# service_provider{separator}LOADBALANCER:n:n.D\n"
    src = f"[sp]\nservice_provider = VPN:o:o.D\n\n# To use NetScaler:\n{sample}# (needs a licence)\n"
    out = _run({"a.conf": src, "lb.conf": None}, [LB_SP])
    assert out.texts["lb.conf"] == f"[sp]\n# To use NetScaler:\n{sample}"
    assert out.texts["a.conf"] == "[sp]\nservice_provider = VPN:o:o.D\n\n# (needs a licence)\n"


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"], ids=["CR", "CRLF", "LF"])
def test_lines_spinout_adds_take_the_files_own_line_ending(newline: str) -> None:
    """A lone CR is a line ending for oslo.config: a blank line, a new section header or a setting spinout adds to
    such a file ends with CR too, and a moved last line without any ending gets the file's."""
    src = "[DEFAULT]\nx = 1\n\n[radware]\nvdirect_address = 10.0.0.1".replace("\n", newline)
    target = "[DEFAULT]\ny = 2".replace("\n", newline)
    out = _run(
        {"a.conf": src, "b.conf": target},
        [rule(**{"from": "a.conf", "to": "b.conf", "section": "radware"})],
        [setting(file="b.conf", section="extra", key="k", value="v")],
    )
    expected = "[DEFAULT]\ny = 2\n\n[radware]\nvdirect_address = 10.0.0.1\n\n[extra]\nk = v\n".replace("\n", newline)
    assert out.texts["b.conf"] == expected
