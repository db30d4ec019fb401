"""``entropy_threshold``: drop the judgments of workers whose answers vary least (crowd-kit's
``crowdkit.postprocessing.entropy_threshold``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._warnings import caller_stacklevel, warn
from ..io._once import read_once
from ._coded import coded
from .data import uncertainty

__all__ = ["entropy_threshold"]

_WARNING = ("Removed >= 1/2 of answers with entropy_threshold. This might lead to poor annotation quality. "
            "Try decreasing percentile or min_answers.")


def _rows(answers: Any, keep: np.ndarray) -> Any:
    """The rows of ``answers`` where ``keep`` holds, in the input's type and order."""
    mod = type(answers).__module__.split(".")[0]
    if mod == "pandas":
        return answers[keep]
    if mod == "polars":
        import polars as pl

        return answers.filter(pl.Series(keep))
    import pyarrow as pa

    return answers.filter(pa.array(keep))


def entropy_threshold(answers: Any, workers_skills: Any = None, percentile: float = 10,
                      min_answers: int = 2) -> Any:
    """The judgments without those of the workers whose answer entropy (:func:`uncertainty` per
    worker) is at or below the ``percentile``-th percentile of the workers who gave at least
    ``min_answers`` judgments: a worker who clicks one button every time has entropy 0.

    Returns the rows of ``answers`` (pandas, polars or Arrow, in their order) that are kept; warns
    when half or more of the judgments are removed, as crowd-kit does. Workers with fewer than
    ``min_answers`` judgments are never removed. An Arrow stream (a ``pyarrow.RecordBatchReader``),
    which can be read only once, is read into one table, and the rows kept come back as a
    ``pyarrow.Table``."""
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must lie in [0, 100], not {percentile!r}")
    if type(answers).__module__.split(".")[0] not in ("pandas", "polars", "pyarrow"):
        raise TypeError("entropy_threshold returns the rows kept: give a pandas or polars frame or an Arrow table")
    answers = read_once(answers)  # a stream: its rows are filtered below, after the judgments are read
    c = coded(answers)
    j = c.judgments
    if j.n_dropped:
        raise ValueError("rows with missing values: drop them first (entropy_threshold returns the input's rows)")
    counts = np.bincount(j.worker, minlength=j.n_workers)
    eligible = counts >= min_answers
    if not eligible.any():
        return answers
    rows = eligible[j.worker]
    sub = _rows(answers, rows)
    h = uncertainty(sub, workers_skills, compute_by="worker", aggregate=False)
    if getattr(h, "ndim", 2) == 1:  # a pandas Series by worker
        workers, values = np.asarray(h.index), h.to_numpy()
    else:  # a polars / Arrow table: worker, uncertainty
        workers, values = np.asarray(h["worker"]), np.asarray(h["uncertainty"])
    removed = set(workers[values <= np.percentile(values, percentile)].tolist())
    names = j.worker_names.tolist()
    drop_worker = np.array([w in removed for w in names], dtype=bool)
    keep = ~drop_worker[j.worker]
    if int(keep.sum()) <= j.n_judgments // 2:
        warn(_WARNING, UserWarning, stacklevel=caller_stacklevel())
    return _rows(answers, keep)
