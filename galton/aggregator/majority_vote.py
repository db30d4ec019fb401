"""Voting models: majority vote, gold-weighted vote, Wawa and Zero-Based Skill.

All four are one computation with different worker weights ``w``::

    share_t(k) = sum_{j in task t, y_j = k} w_{worker(j)} / sum_{j in task t} w_{worker(j)}

- :class:`MajorityVote` — ``w = 1``, or weights the user gives (``skills=``);
- :class:`GoldMajorityVote` — ``w`` = each worker's accuracy on the gold tasks;
- :class:`Wawa` — ``w`` = each worker's agreement with the plain majority vote;
- :class:`ZeroBasedSkill` — ``w`` moved step by step towards the agreement with the weighted vote.

The shared pieces are small functions below, each run on a shard through the engine
(``engine.gather`` for the per-task shares, ``engine.map_sum`` for the per-worker agreement counts),
so the same code runs in-process and on Ray.

Tie rule. A task's label is the label with the largest share; among tied labels the lowest label
code wins, which is the smallest label value in sorted order (numbers numerically, strings
lexicographically, ``False < True``). ``tie_break="random"`` instead picks uniformly among the tied
labels with a hash of (``random_state``, task code, label code): reproducible for a seed and
independent of row order and of sharding. Weighted votes are summed in a fixed order (by task,
label, worker), so a tie between floating-point sums does not depend on the order of the rows.

Gold. Tasks with a known label (``fit(data, gold)``) are clamped to it: their probabilities are
one-hot and the agreement that defines the skills is measured against it.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from .._math import splitmix64
from ..judgments import Judgments, encode_gold, lookup, to_arrow
from ._base import BaseAggregator, IterativeAggregator, argmax_ties_low, tied_to_max
from ._engine import Shard, open_engine
from ._kernels import vote_counts
from ._registry import register

__all__ = ["MajorityVote", "GoldMajorityVote", "Wawa", "ZeroBasedSkill"]

_MISSING = ("error", "value", "ignore")
_TIES = ("low", "random")


# --------------------------------------------------------------------------------------------------
# per-shard functions (module level: picklable for the Ray engine)
# --------------------------------------------------------------------------------------------------
def _sorted_votes(shard: Shard) -> tuple[np.ndarray, np.ndarray]:
    """``(task * K + label, worker)`` of the shard's judgments sorted by (task, label, worker);
    cached in ``shard.state``. Summing weights in this order makes float sums row-order free."""
    cached = shard.state.get("_mv_sorted")
    if cached is None:
        flat = shard.task.astype(np.int64) * shard.n_labels + shard.label
        order = np.lexsort((shard.worker, flat))
        cached = (flat[order], shard.worker[order])
        shard.state["_mv_sorted"] = cached
    return cached


def _distinct_answers(shard: Shard) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (task, worker, label) triples; a worker's repeated identical answer counts once in
    the agreement, as in crowd-kit's ``get_accuracy``. Cached in ``shard.state``."""
    cached = shard.state.get("_mv_distinct")
    if cached is None:
        w, k = shard.n_workers, shard.n_labels
        key = np.sort((shard.task.astype(np.int64) * w + shard.worker) * k + shard.label)
        key = key[np.r_[True, key[1:] != key[:-1]]]  # sort-based unique: np.unique hashes, 50x slower
        cached = ((key // (w * k)).astype(np.int32), ((key // k) % w).astype(np.int32),
                  (key % k).astype(np.int32))
        shard.state["_mv_distinct"] = cached
    return cached


def shard_vote_shares(shard: Shard, weights: np.ndarray | None) -> np.ndarray:
    """(n_tasks_in_shard, K) vote shares of one shard, gold tasks clamped to one-hot.

    ``weights`` is one weight per worker code (None: every vote counts 1); NaN marks a worker whose
    votes are ignored. A task whose voters all weigh 0 gets uniform shares; a task with no voter
    left gets NaN (the caller raises).
    """
    n_t, k = shard.n_tasks, shard.n_labels
    if weights is None:
        votes = vote_counts(shard.task, shard.label, n_t, k).astype(float)
        voted = np.ones(n_t, dtype=bool)
    else:
        flat, worker = _sorted_votes(shard)
        w = weights[worker]
        known = ~np.isnan(w)
        voted = np.ones(n_t, dtype=bool)
        if not known.all():
            flat, w = flat[known], w[known]
            voted = np.bincount(flat // k, minlength=n_t) > 0
        votes = np.bincount(flat, weights=w, minlength=n_t * k).reshape(n_t, k)
    total = votes.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = votes / total[:, None]
    shares[voted & (total <= 0)] = 1.0 / k
    shares[~voted] = np.nan
    g = np.flatnonzero(shard.gold >= 0)
    shares[g] = 0.0
    shares[g, shard.gold[g]] = 1.0
    return shares


def _tie_noise(task_ids: np.ndarray, k: int, key: int) -> np.ndarray:
    """(n, k) uint64 hash of (key, task code, label code): splitmix64 finaliser."""
    x = task_ids.astype(np.uint64)[:, None] * np.uint64(k) + np.arange(k, dtype=np.uint64)
    return splitmix64(x + np.uint64(key))


def label_codes(shares: np.ndarray, task_ids: np.ndarray, tie_key: int | None) -> np.ndarray:
    """The label code of each task: the largest share; ties to the lowest code (``tie_key`` None)
    or to a tied label chosen by a hash of (``tie_key``, global task code, label code)."""
    if tie_key is None:
        return argmax_ties_low(shares)
    tied = tied_to_max(shares)
    noise = _tie_noise(task_ids, shares.shape[1], tie_key) | np.uint64(1)
    return np.argmax(np.where(tied, noise, np.uint64(0)), axis=1).astype(np.int32)


def shard_agreement(shard: Shard, weights: np.ndarray | None, tie_key: int | None,
                    against: str = "labels", accepted: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-worker counts of distinct answers that agree with a reference label, and of all distinct
    answers on tasks that have one. The reference is the (weighted) vote's label (``"labels"``) or
    the gold label (``"gold"``, tasks without gold are skipped). ``accepted``: sorted keys
    ``global task code * K + label code`` of every accepted gold label, for tasks with several (an
    answer is right when it is any of them, as in crowd-kit's ``get_accuracy``)."""
    task, worker, label = _distinct_answers(shard)
    if accepted is not None:
        key = shard.task_ids[task].astype(np.int64) * shard.n_labels + label
        ok = np.isin(key // shard.n_labels, accepted // shard.n_labels)
        worker, hit = worker[ok], np.isin(key[ok], accepted).astype(float)
        return {"agree": np.bincount(worker, weights=hit, minlength=shard.n_workers),
                "total": np.bincount(worker, minlength=shard.n_workers).astype(float)}
    if against == "gold":
        ref = shard.gold
    else:
        ref = label_codes(shard_vote_shares(shard, weights), shard.task_ids, tie_key)
    r = ref[task]
    ok = r >= 0
    worker, hit = worker[ok], (label[ok] == r[ok]).astype(float)
    return {"agree": np.bincount(worker, weights=hit, minlength=shard.n_workers),
            "total": np.bincount(worker, minlength=shard.n_workers).astype(float)}


def shard_label_counts(shard: Shard) -> np.ndarray:
    """How often each label code occurs in the shard."""
    return np.bincount(shard.label, minlength=shard.n_labels)


# --------------------------------------------------------------------------------------------------
# driver-side helpers
# --------------------------------------------------------------------------------------------------
def _examples(values: np.ndarray, n: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:n].tolist())
    return shown + (", ..." if values.size > n else "")


def weighted_vote(engine: Any, judgments: Judgments, weights: np.ndarray | None,
                  tie_key: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Task x label vote shares (gathered over the shards) and the label code of each task."""
    post = engine.gather(shard_vote_shares, weights)
    lost = np.isnan(post[:, 0])
    if lost.any():
        raise ValueError(
            f"{int(lost.sum())} task(s) have no judgment from a worker with a known skill "
            f"({_examples(judgments.task_names[lost])}); give skills for their workers, or use "
            "on_missing_skill='value' with default_skill=..."
        )
    return post, label_codes(post, np.arange(post.shape[0]), tie_key)


def worker_agreement(engine: Any, weights: np.ndarray | None, tie_key: int | None,
                     against: str = "labels", accepted: np.ndarray | None = None) -> np.ndarray:
    """Each worker's share of distinct answers equal to the reference label; NaN for a worker with
    no task that has a reference (a worker without gold tasks, for ``against="gold"``)."""
    return agreement_share(engine.map_sum(shard_agreement, weights, tie_key, against, accepted))


def agreement_share(stats: dict[str, np.ndarray]) -> np.ndarray:
    """``agree / total`` of :func:`shard_agreement`'s counts added over the shards; NaN where a
    worker has no answer on a task with a reference label."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(stats["total"] > 0, stats["agree"] / stats["total"], np.nan)


def _keyed(obj: Any, key_col: str, value_col: str,
           numeric: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """(keys, values) of a pandas Series (index -> value) or a dict key -> value; None otherwise
    (a dict with ``key_col`` and ``value_col`` entries is a table of columns, not a mapping)."""
    if hasattr(obj, "index") and getattr(obj, "ndim", 0) == 1 and hasattr(obj, "to_numpy"):
        values = obj.to_numpy(dtype=float, na_value=np.nan) if numeric else obj.to_numpy()
        keys = np.asarray(obj.index.to_numpy())
    elif isinstance(obj, dict) and not (key_col in obj and value_col in obj):
        keys, values = np.asarray(list(obj.keys())), np.asarray(list(obj.values()))
    else:
        return None
    return (keys.astype(object) if keys.dtype.kind in "US" else keys), values


def skill_array(skills: Any, worker_names: np.ndarray) -> np.ndarray:
    """One float per worker code from a pandas Series indexed by worker, a dict worker -> skill, a
    frame / table with columns ``worker`` and ``skill``, or an array in worker-code order (sorted
    worker ids). NaN where a worker has no skill."""
    n = worker_names.size
    pairs = _keyed(skills, "worker", "skill", numeric=True)
    if pairs is None and (isinstance(skills, dict) or hasattr(skills, "columns")
                          or hasattr(skills, "__arrow_c_stream__")):
        table = to_arrow(skills)
        other = [c for c in table.column_names if c != "worker"]
        if "worker" not in table.column_names or not ("skill" in other or len(other) == 1):
            raise ValueError(f"a skills table needs columns 'worker' and 'skill'; it has {table.column_names}")
        pairs = _keyed(dict(zip(table.column("worker").to_pylist(),
                                table.column("skill" if "skill" in other else other[0]).to_pylist())), "", "")
    if pairs is None:
        arr = np.asarray(skills, dtype=float)
        if arr.shape != (n,):
            raise ValueError(
                f"skills as an array must hold one value per worker in worker-code order (the sorted "
                f"worker ids): expected shape ({n},), got {arr.shape}; or pass a Series indexed by worker"
            )
        return arr.copy()
    keys, values = pairs
    idx = lookup(worker_names, keys)
    out = np.full(n, np.nan)
    out[idx[idx >= 0]] = np.asarray(values, dtype=float)[idx >= 0]
    return out


def _keyed_by_workers(obj: Any, judgments: Judgments) -> bool:
    """True when ``obj`` maps keys to values and its keys are worker ids, none a task id."""
    if obj is None:
        return False
    keys = (_keyed(obj, "task", "label") or (np.zeros(0),))[0]
    return bool(keys.size and (lookup(judgments.task_names, keys) < 0).all()
                and (lookup(judgments.worker_names, keys) >= 0).any())


def _gold_layers(gold: Any) -> list[Any]:
    """Gold as a list of pandas Series with one label per task each: one item unless a pandas
    Series (or frame with task and label columns) lists a task with several distinct labels."""
    if type(gold).__module__.split(".")[0] != "pandas":
        return [gold]
    if getattr(gold, "ndim", 0) == 2:
        if not {"task", "label"} <= set(gold.columns):
            return [gold]
        gold = gold.set_index("task")["label"]
    if not gold.index.has_duplicates:
        return [gold]
    pairs = gold[gold.notna()]
    pairs = pairs[~_pair_seen(pairs)]
    rank = pairs.groupby(level=0).cumcount().to_numpy()
    return [pairs[rank == i] for i in range(int(rank.max()) + 1 if rank.size else 1)]


def _pair_seen(s: Any) -> np.ndarray:
    """Rows of a Series whose (index, value) pair occurred before."""
    return s.to_frame("v").assign(i=s.index).duplicated(["i", "v"]).to_numpy()


# --------------------------------------------------------------------------------------------------
# the shared estimator
# --------------------------------------------------------------------------------------------------
class VoteAggregator(BaseAggregator):
    """Fit plumbing shared by the voting models: encode, open the engine, run ``_vote``, store.

    Subclasses implement ``_vote(engine, judgments, weights, tie_key) -> (vote weights, skills,
    shares, label codes)``; the vote weights (NaN: missing) and the tie key are kept to score new
    data in ``predict`` (the tie key is set before ``_vote`` runs).
    """

    tie_break: str
    random_state: Any
    engine: Any
    n_shards: int | None
    on_missing_skill: str
    default_skill: float | None
    _require_gold = False
    #: a second argument keyed by worker ids (none of them a task id) is worker skills, as in
    #: crowd-kit's ``MajorityVote.fit(data, skills)``
    _skills_second = False
    #: predict(data) / predict_proba(data) replace labels_ and probas_ with the new data's, as
    #: crowd-kit's GoldMajorityVote, Wawa and ZeroBasedSkill do (the fitted skills stay)
    _predict_updates = False
    _empty_attrs = {"skills_": ("worker", "skill")}
    _fit_private = ("_params", "_out", "_vote_weights", "_tie_key")

    def _check_params(self) -> None:
        if self.tie_break not in _TIES:
            raise ValueError(f"tie_break must be 'low' or 'random', not {self.tie_break!r}")
        if self.on_missing_skill not in _MISSING:
            raise ValueError(
                f"on_missing_skill must be 'error', 'value' or 'ignore', not {self.on_missing_skill!r}"
            )
        if self.default_skill is not None and self.on_missing_skill != "value":
            raise ValueError("default_skill is used only with on_missing_skill='value'; set both or neither")
        if self.on_missing_skill == "value":
            if self.default_skill is None:
                raise ValueError("on_missing_skill='value' needs default_skill=<weight of an unknown worker>")
            if not (np.isfinite(self.default_skill) and self.default_skill >= 0):
                raise ValueError(f"default_skill must be a finite number >= 0, not {self.default_skill!r}")

    def _fill_missing(self, raw: np.ndarray, worker_names: np.ndarray) -> np.ndarray:
        """Apply ``on_missing_skill`` to NaN weights: raise, fill with ``default_skill`` or keep NaN
        (the judgments of those workers are then ignored)."""
        bad = ~np.isnan(raw) & ~(np.isfinite(raw) & (raw >= 0))
        if bad.any():
            raise ValueError(
                f"skills must be finite and >= 0; workers {_examples(worker_names[bad])} have "
                f"{_examples(raw[bad])}"
            )
        missing = np.isnan(raw)
        if not missing.any() or self.on_missing_skill == "ignore":
            return raw
        if self.on_missing_skill == "value":
            return np.where(missing, float(self.default_skill), raw)  # type: ignore[arg-type]
        raise ValueError(
            f"{type(self).__name__}: no skill for {int(missing.sum())} of {raw.size} worker(s) "
            f"({_examples(worker_names[missing])}); give every worker a skill, or pass "
            "on_missing_skill='value' with default_skill=..., or on_missing_skill='ignore' to drop "
            "their judgments"
        )

    def _encode_gold(self, gold: Any, judgments: Judgments) -> np.ndarray | None:
        name = type(self).__name__
        if gold is None:
            if self._require_gold:
                raise ValueError(
                    f"{name} needs gold labels: fit(data, gold) with a Series indexed by task, a dict "
                    "task -> label or a frame with columns task and label"
                )
            return None
        keys = (_keyed(gold, "task", "label") or (np.zeros(0),))[0]
        if keys.size and (lookup(judgments.task_names, keys) < 0).all():
            if (lookup(judgments.worker_names, keys) >= 0).any():
                raise ValueError(
                    f"{name}.fit(data, gold): the second argument is gold (true labels by task), but "
                    "its keys are worker ids; pass worker weights as skills=... (crowd-kit's "
                    "MajorityVote.fit(data, skills) takes them second)"
                )
        codes = encode_gold(gold, judgments)
        if not (codes >= 0).any():
            if self._require_gold:
                raise ValueError(
                    f"{name}: gold shares no task with the judgments; its task ids must match the "
                    "data's task column"
                )
            warnings.warn("gold shares no task with the judgments; it is ignored", UserWarning, stacklevel=4)
            return None
        return codes

    def _fit(self, data: Any, gold: Any, skills: Any = None, *, engine: Any = None,
             n_shards: int | None = None, output: str | None = None, task_col: str = "task",
             worker_col: str = "worker", label_col: str = "label",
             checkpoint_dir: str | os.PathLike[str] | None = None, checkpoint_every: int = 1,
             **encode_options: Any) -> Any:
        self._check_params()
        judgments, _ = self._prepare(data, None, task_col=task_col, worker_col=worker_col,
                                     label_col=label_col, **encode_options)
        if judgments.n_judgments == 0:
            return self._fit_empty(judgments, output)
        if self._skills_second and skills is None and _keyed_by_workers(gold, judgments):
            gold, skills = None, gold  # crowd-kit's MajorityVote.fit(data, skills)
        gold_codes = self._encode_gold(gold, judgments)
        self._check_memory(judgments)
        weights = None
        if skills is not None:
            weights = self._fill_missing(skill_array(skills, judgments.worker_names), judgments.worker_names)
        rng = np.random.default_rng(self.random_state)
        self._tie_key = int(rng.integers(0, 2**63 - 1)) if self.tie_break == "random" else None
        vote_w, skill, post, codes = self._in_engine(
            judgments, gold_codes, engine, n_shards, lambda eng: self._vote(eng, judgments, weights, rng),
            checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every)
        self._store(judgments, post, output)
        self.label_codes_ = codes
        self.labels_ = self._out.labels(judgments.task_names, judgments.label_names, codes)
        kept = np.ones(skill.size, dtype=bool) if weights is None else ~np.isnan(weights)
        # workers whose judgments on_missing_skill="ignore" dropped have no skill (crowd-kit)
        self.skills_ = self._out.per_worker(judgments.worker_names[kept], skill[kept], "skill")
        self._vote_weights = vote_w
        return self

    def _vote(self, eng: Any, judgments: Judgments, weights: np.ndarray | None,
              rng: np.random.Generator) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        """(vote weights, skills, task x label shares, label codes); ``self._tie_key`` holds the
        tie key of this fit (None: ties go low); ``rng``: the fit's random generator, after the
        tie key was drawn."""
        raise NotImplementedError

    def _predict_new(self, data: Any) -> tuple[Any, Any]:
        """Vote on new judgments with the fitted weights (unknown workers: ``on_missing_skill``)."""
        fitted: Judgments = self.judgments_
        tc, wc, lc = fitted.columns
        new = Judgments.from_any(data, task_col=tc, worker_col=wc, label_col=lc)
        weights = None
        if self._vote_weights is not None:
            idx = lookup(fitted.worker_names, new.worker_names)
            raw = np.where(idx >= 0, self._vote_weights[np.maximum(idx, 0)], np.nan)
            weights = self._fill_missing(raw, new.worker_names)
        eng, own = open_engine(self, None, None)
        try:
            eng.load(new, None)
            post, codes = weighted_vote(eng, new, weights, self._tie_key)
        finally:
            if own:
                eng.close()
        labels = self._out.labels(new.task_names, new.label_names, codes)
        probas = self._out.probas(new.task_names, new.label_names, post)
        if self._predict_updates:  # crowd-kit's predict(data) stores what it returns
            self.labels_, self.probas_ = labels, probas
        return labels, probas


_COMMON_PARAMS = """
    tie_break : {"low", "random"}, default "low"
        Ties go to the smallest label in sorted order (``"low"``), or to a tied label drawn with a
        hash of (``random_state``, task, label): reproducible and independent of row order.
    random_state : int, Generator or None
        Seeds ``tie_break="random"``.
    engine : None, "local", "ray" or an engine object; n_shards : int, optional
        Where the shards live (``fit(engine=..., n_shards=...)`` overrides).
    on_missing_skill : {"error", "value", "ignore"}, default "error"
        What to do with a worker that has no skill (user skills, a worker without gold tasks, or a
        new worker in ``predict``): raise, use ``default_skill``, or drop the worker's judgments
        (a task left without judgments raises).
    default_skill : float, optional
        The weight of such a worker, with ``on_missing_skill="value"``.
"""


def _with_common(cls: type) -> type:
    cls.__doc__ = (cls.__doc__ or "").replace("    {common}\n", _COMMON_PARAMS.strip("\n") + "\n\n")
    return cls


@register("mv", "majority_vote", "majority-vote")
@_with_common
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

    def fit(self, data: Any, gold: Any = None, skills: Any = None, **kwargs: Any) -> "MajorityVote":
        """Vote. ``skills``: worker weights (Series by worker, dict, table with worker and skill
        columns, or an array in worker-code order); ``gold``: known labels, clamped. A second
        argument keyed by worker ids is taken as skills (crowd-kit's ``fit(data, skills)``)."""
        return self._fit(data, gold, skills, **kwargs)

    def _vote(self, eng: Any, judgments: Judgments, weights: np.ndarray | None,
              rng: np.random.Generator) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        tie_key = self._tie_key
        post, codes = weighted_vote(eng, judgments, weights, tie_key)
        return weights, worker_agreement(eng, weights, tie_key), post, codes


@register("gold_mv", "gold_majority_vote", "goldmv")
@_with_common
class GoldMajorityVote(VoteAggregator):
    r"""Majority vote weighted by each worker's accuracy on the gold tasks.

    ``w_w`` = share of the worker's distinct answers on gold tasks that equal the gold label; then
    the weighted vote of :class:`MajorityVote`. Gold tasks keep their gold label (crowd-kit's
    ``fit_predict(data, gold)`` does not clamp: it is ``fit(data, gold).predict(data)`` here).
    A worker with no gold task has no skill (``skills_`` NaN): by default that is an error, as in
    crowd-kit; ``on_missing_skill`` gives such workers a default weight or ignores them.

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
        if "true_labels" in kwargs:
            gold = kwargs.pop("true_labels")
        try:
            return self._fit(data, gold, **kwargs)
        finally:
            self.__dict__.pop("_accepted", None)

    def _encode_gold(self, gold: Any, judgments: Judgments) -> np.ndarray | None:
        layers = _gold_layers(gold)
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
        post, codes = weighted_vote(eng, judgments, self._fill_missing(acc, judgments.worker_names), tie_key)
        return acc, acc, post, codes


@register("wawa", "worker_agreement_with_aggregate")
@_with_common
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
@_with_common
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
        Maximum number of iterations (``max_iter`` overrides it when given).
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
        if int(self.max_iter if self.max_iter is not None else self.n_iter) < 0:
            raise ValueError("n_iter (or max_iter) must be >= 0")
        if int(self.lr_steps_to_reduce) < 1:
            raise ValueError(f"lr_steps_to_reduce must be >= 1, not {self.lr_steps_to_reduce}")
        if not (self.lr_init > 0 and self.lr_reduce_factor > 0 and self.tol >= 0):
            raise ValueError("lr_init and lr_reduce_factor must be > 0 and tol >= 0")

    def _vote(self, eng: Any, judgments: Judgments, weights: np.ndarray | None,
              rng: np.random.Generator) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        params, post = self._run(eng, judgments, rng)
        skill = params["skill"]
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
