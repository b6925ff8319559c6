"""Benchmark: building the sample monorepo, against git re-importing the same history.

Anchor: `git fast-export --all | git fast-import` of the built repository into an empty one — what git alone needs
to write that history. The ratio is spinout's whole build (story, file rendering, fast-import, checkout, database,
config, plan) over that anchor.

    python -m benchmarks.bench_sample [COMMITS] [ROWS]      # default 50000 commits, 1000 rows
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spinout.sample import build_sample


def _cpu() -> float:
    """CPU seconds of this process and its finished children: steadier than wall time on a shared machine."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _reimport(source: Path, dest: Path) -> tuple[float, float]:
    subprocess.run(["git", "init", "-q", "--bare", str(dest)], check=True)
    started, cpu = time.monotonic(), _cpu()
    export = subprocess.Popen(["git", "-C", str(source), "fast-export", "--all"], stdout=subprocess.PIPE)
    imported = subprocess.run(["git", "-C", str(dest), "fast-import", "--quiet"], stdin=export.stdout, check=False)
    assert export.stdout is not None
    export.stdout.close()
    if export.wait() != 0 or imported.returncode != 0:
        raise SystemExit("git fast-export | git fast-import failed")
    return time.monotonic() - started, _cpu() - cpu


def main(argv: list[str]) -> None:
    commits = int(argv[0]) if argv else 50_000
    rows = int(argv[1]) if len(argv) > 1 else 1000
    with tempfile.TemporaryDirectory(prefix="bench-sample-") as tmp:
        started, cpu = time.monotonic(), _cpu()
        info = build_sample(Path(tmp) / "sample", commits=commits, rows=rows)
        ours, ours_cpu = time.monotonic() - started, _cpu() - cpu
        anchor, anchor_cpu = _reimport(info.repo, Path(tmp) / "anchor.git")
    print(
        f"sample: {info.history.commits} commits, {sum(info.table_rows.values())} rows: "
        f"{ours:.2f} s wall, {ours_cpu:.2f} s CPU"
    )
    print(f"anchor (git fast-export | git fast-import): {anchor:.2f} s wall, {anchor_cpu:.2f} s CPU")
    print(f"ratio: {ours / anchor:.2f} wall, {ours_cpu / anchor_cpu:.2f} CPU")


if __name__ == "__main__":
    main(sys.argv[1:])
