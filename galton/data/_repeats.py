"""Repeated (task, worker) rows kept as judgments of their own (``duplicates='keep'``, the default, as
crowd-kit): a model takes a worker's repeated answers on a task for independent workers' answers,
which raises the confidence and that worker's skill. A fit that was not told what to do with them
says so once (:func:`warn_repeated_pairs`); ``duplicates='keep'`` given keeps them without a word."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from .._warnings import caller_stacklevel, quieted, warn
from ._validate import MAX_EXAMPLES, example_rows, fmt_value

__all__ = ["KEEP_HINT", "REPEATS_KEY", "RISE", "one_row_per_pair", "pairs_text", "repeated_pairs",
           "warn_repeated_pairs"]

#: what to do about repeated pairs that ``duplicates="raise"`` refused (the command line's words:
#: :data:`galton.cli._common.CLI_HINTS`)
KEEP_HINT = "pass duplicates='keep' to count them as separate votes, or 'first'/'last'"

#: the :func:`galton._warnings.quiet` key of the warning (the command line's ``--duplicates keep``)
REPEATS_KEY = "repeated_pairs"


def repeated_pairs(task: np.ndarray, worker: np.ndarray,
                   n_workers: int) -> tuple[int, int, np.ndarray, np.ndarray]:
    """(rows that repeat an earlier row's (task, worker) pair, pairs repeated, and the task and
    worker codes of the first few such pairs, by task code then worker code)."""
    from ..aggregator._kernels import repeat_rows  # the aggregator's kernels import this package

    task, worker = np.asarray(task), np.asarray(worker)
    n_tasks = int(task.max()) + 1 if task.size else 0
    again = repeat_rows(task, worker, n_tasks, n_workers)
    width = max(int(n_workers), 1)
    pairs = np.unique(task[again].astype(np.int64) * width + worker[again])
    shown = pairs[:MAX_EXAMPLES]
    return int(again.sum()), int(pairs.size), shown // width, shown % width


def pairs_text(pairs: Any, n_pairs: int) -> str:
    """A few repeated (task, worker) pairs as the warnings show them, ``, ...`` when there are more of
    the ``n_pairs`` (a 1 MB id is cut)."""
    pairs = list(pairs)
    return ", ".join(f"({fmt_value(t)}, {fmt_value(w)})" for t, w in pairs) + (", ..." if n_pairs > len(pairs) else "")


#: what counting repeated rows as judgments of their own does to a model's results (the warning's words)
RISE = "its confidence and that worker's skill rise"


def warn_repeated_pairs(judgments: Any, effect: str = RISE) -> None:
    """A UserWarning when ``judgments`` (encoded, with per-judgment codes, or loaded into shards with
    their count, ``repeats``) repeat a (task, worker) pair: how many rows, a few pairs, what that
    does to the model's results (``effect``) and the ``duplicates=`` choices."""
    loaded = getattr(judgments, "repeats", None)
    if quieted(REPEATS_KEY) or (loaded is None and not hasattr(judgments, "task")) or judgments.n_judgments < 2:
        return
    if loaded is not None:  # counted by the shards (galton.workers.ingest): duplicates= belongs to the load
        n, n_pairs, pairs = loaded
        where = " to load_parquet / fit_parquet"
    else:
        n, n_pairs, task, worker = repeated_pairs(judgments.task, judgments.worker, judgments.n_workers)
        pairs, where = list(zip(judgments.task_names[task].tolist(), judgments.worker_names[worker].tolist())), ""
    if not n:
        return
    warn(
        f"{n} row(s) repeat a (task, worker) pair ({pairs_text(pairs, n_pairs)}): each counts as "
        "a judgment of its own (duplicates='keep', as crowd-kit), so the model takes a worker's repeated answers "
        f"for independent workers' and {effect}; pass duplicates='first' or "
        f"'last'{where} to keep one row of each pair (CLI: --duplicates first), or duplicates='keep' to count every "
        "row without this warning", UserWarning, stacklevel=caller_stacklevel())


def one_row_per_pair(task: np.ndarray, worker: np.ndarray, task_names: np.ndarray, worker_names: np.ndarray,
                     duplicates: str | None, rows: np.ndarray | None = None, index: Any = None,
                     effect: str | None = RISE) -> np.ndarray | None:
    """The positions of the rows that ``duplicates`` keeps of rows with these task and worker codes
    (``task_names`` / ``worker_names``: the values of the codes), as ``Judgments.from_any`` keeps
    them: None (every row) for ``"keep"`` and for None, which warns of repeated pairs
    (:func:`warn_repeated_pairs`); the first or the last row of each pair in row order for
    ``"first"`` / ``"last"``; a ValueError naming the repeated rows (``rows``: their positions in the
    input, ``index``: a pandas frame's own index) for ``"raise"``. ``effect``: the model's words for
    what the repeats do (:func:`warn_repeated_pairs`), None for a model they do not mislead (no warning)."""
    if duplicates not in (None, "keep", "first", "last", "raise"):
        raise ValueError(f"duplicates must be one of 'keep', 'first', 'last', 'raise', not {duplicates!r}")
    n_workers = max(len(worker_names), 1)
    if duplicates is None and effect is not None:
        warn_repeated_pairs(SimpleNamespace(task=task, worker=worker, n_workers=n_workers, n_judgments=len(task),
                                            task_names=np.asarray(task_names), worker_names=np.asarray(worker_names)),
                            effect)
    if duplicates in (None, "keep"):
        return None
    from ..aggregator._kernels import repeat_rows, repeated_later  # linear; the kernels import this package

    task, worker = np.asarray(task), np.asarray(worker)
    n_tasks = int(task.max()) + 1 if task.size else 0
    if duplicates == "raise":
        again = np.flatnonzero(repeat_rows(task, worker, n_tasks, n_workers))
        if again.size:
            again = again if rows is None else np.asarray(rows)[again]
            raise ValueError(f"{again.size} repeated (task, worker) pair(s) ({example_rows(again, index)}); "
                             + KEEP_HINT)
        return None
    if duplicates == "first":
        return np.flatnonzero(~repeat_rows(task, worker, n_tasks, n_workers))
    return np.flatnonzero(~repeated_later(task, worker, n_tasks, n_workers))
