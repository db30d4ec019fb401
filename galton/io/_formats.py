"""Output formats: which extension selects which format, and any table galton writes as a pyarrow
Table (:func:`to_arrow_table`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from ._types import mixed_tuples_error

__all__ = ["FORMATS", "PARQUET_ZSTD_LEVEL", "RESULT_NAMES", "TableFormat", "file_path", "table_format",
           "to_arrow_table"]

TableFormat = Literal["parquet", "csv", "tsv", "jsonl"]

#: File name extensions (lower case) and the format each one selects.
FORMATS: dict[str, TableFormat] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv",
                                   ".jsonl": "jsonl", ".ndjson": "jsonl"}

#: Zstandard level for Parquet output: fast to write, close to the best ratio for result tables.
PARQUET_ZSTD_LEVEL = 3

#: ``attrs`` key of a galton pandas result that crowd-kit leaves unnamed (BradleyTerry's ``scores_``,
#: NoisyBradleyTerry's ``skills_`` / ``biases_``, GLAD's ``priors_``): (what its index holds, what its
#: values are), e.g. ``("item", "agg_score")``, the names :func:`to_arrow_table` writes them under.
RESULT_NAMES = "galton_names"


def file_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a file's :class:`~pathlib.Path`, refusing a name that ends with a separator
    (``out.csv/``), which names a directory: ``Path`` drops the separator, and a file ``out.csv`` was
    written where a shell fails."""
    text = os.fspath(path)
    if isinstance(text, str) and text.endswith(tuple(s for s in (os.sep, os.altsep) if s)):
        raise ValueError(f"{text!r} ends with {text[-1]!r}, which names a directory; name a file (*.parquet, *.pq, "
                         "*.csv, *.tsv or *.jsonl) without it")
    return Path(text)


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
        (any case), or the path ends with a separator (a directory's name).

    Examples
    --------
    >>> table_format("out/results.PQ")
    'parquet'
    """
    suffix = file_path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        raise ValueError(
            f"cannot tell the output format of {str(path)!r} from its extension "
            f"{suffix or '(none)'!r}; name the file *.parquet, *.pq, *.csv, *.tsv or *.jsonl (JSON lines)"
        ) from None


def to_arrow_table(table: Any) -> pa.Table:
    """A pyarrow Table from a pyarrow Table / RecordBatch, a polars or a pandas DataFrame.

    A pandas Series (crowd-kit's results: ``labels_``, ``skills_``, ``scores_``) keeps its index, as
    its first column, unless that is a default ``RangeIndex``: a Series' index is its ids. An unnamed
    one is named as galton's polars results name it (``item``, ``worker``, ``label``; a Series of the
    user's, ``index``), and an unnamed Series' values as theirs (GLAD's ``priors_``: ``prior``).

    A pandas frame keeps a meaningful index as columns, first, so a crowd-kit style result indexed by
    ``task`` keeps its task ids: a named index level, or an unnamed one that holds no integers (ids).
    An unnamed integer index of a frame is the rows' positions, left by filtering, sorting or sampling
    it (``res[res.confidence > 0.99]``), and is not written (as pandas' ``to_parquet`` keeps it only as
    metadata); an index level that is also a column (``set_index("task", drop=False)``) is written
    once, as that column.

    Raises
    ------
    ValueError
        For an index level named as a column that holds other values.
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
        if getattr(table, "ndim", 2) == 1:  # a Series, e.g. crowd-kit's labels_
            return _from_pandas(_index_as_columns(_named_series(table), ids=True))
        return _from_pandas(_index_as_columns(table))
    if hasattr(table, "__arrow_c_stream__"):
        return pa.table(table)
    raise TypeError(
        f"cannot write a {type(table).__name__}; pass a pyarrow Table, a polars DataFrame or a "
        "pandas DataFrame"
    )


def _from_pandas(frame: Any) -> pa.Table:
    """A pandas ``frame`` as Arrow; a column of tuple ids of mixed types (pandas results of crowd-kit's
    tuple-grouped items) is refused naming it (Arrow's bare ArrowInvalid named the type only)."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        for name in frame.columns:
            column = frame[name]
            if getattr(column, "ndim", 1) == 1 and column.dtype == object:
                tuples = [v for v in column.tolist() if isinstance(v, tuple)]
                if tuples:
                    try:
                        pa.array(column.tolist())
                    except (pa.ArrowInvalid, pa.ArrowTypeError):
                        raise mixed_tuples_error(str(name), tuples, "write them as text, e.g. "
                                                 "result.rename(index=str) or df[...] = df[...].map(str)") from None
        raise


def _named_series(series: Any) -> Any:
    """A pandas ``series`` as a one-column frame, its unnamed index and values named by its
    :data:`RESULT_NAMES` (galton's results that crowd-kit leaves unnamed); a user's unnamed index
    stays unnamed (``index``, as ``reset_index`` names it)."""
    names = series.attrs.get(RESULT_NAMES)
    if isinstance(names, tuple) and len(names) == 2:
        if series.index.nlevels == 1 and series.index.name is None:
            series = series.rename_axis(names[0])
        if series.name is None:
            series = series.rename(names[1])
    return series.to_frame()


def _index_as_columns(frame: Any, ids: bool = False) -> Any:
    """``frame`` (pandas) with the levels of its index that are data as its first columns (see
    :func:`to_arrow_table`), without its index; ``ids``: an unnamed integer index is ids (a Series'),
    only a ``RangeIndex`` positions."""
    import pandas as pd

    index = frame.index
    keep = []
    for i, name in enumerate(index.names):
        level = index.get_level_values(i)
        if name is None and (isinstance(index, pd.RangeIndex)
                             or (not ids and pd.api.types.is_integer_dtype(level.dtype))):
            continue  # positions, not data
        if name is not None and name in frame.columns:
            column = frame[name]
            if isinstance(column, pd.DataFrame) or not pd.Index(column.to_numpy()).equals(level):
                raise ValueError(f"the index level {name!r} and the column {name!r} hold different values; "
                                 f"rename one (df.rename_axis(...)) or drop the index (df.reset_index(drop=True))")
            continue  # written once, as the column
        keep.append(i)
    if len(keep) == index.nlevels:
        return frame.reset_index()
    if not keep:
        return frame.reset_index(drop=True)
    return frame.reset_index(level=keep).reset_index(drop=True)  # the kept levels, then the others dropped
