"""A lossless block model of one oslo-style INI file, built the way oslo.config's own parser reads it.

A file is a prelude (comments and blank lines before the first section) and a list of sections; a section is its
header line and a list of blocks — a comment block (consecutive comment lines), a space block (consecutive blank
lines) or an option (its first line and its continuation lines). Every block keeps its exact lines, line endings
included, so concatenating the blocks gives the file back byte for byte (checked after every parse).

Lines are split the way oslo.config splits them: it opens a config file in Python's universal-newlines mode, so a
line ends at `\n`, `\r\n` or a lone `\r` — and nowhere else. Form feeds, vertical tabs, NEL (U+0085), U+2028 and
the other characters `str.splitlines()` also breaks at are ordinary characters inside a line; oslo.config's
`rstrip()`/`strip()` drops them at the end of a line or value, and spinout keeps them byte for byte wherever they
are. Each line is then classified with oslo.config's rules (`oslo_config.iniparser.BaseParser.parse`): blank once
right-stripped, continuation if it starts with a space or tab, section header if it starts with `[`, comment if it
starts with `#` or `;`, else an assignment. oslo.config's parser itself reads the same lines, so that a file it
rejects is rejected here too, and each option's key and value are the ones oslo.config sees (quotes stripped,
continuation lines joined with newlines); the two readings are compared on every parse.

On top of that we reject what makes a split ambiguous: indented comment lines (oslo.config folds them into the
value above as text; a human reader, and every other INI reader, sees a comment) and a section that appears twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from oslo_config import iniparser

from spinout.errors import UnsafeSourceError

_INDENTED_COMMENT = re.compile(r"^[ \t]+[#;]")
# One line as Python's universal-newlines mode (oslo.config's `open()`) reads it: up to and including `\r\n`, `\r`
# or `\n`, or the last characters of a file that does not end with a line break.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
LINE_ENDINGS = ("\r\n", "\r", "\n")


def ini_lines(text: str) -> list[str]:
    """`text` cut into lines exactly where oslo.config cuts it (endings kept): `"".join(ini_lines(t)) == t`."""
    return _LINE.findall(text)


def line_body(line: str) -> str:
    """A line without its line ending."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\r", "\n")):
        return line[:-1]
    return line


class IniSyntaxError(UnsafeSourceError):
    """A config file spinout will not edit: it names the file, the line and the reason."""

    def __init__(self, file: str, line: int, reason: str, *, hint: str | None = None) -> None:
        self.file = file
        self.line = line
        self.reason = reason
        super().__init__(
            f"{file}:{line}: {reason}",
            hint=hint or "fix the file by hand (nothing was written) and run the command again",
        )


@dataclass
class Block:
    """Consecutive lines of one kind; `line` is the 1-based number of the first one in the parsed file."""

    kind: Literal["comment", "space", "option"]
    lines: list[str]
    line: int = 0
    key: str | None = None
    value: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.lines)


@dataclass
class Section:
    name: str
    header: list[str]
    line: int
    blocks: list[Block] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.header) + "".join(b.text for b in self.blocks)

    def options(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "option"]


@dataclass
class IniDocument:
    """One file. `name` is how messages refer to it (its path as the plan names it)."""

    name: str
    prelude: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    newline: str = "\n"  # the file's line ending (its first line's), for lines spinout adds

    def render(self) -> str:
        return "".join(b.text for b in self.prelude) + "".join(s.text for s in self.sections)

    def section(self, name: str) -> Section | None:
        for s in self.sections:
            if s.name == name:
                return s
        return None


@dataclass(frozen=True)
class Entry:
    """One assignment as oslo.config reads it: the line it starts on, its section, key and value."""

    line: int
    section: str
    key: str
    value: str


class _OsloReader(iniparser.BaseParser):
    """oslo.config's own INI line parser, recording where each assignment starts."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file
        self.section: str | None = None
        self.entries: list[Entry] = []
        self._start = 0

    def _split_key_value(self, line: str) -> tuple[str, list[str]]:
        self._start = self.lineno  # called on the first line of every assignment
        return super()._split_key_value(line)

    def new_section(self, section: str) -> None:
        self.section = section

    def assignment(self, key: str, value: list[str]) -> None:
        if self.section is None:
            raise IniSyntaxError(self.file, self._start, f"option {key!r} comes before any [section] header")
        self.entries.append(Entry(self._start, self.section, key, "\n".join(value)))


def oslo_entries(text: str, file: str) -> list[Entry]:
    """Every assignment of `text` as oslo.config's parser reads it; a file it rejects raises IniSyntaxError."""
    return _oslo_entries(ini_lines(text), file)


def _oslo_entries(lines: list[str], file: str) -> list[Entry]:
    reader = _OsloReader(file)
    try:
        reader.parse(lines)
    except iniparser.ParseError as exc:
        raise IniSyntaxError(file, exc.lineno, f"{exc.msg}: {exc.line!r}") from None
    return reader.entries


def decode(data: bytes, file: str) -> str:
    """UTF-8 text of a config file, or a located error (oslo.config reads config files as text too)."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise IniSyntaxError(
            file,
            1,
            "starts with a UTF-8 byte order mark, which oslo.config reads as part of the first line",
            hint="remove the first three bytes (e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE) and run the command again",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IniSyntaxError(
            file,
            line,
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8",
            hint="convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8) and run the command again",
        ) from None


def _kind(line: str) -> Literal["space", "continuation", "header", "comment", "option"]:
    """What oslo.config's parser makes of a line (`BaseParser.parse`, in its order of tests)."""
    body = line.rstrip()
    if not body:
        return "space"
    if body.startswith((" ", "\t")):
        return "continuation"
    if body.startswith("["):
        return "header"
    if body.startswith(("#", ";")):
        return "comment"
    return "option"


def parse(text: str, file: str) -> IniDocument:
    """Parse `text` into blocks, or raise IniSyntaxError naming the file, line and reason. Writes nothing."""
    lines = ini_lines(text)
    entries = _oslo_entries(lines, file)  # oslo.config's verdict first: its messages name what it rejects
    for n, raw in enumerate(lines, start=1):
        if _INDENTED_COMMENT.match(raw):
            raise IniSyntaxError(
                file,
                n,
                "indented comment: oslo.config reads it as part of the value above it, other INI readers as a "
                "comment, so spinout cannot tell where it belongs",
                hint="remove the indentation (or the line) by hand and run the command again",
            )
    by_line = {e.line: e for e in entries}
    doc = IniDocument(file)
    doc.newline = next((line[len(line_body(line)) :] for line in lines if line_body(line) != line), "\n")
    holder = doc.prelude
    seen: dict[str, int] = {}
    for n, raw in enumerate(lines, start=1):
        kind = _kind(raw)
        last = holder[-1] if holder else None
        if kind == "continuation":
            if last is None or last.kind != "option":  # oslo.config has refused this already
                raise IniSyntaxError(file, n, "Unexpected continuation line")
            last.lines.append(raw)
        elif kind == "header":
            name = raw.rstrip()[1:-1]
            if name in seen:
                raise IniSyntaxError(
                    file,
                    n,
                    f"section [{name}] appears twice (first at line {seen[name]}); oslo.config merges the two, "
                    "but a split needs one place per section",
                    hint="merge the two sections by hand and run the command again",
                )
            seen[name] = n
            section = Section(name, [raw], n)
            doc.sections.append(section)
            holder = section.blocks
        elif kind == "option":
            entry = by_line.get(n)
            if entry is None:  # cannot happen while _kind follows oslo.config; refuse rather than guess
                raise IniSyntaxError(file, n, "oslo.config and spinout read this line differently")
            holder.append(Block("option", [raw], n, entry.key, entry.value))
        elif last is not None and last.kind == kind:
            last.lines.append(raw)
        else:
            holder.append(Block(kind, [raw], n))

    if doc.render() != text:  # the promise of this module
        raise IniSyntaxError(file, 0, "spinout did not keep the file byte for byte; it will not edit it")
    found = [(b.key, b.value) for s in doc.sections for b in s.options()]
    if found != [(e.key, e.value) for e in entries]:
        raise IniSyntaxError(file, 0, "oslo.config and spinout see different options in this file")
    return doc


def split_value_line(first_line: str) -> tuple[str, str, str]:
    """An option's first line as (key part with delimiter and spaces, value, line ending)."""
    body = line_body(first_line)
    ending = first_line[len(body) :]
    colon, equal = body.find(":"), body.find("=")
    at = equal if colon < 0 or (0 <= equal < colon) else colon
    after = at + 1
    while after < len(body) and body[after] in " \t":
        after += 1
    return body[:after], body[after:], ending
