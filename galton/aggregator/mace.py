r"""MACE: Multi-Annotator Competence Estimation (Hovy et al., NAACL 2013).

Generative model (K classes)::

    T_t ~ Uniform(K)                          true class of task t
    S_tw ~ Bernoulli(spam_w)                  does worker w spam on task t?
    y_tw = T_t                 if S_tw = 0    (the worker knows the answer)
    y_tw ~ Categorical(xi_w)   if S_tw = 1    (the worker answers by its own strategy xi_w)

so ``P(y = l | T = c) = spam_w xi_w(l) + (1 - spam_w) [l = c]``. The spamming probability
``spam_w`` and strategy ``xi_w`` are fitted either by EM with additive smoothing (``method="em"``:
MAP estimates under Dirichlet(1 + smoothing) priors) or by variational Bayes (``method="vb"``,
the default, as crowd-kit): ``(spam_w, 1 - spam_w) ~ Beta(alpha, beta)`` and
``xi_w ~ Dirichlet(10, ..., 10)`` (crowd-kit's strategy prior).

E-step (per task, log space, exact over the joint (T, S) posterior)::

    a_j = log spam_w + log xi_w(y_j)                    log P(y_j, S = 1 | T)
    b_j = logaddexp(a_j, log(1 - spam_w))               log P(y_j | T = y_j)
    log q_t(c) = -log K + sum_j a_j + sum_{j: y_j = c} (b_j - a_j)

    P(S_j = 0 | data) = q_t(y_j) exp(log(1 - spam_w) - b_j)

The additive statistics per worker are the expected numbers of spam and knowing answers and the
expected spam answers per label. In VB the E-step uses the geometric means
``exp(E[log spam_w])`` etc. (crowd-kit's ``variational_normalize``) and the objective is the ELBO
``sum_t log Z_t - KL(q(spam, xi) || prior)``; in EM the objective is the log posterior
``log-likelihood + smoothing * sum log(parameters)``. Both never decrease.

Restarts: ``n_restarts`` runs of the one EM driver, each with its own random stream
(``SeedSequence(random_state).spawn(n_restarts)``); the run with the highest final objective wins.
Fixes of crowd-kit's MACE: every restart used the same seed; worker and label indices of the
strategy counts were misaligned unless rows were sorted; per-task products in linear space gave NaN
at a few thousand judgments per task; ``smoothing`` was ignored (0.01 / K was used instead).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import EPS, digamma, dirichlet_kl_rows, safe_log
from .._progress import Progress
from ..judgments import Judgments
from ._base import EMAggregator
from ._declared_labels import LabelsInUse, label_columns
from ._engine import Shard
from ._estimator import fit_options_set
from ._kernels import softmax_rows
from ._memory import FLOAT
from ._params import check_count, check_real
from ._registry import register
from ._results import pandas_index

__all__ = ["MACE"]

_STRATEGY_PRIOR = 10.0  # crowd-kit's (and MACE's) symmetric Dirichlet prior on the strategies in VB


def _expected_logs(counts: np.ndarray) -> np.ndarray:
    """E[log p] under Dirichlet(counts) row by row: digamma(c) - digamma(sum c)."""
    return digamma(counts) - digamma(counts.sum(axis=1, keepdims=True))


@register("mace")
class MACE(LabelsInUse, EMAggregator):
    r"""MACE: each worker either knows the answer or spams with its own strategy.

    Parameters
    ----------
    n_restarts : int, default 10
        Independent random initialisations; the best final objective wins.
    n_iter : int, default 50
        Maximum EM / VB iterations per restart (``max_iter`` is accepted too: the same limit; both set to different
        values is refused).
    method : {"vb", "em"}, default "vb"
        Variational Bayes with Beta(alpha, beta) and Dirichlet(10) priors, or EM with smoothing.
    smoothing : float, default 0.1
        Pseudo-count added to the expected counts before normalising in the EM M-step (really used,
        unlike crowd-kit, which silently replaces it by 0.01 / K).
    default_noise : float, default 0.5
        Initial parameters are normalised draws from Uniform(1, 2 + default_noise), as in crowd-kit.
    alpha, beta : float, default 0.5
        Beta prior of (spamming, knowing) in VB.
    tol : float, default 1e-5
        Stop a restart when its objective changes by less than ``tol`` per judgment.
    random_state : int, default 0
        Seed of the restarts' independent streams (a numpy Generator, SeedSequence, RandomState
        or BitGenerator is taken too).
    verbose : int, default 0
        crowd-kit's switch: above 0 shows the progress bar (as ``progress=True``); ``progress``, when
        given, wins. One bar counts restarts x iterations (``restart 2/10`` in its text). A number
        or a bool; text (``"0"``) is refused.
    engine, n_shards, progress
        As everywhere in galton.

    Attributes
    ----------
    labels_, probas_,
    spamming_ : per worker, probability of spamming (posterior mean in VB),
    thetas_ : worker x label, spamming strategy (posterior mean in VB),
    skills_ : per worker, ``1 - spamming_``,
    history_ (objective per iteration of the best restart), n_iter_, converged_,
    restart_objectives_ (final objective of each restart), restart_histories_, best_restart_.

    With pandas input (crowd-kit's layout) ``spamming_`` is a bare (workers, 2) array ``[P(spam),
    P(know)]`` and ``thetas_`` a bare (workers, labels) array, rows and columns in order of first
    appearance, as crowd-kit's; with polars or Arrow (or ``output="polars"`` / ``"arrow"``) they are
    tables sorted by id: ``worker, spamming`` and ``worker, <label>...``.

    References
    ----------
    D. Hovy, T. Berg-Kirkpatrick, A. Vaswani, E. Hovy. Learning Whom to Trust with MACE. NAACL 2013.
    """

    _empty_attrs = {"spamming_": ("worker", "spamming"), "skills_": ("worker", "skill")}
    _fit_private = EMAggregator._fit_private + ("_restart_warning",)  # a restart's, gone when a fit fails
    #: float arrays of workers x labels a fit holds at its peak: the VB M-step's concentrations,
    #: expected logs and special functions' scratch, the E-step's counts, the best restart's
    #: parameters beside the current one's, ``thetas_``. Measured peaks over the default estimate
    #: came to 7 (200k workers x 100 labels: 1.2 GB, estimated 122 MB before), 6 and 9 such arrays
    _worker_label_arrays = 10

    def __init__(self, n_restarts: int = 10, n_iter: int = 50, method: str = "vb", smoothing: float = 0.1,
                 default_noise: float = 0.5, alpha: float = 0.5, beta: float = 0.5, random_state: Any = 0,
                 verbose: int = 0, *, tol: float = 1e-5, max_iter: int | None = None, engine: Any = None,
                 n_shards: int | None = None, progress: bool | None = None):
        self.n_restarts = n_restarts
        self.n_iter = n_iter
        self.method = method
        self.smoothing = smoothing
        self.default_noise = default_noise
        self.alpha = alpha
        self.beta = beta
        self.random_state = random_state
        self.tol = tol
        self.max_iter = max_iter
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress
        self.verbose = verbose

    def memory_estimate(self, n_tasks: int, n_workers: int, n_labels: int, n_judgments: int) -> tuple[int, str]:
        """The default estimate (judgments, tasks x labels) plus the workers x labels tables
        (:attr:`_worker_label_arrays` of them)."""
        base, what = super().memory_estimate(n_tasks, n_workers, n_labels, n_judgments)
        wk = self._worker_label_arrays * FLOAT * int(n_workers) * int(n_labels)
        if wk > base:
            what = (f"{int(n_workers):,} workers x {int(n_labels):,} labels (strategies) and "
                    f"{int(n_judgments):,} judgments")
        return base + wk, what

    def _validate_params(self, judgments: Judgments) -> None:
        super()._validate_params(judgments)
        if self.method not in ("vb", "em"):
            raise ValueError(f"method must be 'vb' or 'em', not {self.method!r}")
        check_count("n_restarts", self.n_restarts, 1)  # "3", 2.7 and True were taken as 3, 2 and 1
        if not isinstance(self.verbose, (bool, np.bool_)):  # a number, as crowd-kit compares it (verbose > 0);
            check_real("verbose", self.verbose)  # text "0" was true, so it showed the bar
        check_real("smoothing", self.smoothing, 0, finite=True)
        check_real("default_noise", self.default_noise, -1, finite=True)  # starts from Uniform(1, 2 + noise)
        for name in ("alpha", "beta"):  # the Beta prior of VB (unused by EM)
            value = check_real(name, getattr(self, name), finite=True)
            if self.method == "vb" and value <= 0:
                raise ValueError(f"{name} (the Beta prior of VB) must be > 0, not {value}")

    # ---------------------------------------------------------------- restarts
    def _restart_streams(self, rng: np.random.Generator) -> list[np.random.Generator]:
        """One independent stream per restart: spawned from the seed (an int, a SeedSequence, None)
        or the Generator given; a RandomState or BitGenerator (crowd-kit's MACE takes a RandomState;
        SeedSequence(rs) raised numpy's TypeError), or a Generator over a bit generator with no seed
        sequence (a RandomState's), seeds them from ``rng``, the fit's generator over it."""
        n = int(self.n_restarts)
        rs = self.random_state
        if isinstance(rs, np.random.Generator):
            # Generator.spawn's steps (numpy 1.25 on; numpy 1.24 has no such method): the same streams
            bits = rs.bit_generator
            seq = getattr(bits, "_seed_seq", None)
            if isinstance(seq, np.random.SeedSequence):
                return [np.random.Generator(type(bits)(s)) for s in seq.spawn(n)]
            rs = bits
        if isinstance(rs, (np.random.RandomState, np.random.BitGenerator)):
            rs = np.random.SeedSequence(rng.integers(0, 2**63, size=4).tolist())
        seq = rs if isinstance(rs, np.random.SeedSequence) else np.random.SeedSequence(rs)
        return [np.random.default_rng(s) for s in seq.spawn(n)]

    def _run(self, eng: Any, judgments: Judgments, rng: np.random.Generator) -> tuple[Any, np.ndarray]:
        best: tuple | None = None
        finals, histories = [], []
        streams, max_iter = self._restart_streams(rng), self._iter_limit()
        # one bar for restarts x iterations (a bar per restart, each silent for its first second, showed
        # nothing for 10 restarts of 0.5 s); crowd-kit's verbose turns it on, progress wins
        enabled = self.progress if self.progress is not None else (True if self.verbose > 0 else None)
        bar = Progress(len(streams) * max_iter, type(self).__name__, enabled=enabled)
        for i, stream in enumerate(streams):
            self._restart_warning = None  # kept by _not_converged: no process-wide catch_warnings, which
            with fit_options_set(progress=bar.part(i * max_iter, f"restart {i + 1}/{len(streams)}")):
                params, post = super()._run(eng, judgments, stream)  # took other threads' warnings
            histories.append(list(self.history_))
            final = self.history_[-1] if self.history_ else float("-inf")  # n_iter=0: the first start
            finals.append(final)
            if best is None or final > best[0]:
                best = (final, i, params, post, list(self.history_), self.n_iter_,
                        self.converged_, self._restart_warning)
        assert best is not None
        _, i, params, post, self.history_, self.n_iter_, self.converged_, message = best
        bar.update(bar.total, f"best: restart {i + 1}")
        bar.close(f"best: restart {i + 1}")
        del self._restart_warning
        if message is not None:
            super()._not_converged(f"best restart ({i}): {message}")
        self.best_restart_ = i
        self.restart_objectives_ = finals
        self.restart_histories_ = histories
        return params, post

    def _not_converged(self, message: str) -> None:
        self._restart_warning = message  # said once, for the restart the fit returns

    @staticmethod
    def _worker_counts(shard: Shard) -> np.ndarray:
        return np.bincount(shard.worker, minlength=shard.n_workers).astype(float)

    def _init_state(self, engine: Any, judgments: Judgments,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        w, k = judgments.n_workers, judgments.n_labels
        memory = {"n_workers": int(w), "n_labels": int(k)}
        hi = 2.0 + float(self.default_noise)
        spam = rng.uniform(1.0, hi, size=(w, 2))
        strat = rng.uniform(1.0, hi, size=(w, k))
        spam /= spam.sum(axis=1, keepdims=True)
        strat /= strat.sum(axis=1, keepdims=True)
        if self.method == "em":
            return self._point_params(spam, strat), memory
        # VB: a proper Dirichlet start, as if each worker's answers were split by the random draw
        n = engine.map_sum(self._worker_counts)[:, None]
        return self._vb_params(n * spam, n * strat), memory

    # ---------------------------------------------------------------- parameters from counts
    def _point_params(self, spam: np.ndarray, strat: np.ndarray) -> dict[str, Any]:
        log_spam, log_strat = safe_log(spam), safe_log(strat)
        return {"log_spam": log_spam[:, 0], "log_know": log_spam[:, 1], "log_strat": log_strat,
                "spam": spam, "strat": strat}

    def _vb_params(self, spam_counts: np.ndarray, strat_counts: np.ndarray) -> dict[str, Any]:
        prior_s = np.array([float(self.alpha), float(self.beta)])
        a = spam_counts + prior_s
        s = strat_counts + _STRATEGY_PRIOR
        el_s, el_t = _expected_logs(a), _expected_logs(s)
        kl = dirichlet_kl_rows(a, np.broadcast_to(prior_s, a.shape), el_s)  # the expected logs once
        kl += dirichlet_kl_rows(s, np.broadcast_to(_STRATEGY_PRIOR, s.shape), el_t)
        return {"log_spam": el_s[:, 0], "log_know": el_s[:, 1], "log_strat": el_t, "kl": kl,
                "spam": a / a.sum(axis=1, keepdims=True), "strat": s / s.sum(axis=1, keepdims=True)}

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        w, k = memory["n_workers"], memory["n_labels"]
        counts = np.stack([stats["spam"], stats["know"]], axis=1)
        strat = stats["strat"].reshape(w, k)
        if self.method == "vb":
            return self._vb_params(counts, strat), memory
        sm = float(self.smoothing)
        spam = (counts + sm) / np.maximum((counts + sm).sum(axis=1, keepdims=True), EPS)
        tot = (strat + sm).sum(axis=1, keepdims=True)
        strat = np.where(tot > 0, (strat + sm) / np.where(tot > 0, tot, 1.0), 1.0 / k)
        return self._point_params(spam, strat), memory

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        if self.method == "vb":
            return float(stats["ll"]) - params["kl"]
        sm = float(self.smoothing)
        if sm == 0:
            return float(stats["ll"])
        logs = [params["log_spam"], params["log_know"], params["log_strat"].ravel()]
        return float(stats["ll"]) + sm * float(sum(np.sum(x) for x in logs))

    # ---------------------------------------------------------------- shard functions
    @staticmethod
    def _log_terms(shard: Shard, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unnormalised log posterior (n_tasks_in_shard, K), and per judgment a_j and kn_j - b_j."""
        k, n_t = shard.n_labels, shard.n_tasks
        w, y = shard.worker, shard.label
        a = params["log_spam"][w] + params["log_strat"][w, y]
        kn = params["log_know"][w]
        b = np.logaddexp(a, kn)
        logq = np.bincount(shard.task.astype(np.int64) * k + y, weights=b - a,
                           minlength=n_t * k).reshape(n_t, k).astype(np.float64, copy=False)  # empty: int
        logq += np.bincount(shard.task, weights=a, minlength=n_t)[:, None] - np.log(k)
        return logq, a, kn - b

    @staticmethod
    def _clamp(post: np.ndarray, gold: np.ndarray) -> np.ndarray:
        g = np.flatnonzero(gold >= 0)
        if g.size:
            post[g] = 0.0
            post[g, gold[g]] = 1.0
        return g

    def _e_step(self, shard: Shard, params: dict[str, Any]) -> dict[str, Any]:
        w, k = shard.n_workers, shard.n_labels
        if shard.n_tasks == 0:
            return {"ll": 0.0, "spam": np.zeros(w), "know": np.zeros(w), "strat": np.zeros(w * k)}
        logq, _, log_know_share = self._log_terms(shard, params)
        post, lse = softmax_rows(logq)
        g = self._clamp(post, shard.gold)
        if g.size:
            lse[g] = logq[g, shard.gold[g]]
        know = post[shard.task, shard.label] * np.exp(log_know_share)  # P(S_j = 0 | data)
        spam = 1.0 - know
        return {
            "ll": float(lse.sum()),
            "spam": np.bincount(shard.worker, weights=spam, minlength=w),
            "know": np.bincount(shard.worker, weights=know, minlength=w),
            "strat": np.bincount(shard.wl, weights=spam, minlength=w * k),
        }

    def _posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        post = softmax_rows(self._log_terms(shard, params)[0])[0]
        self._clamp(post, shard.gold)
        return post

    # ---------------------------------------------------------------- results
    def _declared_params(self, params: dict[str, Any], used: np.ndarray) -> dict[str, Any]:
        """Declared labels that no judgment or gold gives: fitted without (``T`` uniform over the
        labels in use), strategy 0 (they took up to 0.009 of a task's probability)."""
        return {**params, "strat": label_columns(params["strat"], used),
                "log_strat": label_columns(params["log_strat"], used, -np.inf)}

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        params, judgments = self._declared_results(params, judgments)  # labels=[...] that no judgment gives
        out = self._out
        self._params = params
        spam = params["spam"][:, 0]
        self.spamming_ = out.per_worker(judgments.worker_names, spam, "spamming")
        self.skills_ = out.per_worker(judgments.worker_names, 1.0 - spam, "skill")
        self.thetas_ = _worker_label_frame(out, judgments.worker_names, judgments.label_names,
                                           params["strat"])


def _worker_label_frame(out: Any, workers: np.ndarray, labels: np.ndarray, values: np.ndarray) -> Any:
    """worker x label table: a pandas DataFrame, or a polars / Arrow table with one column per label."""
    if out.kind == "pandas":
        import pandas as pd

        return pd.DataFrame(values, index=pandas_index(workers, name="worker"),
                            columns=pandas_index(labels, name="label"))
    cols: dict[str, Any] = {"worker": workers}
    for i, name in enumerate(labels.tolist()):
        cols[str(name)] = values[:, i]
    return out.table(cols)
