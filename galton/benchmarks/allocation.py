"""The allocation replay study: which task needs another judgment, replayed on real judgments.

On data with many judgments per task (snow2008_rte and snow2008_temp have 10, imagenet_real_golden
78) each repetition ``r`` shuffles the judgments of every task (seeded), shows ``start`` of them per
task and holds the rest back as a pool. Each round every strategy of :func:`galton.allocate`
(``uniform``: least-judged first; ``uncertainty``; ``eig``) ranks the tasks on a model fitted to
what it has seen so far, and the ``batch`` best tasks that still have held-back judgments get their
next real one (when fewer tasks than ``batch`` are eligible, the ranking is walked again, so every
strategy spends the same number of judgments per round). The model (galton's default unless
``model=``) is refitted and its accuracy on
gold recorded against the judgments spent (start included), until the pool is empty: uniform's full
budget, where every strategy has seen every judgment.

The report gives per data set the mean curve of each strategy with a 95% interval over the
repetitions (Student t, clipped to [0, 1]; with few repetitions it is wide: t = 12.7 for two), the
accuracy at 50% and 70% of the budget, and the judgments each strategy
needs to reach uniform's full-budget accuracy, as a share of all judgments ("not reached" when it
never does). A simulated crowd in Sheng, Provost and Ipeirotis's setting (KDD 2008: independent
binary labellers of accuracy 0.7) is the check: there relabelling the uncertain tasks beats
labelling every task again.

Run it with ``python -m galton.benchmarks.allocation --out DIR`` or ``galton bench --study
allocation --out DIR`` (by default on snow2008_rte, snow2008_temp and the simulated crowd; where the
shared datasets folder is not found, on the bundled zheng_s_dog and welinder_bluebirds instead);
``--engine ray`` (``engine="ray"``) runs every refit on Ray (a local instance unless
``--ray-address``/``RAY_ADDRESS`` names a cluster), with the same curves as the local run for the
same seeds.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TextIO

import numpy as np

from .._math import t_upper_quantile
from ._common import markdown_table, split_names, write_atomic
from ._replay_data import (BUNDLED_DEFAULTS, DEFAULT_DATASETS, ReplayData, default_datasets, load_replay_data,
                           sheng_crowd)
from .study import resolve_models

__all__ = ["DEFAULT_DATASETS", "BUNDLED_DEFAULTS", "default_datasets", "ReplayData", "ReplayResult", "load_replay_data",
           "sheng_crowd", "replay", "check_start", "warned_line", "choose_next", "judgments_to_reach", "interval",
           "ACCURACY", "summarise", "run_allocation_study", "write_allocation_report", "run_cli", "main"]

STRATEGY_ORDER = ("uniform", "uncertainty", "eig")
#: the bounds of an accuracy (its intervals are clipped to them)
ACCURACY = (0.0, 1.0)


# ------------------------------------------------------------------------------------------------
# the replay
# ------------------------------------------------------------------------------------------------
@dataclass
class ReplayResult:
    """Curves of one data set: ``acc[strategy]`` is (repetitions, rounds) against ``spent`` (rounds,)."""

    name: str
    spent: np.ndarray
    acc: dict[str, np.ndarray]
    total: int
    start_total: int
    n_tasks: int
    max_per_task: int
    seconds: float
    batch: int = 0
    #: what :func:`galton.allocate` warned while ranking, said once: a text (the first of its kind; numbers
    #: differ from round to round) and the rankings that raised it
    warnings: dict[str, int] = field(default_factory=dict)


def _positions(data: ReplayData, rng: np.random.Generator) -> np.ndarray:
    """Each judgment's place in its task's shuffled order (0 = shown first)."""
    order = np.lexsort((rng.random(data.task.size), data.task))
    offsets = np.concatenate([[0], np.cumsum(data.counts)[:-1]])
    pos = np.empty(data.task.size, dtype=np.int64)
    pos[order] = np.arange(data.task.size) - offsets[data.task[order]]
    return pos


def _fit(data: ReplayData, shown: np.ndarray, model: str | None, seed: int, engine: Any = None) -> Any:
    from .._api import aggregate

    frame = {"task": data.task[shown], "worker": data.worker[shown], "label": data.label[shown]}
    params: dict[str, Any] = {"random_state": seed}
    if engine is not None:
        params["engine"] = engine
    with warnings.catch_warnings():  # EM on one or two judgments per task rarely meets its tolerance
        warnings.simplefilter("ignore")
        return aggregate(frame, model, **params)


def _accuracy(fitted: Any, data: ReplayData) -> float:
    post = np.asarray(fitted.posteriors_)
    tasks = np.asarray(fitted.judgments_.task_names, dtype=np.int64)
    pred = np.asarray(fitted.judgments_.label_names, dtype=np.int64)[post.argmax(axis=1)]
    gold = data.gold[tasks]
    return float(np.mean(pred[gold >= 0] == gold[gold >= 0]))


def choose_next(ranked: np.ndarray, left: np.ndarray, take: int) -> np.ndarray:
    """Tasks to reveal one judgment each (a task may repeat): walk ``ranked`` among the tasks with
    judgments ``left``, again and again, until ``take`` are chosen or nothing is left."""
    left = left.copy()
    chosen: list[int] = []
    while len(chosen) < take:
        step = [t for t in ranked.tolist() if left[t] > 0][: take - len(chosen)]
        if not step:
            break
        chosen.extend(step)
        left[step] -= 1
    return np.asarray(chosen, dtype=np.int64)


def _rank(fitted: Any, strategy: str, seed: int, said: dict[str, list[Any]]) -> np.ndarray:
    """Tasks in the order :func:`galton.allocate` ranks them. Its warnings go to ``said`` (by text, numbers
    folded: {text: [first text, rankings]}): a model that gives a task judged once a probability of 1 (mv)
    warns in every round, and the replay of that model is what the run asked for, so it is said once."""
    from ..allocate import allocate

    n = fitted.judgments_.n_tasks
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = allocate(None, n, strategy=strategy, model=fitted, random_state=seed, output="arrow")
    for text in dict.fromkeys(str(w.message) for w in caught):
        said.setdefault(re.sub(r"\d+", "#", text), [text, 0])[1] += 1
    return np.asarray(table.column("task").to_numpy(), dtype=np.int64)


def check_start(data: ReplayData, start: int) -> None:
    """Refuse a ``start`` that shows every judgment of every task: nothing is held back, and every
    strategy was one point ("100% (not reached)", nan shares)."""
    top = int(data.counts.max()) if data.counts.size else 0
    if start < 1:
        raise ValueError(f"start must be >= 1 (judgments shown per task before the first round), not {start}")
    if start >= top:
        raise ValueError(f"{data.name}: start {start} shows every judgment (a task has at most {top}), so none is "
                         f"held back to allocate; use a start below {top}")


def replay(data: ReplayData, *, strategies: Sequence[str] = STRATEGY_ORDER, repetitions: int = 3, start: int = 1,
           batch: int | float = 0.1, model: str | None = None, seed: int = 0, engine: Any = None) -> ReplayResult:
    """Replay the allocation of held-back judgments (see the module docstring).

    ``batch`` is a number of judgments per round, or a share of the tasks when below 1. Only real
    judgments are revealed: a task never gets more than it has. ``engine`` is where each refit runs
    (None or "local": this process; "ray"); the ranking runs here on the gathered posteriors.
    Returns the curves."""
    if repetitions < 1:
        raise ValueError(f"repetitions must be >= 1, not {repetitions}")
    if batch <= 0:
        raise ValueError(f"batch must be > 0 (judgments per round, or a share of the tasks below 1), not {batch}")
    if model not in (None, "default"):  # another kind of data (bt: "missing column(s) ['left', 'right']"), gold
        resolve_models([model])
    counts = data.counts
    if (counts == 0).any():
        raise ValueError(f"{data.name}: {int((counts == 0).sum())} task(s) without judgments")
    check_start(data, start)
    said: dict[str, list[Any]] = {}
    size = int(batch) if batch >= 1 else max(1, int(round(batch * data.n_tasks)))
    t0 = time.perf_counter()
    acc = {s: [] for s in strategies}
    spent_ref: np.ndarray | None = None
    key = zlib.crc32(data.name.encode())
    for r in range(repetitions):
        pos = _positions(data, np.random.default_rng([seed, r, key]))
        for s in strategies:
            revealed = np.minimum(counts, start)
            spent, curve = [], []
            while True:
                shown = pos < revealed[data.task]
                fitted = _fit(data, shown, model, seed + r, engine)
                spent.append(int(shown.sum()))
                curve.append(_accuracy(fitted, data))
                left = counts - revealed
                if not left.any():
                    break
                chosen = choose_next(_rank(fitted, s, seed + r, said), left, size)
                np.add.at(revealed, chosen, 1)
            if spent_ref is None:
                spent_ref = np.asarray(spent)
            elif not np.array_equal(spent_ref, spent):
                raise AssertionError(f"{data.name}: strategy {s} spent {spent}, not {spent_ref.tolist()}")
            acc[s].append(curve)
    assert spent_ref is not None
    return ReplayResult(data.name, spent_ref, {s: np.asarray(v, dtype=np.float64) for s, v in acc.items()},
                        int(counts.sum()), int(np.minimum(counts, start).sum()), data.n_tasks,
                        int(counts.max()), time.perf_counter() - t0, size, dict(said.values()))


# ------------------------------------------------------------------------------------------------
# summaries
# ------------------------------------------------------------------------------------------------
def judgments_to_reach(spent: Sequence[float], acc: Sequence[float], target: float) -> int | None:
    """The first ``spent`` at which ``acc`` reaches ``target`` (within 1e-12), None if never."""
    for s, a in zip(spent, acc):
        if a >= target - 1e-12:
            return int(s)
    return None


def _t975(df: int) -> float:
    """Student's t 97.5% quantile with ``df`` degrees of freedom, to 1e-13 relative, without scipy (galton's
    own; the table it replaced gave df 11-20 the value of 20 and every df above 20 the normal's 1.96: intervals
    up to 6% too narrow)."""
    return float(t_upper_quantile(0.025, np.array([float(df)]))[0])


def interval(values: np.ndarray, bounds: tuple[float, float] | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% Student-t interval over axis 0 (the repetitions); the mean twice for one. With
    ``bounds`` (``ACCURACY`` for accuracies) the interval is clipped to them: with few repetitions it is
    wide (two: t = 12.7), and 0.838 [0.267, 1.410] named accuracies above 1."""
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    if values.shape[0] < 2:
        return mean, mean, mean
    half = _t975(values.shape[0] - 1) * values.std(axis=0, ddof=1) / math.sqrt(values.shape[0])
    lo, hi = mean - half, mean + half
    if bounds is not None:
        lo, hi = np.clip(lo, *bounds), np.clip(hi, *bounds)
    return mean, lo, hi


def _at_share(res: ReplayResult, curve: np.ndarray, share: float) -> float:
    idx = np.flatnonzero(res.spent <= share * res.total + 1e-9)
    return float(curve[idx[-1]]) if idx.size else float("nan")


def summarise(res: ReplayResult) -> list[dict[str, Any]]:
    """One row per strategy: accuracies (mean over repetitions) and the judgments to reach
    uniform's full-budget accuracy, on the mean curve and per repetition."""
    uni = res.acc["uniform"] if "uniform" in res.acc else next(iter(res.acc.values()))
    target_mean = float(uni[:, -1].mean())
    rows = []
    for s, a in res.acc.items():
        mean, lo, hi = interval(a, ACCURACY)
        need = judgments_to_reach(res.spent, mean, target_mean)
        per_rep = [judgments_to_reach(res.spent, a[r], uni[r, -1]) for r in range(a.shape[0])]
        extra = res.total - res.start_total
        rows.append({
            "dataset": res.name, "strategy": s, "start": float(mean[0]), "at_50": _at_share(res, mean, 0.5),
            "at_70": _at_share(res, mean, 0.7), "final": float(mean[-1]), "target": target_mean,
            "needed": need, "share": None if need is None else need / res.total,
            "share_extra": None if need is None or extra == 0 else (need - res.start_total) / extra,
            "per_rep": [None if n is None else n / res.total for n in per_rep],
            "lo_70": _at_share(res, lo, 0.7), "hi_70": _at_share(res, hi, 0.7)})
    return rows


def warned_line(text: str, n: int) -> str:
    """What :func:`galton.allocate` warned while ranking (:attr:`ReplayResult.warnings`), in one line."""
    return f"allocate warned in {n} ranking(s) (said once; the first): {text}"


def _pct(x: float | None) -> str:
    return "not reached" if x is None else f"{100 * x:.0f}%"


def _markdown(results: Sequence[ReplayResult], settings: dict[str, Any], load: tuple[float, ...]) -> str:
    lines = ["# Allocation replay study", "",
             f"Start from {settings['start']} judgment(s) per task; each round every strategy reveals the next "
             f"held-back real judgment of the tasks `galton.allocate` ranks first (batch {settings['batch']:g}: "
             "judgments per round, a share of the tasks when below 1); model "
             f"`{settings['model'] or 'galton default'}` refitted each round; "
             f"{settings['repetitions']} repetition(s) (seed {settings['seed']}); refits on "
             f"{settings.get('engine', 'local')}. Judgments spent count the start. "
             "'to reach' = judgments at which the mean curve first reaches uniform's full-budget accuracy, as a "
             "share of all judgments (of the extra ones in brackets); per repetition against that repetition's "
             "uniform. Intervals: 95% Student t over repetitions, clipped to [0, 1] (wide with few repetitions: "
             "t = 12.7 for two).", "",
             f"Load average while it ran (1, 5, 15 min): {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
             f"on {os.cpu_count()} CPU(s).", ""]
    for res in results:
        rows = summarise(res)
        lines += [f"## {res.name}", "",
                  f"{res.n_tasks} tasks, {res.total} judgments (at most {res.max_per_task} per task), "
                  f"{res.start_total} at the start, {res.batch} per round, {res.spent.size} points, "
                  f"{res.seconds:.1f} s.", ""]
        lines += [f"{warned_line(text, n)}\n" for text, n in res.warnings.items()]
        table = [[r["strategy"], f"{r['start']:.3f}", f"{r['at_50']:.3f}",
                  f"{r['at_70']:.3f} [{r['lo_70']:.3f}, {r['hi_70']:.3f}]", f"{r['final']:.3f}",
                  "not reached" if r["needed"] is None else f"{r['needed']}",
                  f"{_pct(r['share'])} ({_pct(r['share_extra'])})", ", ".join(_pct(p) for p in r["per_rep"])]
                 for r in rows]
        lines += [markdown_table(["strategy", "start", "50%", "70% [95% CI]", "full", "to reach",
                                  "share (extra)", "per repetition"], table), ""]
    return "\n".join(lines)


def _csv(results: Sequence[ReplayResult]) -> str:
    out = ["dataset,strategy,spent,share,mean,lo,hi"]
    for res in results:
        for s, a in res.acc.items():
            mean, lo, hi = interval(a, ACCURACY)
            for i, sp in enumerate(res.spent.tolist()):
                out.append(f"\"{res.name}\",{s},{sp},{sp / res.total:.6f},{mean[i]:.6f},{lo[i]:.6f},{hi[i]:.6f}")
    return "\n".join(out)


def _plot(results: Sequence[ReplayResult], path: Path) -> None:
    from ._allocation_page import plot_allocation

    tmp = path.with_name(f".{path.name}.tmp.png")
    plot_allocation(results, tmp, interval)
    os.replace(tmp, path)


def write_allocation_report(results: Sequence[ReplayResult], out: str | os.PathLike[str], settings: dict[str, Any],
                            *, plots: bool = True, load: tuple[float, ...] | None = None) -> Path:
    """Write ``index.html`` (the answer first: judgments each strategy needs to reach uniform's
    full-budget accuracy, one row per data set; then the plot), ``report.md``, ``curves.csv`` and
    (with matplotlib) ``allocation.png`` to ``out``, a directory replaced only when it is empty or an
    earlier galton bench report."""
    from ..io import atomic_dir
    from ._allocation_page import allocation_page

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    load = load or os.getloadavg()
    with atomic_dir(out, kind="report") as tmp:
        write_atomic(tmp / "report.md", _markdown(results, settings, load))
        write_atomic(tmp / "curves.csv", _csv(results))
        if plots:
            _plot(results, tmp / "allocation.png")
        page = allocation_page(results, [summarise(r) for r in results], settings, load,
                               "allocation.png" if plots else None)
        write_atomic(tmp / "index.html", page)
    return out


def run_allocation_study(datasets: Sequence[str] | None = None, *, repetitions: int = 3, start: int = 1,
                         batch: int | float = 0.1, model: str | None = None, seed: int = 0,
                         strategies: Sequence[str] = STRATEGY_ORDER, log: TextIO | None = None,
                         engine: Any = None) -> list[ReplayResult]:
    """Replay every data set (None: :func:`default_datasets`, said on ``log``); one :class:`ReplayResult`
    each (refits on ``engine``, see :func:`replay`)."""
    if model not in (None, "default"):  # a model the replay cannot refit: refused before any data set is read
        resolve_models([model])
    if datasets is None:
        datasets, note = default_datasets()
        if note is not None and log is not None:
            log.write(note + "\n")
    results = []
    loaded = [load_replay_data(name, seed) for name in datasets]  # a bad name fails before any replay
    for data in loaded:  # and so does a start that holds nothing back
        check_start(data, start)
    for data in loaded:
        res = replay(data, strategies=strategies, repetitions=repetitions, start=start,
                     batch=batch, model=model, seed=seed, engine=engine)
        if log is not None:
            for row in summarise(res):
                log.write(f"{res.name:<32} {row['strategy']:<12} final {row['final']:.3f}  70% {row['at_70']:.3f}"
                          f"  reach {_pct(row['share'])}\n")
            log.writelines(f"{res.name}: {warned_line(text, n)}\n" for text, n in res.warnings.items())
        results.append(res)
    return results


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.allocation",
                                description="Replay the allocation of held-back real judgments (see the module doc).")
    p.add_argument("--datasets", action="append", metavar="NAMES",
                   help="comma-separated data sets, bundled or shared (shared:NAME or bundled:NAME for that copy; "
                   "'sheng': the simulated crowd); default " + ",".join(DEFAULT_DATASETS) + " (without the shared "
                   "datasets folder: " + ",".join(BUNDLED_DEFAULTS) + ")")
    p.add_argument("--model", default="default", help="model refitted each round (default: galton's; 'ds' is faster)")
    p.add_argument("--repeats", type=int, default=3, metavar="N", help="repetitions (shuffles of the pool)")
    p.add_argument("--start", type=int, default=1, metavar="N",
                   help="judgments per task at the start (below the most judgments a task has)")
    p.add_argument("--batch", type=float, default=0.1, metavar="X",
                   help="judgments per round, or a share of the tasks when below 1 (default 0.1)")
    p.add_argument("--seed", type=int, default=0, metavar="N")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="where the refits run (default: local; ray: a local Ray instance unless --ray-address)")
    p.add_argument("--ray-address", default=None, metavar="ADDR", help="Ray cluster (else RAY_ADDRESS, else local)")
    p.add_argument("--out", "-o", default="galton-allocation", metavar="DIR")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--quiet", "-q", action="store_true")
    args = p.parse_args(argv)
    if args.ray_address is not None and args.engine != "ray":
        p.error("--ray-address needs --engine ray")
    return run_cli(datasets=split_names(args.datasets), model=args.model, repeats=args.repeats, start=args.start,
                   batch=args.batch, seed=args.seed, out_dir=args.out, plots=not args.no_plots, quiet=args.quiet,
                   out=out, engine=args.engine, address=args.ray_address)


def run_cli(*, datasets: Sequence[str] | None, model: str | None, repeats: int | None, start: int = 1,
            batch: float = 0.1, seed: int | None, out_dir: str, plots: bool, quiet: bool, out: TextIO,
            engine: str | None = None, address: str | None = None) -> int:
    """The study from the command line (``galton bench --study allocation`` and ``main``); with
    ``engine="ray"`` the refits run on Ray (joined at ``address`` first when given)."""
    from .report import check_out

    repeats = 3 if repeats is None else repeats  # 0 ran 3 repetitions, a negative number failed at the end
    for name, value, low in (("--repeats", repeats, 1), ("--start", start, 1)):
        if value < low:
            raise ValueError(f"{name} must be >= {low}, not {value}")
    if batch <= 0:
        raise ValueError(f"--batch must be > 0 (judgments per round, or a share of the tasks below 1), not {batch}")
    check_out(out_dir)  # fail before the run, not after: a report only, in a place that takes files
    if plots:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise ImportError("the plot needs matplotlib: pip install 'galton[report]', or use --no-plots")
    settings = {"start": start, "batch": batch, "model": None if model in (None, "default") else model,
                "repetitions": repeats, "seed": seed or 0, "engine": engine or "local"}
    if settings["engine"] == "ray":
        try:
            from ..workers import cluster
        except ModuleNotFoundError as exc:
            raise ImportError(f"--engine ray needs Ray ({exc}); pip install 'galton[ray]'") from None
        cluster.connect(address)
    results = run_allocation_study(datasets or None, repetitions=settings["repetitions"], start=start,
                                   batch=batch, model=settings["model"], seed=settings["seed"],
                                   log=None if quiet else out,
                                   engine=None if settings["engine"] == "local" else settings["engine"])
    path = write_allocation_report(results, out_dir, settings, plots=plots)
    if not quiet:
        out.write(f"report: {path / 'index.html'} (and report.md)\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
