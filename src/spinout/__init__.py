"""spinout: spin services off a Python monorepo from one declarative plan.

The stages (history, code, boundary, data, config) live in their own subpackages; `spinout.api` wires them
together and `spinout.cli` is the command line over it.
"""

__version__ = "0.1.0"
