"""Best-of-n choices (``worker, options, choice``) and rankings (``worker, ranking``, or ``worker,
options, ranking`` for the top k of the options), encoded once as choice events in CSR layout,
validated once, read-only.

- :class:`Choices` — best-of-n (``worker, options, choice``, ``options`` a list column), full
  rankings (``worker, ranking``, a list column ordered best first) or top-k rankings (``worker,
  options, ranking``: the ranking names k of the options, best first). Stored as *choice events* in
  CSR layout: event ``e`` offers the items ``items[ptr[e]:ptr[e + 1]]`` and ``chosen[e]`` was
  picked. A ranking ``r0 > r1 > ... > r_{m-1}`` is the ``m - 1`` events "``r_k`` chosen from
  ``{r_k, ..., r_{m-1}}``"; a ranking of k of m options the ``min(k, m - 1)`` events "``r_j``
  chosen from the options but ``r_0 ... r_{j-1}``".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from ..io._read import check_columns, frame_kind, to_arrow
from ._base import EncodedData
from ._encode import encode_column, plain_column, readonly
from ._items import cast_choices, cast_like, has_worker, workers_of
from ._validate import (check_on_invalid, distinct_roles, example_rows, fmt_value, missing_columns, null_mask, one_row,
                        raise_nulls, row_index, file_rows, encoded_options)
from .comparisons import Comparisons

__all__ = ["Choices"]

OnInvalid = Literal["raise", "drop"]


@dataclass(frozen=True, eq=False)
class Choices(EncodedData):
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
        of items ordered best first) for rankings. Beside ``options``, a ranking names k of the
        options (each once): it is read as k successive choices, each from the options not ranked
        yet (the Plackett-Luce top-k likelihood), so the options it leaves out rank below every item
        it names, and appear in the results even when no row ranks them; an item outside the row's
        options is refused, as a choice outside them is. A :class:`Comparisons` object (without
        ties) is accepted too: each comparison is a choice out of two.
        """
        if isinstance(data, Choices):  # encoded already: reading options are refused, not ignored
            encoded_options("Choices", (
                ("worker_col", worker_col, "worker"), ("options_col", options_col, "options"),
                ("choice_col", choice_col, "choice"), ("ranking_col", ranking_col, "ranking"),
                ("on_invalid", on_invalid, "raise")))
            return data
        if isinstance(data, Comparisons):
            return cls.from_comparisons(data)
        check_on_invalid(on_invalid)
        distinct_roles((("worker_col", worker_col), ("options_col", options_col), ("choice_col", choice_col),
                        ("ranking_col", ranking_col)))
        kind = frame_kind(data)
        index = row_index(data)  # a pandas frame's own index names the bad rows
        frame_cols = (None if isinstance(data, (str, os.PathLike))
                      else (worker_col, options_col, choice_col, ranking_col))
        table = to_arrow(data, ids=(worker_col or "worker", choice_col),
                         columns=frame_cols)  # a frame's other columns are not converted (files: read whole)
        index = file_rows(table) if index is None else index  # several files: by file and row
        table = check_columns(table, [c for c in (worker_col, choice_col) if c is not None])
        wcol = has_worker(table, worker_col, "worker", (options_col, choice_col, ranking_col))
        ranked = None  # options with a ranking of some of them (top-k): the ranking's column
        if choice_col in table.column_names or ranking_col not in table.column_names:
            layout, list_col = "choice", options_col
            missing_columns(table, [options_col, choice_col],
                             f"Best-of-n needs {options_col!r} (a list of the items shown) and "
                             f"{choice_col!r} (the chosen item); rankings need {ranking_col!r} (a list, "
                             "best first). Name them with options_col=, choice_col=, ranking_col=")
        elif options_col in table.column_names:
            layout, list_col, ranked = "ranking", options_col, ranking_col
        else:
            layout, list_col = "ranking", ranking_col
        cols = [c for c in (wcol, list_col, choice_col if layout == "choice" else ranked) if c is not None]
        table = table.select(cols)
        n = table.num_rows
        if n == 0:
            raise ValueError(f"the input holds no {'choices' if layout == 'choice' else 'rankings'} (0 rows)")
        values, lengths, offsets, row_of, bad_el = _flat_list(table, list_col)
        bad = null_mask(table.column(list_col))
        if wcol is not None:
            bad |= null_mask(table.column(wcol))
        if layout == "choice":
            bad |= null_mask(table.column(choice_col))
        lists = [(list_col, bad_el)]
        if ranked is not None:
            rvalues, rlengths, roffsets, rrow_of, rbad_el = _flat_list(table, ranked)
            bad |= null_mask(table.column(ranked))
            lists.append((ranked, rbad_el))
        if on_invalid == "raise":
            raise_nulls(table, cols, index)
            for col, rows_el in lists:
                if rows_el.any():
                    rows = np.flatnonzero(rows_el)
                    raise ValueError(f"column {col!r} has {rows.size} list(s) with a null item ("
                                     f"{example_rows(rows, index)}); remove the nulls or pass on_invalid='drop'")
        for _, rows_el in lists:
            bad |= rows_el
        short = (lengths < 2) & ~bad
        choice, odd = None, np.zeros(n, dtype=bool)
        if layout == "choice":  # a choice that is no item id (2.5 beside integer items): not among the options
            choice, odd = cast_choices(plain_column(table.column(choice_col)), values.type, choice_col, list_col,
                                       [list_col], (list_col,))
        fill = values.drop_null()
        if len(fill) == 0:
            raise ValueError(f"column {list_col!r} holds no items; nothing is left to aggregate")
        parts = [values.fill_null(fill[0])]
        if choice is not None:
            parts.append(choice.fill_null(fill[0]))
        if ranked is not None:
            parts.append(cast_like(rvalues, values.type, ranked, list_col, lists=(ranked, list_col)).fill_null(fill[0]))
        codes, vocab = encode_column(pa.concat_arrays(parts))
        vcodes = codes[: len(values)]
        width = vocab.size + 1  # row * width + code: one key per (row, item)
        dup = _repeated(row_of, vcodes, width, n) & ~bad
        not_in, unranked = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        ccodes = None
        if choice is not None:
            ccodes = codes[len(values):]
            hit = np.zeros(n, dtype=bool)
            hit[row_of[vcodes == ccodes[row_of]]] = True
            not_in = (~hit | odd) & ~bad
        if ranked is not None:  # every ranked item one of the row's options, each once, at least one
            rcodes = codes[len(values):]
            outside = ~np.isin(rrow_of * width + rcodes, row_of * width + vcodes)
            not_in[rrow_of[outside]] = True
            not_in &= ~bad
            dup |= _repeated(rrow_of, rcodes, width, n) & ~bad
            unranked = (rlengths == 0) & ~bad
        if on_invalid == "raise":
            if short.any():
                rows = np.flatnonzero(short)
                raise ValueError(f"column {list_col!r} has {rows.size} list(s) with fewer than 2 items "
                                 f"({example_rows(rows, index)}); a choice needs at least two options. Remove "
                                 "those rows or pass on_invalid='drop'")
            if dup.any():
                rows = np.flatnonzero(dup)
                said = f"column {list_col!r}" if ranked is None else f"column {list_col!r} or {ranked!r}"
                raise ValueError(f"{said} has {rows.size} list(s) that name an item twice "
                                 f"({example_rows(rows, index)}); list each item once or pass on_invalid='drop'")
            if unranked.any():
                rows = np.flatnonzero(unranked)
                raise ValueError(f"column {ranked!r} has {rows.size} empty ranking(s) ({example_rows(rows, index)}); "
                                 "a ranking names at least the first choice. Remove those rows or pass "
                                 "on_invalid='drop'")
            if not_in.any():
                rows = np.flatnonzero(not_in)
                r0 = rows[0]
                shown = [fmt_value(v).strip(chr(39)) for v in vocab[vcodes[offsets[r0]:offsets[r0 + 1]]]]
                if ranked is None:
                    col, what, value = choice_col, "choice(s) that are", table.column(choice_col)[r0].as_py()
                else:
                    col, what = ranked, "ranking(s) that name an item"
                    value = vocab[rcodes[np.flatnonzero(outside & (rrow_of == r0))[0]]]
                raise ValueError(
                    f"column {col!r} has {rows.size} {what} not among the row's "
                    f"{options_col!r} ({example_rows(rows, index)}; {one_row(r0, index)}: "
                    f"{fmt_value(value)} not in {shown}); fix those rows or pass on_invalid='drop'"
                )
        keep = ~(bad | short | dup | not_in | unranked)
        if not keep.any():
            raise ValueError("every row is invalid (null, fewer than 2 options, a repeated option or a "
                             "choice outside the options); nothing is left to aggregate")
        rows = np.flatnonzero(keep)
        w_codes, w_names = workers_of(table, wcol, keep)
        if layout == "choice":
            sizes = lengths[rows]
            ptr = np.zeros(rows.size + 1, dtype=np.int64)
            np.cumsum(sizes, out=ptr[1:])
            flat = np.repeat(offsets[rows] - ptr[:-1], sizes) + np.arange(ptr[-1])
            items, chosen, ev_row, ev_w = vcodes[flat], ccodes[rows], rows, w_codes
        else:  # a ranking of k of m items: k choices (m - 1 when k = m), each from the items not ranked yet
            if ranked is None:
                m, events = lengths[rows], lengths[rows] - 1
            else:
                vcodes = _ranked_first(vcodes, row_of, offsets, rcodes, rrow_of, roffsets, keep, width)
                m, events = lengths[rows], np.minimum(rlengths[rows], lengths[rows] - 1)
            ev_row_k = np.repeat(np.arange(rows.size), events)
            start = np.zeros(rows.size + 1, dtype=np.int64)
            np.cumsum(events, out=start[1:])
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
                f"{ties.size} comparison(s) are ties ({example_rows(ties)}); Plackett-Luce has no ties: "
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
    def event_of(self) -> np.ndarray:
        """Event index of each entry of ``items``."""
        return np.repeat(np.arange(self.n_events, dtype=np.int64), np.diff(self.ptr))

    def __repr__(self) -> str:
        return (f"Choices({self.n_events} choice events ({self.layout}), {self.n_items} items, "
                f"{self.n_workers} workers)")


def _flat_list(table: pa.Table, col: str) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The list column ``col`` flattened: (its items, each row's length, the rows' offsets, the row
    of each item, the rows that hold a null item); a column of anything but lists is refused."""
    import pyarrow.compute as pc  # on first use: 30 ms not spent at import galton

    lists = plain_column(table.column(col))
    if not (pa.types.is_list(lists.type) or pa.types.is_large_list(lists.type)
            or pa.types.is_fixed_size_list(lists.type)):
        raise ValueError(
            f"column {col!r} must hold lists of items (a list column: Parquet or JSON lines, CSV has "
            f"none), not {lists.type}; "
            "for pairwise data use Comparisons / BradleyTerry with left, right, label columns"
        )
    if pa.types.is_fixed_size_list(lists.type) or pa.types.is_large_list(lists.type):
        lists = lists.cast(pa.list_(lists.type.value_type))
    n = len(lists)
    lengths = np.asarray(pc.list_value_length(lists).fill_null(0), dtype=np.int64)
    values = plain_column(pc.list_flatten(lists))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    row_of = np.repeat(np.arange(n), lengths)
    null_el = null_mask(pa.chunked_array([values])) if len(values) else np.zeros(0, dtype=bool)
    bad_el = np.zeros(n, dtype=bool)
    bad_el[row_of[null_el]] = True
    return values, lengths, offsets, row_of, bad_el


def _repeated(row_of: np.ndarray, codes: np.ndarray, width: int, n: int) -> np.ndarray:
    """Rows (of ``n``) whose list names an item twice (``codes`` below ``width``): those with an entry
    whose (row, item) pair an earlier entry has, found in linear time (a sort of the 800k keys took
    41 ms of a Plackett-Luce fit on 200k choices)."""
    from ..aggregator._kernels import repeat_rows  # the aggregator's kernels import this package

    out = np.zeros(n, dtype=bool)
    out[row_of[repeat_rows(row_of, codes, n, width)]] = True
    return out


def _ranked_first(vcodes: np.ndarray, row_of: np.ndarray, offsets: np.ndarray, rcodes: np.ndarray,
                  rrow_of: np.ndarray, roffsets: np.ndarray, keep: np.ndarray, width: int) -> np.ndarray:
    """The options of each kept row reordered: the items of its ranking (best first), then the
    options it leaves unranked, in their own order (the rows not kept as they are). The ranking's
    events then read as a full ranking's: item ``k`` chosen from the items from ``k`` on."""
    okey, rkey = row_of * width + vcodes, rrow_of * width + rcodes
    order = np.argsort(rkey, kind="stable")
    sk = rkey[order]
    own = np.arange(vcodes.size) - offsets[row_of]  # each option's place in its own list
    if sk.size:
        at = np.minimum(np.searchsorted(sk, okey), sk.size - 1)
        ranked = sk[at] == okey
        rank = (np.arange(rkey.size) - roffsets[rrow_of])[order][at]
    else:
        ranked, rank = np.zeros(vcodes.size, dtype=bool), own
    left_out = np.concatenate([[0], np.cumsum(~ranked)])  # unranked options before each entry
    place = np.where(ranked, rank, np.diff(roffsets)[row_of] + left_out[:-1] - left_out[offsets[row_of]])
    place = np.where(keep[row_of], place, own)
    out = np.empty_like(vcodes)
    out[offsets[row_of] + place] = vcodes
    return out
