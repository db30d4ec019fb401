"""``galton agreement INPUT``: Krippendorff's alpha from the command line, on real files, equal to the
Python API, with Krippendorff's own worked example; bad input fails in one line, exit 2."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from galton import datasets
from galton.cli import main
from galton.metrics import accuracy_on_aggregates, krippendorff

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders, 12 units, missing values
_CODERS = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def _example(path: Path) -> Path:
    rows = [(u + 1, w, v) for w, vals in _CODERS.items() for u, v in enumerate(vals) if v is not None]
    pl.DataFrame(rows, schema=["task", "worker", "label"], orient="row").write_csv(path)
    return path


def run(argv: list, capsys) -> tuple[int, dict[str, str], str]:
    rc = main(["agreement", *[str(a) for a in argv]])
    captured = capsys.readouterr()
    rows = {}
    for line in captured.out.splitlines():
        key, _, value = line.partition(" ")
        rows[key] = value.strip()
    return rc, rows, captured.err


@pytest.mark.parametrize("distance, published", [("nominal", "0.7434"), ("ordinal", "0.8154"),
                                                  ("interval", "0.8491"), ("ratio", "0.7974")])
def test_the_published_example_from_a_csv_file(tmp_path: Path, capsys, distance: str, published: str) -> None:
    # Krippendorff publishes 0.743, 0.815, 0.849 and 0.797; four decimals here
    rc, rows, err = run([_example(tmp_path / "k.csv"), "--distance", distance, "--bootstrap", "0"], capsys)
    assert rc == 0, err
    assert rows["alpha"] == published
    assert rows["tasks"].startswith("12 (11 with two or more")
    assert rows["judgments"].startswith("41 (40 on those tasks)")
    expected_reading = "reliable" if float(published) >= 0.8 else "tentative"
    assert rows["reading"].startswith(expected_reading)


def test_a_bundled_dataset_equals_the_python_api_with_its_interval(capsys) -> None:
    rc, rows, err = run(["bundled:zheng_d_product", "--bootstrap", "200", "--seed", "3"], capsys)
    assert rc == 0, err
    data = datasets.load("zheng_d_product", frame="polars").judgments
    ref = krippendorff(data, bootstrap=200, seed=3)
    interval = f"95% interval {ref.low:.4f} .. {ref.high:.4f}, 200 resamples of the tasks"
    assert rows["alpha"] == f"{ref.alpha:.4f} ({interval})"
    assert ref.low < ref.alpha < ref.high
    assert rows["majority"].startswith(f"{accuracy_on_aggregates(data):.4f}")
    assert rows["reading"].startswith("unreliable")  # product matching: alpha 0.16, heavily skewed classes


def test_text_numbers_are_ranked_as_numbers_for_the_ordinal_distance(tmp_path: Path, capsys) -> None:
    # as text "10" sorts before "9"; as numbers the ranks are 2 < 9 < 10, and alpha is computed on them
    path = tmp_path / "r.csv"
    path.write_text("task,worker,label\n1,a,2.0\n1,b,10\n2,a,9\n2,b,9\n3,a,10\n3,b,2.0\n4,a,2.0\n4,b,9\n")
    rc, rows, err = run([path, "--distance", "ordinal", "--bootstrap", "0"], capsys)
    assert rc == 0, err
    numbers = pl.DataFrame({"task": [1, 1, 2, 2, 3, 3, 4, 4], "worker": list("abababab"),
                            "label": [2.0, 10, 9, 9, 10, 2.0, 2.0, 9]})
    assert rows["alpha"] == f"{krippendorff(numbers, 'ordinal').alpha:.4f}"
    assert not err  # numbers given as values: no "treated as classes" warning


def test_text_labels_take_their_order_from_the_command_line(tmp_path: Path, capsys) -> None:
    """Found by a bug hunt: low / medium / high were ranked alphabetically (high < low < medium) for
    the ordinal distance, without a word; with --order they give the alpha of 0 / 1 / 2, without it
    the command refuses (and Python warns)."""
    (tmp_path / "t.csv").write_text("task,worker,label\n1,a,low\n1,b,medium\n2,a,high\n2,b,high\n3,a,medium\n"
                                    "3,b,medium\n4,a,low\n4,b,high\n5,a,low\n5,b,low\n")
    numbers = pl.DataFrame({"task": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5], "worker": list("ababababab"),
                            "label": [0, 1, 2, 2, 1, 1, 0, 2, 0, 0]})
    rc, rows, err = run([tmp_path / "t.csv", "--distance", "ordinal", "--order", "low,medium,high",
                         "--bootstrap", "0"], capsys)
    assert rc == 0, err
    want = krippendorff(numbers, "ordinal").alpha
    assert rows["alpha"] == f"{want:.4f}"
    with pytest.warns(UserWarning, match=r"ranks text labels in sorted order \('high', 'low', 'medium'\)"):
        alphabetical = krippendorff(tmp_path / "t.csv", "ordinal").alpha
    assert abs(alphabetical - want) > 0.05  # the order matters: a wrong one gives another alpha
    for extra, message in (([], "needs the order of the text labels (high, low, medium)"),
                           (["--order", "low,high"], "--order leaves out label(s) medium"),
                           (["--order", "low,low,high"], "must list each label once")):
        rc, _, err = run([tmp_path / "t.csv", "--distance", "ordinal", *extra], capsys)
        assert rc == 2 and message in err, err
    rc, _, err = run([tmp_path / "t.csv", "--order", "low,medium,high"], capsys)
    assert rc == 2 and "--order is for --distance ordinal, not nominal" in err


def test_bad_input_fails_in_one_line(tmp_path: Path, capsys) -> None:
    single = tmp_path / "single.csv"
    single.write_text("task,worker,label\n1,a,x\n2,a,y\n")
    rc, _, err = run([single], capsys)
    assert rc == 2 and "two or more judgments" in err and len(err.strip().splitlines()) == 1
    words = tmp_path / "words.csv"
    words.write_text("task,worker,label\n1,a,x\n1,b,y\n")
    rc, _, err = run([words, "--distance", "interval"], capsys)
    assert rc == 2 and "needs numeric labels" in err
    negative = tmp_path / "negative.csv"
    negative.write_text("task,worker,label\n1,a,-3\n1,b,3\n2,a,1\n2,b,1\n")
    rc, _, err = run([negative, "--distance", "ratio"], capsys)  # a ratio scale starts at 0; in the CLI's words
    assert rc == 2 and "1 label(s) are negative (-3) in 1 judgment(s). Use --distance interval" in err, err
    rc, _, err = run([words, "--label-col", "answer"], capsys)
    assert rc == 2 and "missing column(s) ['answer']" in err
    holes = tmp_path / "holes.csv"
    holes.write_text("task,worker,label\n1,a,x\n1,b,\n2,a,y\n2,b,y\n3,a,x\n3,b,y\n")
    rc, _, err = run([holes], capsys)
    assert rc == 2 and "null" in err
    rc, rows, err = run([holes, "--on-invalid", "drop", "--bootstrap", "0"], capsys)
    assert rc == 0 and rows["dropped"].startswith("1 rows")
    # after the drop: tasks 2 (y, y) and 3 (x, y) pairable; D_o = 2/4 per pair; n = (x 1, y 3):
    # D_e = (16 - 10) / (4 * 3) = 0.5, alpha = 1 - 0.5 / 0.5 = 0
    assert rows["alpha"] == "0.0000"


def test_sets_of_tags_by_masi_from_csv_and_parquet_by_hand(tmp_path: Path, capsys) -> None:
    # tasks: {x,y} vs {x} (MASI 1 - 1/2 * 2/3 = 2/3), {y} vs {y} (0), {} vs {z} (1): D_o = (2 * 2/3 + 2) / 6
    # = 5/9; the 15 pairs of the 6 values sum to 13 (hand count), D_e = 26 / 30; alpha = 1 - (5/9) / (13/15)
    csv = tmp_path / "tags.csv"
    csv.write_text("task,worker,label\n1,a,x|y\n1,b,x\n2,a,y\n2,b,y\n3,a,\n3,b,z\n")
    parquet = tmp_path / "tags.parquet"
    pl.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("ababab"),
                  "label": [["x", "y"], ["x"], ["y"], ["y"], [], ["z"]]}).write_parquet(parquet)
    for path in (csv, parquet):
        rc, rows, err = run([path, "--distance", "masi", "--bootstrap", "0"], capsys)
        assert rc == 0, err
        assert rows["alpha"] == f"{1 - (5 / 9) / (13 / 15):.4f}"
        assert rows["labels"] == "5 distinct sets of tags"
    semi = tmp_path / "semi.csv"
    semi.write_text("task,worker,label\n1,a,x;y\n1,b,x\n2,a,y\n2,b,y\n3,a,\n3,b,z\n")
    rc, rows, _ = run([semi, "--distance", "masi", "--tag-sep", ";", "--bootstrap", "0"], capsys)
    assert rc == 0 and rows["alpha"] == f"{1 - (5 / 9) / (13 / 15):.4f}"


def test_blank_and_spaced_tags_are_read_alike_from_csv_and_parquet(tmp_path: Path, capsys) -> None:
    """Bug hunt: a list's tags "" and " x" were tags of their own, a CSV cell's " x" too, while a CSV's
    blank part was dropped: alpha hung on the format (0.16 from Parquet, 0.03 from CSV for one data set).
    Text tags are now read by aggregate --kind multilabel's rule in every format; the sets below are
    those of the hand-counted test above."""
    csv = tmp_path / "tags.csv"
    csv.write_text('task,worker,label\n1,a," x|y "\n1,b,x|\n2,a,y\n2,b,|y\n3,a," "\n3,b,z\n')
    parquet = tmp_path / "tags.parquet"
    pl.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("ababab"),
                  "label": [[" x", "y "], ["x", ""], ["y"], ["", "y"], [" "], ["z"]]}).write_parquet(parquet)
    for path in (csv, parquet):
        rc, rows, err = run([path, "--distance", "masi", "--bootstrap", "0"], capsys)
        assert rc == 0, err
        assert rows["alpha"] == f"{1 - (5 / 9) / (13 / 15):.4f}" and rows["labels"] == "5 distinct sets of tags"


def test_the_null_error_suggests_the_option_not_python(tmp_path: Path, capsys) -> None:
    """On the command line a missing value is fixed with --on-invalid drop, not df.dropna()."""
    holes = tmp_path / "holes.csv"
    holes.write_text("task,worker,label\n1,a,x\n1,b,\n2,a,y\n2,b,y\n")
    for path in (holes, _parquet_copy(holes)):
        rc, _, err = run([path, "--bootstrap", "0"], capsys)
        assert rc == 2 and err.startswith("galton: error: column 'label' has 1 null value(s)")
        assert "drop those rows or pass --on-invalid drop" in err
        assert "dropna" not in err and "crowd-kit" not in err and err.count("\n") == 1


def _parquet_copy(csv: Path) -> Path:
    out = csv.with_suffix(".parquet")
    pl.read_csv(csv).write_parquet(out)
    return out


def test_one_column_for_two_roles_is_refused(tmp_path: Path, capsys) -> None:
    """--worker-col task would count the tasks as workers: refused before anything is read."""
    rc, _, err = run([_example(tmp_path / "k.csv"), "--worker-col", "task", "--bootstrap", "0"], capsys)
    assert rc == 2 and "--worker-col 'task' is also the task column; each of --task-col, --worker-col, " \
                       "--label-col must name its own column" in err
    rc, _, err = run([_example(tmp_path / "k.csv"), "--task-col", "label", "--bootstrap", "0"], capsys)
    assert rc == 2 and "--task-col 'label' is also the label column" in err


# Krippendorff's example with its values 1..5 as words, ranked low to high
_WORDS = ["one", "two", "three", "four", "five"]


def _example_table():
    import pyarrow as pa

    rows = [(u + 1, w, v) for w, vals in _CODERS.items() for u, v in enumerate(vals) if v is not None]
    return pa.table({"task": [r[0] for r in rows], "worker": [r[1] for r in rows], "label": [r[2] for r in rows]})


def test_label_columns_of_other_arrow_types_read_as_their_values(tmp_path: Path, capsys) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = _example_table()
    words = [_WORDS[v - 1] for v in t.column("label").to_pylist()]
    # an ordered categorical (pandas) keeps its order in Parquet: the ordinal distance takes it
    cat = pd.Categorical(words, categories=_WORDS, ordered=True)
    pq.write_table(pa.Table.from_pandas(t.to_pandas().assign(label=cat)), tmp_path / "cat.parquet")
    # numbers written as text, in a dictionary column ("10" must come after "9": ranked as numbers)
    text = t.set_column(2, "label", pa.array([str(v * 5) for v in t.column("label").to_pylist()]).dictionary_encode())
    pq.write_table(text, tmp_path / "numdict.parquet")
    for path in ("cat.parquet", "numdict.parquet"):
        rc, rows, err = run([tmp_path / path, "--distance", "ordinal", "--bootstrap", "0"], capsys)
        assert rc == 0 and rows["alpha"] == "0.8154", (path, err)  # the published ordinal alpha
    # an unordered dictionary of words is text: it needs --order, never alphabetical ranks
    pq.write_table(t.set_column(2, "label", pa.array(words).dictionary_encode()), tmp_path / "words.parquet")
    rc, rows, err = run([tmp_path / "words.parquet", "--distance", "ordinal", "--bootstrap", "0"], capsys)
    assert rc == 2 and "needs the order of the text labels" in err
    rc, rows, err = run([tmp_path / "words.parquet", "--distance", "ordinal", "--bootstrap", "0", "--order",
                         ",".join(_WORDS)], capsys)
    assert rc == 0 and rows["alpha"] == "0.8154", err


def test_tags_from_dictionary_columns_and_single_numbers(tmp_path: Path, capsys) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = _example_table()
    tags = pa.array([f"x|{v}" for v in t.column("label").to_pylist()])
    pq.write_table(t.set_column(2, "label", tags), tmp_path / "plain.parquet")
    pq.write_table(t.set_column(2, "label", tags.dictionary_encode()), tmp_path / "dict.parquet")
    got = [run([tmp_path / p, "--distance", "masi", "--bootstrap", "0"], capsys) for p in ("plain.parquet",
                                                                                          "dict.parquet")]
    assert got[0][0] == got[1][0] == 0 and got[0][1]["alpha"] == got[1][1]["alpha"]
    # one number per judgment is a set of one tag: MASI between single tags is the nominal distance
    rc, rows, err = run([_example(tmp_path / "k.csv"), "--distance", "masi", "--bootstrap", "0"], capsys)
    assert rc == 0 and rows["alpha"] == "0.7434", err


def test_the_majority_line_needs_no_tasks_by_labels_table(tmp_path: Path, capsys, monkeypatch) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    truth = rng.normal(0, 10, 2000).round(2)
    rows = [(t, w, truth[t] + rng.choice([0.0, 0.0, 0.01])) for t in range(2000) for w in range(3)]
    pl.DataFrame(rows, schema=["task", "worker", "label"], orient="row").write_csv(tmp_path / "m.csv")
    ref = accuracy_on_aggregates(pl.read_csv(tmp_path / "m.csv"))
    # a memory limit a majority-vote model's tasks x labels table (2,000 x ~2,500) would exceed
    monkeypatch.setenv("GALTON_MAX_MEMORY", "2MB")
    rc, rows, err = run([tmp_path / "m.csv", "--distance", "interval", "--bootstrap", "0"], capsys)
    assert rc == 0, err
    assert rows["majority"].startswith(f"{ref:.4f} (share")


def test_the_majority_line_counts_the_tasks_alpha_measures(tmp_path: Path, capsys) -> None:
    """Found by a bug hunt: the majority line counted tasks with one judgment, which agree with themselves:
    100 such tasks beside 10 whose two workers always disagree printed alpha -0.90 and majority 0.9167
    ((100 + 10) / 120). On the tasks with two or more judgments, the ones alpha measures, one judgment of
    each pair is its task's majority label (a tie): 0.5."""
    rows = [(f"solo{t}", "w1", "x") for t in range(100)]
    rows += [(f"pair{t}", w, label) for t in range(10) for w, label in (("w1", "x"), ("w2", "y"))]
    pl.DataFrame(rows, schema=["task", "worker", "label"], orient="row").write_csv(tmp_path / "s.csv")
    rc, out, err = run([tmp_path / "s.csv", "--bootstrap", "0"], capsys)
    assert rc == 0, err
    assert out["alpha"] == "-0.9000"  # 1 - 1 / (20 / 19): every pair disagrees, D_e = 2 * 10 * 10 / (20 * 19)
    assert out["majority"].startswith("0.5000 (share of the judgments of tasks with two or more")


def test_order_names_float_labels_as_numbers(tmp_path: Path, capsys) -> None:
    pl.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("ababab"),
                  "label": [1.0, 1.5, 2.0, 2.0, 1.0, 1.0]}).write_csv(tmp_path / "f.csv")
    by_order = run([tmp_path / "f.csv", "--distance", "ordinal", "--bootstrap", "0", "--order", "1,1.5,2"], capsys)
    plain = run([tmp_path / "f.csv", "--distance", "ordinal", "--bootstrap", "0"], capsys)
    assert by_order[0] == plain[0] == 0, by_order[2]
    assert by_order[1]["alpha"] == plain[1]["alpha"]


def test_majority_line_counts_a_repeated_judgment_once_as_accuracy_on_aggregates(tmp_path: Path, capsys) -> None:
    import numpy as np

    # worker 1 judged task 1 twice: accuracy_on_aggregates counts (task, worker, label) once: 0.75
    pl.DataFrame({"task": [1, 1, 1, 2, 2], "worker": [1, 1, 2, 1, 2], "label": ["a", "a", "b", "a", "a"]}
                 ).write_csv(tmp_path / "dup.csv")
    rc, rows, err = run([tmp_path / "dup.csv", "--bootstrap", "0"], capsys)
    assert rc == 0 and rows["majority"].startswith("0.7500"), err
    rng = np.random.default_rng(3)  # repeats and ties: the command's line is the metric's
    df = pl.DataFrame({"task": rng.integers(0, 60, 400), "worker": rng.integers(0, 8, 400),
                       "label": rng.integers(0, 4, 400)})
    df.write_csv(tmp_path / "r.csv")
    rc, rows, err = run([tmp_path / "r.csv", "--bootstrap", "0"], capsys)
    from galton import MajorityVote

    pairable = df.filter(pl.len().over("task") >= 2)  # the tasks alpha measures
    assert 0 < pairable.height < df.height
    ref = accuracy_on_aggregates(pairable, aggregator=MajorityVote())  # the fitted model, not the shortcut
    assert rc == 0 and rows["majority"].startswith(f"{ref:.4f}"), err


def test_row_groups_with_different_category_orders_need_an_order(tmp_path: Path, capsys) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def cat(idx, values):
        return pa.DictionaryArray.from_arrays(pa.array(idx, pa.int8()), pa.array(values), ordered=True)

    t1 = pa.table({"task": [1, 1, 2, 2], "worker": [1, 2, 1, 2], "label": cat([1, 1, 0, 0], ["mid", "high"])})
    t2 = pa.table({"task": [3, 3, 4, 4, 5, 5], "worker": [1, 2, 1, 2, 1, 2],
                   "label": cat([0, 2, 0, 0, 1, 2], ["low", "mid", "high"])})
    with pq.ParquetWriter(tmp_path / "rg.parquet", t1.schema) as w:  # one file, two dictionaries
        w.write_table(t1)
        w.write_table(t2)
    # unified, "low" came after "high" and ranked highest: alpha 0.70 for the true 0.33
    rc, _, err = run([tmp_path / "rg.parquet", "--distance", "ordinal", "--bootstrap", "0"], capsys)
    assert rc == 2 and "needs the order of the text labels" in err
    rc, rows, err = run([tmp_path / "rg.parquet", "--distance", "ordinal", "--bootstrap", "0", "--order",
                         "low,mid,high"], capsys)
    assert rc == 0 and rows["alpha"] == "0.3327", err


def test_a_folder_of_parquet_files_keeps_the_order_of_its_ordered_categorical(tmp_path: Path, capsys) -> None:
    """Found by a bug hunt: a folder (or pattern) of Parquet files written from an ordered pandas Categorical
    was read as plain text, and --distance ordinal asked for --order, which the help says such a column
    needs none of. Files that declare two orders are refused by name."""
    import pandas as pd

    order = ["low", "mid", "high"]
    words = ["low", "high", "mid", "mid", "low", "mid", "high", "high"]
    frame = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3, 4, 4], "worker": list("abababab"),
                          "label": pd.Categorical(words, categories=order, ordered=True)})
    (tmp_path / "pq").mkdir()
    frame.iloc[:4].to_parquet(tmp_path / "pq" / "a.parquet")
    frame.iloc[4:].to_parquet(tmp_path / "pq" / "b.parquet")
    want = krippendorff(frame.assign(label=[order.index(w) for w in words]), "ordinal").alpha
    for source in (tmp_path / "pq", tmp_path / "pq" / "*.parquet"):
        rc, rows, err = run([source, "--distance", "ordinal", "--bootstrap", "0"], capsys)
        assert rc == 0 and rows["alpha"] == f"{want:.4f}", err
    frame.iloc[4:].assign(label=pd.Categorical(words[4:], categories=order[::-1], ordered=True)).to_parquet(
        tmp_path / "pq" / "b.parquet")
    rc, _, err = run([tmp_path / "pq", "--distance", "ordinal", "--bootstrap", "0"], capsys)
    assert rc == 2 and "a.parquet' declares low < mid < high but" in err
    assert "b.parquet' declares high < mid < low" in err
    assert "--order" in err and len(err.strip().splitlines()) == 1
    rc, rows, err = run([tmp_path / "pq", "--distance", "ordinal", "--bootstrap", "0", "--order", "low,mid,high"],
                        capsys)
    assert rc == 0 and rows["alpha"] == f"{want:.4f}", err


def test_on_invalid_drop_drops_nan_labels_as_aggregate_does(tmp_path: Path, capsys) -> None:
    """Found by a bug hunt: --on-invalid drop removed Arrow nulls only, so a NaN in a float label
    column reached the metric, whose error asked for --on-invalid drop, the option already given."""
    nan = float("nan")
    pl.DataFrame({"task": [1, 1, 1, 2, 2, 3, 3], "worker": list("abcabab"),
                  "label": [1.0, nan, 2.0, 2.0, 2.0, 1.0, 2.0]}).write_parquet(tmp_path / "nan.parquet")
    rc, rows, err = run([tmp_path / "nan.parquet", "--on-invalid", "drop", "--bootstrap", "0"], capsys)
    assert rc == 0, err
    clean = pl.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("acabab"),
                          "label": [1.0, 2.0, 2.0, 2.0, 1.0, 2.0]})
    assert rows["alpha"] == f"{krippendorff(clean).alpha:.4f}"
    assert rows["dropped"] == "1 rows with missing values"
    assert rows["judgments"].startswith("6 ")


def test_on_invalid_drop_keeps_empty_tag_cells_as_the_empty_set(tmp_path: Path, capsys) -> None:
    """Found by a bug hunt: with --on-invalid drop, the empty cells of a tags column (no tag, the
    empty set, as the help says) were dropped as missing values and alpha changed (0.5714 for 0.4750).
    By hand (Jaccard): the units {x,y}|{}, {}|{}, {x}|{x}, {y}|{x,y} give D_o = (2 * 1 + 0 + 0 + 2 * 1/2) / 8
    = 0.375; the 8 values {x,y} 2, {} 3, {x} 2, {y} 1 give D_e = 40 / 56; alpha = 1 - 0.375 * 56 / 40."""
    path = tmp_path / "tags.csv"
    path.write_text("task,worker,label\n1,a,x|y\n1,b,\n2,a,\n2,b,\n3,a,x\n3,b,x\n4,a,y\n4,b,x|y\n5,,x\n")
    want = f"{1 - 0.375 * 56 / 40:.4f}"
    for distance in ("jaccard", "masi"):
        rc, rows, err = run([path, "--distance", distance, "--on-invalid", "drop", "--bootstrap", "0"], capsys)
        assert rc == 0, err
        assert rows["dropped"] == "1 rows with missing values"  # the row without a worker only
        assert rows["judgments"].startswith("8 ")
        if distance == "jaccard":
            assert rows["alpha"] == want


def test_messages_speak_the_command_line_and_no_variation_has_no_reading(tmp_path: Path, capsys, monkeypatch) -> None:
    """Found by a bug hunt: --tag-sep '' failed with Python's "empty separator"; the distance table's
    memory error named distance='nominal' and galton.aggregator.memory_limit; a single label printed
    "reliable (alpha >= 0.800)" beside the warning that alpha 1.0 only stands for no variation."""
    tags = tmp_path / "tags.csv"
    tags.write_text("task,worker,label\n1,a,x|y\n1,b,x\n2,a,y\n2,b,y\n")
    rc, _, err = run([tags, "--distance", "masi", "--tag-sep", ""], capsys)
    assert rc == 2 and "--tag-sep must be the character(s) between a judgment's tags, not empty" in err, err
    many = tmp_path / "many.csv"
    many.write_text("task,worker,label\n" + "".join(f"{t},{w},{1 + 7 * t + w}\n" for t in range(300) for w in (0, 1)))
    monkeypatch.setenv("GALTON_MAX_MEMORY", "1M")  # 600 values: a 2.7 MiB table of ratio distances
    rc, _, err = run([many, "--distance", "ratio", "--bootstrap", "0"], capsys)
    assert rc == 2 and "use --distance nominal, interval or ordinal, which need none" in err, err
    assert "raise the limit with --max-memory SIZE (or GALTON_MAX_MEMORY=SIZE in the environment)" in err
    rc, _, err = run([many, "--distance", "ratio", "--bootstrap", "0", "--max-memory", "512K"], capsys)
    assert rc == 2 and "over the limit of 512.0 KiB (--max-memory 512K)" in err, err  # the option wins
    monkeypatch.delenv("GALTON_MAX_MEMORY")
    rc, _, err = run([many, "--distance", "ratio", "--bootstrap", "0", "--max-memory", "2M"], capsys)
    assert rc == 2 and "(--max-memory 2M)" in err, err
    rc, rows, err = run([many, "--distance", "ratio", "--bootstrap", "0", "--max-memory", "8M"], capsys)
    assert rc == 0, err
    assert "distance='" not in err and "memory_limit" not in err
    same = tmp_path / "same.csv"
    same.write_text("task,worker,label\n1,a,x\n1,b,x\n2,a,x\n2,b,x\n")
    rc, rows, err = run([same, "--bootstrap", "0"], capsys)
    assert rc == 0 and rows["alpha"] == "1.0000" and "no variation" in err
    assert rows["reading"] == "none: every pairable judgment has the same label; there is no variation to measure"


def test_order_names_missing_integer_labels_and_reads_booleans_as_the_labels_are(tmp_path: Path, capsys) -> None:
    # integer labels: the message failed ("sequence item 0: expected str instance, float found")
    path = _example(tmp_path / "k.csv")
    rc, _, err = run([path, "--distance", "ordinal", "--bootstrap", "0", "--order", "1,2,3"], capsys)
    assert rc == 2 and "--order leaves out label(s) 4, 5; list every label" in err, err
    rc, rows, err = run([path, "--distance", "ordinal", "--bootstrap", "0", "--order", "1,2.0,3,4,5"], capsys)
    assert rc == 0 and rows["alpha"] == "0.8154", err  # Krippendorff's published ordinal alpha
    rc, _, err = run([path, "--distance", "ordinal", "--bootstrap", "0", "--order", "1,1.0,2,3,4,5"], capsys)
    assert rc == 2 and "must list each label once" in err
    # boolean labels (true / false in CSV): --order in the words of the file; it took only False,True
    coders = {w: [None if v is None else v >= 3 for v in vals] for w, vals in _CODERS.items()}
    rows_b = [(u + 1, w, v) for w, vals in coders.items() for u, v in enumerate(vals) if v is not None]
    pl.DataFrame(rows_b, schema=["task", "worker", "label"], orient="row").write_csv(tmp_path / "b.csv")
    assert "true" in (tmp_path / "b.csv").read_text()
    want = krippendorff(pl.DataFrame([(t, w, int(v)) for t, w, v in rows_b], schema=["task", "worker", "label"],
                                     orient="row"), "ordinal").alpha
    for order in ("false,true", "FALSE,1", "true,false", "False,True"):
        rc, rows, err = run([tmp_path / "b.csv", "--distance", "ordinal", "--bootstrap", "0", "--order", order], capsys)
        assert rc == 0 and rows["alpha"] == f"{want:.4f}", (order, err)
    for order, message in (("true", "--order leaves out label(s) false;"),
                           ("no,yes", "--order 'no,yes' must list true / false: the labels are booleans"),
                           ("true,1", "must list each label once")):
        rc, _, err = run([tmp_path / "b.csv", "--distance", "ordinal", "--bootstrap", "0", "--order", order], capsys)
        assert rc == 2 and message in err, (order, err)


def test_too_few_resamples_are_refused_as_galton_bench_refuses_them(tmp_path: Path, capsys) -> None:
    """--bootstrap 1 printed a "95% interval" of one draw that did not contain alpha (galton bench
    refuses fewer than 10); 0 (no interval) and 10 stay allowed."""
    from galton.benchmarks.study import load_study, with_options

    path = _example(tmp_path / "k.csv")
    for n in (1, 9):
        rc, _, err = run([path, "--bootstrap", n], capsys)
        assert rc == 2 and f"--bootstrap must be 0 (no interval) or at least 10 resamples (as galton bench requires), " \
            f"not {n}" in err, err
        with pytest.raises(ValueError, match="bootstrap = 9 must be >= 10" if n == 9 else "bootstrap = 1 must be"):
            with_options(load_study("default"), bootstrap=n)
    rc, rows, err = run([path, "--bootstrap", 10], capsys)
    assert rc == 0, err
    low, high = (float(x) for x in rows["alpha"].split("interval ")[1].split(",")[0].split(" .. "))
    assert rows["alpha"].startswith("0.7434") and low <= 0.7434 <= high
    rc, rows, err = run([path, "--bootstrap", 0], capsys)
    assert rc == 0 and rows["alpha"] == "0.7434", err


def _tag_lists(tmp_path: Path) -> tuple[Path, Path]:
    """90 judgments of two tags each, in a JSON-lines file, and the same rows reversed."""
    rng = np.random.default_rng(0)
    rows = [{"task": t, "worker": w, "label": sorted({str(x) for x in rng.choice(list("abcde"), size=2)})}
            for t in range(30) for w in range(3)]
    fwd, rev = tmp_path / "fwd.jsonl", tmp_path / "rev.jsonl"
    fwd.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rev.write_text("".join(json.dumps(r) + "\n" for r in rows[::-1]))
    return fwd, rev


def test_tag_lists_are_refused_for_ordered_distances(tmp_path: Path, capsys) -> None:
    """Found by a bug hunt: --distance ordinal on list labels gave 0.3592 for some rows and 0.3048 for
    the same rows reversed (sets ranked as first seen), without a word; interval and ratio answered in
    Python's words (distance='nominal') and steered to that ordinal case. A set of tags has no rank:
    refused, pointing at MASI; MASI itself does not depend on the row order."""
    fwd, rev = _tag_lists(tmp_path)
    for path in (fwd, rev):
        for distance in ("ordinal", "interval", "ratio"):
            rc, _, err = run([path, "--distance", distance, "--bootstrap", "0"], capsys)
            assert rc == 2, err
            assert f"--distance {distance} compares ordered values; column 'label' holds lists of tags in 90 row(s)" \
                   in err and "Use --distance masi or jaccard for sets of tags" in err, err
            assert "distance='" not in err
    for distance in ("masi", "nominal"):  # sets compared as sets, or equal or not: whatever the row order
        alphas = [run([path, "--distance", distance, "--bootstrap", "0"], capsys)[1]["alpha"] for path in (fwd, rev)]
        assert alphas[0] == alphas[1] != ""


def test_order_is_checked_against_the_distance_and_messages_speak_the_command_line(tmp_path: Path, capsys) -> None:
    """Found by a bug hunt: --order with list labels failed with "unhashable type: 'list'"; --distance masi
    --order p,q ignored --order (nominal refused it); interval on dates answered in Python's words
    (distance='nominal')."""
    fwd, _ = _tag_lists(tmp_path)
    rc, _, err = run([fwd, "--distance", "ordinal", "--order", "a,b", "--bootstrap", "0"], capsys)
    assert rc == 2 and "unhashable" not in err and "Use --distance masi or jaccard for sets of tags" in err, err
    for distance in ("masi", "jaccard", "nominal"):
        rc, _, err = run([fwd, "--distance", distance, "--order", "a,b"], capsys)
        assert rc == 2 and f"--order is for --distance ordinal, not {distance}" in err, err
    dates = tmp_path / "dates.parquet"
    pl.DataFrame({"task": [1, 1, 2, 2], "worker": list("abab"),
                  "label": [date(2020, 1, d) for d in (1, 2, 3, 3)]}).write_parquet(dates)
    rc, _, err = run([dates, "--distance", "interval"], capsys)
    assert rc == 2 and "Use --distance nominal for categories, or ordinal for ordered categories" in err, err
    assert "distance='" not in err


def test_no_interval_where_too_many_resamples_have_no_variation(tmp_path: Path, capsys) -> None:
    """Bug hunt: one disagreement in 20 tasks printed "95% interval -0.0541 .. 1.0000": the 383 of
    1,000 resamples that left that task out counted as alpha 1.0. Now they are counted in a warning,
    and there are too many of them for an interval."""
    path = tmp_path / "one.csv"
    lines = [f"{t},{w},{'b' if t == 19 and w == 1 else 'a'}" for t in range(20) for w in range(2)]
    path.write_text("task,worker,label\n" + "\n".join(lines) + "\n")
    rc, rows, err = run([path, "--seed", "0"], capsys)
    assert rc == 0, err
    assert rows["alpha"] == "0.0000 (no 95% interval: too many of the 1000 resamples of the tasks have no variation)"
    assert "338 of 1000 bootstrap resamples (33.8%) have no variation" in err  # (19/20)^20: 35.8% expected


def test_max_memory_guards_the_label_distance_table_and_its_help_says_so(tmp_path: Path, capsys) -> None:
    """--help said "fail early when the fit would need more memory than SIZE", and the guard is only
    on the table of distances between every two labels (ratio, jaccard, masi): 40 distinct labels
    take 40 * 40 * 8 = 12,800 bytes, over 10K; interval needs no table and runs under the same limit."""
    path = tmp_path / "j.csv"
    path.write_text("task,worker,label\n" + "".join(f"t{t},w{w},{t + w}\n" for t in range(20) for w in range(21)))
    rc = main(["agreement", str(path), "--distance", "ratio", "--bootstrap", "0", "--max-memory", "10K"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("galton: error: 40 distinct labels: the ratio distance's table of every two "
                                      "labels would take 12.5 KiB, over the limit of 10.0 KiB"), err
    rc, rows, _ = run([path, "--distance", "interval", "--bootstrap", "0", "--max-memory", "10K"], capsys)
    assert rc == 0 and rows["labels"] == "40"
    assert main(["agreement", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert ("--max-memory SIZE fail early when the table of distances between every two distinct labels that "
            "--distance ratio, jaccard or masi builds") in text
    assert "nothing else is guarded" in text and "when the fit would need" not in text


_REPEATS = "task,worker,label\n1,a,x\n1,a,x\n1,b,y\n2,a,y\n2,b,y\n3,a,x\n3,b,x\n3,b,y\n4,a,y\n4,b,x\n"


def test_repeated_pairs_are_counted_as_crowd_kit_does_with_a_warning(tmp_path: Path, capsys) -> None:
    # rows 1 and 7 repeat (1, a) and (3, b): each is a value of its own, as crowd-kit's alpha_krippendorff
    # counts it (nltk pairs every row); the command said nothing of them, unlike aggregate and allocate
    path = tmp_path / "dup.csv"
    path.write_text(_REPEATS)
    rc, rows, err = run([path, "--bootstrap", "0"], capsys)
    assert rc == 0, err
    assert rows["alpha"] == f"{krippendorff(path).alpha:.4f}"
    assert rows["judgments"].startswith("10 ")
    assert "warning: 2 row(s) repeat a (task, worker) pair ((1, 'a'), (3, 'b'))" in err
    assert "--duplicates first or last" in err
    rc, rows, err = run([path, "--bootstrap", "0", "--duplicates", "keep"], capsys)
    assert rc == 0 and not err and rows["judgments"].startswith("10 ")


@pytest.mark.parametrize("keep, label", [("first", "x"), ("last", "y")])
def test_duplicates_first_or_last_keeps_one_row_per_pair(tmp_path: Path, capsys, keep: str, label: str) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(_REPEATS)
    rc, rows, err = run([path, "--bootstrap", "0", "--duplicates", keep], capsys)
    assert rc == 0 and not err, err
    # (1, a) is x both times; (3, b) is x first, y last
    one = {"task": [1, 1, 2, 2, 3, 3, 4, 4], "worker": list("abababab"),
           "label": ["x", "y", "y", "y", "x", label, "y", "x"]}
    # by hand, first: pairs (x,y) (y,y) (x,x) (y,x): D_o = 4/8; n_x = n_y = 4: D_e = 2*4*4/(8*7) = 32/56
    expected = 1 - 0.5 / (32 / 56) if label == "x" else krippendorff(pl.DataFrame(one)).alpha
    assert expected == pytest.approx(krippendorff(pl.DataFrame(one)).alpha)
    assert rows["alpha"] == f"{expected:.4f}"
    assert rows["judgments"].startswith("8 (8 on those tasks)")
    assert rows["dropped"] == "2 rows repeating a (task, worker) pair"


def test_duplicates_raise_names_the_input_rows(tmp_path: Path, capsys) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(_REPEATS.replace("task,worker,label\n", "task,worker,label\n5,,x\n"))  # row 0 dropped
    rc, rows, err = run([path, "--bootstrap", "0", "--duplicates", "raise", "--on-invalid", "drop"], capsys)
    assert rc == 2
    assert "2 repeated (task, worker) pair(s) (rows 2, 8)" in err and "--duplicates first or last" in err
    rc, rows, err = run([path, "--bootstrap", "0", "--duplicates", "first", "--on-invalid", "drop"], capsys)
    assert rc == 0 and rows["dropped"] == "1 rows with missing values, 2 repeating a (task, worker) pair"


def test_tag_sep_without_a_set_distance_is_refused_as_order_is(tmp_path: Path, capsys) -> None:
    """Found by a CLI hunt: --tag-sep was ignored without a word unless the distance was jaccard or
    masi, while --order outside ordinal was refused; both are refused now."""
    path = tmp_path / "dup.csv"
    path.write_text(_REPEATS)
    for distance in ("nominal", "ordinal", "interval"):
        rc, _, err = run([path, "--distance", distance, "--tag-sep", ";", "--bootstrap", "0", "--duplicates", "first"],
                         capsys)
        said = f"--tag-sep is for --distance jaccard or masi (labels that are sets of tags), not {distance}"
        assert rc == 2 and said in err, err
    rc, rows, err = run([path, "--distance", "masi", "--tag-sep", ";", "--bootstrap", "0", "--duplicates", "first"],
                        capsys)
    assert rc == 0, err


def test_readme_example_prints_what_the_command_prints(capsys) -> None:
    """The README's `galton agreement bundled:zheng_d_product` showed the interval 0.1420 .. 0.1728 after
    the bootstrap's draws had changed it to 0.1397 .. 0.1743: its lines are the command's, as printed."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = text.index("$ galton agreement bundled:zheng_d_product\n")
    shown = text[start:text.index("```", start)].splitlines()[1:]
    assert main(["agreement", "bundled:zheng_d_product"]) == 0
    assert capsys.readouterr().out.splitlines() == shown


def test_interval_and_ratio_on_text_name_the_labels_that_are_no_numbers_and_their_rows(tmp_path: Path,
                                                                                      capsys) -> None:
    """--distance interval / ratio on text that does not read as numbers said only "column 'label' holds
    text that does not read as numbers": no count, no value, no row. Now as the rating models say it:
    the count of rows, the labels that are no numbers and the rows of the input (counted before
    --on-invalid drop and --duplicates drop any), with the distances that compare text."""
    path = tmp_path / "r.csv"
    path.write_text("task,worker,label\nt1,a,1\nt1,b,\nt1,c,3 stars\nt2,a,2\nt2,b,two\nt3,a,3 stars\nt3,a,4\n")
    for distance in ("interval", "ratio"):
        for extra in ([], ["--on-invalid", "drop", "--duplicates", "first"]):
            rc, _, err = run([path, "--distance", distance, *extra], capsys)
            assert rc == 2 and err.count("\n") == 1, err
            assert (f"--distance {distance} needs numeric labels; column 'label' holds non-numeric values in 3 "
                    "row(s) ('3 stars', 'two'; rows 2, 4, 5). Use --distance nominal") in err, err
    spaced = tmp_path / "spaced.csv"  # text numbers the rating models read (' 4' is 4): alpha of the numbers
    spaced.write_text('task,worker,label\nt1,a,1\nt1,b," 2"\nt2,a,3\nt2,b,3\nt3,a,1\nt3,b,1\n')
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("task,worker,label\nt1,a,1\nt1,b,2\nt2,a,3\nt2,b,3\nt3,a,1\nt3,b,1\n")
    rc, rows, err = run([spaced, "--distance", "interval", "--bootstrap", "0"], capsys)
    assert rc == 0, err
    assert rows["alpha"] == run([numbers, "--distance", "interval", "--bootstrap", "0"], capsys)[1]["alpha"]
