"""The fit plumbing of the voting models (:mod:`galton.aggregator.majority_vote`):
:class:`VoteAggregator` (parameters, gold, user skills, missing skills, ``predict`` on new data)
and the readers of skills and gold given as Series, dicts or tables.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._warnings import caller_stacklevel, warn
from ..data._encode import id_lookup, object_array
from ..data._validate import float_values
from ..judgments import Judgments, encode_gold, lookup, to_arrow
from ._base import BaseAggregator
from ._engine import engine_in_use, open_engine
from ._layout import crowdkit_result
from .votes_shard import examples, weighted_vote

__all__ = ["VoteAggregator", "skill_array", "gold_layers", "with_common_params", "one_skill_each",
           "check_skill_values", "unmatched_skills"]

_MISSING = ("error", "value", "ignore")
_TIES = ("low", "random")


# --------------------------------------------------------------------------------------------------
# skills and gold as the user gives them
# --------------------------------------------------------------------------------------------------
def _keyed(obj: Any, key_col: str, value_col: str,
           numeric: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """(keys, values) of a pandas Series (index -> value) or a dict key -> value; None otherwise
    (a dict with ``key_col`` and ``value_col`` entries is a table of columns, not a mapping)."""
    if hasattr(obj, "index") and getattr(obj, "ndim", 0) == 1 and hasattr(obj, "to_numpy"):
        keys = np.asarray(obj.index.to_numpy())
        values = float_values(obj, keys) if numeric else obj.to_numpy()
    elif isinstance(obj, dict) and not (key_col in obj and value_col in obj):
        keys, values = np.asarray(list(obj.keys())), np.asarray(list(obj.values()))
    else:
        return None
    return (keys.astype(object) if keys.dtype.kind in "US" else keys), values


def skill_array(skills: Any, worker_names: np.ndarray, default: float | None = None) -> np.ndarray:
    """One float per worker code from a pandas Series indexed by worker, a dict worker -> skill, a
    frame / table with columns ``worker`` and ``skill``, or an array in worker-code order (sorted
    worker ids). NaN where a worker has no skill. Keys find workers as gold and new data do (text
    ``"7"`` is worker 7 but ``"007"`` / ``"7.0"`` none, the integer 7 worker ``"7"``, a ``uuid.UUID``
    its text); with ``default`` (``on_missing_skill="value"``), keys that name no worker at all raise
    a warning."""
    n = worker_names.size
    pairs = _keyed(skills, "worker", "skill", numeric=True)
    if pairs is None and (isinstance(skills, dict) or hasattr(skills, "columns")
                          or hasattr(skills, "__arrow_c_stream__")):
        table = to_arrow(skills)
        other = [c for c in table.column_names if c != "worker"]
        if "worker" not in table.column_names or not ("skill" in other or len(other) == 1):
            raise ValueError(f"a skills table needs columns 'worker' and 'skill'; it has {table.column_names}")
        workers = table.column("worker").to_pylist()
        one_skill_each(workers)
        values = table.column("skill" if "skill" in other else other[0]).to_pylist()
        pairs = _keyed(dict(zip(workers, values)), "", "")
    elif pairs is not None:
        one_skill_each(pairs[0].tolist())
    if pairs is None:
        arr = np.asarray(skills, dtype=float)
        if arr.shape != (n,):
            raise ValueError(
                f"skills as an array must hold one value per worker in worker-code order (the sorted "
                f"worker ids): expected shape ({n},), got {arr.shape}; or pass a Series indexed by worker"
            )
        return arr.copy()
    keys, values = pairs
    idx = id_lookup(worker_names, keys)  # as gold and new data find workers: "7" is worker 7, 7 worker "7"
    hit = idx[idx >= 0]
    counts = np.bincount(hit, minlength=n)
    if (counts > 1).any():  # "7" and "07" (or 7 and "7") both worker 7: the key order chose its skill
        twice = object_array(k for k, i in zip(keys.tolist(), idx.tolist()) if i >= 0 and counts[i] > 1)
        raise ValueError(f"skills name {int((counts > 1).sum())} worker(s) by several keys ({examples(twice)}); "
                         "give one skill per worker, keyed as the data's worker column holds the ids")
    if default is not None and keys.size and n and not hit.size:
        unmatched_skills(keys, worker_names, default)
    out = np.full(n, np.nan)
    out[idx[idx >= 0]] = float_values(values, keys)[idx >= 0]
    return out


def unmatched_skills(keys: np.ndarray, worker_names: np.ndarray, default: float) -> None:
    """Warn that the skill ``keys`` name none of the workers (every worker takes ``default``: the
    vote is unweighted), naming the types of both when they differ."""
    kinds = [sorted({type(v).__name__ for v in a.tolist()}) for a in (keys, worker_names)]
    types = f" ({'/'.join(kinds[0])} keys, {'/'.join(kinds[1])} workers)" if kinds[0] != kinds[1] else ""
    warn(f"skills name none of the {worker_names.size} worker(s) of the data{types}: keys "
         f"{examples(keys)}, workers {examples(worker_names)}; every worker takes default_skill="
         f"{default} (the vote is unweighted); key the skills by the data's worker ids",
         UserWarning, stacklevel=caller_stacklevel())


def one_skill_each(workers: list[Any]) -> None:
    """Refuse skills that name a worker twice: the last value won, so the row order chose the vote
    (also SegmentationMajorityVote's check)."""
    if len(set(workers)) == len(workers):
        return
    seen: set[Any] = set()
    repeated: dict[Any, None] = {}  # in order of their second appearance
    for w in workers:
        if w in seen:
            repeated[w] = None
        seen.add(w)
    shown = examples(np.asarray(list(repeated), dtype=object))
    raise ValueError(
        f"skills name {len(repeated)} worker(s) more than once ({shown}); give one skill per worker "
        "(drop the repeats, or combine them first, e.g. skills.groupby(level=0).mean())"
    )


def check_skill_values(raw: np.ndarray, worker_names: np.ndarray) -> None:
    """Refuse skills (one per worker of ``worker_names``; NaN: none) that are negative or infinite
    (also SegmentationMajorityVote's check)."""
    bad = ~np.isnan(raw) & ~(np.isfinite(raw) & (raw >= 0))
    if bad.any():  # vote shares of negative weights are no probabilities (crowd-kit's flip sign)
        raise ValueError(
            f"skills must be finite and >= 0; {int(bad.sum())} worker(s) have other values "
            f"({examples(worker_names[bad])} have {examples(raw[bad])}); clip them at 0 "
            "(skills.clip(lower=0): a worker worse than random then counts nothing), or use the "
            "model that made them (MMSR's labels_ weigh its signed skills)"
        )


def _without_unvoted_labels(probas: Any, judgments: Any, weights: np.ndarray | None) -> Any:
    """A pandas ``probas`` without the labels that only ignored workers gave (``on_missing_skill=
    "ignore"``, NaN weights): crowd-kit drops their rows before it votes, and with them the column."""
    if (weights is None or not type(probas).__module__.startswith("pandas") or not hasattr(judgments, "label")
            or not np.isnan(weights).any()):
        return probas
    known = ~np.isnan(weights[judgments.worker])
    given = np.bincount(judgments.label[known], minlength=judgments.n_labels) > 0
    return probas if given.all() else probas.iloc[:, np.flatnonzero(given)]


def _keyed_by_tasks(obj: Any, judgments: Judgments) -> bool:
    """True when ``obj`` maps keys to values and its keys are task ids, none a worker id."""
    if obj is None:
        return False
    keys = (_keyed(obj, "task", "label") or (np.zeros(0),))[0]
    return bool(keys.size and (id_lookup(judgments.worker_names, keys) < 0).all()  # as skill_array finds them
                and (lookup(judgments.task_names, keys) >= 0).any())


def gold_layers(gold: Any) -> list[Any]:
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
    #: each worker's skill (a frame in the fit's type); declared here because fit sets it in a nested
    #: function, where type checkers do not look for attributes
    skills_: Any
    _require_gold = False
    #: the second argument is worker skills and gold comes by name, as in crowd-kit's
    #: ``MajorityVote.fit(data, skills)`` (the others take gold second)
    _skills_second = False
    #: predict(data) / predict_proba(data) replace labels_ and probas_ with the new data's, as
    #: crowd-kit's GoldMajorityVote, Wawa and ZeroBasedSkill do (the fitted skills stay)
    _predict_updates = False
    _empty_attrs = {"skills_": ("worker", "skill")}
    _fit_private = BaseAggregator._fit_private + ("_vote_weights", "_tie_key")

    def _check_params(self) -> None:
        if self.tie_break not in _TIES:
            raise ValueError(f"tie_break must be 'low' or 'random', not {self.tie_break!r}")
        if self.on_missing_skill not in _MISSING:
            raise ValueError(
                f"on_missing_skill must be 'error', 'value' or 'ignore', not {self.on_missing_skill!r}"
            )
        if not self._skills_second:  # the models that always weigh workers (MajorityVote: with skills only)
            self._check_default_skill()

    def _check_default_skill(self) -> None:
        """``default_skill`` with ``on_missing_skill``: checked where skills are used, as crowd-kit's
        ``MajorityVote`` checks them only when ``fit`` is given skills."""
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
        check_skill_values(raw, worker_names)
        missing = np.isnan(raw)
        if not missing.any() or self.on_missing_skill == "ignore":
            return raw
        if self.on_missing_skill == "value":
            return np.where(missing, float(self.default_skill), raw)  # type: ignore[arg-type]
        raise ValueError(
            f"{type(self).__name__}: no skill for {int(missing.sum())} of {raw.size} worker(s) "
            f"({examples(worker_names[missing])}); give every worker a skill, or pass "
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
            warn("gold shares no task with the judgments; it is ignored", UserWarning,
                 stacklevel=caller_stacklevel())
            return None
        return codes

    def _fit(self, data: Any, gold: Any, skills: Any = None, *, engine: Any = None,
             n_shards: int | None = None, output: str | None = None, task_col: str = "task",
             worker_col: str = "worker", label_col: str = "label",
             checkpoint_dir: str | os.PathLike[str] | None = None, checkpoint_every: int = 1,
             **encode_options: Any) -> Any:
        self._reset()  # the previous fit's results go first, also when this fit is refused
        self._check_params()
        judgments, _ = self._prepare(data, None, task_col=task_col, worker_col=worker_col,
                                     label_col=label_col, **encode_options)
        if judgments.n_judgments == 0:
            return self._fit_empty(judgments, output)
        if self._skills_second and _keyed_by_tasks(skills, judgments):
            raise ValueError(
                f"{type(self).__name__}.fit(data, skills): the second argument is worker skills (crowd-kit's "
                "order), but its keys are task ids, none a worker id; pass known labels as gold=..."
            )
        gold_codes = self._encode_gold(gold, judgments)
        weights = None
        if skills is not None:
            self._check_default_skill()
            default = self.default_skill if self.on_missing_skill == "value" else None
            weights = self._fill_missing(skill_array(skills, judgments.worker_names, default), judgments.worker_names)

        def run(eng: Any, rng: np.random.Generator) -> Any:
            self._tie_key = int(rng.integers(0, 2**63 - 1)) if self.tie_break == "random" else None
            return self._vote(eng, judgments, weights, rng)

        def store(result: Any) -> None:
            vote_w, skill, post, codes = result
            self._store(judgments, post, output, codes)
            self.probas_ = _without_unvoted_labels(self.probas_, judgments, weights)
            kept = np.ones(skill.size, dtype=bool) if weights is None else ~np.isnan(weights)
            # workers whose judgments on_missing_skill="ignore" dropped have no skill (crowd-kit)
            self.skills_ = self._out.per_worker(judgments.worker_names[kept], skill[kept], "skill")
            self._vote_weights = vote_w

        return self._fit_lifecycle(judgments, output, run, store, gold_codes=gold_codes, engine=engine,
                                   n_shards=n_shards, checkpoint_dir=checkpoint_dir,
                                   checkpoint_every=checkpoint_every)

    def _vote(self, eng: Any, judgments: Judgments, weights: np.ndarray | None,
              rng: np.random.Generator) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        """(vote weights, skills, task x label shares, label codes); ``self._tie_key`` holds the
        tie key of this fit (None: ties go low); ``rng``: the fit's random generator, after the
        tie key was drawn."""
        raise NotImplementedError

    def _predict_new(self, data: Any) -> tuple[Any, Any]:
        """Vote on new judgments with the fitted weights (unknown workers: ``on_missing_skill``)."""
        return self._vote_on(self._new_judgments(data, fitted_labels=False))

    def _vote_on(self, new: Judgments) -> tuple[Any, Any]:
        """Labels and shares of the weighted vote on encoded judgments ``new`` (the fit's own, or new
        data's) with the fitted weights."""
        fitted: Judgments = self.judgments_
        weights = None
        if self._vote_weights is not None:
            idx = fitted.worker_index(new.worker_names)  # unknown workers: on_missing_skill
            raw = np.where(idx >= 0, self._vote_weights[np.maximum(idx, 0)], np.nan)
            weights = self._fill_missing(raw, new.worker_names)
        eng, own = open_engine(self, None, None)
        try:
            with engine_in_use(eng):
                eng.load(new, None)
                post, codes = weighted_vote(eng, new, weights, self._tie_key)
        finally:
            if own:
                eng.close()
        out = self._new_out(new)
        labels = out.labels(new.task_names, new.label_names, codes)
        probas = _without_unvoted_labels(out.probas(new.task_names, new.label_names, post), new, weights)
        labels = crowdkit_result(self, "labels_", labels, new, fitted)
        probas = crowdkit_result(self, "probas_", probas, new, fitted)
        if self._predict_updates:  # crowd-kit's predict(data) stores what it returns
            self.labels_, self.probas_ = labels, probas
        return labels, probas


_COMMON_PARAMS = """
    tie_break : {"low", "random"}, default "low"
        Ties go to the smallest label in sorted order (``"low"``), or to a tied label drawn with a
        hash of (``random_state``, task, label): reproducible and independent of row order.
    random_state : int, Generator or None
        Seeds ``tie_break="random"``.
    engine, n_shards
        Where the shards live: None, "local", "ray" or an engine object, and how many task shards
        (``fit(engine=..., n_shards=...)`` overrides).
    on_missing_skill : {"error", "value", "ignore"}, default "error"
        What to do with a worker that has no skill (user skills, a worker without gold tasks, or a
        new worker in ``predict``): raise (GoldMajorityVote: in ``predict``, as crowd-kit; its fit
        then measures the skills only), use ``default_skill``, or drop the worker's judgments (a
        task left without judgments raises; with pandas, a label only they gave leaves ``probas_``,
        as in crowd-kit).
    default_skill : float, optional
        The weight of such a worker, with ``on_missing_skill="value"`` (both are checked where
        skills are used: by MajorityVote only when ``fit`` is given skills, as in crowd-kit). Skills
        must be finite and >= 0, one per worker; a task whose voters all weigh 0 takes its own
        unweighted votes, with a warning.
"""


def with_common_params(cls: type) -> type:
    """Put the parameters every voting model shares where its docstring says ``{common}``."""
    cls.__doc__ = (cls.__doc__ or "").replace("    {common}\n", _COMMON_PARAMS.strip("\n") + "\n\n")
    return cls
