"""Generated INI files and rules, checked against oracles that do not use the engine's own reading:

- oslo.config itself (`cfg.ConfigParser` on the files written to disk) reads the same multiset of values before and
  after (no value lost, duplicated or changed);
- every option that arrives in a target satisfies a rule whose `to` is that target (its section, its key, its
  value against the rule's glob — decided here with `fnmatch`, from the plan's fields), and no option a rule
  describes is left in the source;
- every commented-out sample in a comment block standing alone lands in the file of the first rule that takes it
  (the section's `section` rule, or the first `values` rule on its key whose glob matches it);
- no non-blank line is lost or invented, untouched lines keep their order, and a second run changes nothing.

The generator draws the rules from the generated file (its sections, keys and value prefixes), so that most
examples move something; a test fails if fewer than half do. `SPINOUT_PROPERTY_EXAMPLES` scales them (60 by
default).
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oslo_config import cfg
from tests.unit.inifiles.samples import no_rename

from spinout.errors import PlanError, UnsafeSourceError
from spinout.inifiles.split import ServiceRule, split_config
from spinout.inifiles.verify import differences
from spinout.plan.model import ConfigRule, CoreSetting

EXAMPLES = int(os.environ.get("SPINOUT_PROPERTY_EXAMPLES", "60"))
SECTIONS = ["DEFAULT", "service_providers", "haproxy", "radware"]
# default_provider holds provider-like values too: a values rule on service_provider must not take it.
KEYS = ["service_provider", "default_provider", "user_group", "state"]
PREFIXES = ["LB", "VPN", "FW"]
VALUES = [
    "LB:a:x.y.Z",
    "LB:b:x.y.W:default",
    "VPN:c:v.w",
    "FW:f:x.y.F",
    "nogroup",
    "'quoted'",
    "$state_path/lbaas",
    "",
    "LB:ff:a\x0cb",  # a form feed inside a value: oslo.config keeps it
    "VPN:u:a\u2028b",  # so are U+2028 and NEL, which str.splitlines() would break at
    "LB:n:a\x85b:default",
    "VPN:tail\x0c",  # at the end of a value oslo.config strips it
]
SEPARATORS = [" = ", "=", ": ", ":", "\t=\t", " :  "]
ENDINGS = ["\n", "\n", "\r\n", "\r"]
SAMPLE = "# {key}{sep}{prefix}:s{n}:q.R"


@dataclass
class Drawn:
    """A generated file and what the rules can be drawn from."""

    text: str
    keys: dict[str, set[str]] = field(default_factory=dict)  # section -> keys in it
    globs: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (section, key) -> globs of its values
    lone_samples: list[tuple[str, str, str, str]] = field(default_factory=list)  # (line, section, key, value)


def _glob_of(raw: str) -> str:
    """A glob that matches the value oslo.config reads from `raw` and values like it (its prefix up to the first
    colon, or its first two characters)."""
    value = raw.strip("\x0c").strip("'")
    if ":" in value:
        return value.split(":")[0] + ":*"
    return value[:2] + "*"


@st.composite
def ini_file(draw: st.DrawFn, tag: str = "a") -> Drawn:
    newline = draw(st.sampled_from(ENDINGS))
    names = draw(st.lists(st.sampled_from(SECTIONS), unique=True, min_size=1, max_size=4))
    drawn = Drawn("")
    lines: list[str] = [draw(st.sampled_from(["", "# header", "; header"]))] if draw(st.booleans()) else []
    if lines and draw(st.booleans()):
        lines.append("")
    counter = 0
    for name in names:
        lines.append(f"[{name}]")
        keys = drawn.keys.setdefault(name, set())
        pending_comments: list[tuple[str, str, str]] = []  # samples of the current comment block
        kinds = draw(
            st.lists(
                st.sampled_from(["option", "option", "option", "comment", "sample", "blank", "multi"]),
                min_size=1,
                max_size=9,
            )
        )
        for i, kind in enumerate(kinds):
            counter += 1
            if kind in ("option", "multi"):
                key = draw(st.sampled_from(KEYS))
                value = draw(st.sampled_from(VALUES))
                keys.add(key)
                drawn.globs.setdefault((name, key), set()).add(_glob_of(value))
                lines.append(f"{key}{draw(st.sampled_from(SEPARATORS))}{value}")
                if kind == "multi":
                    lines.append(draw(st.sampled_from(["  more", "\tmore", "  LB:cont"])) + str(counter))
                pending_comments = []  # attached to this option: not lone
            elif kind == "comment":
                lines.append(draw(st.sampled_from([f"# a note {tag}{counter}", f";semi {tag}{counter}"])))
            elif kind == "sample":
                key = KEYS[0]  # samples of one key: another key's sample would be mere prose to its rule
                prefix = draw(st.sampled_from(PREFIXES))
                sep = draw(st.sampled_from(SEPARATORS))
                line = SAMPLE.format(key=key, sep=sep, prefix=prefix, n=f"{tag}{counter}")
                lines.append(line)
                pending_comments.append((line, key, f"{prefix}:s{tag}{counter}:q.R"))
                keys.add(key)  # so that rules on the samples' key are drawn too
                drawn.globs.setdefault((name, key), set()).add(f"{prefix}:*")
            else:
                lines.append("")
            following = kinds[i + 1] if i + 1 < len(kinds) else None
            if kind in ("comment", "sample") and following not in ("comment", "sample"):
                if following not in ("option", "multi"):  # a blank line or the end of the section below it
                    drawn.lone_samples.extend((ln, name, k, v) for ln, k, v in pending_comments)
                pending_comments = []
            elif kind == "blank":
                pending_comments = []
    text = newline.join(lines) + newline
    if draw(st.booleans()):
        text = text[: -len(newline)]  # no line break at the end of the file
    drawn.text = text
    return drawn


@st.composite
def rules_for(draw: st.DrawFn, source: Drawn) -> list[ServiceRule]:
    """1-3 rules, mostly about what the source holds (its sections, keys, value prefixes)."""
    out = []
    for n in range(draw(st.integers(1, 3))):
        existing = sorted(name for name, keys in source.keys.items() if keys) or SECTIONS
        section = draw(st.sampled_from(existing if draw(st.integers(0, 9)) < 9 else SECTIONS))
        kind = draw(st.sampled_from(["values", "values", "values", "options", "section"]))
        fields: dict[str, object] = {"from": "a.conf", "to": draw(st.sampled_from(["b.conf", "c.conf"]))}
        fields["section"] = section
        keys = sorted(source.keys.get(section, set())) or KEYS
        if kind == "options":
            fields["options"] = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True))
        elif kind == "values":
            # Hypothesis draws small numbers most: the productive choice is the one at 0.
            key = draw(st.sampled_from(KEYS[:2] if draw(st.integers(0, 7)) == 7 else keys))
            globs = sorted(source.globs.get((section, key), set()))
            fields["key"] = key
            fixed = ["LB:*", "*", "VPN:*", "*default"]
            fields["match"] = draw(st.sampled_from(fixed if not globs or draw(st.integers(0, 7)) == 7 else globs))
        out.append(ServiceRule("svc", f"service[0].config[{n}]", ConfigRule.model_validate(fields)))
    return out


Triple = tuple[str, str, str]


def oslo_read(texts: dict[str, str | None]) -> dict[str, Counter[Triple]]:
    """What oslo.config's own ConfigParser reads from each file, written to disk byte for byte."""
    out: dict[str, Counter[Triple]] = {}
    with tempfile.TemporaryDirectory(prefix="spinout-prop-") as tmp:
        for name, text in texts.items():
            if text is None:
                continue
            path = Path(tmp) / name
            path.write_bytes(text.encode("utf-8"))
            sections: dict[str, dict[str, list[str]]] = {}
            cfg.ConfigParser(str(path), sections).parse()
            out[name] = Counter((s, k, v) for s, opts in sections.items() for k, vals in opts.items() for v in vals)
    return out


def _total(per_file: dict[str, Counter[Triple]]) -> Counter[Triple]:
    return sum(per_file.values(), Counter())


def _takes(rule: ConfigRule, section: str, key: str, value: str) -> bool:
    """The plan's meaning of a rule, from its fields alone."""
    if section != rule.section:
        return False
    if rule.kind == "section":
        return True
    if rule.kind == "options":
        return key in (rule.options or [])
    return key == rule.key and fnmatch.fnmatchcase(value, rule.match or "")


def _nonblank(texts: dict[str, str | None]) -> Counter[str]:
    """Non-blank lines other than section headers, without line endings (a target gets a header of its own; an
    emptied section loses its header)."""
    return Counter(
        line.rstrip("\r\n")
        for t in texts.values()
        if t
        for line in t.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if line.strip() and not line.startswith("[")
    )


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


def _lines(text: str | None) -> list[str]:
    return [ln for ln in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n") if ln.strip()]


def _check_routing(
    files: dict[str, str | None], after: dict[str, str | None], picked: list[ServiceRule], source: Drawn
) -> int:
    """The oracles of the module docstring; returns how many option values moved."""
    before_values, after_values = oslo_read(files), oslo_read(after)
    assert _total(after_values) == _total(before_values)  # nothing lost, duplicated or changed
    moved = 0
    for target in ("b.conf", "c.conf"):
        gained = after_values.get(target, Counter()) - before_values.get(target, Counter())
        for section, key, value in gained:
            assert any(sr.rule.to == target and _takes(sr.rule, section, key, value) for sr in picked), (
                f"[{section}] {key} = {value!r} arrived in {target}, which no rule sends it to"
            )
        moved += sum(gained.values())
    for section, key, value in after_values.get("a.conf", Counter()):
        takers = [sr.location for sr in picked if _takes(sr.rule, section, key, value)]
        assert not takers, f"[{section}] {key} = {value!r} stayed in a.conf, but {takers} move it"
    for line, section, key, value in source.lone_samples:
        first = next(
            (
                sr.rule
                for sr in picked
                if sr.rule.section == section
                and (sr.rule.kind == "section" or (sr.rule.kind == "values" and _takes(sr.rule, section, key, value)))
            ),
            None,
        )
        where = first.to if first else "a.conf"
        assert line in _lines(after[where]), f"the lone sample {line!r} should be in {where}"
    return moved


def test_split_routes_exactly_what_the_rules_say_loses_nothing_and_is_idempotent() -> None:
    moved_options: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        source = data.draw(ini_file("a"), label="source")
        target = data.draw(st.one_of(st.none(), ini_file("b").map(lambda d: d.text)), label="b.conf")
        picked = data.draw(rules_for(source), label="rules")
        files: dict[str, str | None] = {"a.conf": source.text, "b.conf": target, "c.conf": None}
        try:
            out = split_config(files, picked, [], no_rename)
        except UnsafeSourceError as exc:
            assert "already has" in exc.message  # the one refusal: a moved option already in the target
            moved_options.append(0)
            return
        after = {**files, **out.texts}
        assert out.changes == []  # no rename, no settings: nothing may change a value
        moved_options.append(_check_routing(files, after, picked, source))
        assert _nonblank(after) == _nonblank(files)
        assert _is_subsequence(_lines(after["a.conf"]), _lines(source.text))
        again = split_config(after, picked, [], no_rename)
        assert again.texts == {}

    check()
    moving = sum(1 for n in moved_options if n)
    assert moving >= len(moved_options) / 2, f"only {moving} of {len(moved_options)} examples moved an option"


def _rename_xy(dotted: str) -> str | None:
    return "moved.pkg" + dotted[3:] if dotted == "x.y" or dotted.startswith("x.y.") else None


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    action=st.sampled_from(["set", "append"]),
    key=st.sampled_from(KEYS),
    section=st.sampled_from(SECTIONS),
)
def test_rewrites_and_settings_are_exactly_the_declared_changes(
    data: st.DataObject, action: str, key: str, section: str
) -> None:
    source = data.draw(ini_file("a"), label="source")
    picked = data.draw(rules_for(source), label="rules")
    setting = CoreSetting(file="a.conf", section=section, key=key, value="extra.Plugin", action=action)  # type: ignore[arg-type]
    files: dict[str, str | None] = {"a.conf": source.text, "b.conf": None, "c.conf": None}
    try:
        out = split_config(files, picked, [("core.settings[0]", setting)], _rename_xy)
    except UnsafeSourceError as exc:  # a setting on a repeated key, or a second value for a moved option
        assert "appears" in exc.message or "already has" in exc.message
        return
    except PlanError as exc:
        assert "a core setting there would move too" in exc.message  # the plan contradicts itself
        return
    after = {**files, **out.texts}
    assert differences(_total(oslo_read(files)), _total(oslo_read(after)), out.changes) == []
    assert "x.y." not in "".join(t for t in after.values() if t)  # every reference rewritten, comments too
    assert all(c.key == key and c.section == section for c in out.changes if c.reason != "rewrite")
    again = split_config(after, picked, [("core.settings[0]", setting)], _rename_xy)
    assert again.texts == {}
