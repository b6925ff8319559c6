"""Property tests: the string substitution against a plain reference, and the pre-filter's soundness."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.code.test_differential import SNIPPETS
from tests.unit.code.test_transform import CORE_FILE, MOVES, RENAMER

from spinout.code.transform import FileContext, rewrite_module

PIECES = [
    "acme",
    "services",
    "lb",
    "plugin",
    "drivers",
    "haproxy",
    "db",
    "models",
    "lbx",
    "x",
    "_",
    "1",
    ".",
    ".",
    ".",
    ":",
    " ",
    "/",
    "-",
    "'",
    "acme.services.lb",
    "acme.services.lb.plugin",
    "acme.db.lb.models",
]
RUN = re.compile(r"[A-Za-z_0-9]+(?:\.[A-Za-z_0-9]+)*")


def reference_sub(text: str) -> str:
    """Maximal runs of word characters and dots; a run that starts a word (not after a dot) and begins with a
    moved module followed by a dot or its end is renamed by the module map; everything else is kept."""
    out: list[str] = []
    pos = 0
    for m in RUN.finditer(text):
        out.append(text[pos : m.start()])
        run = m.group(0)
        preceded = m.start() > 0 and text[m.start() - 1] == "."
        new = None if preceded or run[0].isdigit() else MOVES.rename(run)
        out.append(run if new is None else new)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_sub_text_matches_the_reference(text: str) -> None:
    assert RENAMER.sub_text(text)[0] == reference_sub(text)


def test_prefilter_selects_every_file_the_rewrite_changes() -> None:
    sources = [
        *SNIPPETS,
        "from acme import services\nservices.lb.plugin\n",
        "from acme.db import lb\nlb.models\n",
        "import acme.services as s\ns.lb.plugin.Plugin\n",
        "from acme.services import (\n    # the load balancer\n    lb,\n)\n",
        "from acme.services import service_base, \\\n    lb\n",
    ]
    for src in sources:
        changed = rewrite_module(src.encode(), CORE_FILE, RENAMER).after != src.encode()
        assert changed, src
        assert RENAMER.wants(src.encode(), moved_file=False), src


def test_prefilter_relative_imports_only_in_moved_files() -> None:
    moved = FileContext("acme_lb/services/lb/x.py", "acme.services.lb.x", "acme_lb.services.lb.x", False)
    src = b"from .. import service_base\n"
    assert rewrite_module(src, moved, RENAMER).after != src
    assert RENAMER.wants(src, moved_file=moved.moved)
