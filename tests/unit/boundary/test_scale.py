"""At scale (the benchmark's generated tree): spinout's check finds what lint-imports finds on the written contract.

Heavy: the default size is small for CI; SPINOUT_HEAVY_MODULES scales it up (e.g. 5000).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.guard import PLAN, SERVICE, SERVICES, generate

from spinout import api

MODULES = int(os.environ.get("SPINOUT_HEAVY_MODULES", "300"))


@pytest.mark.heavy
@pytest.mark.parametrize("contract", ["protected", "forbidden"])
def test_generated_tree_agrees_with_lint_imports(tmp_path: Path, contract: str) -> None:
    tree = tmp_path / "tree"
    generate(tree, MODULES)
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.format(services="".join(SERVICE.format(s=s) for s in SERVICES), contract=contract))
    api.guard(plan, tree)
    ours = api.guard_check(plan, tree)
    assert ours.exit_code == 1
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # each violation (a direct import, or the first hop of a chain) starts a line with "-"
    theirs = re.findall(r"^-\s+(\S+) -> (\S+) \(l\.(\d+)\)", proc.stdout, flags=re.M)
    mine = [(v.hops[0].importer, v.hops[0].imported, str(v.hops[0].lines[0])) for v in ours.violations]
    assert sorted(mine) == sorted(theirs)
    planted = [v for v in ours.violations if v.direct]
    assert len(planted) == 1 and planted[0].imported.startswith("acme.services.lb")
