"""Frozen pydantic models of a spinout plan, with the checks that need nothing but the plan itself.

docs/plan.md documents every field; keep the two in step. Checks that need the source repository live in
`spinout.plan.validate`. Every model forbids unknown keys so that a typo is an error, not a silent default.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import keyword
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

_DIST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?")
# NUL, newlines and other controls (Cc), invisible formatting such as bidirectional overrides or zero-width joiners
# (Cf), line and paragraph separators (Zl, Zp), lone surrogates (Cs): they corrupt git trees, split lines in INI
# files and messages, or make two different names look alike.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_CHAR_NAMES = {"\0": "a NUL", "\n": "a newline", "\r": "a carriage return", "\t": "a tab"}
MAX_PATH = 4096  # characters in a path (Linux's PATH_MAX); longer ones cannot be checked out
MAX_NAME = 255  # bytes in one path component or directory name (the usual file system limit)
MAX_BATCH = 10_000_000  # rows per copy batch: a batch is held in memory
MAX_ROWS = 2**63 - 1  # a row count: a signed 64-bit integer, as the databases count


class _Model(BaseModel):
    # strict: TOML has real booleans and integers; "yes" or "10" in a plan is a mistake, not a value to coerce.
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, strict=True)


def check_text(value: str) -> str:
    """Any string of a plan: no control, invisible formatting or line separator character (`_INVISIBLE`)."""
    if value.isprintable():  # the fast path: every character visible, or a plain space
        return value
    for ch in value:
        if unicodedata.category(ch) in _INVISIBLE:
            code = f"U+{ord(ch):04X}"
            named = unicodedata.name(ch, "")
            what = f"{code} ({named})" if named else f"{_CHAR_NAMES.get(ch, 'a control character')} ({code})"
            raise ValueError(
                f"{value!r} contains {what}; plan names, paths and values may not contain control or invisible "
                "formatting characters"
            )
    return value


def is_dotted_identifier(name: str) -> bool:
    """True for `a`, `a.b_c`: every dotted part a Python identifier and not a keyword."""
    parts = name.split(".")
    return all(p.isidentifier() and not keyword.iskeyword(p) for p in parts) and bool(name)


def _python_name(name: str, what: str) -> str:
    """A dotted Python name as Python reads it: Python folds identifiers to NFKC, so `acme_\uff4cb` (a fullwidth
    l) *is* `acme_lb` in an import, and a directory named with the fullwidth letter could never be imported."""
    folded = unicodedata.normalize("NFKC", name)
    if folded != name:
        raise ValueError(f"{what} {name!r} is not in NFKC form: Python reads it as {folded!r}; write it so")
    return name


def _git_lookalike(component: str) -> bool:
    """True for the names git refuses as a path component because a file system may take them for `.git`:
    any case (`.GIT`), trailing dots or spaces (`.git.`, NTFS drops them), the 8.3 short name `git~1`, an NTFS
    stream (`.git::$INDEX_ALLOCATION`)."""
    name = component.split(":", 1)[0].rstrip(". ").lower()
    return name in (".git", "git~1")


def check_repo_path(value: str, what: str) -> str:
    """A path inside a repository: relative, forward slashes, no empty, `.`/`..` or `.git` components, no control
    characters, not longer than the file system allows."""
    check_text(value)
    if not value:
        raise ValueError(f"{what} must not be empty")
    if "\\" in value:
        raise ValueError(f"{what} {value!r} uses backslashes; write repository paths with '/'")
    if value.startswith("/"):
        raise ValueError(f"{what} {value!r} is absolute; write it relative to the repository root")
    if len(value) > MAX_PATH:
        raise ValueError(f"{what} of {len(value)} characters is longer than {MAX_PATH}")
    parts = value.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{what} {value!r} has an empty, '.' or '..' component")
    for p in parts:
        if _git_lookalike(p):
            raise ValueError(f"{what} {value!r} has the component {p!r}, which git takes for '.git' and refuses")
        if len(p.encode("utf-8", "surrogatepass")) > MAX_NAME:
            raise ValueError(f"{what} {value!r} has a component longer than {MAX_NAME} bytes")
    return value


def check_glob(value: str, what: str) -> str:
    """A shell-style pattern (fnmatch): reject unbalanced brackets, which fnmatch would take literally."""
    check_text(value)
    depth = 0
    for ch in value:
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
    if depth:
        raise ValueError(f"{what} {value!r} has an unclosed '['")
    fnmatch.translate(value)
    return value


# what `git check-ref-format` refuses, besides controls: '..', '@{', a component starting with '.' or ending in
# '.lock', '//', a trailing '/' or '.', and ' ~^:\' ('*?[' are the plan's patterns)
_BAD_REF = re.compile(r"\.\.|@\{|//|/\.|\.lock(?:/|\Z)|[/.]\Z|[ ~^:\\]")


def _full_ref(ref: str) -> str:
    check_text(ref)
    if not ref.startswith("refs/"):
        raise ValueError(f"ref {ref!r} must be a full name such as 'refs/heads/{ref}'")
    if _BAD_REF.search(ref) or ref == "refs/":
        raise ValueError(f"ref {ref!r} is not a valid ref name (see `git check-ref-format`)")
    return check_glob(ref, "ref pattern")


def _table(name: str) -> str:
    check_text(name)
    if not _TABLE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid table name")
    return name


def _allow_entry(entry: str) -> str:
    check_text(entry)
    parts = [p.strip() for p in entry.split("->")]
    if len(parts) != 2 or not all(is_dotted_identifier(p) for p in parts):
        raise ValueError(f"allow entry {entry!r} must read 'importer.module -> imported.module'")
    for p in parts:
        _python_name(p, "module")
    return entry


def _module_name(name: str) -> str:
    if not is_dotted_identifier(name):
        check_text(name)
        raise ValueError(f"{name!r} is not a dotted module name")
    return _python_name(name, "module")


def _dist_name(v: str) -> str:
    if not _DIST_NAME.fullmatch(v):
        check_text(v)  # say which character, if it is one of those
        raise ValueError(f"{v!r} is not a valid distribution name (letters, digits, '.', '_', '-')")
    if len(v) > MAX_NAME:
        raise ValueError(f"name of {len(v)} characters is longer than {MAX_NAME}")
    return v


def _package_name(v: str) -> str:
    if not is_dotted_identifier(v):
        check_text(v)
        raise ValueError(f"{v!r} is not a valid Python package name")
    if len(v) > MAX_NAME:
        raise ValueError(f"package name of {len(v)} characters is longer than {MAX_NAME}")
    return _python_name(v, "package")


def dist_key(name: str) -> str:
    """A distribution name as package indexes compare them (PEP 503): `Acme_LB` and `acme-lb` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


Text = Annotated[str, AfterValidator(check_text)]
DistName = Annotated[str, AfterValidator(_dist_name)]
PackageName = Annotated[str, AfterValidator(_package_name)]
RepoPath = Annotated[str, AfterValidator(lambda v: check_repo_path(v, "path"))]
RefName = Annotated[str, AfterValidator(_full_ref)]
TableName = Annotated[str, AfterValidator(_table)]
AllowEntry = Annotated[str, AfterValidator(_allow_entry)]
RenameSource = Annotated[str, AfterValidator(lambda v: check_repo_path(v, "rename source"))]
RenameTarget = Annotated[str, AfterValidator(lambda v: v if v == "" else check_repo_path(v, "rename target"))]
ModuleName = Annotated[str, AfterValidator(_module_name)]


def _local_path(value: str, what: str) -> str:
    """A file system path of the plan (source.repo, output.dir): not empty, no control character."""
    check_text(value)
    if not value:
        raise ValueError("must not be empty; write '.' for the plan's folder")
    if len(value) > MAX_PATH:
        raise ValueError(f"{what} of {len(value)} characters is longer than {MAX_PATH}")
    return value


class Source(_Model):
    """The monorepo to split. Never written to."""

    repo: Annotated[str, AfterValidator(lambda v: _local_path(v, "path"))] = Field(
        description="path of the source repository, relative to the plan file"
    )
    refs: list[RefName] = Field(default_factory=lambda: ["refs/heads/main"], min_length=1)
    main: str | None = Field(default=None, description="branch the targets build on; default: first of refs")

    @field_validator("main")
    @classmethod
    def _main_is_branch(cls, main: str | None) -> str | None:
        if main is not None and not main.startswith("refs/heads/"):
            check_text(main)
            raise ValueError(f"main {main!r} must be a branch such as 'refs/heads/main'")
        return None if main is None else _full_ref(main)

    @property
    def main_ref(self) -> str:
        if self.main is not None:
            return self.main
        for ref in self.refs:
            if ref.startswith("refs/heads/") and not any(ch in ref for ch in "*?["):
                return ref
        return "refs/heads/main"


class Output(_Model):
    """Where the target repositories go: `<dir>/<service name>` and `<dir>/<core name>`."""

    dir: Annotated[str, AfterValidator(lambda v: _local_path(v, "path"))] = "spinout-out"
    bare: bool = False


class Compat(_Model):
    """What the core's removal commit leaves behind for old import paths."""

    shims: bool = True
    entry_point_aliases: bool = True


class CoreSetting(_Model):
    """A setting the config stage sets or extends in the core's own config file."""

    file: str
    section: Text = Field(min_length=1)
    key: Text = Field(min_length=1)
    value: Text
    action: Literal["set", "append"] = "set"

    @field_validator("file")
    @classmethod
    def _file(cls, v: str) -> str:
        return check_repo_path(v, "file")


class Core(_Model):
    """The monorepo's remaining part."""

    name: DistName
    package: PackageName
    history: Literal["remove", "rewrite"] = "remove"
    dependency: Literal["services-require-core", "core-requires-services"] = "services-require-core"
    compat: Compat = Field(default_factory=Compat)
    settings: list[CoreSetting] = Field(default_factory=list)


class ConfigRule(_Model):
    """Move configuration from a core INI file into a service's file.

    Exactly one kind: the whole `section`; the named `options` of it; or the values of the repeated `key` that
    match the glob `match`.
    """

    from_: str = Field(alias="from")
    to: str
    section: Text = Field(min_length=1)
    options: list[Text] | None = None
    key: Text | None = None
    match: str | None = None

    @field_validator("from_", "to")
    @classmethod
    def _paths(cls, v: str) -> str:
        return check_repo_path(v, "file")

    @field_validator("match")
    @classmethod
    def _match(cls, v: str | None) -> str | None:
        return None if v is None else check_glob(v, "match")

    @model_validator(mode="after")
    def _one_kind(self) -> ConfigRule:
        if self.options is not None and (self.key is not None or self.match is not None):
            raise ValueError("give either 'options' or 'key' with 'match', not both")
        if self.match is not None and self.key is None:
            raise ValueError("'match' needs 'key': the repeated option whose values it selects")
        if self.key is not None and self.match is None:
            raise ValueError("'key' needs 'match': a pattern such as 'LOADBALANCER:*'")
        if self.options is not None and not self.options:
            raise ValueError("'options' is empty; leave it out to move the whole section")
        if self.from_ == self.to:
            raise ValueError(f"'from' and 'to' are the same file {self.to!r}")
        return self

    @property
    def kind(self) -> Literal["section", "options", "values"]:
        if self.key is not None:
            return "values"
        if self.options is not None:
            return "options"
        return "section"


class Service(_Model):
    """One service leaving the monorepo.

    `paths` are what the service takes; those also listed in `shared` are copies (package `__init__.py` files,
    top-level files such as tox.ini): they stay in the core, and other services may claim them too. Everything else
    in `paths` moves: the core's removal commit deletes it and its modules get new names.
    """

    name: DistName
    package: PackageName
    paths: list[RepoPath] = Field(min_length=1)
    shared: list[RepoPath] = Field(default_factory=list)
    rename: dict[RenameSource, RenameTarget] = Field(default_factory=dict)
    follow_renames: bool = False
    # follow_renames' answer corrected by hand (docs/plan.md): old paths never followed, and current file → earlier
    # names to keep (and follow further back) that the walk cannot find
    earlier_names_veto: list[RepoPath] = Field(default_factory=list)
    earlier_names_add: dict[RepoPath, list[RepoPath]] = Field(default_factory=dict)
    merge: list[RefName] = Field(default_factory=list)
    tables: list[TableName] = Field(default_factory=list)
    config: list[ConfigRule] = Field(default_factory=list)
    modules: dict[ModuleName, ModuleName] = Field(default_factory=dict)

    @field_validator("rename")
    @classmethod
    def _rename(cls, v: dict[str, str]) -> dict[str, str]:
        wrong = []  # every mismatch, in one problem
        for old, new in v.items():
            if old.endswith("/") != (new.endswith("/") or new == ""):
                if old.endswith("/"):
                    wrong.append(
                        f"rename {old!r} -> {new!r}: a directory must be renamed to a directory (end both with '/')"
                    )
                else:
                    wrong.append(f"rename {old!r} -> {new!r}: a file must be renamed to a file (no trailing '/')")
        if wrong:
            raise ValueError("; ".join(wrong))
        return v

    def renamed(self, path: str) -> str:
        """Where `path` lands in the target: the longest matching rename prefix wins."""
        # A directory source ('a/') renames everything below it; a file source ('a.ini') only itself, not
        # 'a.ini.sample'. The candidates are `path` itself and its directory prefixes, longest first: a lookup per
        # prefix, not a scan of every rename (a plan may have thousands).
        if path in self.rename and not path.endswith("/"):
            return self.rename[path]
        end = len(path)
        while end > 0:
            slash = path.rfind("/", 0, end)
            if slash < 0:
                break
            prefix = path[: slash + 1]
            if prefix in self.rename:
                return self.rename[prefix] + path[len(prefix) :]
            end = slash
        return path


class Boundary(_Model):
    """The import rule that keeps the core from importing the services."""

    allow: list[AllowEntry] = Field(default_factory=list)
    contract: Literal["protected", "forbidden"] = "protected"
    config: Literal["auto", ".importlinter", "setup.cfg", "pyproject.toml"] = Field(
        default="auto", description="the core's file `spinout guard` writes the contract into; auto: the one in use"
    )

    def allowed_pairs(self) -> list[tuple[str, str]]:
        out = []
        for entry in self.allow:
            importer, imported = (p.strip() for p in entry.split("->"))
            out.append((importer, imported))
        return out


class Database(_Model):
    """How service tables leave the core's database."""

    mode: Literal["separate", "shared"] = "separate"
    metadata: Text | None = Field(default=None, description="'module:attr' of the models' MetaData")
    batch_size: Annotated[int, Field(gt=0, le=MAX_BATCH)] | None = Field(
        default=None, description="rows per copy batch; unset: 5000, or 100000 on the PostgreSQL COPY relay"
    )
    no_pk_row_limit: Annotated[int, Field(gt=0, le=MAX_ROWS)] = 1_000_000
    pass_through: bool = Field(
        default=True,
        description="same MariaDB/MySQL server on both ends: let it move each batch with INSERT ... SELECT",
    )

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, v: str | None) -> str | None:
        if v is None:
            return v
        module, _, attr = v.partition(":")
        if not is_dotted_identifier(module) or not is_dotted_identifier(attr):
            raise ValueError(f"metadata {v!r} must read 'package.module:attribute'")
        return _python_name(v, "metadata")


class Code(_Model):
    """The code stage's choices (`spinout rewrite`); docs/code.md.

    `references`: globs (fnmatch on the whole path or the file name) of non-Python files whose dotted names and
    paths are rewritten; None means the stage's defaults (setup.cfg, tox.ini, MANIFEST.in, .gitreview, README*,
    *.rst, *.md, *.txt, *.ini, *.cfg, *.conf, *.sample, *.toml, *.yaml, *.yml). `exclude`: globs of files the stage
    leaves alone, Python or not.
    """

    references: list[str] | None = None
    exclude: list[str] = Field(default_factory=list)

    @field_validator("references", "exclude")
    @classmethod
    def _globs(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        for g in v:
            if not g:
                raise ValueError("an empty glob matches nothing; remove it")
            check_glob(g, "glob")
        return v


class Plan(_Model):
    """A whole spin-off plan."""

    source: Source
    core: Core
    service: list[Service] = Field(min_length=1)
    output: Output = Field(default_factory=Output)
    boundary: Boundary = Field(default_factory=Boundary)
    database: Database = Field(default_factory=Database)
    code: Code = Field(default_factory=Code)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @property
    def base_dir(self) -> Path:
        """The directory the plan's relative paths are relative to (the plan file's directory)."""
        return self._base_dir

    def with_base_dir(self, base: Path) -> Plan:
        self._base_dir = base
        return self

    @property
    def source_repo(self) -> Path:
        return (self._base_dir / self.source.repo).resolve()

    @property
    def output_dir(self) -> Path:
        return (self._base_dir / self.output.dir).resolve()

    def target_dir(self, name: str) -> Path:
        return self.output_dir / name

    def service_named(self, name: str) -> Service:
        for s in self.service:
            if s.name == name:
                return s
        raise KeyError(name)

    def fingerprint(self) -> str:
        """A stable digest of the plan's content, used to invalidate incremental state."""
        blob = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def path_covers(prefix: str, path: str) -> bool:
    """True if plan path `prefix` (a directory when it ends in '/', else an exact file) covers `path`."""
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix


def paths_overlap(a: str, b: str) -> bool:
    """True if two plan paths can select a common file."""
    if a.endswith("/") and b.endswith("/"):
        return a.startswith(b) or b.startswith(a)
    if a.endswith("/"):
        return b.startswith(a)
    if b.endswith("/"):
        return a.startswith(b)
    return a == b
