"""Scoring of a preference study's crowd rankings: Kendall tau curves, the expert ranker and the
crowd-equivalent (table rows), with the estimators of :mod:`galton.benchmarks.estimators`; the
preference twin of :mod:`galton.benchmarks._evaluate`. A tau gets
:func:`~galton.benchmarks.estimators.tau_interval` (never narrower than the Wilson interval of its
concordant share, so one prompt or a tau near 1 still has a width), crowd-minus-expert differences
:func:`~galton.benchmarks.estimators.difference_interval`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from . import estimators as est
from ._pref_sources import PREF_TAGS as TAGS

if TYPE_CHECKING:  # pragma: no cover
    from ._pref_sources import PrefSource
    from .study_prefs import PrefStudy

__all__ = ["PREF_TABLES", "evaluate_prefs", "expert_name"]

#: Table names, in report order.
PREF_TABLES = ("curves", "experts", "crowd_equivalent", "sources", "runs")


def _int(v: int | None) -> int | None:
    return None if v is None else int(v)


def expert_name(source: PrefSource) -> str:
    return f"expert ranker (noise {source.config['expert_noise']:.3g})"


def evaluate_prefs(source: PrefSource, ks: Sequence[int], results: dict[int, dict[str, Any]],
                   models: Sequence[str], study: PrefStudy) -> dict[str, list[dict[str, Any]]]:
    """Rows of every table (:data:`PREF_TABLES`) for one source."""
    level, ks_arr = study.confidence, np.asarray(ks)
    rows: dict[str, list[dict[str, Any]]] = {n: [] for n in PREF_TABLES}
    P, n = source.n_prompts, source.n_responses
    rng = np.random.default_rng(np.random.SeedSequence([study.seed, TAGS["bootstrap"], source.seed_key]))
    prompt_w = est.bootstrap_counts(P, study.bootstrap, rng)
    rep_w = est.bootstrap_counts(study.repeats, study.bootstrap, rng)
    head = {"source": source.name, "level": source.level, "collection": source.collection}
    e_tau = est.group_kendall_tau(source.expert, source.quality, n)
    e = est.expert_bootstrap(e_tau, prompt_w)
    e_lo, e_hi = est.tau_interval(e.estimate[0], e.replicates[0], P, n, level)
    ename = expert_name(source)
    rows["experts"].append({**head, "expert": ename, "kind": "simulated ranker",
                            "noise": float(source.config["expert_noise"]),
                            "stated_tau": float(source.config["expert_tau"]), "tau": float(e.estimate[0]),
                            "ci_low": float(e_lo), "ci_high": float(e_hi), "n_prompts": P})
    for i, model in enumerate(models):
        if not results[ks[0]]["fitted"][i] or any(results[k]["errors"][i] is not None for k in ks):
            continue
        tau = np.stack([est.group_kendall_tau(results[k]["scores"][i], source.quality, n) for k in ks])
        curve = est.curve_bootstrap(tau, prompt_w, rep_w)
        lo, hi = est.tau_interval(curve.estimate, curve.replicates, np.full(len(ks), P), n, level)
        for j, k in enumerate(ks):
            rows["curves"].append({**head, "model": model, "k": int(k), "tau": float(curve.estimate[j]),
                                   "ci_low": float(lo[j]), "ci_high": float(hi[j]), "n_prompts": P,
                                   "judgments": source.judgments(int(k)), "repeats": study.repeats})
        e_k = est.expert_bootstrap(e_tau, prompt_w, None, len(ks))
        ek_lo, ek_hi = est.tau_interval(e_k.estimate, e_k.replicates, np.full(len(ks), P), n, level)
        d_lo, d_hi = est.difference_interval(
            curve.replicates - e_k.replicates, (curve.estimate, lo, hi), (e_k.estimate, ek_lo, ek_hi),
            est.replicate_correlation(curve.replicates, e_k.replicates), level)
        k_eq, k_lo, k_hi = est.crowd_equivalent(ks_arr, curve.estimate - e_k.estimate, d_lo, d_hi)
        status = ("not reached" if k_eq is None else
                  "reached" if k_hi is not None else "reached (upper bound beyond the grid)")
        rows["crowd_equivalent"].append({
            **head, "expert": ename, "model": model, "expert_tau": float(e.estimate[0]),
            "k_equivalent": _int(k_eq), "k_low": _int(k_lo), "k_high": _int(k_hi), "status": status,
            "crowd_tau_at_k": None if k_eq is None else float(curve.estimate[list(ks).index(k_eq)]),
            "crowd_tau_max_k": float(curve.estimate[-1]), "crowd_ci_low_max_k": float(lo[-1]),
            "crowd_ci_high_max_k": float(hi[-1]), "k_max": int(ks[-1]), "n_prompts": P})
    for i, m in enumerate(models):
        errs = [results[k]["errors"][i] for k in ks if results[k]["errors"][i] is not None]
        fitted = results[ks[0]]["fitted"][i]
        rows["runs"].append({
            "source": source.name, "model": m, "fits": len(ks) * study.repeats if fitted else 0,
            "seconds": float(sum(results[k]["seconds"][i] for k in ks)),
            "warnings": int(sum(results[k]["warnings"][i] for k in ks)),
            "error": errs[0] if errs else ("" if fitted else "not fitted: Plackett-Luce on pairs is bt")})
    kinds = source.rater_kind
    cfg = source.config
    rows["sources"].append({
        **head, "grid": json.dumps(source.grid, sort_keys=True), "n_prompts": P, "n_responses": n,
        "n_items": source.n_items, "n_workers": source.n_workers, "shown": source.per_judgment,
        "reliability": f"{cfg['reliability'][0]:g}-{cfg['reliability'][1]:g}",
        "reliable": int((kinds == "reliable").sum()), "random": int((kinds == "random").sum()),
        "adversarial": int((kinds == "adversarial").sum()), "quality_sd": float(cfg["quality_sd"]),
        "judgments_k_max": source.block, "pool": int(source.worker.shape[0]),
        "k_grid": ",".join(str(k) for k in ks), "expert_noise": float(cfg["expert_noise"]),
        "expert_stated_tau": float(cfg["expert_tau"])})
    return rows
