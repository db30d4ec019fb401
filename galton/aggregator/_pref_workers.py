"""Standard errors of item scores with the worker parameters free (Crowd-BT, noisy Bradley-Terry).

The information of the item scores θ with each worker's parameters φ_w (Crowd-BT's reliability η_w,
noisy Bradley-Terry's logits q_w and γ_w) held at their estimates overstates what is known of θ:
scores and reliabilities trade off (a wider spread of θ with reliabilities nearer 1/2 explains the
comparisons almost as well). The information of θ with φ free is the Schur complement

    S = I_θθ - Σ_w I_θw I_ww^-1 I_wθ

of the joint (expected) Fisher information, whose worker blocks ``I_ww`` are small (m x m, m the
number of parameters per worker) and independent, so the sum runs worker by worker. Every
comparison is a Bernoulli outcome with probability ``P1(d, φ_w)``, ``d = θ_left - θ_right``: its
information is ``g g^T / (P1 (1 - P1))`` with ``g = (∂P1/∂d (e_left - e_right), ∂P1/∂φ_w)``.

Map-reduce. A shard returns ``I_ww`` (W x m x m, additive) and the cross terms ``I_wθ`` as sparse
entries (:class:`CrossTerms`, added across shards by concatenation: a worker's comparisons may lie
in several shards, and the correction needs each worker's totals). The driver then forms
``V_w = Λ_w^-1/2 Q_w^T I_wθ`` (``I_ww = Q Λ Q^T``) and subtracts ``V^T V`` — in blocks of workers
as dense products up to ``DENSE_SE_MAX`` items, or only its diagonal above.

Simulation (30 items, 50 workers, 3,000 comparisons, 20 seeds, reliabilities U(0.6, 0.95)): the
95% intervals of the centred scores covered 91.2% with φ fixed, 93.7% free (Crowd-BT); noisy
Bradley-Terry 91.0% -> 95.3% (10 seeds). Not fixed by this: on clean raters (η = 1, the edge of
the parameter space) the reliabilities' estimates sit below 1 and the scores' spread above the
truth (slope 1.5-1.8 at 60 comparisons per worker; the log-posterior is higher there than at the
truth, so this is the model's estimate, not a fit that stopped early): 61% -> 64% covered.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import EPS, sigmoid
from ._memory import FLOAT, current_limit

__all__ = ["CrossTerms", "key_totals",
           "worker_information", "schur_correction", "crowd_bt_terms", "noisy_bt_worker_terms",
           "correction_bytes", "batch_size"]

#: elements of one block of the dense correction (workers' rows x items): 16 MB of float64, at most
#: (:func:`batch_size` takes fewer under a low memory limit)
_BLOCK = 2_000_000
#: the fewest elements of a batch, whatever the limit
_MIN_BATCH = 65_536
#: bytes :func:`worker_information` holds per comparison and worker parameter (tracemalloc: 164-180)
INFO_BYTES = 180
#: bytes :func:`schur_correction` holds per sparse entry of ``V`` (``2 m^2`` per comparison;
#: tracemalloc: 83-110)
ENTRY_BYTES = 100
#: bytes :func:`_pairs_of_entries` holds per pair of entries in a batch (tracemalloc: about 46)
PAIR_BYTES = 48
#: a worker row with k entries goes through pairs of entries (k^2 of them) while k^2 * _LIGHT <= items^2
_LIGHT = 32


class CrossTerms:
    """Sparse entries ``(key, value)`` of the worker x item information, ``key = row * n + item``
    with ``row = worker * m + j``; ``+`` concatenates (the driver sums repeated keys once)."""

    def __init__(self, keys: np.ndarray, values: np.ndarray):
        self.keys, self.values = keys, values

    def __add__(self, other: "CrossTerms") -> "CrossTerms":
        return CrossTerms(np.concatenate([self.keys, other.keys]), np.concatenate([self.values, other.values]))

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        return key_totals(self.keys, self.values)


#: key spans up to this many times the number of keys are summed through one dense array (9 bytes a
#: key value, within :data:`INFO_BYTES`) instead of a sort: 1M comparisons, 10k items, 1,000 noisy BT
#: raters took 1.5 s in np.unique's sorts against 0.8 s for the whole fit to convergence
_DENSE_SPAN = 8


def key_totals(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``keys`` (non-negative int64), sorted, and the sum of ``values`` at each, added
    in input order (the same bits either way)."""
    span = int(keys.max()) + 1 if keys.size else 0
    if span > _DENSE_SPAN * keys.size:
        distinct, inverse = np.unique(keys, return_inverse=True)
        return distinct, np.bincount(inverse.ravel(), values, distinct.size)
    present = np.zeros(span, dtype=bool)
    present[keys] = True
    distinct = np.flatnonzero(present)
    return distinct, np.bincount(keys, values, span)[distinct]


def worker_information(left: np.ndarray, right: np.ndarray, worker: np.ndarray, n_items: int,
                       n_workers: int, d_item: np.ndarray, d_worker: np.ndarray,
                       weight: np.ndarray) -> dict[str, Any]:
    """One shard's worker blocks and cross terms.

    ``d_item``: ``∂P1/∂d`` per comparison; ``d_worker`` (rows x m): ``∂P1/∂φ_w``; ``weight``:
    ``1 / (P1 (1 - P1))``. The worker priors' curvature is the caller's (added once, to ``wJ``).
    """
    m = d_worker.shape[1]
    w = worker.astype(np.int64)
    blocks = np.empty((n_workers, m, m))
    for j in range(m):
        for k in range(j, m):
            blocks[:, j, k] = blocks[:, k, j] = np.bincount(w, weight * d_worker[:, j] * d_worker[:, k], n_workers)
    keys, values = [], []
    for j in range(m):
        row = (w * m + j) * n_items
        v = weight * d_item * d_worker[:, j]
        keys += [row + left, row + right]
        values += [v, -v]
    cross = CrossTerms(np.concatenate(keys), np.concatenate(values))
    k, v = cross.totals()  # one entry per (worker parameter, item) of this shard
    return {"wJ": blocks, "cross": CrossTerms(k, v)}


def schur_correction(info: dict[str, Any], n_items: int, dense: bool) -> np.ndarray:
    """``Σ_w I_θw I_ww^-1 I_wθ``: items x items (``dense``) or its diagonal."""
    blocks = info["wJ"]
    m = blocks.shape[1]
    lam, q = np.linalg.eigh(blocks)  # I_ww = Q Λ Q^T per worker
    keep = (lam > 0) & (lam > 1e-12 * lam.max(axis=1, keepdims=True))
    scale = np.where(keep, 1.0 / np.sqrt(np.where(keep, lam, 1.0)), 0.0)  # Λ^-1/2 (pseudo-inverse)
    keys, values = info["cross"].totals()
    row, item = np.divmod(keys, n_items)
    w, j = np.divmod(row, m)
    # V[(w, k), i] = Σ_j scale[w, k] Q[w, j, k] C[(w, j), i]
    vk = np.concatenate([(w * m + k) * n_items + item for k in range(m)])
    vv = np.concatenate([scale[w, k] * q[w, j, k] * values for k in range(m)])
    vkeys, tot = key_totals(vk, vv)  # sorted by row, then item
    if not dense:
        return np.bincount(vkeys % n_items, tot * tot, n_items)
    rows, items = np.divmod(vkeys, n_items)
    first, count = np.unique(rows, return_index=True, return_counts=True)[1:]
    row_of = np.repeat(np.arange(first.size), count)  # per entry, its row among the rows present
    heavy = (count * count * _LIGHT > n_items * n_items)[row_of]  # dense products beat pairs there
    out = _pairs_of_entries(items, tot, np.flatnonzero(~heavy), first[row_of], count[row_of], n_items)
    sel = np.flatnonzero(heavy)
    dense_row = np.unique(row_of[sel], return_inverse=True)[1].ravel()  # 0, 1, ... over heavy rows
    n_dense = int(dense_row[-1]) + 1 if sel.size else 0
    step = max(1, min(n_dense, batch_size() // max(n_items, 1)))
    for lo in range(0, n_dense, step):
        a, b = np.searchsorted(dense_row, [lo, lo + step])
        block = np.bincount((dense_row[a:b] - lo) * n_items + items[sel[a:b]], tot[sel[a:b]],
                            step * n_items).reshape(step, n_items)
        out += block.T @ block
    return out


def _pairs_of_entries(items: np.ndarray, values: np.ndarray, entries: np.ndarray, start: np.ndarray,
                      count: np.ndarray, n_items: int) -> np.ndarray:
    """``Σ_rows v v^T`` over sparse rows: each of ``entries`` (sorted) paired with every entry of its
    row (``start[e] .. start[e] + count[e]`` of ``items`` / ``values``), in batches of about
    :func:`batch_size` pairs."""
    out = np.zeros(n_items * n_items)
    batch = batch_size()
    c = count[entries]
    pairs = np.cumsum(c)
    lo = 0
    while lo < entries.size:
        hi = max(int(np.searchsorted(pairs, (pairs[lo - 1] if lo else 0) + batch, side="right")), lo + 1)
        e, k = entries[lo:hi], c[lo:hi]
        entry = np.repeat(e, k)
        other = np.repeat(start[e], k) + np.arange(entry.size) - np.repeat(np.cumsum(k) - k, k)
        out += np.bincount(items[entry] * n_items + items[other], values[entry] * values[other], out.size)
        lo = hi
    return out.reshape(n_items, n_items)


def batch_size() -> int:
    """Elements of one batch of the dense correction: ``_BLOCK``, or fewer so that a batch of pairs
    holds at most an eighth of the memory limit."""
    limit = current_limit()[0]
    if limit is None:
        return _BLOCK
    return int(min(_BLOCK, max(_MIN_BATCH, limit // (8 * PAIR_BYTES))))


def correction_bytes(n_items: int, n_workers: int, n_comparisons: int, m: int, dense: bool) -> int:
    """Bytes the worker terms add at their peak (:func:`worker_information` and
    :func:`schur_correction` run one after the other): ``m`` parameters per worker, ``dense`` the
    items x items correction (a batch of pairs of entries and a block of workers' rows x items)."""
    rows = max(int(n_workers) * m, 1)
    schur = ENTRY_BYTES * m * min(2 * m * int(n_comparisons), rows * int(n_items))  # entries of V, with repeats
    if dense:  # a row of V holds its worker's items, k of them: k^2 pairs while k^2 * _LIGHT <= items^2
        k = min(n_items, 2 * int(n_comparisons) / max(int(n_workers), 1))  # the typical worker's
        light = int(rows * k * k) if k * k * _LIGHT <= n_items * n_items else 0
        schur += PAIR_BYTES * min(batch_size(), light) + 2 * FLOAT * min(batch_size(), rows * n_items)
    return max(INFO_BYTES * m * int(n_comparisons), schur)


def crowd_bt_terms(theta: np.ndarray, eta: np.ndarray, left: np.ndarray, right: np.ndarray, worker: np.ndarray,
                   eta_prior: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """Crowd-BT, ``P1 = η σ(d) + (1 - η) σ(-d)``: ``∂P1/∂d = (2η - 1) σ(d) σ(-d)``, ``∂P1/∂η =
    2 σ(d) - 1``; the Beta(a, b) prior's curvature ``(a - 1) / η^2 + (b - 1) / (1 - η)^2``."""
    e = eta[worker]
    s = sigmoid(theta[left] - theta[right])
    p1 = e * s + (1 - e) * (1 - s)
    a, b = eta_prior
    curvature = (a - 1) / eta ** 2 + (b - 1) / (1 - eta) ** 2
    return (2 * e - 1) * s * (1 - s), (2 * s - 1)[:, None], 1 / np.maximum(p1 * (1 - p1), EPS), curvature[:, None]


def noisy_bt_worker_terms(theta: np.ndarray, q: np.ndarray, gamma: np.ndarray, left: np.ndarray,
                          right: np.ndarray, worker: np.ndarray, precision: float) -> tuple[np.ndarray, ...]:
    """Noisy Bradley-Terry, ``P1 = g σ(d) + (1 - g) b`` with ``g = σ(γ_w)``, ``b = σ(q_w)``: ``∂P1/∂d
    = g σ(d) σ(-d)``, ``∂P1/∂q = (1 - g) b (1 - b)``, ``∂P1/∂γ = g (1 - g) (σ(d) - b)``; the
    normal priors' curvature ``precision`` on both logits."""
    g, b = sigmoid(gamma[worker]), sigmoid(q[worker])
    s = sigmoid(theta[left] - theta[right])
    p1 = g * s + (1 - g) * b
    d_worker = np.stack([(1 - g) * b * (1 - b), g * (1 - g) * (s - b)], axis=1)
    return g * s * (1 - s), d_worker, 1 / np.maximum(p1 * (1 - p1), EPS), np.full((q.size, 2), precision)
