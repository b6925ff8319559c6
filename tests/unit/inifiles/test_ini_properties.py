"""Generated INI files and rules: whatever the engine moves, oslo.config reads the same values back, no non-blank
line is lost or invented, untouched lines keep their order, and a second run changes nothing."""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.inifiles.samples import no_rename

from spinout.errors import PlanError, UnsafeSourceError
from spinout.inifiles.document import oslo_entries
from spinout.inifiles.split import ServiceRule, split_config
from spinout.inifiles.verify import differences
from spinout.plan.model import ConfigRule

EXAMPLES = int(os.environ.get("SPINOUT_PROPERTY_EXAMPLES", "60"))
SECTIONS = ["DEFAULT", "service_providers", "haproxy", "radware"]
KEYS = ["service_provider", "user_group", "device_driver", "state"]
COMMENTS = ["# a note", "# service_provider = LB:z:q.R", "# service_provider = VPN:k:q.S", ";semi"]
VALUES = ["LB:a:x.y.Z", "LB:b:x.y.W:default", "VPN:c:v.w", "nogroup", "'quoted'", "$state_path/lbaas", ""]

line_block = st.one_of(
    st.tuples(st.just("option"), st.sampled_from(KEYS), st.sampled_from(VALUES), st.sampled_from([" = ", "=", ": "])),
    st.tuples(st.just("comment"), st.sampled_from(COMMENTS)),
    st.tuples(st.just("blank")),
    st.tuples(st.just("multi"), st.sampled_from(KEYS), st.sampled_from(["a", "LB:m"]), st.just("  more")),
)


@st.composite
def ini_text(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(SECTIONS), unique=True, min_size=1, max_size=4))
    out = draw(st.sampled_from(["", "# header\n", "# header\n\n"]))
    for name in names:
        out += f"[{name}]\n"
        for block in draw(st.lists(line_block, max_size=8)):
            if block[0] == "option":
                out += f"{block[1]}{block[3]}{block[2]}\n"
            elif block[0] == "comment":
                out += f"{block[1]}\n"
            elif block[0] == "blank":
                out += "\n"
            else:
                out += f"{block[1]} = {block[2]}\n{block[3]}\n"
    if draw(st.booleans()):
        out = out.rstrip("\n")  # no newline at the end of the file
    return out


@st.composite
def rules(draw: st.DrawFn) -> list[ServiceRule]:
    out = []
    for n in range(draw(st.integers(1, 3))):
        section = draw(st.sampled_from(SECTIONS))
        kind = draw(st.sampled_from(["section", "options", "values"]))
        fields: dict[str, object] = {"from": "a.conf", "to": draw(st.sampled_from(["b.conf", "c.conf"]))}
        fields["section"] = section
        if kind == "options":
            fields["options"] = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True))
        elif kind == "values":
            fields["key"] = draw(st.sampled_from(KEYS))
            fields["match"] = draw(st.sampled_from(["LB:*", "VPN:*", "*default"]))
        out.append(ServiceRule("svc", f"service[0].config[{n}]", ConfigRule.model_validate(fields)))
    return out


def _oslo(texts: dict[str, str | None]) -> Counter[tuple[str, str, str]]:
    return Counter((e.section, e.key, e.value) for name, t in texts.items() if t for e in oslo_entries(t, name))


def _nonblank(texts: dict[str, str | None]) -> Counter[str]:
    """Non-blank lines other than section headers (a target gets a header of its own; an emptied section loses
    its header)."""
    return Counter(
        line for t in texts.values() if t for line in t.splitlines() if line.strip() and not line.startswith("[")
    )


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=ini_text(), target=st.one_of(st.none(), ini_text()), picked=rules())
def test_split_is_lossless_and_idempotent(source: str, target: str | None, picked: list[ServiceRule]) -> None:
    files: dict[str, str | None] = {"a.conf": source, "b.conf": target, "c.conf": None}
    try:
        out = split_config(files, picked, [], no_rename)
    except UnsafeSourceError as exc:
        assert "already has" in exc.message  # the one refusal: a moved option already in the target
        return
    after = {**files, **out.texts}
    assert differences(_oslo(files), _oslo(after), out.changes) == []
    assert out.changes == []  # no rename, no settings: nothing may change a value
    assert _nonblank(after) == _nonblank(files)
    kept = [line for line in (after["a.conf"] or "").splitlines() if line.strip()]
    assert _is_subsequence(kept, [line for line in source.splitlines() if line.strip()])
    again = split_config(after, picked, [], no_rename)
    assert again.texts == {}


def _rename_xy(dotted: str) -> str | None:
    return "moved.pkg" + dotted[3:] if dotted == "x.y" or dotted.startswith("x.y.") else None


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=ini_text(),
    picked=rules(),
    action=st.sampled_from(["set", "append"]),
    key=st.sampled_from(KEYS),
    section=st.sampled_from(SECTIONS),
)
def test_rewrites_and_settings_are_exactly_the_declared_changes(
    source: str, picked: list[ServiceRule], action: str, key: str, section: str
) -> None:
    from spinout.plan.model import CoreSetting

    setting = CoreSetting(file="a.conf", section=section, key=key, value="extra.Plugin", action=action)  # type: ignore[arg-type]
    files: dict[str, str | None] = {"a.conf": source, "b.conf": None, "c.conf": None}
    try:
        out = split_config(files, picked, [("core.settings[0]", setting)], _rename_xy)
    except UnsafeSourceError as exc:  # a setting on a repeated key, or a second value for a moved option
        assert "appears" in exc.message or "already has" in exc.message
        return
    except PlanError as exc:
        assert "a core setting there would move too" in exc.message  # the plan contradicts itself
        return
    after = {**files, **out.texts}
    assert differences(_oslo(files), _oslo(after), out.changes) == []
    assert "x.y." not in "".join(t for t in after.values() if t)  # every reference rewritten, comments too
    assert all(c.key == key and c.section == section for c in out.changes if c.reason != "rewrite")
    again = split_config(after, picked, [("core.settings[0]", setting)], _rename_xy)
    assert again.texts == {}
