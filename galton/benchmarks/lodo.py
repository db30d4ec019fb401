"""In-sample against leave-one-dataset-out accuracy of the default model's hyperparameters.

The default model's priors were chosen by measuring accuracy on the shared datasets, so its mean
there is in-sample: it overstates what the same rule gives on data it was not tuned on. This module
measures the gap. It fits the default model with every configuration of a small grid around the
shipped hyperparameters on every dataset, then reports

- the shipped configuration's mean (in-sample: chosen on these data);
- the best grid configuration's mean (in-sample, tuned after the fact);
- the leave-one-dataset-out (LODO) mean: for each dataset, the configuration with the best mean on
  the *other* datasets, scored on the one left out; the honest estimate of the tuning rule;
- how often LODO picks each configuration.

It is a section of ``python -m galton.benchmarks.accuracy`` (unless ``--no-lodo``); or run
``python -m galton.benchmarks.lodo [--datasets ...] [--out FILE.md]`` alone.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from typing import Any, Sequence

import numpy as np

from ._common import emit, markdown_table, split_names

__all__ = ["GRID", "grid_configs", "lodo_scores", "run_lodo", "lodo_section", "main"]

#: the grid around the shipped Bayesian Dawid-Skene priors (prior_strength 5, shrinkage 2,
#: accuracy_window 0.15, class_shrinkage 10)
GRID: dict[str, tuple[float, ...]] = {
    "prior_strength": (2.0, 5.0, 10.0),
    "shrinkage": (0.5, 2.0, 5.0),
    "accuracy_window": (0.15, 0.4),
    "class_shrinkage": (0.0, 10.0),
}


def grid_configs(grid: dict[str, Sequence[float]] | None = None) -> list[dict[str, float]]:
    """Every combination of the grid's values, in a fixed order."""
    grid = GRID if grid is None else grid
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def lodo_scores(acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(picked, scores)`` for an accuracy matrix ``acc[config, dataset]``: per dataset, the
    configuration with the best mean over the other datasets (the first of equals) and its accuracy
    on the dataset left out. Needs two datasets at least (one leaves none to choose on)."""
    n_cfg, n_data = acc.shape
    if n_data < 2:  # the mean over no other dataset was 0 for every setting: the first one "picked"
        raise ValueError(f"leave-one-dataset-out needs at least 2 datasets, not {n_data}")
    total = acc.sum(axis=1)
    picked = np.array([int(np.argmax((total - acc[:, j]) / (n_data - 1))) for j in range(n_data)], dtype=int)
    return picked, acc[picked, np.arange(n_data)]


def run_lodo(datasets: dict[str, tuple[Any, Any]], model: str | None = None,
             configs: Sequence[dict[str, float]] | None = None) -> dict[str, Any]:
    """Fit ``model`` (galton's default) with every configuration on every dataset (name ->
    (judgments frame, gold Series)); returns the accuracy matrix and the summaries."""
    from .. import aggregator
    from .accuracy import accuracy_of

    model = model or aggregator.default_name("categorical")
    cls = aggregator.get(model)
    configs = list(grid_configs() if configs is None else configs)
    shipped = {k: getattr(cls(), k) for k in configs[0]}
    if shipped not in configs:
        configs.append(shipped)
    names = list(datasets)
    acc = np.zeros((len(configs), len(names)))
    t0 = time.perf_counter()
    for j, name in enumerate(names):
        frame, gold = datasets[name]
        for i, cfg in enumerate(configs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                acc[i, j] = accuracy_of(cls(**cfg, random_state=0).fit(frame).labels_, gold, frame)
    picked, scores = lodo_scores(acc)
    means = acc.mean(axis=1)
    return {"model": model, "configs": configs, "datasets": names, "acc": acc, "shipped": configs.index(shipped),
            "best": int(np.argmax(means)), "picked": picked, "lodo": scores, "seconds": time.perf_counter() - t0}


def _cfg_text(cfg: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in cfg.items())


def lodo_section(res: dict[str, Any]) -> str:
    """Markdown: the three means and the per-dataset table."""
    acc, names, cfgs = res["acc"], res["datasets"], res["configs"]
    s, b = res["shipped"], res["best"]
    rows = [[n, f"{acc[s, j]:.4f}", f"{res['lodo'][j]:.4f}", _cfg_text(cfgs[res["picked"][j]])]
            for j, n in enumerate(names)]
    counts: dict[int, int] = {}
    for p in res["picked"].tolist():
        counts[p] = counts.get(p, 0) + 1
    picks = "; ".join(f"{_cfg_text(cfgs[p])}: {n}" for p, n in sorted(counts.items(), key=lambda x: -x[1]))
    lines = [
        f"## Default model `{res['model']}`: in-sample and leave-one-dataset-out",
        f"A grid of {len(cfgs)} hyperparameter settings ({', '.join(f'{k} in {list(v)}' for k, v in GRID.items())}) "
        f"fitted on each of {len(names)} datasets ({res['seconds']:.0f} s).",
        f"- shipped setting ({_cfg_text(cfgs[s])}), in-sample: **{acc[s].mean():.4f}**",
        f"- best setting after the fact ({_cfg_text(cfgs[b])}), in-sample: {acc[b].mean():.4f}",
        f"- leave-one-dataset-out (each dataset scored with the setting best on the others): "
        f"**{res['lodo'].mean():.4f}**",
        f"- settings LODO picked (times): {picks}",
        "",
        markdown_table(["dataset", "shipped", "LODO", "LODO's setting"], rows),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from .accuracy import dataset_names, load_dataset

    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.lodo", description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+",
                   help="dataset names, at least 2 (default: all categorical ones with gold)")
    p.add_argument("--out", help="also write the Markdown to this file (atomically)")
    args = p.parse_args(argv)
    names = dataset_names(split_names(args.datasets))
    if len(names) < 2:  # one dataset leaves none to choose its setting on: the "LODO mean" meant nothing
        p.error(f"--datasets: leave-one-dataset-out needs at least 2 datasets, {len(names)} given "
                f"({', '.join(names) or 'none'}); name another")
    return emit(lodo_section(run_lodo({n: load_dataset(n) for n in names})) + "\n", args.out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
