"""The coupling report against counts worked out by hand from the fixture monorepo (tests/unit/boundary/monorepo.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fixtures.repobuilder import RepoBuilder
from tests.unit.boundary import monorepo

from spinout import api
from spinout.boundary.coupling import is_private, references

CHANGES = {
    "acme/tests/__init__.py": "",
    "acme/tests/base.py": "class Base:\n    pass\n",
    "acme/services/lb/driver.py": (
        "from acme.db.api import get_x\nfrom acme.services.lb import plugin\nfrom acme.tests.base import Base\n"
    ),
}


def _row(module: str, users: int, imports: int, private: bool, only: bool, *names: Any) -> dict[str, Any]:
    return {
        "module": module,
        "users": users,
        "imports": imports,
        "private": private,
        "only_services": only,
        "names": [{"name": n, "users": u, "private": p, "only_services": o} for n, u, p, o in names],
    }


def test_coupling_counts_match_the_hand_built_fixture(tmp_path: Path) -> None:
    plan, tree = monorepo.make(tmp_path, CHANGES)
    report = api.coupling(plan, tree).to_json()["services"]
    # acme-lb: plugin.py uses api (l.1, module) and get_x (l.2, and api.get_x), _private via api._private, and
    # provider_configuration through an alias; driver.py imports get_x and the tests package's Base.
    # acme.db.api is also imported by acme.db.models (core), but only for used_by_core.
    assert report[0] == {
        "service": "acme-lb",
        "core_modules": [
            _row("acme.db.api", 2, 3, False, False, ("get_x", 2, False, True), ("_private", 1, True, True)),
            _row("acme.services.provider_configuration", 1, 1, False, True, ("PROVIDERS", 1, False, True)),
            _row("acme.tests.base", 1, 1, True, True, ("Base", 1, True, True)),
        ],
    }
    # acme-fw: l3_fw.py does `import acme.db.models` and reads acme.db.models.VALUE
    assert report[1] == {
        "service": "acme-fw",
        "core_modules": [_row("acme.db.models", 1, 1, False, True, ("VALUE", 1, False, True))],
    }


def test_a_name_the_core_uses_too_is_not_services_only(tmp_path: Path) -> None:
    changes = {**CHANGES, "acme/db/models.py": "from acme.db import api\n\nVALUE = api.used_by_core() + api.get_x()\n"}
    plan, tree = monorepo.make(tmp_path, changes)
    rows = api.coupling(plan, tree).to_json()["services"][0]["core_modules"]
    names = {n["name"]: n["only_services"] for n in rows[0]["names"]}
    assert names == {"get_x": False, "_private": True}


def test_markdown_and_svg(tmp_path: Path) -> None:
    plan, tree = monorepo.make(tmp_path, CHANGES)
    picture = tmp_path / "coupling.svg"
    result = api.coupling(plan, tree, picture)
    lines = result.lines()
    assert "## acme-lb: 3 core modules, 4 names" in lines
    assert "| `acme.db.api` | 2 | 3 | `get_x` (2) [services only], `_private` (1) [private] [services only] |" in lines
    assert "Private by convention (3): acme.db.api._private, acme.tests.base, acme.tests.base.Base" in lines
    svg = ET.parse(picture).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert len(svg.findall(f"{ns}line")) == 4  # lb → 3 core modules, fw → 1
    texts = {t.text for t in svg.findall(f"{ns}text")}
    assert {"acme-lb", "acme-fw", "acme.db.api (2)"} <= texts


def test_unparsable_service_file_is_reported_not_fatal(tmp_path: Path) -> None:
    changes = {**CHANGES, "acme/services/lb/old.py": "print 'py2'\n"}
    plan, tree = monorepo.make(tmp_path, changes)
    result = api.coupling(plan, tree)
    assert [u.path for u in result.unparsable] == ["acme/services/lb/old.py"]
    assert result.to_json()["services"][0]["core_modules"][0]["module"] == "acme.db.api"


def test_references_resolve_relative_imports_aliases_and_chains() -> None:
    source = (
        "from ..lb import plugin\n"
        "from ... import db\n"
        "import acme.db.api as dbapi\n"
        "import acme.common\n"
        "x = dbapi.get_x().attr\n"
        "y = acme.common.utils.helper\n"
        "from acme import context\n"
        "def f(context, n=dbapi.DEFAULT):\n"
        "    return context.session, dbapi.get_y()\n"
        "g = lambda: context.get_admin_context()\n"
    )
    refs = references(source, "acme.services.lb.driver", is_package=False)
    assert refs == {
        "acme.services.lb.plugin",
        "acme.db",
        "acme.db.api",
        "acme.db.api.get_x",
        "acme.common",
        "acme.common.utils.helper",
        "acme.context",  # the import; `context.session` in f is its parameter, not the module
        "acme.db.api.DEFAULT",
        "acme.db.api.get_y",
        "acme.context.get_admin_context",
    }


def test_private_by_convention() -> None:
    assert is_private("acme.db._impl")
    assert is_private("acme.db.api._helper")
    assert is_private("acme.tests.unit.base")
    assert not is_private("acme.db.api.get_x")
    assert not is_private("acme.db.__init__")


def test_coupling_reads_the_monorepo_even_after_the_split(
    tmp_path: Path, repo_builder: Callable[..., RepoBuilder]
) -> None:
    repo_builder("source").commit("initial", {**monorepo.FILES, **CHANGES})
    plan, _ = monorepo.make(tmp_path)
    monorepo.write_tree(tmp_path / "spinout-out" / "acme", {"acme/__init__.py": ""})  # the core, split off
    result = api.coupling(plan)
    assert "before the split" in result.tree
    assert [row["module"] for row in result.to_json()["services"][0]["core_modules"]] == [
        "acme.db.api",
        "acme.services.provider_configuration",
        "acme.tests.base",
    ]
