"""One version of a folder of files that another program may rewrite while galton reads it.

A Parquet folder (or a glob pattern) is read file by file: listing, footers, pages. A writer that
replaces the folder meanwhile (galton's own :func:`~galton.io.atomic_dir` swaps the new folder in,
then deletes the old one; Spark and pyarrow rewrite parts in place) left a reader holding parts of
both versions: a schema from one and rows from the other, a spurious type error, or a file gone
half way. Holding every file open would pin one version but spends one descriptor per part (a folder
of over 1,024 parts would exhaust a default limit).

Instead each file's identity (device, inode, size, modification and change times) is taken when
the folder is listed, and the read is accepted only when the listing and every identity are the
same afterwards; otherwise it is read again (:func:`read_steady`). A rewritten file has a new inode
or a new change time, so a read that passes saw one version of every file. On Ray each reading task
opens its file once and compares the open file's identity with the listing's
(:func:`check_identity`): a file rewritten after the listing is an error naming it, never rows of
another version.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence, TypeVar

__all__ = ["InputChanged", "check_identity", "file_identity", "identities", "read_steady"]

T = TypeVar("T")

Identity = tuple[int, int, int, int, int]

#: reads of a folder that changed meanwhile before galton gives up
ATTEMPTS = 3


class InputChanged(ValueError):
    """The input was rewritten while galton read it, each time it tried."""


def file_identity(st: os.stat_result) -> Identity:
    """What tells one version of a file from another: a rewrite (a new file renamed into place, or
    the same inode written again) changes the inode or the change time."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def identities(files: Sequence[str]) -> list[Identity | None]:
    """Each file's identity now; None for a file that is gone."""
    out: list[Identity | None] = []
    for f in files:
        try:
            out.append(file_identity(os.stat(f)))
        except OSError:
            out.append(None)
    return out


def changed_message(what: str, attempts: int) -> str:
    return (f"{what!r} changed while galton read it ({attempts} reads in a row saw files replaced, added or "
            "removed): another program is rewriting it; read it when that program has finished")


def read_steady(what: str, list_files: Callable[[], list[str]], read: Callable[[list[str]], T],
                attempts: int = ATTEMPTS) -> T:
    """``read(files)`` of the files ``list_files()`` names, accepted only when the listing and every
    file's identity are the same after the read as before it; otherwise read again, up to
    ``attempts`` times, then :class:`InputChanged`. An error raised by ``read`` while the files were
    being replaced counts as a changed read (a part deleted half way); one raised while they stood
    still is the caller's."""
    for _ in range(attempts):
        files = list_files()
        before = identities(files)
        try:
            result = read(files)
        except (ValueError, OSError):
            if _steady(list_files, files, before):
                raise
            continue
        if _steady(list_files, files, before):
            return result
    raise InputChanged(changed_message(what, attempts))


def _steady(list_files: Callable[[], list[str]], files: list[str], before: list[Identity | None]) -> bool:
    try:
        now = list_files()
    except (ValueError, OSError):  # the folder itself gone for a moment (two renames on other systems)
        return False
    return now == files and identities(files) == before and None not in before


def check_identity(name: str, fd: int, expected: Identity | None) -> None:
    """Raise :class:`InputChanged` when the open file ``fd`` is not the version of ``name`` that was
    listed (``expected``; None checks nothing): for a reading task that opened its file once."""
    if expected is not None and file_identity(os.fstat(fd)) != expected:
        raise InputChanged(f"{name!r} was rewritten after galton listed its folder (another program is "
                           "rewriting the input); read it when that program has finished")
