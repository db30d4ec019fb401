"""One-coin Dawid-Skene: one accuracy per worker, fitted without a table of pairs x labels.

Each iteration keeps, per observed (worker, label) pair, only the expected number of its judgments
that were right (:func:`galton.aggregator._pairs.right_stats`), and the E-step adds two numbers per
judgment (:func:`galton.aggregator._pairs.estep_pairs` with ``coin_on`` / ``coin_off``) instead of a
row of K: with 1,000 labels the fit held arrays of pairs x labels (expected counts, and a table
written every iteration). ``python docs/research/many_labels.py --labels 1000 --models one_coin_ds``:
10.2-15.1 s and 3.5 GB before (two runs), 5.5-6.7 s and 1.8 GB after (three runs, load 1.0; the
pandas results in crowd-kit's layout, ``errors_`` and ``probas_``, are most of it now). The numbers
are crowd-kit's ``OneCoinDawidSkene``, iteration for iteration, as before: the same sums, in
another order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..judgments import Judgments
from ._declared_labels import UNUSED_ON_SHARDS, DeclaredLabels
from ._kernels import vote_shares
from ._pairs import one_coin_fill, pair_axes, per_worker_sum, right_stats
from ._registry import register
from .dawid_skene import PROB_FLOOR, DawidSkene

__all__ = ["OneCoinDawidSkene"]


@register("one_coin_ds", "onecoin", "one_coin", "one-coin-dawid-skene")
class OneCoinDawidSkene(DeclaredLabels, DawidSkene):
    r"""One-coin Dawid-Skene: each worker has one accuracy ``s_w``.

    ``p(y = l | z = k) = s_w`` if ``l == k`` else ``(1 - s_w) / (K - 1)``. The M-step sets ``s_w`` to
    the expected share of the worker's answers that are correct (vectorised over all workers:
    crowd-kit fills its matrix row by row in Python). ``skills_`` holds ``s_w``.

    Parameters, fitting and the other fitted attributes are :class:`DawidSkene`'s (``n_iter``,
    ``tol``, ``initial_error_strategy``, ``stopping``, ``engine``, ``n_shards``, ...), as crowd-kit's
    ``OneCoinDawidSkene`` subclasses its ``DawidSkene``; ``errors_`` is the one-coin matrix of each
    worker (``s_w`` on the diagonal, the rest spread evenly over the labels in use). A label declared
    with ``labels=`` that no judgment and no gold gives is fitted as ``bds`` fits it (no class of the
    data: probability 0 everywhere, :mod:`galton.aggregator._declared_labels`): it counted in ``K - 1``
    and moved labels (act_cf with one such label: 2 of 300 labels, probabilities by up to 0.72).
    """

    #: no pairs x K array during the fit (the statistics are one number per pair); ``errors_`` of
    #: a pandas fit still builds one row per pair, counted apart by ``memory_estimate``
    _confusion_arrays = 0

    def _held_arrays(self, n_labels: int, n_judgments: int) -> int:
        return self._confusion_arrays  # no per-thread copies of expected counts either

    def _start(self, engine: Any, judgments: Judgments) -> tuple[dict[str, Any], dict[str, Any]]:
        memory, stats = super()._start(engine, judgments)
        unused = np.flatnonzero(memory.get("unused", np.zeros(0, bool)))  # in memory: re-coded away already
        if unused.size:  # judgments loaded into shards cannot be re-coded
            raise ValueError(UNUSED_ON_SHARDS.format(
                n=unused.size, k=memory["n_labels"], model="one_coin_ds",
                examples=", ".join(repr(v) for v in judgments.label_names[unused[:5]].tolist())))
        return memory, stats

    def _mv_stats(self, shard: Any, rows: np.ndarray, n_pairs: int) -> dict[str, Any]:
        """The majority-vote start's statistics: the vote shares' expected right answers per pair."""
        return {"ll": 0.0, **right_stats(shard, rows, n_pairs, vote_shares(shard.task, shard.label, shard.gold,
                                                                             shard.n_labels))}

    def _add_initial(self, stats: dict[str, Any], arr: np.ndarray, memory: dict[str, Any]) -> dict[str, Any]:
        """``initial_error`` (W, K, K) as the statistics it stands for: the observed pairs' diagonal
        cells are right answers, each worker's cells of those pairs its judgments (what the expected
        counts' diagonal and row sums were)."""
        rows = arr.reshape(-1, memory["n_labels"])[memory["pairs"]]
        right = rows[np.arange(rows.shape[0]), pair_axes(memory)[1]]
        total = per_worker_sum(rows.sum(axis=1), memory["wptr"])
        if self.initial_error_strategy == "assign":
            return {**stats, "right": right, "total": total}
        return {**stats, "right": stats["right"] + right, "total": memory["worker_judgments"] + total}

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        k = memory["n_labels"]
        pw, pl = pair_axes(memory)
        wptr = memory["wptr"]
        judged = memory["worker_judgments"].astype(np.float64)
        correct = per_worker_sum(stats["right"], wptr) + self.alpha
        total = stats.get("total", judged) + 2 * self.alpha
        skill = np.clip(correct / np.maximum(total, PROB_FLOOR), PROB_FLOOR, 1 - PROB_FLOOR)
        if k > 1:
            log_on, log_off = np.log(skill), np.log((1 - skill) / (k - 1))
        else:  # one label: its only cell is 1
            log_on = log_off = np.zeros(skill.size)
        cc = stats["class_counts"] + self.alpha_prior
        priors = np.maximum(cc / cc.sum(), PROB_FLOOR)
        return self._pair_params(memory, coin_on=log_on[pw], coin_off=log_off[pw], coin_label=pl,
                                 log_on=log_on, log_off=log_off, wptr=wptr, worker_n=judged, one_coin=True,
                                 logprior=np.log(priors), priors=priors, skill=skill), memory

    def _stop_value(self, stats: dict[str, Any], old: dict[str, Any], new: dict[str, Any], n: int) -> float:
        """crowd-kit's ELBO per judgment (see :meth:`DawidSkene._stop_value`): the expected counts
        times the log-table are, per worker, its right answers times ``log s_w`` plus its wrong ones
        times ``log((1 - s_w) / (K - 1))``."""
        right = per_worker_sum(stats["right"], new["wptr"])
        wrong = new["worker_n"] - right

        def joint(p: dict[str, Any]) -> float:
            return float(np.sum(right * p["log_on"]) + np.sum(wrong * p["log_off"]))

        old_joint = joint(old) + np.sum(stats["class_counts"] * old["logprior"])
        new_joint = joint(new) + np.sum(stats["judged"] * new["logprior"])
        return float(new_joint + stats["ll"] - old_joint) / n

    def _with_outputs(self, params: dict[str, Any], judgments: Judgments) -> dict[str, Any]:
        """``errors`` None: ``errors_`` builds its rows from the fill (a polars / Arrow fit's when
        first read), so the fit holds no pairs x K array."""
        if "fill" in params:  # spread over the declared labels already (DeclaredLabels._finish)
            return params
        skill, k = params["skill"], judgments.n_labels
        fill = np.ones((skill.size, 2, 1)) if k == 1 else one_coin_fill((1 - skill) / (k - 1), skill, k)
        return {**params, "errors": None, "fill": fill, "fill_table": np.log(fill)}

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        obj = float(stats["ll"])
        if self.alpha:
            s = params["skill"]
            obj += self.alpha * float(np.log(s).sum() + np.log1p(-s).sum())
        if self.alpha_prior:
            obj += self.alpha_prior * float(params["logprior"].sum())
        return obj

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        super()._finish(params, judgments)
        self.skills_ = self._out.per_worker(judgments.worker_names, params["skill"], "skill")
