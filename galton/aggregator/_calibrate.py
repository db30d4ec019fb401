"""Calibration of task posteriors without gold: a temperature per task, by its number of judgments, chosen by
held-out judgments.

A confusion model's posterior multiplies one likelihood term per judgment, as if the workers of a
task erred independently. Real workers do not (they share the hard tasks, the same misreadings), so
on real data the posteriors are far too sure: on the 17 shared datasets with gold the default model's
mean confidence is 0.958 where its accuracy is 0.840. Tempering the log-posterior of task t,

    q_t(k) ∝ exp(tau_t * (log p_k + sum_{j in t} log e_{w_j}(y_j | k))),   tau_t = 1 / (1 + (n_t - 1) rho),

keeps every label (the order of each row is unchanged) and softens the probabilities. ``tau_t`` is the design
effect of judgments whose errors go together with correlation ``rho`` >= 0: the n_t judgments of the task carry
the evidence of ``n_t / (1 + (n_t - 1) rho)`` independent ones (:func:`task_temperatures`). So a task judged once
is as fitted, and the more judgments a task has the more it is softened; one temperature for every task (as
before 2026-12-07), chosen where most judgments are, softened the small tasks of a fit with large ones far below
their accuracy and left the large tasks of a fit of mostly small ones over-confident (imagenet_real_golden, 78
judgments a task: temperature 0.032; new tasks of 3 judgments read 0.38 at accuracy 0.88 in predict_proba, 0.90
now; ``docs/research/calibration_task_size.py``). The whole log-posterior is tempered, the class prior with it, so that
no label changes (tempering the judgments' terms alone could move a task's top label towards the prior; the
default's class prior is near uniform anyway). The tempering
starts from the log-posterior itself where a probability underflows (below ``TINY``: a task with
many judgments), not from the probability floored, so that labels far below the top keep their
order and the top's probability is not set by the floor. ``rho`` is chosen without gold, by how
well the tempered posterior of a task *without* one of its judgments predicts that judgment (leave-one-judgment-out
predictive log-likelihood, on a fixed grid, over a sample of tasks and of their judgments keyed by task (its place among
the sorted ids) and (worker, label) pair, so that it depends on neither sharding nor row order):

    nll(rho) = - sum_j log sum_k softmax(tau(n_t - 1) * (L_t - l_j))_k * e_{w_j}(y_j | k)

with ``L_t`` the task's log-posterior, ``l_j`` the judgment's row of the E-step table and ``tau(n_t - 1)`` the
temperature of the n_t - 1 judgments left (a task of two judgments says nothing of ``rho``; a worker's repeated
rows of the task leave it with the judgment held out, or they would predict it, as one worker agreeing with itself,
and ``tau`` is that of the judgments left). A ``rho``
above 0 is taken only where its NLL is below that of 0 by more than ``MARGIN`` (2) standard errors of
the difference, the tasks taken as the units (:func:`choose_rho`): on data drawn from the model
itself the posteriors are already calibrated, and where they are sure (many judgments per task) the
curve is flat and its minimum noise, so the choice is 0 there; on real data it is mostly 0.04-0.4.
One additive pass over the shards, like an E-step.

The sample is keyed by the task's place among the sorted ids (its code in memory; data ingested by shards, whose codes
follow the shards, pass those places as ``ranks``: :func:`task_ranks`), so another naming of the same tasks scores
another sample; the labels never change, but where the held-out score of the grid points differs by less than the
sample's noise the temperature can (measured with one temperature for every task, before 2026-12-07): 30,000
judgments of 20 labels by workers whose errors are correlated (``simulate`` with 3,000 tasks, 100 workers,
``worker_correlation=0.6``, seed 1; about 9,800 judgments scored) gave tau 0.147, and 0.121 with the task ids permuted
(every judgment scored: 0.147 both); of eight such crowds (correlation 0.3 and 0.6, four seeds each) that one moved,
by one step of the grid. Scoring every judgment costs about one more pass per grid point over all judgments (1M
simulated judgments of 5 labels, the data encoded once: a fit of 0.11 s took 1.54 s, at a load of 3-5 on 2 cores),
so large data keep the sample. """

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._math import EPS, splitmix64
from ._kernels import logsumexp_rows, repeat_rows
from ._pairs import pair_table

__all__ = ["RHOS", "SAMPLE_JUDGMENTS", "SAMPLE_CELLS", "SAMPLE_TASKS", "BLOCK_CELLS", "TINY", "MARGIN",
           "heldout_nll", "choose_rho", "task_temperatures", "sample_fraction", "task_ranks", "temper",
           "log_posteriors"]

#: the grid of rho tried, the correlation of a task's judgments (:func:`task_temperatures`): 0 (the posteriors as
#: fitted) and 0.001 .. 10, log-spaced (each step about 21%); 10 tempers a task of 100 judgments by 0.001, a tenth
#: of a judgment's worth (a crowd of 150 judgments per task whose wrong answers were shared chose a single temperature
#: of 0.01 with the held-out NLL still falling: rho 0.66)
RHOS = np.concatenate([[0.0], np.exp(np.linspace(np.log(1e-3), np.log(10.0), 49))])

#: about this many judgments enter the held-out score (all of them on smaller data), fewer when
#: there are many labels: at most about SAMPLE_CELLS judgment x label cells; they come from at
#: least SAMPLE_TASKS tasks (all tasks when there are fewer): tasks with many judgments have a
#: share of their judgments scored, so that the choice never rests on a handful of tasks
SAMPLE_JUDGMENTS = 20_000
SAMPLE_CELLS = 200_000
SAMPLE_TASKS = 200

#: a rho other than 0 is chosen only where its held-out NLL is below that of 0 by more than
#: this many standard errors of the difference (tasks as the units: :func:`choose_rho`)
MARGIN = 2.0

#: posteriors below this are tempered from their log-posterior, computed again (their logarithm
#: is lost: ``exp`` gives 0 from about 1e-308 down, and loses digits just above)
TINY = 1e-290

#: judgment x label cells scored at once (bounds the pass's memory: a few arrays of this many floats)
BLOCK_CELLS = 1 << 18

_SALT = np.uint64(0x6A09E667F3BCC908)  # sample keys independent of the shard hash
_SALT_JUDGMENT = np.uint64(0xBB67AE8584CAA73B)  # the judgments' keys independent of the tasks'


def sample_fraction(n_judgments: int, n_labels: int, n_tasks: int = 0) -> tuple[float, float]:
    """``(tasks, within)``: the share of tasks that enter the held-out score, and the share of the
    judgments of those tasks that are scored (about ``min(SAMPLE_JUDGMENTS, SAMPLE_CELLS / K)``
    judgments in all, from at least ``SAMPLE_TASKS`` tasks when there are so many)."""
    want = min(SAMPLE_JUDGMENTS, SAMPLE_CELLS // max(n_labels, 1))
    if n_judgments <= want:
        return 1.0, 1.0
    tasks = want / float(n_judgments)
    if tasks * n_tasks < SAMPLE_TASKS:
        tasks = min(1.0, SAMPLE_TASKS / float(max(n_tasks, 1)))
    return tasks, min(1.0, want / (tasks * n_judgments))


def task_ranks(judgments: Any, tasks: float, within: float) -> np.ndarray | None:
    """Each global task code's place among the sorted task ids, which keys the held-out sample
    (``tasks``, ``within``: :func:`sample_fraction`), for data ingested by shards (``task_order``:
    their codes are ``offset + local index`` per shard, so keyed by code the sample, and the
    temperature, changed with the number of shards); None for data read in memory, whose codes are
    those places, and where every judgment is scored (no key is read). Ingested data fetch their
    task ids into this process for it, once (a fit that collects its results fetches them anyway;
    one that writes ``results_dir`` fetches nothing else per task: 1M text ids are about 100 MB)."""
    if (tasks >= 1.0 and within >= 1.0) or not hasattr(type(judgments), "task_order"):
        return None  # the class's attribute: the instance's would fetch the ids
    order = judgments.task_order
    ranks = np.empty(order.size, dtype=np.int32)
    ranks[order] = np.arange(order.size, dtype=np.int32)
    return ranks


def _below(key: np.ndarray, fraction: float) -> np.ndarray:
    return (key >> np.uint64(11)).astype(np.float64) * 2.0 ** -53 < fraction


def _sampled(task_ids: np.ndarray, fraction: float) -> np.ndarray:
    if fraction >= 1.0:
        return np.ones(task_ids.size, dtype=bool)
    return _below(splitmix64(task_ids.astype(np.uint64) ^ _SALT), fraction)


def _judgments_sampled(task_ids: np.ndarray, rows: np.ndarray, fraction: float) -> np.ndarray:
    """Which judgments (global task codes ``task_ids``, pair rows ``rows``) of the sampled tasks are
    scored: keyed by task and (worker, label) pair, both coded independently of the row order."""
    if fraction >= 1.0:
        return np.ones(rows.size, dtype=bool)
    key = splitmix64((task_ids.astype(np.uint64) << np.uint64(32)) ^ rows.astype(np.uint64) ^ _SALT_JUDGMENT)
    return _below(key, fraction)


def _blocks(sizes: np.ndarray, tasks: np.ndarray, k: int):  # noqa: ANN202
    """Consecutive slices of ``tasks`` of at most ``BLOCK_CELLS`` judgment x label cells (at least one task)."""
    start = 0
    while start < tasks.size:
        ends = np.cumsum(sizes[tasks[start:]]) * k
        stop = start + max(1, int(np.searchsorted(ends, BLOCK_CELLS, side="right")))
        yield slice(start, stop)
        start = stop


def _scores(indptr: np.ndarray, sizes: np.ndarray, block: np.ndarray, rows: np.ndarray, table: Any,
            logprior: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(t, r, terms, total, at)`` of a block of tasks: each judgment's block-local task and table row,
    its table row of log-likelihoods (m, K), each task's unnormalised log-posterior (tasks, K), and each
    judgment's place in the shard."""
    counts = sizes[block]
    t = np.repeat(np.arange(block.size), counts)  # block-local task of each judgment
    at = np.repeat(indptr[block] - np.cumsum(counts) + counts, counts) + np.arange(t.size)
    r = rows[at]
    terms = table[r] if isinstance(table, np.ndarray) else pair_table(table, r)  # (m, K)
    total = np.zeros((block.size, logprior.size))
    np.add.at(total, t, terms)
    total += logprior
    return t, r, terms, total, at


def _their_rows(t: np.ndarray, worker: np.ndarray, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(theirs, n)``: per judgment, the sum of the terms of its worker's rows of its task and their number (a
    worker who judged a task in repeated rows: its other rows leave the task with the one held out, or they would
    predict it, as one worker agreeing with itself)."""
    width = int(worker.max(initial=0)) + 1
    if not repeat_rows(t, worker, int(t[-1]) + 1 if t.size else 0, width).any():  # the usual case, in linear time
        return terms, np.ones(t.size, dtype=np.int64)
    key = t.astype(np.int64) * width + worker
    uniq, group, n = np.unique(key, return_inverse=True, return_counts=True)
    theirs = np.zeros((uniq.size, terms.shape[1]))
    np.add.at(theirs, group, terms)
    return theirs[group], n[group]


def log_posteriors(indptr: np.ndarray, tasks: np.ndarray, rows: np.ndarray, table: Any,
                   logprior: np.ndarray) -> np.ndarray:
    """(tasks.size, K) unnormalised log-posteriors ``log p_k + sum_j table[row_j, k]`` of the tasks
    ``tasks`` of a CSR shard (``rows``: each judgment's table row; ``table`` the (P, K) table or the
    parameters :func:`galton.aggregator._pairs.pair_table` builds its rows from), in blocks of at
    most ``BLOCK_CELLS`` judgment x label cells."""
    sizes = np.diff(indptr)
    out = np.empty((tasks.size, logprior.size))
    for part in _blocks(sizes, tasks, max(logprior.size, 1)):
        out[part] = _scores(indptr, sizes, tasks[part], rows, table, logprior)[3]
    return out


def heldout_nll(indptr: np.ndarray, task_ids: np.ndarray, gold: np.ndarray, rows: np.ndarray,
                table: np.ndarray, logprior: np.ndarray, cells: np.ndarray, columns: np.ndarray,
                fraction: float, rhos: np.ndarray = RHOS,
                pooled: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                within: float = 1.0, ranks: np.ndarray | None = None,
                workers: np.ndarray | None = None) -> dict[str, Any]:
    """One shard's held-out negative log-likelihood at each rho of ``rhos`` (additive over shards).

    Parameters
    ----------
    indptr : CSR offsets of the shard's tasks; ``task_ids`` their global codes; ``gold`` the known
        class per task (-1: unknown; known tasks are left out: their posterior is clamped)
    rows : the table row of each judgment (its (worker, label) pair)
    table : (pairs, K) the E-step's ``log e(y | k)`` (expected logs for variational models), or for
        one accuracy per worker the parameters its rows are built from (``COIN_KEYS``, see
        :func:`galton.aggregator._pairs.pair_table`): only the sampled judgments' rows are built
    logprior : (K,) the E-step's log class prior
    cells, columns : (pairs, K) the expected counts behind ``e(y | k)`` (posterior Dirichlet
        parameters: the cell and its column's sum); the judgment's own share ``q_t(k)`` is taken
        out of both, so that the worker's estimate does not already know the judgment it predicts
    fraction : share of tasks sampled (:func:`sample_fraction`)
    rhos : the grid of rho (:data:`RHOS`); the posterior without the judgment is tempered by
        :func:`task_temperatures` of the judgments it holds
    within : share of the sampled tasks' judgments scored (keyed by task and pair row)
    ranks : each global task code's place among the sorted ids (:func:`task_ranks`), the sample's key
        in place of the code; None: the codes are those places
    workers : the worker of each judgment: a judgment is held out with its worker's other rows of the task
        (repeated rows); None: every row its own worker
    pooled : for one accuracy per worker, ``(alpha, beta, label)`` per row (P,): the posterior Beta
        of the row's worker and the row's observed label, in place of ``cells`` and ``columns``
        (ignored then): the judgment's own ``q_t(y)`` is taken out of ``alpha``, the rest of its one
        judgment out of ``beta``, and the wrong answers spread evenly over the other K - 1 labels

    Returns
    -------
    {"nll": (G,) summed negative log-likelihoods, "n": judgments scored, "tasks": tasks they are of,
    "sq": (G,) the sum over those tasks of the square of each task's NLL at the rho less its NLL at
    the grid's smallest (0), which :func:`choose_rho` takes the difference's noise from}
    """
    sizes = np.diff(indptr)
    if ranks is not None:
        task_ids = ranks[task_ids]
    keep = np.flatnonzero(_sampled(task_ids, fraction) & (gold < 0) & (sizes > 0))
    nll, sq = np.zeros(rhos.size), np.zeros(rhos.size)
    n = tasks = 0
    for part in _blocks(sizes, keep, max(logprior.size, 1)):  # at most BLOCK_CELLS judgment x label cells
        got = _score_block(indptr, sizes, keep[part], rows, table, logprior, cells, columns, rhos, nll,
                           pooled, task_ids, within, sq, workers)
        n, tasks = n + got[0], tasks + got[1]
    return {"nll": nll, "n": n, "tasks": tasks, "sq": sq}


def _score_block(indptr: np.ndarray, sizes: np.ndarray, block: np.ndarray, rows: np.ndarray,
                 table: np.ndarray, logprior: np.ndarray, cells: np.ndarray, columns: np.ndarray,
                 rhos: np.ndarray, nll: np.ndarray, pooled: Any = None, task_ids: Any = None,
                 within: float = 1.0, sq: np.ndarray | None = None, workers: Any = None) -> tuple[int, int]:
    """Add one block of tasks' held-out NLL per rho to ``nll`` (and to ``sq`` the squares of each
    task's NLL less its NLL at rho 0, the grid's smallest); returns its judgments scored (a share ``within``
    of them, keyed: every judgment enters its task's posterior) and their tasks."""
    t, r, terms, total, at = _scores(indptr, sizes, block, rows, table, logprior)
    theirs, n_theirs = (None, 1) if workers is None else _their_rows(t, workers[at], terms)
    if within < 1.0:
        scored = np.flatnonzero(_judgments_sampled(task_ids[block][t], r, within))
        t, r, terms = t[scored], r[scored], terms[scored]
        if theirs is not None:
            theirs, n_theirs = theirs[scored], n_theirs[scored]
    theirs = terms if theirs is None else theirs
    share = total - total.max(axis=1, keepdims=True)
    np.exp(share, out=share)
    share /= share.sum(axis=1, keepdims=True)  # q_t: each judgment's share of the counts
    own = share[t]
    if pooled is None:
        like = np.maximum(cells[r] - own, 0.0)
        like /= np.maximum(columns[r] - own, EPS)
    else:
        alpha, beta, y = (x[r] for x in pooled)
        at = np.arange(t.size)
        right = own[at, y]
        rest = np.maximum(alpha + beta - 1.0, EPS)  # the worker's judgments but this one
        like = np.empty_like(own)
        like[:] = (np.maximum(beta - 1.0 + right, 0.0) / (rest * max(own.shape[1] - 1, 1)))[:, None]
        like[at, y] = np.maximum(alpha - right, 0.0) / rest
    minus = total[t]
    minus -= theirs  # the task's log-posterior without this judgment (and its worker's other rows of the task)
    minus -= minus.max(axis=1, keepdims=True)
    q = np.empty_like(minus)
    left = sizes[block][t] - n_theirs  # the judgments of that posterior
    per_task = np.empty((rhos.size, block.size))  # each task's NLL at each rho
    for i, rho in enumerate(rhos):
        np.multiply(minus, task_temperatures(left, rho)[:, None], out=q)
        np.exp(q, out=q)
        pred = np.einsum("ij,ij->i", q, like) / np.einsum("ij->i", q)  # row sums: 4x sum(axis=1)'s speed at 4 labels
        logs = np.log(np.maximum(pred, EPS))
        nll[i] -= logs.sum()
        per_task[i] = -np.bincount(t, weights=logs, minlength=block.size)
    if sq is not None:
        per_task -= per_task[int(np.argmin(rhos))]
        sq += np.square(per_task).sum(axis=1)
    return int(t.size), int(t.size and np.count_nonzero(np.diff(t)) + 1)  # t is sorted: its distinct values


def task_temperatures(n: Any, rho: float) -> Any:
    """The temperature of a task of ``n`` judgments (an array or a number) at correlation ``rho`` (>= 0):
    ``1 / (1 + (n - 1) rho)``, the share of its judgments' evidence left when they are correlated (the design
    effect: n judgments weigh as ``n / (1 + (n - 1) rho)`` independent ones); 1 for a task of one judgment or
    none, and everywhere at ``rho`` 0."""
    return 1.0 / (1.0 + np.maximum(np.asarray(n, dtype=np.float64) - 1.0, 0.0) * rho)


def choose_rho(nll: np.ndarray, n: int, rhos: np.ndarray = RHOS, sq: np.ndarray | None = None,
               tasks: int = 0) -> float:
    """The grid's rho with the smallest held-out NLL (0.0 when nothing was scored); ties go to the smaller rho (the
    less changed posteriors).

    With ``sq`` and ``tasks`` (:func:`heldout_nll`), only a rho whose NLL is below that of the grid's smallest (0,
    the posteriors as fitted) by more than ``MARGIN`` standard errors competes, and 0 is kept when none is: the error
    of the difference is that of a sum over the tasks scored, each task's difference counted once (a task's
    judgments share its posterior, so they are not independent). Where the posteriors are sure (data drawn from the
    model, many judgments per task) the held-out NLL is flat and its minimum is noise: 200 tasks of 200 judgments by
    workers 70% right chose a temperature of 0.056 (3.2 nats below 1 out of 12,281; 0.92 for a task of 123 votes to
    77, wrong with chance 1e-17) before the margin."""
    ref = int(np.argmin(rhos))
    if n == 0 or not np.all(np.isfinite(nll)):
        return float(rhos[ref])
    ok = np.ones(nll.size, dtype=bool)
    if sq is not None:
        if tasks < 2:
            return float(rhos[ref])
        gain = nll[ref] - nll  # the sum over tasks of each task's NLL at rho 0 less at rho
        var = np.maximum(sq - gain ** 2 / tasks, 0.0) * tasks / (tasks - 1.0)
        ok = gain > MARGIN * np.sqrt(var)
        ok[ref] = True
    low = nll[ok].min()
    best = np.flatnonzero(ok & (nll <= low + 1e-9 * max(1.0, abs(low))))
    return float(rhos[best[np.argmin(rhos[best])]])


def temper(post: np.ndarray, tau: Any, gold: np.ndarray | None = None,
           rescore: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Posteriors ``post`` (tasks x K, rows summing to 1) tempered by ``tau`` (> 0: one number, or one per row:
    :func:`task_temperatures`; ``1 / tau`` undoes it, up to rounding); gold rows (``gold >= 0``) and rows whose
    own ``tau`` is 1 as given.

    ``rescore(tasks)``: the (unnormalised) log-posteriors of those rows (:func:`log_posteriors`),
    asked for the rows with a probability below ``TINY``, whose logarithm ``post`` has lost: those
    cells are tempered from it (the others from ``log post``, so that each row keeps its order).
    Without it such cells are floored at ``EPS`` (ten to the -300), which ties them and, at a small ``tau``,
    sets the top's probability (``exp(tau * log EPS)`` is 1e-3 of the top's weight at 0.01)."""
    tau = np.asarray(tau, dtype=np.float64)
    if np.all(tau == 1.0) or post.shape[0] == 0:
        return post
    z = np.log(np.maximum(post, EPS))
    known = np.zeros(post.shape[0], dtype=bool) if gold is None else gold >= 0
    lost = np.flatnonzero((post < TINY).any(axis=1) & ~known) if rescore is not None else np.zeros(0, np.int64)
    if lost.size:
        again = rescore(lost)
        again -= logsumexp_rows(again)[:, None]  # the log-posteriors
        z[lost] = np.where(post[lost] < TINY, np.minimum(again, np.log(TINY)), z[lost])
    z *= tau[:, None] if tau.ndim else tau
    z -= z.max(axis=1, keepdims=True)
    out = np.exp(z)
    out /= out.sum(axis=1, keepdims=True)
    if tau.ndim:  # rows at 1 (a task of one judgment) as given, bit for bit
        known |= tau == 1.0
    if known.any():
        out[known] = post[known]
    return out
