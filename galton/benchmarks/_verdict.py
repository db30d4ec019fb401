"""The answer first: does the crowd beat the expert? One verdict row per source of a categorical
study, from its tables (no new estimate):

- the expert: :func:`galton.benchmarks._plots.expert_choice` (the designated experts' mean, scored
  leave-one-out when gold is their own majority and against gold otherwise, else a designated
  expert, else the simulated expert, else the best annotator chosen on the selection half), with its
  interval from the ``experts`` table;
- the crowd: the model with the best accuracy at the source's largest k on the curve that pairs with
  that expert (``gold``, or ``experts_loo`` for the leave-one-out mean), with its interval; the
  largest k where a task was scored (with ``short_tasks = "exclude"`` the largest k may score none,
  or few tasks: the sentence then says on how many of the gold tasks the crowd was scored);
- the crowd-equivalent k of that model against that expert (``crowd_equivalent`` table);
- the verdict, by :data:`RULE`: "beats" when the crowd's interval lies wholly above the expert's,
  "below" when wholly below, "level with" when the two overlap.
"""

from __future__ import annotations

import html
import math
from typing import Any, Sequence

from ._evaluate import MEAN_EXPERT
from ._plots import expert_choice, level_text, source_label

__all__ = ["RULE", "rule", "level_text", "no_curve_cause", "verdict_rows", "verdict_word", "verdict_sentence",
           "verdict_html", "keq_text", "crowd_equivalent_pivot", "verdict_lines"]

_RULE = ("Verdict rule: <i>beats</i> when the crowd's {level} interval lies wholly above the expert's, <i>below</i> "
         "when wholly below, <i>level with</i> when the two intervals overlap (overlap is not proof of equality; the "
        "paired crowd-equivalent interval is the sharper test). Points: crowd minus expert accuracy, in "
        "percentage points. The expert is the designated experts' mean when a source has two or more (on each "
        "task, the mean of the experts scored there; scored against the other experts' majority, the crowd against "
        "the same references, when gold is the experts' own majority, else against gold), else a "
        "designated expert, else the simulated expert, else the best annotator chosen on one half of the gold "
        "tasks and scored on the other half (the crowd is scored on all gold tasks); a post-hoc best annotator "
        "is never used. Best model: the best accuracy at the source's largest k where some task was scored.")


def rule(level: float = 0.95) -> str:
    """:data:`RULE` at the study's confidence level."""
    return _RULE.format(level=level_text(level))


RULE = rule()


def verdict_word(crowd_lo: float, crowd_hi: float, expert_lo: float, expert_hi: float) -> str:
    """"beats", "below" or "level with" by :data:`RULE`."""
    if crowd_lo > expert_hi:
        return "beats"
    if crowd_hi < expert_lo:
        return "below"
    return "level with"


def keq_text(row: dict[str, Any] | None, k_max: int | None = None, short: bool = False) -> str:
    """A crowd-equivalent row as words: "5 [3, 10]", "50 [10, >78]" or "not reached up to k=78"."""
    if row is None:
        return "-"
    if row["k_equivalent"] is None:
        return f"> {row['k_max']}" if short else f"not reached up to k={row['k_max'] if k_max is None else k_max}"
    hi = row["k_high"] if row["k_high"] is not None else f">{row['k_max']}"
    return f"{row['k_equivalent']} [{row['k_low']}, {hi}]"


def _who(expert: str) -> str:
    if expert == MEAN_EXPERT:
        return "the designated experts' mean"
    if expert.startswith("best #1 (worker "):
        return "the best annotator (" + expert[len("best #1 ("):]
    return expert if expert.startswith("expert ") else f"the {expert}"


def verdict_sentence(row: dict[str, Any]) -> str:
    """One line in words for a row of :func:`verdict_rows`."""
    if row["model"] is None:
        if row.get("unscored"):
            return "no crowd accuracy at any k: no gold task had k judgments (see the curves)"
        return f"no crowd curve: {row.get('no_curve') or 'every model failed on this source (see Fits)'}"
    crowd = f"the crowd of k={row['k']} ({row['model']})"
    n, total = row.get("n_tasks"), row.get("n_tasks_all")
    if n is not None and total is not None and n < total:  # short_tasks = "exclude": only tasks with k judgments
        crowd += f", scored on the {n} of {total} {row['tasks']} with at least {row['k']} judgments,"
    if row["expert"] is None:
        return (f"no expert in this source: nothing to compare with; {crowd} reaches {row['crowd']:.3f} "
                f"against {row['truth']}")
    diff = 100.0 * (row["crowd"] - row["expert_accuracy"])
    who = _who(row["expert"])
    keq = row["keq"]
    # the crowd-equivalent is on the expert's own tasks: where those are not the tasks of the points (a
    # best annotator's half of the gold) and the two disagree, the sentence says where it is
    same = keq is not None and row.get("n_tasks_all") is not None and keq.get("n_tasks") == row["n_tasks_all"]
    own = "" if same else "on the expert's own tasks "
    reach = ("" if keq is None else
             f"; {own if diff < 0 else ''}it reaches the expert at k={keq['k_equivalent']}"
             if keq["k_equivalent"] is not None else "" if diff < 0 else
             f"; on the expert's own tasks it does not reach the expert up to k={keq['k_max']}")
    word = row["verdict"]
    if word == "beats":
        return f"{crowd} beats {who} by {diff:.1f} points{reach}"
    if word == "below":
        return f"{crowd} is below {who} by {-diff:.1f} points"
    return f"{crowd} is level with {who} ({diff:+.1f} points, intervals overlap){reach}"


def no_curve_cause(tables: dict[str, Any], src: str) -> str:
    """Why source ``src`` has no crowd curve: every fit on it failed, or they ran and the crowd judged no
    gold task (a dataset with no judged gold task is refused before its fits: only the best annotators,
    left out of the crowd, judged its gold tasks)."""
    runs = tables.get("runs")
    errors = [] if runs is None else [e for s, e in zip(runs["source"].to_list(), runs["error"].to_list()) if s == src]
    if errors and all(errors):
        return "every model failed on this source (see Fits)"
    return "the crowd judged no gold task (only the best annotators, left out of the crowd, judged them; see Sources)"


def _all_tasks(sources: Any, src: str, ref: str, chosen: dict[str, Any] | None) -> dict[str, Any]:
    """The tasks a curve scores when none is left out: the gold tasks (less those that only best annotators
    judged: no one scores them), or the leave-one-out experts' tasks (those of their mean); ``n_tasks_all``
    None where the tables do not say."""
    if ref == "experts_loo":
        return {"n_tasks_all": None if chosen is None else chosen.get("n_tasks"), "tasks": "tasks of the experts"}
    row = sources.filter(sources["source"] == src)
    n = row["n_gold_tasks"][0] if "n_gold_tasks" in row.columns and row.height else None
    if n is not None and "unjudged_gold_tasks" in row.columns:
        n -= row["unjudged_gold_tasks"][0]
    return {"n_tasks_all": n, "tasks": "gold tasks"}


def verdict_rows(tables: dict[str, Any], sources: Sequence[str]) -> list[dict[str, Any]]:
    """One row per source (see the module docstring): source, label, expert, expert_accuracy,
    expert_low/high, model, k, crowd, crowd_low/high, n_tasks (the crowd's scored tasks at k),
    n_tasks_all (those the curve scores when none is left out) and tasks (what they are), keq
    (crowd-equivalent row), verdict, sentence. With ``short_tasks = "exclude"`` the sentence says on
    how many tasks the crowd was scored when that is not all of them."""
    import polars as pl

    curves, experts, ce = tables.get("curves"), tables.get("experts"), tables.get("crowd_equivalent")
    kinds = dict(zip(tables["sources"]["source"].to_list(), tables["sources"]["kind"].to_list()))
    out = []
    for src in sources:
        ex = None if experts is None else experts.filter(pl.col("source") == src)
        chosen, ref = expert_choice(ex)
        row: dict[str, Any] = {"source": src, "label": source_label(tables, src), "expert": None, "model": None,
                               "reference": ref, "keq": None, "verdict": "no expert",
                               "truth": "the truth" if kinds.get(src) == "simulation" else "gold"}
        c = None if curves is None else curves.filter((pl.col("source") == src) & (pl.col("reference") == ref))
        if c is not None and c.height:  # the largest k where some task was scored (NaN: none was)
            row["unscored"] = True
            c = c.filter(pl.col("accuracy").is_not_null() & pl.col("accuracy").is_not_nan())
        if c is not None and c.height:
            row["unscored"] = False
            k = int(c["k"].max())
            at = c.filter(pl.col("k") == k).with_row_index("order").sort(["accuracy", "order"],
                                                                         descending=[True, False])
            best = at.row(0, named=True)
            row.update(model=best["model"], k=k, crowd=best["accuracy"], crowd_low=best["ci_low"],
                       crowd_high=best["ci_high"], n_tasks=best.get("n_tasks"))
        if chosen is not None and not math.isfinite(chosen["accuracy"]):
            chosen = None  # an expert scored on no task says nothing
        row.update(_all_tasks(tables["sources"], src, ref, chosen))
        if chosen is not None:
            row.update(expert=chosen["expert"], expert_accuracy=chosen["accuracy"], expert_low=chosen["ci_low"],
                       expert_high=chosen["ci_high"])
            if row["model"] is not None:
                row["verdict"] = verdict_word(row["crowd_low"], row["crowd_high"], row["expert_low"],
                                              row["expert_high"])
                if ce is not None:
                    hit = ce.filter((pl.col("source") == src) & (pl.col("expert") == chosen["expert"])
                                    & (pl.col("model") == row["model"]))
                    row["keq"] = hit.row(0, named=True) if hit.height else None
        elif row["model"] is None:
            row["verdict"] = "no crowd curve"
        if row["model"] is None and not row.get("unscored"):
            row["no_curve"] = no_curve_cause(tables, src)
        row["sentence"] = verdict_sentence(row)
        out.append(row)
    return out


def _ci(v: float, lo: float, hi: float) -> str:
    return f"{v:.3f} <span class='ci'>[{lo:.3f}, {hi:.3f}]</span>"


def verdict_html(rows: Sequence[dict[str, Any]], level: float = 0.95) -> str:
    """The verdict table (the page's first table) and its footnote; ``level``: the study's confidence."""
    pct = level_text(level)
    head = (f"<tr><th>source</th><th>expert: accuracy [{pct} interval]</th><th>crowd: best model at the largest k "
            f"[{pct} interval]</th><th>crowd-equivalent k [interval]</th><th>verdict</th></tr>")
    body = []
    for r in rows:
        if r["expert"] is None:
            expert = "<i>no expert in this source</i>"
        else:
            expert = f"{html.escape(r['expert'])}<br>{_ci(r['expert_accuracy'], r['expert_low'], r['expert_high'])}"
        crowd = ("<i>no curve</i>" if r["model"] is None else
                 f"{html.escape(r['model'])}, k={r['k']}<br>{_ci(r['crowd'], r['crowd_low'], r['crowd_high'])}")
        keq = ("-" if r["expert"] is None else "<i>not computed</i>" if r["keq"] is None
               else html.escape(keq_text(r["keq"])))
        cls = {"beats": "beats", "below": "below", "level with": "level"}.get(r["verdict"], "none")
        body.append(f"<tr class='{cls}'><td>{html.escape(r['label'])}</td><td>{expert}</td><td>{crowd}</td>"
                    f"<td>{keq}</td><td class='verdict'>{html.escape(r['sentence'])}</td></tr>")
    return (f"<table class='verdict' id='verdict'><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
            f"<p class='note'>{rule(level)}</p>")


def crowd_equivalent_pivot(ce: Any) -> Any:
    """The crowd-equivalent table, one row per (source, expert) and one column per model:
    "k [interval]" or "> k_max" (not reached)."""
    import polars as pl

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    models = list(dict.fromkeys(ce["model"].to_list()))
    for r in ce.iter_rows(named=True):
        key = (r["source"], r["expert"])
        row = rows.setdefault(key, {"source": r["source"], "expert": r["expert"],
                                    "expert accuracy": round(float(r["expert_accuracy"]), 3), "k max": r["k_max"]})
        row[r["model"]] = keq_text(r, short=True)
    cols = ["source", "expert", "expert accuracy", "k max", *models]
    return pl.DataFrame([{c: row.get(c, "-") for c in cols} for row in rows.values()], infer_schema_length=None)


def verdict_lines(tables: dict[str, Any], sources: Sequence[str], level: float = 0.95) -> list[str]:
    """The verdict for the terminal: one line per source."""
    lines = [f"does the crowd beat the expert? (crowd at the largest k vs the expert, {level_text(level)} intervals)"]
    for r in verdict_rows(tables, sources):
        nums = "" if r["expert"] is None or r["model"] is None else (
            f" [crowd {r['crowd']:.3f} ({r['crowd_low']:.3f}-{r['crowd_high']:.3f}), expert "
            f"{r['expert_accuracy']:.3f} ({r['expert_low']:.3f}-{r['expert_high']:.3f})]")
        lines.append(f"  {r['label']}: {r['sentence']}{nums}")
    return lines
