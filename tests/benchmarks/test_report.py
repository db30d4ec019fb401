"""A tiny study end to end: the report directory, its tables, plots and index.html, and the
``galton bench`` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from galton.benchmarks.report import write_report
from galton.benchmarks.study import Study, run_study
from galton.cli import main

pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    study = Study(name="tiny", datasets=("welinder_bluebirds", "imagenet_real_golden"), models=("mv", "default"),
                  k=(1, 3), repeats=2, bootstrap=60, best_annotators=2, engine="local",
                  simulation={"n_tasks": 200, "n_workers": 20, "accuracy_mean": 0.7, "k": [1, 3]},
                  grid={"worker_correlation": [0.0, 0.3]})
    study = study.replace()  # regenerates the study text
    result = run_study(study, progress=False)
    out = write_report(result, tmp_path_factory.mktemp("rep") / "report")
    return result, out


def test_tables_hold_the_expected_rows(tiny) -> None:
    result, out = tiny
    t = result.tables
    curves = t["curves"]
    # welinder: 2 models x 2 k; imagenet: gold and leave-one-out curves; 2 simulated points
    assert curves.height == 4 + 8 + 8
    assert curves.filter(pl.col("reference") == "experts_loo")["source"].unique().to_list() == ["imagenet_real_golden"]
    ex = t["experts"]
    inet = ex.filter(pl.col("source") == "imagenet_real_golden")
    assert inet.filter(pl.col("kind").str.contains("leave-one-out")).height == 6  # 5 experts + mean
    assert inet.filter(pl.col("kind").str.contains("split half")).height == 2
    assert ex.filter(pl.col("kind").str.contains("post hoc")).height == 2
    assert ex.filter(pl.col("kind") == "simulated").height == 2
    ce = t["crowd_equivalent"]
    assert not ce["kind"].str.contains("post hoc").any()  # never used for crowd-equivalents
    assert ce.height == (6 + 2 + 2 + 2) * 2  # experts x models
    assert t["sweep"].height == 4 and "grid_worker_correlation" in t["sweep"].columns
    assert set(t["runs"]["error"]) == {""}
    for name, df in t.items():
        assert pl.read_parquet(out / "tables" / f"{name}.parquet").equals(df), name
        md = (out / "tables" / f"{name}.md").read_text().strip().splitlines()
        assert len(md) == df.height + 2 and md[0].startswith("| source")


def test_page_and_plots(tiny) -> None:
    result, out = tiny
    page = (out / "index.html").read_text()
    for src in result.meta["sources"]:
        assert src in page
    assert "a uniformly random tied label" in page  # the tie rule is stated
    assert "leave-one-out" in page and "Seeds" in page and '"numpy"' in page
    assert 'name = "tiny"' in page  # the study file
    imgs = [p.split("'")[0] for p in page.split("<img src='")[1:]]
    assert len(imgs) == 4 + 1 + 1  # 4 curve plots, crowd-equivalent, one sweep axis
    for p in imgs:
        assert (out / p).read_bytes()[:8] == PNG, p
    assert (out / "study.toml").read_text() == result.study.text
    assert not list(out.parent.glob(".*"))  # no temporary directory left behind


def test_cli_bench(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench"
    args = ["bench", "--datasets", "welinder_bluebirds", "--models", "mv", "--k", "1-2", "--repeats", "2",
            "--bootstrap", "40", "--engine", "local", "--no-plots", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "crowd-equivalent" in text and str(out / "index.html") in text
    curves = pl.read_parquet(out / "tables" / "curves.parquet")
    assert curves["k"].to_list() == [1, 2] and curves["model"].unique().to_list() == ["mv"]
    assert 'names = ["welinder_bluebirds"]' in (out / "study.toml").read_text()
    assert main(args + ["--quiet", "--seed", "9"]) == 0  # an earlier report may be replaced
    assert capsys.readouterr().out == ""
    again = pl.read_parquet(out / "tables" / "curves.parquet")
    assert again.height == 2 and not np.allclose(again["accuracy"], curves["accuracy"])  # new seed
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    assert main(args[:-1] + [str(other)]) == 2  # never replaces a directory that is not a report
    assert "not a galton bench report" in capsys.readouterr().err
    assert (other / "keep.txt").read_text() == "x"
    assert main(["bench", "--models", "nope", "--out", str(tmp_path / "n")]) == 2
    assert "valid names" in capsys.readouterr().err
    assert not (tmp_path / "n").exists()


def test_bench_checks_for_matplotlib_before_the_run(tmp_path, monkeypatch, capsys):
    """Without matplotlib, `galton bench` stops before spending the study's time, and says how to
    fix it; --no-plots runs without it."""
    import importlib.util as iu

    from galton.benchmarks import study as study_mod

    real = iu.find_spec
    monkeypatch.setattr(iu, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    ran = []
    monkeypatch.setattr(study_mod, "run_study", lambda *a, **k: ran.append(1))
    assert main(["bench", "--datasets", "welinder_bluebirds", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "--no-plots" in err and err.count("\n") == 1
    assert ran == [] and not (tmp_path / "o").exists()
