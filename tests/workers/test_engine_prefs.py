"""Preference and rating models on a real local Ray instance give the local results.

Every registered model of the pairwise, choice (best-of-n) and rating kinds is covered, so a model
added later is checked without editing this file. Item scores, iteration counts and objective
histories must match the local fit with the same number of shards (the same blocks of rows, summed
in the same order), and also the one-shard local fit up to float rounding.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import galton.aggregator as agg
from galton.datasets.simulate_prefs import simulate_best_of_n, simulate_pairwise


def _fit(name: str, data, engine: str, n_shards: int):
    model = agg.create(name, engine=engine, n_shards=n_shards)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(data)


def _scores(model) -> np.ndarray:
    values = getattr(model, "scores_values_", None)
    return np.asarray(values, dtype=float)


@pytest.fixture(scope="module")
def pairs():
    return simulate_pairwise(3000, n_responses=40, n_workers=25, seed=3, adversarial=0.1).data


@pytest.fixture(scope="module")
def choices():
    return simulate_best_of_n(1500, n_prompts=60, n_responses=4, n_workers=20, seed=4).data


@pytest.fixture(scope="module")
def ratings():
    rng = np.random.default_rng(5)
    n_tasks, n_workers, per = 150, 20, 5
    truth = rng.uniform(0, 100, n_tasks)
    bias, noise = rng.normal(0, 8, n_workers), rng.uniform(3, 20, n_workers)
    task = np.repeat(np.arange(n_tasks), per)
    worker = np.concatenate([rng.choice(n_workers, per, replace=False) for _ in range(n_tasks)])
    label = np.round(truth[task] + bias[worker] + rng.normal(0, 1, task.size) * noise[worker])
    return {"task": task, "worker": worker, "label": label}


CASES = ([(n, "pairs") for n in agg.names(kind="pairwise")] + [(n, "choices") for n in agg.names(kind="choice")]
         + [(n, "ratings") for n in agg.names(kind="rating")])


@pytest.mark.parametrize("n_shards", [1, 3])
@pytest.mark.parametrize("name,data", CASES, ids=[n for n, _ in CASES])
def test_ray_equals_local(ray_session, request, name, data, n_shards):
    frame = request.getfixturevalue(data)
    local = _fit(name, frame, "local", n_shards)
    remote = _fit(name, frame, "ray", n_shards)
    np.testing.assert_allclose(_scores(remote), _scores(local), rtol=0, atol=1e-12)
    if hasattr(local, "n_iter_"):
        assert remote.n_iter_ == local.n_iter_
        np.testing.assert_allclose(remote.history_, local.history_, rtol=1e-13, atol=0)
    one = _fit(name, frame, "local", 1)
    np.testing.assert_allclose(_scores(remote), _scores(one), rtol=0, atol=1e-6)
    if hasattr(local, "se_values_"):  # Crowd-BT's / noisy BT's worker terms are summed over shards too
        np.testing.assert_allclose(remote.se_values_, local.se_values_, rtol=1e-9, atol=0)
        np.testing.assert_allclose(remote.se_values_, one.se_values_, rtol=1e-4, atol=0)


def test_every_kind_is_covered():
    assert {"bt", "crowd_bt", "noisy_bt", "plackett_luce", "rating_gaussian", "rating_mean"} <= {n for n, _ in CASES}
