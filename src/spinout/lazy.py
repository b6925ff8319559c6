"""Modules imported on first use: keeps heavy dependencies (sqlalchemy, alembic, grimp) off the start-up path of
commands that never use them — `spinout split`, whose incremental rerun has a budget of one second."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """`name`, whose code runs on the first access to one of its attributes (`importlib.util.LazyLoader`).

    Already imported: the module itself. Use it for modules only reached through attributes at call time
    (`module.function(...)`); a name needed while the importing module itself runs defeats the laziness.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)  # as `import parent.child` would
    return module
