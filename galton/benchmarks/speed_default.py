"""The default model against Dawid-Skene, timed in one process (``python -m galton.benchmarks.speed
--wide`` / ``--default-1m``), the default model on a crowd of occasional workers at 32 labels and above
(``--occasional``), and the busy processes of ``--busy``: see :mod:`galton.benchmarks.speed`."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from typing import Any

import numpy as np

from ._common import fmt_seconds, load_average, markdown_table, simulate_ds, to_pandas

__all__ = ["WIDE", "WIDE_TARGET", "MILLION", "MILLION_TARGET", "ALSO", "OCCASIONAL", "OCCASIONAL_LABELS",
           "default_against_ds", "simulate_occasional", "occasional_crowd", "busy_processes", "after_idle"]


#: the wide crowd of issue 13: 37k workers, 215k judgments (43k tasks x 5), binary
WIDE = {"n_tasks": 43_000, "n_workers": 37_000, "n_classes": 2, "per_task": 5}
#: the default model within this factor of Dawid-Skene's time on the wide crowd
WIDE_TARGET = 2.0
#: the 1M-judgment set of the DS benchmark (200k tasks x 5, 1,000 workers, 4 classes)
MILLION = {"n_tasks": 200_000, "n_workers": 1_000, "n_classes": 4, "per_task": 5}
#: the default model within this factor of Dawid-Skene's time there
MILLION_TARGET = 3.0


#: the crowd of occasional workers: 20k tasks x 5 judgments by workers drawn from 100k ids (about 63k
#: workers, most with one or two judgments)
OCCASIONAL = {"n_tasks": 20_000, "per_task": 5, "n_ids": 100_000}
#: label counts of ``--occasional``: the full matrices at 32 (MANY_LABELS), one accuracy per worker above
OCCASIONAL_LABELS = (32, 33, 100, 1000)

#: models timed beside DS and the default for reference (no target): BWA, a cheap weighted vote
ALSO = ("bwa",)

#: the row of Dawid-Skene run to convergence
CONVERGED = "ds converged"


def default_against_ds(repeat: int = 3, shape: dict[str, int] | None = None, target: float = WIDE_TARGET) -> str:
    """Seconds and accuracy (against the simulated truth) of Dawid-Skene, of galton's default model
    and of :data:`ALSO` (all at their defaults) on the wide crowd (or ``shape``), and of Dawid-Skene
    run to convergence (``ds converged``: ``stopping="likelihood", tol=1e-7``, its default before
    2026-12-05; the default now stops early, as crowd-kit's), in this process after one warm-up fit
    each, the models' fits taking turns; Markdown."""
    from .. import aggregator

    shape = WIDE if shape is None else shape
    sim = simulate_ds(shape["n_tasks"], shape["n_workers"], shape["n_classes"], shape["per_task"], 0)
    frame = to_pandas(sim)
    rows, secs = [], {}
    default = aggregator.default_name("categorical")
    names = ("ds", CONVERGED, default) + tuple(m for m in ALSO if m not in ("ds", default))
    times: dict[str, list[float]] = {name: [] for name in names}
    models: dict[str, Any] = {}

    def make(name: str) -> Any:
        if name == CONVERGED:  # n_iter high enough to converge (at the default 100 it stopped at the cap)
            return aggregator.get("ds")(stopping="likelihood", tol=1e-7, n_iter=10_000)
        return aggregator.get(name)()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:  # warm-up: numba compiles or loads its cache
            make(name).fit(frame)
        # the fits take turns (ds, default, ...; again): a slow spell of the machine falls on
        # every model alike, so the ratio of the medians holds better than with one block each
        for _ in range(max(1, repeat)):
            for name in names:
                t0 = time.perf_counter()
                models[name] = make(name).fit(frame)
                times[name].append(time.perf_counter() - t0)
    for name in names:
        model = models[name]
        secs[name] = statistics.median(times[name])
        accuracy = float(np.mean(model.labels_.sort_index().to_numpy() == sim.truth))
        converged = getattr(model, "converged_", None)
        rows.append([name, f"{len(frame):,}", f"{shape['n_workers']:,}", str(getattr(model, "n_iter_", "")),
                     "-" if converged is None else ("yes" if converged else "no"),
                     fmt_seconds(secs[name]), f"{accuracy:.4f}"])
    ratio, conv = secs[default] / secs["ds"], secs[default] / secs[CONVERGED]
    text = markdown_table(["model", "judgments", "workers", "iterations", "converged", "seconds (median)",
                           "accuracy vs truth"], rows)
    return (text + f"\n\n- default / DS: {ratio:.1f}x (target <= {target:.0f}x: "
            f"{'met' if ratio <= target else 'NOT met'}); default / DS run to convergence: {conv:.1f}x "
            f"({'met' if conv <= target else 'NOT met'}); load at the end: {load_average()}\n")


def simulate_occasional(n_labels: int, shape: dict[str, int] | None = None, seed: int = 0) -> tuple[Any, np.ndarray]:
    """``(frame, truth)``: tasks with a uniform true label of ``n_labels``, each judged ``per_task``
    times by workers drawn uniformly (with replacement) from ``n_ids`` ids; worker w right with
    probability ``acc_w ~ U(0.5, 0.95)``, otherwise a uniform label (one accuracy per worker)."""
    import pandas as pd

    shape = OCCASIONAL if shape is None else shape
    rng = np.random.default_rng(seed)
    n = shape["n_tasks"] * shape["per_task"]
    truth = rng.integers(0, n_labels, shape["n_tasks"])
    task = np.repeat(np.arange(shape["n_tasks"]), shape["per_task"])
    worker = rng.integers(0, shape["n_ids"], n)
    acc = rng.uniform(0.5, 0.95, shape["n_ids"])
    label = np.where(rng.random(n) < acc[worker], truth[task], rng.integers(0, n_labels, n))
    return pd.DataFrame({"task": task, "worker": worker, "label": label}), truth


def occasional_crowd(repeat: int = 3, shape: dict[str, int] | None = None,
                     labels: tuple[int, ...] = OCCASIONAL_LABELS) -> str:
    """Galton's default model at its defaults on the crowd of occasional workers
    (:func:`simulate_occasional`) at each label count of ``labels``: the form it took (full matrices
    at 32 labels and below, one accuracy per worker above), iterations, the medians of ``repeat``
    fits' wall-clock and CPU (``time.process_time``: this process's threads) seconds, in this process
    after one warm-up fit, the label counts taking turns, the peak of memory allocated during one more
    fit (tracemalloc: numpy's arrays included, traced apart from the timed fits) and the accuracy
    against the simulated truth; Markdown."""
    from .. import aggregator

    frames = {k: simulate_occasional(k, shape) for k in labels}
    name = aggregator.default_name("categorical")
    wall: dict[int, list[float]] = {k: [] for k in labels}
    cpu: dict[int, list[float]] = {k: [] for k in labels}
    models: dict[int, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in labels:  # warm-up: numba compiles or loads its cache
            aggregator.get(name)().fit(frames[k][0])
        for _ in range(max(1, repeat)):
            for k in labels:
                t0, c0 = time.perf_counter(), time.process_time()
                models[k] = aggregator.get(name)().fit(frames[k][0])
                wall[k].append(time.perf_counter() - t0)
                cpu[k].append(time.process_time() - c0)
        peaks = {}
        for k in labels:
            tracemalloc.start()
            try:
                aggregator.get(name)().fit(frames[k][0])
                peaks[k] = tracemalloc.get_traced_memory()[1] / 2**20
            finally:
                tracemalloc.stop()
    rows = []
    for k in labels:
        frame, truth = frames[k]
        model = models[k]
        accuracy = float(np.mean(model.labels_.sort_index().to_numpy() == truth))
        rows.append([str(k), getattr(model, "confusion_", "-"), f"{len(frame):,}", f"{frame['worker'].nunique():,}",
                     str(model.n_iter_), fmt_seconds(statistics.median(wall[k])),
                     fmt_seconds(statistics.median(cpu[k])), f"{peaks[k]:.0f}", f"{accuracy:.4f}"])
    text = markdown_table(["labels", "form", "judgments", "workers", "iterations", "wall s (median)",
                           "CPU s (median)", "peak allocated MiB (one fit)", "accuracy vs truth"], rows)
    return (text + f"\n\n- model {name!r} at its defaults; {max(1, repeat)} timed fit(s) per row after a warm-up, "
            f"the rows taking turns; load at the end: {load_average()}\n")


def busy_processes(n: int) -> list[subprocess.Popen]:
    """``n`` single-threaded processes that spin until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def after_idle(repeat: int = 6, idle: float = 2.0, n_iter: int = 20, shape: dict[str, int] | None = None) -> str:
    """Dawid-Skene on the 1M-judgment set, each fit after ``idle`` seconds of sleep (as a fit that
    follows other work, or a benchmark's turn after crowd-kit's), with the parallel loops' threads
    spread over the cores (``GALTON_SPREAD_THREADS``, see ``galton.aggregator._placement``) and
    without, the two taking turns; and the same fits back to back, for reference. Markdown."""
    from .. import aggregator
    from ..aggregator._jit import get_threads

    shape = MILLION if shape is None else shape
    sim = simulate_ds(shape["n_tasks"], shape["n_workers"], shape["n_classes"], shape["per_task"], 0)
    frame = to_pandas(sim)
    times: dict[tuple[str, str], list[float]] = {}
    before = os.environ.get("GALTON_SPREAD_THREADS")

    def fit() -> float:
        model = aggregator.get("ds")(n_iter=n_iter, tol=-np.inf)
        t0 = time.perf_counter()
        model.fit(frame)
        return time.perf_counter() - t0

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit()  # numba compiles or loads its cache
            for r in range(max(1, repeat)):
                modes = ("1", "0") if r % 2 == 0 else ("0", "1")
                for mode in modes:
                    os.environ["GALTON_SPREAD_THREADS"] = mode
                    time.sleep(idle)
                    times.setdefault((mode, "idle"), []).append(fit())
                    times.setdefault((mode, "loop"), []).extend(fit() for _ in range(2))
    finally:
        if before is None:
            os.environ.pop("GALTON_SPREAD_THREADS", None)
        else:
            os.environ["GALTON_SPREAD_THREADS"] = before
    rows = []
    for mode, name in (("1", "spread (default)"), ("0", "GALTON_SPREAD_THREADS=0")):
        idle_s, loop_s = times[(mode, "idle")], times[(mode, "loop")]
        rows.append([name, fmt_seconds(statistics.median(idle_s)), f"{min(idle_s):.3f}-{max(idle_s):.3f}",
                     fmt_seconds(statistics.median(loop_s))])
    gain = statistics.median(times[("0", "idle")]) / statistics.median(times[("1", "idle")])
    text = markdown_table(["threads", f"fit after {idle:g} s idle (median)", "range", "fit back to back (median)"],
                          rows)
    return (text + f"\n\n- {repeat} fits after idle per row, {n_iter} iterations, {get_threads()} numba threads; "
            f"unspread / spread after idle: {gain:.2f}x; load at the end: {load_average()}\n")
