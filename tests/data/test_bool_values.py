"""Boolean labels and ids matched by meaning, not by Python truth: numpy's cast to bool took any
non-empty text for True, so gold "False" clamped a task to True and `workers=["nobody"]` picked
worker True (found by hunting)."""
import numpy as np
import pandas as pd
import pytest

import galton
from galton.data._encode import bool_lookup


def test_bool_lookup_by_hand():
    names = np.array([False, True])
    got = bool_lookup(names, np.array([True, False, "False", "TRUE", " true ", "1", "0", 1, 0, 1.0, "no", "yes",
                                       "", 2, None], dtype=object))
    assert got.tolist() == [1, 0, 0, 1, 1, 1, 0, 1, 0, 1, -1, -1, -1, -1, -1]
    assert bool_lookup(np.array([True]), ["false"]).tolist() == [-1]  # a vocabulary without False


def _frame():
    return pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": ["a", "b", "a", "b", "a", "b"],
                         "label": [True, True, False, False, True, False]})


@pytest.mark.parametrize("text", ["False", "false", "0"])
def test_text_gold_on_boolean_labels_reads_as_a_boolean(text):
    fit = galton.aggregate(_frame(), "ds", gold=pd.DataFrame({"task": [3], "label": [text]}))
    assert fit.labels_.loc[3] is np.False_ or fit.labels_.loc[3] == False  # noqa: E712
    assert fit.probas_.loc[3, False] == 1.0


@pytest.mark.parametrize("text", ["no", "yes", "maybe"])
def test_gold_text_that_is_no_boolean_is_refused(text):
    with pytest.raises(ValueError, match=r"gold has 1 label\(s\) not in the judgments' label set \[False, True\]"):
        galton.aggregate(_frame(), "ds", gold=pd.DataFrame({"task": [3], "label": [text]}))


def test_allocate_finds_boolean_workers_by_meaning():
    df = pd.DataFrame({"task": [1, 1, 2, 3, 4], "worker": [True, False, False, True, True],
                       "label": ["x", "y", "x", "y", "x"]})
    for ids in (["false"], [False], [0]):
        asked = galton.allocate(df, 10, workers=ids, model="mv")
        assert set(asked["worker"].tolist()) == {False}, ids  # tasks 3 and 4: the ones it has not judged
        assert sorted(asked["task"].tolist()) == [3, 4]
    with pytest.raises(ValueError, match=r"workers has 1 id\(s\) with no judgments in the data \('nobody'\)"):
        galton.allocate(df, 10, workers=["nobody"], model="mv")
