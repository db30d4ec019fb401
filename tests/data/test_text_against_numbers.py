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


def test_text_ids_find_integer_ids_only_when_canonical():
    # a hunt found: "0042", "42.0", " 42", "+42", "4.2e1" all found id 42 (text parsed as a number),
    # where the reader keeps them text, another id: only canonical integer text is an integer id
    from galton.data._encode import id_lookup

    got = id_lookup(np.array([42, 107]), np.array(["0042", "42.0", " 42", "+42", "4.2e1", "42", "107", "-0"],
                                                   dtype=object))
    assert got.tolist() == [-1, -1, -1, -1, -1, 0, 1, -1]
    assert id_lookup(np.array([42]), np.array([b"42", b"042"], dtype=object)).tolist() == [0, -1]
    assert id_lookup(np.array(["42"], dtype=object), np.array([42])).tolist() == [0]  # digits, as before


def test_new_worker_007_is_not_fitted_worker_7(tmp_path):
    # worker "007" of a new batch borrowed fitted worker 7's confusion matrix and flipped the label
    rng = np.random.default_rng(1)
    rows = []
    for t in range(200):
        y = int(rng.integers(0, 2))
        for w, a in ((7, .95), (8, .7), (9, .7)):
            rows.append((t, w, y if rng.random() < a else 1 - y))
    fit = galton.DawidSkene().fit(pd.DataFrame(rows, columns=["task", "worker", "label"]))
    batch = tmp_path / "b2.csv"
    batch.write_text("task,worker,label\n500,007,1\n500,8,0\n500,9,0\n")
    with pytest.warns(UserWarning, match=r"1 of 3 worker\(s\) of the new data were not in the fit \('007'\)"):
        got = fit.predict_proba(pd.read_csv(batch, dtype={"worker": str}))
    alone = fit.predict_proba(pd.DataFrame({"task": [500, 500], "worker": [8, 9], "label": [0, 0]}))
    np.testing.assert_allclose(got.to_numpy(), alone.to_numpy())  # "007" carries no information
    assert fit.predict(pd.DataFrame({"task": [500] * 3, "worker": ["7", "8", "9"], "label": [1, 0, 0]})).loc[500] == 1


def test_new_data_labels_stay_lenient_text_numbers():
    # labels (unlike ids) are found as gold's are: text that spells a fitted number label is it
    fit = galton.DawidSkene().fit(_frame())
    new = pd.DataFrame({"task": [9, 9, 9], "worker": list("abc"), "label": [1, 1, 0]})
    want = fit.predict_proba(new).to_numpy()
    got = fit.predict_proba(new.assign(label=["01", "1.0", "0"]))
    np.testing.assert_allclose(got.to_numpy(), want)


def test_skill_keys_find_integer_workers_only_when_canonical():
    df = pd.DataFrame({"task": [1, 1, 1], "worker": [7, 8, 9], "label": ["a", "b", "b"]})
    for key in ("007", "7.0", "+7"):  # another worker: 7 has no skill (it took "007"'s 10 and won the vote)
        with pytest.raises(ValueError, match=r"no skill for 1 of 3 worker\(s\) \(7\)"):
            galton.MajorityVote().fit(df, pd.Series({key: 10.0, "8": 1.0, "9": 1.0}))
        fit = galton.MajorityVote(on_missing_skill="value", default_skill=1.0).fit(
            df, pd.Series({key: 10.0, "8": 1.0, "9": 1.0}))
        assert fit.labels_.loc[1] == "b"
    assert galton.MajorityVote().fit(df, pd.Series({"7": 10.0, "8": 1.0, "9": 1.0})).labels_.loc[1] == "a"


@pytest.mark.parametrize("name", ["ds", "one_coin_ds", "bds", "ebcc", "bwa"])
def test_a_label_outside_the_fit_is_refused_with_advice_that_works(name):
    # the message suggested refitting "with labels=[...] naming the full set", but a declared label that
    # no judgment of the fit gives gets prior 0: it can never win, not even where every new judgment gives it
    fit = galton.aggregate(_frame(), name, labels=[0, 1, 2])
    unanimous = pd.DataFrame({"task": [9] * 3, "worker": list("abc"), "label": [2, 2, 2]})
    assert fit.predict_proba(unanimous).loc[9, 2] < 1e-6 and fit.predict(unanimous).loc[9] != 2
    with pytest.raises(ValueError, match=r"refit on data whose judgments hold those labels") as info:
        fit.predict(unanimous.assign(label=[5, 5, 5]))
    assert "naming the full set" not in str(info.value)
