"""The plots of a categorical study (and the helpers the preference report shares), drawn to be read
at the size the page shows them: about the page's width (:data:`WIDTH` inches at :data:`DPI`, shown
1:1), fonts of 9 pt and more, legends outside the axes, models in colour with interval bands,
experts in their own colours and dash styles (only the expert the verdict uses gets a band; the
others are lines, so bands never stack into stripes).

Matplotlib's object API on the Agg canvas (no pyplot, no global backend change); font sizes are
set inside a temporary ``rc_context``. Matplotlib is the ``report`` extra.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Iterator, Sequence

from ._evaluate import KIND_DESIGNATED, KIND_LOO, KIND_POST_HOC, KIND_SIM, MEAN_EXPERT

__all__ = ["COLORS", "EXPERT_STYLES", "DPI", "WIDTH", "figure", "k_axis", "fonts", "legend_outside", "source_label",
           "plot_curves", "plot_crowd_equivalent", "plot_sweep", "expert_choice", "level_text"]

DPI = 110
WIDTH = 11.6  #: inches: 1276 px at DPI, the width of the page's column
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
          "tab:olive", "tab:cyan", "tab:gray")
#: (colour, dash) of the experts of one panel, in order: none shares a model's colour
EXPERT_STYLES = (("black", "-"), ("#7b3294", "--"), ("#a6611a", "-."), ("#d01c8b", ":"),
                 ("#4d9221", (0, (6, 2, 1, 2))), ("#2c7fb8", (0, (1, 1.5))), ("#666666", (0, (9, 3))),
                 ("#b8860b", (0, (3, 1, 1, 1, 1, 1))))


@contextlib.contextmanager
def fonts(size: float = 10.0) -> Iterator[None]:
    """Matplotlib's font sizes for the plots drawn inside (restored after)."""
    import matplotlib

    with matplotlib.rc_context({"font.size": size, "axes.titlesize": size + 0.5, "axes.labelsize": size,
                                "xtick.labelsize": size - 1, "ytick.labelsize": size - 1,
                                "legend.fontsize": size - 1}):
        yield


def figure(width: float, height: float, layout: str | None = None) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'galton[report]'") from None
    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def k_axis(ax: Any, ks: Sequence[int], xlabel: str = "k: judgments per task") -> None:
    if max(ks) / max(min(ks), 1) >= 8:
        ax.set_xscale("log")
    ax.set_xticks(list(ks))
    ax.set_xticklabels([str(k) for k in ks])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.set_xlabel(xlabel)


def legend_outside(ax: Any, title: str | None = None) -> None:
    """The axes' legend to the right of the axes, never over the data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title=title, borderaxespad=0.0)


def source_label(tables: dict[str, Any], source: str) -> str:
    """The source's name, with its grid parameters for a simulated source."""
    import polars as pl

    row = tables["sources"].filter(pl.col("source") == source)
    params = json.loads(row["params"][0]) if row.height and "params" in row.columns else {}
    return source + (" (" + ", ".join(f"{a}={v}" for a, v in params.items()) + ")" if params else "")


def expert_choice(experts: Any) -> tuple[dict[str, Any] | None, str]:
    """The expert a source's verdict compares the crowd with, and the curve that pairs with it
    (``"gold"`` or ``"experts_loo"``): the designated experts' mean (``"experts_loo"`` when they are
    scored leave-one-out), else a single designated expert, else the simulated expert, else the best
    annotator chosen on the selection half (``best #1``); never a post-hoc one. ``(None, "gold")`` when
    the source has no expert."""
    if experts is None or experts.height == 0:
        return None, "gold"
    rows = [r for r in experts.iter_rows(named=True) if r["kind"] != KIND_POST_HOC]
    for r in rows:
        if r["expert"] == MEAN_EXPERT:
            return r, "experts_loo" if r["kind"] == KIND_LOO else "gold"
    for pick in (lambda r: r["kind"] == KIND_DESIGNATED, lambda r: r["kind"] == KIND_SIM,
                 lambda r: str(r["expert"]).startswith("best #1")):
        for r in rows:
            if pick(r):
                return r, "gold"
    return (rows[0], "gold") if rows and "leave-one-out" not in rows[0]["kind"] else (None, "gold")


def _ref_title(ref: str, simulated: bool, designated: bool = False) -> tuple[str, str]:
    """(who the models are compared with, what they are scored against) for one panel; ``designated``:
    designated experts scored against gold are in it (gold is not their own majority)."""
    if ref == "experts_loo":
        return ("the designated experts", "scored against the other experts' majority (leave-one-out): crowd and "
                "each expert against the same references")
    if simulated:
        return "the simulated expert", "scored against the truth"
    if designated:
        return "the designated experts", "scored against gold; best annotators chosen on the other half of the gold"
    return "the best single annotators", "scored against gold; best annotators chosen on the other half of the gold"


def level_text(level: float) -> str:
    """A confidence level as the reports write it: 0.95 -> "95%", 0.975 -> "97.5%"."""
    return f"{100 * level:g}%"


@fonts()
def plot_curves(tables: dict[str, Any], source: str, path: Path, level: float = 0.95) -> None:
    """Accuracy against k per model (interval bands) with the experts' levels: one panel per
    reference, stacked; each panel's main expert (the verdict's, else that panel's
    :func:`expert_choice`) solid black with a light band, the others as coloured dashed lines."""
    import polars as pl

    curves = tables["curves"].filter(pl.col("source") == source)
    experts = tables.get("experts")
    ex_all = None if experts is None else experts.filter(pl.col("source") == source)
    chosen, _ = expert_choice(ex_all)
    refs = [r for r in ("gold", "experts_loo") if (curves["reference"] == r).any()]
    fig = figure(WIDTH, 0.5 + 3.9 * len(refs), layout="constrained")
    models = list(dict.fromkeys(curves["model"].to_list()))
    simulated = tables["sources"].filter(pl.col("source") == source)["kind"].to_list() == ["simulation"]
    ks = curves["k"].unique().sort().to_list()
    whos = []
    for i, ref in enumerate(refs):
        ax = fig.add_subplot(len(refs), 1, i + 1)
        for j, m in enumerate(models):
            c = curves.filter((pl.col("reference") == ref) & (pl.col("model") == m)).sort("k")
            color = COLORS[j % len(COLORS)]
            ax.plot(c["k"], c["accuracy"], marker="o", ms=4, lw=1.8, color=color, label=f"crowd: {m}")
            ax.fill_between(c["k"], c["ci_low"], c["ci_high"], color=color, alpha=0.13, lw=0)
        rows = []
        designated = False
        if ex_all is not None:
            ex = ex_all.filter(pl.col("kind") != KIND_POST_HOC)
            loo = ex["kind"].str.contains("leave-one-out")
            ex = ex.filter(loo if ref == "experts_loo" else ~loo).sort("accuracy", descending=True)
            designated = bool((ex["kind"] == KIND_DESIGNATED).any())
            main_row, _ = expert_choice(ex)
            main_name = None if main_row is None else main_row["expert"]
            rows = sorted(ex.iter_rows(named=True), key=lambda r: r["expert"] != main_name)
        who, scored = _ref_title(ref, simulated, designated)
        if rows:
            whos.append(who)
            for n, row in enumerate(rows):
                main = row["expert"] == main_name
                color, dash = EXPERT_STYLES[0] if main else EXPERT_STYLES[1 + (n - 1) % (len(EXPERT_STYLES) - 1)]
                verdict = chosen is not None and row["expert"] == chosen["expert"]
                ax.axhline(row["accuracy"], color=color, ls=dash, lw=2.0 if main else 1.4,
                           label=f"{row['expert']}: {row['accuracy']:.3f}" + (" (verdict)" if verdict else ""))
                if main:
                    ax.axhspan(row["ci_low"], row["ci_high"], color="0.55", alpha=0.12, lw=0,
                               label=f"its {level_text(level)} interval")
        if not rows:
            scored = scored.split(";")[0]  # no expert in this panel: nothing was chosen
        k_axis(ax, ks)
        ax.set_ylabel("accuracy")
        ax.set_title(scored, loc="left")
        legend_outside(ax)
    against = " and ".join(dict.fromkeys(whos)) or "no expert (none in this source)"
    fig.suptitle(f"Accuracy vs judgments per task on {source_label(tables, source)}: models against {against}",
                 x=0.01, ha="left", fontsize=11.5)
    fig.savefig(path)


@fonts()
def plot_crowd_equivalent(table: Any, path: Path) -> None:
    """Crowd-equivalent k (dot) with its interval (bar) of every expert (columns, grouped by
    source) per model (colours, side by side); "not reached" is the top row of the k axis."""
    pairs = list(dict.fromkeys(zip(table["source"].to_list(), table["expert"].to_list())))
    models = list(dict.fromkeys(table["model"].to_list()))
    by_key = {(r["source"], r["expert"], r["model"]): r for r in table.iter_rows(named=True)}
    kmax = max(table["k_max"].to_list())
    top = kmax * 1.9  # the "not reached" row
    fig = figure(WIDTH, 4.9, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(len(models), 1)
    for j, m in enumerate(models):
        color = COLORS[j % len(COLORS)]
        for i, key in enumerate(pairs):
            r = by_key.get((*key, m))
            if r is None:
                continue
            x = i + (j - (len(models) - 1) / 2) * width
            lo = r["k_low"] if r["k_low"] is not None else top
            hi = r["k_high"] if r["k_high"] is not None else top
            ax.plot([x, x], [lo, hi], color=color, lw=2.2, alpha=0.45, solid_capstyle="butt")
            y = r["k_equivalent"] if r["k_equivalent"] is not None else top
            ax.plot([x], [y], marker="o" if r["k_equivalent"] is not None else "^", color=color, ms=5, ls="none")
        ax.plot([], [], marker="o", color=color, ls="none", label=m)
    ax.plot([], [], marker="^", color="0.3", ls="none", label="not reached")
    ax.set_yscale("log")
    ticks = [k for k in (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 500, 1000) if k <= kmax]
    ax.set_yticks(ticks + [top])
    ax.set_yticklabels([str(k) for k in ticks] + ["not reached"])
    ax.minorticks_off()
    ax.set_ylim(0.8, top * 1.35)
    ax.axhline(top, color="0.7", lw=0.8, ls=":")
    sources = list(dict.fromkeys(s for s, _ in pairs))
    ax.set_xticks(range(len(pairs)))
    ax.set_xticklabels([_short_expert(e) for _, e in pairs], rotation=40, ha="right",
                       fontsize=9 if len(pairs) <= 40 else 7)
    for n, s in enumerate(sources):  # source names above their columns, staggered so they never overlap
        idx = [i for i, (src, _) in enumerate(pairs) if src == s]
        if idx[0] > 0:
            ax.axvline(idx[0] - 0.5, color="0.5", lw=0.9)
        ax.text((idx[0] + idx[-1]) / 2, 1.01 + 0.065 * (n % 2), s, transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=9)
    ax.set_xlim(-0.6, len(pairs) - 0.4)
    ax.set_ylabel("crowd-equivalent k")
    ax.grid(alpha=0.3, axis="y")
    ax.set_title("Crowd-equivalent k of every expert, per model: the k at which the crowd reaches the expert "
                 "(dot; bar: interval)", pad=34 if len(sources) > 1 else 8, loc="left")
    legend_outside(ax, "model")
    fig.savefig(path)


def _short_expert(name: str) -> str:
    name = str(name)
    if "(worker " in name and len(name) > 24:
        head, _, worker = name.partition("(worker ")
        return f"{head}(worker {worker[:8]}…)"
    return name if len(name) <= 28 else name[:27] + "…"


@fonts()
def plot_sweep(sweep: Any, axis: str, path: Path) -> None:
    """Crowd accuracy at the largest k and the crowd-equivalent along one grid axis (the other
    axes at their first value)."""
    import polars as pl

    col = f"grid_{axis}"
    # list-valued axes (class_prior, judgments_per_task = [low, high]) are plotted as categories
    lists = [c for c in sweep.columns if c.startswith("grid_") and isinstance(sweep.schema[c], (pl.List, pl.Array))]
    sweep = sweep.with_columns(pl.Series(c, [str(v) for v in sweep[c].to_list()]) for c in lists)
    others = [c for c in sweep.columns if c.startswith("grid_") and c != col]
    sub = sweep
    for c in others:
        sub = sub.filter(pl.col(c) == sweep[c][0])
    fig = figure(WIDTH, 4.2, layout="constrained")
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    kmax = int(sub["k_max"].max())
    for j, m in enumerate(dict.fromkeys(sub["model"].to_list())):
        s = sub.filter(pl.col("model") == m).sort(col)
        color = COLORS[j % len(COLORS)]
        x = s[col].to_list()
        ax1.errorbar(x, s["crowd_accuracy"], yerr=[(s["crowd_accuracy"] - s["crowd_ci_low"]).to_list(),
                     (s["crowd_ci_high"] - s["crowd_accuracy"]).to_list()], marker="o", ms=4,
                     color=color, capsize=2, label=f"crowd: {m}")
        keq = [v if v is not None else kmax * 1.5 for v in s["k_equivalent"].to_list()]
        ax2.plot(x, keq, marker="o", ms=4, color=color, label=m)
        for xi, v in zip(x, s["k_equivalent"].to_list()):
            if v is None:
                ax2.plot([xi], [kmax * 1.5], marker="^", color=color, ms=7)
    e = sub.unique(subset=[col], keep="first").sort(col)
    ax1.plot(e[col], e["expert_true_accuracy"], color="black", lw=1.6, ls="--", label="expert (true accuracy)")
    ax1.set_ylabel("accuracy")
    ax2.axhline(kmax * 1.5, color="0.6", ls=":", lw=0.8)
    ax2.set_ylim(0, kmax * 1.6)
    ax2.set_yticks([t for t in ax2.get_yticks() if t < kmax * 1.3] + [kmax * 1.5])
    ax2.set_yticklabels([f"{t:g}" for t in ax2.get_yticks()[:-1]] + ["not reached"])
    ax2.set_ylabel("crowd-equivalent k")
    fixed = ", ".join(f"{c[5:]}={sweep[c][0]}" for c in others)
    for ax in (ax1, ax2):
        ax.set_xlabel(axis)
        ax.grid(alpha=0.3)
    ax1.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, frameon=False, title=None)
    ax1.set_title(f"Crowd at k={kmax} against the expert, by {axis}" + (f" ({fixed})" if fixed else ""), loc="left")
    ax2.set_title(f"Where the crowd reaches the expert, by {axis}", loc="left")
    fig.savefig(path)
