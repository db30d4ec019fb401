"""The temporaries of galton's writers: hidden names next to the destination, tracked per process
so that :func:`remove_temporaries` (``atexit``; the ``galton`` command after an interrupt or an error,
for the temporaries its run created) deletes whatever a writer of :mod:`galton.io._write` left, and
moves back a previous output that was set aside while a directory was being replaced.
"""

from __future__ import annotations

import atexit
import errno
import os
import secrets
import shutil
import stat
import sys
from pathlib import Path
from typing import Any, Iterable

from .._run_scope import record

__all__ = ["NAME_MAX", "RENAME_EXCHANGE", "RENAME_NOREPLACE", "create_temp_file", "fsync_dir", "fsync_tree",
           "keep_mode", "probe_writable", "remove_temporaries", "remove_temporaries_of", "rename_with", "temp_name",
           "track", "untrack"]


#: The longest file name (in bytes) most file systems take; a temporary's name stays within it.
NAME_MAX = 255


def temp_name(path: Path, suffix: str) -> Path:
    """A hidden name next to ``path``: ``.<name>.<12 hex digits><suffix>``, the copy of ``name`` cut
    short where the whole would pass :data:`NAME_MAX` bytes (a valid 250-character output name was
    refused after the fit: "File name too long", for its temporary)."""
    token = f".{secrets.token_hex(6)}{suffix}"
    room = NAME_MAX - 1 - len(token.encode())
    name = os.fsencode(path.name)
    return path.with_name(f".{os.fsdecode(name[:room])}{token}")


def probe_writable(path: Path) -> None:
    """Create and remove a temporary next to ``path``: raises the OSError a write there would
    (read-only file system, no permission; ``os.access`` says yes to root on a read-only mount)."""
    fd, tmp = create_temp_file(path, ".probe")  # not .tmp: nothing a writer has begun
    try:
        os.close(fd)
    finally:
        os.unlink(tmp)
        untrack(tmp)


# Live temporaries of this process: path -> (pid, where to move it back if that path is missing).
# remove_temporaries() (the CLI after an interrupt or error, and atexit) deletes them.
_LIVE: dict[str, tuple[int, str | None]] = {}
_ATEXIT: list[bool] = []


def track(path: Path, restore_to: Path | None = None) -> None:
    if not _ATEXIT:
        atexit.register(remove_temporaries)
        _ATEXIT.append(True)
    _LIVE[str(path)] = (os.getpid(), None if restore_to is None else str(restore_to))
    record(str(path))


def untrack(path: Path) -> None:
    _LIVE.pop(str(path), None)


def remove_temporaries(only: Iterable[str] | None = None) -> list[str]:
    """Delete every temporary file and directory this process's writers still hold (``only``: those
    of them whose paths it names).

    A previous output moved aside while a directory was being replaced is moved back when the
    destination is missing. Called at exit, and by the ``galton`` command after an interrupt or an
    error with ``only`` the temporaries its run created (:mod:`galton._run_scope`: other threads'
    writes go on). Returns the paths removed (or restored).
    """
    done = []
    wanted = None if only is None else {str(p) for p in only}
    for path, (pid, restore_to) in reversed(list(_LIVE.items())):
        if pid != os.getpid() or (wanted is not None and path not in wanted):  # a forked child: its parent's
            continue
        try:
            if restore_to is not None and not os.path.lexists(restore_to) and os.path.lexists(path):
                os.replace(path, restore_to)
            elif os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                os.unlink(path)
            else:
                _LIVE.pop(path, None)
                continue
            done.append(path)
        except OSError:  # pragma: no cover - leave it; its hidden name keeps it out of reads
            pass
        _LIVE.pop(path, None)
    return done


def keep_mode(target: int | Path, like: Path, extra: int = 0) -> None:
    """Give ``target`` (an open file's descriptor or a directory's path) the permission bits of
    ``like``, the output it is to replace, and where allowed its owner and group (a 0600 file
    became 0644, a 0700 directory 0755, when replaced); ``extra``: bits added for now (the owner's
    write permission while a directory is built). Nothing when ``like`` does not exist."""
    if os.name != "posix":  # pragma: no cover - Windows: the mode bits mean little
        return
    try:
        st = os.stat(like)
    except OSError:
        return
    for ids in ((st.st_uid, st.st_gid), (-1, st.st_gid)):  # root keeps the owner; others the group, if theirs
        try:
            os.chown(target, *ids)
            break
        except OSError:
            continue
    mode = stat.S_IMODE(st.st_mode)
    if not stat.S_ISDIR(st.st_mode):
        mode &= ~(stat.S_ISUID | stat.S_ISGID)  # a results table is no program
    os.chmod(target, mode | extra)


def create_temp_file(path: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """A new empty hidden file next to ``path``: with the mode (and owner and group, where allowed)
    of ``path`` when it exists, else 0666 less the umask, like a plain open."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = temp_name(path, suffix)
        track(tmp)  # before it exists: an interrupt right after the open still finds it
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            untrack(tmp)
            continue
        except OSError:  # not an interrupt: one right after the open (the file made) must leave it tracked
            untrack(tmp)
            raise
        try:
            keep_mode(fd, path)  # before any byte is written: a 0600 file's content is never 0644
        except BaseException:
            os.close(fd)
            raise
        return fd, tmp
    raise FileExistsError(f"could not create a temporary file next to {path}")  # pragma: no cover


#: renameat2(2) flags (Linux): fail when the destination exists; swap two existing paths.
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
_RENAMEAT2: list[Any] = []


def _renameat2() -> Any:
    """libc's ``renameat2`` through ctypes (Linux, glibc >= 2.28), or None where there is none."""
    if not _RENAMEAT2:
        fn = None
        if sys.platform.startswith("linux"):
            import ctypes

            try:
                fn = ctypes.CDLL(None, use_errno=True).renameat2
                fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                fn.restype = ctypes.c_int
            except (OSError, AttributeError):  # pragma: no cover - an old or another libc
                fn = None
        _RENAMEAT2.append(fn)
    return _RENAMEAT2[0]


def rename_with(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2(src, dst, flags)``: True when done, False where this system or file system has
    no such rename (the caller then renames another way); any other failure raises its OSError
    (FileExistsError for RENAME_NOREPLACE onto an existing ``dst``, FileNotFoundError for
    RENAME_EXCHANGE with a missing one)."""
    fn = _renameat2()
    if fn is None:
        return False
    import ctypes

    at_fdcwd = -100
    if fn(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):  # e.g. NFS, old kernels
        return False
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def remove_temporaries_of(paths: Any, restore: Any = ()) -> None:
    """Remove the given temporaries now (and move back a previous output that is missing)."""
    for p in [str(p) for p in paths]:
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        elif os.path.lexists(p):
            os.unlink(p)
        untrack(Path(p))
    for dest in [str(d) for d in restore]:
        for live, (pid, back) in list(_LIVE.items()):
            if back == dest and pid == os.getpid():
                if not os.path.lexists(dest) and os.path.lexists(live):
                    os.replace(live, dest)
                else:
                    shutil.rmtree(live, ignore_errors=True)
                _LIVE.pop(live, None)
