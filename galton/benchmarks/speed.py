"""Speed of galton against crowd-kit on simulated data, with accuracy and peak memory.

Run ``python -m galton.benchmarks.speed [--judgments N] [--models ds,glad,mmsr] [--repeat R] [--threads 1,2]
[--busy N] [--wide] [--default-1m] [--occasional] [--out FILE.md]``.

What is measured
----------------
- Data: :func:`galton.benchmarks._common.simulate_ds` (Dawid-Skene workers with full confusion
  matrices), ``judgments / 5`` tasks x 5 judgments, 1000 workers, 4 classes, seed 0; one pandas
  frame of int64 ``task, worker, label`` that both libraries fit.
- DS: ``galton DawidSkene(n_iter=20, tol=-inf)`` and ``crowdkit DawidSkene(n_iter=20, tol=-inf)``:
  exactly 20 EM iterations each (the iteration column shows what ran). Also galton's numpy path
  (``GALTON_NO_NUMBA=1``) to show what the numba kernel gains.
- GLAD: at ``--glad-judgments`` (100k) with the same fixed iteration count on both sides
  (``--glad-iter``, default 5; ``tol=-inf`` on both sides), because crowd-kit's GLAD
  takes about 10 s per iteration at 20k judgments here. Skipped when galton has no ``glad`` model yet.
- M-MSR (only with ``--models mmsr``): at ``--mmsr-judgments`` (20k: 4,000 tasks of 1,000 workers)
  with ``--mmsr-iter`` sweeps on both sides (50; ``tol=-inf`` on both sides); most of
  crowd-kit's time is its pair table, a Python loop over all worker pairs.
- Each (model, implementation) runs in its own Python subprocess: simulate, build the frame, one
  untimed 1-iteration warm-up fit on the same frame (numba compiles or loads its cache; skipped for
  crowd-kit GLAD, which has nothing to warm and costs tens of seconds per iteration), then
  ``--repeat`` timed fits; the table shows the median. The rows of a benchmark take turns: every
  subprocess stays alive and fits when told, round ``r`` being fit ``r`` of every row (the order
  reversed every other round), so that a slow or fast spell of the machine falls on galton's and
  crowd-kit's fits alike (one block of fits per row measured the same code 15-50% apart);
  ``--timeout`` stops a row's subprocess. ``--in-process`` runs every row in this process instead,
  one after the other (no ``--timeout``; the report says so). Each timed fit starts once no other
  task is runnable (the ``--busy`` processes excepted; at most a second's wait): OpenBLAS keeps its
  threads spinning for about 0.1 s after a large product, and a thread left spinning by crowd-kit's
  fit took a core from the next row's fit.
- Seconds: wall clock of ``fit`` (pandas frame in, labels out: galton's encoding is included).
- Threads: galton's rows run with numba's default thread count; ``--threads 1,2`` adds a DS row per
  count. ``--busy N`` keeps N single-threaded busy processes running for the whole run (every row,
  crowd-kit's too; the fits of ``--wide``, ``--default-1m`` and ``--after-idle`` too), the "one
  other busy process" case. The machine's load average (``os.getloadavg()``) is printed at the
  start and at the end.
- Floor (DS, numba): after the timed fits, one E-step of the fitted model on the same data (one
  shard, the final parameters) and one floor pass on the same arrays and threads: a compiled pass
  that reads every judgment once and adds its K table entries (no exp;
  :mod:`galton.benchmarks._floor`); medians of 5 runs each, and their ratio (target: within 3x).
- ``--wide``: only the wide crowd (37k workers, 215k judgments, binary): Dawid-Skene against galton's
  default model, both at their defaults, median of ``--repeat`` fits in this process, the models'
  fits taking turns (target: the default within 2x of DS).
- ``--default-1m``: the same comparison on the 1M-judgment set (200k tasks x 5, 1,000 workers, 4
  classes; target: the default within 3x of DS at its default, which stops early as crowd-kit's; a
  row of DS run to convergence stands beside it, with its own ratio).
- ``--occasional``: only galton's default model on a crowd of occasional workers (20k tasks x 5
  judgments by workers drawn from 100k ids: about 63k workers, most with one or two judgments) at
  32, 33, 100 and 1,000 labels (full confusion matrices at 32, one accuracy per worker above):
  medians of ``--repeat`` fits' wall-clock and CPU seconds in this process, the label counts taking
  turns, and the peak memory allocated in one more fit (tracemalloc).
- Memory: the subprocess's peak resident set size (VmHWM from /proc/self/status, reset through
  /proc/self/clear_refs just before the timed fits; ru_maxrss where that is unavailable) and its
  increase over the resident size just before the fits. Data and imported libraries are included
  in the peak, not in the increase.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any, Sequence

from ._common import (at_least_one, emit, fmt_float, fmt_ratio, fmt_seconds, load_average, markdown_table,
                      simulate_ds, split_names, to_pandas)
from .speed_jobs import N_CLASSES, N_WORKERS, PER_TASK, Job, JobResult, child_turns_main, run_in_turns, run_job
from .speed_default import (MILLION, MILLION_TARGET, WIDE, WIDE_TARGET, after_idle, busy_processes, default_against_ds,
                            occasional_crowd)

__all__ = ["Job", "JobResult", "TARGETS", "make_jobs", "run_job", "run_jobs", "run_in_turns",
           "speedups", "render", "main", "default_against_ds", "after_idle", "WIDE", "WIDE_TARGET", "MILLION", "simulate_ds",
           "to_pandas", "N_WORKERS", "N_CLASSES", "PER_TASK", "occasional_crowd"]

log = logging.getLogger("galton.benchmarks.speed")

#: speed-up over crowd-kit the project aims for, per benchmark
TARGETS = {"ds": 50.0, "glad": 100.0, "mmsr": 50.0}
#: DS speed-up over crowd-kit aimed for with one other busy process on the machine (``--busy 1``)
BUSY_TARGET = 30.0
#: the E-step within this factor of the floor pass
FLOOR_TARGET = 3.0
def make_jobs(models: Sequence[str] = ("ds", "glad"), judgments: int = 1_000_000, repeat: int = 1,
              ds_iter: int = 20, glad_judgments: int = 100_000, glad_iter: int = 5, numpy: bool = True,
              crowdkit: bool = True, galton_models: Sequence[str] | None = None,
              threads: Sequence[int] = (), mmsr_judgments: int = 20_000,
              mmsr_iter: int = 50) -> tuple[list[Job], list[str]]:
    """The jobs to run and notes about what was left out (M-MSR runs only when asked: crowd-kit's
    takes about a minute on 20k judgments of 1,000 workers, its pair table a Python loop)."""
    if galton_models is None:
        from .. import aggregator

        galton_models = aggregator.names()
    jobs: list[Job] = []
    notes: list[str] = []
    for bench in models:
        if bench not in TARGETS:
            raise ValueError(f"unknown speed benchmark {bench!r}; choose from {', '.join(TARGETS)}")
        if bench not in galton_models:
            notes.append(f"{bench}: galton has no model registered as {bench!r} yet; benchmark skipped")
            continue
        n, it = {"ds": (judgments, ds_iter), "glad": (glad_judgments, glad_iter),
                 "mmsr": (mmsr_judgments, mmsr_iter)}[bench]
        impls = ["galton"] + (["galton-numpy"] if numpy and bench == "ds" else []) + (["crowdkit"] if crowdkit else [])
        for impl in impls:
            jobs.append(Job(bench, impl, n, it, repeat, warmup=not (impl == "crowdkit" and bench != "ds")))
            if impl == "galton" and bench == "ds":
                jobs += [Job(bench, impl, n, it, repeat, threads=t) for t in threads]
    return jobs, notes


def run_jobs(jobs: Sequence[Job], isolate: bool = True, timeout: float | None = None,
             busy: int = 0) -> list[JobResult]:
    """The jobs' results, in their order: with ``isolate``, each benchmark's rows in subprocesses whose
    fits take turns (:func:`run_in_turns`; ``busy``: the busy processes kept on purpose); else one
    job after the other in this process."""
    found: dict[int, JobResult] = {}
    for bench in dict.fromkeys(job.bench for job in jobs):
        group = [i for i, job in enumerate(jobs) if job.bench == bench]
        for i in group:
            job = jobs[i]
            log.info("%s %s: %s judgments, %s iterations", job.bench, job.impl, f"{job.judgments:,}", job.n_iter)
        if isolate:
            found.update(zip(group, run_in_turns([jobs[i] for i in group], timeout, busy)))
        else:
            for i in group:
                try:
                    found[i] = run_job(jobs[i])
                except Exception as exc:  # noqa: BLE001
                    found[i] = JobResult(jobs[i], error=f"{type(exc).__name__}: {exc}")
        for i in group:
            res = found[i]
            log.info("  %s %s -> %s", res.job.bench, res.job.impl, res.error or f"{fmt_seconds(res.median)} s")
    return [found[i] for i in range(len(jobs))]


def speedups(results: Sequence[JobResult]) -> dict[int, float | None]:
    """Row index -> crowd-kit's median seconds / this row's median seconds (same benchmark)."""
    ck = {r.job.bench: r.median for r in results if r.job.impl == "crowdkit" and r.median}
    return {i: (ck[r.job.bench] / r.median if r.median and r.job.bench in ck else None)
            for i, r in enumerate(results)}


def _numba_gain(results: Sequence[JobResult]) -> float | None:
    by = {(r.job.bench, r.job.impl): r.median for r in results if r.job.threads is None}
    fast, slow = by.get(("ds", "galton")), by.get(("ds", "galton-numpy"))
    return slow / fast if fast and slow else None


def render(results: Sequence[JobResult], notes: Sequence[str] = (), busy: int = 0, isolate: bool = True) -> str:
    """The Markdown report; ``isolate``: whether the rows ran in subprocesses taking turns (False:
    ``--in-process``, one row after the other in this process), as the notes then say."""
    ups = speedups(results)
    header = ["benchmark", "implementation", "threads", "judgments", "iterations", "seconds", "s / iteration",
              "speed-up vs crowd-kit", "E-step s", "floor s", "E-step / floor", "judgments / s (E-step)",
              "accuracy vs truth", "peak RSS (MiB)", "RSS increase in fit (MiB)"]
    rows = []
    for i, r in enumerate(results):
        impl = r.job.impl + (" (numba)" if r.job.impl == "galton" and r.numba else "")
        threads = str(r.threads) if r.threads else ("1" if r.job.impl != "galton" else "n/a")
        if r.error:
            rows.append([r.job.bench.upper(), impl, threads, f"{r.job.judgments:,}"] + ["n/a"] * 11)
            continue
        per_it = r.median / r.iterations if r.median is not None and r.iterations else None
        ratio = r.estep_s / r.floor_s if r.estep_s and r.floor_s else None
        rate = f"{r.job.judgments / r.estep_s:,.0f}" if r.estep_s else "n/a"
        rows.append([r.job.bench.upper(), impl, threads, f"{r.job.judgments:,}", str(r.iterations),
                     fmt_seconds(r.median), fmt_seconds(per_it), fmt_ratio(ups.get(i)),
                     fmt_seconds(r.estep_s), fmt_seconds(r.floor_s), fmt_ratio(ratio), rate,
                     fmt_float(r.accuracy), fmt_float(r.peak_mib, 0), fmt_float(r.fit_increase_mib, 0)])
    parts = ["# Speed: galton versus crowd-kit on simulated data", markdown_table(header, rows)]
    lines = []
    default_rows = [r for r in results if r.job.impl == "galton" and r.job.threads is None]
    for bench, target in TARGETS.items():
        if bench == "ds" and busy:
            target = BUSY_TARGET
        for i, r in enumerate(results):
            if r.job.bench == bench and r.job.impl == "galton" and r.job.threads is None and ups.get(i):
                up = ups[i]
                lines.append(f"{bench.upper()}: galton is {fmt_ratio(up)} faster than crowd-kit (target >= "
                             f"{target:.0f}x{' with a busy process' if busy and bench == 'ds' else ''}: "
                             f"{'met' if up >= target else 'NOT met'})")
    for r in default_rows:
        if r.estep_s and r.floor_s:
            ratio = r.estep_s / r.floor_s
            lines.append(f"DS E-step / floor: {ratio:.2f}x (target <= {FLOOR_TARGET:.0f}x: "
                         f"{'met' if ratio <= FLOOR_TARGET else 'NOT met'})")
    gain = _numba_gain(results)
    if gain is not None:
        lines.append(f"DS: the numba kernel is {fmt_ratio(gain)} faster than galton's numpy path "
                     "(GALTON_NO_NUMBA=1)")
    threads = {r.threads for r in results if r.threads}
    reps = {r.job.repeat for r in results}
    sources = {r.memory_source for r in results if r.memory_source}
    lines.append(f"seconds: median of {', '.join(map(str, sorted(reps)))} timed fit(s) after an untimed "
                 "1-iteration warm-up (none for crowd-kit GLAD); "
                 + ("each row in its own subprocess, the rows' fits taking turns (round r: fit r of every row, "
                    "the order reversed every other round)" if isolate else
                    "every row in this process (--in-process), one row's fits after the other's"))
    if threads:
        from ..aggregator._jit import follows_load

        lines.append(f"numba threads: {', '.join(map(str, sorted(threads)))} configured; CPU cores: {os.cpu_count()}"
                     + ("; each parallel loop takes at most the cores no other runnable task holds at its start "
                        "(GALTON_FOLLOW_LOAD=0 keeps the configured count)" if follows_load() else
                        "; the configured count whatever the load (GALTON_FOLLOW_LOAD=0, or this process is "
                        "pinned to some CPUs or under a CPU quota)"))
    if busy:
        lines.append(f"{busy} busy single-threaded process(es) ran during every row")
    lines.append(f"memory: peak RSS from {', '.join(sorted(sources)) or 'n/a'}, reset just before the timed "
                 "fits; the increase is over the RSS just before them (data and imports excluded)"
                 + ("" if isolate else "; in one process an earlier row's memory, freed and kept, is reused"))
    warm = [f"{r.job.bench}/{r.job.impl} {r.warmup_seconds:.2f} s" for r in results if r.warmup_seconds is not None]
    if warm:
        lines.append("warm-up fit (1 iteration, includes numba compilation or cache load): " + ", ".join(warm))
    lines += [f"{r.job.bench}/{r.job.impl}: {r.error}" for r in results if r.error]
    lines += list(notes)
    parts.append("\n".join(f"- {ln}" for ln in lines))
    return "\n\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.speed", description=__doc__.split("\n")[0])
    p.add_argument("--judgments", type=int, default=1_000_000, help="judgments for DS (5 per task)")
    p.add_argument("--models", nargs="+", default=["ds,glad"], help="benchmarks to run: ds, glad, mmsr")
    p.add_argument("--repeat", type=at_least_one, default=5,
                   help="timed fits per row (the median is shown; default 5)")
    p.add_argument("--ds-iter", type=int, default=20, help="EM iterations of DS on both sides")
    p.add_argument("--glad-judgments", type=int, default=100_000, help="judgments for GLAD")
    p.add_argument("--glad-iter", type=int, default=5, help="EM iterations of GLAD on both sides")
    p.add_argument("--mmsr-judgments", type=int, default=20_000, help="judgments for M-MSR")
    p.add_argument("--mmsr-iter", type=int, default=50, help="M-MSR sweeps on both sides")
    p.add_argument("--no-numpy", action="store_true", help="skip galton's numpy path")
    p.add_argument("--no-crowdkit", action="store_true", help="skip crowd-kit")
    p.add_argument("--in-process", action="store_true", help="no subprocesses (memory numbers then mix)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds allowed per row (its subprocess is stopped; not with --in-process)")
    p.add_argument("--threads", default="", help="extra galton DS rows at these numba thread counts, e.g. 1,2")
    p.add_argument("--busy", type=int, default=0,
                   help="busy single-threaded processes during the run (with --wide, --default-1m and "
                        "--after-idle too)")
    p.add_argument("--default-1m", action="store_true",
                   help="only DS against the default model on the 1M-judgment set: both at their defaults (DS "
                        "stops early, as crowd-kit's; the ratio uses this row), and DS run to convergence")
    p.add_argument("--wide", action="store_true",
                   help="only the wide crowd: DS against the default model on 37k workers, 215k judgments")
    p.add_argument("--occasional", action="store_true",
                   help="only the default model on a crowd of occasional workers (about 63k workers, 100k "
                        "judgments) at 32, 33, 100 and 1,000 labels")
    p.add_argument("--after-idle", action="store_true",
                   help="only DS at 1M judgments fitted after idle spells, threads spread over the cores or not")
    p.add_argument("--out", help="also write the Markdown report to this file (atomically)")
    p.add_argument("--child-turns", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_turns:
        return child_turns_main(args.child_turns)
    if args.in_process and not args.no_numpy:  # GALTON_NO_NUMBA is read at import: one process has one path
        p.error("--in-process measures galton's numba path only: add --no-numpy (the numpy row needs a "
                "subprocess with GALTON_NO_NUMBA=1)")
    if args.in_process and args.timeout is not None:  # it was ignored: a fit in this process cannot be stopped
        p.error("--timeout stops a row's subprocess; --in-process runs every row in this process, where a "
                "fit cannot be stopped: drop one of them")
    if args.busy < 0:
        p.error(f"--busy: expected a number of processes of at least 0, not {args.busy}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if args.wide or args.after_idle or args.default_1m or args.occasional:
        return emit(_one_comparison(args), args.out)
    threads = [int(t) for t in split_names([args.threads]) or []] if args.threads else []
    jobs, notes = make_jobs(split_names(args.models) or [], args.judgments, args.repeat, args.ds_iter,
                            args.glad_judgments, args.glad_iter, not args.no_numpy, not args.no_crowdkit,
                            threads=threads, mmsr_judgments=args.mmsr_judgments, mmsr_iter=args.mmsr_iter)
    notes.append(f"load average (1, 5, 15 min) at the start: {load_average()}")
    spinners = busy_processes(args.busy)
    t0 = time.perf_counter()
    try:
        results = run_jobs(jobs, isolate=not args.in_process, timeout=args.timeout, busy=args.busy)
    finally:
        _stop(spinners)
    notes.append(f"load average at the end: {load_average()}")
    notes.append(f"whole run: {time.perf_counter() - t0:.0f} s wall clock")
    return emit(render(results, notes, busy=args.busy, isolate=not args.in_process), args.out)


def _one_comparison(args: argparse.Namespace) -> str:
    """The report of ``--wide``, ``--after-idle``, ``--default-1m`` or ``--occasional``, with the ``--busy`` processes
    running (they were started for the main table's rows only)."""
    start = load_average()
    spinners = busy_processes(args.busy)
    try:
        if args.wide:
            title, body = "The wide crowd", default_against_ds(args.repeat)
        elif args.occasional:
            title, body = "The default model on occasional workers, 32 labels and above", occasional_crowd(args.repeat)
        elif args.after_idle:
            title, body = "DS at 1M judgments after idle spells", after_idle(max(args.repeat, 2))
        else:
            title, body = ("The default model against DS at 1M judgments",
                           default_against_ds(args.repeat, MILLION, MILLION_TARGET))
    finally:
        _stop(spinners)
    busy = f"- {args.busy} busy single-threaded process(es) ran during every fit\n" if args.busy else ""
    return f"# {title}\n\n- load at the start: {start}\n{busy}\n" + body


def _stop(procs: Sequence[Any]) -> None:
    for proc in procs:
        proc.kill()
        proc.wait()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
