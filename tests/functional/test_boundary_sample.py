"""The boundary stage on the sample monorepo, against an independent oracle: a plain text scan of the core's imports."""

from __future__ import annotations

import re
import subprocess

import pytest

from spinout import api
from spinout.plan.load import load_plan
from spinout.sample import SampleInfo, build_sample

ALLOWED = "acme.agent.l3_agent"  # the plan's one allowed importer


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    return build_sample(tmp_path_factory.mktemp("sample") / "s", commits=60, rows=2)


def _oracle(info: SampleInfo) -> set[tuple[str, int]]:
    """(core module, line) of every import statement naming a moved package, by reading the files as text."""
    plan = load_plan(info.plan)
    moved_dirs = [p for s in plan.service for p in s.paths if p.endswith("/") and p not in s.shared]
    prefixes = tuple(d.rstrip("/").replace("/", ".") for d in moved_dirs if d.startswith("acme/"))
    files = subprocess.run(
        ["git", "-C", str(info.repo), "ls-tree", "-r", "--name-only", "refs/heads/main", "acme/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found: set[tuple[str, int]] = set()
    for path in files:
        if not path.endswith(".py") or any(path.startswith(d) for d in moved_dirs):
            continue
        text = subprocess.run(
            ["git", "-C", str(info.repo), "show", f"refs/heads/main:{path}"], capture_output=True, text=True, check=True
        ).stdout
        module = path[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        for n, line in enumerate(text.splitlines(), 1):
            m = re.match(r"\s*(?:from\s+(\S+)\s+import|import\s+(\S+))", line)
            name = m and (m.group(1) or m.group(2))
            if name and any(name == p or name.startswith(p + ".") for p in prefixes):
                found.add((module, n))
    return found


def test_guard_check_on_the_sample_matches_a_text_scan(sample: SampleInfo) -> None:
    result = api.guard_check(sample.plan)
    expected = _oracle(sample)
    assert any(importer == ALLOWED for importer, _ in expected)  # the allowed import is there, and passes
    expected = {(importer, line) for importer, line in expected if importer != ALLOWED}
    assert expected  # the sample does keep core → service imports
    assert {(v.importer, v.hops[0].lines[0]) for v in result.violations} == expected
    assert result.exit_code == 1
    # the sample carries a Python 2 file; it is reported and the check goes on
    assert result.unparsable and all(u.path.endswith(".py") for u in result.unparsable)
