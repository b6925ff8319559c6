"""The sample monorepo's history, written as one `git fast-import` stream.

Committing through pygit2 one commit at a time is too slow for the 50,000-commit benchmarks, so the history is
streamed to `git fast-import`. Everything that goes into an object is fixed (names, dates, contents come from a
seeded `random.Random`), so the same `commits` gives the same commit ids on every run and every machine.

The story follows Neutron's: direct commits, then Gerrit-style changes each merged by a `Merge "..."` commit;
the load balancer arrives under `quantum/plugins/services/agent_loadbalancer/`, moves to `quantum/services/lb/`,
and the whole package is renamed `quantum/` → `acme/`; a firewall and a VPN service follow; a stable branch gets
cherry-picks, a long-lived `feature/lb-v2` branch gets its own commits and merges from main; reverts and
cherry-picks quote the commit ids they refer to (fast-import's `get-mark` tells us those ids while streaming).
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from spinout.errors import ToolError
from spinout.progress import NullProgress, Progress
from spinout.repo import git_environ
from spinout.sample.files import Era, render

EPOCH = 1_325_376_000  # 2012-01-01T00:00:00Z: every date is EPOCH plus a seeded step per commit
SPAN = 94_000_000  # about three years, spread over however many commits are asked for
SEED = 20141205  # the day of the Neutron split base commit

ERA_QUANTUM_OLD_LB = Era("quantum", lb_old=True)
ERA_QUANTUM = Era("quantum", lb_old=False)
ERA_ACME = Era("acme", lb_old=False)

AUTHORS: list[tuple[str, str, str]] = [
    ("Jörg Müller", "joerg.mueller@example.de", "+0100"),
    ("Zoë Ødegaard", "zoe@example.no", "+0200"),
    ("Łukasz Śliwiński", "lukasz@example.pl", "+0100"),
    ("山田 太郎", "taro.yamada@example.jp", "+0900"),
    ("José Ñúñez", "jose@example.es", "+0100"),
    ("Alex Doe", "alex@example.com", "-0500"),
    ("Priya Raman", "priya@example.in", "+0530"),
    ("Chen Wei", "chen.wei@example.cn", "+0800"),
]
GERRIT = ("Jenkins", "jenkins@review.acme.org", "+0000")

CORE_FILES = [
    ".gitignore",
    "LICENSE",
    "README.rst",
    "requirements.txt",
    "setup.cfg",
    "setup.py",
    "tox.ini",
    "tools/install_venv.py",
    "tools/check_uptodate.sh",
    "etc/acme.conf",
    "acme/__init__.py",
    "acme/manager.py",
    "acme/common/__init__.py",
    "acme/common/config.py",
    "acme/common/constants.py",
    "acme/common/exceptions.py",
    "acme/common/rpc.py",
    "acme/db/__init__.py",
    "acme/db/api.py",
    "acme/db/model_base.py",
    "acme/db/models_v2.py",
    "acme/db/l3_db.py",
    "acme/db/agents_db.py",
    "acme/agent/__init__.py",
    "acme/agent/rpc.py",
    "acme/agent/linux/__init__.py",
    "acme/agent/linux/ip_lib.py",
    "acme/services/__init__.py",
    "acme/services/service_base.py",
    "acme/extensions/__init__.py",
    "acme/tests/__init__.py",
    "acme/tests/unit/__init__.py",
    "acme/tests/unit/services/__init__.py",
]
LB_FILES = [
    "acme/services/provider_configuration.py",
    "acme/extensions/loadbalancer.py",
    "acme/tests/unit/test_manager.py",
    "etc/services.conf",
    "etc/lb_agent.ini",
    "acme/services/lb/__init__.py",
    "acme/services/lb/constants.py",
    "acme/services/lb/plugin.py",
    "acme/services/lb/agent/__init__.py",
    "acme/services/lb/agent/agent_manager.py",
    "acme/services/lb/drivers/__init__.py",
    "acme/services/lb/drivers/abstract_driver.py",
    "acme/services/lb/drivers/noop_driver.py",
    "acme/services/lb/drivers/haproxy/__init__.py",
    "acme/services/lb/drivers/haproxy/namespace_driver.py",
    "acme/db/lb/__init__.py",
    "acme/db/lb/loadbalancer_db.py",
    "acme/tests/unit/services/lb/__init__.py",
    "acme/tests/unit/services/lb/test_plugin.py",
    "acme/tests/unit/services/lb/test data/pool.json",
]
FW_FILES = [
    "acme/extensions/firewall.py",
    "acme/agent/l3_agent.py",
    "acme/tests/unit/test_l3_agent.py",
    "etc/fw_driver.ini",
    "acme/services/fw/__init__.py",
    "acme/services/fw/fwaas_plugin.py",
    "acme/services/fw/agents/__init__.py",
    "acme/services/fw/agents/firewall_agent_api.py",
    "acme/services/fw/agents/l3reference/__init__.py",
    "acme/services/fw/agents/l3reference/firewall_l3_agent.py",
    "acme/db/fw/__init__.py",
    "acme/db/fw/firewall_db.py",
    "acme/tests/unit/services/fw/__init__.py",
    "acme/tests/unit/services/fw/test_fwaas_plugin.py",
]
VPN_FILES = [
    "acme/extensions/vpnaas.py",
    "acme/db/head.py",
    "etc/vpn_agent.ini",
    "acme/services/vpn/__init__.py",
    "acme/services/vpn/plugin.py",
    "acme/services/vpn/agent.py",
    "acme/services/vpn/service_drivers/__init__.py",
    "acme/services/vpn/service_drivers/ipsec.py",
    "acme/services/vpn/device_drivers/__init__.py",
    "acme/services/vpn/device_drivers/cisco_csr_rest_client.py",
    "acme/db/vpn/__init__.py",
    "acme/db/vpn/vpn_db.py",
    "acme/tests/unit/services/vpn/__init__.py",
    "acme/tests/unit/services/vpn/test_vpn_plugin.py",
]
FEATURE_FILES = [
    "acme/services/lb/v2/__init__.py",
    "acme/services/lb/v2/plugin.py",
    "acme/tests/unit/services/lb/v2/__init__.py",
    "acme/tests/unit/services/lb/v2/test_plugin_v2.py",
]
DOC_FILE = "doc/source/Design Notes.rst"
REMOVED_FILE = "acme/services/lb/drivers/noop_driver.py"
EXECUTABLE = {"tools/check_uptodate.sh"}

MAIN = "refs/heads/main"
FEATURE = "refs/heads/feature/lb-v2"
STABLE = "refs/heads/stable/2013.2"

_VERBS = ["Fix", "Add", "Remove", "Refactor", "Improve", "Clean up", "Document", "Handle", "Use", "Simplify"]
_WHAT = [
    "pool status handling",
    "agent heartbeat reporting",
    "vip port allocation",
    "unit tests for the plugin",
    "logging in the RPC layer",
    "config option help strings",
    "race in router scheduling",
    "a typo in an error message",
    "session persistence validation",
    "firewall rule ordering",
    "IPsec connection status sync",
    "deprecated option names",
    "db session usage",
]


@dataclass
class Change:
    """A change as merged: its commit mark, subject and the files it set (logical path, old rev, new rev)."""

    mark: int
    subject: str
    files: list[tuple[str, int | None, int | None]]
    era: Era


@dataclass
class Summary:
    """What the history builder made: counts and named commits, for the demo summary and for tests."""

    commits: int = 0
    merges: int = 0
    empty: int = 0
    reverts: list[tuple[str, str]] = field(default_factory=list)  # (reverting commit id, reverted commit id)
    cherry_picks: list[tuple[str, str]] = field(default_factory=list)  # (stable commit id, main commit id)
    annotated_tags: list[str] = field(default_factory=list)
    lightweight_tags: list[str] = field(default_factory=list)
    rename_commit: str = ""
    move_commit: str = ""


Op = tuple[str, int | None]  # (logical path, rev) — rev None deletes


class _Stream:
    """Writes fast-import commands; asks fast-import for commit ids when a message must quote one."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self._out: IO[bytes] = proc.stdin
        self._in: IO[bytes] = proc.stdout
        self._buf = bytearray()
        self._next_mark = 0
        self._blobs: dict[tuple[str, Era, int], int] = {}

    def mark(self) -> int:
        self._next_mark += 1
        return self._next_mark

    def raw(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > 1 << 20:
            self.flush()

    def flush(self) -> None:
        self._out.write(self._buf)
        self._out.flush()
        self._buf.clear()

    def data(self, payload: bytes) -> None:
        self.raw(b"data %d\n" % len(payload) + payload + b"\n")

    def blob(self, logical: str, era: Era, rev: int) -> int:
        key = (logical, era, rev)
        mark = self._blobs.get(key)
        if mark is None:
            mark = self.mark()
            self.raw(b"blob\nmark :%d\n" % mark)
            self.data(render(logical, era, rev))
            self._blobs[key] = mark
        return mark

    def commit_id(self, mark: int) -> str:
        """The id of an already written commit (fast-import's `get-mark`)."""
        self.raw(b"get-mark :%d\n" % mark)
        self.flush()
        line = self._in.readline().decode().strip()
        if len(line) != 40:
            raise ToolError(f"git fast-import answered {line!r} to get-mark :{mark}")
        return line


def _person(who: tuple[str, str, str], when: int) -> bytes:
    name, email, tz = who
    return f"{name} <{email}> {when} {tz}".encode()


class HistoryBuilder:
    """Drives the story; `run()` writes it through a `_Stream`."""

    def __init__(self, stream: _Stream, commits: int, progress: Progress) -> None:
        self.s = stream
        self.target = commits
        self.progress = progress
        self.rng = random.Random(SEED)
        self.era = ERA_QUANTUM_OLD_LB
        self.main: dict[str, int] = {}  # logical path → rev, on main
        self.main_paths: list[str] = []
        self.main_tip = 0
        self.count = 0
        self.clock = EPOCH
        self.step = max(600, SPAN // max(commits, 1))
        self.report_every = max(1, min(500, commits // 50))  # about 50 progress events, at most one per 500
        self.summary = Summary()
        self.changes: list[Change] = []
        self.feature: dict[str, int] | None = None
        self.feature_tip = 0
        self.stable: dict[str, int] | None = None
        self.stable_tip = 0
        self.change_serial = 0

    # ---- low level ------------------------------------------------------------------------------------------
    def _tick(self) -> int:
        self.clock += self.step + self.rng.randrange(0, self.step // 3 + 1)
        return self.clock

    def _ops_lines(self, ops: Iterable[Op], era: Era) -> bytes:
        out = bytearray()
        for logical, rev in ops:
            path = era.path(logical).encode()
            if rev is None:
                out += b"D " + path + b"\n"
            else:
                mode = b"100755" if logical in EXECUTABLE else b"100644"
                out += b"M " + mode + b" :%d " % self.s.blob(logical, era, rev) + path + b"\n"
        return bytes(out)

    def _commit(
        self,
        ref: str,
        message: str,
        *,
        parents: list[int],
        ops: Iterable[Op] = (),
        author: tuple[str, str, str] | None = None,
        committer: tuple[str, str, str] | None = None,
        full_tree: dict[str, int] | None = None,
        era: Era | None = None,
    ) -> int:
        era = era or self.era
        when = self._tick()
        author = author or self.rng.choice(AUTHORS)
        lines = self._ops_lines(sorted(full_tree.items()) if full_tree is not None else ops, era)
        mark = self.s.mark()
        head = b"commit %s\nmark :%d\nauthor %s\ncommitter %s\n" % (
            ref.encode(),
            mark,
            _person(author, when),
            _person(committer or author, when),
        )
        self.s.raw(head)
        self.s.data(message.encode())
        if parents:
            self.s.raw(b"from :%d\n" % parents[0])
        for p in parents[1:]:
            self.s.raw(b"merge :%d\n" % p)
        if full_tree is not None:
            self.s.raw(b"deleteall\n")
        self.s.raw(lines + b"\n")
        self.count += 1
        self.summary.commits += 1
        if len(parents) > 1:
            self.summary.merges += 1
        if not lines and full_tree is None and len(parents) == 1:
            self.summary.empty += 1
        if self.count % self.report_every == 0:
            self.progress.advance("sample", self.count, self.target)
        return mark

    def _apply(self, ops: Iterable[Op]) -> None:
        changed = False
        for logical, rev in ops:
            if rev is None:
                self.main.pop(logical, None)
                changed = True
            else:
                changed |= logical not in self.main
                self.main[logical] = rev
        if changed or not self.main_paths:
            self.main_paths = sorted(self.main)

    def _bump(self, logical: str) -> int:
        self.change_serial += 1
        return self.change_serial

    def _change_id(self) -> str:
        return f"I{self.rng.getrandbits(160):040x}"

    # ---- story pieces ---------------------------------------------------------------------------------------
    def direct(self, message: str, ops: list[Op]) -> int:
        """A commit straight onto main (early history, big moves)."""
        self.main_tip = self._commit(MAIN, message, parents=[self.main_tip] if self.main_tip else [], ops=ops)
        self._apply(ops)
        return self.main_tip

    def gerrit_batch(self, changes: list[tuple[str, str, list[Op]]]) -> None:
        """Changes written against the same main tip, each merged by Gerrit with a `Merge "subject"` commit."""
        base = self.main_tip
        for subject, body, ops in changes:
            message = f"{subject}\n\n{body}\n\nChange-Id: {self._change_id()}\n"
            before = {logical: self.main.get(logical) for logical, _ in ops}
            change = self._commit(MAIN, message, parents=[base], ops=ops)
            self.main_tip = self._commit(
                MAIN,
                f'Merge "{subject}"\n',
                parents=[self.main_tip, change],
                ops=ops,
                author=GERRIT,
            )
            self._apply(ops)
            self.changes.append(Change(change, subject, [(lg, before[lg], rev) for lg, rev in ops], self.era))

    def random_change(self, taken: set[str]) -> tuple[str, str, list[Op]]:
        """An edit of 1-3 files; none in `taken`, so that changes merged in one batch never edit the same file
        (their merges then need no conflict resolution: each merge's tree is its first parent's plus the change)."""
        k = 1 + (self.rng.random() < 0.35) + (self.rng.random() < 0.15)
        free = [p for p in self.main_paths if p not in taken] if taken else self.main_paths
        picked = sorted(set(self.rng.sample(free, k)))
        taken.update(picked)
        ops: list[Op] = [(lg, self._bump(lg)) for lg in picked]
        subject = f"{self.rng.choice(_VERBS)} {self.rng.choice(_WHAT)}"
        body = "Touches " + ", ".join(self.era.path(lg) for lg in picked) + "."
        if self.rng.random() < 0.3:
            body += f"\n\nCloses-Bug: #{self.rng.randrange(1_000_000, 1_400_000)}"
        return subject, body, ops

    def revert_last(self) -> bool:
        """Revert the latest change whose files nobody touched since, quoting its commit id."""
        for change in reversed(self.changes[-5:]):
            if change.era != self.era or change.subject.startswith("Revert"):
                continue
            # Only plain edits: reverting an addition or a removal would undo the story's fixed events.
            if any(old is None or new is None for _, old, new in change.files):
                continue
            if all(self.main.get(lg) == new for lg, _, new in change.files):
                reverted = self.s.commit_id(change.mark)
                ops: list[Op] = [(lg, old) for lg, old, _ in change.files]
                subject = f'Revert "{change.subject}"'
                self.gerrit_batch([(subject, f"This reverts commit {reverted}.", ops)])
                self.summary.reverts.append((f":{self.changes[-1].mark}", reverted))
                return True
        return False

    def switch_era(self, era: Era, message: str) -> int:
        """A move: every file whose path or text depends on the era is deleted and re-added."""
        old = self.era
        ops: list[Op] = []
        for logical in sorted(self.main):
            if old.path(logical) != era.path(logical):
                ops.append((logical, None))
        lines_old = self._ops_lines(ops, old)
        self.era = era
        changed = [(lg, rev) for lg, rev in sorted(self.main.items()) if render(lg, old, rev) != render(lg, era, rev)]
        lines_new = self._ops_lines([(lg, rev) for lg, rev in sorted(self.main.items()) if (lg, None) in ops], era)
        lines_new += self._ops_lines([c for c in changed if (c[0], None) not in ops], era)
        when = self._tick()
        author = self.rng.choice(AUTHORS)
        mark = self.s.mark()
        self.s.raw(
            b"commit %s\nmark :%d\nauthor %s\ncommitter %s\n"
            % (MAIN.encode(), mark, _person(author, when), _person(author, when))
        )
        self.s.data(message.encode())
        self.s.raw(b"from :%d\n" % self.main_tip + lines_old + lines_new + b"\n")
        self.count += 1
        self.summary.commits += 1
        self.main_tip = mark
        return mark

    def tag(self, name: str, mark: int, message: str | None) -> None:
        if message is None:
            self.s.raw(b"reset refs/tags/%s\nfrom :%d\n\n" % (name.encode(), mark))
            self.summary.lightweight_tags.append(name)
            return
        who = self.rng.choice(AUTHORS)
        self.s.raw(b"tag %s\nfrom :%d\ntagger %s\n" % (name.encode(), mark, _person(who, self._tick())))
        self.s.data(message.encode())
        self.summary.annotated_tags.append(name)

    def feature_commit(self) -> None:
        assert self.feature is not None
        lg = self.rng.choice(FEATURE_FILES)
        self.feature[lg] = self._bump(lg)
        subject = f"LBaaS v2: {self.rng.choice(_VERBS).lower()} {self.rng.choice(_WHAT)}"
        self.feature_tip = self._commit(
            FEATURE,
            f"{subject}\n\nChange-Id: {self._change_id()}\n",
            parents=[self.feature_tip],
            ops=[(lg, self.feature[lg])],
        )

    def feature_sync(self) -> None:
        """Merge main into the feature branch, as OpenStack feature branches did."""
        assert self.feature is not None
        tree = {**self.main, **self.feature}
        self.feature_tip = self._commit(
            FEATURE,
            f"Merge remote-tracking branch 'origin/master' into merge-branch\n\nChange-Id: {self._change_id()}\n",
            parents=[self.feature_tip, self.main_tip],
            full_tree=tree,
            author=GERRIT,
        )

    def backport(self) -> None:
        """Cherry-pick a recent main change onto the stable branch, quoting its id."""
        assert self.stable is not None
        for change in reversed(self.changes[-8:]):
            if change.era != self.era or change.subject.startswith("Revert"):
                continue
            picks = {lg: new for lg, _, new in change.files if lg in self.stable and new is not None}
            if not picks:
                continue
            ops: list[Op] = sorted(picks.items())
            picked = self.s.commit_id(change.mark)
            message = f"{change.subject}\n\nBackport of a fix from main.\n\n(cherry picked from commit {picked})\n"
            self.stable_tip = self._commit(STABLE, message, parents=[self.stable_tip], ops=ops)
            self.stable.update(picks)
            self.summary.cherry_picks.append((f":{self.stable_tip}", picked))
            return

    # ---- the story ------------------------------------------------------------------------------------------
    def run(self) -> Summary:
        n = self.target
        self.direct("Initial commit of Quantum\n", [(lg, 0) for lg in CORE_FILES])
        while self.count < max(3, n * 0.02):
            self.direct(*self._direct_change())
        events: list[tuple[float, str]] = [
            (0.05, "lb"),
            (0.10, "fw"),
            (0.12, "doc"),
            (0.15, "move"),
            (0.20, "tag1"),
            (0.30, "rename"),
            (0.35, "vpn"),
            (0.40, "tag2"),
            (0.45, "stable"),
            (0.50, "remove"),
            (0.60, "feature"),
            (0.75, "tag3"),
            (0.90, "tag4"),
        ]
        pending = list(events)
        # Quoting a commit id stalls the stream (see _resolve_marks): fewer reverts and backports per commit in
        # large histories, still several in the smallest.
        revert_every = max(20, min(60, n // 5))
        backport_every = max(10, min(90, n // 10))
        empty_every = max(20, min(75, n // 4))
        since_revert = since_empty = since_feature = since_sync = since_backport = 0
        while self.count < n or pending:
            if pending and self.count >= pending[0][0] * n:
                self._event(pending.pop(0)[1])
                continue
            size = self.rng.choice([1, 1, 1, 2, 2, 3])
            taken: set[str] = set()
            self.gerrit_batch([self.random_change(taken) for _ in range(size)])
            since_revert += size * 2
            since_empty += size * 2
            since_feature += size * 2
            since_sync += size * 2
            since_backport += size * 2
            if since_revert >= revert_every and self.revert_last():
                since_revert = 0
            if since_empty >= empty_every:
                self.direct("Empty commit to retrigger the release pipeline\n", [])
                since_empty = 0
            if self.feature is not None and since_feature >= 12:
                self.feature_commit()
                since_feature = 0
            if self.feature is not None and since_sync >= 60:
                self.feature_sync()
                since_sync = 0
            if self.stable is not None and since_backport >= backport_every:
                self.backport()
                since_backport = 0
        self.progress.advance("sample", self.count, self.target)
        return self.summary

    def _direct_change(self) -> tuple[str, list[Op]]:
        lg = self.rng.choice(self.main_paths)
        return f"{self.rng.choice(_VERBS)} {self.rng.choice(_WHAT)}\n", [(lg, self._bump(lg))]

    def _event(self, name: str) -> None:
        if name == "lb":
            ops: list[Op] = [(lg, 0) for lg in LB_FILES]
            # One change touching the core (an extension, a test) and the new service paths together.
            self.gerrit_batch([("Add LBaaS plugin and agent", "Load balancing as a service, reference driver.", ops)])
        elif name == "fw":
            ops = [(lg, 0) for lg in FW_FILES]
            self.gerrit_batch([("Add FWaaS plugin and L3 agent callbacks", "Firewall as a service.", ops)])
        elif name == "doc":
            self.gerrit_batch([("Add design notes", "A file name with a space in it.", [(DOC_FILE, 0)])])
        elif name == "move":
            mark = self.switch_era(ERA_QUANTUM, "Move LBaaS plugin to quantum/services/lb\n\nServices live together.\n")
            self.summary.move_commit = f":{mark}"
        elif name == "rename":
            mark = self.switch_era(ERA_ACME, "Rename quantum to acme\n\nThe project is renamed; so is its package.\n")
            self.summary.rename_commit = f":{mark}"
        elif name == "vpn":
            ops = [(lg, 0) for lg in VPN_FILES]
            self.gerrit_batch([("Add VPNaaS plugin, agent and Cisco CSR driver", "VPN as a service.", ops)])
        elif name == "remove":
            self.gerrit_batch([("Remove unused noop LBaaS driver", "Nothing loads it.", [(REMOVED_FILE, None)])])
        elif name == "stable":
            self.tag("2013.2", self.main_tip, "Acme 2013.2 release\n")
            self.stable = dict(self.main)
            self.stable_tip = self.main_tip
            self.s.raw(b"reset %s\nfrom :%d\n\n" % (STABLE.encode(), self.main_tip))
        elif name == "feature":
            self.feature = {lg: 0 for lg in FEATURE_FILES}
            self.feature_tip = self.main_tip
            self.feature_tip = self._commit(
                FEATURE,
                "LBaaS v2: new plugin skeleton\n\nStarts the feature/lb-v2 branch.\n",
                parents=[self.main_tip],
                ops=[(lg, 0) for lg in FEATURE_FILES],
            )
        elif name == "tag1":
            self.tag("2013.1.b1", self.main_tip, None)
            self.tag("2013.1", self.main_tip, "Quantum 2013.1 release\n")
        elif name == "tag2":
            self.tag("2013.2.b1", self.main_tip, None)
        elif name == "tag3":
            self.tag("2014.1.b1", self.main_tip, None)
            self.tag("2014.1", self.main_tip, "Acme 2014.1 release\n")
        elif name == "tag4":
            self.tag("2014.2.b1", self.main_tip, None)


def _resolve_marks(summary: Summary, marks_file: Path) -> None:
    """Replace the `:mark` placeholders the builder left in `summary` by commit ids.

    Asking fast-import for an id mid-stream (`get-mark`) stalls the stream until git catches up, so only ids that
    go into a commit message are asked for; the rest are read from the marks file at the end.
    """
    marks = dict(line.split() for line in marks_file.read_text().splitlines())

    def real(value: str) -> str:
        return marks[value] if value.startswith(":") else value

    summary.reverts = [(real(a), real(b)) for a, b in summary.reverts]
    summary.cherry_picks = [(real(a), real(b)) for a, b in summary.cherry_picks]
    summary.move_commit = real(summary.move_commit)
    summary.rename_commit = real(summary.rename_commit)


def _git_env() -> dict[str, str]:
    # The user's git configuration must not change the objects (e.g. a commit template or hooks do not apply to
    # fast-import, but core.* settings could); isolate from global and system config.
    env = git_environ()
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_CONFIG_GLOBAL"] = os.devnull
    return env


def git(repo: Path, *args: str) -> str:
    """Run git in `repo`; raise ToolError with git's own message on failure."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, env=_git_env(), check=False
        )
    except FileNotFoundError:
        raise ToolError("git is not installed", hint="install git 2.28 or later") from None
    if proc.returncode != 0:
        raise ToolError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def build_history(repo: Path, commits: int, progress: Progress | None = None) -> Summary:
    """Create a repository at `repo` holding the sample history (`commits` is a target: the story's fixed
    events may add a few) and check out main."""
    progress = progress or NullProgress()
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "--initial-branch=main")
    progress.start("sample", f"writing {commits} commits with git fast-import", total=commits)
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryDirectory() as scratch:
        marks = Path(scratch) / "marks"
        try:
            proc = subprocess.Popen(
                ["git", "-C", str(repo), "fast-import", "--quiet", "--force", "--done", f"--export-marks={marks}"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=_git_env(),
            )
        except FileNotFoundError:
            raise ToolError("git is not installed", hint="install git 2.28 or later") from None
        stream = _Stream(proc)
        assert proc.stdin is not None and proc.stdout is not None
        failed = True
        try:
            summary = HistoryBuilder(stream, commits, progress).run()
            stream.raw(b"done\n")
            stream.flush()
            proc.stdin.close()
            failed = proc.wait() != 0
        except BrokenPipeError:
            pass  # fast-import stopped reading: its stderr says why
        finally:
            if failed:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if failed:
            errors.seek(0)
            raise ToolError(f"git fast-import failed: {errors.read().decode(errors='replace').strip()}")
        _resolve_marks(summary, marks)
    git(repo, "reset", "-q", "--hard", "main")
    progress.finish("sample", f"{summary.commits} commits ({summary.merges} merges) in {repo}")
    return summary
