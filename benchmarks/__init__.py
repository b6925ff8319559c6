"""Benchmarks: each runs spinout and its anchor in the same run and prints the ratio (see docs/benchmarks.md)."""
