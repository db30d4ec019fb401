"""The report of a preference study (:mod:`galton.benchmarks.study_prefs`): plots and the page.

:func:`galton.benchmarks.report.write_report` writes the tables of every study alike and calls
:func:`write_plots` and :func:`page` here for a result whose ``meta["kind"]`` is ``"preference"``::

    OUT/plots/curve_NN_SOURCE.png   Kendall tau against comparisons per item, bands per model,
                                    the expert ranker's tau as a line with its band
    OUT/plots/crowd_equivalent.png  crowd-equivalent of the expert, per source and model
    OUT/plots/sweep_SETTING.png     tau at the largest k and crowd-equivalent per disagreement level
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from .report import COLORS, figure, html_table, k_axis, k_text, slug, page_head, page_tail, plot_crowd_equivalent
from ._evaluate_prefs import PREF_TABLES

__all__ = ["METHODS", "write_plots", "page", "summary", "curve_summary"]

K_LABEL = "k: comparisons per item (judgments an item takes part in, on average)"

METHODS = """\
<p><b>Data.</b> Simulated preference crowds (galton.datasets.simulate_prefs): prompts with n responses
each, true qualities &theta; ~ N(0, quality_sd<sup>2</sup>); raters report their Bradley-Terry draw with
probability &eta; ~ U(reliability), else the opposite; random raters ignore the items, adversarial
raters prefer the worse one. Pairwise: two responses of one prompt; best-of-n: the best of the
responses shown, by Plackett-Luce on &theta; with probability &eta;, else on -&theta; (at two options
the pairwise model). One source per disagreement level and collection; every source shares the items, the raters'
random draws and the expert (common random numbers).</p>
<p><b>Crowd curve.</b> k = comparisons per item: a repetition at k holds round(k &middot; items / s)
judgments (s = 2 for pairs, the options shown for best-of-n). Repetition r draws them from its own
block of a simulated pool (independent repetitions). Pairwise models fit the comparisons (best-of-n
choices broken into pairs: the chosen response over each other one shown); Plackett-Luce fits best-of-n
choices (on pairs it is Bradley-Terry, the bt curve). <b>Metric</b>: Kendall tau-a of the fitted scores
with the true order within each prompt, averaged over prompts and repetitions (a tie counts 0).</p>
<p><b>Intervals.</b> The categorical study's two-way percentile bootstrap with prompts in the place of
tasks: each replicate resamples prompts and repetitions independently; the prompt weights are shared
by every k, model and the expert, so crowd-minus-expert differences are paired. As in the categorical
study, no tau interval is narrower than a Wilson interval: that of the share of concordant pairs
(tau + 1)/2 on P &middot; 9n(n&minus;1)/(2(2n+5)) pairs (P prompts of n responses; a prompt's pairs share
items, so they count as the independent pairs of equal variance under no association), mapped back to
tau; without it few prompts or a tau near 1 gave zero-width intervals. With one prompt the bootstrap
resamples only the repetitions, and the expert's interval is that Wilson interval alone. A
crowd-minus-expert difference gets the union of its paired percentile interval and the MOVER
(Newcombe) interval from the two tau intervals.</p>
<p><b>Expert.</b> One ranker orders every response by &theta; + N(0, noise<sup>2</sup>); a stated tau gives the
noise through tau = 2/&pi; arcsin(sd / sqrt(sd<sup>2</sup> + noise<sup>2</sup>)). <b>Crowd-equivalent</b>: the
smallest k at which the crowd's tau reaches the expert's; its interval, as in the categorical study, runs
from the first k where the difference's band reaches 0 with its upper bound to the first where its lower
bound does; "not reached": no k of the grid.</p>
"""


def _params(tables: dict[str, Any], source: str) -> dict[str, Any]:
    import polars as pl

    row = tables["sources"].filter(pl.col("source") == source).row(0, named=True)
    return {"level": row["level"], **json.loads(row["grid"])}


def _title(tables: dict[str, Any], source: str) -> str:
    return f"{source} (" + ", ".join(f"{a}={v}" for a, v in _params(tables, source).items()) + ")"


def plot_curves(tables: dict[str, Any], source: str, path: Path) -> None:
    """Kendall tau against k per model (interval bands) with the expert's tau (line and band)."""
    import polars as pl

    curves = tables["curves"].filter(pl.col("source") == source)
    fig = figure(6.4, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    for j, m in enumerate(dict.fromkeys(curves["model"].to_list())):
        c = curves.filter(pl.col("model") == m).sort("k")
        color = COLORS[j % len(COLORS)]
        ax.plot(c["k"], c["tau"], marker="o", ms=3, color=color, label=m)
        ax.fill_between(c["k"], c["ci_low"], c["ci_high"], color=color, alpha=0.18, lw=0)
    for row in tables["experts"].filter(pl.col("source") == source).iter_rows(named=True):
        ax.axhline(row["tau"], color="black", lw=1.4, label=f"{row['expert']}: tau {row['tau']:.3f}")
        ax.axhspan(row["ci_low"], row["ci_high"], color="0.5", alpha=0.15, lw=0)
    k_axis(ax, curves["k"].unique().sort().to_list(), K_LABEL)
    ax.set_ylabel("Kendall tau with the true order (per prompt)")
    ax.set_title(_title(tables, source), fontsize=9)
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def plot_sweep(tables: dict[str, Any], sources: list[str], path: Path, setting: str) -> None:
    """Crowd tau at the largest k and the crowd-equivalent along the disagreement levels."""
    import polars as pl

    ce = tables["crowd_equivalent"].filter(pl.col("source").is_in(sources))
    levels = [_params(tables, s)["level"] for s in sources]
    x = {lv: i for i, lv in enumerate(levels)}
    fig = figure(10.0, 3.8)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    kmax = int(ce["k_max"].max())
    for j, m in enumerate(dict.fromkeys(ce["model"].to_list())):
        s = ce.filter(pl.col("model") == m)
        color = COLORS[j % len(COLORS)]
        xs = [x[lv] for lv in s["level"].to_list()]
        ax1.errorbar(xs, s["crowd_tau_max_k"], yerr=[(s["crowd_tau_max_k"] - s["crowd_ci_low_max_k"]).to_list(),
                     (s["crowd_ci_high_max_k"] - s["crowd_tau_max_k"]).to_list()], marker="o", ms=3,
                     color=color, capsize=2, label=f"crowd, {m}, k={kmax}")
        keq = s["k_equivalent"].to_list()
        ax2.plot(xs, [v if v is not None else kmax * 1.5 for v in keq], marker="o", ms=4, color=color, label=m)
        for xi, v in zip(xs, keq):
            if v is None:
                ax2.plot([xi], [kmax * 1.5], marker="^", color=color, ms=7)
    ex = tables["experts"].filter(pl.col("source").is_in(sources))
    ax1.plot([x[lv] for lv in ex["level"].to_list()], ex["tau"], color="black", lw=1.4, ls="--",
             label="expert ranker")
    ax1.set_ylabel("Kendall tau")
    ax2.axhline(kmax * 1.5, color="0.6", ls=":", lw=0.8)
    ax2.text(0, kmax * 1.5, " not reached", fontsize=7, va="bottom", color="0.4")
    ax2.set_ylim(0, kmax * 1.6)
    ax2.set_ylabel("crowd-equivalent k (^: not reached)")
    for ax in (ax1, ax2):
        ax.set_xticks(range(len(levels)))
        ax.set_xticklabels(levels, fontsize=8)
        ax.set_xlabel("rater disagreement")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    ax1.set_title(f"crowd at k={kmax} vs the expert ({setting})", fontsize=9)
    ax2.set_title("where the crowd reaches the expert", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)


def _settings(tables: dict[str, Any], sources: list[str]) -> dict[str, list[str]]:
    """Sources grouped by their grid point (the levels of one setting, in order)."""
    out: dict[str, list[str]] = {}
    for s in sources:
        p = _params(tables, s)
        p.pop("level")
        out.setdefault(", ".join(f"{a}={v}" for a, v in p.items()) or "all", []).append(s)
    return out


def write_plots(result: Any, tmp: Path) -> dict[str, list[str]]:
    """Every plot of a preference study into ``tmp/plots``; paths by section."""
    t, made = result.tables, {}
    sources = [s for s in result.meta["sources"] if "curves" in t and (t["curves"]["source"] == s).any()]
    for i, src in enumerate(result.meta["sources"]):
        if src in sources:
            p = f"plots/curve_{i:02d}_{slug(src)}.png"
            plot_curves(t, src, tmp / p)
            made[src] = [p]
    if "crowd_equivalent" in t:
        plot_crowd_equivalent(t["crowd_equivalent"], tmp / "plots" / "crowd_equivalent.png")
        made["crowd_equivalent"] = ["plots/crowd_equivalent.png"]
        for setting, group in _settings(t, sources).items():
            if len(group) > 1:
                p = f"plots/sweep_{slug(setting)}.png"
                plot_sweep(t, group, tmp / p, setting)
                made.setdefault("sweep", []).append(p)
    return made


def curve_summary(curves: Any, source: str) -> Any:
    """k x model cells 'tau [lo, hi]' for one source."""
    import polars as pl

    sub = curves.filter(pl.col("source") == source)
    cell = pl.format("{} [{}, {}]", *(pl.col(c).round(3) for c in ("tau", "ci_low", "ci_high")))
    wide = sub.with_columns(cell.alias("cell")).pivot(on="model", index=["k", "judgments"], values="cell",
                                                      aggregate_function="first")
    return wide.sort("k")


def page(result: Any, plots: dict[str, list[str]]) -> str:
    """The ``index.html`` of a preference study."""
    meta, t = result.meta, result.tables
    h = page_head(result, " (preference study)", f"Metric: {meta['metric']}.")
    if "crowd_equivalent" in t:
        ce = t["crowd_equivalent"].select("source", "level", "collection", "model", "expert_tau", "k_equivalent",
                                          "k_low", "k_high", "status", "crowd_tau_max_k", "k_max")
        h += ["<h2>Crowd-equivalent of the expert ranker</h2>", html_table(ce)]
        h += [f"<img src='{p}' alt='crowd-equivalent'>" for p in plots.get("crowd_equivalent", [])]
        h += ["<h2>Rater disagreement</h2>"] + [f"<img src='{p}' alt='sweep'>" for p in plots.get("sweep", [])]
    if "experts" in t:
        h += ["<h2>Expert ranker</h2>", html_table(t["experts"])]
    h.append("<h2>Crowd curves</h2>")
    for src in meta["sources"]:
        h.append(f"<h3>{html.escape(_title(t, src))}</h3>")
        h += [f"<img src='{p}' alt='{html.escape(src)}'>" for p in plots.get(src, [])]
        if "curves" in t and (t["curves"]["source"] == src).any():
            h.append(html_table(curve_summary(t["curves"], src)))
    return "\n".join(h + page_tail(result, METHODS, PREF_TABLES))


def summary(result: Any, path: Any = None) -> str:
    """A few lines for the terminal: the report and the crowd-equivalents of the expert ranker."""
    meta, t = result.meta, result.tables
    lines = [f"study      {result.study.name} (preference): {len(meta['sources'])} sources, models "
             f"{', '.join(meta['models'])}, engine {meta['engine']}, {meta['seconds']:.1f} s"]
    if path is not None:
        lines.append(f"report     {Path(path) / 'index.html'}")
    ce = t.get("crowd_equivalent")
    if ce is not None:
        lines.append("crowd-equivalent k [interval] of the expert ranker (Kendall tau per prompt):")
        for (src,), grp in ce.group_by(["source"], maintain_order=True):
            cells = ", ".join(f"{r['model']} {k_text(r)}" for r in grp.iter_rows(named=True))
            lines.append(f"  {src} (expert tau {grp['expert_tau'][0]:.3f}): {cells}")
    return "\n".join(lines) + "\n"
