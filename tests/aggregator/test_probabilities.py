"""Every registered categorical model's ``probas_`` are probabilities: within [0, 1], rows summing to 1,
on unanimous data (where a sum of sub-posteriors rounded above 1), a binary and a multi-class dataset."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator import _registry


def _data(name: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if name == "unanimous":  # 200 tasks, 5 workers each, all giving label 1 (ebcc: 1.0000000000000002)
        return pd.DataFrame({"task": np.repeat(np.arange(200), 5), "worker": np.tile(np.arange(5), 200),
                             "label": 1}), None
    ds = galton.load_dataset(name, frame="pandas")
    return ds.judgments, ds.gold


@pytest.mark.parametrize("data", ["unanimous", "welinder_bluebirds", "zheng_s_face"])
@pytest.mark.parametrize("model", _registry.names(kind="categorical"))
def test_probas_are_probabilities(model: str, data: str) -> None:
    judgments, gold = _data(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m = galton.aggregate(judgments, model, gold=gold if model == "gold_mv" else None)
        except ValueError:  # a model that does not apply here (kos: two labels; gold_mv: no gold)
            pytest.skip(f"{model} refuses {data}")
    p = m.probas_.to_numpy(dtype=float)
    assert p.shape == (judgments["task"].nunique(), len(m.probas_.columns))
    assert np.isfinite(p).all()
    assert (p >= 0.0).all() and (p <= 1.0).all(), f"{model} on {data}: max {p.max()!r}, min {p.min()!r}"
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
