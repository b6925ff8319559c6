"""The code stage over one target's tree, in memory: which files change, how, and why.

Pure over bytes: the caller (spinout.api through spinout.code.gitops) reads the target's tree at its main branch
and writes the result as one commit. For a service: Python files (libcst, or the token fallback for files libcst
cannot parse), non-Python references, packaging, then the pyflakes post-check on every changed Python file. For the
core: the compat commit (shims at old import paths, entry-point aliases, requirements).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst

from spinout.code.compat import module_path, shim_source
from spinout.code.fallback import rewrite_fallback
from spinout.code.postcheck import Finding, check_file
from spinout.code.references import DEFAULT_REFERENCE_GLOBS, PathRenamer, is_reference_file, rewrite_reference
from spinout.code.scaffold import EntryPoint, core_packaging, service_packaging
from spinout.code.transform import FileContext, Renamer, Rewrite, rewrite_module
from spinout.plan.model import Plan, Service, path_covers
from spinout.plan.modules import ModuleMap, moved_files, path_to_module
from spinout.progress import NullProgress, Progress

KIND_PACKAGING = "packaging"
KIND_SHIM = "shim"


@dataclass
class TreeRewrite:
    """What the code stage does to one target."""

    target: str
    role: str  # "service" or "core"
    before: dict[str, bytes | None] = field(default_factory=dict)  # changed paths' old content (None: new file)
    changes: dict[str, bytes | None] = field(default_factory=dict)  # path → new content (None: delete)
    rewrites: list[Rewrite] = field(default_factory=list)
    fallback: list[str] = field(default_factory=list)  # files libcst could not parse
    warnings: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    scanned: int = 0
    parsed: int = 0

    def set(self, path: str, old: bytes | None, new: bytes | None) -> None:
        if old == new:
            return
        self.before.setdefault(path, old)
        self.changes[path] = new


def is_test_module(module: str) -> bool:
    """Tests get no shims: the core's test discovery would import them and need the service installed."""
    parts = module.split(".")
    return any(p in ("tests", "test") for p in parts) or parts[-1].startswith("test_")


def old_paths(service: Service, source_files: Sequence[str]) -> dict[str, str]:
    """Target path → source path, for every file the service takes (moved or shared)."""
    out: dict[str, str] = {}
    for f in source_files:
        if any(path_covers(p, f) for p in service.paths):
            out[service.renamed(f)] = f
    return out


def rewrite_python_files(
    files: Mapping[str, bytes], origin: Mapping[str, str], renamer: Renamer, result: TreeRewrite, progress: Progress
) -> None:
    """Rewrite every Python file of `files` that mentions a moved name; `origin` maps target → source path."""
    py = sorted(p for p in files if p.endswith(".py"))
    task = f"rewrite {result.target}"
    progress.start(task, f"{result.target}: Python files", len(py))
    for n, path in enumerate(py, start=1):
        data = files[path]
        new_module = path_to_module(path)
        old = origin.get(path, path)
        ctx = FileContext(path, path_to_module(old) or new_module, new_module, path.endswith("/__init__.py"))
        result.scanned += 1
        if n % 100 == 0 or n == len(py):
            progress.advance(task, n, len(py), {"parsed": result.parsed})
        if not renamer.wants(data, moved_file=ctx.moved):
            continue
        result.parsed += 1
        try:
            outcome = rewrite_module(data, ctx, renamer)
            after, rewrites = outcome.after, list(outcome.rewrites)
            parsed = True
        except cst.ParserSyntaxError:
            fb = rewrite_fallback(data, path, renamer, ctx)
            after, rewrites = fb.after, fb.rewrites
            result.fallback.append(path)
            result.warnings.extend(fb.warnings)
            parsed = False
        if after == data:
            continue
        result.set(path, data, after)
        result.rewrites.extend(rewrites)
        if parsed:
            result.findings.extend(check_file(path, data, after, lambda s: renamer.sub_text(s)[0]))
    progress.finish(task)


def rewrite_service(
    plan: Plan,
    service: Service,
    files: Mapping[str, bytes],
    source_files: Sequence[str],
    modules: ModuleMap,
    entry_points: list[EntryPoint],
    progress: Progress | None = None,
) -> TreeRewrite:
    """The split commit's changes for one service target whose tree is `files`."""
    progress = progress or NullProgress()
    renamer = Renamer(modules)
    result = TreeRewrite(service.name, "service")
    origin = old_paths(service, source_files)
    excluded = [p for p in files if any(fnmatch.fnmatchcase(p, g) for g in plan.code.exclude)]
    if excluded:
        files = {p: v for p, v in files.items() if p not in excluded}
    rewrite_python_files(files, origin, renamer, result, progress)

    globs = DEFAULT_REFERENCE_GLOBS if plan.code.references is None else tuple(plan.code.references)
    paths = PathRenamer.for_tree(service.renamed, files)
    for path in sorted(files):
        if path.endswith(".py") or not is_reference_file(path, globs):
            continue
        data = result.changes.get(path, files[path]) or b""
        after, rewrites = rewrite_reference(path, data, renamer, paths, (plan.core.name, service.name))
        if rewrites:
            result.set(path, files[path], after)
            result.rewrites.extend(rewrites)

    current = {p: (result.changes[p] if p in result.changes else files[p]) for p in files}
    current_bytes = {p: v for p, v in current.items() if v is not None}
    renamed = {old: new for old, (new, _svc) in modules.moves.items()}
    own = set(modules.for_service(service.name).values())
    for path, content in service_packaging(service, plan.core, current_bytes, entry_points, own, renamed).items():
        old_content = files.get(path)
        if content != current_bytes.get(path):
            result.set(path, old_content, content)
            result.rewrites.append(Rewrite(path, 0, "", path, KIND_PACKAGING))
    return result


def compat_core(
    plan: Plan,
    files: Mapping[str, bytes],
    source_files: Sequence[str],
    source_packaging: Mapping[str, bytes],
    entry_points: list[EntryPoint],
    modules: ModuleMap,
) -> TreeRewrite:
    """The core's compat commit: shims at old import paths, entry-point aliases, requirements."""
    result = TreeRewrite(plan.core.name, "core")
    if plan.core.compat.shims:
        for service in plan.service:
            for old_path, _new_path in sorted(moved_files(service, source_files).items()):
                old_mod = path_to_module(old_path)
                if old_mod is None or old_path in files or is_test_module(old_mod):
                    continue
                new_mod = modules.rename(old_mod)
                if new_mod is None or new_mod == old_mod:
                    continue
                path = module_path(old_mod, package=old_path.endswith("/__init__.py"))
                result.set(path, None, shim_source(old_mod, new_mod, service.name).encode())
                result.rewrites.append(Rewrite(path, 0, old_mod, new_mod, KIND_SHIM))
    renamed = {old: new for old, (new, _svc) in modules.moves.items()}
    packaging = {p: files[p] for p in source_packaging if p in files}
    for path, content in core_packaging(plan.core, list(plan.service), packaging, entry_points, renamed).items():
        result.set(path, files.get(path), content)
        result.rewrites.append(Rewrite(path, 0, "", path, KIND_PACKAGING))
    return result
