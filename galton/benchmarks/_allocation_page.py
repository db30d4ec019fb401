"""The ``index.html`` and the plot of the allocation replay study (:mod:`galton.benchmarks.allocation`),
in the style of the crowd-versus-expert page (:mod:`galton.benchmarks._page`): the answer first (one
row per data set: the judgments each strategy needs to reach uniform's full-budget accuracy), then the
plot, then the details per data set and the settings.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any, Sequence

from ._page import CSS, img
from ._plots import COLORS, WIDTH, figure, fonts

__all__ = ["QUESTION", "allocation_page", "plot_allocation", "reach_sentence"]

QUESTION = ("Which task needs another judgment? How many judgments does each allocation strategy need to reach the "
            "accuracy that uniform allocation reaches with the whole budget?")


def _pct(x: float | None) -> str:
    return "not reached" if x is None else f"{100 * x:.0f}%"


def reach_sentence(rows: Sequence[dict[str, Any]]) -> str:
    """One line: the strategy that reaches uniform's full-budget accuracy with the fewest judgments."""
    uni = next((r for r in rows if r["strategy"] == "uniform"), None)
    others = [r for r in rows if r["strategy"] != "uniform" and r["needed"] is not None]
    if uni is None or not others:
        return "no strategy other than uniform reaches uniform's full-budget accuracy before the budget ends"
    best = min(others, key=lambda r: r["needed"])
    if uni["needed"] is not None and best["needed"] >= uni["needed"]:
        return (f"no gain: {best['strategy']} needs {_pct(best['share'])} of the judgments, uniform "
                f"{_pct(uni['share'])}")
    return (f"{best['strategy']} reaches it with {_pct(best['share'])} of the judgments "
            f"(uniform: {_pct(uni['share'])})")


def _cell(r: dict[str, Any]) -> str:
    if r["needed"] is None:
        return "<i>not reached</i>"
    return f"{r['needed']:,} <span class='ci'>({_pct(r['share'])}; extra {_pct(r['share_extra'])})</span>"


def allocation_page(results: Sequence[Any], rows: Sequence[Sequence[dict[str, Any]]], settings: dict[str, Any],
                    load: Sequence[float], plot: str | None) -> str:
    """The page: ``rows[i]`` is :func:`galton.benchmarks.allocation.summarise` of ``results[i]``."""
    strategies = list(dict.fromkeys(r["strategy"] for rs in rows for r in rs))
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>galton bench: allocation replay</title>"
         f"<style>{CSS}</style></head><body>", "<h1>galton bench: allocation replay</h1>",
         f"<p class='question'><b>{QUESTION}</b></p>", "<h2>The answer, per data set</h2>"]
    head = "".join(f"<th>{html.escape(s)}</th>" for s in strategies)
    body = []
    for res, rs in zip(results, rows):
        by = {r["strategy"]: r for r in rs}
        cells = "".join(f"<td>{_cell(by[s])}</td>" if s in by else "<td>-</td>" for s in strategies)
        body.append(f"<tr><td>{html.escape(res.name)}</td><td>{rs[0]['target']:.3f}</td><td>{res.total:,}</td>"
                    f"{cells}<td class='verdict'>{html.escape(reach_sentence(rs))}</td></tr>")
    h.append("<table class='verdict' id='verdict'><thead><tr><th>data set</th><th>uniform's full-budget accuracy"
             f"</th><th>judgments (all)</th>{head}<th>verdict</th></tr></thead><tbody>{''.join(body)}</tbody></table>")
    h.append("<p class='note'>Each strategy cell: the judgments (start included) at which the strategy's mean curve "
             "first reaches uniform's full-budget accuracy; in brackets as a share of all judgments and of the "
             "judgments beyond the start. 'not reached': never before the budget ends.</p>")
    h.append(f"<p class='note'>Start from {settings['start']} judgment(s) per task; each round every strategy "
             f"reveals the next held-back real judgment of the tasks galton.allocate ranks first (batch "
             f"{settings['batch']:g}: judgments per round, a share of the tasks when below 1); model "
             f"{html.escape(str(settings['model'] or 'galton default'))} refitted each round on "
             f"{html.escape(str(settings.get('engine', 'local')))}; "
             f"{settings['repetitions']} repetition(s) (seed {settings['seed']}); intervals: 95% Student t over "
             "repetitions, clipped to [0, 1] (wide with few repetitions: t = 12.7 for two). Load average while "
             f"it ran (1, 5, 15 min): {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
             f"on {os.cpu_count()} CPU(s).</p>")
    if plot:
        h += ["<h2>Accuracy against judgments spent</h2>", img(plot, "accuracy against judgments spent")]
    from .allocation import warned_line

    h.append("<h2>Details per data set</h2>")
    for res, rs in zip(results, rows):
        h.append(f"<h3>{html.escape(res.name)}</h3><p class='note'>{res.n_tasks:,} tasks, {res.total:,} judgments "
                 f"(at most {res.max_per_task} per task), {res.start_total:,} at the start, {res.batch} per round, "
                 f"{res.spent.size} points, {res.seconds:.1f} s.</p>")
        h += [f"<p class='note'>{html.escape(warned_line(t, n))}</p>" for t, n in res.warnings.items()]
        trs = "".join(
            f"<tr><td>{html.escape(r['strategy'])}</td><td>{r['start']:.3f}</td><td>{r['at_50']:.3f}</td>"
            f"<td>{r['at_70']:.3f} <span class='ci'>[{r['lo_70']:.3f}, {r['hi_70']:.3f}]</span></td>"
            f"<td>{r['final']:.3f}</td><td>{_cell(r)}</td>"
            f"<td>{html.escape(', '.join(_pct(p) for p in r['per_rep']))}</td></tr>" for r in rs)
        h.append("<table><thead><tr><th>strategy</th><th>accuracy at the start</th><th>at 50% of the budget</th>"
                 "<th>at 70% [95% interval]</th><th>full budget</th><th>judgments to reach uniform's full-budget "
                 f"accuracy</th><th>per repetition</th></tr></thead><tbody>{trs}</tbody></table>")
    h.append("<p class='note'>Files: <a href='report.md'>report.md</a>, <a href='curves.csv'>curves.csv</a> "
             "(mean and interval of every curve).</p></body></html>")
    return "\n".join(h)


@fonts()
def plot_allocation(results: Sequence[Any], path: Path, interval: Any) -> None:
    """Accuracy against the share of judgments spent, one panel per data set side by side, one legend
    below; uniform's full-budget accuracy as a dashed line."""
    n = len(results)
    fig = figure(WIDTH, 4.4, layout="constrained")
    axes = [fig.add_subplot(1, n, i + 1) for i in range(n)]
    for ax, res in zip(axes, results):
        span = [1.0, 0.0]
        for j, (s, a) in enumerate(res.acc.items()):
            mean, lo, hi = interval(a)
            x = res.spent / res.total
            ax.plot(x, mean, color=COLORS[j % len(COLORS)], lw=1.8, label=s)
            ax.fill_between(x, lo.clip(0, 1), hi.clip(0, 1), color=COLORS[j % len(COLORS)], alpha=0.15, lw=0)
            span = [min(span[0], float(mean.min())), max(span[1], float(mean.max()))]
        pad = 0.1 * (span[1] - span[0]) + 0.01  # the means decide the scale (few repetitions: wide bands)
        ax.set_ylim(max(0.0, span[0] - pad), min(1.0, span[1] + pad) + 0.005)
        target = float(res.acc.get("uniform", next(iter(res.acc.values())))[:, -1].mean())
        ax.axhline(target, color="black", lw=1.0, ls="--", label="uniform at the full budget")
        ax.set_title(res.name if len(res.name) <= 40 else res.name[:39] + "…", loc="left")
        ax.set_xlabel("share of all judgments spent")
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    axes[0].set_ylabel("accuracy on gold")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), frameon=False)
    fig.suptitle("Accuracy vs judgments spent: allocation strategies against uniform allocation", x=0.01, ha="left",
                 fontsize=11.5)
    fig.savefig(path)
