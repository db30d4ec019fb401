"""The id and label columns of a table made plain for the encoder (:func:`check_columns`): binary
decoded as UTF-8 text, UUIDs as their text; nested values, nanosecond times of day and other extension
types refused naming the column (Arrow's errors named none)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa

from ._types import plain_type, view_cast

__all__ = ["NESTED", "PLAIN_EXTENSIONS", "check_columns", "uuid_text"]

#: nested Arrow types, by the start of their name, as an error names them
NESTED = {"list": "list", "large_list": "list", "fixed_size_list": "list", "list_view": "list",
          "large_list_view": "list", "struct": "struct (dict)", "map": "map (dict)"}


def _storage(col: pa.ChunkedArray) -> pa.ChunkedArray:
    return pa.chunked_array([chunk.storage for chunk in col.chunks], type=col.type.storage_type)


def uuid_text(col: pa.ChunkedArray) -> pa.Array:
    """An ``arrow.uuid`` column (pyarrow's type for a pandas column of ``uuid.UUID``) as the UUIDs'
    canonical text, ``str(uuid)``: Arrow has no kernel to encode the type itself."""
    import uuid

    enc = _storage(col).combine_chunks().dictionary_encode()  # each distinct UUID made text once
    words = pa.array([None if b is None else str(uuid.UUID(bytes=b)) for b in enc.dictionary.to_pylist()],
                     pa.string())
    return words.take(enc.indices)


#: Arrow's own extension types that hold plain values, read as those values: UUIDs as their text,
#: ``arrow.bool8`` (a boolean in a byte) as booleans
PLAIN_EXTENSIONS = {"arrow.uuid": uuid_text, "arrow.bool8": lambda col: _storage(col).cast(pa.bool_())}


def check_columns(table: pa.Table, columns: Sequence[str], label: str | None = None) -> pa.Table:
    """The table with its id / label columns made plain: binary decoded as UTF-8 text, UUIDs as their
    text and Arrow's bool8 as booleans (:data:`PLAIN_EXTENSIONS`); raises for list, struct or map
    columns and other extension types, naming the column and its type. A list in ``label``, the
    column of categorical labels, is pointed to the multi-label models; a list of ids (any other
    column) to joining it into one id (the multi-label hint made no sense for a task column)."""
    for c in columns:
        if c not in table.column_names:
            continue
        t = plain_type(table.schema.field(c).type)
        kind = NESTED.get(str(t).split("<")[0])
        if kind is not None:
            hint = ""
            if kind == "list" and c == label:
                hint = ("; a list of tags per judgment is multi-label data: galton.BinaryRelevance, or "
                        "galton aggregate --kind multilabel")
            elif kind == "list":
                hint = (f"; an id is one value per row: make each list one, e.g. its items joined as text "
                        f"(polars: pl.col({c!r}).cast(pl.List(pl.String)).list.join(','))")
            raise ValueError(f"column {c!r} holds {kind} values ({t}); task, worker and label values "
                             f"must be strings, integers, numbers or booleans{hint}")
        if pa.types.is_time64(t) and t.unit == "ns" and _sub_microsecond(table.column(c)):
            raise ValueError(f"column {c!r} holds times of day with nanoseconds ({t}), which Python's time "
                             "cannot hold; cast the column to text or to int64 first")
        if isinstance(t, pa.BaseExtensionType) and t.extension_name in PLAIN_EXTENSIONS:
            plain = PLAIN_EXTENSIONS[t.extension_name](table.column(c))
            table = table.set_column(table.column_names.index(c), c, plain)
            continue
        if isinstance(t, pa.BaseExtensionType):  # a pandas Period / Interval: Arrow's "no kernel" error named nothing
            raise ValueError(f"column {c!r} holds {t.extension_name} values, which galton cannot read as "
                             "ids or labels; convert them to text first (df[col] = df[col].astype(str))")
        if pa.types.is_binary(t) or pa.types.is_fixed_size_binary(t):
            col = table.column(c)
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            try:
                text = view_cast(col, pa.binary()).cast(pa.string())
            except pa.ArrowException:
                raise ValueError(f"column {c!r} holds bytes that are not UTF-8 text; decode them "
                                 "first (or store the ids as strings)") from None
            table = table.set_column(table.column_names.index(c), c, text)
    return table


def _sub_microsecond(col: pa.ChunkedArray) -> bool:
    """Whether a time64[ns] column holds a time that is not a whole microsecond."""
    ns = col.cast(pa.int64()).fill_null(0).to_numpy()
    return bool(np.any(ns % 1000))
