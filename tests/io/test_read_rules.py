"""The one reader's rules (issue 9), through the library API on real files: ids as written, hidden
paths skipped at every depth, Parquet directories checked file by file, pipes read once, and one
clean ValueError for each kind of odd input."""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
import threading
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from galton import Judgments
from galton.aggregator.ratings import MeanRating
from galton.io._read import input_files, read_input, to_arrow
from galton.judgments import encode_gold
from galton.pairwise import Comparisons

ROWS = [("t1", "a", 0), ("t1", "b", 1), ("t2", "a", 1), ("t2", "b", 1), ("t3", "a", 0)]


def _csv(path, rows, header="task,worker,label", sep=","):
    path.write_text(header + "\n" + "".join(sep.join(map(str, r)) + "\n" for r in rows))
    return path


def _triples(j: Judgments) -> list:
    return sorted(zip(j.task_names[j.task].tolist(), j.worker_names[j.worker].tolist(),
                      j.label_names[j.label].tolist()))


def _parquet_dir(root, parts=2):
    root.mkdir(exist_ok=True)
    table = pa.table({"task": [r[0] for r in ROWS], "worker": [r[1] for r in ROWS],
                      "label": [r[2] for r in ROWS]})
    for i in range(parts):
        pq.write_table(table.slice(i * 3, 3), root / f"part-{i}.parquet")
    return root


# --------------------------------------------------------------------------------------------------
# rule 1: canonical integers; ids as written
# --------------------------------------------------------------------------------------------------
def test_leading_zero_ids_stay_text(tmp_path):
    j = Judgments.from_any(_csv(tmp_path / "j.csv", [("007", "w", 1), ("7", "w", 0), ("7", "v", 0)]))
    assert j.n_tasks == 2
    assert sorted(j.task_names.tolist()) == ["007", "7"]


def test_one_and_one_point_zero_are_two_tasks(tmp_path):
    j = Judgments.from_any(_csv(tmp_path / "j.csv", [("1", "w", 1), ("1.0", "w", 0)]))
    assert sorted(j.task_names.tolist()) == ["1", "1.0"]


def test_canonical_integers_are_integers(tmp_path):
    j = Judgments.from_any(_csv(tmp_path / "j.csv", [(10, 3, 1), (-2, 3, 0), (0, 4, 1)]))
    assert j.task_names.dtype.kind == "i" and j.task_names.tolist() == [-2, 0, 10]
    assert j.worker_names.dtype.kind == "i" and j.label_names.dtype.kind == "i"


@pytest.mark.parametrize("odd", ["+5", "05", " 5", "5 ", "-0"])
def test_non_canonical_integer_keeps_the_column_as_text(tmp_path, odd):
    j = Judgments.from_any(_csv(tmp_path / "j.csv", [(odd, "w", 1), ("5", "w", 0)]))
    assert sorted(j.task_names.tolist()) == sorted([odd, "5"])


def test_ids_beyond_int64_stay_text(tmp_path):
    big = "99999999999999999999"
    j = Judgments.from_any(_csv(tmp_path / "j.csv", [(big, "w", 1), ("1", "w", 0)]))
    assert sorted(j.task_names.tolist()) == ["1", big]


def test_float_id_column_from_tsv_and_gzip_stays_text(tmp_path):
    tsv = _csv(tmp_path / "j.tsv", [("1.0", "w", 1), ("1.00", "w", 0)], "task\tworker\tlabel", "\t")
    assert sorted(Judgments.from_any(tsv).task_names.tolist()) == ["1.0", "1.00"]
    gz = tmp_path / "j.csv.gz"
    gz.write_bytes(gzip.compress(b"task,worker,label\n007,w,1\n7,w,0\n"))
    assert sorted(Judgments.from_any(gz).task_names.tolist()) == ["007", "7"]


def test_labels_one_and_one_point_zero_stay_two_classes(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        j = Judgments.from_any(_csv(tmp_path / "j.csv", [("a", "w", "1"), ("b", "w", "1.0")]))
    assert j.label_names.tolist() == ["1", "1.0"]


@pytest.mark.parametrize("layout", ["lines", "array", "columns"])
def test_json_numbers_beyond_int64_keep_every_id_as_written(tmp_path, layout):
    """A JSON reader made the whole task column float64 for one id beyond int64: ids lost digits
    (9007199254740993 became ...992, merging two tasks) or came back as 1.8446744073709552e+19
    (JSON lines), or the read failed with OverflowError (a JSON array). Now typed as CSV text is."""
    big, near = 18446744073709551617, 9007199254740993
    rows = [(near, "a", "x"), (near, "b", "x"), (near - 1, "a", "y"), (big, "a", "y")]
    dicts = [{"task": t, "worker": w, "label": v} for t, w, v in rows]
    path = tmp_path / ("j.jsonl" if layout == "lines" else "j.json")
    if layout == "lines":
        path.write_text("".join(json.dumps(d) + "\n" for d in dicts))
    elif layout == "array":
        path.write_text(json.dumps(dicts))
    else:
        path.write_text(json.dumps({k: [d[k] for d in dicts] for k in ("task", "worker", "label")}))
    j = Judgments.from_any(path)
    assert sorted(j.task_names.tolist()) == sorted({str(near), str(near - 1), str(big)})
    # numbers that fit stay numbers; a label column of whole numbers beyond 2**53 keeps its digits
    other = tmp_path / "k.json"
    other.write_text(json.dumps({"task": [1, 2], "worker": ["a", "b"], "label": [near, 0.5]}))
    table = read_input(other)
    assert table.column("task").type == pa.int64()
    assert table.column("label").to_pylist() == [str(near), "0.5"]


def test_one_json_line_beyond_int64_keeps_its_id(tmp_path):
    """A JSON-lines file of one row parsed as one object, read as a column of characters: an Arrow
    length error (the review of the re-read above)."""
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"task": 18446744073709551617, "worker": "a", "label": "x"}) + "\n")
    assert read_input(path).column("task").to_pylist() == ["18446744073709551617"]


def test_gold_csv_follows_the_same_rule(tmp_path):
    j = Judgments.from_any(_csv(tmp_path / "j.csv", [("007", "w", 1), ("7", "w", 0)]))
    gold = _csv(tmp_path / "g.csv", [("007", 0), ("7", 1)], "task,label")
    codes = encode_gold(gold, j)
    assert dict(zip(j.task_names.tolist(), j.label_names[codes].tolist())) == {"007": 0, "7": 1}


def test_gold_labels_are_matched_in_the_judgments_label_type(tmp_path):
    """Each file is typed on its own: gold 007 / 042 beside judgments 007 / 042 / other (text) were
    read as 7.0 / 42.0 and refused as labels no worker gave (or scored wrong on the command line)."""
    j = Judgments.from_any(_csv(tmp_path / "j.csv", [("t1", "w", "007"), ("t2", "w", "042"), ("t3", "w", "other")]))
    codes = encode_gold(_csv(tmp_path / "g.csv", [("t1", "007"), ("t2", "042")], "task,label"), j)
    assert j.label_names[codes[:2]].tolist() == ["007", "042"] and codes[2] == -1
    # text labels "1" / "2" (one label is text) and a gold file of whole numbers, or a dict of ints
    j = Judgments.from_any(_csv(tmp_path / "k.csv", [("t1", "w", "1"), ("t2", "w", "2"), ("t3", "w", "x")]))
    assert encode_gold(_csv(tmp_path / "h.csv", [("t1", "2"), ("t2", "1")], "task,label"), j).tolist() == [1, 0, -1]
    assert encode_gold({"t1": 2}, j).tolist() == [1, -1, -1]
    # number labels and gold text that is a number; whole numbers for integer labels
    with pytest.warns(UserWarning, match="non-integer"):
        j = Judgments.from_any(_csv(tmp_path / "f.csv", [("t1", "w", "0.5"), ("t2", "w", "1.5")]))
    assert encode_gold(_csv(tmp_path / "fg.csv", [("t1", "1.5"), ("t2", "0.5")], "task,label"), j).tolist() == [1, 0]
    j = Judgments.from_any(_csv(tmp_path / "i.csv", [("t1", "w", 3), ("t2", "w", 7)]))
    assert encode_gold(_csv(tmp_path / "ig.csv", [("t1", "007"), ("t2", "3")], "task,label"), j).tolist() == [1, 0]
    with pytest.raises(ValueError, match="not in the judgments' label set"):
        encode_gold(_csv(tmp_path / "bad.csv", [("t1", "3.5")], "task,label"), j)


# --------------------------------------------------------------------------------------------------
# rules 2-4: -0.0, float labels in a categorical fit, infinite ratings
# --------------------------------------------------------------------------------------------------
def test_minus_zero_is_zero(tmp_path):
    with pytest.warns(UserWarning, match="non-integer"):
        j = Judgments.from_any(_csv(tmp_path / "j.csv", [("a", "w", "0.0"), ("b", "w", "-0.0"),
                                                         ("c", "w", "0.5")]))
    assert j.label_names.tolist() == [0.0, 0.5]
    parquet = tmp_path / "j.parquet"
    pq.write_table(pa.table({"task": ["a", "b"], "worker": ["w", "w"], "label": [0.0, -0.0]}), parquet)
    assert Judgments.from_any(parquet).n_labels == 1


def test_float_labels_in_a_categorical_fit_warn_naming_kind_rating(tmp_path):
    path = _csv(tmp_path / "j.csv", [("a", "w", 0.5), ("b", "w", 0.7), ("c", "w", 1)])
    with pytest.warns(UserWarning, match=r"column 'label' holds non-integer numbers \(0\.5, 0\.7\).*"
                                         r"kind='rating' \(CLI: --kind rating\)"):
        j = Judgments.from_any(path)
    assert j.label_names.tolist() == [0.5, 0.7, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = MeanRating().fit(path).scores_
    assert sorted(scores["score"].to_list()) == [0.5, 0.7, 1.0]


def test_ratings_that_read_as_text_become_numbers(tmp_path):
    # "3" and "3.0" make the column text (two texts, one number); a rating fit reads them as numbers
    path = _csv(tmp_path / "j.csv", [("a", "w", "3"), ("a", "v", "3.0"), ("b", "w", "1e3")])
    scores = MeanRating().fit(path).scores_
    assert dict(zip(scores["task"].to_list(), scores["score"].to_list())) == {"a": 3.0, "b": 1000.0}


@pytest.mark.parametrize("codes", [["007", "012"], ["+7", "+12"], [".5", "1.5"], ["5.", "6."], ["-007", "3"]])
def test_numbers_no_program_writes_stay_text_labels(tmp_path, codes):
    """A leading zero or sign, or a bare point, marks a code: labels ``007`` and ``012`` came back as
    7.0 and 12.0 (columns p_7.0, p_12.0) and gold ``007`` missed them. Ratings still read them as
    numbers."""
    path = _csv(tmp_path / "j.csv", [("a", "w", codes[0]), ("a", "v", codes[0]), ("b", "w", codes[1])])
    assert Judgments.from_any(path).label_names.tolist() == sorted(codes)
    scores = MeanRating().fit(path).scores_
    assert sorted(scores["score"].to_list()) == sorted(float(c) for c in codes)


def test_numbers_as_programs_write_them_are_numbers(tmp_path):
    path = _csv(tmp_path / "j.csv", [("a", "w", "4.50"), ("a", "v", "-2"), ("b", "w", "1e3"), ("c", "w", "0.25")])
    with pytest.warns(UserWarning, match="non-integer"):
        assert Judgments.from_any(path).label_names.tolist() == [-2.0, 0.25, 4.5, 1000.0]


@pytest.mark.parametrize("bad", ["inf", "-inf", "1e309", "1e200"])
def test_infinite_ratings_raise(tmp_path, bad):
    path = _csv(tmp_path / "j.csv", [("a", "w", 1), ("a", "v", bad), ("b", "w", 2)])
    with pytest.raises(ValueError, match=r"column 'label' has 1 rating\(s\) that are infinite or beyond"
                                         r".*rows 1\); drop or fix those rows"):
        MeanRating().fit(path)
    # on_invalid="drop" drops them as it drops nulls (it kept them and raised; bug hunt)
    scores = MeanRating().fit(path, on_invalid="drop").scores_
    assert dict(zip(scores["task"].to_list(), scores["score"].to_list())) == {"a": 1.0, "b": 2.0}


# --------------------------------------------------------------------------------------------------
# rule 5: hidden and underscore paths at every depth
# --------------------------------------------------------------------------------------------------
def test_hidden_and_underscore_folders_are_skipped(tmp_path):
    root = _parquet_dir(tmp_path / "in")
    expected = _triples(Judgments.from_any(root))
    junk = pa.table({"task": ["zz"], "worker": ["q"], "label": [5]})
    for sub in (".x.tmp", "_temporary/0", "ok/_skip", "ok/.hid"):
        (root / sub).mkdir(parents=True)
        pq.write_table(junk, root / sub / "part-00000.parquet")
    pq.write_table(junk, root / "_part.parquet")
    (root / "_SUCCESS").write_text("")
    assert _triples(Judgments.from_any(root)) == expected
    assert input_files(root) == [str(root / "part-0.parquet"), str(root / "part-1.parquet")]
    # a glob: the same rule below its fixed root
    assert input_files(str(root) + "/**/*.parquet") == input_files(root)


def test_directory_of_only_hidden_files_is_an_error(tmp_path):
    (tmp_path / "in" / "_temporary").mkdir(parents=True)
    pq.write_table(pa.table({"task": [1]}), tmp_path / "in" / "_temporary" / "p.parquet")
    with pytest.raises(ValueError, match=r"directory '.*in' holds no \.parquet files"):
        Judgments.from_any(tmp_path / "in")


def test_a_visible_folder_below_a_hidden_root_name_is_read(tmp_path):
    root = _parquet_dir(tmp_path / "_data")  # the input itself may be named so; only parts below count
    assert Judgments.from_any(root).n_judgments == len(ROWS)


# --------------------------------------------------------------------------------------------------
# rule 6: every Parquet file has the columns, with one type
# --------------------------------------------------------------------------------------------------
def test_a_file_without_a_column_is_named(tmp_path):
    root = _parquet_dir(tmp_path / "in")
    pq.write_table(pa.table({"task": ["t9"], "worker": ["a"]}), root / "part-3.parquet")
    for on_invalid in ("raise", "drop"):
        with pytest.raises(ValueError, match=r"file '.*part-3\.parquet' has no column 'label' \(the other "
                                             r"files have task, worker, label\); fix or remove it"):
            Judgments.from_any(root, on_invalid=on_invalid)


def test_mixed_types_across_files_name_file_and_column(tmp_path):
    root = _parquet_dir(tmp_path / "in")
    pq.write_table(pa.table({"task": [5], "worker": ["a"], "label": [1]}), root / "part-2.parquet")
    with pytest.raises(ValueError, match=r"column 'task' is int64 in file '.*part-2\.parquet' but string"):
        Judgments.from_any(root)


def test_integer_widths_across_files_are_one_type(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    pq.write_table(pa.table({"task": pa.array([1, 2], pa.int32()), "worker": ["a", "b"], "label": [0, 1]}),
                   root / "a.parquet")
    pq.write_table(pa.table({"task": pa.array([3], pa.int64()), "worker": ["a"], "label": [1]}),
                   root / "b.parquet")
    j = Judgments.from_any(root)
    assert j.task_names.tolist() == [1, 2, 3]


# --------------------------------------------------------------------------------------------------
# rule 7: duplicated column names
# --------------------------------------------------------------------------------------------------
def test_duplicated_csv_header_is_an_error(tmp_path):
    path = _csv(tmp_path / "j.csv", [("a", "w", 1, 2)], "task,worker,label,label")
    with pytest.raises(ValueError, match=r"two columns named 'label'"):
        Judgments.from_any(path)


def test_duplicated_pandas_columns_are_an_error():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame([["a", "w", 1, 2]], columns=["task", "worker", "label", "label"])
    with pytest.raises(ValueError, match=r"two columns named 'label'"):
        Judgments.from_any(df)


# --------------------------------------------------------------------------------------------------
# rule 8: pipes and stdin read once
# --------------------------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_read_once(tmp_path):
    fifo = tmp_path / "judgments"  # no extension: CSV
    os.mkfifo(fifo)
    payload = b"task,worker,label\n007,a,1\n7,a,0\n7,b,0\n"
    opened = []

    def writer():
        with open(fifo, "wb") as fh:  # a second open of the reader would block here forever
            opened.append(1)
            fh.write(payload)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    j = Judgments.from_any(str(fifo))
    t.join(timeout=5)
    assert opened == [1] and not t.is_alive()
    assert (j.n_judgments, j.n_tasks, j.n_workers) == (3, 2, 2)
    assert sorted(j.task_names.tolist()) == ["007", "7"]


def test_dash_reads_stdin_as_csv(monkeypatch):
    import io

    fake = io.TextIOWrapper(io.BytesIO(b"task,worker,label\n1,a,x\n2,a,y\n"))
    monkeypatch.setattr(sys, "stdin", fake)
    table = read_input("-")
    assert table.column("task").to_pylist() == [1, 2] and table.column("label").to_pylist() == ["x", "y"]


# --------------------------------------------------------------------------------------------------
# rule 9: odd inputs, each one clean ValueError
# --------------------------------------------------------------------------------------------------
def test_binary_garbage_in_a_csv(tmp_path):
    path = tmp_path / "j.csv"
    path.write_bytes(b"task,worker,label\n" + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"file '.*j\.csv' is not text CSV \(binary data at byte 18\)"):
        Judgments.from_any(path)


def test_invalid_utf8_is_a_clean_error(tmp_path):
    path = tmp_path / "j.csv"
    path.write_bytes(b"task,worker,label\n\xff\xfe,a,1\n")
    with pytest.raises(ValueError, match=r"file '.*j\.csv' is not UTF-8 text \(byte 18\)"):
        Judgments.from_any(path)


def test_garbage_without_nul_bytes_is_binary(tmp_path):
    path = tmp_path / "j.csv"
    path.write_bytes(bytes((i * 37) % 255 + 1 for i in range(5000)))
    with pytest.raises(ValueError, match=r"is not text CSV \(binary data at byte \d+\)"):
        Judgments.from_any(path)


def test_json_array_is_read(tmp_path):
    path = tmp_path / "j.json"
    path.write_text(json.dumps([{"task": r[0], "worker": r[1], "label": r[2]} for r in ROWS]))
    assert _triples(Judgments.from_any(path)) == sorted(ROWS)


def test_json_object_of_columns_is_read(tmp_path):
    path = tmp_path / "j.json"
    path.write_text(json.dumps({"task": [r[0] for r in ROWS], "worker": [r[1] for r in ROWS],
                                "label": [r[2] for r in ROWS]}))
    assert _triples(Judgments.from_any(path)) == sorted(ROWS)


def test_json_lines_is_read(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text("".join(json.dumps({"task": r[0], "worker": r[1], "label": r[2]}) + "\n" for r in ROWS))
    assert _triples(Judgments.from_any(path)) == sorted(ROWS)


@pytest.mark.parametrize("value,kind", [([1, 2], "list"), ({"a": 1}, "struct")])
def test_nested_columns_are_named(tmp_path, value, kind):
    path = tmp_path / "j.parquet"
    pq.write_table(pa.table({"task": [value, value], "worker": ["a", "b"], "label": [0, 1]}), path)
    with pytest.raises(ValueError, match=rf"column 'task' holds {kind}"):
        Judgments.from_any(path)
    jsonl = tmp_path / "j.jsonl"
    jsonl.write_text("".join(json.dumps({"task": "t", "worker": "a", "label": value}) + "\n" for _ in range(2)))
    with pytest.raises(ValueError, match=rf"column 'label' holds {kind}"):
        Judgments.from_any(jsonl)


def test_a_list_column_gets_the_hint_of_its_role():
    """A list of task (or worker, pairwise item) ids got "a list of tags per judgment is multi-label
    data", which only fits the label column: an id column is told to make each list one id."""
    pl = pytest.importorskip("polars")
    import galton

    rows = {"task": [1, 1, 2, 2], "worker": list("abab"), "label": [0, 0, 1, 1]}
    for col in ("task", "worker"):
        frame = pl.DataFrame({**rows, col: [[1, 2], [1, 2], [3], [3]]})
        with pytest.raises(ValueError, match=rf"column '{col}' holds list values") as err:
            Judgments.from_any(frame)
        assert "multi-label" not in str(err.value)
        hint = f"an id is one value per row: make each list one, e.g. its items joined as text (polars: pl.col('{col}')"
        assert hint in str(err.value)
        fixed = frame.with_columns(pl.col(col).cast(pl.List(pl.String)).list.join(","))  # the hint's own code
        assert Judgments.from_any(fixed).n_judgments == 4
    with pytest.raises(ValueError, match=r"column 'label' holds list values .*multi-label data: galton\.BinaryRel"):
        Judgments.from_any(pl.DataFrame({**rows, "label": [[0], [0, 1], [1], [1]]}))
    comp = pl.DataFrame({"worker": ["a", "b"], "left": [[1], [2]], "right": [2, 3], "label": [2, 3]})
    with pytest.raises(ValueError, match=r"column 'left' holds list values .*an id is one value per row") as err:
        galton.BradleyTerry().fit(comp)
    assert "multi-label" not in str(err.value)


def test_dict_values_in_pandas_are_clean_errors():
    """(Tuple-valued ids are accepted since issue 10, as in crowd-kit: tests/data/test_tuple_ids.py.)"""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"task": [{"a": 1}, {"b": 2}], "worker": ["a", "b"], "label": [0, 1]})
    with pytest.raises(ValueError, match=r"column 'task'"):
        Judgments.from_any(df)


@pytest.mark.parametrize("sep,name", [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_csv_with_another_separator(tmp_path, sep, name):
    path = _csv(tmp_path / "j.csv", ROWS, sep.join(["task", "worker", "label"]), sep)
    with pytest.raises(ValueError, match=rf"one column .*it looks {name}-separated"):
        Judgments.from_any(path)


def test_binary_ids_are_decoded_as_text(tmp_path):
    path = tmp_path / "j.parquet"
    pq.write_table(pa.table({"task": pa.array([b"t1", b"t2"], pa.binary()), "worker": ["a", "b"],
                             "label": [0, 1]}), path)
    assert Judgments.from_any(path).task_names.tolist() == ["t1", "t2"]
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"task": pa.array([b"\xff", b"t2"], pa.binary()), "worker": ["a", "b"],
                             "label": [0, 1]}), bad)
    with pytest.raises(ValueError, match=r"column 'task' holds bytes that are not UTF-8"):
        Judgments.from_any(bad)


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match=r"file '.*e\.csv' is empty"):
        Judgments.from_any(empty)
    header = tmp_path / "h.csv"
    header.write_text("task,worker,label\n")
    with pytest.raises(ValueError, match=r"holds no judgments \(0 rows\)"):
        Judgments.from_any(header)
    not_parquet = tmp_path / "x.parquet"
    not_parquet.write_text("task,worker,label\n")
    with pytest.raises(ValueError, match=r"cannot read '.*x\.parquet' as Parquet"):
        Judgments.from_any(not_parquet)


def test_comparisons_keep_ids_as_written(tmp_path):
    path = _csv(tmp_path / "c.csv", [("w", "007", "7", "7"), ("w", "7", "8", "7")], "worker,left,right,label")
    c = Comparisons.from_any(path)
    assert sorted(c.item_names.tolist()) == ["007", "7", "8"]


# --------------------------------------------------------------------------------------------------
# rule 10: gold
# --------------------------------------------------------------------------------------------------
def test_gold_listing_a_task_twice(tmp_path):
    j = Judgments.from_any(_csv(tmp_path / "j.csv", ROWS))
    same = _csv(tmp_path / "g.csv", [("t1", 1), ("t1", 1), ("t2", 0)], "task,label")
    codes = encode_gold(same, j)
    assert j.label_names[codes[:2]].tolist() == [1, 0] and codes[2] == -1
    clash = _csv(tmp_path / "g2.csv", [("t1", 1), ("t2", 0), ("t1", 0)], "task,label")
    with pytest.raises(ValueError, match=r"gold gives 1 task\(s\) two different labels \(task 't1': rows 0, 2"):
        encode_gold(clash, j)


def test_gold_task_type_mismatch_is_named(tmp_path):
    j = Judgments.from_any(_csv(tmp_path / "j.csv", [(1, "a", 0), (2, "a", 1)]))
    gold = _csv(tmp_path / "g.csv", [("t1", 0)], "task,label")
    with pytest.raises(ValueError, match=r"gold task ids are text \('t1'\) but the judgments' task ids "
                                         r"are integers"):
        encode_gold(gold, j)
    # integer gold against text tasks matches by digits
    jt = Judgments.from_any({"task": ["1", "x"], "worker": ["a", "a"], "label": [0, 1]})
    assert encode_gold({1: 1}, jt).tolist() == [1, -1]


def test_to_arrow_on_a_polars_frame_is_unchanged():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"task": [1, 2], "label": [0.5, 1.5]})
    assert to_arrow(df).equals(df.to_arrow())
    assert np.array_equal(to_arrow({"a": np.arange(3)}).column("a").to_numpy(), np.arange(3))


def test_distributed_ingest_lists_files_by_the_same_rule(tmp_path):
    from galton.workers.ingest import _files

    root = _parquet_dir(tmp_path / "in")
    (root / "_temporary" / "0").mkdir(parents=True)
    pq.write_table(pa.table({"task": ["zz"]}), root / "_temporary" / "0" / "part-1.parquet")
    (root / ".x.tmp").mkdir()
    pq.write_table(pa.table({"task": ["zz"]}), root / ".x.tmp" / "part-00000.parquet")
    assert _files(root) == input_files(root) == [str(root / "part-0.parquet"), str(root / "part-1.parquet")]
    assert _files(str(root / "**" / "*.parquet")) == input_files(root)


def test_an_unclosed_quote_gets_advice_a_user_can_follow(tmp_path):
    """polars' message advised its own infer_schema_length, which no galton user can set."""
    from galton.io import read_input

    (tmp_path / "q.csv").write_text('task,worker,label\n1,a,"x\n2,b,y\n')
    with pytest.raises(ValueError, match=r"cannot read .*q\.csv' as CSV: .*a quote \(\"\) opened and not closed") as e:
        read_input(tmp_path / "q.csv")
    assert "infer_schema_length" not in str(e.value)


def test_true_and_false_ids_stay_as_written(tmp_path):
    """An id column of true / false text was read as booleans: tasks "True", "true" and "TRUE"
    merged into one, written back as "true" (bug hunt). Ids keep their text; a label column of
    true / false is still boolean."""
    j = Judgments.from_any(_csv(tmp_path / "j.csv", [("True", "w1", "true"), ("true", "w1", "false"),
                                                      ("TRUE", "w2", "TRUE"), ("false", "w2", "False")]))
    assert sorted(j.task_names.tolist()) == ["TRUE", "True", "false", "true"]
    assert j.label_names.dtype == bool


@pytest.mark.parametrize("name,sep", [("j.csv", ","), ("j.tsv", "\t")])
def test_a_quote_inside_an_unquoted_field_names_its_line(tmp_path, name, sep):
    """An inch mark (5"7) in an unquoted field gave polars' "CSV malformed: expected 0 rows, actual
    1 rows, in chunk starting at row_offset 1", naming no line (bug hunt)."""
    path = tmp_path / name
    path.write_text(sep.join(["task", "worker", "label"]) + "\n" + sep.join(["t1", "w", "x"]) + "\n"
                    + sep.join(['5"7', "w", "y"]) + "\n")
    try:
        j = Judgments.from_any(path)
    except ValueError as exc:
        assert re.search(r"line 3 has a quote inside the unquoted field '5\"7'; quote the field and write the "
                         r"quote twice \(\"5\"\"7\"\)", str(exc)), str(exc)
    else:  # polars before 1.15 or so reads the inch mark as part of the field, which is right too
        assert sorted(j.task_names.tolist()) == ['5"7', "t1"]


def test_pandas_period_and_interval_ids_are_refused_naming_the_column():
    """A pandas Period or Interval task column raised Arrow's "Function 'dictionary_encode' has no
    kernel matching input types (extension<pandas.period...>)" (bug hunt)."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"task": pd.period_range("2024-01", periods=2, freq="M").repeat(2),
                       "worker": list("abab"), "label": list("xxyy")})
    for frame in (df, df.assign(task=pd.interval_range(0, 2).repeat(2))):
        with pytest.raises(ValueError, match=r"column 'task' holds pandas\.(period|interval) values.*astype\(str\)"):
            Judgments.from_any(frame)


def test_a_json_array_of_mixed_types_names_the_column(tmp_path):
    """A JSON array whose "task" holds "007" and 7 failed with Arrow's "Expected bytes, got a 'int'
    object", naming no column (bug hunt; JSON lines named it)."""
    path = tmp_path / "j.json"
    path.write_text(json.dumps([{"task": "007", "worker": "a", "label": "x"}, {"task": 7, "worker": "b", "label": "x"}]))
    with pytest.raises(ValueError, match=r"column 'task' holds values of different types: str \(object 1\), number "
                                         r"\(object 2\)"):
        Judgments.from_any(path)


def test_nanosecond_times_and_int128_ids_are_refused_naming_the_column():
    """time64[ns] ids with nanoseconds crashed in Arrow ("Value 1 has non-zero nanoseconds") and a
    polars Int128 column in Arrow's import ("unsupported format string: '_pli128'"), naming no
    column (bug hunt)."""
    table = pa.table({"task": pa.array([1, 1, 2, 2], pa.time64("ns")), "worker": list("abab"), "label": list("xxyy")})
    with pytest.raises(ValueError, match=r"column 'task' holds times of day with nanoseconds"):
        Judgments.from_any(table)
    whole = table.set_column(0, "task", pa.array([1000, 1000, 2000, 2000], pa.time64("ns")))
    assert Judgments.from_any(whole).n_tasks == 2  # whole microseconds are read
    pl = pytest.importorskip("polars")
    if not hasattr(pl, "Int128"):
        pytest.skip("this polars has no Int128 (polars 1.14, the declared minimum)")
    wide = pl.DataFrame({"task": pl.Series([1, 1, 2, 2], dtype=pl.Int128), "worker": list("abab"),
                         "label": list("xxyy")})
    with pytest.raises(ValueError, match=r"column 'task' \(Int128\) has a type Arrow cannot take.*Int64 or String"):
        Judgments.from_any(wide)


def test_polars_object_columns_are_refused_naming_the_column():
    """A polars Object column went to Arrow as the 8-byte addresses of its Python objects: booleans
    True / False became labels nobody gave (every fit's labels garbage), UUID workers "bytes that are
    not UTF-8 text" (bug hunt). A used one is refused by name; an unused one is left out."""
    import uuid

    pl = pytest.importorskip("polars")
    plain = pl.DataFrame({"task": ["t1", "t1", "t2", "t2"], "worker": list("abab"), "label": [True, False, True, True]})
    objects = plain.with_columns(pl.Series("label", plain["label"].to_list(), dtype=pl.Object))
    with pytest.raises(ValueError, match=r"column 'label' is a polars Object column \(Python objects: bool\).*"
                                         r"map_elements\(str, return_dtype=pl\.String\)"):
        Judgments.from_any(objects)
    ids = plain.with_columns(pl.Series("worker", [uuid.UUID(int=i % 2) for i in range(4)], dtype=pl.Object))
    with pytest.raises(ValueError, match=r"column 'worker' is a polars Object column \(Python objects: UUID\)"):
        Judgments.from_any(ids.lazy())
    noted = plain.with_columns(note=pl.Series([object()] * 4, dtype=pl.Object))  # not read: no matter
    assert _triples(Judgments.from_any(noted)) == _triples(Judgments.from_any(plain))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['label'\]; the input has "
                                         r"\['task', 'worker', 'note'\]"):
        Judgments.from_any(noted.drop("label"))


def _uuid_frame():  # noqa: ANN202
    import uuid

    pd = pytest.importorskip("pandas")
    workers = [uuid.UUID(int=i) for i in (3, 1, 2)]
    tasks = [uuid.UUID(int=10 + i) for i in (1, 2)]
    return pd.DataFrame({"task": [tasks[0]] * 3 + [tasks[1]] * 3, "worker": workers * 2, "label": list("abaabb")})


def test_uuid_objects_of_a_pandas_frame_are_read_as_their_text_on_every_pyarrow():
    """pyarrow 18 on reads a pandas column of uuid.UUID as arrow.uuid (read as the UUIDs' text);
    pyarrow 16 and 17 (16 is the declared minimum) refuse such a column ("did not recognize Python
    value type"), and galton refused the frame ("holds UUID values ... convert them to strings"):
    there the UUIDs are read as their text before Arrow, with the same result; gold keyed by the
    UUIDs finds them. A column that mixes UUIDs with text is still refused, naming both."""
    import uuid

    df = _uuid_frame()
    j = Judgments.from_any(df)
    assert j.worker_names.tolist() == sorted(str(w) for w in df["worker"].unique())
    assert _triples(j) == _triples(Judgments.from_any(df.astype(str)))
    gold = encode_gold(type(df["task"])({df["task"].iloc[3]: "b"}), j)  # crowd-kit's gold, keyed by the UUIDs
    assert gold.tolist() == [-1, 1]
    mixed = df.assign(worker=[uuid.UUID(int=1), "w2", "w3"] * 2)
    with pytest.raises(ValueError, match=r"column 'worker' mixes value types \(UUID, str\)"):
        Judgments.from_any(mixed)


@pytest.mark.skipif(not hasattr(pa, "bool8"), reason="pyarrow before 18 has no arrow.uuid, arrow.bool8 nor arrow.json")
def test_uuid_ids_read_as_their_text_and_bool8_as_booleans(tmp_path):
    """pyarrow reads a pandas column of uuid.UUID as its arrow.uuid type, and the encoder raised
    Arrow's "Function 'dictionary_encode' has no kernel matching input types (extension<arrow.uuid>)"
    (the CLI: "cannot read 'u.parquet'"); arrow.bool8 the same (bug hunt: the check of extension
    types missed Arrow's own, which subclass only pa.BaseExtensionType). UUIDs are read as their text,
    str(uuid), and gold keyed by the UUIDs finds them; bool8 as booleans; other extension types are
    refused naming the column."""
    df = _uuid_frame()
    j = Judgments.from_any(df)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "u.parquet")
    assert pq.read_schema(tmp_path / "u.parquet").field("worker").type.extension_name == "arrow.uuid"
    assert _triples(Judgments.from_any(tmp_path / "u.parquet")) == _triples(j)
    flags = pa.ExtensionArray.from_storage(pa.bool8(), pa.array([1, 0, 0, 1], pa.int8()))
    j = Judgments.from_any(pa.table({"task": ["t1", "t1", "t2", "t2"], "worker": list("abab"), "label": flags}))
    assert j.label_names.tolist() == [False, True] and j.label_names[j.label].tolist() == [True, False, False, True]
    raw = pa.table({"task": pa.array(['"t1"', '"t2"'], pa.json_()), "worker": ["a", "b"], "label": ["x", "y"]})
    with pytest.raises(ValueError, match=r"column 'task' holds arrow\.json values, which galton cannot read"):
        Judgments.from_any(raw)


def test_run_end_encoded_columns_are_read_as_their_values():
    """A run-end-encoded Arrow column (pyarrow.compute.run_end_encode) raised Arrow's bare
    "Function 'dictionary_encode' has no kernel matching input types (run_end_encoded<...>)", naming
    no column; pairwise items were "different types of item ids". Each is read as the values it
    encodes: the fit equals the plain table's, nulls in it included."""
    import pyarrow.compute as pc

    import galton

    plain = pa.table({"task": [1, 1, 1, 2, 2, None], "worker": list("abcabc"),
                      "label": ["x", "x", "y", "y", "y", "x"]})
    ree = plain.set_column(0, "task", pc.run_end_encode(plain.column("task"))).set_column(
        2, "label", pc.run_end_encode(plain.column("label")))
    assert pa.types.is_run_end_encoded(ree.schema.field("task").type)
    dropped = Judgments.from_any(ree, on_invalid="drop")
    assert _triples(dropped) == _triples(Judgments.from_any(plain, on_invalid="drop")) and dropped.n_judgments == 5
    with pytest.raises(ValueError, match=r"column 'task' has 1 null value"):
        Judgments.from_any(ree)
    assert galton.MajorityVote().fit(ree, on_invalid="drop").labels_.to_pylist() == [
        {"task": 1, "label": "x"}, {"task": 2, "label": "y"}]
    ratings = plain.drop_null().set_column(2, "label", pc.run_end_encode(pa.array([1.0, 1.0, 3.0, 5.0, 5.0])))
    assert MeanRating().fit(ratings).scores_.column("score").to_pylist() == [5 / 3, 5.0]
    comp = pa.table({"worker": list("abc"), "left": pc.run_end_encode(pa.array([1, 1, 2])), "right": [2, 3, 3],
                     "label": [1, 1, 2]})
    assert Comparisons.from_any(comp).item_names.tolist() == [1, 2, 3]
