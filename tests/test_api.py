"""``galton.aggregate``: the layout of the data picks the default model, as on the command line."""

from __future__ import annotations

import doctest
import inspect
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import galton
from galton import _api
from galton.aggregator import BradleyTerry, GaussianRating, PlackettLuce
from galton.datasets.simulate_prefs import simulate_best_of_n, simulate_pairwise


def test_docstring_examples_run() -> None:
    result = doctest.testmod(_api, verbose=False)
    assert result.attempted >= 4 and result.failed == 0


def test_model_annotation_admits_a_model_object() -> None:
    """The docstring says "registered model name ... or a model object"; ``model: str | None`` made a type
    checker refuse README's ``galton.aggregate(data, galton.DawidSkene(n_iter=50))``."""
    annotation = eval(inspect.signature(galton.aggregate).parameters["model"].annotation, vars(_api))  # noqa: S307
    for model in ("ds", None, galton.DawidSkene(n_iter=50), galton.BinaryRelevance(galton.MajorityVote()),
                  galton.ROVER(tokenizer=str.split, detokenizer=" ".join)):
        assert isinstance(model, annotation), model
    assert not isinstance(3, annotation)


def test_categorical_data_gets_the_categorical_default() -> None:
    m = galton.aggregate({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": [0, 0, 1, 1]})
    assert type(m).__name__ == "BayesianDawidSkene" and m.labels_["label"].to_list() == [0, 1]


def test_pairwise_frame_and_csv_get_bradley_terry(tmp_path: Path) -> None:
    df = simulate_pairwise(1500, n_responses=20, n_workers=10, seed=2, frame="pandas").data
    direct = BradleyTerry().fit(df)
    m = galton.aggregate(df)
    assert isinstance(m, BradleyTerry)
    pd.testing.assert_series_equal(m.scores_, direct.scores_)
    path = tmp_path / "pairs.csv"
    df.to_csv(path, index=False)
    from_file = galton.aggregate(str(path))
    assert isinstance(from_file, BradleyTerry)
    np.testing.assert_allclose(np.sort(from_file.scores_values_), np.sort(direct.scores_values_), atol=1e-12)


def test_best_of_n_gets_plackett_luce() -> None:
    data = simulate_best_of_n(400, n_prompts=30, n_responses=4, n_workers=10, seed=3).data
    assert isinstance(galton.aggregate(data), PlackettLuce)


def test_ratings_need_kind_and_a_model_must_match_it() -> None:
    data = {"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": [10.0, 20.0, 70.0, 90.0]}
    m = galton.aggregate(data, kind="rating")
    assert isinstance(m, GaussianRating)
    with pytest.raises(ValueError, match="model 'bt' is for pairwise data, not rating"):
        galton.aggregate(data, "bt", kind="rating")
    with pytest.raises(ValueError, match="kind must be"):
        galton.aggregate(data, kind="ratings")


@pytest.mark.parametrize("name", ["BaseAggregator", "EMAggregator", "ConfusionEM"])
def test_fitting_a_base_class_says_it_is_one_and_names_the_models(name):
    """galton exports its base classes for writing models; fitting one directly was an
    AttributeError ('no attribute tol') or a bare NotImplementedError."""
    df = pd.DataFrame({"task": [1, 1], "worker": [1, 2], "label": [0, 1]})
    with pytest.raises(TypeError, match=rf"{name} is a base class for writing models .*'ds'"):
        getattr(galton, name)().fit(df)
    galton.DawidSkene().fit(df)  # a subclass is a model


def test_a_model_object_a_lazy_frame_and_unknown_parameters() -> None:
    import polars as pl

    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": ["a", "b"] * 3, "label": [0, 1, 1, 1, 0, 0]})
    obj = galton.DawidSkene(n_iter=1, tol=-np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tol=-inf: every iteration, no convergence test, so no warning
        fitted = galton.aggregate(df, obj)
    assert fitted is obj and fitted.n_iter_ == 1
    mv = galton.MajorityVote()
    assert galton.aggregate(df, mv, tie_break="random").tie_break == "random"
    assert mv.tie_break == "low" and not hasattr(mv, "labels_")  # parameters here configure a copy
    ds = galton.DawidSkene(n_iter=40, alpha=0.5)
    short = galton.aggregate(df, ds, n_iter=3, tol=-np.inf)
    assert (short.n_iter_, short.alpha) == (3, 0.5) and ds.n_iter == 40 and not hasattr(ds, "labels_")
    lazy = galton.aggregate(pl.from_pandas(df).lazy(), "mv")  # a LazyFrame: collected, results in polars
    assert lazy.labels_.sort("task")["label"].to_list() == galton.aggregate(df, "mv").labels_.sort_index().tolist()
    with pytest.raises(TypeError, match=r"mv \(MajorityVote\) has no parameter 'n_iter'; its parameters are"):
        galton.aggregate(df, "mv", n_iter=5)
    with pytest.raises(TypeError, match="model must be a registered name or a model object"):
        galton.aggregate(df, 3)


@pytest.mark.parametrize("name", ["ds", "one_coin_ds", "bds", "mv", "wawa", "zbs", "mmsr", "ebcc", "bwa"])
def test_predict_answers_in_the_new_datas_frame_type(name):
    """A pandas fit answered predict_proba(polars frame) with pandas (a bug hunt): results of new
    data now come in the new data's type, the same numbers either way."""
    import polars as pl

    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": ["a", "b", "a", "b", "a", "b"], "label": [0, 0, 1, 1, 0, 1]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_pandas, from_polars = galton.create(name).fit(df), galton.create(name).fit(pl.from_pandas(df))
        got_polars, got_pandas = from_pandas.predict_proba(pl.from_pandas(df)), from_polars.predict_proba(df)
    assert isinstance(got_polars, pl.DataFrame) and isinstance(got_pandas, pd.DataFrame)
    np.testing.assert_allclose(got_polars.sort("task").drop("task").to_numpy(),
                               got_pandas.sort_index()[sorted(got_pandas.columns)].to_numpy(), rtol=1e-12)


def test_models_without_an_engine_say_they_run_locally():
    """Text, embedding, segmentation and multi-label models have no kind, and aggregate() called them
    categorical: ``engine="ray"`` on ROVER said "has no parameter 'engine' ... the options of
    categorical data" (an address started Ray first). They run locally only; BinaryRelevance's
    model takes the engine."""
    from galton import ROVER, BinaryRelevance, DawidSkene

    texts = pd.DataFrame({"task": [1, 1, 1], "worker": ["a", "b", "c"], "text": ["x y", "x z", "x y"]})
    rover = ROVER(tokenizer=str.split, detokenizer=" ".join)
    for option in ({"engine": "ray"}, {"address": "127.0.0.1:1"}, {"n_shards": 2}):
        with pytest.raises(TypeError, match=r"^aggregate\(\): ROVER \(ROVER\) runs locally only; leave out "
                                            f"{next(iter(option))}="):
            galton.aggregate(texts, rover, **option)
    tags = pd.DataFrame({"task": [1, 1], "worker": ["a", "b"], "label": [["p"], ["p", "q"]]})
    with pytest.raises(TypeError, match=r"leave out engine='ray' and give its model the engine: "
                                        r"BinaryRelevance\(DawidSkene\(engine='ray'\)\)"):
        galton.aggregate(tags, BinaryRelevance(DawidSkene()), engine="ray")
    with pytest.raises(TypeError, match=r"no parameter 'sep'.*takes the options help\(galton.ROVER.fit\) lists$"):
        galton.aggregate(texts, rover, sep=" ")  # not "the options of categorical data"
    assert galton.aggregate(texts, rover).texts_.tolist() == ["x y"]


def test_column_options_decide_the_kind_of_data():
    """Pairwise data with its left column renamed and left_col= given was taken as categorical
    (kind detection ignored the *_col options; bug hunt)."""
    pw = pd.DataFrame({"worker": ["a", "b", "a"], "a": ["x", "x", "y"], "right": ["y", "z", "z"],
                       "label": ["x", "x", "y"]})
    m = galton.aggregate(pw, left_col="a")
    assert type(m).__name__ == "BradleyTerry" and m.scores_.idxmax() == "x" and len(m.scores_) == 3
    with pytest.raises(TypeError, match=r"has no parameter 'task_col'.*options of pairwise data"):
        galton.aggregate(pw.rename(columns={"a": "left"}), task_col="item")


def test_default_is_a_model_name_in_every_lookup() -> None:
    """"default" named galton's default model in galton bench and study files only:
    galton.aggregate(df, "default") and --model default said "unknown model 'default'" (bug hunt).
    Now the registry reads it as the default categorical model, for every caller alike."""
    from galton import aggregator
    from galton.benchmarks.study import resolve_models

    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2, 3, 3, 3], "worker": ["a", "b", "c"] * 3,
                       "label": [0, 0, 1, 1, 1, 0, 0, 1, 1]})
    named, plain = galton.aggregate(df, "default"), galton.aggregate(df)
    assert type(named) is type(plain) is aggregator.get(aggregator.default_name()) is aggregator.get(" Default ")
    pd.testing.assert_frame_equal(named.probas_, plain.probas_)
    assert aggregator.create("default", n_iter=3).n_iter == 3
    pairs = {"worker": ["a", "b", "a", "b"], "left": ["x", "x", "y", "x"], "right": ["y", "y", "z", "z"],
             "label": ["x", "x", "y", "z"]}  # comparisons: "default" is their default, as when left out
    named, plain = galton.aggregate(pairs, "default"), galton.aggregate(pairs)
    assert type(named) is type(plain) is aggregator.get("bt")
    assert named.scores_.equals(plain.scores_)
    assert resolve_models(["default", aggregator.default_name(), "mv"]) == [aggregator.default_name(), "mv"]
    with pytest.raises(ValueError, match=rf"unknown model 'nope'; valid names: default \(galton's default, "
                                         rf"{aggregator.default_name()}\), {', '.join(aggregator.names())}$"):
        aggregator.get("nope")
    with pytest.raises(ValueError, match="'default' names galton's default model; register Mine under another"):
        aggregator.register("default")(type("Mine", (), {}))
    with pytest.raises(ValueError, match="'default' names galton's default model"):
        aggregator.register("mine", "Default")(type("Mine", (), {}))
    assert "mine" not in aggregator.names() and "default" not in aggregator.names()
