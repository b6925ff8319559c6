"""The equivalence check: oslo.config's own parser reads the files before and after a split.

The multiset of (section, key, value) over all the files after must equal the one before, except for the declared
changes (dotted-name rewrites and core settings), each of which replaces one (section, key, old) by
(section, key, new) or adds (section, key, new). Moving a line between files does not change the multiset, losing,
duplicating or altering one does: that is what this catches (a reader that dropped repeated `service_provider`
lines, bug 1492069, would fail here).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from oslo_config import cfg, iniparser

from spinout.errors import VerificationFailed
from spinout.inifiles.split import ValueChange

Triple = tuple[str, str, str]


def oslo_values(path: Path) -> Counter[Triple]:
    """Every (section, key, value) oslo.config reads from `path`, with repetitions (MultiStrOpt values)."""
    sections: dict[str, dict[str, list[str]]] = {}
    parser = cfg.ConfigParser(str(path), sections)
    try:
        parser.parse()
    except iniparser.ParseError as exc:
        raise VerificationFailed(f"oslo.config cannot read {path}: {exc}") from None
    return Counter((sec, key, value) for sec, opts in sections.items() for key, vals in opts.items() for value in vals)


def union(paths: Iterable[Path | None]) -> Counter[Triple]:
    total: Counter[Triple] = Counter()
    for p in paths:
        if p is not None and p.exists():
            total.update(oslo_values(p))
    return total


def _show(t: Triple) -> str:
    return f"[{t[0]}] {t[1]} = {t[2]!r}"


def differences(before: Counter[Triple], after: Counter[Triple], changes: Sequence[ValueChange]) -> list[str]:
    """What keeps `after` from being `before` with `changes` applied; empty when they are equivalent."""
    expected = Counter(before)
    problems: list[str] = []
    for c in changes:  # in the order the engine made them: a rewrite may precede an append on the same key
        if c.old is not None:
            old = (c.section, c.key, c.old)
            if expected[old] <= 0:
                problems.append(f"declared change of {_show(old)} in {c.file}, but no such value was there")
            else:
                expected[old] -= 1
        expected[(c.section, c.key, c.new)] += 1
    for t, n in sorted((+(expected - after)).items()):
        problems.append(f"lost {n} x {_show(t)}")
    for t, n in sorted((+(after - expected)).items()):
        problems.append(f"gained {n} x {_show(t)}")
    return problems


def check_equivalence(
    before: Iterable[Path | None], after: Iterable[Path | None], changes: Sequence[ValueChange]
) -> None:
    """Raise VerificationFailed listing every lost or gained value."""
    problems = differences(union(before), union(after), changes)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise VerificationFailed(
            f"the split config does not read back as the original (oslo.config):\n  {shown}{more}",
            hint="this is a spinout bug; the original files were restored from their backups — please report it",
        )
