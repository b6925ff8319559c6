"""Issue 17, 3.19: INI files that oslo.config reads are split, whatever characters their lines hold.

oslo.config opens a config file in Python's universal-newlines mode: a line ends at \\n, \\r\\n or a lone \\r and
nowhere else. Before the fix spinout cut lines with `str.splitlines()`, which also breaks at a form feed, a vertical
tab, \\x1c-\\x1e, NEL (U+0085), U+2028 and U+2029 — so a file oslo.config reads fine was refused ("No ':' or '='
found in assignment"), and a lone CR file was read differently. The oracle is oslo.config's own ConfigParser on the
files on disk: the same values before and after, and every such character still in its line, byte for byte.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from oslo_config import cfg

from spinout.inifiles.apply import conf_split
from tests.unit.inifiles.samples import NEUTRON_CONF, lb_values, no_rename

ODD = {
    "form-feed": "\x0c",
    "vertical-tab": "\x0b",
    "file-separator": "\x1c",
    "group-separator": "\x1d",
    "record-separator": "\x1e",
    "NEL": "\x85",
    "U+2028": "\u2028",
    "U+2029": "\u2029",
}


def _oslo(paths: list[Path]) -> Counter[tuple[str, str, str]]:
    out: Counter[tuple[str, str, str]] = Counter()
    for path in paths:
        sections: dict[str, dict[str, list[str]]] = {}
        cfg.ConfigParser(str(path), sections).parse()
        out.update((s, k, v) for s, opts in sections.items() for k, vals in opts.items() for v in vals)
    return out


def _split(etc: Path, text: str) -> tuple[Counter[tuple[str, str, str]], Counter[tuple[str, str, str]]]:
    (etc / "neutron.conf").write_bytes(text.encode("utf-8"))
    before = _oslo([etc / "neutron.conf"])
    result = conf_split(etc, [lb_values()], [], no_rename)
    assert sorted(Path(p).name for p in result.written) == ["neutron.conf", "neutron_lbaas.conf"]
    return before, _oslo([etc / "neutron.conf", etc / "neutron_lbaas.conf"])


@pytest.mark.parametrize("char", list(ODD.values()), ids=list(ODD))
def test_characters_that_are_not_line_breaks_for_oslo_config_stay_inside_their_lines(tmp_path: Path, char: str) -> None:
    moved = f"service_provider = LOADBALANCER:Octavia:drivers.octavia{char}x.Driver\n"
    comment = f"# A second{char}load balancer\n"
    text = (
        NEUTRON_CONF.replace("core_plugin = ml2\n", f"core_plugin = ml2{char}\n")  # at the end: oslo.config strips it
        .replace("# A second load balancer\n", comment)
        .replace(
            "service_provider = LOADBALANCER:Octavia:neutron.services.loadbalancer.drivers.octavia.Driver\n", moved
        )
        # a line of nothing else: blank for oslo.config, spacing for spinout (docs/config.md), kept where it stays
        .replace("\n[service_providers]\n", f"\n{char}\n[service_providers]\n")
    )
    assert text.count(char) == 4
    before, after = _split(tmp_path, text)
    assert after == before
    assert ("service_providers", "service_provider", f"LOADBALANCER:Octavia:drivers.octavia{char}x.Driver") in after
    assert ("DEFAULT", "core_plugin", "ml2") in after
    lbaas = (tmp_path / "neutron_lbaas.conf").read_text(encoding="utf-8")
    core = (tmp_path / "neutron.conf").read_text(encoding="utf-8")
    assert comment + moved in lbaas  # moved with its comment, byte for byte
    assert f"core_plugin = ml2{char}\n" in core and f"\n{char}\n[service_providers]\n" in core
    assert lbaas.count(char) + core.count(char) == 4


@pytest.mark.parametrize("newline", ["\r", "\r\n"], ids=["lone-CR", "CRLF"])
def test_files_with_cr_line_endings_split_the_way_oslo_config_reads_them(tmp_path: Path, newline: str) -> None:
    text = NEUTRON_CONF.replace("\n", newline)
    before, after = _split(tmp_path, text)
    assert after == before and len(before) > 10
    for name in ("neutron.conf", "neutron_lbaas.conf"):
        data = (tmp_path / name).read_bytes()
        assert data.replace(newline.encode(), b"").count(b"\n") == 0  # the file's own line ending throughout
        assert data.replace(newline.encode(), b"").count(b"\r") == 0
    assert (tmp_path / "neutron_lbaas.conf").read_bytes().startswith(f"[service_providers]{newline}".encode())


def test_a_lone_cr_inside_a_line_is_a_line_break_as_oslo_config_reads_it(tmp_path: Path) -> None:
    """`a = 1\\rb = 2` is two assignments for oslo.config; spinout reads the same two."""
    text = NEUTRON_CONF.replace("state_path = /var/lib/neutron\n", "state_path = /var/lib/neutron\rlock_path = /x\n")
    before, after = _split(tmp_path, text)
    assert ("DEFAULT", "lock_path", "/x") in before
    assert after == before
    assert b"state_path = /var/lib/neutron\rlock_path = /x\n" in (tmp_path / "neutron.conf").read_bytes()
