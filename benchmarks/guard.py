"""Benchmark: `spinout guard check` against `lint-imports` on the same generated tree of 1,000+ modules.

Generates a monorepo-shaped package (`acme`: core subpackages plus three services under `acme/services/`, every
module importing a few others, seeded, and one planted core → service import), writes the contract with
`spinout guard`, then times, `--runs` times each, medians reported:

* spinout in process: `api.guard_check` (graph build + contract check), the figure the 1 s budget is about;
* spinout as a command: `spinout guard check PLAN --repo TREE` (adds interpreter start and imports);
* the anchor: `lint-imports --no-cache` on the contract spinout wrote, in the same tree.

Run: `.venv/bin/python -m benchmarks.guard [--modules 1200] [--runs 5] [--contract protected|forbidden]`, or with
`--plan PLAN` on a real tree: the plan's source main branch (e.g. Neutron at the Kilo split base).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from spinout import api
from spinout.boundary.tree import export_tree, load_tree, python_files
from spinout.plan.load import load_plan

CORE = ["agent", "api", "common", "db", "extensions", "plugins", "scheduler", "notifiers", "cmd", "openstack"]
SERVICES = ["lb", "fw", "vpn"]

PLAN = """
[source]
repo = "no-source"
[core]
name = "acme"
package = "acme"
{services}
[boundary]
contract = "{contract}"
"""

SERVICE = """
[[service]]
name = "acme-{s}"
package = "acme_{s}"
paths = ["acme/__init__.py", "acme/services/__init__.py", "acme/services/{s}/"]
shared = ["acme/__init__.py", "acme/services/__init__.py"]
rename = {{ "acme/" = "acme_{s}/" }}
"""


def generate(root: Path, modules: int, seed: int = 1) -> int:
    """Write about `modules` modules under `root/acme` (85 % core, 15 % services); return how many were written."""
    rng = random.Random(seed)
    per_pkg = 20
    n_svc = max(len(SERVICES), modules * 15 // 100)
    n_core = modules - n_svc
    core = [f"acme.{CORE[(i // per_pkg) % len(CORE)]}.sub{i // per_pkg}.mod{i % per_pkg}" for i in range(n_core)]
    svc = [f"acme.services.{SERVICES[i % len(SERVICES)]}.part{i // (per_pkg * 3)}.mod{i}" for i in range(n_svc)]
    sources: dict[str, list[str]] = {}
    for i, mod in enumerate(core):
        # core modules import earlier core modules only: a layered, acyclic core
        sources[mod] = [f"import {m}" for m in sorted(set(rng.sample(core[:i], k=min(4, i))))]
    for mod in svc:
        sibling = [m for m in svc if m.split(".")[2] == mod.split(".")[2] and m != mod]
        picks = rng.sample(core, k=4) + rng.sample(sibling, k=min(1, len(sibling)))
        sources[mod] = [f"import {m}" for m in sorted(set(picks))]
    # the planted violation: a core module in the middle of the graph importing a service module
    sources[core[n_core // 2]].append(f"from {svc[0].rsplit('.', 1)[0]} import {svc[0].rsplit('.', 1)[1]}")
    count = 0
    for mod, lines in sources.items():
        path = root.joinpath(*mod.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join([*lines, "", "", "def f():", "    return 1", ""]))
        count += 1
    for pkg in {".".join(m.split(".")[:n]) for m in sources for n in range(1, m.count(".") + 1)}:
        init = root.joinpath(*pkg.split(".")) / "__init__.py"
        if not init.exists():
            init.write_text("")
            count += 1
    return count


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children: robust on a shared machine."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _time(fn: Callable[[], None], runs: int) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of `runs` calls."""
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), _cpu()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(_cpu() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--modules", type=int, default=1200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contract", choices=["protected", "forbidden"], default="protected")
    parser.add_argument(
        "--plan",
        type=Path,
        default=None,
        help="instead of a generated tree, the source main branch of this plan (e.g. Neutron at the Kilo split base); "
        "files that do not parse are dropped from the copy, since lint-imports cannot skip them",
    )
    args = parser.parse_args(argv)
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="spinout-bench-guard-") as tmp:
        base = Path(tmp)
        tree = base / "tree"
        if args.plan is not None:
            plan = args.plan.resolve()
            loaded = load_plan(plan)
            root = loaded.core.package.split(".")[0]
            export_tree(loaded.source_repo, loaded.source.main_ref, tree, [root])
            dropped = load_tree(tree, [root]).unparsable
            for u in dropped:
                (tree / u.path).unlink()
            n = len(python_files(tree, [root]))
            print(f"{args.plan}: dropped {len(dropped)} file(s) that do not parse")
        else:
            n = generate(tree, args.modules)
            plan = base / "plan.toml"
            plan.write_text(
                PLAN.format(services="".join(SERVICE.format(s=s) for s in SERVICES), contract=args.contract)
            )
        api.guard(plan, tree)
        result = api.guard_check(plan, tree)
        if args.plan is None:
            assert result.exit_code == 1 and len(result.violations) >= 1, "the planted violation must be found"
        code = result.exit_code

        def in_process() -> None:
            api.guard_check(plan, tree)

        def command() -> None:
            proc = subprocess.run(
                [str(bindir / "spinout"), "guard", "check", str(plan), "--repo", str(tree), "--quiet"],
                capture_output=True,
                check=False,
            )
            assert proc.returncode == code, proc.stderr

        def anchor() -> None:
            proc = subprocess.run(
                [str(bindir / "lint-imports"), "--no-cache", "--config", ".importlinter"],
                cwd=tree,
                capture_output=True,
                check=False,
            )
            assert proc.returncode == code, proc.stdout

        t_api = _time(in_process, args.runs)
        t_cli = _time(command, args.runs)
        t_lint = _time(anchor, args.runs)
    kind = "generated" if args.plan is None else str(args.plan)
    print(f"tree ({kind}): {n} modules ({result.modules} in the graph), {len(result.violations)} violations")
    print(f"contracts: {', '.join(c.type for c in result.boundary.contracts)}; {args.runs} runs, medians")
    print(f"spinout guard check (in process): {t_api[0]:.3f} s wall, {t_api[1]:.3f} s CPU")
    print(f"spinout guard check (command):    {t_cli[0]:.3f} s wall, {t_cli[1]:.3f} s CPU")
    print(f"lint-imports --no-cache (anchor): {t_lint[0]:.3f} s wall, {t_lint[1]:.3f} s CPU")
    print(
        f"ratio to the anchor, wall (CPU): in process {t_api[0] / t_lint[0]:.2f} ({t_api[1] / t_lint[1]:.2f}), "
        f"command {t_cli[0] / t_lint[0]:.2f} ({t_cli[1] / t_lint[1]:.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
