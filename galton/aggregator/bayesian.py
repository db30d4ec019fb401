"""Bayesian Dawid-Skene (IBCC): Dirichlet priors on confusion matrices, fitted by variational Bayes.

Same E-step kernel as :class:`~galton.aggregator.dawid_skene.DawidSkene`; only the table it reads
changes (expected log-probabilities under the Dirichlet posteriors instead of point estimates), and
the objective is the evidence lower bound. The special functions it needs (digamma, trigamma,
log-gamma) and the Dirichlet divergence come from :mod:`galton._math` (numpy; no scipy).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._math import digamma, dirichlet_kl
from ..judgments import Judgments
from ._bayes_eb import MAX_ACCURACY, band_edges, cube_inputs, eb_accuracies, pair_posterior
from ._bayes_one_coin import MANY_LABELS, one_coin_step, uses_one_coin
from ._calibrate import choose_rho, sample_fraction, task_ranks, task_temperatures
from ._declared_labels import UNUSED_ON_SHARDS, DeclaredLabels
from ._fit_keywords import gold_keyword
from ._kernels import logsumexp_rows, vote_shares
from ._lone_tasks import judged_beside_another, lone_rows, lone_tasks
from ._pairs import (COIN_KEYS, estep_pairs, one_coin_fill, pair_axes, pair_codes, pair_table, pair_workers,
                     right_stats)
from ._predictive import lone_predictive
from ._registry import register
from .dawid_skene import KEEP_POSTERIORS, KEPT_POSTERIORS, ConfusionEM

__all__ = ["BayesianDawidSkene"]  # re-exported by galton: the model only (its helpers are imported by name)


def one_coin_matrix(accuracy: float, k: int) -> np.ndarray:
    """The K x K confusion matrix of a worker who is right with probability ``accuracy`` and
    otherwise picks one of the other K - 1 labels uniformly."""
    if k == 1:
        return np.ones((1, 1))
    m = np.full((k, k), (1.0 - accuracy) / (k - 1))
    np.fill_diagonal(m, accuracy)
    return m


def cube_eb_accuracies(strength: np.ndarray, counts: np.ndarray, half_width: float, fixed: float | None = None,
                       memo: dict[str, Any] | None = None) -> tuple[float, np.ndarray]:
    """The prior accuracies ``(m, mu)`` of :func:`galton.aggregator._bayes_eb.eb_accuracies` from
    whole matrices of expected counts ``counts[w, observed, true]``."""
    rows, pl, wptr = cube_inputs(counts)
    return eb_accuracies(strength, rows, pl, wptr, half_width, fixed, memo)


@register("bds", "bayesian_ds", "ibcc", "bayesian_dawid_skene")
class BayesianDawidSkene(DeclaredLabels, ConfusionEM):
    r"""Bayesian Dawid-Skene (independent Bayesian classifier combination, IBCC) fitted by
    variational Bayes, with priors that keep it within reach of majority vote.

    Generative model (Kim & Ghahramani, *Bayesian Classifier Combination*, AISTATS 2012)::

        p                 ~ Dirichlet(b0, ..., b0)               class proportions
        e_w[:, k]         ~ Dirichlet(s_w * C(mu_w)[:, k])       column k of worker w's confusion matrix
        z_t | p           ~ Categorical(p)                       true class of task t
        y_tw | z_t = k, e ~ Categorical(e_w[:, k])               answer of worker w

    ``C(mu)`` is the one-coin matrix: ``mu`` on the diagonal, ``(1 - mu) / (K - 1)`` elsewhere, so
    the prior says "worker w is right with probability mu_w, better than chance". The strengths,
    in pseudo-judgments per column, and the class prior are

        s_w = prior_strength + shrinkage * n_w / K          (n_w: worker w's judgments)
        b0  = beta + class_shrinkage * n_tasks / K

    ``prior_strength`` is the classic IBCC prior; it decides workers with a handful of judgments.
    The ``shrinkage`` part grows with the worker's data, so it never washes out: each worker's
    matrix stays a blend of its own Dawid-Skene estimate and a one-coin matrix. That keeps the
    model close to majority vote where the full model goes wrong: correlated workers whose
    agreement looks like perfect accuracy, latent classes that the gold standard does not have
    (ImageNet ReaL's "maybe" answers), one class swallowing the others; ``class_shrinkage`` pulls
    the class proportions towards uniform in the same way.

    The price, where workers do err independently: a worker's own data weigh about as much as its
    prior (``n_w / K`` against ``s_w``), whose accuracy stays within the window, so ``skills_`` is shrunk
    and a strong worker is outvoted. 20 workers, 5 perfect and 15 coin flippers, 5 judgments a task,
    two labels, 20,000 tasks: ``skills_`` 0.806 / 0.595 (truth 1 / 0.5; the same at 2,000 and 80,000),
    accuracy 0.876 against one_coin_ds's 0.905, calibration error 0.139 against 0.003 (561 tasks at
    p = 0.526, all wrong); experts 0.95 with novices 0.6: 0.870 / 0.879; four labels, 0.9 with 0.4:
    0.785 / 0.839. ``accuracy_window=1`` or ``shrinkage=0`` match one_coin_ds there, but break the rule
    below on the shared data (zheng_s_adult 3.6, imagenet_real_golden 11.8 points under majority vote;
    a cap on ``n_w``: ``docs/research/default-model.md``). How reliable a judge is: ``workers_.skill``,
    the worker read against the others with no prior (the perfect workers: 1.000 [0.999, 1.000]).

    The prior accuracies are fitted by empirical Bayes: ``mu_w`` is free within a window of width
    ``accuracy_window`` around a common centre ``m`` (``|mu_w - m| <= accuracy_window / 2``, all
    in ``[1/K, 0.99]``), so the prior can tell spammers from experts without letting any worker
    run away from the crowd. ``accuracy_window=0`` gives one accuracy shared by all workers;
    ``prior_accuracy`` fixes the centre ``m``. With ``shrinkage = class_shrinkage = 0`` and
    ``accuracy_window = 0`` the model is plain IBCC with a one-coin-shaped prior.

    Mean-field variational Bayes, ``q(z) q(e) q(p)`` with ``q(e_w[:, k]) = Dirichlet(a_w[:, k])``
    and ``q(p) = Dirichlet(b)``:

    - E-step: the Dawid-Skene kernel with expected logs in place of log point estimates::

          log q_t(k) = E[log p_k] + sum_{w in t} E[log e_w[y_tw, k]] + const
          E[log e_w[l, k]] = psi(a_w[l, k]) - psi(sum_l a_w[l, k]),  E[log p_k] = psi(b_k) - psi(sum b)

    - M-step (no data needed): with the expected counts ``N_w[l, k] = sum_t q_t(k) [y_tw = l]``,
      first ``(m, mu)`` maximise the Dirichlet-multinomial evidence ``sum [lnG(A + N) - lnG(A)]``
      (concave: Newton on the centre ``m``, each step one pass that solves every worker on the
      band around it; :func:`~galton.aggregator._bayes_eb.eb_accuracies`), which is the ELBO maximised jointly over
      ``q(e)`` and the prior accuracies; then ``a_w = s_w C(mu_w) + N_w`` and
      ``b = b0 + sum_t q_t``.
    - Objective, evaluated right after each E-step::

          ELBO = sum_t log sum_k exp(log q_t(k)) - sum_{w,k} KL(Dir(a_w[:, k]) || Dir(s_w C(mu_w)[:, k]))
                 - KL(Dir(b) || Dir(b0))

      (for the optimal q(z) the expected log-joint plus its entropy is the first sum). Every step
      is an exact coordinate ascent step, so ``history_`` never decreases.

    Gold tasks are clamped (their ``z`` is observed). Initialised from the majority-vote shares,
    like :class:`~galton.aggregator.dawid_skene.DawidSkene`; deterministic.

    A task judged once (and not gold) says nothing of its judge: counting it told the worker it was right every time
    (one judgment per task: every worker at the 0.99 cap, every probability 1.0 at 70% accuracy). Such tasks stay
    out of the expected counts, the class counts and the ELBO (the sums above run over the other tasks); their
    posterior is the posterior predictive ``E[p_k] E[e_w(y | k)]`` (``priors_``, ``errors_``), as is a new task's of
    one worker (:mod:`galton.aggregator._predictive`). A worker who judged only such tasks takes the prior's accuracy
    ``m``; where no worker judged beside another, ``m`` is the middle of ``[1/K, 0.99]``, each task's probability.

    A label of ``labels=[...]`` that no judgment and no gold task gives is no class of the data: ``K`` above counts the
    labels in use, the fit is the one without the others, and the results list them with probability 0 (``probas_``,
    ``priors_``, ``errors_`` rows and columns, new data in ``predict_proba``). Each declared label had its
    class-prior pseudo-counts, its share of the one-coin prior and of the calibration, and ``"auto"`` counted them:
    198 of them put up to 0.58 of a task's probability on labels nobody gave. Judgments loaded with ``load_parquet``
    cannot be re-coded in their shards; there such labels are refused (see
    :mod:`galton.aggregator._declared_labels`).

    The defaults were chosen by measuring accuracy on the 17 real datasets with categorical gold in the shared
    collection: with them the model is never more than one point below majority vote on any of them (worst: -0.98 on
    ZenCrowd, where Dawid-Skene loses 3.6), and its mean accuracy (83.96) is level with Dawid-Skene's (83.96,
    crowd-kit's early stop; 83.30 run to convergence) and above GLAD's, MACE's, Wawa's and majority vote's (81.97).

    Parameters
    ----------
    n_iter : int, default 100
        Maximum number of VB iterations (``max_iter`` is accepted too: the same limit; both set to different values is
        refused).
    tol : float, default 1e-6
        Stop when the ELBO changes by less than ``tol`` per judgment. 1e-6 (1e-7 before 2026-12-05) halves the
        iterations on wide crowds (37k workers: 21 against 47) and changes 60 of the 57,498 labels of the 17
        shared datasets (zheng_s_rel 58, act_zencrowd_all and zheng_s_adult 1 each; mean accuracy 0.83962 ->
        0.83961; ZenCrowd's gap to majority vote -0.93 -> -0.98 points: one gold task).
    prior_strength : float, default 5.0
        Fixed pseudo-judgments per confusion column (> 0).
    shrinkage : float, default 2.0
        Data-proportional pseudo-judgments per column, as a multiple of ``n_w / K`` (>= 0).
    prior_accuracy : float or None, default None
        The centre ``m`` of the prior accuracies, in ``[1/K, 0.99]`` (checked at fit, when K is
        known); None fits it.
    accuracy_window : float, default 0.15
        Width of the interval the workers' prior accuracies may spread over (>= 0).
    beta : float, default 1.0
        Fixed Dirichlet pseudo-count of each class in the prior on the class proportions (> 0).
    class_shrinkage : float, default 10.0
        Extra pseudo-counts per class, as a multiple of ``n_tasks / K`` (>= 0). Each class's share in
        ``priors_`` stays within about ``[c / K, c / K + 1] / (c + 1)`` (c = class_shrinkage; two classes:
        0.455 to 0.545) whatever the data, which costs accuracy where the classes really are skewed:
        90/10 classes, 1,000 tasks, 3 judgments a task of accuracy 0.72 (five seeds): 0.790 against
        majority vote's 0.812, 0.916 with 0 (95/5: 0.780, 0.812, 0.954). Give 0 for skewed classes.
    confusion : {"auto", "full", "one_coin"}, default "auto"
        ``"full"``: a K x K confusion matrix per worker, as above. ``"one_coin"``: one accuracy per
        worker, ``theta_w ~ Beta(s mu_w, s (1 - mu_w))`` with ``s = prior_strength + shrinkage *
        n_w``, its errors spread evenly over the other labels (the same class prior, windowed
        empirical-Bayes accuracies and calibration; see :mod:`galton.aggregator._bayes_one_coin`).
        ``"auto"``: full matrices up to ``MANY_LABELS`` (32) labels in use, one accuracy per worker above
        (a worker's judgments cannot fill K x K cells there, and the fit's cost grows with them:
        1,000 labels and 100k judgments: 188 s and 3.5 GB full, 4-5 s and 1.2 GB with one accuracy,
        the same accuracy; ``docs/research/many_labels.py``). ``confusion_`` says which form a fit took.
    calibrate : bool, default True
        Temper the reported posteriors by each task's judgments n, ``q_t(k) ∝ exp(tau_t * log-posterior)``,
        ``tau_t = 1 / (1 + (n - 1) rho)`` (n judgments whose errors go together with correlation rho weigh as
        n / (1 + (n - 1) rho) independent ones: a task judged once is as fitted), ``rho >= 0`` chosen without gold
        by how well the tempered posterior of a task without one of its judgments predicts that judgment (one more
        pass over the shards, on large data over a keyed sample of about 20k judgments from at least 200 tasks;
        :mod:`galton.aggregator._calibrate`). The labels do not change; ``rho`` is 0 on data drawn from the model
        (one above 0 is taken where it beats 0 by twice its standard error over the tasks); ``predict_proba``
        tempers new tasks by their judgments of fitted workers. On the 17 shared datasets with gold: confidence
        0.958 -> 0.927 at accuracy 0.840, NLL of the gold label 1.11 -> 0.63 nats, ECE 0.124 -> 0.097 (one
        temperature for all tasks, before 2026-12-07: 0.931, 0.67, 0.103; new tasks of 1, 2, 3, 5 judgments ECE
        0.145, 0.116, 0.102, 0.117, now 0.099, 0.090, 0.088, 0.099: ``docs/research/calibration_task_size.py``);
        still over-confident where most workers share an error, which no judgment-only signal can see.
    random_state, engine, n_shards, progress
        As everywhere in galton (``random_state`` is accepted for the common interface; the fit
        uses no randomness).

    Attributes
    ----------
    labels_, probas_ : aggregated labels and the posterior class probabilities ``q_t`` (tempered
        by task with ``calibrate``).
    rho_, temperature_ : the correlation of ``calibrate`` (0.0: as fitted, as with ``calibrate=False`` or where no
        judgment could be held out) and the temperature it gives a task of the fit's mean number of judgments.
    calibration_judgments_, calibration_tasks_ : the held-out judgments ``rho_`` was chosen
        on and the tasks they belong to (0: none; a keyed sample on large data, see ``calibrate``).
    errors_ : posterior mean confusion matrices ``a_w[l, k] / sum_l a_w[l, k]``, index (worker,
        observed label), columns true label (crowd-kit's layout).
    priors_ : posterior mean class proportions ``b / sum(b)``.
    skills_ : each worker's posterior mean probability of a correct answer, ``sum_k p_k e_w[k, k]``
        (shrunk by the prior, see above; ``workers_.skill`` is the worker's own accuracy).
    prior_accuracy_ : ``m``, the centre of the prior accuracies (fitted or given).
    confusion_ : "full" or "one_coin", the form the fit took (see ``confusion``).
    history_ : the ELBO per iteration; ``n_iter_``, ``converged_``.
    """

    def __init__(self, n_iter: int = 100, tol: float = 1e-6, *, prior_strength: float = 5.0,
                 shrinkage: float = 2.0, prior_accuracy: float | None = None,
                 accuracy_window: float = 0.15, beta: float = 1.0,
                 class_shrinkage: float = 10.0, confusion: str = "auto", calibrate: bool = True,
                 max_iter: int | None = None,
                 random_state: Any = None, engine: Any = None, n_shards: int | None = None,
                 progress: bool | None = None):
        self.n_iter = n_iter
        self.tol = tol
        self.prior_strength = prior_strength
        self.shrinkage = shrinkage
        self.prior_accuracy = prior_accuracy
        self.accuracy_window = accuracy_window
        self.beta = beta
        self.class_shrinkage = class_shrinkage
        self.confusion = confusion
        self.calibrate = calibrate
        self.max_iter = max_iter
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    #: measured peak: 4.9 worker x label x label arrays (old and new a, a0 and table, the counts,
    #: the special functions' outputs); see tests/aggregator/test_memory_guard.py
    _confusion_arrays = 6
    #: with one accuracy per worker, no array of pairs x K besides the outputs' rows (shared with ``errors_``): the
    #: E-step adds two numbers per judgment instead of a table row, and no expected counts are kept. Measured 232 MB
    #: growth for an estimate of 300 MB (1,000 labels, 20k judgments, 300 workers); with the tables of the E-step
    #: 383 MB for 608 MB, and 1,405 MB when the estimate counted the full form's arrays
    _one_coin_arrays = 0
    _predictive_single = True  # a new task of one worker in predict_proba: the posterior predictive

    def _held_arrays(self, n_labels: int, n_judgments: int) -> int:
        if uses_one_coin(self.confusion, n_labels):
            return self._one_coin_arrays
        return super()._held_arrays(n_labels, n_judgments)

    def fit(self, data: Any, gold: Any = None, **kwargs: Any) -> "BayesianDawidSkene":
        """Fit by variational Bayes; ``gold`` (crowd-kit: ``true_labels``) clamps known tasks."""
        self._reset()  # the previous fit's results go first, also when this fit is refused
        gold = gold_keyword(self, gold, kwargs)
        checks = {"prior_strength": (0.0, False), "beta": (0.0, False), "shrinkage": (0.0, True),
                  "class_shrinkage": (0.0, True), "accuracy_window": (0.0, True)}
        for name, (low, closed) in checks.items():
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
            if not (ok and (value >= low if closed else value > low)):
                bound = f"{'>=' if closed else '>'} {low:g}"
                raise ValueError(f"{name} must be a finite number {bound}, not {value!r}")
        if self.confusion not in ("auto", "full", "one_coin"):
            raise ValueError(f"confusion must be 'auto' (full matrices up to {MANY_LABELS} labels), 'full' or "
                             f"'one_coin', not {self.confusion!r}")
        if not isinstance(self.calibrate, (bool, np.bool_)):
            raise ValueError(f"calibrate must be True or False, not {self.calibrate!r}")
        m = self.prior_accuracy
        if m is not None and not (isinstance(m, numbers.Real) and not isinstance(m, bool) and 0 < m < 1):
            raise ValueError(f"prior_accuracy must be None (fit it) or a number in (0, 1), not {m!r}")
        return super().fit(data, gold, **kwargs)  # type: ignore[return-value]

    # ---------------------------------------------------------------- VB steps
    def _init_state(self, engine: Any, judgments: Judgments,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        k = int(judgments.n_labels)
        if self.prior_accuracy is not None and not 1.0 / k <= self.prior_accuracy <= MAX_ACCURACY:
            raise ValueError(  # below chance the prior takes the crowd for adversaries: every label flips
                f"prior_accuracy={self.prior_accuracy} is outside [1/K, {MAX_ACCURACY}] = [{1.0 / k:.4g}, "
                f"{MAX_ACCURACY}] for these {k} labels (below 1/K the prior takes the workers for adversaries "
                "and flips the labels); give a value in that range, or None to fit it")
        memory, stats = self._start(engine, judgments)
        # no class count (lone tasks are left out of them) and no judgment: a label nobody gives; re-coded
        # away in memory (DeclaredLabels), not in shards
        judged = np.bincount(memory["pairs"] % k, minlength=k) > 0
        unused = np.flatnonzero(memory.get("unused", np.zeros(k, bool)) & ~judged)
        if unused.size:
            raise ValueError(UNUSED_ON_SHARDS.format(n=unused.size, k=k, model="bds", examples=", ".join(
                repr(v) for v in judgments.label_names[unused[:5]].tolist())))
        # each worker's judgments beside another's on a task (or on gold): what tells its accuracy
        memory["beside"] = engine.map_sum(judged_beside_another, int(judgments.n_workers))["n"]
        k = memory["n_labels"]
        # judgments per worker (exact: sums of ones) fix the prior's strengths for the whole fit,
        # so the ELBO is one objective from the first iteration to the last
        memory["one_coin"] = uses_one_coin(self.confusion, k)
        # one accuracy per worker: its prior weighs like one column of the full model's
        per = 1 if memory["one_coin"] else k
        memory["strength"] = float(self.prior_strength) + float(self.shrinkage) * memory["worker_judgments"] / per
        memory["class_prior"] = float(self.beta) + float(self.class_shrinkage) * judgments.n_tasks / k
        return self._m_step(stats, memory)

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        k = memory["n_labels"]
        pw, pl = pair_axes(memory)  # each pair's worker and label: fixed for the fit, kept
        strength = memory["strength"]
        fixed = None if self.prior_accuracy is None else float(self.prior_accuracy)
        half_width = 0.5 * float(self.accuracy_window)
        b0 = memory["class_prior"]
        b = stats["class_counts"] + b0
        if memory.get("one_coin"):
            beside = memory.get("beside", memory["worker_judgments"].astype(float))
            if fixed is None and not beside.any():  # nothing tells an accuracy: the prior's middle
                fixed = 0.5 * (1.0 / k + MAX_ACCURACY)
            step = one_coin_step(stats["right"], pl, pw, memory["wptr"], beside,
                                 strength, k, half_width, MAX_ACCURACY, fixed, memory)
            return self._pair_params(memory, **step, logprior=digamma(b) - digamma(b.sum()), strength=strength, b=b,
                                     b0=b0, one_coin=True), memory
        counts = stats["counts"]
        informed = memory.get("beside", memory["worker_judgments"]) > 0
        if informed.any():
            m, mu = eb_accuracies(strength, counts, pl, memory["wptr"], half_width, fixed, memory)
            mu = np.where(informed, mu, m)  # no evidence of their own: the crowd's prior accuracy
        else:  # nothing tells a worker's accuracy (every task judged once): the middle of [1/K, MAX_ACCURACY]
            m = fixed if fixed is not None else 0.5 * (1.0 / k + MAX_ACCURACY)
            mu = np.full(memory["n_workers"], m)
        u = strength * mu  # the prior's diagonal and off-diagonal pseudo-counts, per worker
        v = strength * (1.0 - mu) / (k - 1) if k > 1 else u  # one label: every cell is a diagonal one
        levels = None  # the distinct strengths and the band of this M-step (see pair_elog_kl_numpy)
        if k > 1 and "strength_values" in memory:
            levels = (memory["strength_values"], memory["strength_index"], *band_edges(m, half_width, k))
        # the posterior cells, their columns' sums, expected logs and divergence (for the ELBO)
        a, colsum, table, kl_e = pair_posterior(u, v, strength, counts, pl, memory["wptr"], pw, levels)
        return self._pair_params(
            memory, table=table, logprior=digamma(b) - digamma(b.sum()), a=a, colsum=colsum,
            strength=strength, b=b, b0=b0, accuracy=m, worker_accuracy=mu, diag_prior=u, off_prior=v,
            kl_e=kl_e), memory

    def _with_outputs(self, params: dict[str, Any], judgments: Judgments) -> dict[str, Any]:
        """The parameters plus what only the results need (built once, after the fit): the posterior
        mean rows ``errors``, and for the cells of labels a worker never gave (a = a0: ``off_prior``
        off the diagonal, ``diag_prior`` on it) their probabilities ``fill`` and expected logs
        ``fill_table``."""
        if "fill" in params:  # spread over the declared labels already (_finish)
            return params
        w, k = judgments.n_workers, judgments.n_labels
        pw = pair_workers(params["pairs"], k)
        b = params["b"]
        if params.get("one_coin"):
            theta = params["theta"]
            mean = theta / theta.sum(axis=1)[:, None]
            elog = digamma(theta) - digamma(theta.sum(axis=1))[:, None]
            # errors None: errors_ builds its rows from the fill when it is built (for polars / Arrow,
            # when first read: no pairs x K array held by the fit)
            return {**params, "errors": None, "fill": one_coin_fill(mean[:, 1] / (k - 1), mean[:, 0], k),
                    "fill_table": one_coin_fill(elog[:, 1] - np.log(k - 1), elog[:, 0], k), "priors": b / b.sum()}
        colsum = params["colsum"]
        fill, fill_table = np.empty((w, 2, k)), np.empty((w, 2, k))
        log_col = digamma(colsum)
        for i, x in enumerate((params["off_prior"], params["diag_prior"])):
            fill[:, i, :] = x[:, None] / colsum
            fill_table[:, i, :] = digamma(x)[:, None] - log_col
        return {**params, "errors": params["a"] / colsum[pw], "fill": fill, "fill_table": fill_table,
                "priors": b / b.sum()}

    def _results_params(self, engine: Any, params: dict[str, Any], judgments: Judgments) -> dict[str, Any]:
        """With ``calibrate``: the ``rho`` of the tasks' temperatures, chosen by held-out judgments (one pass)."""
        k = params["b"].size
        if not self.calibrate or k < 2 or judgments.n_judgments == 0:
            return params
        pw = pair_workers(params["pairs"], k)
        if params.get("one_coin"):  # each row's worker's Beta (alpha, beta) and the row's label; the
            alpha, beta = params["theta"][pw].T  # table's rows built for the sampled judgments only
            cells = {"cells": None, "columns": None, "pooled": (alpha, beta, params["coin_label"]),
                     "table": {key: params[key] for key in COIN_KEYS}}
        else:  # each row's posterior Dirichlet cells and their columns' sums
            cells = {"cells": params["a"], "columns": params["colsum"][pw], "table": params["table"]}
        fraction = sample_fraction(judgments.n_judgments, k, judgments.n_tasks)  # keyed by the tasks' sorted places
        scored = engine.map_sum(self._heldout, {"rows": params["rows"], "logprior": params["logprior"],
                                                "ranks": task_ranks(judgments, *fraction), **cells}, *fraction)
        return {**params, "rho": choose_rho(scored["nll"], scored["n"], sq=scored["sq"], tasks=int(scored["tasks"])),
                "heldout": (int(scored["n"]), int(scored["tasks"]))}

    # ------------------------------------------------- tasks judged once say nothing of their judge
    def _e_step(self, shard: Any, params: dict[str, Any]) -> dict[str, Any]:
        """The E-step, without the tasks judged once (and not gold) in the statistics and the ELBO:
        such a task's posterior is its one judgment's label, so counting it told the worker it was
        right every time (one judgment per task: every worker at the 0.99 cap, every probability
        1.0 at 70% accuracy). Their posteriors are still computed for the results."""
        lone = lone_tasks(shard)
        if not lone.size:
            return super()._e_step(shard, params)
        if params.get("one_coin"):  # the statistics are sums of the posteriors: without the lone rows
            return self._coin_e_step(shard, params, lone)
        keep = params.get(KEEP_POSTERIORS)
        ll, post, counts, class_counts = estep_pairs(shard, params, True, True)
        if keep is not None:
            shard.state[KEPT_POSTERIORS] = (keep, post)
        j, at, starts = lone_rows(shard)
        rows = pair_codes(shard, params["rows"])[j]
        for c in range(counts.shape[1]):  # a bincount per label (np.subtract.at is ~50x slower)
            counts[:, c] -= np.bincount(rows, weights=post[lone[at], c], minlength=counts.shape[0])
        ll -= float(logsumexp_rows(params["logprior"][None, :] + np.add.reduceat(params["table"][rows], starts)).sum())
        return {"ll": ll, "counts": counts, "class_counts": class_counts - post[lone].sum(axis=0)}

    def _coin_e_step(self, shard: Any, params: dict[str, Any], lone: np.ndarray) -> dict[str, Any]:
        keep = params.get(KEEP_POSTERIORS)
        ll, post, _, _ = estep_pairs(shard, params)
        if keep is not None:
            shard.state[KEPT_POSTERIORS] = (keep, post)
        j, _, starts = lone_rows(shard)
        rows = pair_codes(shard, params["rows"])[j]
        terms = np.add.reduceat(pair_table(params, rows), starts)  # each lone task's judgments
        ll -= float(logsumexp_rows(params["logprior"][None, :] + terms).sum())
        counted = post.copy()
        counted[lone] = 0.0
        return {"ll": ll, **right_stats(shard, params["rows"], int(params["pairs"].size), counted)}

    def _posteriors(self, shard: Any, params: dict[str, Any]) -> np.ndarray:
        return lone_predictive(shard, params, super()._posteriors(shard, params))  # tasks of one worker

    def _mv_stats(self, shard: Any, rows: np.ndarray, n_pairs: int) -> dict[str, Any]:
        if not uses_one_coin(self.confusion, shard.n_labels):
            stats = super()._mv_stats(shard, rows, n_pairs)
            lone = lone_tasks(shard)  # the majority-vote start: a lone task's share, its worker's votes
            if lone.size:
                j, at, _ = lone_rows(shard)
                k, pc = shard.n_labels, pair_codes(shard, rows)[j]
                votes = np.bincount(at * k + shard.label[j], minlength=lone.size * k).reshape(lone.size, k)
                shares = votes / votes.sum(axis=1, keepdims=True)
                for c in range(k):
                    stats["counts"][:, c] -= np.bincount(pc, weights=shares[at, c], minlength=stats["counts"].shape[0])
                stats["class_counts"] -= shares.sum(axis=0)
            return stats
        shares = vote_shares(shard.task, shard.label, shard.gold, shard.n_labels)
        shares[lone_tasks(shard)] = 0.0
        return {"ll": 0.0, **right_stats(shard, rows, n_pairs, shares)}

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        k = params["b"].size
        kl_e = params["kl_e"]  # computed with the parameters, in the M-step
        kl_p = dirichlet_kl(params["b"], np.full(k, params["b0"]), axis=0, elog=params["logprior"])
        return float(stats["ll"]) - kl_e - kl_p

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        super()._finish(params, judgments)
        self.prior_accuracy_ = float(params["accuracy"])
        self.confusion_ = "one_coin" if params.get("one_coin") else "full"
        self.rho_ = rho = float(params.get("rho", 0.0))  # temperature_: a task of the mean number of judgments
        self.temperature_ = float(task_temperatures(judgments.n_judgments / max(judgments.n_tasks, 1), rho))
        self.calibration_judgments_, self.calibration_tasks_ = params.get("heldout", (0, 0))
