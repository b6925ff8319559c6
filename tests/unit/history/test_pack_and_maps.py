"""The pack writer against git itself, and the map files against filter-repo's format."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest
from tests.unit.history.oracle import filter_repo

from spinout.history.commitmap import CommitState, load_state, read_map, save_state, write_commit_map
from spinout.history.pack import OBJ_BLOB, OBJ_COMMIT, OBJ_TREE, PackSink


def test_pack_objects_are_what_git_makes(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)
    sink = PackSink(Path(repo.path))
    big = bytes(range(256)) * 300  # multi-byte size header
    blob = sink.add(OBJ_BLOB, big)
    tree = sink.add(OBJ_TREE, b"100644 f\0" + blob)
    body = b"tree %s\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nm\n" % tree.hex().encode()
    commit = sink.add(OBJ_COMMIT, body)
    assert sink.add(OBJ_BLOB, big) == blob and sink.count == 3  # added once
    sink.finish()
    hashed = subprocess.run(
        ["git", "hash-object", "--stdin", "-t", "blob"], input=big, capture_output=True, check=True
    ).stdout.decode()
    assert blob.hex() == hashed.strip()
    assert list(Path(repo.path, "objects", "pack").glob("tmp_spinout_*")) == []
    fsck = subprocess.run(["git", "--git-dir", repo.path, "fsck", "--strict", commit.hex()], capture_output=True)
    assert fsck.returncode == 0, fsck.stderr
    assert pygit2.Repository(repo.path)[pygit2.Oid(raw=commit)].message == "m\n"


def test_commit_map_has_filter_repos_format(tmp_path: Path) -> None:
    src = pygit2.init_repository(str(tmp_path / "src"), bare=True, initial_head="main")
    sig = pygit2.Signature("A", "a@x", 1, 0)
    tb = src.TreeBuilder()
    tb.insert("f", src.create_blob(b"x"), pygit2.GIT_FILEMODE_BLOB)
    src.create_commit("refs/heads/main", sig, sig, "m", tb.write(), [])
    filter_repo(Path(src.path), tmp_path / "fr", ["f"], {})
    theirs = (tmp_path / "fr" / "filter-repo-clone" / ".git" / "filter-repo" / "commit-map").read_bytes()
    state = CommitState()
    old, new = bytes.fromhex("ab" * 20), bytes.fromhex("cd" * 20)
    state.record(old, new, pruned=False)
    state.record(bytes.fromhex("01" * 20), new, pruned=True)
    write_commit_map(tmp_path / "commit-map", state)
    ours = (tmp_path / "commit-map").read_bytes()
    assert ours.splitlines()[0] == theirs.splitlines()[0]
    assert read_map(tmp_path / "commit-map") == {"ab" * 20: "cd" * 20, "01" * 20: "0" * 40}


def test_state_round_trips_and_appends(tmp_path: Path) -> None:
    git_dir = tmp_path / "g"
    git_dir.mkdir()
    state = CommitState()
    state.record(b"\1" * 20, b"\2" * 20, pruned=False)
    state.record(b"\3" * 20, None, pruned=True)
    save_state(git_dir, "fp", {"refs/heads/main": "aa"}, state)
    loaded = load_state(git_dir)
    assert loaded is not None
    assert loaded.fingerprint == "fp" and loaded.tips == {"refs/heads/main": "aa"}
    assert loaded.commits.replacement == {b"\1" * 20: b"\2" * 20, b"\3" * 20: None}
    assert loaded.commits.pruned == {b"\3" * 20}
    loaded.commits.record(b"\4" * 20, b"\1" * 20, pruned=True)
    save_state(git_dir, "fp", {}, loaded.commits, incremental=True)
    again = load_state(git_dir)
    assert again is not None and len(again.commits.replacement) == 3
    assert again.commits.replacement[b"\4" * 20] == b"\1" * 20
    (git_dir / "spinout" / "commit-state").write_bytes(b"truncated")
    assert load_state(git_dir) is None


@pytest.mark.parametrize("size", [0, 1, 57, 65_535, 65_536, 65_537, 200_000])
def test_stored_blocks_are_a_zlib_stream_at_every_size(size: int) -> None:
    import random
    import zlib

    from spinout.history.pack import stored

    data = random.Random(size).randbytes(size)
    assert zlib.decompress(stored(data)) == data


def test_pack_index_is_the_one_git_index_pack_writes(tmp_path: Path) -> None:
    import random

    from spinout.history.pack import OBJ_TAG

    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)
    sink = PackSink(Path(repo.path))
    rng = random.Random(7)
    added = set()
    for i in range(3000):
        kind = (OBJ_BLOB, OBJ_TREE, OBJ_COMMIT, OBJ_TAG)[i % 4]
        data = rng.randbytes(rng.choice([0, 5, 300, 70_000]))
        added.add(sink.add(kind, data))
    added.add(sink.add(OBJ_BLOB, b"same"))
    added.add(sink.add(OBJ_BLOB, b"same"))  # once
    sink.finish()
    packs = sorted((Path(repo.path) / "objects" / "pack").glob("pack-*.pack"))
    assert len(packs) == 1 and not list(packs[0].parent.glob("tmp_*"))
    ours = packs[0].with_suffix(".idx").read_bytes()
    theirs = tmp_path / "git.idx"
    subprocess.run(["git", "index-pack", "-o", str(theirs), str(packs[0])], check=True, capture_output=True)
    assert ours == theirs.read_bytes()
    # checksums, CRCs and every object's id (random bytes are not valid trees or commits, so no fsck)
    subprocess.run(["git", "verify-pack", str(packs[0].with_suffix(".idx"))], check=True, capture_output=True)
    listed = subprocess.run(["git", "show-index"], input=ours, capture_output=True, check=True).stdout.split(b"\n")
    assert {bytes.fromhex(line.split()[1].decode()) for line in listed if line} == added
    assert sink.count == len(added)
