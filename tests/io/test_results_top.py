"""``top``: the N most probable labels of each task instead of one probability column per label
(:func:`galton.io.results_table`, the command line's ``--top``, the shards' ``results_top``)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import galton
from galton.io import results_columns, results_table

LABELS = np.array(["a", "b", "c"], dtype=object)


def test_the_most_probable_labels_by_hand():
    post = np.array([[0.2, 0.5, 0.3],     # b, then c
                     [0.4, 0.4, 0.2],     # an exact tie: label order, a then b
                     [0.4, 0.4 + 1e-12, 0.2]])  # b larger by 1e-12: tied by the label's rule, so a
    codes = np.array([1, 0, 0])  # argmax with ties (relative 1e-9) to the lowest code
    t = results_columns(np.array(["t1", "t2", "t3"], dtype=object), LABELS, post, codes, top=2)
    assert t.column_names == ["task", "label", "confidence", "label_1", "p_1", "label_2", "p_2"]
    assert t["label_1"].to_pylist() == t["label"].to_pylist() == ["b", "a", "a"]
    assert t["label_2"].to_pylist() == ["c", "b", "b"]
    assert t["p_1"].to_pylist() == t["confidence"].to_pylist() == [0.5, 0.4, 0.4]
    assert t["p_2"].to_pylist() == [0.3, 0.4, 0.4 + 1e-12]
    everything = results_columns(np.array(["t1", "t2", "t3"], dtype=object), LABELS, post, codes, top=10)
    assert everything.column_names[3:] == ["label_1", "p_1", "label_2", "p_2", "label_3", "p_3"]  # K = 3
    assert everything["label_3"].to_pylist() == ["a", "c", "c"]


def test_top_k_holds_every_probability_of_the_full_table():
    data = galton.datasets.load("act_ms", frame="pandas").judgments
    model = galton.aggregate(data)
    full = results_table(model).to_pylist()
    k = model.judgments_.n_labels
    ranked = results_table(model, top=k).to_pylist()
    for whole, row in zip(full, ranked):
        probs = [row[f"p_{r}"] for r in range(1, k + 1)]
        assert probs == sorted(probs, reverse=True)  # most probable first
        assert {row[f"label_{r}"]: row[f"p_{r}"] for r in range(1, k + 1)} == \
            {label: whole[f"p_{label}"] for label in model.judgments_.label_names.tolist()}
        assert (row["task"], row["label"], row["confidence"]) == (whole["task"], whole["label"], whole["confidence"])


@pytest.mark.parametrize("top", [0, -1, 2.5, True, "3"])
def test_top_must_be_a_whole_number_of_at_least_one(top):
    model = galton.MajorityVote().fit(pd.DataFrame({"task": [1, 2], "worker": ["a", "a"], "label": ["x", "y"]}))
    with pytest.raises(ValueError, match="top must be a whole number of labels, at least 1"):
        results_table(model, top=top)


def test_an_empty_fit_gives_typed_columns():
    t = results_columns(np.array([], dtype=object), LABELS, np.zeros((0, 3)), np.zeros(0, dtype=np.int64), top=2)
    assert t.num_rows == 0
    assert t.schema.field("label_2").type == pa.string() and t.schema.field("p_2").type == pa.float64()


def test_the_command_line_writes_the_table_of_the_python_fit(tmp_path):
    out = tmp_path / "top.csv"
    run = subprocess.run([sys.executable, "-m", "galton", "aggregate", "bundled:act_ms", "--top", "3", "-o",
                          str(out), "-q"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    got = pacsv.read_csv(out).to_pylist()
    data = galton.datasets.load("act_ms", frame="pandas").judgments
    want = results_table(galton.aggregate(data), top=3).to_pylist()
    assert [r["task"] for r in got] == [r["task"] for r in want]
    for g, w in zip(got, want):
        assert [g[f"label_{r}"] for r in (1, 2, 3)] == [w[f"label_{r}"] for r in (1, 2, 3)]
        np.testing.assert_allclose([g[f"p_{r}"] for r in (1, 2, 3)], [w[f"p_{r}"] for r in (1, 2, 3)], rtol=1e-12)


def test_the_command_line_refuses_a_top_it_cannot_write(tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("worker,left,right,label\nw1,a,b,a\nw2,b,c,c\n")
    for args, message in ((["bundled:act_ms", "--top", "0"], "argument --top: expected a whole number of at least 1, not 0"),
                          ([str(pairs), "--top", "2"], "--top is for categorical data; this input is pairwise")):
        run = subprocess.run([sys.executable, "-m", "galton", "aggregate", *args, "-o", "-"],
                             capture_output=True, text=True)
        assert run.returncode == 2 and message in run.stderr
