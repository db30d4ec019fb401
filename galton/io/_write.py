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
import os
import secrets
import shutil
from pathlib import Path
from typing import Any, Iterator, Literal

import numpy as np
import pyarrow as pa

__all__ = ["write_table", "atomic_dir", "results_table", "table_format", "to_arrow_table"]

TableFormat = Literal["parquet", "csv", "tsv"]

#: File name extensions (lower case) and the format each one selects.
FORMATS: dict[str, TableFormat] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv"}

#: Zstandard level for Parquet output: fast to write, close to the best ratio for result tables.
PARQUET_ZSTD_LEVEL = 3


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
    {"parquet", "csv", "tsv"}

    Raises
    ------
    ValueError
        If the extension is not ``.parquet``, ``.pq``, ``.csv`` or ``.tsv`` (any case).

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
            f"{suffix or '(none)'!r}; name the file *.parquet, *.pq, *.csv or *.tsv"
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


def _temp_name(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")


def _create_temp_file(path: Path) -> tuple[int, Path]:
    """A new empty hidden file next to ``path`` (mode 0666 less the umask, like a plain open)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = _temp_name(path, ".tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
    raise FileExistsError(f"could not create a temporary file next to {path}")  # pragma: no cover


def _fsync_dir(path: Path) -> None:
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


def _write_to(fh: Any, table: pa.Table, fmt: TableFormat) -> None:
    """Write ``table`` to the open binary file ``fh`` in format ``fmt``."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, fh, compression="zstd", compression_level=PARQUET_ZSTD_LEVEL)
    else:
        import polars as pl

        # polars writes plain CSV (quotes only where needed, shortest round-trip floats, true/false)
        pl.from_arrow(table).write_csv(fh, separator="\t" if fmt == "tsv" else ",")


def write_table(table: Any, path: str | os.PathLike[str]) -> Path:
    """Write a table to Parquet, CSV or TSV (chosen by extension), atomically.

    The table is written to a hidden temporary file in the destination directory, flushed and
    fsync'ed, and moved over ``path`` with :func:`os.replace`. If anything fails (or the process is
    interrupted) the temporary file is removed and an existing ``path`` is left untouched.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        The table to write. Parquet keeps every column type; CSV keeps what text can (integers,
        floats, booleans and strings that do not look like numbers read back as the same type).
    path : path-like
        Destination ending in ``.parquet``, ``.pq``, ``.csv`` or ``.tsv``; its directory must exist.

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
    path = Path(path)
    fmt = table_format(path)
    arrow = to_arrow_table(table)
    _check_parent(path)
    fd, tmp = _create_temp_file(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_to(fh, arrow, fmt)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Build a directory output under a hidden temporary name; move it into place at the end.

    ``with atomic_dir("out/results") as tmp:`` yields an empty directory next to the destination
    (``out/.results.<random>.tmp``); write everything into it. When the block ends normally, its
    files are fsync'ed and it is renamed to ``path``. When the block raises (or is interrupted),
    the temporary directory is deleted and an existing ``path`` is left untouched.

    Replacing an existing directory takes two renames (old out of the way, new in, then the old one
    is deleted), so for a moment ``path`` is absent; it is never half-written.

    Parameters
    ----------
    path : path-like
        Destination directory; its parent must exist.
    overwrite : bool, default True
        Replace an existing ``path``; with False an existing ``path`` raises ``FileExistsError``
        before anything is written.

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
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{str(path)!r} exists and is not a directory")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it")
    tmp = _temp_name(path, ".tmp")
    tmp.mkdir()
    try:
        yield tmp
        _fsync_tree(tmp)
        if path.exists():
            old = _temp_name(path, ".old")
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)  # put the previous output back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)


# --------------------------------------------------------------------------------------------------
# results of a fitted model
# --------------------------------------------------------------------------------------------------
def _column(values: np.ndarray) -> pa.Array:
    """An Arrow column from a vocabulary array (object arrays of str become string columns)."""
    if values.dtype == object:
        return pa.array(values.tolist())
    return pa.array(values)


def results_table(model: Any) -> pa.Table:
    """One row per task: ``task, label, confidence, p_<label>...`` from a fitted model.

    Parameters
    ----------
    model : fitted galton aggregator
        Needs ``judgments_`` (:class:`galton.judgments.Judgments`), ``posteriors_`` (n_tasks x K) and
        ``label_codes_`` (n_tasks,), which every galton model sets in ``fit``.

    Returns
    -------
    pyarrow.Table
        ``task`` (the user's task ids, in sorted order), ``label`` (the aggregated label, in the
        user's label type), ``confidence`` (its posterior probability, the largest of the row) and
        one float column ``p_<label>`` per label value, in sorted label order.

    Raises
    ------
    ValueError
        If the model is not fitted.
    """
    missing = [a for a in ("judgments_", "posteriors_", "label_codes_") if not hasattr(model, a)]
    if missing:
        raise ValueError(
            f"this {type(model).__name__} is not fitted (no {', '.join(missing)}); call fit(data) first"
        )
    judgments = model.judgments_
    post = np.asarray(model.posteriors_, dtype=np.float64)
    codes = np.asarray(model.label_codes_, dtype=np.int64)
    n, k = judgments.n_tasks, judgments.n_labels
    if post.shape != (n, k) or codes.shape != (n,):
        raise ValueError(
            f"posteriors_ has shape {post.shape} and label_codes_ {codes.shape}; expected ({n}, {k}) "
            f"and ({n},) for {n} tasks and {k} labels"
        )
    cols: dict[str, pa.Array] = {
        "task": _column(judgments.task_names),
        "label": _column(judgments.label_names[codes]),
        "confidence": pa.array(post[np.arange(n), codes]),
    }
    for j, name in enumerate(judgments.label_names.tolist()):
        key = f"p_{name}"
        if key in cols:  # pragma: no cover - labels are unique within one type
            raise ValueError(f"two labels give the column name {key!r}")
        cols[key] = pa.array(np.ascontiguousarray(post[:, j]))
    return pa.table(cols)
