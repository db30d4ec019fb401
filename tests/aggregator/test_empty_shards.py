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
    one, many = _fit(name, 1), _fit(name, 9)  # 2 tasks: 2 shards (one per task at most), both tasks in shard 1
    for attr in ("probas_", "scores_", "labels_"):
        if getattr(one, attr, None) is None:
            continue
        a, b = getattr(one, attr), getattr(many, attr)
        if attr == "labels_":
            assert a.tolist() == b.tolist()
        else:
            np.testing.assert_allclose(np.asarray(b, dtype=float), np.asarray(a, dtype=float), rtol=1e-9, atol=1e-12)


def test_more_shards_than_tasks_are_capped_and_change_nothing(tmp_path, capsys) -> None:
    """Bug hunt: ``--shards 1000000`` on a 12-row file made a million shards (2.8 GB, killed after
    100 s), all but a few empty. At most one shard per task (one block per comparison) is made, and
    the fit is the one of any other count."""
    from galton.aggregator._engine import LocalEngine, shard_of_tasks
    from galton.aggregator._preference import make_pair_shards
    from galton.cli import main
    from galton.data import Comparisons
    from galton.judgments import Judgments

    judgments = Judgments.from_any(CATEGORICAL)
    engine = LocalEngine(n_shards=50_000)
    engine.load(judgments, None)
    assert len(engine.shards) == judgments.n_tasks == 2  # was 50,000 shards
    assert engine.n_shards == 50_000  # the count asked for: a parameter the load does not rewrite
    assert len(make_pair_shards(Comparisons.from_any(PAIRS), 50_000)) == 4  # one block per comparison
    for name in ("mv", "ds", "glad", "bt"):
        one, huge = _fit(name, 1), _fit(name, 10**6)  # took minutes and gigabytes
        for attr in ("probas_", "scores_"):
            if getattr(one, attr, None) is not None:
                np.testing.assert_allclose(np.asarray(getattr(huge, attr), dtype=float),
                                           np.asarray(getattr(one, attr), dtype=float), rtol=1e-9, atol=1e-12)
    # the shards are those the per-shard masks made, tasks and judgments in their order
    rng = np.random.default_rng(3)
    many = Judgments.from_any(pd.DataFrame({"task": rng.integers(0, 300, 2000), "worker": rng.integers(0, 40, 2000),
                                            "label": rng.integers(0, 3, 2000)}))
    engine = LocalEngine(n_shards=7)
    engine.load(many, None)
    task_shard = shard_of_tasks(np.arange(many.n_tasks, dtype=np.int32), 7)
    for s, shard in enumerate(engine.shards):
        ids = np.flatnonzero(task_shard == s)
        sel = np.flatnonzero(task_shard[many.task] == s)
        assert shard.task_ids.tolist() == ids.tolist()
        order = np.argsort(np.searchsorted(ids, many.task[sel]), kind="stable")
        assert shard.worker.tolist() == many.worker[sel][order].tolist()
    src = tmp_path / "small.csv"
    CATEGORICAL.to_csv(src, index=False)
    outs = []
    for shards in ("1", "1000000"):
        assert main(["aggregate", str(src), "-m", "ds", "--shards", shards, "-q", "-o", "-"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and outs[0].count("\n") == 3
