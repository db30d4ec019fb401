"""Scoring of a study's aggregated labels: crowd curves, experts, crowd-equivalents (tables).

:func:`evaluate_source` turns the labels of every (k, repetition, model) of one source into table
rows with the estimators of :mod:`galton.benchmarks.estimators`. Every *comparison* pairs a
reference (gold, or the other experts' majority), a set of tasks and optionally an expert's
credits on them; the crowd is always scored on exactly the expert's tasks and reference, with
one shared set of bootstrap weights (paired). Accuracies get :func:`~galton.benchmarks.estimators.proportion_interval`
(never narrower than the Wilson interval on the scored tasks), crowd-minus-expert differences
:func:`~galton.benchmarks.estimators.difference_interval`.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from . import estimators as est
from ._sources import TAGS

if TYPE_CHECKING:  # pragma: no cover
    from ._sources import Source
    from .study import Study

__all__ = ["Comparison", "best_selection", "exclude_best", "comparisons", "evaluate_source", "tables_from_rows",
           "TABLES"]

#: Table names, in report order.
TABLES = ("curves", "experts", "crowd_equivalent", "sweep", "sources", "runs")

KIND_LOO = "designated (leave-one-out)"
KIND_DESIGNATED = "designated"
KIND_SPLIT = "best annotator (split half)"
KIND_POST_HOC = "best annotator (post hoc, biased)"
KIND_SIM = "simulated"
MEAN_EXPERT = "experts (mean)"


@dataclass
class Comparison:
    """Tasks, reference credits (tasks x codes) and the expert's credits (None: crowd only)."""

    expert: str | None
    kind: str
    reference: str
    tasks: np.ndarray
    credit: np.ndarray
    score: np.ndarray | None = None
    curve: str | None = None  # name of the curve this comparison adds to the curves table
    extra: dict[str, Any] = field(default_factory=dict)


def _onehot(codes: np.ndarray, n_codes: int) -> np.ndarray:
    out = np.zeros((codes.shape[0], n_codes))
    out[np.arange(codes.shape[0]), codes] = 1.0
    return out


def best_selection(source: Source, study: Study) -> est.Selection | None:
    """The best annotators of a real dataset, chosen on one half of its gold tasks
    (:func:`~galton.benchmarks.estimators.split_half`, seeded by the study and the source); None
    when the study chooses none (``best_annotators = 0``, a simulation, or fewer than
    ``2 * min_tasks`` gold tasks)."""
    n_gold = int((source.gold >= 0).sum())
    if study.best_annotators <= 0 or source.kind != "dataset" or n_gold < 2 * study.min_tasks:
        return None
    rng = np.random.default_rng(np.random.SeedSequence([study.seed, TAGS["split"], source.seed_key]))
    return est.split_half(source.task, source.worker, source.label, source.gold, source.n_workers,
                          rng, study.best_annotators, study.min_tasks)


def exclude_best(source: Source, study: Study) -> Source:
    """The source with its best annotators (:func:`best_selection`) left out of the crowd: the crowd
    compared with an annotator must not hold the annotator's own judgments (with them, on the tasks
    the annotator is scored on, the crowd partly *is* the annotator). Like designated experts, they
    are out of the crowd on every task and at every k; their own judgments still give their scores."""
    sel = best_selection(source, study)
    if sel is None or not sel.workers.size:
        return source
    return dataclasses.replace(source, crowd_excluded=tuple(int(w) for w in sel.workers))


def _crowd_judged(comp: Comparison, judged: np.ndarray) -> Comparison:
    """The comparison on the tasks the crowd judged (``judged``: per task of the source)."""
    keep = judged[comp.tasks]
    if keep.all():
        return comp
    return dataclasses.replace(comp, tasks=comp.tasks[keep], credit=comp.credit[keep],
                               score=None if comp.score is None else comp.score[keep])


def comparisons(source: Source, study: Study) -> list[Comparison]:
    """The comparisons of a source: the gold curve first, then every expert. Every one leaves out
    the tasks the crowd never judged (a task only the best annotators judged, once they are out of
    the crowd): there a model has nothing to aggregate, and would be scored on its prior guess."""
    out = []
    for c in _all_comparisons(source, study):
        kept = _crowd_judged(c, source.counts > 0)
        if c.tasks.size and not kept.tasks.size and c.kind in (KIND_LOO, KIND_DESIGNATED) and c.expert != MEAN_EXPERT:
            kept = dataclasses.replace(kept, extra={**kept.extra, "unscored": "the crowd judged none of its tasks"})
        out.append(kept)
    return out


def _expert_comparisons(source: Source, study: Study, labels: np.ndarray, truth: str) -> list[Comparison]:
    """The designated experts, and with two or more their mean (:data:`MEAN_EXPERT`), as the methods say:
    scored leave-one-out (each, and the crowd, against the majority of the other experts) when gold is
    the experts' own majority (:func:`~galton.benchmarks.estimators.gold_is_majority`), else against gold
    (leave-one-out ran whenever there were two). The mean averages, on each task, the experts scored
    there, over the tasks where any is (it was taken where every expert was, and had no task when no task
    had them all). An expert scored on no task is left out, saying why (``extra["unscored"]``)."""
    n_exp, n_codes, gold = labels.shape[0], source.n_codes, source.gold
    if n_exp >= 2 and est.gold_is_majority(labels, gold, n_codes):
        rng = np.random.default_rng(np.random.SeedSequence([study.seed, TAGS["loo"], source.seed_key]))
        loo = est.leave_one_out(labels, n_codes, study.loo_ties, rng)
        kind, curve = KIND_LOO, "experts_loo"
        ref = f"majority of the other {n_exp - 1} experts (ties: {study.loo_ties})"
        credits, scores = np.stack([c for c, _, _ in loo]), np.stack([sc for _, sc, _ in loo])
        tied: list[np.ndarray] | None = [ti for _, _, ti in loo]
        why = "no task that another expert also answered: leave-one-out has no reference"
    else:
        answered = (labels >= 0) & (gold >= 0)[None, :]
        scores = np.where(answered, (labels == gold[None, :]).astype(float), np.nan)
        credits = np.broadcast_to(_onehot(np.maximum(gold, 0), n_codes), (n_exp, *gold.shape, n_codes))
        ref, kind, curve, tied, why = truth, KIND_DESIGNATED, None, None, "none of its tasks has gold"
    out = []
    for e, name in enumerate(source.expert_names):
        t = np.flatnonzero(~np.isnan(scores[e]))
        extra: dict[str, Any] = {} if tied is None else {"tied_reference_tasks": int(tied[e][t].sum())}
        if not t.size:
            extra["unscored"] = why
        out.append(Comparison(f"expert {name}", kind, ref, t, credits[e][t], scores[e, t], extra=extra))
    scored = ~np.isnan(scores)
    t = np.flatnonzero(scored.any(axis=0))
    if n_exp >= 2 and t.size:
        w = scored[:, t]
        n = w.sum(axis=0)
        credit = (credits[:, t] * w[:, :, None]).sum(axis=0) / n[:, None]
        out.append(Comparison(MEAN_EXPERT, kind, ref, t, credit, np.where(w, scores[:, t], 0.0).sum(axis=0) / n,
                              curve=curve))
    return out


def _all_comparisons(source: Source, study: Study) -> list[Comparison]:
    gold_tasks = np.flatnonzero(source.gold >= 0)
    gold_credit = _onehot(source.gold[gold_tasks], source.n_codes)
    truth = "truth" if source.kind == "simulation" else "gold"
    out = [Comparison(None, "crowd", truth, gold_tasks, gold_credit, curve="gold")]
    if source.expert_labels is not None:
        out += _expert_comparisons(source, study, source.expert_labels, truth)
    names = source.worker_names or list(range(source.n_workers))
    sel = best_selection(source, study)
    if sel is not None:
        for i, w in enumerate(sel.workers):
            t = np.flatnonzero(~np.isnan(sel.scores[i]))
            if t.size:
                out.append(Comparison(
                    f"best #{i + 1} (worker {names[w]})", KIND_SPLIT, f"{truth}, other half", t,
                    _onehot(source.gold[t], source.n_codes), sel.scores[i, t],
                    extra={"selection_accuracy": float(sel.selection_accuracy[i]),
                           "selection_tasks": int(sel.selection_tasks[i])}))
        ph = est.post_hoc_best(source.task, source.worker, source.label, source.gold, source.n_workers,
                               study.min_tasks)
        for i, w in enumerate(ph.workers):
            t = np.flatnonzero(~np.isnan(ph.scores[i]))
            out.append(Comparison(f"post-hoc best (worker {names[w]})", KIND_POST_HOC, truth, t,
                                  _onehot(source.gold[t], source.n_codes), ph.scores[i, t],
                                  extra={"selection_accuracy": float(ph.selection_accuracy[i]),
                                         "selection_tasks": int(ph.selection_tasks[i]),
                                         "note": "chosen after seeing the scoring gold; not used "
                                                 "for crowd-equivalents"}))
    if source.sim_expert is not None:
        labels_e, true_acc, nominal = source.sim_expert
        score = (labels_e[gold_tasks] == source.gold[gold_tasks]).astype(float)
        out.append(Comparison(f"simulated expert ({nominal:g})", KIND_SIM, truth, gold_tasks, gold_credit,
                              score, extra={"true_accuracy": true_acc}))
    return out


def _preds(results: dict[int, dict[str, Any]], ks: Sequence[int], m: int) -> np.ndarray | None:
    if any(results[k]["errors"][m] is not None for k in ks):
        return None
    return np.stack([results[k]["preds"][m] for k in ks]).astype(np.int64)


def _int(v: int | None) -> int | None:
    return None if v is None else int(v)


def _nan_none(v: float) -> float | None:
    """None for an accuracy on no task (NaN), so that tables and reports say "-", not "nan"."""
    return None if np.isnan(v) else float(v)


def evaluate_source(source: Source, ks: Sequence[int], results: dict[int, dict[str, Any]],
                    models: Sequence[str], study: Study) -> dict[str, list[dict[str, Any]]]:
    """Rows of every table for one source (see :data:`TABLES`)."""
    ks_arr = np.asarray(ks)
    level = study.confidence
    counts = source.counts
    preds = {m: _preds(results, ks, i) for i, m in enumerate(models)}
    rows: dict[str, list[dict[str, Any]]] = {n: [] for n in TABLES}
    kmax_acc: dict[tuple[str, str], tuple[float, float, float]] = {}
    unscored = []  # designated experts scored on no task: left out, named in the sources table
    for c_idx, comp in enumerate(comparisons(source, study)):
        T = comp.tasks.shape[0]
        if T == 0:
            if comp.extra.get("unscored"):
                unscored.append(f"{comp.expert} ({comp.extra['unscored']})")
            continue
        rng = np.random.default_rng(np.random.SeedSequence([study.seed, TAGS["bootstrap"], source.seed_key, c_idx]))
        task_w = est.bootstrap_counts(T, study.bootstrap, rng)
        rep_w = est.bootstrap_counts(study.repeats, study.bootstrap, rng)
        n_full = (counts[comp.tasks][None, :] >= ks_arr[:, None]).sum(axis=1)
        mask = (counts[comp.tasks][None, :] >= ks_arr[:, None]) if study.short_tasks == "exclude" else None
        if comp.score is not None:
            e = est.expert_bootstrap(comp.score, task_w)
            e_lo, e_hi = est.proportion_interval(e.estimate[0], e.replicates[0], T, level)
            rows["experts"].append({
                "source": source.name, "expert": comp.expert, "kind": comp.kind, "reference": comp.reference,
                "accuracy": float(e.estimate[0]), "ci_low": float(e_lo), "ci_high": float(e_hi),
                "n_tasks": T, "selection_accuracy": comp.extra.get("selection_accuracy"),
                "selection_tasks": comp.extra.get("selection_tasks"),
                "true_accuracy": comp.extra.get("true_accuracy"),
                "tied_reference_tasks": comp.extra.get("tied_reference_tasks"),
                "note": comp.extra.get("note", "")})
        ar = np.arange(T)
        for model, P in preds.items():
            if P is None:
                continue
            credit = comp.credit[ar[None, None, :], P[:, :, comp.tasks]]
            curve = est.curve_bootstrap(credit, task_w, rep_w, mask)
            n_scored = np.full(len(ks), T) if mask is None else mask.sum(axis=1)
            lo, hi = est.proportion_interval(curve.estimate, curve.replicates, n_scored, level)
            if comp.curve is not None:
                for i, k in enumerate(ks):
                    rows["curves"].append({
                        "source": source.name, "reference": comp.curve, "model": model, "k": int(k),
                        "accuracy": float(curve.estimate[i]), "ci_low": float(lo[i]), "ci_high": float(hi[i]),
                        "n_tasks": int(n_scored[i]), "n_tasks_full": int(n_full[i]),
                        "repeats": study.repeats})
                if comp.curve == "gold":
                    kmax_acc[(source.name, model)] = (float(curve.estimate[-1]), float(lo[-1]), float(hi[-1]))
            if comp.score is None or comp.kind == KIND_POST_HOC:
                continue
            e_k = est.expert_bootstrap(comp.score, task_w, mask, len(ks))
            ek_lo, ek_hi = est.proportion_interval(e_k.estimate, e_k.replicates, n_scored, level)
            d_lo, d_hi = est.difference_interval(
                curve.replicates - e_k.replicates, (curve.estimate, lo, hi), (e_k.estimate, ek_lo, ek_hi),
                est.replicate_correlation(curve.replicates, e_k.replicates), level)
            k_eq, k_lo, k_hi = est.crowd_equivalent(ks_arr, curve.estimate - e_k.estimate, d_lo, d_hi)
            status = ("not reached" if k_eq is None else
                      "reached" if k_hi is not None else "reached (upper bound beyond the grid)")
            i_eq = None if k_eq is None else list(ks).index(k_eq)
            at = None if i_eq is None else float(curve.estimate[i_eq])
            # the expert's accuracy on all its tasks (the experts table's); with short tasks excluded the
            # comparison at k is on the tasks with k judgments, and expert_accuracy_at_k is the expert's there
            row = {"source": source.name, "expert": comp.expert, "kind": comp.kind, "model": model,
                   "expert_accuracy": float(np.mean(comp.score)),
                   "expert_accuracy_at_k": None if i_eq is None else float(e_k.estimate[i_eq]),
                   "k_equivalent": _int(k_eq), "k_low": _int(k_lo), "k_high": _int(k_hi), "status": status,
                   "crowd_accuracy_at_k": at, "crowd_accuracy_max_k": _nan_none(curve.estimate[-1]),
                   "k_max": int(ks[-1]), "n_tasks": T}
            rows["crowd_equivalent"].append(row)
            if comp.kind == KIND_SIM:
                acc, alo, ahi = kmax_acc.get((source.name, model), (np.nan, np.nan, np.nan))
                rows["sweep"].append({
                    "source": source.name, **{f"grid_{a}": v for a, v in source.params.items()},
                    "model": model, "k_max": int(ks[-1]), "crowd_accuracy": acc, "crowd_ci_low": alo,
                    "crowd_ci_high": ahi, "expert_accuracy": row["expert_accuracy"],
                    "expert_true_accuracy": comp.extra.get("true_accuracy"), "k_equivalent": _int(k_eq),
                    "k_low": _int(k_lo), "k_high": _int(k_hi), "status": status})
    for i, m in enumerate(models):
        errs = [results[k]["errors"][i] for k in ks if results[k]["errors"][i] is not None]
        rows["runs"].append({
            "source": source.name, "model": m, "fits": len(ks) * study.repeats,
            "seconds": float(sum(results[k]["seconds"][i] for k in ks)),
            "warnings": int(sum(results[k]["warnings"][i] for k in ks)),
            "warning_texts": json.dumps(sum((collections.Counter(results[k].get("warning_texts", [{}] * len(models))[i])
                                             for k in ks), collections.Counter()), sort_keys=True),
            "error": errs[0] if errs else ""})
    c = counts
    rows["sources"].append({
        "source": source.name, "kind": source.kind, "origin": source.origin, "n_tasks": source.n_tasks,
        "n_gold_tasks": int((source.gold >= 0).sum()), "n_workers": source.n_workers,
        "n_labels": source.n_labels, "n_judgments": int(source.crowd.shape[0]),
        "judgments_min": int(c.min()), "judgments_median": float(np.median(c)), "judgments_max": int(c.max()),
        "k_grid": ",".join(str(k) for k in ks), "n_experts": len(source.expert_names) or
        (1 if source.sim_expert is not None else 0),
        "dropped_expert_judgments": source.dropped_expert_judgments, "unscored_experts": "; ".join(unscored),
        "best_annotator_judgments": int(source.task.shape[0] - source.crowd.shape[0]),
        "unjudged_gold_tasks": int(((source.gold >= 0) & (c == 0)).sum()),
        "params": json.dumps(source.params, sort_keys=True)})
    return rows


def tables_from_rows(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Polars DataFrames by table name (empty tables are left out)."""
    import polars as pl

    return {n: pl.DataFrame(rows[n], infer_schema_length=None) for n in TABLES if rows.get(n)}
