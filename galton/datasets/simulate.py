"""Annotator-population simulators: crowds of known quality, in plain vectorised numpy.

A :class:`CrowdConfig` describes a population of workers and a set of tasks; :func:`sample_workers`
draws the workers, :func:`simulate_tasks` the judgments of a range of tasks (:func:`simulate_chunks`:
of a range of chunks, one at a time) and :func:`simulate` everything in memory.
``galton.workers.simulate`` runs the same functions in parallel Ray tasks and writes Parquet; both
give identical data for the same configuration.

Generative model
----------------
Classes ``k = 0..K-1``. Task ``t`` has a true label ``y_t ~ Categorical(class_prior)`` and, GLAD-style
(Whitehill et al., NIPS 2009), an inverse difficulty ``beta_t = exp(-difficulty_spread * z_t)`` with
``z_t ~ N(0, 1)``; its difficulty ``1 / beta_t`` is log-normal with median 1 (all 1 when the spread is
0). It gets ``m_t`` judgments (``judgments_per_task``, fixed or uniform on ``[min, max]``) from
``m_t`` distinct workers drawn uniformly at random.

Each worker has a kind:

- ``"normal"``: one-coin (``worker_model="one_coin"``) with accuracy ``a_w ~ Beta`` of mean
  ``accuracy_mean`` and standard deviation ``accuracy_spread`` (exactly ``accuracy_mean`` when the
  spread is 0), or a full confusion matrix (``"full"``) whose row ``k`` is
  ``Dirichlet(c * p_k)``, ``p_kk = a_w``, ``p_kj = (1 - a_w) / (K - 1)``,
  ``c = confusion_concentration``: rows concentrated on the diagonal, expected diagonal ``a_w``.
  Write ``C_w[k, j]`` for the confusion matrix (one-coin: ``a_w`` on the diagonal, the rest uniform).
- ``"expert"`` (``is_expert``): a one-coin worker of accuracy ``expert_accuracy``.
- ``"uniform_spammer"``: answers a uniformly random label, whatever the task.
- ``"constant_spammer"``: always answers one label, its own, drawn uniformly once.
- ``"adversary"``: always answers a wrong label on purpose: ``(y + 1) mod K``
  (``adversary_kind="shift"``) or the least likely label under ``class_prior`` other than ``y``
  (``"least_likely"``, ties to the lowest code).

A normal worker or an expert ``w`` answering task ``t`` with true label ``y`` is right with
probability::

    P(correct) = sigmoid(alpha_wy * beta_t),   alpha_wy = logit(C_w[y, y]),   sigmoid(x) = 1/(1+e^-x)

so with ``beta_t = 1`` a worker answers exactly according to ``C_w`` (hard tasks, ``beta_t -> 0``,
push every worker towards 1/2; easy ones towards always right, or always wrong if ``C_w[y, y] <
1/2``). A wrong answer is ``j != y`` with probability ``C_w[y, j] / (1 - C_w[y, y])`` (uniform for
one-coin workers). "Accuracy" therefore means accuracy on a task of median difficulty. Spreads so
large that ``beta_t`` leaves float's range (``difficulty_spread * |z_t|`` past about 88: the product is
taken in float32) give ``beta_t = inf`` or 0 and take the limits: a worker of accuracy 1/2 stays at 1/2
and one of accuracy 0 or 1 is always wrong or right, whatever the spread (the difficulty is then 0 or
inf).

Correlated errors act on normal workers only (experts stay independent, the others keep their rule):

- **Traps** (``trap_share``): a task is a trap with that probability and then has one shared wrong
  label (uniform among the wrong ones); each normal worker answers it with probability
  ``trap_strength``, otherwise answers as above.
- **Worker correlation** ``rho = worker_correlation``: each task draws one shared "crowd" answer
  ``s_t``, right with probability ``sigmoid(logit(accuracy_mean) * beta_t)`` and otherwise a uniform
  wrong label. Each judgment of a normal worker (not overridden by a trap) is ``s_t`` with
  probability ``rho`` and the worker's own independent answer otherwise. A worker's accuracy becomes
  ``(1 - rho) a_w + rho a_mean``; for two workers of equal accuracy ``a`` (= ``accuracy_mean``,
  ``difficulty_spread = 0``) the correlation of their error indicators on a task is exactly
  ``rho ** 2`` (both copy with probability ``rho ** 2``; then their errors coincide).

A normal worker's judgments are thus right (on a task of median difficulty) with probability
``(1 - trap_share * trap_strength) * ((1 - rho) a_w + rho a_mean)``:
:attr:`WorkerTable.effective_accuracy` (``effective_accuracy`` in ``workers.parquet``), whereas
:attr:`WorkerTable.accuracy` (``accuracy``) is ``a_w`` (``"full"``: the prior-weighted diagonal of
``C_w``), the worker's own accuracy before correlation and traps.

Randomness and determinism
--------------------------
Workers come from ``np.random.SeedSequence(seed, spawn_key=(1,))``. Tasks are cut into chunks of
``tasks_per_chunk`` (chunk ``c`` holds tasks ``[c * tasks_per_chunk, (c + 1) * tasks_per_chunk)``)
and chunk ``c`` is drawn from ``np.random.SeedSequence(seed, spawn_key=(0, c))`` alone (spawned into
three streams: the main one, traps, correlation), so any split of the work gives the same data.
Every stream of every seed is distinct: numpy pads the seed to its 128-bit pool and appends the
spawn key, so seeds must be below ``2**128``. Traps and correlation draw from their own streams only
when switched on, so changing only ``trap_share``, ``trap_strength`` or ``worker_correlation`` keeps
the truth, the difficulties, the worker assignment and every independent answer (common random
numbers for ablation sweeps). Changing ``tasks_per_chunk`` changes the data. Judgments come sorted
by task, then worker.

Changes of the data a seed gives
--------------------------------
- galton 0.1.0, during development: chunks were drawn from ``SeedSequence([seed, c])``. numpy pads
  entropy with zero words, so chunk 0 had the entropy of ``seed`` alone and its trap stream was the
  worker stream, and seed ``2**32 + s`` (words ``[s, 1]``) gave for its chunk 0 the data of seed
  ``s``'s chunk 1. Chunks now use ``spawn_key=(0, c)``: every seed's tasks and judgments changed
  (its workers did not), and seeds of ``2**128`` or more are refused.
- galton 0.1.0, during development: a task whose ``beta_t`` left float32's range (``difficulty_spread
  * |z_t| > 88``) gave ``0 * inf = NaN`` for workers of accuracy 1/2, 0 or 1 (and float64's, past 709,
  for the crowd answer of ``worker_correlation`` with ``accuracy_mean`` 1/2, 0 or 1), which counted as a
  right answer: those judgments (and crowd answers) now follow the limits above. Every other judgment
  of every seed is unchanged.
- galton 0.1.0, during development: a task's judges are drawn by a dense random-key sort when a task
  needs at least a quarter of the workers (``4 * max judgments_per_task >= n_workers``), not more than
  half (it is the faster method there). Settings with ``n_workers / 4 <= max judgments_per_task <=
  n_workers / 2`` (10 workers and 3 to 5 judgments a task, 100 workers and 25 to 50) give other judges,
  hence other judgments; their truth, difficulties, traps and workers, and all other settings' data,
  are unchanged.

References
----------
Sheng, Provost, Ipeirotis, "Get another label?", KDD 2008 (majority vote of independent labellers).
Whitehill, Ruvolo, Wu, Bergsma, Movellan, "Whose vote should count more", NIPS 2009 (GLAD).
Dawid, Skene, "Maximum likelihood estimation of observer error-rates", JRSS C 1979.

Examples
--------
>>> from galton.datasets.simulate import CrowdConfig, simulate
>>> simulate(CrowdConfig(n_tasks=1000, n_workers=50, judgments_per_task=3, seed=1)).n_judgments
3000
"""


from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from .._math import sigmoid_exp
from ._population import (ADVERSARY, CONSTANT_SPAMMER, KINDS, NORMAL, UNIFORM_SPAMMER, CrowdConfig, WorkerTable,
                          adversary_map, sample_workers, worker_names)

__all__ = ["KINDS", "CrowdConfig", "SimResult", "WorkerTable", "sample_workers", "simulate",
           "simulate_chunks", "simulate_tasks", "worker_names"]

_CHUNK_STREAM = 0  # spawn_key (0, chunk) of a chunk's streams; the workers' is (1,) (_population.py)
_DENSE_BLOCK = 1 << 22  # random keys per block in the dense worker assignment
_DENSE_SHARE = 4  # the dense assignment for tasks that need at least 1/_DENSE_SHARE of the workers
_COLUMNS = {"task": np.int64, "worker": np.int32, "label": np.int32, "true_label": np.int32,
            "difficulty": np.float64, "is_trap": np.bool_}


def _assign(rng: np.random.Generator, m: np.ndarray, n: int) -> np.ndarray:
    """Distinct uniform workers per task, sorted by task then worker (int32, length m.sum()).

    Draws with replacement, then redraws the repeats (and re-sorts only the tasks that had one)
    until none is left. The procedure treats all workers alike, so each task's set of judges is
    uniform over the subsets of its size. When a task needs at least a quarter of the workers
    (``4 * max(m) >= n``), a dense random-key sort (``n`` keys a task) is used instead: there the
    redraws cost more than the sort (measured from 5 to 100,000 workers: the two are even between
    ``m = n / 5`` and ``n / 4``, the sort 1.1 to 2 times as fast at ``n / 4`` and 3 to 9 times at
    ``n / 2``). Up to galton 0.1.0's development the switch was at ``2 * max(m) > n``: settings with
    ``n / 4 <= max(m) <= n / 2`` (10 workers and 3 to 5 judgments a task, 100 workers and 25 to 50)
    gave other data then.
    """
    T, N = m.shape[0], int(m.sum())
    if int(m.max(initial=0)) * _DENSE_SHARE >= n:
        mmax = int(m.max())
        out = [np.zeros(0, np.int64)]
        step = max(1, _DENSE_BLOCK // n)
        for b in range(0, T, step):  # blocks of tasks, not judgments
            mb = m[b:b + step]
            pick = np.argsort(rng.random((mb.shape[0], n)), axis=1)[:, :mmax]
            keep = np.arange(mmax) < mb[:, None]
            pick = np.sort(np.where(keep, pick, n), axis=1)
            out.append(pick[keep])  # the m_t picks lead each sorted row
        return np.concatenate(out).astype(np.int32)
    dtype = np.int32 if T * n < 2**31 else np.int64
    key = np.repeat(np.arange(T, dtype=dtype) * dtype(n), m)
    key += rng.integers(0, n, N, dtype=dtype)
    key.sort()
    pos = np.arange(N)
    while True:
        seg = key[pos]
        dup = pos[np.flatnonzero(seg[1:] == seg[:-1]) + 1]
        if dup.size == 0:
            break
        key[dup] = key[dup] - key[dup] % n + rng.integers(0, n, dup.size, dtype=dtype)
        tasks = np.unique(key[dup] // n)  # re-sort the whole segments of these tasks only
        starts = np.concatenate(([0], np.cumsum(m)))[tasks]
        lens = m[tasks]
        pos = np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
        pos += np.arange(pos.shape[0])
        key[pos] = np.sort(key[pos])
    return (key % n).astype(np.int32)


def _logit(p: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-np.asarray(p, dtype=np.float64))


def _times_beta(alpha: np.ndarray | float, beta: np.ndarray) -> np.ndarray:
    """``alpha * beta`` where a task's ``beta`` has left float's range (``difficulty_spread * |z|``
    past 88 in float32, 709 in float64): its true value is a positive real, so the limit of a product
    with ``alpha = 0`` (accuracy 1/2) is 0 and with ``alpha = +-inf`` (accuracy 1 or 0) is ``alpha``,
    not the NaN of ``0 * inf`` (which compared as a right answer)."""
    with np.errstate(invalid="ignore"):
        x = alpha * beta
    return np.where(np.isnan(x), alpha, x)


def _difficulty(beta: np.ndarray) -> np.ndarray:
    """``1 / beta``: inf where beta underflowed to 0, 0 where it overflowed."""
    with np.errstate(divide="ignore", over="ignore"):
        return 1.0 / beta


class _Prepared:
    """Per-worker lookup tables shared by all chunks: O(n_workers) for a one-coin crowd (indexed by
    worker), O(n_workers * K * K) for a full one (as its confusion matrices)."""

    def __init__(self, config: CrowdConfig, workers: WorkerTable):
        if workers.n_workers != config.n_workers or workers.n_classes != config.n_classes:
            raise ValueError("workers do not match config (n_workers / n_classes differ)")
        K = config.n_classes
        self.code = workers.kind_code
        self.present = set(np.unique(self.code).tolist())
        # index w * K + y (full), w (one-coin: the same accuracy for every true class)
        self.per_class = workers.confusion is not None
        self.alpha = _logit(workers.correct_matrix() if self.per_class else workers.accuracy).ravel()
        self.p_correct = sigmoid_exp(self.alpha)
        self.alpha32 = self.alpha.astype(np.float32)
        self.const = workers.constant_label.astype(np.int32)
        self.adv = adversary_map(config)
        self.cum = None
        if workers.confusion is not None:
            off = workers.confusion * (1 - np.eye(K))
            s = off.sum(axis=2, keepdims=True)
            off = np.where(s > 0, off / np.where(s > 0, s, 1), (1 - np.eye(K)) / (K - 1))
            cum = np.cumsum(off, axis=2)
            self.cum = (cum / cum[:, :, -1:]).reshape(-1, K)  # last nonzero entry exactly 1.0


def _wrong(y: np.ndarray, offset: np.ndarray, K: int) -> np.ndarray:
    """The label ``offset + 1`` steps after `y` (mod K): uniform over the wrong ones."""
    out = y + 1 + offset.astype(y.dtype)
    out[out >= K] -= K
    return out


def _chunk(config: CrowdConfig, prep: _Prepared, chunk: int) -> dict[str, np.ndarray]:
    """Simulate one whole chunk from its own streams
    ``SeedSequence(seed, spawn_key=(_CHUNK_STREAM, chunk)).spawn(3)``.

    Stream 0 draws, in this order, the true labels, the difficulties, the judgment counts, the
    worker assignment and two uniforms per judgment (right/wrong, which wrong label); stream 1 the
    traps and stream 2 the shared crowd answers and copy decisions, each only when used, so that
    switching traps or correlation on or off changes nothing else.
    """
    main, trap_ss, copy_ss = np.random.SeedSequence(config.seed, spawn_key=(_CHUNK_STREAM, chunk)).spawn(3)
    rng = np.random.default_rng(main)
    start, stop = config.chunk_bounds(chunk)
    T, K, n = stop - start, config.n_classes, config.n_workers
    y = np.searchsorted(np.cumsum(config.prior), rng.random(T), side="right")
    y = np.minimum(y, K - 1).astype(np.int32)
    with np.errstate(over="ignore"):  # past float's range beta is inf or 0: its limits (see _times_beta)
        beta = np.exp(-config.difficulty_spread * rng.standard_normal(T))
    lo, hi = config.jpt_range
    m = np.full(T, lo, dtype=np.int64) if lo == hi else rng.integers(lo, hi + 1, T)
    worker = _assign(rng, m, n)
    tj = np.repeat(np.arange(T, dtype=np.int32), m)
    N = tj.shape[0]
    u_correct, u_other = rng.random(N), rng.random(N)
    yj = y[tj]
    if not prep.per_class:
        wy = worker
    else:
        wy = worker * np.int32(K) + yj if n * K < 2**31 else worker.astype(np.int64) * K + yj
    if config.difficulty_spread == 0:  # beta == 1 exactly: the same values from a table
        wrong = np.flatnonzero(u_correct >= prep.p_correct[wy])
    else:  # float32: numpy's exp is vectorised for it (~1e-7 relative error on P(correct))
        x = prep.alpha32[wy]
        with np.errstate(over="ignore", invalid="ignore"):
            beta32 = beta.astype(np.float32)  # inf above 3.4e38, 0 below 1.4e-45
            x *= beta32[tj]
        if not (np.isfinite(beta32).all() and beta32.all()):
            nan = np.flatnonzero(np.isnan(x))  # 0 * inf: the limit is alpha (see _times_beta)
            x[nan] = prep.alpha32[wy[nan]]
        wrong = np.flatnonzero(u_correct >= sigmoid_exp(x))
        del x
    del u_correct
    label = yj.copy()
    if prep.cum is None:
        label[wrong] = _wrong(yj[wrong], np.minimum(u_other[wrong] * (K - 1), K - 2), K)
    else:
        label[wrong] = (prep.cum[wy[wrong]] <= u_other[wrong, None]).sum(axis=1, dtype=np.int32)
    del wrong, wy
    code = prep.code[worker]
    is_trap = np.zeros(T, dtype=bool)
    if config.worker_correlation > 0 and NORMAL in prep.present:
        crng = np.random.default_rng(copy_ss)
        shared_ok = crng.random(T) < sigmoid_exp(_times_beta(_logit(config.accuracy_mean), beta))
        shared = np.where(shared_ok, y, _wrong(y, crng.integers(0, K - 1, T), K))
        copy = (crng.random(N, dtype=np.float32) < config.worker_correlation) & (code == NORMAL)
        label[copy] = shared[tj[copy]]
    if config.trap_share > 0:
        trng = np.random.default_rng(trap_ss)
        is_trap = trng.random(T) < config.trap_share
        trap_label = _wrong(y, trng.integers(0, K - 1, T), K)
        if NORMAL in prep.present:
            trap = (trng.random(N, dtype=np.float32) < config.trap_strength) & is_trap[tj]
            trap &= code == NORMAL
            label[trap] = trap_label[tj[trap]]
    if UNIFORM_SPAMMER in prep.present:
        sel = code == UNIFORM_SPAMMER
        label[sel] = np.minimum(u_other[sel] * K, K - 1).astype(np.int32)
    if CONSTANT_SPAMMER in prep.present:
        sel = code == CONSTANT_SPAMMER
        label[sel] = prep.const[worker[sel]]
    if ADVERSARY in prep.present:
        sel = code == ADVERSARY
        label[sel] = prep.adv[yj[sel]]
    return {
        "task": tj.astype(np.int64) + start,
        "worker": worker,
        "label": label.astype(np.int32, copy=False),
        "true_label": y,
        "difficulty": _difficulty(beta),
        "is_trap": is_trap,
    }


def simulate_chunks(
    config: CrowdConfig, workers: WorkerTable, first: int = 0, stop: int | None = None
) -> Iterator[dict[str, np.ndarray]]:
    """The data of the random-stream chunks ``first, ..., stop - 1`` (``stop`` defaults to
    ``config.n_chunks``), one chunk at a time: what :func:`simulate_tasks` returns for each chunk's
    tasks (:meth:`CrowdConfig.chunk_bounds`). The per-worker tables are built once, not per chunk."""
    stop = config.n_chunks if stop is None else stop
    if not 0 <= first <= stop <= config.n_chunks:
        raise ValueError(f"chunk range [{first}, {stop}) is outside [0, {config.n_chunks})")
    prep = _Prepared(config, workers)
    for chunk in range(first, stop):
        yield _chunk(config, prep, chunk)


def simulate_tasks(
    config: CrowdConfig, workers: WorkerTable, start: int = 0, stop: int | None = None
) -> dict[str, np.ndarray]:
    """Judgments and truth of tasks ``[start, stop)``; identical however the range is split.

    Parameters
    ----------
    config : CrowdConfig
    workers : WorkerTable
        From :func:`sample_workers` (with the same `config`).
    start, stop : int
        Task range (``stop`` defaults to ``n_tasks``).

    Returns
    -------
    dict of ndarray
        ``task`` (int64), ``worker`` (int32), ``label`` (int32), one entry per judgment, sorted
        by task then worker; ``true_label`` (int32), ``difficulty`` (float64, ``1 / beta``) and
        ``is_trap`` (bool), one entry per task ``start + i``.
    """
    stop = config.n_tasks if stop is None else stop
    if not 0 <= start <= stop <= config.n_tasks:
        raise ValueError(f"task range [{start}, {stop}) is outside [0, {config.n_tasks})")
    tpc = config.tasks_per_chunk
    parts = list(simulate_chunks(config, workers, start // tpc, -(-stop // tpc)))
    if not parts:  # start == stop on a chunk boundary
        return {k: np.zeros(0, dtype=t) for k, t in _COLUMNS.items()}
    out = parts[0] if len(parts) == 1 else {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    first = (start // tpc) * tpc
    lo, hi = np.searchsorted(out["task"], [start, stop])
    res = {k: out[k][lo:hi] for k in ("task", "worker", "label")}
    for k in ("true_label", "difficulty", "is_trap"):
        res[k] = out[k][start - first:stop - first]
    return res


@dataclass(frozen=True)
class SimResult:
    """A simulated data set held in memory.

    Attributes
    ----------
    config : CrowdConfig
    workers : WorkerTable
    task, worker, label : ndarray
        One entry per judgment (int64, int32, int32), sorted by task then worker.
    true_label, difficulty, is_trap : ndarray
        One entry per task ``0..n_tasks-1``.
    """

    config: CrowdConfig
    workers: WorkerTable
    task: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    true_label: np.ndarray
    difficulty: np.ndarray
    is_trap: np.ndarray

    @property
    def n_judgments(self) -> int:
        return int(self.task.shape[0])

    def judgments(self, frame: str = "polars") -> Any:
        """Judgments as a ``task, worker, label`` frame (worker ids per ``config.worker_ids``)."""
        worker: Any = self.worker
        if self.config.worker_ids == "str":
            worker = worker_names(self.config.n_workers)[self.worker]
        return _frame({"task": self.task, "worker": worker, "label": self.label}, frame)

    def gold(self, frame: str = "polars") -> Any:
        """True labels as a ``task, label`` frame."""
        task = np.arange(self.config.n_tasks, dtype=np.int64)
        return _frame({"task": task, "label": self.true_label}, frame)


def _frame(columns: dict[str, np.ndarray], frame: str) -> Any:
    import polars as pl

    from ._io import convert

    return convert(pl.DataFrame(columns), frame)  # type: ignore[arg-type]


def simulate(config: CrowdConfig) -> SimResult:
    """Simulate the whole data set of `config` in memory: a :class:`SimResult` holding the
    same data as ``galton.workers.simulate`` writes for this configuration."""
    workers = sample_workers(config)
    d = simulate_tasks(config, workers, 0, config.n_tasks)
    return SimResult(config=config, workers=workers, **d)
