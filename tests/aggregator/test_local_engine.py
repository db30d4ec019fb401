"""LocalEngine is a parameter of a model: a fit does not rewrite its shard count, and a pickle of it
(with a model) keeps its configuration, not the last fit's shards."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest

from galton import DawidSkene, LocalEngine

pytestmark = [pytest.mark.filterwarnings("ignore::galton.aggregator.ConvergenceWarning")]

TINY = pd.DataFrame({"task": [0, 0, 0, 1, 1, 1], "worker": ["a", "b", "c"] * 2, "label": [0, 1, 1, 1, 1, 0]})


def _crowd(seed: int, n_tasks: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_tasks)
    rows = [(t, f"w{w}", truth[t] if rng.random() < 0.7 else rng.integers(0, 3))
            for t in range(n_tasks) for w in rng.choice(20, 4, replace=False)]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def test_a_fit_on_fewer_tasks_than_shards_leaves_the_engines_count_as_given() -> None:
    """Bug hunt: after DawidSkene(engine=LocalEngine(n_shards=4)).fit(two tasks), the engine said
    n_shards=2 for good (repr, get_params, every later fit used 2 shards, and a fit with n_shards=4
    beside the engine was refused as a mismatch). The fit caps the shards it makes (one a task at
    most) without writing the cap back."""
    engine = LocalEngine(n_shards=4)
    model = DawidSkene(engine=engine, n_iter=5)
    model.fit(TINY)
    assert len(engine.shards) == 2  # one a task: the cap of this fit
    assert engine.n_shards == 4 and repr(engine) == "LocalEngine(n_shards=4)"  # was 2
    assert model.get_params()["engine"].n_shards == 4
    data = _crowd(1)
    model.fit(data)
    assert len(engine.shards) == 4  # was 2: the tiny fit's count stayed
    four = DawidSkene(n_iter=5, n_shards=4).fit(data)
    np.testing.assert_array_equal(model.probas_.to_numpy(), four.probas_.to_numpy())
    DawidSkene(engine=engine, n_shards=4, n_iter=5).fit(TINY)  # the same count: accepted (was refused)
    assert engine.n_shards == 4


def test_a_pickled_model_carries_its_engines_configuration_not_its_shards() -> None:
    """Bug hunt: a model fitted with engine=LocalEngine() pickled the engine's shards too (a copy of
    the data: 6.10 MB against 3.81 MB for zheng_s_rel); RayEngine pickles its configuration only.
    Now so does LocalEngine: the pickle has the size of the model without an engine, the
    unpickled model gives the same results and refits, and the original engine keeps its shards."""
    data = _crowd(2, n_tasks=3000)
    engine = LocalEngine(n_shards=3)
    model = DawidSkene(engine=engine, n_iter=5).fit(data)
    plain = DawidSkene(n_iter=5, n_shards=3).fit(data)
    size, plain_size = len(pickle.dumps(model)), len(pickle.dumps(plain))
    assert size < plain_size + 500  # the engine's few bytes, not a copy of the data (was ~1.5x)
    back = pickle.loads(pickle.dumps(model))
    assert isinstance(back.engine, LocalEngine) and back.engine.shards == [] and back.engine.n_shards == 3
    assert len(engine.shards) == 3 and engine.n_tasks == 3000  # the pickle did not empty the original
    np.testing.assert_array_equal(back.probas_.to_numpy(), model.probas_.to_numpy())
    np.testing.assert_array_equal(back.predict_proba(data.head(40)).to_numpy(),
                                  model.predict_proba(data.head(40)).to_numpy())
    np.testing.assert_array_equal(back.fit(data).probas_.to_numpy(), plain.probas_.to_numpy())
    assert len(back.engine.shards) == 3
    clone = copy.deepcopy(LocalEngine(n_shards=2))
    assert (clone.n_shards, clone.shards, clone.n_tasks) == (2, [], 0)
