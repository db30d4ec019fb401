"""Output writers: result tables to Parquet / CSV / TSV, written atomically.

Every writer here follows one rule: a reader never sees a half-written output, and a failed write
leaves nothing behind. A file goes to a hidden temporary name (``.<name>.<random>.tmp``) in the
destination's own directory, is flushed and fsync'ed, and then replaces the destination with
:func:`os.replace` (atomic on POSIX and Windows within one file system). Readers that list a
directory skip names that start with ``"."`` (pyarrow, polars, Spark and Ray all do), so even a
crash between the write and the rename is invisible to them. :func:`atomic_dir` does the same for
outputs that are a whole directory (sharded Parquet written by Ray workers, for example).

:func:`results_table` turns a fitted model into one tidy table in the user's own ids and label
values: ``task, label, confidence, p_<label>...``.

Examples
--------
>>> import galton, tempfile, os
>>> from galton.io import results_table, write_table
>>> model = galton.DawidSkene().fit(galton.load_dataset("act_cf").judgments)
>>> table = results_table(model)
>>> table.column_names[:3]
['task', 'label', 'confidence']
>>> path = write_table(table, os.path.join(tempfile.mkdtemp(), "results.parquet"))
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator, Literal

import pyarrow as pa

from ._results import results_table
from ._temporaries import (create_temp_file, fsync_dir, fsync_tree, remove_temporaries, remove_temporaries_of,
                          temp_name, track, untrack)

__all__ = [
    "MARKER", "STDOUT", "WRITERS", "atomic_dir", "check_replaceable", "remove_temporaries", "results_table",
    "table_format", "to_arrow_table", "write_table",
]

TableFormat = Literal["parquet", "csv", "tsv", "jsonl"]

#: File name extensions (lower case) and the format each one selects.
FORMATS: dict[str, TableFormat] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv",
                                   ".jsonl": "jsonl", ".ndjson": "jsonl"}

#: Zstandard level for Parquet output: fast to write, close to the best ratio for result tables.
PARQUET_ZSTD_LEVEL = 3

#: The file galton puts in every directory it writes (the list of its files). A directory is only
#: ever replaced when it is empty or carries this marker and holds nothing else than those files.
#: The leading underscore makes pyarrow, polars, Spark and Ray skip it when reading the directory.
MARKER = "_galton_output.json"

#: Who writes galton's directories: the ``kind`` a marker records, and how a message names it. A
#: writer that passes ``kind`` replaces only a directory of the same kind (see :func:`check_replaceable`).
WRITERS = {"results": ("galton aggregate", "results directory"), "simulation": ("galton simulate", "simulation"),
           "report": ("galton bench", "report")}

#: The output path meaning "standard output" (CSV).
STDOUT = "-"


# --------------------------------------------------------------------------------------------------
# formats and conversion
# --------------------------------------------------------------------------------------------------
def table_format(path: str | os.PathLike[str]) -> TableFormat:
    """The output format selected by a path's extension.

    Parameters
    ----------
    path : path-like
        Destination file name.

    Returns
    -------
    {"parquet", "csv", "tsv", "jsonl"}

    Raises
    ------
    ValueError
        If the extension is not ``.parquet``, ``.pq``, ``.csv``, ``.tsv``, ``.jsonl`` or ``.ndjson``
        (any case).

    Examples
    --------
    >>> table_format("out/results.PQ")
    'parquet'
    """
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        raise ValueError(
            f"cannot tell the output format of {str(path)!r} from its extension "
            f"{suffix or '(none)'!r}; name the file *.parquet, *.pq, *.csv, *.tsv or *.jsonl (JSON lines)"
        ) from None


def to_arrow_table(table: Any) -> pa.Table:
    """A pyarrow Table from a pyarrow Table / RecordBatch, a polars or a pandas DataFrame.

    A pandas frame keeps a meaningful index (anything but a default RangeIndex) as columns, so a
    crowd-kit style result indexed by ``task`` keeps its task ids.

    Raises
    ------
    TypeError
        For any other type.
    """
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    module = type(table).__module__.split(".")[0]
    if module == "polars" and hasattr(table, "to_arrow"):
        return table.to_arrow()
    if module == "pandas":
        import pandas as pd

        if getattr(table, "ndim", 2) == 1:  # a Series, e.g. crowd-kit's labels_
            table = table.to_frame()
        index = table.index
        default = isinstance(index, pd.RangeIndex) and index.name is None
        if not default:
            table = table.reset_index()  # index columns first, as a reader expects ids
        return pa.Table.from_pandas(table, preserve_index=False)
    if hasattr(table, "__arrow_c_stream__"):
        return pa.table(table)
    raise TypeError(
        f"cannot write a {type(table).__name__}; pass a pyarrow Table, a polars DataFrame or a "
        "pandas DataFrame"
    )


# --------------------------------------------------------------------------------------------------
# atomic files and directories
# --------------------------------------------------------------------------------------------------
def _check_parent(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(
            f"the directory of {str(path)!r} does not exist; create {str(parent)!r} first"
        )
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory; give a file name")


def _write_to(fh: Any, table: pa.Table, fmt: TableFormat) -> None:
    """Write ``table`` to the open binary file ``fh`` in format ``fmt``."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, fh, compression="zstd", compression_level=PARQUET_ZSTD_LEVEL)
    else:
        import polars as pl

        frame = pl.from_arrow(table)
        if fmt == "jsonl":  # one object a row; floats that read back exactly
            frame.write_ndjson(fh)
        else:  # plain CSV (quotes only where needed, shortest round-trip floats, true/false)
            durations = [c for c, t in frame.schema.items() if isinstance(t, pl.Duration)]
            if durations:  # polars writes no duration to CSV ("consider JSON", after the fit): ISO 8601 text
                frame = frame.with_columns(pl.col(c).dt.to_string("iso") for c in durations)
            frame.write_csv(fh, separator="\t" if fmt == "tsv" else ",")


def _write_stdout(arrow: pa.Table, fmt: TableFormat) -> None:
    """Write ``arrow`` to standard output (CSV unless ``fmt`` says otherwise)."""
    sys.stdout.flush()
    fh = sys.stdout.buffer
    _write_to(fh, arrow, fmt)
    fh.flush()


def write_table(table: Any, path: str | os.PathLike[str], *, format: TableFormat | None = None) -> Path:
    """Write a table to Parquet, CSV, TSV or JSON lines (chosen by extension), atomically.

    The table is written to a hidden temporary file in the destination directory, flushed and
    fsync'ed, and moved over ``path`` with :func:`os.replace`. If anything fails (or the process is
    interrupted) the temporary file is removed and an existing ``path`` is left untouched.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        The table to write. Parquet keeps every column type; CSV keeps what text can (integers,
        floats, booleans and strings that do not look like numbers read back as the same type).
    path : path-like
        Destination ending in ``.parquet``, ``.pq``, ``.csv``, ``.tsv`` or ``.jsonl`` / ``.ndjson``
        (one JSON object a row); its directory must exist.
        ``"-"`` writes to standard output (CSV unless ``format`` says otherwise).
    format : {"parquet", "csv", "tsv", "jsonl"}, optional
        The format, instead of the one the extension selects.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If the extension selects no format.
    FileNotFoundError
        If the destination directory does not exist.
    TypeError
        If ``table`` is not a supported table type.
    """
    if str(path) == STDOUT:
        _write_stdout(to_arrow_table(table), format or "csv")
        return Path(STDOUT)
    path = Path(path)
    fmt = format or table_format(path)
    arrow = to_arrow_table(table)
    _check_parent(path)
    fd, tmp = create_temp_file(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_to(fh, arrow, fmt)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        untrack(tmp)
        raise
    untrack(tmp)
    fsync_dir(path.parent)
    return path


def _files_under(root: Path) -> list[str]:
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
    if not path.is_dir():
        special = "" if path.is_file() or path.is_symlink() else (
            " (a device or pipe: results are written to a temporary file and renamed, which it cannot "
            "take; to see only the summary, leave the output out)")
        raise FileExistsError(f"{str(path)!r} exists and is not a directory{special}; choose another output")
    files = _files_under(path)
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


def _write_marker(root: Path, kind: str | None = None) -> None:
    from .. import __version__

    files = [f for f in _files_under(root) if f != MARKER]
    meta = {"written_by": "galton", "version": __version__, **({"kind": kind} if kind else {}), "files": files}
    (root / MARKER).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = True, kind: str | None = None) -> Iterator[Path]:
    """Build a directory output under a hidden temporary name; move it into place at the end.

    ``with atomic_dir("out/results") as tmp:`` yields an empty directory next to the destination
    (``out/.results.<random>.tmp``); write everything into it. When the block ends normally, the
    marker :data:`MARKER` (the list of files written) is added, the files are fsync'ed and the
    directory is renamed to ``path``. When the block raises (or is interrupted), the temporary
    directory is deleted and an existing ``path`` is left untouched.

    An existing ``path`` is replaced only when it is empty or a directory galton wrote that holds
    nothing else (:func:`check_replaceable`), checked before the block runs and again before the
    swap. Replacing takes two renames (old out of the way, new in, then the old one is deleted),
    so for a moment ``path`` is absent; it is never half-written.

    Parameters
    ----------
    path : path-like
        Destination directory; its parent must exist.
    overwrite : bool, default True
        Replace an existing (galton) ``path``; with False an existing ``path`` raises
        ``FileExistsError`` before anything is written.
    kind : {"results", "simulation", "report"}, optional
        What is written (a key of :data:`WRITERS`), recorded in the marker; an existing ``path`` is
        then replaced only when it is of the same kind.

    Yields
    ------
    pathlib.Path
        The temporary directory to write into.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"the directory of {str(path)!r} does not exist; create {str(path.parent)!r} first"
        )
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it")
    check_replaceable(path, kind)
    tmp = temp_name(path, ".tmp")
    track(tmp)
    try:
        tmp.mkdir()
        yield tmp
        _write_marker(tmp, kind)
        fsync_tree(tmp)
        if os.path.lexists(path):
            check_replaceable(path, kind)  # it may have changed while the block ran
            old = temp_name(path, ".old")
            track(old, restore_to=path)  # an interrupt between the renames puts it back
            os.replace(path, old)
            os.replace(tmp, path)
            untrack(tmp)
            shutil.rmtree(old, ignore_errors=True)
            untrack(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        remove_temporaries_of((tmp,), restore=(path,))
        raise
    finally:
        untrack(tmp)
    fsync_dir(path.parent)
