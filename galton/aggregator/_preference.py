"""Shared machinery of the preference models (Bradley-Terry family, Plackett-Luce).

Shards. A preference shard is a set of comparisons (or choice events), not a set of tasks: item
scores are global parameters and every statistic the models need (MM numerators and denominators,
log-likelihood, gradients, worker sums) is a sum over comparisons, so *any* partition of the rows
gives the same totals. Shards are contiguous blocks of rows; ``shard.task_ids`` holds the global row
indices so that ``engine.gather`` assembles per-row results (the driver's final "posteriors": each
comparison's fitted probability that its left item is better). The virtual comparisons of the prior
(every item against a pseudo-item of log-score 0) are data too: they live in the shard flagged
``holds_prior`` (the first one), which adds their terms to its statistics.

Driver. The models use the one iteration driver :meth:`EMAggregator._run` unchanged: an MM step
(Bradley-Terry, Crowd-BT, Plackett-Luce) or a quasi-Newton step (noisy Bradley-Terry) is an
``_m_step`` over additive statistics. :meth:`PreferenceAggregator.fit` replaces only the data
encoding (``Comparisons`` / ``Choices`` instead of ``Judgments``) and the result building
(:mod:`galton.aggregator._pref_results`). Checkpoints (``fit(..., checkpoint_dir=...)``) are the
driver's: the parameters and the model's ``memory`` (the Newman safeguard's last accepted point,
the L-BFGS state) are saved and a fit on the same data resumes bit-identically. A shard's digest
covers its comparisons (or choice events) and, through ``vocab``, the item names its codes stand for.

Standard errors. ``se`` comes from the Fisher information ``I`` of the log-scores (with worker parameters free:
its Schur complement, :mod:`._pref_workers`) and measures the score *relative to the average item* (only
differences of scores have meaning): exact, ``diag(P I^-1 P)`` with ``P`` the centring projection, up to
``DENSE_SE_MAX`` items; above it ``1 / sqrt(I_ii)`` (the information of an item with all others
held fixed, an underestimate for items whose opponents are themselves uncertain). Where the items
fall into groups that never meet (prompts whose answers are compared within the prompt), the exact
``se`` holds each group's location, which only the prior ties to the others, so it is wide for
comparisons within a group; the diagonal form leaves that out: Plackett-Luce on best-of-4 within
250 prompts (1,000 items) gave mean ``se`` 1.18, within 251 prompts 0.53, where the centred
scores' 95% intervals covered 87% (a simulation of the hunt of 2026-12-06). Crowd-BT's and noisy
Bradley-Terry's still cover less than stated on clean raters (reliability 1, at the edge of the
parameter space, estimated below it, so the scores' spread is overestimated: 64% for 95%; 94-95%
on raters of reliability U(0.6, 0.95); see :mod:`._pref_workers`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from .._math import EPS, log_sigmoid, sigmoid
from ..data._items import per_worker_model
from ..pairwise import Choices, Comparisons
from ._base import EMAggregator
from ._engine import planned_shards
from ._estimator import checked_options, fit_options_set
from ._params import check_real
from ._pref_kernels import bt_pass, vdot
from ._pref_mle import check_mle_exists
from ._pref_stop import distance_left, settled
from ._pref_results import DENSE_SE_MAX, Z95, ItemOutput, PreferenceResults

__all__ = ["PairShard", "ChoiceShard", "PreferenceAggregator", "PairwiseAggregator", "bt_stats",
           "theta_update", "best_shift", "prior_terms", "log_sigmoid", "sigmoid", "vocabulary_digest",
           "DENSE_SE_MAX", "Z95", "ItemOutput", "check_mle_exists"]

_ItemOutput = ItemOutput  # the name ratings.py imports (it may import ItemOutput from _pref_results)
#: ``fit`` returns the model it is called on: its own class, a subclass included, for type checkers
_Self = TypeVar("_Self", bound="PreferenceAggregator")


# --------------------------------------------------------------------------------------------------
# shards
# --------------------------------------------------------------------------------------------------
@dataclass
class PairShard:
    """A block of pairwise comparisons (global item and worker codes)."""

    task_ids: np.ndarray  # global row indices (for engine.gather)
    left: np.ndarray
    right: np.ndarray
    worker: np.ndarray
    outcome: np.ndarray
    n_items: int
    n_workers: int
    holds_prior: bool = False
    vocab: str = ""  # digest of the item names the codes stand for (set when checkpointing)
    state: dict = field(default_factory=dict, repr=False)

    @property
    def n_tasks(self) -> int:
        return int(self.task_ids.size)


@dataclass
class ChoiceShard:
    """A block of choice events in CSR layout (``items[ptr[e]:ptr[e+1]]`` offered in event e)."""

    task_ids: np.ndarray  # global event indices
    ptr: np.ndarray
    items: np.ndarray
    chosen: np.ndarray
    worker: np.ndarray
    n_items: int
    n_workers: int
    holds_prior: bool = False
    vocab: str = ""  # digest of the item names the codes stand for (set when checkpointing)
    state: dict = field(default_factory=dict, repr=False)

    @property
    def n_tasks(self) -> int:
        return int(self.task_ids.size)

    @property
    def event_of(self) -> np.ndarray:
        ev = self.state.get("_event_of")
        if ev is None:
            ev = np.repeat(np.arange(self.chosen.size, dtype=np.int64), np.diff(self.ptr))
            self.state["_event_of"] = ev
        return ev


def vocabulary_digest(names: np.ndarray) -> str:
    """Hash of a vocabulary (its dtype and values): codes mean nothing without the names they stand
    for, so the shards of a checkpointed fit carry it and other items with the same codes start over."""
    arr = np.asarray(names)
    raw = arr.astype(str) if arr.dtype == object else np.ascontiguousarray(arr)
    return hashlib.blake2b(str(arr.dtype).encode() + raw.tobytes(), digest_size=16).hexdigest()


def _blocks(n: int, n_shards: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, max(min(int(n_shards), n), 1) + 1).round().astype(np.int64)  # <= one block a row
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def make_pair_shards(c: Comparisons, n_shards: int) -> list[PairShard]:
    """Contiguous blocks of comparisons; the first holds the prior's virtual comparisons."""
    return [  # views of the read-only arrays (a Ray engine serialises each block anyway)
        PairShard(np.arange(a, b, dtype=np.int64), c.left[a:b], c.right[a:b], c.worker[a:b],
                  c.outcome[a:b], c.n_items, c.n_workers, holds_prior=(i == 0))
        for i, (a, b) in enumerate(_blocks(c.n_comparisons, n_shards))
    ]


def make_choice_shards(ch: Choices, n_shards: int) -> list[ChoiceShard]:
    out = []
    for i, (a, b) in enumerate(_blocks(ch.n_events, n_shards)):
        lo, hi = int(ch.ptr[a]), int(ch.ptr[b])
        out.append(ChoiceShard(np.arange(a, b, dtype=np.int64), ch.ptr[a:b + 1] - lo, ch.items[lo:hi].copy(),
                               ch.chosen[a:b].copy(), ch.worker[a:b].copy(), ch.n_items, ch.n_workers,
                               holds_prior=(i == 0)))
    return out


# --------------------------------------------------------------------------------------------------
# shared math
# --------------------------------------------------------------------------------------------------
def prior_terms(theta: np.ndarray, prior: float) -> float:
    """Log-density of the prior: ``prior`` virtual tied comparisons of every item against a
    pseudo-item of log-score 0, ``prior * sum(log σ(θ) + log σ(-θ)) / 2``."""
    return float(prior * (log_sigmoid(theta) - 0.5 * theta).sum())


def bt_stats(shard: PairShard, theta: np.ndarray, prior: float, newman: bool,
             eta: np.ndarray | None = None) -> dict[str, Any]:
    """Additive statistics of the Bradley-Terry updates ``θ_i <- log num_i - log den_i``.

    Every comparison is one game; ``t`` is its share of a win for the left item: the observed
    outcome (plain BT) or, given worker reliabilities ``eta`` (Crowd-BT), the expected true outcome
    ``t = o r1 + (1 - o)(1 - r0)``, where ``r1`` / ``r0`` are the posteriors that the worker reported
    truthfully given that they said left / right; ``truthful`` (per worker) sums those posteriors.

    - MM (Hunter 2004, eq. 3; Zermelo 1929), always returned: ``num_i`` = wins of i, ``den_i`` =
      sum over the games of i of ``1 / (p_i + p_j)``. The objective never decreases.
    - Newman (*JMLR* 24, 2023), with ``newman=True`` as ``n_num``/``n_den``: ``n_num_i`` = sum
      over the games i won of ``p_j / (p_i + p_j)``, ``n_den_i`` = sum over the games i lost of
      ``1 / (p_i + p_j)``. The same fixed point (the likelihood equations), usually reached in far
      fewer iterations, but not an ascent method (two items without a prior: it jumps between two
      points forever), hence the safeguard in :meth:`PairwiseAggregator._m_step`.

    The shard that holds the prior adds the virtual games: ``prior / 2`` wins and ``prior / 2``
    losses against a pseudo-item of strength 1. ``ll`` is the log-likelihood of the observed
    comparisons (plus the log-prior). One compiled pass over the comparisons when numba is
    available (:func:`~galton.aggregator._pref_kernels.bt_pass`), the same arithmetic in numpy
    otherwise.
    """
    n = shard.n_items
    crowd = eta is not None
    w_eta = eta if crowd else np.zeros(1)
    ll, num, den, n_num, n_den, truthful = bt_pass(shard.left, shard.right, shard.outcome, shard.worker,
                                                   theta, w_eta, crowd, newman, n, shard.n_workers)
    out: dict[str, Any] = {"num": num, "den": den}
    if newman:
        out["n_num"], out["n_den"] = n_num, n_den
    if crowd:
        out["truthful"] = truthful
    if shard.holds_prior and prior > 0:
        ll += prior_terms(theta, prior)
        p = np.exp(theta)
        half, q = 0.5 * prior, 1.0 / (p + 1.0)
        out["num"], out["den"] = out["num"] + half, out["den"] + prior * q
        if newman:
            out["n_num"], out["n_den"] = out["n_num"] + half * q, out["n_den"] + half * q
    out["ll"] = float(ll)
    return out


def best_shift(theta: np.ndarray, prior: float) -> np.ndarray:
    """Move all scores by the constant that maximises the prior.

    The likelihood does not change when every score moves by the same amount; only the (weak)
    prior pins the location, so MM-type updates creep towards it at a rate of about
    ``prior / games per item`` per iteration. Maximising over the shift exactly (a 1-d concave
    problem, Newton's method) removes that slow mode and never lowers the objective. Without a
    prior the location is set to mean 0.
    """
    finite = np.isfinite(theta)
    if prior <= 0 or not finite.all():
        return theta - theta[finite].mean() if finite.any() else theta
    c = 0.0
    for _ in range(100):
        s = sigmoid(theta + c)
        h = float((s * (1.0 - s)).sum())
        step = float((0.5 - s).sum()) / max(h, EPS)
        c += float(np.clip(step, -10.0, 10.0))
        if abs(step) < 1e-12:
            break
    return theta + c


def theta_update(stats: dict[str, Any], prior: float, newman: bool = False) -> np.ndarray:
    """``θ = log num - log den`` (Newman's ``n_num``/``n_den`` when asked) and :func:`best_shift`."""
    num, den = (stats["n_num"], stats["n_den"]) if newman else (stats["num"], stats["den"])
    with np.errstate(divide="ignore"):
        theta = np.log(num) - np.log(np.maximum(den, EPS))
    return best_shift(theta, prior)


def check_method(method: str) -> None:
    if method not in ("newman", "mm"):
        raise ValueError(f"method must be 'newman' or 'mm', not {method!r}")


class PreferenceAggregator(PreferenceResults, EMAggregator):
    """Base of the preference models: encode, shard, run the one driver, build the results.

    Fitted attributes: those of :class:`~galton.aggregator._pref_results.PreferenceResults`
    (``scores_``, ``intervals_``, ``ranking_``, ``pair_probas_``, ...), ``n_iter_``,
    ``converged_``, ``history_`` / ``loss_history_`` (objective per iteration).
    """

    kind = "pairwise"
    monotone = True
    prior: float

    # ---------------------------------------------------------------- hooks
    def _encode(self, data: Any, **options: Any) -> Any:  # no worker column: per-worker parameters are one
        with per_worker_model(type(self).__name__ if self._worker_params else ""):
            return Comparisons.from_any(data, **checked_options(self, options, Comparisons.from_any))

    def _make_shards(self, data: Any, n_shards: int) -> list[Any]:
        return make_pair_shards(data, n_shards)

    def _prior_strength(self) -> float:
        return float(self.prior)

    def _pair_info(self, shard: PairShard, params: Any) -> np.ndarray:
        """Fisher information about ``d = θ_left - θ_right`` carried by each comparison."""
        raise NotImplementedError

    # ---------------------------------------------------------------- fit
    def fit(self: _Self, data: Any, gold: Any = None, *, engine: Any = None,  # type: ignore[override]
            n_shards: int | None = None, output: str | None = None,
            checkpoint_dir: str | os.PathLike[str] | None = None, checkpoint_every: int = 1,
            **encode_options: Any) -> _Self:
        """Fit the model.

        Parameters
        ----------
        data : frame, table, dict or path; pairwise ``worker, left, right, label`` (best-of-n
            ``worker, options, choice`` or ``worker, ranking`` for Plackett-Luce), or an encoded
            :class:`~galton.pairwise.Comparisons` / :class:`~galton.pairwise.Choices`.
        gold : must be None (accepted so that ``galton.aggregate`` can call every model alike).
        engine : None / "local" / "ray" / an engine object; overrides the ``engine`` parameter.
        n_shards : number of comparison blocks (default: 1 locally, the CPU count on Ray).
        output : "pandas", "polars" or "arrow"; default: the input's own frame type.
        checkpoint_dir, checkpoint_every : save the parameters and the model's memory there every
            ``checkpoint_every`` iterations (and at the end); a fit started again with the same
            directory, data and model parameters resumes, as :meth:`EMAggregator.fit` does.
        **encode_options : column names (``worker_col``, ``left_col``, ``right_col``, ``label_col``,
            ``options_col``, ``choice_col``, ``ranking_col``), ``tie=``, ``on_invalid=``.
        """
        self._reset()  # the previous fit's results go first, also when this fit is refused (gold)
        if gold is not None:
            raise ValueError(f"{type(self).__name__} takes no gold labels; call fit(data) with the "
                             "comparisons only")
        self.__dict__.pop("_lazy", None)
        obj = self._encode(data, **encode_options)
        self._validate_params(obj)
        if obj.n_judgments == 0:  # an empty frame: empty results of the usual types, as crowd-kit gives
            self._keep_settings()
            self.n_iter_, self.converged_, self.history_ = 0, True, []
            self._store_scores(obj, np.zeros(0), np.zeros(0), output)
            for name, value in self._empty_attrs.items():
                setattr(self, name, self._per_worker(obj, np.zeros(0), value))
            return self

        def load(eng: Any) -> None:
            shards = self._make_shards(obj, planned_shards(eng))
            if checkpoint_dir is not None:  # the item names enter the checkpoint's fingerprint
                vocab = vocabulary_digest(obj.item_names)
                for s in shards:
                    s.vocab = vocab
            eng.load_shards(shards, obj.n_judgments)

        def run(eng: Any, rng: np.random.Generator) -> tuple[Any, dict[str, Any]]:
            # per-row probabilities are computed from the scores on demand: nothing to gather
            with fit_options_set(collect=False):
                params, _ = self._run(eng, obj, rng)
            # an unfitted copy ships with the shard function, not this model with its history_
            return params, eng.map_sum(self.spec()._information, params, obj.n_items <= DENSE_SE_MAX)

        def store(result: tuple[Any, dict[str, Any]]) -> None:
            self._params = result[0]  # params_ (it stayed None after every preference fit)
            self._store_results(obj, result[0], result[1], output)
            self._finish(result[0], obj)

        return self._fit_lifecycle(
            obj, output, run, store, engine=engine, n_shards=n_shards, checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every, load=load, empty=False)

    def _validate_params(self, data: Any) -> None:
        super()._validate_params(data)
        name = self._prior_name
        check_real(name, getattr(self, name), 0, finite=True)  # named as the user set it (not the strength it gives)

    # ---------------------------------------------------------------- standard errors
    def _information(self, shard: Any, params: Any, dense: bool) -> dict[str, Any]:
        n = shard.n_items
        kappa = self._pair_info(shard, params)
        diag = np.bincount(shard.left, kappa, n) + np.bincount(shard.right, kappa, n)
        full: Any = 0.0
        if dense:
            off = np.bincount(shard.left.astype(np.int64) * n + shard.right, kappa, n * n).reshape(n, n)
            full = np.diag(diag) - off - off.T
        return self._with_prior_info(shard, params, diag, full)

    def _with_prior_info(self, shard: Any, params: Any, diag: np.ndarray, full: Any) -> dict[str, Any]:
        if shard.holds_prior and self._prior_strength() > 0:
            th = self._theta(params)
            add = self._prior_strength() * sigmoid(th) * sigmoid(-th)
            diag = diag + add
            if not np.isscalar(full):
                full = full + np.diag(add)
        elif shard.holds_prior and not np.isscalar(full):
            # no prior: the information is singular along the location, pinned at mean 0; with 11^T / n
            # its inverse is I^+ + 11^T / n, centred to I^+ (score_errors; Schur terms are null along 1)
            full = full + 1.0 / shard.n_items
        info = {"diag": diag, "full": full}
        if self._worker_params and self._prior_strength() <= 0:  # for check_bounded (_store_results)
            info["grad"] = self._theta_gradient(shard, params)
        return self._with_worker_info(shard, params, info)

    def _theta_gradient(self, shard: Any, params: Any) -> np.ndarray:
        """The gradient of the log-likelihood with respect to the scores (models with worker parameters)."""
        raise NotImplementedError


class PairwiseAggregator(PreferenceAggregator):
    """Pairwise models whose item scores take a Bradley-Terry step (MM, or Newman's, safeguarded).

    Safeguard. Newman's iteration is not an ascent method, so the driver-side state remembers the
    last accepted point with its objective and statistics. When a Newman step lowered the objective,
    the point is rejected and the next one is an MM step from the last accepted point. A Newman step
    that turns back against the previous one (an oscillation around the fixed point; two items
    without a prior make it jump between two points forever) is halved. MM takes over for good
    after ``MAX_REJECTIONS`` rejections or ``NEWMAN_PATIENCE`` iterations. So the fit keeps
    Newman's speed (10-60 iterations on well-connected graphs where MM needs hundreds) with MM's
    guarantee as the fallback. ``history_`` may then hold a rejected, lower value (not monotone);
    with ``method="mm"`` every step is accepted and the history never decreases.
    """

    method: str = "newman"
    MAX_REJECTIONS = 3
    NEWMAN_PATIENCE = 200
    #: convergence also needs the scores settled (:mod:`._pref_stop`; Bradley-Terry)
    _settles = False
    _fit_private = PreferenceAggregator._fit_private + ("_left",)

    @property
    def monotone(self) -> bool:  # type: ignore[override]
        return getattr(self, "method", "mm") == "mm"

    def _update(self, stats: dict[str, Any], newman: bool) -> dict[str, Any]:
        """The next parameters from statistics (Newman's θ step or the MM one)."""
        raise NotImplementedError

    def _init_state(self, engine: Any, data: Any,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        """Memory of the safeguard: the point the next statistics belong to (``pending``), the last
        accepted point with its objective and statistics (``prev``), the last step, the counts of
        rejections and steps."""
        params = self._init_params(engine, data, rng)
        return params, {"pending": params, "prev": None, "step": None, "rejected": 0, "steps": 0}

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        steps, rejected = memory["steps"] + 1, memory["rejected"]
        newman = (self.method == "newman" and rejected < self.MAX_REJECTIONS and steps <= self.NEWMAN_PATIENCE)
        pending, prev = memory["pending"], memory["prev"]
        obj = self._objective(stats, pending)
        if not newman or prev is None or obj >= prev[1] - 1e-12 * abs(prev[1]):
            prev = (pending, obj, stats)
            new = self._update(stats, newman)
            step = new["theta"] - pending["theta"]
            last = memory["step"]
            if (newman and last is not None
                    and vdot(step, last) < -0.5 * np.sqrt(vdot(step, step) * vdot(last, last))):
                # Newman's step turned back: it oscillates around the fixed point; the midpoint
                # of the two points is far closer to it (damping 1/2)
                new = {**new, "theta": best_shift(pending["theta"] + 0.5 * step, self._prior_strength())}
            step = new["theta"] - pending["theta"]
        else:  # rejected: an MM step from the last accepted point
            rejected += 1
            new = self._update(prev[2], False)
            step = None
        out = {"pending": new, "prev": prev, "step": step, "rejected": rejected, "steps": steps}
        if self._settles:  # the scores must stop moving too (:mod:`._pref_stop`)
            out.update(settled(memory, step, newman and step is not None, steps, self.tol))
            self._left = distance_left(out)  # for the ConvergenceWarning
        return new, out

    def _first_stop(self, history: list[float], memory: dict[str, Any], n: int) -> int | None:
        """As the driver's, at an iteration whose scores had settled (None: the checkpoint does not say
        whether they had at an iteration whose change passed tol)."""
        if not self._settles:
            return super()._first_stop(history, memory, n)
        done = set(np.asarray(memory["settled_at"], dtype=int).tolist()) if "settled_at" in memory else None
        for j in range(1, len(history) + 1):
            if self._converged(self._change(history[:j], n)):
                if done is None:
                    return None
                if j in done:
                    return j
        return 0

    def _not_converged(self, message: str) -> None:
        left = getattr(self, "_left", 0.0) if self._settles else 0.0
        if left >= np.sqrt(max(float(self.tol), 0.0)):
            message += (f" (the scores were still moving, about {left:.2g} from their fixed point; converging also "
                        f"takes them within sqrt(tol) = {np.sqrt(max(float(self.tol), 0.0)):.2g} of it)")
        super()._not_converged(message)

    def _validate_params(self, data: Any) -> None:
        super()._validate_params(data)
        check_method(self.method)
