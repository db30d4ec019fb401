"""Where the maximum-likelihood scores of a preference model exist (``prior=0``): every split of the
items into two groups has an item of each group beating one of the other (Hunter 2004)."""

from __future__ import annotations

import numpy as np

__all__ = ["check_mle_exists"]


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
