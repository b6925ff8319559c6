"""Quick benchmark of `spinout split` on the sample, against git filter-repo run once per target.

The history engineer's development measurement (benchmarks/history.py is the full benchmark): builds the sample
at COMMITS commits (or reuses DIR), then in one run

* spinout: the three services in one walk, then all four targets with the core in "rewrite" mode;
* the anchor: git filter-repo on a fresh `--no-local` clone, once per target, with the equivalent options;
* an incremental rerun of the four targets after 100 new source commits.

It prints wall and CPU seconds, the ratios and spinout's peak memory (ru_maxrss of this process).

    python -m benchmarks.split_quick [COMMITS] [DIR]        # default 30000 commits, a new temporary directory
"""

from __future__ import annotations

import dataclasses
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pygit2

from spinout.history.router import core_rules
from spinout.history.split import TargetSpec, split, targets_from_plan
from spinout.plan.load import load_plan
from spinout.plan.model import Plan
from spinout.progress import NullProgress
from spinout.sample import build_sample

FILTER_REPO = str(Path(sys.executable).parent / "git-filter-repo")


def _cpu(children: bool) -> float:
    t = os.times()
    return t.children_user + t.children_system if children else t.user + t.system


def _spinout(plan: Plan, specs: list[TargetSpec]) -> tuple[float, float]:
    shutil.rmtree(plan.output_dir, ignore_errors=True)
    wall, cpu = time.monotonic(), _cpu(False) + _cpu(True)
    split(pygit2.Repository(str(plan.source_repo)), specs, force=True, progress=NullProgress())
    return time.monotonic() - wall, _cpu(False) + _cpu(True) - cpu


def _filter_repo(source: Path, work: Path, paths: list[str], renames: dict[str, str], extra: list[str]) -> float:
    shutil.rmtree(work, ignore_errors=True)
    args = [FILTER_REPO, "--force", "--quiet", *extra]
    args += [f"--path={p}" if p.endswith("/") else f"--path-regex=^{re.escape(p)}$" for p in paths]
    args += [f"--path-rename={old}:{new}" for old, new in renames.items()]
    started = time.monotonic()
    subprocess.run(["git", "clone", "-q", "--no-local", "--bare", str(source), str(work)], check=True)
    subprocess.run(args, cwd=work, check=True, capture_output=True)
    return time.monotonic() - started


def main() -> None:
    commits = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    root = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="spinout-split-bench-"))
    if not (root / "plan.toml").exists():
        build_sample(root, commits=commits, rows=10)
    plan = load_plan(root / "plan.toml")
    specs = targets_from_plan(plan)
    services = [s for s in specs if s.name != plan.core.name]
    four = [dataclasses.replace(s, mode="rewrite") for s in specs]

    s3_wall, s3_cpu = _spinout(plan, services)
    s4_wall, s4_cpu = _spinout(plan, four)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fr: dict[str, float] = {}
    for svc in plan.service:
        fr[svc.name] = _filter_repo(plan.source_repo, root / f"fr-{svc.name}", svc.paths, dict(svc.rename), [])
    core = core_rules(plan)
    fr[plan.core.name] = _filter_repo(plan.source_repo, root / "fr-core", list(core.paths), {}, ["--invert-paths"])
    fr3 = sum(v for k, v in fr.items() if k != plan.core.name)
    fr4 = sum(fr.values())

    # incremental: 100 new commits on main, then the four targets again
    repo = pygit2.Repository(str(plan.source_repo))
    sig_time = repo.head.peel(pygit2.Commit).commit_time
    for n in range(100):
        head = repo.head.peel(pygit2.Commit)
        path = ["acme/services/lb/plugin.py", "acme/manager.py", "acme/services/fw/fwaas_plugin.py"][n % 3]
        index = pygit2.Index()
        index.read_tree(head.tree)
        index.add(pygit2.IndexEntry(path, repo.create_blob(f"# bench {n}\n".encode()), pygit2.enums.FileMode.BLOB))
        sig = pygit2.Signature("Bench", "bench@example.com", sig_time + 60 * (n + 1), 0)
        repo.create_commit("HEAD", sig, sig, f"bench {n}\n", index.write_tree(repo), [head.id])
    started = time.monotonic()
    split(repo, four, force=False, progress=NullProgress())
    incremental = time.monotonic() - started

    print(f"sample: {root} ({commits} commits)")
    print(f"spinout, 3 services, one walk: {s3_wall:.1f}s wall, {s3_cpu:.1f}s cpu")
    print(f"spinout, 4 targets (core rewrite), one walk: {s4_wall:.1f}s wall, {s4_cpu:.1f}s cpu")
    print("git filter-repo per target: " + ", ".join(f"{k} {v:.1f}s" for k, v in fr.items()))
    print(f"ratio, 3 services: {s3_wall / fr3:.2f} (target <= 0.25)")
    print(f"ratio, 4 targets: {s4_wall / fr4:.2f} (target <= 0.50)")
    print(f"peak memory: {peak:.0f} MB (target <= 500)")
    print(f"incremental rerun after 100 commits, 4 targets: {incremental:.2f}s (target <= 1)")


if __name__ == "__main__":
    main()
