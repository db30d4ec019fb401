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
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import galton
from galton import MajorityVote  # noqa: F401  (the calls below name it)
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
