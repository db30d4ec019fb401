"""Numeric ratings: per-task statistics by hand, the Gaussian annotator model on simulated and real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import galton
from galton import datasets
from galton.aggregator._registry import get
from galton.aggregator.ratings import GaussianRating, MeanRating, MedianRating, TrimmedMeanRating

SHARED = datasets.shared_root()
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared/datasets not found; these tests run in CI")
AFFECT = [f"snow2008_affect_{e}" for e in ("anger", "disgust", "fear", "joy", "sadness", "surprise", "valence")]


def _hand() -> pd.DataFrame:
    return pd.DataFrame({
        "task": ["t1"] * 5 + ["t2"] * 4 + ["t3"],
        "worker": ["a", "b", "c", "d", "e", "a", "b", "c", "d", "a"],
        "label": [1, 9, 3, 4, 100, 10, 20, 30, 41, 7],
    })


def test_statistics_by_hand() -> None:
    df = _hand()
    assert MeanRating().fit(df).scores_.tolist() == [23.4, 25.25, 7.0]
    assert MedianRating().fit(df).scores_.tolist() == [4.0, 25.0, 7.0]
    # 20%: cut int(0.2 * 5) = 1 rating from each end of t1, int(0.8) = 0 from t2
    assert TrimmedMeanRating(proportion=0.2).fit(df).scores_.tolist() == [(3 + 4 + 9) / 3, 25.25, 7.0]
    se = MeanRating().fit(df).intervals_["se"]
    assert se["t2"] == pytest.approx(np.std([10, 20, 30, 41], ddof=1) / 2) and np.isnan(se["t3"])
    with pytest.raises(ValueError, match=r"proportion must be in \[0, 0.5\)"):
        TrimmedMeanRating(proportion=0.5).fit(df)


def test_statistics_match_scipy_and_shards() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"task": rng.integers(0, 50, 800), "worker": rng.integers(0, 30, 800),
                       "label": rng.integers(0, 101, 800)})
    g = df.groupby("task")["label"]
    ours = TrimmedMeanRating(proportion=0.1, n_shards=3).fit(df).scores_
    np.testing.assert_allclose(ours.to_numpy(), g.apply(lambda v: stats.trim_mean(v, 0.1)).to_numpy())
    np.testing.assert_allclose(MedianRating(n_shards=3).fit(df).scores_.to_numpy(), g.median().to_numpy())


def test_trimmed_mean_of_large_ratings_is_summed_task_by_task() -> None:
    """1e9-sized ratings over many tasks: the trimmed mean was a difference of one running sum over
    all tasks (2e14 here, where a double's step is 0.03) and lost the ratings' last digits."""
    rng = np.random.default_rng(1)
    n_tasks, per = 20_000, 10
    label = np.round(1e9 + rng.random(n_tasks * per) * 100, 3)
    df = pd.DataFrame({"task": np.repeat(np.arange(n_tasks), per), "worker": np.tile(np.arange(per), n_tasks),
                       "label": label})
    small = label - 1e9  # exact: the ratings' own digits, summed where a double holds them all
    kept = np.sort(small.reshape(n_tasks, per), axis=1)[:, 1:-1]  # int(0.1 * 10) = 1 cut from each end
    want = 1e9 + kept.mean(axis=1)
    got = TrimmedMeanRating(proportion=0.1).fit(df).scores_.to_numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_non_numeric_labels_and_gold_are_refused() -> None:
    df = _hand().assign(label=lambda d: "r" + d["label"].astype(str))  # numbers as text are ratings
    with pytest.raises(ValueError, match=r"rating models need numeric labels; column 'label' holds non-numeric"):
        MeanRating().fit(df)
    with pytest.raises(ValueError, match="rating models take no gold"):
        GaussianRating().fit(_hand(), gold={"t1": 3})


@pytest.mark.parametrize("model", [MeanRating, MedianRating, TrimmedMeanRating, GaussianRating])
def test_decimal_ratings_are_numbers(model) -> None:
    """A SQL NUMERIC / Spark DecimalType rating (Arrow decimal128, polars Decimal, pandas Decimal objects)
    gives the float ratings' result (it was refused as "non-numeric values such as [Decimal('1.5')]")."""
    import decimal

    import pyarrow as pa

    df = _simulate(40, 3)[0]
    as_dec = [decimal.Decimal(f"{v:.1f}") for v in df["label"]]
    want = model().fit(df).labels_
    arrow = pa.Table.from_pandas(df, preserve_index=False).set_column(2, "label", pa.array(as_dec, pa.decimal128(6, 1)))
    for data in (df.assign(label=as_dec), arrow, pl.from_arrow(arrow)):
        got = model().fit(data).labels_
        got = got if isinstance(got, pd.Series) else got.to_pandas().set_index("task").iloc[:, 0]
        np.testing.assert_allclose(got.sort_index().to_numpy(), want.sort_index().to_numpy(), rtol=1e-12)


def _simulate(n_tasks: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_workers, per_task = 30, 5
    truth = rng.uniform(0, 100, n_tasks)
    noise = np.where(rng.random(n_workers) < 0.3, 30.0, 5.0)  # a third of the workers are sloppy
    bias = rng.normal(0, 8, n_workers)
    workers = np.argsort(rng.random((n_tasks, n_workers)), axis=1)[:, :per_task]
    t = np.repeat(np.arange(n_tasks), per_task)
    w = workers.ravel()
    y = truth[t] + bias[w] + rng.normal(0, noise[w])
    return pd.DataFrame({"task": t, "worker": w, "label": np.round(y, 1)}), truth, noise, bias


def test_gaussian_recovers_workers_and_beats_the_mean() -> None:
    df, truth, noise, bias = _simulate(600, 1)
    g = GaussianRating().fit(df)
    mean = MeanRating().fit(df).scores_.to_numpy()
    est = g.scores_.to_numpy()
    assert np.abs(est - truth).mean() < 0.8 * np.abs(mean - truth).mean()
    assert np.corrcoef(g.noise_.to_numpy(), noise)[0, 1] > 0.9
    assert np.corrcoef(g.biases_.to_numpy(), bias)[0, 1] > 0.9
    h = np.asarray(g.history_)
    assert g.converged_ and (np.diff(h) >= -1e-9 * np.abs(h[1:])).all()
    z = (est - truth - (est - truth).mean()) / g.intervals_["se"].to_numpy()
    # conservative: the noise prior (20 ratings at the pooled variance) inflates the noise of the
    # precise workers when they have 100 ratings each
    assert np.mean(np.abs(z) < 1.96) > 0.9


def test_gaussian_estimates_tighten_with_data() -> None:
    small, big = _simulate(100, 2), _simulate(1600, 2)
    err = [np.abs(np.log(GaussianRating().fit(d).noise_.to_numpy() / noise)).mean() for d, _, noise, _ in (small, big)]
    assert err[1] < 0.6 * err[0]


def test_gaussian_shards_outputs_and_registry() -> None:
    df, *_ = _simulate(200, 3)
    a = GaussianRating(n_shards=1).fit(df)
    b = GaussianRating(n_shards=3).fit(df)
    np.testing.assert_allclose(a.scores_.to_numpy(), b.scores_.to_numpy(), atol=1e-9)
    out = GaussianRating().fit(pl.from_pandas(df))
    assert out.scores_.columns == ["task", "score"] and out.intervals_.columns[:3] == ["task", "score", "se"]
    assert out.noise_.columns == ["worker", "noise"]
    for name, cls in [("rating_mean", MeanRating), ("rating_median", MedianRating),
                      ("rating_trimmed", TrimmedMeanRating), ("rating_gaussian", GaussianRating)]:
        assert get(name) is cls and cls.kind == "rating"


def _mae(model: object, name: str) -> float:
    d = datasets.load_shared(name, frame="pandas")
    gold = d.gold.set_index("task")["label"].astype(float)
    s = model.fit(d.judgments).scores_
    return float((s.reindex(gold.index) - gold).abs().mean())


@needs_shared
def test_n_emotion_published_mean_and_gaussian_below_it() -> None:
    mean = _mae(MeanRating(), "zheng_n_emotion")
    assert mean == pytest.approx(12.02, abs=0.005)  # Zheng et al. VLDB 2017, Table 8
    assert _mae(MedianRating(), "zheng_n_emotion") == pytest.approx(13.53, abs=0.005)
    assert _mae(GaussianRating(), "zheng_n_emotion") < min(mean, 12.20)  # below Mean and LFC_N


@needs_shared
def test_affect_sets_gaussian_below_the_mean_on_average() -> None:
    mean = np.mean([_mae(MeanRating(), n) for n in AFFECT])
    gauss = np.mean([_mae(GaussianRating(), n) for n in AFFECT])
    assert gauss < mean


# MAE against the expert gold, measured with the defaults (bias_prior = noise_prior = 20). The model
# is below the plain mean on anger, disgust, sadness and N_Emotion only. Its scores are compressed and
# lowered relative to the mean (the workers it trusts use a narrow part of the scale, see
# test_gaussian_trusts_narrow_scale_workers), which helps where the experts rate lower than the crowd
# and hurts where they rate higher (fear, joy, surprise, valence); no setting of the two priors wins on
# joy, surprise and valence together with the others. Pinned so that a change of model shows here.
AFFECT_MAE = {"anger": (8.633, 7.693), "disgust": (10.490, 9.288), "fear": (9.590, 9.635),
              "joy": (12.502, 13.427), "sadness": (9.766, 8.692), "surprise": (11.478, 12.168),
              "valence": (21.695, 22.343)}


@needs_shared
def test_gaussian_mae_per_affect_set() -> None:
    for emotion, (mean_mae, gauss_mae) in AFFECT_MAE.items():
        name = f"snow2008_affect_{emotion}"
        mean, gauss = _mae(MeanRating(), name), _mae(GaussianRating(), name)
        assert mean == pytest.approx(mean_mae, abs=5e-4), emotion
        assert gauss == pytest.approx(gauss_mae, abs=0.01), emotion
        if emotion in ("anger", "disgust", "sadness"):
            assert gauss < mean - 0.5, emotion


def _log_posterior(df: pd.DataFrame, b: pd.Series, s: pd.Series, s0_sq: float, kappa: float, nu: float,
                   integrate: object) -> float:
    """The model's log-posterior written out independently: each task value integrated out by
    quadrature (flat prior), plus the two priors (without their normalising constants, as fitted)."""
    total = 0.0
    for _, x in df.groupby("task"):
        y, bw, sw = x["label"].to_numpy(), b[x["worker"]].to_numpy(), s[x["worker"]].to_numpy()
        centre = np.average(y - bw, weights=sw ** -2)

        def lik(mu: float) -> float:
            return float(np.exp(-0.5 * (((y - mu - bw) / sw) ** 2).sum() - np.log(np.sqrt(2 * np.pi) * sw).sum()))

        val, _ = integrate.quad(lik, centre - 60, centre + 60, points=[centre], epsabs=0, epsrel=1e-12, limit=200)
        total += np.log(val)
    s2 = s.to_numpy() ** 2
    bb = b.to_numpy()
    return total + float((-(nu / 2 + 1.5) * np.log(s2) - (nu * s0_sq + kappa * bb ** 2) / (2 * s2)).sum())


def _tiny(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(f"t{t}", f"w{w}", round(float(rng.normal(40 + 5 * t, 8)), 1))
            for t in range(6) for w in rng.choice(4, size=3 if t % 2 else 4, replace=False)]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def test_gaussian_objective_is_the_log_posterior_and_its_maximum() -> None:
    integrate = pytest.importorskip("scipy.integrate")
    df = _tiny(7)
    kappa, nu = 5.0, 3.0
    g = GaussianRating(tol=1e-12, n_iter=20000, bias_prior=kappa, noise_prior=nu).fit(df)
    assert g.converged_
    b, s, s0_sq = g.biases_, g.noise_, g.sigma0_ ** 2
    here = _log_posterior(df, b, s, s0_sq, kappa, nu, integrate)
    assert here == pytest.approx(g.history_[-1], rel=1e-9)
    # a maximum: moving any bias or noise level lowers it
    for w in b.index:
        for db, ds in [(0.3, 1.0), (-0.3, 1.0), (0.0, 1.02), (0.0, 0.98)]:
            b2, s2 = b.copy(), s.copy()
            b2[w] += db
            s2[w] *= ds
            assert _log_posterior(df, b2, s2, s0_sq, kappa, nu, integrate) < here
    # the task values carry a flat prior, so shifting every bias by c (and every task by -c) leaves the
    # likelihood alone: at the maximum the bias prior's own gradient along that line is zero, i.e. the
    # noise-weighted mean bias is 0; the level of the scores follows the precise workers
    assert abs(float((b / s ** 2).sum())) < 1e-4 * float((b.abs() / s ** 2).sum())


def test_gaussian_biases_tighten_with_data() -> None:
    errs = []
    for n_tasks in (100, 1600):
        df, _, _, bias = _simulate(n_tasks, 4)
        est = GaussianRating().fit(df).biases_.to_numpy()
        errs.append(np.abs((est - est.mean()) - (bias - bias.mean())).mean())
    assert errs[1] < 0.5 * errs[0]


def test_gaussian_trusts_narrow_scale_workers() -> None:
    """A known limit of the model: it has no per-worker scale. Workers who squeeze every item into a
    narrow band (y = 10 + 0.3 mu) have small residuals and get the larger weight, so the scores follow
    their compressed scale more than the plain mean does."""
    rng = np.random.default_rng(5)
    n_tasks, n_workers, per_task = 400, 20, 6
    truth = rng.uniform(0, 100, n_tasks)
    narrow = np.arange(n_workers) < n_workers // 2
    workers = np.argsort(rng.random((n_tasks, n_workers)), axis=1)[:, :per_task]
    t, w = np.repeat(np.arange(n_tasks), per_task), workers.ravel()
    y = np.where(narrow[w], 10 + 0.3 * truth[t] + rng.normal(0, 5, t.size), truth[t] + rng.normal(0, 15, t.size))
    df = pd.DataFrame({"task": t, "worker": w, "label": y})
    g = GaussianRating().fit(df)
    skill = g.skills_.to_numpy()
    assert skill[narrow].min() > skill[~narrow].max()
    slope = {name: np.polyfit(truth, m.fit(df).scores_.to_numpy(), 1)[0] for name, m in
             [("mean", MeanRating()), ("gauss", GaussianRating())]}
    assert slope["gauss"] < slope["mean"] - 0.1


def test_numbers_written_as_text_are_ratings_and_other_text_is_named() -> None:
    """Text ratings '3', '3.0', '+4' were refused with "non-numeric values in 0 row(s) (; rows )"."""
    df = pd.DataFrame({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": ["3", "3.0", "+4"]})
    assert galton.aggregate(df, kind="rating", model="rating_mean").scores_.to_dict() == {1: 3.0, 2: 4.0}
    with pytest.raises(ValueError, match=r"non-numeric values in 1 row\(s\) \('x'; rows 1\)"):
        galton.aggregate(df.assign(label=["3", "x", "+4"]), kind="rating", model="rating_mean")


def test_mean_interval_uses_students_t_with_n_minus_1_degrees_of_freedom() -> None:
    """The mean's 95% interval was mean ± 1.96 se with the sample sd: it covered the task's value
    70% of the time at two ratings, 82% at three. Student's t with n - 1 degrees of freedom:
    closed forms at 1 and 2 degrees of freedom (tan(pi (1/2 - p)), (1 - 2p) / sqrt(2p (1 - p)))."""
    df = pd.DataFrame({"task": ["a", "a", "b", "b", "b", "c"], "worker": ["x", "y", "x", "y", "z", "x"],
                       "label": [1.0, 3.0, 2.0, 4.0, 9.0, 5.0]})
    iv = MeanRating().fit(df).intervals_
    p = 0.025
    t1, t2 = np.tan(np.pi * (0.5 - p)), (1 - 2 * p) / np.sqrt(2 * p * (1 - p))  # 12.706, 4.303
    se_b = np.std([2, 4, 9], ddof=1) / np.sqrt(3)
    assert iv.loc["a", "se"] == pytest.approx(1.0) and iv.loc["a", "upper"] == pytest.approx(2.0 + t1, rel=1e-12)
    assert iv.loc["a", "lower"] == pytest.approx(2.0 - t1, rel=1e-12)
    assert iv.loc["b", "upper"] == pytest.approx(5.0 + t2 * se_b, rel=1e-12)
    assert iv.loc["c", ["se", "lower", "upper"]].isna().all()  # one rating: no interval
    rng = np.random.default_rng(5)
    for k in (2, 3, 5):
        n_tasks = 4000
        truth = rng.normal(0, 3, n_tasks)
        sim = pd.DataFrame({"task": np.repeat(np.arange(n_tasks), k), "worker": np.tile(np.arange(k), n_tasks),
                            "label": np.repeat(truth, k) + rng.normal(0, 1, n_tasks * k)})
        iv = MeanRating(n_shards=2).fit(sim).intervals_.sort_index()
        covered = np.mean((iv["lower"].to_numpy() <= truth) & (truth <= iv["upper"].to_numpy()))
        assert 0.935 < covered < 0.965, k  # 1.96: 0.70, 0.82, 0.88


@pytest.mark.parametrize("model", [MedianRating, TrimmedMeanRating])
def test_median_and_trimmed_mean_give_no_interval(model) -> None:
    iv = model().fit(_hand()).intervals_
    assert iv[["se", "lower", "upper"]].isna().all().all()


def test_gaussian_fallback_spread_is_shift_invariant_and_scales_with_the_ratings() -> None:
    """One rating per task: the noise scale falls back on the variance of all ratings, computed as
    sq / n - mean^2, which cancelled for large ratings (1e9 + 1..4: sigma0_ 1e-6 and se 9.3e-07
    instead of 1.118 and 1.043), and was floored at 1e-12 (ratings of 1e-7: 1e-6, not 1.1e-7)."""
    base = pd.DataFrame({"task": [1, 2, 3, 4], "worker": list("abcd"), "label": [1.0, 2.0, 3.0, 4.0]})
    ref = GaussianRating().fit(base)
    assert ref.sigma0_ == pytest.approx(np.sqrt(1.25), rel=1e-12)  # the population sd of 1, 2, 3, 4
    for offset, scale in ((1e9, 1.0), (0.0, 1e-7), (-3e12, 1.0)):
        g = GaussianRating(n_shards=2).fit(base.assign(label=offset + scale * base["label"]))
        assert g.sigma0_ == pytest.approx(scale * ref.sigma0_, rel=1e-6)
        np.testing.assert_allclose(g.intervals_["se"].to_numpy(), scale * ref.intervals_["se"].to_numpy(), rtol=1e-6)
        np.testing.assert_allclose(g.scores_.to_numpy() - offset, scale * ref.scores_.to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["rating_gaussian", "rating_mean", "catd", "pm"])
def test_tiny_ratings_are_refused_and_say_rescale(name, tmp_path) -> None:
    """Ratings of 1e-156 gave all-NaN scores from the default rating model (exit 0 on the CLI), and
    of 1e-200 a standard error of 0 from rating_mean: their squares underflow. They are refused as
    ratings beyond ±1e150 are; small ratings above the bound give the scaled results."""
    base = np.array([1.0, 2, 4, 3, 3.5, 1, 5, 4, 4.5])
    df = pd.DataFrame({"task": np.repeat([1, 2, 3], 3), "worker": list("abc") * 3, "label": base})
    for scale in (1e-156, 1e-200):
        for data in (df.assign(label=base * scale), df.assign(label=[repr(float(v)) for v in base * scale])):
            with pytest.raises(ValueError, match=r"column 'label' has 9 rating\(s\) that are nonzero but below "
                                                 r"1e-140 in magnitude .*rescale the column"):
                galton.aggregate(data, name, kind="rating")
    ref = galton.aggregate(df, name, kind="rating").intervals_
    small = galton.aggregate(df.assign(label=base * 1e-139), name, kind="rating").intervals_
    np.testing.assert_allclose(small["score"].to_numpy() / 1e-139, ref["score"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(small["se"].to_numpy() / 1e-139, ref["se"].to_numpy(), rtol=1e-12)
    kept = galton.aggregate(df.assign(label=np.where(base == 1, 1e-160, base)), name, kind="rating", on_invalid="drop")
    assert kept.scores_.shape == (3,)  # two rows dropped, the rest fitted
    path = tmp_path / "tiny.csv"
    df.assign(label=base * 1e-156).to_csv(path, index=False)
    from galton.cli import main

    assert main(["aggregate", str(path), "--kind", "rating", "-m", name, "-o", str(tmp_path / "o.csv"), "-q"]) == 2


def test_text_ratings_are_read_as_written_numbers_only() -> None:
    """Text read as a rating went through Python's float: '1_000' was 1000, full-width '０３' was 3
    and 'nan' a NaN rating whose task scored NaN. A sign, a leading point and spaces around the
    number stay accepted (README: "A rating model reads a text label as the number it spells")."""
    ok = pd.DataFrame({"task": [1, 2, 3, 4], "worker": ["a", "a", "a", "a"], "label": ["+7", ".5", " 3 ", "1e3"]})
    assert galton.aggregate(ok, kind="rating", model="rating_mean").scores_.tolist() == [7.0, 0.5, 3.0, 1000.0]
    for bad in ("1_000", "０３", "nan", "NaN", "3\u00a0"):
        data = ok.assign(label=["+7", bad, " 3 ", "1e3"])
        with pytest.raises(ValueError, match=r"non-numeric values in 1 row\(s\) \(.*; rows 1\)"):
            galton.aggregate(data, kind="rating", model="rating_mean")
    from galton.data.judgments import parse_number

    assert parse_number("1_000", "i") is None and parse_number("０３", "i") is None and parse_number("+3", "i") == 3


def _shape(value):
    """What a result is, without its rows: its type, names and value types."""
    if isinstance(value, pd.Series):
        return "Series", value.name, value.index.name, str(value.index.dtype), str(value.dtype)
    if isinstance(value, pd.DataFrame):
        return "DataFrame", value.index.name, str(value.index.dtype), list(value.columns), list(map(str, value.dtypes))
    if isinstance(value, pl.DataFrame):
        return "polars", dict(value.schema)
    if isinstance(value, pa.Table):
        return "arrow", value.schema
    return type(value).__name__


@pytest.mark.filterwarnings("ignore:CATD. worker")
@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow"])
@pytest.mark.parametrize("name", galton.aggregator.names(kind="rating"))
def test_every_rating_model_fits_an_empty_frame_like_a_full_one(name: str, kind: str) -> None:
    """GaussianRating, CATD, PM and PMTI raised an IndexError on an empty frame (the shared empty fit
    stored no score column); docs/from-crowd-kit.md promises results typed and named like a non-empty fit's."""
    full = pd.DataFrame({"task": [1, 1, 2, 2, 3], "worker": [7, 8, 7, 8, 7], "label": [1.0, 2.0, 3.0, 5.0, 4.0]})
    frames = {"pandas": lambda d: d, "polars": pl.from_pandas,
              "arrow": lambda d: pa.Table.from_pandas(d, preserve_index=False)}
    ref, fitted = get(name)().fit(frames[kind](full)), get(name)().fit(frames[kind](full.iloc[:0]))
    results = [a for a in vars(ref) if a.endswith("_") and not a.startswith("_") and a != "judgments_"]
    assert sorted(results) == sorted(a for a in vars(fitted) if a.endswith("_") and not a.startswith("_")
                                     and a != "judgments_")
    for attr in results:
        value = getattr(fitted, attr)
        assert _shape(value) == _shape(getattr(ref, attr)), attr
        if not isinstance(value, (int, float, bool, list)):
            assert len(value) == 0, attr
    assert set(results) >= {"scores_", "labels_", "intervals_"}
    if hasattr(ref, "n_iter_"):
        assert (fitted.n_iter_, fitted.converged_, fitted.history_) == (0, True, [])
    with pytest.raises(ValueError, match="fitted on an empty frame"):  # as every model: no parameters
        fitted.predict(full)
    if name == "rating_gaussian":  # the default rating model of galton.aggregate
        scores = galton.aggregate(frames[kind](full.iloc[:0]), kind="rating").scores_
        assert _shape(scores) == _shape(ref.scores_) and len(scores) == 0


def _precise_and_noisy(seed: int = 4) -> tuple[pd.DataFrame, np.ndarray]:
    """20 workers of noise 2-15 and bias N(0, 5), 5 distinct workers a task, 20,000 tasks of N(50, 20)."""
    rng = np.random.default_rng(seed)
    n_tasks, n_workers = 20_000, 20
    mu = rng.normal(50, 20, n_tasks)
    bias, noise = rng.normal(0, 5, n_workers), rng.uniform(2, 15, n_workers)
    worker = np.argsort(rng.random((n_tasks, n_workers)), axis=1)[:, :5].ravel()
    task = np.repeat(np.arange(n_tasks), 5)
    y = mu[task] + bias[worker] + rng.normal(0, 1, task.size) * noise[worker]
    return pd.DataFrame({"task": task, "worker": worker, "label": y}), noise


def test_the_noise_prior_pulls_a_precise_worker_far_more_than_its_weight_in_ratings() -> None:
    """The docstring said the noise prior is "worth ν ratings"; on the most precise worker (σ 2.698,
    5,038 ratings) ν = 20 moves the fit to 2.997 (+11%), what about 85 ratings at σ_0^2 would do in a
    plain average (20 would give 2.773): its ratings fix its tasks' values. The numbers the docstring
    now gives."""
    df, noise = _precise_and_noisy()
    fitted = GaussianRating().fit(df)
    s0_sq = fitted.sigma0_ ** 2
    best = int(np.argmin(noise))
    n_best = int((df.worker == best).sum())
    sigma = fitted.noise_.reindex(range(20)).to_numpy()
    assert (round(noise[best], 3), n_best, round(s0_sq)) == (2.698, 5038, 110)
    assert sigma[best] == pytest.approx(2.997, abs=5e-4)
    plain = np.sqrt((n_best * noise[best] ** 2 + 20 * s0_sq) / (n_best + 20))  # 20 ratings in a plain average
    assert plain == pytest.approx(2.773, abs=5e-4)
    worth = n_best * (sigma[best] ** 2 - noise[best] ** 2) / (s0_sq - sigma[best] ** 2)
    assert worth == pytest.approx(85, abs=0.5)
    for nu, want in ((5.0, 2.792), (0.0, 2.702)):
        assert GaussianRating(noise_prior=nu).fit(df).noise_[best] == pytest.approx(want, abs=5e-4)
    noisier = noise > 4
    assert np.abs(sigma[noisier] / noise[noisier] - 1).max() < 0.03
    doc = " ".join(GaussianRating.__doc__.split())
    assert "precise worker, σ 2.698 with 5,038 ratings, is fitted 2.997 (+11%, as about 85 ratings" in doc
    assert "20 would give 2.773), 2.792 with ν = 5, 2.702 with ν = 0" in doc
    assert "worth ν ratings" not in doc
