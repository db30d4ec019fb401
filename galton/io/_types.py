"""One column's type across several inputs (the files of a directory, the units of a Ray ingest), and ids
as Python objects and back (:func:`id_array`, :func:`zoned_timestamps`)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from .._extras import import_pandas

__all__ = ["MixedTupleIds", "common_int_type", "id_array", "mixed_tuples_error", "plain_type", "run_ends_decoded",
           "view_cast", "zoned_timestamps"]


def plain_type(t: pa.DataType) -> pa.DataType:
    """The type of a column's values: dictionaries by their values, every string kind as string."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    return t


def view_cast(column: pa.Array | pa.ChunkedArray, target: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """``column`` cast to ``target`` (of a string or binary kind: a view type's values as plain
    strings or bytes). pyarrow 16 and 17 have no cast from the view types ("Unsupported cast from
    string_view to utf8"; it came in 18): there the values are rebuilt from Python objects."""
    try:
        return column.cast(target)
    except pa.ArrowNotImplementedError:
        if not (pa.types.is_string_view(column.type) or pa.types.is_binary_view(column.type)):
            raise
        if isinstance(column, pa.ChunkedArray):
            return pa.chunked_array([pa.array(c.to_pylist(), target) for c in column.chunks], target)
        return pa.array(column.to_pylist(), target)


def run_ends_decoded(table: pa.Table) -> pa.Table:
    """``table`` with its run-end-encoded columns (``pyarrow.compute.run_end_encode``) as the plain
    arrays they encode: Arrow's compute functions have no kernels for them (``dictionary_encode``
    raised a bare ArrowNotImplementedError, naming no column), and the readers take every other type
    by its values (dictionaries too)."""
    for i, t in enumerate(table.schema.types):
        if pa.types.is_run_end_encoded(t):
            import pyarrow.compute as pc

            table = table.set_column(i, table.field(i).name, pc.run_end_decode(table.column(i)))
    return table


def common_int_type(types: Sequence[pa.DataType]) -> pa.DataType | None:
    """The one integer type that holds every value of integer ``types``: uint64 where uint64 meets
    only unsigned types, else int64 (every narrower type fits); None where uint64 meets a signed type
    (no 64-bit type holds both; int64 wrapped ids from 2**63 on)."""
    if any(t == pa.uint64() for t in types):
        return pa.uint64() if all(pa.types.is_unsigned_integer(t) for t in types) else None
    return pa.int64()


class MixedTupleIds(ValueError):
    """Tuple ids (pandas; crowd-kit groups items as tuples) whose parts differ in type, which no Arrow
    or polars column holds."""


def id_array(values: list, column: str | None = None) -> pa.Array:
    """Ids (Python objects) as an Arrow array of their inferred type; time-zoned timestamps with
    nanoseconds keep them (inferred as microseconds, two ids 1 ns apart became one). Tuples whose
    parts differ in type (``(1, "a")``, or tuples beside other ids) raise :class:`MixedTupleIds`
    naming ``column`` (Arrow's "Could not convert 'a' with type str: tried to convert to int64"
    named neither)."""
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        tuples = [v for v in values if isinstance(v, tuple)]
        if not tuples:
            raise
        raise mixed_tuples_error(column, tuples) from None
    if pa.types.is_timestamp(arr.type) and any(getattr(v, "nanosecond", 0) for v in values):
        arr = pa.array(values, type=pa.timestamp("ns", tz=arr.type.tz))
    return arr


def zoned_timestamps(column: pa.Array) -> list[Any]:
    """A time-zoned timestamp column as Python values with their zone: ``datetime`` objects (Arrow's
    own conversion, no pandas), but pandas ``Timestamp`` objects where a value has nanoseconds, which a
    ``datetime`` cannot hold (two ids 1 ns apart stay two, and :func:`id_array` keeps them on the way
    back); that needs pandas, which says so where it is not installed."""
    if column.type.unit == "ns":
        nanos = np.asarray(column.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False))
        if (nanos % 1000).any():
            import_pandas("time-zoned timestamp ids with nanoseconds")
            return column.to_pandas().tolist()
    return column.to_pylist()


def mixed_tuples_error(column: str | None, tuples: list, remedy: str = "") -> MixedTupleIds:
    """The error of tuple ids that no Arrow column holds, naming ``column`` and two of them; ``remedy``
    (what to do) by default converting the input's column to text or keeping pandas results."""
    examples: list = []
    for t in tuples:
        if len(examples) == 2:
            break
        if t not in examples:
            examples.append(t)
    where = "the ids" if column is None else f"column {column!r}"
    c = repr(column if column is not None else "task")
    remedy = remedy or (f"convert them to text in the input first (df[{c}] = df[{c}].map(str)), or keep "
                        "pandas results (output='pandas'), which hold tuples")
    return MixedTupleIds(f"{where} holds tuples of mixed types ({', '.join(map(repr, examples))}), "
                         f"which no Arrow or polars column holds; {remedy}")
