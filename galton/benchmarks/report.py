"""The report of a study: tables (Parquet and Markdown), PNG plots and one ``index.html``.

:func:`write_report` writes a directory, atomically (:func:`galton.io.atomic_dir`)::

    OUT/index.html                 everything on one page, with the study file, seeds, versions
    OUT/study.toml, study.json     the study as run; seeds, versions, timing, notes
    OUT/tables/NAME.parquet|.md    curves, experts, crowd_equivalent, sweep, sources, runs
    OUT/plots/curve_SOURCE.png     accuracy against k, interval bands per model, expert levels
    OUT/plots/crowd_equivalent.png crowd-equivalent of every expert, per source and model
    OUT/plots/sweep_AXIS.png       simulation grids: crowd at k_max and crowd-equivalent per axis

The plots, page and summary come from the hooks of the study's kind (:mod:`galton.benchmarks.kinds`):
a preference study (``meta["kind"]`` is "preference") writes the same kinds of files with Kendall
tau in the place of accuracy, by :mod:`galton.benchmarks._report_prefs`.

Plots use matplotlib's object API on the Agg canvas (no pyplot, no global backend change);
matplotlib is the ``report`` extra: ``pip install 'galton[report]'``.
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

from ._common import markdown_table
from ._evaluate import KIND_POST_HOC, TABLES
from .kinds import kind_of, study_kind
from .runner import StudyResult

__all__ = ["write_report", "check_out", "summary", "markdown", "METHODS", "COLORS", "figure", "html_table",
           "k_axis", "k_text", "slug", "page_head", "page_tail", "plot_crowd_equivalent", "categorical_plots",
           "categorical_page", "categorical_summary"]

METHODS = """\
<p><b>Crowd curve.</b> For every k and repetition r = 1..R, min(k, n<sub>t</sub>) non-expert judgments
of each task t are drawn without replacement (tasks with fewer than k judgments use all they have
unless <code>short_tasks = "exclude"</code>; <code>n_tasks_full</code> counts the scored tasks that had k);
each model aggregates them without seeing gold; accuracy is the mean credit over repetitions and
scored tasks. k stops at the median number of judgments of a gold task (<code>k_max</code>).</p>
<p><b>Intervals.</b> A two-way percentile bootstrap: each replicate resamples the tasks and the
repetitions independently with replacement (Owen 2007, conservative for crossed designs). The
task weights are shared by every k, every model and the expert of a comparison, so crowd-minus-expert
differences are paired.</p>
<p><b>Experts.</b> Designated experts (e.g. <code>experts.csv</code> of imagenet_real_golden, whose gold is the
experts' own majority) are scored <i>leave-one-out</i>: each expert, and the crowd, against the majority
of the other experts. Best annotators are chosen by accuracy on a random half of the gold tasks (with
a minimum of judged tasks) and scored, like the crowd, on the other half only. The post-hoc best
annotator (chosen on the scoring gold) is listed for comparison and never used. Simulated experts
have a known accuracy.</p>
<p><b>Crowd-equivalent.</b> The smallest k of the grid at which the crowd's accuracy on the expert's own
tasks and reference reaches the expert's. Interval: the smallest k at which the upper bound of the
bootstrap band of (crowd - expert) reaches 0, and the smallest k at which its lower bound does.
"not reached": no k of the grid; an open upper bound: the lower band never reaches 0.</p>
"""


# --------------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------------
def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) >= 10 else f"{v:.3f}"
    return str(v)


def markdown(df: Any) -> str:
    """A polars DataFrame as a GitHub Markdown table (floats to 3 decimals, nulls as '-')."""
    rows = [[_fmt(v) for v in r] for r in df.iter_rows()]
    align = ["r" if dt.is_numeric() else "l" for dt in df.dtypes]
    return markdown_table(df.columns, rows, align)


def html_table(df: Any, max_rows: int = 400) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = []
    for r in df.head(max_rows).iter_rows():
        body.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>")
    more = f"<p><i>{df.height - max_rows} more rows in the table files.</i></p>" if df.height > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _curve_summary(curves: Any, source: str, reference: str) -> Any:
    """k x model cells 'acc [lo, hi]' for one source and reference."""
    import polars as pl

    sub = curves.filter((pl.col("source") == source) & (pl.col("reference") == reference))
    cell = pl.format("{} [{}, {}]", *(pl.col(c).round(3) for c in ("accuracy", "ci_low", "ci_high")))
    wide = sub.with_columns(cell.alias("cell")).pivot(on="model", index=["k", "n_tasks_full"],
                                                      values="cell", aggregate_function="first")
    return wide.sort("k")


# --------------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------------
def _label(tables: dict[str, Any], source: str) -> str:
    """The source's name, with its grid parameters for a simulated source."""
    import polars as pl

    row = tables["sources"].filter(pl.col("source") == source)
    params = json.loads(row["params"][0]) if row.height else {}
    return source + (" (" + ", ".join(f"{a}={v}" for a, v in params.items()) + ")" if params else "")


def figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'galton[report]'") from None
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def k_axis(ax: Any, ks: Sequence[int], xlabel: str = "k: judgments per task") -> None:
    if max(ks) / max(min(ks), 1) >= 8:
        ax.set_xscale("log")
    ax.set_xticks(list(ks))
    ax.set_xticklabels([str(k) for k in ks], fontsize=7)
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.set_xlabel(xlabel)


COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
           "tab:olive", "tab:cyan", "tab:gray")


def plot_curves(tables: dict[str, Any], source: str, path: Path, tie_note: str) -> None:
    """Accuracy against k per model (interval bands) with the experts' levels (interval bands)."""
    import polars as pl

    curves = tables["curves"].filter(pl.col("source") == source)
    experts = tables.get("experts")
    refs = [r for r in ("gold", "experts_loo") if (curves["reference"] == r).any()]
    fig = figure(6.0 * len(refs), 4.2)
    models = list(dict.fromkeys(curves["model"].to_list()))
    for i, ref in enumerate(refs):
        ax = fig.add_subplot(1, len(refs), i + 1)
        for j, m in enumerate(models):
            c = curves.filter((pl.col("reference") == ref) & (pl.col("model") == m)).sort("k")
            color = COLORS[j % len(COLORS)]
            ax.plot(c["k"], c["accuracy"], marker="o", ms=3, color=color, label=m)
            ax.fill_between(c["k"], c["ci_low"], c["ci_high"], color=color, alpha=0.18, lw=0)
        ks = curves["k"].unique().sort().to_list()
        if experts is not None:
            ex = experts.filter((pl.col("source") == source) & (pl.col("kind") != KIND_POST_HOC))
            loo = ex["kind"].str.contains("leave-one-out")
            ex = ex.filter(loo if ref == "experts_loo" else ~loo)
            for n, row in enumerate(ex.iter_rows(named=True)):
                mean = row["expert"] == "experts (mean)"
                style = {"color": "black" if mean else "0.35", "lw": 1.6 if mean else 0.9,
                         "ls": "-" if mean else (":", "--", "-.")[n % 3]}
                ax.axhline(row["accuracy"], label=f"{row['expert']} {row['accuracy']:.3f}", **style)
                ax.axhspan(row["ci_low"], row["ci_high"], color="0.5", alpha=0.08 if not mean else 0.15, lw=0)
        k_axis(ax, ks)
        ax.set_ylabel("accuracy")
        kind = tables["sources"].filter(pl.col("source") == source)["kind"].to_list()
        truth = "the truth" if kind == ["simulation"] else "gold"
        title = f"against {truth}" if ref == "gold" else "against the other experts' majority (leave-one-out)"
        ax.set_title(f"{_label(tables, source)}: {title}", fontsize=9)
        ax.legend(fontsize=6, loc="lower right", ncol=2)
    import textwrap

    note = textwrap.fill(tie_note, width=120 * len(refs))
    fig.text(0.01, 0.005, note, fontsize=6, color="0.3")
    fig.tight_layout(rect=(0, 0.025 * (note.count("\n") + 1) + 0.01, 1, 1))
    fig.savefig(path)


def plot_crowd_equivalent(table: Any, path: Path) -> None:
    """Crowd-equivalent k (interval as a bar) of every expert, per source and model."""
    rows = list(dict.fromkeys(zip(table["source"].to_list(), table["expert"].to_list())))
    models = list(dict.fromkeys(table["model"].to_list()))
    fig = figure(7.5, 1.2 + 0.32 * len(rows) * max(1, len(models) / 3))
    ax = fig.add_subplot(1, 1, 1)
    kmax = max(table["k_max"].to_list())
    right = kmax * 1.6
    for j, m in enumerate(models):
        color = COLORS[j % len(COLORS)]
        off = (j - (len(models) - 1) / 2) * 0.8 / max(len(models), 1)
        first = True
        for i, key in enumerate(rows):
            r = [x for x in table.iter_rows(named=True) if (x["source"], x["expert"]) == key and x["model"] == m]
            if not r:
                continue
            r0 = r[0]
            y = i + off
            lo = r0["k_low"] if r0["k_low"] is not None else right
            if r0["k_high"] is not None:
                ax.plot([lo, r0["k_high"]], [y, y], color=color, lw=1.4, alpha=0.7)
            elif lo < right:  # open upper bound: solid to this source's largest k, then dotted
                ax.plot([lo, r0["k_max"]], [y, y], color=color, lw=1.4, alpha=0.7)
                ax.plot([r0["k_max"], right], [y, y], color=color, lw=1.0, alpha=0.6, ls=":")
            if r0["k_equivalent"] is None:
                ax.plot([right], [y], marker=">", color=color, ms=5, ls="none")
            else:
                ax.plot([r0["k_equivalent"]], [y], marker="o", color=color, ms=5, ls="none",
                        label=m if first else None)
                first = False
        if first:
            ax.plot([], [], marker="o", color=color, ls="none", label=m)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{s}: {e}" for s, e in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(0.8, right * 1.15)
    ticks = [k for k in (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 500, 1000) if k <= kmax]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(k) for k in ticks], fontsize=7)
    ax.minorticks_off()
    ax.axvline(right, color="0.6", lw=0.8, ls=":")
    ax.text(right, -0.6, "not reached", fontsize=7, ha="center", color="0.4")
    ax.set_xlabel("crowd-equivalent k (dot), interval (bar; dotted: open beyond the grid), > not reached",
                  fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path)


def plot_sweep(sweep: Any, axis: str, path: Path) -> None:
    """Crowd accuracy at the largest k and the crowd-equivalent along one grid axis (the other
    axes at their first value)."""
    import polars as pl

    col = f"grid_{axis}"
    others = [c for c in sweep.columns if c.startswith("grid_") and c != col]
    sub = sweep
    for c in others:
        sub = sub.filter(pl.col(c) == sweep[c][0])
    fig = figure(10.0, 3.8)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    kmax = int(sub["k_max"].max())
    for j, m in enumerate(dict.fromkeys(sub["model"].to_list())):
        s = sub.filter(pl.col("model") == m).sort(col)
        color = COLORS[j % len(COLORS)]
        x = s[col].to_list()
        ax1.errorbar(x, s["crowd_accuracy"], yerr=[(s["crowd_accuracy"] - s["crowd_ci_low"]).to_list(),
                     (s["crowd_ci_high"] - s["crowd_accuracy"]).to_list()], marker="o", ms=3,
                     color=color, capsize=2, label=f"crowd, {m}, k={kmax}")
        keq = [v if v is not None else kmax * 1.5 for v in s["k_equivalent"].to_list()]
        ax2.plot(x, keq, marker="o", ms=4, color=color, label=m)
        for xi, v in zip(x, s["k_equivalent"].to_list()):
            if v is None:
                ax2.plot([xi], [kmax * 1.5], marker="^", color=color, ms=7)
    e = sub.unique(subset=[col], keep="first").sort(col)
    ax1.plot(e[col], e["expert_true_accuracy"], color="black", lw=1.4, ls="--", label="expert (true)")
    ax1.set_ylabel("accuracy")
    ax2.axhline(kmax * 1.5, color="0.6", ls=":", lw=0.8)
    ax2.text(e[col][0], kmax * 1.5, " not reached", fontsize=7, va="bottom", color="0.4")
    ax2.set_ylim(0, kmax * 1.6)
    ax2.set_ylabel("crowd-equivalent k (^: not reached)")
    fixed = ", ".join(f"{c[5:]}={sweep[c][0]}" for c in others)
    for ax in (ax1, ax2):
        ax.set_xlabel(axis)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    ax1.set_title(f"crowd at k={kmax} vs the expert" + (f" ({fixed})" if fixed else ""), fontsize=9)
    ax2.set_title("where the crowd overtakes the expert", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)


# --------------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------------
_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1250px;color:#222}
table{border-collapse:collapse;font-size:12px;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;
text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee}pre{background:#f7f7f7;padding:.8em;font-size:12px;overflow:auto}
.note{color:#555;font-size:13px}"""


def _tie_note(meta: dict[str, Any]) -> str:
    rule = ("a uniformly random tied label, seeded per (source, k, repetition)" if meta["tie_break"] == "random"
            else "the lowest label code")
    return (f"Majority-vote ties (mv, wawa, zbs): {rule}. Other models: the lowest label code on exact "
            f"posterior ties. Leave-one-out expert majority ties: {meta['loo_ties']}.")


def page_head(result: Any, kind_note: str, note: str) -> list[str]:
    """The top of a study's ``index.html``: title, description and the run's settings."""
    s, meta = result.study, result.meta
    h: list[str] = [f"<!doctype html><html><head><meta charset='utf-8'><title>galton bench: "
                    f"{html.escape(s.name)}</title><style>{_CSS}</style></head><body>",
                    f"<h1>galton bench: {html.escape(s.name)}{kind_note}</h1>"]
    if s.description:
        h.append(f"<p>{html.escape(s.description)}</p>")
    h.append(f"<p class='note'>{len(meta['sources'])} sources, models {', '.join(meta['models'])}, "
             f"R = {s.repeats} repetitions, B = {s.bootstrap} bootstrap replicates, {s.confidence:.0%} "
             f"intervals, engine {meta['engine']}, {meta['seconds']:.1f} s. {html.escape(note)}</p>")
    return h


def page_tail(result: Any, methods: str, table_names: Sequence[str]) -> list[str]:
    """The bottom of a study's ``index.html``: methods, table links, sources, fits, notes, seeds,
    versions and the study file."""
    s, meta, t = result.study, result.meta, result.tables
    h = ["<h2>Methods</h2>", methods]
    h += ["<h2>Tables</h2><ul>"] + [f"<li>{n}: <a href='tables/{n}.parquet'>Parquet</a>, "
                                   f"<a href='tables/{n}.md'>Markdown</a></li>" for n in table_names if n in t]
    h += ["</ul>", "<h2>Sources</h2>", html_table(t["sources"]), "<h2>Fits</h2>", html_table(t["runs"])]
    if meta.get("notes"):
        h += ["<h2>Notes</h2><ul>"] + [f"<li>{html.escape(n)}</li>" for n in meta["notes"]] + ["</ul>"]
    h += ["<h2>Seeds</h2><pre>" + html.escape(json.dumps(meta["seeds"], indent=2), quote=False) + "</pre>",
          "<h2>Versions</h2><pre>" + html.escape(json.dumps(meta["versions"], indent=2), quote=False) + "</pre>",
          "<h2>Study file</h2><pre>" + html.escape(s.text or s.to_toml(), quote=False) + "</pre></body></html>"]
    return h


def categorical_page(result: StudyResult, plots: dict[str, list[str]]) -> str:
    import polars as pl

    meta, t = result.meta, result.tables
    h = page_head(result, "", _tie_note(meta))
    if "crowd_equivalent" in t:
        ce = t["crowd_equivalent"].select("source", "expert", "model", "expert_accuracy", "k_equivalent",
                                          "k_low", "k_high", "status", "crowd_accuracy_max_k", "k_max")
        h += ["<h2>Crowd-equivalent of each expert</h2>", html_table(ce)]
        h += [f"<img src='{p}' alt='crowd-equivalent'>" for p in plots.get("crowd_equivalent", [])]
    if "sweep" in t:
        h += ["<h2>Simulation sweep</h2>", html_table(t["sweep"])]
        h += [f"<img src='{p}' alt='sweep'>" for p in plots.get("sweep", [])]
    if "experts" in t:
        h += ["<h2>Experts</h2>", html_table(t["experts"])]
    h.append("<h2>Crowd curves</h2>")
    for src in meta["sources"]:
        h.append(f"<h3>{html.escape(_label(t, src))}</h3>")
        h += [f"<img src='{p}' alt='{html.escape(src)}'>" for p in plots.get(src, [])]
        for ref in ("gold", "experts_loo") if "curves" in t else ():
            c = t["curves"].filter((pl.col("source") == src) & (pl.col("reference") == ref))
            if c.height:
                h += [f"<p class='note'>against {ref}</p>", html_table(_curve_summary(t["curves"], src, ref))]
    return "\n".join(h + page_tail(result, METHODS, TABLES))


def categorical_plots(result: StudyResult, tmp: Path) -> dict[str, list[str]]:
    """Every plot of a categorical study into ``tmp/plots``; paths by section."""
    t = result.tables
    made: dict[str, list[str]] = {}
    for i, src in enumerate(result.meta["sources"]):
        if "curves" not in t or not (t["curves"]["source"] == src).any():
            continue  # every model failed on this source (see the fits table)
        p = f"plots/curve_{i:02d}_{slug(src)}.png"
        plot_curves(t, src, tmp / p, _tie_note(result.meta))
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
    """Raise ``FileExistsError`` unless ``out`` may receive a report: absent, empty, or a directory
    galton wrote that holds nothing else (:func:`galton.io.check_replaceable`)."""
    from ..io import check_replaceable

    try:
        check_replaceable(out)
    except FileExistsError as exc:
        raise FileExistsError(f"{exc} (it is not a galton bench report)") from None


def write_report(result: StudyResult, out: str | os.PathLike[str], *, plots: bool = True) -> Path:
    """Write the tables, plots and ``index.html`` of a study result to ``out`` (atomically).

    An existing ``out`` is replaced only when it is empty or an earlier report that holds nothing
    else (galton marks every directory it writes); anything else raises ``FileExistsError``.
    """
    from ..io import atomic_dir, write_table

    out = Path(out)
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t = result.tables
    with atomic_dir(out) as tmp:
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
    ce = t.get("crowd_equivalent")
    if ce is not None:
        keep = ce.filter(~pl.col("kind").str.contains("leave-one-out") | (pl.col("expert") == "experts (mean)"))
        keep = keep.filter(~pl.col("expert").str.starts_with("best #") | pl.col("expert").str.starts_with("best #1"))
        lines.append("crowd-equivalent k [interval] of the experts:")
        for (src, expert), grp in keep.group_by(["source", "expert"], maintain_order=True):
            cells = ", ".join(f"{r['model']} {k_text(r)}" for r in grp.iter_rows(named=True))
            lines.append(f"  {_label(t, src)}: {expert} ({grp['expert_accuracy'][0]:.3f}): {cells}")
    return "\n".join(lines) + "\n"
