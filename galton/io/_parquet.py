"""The one schema of several Parquet files (a directory, a pattern, Ray's ingest), read from their
footers: every file checked, types unified where they may differ, errors naming file and column."""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np
import pyarrow as pa

from ._text import one_line
from ._types import common_int_type, plain_type

__all__ = ["ORDERS_KEY", "PARTIAL_KEY", "SOURCES_KEY", "check_unique_names", "no_shared_column", "one_order",
           "order_conflict", "parquet_schema", "read_parquet_file", "without_reader_metadata"]

#: schema metadata of a Parquet directory read whole: the columns only some files have, each with a
#: file without it (JSON), for the missing-column error
PARTIAL_KEY = b"galton.partial_columns"
#: a table read from several files: each file's name and row count, so that an error names a bad
#: row by its file and its row there (:func:`galton.data._validate.example_rows`)
SOURCES_KEY = b"galton.sources"
#: a table read from several files whose ordered categories of a column differ (or where only some files
#: have them): per such column, two files and what each declares (JSON), for the ordinal distance's
#: error (:func:`order_conflict`)
ORDERS_KEY = b"galton.category_orders"


def parquet_schema(files: Sequence[str], columns: Sequence[str] | None = None) -> pa.Schema:
    """The one schema of several Parquet files, from their footers only.

    Every file must have every needed column (``columns``) that some file has; without ``columns``
    the table has the columns every file has, and one only some files have is left out, named in the
    schema's metadata (``PARTIAL_KEY``: the column and a file without it) for the caller's missing-column
    error. A column's type must be the same in every file (integer widths and string kinds may
    differ). A column no file has is left out (the caller names it as missing). Errors name the file
    and the column. A column every file holds as an ordered dictionary (an ordered pandas Categorical,
    a polars Enum) stays one, so that its order reaches the ordinal distance (:func:`one_order`); one
    only some files hold so is named in the metadata (``ORDERS_KEY``), as two orders are.
    """
    import pyarrow.parquet as pq

    schemas = []
    for f in files:
        try:
            schemas.append(pq.read_schema(f))
        except (pa.ArrowException, OSError) as exc:
            raise ValueError(f"cannot read {f!r} as Parquet: {one_line(exc)}; fix or remove it") from None
    for f, s in zip(files, schemas):
        check_unique_names(s.names, f)
    anywhere = list(dict.fromkeys(n for s in schemas for n in s.names))
    partial: dict[str, str] = {}
    if columns is None:  # every column: those all files have (an extra column in one file is no error)
        partial = {c: next(f for f, s in zip(files, schemas) if c not in s.names)
                   for c in anywhere if any(c not in s.names for s in schemas)}
    needed = [c for c in (anywhere if columns is None else columns) if c in anywhere and c not in partial]
    for f, s in zip(files, schemas):
        lacking = [c for c in needed if c not in s.names]
        if lacking:
            others = next((o.names for o in schemas if all(c in o.names for c in needed)), anywhere)
            raise ValueError(
                f"file {f!r} has no column {lacking[0]!r} (the other files have "
                f"{', '.join(others)}); fix or remove it"
            )
    fields, orders = [], {}
    for c in needed:
        types = [plain_type(s.field(c).type) for s in schemas]
        target = types[0]
        if any(t != target for t in types):
            if all(pa.types.is_integer(t) for t in types) and common_int_type(types) is not None:
                target = common_int_type(types)
            elif all(pa.types.is_floating(t) for t in types):
                target = pa.float64()
            else:
                i = next(i for i, t in enumerate(types) if t != types[0])
                raise ValueError(
                    f"column {c!r} is {types[i]} in file {files[i]!r} but {types[0]} in "
                    f"{files[0]!r}; write every file with one type for it (or remove the odd file)"
                )
        declared = [pa.types.is_dictionary(s.field(c).type) and s.field(c).type.ordered for s in schemas]
        if any(declared) and not all(declared):  # ordered categories beside plain values: no one order
            orders[c] = [[files[declared.index(True)], "holds ordered categories"],
                         [files[declared.index(False)], "holds values in no declared order"]]
        fields.append(pa.field(c, _ordered_dictionary([s.field(c).type for s in schemas], target)))
    meta = {PARTIAL_KEY: json.dumps(partial)} if partial else {}
    if orders:
        meta[ORDERS_KEY] = json.dumps(orders)
    return pa.schema(fields, metadata=meta or None)


def _ordered_dictionary(types: Sequence[pa.DataType], values: pa.DataType) -> pa.DataType:
    """An ordered dictionary of ``values`` where every file's type ``types`` is an ordered dictionary
    (indices of the widest width), else ``values``: made plain, the files' order of the categories was
    lost and the ordinal distance ranked them alphabetically."""
    if not all(pa.types.is_dictionary(t) and t.ordered for t in types):
        return values
    index = types[0].index_type
    if any(t.index_type != index for t in types):
        index = pa.int64() if any(t.index_type.bit_width == 64 for t in types) else pa.int32()
    return pa.dictionary(index, values, ordered=True)


def one_order(table: pa.Table, files: Sequence[str], counts: Sequence[int]) -> pa.Table:
    """``table`` read from ``files`` (``counts`` rows each, in order) with each ordered dictionary column
    whose files hold different categories (or one order in another) read as its plain values, as any
    other column, and the two files that differ named in the schema's metadata (``ORDERS_KEY``): no one
    order is declared (unified, a later file's new categories came last, out of order)."""
    conflicts: dict[str, list] = {}
    ends = None  # each file's last row + 1, found only where an ordered dictionary column is
    for i, field in enumerate(table.schema):
        if not (pa.types.is_dictionary(field.type) and field.type.ordered):
            continue
        seen: list[tuple[str, pa.Array]] = []  # a file and its dictionary, one per distinct dictionary
        row = 0
        for chunk in table.column(i).chunks:
            if len(chunk) and not any(chunk.dictionary.equals(d) for _, d in seen):
                ends = np.cumsum(counts) if ends is None else ends
                seen.append((files[int(np.searchsorted(ends, row, side="right"))], chunk.dictionary))
            row += len(chunk)
        if len(seen) > 1:
            conflicts[field.name] = [[f, "declares " + " < ".join(map(str, d.to_pylist()))] for f, d in seen[:2]]
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    if not conflicts:
        return table
    meta = table.schema.metadata or {}
    conflicts = {**json.loads(meta.get(ORDERS_KEY, b"{}")), **conflicts}
    return table.replace_schema_metadata({**meta, ORDERS_KEY: json.dumps(conflicts)})


def order_conflict(table: pa.Table, column: str) -> str | None:
    """Where ``column`` of ``table`` (read from several Parquet files) was an ordered categorical whose
    files declare different categories or orders (:func:`one_order`): what each of two files declares,
    for an error of the ordinal distance; else None."""
    meta = (table.schema.metadata or {}).get(ORDERS_KEY)
    pair = json.loads(meta).get(column) if meta else None
    if not pair:
        return None
    said = " but ".join(f"{f!r} {what}" for f, what in pair)
    return (f"the Parquet files' ordered categories of column {column!r} differ, so they declare no one order "
            f"of its labels: {said}; write every file with the same categories in the same order (pandas: one "
            "pd.CategoricalDtype(categories, ordered=True))")


def check_unique_names(names: Sequence[str], name: str) -> None:
    """Raise for a column name the Parquet file ``name`` holds twice, used or not, as for a CSV header
    (Arrow's reader failed on it with "Multiple matches for FieldRef", its schema with a KeyError)."""
    seen: set[str] = set()
    for c in names:
        if c in seen:
            raise ValueError(f"file {name!r} has two columns named {c!r}; rename or remove one")
        seen.add(c)


def read_parquet_file(source: pa.NativeFile, name: str) -> pa.Table:
    """One Parquet file (an open file or a buffer; ``name`` for errors), its column names checked first."""
    import pyarrow.parquet as pq

    check_unique_names(pq.read_schema(source).names, name)
    return without_reader_metadata(pq.read_table(source))


def without_reader_metadata(table: pa.Table) -> pa.Table:
    """``table`` without the schema metadata the reader of several files adds (``galton.*``:
    ``SOURCES_KEY``, ``PARTIAL_KEY``), which describes the files it was read from: a table filtered
    and saved kept it, and the saved file's errors named the rows of other files. Other metadata
    (pandas') is kept."""
    meta = table.schema.metadata
    if not meta or not any(k.startswith(b"galton.") for k in meta):
        return table
    return table.replace_schema_metadata({k: v for k, v in meta.items() if not k.startswith(b"galton.")} or None)


def no_shared_column(path: str, files: Sequence[str]) -> ValueError:
    """The error for Parquet files ``files`` (of the folder or pattern ``path``) that share no column:
    a file and its columns beside the file that shares the fewest of them (a table of no column read as
    no judgments: "holds no judgments (0 rows)"); a folder as ``galton simulate --out`` writes it is
    pointed at its judgments and truth."""
    import os

    import pyarrow.parquet as pq

    names = [pq.read_schema(f).names for f in files]
    other = min(range(1, len(files)), key=lambda i: len(set(names[i]) & set(names[0])))
    hint = "read the files of one table at a time (a folder or a pattern of them)"
    if all(os.path.isdir(os.path.join(path, sub)) for sub in ("judgments", "truth")):
        hint = (f"it looks like a galton simulate folder: galton aggregate {os.path.join(path, 'judgments')} "
                f"--gold {os.path.join(path, 'truth')}")
    return ValueError(f"no column is in every Parquet file of {path!r} (the columns differ between files): "
                      f"{files[0]!r} has {', '.join(names[0])} but {files[other]!r} has {', '.join(names[other])}; "
                      f"{hint}")
