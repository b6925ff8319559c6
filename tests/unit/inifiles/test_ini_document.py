"""The block model: byte-for-byte round trips, and every malformed input refused with file, line and reason."""

from __future__ import annotations

import pytest
from tests.unit.inifiles.samples import NEUTRON_CONF

from spinout.inifiles.document import IniSyntaxError, decode, parse

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
