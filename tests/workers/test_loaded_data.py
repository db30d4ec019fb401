"""What galton does with data loaded into an engine's shards (``RayEngine.load_parquet``) besides
fitting it: allocation reads the judgments through the engine, and gives what it gives on the same
judgments read in this process."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from ray import cloudpickle

import galton
from galton.workers.engine import RayEngine

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # actors cannot import test modules


@pytest.fixture(scope="module")
def crowd(tmp_path_factory) -> tuple[pd.DataFrame, str]:
    """60 tasks of 3 judgments by 8 workers of accuracies 0.5-0.95, 3 labels, text ids, as Parquet."""
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 3, 60)
    acc = np.linspace(0.5, 0.95, 8)
    rows = []
    for t in range(60):
        for w in rng.choice(8, 3, replace=False):
            label = truth[t] if rng.random() < acc[w] else (truth[t] + rng.integers(1, 3)) % 3
            rows.append((f"t{t:02d}", f"w{w}", int(label)))
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    path = tmp_path_factory.mktemp("loaded") / "judgments.parquet"
    df.to_parquet(path)
    return df, str(path)


def _rows(table, keys) -> dict:
    table = table.to_pandas() if hasattr(table, "to_pandas") else table
    return {tuple(r[k] for k in keys): (r["score"], r["label"], r["confidence"], r["judgments"])
            for r in table.to_dict("records")}


def _assert_same_rows(got, want, keys) -> None:
    g, w = _rows(got, keys), _rows(want, keys)
    assert g.keys() == w.keys() and len(g) > 0
    for key, (score, label, confidence, judgments) in w.items():
        assert (g[key][1], g[key][3]) == (label, judgments)
        assert g[key][0] == pytest.approx(score, abs=1e-8) and g[key][2] == pytest.approx(confidence, abs=1e-8)


@pytest.mark.parametrize("model", [None, "glad"])
def test_allocate_reads_loaded_data_through_the_engine(ray_session, crowd, model) -> None:
    """galton.allocate on RayEngine(...).load_parquet(path) ran the whole fit, then failed with
    ShardedCodesError ("judgments.worker: the per-judgment codes ... live in the shards") for eig and
    uncertainty: the typical worker (judgments per worker; GLAD: each worker's agreement with the
    posteriors, the labels in use) and the (task, worker) pairs already judged are now read through
    the engine. Every task's score (every task-worker cell's, with workers) is the local one."""
    df, path = crowd
    n_cells = 60 * 8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GLAD's convergence
        with RayEngine(n_shards=2) as eng:
            loaded = eng.load_parquet(path)
            for strategy in ("eig", "uncertainty", "uniform"):
                got = galton.allocate(loaded, 60, strategy=strategy, model=model, output="pandas")
                want = galton.allocate(df, 60, strategy=strategy, model=model)
                _assert_same_rows(got, want, ["task"])
            loaded = eng.load_parquet(path)
            got = galton.allocate(loaded, n_cells, model=model, workers=["w0", "w5", "w7"], per_task=3,
                                  output="pandas")
    want = galton.allocate(df, n_cells, model=model, workers=["w0", "w5", "w7"], per_task=3)
    _assert_same_rows(got, want, ["task", "worker"])
    judged = set(zip(df["task"], df["worker"]))
    assert not judged & set(zip(got["task"], got["worker"]))  # never a worker on a task it judged
    assert len(got) == 60 * 3 - sum(w in ("w0", "w5", "w7") for _, w in judged)


def test_allocate_leaves_out_the_gold_tasks_of_loaded_data(ray_session, crowd) -> None:
    """Gold given to load_parquet lives in the shards: its tasks need no judgment there either, and
    the rows are those of the local fit given the same gold."""
    df, path = crowd
    first = df.drop_duplicates("task").head(20)
    gold = pd.Series(first["label"].to_numpy(), index=first["task"].to_numpy())
    with RayEngine(n_shards=2) as eng:
        got = galton.allocate(eng.load_parquet(path, gold=gold), 100, strategy="uniform", output="pandas")
    want = galton.allocate(None, 100, strategy="uniform", model=galton.BayesianDawidSkene().fit(df, gold))
    assert not set(got["task"]) & set(gold.index) and len(got) == 40
    _assert_same_rows(got, want, ["task"])


def test_predict_on_loaded_data_says_to_read_the_files(ray_session, crowd) -> None:
    """predict_proba(loaded) of a bds (an EM model, fitted on that very data) said "this model reads its
    judgments in this process, not in the shards ... (only the EM models run there) ... fit that": a
    fit's message, wrong of the model and of the call. predict says what it does and what to pass; that
    way scores the judgments as the local model scores them."""
    from galton.io import read_input

    df, path = crowd
    local = galton.BayesianDawidSkene().fit(df)
    with RayEngine(n_shards=2) as eng:
        loaded = eng.load_parquet(path)
        model = galton.BayesianDawidSkene().fit(loaded)
        for method in (model.predict_proba, model.predict):
            with pytest.raises(TypeError) as told:
                method(loaded)
            message = str(told.value)
            assert message.startswith("BayesianDawidSkene.predict scores new data in this process") and \
                "read the files with galton.io.read_input(path) and pass that" in message, message
            assert "fit that" not in message and "only the EM models" not in message
    got = model.predict_proba(read_input(path)).to_pandas()
    want = local.predict_proba(read_input(path)).to_pandas()
    assert list(got.columns) == list(want.columns) and got["task"].tolist() == want["task"].tolist()
    np.testing.assert_allclose(got.drop(columns="task").to_numpy(), want.drop(columns="task").to_numpy(), atol=1e-8)
