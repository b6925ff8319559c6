#!/usr/bin/env python3
"""Compare spinout's Neutron split (run.sh's OUT) with the real neutron-lbaas, neutron-fwaas and neutron-vpnaas.

Usage: compare.py OUT [--lbaas CLONE] [--fwaas CLONE] [--vpnaas CLONE] [--fixup-days N] [--json]

Per service it reports:

* their split commit: the first commit of the service repository that has `neutron_<svc>/__init__.py` (the commit
  that moved `neutron/` to `neutron_<svc>/`); the history before it is what neutron's tools/split.sh kept;
* paths: the files of our split tree (the service target before the code stage's commit) against theirs at their
  split commit: in both, only ours, only theirs;
* commits: how many commits each kept (ours: the split tip; theirs: the split commit's first parent), and the
  oldest commit touching the service's own code (not the shared copies): the history each recovered;
* code rewrites: references to `neutron.X` turned into `neutron_<svc>.X` (and back), counted once per file and
  name, in our code-stage commit against
  their split commit and the fix-up commits of the next N days (default 31). Both sides go through the same
  extractor, which reads the diffs with git (-M), so the numbers compare like with like. A rewrite is *broken* when
  the new name reaches less deep into the service's tree than the old name did into neutron at the split base
  (`neutron.services.provider_configuration`, a core module, made `neutron_lbaas.services.provider_configuration`,
  which does not exist); a *revert* is a fix-up that turned `neutron_<svc>.X` back into `neutron.X`.

Nothing is written; the clones are only read (git log/show/ls-tree).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SPLIT_BASE = "08d436720ba75b752ab37d4b84a7e2cb856186f8"
SERVICES = {"lbaas": "loadbalancer", "fwaas": "firewall", "vpnaas": "vpn"}
# Each service's central modules (paths inside the service package): their oldest commit says how far back the
# service's real history goes, unlike the oldest commit touching the directories (an empty __init__.py that rename
# detection pairs with any other empty file can reach back to 2011).
KEY_FILES = {
    "lbaas": ["db/loadbalancer/loadbalancer_db.py", "services/loadbalancer/plugin.py"],
    "fwaas": ["db/firewall/firewall_db.py", "services/firewall/fwaas_plugin.py"],
    "vpnaas": ["db/vpn/vpn_db.py", "services/vpn/plugin.py"],
}
OUR_MAIN = "refs/heads/split-base"

_FROM = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?([^#]*)")
_IMPORT = re.compile(r"^\s*import\s+([\w.]+)")
_DOTTED = re.compile(r"(?<![\w.])(neutron(?:_\w+)?(?:\.\w+)+)")


def git(repo: Path | str, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"error: git {' '.join(args)} in {repo} failed: {proc.stderr.strip()}")
    return proc.stdout


def references(line: str) -> set[str]:
    """The dotted neutron names a line refers to; `from a.b import c as d, e` refers to a.b.c and a.b.e."""
    out: set[str] = set()
    m = _FROM.match(line)
    if m:
        for part in m.group(2).replace(")", "").split(","):
            name = part.strip().split(" as ")[0].strip()
            if re.fullmatch(r"\w+", name) and m.group(1).startswith("neutron"):
                out.add(f"{m.group(1)}.{name}")
        return out
    m = _IMPORT.match(line)
    if m and m.group(1).startswith("neutron"):
        return {m.group(1)}
    return set(_DOTTED.findall(line))


@dataclass
class Renames:
    """Name-level rewrites found in diffs: forward `neutron.X -> pkg.X`, revert `pkg.X -> neutron.X`."""

    forward: Counter[tuple[str, str]] = field(default_factory=Counter)
    revert: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, other: Renames) -> None:
        self.forward.update(other.forward)
        self.revert.update(other.revert)


def renames_in_diff(diff: str, package: str) -> Renames:
    """Per file, a name removed and its renamed form added is one rewrite (forward or back to neutron).

    By file, not by hunk: a rewritten import often moves to another place among the sorted imports.
    """
    found = Renames()
    removed: set[str] = set()
    added: set[str] = set()

    def flush() -> None:
        for name in removed:
            if name.startswith("neutron."):
                new = package + name[len("neutron") :]
                if new in added:
                    found.forward[(name, new)] += 1
            elif name.startswith(package + "."):
                old = "neutron" + name[len(package) :]
                if old in added:
                    found.revert[(name, old)] += 1
        removed.clear()
        added.clear()

    for line in diff.splitlines():
        if line.startswith("diff --git"):
            flush()
        elif line.startswith("-") and not line.startswith("---"):
            removed.update(references(line[1:]))
        elif line.startswith("+") and not line.startswith("+++"):
            added.update(references(line[1:]))
    flush()
    return found


def module_depth(name: str, files: set[str]) -> int:
    """How many leading parts of a dotted name are a module or package in `files` (0: none)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        base = "/".join(parts[:i])
        if f"{base}.py" in files or f"{base}/__init__.py" in files:
            return i
    return 0


def broken(forward: Counter[tuple[str, str]], before: set[str], after: set[str]) -> Counter[tuple[str, str]]:
    """Rewrites whose new name reaches less deep into the service tree than the old one did into neutron's."""
    return Counter({(o, n): c for (o, n), c in forward.items() if module_depth(n, after) < module_depth(o, before)})


def tree(repo: Path | str, commit: str) -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", commit).splitlines())


def main_ref(clone: Path | str) -> str:
    """The service repository's master branch (a mirror's refs/heads/master), else its HEAD."""
    probe = ["git", "-C", str(clone), "rev-parse", "--verify", "-q", "refs/heads/master"]
    return "refs/heads/master" if subprocess.run(probe, capture_output=True).returncode == 0 else "HEAD"


def their_split_commit(clone: Path | str, svc: str) -> str:
    """The first commit that has neutron_<svc>/__init__.py: the one that moved neutron/ there."""
    ref = main_ref(clone)
    commits = git(clone, "log", "--reverse", "--format=%H", ref, "--", f"neutron_{svc}/__init__.py").split()
    if not commits:
        raise SystemExit(f"error: {clone} never has neutron_{svc}/__init__.py; is it a clone of neutron-{svc}?")
    return commits[0]


def oldest(repo: Path | str, commit: str, paths: list[str], *, follow: bool = False) -> dict[str, Any]:
    """The oldest commit (by committer date: when it landed) touching `paths` in the history of `commit`, and how
    many commits touch them. The author date is shown too; a change written before the Quantum → Neutron rename
    and merged after it has an older author date than any `neutron/` path."""
    # --follow (one file): spinout keeps a followed file's earlier names at their old paths, as filter-repo's
    # `--path OLD` does, so its history before a rename is reached the way git shows any rename.
    extra = ["--follow"] if follow else []
    lines = git(repo, "log", *extra, "--format=%cI %aI %h %s", commit, "--", *paths).splitlines()
    if not lines:
        return {"commits": 0, "oldest": None}
    first = min(lines, key=lambda s: datetime.fromisoformat(s.split(" ", 1)[0]))
    committed, authored, rest = first.split(" ", 2)
    return {"commits": len(lines), "oldest": f"{committed[:10]} (authored {authored[:10]}) {rest}"}


def key_file_history(repo: Path | str, commit: str, paths: list[str]) -> dict[str, Any]:
    """Per file, followed across renames (`git log --follow`, on both sides): how many commits touch it and the
    oldest (by committer date) in the history of `commit`."""
    return {p: oldest(repo, commit, [p], follow=True) for p in paths}


def followed_kinds(out: Path, target: str, word: str, before: set[str]) -> dict[str, Any] | None:
    """The earlier names the split followed (logs/split.json), in three kinds: `quantum/X` for a kept `neutron/X`
    (the project rename); other names with the service's word in them (`agent_loadbalancer/`: the code moved
    within quantum/); the rest, names unrelated to the service (an empty __init__.py, README, bin/quantum-server:
    rename detection pairing files by content alone)."""
    log = out / "logs" / "split.json"
    if not log.exists():
        return None
    for t in json.loads(log.read_text())["targets"]:
        if t.get("name") == target:
            names = [str(n) for n in t.get("followed", [])]
            project = [n for n in names if n.startswith("quantum/") and "neutron/" + n[len("quantum/") :] in before]
            rest = [n for n in names if n not in project]
            related = [n for n in rest if word in n]
            other = sorted(set(rest) - set(related))
            return {
                "followed": len(names),
                "quantum_rename": len(project),
                "related": len(related),
                "other": len(other),
                "other_names": other,
            }
    return None


def fixups(clone: Path | str, split: str, days: int) -> list[str]:
    """Non-merge commits on the main line after the split, authored within `days` of it."""
    when = datetime.fromisoformat(git(clone, "show", "-s", "--format=%cI", split).strip())
    until = (when + timedelta(days=days)).isoformat()
    ref = main_ref(clone)
    return git(clone, "rev-list", "--reverse", "--no-merges", f"--before={until}", f"{split}..{ref}").split()


def show(repo: Path | str, commit: str) -> str:
    return git(repo, "show", "-M", "--format=", "-U0", commit)


def _our_rewrite(out: Path, target: str) -> dict[str, Any] | None:
    log = out / "logs" / "rewrite.json"
    if not log.exists():
        return None
    for t in json.loads(log.read_text())["targets"]:
        if t["target"] == target:
            return dict(t)
    return None


def compare_service(out: Path, svc: str, clone: Path, days: int) -> dict[str, Any]:
    package = f"neutron_{svc}"
    d = SERVICES[svc]
    neutron = out / "neutron"
    before = tree(neutron, SPLIT_BASE)
    code_paths_theirs = [f"{p}/{x}/{d}/" for p in ("neutron", package) for x in ("services", "db")]
    code_paths_ours = [f"{package}/{x}/{d}/" for x in ("services", "db")]

    split = their_split_commit(clone, svc)
    theirs_tree = tree(clone, split)
    # Before their split commit the files are still under neutron/: the same names, renamed, as the split tree.
    below = tree(clone, f"{split}^1")
    theirs_filtered = {package + f[len("neutron") :] if f.startswith("neutron/") else f for f in below}
    theirs: dict[str, Any] = {
        "split_commit": git(clone, "show", "-s", "--format=%h %aI %s", split).strip(),
        "commits": int(git(clone, "rev-list", "--count", f"{split}^1").strip()),
        "service_code": oldest(clone, f"{split}^1", code_paths_theirs),
        "key_files": key_file_history(clone, f"{split}^1", [f"neutron/{k}" for k in KEY_FILES[svc]]),
    }
    their_renames = renames_in_diff(show(clone, split), package)
    fixup_commits = fixups(clone, split, days)
    fixup_renames = Renames()
    for c in fixup_commits:
        fixup_renames.add(renames_in_diff(show(clone, c), package))
    theirs["rewrites"] = {
        "split_commit": sum(their_renames.forward.values()),
        "split_commit_broken": sorted(f"{o} -> {n}" for o, n in broken(their_renames.forward, before, theirs_tree)),
        "fixup_commits": len(fixup_commits),
        "fixup_forward": sum(fixup_renames.forward.values()),
        "fixup_reverts": sum(fixup_renames.revert.values()),
        "reverted_names": sorted({f"{o} -> {n}" for o, n in fixup_renames.revert}),
    }

    target = out / "split" / f"neutron-{svc}"
    report: dict[str, Any] = {"service": f"neutron-{svc}", "theirs": theirs}
    if not target.exists():
        report["ours"] = None
        report["note"] = "no split target in OUT (the history stage had not run)"
        return report
    rw = _our_rewrite(out, f"neutron-{svc}")
    tip = str(rw["base"]) if rw else OUR_MAIN
    ours_tree = tree(target, tip)
    ours: dict[str, Any] = {
        "split_tip": git(target, "show", "-s", "--format=%h %aI %s", tip).strip(),
        "commits": int(git(target, "rev-list", "--count", tip).strip()),
        "service_code": oldest(target, tip, code_paths_ours),
        "key_files": key_file_history(target, tip, [f"{package}/{k}" for k in KEY_FILES[svc]]),
        "followed": followed_kinds(out, f"neutron-{svc}", d, before),
    }
    report["paths"] = {
        "ours": len(ours_tree),
        "theirs": len(theirs_tree),
        "both": len(ours_tree & theirs_tree),
        "only_ours": sorted(ours_tree - theirs_tree),
        "only_theirs": sorted(theirs_tree - ours_tree),
        # Their split commit also added files by hand (oslo-incubator copies): compare the filtered tree below it.
        "theirs_filtered": len(theirs_filtered),
        "only_ours_vs_filtered": sorted(ours_tree - theirs_filtered),
        "only_theirs_filtered": sorted(theirs_filtered - ours_tree),
    }
    if rw and rw.get("commit"):
        our_renames = renames_in_diff(show(target, str(rw["commit"])), package)
        after = tree(target, str(rw["commit"]))
        ours_broken = broken(our_renames.forward, before, after)
        their_reverted = {o for o, _ in fixup_renames.revert}
        ours["rewrites"] = {
            "listed": len(rw.get("rewrites", [])),
            "kinds": dict(Counter(str(r["kind"]) for r in rw.get("rewrites", []))),
            "fallback_files": len(rw.get("fallback", [])),
            "in_diff": sum(our_renames.forward.values()),
            "broken": sorted(f"{o} -> {n}" for o, n in ours_broken),
            # The names they had to turn back by hand that spinout never renamed.
            "their_reverts_avoided": sorted(their_reverted - {new for _, new in our_renames.forward}),
        }
    else:
        ours["rewrites"] = None
        report["note"] = "no code-stage commit in OUT (spinout rewrite had not run)"
    report["ours"] = ours
    return report


def _lines(r: dict[str, Any]) -> list[str]:
    out = [f"== {r['service']}"]
    t = r["theirs"]
    out.append(f"  their split commit: {t['split_commit']}")
    o = r.get("ours")
    out.append(f"  commits kept: ours {o['commits'] if o else '-'}, theirs {t['commits']}")
    tc = t["service_code"]
    oc = o["service_code"] if o else None
    out.append(f"  service code history: theirs {tc['commits']} commits, oldest {tc['oldest']}")
    if oc:
        out.append(f"                        ours   {oc['commits']} commits, oldest {oc['oldest']}")
    for name, th in t["key_files"].items():
        out.append(f"  {name.split('/', 1)[1]}: theirs {th['commits']} commits, oldest {th['oldest']}")
        if o:
            rest = name.split("/", 1)[1]
            mine = o["key_files"][f"{r['service'].replace('-', '_')}/{rest}"]
            out.append(f"  {' ' * len(rest)}  ours   {mine['commits']} commits, oldest {mine['oldest']}")
    if o and o.get("followed"):
        f = o["followed"]
        out.append(
            f"  earlier names followed: {f['followed']} ({f['quantum_rename']} quantum/X for a kept neutron/X, "
            f"{f['related']} other names with '{SERVICES[r['service'].split('-')[1]]}', {f['other']} unrelated names)"
        )
    if "paths" in r:
        p = r["paths"]
        out.append(
            f"  paths: ours {p['ours']}, theirs {p['theirs']} at the split commit ({p['both']} in both), "
            f"{p['theirs_filtered']} in their filtered tree below it "
            f"({len(p['only_ours_vs_filtered'])} only ours, {len(p['only_theirs_filtered'])} only theirs)"
        )
        out.extend(f"    only ours:   {x}" for x in p["only_ours"][:40])
        out.extend(f"    only theirs: {x}" for x in p["only_theirs"][:40])
        for key in ("only_ours", "only_theirs"):
            if len(p[key]) > 40:
                out.append(f"    ... {len(p[key]) - 40} more {key}")
    tr = t["rewrites"]
    out.append(
        f"  their rewrites: {tr['split_commit']} in the split commit ({len(tr['split_commit_broken'])} broken names), "
        f"{tr['fixup_forward']} more and {tr['fixup_reverts']} reverted in {tr['fixup_commits']} fix-up commits"
    )
    out.extend(f"    broken: {x}" for x in tr["split_commit_broken"])
    out.extend(f"    reverted by hand: {x}" for x in tr["reverted_names"])
    if o and o.get("rewrites"):
        orw = o["rewrites"]
        out.append(
            f"  our rewrites: {orw['listed']} listed by spinout rewrite ({orw['fallback_files']} files by the Python 2 "
            f"fallback), {orw['in_diff']} in the commit's diff, {len(orw['broken'])} broken"
        )
        out.extend(f"    broken: {x}" for x in orw["broken"])
        out.extend(f"    their revert we never needed: {x}" for x in orw["their_reverts_avoided"])
    if r.get("note"):
        out.append(f"  note: {r['note']}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("out", type=Path, help="run.sh's OUT directory")
    for svc in SERVICES:
        ap.add_argument(f"--{svc}", type=Path, help=f"a clone of openstack/neutron-{svc}")
    ap.add_argument("--fixup-days", type=int, default=31, help="days after the split commit that count as fix-ups")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    if not (args.out / "neutron").exists():
        ap.error(f"{args.out} has no neutron/ scratch clone; give run.sh's OUT directory")
    reports = [
        compare_service(args.out, svc, getattr(args, svc), args.fixup_days)
        for svc in SERVICES
        if getattr(args, svc) is not None
    ]
    if not reports:
        ap.error("give at least one of --lbaas, --fwaas, --vpnaas")
    if args.json:
        json.dump(reports, sys.stdout, indent=2, sort_keys=True)
        print()
    else:
        for r in reports:
            print("\n".join(_lines(r)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
