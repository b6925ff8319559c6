"""Compatibility shims the core keeps at the old import paths of moved modules.

A shim is a real module at the old path (so the old package stays a real package, and `import old.pkg.sub` finds the
sub-shim rather than loading the new file a second time under the old name). On import it warns with a
DeprecationWarning naming the new module, copies the new module's names (also private ones, which `import *` would
skip, and `__all__`), and forwards any other attribute through a module `__getattr__` (PEP 562), so that
`from old.path import Name` and `old.path.Name` both give the very object the service defines.
"""

from __future__ import annotations

SHIM_MARKER = "spinout compat shim"


def shim_source(old: str, new: str, distribution: str) -> str:
    """The text of the shim module for `old`, re-exporting `new` from distribution `distribution`."""
    return f'''"""Deprecated: `{old}` moved to `{new}` (distribution {distribution}).

This module is a {SHIM_MARKER}: import `{new}` instead; this alias goes away in a later release.
"""

import importlib as _importlib
import warnings as _warnings

_warnings.warn(
    "{old} moved to {new} (install {distribution}); import {new} instead",
    DeprecationWarning,
    stacklevel=2,
)

_new = _importlib.import_module("{new}")
globals().update(
    {{k: v for k, v in vars(_new).items() if k == "__all__" or not (k.startswith("__") and k.endswith("__"))}}
)


def __getattr__(name):
    return getattr(_new, name)
'''


def module_path(module: str, *, package: bool) -> str:
    base = module.replace(".", "/")
    return f"{base}/__init__.py" if package else f"{base}.py"
