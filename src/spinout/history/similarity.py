"""Git's rename/copy similarity score and its choice of source for one followed file, as pure functions.

`git log --follow` asks, for the one file it follows, "which file of the parent commit did this new file come
from?" (tree-diff.c `try_to_follow_renames` → diffcore-rename with copies searched harder). This module answers
the same question from blob contents, without a repository, so that `spinout.history.renames` can ask it for many
followed files in one walk.

What git does, and what is mirrored here:

- Every regular file of the parent tree is a candidate source: files deleted by the commit ("renames") and files
  that stay ("copies").
- Exact pass first: a source with the same blob id. Git prefers a deleted source over one that stays, then one
  with the same basename, then the first in path order.
- Inexact pass: a similarity score in git's units (0..60000, 50% = 30000 by default). Content is cut into chunks
  ending at a newline or after 64 bytes (CR of a CRLF dropped for text), and the score is the number of source bytes
  whose chunk also appears in the destination, over the larger size. Files whose sizes differ by more than the
  larger size times (1 - threshold) are not compared, and only regular files (not symlinks) are compared
  inexactly. Git keeps the best 4 candidates per destination (ties broken by basename) and takes the best deleted
  source among them; only when none is deleted does it take the best copy.

Trivial files. Empty files and files with nothing but a license header (comment lines) match each other by content
alone, so git pairs a new empty `__init__.py` with whichever empty file happened to be deleted. `is_trivial` names
such files; `spinout.history.renames` follows a pairing that involves one only when the paths corroborate it.

One deliberate approximation: git hashes each chunk into 107,927 buckets, so two different chunks occasionally
count as equal; here chunks are compared by content, which is the score git means to compute. Scores can therefore
differ from git's by a hash collision's worth of bytes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_SCORE = 60000
DEFAULT_MIN_SCORE = 30000  # git's default for -M/--follow: 50%
CANDIDATES_PER_DEST = 4  # git's NUM_CANDIDATE_PER_DST
_BINARY_PROBE = 8000  # git looks for a NUL in the first 8000 bytes


def is_binary(data: bytes) -> bool:
    """Git's `buffer_is_binary`: a NUL byte in the first 8000 bytes."""
    return b"\0" in data[:_BINARY_PROBE]


# A chunk ends at a newline or after 64 bytes: up to 63 other bytes and a newline, or 64 bytes without one (the
# second branch also takes the last, shorter piece of a file that does not end in a newline).
_CHUNKS = re.compile(rb"[^\n]{0,63}\n|[^\n]{1,64}")


# A file is trivial when it is small and what remains after blank lines and `#` comment lines is at most
# TRIVIAL_BYTES: enough for `pass` or `__all__ = []`, too little to tell one file from another. License headers are
# well below TRIVIAL_MAX_SIZE (Apache's is 600 bytes, the GPL's 1 KB); the bound lets a size read decide for most
# files without reading them.
TRIVIAL_BYTES = 16
TRIVIAL_MAX_SIZE = 4096


def is_trivial(data: bytes) -> bool:
    """An empty or near-empty file: at most TRIVIAL_MAX_SIZE bytes of blank lines, `#` comment lines (a license
    header) and at most TRIVIAL_BYTES of anything else (surrounding whitespace not counted). Binary content is never
    trivial unless empty."""
    if len(data) > TRIVIAL_MAX_SIZE or is_binary(data):
        return not data
    left = TRIVIAL_BYTES
    start, size = 0, len(data)
    while start < size:  # line by line, stopping at the first lines of real content
        end = data.find(b"\n", start)
        if end < 0:
            end = size
        text = data[start:end].strip()
        start = end + 1
        if not text or text.startswith(b"#"):
            continue
        left -= len(text)
        if left < 0:
            return False
    return True


def chunk_counts(data: bytes) -> Counter[bytes]:
    """Bytes per distinct chunk, the way diffcore-delta counts them (chunk content instead of its hash)."""
    if b"\r\n" in data and not is_binary(data):
        # git skips a CR that precedes a LF in text, so "a\r\n" and "a\n" are the same chunk
        data = data.replace(b"\r\n", b"\n")
    counts = Counter(_CHUNKS.findall(data))
    for chunk in counts:
        counts[chunk] *= len(chunk)
    return counts


def size_allows(src_size: int, dst_size: int, min_score: int = DEFAULT_MIN_SCORE) -> bool:
    """False when the sizes alone rule a match out: git does not compare such files at all."""
    max_size = max(src_size, dst_size)
    delta = max_size - min(src_size, dst_size)
    # git tests against the larger size, although its comment says the smaller one; the code is what decides
    return max_size * (MAX_SCORE - min_score) >= delta * MAX_SCORE


def similarity(
    src_size: int,
    src_counts: Counter[bytes],
    dst_size: int,
    dst_counts: Counter[bytes],
    min_score: int = DEFAULT_MIN_SCORE,
) -> int:
    """Git's `estimate_similarity` for two regular files, in units of MAX_SCORE.

    0 when the sizes rule a match out; otherwise the raw score, even below `min_score`: git ranks its candidates
    by raw scores before dropping those under the threshold, and the ranking decides ties.
    """
    if not size_allows(src_size, dst_size, min_score) or dst_size == 0:
        return 0
    max_size = max(src_size, dst_size)
    # bytes of the source whose chunk the destination also has (each chunk at most as often as there)
    common = src_counts.keys() & dst_counts.keys()  # set intersection in C: most pairs share few chunks
    copied = sum(min(src_counts[chunk], dst_counts[chunk]) for chunk in common)
    return copied * MAX_SCORE // max_size


def basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Candidate:
    """A file of the parent tree that the followed file may come from."""

    path: str
    blob: str  # hex id
    regular: bool  # a regular file (not a symlink)
    deleted: bool  # gone from the child commit: a rename source rather than a copy source


@dataclass(frozen=True)
class Origin:
    """The source git would report for the followed file: 'R' (rename) or 'C' (copy), with its score."""

    path: str
    status: str
    score: int


class SignatureSource:
    """Blob sizes and chunk counts, cached: the same blobs are compared again and again along a history.

    `size` should not read the blob's content (an object header read), so that files whose size rules them out
    are never read.
    """

    def __init__(self, read: Callable[[str], bytes], size: Callable[[str], int]) -> None:
        self._read = read
        self._size = size
        self._sizes: dict[str, int] = {}
        self._counts: dict[str, Counter[bytes]] = {}
        self._trivial: dict[str, bool] = {}

    def size(self, blob: str) -> int:
        found = self._sizes.get(blob)
        if found is None:
            found = self._sizes[blob] = self._size(blob)
        return found

    def counts(self, blob: str) -> Counter[bytes]:
        found = self._counts.get(blob)
        if found is None:
            if len(self._counts) > 20000:  # bound memory on huge histories; recomputing is cheap
                self._counts.clear()
            found = self._counts[blob] = chunk_counts(self._read(blob))
        return found

    def trivial(self, blob: str) -> bool:
        found = self._trivial.get(blob)
        if found is None:
            # a larger file is not trivial: its size (an object header read) decides without reading it
            found = self._trivial[blob] = self.size(blob) <= TRIVIAL_MAX_SIZE and is_trivial(self._read(blob))
        return found

    def same_content(self, src: str, dst: str, min_score: int = DEFAULT_MIN_SCORE) -> bool:
        """True when git would pair these two regular files by content: the same blob, or similarity >= min_score."""
        if src == dst:
            return True
        src_size, dst_size = self.size(src), self.size(dst)
        if not dst_size or not size_allows(src_size, dst_size, min_score):
            return False
        return similarity(src_size, self.counts(src), dst_size, self.counts(dst), min_score) >= min_score


def choose_origin(
    dst_path: str,
    dst_blob: str,
    dst_regular: bool,
    candidates: Sequence[Candidate],
    signatures: SignatureSource,
    min_score: int = DEFAULT_MIN_SCORE,
) -> Origin | None:
    """The source git's `--follow` picks for `dst_path`, or None when the file starts here.

    `candidates` must be in path order (git's tree order), as git registers its sources.
    """
    # Exact pass (find_identical_files): unused (deleted) sources score 1, same basename adds 1, first best wins.
    best: Candidate | None = None
    best_score = -1
    dst_base = basename(dst_path)
    for cand in candidates:
        if cand.blob != dst_blob or cand.regular != dst_regular:
            continue
        score = int(cand.deleted) + int(basename(cand.path) == dst_base)
        if score > best_score:
            best, best_score = cand, score
            if score == 2:
                break
    if best is not None:
        return Origin(best.path, "R" if best.deleted else "C", MAX_SCORE)
    if not dst_regular:
        return None
    dst_size = signatures.size(dst_blob)
    dst_counts: Counter[bytes] | None = None
    # Inexact pass: keep the best 4 (record_if_better), order them stably by score then basename, then
    # take the first deleted source (renames), else the first source at all (copies).
    slots: list[tuple[int, int, Candidate] | None] = [None] * CANDIDATES_PER_DEST

    def worse(a: tuple[int, int, Candidate] | None, b: tuple[int, int, Candidate] | None) -> bool:
        # git's score_compare(a, b) > 0: a sorts after b
        if a is None:
            return b is not None
        if b is None:
            return False
        if a[0] == b[0]:
            return b[1] > a[1]
        return b[0] > a[0]

    for cand in candidates:
        if not cand.regular:
            continue
        src_size = signatures.size(cand.blob)
        if size_allows(src_size, dst_size, min_score) and dst_size:
            if dst_counts is None:
                dst_counts = signatures.counts(dst_blob)
            score = similarity(src_size, signatures.counts(cand.blob), dst_size, dst_counts, min_score)
        else:
            score = 0
        entry = (score, int(basename(cand.path) == dst_base), cand)
        worst = 0
        for i in range(1, CANDIDATES_PER_DEST):
            if worse(slots[i], slots[worst]):
                worst = i
        if worse(slots[worst], entry):
            slots[worst] = entry
    ranked = sorted(
        (s for s in slots if s is not None),
        key=lambda s: (-s[0], -s[1]),  # sorted() is stable, like git's STABLE_QSORT over the slots
    )
    usable = [s for s in ranked if s[0] >= min_score]
    for score, _, cand in usable:
        if cand.deleted:
            return Origin(cand.path, "R", score)
    if usable:
        score, _, cand = usable[0]
        return Origin(cand.path, "C", score)
    return None
