"""The boundary commands through the command line: exit codes and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.boundary import monorepo

from spinout.cli import main

PLANTED = {"acme/services/provider_configuration.py": "PROVIDERS = []\n\nfrom acme.services.lb import plugin\n"}


def test_guard_check_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan, tree = monorepo.make(tmp_path)
    assert main(["guard", "check", str(plan), "--repo", str(tree), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["violations"] == []
    monorepo.write_tree(tree, PLANTED)
    assert main(["guard", "check", str(plan), "--repo", str(tree), "--json"]) == 1
    (violation,) = json.loads(capsys.readouterr().out)["violations"]
    assert (violation["importer"], violation["imported"], violation["line"], violation["direct"]) == (
        "acme.services.provider_configuration",
        "acme.services.lb.plugin",
        3,
        True,
    )


def test_guard_writes_and_stale_allow_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan, tree = monorepo.make(tmp_path)
    assert main(["guard", str(plan), "--repo", str(tree), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"] == str(tree / ".importlinter")
    assert (tree / ".importlinter").is_file()
    plan, tree = monorepo.make(tmp_path, allow='"acme.db -> acme.services.lb"')
    assert main(["guard", "check", str(plan), "--repo", str(tree), "--json"]) == 2
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [p["location"] for p in problems] == ["boundary.allow[0]"]


def test_coupling_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan, tree = monorepo.make(tmp_path)
    assert main(["coupling", str(plan), "--repo", str(tree), "--json"]) == 0
    services = json.loads(capsys.readouterr().out)["services"]
    assert [s["service"] for s in services] == ["acme-lb", "acme-fw"]
    assert services[0]["core_modules"][0]["module"] == "acme.db.api"
