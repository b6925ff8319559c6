"""`spinout rewrite`: run the code stage over every split target and add (or, with --dry-run, show) one commit each.

Every target is computed before any is written, so a pyflakes finding in one target stops the stage with nothing
written (VerificationFailed, exit 6, naming file and line).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import pygit2

from spinout.code.engine import TreeRewrite, compat_core, rewrite_service
from spinout.code.gitops import TRAILER, Target, open_target, read_tree, tree_paths, write_commit
from spinout.code.scaffold import PACKAGING_FILES, read_entry_points
from spinout.errors import VerificationFailed
from spinout.plan.model import Plan
from spinout.plan.modules import build_module_map
from spinout.progress import NullProgress, Progress


@dataclass
class TargetReport:
    rewrite: TreeRewrite
    path: str
    base: str
    commit: str | None = None
    diff: str = ""

    def to_json(self) -> dict[str, Any]:
        r = self.rewrite
        return {
            "target": r.target,
            "role": r.role,
            "path": self.path,
            "base": self.base,
            "commit": self.commit,
            "scanned": r.scanned,
            "parsed": r.parsed,
            "changed": sorted(r.changes),
            "fallback": r.fallback,
            "warnings": r.warnings,
            "rewrites": [w.to_json() for w in r.rewrites],
        }


@dataclass
class RewriteResult:
    dry_run: bool
    targets: list[TargetReport] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "command": "rewrite",
            "ok": True,
            "dry_run": self.dry_run,
            "targets": [t.to_json() for t in self.targets],
        }
        if self.dry_run:
            out["diff"] = "".join(t.diff for t in self.targets)
        return out

    def lines(self) -> list[str]:
        out: list[str] = []
        for t in self.targets:
            r = t.rewrite
            where = "would change" if self.dry_run else (f"commit {t.commit[:12]}" if t.commit else "unchanged")
            if r.role == "core":
                shims = sum(1 for w in r.rewrites if w.kind == "shim")
                out.append(f"{r.target} (core): {len(r.changes)} files, {shims} shims; {where}")
            else:
                out.append(
                    f"{r.target} ({r.role}): {len(r.changes)} files, {len(r.rewrites)} rewrites, "
                    f"{r.parsed}/{r.scanned} Python files parsed; {where}"
                )
            out.extend(f"  python 2 fallback: {p}" for p in r.fallback)
            out.extend(f"  warning: {w}" for w in r.warnings)
        if self.dry_run:
            out.extend(line.rstrip("\n") for t in self.targets for line in t.diff.splitlines())
        return out


def unified_diff(r: TreeRewrite) -> str:
    chunks: list[str] = []
    for path in sorted(r.changes):
        old, new = r.before.get(path), r.changes[path]
        a = (old or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
        b = (new or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
        fa = f"a/{path}" if old is not None else "/dev/null"
        fb = f"b/{path}" if new is not None else "/dev/null"
        for line in difflib.unified_diff(a, b, fa, fb):
            chunks.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(chunks)


def commit_message(r: TreeRewrite, plan: Plan) -> str:
    if r.role == "service":
        head = f"Rewrite references to moved modules for {r.target}"
        body = (
            f"{len(r.rewrites)} rewrites in {len(r.changes)} files, {len(r.fallback)} of them by the "
            f"Python 2 token fallback; packaging for {r.target}."
        )
    else:
        head = f"Compatibility for the code moved out of {plan.core.name}"
        body = f"{len(r.changes)} files: shim modules at old import paths, entry-point aliases, requirements."
    return f"{head}\n\n{body}\n\n{TRAILER}: {r.target}\n"


def run_rewrite(plan: Plan, *, dry_run: bool = False, progress: Progress | None = None) -> RewriteResult:
    progress = progress or NullProgress()
    source = pygit2.Repository(str(plan.source_repo))
    source_files, main = tree_paths(source, plan.source.main_ref)
    packaging: dict[str, bytes] = {}
    for name in PACKAGING_FILES:
        if name in main.tree:
            packaging[name] = source[main.tree[name].id].peel(pygit2.Blob).data
    modules = build_module_map(plan, source_files)
    entry_points = read_entry_points(packaging)
    progress.start("rewrite", f"rewriting {len(plan.service)} services and the core", len(plan.service) + 1)

    work: list[tuple[Target, TreeRewrite]] = []
    for n, service in enumerate(plan.service, start=1):
        target = open_target(plan.target_dir(service.name), plan.source.main_ref, service.name)
        files = read_tree(target.repo, target.base.tree)
        work.append((target, rewrite_service(plan, service, files, source_files, modules, entry_points, progress)))
        progress.advance("rewrite", n, len(plan.service) + 1)
    core = open_target(plan.target_dir(plan.core.name), plan.source.main_ref, plan.core.name)
    core_files = read_tree(core.repo, core.base.tree)
    work.append((core, compat_core(plan, core_files, source_files, packaging, entry_points, modules)))

    findings = [f for _, r in work for f in r.findings]
    if findings:
        listing = "\n".join(f"  {f}" for f in findings)
        raise VerificationFailed(
            f"the rewrite would add {len(findings)} pyflakes error(s):\n{listing}",
            hint="fix the reported code in the source (or add a `modules` override to the plan) and rerun; "
            "nothing was written",
        )
    result = RewriteResult(dry_run)
    for target, r in work:
        report = TargetReport(r, str(target.repo.path), str(target.base.id))
        if dry_run:
            report.diff = unified_diff(r)
        else:
            report.commit = write_commit(target, r.changes, commit_message(r, plan))
        result.targets.append(report)
    progress.finish("rewrite", f"{sum(len(r.rewrites) for _, r in work)} rewrites")
    return result
