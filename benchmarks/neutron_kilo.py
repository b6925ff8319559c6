"""Benchmark: the Neutron Kilo split (examples/neutron-kilo/plan.toml) with the 2014 tooling, git filter-repo, spinout.

On an openstack/neutron clone, history up to the split base 08d436720ba7 (7,714 commits), per service of the plan:

- **split.sh**: neutron's own tools/split.sh (the `git filter-branch --index-filter` script adapted from
  oslo-incubator's graduate.sh that made the three repositories in December 2014), read from the clone at the commit
  that added it (it is not in the split base; it landed on 2014-12-11) and run as `sh split.sh KEEP neutron-<svc>`
  in a scratch repository, KEEP being the service's `paths` from the plan, one per line. It only filters: the move
  of `neutron/` to `neutron_<svc>/` was a separate hand-made commit;
- **filter-repo**: `git filter-repo --force --paths-from-file KEEP --path-rename neutron/:neutron_<svc>/` in a
  scratch repository (filter and rename in one pass, no renames followed);
- **spinout**: `spinout split PLAN --quiet` with the whole plan: every service and the core in one walk (so it is
  compared with the sum over the services), if this build has the command.

Every scratch repository is a new repository whose objects come from the clone through `objects/info/alternates`,
with one branch `split-base` at the split base, made before the clock starts (the clone is never written). Times are
wall-clock and CPU (user + system of the child processes, from `getrusage(RUSAGE_CHILDREN)`: the machine is shared,
CPU time is the steadier figure); medians over `--runs` (split.sh: `--splitsh-runs`, it takes minutes). The number of
commits on the resulting branch is printed too (split.sh and filter-repo must agree; the real neutron-lbaas had the
same number before its split commit).

    python -m benchmarks.neutron_kilo --neutron CLONE [--services lbaas,fwaas,vpnaas] [--runs 3]
                                      [--splitsh-runs 1] [--work DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPLIT_BASE = "08d436720ba75b752ab37d4b84a7e2cb856186f8"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "neutron-kilo"
BRANCH = "refs/heads/split-base"


def git(repo: Path | str, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def scratch(clone: Path, dest: Path, *, bare: bool) -> Path:
    """A new repository reading the clone's objects through alternates, with only `split-base` (untimed)."""
    objects = Path(git(clone, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()) / "objects"
    init = ["git", "init", "-q", "--bare" if bare else "--no-bare", "-b", "split-base", str(dest)]
    subprocess.run([a for a in init if a != "--no-bare"], check=True)
    gitdir = dest if bare else dest / ".git"
    (gitdir / "objects" / "info" / "alternates").write_text(f"{objects}\n")
    git(dest, "update-ref", BRANCH, SPLIT_BASE)
    if not bare:
        git(dest, "reset", "-q", "--hard", SPLIT_BASE)
    return dest


def split_script(clone: Path) -> str:
    """tools/split.sh as it was first committed (the first version is the one used in December 2014)."""
    added = git(clone, "log", "--all", "--diff-filter=A", "--format=%H", "--", "tools/split.sh").split()
    if not added:
        raise SystemExit(f"error: {clone} has no tools/split.sh in its history; give a full openstack/neutron clone")
    return git(clone, "show", f"{added[-1]}:tools/split.sh")


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    commits: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        if not self.wall:
            return {"runs": 0}
        return {
            "runs": len(self.wall),
            "wall_median_s": round(statistics.median(self.wall), 2),
            "cpu_median_s": round(statistics.median(self.cpu), 2),
            "wall_s": [round(w, 2) for w in self.wall],
            "commits": sorted(set(self.commits)),
        }


def timed(cmd: list[str], cwd: Path, timing: Timing, env: dict[str, str] | None = None) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"error: {' '.join(cmd)} failed in {cwd} (exit {proc.returncode}):\n{tail}")
    timing.wall.append(wall)
    timing.cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Neutron Kilo split: split.sh vs git filter-repo vs spinout split")
    ap.add_argument("--neutron", type=Path, required=True, help="an openstack/neutron clone with the split base")
    ap.add_argument("--services", default="lbaas,fwaas,vpnaas", help="comma-separated: lbaas,fwaas,vpnaas")
    ap.add_argument("--runs", type=int, default=3, help="runs of filter-repo and spinout (median)")
    ap.add_argument("--splitsh-runs", type=int, default=1, help="runs of split.sh per service (minutes each)")
    ap.add_argument("--work", type=Path, help="scratch directory (default: a new temporary one, removed after)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args(argv)

    clone = args.neutron.resolve()
    plan = tomllib.loads((EXAMPLE / "plan.toml").read_text())
    services = {s["name"].removeprefix("neutron-"): s for s in plan["service"]}
    wanted = [s for s in args.services.split(",") if s]
    for s in wanted:
        if s not in services:
            ap.error(f"unknown service {s!r}; the plan has {', '.join(services)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="neutron-kilo-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "split.sh").write_text(split_script(clone))
    bindir = Path(sys.executable).parent
    filter_repo = shutil.which("git-filter-repo", path=str(bindir)) or "git-filter-repo"
    spinout = shutil.which("spinout", path=str(bindir)) or "spinout"
    env = dict(os.environ, FILTER_BRANCH_SQUELCH_WARNING="1")
    results: dict[str, Any] = {"split_base": SPLIT_BASE, "services": {}}

    n = 0
    for svc in wanted:
        keep = work / f"keep-{svc}.txt"
        keep.write_text("".join(f"{p}\n" for p in services[svc]["paths"]))
        per: dict[str, Any] = {}
        t = Timing()
        for _ in range(args.splitsh_runs):
            n += 1
            repo = scratch(clone, work / f"r{n}", bare=False)
            timed(["sh", str(work / "split.sh"), str(keep), f"neutron-{svc}"], repo, t, env)
            # split.sh ends with a commit of its own (.gitreview); the filtered history is below it.
            t.commits.append(int(git(repo, "rev-list", "--count", f"{BRANCH}^")))
            shutil.rmtree(repo)
        per["split.sh"] = t.summary()
        t = Timing()
        for _ in range(args.runs):
            n += 1
            repo = scratch(clone, work / f"r{n}", bare=True)
            cmd = [filter_repo, "--force", "--quiet", "--paths-from-file", str(keep)]
            timed([*cmd, "--path-rename", f"neutron/:neutron_{svc}/"], repo, t)
            t.commits.append(int(git(repo, "rev-list", "--count", BRANCH)))
            shutil.rmtree(repo)
        per["filter-repo"] = t.summary()
        results["services"][svc] = per
        print(f"{svc}: " + json.dumps(per), flush=True)

    has_split = subprocess.run([spinout, "split", "--help"], capture_output=True).returncode == 0
    if has_split:
        t = Timing()
        for _ in range(args.runs):
            n += 1
            d = work / f"r{n}"
            d.mkdir()
            scratch(clone, d / "neutron", bare=True)
            shutil.copy(EXAMPLE / "plan.toml", d / "plan.toml")
            timed([spinout, "split", str(d / "plan.toml"), "--quiet"], d, t)
            t.commits.append(int(git(d / "split" / "neutron-lbaas", "rev-list", "--count", BRANCH)))
            shutil.rmtree(d)
        results["spinout split (all targets, one walk)"] = t.summary()
    else:
        results["spinout split (all targets, one walk)"] = "not measured: no `spinout split` in this build"
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.work is None:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
