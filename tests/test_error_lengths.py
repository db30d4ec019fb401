"""Errors show each user value (id, label, column name) cut to its first characters with its length:
a 1 MB id made 1 MB of error (bug hunt), where one line is enough to find it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import galton
from galton.cli import main
from galton.data import Comparisons
from galton.data._validate import examples, fmt_value

BIG = "x" * 1_000_000
CUT = "'" + "x" * 59 + "... (1000000 characters)"  # what an error shows of BIG
JUDGED = {"task": ["t1", "t1", "t2", "t2"], "worker": ["a", "b", "a", "b"], "label": [0, 1, 1, 1]}


def _error(call, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert len(message) < 600, message[:300]
    return message


def test_fmt_value_cuts_a_long_value_and_names_its_length():
    assert fmt_value(BIG) == CUT
    assert fmt_value("t" * 78) == repr("t" * 78)  # 80 characters with its quotes: whole
    assert fmt_value("t" * 79) == "'" + "t" * 59 + "... (79 characters)"
    assert fmt_value(np.str_("t" * 79)) == "'" + "t" * 59 + "... (79 characters)"
    assert fmt_value(np.int64(7)) == "7" and fmt_value(("a" * 100, 1)) == "('" + "a" * 58 + "... (107 characters " \
        "written out)"
    assert examples([BIG, "b", BIG], 2) == f"{CUT}, 'b', ..."


def test_gold_errors_cut_long_ids_and_labels():
    judged = galton.Judgments.from_any(JUDGED)
    from galton._gold import encode_gold

    message = _error(encode_gold, {"task": [BIG, BIG], "label": [0, 1]}, judged)  # was 1,000,113 characters
    assert f"gold gives 1 task(s) two different labels (task {CUT}: rows 0, 1 give 0, 1)" in message
    ints = galton.Judgments.from_any({"task": [1, 2], "worker": ["a", "a"], "label": [0, 1]})
    assert f"gold task ids are text ({CUT})" in _error(encode_gold, {"task": [BIG], "label": [0]}, ints)


def test_gold_sharing_no_task_cuts_long_ids(tmp_path, capsys):
    src, gold = tmp_path / "j.csv", tmp_path / "g.csv"
    src.write_text("task,worker,label\n" + "".join(f"t{t},w{w},{(t + w) % 2}\n" for t in range(5) for w in range(3)))
    gold.write_text(f"task,label\n{BIG},0\n")
    assert main(["aggregate", str(src), "-m", "mv", "--gold", str(gold), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert len(err) < 400 and f"gold task ids look like [{CUT}], the judgments' like ['t0', 't1', 't2']" in err
    from galton.workers.sharded import GoldSharesNoTaskWarning

    warning = str(GoldSharesNoTaskWarning([BIG], ["t0"]))
    assert len(warning) < 300 and f"look like [{CUT}]" in warning
    tags = tmp_path / "tags.parquet"
    pq.write_table(pa.table({"task": ["t1", "t1"], "worker": ["a", "b"], "label": [["p"], ["p", "q"]]}), tags)
    gold.write_text(f"task,label\nt1,{BIG}\n")
    assert main(["aggregate", str(tags), "-m", "mv", "--gold", str(gold), "-o", str(tmp_path / "o.parquet")]) == 2
    err = capsys.readouterr().err
    assert len(err) < 400 and f"gold tags look like [{CUT}], the judgments' like ['p', 'q']" in err


def test_rating_and_comparison_errors_cut_long_labels():
    message = _error(galton.MeanRating().fit, {"task": ["t", "t"], "worker": ["w", "v"], "label": [BIG, "3"]})
    assert f"non-numeric values in 1 row(s) ({CUT}; rows 0)" in message  # was 1,000,224 characters
    pairs = {"worker": ["w", "w"], "left": [BIG, "a"], "right": [BIG, "b"], "label": [BIG, "a"]}
    assert f"item {CUT})" in _error(Comparisons.from_any, pairs)
    pairs = {"worker": ["w", "w"], "left": ["a", "a"], "right": ["b", "b"], "label": [BIG, "a"]}
    assert f"label {CUT} for 'a' vs 'b'" in _error(Comparisons.from_any, pairs)


def test_missing_column_errors_cut_long_names():
    long_name = "y" * 100_000
    message = _error(galton.Judgments.from_any, JUDGED, label_col=long_name)  # was 100,142 characters
    assert "missing column(s) ['" + "y" * 59 + "... (100000 characters)]; the input has ['task', 'worker', " \
        "'label']" in message
    wide = {"task": ["t"], "worker": ["w"], BIG: [1]}
    assert f"the input has ['task', 'worker', {CUT}]" in _error(galton.Judgments.from_any, wide)
