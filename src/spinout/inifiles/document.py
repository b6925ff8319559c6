"""A lossless block model of one oslo-style INI file: parsed by configupdater, checked by oslo.config's parser.

A file is a prelude (comments and blank lines before the first section) and a list of sections; a section is its
header line and a list of blocks — a comment block (consecutive comment lines), a space block (consecutive blank
lines) or an option (its first line and its continuation lines). Every block keeps its exact lines, line endings
included, so concatenating the blocks gives the file back byte for byte (checked after every parse).

configupdater supplies the block structure; it keeps repeated keys (`service_provider` several times in one section,
oslo.config's MultiStrOpt) as separate options when `strict=False`. We copy its blocks into our own small lists
because the split moves blocks between files, which configupdater's builders would re-format.

Before configupdater sees a file, oslo.config's own line parser reads it, so that a file oslo.config rejects is
rejected here too, and each option's value is the one oslo.config would see (quotes stripped, continuation lines
joined with newlines). On top of that we reject what the two parsers would read differently or what makes a split
ambiguous: indented comment lines (oslo.config folds them into the value above; configupdater sees a comment) and a
section that appears twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from configupdater import ConfigUpdater
from configupdater.block import Comment, Space
from configupdater.option import Option
from configupdater.section import Section as UpdaterSection
from oslo_config import iniparser

from spinout.errors import UnsafeSourceError

_INDENTED_COMMENT = re.compile(r"^[ \t]+[#;]")


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
    reader = _OsloReader(file)
    try:
        reader.parse(text.splitlines(keepends=True))
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


def parse(text: str, file: str) -> IniDocument:
    """Parse `text` into blocks, or raise IniSyntaxError naming the file, line and reason. Writes nothing."""
    entries = oslo_entries(text, file)
    lines = text.splitlines(keepends=True)
    for n, raw in enumerate(lines, start=1):
        if _INDENTED_COMMENT.match(raw):
            raise IniSyntaxError(
                file,
                n,
                "indented comment: oslo.config reads it as part of the value above it, other INI readers as a "
                "comment, so spinout cannot tell where it belongs",
                hint="remove the indentation (or the line) by hand and run the command again",
            )
    updater = ConfigUpdater(strict=False, empty_lines_in_values=False, allow_no_value=False)
    try:
        updater.read_string(text, source=file)
    except Exception as exc:  # configupdater raises configparser's errors; any of them means "not editable"
        line = getattr(exc, "lineno", 0) or 0
        raise IniSyntaxError(file, line, f"configupdater cannot parse it: {exc}") from None

    doc = IniDocument(file)
    by_line = {e.line: e for e in entries}
    lineno = 1

    def block(kind: Literal["comment", "space", "option"], blines: list[str]) -> Block:
        nonlocal lineno
        b = Block(kind, list(blines), lineno)
        if kind == "option":
            entry = by_line.get(lineno)
            if entry is None:  # the two parsers disagree on where an assignment starts
                raise IniSyntaxError(file, lineno, "oslo.config and configupdater read this line differently")
            b.key, b.value = entry.key, entry.value
        lineno += len(blines)
        return b

    def kind_of(obj: object) -> Literal["comment", "space", "option"]:
        if isinstance(obj, Option):
            return "option"
        if isinstance(obj, Comment):
            return "comment"
        if isinstance(obj, Space):
            return "space"
        raise IniSyntaxError(file, lineno, f"unexpected INI element {type(obj).__name__}")

    seen: dict[str, int] = {}
    for top in updater.iter_blocks():
        if isinstance(top, UpdaterSection):
            name = top.name
            if name in seen:
                raise IniSyntaxError(
                    file,
                    lineno,
                    f"section [{name}] appears twice (first at line {seen[name]}); oslo.config merges the two, "
                    "but a split needs one place per section",
                    hint="merge the two sections by hand and run the command again",
                )
            seen[name] = lineno
            header = list(top.lines)
            sec = Section(name, header, lineno)
            lineno += len(header)
            for child in top.iter_blocks():
                sec.blocks.append(block(kind_of(child), child.lines))
            doc.sections.append(sec)
        else:
            doc.prelude.append(block(kind_of(top), top.lines))

    if doc.render() != text:  # the promise of this module; a configupdater change must not break it silently
        raise IniSyntaxError(file, 0, "configupdater did not keep the file byte for byte; spinout will not edit it")
    found = [(b.key, b.value) for s in doc.sections for b in s.options()]
    if found != [(e.key, e.value) for e in entries]:
        raise IniSyntaxError(file, 0, "oslo.config and configupdater see different options in this file")
    return doc


def split_value_line(first_line: str) -> tuple[str, str, str]:
    """An option's first line as (key part with delimiter and spaces, value, line ending)."""
    body = first_line.rstrip("\r\n")
    ending = first_line[len(body) :]
    colon, equal = body.find(":"), body.find("=")
    at = equal if colon < 0 or (0 <= equal < colon) else colon
    after = at + 1
    while after < len(body) and body[after] in " \t":
        after += 1
    return body[:after], body[after:], ending
