"""Pairwise data in :func:`galton.allocate`: the pairs of items (and raters) to compare next.

Candidate pairs are the items at most ``window`` places apart in the current ranking. With ``d``
the difference of the pair's log-scores and ``s`` its standard error (``D ~ N(d, s^2)``; ``s^2 =
C_ll + C_rr - 2 C_lr`` from the fitted scores' covariance, so a pair compared 200 times is narrow
even where each item's own ``se`` is wide; above ``DENSE_SE_MAX`` = 1,000 items, where the fit
keeps no covariance, ``sqrt(se_l^2 + se_r^2)`` from the diagonal standard errors, which misses the
covariance and understates the spread of a pair linked only through other items):

- ``"uniform"``: fewest comparisons of the pair first;
- ``"uncertainty"``: the probability that the current order of the pair is wrong, ``Phi(-|d| / s)``;
- ``"eig"``: the expected information gain in bits about ``D`` from one comparison,
  ``h(E p(D)) - E h(p(D))`` (Gauss-Hermite in ``(D - d) / s``; a grid in D where ``s > 2``), with
  ``p(D)`` the probability that the rater says "left".

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
from typing import Any, Iterator, Sequence

import numpy as np

from ._math import entropy_bits, sigmoid, splitmix64

__all__ = ["pair_eig", "rater_response", "pairwise_rows"]


#: ``D ~ N(d, s^2)`` up to ``s = _WIDE``: Gauss-Hermite, 24 nodes in ``z = (D - d) / s``
_GH_Z, _GH_W = np.polynomial.hermite_e.hermegauss(24)
_GH_W = _GH_W / _GH_W.sum()
#: wider: ``sigma(D)`` turns from 0 to 1 within a few units of D = 0, a step in ``z`` that 24 nodes
#: miss (0.99 bits for 0.91 at s = 20); there a fixed grid in D (Gauss-Legendre, 4 nodes a unit over
#: [-_EDGE, _EDGE]) weighted by the normal density, and the mass beyond it where sigma is 0 or 1
_WIDE, _EDGE = 2.0, 40.0
_GL_X, _GL_W = np.polynomial.legendre.leggauss(4)
_GRID_D = (np.arange(-_EDGE, _EDGE)[:, None] + 0.5 + 0.5 * _GL_X[None, :]).ravel()
_GRID_W = np.tile(0.5 * _GL_W, int(2 * _EDGE))
#: pairs scored at a time, so that memory stays a few MB however many pairs (x raters) there are: the
#: narrow pairs in one piece built several (pairs x raters) x 24 arrays, 1,440 bytes a cell (718 MB for
#: 1,000 items x 100 raters, where the memory check counted 48 MB). Powers of 2, so that a row meets
#: the same matrix-vector kernel as in one piece (the same bits)
_NARROW_ROWS = 1 << 11  # 2k x 24 nodes
_WIDE_ROWS = 1 << 8  # 256 x 320 nodes


def _bits(p: np.ndarray) -> np.ndarray:
    return entropy_bits(np.stack([p, 1.0 - p], axis=-1), axis=-1)


def _normal_tail(x: np.ndarray) -> np.ndarray:
    """``P(Z > x)`` of a standard normal, element by element."""
    return np.array([0.5 * math.erfc(v / math.sqrt(2.0)) for v in x.tolist()], dtype=np.float64)


def pair_eig(d: np.ndarray, s: np.ndarray, a: float | np.ndarray = 1.0, b: float | np.ndarray = 0.0) -> np.ndarray:
    """EIG in bits about ``D ~ N(d, s^2)`` of one answer "left" with probability ``a sigma(D) + b``
    (broadcast over ``d``, ``s``, ``a``, ``b``): ``h(E p(D)) - E h(p(D))``, within 2e-4 bits of
    adaptive quadrature for any ``d`` and ``s``."""
    d, s, a, b = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (d, s, a, b)))
    shape = d.shape
    d, s, a, b = (x.ravel() for x in (d, s, a, b))
    out = np.empty(d.size)
    narrow = np.flatnonzero(s <= _WIDE)
    for lo in range(0, narrow.size, _NARROW_ROWS):
        i = narrow[lo:lo + _NARROW_ROWS]
        p = a[i, None] * sigmoid(d[i, None] + s[i, None] * _GH_Z) + b[i, None]
        out[i] = _bits(p @ _GH_W) - _bits(p) @ _GH_W
    wide = np.flatnonzero(s > _WIDE)
    for lo in range(0, wide.size, _WIDE_ROWS):
        j = wide[lo:lo + _WIDE_ROWS]
        dj, sj = d[j, None], s[j, None]
        dens = np.exp(-0.5 * ((_GRID_D - dj) / sj) ** 2) * (_GRID_W / (sj * math.sqrt(2.0 * math.pi)))
        below, above = _normal_tail((d[j] + _EDGE) / s[j]), _normal_tail((_EDGE - d[j]) / s[j])
        p = a[j, None] * sigmoid(_GRID_D) + b[j, None]
        total = dens.sum(axis=1) + below + above
        mean = ((dens * p).sum(axis=1) + below * b[j] + above * (a[j] + b[j])) / total
        mean_h = ((dens * _bits(p)).sum(axis=1) + below * _bits(b[j]) + above * _bits(a[j] + b[j])) / total
        out[j] = _bits(mean) - mean_h
    return np.maximum(out, 0.0).reshape(shape)


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
    from .aggregator._pref_results import difference_se
    from .allocate import id_hash

    comp = model.comparisons_
    theta = np.asarray(model.scores_values_, dtype=np.float64)
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
            "d": theta[left] - theta[right], "s": difference_se(model, left, right),
            "hash": splitmix64(id_hash(lo, seed) ^ id_hash(hi, seed + 1))}


def _pair_score(c: dict[str, np.ndarray], strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return 0.0 - c["counts"].astype(np.float64)  # 0, not -0.0, for a pair never compared
    if strategy == "uncertainty":
        return np.array([0.5 * math.erfc(abs(x) / (y * math.sqrt(2.0))) if y > 0 else 0.0
                         for x, y in zip(c["d"].tolist(), c["s"].tolist())])
    return pair_eig(c["d"], c["s"])


def pairwise_rows(model: Any, budget: int, strategy: str, per_task: int, window: int, seed: int,
                  workers: Sequence[Any] | None = None, per_worker: int | None = None
                  ) -> tuple[dict[str, Any], str]:
    """The ranked rows for a fitted pairwise model (see the module docstring) and the input's kind."""
    from .allocate_fit import PAIR_BYTES, SLOT_BYTES, check_cells

    comp = model.comparisons_
    n = np.asarray(model.scores_values_).size
    m = sum(n - g for g in range(1, min(window, n - 1) + 1))  # candidate pairs
    if workers is not None:  # checked before the tables are built (pair_eig itself scores in pieces)
        available = _available(model, workers)
        check_cells(m, available[0].size, "pair", PAIR_BYTES)
        c = _candidates(model, window, seed)
        return (_with_workers(model, c, budget, strategy, available, per_task, per_worker, seed),
                comp.source_kind)
    # a pair's k-th slot ranks after its k - 1 others (the same score, or one less for uniform; then the
    # slot): slots past the budget are never chosen, and were built, m x per_task of them
    per_task = min(per_task, budget)
    check_cells(m, None, "pair", PAIR_BYTES + SLOT_BYTES * per_task)
    c = _candidates(model, window, seed)
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
    from .data._encode import id_lookup

    comp = model.comparisons_
    names = comp.worker_names
    given = list(dict.fromkeys(workers))
    if not given:
        raise ValueError("workers is empty: give the ids of the available workers")
    # looked up as they are (a cast to the data's type crashed on "new" and made rater 1.5 rater 1)
    codes = id_lookup(names, np.asarray(given + [None], dtype=object)[:-1]).astype(np.int64)
    seen: set[Any] = set()
    keep = []
    for i, (v, c) in enumerate(zip(given, codes)):  # "7" and 7 are one rater of integer ids: listed once
        key = int(c) if c >= 0 else ("new", v)
        if key not in seen:
            seen.add(key)
            keep.append(i)
    given, codes = [given[i] for i in keep], codes[keep]
    response = rater_response(model, names)
    if response is None:  # every rater the same: a new rater is welcome, with an id of the data's type
        new = [v for v, c in zip(given, codes) if c < 0]
        if names.dtype.kind in "iu":
            odd = [v for v in new if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer))]
        else:
            odd = [v for v in new if not isinstance(v, str)] if names.dtype.kind in "OU" else []
        if odd:
            kind = "integers" if names.dtype.kind in "iu" else "text"
            raise ValueError(f"workers has {len(odd)} new id(s) of another type than the data's worker ids "
                             f"({', '.join(map(repr, odd[:5]))}; the data's are {kind}): give a new rater an id "
                             f"of that type")
        ids = np.asarray([names[c] if c >= 0 else v for v, c in zip(given, codes)],
                         dtype=names.dtype if names.dtype.kind in "iuf" else object)
        return ids, codes, np.ones(ids.size), np.zeros(ids.size)
    if (codes < 0).any():
        bad = [repr(v) for v, c in zip(given, codes) if c < 0][:5]
        raise ValueError(f"workers has {int((codes < 0).sum())} id(s) with no comparisons in the data "
                         f"({', '.join(bad)}); {type(model).__name__} does not know their reliability: leave them out")
    ids = names[codes]
    return ids, codes, response[0][codes], response[1][codes]


def _runs(starts: np.ndarray, ends: np.ndarray, size: int = 1 << 12) -> Iterator[tuple[int, int]]:
    """``zip(starts, ends)`` as Python ints, a piece at a time (whole, the two lists took 72 bytes a
    (pair, rater) cell where every rater's gain differs)."""
    for lo in range(0, starts.size, size):
        yield from zip(starts[lo:lo + size].tolist(), ends[lo:lo + size].tolist())


def _with_workers(model: Any, c: dict[str, np.ndarray], budget: int, strategy: str,
                  available: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], per_task: int,
                  per_worker: int | None, seed: int) -> dict[str, Any]:
    from .allocate import id_hash

    comp = model.comparisons_
    ids, codes, a, b = available
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
    for s0, s1 in _runs(starts, ends):
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
