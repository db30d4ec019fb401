"""Inputs that can be read only once: an Arrow stream (a ``pyarrow.RecordBatchReader``, or any other
object that hands out an Arrow C stream), standard input ``"-"`` and a path that is not a regular file
or a directory (a FIFO, ``/dev/stdin`` on a pipe). A caller that looks at the data before a reader of
its own (a metric: the labels, then the model's fit; :func:`galton.aggregate`: the columns, then the
fit) reads such an input here into one table, and hands that table on: read a second time, a stream
was empty (the metrics answered NaN, the kind of data was not told) and a FIFO blocked for ever.
"""

from __future__ import annotations

import os
import stat
from typing import Any, Collection

import pyarrow as pa

from ._read import frame_kind, one_column, to_arrow

__all__ = ["read_once", "readable_once"]


def readable_once(data: Any) -> bool:
    """Whether ``data`` can be read only once (see the module); a path that does not exist, a glob,
    a directory or a regular file can be read again."""
    if isinstance(data, (str, os.PathLike)):
        if os.fspath(data) in ("-", b"-"):
            return True
        try:
            mode = os.stat(data).st_mode
        except (OSError, ValueError):  # missing, a glob: the reader says so
            return False
        return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
    if isinstance(data, (pa.Table, pa.RecordBatch)) or one_column(data):
        return False
    return frame_kind(data) == "arrow"  # pandas and polars frames (which hand out streams too) are kept


def read_once(data: Any, *, ids: Collection[str] | None = None) -> Any:
    """``data`` as one Arrow table when it can be read only once (:func:`readable_once`; ``ids`` as in
    :func:`galton.io.read_input`, for text read from a pipe), else ``data`` as given."""
    return to_arrow(data, ids=ids) if readable_once(data) else data
