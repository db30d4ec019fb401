"""The default's calibration across task sizes, on the shared datasets with gold.

For each categorical dataset with gold (``galton.benchmarks.accuracy.dataset_names``), ``bds`` as it is by
default (calibrated) and with ``calibrate=False`` (raw), scored on the gold tasks by
``galton.benchmarks.accuracy.calibration_of`` (confidence: mean top probability; ECE: 10 equal-width bins of it;
NLL: mean -log probability of the gold label, floored at 1e-6):

(a) in-sample: fitted on the whole dataset (the figures of docs/research/calibration.md and the README);
(b) held-out: fitted on a random half of the tasks (seed 0); the other half's gold tasks, their judgments by
    workers of the fit only, cut to 1, 2, 3 and 5 judgments (a random k of them, seed 1; tasks with fewer are
    left out of that column), predicted by ``predict_proba``;
(c) mixed sizes: a random half of the tasks (seed 0) cut to 3 judgments (seed 2) inside one fit; the cut tasks
    and the intact ones scored apart.

Each cell is ``ECE / NLL``; the last rows are the means over the datasets (of (b) and (c): over those with such
tasks), with the mean confidence and accuracy. The labels of the calibrated fit are checked to be those of the raw
one (tempering keeps each row's order). A second table gives (a) per dataset as in docs/research/calibration.md,
with the rho of the grid best against the gold (the raw posteriors tempered by it; no user has gold). About 5
minutes on 2 idle cores (a galton without ``rho_``, before 2026-12-07, runs it too: one temperature per fit).

    python docs/research/calibration_task_size.py [DATASET ...] [--json FILE]
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pandas as pd

import galton
from galton.benchmarks.accuracy import calibration_of, dataset_names, load_dataset

SIZES = (1, 2, 3, 5)
CUT = 3


def _fit(df: pd.DataFrame, calibrate: bool) -> galton.BayesianDawidSkene:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return galton.BayesianDawidSkene(calibrate=calibrate).fit(df)


def _tasks(df: pd.DataFrame) -> tuple[set, set]:
    tasks = df["task"].drop_duplicates().sample(frac=1.0, random_state=0).to_numpy()
    half = len(tasks) // 2
    return set(tasks[:half]), set(tasks[half:])


def _cut(df: pd.DataFrame, k: int, seed: int, whole: bool = True) -> pd.DataFrame:
    """k random judgments of each task (``whole``: only tasks with at least k)."""
    df = df.sample(frac=1.0, random_state=seed)
    if whole:
        df = df[df.groupby("task")["task"].transform("size") >= k]
    return df.groupby("task", sort=False).head(k)


def _score(probas: pd.DataFrame, gold: pd.Series, tasks: set | None = None) -> tuple[float, ...] | None:
    g = gold if tasks is None else gold[gold.index.isin(tasks)]
    return calibration_of(probas, g) if len(g) else None


def _best_with_gold(raw: galton.BayesianDawidSkene, df: pd.DataFrame, gold: pd.Series) -> dict:
    """The rho of the grid whose tempering of the raw posteriors has the smallest NLL of the gold labels (which no
    user has), and that NLL (none where this galton has no rho)."""
    try:
        from galton.aggregator._calibrate import RHOS, task_temperatures, temper
    except ImportError:
        return {"rho_gold": float("nan"), "nll_gold": float("nan")}
    n = df.groupby("task").size().reindex(raw.probas_.index).to_numpy()
    values = raw.probas_.to_numpy(dtype=float)
    nll = [calibration_of(pd.DataFrame(temper(values, task_temperatures(n, rho)), index=raw.probas_.index,
                                       columns=raw.probas_.columns), gold)[3] for rho in RHOS]
    best = int(np.argmin(nll))
    return {"rho_gold": float(RHOS[best]), "nll_gold": float(nll[best])}


def measure(name: str) -> dict:
    df, gold = load_dataset(name)
    df = df.dropna(subset=["task", "worker", "label"])
    out: dict = {"per_task": len(df) / df["task"].nunique()}
    for cal in (True, False):
        key = "cal" if cal else "raw"
        m = _fit(df, cal)
        out[f"a_{key}"] = _score(m.probas_, gold)
        if cal:
            out["temperature"] = float(m.temperature_)
            out["rho"] = float(getattr(m, "rho_", float("nan")))
            labels_cal = m.labels_
        else:
            out["labels_same"] = bool((labels_cal.reindex(m.labels_.index) == m.labels_).all())
            out.update(_best_with_gold(m, df, gold))
    fit_tasks, new_tasks = _tasks(df)
    fit = df[df["task"].isin(fit_tasks)]
    new = df[df["task"].isin(new_tasks & set(gold.index)) & df["worker"].isin(set(fit["worker"]))]
    for cal in (True, False):
        key = "cal" if cal else "raw"
        m = _fit(fit, cal)
        if cal:
            out["b_temperature"], out["b_rho"] = float(m.temperature_), float(getattr(m, "rho_", float("nan")))
        for k in SIZES:
            part = _cut(new, k, 1)
            out[f"b{k}_{key}"] = _score(m.predict_proba(part), gold, set(part["task"])) if len(part) else None
    cut = _cut(df[df["task"].isin(fit_tasks)], CUT, 2, whole=False)
    mixed = pd.concat([df[df["task"].isin(new_tasks)], cut])
    for cal in (True, False):
        key = "cal" if cal else "raw"
        m = _fit(mixed, cal)
        out[f"c_cut_{key}"] = _score(m.probas_, gold, fit_tasks)
        out[f"c_whole_{key}"] = _score(m.probas_, gold, new_tasks)
        if cal:
            out["c_temperature"], out["c_rho"] = float(m.temperature_), float(getattr(m, "rho_", float("nan")))
    return out


COLUMNS = ["a"] + [f"b{k}" for k in SIZES] + ["c_cut", "c_whole"]
HEADS = ["in-sample"] + [f"held-out {k}" for k in SIZES] + [f"mixed: cut to {CUT}", "mixed: intact"]


def _cell(x: tuple | None) -> str:
    return "-" if x is None else f"{x[2]:.3f} / {x[3]:.3f}"


def table(results: dict) -> str:
    lines = ["| dataset | per task | tau (rho) | " + " | ".join(HEADS) + " |",
             "|:--|--:|--:|" + "--:|" * len(HEADS)]
    for name, r in results.items():
        rho = "" if np.isnan(r["rho"]) else f" ({r['rho']:.3g})"
        for key, what in (("cal", f"{r['temperature']:.3f}{rho}"), ("raw", "raw")):
            cells = [_cell(r[f"{c}_{key}"]) for c in COLUMNS]
            label = name if key == "cal" else ""
            lines.append(f"| {label} | {r['per_task']:.1f} | {what} | " + " | ".join(cells) + " |")
    for key in ("cal", "raw"):
        for stat, i in (("ECE", 2), ("NLL", 3), ("confidence", 1), ("accuracy", 0)):
            means = []
            for c in COLUMNS:
                vals = [r[f"{c}_{key}"][i] for r in results.values() if r[f"{c}_{key}"] is not None]
                means.append(f"{np.mean(vals):.3f} ({len(vals)})" if vals else "-")
            lines.append(f"| **mean {stat}** | | {key} | " + " | ".join(means) + " |")
    lines += ["", "| dataset | judgments per task | rho chosen (temperature at the mean) | rho best with gold "
              "| accuracy | confidence raw -> calibrated | ECE raw -> calibrated | NLL raw -> calibrated (best rho) |",
              "|:--|--:|--:|--:|--:|--:|--:|--:|"]
    for name, r in results.items():
        a, b = r["a_raw"], r["a_cal"]
        lines.append(f"| {name} | {r['per_task']:.1f} | {r['rho']:.3f} ({r['temperature']:.3f}) | {r['rho_gold']:.3f} "
                     f"| {a[0]:.3f} | {a[1]:.3f} -> {b[1]:.3f} | {a[2]:.3f} -> {b[2]:.3f} | {a[3]:.3f} -> {b[3]:.3f} "
                     f"({r['nll_gold']:.3f}) |")
    same = all(r["labels_same"] for r in results.values())
    lines.append(f"\nlabels of the calibrated fits equal to the raw ones on every dataset: {same}")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    path = None
    if "--json" in argv:
        i = argv.index("--json")
        path, argv = argv[i + 1], argv[:i] + argv[i + 2:]
    results = {}
    for name in dataset_names(argv or None):
        results[name] = measure(name)
        print(name, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in results[name].items()
                     if not isinstance(v, tuple)}, flush=True)
    if path:
        with open(path, "w") as f:
            json.dump(results, f)
    print(table(results))


if __name__ == "__main__":
    main(sys.argv[1:])
