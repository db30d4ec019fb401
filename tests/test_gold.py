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


def test_metrics_find_gold_labels_of_another_type_as_the_models_do(tmp_path):
    """get_accuracy and accuracy_on_aggregates compared gold labels as given with the judgments'
    labels read typed: a CSV's true / false (booleans) against a gold CSV's text "true" / "false",
    0.5 against text "0.5", 0 against 0.0 in a gold CSV or "0" in JSON lines, and in pandas int labels
    against text gold, text labels against int gold, booleans against "True": 0.0 each, where the
    models (GoldMajorityVote's skills, encode_gold) and --gold find them. Now the hand count: 0.75."""
    boolean = _csv(tmp_path / "b.csv", [str(bool(v)).lower() for v in LABELS])
    (tmp_path / "gb.csv").write_text("task,label\n" + "".join(f"{t},{str(bool(g)).lower()}\n"
                                                            for t, g in enumerate(GOLD, 1)))
    halves = _csv(tmp_path / "f.csv", [0.5 + v for v in LABELS])
    (tmp_path / "gf.csv").write_text("task,label\n" + "".join(f"{t},{0.5 + g}\n" for t, g in enumerate(GOLD, 1)))
    ints = _csv(tmp_path / "i.csv", LABELS)
    (tmp_path / "gi.csv").write_text("task,label\n" + "".join(f"{t},{float(g)}\n" for t, g in enumerate(GOLD, 1)))
    (tmp_path / "gi.jsonl").write_text("".join(json.dumps({"task": t, "label": str(g)}) + "\n"
                                               for t, g in enumerate(GOLD, 1)))
    series = pd.Series(GOLD, index=[1, 2, 3, 4])
    cases = [(boolean, str(tmp_path / "gb.csv")), (halves, str(tmp_path / "gf.csv")),
             (ints, str(tmp_path / "gi.csv")), (ints, str(tmp_path / "gi.jsonl")),
             (FRAME, series.astype(str)), (FRAME.assign(label=FRAME.label.astype(str)), series),
             (FRAME.assign(label=FRAME.label.astype(bool)), series.map({0: "False", 1: "True"}))]
    for data, gold in cases:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "column 'label' holds non-integer numbers")  # 0.5, 1.5 as classes
            skills = galton.GoldMajorityVote().fit(data, gold).skills_
        if not isinstance(skills, pd.Series):  # a file's results: a polars frame (worker, skill)
            skills = skills.to_pandas().set_index("worker")["skill"]
        assert skills.to_dict() == HAND, (data, gold)
        assert _both_metrics(data, gold) == [0.75, 0.75], (data, gold)
        by_worker = get_accuracy(data, gold, by="worker")
        if isinstance(by_worker, pd.Series):
            assert by_worker.to_dict() == HAND


@pytest.mark.parametrize("gold", [
    pd.Series(["no", "yes", "yes", pd.NA], index=[1, 2, 3, 4], dtype="string"),
    pd.Series(["no", "yes", "yes", None], index=[1, 2, 3, 4], dtype="string[pyarrow]"),
    pd.Series(["no", "yes", "yes", "no"], index=pd.Index(["1", "2", "3", pd.NA], dtype="string")),
    {1: "no", 2: "yes", 3: "yes", 4: pd.NA},
], ids=["string", "string[pyarrow]", "string index", "dict"])
def test_gold_with_a_pandas_missing_value_skips_that_row(gold):
    """A nullable pandas gold (string, string[pyarrow], a string task index, a dict value pd.NA) with
    a missing cell raised "TypeError: boolean value of NA is ambiguous"; read_gold's rule is that a
    row with a missing task or label is skipped (with a warning that counts it): the same as gold
    without that row."""
    words = FRAME.assign(label=FRAME.label.map({0: "no", 1: "yes"}), task=FRAME.task.astype(str)
                         if isinstance(gold, pd.Series) and gold.index.dtype == "string" else FRAME.task)
    kept = {k: v for k, v in (gold.items() if isinstance(gold, pd.Series) else gold.items())
            if not pd.isna(k) and not pd.isna(v)}
    three = pd.Series(list(kept.values()), index=list(kept.keys()), dtype=object)
    want = galton.GoldMajorityVote().fit(words, three).skills_.to_dict()
    assert want == {"a": 2 / 3, "b": 1.0, "c": 1 / 3}  # by hand, on tasks 1-3
    with pytest.warns(UserWarning, match=r": 1 of 4 rows has an empty task or label \(row 3"):
        assert galton.GoldMajorityVote().fit(words, gold).skills_.to_dict() == want
        assert galton.DawidSkene().fit(words, gold).labels_.loc[list(kept)].tolist() == list(kept.values())
        assert get_accuracy(words, gold) == get_accuracy(words, three) == 6 / 9
        bools = FRAME.assign(label=FRAME.label.astype(bool))
        flags = pd.Series([False, True, True, pd.NA], index=[1, 2, 3, 4], dtype="boolean")
        assert galton.GoldMajorityVote().fit(bools, flags).skills_.to_dict() == want


def test_bytes_from_a_binary_parquet_column_find_the_labels_and_ids_they_spell(tmp_path):
    """``pd.read_parquet`` of a binary column gives bytes; the reader holds such judgments as text,
    but gold, true labels and skills given as bytes were looked up as bytes and found nothing: the
    accuracy 0.0 (crowd-kit: 2/3), NaN with bytes task ids, a fit refusing "gold has 2 label(s) not in
    the judgments' label set ['x', 'y']" and skills "no value for 3 of 3 worker(s) ('a', 'b', 'c')".
    By hand: workers a and b match the gold on both tasks, c on neither: 4 of 6."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"task": pa.array([b"t0"] * 3 + [b"t1"] * 3, pa.binary()),
                             "worker": pa.array([b"a", b"b", b"c"] * 2, pa.binary()),
                             "label": pa.array([b"x", b"x", b"y", b"y", b"y", b"x"], pa.binary())}),
                   tmp_path / "j.parquet")
    df = pd.read_parquet(tmp_path / "j.parquet")
    assert isinstance(df.label[0], bytes) and isinstance(df.task[0], bytes)
    gold = pd.Series([b"x", b"y"], index=[b"t0", b"t1"])
    assert get_accuracy(df, gold) == accuracy_on_aggregates(df, aggregates=gold) == pytest.approx(4 / 6)
    assert get_accuracy(df, gold, by="worker").to_dict() == {"a": 1.0, "b": 1.0, "c": 0.0}
    assert galton.DawidSkene().fit(df, gold=gold).labels_.to_dict() == {"t0": "x", "t1": "y"}
    skills = pd.Series({b"a": 0.9, b"b": 0.6, b"c": 0.7})
    assert galton.MajorityVote().fit(df, skills).labels_.to_dict() == {"t0": "x", "t1": "y"}
    assert galton.metrics.consistency(df, workers_skills=skills) > 0.5
    # bytes that are no UTF-8 are no label of the judgments: task t0's three judgments miss it
    assert get_accuracy(df, pd.Series([b"\xff", b"y"], index=[b"t0", b"t1"])) == pytest.approx(2 / 6)


def test_python_gold_rows_without_a_label_are_counted_and_an_all_empty_gold_is_refused():
    """gold= with None / NaN labels dropped those rows silently, as --gold did; a gold whose every
    label is missing then said "gold shares no task with the judgments; it is ignored" (DawidSkene)
    or refused as sharing no task (GoldMajorityVote). Now a warning counts the rows skipped (the fit
    is the fit on the rows left), and gold with no label at all is refused for what it is."""
    half = pd.DataFrame({"task": [1, 2, 3, 4], "label": [0, np.nan, None, 0]})
    with pytest.warns(UserWarning, match=r"^gold: 2 of 4 rows have an empty task or label \(rows 1, 2; tasks 2, "
                                         r"3\); they are skipped: a row without a label gives its task no gold$"):
        skills = galton.GoldMajorityVote().fit(FRAME, half).skills_.to_dict()
    assert skills == {"a": 1.0, "b": 1.0, "c": 0.5}  # by hand on tasks 1 and 4 (gold 0, 0)
    with pytest.warns(UserWarning, match=r"^true_labels: 1 of 4 rows"):
        assert get_accuracy(FRAME, pd.Series([0, 1, 1, None], index=[1, 2, 3, 4])) == 6 / 9  # tasks 1-3
    empty = pd.Series([np.nan] * 4, index=[1, 2, 3, 4])
    for model in (galton.GoldMajorityVote(), galton.DawidSkene()):
        with pytest.raises(ValueError, match=r"^gold has 4 rows, all with an empty task or label \(rows 0, 1, 2, "
                                             r"3; tasks 1, 2, 3, 4\): no gold is left"):
            model.fit(FRAME, empty)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # gold without a missing cell: no warning
        assert galton.GoldMajorityVote().fit(FRAME, pd.Series(GOLD, index=[1, 2, 3, 4])).skills_.to_dict() == HAND
