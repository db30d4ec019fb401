"""The data model of preference judgments: pairwise comparisons, best-of-n choices and rankings.

Two encoded, validated, read-only containers, built once from whatever the user has (pandas, polars,
a pyarrow Table, a dict of arrays or a CSV / Parquet / JSON-lines path), as :class:`~galton.Judgments`
is for categorical labels:

- :class:`Comparisons` — one row per pairwise comparison ``worker, left, right, label`` where
  ``label`` is the preferred item (crowd-kit's layout), optionally a ``tie`` value. Stored as int32
  item codes ``left, right``, worker codes and an ``outcome`` in {1, 0, 0.5}: the share of the
  comparison won by the left item (0.5 for a tie).
- :class:`Choices` — best-of-n (``worker, options, choice``, ``options`` a list column) or full
  rankings (``worker, ranking``, a list column ordered best first). Stored as *choice events* in
  CSR layout: event ``e`` offers the items ``items[ptr[e]:ptr[e + 1]]`` and ``chosen[e]`` was
  picked. A ranking ``r0 > r1 > ... > r_{m-1}`` is the ``m - 1`` events "``r_k`` chosen from
  ``{r_k, ..., r_{m-1}}``" (Plackett 1975; Hunter 2004, section 6).

Item vocabularies are sorted (numbers numerically, strings lexicographically), so codes and every
result computed from them do not depend on the order of the rows, nor on which side of a
comparison an item was shown. Every error names the column, the count of bad rows, a few example
rows and what to do about it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from .io._read import check_columns
from .judgments import ColumnError, encode_column, example_rows, readonly, frame_kind, plain_column, to_arrow

__all__ = ["Comparisons", "Choices"]

OnInvalid = Literal["raise", "drop"]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _check_on_invalid(on_invalid: str) -> None:
    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', not {on_invalid!r}")


def _null_mask(col: pa.ChunkedArray) -> np.ndarray:
    import pyarrow.compute as pc  # on first use: 30 ms not spent at import galton
    if col.null_count == 0 and not pa.types.is_floating(col.type):
        return np.zeros(len(col), dtype=bool)
    m = np.asarray(col.is_null(), dtype=bool)
    if pa.types.is_floating(col.type):
        m = m | np.asarray(pc.is_nan(col).fill_null(False), dtype=bool)
    return m


def _combined(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    return plain_column(col)


def _family(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


def _cast_like(col: pa.Array, target: pa.DataType, name: str, other: str) -> pa.Array:
    """Cast ``col`` to the item type ``target``: numbers to numbers, strings to strings (an all-null
    column to anything); anything else is an error rather than a silent ``1 -> "1"``."""
    if col.type == target:
        return col
    try:
        if col.null_count < len(col) and _family(col.type) != _family(target):
            raise pa.ArrowInvalid("different kinds of ids")
        return col.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise ValueError(
            f"column {name!r} ({col.type}) and column {other!r} ({target}) hold different types of "
            f"item ids; convert them to one type first, for example df[{name!r}] = df[{name!r}].astype(str)"
        ) from None


def _text_items(table: pa.Table, cols: list[str]) -> pa.Table:
    """In a file read as text, an item column of canonical integers next to a text item column (``7``
    and ``007``) becomes text: its values print back exactly as they were written."""
    types = [table.schema.field(c).type for c in cols]
    if any(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
           for t in types):
        for c, t in zip(cols, types):
            if pa.types.is_integer(t):
                table = table.set_column(table.column_names.index(c), c, table.column(c).cast(pa.string()))
    return table


def _fmt(v: Any) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def _missing_columns(table: pa.Table, needed: list[str], hint: str) -> None:
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise ColumnError(f"missing column(s) {missing}; the input has {table.column_names}. {hint}")


def _workers(table: pa.Table, worker_col: str | None, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if worker_col is None:
        return np.zeros(int(keep.sum()), dtype=np.int32), np.array([""], dtype=object)
    col = table.column(worker_col)
    return encode_column(col.filter(pa.array(keep)) if not keep.all() else col)


def _has_worker(table: pa.Table, worker_col: str | None, default: str) -> str | None:
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


def _raise_nulls(table: pa.Table, cols: list[str]) -> None:
    for c in cols:
        m = _null_mask(table.column(c))
        if m.any():
            rows = np.flatnonzero(m)
            raise ValueError(
                f"column {c!r} has {rows.size} null value(s) (rows {example_rows(rows)}); "
                "drop those rows or pass on_invalid='drop'"
            )


# --------------------------------------------------------------------------------------------------
# pairwise comparisons
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Comparisons:
    """Pairwise comparisons encoded as int32 codes plus the vocabularies that map them back.

    Attributes
    ----------
    left, right : np.ndarray of int32, shape (n_comparisons,)
        Item codes into ``item_names`` of the two items shown; read-only.
    worker : np.ndarray of int32
        Worker codes into ``worker_names`` (one anonymous worker ``""`` when the input had none).
    outcome : np.ndarray of float64
        Share of the comparison won by the left item: 1.0 (left preferred), 0.0 (right), 0.5 (tie).
    item_names, worker_names : np.ndarray
        Sorted vocabularies with the user's own ids.
    source_kind : {"pandas", "polars", "arrow", "dict"}
        The input's frame type; results are returned in it by default.
    n_dropped : int
        Rows removed by ``on_invalid="drop"``.
    """

    left: np.ndarray
    right: np.ndarray
    worker: np.ndarray
    outcome: np.ndarray
    item_names: np.ndarray
    worker_names: np.ndarray
    source_kind: str = "dict"
    n_dropped: int = 0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_any(
        cls,
        data: Any,
        worker_col: str | None = "worker",
        left_col: str = "left",
        right_col: str = "right",
        label_col: str = "label",
        tie: Any = None,
        on_invalid: OnInvalid = "raise",
    ) -> "Comparisons":
        """Encode and validate pairwise comparisons.

        Parameters
        ----------
        data : pandas / polars DataFrame, pyarrow Table, dict of arrays or path
            One row per comparison.
        worker_col : str or None
            Worker column; when the input has no column of the default name ``"worker"`` (or
            ``None`` is passed) every comparison is attributed to one anonymous worker.
        left_col, right_col : str
            The two items shown.
        label_col : str
            The preferred item: equal to the row's left or right item (or to ``tie``).
        tie : optional
            The label value that marks a tie (for example ``"tie"`` or ``-1``); a tie counts as
            half a win for each side. ``None``: no ties.
        on_invalid : {"raise", "drop"}
            What to do with rows that have a null, a label that is neither item, or an item compared
            with itself.
        """
        import pyarrow.compute as pc  # on first use: 30 ms not spent at import galton
        if isinstance(data, Comparisons):
            return data
        _check_on_invalid(on_invalid)
        kind = frame_kind(data)
        table = to_arrow(data, ids=(worker_col or "worker", left_col, right_col, label_col))
        wcol = _has_worker(table, worker_col, "worker")
        cols = [c for c in (wcol, left_col, right_col, label_col) if c is not None]
        _missing_columns(table, [left_col, right_col, label_col],
                         "Name the columns with left_col=, right_col=, label_col= "
                         "(label = the preferred item)")
        table = check_columns(table.select(cols), cols)
        if isinstance(data, (str, os.PathLike)):
            table = _text_items(table, [left_col, right_col, label_col])
        if table.num_rows == 0 and kind != "pandas":  # an empty pandas frame: empty results (crowd-kit)
            raise ValueError("the input holds no comparisons (0 rows); pass at least one row "
                             f"with {left_col!r}, {right_col!r} and {label_col!r}")
        n = table.num_rows
        bad = np.zeros(n, dtype=bool)
        for c in cols:
            bad |= _null_mask(table.column(c))
        if bad.any() and on_invalid == "raise":
            _raise_nulls(table, cols)

        left = _combined(table.column(left_col))
        right = _cast_like(_combined(table.column(right_col)), left.type, right_col, left_col)
        label = _combined(table.column(label_col))
        is_tie = np.zeros(n, dtype=bool)
        if tie is not None:
            try:
                tie_value = pa.scalar(tie).cast(label.type)
                is_tie = np.asarray(pc.equal(label, tie_value).fill_null(False), dtype=bool)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                is_tie = np.zeros(n, dtype=bool)
        # the label column as item ids: ties and invalid rows take the row's left item (ignored later)
        if is_tie.any() or bad.any():
            fill = _first_valid(left, right)
            left_f, right_f = left.fill_null(fill), right.fill_null(fill)
            lab = pc.if_else(pa.array(is_tie), pa.nulls(n, label.type), label)
            lab = _cast_like(lab, left.type, label_col, left_col)
            lab = pc.if_else(pa.array(is_tie | bad), left_f, lab).fill_null(fill)
        else:  # the common case: no ties, no nulls
            left_f, right_f = left, right
            lab = _cast_like(label, left.type, label_col, left_col)
        codes, vocab = encode_column(pa.concat_arrays([left_f, right_f, lab]))
        lc, rc, bc = codes[:n], codes[n:2 * n], codes[2 * n:]

        same = (lc == rc) & ~bad
        neither = (bc != lc) & (bc != rc) & ~is_tie & ~bad
        if on_invalid == "raise":
            if same.any():
                rows = np.flatnonzero(same)
                raise ValueError(
                    f"{rows.size} row(s) compare an item with itself (column {left_col!r} equals "
                    f"column {right_col!r}; rows {example_rows(rows)}, item {_fmt(vocab[lc[rows[0]]])}); "
                    "remove those rows or pass on_invalid='drop'"
                )
            if neither.any():
                rows = np.flatnonzero(neither)
                r0 = rows[0]
                tie_hint = " pass tie=<value> if they mark ties," if tie is None else ""
                raise ValueError(
                    f"column {label_col!r} has {rows.size} value(s) that are neither the row's "
                    f"{left_col!r} nor its {right_col!r} item (rows {example_rows(rows)}; row {r0}: "
                    f"label {_fmt(label[r0].as_py())} for {_fmt(vocab[lc[r0]])} vs {_fmt(vocab[rc[r0]])});"
                    f"{tie_hint} fix those labels or pass on_invalid='drop'"
                )
        keep = ~(bad | same | neither)
        if not keep.any() and n:
            raise ValueError("every row is invalid (null, self-comparison or a label that is neither "
                             "item); nothing is left to aggregate")
        all_kept = bool(keep.all())
        if not all_kept:
            lc, rc, bc, is_tie = lc[keep], rc[keep], bc[keep], is_tie[keep]
        outcome = (bc == lc).astype(np.float64)
        if tie is not None:
            outcome[is_tie] = 0.5
        if all_kept:  # every label is the row's left or right item: every id was shown
            used = np.arange(vocab.size)
            left_codes, right_codes = lc, rc
        else:  # the item vocabulary holds shown items only (dropped rows may have held others)
            used = np.flatnonzero(np.bincount(lc, minlength=vocab.size) + np.bincount(rc, minlength=vocab.size))
            remap = np.full(vocab.size, -1, dtype=np.int32)
            remap[used] = np.arange(used.size, dtype=np.int32)
            left_codes, right_codes = remap[lc], remap[rc]
        w_codes, w_names = _workers(table, wcol, keep)
        return cls(
            left=readonly(np.ascontiguousarray(left_codes)),
            right=readonly(np.ascontiguousarray(right_codes)),
            worker=readonly(np.ascontiguousarray(w_codes, dtype=np.int32)),
            outcome=readonly(np.ascontiguousarray(outcome)),
            item_names=readonly(vocab[used]),
            worker_names=readonly(w_names),
            source_kind=kind,
            n_dropped=int((~keep).sum()),
        )

    @classmethod
    def from_codes(cls, left: np.ndarray, right: np.ndarray, outcome: np.ndarray,
                   worker: np.ndarray | None = None, *, n_items: int | None = None,
                   n_workers: int | None = None) -> "Comparisons":
        """Wrap already-encoded codes (simulations); names are the codes themselves."""
        left = np.ascontiguousarray(left, dtype=np.int32)
        right = np.ascontiguousarray(right, dtype=np.int32)
        outcome = np.ascontiguousarray(outcome, dtype=np.float64)
        worker = np.zeros_like(left) if worker is None else np.ascontiguousarray(worker, dtype=np.int32)
        if not (left.shape == right.shape == outcome.shape == worker.shape) or left.ndim != 1:
            raise ValueError("left, right, outcome and worker must be 1-d arrays of the same length")
        if left.size == 0:
            raise ValueError("the input holds no comparisons (0 rows)")
        if (left == right).any():
            raise ValueError(f"{int((left == right).sum())} comparison(s) of an item with itself")
        if ((outcome < 0) | (outcome > 1)).any():
            raise ValueError("outcome must lie in [0, 1] (1: left preferred, 0: right, 0.5: tie)")
        ni = int(max(left.max(), right.max())) + 1 if n_items is None else n_items
        nw = int(worker.max()) + 1 if n_workers is None else n_workers
        return cls(readonly(left), readonly(right), readonly(worker), readonly(outcome),
                   readonly(np.arange(ni)), readonly(np.arange(nw)))

    # ---------------------------------------------------------------- sizes
    @property
    def n_comparisons(self) -> int:
        return int(self.left.size)

    #: the EM driver counts "judgments"
    n_judgments = n_comparisons

    @property
    def n_items(self) -> int:
        return int(self.item_names.size)

    @property
    def n_workers(self) -> int:
        return int(self.worker_names.size)

    def __len__(self) -> int:
        return self.n_comparisons

    def __repr__(self) -> str:
        ties = int((self.outcome == 0.5).sum())
        return (f"Comparisons({self.n_comparisons} comparisons, {self.n_items} items, "
                f"{self.n_workers} workers, {ties} ties)")

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Distinct unordered pairs ``(a, b)`` with ``a < b``: codes ``a, b``, the count of
        comparisons ``n``, the wins of ``a`` (ties count one half) and the pair index of each row."""
        cached = self._cache.get("pairs")
        if cached is None:
            a = np.minimum(self.left, self.right).astype(np.int64)
            b = np.maximum(self.left, self.right).astype(np.int64)
            keys, inverse, counts = np.unique(a * self.n_items + b, return_inverse=True, return_counts=True)
            a_won = np.where(self.left == a, self.outcome, 1.0 - self.outcome)
            wins = np.bincount(inverse, a_won, minlength=keys.size)
            cached = ((keys // self.n_items).astype(np.int32), (keys % self.n_items).astype(np.int32),
                      counts, wins, inverse.astype(np.int64))
            self._cache["pairs"] = cached
        return cached


def _first_valid(left: pa.Array, right: pa.Array) -> Any:
    """A non-null item id used to fill nulls before encoding (those rows are dropped anyway)."""
    for col in (left, right):
        valid = col.drop_null()
        if len(valid):
            return valid[0]
    raise ValueError("columns with the items hold only nulls; nothing is left to aggregate")


# --------------------------------------------------------------------------------------------------
# best-of-n choices and rankings
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Choices:
    """Choice events in CSR layout: event ``e`` offers ``items[ptr[e]:ptr[e+1]]``, ``chosen[e]`` won.

    Attributes
    ----------
    ptr : int64 (n_events + 1,)    offsets of each event's offered items
    items : int32                   item codes of the offered items (the chosen one included)
    chosen : int32 (n_events,)      item code of the chosen item
    worker : int32 (n_events,)      worker code
    row : int64 (n_events,)         input row of each event (a ranking gives several events)
    item_names, worker_names : sorted vocabularies
    layout : "choice" or "ranking"
    """

    ptr: np.ndarray
    items: np.ndarray
    chosen: np.ndarray
    worker: np.ndarray
    row: np.ndarray
    item_names: np.ndarray
    worker_names: np.ndarray
    layout: str = "choice"
    source_kind: str = "dict"
    n_dropped: int = 0

    @classmethod
    def from_any(
        cls,
        data: Any,
        worker_col: str | None = "worker",
        options_col: str = "options",
        choice_col: str = "choice",
        ranking_col: str = "ranking",
        on_invalid: OnInvalid = "raise",
    ) -> "Choices":
        """Encode and validate best-of-n choices or rankings.

        The layout is told by the columns: ``options`` (a list column) with ``choice`` (the chosen
        item, which must be one of the options) for best-of-n; otherwise ``ranking`` (a list column
        of items ordered best first) for full rankings. A :class:`Comparisons` object (without
        ties) is accepted too: each comparison is a choice out of two.
        """
        import pyarrow.compute as pc  # on first use: 30 ms not spent at import galton
        if isinstance(data, Choices):
            return data
        if isinstance(data, Comparisons):
            return cls.from_comparisons(data)
        _check_on_invalid(on_invalid)
        kind = frame_kind(data)
        table = to_arrow(data, ids=(worker_col or "worker", choice_col))
        table = check_columns(table, [c for c in (worker_col, choice_col) if c is not None])
        wcol = _has_worker(table, worker_col, "worker")
        if choice_col in table.column_names or ranking_col not in table.column_names:
            layout, list_col = "choice", options_col
            _missing_columns(table, [options_col, choice_col],
                             f"Best-of-n needs {options_col!r} (a list of the items shown) and "
                             f"{choice_col!r} (the chosen item); rankings need {ranking_col!r} (a list, "
                             "best first). Name them with options_col=, choice_col=, ranking_col=")
        else:
            layout, list_col = "ranking", ranking_col
        cols = [c for c in (wcol, list_col, choice_col if layout == "choice" else None) if c is not None]
        table = table.select(cols)
        n = table.num_rows
        if n == 0:
            raise ValueError(f"the input holds no {'choices' if layout == 'choice' else 'rankings'} (0 rows)")
        lists = _combined(table.column(list_col))
        if not (pa.types.is_list(lists.type) or pa.types.is_large_list(lists.type)
                or pa.types.is_fixed_size_list(lists.type)):
            raise ValueError(
                f"column {list_col!r} must hold lists of items (a list column), not {lists.type}; "
                "for pairwise data use Comparisons / BradleyTerry with left, right, label columns"
            )
        if pa.types.is_fixed_size_list(lists.type) or pa.types.is_large_list(lists.type):
            lists = lists.cast(pa.list_(lists.type.value_type))
        bad = _null_mask(table.column(list_col))
        if wcol is not None:
            bad |= _null_mask(table.column(wcol))
        if layout == "choice":
            bad |= _null_mask(table.column(choice_col))
        lengths = np.asarray(pc.list_value_length(lists).fill_null(0), dtype=np.int64)
        values = _combined(pc.list_flatten(lists))
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        row_of = np.repeat(np.arange(n), lengths)
        null_el = _null_mask(pa.chunked_array([values])) if len(values) else np.zeros(0, dtype=bool)
        bad_el = np.zeros(n, dtype=bool)
        bad_el[row_of[null_el]] = True
        if on_invalid == "raise":
            _raise_nulls(table, cols)
            if bad_el.any():
                rows = np.flatnonzero(bad_el)
                raise ValueError(f"column {list_col!r} has {rows.size} list(s) with a null item (rows "
                                 f"{example_rows(rows)}); remove the nulls or pass on_invalid='drop'")
        bad |= bad_el
        short = (lengths < 2) & ~bad
        choice = None
        if layout == "choice":
            choice = _cast_like(_combined(table.column(choice_col)), values.type, choice_col, list_col)
        fill = values.drop_null()
        if len(fill) == 0:
            raise ValueError(f"column {list_col!r} holds no items; nothing is left to aggregate")
        parts = [values.fill_null(fill[0])]
        if choice is not None:
            parts.append(choice.fill_null(fill[0]))
        codes, vocab = encode_column(pa.concat_arrays(parts))
        vcodes = codes[: len(values)]
        # duplicates inside one list
        key = row_of * (vocab.size + 1) + vcodes
        sk = np.sort(key)
        repeated = sk[1:][sk[1:] == sk[:-1]] if sk.size > 1 else sk[:0]
        dup_rows = np.unique(repeated // (vocab.size + 1))
        dup = np.zeros(n, dtype=bool)
        dup[dup_rows] = True
        dup &= ~bad
        not_in = np.zeros(n, dtype=bool)
        ccodes = None
        if choice is not None:
            ccodes = codes[len(values):]
            hit = np.zeros(n, dtype=bool)
            hit[row_of[vcodes == ccodes[row_of]]] = True
            not_in = ~hit & ~bad
        if on_invalid == "raise":
            if short.any():
                rows = np.flatnonzero(short)
                raise ValueError(f"column {list_col!r} has {rows.size} list(s) with fewer than 2 items "
                                 f"(rows {example_rows(rows)}); a choice needs at least two options. Remove "
                                 "those rows or pass on_invalid='drop'")
            if dup.any():
                rows = np.flatnonzero(dup)
                raise ValueError(f"column {list_col!r} has {rows.size} list(s) that name an item twice "
                                 f"(rows {example_rows(rows)}); list each item once or pass on_invalid='drop'")
            if not_in.any():
                rows = np.flatnonzero(not_in)
                r0 = rows[0]
                raise ValueError(
                    f"column {choice_col!r} has {rows.size} choice(s) that are not among the row's "
                    f"{options_col!r} (rows {example_rows(rows)}; row {r0}: {_fmt(choice[r0].as_py())} not in "
                    f"{[_fmt(v).strip(chr(39)) for v in vocab[vcodes[offsets[r0]:offsets[r0 + 1]]]]}); "
                    "fix those rows or pass on_invalid='drop'"
                )
        keep = ~(bad | short | dup | not_in)
        if not keep.any():
            raise ValueError("every row is invalid (null, fewer than 2 options, a repeated option or a "
                             "choice outside the options); nothing is left to aggregate")
        rows = np.flatnonzero(keep)
        w_codes, w_names = _workers(table, wcol, keep)
        if layout == "choice":
            sizes = lengths[rows]
            ptr = np.zeros(rows.size + 1, dtype=np.int64)
            np.cumsum(sizes, out=ptr[1:])
            flat = np.repeat(offsets[rows] - ptr[:-1], sizes) + np.arange(ptr[-1])
            items, chosen, ev_row, ev_w = vcodes[flat], ccodes[rows], rows, w_codes
        else:
            m = lengths[rows]
            ev_row_k = np.repeat(np.arange(rows.size), m - 1)
            start = np.zeros(rows.size + 1, dtype=np.int64)
            np.cumsum(m - 1, out=start[1:])
            k = np.arange(ev_row_k.size) - start[ev_row_k]
            sizes = m[ev_row_k] - k
            ptr = np.zeros(sizes.size + 1, dtype=np.int64)
            np.cumsum(sizes, out=ptr[1:])
            first = offsets[rows][ev_row_k] + k
            flat = np.repeat(first - ptr[:-1], sizes) + np.arange(ptr[-1])
            items, chosen = vcodes[flat], vcodes[first]
            ev_row, ev_w = rows[ev_row_k], w_codes[ev_row_k]
        used = np.unique(items)
        remap = np.full(vocab.size, -1, dtype=np.int32)
        remap[used] = np.arange(used.size, dtype=np.int32)
        return cls(
            ptr=readonly(ptr), items=readonly(remap[items]), chosen=readonly(remap[chosen]),
            worker=readonly(np.ascontiguousarray(ev_w, dtype=np.int32)),
            row=readonly(np.asarray(ev_row, dtype=np.int64)), item_names=readonly(vocab[used]),
            worker_names=readonly(w_names), layout=layout, source_kind=kind,
            n_dropped=int((~keep).sum()),
        )

    @classmethod
    def from_comparisons(cls, comparisons: Comparisons) -> "Choices":
        """Each comparison as a choice out of two (ties have no Plackett-Luce meaning)."""
        ties = np.flatnonzero(comparisons.outcome == 0.5)
        if ties.size:
            raise ValueError(
                f"{ties.size} comparison(s) are ties (rows {example_rows(ties)}); Plackett-Luce has no ties: "
                "use BradleyTerry (a tie counts half a win for each side) or drop the ties"
            )
        n = comparisons.n_comparisons
        winner = np.where(comparisons.outcome == 1.0, comparisons.left, comparisons.right)
        items = np.empty(2 * n, dtype=np.int32)
        items[0::2], items[1::2] = comparisons.left, comparisons.right
        return cls(
            ptr=readonly(np.arange(0, 2 * n + 1, 2, dtype=np.int64)), items=readonly(items),
            chosen=readonly(winner.astype(np.int32)), worker=comparisons.worker,
            row=readonly(np.arange(n, dtype=np.int64)), item_names=comparisons.item_names,
            worker_names=comparisons.worker_names, layout="choice", source_kind=comparisons.source_kind,
            n_dropped=comparisons.n_dropped,
        )

    @property
    def n_events(self) -> int:
        return int(self.chosen.size)

    n_judgments = n_events

    @property
    def n_items(self) -> int:
        return int(self.item_names.size)

    @property
    def n_workers(self) -> int:
        return int(self.worker_names.size)

    @property
    def event_of(self) -> np.ndarray:
        """Event index of each entry of ``items``."""
        return np.repeat(np.arange(self.n_events, dtype=np.int64), np.diff(self.ptr))

    def __len__(self) -> int:
        return self.n_events

    def __repr__(self) -> str:
        return (f"Choices({self.n_events} choice events ({self.layout}), {self.n_items} items, "
                f"{self.n_workers} workers)")
