"""Non-Python references to moved code: setup.cfg, tox.ini, MANIFEST.in, .gitreview, README and docs, INI values.

Three rewrites, line by line so that everything else stays byte-identical:

- dotted names of moved modules, on dotted-name boundaries (entry points, `service_plugins = a.b.C`, docs text);
- repository paths (`acme/services/lb/...` in tox.ini commands, MANIFEST.in, setup.cfg data_files): a path is
  renamed with the service's `rename` rules only when the renamed path exists in the target, so a path to code
  that stayed in the core is left alone;
- `.gitreview`'s `project=` value names the service repository instead of the core's.

Which files: `DEFAULT_REFERENCE_GLOBS` (fnmatch on the whole path; `*` crosses `/`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from spinout.code.transform import Renamer, Rewrite

DEFAULT_REFERENCE_GLOBS: tuple[str, ...] = (
    "setup.cfg",
    "tox.ini",
    "MANIFEST.in",
    ".gitreview",
    "README*",
    "*.rst",
    "*.md",
    "*.txt",
    "*.ini",
    "*.cfg",
    "*.conf",
    "*.sample",
    "*.toml",
    "*.yaml",
    "*.yml",
)

KIND_REF_NAME = "reference-name"
KIND_REF_PATH = "reference-path"
KIND_REF_PROJECT = "reference-project"

# A path-like word: at least one '/', made of the characters paths in these files use.
_PATH = re.compile(r"(?<![\w./-])[\w.-]+(?:/[\w.-]+)+/?|(?<![\w./-])[\w.-]+/(?![\w.-])")
_GITREVIEW_PROJECT = re.compile(r"^(\s*project\s*=\s*)(\S+?)(\.git)?(\s*)$")


def is_reference_file(path: str, globs: Iterable[str] = DEFAULT_REFERENCE_GLOBS) -> bool:
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(path, g) or fnmatch.fnmatchcase(name, g) for g in globs)


@dataclass(frozen=True)
class PathRenamer:
    """Renames repository paths that point into the target: `rename` is the service's rule, `exists` the target."""

    rename: Callable[[str], str]
    files: frozenset[str]
    dirs: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_tree(cls, rename: Callable[[str], str], files: Iterable[str]) -> PathRenamer:
        fs = frozenset(files)
        dirs = {f.rsplit("/", i)[0] for f in fs for i in range(1, f.count("/") + 1)}
        return cls(rename, fs, frozenset(dirs))

    def __call__(self, path: str) -> str | None:
        new = self.rename(path)
        if new == path:
            return None
        bare = new.rstrip("/")
        if bare in self.files or bare in self.dirs:
            return new
        return None


def rewrite_reference(
    path: str, data: bytes, renamer: Renamer, paths: PathRenamer | None, project: tuple[str, str] | None
) -> tuple[bytes, list[Rewrite]]:
    """Rewrite one non-Python file; `project` is (core name, service name) for .gitreview."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data, []
    rewrites: list[Rewrite] = []
    out: list[str] = []
    gitreview = path.rsplit("/", 1)[-1] == ".gitreview"
    for n, line in enumerate(text.splitlines(keepends=True), start=1):
        new_line, changes = renamer.sub_text(line)
        rewrites.extend(Rewrite(path, n, o, nw, KIND_REF_NAME) for o, nw in changes)
        if paths is not None:

            def repl(m: re.Match[str], n: int = n) -> str:
                old = m.group(0)
                new = paths(old)
                if new is None:
                    return old
                rewrites.append(Rewrite(path, n, old, new, KIND_REF_PATH))
                return new

            new_line = _PATH.sub(repl, new_line)
        if gitreview and project is not None:
            m = _GITREVIEW_PROJECT.match(new_line.rstrip("\n"))
            if m:
                value = m.group(2)
                head, sep, tail = value.rpartition("/")
                if tail == project[0]:
                    new_value = head + sep + project[1]
                    rewrites.append(Rewrite(path, n, value, new_value, KIND_REF_PROJECT))
                    ending = new_line[len(new_line.rstrip("\n")) :]
                    new_line = m.group(1) + new_value + (m.group(3) or "") + m.group(4) + ending
        out.append(new_line)
    if not rewrites:
        return data, []
    return "".join(out).encode("utf-8"), rewrites
