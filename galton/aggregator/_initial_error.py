"""DawidSkene's ``initial_error`` (a warm start): crowd-kit's error frame (pandas, indexed by
``worker`` and ``label``, a column per true label: a pandas fit's ``errors_``), galton's long
``errors_`` table (columns ``worker``, ``label``, ``true_label``, ``probability``: a polars or Arrow
fit's, pandas too) or a (n_workers, K, K) array; anything else is refused naming what it needs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._warnings import warn
from ..data._encode import object_array
from ..data._validate import examples
from ..judgments import Judgments
from ._base import caller_stacklevel

__all__ = ["ErrorGrid", "LONG_ERRORS", "assigned_errors", "initial_error_array", "initial_error_frame"]

#: the columns of galton's long ``errors_`` table (polars / Arrow fits)
LONG_ERRORS = ("worker", "label", "true_label", "probability")


def initial_error_frame(init: Any) -> Any:
    """``init`` as crowd-kit's error frame (pandas, a (worker, label) index, a column per true label)
    or a numpy array: a long ``errors_`` table (pandas, polars, Arrow) pivoted into an
    :class:`ErrorGrid` (pandas is not needed for a polars or Arrow fit's own table); raises for anything
    else, saying what it is and what initial_error must be (crowd-kit: "The index of initial_error
    must be: ['worker', 'label']"; galton's own polars errors_ and a flat frame met an AttributeError)."""
    if init is None or isinstance(init, np.ndarray):
        return init
    if type(init).__module__.split(".")[0] == "pandas" and getattr(init, "ndim", 0) == 2:
        if init.index.nlevels == 2:
            return init
        columns = [str(c) for c in init.columns]
        if set(LONG_ERRORS) <= set(columns):
            return _pivot(*(init[c].tolist() for c in LONG_ERRORS))
        got = f"a pandas frame indexed by {list(init.index.names)} with columns {columns[:8]}"
        if {"worker", "label"} <= set(columns):  # errors_.reset_index()
            got += " (a flat errors_ frame: .set_index(['worker', 'label']) makes it crowd-kit's)"
    elif hasattr(init, "__arrow_c_stream__") or hasattr(init, "to_arrow"):
        import pyarrow as pa

        table = init.to_arrow() if hasattr(init, "to_arrow") else pa.table(init)
        if set(LONG_ERRORS) <= set(table.column_names):  # no pandas: it is an optional extra
            return _pivot(*(table.column(c).to_pylist() for c in LONG_ERRORS))
        got = f"a {type(init).__name__} with columns {table.column_names[:8]}"
    else:
        got = f"a {type(init).__name__}"
    raise ValueError(
        f"The index of initial_error must be: ['worker', 'label'] (crowd-kit's error frame, a pandas fit's "
        f"errors_: a column per true label), or initial_error must be galton's long errors_ table (columns "
        f"{list(LONG_ERRORS)}: a polars or Arrow fit's errors_) or an array of shape (n_workers, K, K); "
        f"got {got}")


@dataclass(frozen=True)
class ErrorGrid:
    """A long errors table pivoted as crowd-kit's error frame, without pandas: ``index`` the (worker,
    label) pairs, ``columns`` the true labels, ``values[row, column]`` (NaN where no row gives it)."""

    index: list[tuple[Any, Any]]
    columns: list[Any]
    values: np.ndarray

    def to_numpy(self, dtype: Any = None) -> np.ndarray:
        return self.values if dtype is None else self.values.astype(dtype)


def _pivot(workers: list, labels: list, trues: list, probabilities: list) -> ErrorGrid:
    """A long errors table (its columns :data:`LONG_ERRORS` as lists) as crowd-kit's frame: one row
    per (worker, label), a column per true label (sorted where they have an order, as pandas'
    ``unstack`` gave them); raises naming the cells given twice."""
    cells = list(zip(workers, labels, trues))
    seen = Counter(cells)
    if len(seen) < len(cells):
        twice = np.asarray([seen[c] > 1 for c in cells])
        shown = object_array([c for c, more in zip(cells, twice) if more])
        raise ValueError(f"initial_error gives {int(twice.sum())} rows for cells (worker, label, true_label) listed "
                         f"more than once ({examples(shown)}); give each cell once, as errors_ holds them")
    rows = list(dict.fromkeys(zip(workers, labels)))
    columns = list(dict.fromkeys(trues))
    try:
        columns = sorted(columns)
    except TypeError:  # labels of mixed types: as they come
        pass
    row_of = {r: i for i, r in enumerate(rows)}
    col_of = {c: i for i, c in enumerate(columns)}
    values = np.full((len(rows), len(columns)), np.nan)
    for (worker, label, true), p in zip(cells, probabilities):
        values[row_of[(worker, label)], col_of[true]] = np.nan if p is None else p
    return ErrorGrid(rows, columns, values)


def initial_error_array(init: Any, judgments: Judgments) -> tuple[np.ndarray, np.ndarray]:
    """(W, K, K) array [worker, observed, true] from :func:`initial_error_frame`'s frame or a numpy
    array, NaN where a worker has no matrix (0 in the rows a worker's frame does not list), and which
    (worker, observed label) rows the frame lists (W, K) (an array: all of them)."""
    w, k = judgments.n_workers, judgments.n_labels
    if isinstance(init, np.ndarray):
        if init.shape != (w, k, k):
            raise ValueError(f"initial_error array must have shape (n_workers, K, K) = {(w, k, k)}")
        return init.astype(float), np.ones((w, k), dtype=bool)
    out = np.full((w, k, k), np.nan)
    listed = np.zeros((w, k), dtype=bool)
    df = init
    workers = judgments.worker_names.tolist()
    labels = judgments.label_names.tolist()
    widx = {x: i for i, x in enumerate(workers)}
    lidx = {x: i for i, x in enumerate(labels)}
    cols = np.array([lidx.get(c, -1) for c in df.columns], dtype=np.int64)
    known = cols >= 0
    if not known.any():
        raise ValueError(f"initial_error columns {list(df.columns)[:10]} must be labels from {labels[:10]}")
    other = [c for c, ok in zip(df.columns, known) if not ok]
    stray = sorted({obs for _, obs in df.index if obs not in lidx}, key=str)
    if other or stray:  # crowd-kit ignores them too; say so
        warn(
            f"initial_error has {len(other)} column(s) and {len(stray)} observed label(s) that are not "
            f"labels of the data, ignored: {(other + stray)[:5]}; the labels are {labels[:10]}",
            UserWarning, stacklevel=caller_stacklevel())
    values = df.to_numpy(dtype=float)[:, known]
    cols = cols[known]
    for (worker, obs), row in zip(df.index, values):
        if worker not in widx or obs not in lidx:
            continue
        wi = widx[worker]
        if np.isnan(out[wi]).all():
            out[wi] = 0.0
        out[wi, lidx[obs], cols] = row
        listed[wi, lidx[obs]] = True
    return out, listed


#: a column whose listed cells sum to 1 up to this leaves no mass to its unlisted cells (rounding)
ROUNDING = 1e-12


def assigned_errors(arr: np.ndarray, listed: np.ndarray, worker_names: np.ndarray) -> np.ndarray:
    """The matrices of ``initial_error_strategy="assign"`` (``arr`` and ``listed`` from
    :func:`initial_error_array`): counts as they are; probabilities (every value <= 1) checked, each
    worker's column for each true label summing to 1 (crowd-kit's rule) where its frame lists every
    label, and to at most 1 where it lists some: crowd-kit's layout of ``errors_`` (a pandas fit's) lists
    the observed (worker, label) pairs only, and under one-coin or ``alpha > 0`` the others hold the
    rest of each column, which they get back, spread evenly (as the fit spread it); a pandas fit's own
    ``errors_`` was refused where its polars ``errors_`` was taken."""
    arr = arr.copy()
    if not (arr <= 1.0).all():
        return arr
    sums = arr.sum(axis=1)  # per (worker, true label): the column of observed labels
    full = listed.all(axis=1)
    ok = np.where(full[:, None], np.isclose(sums, 1.0), (sums <= 1.0) | np.isclose(sums, 1.0))
    if not ok.all():
        bad = worker_names[~ok.all(axis=1)][:5].tolist()
        raise ValueError(
            "The sum of each worker's error matrix in initial_error should be 1.0 (crowd-kit's rule): it holds "
            "probabilities (every value <= 1), so each worker's column for each true label must sum to 1; "
            f"workers {bad} do not (a worker whose (worker, label) rows the frame lists only some of, as a pandas "
            "fit's errors_ lists the observed ones: to at most 1, the rows left out taking the rest). Give "
            "counts, or fix those matrices")
    rest = np.where(full[:, None] | (1.0 - sums <= ROUNDING), 0.0, 1.0 - sums)
    unlisted = ~listed
    arr += unlisted[:, :, None] * (rest / np.maximum(unlisted.sum(axis=1), 1)[:, None])[:, None, :]
    return arr
