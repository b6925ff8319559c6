"""`--json` output on every way a command can end (issue 17, §3 item 19): before the fix, an internal error left
stdout empty, so a caller parsing it got nothing to parse. Now stdout always holds exactly one JSON object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spinout import api
from spinout.cli import INTERNAL_ERROR, main
from spinout.errors import (
    DataMismatch,
    PlanError,
    Problem,
    SpinoutError,
    ToolError,
    UnsafeSourceError,
    VerificationFailed,
)
from spinout.sample import build_sample


def _json_run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_an_internal_error_prints_a_json_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise KeyError("postgresql://admin:s3cret@db/acme")  # a bug whose text quotes a secret

    monkeypatch.setattr(api, "check_plan", broken)
    code, data, err = _json_run(["plan", "check", "plan.toml", "--json"], capsys)
    assert code == INTERNAL_ERROR
    assert data == {
        "ok": False,
        "error": "InternalError",
        "message": "spinout hit a bug (KeyError); run again with --debug for the traceback and report it",
    }
    assert "internal error:" in err
    assert "s3cret" not in json.dumps(data) + err


@pytest.mark.parametrize(
    "error",
    [
        PlanError([Problem("core.name", "bad"), Problem("", "worse")], source="p.toml"),
        UnsafeSourceError("the source is shallow", hint="fetch it"),
        ToolError("git failed"),
        DataMismatch("3 rows differ"),
        VerificationFailed("tree differs"),
        SpinoutError("generic"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_spinout_error_prints_its_json(
    error: SpinoutError, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(*_a: object, **_k: object) -> None:
        raise error

    monkeypatch.setattr(api, "check_plan", failing)
    code, data, _ = _json_run(["--json", "plan", "check", "plan.toml"], capsys)
    assert code == error.exit_code
    assert data["ok"] is False and data["error"] == type(error).__name__ and data["message"] == error.message
    assert data.get("hint") == error.hint
    if isinstance(error, PlanError):
        assert data["problems"] == [{"location": "core.name", "message": "bad"}, {"location": "", "message": "worse"}]


def test_a_usage_error_prints_a_json_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, data, _ = _json_run(["split", "--json", "--jobs", "0", "plan.toml"], capsys)
    assert code == 2
    assert data["ok"] is False and data["error"] == "UsageError" and "--jobs" in data["message"]


def test_a_real_refusal_prints_its_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = build_sample(tmp_path / "w", commits=60, rows=2).root
    (w / "out" / "acme-fw").mkdir(parents=True)
    (w / "out" / "acme-fw" / "mine.txt").write_text("mine\n")
    code, data, _ = _json_run(["split", str(w / "plan.toml"), "--json", "--force"], capsys)
    assert code == 3
    assert data["error"] == "UnsafeSourceError" and "was not created by spinout" in data["message"]
