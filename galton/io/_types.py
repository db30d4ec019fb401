"""One column's type across several inputs (the files of a directory, the units of a Ray ingest)."""

from __future__ import annotations

from typing import Sequence

import pyarrow as pa

__all__ = ["common_int_type", "id_array", "plain_type"]


def plain_type(t: pa.DataType) -> pa.DataType:
    """The type of a column's values: dictionaries by their values, every string kind as string."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    return t


def common_int_type(types: Sequence[pa.DataType]) -> pa.DataType | None:
    """The one integer type that holds every value of integer ``types``: uint64 where uint64 meets
    only unsigned types, else int64 (every narrower type fits); None where uint64 meets a signed type
    (no 64-bit type holds both; int64 wrapped ids from 2**63 on)."""
    if any(t == pa.uint64() for t in types):
        return pa.uint64() if all(pa.types.is_unsigned_integer(t) for t in types) else None
    return pa.int64()


def id_array(values: list) -> pa.Array:
    """Ids (Python objects) as an Arrow array of their inferred type; time-zoned timestamps with
    nanoseconds keep them (inferred as microseconds, two ids 1 ns apart became one)."""
    arr = pa.array(values)
    if pa.types.is_timestamp(arr.type) and any(getattr(v, "nanosecond", 0) for v in values):
        arr = pa.array(values, type=pa.timestamp("ns", tz=arr.type.tz))
    return arr
