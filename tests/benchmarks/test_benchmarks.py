"""Tests for galton.benchmarks: the simulator, the table helpers, and both benchmark scripts run on
tiny configurations (bundled data and small simulations only; each test takes seconds)."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pandas as pd
import pytest

from galton.aggregator import create
from galton.benchmarks import _common, accuracy, speed
from galton.benchmarks._common import (fmt_ratio, markdown_table, parse_markdown_table, simulate_ds,
                                       to_pandas, write_atomic)


# ------------------------------------------------------------------------------------ simulator
def test_simulator_worker_accuracy_matches_its_parameter():
    sim = simulate_ds(6000, 15, 3, 5, seed=7, accuracy=(0.5, 0.9))
    correct = (sim.label == sim.truth[sim.task]).astype(float)
    n = np.bincount(sim.worker, minlength=15)
    emp = np.bincount(sim.worker, weights=correct, minlength=15) / n
    se = np.sqrt(sim.accuracy * (1 - sim.accuracy) / n)
    assert n.min() > 1500
    assert np.all(np.abs(emp - sim.accuracy) < 4.5 * se), (emp, sim.accuracy)
    # the errors follow each worker's confusion row, not a uniform spread
    w = 0
    rows = sim.task[sim.worker == w]
    lab = sim.label[sim.worker == w]
    tr = sim.truth[rows]
    for k in range(3):
        freq = np.bincount(lab[tr == k], minlength=3) / max((tr == k).sum(), 1)
        assert np.allclose(freq, sim.confusion[w, k], atol=0.06)


def test_simulator_structure_and_seeding():
    sim = simulate_ds(500, 12, 4, 6, seed=3)
    assert sim.task.dtype == sim.worker.dtype == sim.label.dtype == sim.truth.dtype == np.int32
    assert sim.task.size == 3000 and sim.truth.size == 500 and sim.accuracy.size == 12
    assert np.array_equal(sim.task, np.repeat(np.arange(500), 6))
    per_task = sim.worker.reshape(500, 6)
    assert all(len(set(row)) == 6 for row in per_task.tolist())  # distinct workers within a task
    assert sim.label.min() >= 0 and sim.label.max() <= 3
    assert np.allclose(sim.confusion.sum(axis=2), 1.0)
    assert np.allclose(np.einsum("wkk->wk", sim.confusion), sim.accuracy[:, None])
    again = simulate_ds(500, 12, 4, 6, seed=3)
    other = simulate_ds(500, 12, 4, 6, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(sim, again))
    assert not np.array_equal(sim.label, other.label)
    dense = simulate_ds(50, 5, 2, 5, seed=1)  # every worker on every task
    assert all(sorted(r) == [0, 1, 2, 3, 4] for r in dense.worker.reshape(50, 5).tolist())
    frame = to_pandas(sim)
    assert list(frame.columns) == ["task", "worker", "label"] and len(frame) == 3000


def test_simulator_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="distinct workers"):
        simulate_ds(10, 3, 2, 4)
    with pytest.raises(ValueError, match="accuracy range"):
        simulate_ds(10, 5, 2, 2, accuracy=(0.9, 0.5))


# ------------------------------------------------------------------------------------ helpers
def test_markdown_table_round_trip_and_atomic_write(tmp_path):
    text = markdown_table(["a", "b"], [["x", 1.5], ["yy", "n/a"]])
    header, rows = parse_markdown_table("intro\n\n" + text + "\n\nafter")
    assert header == ["a", "b"] and rows == [["x", "1.5"], ["yy", "n/a"]]
    with pytest.raises(ValueError, match="cells"):
        markdown_table(["a", "b"], [["only one"]])
    out = write_atomic(tmp_path / "sub" / "r.md", text)
    assert out.read_text() == text + "\n"
    assert [p.name for p in out.parent.iterdir()] == ["r.md"]  # no temporary file left behind


def test_accuracy_of_counts_only_gold_tasks_with_judgments():
    judg = pd.DataFrame({"task": [1, 1, 2, 3, 4], "worker": list("ababa"), "label": [0, 0, 1, 1, 0]})
    gold = pd.Series([0, 0, 1, 1], index=[1, 2, 3, 9])  # task 9 has no judgments
    labels = pd.Series([0, 1, 1, 0], index=[1, 2, 3, 4])
    assert accuracy.accuracy_of(labels, gold, judg) == pytest.approx(2 / 3)
    # a task without a prediction counts as wrong
    assert accuracy.accuracy_of(labels.drop(3), gold, judg) == pytest.approx(1 / 3)


def test_majority_vote_breaks_ties_to_the_lowest_label():
    judg = pd.DataFrame({"task": [1, 1, 2, 2, 2], "worker": list("abcde"), "label": ["y", "x", "z", "y", "z"]})
    mv = accuracy.majority_vote(judg)
    assert mv.to_dict() == {1: "x", 2: "z"}


# ------------------------------------------------------------------------------------ accuracy
def _tiny_sets():
    out = {}
    for seed, k in ((11, 2), (12, 3)):
        sim = simulate_ds(150, 10, k, 5, seed=seed, accuracy=(0.6, 0.9))
        frame = to_pandas(sim)
        gold = pd.Series(sim.truth[:120].astype(np.int64), index=np.arange(120))  # gold on a subset
        out[f"sim{k}"] = (frame, gold)
    return out


def _boom():
    class Boom:
        def fit_predict(self, data):
            raise ValueError("needs binary labels")
    return Boom()


def test_run_accuracy_table_rows_columns_and_means():
    from galton.aggregator import DawidSkene

    sets = _tiny_sets()
    specs = [*accuracy.galton_specs(["ds"]),
             accuracy.ModelSpec("x:fails", _boom),
             accuracy.ModelSpec("x:binary", lambda: DawidSkene(), binary_only=True),
             accuracy.ModelSpec("x:slow", lambda: DawidSkene(), max_judgments=500)]
    res = accuracy.run_accuracy(sets, specs, default_column="galton:ds")
    header, rows = parse_markdown_table(accuracy.accuracy_table(res))
    # the model that raised everywhere is dropped from the table and explained in a note
    assert header == ["dataset", "galton:ds", "x:binary", "x:slow", "ref:MV"]
    assert any("x:fails" in n and "needs binary labels" in n for n in res.notes)
    assert [r[0] for r in rows] == ["sim2", "sim3", "mean"]
    by = {r[0]: dict(zip(header, r)) for r in rows}
    assert by["sim3"]["x:binary"] == "n/a" and by["sim2"]["x:binary"] != "n/a"
    assert by["sim2"]["x:slow"] == by["sim3"]["x:slow"] == "skipped (slow)"
    assert by["mean"]["x:slow"] == "n/a"
    assert by["mean"]["x:binary"] == by["sim2"]["x:binary"] + " (n=1)"
    # each cell is the hand-computed accuracy of the model on the gold tasks
    for name, (frame, gold) in sets.items():
        lab = DawidSkene(random_state=0).fit(frame).labels_
        expect = float(np.mean(lab.reindex(gold.index).to_numpy() == gold.to_numpy()))
        assert res.value(name, "galton:ds") == pytest.approx(expect)
        assert by[name]["galton:ds"] == f"{expect:.3f}"
        mv = accuracy.majority_vote(frame)
        assert res.value(name, "ref:MV") == pytest.approx(float(np.mean(mv.loc[gold.index].to_numpy() == gold.to_numpy())))
    mean = (res.value("sim2", "galton:ds") + res.value("sim3", "galton:ds")) / 2
    assert by["mean"]["galton:ds"] == f"{mean:.3f}"
    # fit times are recorded for models that ran, and the report renders
    assert res.cells["sim2"]["galton:ds"].seconds > 0
    text = accuracy.render(res)
    assert "## Fit time" in text and "versus majority vote" in text


def test_calibration_of_by_hand_and_in_the_report():
    probas = pd.DataFrame({"a": [0.9, 0.6, 0.2, 0.5], "b": [0.1, 0.4, 0.8, 0.5]}, index=[1, 2, 3, 4])
    gold = pd.Series(["a", "b", "b", "c"], index=[1, 2, 3, 9])  # task 9 has no probabilities
    acc, conf, ece, nll = accuracy.calibration_of(probas, gold)
    # tasks 1, 2, 3: right, wrong, right; top probabilities 0.9, 0.6, 0.8 in bins 9, 6, 8
    assert acc == pytest.approx(2 / 3) and conf == pytest.approx((0.9 + 0.6 + 0.8) / 3)
    assert ece == pytest.approx((abs(0.9 - 1) + abs(0.6 - 0) + abs(0.8 - 1)) / 3)
    assert nll == pytest.approx(-(np.log(0.9) + np.log(0.4) + np.log(0.8)) / 3)
    # a gold label the model never gives costs the floor
    _, _, _, miss = accuracy.calibration_of(probas, pd.Series(["c"], index=[1]))
    assert miss == pytest.approx(-np.log(1e-6))
    assert accuracy.calibration_of(None, gold) is None
    # in a run: each cell carries the model's numbers; the report has the table of means
    sets = _tiny_sets()
    res = accuracy.run_accuracy(sets, accuracy.galton_specs(["ds", "bds"]), default_column="galton:bds")
    for name, (frame, g) in sets.items():
        want = accuracy.calibration_of(create("bds").fit(frame).probas_, g)
        assert res.cells[name]["galton:bds"].calibration == pytest.approx(want)
        # the row "as fitted": the same fit before its tempering, equal to a fit without calibration
        raw = accuracy.calibration_of(create("bds", calibrate=False).fit(frame).probas_, g)
        assert res.cells[name]["galton:bds"].calibration_as_fitted == pytest.approx(raw, abs=1e-9)
    _, rows = parse_markdown_table(accuracy.calibration_table(res))
    assert [r[0] for r in rows] == ["galton:ds", "galton:bds", "galton:bds as fitted"] and rows[1][1] == "2"
    mean_nll = np.mean([res.cells[n]["galton:bds"].calibration[3] for n in sets])
    assert rows[1][5] == f"{mean_nll:.3f}"
    assert "## Calibration of the probabilities" in accuracy.render(res)


def test_as_fitted_leaves_a_lone_tasks_repeated_rows_untempered():
    """The report's "as fitted" un-tempers each task by its judgments; a task one worker judged in repeated rows
    gets the posterior predictive, never tempered, so un-tempering it by its rows moved it (0.9984 -> 1.0): it is
    un-tempered by 1, and the whole fit "as fitted" equals a fit without calibration."""
    import galton
    from galton.benchmarks._accuracy_report import as_fitted, task_temperatures_of

    df = galton.load_dataset("zheng_s_dog", frame="pandas").judgments.astype({"task": str})
    w = df.worker.value_counts().index[0]
    frame = pd.concat([df, pd.DataFrame([("lone", w, 2)] * 3, columns=["task", "worker", "label"])])
    fitted = create("bds").fit(frame, duplicates="keep")
    raw = create("bds", calibrate=False).fit(frame, duplicates="keep").probas_
    assert fitted.rho_ > 0.1
    tau = task_temperatures_of(fitted, fitted.probas_)
    assert tau[list(fitted.probas_.index).index("lone")] == 1.0
    back = as_fitted(fitted.probas_, tau)
    np.testing.assert_allclose(back.loc[raw.index].to_numpy(), raw.to_numpy(), atol=1e-9)


def _sleeper():
    class Sleeper:
        def fit_predict(self, data):
            time.sleep(30)
    return Sleeper()


def test_time_budget_kills_a_slow_fit_and_skips_larger_datasets():
    sets = _tiny_sets()
    sets["sim3"] = (pd.concat([sets["sim3"][0]] * 2, ignore_index=True), sets["sim3"][1])  # the larger one
    specs = [accuracy.ModelSpec("x:sleepy", _sleeper, budget_s=0.5),
             accuracy.ModelSpec("x:ds_budget", lambda: create("ds"), budget_s=60)]
    t0 = time.perf_counter()
    res = accuracy.run_accuracy(sets, specs)
    assert time.perf_counter() - t0 < 15  # the 30 s sleep was cut short, the second never ran
    assert res.cells["sim2"]["x:sleepy"].status == "skipped (slow)"
    assert "budget" in res.cells["sim2"]["x:sleepy"].error
    assert "750 judgments" in res.cells["sim3"]["x:sleepy"].error  # skipped without a run
    assert res.value("sim2", "x:ds_budget") is not None  # a fit within budget returns its accuracy
    assert "skipped (slow) on sim2, sim3" not in accuracy.render(res)  # two different reasons, two notes


def _manual_result(values):
    datasets = list(values)
    cols = list(next(iter(values.values())))
    cells = {d: {c: (accuracy.Cell(v) if isinstance(v, float) else accuracy.Cell(status=v)) for c, v in row.items()}
             for d, row in values.items()}
    return accuracy.AccuracyResult(datasets, cols, cells, sizes={d: (10, 5, 2) for d in datasets},
                                   default_column="galton:bds", mv_column="galton:mv")


def test_default_versus_mv_flags_and_crowdkit_comparison():
    res = _manual_result({
        "a": {"galton:bds": 0.900, "galton:mv": 0.915, "crowdkit:DS": 0.95, "crowdkit:GLAD": "skipped (slow)"},
        "b": {"galton:bds": 0.800, "galton:mv": 0.805, "crowdkit:DS": 0.70, "crowdkit:GLAD": 0.70},
    })
    table, flagged = accuracy.versus_mv(res)
    assert flagged == ["a"]  # 1.5 points below; b is only 0.5 below
    _, rows = parse_markdown_table(table)
    assert [r[3] for r in rows] == ["-1.5", "-0.5"]
    ck_table, beats_all = accuracy.versus_crowdkit(res)
    _, rows = parse_markdown_table(ck_table)
    by = {r[0]: r for r in rows}
    # DS on both sets: 0.825 vs our 0.85 -> beats it; GLAD only on b: 0.70 vs our 0.80 -> beats it
    assert by["crowdkit:DS"][1:] == ["2", "0.825", "0.850", "yes"]
    assert by["crowdkit:GLAD"][1:] == ["1", "0.700", "0.800", "yes"]
    res.cells["a"]["crowdkit:DS"] = accuracy.Cell(0.99)
    res.cells["b"]["crowdkit:DS"] = accuracy.Cell(0.80)  # DS mean 0.895 > our 0.85
    assert accuracy.versus_crowdkit(res)[1] is False
    assert "beats every crowd-kit model's mean: **no**" in accuracy.render(res)


def test_default_versus_the_best_galton_model_and_the_gold_chosen_mean():
    """Issue 12's second per-dataset rule: the default against the best galton model of each dataset,
    flagged when more than 2 points below it, and the mean of that choice made with gold."""
    res = _manual_result({
        "a": {"galton:bds": 0.900, "galton:mv": 0.915, "galton:ds": 0.880, "crowdkit:DS": 0.99},
        "b": {"galton:bds": 0.800, "galton:mv": 0.750, "galton:ds": 0.850, "crowdkit:DS": 0.99},
        "c": {"galton:bds": 0.700, "galton:mv": 0.700, "galton:ds": "n/a", "crowdkit:DS": 0.99},
    })
    table, below, oracle = accuracy.versus_best(res)
    _, rows = parse_markdown_table(table)
    assert [r[2:5] for r in rows] == [["0.915", "mv", "-1.5"], ["0.850", "ds", "-5.0"], ["0.700", "bds, mv", "+0.0"]]
    assert below == ["b"]  # 1.5 points below on a is within 2; crowd-kit's columns do not count
    assert oracle == pytest.approx((0.915 + 0.850 + 0.700) / 3)
    text = accuracy.render(res)
    assert "more than 2 points below the best galton model: b" in text
    assert "after seeing the gold: mean **0.822** (the default: 0.800)" in text


def test_published_numbers_are_shown_next_to_ours():
    res = _manual_result({"zheng_d_product": {"galton:bds": 0.95, "galton:mv": 0.9, "crowdkit:DS": 0.941}})
    _, rows = parse_markdown_table(accuracy.published_table(res))
    by = {r[0]: r[1] for r in rows}
    assert by["DS"] == "0.941 / 0.940" and by["MV"] == "not run / 0.897"
    assert by["galton:bds"] == "0.950 / -"


def test_accuracy_cli_on_a_bundled_dataset_with_crowdkit(tmp_path, capsys):
    pytest.importorskip("crowdkit")
    out = tmp_path / "acc.md"
    assert accuracy.main(["--datasets", "act_cf", "--models", "ds,crowdkit:DS", "crowdkit:KOS", "--time-budget", "0",
                           "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.read_text() == printed
    header, rows = parse_markdown_table(printed)
    assert header[:3] == ["dataset", "galton:ds", "crowdkit:DS"]
    assert "crowdkit:KOS" not in header  # act_cf has 5 classes: KOS never applies, so it is a note
    from crowdkit.aggregation import DawidSkene as CK

    from galton.datasets import load
    ds = load("act_cf", frame="pandas")
    gold = ds.gold.set_index("task")["label"]
    ck = CK().fit(ds.judgments).labels_
    assert rows[0][2] == f"{accuracy.accuracy_of(ck, gold, ds.judgments):.3f}"


# ------------------------------------------------------------------------------------ speed
def _res(bench, impl, secs, **kw):
    return speed.JobResult(speed.Job(bench, impl, 1000, 20), seconds=secs, iterations=20, accuracy=0.9,
                           peak_mib=100.0, fit_increase_mib=10.0, memory_source="VmHWM", **kw)


def test_speed_ratios_and_table():
    results = [_res("ds", "galton", [0.5, 0.4, 0.6], numba=True, threads=2),
               _res("ds", "galton-numpy", [2.0], numba=False),
               _res("ds", "crowdkit", [10.0, 12.0]),
               _res("glad", "galton", [0.05]),
               _res("glad", "crowdkit", [4.0])]
    results[0].estep_s, results[0].floor_s = 0.02, 0.008
    results.insert(1, _res("ds", "galton", [1.1], numba=True, threads=1))
    results[1].job.threads = 1
    ups = speed.speedups(results)
    assert ups[0] == pytest.approx(11.0 / 0.5)  # medians: 11.0 / 0.5
    assert ups[1] == pytest.approx(10.0)  # the one-thread row has its own ratio
    assert ups[2] == pytest.approx(5.5)
    assert ups[4] == pytest.approx(80.0)
    text = speed.render(results)
    header, rows = parse_markdown_table(text)
    assert header[:5] == ["benchmark", "implementation", "threads", "judgments", "iterations"]
    assert "speed-up vs crowd-kit" in header and "peak RSS (MiB)" in header
    col = header.index("speed-up vs crowd-kit")
    assert [r[col] for r in rows] == ["22.0x", "10.0x", "5.5x", "1.0x", "80.0x", "1.0x"]
    assert rows[0][header.index("s / iteration")] == f"{0.5 / 20:.3f}"
    assert rows[0][header.index("E-step / floor")] == "2.5x" and rows[0][header.index("threads")] == "2"
    assert rows[0][header.index("judgments / s (E-step)")] == "50,000"
    assert "DS: galton is 22.0x faster than crowd-kit (target >= 50x: NOT met)" in text
    assert "DS E-step / floor: 2.50x (target <= 3x: met)" in text
    assert "target >= 30x with a busy process" in speed.render(results, busy=1)
    assert "GLAD: galton is 80.0x faster than crowd-kit (target >= 100x: NOT met)" in text
    assert "numba kernel is 4.0x faster" in text
    assert fmt_ratio(math.nan) == "n/a"


def test_speed_jobs_skip_missing_models():
    jobs, notes = speed.make_jobs(["ds", "glad"], 5000, galton_models=["ds"])
    assert [(j.bench, j.impl) for j in jobs] == [("ds", "galton"), ("ds", "galton-numpy"), ("ds", "crowdkit")]
    assert any("glad" in n for n in notes)
    with pytest.raises(ValueError, match="unknown speed benchmark"):
        speed.make_jobs(["mace"], galton_models=["mace"])


def test_speed_in_process_runs_exactly_the_iterations_asked():
    have_ck = True
    try:
        import crowdkit  # noqa: F401
    except Exception:  # noqa: BLE001
        have_ck = False
    jobs, _ = speed.make_jobs(["ds"], 3000, numpy=False, crowdkit=have_ck, galton_models=["ds"])
    results = speed.run_jobs(jobs, isolate=False)
    assert all(r.error is None for r in results), [r.error for r in results]
    for r in results:
        assert r.iterations == 20 and r.accuracy > 0.75 and r.peak_mib > 0  # ~3 judgments per worker
    if have_ck:  # the same EM on the same data: the two libraries agree on (almost) every task
        assert abs(results[0].accuracy - results[1].accuracy) < 0.01


def test_speed_subprocess_numpy_path(tmp_path):
    res, = speed.run_in_turns([speed.Job("ds", "galton-numpy", 2000, 3, warmup=False)], timeout=120)
    assert res.error is None, res.error
    assert res.numba is False  # GALTON_NO_NUMBA=1 reached the child
    assert res.iterations == 3 and res.memory_source in ("VmHWM", "ru_maxrss")
    out = tmp_path / "speed.md"
    assert speed.main(["--models", "ds", "--judgments", "1000", "--ds-iter", "2", "--no-crowdkit", "--no-numpy",
                       "--in-process", "--out", str(out)]) == 0
    header, rows = parse_markdown_table(out.read_text())
    assert len(rows) == 1 and rows[0][header.index("iterations")] == "2"


def test_common_memory_helpers():
    assert _common.reset_peak_rss() in (True, False)
    peak, source = _common.peak_rss_mib()
    assert peak > 0 and source in ("VmHWM", "ru_maxrss")


WITHOUT_RESOURCE = r"""
import importlib, pkgutil, sys
sys.modules["resource"] = None  # as on Windows: no such module
import galton.benchmarks as b
failed = []
for m in pkgutil.walk_packages(b.__path__, "galton.benchmarks."):
    try:
        importlib.import_module(m.name)
    except ImportError as exc:
        failed.append((m.name, str(exc)))
print(failed)
from galton.benchmarks import _common
_common._status_kib = lambda field: None  # no /proc either
print(_common.peak_rss_mib())
"""


def test_the_benchmarks_import_without_the_resource_module():
    """``resource`` is Unix-only: imported at the top of ``_common``, it made ``galton bench`` and
    every benchmark script fail on Windows ("No module named 'resource'"). Without it (and without
    /proc) every benchmark module imports and the peak memory is NaN, from no source."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", WITHOUT_RESOURCE], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.splitlines() == ["[]", "(nan, '')"], res.stdout


def test_only_categorical_galton_models_enter_the_accuracy_table(monkeypatch):
    from galton.aggregator import _registry

    class FakeRating:
        kind = "rating"

    monkeypatch.setitem(_registry._MODELS, "zz_fake_rating", FakeRating)
    keep, other = accuracy.categorical_models()
    assert "ds" in keep and "zz_fake_rating" not in keep
    assert other["zz_fake_rating"] == "rating"
    assert "galton:zz_fake_rating" not in [s.column for s in accuracy.galton_specs()]


def test_dataset_selection_keeps_categorical_sets_with_gold():
    import galton.datasets as gd

    names = accuracy.dataset_names()
    assert set(gd.names()) <= set(names)  # every bundled set has categorical gold
    if gd.shared_root() is None:
        pytest.skip("../shared/datasets not found; these tests run in CI")
    assert "dawid_skene_1979" not in names and "zheng_n_emotion" not in names
    assert not any(n.startswith("snow2008_affect_") for n in names)
    assert {"snow2008_rte", "zhou_web", "whitehill_duchenne"} <= set(names)
    with pytest.raises(ValueError, match="numeric or without gold"):
        accuracy.dataset_names(["zheng_n_emotion"])


def test_preference_speed_table_compares_per_iteration(monkeypatch):
    """crowd-kit's BradleyTerry stops after two iterations: the table compares per iteration too."""
    import argparse

    from galton.benchmarks import preferences as prefs

    fake = {
        "bt:galton:big": dict(seconds=0.5, iterations=50), "bt:galton-cold:big": dict(seconds=0.9, iterations=50),
        "noisy_bt:galton:big": dict(seconds=2.0, iterations=100), "noisy_bt:galton:small": dict(seconds=0.1, iterations=80),
        "bt:crowdkit:big": dict(seconds=3.0, iterations=2), "noisy_bt:crowdkit:small": dict(seconds=30.0, iterations=40),
    }

    def run(job, argv):
        return {"job": job, "first": fake[job]["seconds"], "spearman": 0.9, "peak_mib": 100.0, "rows": 1000,
                **fake[job]}

    monkeypatch.setattr(prefs, "_run_subprocess", run)
    args = argparse.Namespace(skip_crowdkit=False, noisy_crowdkit="small")
    header, rows = parse_markdown_table(prefs.speed_section(args, []))
    assert "s / iteration" in header
    bt_ck = next(r for r in rows if r[0] == "BradleyTerry crowd-kit (stops at 2)")
    assert bt_ck[header.index("s / iteration")] == "1.5000"
    # 3.0 / 2 per iteration against 0.5 / 50: 150x per iteration, 6x to convergence
    assert "6.0x faster to convergence; per iteration galton 150x faster (target >= 50x: met)" in bt_ck[-1]
    # where crowd-kit is the faster one the note says so (it printed "galton 0x faster")
    fake["noisy_bt:galton:small"] = dict(seconds=60.0, iterations=80)
    header, rows = parse_markdown_table(prefs.speed_section(args, []))
    small = next(r for r in rows if r[0] == "NoisyBT crowd-kit, small")
    assert small[-1].startswith("measured: crowd-kit 2.0x faster")


def test_default_against_ds_table_times_and_scores_every_row():
    """``speed --wide`` / ``--default-1m``: one row each for DS (at its default, crowd-kit's early
    stop, and run to convergence), the default and the reference models, whose iterations and
    accuracies are those of fits run here on the same simulation, and the ratio lines judge the
    default against both DS rows with the target given."""
    shape = {"n_tasks": 1500, "n_workers": 300, "n_classes": 3, "per_task": 4}
    text = speed.default_against_ds(repeat=1, shape=shape, target=1e9)
    header, rows = parse_markdown_table(text)
    col = {name: i for i, name in enumerate(header)}
    assert [r[col["model"]] for r in rows] == ["ds", "ds converged", "bds", "bwa"]
    sim = simulate_ds(1500, 300, 3, 4, 0)
    frame = to_pandas(sim)
    for row in rows:
        name = row[col["model"]]
        model = (create("ds", stopping="likelihood", tol=1e-7) if name == "ds converged" else create(name)).fit(frame)
        assert row[col["iterations"]] == str(model.n_iter_)
        truth = np.mean(model.labels_.sort_index().to_numpy() == sim.truth)
        assert float(row[col["accuracy vs truth"]]) == pytest.approx(truth, abs=5e-5)
        assert row[col["judgments"]] == "6,000"
    assert "target <= 1000000000x: met" in text and "default / DS run to convergence:" in text


def test_occasional_crowd_table_times_the_default_on_either_side_of_the_label_limit():
    """``speed --occasional``: a row per label count with the form the default took (full matrices
    at MANY_LABELS, one accuracy per worker above), the workers of the simulation (most with one or two
    judgments), and the iterations and accuracy of fits run here on the same simulation."""
    from galton.aggregator._bayes_one_coin import MANY_LABELS
    from galton.benchmarks.speed_default import occasional_crowd, simulate_occasional

    shape = {"n_tasks": 600, "per_task": 5, "n_ids": 3000}
    labels = (MANY_LABELS, MANY_LABELS + 1)
    header, rows = parse_markdown_table(occasional_crowd(1, shape, labels))
    col = {name: i for i, name in enumerate(header)}
    assert [(r[col["labels"]], r[col["form"]]) for r in rows] == [("32", "full"), ("33", "one_coin")]
    for k, row in zip(labels, rows):
        frame, truth = simulate_occasional(k, shape)
        model = create("bds").fit(frame)
        assert row[col["iterations"]] == str(model.n_iter_) and row[col["judgments"]] == "3,000"
        assert row[col["workers"]] == f"{frame['worker'].nunique():,}" and frame["worker"].value_counts().median() <= 2
        truth_share = np.mean(model.labels_.sort_index().to_numpy() == truth)
        assert float(row[col["accuracy vs truth"]]) == pytest.approx(truth_share, abs=5e-5)
        assert float(row[col["CPU s (median)"]]) > 0 and float(row[col["peak allocated MiB (one fit)"]]) > 0


@pytest.mark.parametrize("before", [None, "0"])
def test_after_idle_times_both_placements_in_turns_and_restores_the_switch(before, monkeypatch) -> None:
    """``speed --after-idle``: a row for spread threads and one for the scheduler's placement, each
    with its fits after idle (the range covers the median) and back to back; the switch it turns
    over is left as it found it (unset, or the user's value)."""
    if before is None:
        monkeypatch.delenv("GALTON_SPREAD_THREADS", raising=False)
    else:
        monkeypatch.setenv("GALTON_SPREAD_THREADS", before)
    shape = {"n_tasks": 800, "n_workers": 50, "n_classes": 3, "per_task": 3}
    text = speed.after_idle(repeat=2, idle=0.01, n_iter=3, shape=shape)
    assert os.environ.get("GALTON_SPREAD_THREADS") == before
    header, rows = parse_markdown_table(text)
    assert [r[0] for r in rows] == ["spread (default)", "GALTON_SPREAD_THREADS=0"]
    for row in rows:
        lo, hi = (float(x) for x in row[2].split("-"))
        assert lo <= float(row[1]) <= hi
    assert "2 fits after idle per row, 3 iterations" in text


@pytest.mark.parametrize("k", [2, 4, 6])
def test_floor_pass_adds_every_judgments_table_row_once(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The floor reads each judgment once and adds its K table entries (four classes at a time in
    registers, the rest one by one): its returned total is the sum of the table rows of all
    judgments, whatever K and however the tasks are cut into work items."""
    pytest.importorskip("numba")
    from galton.aggregator import _kernels_numba
    from galton.benchmarks._floor import floor_pass

    monkeypatch.setattr(_kernels_numba, "CHUNK_JUDGMENTS", 9000)  # several items of several blocks
    rng = np.random.default_rng(k)
    per_task = rng.integers(1, 8, 5000)
    indptr = np.concatenate([[0], np.cumsum(per_task)]).astype(np.int64)
    table = rng.normal(size=(60, k))
    wl = rng.integers(0, 60, int(indptr[-1])).astype(np.int32)
    assert floor_pass(indptr, wl, table) == pytest.approx(float(table[wl].sum()), rel=1e-12)


def test_crowdkit_suite_report_names_the_gaps_and_the_known_differences(tmp_path):
    """The crowd-kit test-suite script: JUnit outcomes per test, a table per file, and every test
    that passes with crowd-kit but not with galton listed, flagged when no known reason covers it."""
    from galton.benchmarks import crowdkit_tests as ckt

    junit = tmp_path / "j.xml"
    junit.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="tests.aggregation.test_ds_aggregation" name="test_a"/>'
        '<testcase classname="tests.aggregation.test_ds_aggregation.TestWorkerInitError" '
        'name="test_assign_inner_state_on_toy_ysda"><failure message="x"/></testcase>'
        '<testcase classname="tests.aggregation.test_kos_aggregation" name="test_kos_on_empty_input">'
        '<failure message="x"/></testcase>'
        '<testcase classname="tests.aggregation.test_kos_aggregation" name="test_new"><error message="x"/>'
        '</testcase></testsuite></testsuites>')
    ours = ckt._outcomes(junit)
    assert ours == {"test_ds_aggregation.py::test_a": "passed",
                    "test_ds_aggregation.py::TestWorkerInitError::test_assign_inner_state_on_toy_ysda": "failed",
                    "test_kos_aggregation.py::test_kos_on_empty_input": "failed",
                    "test_kos_aggregation.py::test_new": "error"}
    theirs = dict.fromkeys(ours, "passed")
    text = ckt.report(theirs, ours)
    assert "Fail with galton, pass with crowd-kit: 3" in text
    assert "`test_kos_aggregation.py::test_new`: NOT KNOWN: a drop-in gap" in text
    assert "echoes the given frame's row order" in text and "an empty fit" in text
    assert "| all " in text and "|     4 |" in text
    # galton only (crowd-kit not installed): every failing test is listed, crowd-kit's column is "-"
    alone = ckt.report({}, ours)
    assert "Fail with galton (crowd-kit not run): 3" in alone and "Pass with galton, fail" not in alone


def test_crowdkit_suite_changes_only_the_imports_and_reads_root_test_files(tmp_path):
    from galton.benchmarks import crowdkit_tests as ckt

    text = ("from crowdkit.aggregation import DawidSkene\nfrom crowdkit.aggregation.utils import evaluate\n"
            "import crowdkit.metrics.data as d\nfrom crowdkit.learning import CoNAL\nx = 'crowdkit.aggregation'\n")
    assert ckt.renamed(text) == ("from galton.aggregation import DawidSkene\nfrom galton.aggregation.utils import "
                                 "evaluate\nimport galton.metrics.data as d\nfrom crowdkit.learning import CoNAL\n"
                                 "x = 'crowdkit.aggregation'\n")
    junit = tmp_path / "j.xml"
    junit.write_text('<testsuites><testsuite><testcase classname="tests.test_utils" name="test_normalize_rows"/>'
                     '</testsuite></testsuites>')
    assert ckt._outcomes(junit) == {"test_utils.py::test_normalize_rows": "passed"}


def test_crowdkit_suite_excuses_exact_test_ids_with_true_reasons(tmp_path, capsys):
    """KNOWN matched by prefix ("test_" in MACE's file; "empty" anywhere), so 9 tests that pass with
    galton would have been excused "by design" had they broken; data_abc (a beats b, b beats c, a
    beats c) was called a 3-cycle, and MACE's and KOS's starts crowd-kit's draws from numpy's global
    generator (MACE's are seeded scipy draws, KOS seeds numpy with random_state). A checkout that is
    not there printed a FileNotFoundError traceback (bug hunt)."""
    from galton import NoisyBradleyTerry
    from galton.benchmarks import crowdkit_tests as ckt

    passing = ["test_mace_aggregation.py::test_aggregate_mace_on_simple[vb]",
               "test_mace_aggregation.py::test_aggregate_mace_on_toy_ysda[em]",
               "test_mace_aggregation.py::test_aggregate_mace_on_toy_ysda[vb]",
               "test_bt_aggregation.py::test_bradley_terry_step_by_step[0]",
               "test_classification_aggregation_edge_cases.py::test_gold_mv_empty",
               *(f"test_binary_relevance_aggregation.py::test_binary_relevance_aggregation_on_empty[aggregator{i}]"
                 for i in range(4))]
    assert [t for t in passing if ckt.known_reason(t)] == []
    assert ckt.known_reason("test_mace_aggregation.py::test_thetas_on_simple")
    assert all(t.count("::") in (1, 2) and t.split("::")[0].endswith(".py") for t in ckt.KNOWN)
    # data_abc has no cycle: galton orders it a > b > c; only data_equal (c beats a) is one
    abc = pd.DataFrame([["w1", "t1", "a", "b", "a"], ["w1", "t2", "b", "c", "b"], ["w1", "t3", "c", "a", "a"]],
                       columns=["worker", "task", "left", "right", "label"])
    scores = NoisyBradleyTerry(n_iter=10, tol=0).fit(abc).scores_
    assert scores["a"] > scores["b"] > scores["c"]
    for case in ("test_noisy_bradley_terry[10-0]", "test_noisy_bradley_terry[100500-1e-05]"):
        why = ckt.known_reason(f"test_bt_aggregation.py::{case}")
        assert "3-cycle" not in why and "a beats c" in why and "a > b > c" in why
    assert "3-cycle" in ckt.known_reason("test_bt_aggregation.py::test_noisy_bradley_terry_equal")
    for t in ("test_mace_aggregation.py::test_thetas_on_simple",
              "test_kos_aggregation.py::test_aggregate_kos_on_data_with_bool_labels[10]"):
        assert "global" not in ckt.known_reason(t) and "row order" in ckt.known_reason(t)
    assert ckt.main([str(tmp_path / "nowhere"), "--galton-only"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err and "crowd-kit checkout" in err and "Traceback" not in err


def test_the_ratings_benchmark_lists_every_rating_model_and_catd_beats_the_mean():
    from galton.aggregator import names
    from galton.benchmarks import ratings
    from galton.benchmarks._common import parse_markdown_table

    text = ratings.run(n_ratings=20_000, repeat=1)
    header, rows = parse_markdown_table(text[text.index("| model"):])
    assert header[:4] == ["model", "seconds", "iterations", "MAE vs truth"]
    mae = {r[0]: float(r[3]) for r in rows}
    assert sorted(mae) == names(kind="rating")
    # workers of noise 1-20: weighting them by reliability beats the plain mean clearly
    assert mae["catd"] < 0.8 * mae["rating_mean"] and mae["rating_gaussian"] < mae["rating_mean"]


def test_crowdkit_suite_says_how_mace_draws_its_start_as_mace_does():
    """The known reason of crowd-kit's MACE tests said galton's starts are keyed by (seed, task id);
    they are drawn from random_state, one draw per worker and label in sorted id order."""
    from galton import MACE
    from galton.benchmarks import crowdkit_tests as ckt

    reason = ckt.KNOWN["test_mace_aggregation.py::test_thetas_on_simple"]
    assert "task id" not in reason and "one draw per worker and label in sorted id order" in reason
    df = pd.DataFrame({"task": [7, 7, 3, 3, 5], "worker": ["b", "a", "b", "c", "a"],
                       "label": ["x", "y", "x", "x", "y"]})
    start = MACE(n_iter=0, n_restarts=1, method="em", random_state=3).fit(df)
    rng = np.random.default_rng(np.random.SeedSequence(3).spawn(1)[0])  # the one restart's stream
    spam = rng.uniform(1.0, 2.5, (3, 2))  # workers a, b, c (sorted), then their strategies over x, y
    strat = rng.uniform(1.0, 2.5, (3, 2))
    shown = [1, 0, 2]  # crowd-kit's bare arrays list the workers as they first appear: b, a, c
    np.testing.assert_allclose(np.asarray(start.spamming_), (spam / spam.sum(axis=1, keepdims=True))[shown], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(start.thetas_), (strat / strat.sum(axis=1, keepdims=True))[shown], rtol=1e-12)
    # task ids take no part: other ids, the same start
    renamed = MACE(n_iter=0, n_restarts=1, method="em", random_state=3).fit(df.assign(task=df["task"] * 100 + 1))
    np.testing.assert_array_equal(np.asarray(renamed.spamming_), np.asarray(start.spamming_))
