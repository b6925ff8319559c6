"""Adapter: write the boundary contracts into the core's import-linter configuration, losslessly.

The configuration is the one the core already uses — `.importlinter`, `setup.cfg` with an `[importlinter]`
section, or `pyproject.toml` with `[tool.importlinter]` — or, when it has none, `pyproject.toml` if the core has
one, else a new `.importlinter`. The plan's `[boundary] config` may name the file instead.

Edits are line based so that every byte outside what spinout owns stays as it was: spinout's own contract
sections (ids starting with `spinout-boundary`) are replaced in place, the session keys it needs
(`root_package(s)`, `include_external_packages`) are added or set on their own lines. The result is parsed
again (configupdater for INI, tomllib for TOML) and compared with what was meant before anything is written;
writes are atomic. Running it twice changes nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from configupdater import ConfigUpdater

from spinout.boundary.contracts import CONTRACT_ID, Boundary, ContractSpec
from spinout.errors import ToolError, UnsafeSourceError

CONFIG_CHOICES = ("auto", ".importlinter", "setup.cfg", "pyproject.toml")

_INI_HEADER = re.compile(r"^\[([^\]]+)\]\s*(?:[#;].*)?$")
_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")


@dataclass(frozen=True)
class Written:
    path: Path
    created: bool
    changed: bool


def _ini_has_section(path: Path, section: str) -> bool:
    if not path.is_file():
        return False
    updater = ConfigUpdater()
    updater.read_string(path.read_text(encoding="utf-8"))
    return updater.has_section(section)


def _toml_has_importlinter(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError:
        return False
    return "importlinter" in doc.get("tool", {})


def choose_config(repo: Path, choice: str = "auto") -> Path:
    """The configuration file the contracts go into (see the module docstring)."""
    if choice != "auto":
        return repo / choice
    if (repo / ".importlinter").is_file():
        return repo / ".importlinter"
    if _ini_has_section(repo / "setup.cfg", "importlinter"):
        return repo / "setup.cfg"
    if _toml_has_importlinter(repo / "pyproject.toml"):
        return repo / "pyproject.toml"
    if (repo / "pyproject.toml").is_file():
        return repo / "pyproject.toml"
    return repo / ".importlinter"


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _ours(contract_id: str) -> bool:
    return contract_id == CONTRACT_ID or contract_id.startswith(CONTRACT_ID + "-")


# --- INI (.importlinter, setup.cfg) ---------------------------------------------------------------------------

_SECTION = "importlinter:contract:"


def _is_our_section(name: str) -> bool:
    return name.startswith(_SECTION) and _ours(name[len(_SECTION) :])


def render_ini(contracts: tuple[ContractSpec, ...]) -> str:
    """The contract sections as INI text (multi-line values one per indented line)."""
    blocks = []
    for spec in contracts:
        lines = [f"[{_SECTION}{spec.id}]", f"name = {spec.name}", f"type = {spec.type}"]
        for key, value in spec.options.items():
            if isinstance(value, tuple):
                lines.append(f"{key} =")
                lines.extend(f"    {v}" for v in value)
            else:
                lines.append(f"{key} = {value}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _ini_sections(lines: list[str]) -> list[tuple[str, int, int]]:
    """(name, first line, end line) of each section; a section's span ends before the comments and header of the
    next one, but keeps its trailing blank lines."""
    heads = [(i, m.group(1).strip()) for i, line in enumerate(lines) if (m := _INI_HEADER.match(line.rstrip("\r\n")))]
    out = []
    for n, (start, name) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        while end > start + 1 and lines[end - 1].lstrip().startswith(("#", ";")):
            end -= 1  # comments directly above the next header belong to it
        out.append((name, start, end))
    return out


def _ini_session_edits(text: str, boundary: Boundary) -> list[str]:
    """The file's lines with the `[importlinter]` session keys spinout needs, added or set."""
    lines = text.splitlines(keepends=True)
    updater = ConfigUpdater()
    updater.read_string(text)
    want_external = boundary.include_external
    if not updater.has_section("importlinter"):
        head = ["[importlinter]\n", f"root_package = {boundary.root}\n"]
        if want_external:
            head.append("include_external_packages = True\n")
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        if lines and lines[-1].strip():
            lines.append("\n")
        return [*lines, *head, "\n"]
    section = updater["importlinter"]
    roots: list[str] = []
    for key in ("root_package", "root_packages"):
        if key in section:
            roots += (section[key].value or "").split()
    if boundary.root not in roots:
        raise UnsafeSourceError(
            f"the core's [importlinter] section is for {', '.join(roots) or 'no package'}, not {boundary.root}",
            hint=f"add {boundary.root} to root_packages there, or choose another file with [boundary] config",
        )
    start = next(s for name, s, _ in _ini_sections(lines) if name == "importlinter")
    end = next(e for name, _, e in _ini_sections(lines) if name == "importlinter")
    if want_external:
        if "include_external_packages" not in section:
            lines.insert(start + 1, "include_external_packages = True\n")
        elif (section["include_external_packages"].value or "").strip().lower() != "true":
            for i in range(start + 1, end):
                if re.match(r"^include_external_packages\s*[=:]", lines[i]):
                    lines[i] = "include_external_packages = True\n"
    return lines


def update_ini(text: str, boundary: Boundary) -> str:
    """`text` with spinout's contract sections replaced (or appended) and the session keys set."""
    lines = _ini_session_edits(text, boundary)
    ours = [(s, e) for name, s, e in _ini_sections(lines) if _is_our_section(name)]
    block = render_ini(boundary.contracts)
    if ours:
        at = ours[0][0]
        for s, e in reversed(ours):
            del lines[s:e]
        follow = "\n" if at < len(lines) else ""
        lines.insert(at, block + follow)
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        if lines and lines[-1].strip():
            lines.append("\n")
        lines.append(block)
    new = "".join(lines)
    _verify_ini(text, new, boundary)
    return new


def _ini_dict(text: str) -> dict[str, dict[str, str]]:
    updater = ConfigUpdater()
    updater.read_string(text)
    return {
        name: {k: (v.value or "").strip() for k, v in updater[name].items()}
        for name in updater.sections()
        if not (_is_our_section(name))
    }


def _verify_ini(old: str, new: str, boundary: Boundary) -> None:
    before, after = _ini_dict(old), _ini_dict(new)
    # the session section is the one place spinout may add keys
    before.pop("importlinter", None)
    after.pop("importlinter", None)
    updater = ConfigUpdater()
    updater.read_string(new)
    ids = [n[len(_SECTION) :] for n in updater.sections() if _is_our_section(n)]
    if before != after or ids != [c.id for c in boundary.contracts]:
        raise ToolError(
            "editing the import-linter configuration would change more than spinout's contracts; nothing was written",
            hint="report this with the file; meanwhile choose another file with [boundary] config",
        )


# --- TOML (pyproject.toml) -----------------------------------------------------------------------------------


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_toml(contracts: tuple[ContractSpec, ...]) -> str:
    blocks = []
    for spec in contracts:
        lines = [
            "[[tool.importlinter.contracts]]",
            f"id = {_toml_str(spec.id)}",
            f"name = {_toml_str(spec.name)}",
            f"type = {_toml_str(spec.type)}",
        ]
        for key, value in spec.options.items():
            if isinstance(value, tuple):
                lines.append(f"{key} = [")
                lines.extend(f"    {_toml_str(v)}," for v in value)
                lines.append("]")
            elif value in ("True", "False"):
                lines.append(f"{key} = {value.lower()}")
            else:
                lines.append(f"{key} = {_toml_str(value)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _toml_tables(lines: list[str]) -> list[tuple[str, bool, int, int]]:
    """(table name, is array element, first line, end line) for each header; spans keep trailing blank lines."""
    heads = []
    for i, line in enumerate(lines):
        m = _TOML_HEADER.match(line.rstrip("\r\n"))
        if m:
            name = re.sub(r"\s*\.\s*", ".", m.group(2)).replace('"', "")
            heads.append((i, name, m.group(1) == "[["))
    out = []
    for n, (start, name, aot) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        while end > start + 1 and lines[end - 1].lstrip().startswith("#"):
            end -= 1
        out.append((name, aot, start, end))
    return out


def update_toml(text: str, boundary: Boundary) -> str:
    """`text` (a pyproject.toml) with spinout's contracts replaced (or appended) and the session keys set."""
    try:
        old_doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UnsafeSourceError(f"pyproject.toml does not parse: {exc}", hint="fix it first") from None
    lines = text.splitlines(keepends=True)
    session = old_doc.get("tool", {}).get("importlinter")
    tables = _toml_tables(lines)
    if session is None:
        head = [
            "[tool.importlinter]\n",
            f"root_packages = [{_toml_str(boundary.root)}]\n",
        ]
        if boundary.include_external:
            head.append("include_external_packages = true\n")
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        if lines and lines[-1].strip():
            lines.append("\n")
        lines += [*head, "\n"]
    else:
        roots = list(session.get("root_packages", []))
        if "root_package" in session:
            roots.append(session["root_package"])
        if boundary.root not in roots:
            raise UnsafeSourceError(
                f"the core's [tool.importlinter] is for {', '.join(roots) or 'no package'}, not {boundary.root}",
                hint=f"add {boundary.root!r} to root_packages there, or choose another file with [boundary] config",
            )
        found = [t for t in tables if t[0] == "tool.importlinter" and not t[1]]
        if not found and boundary.include_external and session.get("include_external_packages") is not True:
            raise UnsafeSourceError(
                "pyproject.toml defines tool.importlinter without a [tool.importlinter] header; spinout cannot set "
                "include_external_packages there",
                hint="set include_external_packages = true in it by hand and run again",
            )
        if found and boundary.include_external and session.get("include_external_packages") is not True:
            _, _, start, end = found[0]
            hit = [i for i in range(start + 1, end) if re.match(r"^\s*include_external_packages\s*=", lines[i])]
            if hit:
                lines[hit[0]] = "include_external_packages = true\n"
            else:
                lines.insert(start + 1, "include_external_packages = true\n")
    ours = []
    for name, aot, start, end in _toml_tables(lines):
        if name == "tool.importlinter.contracts" and aot:
            try:
                body = tomllib.loads("".join(lines[start + 1 : end]))
            except tomllib.TOMLDecodeError:
                continue
            if _ours(str(body.get("id", ""))):
                ours.append((start, end))
    block = render_toml(boundary.contracts)
    if ours:
        at = ours[0][0]
        for s, e in reversed(ours):
            del lines[s:e]
        lines.insert(at, block + ("\n" if at < len(lines) else ""))
    else:
        if lines and lines[-1].strip():
            lines.append("\n")
        lines.append(block)
    new = "".join(lines)
    _verify_toml(old_doc, new, boundary)
    return new


def _strip_ours(doc: dict[str, Any], *, drop_roots: bool) -> dict[str, Any]:
    """`doc` without what spinout may add: its contracts, include_external_packages, and (when the file had no
    import-linter session before) root_packages."""
    tool = dict(doc.get("tool", {}))
    session = dict(tool.get("importlinter", {}))
    contracts = [c for c in session.pop("contracts", []) if not _ours(str(c.get("id", "")))]
    session.pop("include_external_packages", None)
    if drop_roots:
        session.pop("root_packages", None)
    if contracts:
        session["contracts"] = contracts
    if session:
        tool["importlinter"] = session
    else:
        tool.pop("importlinter", None)
    out = {**doc, "tool": tool}
    if not tool:
        out.pop("tool")
    return out


def _verify_toml(old_doc: dict[str, Any], new: str, boundary: Boundary) -> None:
    try:
        new_doc = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise ToolError(
            f"editing pyproject.toml would break it ({exc}); nothing was written",
            hint="write the import-linter settings as a [tool.importlinter] table, "
            'or set [boundary] config = ".importlinter"',
        ) from None
    had_session = "importlinter" in old_doc.get("tool", {})
    before = _strip_ours(old_doc, drop_roots=not had_session)
    after = _strip_ours(new_doc, drop_roots=not had_session)
    contracts = new_doc.get("tool", {}).get("importlinter", {}).get("contracts", [])
    ids = [str(c.get("id")) for c in contracts if _ours(str(c.get("id")))]
    if before != after or ids != [c.id for c in boundary.contracts]:
        raise ToolError(
            "editing pyproject.toml would change more than spinout's contracts; nothing was written",
            hint='set [boundary] config = ".importlinter" to keep spinout out of pyproject.toml',
        )


def write_contracts(repo: Path, boundary: Boundary, choice: str = "auto") -> Written:
    """Write the boundary's contracts into the core's configuration; see the module docstring."""
    path = choose_config(repo, choice)
    created = not path.exists()
    text = "" if created else path.read_text(encoding="utf-8")
    new = update_toml(text, boundary) if path.name == "pyproject.toml" else update_ini(text, boundary)
    if new != text:
        _atomic_write(path, new)
    return Written(path, created, new != text)
