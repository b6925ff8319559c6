"""A small monorepo on disk for the boundary tests: a core `acme` with a load-balancer and a firewall service.

Line numbers matter to the tests: every file's imports are on the lines the comments say.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

PLAN = """
[source]
repo = "source"
[core]
name = "acme"
package = "acme"
[[service]]
name = "acme-lb"
package = "acme_lb"
paths = ["acme/__init__.py", "acme/services/__init__.py", "acme/services/lb/"]
shared = ["acme/__init__.py", "acme/services/__init__.py"]
rename = {{ "acme/" = "acme_lb/" }}
[[service]]
name = "acme-fw"
package = "acme_fw"
paths = ["acme/__init__.py", "acme/services/fw/"]
shared = ["acme/__init__.py"]
rename = {{ "acme/services/fw/" = "acme_fw/" }}
[boundary]
contract = "{contract}"
allow = [{allow}]
"""

FILES: dict[str, str] = {
    "acme/__init__.py": "",
    "acme/agent/__init__.py": "",
    # line 2: the import the plan may allow (Neutron's L3 agent loading the firewall's agent extension)
    "acme/agent/l3.py": "import os\nfrom acme.services.fw.agents import l3_fw\n",
    "acme/agent/main.py": "from acme.agent import l3\n",
    "acme/db/__init__.py": "",
    "acme/db/api.py": "def get_x():\n    return 1\n\n\ndef _private():\n    return 2\n\n\ndef used_by_core():\n"
    "    return 3\n",
    "acme/db/models.py": "from acme.db import api\n\nVALUE = api.used_by_core()\n",
    "acme/services/__init__.py": "",
    "acme/services/provider_configuration.py": "PROVIDERS = []\n",
    "acme/services/lb/__init__.py": "",
    "acme/services/lb/plugin.py": (
        "from acme.db import api\n"
        "from acme.db.api import get_x\n"
        "import acme.services.provider_configuration as pc\n"
        "\n"
        "X = api._private() + get_x() + api.get_x()\n"
        "Y = pc.PROVIDERS\n"
    ),
    "acme/services/lb/driver.py": "from acme.db.api import get_x\nfrom acme.services.lb import plugin\n",
    "acme/services/fw/__init__.py": "",
    "acme/services/fw/agents/__init__.py": "",
    "acme/services/fw/agents/l3_fw.py": "import acme.db.models\n\nM = acme.db.models.VALUE\n",
}

L3_ALLOW = '"acme.agent.l3 -> acme.services.fw.agents"'


def write_tree(root: Path, files: Mapping[str, str | None]) -> Path:
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def make(
    tmp: Path,
    changes: Mapping[str, str | None] | None = None,
    *,
    allow: str = L3_ALLOW,
    contract: str = "protected",
    extra_plan: str = "",
) -> tuple[Path, Path]:
    """Write the plan and a work tree with FILES plus `changes`; return (plan path, tree path)."""
    tree = write_tree(tmp / "work", {**FILES, **(changes or {})})
    plan = tmp / "plan.toml"
    plan.write_text(PLAN.format(allow=allow, contract=contract) + extra_plan)
    return plan, tree
