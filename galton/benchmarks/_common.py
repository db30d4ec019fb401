"""Shared helpers of the benchmark scripts: a Dawid-Skene simulator, timing, peak memory, tables.

Everything here is plain numpy and the standard library (pandas only in :func:`to_pandas`), so the
benchmark scripts and their tests can import it without the models or crowd-kit.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

__all__ = [
    "emit",
    "SimulatedDS",
    "load_average",
    "simulate_ds",
    "to_pandas",
    "timed",
    "reset_peak_rss",
    "peak_rss_mib",
    "current_rss_mib",
    "fmt_float",
    "fmt_seconds",
    "fmt_ratio",
    "mean_or_none",
    "markdown_table",
    "parse_markdown_table",
    "write_atomic",
    "split_names",
    "at_least_one",
]


# ------------------------------------------------------------------------------------ simulation
class SimulatedDS(NamedTuple):
    """Judgments drawn from a Dawid-Skene model (all codes are int32, ids are ``0..n-1``).

    Attributes
    ----------
    task, worker, label : (n_judgments,) int32
        One row per judgment, sorted by task; every task has ``judgments_per_task`` distinct workers.
    truth : (n_tasks,) int32
        The true class of each task.
    accuracy : (n_workers,) float
        Each worker's probability of answering the true class, whatever the class (the diagonal of
        its confusion matrix).
    confusion : (n_workers, K, K) float
        ``confusion[w, k, l] = p(worker w answers l | true class k)``; rows sum to one.
    """

    task: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    truth: np.ndarray
    accuracy: np.ndarray
    confusion: np.ndarray


def _distinct_workers(rng: np.random.Generator, n_tasks: int, n_workers: int, r: int) -> np.ndarray:
    """(n_tasks, r) worker codes, distinct within each row, uniform over all r-subsets' orderings."""
    if 2 * r > n_workers:  # dense regime: a random permutation prefix per task
        return np.argsort(rng.random((n_tasks, n_workers)), axis=1)[:, :r].astype(np.int32)
    out = rng.integers(0, n_workers, size=(n_tasks, r), dtype=np.int32)
    while True:  # redraw the (few) rows with a repeated worker until none is left
        s = np.sort(out, axis=1)
        bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
        if bad.size == 0:
            return out
        out[bad] = rng.integers(0, n_workers, size=(bad.size, r), dtype=np.int32)


def simulate_ds(n_tasks: int, n_workers: int, n_classes: int, judgments_per_task: int,
                seed: int | None = 0, *, accuracy: tuple[float, float] = (0.55, 0.95)) -> SimulatedDS:
    r"""Draw judgments from a Dawid-Skene model.

    Generative model::

        z_t ~ Uniform{0..K-1}                          true class of task t
        a_w ~ Uniform(accuracy[0], accuracy[1])        accuracy of worker w
        e_w[k, :] = a_w on the diagonal, (1 - a_w) * Dirichlet(1) over the other K - 1 classes
        W_t = judgments_per_task distinct workers drawn uniformly
        y_tw | z_t = k ~ Categorical(e_w[k, :])        for w in W_t

    so each worker has a full (not one-coin) confusion matrix whose correct-answer rate is ``a_w``
    for every class. Seeded with ``np.random.SeedSequence(seed)``, one spawned stream per part
    (truth, worker parameters, assignment, answers): the same seed gives the same data.

    Parameters
    ----------
    n_tasks, n_workers, n_classes, judgments_per_task : int
        Sizes; ``n_tasks * judgments_per_task`` judgments in all.
    seed : int or None
        Entropy of the ``SeedSequence``.
    accuracy : (low, high)
        Range of the workers' accuracies.

    Returns
    -------
    SimulatedDS
    """
    if min(n_tasks, n_workers, judgments_per_task) < 1 or n_classes < 2:
        raise ValueError("simulate_ds needs n_tasks, n_workers, judgments_per_task >= 1 and n_classes >= 2")
    if judgments_per_task > n_workers:
        raise ValueError(
            f"judgments_per_task={judgments_per_task} > n_workers={n_workers}: each task needs that "
            "many distinct workers; lower judgments_per_task or add workers"
        )
    lo, hi = accuracy
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"accuracy range must satisfy 0 <= low <= high <= 1, not {accuracy}")
    k = n_classes
    s_truth, s_work, s_assign, s_answer = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    truth = s_truth.integers(0, k, size=n_tasks, dtype=np.int32)
    acc = s_work.uniform(lo, hi, size=n_workers)
    off = s_work.dirichlet(np.ones(k - 1), size=(n_workers, k)) * (1.0 - acc)[:, None, None]
    confusion = np.empty((n_workers, k, k))
    idx = np.arange(k)
    for c in range(k):  # row c: accuracy on the diagonal, the rest spread over the other classes
        confusion[:, c, c] = acc
        confusion[:, c, idx[idx != c]] = off[:, c]
    workers = _distinct_workers(s_assign, n_tasks, n_workers, judgments_per_task).ravel()
    task = np.repeat(np.arange(n_tasks, dtype=np.int32), judgments_per_task)
    cum = np.cumsum(confusion, axis=2)
    cum[:, :, -1] = 1.0
    u = s_answer.random(task.size)
    rows = cum[workers, truth[task]]  # (n_judgments, K) cumulative answer distribution
    label = np.minimum((u[:, None] >= rows).sum(axis=1), k - 1).astype(np.int32)
    return SimulatedDS(task, workers.astype(np.int32), label, truth, acc, confusion)


def to_pandas(sim: SimulatedDS) -> Any:
    """The judgments as a pandas frame ``task, worker, label`` of int64 ids (crowd-kit's input)."""
    import pandas as pd

    return pd.DataFrame({"task": sim.task.astype(np.int64), "worker": sim.worker.astype(np.int64),
                         "label": sim.label.astype(np.int64)})


# ------------------------------------------------------------------------------------ timing, memory
def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[Any, list[float]]:
    """Run ``fn`` ``repeat`` times; return its last result and the wall-clock seconds of each run."""
    times: list[float] = []
    result = None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, times


def fits_in_turns(fits: dict[str, Callable[[], Any]], repeat: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Fits of one process taking turns: a warm-up of each, then ``repeat`` rounds of one timed fit
    each (so the machine's slow and fast spells fall on every side alike), then one more fit each
    for its peak memory growth in MiB (in one process memory freed and kept is reused: lower bounds).
    Warnings are silenced. Returns the seconds per side and the peak growth per side."""
    import warnings

    times: dict[str, list[float]] = {side: [] for side in fits}
    peaks: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fit in fits.values():
            fit()  # warm-up (numba's compilation, first imports)
        for _ in range(repeat):
            for side, fit in fits.items():
                t0 = time.perf_counter()
                fit()
                times[side].append(time.perf_counter() - t0)
        for side, fit in fits.items():
            reset_peak_rss()
            before = peak_rss_mib()[0]
            fit()
            peaks[side] = max(peak_rss_mib()[0] - before, 0.0)
    return times, peaks


def _status_kib(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (Linux: ``5`` to /proc/self/clear_refs).

    Returns True when it worked; then :func:`peak_rss_mib` measures from now on, otherwise it
    measures from the start of the process."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> tuple[float, str]:
    """Peak resident set size of this process in MiB and where it was read from; NaN and ``""``
    where neither Linux's /proc nor the ``resource`` module is there (Windows)."""
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm / 1024.0, "VmHWM"
    try:  # here, not at the top: Windows has no resource module, and every benchmark failed to import
        import resource
    except ImportError:
        return float("nan"), ""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (maxrss / 1024.0 / 1024.0 if sys.platform == "darwin" else maxrss / 1024.0), "ru_maxrss"


def current_rss_mib() -> float:
    """Current resident set size in MiB (NaN where /proc is missing)."""
    rss = _status_kib("VmRSS")
    return float("nan") if rss is None else rss / 1024.0


# ------------------------------------------------------------------------------------ formatting
def fmt_float(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def fmt_seconds(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def fmt_ratio(x: float | None) -> str:
    return "n/a" if x is None or math.isnan(x) or math.isinf(x) else f"{x:.1f}x"


def mean_or_none(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.fmean(vals) if vals else None


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]],
                   align: Sequence[str] | None = None) -> str:
    """A GitHub Markdown table; ``align`` holds ``"l"`` or ``"r"`` per column (default: first
    column left, the rest right)."""
    if align is None:
        align = ["l"] + ["r"] * (len(header) - 1)
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    for row in cells:
        if len(row) != len(header):
            raise ValueError(f"row {row} has {len(row)} cells, the header {len(header)}")
    width = [max(3, *(len(r[i]) for r in cells)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if a == "l" else c.rjust(w)
                                 for c, w, a in zip(row, width, align)) + " |"

    rule = "|" + "|".join((":" + "-" * (w + 1)) if a == "l" else ("-" * (w + 1) + ":")
                          for w, a in zip(width, align)) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def parse_markdown_table(text: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the first Markdown table in ``text`` (cells stripped)."""
    lines = [ln.strip() for ln in text.splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    block = []
    for ln in lines[start:]:
        if not ln.startswith("|"):
            break
        block.append([c.strip() for c in ln.strip("|").split("|")])
    return block[0], block[2:]


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and one rename, so a
    reader never sees a half-written report. The file gets the mode of the one it replaces, else
    0666 less the umask, as galton's own writers give theirs (a temporary from ``mkstemp`` made
    every report 0600)."""
    from ..io._temporaries import create_temp_file, untrack

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_file(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        untrack(tmp)
    return path


def split_names(values: Sequence[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``; None stays None."""
    if values is None:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def at_least_one(text: str) -> int:
    """argparse type of a count such as ``--repeat``: a whole number of at least 1 (``--repeat 0``
    crashed at the median of no fits, or printed "median of 0 fit(s)")."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {value}")
    return value


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes (``os.getloadavg()``), for reports that
    must say how busy the machine was; ``"n/a"`` where the platform has none."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except (AttributeError, OSError):  # pragma: no cover - no load average on this platform
        return "n/a"


def emit(text: str, out: str | os.PathLike[str] | None = None) -> int:
    """A benchmark's report: to stdout and, given ``out``, atomically to that file, ending in a newline
    in both (a table that ended without one left the shell prompt on its last line); returns 0 (the
    exit status of a benchmark's ``main``)."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if out:
        write_atomic(out, text)
    return 0
