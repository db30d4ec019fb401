"""Only the columns a reader uses, from a pandas or polars frame.

Every column of a frame was converted to Arrow, the unused ones too: an unused column of mixed
types (a comment of numbers and text, as ``read_excel`` gives) or two unused columns of one name
refused the fit, and an unused column of 256-float embeddings made a 100k-judgment MajorityVote 30
times slower. crowd-kit reads ``data[["task", "worker", "label"]]``. :func:`needed_columns` selects
the columns the reader names before the conversion; :func:`with_input_names` gives the converted
table a column of nulls under each other name of the input, so that the readers' errors (a missing
column, "the input has [...]") and their checks of which columns exist still see the input's columns.
"""

from __future__ import annotations

from typing import Any, Sequence

import pyarrow as pa

__all__ = ["arrow_names", "needed_columns", "uuids_as_text", "with_input_names"]


def needed_columns(data: Any, kind: str, columns: Sequence[Any] | None) -> tuple[Any, list[Any] | None]:
    """(``data`` with only those of ``columns`` it has, the names of all its columns) for a pandas
    or polars frame that has other columns besides; else (``data``, None): nothing to leave out, or
    none of ``columns`` there (the reader's missing-column error follows)."""
    if columns is None or kind not in ("pandas", "polars") or getattr(data, "ndim", 2) != 2:
        return data, None
    if kind == "pandas":
        names = list(data.columns)
    elif hasattr(data, "collect_schema") and not hasattr(data, "to_arrow"):  # a LazyFrame: its plan's names
        names = list(data.collect_schema().names())
    else:
        names = list(data.columns)
    wanted = {c for c in columns if c is not None}
    used = [n for n in dict.fromkeys(names) if n in wanted]  # a repeated one is taken twice: refused by name
    if not used or len(used) == len(names):
        return data, None
    return (data[used] if kind == "pandas" else data.select(used)), names


def with_input_names(table: pa.Table, names: Sequence[Any]) -> pa.Table:
    """``table`` (the converted columns) with every name of ``names`` in that order: a column of
    nulls (no memory) for each one it lacks."""
    have = set(table.column_names)
    order = list(dict.fromkeys(str(n) for n in names))  # Arrow's names are text, as from_pandas makes them
    arrays = [table.column(n) if n in have else pa.chunked_array([pa.nulls(table.num_rows)]) for n in order]
    return pa.Table.from_arrays(arrays, names=order)


def arrow_names(table: pa.Table, columns: Sequence[Any]) -> tuple[Any, ...]:
    """``columns`` as ``table`` names them: a pandas frame's column name that is not text (0, 1, 2 of
    ``pd.DataFrame(rows)``) as its text, which ``pa.Table.from_pandas`` made of it (``task_col=0``
    was "missing column(s) [0, 1, 2]; the input has ['0', '1', '2']")."""
    have = set(table.column_names)
    return tuple(str(c) if c is not None and c not in have and str(c) in have else c for c in columns)


def uuids_as_text(data: Any) -> Any:
    """The pandas frame ``data`` with each object column of ``uuid.UUID`` values (nulls besides) as
    the UUIDs' text, ``str(uuid)``; None where it has no such column. pyarrow before 18 refuses
    them ("did not recognize Python value type"), while later ones read them as ``arrow.uuid``, which
    the reader reads as that same text (:func:`._plain_columns.uuid_text`)."""
    import uuid

    out = None
    for name in dict.fromkeys(data.columns):
        col = data[name]
        values = col.dropna() if col.dtype == object else ()
        if len(values) and all(isinstance(v, uuid.UUID) for v in values):
            out = data.copy(deep=False) if out is None else out  # (a column named 0 is no keyword of assign)
            out[name] = col.map(lambda v: str(v) if isinstance(v, uuid.UUID) else v)
    return out
