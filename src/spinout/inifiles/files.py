"""The config stage's file adapter: where the plan's files are in a config directory, reading them, timestamped
backups, and atomic writes that keep a file's mode and ownership.

A write goes to a temporary file in the same directory, is flushed and fsynced, gets the mode and owner of the file
it replaces (or, for a new file, of the file its content came from), and replaces the old file with `os.replace`,
which is atomic on POSIX; the directory is fsynced after. Backups sit next to their file as
`NAME.spinout-<UTC stamp>.bak`: the `.bak` suffix keeps them out of oslo.config's `--config-dir` glob (`*.conf`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from spinout.errors import UnsafeSourceError
from spinout.inifiles.document import IniSyntaxError, decode


def resolve_layout(config_dir: Path, names: Sequence[str], must_exist: Sequence[str]) -> dict[str, Path]:
    """Map the plan's file names to paths in `config_dir`.

    Two layouts: the repository's (`etc/neutron.conf` is `DIR/etc/neutron.conf`, for a maintainer working on a
    checkout) or a deployment's flat directory (`etc/neutron.conf` is `DIR/neutron.conf`, as in /etc/neutron).
    The repository layout is used if every file in `must_exist` (the rules' sources and the settings' files) is
    there, else the flat one if they all are there; else the error names the missing files.
    """
    if not config_dir.is_dir():
        raise UnsafeSourceError(
            f"config directory {str(config_dir)!r} does not exist or is not a directory", hint="check --config-dir"
        )
    repo = {n: config_dir / n for n in names}
    flat = {n: config_dir / PurePosixPath(n).name for n in names}
    if all(repo[n].exists() for n in must_exist):
        return repo
    flat_names = [PurePosixPath(n).name for n in names]
    if len(set(flat_names)) == len(flat_names) and all(flat[n].exists() for n in must_exist):
        return flat
    missing = [n for n in must_exist if not repo[n].exists()]
    raise UnsafeSourceError(
        f"config files missing from {config_dir}: {', '.join(missing)} (looked for them at those paths and by their "
        "bare names)",
        hint="point --config-dir at the directory that holds the core's config files",
    )


def read_files(paths: Mapping[str, Path]) -> dict[str, str | None]:
    """The text of every file (None where it does not exist); unreadable or non-UTF-8 files raise, located."""
    out: dict[str, str | None] = {}
    for name, path in paths.items():
        if not path.exists() and not path.is_symlink():
            out[name] = None
            continue
        if path.is_dir():
            raise IniSyntaxError(str(path), 0, "is a directory, not a config file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise IniSyntaxError(
                str(path),
                0,
                f"cannot be read: {exc.strerror or exc}",
                hint="run as a user who can read and write the config files (often root)",
            ) from None
        out[name] = decode(data, str(path))
    return out


def backup_path(path: Path, stamp: str) -> Path:
    """`neutron.conf` → `neutron.conf.spinout-20261126T104500Z.bak`, numbered if that name is taken."""
    candidate = path.with_name(f"{path.name}.spinout-{stamp}.bak")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.spinout-{stamp}-{n}.bak")
        n += 1
    return candidate


def make_backup(path: Path, stamp: str) -> Path:
    """Copy `path` (content, mode, times, owner) to its backup name; return that name."""
    dest = backup_path(path, stamp)
    shutil.copy2(path, dest)
    st = path.stat()
    _chown_like(dest, st.st_uid, st.st_gid)
    return dest


def _chown_like(path: Path, uid: int, gid: int) -> None:
    st = path.stat()
    if (st.st_uid, st.st_gid) == (uid, gid):
        return
    try:
        os.chown(path, uid, gid)
    except PermissionError:
        raise UnsafeSourceError(
            f"cannot give {path} the owner {uid}:{gid} of the file it replaces",
            hint="run as root or as the owner of the config files, so that the services can still read them",
        ) from None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str, like: Path | None = None) -> None:
    """Replace (or create) `path` with `text`, atomically, keeping its mode and owner.

    A new file takes the mode and owner of `like` (the file its content came from) when given. A symbolic link is
    followed: the file it points to is replaced and the link stays a link.
    """
    path = path.resolve() if path.is_symlink() else path
    model = path if path.exists() else like
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        if model is not None and model.exists():
            st = model.stat()
            os.chmod(tmp, st.st_mode & 0o7777)
            _chown_like(tmp, st.st_uid, st.st_gid)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def restore(path: Path, backup: Path | None) -> None:
    """Put `path` back as `backup` holds it, atomically; `None` means the file did not exist: remove it."""
    path = path.resolve() if path.is_symlink() and backup is not None else path
    if backup is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copy2(backup, tmp)
        st = backup.stat()
        with contextlib.suppress(UnsafeSourceError):  # restoring the content matters more than the owner
            _chown_like(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
