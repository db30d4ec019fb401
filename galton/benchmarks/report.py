"""The report of a study: tables (Parquet and Markdown), PNG plots and one ``index.html``.

:func:`write_report` writes a directory, atomically (:func:`galton.io.atomic_dir`)::

    OUT/index.html                 the answer first, then the plots, then the details (below)
    OUT/study.toml, study.json     the study as run; seeds, versions, timing, notes
    OUT/tables/NAME.parquet|.md    curves, experts, crowd_equivalent, sweep, sources, runs
    OUT/plots/curve_NN_SOURCE.png  accuracy against k, interval bands per model, expert levels
    OUT/plots/crowd_equivalent.png crowd-equivalent of every expert, per source and model
    OUT/plots/sweep_AXIS.png       simulation grids: crowd at k_max and crowd-equivalent per axis

The page of a categorical study (:func:`categorical_page`) opens with the question and the verdict
table (:mod:`galton.benchmarks._verdict`: one row per source, the expert and the best model at the
largest k with their intervals, the crowd-equivalent k and a verdict in words), then the plots
(:mod:`galton.benchmarks._plots`), the worker report of the real datasets and the details (pivoted
crowd-equivalents, experts, curve tables, methods, sources, fits; :mod:`galton.benchmarks._page`).

The plots, page and summary come from the hooks of the study's kind (:mod:`galton.benchmarks.kinds`):
a preference study (``meta["kind"]`` is "preference") writes the same kinds of files with Kendall
tau in the place of accuracy, by :mod:`galton.benchmarks._report_prefs`.

Plots use matplotlib's object API on the Agg canvas (no pyplot, no global backend change);
matplotlib is the ``report`` extra: ``pip install 'galton[report]'``.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from ._common import markdown_table
from ._evaluate import TABLES
from ._page import fmt, html_table, img, page_head, page_tail, page_top, settings_line, workers_section
from ._plots import COLORS, figure, k_axis, plot_crowd_equivalent, plot_curves, plot_sweep, source_label
from ._verdict import crowd_equivalent_pivot, level_text, verdict_html, verdict_lines, verdict_rows
from .kinds import kind_of, study_kind
from .runner import StudyResult

__all__ = ["write_report", "check_out", "summary", "markdown", "METHODS", "methods", "COLORS", "figure",
           "html_table", "k_axis", "k_text", "slug", "page_head", "page_tail", "plot_crowd_equivalent",
           "categorical_plots", "categorical_page", "categorical_summary"]

_METHODS = """\
<p><b>Crowd curve.</b> For every k and repetition r = 1..R, min(k, n<sub>t</sub>) non-expert judgments
of each task t are drawn without replacement (the crowd holds neither the designated experts nor the best
annotators chosen for the study, and n<sub>t</sub> counts the crowd's judgments; tasks with fewer than k
judgments use all they have unless <code>short_tasks = "exclude"</code>; <code>n_tasks_full</code> counts
the scored tasks that had k);
each model aggregates them without seeing gold; accuracy is the mean credit over repetitions and
scored tasks. K_STOP</p>
<p><b>Intervals.</b> A two-way percentile bootstrap: each replicate resamples the tasks and the
repetitions independently with replacement (Owen 2007, conservative for crossed designs). The
task weights are shared by every k, every model and the expert of a comparison, so crowd-minus-expert
differences are paired. The bootstrap alone collapses near 100%: a score without an error has every
replicate at 1 (30 of 30 right gave [1.000, 1.000]). So every accuracy's interval is never narrower than
the Wilson score interval of that accuracy on its number of scored tasks (30 of 30: from 30 / (30 + z<sup>2</sup>)
to 1; conservative for the crowd, whose repetitions only make a task's credit less variable), and the band of a
crowd-minus-expert difference never narrower than Newcombe's MOVER interval built from the two
accuracies' intervals and the correlation of their replicates.</p>
<p><b>Experts.</b> Designated experts (<code>experts.csv</code>) are scored <i>leave-one-out</i> when gold is
their own majority (on every gold task they answered, gold is one of their most frequent labels; e.g.
imagenet_real_golden): each expert, and the crowd, against the majority of the other experts, on the tasks
another expert also answered. Otherwise each is scored against gold on its gold tasks. With two or more, the
verdict's expert is their mean: on each task the mean of the experts scored there, over the tasks where any
is. An expert scored on no task is left out and named under the experts table with the reason. Best
annotators are chosen by accuracy on a random half of the gold tasks (with a minimum of judged tasks)
and scored on the tasks they judged in the other half only. Their crowd-equivalent scores the crowd on
exactly those tasks; the verdict and the crowd curves score the crowd on all gold tasks. Their judgments
are left out of the crowd on every task, so the crowd compared with them never holds their own votes; a
gold task that only they judged is scored for no one (the sources table counts them). The post-hoc best
annotator (chosen on the scoring gold) is listed for comparison and never used. Simulated experts have a
known accuracy.</p>
<p><b>Crowd-equivalent.</b> The smallest k of the grid at which the crowd's accuracy on the expert's own
tasks and reference reaches the expert's. Interval: the smallest k at which the upper bound of the
band of (crowd - expert) (see Intervals) reaches 0, and the smallest k at which its lower bound does.
"not reached": no k of the grid; an open upper bound: the lower band never reaches 0.</p>
"""


def methods(k_max: str | int = "median") -> str:
    """The methods section of a categorical study's page, with where its k stops (``k_max``)."""
    stop = {"median": "the median number of judgments of a gold task",
            "max": "the largest number of judgments of a gold task"}.get(
        str(k_max), f"{k_max} (or the most judgments a task has, where fewer)")
    return _METHODS.replace("K_STOP", f"k stops at {stop} (<code>k_max = {html.escape(json.dumps(k_max))}</code>).")


#: The methods section of a study with the default ``k_max = "median"``.
METHODS = methods()


# --------------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------------
def markdown(df: Any) -> str:
    """A polars DataFrame as a GitHub Markdown table (floats to 3 decimals, nulls as '-')."""
    rows = [[fmt(v) for v in r] for r in df.iter_rows()]
    align = ["r" if dt.is_numeric() else "l" for dt in df.dtypes]
    return markdown_table(df.columns, rows, align)


def _curve_summary(curves: Any, source: str, reference: str) -> Any:
    """k x model cells 'acc [lo, hi]' for one source and reference."""
    import polars as pl

    sub = curves.filter((pl.col("source") == source) & (pl.col("reference") == reference))
    cell = pl.format("{} [{}, {}]", *(pl.col(c).round(3) for c in ("accuracy", "ci_low", "ci_high")))
    wide = sub.with_columns(cell.alias("cell")).pivot(on="model", index=["k", "n_tasks_full"],
                                                      values="cell", aggregate_function="first")
    return wide.sort("k")


# --------------------------------------------------------------------------------------------------
# the page: the verdict first, then the plots, then the details
# --------------------------------------------------------------------------------------------------
def _experts_frame(experts: Any, level: float = 0.95) -> Any:
    """The experts table for the page: accuracy with its interval in one cell, short kinds."""
    import polars as pl

    acc = [f"{a:.3f} [{lo:.3f}, {hi:.3f}]" for a, lo, hi in experts.select("accuracy", "ci_low", "ci_high").rows()]
    sel = [None if a is None else f"{a:.3f} ({n})" for a, n in experts.select("selection_accuracy",
                                                                             "selection_tasks").rows()]
    kind = pl.col("kind").str.replace(r"best annotator \(post hoc, biased\)", "post hoc").str.replace(
        r"best annotator \(split half\)", "best annotator, split half")
    name = f"accuracy [{level_text(level)} interval]"
    df = experts.with_columns(pl.Series(name, acc), pl.Series("selection (tasks)", sel, dtype=pl.Utf8), kind)
    cols = ["source", "expert", "kind", "reference", name, "n_tasks", "selection (tasks)"]
    cols += [c for c in ("true_accuracy", "tied_reference_tasks") if df[c].null_count() < df.height]
    return df.select(cols).rename({"reference": "scored against", "n_tasks": "tasks"})


def _unscored_experts(sources: Any) -> dict[str, str]:
    """The designated experts scored on no task, and why, by source (left out of the experts table)."""
    if "unscored_experts" not in sources.columns:
        return {}
    return {s: why for s, why in zip(sources["source"].to_list(), sources["unscored_experts"].to_list()) if why}


def _tie_note(meta: dict[str, Any]) -> str:
    rule = ("a uniformly random tied label, seeded per (source, k, repetition)" if meta["tie_break"] == "random"
            else "the lowest label code")
    return (f"Majority-vote ties (mv, wawa, zbs): {rule}. Other models: the lowest label code on exact "
            f"posterior ties. Leave-one-out expert majority ties: {meta['loo_ties']}.")


def _details(summary_text: str, body: str, open_: bool = False) -> str:
    return f"<details{' open' if open_ else ''}><summary>{html.escape(summary_text)}</summary>{body}</details>"


def categorical_page(result: StudyResult, plots: dict[str, list[str]]) -> str:
    """The page of a categorical study: title, question, the verdict table (one row per source), the
    plots, then the details (crowd-equivalents, sweep, experts, curves, workers, methods, ...)."""
    import polars as pl

    meta, t = result.meta, result.tables
    h = page_top(result)
    level = result.study.confidence
    h += ["<h2>The answer, per source</h2>", verdict_html(verdict_rows(t, meta["sources"]), level)]
    h += settings_line(result, _tie_note(meta))
    h.append("<h2>Crowd curves</h2>")
    for src in meta["sources"]:
        h += [img(p, f"accuracy against k on {src}") for p in plots.get(src, [])]
    if plots.get("crowd_equivalent"):
        h += ["<h2>Crowd-equivalent of each expert</h2>"]
        h += [img(p, "crowd-equivalent k of every expert") for p in plots["crowd_equivalent"]]
    if "sweep" in t:
        h += ["<h2>Simulation sweep</h2>"] + [img(p, "sweep") for p in plots.get("sweep", [])]
    h += workers_section(result)
    h.append("<h2>Details</h2>")
    if "crowd_equivalent" in t:
        h += ["<h3>Crowd-equivalent k [interval] of every expert, per model</h3>",
              "<p class='note'>&gt; N: not reached up to the source's largest k, N; &gt;N in an interval: its upper "
              "end lies beyond the grid.</p>", html_table(crowd_equivalent_pivot(t["crowd_equivalent"]))]
    if "sweep" in t:
        h += ["<h3>Simulation sweep</h3>", _details("the sweep table", html_table(t["sweep"]))]
    unscored = _unscored_experts(t["sources"])
    missing = [s for s in meta["sources"] if s not in unscored
               and ("experts" not in t or not (t["experts"]["source"] == s).any())]
    if "experts" in t:
        h += ["<h3>Experts</h3>", html_table(_experts_frame(t["experts"], level)),
              "<p class='note'>post hoc: the best annotator chosen after seeing the scoring gold (biased upwards); "
              "listed for comparison, never used for crowd-equivalents or the verdict. Selection: the accuracy on "
              "the half of the gold tasks the annotator was chosen on (tasks).</p>"]
    if unscored:
        h.append("<p class='note'>Experts not scored: " + html.escape("; ".join(f"{src}: {why}"
                                                                          for src, why in unscored.items())) + "</p>")
    if missing:
        h.append(f"<p class='note'>No expert in: {html.escape(', '.join(missing))} (no designated expert, and "
                 "too few gold tasks or best_annotators = 0 for a best annotator).</p>")
    h.append(f"<h3>Crowd curves: accuracy [{level_text(level)} interval] per k and model</h3>")
    for src in meta["sources"]:
        for ref in ("gold", "experts_loo") if "curves" in t else ():
            c = t["curves"].filter((pl.col("source") == src) & (pl.col("reference") == ref))
            if c.height:
                h.append(_details(f"{source_label(t, src)}, against {ref}",
                                  html_table(_curve_summary(t["curves"], src, ref))))
    return "\n".join(h + page_tail(result, methods(result.study.k_max), TABLES))


def categorical_plots(result: StudyResult, tmp: Path) -> dict[str, list[str]]:
    """Every plot of a categorical study into ``tmp/plots``; paths by section."""
    t = result.tables
    made: dict[str, list[str]] = {}
    for i, src in enumerate(result.meta["sources"]):
        if "curves" not in t or not (t["curves"]["source"] == src).any():
            continue  # every model failed on this source (see the fits table)
        p = f"plots/curve_{i:02d}_{slug(src)}.png"
        plot_curves(t, src, tmp / p, result.study.confidence)
        made[src] = [p]
    if "crowd_equivalent" in t:
        plot_crowd_equivalent(t["crowd_equivalent"], tmp / "plots" / "crowd_equivalent.png")
        made["crowd_equivalent"] = ["plots/crowd_equivalent.png"]
    if "sweep" in t:
        for axis, values in result.study.grid.items():
            if len(values) > 1:
                p = f"plots/sweep_{slug(axis)}.png"
                plot_sweep(t["sweep"], axis, tmp / p)
                made.setdefault("sweep", []).append(p)
    return made


def check_out(out: str | os.PathLike[str]) -> None:
    """Raise ``FileExistsError`` unless ``out`` may receive a report: absent, empty, or an earlier
    ``galton bench`` report that holds nothing else (:func:`galton.io.check_replaceable`); never a
    simulation or results directory, which galton marks as well."""
    from ..io import check_place, check_replaceable

    try:
        check_replaceable(out, "report")
    except FileExistsError as exc:  # a galton directory of another kind says so itself
        text = str(exc)
        raise FileExistsError(text if "galton bench" in text else f"{text} (it is not a galton bench report)") from None
    check_place(out)  # a read-only place failed after the whole study


def write_report(result: StudyResult, out: str | os.PathLike[str], *, plots: bool = True) -> Path:
    """Write the tables, plots and ``index.html`` of a study result to ``out`` (atomically).

    An existing ``out`` is replaced only when it is empty or an earlier report that holds nothing
    else (galton marks every directory it writes, with the command that wrote it); anything else,
    a simulation or a results directory included, raises ``FileExistsError``.
    """
    from ..io import atomic_dir, write_table

    out = Path(out)
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t = result.tables
    with atomic_dir(out, kind="report") as tmp:
        (tmp / "tables").mkdir()
        for name, df in t.items():
            write_table(df, tmp / "tables" / f"{name}.parquet")
            (tmp / "tables" / f"{name}.md").write_text(markdown(df) + "\n", encoding="utf-8")
        kind = study_kind(kind_of(result))
        made: dict[str, list[str]] = {}
        if plots:
            (tmp / "plots").mkdir()
            made = kind.hook("plots")(result, tmp)
        (tmp / "study.toml").write_text(result.study.text or result.study.to_toml(), encoding="utf-8")
        (tmp / "study.json").write_text(json.dumps(result.meta, indent=2, default=str) + "\n", encoding="utf-8")
        text = kind.hook("page")(result, made)
        (tmp / "index.html").write_text(text, encoding="utf-8")
    return out


def slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def k_text(row: dict[str, Any]) -> str:
    if row["k_equivalent"] is None:
        return "not reached" + (f" (interval from {row['k_low']})" if row["k_low"] is not None else "")
    hi = row["k_high"] if row["k_high"] is not None else f">{row['k_max']}"
    return f"{row['k_equivalent']} [{row['k_low']}, {hi}]"


def summary(result: StudyResult, path: str | os.PathLike[str] | None = None) -> str:
    """A few lines for the terminal: where the report is and the headline crowd-equivalents."""
    return study_kind(kind_of(result)).hook("summary")(result, path)  # type: ignore[no-any-return]


def categorical_summary(result: StudyResult, path: str | os.PathLike[str] | None = None) -> str:
    """:func:`summary` of a categorical study."""
    import polars as pl

    meta, t = result.meta, result.tables
    lines = [f"study      {result.study.name}: {len(meta['sources'])} sources, models "
             f"{', '.join(meta['models'])}, engine {meta['engine']}, {meta['seconds']:.1f} s"]
    if path is not None:
        lines.append(f"report     {Path(path) / 'index.html'}")
    lines += verdict_lines(t, meta["sources"], result.study.confidence)
    ce = t.get("crowd_equivalent")
    if ce is not None:
        keep = ce.filter(~pl.col("kind").str.contains("leave-one-out") | (pl.col("expert") == "experts (mean)"))
        keep = keep.filter(~pl.col("expert").str.starts_with("best #") | pl.col("expert").str.starts_with("best #1"))
        lines.append("crowd-equivalent k [interval] of the experts:")
        for (src, expert), grp in keep.group_by(["source", "expert"], maintain_order=True):
            cells = ", ".join(f"{r['model']} {k_text(r)}" for r in grp.iter_rows(named=True))
            lines.append(f"  {source_label(t, src)}: {expert} ({grp['expert_accuracy'][0]:.3f}): {cells}")
    return "\n".join(lines) + "\n"
