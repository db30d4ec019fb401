"""Which task needs another judgment: ``galton.allocate(data, budget=N)``.

Fit a model (or take a fitted one), score every task by what one more judgment is expected to
bring, and return the ``budget`` best (task, slot) rows, ranked. Strategies:

- ``"uniform"`` (the baseline): the tasks with the fewest judgments first; ties broken by a seeded
  hash of the task id (reproducible, independent of row order). Score: minus the judgment count.
- ``"uncertainty"``: ``1 - max posterior`` of the task (expected value before the slot's judgment).
- ``"eig"``: expected information gain in bits about the task's true class ``z`` from one more
  judgment ``y``: ``EIG = H(z) - E_y[H(z | y)] = H(C pi) - sum_k pi_k H(C[:, k])``, with ``pi`` the
  posterior and ``C[y, k] = p(y | z = k)`` the answer distribution of a typical worker: the
  judgment-weighted average confusion matrix of the model's ``errors_``, else (models without
  confusions) a one-coin worker whose accuracy is the crowd's mean agreement with the posteriors,
  its errors spread over the labels in use (not over declared labels nobody gives).

Under every strategy, rows of equal score (to 12 places) come in the order of the seeded hash of
the task id (``random_state``; pairwise data: of the pair's items). A task whose gold label the fit
was given needs no judgment: no strategy gives it a row.

Relabelling the uncertain items beats labelling every item again (Sheng, Provost and Ipeirotis,
KDD 2008). With ``per_task > 1`` a task has up to ``per_task`` slots; slot ``j`` is scored by the
expected gain of the ``j``-th extra judgment (the outcomes of the ``j - 1`` before it enumerated),
so the gains of a task decrease with ``j`` and a greedy ranking is exact.

With ``workers`` (ids of the available workers) the rows are (task, worker) pairs scored with
each worker's own confusion matrix (one-coin from its agreement with the posteriors when the model
has no ``errors_``), never a worker who already judged the task, each worker at most
``per_worker`` times and each task at most ``per_task`` times; every pair is scored against the
current posterior.

Pairwise data (``worker, left, right, label``; Bradley-Terry and its crowd models): the pairs to
compare next, among the pairs of items at most ``window`` places apart in the current ranking,
and with ``workers`` the (left, right, worker) rows scored by each rater's reliability under the
fitted model; see :mod:`galton.allocate_pairwise`.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Iterable, Sequence

import numpy as np

from ._math import entropy_bits, splitmix64
from ._warnings import warn
from .aggregator._results import check_output
from .allocate_fit import STRATEGIES, check_arguments, check_cells, fitted_model, seed_of  # checks and fit
from .allocate_judged import gold_tasks, judged_by, labels_in_use, worker_agreement, worker_counts
from .io._once import read_once, readable_once
from .io._read import ID_COLUMNS, frame_kind

__all__ = ["STRATEGIES", "allocate", "check_cells", "eig_binary", "expected_gain", "id_hash"]

_MAX_STATES = 4096  # K ** per_task outcome sequences enumerated per task
#: (tasks x outcome sequences x K x K) values one block of the enumeration holds (32 MB): without
#: blocks, 20k tasks of 1,000 labels needed 160 GB for one extra judgment
_BLOCK_CELLS = 1 << 22


# ------------------------------------------------------------------------------------------------
# scores
# ------------------------------------------------------------------------------------------------
def eig_binary(p: float, accuracy: float) -> float:
    """Closed form of the EIG (bits) for a binary task with posterior ``p`` of class 1 and a
    symmetric worker of accuracy ``accuracy``: ``h(a p + (1 - a)(1 - p)) - h(a)``."""
    def h(x: float) -> float:
        return 0.0 if x <= 0 or x >= 1 else -(x * math.log2(x) + (1 - x) * math.log2(1 - x))

    return h(accuracy * p + (1 - accuracy) * (1 - p)) - h(accuracy)


def expected_gain(post: np.ndarray, confusion: np.ndarray, strategy: str, slots: int = 1) -> np.ndarray:
    """Scores ``(n_tasks, slots)``: column ``j`` is the expected gain of the ``(j+1)``-th extra
    judgment from a worker answering by ``confusion[y, k] = p(y | z = k)`` ("eig": bits of
    information about ``z``; "uncertainty": expected ``1 - max posterior`` before it)."""
    post = np.asarray(post, dtype=np.float64)
    conf = np.asarray(confusion, dtype=np.float64)
    n, k = post.shape
    if slots == 1:  # one more judgment: memory n x K (p(y) = C pi is a matrix product)
        if strategy == "uncertainty":
            return (1.0 - post.max(axis=1))[:, None]
        gain = entropy_bits(post @ conf.T, axis=1) - post @ entropy_bits(conf.T, axis=1)
        return np.maximum(gain, 0.0)[:, None]
    block = max(1, _BLOCK_CELLS // (k ** (slots + 1)))  # the last slot's (S, K, Y) = K^(slots - 1) x K x K
    if n > block:
        return np.concatenate([expected_gain(post[i:i + block], conf, strategy, slots) for i in range(0, n, block)])
    weights = np.ones((n, 1))
    states = post[:, None, :]  # (n, S, K): posterior of each outcome sequence so far
    cond = conf.T[None, None, :, :]  # p(y | z=k) as (1, 1, K, Y)
    scores = np.empty((n, slots))
    for j in range(slots):
        if strategy == "uncertainty":
            scores[:, j] = (weights * (1.0 - states.max(axis=2))).sum(axis=1)
        joint = states[:, :, :, None] * cond  # (n, S, K, Y): p(z, y | state)
        py = joint.sum(axis=2)  # (n, S, Y)
        if strategy == "eig":
            hy = entropy_bits(py, axis=2)
            hyz = (states * entropy_bits(conf.T, axis=1)[None, None, :]).sum(axis=2)
            scores[:, j] = (weights * (hy - hyz)).sum(axis=1)
        if j + 1 < slots:
            with np.errstate(divide="ignore", invalid="ignore"):
                nxt = np.where(py[:, :, None, :] > 0, joint / py[:, :, None, :], 1.0 / k)
            states = np.moveaxis(nxt, 3, 2).reshape(n, -1, k)
            weights = (weights[:, :, None] * py).reshape(n, -1)
    return np.maximum(scores, 0.0) if strategy == "eig" else scores


def id_hash(ids: np.ndarray, seed: int) -> np.ndarray:
    """A seeded 64-bit hash of each id (integers by splitmix64, anything else by BLAKE2b of its
    text): the same id gets the same hash whatever the row order or the other ids."""
    ids = np.asarray(ids)
    salt = splitmix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF))
    if ids.dtype.kind in "iu":
        with np.errstate(over="ignore"):
            return splitmix64(ids.astype(np.int64).view(np.uint64) ^ salt)
    key = int(salt).to_bytes(8, "little")
    return np.array([int.from_bytes(hashlib.blake2b(repr(v).encode(), digest_size=8, key=key).digest(), "little")
                     for v in ids.tolist()], dtype=np.uint64)


# ------------------------------------------------------------------------------------------------
# the fitted model's workers
# ------------------------------------------------------------------------------------------------
def _errors_array(model: Any, judgments: Any) -> np.ndarray | None:
    """``errors[w, observed, true]`` from the model's ``errors_`` (any frame kind), or None."""
    if hasattr(model, "confusion_array"):  # the Dawid-Skene family: every pair, whatever the frame kind
        return model.confusion_array()
    errors = getattr(model, "errors_", None)
    if errors is None:
        return None
    w, k = judgments.n_workers, judgments.n_labels
    if errors.shape[0] not in (w * k, w * k * k):  # many labels: errors_ lists the observed pairs only
        return None
    if hasattr(errors, "reindex"):  # pandas: rows (worker, label), columns the true labels
        import pandas as pd

        index = pd.MultiIndex.from_product([judgments.worker_names.tolist(), judgments.label_names.tolist()])
        arr = errors.reindex(index=index, columns=judgments.label_names.tolist()).to_numpy(dtype=np.float64)
        arr = arr.reshape(w, k, k)
    else:  # long table in worker, label, true_label order
        from .io import to_arrow_table

        prob = to_arrow_table(errors).column("probability").to_numpy()
        arr = np.asarray(prob, dtype=np.float64).reshape(w, k, k)
    return None if not np.isfinite(arr).all() else arr


def _one_coin(accuracy: float, used: np.ndarray | None, k: int) -> np.ndarray:
    """A one-coin worker's ``[y, k]`` over the labels in use (``used``, None: all K): its errors go
    to the other labels someone gives, never to a declared label nobody gives (which made a binary
    crowd declared with labels a..d score 2.4 times the bits); a true class nobody gives is answered
    uniformly over the labels in use."""
    from .aggregator.bayesian import one_coin_matrix

    if used is None:
        return one_coin_matrix(accuracy, k)
    m = np.zeros((k, k))
    m[np.ix_(used, used)] = one_coin_matrix(accuracy, int(used.sum()))
    m[np.ix_(used, ~used)] = 1.0 / used.sum()
    return m


def _confusions(model: Any, judgments: Any, post: np.ndarray) -> tuple[np.ndarray, Any]:
    """(typical worker's confusion ``[y, k]``, worker code -> that worker's ``[y, k]``)."""
    k = judgments.n_labels
    errors = _errors_array(model, judgments)
    if errors is None:  # one-coin workers, built one at a time (W x K x K would not fit with many labels)
        acc, mean = worker_agreement(judgments, post)
        used = labels_in_use(judgments)  # the labels in use, as bds fits them
        return _one_coin(mean, used, k), lambda c: _one_coin(acc[c], used, k)
    weight = worker_counts(judgments)
    typical = np.tensordot(weight / max(weight.sum(), 1.0), errors, axes=1)
    return typical, errors.__getitem__


# ------------------------------------------------------------------------------------------------
# the public function
# ------------------------------------------------------------------------------------------------
def allocate(data: Any, budget: int, *, strategy: str = "eig", model: Any = None,
             workers: Iterable[Any] | None = None, per_task: int = 1, per_worker: int | None = None,
             window: int | None = None, random_state: Any = 0, engine: Any = None, output: str | None = None,
             task_col: str = "task", worker_col: str = "worker", label_col: str = "label", tie: Any = None,
             on_invalid: str = "raise", duplicates: str | None = None) -> Any:
    """The ``budget`` judgments to ask for next, ranked by expected gain (see the module docstring).

    Parameters
    ----------
    data : judgments (``task, worker, label``) or comparisons (``worker, left, right, label``), in
        any form :func:`galton.aggregate` reads (data loaded with ``RayEngine.load_parquet`` is read
        through its engine, while it holds it); may be None when ``model`` is a fitted model
    budget : number of rows (judgments) to return (fewer when there are not enough slots)
    strategy : "eig" (default), "uncertainty" or "uniform"
    model : None (galton's default model for the data), a model name, a fitted model (with ``data``
        None: its tasks are ranked, less those it was given gold of; with ``data``: a copy configured
        as it is, fitted on ``data``),
        or a model object to fit on ``data`` as it is configured (``DawidSkene(stopping="likelihood")``)
    workers : ids of the available workers (a list or any iterable, read once): rank (task, worker)
        pairs (pairwise data: (left, right, worker) rows, never a worker on a pair it already compared)
    per_task : at most this many rows per task (per pair of items for pairwise data: there each of a
        pair's rows carries the pair's one score, the gain of its next comparison, not a smaller gain
        per extra comparison as for categorical tasks)
    per_worker : with ``workers``, at most this many rows per worker (default: no limit)
    window : pairwise data: candidate pairs are items at most this many places apart in the ranking
        (default 5); refused for categorical data, where it would change nothing
    random_state : an integer: the seed of the fit and of the hash that orders rows of equal score
        (every strategy); None: a seed drawn from fresh OS entropy (as galton's models take None), so
        equal scores come in another order each call; a numpy Generator (or anything
        ``numpy.random.default_rng`` takes): a seed drawn from it
    engine : passed to the fit ("local", "ray" or an engine); scoring runs on the gathered posteriors
    output : "pandas", "polars" or "arrow" (anything else refused before the fit, as by ``fit``);
        default: the input's frame type (polars for a dict of columns)
    task_col, worker_col, label_col : the columns of categorical ``data`` (as in ``fit``); the
        result still names the task column ``task``
    tie, on_invalid : passed to the fit, as in ``fit``: the label that marks a tie in pairwise data
        (a tie counts as half a win for each side), and ``"drop"`` to leave out invalid rows
    duplicates : categorical data: rows that repeat a (task, worker) pair, as in ``fit``: "keep" (each
        a judgment of its own), "first", "last" (one row of each pair) or "raise"; None (default):
        keep them, with a warning when there are any. Refused for pairwise data

    Returns
    -------
    A table with one row per judgment to ask for: ``task`` (pairwise: ``left, right``), ``worker``
    (with ``workers``), ``rank`` (1 = first), ``strategy``, ``score``, ``label`` and ``confidence``
    (the current label and its posterior; pairwise: ``p_left``, the model's p(left beats right)),
    ``judgments`` (so far).
    """
    check_arguments(budget, strategy, per_task, per_worker)
    if window is not None and (isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1):
        raise ValueError(f"window must be an integer >= 1, not {window!r}")
    check_output(output)  # "dict" gave polars, any other value failed after the whole fit
    if workers is not None and not isinstance(workers, (str, bytes)):
        workers = list(workers)  # once: an iterator or generator read here was empty for the ranking
    if workers is not None and (isinstance(workers, (str, bytes)) or len(workers) == 0):
        raise ValueError(f"workers must list the ids of the available workers, not {workers!r}")  # [] crashed
    if per_worker is not None and workers is None:  # it limited nothing, silently
        raise ValueError("per_worker limits the rows given to each worker of workers=; pass workers too")
    columns = {k: v for k, v, default in (("task_col", task_col, "task"), ("worker_col", worker_col, "worker"),
                                          ("label_col", label_col, "label"))
               if v != default}  # only what differs: pairwise data has columns of its own
    if tie is not None:  # the data's errors name tie= and on_invalid= (allocate took neither: a TypeError)
        columns["tie"] = tie
    if on_invalid != "raise":
        columns["on_invalid"] = on_invalid
    if duplicates is not None:  # the warning of repeated rows names it (allocate took none: a TypeError)
        columns["duplicates"] = duplicates
    if data is None and (tie is not None or on_invalid != "raise" or duplicates is not None):
        raise ValueError("tie=, on_invalid= and duplicates= say how to read data; with data=None (a fitted model) "
                         "there is none to read: pass them to the fit, or the data with them")
    if model is None and readable_once(data):  # the kind is told from the columns: a stream, stdin or a FIFO is
        output = output or frame_kind(data)  # read here, once (it was read again for the fit, empty); rows as a file's
        data = read_once(data, ids=(*ID_COLUMNS, *(v for k, v in columns.items() if k.endswith("_col"))))
    random_state = seed_of(random_state)  # before the fit: a Generator failed after it, in the hash
    fitted = fitted_model(data, model, engine, random_state, columns, window)
    if getattr(fitted, "comparisons_", None) is not None:
        from .allocate_pairwise import pairwise_rows

        cols, kind = pairwise_rows(fitted, int(budget), strategy, int(per_task), int(window or 5), random_state,
                                   workers, per_worker)
    else:
        judgments = fitted.judgments_
        post = getattr(fitted, "posteriors_", None)
        if post is None:
            raise ValueError("the fitted model holds no posteriors (results written where the shards live); "
                             "fit without results_dir to allocate")
        kind = judgments.source_kind
        known = gold_tasks(fitted, judgments)  # the fit's gold: a task whose label is known needs no judgment
        if strategy != "uniform" and post.size:
            _warn_hard(type(fitted).__name__, judgments, post, strategy, known)
        if workers is None:
            cols = _tasks(fitted, judgments, post, int(budget), strategy, int(per_task), random_state, known)
        else:
            cols = _pairs(fitted, judgments, post, int(budget), strategy, workers, int(per_task),
                          per_worker, random_state, known)
    return _frame(cols, output or kind)


def _warn_hard(name: str, judgments: Any, post: np.ndarray, strategy: str, known: np.ndarray | None) -> None:
    """Warn where posteriors of exactly 0 or 1 make scores 0: every task (KOS's hard labels), or
    tasks judged once (vote shares: majority vote, Wawa, ZBS give one vote a probability of 1, so a
    task judged once ranked below every split task and, for eig, below uniform). Kept as the model
    says, not replaced: the confidence column and the ranking stay the model's. Tasks with gold
    (``known``) are left out: their posterior is the gold label, rightly certain."""
    hard = np.all((post == 0.0) | (post == 1.0), axis=1)
    if known is not None:
        hard = hard[~known]
        if not hard.size:  # every task has gold: nothing to rank
            return
    if hard.all():  # KOS: hard labels
        warn(f"{name} gives every task a probability of 0 or 1, so every {strategy} score is 0 and the "
             "order is the seeded tie break; allocate with a model that gives probabilities (bds, ds), or "
             "strategy='uniform'", UserWarning, stacklevel=3)
        return
    once = judgments.counts_per_task() == 1
    once = int((hard & (once if known is None else once[~known])).sum())
    if once:
        warn(f"{name} gives {once:,} task(s) judged once a probability of exactly 1 (one vote is all it "
             f"weighs), so their {strategy} score is 0, as if a second judgment could not change them, "
             "and they rank last; allocate with a model that weighs a judgment by its worker's reliability "
             "(bds, the default; glad, mace), or strategy='uniform'", UserWarning, stacklevel=3)


def _frame(cols: dict[str, Any], kind: str) -> Any:
    if kind == "pandas":
        import pandas as pd

        return pd.DataFrame({k: (pd.Series(list(v), dtype=object) if np.asarray(v).dtype == object else v)
                             for k, v in cols.items()})
    import pyarrow as pa

    # an empty object column (no row allocated) is text, as the strategy column always is, not Arrow's null type
    table = pa.table({k: pa.array(np.asarray(v).tolist(), type=None if len(v) else pa.string())
                      if np.asarray(v).dtype == object else v for k, v in cols.items()})
    if kind == "arrow":
        return table
    if kind not in ("polars", "dict"):  # "dict": the input's kind of a dict of columns (output= refuses it)
        raise ValueError(f"output must be 'pandas', 'polars' or 'arrow', not {kind!r}")
    import polars as pl

    return pl.from_arrow(table)


def _order(primary: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Indices by ``primary`` descending, then ``tiebreak`` ascending (deterministic)."""
    return np.lexsort((tiebreak, -primary))


def _tasks(model: Any, judgments: Any, post: np.ndarray, budget: int, strategy: str, per_task: int,
           seed: int, known: np.ndarray | None = None) -> dict[str, Any]:
    n, k = post.shape
    counts = judgments.counts_per_task()
    if strategy == "uniform":
        # a task's k-th slot ranks below its k - 1 others (each scores one judgment more): slots past the
        # budget are never chosen, and n x per_task of them took 47 s and 1.8 GB for per_task 100000
        per_task = min(per_task, budget)
        scores = 0.0 - (counts[:, None] + np.arange(per_task)[None, :]).astype(np.float64)  # no -0.0
    else:
        if k ** per_task > _MAX_STATES:
            raise ValueError(f"per_task={per_task} with {k} labels enumerates {k ** per_task} outcomes per "
                             f"task (limit {_MAX_STATES}); use a smaller per_task")
        typical, _ = _confusions(model, judgments, post)
        scores = expected_gain(post, typical, strategy, per_task)
    hashes = id_hash(judgments.task_names, seed)
    flat = scores.reshape(-1)
    task = np.repeat(np.arange(n), per_task)
    slot = np.tile(np.arange(per_task), n)
    if known is not None:  # a task with gold needs no judgment (uniform gave them 31% of its rows)
        keep = ~known[task]
        flat, task, slot = flat[keep], task[keep], slot[keep]
    order = np.lexsort((slot, hashes[task], -np.round(flat, 12)))[:budget]
    t = task[order]
    return {"task": judgments.task_names[t], "rank": np.arange(1, t.size + 1),
            "strategy": np.full(t.size, strategy, dtype=object), "score": flat[order], **_current(judgments, post, t),
            "judgments": counts[t]}


def _current(judgments: Any, post: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
    """The current label and its posterior of the tasks ``t`` (none on data without judgments, where
    the posterior has no label column to take a maximum of). The label by galton's one tie rule, as
    the model's ``labels_`` (a plain argmax took M-MSR's 0.5000000000000003 "b" over its label "a")."""
    from .aggregator._estimator import argmax_ties_low

    if post.shape[1] == 0:
        return {"label": judgments.label_names[:0], "confidence": np.zeros(0)}
    return {"label": judgments.label_names[argmax_ties_low(post[t])], "confidence": post[t].max(axis=1)}


def _pairs(model: Any, judgments: Any, post: np.ndarray, budget: int, strategy: str, workers: Sequence[Any],
           per_task: int, per_worker: int | None, seed: int, known: np.ndarray | None = None) -> dict[str, Any]:
    from .allocate_cells import select_cells  # candidates first: sorting every cell took 12.6 s at 5M cells

    ids = np.asarray(list(workers), dtype=object)
    codes = judgments.worker_index(ids)  # typed as the workers are: "false" is no worker True
    if (codes < 0).any():
        bad = [repr(v) for v in ids[codes < 0][:5].tolist()]
        raise ValueError(f"workers has {int((codes < 0).sum())} id(s) with no judgments in the data "
                         f"({', '.join(bad)}); their skill is unknown: leave them out")
    codes = np.unique(codes)
    n, k = post.shape
    check_cells(n, codes.size)
    counts = judgments.counts_per_task()
    typical, conf = _confusions(model, judgments, post)
    # pair score: the worker's EIG for "eig"; the task's score (then the worker's EIG) otherwise
    eig = np.empty((n, codes.size))
    for i, c in enumerate(codes.tolist()):  # one worker at a time: memory n x K, not n x W x K
        eig[:, i] = expected_gain(post, conf(c), "eig")[:, 0]
    if strategy == "eig":
        primary = eig
    elif strategy == "uncertainty":
        primary = np.broadcast_to((1.0 - post.max(axis=1))[:, None], eig.shape)
    else:
        primary = np.broadcast_to(-counts[:, None].astype(np.float64), eig.shape)
    done = np.zeros((n, codes.size), dtype=bool)
    done[judged_by(judgments, codes)] = True  # through the engine for data in its shards
    if known is not None:
        done[known] = True  # a task with gold needs no judgment
    rounded = np.round(eig, 12)  # scores equal to 12 places are ties: the hash, then the gain decides
    c = select_cells(rounded if strategy == "eig" else np.round(primary, 12), rounded,
                     id_hash(judgments.task_names, seed), done, budget, per_task, per_worker)
    t, w = c // codes.size, c % codes.size
    return {"task": judgments.task_names[t], "worker": judgments.worker_names[codes[w]],
            "rank": np.arange(1, c.size + 1), "strategy": np.full(c.size, strategy, dtype=object),
            "score": np.asarray(primary).ravel()[c] if c.size else np.zeros(0), **_current(judgments, post, t),
            "judgments": counts[t]}
