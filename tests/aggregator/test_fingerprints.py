"""Fingerprints of every registered model on fixed data, local and on Ray, recorded before the model
core is rebuilt (issue "One model core"): the new core must give the same labels, the same
iteration counts and the same probabilities / scores.

The fingerprints live in ``fingerprints.json`` beside this file. To record them again (only when a
change of results is intended, and said so in the commit): ``python tests/aggregator/test_fingerprints.py``.

Per (model, data, engine): a SHA-256 of the label codes (categorical) or of the ranking (scores),
``n_iter_``, and two checksums of the probabilities / scores (their sum and a weighted sum with fixed
weights), compared to 1e-9 relative so that a change of numpy's summation order in a new release
does not fail the test while any real change of a result does. Models that refuse the data (KOS on
more than two labels) record the refusal.
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import galton
from galton.aggregator import _registry

HERE = Path(__file__).resolve().parent
STORE = HERE / "fingerprints.json"

#: Bundled datasets (no ../shared needed), small to mid-sized, binary and multi-class.
CATEGORICAL_DATA = ("act_cf", "welinder_bluebirds", "zheng_s_face", "zheng_s_dog", "zheng_d_possent")
RAY_CATEGORICAL_DATA = ("act_cf", "welinder_bluebirds")  # Ray fits are slower: two of the five


def _data(name: str) -> tuple[Any, Any]:
    """(data, gold) for a data name: a bundled dataset, or simulated pairwise / choice / rating data."""
    if name in CATEGORICAL_DATA:
        ds = galton.load_dataset(name)
        return ds.judgments, ds.gold
    from galton.datasets import simulate_prefs as sp

    if name == "pairwise":
        return sp.simulate_pairwise(n_comparisons=3000, n_responses=60, n_workers=30, seed=11).data, None
    if name == "choice":
        return sp.simulate_best_of_n(n_judgments=1500, n_prompts=60, n_responses=4, n_workers=30,
                                     seed=12).data, None
    if name == "rating":
        rng = np.random.default_rng(13)
        n_tasks, per = 200, 4
        truth = rng.normal(50, 15, n_tasks)
        worker = rng.integers(0, 25, n_tasks * per)
        bias = rng.normal(0, 5, 25)
        label = np.round(np.repeat(truth, per) + bias[worker] + rng.normal(0, 8, n_tasks * per), 1)
        return {"task": np.repeat(np.arange(n_tasks), per), "worker": worker, "label": label}, None
    raise KeyError(name)


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for engine in ("local", "ray"):
        for model in _registry.names(kind="categorical"):
            for data in CATEGORICAL_DATA if engine == "local" else RAY_CATEGORICAL_DATA:
                cases.append((model, data, engine))
        for kind in ("pairwise", "choice", "rating"):
            for model in _registry.names(kind=kind):
                cases.append((model, kind, engine))
    return cases


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def fingerprint(model: str, data: str, engine: str) -> dict[str, Any]:
    judgments, gold = _data(data)
    kind = getattr(_registry.get(model), "kind", "categorical")
    kw: dict[str, Any] = {"kind": kind}
    if engine == "ray":
        kw["engine"] = "ray"
    if model == "gold_mv":
        kw["gold"] = gold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m = galton.aggregate(judgments, model, **kw)
        except (ValueError, TypeError) as exc:
            return {"refused": type(exc).__name__}
    if hasattr(m, "posteriors_") and getattr(m, "posteriors_", None) is not None:
        values = np.asarray(m.posteriors_, dtype=np.float64)
        labels = np.asarray(m.label_codes_, dtype=np.int32)
    else:
        values = np.asarray(m.scores_values_, dtype=np.float64)
        labels = np.argsort(-values, kind="stable").astype(np.int32)
    flat = values.ravel()
    weights = np.linspace(1.0, 2.0, flat.size) if flat.size else flat
    n_iter = getattr(m, "n_iter_", None)
    return {
        "labels": _digest(labels),
        "n_iter": None if n_iter is None else int(n_iter),
        "sum": float(np.nansum(flat)),
        "weighted": float(np.nansum(flat * weights)),
        "shape": list(values.shape),
    }


def _key(model: str, data: str, engine: str) -> str:
    return f"{model}/{data}/{engine}"


def _stored() -> dict[str, Any]:
    return json.loads(STORE.read_text()) if STORE.exists() else {}


@pytest.fixture(scope="module")
def ray_engine_session():
    from galton.workers import cluster

    info = cluster.connect("local", num_cpus=2, include_dashboard=False)
    yield info


CASES = _cases()


@pytest.mark.parametrize("model, data, engine", CASES, ids=[_key(*c) for c in CASES])
def test_fingerprint_unchanged(model: str, data: str, engine: str, request) -> None:
    stored = _stored()
    key = _key(model, data, engine)
    if model not in {k.split("/")[0] for k in stored}:
        pytest.skip(f"{model} is a new model with no recorded fingerprints; record them with "
                    f"python {Path(__file__).name} once its results are settled")
    assert key in stored, f"no fingerprint for {key}: record them with python {Path(__file__).name}"
    if engine == "ray":
        request.getfixturevalue("ray_engine_session")
    got, want = fingerprint(model, data, engine), stored[key]
    if "refused" in want:
        assert got == want
        return
    assert got["shape"] == want["shape"]
    assert got["labels"] == want["labels"], f"{key}: labels changed"
    assert got["n_iter"] == want["n_iter"], f"{key}: iterations {got['n_iter']} != {want['n_iter']}"
    for field in ("sum", "weighted"):
        assert got[field] == pytest.approx(want[field], rel=1e-9, abs=1e-9), f"{key}: {field}"


def test_every_recorded_model_is_still_registered() -> None:
    """Every model with fingerprints is still registered under its name (a new model without
    fingerprints is skipped by the test above until they are recorded: docs/adding-a-model.md)."""
    stored = _stored()
    models = {k.split("/")[0] for k in stored}
    assert models <= set(_registry.names()), f"recorded but not registered: {sorted(models - set(_registry.names()))}"
    assert {k.split("/")[2] for k in stored} == {"local", "ray"}


if __name__ == "__main__":  # record
    from galton.workers import cluster

    cluster.connect("local", num_cpus=2, include_dashboard=False)
    out = {}
    for case in CASES:
        out[_key(*case)] = fingerprint(*case)
        print(_key(*case), out[_key(*case)], file=sys.stderr)
    STORE.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    cluster.shutdown()
