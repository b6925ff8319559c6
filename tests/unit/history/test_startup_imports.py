"""`spinout split`'s start-up path stays free of the other stages' heavy dependencies (its rerun budget is 1 s)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "grimp", "oslo_config.cfg", "libcst")


# A module imported lazily sits in sys.modules as an `importlib.util._LazyModule` until first used
LOADED = (
    "import sys\n"
    "def loaded(m):\n"
    "    return m in sys.modules and not type(sys.modules[m]).__name__.startswith('_Lazy')\n"
)


def _run(code: str) -> object:
    proc = subprocess.run([sys.executable, "-c", LOADED + code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_cli_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import json\nimport spinout.cli\nspinout.cli._register_stages()\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if loaded(m)]))"
    )
    assert _run(code) == []


def test_lazy_module_runs_on_first_attribute_access() -> None:
    code = (
        "import json\nfrom spinout import api\n"
        "before = loaded('sqlalchemy')\n"
        "fn = api.data_commands.db_plan\n"
        "from spinout.data import commands\n"
        "print(json.dumps([before, loaded('sqlalchemy'), callable(fn), commands is api.data_commands]))"
    )
    assert _run(code) == [False, True, True, True]
