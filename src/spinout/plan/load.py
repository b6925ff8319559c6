"""Read a plan file: TOML → frozen models, every problem collected and located, never a traceback."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from spinout.errors import PlanError, Problem
from spinout.plan.model import Plan
from spinout.plan.validate import static_problems


def format_location(loc: Iterable[str | int]) -> str:
    """('service', 1, 'paths', 2) → 'service[1].paths[2]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
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
            problems.append(Problem(where, f"unknown key '{key}'{hint}"))
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
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)"; keep it, it is the location.
        raise PlanError([Problem("toml", f"not valid TOML: {exc}")], source=source) from None
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
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PlanError([Problem("", f"plan file {str(path)!r} does not exist")], source=str(path)) from None
    except IsADirectoryError:
        raise PlanError([Problem("", f"{str(path)!r} is a directory, not a plan file")], source=str(path)) from None
    except OSError as exc:
        raise PlanError([Problem("", f"cannot read {str(path)!r}: {exc.strerror}")], source=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(
            [Problem("toml", f"not UTF-8 at byte {exc.start}: TOML files must be UTF-8")], source=str(path)
        ) from None
    return parse_plan_lenient(text, base_dir=path.resolve().parent, source=str(path))
