"""``errors_`` of a polars / Arrow fit is built on first read (:class:`DeferredResult`): at 1,000
labels it is a long table of 85M rows that the command line never reads (27 s and 6.1 GB for the
command line's fit before, 7.4 s and 2.1 GB after). These tests pin that the deferred table is the
one an eager build gives, that the attribute behaves as a plain one (refit, assignment, deletion,
pickling), and that the large tables' polars / Arrow gathers equal numpy's rows and types."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import galton
from galton.aggregator import _pairs, _results


def _crowd(n_labels: int, seed: int = 0, n_tasks: int = 300, n_workers: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_labels, n_tasks)
    rows = []
    for t in range(n_tasks):
        for w in rng.choice(n_workers, 4, replace=False):
            label = truth[t] if rng.random() < 0.7 else rng.integers(0, n_labels)
            rows.append((f"t{t}", f"w{w}", f"c{label:02d}"))
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def _long(errors) -> dict:
    """{(worker, label, true_label): probability} of a polars / Arrow errors_ table."""
    frame = pl.from_arrow(errors) if isinstance(errors, pa.Table) else errors
    return {(w, l, t): p for w, l, t, p in frame.iter_rows()}


@pytest.mark.parametrize("layout", ["matrices", "pairs"])  # whole matrices / only the observed pairs' rows
@pytest.mark.parametrize("output", ["polars", "arrow"])
def test_errors_are_built_on_first_read_and_equal_the_pandas_fit(layout, output, monkeypatch):
    if layout == "pairs":  # as with many labels, where the matrices would not fit
        monkeypatch.setattr(_pairs, "DENSE_ERRORS_MAX", 0)
    data = _crowd(40)
    model = galton.BayesianDawidSkene().fit(data, output=output)
    assert "errors_" not in vars(model)  # not built by the fit
    got = _long(model.errors_)
    assert "errors_" in vars(model)  # built once, then a plain attribute
    wide = galton.BayesianDawidSkene().fit(data).errors_  # pandas: built at once
    want = {(w, l, t): p for (w, l), row in wide.iterrows() for t, p in row.items()}
    assert got.keys() == want.keys()
    assert len(want) == (data.groupby("worker")["label"].nunique().sum() if layout == "pairs" else 12 * 40) * 40
    assert max(abs(got[key] - want[key]) for key in want) < 1e-12


def test_the_deferred_attribute_behaves_as_a_plain_one():
    a, b = _crowd(3, seed=1), _crowd(3, seed=2, n_workers=5)
    model = galton.DawidSkene()
    assert not hasattr(model, "errors_")
    model.fit(pl.from_pandas(a))
    model.fit(pl.from_pandas(b))  # the first fit's pending table goes with its other results
    assert set(model.errors_["worker"].unique()) == set(b["worker"])
    model.fit(pl.from_pandas(a))
    restored = pickle.loads(pickle.dumps(model))  # a pending build travels with the model
    assert restored.errors_.equals(model.errors_)
    model.fit(pl.from_pandas(a))
    model.errors_ = "mine"  # an assignment replaces the pending build
    assert model.errors_ == "mine"
    del model.errors_
    assert not hasattr(model, "errors_")
    with pytest.raises(AttributeError):
        del model.errors_
    model.fit(pl.from_pandas(a))
    del model.errors_  # deleting the pending build: nothing is built
    assert not hasattr(model, "errors_")
    assert not hasattr(galton.MajorityVote().fit(pl.from_pandas(a)), "errors_")


@pytest.mark.parametrize("layout", ["matrices", "pairs"])
@pytest.mark.parametrize("output", ["polars", "arrow"])
def test_large_tables_gathered_by_the_frame_library_equal_numpy(layout, output, monkeypatch):
    if layout == "pairs":
        monkeypatch.setattr(_pairs, "DENSE_ERRORS_MAX", 0)
    data = _crowd(40)
    numpy_rows = galton.BayesianDawidSkene().fit(data, output=output).errors_
    monkeypatch.setattr(_results, "GATHER_ROWS", 0)  # every table counts as large
    gathered = galton.BayesianDawidSkene().fit(data, output=output).errors_
    assert gathered.schema == numpy_rows.schema
    assert gathered.equals(numpy_rows)
    if output == "arrow":  # text ids are Arrow's string, as in every other result table
        assert gathered.schema.field("worker").type == pa.string()


def test_a_read_while_another_thread_builds_waits_for_the_one_build():
    """A second thread that reads ``errors_`` while the first is building it gets the same table
    (it found the builder gone and raised AttributeError before; getattr(m, "errors_", None) was None)."""
    import threading
    import time

    model = galton.DawidSkene(n_iter=5).fit(pl.from_pandas(_crowd(3)))
    build, *args = model.__dict__["_pending"]["errors_"]
    started, calls = threading.Event(), []

    def slow_build(*a):
        calls.append(1)
        started.set()
        time.sleep(0.3)  # the other reader arrives while this build runs
        return build(*a)

    model.__dict__["_pending"]["errors_"] = (slow_build, *args)
    first: list = []
    reader = threading.Thread(target=lambda: first.append(model.errors_))
    reader.start()
    assert started.wait(10)
    second = getattr(model, "errors_", None)
    reader.join()
    assert second is not None and second is first[0]
    assert len(calls) == 1
    assert second.equals(galton.DawidSkene(n_iter=5).fit(pl.from_pandas(_crowd(3))).errors_)


@pytest.mark.parametrize("name", ["DawidSkene", "OneCoinDawidSkene", "BayesianDawidSkene", "EBCC"])
def test_a_shallow_copy_and_its_original_both_read_the_pending_errors(name):
    """copy.copy shares the instance dict's values: the first read popped the builder from the one
    dict of builders both objects held, so the other object then had no errors_ (AttributeError)."""
    import copy

    data = pl.from_pandas(_crowd(3))
    model = getattr(galton, name)(n_iter=5).fit(data)
    clone = copy.copy(model)
    first = clone.errors_
    assert model.errors_.equals(first)  # AttributeError before
    assert "errors_" in vars(model) and "errors_" in vars(clone)
    original = getattr(galton, name)(n_iter=5).fit(data)
    assigned, deleted = copy.copy(original), copy.copy(original)
    assigned.errors_ = "mine"  # an assignment or a deletion on one copy leaves the others' pending build
    del deleted.errors_
    assert assigned.errors_ == "mine" and not hasattr(deleted, "errors_")
    assert original.errors_.equals(first)
