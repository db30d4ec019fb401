"""Helpers shared by the preference containers (:mod:`galton.data.comparisons`, :mod:`galton.data.choices`):
item columns of one type, the worker column, the first valid item id."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ._encode import encode_column
from ._validate import ColumnError, fmt_value, missing_columns

__all__ = ["cast_like", "family", "first_valid", "has_worker", "missing_columns", "text_items", "workers_of",
           "fmt_value", "text_for_ties"]


def family(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


def cast_like(col: pa.Array, target: pa.DataType, name: str, other: str) -> pa.Array:
    """Cast ``col`` to the item type ``target``: numbers to numbers, strings to strings (an all-null
    column to anything); anything else is an error rather than a silent ``1 -> "1"``."""
    if col.type == target:
        return col
    try:
        if col.null_count < len(col) and family(col.type) != family(target):
            raise pa.ArrowInvalid("different kinds of ids")
        return col.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise ValueError(
            f"column {name!r} ({col.type}) and column {other!r} ({target}) hold different types of "
            f"item ids; convert them to one type first, for example df[{name!r}] = df[{name!r}].astype(str)"
        ) from None


def text_items(table: pa.Table, cols: list[str]) -> pa.Table:
    """In a file read as text, an item column of canonical integers next to a text item column (``7``
    and ``007``) becomes text: its values print back exactly as they were written."""
    types = [table.schema.field(c).type for c in cols]
    if any(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
           for t in types):
        for c, t in zip(cols, types):
            if pa.types.is_integer(t):
                table = table.set_column(table.column_names.index(c), c, table.column(c).cast(pa.string()))
    return table


def text_for_ties(col: Any, tie: Any) -> bool:
    """Whether the text column ``col`` (the labels of a file) is text only because of the tie
    marker: its other values are canonical integers (``7``, not ``007``), so the items beside it
    stay integers (the tie marker ``"tie"`` made ids 1, 2, 3 the texts "1", "2", "3")."""
    import pyarrow.compute as pc

    if tie is None or not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return False
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    others = col.filter(pc.invert(pc.equal(col, pa.scalar(str(tie), col.type)).fill_null(False))).drop_null()
    if len(others) == 0:
        return False
    try:
        return bool(pc.all(pc.equal(others.cast(pa.int64()).cast(col.type), others)).as_py())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False


def workers_of(table: pa.Table, worker_col: str | None, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if worker_col is None:
        return np.zeros(int(keep.sum()), dtype=np.int32), np.array([""], dtype=object)
    col = table.column(worker_col)
    return encode_column(col.filter(pa.array(keep)) if not keep.all() else col)


def has_worker(table: pa.Table, worker_col: str | None, default: str) -> str | None:
    """The worker column to use: None when the input has none and the default name was asked for
    (crowd-kit's BradleyTerry takes ``left, right, label`` frames without workers)."""
    if worker_col is None:
        return None
    if worker_col not in table.column_names:
        if worker_col == default:
            return None
        raise ColumnError(
            f"missing column {worker_col!r}; the input has {table.column_names}. Name the worker "
            "column with worker_col=, or pass worker_col=None if there is none"
        )
    return worker_col


def first_valid(left: pa.Array, right: pa.Array) -> Any:
    """A non-null item id used to fill nulls before encoding (those rows are dropped anyway)."""
    for col in (left, right):
        valid = col.drop_null()
        if len(valid):
            return valid[0]
    raise ValueError("columns with the items hold only nulls; nothing is left to aggregate")
