"""Dawid-Skene at scale on Ray: 100M judgments end to end, shard speed-up, Ray overhead.

Run::

    python -m galton.benchmarks.scale [--mode scale|speedup|overhead|all] [--judgments 100M]
        [--tasks N] [--per-task 10] [--workers 1000] [--classes 2] [--iters 20] [--shards N]
        [--data DIR] [--out FILE.md]

Modes
-----
``scale`` (the shape of spark-crowd's largest data set: 10M tasks x 10 judgments, 1000 workers,
binary): simulate the judgments to a Parquet directory with :func:`galton.workers.simulate.simulate`
(reported, not counted in the fit; an existing directory with the same configuration is reused),
then Dawid-Skene with ``--iters`` iterations (``tol=-inf``) end to end: distributed ingest (read,
encode, shard: ``RayEngine.load_parquet``), the fit, and labels written as a Parquet directory by
the shard actors. Printed: the time of each phase, the per-iteration time (the E-step over all
shards, from the driver) against a plain numpy pass over the same arrays in the same actors (sums
of the arrays the E-step reads plus a write of the posterior array: the memory-bandwidth floor),
and the peak memory of all processes together: the driver and every Ray process (its children),
sampled by a thread every 0.25 s. Two sums are reported: PSS (proportional set size: shared pages,
such as Ray's object store, divided among the processes that map them — the physical memory used)
and RSS (shared pages counted once per process that maps them: an upper bound).
Targets: end to end under 60 s (issue 13), peak under 12 GB.

``speedup``: per-iteration time of the E-step on ``--judgments`` (default 10M) judgments held in
one shard (one actor, one core) and in two shards (two actors); target >= 1.6x on 2 cores.

``overhead``: ``DawidSkene().fit(frame, engine="ray")`` against the local engine on 10k judgments,
Ray already up and actors warm (median of 5 fits each); target < 1 s per fit.

The machine may be shared: the load average before and after each mode is printed with it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._common import at_least_one, load_average, markdown_table, write_atomic

__all__ = ["MemorySampler", "parse_count", "run_scale", "run_speedup", "run_overhead", "main"]

TARGETS = {"end_to_end_s": 60.0, "peak_gb": 12.0, "speedup": 1.6, "overhead_s": 1.0}


def parse_count(text: str) -> int:
    """``"100M"`` -> 100_000_000 (suffixes k, M, G; underscores allowed)."""
    t = str(text).strip().replace("_", "")
    mult = {"k": 10**3, "K": 10**3, "m": 10**6, "M": 10**6, "g": 10**9, "G": 10**9}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


# ------------------------------------------------------------------------------------ memory
class MemorySampler(threading.Thread):
    """Peak of the summed PSS and RSS of this process and all its descendants (Ray's processes
    when this process started Ray), overall and per phase."""

    def __init__(self, interval: float = 0.25):
        super().__init__(daemon=True)
        self.interval = interval
        self.phase = "start"
        self.peak: dict[str, tuple[float, float]] = {}  # phase -> (pss bytes, rss bytes)
        self._halt = threading.Event()

    def sample(self) -> tuple[float, float]:
        import psutil

        me = psutil.Process()
        pss = rss = 0.0
        for p in [me, *me.children(recursive=True)]:
            try:
                m = p.memory_full_info()
                pss += getattr(m, "pss", m.rss)
                rss += m.rss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return pss, rss

    def run(self) -> None:
        while not self._halt.is_set():
            pss, rss = self.sample()
            old = self.peak.get(self.phase, (0.0, 0.0))
            self.peak[self.phase] = (max(old[0], pss), max(old[1], rss))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def overall(self) -> tuple[float, float]:
        return (max((v[0] for v in self.peak.values()), default=0.0),
                max((v[1] for v in self.peak.values()), default=0.0))


def _gb(x: float) -> str:
    return f"{x / 1e9:.2f}"


# ------------------------------------------------------------------------------------ engine with timings
def _timed_engine_class() -> Any:
    from ..workers.engine import RayEngine

    class TimedRayEngine(RayEngine):
        """Records the wall time of every engine call by function name."""

        def __init__(self, *args: Any, **kw: Any):
            super().__init__(*args, **kw)
            self.calls: list[tuple[str, float]] = []

        def map(self, fn: Any, *args: Any) -> list[Any]:
            t = time.perf_counter()
            try:
                return super().map(fn, *args)
            finally:
                self.calls.append((getattr(fn, "__name__", type(fn).__name__), time.perf_counter() - t))

        def seconds(self, name: str) -> list[float]:
            return [s for n, s in self.calls if n == name]

    return TimedRayEngine


def numpy_pass(shard: Any) -> float:
    """Engine function: one plain numpy pass over the arrays a Dawid-Skene E-step reads (``indptr``,
    ``wl``, ``gold``) plus a write of the posterior array; returns its seconds in the actor."""
    t = time.perf_counter()
    total = int(shard.wl.sum(dtype=np.int64)) + int(shard.indptr[-1]) + int(shard.indptr.sum())
    total += int(shard.gold.sum(dtype=np.int64))
    post = np.empty((shard.n_tasks, shard.n_labels))
    post.fill(total % 7)
    return time.perf_counter() - t


class CpuTimed:
    """Engine function wrapper: ``(fn(shard, *args), CPU seconds of the calling thread)``."""

    def __init__(self, fn: Any):
        self.fn = fn

    def __call__(self, shard: Any, *args: Any) -> tuple[Any, float]:
        t = time.thread_time()
        out = self.fn(shard, *args)
        return out, time.thread_time() - t


def _warm_wl(shard: Any, rows: Any = None) -> int:
    """Builds the cached worker*K+label array (and, given the fit's ``rows``, the table row of
    each judgment) outside the timings."""
    if rows is not None:
        from ..aggregator._pairs import pair_codes

        return int(pair_codes(shard, rows).size)
    return int(shard.wl.size)


def _median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


# ------------------------------------------------------------------------------------ scale
def _simulate(args: argparse.Namespace, directory: Path, n_tasks: int) -> tuple[float, str]:
    """Simulate into ``directory`` unless it already holds this configuration; (seconds, note)."""
    from ..datasets.simulate import CrowdConfig
    from ..workers.simulate import simulate

    cfg = CrowdConfig(n_tasks=n_tasks, n_workers=args.workers, n_classes=args.classes,
                      judgments_per_task=args.per_task, accuracy_mean=0.7, accuracy_spread=0.1,
                      seed=args.seed)
    cfg_file = directory / "config.json"
    if cfg_file.exists() and json.loads(cfg_file.read_text()) == cfg.to_dict():
        return float("nan"), "reused"
    summary = simulate(cfg, directory, overwrite=True)
    return summary.seconds, f"{summary.n_judgments:,} judgments in {summary.n_files} files"


def run_scale(args: argparse.Namespace) -> str:
    from ..aggregator import DawidSkene
    from ..workers.cluster import connect

    n_judgments = parse_count(args.judgments)
    n_tasks = args.tasks or n_judgments // args.per_task
    data_dir = Path(args.data or f"/tmp/galton-scale-{n_tasks}x{args.per_task}-w{args.workers}-k{args.classes}")
    out_dir = data_dir.parent / f"{data_dir.name}-labels"
    load_before = load_average()
    info = connect(args.address)
    sampler = MemorySampler()
    sampler.start()
    sampler.phase = "simulate"
    sim_s, sim_note = _simulate(args, data_dir, n_tasks)
    rows: list[list[Any]] = [["simulate to Parquet (not in the fit)", "-" if sim_s != sim_s else f"{sim_s:.1f}",
                              sim_note]]
    Engine = _timed_engine_class()
    eng = Engine(n_shards=args.shards)
    try:
        sampler.phase = "ingest"
        t0 = time.perf_counter()
        data = eng.load_parquet(data_dir / "judgments")
        t_ingest = time.perf_counter() - t0
        sampler.phase = "fit"
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = DawidSkene(n_iter=args.iters, tol=-np.inf, progress=args.progress).fit(data, results_dir=out_dir)
        t_fit = time.perf_counter() - t1
        e2e = t_ingest + t_fit
        sampler.phase = "floor"
        estep = eng.seconds("_e_step")
        init = sum(eng.seconds("seen_stats")) + sum(eng.seconds("_mv_stats"))
        write = sum(eng.seconds("write_shard_part"))
        eng.map(_warm_wl)
        floor_driver, floor_actor = [], []
        for _ in range(5):
            t = time.perf_counter()
            inside = eng.map(numpy_pass)
            floor_driver.append(time.perf_counter() - t)
            floor_actor.append(max(inside))
        params, n_iter, last_obj = model.params_, model.n_iter_, model.history_[-1]
        spec = model.spec()  # the bound E-step ships its model: an unfitted one, hyper-parameters only
        for _ in range(3):
            eng.map_sum(spec.e_step, params)
        estep_again = eng.seconds("e_step")
        n_actors = eng.n_actors
    finally:
        sampler.stop()
        eng.close()
    s = data.seconds
    n = data.n_judgments
    rows += [
        ["ingest: read + partition (Ray tasks, one per file)", f"{s['read_partition']:.1f}", f"{data.n_units} units"],
        ["ingest: global worker/label vocabularies (driver)", f"{s['vocabularies']:.2f}", ""],
        ["ingest: build shards (sort, encode, CSR)", f"{s['build_shards']:.1f}", f"{data.n_shards} shards"],
        ["ingest: load shards into actors", f"{s['load_actors']:.1f}", f"{n_actors} actors"],
        ["ingest total", f"{t_ingest:.1f}", ""],
        ["fit: initialisation (majority-vote pass)", f"{init:.1f}", ""],
        [f"fit: {len(estep)} EM iterations", f"{sum(estep):.1f}", f"{_median(estep):.2f} s / iteration"],
        ["fit: write labels (Parquet dir, one part per shard)", f"{write:.1f}", str(out_dir)],
        ["fit total", f"{t_fit:.1f}", ""],
        ["**end to end (ingest + fit + write)**", f"**{e2e:.1f}**", f"target < {TARGETS['end_to_end_s']:.0f} s"],
    ]
    pss, rss = sampler.overall()
    per_it = _median(estep)
    lines = [
        f"## Scale: Dawid-Skene, {n:,} judgments ({data.n_tasks:,} tasks, {data.n_workers} workers, "
        f"{data.n_labels} classes), {args.iters} iterations, {data.n_shards} shards on {info.num_cpus:.0f} CPUs",
        "",
        markdown_table(["phase", "seconds", "note"], rows),
        "",
        markdown_table(["per iteration", "seconds", "judgments / s"], [
            ["E-step over all shards (driver, during the fit; median)", f"{per_it:.3f}", f"{n / per_it:,.0f}"],
            ["same, again after the fit (median of 3)", f"{_median(estep_again):.3f}", ""],
            ["numpy pass over the same arrays (driver, median of 5)", f"{_median(floor_driver):.3f}",
             f"{n / _median(floor_driver):,.0f}"],
            ["numpy pass inside the slowest actor (median of 5)", f"{_median(floor_actor):.4f}",
             f"{n / _median(floor_actor):,.0f}"],
            ["E-step / numpy pass", f"{per_it / _median(floor_driver):.1f}x", ""],
        ]),
        "",
        markdown_table(["peak memory (GB), all processes", "PSS sum", "RSS sum (upper bound)"],
                       [[phase, _gb(v[0]), _gb(v[1])] for phase, v in sampler.peak.items()]
                       + [["**overall**", f"**{_gb(pss)}**", _gb(rss)]]),
        "",
        f"Target: peak < {TARGETS['peak_gb']:.0f} GB. Load average before: {load_before}; after: {load_average()}. "
        f"Objective after {n_iter} iterations: {last_obj:.6g}.",
    ]
    if not args.keep:
        shutil.rmtree(out_dir, ignore_errors=True)
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ speedup
def run_speedup(args: argparse.Namespace) -> str:
    from ..aggregator import DawidSkene
    from ..datasets.simulate import CrowdConfig, simulate
    from ..judgments import Judgments
    from ..workers.cluster import connect

    n_judgments = parse_count(args.judgments if args.judgments != "100M" else "10M")
    n_tasks = args.tasks or n_judgments // args.per_task
    load_before = load_average()
    connect(args.address)
    sim = simulate(CrowdConfig(n_tasks=n_tasks, n_workers=args.workers, n_classes=args.classes,
                               judgments_per_task=args.per_task, accuracy_spread=0.1, seed=args.seed))
    judgments = Judgments.from_codes(sim.task, sim.worker, sim.label, n_tasks=n_tasks,
                                     n_workers=args.workers, n_labels=args.classes)
    del sim
    Engine = _timed_engine_class()
    model = DawidSkene(n_iter=2, tol=-np.inf, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = model.fit(judgments).params_  # fitted parameters to time E-steps with
    model = model.spec()  # unfitted (no judgments_, no results): the E-step ships the model
    rows, per, busy = [], {}, {}
    for n_shards in (1, 2):
        with Engine(n_shards=n_shards) as eng:
            eng.load(judgments, None)
            eng.map(_warm_wl, params["rows"])
            timed = CpuTimed(model.e_step)
            eng.map(timed, params)  # warm: numba, function shipped once
            times, cpu = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                out = eng.map(timed, params)
                times.append(time.perf_counter() - t)
                cpu.append(max(c for _, c in out))
            per[n_shards], busy[n_shards] = _median(times), _median(cpu)
            rows.append([n_shards, eng.n_actors, f"{per[n_shards]:.3f}", f"{min(times):.3f}",
                         f"{busy[n_shards]:.3f}", f"{judgments.n_judgments / per[n_shards]:,.0f}"])
    speedup = per[1] / per[2]
    return "\n".join([
        f"## Speed-up: E-step on {judgments.n_judgments:,} judgments ({n_tasks:,} tasks, {args.workers} "
        f"workers, {args.classes} classes), median of {args.repeat}",
        "",
        markdown_table(["shards", "actors", "s / iteration (median)", "min",
                        "CPU s of the busiest actor (median)", "judgments / s"], rows),
        "",
        f"**Speed-up 2 shards vs 1: {speedup:.2f}x** (target >= {TARGETS['speedup']}x); by the CPU time "
        f"of the busiest actor: {busy[1] / busy[2]:.2f}x (what the wall clock gives when both cores are "
        "free). "
        f"Load average before: {load_before}; after: {load_average()}.",
    ])


# ------------------------------------------------------------------------------------ overhead
def run_overhead(args: argparse.Namespace) -> str:
    from ..aggregator import DawidSkene
    from ..datasets.simulate import CrowdConfig, simulate
    from ..workers.cluster import connect

    load_before = load_average()
    connect(args.address)
    sim = simulate(CrowdConfig(n_tasks=2000, n_workers=100, n_classes=args.classes, judgments_per_task=5,
                               accuracy_spread=0.1, seed=args.seed))
    frame = {"task": sim.task, "worker": sim.worker, "label": sim.label}
    times: dict[str, list[float]] = {}
    iters = {}
    for engine in ("local", "ray", "local", "ray"):  # the first round warms both up
        got = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = DawidSkene(progress=False).fit(frame, engine=engine)
            got.append(time.perf_counter() - t)
        times[engine] = got
        iters[engine] = m.n_iter_
    loc, ray_ = _median(times["local"]), _median(times["ray"])
    return "\n".join([
        f"## Overhead: DawidSkene on {sim.task.size:,} judgments, engine='ray' vs local "
        f"(median of {args.repeat} fits each, after a warm-up round; Ray up, actors reused)",
        "",
        markdown_table(["engine", "s / fit (median)", "min", "iterations"], [
            ["local", f"{loc:.3f}", f"{min(times['local']):.3f}", iters["local"]],
            ["ray", f"{ray_:.3f}", f"{min(times['ray']):.3f}", iters["ray"]],
        ]),
        "",
        f"**Ray minus local: {ray_ - loc:.3f} s per fit** (target < {TARGETS['overhead_s']} s); "
        f"{(ray_ - loc) / max(iters['ray'], 1) * 1000:.1f} ms per iteration. "
        f"Load average before: {load_before}; after: {load_average()}.",
    ])


# ------------------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("scale", "speedup", "overhead", "all"), default="scale")
    p.add_argument("--judgments", default="100M", help="judgments (suffixes k, M); speedup default 10M")
    p.add_argument("--tasks", type=int, default=None, help="tasks (default judgments / per-task)")
    p.add_argument("--per-task", type=int, default=10)
    p.add_argument("--workers", type=int, default=1000)
    p.add_argument("--classes", type=int, default=2)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--shards", type=int, default=None, help="task shards (default one per CPU)")
    p.add_argument("--repeat", type=at_least_one, default=5, help="timed fits per row (the median is shown)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="simulated data directory (reused when it matches)")
    p.add_argument("--address", default=None, help="Ray cluster (default: RAY_ADDRESS, else a new local one)")
    p.add_argument("--keep", action="store_true", help="keep the labels written by the scale run")
    p.add_argument("--progress", action="store_true", help="progress bar of the fit on stderr")
    p.add_argument("--out", default=None, help="also write the report to this Markdown file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    modes = ("speedup", "overhead", "scale") if args.mode == "all" else (args.mode,)
    runners = {"scale": run_scale, "speedup": run_speedup, "overhead": run_overhead}
    parts = []
    for mode in modes:
        text = runners[mode](args)
        print(text + "\n", flush=True)
        parts.append(text)
    if args.out:
        write_atomic(args.out, "\n\n".join(parts) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
