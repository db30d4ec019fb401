"""Output formats: which extension selects which format, and any table galton writes as a pyarrow
Table (:func:`to_arrow_table`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

__all__ = ["FORMATS", "PARQUET_ZSTD_LEVEL", "TableFormat", "table_format", "to_arrow_table"]

TableFormat = Literal["parquet", "csv", "tsv", "jsonl"]

#: File name extensions (lower case) and the format each one selects.
FORMATS: dict[str, TableFormat] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv",
                                   ".jsonl": "jsonl", ".ndjson": "jsonl"}

#: Zstandard level for Parquet output: fast to write, close to the best ratio for result tables.
PARQUET_ZSTD_LEVEL = 3


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
