"""The result of the accuracy benchmark (:mod:`galton.benchmarks.accuracy`) and its Markdown
report: accuracy and fit-time tables, the default model against majority vote and against each
crowd-kit model, and crowd-kit's published numbers next to this run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..aggregator._calibrate import task_temperatures, temper
from ._common import fmt_float, fmt_seconds, markdown_table, mean_or_none

__all__ = ["MV_REF", "PUBLISHED", "PUBLISHED_NAMES", "AccuracyResult", "Cell", "accuracy_table", "published_table",
           "render", "time_table", "versus_best", "versus_crowdkit", "versus_mv", "calibration_of",
           "calibration_table", "as_fitted", "task_temperatures_of", "ECE_BINS", "NLL_FLOOR"]

#: equal-width bins of the top probability for the expected calibration error
ECE_BINS = 10
#: the probability floor of the negative log-likelihood (a sure miss costs -log(1e-6) = 13.8 nats)
NLL_FLOOR = 1e-6

#: crowd-kit's published accuracies (Ustalov et al., "Learning from Crowds with Crowd-Kit",
#: JOSS 9(96), 2024), by crowd-kit model and dataset.
PUBLISHED: dict[str, dict[str, float]] = {
    "MV": {"zheng_d_product": 0.897, "zheng_d_possent": 0.932, "zheng_s_rel": 0.536, "zheng_s_adult": 0.763},
    "Wawa": {"zheng_d_product": 0.897, "zheng_d_possent": 0.951, "zheng_s_rel": 0.557, "zheng_s_adult": 0.766},
    "DS": {"zheng_d_product": 0.940, "zheng_d_possent": 0.960, "zheng_s_rel": 0.615, "zheng_s_adult": 0.748},
    "GLAD": {"zheng_d_product": 0.928, "zheng_d_possent": 0.948, "zheng_s_rel": 0.511, "zheng_s_adult": 0.760},
    "MACE": {"zheng_d_product": 0.929, "zheng_d_possent": 0.950, "zheng_s_rel": 0.501, "zheng_s_adult": 0.763},
}
PUBLISHED_NAMES = {"zheng_d_product": "D_Product", "zheng_d_possent": "D_PosSent",
                   "zheng_s_rel": "S_Rel", "zheng_s_adult": "S_Adult"}

MV_REF = "ref:MV"  #: the column of the plain majority vote computed when galton:mv is missing


@dataclass
class Cell:
    accuracy: float | None = None
    seconds: float | None = None
    status: str = "ok"  # "ok", "n/a" (the model raised or does not apply) or "skipped (slow)"
    error: str | None = None
    calibration: tuple[float, float, float, float] | None = None  # see calibration_of
    calibration_as_fitted: tuple[float, float, float, float] | None = None  # before a model's tempering

    def text(self) -> str:
        return fmt_float(self.accuracy) if self.status == "ok" else self.status


@dataclass
class AccuracyResult:
    datasets: list[str]
    columns: list[str]
    cells: dict[str, dict[str, Cell]]  # dataset -> column -> cell
    sizes: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # judgments, gold tasks, K
    default_column: str | None = None
    mv_column: str | None = None
    notes: list[str] = field(default_factory=list)

    def value(self, dataset: str, column: str) -> float | None:
        cell = self.cells[dataset].get(column)
        return cell.accuracy if cell is not None and cell.status == "ok" else None

    def mean(self, column: str, datasets: Sequence[str] | None = None) -> tuple[float | None, int]:
        vals = [self.value(d, column) for d in (datasets or self.datasets)]
        vals = [v for v in vals if v is not None]
        return mean_or_none(vals), len(vals)


def calibration_of(probas: Any, gold: Any) -> tuple[float, float, float, float] | None:
    """(accuracy, mean top probability, expected calibration error, negative log-likelihood) of a
    pandas task x label probability frame on the gold tasks it covers; None without such a frame.
    The accuracy here is the arg max's (ties to the first column), for comparison with the confidence."""
    if not hasattr(probas, "reindex") or getattr(probas, "ndim", 0) != 2:
        return None
    p = probas.reindex(gold.index)
    keep = p.notna().all(axis=1).to_numpy()
    if not keep.any():
        return None
    values = p.to_numpy(dtype=float)[keep]
    at = {label: i for i, label in enumerate(p.columns)}
    truth = np.array([at.get(v, -1) for v in gold.to_numpy()[keep]])
    top = values.max(axis=1)
    right = (values.argmax(axis=1) == truth).astype(float)
    given = np.where(truth >= 0, values[np.arange(truth.size), np.maximum(truth, 0)], 0.0)
    nll = float(-np.log(np.clip(given, NLL_FLOOR, 1.0)).mean())
    bins = np.clip((top * ECE_BINS).astype(int), 0, ECE_BINS - 1)
    ece = sum(float((bins == b).mean()) * abs(float(top[bins == b].mean() - right[bins == b].mean()))
              for b in range(ECE_BINS) if (bins == b).any())
    return float(right.mean()), float(top.mean()), ece, nll


def as_fitted(probas: Any, temperature: Any) -> Any:
    """The posteriors a model reported before tempering them by ``temperature`` (one number, or one per row of
    ``probas``: the default's, by each task's judgments, :func:`task_temperatures_of`): the same tempering by
    ``1 / temperature`` (:func:`galton.aggregator._calibrate.temper`), its inverse up to rounding."""
    temperature = np.asarray(temperature, dtype=float)
    if np.all(temperature >= 1.0):
        return probas
    values = temper(probas.to_numpy(dtype=float), 1.0 / temperature)
    return type(probas)(values, index=probas.index, columns=probas.columns)


def task_temperatures_of(model: Any, probas: Any) -> Any:
    """The temperature of each row of ``probas`` (the model's ``probas_``): by the task's judgments in the fit at
    the model's ``rho_`` (:func:`galton.aggregator._calibrate.task_temperatures`; 1 for a task one worker judged,
    in repeated rows too: its posterior predictive), else its ``temperature_``; None for a model without one."""
    rho, judgments = getattr(model, "rho_", None), getattr(model, "judgments_", None)
    if rho is None or judgments is None or probas is None:
        return getattr(model, "temperature_", None)
    n = judgments.counts_per_task().astype(float)
    if judgments.n_judgments:  # a task of one worker (repeated rows too) gets the posterior predictive, untempered
        first = np.full(judgments.n_tasks, -1, dtype=np.int64)
        first[judgments.task[::-1]] = judgments.worker[::-1]
        others = np.bincount(judgments.task, weights=judgments.worker != first[judgments.task],
                             minlength=judgments.n_tasks)
        n[others == 0] = np.minimum(n[others == 0], 1.0)
    counts = dict(zip(judgments.task_names.tolist(), n.tolist()))
    return task_temperatures(np.array([counts.get(t, 0) for t in probas.index], dtype=float), rho)


def calibration_table(result: AccuracyResult) -> str:
    """Per model, means over the datasets where it gave probabilities: accuracy, confidence, ECE, NLL;
    a model that tempers its posteriors also has a row for them as fitted."""
    rows = []
    for c in result.columns:
        for name, field_name in ((c, "calibration"), (f"{c} as fitted", "calibration_as_fitted")):
            vals = [getattr(cell, field_name) for d in result.datasets
                    if (cell := result.cells[d].get(c)) is not None and cell.status == "ok"
                    and getattr(cell, field_name)]
            if vals:
                means = np.mean(np.array(vals), axis=0)
                rows.append([name, str(len(vals)), *(f"{v:.3f}" for v in means)])
    if not rows:
        return ""
    return markdown_table(["model", "datasets", "accuracy", "mean confidence", "ECE", "NLL (nats)"], rows)


def _mean_text(result: AccuracyResult, col: str) -> str:
    m, n = result.mean(col)
    if m is None:
        return "n/a"
    return fmt_float(m) + ("" if n == len(result.datasets) else f" (n={n})")


def accuracy_table(result: AccuracyResult) -> str:
    rows = [[d, *(result.cells[d][c].text() for c in result.columns)] for d in result.datasets]
    rows.append(["mean", *(_mean_text(result, c) for c in result.columns)])
    return markdown_table(["dataset", *result.columns], rows)


def time_table(result: AccuracyResult) -> str:
    cols = [c for c in result.columns if c != MV_REF]

    def sec(d: str, c: str) -> str:
        cell = result.cells[d][c]
        return fmt_seconds(cell.seconds) if cell.status == "ok" else cell.status

    rows = [[d, f"{result.sizes[d][0]:,}", *(sec(d, c) for c in cols)] for d in result.datasets]

    def total(c: str) -> str:  # a column that skipped or failed datasets says over how many it adds
        ran = [result.cells[d][c].seconds for d in result.datasets if result.cells[d][c].status == "ok"]
        text = fmt_seconds(sum(s or 0.0 for s in ran))
        return text if len(ran) == len(result.datasets) else f"{text} (n={len(ran)})"

    rows.append(["total", f"{sum(s[0] for s in result.sizes.values()):,}", *(total(c) for c in cols)])
    return markdown_table(["dataset", "judgments", *cols], rows)


def versus_mv(result: AccuracyResult) -> tuple[str, list[str]]:
    """Table of the default model minus majority vote (points) and the datasets > 1 point below."""
    dcol, mcol = result.default_column, result.mv_column
    rows, flagged = [], []
    for d in result.datasets:
        a, m = result.value(d, dcol) if dcol else None, result.value(d, mcol) if mcol else None
        diff = None if a is None or m is None else 100.0 * (a - m)
        flag = ""
        if diff is not None and diff < -1.0:
            flag = "**more than 1 point below MV**"
            flagged.append(d)
        rows.append([d, fmt_float(a), fmt_float(m), "n/a" if diff is None else f"{diff:+.1f}", flag])
    table = markdown_table(["dataset", str(dcol), str(mcol), "difference (points)", "flag"], rows,
                           align=["l", "r", "r", "r", "l"])
    return table, flagged


def versus_best(result: AccuracyResult, within: float = 2.0) -> tuple[str, list[str], float | None]:
    """The default model against the best galton model on each dataset (chosen after seeing the
    gold): a table, the datasets where the default is more than ``within`` points below it, and the
    mean accuracy of that per-dataset choice (what no rule without gold can beat)."""
    dcol = result.default_column
    ours = [c for c in result.columns if c.startswith("galton:")]
    rows, flagged, best_vals = [], [], []
    for d in result.datasets:
        vals = {c: result.value(d, c) for c in ours}
        vals = {c: v for c, v in vals.items() if v is not None}
        a = result.value(d, dcol) if dcol else None
        if not vals:
            rows.append([d, fmt_float(a), "n/a", "n/a", "n/a", ""])
            continue
        top = max(vals.values())
        names = ", ".join(c.split(":", 1)[1] for c, v in vals.items() if v == top)
        best_vals.append(top)
        gap = None if a is None else 100.0 * (a - top)
        flag = ""
        if gap is not None and gap < -within:
            flag = f"**more than {within:g} points below**"
            flagged.append(d)
        rows.append([d, fmt_float(a), fmt_float(top), names, "n/a" if gap is None else f"{gap:+.1f}", flag])
    table = markdown_table(["dataset", str(dcol), "best galton model", "which", "difference (points)", "flag"],
                           rows, align=["l", "r", "r", "l", "r", "l"])
    return table, flagged, mean_or_none(best_vals) if len(best_vals) == len(result.datasets) else None


def versus_crowdkit(result: AccuracyResult) -> tuple[str, bool | None]:
    """Default model's mean against each crowd-kit model's mean, on the datasets both have."""
    dcol = result.default_column
    ck_cols = [c for c in result.columns if c.startswith("crowdkit:")]
    if dcol is None or dcol not in result.columns or not ck_cols:
        return "", None
    rows, beats_all = [], True
    for c in ck_cols:
        common = [d for d in result.datasets if result.value(d, c) is not None and result.value(d, dcol) is not None]
        ours, _ = result.mean(dcol, common) if common else (None, 0)
        theirs, _ = result.mean(c, common) if common else (None, 0)
        beats = ours is not None and theirs is not None and ours > theirs
        beats_all &= beats
        rows.append([c, str(len(common)), fmt_float(theirs), fmt_float(ours),
                     "n/a" if ours is None or theirs is None else ("yes" if beats else "no")])
    table = markdown_table(["crowd-kit model", "datasets in common", "crowd-kit mean", f"{dcol} mean",
                            f"{dcol} beats it"], rows)
    return table, beats_all


def published_table(result: AccuracyResult) -> str:
    sets = [d for d in PUBLISHED_NAMES if d in result.datasets]
    if not sets:
        return ""
    rows = []
    for short, pub in PUBLISHED.items():
        col = f"crowdkit:{short}"
        cells = []
        for d in sets:
            ours = result.value(d, col) if col in result.columns else None
            shown = result.cells[d][col].text() if col in result.columns else "not run"
            cells.append(f"{shown if ours is None else fmt_float(ours)} / {pub[d]:.3f}")
        rows.append([short, *cells])
    if result.default_column in result.columns:
        rows.append([result.default_column,
                     *(f"{result.cells[d][result.default_column].text()} / -" for d in sets)])
    return markdown_table(["method", *(f"{PUBLISHED_NAMES[d]} (this run / JOSS 2024)" for d in sets)], rows)


def render(result: AccuracyResult, header: str = "") -> str:
    parts = [header or "# Accuracy on real datasets with gold",
             "Accuracy = share of gold tasks with judgments whose aggregated label equals gold. "
             "Default hyperparameters everywhere; `n/a`: the model raised on that dataset or does not "
             "apply; `skipped (slow)`: a slow crowd-kit model over its size limit or time budget "
             "(see the notes). "
             "A mean over fewer than all datasets shows its count.",
             accuracy_table(result)]
    if result.default_column:
        table, flagged = versus_mv(result)
        parts += [f"## Default model `{result.default_column}` versus majority vote (`{result.mv_column}`)",
                  table,
                  ("Datasets more than 1 point below MV: " + ", ".join(flagged)) if flagged
                  else "No dataset is more than 1 point below MV."]
        best_table, below, oracle = versus_best(result)
        m_default, _ = result.mean(result.default_column)
        parts += ["## Default model versus the best galton model on each dataset (chosen with gold)",
                  best_table,
                  ("Datasets where the default is more than 2 points below the best galton model: "
                   + ", ".join(below)) if below else "On no dataset is the default more than 2 points below "
                  "the best galton model.",
                  f"Choosing the best galton model per dataset after seeing the gold: mean "
                  f"**{fmt_float(oracle)}** (the default: {fmt_float(m_default)}); no rule without gold "
                  "can do better with these models."]
        ck_table, beats_all = versus_crowdkit(result)
        if ck_table:
            verdict = "yes" if beats_all else "no"
            parts += ["## Default model versus each crowd-kit model (means over the datasets both ran)",
                      ck_table, f"`{result.default_column}` beats every crowd-kit model's mean: **{verdict}**"]
    cal = calibration_table(result)
    if cal:
        parts += ["## Calibration of the probabilities (means over the datasets)",
                  f"On the gold tasks: the share right, the mean probability of the chosen label, the expected "
                  f"calibration error ({ECE_BINS} equal bins of that probability) and the mean negative "
                  f"log-likelihood of the gold label (probabilities floored at {NLL_FLOOR:g}). A calibrated "
                  "model's mean confidence equals its accuracy. The default (`bds`) tempers each task's posterior "
                  "by a temperature by its number of judgments, chosen on held-out judgments, without gold "
                  "(`calibrate=True`); its row "
                  "'as fitted' is the same fit before that. The share right here is the arg max of the "
                  "probabilities, ties to the first label: a model with many exact ties (majority vote) scores "
                  "less than in the table above, which takes each model's own labels.", cal]
    pub = published_table(result)
    if pub:
        parts += ["## crowd-kit: this run versus its published numbers", pub]
    parts += ["## Fit time (seconds, one run)", time_table(result)]
    notes = list(result.notes)
    for status in ("skipped (slow)", "n/a"):
        for c in result.columns:
            why: dict[str, list[str]] = {}
            for d in result.datasets:
                cell = result.cells[d][c]
                if cell.status == status:
                    why.setdefault(cell.error or "no reason recorded", []).append(d)
            notes += [f"`{c}` {status} on {', '.join(ds)}: {e}" for e, ds in why.items()]
    if notes:
        parts += ["## Notes", "\n".join(f"- {n}" for n in notes)]
    return "\n\n".join(parts) + "\n"
