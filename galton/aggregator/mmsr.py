r"""M-MSR: worker skills by robust rank-one completion of the worker agreement matrix.

Ma & Olshevsky, *Adversarial Crowdsourcing Through Robust Rank-One Matrix Completion*, NeurIPS
2020; crowd-kit's ``MMSR``. Each worker ``w`` is right with probability ``p_w`` and otherwise picks
one of the ``K - 1`` other labels at random. With ``s_w = (K p_w - 1) / (K - 1)`` (0 for a random
worker, 1 for a perfect one, negative for one worse than random), the agreement rate ``a_ij`` of two
workers on their common tasks gives ``C_ij = (K a_ij - 1) / (K - 1) ~ s_i s_j``: a rank-one matrix,
observed where two workers share a task, with outliers where workers collude or cheat. M-MSR
estimates ``|s|`` by alternating trimmed means,

    v_j = trimmed mean over co-workers i of |C_ij| / u_i        (around the current v_j)
    u_i = trimmed mean over co-workers j of |C_ij| / v_j        (around the current u_i)

until ``||u v' - u_prev v_prev'||_F < tol``, then ``|s| = u / sqrt(||u|| / ||v||)``, the signs come
from the signs of ``C``, and ``s`` is clipped to ``[-1/(K-1) + 1/sqrt(T), 1 - 1/sqrt(T)]`` (``T``
tasks). The skill is the log-odds weight ``log((K - 1) p_w / (1 - p_w))`` and the label of a task
the label with the largest sum of its workers' skills.

Probabilities. Under the same model the posterior of task ``t`` (uniform class prior) is ``p_t(k) ∝ exp(sum_{j in t, y_j
= k} skill_j)``: ``probas_`` (and the CLI's ``p_<label>``) hold that, a probability (over-confident where workers'
errors are correlated, as Dawid-Skene's is: expected calibration error 0.05-0.09 on snow2008_rte, act_cf, act_sp,
zheng_d_possent and imagenet_real_golden; Dawid-Skene's 0.04-0.16 by default, 0.04-0.21 run to convergence). ``scores_``
holds crowd-kit's scores: the skills' sum per label divided by their sum over the task's judgments (negative or above 1
when a skill is negative), which are not probabilities.

On the one core. One data pass (``engine.map``) counts, per shard, the judgment pairs of two
workers on one task and how many agree; the driver adds them per worker pair. Where some pairs
never met, a few more passes (``engine.map_sum``, integer sums) check the signs (below). The
sweeps read no data: one "E-step" is one sweep over the pair table (entries for the pairs that
exist, never a workers x workers matrix); ``history_`` (= crowd-kit's ``loss_history_``) holds
the change of ``u v'`` per sweep. So local equals Ray, and a checkpointed fit resumes exactly.

Where galton differs from crowd-kit 1.4.2, each a defect there:

- the number of values trimmed at each end is ``F = floor(d / 2) - 1`` with ``d`` the fewest
  co-workers of a worker; crowd-kit counts workers with no co-worker (``d = 0``) and lets ``F``
  become -1, where its slicing (``y[-1:]``) keeps only the largest ratio instead of trimming;
  galton counts workers who have co-workers and takes ``F >= 0``;
- the signs: crowd-kit builds its sign graph from the signs of the whole matrix, in which pairs
  that never met (and each worker with itself) hold ``-1/(K-1)`` and so count as disagreeing;
  galton uses the pairs that met only (the leading eigenvector of ``C``, oriented per connected
  component so that most workers beat random); a worker who shares no task with another has no
  evidence of its own and gets the mean skill of those who do (crowd-kit: a skill from its random
  start and a sign from pairs it never had); when no worker shares a task with another (a single
  judge, say), no skill has evidence and every worker gets the smallest skill above chance the
  clip allows, ``s = 1/sqrt(T)`` (at most 1/2: one task would make it certainty); so do the
  workers when every agreement is exactly at chance (all skills 0 would ignore the votes): the
  labels are the votes' and the probabilities lean toward them by as little as the clip permits
  (crowd-kit: a random skill or an error);
- where some pairs of workers never met, the eigenvector's signs are checked against the data:
  a worker is negative only when its agreements with the others, each counted with the other's
  sign (its row of ``common * C`` times the signs), fall 2 standard deviations below those of a
  worker answering at random (the variance computed task by task from the others' answers), and
  positive otherwise; the next pass counts the others with these signs, until they repeat. Where
  the pairs that met, met once or twice, ``C`` is mostly noise and so is its eigenvector: 2,000
  tasks x 5 judgments by 1,000 honest workers of accuracy 0.7 (each pair met once: ``C = +-1``,
  the top eigenvalues 15.35, 15.29, 15.20, ... with no gap) had 484 workers called adversarial
  at the largest skill the clip allows and labels at chance (0.500; majority vote 0.839,
  crowd-kit about 0.75); checked, none (0.838). The same crowd of accuracy 0.6-0.9 with 100 workers
  always wrong: 226 negative skills, 100 of them adversaries' (0.8875); checked, 75, 73 of them
  (0.895; majority vote 0.8145). Where every pair met, the eigenvector's signs stand, as
  crowd-kit's (on its toy data the check would make a worker of 5 tasks that it calls adversarial
  positive: 0.5 standard deviations of evidence); on the 17 shared datasets the check moves the
  mean accuracy from 0.822 to 0.825 (act_cf 0.873 to 0.893, zheng_s_adult 0.721 to 0.763, zhou_web
  0.671 to 0.665). The sizes ``|C|`` of a pair that met once stay what they are (1 for two labels,
  whatever the skills), so on such data the skills are alike or noise and the vote is about
  majority vote's;
- the scale ``||u|| / ||v||`` is taken per connected component (a rank-one factor is only
  determined up to scale within a component) and a mean of exactly 0 is floored at ``1/sqrt(T)``
  (crowd-kit does this for a single zero and divides by zero otherwise);
- the pairs are counted with one sort / bincount per shard instead of a Python loop over all
  worker pairs (crowd-kit: minutes at a few hundred workers).
On data where every worker shares tasks with enough others (crowd-kit's own tests), the skills
are crowd-kit's to 1e-5.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._warnings import warn
from ..data._encode import label_lookup, object_array
from ..judgments import Judgments
from ._base import ConvergenceWarning, EMAggregator, argmax_ties_low, caller_stacklevel
from ._engine import LocalEngine, Shard
from ._kernels import clamp_gold, softmax_rows, vote_counts
from ._layout import crowdkit_result
from ._memory import FLOAT
from ._pairs import fitted_workers
from ._mmsr_kernels import (
    CHUNK_PAIRS, DENSE_CELLS, SIGN_ROUNDS, SIGN_Z, complete_components, merge_pairs, pair_signs, pair_table,
    shard_pairs, shard_sign_stats, sign_z, sweep_change, trimmed_sweep,
)
from ._registry import register
from .votes_shard import shard_label_counts

__all__ = ["MMSR"]

#: factors this large mean the sweeps diverge (a worker linked to one or two others, with an
#: agreement of exactly chance with one of them, doubles its partner's factor each sweep); well
#: below where the change's squared norms overflow
_DIVERGED = 1e100


def _label_sums(shard: Shard, skill: np.ndarray, at: np.ndarray | None = None, n_labels: int = 0) -> np.ndarray:
    """``sum_{j in t, y_j = k} skill_{w_j}`` for each task ``t`` of the shard and label ``k`` (with
    ``at``, the shard's label ``l`` is label ``at[l]`` of ``n_labels``)."""
    if at is None:
        return vote_counts(shard.task, shard.label, shard.n_tasks, shard.n_labels, skill[shard.worker])
    return vote_counts(shard.task, at[shard.label], shard.n_tasks, n_labels, skill[shard.worker])


def _log_odds(s: Any, kk: float) -> Any:
    """The vote weight ``log((K-1) p / (1-p))`` of a rescaled skill ``s`` (0 random, 1 perfect):
    ``p = s (K-1) / K + 1 / K``, the probability of a right answer."""
    p = s * (kk - 1.0) / kk + 1.0 / kk
    return np.log(p * (kk - 1.0) / (1.0 - p))


#: pairs of workers who met share fewer tasks than this on average: M-MSR's agreements are noise
SPARSE_SHARED = 2.0
#: ... or at least this share of them met on a single task (the median pair met once): a few power
#: workers who judge everything raise the mean and hide a crowd of casual workers who met once
SPARSE_ONCE = 0.5


def _warn_if_sparse(table: dict[str, Any]) -> None:
    """A warning, before the sweeps (the pair table tells), when the pairs that met share under
    ``SPARSE_SHARED`` tasks on average, or at least ``SPARSE_ONCE`` of them a single task: most
    agreements are then one coin flip, and the skills mostly noise. Before the signs were checked
    against the data (:func:`_checked_signs`) the noise reached the labels: a bug hunt's crowd of
    honest workers, 1.03 tasks a pair: a third of them at the most adversarial skill, 0.61 against
    majority vote's 0.76 (now 0.777); act_cf, 1.11: 66 of 461 negative, 0.873 against 0.900 (now
    none, 0.893); two workers on every task among 100 casual ones, 7.37 tasks a pair on average but
    67% of the pairs met once: 18 of the honest casual workers negative, 0.763 against 0.839 (now
    none, 0.828: the casual workers' single meetings still make their sizes 1); 2,000 tasks x 5
    judgments by 1,000 workers or more: labels near chance, 0.50 against crowd-kit's 0.75 (now
    majority vote's, 0.838 against 0.839). The sizes of the skills stay noise there. On 15 other
    shared datasets at most 24% of the pairs met once: no warning there."""
    shared, once = table.get("shared", np.inf), table.get("once", 0.0)
    if not table["linked"].any() or (shared >= SPARSE_SHARED and once < SPARSE_ONCE):
        return
    warn(f"MMSR: the pairs of workers who share a task share {shared:.2f} tasks on average and "
         f"{once:.0%} of them a single task, so most agreements are a coin flip or two and the skills "
         "will be mostly noise; on data this sparse majority vote or the default model (bds) suit better",
         UserWarning, stacklevel=caller_stacklevel())


def _checked_signs(engine: Any, table: dict[str, Any], sign: np.ndarray, n_labels: int) -> np.ndarray:
    """The signs of the leading eigenvector, checked against the data where some pairs of workers
    never met: a worker there is negative only when its agreements with the others, each counted
    with the other's sign, fall ``SIGN_Z`` standard deviations below a random worker's
    (:func:`shard_sign_stats`), positive otherwise; each pass's signs weight the next pass, until
    they repeat (at most ``SIGN_ROUNDS`` passes). Where every pair met, the eigenvector's signs."""
    checked = table["linked"] & ~complete_components(table)
    if not checked.any():
        return sign
    ref = sign
    for _ in range(SIGN_ROUNDS):
        z = sign_z(engine.map_sum(shard_sign_stats, ref, n_labels))
        new = np.where(checked, np.where(z < -SIGN_Z, -1.0, 1.0), sign)
        if np.array_equal(new, ref):
            break
        ref = new
    return new


def _scores(sums: np.ndarray) -> np.ndarray:
    """crowd-kit's scores: the label sums divided by the task's total (NaN where that is 0)."""
    total = sums.sum(axis=1, keepdims=True)
    return np.divide(sums, total, out=np.full_like(sums, np.nan), where=total != 0)


@register("mmsr", "m_msr", "m-msr")
class MMSR(EMAggregator):
    r"""Matrix Mean-Subsequence-Reduced (M-MSR): skills from the workers' agreement matrix by robust
    rank-one completion, then a vote weighted by the skills' log-odds (Ma & Olshevsky, NeurIPS 2020;
    crowd-kit's ``MMSR``). Built to resist adversarial workers; see the module docstring for the
    algorithm and where galton corrects crowd-kit.

    Parameters
    ----------
    n_iter : int, default 10000
        Maximum number of sweeps (``max_iter`` is accepted too: the same limit; both set to different values is
        refused).
    tol : float, default 1e-10
        Stop when ``||u v' - u_prev v_prev'||_F`` falls below it.
    random_state : int, Generator or None, default 0
        Seeds the start ``u = v`` (uniform on (0, 1)). An integer below 2**32 draws crowd-kit's values
        (``numpy.random.RandomState(seed).uniform``), one per worker in sorted worker order, so the
        result does not depend on the order of the rows, except where a worker judged a task more
        than once: its last row of that task counts, as in crowd-kit (pass ``duplicates="first"`` /
        ``"last"`` to the fit to choose). crowd-kit hands them out in order of first appearance, so
        the start is crowd-kit's only where the workers first appear in sorted order: there
        ``loss_history_`` and ``n_iter_`` are crowd-kit's too (skills to 1e-14). Otherwise the two
        starts differ: skills agree to about ``tol`` (within 7e-10 on 33 of 40 random dense data sets,
        ``n_iter_`` off by up to 32 sweeps), except where the fixed point depends on the start (it can
        when some worker has enough co-workers to trim, ``F >= 1``): there they differ as two seeds'
        do (up to 0.12 on the other 7; the labels the same).

        On data where a worker shares tasks with one or two others only, the sweeps can diverge
        (one factor halves and its partner's doubles each sweep; crowd-kit overflows to NaN skills,
        or fails): the fit stops when a factor passes 1e100, keeps the skills of the last sweep
        before it and raises a ConvergenceWarning.
    engine, n_shards, progress : where the shards live and whether to show a progress bar.

    Attributes
    ----------
    skills_ (log-odds weight per worker; negative: worse than random), labels_, probas_ (posterior
    of the one-coin model with these skills), scores_ (crowd-kit's normalised weighted vote),
    loss_history_ / history_ (change per sweep), n_iter_, converged_.
    """

    _empty_attrs = {"skills_": ("worker", "skill")}
    monotone = False
    #: the skills read a worker's last row of a task (:func:`shard_pairs`); the vote counts every row
    _repeats_effect = ("its vote counts each row, so its confidence rises (the skills read only a worker's last "
                       "row of a task, as crowd-kit's)")
    change_name = "change of u v'"

    def __init__(self, n_iter: int = 10000, tol: float = 1e-10, random_state: Any = 0, *,
                 max_iter: int | None = None, engine: Any = None, n_shards: int | None = None,
                 progress: bool | None = None):
        self.n_iter = n_iter
        self.tol = tol
        self.random_state = random_state
        self.max_iter = max_iter
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    def memory_estimate(self, n_tasks: int, n_workers: int, n_labels: int,
                        n_judgments: int) -> tuple[int, str]:
        base, words = super().memory_estimate(n_tasks, n_workers, n_labels, n_judgments)
        per_task = n_judgments / max(n_tasks, 1)
        judgment_pairs = int(n_judgments * max(per_task - 1, 0) / 2)
        pairs = int(min(n_workers * max(n_workers - 1, 0) / 2, judgment_pairs))
        table = 2 * pairs * 10 * FLOAT  # both orders of each pair: codes, values, one sweep's scratch
        counting = 6 * FLOAT * min(CHUNK_PAIRS, pairs) + 2 * FLOAT * min(n_workers**2, DENSE_CELLS)
        if n_workers**2 <= DENSE_CELLS:
            return base + table + counting, f"{words}; about {pairs:,} worker pairs"
        # sparse counting holds the chunks' pair counts until they pass 2 x max(pairs, chunk), then
        # merges them (sorting them all; ~75 bytes an entry measured): the peak of either phase,
        # the table's with the merged counts (3 floats a pair) kept beside it
        held = min(judgment_pairs, 2 * max(pairs, CHUNK_PAIRS) + CHUNK_PAIRS)
        merging = 10 * FLOAT * held + counting
        return (base + max(table + 3 * FLOAT * pairs, merging),
                f"{words}; about {pairs:,} worker pairs (counted in sparse chunks)")

    # ---------------------------------------------------------------- pure pieces
    def _posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        """The one-coin posterior of each task with the skills as log-odds weights (labels nobody
        gave excluded); gold tasks clamped."""
        sums = _label_sums(shard, params["skill"])
        sums[:, ~params["seen"]] = -np.inf
        post, lse = softmax_rows(sums)
        clamp_gold(sums, post, lse, shard.gold)
        return post

    @staticmethod
    def _shard_scores(shard: Shard, skill: np.ndarray) -> np.ndarray:
        return _scores(_label_sums(shard, skill))

    def _skills(self, u: np.ndarray, v: np.ndarray, table: dict[str, Any]) -> np.ndarray:
        """Log-odds skills from the factors: ``|s| = u / k`` with ``k = sqrt(||u|| / ||v||)`` per
        component, the signs of the table, clipped, turned into ``log((K-1) p / (1-p))``."""
        comp, n = table["comp"], u.size
        nu = np.sqrt(np.sqrt(np.bincount(comp, u * u, n)))
        nv = np.sqrt(np.sqrt(np.bincount(comp, v * v, n)))
        k = np.divide(nu, nv, out=np.ones(n), where=nv > 0)[comp]
        kk, floor = table["n_labels"], table["floor"]
        s = np.minimum(table["sign"] * (u / k), 1.0 - floor)
        s = np.maximum(s, -1.0 / (kk - 1.0) + floor)
        skill = _log_odds(s, kk)
        alone = ~table["linked"]  # no co-worker, no evidence: the mean skill of those who have some
        if not table["one_label"] and not np.any(skill[~alone]):  # no evidence (no co-workers, or every
            # agreement exactly at chance: all skills 0 ignored the votes): all alike, barely above chance
            skill[:] = _log_odds(min(floor, 0.5), kk)  # one task: floor 1 would be certainty
        elif alone.any() and not alone.all():
            skill[alone] = skill[~alone].mean()
        return skill

    def _init_state(self, engine: Any, judgments: Judgments,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        """One pass: the worker pair counts; then the pair table, the signs and the start."""
        w = judgments.n_workers
        seen = engine.map_sum(shard_label_counts) > 0
        k_seen = int(seen.sum())
        if k_seen < 2:  # one label: every skill is 0 and the vote is that label
            pairs = {"keys": np.zeros(0, np.int64), "common": np.zeros(0), "agree": np.zeros(0)}
        else:
            pairs = merge_pairs(engine.map(shard_pairs))
        table = pair_table(pairs, w, max(k_seen, 2))
        table["sign"] = _checked_signs(engine, table, pair_signs(table, w), max(k_seen, 2))
        table["n_labels"] = float(max(k_seen, 2))
        table["one_label"] = k_seen < 2  # every skill 0: the vote is that label
        table["floor"] = 1.0 / np.sqrt(max(judgments.n_tasks, 1))
        _warn_if_sparse(table)  # now, not after up to n_iter sweeps: the pair table already tells
        seed = self.random_state
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed < 2**32:
            u = np.random.RandomState(int(seed)).uniform(size=w)  # crowd-kit's values, in sorted worker order
        else:
            u = rng.random(w)
        v = u.copy()
        params = {"u": u, "v": v, "table": table, "seen": seen}
        params["skill"] = self._skills(u, v, table)
        return params, {}

    def _map_e_step(self, engine: Any, params: dict[str, Any]) -> dict[str, Any]:
        """One sweep (no data pass: the pair table is all M-MSR reads): ``v`` then ``u``."""
        table, u, v = params["table"], params["u"], params["v"]
        v_new = trimmed_sweep(table, u, v, table["floor"])
        u_new = trimmed_sweep(table, v_new, u, table["floor"])
        if not (np.isfinite(u_new).all() and np.isfinite(v_new).all()
                and max(np.abs(u_new).max(initial=0.0), np.abs(v_new).max(initial=0.0)) < _DIVERGED):
            return {"u": u, "v": v, "loss": np.nan, "table": table, "seen": params["seen"], "diverged": True}
        return {"u": u_new, "v": v_new, "loss": sweep_change(u_new, v_new, u, v),
                "table": table, "seen": params["seen"]}

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        return float(stats["loss"])

    def _change(self, history: list[float], n: int) -> float:
        return history[-1]

    def _progress_info(self, obj: float, delta: float) -> str:
        return f"change of u v' {obj:.2e}"

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The skills of the sweep's factors; a sweep that diverged stops the fit on the factors
        before it (see the class docstring), with a ConvergenceWarning."""
        table = stats["table"]
        params = {"u": stats["u"], "v": stats["v"], "table": table, "seen": stats["seen"],
                  "skill": self._skills(stats["u"], stats["v"], table)}
        if stats.get("diverged"):
            warn(
                f"{type(self).__name__}: the factors u, v grew past {_DIVERGED:.0e} (the agreement matrix "
                "has too few worker pairs to fix them: some workers share tasks with one or two others "
                "only); the fit stops and the skills are those of the last finite sweep",
                ConvergenceWarning, stacklevel=caller_stacklevel())
            return params, {**memory, "stop": True}
        return params, memory

    def _run(self, eng: Any, judgments: Judgments, rng: np.random.Generator) -> tuple[Any, np.ndarray | None]:
        params, post = super()._run(eng, judgments, rng)
        if post is not None:
            params = {**params, "scores": eng.gather(self._shard_scores, params["skill"])}
        return params, post

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        out = self._out
        self.skills_ = out.per_worker(judgments.worker_names, params["skill"], "skill")
        self.loss_history_ = list(self.history_)
        scores = params.get("scores")
        self.scores_ = None if scores is None else out.probas(judgments.task_names, judgments.label_names, scores)

    def _fit_empty(self, judgments: Judgments, output: str | None) -> "MMSR":
        super()._fit_empty(judgments, output)
        self.scores_ = self.probas_
        self.loss_history_ = []
        return self

    # ---------------------------------------------------------------- new data
    def _new_sums(self, data: Any) -> tuple[Judgments, np.ndarray, np.ndarray, np.ndarray]:
        """The new judgments, the label names (the fit's, then those it never saw, in the new data's
        order), the label sums of each new task with the fitted skills (a worker the fit never saw: 0)
        and each task's candidates: the labels the fit's judgments give and those the task's own give (a
        skill-weighted vote takes any label, crowd-kit's ``MajorityVote(skills=skills_)``, one the fit
        never saw too). So a task's result reads its own judgments and the fitted skills only: the
        labels of the new batch had been the candidates, and a task judged 0 by an adversarial worker
        went to 0 alone (the only label) and to 1 beside a task giving 1 and 2."""
        fitted: Judgments = self.judgments_
        new = self._new_judgments(data, fitted_labels=False)
        self._check_memory(new)
        idx = fitted_workers(fitted, new, "their judgments count for nothing (skill 0)")
        skill = np.zeros(new.n_workers)
        skill[idx >= 0] = self._params["skill"][idx[idx >= 0]]
        at = label_lookup(fitted.label_names, new.label_names).astype(np.int64)
        unseen = at < 0
        at[unseen] = fitted.n_labels + np.arange(int(unseen.sum()))
        names, extra = fitted.label_names, new.label_names[unseen]
        if extra.size:
            names = (np.concatenate([names, extra]) if names.dtype == extra.dtype
                     else object_array([*names.tolist(), *extra.tolist()]))
        eng = LocalEngine()
        eng.load(new, None)
        seen = np.concatenate([self._params["seen"], np.zeros(extra.size, dtype=bool)])
        candidate = eng.gather(_label_sums, np.ones(new.n_workers), at, names.size) > 0
        return new, names, eng.gather(_label_sums, skill, at, names.size), candidate | seen

    def _predict_new(self, data: Any) -> tuple[Any, Any, Any]:
        """Labels, posteriors and scores of new data from the fitted skills, over the fit's labels and
        the new ones (each task's posterior over the fit's labels in use and its own: as a fitted task's,
        over the labels the fit's judgments give and its own); as crowd-kit's ``predict``, ``labels_``,
        ``probas_`` and ``scores_`` become those of ``data``."""
        new, names, sums, candidate = self._new_sums(data)
        scores = _scores(sums)
        post = softmax_rows(np.where(candidate, sums, -np.inf))[0]
        out = self._new_out(new)
        # built as locals and returned from them: another thread predicting with this model may
        # replace the attributes before this call returns
        labels = crowdkit_result(self, "labels_", out.labels(new.task_names, names, argmax_ties_low(post)), new)
        probas = crowdkit_result(self, "probas_", out.probas(new.task_names, names, post), new)
        scores = crowdkit_result(self, "scores_", out.probas(new.task_names, names, scores), new)
        self.labels_, self.probas_, self.scores_ = labels, probas, scores
        return labels, probas, scores

    def predict_score(self, data: Any = None, *, on_invalid: str = "raise", duplicates: str | None = None) -> Any:
        """crowd-kit's scores (the skills' sum per label over the task's total) of the fitted tasks,
        or of ``data`` (which then replaces ``labels_``, ``probas_`` and ``scores_``; read as by
        :meth:`predict`)."""
        self._check_fitted()
        if data is not None:
            return self._score_new(data, on_invalid, duplicates)[2]
        return self.scores_

    def fit_predict_score(self, data: Any, gold: Any = None, **kwargs: Any) -> Any:
        """``fit(data)`` and its ``scores_``."""
        return self.fit(data, gold, **kwargs).scores_
