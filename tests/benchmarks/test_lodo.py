"""Leave-one-dataset-out scoring of the default model's hyperparameters (galton/benchmarks/lodo.py)."""

from __future__ import annotations

import numpy as np

from galton.benchmarks.lodo import grid_configs, lodo_scores, lodo_section, run_lodo


def test_lodo_scores_a_dataset_with_the_setting_best_on_the_others() -> None:
    # setting 0 is best on datasets 1 and 2; setting 1 wins only on dataset 0 (by a lot, so it also
    # has the best in-sample mean): left out, dataset 0 is scored with setting 0 -- in-sample
    # tuning would have credited it with 0.99
    acc = np.array([[0.60, 0.90, 0.90],
                    [0.99, 0.85, 0.86]])
    picked, scores = lodo_scores(acc)
    # left out: dataset 0 -> means on the others 0.90 vs 0.855; dataset 1 -> 0.75 vs 0.925; dataset 2 -> 0.75 vs 0.92
    assert picked.tolist() == [0, 1, 1]
    np.testing.assert_allclose(scores, [0.60, 0.85, 0.86])
    assert scores.mean() < acc.mean(axis=1).max()  # LODO is below the after-the-fact best


def test_grid_is_every_combination_in_order() -> None:
    cfgs = grid_configs({"a": (1, 2), "b": (3, 4, 5)})
    assert cfgs == [{"a": 1, "b": 3}, {"a": 1, "b": 4}, {"a": 1, "b": 5},
                    {"a": 2, "b": 3}, {"a": 2, "b": 4}, {"a": 2, "b": 5}]


def test_run_lodo_on_bundled_data_reports_the_shipped_setting() -> None:
    from galton.benchmarks.accuracy import load_dataset

    data = {n: load_dataset(n) for n in ("welinder_bluebirds", "act_cf")}
    cfgs = [{"prior_strength": 5.0, "shrinkage": 0.5}, {"prior_strength": 2.0, "shrinkage": 5.0}]
    res = run_lodo(data, "bds", cfgs)
    # the shipped setting (prior_strength 5, shrinkage 2) is added to the grid and scored too
    assert res["configs"][res["shipped"]] == {"prior_strength": 5.0, "shrinkage": 2.0}
    assert res["acc"].shape == (3, 2)
    # the shipped default on bluebirds: 0.7963 (108 tasks: 86/108), as in the accuracy benchmark
    assert round(res["acc"][res["shipped"], 0] * 108) == 86
    text = lodo_section(res)
    assert "leave-one-dataset-out" in text and f"{res['lodo'].mean():.4f}" in text


def test_one_dataset_is_refused_before_any_fit(monkeypatch, capsys) -> None:
    """With one dataset the mean over the others was 0 for every setting: argmax took the first grid
    entry and printed its accuracy as a "LODO mean"."""
    import pytest

    from galton.benchmarks import lodo

    with pytest.raises(ValueError, match="at least 2 datasets, not 1"):
        lodo_scores(np.array([[0.6], [0.9]]))
    monkeypatch.setattr(lodo, "run_lodo", lambda *a, **k: pytest.fail("fitted with one dataset"))
    with pytest.raises(SystemExit) as exc:
        lodo.main(["--datasets", "act_cf"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--datasets" in err and "at least 2 datasets, 1 given (act_cf)" in err
