"""`earlier_names_veto` / `earlier_names_add` against the source repository: names are looked up in the history
of `source.refs` (every matching ref, tags too), and only there. The malformed cases are in the plan corpus
(tests/assets/plans/bad/earlier_names_*.toml)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.fixtures.repobuilder import RepoBuilder

from spinout import api
from spinout.errors import PlanError

PLAN = """
[source]
repo = "src"
refs = ["refs/heads/main", "refs/tags/*"]

[core]
name = "acme"
package = "acme"

[[service]]
name = "acme-lb"
package = "acme_lb"
paths = ["acme/lb/"]
follow_renames = true
earlier_names_veto = [{veto}]
earlier_names_add = {{ "acme/lb/pool.py" = [{add}] }}
"""


@pytest.fixture
def plan(tmp_path: Path, repo_builder: Callable[..., RepoBuilder]) -> Callable[[str, str], Path]:
    b = repo_builder("src")
    base = b.commit("old", {"quantum/lb/pool.py": "p\n", "quantum/lb/vip.py": "v\n", "README": "r\n"})
    b.branch("side", base)
    b.commit("side only", {"side/x.py": "x\n"}, branch="side")
    b.branch("tagged", base)
    b.tag("v1", b.commit("tagged only", {"tagged/y.py": "y\n"}, branch="tagged"))
    b.commit("rename", {"quantum/lb/pool.py": None, "quantum/lb/vip.py": None, "acme/lb/pool.py": "p2\n"})

    def write(veto: str, add: str) -> Path:
        path = tmp_path / "plan.toml"
        path.write_text(PLAN.format(veto=veto, add=add))
        return path

    return write


def test_names_from_the_history_of_source_refs_are_accepted(plan: Callable[[str, str], Path]) -> None:
    checked = api.check_plan(plan('"quantum/lb/vip.py", "tagged/y.py"', '"quantum/lb/pool.py"'))
    assert checked.plan.service[0].earlier_names_add == {"acme/lb/pool.py": ["quantum/lb/pool.py"]}


def test_a_name_only_on_a_branch_outside_source_refs_is_located(plan: Callable[[str, str], Path]) -> None:
    with pytest.raises(PlanError) as caught:
        api.check_plan(plan('"side/x.py"', '"quantum/lb/pool.py", "README"'))
    assert [(p.location, p.message) for p in caught.value.problems] == [
        (
            'service[0].earlier_names_add["acme/lb/pool.py"][1]',
            "'README' is a file at refs/heads/main: an earlier name is a path the file no longer has (keeping it "
            "would bring that other file into the service)",
        ),
        ("service[0].earlier_names_veto[0]", "'side/x.py' was never a file in the history of source.refs"),
    ]
