"""Property tests of the reader, the writer and the tie rule (hypothesis, bounded examples).

- Random hostile CSV and Parquet inputs through ``galton aggregate`` (in-process ``main``, so an
  escaped exception fails the test): the exit code is 0 or 2, never a traceback; a refusal writes
  nothing; no temporary file is left.
- Row order, renaming the ids and renaming the labels change nothing but names, ties included.
"""

from __future__ import annotations

import inspect
import os
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from galton.aggregator import _registry
from galton.cli import main

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# cells that a hostile CSV may hold: numbers in every spelling, text, blanks, quotes, separators
CELL = st.one_of(
    st.sampled_from(["", "0", "-0", "007", "7", "1.0", "1e3", "+1", "-1", "inf", "-inf", "nan", "NaN",
                     "true", "False", "99999999999999999999", " 1", '"', '""', "a,b", "x;y", "\t",
                     "é", "\\N", "null", "NULL"]),
    st.text(alphabet=string.ascii_letters + string.digits + " ._-", min_size=1, max_size=6),
)
HEADER = st.one_of(
    st.just(["task", "worker", "label"]),
    st.permutations(["task", "worker", "label"]).map(list),
    st.lists(st.sampled_from(["task", "worker", "label", "x", "label", ""]), min_size=1, max_size=5),
)


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n"


def _leftovers(root: Path) -> list[str]:
    return [n for _, dirs, files in os.walk(root) for n in dirs + files if n.startswith(".")]


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@SETTINGS
@given(header=HEADER, rows=st.lists(st.lists(CELL, min_size=1, max_size=5), min_size=0, max_size=12),
       model=st.sampled_from(["mv", "ds", "bds", "glad", "mace"]))
def test_random_csv_never_tracebacks_or_leaves_files(tmp_path_factory, capsys, header, rows, model) -> None:
    tmp = tmp_path_factory.mktemp("csv")
    src = tmp / "in.csv"
    src.write_text(_csv_text(header, rows), encoding="utf-8")
    before = src.read_bytes()
    rc, out, err = _run(["aggregate", src, "-m", model, "-o", tmp / "out.csv", "--quiet"], capsys)
    assert rc in (0, 2), err
    assert src.read_bytes() == before
    assert _leftovers(tmp) == []
    if rc == 2:
        assert not (tmp / "out.csv").exists()
        assert len([ln for ln in err.splitlines() if ln.startswith("galton: error:")]) == 1, err
    else:
        assert (tmp / "out.csv").stat().st_size > 0


ARROW_VALUES = st.one_of(
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=8).map(pa.array),
    st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=8)
    .map(lambda v: pa.array(v, pa.float64())),
    st.lists(st.one_of(st.none(), st.text(max_size=4)), min_size=1, max_size=8).map(pa.array),
    st.lists(st.booleans(), min_size=1, max_size=8).map(pa.array),
    st.lists(st.binary(max_size=4), min_size=1, max_size=8).map(lambda v: pa.array(v, pa.binary())),
    st.lists(st.lists(st.integers(0, 3), max_size=2), min_size=1, max_size=8).map(pa.array),
)


@SETTINGS
@given(cols=st.tuples(ARROW_VALUES, ARROW_VALUES, ARROW_VALUES), split=st.booleans())
def test_random_parquet_never_tracebacks_or_leaves_files(tmp_path_factory, capsys, cols, split) -> None:
    n = min(len(c) for c in cols)
    table = pa.table({"task": cols[0][:n], "worker": cols[1][:n], "label": cols[2][:n]})
    tmp = tmp_path_factory.mktemp("pq")
    if split:  # a directory of two files
        src = tmp / "indir"
        src.mkdir()
        pq.write_table(table.slice(0, n // 2), src / "part-0.parquet")
        pq.write_table(table.slice(n // 2), src / "part-1.parquet")
    else:
        src = tmp / "in.parquet"
        pq.write_table(table, src)
    rc, out, err = _run(["aggregate", src, "-m", "ds", "-o", tmp / "out.parquet", "--quiet"], capsys)
    assert rc in (0, 2), err
    assert _leftovers(tmp) == []
    assert (tmp / "out.parquet").exists() == (rc == 0)


# ------------------------------------------------------------------------------ invariances
CATEGORICAL = ["mv", "wawa", "zbs", "ds", "one_coin_ds", "glad", "mace", "bds"]


def _crowd(seed: int, n_tasks: int, n_workers: int, n_labels: int, tie_share: float) -> pd.DataFrame:
    """Random judgments where a share of the tasks are exact ties (one vote per label from two
    workers of identical histories)."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        if rng.random() < tie_share:
            rows += [(t, "tieA", 0), (t, "tieB", 1)]
            continue
        truth = int(rng.integers(n_labels))
        for w in rng.choice(n_workers, size=min(3, n_workers), replace=False):
            label = truth if rng.random() < 0.75 else int(rng.integers(n_labels))
            rows.append((t, f"w{w}", label))
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def _labels_by_task(model: object) -> dict:
    return model.labels_.to_dict()  # type: ignore[attr-defined]


@SETTINGS
@given(seed=st.integers(0, 10_000), model=st.sampled_from(CATEGORICAL), tie_share=st.sampled_from([0.0, 0.3]))
def test_row_order_and_renaming_change_nothing_but_names(seed, model, tie_share) -> None:
    df = _crowd(seed, n_tasks=30, n_workers=6, n_labels=3, tie_share=tie_share)
    cls = _registry.get(model)
    params = {"random_state": 0} if "random_state" in inspect.signature(cls).parameters else {}
    base = _labels_by_task(cls(**params).fit(df))

    rng = np.random.default_rng(seed + 1)
    shuffled = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    assert _labels_by_task(cls(**params).fit(shuffled)) == base

    # rename tasks and workers (order-preserving, so sorted vocabularies keep their order) and
    # labels (order-preserving: the tie rule "smallest label wins" keeps the same winner)
    renamed = df.assign(task="t" + df["task"].astype(str).str.zfill(4),
                        worker="id-" + df["worker"].astype(str),
                        label=df["label"].map({0: "a", 1: "b", 2: "c"}))
    got = _labels_by_task(cls(**params).fit(renamed))
    back = {int(k[1:]): {"a": 0, "b": 1, "c": 2}[v] for k, v in got.items()}
    assert back == base
