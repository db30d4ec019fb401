"""ROVER: crowd-kit's documented toy result, equal texts to crowd-kit's ROVER on simulated
transcriptions, the error rate it recovers against its transcribers, and the input checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from galton import ROVER
from galton.benchmarks.texts import simulate_transcripts, word_errors
from galton.judgments import ColumnError

ck = pytest.importorskip("crowdkit.aggregation", reason="crowd-kit (the reference) is a test dependency")


def _rover() -> ROVER:
    return ROVER(tokenizer=lambda s: s.split(" "), detokenizer=" ".join)


def test_the_toy_by_hand():
    # "a b c d" / "b z d e" / "b c d e f": aligned slots {a,-,-} {b,b,b} {c,z,c} {d,d,d} {-,e,e} {-,-,f};
    # the votes: "" (2 of 3), b, c, d, e, "" -> "b c d e"
    data = pd.DataFrame([["w1", "t1", "a b c d"], ["w2", "t1", "b z d e"], ["w3", "t1", "b c d e f"]],
                        columns=["worker", "task", "text"])
    out = _rover().fit_predict(data)
    assert out.to_dict() == {"t1": "b c d e"} and out.name == "agg_text" and out.index.name == "task"
    single = data.iloc[:1]
    assert _rover().fit_predict(single)["t1"] == "a b c d"


def test_equal_to_crowdkits_rover_on_simulated_transcriptions():
    data, _ = simulate_transcripts(1, n_tasks=120, per_task=4, words=12)
    ours = _rover().fit_predict(data)
    theirs = ck.ROVER(tokenizer=lambda s: s.split(" "), detokenizer=" ".join).fit_predict(data)
    assert ours.index.equals(theirs.index)
    assert ours.tolist() == theirs.tolist()


def test_rover_makes_fewer_errors_than_the_best_transcriber_of_each_task():
    # python -m galton.benchmarks.texts: 500 tasks, WER one transcriber 0.174, best with hindsight 0.060, ROVER 0.016
    data, truth = simulate_transcripts(2, n_tasks=150, per_task=5, words=20)
    texts = _rover().fit_predict(data)
    rover = np.mean([word_errors(texts[t], truth[t]) for t in truth])
    best = data.assign(wer=[word_errors(x, truth[t]) for t, x in zip(data["task"], data["text"])]) \
        .groupby("task")["wer"].min().mean()
    assert rover < 0.5 * best
    assert word_errors("a b c", "a b c") == 0.0 and word_errors("a c", "a b c") == pytest.approx(1 / 3)


def test_bad_input_is_refused_naming_the_column():
    with pytest.raises(ColumnError, match="text"):
        _rover().fit(pd.DataFrame({"task": [1], "worker": [1], "output": ["a"]}))
    with pytest.raises(ColumnError, match="'text' has 1 missing"):
        _rover().fit(pd.DataFrame({"task": [1, 1], "worker": [1, 2], "text": ["a", None]}))
    with pytest.raises(TypeError, match="pandas DataFrame"):
        _rover().fit(pl.DataFrame({"task": [1], "worker": [1], "text": ["a"]}))
