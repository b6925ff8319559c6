"""The config split engine: the plan's config rules and core settings applied to INI texts, losslessly.

Pure: file texts in (plan path → text, None for a file that does not exist), new texts out, plus the list of
moves and the declared value changes the equivalence check allows. Reading and writing files is
`spinout.inifiles.files`' job; checking the result with oslo.config is `spinout.inifiles.verify`'s.

What moves (docs/config.md has the same rules with examples):
- a *unit* is an option with the comment block directly above it (no blank line between — commented-out samples
  such as `# service_provider = LOADBALANCER:...` included), plus the blank lines after it when the unit stood
  alone between blank lines (or at the top of its section), so the source keeps its spacing and the target gets
  the same grouping;
- a `values` rule leaves behind a comment block whose samples belong to another `values` rule on the same key
  (`# service_provider = VPN:...` above a LOADBALANCER line); a comment block that stands alone (no option right
  below it) is cut after each commented-out sample of the key, and each piece (a sample with the prose above it)
  moves if its sample matches the rule's pattern;
- the rules are repeated until a pass moves nothing, so the result is a fixed point (a rerun changes nothing);
- a `section` rule moves the whole section, header line included (or its blocks into an existing section of the
  same name in the target).
Moved blocks keep their bytes; they are appended, in source order, at the end of the target section (before its
trailing blank lines); a missing section is added at the end of the file. Everything not moved stays as it was.

Dotted names inside option values and comments of the files the plan names are rewritten through `rename` (the code
stage's module map, passed in): `neutron.services.loadbalancer.plugin.X` → `neutron_lbaas.services...`. Core
settings are applied last, so an `append` sees the rewritten list.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from spinout.errors import PlanError, Problem, UnsafeSourceError
from spinout.inifiles.document import (
    LINE_ENDINGS,
    Block,
    IniDocument,
    Section,
    line_body,
    oslo_entries,
    parse,
    split_value_line,
)
from spinout.plan.model import ConfigRule, CoreSetting

Rename = Callable[[str], str | None]

# A dotted name: not preceded by a name character, a dot, a slash or a dash (so file paths such as
# /etc/neutron/neutron.conf and host names inside URLs are not taken for a module followed by an attribute).
_DOTTED = re.compile(r"(?<![\w./-])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_SAMPLE = re.compile(r"^[#;]\s*(?P<key>[^=:\s]+)\s*[=:]\s*(?P<value>.*?)\s*$")


@dataclass(frozen=True)
class ServiceRule:
    """A config rule with its owner and its place in the plan (for messages)."""

    service: str
    location: str
    rule: ConfigRule


@dataclass(frozen=True)
class Moved:
    """What one rule moved: its lines, from where to where."""

    location: str
    service: str
    source: str
    target: str
    section: str
    what: str
    lines: int

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.location,
            "service": self.service,
            "from": self.source,
            "to": self.target,
            "section": self.section,
            "what": self.what,
            "lines": self.lines,
        }


@dataclass(frozen=True)
class ValueChange:
    """A declared change of one (section, key, value): a rewrite (old → new) or a core setting (old may be None)."""

    file: str
    section: str
    key: str
    old: str | None
    new: str
    reason: Literal["rewrite", "set", "append"]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "section": self.section,
            "key": self.key,
            "old": self.old,
            "new": self.new,
            "reason": self.reason,
        }


@dataclass
class SplitOutcome:
    """The new text of every file that changes, and what changed."""

    originals: dict[str, str | None]
    texts: dict[str, str] = field(default_factory=dict)
    moved: list[Moved] = field(default_factory=list)
    changes: list[ValueChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created_from: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.texts)


def _matches(value: str, pattern: str | None) -> bool:
    """The rule's glob against a whole value, case-sensitively (oslo.config values are case-sensitive)."""
    return pattern is not None and fnmatch.fnmatchcase(value, pattern)


def _reading(raw: str) -> str:
    """A single-line value as oslo.config reads it: stripped, and one pair of matching quotes removed."""
    return oslo_entries(f"[x]\nk = {raw}\n", "<plan>")[0].value


def rewrite_dotted(text: str, rename: Rename) -> str:
    """`text` with every dotted name that `rename` maps replaced by its new name."""

    def sub(m: re.Match[str]) -> str:
        new = rename(m.group(0))
        return new if new is not None else m.group(0)

    return _DOTTED.sub(sub, text)


def _ends_line(lines: list[str], newline: str) -> list[str]:
    """The lines with a line ending after the last one (a moved last line of a file may lack it): `newline`, the
    ending of the file the lines are in (a lone CR too: oslo.config reads it as one)."""
    if lines and not lines[-1].endswith(LINE_ENDINGS):
        return [*lines[:-1], lines[-1] + newline]
    return lines


def _samples(block: Block, key: str | None) -> list[str]:
    """The values of the commented-out samples of `key` in a comment block (`# key = value`)."""
    out = []
    for line in block.lines:
        m = _SAMPLE.match(line.strip())
        if m and m.group("key") == key:
            out.append(m.group("value"))
    return out


def _foreign_samples(block: Block, rule: ConfigRule, rules: Sequence[ServiceRule]) -> bool:
    """True when a comment block above a value a `values` rule moves shows samples of the key that another
    `values` rule on the same key takes and none this rule takes: it describes another service's provider
    (`# service_provider = VPN:...` above a LOADBALANCER line), so it stays, for that rule to take. A generic
    sample (`# service_provider=<service_type>:<name>:<driver>`) does not make a block foreign."""
    if rule.kind != "values":
        return False
    samples = _samples(block, rule.key)
    if any(_matches(v, rule.match) for v in samples):
        return False
    others = [
        sr.rule.match
        for sr in rules
        if sr.rule is not rule
        and sr.rule.kind == "values"
        and (sr.rule.from_, sr.rule.section, sr.rule.key) == (rule.from_, rule.section, rule.key)
    ]
    return any(_matches(v, m) for v in samples for m in others)


def _split_lone_samples(section: Section, key: str | None) -> None:
    """Cut each lone comment block (no option right below it) after every commented-out sample of `key`, so that
    each sample — with the prose lines above it — can go to the service it describes. Neutron's
    [service_providers] ends with one such block holding LOADBALANCER and VPN samples alike. Rendering is
    unchanged: the pieces are the same lines in the same order."""
    out: list[Block] = []
    for i, b in enumerate(section.blocks):
        below = section.blocks[i + 1] if i + 1 < len(section.blocks) else None
        if b.kind != "comment" or (below is not None and below.kind == "option"):
            out.append(b)
            continue
        piece: list[str] = []
        line = b.line
        for text in b.lines:
            piece.append(text)
            m = _SAMPLE.match(text.strip())
            if m and m.group("key") == key:
                out.append(Block("comment", piece, line))
                line += len(piece)
                piece = []
        if piece:
            out.append(Block("comment", piece, line))
    section.blocks[:] = out


def _repeated(section: Section) -> set[str]:
    seen: set[str] = set()
    out: set[str] = set()
    for b in section.options():
        if b.key in seen:
            out.add(b.key or "")
        seen.add(b.key or "")
    return out


def _copy(block: Block, newline: str) -> Block:
    return Block(block.kind, _ends_line(list(block.lines), newline), block.line, block.key, block.value)


class _Engine:
    def __init__(self, files: Mapping[str, str | None], rename: Rename, rules: Sequence[ServiceRule]) -> None:
        self.rules = rules
        self.originals = dict(files)
        self.docs: dict[str, IniDocument] = {}
        # Parse everything before changing anything: a malformed file stops the run with nothing done.
        for name, text in files.items():
            self.docs[name] = parse(text, name) if text is not None else IniDocument(name)
        self.rename = rename
        self.outcome = SplitOutcome(originals=dict(files))
        # Keys that count as repeated in a section (see _check_clash), decided on the files as they were before any
        # move: a move can leave one value of a repeated key behind, which is no reason to refuse the next one.
        self.repeated: dict[tuple[str, str], set[str]] = {
            (name, s.name): _repeated(s) for name, doc in self.docs.items() for s in doc.sections
        }
        for sr in rules:
            if sr.rule.kind == "values" and sr.rule.key:
                self.repeated.setdefault((sr.rule.from_, sr.rule.section), set()).add(sr.rule.key)

    def _existing(self, location: str, name: str, field: str) -> IniDocument:
        """The parsed file `name`, or a located error when the config directory lacks it."""
        if self.originals.get(name) is None:
            raise UnsafeSourceError(
                f"{location}: the config file {name!r} does not exist in the config directory",
                hint=f"check --config-dir and {field}",
            )
        return self.docs[name]

    # -- moving -----------------------------------------------------------------------------------------------

    def apply_rule(self, sr: ServiceRule) -> None:
        rule = sr.rule
        src = self._existing(sr.location, rule.from_, "the rule's 'from'")
        section = src.section(rule.section)
        if section is None:
            self.outcome.notes.append(
                f"{sr.location}: nothing to move, [{rule.section}] is not in {rule.from_} (moved already?)"
            )
            return
        if rule.kind == "section":
            self._move_section(sr, src, section)
            return
        if rule.kind == "values":
            _split_lone_samples(section, rule.key)
        picks = self._select(rule, section)
        if not picks:
            what = f"options {', '.join(rule.options or [])}" if rule.kind == "options" else f"{rule.key} values"
            self.outcome.notes.append(
                f"{sr.location}: nothing to move, no {what} matching the rule in [{rule.section}] of {rule.from_}"
            )
            return
        if rule.kind == "options":
            missing = [o for o in rule.options or [] if not any(section.blocks[i].key == o for i in picks)]
            for o in missing:
                self.outcome.notes.append(f"{sr.location}: option {o!r} is not in [{rule.section}] of {rule.from_}")
        repeated = _repeated(section) | self.repeated.get((rule.from_, section.name), set())
        units = self._units(section, picks, rule, self.rules)
        moved: list[Block] = []
        for k, (start, end) in enumerate(units):
            moved.extend(section.blocks[start:end])
            gap = section.blocks[end : units[k + 1][0]] if k + 1 < len(units) else []
            if gap and all(b.kind == "space" for b in gap):
                # Only blank lines between two moved units: the target gets the same grouping (the source
                # keeps its blank lines too).
                moved.extend(_copy(b, self.docs[rule.to].newline) for b in gap)
        for start, end in reversed(units):  # from the bottom so indices stay valid
            del section.blocks[start:end]
        if not any(b.kind != "space" for b in section.blocks):
            # Nothing but blank lines left: drop the header too, and keep the file's spacing.
            self._remove_section(src, section)
        self._insert(sr, section.name, section.header, moved, repeated)
        keys = sorted({b.key for b in moved if b.key})
        options = sum(b.kind == "option" for b in moved)
        # A later pass may move only commented samples left standing alone: say so rather than "0 options".
        what = (
            f"{options} option line(s): {', '.join(keys)}"
            if options
            else f"{sum(len(b.lines) for b in moved if b.kind != 'space')} commented sample line(s)"
        )
        self.outcome.moved.append(
            Moved(
                sr.location,
                sr.service,
                rule.from_,
                rule.to,
                rule.section,
                what,
                sum(len(b.lines) for b in moved),
            )
        )

    def _select(self, rule: ConfigRule, section: Section) -> list[int]:
        """Indices of the option blocks (and, for values rules, lone sample comments) the rule takes."""
        picks = []
        for i, b in enumerate(section.blocks):
            if b.kind == "option":
                wanted = b.key in (rule.options or []) if rule.kind == "options" else b.key == rule.key
                if wanted and (rule.kind == "options" or _matches(b.value or "", rule.match)):
                    picks.append(i)
            elif b.kind == "comment" and rule.kind == "values":
                below = section.blocks[i + 1] if i + 1 < len(section.blocks) else None
                if below is not None and below.kind == "option":
                    continue  # attached to that option: it moves with it or stays with it
                if any(_matches(v, rule.match) for v in _samples(b, rule.key)):
                    picks.append(i)
        return picks

    @staticmethod
    def _units(
        section: Section, picks: list[int], rule: ConfigRule, rules: Sequence[ServiceRule]
    ) -> list[tuple[int, int]]:
        """[start, end) block ranges: each pick with its attached comment and, when it stood alone, the blank
        lines after it. Ranges are disjoint and sorted."""
        blocks = section.blocks
        out: list[tuple[int, int]] = []
        for i in picks:
            start = i
            attached = blocks[i].kind == "option" and i > 0 and blocks[i - 1].kind == "comment"
            if attached and not _foreign_samples(blocks[i - 1], rule, rules):
                start = i - 1
            end = i + 1
            alone_above = start == 0 or blocks[start - 1].kind == "space"
            if alone_above and end < len(blocks) and blocks[end].kind == "space":
                end += 1
            if out and start < out[-1][1]:  # overlapping (a comment attached to a pick after a pick)
                start = out[-1][1]
            out.append((start, end))
        return out

    @staticmethod
    def _remove_section(doc: IniDocument, section: Section) -> None:
        last = doc.sections[-1] is section
        doc.sections.remove(section)
        if last:
            # The blank lines that separated it from the section before are no longer separating anything.
            holder = doc.sections[-1].blocks if doc.sections else doc.prelude
            while holder and holder[-1].kind == "space":
                holder.pop()

    def _move_section(self, sr: ServiceRule, src: IniDocument, section: Section) -> None:
        self._remove_section(src, section)
        repeated = _repeated(section) | self.repeated.get((sr.rule.from_, section.name), set())
        self._insert(sr, section.name, section.header, section.blocks, repeated)
        self.outcome.moved.append(
            Moved(
                sr.location,
                sr.service,
                sr.rule.from_,
                sr.rule.to,
                section.name,
                f"section [{section.name}] ({len(section.options())} option line(s))",
                len(section.header) + sum(len(b.lines) for b in section.blocks),
            )
        )

    @staticmethod
    def _check_clash(sr: ServiceRule, name: str, existing: Section, blocks: list[Block], repeated: set[str]) -> None:
        """Refuse to give the target a value twice, or a second value of an option that is not a repeated one.

        oslo.config's schema is not at hand, so a key counts as repeated (a MultiStrOpt such as service_provider)
        when a `values` rule of the plan selects it, or it appeared more than once in the source section before the
        split, or it appears more than once in the target section.
        """
        for b in blocks:
            if b.kind != "option":
                continue
            same = [old for old in existing.options() if old.key == b.key]
            dup = next((old for old in same if old.value == b.value), None)
            multi = sr.rule.kind == "values" or b.key in repeated or len(same) > 1
            old = dup or (same[0] if same and not multi else None)
            if old is not None:
                what = "the same value" if dup else "a value"
                raise UnsafeSourceError(
                    f"{sr.location}: [{name}] {b.key} already has {what} in {sr.rule.to} (line {old.line}); moving "
                    f"{sr.rule.from_} line {b.line} there would give it a second one",
                    hint="remove one of the two by hand (nothing was written) and run the command again",
                )

    def _insert(self, sr: ServiceRule, name: str, header: list[str], blocks: list[Block], repeated: set[str]) -> None:
        rule = sr.rule
        target = self.docs[rule.to]
        if self.originals.get(rule.to) is None and not self.outcome.created_from.get(rule.to):
            self.outcome.created_from[rule.to] = rule.from_
            target.newline = self.docs[rule.from_].newline  # a new file: the line ending of the one it comes from
        newline = target.newline
        blocks = [_copy(b, newline) for b in blocks]
        existing = target.section(name)
        if existing is None:
            while blocks and blocks[-1].kind == "space":
                blocks.pop()  # a new last section: `_separate` puts one blank line before the next one
            self._separate(target)
            target.sections.append(Section(name, _ends_line(list(header), newline), 0, blocks))
            return
        self._check_clash(sr, name, existing, blocks, repeated)
        at = len(existing.blocks)
        while at > 0 and existing.blocks[at - 1].kind == "space":
            at -= 1
        if at < len(existing.blocks) and blocks and blocks[-1].kind == "space":
            blocks = blocks[:-1]  # the target section already ends with blank lines
        if at > 0:
            existing.blocks[at - 1] = _copy(existing.blocks[at - 1], newline)
        elif existing.header:
            existing.header = _ends_line(existing.header, newline)
        existing.blocks[at:at] = blocks

    @staticmethod
    def _separate(doc: IniDocument) -> None:
        """Before a new section at the end of `doc`: end the last line, and leave one blank line."""
        holder = doc.sections[-1].blocks if doc.sections else doc.prelude
        if doc.sections and not holder:
            doc.sections[-1].header = _ends_line(doc.sections[-1].header, doc.newline)
            holder.append(Block("space", [doc.newline]))
            return
        if not holder:
            return
        holder[-1] = _copy(holder[-1], doc.newline)
        if holder[-1].kind != "space":
            holder.append(Block("space", [doc.newline]))

    # -- rewriting --------------------------------------------------------------------------------------------

    def rewrite(self, name: str) -> None:
        doc = self.docs[name]
        for b in doc.prelude:
            if b.kind == "comment":
                b.lines = [rewrite_dotted(line, self.rename) for line in b.lines]
        for s in doc.sections:
            for b in s.blocks:
                if b.kind == "comment":
                    b.lines = [rewrite_dotted(line, self.rename) for line in b.lines]
                elif b.kind == "option" and b.value is not None:
                    new_value = rewrite_dotted(b.value, self.rename)
                    if new_value == b.value:
                        continue
                    prefix, value, ending = split_value_line(b.lines[0])
                    b.lines = [
                        prefix + rewrite_dotted(value, self.rename) + ending,
                        *(rewrite_dotted(line, self.rename) for line in b.lines[1:]),
                    ]
                    self.outcome.changes.append(ValueChange(name, s.name, b.key or "", b.value, new_value, "rewrite"))
                    b.value = new_value

    # -- core settings ----------------------------------------------------------------------------------------

    def apply_setting(self, location: str, st: CoreSetting) -> None:
        doc = self._existing(location, st.file, "core.settings' 'file'")
        section = doc.section(st.section)
        if section is None:
            self._separate(doc)
            section = Section(st.section, [f"[{st.section}]{doc.newline}"], 0)
            doc.sections.append(section)
        found = [b for b in section.options() if b.key == st.key]
        if len(found) > 1:
            raise UnsafeSourceError(
                f"{location}: [{st.section}] {st.key} appears {len(found)} times in {st.file}; spinout will not "
                "guess which one to change",
                hint="keep one of them by hand, or remove the setting from the plan",
            )
        if not found:
            at = len(section.blocks)
            while at > 0 and section.blocks[at - 1].kind == "space":
                at -= 1
            newline = doc.newline
            if at > 0:
                section.blocks[at - 1] = _copy(section.blocks[at - 1], newline)
            else:
                section.header = _ends_line(section.header, newline)
            value = _reading(st.value)
            section.blocks.insert(at, Block("option", [f"{st.key} = {st.value}{newline}"], 0, st.key, value))
            self.outcome.changes.append(ValueChange(st.file, st.section, st.key, None, value, st.action))
            return
        b = found[0]
        old = b.value or ""
        if st.action == "set":
            if old == _reading(st.value):
                return
            prefix, _, ending = split_value_line(b.lines[0])
            b.lines = [prefix + st.value + (ending or doc.newline)]
        else:
            if st.value in [item.strip() for item in old.split(",")]:
                return
            prefix, raw, ending = split_value_line(b.lines[0])
            raw = raw.rstrip()
            quoted = len(b.lines) == 1 and len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'"
            if quoted:  # oslo.config strips the quotes: the new item goes inside them
                sep = "," if raw[1:-1].strip() else ""
                b.lines = [prefix + raw[:-1] + sep + st.value + raw[-1] + (ending or doc.newline)]
            elif not old.strip():
                b.lines = [prefix + st.value + (ending or doc.newline), *b.lines[1:]]
            else:
                last = b.lines[-1]
                body = line_body(last)
                b.lines = [*b.lines[:-1], body + "," + st.value + last[len(body) :]]
        new = oslo_entries("[x]\n" + "".join(_ends_line(b.lines, "\n")), st.file)[0].value
        b.value = new
        self.outcome.changes.append(ValueChange(st.file, st.section, st.key, old, new, st.action))

    # -- result -----------------------------------------------------------------------------------------------

    def finish(self) -> SplitOutcome:
        for name, doc in self.docs.items():
            text = doc.render()
            original = self.originals.get(name)
            if original is None and text == "":
                continue
            if text != original:
                parse(text, name)  # never hand back a file spinout itself could not read again
                self.outcome.texts[name] = text
        return self.outcome


def split_config(
    files: Mapping[str, str | None],
    rules: Sequence[ServiceRule],
    settings: Sequence[tuple[str, CoreSetting]],
    rename: Rename,
) -> SplitOutcome:
    """Apply `rules` (in order), rewrite dotted names, then apply the core `settings` (location, setting).

    `files` must hold every file the rules and settings name (None for one that does not exist yet).
    """
    problems = setting_problems(rules, settings)
    if problems:
        raise PlanError(problems)
    engine = _Engine(files, rename, rules)
    for sr in rules:
        engine.apply_rule(sr)
    # A move can leave a comment block standing alone (a sample of another provider that sat above a moved line),
    # which an earlier `values` rule would now take: repeat the rules until nothing moves, so that the result is a
    # fixed point and a second run changes nothing. Each pass only moves blocks out of the sources, so it ends.
    for _ in range(len(rules) + 1):
        before = len(engine.outcome.moved)
        notes = list(engine.outcome.notes)
        for sr in rules:
            engine.apply_rule(sr)
        engine.outcome.notes = notes  # the repeat passes' "nothing to move" notes are noise
        if len(engine.outcome.moved) == before:
            break
    else:
        raise UnsafeSourceError(
            "the config rules keep moving lines back and forth between files",
            hint="check the plan's config rules for a cycle (a file that is both a 'from' and a 'to')",
        )
    for name in files:
        engine.rewrite(name)
    for location, st in settings:
        engine.apply_setting(location, st)
    return engine.finish()


def setting_problems(rules: Sequence[ServiceRule], settings: Sequence[tuple[str, CoreSetting]]) -> list[Problem]:
    """Core settings the plan contradicts itself on: one a rule moves out of the core, or a multi-line value."""
    problems = []
    for location, st in settings:
        if "\n" in st.value or "\r" in st.value:
            problems.append(Problem(f"{location}.value", "must be a single line"))
            continue
        for sr in rules:
            r = sr.rule
            if r.from_ != st.file or r.section != st.section:
                continue
            moved = (
                r.kind == "section"
                or (r.kind == "options" and st.key in (r.options or []))
                or (r.kind == "values" and st.key == r.key and _matches(_reading(st.value), r.match))
            )
            if moved:
                problems.append(
                    Problem(
                        location,
                        f"[{st.section}] {st.key} in {st.file} is what {sr.location} moves to {r.to}; a core setting "
                        "there would move too on the next run",
                    )
                )
    return problems


def named_files(rules: Sequence[ServiceRule], settings: Sequence[tuple[str, CoreSetting]]) -> list[str]:
    """Every file the rules and settings name, in first-mention order."""
    out: list[str] = []
    for sr in rules:
        for f in (sr.rule.from_, sr.rule.to):
            if f not in out:
                out.append(f)
    for _, st in settings:
        if st.file not in out:
            out.append(st.file)
    return out
