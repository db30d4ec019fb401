"""Pairwise data in :func:`galton.allocate`: the pairs of items (and raters) to compare next.

Candidate pairs are the items at most ``window`` places apart in the current ranking. With ``d``
the difference of the pair's log-scores and ``s`` its standard error (``D ~ N(d, s^2)``):

- ``"uniform"``: fewest comparisons of the pair first;
- ``"uncertainty"``: the probability that the current order of the pair is wrong, ``Phi(-|d| / s)``;
- ``"eig"``: the expected information gain in bits about ``D`` from one comparison,
  ``h(E p(D)) - E h(p(D))`` (Gauss-Hermite, 24 nodes), with ``p(D)`` the probability that the rater
  says "left".

A rater answers "left" with probability ``p(D) = a sigma(D) + b``: plain Bradley-Terry (and every
model without per-worker parameters) ``a = 1, b = 0`` (every rater the same); Crowd-BT with
reliability ``eta``: ``a = 2 eta - 1, b = 1 - eta``; noisy Bradley-Terry with skill ``g`` and bias
``q`` (``skills_``, ``biases_``): ``a = g, b = (1 - g) q``. Without ``workers`` the rows are pairs
scored for a perfect rater (``a = 1, b = 0``).

With ``workers`` the rows are (left, right, worker): every candidate pair with every available
rater, scored for that rater ("eig": that rater's EIG; "uncertainty" and "uniform": the pair's
score, then that rater's EIG), never a rater on a pair it already compared (either order), at most
``per_task`` rows per pair and ``per_worker`` per rater. Raters of equal gain on a pair (plain
Bradley-Terry: all of them) are taken least-loaded first, so the pairs spread evenly over them;
then by a seeded hash of the rater id.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ._math import entropy_bits, sigmoid, splitmix64

__all__ = ["pair_eig", "rater_response", "pairwise_rows"]


def pair_eig(d: np.ndarray, s: np.ndarray, a: float | np.ndarray = 1.0, b: float | np.ndarray = 0.0) -> np.ndarray:
    """EIG in bits about ``D ~ N(d, s^2)`` of one answer "left" with probability ``a sigma(D) + b``
    (broadcast over ``d``, ``s``, ``a``, ``b``)."""
    nodes, wts = np.polynomial.hermite_e.hermegauss(24)
    wts = wts / wts.sum()
    d, s, a, b = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (d, s, a, b)))
    p = a[..., None] * sigmoid(d[..., None] + s[..., None] * nodes) + b[..., None]
    h = entropy_bits(np.stack([p, 1.0 - p], axis=-1), axis=-1)
    pbar = p @ wts
    return np.maximum(entropy_bits(np.stack([pbar, 1.0 - pbar], axis=-1), axis=-1) - h @ wts, 0.0)


def rater_response(model: Any, worker_names: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(a, b)`` per worker of ``worker_names`` (``p(says left) = a sigma(D) + b``) from the fitted
    model's per-worker parameters; None when it has none (every rater the same)."""
    from .aggregator.worker_report_items import per_worker_values

    if getattr(model, "reliability_", None) is not None and hasattr(model, "eta_prior"):  # Crowd-BT
        eta = per_worker_values(model.reliability_, worker_names, "skill")
        return 2.0 * eta - 1.0, 1.0 - eta
    if getattr(model, "skills_", None) is not None and getattr(model, "biases_", None) is not None:  # noisy BT
        g = per_worker_values(model.skills_, worker_names, "skill")
        q = per_worker_values(model.biases_, worker_names, "bias")
        return g, (1.0 - g) * q
    return None


def _candidates(model: Any, window: int, seed: int) -> dict[str, np.ndarray]:
    from .allocate import id_hash

    comp = model.comparisons_
    theta = np.asarray(model.scores_values_, dtype=np.float64)
    se = getattr(model, "se_values_", None)
    se = np.zeros_like(theta) if se is None else np.asarray(se, dtype=np.float64)
    n = theta.size
    if n < 2:
        raise ValueError("pairwise data with fewer than 2 items: nothing to compare")
    rank = np.lexsort((np.arange(n), -theta))  # items, best first
    gaps = range(1, min(window, n - 1) + 1)
    left = np.concatenate([rank[:-g] for g in gaps])  # left ranked above right
    right = np.concatenate([rank[g:] for g in gaps])
    pa_, pb_, pn, _, _ = comp.pairs()
    key = np.minimum(left, right).astype(np.int64) * n + np.maximum(left, right)
    seen = dict(zip((pa_.astype(np.int64) * n + pb_).tolist(), pn.tolist()))
    lo, hi = comp.item_names[np.minimum(left, right)], comp.item_names[np.maximum(left, right)]
    return {"left": left, "right": right, "key": key, "n": np.int64(n),
            "counts": np.array([seen.get(x, 0) for x in key.tolist()], dtype=np.int64),
            "d": theta[left] - theta[right], "s": np.sqrt(se[left] ** 2 + se[right] ** 2),
            "hash": splitmix64(id_hash(lo, seed) ^ id_hash(hi, seed + 1))}


def _pair_score(c: dict[str, np.ndarray], strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return -c["counts"].astype(np.float64)
    if strategy == "uncertainty":
        return np.array([0.5 * math.erfc(abs(x) / (y * math.sqrt(2.0))) if y > 0 else 0.0
                         for x, y in zip(c["d"].tolist(), c["s"].tolist())])
    return pair_eig(c["d"], c["s"])


def pairwise_rows(model: Any, budget: int, strategy: str, per_task: int, window: int, seed: int,
                  workers: Sequence[Any] | None = None, per_worker: int | None = None
                  ) -> tuple[dict[str, Any], str]:
    """The ranked rows for a fitted pairwise model (see the module docstring) and the input's kind."""
    comp = model.comparisons_
    c = _candidates(model, window, seed)
    if workers is not None:
        return _with_workers(model, c, budget, strategy, workers, per_task, per_worker, seed), comp.source_kind
    score = _pair_score(c, strategy)
    m = score.size
    idx = np.repeat(np.arange(m), per_task)
    slot = np.tile(np.arange(per_task), m)
    slot_score = score[idx] - (slot if strategy == "uniform" else 0)
    order = np.lexsort((slot, c["hash"][idx], -np.round(slot_score, 12)))[:budget]
    i = idx[order]
    cols = {"left": comp.item_names[c["left"][i]], "right": comp.item_names[c["right"][i]],
            "rank": np.arange(1, i.size + 1), "strategy": np.full(i.size, strategy, dtype=object),
            "score": slot_score[order], "p_left": sigmoid(c["d"][i]), "judgments": c["counts"][i]}
    return cols, comp.source_kind


def _available(model: Any, workers: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(names, codes in the data or -1, a, b) of the available raters, each id once."""
    from .data import lookup

    comp = model.comparisons_
    names = comp.worker_names
    given = list(dict.fromkeys(workers))
    if not given:
        raise ValueError("workers is empty: give the ids of the available workers")
    ids = np.asarray(given, dtype=names.dtype if names.dtype != object else object)
    codes = lookup(names, ids).astype(np.int64)
    response = rater_response(model, names)
    if response is None:  # every rater the same: a new rater is welcome
        return ids, codes, np.ones(ids.size), np.zeros(ids.size)
    if (codes < 0).any():
        bad = [repr(v) for v in ids[codes < 0][:5].tolist()]
        raise ValueError(f"workers has {int((codes < 0).sum())} id(s) with no comparisons in the data "
                         f"({', '.join(bad)}); {type(model).__name__} does not know their reliability: leave them out")
    return ids, codes, response[0][codes], response[1][codes]


def _with_workers(model: Any, c: dict[str, np.ndarray], budget: int, strategy: str, workers: Sequence[Any],
                  per_task: int, per_worker: int | None, seed: int) -> dict[str, Any]:
    from .allocate import id_hash

    comp = model.comparisons_
    ids, codes, a, b = _available(model, workers)
    m, w = c["d"].size, ids.size
    gain = pair_eig(c["d"][:, None], c["s"][:, None], a[None, :], b[None, :])  # (pairs, raters)
    primary = gain if strategy == "eig" else np.broadcast_to(_pair_score(c, strategy)[:, None], gain.shape)
    # a rater never gets a pair it already compared, in either order
    n = int(c["n"])
    key = np.minimum(comp.left, comp.right).astype(np.int64) * n + np.maximum(comp.left, comp.right)
    by_key = np.argsort(c["key"], kind="stable")  # candidate keys are distinct
    at = np.minimum(np.searchsorted(c["key"], key, sorter=by_key), m - 1)
    row_of_code = np.full(max(comp.worker_names.size, 1), -1, dtype=np.int64)
    row_of_code[codes[codes >= 0]] = np.flatnonzero(codes >= 0)
    rater = row_of_code[comp.worker]
    hit = (c["key"][by_key[at]] == key) & (rater >= 0)
    done = np.zeros((m, w), dtype=bool)
    done[by_key[at[hit]], rater[hit]] = True
    pr, gr = np.round(primary, 12).ravel(), np.round(gain, 12).ravel()
    pair = np.repeat(np.arange(m), w)
    order = np.lexsort((pair, c["hash"][pair], -gr, -pr))
    # groups: runs of one pair with equal scores (raters of equal gain), served least-loaded first
    cut = np.flatnonzero((np.diff(pr[order]) != 0) | (np.diff(gr[order]) != 0) | (np.diff(pair[order]) != 0)) + 1
    starts, ends = np.concatenate([[0], cut]), np.concatenate([cut, [order.size]])
    whash = id_hash(ids, seed)
    per_w, per_t = np.zeros(w, dtype=np.int64), np.zeros(m, dtype=np.int64)
    chosen: list[int] = []
    for s0, s1 in zip(starts.tolist(), ends.tolist()):
        p = int(pair[order[s0]])
        raters = [int(x) % w for x in order[s0:s1].tolist()]
        raters = [r for r in raters if not done[p, r] and (per_worker is None or per_w[r] < per_worker)]
        raters.sort(key=lambda r: (per_w[r], int(whash[r])))
        for r in raters[: max(per_task - per_t[p], 0)]:
            chosen.append(p * w + r)
            per_t[p] += 1
            per_w[r] += 1
            if len(chosen) == budget:
                break
        if len(chosen) == budget:
            break
    cells = np.asarray(chosen, dtype=np.int64)
    i, r = cells // w, cells % w
    return {"left": comp.item_names[c["left"][i]], "right": comp.item_names[c["right"][i]], "worker": ids[r],
            "rank": np.arange(1, cells.size + 1), "strategy": np.full(cells.size, strategy, dtype=object),
            "score": np.asarray(primary).ravel()[cells] if cells.size else np.zeros(0),
            "p_left": sigmoid(c["d"][i]), "judgments": c["counts"][i]}
