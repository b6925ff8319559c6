"""The block model: byte-for-byte round trips, and every malformed input refused with file, line and reason."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oslo_config import cfg, iniparser
from tests.unit.inifiles.samples import NEUTRON_CONF

from spinout.inifiles.document import IniSyntaxError, decode, parse

EXAMPLES = int(os.environ.get("SPINOUT_PROPERTY_EXAMPLES", "60"))

ROUND_TRIP = [
    NEUTRON_CONF,
    "",
    "# only a comment\n",
    "[DEFAULT]\r\na = 1\r\n\r\n[s]\r\nb = 2\r\n",  # CRLF kept
    "[s]\nno_newline_at_end = 1",
    "[s]\nmulti = a\n  b\n\tc\n\n\n[t]\nx:y\nq = 'quoted'\nempty =\n",
    "\n\n# lead\n\n[s]\n; semicolon comment\nk = v # not a comment for oslo.config\n",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_blocks_give_the_file_back_byte_for_byte(text: str) -> None:
    assert parse(text, "x.conf").render() == text


def test_blocks_carry_oslo_values_and_lines() -> None:
    doc = parse("[s]\n# c\na = 'q'\nb = x\n  y\n\nb = z\n", "x.conf")
    sec = doc.section("s")
    assert sec is not None
    assert [(b.kind, b.line, b.key, b.value) for b in sec.blocks] == [
        ("comment", 2, None, None),
        ("option", 3, "a", "q"),
        ("option", 4, "b", "x\ny"),
        ("space", 6, None, None),
        ("option", 7, "b", "z"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("[s]\na = 1\n[t]\nb = 2\n[s]\nc = 3\n", 5, "section [s] appears twice (first at line 1)"),
        ("[s]\n\n  stray = continuation\n", 3, "Unexpected continuation line"),
        ("[s]\n  stray\n", 2, "Unexpected continuation line"),
        ("[s]\na = 1\n  # indented comment\n", 3, "indented comment"),
        ("[s]\n\n    ; indented comment\n", 3, "indented comment"),
        ("a = 1\n[s]\n", 1, "option 'a' comes before any [section] header"),
        ("[s]\njust a line\n", 2, "No ':' or '=' found in assignment"),
        ("[s\na = 1\n", 1, "Invalid section (must end with ])"),
        ("[s]\n= 1\n", 2, "Key cannot be empty"),
    ],
)
def test_malformed_input_is_refused_with_file_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(IniSyntaxError) as err:
        parse(text, "etc/bad.conf")
    assert err.value.file == "etc/bad.conf"
    assert err.value.line == line
    assert reason in err.value.reason
    assert err.value.message.startswith(f"etc/bad.conf:{line}: ")
    assert err.value.hint


def test_non_utf8_is_refused_with_its_line() -> None:
    data = b"[s]\na = 1\nb = caf" + b"\xe9\n"
    with pytest.raises(IniSyntaxError) as err:
        decode(data, "etc/latin1.conf")
    assert (err.value.file, err.value.line) == ("etc/latin1.conf", 3)
    assert "0xe9 is not valid UTF-8" in err.value.reason
    assert err.value.hint is not None and "iconv" in err.value.hint


def test_a_byte_order_mark_is_refused() -> None:
    with pytest.raises(IniSyntaxError) as err:
        decode(b"\xef\xbb\xbf[s]\na = 1\n", "etc/bom.conf")
    assert err.value.line == 1
    assert "byte order mark" in err.value.reason


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("[s]\na = 1\n   \nb = 2\n", [("a", "1"), ("b", "2")]),  # a whitespace-only line is a blank line
        ("[s]  \nfoo:bar=baz\n", [("foo", "bar=baz")]),  # the first delimiter wins, as in oslo.config
        ("[s]\na = x ; y # z\n", [("a", "x ; y # z")]),  # no inline comments in oslo.config
        ("[s]\na =\n  cont\n", [("a", "\ncont")]),
    ],
)
def test_values_are_oslo_configs(text: str, options: list[tuple[str, str]]) -> None:
    doc = parse(text, "x.conf")
    assert [(b.key, b.value) for s in doc.sections for b in s.options()] == options
    assert doc.render() == text


# -- differential against oslo.config's own reader -------------------------------------------------------------------

FRAGMENTS = ["[s]", "[t]", "[ s ]", "[", "]", "k", "key", " = ", "=", ":", ": ", "v", "'q'", '"', "#", ";", " ", "\t"]
ODD = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00", "é"]
ENDINGS = ["\n", "\r\n", "\r"]


@st.composite
def ini_like(draw: st.DrawFn) -> str:
    """Text made of INI pieces, odd characters and every line ending oslo.config knows, glued at random."""
    pieces = st.one_of(st.sampled_from(FRAGMENTS), st.sampled_from(ODD), st.sampled_from(ENDINGS))
    lines = draw(st.lists(st.lists(pieces, max_size=6).map("".join), max_size=12))
    head = draw(st.sampled_from(["[s]\n", "", "[DEFAULT]\r\n"]))
    return head + "".join(line + draw(st.sampled_from(ENDINGS)) for line in lines)


def _oslo_config_reads(text: str, tmp: Path) -> list[tuple[str, str, str]] | None:
    """(section, key, value) in file order as oslo.config's ConfigParser reads the file from disk; None: it refuses."""
    path = tmp / "x.conf"
    path.write_bytes(text.encode("utf-8"))
    read: list[tuple[str, str, str]] = []

    class Recording(cfg.ConfigParser):  # type: ignore[misc]
        def assignment(self, key: str, value: list[str]) -> None:
            read.append((self.section, key, "\n".join(value)))
            super().assignment(key, value)

    try:
        Recording(str(path), {}).parse()
    except (iniparser.ParseError, cfg.ParseError):
        return None
    return read


@settings(max_examples=EXAMPLES * 3, deadline=None)
@given(text=ini_like())
def test_spinout_reads_what_oslo_config_reads(text: str) -> None:
    """Same options in the same order where oslo.config reads the file; refused where it refuses it (spinout also
    refuses, by design, a repeated section and an indented comment, and an option before any section)."""
    with tempfile.TemporaryDirectory() as tmp:
        expected = _oslo_config_reads(text, Path(tmp))
    try:
        doc = parse(text, "x.conf")
    except IniSyntaxError as exc:
        own = ("appears twice", "indented comment", "comes before any [section] header")
        assert expected is None or any(reason in exc.reason for reason in own), (exc.reason, expected)
        return
    assert expected is not None, "spinout accepted a file oslo.config refuses"
    assert [(s.name, b.key, b.value) for s in doc.sections for b in s.options()] == expected
    assert doc.render() == text


@pytest.mark.parametrize(
    "text",
    [
        "[s]\nk = a\x0cb\n",
        "[s]\nk = a\x85\n\u2028\nj = 2\n",
        "[s]\rk = 1\rj:2\r",
        "[s]\nk = a\rb = c\n",
        "[s]\nk = 1\r\n  cont\r  more\n",
        "[s]\x0c\nk = v\n",
    ],
)
def test_known_line_break_cases_read_as_oslo_config_reads_them(text: str, tmp_path: Path) -> None:
    expected = _oslo_config_reads(text, tmp_path)
    assert expected is not None
    doc = parse(text, "x.conf")
    assert [(s.name, b.key, b.value) for s in doc.sections for b in s.options()] == expected
