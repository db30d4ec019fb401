"""Helpers shared by the preference containers (:mod:`galton.data.comparisons`, :mod:`galton.data.choices`):
item columns of one type, the worker column, the first valid item id."""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator, Sequence

import numpy as np
import pyarrow as pa

from .._warnings import caller_stacklevel, warn
from ._encode import encode_column
from ._validate import MAX_EXAMPLES, ColumnError, fmt_value, missing_columns

__all__ = ["cast_like", "cast_choices", "family", "first_valid", "has_worker", "missing_columns", "text_items",
           "workers_of", "fmt_value", "text_for_ties", "whole_labels", "per_worker_model"]

#: the model with per-worker parameters whose data is being read ("" for none): see :func:`per_worker_model`
_PER_WORKER: ContextVar[str] = ContextVar("galton_per_worker_model", default="")
#: a row index, not a possible worker column: pandas' stored index (``__index_level_0__``) and a column
#: whose header was empty (``to_csv``'s default index; the reader names it ``column_<position>``)
_ROW_INDEX = re.compile(r"__index_level_\d+__|column_\d+")


def family(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


def _to(col: str, to: str, lists: tuple) -> str:
    """The pandas line that converts column ``col`` (a list column where it is in ``lists``) to
    ``to``: ``str``, ``float`` or ``numeric``."""
    each = "pd.to_numeric(x)" if to == "numeric" else f"{to}(x)"
    if col in lists:
        return f"df[{col!r}] = df[{col!r}].map(lambda xs: [{each} for x in xs])"
    return f"df[{col!r}] = pd.to_numeric(df[{col!r}])" if to == "numeric" else f"df[{col!r}] = df[{col!r}].astype({to})"


def _types_differ(t: pa.DataType, target: pa.DataType, name: str, other: str, convert: list[str],
                  lists: tuple) -> ValueError:
    """The error for ids of column ``name`` (type ``t``) that are no ids of the item type
    ``target`` (of column ``other``), with a conversion that makes the types one: ``convert`` are
    the columns of the items' type (the advice was ``df['label'].astype(str)`` for a label that was
    text already, beside integer items), ``lists`` the list columns among them."""
    def cols(to: str) -> str:
        return " and ".join(_to(c, to, lists) for c in convert)

    if family(t) == "string" and family(target) == "number":
        fix = f"{cols('str')} (the items as text), or {_to(name, 'numeric', lists)}"
    elif family(t) == "number" and family(target) == "string":
        fix = _to(name, "str", lists)
    elif family(t) == family(target) == "number":  # 2.5 beside integer items
        fix = cols("float")
    else:
        fix = f"{cols('str')} and {_to(name, 'str', lists)}"
    return ValueError(f"column {name!r} ({t}) and column {other!r} ({target}) hold different types of item ids; "
                      f"convert them to one type first, for example {fix}")


def cast_like(col: pa.Array, target: pa.DataType, name: str, other: str,
              convert: list[str] | None = None, lists: tuple = ()) -> pa.Array:
    """Cast ``col`` to the item type ``target``: numbers to numbers, strings to strings (an all-null
    column to anything); anything else is an error rather than a silent ``1 -> "1"``. ``convert``:
    the columns of type ``target``, for the error's advice (default ``[other]``); ``lists``: the
    list columns among ``name`` and those."""
    if col.type == target:
        return col
    try:
        if col.null_count < len(col) and family(col.type) != family(target):
            raise pa.ArrowInvalid("different kinds of ids")
        return col.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise _types_differ(col.type, target, name, other, convert or [other], lists) from None


def cast_choices(col: pa.Array, target: pa.DataType, name: str, other: str, convert: list[str],
                 lists: tuple = ()) -> tuple[pa.Array, np.ndarray]:
    """:func:`cast_like` for the column that names one of its row's items (a label, a choice):
    ``(cast column, odd)``, where a value of the items' kind that is no id of their type (2.5 beside
    integer items) is null and marked in ``odd``, as it is none of its row's items (the whole
    column was refused, with an advice to cast it to text)."""
    odd = np.zeros(len(col), dtype=bool)
    if col.type == target or col.null_count == len(col) or family(col.type) != family(target) \
            or family(target) not in ("number", "string"):
        return cast_like(col, target, name, other, convert, lists), odd
    try:
        return col.cast(target), odd
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    import pyarrow.compute as pc

    try:
        loose = col.cast(target, safe=False)
        odd = ~np.asarray(pc.equal(loose.cast(col.type, safe=False), col).fill_null(True), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise _types_differ(col.type, target, name, other, convert, lists) from None
    return pc.if_else(pa.array(odd), pa.nulls(len(col), target), loose), odd


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


def whole_labels(table: pa.Table, label_col: str, item_cols: list[str], tie: Any = None) -> pa.Table:
    """In a file read as text, a label column of numbers written as floats (``1.0``: pandas writes an
    integer column with a missing value as float64, to CSV and to JSON) beside integer items: the
    integers (floats where some are not whole: 1.5 is then no item of its row), as Parquet or the frame
    itself give them. Kept as text, its ``1.0`` made the items the texts ``1``, ``2`` (:func:`text_items`),
    and no label was either item of its row ("every row is invalid"). With a tie marker among the labels,
    the whole numbers become the text of the integers (the marker stays; :func:`text_for_ties`). Other
    text (``007``, ``x``) is left as it was written."""
    import pyarrow.compute as pc

    col = table.column(label_col)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)) or not all(
            pa.types.is_integer(table.schema.field(c).type) for c in item_cols):
        return table
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    marker = pc.equal(col, pa.scalar(str(tie), col.type)).fill_null(False) if tie is not None else None
    values = (col.filter(pc.invert(marker)) if marker is not None else col).drop_null()
    if len(values) == 0 or not pc.all(pc.match_substring_regex(values, r"^-?(0|[1-9][0-9]*)(\.[0-9]*)?$")).as_py():
        return table
    whole = pc.match_substring_regex(col, r"^-?(0|[1-9][0-9]*)(\.0*)?$").fill_null(False)
    text = pc.if_else(whole, pc.replace_substring_regex(col, r"\.0*$", ""), col)
    text = pc.if_else(pc.equal(text, "-0").fill_null(False), pa.scalar("0", text.type), text)  # -0.0: item 0
    try:
        if marker is not None and pc.any(marker).as_py():
            typed = text
        elif pc.all(pc.or_(whole, col.is_null())).as_py():
            typed = text.cast(pa.int64())
        else:  # 1.5 beside 1.0: floats, as Parquet holds them (whole ones beyond 2**53 would lose digits)
            typed = text.cast(pa.float64())
            if pc.any(pc.greater_equal(pc.abs(typed), 2.0 ** 53)).as_py():
                return table
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # beyond int64: as written
        return table
    return table.set_column(table.column_names.index(label_col), label_col, typed)


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


@contextmanager
def per_worker_model(name: str) -> Iterator[None]:
    """Within the block, data read for the model ``name``, which has per-worker parameters (CrowdBT's
    reliability): the warning of :func:`has_worker` says they are then one value shared by all."""
    token = _PER_WORKER.set(name)
    try:
        yield
    finally:
        _PER_WORKER.reset(token)


def has_worker(table: pa.Table, worker_col: str | None, default: str, read: Sequence[str] = ()) -> str | None:
    """The worker column to use: None when the input has none and the default name was asked for
    (crowd-kit's BradleyTerry takes ``left, right, label`` frames without workers). Then columns
    other than ``read`` (the items' and labels' columns) may be the workers under another name
    (``rater``): a warning names them (a ``rater`` column was ignored without a word, and CrowdBT
    gave all raters, the adversarial ones too, one shared reliability)."""
    if worker_col is None:
        return None
    if worker_col not in table.column_names:
        if worker_col == default:
            unread = [c for i, c in enumerate(table.column_names) if c not in read and not
                      (_ROW_INDEX.fullmatch(str(c)) and (str(c).startswith("__") or str(c) == f"column_{i}"))]
            if unread:
                model = _PER_WORKER.get()
                shared = f"; {model}'s per-worker reliability is then one value shared by all" if model else ""
                more = f" and {len(unread) - MAX_EXAMPLES} more" if len(unread) > MAX_EXAMPLES else ""
                warn(f"the input has no column {default!r}, so every row is attributed to one anonymous worker"
                     f"{shared}; {len(unread)} column(s) are not read ("
                     f"{', '.join(repr(str(c)) for c in unread[:MAX_EXAMPLES])}{more}). If one of them names "
                     "the workers, pass worker_col=<its name>; pass worker_col=None to fit without workers "
                     "and without this warning", UserWarning, caller_stacklevel())
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
