"""Voting models: majority vote, gold-weighted vote, Wawa and Zero-Based Skill.

All four are one computation with different worker weights ``w``::

    share_t(k) = sum_{j in task t, y_j = k} w_{worker(j)} / sum_{j in task t} w_{worker(j)}

- :class:`MajorityVote` — ``w = 1``, or weights the user gives (``skills=``);
- :class:`GoldMajorityVote` — ``w`` = each worker's accuracy on the gold tasks;
- :class:`Wawa` — ``w`` = each worker's agreement with the plain majority vote;
- :class:`ZeroBasedSkill` — ``w`` moved step by step towards the agreement with the weighted vote.

The shared pieces run on the shards through the engine, so the same code runs in-process and on
Ray: the vote shares, the tie rule and the agreement counts are in
:mod:`galton.aggregator.votes_shard`, the fit plumbing (gold, user skills, missing skills,
``predict`` on new data) in :mod:`galton.aggregator.votes_fit`.

Tie rule. A task's label is the label with the largest share; among tied labels the lowest label
code wins, which is the smallest label value in sorted order (numbers numerically, strings
lexicographically, ``False < True``). ``tie_break="random"`` instead picks uniformly among the tied
labels with a hash of (``random_state``, task code, label code): reproducible for a seed and
independent of row order and of sharding. Weighted votes are summed in a fixed order (by task,
label, worker), so a tie between floating-point sums does not depend on the order of the rows.

A task with no judgment at all (``Judgments.from_codes(..., n_tasks=...)`` can hold one) gets uniform
shares, as the other models' posteriors without evidence, and its label by the tie rule.

Gold. Tasks with a known label (``fit(data, gold=...)``; ``MajorityVote`` takes skills second, as
crowd-kit) are clamped to it: their probabilities are
one-hot and the agreement that defines the skills is measured against it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._warnings import caller_stacklevel, quiet, quieted, warn
from ..judgments import Judgments
from ._base import IterativeAggregator
from ._engine import Shard
from ._fit_keywords import gold_keyword
from ._params import check_count, check_real
from ._registry import register
from .votes_fit import VoteAggregator, gold_layers, with_common_params
from .votes_shard import (
    agreement_share, examples, label_codes, shard_agreement, shard_label_counts,
    shard_vote_shares, warn_zero_weight_tasks, weighted_vote, worker_agreement,
)

__all__ = ["MajorityVote", "GoldMajorityVote", "Wawa", "ZeroBasedSkill"]


@register("mv", "majority_vote", "majority-vote")
@with_common_params
class MajorityVote(VoteAggregator):
    r"""Majority vote, optionally weighted.

    ``p_t(k) = sum_{j: y_j = k} w_j / sum_j w_j`` over the judgments ``j`` of task ``t`` with
    ``w = 1`` or the given worker weights; the label is the arg max (see the tie rule in the module
    docstring). The classical baseline of repeated labelling (Sheng, Provost & Ipeirotis, KDD 2008);
    crowd-kit's ``MajorityVote``.

    Parameters
    ----------
    {common}
    Attributes
    ----------
    labels_, probas_ (vote shares; gold tasks one-hot), skills_ (each worker's share of distinct
    answers equal to the aggregated label, as crowd-kit), label_codes_.
    """

    def __init__(self, default_skill: float | None = None, on_missing_skill: str = "error", *,
                 tie_break: str = "low", random_state: Any = None, engine: Any = None,
                 n_shards: int | None = None):
        self.default_skill = default_skill
        self.on_missing_skill = on_missing_skill
        self.tie_break = tie_break
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards

    _skills_second = True

    @property
    def _crowdkit_layout_name(self) -> str:
        """crowd-kit counts a plain vote with ``value_counts`` (first appearance) and sums a weighted
        one with ``groupby`` (sorted): the pandas layout of a fit with skills is the sorted one."""
        weighted = self.__dict__.get("_vote_weights") is not None
        return "MajorityVote(skills)" if weighted else "MajorityVote"

    def fit(self, data: Any, skills: Any = None, gold: Any = None, **kwargs: Any) -> "MajorityVote":
        """Vote. ``skills`` (second, as in crowd-kit's ``fit(data, skills)``): worker weights (Series
        by worker, dict, table with worker and skill columns, or an array in worker-code order;
        keys find workers as gold and new data do: ``"7"`` is worker 7); ``gold`` (by name): known
        labels, clamped."""
        return self._fit(data, gold, skills, **kwargs)

    def fit_predict(self, data: Any, skills: Any = None, gold: Any = None, **kwargs: Any) -> Any:
        return self.fit(data, skills, gold, **kwargs).labels_

    def fit_predict_proba(self, data: Any, skills: Any = None, gold: Any = None, **kwargs: Any) -> Any:
        return self.fit(data, skills, gold, **kwargs).probas_

    def _vote(self, eng: Any, judgments: Judgments, weights: np.ndarray | None,
              rng: np.random.Generator) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        tie_key = self._tie_key
        post, codes = weighted_vote(eng, judgments, weights, tie_key)
        return weights, worker_agreement(eng, weights, tie_key, codes=codes), post, codes


class _Voted:
    """``labels_`` / ``probas_`` of a :class:`GoldMajorityVote`: plain attributes, except that after
    a fit that voted on nothing (a worker without gold, ``on_missing_skill="error"``) reading one
    raises an AttributeError that says why and what to do."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        if self.name in obj.__dict__:
            return obj.__dict__[self.name]
        raise AttributeError(obj.__dict__.get("_unvoted") or f"{type(obj).__name__!r} object has no attribute "
                             f"{self.name!r}")

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value

    def __delete__(self, obj: Any) -> None:
        if obj.__dict__.pop(self.name, _Voted) is _Voted:
            raise AttributeError(self.name)


#: the start of the warning of a GoldMajorityVote fit that measured skills only
_SKILLS_ONLY = "GoldMajorityVote measured skills_ only"


@register("gold_mv", "gold_majority_vote", "goldmv")
@with_common_params
class GoldMajorityVote(VoteAggregator):
    r"""Majority vote weighted by each worker's accuracy on the gold tasks.

    ``w_w`` = share of the worker's distinct answers on gold tasks that equal the gold label; then
    the weighted vote of :class:`MajorityVote`. After ``fit``, gold tasks keep their gold label;
    ``fit_predict(data, gold)`` is crowd-kit's, ``fit(data, gold).predict(data)``: every task voted.
    A worker with no gold task has no skill (``skills_`` NaN). By default (``on_missing_skill=
    "error"``) ``fit`` then does as crowd-kit's: it measures ``skills_`` and votes on nothing (no
    ``labels_`` / ``probas_``, with a warning), and ``predict(data)`` / ``fit_predict`` raise for
    data holding such a worker (new data without them is voted); ``on_missing_skill`` gives such
    workers a default weight or ignores them.

    Parameters
    ----------
    {common}
    Attributes
    ----------
    skills_ (accuracy on gold, NaN without gold tasks), labels_, probas_ (those of the last
    ``predict(data)`` / ``predict_proba(data)`` once called with data, as in crowd-kit).
    """

    _predict_updates = True

    _require_gold = True
    _fit_private = VoteAggregator._fit_private + ("_unvoted",)
    labels_ = _Voted()
    probas_ = _Voted()

    def __init__(self, *, on_missing_skill: str = "error", default_skill: float | None = None,
                 tie_break: str = "low", random_state: Any = None, engine: Any = None,
                 n_shards: int | None = None):
        self.on_missing_skill = on_missing_skill
        self.default_skill = default_skill
        self.tie_break = tie_break
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards

    def fit(self, data: Any, gold: Any = None, **kwargs: Any) -> "GoldMajorityVote":
        """Estimate skills on ``gold`` (crowd-kit: ``true_labels``) and vote on ``data``. A pandas
        gold may list a task more than once: each label is accepted (crowd-kit's rule), and such a
        task is not clamped."""
        gold = gold_keyword(self, gold, kwargs)
        try:
            self._fit(data, gold, **kwargs)
        finally:
            self.__dict__.pop("_accepted", None)
        if "_unvoted" in self.__dict__:  # crowd-kit's fit: skills only
            for name in ("labels_", "probas_", "posteriors_", "label_codes_"):
                self.__dict__.pop(name, None)
            if not quieted("skills_only"):
                warn(self._unvoted, UserWarning, stacklevel=caller_stacklevel())
        return self

    def _check_fitted(self) -> None:  # fitted once skills_ are (labels_ may wait for predict(data))
        if not hasattr(self, "skills_"):
            super()._check_fitted()

    def fit_predict(self, data: Any, gold: Any = None, **kwargs: Any) -> Any:
        """crowd-kit's ``fit_predict(data, true_labels)``: skills from the gold, then the weighted vote
        on every task of ``data``, gold tasks included (voted, not clamped: it returned the gold
        label where crowd-kit returns the vote)."""
        return self._fit_then(data, gold, kwargs)[0]

    def fit_predict_proba(self, data: Any, gold: Any = None, **kwargs: Any) -> Any:
        """As :meth:`fit_predict`, the vote shares."""
        return self._fit_then(data, gold, kwargs)[1]

    def _fit_then(self, data: Any, gold: Any, kwargs: dict[str, Any]) -> tuple[Any, Any]:
        gold = gold_keyword(self, gold, kwargs)
        with quiet("zero_weight", "skills_only"):  # the vote on the same tasks below says it (or raises)
            self.fit(data, gold, **kwargs)
        if hasattr(self, "_vote_weights"):  # an empty fit has only its empty results
            # crowd-kit's predict(data) stores its labels_ and probas_: the vote on the judgments the
            # fit encoded (reading data again ignored the fit's duplicates= / on_invalid=, and found a
            # one-shot Arrow stream empty)
            self._vote_on(self.judgments_)
        return self.labels_, self.probas_

    def _encode_gold(self, gold: Any, judgments: Judgments) -> np.ndarray | None:
        layers = gold_layers(gold)
        if len(layers) == 1:
            return super()._encode_gold(gold, judgments)
        codes = np.stack([super(GoldMajorityVote, self)._encode_gold(g, judgments) for g in layers])
        k = judgments.n_labels
        t, layer = np.nonzero(codes.T >= 0)
        self._accepted = np.unique(t.astype(np.int64) * k + codes[layer, t])
        several = (codes >= 0).sum(axis=0) > 1
        return np.where(several, -1, codes.max(axis=0)).astype(np.int32)

    def _vote(self, eng: Any, judgments: Judgments, weights: np.ndarray | None,
              rng: np.random.Generator) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        tie_key = self._tie_key
        acc = worker_agreement(eng, None, None, "gold", getattr(self, "_accepted", None))
        missing = np.isnan(acc)
        if self.on_missing_skill == "error" and missing.any():  # crowd-kit: predict(data) raises for them
            self._unvoted = (
                f"{_SKILLS_ONLY}: {int(missing.sum())} of {acc.size} worker(s) answered no gold task "
                f"({examples(judgments.worker_names[missing])}), so it voted on nothing, as crowd-kit's fit "
                "(labels_ and probas_ come from predict(data), which raises for data holding such a worker); "
                "pass on_missing_skill='value' with default_skill=..., or 'ignore' to drop their judgments")
            return acc, acc, None, None  # type: ignore[return-value]
        post, codes = weighted_vote(eng, judgments, self._fill_missing(acc, judgments.worker_names), tie_key)
        return acc, acc, post, codes


@register("wawa", "worker_agreement_with_aggregate")
@with_common_params
class Wawa(VoteAggregator):
    r"""Worker Agreement With Aggregate (crowd-kit; Ustalov et al., JOSS 2024).

    1. plain majority vote; 2. ``w_w`` = share of the worker's distinct answers equal to the vote's
    label; 3. majority vote weighted by ``w``. ``skills_`` holds ``w``. As in crowd-kit,
    ``predict(data)`` / ``predict_proba(data)`` replace ``labels_`` and ``probas_`` (so does
    :class:`ZeroBasedSkill`'s).

    Parameters
    ----------
    {common}
    """

    _predict_updates = True

    def __init__(self, *, tie_break: str = "low", random_state: Any = None, engine: Any = None,
                 n_shards: int | None = None, on_missing_skill: str = "error",
                 default_skill: float | None = None):
        self.tie_break = tie_break
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.on_missing_skill = on_missing_skill
        self.default_skill = default_skill

    def fit(self, data: Any, gold: Any = None, **kwargs: Any) -> "Wawa":
        return self._fit(data, gold, **kwargs)

    def _vote(self, eng: Any, judgments: Judgments, weights: np.ndarray | None,
              rng: np.random.Generator) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        tie_key = self._tie_key
        skill = worker_agreement(eng, None, tie_key)
        post, codes = weighted_vote(eng, judgments, skill, tie_key)
        return skill, skill, post, codes


@register("zbs", "zero_based_skill", "zero-based-skill")
@with_common_params
class ZeroBasedSkill(VoteAggregator, IterativeAggregator):
    r"""Zero-Based Skill (crowd-kit; Ustalov et al., JOSS 2024): weighted vote with skills learned
    by a damped fixed-point iteration.

    Start from ``s_w = 1/K + eps`` (``K`` observed labels). Iteration ``i = 1, 2, ...``: multiply the
    learning rate by ``lr_reduce_factor`` when ``i`` is a multiple of ``lr_steps_to_reduce``; vote
    with weights ``s``; ``a_w`` = share of the worker's distinct answers equal to the vote's label;
    ``s <- s + lr (a - s)``. The result is the vote weighted by the final ``s``.

    Unlike crowd-kit, which always runs ``n_iter`` iterations, the loop stops when
    ``max_w |a_w - s_w| < tol``: the largest skill change per unit learning rate (equal to the
    change itself while ``lr = 1``), so a learning rate that has decayed cannot fake convergence.
    ``n_iter_``, ``converged_`` and ``history_`` (that residual per iteration) record the run, and
    a :class:`ConvergenceWarning` says when ``n_iter`` was reached (the labels then oscillate).
    This is not EM (there is no likelihood), but it runs on the one driver
    (:class:`~galton.aggregator._base.IterativeAggregator`): every data pass, the "E-step", is one
    ``engine.map_sum`` of agreement counts; the "M-step" moves the skills; ``history_`` holds the
    residual, which is also the change convergence tests. ``fit(..., checkpoint_dir=...)`` saves
    the skills and the learning rate, and a stopped fit resumes bit for bit.

    Parameters
    ----------
    n_iter : int, default 100
        Maximum number of iterations (``max_iter`` is accepted too: the same limit; both set to different values is
        refused).
    lr_init, lr_steps_to_reduce, lr_reduce_factor : learning-rate schedule (crowd-kit's defaults).
    eps : float, default 1e-5
        Added to the initial skill ``1/K`` (crowd-kit's use of it).
    tol : float, default 1e-7
        Convergence threshold on ``max_w |a_w - s_w|``.
    progress : bool, optional
        Show a progress bar for long fits.
    {common}
    """

    _predict_updates = True
    monotone = False
    change_name = "max |agreement - skill|"

    def __init__(self, n_iter: int = 100, lr_init: float = 1.0, lr_steps_to_reduce: int = 20,
                 lr_reduce_factor: float = 0.5, eps: float = 1e-5, *, tol: float = 1e-7,
                 max_iter: int | None = None, tie_break: str = "low", random_state: Any = None,
                 engine: Any = None, n_shards: int | None = None, progress: bool | None = None,
                 on_missing_skill: str = "error", default_skill: float | None = None):
        self.n_iter = n_iter
        self.lr_init = lr_init
        self.lr_steps_to_reduce = lr_steps_to_reduce
        self.lr_reduce_factor = lr_reduce_factor
        self.eps = eps
        self.tol = tol
        self.max_iter = max_iter
        self.tie_break = tie_break
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress
        self.on_missing_skill = on_missing_skill
        self.default_skill = default_skill

    def fit(self, data: Any, gold: Any = None, **kwargs: Any) -> "ZeroBasedSkill":
        """Learn the skills and vote; ``checkpoint_dir`` / ``checkpoint_every`` as
        :meth:`galton.aggregator.EMAggregator.fit` (the skills and the learning rate are saved)."""
        return self._fit(data, gold, **kwargs)

    def _check_params(self) -> None:
        super()._check_params()
        limit = self._iter_limit_name()  # both set to different values: refused
        check_count(limit, getattr(self, limit))
        check_count("lr_steps_to_reduce", self.lr_steps_to_reduce, 1)
        check_real("lr_init", self.lr_init, 0, above=True, finite=True)
        check_real("lr_reduce_factor", self.lr_reduce_factor, 0, above=True)
        check_real("tol", self.tol)  # tol <= 0: every iteration
        check_real("eps", self.eps, 0, finite=True)

    def _vote(self, eng: Any, judgments: Judgments, weights: np.ndarray | None,
              rng: np.random.Generator) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        params, post = self._run(eng, judgments, rng)
        self._params = params
        skill = params["skill"]
        warn_zero_weight_tasks(eng, judgments.task_names, skill)
        return skill, skill, post, label_codes(post, np.arange(post.shape[0]), params["tie_key"])

    # ---------------------------------------------------------------- the driver's pieces
    def _init_state(self, engine: Any, judgments: Any,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        """Skills ``1/K + eps`` (``K``: labels observed); the memory holds them too (the M-step
        moves them), with the learning rate and the iteration count of its schedule."""
        n_obs = int(np.count_nonzero(engine.map_sum(shard_label_counts)))
        skill = np.full(judgments.n_workers, 1.0 / n_obs + self.eps)
        tie_key = self._tie_key
        return ({"skill": skill, "tie_key": tie_key},
                {"skill": skill, "tie_key": tie_key, "lr": float(self.lr_init), "it": 0})

    def _e_step(self, shard: Shard, params: dict[str, Any]) -> dict[str, np.ndarray]:
        """Agreement counts of each worker with the vote weighted by the current skills."""
        return shard_agreement(shard, params["skill"], params["tie_key"])

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        """The residual ``max_w |a_w - s_w|`` (what ``history_`` holds and convergence tests)."""
        return float(np.max(np.abs(agreement_share(stats) - params["skill"])))

    def _change(self, history: list[float], n: int) -> float:
        return history[-1]

    def _progress_info(self, obj: float, delta: float) -> str:
        return f"max |agreement - skill| {obj:.2e}"

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``s <- s + lr (a - s)``, the learning rate multiplied by ``lr_reduce_factor`` first in
        every ``lr_steps_to_reduce``-th iteration."""
        it, lr = memory["it"] + 1, memory["lr"]
        if it % self.lr_steps_to_reduce == 0:
            lr *= self.lr_reduce_factor
        skill = memory["skill"]
        skill = skill + lr * (agreement_share(stats) - skill)
        tie_key = memory["tie_key"]
        return {"skill": skill, "tie_key": tie_key}, {"skill": skill, "tie_key": tie_key, "lr": lr, "it": it}

    def _posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        return shard_vote_shares(shard, params["skill"])
