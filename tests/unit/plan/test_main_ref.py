"""`source.main` defaults to the first exact branch of `source.refs`; patterns are never taken for a branch."""

from __future__ import annotations

from pathlib import Path

from spinout.plan.load import parse_plan

PLAN = """
[source]
repo = "src"
refs = [{refs}]

[core]
name = "acme"
package = "acme"

[[service]]
name = "acme-lb"
package = "acme_lb"
paths = ["acme/lb/"]
"""


def _main(refs: str) -> str:
    return parse_plan(PLAN.format(refs=refs), base_dir=Path("/tmp")).source.main_ref


def test_first_exact_branch() -> None:
    assert _main('"refs/tags/*", "refs/heads/master", "refs/heads/main"') == "refs/heads/master"


def test_patterns_are_skipped() -> None:
    assert _main('"refs/heads/stable/201?", "refs/heads/[mq]ain", "refs/heads/dev"') == "refs/heads/dev"
    assert _main('"refs/heads/stable/*"') == "refs/heads/main"
