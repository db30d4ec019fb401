"""Where the maximum-likelihood scores of a preference model exist (``prior=0``): every split of the
items into two groups has an item of each group beating one of the other (Hunter 2004), checked
before the fit (:func:`check_mle_exists`); with worker parameters that is not enough, and the fit's
end is checked too (:func:`check_bounded`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import EPS

__all__ = ["check_mle_exists", "check_pairs_mle", "check_bounded", "fisher_step", "SPREAD_MAX", "STEP_MAX"]


def _reached(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Which of ``n`` nodes item 0 reaches along the edges ``src -> dst`` (breadth first, a
    frontier at a time)."""
    order = np.argsort(src, kind="stable")
    to = dst[order]
    ptr = np.searchsorted(src[order], np.arange(n + 1))
    seen = np.zeros(n, dtype=bool)
    seen[0] = True
    frontier = np.zeros(1, dtype=np.int64)
    while frontier.size:
        lo, size = ptr[frontier], ptr[frontier + 1] - ptr[frontier]
        rows = np.repeat(lo - np.cumsum(size) + size, size) + np.arange(size.sum())
        nxt = np.unique(to[rows])
        frontier = nxt[~seen[nxt]]
        seen[frontier] = True
    return seen


def check_mle_exists(n: int, winner: np.ndarray, loser: np.ndarray, names: np.ndarray, what: str, *,
                     param: str = "prior", default: float = 1.0) -> None:
    """Raise where the maximum-likelihood scores (``prior=0``) do not exist: they do when every
    split of the items into two groups has an item of each group beating one of the other (Hunter
    2004, assumption 1: the graph of ``winner -> loser`` edges is strongly connected). Otherwise
    the likelihood rises as the groups part (a fit ran to ``n_iter`` with the advice to raise it),
    or is flat in their gap (pieces never compared: a fit "converged" with both on one scale)."""
    if n < 2:
        return
    src, dst = np.asarray(winner, dtype=np.int64), np.asarray(loser, dtype=np.int64)
    for beats, a, b in ((True, src, dst), (False, dst, src)):
        seen = _reached(n, a, b)
        if seen.all():
            continue
        top, bottom = (~seen, seen) if beats else (seen, ~seen)  # no item of bottom ever beat one of top
        ex = lambda m: names[np.flatnonzero(m)[:3]].tolist()  # noqa: E731
        met = bool((top[src] & bottom[dst]).any())  # else the groups were never compared at all
        how = f"was ever {what} over" if met else "was ever compared with"
        raise ValueError(
            f"with {param}=0, the maximum-likelihood scores do not exist: no item of a group of "
            f"{int(bottom.sum())} (e.g. {ex(bottom)}) {how} one of the other {int(top.sum())} (e.g. "
            f"{ex(top)}), so no finite gap between the groups is the likeliest (the comparisons are not "
            f"strongly connected: Hunter 2004). Use {param} > 0 (the default, {default}), or fit the groups apart"
        )


def check_pairs_mle(data: Any, param: str = "prior", default: float = 1.0) -> None:
    """Without a prior an item that never wins (or never loses) has an infinite MLE; so has a group
    of items that never lost to (or never beat) the others (:func:`check_mle_exists`)."""
    n = data.n_items
    wins = np.bincount(data.left, data.outcome, n) + np.bincount(data.right, 1.0 - data.outcome, n)
    games = np.bincount(data.left, minlength=n) + np.bincount(data.right, minlength=n)
    bad = np.flatnonzero((wins <= 0) | (wins >= games))
    if bad.size:
        names = data.item_names[bad[:5]].tolist()
        raise ValueError(
            f"with {param}=0, {bad.size} item(s) never win or never lose (e.g. {names}) and their "
            f"maximum-likelihood score is infinite; use {param} > 0 (the default, {default})"
        )
    won, lost, tie = data.outcome == 1.0, data.outcome == 0.0, data.outcome == 0.5  # a tie: half a win each
    winner = np.concatenate([data.left[won | tie], data.right[lost | tie]])
    loser = np.concatenate([data.right[won | tie], data.left[lost | tie]])
    check_mle_exists(n, winner, loser, data.item_names, "preferred", param=param, default=default)


#: with no prior, a spread of the scores beyond this (log-odds: probabilities within 4e-18 of 0 or 1)
#: is a fit that ran off towards infinity
SPREAD_MAX = 40.0
#: with no prior, a converged fit from whose end one Fisher-scoring step would still move the scores
#: apart by more than this (log-odds) stopped on a slope, not at a maximum (see :func:`check_bounded`)
STEP_MAX = 0.5


def fisher_step(diag: np.ndarray, full: Any, grad: np.ndarray) -> np.ndarray:
    """One Fisher-scoring step of the scores from where the fit stopped, ``S^+ g`` (``S`` the
    information of the scores, with the worker parameters free where the model has them; ``g`` the
    gradient of the log-likelihood). ``full`` holds ``S + 11^T / n``, the location's term a fit with no
    prior adds; it is taken out and the rest scaled to a unit diagonal before the solve, so an item
    whose comparisons all saturated (information 1e-30 beside the others' 1) still gets its step
    (an unscaled solve returned noise there). Diagonal path (``full`` a scalar): each item's step
    with the other items held fixed."""
    if np.isscalar(full):
        return grad / np.maximum(diag, EPS)
    info = full - 1.0 / grad.size
    d = np.sqrt(np.maximum(np.diag(info), EPS))
    v = d / np.linalg.norm(d)  # the location (null vector 1) in the scaled coordinates
    try:
        return np.linalg.solve(info / d[:, None] / d[None, :] + np.outer(v, v), grad / d) / d
    except np.linalg.LinAlgError:
        return np.full(grad.size, np.inf)


def check_bounded(theta: np.ndarray, info: dict[str, Any], converged: bool, *, model: str, why: str, param: str,
                  default: float) -> None:
    """Raise where a fit with no prior ran towards infinite scores though every item won and lost
    (:func:`check_pairs_mle` passed): with worker parameters (Crowd-BT's reliability, noisy
    Bradley-Terry's skill and bias) a worker's upsets can be put down to those while the scores
    spread without end, the likelihood rising ever more slowly. The fit then stops (the rise per
    iteration falls below ``tol``) far from any maximum: one Fisher-scoring step from there
    (:func:`fisher_step`; ``info``: the information with the worker parameters free and the gradient,
    ``grad``) moves the scores about one log-odds further (the information and the gradient both
    vanish like ``e^-gap``), where at a maximum it moves them by the small distance left to it (1e-4
    at most in the tests). A fit that did not converge is tested on its spread only."""
    spread = float(np.ptp(theta)) if np.isfinite(theta).all() else np.inf
    moves = 0.0
    if spread <= SPREAD_MAX and converged:
        step = fisher_step(info["diag"], info["full"], info["grad"])
        moves = float(np.ptp(step)) if np.isfinite(step).all() else np.inf
    if spread <= SPREAD_MAX and moves <= STEP_MAX:
        return
    how = f"; one Fisher-scoring step from where the fit stopped still moves them {moves:.3g}" if moves else ""
    raise ValueError(
        f"with {param}=0 the {model} scores grew without bound (spread {spread:.3g} in log-odds{how}): "
        f"their maximum-likelihood estimate does not exist for these comparisons ({why}); use {param} > 0 "
        f"(the default, {default})")
