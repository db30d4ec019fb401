"""Hive-style partition folders: ``label=0/part-0.parquet``, as Spark's ``partitionBy`` and pyarrow's
``write_to_dataset`` write a table, hold a column in the folder names rather than in the files.

The values are text in the paths; they are typed by the rule of every text input
(:func:`galton.io._text.type_column`: ids as written, integers only when canonical), over the
values of every file at once, so that every file gives the column one type. A file that has the
column itself keeps its own values; a file below no folder of a key has a null there (and the
reader's null check names its rows).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Collection, Sequence
from urllib.parse import unquote

import numpy as np
import pyarrow as pa

__all__ = ["HIVE_NULL", "partition_columns", "with_partitions"]

#: the folder value Spark and pyarrow write for a null partition value
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def _folders(path: str, root: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for part in Path(os.path.relpath(path, root)).parts[:-1]:
        if "=" in part:
            key, value = part.split("=", 1)
            out[unquote(key)] = None if value == HIVE_NULL else unquote(value)
    return out


def partition_columns(files: Sequence[str], root: str | None, ids: Collection[str]) -> dict[str, pa.Array]:
    """Per partition key (in the order first met), one typed value per file (nulls where a file lies
    below no folder of that key); ``{}`` when no folder below ``root`` is named ``key=value``."""
    if root is None:
        return {}
    import polars as pl

    from ._text import type_column

    found = [_folders(f, root) for f in files]
    keys = list(dict.fromkeys(k for kv in found for k in kv))
    return {k: type_column(pl.Series(k, [kv.get(k) for kv in found], dtype=pl.String), k in ids).to_arrow()
            for k in keys}


def with_partitions(table: pa.Table, values: dict[str, Any], rows: Sequence[int] | None = None) -> pa.Table:
    """``table`` with the partition columns it lacks appended: ``values[key]`` holds one value per
    file and ``rows`` the files' row counts in the table's order (``None``: one file, one value)."""
    for key, per_file in values.items():
        if key in table.column_names:
            continue
        if isinstance(per_file, pa.Scalar):
            per_file = pa.array([per_file.as_py()], type=per_file.type)
        counts = np.asarray([table.num_rows] if rows is None else rows, dtype=np.int64)
        column = per_file.take(pa.array(np.repeat(np.arange(counts.size), counts)))
        table = table.append_column(key, column)
    return table
