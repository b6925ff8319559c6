"""`follow_renames`: the earlier names of every kept file, for all kept files in one walk of the history.

`find_earlier_names(repo, paths, tips)` answers, for each file present at a tip under the plan paths (directory
prefixes ending in '/' or exact files), "under which other names did this file live earlier?", the way
`git log --follow -- FILE` answers it for one file — but for thousands of files in one walk.

How the walk works. Commits are visited children before parents (topological order) starting at the tips. Each
commit carries the set of *followed names* it must look for: at a tip, every kept file under its own name. For a
non-merge commit whose tree differs from its parent's, only the directories holding followed names are compared
with the parent's, and a subtree whose id did not change is skipped whole (commits with an identical tree are
not looked at at all). A followed name present in the commit but not in its parent is where that file appeared:
only then is the whole commit diffed, and spinout asks which file of the parent it came from, exactly as git's
`--follow` does (`spinout.history.similarity`: exact renames first, then similarity of at least 50%; deleted sources
(renames) before sources that stay (copies)). If one is found, the parent follows the old name instead, and the
old name is recorded for every current file it leads to; chains (a → b → c) follow naturally. Merges are not
searched for renames, as `git log` does not diff them: a followed name passes to every parent that has the file,
so a rename made on a side branch is found on that branch and its old name is followed below the branch point. A
commit reached from several children follows the union of their names. A rerun can start from the previous
result (`previous=`, stored with `to_state`): then only commits not reachable from the old tips are walked.

Differences from `git log --follow`, on purpose:

- git keeps one followed name for the whole walk and switches it the first time it meets a rename in date order,
  so on branchy histories what it finds depends on commit dates; here each line of history follows its own names.
  On a linear history both give the same names (tested against git itself).
- A followed name is never looked for in a commit that does not have the file: a merge parent without it (the
  file came from the other side) and the parent of the commit where it appears from nothing end its history on
  that line.
- A pairing in which either file is trivial (empty, a license header: `similarity.is_trivial`) is followed only
  when its path corroborates it: the same base name, in a directory renamed there in that commit (gone from the
  commit, most of its files reappearing at the same places below the new directory, one of them substantive and
  matching), or whose parent was, directory names alike. Otherwise the corroborated source git's rules prefer is
  taken, or none. git pairs such files by content alone, with whichever look-alike it meets first.
- When a followed file appears without any source (a new file), its history ends there. git keeps looking for the
  name further back, so if an unrelated file had the same name earlier and was deleted before the new one was
  created, git continues into that older file's history (and through *its* renames). spinout does not: a deleted
  file is not the history of a different file created later at its path.

The walk records, per current file, which name came from which (`links`); the plan's added earlier names
(`earlier_names_add`) are followed from the tips like the files' own names, and each service reaches from its
files through its own additions and around its own vetoes (`earlier_names_veto`), so one walk serves them all.

What the history engine does with the result (`FollowedRenames`, one per service with `follow_renames = true`):
`added` lists, per current file, the earlier names that the plan's paths do not already cover. Those old paths are
kept in every commit as extra exact-file paths, under the names they had then passed through the service's
`rename` map — `extra_paths(service.renamed)` gives the `{old path: target path}` pairs, which is what
`git filter-repo --path OLD` plus the plan's `--path-rename` would keep. An old name that still exists at a tip
as some other file (it was reused, or it is the source of a copy that stays) is not added, because keeping it would
bring that other file into the service; it is listed in `skipped` with the reason so the split can report it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pygit2

from spinout.errors import PlanError, Problem
from spinout.history.similarity import (
    DEFAULT_MIN_SCORE,
    Candidate,
    Origin,
    SignatureSource,
    basename,
    choose_origin,
)
from spinout.plan.model import Plan, Service, path_covers
from spinout.progress import NullProgress, Progress

_REGULAR = {pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE}
_FILE_MODES = _REGULAR | {pygit2.GIT_FILEMODE_LINK}
_PROGRESS_EVERY = 1000
_STATE_VERSION = 2  # 2: `links` and `seeds` (the plan's added earlier names), trivial files need their paths

# Followed names of one commit: name in that commit → the current (tip) paths it leads to. Shared between
# commits and never mutated once built, so that unchanged stretches of history cost nothing.
_Tracked = dict[str, frozenset[str]]
# Per current file, what the walk found: name → the names it came from (ordered sets, in the order found).
_Links = dict[str, dict[str, dict[str, None]]]


@dataclass(frozen=True)
class EarlierNames:
    """Earlier names of the kept files, with walk figures."""

    tips: tuple[str, ...]
    earlier: Mapping[str, tuple[str, ...]]  # every current kept file → its earlier names, newest first
    commits_walked: int = 0
    commits_diffed: int = 0
    origins_searched: int = 0
    paths: tuple[str, ...] = ()
    min_score: int = DEFAULT_MIN_SCORE
    copies: bool = True
    incremental: bool = False  # computed on top of a previous result
    # per current file: each name the walk followed → the names it came from. `earlier` is what these reach from
    # the file's own name; the plan's added names (`seeds`) start further chains in the same map
    links: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    seeds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # current file → names followed from the tips
    corroborate: bool = True  # trivial files followed only where their paths corroborate the pairing
    # pairings git makes by content that were not followed: (commit, name, git's source), this run's walk only
    uncorroborated: tuple[tuple[str, str, str], ...] = ()

    def renamed_files(self) -> dict[str, tuple[str, ...]]:
        return {path: names for path, names in self.earlier.items() if names}

    def reach(self, current: str, added: Iterable[str] = (), veto: Iterable[str] = ()) -> tuple[str, ...]:
        """The earlier names of `current`, starting also from `added` (names to follow as if found, first) and
        never entering a name in `veto` (nor what lies only behind it)."""
        return _reach(self.links.get(current, {}), current, tuple(added), frozenset(veto))

    def to_state(self) -> dict[str, Any]:
        """A JSON-able form, to pass back as `previous` on the next run (see `walk_earlier_names`)."""
        return {
            "version": _STATE_VERSION,
            "tips": list(self.tips),
            "paths": list(self.paths),
            "min_score": self.min_score,
            "copies": self.copies,
            "corroborate": self.corroborate,
            "seeds": {path: list(names) for path, names in sorted(self.seeds.items())},
            "current": sorted(self.earlier),
            "links": {
                path: {name: list(olds) for name, olds in links.items()} for path, links in sorted(self.links.items())
            },
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> EarlierNames | None:
        """The result `to_state` wrote, or None when it is from another version or malformed (then walk afresh)."""
        try:
            if state.get("version") != _STATE_VERSION:
                return None
            links = {
                str(path): {str(name): tuple(str(o) for o in olds) for name, olds in found.items()}
                for path, found in state["links"].items()
            }
            current = [str(p) for p in state["current"]]
            return cls(
                tips=tuple(str(t) for t in state["tips"]),
                earlier={path: _reach(links.get(path, {}), path, (), frozenset()) for path in current},
                paths=tuple(str(p) for p in state["paths"]),
                min_score=int(state["min_score"]),
                copies=bool(state["copies"]),
                links=links,
                seeds={str(p): tuple(str(n) for n in names) for p, names in state["seeds"].items()},
                corroborate=bool(state["corroborate"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def _reach(
    links: Mapping[str, Iterable[str]], start: str, added: tuple[str, ...], veto: frozenset[str]
) -> tuple[str, ...]:
    """Names reachable from `start` (and from `added`, listed first) along `links`, breadth first: newest first
    along one line of renames. Vetoed names are neither listed nor followed."""
    out: dict[str, None] = {}
    queue = [start, *(name for name in added if name not in veto)]
    out.update(dict.fromkeys(queue[1:]))
    i = 0
    while i < len(queue):
        for old in links.get(queue[i], ()):
            if old not in out and old != start and old not in veto:
                out[old] = None
                queue.append(old)
        i += 1
    return tuple(out)


@dataclass(frozen=True)
class FollowedRenames:
    """What `follow_renames` adds to one service: old paths per current file, and old paths it left out."""

    service: str
    added: Mapping[str, tuple[str, ...]]  # current path → earlier names outside the plan's paths
    skipped: Mapping[str, str] = field(default_factory=dict)  # earlier name → why it is not kept

    @property
    def exit_code(self) -> int:
        return 0

    def added_paths(self) -> list[str]:
        """Every old path to keep, once, sorted."""
        return sorted({old for names in self.added.values() for old in names})

    def extra_paths(self, renamed: Callable[[str], str] | None = None) -> dict[str, str]:
        """`{old path: path in the target}`: old paths keep the names they had then, through the plan's renames.

        `renamed` is the service's `Service.renamed` (identity when None).
        """
        return {old: (renamed(old) if renamed is not None else old) for old in self.added_paths()}

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "added": {path: list(names) for path, names in sorted(self.added.items())},
            "added_paths": self.added_paths(),
            "skipped": dict(sorted(self.skipped.items())),
        }

    def lines(self) -> list[str]:
        paths = self.added_paths()
        out = [f"{self.service}: follow_renames keeps {len(paths)} earlier path(s) of {len(self.added)} file(s)"]
        for path, names in sorted(self.added.items()):
            out.append(f"  {path} <- {' <- '.join(names)}")
        for old, why in sorted(self.skipped.items()):
            out.append(f"  not kept: {old} ({why})")
        return out


def find_earlier_names(
    repo: pygit2.Repository,
    paths: Sequence[str],
    tips: Sequence[str],
    progress: Progress | None = None,
    *,
    copies: bool = True,
    corroborate: bool = True,
) -> dict[str, list[str]]:
    """For every file under `paths` at the `tips`, its earlier names across history (newest first).

    Every kept file is a key, with an empty list when it always had its current name.
    """
    found = walk_earlier_names(repo, paths, tips, progress, copies=copies, corroborate=corroborate)
    return {path: list(names) for path, names in found.earlier.items()}


def follow_renames(
    repo: pygit2.Repository,
    plan: Plan,
    tips: Sequence[str],
    progress: Progress | None = None,
    *,
    copies: bool = True,
) -> dict[str, FollowedRenames]:
    """One walk for every service with `follow_renames = true`; one `FollowedRenames` per such service."""
    return follow_renames_with_state(repo, plan, tips, progress, copies=copies)[0]


def follow_renames_with_state(
    repo: pygit2.Repository,
    plan: Plan,
    tips: Sequence[str],
    progress: Progress | None = None,
    *,
    copies: bool = True,
    previous: EarlierNames | None = None,
) -> tuple[dict[str, FollowedRenames], EarlierNames | None]:
    """`follow_renames`, plus the walk's result to keep for the next run (`previous=`, stored with `to_state`).

    The split keeps `state.to_state()` with its incremental state and passes `EarlierNames.from_state(...)` back
    on a rerun: only the new commits are walked. The result is None when no service follows renames.
    """
    services = [s for s in plan.service if s.follow_renames]
    if not services:
        return {}, None
    all_paths = sorted({p for s in services for p in s.paths})
    # the plan's added earlier names are followed further back like found ones; one walk serves every service,
    # and each service reaches only its own (`_for_service`)
    seeds: dict[str, set[str]] = {}
    for s in services:
        for current, names in s.earlier_names_add.items():
            seeds.setdefault(current, set()).update(names)
    found = walk_earlier_names(
        repo,
        all_paths,
        tips,
        progress,
        copies=copies,
        previous=previous,
        seeds={current: sorted(names) for current, names in seeds.items()},
    )
    at_tips = _files_at_tips(repo, _resolve(repo, tips))
    return {s.name: _for_service(s, found, at_tips) for s in services}, found


def _for_service(service: Service, found: EarlierNames, at_tips: set[str]) -> FollowedRenames:
    added: dict[str, tuple[str, ...]] = {}
    skipped: dict[str, str] = {}
    veto = frozenset(service.earlier_names_veto)
    for path in found.earlier:
        if not any(path_covers(p, path) for p in service.paths):
            continue
        own = service.earlier_names_add.get(path, ())
        names = found.reach(path, own, veto)
        if veto:
            for old in found.reach(path, own):
                if old in veto:
                    skipped[old] = f"earlier name of {path}, vetoed by the plan (earlier_names_veto)"
                elif old not in names:
                    skipped[old] = f"earlier name of {path} only through a name the plan vetoes"
        extra = []
        for old in names:
            if any(path_covers(p, old) for p in service.paths):
                continue  # already kept by the plan
            if old in at_tips:
                skipped[old] = f"earlier name of {path}, but a different file has this path at a tip"
                continue
            extra.append(old)
        if extra:
            added[path] = tuple(extra)
    return FollowedRenames(service.name, added, skipped)


def _resolve(repo: pygit2.Repository, tips: Sequence[str]) -> list[pygit2.Commit]:
    commits: list[pygit2.Commit] = []
    problems: list[Problem] = []
    for i, tip in enumerate(tips):
        try:
            commits.append(repo.revparse_single(tip).peel(pygit2.Commit))
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            problems.append(Problem(f"tips[{i}]", f"{tip!r} does not name a commit in {repo.path}"))
    if problems:
        raise PlanError(problems)
    return commits


def _blobs(tree: pygit2.Object, prefix: str) -> Iterator[tuple[str, pygit2.Object]]:
    """(path, entry) for every file (regular or symlink) below `tree`, in git's path order."""
    assert isinstance(tree, pygit2.Tree)
    for entry in tree:
        path = prefix + (entry.name or "")
        if entry.filemode == pygit2.GIT_FILEMODE_TREE:
            yield from _blobs(entry, path + "/")  # pygit2 tree entries of type tree are Tree objects
        elif entry.filemode in _FILE_MODES:
            yield path, entry


def _kept_files(tree: pygit2.Tree, paths: Sequence[str]) -> set[str]:
    kept: set[str] = set()
    for plan_path in paths:
        if plan_path.endswith("/"):
            try:
                entry = tree[plan_path.rstrip("/")]
            except KeyError:
                continue
            if entry.filemode == pygit2.GIT_FILEMODE_TREE:
                kept.update(path for path, _ in _blobs(entry, plan_path))
        else:
            try:
                entry = tree[plan_path]
            except KeyError:
                continue
            if entry.filemode in _FILE_MODES:
                kept.add(plan_path)
    return kept


def _files_at_tips(repo: pygit2.Repository, commits: Sequence[pygit2.Commit]) -> set[str]:
    out: set[str] = set()
    for commit in commits:
        out.update(path for path, _ in _blobs(commit.tree, ""))
    return out


def _union(a: _Tracked, b: _Tracked) -> _Tracked:
    if a is b:
        return a
    if len(b) > len(a):
        a, b = b, a
    if all(a.get(name) is not None and ids <= a[name] for name, ids in b.items()):
        return a  # reuse the larger map: keeps maps shared down the history
    merged = dict(a)
    for name, ids in b.items():
        have = merged.get(name)
        merged[name] = ids if have is None else have | ids
    return merged


class _Trie:
    """Followed names as a directory tree, so that a commit's unchanged subtrees are skipped by id."""

    __slots__ = ("dirs", "files")

    def __init__(self) -> None:
        self.files: dict[str, str] = {}  # entry name → full path
        self.dirs: dict[str, _Trie] = {}

    @classmethod
    def of(cls, names: Iterator[str]) -> _Trie:
        root = cls()
        for full in names:
            node = root
            *dirs, leaf = full.split("/")
            for part in dirs:
                node = node.dirs.setdefault(part, cls())
            node.files[leaf] = full
        return root


def _appeared(trie: _Trie, child: pygit2.Tree, parent: pygit2.Tree | None, out: list[tuple[str, str, int]]) -> None:
    """Followed files present in `child` but not (as a file) in `parent`: (path, blob id, mode).

    Hot path (every changed commit): entries are looked up by name in libgit2, and compared by `type_str`, which
    is far cheaper than `filemode` (an enum built per call); the mode is read only for a file that appeared.
    """
    for name, full in trie.files.items():
        try:
            new = child[name]
        except KeyError:
            continue
        if new.type_str != "blob":
            continue
        if parent is not None:
            try:
                if parent[name].type_str == "blob":
                    continue  # present before: not where this file appeared
            except KeyError:
                pass
        out.append((full, str(new.id), new.filemode))
    for name, sub in trie.dirs.items():
        try:
            new = child[name]
        except KeyError:
            continue
        if new.type_str != "tree":
            continue
        old = None
        if parent is not None:
            try:
                old = parent[name]
            except KeyError:
                pass
            else:
                if old.id == new.id:
                    continue  # unchanged subtree: nothing under it can have appeared
        _appeared(sub, new, old if isinstance(old, pygit2.Tree) else None, out)  # type: ignore[arg-type]


class _Moves:
    """One commit's files as path corroboration needs them: the files it adds, and the sources (the files it
    deletes, or with copies every file of the parent) sorted by path. Built only for a commit where a trivial
    file was paired by content."""

    def __init__(
        self,
        commit: pygit2.Commit,
        diff: pygit2.Diff,
        candidates: Sequence[Candidate],
        signatures: SignatureSource,
        min_score: int,
    ) -> None:
        self.tree = commit.tree
        self.added = {
            d.new_file.path: str(d.new_file.id)
            for d in diff.deltas
            if d.status == pygit2.GIT_DELTA_ADDED and d.new_file.mode in _REGULAR
        }
        self.sources = sorted((c.path, c.blob) for c in candidates if c.regular)
        self._keys = [path for path, _ in self.sources]
        self._signatures = signatures
        self._min_score = min_score
        self._moved: dict[tuple[str, str], tuple[str, ...]] = {}

    def paired(self, old_dir: str, new_dir: str, new_path: str) -> bool:
        """Did directory `old_dir` become `new_dir` in this commit, by evidence other than `new_path` itself?

        Yes when `old_dir` moved there (`_moved_evidence`), or else when the two directories have the same name
        and their parents are paired that way (a package moved with its parent)."""
        while old_dir and old_dir != new_dir:
            key = (old_dir, new_dir)
            evidence = self._moved.get(key)
            if evidence is None:
                evidence = self._moved[key] = self._moved_evidence(old_dir, new_dir)
            if any(path != new_path for path in evidence):
                return True
            if not new_dir or basename(old_dir) != basename(new_dir):
                return False
            old_dir, new_dir = _dirname(old_dir), _dirname(new_dir)
        return False

    def _moved_evidence(self, old_dir: str, new_dir: str) -> tuple[str, ...]:
        """A directory rename, as git's merge machinery sees one: `old_dir` is gone from the commit, and most of
        its files reappear at the same place below `new_dir` (added by this commit). The evidence is up to two of
        those files that have content of their own and match their old selves (same blob or similar enough);
        none when it is not a directory rename."""
        try:
            self.tree[old_dir]
        except KeyError:
            pass
        else:
            return ()  # the directory is still there: files moving out of it do not make it a rename
        old_prefix, new_prefix = old_dir + "/", (new_dir + "/" if new_dir else "")
        first = bisect_left(self._keys, old_prefix)
        last = bisect_left(self._keys, old_prefix[:-1] + "0")  # '0' follows '/': the end of the prefix range
        arrived = [
            (blob, self.added[new_prefix + path[len(old_prefix) :]], new_prefix + path[len(old_prefix) :])
            for path, blob in self.sources[first:last]
            if new_prefix + path[len(old_prefix) :] in self.added
        ]
        if 2 * len(arrived) <= last - first:
            return ()
        sig = self._signatures
        evidence: list[str] = []
        # unchanged files first (no content compared), then the others, smallest first (cheapest to compare)
        unchanged = [(new_path, old) for old, new, new_path in arrived if old == new]
        changed = sorted((sig.size(old), new_path, old, new) for old, new, new_path in arrived if old != new)
        for new_path, blob in unchanged:
            if not sig.trivial(blob):
                evidence.append(new_path)
                if len(evidence) == 2:
                    return tuple(evidence)
        for _, new_path, old, new in changed:
            if not sig.trivial(old) and not sig.trivial(new) and sig.same_content(old, new, self._min_score):
                evidence.append(new_path)
                if len(evidence) == 2:
                    break
        return tuple(evidence)


def _dirname(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


class _Walk:
    def __init__(self, repo: pygit2.Repository, min_score: int, copies: bool, corroborate: bool) -> None:
        self.repo = repo
        self.min_score = min_score
        self.copies = copies
        self.corroborate = corroborate
        self.signatures = SignatureSource(
            lambda hex_id: repo[hex_id].read_raw(), lambda hex_id: int(repo.odb.read_header(hex_id)[1])
        )
        self.links: _Links = {}  # current path → name → the names it came from
        self.uncorroborated: list[tuple[str, str, str]] = []
        self.diffed = 0
        self.searched = 0
        self._tries: dict[int, tuple[_Tracked, _Trie]] = {}
        self._by_names: dict[frozenset[str], _Trie] = {}

    def _trie(self, tracked: _Tracked) -> _Trie:
        # followed-name maps are shared between commits, so one trie per map object is built once; and maps with
        # the same names (a merge's sides rejoining, `_contribute`'s unions) share one trie, built once per set
        found = self._tries.get(id(tracked))
        if found is None or found[0] is not tracked:
            if len(self._tries) > 1000:
                self._tries.clear()
            names = frozenset(tracked)
            trie = self._by_names.get(names)
            if trie is None:
                if len(self._by_names) > 1000:
                    self._by_names.clear()
                trie = self._by_names[names] = _Trie.of(iter(tracked))
            found = self._tries[id(tracked)] = (tracked, trie)
        return found[1]

    def through_merge(self, merge: pygit2.Commit, parent: pygit2.Commit, tracked: _Tracked) -> _Tracked:
        """The names a merge's parent follows: those it has. Merges are not searched for renames (as git log)."""
        if parent.tree_id == merge.tree_id:
            return tracked
        absent: list[tuple[str, str, int]] = []
        _appeared(self._trie(tracked), merge.tree, parent.tree, absent)
        if not absent:
            return tracked
        gone = {path for path, _, _ in absent}
        return {name: ids for name, ids in tracked.items() if name not in gone}

    def step(self, commit: pygit2.Commit, parent: pygit2.Commit, tracked: _Tracked) -> _Tracked:
        """The names the parent follows, given those the commit follows."""
        self.diffed += 1
        appeared: list[tuple[str, str, int]] = []
        _appeared(self._trie(tracked), commit.tree, parent.tree, appeared)
        if not appeared:
            return tracked
        # a followed file appeared: now the whole commit matters (which files were deleted, for renames)
        diff = parent.tree.diff_to_tree(commit.tree)
        gone = sorted((d.old_file for d in diff.deltas if d.status == pygit2.GIT_DELTA_DELETED), key=lambda f: f.path)
        if self.copies:
            deleted = {f.path for f in gone}
            candidates = [
                Candidate(path, str(entry.id), entry.filemode in _REGULAR, path in deleted)
                for path, entry in _blobs(parent.tree, "")
            ]
        else:  # renames only: the files this commit deleted are the only sources
            candidates = [Candidate(f.path, str(f.id), f.mode in _REGULAR, True) for f in gone]
        result = dict(tracked)
        moves: list[_Moves] = []  # built once, for the first trivial pairing of this commit
        for path, blob, mode in sorted(appeared):
            self.searched += 1
            origin = choose_origin(path, blob, mode in _REGULAR, candidates, self.signatures, self.min_score)
            if origin is not None and self.corroborate and mode in _REGULAR:
                origin = self._corroborated(commit, diff, path, blob, origin, candidates, moves)
            ids = result.pop(path)
            if origin is None:
                continue  # the file starts here: its history ends (see the module docstring)
            have = result.get(origin.path)
            result[origin.path] = ids if have is None else have | ids
            for current in ids:
                self.links.setdefault(current, {}).setdefault(path, {})[origin.path] = None
        return result

    def _corroborated(
        self,
        commit: pygit2.Commit,
        diff: pygit2.Diff,
        path: str,
        blob: str,
        origin: Origin,
        candidates: Sequence[Candidate],
        moves: list[_Moves],
    ) -> Origin | None:
        """`origin` when the pairing stands on content (neither file trivial) or its paths corroborate it;
        otherwise the source git's rules pick among the corroborated ones, or None (the file starts here)."""
        sig = self.signatures
        source = next(c for c in candidates if c.path == origin.path)
        if not source.regular or (not sig.trivial(blob) and not sig.trivial(source.blob)):
            return origin
        if not moves:
            moves.append(_Moves(commit, diff, candidates, sig, self.min_score))
        name, new_dir = basename(path), _dirname(path)

        def corroborated(cand: Candidate) -> bool:
            return basename(cand.path) == name and moves[0].paired(_dirname(cand.path), new_dir, path)

        if corroborated(source):
            return origin
        found = choose_origin(
            path, blob, True, [c for c in candidates if corroborated(c)], self.signatures, self.min_score
        )
        self.uncorroborated.append((str(commit.id), path, origin.path))
        return found


def walk_earlier_names(
    repo: pygit2.Repository,
    paths: Sequence[str],
    tips: Sequence[str],
    progress: Progress | None = None,
    *,
    min_score: int = DEFAULT_MIN_SCORE,
    copies: bool = True,
    previous: EarlierNames | None = None,
    seeds: Mapping[str, Sequence[str]] | None = None,
    corroborate: bool = True,
) -> EarlierNames:
    """`find_earlier_names` with the walk's figures.

    `min_score` is in git's units (30000 = 50%). `copies=False` follows renames only (sources the commit
    deleted), like `git log -M` without `--follow`'s copy search: boilerplate files (empty `__init__.py`, license
    headers) then stop at their creation instead of leading to whichever identical file existed before.

    `corroborate` (the default): a pairing in which either file is trivial (empty, a license header:
    `similarity.is_trivial`) is followed only when the paths corroborate it — the same base name, in a directory
    that moved there in that commit with other, substantive files (or whose parent did); otherwise the
    corroborated source git's rules prefer, if any. False: exactly git's pairing by content.

    `seeds` (current file → names): names to follow from the tips as if they were earlier names of that file (the
    plan's `earlier_names_add`); what the walk finds behind them is in `links`, not in `earlier`.

    `previous` (a result of an earlier run with the same paths and options, e.g. through `to_state`/`from_state`)
    makes a rerun incremental: only the commits not reachable from its tips are walked, and a name that reaches an
    old tip as one of its kept files takes that file's earlier names from `previous`. When anything else reaches
    old history (a new merge of an old side branch, a file moved into the kept paths from elsewhere), the walk is
    done afresh, so the answer is the same as without `previous`.
    """
    progress = progress or NullProgress()
    commits = _resolve(repo, tips)
    seeded = {path: tuple(names) for path, names in sorted((seeds or {}).items()) if names}
    old_tips: list[pygit2.Commit] = []
    if previous is not None and _reusable(previous, paths, min_score, copies, seeded, corroborate):
        old_tips = _old_tips(repo, previous)
    pending: dict[pygit2.Oid, _Tracked] = {}
    current: set[str] = set()
    for commit in commits:
        kept = _kept_files(commit.tree, paths)
        current |= kept
        tracked: _Tracked = {path: frozenset((path,)) for path in kept}
        for path in sorted(kept & seeded.keys()):
            for name in seeded[path]:
                tracked[name] = tracked.get(name, frozenset()) | {path}
        pending[commit.id] = _union(pending[commit.id], tracked) if commit.id in pending else tracked
    walk = _Walk(repo, min_score, copies, corroborate)
    progress.start("renames", f"following earlier names of {len(current)} file(s)")
    walked = 0
    if pending:
        walker = repo.walk(commits[0].id, pygit2.enums.SortMode.TOPOLOGICAL)
        for commit in commits[1:]:
            walker.push(commit.id)
        for old in old_tips:
            walker.hide(old.id)  # what lies below an old tip is known from `previous`
        for commit in walker:
            walked += 1
            if walked % _PROGRESS_EVERY == 0:
                progress.advance("renames", walked, counters={"diffed": walk.diffed, "renames": len(walk.links)})
            tracked = pending.pop(commit.id, {})
            if tracked:
                parents = commit.parents
                if len(parents) == 1:
                    moved = tracked
                    if parents[0].tree_id != commit.tree_id:
                        moved = walk.step(commit, parents[0], tracked)
                    _contribute(pending, parents[0].id, moved)
                else:
                    for parent in parents:
                        _contribute(pending, parent.id, walk.through_merge(commit, parent, tracked))
            if not pending:
                break  # nothing further down is followed any more
    if old_tips and previous is not None and not _resolve_at_old_tips(pending, old_tips, paths, previous, walk.links):
        progress.note("follow_renames: the new commits reach old history by another way; walking it all again")
        return walk_earlier_names(
            repo, paths, tips, progress, min_score=min_score, copies=copies, seeds=seeded, corroborate=corroborate
        )
    links = {path: {name: tuple(olds) for name, olds in found.items()} for path, found in sorted(walk.links.items())}
    earlier = {path: _reach(links.get(path, {}), path, (), frozenset()) for path in sorted(current)}
    renamed = sum(1 for names in earlier.values() if names)
    left_out = f"; {len(walk.uncorroborated)} pairing(s) of trivial files by content alone not followed"
    progress.finish(
        "renames",
        f"{renamed} of {len(current)} file(s) had earlier names; {walked} commits walked"
        + (left_out if walk.uncorroborated else ""),
    )
    return EarlierNames(
        tips=tuple(str(c.id) for c in commits),
        earlier=earlier,
        commits_walked=walked,
        commits_diffed=walk.diffed,
        origins_searched=walk.searched,
        paths=tuple(paths),
        min_score=min_score,
        copies=copies,
        incremental=bool(old_tips),
        links=links,
        seeds=seeded,
        corroborate=corroborate,
        uncorroborated=tuple(walk.uncorroborated),
    )


def _contribute(pending: dict[pygit2.Oid, _Tracked], parent: pygit2.Oid, tracked: _Tracked) -> None:
    if tracked:
        have = pending.get(parent)
        pending[parent] = tracked if have is None else _union(have, tracked)


def _reusable(
    previous: EarlierNames,
    paths: Sequence[str],
    min_score: int,
    copies: bool,
    seeds: Mapping[str, tuple[str, ...]],
    corroborate: bool,
) -> bool:
    return (
        previous.paths == tuple(paths)
        and previous.min_score == min_score
        and previous.copies == copies
        and dict(previous.seeds) == dict(seeds)
        and previous.corroborate == corroborate
    )


def _old_tips(repo: pygit2.Repository, previous: EarlierNames) -> list[pygit2.Commit]:
    found = []
    for tip in previous.tips:
        try:
            found.append(repo[tip].peel(pygit2.Commit))
        except (KeyError, ValueError, pygit2.GitError):
            return []  # an old tip is gone (history rewritten): no reuse
    return found


def _resolve_at_old_tips(
    pending: dict[pygit2.Oid, _Tracked],
    old_tips: Sequence[pygit2.Commit],
    paths: Sequence[str],
    previous: EarlierNames,
    links: _Links,
) -> bool:
    """Finish the names that reached the old tips from `previous`; False when some reached anything else."""
    by_id = {c.id: c for c in old_tips}
    for oid, tracked in pending.items():
        tip = by_id.get(oid)
        if tip is None:
            return False  # a hidden commit below an old tip, reached by a new way: not covered by `previous`
        kept_then = _kept_files(tip.tree, paths)
        for name, ids in tracked.items():
            seed = name not in kept_then
            # a seed (a name the plan added) not found in the new commits: the last run followed the same seed
            # for the same file from the old tip; anything else reaching an old tip must be one of its kept files
            if seed and not all(c in kept_then and name in previous.seeds.get(c, ()) for c in ids):
                return False
            for current in ids:
                mine = links.setdefault(current, {})
                # what the last run found behind that file (for a seed: behind the same file's names, seed included)
                for new, olds in previous.links.get(current if seed else name, {}).items():
                    mine.setdefault(new, {}).update(dict.fromkeys(olds))
    return True
