"""Validation written once for every data type: the missing-column error, the null check (a null
or NaN in a required column: the column, the count of bad rows and a few example rows), the
``on_invalid`` argument."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from .._extras import PANDAS_EXTRA, import_pandas

__all__ = ["COLUMN_HINT", "ColumnError", "MAX_EXAMPLES", "MAX_SHOWN", "check_on_invalid", "example_ids", "examples",
           "example_rows", "fmt_value", "one_row", "row_index", "missing_columns", "encoded_options", "null_mask",
           "raise_nulls", "FileRows", "file_rows", "float_values"]

MAX_EXAMPLES = 5
#: the longest value (id, label, column name) an error shows whole (:func:`fmt_value`)
MAX_SHOWN = 80

#: what every null error tells the user to do
NULL_HINT = "drop those rows or pass on_invalid='drop' (CLI: --on-invalid drop)"

#: what a missing task / worker / label column tells the user to do
COLUMN_HINT = "Name the columns with task_col=, worker_col=, label_col= (CLI: --task-col, --worker-col, --label-col)"


class ColumnError(KeyError, ValueError):
    """A required column is missing. Both a ``KeyError`` (what crowd-kit's ``data[["task", ...]]``
    raises, so code written for crowd-kit keeps catching it) and a ``ValueError`` (galton's rule for
    bad input); ``str()`` is the plain message, without the quotes ``KeyError`` adds."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def row_index(data: Any) -> np.ndarray | None:
    """The index labels of a pandas frame whose index is not the default ``0 .. n-1`` (a filtered
    or re-indexed frame, where ``df.loc`` finds a row by its label, not its position); else None."""
    if type(data).__module__.split(".")[0] != "pandas" or not hasattr(data, "index"):
        return None
    idx = data.index
    if type(idx).__name__ == "RangeIndex" and idx.start == 0 and idx.step == 1:
        return None
    return np.asarray(idx, dtype=object)


class FileRows:
    """Where the rows of a table read from several Parquet files came from (:func:`file_rows`)."""

    def __init__(self, names: Sequence[str], counts: Sequence[int]) -> None:
        self.names = list(names)
        self.starts = np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))])

    def describe(self, rows: np.ndarray) -> str:
        """A few of ``rows`` (0-based positions in the whole table) as ``"in a.parquet: rows 2; in
        b.parquet: rows 0, 4"``: each row by its file and its 0-based position there."""
        shown = np.asarray(rows[:MAX_EXAMPLES], dtype=np.int64)
        which = np.searchsorted(self.starts, shown, side="right") - 1
        per_file: dict[int, list[str]] = {}
        for f, r in zip(which.tolist(), shown.tolist()):
            per_file.setdefault(f, []).append(str(r - int(self.starts[f])))
        return "; ".join(f"in {self.names[f]}: rows {', '.join(rs)}" for f, rs in per_file.items())


def file_rows(table: Any) -> FileRows | None:
    """The files a table read from a Parquet directory or pattern came from (the reader's
    ``SOURCES_KEY`` metadata), so that errors name a bad row by its file; None for other tables.

    Arrow keeps schema metadata through ``filter``, ``slice`` and ``take``: a map whose row counts
    do not add up to the table's rows (a filtered table), or that does not parse (a file written by
    other code), is ignored, and errors name rows by their position (it named a row of one file as
    one of another)."""
    import json

    from ..io._parquet import SOURCES_KEY

    meta = getattr(getattr(table, "schema", None), "metadata", None) or {}
    if SOURCES_KEY not in meta:
        return None
    try:
        sources = json.loads(meta[SOURCES_KEY])
        names, counts = sources["files"], sources["rows"]
    except (ValueError, TypeError, KeyError):
        return None
    if (not isinstance(names, list) or not isinstance(counts, list) or len(names) != len(counts) or not names
            or not all(isinstance(n, str) for n in names)
            or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)
            or sum(counts) != getattr(table, "num_rows", -1)):
        return None
    return FileRows(names, counts)


def example_rows(rows: np.ndarray, index: np.ndarray | FileRows | None = None) -> str:
    """A few of ``rows`` (0-based positions in the input), as ``"rows 2, 5"``, with a pandas
    frame's own index (:func:`row_index`) as ``"rows with index 'b', 'e'"``, or for several files
    (:func:`file_rows`) as ``"in a.parquet: rows 2"``."""
    if isinstance(index, FileRows):
        shown = index.describe(rows)
    elif index is None:
        shown = "rows " + ", ".join(str(int(r)) for r in rows[:MAX_EXAMPLES])
    else:
        shown = "rows with index " + ", ".join(repr(v) if isinstance(v, str) else str(v)
                                               for v in index[rows[:MAX_EXAMPLES]])
    return shown + (", ..." if rows.size > MAX_EXAMPLES else "")


def one_row(row: int, index: np.ndarray | FileRows | None = None) -> str:
    """One row of the input, as :func:`example_rows` names it: ``"row 2"`` or ``"row with index 'b'"``."""
    return example_rows(np.array([row]), index).replace("rows", "row", 1)


def fmt_value(v: Any) -> str:
    """One value (an id, a label, a column name) as an error shows it: its ``repr``, cut to
    ``MAX_SHOWN`` characters with its length when longer (a 1 MB id made 1 MB of error)."""
    v = v.item() if hasattr(v, "item") else v
    text = repr(v)
    if len(text) <= MAX_SHOWN:
        return text
    size = f"{len(v)} characters" if isinstance(v, str) else f"{len(text)} characters written out"
    return f"{text[:MAX_SHOWN - 20]}... ({size})"


def examples(values: Any, n: int = MAX_EXAMPLES, sep: str = ", ", fmt: Any = fmt_value) -> str:
    """The first ``n`` of ``values`` (ids, labels) as plain values for an error: ``"'a', 2, ..."``;
    ``fmt`` writes each (``str`` for lines already written), ``sep`` parts them and the ``...``."""
    shown = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return sep.join(fmt(v) for v in shown[:n]) + (f"{sep}..." if len(shown) > n else "")


def example_ids(ids: Any, what: str = "task") -> str:
    """A few ids for an error, as plain values: ``"task 't1'"``, ``"tasks 2, 5, ..."``."""
    ids = list(ids)
    return what + ("s " if len(ids) > 1 else " ") + examples(ids)


def float_values(values: Any, keys: Any, what: str = "skills", key: str = "worker") -> np.ndarray:
    """``values`` (a pandas Series, a list or an array; one per key of ``keys``) as floats, a missing
    value NaN; where some are no numbers, a ValueError naming ``what``, their count and a few of
    them with their ``key`` (pandas' "could not convert string to float: 'high'" named neither)."""
    try:
        if hasattr(values, "to_numpy"):
            return np.asarray(values.to_numpy(dtype=float, na_value=np.nan))
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raw = values.tolist() if hasattr(values, "tolist") else list(values)
    out, bad = np.full(len(raw), np.nan), []
    for i, (k, v) in enumerate(zip(list(keys), raw)):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            if not (v is None or type(v).__name__ in ("NAType", "NaTType")):
                bad.append(f"{key} {fmt_value(k)}: {fmt_value(v)}")
    if bad:
        raise ValueError(f"{what} hold {len(bad)} value(s) that are not numbers ({examples(bad, fmt=str)}); "
                         f"give each {key} a number (a weight, such "
                         "as an accuracy), mapping any text grades to numbers first")
    return out


def encoded_options(what: str, options: Sequence[tuple[str, Any, Any]], extra: Sequence[str] = ()) -> None:
    """Refuse reading options given with data that is encoded already (a :class:`Judgments`,
    ``Comparisons`` or ``Choices``, named by ``what``): ``options`` are ``(name, value, default)``
    and ``extra`` names more that were given; they apply when data are read, and were ignored."""
    given = [f"{name}={value!r}" for name, value, default in options if value != default] + list(extra)
    if given:
        raise ValueError(f"data is an encoded {what}; {', '.join(given)} apply when {what[0].lower() + what[1:]} "
                         "are read: pass the frame or file they apply to (or leave them out)")


NUMBERS = {2: "two", 3: "three", 4: "four"}


def distinct_roles(roles: Sequence[tuple[str, Any]]) -> None:
    """Refuse one column named for two roles (``label_col='right'``), which failed deep inside
    pyarrow with a KeyError: ``roles`` are ``(option, column)``, a column of None (no worker
    column) left out."""
    given = [(option, col) for option, col in roles if col is not None]
    seen: dict[Any, str] = {}
    for option, col in given:
        if col in seen:
            names = [o for o, _ in given]
            raise ValueError(f"{seen[col]} and {option} both name column {col!r}: {', '.join(names[:-1])} and "
                             f"{names[-1]} must name {NUMBERS[len(given)]} different columns, not "
                             f"{[c for _, c in given]}")
        seen[col] = option


def check_on_invalid(on_invalid: str) -> None:
    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', not {on_invalid!r}")


def missing_columns(table: Any, needed: Sequence[str], hint: str) -> None:
    """A ColumnError naming the columns of ``needed`` that ``table`` (Arrow, or a frame with
    ``columns``) lacks, the ones it has, and ``hint``."""
    names = list(table.column_names if hasattr(table, "column_names") else table.columns)
    missing = [c for c in needed if c not in names]
    partial = _partial_columns(table)
    for c in missing:
        if c in partial:  # a Parquet directory whose files do not all have it
            hint = (f"Column {fmt_value(c)} is in some of the input's Parquet files but not in {partial[c]!r}: "
                    "add it there, or remove that file")
            break
    spaced = [c for c in names if isinstance(c, str) and c != c.strip() and _unspaced(c) in missing]
    if spaced:  # a CSV header written with spaces after its commas: say so rather than ``hint``
        quoted = [c for c in spaced if _unspaced(c) != c.strip()]
        hint = (f"The input's column name(s) {_names(spaced)} have spaces at the ends (a CSV header written "
                "with spaces after its commas): remove them from the header") if not quoted else (
                f"The input's column name(s) {_names(spaced)} have spaces before their quotes (a CSV header "
                "written as '\"task\", \"worker\"': a quote after a space is part of the name): remove the "
                "spaces after the commas, in the header and in every row")
    if missing:
        raise ColumnError(f"missing column(s) {_names(missing)}; the input has {_names(names)}. {hint}")


def _unspaced(name: str) -> str:
    """A column name without the spaces at its ends, and without the quotes that enclosed it where
    spaces stood before them (``' "worker"'``: ``worker``, a CSV reader keeps such quotes)."""
    bare = name.strip()
    if len(bare) >= 2 and bare[0] == bare[-1] == '"' and bare != name:
        return bare[1:-1].replace('""', '"')
    return bare


def _names(names: Sequence[Any]) -> str:
    """Column names as a list in an error, each cut as :func:`fmt_value` cuts it (a 1 MB header name)."""
    return "[" + ", ".join(fmt_value(c) for c in names) + "]"


def _partial_columns(table: Any) -> dict[str, str]:
    import json

    from ..io._read import PARTIAL_KEY

    meta = getattr(getattr(table, "schema", None), "metadata", None) or {}
    try:
        partial = json.loads(meta[PARTIAL_KEY]) if PARTIAL_KEY in meta else {}
    except ValueError:  # not the reader's (a file written by other code): no hint
        return {}
    return partial if isinstance(partial, dict) and all(isinstance(f, str) for f in partial.values()) else {}


def pandas_columns(data: Any, columns: Sequence[str], who: str, hint: str,
                   nonnull: Sequence[str] | None = None) -> None:
    """The one check of the models that read pandas only (segmentation, texts, embeddings): a pandas
    frame (TypeError otherwise), with ``columns`` (a ColumnError naming what is missing, and ``hint``)
    and no missing value in ``nonnull`` (default: all of them); where pandas is not installed, the
    TypeError says how to install it."""
    if type(data).__module__.split(".")[0] != "pandas":
        try:
            import_pandas(who)
            note = ""
        except ImportError:
            note = f"; pandas is not installed: {PANDAS_EXTRA}"
        raise TypeError(f"{who} read(s) a pandas DataFrame with columns {', '.join(columns)}{note}")
    missing_columns(data, columns, hint)
    for col in columns if nonnull is None else nonnull:
        bad = np.flatnonzero(np.asarray(data[col].isna(), dtype=bool))
        if bad.size:
            raise ColumnError(f"column {col!r} has {bad.size} missing value(s) ({example_rows(bad, row_index(data))}); "
                              "drop those rows")


def null_mask(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """True where a value is null or NaN; for a dictionary-encoded column (a pandas category, a
    polars Categorical, an Arrow dictionary), where the value its index points to is: a null index,
    a null entry of the dictionary, a NaN entry of a float one (its ``null_count`` counts the null
    indices only, and a NaN entry was read as a label)."""
    import pyarrow.compute as pc  # on first use: 30 ms not spent at import galton
    if pa.types.is_dictionary(col.type):
        return _dictionary_null_mask(col)
    if col.null_count == 0 and not pa.types.is_floating(col.type):
        return np.zeros(len(col), dtype=bool)
    m = np.asarray(col.is_null(), dtype=bool)
    if pa.types.is_floating(col.type):  # pyarrow before 21 has no float16 kernel: float32 holds it exactly
        exact = col.cast(pa.float32()) if pa.types.is_float16(col.type) else col
        m = m | np.asarray(pc.is_nan(exact).fill_null(False), dtype=bool)
    return m


def _dictionary_null_mask(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """:func:`null_mask` of a dictionary-typed column, chunk by chunk (each chunk has a dictionary of
    its own): that of the dictionary's entries, looked up through the rows' indices, without decoding."""
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    masks = [np.zeros(0, dtype=bool)]
    for chunk in chunks:
        bad = null_mask(chunk.dictionary)
        m = np.asarray(chunk.indices.is_null(), dtype=bool)
        if bad.any():
            indices = chunk.indices.fill_null(0).to_numpy(zero_copy_only=False)
            m |= bad[indices]
        masks.append(m)
    return np.concatenate(masks)


def _nulls(col: pa.ChunkedArray | pa.Array) -> int:
    """The count of null values of ``col``, a dictionary's null entries included (NaNs left out)."""
    return int(np.count_nonzero(np.asarray(col.is_null()))) if pa.types.is_dictionary(col.type) else col.null_count


def raise_nulls(table: pa.Table, cols: Sequence[str], index: np.ndarray | FileRows | None = None) -> None:
    """THE null check: raises when any of ``cols`` holds a null, naming each such column, its count
    of null rows and a few of them (and, for several columns, the rows in all), so that one run
    reports every fix; returns when there is none. ``index``: the input frame's :func:`row_index`."""
    parts, any_null = [], np.zeros(table.num_rows, dtype=bool)
    for c in cols:
        m = null_mask(table.column(c))
        if m.any():
            rows = np.flatnonzero(m)
            col = table.column(c)
            values = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
            what = "null or NaN value(s)" if pa.types.is_floating(values) and _nulls(col) < rows.size \
                else "null value(s)"  # a label "nan" read as a number is no empty field
            parts.append(f"column {c!r} has {rows.size} {what} ({example_rows(rows, index)})")
            any_null |= m
    if parts:
        total = f"; {int(any_null.sum())} rows in all" if len(parts) > 1 else ""
        raise ValueError(f"{'; '.join(parts)}{total}; {NULL_HINT}")
