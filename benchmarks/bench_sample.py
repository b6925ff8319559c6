"""Benchmark: building the sample monorepo, against git re-importing the same history.

Anchor: `git fast-export --all | git fast-import` of the built repository into an empty one — what git alone needs
to write that history. The ratio is spinout's whole build (story, file rendering, fast-import, checkout, database,
config, plan) over that anchor.

    python -m benchmarks.bench_sample [COMMITS] [ROWS]      # default 50000 commits, 1000 rows
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spinout.sample import build_sample


def _reimport(source: Path, dest: Path) -> float:
    subprocess.run(["git", "init", "-q", "--bare", str(dest)], check=True)
    started = time.monotonic()
    export = subprocess.Popen(["git", "-C", str(source), "fast-export", "--all"], stdout=subprocess.PIPE)
    imported = subprocess.run(["git", "-C", str(dest), "fast-import", "--quiet"], stdin=export.stdout, check=False)
    assert export.stdout is not None
    export.stdout.close()
    if export.wait() != 0 or imported.returncode != 0:
        raise SystemExit("git fast-export | git fast-import failed")
    return time.monotonic() - started


def main(argv: list[str]) -> None:
    commits = int(argv[0]) if argv else 50_000
    rows = int(argv[1]) if len(argv) > 1 else 1000
    with tempfile.TemporaryDirectory(prefix="bench-sample-") as tmp:
        started = time.monotonic()
        info = build_sample(Path(tmp) / "sample", commits=commits, rows=rows)
        ours = time.monotonic() - started
        anchor = _reimport(info.repo, Path(tmp) / "anchor.git")
    print(f"sample: {info.history.commits} commits, {sum(info.table_rows.values())} rows in {ours:.2f} s")
    print(f"anchor (git fast-export | git fast-import): {anchor:.2f} s")
    print(f"ratio: {ours / anchor:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
