"""Which directories galton may replace: the marker it puts in every directory it writes, with the
list of its files and the command that wrote it, and :func:`check_replaceable`, which every writer of
a directory asks first. An output that exists and is not a directory (a file, a device, a pipe) is
never replaced by a directory."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

__all__ = ["MARKER", "SPECIAL", "WRITERS", "check_replaceable", "files_under", "write_marker"]

#: The file galton puts in every directory it writes (the list of its files). A directory is only
#: ever replaced when it is empty or carries this marker and holds nothing else than those files.
#: The leading underscore makes pyarrow, Spark and Ray skip it when they read the directory; polars reads
#: every file of a bare directory (and refuses one whose files differ in extension): give it ``dir/*.parquet``.
MARKER = "_galton_output.json"

#: Who writes galton's directories: the ``kind`` a marker records, and how a message names it. A
#: writer that passes ``kind`` replaces only a directory of the same kind (see :func:`check_replaceable`).
WRITERS = {"results": ("galton aggregate", "results directory"), "simulation": ("galton simulate", "simulation"),
           "report": ("galton bench", "report")}

#: Why a device or a named pipe cannot be an output (a message's parenthesis).
SPECIAL = "a device or pipe: results are written to a temporary file and renamed, which it cannot take"


def files_under(root: Path) -> list[str]:
    """Relative POSIX paths of every file (and empty directory or link) under ``root``."""
    found = []
    for dirpath, dirs, files in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        for name in files:
            found.append((rel / name).as_posix())
        for name in dirs:
            full = Path(dirpath) / name
            if os.path.islink(full) or not any(full.iterdir()):
                found.append((rel / name).as_posix())
    return sorted(found)


def _kind_of(meta: dict[str, Any]) -> str | None:
    """The kind of a galton directory: its marker's ``kind``, or for a marker written before galton
    recorded it, the kind its files show (None when they show none)."""
    if meta.get("kind") in WRITERS:
        return str(meta["kind"])
    files = set(meta["files"])
    if "index.html" in files and ("study.json" in files or "report.md" in files):
        return "report"
    if {"config.json", "workers.parquet"} <= files and any(f.startswith("judgments/") for f in files):
        return "simulation"
    if files and all(re.fullmatch(r"part-\d+\.parquet", f) for f in files):
        return "results"
    return None


def _check_not_here(path: Path) -> None:
    """Refuse the current directory, or one that holds it, as an output directory: it is built beside
    itself and swapped in (``--out .`` failed after the run had started: "PosixPath('.') has an empty
    name"; ``--out ..`` ran, then named the run's own temporary as a stranger's file)."""
    out, here = os.path.realpath(path), os.path.realpath(os.getcwd())
    if here == out or here.startswith(out.rstrip(os.sep) + os.sep):
        where = "the current directory" if here == out else f"a directory that holds the current one ({here!r})"
        raise FileExistsError(f"{str(path)!r} is {where}: an output directory is written beside its place and "
                              "moved into it; name a new directory (such as 'out'), or run galton from elsewhere")


def check_replaceable(path: str | os.PathLike[str], kind: str | None = None) -> None:
    """Raise unless galton may replace the directory ``path`` without losing anything.

    ``path`` may be absent, an empty directory, or a directory galton wrote (it carries
    :data:`MARKER`) that holds nothing but the files the marker lists. With ``kind`` (a key of
    :data:`WRITERS`), a galton directory must also be of that kind: ``galton bench`` replaces a report,
    never a simulation or a results directory, and so on (a marker without a kind counts as the kind
    its files show).

    Raises
    ------
    FileExistsError
        When ``path`` is a file, a directory galton did not write, a galton directory of another kind
        than ``kind``, or a galton directory that also holds other files (the first five are named).
    """
    if kind is not None and kind not in WRITERS:
        raise ValueError(f"kind={kind!r}: expected one of {', '.join(map(repr, WRITERS))}")
    path = Path(path)
    if not os.path.lexists(path):
        return
    _check_not_here(path)
    if not path.is_dir():
        special = "" if path.is_file() or path.is_symlink() else (
            f" ({SPECIAL}; to see only the summary, leave the output out)")
        raise FileExistsError(f"{str(path)!r} exists and is not a directory{special}; choose another output")
    files = files_under(path)
    if not files:
        return
    try:
        meta = json.loads((path / MARKER).read_text(encoding="utf-8"))
        listed = set(meta["files"]) if meta.get("written_by") == "galton" else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        listed = None
    if listed is None:
        raise FileExistsError(
            f"{str(path)!r} is a directory galton did not write (it has no {MARKER}); galton replaces "
            "only its own result directories: choose another output or remove it"
        )
    found = _kind_of(meta) if kind is not None else None
    if kind is not None and found != kind:
        what = "by {} (a {})".format(*WRITERS[found]) if found else f"by galton, but is no {WRITERS[kind][1]}"
        raise FileExistsError(
            f"{str(path)!r} was written {what}; {WRITERS[kind][0]} replaces only a {WRITERS[kind][1]} it wrote: "
            "choose another output or remove it"
        )
    extra = [f for f in files if f not in listed and f != MARKER]
    if extra:
        raise FileExistsError(
            f"{str(path)!r} holds {len(extra)} file(s) galton did not write ({', '.join(extra[:5])}"
            f"{', ...' if len(extra) > 5 else ''}); move them or choose another output"
        )


def write_marker(root: Path, kind: str | None = None) -> None:
    from .. import __version__

    files = [f for f in files_under(root) if f != MARKER]
    meta = {"written_by": "galton", "version": __version__, **({"kind": kind} if kind else {}), "files": files}
    (root / MARKER).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
