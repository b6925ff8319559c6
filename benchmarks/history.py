"""Benchmark: `spinout split` (every target, one walk) against git filter-repo (one run per target).

In one invocation, on the same repository:

- spinout: `spinout.api.split(plan, force=True)` in a child process, three services (the plan as written, core in
  "remove" mode) and four targets (the same plan with the core in "rewrite" mode); wall time of the child,
  median of `--runs`; peak memory twice: the largest process's `ru_maxrss` (resource.getrusage(RUSAGE_CHILDREN)
  in the parent), and the sum of the PSS of the child and every process it starts (split workers, git), sampled
  every 20 ms in one more run of each plan (not in the timed runs: reading smaps takes the kernel real time) —
  what the split as a whole holds;
- git filter-repo: for every target, a fresh `git clone --bare --no-local` (not timed), then one timed
  `git filter-repo` with the equivalent options: `--path` for each plan path (plus, for `follow_renames`
  services, each earlier path `spinout.history.renames` finds), `--path-rename OLD:NEW` for each rename; the core
  in rewrite mode is `--invert-paths` over the services' own (not shared) paths;
- the floor: `git fast-export --all --no-data > /dev/null`;
- the incremental rerun: after a full split, 100 commits are added to the benchmark's copy of the source and
  `spinout split PLAN` is run again as a user runs it (the command, without `--force`, in a child process: start-up,
  plan check, follow_renames, walk, packing, checkout); wall and CPU time (user + system of the command and the git
  processes it starts), median of `--runs`, each from the same full split (restored from a copy).

The sample (`spinout.sample.build_sample`) is built scaled to `--commits` (default 30,000) in a new temporary
directory, or in/from `--repo DIR` (a sample root holding `plan.toml` and `acme/`; built there when DIR does not
exist, reused when it does). The source is never modified: spinout and filter-repo work on copies.

    python -m benchmarks.history [--commits N] [--repo DIR] [--runs 3] [--neutron PATH [--neutron-at REV]]
                                 [--skip-sample] [--json FILE]

`--neutron PATH` runs the same on an openstack/neutron clone: the three services of the Kilo split from
../shared/reference/neutron-kilo.md, on the history up to the split base (`--neutron-at`; at master the services'
paths no longer exist and the plan check refuses them). Without it that part is skipped. Figures go to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INCREMENTAL_COMMITS = 100
NEUTRON_SPLIT_BASE = "08d436720ba75b752ab37d4b84a7e2cb856186f8"  # 2014-12-05, see ../shared/reference/neutron-kilo.md

NEUTRON_SHARED = [
    ".coveragerc",
    ".gitignore",
    ".gitreview",
    ".mailmap",
    ".pylintrc",
    ".testr.conf",
    "CONTRIBUTING.rst",
    "HACKING.rst",
    "LICENSE",
    "MANIFEST.in",
    "README.rst",
    "TESTING.rst",
    "babel.cfg",
    "openstack-common.conf",
    "requirements.txt",
    "setup.cfg",
    "setup.py",
    "test-requirements.txt",
    "tox.ini",
    "tools/",
    "neutron/__init__.py",
    "neutron/db/__init__.py",
    "neutron/services/__init__.py",
    "neutron/tests/unit/__init__.py",
    "neutron/tests/unit/db/__init__.py",
    "neutron/tests/unit/services/__init__.py",
]
NEUTRON_SERVICES = [
    ("neutron-lbaas", "neutron_lbaas", "loadbalancer", "etc/lbaas_agent.ini"),
    ("neutron-fwaas", "neutron_fwaas", "firewall", "etc/fwaas_driver.ini"),
    ("neutron-vpnaas", "neutron_vpnaas", "vpn", "etc/vpn_agent.ini"),
]


def neutron_plan_text(repo: Path, history: str) -> str:
    """The Kilo split of ../shared/reference/neutron-kilo.md as a plan on `repo`'s master."""

    def toml_list(items: Sequence[str]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    out = [
        "[source]",
        f"repo = {json.dumps(str(repo))}",
        'refs = ["refs/heads/master"]',
        "",
        "[core]",
        'name = "neutron"',
        'package = "neutron"',
        f'history = "{history}"',
        "",
        "[output]",
        'dir = "out"',
        "",
    ]
    for name, package, short, agent_ini in NEUTRON_SERVICES:
        paths = [
            *NEUTRON_SHARED,
            agent_ini,
            f"neutron/db/{short}/",
            f"neutron/services/{short}/",
            f"neutron/tests/unit/db/{short}/",
            f"neutron/tests/unit/services/{short}/",
        ]
        out += [
            "[[service]]",
            f'name = "{name}"',
            f'package = "{package}"',
            f"paths = {toml_list(paths)}",
            f"shared = {toml_list(NEUTRON_SHARED)}",
            f'rename = {{ "neutron/" = "{package}/" }}',
            "follow_renames = true",
            "",
        ]
    return "\n".join(out)


@dataclass
class Case:
    """One repository to measure: a work dir holding `plan.toml` (3 services) and `plan4.toml` (4 targets)."""

    name: str
    work: Path
    source: Path  # the repository the plans read (a copy for the sample; the clone itself for neutron)
    figures: dict[str, Any] = field(default_factory=dict)


def _git(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def _filter_repo() -> str:
    here = Path(sys.executable).parent / "git-filter-repo"
    found = str(here) if here.exists() else shutil.which("git-filter-repo")
    if found is None:
        raise SystemExit("git-filter-repo is not installed: pip install -e '.[test]'")
    return found


def _timed(argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


# --- spinout, in a child process --------------------------------------------------------------------------------


def child_split(plan: str) -> None:
    """Entry of the child process: one `api.split`, report its time as JSON on stdout."""
    import inspect

    from spinout import api

    split = getattr(api, "split", None)
    if split is None:
        print(json.dumps({"error": "spinout.api.split is not in this build (the history engine has not landed)"}))
        raise SystemExit(3)
    kwargs: dict[str, Any] = {}
    if "force" in inspect.signature(split).parameters:
        kwargs["force"] = True
    started = time.perf_counter()
    result = split(Path(plan), **kwargs)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "exit_code": getattr(result, "exit_code", 0)}))


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):  # the process ended meanwhile
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return out


def _tree_pss_kb(pid: int) -> int:
    """Proportional set size of a process and its descendants (pages shared after fork counted once), in KiB."""
    total = 0
    for p in _descendants(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total


def run_spinout(plan: Path, out_dir: Path, *, fresh: bool, memory: bool = False) -> tuple[float, float, float]:
    """(wall seconds of the child, in-process seconds of api.split, peak memory in MB of the child and every
    process it starts — its split workers and git — sampled every 20 ms as the sum of their PSS; 0 without
    `memory`). Reading every process's smaps costs the kernel real time on a 2-core machine, so timed runs do not
    sample: the memory has a run of its own."""
    if fresh and out_dir.exists():
        shutil.rmtree(out_dir)
    argv = [sys.executable, "-m", "benchmarks.history", "--child-split", str(plan)]
    started = time.perf_counter()
    child = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    peak = [0]

    def sample() -> None:
        while child.poll() is None:
            peak[0] = max(peak[0], _tree_pss_kb(child.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    if memory:
        sampler.start()
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - started
    if memory:
        sampler.join()
    proc = subprocess.CompletedProcess(argv, child.returncode, stdout, stderr)
    last = (proc.stdout.strip().splitlines() or ["{}"])[-1]
    try:
        report = json.loads(last)
    except json.JSONDecodeError:
        report = {}
    if proc.returncode != 0 or "seconds" not in report:
        raise RuntimeError(report.get("error") or f"spinout split failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, float(report["seconds"]), peak[0] / 1024


def run_rerun(plan: Path) -> tuple[float, float, float]:
    """`spinout split PLAN` as a user runs it, incremental (no --force): (wall, CPU of it and its children, the
    seconds the command itself reports)."""
    argv = [sys.executable, "-m", "spinout", "split", "--json", str(plan)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=plan.parent)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        report = {}
    if proc.returncode != 0 or not report.get("ok"):
        raise RuntimeError(f"spinout split (incremental) failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    if any(not t.get("incremental", True) for t in report["targets"] if t.get("mode") == "rewrite"):
        raise RuntimeError("spinout split rebuilt a target from scratch: the rerun was not incremental")
    return wall, cpu, float(report["seconds"])


# --- git filter-repo, one run per target on a fresh clone ------------------------------------------------------


def filter_repo_args(plan: dict[str, Any], extra_paths: dict[str, list[str]]) -> dict[str, list[str]]:
    """The filter-repo options equivalent to each target of the plan (core only in rewrite mode)."""
    out: dict[str, list[str]] = {}
    own: list[str] = []
    for service in plan["service"]:
        args: list[str] = []
        for path in [*service["paths"], *extra_paths.get(service["name"], [])]:
            args += ["--path", path]
        for old, new in service.get("rename", {}).items():
            args += ["--path-rename", f"{old}:{new}"]
        out[service["name"]] = args
        own += [p for p in service["paths"] if p not in service.get("shared", [])]
    if plan["core"].get("history") == "rewrite":
        args = ["--invert-paths"]
        for path in sorted(set(own)):
            args += ["--path", path]
        out[plan["core"]["name"]] = args
    return out


def run_filter_repo(source: Path, scratch: Path, targets: dict[str, list[str]]) -> dict[str, float]:
    tool = _filter_repo()
    times: dict[str, float] = {}
    for name, args in targets.items():
        clone = scratch / f"fr-{name}"
        if clone.exists():
            shutil.rmtree(clone)
        _git("clone", "--quiet", "--bare", "--no-local", str(source), str(clone))
        times[name] = _timed([tool, "--force", "--quiet", *args], cwd=clone)
        shutil.rmtree(clone)
    return times


def floor(source: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        # --signed-tags=strip as filter-repo does: fast-export refuses signed tags otherwise (neutron has some)
        ["git", "-C", str(source), "fast-export", "--all", "--no-data", "--signed-tags=strip"],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - started


# --- incremental: add commits to the benchmark's own copy of the source ------------------------------------------


def add_commits(source: Path, plan: dict[str, Any], count: int) -> None:
    """`count` new commits on the main branch, each editing one file of a service or of the core, round robin."""
    import pygit2

    repo = pygit2.Repository(str(source))
    main = _main_ref(plan)
    tip = repo.references[main].peel(pygit2.Commit)
    tree = tip.tree
    files: list[str] = []
    for service in plan["service"]:
        for path in service["paths"]:
            sub = tree[path.rstrip("/")] if path.endswith("/") and path.rstrip("/") in tree else None
            if isinstance(sub, pygit2.Tree):
                files += [f"{path}{e.name}" for e in sub if e.type_str == "blob"][:3]
    files.append("README.rst" if "README.rst" in tree else files[0])
    when = tip.committer.time
    for i in range(count):
        path = files[i % len(files)]
        blob = repo[tree[path].id].read_raw() + f"# benchmark edit {i}\n".encode()
        index = pygit2.Index()
        index.read_tree(tree)
        index.add(pygit2.IndexEntry(path, repo.create_blob(blob), pygit2.enums.FileMode.BLOB))
        tree_id = index.write_tree(repo)
        sig = pygit2.Signature("Bench Mark", "bench@example.com", when + 60 * (i + 1), 0)
        oid = repo.create_commit(None, sig, sig, f"benchmark edit {i}\n", tree_id, [tip.id])
        tip = repo[oid].peel(pygit2.Commit)
        tree = tip.tree
    repo.references[main].set_target(tip.id)


# --- cases ------------------------------------------------------------------------------------------------------


def prepare_sample(args: argparse.Namespace, scratch: Path) -> Case:
    # imported by name: the sample lives on its own branch until it lands on main
    build_sample = importlib.import_module("spinout.sample").build_sample

    root = Path(args.repo) if args.repo else scratch / "sample"
    if not (root / "plan.toml").exists():
        print(f"building the sample ({args.commits} commits) in {root} ...", flush=True)
        started = time.perf_counter()
        build_sample(root, commits=args.commits, rows=10)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    work = scratch / "sample-work"
    work.mkdir()
    source = work / "acme"
    # the benchmark's own copy: the incremental step adds commits to it, the sample itself is never touched
    _git("clone", "--quiet", "--mirror", "--no-local", str(root / "acme"), str(source))
    plan_text = (root / "plan.toml").read_text()
    (work / "plan.toml").write_text(plan_text)
    (work / "plan4.toml").write_text(plan_text.replace('history = "remove"', 'history = "rewrite"'))
    return Case("sample", work, source)


def prepare_neutron(path: Path, scratch: Path, at: str) -> Case:
    work = scratch / "neutron-work"
    work.mkdir()
    source = work / "neutron.git"
    # one branch, as the plan: filter-repo and the floor then see the same history as spinout
    only_master = ["--single-branch", "--branch", "master", "--no-tags"]
    _git("clone", "--quiet", "--bare", "--no-local", *only_master, str(path), str(source))
    if at != "master":
        # the copy's master is moved to the split base: only its history is reachable (and measured)
        _git("-C", str(source), "update-ref", "refs/heads/master", _git("-C", str(source), "rev-parse", at).strip())
    (work / "plan.toml").write_text(neutron_plan_text(source, "remove"))
    (work / "plan4.toml").write_text(neutron_plan_text(source, "rewrite"))
    return Case("neutron", work, source)


def earlier_paths(case: Case, plan: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Per follow_renames service: the walk's result (for an incremental rerun) and the old paths it adds, so
    that filter-repo keeps the same files. Records the walk's time (incremental when `previous` is given)."""
    import pygit2

    from spinout.history.renames import walk_earlier_names

    repo = pygit2.Repository(str(case.source))
    out: dict[str, Any] = {}
    main = _main_ref(plan)
    key = "follow_renames_seconds" if previous is None else "follow_renames_incremental_seconds"
    for service in plan["service"]:
        if not service.get("follow_renames"):
            continue
        started = time.perf_counter()
        before = previous.get(service["name"]) if previous else None
        found = walk_earlier_names(repo, service["paths"], [main], previous=before)
        case.figures.setdefault(key, {})[service["name"]] = time.perf_counter() - started
        olds = sorted({old for names in found.earlier.values() for old in names})
        out[service["name"]] = found
        out[service["name"] + ":paths"] = [o for o in olds if not any(_covers(p, o) for p in service["paths"])]
    return out


def _main_ref(plan: dict[str, Any]) -> str:
    """The plan's main branch, as `Source.main_ref` reads it: `main`, else the first branch of `refs`."""
    source = plan["source"]
    if source.get("main"):
        return str(source["main"])
    for ref in source.get("refs", []):
        if ref.startswith("refs/heads/") and "*" not in ref:
            return str(ref)
    return "refs/heads/main"


def _covers(prefix: str, path: str) -> bool:
    return path.startswith(prefix) if prefix.endswith("/") else path == prefix


def measure(case: Case, runs: int) -> None:
    plan3 = tomllib.loads((case.work / "plan.toml").read_text())
    plan4 = tomllib.loads((case.work / "plan4.toml").read_text())
    out_dir = case.work / plan3.get("output", {}).get("dir", "spinout-out")
    figures = case.figures
    figures["commits"] = int(_git("-C", str(case.source), "rev-list", "--count", "--all").strip())
    figures["floor"] = statistics.median(floor(case.source) for _ in range(runs))
    print(f"[{case.name}] {figures['commits']} commits; floor fast-export --no-data {figures['floor']:.2f} s")

    followed = earlier_paths(case, plan3)
    extra = {name.removesuffix(":paths"): paths for name, paths in followed.items() if name.endswith(":paths")}
    targets3 = filter_repo_args(plan3, extra)
    targets4 = filter_repo_args(plan4, extra)
    fr = [run_filter_repo(case.source, case.work, targets4) for _ in range(runs)]
    fr_med = {name: statistics.median(r[name] for r in fr) for name in targets4}
    figures["filter_repo"] = fr_med
    fr3 = sum(fr_med[n] for n in targets3)
    fr4 = sum(fr_med.values())
    per_target = ", ".join(f"{n} {t:.2f} s" for n, t in fr_med.items())
    print(f"[{case.name}] filter-repo per target (median of {runs}): {per_target}")

    try:
        base_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        s3 = [run_spinout(case.work / "plan.toml", out_dir, fresh=True) for _ in range(runs)]
        rss3 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        s4 = [run_spinout(case.work / "plan4.toml", out_dir, fresh=True) for _ in range(runs)]
        rss4 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        m3 = run_spinout(case.work / "plan.toml", out_dir, fresh=True, memory=True)[2]
        m4 = run_spinout(case.work / "plan4.toml", out_dir, fresh=True, memory=True)[2]
    except RuntimeError as exc:
        figures["spinout"] = f"not measured: {exc}"
        print(f"[{case.name}] spinout: NOT MEASURED: {exc}")
        return
    t3 = statistics.median(w for w, _, _ in s3)
    t4 = statistics.median(w for w, _, _ in s4)
    figures["spinout_3"] = t3
    figures["spinout_4"] = t4
    figures["ratio_3"] = t3 / fr3
    figures["ratio_4"] = t4 / fr4
    # RUSAGE_CHILDREN keeps the largest child so far; the git runs before may have been larger (then "at most")
    figures["peak_rss_mb"] = {
        "3": rss3 / 1024 if rss3 > base_rss else f"<= {base_rss / 1024:.0f}",
        "4": rss4 / 1024 if rss4 > rss3 else f"<= {max(rss3, base_rss) / 1024:.0f}",
    }
    print(f"[{case.name}] spinout 3 services, one pass: {t3:.2f} s vs filter-repo {fr3:.2f} s: ratio {t3 / fr3:.3f}")
    print(f"[{case.name}] spinout 4 targets, one pass: {t4:.2f} s vs filter-repo {fr4:.2f} s: ratio {t4 / fr4:.3f}")
    figures["peak_tree_pss_mb"] = {"3": m3, "4": m4}
    print(f"[{case.name}] spinout peak RSS of the largest process (MB): {figures['peak_rss_mb']}")
    tree = figures["peak_tree_pss_mb"]
    print(f"[{case.name}] spinout peak memory, all its processes (sum of PSS, MB): {tree['3']:.0f} / {tree['4']:.0f}")

    # incremental: a full split of the 3-service plan, 100 new source commits, then the rerun; each run starts
    # from the same full split and source (restored from copies)
    run_spinout(case.work / "plan.toml", out_dir, fresh=True)
    snapshot = case.work / "incremental-snapshot"
    shutil.copytree(case.source, snapshot / "source", symlinks=True)
    shutil.copytree(out_dir, snapshot / "out", symlinks=True)
    reruns = []
    for i in range(runs):
        if i:
            for live, saved in ((case.source, snapshot / "source"), (out_dir, snapshot / "out")):
                shutil.rmtree(live)
                shutil.copytree(saved, live, symlinks=True)
        add_commits(case.source, plan3, INCREMENTAL_COMMITS)
        if i == 0:
            earlier_paths(case, plan3, {k: v for k, v in followed.items() if not k.endswith(":paths")})
        reruns.append(run_rerun(case.work / "plan.toml"))
    for name, seconds in case.figures.get("follow_renames_incremental_seconds", {}).items():
        print(
            f"[{case.name}] follow_renames walk for {name}: {case.figures['follow_renames_seconds'][name]:.2f} s, "
            f"incremental after {INCREMENTAL_COMMITS} commits {seconds:.3f} s"
        )
    wall, cpu, inner = (statistics.median(r[k] for r in reruns) for k in range(3))
    figures["incremental"] = {"wall": wall, "cpu": cpu, "split": inner, "runs": reruns}
    print(
        f"[{case.name}] incremental rerun after {INCREMENTAL_COMMITS} commits, `spinout split PLAN` (median of "
        f"{runs}): {wall:.2f} s wall, {cpu:.2f} s CPU (the command reports {inner:.2f} s)"
    )


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.history", description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=30_000, help="size of the sample history")
    parser.add_argument("--repo", help="sample root to build into or reuse (holds plan.toml and acme/)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; medians are reported")
    parser.add_argument("--neutron", help="path of an openstack/neutron clone")
    parser.add_argument(
        "--neutron-at",
        default=NEUTRON_SPLIT_BASE,
        help="neutron commit to split (default: the Kilo split base; at master the services' paths match nothing, "
        "which the plan check refuses)",
    )
    parser.add_argument("--skip-sample", action="store_true", help="only the neutron case")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--child-split", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_split:
        child_split(args.child_split)
        return
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        scratch = Path(tmp)
        cases: list[Case] = []
        if not args.skip_sample:
            try:
                cases.append(prepare_sample(args, scratch))
            except ImportError:
                print("sample: skipped, spinout.sample is not in this build (the sample has not landed)")
        if args.neutron:
            if not Path(args.neutron).exists():
                raise SystemExit(f"--neutron {args.neutron}: no such directory")
            cases.append(prepare_neutron(Path(args.neutron), scratch, args.neutron_at))
        else:
            print("neutron: skipped (give --neutron PATH of an openstack/neutron clone)")
        for case in cases:
            measure(case, args.runs)
            results[case.name] = case.figures
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main(sys.argv[1:])
