"""The tree-snapshot helper the hostile tests use to prove "nothing written": it must see every kind of write."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fixtures.snapshot import changes, snapshot


def _tree(root: Path) -> Path:
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_text("abc\n")
    (root / "link").symlink_to("d/f")
    return root


def test_an_untouched_tree_has_no_changes(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    before = snapshot(root)
    (root / "d" / "f").read_text()  # reading moves only the access time
    assert changes(before, snapshot(root)) == []


def test_every_kind_of_write_shows(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    f = root / "d" / "f"
    before = snapshot(root)
    stamp = f.stat()
    f.write_text("xyz\n")  # same size; the old times put back: only the contents differ
    os.utime(f, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert changes(before, snapshot(root)) == ["changed d/f: content"]

    before = snapshot(root)
    f.chmod(0o600)
    (root / "link").unlink()
    (root / "link").symlink_to("elsewhere")
    assert changes(before, snapshot(root)) == [
        "changed .: mtime",
        "changed d/f: mode",
        "changed link: size, mtime, content",
    ]

    before = snapshot(root)
    (root / "d" / "tmp").write_text("")
    (root / "d" / "tmp").unlink()  # created and removed again: the directory's mtime tells
    os.utime(f, ns=(1, 1))
    (root / "new").mkdir()
    assert changes(before, snapshot(root)) == [
        "changed .: mtime",
        "changed d: mtime",
        "changed d/f: mtime",
        "added new",
    ]
    before = snapshot(root)
    (root / "new").rmdir()
    assert changes(before, snapshot(root))[-1] == "removed new"
