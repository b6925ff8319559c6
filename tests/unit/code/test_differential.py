"""Differential test against Python itself: each snippet, run before the rewrite on the monorepo layout and after the
rewrite on the split layout, must compute the same values (the moved modules keep their content, so equal values mean
every name resolved to the same code). Also: the rewritten snippet gains no pyflakes message."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.unit.code.test_transform import CORE_FILE, RENAMER

from spinout.code.postcheck import check_file
from spinout.code.transform import rewrite_module

MODULES = {
    "acme/services/service_base.py": "VALUE = 'service_base'\n",
    "acme/services/lb/__init__.py": "VALUE = 'lb'\n",
    "acme/services/lb/plugin.py": "VALUE = 'plugin'\n\nclass Plugin:\n    kind = 'lb-plugin'\n",
    "acme/services/lb/drivers/__init__.py": "VALUE = 'drivers'\n",
    "acme/services/lb/drivers/haproxy.py": "VALUE = 'haproxy'\n",
    "acme/db/lb/models.py": "VALUE = 'models'\n",
}
INITS = ["acme/__init__.py", "acme/services/__init__.py", "acme/db/__init__.py", "acme/db/lb/__init__.py"]
MOVED = {
    "acme/services/lb/__init__.py": "acme_lb/services/lb/__init__.py",
    "acme/services/lb/plugin.py": "acme_lb/services/lb/plugin.py",
    "acme/services/lb/drivers/__init__.py": "acme_lb/services/lb/drivers/__init__.py",
    "acme/services/lb/drivers/haproxy.py": "acme_lb/services/lb/drivers/haproxy.py",
    "acme/db/lb/models.py": "acme_lb/db/lb_models.py",
}
NEW_INITS = ["acme_lb/__init__.py", "acme_lb/services/__init__.py", "acme_lb/db/__init__.py"]

SNIPPETS = [
    "import acme.services.lb.plugin\nresult = acme.services.lb.plugin.VALUE",
    "import acme.services.lb.plugin as p\nresult = p.Plugin.kind",
    "from acme.services.lb import plugin, drivers\nresult = [plugin.VALUE, drivers.VALUE]",
    "from acme.services import lb, service_base\nresult = [lb.VALUE, service_base.VALUE]",
    "from acme import services\nimport acme.services.lb.plugin\nresult = services.lb.plugin.VALUE",
    "import acme.services.lb.plugin\nimport acme.services.service_base\n"
    "result = [acme.services.lb.plugin.VALUE, acme.services.service_base.VALUE]",
    "from acme.db.lb import models\nresult = models.VALUE",
    "import acme.db.lb.models\nresult = acme.db.lb.models.VALUE",
    "from acme.services.lb.plugin import *\nresult = Plugin.kind",
    "import importlib\nresult = importlib.import_module('acme.services.lb.drivers.haproxy').VALUE",
    "from unittest import mock\nimport acme.services.lb.plugin\n"
    "with mock.patch('acme.services.lb.plugin.Plugin.kind', 'patched'):\n"
    "    result = acme.services.lb.plugin.Plugin.kind",
    "def f():\n    from acme.services.lb.drivers import haproxy\n    return haproxy.VALUE\nresult = f()",
]

RUNNER = textwrap.dedent("""\
    import json, sys
    out = []
    for code in json.load(sys.stdin):
        ns = {}
        exec(compile(code, "snippet", "exec"), ns)
        out.append(ns["result"])
    print(json.dumps(out))
    """)


def layout(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def run(root: Path, snippets: list[str]) -> list[object]:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=json.dumps(snippets),
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: list[object] = json.loads(proc.stdout)
    return result


def test_snippets_compute_the_same_before_and_after(tmp_path: Path) -> None:
    old = {**MODULES, **dict.fromkeys(INITS, "")}
    new = {p: t for p, t in old.items() if p not in MOVED}
    new.update({MOVED[p]: MODULES[p] for p in MOVED})
    new.update(dict.fromkeys(NEW_INITS, ""))
    old_root = layout(tmp_path / "old", old)
    new_root = layout(tmp_path / "new", new)
    rewritten = []
    for snippet in SNIPPETS:
        after = rewrite_module(snippet.encode(), CORE_FILE, RENAMER).after
        assert after != snippet.encode(), snippet
        assert check_file("snippet.py", snippet.encode(), after, lambda s: RENAMER.sub_text(s)[0]) == []
        rewritten.append(after.decode())
    before_values = run(old_root, SNIPPETS)
    # The new layout has no module at the old paths: a reference the rewrite missed would raise there.
    assert run(new_root, rewritten) == before_values
    assert "acme.services.lb" not in "".join(rewritten).replace("acme_lb.services.lb", "")
