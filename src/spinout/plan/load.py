"""Read a plan file: TOML → frozen models, every problem collected and located, never a traceback.

A plan is a regular file of at most `MAX_PLAN_BYTES`, read without blocking (a FIFO or a device is refused, never
waited on), with at most `MAX_DEPTH` levels of nesting (deeper TOML would exhaust the parser's recursion or, with
dotted keys, its memory). docs/plan.md states the limits.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from spinout.errors import PlanError, Problem
from spinout.plan.model import Plan
from spinout.plan.validate import static_problems

MAX_PLAN_BYTES = 1024 * 1024  # a plan of thousands of paths is a few hundred KiB
MAX_DEPTH = 32  # levels of arrays, tables and dotted keys; a plan needs four

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SIGNIFICANT = re.compile(r"[\"'#\[\]{}=,.\n]")  # what `_too_deep` looks at


def format_location(loc: Iterable[str | int]) -> str:
    """('service', 1, 'paths', 2) → 'service[1].paths[2]'; a key that is not a bare TOML key is quoted (repr), so
    that a location never holds a newline or a dot of its own."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if _BARE_KEY.fullmatch(part) else repr(part)
            out += f".{text}" if out else text
    return out


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that owns the last key of `loc`, to suggest valid keys."""
    model: Any = Plan
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = None
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                field = info
                break
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args]
        for inner in list(candidates):
            candidates.extend(getattr(inner, "__args__", ()))
        nxt = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nxt is None:
            return None
        model = nxt
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _known_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


_TYPE_NAMES = {
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


_BOUNDS = {
    "greater_than": "greater than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}


def _describe(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"integer of about {int(value.bit_length() * 0.30103) + 1} digits"  # too long to print
    kind = {
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "float",
        list: "array",
        dict: "table",
    }.get(type(value), type(value).__name__)
    shown = repr(value) if not isinstance(value, (dict, list)) else kind
    return f"{kind} {shown}" if shown != kind else kind


def problems_from_validation(err: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into located, plain-language problems."""
    problems: list[Problem] = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        if loc and loc[-1] == "[key]":  # a key of a table field (rename, modules): located at the key itself
            loc = loc[:-1]
        kind = e["type"]
        where = format_location(loc)
        if kind == "missing":
            parent = format_location(loc[:-1])
            problems.append(Problem(parent or "plan", f"missing required key '{loc[-1]}'"))
        elif kind == "extra_forbidden":
            key = str(loc[-1])
            model = _model_at(loc)
            hint = ""
            if len(loc) == 2 and isinstance(loc[0], str) and key in _known_keys(Plan):
                # TOML puts every key below a [table] header into that table: a classic slip.
                hint = f"; '{key}' is a top-level key: move it above the [{loc[0]}] header"
            elif model is not None:
                close = difflib.get_close_matches(key, _known_keys(model), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(_known_keys(model))}"
            problems.append(Problem(where, f"unknown key {key!r}{hint}"))
        elif kind in _TYPE_NAMES:
            problems.append(Problem(where, f"expected {_TYPE_NAMES[kind]}, got {_describe(e.get('input'))}"))
        elif kind == "literal_error":
            expected = e.get("ctx", {}).get("expected", "")
            problems.append(Problem(where, f"{e.get('input')!r} is not one of {expected}"))
        elif kind in _BOUNDS:
            ctx = e.get("ctx", {})
            limit = next(iter(ctx.values()), "")
            problems.append(Problem(where, f"must be {_BOUNDS[kind]} {limit}, got {_describe(e.get('input'))}"))
        elif kind == "too_short":
            problems.append(Problem(where, "must not be empty"))
        elif kind == "value_error":
            msg = str(e["msg"]).removeprefix("Value error, ")
            problems.append(Problem(where, msg))
        else:
            problems.append(Problem(where, str(e["msg"])))
    return problems


def parse_plan(text: str, *, base_dir: Path, source: str = "<plan>") -> Plan:
    """Parse and statically validate plan text. Raises PlanError with every problem found."""
    plan, problems = parse_plan_lenient(text, base_dir=base_dir, source=source)
    if problems:
        raise PlanError(problems, source=source)
    return plan


def parse_plan_lenient(text: str, *, base_dir: Path, source: str = "<plan>") -> tuple[Plan, list[Problem]]:
    """Parse plan text into models; return them with the static problems found, so that a caller can add the
    repository's problems and report all at once. Raises PlanError if the text does not even form a plan."""
    deep = _too_deep(text)
    if deep is not None:
        raise PlanError([deep], source=source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)"; keep it, it is the location.
        raise PlanError([Problem("toml", f"not valid TOML: {exc}")], source=source) from None
    except (ValueError, RecursionError) as exc:  # Python's own limits: an integer too long to convert, say
        raise PlanError([_python_limit(text, exc)], source=source) from None
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(problems_from_validation(exc), source=source) from None
    plan = plan.with_base_dir(base_dir)
    return plan, static_problems(plan)


def load_plan(path: Path) -> Plan:
    """Read a plan file. Relative paths in it are taken relative to the file's directory."""
    plan, problems = load_plan_lenient(path)
    if problems:
        raise PlanError(problems, source=str(path))
    return plan


def load_plan_lenient(path: Path) -> tuple[Plan, list[Problem]]:
    """Like `load_plan`, but returns the static problems instead of raising for them."""
    raw = read_plan_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(
            [Problem("toml", f"not UTF-8 at byte {exc.start}: TOML files must be UTF-8")], source=str(path)
        ) from None
    return parse_plan_lenient(text, base_dir=path.resolve().parent, source=str(path))


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def read_plan_bytes(path: Path) -> bytes:
    """The plan file's bytes: a regular file (symlinks followed) of at most MAX_PLAN_BYTES. Opened without blocking,
    so that a FIFO is refused instead of waited on; a device (`/dev/zero`) is refused before a byte is read."""

    def fail(message: str) -> PlanError:
        return PlanError([Problem("", message)], source=str(path))

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise fail(f"plan file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise fail(f"cannot read {str(path)!r}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise fail(f"{str(path)!r} is {kind}, not a plan file; a plan is a regular file")
        if st.st_size > MAX_PLAN_BYTES:
            raise fail(f"{str(path)!r} has {st.st_size} bytes; a plan may have at most {MAX_PLAN_BYTES} (1 MiB)")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_PLAN_BYTES:  # the file may grow while it is read: never more than the limit and a byte
            chunk = os.read(fd, MAX_PLAN_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_PLAN_BYTES:
            raise fail(f"{str(path)!r} has more than {MAX_PLAN_BYTES} bytes (1 MiB), the most a plan may have")
        return b"".join(chunks)
    except OSError as exc:
        raise fail(f"cannot read {str(path)!r}: {exc.strerror}") from None
    finally:
        os.close(fd)


def _too_deep(text: str) -> Problem | None:
    """A `toml` problem at the first place the text nests deeper than MAX_DEPTH, counting arrays, tables
    (inline or headers) and the parts of dotted keys; None if it does not. A scan of brackets, dots and strings
    (not a parser): it runs before tomllib, whose recursion (arrays) and memory (dotted keys, quadratic) would
    otherwise give out first. Nesting a valid plan needs stays far below the limit, so the scan's simplifications
    (a dot in a number counts once, table headers count from the top) never refuse one."""
    stack: list[int] = []  # levels each open bracket adds: itself and the dotted key before it
    depth = dots = 0
    i, n = 0, len(text)
    while i < n:
        found = _SIGNIFICANT.search(text, i)
        if found is None:
            break
        i = found.start()
        ch = text[i]
        if ch in "\"'":
            triple = text.startswith(ch * 3, i)
            end = _string_end(text, i, ch, triple)
            if end < 0:
                return None  # unterminated: tomllib reports it, located
            i = end
            continue
        if ch == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if ch in "[{":
            stack.append(dots + 1)
            depth += dots + 1
            dots = 0
        elif ch in "]}":
            depth -= stack.pop() if stack else 0
            dots = 0
        elif ch in "=,\n":
            dots = 0
        elif ch == ".":
            dots += 1
        if depth + dots > MAX_DEPTH:
            line = text.count("\n", 0, i) + 1
            col = i - (text.rfind("\n", 0, i) + 1) + 1
            return Problem(
                "toml",
                f"nested deeper than {MAX_DEPTH} levels (arrays, tables and dotted keys) at line {line}, column {col}",
            )
        i += 1
    return None


def _string_end(text: str, start: int, quote: str, triple: bool) -> int:
    """The index after the TOML string starting at `start`, or -1 if it does not end. Basic strings (") have
    backslash escapes, literal ones (') do not; single-line strings end at a newline."""
    i = start + (3 if triple else 1)
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and quote == '"':
            i += 2
            continue
        if ch == "\n" and not triple:
            return -1
        if ch == quote and (not triple or text.startswith(quote * 3, i)):
            if not triple:
                return i + 1
            i += 3
            while i < n and text[i] == quote:  # up to two quotes may close the content: """a"""" ends after
                i += 1
            return i
        i += 1
    return -1


def _python_limit(text: str, exc: BaseException) -> Problem:
    """A `toml` problem for a value tomllib cannot build (Python refuses to convert an integer of more than
    `sys.get_int_max_str_digits()` digits): located where such an integer starts, if one does."""
    limit = sys.get_int_max_str_digits()
    long_int = re.search(rf"[0-9](?:_?[0-9]){{{limit},}}", text) if limit else None
    if isinstance(exc, ValueError) and long_int is not None:
        i = long_int.start()
        line = text.count("\n", 0, i) + 1
        col = i - (text.rfind("\n", 0, i) + 1) + 1
        return Problem("toml", f"an integer of more than {limit} digits at line {line}, column {col}")
    return Problem("toml", f"not valid TOML: {type(exc).__name__}: {exc}")
