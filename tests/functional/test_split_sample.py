"""The sample monorepo split, each target against git filter-repo with the equivalent options."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from spinout.history.commitmap import read_map
from spinout.history.router import Rules, core_rules, service_rules
from spinout.history.split import TargetSpec, split
from spinout.plan.load import load_plan
from spinout.progress import NullProgress
from spinout.sample import build_sample
from tests.unit.history.oracle import filter_repo, git_refs

ALL = ("refs/heads/*", "refs/tags/*")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("sample") / "s"
    return build_sample(dest, commits=300, rows=20).plan


def test_sample_targets_equal_filter_repo(sample: Path, tmp_path: Path) -> None:
    plan = load_plan(sample)
    source = pygit2.Repository(str(plan.source_repo))
    cases: list[tuple[Rules, list[str], dict[str, str], list[str]]] = []
    for service in plan.service:
        cases.append((service_rules(service), list(service.paths), dict(service.rename), []))
    core = core_rules(plan)
    cases.append((core, list(core.paths), {}, ["--invert-paths"]))
    # every target in one walk, as `spinout split` does, over every branch and tag (filter-repo takes them all)
    specs = [TargetSpec(r.name, tmp_path / "out" / r.name, r, ALL, "refs/heads/main", bare=True) for r, *_ in cases]
    split(source, specs, force=False, progress=NullProgress())
    for rules, paths, renames, extra in cases:
        expected_map, expected_refs = filter_repo(
            plan.source_repo, tmp_path / f"fr-{rules.name}", paths, renames, extra
        )
        target = tmp_path / "out" / rules.name
        got = read_map(target / "spinout" / "commit-map")
        assert got == expected_map, rules.name
        assert git_refs(target) == expected_refs, rules.name
        assert 0 < sum(new != "0" * 40 for new in got.values()) < len(got)  # kept some, pruned some
