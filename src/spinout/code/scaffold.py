"""Packaging: each service gets its own distribution; the core loses the moved entry points (and may gain aliases).

Entry points are read from the source's packaging at its main branch (setup.cfg `[entry_points]`, pyproject's
`[project.scripts]`, `[project.gui-scripts]` and `[project.entry-points."group"]`). An entry point belongs to the
service whose moved module its value names.

- A service whose target uses pbr (a setup.py that mentions pbr next to a setup.cfg) gets its setup.cfg updated:
  `[metadata] name`, `[files] packages`, `[entry_points]` reduced to its own (renamed) entry points, and the core
  added to requirements.txt. Any other service gets a generated pyproject.toml (setuptools) with its name, package,
  entry points and requirements.
- The core loses the entry points that now belong to services; with `core.compat.entry_point_aliases` each is
  replaced by an alias whose *name* is the old dotted class path (`acme.services.lb.plugin.Plugin`) and whose value
  is the new `module:attr`, so settings that name the old class path keep loading through entry points.
- `core.dependency = "services-require-core"` puts the core in each service's requirements;
  `"core-requires-services"` puts the services in the core's instead.

Configuration files are edited with configupdater (comments and order kept); pyproject.toml is edited as text, line
by line, for the same reason (no TOML writer keeps comments).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass

from configupdater import ConfigUpdater

from spinout.plan.model import Core, Service

PACKAGING_FILES = ("setup.cfg", "setup.py", "pyproject.toml", "requirements.txt")


@dataclass(frozen=True)
class EntryPoint:
    group: str  # "console_scripts" for [project.scripts], "gui_scripts" for [project.gui-scripts]
    name: str
    value: str  # "module:attr" (possibly with extras, which are kept as written)

    @property
    def module(self) -> str:
        return self.value.split(":", 1)[0].strip()

    @property
    def attr(self) -> str:
        return self.value.split(":", 1)[1].split("[", 1)[0].strip() if ":" in self.value else ""


def read_entry_points(files: Mapping[str, bytes]) -> list[EntryPoint]:
    """Every entry point declared by setup.cfg and pyproject.toml at the repository root."""
    out: list[EntryPoint] = []
    if "setup.cfg" in files:
        updater = ConfigUpdater()
        updater.read_string(files["setup.cfg"].decode("utf-8"))
        if updater.has_section("entry_points"):
            for opt in updater["entry_points"].iter_options():
                for line in opt.as_list():
                    name, sep, value = line.partition("=")
                    if sep:
                        out.append(EntryPoint(opt.key, name.strip(), value.strip()))
    if "pyproject.toml" in files:
        project = tomllib.loads(files["pyproject.toml"].decode("utf-8")).get("project", {})
        for group, table in (("console_scripts", "scripts"), ("gui_scripts", "gui-scripts")):
            for name, value in project.get(table, {}).items():
                out.append(EntryPoint(group, name, value))
        for group, entries in project.get("entry-points", {}).items():
            for name, value in entries.items():
                out.append(EntryPoint(group, name, value))
    return out


def _requirement_name(line: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _add_requirements(text: str, names: list[str]) -> str:
    have = {_requirement_name(line) for line in text.splitlines() if line.strip() and not line.startswith("#")}
    missing = [n for n in names if n.lower().replace("_", "-") not in have]
    if not missing:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "".join(f"{n}\n" for n in missing)


def uses_pbr(files: Mapping[str, bytes]) -> bool:
    return "setup.cfg" in files and b"pbr" in files.get("setup.py", b"")


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def service_packaging(
    service: Service,
    core: Core,
    files: Mapping[str, bytes],
    entry_points: list[EntryPoint],
    new_modules: set[str],
    renamed: Mapping[str, str],
) -> dict[str, bytes]:
    """The packaging files of a service target: path → new content.

    `entry_points` are the source's; `renamed` maps an old module to its new name (the module map); `new_modules`
    are the service's own modules after the move.
    """
    own: list[EntryPoint] = []
    for ep in entry_points:
        new_module = renamed.get(ep.module)
        if new_module is not None and new_module in new_modules:
            value = ep.value.strip()
            own.append(EntryPoint(ep.group, ep.name, new_module + value[len(ep.module) :]))
    top = service.package.split(".")[0]
    requires = [core.name] if core.dependency == "services-require-core" else []
    if uses_pbr(files):
        return _pbr_service(service, top, files, own, requires)
    return {"pyproject.toml": _pyproject(service, top, own, requires).encode()}


def _pbr_service(
    service: Service, top: str, files: Mapping[str, bytes], own: list[EntryPoint], requires: list[str]
) -> dict[str, bytes]:
    updater = ConfigUpdater()
    updater.read_string(files["setup.cfg"].decode("utf-8"))
    if not updater.has_section("metadata"):
        updater.add_section("metadata")
    updater["metadata"]["name"] = service.name
    if not updater.has_section("files"):
        updater.add_section("files")
    updater["files"]["packages"] = ""
    updater["files"]["packages"].set_values([top])
    if updater.has_section("entry_points"):
        updater.remove_section("entry_points")
    if own:
        updater.add_section("entry_points")
        groups: dict[str, list[str]] = {}
        for ep in own:
            groups.setdefault(ep.group, []).append(f"{ep.name} = {ep.value}")
        for group, lines in groups.items():
            updater["entry_points"][group] = ""
            updater["entry_points"][group].set_values(lines)
    out = {"setup.cfg": str(updater).encode()}
    reqs = files.get("requirements.txt", b"").decode("utf-8")
    new_reqs = _add_requirements(reqs, requires)
    if new_reqs != reqs:
        out["requirements.txt"] = new_reqs.encode()
    return out


def _pyproject(service: Service, top: str, own: list[EntryPoint], requires: list[str]) -> str:
    lines = [
        "[build-system]",
        'requires = ["setuptools>=61"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f"name = {_toml_str(service.name)}",
        'version = "0.1.0"',
        f"description = {_toml_str(f'{service.name}, spun off by spinout')}",
        "dependencies = [" + ", ".join(_toml_str(r) for r in requires) + "]",
    ]
    tables: dict[str, list[EntryPoint]] = {}
    for ep in own:
        tables.setdefault(ep.group, []).append(ep)
    for group, eps in tables.items():
        header = {"console_scripts": "[project.scripts]", "gui_scripts": "[project.gui-scripts]"}.get(
            group, f"[project.entry-points.{_toml_str(group)}]"
        )
        lines += ["", header, *(f"{_toml_str(ep.name)} = {_toml_str(ep.value)}" for ep in eps)]
    include = f"include = [{_toml_str(top)}, {_toml_str(top + '.*')}]"
    lines += ["", "[tool.setuptools.packages.find]", 'where = ["."]', include]
    return "\n".join(lines) + "\n"


def core_packaging(
    core: Core,
    services: list[Service],
    files: Mapping[str, bytes],
    entry_points: list[EntryPoint],
    renamed: Mapping[str, str],
) -> dict[str, bytes]:
    """The core's packaging edits: moved entry points out (aliases in), services required if the plan says so."""
    moved = [ep for ep in entry_points if ep.module in renamed]
    aliases: list[EntryPoint] = []
    if core.compat.entry_point_aliases:
        for ep in moved:
            if ep.attr and ep.group not in ("console_scripts", "gui_scripts"):
                new_module = renamed[ep.module]
                aliases.append(EntryPoint(ep.group, f"{ep.module}.{ep.attr}", f"{new_module}:{ep.attr}"))
    requires = [s.name for s in services] if core.dependency == "core-requires-services" else []
    out: dict[str, bytes] = {}
    moved_keys = {(ep.group, ep.name) for ep in moved}
    if "setup.cfg" in files and (moved or aliases):
        updater = ConfigUpdater()
        updater.read_string(files["setup.cfg"].decode("utf-8"))
        if updater.has_section("entry_points"):
            section = updater["entry_points"]
            for opt in list(section.iter_options()):
                keep = [line for line in opt.as_list() if (opt.key, line.partition("=")[0].strip()) not in moved_keys]
                keep += [f"{a.name} = {a.value}" for a in aliases if a.group == opt.key]
                if keep:
                    opt.set_values(keep)
                else:
                    del section[opt.key]
        out["setup.cfg"] = str(updater).encode()
    if "pyproject.toml" in files:
        text = files["pyproject.toml"].decode("utf-8")
        new = _pyproject_core(text, moved_keys, aliases, requires if "requirements.txt" not in files else [])
        if new != text:
            out["pyproject.toml"] = new.encode()
    if requires and ("requirements.txt" in files or "pyproject.toml" not in files):
        reqs = files.get("requirements.txt", b"").decode("utf-8")
        new_reqs = _add_requirements(reqs, requires)
        if new_reqs != reqs:
            out["requirements.txt"] = new_reqs.encode()
    return out


_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def _toml_key(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith('"'):
        return str(json.loads(raw))
    return raw.strip("'")


def _pyproject_core(text: str, moved: set[tuple[str, str]], aliases: list[EntryPoint], requires: list[str]) -> str:
    """Drop moved entry-point lines, add aliases after their group's header, add required services."""
    groups_of = {"project.scripts": "console_scripts", "project.gui-scripts": "gui_scripts"}
    out: list[str] = []
    table = ""
    for line in text.splitlines(keepends=True):
        m = _TABLE.match(line)
        if m:
            table = m.group(1).strip()
            out.append(line)
            group = groups_of.get(table)
            if table.startswith("project.entry-points."):
                group = _toml_key(table[len("project.entry-points.") :])
            if group is not None:
                out.extend(f"{_toml_str(a.name)} = {_toml_str(a.value)}\n" for a in aliases if a.group == group)
            continue
        key = _KEY.match(line)
        group = groups_of.get(table) or (
            _toml_key(table[len("project.entry-points.") :]) if table.startswith("project.entry-points.") else None
        )
        if key and group is not None and (group, _toml_key(key.group(1))) in moved:
            continue
        if key and table == "project" and requires and _toml_key(key.group(1)) == "dependencies":
            head, bracket, rest = line.partition("[")
            line = head + bracket + "".join(f"{_toml_str(r)}, " for r in requires) + rest
        out.append(line)
    return "".join(out)
