"""Plan checks beyond field types: across services (static) and against the source repository.

Pure functions returning located `Problem`s; nothing here raises for a plan defect, so that a user sees every
problem in one run. The repository is reached through the small `RepoView` protocol (see `spinout.repo`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Sequence
from typing import Literal, Protocol

from spinout.errors import Problem
from spinout.plan.model import Plan, Service, path_covers, paths_overlap


class RepoView(Protocol):
    """What plan validation needs to know about the source repository."""

    def ref_names(self) -> list[str]: ...

    def resolve(self, ref: str) -> str | None: ...

    def kind_at(self, ref: str, path: str) -> Literal["tree", "blob"] | None: ...

    def files_in_history(self, refs: Sequence[str], paths: Collection[str]) -> set[str]: ...


def static_problems(plan: Plan) -> list[Problem]:
    problems: list[Problem] = []
    add = problems.append

    names: dict[str, str] = {plan.core.name: "core.name"}
    packages: dict[str, str] = {plan.core.package: "core.package"}
    for i, svc in enumerate(plan.service):
        loc = f"service[{i}]"
        if svc.name in names:
            add(Problem(f"{loc}.name", f"name {svc.name!r} is already used by {names[svc.name]}"))
        names.setdefault(svc.name, f"{loc}.name")
        if svc.package in packages:
            add(Problem(f"{loc}.package", f"package {svc.package!r} is already used by {packages[svc.package]}"))
        packages.setdefault(svc.package, f"{loc}.package")

        seen: dict[str, int] = {}
        for j, path in enumerate(svc.paths):
            if path in seen:
                add(Problem(f"{loc}.paths[{j}]", f"{path!r} is listed twice (also paths[{seen[path]}])"))
            seen.setdefault(path, j)
        for j, path in enumerate(svc.shared):
            if path not in svc.paths:
                add(Problem(f"{loc}.shared[{j}]", f"{path!r} is not one of this service's paths"))

        for j, path in enumerate(svc.paths):
            for k in range(len(svc.paths)):
                other = svc.paths[k]
                if k != j and other != path and other.endswith("/") and path_covers(other, path):
                    add(Problem(f"{loc}.paths[{j}]", f"{path!r} is already covered by paths[{k}] {other!r}"))
                    break

        for old in svc.rename:
            # A rename source covers a path below it, or a directory path it lies inside.
            if not any(path_covers(old, p) or path_covers(p, old) for p in svc.paths):
                add(Problem(f"{loc}.rename", f"rename source {old!r} covers none of this service's paths"))

        # Two kept paths must not land in one place.
        landed: dict[str, int] = {}
        for j, path in enumerate(svc.paths):
            dest = svc.renamed(path)
            if dest in landed and svc.paths[landed[dest]] != path:
                other = svc.paths[landed[dest]]
                add(Problem(f"{loc}.rename", f"{other!r} and {path!r} are both renamed to {dest!r}"))
            landed.setdefault(dest, j)
        for j, path in enumerate(svc.paths):
            dest = svc.renamed(path)
            for k, other in enumerate(svc.paths):
                odest = svc.renamed(other)
                # Each pair once (k > j): the overlap is one problem, not two.
                if k <= j or dest == odest or paths_overlap(path, other):
                    continue
                if paths_overlap(dest, odest):
                    add(
                        Problem(
                            f"{loc}.rename",
                            f"{path!r} and {other!r} would overlap after renaming ({dest!r}, {odest!r})",
                        )
                    )
                    break

        problems.extend(_earlier_names_problems(loc, svc))

        for j, rule in enumerate(svc.config):
            for k in range(j):
                if svc.config[k] == rule:
                    add(Problem(f"{loc}.config[{j}]", f"the same rule as config[{k}]"))

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
    for i, a in enumerate(plan.service):
        for j in range(i + 1, len(plan.service)):
            b = plan.service[j]
            for pa in a.paths:
                for pj, pb in enumerate(b.paths):
                    if not paths_overlap(pa, pb):
                        continue
                    if pa in a.shared and pb in b.shared:
                        continue
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

    out, src = plan.output_dir, plan.source_repo
    if out == src or out.is_relative_to(src):
        add(
            Problem(
                "output.dir",
                f"{plan.output.dir!r} is inside the source repository {str(src)!r}; spinout never writes there, "
                "choose a directory outside it",
            )
        )

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


def _earlier_names_problems(loc: str, svc: Service) -> list[Problem]:
    """`earlier_names_veto` / `earlier_names_add` on their own: file paths, under the service's paths, not twice."""
    problems: list[Problem] = []
    add = problems.append
    veto, added = svc.earlier_names_veto, svc.earlier_names_add
    if (veto or added) and not svc.follow_renames:
        key = "earlier_names_veto" if veto else "earlier_names_add"
        add(Problem(f"{loc}.{key}", "has no effect without follow_renames = true"))
    for j, old in enumerate(veto):
        if old.endswith("/"):
            add(Problem(f"{loc}.earlier_names_veto[{j}]", f"{old!r} is a directory; an earlier name is a file path"))
        elif old in veto[:j]:
            add(Problem(f"{loc}.earlier_names_veto[{j}]", f"{old!r} is listed twice"))
    for current, olds in added.items():
        where = f'{loc}.earlier_names_add["{current}"]'
        if current.endswith("/"):
            add(Problem(where, f"{current!r} is a directory; name the file whose earlier names these are"))
        elif not any(path_covers(p, current) for p in svc.paths):
            add(Problem(where, f"{current!r} is not under this service's paths"))
        if not olds:
            add(Problem(where, "lists no earlier name; remove the entry"))
        for k, old in enumerate(olds):
            if old.endswith("/"):
                add(Problem(f"{where}[{k}]", f"{old!r} is a directory; an earlier name is a file path"))
            elif old == current:
                add(Problem(f"{where}[{k}]", f"{old!r} is the file itself"))
            elif old in olds[:k]:
                add(Problem(f"{where}[{k}]", f"{old!r} is listed twice"))
            elif old in veto:
                add(Problem(f"{where}[{k}]", f"{old!r} is also in earlier_names_veto"))
    return problems


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
    located = [
        (f"{loc}.earlier_names_veto[{j}]", old)
        for j, old in enumerate(veto)
        if not old.endswith("/") and old not in veto[:j]
    ]
    for current, olds in added.items():
        where = f'{loc}.earlier_names_add["{current}"]'
        if current.endswith("/") or not any(path_covers(p, current) for p in svc.paths):
            continue
        if repo.kind_at(main, current) != "blob":
            problems.append(Problem(where, f"{current!r} is not a file at {main}"))
        for k, old in enumerate(olds):
            if old.endswith("/") or old == current or old in olds[:k] or old in veto:
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
