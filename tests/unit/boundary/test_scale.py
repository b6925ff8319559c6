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
    # each violation is a line "- importer -> imported (l.N)", continued by indented hops for a chain. Among chains
    # of equal length grimp picks one arbitrarily (it differs between runs), so a chain is compared by its source
    # package (first two parts of its first importer), its end and its length.
    theirs: list[tuple[str, str, int]] = []
    for line in proc.stdout.splitlines():
        hop = re.match(r"^(-?)\s+(\S+) -> (\S+) \(l\.[\d, ]+\)", line)
        if hop is None:
            continue
        if hop.group(1):
            theirs.append((".".join(hop.group(2).split(".")[:2]), hop.group(3), 1))
        elif theirs:
            source, _, length = theirs[-1]
            theirs[-1] = (source, hop.group(3), length + 1)
    mine = [(".".join(v.importer.split(".")[:2]), v.imported, len(v.hops)) for v in ours.violations]
    assert sorted(mine) == sorted(theirs)
    if contract == "forbidden":
        assert any(length > 1 for _, _, length in theirs)  # indirect chains were compared too
    planted = [v for v in ours.violations if v.direct]
    assert len(planted) == 1 and planted[0].imported.startswith("acme.services.lb")
