"""Token-level rewrite for files libcst cannot parse (Python 2: `except X, e:`, print statements, backticks).

Python's tokenize module reads most Python 2 token streams, because it knows nothing of grammar. On the tokens:

- a dotted-name run `a.b.c` (NAME ('.' NAME)*, maximal, so matched on dotted-name boundaries) is renamed when it
  lies in a moved module — this covers `import a.b.c`, `import a.b.c as x` and attribute chains spelled out in full;
- `from P import n1, n2 as m`: each name is renamed as `P.n`; when all go to one new module the statement is
  rewritten in place (with `as` keeping the local name when the last component changes); when they go apart and
  the statement fits on one unparenthesized line it is split into one line per destination, else it is left alone
  and reported as a warning;
- a string token gets the same dotted-name substitution as in parsed files.

When tokenize gives up too, a regex on dotted-name boundaries over the whole text renames full dotted names (imports
and strings), and that is reported. Given the file's context, explicit relative imports that no longer resolve are
made absolute. What this pass does not do, and the libcst pass does: follow local bindings (`from acme import
services` + `services.lb.x`), and add or drop imports.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field

from spinout.code.transform import FileContext, Renamer, Rewrite, resolve_relative

KIND_FB_NAME = "fallback-name"
KIND_FB_FROM = "fallback-from-import"
KIND_FB_STRING = "fallback-string"
KIND_FB_REGEX = "fallback-regex"


@dataclass
class FallbackOutcome:
    after: bytes
    rewrites: list[Rewrite] = field(default_factory=list)
    method: str = "tokenize"
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


def rewrite_fallback(data: bytes, path: str, renamer: Renamer, ctx: FileContext | None = None) -> FallbackOutcome:
    """Rewrite a file that libcst cannot parse; never raises for unreadable syntax.

    With `ctx` (the file's module before and after the move), an explicit relative import that no longer resolves
    to where it did is made absolute, as in the libcst pass."""
    text = data.decode("utf-8", errors="surrogateescape")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return _regex_pass(text, path, renamer)
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(pos: tuple[int, int]) -> int:
        return starts[pos[0] - 1] + pos[1]

    out = FallbackOutcome(b"")
    edits: list[_Edit] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == tokenize.STRING:
            new, changes = renamer.sub_text(tok.string)
            if changes:
                edits.append(_Edit(offset(tok.start), offset(tok.end), new))
                out.rewrites.extend(Rewrite(path, tok.start[0], o, n, KIND_FB_STRING) for o, n in changes)
            i += 1
            continue
        if tok.type == tokenize.NAME and tok.string == "from" and _statement_start(tokens, i):
            j = _from_import(tokens, i, text, offset, renamer, path, out, edits, ctx)
            if j > i:
                i = j
                continue
        if tok.type == tokenize.NAME and not _after_dot(tokens, i):
            run, j = _dotted_run(tokens, i)
            renamed = renamer.rename(run) if "." in run else None
            if renamed is not None and renamed != run:
                edits.append(_Edit(offset(tok.start), offset(tokens[j - 1].end), renamed))
                out.rewrites.append(Rewrite(path, tok.start[0], run, renamed, KIND_FB_NAME))
            i = max(j, i + 1)
            continue
        i += 1
    out.after = _apply(text, edits).encode("utf-8", errors="surrogateescape")
    return out


def _apply(text: str, edits: list[_Edit]) -> str:
    for e in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: e.start] + e.text + text[e.end :]
    return text


def _regex_pass(text: str, path: str, renamer: Renamer) -> FallbackOutcome:
    out = FallbackOutcome(b"", method="regex")
    new_lines = []
    for n, line in enumerate(text.splitlines(keepends=True), start=1):
        new, changes = renamer.sub_text(line)
        out.rewrites.extend(Rewrite(path, n, o, nw, KIND_FB_REGEX) for o, nw in changes)
        new_lines.append(new)
    out.after = "".join(new_lines).encode("utf-8", errors="surrogateescape")
    out.warnings.append(f"{path}: tokenize failed; renamed full dotted names by regex only")
    return out


def _after_dot(tokens: list[tokenize.TokenInfo], i: int) -> bool:
    return i > 0 and tokens[i - 1].type == tokenize.OP and tokens[i - 1].string == "."


def _statement_start(tokens: list[tokenize.TokenInfo], i: int) -> bool:
    k = i - 1
    while k >= 0 and tokens[k].type in (tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.NL):
        k -= 1
    return k < 0 or tokens[k].type == tokenize.NEWLINE or (tokens[k].type == tokenize.OP and tokens[k].string in ";:")


def _dotted_run(tokens: list[tokenize.TokenInfo], i: int) -> tuple[str, int]:
    """The dotted name starting at token i (adjacent NAME . NAME ...), and the index after it."""
    parts = [tokens[i].string]
    j = i + 1
    while (
        j + 1 < len(tokens)
        and tokens[j].type == tokenize.OP
        and tokens[j].string == "."
        and tokens[j + 1].type == tokenize.NAME
    ):
        parts.append(tokens[j + 1].string)
        j += 2
    return ".".join(parts), j


def _from_import(
    tokens: list[tokenize.TokenInfo],
    i: int,
    text: str,
    offset: Callable[[tuple[int, int]], int],
    renamer: Renamer,
    path: str,
    out: FallbackOutcome,
    edits: list[_Edit],
    ctx: FileContext | None = None,
) -> int:
    """Handle `from P import ...` at token i; return the index after the statement, or i when not handled."""
    j = i + 1
    level = 0
    while j < len(tokens) and tokens[j].type == tokenize.OP and set(tokens[j].string) == {"."}:
        level += len(tokens[j].string)  # tokenize gives '.' and '...' tokens
        j += 1
    written: str | None = None
    if j < len(tokens) and tokens[j].type == tokenize.NAME and tokens[j].string != "import":
        written, j = _dotted_run(tokens, j)
    if level == 0 and written is None:
        return i
    mod_start, mod_end = tokens[i + 1], tokens[j - 1]
    if j >= len(tokens) or tokens[j].string != "import":
        return i
    relative_fix: str | None = None
    if level:
        if ctx is None:
            return i
        old_base = resolve_relative(ctx.old_module, ctx.is_package, level, written)
        new_base = resolve_relative(ctx.new_module, ctx.is_package, level, written)
        if old_base is None or new_base is None:
            return i
        module = old_base
    else:
        assert written is not None
        module = written
    j += 1
    paren = j < len(tokens) and tokens[j].string == "("
    if paren:
        j += 1
    names: list[tuple[str, str | None, tokenize.TokenInfo, tokenize.TokenInfo]] = []
    while j < len(tokens):
        tok = tokens[j]
        if tok.type == tokenize.NAME:
            name, alias, first, last = tok.string, None, tok, tok
            if j + 2 < len(tokens) and tokens[j + 1].string == "as" and tokens[j + 2].type == tokenize.NAME:
                alias, last = tokens[j + 2].string, tokens[j + 2]
                j += 2
            names.append((name, alias, first, last))
            j += 1
        elif (tok.type == tokenize.OP and tok.string == ",") or (tok.type in (tokenize.NL, tokenize.COMMENT) and paren):
            j += 1
        else:
            break
    if paren and j < len(tokens) and tokens[j].string == ")":
        j += 1
    if level:
        targets = [module] if not names or names[0][0] == "*" else [f"{module}.{n}" for n, _, _, _ in names]
        actual = [new_base] if not names or names[0][0] == "*" else [f"{new_base}.{n}" for n, _, _, _ in names]
        if all((renamer.rename(t) or t) == a for t, a in zip(targets, actual, strict=True)):
            return j  # still resolves to the same code: leave it relative
        relative_fix = module
    if not names or names[0][0] == "*":
        new = renamer.rename(module) or relative_fix
        if new is not None:
            edits.append(_Edit(offset(mod_start.start), offset(mod_end.end), new))
            out.rewrites.append(Rewrite(path, mod_start.start[0], module, new, KIND_FB_FROM))
        return j
    dest: list[tuple[str, str, str | None] | None] = []
    for name, alias, _first, _last in names:
        new_full = renamer.rename(f"{module}.{name}")
        if new_full is None:
            dest.append(None)
            continue
        parent, _dot, tail = new_full.rpartition(".")
        local = alias or name
        dest.append((parent, tail, None if local == tail else local))
    if all(d is None for d in dest):
        if relative_fix is not None:
            edits.append(_Edit(offset(mod_start.start), offset(mod_end.end), relative_fix))
            out.rewrites.append(Rewrite(path, tokens[i].start[0], "." * level + (written or ""), module, KIND_FB_FROM))
        return j
    parents = {d[0] for d in dest if d is not None}
    line_no = tokens[i].start[0]
    if None not in dest and len(parents) == 1:
        new_module = parents.pop()
        edits.append(_Edit(offset(mod_start.start), offset(mod_end.end), new_module))
        for (_name, _alias, first, last), d in zip(names, dest, strict=True):
            assert d is not None
            spelled = d[1] if d[2] is None else f"{d[1]} as {d[2]}"
            if spelled != text[offset(first.start) : offset(last.end)]:
                edits.append(_Edit(offset(first.start), offset(last.end), spelled))
        old_spelled, new_spelled = f"from {module} import ...", f"from {new_module} import ..."
        out.rewrites.append(Rewrite(path, line_no, old_spelled, new_spelled, KIND_FB_FROM))
        return j
    end_tok = tokens[j - 1]
    if paren or end_tok.start[0] != line_no:
        out.warnings.append(f"{path}:{line_no}: `from {module} import` mixes moved and kept names over several lines")
        return j
    # Split a one-line statement into one line per destination, at the same indentation.
    line_start = offset((line_no, 0))
    indent = text[line_start : offset(tokens[i].start)]
    groups: dict[str, list[str]] = {}
    for (name, alias, _, _), d in zip(names, dest, strict=True):
        if d is None:
            groups.setdefault(module, []).append(name if alias is None else f"{name} as {alias}")
        else:
            groups.setdefault(d[0], []).append(d[1] if d[2] is None else f"{d[1]} as {d[2]}")
    stmt = "\n".join(
        f"{indent if k else ''}from {m} import {', '.join(ns)}" for k, (m, ns) in enumerate(groups.items())
    )
    edits.append(_Edit(offset(tokens[i].start), offset(end_tok.end), stmt))
    out.rewrites.append(Rewrite(path, line_no, f"from {module} import ...", stmt.replace("\n", "; "), KIND_FB_FROM))
    return j
