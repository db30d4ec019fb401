"""Tests for galton/judgments.py: every bad input gets a message that says what is wrong and what to
do; types survive the round trip; files of every supported format are read; arrays are read-only."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import galton

from galton.aggregator import BayesianDawidSkene, ConvergenceWarning, DawidSkene, OneCoinDawidSkene
from galton.judgments import Judgments, encode_gold

pytestmark = pytest.mark.filterwarnings("ignore::galton.aggregator.ConvergenceWarning")


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "task": [1, 1, 1, 2, 2, 3, 3, 3],
        "worker": ["a", "b", "c", "a", "b", "a", "b", "c"],
        "label": [0, 0, 1, 1, 1, 2, 2, 0],
    })


def _triples(j: Judgments) -> list:
    return sorted(zip(j.task_names[j.task].tolist(), j.worker_names[j.worker].tolist(),
                      j.label_names[j.label].tolist()))


# --------------------------------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------------------------------
def test_missing_column_names_it_and_the_present_ones():
    df = _frame().rename(columns={"worker": "annotator"})
    with pytest.raises(ValueError, match=r"missing column\(s\) \['worker'\]; the input has "
                                         r"\['task', 'annotator', 'label'\]") as exc:
        Judgments.from_any(df)
    assert "worker_col=" in str(exc.value)  # and says how to fix it
    # naming the column fixes it
    j = Judgments.from_any(df, worker_col="annotator")
    assert j.n_workers == 3


def test_missing_columns_are_all_listed():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['task', 'label'\]; the input has \['worker'\]"):
        Judgments.from_any({"worker": ["a", "b"]})


@pytest.mark.parametrize("column", ["task", "worker", "label"])
def test_nulls_are_counted_and_located(column):
    df = _frame().astype({column: object})
    df.loc[[2, 5], column] = None
    with pytest.raises(ValueError, match=rf"column '{column}' has 2 null value\(s\) \(rows 2, 5\); "
                                         r"drop those rows or pass on_invalid='drop'"):
        Judgments.from_any(df)


def test_nulls_in_several_columns_are_all_reported_at_once():
    """One run names every column to fix (it named the first only, so a user fixed one per run)."""
    df = _frame().astype({"worker": object, "label": float})
    df.loc[[1, 3], "worker"] = None
    df.loc[[3, 4], "label"] = np.nan
    with pytest.raises(ValueError) as info:
        Judgments.from_any(df)
    assert str(info.value) == ("column 'worker' has 2 null value(s) (rows 1, 3); column 'label' has 2 null "
                               "value(s) (rows 3, 4); 3 rows in all; drop those rows or pass "
                               "on_invalid='drop' (CLI: --on-invalid drop)")
    assert Judgments.from_any(df, on_invalid="drop").n_dropped == 3


def test_labels_and_a_header_with_spaces_at_the_ends_are_pointed_out():
    """A CSV written with spaces after its commas: ``"x "`` beside ``"x"`` is two classes, silently
    (a warning says so now); a header `` worker`` misses ``worker`` (the error says why)."""
    df = pd.DataFrame({"task": [1, 1, 2, 3], "worker": ["a", "b", "a", "b"], "label": ["x", "x ", " y", "z"]})
    with pytest.warns(UserWarning, match=r"column 'label' holds 2 label\(s\) with spaces at the ends \(' y', 'x '\); "
                                         r"'x' also occur\(s\) without them: each spelling is its own class"):
        j = Judgments.from_any(df)
    assert j.n_labels == 4  # kept as given: the warning does not change the data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Judgments.from_any(df.assign(label=["x", "x", "y", "z"]))  # clean labels: no warning
    with pytest.raises(ValueError, match=r"the input has \['task', ' worker', ' label'\]\. The input's column "
                                         r"name\(s\) \[' worker', ' label'\] have spaces at the ends"):
        Judgments.from_any(df.rename(columns={"worker": " worker", "label": " label"}))


def test_a_quoted_header_with_spaces_after_its_commas_is_pointed_out(tmp_path, capsys):
    """``"task", "worker", "label"``: a quote after a space is part of the name (`` "worker"``), so
    the hint about spaces after the commas did not see `` "worker"`` as ``worker``; it does now."""
    from galton.cli import main

    path = tmp_path / "spaced_quotes.csv"
    path.write_text('"task", "worker", "label"\n1, "a", "x"\n1, "b", "y"\n')
    expected = ("missing column(s) ['worker', 'label']; the input has ['task', ' \"worker\"', ' \"label\"']. The input's "
                "column name(s) [' \"worker\"', ' \"label\"'] have spaces before their quotes (a CSV header written as "
                "'\"task\", \"worker\"': a quote after a space is part of the name): remove the spaces after the "
                "commas, in the header and in every row")
    with pytest.raises(ValueError) as info:  # was "... Name the columns with task_col=, ..."
        Judgments.from_any(path)
    assert str(info.value) == expected
    for command in ("aggregate", "agreement"):  # agreement gave no hint at all, quoted or not
        assert main([command, str(path)]) == 2
        assert capsys.readouterr().err.strip() == f"galton: error: {expected}"
    path.write_text("task, worker, label\n1, a, x\n1, b, y\n")
    assert main(["agreement", str(path)]) == 2
    assert "[' worker', ' label'] have spaces at the ends" in capsys.readouterr().err
    path.write_text('"task","worker","label"\n1,a,x\n1,b,y\n')  # quoted without spaces: read
    assert Judgments.from_any(path).n_judgments == 2


def test_labels_that_differ_only_by_unicode_normalisation_are_pointed_out():
    """"caf\u00e9" (NFC) and "cafe\u0301" (NFD) print alike and split a vote silently (the CLI wrote two
    ``p_café`` columns): they stay two classes, and a warning names both by their escapes."""
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    df = pd.DataFrame({"task": [1, 1, 2, 3], "worker": ["a", "b", "a", "b"], "label": [nfc, nfd, nfc, "tea"]})
    with pytest.warns(UserWarning, match=r"column 'label' holds 1 label\(s\) spelt in more than one Unicode form "
                                         r"\('cafe\\u0301' and 'caf\\xe9'\): .* its own class; normalise .*"
                                         r"str\.normalize\('NFC'\)"):
        j = Judgments.from_any(df)
    assert j.n_labels == 3  # kept as given
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Judgments.from_any(df.assign(label=[nfc, nfc, nfc, "th\u00e9"]))  # one form each: no warning
        Judgments.from_any(df.assign(label=[nfd, nfd, "tea", "th\u00e9"]))


@pytest.mark.parametrize("hidden", ["cat\u200b", "\ufeffcat", "c\u200dat", "ca\u00adt"])
def test_labels_that_differ_only_by_invisible_characters_are_pointed_out(tmp_path, hidden):
    """A zero-width space, a byte-order mark inside a value, a zero-width joiner or a soft hyphen
    (Unicode category Cf) print as nothing: "cat\u200b" beside "cat" split a vote silently, while
    NFC / NFD twins were pointed out. They stay two classes, and a warning names both by their escapes."""
    df = pd.DataFrame({"task": [1, 1, 2, 3], "worker": ["a", "b", "a", "b"], "label": ["cat", hidden, "cat", "dog"]})
    pair = " and ".join(ascii(v) for v in sorted(["cat", hidden]))
    with pytest.warns(UserWarning, match=r"column 'label' holds 1 label\(s\) spelt with and without invisible "
                                         r"characters .*\(" + re.escape(pair) + r"\): they look alike but each "
                                         r"spelling is its own class; remove those characters"):
        j = Judgments.from_any(df)
    assert j.n_labels == 3  # kept as given
    path = tmp_path / "hidden.csv"
    df.to_csv(path, index=False)
    with pytest.warns(UserWarning, match="invisible characters"):
        galton.aggregate(str(path), "mv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Judgments.from_any(df.assign(label=[hidden, hidden, "dog", "dog"]))  # one spelling each: no warning
        Judgments.from_any(df.assign(label=["cat", "cat", "dog\u200b", "dog\u200b"]))


def test_labels_that_other_programs_write_for_a_missing_value_are_pointed_out(tmp_path, capsys):
    """R's write.csv writes a missing value as an unquoted NA: read as a label like any other (kept:
    NA may be a real label), a class of its own, and the numbers beside it text; a warning says so
    once, with the rows it holds. An empty cell is a null, refused as before."""
    from galton.cli import main

    path = tmp_path / "from_r.csv"
    path.write_text("task,worker,label\nt1,w1,NA\nt1,w2,1\nt2,w1,2\nt2,w2,NA\nt3,w1,1\nt3,w2,null\n")
    with pytest.warns(UserWarning) as record:
        j = Judgments.from_any(path)
    said = [str(w.message) for w in record if "missing value" in str(w.message)]
    assert said == ["column 'label' holds 'NA', 'null' in 3 row(s), as R's write.csv, Excel, pandas or SQL write a "
                    "missing value; galton reads each as a label like any other (a class of its own; the numeric "
                    "labels beside it are read as text too). If those labels are missing, remove the rows first "
                    "(pandas: df[~df[col].isin(['NA', 'null'])]) or leave their cells empty and pass on_invalid='drop' "
                    "(CLI: --on-invalid drop); if they are labels of your data, ignore this"]
    assert j.label_names.tolist() == ["1", "2", "NA", "null"]  # kept as given
    assert main(["aggregate", str(path), "-m", "mv", "-o", str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err
    assert err.count("as R's write.csv") == 1 and "pass --on-invalid drop" in err
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # labels that only look alike: no warning
        Judgments.from_any({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": ["na", "none", "Nancy"]})
    empty = tmp_path / "empty_cell.csv"
    empty.write_text("task,worker,label\nt1,w1,\nt1,w2,1\n")
    with pytest.raises(ValueError, match=r"column 'label' has 1 null value\(s\)"):
        Judgments.from_any(empty)


def test_nan_in_a_float_label_column_is_a_null():
    df = _frame().astype({"label": float})
    df.loc[4, "label"] = np.nan
    with pytest.raises(ValueError, match=r"column 'label' has 1 null value\(s\) \(rows 4\)"):
        Judgments.from_any(df)


def test_many_nulls_show_a_few_rows_only():
    df = pd.DataFrame({"task": list(range(20)), "worker": [None] * 20, "label": [0] * 20})
    with pytest.raises(ValueError, match=r"column 'worker' has 20 null value\(s\) \(rows 0, 1, 2, 3, 4, \.\.\.\)"):
        Judgments.from_any(df)


def test_on_invalid_drop_drops_and_reports():
    df = pl.DataFrame({
        "task": [1, 1, None, 2, 2, 3],
        "worker": ["a", "b", "a", None, "b", "a"],
        "label": [0, 1, 1, 1, None, 2],
    })
    j = Judgments.from_any(df, on_invalid="drop")
    assert j.n_dropped == 3
    assert j.n_judgments == 3
    assert j.task_names.tolist() == [1, 3]
    assert j.label_names.tolist() == [0, 1, 2]  # polars' nullable ints stay ints
    assert j.label_names.dtype.kind == "i"


def test_on_invalid_drop_gives_ints_back_only_to_columns_pandas_made_float():
    """pandas made task float by its NaN: an int again once dropped. Float labels without a null stay
    floats, and float ids from 2**63 on stay floats (cast to int64 they wrapped to one task)."""
    df = pd.DataFrame({"task": [1.0, 1.0, 2.0, np.nan], "worker": ["a", "b", "a", "b"], "label": [1.0, 0.0, 1.0, 1.0]})
    j = Judgments.from_any(df, on_invalid="drop")
    assert j.task_names.dtype.kind == "i" and j.label_names.dtype.kind == "f"
    big = pd.DataFrame({"task": [1e19, 1e19, 2e19, 3e19], "worker": ["a", "b", "a", None], "label": [1, 0, 1, 1]})
    j = Judgments.from_any(big, on_invalid="drop")
    assert j.task_names.tolist() == [1e19, 2e19] and j.n_tasks == 2


def test_on_invalid_drop_with_every_row_null():
    df = pd.DataFrame({"task": [1, 2], "worker": [None, None], "label": [0, 1]})
    with pytest.raises(ValueError, match="every row has a null value; nothing is left to aggregate"):
        Judgments.from_any(df, on_invalid="drop")


def test_unknown_policies_are_rejected():
    with pytest.raises(ValueError, match=r"on_invalid must be 'raise' or 'drop', not 'skip'"):
        Judgments.from_any(_frame(), on_invalid="skip")
    with pytest.raises(ValueError, match=r"duplicates must be one of 'keep', 'first', 'last', 'raise', not 'all'"):
        Judgments.from_any(_frame(), duplicates="all")


@pytest.mark.parametrize("make", [
    lambda: _frame().iloc[:0],
    lambda: pl.from_pandas(_frame()).head(0),
    lambda: pa.Table.from_pandas(_frame().iloc[:0], preserve_index=False),
    lambda: {"task": [], "worker": [], "label": []},
], ids=["pandas", "polars", "arrow", "dict"])
def test_empty_frame_gives_empty_results_in_its_own_kind(make):
    # an in-memory frame without rows (a pipeline's filter that kept nothing) gives empty results, as
    # crowd-kit does for pandas, whatever the frame type; only files and the CLI refuse (below)
    j = Judgments.from_any(make())
    assert (j.n_judgments, j.n_tasks, j.n_labels) == (0, 0, 0)
    data = make()
    m = DawidSkene().fit(data)
    if isinstance(data, pd.DataFrame):
        assert m.labels_.shape == (0,) and m.labels_.name == "agg_label" and m.probas_.shape == (0, 0)
        return
    labels, errors = m.labels_, m.errors_
    if isinstance(labels, pa.Table):
        labels, errors = pl.from_arrow(labels), pl.from_arrow(errors)
    # the ids keep the input's types; text stays text (not polars' Object or Arrow's null type), so
    # the results write to Parquet like any other fit's
    typed = not isinstance(data, dict)  # a dict of empty lists has no types: text
    assert isinstance(labels, pl.DataFrame) and labels.shape == (0, 2)
    assert labels.schema["task"] == labels.schema["label"] == (pl.Int64 if typed else pl.String)
    assert errors.schema["worker"] == pl.String and errors.schema["true_label"] == labels.schema["label"]


def test_mixed_label_types_in_a_pandas_object_column():
    df = _frame().astype({"label": object})
    df.loc[3, "label"] = "yes"
    with pytest.raises(ValueError, match=r"column 'label' mixes value types \(int, str\); convert it to one type "
                                         r"first, for example df\['label'\] = df\['label'\]\.astype\(str\)"):
        Judgments.from_any(df)


def test_mixed_types_in_a_dict_input():
    with pytest.raises(ValueError, match=r"column 'label' mixes value types \(int, str\)"):
        Judgments.from_any({"task": [1, 2], "worker": ["a", "b"], "label": [1, "x"]})


def test_a_frames_integer_column_names_are_read():
    """pd.DataFrame(rows) names its columns 0, 1, 2; fit(df, task_col=0, worker_col=1, label_col=2)
    said "missing column(s) [0, 1, 2]; the input has ['0', '1', '2']" (Arrow makes the names text;
    bug hunt). The frame's own names are read, and the fit keeps them for predict."""
    rows = [("t1", "w1", "cat"), ("t1", "w2", "dog"), ("t1", "w3", "cat"), ("t2", "w1", "dog"), ("t2", "w2", "dog"),
            ("t2", "w3", "cat")]
    named = pd.DataFrame(rows, columns=["task", "worker", "label"])
    df = pd.DataFrame(rows).assign(note="x")
    cols = dict(task_col=0, worker_col=1, label_col=2)
    j = Judgments.from_any(df, **cols)
    assert j.columns == (0, 1, 2) and _triples(j) == _triples(Judgments.from_any(named))
    fit = DawidSkene(n_iter=5).fit(df, **cols)
    pd.testing.assert_frame_equal(fit.probas_, DawidSkene(n_iter=5).fit(named).probas_)
    assert fit.predict(df).to_dict() == fit.labels_.to_dict()
    gold = pd.DataFrame({0: ["t1"], 2: ["dog"]})  # gold with the data's own column names
    assert DawidSkene(n_iter=5).fit(df, gold, **cols).labels_.to_dict() == {"t1": "dog", "t2": "dog"}
    assert _triples(Judgments.from_any({c: df[c].tolist() for c in (0, 1, 2)}, **cols)) == _triples(j)  # a dict
    grouped = df.copy()
    grouped[0] = [("g", 1) if t == "t1" else ("g", 2) for t in df[0]]  # tuple ids come back as tuples
    assert Judgments.from_any(grouped, **cols).task_names.tolist() == [("g", 1), ("g", 2)]
    with pytest.raises(ValueError, match=r"missing column\(s\) \[3\]; the input has \['0', '1', '2', 'note'\]"):
        Judgments.from_any(df, task_col=0, worker_col=1, label_col=3)


def test_text_beside_bytes_is_refused_as_mixed_types():
    """A column holding "x" and b"x" went to Arrow as binary and was decoded as one text: two labels
    merged into one, with no word (bug hunt); bytes alone are still read as their text."""
    df = pd.DataFrame({"task": ["t1", "t1", "t2", "t2"], "worker": list("abab"),
                       "label": pd.Series(["x", b"x", b"y", "x"], dtype=object)})
    with pytest.raises(ValueError, match=r"column 'label' mixes value types \(bytes, str\)"):
        Judgments.from_any(df)
    with pytest.raises(ValueError, match=r"column 'label' mixes value types \(bytes, str\)"):
        Judgments.from_any({c: df[c].tolist() for c in df.columns})
    only_bytes = df.assign(label=pd.Series([b"x", b"x", b"y", b"x"], dtype=object))
    assert Judgments.from_any(only_bytes).label_names.tolist() == ["x", "y"]


def test_a_dict_of_tuples_is_read_as_a_dict_of_lists():
    """Columns given as tuples (task, worker, label = zip(*rows)) went through numpy, which made
    workers 7 and "7" one text id "7" and labels True and 2 the integers 1 and 2, where the same
    lists are refused (bug hunt)."""
    rows = [("t1", 7, "yes"), ("t1", "7", "no"), ("t2", 7, "yes"), ("t2", "7", "no")]
    task, worker, label = zip(*rows)
    with pytest.raises(ValueError, match=r"column 'worker' mixes value types \(int, str\)"):
        Judgments.from_any({"task": task, "worker": worker, "label": label})
    with pytest.raises(ValueError, match=r"column 'label' mixes value types \(bool, int\)"):
        Judgments.from_any({"task": task, "worker": ("a", "b", "a", "b"), "label": (True, 2, 2, True)})
    j = Judgments.from_any({"task": task, "worker": tuple(map(str, worker)), "label": label})
    assert (j.n_tasks, j.n_workers, j.label_names.tolist()) == (2, 1, ["no", "yes"])


def test_a_frames_unused_columns_are_not_read():
    """Every column of a pandas frame was converted to Arrow: an unused comment column of numbers and
    text (as read_excel gives) refused the fit ("column 'comment' mixes value types"), so did two
    unused columns of one name, and an unused embedding column made a 100k-judgment MajorityVote 30
    times slower (bug hunt). crowd-kit reads data[["task", "worker", "label"]]; so does galton."""
    from galton.aggregator import MajorityVote
    from galton.pairwise import Choices, Comparisons

    df = _frame()
    odd = pd.concat([df, pd.DataFrame({"comment": [7 if i % 2 else "unclear" for i in range(len(df))],
                                       "obj": [{i} for i in range(len(df))]}),
                     df[["task"]].rename(columns={"task": "x"}), df[["worker"]].rename(columns={"worker": "x"})],
                    axis=1)
    want, got = Judgments.from_any(df), Judgments.from_any(odd)
    for name in ("task", "worker", "label", "task_names", "worker_names", "label_names"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    assert got.source_kind == "pandas"
    pd.testing.assert_frame_equal(DawidSkene(n_iter=5).fit(odd).probas_, DawidSkene(n_iter=5).fit(df).probas_)
    if hasattr(pl, "Int128"):  # (not in polars 1.14, the declared minimum)
        big = pl.from_pandas(df).with_columns(big=pl.Series([1] * len(df), dtype=pl.Int128))  # Arrow has no Int128
        assert MajorityVote().fit(big).labels_.equals(MajorityVote().fit(pl.from_pandas(df)).labels_)
        assert MajorityVote().fit(big.lazy()).labels_.equals(MajorityVote().fit(pl.from_pandas(df)).labels_)
    # the errors still name the input's columns, and a used column of mixed types or repeated is refused
    with pytest.raises(ValueError, match=r"missing column\(s\) \['label'\]; the input has "
                                         r"\['task', 'worker', 'comment', 'obj', 'x'\]"):
        Judgments.from_any(odd.drop(columns="label"))
    with pytest.raises(ValueError, match=r"column 'label' mixes value types \(int, str\)"):
        Judgments.from_any(odd.assign(label=odd["comment"]))
    for name in ("label", "task"):  # a repeated task column raised AttributeError 'dtype' before
        with pytest.raises(ValueError, match=rf"two columns named '{name}'"):
            Judgments.from_any(pd.concat([odd, df[[name]]], axis=1))
    pairs = pd.DataFrame({"worker": ["a", "b", "a"], "left": ["x", "y", "x"], "right": ["y", "z", "z"],
                          "label": ["x", "y", "z"], "comment": [1, "ok", 2.5]})
    plain = pairs.drop(columns="comment")
    assert Comparisons.from_any(pairs).n_comparisons == Comparisons.from_any(plain).n_comparisons
    no_worker = Comparisons.from_any(pairs.drop(columns="worker"))  # the worker column may be absent
    assert no_worker.n_workers == 1
    choices = pd.DataFrame({"worker": ["w", "v"], "options": [["a", "b"], ["a", "b", "c"]], "choice": ["a", "c"],
                            "comment": [1, "x"]})
    assert Choices.from_any(choices).n_events == Choices.from_any(choices.drop(columns="comment")).n_events
    with pytest.raises(ValueError, match=r"missing column\(s\) \['choice'\]; the input has \['worker', 'options', "
                                         r"'comment'\]"):
        Choices.from_any(choices.drop(columns="choice"))


def test_unsupported_input_type():
    with pytest.raises(TypeError, match="cannot read judgments from a list"):
        Judgments.from_any([(1, "a", 0)])


@pytest.mark.parametrize("column", [pd.Series([0, 1], name="label"), pl.Series("label", [0, 1]), pa.array([0, 1]),
                                    np.array([0, 1])])
def test_one_column_instead_of_a_frame_is_a_clear_type_error(column):
    """``fit(df["label"])`` raised pandas' AttributeError ('Series' object has no attribute
    'columns') from deep inside, for the models and the metrics alike (bug hunt)."""
    from galton.metrics import alpha_krippendorff

    for call in (DawidSkene().fit, alpha_krippendorff, Judgments.from_any):
        with pytest.raises(TypeError, match=r"cannot read a table from one column \(a \w+\); pass the whole frame"):
            call(column)


def test_gold_labels_outside_the_label_set():
    j = Judgments.from_any(_frame())
    with pytest.raises(ValueError, match=r"gold has 2 label\(s\) not in the judgments' label set \[0, 1, 2\] "
                                         r"\(tasks 2, 3: 5, 7\); fix those labels or pass labels=\[\.\.\.\]"):
        encode_gold(pd.Series({1: 0, 2: 5, 3: 7}), j)
    # gold of a task without judgments is ignored, whatever its label (it raised when outside the set)
    codes = encode_gold(pd.Series({1: 2, 99: 5}), j)
    assert codes[j.task_index([1])[0]] == j.label_index([2])[0] and (codes >= 0).sum() == 1
    with pytest.raises(ValueError, match=r"gold has 1 label\(s\) not in the judgments' label set"):
        DawidSkene().fit(_frame(), pd.Series({1: 9}))


def test_gold_with_missing_columns():
    with pytest.raises(ValueError, match=r"gold is missing column\(s\) \['label'\]; it has \['task', 'answer'\]"):
        encode_gold(pd.DataFrame({"task": [1], "answer": [0]}), Judgments.from_any(_frame()))


def test_gold_encoding_forms_agree():
    j = Judgments.from_any(_frame())
    want = [2, -1, 0]
    assert encode_gold(pd.Series({1: 2, 3: 0, 99: 1}), j).tolist() == want  # unknown task 99 ignored
    assert encode_gold({1: 2, 3: 0}, j).tolist() == want
    assert encode_gold(pl.DataFrame({"task": [3, 1], "label": [0, 2]}), j).tolist() == want


def test_full_label_set_and_labels_outside_it():
    j = Judgments.from_any(_frame(), labels=[0, 1, 2, 3])
    assert j.label_names.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"column 'label' holds label\(s\) \[2\] that are not in labels=\[0, 1\]"):
        Judgments.from_any(_frame(), labels=[0, 1])


def test_labels_match_the_declared_set_only_in_their_own_kind():
    """labels= matched the observed labels as gold is matched, reading text as numbers: labels "01"
    and "1" both became the label 1 of labels=[0, 1, 2] (two labels made one), integer labels came
    back as the text of labels=["0", "1", "2"] and booleans as the integers of labels=[0, 1] (bug
    hunt). Text, numbers, booleans and bytes now match only their own kind, and the error names the
    types; equal values of one kind still match (numpy ints, 1 and 1.0, np.str_), and new data for a
    fitted model is still read as gold is ("1" is the fitted label 1)."""
    df = pd.DataFrame({"task": ["t1"] * 3 + ["t2"] * 3, "worker": list("abcabc"),
                       "label": ["01", "1", "1", "01", "01", "1"]})
    with pytest.raises(ValueError, match=r"column 'label' holds label\(s\) \['01', '1'\] that are not in "
                                         r"labels=\[0, 1, 2\] \(the column holds str labels, labels= lists int: give "
                                         r"labels= as the column holds them\)"):
        Judgments.from_any(df, labels=[0, 1, 2])
    for given in (df.assign(label=[0, 1, 1, 0, 0, 1]), df.assign(label=[True, False, False, True, True, False])):
        declared = ["0", "1", "2"] if given.label.dtype != bool else [0, 1]
        kinds = "int labels, labels= lists str" if given.label.dtype != bool else "bool labels, labels= lists int"
        with pytest.raises(ValueError, match=rf"that are not in labels=.*\(the column holds {kinds}"):
            Judgments.from_any(given, labels=declared)
    ints = df.assign(label=[0, 1, 1, 0, 0, 1])
    for declared in ([0, 1, 2], np.arange(3), [np.int64(0), 1.0, 2]):
        assert Judgments.from_any(ints, labels=declared).label_names.tolist() == [0, 1, 2]
    assert Judgments.from_any(df, labels=np.array(["01", "1", "x"])).label_names.tolist() == ["01", "1", "x"]
    fit = DawidSkene(n_iter=5).fit(ints, labels=[0, 1, 2])
    assert fit.predict(ints.assign(label=ints.label.astype(str))).tolist() == fit.labels_.tolist()


# --------------------------------------------------------------------------------------------------
# duplicates
# --------------------------------------------------------------------------------------------------
def _dups() -> pd.DataFrame:
    # worker a answers task 1 three times (0, 1, 2) and task 2 once; worker b once each
    return pd.DataFrame({
        "task": [1, 1, 2, 1, 2, 1],
        "worker": ["a", "a", "a", "b", "b", "a"],
        "label": [0, 1, 1, 1, 0, 2],
    })


def _pairs(j: Judgments) -> list[tuple]:
    return sorted(zip(j.task_names[j.task].tolist(), j.worker_names[j.worker].tolist(),
                      j.label_names[j.label].tolist()))


def test_duplicates_keep_counts_every_vote():
    j = Judgments.from_any(_dups(), duplicates="keep")
    assert j.n_judgments == 6 and j.n_dropped == 0


def test_duplicates_first_and_last():
    first = Judgments.from_any(_dups(), duplicates="first")
    assert first.n_dropped == 2
    assert _pairs(first) == [(1, "a", 0), (1, "b", 1), (2, "a", 1), (2, "b", 0)]
    last = Judgments.from_any(_dups(), duplicates="last")
    assert last.n_dropped == 2
    assert _pairs(last) == [(1, "a", 2), (1, "b", 1), (2, "a", 1), (2, "b", 0)]


def test_duplicates_raise_names_rows():
    with pytest.raises(ValueError, match=r"2 repeated \(task, worker\) pair\(s\) \(rows 1, 5\); pass "
                                         r"duplicates='keep' to count them as separate votes, or 'first'/'last'"):
        Judgments.from_any(_dups(), duplicates="raise")


def test_duplicates_policy_changes_the_aggregate():
    keep = DawidSkene(n_iter=5).fit(_dups(), duplicates="keep").probas_
    first = DawidSkene(n_iter=5).fit(_dups(), duplicates="first").probas_
    # a label only in dropped rows is no class of "first" (a phantom column before)
    assert set(first.columns) < set(keep.columns) or not np.allclose(keep[first.columns].to_numpy(),
                                                                     first.to_numpy())


def test_a_fit_warns_of_repeated_pairs_nobody_chose_to_keep():
    """Repeated (task, worker) rows counted as separate votes without a word: one 55%-right worker's
    rows exported twice raised its reported skill from 0.52 (flagged uninformative) to 0.64. A fit
    given no ``duplicates=`` now says how many rows repeat a pair and names a few; a policy given
    (``keep`` too), data without repeats, and KOS (one edge per pair) say nothing."""
    with pytest.warns(UserWarning, match=r"2 row\(s\) repeat a \(task, worker\) pair \(\(1, 'a'\)\): each counts "
                                         r"as a judgment of its own .* duplicates='first' or 'last'"):
        DawidSkene(n_iter=5).fit(_dups())
    with pytest.warns(UserWarning, match="repeat a .task, worker. pair"):
        galton.aggregate(_dups(), "mv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # n_iter=5 on six rows
        for policy in ("keep", "first", "last"):
            DawidSkene(n_iter=5).fit(_dups(), duplicates=policy)
        DawidSkene(n_iter=5).fit(_dups().drop_duplicates(["task", "worker"]))
        galton.KOS().fit(_dups().assign(label=_dups().label % 2))


# --------------------------------------------------------------------------------------------------
# degenerate but valid data: finite probabilities
# --------------------------------------------------------------------------------------------------
MODELS = [DawidSkene, OneCoinDawidSkene, BayesianDawidSkene]


def _fit_quiet(cls, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls().fit(data)


@pytest.mark.parametrize("cls", MODELS)
def test_single_label_value(cls):
    df = _frame().assign(label=7)
    m = _fit_quiet(cls, df)
    p = m.probas_.to_numpy()
    assert p.shape == (3, 1) and np.isfinite(p).all()
    np.testing.assert_allclose(p, 1.0)
    assert m.labels_.tolist() == [7, 7, 7]
    assert np.isfinite(m.errors_.to_numpy()).all() and np.isfinite(m.history_).all()


@pytest.mark.parametrize("cls", MODELS)
def test_single_worker(cls):
    df = pd.DataFrame({"task": [1, 2, 3, 4], "worker": ["solo"] * 4, "label": ["x", "y", "x", "z"]})
    m = _fit_quiet(cls, df)
    p = m.probas_.to_numpy()
    assert np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1.0)
    assert m.labels_.tolist() == ["x", "y", "x", "z"]  # one honest voice: its answers
    assert np.isfinite(m.skills_.to_numpy()).all()


@pytest.mark.parametrize("cls", MODELS)
def test_tasks_with_one_judgment(cls):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "task": np.arange(40),  # every task answered once
        "worker": rng.choice(["a", "b", "c", "d"], 40),
        "label": rng.integers(0, 3, 40),
    })
    m = _fit_quiet(cls, df)
    p = m.probas_.to_numpy()
    assert np.isfinite(p).all() and not np.isnan(m.errors_.to_numpy()).any()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert np.isfinite(m.history_).all()


# --------------------------------------------------------------------------------------------------
# types survive
# --------------------------------------------------------------------------------------------------
LABELS = {
    "int": [3, 3, 5, 5, 5, 9, 9, 3],
    "str": ["cat", "cat", "dog", "dog", "dog", "eel", "eel", "cat"],
    "bool": [True, True, False, False, False, True, True, False],
}


def _as(kind: str, df: pd.DataFrame):
    if kind == "pandas":
        return df
    if kind == "polars":
        return pl.from_pandas(df)
    return pa.Table.from_pandas(df, preserve_index=False)


def _label_values(kind: str, labels):
    if kind == "pandas":
        return labels.tolist(), labels.dtype
    if kind == "polars":
        return labels["label"].to_list(), labels.schema["label"]
    return labels.column("label").to_pylist(), labels.schema.field("label").type


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow"])
@pytest.mark.parametrize("ltype", ["int", "str", "bool"])
def test_label_types_stay(kind, ltype):
    df = _frame().assign(label=LABELS[ltype])
    m = DawidSkene(n_iter=10).fit(_as(kind, df))
    values, dtype = _label_values(kind, m.labels_)
    py = {"int": int, "str": str, "bool": bool}[ltype]
    assert all(type(v) is py for v in values), (values, dtype)
    assert values == [LABELS[ltype][0], LABELS[ltype][3], LABELS[ltype][5]]  # the majority of each task
    if kind == "pandas":
        assert {"int": "i", "str": "O", "bool": "b"}[ltype] == m.labels_.dtype.kind or (
            ltype == "str" and pd.api.types.is_string_dtype(m.labels_.dtype))
        assert list(m.probas_.columns) == list(dict.fromkeys(LABELS[ltype]))  # crowd-kit: first appearance
    elif kind == "polars":
        assert dtype == {"int": pl.Int64, "str": pl.String, "bool": pl.Boolean}[ltype]
    else:
        assert dtype == {"int": pa.int64(), "str": pa.string(), "bool": pa.bool_()}[ltype]


def test_output_follows_the_input_kind():
    df = _frame()
    assert isinstance(DawidSkene(n_iter=3).fit(df).labels_, pd.Series)
    assert isinstance(DawidSkene(n_iter=3).fit(pl.from_pandas(df)).labels_, pl.DataFrame)
    assert isinstance(DawidSkene(n_iter=3).fit(pa.Table.from_pandas(df)).labels_, pa.Table)
    assert isinstance(DawidSkene(n_iter=3).fit(df, output="polars").labels_, pl.DataFrame)


def test_vocabularies_are_sorted_and_codes_map_back():
    df = pd.DataFrame({"task": ["t2", "t10", "t1"], "worker": [30, 4, 100], "label": [2.5, -1.0, 2.5]})
    j = Judgments.from_any(df)
    assert j.task_names.tolist() == ["t1", "t10", "t2"]  # strings lexicographically
    assert j.worker_names.tolist() == [4, 30, 100]  # numbers numerically
    assert j.label_names.tolist() == [-1.0, 2.5]
    assert j.task_names[j.task].tolist() == df["task"].tolist()
    assert j.worker_names[j.worker].tolist() == df["worker"].tolist()
    assert j.label_names[j.label].tolist() == df["label"].tolist()
    assert j.task.dtype == j.worker.dtype == j.label.dtype == np.int32


# --------------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------------
def _check_read(j: Judgments, df: pd.DataFrame) -> None:
    assert j.n_judgments == len(df)
    got = sorted(zip(j.task_names[j.task].tolist(), j.worker_names[j.worker].tolist(),
                     j.label_names[j.label].tolist()))
    assert got == sorted(zip(df["task"], df["worker"], df["label"]))


def test_read_csv(tmp_path):
    df = _frame()
    path = tmp_path / "judgments.csv"
    df.to_csv(path, index=False)
    j = Judgments.from_any(path)
    _check_read(j, df)
    assert j.label_names.dtype.kind == "i"
    assert Judgments.from_any(str(path)).n_judgments == len(df)  # str paths too


def test_read_tsv(tmp_path):
    df = _frame()
    path = tmp_path / "judgments.tsv"
    df.to_csv(path, index=False, sep="\t")
    _check_read(Judgments.from_any(path), df)


def test_read_parquet_file(tmp_path):
    df = _frame().assign(label=LABELS["str"])
    path = tmp_path / "judgments.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    j = Judgments.from_any(path)
    _check_read(j, df)
    assert j.source_kind == "polars"


def test_read_parquet_directory(tmp_path):
    df = _frame()
    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(pa.Table.from_pandas(df.iloc[:3], preserve_index=False), folder / "part-0.parquet")
    pq.write_table(pa.Table.from_pandas(df.iloc[3:], preserve_index=False), folder / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")
    _check_read(Judgments.from_any(folder), df)


def test_empty_parquet_directory(tmp_path):
    with pytest.raises(ValueError, match="holds no .parquet files"):
        Judgments.from_any(tmp_path)
    # a folder of text tables: the error names the file to read (a dataset folder: judgments and gold)
    _frame().to_csv(tmp_path / "votes.csv", index=False)
    with pytest.raises(ValueError, match=r"skipped\); name one of its files \(votes\.csv\) instead$"):
        Judgments.from_any(tmp_path)
    for name in ("judgments.csv", "gold.csv"):
        (tmp_path / name).write_text("task,label\n")
    with pytest.raises(ValueError) as info:
        Judgments.from_any(tmp_path)
    assert str(info.value).endswith(f"it looks like a dataset folder: read {str(tmp_path / 'judgments.csv')!r} "
                                    f"(its gold: {str(tmp_path / 'gold.csv')!r})")


def test_read_json_lines(tmp_path):
    df = _frame().assign(label=LABELS["bool"])
    path = tmp_path / "judgments.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in df.to_dict(orient="records")))
    j = Judgments.from_any(path)
    _check_read(j, df)
    assert j.label_names.dtype == bool


def test_json_lines_with_line_separators_inside_strings(tmp_path):
    """U+2028 / U+0085 inside a string are no line ends of JSON lines: with 20-digit ids (read from
    their text) a file splitting there raised JSONDecodeError on valid lines."""
    rows = [{"task": 12345678901234567890, "worker": "a", "label": 1, "note": "one\u2028two\x85three"},
            {"task": 12345678901234567890, "worker": "b", "label": 1, "note": ""},
            {"task": 5, "worker": "a", "label": 0, "note": ""}]
    path = tmp_path / "j.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    j = Judgments.from_any(path)
    assert j.n_judgments == 3 and j.task_names.tolist() == ["12345678901234567890", "5"]  # beyond int64: text


def test_fit_from_a_path(tmp_path):
    df = _frame()
    path = tmp_path / "judgments.csv"
    df.to_csv(path, index=False)
    a = DawidSkene(n_iter=10).fit(path).probas_
    b = DawidSkene(n_iter=10).fit(df).probas_
    np.testing.assert_allclose(a.drop("task").to_numpy(), b.to_numpy(), atol=1e-12)


def test_missing_path_and_unknown_extension(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Judgments.from_any(tmp_path / "nope.csv")
    odd = tmp_path / "judgments.xlsx"
    odd.write_text("x")
    with pytest.raises(ValueError, match="cannot tell the format of .*use .csv, .tsv, .parquet, .jsonl"):
        Judgments.from_any(odd)


# --------------------------------------------------------------------------------------------------
# read-only
# --------------------------------------------------------------------------------------------------
def test_arrays_are_read_only():
    j = Judgments.from_any(_frame())
    for name in ("task", "worker", "label", "task_names", "worker_names", "label_names"):
        arr = getattr(j, name)
        assert not arr.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = arr[1]


def test_input_is_not_mutated():
    df = _frame()
    before = df.copy()
    DawidSkene(n_iter=5).fit(df, pd.Series({1: 1}))
    pd.testing.assert_frame_equal(df, before)


def test_from_codes_is_read_only_and_checked():
    j = Judgments.from_codes(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1, 0, 1]))
    assert not j.label.flags.writeable
    with pytest.raises(ValueError, match=r"label codes must lie in \[0, 2\)"):
        Judgments.from_codes(np.array([0]), np.array([0]), np.array([5]), n_labels=2)


def test_pandas_int_labels_with_nulls_stay_ints_after_drop():
    """pandas turns an int column with a missing value into float64; after on_invalid='drop' the
    labels must come back as ints, not 0.0 / 1.0."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": [0, 1, None, 1]})
    assert df["label"].dtype == "float64"
    j = Judgments.from_any(df, on_invalid="drop")
    assert j.n_dropped == 1
    assert j.label_names.dtype.kind == "i" and j.label_names.tolist() == [0, 1]


def test_integer_ids_of_narrow_types_encode_across_their_whole_range() -> None:
    """The linear-time integer encoding works in intp: int16 ids -30000 and 30000 are 60000 apart,
    which an int16 difference would wrap around."""
    import pyarrow as pa

    table = pa.table({"task": pa.array([-30000, 30000, 0, 30000], pa.int16()),
                      "worker": pa.array([-128, 127, 0, 5], pa.int8()), "label": [1, 0, 1, 1]})
    j = Judgments.from_any(table)
    assert j.task_names.tolist() == [-30000, 0, 30000] and j.task.tolist() == [0, 2, 1, 2]
    assert j.worker_names.tolist() == [-128, 0, 5, 127] and j.worker.tolist() == [0, 3, 1, 2]


def test_one_column_for_two_roles_is_refused_by_name():
    """task_col and worker_col naming one column gave pyarrow's KeyError (bug hunt)."""
    df = pd.DataFrame({"task": ["t1", "t1", "t2"], "worker": ["a", "b", "a"], "label": ["x", "y", "x"]})
    with pytest.raises(ValueError, match=r"task_col, worker_col and label_col must name three columns, not "
                                         r"\['task', 'task', 'label'\]"):
        Judgments.from_any(df, task_col="task", worker_col="task")


@pytest.mark.parametrize("labels", [[], ["x", "y", None], "yes no", ["x", float("nan")]])
def test_a_bad_labels_option_is_named(labels):
    """labels=[] failed in a float cast, [..., None] in a sort, and a string was split into its
    characters (bug hunt): each is refused naming the option."""
    df = pd.DataFrame({"task": ["t1", "t1", "t2"], "worker": ["a", "b", "a"], "label": ["x", "y", "x"]})
    with pytest.raises(ValueError, match=r"labels= must list every label"):
        Judgments.from_any(df, labels=labels)
    assert Judgments.from_any(df, labels=["x", "y", "z"]).label_names.tolist() == ["x", "y", "z"]


def test_a_label_only_in_a_dropped_duplicate_is_no_class():
    """duplicates='first' dropped the repeated (t1, a) row but kept its label 'z' as a class (a
    probas_ column of zeros; bug hunt), unlike rows dropped by on_invalid='drop'."""
    df = pd.DataFrame({"task": ["t1", "t1", "t2", "t2", "t1"], "worker": ["a", "b", "a", "b", "a"],
                       "label": ["x", "x", "x", "y", "z"]})
    first = Judgments.from_any(df, duplicates="first")
    assert first.label_names.tolist() == ["x", "y"] and first.label_names[first.label].tolist() == ["x", "x", "x", "y"]
    last = Judgments.from_any(df, duplicates="last")
    assert last.label_names[last.label].tolist() == ["x", "x", "y", "z"]
    assert Judgments.from_any(df, duplicates="first", labels=["x", "y", "z"]).label_names.tolist() == ["x", "y", "z"]


@pytest.mark.parametrize("column", ["task", "label"])
def test_half_float_columns_are_read_as_their_values(column: str, tmp_path) -> None:
    # Arrow has no float16 kernels: -0.0's normalisation raised "Function 'add' has no kernel
    # matching input types (halffloat, halffloat)" from every model and from a Parquet file
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("xyxyxy"), "label": [0, 1, 1, 1, 2, 2]})
    half = df.astype({column: np.float16})
    want = DawidSkene().fit(df.astype({column: np.float32}))
    got = DawidSkene().fit(half)
    pd.testing.assert_frame_equal(got.probas_, want.probas_)
    path = tmp_path / "half.parquet"
    pq.write_table(pa.Table.from_pandas(half, preserve_index=False), path)
    assert Judgments.from_any(str(path)).n_judgments == 6
