"""`spinout guard`: the contract written into the core's configuration, losslessly, and judged by lint-imports."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from configupdater import ConfigUpdater
from tests.unit.boundary import monorepo

from spinout import api
from spinout.errors import SpinoutError, UnsafeSourceError

LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
PLANTED = {"acme/services/provider_configuration.py": "PROVIDERS = []\n\nfrom acme.services.lb import plugin\n"}


def lint_imports(tree: Path, config: str) -> tuple[int, set[tuple[str, str, str]]]:
    """Run the trusted peer on the written configuration: (exit code, {(importer, imported, lines)})."""
    proc = subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", config], cwd=tree, capture_output=True, text=True, check=False
    )
    # lines such as "- acme.x -> acme.y (l.3)" (protected) or "-   acme.x -> acme.y (l.3)" (forbidden)
    found = set(re.findall(r"^-\s+(\S+) -> (\S+) \((l\.[\d, ]+)\)", proc.stdout, flags=re.M))
    return proc.returncode, found


@pytest.mark.parametrize("contract", ["protected", "forbidden"])
@pytest.mark.parametrize("config", [".importlinter", "pyproject.toml", "setup.cfg"])
def test_lint_imports_agrees_with_guard_check(tmp_path: Path, contract: str, config: str) -> None:
    extra = f'config = "{config}"\n'
    plan, tree = monorepo.make(tmp_path, contract=contract, extra_plan=extra)
    result = api.guard(plan, tree)
    assert result.config == tree / config
    code, found = lint_imports(tree, config)
    assert (code, found) == (0, set())
    assert api.guard_check(plan, tree).exit_code == 0

    monorepo.write_tree(tree, PLANTED)
    code, found = lint_imports(tree, config)
    assert code == 1
    assert found == {("acme.services.provider_configuration", "acme.services.lb.plugin", "l.3")}
    ours = api.guard_check(plan, tree)
    assert {(v.importer, v.imported, f"l.{v.hops[0].lines[0]}") for v in ours.violations} == found


def test_allow_entries_become_exact_ignore_imports(tmp_path: Path) -> None:
    plan, tree = monorepo.make(tmp_path)
    api.guard(plan, tree)
    updater = ConfigUpdater()
    updater.read_string((tree / ".importlinter").read_text())
    section = updater["importlinter:contract:spinout-boundary"]
    assert (section["ignore_imports"].value or "").split("\n") == ["", "acme.agent.l3 -> acme.services.fw.agents.l3_fw"]
    assert (section["protected_modules"].value or "").split() == ["acme.services.fw", "acme.services.lb"]


PYPROJECT = """\
# the core's own project file; spinout must not touch a byte of this
[project]
name = "acme"   # trailing comment
dependencies = [
    "oslo.config",
]

[tool.ruff]
line-length = 99
"""


def test_pyproject_is_appended_to_and_rerunning_changes_nothing(tmp_path: Path) -> None:
    plan, tree = monorepo.make(tmp_path)
    (tree / "pyproject.toml").write_text(PYPROJECT)
    first = api.guard(plan, tree)
    assert (first.config.name, first.created, first.changed) == ("pyproject.toml", False, True)
    text = (tree / "pyproject.toml").read_text()
    assert text.startswith(PYPROJECT + "\n[tool.importlinter]\n")
    doc = tomllib.loads(text)
    assert doc["tool"]["ruff"] == {"line-length": 99}
    assert doc["tool"]["importlinter"]["root_packages"] == ["acme"]
    assert doc["tool"]["importlinter"]["include_external_packages"] is True
    ids = [c["id"] for c in doc["tool"]["importlinter"]["contracts"]]
    assert ids == ["spinout-boundary", "spinout-boundary-packages", "spinout-boundary-inits"]
    again = api.guard(plan, tree)
    assert not again.changed
    assert (tree / "pyproject.toml").read_text() == text


def test_existing_pyproject_contracts_are_kept_and_ours_replaced_in_place(tmp_path: Path) -> None:
    plan, tree = monorepo.make(tmp_path)
    before = """\
[tool.importlinter]
root_packages = ["acme"]

[[tool.importlinter.contracts]]
id = "spinout-boundary"
name = "stale"
type = "forbidden"
source_modules = ["acme.agent"]
forbidden_modules = ["acme.gone"]

# the user's own contract
[[tool.importlinter.contracts]]
id = "layers"
name = "layers"
type = "layers"
layers = ["acme.agent", "acme.db"]

[tool.black]
x = 1
"""
    (tree / "pyproject.toml").write_text(before)
    api.guard(plan, tree)
    text = (tree / "pyproject.toml").read_text()
    head, _, rest = text.partition("\n# the user's own contract\n")
    assert head.startswith('[tool.importlinter]\ninclude_external_packages = true\nroot_packages = ["acme"]\n\n')
    assert "stale" not in text
    assert rest == before.partition("\n# the user's own contract\n")[2]
    contracts = tomllib.loads(text)["tool"]["importlinter"]["contracts"]
    assert [c["id"] for c in contracts] == [
        "spinout-boundary",
        "spinout-boundary-packages",
        "spinout-boundary-inits",
        "layers",
    ]
    code, _ = lint_imports(tree, "pyproject.toml")
    assert code == 0


SETUP_CFG = """\
[metadata]
name = acme

[importlinter]
root_packages =
    acme

; spinout's old contract, replaced
[importlinter:contract:spinout-boundary-old]
name = old
type = forbidden
source_modules = acme.agent
forbidden_modules = acme.services.lb

[flake8]
max-line-length = 99
"""


def test_setup_cfg_in_use_is_chosen_and_edited_losslessly(tmp_path: Path) -> None:
    plan, tree = monorepo.make(tmp_path)
    (tree / "setup.cfg").write_text(SETUP_CFG)
    (tree / "pyproject.toml").write_text(PYPROJECT)
    result = api.guard(plan, tree)
    assert result.config == tree / "setup.cfg"
    assert (tree / "pyproject.toml").read_text() == PYPROJECT
    text = (tree / "setup.cfg").read_text()
    assert text.startswith(
        "[metadata]\nname = acme\n\n[importlinter]\ninclude_external_packages = True\nroot_packages =\n    acme\n\n"
        "; spinout's old contract, replaced\n[importlinter:contract:spinout-boundary]\n"
    )
    assert "spinout-boundary-old" not in text
    assert text.endswith("\n\n[flake8]\nmax-line-length = 99\n")
    assert api.guard(plan, tree).changed is False
    assert lint_imports(tree, "setup.cfg")[0] == 0


def test_core_config_for_another_package_is_refused(tmp_path: Path) -> None:
    plan, tree = monorepo.make(tmp_path)
    original = "[importlinter]\nroot_package = other\n"
    (tree / ".importlinter").write_text(original)
    with pytest.raises(UnsafeSourceError, match="not acme"):
        api.guard(plan, tree)
    assert (tree / ".importlinter").read_text() == original


def test_a_pyproject_spinout_cannot_edit_safely_is_left_untouched(tmp_path: Path) -> None:
    plan, tree = monorepo.make(tmp_path)
    # an inline table cannot be extended by [[tool.importlinter.contracts]]: refuse rather than break the file
    original = '[tool]\nimportlinter = { root_packages = ["acme"], include_external_packages = true }\n'
    (tree / "pyproject.toml").write_text(original)
    with pytest.raises(SpinoutError):
        api.guard(plan, tree)
    assert (tree / "pyproject.toml").read_text() == original
