"""Benchmark of the code stage's Python rewrite against its anchor, plain libcst parse + codegen, in the same run.

    python benchmarks/rewrite.py                      # a generated tree of 1,200 files (--files N)
    python benchmarks/rewrite.py --tree ~/neutron \
        --move neutron/services/loadbalancer/=neutron_lbaas/services/loadbalancer/

The rewrite runs exactly what `spinout rewrite` runs on a target's Python files (pre-filter, libcst transform, the
Python 2 fallback, the pyflakes post-check on changed files), in memory. The anchor parses and regenerates every
file with libcst. Target (issue 4): at least 1,000 files in at most 5 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import libcst as cst

from spinout.code.engine import TreeRewrite, rewrite_python_files
from spinout.code.transform import Renamer
from spinout.plan.modules import ModuleMap, path_to_module
from spinout.progress import NullProgress

BODY = '''

class Thing{n}(object):
    """A class with a few methods, so the file has a realistic size."""

    def __init__(self, ctx, **kwargs):
        self.ctx = ctx
        self.options = dict(kwargs)
        self.count = {n}

    def method_a(self, value):
        # comment {n}
        if value is None:
            return self.options.get("a", [])
        return [v * 2 for v in value if v]

    def method_b(self, items):
        total = 0
        for i, item in enumerate(items):
            total += i * len(str(item))
        return total

    def method_c(self):
        try:
            return os.path.join("etc", "acme", "thing{n}.conf")
        except (OSError, ValueError) as exc:
            raise RuntimeError("bad %s" % exc)
'''


def generate(files: int, seed: int = 7) -> tuple[dict[str, bytes], ModuleMap]:
    """A monorepo-like tree: acme/core/* stays, acme/services/lb/* moves; ~20% of core files reference it."""
    rng = random.Random(seed)
    tree: dict[str, bytes] = {}
    moved = max(files // 10, 1)
    moves: dict[str, tuple[str, str]] = {}
    for i in range(moved):
        path = f"acme/services/lb/mod_{i}.py"
        head = f'"""Moved module {i}."""\nimport os\nfrom acme.core import mod_{i % 50} as base\n'
        tree[path] = (head + BODY.format(n=i)).encode()
        mod = path_to_module(path)
        assert mod is not None
        moves[mod] = ("acme_lb" + mod[len("acme") :], "acme-lb")
    for i in range(files - moved):
        head = [f'"""Core module {i}."""', "import os", "import sys"]
        r = rng.random()
        j = rng.randrange(moved)
        if r < 0.05:
            head.append(f"from acme.services.lb import mod_{j}, other_{j}")
        elif r < 0.10:
            head.append(f"import acme.services.lb.mod_{j}\nX = acme.services.lb.mod_{j}.Thing{j}")
        elif r < 0.15:
            head.append(f"PATCH = 'acme.services.lb.mod_{j}.Thing{j}.method_a'")
        elif r < 0.20:
            head.append(f"from acme.services import lb\nY = lb.mod_{j}")
        tree[f"acme/core/mod_{i}.py"] = ("\n".join(head) + "\n" + BODY.format(n=i)).encode()
    return tree, ModuleMap(moves)


def from_checkout(root: Path, moves_spec: list[str]) -> tuple[dict[str, bytes], ModuleMap]:
    tree = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.py") if ".git" not in p.parts}
    moves: dict[str, tuple[str, str]] = {}
    for spec in moves_spec:
        old, _, new = spec.partition("=")
        for path in tree:
            if path.startswith(old):
                a, b = path_to_module(path), path_to_module(new + path[len(old) :])
                if a and b and a != b:
                    moves[a] = (b, "service")
    return tree, ModuleMap(moves)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1200, help="size of the generated tree")
    ap.add_argument("--tree", type=Path, help="rewrite a checkout instead (e.g. neutron)")
    ap.add_argument("--move", action="append", default=[], help="OLD_DIR/=NEW_DIR/ path renames (with --tree)")
    args = ap.parse_args(argv)
    if args.tree:
        tree, modules = from_checkout(args.tree, args.move)
    else:
        tree, modules = generate(args.files)
    n = sum(1 for p in tree if p.endswith(".py"))
    size = sum(len(v) for v in tree.values()) / 1e6

    # Wall time is what the target is about; CPU time (process_time) is printed too because this machine is shared
    # and wall time swings with the load of other processes.
    t0, c0 = time.perf_counter(), time.process_time()
    result = TreeRewrite("bench", "service")
    rewrite_python_files(tree, {}, Renamer(modules), result, NullProgress())
    t_rewrite, c_rewrite = time.perf_counter() - t0, time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    failed = 0
    for path, data in tree.items():
        if not path.endswith(".py"):
            continue
        try:
            regenerated = cst.parse_module(data).bytes
            assert regenerated == data  # libcst round-trips byte for byte
        except cst.ParserSyntaxError:
            failed += 1
    t_anchor, c_anchor = time.perf_counter() - t0, time.process_time() - c0

    print(f"tree: {n} Python files, {size:.1f} MB, {len(modules)} moved modules")
    print(
        f"spinout rewrite: {t_rewrite:.2f} s ({c_rewrite:.2f} s CPU), {n / t_rewrite:,.0f} files/s "
        f"({result.parsed} parsed after the pre-filter, {len(result.changes)} changed, "
        f"{len(result.rewrites)} rewrites, {len(result.fallback)} by the fallback, {len(result.findings)} findings)"
    )
    print(
        f"libcst parse+codegen of every file (anchor): {t_anchor:.2f} s ({c_anchor:.2f} s CPU), "
        f"{n / t_anchor:,.0f} files/s "
        f"({failed} unparseable)"
    )
    verdict = "met" if t_rewrite <= 5 else "MISSED"
    print(f"ratio: spinout is {t_anchor / t_rewrite:.1f}x the anchor's throughput")
    if n >= 1000:
        print(f"target (>= 1,000 files in <= 5 s wall): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
