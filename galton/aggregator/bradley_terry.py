"""Bradley-Terry models for pairwise comparisons: plain, noisy (crowd-kit's) and Crowd-BT.

All three share the data model (:class:`galton.pairwise.Comparisons`), the shards, the prior and the
results of :mod:`galton.aggregator._preference`, and run in the one driver
:meth:`EMAggregator._run` (see that module for why a comparison-block shard works).

Scores are log-strengths ``θ``: ``P(i preferred to j) = σ(θ_i - θ_j)`` with ``σ`` the logistic
function. crowd-kit's ``BradleyTerry.scores_`` are ``exp(θ) / sum(exp(θ))``; the ranking is the same.

The prior. Every item plays ``prior`` virtual tied comparisons against a pseudo-item of log-score 0
(log-prior ``prior * (log σ(θ) + log σ(-θ)) / 2``). It keeps scores finite for an item that
never wins or never loses, puts the pieces of a disconnected comparison graph on one scale (each
piece is tied to the pseudo-item) and fixes the location in the fit; with hundreds of comparisons
per item it changes nothing visible. The scores are reported relative to the average item (mean 0),
as their standard errors are (``se(θ_i - mean θ)``), so that ``intervals_`` cover the centred truth.
``prior=0`` gives the plain maximum-likelihood estimate,
which exists only when the comparison graph is strongly connected (Hunter 2004, assumption 1):
a fit with ``prior=0`` checks that first and says which groups of items are not linked both ways.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import EPS
from ._lbfgs import LBFGSState
from ._params import check_real
from ._pref_kernels import bt_info_diag, noisy_pass, vdot
from ._pref_workers import crowd_bt_terms, noisy_bt_worker_terms
from ._pref_mle import check_pairs_mle
from ._preference import PairShard, PairwiseAggregator, best_shift, bt_stats, log_sigmoid, sigmoid, theta_update
from ._registry import register
from ._squarem import Accelerated

__all__ = ["BradleyTerry", "NoisyBradleyTerry", "CrowdBT"]


@register("bt", "bradley_terry", "bradley-terry")
class BradleyTerry(PairwiseAggregator):
    r"""Bradley-Terry, fitted to convergence by minorisation-maximisation or Newman's iteration.

    Model (Bradley & Terry, *Biometrika* 39, 1952)::

        P(i beats j) = p_i / (p_i + p_j) = σ(θ_i - θ_j),      θ = log p

    A tie counts as half a win for each side. ``method="mm"`` is the MM step of Hunter (*Ann.
    Statist.* 32(1), 2004, eq. 3), with the prior's virtual games against a pseudo-item of
    strength 1 (``W_i`` = wins of item i)::

        p_i <- (W_i + prior / 2) / (sum_{games g of i} 1 / (p_i + p_opp(g)) + prior / (p_i + 1))

    Each MM step raises the log-posterior, but slowly: on the 1M-comparison benchmark (10k items)
    it stopped after 46 iterations with scores still 2e-4 from the fixed point when the change of
    the log-posterior alone was tested (its small steps pass the tolerance early; see convergence
    below). ``method="newman"`` (default; Newman, *JMLR* 24, 2023) iterates
    ``p_i <- sum_{games i won} p_j / (p_i + p_j) / sum_{games i lost} 1 / (p_i + p_j)`` (plus the
    virtual games): the same fixed point, the likelihood equations, in 9 iterations there. After
    either step all scores are shifted by the constant that maximises the prior (the likelihood
    does not see a shift), which removes the slowest mode of both. The fit stops when the
    log-posterior changes by less than ``tol`` per comparison and the scores have settled within
    ``sqrt(tol)`` of their fixed point (:mod:`galton.aggregator._pref_stop`: a linear convergence,
    MM's or Newman's on near-separable data, passed ``tol`` 7e-5 from the optimum). crowd-kit's BradleyTerry stops after
    two iterations whenever ``tol > 0`` (its old and new score arrays are the same object).

    Parameters
    ----------
    n_iter : int, default 10000
        Maximum number of iterations (crowd-kit's name).
    tol : float, default 1e-12
        Convergence: change of the log-posterior per comparison, with the scores within ``sqrt(tol)``.
    prior : float, default 1.0
        Virtual tied comparisons of every item against the pseudo-item; 0 = plain MLE.
    method : {"newman", "mm"}, default "newman"
    random_state, engine, n_shards, progress
        As everywhere in galton (the fit uses no randomness).

    Attributes
    ----------
    scores_ : with pandas output, crowd-kit's ``scores_``: ``exp(θ) / Σ exp(θ)`` in a Series named
        ``agg_score`` (index unnamed); with polars / Arrow output galton's table of log-scores θ.
    scores_values_ : the log-scores θ, mean 0 (numpy; item order of ``comparisons_.item_names``), the
        better scale: differences are log-odds, and ``intervals_`` / ``ranking_`` use it.
    intervals_ (score, se, lower, upper: 95% normal interval of the log-score), ranking_,
    pair_probas_, n_iter_, converged_, history_ / loss_history_ (log-posterior per iteration).
    """

    _crowdkit_scores = "softmax"
    _kept_settings = ("prior",)  # the scores without a rater's comparisons (worker_report_others)
    _settles = True  # converged: the scores settled too (:mod:`._pref_stop`)

    def __init__(self, n_iter: int = 10000, tol: float = 1e-12, *, prior: float = 1.0,
                 method: str = "newman", random_state: Any = None, engine: Any = None,
                 n_shards: int | None = None, progress: bool | None = None):
        self.n_iter = n_iter
        self.tol = tol
        self.prior = prior
        self.method = method
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    def _init_params(self, engine: Any, data: Any, rng: np.random.Generator) -> dict[str, Any]:
        if self.prior <= 0:
            check_pairs_mle(data)
        return {"theta": np.zeros(data.n_items)}

    def _e_step(self, shard: PairShard, params: dict[str, Any]) -> dict[str, Any]:
        return bt_stats(shard, params["theta"], self.prior, self.method == "newman")

    def _update(self, stats: dict[str, Any], newman: bool) -> dict[str, Any]:
        return {"theta": theta_update(stats, self.prior, newman)}

    def _pair_info(self, shard: PairShard, params: dict[str, Any]) -> np.ndarray:
        th = params["theta"]
        pi = sigmoid(th[shard.left] - th[shard.right])
        return pi * (1.0 - pi)

    def _information(self, shard: PairShard, params: dict[str, Any], dense: bool) -> dict[str, Any]:
        if dense:
            return super()._information(shard, params, dense)
        diag = bt_info_diag(shard.left, shard.right, params["theta"], shard.n_items)  # one fused pass
        return self._with_prior_info(shard, params, diag, 0.0)


@register("crowd_bt", "crowdbt", "crowd-bt")
class CrowdBT(Accelerated, PairwiseAggregator):
    r"""Crowd-BT: Bradley-Terry with a per-worker reliability that may fall below one half.

    Model (Chen, Bennett, Collins-Thompson & Horvitz, *WSDM* 2013)::

        P(worker w says i beats j) = η_w σ(θ_i - θ_j) + (1 - η_w) σ(θ_j - θ_i)

    ``η_w`` is the probability that the worker reports their true preference; ``η_w < 1/2`` is a
    worker who reliably picks the worse item (adversarial or with the scale reversed) — information,
    not noise: their answers count, flipped. Chen et al. fit it online by moment matching for
    active learning; here it is fitted offline by generalised EM:

    - E-step: for each comparison, the posterior ``r`` that the worker reported truthfully, hence
      the expected share ``t`` of a true win of the left item;
    - M-step: ``η_w = (sum r + a - 1) / (n_w + a + b - 2)`` (MAP under ``Beta(a, b)``,
      ``eta_prior=(a, b)``), and one Bradley-Terry step on the expected outcomes ``t`` (Newman's
      iteration by default, ``method="mm"`` for Hunter's MM step, see :class:`BradleyTerry`).

    With ``method="mm"`` each iteration increases the log-posterior (generalised EM). The prior mean ``a / (a + b) >
    1/2`` breaks the symmetry ``(θ, η) -> (-θ, 1 - η)``; the fit starts from η = 0.8.

    Speed. Scores and reliabilities trade off (a larger spread of θ with η nearer 1/2 explains the comparisons almost as
    well), so plain EM closes only 1-3% of the gap per iteration: 100 items, 1,000 workers and 200k comparisons took
    660-1,060 iterations. ``accelerate=True`` (default) extrapolates along the last two steps (SQUAREM,
    :mod:`galton.aggregator._squarem`), keeping a point only when its log-posterior is not below the last one: the same
    optimum in far fewer iterations. ``history_`` then holds the rejected extrapolations' values too, so it is not
    monotone even with ``method="mm"``; ``accelerate=False`` gives plain (generalised) EM.

    Parameters
    ----------
    n_iter : int, default 10000
        The iteration limit.
    tol : float, default 1e-12
        Convergence: change of the log-posterior per comparison.
    prior, method : as :class:`BradleyTerry` (``prior=0`` refuses, as there, comparisons whose
        reported outcomes leave an item, or a group of items, that never lost or never won; and a fit
        whose scores ran off towards infinity, a worker's upsets put down to a reliability below 1:
        :func:`~galton.aggregator._pref_mle.check_bounded`).
    engine, n_shards, progress, random_state
        As everywhere in galton (``random_state`` is accepted for the common interface; the fit
        starts from every η_w = 0.8 and uses no randomness).
    eta_prior : (a, b), default (4.0, 2.0)
        The Beta prior of every ``η_w`` (``a, b >= 1``).
    accelerate : bool, default True
        SQUAREM extrapolation of the EM steps (see Speed above).

    Attributes
    ----------
    skills_ : per worker η_w (crowd-kit-style name), also as ``reliability_``.
    scores_, intervals_ (η free: :mod:`._pref_workers`), ranking_, pair_probas_, n_iter_, converged_, history_.
    """

    _empty_attrs = {"skills_": "skill", "reliability_": "skill"}
    _kept_settings = ("eta_prior",)  # the reliability interval's prior curvature (worker_report_items)
    _worker_params = 1  # η_w, free in the standard errors
    _unbounded = ("Crowd-BT", "a worker's upsets are put down to a reliability below 1 as the scores spread")

    def __init__(self, n_iter: int = 10000, tol: float = 1e-12, *, prior: float = 1.0,
                 eta_prior: tuple[float, float] = (4.0, 2.0), method: str = "newman",
                 accelerate: bool = True, random_state: Any = None, engine: Any = None,
                 n_shards: int | None = None, progress: bool | None = None):
        self.n_iter = n_iter
        self.tol = tol
        self.prior = prior
        self.eta_prior = eta_prior
        self.method = method
        self.accelerate = accelerate
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    def _validate_params(self, data: Any) -> None:
        super()._validate_params(data)
        pair = self.eta_prior
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise TypeError(f"eta_prior must be a pair (a, b) of numbers, not {pair!r}")
        a, b = (check_real("eta_prior", v) for v in pair)
        if not (a >= 1 and b >= 1):
            raise ValueError(
                f"eta_prior=(a, b) needs a >= 1 and b >= 1 (a Beta prior with a mode), not {self.eta_prior}")

    def _init_params(self, engine: Any, data: Any, rng: np.random.Generator) -> dict[str, Any]:
        if self.prior <= 0:  # as BradleyTerry: scores that grew without end were reported as converged
            check_pairs_mle(data)
        return {"theta": np.zeros(data.n_items), "eta": np.full(data.n_workers, 0.8)}

    def _to_vector(self, params: dict[str, Any]) -> np.ndarray:
        """(θ, logit η) for SQUAREM: the logit keeps an extrapolated reliability inside (0, 1)."""
        eta = params["eta"]
        return np.concatenate([params["theta"], np.log(eta) - np.log1p(-eta)])

    def _from_vector(self, x: np.ndarray, n_items: int) -> dict[str, Any]:
        eta = np.clip(sigmoid(x[n_items:]), 1e-9, 1 - 1e-9)
        return {"theta": best_shift(x[:n_items], self._prior_strength()), "eta": eta}

    def _admissible(self, x: np.ndarray, n_items: int) -> bool:
        # no extrapolation to a reliability at the clip (|logit| 20: within 2e-9 of 0 or 1): with a
        # Beta prior of a or b = 1 nothing pulls it back, and EM would stay at that worse point
        return bool(np.all(np.abs(x[n_items:]) < 18.0))

    def _theta_gradient(self, shard: PairShard, params: dict[str, Any]) -> np.ndarray:
        # EM's Q has the log-likelihood's gradient: wins expected (num) less those fitted (p den)
        stats = bt_stats(shard, params["theta"], 0.0, False, eta=params["eta"])
        with np.errstate(over="ignore", invalid="ignore"):  # a spread beyond SPREAD_MAX: refused anyway
            return stats["num"] - np.exp(params["theta"]) * stats["den"]

    def _e_step(self, shard: PairShard, params: dict[str, Any]) -> dict[str, Any]:
        stats = bt_stats(shard, params["theta"], self.prior, self.method == "newman", eta=params["eta"])
        n_w = shard.state.get("_n_w")
        if n_w is None:
            n_w = shard.state["_n_w"] = np.bincount(shard.worker, minlength=shard.n_workers).astype(float)
        stats["n_w"] = n_w
        return stats

    def _update(self, stats: dict[str, Any], newman: bool) -> dict[str, Any]:
        a, b = self.eta_prior
        eta = (stats["truthful"] + a - 1.0) / (stats["n_w"] + a + b - 2.0)
        eta = np.where(stats["n_w"] + a + b - 2.0 > 0, eta, a / (a + b))
        return {"theta": theta_update(stats, self.prior, newman), "eta": np.clip(eta, 1e-9, 1 - 1e-9)}

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        a, b = self.eta_prior
        eta = params["eta"]
        return float(stats["ll"]) + float(((a - 1) * np.log(eta) + (b - 1) * np.log1p(-eta)).sum())

    def _information(self, shard: PairShard, params: dict[str, Any], dense: bool) -> dict[str, Any]:
        if dense:
            return super()._information(shard, params, dense)
        # P(says left) = η σ(d) + (1 - η) σ(-d) is the noisy-BT form with skill 2η - 1 and bias 1/2,
        # so the fused noisy pass gives the information diagonal in one pass
        eta = params["eta"]
        diag = noisy_pass(shard.left, shard.right, shard.worker, shard.outcome, params["theta"],
                          np.full(eta.size, 0.5), 2.0 * eta - 1.0, shard.n_items, eta.size)[4]
        return self._with_prior_info(shard, params, diag, 0.0)

    def _pair_info(self, shard: PairShard, params: dict[str, Any]) -> np.ndarray:
        th, eta = params["theta"], params["eta"][shard.worker]
        s = sigmoid(th[shard.left] - th[shard.right])
        p1 = eta * s + (1 - eta) * (1 - s)
        dp = (2 * eta - 1) * s * (1 - s)
        return dp * dp / np.maximum(p1 * (1 - p1), EPS)

    def _worker_terms(self, shard: PairShard, params: dict[str, Any]) -> tuple[np.ndarray, ...]:
        return crowd_bt_terms(params["theta"], params["eta"], shard.left, shard.right, shard.worker, self.eta_prior)

    def _finish(self, params: dict[str, Any], data: Any) -> None:
        self.skills_ = self._per_worker(data, params["eta"], "skill")
        self.reliability_ = self.skills_


def noisy_bt_terms(theta: np.ndarray, q: np.ndarray, gamma: np.ndarray, left: np.ndarray,
                   right: np.ndarray, worker: np.ndarray, outcome: np.ndarray, *, fisher: bool = False
                   ) -> tuple[Any, ...]:
    r"""Log-likelihood of the noisy Bradley-Terry model and its analytic gradient, vectorised.

    ``P(left reported) = g σ(d) + (1 - g) σ(q_w)`` with ``d = θ_left - θ_right``, ``g = σ(γ_w)``;
    an outcome ``o`` in [0, 1] contributes ``o log P1 + (1 - o) log P0``. With
    ``A = o / P1 - (1 - o) / P0``::

        ∂/∂d = A g σ(d) σ(-d)
        ∂/∂q_w = A (1 - g) σ(q) σ(-q)
        ∂/∂γ_w = A g (1 - g) (σ(d) - σ(q))

    (crowd-kit 1.4.2 gets the worker terms wrong: indices off by one and ``=`` instead of ``+=``.)
    Returns ``(ll, ∂θ, ∂q, ∂γ)``; with ``fisher=True`` also the diagonal of the Fisher information
    ``(∂P1/∂x)^2 / (P1 P0)`` summed per parameter ``(Iθ, Iq, Iγ)`` (a preconditioner).
    """
    out = noisy_pass(left, right, worker, outcome, theta, sigmoid(q), sigmoid(gamma), theta.size, q.size)
    return tuple(out) if fisher else tuple(out[:4])


@register("noisy_bt", "noisy_bradley_terry", "noisybt")
class NoisyBradleyTerry(PairwiseAggregator):
    r"""Noisy Bradley-Terry (crowd-kit's model) with a correct, vectorised gradient.

    Model::

        P(worker w says left) = σ(γ_w) σ(θ_left - θ_right) + (1 - σ(γ_w)) σ(q_w)

    with probability ``σ(γ_w)`` (``skills_``) the worker judges by the items' scores, otherwise
    picks the left item with probability ``σ(q_w)`` (``biases_``: a position bias). Maximises the
    log-posterior — the log-likelihood, the score prior (virtual ties against a pseudo-item,
    weight ``regularization_ratio``; crowd-kit's sign of this term is reversed, pushing scores apart)
    and ``N(0, 2.5^2)`` priors on the logits ``q`` and ``γ`` — by L-BFGS on the analytic gradient
    (:func:`noisy_bt_terms`, checked against finite differences in the tests), preconditioned by the
    diagonal of the Fisher information (items and workers live on very different curvature
    scales). One driver iteration is one evaluation of the objective and gradient over the shards;
    a proposal that fails the Armijo condition is rejected (so ``history_`` is not monotone).

    Parameters
    ----------
    n_iter : int, default 1000
        Maximum number of evaluations.
    tol : float, default 1e-12
        Convergence: change of the objective per comparison between evaluations.
    regularization_ratio : float, default 0.5
        Weight of ``log σ(θ) + log σ(-θ)`` per item (0.5 = one virtual tied comparison). 0: the
        maximum-likelihood fit, refused where its scores are infinite: an item that never won or never
        lost, as for ``BradleyTerry(prior=0)``, or scores that run off while a worker's upsets are put
        down to random answers (:func:`~galton.aggregator._pref_mle.check_bounded`).
    random_state : accepted for crowd-kit compatibility; the fit starts from θ = 0, q = 0, γ = 2 (deterministic).
    engine, n_shards, progress
        As everywhere in galton.

    Attributes
    ----------
    scores_ : with pandas output, crowd-kit's ``scores_``: ``expit(θ)`` in a Series named
        ``agg_score`` with index named ``label``; with polars / Arrow output galton's table of θ.
    scores_values_ : the log-scores θ, mean 0 (numpy), the better scale; ``intervals_`` and ``ranking_``
        use it. skills_, biases_ (per worker, as crowd-kit), n_iter_, converged_, history_.
    """

    _empty_attrs = {"skills_": "skill", "biases_": "bias"}
    _crowdkit_scores = "expit"

    # N(0, 2.5^2) priors on the logits q and γ: the weakly informative scale of Gelman et al.
    # (Ann. Appl. Stat. 2(4), 2008) for logistic coefficients. They keep q and γ finite: a random or
    # adversarial worker drives σ(γ) towards 0, where the likelihood flattens out (its γ gradient
    # shrinks with σ(γ)), and the bias of a worker with σ(γ) near 1 is barely seen by the data. With
    # N(0, 10^2) those flat directions took L-BFGS 267 evaluations on the 1M benchmark, with
    # N(0, 2.5^2) 83, and the item scores' Spearman correlation with the truth was the same (0.9696).
    _WORKER_PRECISION = 1.0 / 2.5 ** 2
    _worker_params = 2  # q_w, γ_w, free in the standard errors
    monotone = False

    def __init__(self, n_iter: int = 1000, tol: float = 1e-12, regularization_ratio: float = 0.5,
                 random_state: Any = 0, *, engine: Any = None, n_shards: int | None = None,
                 progress: bool | None = None):
        self.n_iter = n_iter
        self.tol = tol
        self.regularization_ratio = regularization_ratio
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    _prior_name, _prior_default = "regularization_ratio", 0.5
    _unbounded = ("noisy Bradley-Terry",
                  "a worker's upsets are put down to their random answers (skill below 1) as the scores spread")

    def _prior_strength(self) -> float:
        return 2.0 * float(self.regularization_ratio)

    @staticmethod
    def _split(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(θ, q, γ) from the stacked vector: n item scores, then w biases and w skills."""
        w = (x.size - n) // 2
        return x[:n], x[n:n + w], x[n + w:]

    def _theta(self, params: dict[str, Any]) -> np.ndarray:
        return self._split(params["best"], params["n_items"])[0]

    def _init_state(self, engine: Any, data: Any,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        """Memory: the L-BFGS state (its curvature pairs, last accepted point and step) as arrays."""
        if self.regularization_ratio <= 0:  # as BradleyTerry with prior=0: scores that grew without end
            check_pairs_mle(data, "regularization_ratio", 0.5)  # were reported as converged
        x = np.concatenate([np.zeros(data.n_items), np.zeros(data.n_workers), np.full(data.n_workers, 2.0)])
        opt = LBFGSState()
        opt.pending = x
        n = int(data.n_items)
        return {"x": x, "best": x, "n_items": n}, {"lbfgs": opt.to_dict(), "n_items": n}

    def _e_step(self, shard: PairShard, params: dict[str, Any]) -> dict[str, Any]:
        x = params["x"]
        th, q, gm = self._split(x, shard.n_items)
        ll, g_th, g_q, g_g, i_th, i_q, i_g = noisy_bt_terms(
            th, q, gm, shard.left, shard.right, shard.worker, shard.outcome, fisher=True)
        if shard.holds_prior:
            r, lam = self.regularization_ratio, self._WORKER_PRECISION
            s = sigmoid(th)
            ll += float(r * (log_sigmoid(th) + log_sigmoid(-th)).sum())
            ll -= 0.5 * lam * (vdot(q, q) + vdot(gm, gm))
            g_th = g_th + r * (1.0 - 2.0 * s)
            g_q, g_g = g_q - lam * q, g_g - lam * gm
            i_th, i_q, i_g = i_th + 2 * r * s * (1 - s), i_q + lam, i_g + lam
        return {"ll": ll, "grad": np.concatenate([g_th, g_q, g_g]),
                "fisher": np.concatenate([i_th, i_q, i_g])}

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        opt = LBFGSState.from_dict(memory["lbfgs"])
        x_next = opt.propose(opt.pending, -float(stats["ll"]), -stats["grad"], stats["fisher"]).copy()
        # the likelihood sees score differences only: move all scores by the shift that maximises
        # the prior (exact, no data needed); the weak prior alone would leave L-BFGS a slow mode
        n = memory["n_items"]
        x_next[:n] = best_shift(x_next[:n], self._prior_strength())
        opt.pending = x_next
        return {"x": x_next, "best": opt.best, "n_items": n}, {"lbfgs": opt.to_dict(), "n_items": n}

    def _information(self, shard: PairShard, params: dict[str, Any], dense: bool) -> dict[str, Any]:
        if dense:
            return super()._information(shard, params, dense)
        th, q, gm = self._split(params["best"], shard.n_items)  # the θ information diagonal of the fused pass
        diag = noisy_pass(shard.left, shard.right, shard.worker, shard.outcome, th, sigmoid(q),
                          sigmoid(gm), shard.n_items, q.size)[4]
        return self._with_prior_info(shard, params, diag, 0.0)

    def _theta_gradient(self, shard: PairShard, params: dict[str, Any]) -> np.ndarray:
        th, q, gm = self._split(params["best"], shard.n_items)
        return noisy_bt_terms(th, q, gm, shard.left, shard.right, shard.worker, shard.outcome)[1]

    def _pair_info(self, shard: PairShard, params: dict[str, Any]) -> np.ndarray:
        th, q, gm = self._split(params["best"], shard.n_items)
        g, sq = sigmoid(gm[shard.worker]), sigmoid(q[shard.worker])
        s = sigmoid(th[shard.left] - th[shard.right])
        p1 = g * s + (1 - g) * sq
        dp = g * s * (1 - s)
        return dp * dp / np.maximum(p1 * (1 - p1), EPS)

    def _worker_terms(self, shard: PairShard, params: dict[str, Any]) -> tuple[np.ndarray, ...]:
        th, q, gm = self._split(params["best"], shard.n_items)
        return noisy_bt_worker_terms(th, q, gm, shard.left, shard.right, shard.worker, self._WORKER_PRECISION)

    def _finish(self, params: dict[str, Any], data: Any) -> None:
        _, q, gm = self._split(params["best"], params["n_items"])
        # pandas: crowd-kit's unnamed worker index
        self.skills_ = self._per_worker(data, sigmoid(gm), "skill", index=None)
        self.biases_ = self._per_worker(data, sigmoid(q), "bias", index=None)
