"""A generated monorepo-sized tree (benchmarks/rewrite.py's generator): every reference goes, nothing breaks.

`SPINOUT_HEAVY_FILES` scales it (default 300 files; the benchmark uses 1,200 and more).
"""

from __future__ import annotations

import os

import pytest
from benchmarks.rewrite import generate

from spinout.code.engine import TreeRewrite, rewrite_python_files
from spinout.code.transform import Renamer
from spinout.progress import Advanced, Finished, RecordingProgress, Started


@pytest.mark.heavy
def test_generated_tree_leaves_no_moved_name_behind() -> None:
    files = int(os.environ.get("SPINOUT_HEAVY_FILES", "300"))
    tree, modules = generate(files)
    renamer = Renamer(modules)
    result = TreeRewrite("bench", "service")
    progress = RecordingProgress()
    rewrite_python_files(tree, {}, renamer, result, progress)
    assert result.findings == [] and result.fallback == []
    assert [e.total for e in progress.of(Started)] == [files]
    advances = progress.of(Advanced)
    assert advances[-1].completed == files and dict(advances[-1].counters)["parsed"] == result.parsed
    assert len(progress.of(Finished)) == 1
    after = {p: result.changes.get(p, data) for p, data in tree.items()}
    for path, data in after.items():
        assert data is not None
        compile(data, path, "exec")
        # No full moved name is left, and nothing imports a moved module through its old parent.
        assert not renamer.wants(data, moved_file=False), path
    # The generator plants a reference in a fifth of the core files: each of them changed.
    planted = [p for p, d in tree.items() if b"acme.services" in d and p.startswith("acme/core/")]
    assert planted and all(p in result.changes for p in planted)
