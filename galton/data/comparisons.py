"""Pairwise comparisons (``worker, left, right, label``), encoded once, validated once, read-only.

- :class:`Comparisons` — one row per pairwise comparison ``worker, left, right, label`` where
  ``label`` is the preferred item (crowd-kit's layout), optionally a ``tie`` value. Stored as int32
  item codes ``left, right``, worker codes and an ``outcome`` in {1, 0, 0.5}: the share of the

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

from ..io._read import check_columns, frame_kind, to_arrow
from ._base import EncodedData
from ._encode import encode_column, plain_column, readonly, retuple, untuple_items
from ._items import (cast_choices, cast_like, first_valid, has_worker, text_for_ties, text_items, whole_labels,
                     workers_of)
from ._validate import (check_on_invalid, distinct_roles, example_rows, fmt_value, missing_columns, null_mask, one_row,
                        raise_nulls, row_index, file_rows, encoded_options)

__all__ = ["Comparisons"]

OnInvalid = Literal["raise", "drop"]


@dataclass(frozen=True, eq=False)
class Comparisons(EncodedData):
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
            ``None`` is passed) every comparison is attributed to one anonymous worker (with a
            warning that names the input's other columns, when it has any: one of them may be the
            workers under another name).
        left_col, right_col : str
            The two items shown.
        label_col : str
            The preferred item: equal to the row's left or right item (or to ``tie``).
        tie : optional
            The label value that marks a tie (for example ``"tie"`` or ``-1``); a tie counts as
            half a win for each side. ``None``: no ties. A value that is also an item is refused.
        on_invalid : {"raise", "drop"}
            What to do with rows that have a null, a label that is neither item, or an item compared
            with itself.
        """
        import pyarrow.compute as pc  # on first use: 30 ms not spent at import galton
        if isinstance(data, Comparisons):  # encoded already: reading options are refused, not ignored
            encoded_options("Comparisons", (
                ("worker_col", worker_col, "worker"), ("left_col", left_col, "left"), ("right_col", right_col, "right"),
                ("label_col", label_col, "label"), ("tie", tie, None), ("on_invalid", on_invalid, "raise")))
            return data
        check_on_invalid(on_invalid)
        distinct_roles((("worker_col", worker_col), ("left_col", left_col), ("right_col", right_col),
                        ("label_col", label_col)))
        kind = frame_kind(data)
        tuples: dict[str, np.ndarray] = {}
        index = row_index(data)  # a pandas frame's own index names the bad rows
        if kind == "pandas":  # tuple-valued items / workers travel as integer ranks (one vocabulary)
            data, tuples = untuple_items(data, worker_col or "worker", (left_col, right_col, label_col), tie)
            tie = -1 if "items" in tuples and tie is not None else tie
        frame_cols = None if isinstance(data, (str, os.PathLike)) else (worker_col, left_col, right_col, label_col)
        table = to_arrow(data, ids=(worker_col or "worker", left_col, right_col, label_col),
                         columns=frame_cols)  # a frame's other columns are not converted (files: read whole)
        index = file_rows(table) if index is None else index  # several files: by file and row
        wcol = has_worker(table, worker_col, "worker", (left_col, right_col, label_col))
        cols = [c for c in (wcol, left_col, right_col, label_col) if c is not None]
        missing_columns(table, [left_col, right_col, label_col],
                         "Name the columns with left_col=, right_col=, label_col= "
                         "(label = the preferred item)")
        table = check_columns(table.select(cols), cols)
        if isinstance(data, (str, os.PathLike)):  # labels text only for their tie marker: the items stay as typed
            table = whole_labels(table, label_col, [left_col, right_col], tie)  # 1.0 (pandas' floats) is item 1
            marker_only = text_for_ties(table.column(label_col), tie)
            table = text_items(table, [left_col, right_col] + ([] if marker_only else [label_col]))
        if table.num_rows == 0 and isinstance(data, (str, os.PathLike)):  # an empty frame: empty results
            raise ValueError("the input holds no comparisons (0 rows); pass at least one row "
                             f"with {left_col!r}, {right_col!r} and {label_col!r}")
        n = table.num_rows
        bad = np.zeros(n, dtype=bool)
        for c in cols:
            bad |= null_mask(table.column(c))
        if bad.any() and on_invalid == "raise":
            raise_nulls(table, cols, index)

        left = plain_column(table.column(left_col))
        right = cast_like(plain_column(table.column(right_col)), left.type, right_col, left_col)
        label = plain_column(table.column(label_col))
        is_tie = np.zeros(n, dtype=bool)
        if tie is not None:
            _tie_is_no_item(tie, left, right, left_col, right_col, index)
            try:
                tie_value = pa.scalar(tie).cast(label.type)
                is_tie = np.asarray(pc.equal(label, tie_value).fill_null(False), dtype=bool)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                is_tie = np.zeros(n, dtype=bool)
        # the label column as item ids: ties and invalid rows take the row's left item (ignored later)
        if is_tie.any() or bad.any():
            fill = first_valid(left, right)
            left_f, right_f = left.fill_null(fill), right.fill_null(fill)
            lab = pc.if_else(pa.array(is_tie), pa.nulls(n, label.type), label)
            if is_tie.any() and pa.types.is_string(lab.type) and pa.types.is_integer(left.type):
                try:  # a text tie marker made the label column text: its other values are the numbers
                    lab = lab.cast(left.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass  # no numbers: cast_like says the types differ
            lab, odd = cast_choices(lab, left.type, label_col, left_col, [left_col, right_col])
            lab = pc.if_else(pa.array(is_tie | bad), left_f, lab).fill_null(fill)
        else:  # the common case: no ties, no nulls
            left_f, right_f = left, right
            lab, odd = cast_choices(label, left.type, label_col, left_col, [left_col, right_col])
            if odd.any():  # a label that is no item id (2.5 beside integer items): neither item of its row
                lab = lab.fill_null(first_valid(left, right))
        codes, vocab = encode_column(pa.concat_arrays([left_f, right_f, lab]))
        lc, rc, bc = codes[:n], codes[n:2 * n], codes[2 * n:]

        same = (lc == rc) & ~bad
        neither = ((bc != lc) & (bc != rc) | odd) & ~is_tie & ~bad
        if on_invalid == "raise" and (same.any() or neither.any()):
            names = retuple(vocab, tuples.get("items"))  # the user's ids (tuples travel as their ranks)
            if same.any():
                rows = np.flatnonzero(same)
                raise ValueError(
                    f"{rows.size} row(s) compare an item with itself (column {left_col!r} equals "
                    f"column {right_col!r}; {example_rows(rows, index)}, item {fmt_value(names[lc[rows[0]]])}); "
                    "remove those rows or pass on_invalid='drop'"
                )
            rows = np.flatnonzero(neither)
            r0 = rows[0]
            said = label[r0].as_py() if "items" not in tuples else names[bc[r0]]  # as given (1.0 beside 1)
            tie_hint = " pass tie=<value> if they mark ties," if tie is None else ""
            raise ValueError(
                f"column {label_col!r} has {rows.size} value(s) that are neither the row's "
                f"{left_col!r} nor its {right_col!r} item ({example_rows(rows, index)}; "
                f"{one_row(r0, index)}: label {fmt_value(said)} for "
                f"{fmt_value(names[lc[r0]])} vs {fmt_value(names[rc[r0]])});"
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
        w_codes, w_names = workers_of(table, wcol, keep)
        return cls(
            left=readonly(np.ascontiguousarray(left_codes)),
            right=readonly(np.ascontiguousarray(right_codes)),
            worker=readonly(np.ascontiguousarray(w_codes, dtype=np.int32)),
            outcome=readonly(np.ascontiguousarray(outcome)),
            item_names=readonly(retuple(vocab[used], tuples.get("items"))),
            worker_names=readonly(retuple(w_names, tuples.get("worker"))),
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

    def __repr__(self) -> str:
        ties = int((self.outcome == 0.5).sum())
        return (f"Comparisons({self.n_comparisons} comparisons, {self.n_items} items, "
                f"{self.n_workers} workers, {ties} ties)")

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Distinct unordered pairs ``(a, b)`` with ``a < b``: codes ``a, b``, the count of
        comparisons ``n``, the wins of ``a`` (ties count one half) and the pair index of each row."""
        cached = self._cache.get("pairs")
        if cached is None:
            from ..aggregator._kernels import pair_codes  # the aggregator's kernels import this package

            a = np.minimum(self.left, self.right).astype(np.int64)
            b = np.maximum(self.left, self.right).astype(np.int64)
            # np.unique(a * n_items + b, return_inverse=True, return_counts=True) in linear passes: its
            # sort took 35% of galton.allocate on 1M comparisons
            keys, inverse = pair_codes(a, b, self.n_items, self.n_items)
            counts = np.bincount(inverse, minlength=keys.size)
            a_won = np.where(self.left == a, self.outcome, 1.0 - self.outcome)
            wins = np.bincount(inverse, a_won, minlength=keys.size)
            cached = ((keys // self.n_items).astype(np.int32), (keys % self.n_items).astype(np.int32),
                      counts, wins, inverse.astype(np.int64))
            self._cache["pairs"] = cached
        return cached


def _tie_is_no_item(tie: Any, left: pa.Array, right: pa.Array, left_col: str, right_col: str, index: Any) -> None:
    """Refuse a ``tie`` value that is also an item shown: a label naming that item (its win) would
    be read as a tie, without a word."""
    import pyarrow.compute as pc

    try:
        value = pa.scalar(tie).cast(left.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return  # no item has the tie's type ("tie" beside integer items)
    shown = np.asarray(pc.or_(pc.equal(left, value), pc.equal(right, value)).fill_null(False), dtype=bool)
    if shown.any():
        rows = np.flatnonzero(shown)
        raise ValueError(
            f"tie={tie!r} is also an item: column {left_col!r} or {right_col!r} holds it in {rows.size} row(s) "
            f"({example_rows(rows, index)}), so a label naming that item (its win) would be read as a tie; "
            "pass as tie= a value that no item has (for example 'tie')"
        )
