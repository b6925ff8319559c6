"""`spinout demo` through the command line, as a newcomer runs it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from spinout.cli import main


def test_demo_builds_the_sample_and_runs_the_stages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "demo"
    assert main(["demo", str(dest), "--commits", "80", "--rows", "10"]) == 0
    out = capsys.readouterr().out
    assert f"plan {dest}/plan.toml is valid" in out
    assert f"everything is in {dest}" in out
    assert f"repository {dest}/acme: " in out
    # What the summary names is there, and git agrees about the commit count it states.
    commits = int(re.search(r"acme: (\d+) commits", out).group(1))  # type: ignore[union-attr]
    listed = subprocess.run(
        ["git", "-C", str(dest / "acme"), "rev-list", "--all"], capture_output=True, text=True, check=True
    )
    assert commits == len(listed.stdout.split())
    assert sorted(p.name for p in dest.iterdir()) == [
        "acme",
        "acme.db",
        "config",
        "migrations",
        "out",
        "plan.toml",
        "service-dbs",
    ]


def test_demo_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(tmp_path / "d"), "--commits", "60", "--rows", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["command"] == "demo"
    assert [s["name"] for s in data["steps"]] == [
        "sample",
        "plan check",
        "boundary",
        "split",
        "rewrite",
        "conf split",
        "data",
        "done",
    ]
    assert Path(data["plan"]).is_file() and Path(data["database"]).is_file()
    # every stage left its product where the summary says
    root = tmp_path / "d"
    for name in ("acme-lb", "acme-fw", "acme-vpn", "acme"):
        head = subprocess.run(
            ["git", "-C", str(root / "out" / name), "log", "-1", "--format=%B"], capture_output=True, text=True
        )
        assert head.returncode == 0, head.stderr
        assert f"Spinout-Rewrite: {name}" in head.stdout  # the rewrite commit sits on the split history
    assert (root / "config" / "acme_lb.conf").is_file()
    assert {p.name for p in (root / "service-dbs").iterdir()} >= {"acme-lb.db", "acme-fw.db", "acme-vpn.db"}


def test_demo_refuses_a_non_empty_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["demo", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert f"{tmp_path} is not empty" in err
    assert "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["precious.txt"]


def test_demo_without_dir_uses_a_new_temporary_directory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--commits", "60", "--rows", "2"]) == 0
    captured = capsys.readouterr()
    found = re.search(r"building the sample in (\S+)", captured.err)
    assert found, captured.err
    dest = Path(found.group(1))
    try:
        assert (dest / "plan.toml").is_file()
        assert f"everything is in {dest}" in captured.out
    finally:
        shutil.rmtree(dest)


def test_demo_rejects_too_few_commits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(tmp_path / "d"), "--commits", "5"]) == 2
    assert "--commits" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_console_script_runs_the_demo(tmp_path: Path) -> None:
    exe = shutil.which("spinout", path=str(Path(__import__("sys").executable).parent))
    assert exe is not None
    proc = subprocess.run(
        [exe, "demo", str(tmp_path / "d"), "--commits", "60", "--rows", "2"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "plan check:" in proc.stdout


def test_demo_in_a_directory_with_url_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`#`, `?` and spaces in DIR: the database lands in DIR, and the URL in the config dir points at it."""
    dest = tmp_path / "my demo #1?ü"
    assert main(["demo", str(dest), "--commits", "60", "--rows", "2", "--quiet"]) == 0
    assert (dest / "acme.db").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [dest.name]
    conf = (dest / "config" / "acme.conf").read_text()
    url = next(line.split("=", 1)[1].strip() for line in conf.splitlines() if line.startswith("connection ="))
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM ports")).scalar() == 4
    finally:
        engine.dispose()
