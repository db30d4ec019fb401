"""Preference models: speed against crowd-kit, real evidence from ratings, crowd versus one expert.

Run ``python -m galton.benchmarks.preferences [--sections speed,real,study] [--out FILE.md]``.

Sections
--------
speed
    :func:`galton.datasets.simulate_prefs.simulate_pairwise`: ``--comparisons`` (1M) comparisons of
    ``--items`` (10k) items by ``--raters`` (1000) raters (5% adversarial, 10% random, the rest
    reporting their Bradley-Terry draw with probability U(0.75, 1)), seed 0, one pandas frame
    ``worker, left, right, label`` that both libraries fit. galton ``BradleyTerry()`` runs to
    convergence; crowd-kit ``BradleyTerry(n_iter=100)`` stops after two iterations (its default
    ``tol=1e-5`` with the aliasing bug); its accuracy at that point is reported next to ours.
    ``NoisyBradleyTerry``: both at full size (crowd-kit's gradient loops over comparisons in
    Python: about 7 minutes at 1M), and both on ``--small`` (20k) comparisons of 200 items by 100
    raters. ``--noisy-crowdkit small`` skips crowd-kit's full-size run and *extrapolates* its time
    linearly in the number of comparisons instead (labelled as such in the table).
    Every (model, implementation) runs in a fresh subprocess: seconds = wall clock of ``fit``, the
    median of ``--repeat`` (3) fits (one for crowd-kit's NoisyBT at full size); crowd-kit's
    BradleyTerry also with its first fit, which is 3-4x slower than its later ones (fresh memory
    for its dense win matrix)
    (pandas in, scores out; galton's encoding included; galton first fits 2000 rows untimed, the
    whole frame when it reaches the threaded kernels' MIN_PARALLEL comparisons, so that numba's
    kernels, the threaded ones too, are compiled or loaded from its disk cache; one
    more row times BradleyTerry's first fit in a new process, that loading included), Spearman = rank correlation of the
    scores with the true qualities, peak = the subprocess's peak resident memory (VmHWM, reset just
    before the fit).
real
    Pairwise preferences derived from real ratings: in each ``snow2008_affect_*`` set, a worker
    who rated two headlines prefers the one they rated higher (equal ratings are skipped). The
    Spearman correlation of BradleyTerry / CrowdBT / NoisyBradleyTerry scores with the expert means
    stands next to the numeric models' (Mean, Median, TrimmedMean, GaussianRating, CATD as by
    default, one weight step, and run to convergence, PM), whose mean absolute error is reported as
    well, and the same for ``zheng_n_emotion`` (MAE only: published Mean 12.02, LFC_N 12.20). Needs
    ../shared/datasets.
study
    Crowd versus one expert ranker on 200 simulated items: the expert ranks them all from noisy
    utilities (Kendall tau with the true order around 0.8); the crowd gives pairwise comparisons;
    how many comparisons per item until BradleyTerry's ranking matches the expert's tau, for three
    levels of rater disagreement.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from typing import Any, Sequence

import numpy as np

from ._common import at_least_one, emit, markdown_table, peak_rss_mib, reset_peak_rss

__all__ = ["spearman", "kendall_tau", "preferences_from_ratings", "speed_job", "real_evidence",
           "expert_study", "main"]

_MARK = "@@galton-prefs@@ "
#: per-iteration speed-up over crowd-kit aimed for, BradleyTerry and NoisyBradleyTerry at 1M comparisons (issue 13)
PER_ITERATION_TARGET = 50.0
SECTIONS = ("speed", "real", "study")
AFFECT = [f"snow2008_affect_{e}"
          for e in ("anger", "disgust", "fear", "joy", "sadness", "surprise", "valence")]


# ------------------------------------------------------------------------------------ metrics
def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank)."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    first = np.concatenate([[True], xs[1:] != xs[:-1]])
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.concatenate([starts[1:], [x.size]])
    avg = (starts + ends - 1) / 2.0
    r = np.empty(x.size)
    r[order] = avg[group]
    return r


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-a by direct pair counting (O(n^2) memory-light loop over rows; n <= a few 1000)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    s = 0.0
    for i in range(a.size - 1):
        s += float((np.sign(a[i + 1:] - a[i]) * np.sign(b[i + 1:] - b[i])).sum())
    return 2.0 * s / (a.size * (a.size - 1))


# ------------------------------------------------------------------------------------ speed
def _data(kind: str, args: argparse.Namespace) -> tuple[Any, np.ndarray]:
    from ..datasets.simulate_prefs import simulate_pairwise

    if kind == "big":
        s = simulate_pairwise(args.comparisons, n_prompts=1, n_responses=args.items, n_workers=args.raters,
                              seed=0, frame="pandas")
    else:
        s = simulate_pairwise(args.small, n_prompts=1, n_responses=200, n_workers=100, seed=0, frame="pandas")
    return s.data, s.quality


def speed_job(job: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one ``model:impl:size`` job in this process and return its measurements."""
    model, impl, size = job.split(":")
    df, quality = _data(size, args)
    warnings.simplefilter("ignore")
    if impl in ("galton", "galton-cold"):
        from ..aggregator._pref_kernels import MIN_PARALLEL
        from ..aggregator.bradley_terry import BradleyTerry, NoisyBradleyTerry

        est = BradleyTerry() if model == "bt" else NoisyBradleyTerry()
        if impl == "galton":  # warm-up, untimed: numba compiles the kernels or loads its disk cache,
            # the threaded ones too when the timed fit will use them (MIN_PARALLEL comparisons on)
            est.fit(df if len(df) >= MIN_PARALLEL else df.iloc[:2000])
    else:
        from crowdkit.aggregation import BradleyTerry as CkBT, NoisyBradleyTerry as CkNBT

        est = CkBT(n_iter=100) if model == "bt" else CkNBT()
        if model == "noisy_bt":  # count crowd-kit's gradient evaluations (its Python loop)
            grad = CkNBT._compute_gradient

            def counted(*a: Any) -> Any:
                counted.calls += 1  # type: ignore[attr-defined]
                return grad(*a)

            counted.calls = 0  # type: ignore[attr-defined]
            CkNBT._compute_gradient = staticmethod(counted)
    # the median of --repeat fits, as every benchmark quotes (it took the fastest: crowd-kit has no
    # warm-up fit, so that dropped its slow first fit; the first is reported apart); one fit for the
    # cold-start job and for crowd-kit's NoisyBT at full size (minutes per fit)
    repeat = 1 if impl == "galton-cold" or (impl == "crowdkit" and model == "noisy_bt" and size == "big") \
        else max(int(args.repeat), 1)
    reset_peak_rss()
    times = []
    for _ in range(repeat):
        if impl == "crowdkit" and model == "noisy_bt":
            counted.calls = 0  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        est.fit(df)
        times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    peak, _ = peak_rss_mib()
    scores = (est.intervals_["score"] if hasattr(est, "intervals_") else est.scores_).sort_index()  # θ
    items = scores.index.to_numpy()
    values = scores.to_numpy(dtype=float)
    if impl == "crowdkit" and model == "bt":
        values = np.log(np.maximum(values, 1e-300))
    iters = getattr(est, "n_iter_", None)
    if impl == "crowdkit" and model == "bt":
        iters = 2  # tol > 0 stops crowd-kit 1.4.2's BradleyTerry after its second iteration
    if impl == "crowdkit" and model == "noisy_bt":
        iters = counted.calls
    return {"job": job, "seconds": seconds, "first": times[0], "spearman": spearman(values, quality[items]),
            "iterations": iters, "peak_mib": peak, "rows": len(df)}


def _run_subprocess(job: str, argv: Sequence[str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "galton.benchmarks.preferences", "--job", job, *argv]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK):])
    raise RuntimeError(f"job {job} failed:\n{out.stderr[-3000:]}")


def _faster(theirs: float, ours: float) -> str:
    """``galton Nx faster`` (or ``crowd-kit Nx faster`` where it is; a ratio below 1 was printed
    as "galton 0x faster"), one decimal below 10x."""
    ratio = theirs / ours
    who, r = ("galton", ratio) if ratio >= 1 else ("crowd-kit", 1.0 / ratio)
    return f"{who} {r:.1f}x faster" if r < 10 else f"{who} {r:.0f}x faster"


def speed_section(args: argparse.Namespace, argv: Sequence[str]) -> str:
    """Run the speed jobs in subprocesses and return the Markdown table."""
    jobs = ["bt:galton:big", "bt:galton-cold:big", "noisy_bt:galton:big", "noisy_bt:galton:small"]
    if not args.skip_crowdkit:
        jobs += ["bt:crowdkit:big", "noisy_bt:crowdkit:small"]
        if args.noisy_crowdkit == "big":
            jobs.append("noisy_bt:crowdkit:big")
    res = {}
    for job in jobs:
        print(f"running {job} ...", file=sys.stderr, flush=True)
        res[job] = _run_subprocess(job, argv)
    rows = []

    def per_it(r: dict[str, Any], seconds: float | None = None) -> float | None:
        s = r["seconds"] if seconds is None else seconds
        return s / r["iterations"] if r.get("iterations") else None

    def row(label: str, r: dict[str, Any], note: str = "", seconds: float | None = None) -> list[str]:
        s = r["seconds"] if seconds is None else seconds
        it = per_it(r, seconds)
        return [label, f"{r['rows']:,}", f"{s:.2f}", str(r["iterations"]), "n/a" if it is None else f"{it:.4f}",
                f"{r['spearman']:.4f}", f"{r['peak_mib']:.0f}", note]

    def per_iteration_note(theirs: dict[str, Any], ours: dict[str, Any]) -> str:
        a, b = per_it(theirs), per_it(ours)
        if not (a and b):
            return ""
        ratio = a / b
        return (f"; per iteration {_faster(a, b)} (target >= {PER_ITERATION_TARGET:.0f}x: "
                f"{'met' if ratio >= PER_ITERATION_TARGET else 'NOT met'})")

    g, n = res["bt:galton:big"], res["noisy_bt:galton:big"]
    rows.append(row("BradleyTerry galton (converged)", g))
    rows.append(row("BradleyTerry galton, first fit of a new process", res["bt:galton-cold:big"],
                    "includes loading the compiled kernels from numba's disk cache"))
    if "bt:crowdkit:big" in res:
        c = res["bt:crowdkit:big"]
        rows.append(row("BradleyTerry crowd-kit (stops at 2)", c,
                        f"{_faster(c['seconds'], g['seconds'])} to convergence"
                        + per_iteration_note(c, g)))
        # crowd-kit's first fit in a process pays for fresh memory: its dense items x items win
        # matrix (800 MB at 10k items) is page-faulted in; later fits reuse the freed memory
        rows.append(row("BradleyTerry crowd-kit, its first fit", c,
                        f"{_faster(c['first'], g['seconds'])} (against galton's first fit of a new "
                        f"process: {_faster(c['first'], res['bt:galton-cold:big']['seconds'])})", seconds=c["first"]))
    rows.append(row("NoisyBT galton", n))
    if "noisy_bt:crowdkit:big" in res:
        c = res["noisy_bt:crowdkit:big"]
        rows.append(row("NoisyBT crowd-kit", c, f"measured: {_faster(c['seconds'], n['seconds'])}"
                        + per_iteration_note(c, n)))
    gs = res["noisy_bt:galton:small"]
    rows.append(row("NoisyBT galton, small", gs))
    if "noisy_bt:crowdkit:small" in res:
        cs = res["noisy_bt:crowdkit:small"]
        per_eval = (cs["seconds"] / cs["iterations"]) / (gs["seconds"] / gs["iterations"])
        note = (f"measured: {_faster(cs['seconds'], gs['seconds'])} "
                + (f"({per_eval:.1f}x per evaluation)" if per_eval < 10 else f"({per_eval:.0f}x per evaluation)"))
        rows.append(row("NoisyBT crowd-kit, small", cs, note))
    if "noisy_bt:crowdkit:small" in res and "noisy_bt:crowdkit:big" not in res:
        extra = cs["seconds"] * n["rows"] / cs["rows"]
        rows.append(["NoisyBT crowd-kit, EXTRAPOLATED", f"{n['rows']:,}", f"~{extra:.0f}", "(as small)",
                     "n/a", "n/a", "n/a",
                     f"~{_faster(extra, n['seconds'])} (extrapolated)"])
    head = ["model", "comparisons", "seconds", "iterations / evaluations", "s / iteration", "Spearman",
            "peak MiB", "note"]
    return markdown_table(head, rows, ["l", "r", "r", "r", "r", "r", "r", "l"])


# ------------------------------------------------------------------------------------ real data
def preferences_from_ratings(judgments: Any, ties: bool = False) -> Any:
    """Pairwise preferences implied by ratings: for every worker and every two tasks the worker
    rated, the higher-rated task is preferred. Equal ratings are skipped, or with ``ties=True``
    kept with the label ``"tie"`` (ids then become strings, so that one column holds both).
    Returns a pandas frame ``worker, left, right, label``."""
    import pandas as pd

    df = judgments.to_pandas() if hasattr(judgments, "to_pandas") else judgments
    rows = []
    for worker, g in df.groupby("worker", sort=True):
        t = g["task"].to_numpy()
        if ties:
            t = t.astype(str).astype(object)
        y = g["label"].to_numpy(dtype=float)
        i, j = np.triu_indices(t.size, k=1)
        keep = (y[i] != y[j]) | ties
        i, j = i[keep], j[keep]
        label = np.where(y[i] > y[j], t[i], t[j])
        if ties:
            label[y[i] == y[j]] = "tie"
        rows.append(pd.DataFrame({"worker": worker, "left": t[i], "right": t[j], "label": label}))
    return pd.concat(rows, ignore_index=True)


def real_evidence() -> tuple[str, str]:
    """Two Markdown tables: Spearman with the expert means, and mean absolute error."""
    from .. import datasets
    from ..aggregator.bradley_terry import BradleyTerry, CrowdBT, NoisyBradleyTerry
    from ..aggregator.ratings import GaussianRating, MeanRating, MedianRating, TrimmedMeanRating
    from ..aggregator.truth_discovery import CATD, PM

    numeric = [("Mean", MeanRating), ("Median", MedianRating), ("Trimmed10", TrimmedMeanRating),
               ("Gaussian", GaussianRating), ("CATD", CATD), ("CATD n_iter=100", lambda: CATD(n_iter=100)), ("PM", PM)]
    pairwise = [("BT", BradleyTerry), ("CrowdBT", CrowdBT), ("NoisyBT", NoisyBradleyTerry)]
    rho_rows, mae_rows = [], []
    warnings.simplefilter("ignore")
    for name in AFFECT + ["zheng_n_emotion"]:
        d = datasets.load_shared(name, frame="pandas")
        gold = d.gold.set_index("task")["label"].astype(float)
        rho, mae = [name], [name]
        for _, cls in numeric:
            s = cls().fit(d.judgments).scores_.reindex(gold.index)
            rho.append(f"{spearman(s.to_numpy(), gold.to_numpy()):.3f}")
            mae.append(f"{float((s - gold).abs().mean()):.2f}")
        if name != "zheng_n_emotion":  # 700 tasks of 7 emotions on different scales: ratings only
            prefs = preferences_from_ratings(d.judgments)
            for _, cls in pairwise:
                s = cls().fit(prefs).scores_.reindex(gold.index)
                rho.append(f"{spearman(s.to_numpy(), gold.to_numpy()):.3f}")
            rho.append(f"{len(prefs):,}")
        else:
            rho += ["", "", "", ""]
        rho_rows.append(rho)
        mae_rows.append(mae)
    rho_head = ["dataset", *[n for n, _ in numeric], *[f"{n} (pairs)" for n, _ in pairwise], "pairs"]
    mae_head = ["dataset (MAE)", *[n for n, _ in numeric]]
    return markdown_table(rho_head, rho_rows), markdown_table(mae_head, mae_rows)


# ------------------------------------------------------------------------------------ study
def expert_study(n_items: int = 200, seed: int = 0) -> str:
    """Comparisons per item until the crowd's BradleyTerry ranking matches one expert's Kendall tau."""
    from ..aggregator.bradley_terry import BradleyTerry, CrowdBT
    from ..datasets.simulate_prefs import simulate_pairwise

    warnings.simplefilter("ignore")
    rng = np.random.default_rng([seed, 7])  # not the simulator's own streams (SeedSequence(seed).spawn)
    base = simulate_pairwise(1, n_responses=n_items, seed=seed)
    expert = base.quality + rng.normal(0, 0.45, n_items)  # one careful expert ranks every item
    tau_expert = kendall_tau(expert, base.quality)
    rows = []
    for label, reliability, adv, rnd in (("low (η 0.9-1)", (0.9, 1.0), 0.0, 0.0),
                                         ("medium (η 0.7-1, 10% random)", (0.7, 1.0), 0.0, 0.1),
                                         ("high (η 0.6-0.9, 10% random, 5% adversarial)", (0.6, 0.9),
                                          0.05, 0.1)):
        found = ""
        taus = []
        for per_item in (2, 5, 10, 20, 50, 100):
            s = simulate_pairwise(per_item * n_items // 2, n_responses=n_items, n_workers=50, seed=seed,
                                  reliability=reliability, adversarial=adv, random=rnd)
            tau = _tau_of(BradleyTerry().fit(s.data), s.quality)
            taus.append(f"{per_item}:{tau:.2f}")
            if not found and tau >= tau_expert:
                found = str(per_item)
        crowd_bt = _tau_of(CrowdBT().fit(s.data), s.quality)
        rows.append([label, found or "> 100", " ".join(taus), f"{crowd_bt:.2f}"])
    head = ["rater disagreement", "comparisons/item to match the expert", "BT tau by comparisons/item",
            "CrowdBT tau at 100/item"]
    table = markdown_table(head, rows, ["l", "r", "l", "r"])
    return f"One expert's Kendall tau with the true order: {tau_expert:.2f}\n\n" + table


def _tau_of(model: Any, quality: np.ndarray) -> float:
    est = np.zeros(quality.size)  # an item nobody compared: the average item's score, 0
    est[model.comparisons_.item_names.astype(int)] = model.scores_values_
    return kendall_tau(est, quality)


# ------------------------------------------------------------------------------------ CLI
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.preferences",
                                description=__doc__.split("\n")[0])
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help=f"comma-separated sections to run, of {', '.join(SECTIONS)} (default: all)")
    p.add_argument("--comparisons", type=int, default=1_000_000)
    p.add_argument("--items", type=int, default=10_000)
    p.add_argument("--raters", type=int, default=1000)
    p.add_argument("--small", type=int, default=20_000)
    p.add_argument("--skip-crowdkit", action="store_true")
    p.add_argument("--repeat", type=at_least_one, default=3,
                   help="fits per job, their median counts (crowd-kit's full-size NoisyBT: always one)")
    p.add_argument("--noisy-crowdkit", choices=["big", "small"], default="big",
                   help="crowd-kit's NoisyBradleyTerry at full size (about 7 minutes at 1M; default) or only "
                        "on the small data, its full-size time extrapolated")
    p.add_argument("--out", default=None, help="also write the report to this Markdown file (atomically)")
    p.add_argument("--job", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.job:
        print(_MARK + json.dumps(speed_job(args.job, args)), flush=True)
        return 0
    passthrough = [f"--repeat={args.repeat}", f"--comparisons={args.comparisons}", f"--items={args.items}",
                   f"--raters={args.raters}", f"--small={args.small}"]
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:  # a misspelt section was dropped, silently
        what = f"unknown section(s) {', '.join(map(repr, unknown))}" if unknown else "no section given"
        p.error(f"--sections: {what}; choose from {', '.join(SECTIONS)}, comma-separated")
    parts = [f"# galton preference benchmarks\n\nmachine: {os.cpu_count()} CPUs, load average "
             f"{os.getloadavg()[0]:.1f} at start; python {sys.version.split()[0]}\n"]
    if "speed" in sections:
        parts.append("## Speed (simulated)\n\n" + speed_section(args, passthrough))
    if "real" in sections:
        from .. import datasets

        if datasets.shared_root() is None:
            parts.append("## Real evidence\n\nskipped: ../shared/datasets not found")
        else:
            rho, mae = real_evidence()
            parts.append("## Real evidence: Spearman with the expert means\n\n" + rho
                         + "\n\n## Numeric ratings: mean absolute error against the expert means\n\n" + mae)
    if "study" in sections:
        parts.append("## Crowd versus one expert ranker (simulated, 200 items)\n\n" + expert_study())
    return emit("\n\n".join(parts) + "\n", args.out)


if __name__ == "__main__":
    raise SystemExit(main())
