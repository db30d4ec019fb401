"""Gold labels (galton._gold.read_gold): one rule for the models' ``gold=``, the metrics' true labels
and aggregates, and the command line's ``--gold`` (bug hunt)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import galton
from galton.metrics import accuracy_on_aggregates, get_accuracy

#: task 1..4, workers a, b, c; the gold 0, 1, 1, 0 is right for 3 of a's 4 answers, 4 of b's, 2 of c's
LABELS = [0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0]
FRAME = pd.DataFrame({"task": np.repeat([1, 2, 3, 4], 3), "worker": list("abc") * 4, "label": LABELS})
GOLD = [0, 1, 1, 0]
HAND = {"a": 0.75, "b": 1.0, "c": 0.5}  # by worker; 9 of 12 judgments overall


def _csv(path, values) -> str:
    path.write_text("task,worker,label\n" + "".join(f"{t},{w},{v}\n" for (t, w, _), v in
                                                    zip(FRAME.itertuples(index=False), values)))
    return str(path)


def _both_metrics(data, gold) -> list[float]:
    return [get_accuracy(data, gold), accuracy_on_aggregates(data, aggregates=gold)]

@pytest.mark.parametrize("gold", [
    pd.Series(["no", "yes", "yes", pd.NA], index=[1, 2, 3, 4], dtype="string"),
    pd.Series(["no", "yes", "yes", None], index=[1, 2, 3, 4], dtype="string[pyarrow]"),
    pd.Series(["no", "yes", "yes", "no"], index=pd.Index(["1", "2", "3", pd.NA], dtype="string")),
    {1: "no", 2: "yes", 3: "yes", 4: pd.NA},
], ids=["string", "string[pyarrow]", "string index", "dict"])
def test_gold_with_a_pandas_missing_value_skips_that_row(gold):
    """A nullable pandas gold (string, string[pyarrow], a string task index, a dict value pd.NA) with
    a missing cell raised "TypeError: boolean value of NA is ambiguous"; read_gold's rule is that a
    row with a missing task or label is skipped: the same as gold without that row."""
    words = FRAME.assign(label=FRAME.label.map({0: "no", 1: "yes"}), task=FRAME.task.astype(str)
                         if isinstance(gold, pd.Series) and gold.index.dtype == "string" else FRAME.task)
    kept = {k: v for k, v in (gold.items() if isinstance(gold, pd.Series) else gold.items())
            if not pd.isna(k) and not pd.isna(v)}
    three = pd.Series(list(kept.values()), index=list(kept.keys()), dtype=object)
    want = galton.GoldMajorityVote().fit(words, three).skills_.to_dict()
    assert want == {"a": 2 / 3, "b": 1.0, "c": 1 / 3}  # by hand, on tasks 1-3
    assert galton.GoldMajorityVote().fit(words, gold).skills_.to_dict() == want
    assert galton.DawidSkene().fit(words, gold).labels_.loc[list(kept)].tolist() == list(kept.values())
    assert get_accuracy(words, gold) == get_accuracy(words, three) == 6 / 9
    bools = FRAME.assign(label=FRAME.label.astype(bool))
    flags = pd.Series([False, True, True, pd.NA], index=[1, 2, 3, 4], dtype="boolean")
    assert galton.GoldMajorityVote().fit(bools, flags).skills_.to_dict() == want
