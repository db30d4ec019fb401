"""Truth discovery for ratings (CATD, PM, PMTI): spark-crowd's own test numbers on its own test file,
Zheng et al.'s published N_Emotion error, weights and medians by hand, and what the weights recover
about simulated workers."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from galton import CATD, PM, PMTI, datasets
from galton.aggregator import ConvergenceWarning, get

SPARK_CROWD = Path(__file__).parent.parent / "data" / "spark_crowd" / "cont-ann.parquet"
SHARED = datasets.shared_root()
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared/datasets not found; these tests run in CI")


@pytest.fixture(scope="module")
def spark_data() -> pd.DataFrame:
    return pd.read_parquet(SPARK_CROWD).rename(columns={"example": "task", "annotator": "worker", "value": "label"})


def _one_step(cls: type, data: pd.DataFrame, **params):
    return cls(n_iter=1, **params).fit(data)  # one step, as spark-crowd's run stops there (no ConvergenceWarning)


def _spark_crowds(cls: type) -> dict:
    """The parameters that give spark-crowd's own model: its CATD takes the upper chi-square quantile."""
    return {"quantile": "upper"} if cls is CATD else {}


def _converging(cls: type, **params):
    """The model run to convergence: CATD takes one weight step by default."""
    return cls(n_iter=100, **params) if cls is CATD else cls(**params)


# spark-crowd/src/test/scala/{CATD,PM,PMTI}.scala: task values and annotator weights, tolerance 1e-4
SPARK_EXPECTED = {
    CATD: ({0: 21.142, 1: 20.7013, 3: 3.2777, 6: 8.4938}, {0: 0.2885, 1: 0.2878, 2: 0.2851}),
    PM: ({0: 21.145965, 1: 20.708624, 3: 3.286017, 6: 8.50105}, {0: 2.312872, 1: 2.310649, 2: 2.30007002}),
    PMTI: ({0: 20.796745, 1: 20.351422, 3: 2.7978586, 6: 8.042222}, {0: 0.0443846, 1: 0.042161, 7: 0.0}),
}


@pytest.mark.parametrize("cls", list(SPARK_EXPECTED), ids=lambda c: c.__name__)
def test_spark_crowds_own_test_numbers(spark_data, cls):
    model = _one_step(cls, spark_data, **_spark_crowds(cls))
    values, weights = SPARK_EXPECTED[cls]
    for task, want in values.items():
        assert model.scores_.loc[task] == pytest.approx(want, abs=1e-4), task
    for worker, want in weights.items():
        assert model.weights_.loc[worker] == pytest.approx(want, abs=1e-4), worker


def test_converged_fits_move_little_from_spark_crowds_one_step(spark_data):
    # spark-crowd's threshold (0.1 on the MSE between steps) stops after one step on this data;
    # run to convergence, CATD and PM change the values by a few thousandths
    for cls in (CATD, PM):
        full = _converging(cls, **_spark_crowds(cls)).fit(spark_data)
        assert full.converged_ and 2 <= full.n_iter_ < 20
        step = _one_step(cls, spark_data, **_spark_crowds(cls))
        gap = np.abs(full.scores_.to_numpy() - step.scores_.to_numpy())
        assert 1e-4 < gap.max() < 0.05


@needs_shared
def test_zheng_et_al_published_pm_error_on_n_emotion():
    # Zheng et al., VLDB 2017, N_Emotion mean absolute error of PM: 13.91 (absolute loss, weighted
    # median, weights over the largest loss, median start; their code runs 10 rounds)
    d = datasets.load_shared("zheng_n_emotion", frame="pandas")
    gold = d.gold.set_index("task")["label"].astype(float)
    model = PM(loss="absolute", normalize="max", start="median", n_iter=10).fit(d.judgments)
    mae = float((model.scores_.reindex(gold.index) - gold).abs().mean())
    assert mae == pytest.approx(13.91, abs=0.005)


def _hand() -> pd.DataFrame:
    return pd.DataFrame({"task": ["t1", "t1", "t1", "t2", "t2", "t3"],
                         "worker": ["a", "b", "c", "a", "b", "c"],
                         "label": [1.0, 2.0, 6.0, 4.0, 8.0, 5.0]})


def test_catd_and_pm_one_step_by_hand():
    df = _hand()
    # start: means t1 3, t2 6, t3 5; squared residuals a: 4 + 4 = 8, b: 1 + 4 = 5, c: 9 + 0 = 9
    catd = _one_step(CATD, df)
    # the lower 0.025 quantile of chi-square with 2 degrees of freedom (CDF 1 - exp(-x / 2)): -2 log(0.975)
    want = {w: -2 * np.log(0.975) / ss for w, ss in (("a", 8.0), ("b", 5.0), ("c", 9.0))}
    assert catd.weights_.to_dict() == pytest.approx(want, rel=1e-12)
    t1 = (want["a"] * 1 + want["b"] * 2 + want["c"] * 6) / (want["a"] + want["b"] + want["c"])
    assert catd.scores_.loc["t1"] == pytest.approx(t1, rel=1e-12) and catd.scores_.loc["t3"] == 5.0
    # PM: each squared residual over its task's population sd (t1: sqrt(14/3), t2: 2, t3: 0 -> adds 0)
    sd1 = np.sqrt(14 / 3)
    d = {"a": 4 / sd1 + 4 / 2, "b": 1 / sd1 + 4 / 2, "c": 9 / sd1}
    pm = _one_step(PM, df)
    total = sum(d.values())
    assert pm.weights_.to_dict() == pytest.approx({w: -np.log(v / total) for w, v in d.items()}, rel=1e-12)
    pmti = _one_step(PMTI, df)
    assert pmti.weights_.to_dict() == pytest.approx({w: -np.log(v / max(d.values())) for w, v in d.items()},
                                                    rel=1e-12, abs=1e-15)
    assert pmti.weights_.loc["c"] == 0.0 and pmti.scores_.loc["t3"] == 5.0  # c weighs 0: t3 keeps its start


def test_weighted_median_by_hand():
    df = pd.DataFrame({"task": ["t"] * 4, "worker": ["a", "b", "c", "d"], "label": [1.0, 2.0, 3.0, 10.0]})
    # start: the median 2.5; absolute residuals 1.5, 0.5, 0.5, 7.5, sd of (1, 2, 3, 10) = sqrt(12.5)
    m = _one_step_absolute(df)
    d = np.array([1.5, 0.5, 0.5, 7.5]) / np.sqrt(12.5)
    w = -np.log(d / d.sum())
    # sorted 1, 2, 3, 10 with weights w: the first value where the running sum reaches half the total
    running = np.cumsum(w)
    assert m.scores_.loc["t"] == [1.0, 2.0, 3.0, 10.0][int(np.argmax(running >= w.sum() / 2))] == 2.0


def _one_step_absolute(df: pd.DataFrame):
    return PM(loss="absolute", start="median", n_iter=1).fit(df)


def _simulate(seed: int, n_tasks: int = 400, n_workers: int = 12, per_task: int = 5):
    """The ratings benchmark's crowd: task values uniform on 0-100, workers of noise 1-20."""
    from galton.benchmarks.ratings import simulate_ratings

    return simulate_ratings(n_tasks * per_task, per_task, n_workers, seed)


@pytest.mark.parametrize("name, params", [("catd", {}), ("catd", {"n_iter": 100}), ("pm", {})],
                         ids=["catd_one_step", "catd", "pm"])
def test_weights_rank_workers_by_their_noise_and_beat_the_mean(name, params):
    data, truth, noise = _simulate(3)
    model = get(name)(**params).fit(data)
    assert model.converged_ == (model.n_iter_ > 1)  # CATD's default: one weight step, not converged
    w = model.weights_.sort_index().to_numpy()
    rank_corr = np.corrcoef(np.argsort(np.argsort(w)), np.argsort(np.argsort(-noise)))[0, 1]
    assert rank_corr > 0.9
    mean = data.groupby("task")["label"].mean().to_numpy()
    err = np.abs(model.scores_.sort_index().to_numpy() - truth).mean()
    assert err < 0.8 * np.abs(mean - truth).mean()
    assert model.skills_.mean() == pytest.approx(1.0)


def test_polars_input_gives_the_same_values_as_pandas():
    data, _, _ = _simulate(4, n_tasks=100)
    a = CATD().fit(data)
    b = CATD().fit(pl.from_pandas(data))
    assert b.scores_.columns == ["task", "score"]
    np.testing.assert_allclose(b.scores_["score"].to_numpy(), a.scores_.sort_index().to_numpy(), rtol=1e-12)
    assert b.weights_.columns == ["worker", "weight"]


def test_bad_settings_and_input_are_refused():
    df = _hand()
    for model, match in ((CATD(alpha=1.5), "alpha"), (PM(loss="huber"), "loss"), (PM(normalize="mean"), "normalize"),
                         (CATD(start="mode"), "start"), (PM(n_iter=-1), "n_iter")):
        with pytest.raises(ValueError, match=match):
            model.fit(df)
    with pytest.raises(ValueError, match="no gold"):
        CATD().fit(df, gold={"t1": 1.0})
    with pytest.raises(ValueError, match="numeric labels"):
        PM().fit(df.assign(label=["x", "y", "z", "x", "y", "z"]))


def test_the_worker_report_carries_the_models_weights():
    from galton.aggregator.worker_report import worker_report

    data, _, noise = _simulate(6, n_tasks=200)
    model = CATD().fit(data)
    report = worker_report(model)
    np.testing.assert_allclose(report["weight"].sort_index().to_numpy(), model.weights_.sort_index().to_numpy(),
                               rtol=0)
    # residuals about CATD's scores: the noisiest worker's noise estimate is the largest
    assert int(report["noise"].sort_index().to_numpy().argmax()) == int(np.argmax(noise))


@pytest.mark.parametrize("make", [lambda: CATD(n_iter=1), lambda: CATD(n_iter=100), lambda: PM(), lambda: PMTI(),
                                  lambda: PM(loss="absolute", normalize="max", start="median")],
                         ids=["catd_one_step", "catd", "pm", "pmti", "pm_zheng"])
def test_a_worker_alone_on_its_tasks_leaves_the_others_alone(make):
    """A worker whose only ratings are on tasks nobody else rated has a loss of 0: floored, its
    weight was ~1e12 times the others' and their skills_ 0.0 (CATD), or it took most of PM's sum.
    It carries no evidence of its quality: the other workers' weights, skills and the task values
    are those of the fit without it, and it weighs the mean of the others (skill 1)."""
    rng = np.random.default_rng(0)
    n_tasks, noise = 50, np.array([0.5, 1, 1.5, 2, 3.0])
    truth = rng.normal(0, 3, n_tasks)
    rows = [(t, f"w{w}", truth[t] + rng.normal(0, noise[w])) for t in range(n_tasks) for w in range(5)]
    crowd = pd.DataFrame(rows, columns=["task", "worker", "label"])
    solo = pd.DataFrame({"task": [998, 999, 999], "worker": "solo", "label": [4.2, 1.0, 2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = make().fit(crowd), make().fit(pd.concat([crowd, solo], ignore_index=True))
    others = a.skills_.index
    np.testing.assert_allclose(b.skills_.loc[others].to_numpy(), a.skills_.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.weights_.loc[others].to_numpy(), a.weights_.to_numpy(), rtol=1e-12)
    assert b.skills_.loc["solo"] == pytest.approx(1.0) and b.weights_.loc["solo"] == pytest.approx(a.weights_.mean())
    np.testing.assert_allclose(b.scores_.loc[a.scores_.index].to_numpy(), a.scores_.to_numpy(), rtol=1e-12)
    own = 1.0 if b.loss == "absolute" else 1.5  # its own ratings' weighted median (the lower middle) or mean
    assert b.scores_.loc[998] == 4.2 and b.scores_.loc[999] == pytest.approx(own)
    assert b.n_iter_ == a.n_iter_


def test_catd_warns_when_one_worker_takes_the_weight():
    """Where every worker rates every task, CATD's alternation often ends with one worker holding
    nearly all the weight (the algorithm's fixed point: the values move to that worker's ratings and
    its loss falls), and the values are worse than the plain mean's; a warning says so. On the
    sparse benchmark crowd no worker dominates and there is no warning."""
    rng = np.random.default_rng(0)
    n_tasks, n_workers = 20, 5
    truth = rng.normal(0, 3, n_tasks)
    noise = rng.uniform(0.5, 2, n_workers)
    y = truth[:, None] + rng.normal(0, 1, (n_tasks, n_workers)) * noise
    data = pd.DataFrame({"task": np.repeat(np.arange(n_tasks), n_workers),
                         "worker": np.tile(np.arange(n_workers), n_tasks), "label": y.ravel()})
    with pytest.warns(UserWarning, match=r"CATD: worker 1 holds 100% of the weight, so the values of its tasks are "
                                         r"its ratings.*CATD\(n_iter=1\)"):
        model = CATD(n_iter=100).fit(data)
    w = model.weights_.to_numpy()
    assert w.max() > 0.99 * w.sum() and model.converged_
    np.testing.assert_allclose(model.scores_.to_numpy(), y[:, 1], rtol=1e-9)  # worker 1's ratings
    err = np.abs(model.scores_.to_numpy() - truth).mean()
    mean_err = np.abs(y.mean(axis=1) - truth).mean()
    step_err = np.abs(_one_step(CATD, data).scores_.to_numpy() - truth).mean()
    assert err > 1.1 * mean_err and step_err < 0.9 * mean_err  # 0.60, 0.52, 0.40
    sparse, _, _ = _simulate(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CATD(n_iter=100).fit(sparse, duplicates="keep")  # random raters: a worker may rate a task twice
        CATD().fit(data)  # the default, one weight step: no worker takes the weight


def _blocks(seed: int) -> pd.DataFrame:
    """Snow et al.'s layout: 100 tasks of 10 ratings on 0-100, nine workers per block of 20 tasks and
    one who rates them all, each worker of its own noise (5-30), ratings rounded and clipped."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0, 100, 100)
    rows, worker = [], 0
    for block in range(5):
        for _ in range(9):
            noise = rng.uniform(5, 30)
            rows += [(t, f"w{worker}", truth[t] + rng.normal(0, noise)) for t in range(20 * block, 20 * block + 20)]
            worker += 1
    noise = rng.uniform(5, 30)
    rows += [(t, "all", truth[t] + rng.normal(0, noise)) for t in range(100)]
    data = pd.DataFrame(rows, columns=["task", "worker", "label"])
    return data.assign(label=data.label.round().clip(0, 100))


def test_catd_converges_only_when_its_values_stop_moving():
    """CATD stopped on the relative change of sum_s w_s d_s, which for CATD (w = chi2 / d) tends to
    the constant sum of the quantiles whatever the values do: on this crowd it stopped at iteration
    20 with converged_ True, its values 0.13 from the next iteration's and 16.8 from a long run's
    (on snow2008_affect_anger 41 points). It stops on the largest move of a task value over the
    ratings' range now (history_), and a converged fit is where a long run ends."""
    data = _blocks(1)
    model = CATD(n_iter=100).fit(data)
    long = CATD(n_iter=1000, tol=0).fit(data)
    assert np.abs(long.scores_ - model.scores_).max() < 0.01
    again = CATD(n_iter=model.n_iter_ + 1, tol=0).fit(data)
    assert np.abs(again.scores_ - model.scores_).max() < 1e-3
    assert model.converged_ and model.history_[0] == np.inf and model.history_[-1] < 1e-6
    # history_: the largest move of a value between passes, over the range 0-100 (the first pass
    # computes the start, the mean; the second the values of one weight step; the third two steps')
    one = _one_step(CATD, data)
    two, three = CATD(n_iter=2, tol=0).fit(data), CATD(n_iter=3, tol=0).fit(data)
    mean = data.groupby("task").label.mean()
    assert two.history_[1] == pytest.approx(np.abs(one.scores_ - mean).max() / 100, rel=1e-9)
    assert three.history_[2] == pytest.approx(np.abs(two.scores_ - one.scores_).max() / 100, rel=1e-9)


@needs_shared
def test_pm_still_converges_on_the_real_sets():
    """The stopping rule changed for PM too: it still converges on N_Emotion and anger, within
    1e-3 of a long run."""
    for name in ("zheng_n_emotion", "snow2008_affect_anger"):
        data = datasets.load_shared(name, frame="pandas").judgments
        model, long = PM().fit(data), PM(n_iter=500, tol=0).fit(data)
        assert model.converged_ and model.n_iter_ < 20
        assert np.abs(model.scores_ - long.scores_).max() < 1e-3


@pytest.mark.parametrize("make", [lambda: CATD(n_iter=1), lambda: PM(n_iter=1), lambda: PMTI(n_iter=1),
                                  lambda: PM(loss="absolute", start="median", n_iter=1)])
def test_one_step_asked_for_gives_no_convergence_warning(spark_data, make):
    """CATD(n_iter=1), the setting the docs give as spark-crowd's result, always warned "did not
    converge in 1 iteration ...; raise n_iter": the one-step estimator is asked for, not a fit that
    ran out of iterations. Two iterations with tol=0 still warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = make().fit(spark_data)
    assert model.n_iter_ == 1 and not model.converged_
    more = make().set_params(n_iter=2, tol=0.0)
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 iterations"):
        more.fit(spark_data)


def test_catd_discounts_a_worker_with_few_ratings():
    """CATD took spark-crowd's quantile, chi2 exceeded with probability alpha/2, which grows faster
    than n for small n: of workers with the same error per rating, one with 2 ratings weighed 10.9
    against 1.7-2.0 for those with 200, the reverse of the paper's aim (Li et al., PVLDB 8(4): the
    upper end of a confidence interval on the worker's variance, chi2 at alpha/2, so few ratings are
    not trusted). Here every residual against the start (the task means) is +-1: A and B rate 100
    tasks, S and C 4; the weights are q(n) / n with q the 0.025 quantile (scipy's chi2.ppf)."""
    a_b = [(t, w, t + sign) for t in range(100) for w, sign in (("A", 1.0), ("B", -1.0))]
    s_c = [(t, w, t + sign) for t in range(100, 104) for w, sign in (("S", 1.0), ("C", -1.0))]
    data = pd.DataFrame(a_b + s_c, columns=["task", "worker", "label"])
    model = CATD(n_iter=1).fit(data)
    want = {"A": 74.22192747492373 / 100, "B": 74.22192747492373 / 100,
            "S": 0.4844185570879299 / 4, "C": 0.4844185570879299 / 4}
    assert model.weights_.to_dict() == pytest.approx(want, rel=1e-9)
    assert model.weights_["S"] < 0.2 * model.weights_["A"]
    # spark-crowd's quantile, kept as an option: chi2.isf(0.025, n) / n, the few-rating worker first
    spark = CATD(n_iter=1, quantile="upper").fit(data)
    assert spark.weights_.to_dict() == pytest.approx({"A": 129.5611971858366 / 100, "B": 129.5611971858366 / 100,
                                                      "S": 11.143286781877796 / 4, "C": 11.143286781877796 / 4},
                                                     rel=1e-9)
    with pytest.raises(ValueError, match="quantile must be 'lower'"):
        CATD(quantile="spark").fit(data)


def test_catd_warns_when_several_workers_take_the_weight_together():
    """Only one worker holding over 99% of the weight was warned of; on blocks of tasks CATD's fixed
    point often gives the weight to one worker per block (here five, 20% each: their losses reach the
    floor), so the values are those workers' ratings and nobody else counts, without a word (as on
    snow2008_affect_anger run 400 iterations: three workers, 0.9999999998 of the weight)."""
    data = _blocks(0)
    with pytest.warns(UserWarning, match=r"CATD: 5 workers \('w10', 'w2', 'w22', \.\.\.\) together hold 100% of "
                                         r"the weight, so the values of their tasks are their ratings"):
        model = CATD(n_iter=100).fit(data)
    w = model.weights_
    top = w.sort_values(ascending=False).index[:5]
    assert w[top].sum() > 0.999999 * w.sum() and w.max() < 0.21 * w.sum()
    theirs = data[data.worker.isin(top)].set_index("task").label
    assert theirs.index.is_unique and theirs.index.nunique() == 100  # one of them on every task
    np.testing.assert_allclose(model.scores_.loc[theirs.index].to_numpy(), theirs.to_numpy(), atol=1e-6)
    with warnings.catch_warnings():  # one weight step: no such concentration, no warning
        warnings.simplefilter("error")
        CATD(n_iter=1).fit(data)


@needs_shared
def test_catd_default_is_the_one_step_the_real_sets_favour():
    """The README's and CATD's docstring's numbers: mean absolute error against the experts over the
    seven Snow et al. affect sets and N_Emotion, CATD by default (one weight step) 11.91, run to
    convergence 13.33 (its weight on three workers or fewer on five of the eight), the mean 12.02."""
    names = [f"snow2008_affect_{a}" for a in "anger disgust fear joy sadness surprise valence".split()]
    mae: dict[str, list[float]] = {"default": [], "converged": [], "mean": []}
    concentrated = 0
    for name in names + ["zheng_n_emotion"]:
        d = datasets.load_shared(name, frame="pandas")
        gold = d.gold.set_index("task")["label"].astype(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # converged: the warning of the concentrated weight
            default, converged = CATD().fit(d.judgments), CATD(n_iter=100).fit(d.judgments)
        mean = d.judgments.groupby("task")["label"].mean()
        for key, values in (("default", default.scores_), ("converged", converged.scores_), ("mean", mean)):
            mae[key].append(float((values.reindex(gold.index) - gold).abs().mean()))
        top = np.sort(converged.weights_.to_numpy())[::-1]
        concentrated += top[:3].sum() > 0.999 * top.sum()
        assert default.n_iter_ == 1 and not default.converged_
    assert np.mean(mae["default"]) == pytest.approx(11.91, abs=0.005)
    assert np.mean(mae["converged"]) == pytest.approx(13.33, abs=0.005)
    assert np.mean(mae["mean"]) == pytest.approx(12.02, abs=0.005)
    assert sum(a < b for a, b in zip(mae["default"], mae["mean"])) == 5 and concentrated == 5


def test_catds_one_step_warning_does_not_advise_the_one_step_it_took():
    """Review: at the default one weight step, two workers whose only ratings are on tasks where every
    rater agreed have a loss of 0 and take the weight; the warning blamed "the algorithm's fixed point"
    and advised ``CATD(n_iter=1)``, the very setting in use. It names the cause, a loss of 0 against
    the start, and advises other models."""
    rng = np.random.default_rng(1)
    rows = []
    for t in range(200):
        truth = rng.integers(1, 6)
        rows += [(t, int(w), int(np.clip(truth + rng.integers(-1, 2), 1, 5))) for w in rng.choice(20, 3, replace=False)]
    rows += [(t, w, v) for t, v in ((1000, 3), (1001, 4)) for w in (100, 101, 2)]  # all agree
    data = pd.DataFrame(rows, columns=["task", "worker", "label"])
    with pytest.warns(UserWarning, match=r"CATD: 2 workers \(100, 101\) together hold 100% of the weight") as said:
        model = CATD().fit(data)
    text = " ".join(str(w.message) for w in said)
    assert model.n_iter_ == 1 and "a loss of 0 against the start" in text
    assert "CATD(n_iter=1)" not in text and "fixed point" not in text
