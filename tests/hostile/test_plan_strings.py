"""Hostile strings in a plan (issue 17, §3 item 12): every one is a located plan problem before any stage writes.

Before the fix: a NUL in a path passed `plan check` and `split` wrote corrupt trees (`git fsck`: too-short tree
object); `name = "acme-lb\\n"` passed (`$` matches before a final newline) and created a folder with a newline;
`.git` as a rename target component passed; a package `acme_\\uff4cb` (a fullwidth l: Python reads it as `acme_lb`)
passed the uniqueness check. Each case mutates the sample's plan, runs `split` and checks that nothing was written.
The bad-plan corpus (tests/assets/plans/bad/) has the exact messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spinout.cli import main
from spinout.sample import build_sample
from tests.fixtures.snapshot import assert_unchanged, snapshot

CASES = {
    "NUL in a path": (
        '"acme/services/lb/",',
        '"acme/services/lb/\\u0000x/",',
        "service[0].paths[14]: 'acme/services/lb/\\x00x/' contains a NUL",
    ),
    "newline ending a name": (
        'name = "acme-lb"',
        'name = "acme-lb\\n"',
        "service[0].name: 'acme-lb\\n' contains a newline",
    ),
    ".git as a rename target": (
        'rename = { "acme/" = "acme_fw/" }',
        'rename = { "acme/" = "acme_fw/.git/" }',
        "'.git'",
    ),
    ".GIT as a path": (
        '"etc/fw_driver.ini",',
        '"etc/fw_driver.ini", ".GIT/config",',
        "service[1].paths[18]: path '.GIT/config' has the component '.GIT'",
    ),
    "NFKC look-alike package": ('package = "acme_fw"', 'package = "acme_\\uff4cb"', "Python reads it as 'acme_lb'"),
    "PEP 503 look-alike name": (
        'name = "acme-fw"',
        'name = "ACME_lb"',
        "service[1].name: name 'ACME_lb' is already used",
    ),
    "bidirectional override": ('"etc/vpn_agent.ini",', '"etc/vpn\\u202e_agent.ini",', "RIGHT-TO-LEFT OVERRIDE"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_split_refuses_the_plan_and_writes_nothing(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    w = build_sample(tmp_path / "w", commits=60, rows=2).root
    old, new, message = CASES[case]
    plan = w / "plan.toml"
    text = plan.read_text()
    assert old in text
    plan.write_text(text.replace(old, new, 1))
    before = snapshot(w)
    code = main(["split", str(plan), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert_unchanged(w, before)
