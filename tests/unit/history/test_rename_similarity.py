"""The git similarity rules that spinout mirrors, on hand-computed cases."""

from __future__ import annotations

from collections import Counter

from spinout.history.similarity import MAX_SCORE, chunk_counts, similarity, size_allows


def test_chunks_end_at_newlines_or_after_64_bytes() -> None:
    assert chunk_counts(b"ab\nab\ncd") == Counter({b"ab\n": 6, b"cd": 2})
    long = b"x" * 70 + b"\n"
    assert chunk_counts(long) == Counter({b"x" * 64: 64, b"x" * 6 + b"\n": 7})


def test_crlf_counts_as_lf_in_text_but_not_in_binary() -> None:
    assert chunk_counts(b"a\r\nb\r\n") == chunk_counts(b"a\nb\n")
    assert chunk_counts(b"\0a\r\n") != chunk_counts(b"\0a\n")


def test_score_is_copied_source_bytes_over_the_larger_size() -> None:
    src = b"one\ntwo\nthree\n"  # 14 bytes
    dst = b"one\ntwo\nfour\n"  # 13 bytes: "one\n" and "two\n" (8 bytes) are shared
    score = similarity(len(src), chunk_counts(src), len(dst), chunk_counts(dst))
    assert score == 8 * MAX_SCORE // 14


def test_sizes_too_far_apart_are_not_compared() -> None:
    # git compares when the size difference is at most half the larger size (not the smaller one)
    assert size_allows(84, 160)
    assert not size_allows(79, 160)
    assert similarity(10, Counter({b"a" * 10: 10}), 100, Counter({b"a" * 10: 10})) == 0
