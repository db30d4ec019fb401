"""``galton aggregate`` on multi-label judgments (each judgment the set of tags that apply): real
Parquet and CSV files through the command, compared with the Python API and hand counts."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import galton
from galton.cli import main

#: crowd-kit's documented toy example (its BinaryRelevance docs), plus a task whose judgments hold
#: no tag (an empty list and a missing set)
ROWS = [("t1", "w1", ["house", "tree"]), ("t1", "w2", ["house"]), ("t1", "w3", ["house", "tree", "grass"]),
        ("t2", "w1", ["car"]), ("t2", "w2", ["car", "human"]), ("t2", "w3", ["train"]),
        ("t3", "w1", []), ("t3", "w2", None)]


def run(argv: list[Any], capsys: Any) -> tuple[int, str, str]:
    rc = main(["aggregate", *[str(a) for a in argv]])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _parquet(path, rows=ROWS, label="label"):
    pq.write_table(pa.table({"task": [r[0] for r in rows], "worker": [r[1] for r in rows],
                             label: [r[2] for r in rows]}), path)
    return path


def _csv(path, rows=ROWS, sep="|"):
    with open(path, "w") as f:
        f.write("task,worker,label\n")
        for t, w, tags in rows:
            f.write(f"{t},{w},{sep.join(tags or [])}\n")
    return path


def test_a_list_label_column_is_multilabel_with_hand_counted_shares(tmp_path, capsys):
    src = _parquet(tmp_path / "tags.parquet")
    rc, out, err = run([src, "-m", "mv", "-o", tmp_path / "out.parquet"], capsys)
    assert rc == 0, err
    assert "kind        multilabel" in out and "tags        6" in out
    got = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [r["task"] for r in got] == ["t1", "t2", "t3"]
    assert [r["labels"] for r in got] == [["house", "tree"], ["car"], []]  # crowd-kit's documented result
    # majority vote per tag: the share of the task's judgments whose set holds the tag
    assert got[0]["p_tree"] == pytest.approx(2 / 3) and got[0]["p_grass"] == pytest.approx(1 / 3)
    assert got[1]["p_human"] == pytest.approx(1 / 3) and got[0]["p_house"] == 1.0
    assert all(got[2][f"p_{t}"] == 0.0 for t in ("car", "grass", "house", "human", "train", "tree"))


def test_a_fixed_size_list_column_is_multilabel_too(tmp_path, capsys):
    """Every Arrow list type the readers call list values is multi-label data (here lists of two)."""
    rows = [("t1", "w1", ["a", "b"]), ("t1", "w2", ["a", "c"]), ("t1", "w3", ["a", "b"])]
    pq.write_table(pa.table({"task": [r[0] for r in rows], "worker": [r[1] for r in rows],
                             "label": pa.array([r[2] for r in rows], type=pa.list_(pa.string(), 2))}),
                   tmp_path / "fixed.parquet")
    rc, out, err = run([tmp_path / "fixed.parquet", "-m", "mv", "-o", tmp_path / "out.parquet"], capsys)
    assert rc == 0 and "kind        multilabel" in out, err
    assert pq.read_table(tmp_path / "out.parquet").column("labels").to_pylist() == [["a", "b"]]


def test_csv_tags_joined_by_the_separator_give_the_parquet_result(tmp_path, capsys):
    rc, _, err = run([_parquet(tmp_path / "tags.parquet"), "-m", "mv", "-o", tmp_path / "a.parquet"], capsys)
    assert rc == 0, err
    for sep, name in (("|", "tags.csv"), (";", "semi.csv")):
        extra = [] if sep == "|" else ["--tag-sep", sep]
        rc, _, err = run([_csv(tmp_path / name, sep=sep), "--kind", "multilabel", "-m", "mv", *extra,
                          "-o", tmp_path / f"{name}.out.csv"], capsys)
        assert rc == 0, err
        text = pd.read_csv(tmp_path / f"{name}.out.csv", keep_default_na=False)
        ref = pq.read_table(tmp_path / "a.parquet").to_pandas()
        assert text["labels"].tolist() == [sep.join(s) for s in ref["labels"]]
        np.testing.assert_allclose(text.filter(like="p_").to_numpy(), ref.filter(like="p_").to_numpy(),
                                   rtol=1e-12)


def test_the_default_model_inside_equals_the_api(tmp_path, capsys):
    """No --model: galton's default inside BinaryRelevance, the same labels and probabilities as
    ``BinaryRelevance(<default>())`` in Python, on simulated tags of workers of mixed reliability."""
    rng = np.random.default_rng(5)
    tags = ["a", "b", "c", "d"]
    truth = {t: [x for x in tags if rng.random() < 0.4] for t in range(150)}
    skill = rng.uniform(0.6, 0.95, 20)
    rows = []
    for t, true in truth.items():
        for w in rng.choice(20, 5, replace=False):
            rows.append((t, int(w), [x for x in tags if (x in true) == (rng.random() < skill[w])]))
    src = _parquet(tmp_path / "sim.parquet", rows)
    rc, out, err = run([src, "-o", tmp_path / "out.parquet"], capsys)
    assert rc == 0, err
    got = pq.read_table(tmp_path / "out.parquet").to_pandas().set_index("task")
    frame = pd.DataFrame(rows, columns=["task", "worker", "label"])
    api = galton.BinaryRelevance(galton.aggregator.get(galton.aggregator.default_name())()).fit(frame)
    assert got["labels"].map(list).tolist() == api.labels_.reindex(got.index).tolist()
    for tag, sub in api.aggregators_.items():
        np.testing.assert_allclose(got[f"p_{tag}"].to_numpy(), sub.probas_[1].reindex(got.index).to_numpy(),
                                   rtol=1e-12)
    exact = np.mean([sorted(got.loc[t, "labels"]) == sorted(v) for t, v in truth.items()])
    assert exact > 0.6  # the crowd recovers most tag sets exactly (each worker alone: 0.6-0.95 per tag)


def test_multilabel_refusals_are_one_line_and_write_nothing(tmp_path, capsys):
    src = _parquet(tmp_path / "tags.parquet")
    cases = [(["--gold", src, "--use-gold"], "--use-gold is not available for multilabel"),
             (["-m", "bt"], "not a categorical model"),
             (["-o", tmp_path / "outdir"], "must be a file")]
    for extra, message in cases:
        rc, _, err = run([src, *extra], capsys)
        assert rc == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "outdir").exists()
    bad = _parquet(tmp_path / "bad.parquet", ROWS + [(None, "w9", ["car"])])
    rc, _, err = run([bad, "-m", "mv"], capsys)
    assert rc == 2 and "column 'task' has 1 null value" in err
    rc, out, err = run([bad, "-m", "mv", "--on-invalid", "drop"], capsys)
    assert rc == 0 and "judgments   8" in out
    # asked for categorical data, a list column is refused with the way to multi-label
    rc, _, err = run([src, "--kind", "categorical"], capsys)
    assert rc == 2 and "holds list values" in err and "--kind multilabel" in err


@pytest.mark.parametrize("kind", ["multilabel", "pairwise", "choice"])
def test_a_kind_that_does_not_fit_a_bundled_dataset_is_refused(kind, tmp_path, capsys):
    """bundled:NAME datasets are task, worker, label: another --kind was ignored (the output was
    categorical labels); now it is refused in one line and nothing is written. (--kind rating reads
    their labels as ratings, as from an exported file: tests/test_cli.py.)"""
    rc, _, err = run(["bundled:act_cf", "--kind", kind, "-o", tmp_path / "out.csv"], capsys)
    assert rc == 2 and f"--kind {kind} does not apply" in err and err.count("\n") == 1
    assert not (tmp_path / "out.csv").exists()


def test_tag_sep_on_other_data_is_refused(tmp_path, capsys):
    rc, _, err = run(["bundled:act_cf", "--tag-sep", ";"], capsys)
    assert rc == 2 and "--tag-sep is for multilabel data" in err and err.count("\n") == 1
    assert "--kind multilabel" not in err  # a bundled dataset is categorical: no advice it cannot take


def test_gold_tag_sets_score_exact_sets_and_tag_precision_recall(tmp_path, capsys):
    """--gold with tag sets: the share of gold tasks whose set is exactly right and the tags'
    precision / recall / F1, by hand on crowd-kit's toy (predicted t1 {house, tree}, t2 {car},
    t3 {}); gold in CSV with the separator; a task listed twice with two sets is refused before
    anything is written."""
    src = _parquet(tmp_path / "tags.parquet")
    gold = tmp_path / "gold.csv"
    gold.write_text("task,label\nt1,house|tree\nt2,car|human\nt3,\nt9,car\n")  # t9: no judgments
    rc, out, err = run([src, "-m", "mv", "--gold", gold], capsys)
    assert rc == 0, err
    # exact: t1 and t3 (2 of 3); tags: right house, tree, car (3), extra none (0), missed human (1)
    assert "accuracy    0.666667 (2/3 tasks with gold whose tag set is exactly right)" in out
    assert "precision 1.0000, recall 0.7500, F1 0.8571 (over the gold tasks' tags: 3 right, 0 extra, 1 missed)" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("task,label\nt1,house\nt1,tree\n")
    rc, _, err = run([src, "-m", "mv", "--gold", bad, "-o", tmp_path / "o.parquet"], capsys)
    assert rc == 2 and "gold lists 1 task(s) twice with different tag sets" in err
    other = tmp_path / "other.csv"
    other.write_text("task,label\nx1,car\n")
    rc, _, err = run([src, "-m", "mv", "--gold", other, "-o", tmp_path / "o.parquet"], capsys)
    assert rc == 2 and "gold shares no task with the judgments" in err
    assert not (tmp_path / "o.parquet").exists()


def test_a_tag_holding_the_separator_is_refused_for_text_output(tmp_path, capsys):
    """A Parquet tag "rock|pop" joined by "|" in CSV would read back as two tags: CSV, TSV and
    standard output are refused before the fit, naming the tag; Parquet output keeps the lists, and
    another --tag-sep joins unambiguously."""
    rows = [("t1", "w1", ["rock|pop", "jazz"]), ("t1", "w2", ["rock|pop"]), ("t1", "w3", ["jazz", "rock|pop"]),
            ("t2", "w1", ["jazz"]), ("t2", "w2", ["jazz"])]
    src = _parquet(tmp_path / "tags.parquet", rows)
    for out in (tmp_path / "out.csv", tmp_path / "out.tsv", "-"):
        rc, stdout, err = run([src, "-m", "mv", "-o", out], capsys)
        assert rc == 2 and err.count("\n") == 1, err
        assert "tag 'rock|pop' contains the tag separator '|'" in err
        assert "--tag-sep" in err and "Parquet" in err and stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tags.parquet"]
    rc, _, err = run([src, "-m", "mv", "-o", tmp_path / "out.parquet"], capsys)
    assert rc == 0, err
    assert pq.read_table(tmp_path / "out.parquet").column("labels").to_pylist() == [["jazz", "rock|pop"], ["jazz"]]
    rc, _, err = run([src, "-m", "mv", "--tag-sep", ";", "-o", tmp_path / "out.csv"], capsys)
    assert rc == 0, err
    assert pd.read_csv(tmp_path / "out.csv")["labels"].tolist() == ["jazz;rock|pop", "jazz"]


def test_rows_are_sorted_by_task_as_categorical_results_are(tmp_path, capsys):
    """Bug hunt: multi-label output kept the input's task order while categorical output is sorted
    by task; integer ids sort as numbers."""
    rows = [(30, "a", ["x"]), (30, "b", ["x"]), (4, "a", ["y"]), (4, "b", []), (100, "a", []), (100, "b", ["x"])]
    src = _parquet(tmp_path / "ids.parquet", rows)
    rc, _, err = run([src, "-m", "mv", "-o", tmp_path / "out.parquet"], capsys)
    assert rc == 0, err
    got = pq.read_table(tmp_path / "out.parquet")
    assert got.column("task").to_pylist() == [4, 30, 100] and got.column("labels").to_pylist() == [[], ["x"], []]
    assert got.column("p_x").to_pylist() == [0.0, 1.0, 0.5]


def test_gold_of_another_format_is_matched_in_the_judgments_types(tmp_path, capsys):
    """Bug hunt: --gold compared raw values, so integer tags [1, 2] in Parquet against a CSV gold
    "1|2" scored "accuracy 0.000000 (0/2 ...)" (text "1" is not 1), CSV tags against an integer
    Parquet gold too, and text task ids '1', '2' against a CSV gold (ids read as integers) said "gold
    shares no task". Gold task ids and tags are now matched in the judgments' types, as categorical
    gold is; gold sharing no tag with the judgments is refused instead of scoring 0."""
    ints = [("t1", "a", [1, 2]), ("t1", "b", [1, 2]), ("t2", "a", [3]), ("t2", "b", [3])]
    gold_csv = tmp_path / "gold.csv"
    gold_csv.write_text("task,label\nt1,1|2\nt2,3\n")
    gold_parquet = tmp_path / "gold.parquet"
    pq.write_table(pa.table({"task": ["t1", "t2"], "label": [[1, 2], [3]]}), gold_parquet)
    text_ids = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"task": ["1", "1", "2", "2"], "worker": ["a", "b"] * 2,
                             "label": [["x"], ["x"], ["y"], ["y"]]}), text_ids)
    (tmp_path / "gold_ids.csv").write_text("task,label\n1,x\n2,y\n")
    exact = "accuracy    1.000000 (2/2 tasks with gold whose tag set is exactly right)"
    for argv in ([_parquet(tmp_path / "ints.parquet", ints), "--gold", gold_csv],
                 [_csv(tmp_path / "ints.csv", [(t, w, [str(x) for x in s]) for t, w, s in ints]), "--kind",
                  "multilabel", "--gold", gold_parquet],
                 [text_ids, "--gold", tmp_path / "gold_ids.csv"]):
        rc, out, err = run([*argv, "-m", "mv"], capsys)
        assert rc == 0 and exact in out, (argv, out, err)
    other = tmp_path / "other.csv"
    other.write_text("task,label\nt1,a|b\nt2,c\n")
    rc, out, err = run([tmp_path / "ints.parquet", "-m", "mv", "--gold", other, "-o", tmp_path / "o.parquet"], capsys)
    assert rc == 2 and err.count("\n") == 1 and "gold shares no tag with the judgments (gold tags look like ['a', "\
        "'b', 'c'], the judgments' like [1, 2, 3])" in err
    assert not (tmp_path / "o.parquet").exists()



@pytest.mark.parametrize("unit", ["ns", "us"])
def test_gold_finds_timestamp_task_ids_of_any_unit(unit, tmp_path, capsys):
    """Bug hunt: pandas' datetime64[ns] task ids written to Parquet (timestamp[ns]) and --gold said
    "gold shares no task": numpy's ``.item()`` of a datetime64[ns] is an integer, and the gold's
    pd.Timestamp ids matched none. t1 right ({x}), t2 wrong (a tie on y: left out)."""
    ts = pd.to_datetime(["2024-01-01 10:00", "2024-01-01 11:00"]).as_unit(unit)
    pd.DataFrame({"task": ts[[0, 0, 1, 1]], "worker": ["a", "b", "a", "b"],
                  "label": [["x"], ["x", "y"], ["y"], []]}).to_parquet(tmp_path / "ts.parquet")
    pd.DataFrame({"task": ts.as_unit("us"), "label": [["x"], ["y"]]}).to_parquet(tmp_path / "gold.parquet")
    rc, out, err = run([tmp_path / "ts.parquet", "-m", "mv", "--gold", tmp_path / "gold.parquet"], capsys)
    assert rc == 0, err
    assert "accuracy    0.500000 (1/2 tasks with gold whose tag set is exactly right)" in out
    assert "(over the gold tasks' tags: 1 right, 0 extra, 1 missed)" in out

def test_csv_tags_are_kept_as_written(tmp_path, capsys):
    """Bug hunt: a CSV label column of one numeric-looking tag per cell was read as numbers, so "1.0"
    became the tag 1 and "1e3" the tag 1000 (p_1, p_1000), while a column holding "1.0|x" kept "1.0":
    a tag's identity hung on the other rows. --kind multilabel now reads the label column (and the
    gold's) as text, as ids are read."""
    src = tmp_path / "num.csv"
    src.write_text("task,worker,label\nt1,a,1.0\nt1,b,1.0\nt2,a,2.5\nt2,b,1e3\nt2,c,1e3\n")
    gold = tmp_path / "gold.csv"
    gold.write_text("task,label\nt1,1.0\nt2,1e3\n")
    rc, out, err = run([src, "--kind", "multilabel", "-m", "mv", "--gold", gold, "-o", tmp_path / "out.csv"], capsys)
    assert rc == 0, err
    got = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert got.columns.tolist() == ["task", "labels", "p_1.0", "p_1e3", "p_2.5"]
    assert got["labels"].tolist() == ["1.0", "1e3"]
    assert "accuracy    1.000000 (2/2" in out


def test_boolean_tags_are_written_as_files_write_booleans(tmp_path, capsys):
    """Bug hunt: boolean tags were written p_True / "True", where the categorical results (and the
    README) write a boolean label as p_true / true."""
    rows = [("t1", "a", [True]), ("t1", "b", [True, False]), ("t2", "a", [False]), ("t2", "b", [False])]
    src = _parquet(tmp_path / "bool.parquet", rows)
    rc, _, err = run([src, "-m", "mv", "-o", tmp_path / "out.csv"], capsys)
    assert rc == 0, err
    got = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert got.columns.tolist() == ["task", "labels", "p_false", "p_true"]
    assert got["labels"].tolist() == ["true", "false"]
    rc, _, err = run([src, "-m", "mv", "-o", tmp_path / "out.parquet"], capsys)
    assert pq.read_table(tmp_path / "out.parquet").column("labels").to_pylist() == [[True], [False]]


def test_nested_tags_gold_models_and_tag_sep_are_refused_with_what_to_do(tmp_path, capsys):
    """Bug hunt: a list or dict as a tag in JSON lines gave a bare "unhashable type: 'list'"; -m gold_mv
    gave Python advice ("fit(data, gold)"); --tag-sep on CSV without --kind multilabel said only "this
    input is categorical". Each is now one line saying what is wrong and what to do."""
    nested = tmp_path / "nested.jsonl"
    nested.write_text('{"task": "t1", "worker": "a", "tags": []}\n{"task": "t1", "worker": "b", "tags": [["x", "y"]]}\n'
                      '{"task": "t2", "worker": "a", "tags": [["z"], ["x"]]}\n')
    rc, _, err = run([nested, "-m", "mv", "--label-col", "tags"], capsys)
    assert rc == 2 and err.count("\n") == 1, err
    assert ("column 'tags': a label (tag) in a row's list must be one value (text, a number or a boolean); 2 row(s) "
            "hold a list or a dict as a label (row 1: ['x', 'y'], row 2: ['z'])") in err
    src = _csv(tmp_path / "tags.csv")
    rc, _, err = run([src, "--kind", "multilabel", "-m", "gold_mv", "--gold", tmp_path / "tags.csv"], capsys)
    assert rc == 2 and err.count("\n") == 1
    assert "model 'gold_mv' needs gold labels for its fit, and multilabel data takes none per tag" in err
    rc, _, err = run([src, "--tag-sep", ";"], capsys)
    assert rc == 2 and err.count("\n") == 1 and "--tag-sep is for multilabel data; this input is categorical; " \
        "for tags joined by a separator in a text label column, add --kind multilabel" in err


def test_blank_and_spaced_tags_follow_one_rule_in_every_format(tmp_path, capsys):
    """Bug hunt: a tag "" or " a" in a Parquet / JSON list was kept as written, while the same cell in CSV
    ("a|", " a") was stripped and its blank part dropped: one data set gave three tag sets by format, and
    "" could win a task and be written to CSV as "|a", which reads back as ["a"]. Every format now reads
    text tags as CSV does: no blank tag, no spaces around one."""
    rows = [("t1", "w1", ["a", ""]), ("t1", "w2", ["", "a"]), ("t1", "w3", [""]), ("t2", "w1", [" a"]),
            ("t2", "w2", ["a "]), ("t2", "w3", []), ("t3", "w1", ["b", " "]), ("t3", "w2", ["b"]), ("t3", "w3", ["a"])]
    src = {"parquet": _parquet(tmp_path / "t.parquet", rows), "csv": _csv(tmp_path / "t.csv", rows)}
    src["jsonl"] = tmp_path / "t.jsonl"
    src["jsonl"].write_text("".join(json.dumps({"task": t, "worker": w, "label": tags}) + "\n" for t, w, tags in rows))
    got = {}
    for fmt, path in src.items():
        rc, _, err = run([path, "--kind", "multilabel", "-m", "mv", "-o", tmp_path / f"{fmt}.out.csv"], capsys)
        assert rc == 0, err
        got[fmt] = (tmp_path / f"{fmt}.out.csv").read_text()
    # by hand: t1 holds a in 2 of 3 sets, "" is no tag; t2's " a" and "a " are a (2 of 3); t3: b in 2 of 3
    assert got["csv"] == "task,labels,p_a,p_b\nt1,a,{0},0.0\nt2,a,{0},0.0\nt3,b,{1},{0}\n".format(2 / 3, 1 / 3)
    assert got["parquet"] == got["csv"] == got["jsonl"]


def test_duplicates_for_multilabel_data(tmp_path, capsys):
    """Docs hunt: the warning of repeated (task, worker) rows said --duplicates, which multilabel data
    refused ("--duplicates is for categorical data"). Now it chooses the rows as in Python, once for
    every tag: first / last keep one row of each pair (the labels of the file without the other row),
    keep counts both quietly, raise refuses them; the default warns once."""
    src = tmp_path / "mdup.csv"
    src.write_text("task,worker,label\n1,a,x|y\n1,a,x\n1,b,y\n2,a,x\n2,b,x\n")
    ml = [src, "--kind", "multilabel"]
    rc, out, err = run([*ml, "-m", "mv", "--duplicates", "raise", "-o", tmp_path / "r.csv"], capsys)
    assert rc == 2 and "1 repeated (task, worker) pair(s) (rows 1)" in err and not (tmp_path / "r.csv").exists()
    for choice, kept in (("first", "1,a,x|y\n1,b,y\n"), ("last", "1,a,x\n1,b,y\n")):
        alone = tmp_path / f"{choice}.csv"
        alone.write_text("task,worker,label\n" + kept + "2,a,x\n2,b,x\n")
        rc, out, err = run([*ml, "-m", "ds", "--duplicates", choice, "-o", tmp_path / "r.csv"], capsys)
        assert rc == 0 and "warning" not in err, err
        assert "judgments   4\n" in out and "dropped     1 rows repeating a (task, worker) pair" in out
        rc, _, err = run([alone, "--kind", "multilabel", "-m", "ds", "-o", tmp_path / "want.csv"], capsys)
        assert rc == 0, err
        assert (tmp_path / "r.csv").read_text() == (tmp_path / "want.csv").read_text()
    # mv by hand: first 1 a:[x, y], b:[y] -> y (x ties, to no); last 1 a:[x], b:[y] -> none
    assert run([*ml, "-m", "mv", "--duplicates", "first", "-o", "-"], capsys)[1].splitlines()[1].startswith("1,y,")
    assert run([*ml, "-m", "mv", "--duplicates", "last", "-o", "-"], capsys)[1].splitlines()[1].startswith('1,"",')
    rc, out, err = run([*ml, "-m", "ds", "--duplicates", "keep"], capsys)
    assert rc == 0 and "warning" not in err and "judgments   5\n" in out
    rc, out, err = run([*ml, "-m", "ds"], capsys)
    assert rc == 0 and err.count("row(s) repeat a (task, worker) pair ((1, 'a'))") == 1, err


def test_tags_in_two_unicode_forms_are_warned_of(tmp_path, capsys):
    """Bug hunt: NFC and NFD 'café' gave two p_café columns that print alike, with no warning (the
    CLI strips spaces around tags, but not Unicode forms): the categorical labels' warning, for tags."""
    rows = [(1, "w1", ["caf\u00e9"]), (1, "w2", ["cafe\u0301"]), (1, "w3", ["tea"])]
    rc, _, err = run([_parquet(tmp_path / "nfc.parquet", rows), "-m", "mv", "-o", tmp_path / "o.parquet"], capsys)
    assert rc == 0
    assert ("galton: warning: column 'label' holds 1 tag(s) spelt in more than one Unicode form ('cafe\\u0301' "
            "and 'caf\\xe9')") in err
    assert [c for c in pq.read_table(tmp_path / "o.parquet").column_names if c.startswith("p_caf")] == [
        "p_cafe\u0301", "p_caf\u00e9"]  # still two tags, as written


def test_bytes_tags_are_decoded_as_text_as_categorical_labels_are(tmp_path, capsys):
    """Bug hunt: binary tags were written as Python reprs (header p_b'x', cells b'x'|b'y') where binary
    categorical labels are decoded as UTF-8 text; gold of text tags now finds them, and bytes that
    are not UTF-8 are refused naming the column."""
    src = tmp_path / "bin.parquet"
    pq.write_table(pa.table({"task": [1, 1, 1, 2], "worker": ["a", "b", "c", "a"],
                             "label": pa.array([[b"x", b"y"], [b"x"], [b"y", b"z"], [b"z"]], pa.list_(pa.binary()))}),
                   src)
    (tmp_path / "gold.csv").write_text("task,label\n1,x|y\n2,z\n")
    rc, out, err = run([src, "-m", "mv", "-o", "-", "--gold", tmp_path / "gold.csv"], capsys)
    assert rc == 0, err
    assert out.splitlines() == ["task,labels,p_x,p_y,p_z", "1,x|y,0.6666666666666666,0.6666666666666666,"
                                "0.3333333333333333", "2,z,0.0,0.0,1.0"]
    assert "accuracy    1.000000 (2/2 tasks with gold whose tag set is exactly right)" in err
    rc, _, _ = run([src, "-m", "mv", "-o", tmp_path / "o.parquet"], capsys)
    written = pq.read_table(tmp_path / "o.parquet")
    assert written.column("labels").to_pylist() == [["x", "y"], ["z"]]
    assert written.schema.field("labels").type == pa.list_(pa.string())
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"task": [1, 1], "worker": ["a", "b"], "label": pa.array([[b"\xff"], [b"x"]],
                                                                                  pa.list_(pa.binary()))}), bad)
    rc, _, err = run([bad, "-m", "mv", "-o", tmp_path / "b.parquet"], capsys)
    assert rc == 2 and "column 'label' holds 1 tag(s) that are bytes but not UTF-8 text (e.g. b'\\xff')" in err
    assert not (tmp_path / "b.parquet").exists()


def test_on_invalid_help_says_a_missing_tag_set_is_kept(tmp_path, capsys):
    """Bug hunt: --help said --on-invalid drop removes rows with a missing label; a missing tag set is
    no tag and its row is kept (README). t3's two judgments, one a missing set, both count."""
    assert main(["aggregate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "multilabel data: a missing tag set is no tag, a judgment kept either way" in text
    rows = ROWS + [(None, "w9", ["car"])]
    rc, out, err = run([_parquet(tmp_path / "t.parquet", rows), "-m", "mv", "--on-invalid", "drop"], capsys)
    assert rc == 0 and "judgments   8" in out and "tasks       3 (2 with at least one tag)" in out
