"""`guard check`: violations of the boundary on a monorepo before the split and on the core after it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from importlinter import configuration
from importlinter.contracts.forbidden import ForbiddenContract
from tests.fixtures.repobuilder import RepoBuilder
from tests.unit.boundary import monorepo

from spinout import api
from spinout.boundary.contracts import build_boundary, check_boundary, renamed_by_plan
from spinout.boundary.results import GuardCheckResult
from spinout.boundary.tree import load_tree
from spinout.errors import PlanError, UnsafeSourceError
from spinout.plan.load import load_plan
from spinout.plan.modules import build_module_map

PLANTED = {"acme/services/provider_configuration.py": "PROVIDERS = []\n\nfrom acme.services.lb import plugin\n"}

CONTRACTS = ["protected", "forbidden"]


def _pairs(result: GuardCheckResult) -> set[tuple[str, str, tuple[int, ...]]]:
    return {(v.importer, v.imported, v.hops[0].lines) for v in result.violations if v.direct}


@pytest.mark.parametrize("contract", CONTRACTS)
def test_clean_monorepo_passes(tmp_path: Path, contract: str) -> None:
    plan, tree = monorepo.make(tmp_path, contract=contract)
    result = api.guard_check(plan, tree)
    assert result.violations == ()
    assert result.exit_code == 0
    assert result.modules == 15


@pytest.mark.parametrize("contract", CONTRACTS)
def test_planted_core_to_service_import_is_reported_with_its_line(tmp_path: Path, contract: str) -> None:
    plan, tree = monorepo.make(tmp_path, PLANTED, contract=contract)
    result = api.guard_check(plan, tree)
    assert result.exit_code == 1
    assert _pairs(result) == {("acme.services.provider_configuration", "acme.services.lb.plugin", (3,))}
    hop = next(v for v in result.violations if v.direct).hops[0]
    assert hop.contents == ("from acme.services.lb import plugin",)
    assert (
        "acme.services.provider_configuration:3 imports acme.services.lb.plugin  (from acme.services.lb import plugin)"
        in result.lines()
    )


@pytest.mark.parametrize("contract", CONTRACTS)
def test_package_init_and_root_init_are_checked(tmp_path: Path, contract: str) -> None:
    # acme/__init__.py and acme/services/__init__.py hold both core and service modules: the contract must still
    # see their own imports (a forbidden contract with the root as source would not)
    changes = {"acme/__init__.py": "import acme.services.fw\n", "acme/services/__init__.py": "\n\nfrom . import lb\n"}
    plan, tree = monorepo.make(tmp_path, changes, contract=contract)
    result = api.guard_check(plan, tree)
    assert _pairs(result) == {("acme", "acme.services.fw", (1,)), ("acme.services", "acme.services.lb", (3,))}


def test_allowed_import_passes_and_is_reported_without_the_entry(tmp_path: Path) -> None:
    plan, tree = monorepo.make(tmp_path)
    assert api.guard_check(plan, tree).exit_code == 0
    plan, tree = monorepo.make(tmp_path, allow="")
    result = api.guard_check(plan, tree)
    assert _pairs(result) == {("acme.agent.l3", "acme.services.fw.agents.l3_fw", (2,))}


def test_allow_entry_may_use_the_new_name(tmp_path: Path) -> None:
    plan, tree = monorepo.make(tmp_path, allow='"acme.agent.l3 -> acme_fw.agents"')
    result = api.guard_check(plan, tree)
    assert result.exit_code == 0
    assert result.boundary.ignore_imports == ("acme.agent.l3 -> acme.services.fw.agents.l3_fw",)


def test_allow_covers_only_its_pair(tmp_path: Path) -> None:
    # the L3 agent may import the firewall agent, not the load balancer
    changes = {"acme/agent/l3.py": "import os\nfrom acme.services.fw.agents import l3_fw\nimport acme.services.lb\n"}
    plan, tree = monorepo.make(tmp_path, changes)
    assert _pairs(api.guard_check(plan, tree)) == {("acme.agent.l3", "acme.services.lb", (3,))}


def test_stale_allow_entry_is_a_located_plan_error(tmp_path: Path) -> None:
    allow = f'{monorepo.L3_ALLOW}, "acme.agent.main -> acme.services.lb", "acme.nothere -> acme.services.fw"'
    plan, tree = monorepo.make(tmp_path, allow=allow)
    with pytest.raises(PlanError) as err:
        api.guard_check(plan, tree)
    assert [p.location for p in err.value.problems] == ["boundary.allow[1]", "boundary.allow[2]"]
    assert "matches no actual import" in err.value.problems[0].message
    assert "no module acme.nothere" in err.value.problems[1].message


def test_indirect_import_is_shown_hop_by_hop(tmp_path: Path) -> None:
    changes = {
        "acme/db/helpers.py": "import os\nfrom acme.services.lb import driver\n",
        "acme/agent/main.py": "from acme.agent import l3\nfrom acme.db import helpers\n",
    }
    plan, tree = monorepo.make(tmp_path, changes, contract="forbidden")
    result = api.guard_check(plan, tree)
    chains = [[(h.importer, h.imported, h.lines) for h in v.hops] for v in result.violations if not v.direct]
    assert chains == [
        [
            ("acme.agent.main", "acme.db.helpers", (2,)),
            ("acme.db.helpers", "acme.services.lb.driver", (2,)),
        ]
    ]
    assert _pairs(result) == {("acme.db.helpers", "acme.services.lb.driver", (2,))}
    text = result.lines()
    at = text.index("acme.agent.main:2 indirectly imports acme.services.lb.driver")
    assert text[at + 1].strip().startswith("acme.agent.main -> acme.db.helpers (l.2)")
    assert text[at + 2].strip().startswith("acme.db.helpers -> acme.services.lb.driver (l.2)")


def test_root_package_as_forbidden_source_passes_even_when_broken(tmp_path: Path) -> None:
    """Why spinout never generates `source_modules = acme`: import-linter skips a source that contains the
    forbidden module, so such a contract is kept although the core imports the service."""
    plan_path, tree_dir = monorepo.make(tmp_path, PLANTED, contract="forbidden")
    tree = load_tree(tree_dir, ["acme"])
    configuration.configure()
    naive = ForbiddenContract(
        name="naive",
        session_options={"root_packages": ["acme"]},
        contract_options={"source_modules": ["acme"], "forbidden_modules": ["acme.services.lb"]},
    )
    assert naive.check(tree.graph, verbose=False).kept  # the trap
    plan = load_plan(plan_path)
    boundary = build_boundary(plan, tree.graph, build_module_map(plan, tree.files))
    assert "acme" not in boundary.contracts[0].options["source_modules"]
    assert check_boundary(tree.graph, boundary)  # spinout's contract is broken, as it should be


def test_unparsable_files_are_reported_and_left_out(tmp_path: Path) -> None:
    changes = {**PLANTED, "acme/legacy.py": "import os\nprint 'hello'\n", "acme/db/old.py": "exec 'x = 1'\n"}
    plan, tree = monorepo.make(tmp_path, changes)
    result = api.guard_check(plan, tree)
    assert [(u.path, u.line) for u in result.unparsable] == [("acme/db/old.py", 1), ("acme/legacy.py", 2)]
    assert _pairs(result) == {("acme.services.provider_configuration", "acme.services.lb.plugin", (3,))}
    assert any("do not parse" in line for line in result.lines())


def _commit_monorepo(builder: RepoBuilder, changes: dict[str, str]) -> None:
    builder.commit("initial", dict(monorepo.FILES))
    builder.commit("plant", changes)


def test_before_the_split_checks_the_source_main_branch(
    tmp_path: Path, repo_builder: Callable[..., RepoBuilder]
) -> None:
    _commit_monorepo(repo_builder("source"), PLANTED)
    plan, _ = monorepo.make(tmp_path)
    result = api.guard_check(plan)
    assert "before the split" in result.tree
    assert _pairs(result) == {("acme.services.provider_configuration", "acme.services.lb.plugin", (3,))}


@pytest.mark.parametrize("contract", CONTRACTS)
def test_after_the_split_checks_the_core_target(
    tmp_path: Path, repo_builder: Callable[..., RepoBuilder], contract: str
) -> None:
    _commit_monorepo(repo_builder("source"), {})
    plan, _ = monorepo.make(tmp_path, contract=contract)
    # the core after the split: service files gone, one compat shim left at an old path
    core = {k: v for k, v in monorepo.FILES.items() if not k.startswith(("acme/services/lb/", "acme/services/fw/"))}
    core["acme/services/lb/__init__.py"] = ""
    core["acme/services/lb/plugin.py"] = "from acme_lb.services.lb.plugin import *  # noqa\n"
    core["acme/agent/l3.py"] = "import os\nfrom acme_fw.agents import l3_fw\n"
    core["acme/db/models.py"] = monorepo.FILES["acme/db/models.py"] + "import acme_lb.db\n"
    monorepo.write_tree(tmp_path / "spinout-out" / "acme", core)
    result = api.guard_check(plan)
    assert "after the split" in result.tree
    # the allowed L3 import (written with the old name in the plan) passes; the shim is not a violation
    assert _pairs(result) == {("acme.db.models", "acme_lb", (4,))}


def test_guard_refuses_to_write_into_the_source_repository(
    tmp_path: Path, repo_builder: Callable[..., RepoBuilder]
) -> None:
    _commit_monorepo(repo_builder("source"), {})
    plan, _ = monorepo.make(tmp_path)
    with pytest.raises(UnsafeSourceError):
        api.guard(plan, tmp_path / "source")
    with pytest.raises(UnsafeSourceError):
        api.guard(plan)  # no split target yet


def test_a_bare_core_target_is_read_at_its_head(tmp_path: Path, repo_builder: Callable[..., RepoBuilder]) -> None:
    _commit_monorepo(repo_builder("source"), {})
    plan, _ = monorepo.make(tmp_path, allow="")
    core = RepoBuilder(tmp_path / "spinout-out" / "acme", bare=True)
    core.commit("core", {"acme/__init__.py": "", "acme/agent/__init__.py": "", "acme/agent/x.py": "\nimport acme_fw\n"})
    result = api.guard_check(plan)
    assert "at HEAD" in result.tree
    assert _pairs(result) == {("acme.agent.x", "acme_fw", (2,))}


def test_many_unparsable_files_cost_a_bounded_number_of_graph_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spinout.boundary import tree as tree_module

    builds: list[Path] = []
    real = tree_module._build

    def counting(root: Path, packages: Sequence[str], include_external: bool) -> object:
        builds.append(root)
        return real(root, packages, include_external)

    monkeypatch.setattr(tree_module, "_build", counting)
    legacy = {f"acme/legacy/m{i}.py": "print 'py2'\n" for i in range(12)}
    plan, tree = monorepo.make(tmp_path, {**PLANTED, "acme/legacy/__init__.py": "", **legacy})
    result = api.guard_check(plan, tree)
    assert sorted(u.path for u in result.unparsable) == sorted(legacy)
    assert _pairs(result) == {("acme.services.provider_configuration", "acme.services.lb.plugin", (3,))}
    assert len(builds) <= 4  # the first build, two retries, then one after parsing every file


def test_after_the_split_without_the_monorepo_at_hand(tmp_path: Path) -> None:
    # the core's CI: no source repository, no shims; the allow entry (old name) still finds its import by the
    # plan's renames
    plan, _ = monorepo.make(tmp_path)
    core = {k: v for k, v in monorepo.FILES.items() if not k.startswith(("acme/services/lb/", "acme/services/fw/"))}
    core["acme/agent/l3.py"] = "import os\nfrom acme_fw.agents import l3_fw\n"
    tree = monorepo.write_tree(tmp_path / "core", core)
    assert api.guard_check(plan, tree).exit_code == 0
    monorepo.write_tree(tree, {"acme/agent/main.py": "from acme.agent import l3\nimport acme_lb.services.lb.plugin\n"})
    assert _pairs(api.guard_check(plan, tree)) == {("acme.agent.main", "acme_lb", (2,))}


def test_renamed_by_plan(tmp_path: Path) -> None:
    plan = load_plan(monorepo.make(tmp_path)[0])
    assert renamed_by_plan(plan, "acme.services.fw.agents") == {"acme_fw.agents"}
    assert renamed_by_plan(plan, "acme.services.lb.plugin") == {"acme_lb.services.lb.plugin"}
    assert renamed_by_plan(plan, "acme.services") == set()  # shared, stays
    assert renamed_by_plan(plan, "acme.db") == set()
