"""Every iterative model of the registry checkpoints and resumes bit for bit.

For each registered model that iterates (an ``IterativeAggregator``: the EM models, GLAD, MACE with
its restarts, KOS, ZBS, the Gaussian rating model, Bradley-Terry and its noisy / crowd variants,
Plackett-Luce): a fit stopped after ``K`` iterations with ``checkpoint_dir`` and started again with
the limit ``N`` ends exactly where an uninterrupted ``N``-iteration fit ends (history, iteration
count, results), and the second fit runs only the ``N - K`` remaining iterations (E-steps over the
shards, for every model whose iteration is one; M-MSR's sweeps read a table on the driver). A model added to the
registry is covered without an edit here. The per-family tests (tests/workers/test_checkpoint.py,
test_pref_checkpoint.py, test_kos.py, test_majority_vote.py) check the details (shard state, the
Newman safeguard's memory, Ray).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import galton.aggregator as agg
from galton.aggregator import LocalEngine
from galton.aggregator._base import IterativeAggregator

N, K = 9, 4

ITERATIVE = [n for n in agg.names() if issubclass(agg.get(n), IterativeAggregator)]


class CountingEngine(LocalEngine):
    """Counts the E-steps (map of the model's ``_e_step``) it runs."""

    def __init__(self, n_shards: int = 2):
        super().__init__(n_shards)
        self.e_steps = 0

    def map(self, fn: Any, *args: Any) -> list[Any]:
        if getattr(fn, "__name__", "") == "_e_step":
            self.e_steps += 1
        return super().map(fn, *args)


def _data(kind: str) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    if kind in ("pairwise", "choice"):
        q = rng.normal(size=12)
        rows = []
        for i in range(400):
            opts = rng.choice(12, 3, replace=False)
            best = opts[np.argmax(q[opts] + rng.gumbel(size=3))]
            if kind == "pairwise":
                a, b = opts[:2]
                rows.append((f"w{i % 9}", f"i{a}", f"i{b}", f"i{a if q[a] + rng.normal() > q[b] else b}"))
            else:
                rows.append((f"w{i % 9}", [f"i{o}" for o in opts], f"i{best}"))
        cols = ["worker", "left", "right", "label"] if kind == "pairwise" else ["worker", "options", "choice"]
        return pd.DataFrame(rows, columns=cols)
    truth = rng.integers(0, 3, 150)
    skill = rng.uniform(0.45, 0.95, 15)
    rows = []
    for t in range(150):
        for w in rng.choice(15, 4, replace=False):
            label = truth[t] if rng.random() < skill[w] else rng.integers(0, 3)
            rows.append((t, f"w{w}", int(label)))
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    if kind == "rating":
        df["label"] = df["label"] * 1.5 + rng.normal(0, 0.3, len(df))
    return df


def _model(name: str, limit: int) -> Any:
    cls = agg.get(name)
    params = agg.create(name).get_params()
    kw: dict[str, Any] = {"max_iter" if "max_iter" in params else "n_iter": limit}
    if "tol" in params:
        kw["tol"] = 0.0  # run every iteration it is allowed
    if "random_state" in params:
        kw["random_state"] = 3
    return cls(**kw)


def _fit(name: str, data: pd.DataFrame, limit: int, engine: CountingEngine, **options: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _model(name, limit).fit(data, engine=engine, **options)


def _results(model: Any) -> list[np.ndarray]:
    """The model's main numeric results: task posteriors, or item scores (and worker skills)."""
    out = []
    for attr in ("posteriors_", "scores_values_", "se_values_"):
        value = getattr(model, attr, None)
        if isinstance(value, np.ndarray):
            out.append(value)
    skills = getattr(model, "skills_", None)
    if skills is not None:
        out.append(np.asarray(skills.to_numpy() if hasattr(skills, "to_numpy") else skills, dtype=float))
    return out


@pytest.mark.parametrize("name", ITERATIVE)
def test_every_iterative_model_resumes_bit_for_bit(name: str, tmp_path, monkeypatch) -> None:
    kind = agg.get(name).kind
    cls = agg.get(name)
    iterations = []  # one per call of the driver's _map_e_step (M-MSR's sweep maps no shard)
    original = cls._map_e_step

    def counted(self: Any, engine: Any, params: Any) -> Any:
        iterations.append(1)
        return original(self, engine, params)

    monkeypatch.setattr(cls, "_map_e_step", counted)
    if name == "kos":
        data = _data("categorical")
        data["label"] = data["label"].clip(upper=1)  # KOS is for binary labels
    else:
        data = _data(kind)
    whole = _fit(name, data, N, CountingEngine())
    first = CountingEngine()
    stopped = _fit(name, data, K, first, checkpoint_dir=tmp_path)
    assert stopped.n_iter_ == K, f"{name}: the interrupted fit should stop at its limit"
    assert list(tmp_path.iterdir()), f"{name}: no checkpoint was written"
    second = CountingEngine()
    iterations.clear()
    resumed = _fit(name, data, N, second, checkpoint_dir=tmp_path)
    runs = int(getattr(resumed, "n_restarts", 1) or 1)  # MACE: one EM run (and file) per restart
    assert resumed.resumed_from_ == K, f"{name}: resumed_from_ {resumed.resumed_from_}"  # MACE said 0
    assert len(iterations) == runs * (N - K), f"{name}: {len(iterations)} iterations after resuming"
    if first.e_steps:  # a model whose iteration is a pass over the shards runs only those
        assert second.e_steps == runs * (N - K), f"{name}: {second.e_steps} E-steps after resuming"
    assert resumed.n_iter_ == whole.n_iter_ == N
    assert resumed.history_ == whole.history_
    got, want = _results(resumed), _results(whole)
    assert len(got) == len(want) > 0
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
