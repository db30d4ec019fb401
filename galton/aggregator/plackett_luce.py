"""Plackett-Luce for best-of-n choices and rankings.

Data: :class:`galton.pairwise.Choices` — best-of-n rows ``worker, options, choice``, rankings
``worker, ranking`` (best first) or rankings of the top k options ``worker, options, ranking``;
pairwise ``worker, left, right, label`` rows are accepted too (a comparison is a choice out of two,
and Plackett-Luce on pairs is Bradley-Terry).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..judgments import frame_kind, to_arrow
from ..pairwise import Choices, Comparisons
from ._fit_keywords import checked_options
from ._memory import check_model
from ._preference import (ChoiceShard, PreferenceAggregator, best_shift, check_mle_exists, make_choice_shards,
                          prior_terms, sigmoid, theta_update)
from ._registry import register
from ._squarem import Accelerated

__all__ = ["PlackettLuce"]


def choice_stats(shard: ChoiceShard, theta: np.ndarray, prior: float) -> dict[str, Any]:
    """Additive statistics of one Plackett-Luce MM step ``θ_i <- log num_i - log den_i``
    (Hunter 2004, section 6): with ``S_e`` the total strength of the items offered in event ``e``,
    ``num_i`` = times i was chosen and ``den_i = sum_{e offering i} 1 / S_e``, plus the prior's
    virtual games in the shard that holds it. The fixed point solves the likelihood equations
    ``wins_i = sum_{e offering i} p_i / S_e``.

    (Newman's faster pairwise iteration, carried over to choice sets the obvious way, oscillates
    with period two on simulated rankings, so Plackett-Luce uses MM only.)
    """
    n = shard.n_items
    p = np.exp(theta)
    ev = shard.event_of
    s = np.bincount(ev, p[shard.items], shard.chosen.size)
    inv = 1.0 / s
    ll = float(theta[shard.chosen].sum() - np.log(s).sum())
    num = shard.state.get("_pl_wins")
    if num is None:
        num = shard.state["_pl_wins"] = np.bincount(shard.chosen, minlength=n).astype(float)
    den = np.bincount(shard.items, inv[ev], n)
    if shard.holds_prior and prior > 0:
        ll += prior_terms(theta, prior)
        num, den = num + 0.5 * prior, den + prior / (p + 1.0)
    return {"ll": ll, "num": num, "den": den}


#: pair terms (or cells of a dense events x items block) built at once by :func:`offered_together`:
#: its memory stays near 50 MB whatever the events (every ordered pair of every event at once took
#: 2.7 GB for 60 rankings of 160 items, and grows as the cube of a ranking's length)
PAIR_CHUNK = 1 << 20
#: an event of at least 1/DENSE_SHARE of the items is a row of a dense block: its n^2 products (an
#: einsum, about 1 ns each) cost less than its m^2 / 2 pair terms one by one (about 60 ns each)
DENSE_SHARE = 8


def offered_together(items: np.ndarray, pi: np.ndarray, ptr: np.ndarray, n: int) -> np.ndarray:
    """``sum_e sum_{a != b in e} π_a π_b`` at ``[item a, item b]``: the off-diagonal part of the
    information ``sum_e diag(π) - π π^T`` (an event offers each item once, so no pair falls on the
    diagonal). Small events add each unordered pair once (the matrix made symmetric at the end),
    large ones the products of their rows in a dense block; at most :data:`PAIR_CHUNK` terms or
    cells at a time."""
    sizes = np.diff(ptr)
    half = np.zeros(n * n)
    big = sizes * DENSE_SHARE >= n
    for m in np.unique(sizes[(sizes > 1) & ~big]):
        a, b = np.triu_indices(int(m), 1)
        sel = np.flatnonzero((sizes == m) & ~big)
        step = max(1, PAIR_CHUNK // a.size)
        for lo in range(0, sel.size, step):
            idx = (ptr[sel[lo:lo + step]][:, None] + np.arange(m)).reshape(-1)
            it, pm = items[idx].reshape(-1, m).astype(np.int64), pi[idx].reshape(-1, m)
            half += np.bincount((it[:, a] * n + it[:, b]).ravel(), (pm[:, a] * pm[:, b]).ravel(), n * n)
    off = half.reshape(n, n)
    off = off + off.T
    sel = np.flatnonzero(big & (sizes > 1))
    step = max(1, PAIR_CHUNK // n)
    for lo in range(0, sel.size, step):
        ev = sel[lo:lo + step]
        lens = sizes[ev]
        start = np.concatenate([[0], np.cumsum(lens)])
        idx = np.repeat(ptr[ev] - start[:-1], lens) + np.arange(start[-1])
        block = np.zeros((ev.size, n))
        block[np.repeat(np.arange(ev.size), lens), items[idx]] = pi[idx]
        off += np.einsum("ei,ej->ij", block, block)  # its diagonal, sum π_a^2, is cleared below
    np.fill_diagonal(off, 0.0)
    return off


@register("plackett_luce", "pl", "plackett-luce")
class PlackettLuce(Accelerated, PreferenceAggregator):
    r"""Plackett-Luce model of choices and rankings, fitted by minorisation-maximisation (MM).

    Model (Luce 1959; Plackett, *Applied Statistics* 24, 1975)::

        P(i chosen from the set S) = p_i / sum_{k in S} p_k,          θ = log p

    A ranking ``r_0 > r_1 > ... > r_{m-1}`` has probability ``prod_k P(r_k chosen from {r_k, ...,
    r_{m-1}})``. The pairwise marginal is Bradley-Terry: ``P(i over j) = σ(θ_i - θ_j)``, which is
    what ``pair_probas_`` reports for every pair that met in a choice (``observed``: the share of
    the choices between the two — events where one of them was chosen — won by ``left``).

    Fit: MM (Hunter, *Ann. Statist.* 32(1), 2004, section 6; the objective never decreases), each
    step followed by the exact best shift of all scores under the prior (see
    :func:`galton.aggregator._preference.best_shift`). The prior is ``prior`` virtual tied pairwise
    comparisons of every item against a pseudo-item of log-score 0, as in :class:`BradleyTerry`:
    scores stay finite for items never or always chosen.

    Speed. MM's steps are short where items meet few others (best-of-4 choices within 2,000 prompts:
    514 iterations); ``accelerate=True`` (default) extrapolates along the last two steps (SQUAREM,
    :mod:`galton.aggregator._squarem`), keeping a point only when its log-posterior is not below
    the last one: the same optimum in far fewer iterations; ``history_`` then holds the rejected
    extrapolations' values too (not monotone). ``accelerate=False`` gives plain MM.

    Parameters
    ----------
    n_iter : int, default 10000
    tol : float, default 1e-12   (change of the log-posterior per choice event)
    prior : float, default 1.0
    accelerate : bool, default True
        SQUAREM extrapolation of the MM steps (see Speed above).
    random_state, engine, n_shards, progress
        As everywhere in galton (the fit uses no randomness).

    Attributes
    ----------
    scores_, scores_values_ (log-scores θ, mean 0, as their standard errors: relative to the average
    item), intervals_, ranking_, pair_probas_, n_iter_, converged_, history_, comparisons_ (the
    encoded :class:`~galton.pairwise.Choices`).
    """

    kind = "choice"
    _kept_settings = ("prior",)  # the scores without a rater's choice events (worker_report_others)

    def __init__(self, n_iter: int = 10000, tol: float = 1e-12, *, prior: float = 1.0, accelerate: bool = True,
                 random_state: Any = None, engine: Any = None, n_shards: int | None = None,
                 progress: bool | None = None):
        self.n_iter = n_iter
        self.tol = tol
        self.prior = prior
        self.accelerate = accelerate
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    # ---------------------------------------------------------------- data
    def _encode(self, data: Any, **options: Any) -> Choices:
        checked_options(self, options, Comparisons.from_any, Choices.from_any)  # an unknown one was dropped (pairs)
        if isinstance(data, (Choices, Comparisons)):
            return Choices.from_any(data)
        kind = frame_kind(data)
        # a pandas frame goes on as it is: its errors name the rows by the frame's own index
        table = data if kind == "pandas" else to_arrow(data)
        names = list(data.columns) if kind == "pandas" else table.column_names
        pair_keys = ("left_col", "right_col", "label_col", "tie")
        left = options.get("left_col", "left")
        if left in names and options.get("options_col", "options") not in names:
            pair_opts = {k: v for k, v in options.items() if k in pair_keys + ("worker_col", "on_invalid")}
            choices = Choices.from_comparisons(Comparisons.from_any(table, **pair_opts))
        else:
            choices = Choices.from_any(table, **{k: v for k, v in options.items() if k not in pair_keys})
        return dataclasses.replace(choices, source_kind=kind)

    def _make_shards(self, data: Choices, n_shards: int) -> list[ChoiceShard]:
        return make_choice_shards(data, n_shards)

    # ---------------------------------------------------------------- memory guard
    #: bytes per offered item (an item in one event's choice set) at the fit's peak: its code, event
    #: index, strength and probability while iterating, the winner / loser pairs of the results
    #: (44-46 bytes measured with tracemalloc, for rankings and best-of-n alike)
    OFFERED_BYTES = 56

    def memory_estimate(self, n_tasks: int, n_workers: int, n_labels: int, n_judgments: int,
                        n_offered: int | None = None) -> tuple[int, str]:
        """As every model's, with ``n_tasks`` the items and ``n_judgments`` the choice events; the
        arrays grow with ``n_offered``, the items offered in all events together (a ranking of m
        items is m - 1 events offering m (m + 1) / 2 - 1), default two per event (the fewest)."""
        base, what = super().memory_estimate(n_tasks, n_workers, n_labels, n_judgments)
        offered = 2 * int(n_judgments) if n_offered is None else int(n_offered)
        events = f"{offered:,} items offered in {n_judgments:,} choice events"
        return base + self.OFFERED_BYTES * offered, what.replace(f"{n_judgments:,} judgments", events)

    def _check_memory(self, data: Choices) -> None:
        check_model(self, data.n_items, data.n_workers, 2, data.n_events, n_offered=int(data.ptr[-1]))

    # ---------------------------------------------------------------- the iteration
    def _init_params(self, engine: Any, data: Choices, rng: np.random.Generator) -> dict[str, Any]:
        if self.prior <= 0:
            n = data.n_items
            wins = np.bincount(data.chosen, minlength=n)
            offered = np.bincount(data.items, minlength=n)
            bad = np.flatnonzero((wins == 0) | (wins == offered))
            if bad.size:
                raise ValueError(
                    f"with prior=0, {bad.size} item(s) are never chosen or always chosen (e.g. "
                    f"{data.item_names[bad[:5]].tolist()}) and their maximum-likelihood score is "
                    "infinite; use prior > 0 (the default, 1.0)"
                )
            sizes = np.diff(data.ptr)  # the chosen item beat every other item offered with it
            check_mle_exists(n, np.repeat(data.chosen, sizes), data.items, data.item_names, "chosen")
        return {"theta": np.zeros(data.n_items)}

    def _e_step(self, shard: ChoiceShard, params: dict[str, Any]) -> dict[str, Any]:
        return choice_stats(shard, params["theta"], self.prior)

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        return self._accelerated(stats, memory, self._mm_step)

    def _mm_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"theta": theta_update(stats, self.prior)}, memory

    @staticmethod
    def _to_vector(params: dict[str, Any]) -> np.ndarray:
        return params["theta"]

    def _from_vector(self, x: np.ndarray, n_items: int) -> dict[str, Any]:
        return {"theta": best_shift(x, self.prior)}

    def _row_probas(self, data: Choices, theta: np.ndarray) -> np.ndarray:
        """Fitted probability of the observed choice in each event."""
        lse = np.log(np.bincount(data.event_of, np.exp(theta[data.items]), data.chosen.size))
        return np.exp(theta[data.chosen] - lse)

    # ---------------------------------------------------------------- standard errors
    def _information(self, shard: ChoiceShard, params: dict[str, Any], dense: bool) -> dict[str, Any]:
        """Observed information of the log-scores: each event adds ``diag(π) - π π^T`` over its
        offered items (``π`` = the choice probabilities)."""
        n, th = shard.n_items, params["theta"]
        ev, items = shard.event_of, shard.items
        p = np.exp(th[items])
        pi = p / np.bincount(ev, p, shard.chosen.size)[ev]
        diag = np.bincount(items, pi * (1.0 - pi), n)
        full: Any = 0.0
        if dense:
            full = np.diag(diag) - offered_together(items, pi, shard.ptr, n)
        return self._with_prior_info(shard, params, diag, full)

    # ---------------------------------------------------------------- results
    def _pair_table(self, data: Choices, theta: np.ndarray) -> tuple[np.ndarray, ...]:
        ev = data.event_of
        ch = data.chosen[ev]
        lost = data.items != ch
        winner, loser = ch[lost].astype(np.int64), data.items[lost].astype(np.int64)
        a, b = np.minimum(winner, loser), np.maximum(winner, loser)
        n_items = data.n_items
        keys, inverse, counts = np.unique(a * n_items + b, return_inverse=True, return_counts=True)
        wins = np.bincount(inverse, (winner == a).astype(float), keys.size)
        pa, pb = keys // n_items, keys % n_items
        return pa, pb, counts, wins / counts, sigmoid(theta[pa] - theta[pb])
