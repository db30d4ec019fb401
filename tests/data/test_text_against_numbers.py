"""Gold and new-data labels written as text, against judgments with number labels: text that reads
as a label is that label, text that reads as none is "not in the label set" (numpy's cast raised
"invalid literal for int()" and a cast turned 1.5 into label 1)."""
import numpy as np
import pandas as pd
import pytest

import galton


def _frame():
    return pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"), "label": [1, 1, 0, 0, 0, 1]})


@pytest.mark.parametrize("gold, label", [("0", 0), (0.0, 0), ("1", 1)])
def test_gold_that_reads_as_a_label_is_it(gold, label):
    fit = galton.DawidSkene().fit(_frame(), pd.Series({1: gold}))
    assert fit.labels_.loc[1] == label and fit.probas_.loc[1, label] == 1.0


@pytest.mark.parametrize("gold", ["abc", "1.5", 1.5, "true"])
def test_gold_that_reads_as_no_label_is_refused_by_name(gold):
    with pytest.raises(ValueError, match=r"gold has 1 label\(s\) not in the judgments' label set \[0, 1\]"):
        galton.DawidSkene().fit(_frame(), pd.Series({1: gold}))


@pytest.mark.parametrize("label", ["abc", 1.5])
def test_new_data_labels_outside_the_fit_are_named(label):
    fit = galton.DawidSkene().fit(_frame())
    with pytest.raises(ValueError, match=r"holds label\(s\) \[.*\] that this DawidSkene was not fitted on"):
        fit.predict(pd.DataFrame({"task": [9], "worker": ["a"], "label": [label]}))
    assert fit.predict(pd.DataFrame({"task": [9], "worker": ["a"], "label": [1.0]})).to_dict() == {9: 1}


@pytest.mark.parametrize("name", ["mv", "wawa", "zbs", "ds", "one_coin_ds", "ebcc", "bwa", "bds", "mmsr"])
def test_predict_on_empty_new_data_gives_empty_results(name):
    # crowd-kit's Wawa().fit(df).predict(empty) is an empty Series; galton raised ZeroDivisionError / IndexError
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"), "label": ["x", "y", "x", "y", "y", "x"]})
    fit = galton.aggregate(df, name)
    labels, probas = fit.predict(df.iloc[:0]), fit.predict_proba(df.iloc[:0])
    assert len(labels) == 0 and len(probas) == 0
    assert isinstance(labels, pd.Series) and isinstance(probas, pd.DataFrame)
    assert np.isfinite(fit.predict_proba(df).to_numpy()).all()  # the fit itself is untouched


def test_gold_with_the_datas_own_column_names():
    # the CLI read gold by --task-col / --label-col; fit(task_col=...) asked gold for 'task', 'label'
    import polars as pl

    df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"),
                       "answer": ["x", "y", "x", "y", "y", "x"]})
    cols = dict(task_col="item", worker_col="annotator", label_col="answer")
    for gold in (pd.DataFrame({"item": [1], "answer": ["y"]}), pl.DataFrame({"item": [1], "answer": ["y"]}),
                 pd.DataFrame({"task": [1], "label": ["y"]})):
        fit = galton.DawidSkene().fit(df, gold, **cols)
        assert fit.labels_.loc[1] == "y" and fit.probas_.loc[1, "y"] == 1.0  # the crowd said x there


def test_labels_beyond_float_precision_and_64_bits():
    # a review found: one array of parsed ints and floats made 2**53 + 1 the float 2**53 (another
    # label), and an integer beyond 64 bits recursed without end
    from galton.data.judgments import label_lookup

    b = 2**53
    names = np.array([1000, b, b + 1], dtype=np.int64)
    assert label_lookup(names, np.array([str(b + 1), "1.5", "1e3"], dtype=object)).tolist() == [2, -1, 0]
    beyond = np.array(["-1", str(2**64 - 1), 2**70], dtype=object)
    assert label_lookup(np.array([0, 1]), beyond).tolist() == [-1, -1, -1]
    df = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": np.array([b, b, b + 1, b + 1])})
    with pytest.raises(ValueError, match=r"gold has 1 label\(s\) not in the judgments' label set"):
        galton.MajorityVote().fit(df, gold=pd.Series({1: 2**70}, dtype=object))
    fit = galton.DawidSkene().fit(df, gold=pd.Series({1: str(b + 1)}))
    assert fit.labels_.loc[1] == b + 1
