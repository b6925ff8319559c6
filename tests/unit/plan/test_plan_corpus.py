"""The malformed-plan corpus: every plan under tests/assets/plans/bad/ is rejected through the CLI with exit code 2,
exactly the located problems its `.expected` file lists, and no traceback.

Each bad plan is a mutation of tests/assets/plans/good/base.toml. It is copied next to a small repository built
here (`source/`) and a directory that is not a repository (`notgit/`); `@TMP@` in an expected message stands for
that directory.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.fixtures.repobuilder import RepoBuilder
from tests.fixtures.snapshot import assert_unchanged, snapshot

from spinout.cli import main

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "plans"
BAD = sorted(p.stem for p in (ASSETS / "bad").glob("*.toml"))


def build_source(builder: RepoBuilder) -> None:
    """The repository the corpus plans point at."""
    first = builder.commit(
        "Initial commit",
        {
            "tox.ini": "[tox]\n",
            "setup.cfg": "[metadata]\nname = acme\n",
            "etc/acme.conf": "[service_providers]\nservice_provider = LOADBALANCER:haproxy:x.y.Z:default\n",
            "etc/lb_agent.ini": "[DEFAULT]\n",
            "acme/__init__.py": "",
            "acme/agent/__init__.py": "",
            "acme/agent/l3_agent.py": "from acme.services.fw import agents\n",
            "acme/services/__init__.py": "",
            "acme/services/lb/__init__.py": "",
            "acme/services/lb/plugin.py": "from acme.db.lb import models\n",
            "acme/services/fw/__init__.py": "",
            "acme/services/fw/agents/__init__.py": "",
            "acme/db/__init__.py": "",
            "acme/db/lb/__init__.py": "",
            "acme/db/lb/models.py": "TABLES = ['pools', 'vips']\n",
        },
    )
    builder.tag("v1", first, message="release 1\n")
    builder.branch("feature/lb-v2", first)
    builder.commit("LBaaS v2", {"acme/services/lb/v2.py": "V2 = True\n"}, branch="feature/lb-v2")
    builder.commit("Fix the plugin", {"acme/services/lb/plugin.py": "from acme.db.lb import models  # fixed\n"})


@pytest.fixture
def workdir(tmp_path: Path, repo_builder: Callable[..., RepoBuilder]) -> Path:
    build_source(repo_builder("source"))
    (tmp_path / "source" / "acme").mkdir()  # RepoBuilder checks nothing out; a plain subdirectory will do
    (tmp_path / "notgit").mkdir()
    (tmp_path / "notgit" / "README").write_text("not a repository\n")
    return tmp_path


def _problem_lines(stderr: str) -> tuple[int, list[str]]:
    """The count announced in the error header and the located problem lines below it."""
    head = re.search(r"error: (\d+) problems? in ", stderr)
    assert head is not None, stderr
    lines = [line[2:] for line in stderr.splitlines() if line.startswith("  ") and not line.startswith("  hint:")]
    return int(head.group(1)), lines


def test_base_plan_is_valid(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(ASSETS / "good" / "base.toml", workdir / "plan.toml")
    assert main(["plan", "check", str(workdir / "plan.toml")]) == 0
    assert "is valid" in capsys.readouterr().out


def test_corpus_is_large_enough() -> None:
    assert len(BAD) >= 30
    assert all((ASSETS / "bad" / f"{name}.expected").is_file() for name in BAD)


@pytest.mark.parametrize("name", BAD)
def test_bad_plan(name: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = workdir / "plan.toml"
    plan.write_bytes((ASSETS / "bad" / f"{name}.toml").read_bytes())
    expected = (ASSETS / "bad" / f"{name}.expected").read_text().splitlines()
    before = snapshot(workdir)

    code = main(["plan", "check", str(plan)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "Traceback" not in captured.err + captured.out
    count, lines = _problem_lines(captured.err.replace(str(workdir), "@TMP@"))
    assert lines == expected
    assert count == len(expected)
    assert captured.out == ""  # nothing but the error, and nothing written
    assert_unchanged(workdir, before)


def test_json_output_of_a_failing_check(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = workdir / "plan.toml"
    shutil.copy(ASSETS / "bad" / "duplicate_service.toml", plan)
    assert main(["plan", "check", "--json", str(plan)]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["error"] == "PlanError"
    assert data["problems"] == [
        {"location": "service[1].name", "message": "name 'acme-lb' is already used by service[0].name"},
        {"location": "service[1].package", "message": "package 'acme_lb' is already used by service[0].package"},
    ]


def test_debug_shows_the_traceback(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = workdir / "plan.toml"
    shutil.copy(ASSETS / "bad" / "path_matches_nothing.toml", plan)
    assert main(["plan", "check", "--debug", str(plan)]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "spinout.errors.PlanError" in err
    assert "service[0].paths[1]: 'acme/db/lbx/' matches nothing at refs/heads/main" in err


def test_missing_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "check", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert f"plan file '{tmp_path / 'nope.toml'}' does not exist" in err
    assert "Traceback" not in err
