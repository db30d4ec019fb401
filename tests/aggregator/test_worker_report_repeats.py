"""The categorical worker report reads each judgment against the *other workers* of its task: a
worker's own repeated rows of a task are not others (an export appended twice, a worker who
answered again)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator._pairs import pair_table


def _crowd(k: int, seed: int) -> pd.DataFrame:
    """400 tasks, 3 of 8 workers each: seven right 90% of the time, worker 0 right 60% of the
    time with its every row there twice."""
    rng = np.random.default_rng(seed)
    truth, rows = rng.integers(0, k, 400), []
    for t in range(400):
        for w in rng.choice(8, 3, replace=False):
            right = rng.random() < (0.6 if w == 0 else 0.9)
            answer = (t, w, int(truth[t]) if right else int((truth[t] + rng.integers(1, k)) % k))
            rows += [answer, answer] if w == 0 else [answer]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def _brute_skill(model: object, worker_code: int) -> float:
    """The report's refitted accuracy of one worker, computed apart: each judgment's task posterior
    from the fitted parameters with every term of its worker on that task left out (tempered, under bds's
    calibration, as a task of the judgments left: 1 / (1 + (left - 1) rho)), then the one-accuracy
    likelihood maximised on a grid."""
    j, p = model.judgments_, model.params_
    k = p["logprior"].size
    w, lab, t = (np.asarray(x, dtype=np.int64) for x in (j.worker, j.label, j.task))
    terms = pair_table(p, p["rows"][w * k + lab])
    total = np.stack([np.bincount(t, terms[:, c], j.n_tasks) for c in range(k)], axis=1)
    _, group = np.unique(t * j.n_workers + w, return_inverse=True)
    mine = np.stack([np.bincount(group, terms[:, c]) for c in range(k)], axis=1)
    sel = w == worker_code
    left = np.bincount(t, minlength=j.n_tasks)[t[sel]] - np.bincount(group)[group[sel]]
    tau = 1.0 / (1.0 + np.maximum(left - 1.0, 0.0) * float(p.get("rho", 0.0)))
    z = tau[:, None] * (p["logprior"] + total[t[sel]] - mine[group[sel]])
    z -= z.max(axis=1, keepdims=True)
    q = np.exp(z[np.arange(sel.sum()), lab[sel]]) / np.exp(z).sum(axis=1)
    used = np.unique(lab).size
    grid = np.linspace(1e-4, 1 - 1e-4, 20_001)
    loglik = np.log(q[:, None] * grid + (1 - q[:, None]) * (1 - grid) / (used - 1)).sum(axis=0)
    return float(grid[np.argmax(loglik)])


@pytest.mark.parametrize("name,k", [("ds", 2), ("one_coin_ds", 2), ("bds", 2), ("ds", 4), ("bds", 40)])
def test_a_workers_repeated_rows_are_not_its_others(name: str, k: int) -> None:
    """A 60% worker whose every row is there twice: read against its own second row it agreed
    with itself (before the fix: ds 0.728, bds 0.816, bds with 40 labels 1.0 [0.993, 1.0]). Its
    skill is the accuracy refitted against the other workers' posteriors, computed apart here
    (bds past 32 labels takes the one-accuracy path)."""
    df = _crowd(k, seed=k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the repeated-rows warning: kept on purpose here
        model = galton.aggregate(df, name)
    report = model.workers_
    code = list(model.judgments_.worker_names).index(0)
    assert report.loc[0].n_judgments == int((df.worker == 0).sum())
    assert report.loc[0].skill == pytest.approx(_brute_skill(model, code), abs=1e-4)
    assert report.loc[0].skill_lower < 0.7 and report.loc[0].skill < 0.8
    good = report.drop(index=0)
    assert (good.skill > 0.8).all() and not good.uninformative.any()
