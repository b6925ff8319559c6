"""The config stage's file adapter: where the plan's files are in a config directory, reading them safely, atomic
backups and writes that keep a file's mode and ownership, and errors that say which file and which disk.

Reading: only regular files (a symbolic link to one is followed), at most `MAX_CONFIG_BYTES` each. A FIFO, a device
(`/dev/zero`), a socket or a directory is refused with its path before anything is opened for reading, so that no
read can hang or exhaust memory.

Writing: a write goes to a temporary file in the same directory (`.NAME.XXXXXXXX.tmp`), is flushed and fsynced,
gets the mode and owner of the file it replaces (or, for a new file, of the file its content came from), and
replaces the old file with `os.replace`, which is atomic on POSIX; the directory is fsynced after. Backups are
written the same way, so a backup's name never stands for a partial copy. They sit next to their file as
`NAME.spinout-<UTC stamp>.bak`: the `.bak` suffix keeps them out of oslo.config's `--config-dir` glob (`*.conf`).
A temporary file that a killed run left behind is recognised by its name and removed by the next run.

Every `OSError` is turned into a located `SpinoutError`: `DiskFull` (exit 4) names the directory, the file system's
mount point and device and the free space; anything else names the file and the reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from spinout.errors import ToolError, UnsafeSourceError
from spinout.inifiles.document import IniSyntaxError, decode

# Far above any real config file (Neutron's generated sample is ~100 KiB; 100,000 repeated keys are ~5 MiB), far
# below what would strain memory: the split holds a few copies of each file's text and its lines.
MAX_CONFIG_BYTES = 16 * 1024 * 1024
# tempfile.mkstemp's random part: 8 characters of this alphabet.
_TEMP_SUFFIX = r"\.[a-z0-9_]{8}\.tmp"
_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(ToolError):
    """No space (or quota) left where a file had to be written: names the directory, the mount point and device of
    its file system, the space free now (after any rollback), what the caller was doing and what it needs."""

    def __init__(self, directory: Path, doing: str, needed: int | None = None, *, done: str = "") -> None:
        self.directory = directory
        self.doing = doing
        self.mount, self.device = mount_of(directory)
        self.free = free_bytes(directory)
        self.needed = needed
        need = f"; the run needs about {_size(needed)} there" if needed else ""
        super().__init__(
            f"no space left on device {self.device} (mounted at {self.mount}, {_size(self.free)} free) while "
            f"{doing} in {directory}{need}{done}",
            hint=f"free space on {self.mount} (or raise the quota), then run the command again",
        )


def _size(n: int | None) -> str:
    if n is None:
        return "an unknown amount"
    if n < 1024:
        return f"{n} bytes"
    scaled = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GiB":
            break
    return f"{scaled:.1f} {unit}"


def mount_of(directory: Path) -> tuple[str, str]:
    """The mount point holding `directory` and the device mounted there (as /proc/self/mounts names it)."""
    try:
        here = directory.resolve()
        dev = here.stat().st_dev
        while here.parent != here and here.parent.stat().st_dev == dev:
            here = here.parent
    except OSError:
        return str(directory), "?"
    device = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace").splitlines():
            fields = line.split(" ")
            if len(fields) > 2 and fields[1].replace("\\040", " ") == str(here):
                device = fields[0]  # the last mount on a point is the visible one
    return str(here), device


def space_needed(directory: Path, sizes: Iterable[int]) -> int:
    """Bytes that files of these sizes take in `directory`'s file system: each rounded up to whole blocks."""
    try:
        block = os.statvfs(directory).f_frsize or 4096
    except OSError:
        block = 4096
    return sum(max(1, -(-size // block)) * block for size in sizes)


def free_bytes(directory: Path) -> int | None:
    try:
        st = os.statvfs(directory)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def os_failure(exc: OSError, path: Path, doing: str, needed: int | None = None) -> ToolError | UnsafeSourceError:
    """The located error for an `OSError` raised while `doing` something to `path`."""
    if exc.errno in _FULL:
        return DiskFull(path.parent, doing, needed)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return UnsafeSourceError(
            f"cannot write {path} while {doing}: {exc.strerror}",
            hint="run as a user who can write the config directory (often root), on a writable file system",
        )
    return ToolError(f"{doing} {path} failed: {exc.strerror or exc}", hint="check the file system and run again")


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


_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def _not_regular(path: Path, mode: int) -> IniSyntaxError:
    kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
    link = f" (through the symbolic link {path} → {os.path.realpath(path)})" if path.is_symlink() else ""
    return IniSyntaxError(
        str(path),
        0,
        f"is {kind}{link}, not a config file: spinout reads regular files only",
        hint="point the plan and --config-dir at the regular config files",
    )


def _too_large(path: Path, size: int, limit: int) -> IniSyntaxError:
    return IniSyntaxError(
        str(path),
        0,
        f"is larger than {_size(limit)} ({_size(size)}), the most spinout reads from one config file",
        hint="check that this really is the config file meant (a config file is rarely above a few hundred KiB)",
    )


def read_regular(path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of the regular file `path` (a symbolic link to one is followed), refused with a located error when
    it is anything else or larger than `limit`. Never blocks on a FIFO, never reads a device."""
    try:
        st = path.stat()  # no open() yet: opening some devices has effects of its own
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        if st.st_size > limit:
            raise _too_large(path, st.st_size, limit)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        target = f" (a symbolic link to {os.readlink(path)}, which does not exist)" if path.is_symlink() else ""
        raise IniSyntaxError(str(path), 0, f"does not exist{target}", hint="check --config-dir and the plan") from None
    except OSError as exc:
        raise IniSyntaxError(
            str(path),
            0,
            f"cannot be read: {exc.strerror or exc}",
            hint="run as a user who can read and write the config files (often root)",
        ) from None
    try:
        st = os.fstat(fd)  # what was opened, in case the path changed since the stat above
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # it grew since the stat
                raise _too_large(path, total, limit)
            chunks.append(chunk)
    except OSError as exc:
        raise IniSyntaxError(str(path), 0, f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_files(paths: Mapping[str, Path], limit: int = MAX_CONFIG_BYTES) -> dict[str, str | None]:
    """The text of every file (None where it does not exist); anything that is not a readable, regular, UTF-8 file
    of at most `limit` bytes raises, located."""
    out: dict[str, str | None] = {}
    for name, path in paths.items():
        if not path.exists() and not path.is_symlink():
            out[name] = None
            continue
        out[name] = decode(read_regular(path, limit), str(path))
    return out


def backup_path(path: Path, stamp: str) -> Path:
    """`neutron.conf` → `neutron.conf.spinout-20261126T104500Z.bak`, numbered if that name is taken."""
    candidate = path.with_name(f"{path.name}.spinout-{stamp}.bak")
    n = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = path.with_name(f"{path.name}.spinout-{stamp}-{n}.bak")
        n += 1
    return candidate


def make_backup(path: Path, dest: Path, data: bytes) -> None:
    """Write `data` (the content of `path` the run read) to `dest` with the mode, times and owner of `path`,
    atomically: `dest` appears complete or not at all."""
    fd, tmp_name = _mkstemp(dest)
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            shutil.copystat(path, tmp)
            st = path.stat()
            _chown_like(tmp, st.st_uid, st.st_gid)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        _fsync_dir(dest.parent)
    except OSError as exc:
        raise os_failure(exc, dest, "backing up", len(data)) from None


def _mkstemp(path: Path) -> tuple[int, str]:
    try:
        return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise os_failure(exc, path, "creating a temporary file for") from None


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
    followed: the file it points to is replaced and the link stays a link. On a full disk it raises `DiskFull`
    with `path` unchanged.
    """
    path = path.resolve() if path.is_symlink() else path
    model = path if path.exists() else like
    data = text.encode("utf-8")
    fd, tmp_name = _mkstemp(path)
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
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
    except OSError as exc:
        raise os_failure(exc, path, "writing", len(data)) from None


def _same_file_content(a: Path, b: Path) -> bool:
    try:
        sa, sb = a.stat(), b.stat()
        if sa.st_size != sb.st_size or stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode):
            return False
        return read_regular(a) == read_regular(b)
    except (OSError, IniSyntaxError):
        return False


def restore(path: Path, backup: Path | None) -> str:
    """Put `path` back as it was before a run and return what was done; the backup is used up.

    `backup` None means the file did not exist: it is removed. A backup that was never made (the run stopped before
    its writes) means the file was never written: nothing to do. A file whose content is still the backup's was
    not written either: the backup is removed. Otherwise the backup is renamed over the file — a rename needs no
    free space, so a rollback works on a full disk (across file systems, as for a symbolic link to another mount,
    it is copied instead).
    """
    target = path.resolve() if path.is_symlink() else path
    try:
        if backup is None:
            if target.exists():
                target.unlink()
                _fsync_dir(target.parent)
                return f"{path} removed (the run had created it)"
            return f"{path} not created yet: nothing to undo"
        if not backup.exists():
            return f"{path} not written yet: nothing to undo"
        if _same_file_content(target, backup):
            backup.unlink()
            _fsync_dir(backup.parent)
            return f"{path} was not written yet: its backup {backup.name} removed"
        try:
            os.replace(backup, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_back(target, backup)
            backup.unlink()
        _fsync_dir(target.parent)
        _fsync_dir(backup.parent)
        return f"{path} restored from {backup.name}"
    except OSError as exc:
        raise os_failure(exc, target, "restoring") from None


def _copy_back(target: Path, backup: Path) -> None:
    fd, tmp_name = _mkstemp(target)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copy2(backup, tmp)
        st = backup.stat()
        with contextlib.suppress(UnsafeSourceError):  # restoring the content matters more than the owner
            _chown_like(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def stale_temporaries(files: Iterable[Path]) -> list[Path]:
    """Temporary files an interrupted write of one of `files` left behind (`.NAME.XXXXXXXX.tmp` beside each file,
    or beside the file a symbolic link points to): regular files only, matched by exact name."""
    wanted: dict[Path, set[str]] = {}
    for f in files:
        for p in {f, f.resolve()} if f.is_symlink() else {f}:
            wanted.setdefault(p.parent, set()).add(p.name)
    out: list[Path] = []
    for directory, names in sorted(wanted.items()):
        pattern = re.compile(r"^\.(?:" + "|".join(re.escape(n) for n in sorted(names)) + ")" + _TEMP_SUFFIX + "$")
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        out.extend(Path(e.path) for e in entries if pattern.match(e.name) and e.is_file(follow_symlinks=False))
    return out


def remove_stale_temporaries(files: Iterable[Path]) -> list[Path]:
    """Remove what `stale_temporaries` finds (call it only under the directory's lock); return the removed files."""
    removed = []
    for tmp in stale_temporaries(files):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed.append(tmp)
    return removed
