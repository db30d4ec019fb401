"""``galton aggregate ... --workers-output FILE``: the worker report written atomically next to the
results, refused before any work where it cannot be written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import galton
from galton import datasets
from galton.aggregator.worker_report import worker_report
from galton.cli import main

FLAGS = ["too_little_data", "constant", "uninformative", "adversarial"]


def run(argv: list, capsys) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_writes_the_report_of_the_fitted_model(tmp_path: Path, capsys, suffix: str) -> None:
    target = tmp_path / f"workers{suffix}"
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "-m", "ds", "--seed", "0",
                        "-o", tmp_path / "labels.csv", "--workers-output", target], capsys)
    assert rc == 0, err
    got = pl.read_csv(target) if suffix == ".csv" else pl.read_parquet(target)
    ds = datasets.load("welinder_bluebirds", frame="pandas")
    ref = worker_report(galton.aggregate(ds.judgments, "ds", random_state=0), output="polars")
    assert got.columns == ref.columns and got.columns[0] == "worker"
    assert got.height == ds.judgments.worker.nunique()
    np.testing.assert_allclose(got["skill"].to_numpy(), ref["skill"].to_numpy(), rtol=1e-12)
    for flag in FLAGS:
        assert got[flag].to_list() == ref[flag].to_list()
    rows = {line.split("  ")[0]: line for line in out.splitlines()}
    assert str(target) in rows["workers output"] and "uninformative" in rows["flagged"]


def test_an_interrupted_write_leaves_nothing(tmp_path: Path, capsys, monkeypatch) -> None:
    from galton.io import _write as gio

    real = gio._write_to
    calls = []

    def interrupted(fh, table, fmt):
        calls.append(table.column_names)
        if table.column_names[0] == "worker":
            fh.write(b"worker,n_judgments\n")
            raise KeyboardInterrupt
        return real(fh, table, fmt)

    monkeypatch.setattr(gio, "_write_to", interrupted)
    (tmp_path / "workers.csv").write_text("old\n")
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "-m", "mv",
                        "--workers-output", tmp_path / "workers.csv"], capsys)
    assert rc == 130 and err == "galton: interrupted\n" and calls
    assert [p.name for p in tmp_path.iterdir()] == ["workers.csv"]
    assert (tmp_path / "workers.csv").read_text() == "old\n"


def test_refused_before_any_work(tmp_path: Path, capsys) -> None:
    data = tmp_path / "in.csv"
    data.write_text("task,worker,label\n1,a,0\n1,b,1\n2,a,1\n")
    for bad, why in ((data, "input"), (tmp_path / "workers", "must be a file"), ("-", "must be a file")):
        rc, _, err = run(["aggregate", data, "--workers-output", bad], capsys)
        assert rc == 2 and err.count("\n") == 1 and why in err, err
    rc, _, err = run(["aggregate", data, "-o", tmp_path / "x.csv", "--workers-output", tmp_path / "x.csv"], capsys)
    assert rc == 2 and "same file" in err and not (tmp_path / "x.csv").exists()
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("worker,left,right,label\na,x,y,x\nb,x,y,y\n")
    rc, _, err = run(["aggregate", pairs, "--workers-output", pairs], capsys)
    assert rc == 2 and "input" in err  # pairwise data too: never over an input
    assert data.read_text().startswith("task,worker,label")


def test_pairwise_data_gets_the_rater_report(tmp_path: Path, capsys) -> None:
    """The rater report of a pairwise fit (Bradley-Terry: agreement with the fitted order) through
    the CLI equals model.workers_ in Python."""
    import polars as pl

    import galton

    rows = ["worker,left,right,label"]
    for w, n_wrong in (("good", 0), ("bad", 6)):
        for i in range(8):
            a, b = f"i{i}", f"i{i + 1}"
            rows.append(f"{w},{a},{b},{b if i < n_wrong else a}")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("\n".join(rows) + "\n")
    rc, out, err = run(["aggregate", pairs, "--workers-output", tmp_path / "w.csv"], capsys)
    assert rc == 0, err
    got = pl.read_csv(tmp_path / "w.csv")
    want = galton.aggregate(str(pairs), kind="pairwise", output="polars").workers_
    assert got.columns == want.columns and got.height == 2
    for col in want.columns:
        if want[col].dtype.is_float():
            assert got[col].to_list() == pytest.approx(want[col].to_list(), nan_ok=True), col
    assert "workers" in out


def test_pairwise_data_without_a_worker_column_says_so(tmp_path: Path, capsys) -> None:
    """A pairwise file whose raters sit in a ``rater`` column: the fit warned of nothing and the
    summary had no workers line, though every comparison went to one anonymous worker. Now the
    warning names the column and --worker-col, and the summary says there were no workers; with
    --worker-col the raters are read."""
    rows = ["rater,left,right,label"]
    for w, n_wrong in (("good", 0), ("bad", 6)):
        for i in range(8):
            a, b = f"i{i}", f"i{i + 1}"
            rows.append(f"{w},{a},{b},{b if i < n_wrong else a}")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("\n".join(rows) + "\n")
    rc, out, err = run(["aggregate", pairs, "-m", "crowd_bt", "--workers-output", tmp_path / "w.csv"], capsys)
    assert rc == 0, err
    assert "'rater'" in err and "--worker-col" in err and "worker_col=" not in err
    summary = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    assert summary["workers"].startswith("none (one anonymous worker)")
    assert pl.read_csv(tmp_path / "w.csv").height == 1
    rc, out, err = run(["aggregate", pairs, "-m", "crowd_bt", "--worker-col", "rater",
                        "--workers-output", tmp_path / "w.csv"], capsys)
    assert rc == 0 and "warning" not in err
    assert dict(line.split(None, 1) for line in out.splitlines() if line.strip())["workers"].startswith("2 in")
