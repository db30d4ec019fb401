"""A shard without data gives the same fit as one shard, for every registered model.

``make_shards`` may leave a shard empty (tasks are placed by hash): a bug hunt found 7 models that
crashed then (mv, gold_mv, wawa, zbs: an IndexError in the distinct-answers step; mace and mmsr:
numpy's ``bincount`` of nothing with weights is an *integer* array; plackett_luce: nothing to
concatenate), as ``galton aggregate tiny.csv --shards 2`` showed with an "unexpected" error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator import ConvergenceWarning, get, names

CATEGORICAL = pd.DataFrame({"task": [0, 0, 0, 1, 1, 1], "worker": ["a", "b", "c"] * 2, "label": [0, 1, 1, 1, 1, 0]})
RATING = CATEGORICAL.assign(label=[3.0, 4.0, 4.5, 1.0, 2.0, 1.5])
PAIRS = pd.DataFrame({"worker": ["a", "b", "a", "c"], "left": ["x", "y", "x", "z"], "right": ["y", "z", "z", "x"],
                      "label": ["x", "y", "x", "x"]})


def _fit(name: str, n_shards: int) -> object:
    kind = getattr(get(name), "kind", "categorical")
    data = {"categorical": CATEGORICAL, "rating": RATING}.get(kind, PAIRS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = galton.create(name, n_shards=n_shards)
        return model.fit(data, pd.Series({0: 0})) if name == "gold_mv" else model.fit(data)


@pytest.mark.parametrize("name", names())
def test_empty_shards_change_nothing(name: str) -> None:
    one, many = _fit(name, 1), _fit(name, 9)  # 2 tasks (or 3 items) in 9 shards: most are empty
    for attr in ("probas_", "scores_", "labels_"):
        if getattr(one, attr, None) is None:
            continue
        a, b = getattr(one, attr), getattr(many, attr)
        if attr == "labels_":
            assert a.tolist() == b.tolist()
        else:
            np.testing.assert_allclose(np.asarray(b, dtype=float), np.asarray(a, dtype=float), rtol=1e-9, atol=1e-12)
