"""Plan checks beyond field types: across services (static) and against the source repository.

Pure functions returning located `Problem`s; nothing here raises for a plan defect, so that a user sees every
problem in one run. The repository is reached through the small `RepoView` protocol (see `spinout.repo`).
"""

from __future__ import annotations

import bisect
import fnmatch
import unicodedata
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Literal, Protocol

from spinout.errors import Problem
from spinout.plan.model import Plan, Service, dist_key, paths_overlap
from spinout.plan.places import real, removal_conflict, write_conflict


class RepoView(Protocol):
    """What plan validation needs to know about the source repository."""

    def ref_names(self) -> list[str]: ...

    def resolve(self, ref: str) -> str | None: ...

    def kind_at(self, ref: str, path: str) -> Literal["tree", "blob"] | None: ...

    def files_in_history(self, refs: Sequence[str], paths: Collection[str]) -> set[str]: ...

    def directories(self) -> Sequence[Path]:
        """The repository's real work tree and git directories (`spinout.repo.repository_dirs`)."""
        ...


class PathIndex:
    """A list of plan paths, indexed so that the overlap questions cost a lookup per directory level of the path asked
    about, not a scan of every path: a plan may list thousands, and `plan check` must stay fast on any plan."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._at: dict[str, list[int]] = {}
        for i, path in enumerate(paths):
            self._at.setdefault(path, []).append(i)
        self._sorted = sorted(self._at)

    def __contains__(self, path: str) -> bool:
        return path in self._at

    def covering(self, path: str) -> list[int]:
        """Indexes of the directory paths that cover `path` (its directory prefixes, and itself if a directory)."""
        out: list[int] = []
        slash = path.find("/")
        while slash >= 0:
            out.extend(self._at.get(path[: slash + 1], ()))
            slash = path.find("/", slash + 1)
        return sorted(out)

    def overlapping(self, path: str) -> list[int]:
        """Indexes of the paths that can select a common file with `path` (`paths_overlap`)."""
        found = set(self.covering(path))
        if path.endswith("/"):
            k = bisect.bisect_left(self._sorted, path)
            while k < len(self._sorted) and self._sorted[k].startswith(path):
                found.update(self._at[self._sorted[k]])
                k += 1
        else:
            found.update(self._at.get(path, ()))
        return sorted(found)


def _nfkc(name: str) -> str:
    return unicodedata.normalize("NFKC", name)


def static_problems(plan: Plan) -> list[Problem]:
    problems: list[Problem] = []
    add = problems.append

    # names compared as package indexes (PEP 503) and case-insensitive file systems do: 'Acme_LB' is 'acme-lb';
    # packages as Python does (NFKC)
    names: dict[str, tuple[str, str]] = {dist_key(plan.core.name): ("core.name", plan.core.name)}
    packages: dict[str, tuple[str, str]] = {_nfkc(plan.core.package): ("core.package", plan.core.package)}
    for i, svc in enumerate(plan.service):
        loc = f"service[{i}]"
        for key, used, value, what in (
            (dist_key(svc.name), names, svc.name, "name"),
            (_nfkc(svc.package), packages, svc.package, "package"),
        ):
            if key in used:
                where, first = used[key]
                same = "" if first == value else f" ({first!r}: the same {what} once normalized)"
                add(Problem(f"{loc}.{what}", f"{what} {value!r} is already used by {where}{same}"))
            used.setdefault(key, (f"{loc}.{what}", value))

        seen: dict[str, int] = {}
        for j, path in enumerate(svc.paths):
            if path in seen:
                add(Problem(f"{loc}.paths[{j}]", f"{path!r} is listed twice (also paths[{seen[path]}])"))
            seen.setdefault(path, j)
        index = PathIndex(svc.paths)
        for j, path in enumerate(svc.shared):
            if path not in index:
                add(Problem(f"{loc}.shared[{j}]", f"{path!r} is not one of this service's paths"))

        for j, path in enumerate(svc.paths):
            for k in index.covering(path):
                other = svc.paths[k]
                if other != path:
                    add(Problem(f"{loc}.paths[{j}]", f"{path!r} is already covered by paths[{k}] {other!r}"))

        for old in svc.rename:
            # A rename source covers a path below it, or a directory path it lies inside.
            if not index.overlapping(old):
                add(Problem(f"{loc}.rename", f"rename source {old!r} covers none of this service's paths"))

        # Two kept paths must not land in one place.
        landed: dict[str, int] = {}
        dests = [svc.renamed(path) for path in svc.paths]
        for j, path in enumerate(svc.paths):
            dest = dests[j]
            if dest in landed and svc.paths[landed[dest]] != path:
                other = svc.paths[landed[dest]]
                add(Problem(f"{loc}.rename", f"{other!r} and {path!r} are both renamed to {dest!r}"))
            landed.setdefault(dest, j)
        landing = PathIndex(dests)
        for j, path in enumerate(svc.paths):
            dest = dests[j]
            # Each pair once (k > j): the overlap is one problem, not two.
            for k in landing.overlapping(dest):
                other, odest = svc.paths[k], dests[k]
                if k <= j or dest == odest or paths_overlap(path, other):
                    continue
                add(
                    Problem(
                        f"{loc}.rename",
                        f"{path!r} and {other!r} would overlap after renaming ({dest!r}, {odest!r})",
                    )
                )

        problems.extend(_earlier_names_problems(loc, svc))

        rules_seen: dict[str, int] = {}
        for j, rule in enumerate(svc.config):
            key = rule.model_dump_json()
            if key in rules_seen:
                add(Problem(f"{loc}.config[{j}]", f"the same rule as config[{rules_seen[key]}]"))
            rules_seen.setdefault(key, j)

        table_seen: dict[str, int] = {}
        for j, table in enumerate(svc.tables):
            if table in table_seen:
                add(Problem(f"{loc}.tables[{j}]", f"table {table!r} is listed twice"))
            table_seen.setdefault(table, j)

        for j, ref in enumerate(svc.merge):
            if any(ch in ref for ch in "*?["):
                add(Problem(f"{loc}.merge[{j}]", f"{ref!r}: merge takes exact refs, not patterns"))
            elif ref == plan.source.main_ref:
                add(Problem(f"{loc}.merge[{j}]", f"{ref!r} is the main branch itself; merge names other branches"))

    # Services may claim the same path only where both declare it shared.
    indexes = [PathIndex(svc.paths) for svc in plan.service]
    shared = [set(svc.shared) for svc in plan.service]
    clashes: list[tuple[int, int, int, int]] = []  # (service i, service j > i, path of i, path of j)
    for j, b in enumerate(plan.service):
        for pj, pb in enumerate(b.paths):
            for i in range(j):
                for pi in indexes[i].overlapping(pb):
                    if not (plan.service[i].paths[pi] in shared[i] and pb in shared[j]):
                        clashes.append((i, j, pi, pj))
    for i, j, pi, pj in sorted(clashes):
        a, pa, pb = plan.service[i], plan.service[i].paths[pi], plan.service[j].paths[pj]
        add(
            Problem(
                f"service[{j}].paths[{pj}]",
                f"{pb!r} overlaps {pa!r} of service[{i}] ({a.name}); list it in 'shared' of both "
                "services if both should get it",
            )
        )

    # Two services must not both move the same whole section of the same file.
    sections: dict[tuple[str, str], str] = {}
    for i, svc in enumerate(plan.service):
        for j, rule in enumerate(svc.config):
            if rule.kind != "section":
                continue
            where = f"service[{i}].config[{j}]"
            first = sections.setdefault((rule.from_, rule.section), where)
            if first != where and not first.startswith(f"service[{i}]."):
                add(Problem(where, f"section [{rule.section}] of {rule.from_!r} is also moved by {first}"))

    owners: dict[str, str] = {}
    for i, svc in enumerate(plan.service):
        for j, table in enumerate(svc.tables):
            if table in owners and owners[table] != f"service[{i}]":
                add(Problem(f"service[{i}].tables[{j}]", f"table {table!r} is also claimed by {owners[table]}"))
            owners.setdefault(table, f"service[{i}]")

    ref_seen: dict[str, int] = {}
    for i, ref in enumerate(plan.source.refs):
        if ref in ref_seen:
            add(Problem(f"source.refs[{i}]", f"{ref!r} is listed twice (also refs[{ref_seen[ref]}])"))
        ref_seen.setdefault(ref, i)

    for i, (importer, imported) in enumerate(plan.boundary.allowed_pairs()):
        if importer == imported:
            add(Problem(f"boundary.allow[{i}]", f"{importer!r} allowed to import itself"))

    if plan.source.main is not None and not any(fnmatch.fnmatchcase(plan.source.main, pat) for pat in plan.source.refs):
        add(Problem("source.main", f"{plan.source.main!r} is not among source.refs"))
    return problems


def repo_problems(plan: Plan, repo: RepoView) -> list[Problem]:
    """Problems of the plan against the source repository."""
    problems: list[Problem] = []
    add = problems.append
    all_refs = repo.ref_names()

    for i, pattern in enumerate(plan.source.refs):
        if any(ch in pattern for ch in "*?["):
            if not any(fnmatch.fnmatchcase(r, pattern) for r in all_refs):
                add(Problem(f"source.refs[{i}]", f"pattern {pattern!r} matches no ref in the source repository"))
        elif repo.resolve(pattern) is None:
            add(Problem(f"source.refs[{i}]", f"ref {pattern!r} does not exist in the source repository"))

    main = plan.source.main_ref
    main_ok = repo.resolve(main) is not None
    if not main_ok and plan.source.main is not None:
        add(Problem("source.main", f"branch {main!r} does not exist in the source repository"))
    elif not main_ok and main not in plan.source.refs:
        add(
            Problem(
                "source",
                f"no branch to build the targets on: {main!r} does not exist; set source.main to a branch",
            )
        )

    problems.extend(place_problems(plan, [plan.source_repo, *repo.directories()]))

    for i, svc in enumerate(plan.service):
        loc = f"service[{i}]"
        for j, ref in enumerate(svc.merge):
            # A pattern is already reported by the static checks; resolving it would only repeat that.
            if not any(ch in ref for ch in "*?[") and repo.resolve(ref) is None:
                add(Problem(f"{loc}.merge[{j}]", f"ref {ref!r} does not exist in the source repository"))
        if not main_ok:
            continue
        for j, path in enumerate(svc.paths):
            kind = repo.kind_at(main, path.rstrip("/"))
            if kind is None:
                add(Problem(f"{loc}.paths[{j}]", f"{path!r} matches nothing at {main}"))
            elif path.endswith("/") and kind != "tree":
                add(Problem(f"{loc}.paths[{j}]", f"{path!r} is a file at {main}; drop the trailing '/'"))
            elif not path.endswith("/") and kind == "tree":
                add(Problem(f"{loc}.paths[{j}]", f"{path!r} is a directory at {main}; write it as {path + '/'!r}"))
        for j, rule in enumerate(svc.config):
            if repo.kind_at(main, rule.from_) != "blob":
                add(Problem(f"{loc}.config[{j}].from", f"file {rule.from_!r} does not exist at {main}"))
        problems.extend(_earlier_names_in_repo(plan, loc, i, repo, all_refs))

    if main_ok:
        for i, (importer, imported) in enumerate(plan.boundary.allowed_pairs()):
            for module in (importer, imported):
                if not _module_exists(repo, main, module):
                    add(Problem(f"boundary.allow[{i}]", f"module {module!r} is not in the source repository at {main}"))
    return problems


def place_problems(plan: Plan, source_dirs: Sequence[Path]) -> list[Problem]:
    """The output directory and every target directory against the source repository and the plan's folder
    (`spinout.plan.places`): no target may be, lie inside or contain the source, nor be or contain the plan's folder."""
    problems: list[Problem] = []
    out_why = write_conflict(plan.output_dir, source_dirs)
    if out_why is not None:
        tail = "spinout never writes there, choose a directory outside it"
        problems.append(Problem("output.dir", f"{plan.output.dir!r} {out_why}; {tail}"))
    targets = [(f"service[{i}].name", svc.name) for i, svc in enumerate(plan.service)]
    targets.append(("core.name", plan.core.name))
    for loc, name in targets:
        target = real(plan.target_dir(name))
        why = removal_conflict(target, source_dirs, plan.base_dir)
        if why is None or (out_why is not None and write_conflict(target, source_dirs) is not None):
            continue  # nothing wrong, or inside the source because output.dir is (reported once, above)
        if write_conflict(target, source_dirs) is not None:
            tail = "spinout never writes there"
        else:
            tail = "a target is replaced as a whole (split --force), so it may hold nothing else"
        problems.append(
            Problem(loc, f"the target directory {str(target)!r} {why}; {tail}: choose another output.dir or name")
        )
    return problems


def _earlier_names_problems(loc: str, svc: Service) -> list[Problem]:
    """`earlier_names_veto` / `earlier_names_add` on their own: file paths, under the service's paths, not twice."""
    problems: list[Problem] = []
    add = problems.append
    veto, added = svc.earlier_names_veto, svc.earlier_names_add
    if (veto or added) and not svc.follow_renames:
        key = "earlier_names_veto" if veto else "earlier_names_add"
        add(Problem(f"{loc}.{key}", "has no effect without follow_renames = true"))
    # sets and the path index, not list scans: a plan may list thousands of names
    vetoed: set[str] = set()
    for j, old in enumerate(veto):
        if old.endswith("/"):
            add(Problem(f"{loc}.earlier_names_veto[{j}]", f"{old!r} is a directory; an earlier name is a file path"))
        elif old in vetoed:
            add(Problem(f"{loc}.earlier_names_veto[{j}]", f"{old!r} is listed twice"))
        vetoed.add(old)
    index = PathIndex(svc.paths)
    for current, olds in added.items():
        where = f'{loc}.earlier_names_add["{current}"]'
        if current.endswith("/"):
            add(Problem(where, f"{current!r} is a directory; name the file whose earlier names these are"))
        elif not _under(index, current):
            add(Problem(where, f"{current!r} is not under this service's paths"))
        if not olds:
            add(Problem(where, "lists no earlier name; remove the entry"))
        listed: set[str] = set()
        for k, old in enumerate(olds):
            if old.endswith("/"):
                add(Problem(f"{where}[{k}]", f"{old!r} is a directory; an earlier name is a file path"))
            elif old == current:
                add(Problem(f"{where}[{k}]", f"{old!r} is the file itself"))
            elif old in listed:
                add(Problem(f"{where}[{k}]", f"{old!r} is listed twice"))
            elif old in vetoed:
                add(Problem(f"{where}[{k}]", f"{old!r} is also in earlier_names_veto"))
            listed.add(old)
    return problems


def _under(index: PathIndex, path: str) -> bool:
    """True if one of the indexed paths covers `path` (`path_covers`): it is listed, or a directory above it is."""
    return path in index or bool(index.covering(path))


def _earlier_names_in_repo(plan: Plan, loc: str, i: int, repo: RepoView, all_refs: list[str]) -> list[Problem]:
    """The service's vetoed and added earlier names against the source: an added name is for a file at
    `source.main`, is no file there itself (keeping it would bring that file in), and every name was a file in
    the history of `source.refs` (else it is a typo: nothing would change)."""
    svc = plan.service[i]
    veto, added = svc.earlier_names_veto, svc.earlier_names_add
    if not svc.follow_renames or not (veto or added):
        return []
    problems: list[Problem] = []
    main = plan.source.main_ref
    refs = sorted({r for pattern in plan.source.refs for r in all_refs if fnmatch.fnmatchcase(r, pattern)})
    # entries with a problem of their own (`_earlier_names_problems`) are not looked up again
    first = {old: j for j, old in reversed(list(enumerate(veto)))}
    located = [
        (f"{loc}.earlier_names_veto[{j}]", old)
        for j, old in enumerate(veto)
        if not old.endswith("/") and first[old] == j
    ]
    vetoed, index = set(veto), PathIndex(svc.paths)
    for current, olds in added.items():
        where = f'{loc}.earlier_names_add["{current}"]'
        if current.endswith("/") or not _under(index, current):
            continue
        if repo.kind_at(main, current) != "blob":
            problems.append(Problem(where, f"{current!r} is not a file at {main}"))
        at = {old: k for k, old in reversed(list(enumerate(olds)))}
        for k, old in enumerate(olds):
            if old.endswith("/") or old == current or at[old] != k or old in vetoed:
                continue
            if repo.kind_at(main, old) == "blob":
                problems.append(
                    Problem(
                        f"{where}[{k}]",
                        f"{old!r} is a file at {main}: an earlier name is a path the file no longer has (keeping "
                        "it would bring that other file into the service)",
                    )
                )
            else:
                located.append((f"{where}[{k}]", old))
    wanted = {old for _, old in located}
    found = repo.files_in_history(refs, wanted) if wanted else set()
    for where, old in located:
        if old not in found:
            problems.append(Problem(where, f"{old!r} was never a file in the history of source.refs"))
    return problems


def _module_exists(repo: RepoView, ref: str, module: str) -> bool:
    path = module.replace(".", "/")
    return repo.kind_at(ref, path + ".py") == "blob" or repo.kind_at(ref, path) == "tree"
