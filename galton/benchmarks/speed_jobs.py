"""The jobs of :mod:`galton.benchmarks.speed`: one (benchmark, implementation) row, run in this
process (:func:`run_job`) or in subprocesses whose fits take turns (:func:`run_in_turns`), and the
children's entry point."""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from ._common import current_rss_mib, peak_rss_mib, reset_peak_rss, simulate_ds, to_pandas
from ._turns import Turns

__all__ = ["Job", "JobResult", "N_WORKERS", "N_CLASSES", "PER_TASK", "run_job", "run_in_turns", "child_turns_main"]

N_WORKERS, N_CLASSES, PER_TASK = 1000, 4, 5
log = logging.getLogger("galton.benchmarks.speed")
_MARK = "@@galton-speed@@ "


@dataclass
class Job:
    bench: str  # "ds", "glad" or "mmsr"
    impl: str  # "galton", "galton-numpy" or "crowdkit"
    judgments: int
    n_iter: int
    repeat: int = 1
    seed: int = 0
    warmup: bool = True
    threads: int | None = None  # numba threads (None: numba's default)


@dataclass
class JobResult:
    job: Job
    seconds: list[float] = field(default_factory=list)
    iterations: int | None = None
    accuracy: float | None = None
    peak_mib: float | None = None
    fit_increase_mib: float | None = None
    memory_source: str = ""
    warmup_seconds: float | None = None
    numba: bool | None = None
    threads: int | None = None
    estep_s: float | None = None
    floor_s: float | None = None
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


# ------------------------------------------------------------------------------------ one job
def _model_class(job: Job) -> type:
    """The model class; importing it here keeps import time (crowd-kit's is seconds) out of timings."""
    if job.impl == "crowdkit":
        from crowdkit import aggregation as ck

        return {"ds": ck.DawidSkene, "glad": ck.GLAD, "mmsr": ck.MMSR}[job.bench]
    from .. import aggregator

    return aggregator.get(job.bench)


def _model(job: Job, n_iter: int) -> Any:
    cls = _model_class(job)
    if job.impl == "crowdkit":
        return cls(n_iter=n_iter, tol=-np.inf)
    model = cls()
    params = model.get_params()
    it_name = "max_iter" if "max_iter" in params and "n_iter" not in params else "n_iter"
    settings: dict[str, Any] = {it_name: n_iter, "tol": -np.inf}  # every iteration (DS: tol=0 stops)
    if "random_state" in params:
        settings["random_state"] = 0
    return model.set_params(**settings)


def _iterations(model: Any) -> int | None:
    if hasattr(model, "n_iter_"):
        return int(model.n_iter_)
    hist = getattr(model, "loss_history_", None)
    return None if hist is None else len(hist)


class _Run:
    """One job's state in the process that fits: its data, result so far and last model."""

    def __init__(self, job: Job) -> None:
        self.job, self.res = job, JobResult(job)
        self.sim = simulate_ds(max(1, job.judgments // PER_TASK), N_WORKERS, N_CLASSES, PER_TASK, job.seed)
        self.frame = to_pandas(self.sim)
        self.model: Any = None
        self.before = 0.0

    def prepare(self) -> None:
        """Import the model, set the threads, fit once untimed (numba compiles or loads its cache),
        then reset the peak memory."""
        job, res = self.job, self.res
        _model_class(job)
        if job.impl != "crowdkit":
            from ..aggregator._jit import get_threads, use_numba

            res.numba = use_numba()
            if res.numba:
                if job.threads:
                    from ..aggregator._jit import set_threads

                    set_threads(job.threads)
                res.threads = get_threads()
        if job.warmup:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _model(job, 1).fit(self.frame)
            res.warmup_seconds = time.perf_counter() - t0
        reset_peak_rss()
        self.before = current_rss_mib()

    def fit(self) -> float:
        """One timed fit; its seconds are kept."""
        self.model = _model(self.job, self.job.n_iter)
        # crowd-kit's MMSR labels the tasks in predict (its fit learns the skills only)
        fit = self.model.fit_predict if self.job.impl == "crowdkit" and self.job.bench == "mmsr" else self.model.fit
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: the iteration count is fixed on purpose
            t0 = time.perf_counter()
            fit(self.frame)
            self.res.seconds.append(time.perf_counter() - t0)
        return self.res.seconds[-1]

    def finish(self) -> JobResult:
        """Memory, accuracy, iterations and (galton DS) the E-step against the floor."""
        res, sim = self.res, self.sim
        res.peak_mib, res.memory_source = peak_rss_mib()
        res.fit_increase_mib = res.peak_mib - self.before
        return _scored(self.job, res, self.model, sim, self.frame)


def run_job(job: Job) -> JobResult:
    """Run one benchmark job in this process (the parent runs each in a subprocess: :func:`run_in_turns`)."""
    run = _Run(job)
    run.prepare()
    for _ in range(max(1, job.repeat)):
        run.fit()
    return run.finish()


def _scored(job: Job, res: JobResult, model: Any, sim: Any, frame: Any) -> JobResult:
    labels = model.labels_
    if hasattr(labels, "columns"):
        labels = labels.iloc[:, 0]
    pred = labels.reindex(np.arange(sim.truth.size)).to_numpy()
    res.accuracy = float(np.mean(pred == sim.truth))
    res.iterations = _iterations(model)
    if job.bench == "ds" and job.impl == "galton" and res.numba:
        from ._floor import estep_floor

        floor = estep_floor(model, frame)
        res.estep_s, res.floor_s = floor["estep_s"], floor["floor_s"]
    return res


def child_turns_main(spec: str) -> int:
    """The child of :func:`run_in_turns`: prepare, then one timed fit per ``fit`` line on stdin,
    and the result on ``end``."""
    job = Job(**json.loads(spec))
    try:
        run = _Run(job)
        run.prepare()
        Turns.reply("ready")
        for line in sys.stdin:
            if line.strip() != "fit":
                break
            Turns.reply(f"{run.fit():.6f}")
        res = run.finish()
    except Exception as exc:  # noqa: BLE001 - reported to the parent as the row's error
        res = JobResult(job, error=f"{type(exc).__name__}: {exc}")
    sys.stdout.write(_MARK + json.dumps(asdict(res)) + "\n")
    return 0


def _child_command(job: Job, mode: str) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a child process for ``job`` (``GALTON_NO_NUMBA=1`` for the
    numpy path; this checkout first on the path)."""
    env = dict(os.environ)
    env.pop("GALTON_NO_NUMBA", None)
    if job.impl == "galton-numpy":
        env["GALTON_NO_NUMBA"] = "1"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return [sys.executable, "-m", "galton.benchmarks.speed", mode, json.dumps(asdict(job))], env


def _parse_result(job: Job, stdout: str, fallback: str) -> JobResult:
    for line in stdout.splitlines():
        if line.startswith(_MARK):
            data = json.loads(line[len(_MARK):])
            data["job"] = Job(**data["job"])
            return JobResult(**data)
    return JobResult(job, error=fallback)


def run_in_turns(jobs: Sequence[Job], timeout: float | None = None, busy: int = 0) -> list[JobResult]:
    """Run ``jobs`` in one live subprocess each, their timed fits taking turns (round ``r``: fit
    ``r`` of every job, in turn, the order reversed every other round), so that a slow or fast
    spell of the machine falls on every row alike and the ratios hold: one block of fits per row
    measured the same code 15-50% apart minutes later on this 2-core VM. Each child warms up first
    (one at a time) and measures its own peak memory. Each timed fit starts once no task but the
    ``busy`` processes the caller keeps is runnable (up to a second: a row's leftover spinning
    threads, OpenBLAS's after crowd-kit's numpy, would run into the next row's fit).
    ``timeout``: seconds allowed per row."""
    turns = Turns([_child_command(job, "--child-turns") for job in jobs], timeout, settle=busy)
    rounds = max((max(1, j.repeat) for j in jobs), default=1)
    t0 = time.perf_counter()
    try:
        turns.start()
        log.info("  %d row(s) ready after %.0f s (warm-up fits included)", len(jobs), time.perf_counter() - t0)
        for r in range(rounds):
            order = range(len(jobs)) if r % 2 == 0 else range(len(jobs) - 1, -1, -1)
            turns.round([i for i in order if r < max(1, jobs[i].repeat)])
            log.info("  round %d of %d done after %.0f s", r + 1, rounds, time.perf_counter() - t0)
        outputs = turns.finish()
        log.info("  waited %.2f s in all for a quiet machine before the fits", turns.waited)
    finally:
        turns.kill()
    return [_parse_result(job, out, err or "no result") for job, (out, err) in zip(jobs, outputs)]
