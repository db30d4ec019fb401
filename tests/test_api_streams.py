"""Inputs the Python API can read only once: an Arrow stream (``pyarrow.RecordBatchReader``), standard
input ``"-"`` (a real pipe, in a child process) and a FIFO. The metrics read their input for the labels
and again for the weights or a model's fit, so a stream came back empty (NaN), ``-`` said "file '-'
is empty" and a FIFO blocked for ever (bug hunt); each is read once now, into one table
(:mod:`galton.io._once`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import galton
from galton import MajorityVote  # noqa: F401  (the calls below name it)
from galton._api import data_columns
from galton.metrics import (accuracy_on_aggregates, alpha_krippendorff, consistency,  # noqa: F401
                            entropy_threshold, get_accuracy, krippendorff, uncertainty)

REPO = Path(galton.__file__).resolve().parent.parent

# task 1: a, b say 0, c says 1 (weight 4); task 2: all say 1. Majority vote: 0, 1.
JUDGMENTS = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"), "label": [0, 0, 1, 1, 1, 1],
                          "weight": [1.0, 1.0, 4.0, 1.0, 1.0, 1.0]})
CSV = JUDGMENTS.to_csv(index=False).encode()

#: each metric as source, on DATA; the weighted accuracies are 5/9 by hand (the weight column read too)
METRICS = {
    "consistency": "consistency(DATA)",
    "uncertainty": "uncertainty(DATA)",
    "accuracy_on_aggregates": "accuracy_on_aggregates(DATA)",
    "accuracy_of_a_fit": "accuracy_on_aggregates(DATA, MajorityVote())",
    "get_accuracy": "get_accuracy(DATA, {1: 0, 2: 1})",
    "alpha": "alpha_krippendorff(DATA)",
    "ordinal_alpha": "krippendorff(DATA, 'ordinal').alpha",
}
#: by hand: the weighted accuracies (a, b right on task 1, c's weight 4 wrong: 5 of 9) and nominal alpha
#: (observed 1/3: the two 0-1 pairs of task 1 over 6 pairable values; expected 2*2*4/30)
BY_HAND = {"accuracy_on_aggregates": 5 / 9, "accuracy_of_a_fit": 5 / 9, "get_accuracy": 5 / 9,
           "alpha": 1 - (1 / 3) / (16 / 30)}


def _metric(name: str, data: object) -> float:
    return float(eval(METRICS[name], globals(), {"DATA": data}))  # the test's own expressions


def _expected(name: str) -> float:
    value = _metric(name, JUDGMENTS)
    if name in BY_HAND:
        assert value == pytest.approx(BY_HAND[name], abs=1e-12)
    return value


def _stream(table: pa.Table) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=2))


def through_fifo(tmp_path: Path, payload: bytes, call, name: str = "input.csv"):
    """``call(path)`` on a FIFO a thread writes ``payload`` to once. A second open of the FIFO waits
    for a writer for ever: after 30 s a writer that closes at once ends it, and the test fails."""
    fifo = tmp_path / name
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as fh:
            fh.write(payload)

    threading.Thread(target=writer, daemon=True).start()
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = call(str(fifo))
        except BaseException as exc:  # noqa: BLE001  (raised again in the test's thread)
            result["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=30)
    if t.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # the blocked second read gets end of file
        t.join(timeout=30)
        pytest.fail("the FIFO was opened a second time (it waited for a writer)")
    if "error" in result:
        raise result["error"]
    return result["value"]


def from_stdin(code: str, payload: bytes) -> str:
    """The standard output of ``python -c code`` whose standard input is a pipe carrying ``payload``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return proc.stdout.decode()


# ---------------------------------------------------------------- the metrics
@pytest.mark.parametrize("name", list(METRICS))
def test_a_metric_reads_an_arrow_stream_once(name):
    table = pa.Table.from_pandas(JUDGMENTS, preserve_index=False)
    assert _metric(name, _stream(table)) == pytest.approx(_expected(name), abs=1e-12)  # was NaN, or "no task"


@pytest.mark.parametrize("name", list(METRICS))
def test_a_metric_reads_a_fifo_once(tmp_path, name):
    assert through_fifo(tmp_path, CSV, lambda p: _metric(name, p)) == pytest.approx(_expected(name), abs=1e-12)


@pytest.mark.parametrize("name", list(METRICS))
def test_a_metric_reads_stdin_once(name):
    code = ("from galton import MajorityVote\nfrom galton.metrics import *\n"
            f"print(repr(float({METRICS[name].replace('DATA', repr('-'))})))")
    assert float(from_stdin(code, CSV)) == pytest.approx(_expected(name), abs=1e-12)  # was "file '-' is empty"


def test_entropy_threshold_of_a_stream_returns_the_rows_kept_as_a_table():
    """c answers 1 every time (entropy 0): its rows go, the others come back in order (the stream's
    rows were read for the judgments, and the spent stream came back, empty)."""
    table = pa.Table.from_pandas(JUDGMENTS, preserve_index=False)
    kept = entropy_threshold(_stream(table), percentile=20)
    assert isinstance(kept, pa.Table)
    assert kept.equals(table.filter(pc.not_equal(table["worker"], "c")))
    assert kept.equals(entropy_threshold(table, percentile=20))


# ---------------------------------------------------------------- galton.aggregate and galton.allocate
def _pairs() -> pd.DataFrame:
    from galton.datasets.simulate_prefs import simulate_pairwise

    return simulate_pairwise(200, n_responses=6, n_workers=5, seed=2, frame="pandas").data


def _scores(model) -> dict:
    """Item -> score of a fitted preference model, whatever the frame type of its results."""
    scores = model.scores_
    table = pa.table(scores) if not isinstance(scores, pa.Table) else scores
    return dict(zip(table["item"].to_pylist(), table["score"].to_pylist()))


def _layouts() -> dict[str, pa.Table]:
    from galton.datasets.simulate_prefs import simulate_best_of_n

    rankings = pa.table({"worker": ["a", "b", "c", "a", "b", "c"],
                         "ranking": [["x", "y", "z"], ["x", "z", "y"], ["y", "x", "z"], ["x", "y", "z"],
                                     ["z", "x", "y"], ["x", "y", "z"]]})
    return {"pairwise": pa.Table.from_pandas(_pairs(), preserve_index=False),
            "choice": simulate_best_of_n(300, n_prompts=20, n_responses=4, n_workers=8, seed=3).data,
            "ranking": rankings}


@pytest.mark.parametrize(("layout", "model"), [("pairwise", "BradleyTerry"), ("choice", "PlackettLuce"),
                                               ("ranking", "PlackettLuce")])
def test_aggregate_tells_the_kind_of_an_arrow_stream(layout, model):
    """The kind came from column_names / columns, which a RecordBatchReader has not: every stream was
    taken for judgments ("missing column(s) ['task']")."""
    table = _layouts()[layout]
    stream = _stream(table)
    assert data_columns(stream) == table.column_names  # from its schema: nothing read
    assert stream.read_all().equals(table)
    from_table, from_stream = galton.aggregate(table), galton.aggregate(_stream(table))
    assert type(from_stream).__name__ == type(from_table).__name__ == model
    assert isinstance(from_stream.scores_, pa.Table)  # results in the input's type, as the table's
    assert _scores(from_stream) == pytest.approx(_scores(from_table), abs=1e-12)


def test_aggregate_and_allocate_refuse_an_ambiguous_stream():
    """Judgments beside left / right columns are refused unless the kind is named; a stream skipped
    the check (its columns were unknown)."""
    both = pa.table({"task": [1, 1], "worker": ["a", "b"], "label": [0, 1], "left": [0.1, 0.2], "right": [0.5, 0.6]})
    with pytest.raises(ValueError, match="the data is ambiguous"):
        galton.aggregate(_stream(both))
    with pytest.raises(ValueError, match="the data is ambiguous"):
        galton.allocate(_stream(both), 2)
    assert type(galton.aggregate(_stream(both), kind="categorical")).__name__ == "BayesianDawidSkene"


def test_allocate_tells_the_kind_of_an_arrow_stream():
    table = _layouts()["pairwise"]
    for options in ({}, {"window": 2}):  # window= is refused for categorical data: it read the kind first
        expected = galton.allocate(table, 5, random_state=1, **options)
        got = galton.allocate(_stream(table), 5, random_state=1, **options)
        assert isinstance(got, pa.Table) and got.column_names[:2] == ["left", "right"]
        assert got.equals(expected)


def test_aggregate_and_allocate_read_a_fifo_once(tmp_path):
    """A FIFO is told by its columns too, read once, and its results come as a file's (polars)."""
    import polars as pl

    csv = _pairs().to_csv(index=False).encode()
    (tmp_path / "file.csv").write_bytes(csv)
    from_file = galton.aggregate(str(tmp_path / "file.csv"))
    from_fifo = through_fifo(tmp_path, csv, galton.aggregate, "pairs.csv")
    assert type(from_fifo).__name__ == "BradleyTerry" and isinstance(from_fifo.scores_, pl.DataFrame)
    assert _scores(from_fifo) == pytest.approx(_scores(from_file), abs=1e-12)
    rows = through_fifo(tmp_path, csv, lambda p: galton.allocate(p, 5, window=2, random_state=1), "again.csv")
    assert isinstance(rows, pl.DataFrame)
    assert rows.equals(galton.allocate(str(tmp_path / "file.csv"), 5, window=2, random_state=1))


def test_aggregate_and_allocate_read_stdin_once(tmp_path):
    import json

    import polars as pl

    csv = _pairs().to_csv(index=False).encode()
    (tmp_path / "file.csv").write_bytes(csv)
    code = ("import json, galton\nm = galton.aggregate('-')\n"
            "print(json.dumps([type(m).__name__, type(m.scores_).__name__, dict(m.scores_.select('item', 'score')"
            ".iter_rows())]))")
    name, kind, scores = json.loads(from_stdin(code, csv))
    assert (name, kind) == ("BradleyTerry", "DataFrame")  # was "missing column(s) ['task']"
    expected = _scores(galton.aggregate(str(tmp_path / "file.csv")))
    assert {int(k): v for k, v in scores.items()} == pytest.approx(expected, abs=1e-12)
    code = ("import galton\nr = galton.allocate('-', 5, window=2, random_state=1)\n"
            "r.write_csv(__import__('sys').stdout)")
    got = pl.read_csv(from_stdin(code, csv).encode())
    want = galton.allocate(str(tmp_path / "file.csv"), 5, window=2, random_state=1)
    assert got.columns == want.columns and got.select("left", "right").rows() == want.select("left", "right").rows()


def test_a_stream_read_a_second_time_warns_that_it_gave_no_rows():
    """A RecordBatchReader is read once: given again, it gave an empty fit with no word; the second
    fit warns, naming the cause, and the first fit's labels are the table's."""
    table = pa.table({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": ["x", "x", "y", "y"]})
    reader = _stream(table)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = galton.aggregate(reader, "mv").labels_
    assert first.column("label").to_pylist() == ["x", "y"]
    with pytest.warns(UserWarning, match="gave no rows.*read once only") as caught:
        second = galton.aggregate(reader, "mv").labels_
    assert second.num_rows == 0
    assert caught[0].filename == __file__  # points at the user's call
