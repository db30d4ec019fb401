"""The observed (worker, label) pairs: the rows of the confusion models' tables.

A confusion model needs ``p(observed label | true class, worker)`` only for the labels each worker
actually gave: the E-step never reads another row. So the tables of ``ds``, ``one_coin_ds`` and
``bds`` hold one row of K true classes per observed pair (``P`` rows, ``P <= min(judgments,
workers x labels)``) instead of workers x labels x labels cells: 1,000 labels on 10k judgments take
a few MB where a dense table takes gigabytes. The cells of pairs a worker never gave are one value
per (worker, true class) or two (the diagonal and the rest): each model keeps them in a small
``fill`` array (workers x 2 x K) for the outputs that show whole matrices.

Layout (in a fit's ``memory``; all numpy arrays, so checkpoints keep them):

- ``pairs`` int64 (P,): ``worker * K + label`` of every observed pair, sorted (so grouped by worker);
- ``rows`` int32 (workers * K,): the pair's row, -1 for a pair never observed;
- ``wptr`` int64 (workers + 1,): worker w's pairs are ``pairs[wptr[w]:wptr[w + 1]]``.

A shard turns its judgments into pair rows once and keeps them (``Shard.state["_pc"]``, a cache
that is rebuilt on demand like ``_wl``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._jit import twin
from ._kernels import by_size, clamp_gold, code_counts, column_sums, estep_table, softmax_rows, take_rows

__all__ = ["pair_memory", "seen_stats", "fitted_workers", "new_data_pairs", "pair_codes", "per_worker_sum",
           "pair_workers", "pair_axes", "pair_labels", "dense_cells", "diagonal", "errors_output", "DENSE_ERRORS_MAX",
           "normalise_rows", "estep_coin_numpy", "estep_pairs", "pair_table", "COIN_KEYS",
           "pair_rows", "one_coin_fill", "log_fill", "right_stats"]

#: ``errors_`` shows whole workers x labels x labels matrices up to this many cells (160 MB);
#: beyond it, only the rows of the observed pairs (the others are the model's fill values)
DENSE_ERRORS_MAX = 20_000_000


def pair_memory(seen: np.ndarray, n_workers: int, n_labels: int) -> dict[str, np.ndarray]:
    """``pairs``, ``rows`` and ``wptr`` from the judgments per ``worker * K + label`` (``seen``)."""
    pairs = np.flatnonzero(np.asarray(seen) > 0).astype(np.int64)
    rows = np.full(int(n_workers) * int(n_labels), -1, dtype=np.int32)
    rows[pairs] = np.arange(pairs.size, dtype=np.int32)
    wptr = np.zeros(int(n_workers) + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs // max(int(n_labels), 1), minlength=int(n_workers)), out=wptr[1:])
    return {"pairs": pairs, "rows": rows, "wptr": wptr}


def seen_stats(shard: Any) -> dict[str, Any]:
    """Judgments per ``worker * K + label`` of one shard: which pairs occur (the tables' rows)."""
    return {"seen": code_counts(shard.wl, shard.n_workers * shard.n_labels)}


def fitted_workers(fitted: Any, new: Any, how: str) -> np.ndarray:
    """Each worker of the new judgments ``new``: its code in the fit's judgments ``fitted``, -1
    where the fit never saw it, said in a warning with ``how`` it is scored (a new worker is legal;
    all of them new, from ids typed otherwise than in the fit, gave the prior without a word)."""
    from .._warnings import caller_stacklevel, warn

    idx = fitted.worker_index(new.worker_names)
    unseen = np.flatnonzero(idx < 0)
    if unseen.size:
        shown = ", ".join(repr(v) for v in new.worker_names[unseen[:3]].tolist())
        warn(f"{unseen.size} of {idx.size} worker(s) of the new data were not in the fit "
             f"({shown}{', ...' if unseen.size > 3 else ''}): {how}", UserWarning,
             stacklevel=caller_stacklevel())
    return idx


def new_data_pairs(fitted: Any, new: Any, rows: np.ndarray) -> dict[str, Any]:
    """What scoring new judgments with a fitted pair-table model needs: ``engine`` (a local engine
    holding ``new``), ``memory`` (their pair layout, :func:`pair_memory`), and per new pair its
    label ``pl``, the fitted worker ``fw`` (-1: a worker the fit never saw) and the fitted table row
    ``row`` (-1: that worker unseen, or a label it never gave in the fit; ``rows`` the fit's)."""
    from ._engine import LocalEngine

    k = fitted.n_labels
    eng = LocalEngine()
    eng.load(new, None)
    memory = pair_memory(eng.map_sum(seen_stats)["seen"], new.n_workers, k)
    pw, pl = pair_workers(memory["pairs"], k), pair_labels(memory["pairs"], k)
    fw = fitted_workers(fitted, new, "their judgments carry no information")[pw].astype(np.int64)
    row = np.where(fw >= 0, rows[np.maximum(fw, 0) * k + pl], -1)
    return {"engine": eng, "memory": memory, "pl": pl, "fw": fw, "row": row}


def pair_codes(shard: Any, rows: np.ndarray) -> np.ndarray:
    """The table row of each of the shard's judgments (cached in ``shard.state["_pc"]``; the
    pairs are a function of the whole data, the same for every confusion model fitted on it)."""
    cached = shard.state.get("_pc")
    if cached is not None and cached[0] == rows.size and cached[1].size == shard.n_judgments:
        return cached[1]
    pc = take_rows(rows, shard.wl)
    if pc.size and pc.min() < 0:
        raise ValueError("a judgment's (worker, label) pair is missing from the fit's pairs")
    shard.state["_pc"] = (int(rows.size), pc)
    return pc


def pair_workers(pairs: np.ndarray, n_labels: int) -> np.ndarray:
    """The worker of each pair (P,)."""
    return pairs // n_labels


def pair_axes(memory: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Each observed pair's worker and label, fixed for a fit: computed once, kept in ``memory``."""
    if "pair_worker" not in memory:
        memory["pair_worker"] = pair_workers(memory["pairs"], memory["n_labels"])
        memory["pair_label"] = pair_labels(memory["pairs"], memory["n_labels"])
    return memory["pair_worker"], memory["pair_label"]


def pair_labels(pairs: np.ndarray, n_labels: int) -> np.ndarray:
    """The observed label of each pair (P,)."""
    return pairs % n_labels


def per_worker_sum(values: np.ndarray, wptr: np.ndarray) -> np.ndarray:
    """(W, ...) sums of ``values`` (P, ...) over each worker's pairs, added one row after the other
    in label order (the order of a sum over a dense table's label axis; 0 for a worker without pairs).
    Compiled from ``SMALL`` values on or once numba is imported (the same bits)."""
    return by_size(_per_worker_sum, np.asarray(values).size)(values, wptr)


def per_worker_sum_numpy(values: np.ndarray, wptr: np.ndarray) -> np.ndarray:
    """numpy reference of :func:`per_worker_sum` (one ``reduceat`` over the workers with pairs)."""
    n_w = wptr.size - 1
    out = np.zeros((n_w,) + values.shape[1:])
    has = np.flatnonzero(wptr[1:] > wptr[:-1])
    if has.size:
        out[has] = np.add.reduceat(values, wptr[:-1][has], axis=0)
    return out


def dense_cells(values: np.ndarray | None, fill: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """(W, K, K) ``[worker, observed, true]`` from the pair rows ``values`` (P, K) and ``fill``
    (W, 2, K): ``fill[w, 0]`` for the off-diagonal cells of unobserved pairs, ``fill[w, 1]`` for
    their diagonal cell. ``values`` None: the observed pairs' rows are the fill's too (one accuracy
    per worker, whose rows are the same for every label)."""
    w, _, k = fill.shape
    out = np.empty((w, k, k))
    out[:] = fill[:, :1, :]
    idx = np.arange(k)
    out[:, idx, idx] = fill[:, 1, :]
    if values is not None:
        out.reshape(w * k, k)[pairs] = values
    return out


def diagonal(values: np.ndarray | None, fill: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """(W, K): each worker's probability of answering k when the truth is k, from the pair rows
    ``values`` (P, K) and the unobserved pairs' ``fill`` (W, 2, K) (``values`` None: the fill's)."""
    k = fill.shape[2]
    if values is None:
        return fill[:, 1, :]  # no W x K copy of a broadcast fill
    diag = np.array(fill[:, 1, :])
    pl = pair_labels(pairs, k)
    diag[pair_workers(pairs, k), pl] = values[np.arange(pl.size), pl]
    return diag


def errors_output(out: Any, judgments: Any, values: np.ndarray | None, fill: np.ndarray, pairs: np.ndarray) -> Any:
    """A confusion model's ``errors_`` through the result builder ``out``: whole matrices up to
    ``DENSE_ERRORS_MAX`` cells, else only the observed pairs' rows (``values``; None: built from
    ``fill``, one accuracy per worker, so that a deferred ``errors_`` holds no pairs x K array)."""
    w, k = judgments.n_workers, judgments.n_labels
    if w * k * k <= DENSE_ERRORS_MAX:
        return out.errors(judgments.worker_names, judgments.label_names, dense_cells(values, fill, pairs))
    if values is None:
        values = pair_rows(fill[:, 0, 0], fill[:, 1, 0], pair_labels(pairs, k), pair_workers(pairs, k), k)
    return out.pair_errors(judgments.worker_names[pair_workers(pairs, k)], judgments.label_names[pair_labels(pairs, k)],
                           judgments.label_names, values)


_per_worker_sum = twin("per_worker_sum", per_worker_sum_numpy, "galton.aggregator._helpers_numba:per_worker_sum")


def normalise_rows_numpy(counts: np.ndarray, wptr: np.ndarray, pairs: np.ndarray, n_labels: int, alpha: float,
                         extra: np.ndarray | None, floor: float, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, denom)``: the pair rows ``counts`` (P, K) floored at ``floor`` and divided by their
    worker's column sums ``denom`` (W, K): the per-worker sums of the floored rows, plus ``alpha``
    for each label the worker never gave, plus ``extra`` (W, K) when given, at least ``eps``."""
    rows = np.maximum(counts, floor)
    denom = per_worker_sum(rows, wptr)
    if alpha:
        denom += alpha * (n_labels - np.diff(wptr))[:, None]
    if extra is not None:
        denom += extra
    denom = np.maximum(denom, eps)
    rows /= denom[pair_workers(pairs, n_labels)]
    return rows, denom


#: the M-step of the confusion models: numpy reference, one compiled pass (the same operations in
#: the same order: the same bits; 81 -> ~10 us an M-step at 4,000 pairs x 4 labels)
_normalise_rows = twin("normalise_rows", normalise_rows_numpy, "galton.aggregator._helpers_numba:normalise_rows")


def normalise_rows(counts: np.ndarray, wptr: np.ndarray, pairs: np.ndarray, n_labels: int, alpha: float,
                   extra: np.ndarray | None, floor: float, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """See :func:`normalise_rows_numpy` (compiled from ``SMALL`` values on or once numba is imported)."""
    return by_size(_normalise_rows, counts.size)(counts, wptr, pairs, n_labels, alpha, extra, floor, eps)


# ------------------------------------------------------------ one accuracy per worker
def pair_rows(off: np.ndarray, diag: np.ndarray, pl: np.ndarray, pw: np.ndarray, k: int) -> np.ndarray:
    """(P, K) rows of the observed pairs from per-worker values: ``off[w]`` in every cell, ``diag[w]``
    in the cell of the pair's own label (the E-step table, the results' mean confusion rows)."""
    rows = np.empty((pl.size, k))
    rows[:] = off[pw][:, None]
    rows[np.arange(pl.size), pl] = diag[pw]
    return rows


def one_coin_fill(off: np.ndarray, diag: np.ndarray, k: int) -> np.ndarray:
    """(W, 2, K) ``fill`` of one-accuracy workers: ``off[w]`` off the diagonal, ``diag[w]`` on it; a
    read-only broadcast view of W x 2 values (1,000 labels and 63k workers: 1 GB each as a copy, held
    by the fitted model)."""
    return np.broadcast_to(np.stack([off, diag], axis=1)[:, :, None], (off.size, 2, k))


def log_fill(fill: np.ndarray) -> np.ndarray:
    """``np.log(fill)``, kept a broadcast view where ``fill`` is one (:func:`one_coin_fill`)."""
    if fill.ndim == 3 and fill.shape[2] > 1 and fill.strides[2] == 0:
        return np.broadcast_to(np.log(fill[:, :, :1]), fill.shape)
    return np.log(fill)


def right_stats(shard: Any, rows: np.ndarray, n_pairs: int, post: np.ndarray) -> dict[str, Any]:
    """One shard's statistics from its task posteriors ``post`` (gold rows one-hot): ``right`` (P,),
    each observed pair's expected right answers ``sum_j q_t(y_j)``, ``class_counts`` (K,) and
    ``judged`` (K,), the posteriors summed once per judgment (``sum_j q_t``: the expected counts'
    column sums, which crowd-kit's ELBO weighs the class prior with)."""
    got = post[shard.task, shard.label] if shard.n_judgments else np.zeros(0)
    empty = post.shape[0] == 0
    return {"right": np.bincount(pair_codes(shard, rows), weights=got, minlength=n_pairs),
            "class_counts": np.zeros(post.shape[1]) if empty else column_sums(post),
            "judged": np.zeros(post.shape[1]) if empty else np.einsum("t,tk->k", np.diff(shard.indptr), post)}


def estep_coin_numpy(indptr: np.ndarray, pc: np.ndarray, on: np.ndarray, off: np.ndarray, label: np.ndarray,
                     logprior: np.ndarray, gold: np.ndarray) -> tuple[float, np.ndarray]:
    """The E-step of one accuracy per worker without a table: ``(ll, post)`` of the tasks of a CSR
    shard whose judgments are the pairs ``pc``; pair ``p`` of label ``label[p]`` adds ``on[p]`` to
    that label's score and ``off[p]`` to every other (a table row ``off`` with ``on`` in one cell).
    A task's scores are the log prior plus its judgments' ``off`` plus, at each label given, the
    ``on - off`` of the judgments that gave it: judgments + tasks x K work instead of judgments x K
    (1,000 labels: the table alone was 85M cells, written again every iteration). ``ll`` as in
    :func:`galton.aggregator._kernels.estep_table` (the joint with gold where known)."""
    n_t = indptr.size - 1
    task = np.repeat(np.arange(n_t), np.diff(indptr))
    logq = logprior + np.bincount(task, weights=off[pc], minlength=n_t)[:, None]
    np.add.at(logq, (task, label[pc]), on[pc] - off[pc])
    post, lse = softmax_rows(logq)
    clamp_gold(logq, post, lse, gold)
    return float(lse.sum()), post


_estep_coin = twin("estep_coin", estep_coin_numpy, "galton.aggregator._helpers_numba:estep_coin")


def estep_pairs(shard: Any, params: dict[str, Any], want_post: bool = True,
                want_counts: bool = True) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """A confusion model's E-step on one shard: :func:`galton.aggregator._kernels.estep_table` with
    the parameters' table, or for one accuracy per worker (``coin_on`` / ``coin_off`` /
    ``coin_label`` per pair) :func:`estep_coin_numpy`, which gives posteriors only (no counts: the
    statistics are then the right answers, :func:`right_stats`)."""
    pc = pair_codes(shard, params["rows"])
    if "coin_on" not in params:
        return estep_table(shard.indptr, shard.task, pc, params["table"], params["logprior"], shard.gold, want_post,
                           want_counts)
    ll, post = _estep_coin(shard.indptr, pc, params["coin_on"], params["coin_off"], params["coin_label"],
                           np.ascontiguousarray(params["logprior"], dtype=np.float64), shard.gold)
    return ll, post, np.zeros((0, post.shape[1])), np.zeros(post.shape[1])


#: the parameters one accuracy per worker's table rows are built from (:func:`pair_table`)
COIN_KEYS = ("coin_on", "coin_off", "coin_label", "logprior")


def pair_table(params: dict[str, Any], at: np.ndarray | None = None) -> np.ndarray:
    """Rows ``at`` (all by default) of the (P, K) table of log p(observed | true) of the observed
    pairs: the parameters' own, or built from one accuracy per worker's per-pair values (only the
    rows asked for: the single-judgment passes after the fit, calibration and new data)."""
    if "coin_on" not in params:
        return params["table"] if at is None else params["table"][at]
    at = np.arange(params["coin_on"].size) if at is None else at
    return pair_rows(params["coin_off"], params["coin_on"], params["coin_label"][at], at, params["logprior"].size)
