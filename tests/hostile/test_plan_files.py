"""The plan file itself (issue 17, §3 item 15, the plan's part): a FIFO as the plan hung, a symlink to /dev/zero
exhausted memory, deeply nested TOML exited 70. A plan is a regular file of at most 1 MiB, nested at most 32 levels;
anything else is a located plan problem (exit 2), reported at once. Each case runs the real command line in a child
process with a timeout, so that a hang fails the test instead of stopping the suite."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from spinout import api
from spinout.errors import PlanError
from tests.fixtures.snapshot import assert_unchanged, snapshot

MAX_PLAN_BYTES = 1 << 20  # the limits docs/plan.md states
MAX_DEPTH = 32


def _check(plan: Path, *extra: str, memory: int = 1 << 30) -> subprocess.CompletedProcess[str]:
    def limit() -> None:  # a run that tries to read /dev/zero whole dies here instead of taking the machine
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "spinout", "plan", "check", str(plan), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
        check=False,
    )


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.toml"
    os.mkfifo(fifo)
    before = snapshot(tmp_path)
    try:
        proc = _check(fifo)
    except subprocess.TimeoutExpired:
        pytest.fail("plan check waited on a FIFO")
    assert proc.returncode == 2, proc.stderr
    assert f"'{fifo}' is a FIFO (named pipe), not a plan file; a plan is a regular file" in proc.stderr
    assert_unchanged(tmp_path, before)


def test_a_link_to_dev_zero_is_refused_before_reading(tmp_path: Path) -> None:
    link = tmp_path / "plan.toml"
    link.symlink_to("/dev/zero")
    try:
        proc = _check(link, memory=512 << 20)
    except subprocess.TimeoutExpired:
        pytest.fail("plan check kept reading /dev/zero")
    assert proc.returncode == 2, proc.stderr
    assert "is a character device, not a plan file" in proc.stderr


def test_a_directory_is_refused(tmp_path: Path) -> None:
    proc = _check(tmp_path)  # the command line's own argument check
    assert proc.returncode == 2, proc.stderr
    assert "is a directory" in proc.stderr
    with pytest.raises(PlanError, match="is a directory, not a plan file"):  # the library's
        api.check_plan(tmp_path)


def test_a_plan_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text("# padding\n" * (MAX_PLAN_BYTES // 10 + 1))
    proc = _check(plan, "--json")
    assert proc.returncode == 2, proc.stderr
    problems = json.loads(proc.stdout)["problems"]
    assert problems == [
        {
            "location": "",
            "message": f"'{plan}' has {plan.stat().st_size} bytes; a plan may have at most {MAX_PLAN_BYTES} (1 MiB)",
        }
    ]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("a = " + "[" * 5000 + "]" * 5000, "line 1, column 37"),  # tomllib's recursion: exit 70 before
        ("a = " + "{b = " * 3000 + "1" + "}" * 3000, "line 1, column 165"),
        ("\n" + ".".join(["k"] * 200_000) + " = 1", "line 2, column 66"),  # quadratic in tomllib: minutes, GiBs
        ("[" + ".".join(["t"] * 200_000) + "]", "line 1, column 65"),
    ],
)
def test_deep_nesting_is_a_located_toml_problem(tmp_path: Path, body: str, where: str) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(body + "\n")
    proc = _check(plan)
    assert proc.returncode == 2, proc.stderr
    assert f"toml: nested deeper than {MAX_DEPTH} levels (arrays, tables and dotted keys) at {where}" in proc.stderr
