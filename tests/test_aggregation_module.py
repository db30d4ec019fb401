"""``galton.aggregation``: crowd-kit's module path, its abstract bases and its helpers.

A crowd-kit user changes ``crowdkit`` to ``galton`` in the imports and keeps the code; these tests
check the names are all there (against the installed crowd-kit) and that each helper computes what
crowd-kit's does, by hand on small tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

import galton
from galton.aggregation import base, utils
from galton.metrics import get_accuracy


def test_every_crowdkit_aggregation_name_is_galtons_class():
    ck = pytest.importorskip("crowdkit.aggregation", reason="crowd-kit (the reference) is a test dependency")
    import galton.aggregation as ga

    for name in ck.__all__:
        ours = getattr(ga, name)
        if name != "base":
            assert ours is getattr(galton, name), name
    ck_utils = pytest.importorskip("crowdkit.aggregation.utils")
    missing = sorted(set(ck_utils.__all__) - set(utils.__all__))
    assert missing == ["manage_data", "named_series_attrib"]  # internal helpers, explained when asked for
    with pytest.raises(AttributeError, match="joins worker skills on the task column"):
        utils.manage_data  # noqa: B018
    import crowdkit.aggregation.base as ck_base

    assert set(ck_base.__all__) == set(base.__all__)


def test_galton_classes_are_virtual_subclasses_of_crowdkits_bases_by_kind():
    assert isinstance(galton.DawidSkene(), base.BaseClassificationAggregator)
    assert isinstance(galton.BayesianDawidSkene(), base.BaseClassificationAggregator)
    assert isinstance(galton.BinaryRelevance(galton.MajorityVote()), base.BaseClassificationAggregator)
    assert isinstance(galton.NoisyBradleyTerry(), base.BasePairwiseAggregator)
    assert not isinstance(galton.BradleyTerry(), base.BaseClassificationAggregator)
    assert isinstance(galton.SegmentationEM(), base.BaseImageSegmentationAggregator)
    assert isinstance(galton.ROVER(tokenizer=str.split, detokenizer=" ".join), base.BaseTextsAggregator)
    assert isinstance(galton.ClosestToAverage(), base.BaseEmbeddingsAggregator)
    assert isinstance(galton.HRRASA(), base.BaseClassificationAggregator)  # crowd-kit's HRRASA inherits so
    assert not isinstance(galton.MeanRating(), base.BaseClassificationAggregator)  # no crowd-kit kind


def test_crowdkits_bases_declare_their_result_attribute_for_type_checkers():
    """As crowd-kit's bases do (``labels_: Optional[pd.Series]``): without it a type checker refused
    ``agg.labels_`` for ``agg: BaseClassificationAggregator``, and a subclass of one's own had no declared result."""
    declared = {}
    for name in base.__all__:
        cls = getattr(base, name)
        declared[name] = {n: a for k in reversed(cls.__mro__) for n, a in vars(k).get("__annotations__", {}).items()}
        assert cls.RESULT in declared[name], f"{name} does not declare {cls.RESULT}"
    assert declared["BaseClassificationAggregator"]["labels_"] == "pd.Series[Any] | None"  # Optional, as crowd-kit
    assert declared["BasePairwiseAggregator"]["scores_"] == "pd.Series[Any]"


def test_a_users_own_aggregator_on_the_base_gets_crowdkits_series_name():
    class FirstAnswer(base.BaseClassificationAggregator):
        def fit(self, data):
            self.labels_ = data.groupby("task")["label"].first()
            return self

    df = pd.DataFrame({"task": ["t1", "t1", "t2"], "worker": ["a", "b", "a"], "label": ["x", "y", "z"]})
    got = FirstAnswer().fit_predict(df)
    assert got.name == "agg_label" and got.to_dict() == {"t1": "x", "t2": "z"}

    class OnlyFitPredict(base.BaseClassificationAggregator):  # crowd-kit's bases allow this too
        def fit_predict(self, data):
            return data.groupby("task")["label"].last()

    assert OnlyFitPredict().fit_predict(df).to_dict() == {"t1": "y", "t2": "z"}
    with pytest.raises(NotImplementedError, match="does not implement fit"):
        OnlyFitPredict().fit(df)


def test_most_probable_labels_and_normalised_rows_as_crowdkit():
    proba = pd.DataFrame([[0.9, 0.1, 0.0], [0.3, 0.5, 0.2], [0.4, 0.2, 0.4]], columns=["a", "b", "c"],
                         index=["w", "x", "y"])
    # a tie (row y) goes to the first column, as crowd-kit's idxmax
    assert_series_equal(utils.get_most_probable_labels(proba), pd.Series(["a", "b", "a"], index=["w", "x", "y"]))
    assert utils.get_most_probable_labels(proba.iloc[:0, :0]).empty
    scores = pd.DataFrame([[4.5, 0.5, 0.0], [0.6, 1.0, 0.4]], columns=["a", "b", "c"])
    assert_frame_equal(utils.normalize_rows(scores),
                       pd.DataFrame([[0.9, 0.1, 0.0], [0.3, 0.5, 0.2]], columns=["a", "b", "c"]))
    with pytest.raises(TypeError, match="pandas"):
        utils.normalize_rows(pl.DataFrame({"a": [1.0]}))
    # a row of finite scores whose sum overflows (crowd-kit and galton gave 0.0, 0.0); a row summing
    # to 0 stays NaN as crowd-kit's; the others exactly as before
    big = pd.DataFrame([[1e308, 1e308, 0.0], [1.7e308, 1e308, 1e307], [0.0, 0.0, 0.0], [4.5, 0.5, 0.0]])
    got = utils.normalize_rows(big).to_numpy()
    np.testing.assert_allclose(got[:2], [[0.5, 0.5, 0.0], [1.7 / 2.8, 1 / 2.8, 0.1 / 2.8]], rtol=1e-15)
    assert np.isnan(got[2]).all() and got[3].tolist() == [0.9, 0.1, 0.0]


def test_evaluate_counts_hits_and_refuses_missing_predictions():
    true = pd.DataFrame({"task": ["t1", "t2", "t3", "t4"], "label": ["a", "b", "a", "c"]})
    pred = pd.Series(["a", "a", "a", "c"], index=pd.Index(["t1", "t2", "t3", "t4"], name="task"), name="agg_label")
    assert utils.evaluate(true, pred, evaluate_func=utils.evaluate_equal) == 0.75  # a model's labels_ as it is
    sets = true.assign(label=[{"a", "b"}, {"c"}, {"a"}, {"b"}])
    assert utils.evaluate(sets, pred.reset_index().rename(columns={"agg_label": "label"})) == 0.5  # evaluate_in
    with pytest.raises(utils.EvaluationMismatchError, match="1 true task.s. have no prediction") as e:
        utils.evaluate(true, pred.iloc[:3], evaluate_func=utils.evaluate_equal)
    assert isinstance(e.value, AssertionError)  # crowd-kit asserts
    # one task missing and another predicted twice: the lengths agree, crowd-kit scored it 1.0
    twice = pd.DataFrame({"task": ["t1", "t1", "t3", "t4"], "label": ["a", "a", "a", "c"]})
    with pytest.raises(utils.EvaluationMismatchError, match="1 true task.s. have no prediction and 1 predicted"):
        utils.evaluate(true, twice, evaluate_func=utils.evaluate_equal)
    # task as the frames' index (crowd-kit's tests: labels_.to_frame("label")), as a column
    assert utils.evaluate(true.set_index("task"), pred.to_frame("label"), evaluate_func=utils.evaluate_equal) == 0.75



def test_evaluate_equal_compares_numpy_array_labels_whole(tmp_path):
    """Bug hunt: tag lists read back by pd.read_parquet are numpy arrays; ``p == t`` compared them
    element by element and averaged the elements (gold ['a', 'x'] against ['a', 'b'] was half a hit:
    0.75 where 1 hit of 2 tasks is 0.5); lengths that differ broadcast or raised numpy's ValueError."""
    pred = pd.Series({"t1": ["a", "b"], "t2": ["c", "d"], "t3": ["e"]}, name="agg_label").rename_axis("task")
    gold = pd.DataFrame({"task": ["t1", "t2", "t3"], "label": [["a", "x"], ["c", "d"], ["e", "f"]]})
    gold.to_parquet(tmp_path / "gold.parquet")
    read = pd.read_parquet(tmp_path / "gold.parquet")
    assert isinstance(read["label"].iloc[0], np.ndarray)
    assert utils.evaluate(gold, pred, utils.evaluate_equal) == pytest.approx(1 / 3)  # lists: t2 alone
    assert utils.evaluate(read, pred, utils.evaluate_equal) == pytest.approx(1 / 3)
    one = pd.Series({"t1": ["e"], "t2": ["c", "d"], "t3": ["e", "f"]}, name="agg_label").rename_axis("task")
    assert utils.evaluate(read, one, utils.evaluate_equal) == pytest.approx(2 / 3)  # ['e'] against two: a miss
    both = read.assign(label=[np.array(["a", "b"]), np.array(["c"]), np.array(["e"])])
    arrays = pred.map(np.array)
    assert utils.evaluate(both.set_index("task")["label"], arrays, utils.evaluate_equal) == pytest.approx(2 / 3)
    row = pd.Series({"label_pred": np.array(["a", "b"]), "label_true": np.array(["a", "x"])})
    assert utils.evaluate_equal(row) == 0

#: crowd-kit's subpackages of crowdkit.aggregation and their __all__ (crowd-kit 1.4.2), checked against the
#: installed crowd-kit where there is one
CROWDKIT_SUBPACKAGES = {
    "classification": ["DawidSkene", "GLAD", "GoldMajorityVote", "KOS", "MACE", "MajorityVote", "MMSR",
                       "OneCoinDawidSkene", "Wawa", "ZeroBasedSkill"],
    "embeddings": ["ClosestToAverage", "HRRASA", "RASA"],
    "image_segmentation": ["SegmentationEM", "SegmentationRASA", "SegmentationMajorityVote"],
    "multilabel": ["BinaryRelevance"],
    "pairwise": ["BradleyTerry", "NoisyBradleyTerry"],
    "texts": ["TextHRRASA", "TextRASA", "ROVER"],
}


def test_the_load_dataset_row_says_what_frames_it_returns():
    """docs/from-crowd-kit.md said galton.load_dataset returns (judgments, gold, experts) without
    saying these are polars by default, where crowd-kit's are pandas."""
    import inspect
    from pathlib import Path

    doc = (Path(galton.__file__).resolve().parent.parent / "docs" / "from-crowd-kit.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| `crowdkit.datasets.load_dataset`"))
    default = inspect.signature(galton.load_dataset).parameters["frame"].default
    assert default == "polars" and "polars tables by default" in row and 'frame="pandas"' in row
    judgments, gold, _ = galton.load_dataset("zheng_d_product")
    assert isinstance(judgments, pl.DataFrame) and isinstance(gold, pl.DataFrame)
    judgments, gold, _ = galton.load_dataset("zheng_d_product", frame="pandas")
    assert list(judgments.columns) == ["task", "worker", "label"] and list(gold.columns) == ["task", "label"]
    assert "`task, label` columns" in row and 'gold.set_index("task")["label"]' in row
    series = gold.set_index("task")["label"]
    assert_series_equal(galton.MajorityVote().fit(judgments, gold=gold).labels_,
                        galton.MajorityVote().fit(judgments, gold=series).labels_)


def test_crowdkit_subpackages_have_galton_counterparts():
    """docs/from-crowd-kit.md said "change crowdkit to galton in the imports", but
    `from galton.aggregation.classification import DawidSkene` (crowd-kit's subpackage path) failed:
    every name of each subpackage's __all__ is galton's class there, or the doc lists it as not provided."""
    import importlib
    from pathlib import Path

    doc = (Path(galton.__file__).resolve().parent.parent / "docs" / "from-crowd-kit.md").read_text()
    imports = doc.split("## Imports", 1)[1].split("\n## ", 1)[0]
    for sub, names in CROWDKIT_SUBPACKAGES.items():
        try:
            assert sorted(importlib.import_module(f"crowdkit.aggregation.{sub}").__all__) == sorted(names), sub
        except ImportError:  # crowd-kit is a test dependency; without it the lists above stand
            pass
        ours = importlib.import_module(f"galton.aggregation.{sub}")
        assert getattr(galton.aggregation, sub) is ours and set(ours.__all__) <= set(names)
        for name in names:
            if name in ours.__all__:
                assert getattr(ours, name) is getattr(galton, name), (sub, name)
            else:
                assert f"`{name}`" in imports and "not provided" in imports, (sub, name)
        assert f"`.{sub}`" in imports or f"`crowdkit.aggregation.{sub}`" in imports, sub
    from galton.aggregation.classification import DawidSkene
    from galton.aggregation.pairwise import NoisyBradleyTerry

    assert DawidSkene is galton.DawidSkene and NoisyBradleyTerry is galton.NoisyBradleyTerry


def test_factorize_and_clone():
    unique, codes = utils.factorize(np.array([["b", "a"], ["c", "b"]]))
    assert unique.tolist() == ["a", "b", "c"] and codes.tolist() == [[1, 0], [2, 1]]
    ds = galton.DawidSkene(n_iter=7, tol=0.5)
    df = pd.DataFrame({"task": ["t1", "t1", "t2"], "worker": ["a", "b", "a"], "label": ["x", "y", "x"]})
    ds.fit(df)
    twin = utils.clone_aggregator(ds)
    assert type(twin) is galton.DawidSkene and twin is not ds
    assert twin.get_params() == ds.get_params() and not hasattr(twin, "labels_")


def test_clone_keeps_the_parameters_of_a_slotted_attrs_class():
    """clone_aggregator read vars(), which misses the fields of a slotted attrs class (@attr.define, as
    crowd-kit's models are written): G2(k=5) cloned to k=1, its default. A plain slotted class too."""
    attr = pytest.importorskip("attr")

    @attr.define
    class G2(base.BaseClassificationAggregator):
        k: int = 1
        _scale: float = 1.0  # a private field: set as scale=
        seen: int = attr.field(init=False, default=0)

        def fit(self, data):
            return self

    twin = utils.clone_aggregator(G2(k=5, scale=2.5))
    assert type(twin) is G2 and (twin.k, twin._scale) == (5, 2.5)

    class Plain(base.BaseClassificationAggregator):
        __slots__ = ("k", "labels_")

        def __init__(self, k: int = 1) -> None:
            self.k = k

    assert utils.clone_aggregator(Plain(k=7)).k == 7


def test_add_skills_to_data_refuses_a_worker_given_twice():
    """skills listing a worker twice silently repeated their judgments (6 rows from 4)."""
    df = pd.DataFrame({"task": ["t1", "t1", "t2", "t2"], "worker": ["a", "b", "a", "b"], "label": [1, 0, 1, 1]})
    skills = pd.Series([0.9, 0.8, 0.7], index=["a", "a", "b"])
    for how, default in (("error", None), ("ignore", None), ("value", 0.5)):
        with pytest.raises(ValueError, match=r"^skills: 1 worker\(s\) appear more than once \('a'\); a worker given "
                                             "twice is refused"):
            utils.add_skills_to_data(df, skills, how, default)
    assert len(utils.add_skills_to_data(df, skills[1:], "error", None)) == 4


def test_add_skills_to_data_three_ways():
    df = pd.DataFrame({"task": ["t1", "t1", "t2"], "worker": ["a", "b", "b"], "label": [1, 0, 1]})
    skills = pd.Series({"a": 0.9})
    with pytest.raises(ValueError, match=r"no skill for 1 worker\(s\) in 2 judgment\(s\) \(e.g. 'b'\)"):
        utils.add_skills_to_data(df, skills, "error", None)
    with pytest.raises(ValueError, match=r"1 task\(s\) have no worker with a known skill \(e.g. 't2'\)"):
        utils.add_skills_to_data(df, skills, "ignore", None)
    kept = utils.add_skills_to_data(df.iloc[:2], pd.Series({"a": 0.9}), "ignore", None)
    assert kept[["worker", "skill"]].values.tolist() == [["a", 0.9]]
    filled = utils.add_skills_to_data(df, skills, "value", 0.5)
    assert filled["skill"].tolist() == [0.9, 0.5, 0.5]
    with pytest.raises(ValueError, match="default_skill"):
        utils.add_skills_to_data(df, skills, "error", 0.5)
    with pytest.raises(ValueError, match="on_missing_skill"):
        utils.add_skills_to_data(df, skills, "skip", None)


def _weighted() -> tuple[pd.DataFrame, pd.Series]:
    data = pd.DataFrame([["t1", "p1", "a", 1], ["t1", "p2", "a", 1], ["t1", "p3", "c", 3], ["t2", "p1", "b", 2],
                         ["t2", "p4", "b", 1], ["t2", "p3", "c", 1]], columns=["task", "worker", "label", "weight"])
    return data, pd.Series({"t1": "c", "t2": "b"})


def test_accuracy_by_true_label_by_hand():
    data, truth = _weighted()
    # true b (t2): weights 2 + 1 right of 2 + 1 + 1 -> 3/4; true c (t1): 3 of 1 + 1 + 3 -> 3/5
    assert_series_equal(get_accuracy(data, truth, by="true_label"),
                        pd.Series([3 / 4, 3 / 5], index=pd.Index(["b", "c"], name="true_label")))
    assert_series_equal(get_accuracy(data[["task", "worker", "label"]], truth, by="true_label"),
                        pd.Series([2 / 3, 1 / 3], index=pd.Index(["b", "c"], name="true_label")))
    # a true label no judgment has is a group of its own (every judgment there is wrong)
    got = get_accuracy(data, pd.Series({"t1": "z", "t2": "b"}), by="true_label")
    assert got.to_dict() == {"b": 0.75, "z": 0.0}
    table = get_accuracy(pl.from_pandas(data), truth, by="true_label")
    assert table.columns == ["true_label", "accuracy"] and table.rows() == [("b", 0.75), ("c", 0.6)]
    # by the answer given: a (t1 by p1 and p2, true c) 0 of weight 2; b 3 of 3; c 3 of 4
    assert get_accuracy(data, truth, by="label").to_dict() == {"a": 0.0, "b": 1.0, "c": 0.75}
    with pytest.raises(ValueError, match="true_label"):
        get_accuracy(data, truth, by="answer")


def test_weights_are_read_from_every_input_type(tmp_path):
    data, truth = _weighted()
    data.to_csv(tmp_path / "w.csv", index=False)
    want = 6 / 9
    for given in (data, pa.Table.from_pandas(data), pl.from_pandas(data), data.to_dict("list"), str(tmp_path / "w.csv")):
        assert get_accuracy(given, truth) == pytest.approx(want, rel=1e-15), type(given).__name__


def test_a_gold_label_of_another_type_misses_only_its_own_task():
    data = pd.DataFrame({"task": [1, 1, 2, 2, 3], "worker": list("ababa"), "label": [0, 1, 1, 1, 0]})
    got = get_accuracy(data, pd.Series({1: "x", 2: 1, 3: 0}), by="task")
    assert got.tolist() == [0.0, 1.0, 1.0]  # "x" is no label; tasks 2 and 3 match
    # text "0" is the label 0, as gold= reads it (GoldMajorityVote's skills_ are this accuracy by worker);
    # crowd-kit compares "0" with 0 as unequal
    got = get_accuracy(data, pd.Series({1: "0", 2: 1, 3: 0}), by="task")
    assert got.tolist() == [0.5, 1.0, 1.0]
    table = get_accuracy(pl.from_pandas(data), {1: 0, 2: 1, 3: 7}, by="true_label")
    assert table.schema["true_label"] == pl.Int64 and table.rows() == [(0, 0.5), (1, 1.0), (7, 0.0)]


@pytest.mark.parametrize("by", ["label", ["worker", "true_label"], ["true_label", "label"]])
def test_accuracy_by_any_grouping_equals_crowdkit(by):
    ck_utils = pytest.importorskip("crowdkit.aggregation.utils",
                                   reason="crowd-kit (the reference) is a test dependency")
    rng = np.random.default_rng(2)
    n = 2000
    data = pd.DataFrame({"task": rng.integers(0, 300, n).astype(str), "worker": rng.integers(0, 30, n).astype(str),
                         "label": rng.integers(0, 3, n)}).drop_duplicates(["task", "worker"])
    truth = pd.Series(rng.integers(0, 3, 300), index=[str(i) for i in range(300)])
    ours, theirs = get_accuracy(data, truth, by=by), ck_utils.get_accuracy(data, truth, by=by)
    assert ours.index.equals(theirs.index)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-12)
    ck_workers = pytest.importorskip("crowdkit.metrics.workers")
    from galton.metrics import accuracy_on_aggregates

    aggregates = truth.rename("agg_label")
    ours = accuracy_on_aggregates(data, aggregates=aggregates, by=by)
    theirs = ck_workers.accuracy_on_aggregates(data, aggregates=aggregates, by=by)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-12)


def test_accuracy_by_true_label_equals_crowdkit_on_random_data():
    ck_utils = pytest.importorskip("crowdkit.aggregation.utils",
                                   reason="crowd-kit (the reference) is a test dependency")
    rng = np.random.default_rng(5)
    n = 3000
    data = pd.DataFrame({"task": rng.integers(0, 400, n).astype(str), "worker": rng.integers(0, 40, n).astype(str),
                         "label": rng.integers(0, 4, n), "weight": rng.uniform(0.1, 2.0, n)})
    # one judgment per (task, worker): of repeated ones with equal scores and different weights
    # crowd-kit keeps whichever its unstable quicksort puts last, galton the last in the input
    data = data.drop_duplicates(["task", "worker"])
    truth = pd.Series(rng.integers(0, 5, 300), index=[str(i) for i in range(300)])  # label 4: no judgment has it
    theirs = ck_utils.get_accuracy(data, truth, by="true_label")
    ours = get_accuracy(data, truth, by="true_label")
    assert ours.index.tolist() == theirs.index.tolist()
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-12)


def test_galton_aggregation_is_reached_from_import_galton_alone():
    import subprocess
    import sys

    code = "import galton, sys; print('galton.aggregation' in sys.modules, galton.aggregation.utils.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["False", "galton.aggregation.utils"]  # not imported until asked for


def test_a_metric_given_null_labels_says_the_fix_it_takes():
    data = pd.DataFrame({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": ["x", None, "y"]})
    with pytest.raises(ValueError, match=r"1 null value\(s\) \(rows 1\); drop those rows before") as e:
        get_accuracy(data, pd.Series({1: "x"}))
    assert "on_invalid" not in str(e.value)  # the metrics take no such option
    assert get_accuracy(data.dropna(subset=["label"]), pd.Series({1: "x"})) == 1.0


def test_a_metric_given_other_column_names_says_to_rename_them():
    """The metrics keep crowd-kit's signatures (no task_col=): the error says to rename, not to pass
    the models' task_col= that they do not take."""
    from galton.metrics import alpha_krippendorff

    data = pd.DataFrame({"item": [1, 1, 2], "annotator": ["a", "b", "a"], "answer": ["x", "y", "y"]})
    for metric in (lambda d: get_accuracy(d, pd.Series({1: "x"})), alpha_krippendorff):
        with pytest.raises(KeyError) as e:  # a KeyError, as crowd-kit's data[["task", ...]] raises
            metric(data)
        assert str(e.value).endswith("The metrics read task, worker and label, as crowd-kit's do: rename the "
                                     "columns first (for example df.rename(columns={'item': 'task'}))")
        assert "task_col" not in str(e.value)


def test_accuracy_of_no_judgments_is_nan_whatever_the_gold_ids():
    empty = pd.DataFrame({"task": [], "worker": [], "label": []})  # pandas' float64 columns
    assert np.isnan(get_accuracy(empty, pd.Series({"t1": "x"})))  # crowd-kit: nan (was a float parse error)
    assert get_accuracy(empty, pd.Series({"t1": "x"}), by="worker").empty


def test_model_modules_export_their_models_only():
    """The ``__all__`` of a model module is re-exported by ``galton`` (``from galton import *``): it
    exported ``digamma``, ``MAX_ACCURACY`` and ``no_gold`` beside the models (base classes are kept)."""
    import importlib
    import pkgutil

    import galton.aggregator as agg

    for info in pkgutil.iter_modules(agg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"galton.aggregator.{info.name}")
        registers = any(isinstance(v, type) and getattr(v, "registry_name", None) and v.__module__ == module.__name__
                        for v in vars(module).values())
        if registers:
            for name in module.__all__:
                assert isinstance(getattr(module, name), type), f"{info.name}.{name}"
    assert not {"digamma", "MAX_ACCURACY", "no_gold", "sorted_order", "one_coin_matrix"} & set(galton.__all__)
