r"""KOS: iterative message passing for binary crowdsourcing (Karger, Oh & Shah, NIPS 2011).

Answers are coded ``A_tw = +1`` for the first label and ``-1`` for the second. Every (task, worker)
pair judged (edge t - w) carries a task message ``x_{t->w}`` and a worker message ``y_{w->t}``; one
iteration is::

    x_{t->w} = sum_{w' in d(t) \ w} A_tw' y_{w'->t}      (task step: what the other workers say)
    y_{w->t} = sum_{t' in d(w) \ t} A_t'w x_{t'->w}      (worker step: how reliable w is elsewhere)

starting from ``y_{w->t} ~ N(1, 1)``. The estimate is ``sign(sum_w A_tw y_{w->t})``. A worker's
repeated rows on a task are one edge whose ``A_tw`` is the mean of their answers (identical repeats
count once; both labels equally often: 0). crowd-kit makes each row an edge, and a worker's twin edges
on a task then feed each other (a loop of two edges that excluding the edge itself does not break):
one worker's rows exported twice took a fit over (docs/from-crowd-kit.md). This is not EM
and has no likelihood: it is a power iteration on the non-backtracking edge operator, so the
messages grow geometrically while their direction converges.

Distributed form: shards hold whole tasks, so the task step is local to a shard. The worker step
needs the per-worker totals ``W_w = sum_t A_tw x_{t->w}``: each iteration is one ``engine.map`` that
(1) turns the previous totals into worker messages ``y = (W_w - A x) / c`` for the shard's edges,
(2) does the task step, and (3) returns the shard's partial ``W`` (added over shards) and the largest
task sum (a maximum over shards). Messages stay normalised (``c`` is the largest previous total)
and their log scale is tracked by the driver, so nothing overflows. Both are per connected
component of the task-worker graph (found once, at the start, from each shard's links): messages
never cross components, so each is the power iteration of its own graph, and a batch whose messages
grow slowly beside an unrelated one is not scaled down with the other's growth (one divisor for
all made it ~1e-122 of the other, every score "tied", and its labels a majority vote).

The iteration runs on the one driver (:class:`~galton.aggregator._base.IterativeAggregator`): the
map above is the E-step, the messages are per-edge latents of the shards (``shard_state``), the
parameters are the last totals and their divisor, and the M-step keeps the log scale and applies
the overflow guard. So ``fit(..., checkpoint_dir=...)`` saves the messages with the parameters and a
stopped fit resumes bit for bit.

Iterations: at most ``n_iter``, stopping early exactly where crowd-kit stops, i.e. when an
unnormalised task or worker sum would exceed 1e300 (crowd-kit breaks there to avoid overflow); the
log-scale bookkeeping reproduces that test, so both do the same number of iterations (the
rule is crowd-kit's, over every component at once: one component's overflow stops them all).

Random start: ``y_{w->t} = 1 + N(0, 1)``, drawn by a counter-based hash (splitmix64 + Box-Muller)
of a key from ``np.random.default_rng(random_state)`` and the edge's (task, worker) ids. Every shard
draws its own edges without any data exchange, the draw does not depend on the number of shards or
on the order of the rows, and the same seed gives the same start. The edge's answer is not in the
key: swapping the two label names turns every ``A`` into ``-A`` and, from the same start, every
score into its negative, so the labels map one to one (a key with the edge's label code changed the
start under the swap, and with it up to 34 of the 40 labels of a small random crowd).
crowd-kit draws from the global numpy RNG in row order, so its start cannot be reproduced; its
labels, however, hardly depend on the start (see tests/aggregator/test_kos.py).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from ..judgments import Judgments

from .._math import GOLDEN_GAMMA, mix64
from .._warnings import quiet
from ..data._repeats import REPEATS_KEY
from ._base import TIE_RTOL, IterativeAggregator
from ._engine import Shard, add_stats
from ._kernels import vote_counts
from ._mmsr_kernels import components
from ._params import check_count
from ._registry import register

__all__ = ["KOS"]

_LOG_MAX = float(np.log(1e300))  # crowd-kit's overflow guard, np.float_power(10, 300)


def edge_normals(key: int, task: np.ndarray, worker: np.ndarray) -> np.ndarray:
    """Standard normal draws, one per edge, a pure function of ``key`` and the edge's global task and
    worker ids, not of its answer: swapping the names of the two labels must leave the start as it is
    (every answer A becomes -A, every score -score, so the labels map one to one).

    Repeated (task, worker) edges get distinct draws through their rank among the repeats, so the
    draws do not depend on row order (repeats are interchangeable)."""
    n = task.size
    order = np.lexsort((worker, task))
    t, w = task[order], worker[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (t[1:] != t[:-1]) | (w[1:] != w[:-1])
    starts = np.flatnonzero(new)
    rank_sorted = np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = rank_sorted
    gold = GOLDEN_GAMMA
    with np.errstate(over="ignore"):
        h = mix64(np.uint64(key) + task.astype(np.uint64) * gold)
        h = mix64(h ^ (worker.astype(np.uint64) + gold))
        h = mix64(h ^ rank.astype(np.uint64))
        h2 = mix64(h + gold)
    u1 = ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0 ** -53  # in (0, 1)
    u2 = (h2 >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@register("kos", "karger_oh_shah")
class KOS(IterativeAggregator):
    r"""KOS message passing for binary labels (Karger, Oh & Shah 2011; crowd-kit's ``KOS``).

    Parameters
    ----------
    n_iter : int, default 100
        Maximum number of iterations (crowd-kit's name and default).
    random_state : int, default 0
        Seed of the random start of the worker messages.
    engine, n_shards : where the shards live (see :class:`galton.aggregator.EMAggregator`).
    progress : bool, optional
        Show a progress bar for long fits.

    Attributes
    ----------
    labels_ : the sign of each task's score.
    probas_ : one-hot rows (KOS gives no probabilities); a task whose score is an exact tie (0: the
        messages carry nothing, as when its workers never judged beside another worker elsewhere;
        within 1e-9 of the largest score of its connected component of the task-worker graph, so
        that float summation order does not decide it) takes its vote shares instead — one vote
        each: 0.5 / 0.5, which goes to the lower label; two votes for one label: that label.
    scores_ : per task, ``sum_w A_tw y_{w->t}`` normalised to max |score| = 1 in each connected
        component (positive: first label). A component's messages have a scale of their own, so
        the tasks of unrelated batches fitted together get the scores each would get alone.
    skills_ : per worker, the last worker total ``W_w`` normalised to max |W| = 1 in each connected
        component (a reliability score; negative means the worker tends to give the opposite answer).
    n_iter_ : iterations done (fewer than ``n_iter`` when crowd-kit's overflow rule stops it).
    history_ : per iteration, the log of the largest unnormalised task sum (the messages grow
        geometrically; the overflow rule stops before it passes ``log(1e300)``).
    converged_ : always False: KOS has no tolerance, it runs ``n_iter`` iterations or stops at the
        overflow rule.

    References
    ----------
    D. R. Karger, S. Oh, D. Shah. Iterative Learning for Reliable Crowdsourcing Systems. NIPS 2011;
    Budget-Optimal Task Allocation for Reliable Crowdsourcing Systems. Operations Research 62(1), 2014.
    """

    shard_state = ("kos_y", "kos_x")
    stops_on_tol = False
    monotone = False
    _repeats_effect = None  # a worker's repeated rows on a task are one edge: nothing to warn of

    def __init__(self, n_iter: int = 100, random_state: Any = 0, *, engine: Any = None,
                 n_shards: int | None = None, progress: bool | None = None):
        self.n_iter = n_iter
        self.random_state = random_state
        self.engine = engine
        self.n_shards = n_shards
        self.progress = progress

    def fit(self, data: Any, gold: Any = None, *, engine: Any = None, n_shards: int | None = None,
            output: str | None = None, task_col: str = "task", worker_col: str = "worker",
            label_col: str = "label", checkpoint_dir: str | os.PathLike[str] | None = None,
            checkpoint_every: int = 1, **encode_options: Any) -> "KOS":
        """Run the message passing on binary judgments; ``gold`` is not supported (KOS has no way to
        use known labels). ``checkpoint_dir`` / ``checkpoint_every``: as
        :meth:`galton.aggregator.EMAggregator.fit` (the messages are saved with the parameters)."""
        self._reset()  # the previous fit's results go first, also when this fit is refused
        if gold is not None:
            raise ValueError(
                "KOS cannot use gold labels; drop gold= or use a model that can (ds, glad, mace)"
            )
        with quiet(REPEATS_KEY):  # a worker's repeated rows on a task are one edge here: no warning
            judgments, _ = self._prepare(data, None, task_col=task_col, worker_col=worker_col,
                                         label_col=label_col, **encode_options)
        if judgments.n_judgments == 0:
            return self._fit_empty(judgments, output)  # type: ignore[return-value]
        if judgments.n_labels != 2:
            raise ValueError(
                "KOS is for binary labels only; the data "
                + ("and labels= declare " if encode_options.get("labels") is not None else "has ")
                + f"{judgments.n_labels} label(s) "
                f"{judgments.label_names.tolist()[:10]}. Use a multi-class model (ds, glad, mace) instead"
            )
        check_count("n_iter", self.n_iter)

        def store(result: tuple[dict[str, Any], np.ndarray]) -> None:
            self._store(judgments, result[1], output)
            self._params = result[0]
            self._finish(result[0], judgments)

        return self._fit_lifecycle(  # type: ignore[return-value]
            judgments, output, lambda eng, rng: self._run(eng, judgments, rng), store, engine=engine,
            n_shards=n_shards, checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every)

    def _store(self, judgments: Judgments, post: np.ndarray | None, output: str | None) -> None:
        """The driver gathers each task's score (one column): the label is its sign."""
        if post is None or post.shape[0] == 0:  # no tasks (an empty frame): the usual empty results
            super()._store(judgments, post, output)
            return
        scores, votes, comp = post[:, 0], post[:, 1:3], post[:, 3].astype(np.int64)
        m = component_max(scores, comp, int(comp.max()) + 1)[comp]  # the largest of the task's component
        # a score within TIE_RTOL of 0, relative to the largest of its component, is a tie: float
        # summation order must not decide it. A tied task takes its vote shares (the tie rule then
        # gives the lower label): with one judgment per task every message is 0, and every label was
        # the lower one. Another component's scale says nothing of this one's (an unrelated batch
        # beside it made every task of a slower-growing one "tied": a majority vote)
        tie = np.abs(scores) <= TIE_RTOL * m
        onehot = np.zeros((judgments.n_tasks, 2))
        onehot[(scores > 0) & ~tie, 0] = 1.0
        onehot[(scores < 0) & ~tie, 1] = 1.0
        onehot[tie] = votes[tie] / np.maximum(votes[tie].sum(axis=1, keepdims=True), 1.0)
        super()._store(judgments, onehot, output)
        scores = np.divide(scores, m, out=scores.copy(), where=m > 0)
        self.scores_ = self._out.per_task(judgments.task_names, scores, "score")

    def _finish(self, params: dict[str, Any], judgments: Judgments) -> None:
        totals, comp = params["w"], params["comp"]
        if totals is None or totals.size == 0:
            totals = np.zeros(judgments.n_workers)
        m = component_max(totals, comp, params["scale"].size)[comp]
        skills = np.divide(totals, m, out=totals.copy(), where=m > 0)
        self.skills_ = self._out.per_worker(judgments.worker_names, skills, "skill")

    # ---------------------------------------------------------------- the driver's pieces
    def _iter_limit(self) -> int:
        return int(self.n_iter)

    def _init_state(self, engine: Any, judgments: Any,
                    rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        """Random worker messages in the shards and the connected components of the task-worker
        graph (``comp``: each worker's, numbered 0 .. C-1) from the shards' links; parameters: no
        totals yet (``stored``: the next pass uses the shards' stored messages), per component
        divisor 1 and log scale 0."""
        key = int(rng.integers(0, 2**63 - 1))
        links = engine.map(self._init_shard, key)
        n_workers = int(judgments.n_workers)
        rep = components(np.concatenate([li[0] for li in links]), np.concatenate([li[1] for li in links]),
                         n_workers)
        _, comp = np.unique(rep, return_inverse=True)
        comp = comp.reshape(-1).astype(np.int64)
        n = int(comp.max()) + 1 if comp.size else 1
        return ({"w": None, "comp": comp, "scale": np.ones(n), "stored": True, "log_y": np.zeros(n)},
                {"log_y": np.zeros(n), "comp": comp})

    def _map_e_step(self, engine: Any, params: dict[str, Any]) -> dict[str, Any]:
        """Partial worker totals added over the shards; the largest task sum per component, a maximum."""
        parts = engine.map(self._e_step, params)
        return {"w": add_stats([p["w"] for p in parts]),
                "max_s": functools.reduce(np.maximum, [p["max_s"] for p in parts])}

    def _objective(self, stats: dict[str, Any], params: dict[str, Any]) -> float:
        """Log of the largest unnormalised task sum of this pass (over the components)."""
        return float(np.max(_log_abs(stats["max_s"]) + params["log_y"]))

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The totals become the next messages' source; crowd-kit's overflow guard on the
        unnormalised sums stops the loop (the messages stay those just used). The divisor and the log
        scale are per component (``memory["comp"]``); the rule, as crowd-kit's, looks at them all."""
        last_w, log_y, comp = stats["w"], memory["log_y"], memory["comp"]
        max_w = component_max(last_w, comp, log_y.size)
        if np.any(_log_abs(stats["max_s"]) + log_y > _LOG_MAX) or np.any(_log_abs(max_w) + log_y > _LOG_MAX):
            return ({"w": last_w, "comp": comp, "scale": np.ones(log_y.size), "stored": True, "log_y": log_y},
                    {"log_y": log_y, "comp": comp, "stop": True})
        scale = np.where(max_w > 0, max_w, 1.0)
        log_y = log_y + np.log(scale)
        return ({"w": last_w, "comp": comp, "scale": scale, "stored": False, "log_y": log_y},
                {"log_y": log_y, "comp": comp})

    def _posteriors(self, shard: Shard, params: dict[str, Any]) -> np.ndarray:
        """Per task its score, its votes for each label (the vote decides a tied score) and its
        component (whose largest score a tie is judged against)."""
        y = KOS._messages(shard, params)
        task, _, a = KOS._edges(shard)
        score = np.bincount(task, weights=a * y, minlength=shard.n_tasks)
        votes = vote_counts(shard.task, shard.label, shard.n_tasks, 2).astype(np.float64)
        comp = KOS._shard_task_components(shard, params["comp"])
        return np.column_stack([score.astype(np.float64), votes, comp.astype(np.float64)])

    def _progress_info(self, obj: float, delta: float) -> str:
        return f"log max task sum {obj:.4g}"

    # ---------------------------------------------------------------- shard functions
    @staticmethod
    def _init_shard(shard: Shard, key: int) -> tuple[np.ndarray, np.ndarray]:
        """The random start; returns the shard's links between workers (pairs ``(w, v)``: ``w`` and
        ``v`` judged tasks of one component of the shard), at most one per worker."""
        task, worker, _ = KOS._edges(shard)
        shard.state["kos_y"] = 1.0 + edge_normals(key, shard.task_ids[task], worker)
        shard.state["kos_x"] = np.zeros(task.size)
        head = np.zeros(shard.n_tasks, dtype=np.int64)
        head[task] = worker  # one worker of each task: every worker of the task is linked to it
        rep = components(head[task], worker.astype(np.int64), shard.n_workers)
        seen = np.unique(worker)
        seen = seen[rep[seen] != seen]
        return seen.astype(np.int64), rep[seen]

    @staticmethod
    def _task_components(n_tasks: int, task: np.ndarray, worker: np.ndarray, comp: np.ndarray) -> np.ndarray:
        """The component of each task of a shard (that of any of its workers)."""
        out = np.zeros(n_tasks, dtype=np.int64)
        out[task] = comp[worker]
        return out

    @staticmethod
    def _shard_task_components(shard: Shard, comp: np.ndarray) -> np.ndarray:
        """:meth:`_task_components` of the shard's edges, kept in the shard with what it was made
        from: the edges' task array (the same object while ``_kos_edges`` is kept) and a copy of the
        worker components ``comp``, compared by value (the parameters reach a Ray shard, and a
        resumed fit, as new arrays); another ``comp`` makes it again."""
        task, worker, _ = KOS._edges(shard)
        kept = shard.state.get("_kos_task_comp")
        if kept is not None and kept[0] is task and np.array_equal(kept[1], comp):
            return kept[2]
        out = KOS._task_components(shard.n_tasks, task, worker, comp)
        shard.state["_kos_task_comp"] = (task, np.array(comp, copy=True), out)
        return out

    @staticmethod
    def _edges(shard: Shard) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One edge per distinct (task, worker) of the shard, in order of first row: its task, its
        worker, its answer A (the mean of the worker's +1 / -1 answers on the task: +1 for label
        code 0, -1 for code 1; 0 when they gave each label equally often). Repeated rows as separate
        edges would feed each other's messages (a loop of two edges that excluding the edge itself does
        not break). A cache: rebuilt from the shard when missing (shards hold whole tasks, so a pair
        is never split)."""
        edges = shard.state.get("_kos_edges")
        if edges is None:
            pair = shard.task.astype(np.int64) * max(shard.n_workers, 1) + shard.worker
            _, first, inv = np.unique(pair, return_index=True, return_inverse=True)
            order = np.argsort(first, kind="stable")  # edges in row order: no repeats, no change
            rank = np.empty(order.size, dtype=np.int64)
            rank[order] = np.arange(order.size)
            edge = rank[inv.reshape(-1)]
            rows = first[order]
            n = np.bincount(edge, minlength=rows.size)
            a = np.bincount(edge, weights=1.0 - 2.0 * shard.label.astype(np.float64), minlength=rows.size) / n
            edges = shard.state["_kos_edges"] = (shard.task[rows], shard.worker[rows], a)
        return edges

    @staticmethod
    def _messages(shard: Shard, params: dict[str, Any]) -> np.ndarray:
        """Worker messages y from the last worker totals (the stored ones at the start and after
        the overflow rule stopped the loop)."""
        if params["stored"]:
            return shard.state["kos_y"]
        _, worker, a = KOS._edges(shard)
        scale = params["scale"]  # one component: the same quotients without gathering its divisor per edge
        return (params["w"][worker] - a * shard.state["kos_x"]) / (scale[0] if scale.size == 1
                                                                     else scale[params["comp"][worker]])

    def _e_step(self, shard: Shard, params: dict[str, Any]) -> dict[str, Any]:
        """One pass: worker messages, the task step, the shard's partial worker totals."""
        task, worker, a = KOS._edges(shard)
        y = KOS._messages(shard, params)
        ay = a * y
        s = np.bincount(task, weights=ay, minlength=shard.n_tasks)
        x = s[task] - ay
        shard.state["kos_y"], shard.state["kos_x"] = y, x
        n_comp = params["scale"].size
        comp = None if n_comp == 1 else KOS._shard_task_components(shard, params["comp"])  # unread for one
        return {"w": np.bincount(worker, weights=a * x, minlength=shard.n_workers),
                "max_s": component_max(s, comp, n_comp)}


def component_max(values: np.ndarray, comp: np.ndarray | None, n: int) -> np.ndarray:
    """The largest ``|value|`` of each of ``n`` components (0 for one without values); ``comp`` (the
    component of each value) is not read when ``n`` is 1."""
    if n == 1:
        return np.array([float(np.max(np.abs(values))) if values.size else 0.0])
    out = np.zeros(n)
    np.maximum.at(out, comp, np.abs(values))
    return out


def _log_abs(v: np.ndarray) -> np.ndarray:
    """``log(v)`` where ``v > 0``, ``-inf`` elsewhere."""
    return np.log(v, out=np.full(v.shape, -np.inf), where=v > 0)
