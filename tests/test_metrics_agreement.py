"""galton.metrics: Krippendorff's alpha against the published worked example and nltk, crowd-kit's
metrics against crowd-kit itself, hand computations where crowd-kit's products underflow, and the
invariances (row order, frame type, label names, dense against sparse paths)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from galton import MajorityVote
from galton.metrics import (MissingSkillsError, accuracy_on_aggregates, alpha_krippendorff, consistency,
                            entropy_threshold, get_accuracy, krippendorff, uncertainty)
from galton.metrics import data as metrics_data

ck_data = pytest.importorskip("crowdkit.metrics.data", reason="crowd-kit (the reference) is a test dependency")
nltk_agreement = pytest.importorskip("nltk.metrics.agreement", reason="nltk comes with crowd-kit")
nltk_distance = pytest.importorskip("nltk.metrics.distance", reason="nltk comes with crowd-kit")


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the worked example with
# missing values: 4 coders, 12 units; unit 12 has one value and is not pairable.
_CODERS = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def _krippendorff_example() -> pd.DataFrame:
    rows = [(u + 1, w, v) for w, vals in _CODERS.items() for u, v in enumerate(vals) if v is not None]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def _toy() -> pd.DataFrame:  # crowd-kit's toy YSDA data (its tests/conftest.py)
    rows = [("w1", "t1", "no"), ("w1", "t2", "yes"), ("w1", "t3", "yes"), ("w1", "t4", "yes"), ("w1", "t5", "yes"),
            ("w2", "t1", "yes"), ("w2", "t2", "yes"), ("w2", "t3", "no"), ("w2", "t4", "yes"), ("w2", "t5", "no"),
            ("w3", "t2", "yes"), ("w3", "t3", "no"), ("w3", "t4", "yes"), ("w3", "t5", "no"),
            ("w4", "t1", "yes"), ("w4", "t2", "no"), ("w4", "t3", "yes"), ("w4", "t4", "yes"), ("w4", "t5", "no"),
            ("w5", "t1", "no"), ("w5", "t2", "no"), ("w5", "t3", "no"), ("w5", "t4", "yes"), ("w5", "t5", "no")]
    return pd.DataFrame(rows, columns=["worker", "task", "label"])


def _random(seed: int, n_tasks: int = 300, n_labels: int = 4, max_per_task: int = 6) -> pd.DataFrame:
    """Tasks with 1..max_per_task judgments by distinct workers, labels noisy copies of a truth."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        truth = int(rng.integers(n_labels))
        for w in rng.choice(40, size=int(rng.integers(1, max_per_task + 1)), replace=False):
            label = truth if rng.random() < 0.6 else int(rng.integers(n_labels))
            rows.append((f"t{t}", f"w{w}", label))
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def _nltk_alpha(df: pd.DataFrame, distance) -> float:
    task = nltk_agreement.AnnotationTask([(w, t, v) for t, w, v in df[["task", "worker", "label"]].itertuples(
        index=False)], distance)
    return task.alpha()


# ----------------------------------------------------------------------------------- alpha
@pytest.mark.parametrize("distance, published", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849),
                                                  ("ratio", 0.797)])
def test_alpha_reproduces_krippendorffs_published_example(distance, published):
    a = krippendorff(_krippendorff_example(), distance)
    assert a.alpha == pytest.approx(published, abs=5e-4)
    assert (a.units, a.values) == (11, 40)  # unit 12 (one value) is left out


def test_alpha_nominal_by_hand_on_the_example():
    # mismatched ordered pairs within units, each unit's over n_u - 1: unit 2 (2,2,3,2) 6/3, unit 6
    # (1,2,3,4) 12/3, unit 8 (1,1,2,1) 6/3, the rest 0: 8 over the 40 pairable values, D_o = 0.2;
    # D_e = (40^2 - sum n_k^2) / (40 * 39) with n_k = (9, 13, 10, 5, 3) for values 1..5
    a = krippendorff(_krippendorff_example())
    n_k = np.array([9, 13, 10, 5, 3], dtype=float)
    assert a.expected == pytest.approx((40 ** 2 - (n_k ** 2).sum()) / (40 * 39), rel=1e-12)
    assert a.observed == pytest.approx(0.2, rel=1e-12)
    assert a.alpha == pytest.approx(1 - 0.2 / a.expected, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_equals_nltk_for_nominal_interval_and_a_distance_function(seed):
    df = _random(seed)
    assert alpha_krippendorff(df) == pytest.approx(_nltk_alpha(df, nltk_distance.binary_distance), abs=1e-12)
    assert alpha_krippendorff(df, "interval") == pytest.approx(_nltk_alpha(df, nltk_distance.interval_distance),
                                                               abs=1e-12)
    tags = df.assign(label=[frozenset({v, v + 1} if v % 2 else {v}) for v in df["label"]])
    assert alpha_krippendorff(tags, nltk_distance.masi_distance) == pytest.approx(
        _nltk_alpha(tags, nltk_distance.masi_distance), abs=1e-12)


def test_alpha_is_the_same_for_any_row_order_frame_type_label_names_and_unpaired_tasks(tmp_path):
    df = _random(5)
    base = alpha_krippendorff(df)
    shuffled = df.sample(frac=1.0, random_state=1)
    renamed = df.assign(label=df["label"].map({0: "z", 1: "b", 2: "q", 3: "a"}))
    lonely = pd.concat([df, pd.DataFrame({"task": ["solo1", "solo2"], "worker": ["w1", "w2"], "label": [0, 3]})])
    df.to_csv(tmp_path / "j.csv", index=False)
    for other in (shuffled, renamed, lonely, pl.from_pandas(df), pa.Table.from_pandas(df), str(tmp_path / "j.csv")):
        assert alpha_krippendorff(other) == pytest.approx(base, abs=1e-13)


def test_alpha_is_one_for_copies_and_near_zero_for_independent_answers_with_a_covering_interval():
    rng = np.random.default_rng(0)
    n = 5000
    truth = rng.integers(0, 3, n)
    copies = pd.DataFrame({"task": np.repeat(np.arange(n), 3), "worker": np.tile([0, 1, 2], n),
                           "label": np.repeat(truth, 3)})
    assert alpha_krippendorff(copies) == 1.0
    noise = copies.assign(label=rng.integers(0, 3, 3 * n))
    a = krippendorff(noise, bootstrap=300, seed=1)
    assert abs(a.alpha) < 0.02
    assert a.low < 0.0 < a.high and a.high - a.low < 0.05
    assert krippendorff(noise, bootstrap=300, seed=1) == a  # seeded


def test_ordinal_alpha_takes_the_declared_order_of_a_categorical_enum_or_ordered_dictionary(tmp_path):
    """Found by a bug hunt: an ordered pandas Categorical, a polars Enum or an ordered Arrow dictionary
    (a Parquet file written from one) was ranked alphabetically (high < low < mid) with a warning,
    while galton agreement took the declared order. By hand, low < mid < high over (low, high),
    (mid, mid), (low, mid): n_low 2, n_mid 3, n_high 1; d(low, mid) = (5 - 2.5)^2, d(mid, high) =
    (4 - 2)^2, d(low, high) = (6 - 1.5)^2; D_o = (2 * 20.25 + 2 * 6.25) / 6, D_e = (2 * 6 * 6.25 +
    2 * 3 * 4 + 2 * 2 * 20.25) / 30 = 6."""
    order = ["low", "mid", "high"]
    words = ["low", "high", "mid", "mid", "low", "mid"]
    frame = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("ababab"),
                          "label": pd.Categorical(words, categories=order, ordered=True)})
    frame.to_parquet(tmp_path / "ordered.parquet")
    enum = pl.from_pandas(frame.assign(label=words)).with_columns(pl.col("label").cast(pl.Enum(order)))
    want = 1 - (53 / 6) / 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "ranks text labels in sorted order": the order is declared
        for data in (frame, enum, enum.to_arrow(), pa.Table.from_pandas(frame), tmp_path / "ordered.parquet"):
            assert krippendorff(data, "ordinal").alpha == pytest.approx(want, abs=1e-12), type(data)
    unordered = frame.assign(label=pd.Categorical(words, categories=order))  # no order declared: sorted
    with pytest.warns(UserWarning, match="sorted order"):
        assert krippendorff(unordered, "ordinal").alpha != pytest.approx(want, abs=1e-3)
    assert krippendorff(frame, "nominal").alpha == krippendorff(unordered, "nominal").alpha


def test_ordinal_alpha_takes_the_declared_order_from_a_folder_or_pattern_of_parquet_files(tmp_path):
    """Found by a bug hunt: a folder of Parquet files (or a pattern, or a folder of one file) written from
    an ordered Categorical lost its order (the folder's schema held plain strings) and was ranked
    alphabetically (high < low < mid) with a warning: alpha -0.12 where the single file gave 0.15. The hand
    example of the test above, split over two files; files declaring two orders are refused by name."""
    order = ["low", "mid", "high"]
    words = ["low", "high", "mid", "mid", "low", "mid"]
    frame = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("ababab"),
                          "label": pd.Categorical(words, categories=order, ordered=True)})
    (tmp_path / "two").mkdir()
    (tmp_path / "one").mkdir()
    frame.iloc[:4].to_parquet(tmp_path / "two" / "a.parquet")
    frame.iloc[4:].to_parquet(tmp_path / "two" / "b.parquet")
    frame.to_parquet(tmp_path / "one" / "all.parquet")
    want = 1 - (53 / 6) / 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "ranks text labels in sorted order": the order is declared
        for data in (tmp_path / "two", str(tmp_path / "two" / "*.parquet"), tmp_path / "one"):
            assert krippendorff(data, "ordinal").alpha == pytest.approx(want, abs=1e-12), data
    # the other readers of the folder read the ordered dictionary as its values
    assert alpha_krippendorff(tmp_path / "two") == alpha_krippendorff(frame.assign(label=words))
    assert accuracy_on_aggregates(tmp_path / "two") == accuracy_on_aggregates(frame.assign(label=words))
    labels = MajorityVote().fit(tmp_path / "two").labels_["label"].to_list()
    assert labels == MajorityVote().fit(frame.assign(label=words)).labels_.tolist() == ["high", "mid", "low"]
    (tmp_path / "mixed").mkdir()
    frame.iloc[:4].to_parquet(tmp_path / "mixed" / "a.parquet")
    frame.iloc[4:].assign(label=pd.Categorical(words[4:], categories=order[::-1], ordered=True)).to_parquet(
        tmp_path / "mixed" / "b.parquet")
    with pytest.raises(ValueError, match=r"column 'label'.*a\.parquet' declares low < mid < high but .*b\.parquet' "
                                         r"declares high < mid < low"):
        krippendorff(tmp_path / "mixed", "ordinal")
    assert alpha_krippendorff(tmp_path / "mixed") == alpha_krippendorff(frame.assign(label=words))  # nominal: no order
    frame.iloc[4:].assign(label=words[4:]).to_parquet(tmp_path / "mixed" / "b.parquet")  # text: no order declared
    with pytest.raises(ValueError, match=r"a\.parquet' holds ordered categories but .*b\.parquet' holds values in "
                                         r"no declared order"):
        krippendorff(tmp_path / "mixed", "ordinal")


def test_a_files_labels_are_read_as_the_models_read_them_and_as_numbers_for_ordered_distances(tmp_path):
    """Bug hunt: the metrics read a CSV's labels 007 and 7 as one label, the number 7 (nominal alpha
    1.0), where the models keep them apart (MajorityVote's labels 7 and 007) and the same file read
    as text gives the hand value: units (007, 7, 7), (007, 007, 7): D_o = (4 / 2 + 4 / 2) / 6,
    D_e = 2 * 3 * 3 / 30, alpha = 1 - 10 / 9. The ordered distances still read text that is numbers as
    those numbers (3 and 3.0 one value, 10 after 9), as galton agreement does."""
    src = tmp_path / "z.csv"
    src.write_text("task,worker,label\n1,a,007\n1,b,7\n1,c,7\n2,a,007\n2,b,007\n2,c,7\n")
    assert alpha_krippendorff(str(src)) == pytest.approx(1 - 10 / 9, abs=1e-12)
    assert alpha_krippendorff(src) == alpha_krippendorff(pd.read_csv(src, dtype=str))
    assert sorted(MajorityVote().fit(str(src)).labels_["label"].to_list()) == ["007", "7"]
    assert accuracy_on_aggregates(str(src)) == accuracy_on_aggregates(pd.read_csv(src, dtype=str)) == 4 / 6
    ratings = tmp_path / "r.csv"
    ratings.write_text("task,worker,label\n1,a,3\n1,b,3.0\n2,a,9\n2,b,10\n3,a,3\n3,b,10\n")
    numbers = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("ababab"), "label": [3.0, 3, 9, 10, 3, 10]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "ranks text labels in sorted order": they are numbers
        for distance in ("ordinal", "interval", "ratio"):
            assert alpha_krippendorff(ratings, distance) == pytest.approx(alpha_krippendorff(numbers, distance),
                                                                          abs=1e-12), distance
    assert alpha_krippendorff(ratings) == alpha_krippendorff(pd.read_csv(ratings, dtype=str))  # 3, 3.0: two classes


def test_a_frames_text_labels_that_are_numbers_are_ranked_as_numbers_by_the_ordinal_distance(tmp_path):
    """Found by a bug hunt: ordinal alpha on a pandas or polars frame whose labels are numbers written as
    text ranked them as text ("10" before "2") with a warning, while interval read them as numbers and
    so did ordinal on the same labels from a CSV file. One rule now: text that all reads as numbers is
    those numbers ("3" and "3.0" one value). By hand over (2, 10), (9, 9), (10, 2), (3, 3.0), ranked
    2 < 3 < 9 < 10: mid-ranks 1.5, 3.5, 5.5, 7.5 (n 2 each); D_o = (2 * 36 + 0 + 2 * 36 + 0) / 8 = 18,
    D_e = 2 * 2 * 2 * (4 + 16 + 36 + 4 + 16 + 4) / 56 = 80 / 7: alpha 1 - 18 * 7 / 80 = -0.575 (as text,
    "10" < "2" < "3" < "3.0" < "9", it was another number)."""
    words = ["2", "10", "9", "9", "10", "2", "3", "3.0"]
    frame = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3, 4, 4], "worker": list("abababab"), "label": words})
    frame.to_csv(tmp_path / "r.csv", index=False)
    want = 1 - 18 * 7 / 80
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "ranks text labels in sorted order": they are numbers
        for data in (frame, pl.from_pandas(frame), pa.Table.from_pandas(frame), tmp_path / "r.csv",
                     frame.assign(label=[float(w) for w in words])):
            assert krippendorff(data, "ordinal").alpha == pytest.approx(want, abs=1e-12), type(data)
    text = frame.assign(label=["2", "10", "9", "9", "10", "2", "3", "x"])  # text that is not all numbers: sorted
    with pytest.warns(UserWarning, match=r"sorted order \('10', '2', '3', '9', 'x'\)"):
        krippendorff(text, "ordinal")


def test_alpha_refuses_what_it_cannot_measure():
    with pytest.raises(ValueError, match="two or more judgments"):
        alpha_krippendorff(pd.DataFrame({"task": [1, 2], "worker": [1, 1], "label": [0, 1]}))
    with pytest.raises(ValueError, match="distance must be one of"):
        alpha_krippendorff(_toy(), "euclid")
    with pytest.raises(ValueError, match="numeric labels"):
        alpha_krippendorff(_toy(), "interval")
    same = pd.DataFrame({"task": [1, 1, 2, 2], "worker": [1, 2, 1, 2], "label": ["x"] * 4})
    with pytest.warns(UserWarning, match="no variation"):
        assert alpha_krippendorff(same) == 1.0


def test_the_ratio_distance_refuses_negative_labels():
    """Found by a bug hunt: ((a - b) / (a + b))^2 made -3 and 3 agree perfectly (alpha 1.0 over
    (-3, 3), (-2, -2), (1, 1)); Krippendorff's ratio metric is for values 0 or more."""
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3, 4], "worker": list("abababa"), "label": [-3, 3, -2, -2, 1, 1, -2]})
    with pytest.raises(ValueError, match=r"2 label\(s\) are negative \(-3, -2\) in 4 judgment\(s\)\. "
                                         r"Use distance='interval'"):
        alpha_krippendorff(df, "ratio")
    assert alpha_krippendorff(df, "interval") < 0.0  # -3 against 3: disagreement, as interval says
    zero = df.assign(label=df["label"] + 3)  # 0 is a ratio value: d(0, 6) = 1
    assert alpha_krippendorff(zero, "ratio") == pytest.approx(_nltk_alpha(zero, _ratio_distance), abs=1e-12)


def _ratio_distance(a: float, b: float) -> float:
    return ((a - b) / (a + b)) ** 2 if a + b else 0.0


def test_ratio_over_thousands_of_distinct_values_by_the_formula():
    # 1,500 tasks x 3 measurements, ~4,400 distinct values: beyond the 4,096 labels once refused
    from galton.aggregator import MemoryLimitError, memory_limit

    rng = np.random.default_rng(5)
    truth = rng.uniform(1, 100, 1500)
    vals = np.round(truth[:, None] * rng.normal(1, 0.05, (1500, 3)), 3)
    df = pd.DataFrame({"task": np.repeat(np.arange(1500), 3), "worker": np.tile([0, 1, 2], 1500),
                       "label": vals.ravel()})
    names, codes = np.unique(df["label"].to_numpy(), return_inverse=True)
    assert names.size > 4096
    def ratio(a, b):
        return ((a - b) / (a + b)) ** 2
    # D_o: each task's 3 x 3 ordered pairs over n_u - 1 = 2; D_e: every two pairable values over n - 1
    observed = sum(ratio(v[i], v[j]) for v in vals for i in range(3) for j in range(3)) / 2 / vals.size
    n_k = np.bincount(codes).astype(float)
    pairs = sum(n_k[i] * (n_k * ratio(names[i], names)).sum() for i in range(names.size))
    expected = pairs / (vals.size * (vals.size - 1))
    got = krippendorff(df, "ratio")
    assert got.observed == pytest.approx(observed, rel=1e-9) and got.expected == pytest.approx(expected, rel=1e-9)
    assert got.alpha == pytest.approx(1 - observed / expected, rel=1e-9) and got.alpha > 0.9
    with memory_limit("64MB"), pytest.raises(MemoryLimitError, match=r"\d+ distinct labels: the ratio distance's "
                                                                      r"table of every two labels would take"):
        krippendorff(df, "ratio")


def test_interval_observed_disagreement_is_exact_for_values_near_1e9():
    # three judgments per task within +-1 of a value up to 1e9: the observed disagreement by hand
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 1e9, 300).round()
    vals = base[:, None] + rng.integers(-1, 2, (300, 3))
    df = pd.DataFrame({"task": np.repeat(np.arange(300), 3), "worker": np.tile([0, 1, 2], 300),
                       "label": vals.ravel().astype(float)})
    by_hand = sum(((v[:, None] - v[None, :]) ** 2).sum() / 2 for v in vals) / vals.size
    assert krippendorff(df, "interval").observed == pytest.approx(by_hand, rel=1e-9)  # 14.46 against 1.41 before


@pytest.mark.parametrize("by", [None, "worker", "task"])
def test_accuracy_on_aggregates_by_default_is_majority_votes_without_its_table(by):
    # majority votes from the (task, label) counts: repeated judgments, ties to the smallest label
    from galton.aggregator import memory_limit

    for seed in range(5):
        rng = np.random.default_rng(seed)
        df = pd.DataFrame({"task": rng.integers(0, 60, 400), "worker": rng.integers(0, 8, 400),
                           "label": rng.integers(0, 4, 400)})
        fitted = accuracy_on_aggregates(df, aggregator=MajorityVote(), by=by)
        got = accuracy_on_aggregates(df, by=by)
        if by is None:
            assert got == fitted
        else:
            pd.testing.assert_series_equal(got, fitted)
    whole = accuracy_on_aggregates(df)
    with memory_limit("1KB"):  # the fitted model's table is refused; the default needs none
        with pytest.raises(ValueError, match="would need about"):
            accuracy_on_aggregates(df, aggregator=MajorityVote())
        assert accuracy_on_aggregates(df) == whole


# ---------------------------------------------------------------- crowd-kit's own numbers
def test_crowdkits_published_numbers_to_the_last_bit():
    toy = _toy()
    skills = pd.Series([0.6, 0.8, 1.0, 0.4, 0.8], index=pd.Index(["w1", "w2", "w3", "w4", "w5"], name="worker"))
    assert consistency(toy) == 0.9384615384615385
    assert uncertainty(toy, skills) == 0.6308666201949331
    assert alpha_krippendorff(toy) == 0.14219114219114215
    assert accuracy_on_aggregates(toy) == 0.7083333333333334
    per_worker = accuracy_on_aggregates(toy, by="worker")
    assert per_worker.index.name == "worker" and per_worker.name is None
    assert per_worker.tolist() == [0.6, 0.8, 1.0, 0.4, 0.8]


@pytest.mark.parametrize("seed", [0, 1])
def test_consistency_and_uncertainty_equal_crowdkit_on_random_data(seed):
    df = _random(seed, n_tasks=200, n_labels=3)
    rng = np.random.default_rng(seed)
    workers = sorted(df["worker"].unique())
    skills = pd.Series(rng.uniform(0.05, 0.95, len(workers)), index=pd.Index(workers, name="worker"))
    mv = MajorityVote()  # the same labels on both sides (crowd-kit's MV breaks ties by first appearance)
    ours = consistency(df, skills, aggregator=mv, by_task=True)
    theirs = ck_data.consistency(df, skills, aggregator=MajorityVote(), by_task=True)
    np.testing.assert_allclose(ours.to_numpy(), theirs.sort_index().to_numpy(), rtol=1e-12)
    assert ours.name is theirs.name is None and ours.index.name == theirs.index.name  # unnamed, as crowd-kit's
    for by in ("task", "worker"):
        ours = uncertainty(df, skills, compute_by=by, aggregate=False)
        theirs = ck_data.uncertainty(df, skills, compute_by=by, aggregate=False)
        np.testing.assert_allclose(ours.to_numpy(), theirs.sort_index().to_numpy(), rtol=1e-12, atol=1e-15)
        assert ours.name is theirs.name is None and ours.index.name == theirs.index.name == by


def test_consistency_by_default_is_majority_votes_without_its_table():
    """Found by a bug hunt: consistency() fitted MajorityVote's tasks x labels table (100,000 tasks of
    20,000 labels: MemoryLimitError, 59.6 GiB). Its labels and skills_ (each worker's share of distinct
    answers equal to the majority label) now come from the (task, label) counts: the same numbers as
    the fitted model's, repeated judgments and ties included, and crowd-kit's where no task ties."""
    from galton.aggregator import memory_limit

    for seed in range(5):
        rng = np.random.default_rng(seed)
        df = pd.DataFrame({"task": rng.integers(0, 60, 400), "worker": rng.integers(0, 8, 400),
                           "label": rng.integers(0, 4, 400)})
        fitted = consistency(df, aggregator=MajorityVote(), by_task=True)
        pd.testing.assert_series_equal(consistency(df, by_task=True), fitted, rtol=0, atol=0)
        skills = pd.Series(rng.uniform(0.1, 0.9, 8), index=range(8))
        assert consistency(df, skills) == consistency(df, skills, aggregator=MajorityVote())
    rng = np.random.default_rng(7)  # 1, 3 or 5 judgments of two labels: no tie, crowd-kit's labels
    rows = [(f"t{t}", f"w{w}", "ab"[int(rng.random() < 0.3)]) for t in range(80)
            for w in rng.choice(10, size=int(rng.choice([1, 3, 5])), replace=False)]
    odd = pd.DataFrame(rows, columns=["task", "worker", "label"])
    assert consistency(odd) == pytest.approx(ck_data.consistency(odd), rel=1e-12)
    whole = consistency(df)
    with memory_limit("1KB"):  # the fitted model's table is refused; the default needs none
        with pytest.raises(ValueError, match="would need about"):
            consistency(df, aggregator=MajorityVote())
        assert consistency(df) == whole


def test_consistency_where_crowdkits_products_underflow_by_hand():
    # 1000 judgments 'a' and 999 'b', every worker of skill 0.7: the posterior of 'a' is
    # 0.7^1000 0.3^999 / (0.7^1000 0.3^999 + 0.3^1000 0.7^999) = 0.7; the products are 0 in floats
    n = 1999
    df = pd.DataFrame({"task": ["big"] * n, "worker": [f"w{i}" for i in range(n)], "label": ["a"] * 1000 + ["b"] * 999})
    skills = pd.Series(0.7, index=df["worker"])
    assert consistency(df, skills) == pytest.approx(0.7, rel=1e-12)
    assert ck_data.consistency(df, skills) == 0.0  # crowd-kit: 0 / 0 counted as 0


def test_the_sparse_paths_equal_the_dense_ones(monkeypatch):
    df = _random(3, n_tasks=150, n_labels=5)
    rng = np.random.default_rng(3)
    workers = sorted(df["worker"].unique())
    skills = pd.Series(rng.uniform(0.0, 1.0, len(workers)), index=pd.Index(workers, name="worker"))
    skills.iloc[:3] = [0.0, 1.0, 1.0]  # factors of 0 on both paths
    dense = [consistency(df, skills, by_task=True).to_numpy()]
    dense += [uncertainty(df, skills, compute_by=by, aggregate=False).to_numpy() for by in ("task", "worker")]
    monkeypatch.setattr(metrics_data, "_DENSE_LABELS", 0)
    sparse = [consistency(df, skills, by_task=True).to_numpy()]
    sparse += [uncertainty(df, skills, compute_by=by, aggregate=False).to_numpy() for by in ("task", "worker")]
    for a, b in zip(dense, sparse):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_skills_missing_for_a_worker_name_it_and_are_an_assertion_error_too():
    df = pd.DataFrame({"task": ["1", "1", "1"], "worker": ["A", "B", "C"], "label": ["dog", "cat", "cat"]})
    with pytest.raises(MissingSkillsError, match="'C'") as err:
        uncertainty(df, pd.Series([1.0, 1.0], index=["A", "B"]))
    assert isinstance(err.value, AssertionError) and isinstance(err.value, ValueError)
    with pytest.raises(KeyError, match="compute_by"):
        uncertainty(df, compute_by="label")


# ----------------------------------------------------------------------- worker accuracy
def test_get_accuracy_counts_a_repeated_judgment_once_and_weighs_like_crowdkit():
    from crowdkit.aggregation.utils import get_accuracy as ck_get_accuracy

    df = pd.DataFrame({"task": ["t1", "t1", "t1", "t2", "t2", "t3"], "worker": ["a", "a", "b", "a", "b", "b"],
                       "label": ["x", "x", "y", "y", "y", "x"]})
    gold = pd.Series({"t1": "x", "t2": "y"})  # t3 has no gold: left out
    # worker a: (t1, x) twice counts once -> 2 of 2; worker b: t1 wrong, t2 right -> 1 of 2
    assert get_accuracy(df, gold, by="worker").tolist() == [1.0, 0.5]
    assert get_accuracy(df, gold) == 0.75
    weighted = _random(4).assign(weight=np.random.default_rng(4).uniform(0.1, 2.0, len(_random(4))))
    truth = weighted.groupby("task")["label"].first()
    np.testing.assert_allclose(get_accuracy(weighted, truth, by="worker").to_numpy(),
                               ck_get_accuracy(weighted, truth, by="worker").sort_index().to_numpy(), rtol=1e-12)


def test_accuracy_on_aggregates_in_polars_is_a_table_by_worker():
    out = accuracy_on_aggregates(pl.from_pandas(_toy()), by="worker")
    assert isinstance(out, pl.DataFrame) and out.columns == ["worker", "accuracy"]
    assert out["accuracy"].to_list() == [0.6, 0.8, 1.0, 0.4, 0.8]


# ------------------------------------------------------------------------- post-processing
def test_entropy_threshold_drops_the_one_button_worker_and_keeps_rows_in_order():
    rows = [("1", "A", "dog"), ("1", "B", "cat"), ("1", "C", "cat"), ("2", "A", "cat"), ("2", "B", "cat"),
            ("2", "C", "dog"), ("3", "A", "dog"), ("3", "B", "cat"), ("3", "C", "dog"), ("4", "D", "dog")]
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 7 of 10 rows stay: no warning
        kept = entropy_threshold(df, percentile=10, min_answers=2)
    assert "B" not in set(kept["worker"]) and "D" in set(kept["worker"])  # D: too few answers to judge
    assert kept.index.tolist() == [0, 2, 3, 5, 6, 8, 9]
    out = entropy_threshold(pl.from_pandas(df), percentile=10)
    assert isinstance(out, pl.DataFrame) and out["worker"].to_list() == kept["worker"].tolist()
    with pytest.warns(UserWarning, match="Removed >= 1/2 of answers"):
        entropy_threshold(df, percentile=100)


@pytest.mark.parametrize("seed", [0, 1])
def test_set_distances_equal_nltks_for_pandas_lists_and_polars_list_columns(seed):
    rng = np.random.default_rng(seed)
    rows = [(t, w, [x for x in "abcd" if rng.random() < 0.4]) for t in range(150) for w in range(3)]
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    frozen = df.assign(label=[frozenset(v) for v in df["label"]])
    polars = pl.DataFrame({"task": [r[0] for r in rows], "worker": [r[1] for r in rows], "label": [r[2] for r in rows]})
    def empty_equal(fn):  # nltk divides by zero on two empty sets; galton counts them equal
        return lambda a, b: 0.0 if not a and not b else fn(a, b)

    for name, fn in (("masi", empty_equal(nltk_distance.masi_distance)),
                     ("jaccard", empty_equal(nltk_distance.jaccard_distance))):
        ref = _nltk_alpha(frozen, fn)
        assert alpha_krippendorff(df, name) == pytest.approx(ref, abs=1e-12)
        assert alpha_krippendorff(polars, name) == pytest.approx(ref, abs=1e-12)
    with pytest.raises(ValueError, match="sets of tags"):
        alpha_krippendorff(_toy(), "masi")



def test_tag_lists_read_back_from_parquet_as_numpy_arrays_are_tag_sets(tmp_path):
    """Bug hunt: pd.read_parquet gives a list cell as a numpy array, and the metrics refused such a
    frame saying its list values are multi-label data (which they are). Alpha with MASI / Jaccard
    equals nltk's on the same sets; accuracy against BinaryRelevance's result is hand-counted: w1's
    sets are the aggregate on both tasks, w2's and w3's on neither (2 of 6 judgments)."""
    from galton import BinaryRelevance
    from galton.metrics import get_accuracy

    rows = [("t1", "w1", ["house", "tree"]), ("t1", "w2", ["house"]), ("t1", "w3", ["house", "tree", "grass"]),
            ("t2", "w1", ["car"]), ("t2", "w2", ["car", "human"]), ("t2", "w3", ["train"]),
            ("t3", "w1", ["car"]), ("t3", "w2", ["car", "tree"])]
    lists = pd.DataFrame(rows, columns=["task", "worker", "label"])
    lists.to_parquet(tmp_path / "tags.parquet")
    arrays = pd.read_parquet(tmp_path / "tags.parquet")
    assert isinstance(arrays["label"].iloc[0], np.ndarray)
    frozen = lists.assign(label=[frozenset(v) for v in lists["label"]])
    for name, fn in (("masi", nltk_distance.masi_distance), ("jaccard", nltk_distance.jaccard_distance)):
        assert alpha_krippendorff(arrays, name) == pytest.approx(_nltk_alpha(frozen, fn), abs=1e-12)
    true = BinaryRelevance().fit_predict(lists.iloc[:6])
    assert get_accuracy(arrays.iloc[:6], true) == pytest.approx(2 / 6)
    assert get_accuracy(arrays.iloc[:6], true, by="worker").to_dict() == {"w1": 1.0, "w2": 0.0, "w3": 0.0}
    assert get_accuracy(arrays.iloc[:6], true.map(np.array)) == pytest.approx(2 / 6)  # the gold's arrays too


def test_binary_relevance_as_the_aggregator_of_tag_sets():
    """Bug hunt: accuracy_on_aggregates(df, aggregator=BinaryRelevance()) and consistency(...) said "6
    row(s) hold a single value": the model was given the sets' integer ranks. Hand counts: t1's
    aggregate {house, tree} is w1's set only, t2's {car} w1's only, t3's {a, b, c} no one's; with
    skill 0.8 over k = 9 distinct sets, t1's posterior is 0.8 * 0.025**2 / (3 * 0.8 * 0.025**2 + 6 *
    0.025**3) = 0.8 / 2.55 (a wrong set: 0.2 / 8 = 0.025)."""
    from galton import BinaryRelevance

    df = pd.DataFrame({"task": ["t1"] * 3 + ["t2"] * 3 + ["t3"] * 3, "worker": ["w1", "w2", "w3"] * 3,
                       "label": [["house", "tree"], ["house"], ["house", "tree", "grass"], ["car"], ["car", "human"],
                                 ["train"], ["a", "b"], ["a", "c"], ["b", "c"]]})
    assert BinaryRelevance().fit_predict(df)["t3"] == ["a", "b", "c"]
    assert accuracy_on_aggregates(df, aggregator=BinaryRelevance()) == pytest.approx(2 / 9)
    assert accuracy_on_aggregates(pl.from_pandas(df), aggregator=BinaryRelevance(), by="worker").rows() == [
        ("w1", pytest.approx(2 / 3)), ("w2", 0.0), ("w3", 0.0)]
    by_set = accuracy_on_aggregates(df, aggregator=BinaryRelevance(), by="true_label")
    assert by_set.to_dict() == {frozenset({"house", "tree"}): pytest.approx(1 / 3), frozenset({"car"}): pytest.approx(
        1 / 3), frozenset({"a", "b", "c"}): 0.0}
    skills = {"w1": 0.8, "w2": 0.8, "w3": 0.8}
    got = consistency(df, workers_skills=skills, aggregator=BinaryRelevance(), by_task=True)
    assert got.to_dict() == {"t1": pytest.approx(0.8 / 2.55), "t2": pytest.approx(0.8 / 2.55), "t3": 0.0}
    with pytest.raises(MissingSkillsError, match="BinaryRelevance has no skills_"):  # true: no skill per worker
        consistency(df, aggregator=BinaryRelevance())
    with pytest.raises(ValueError, match=r"9 row\(s\) hold a single value \(row 0: 'x'"):  # the labels, not ranks
        accuracy_on_aggregates(df.assign(label=["x"] * 9), aggregator=BinaryRelevance())

def test_the_metrics_are_reached_from_import_galton_alone():
    import subprocess
    import sys

    code = ("import galton; print(galton.metrics.alpha_krippendorff.__module__, "
            "galton.postprocessing.entropy_threshold.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["galton.metrics._alpha", "entropy_threshold"]


def test_a_crowdkit_aggregator_reads_polars_and_arrow_input_as_pandas():
    """The metrics take a crowd-kit model as aggregator; with polars or Arrow input galton handed
    it the frame unchanged and crowd-kit crashed inside (bug hunt). Now the same numbers as pandas."""
    import polars as pl
    import pyarrow as pa
    from crowdkit.aggregation import Wawa as CkWawa

    from galton.metrics import accuracy_on_aggregates

    df = pd.DataFrame({"task": ["t1", "t1", "t1", "t2", "t2", "t3", "t3", "t3"],
                       "worker": ["a", "b", "c", "a", "b", "a", "b", "c"],
                       "label": ["x", "x", "y", "y", "y", "x", "y", "x"]})
    want = [accuracy_on_aggregates(df, aggregator=CkWawa()), consistency(df, aggregator=CkWawa()),
            uncertainty(df, aggregator=CkWawa())]
    for frame in (pl.from_pandas(df), pa.Table.from_pandas(df)):
        got = [accuracy_on_aggregates(frame, aggregator=CkWawa()), consistency(frame, aggregator=CkWawa()),
               uncertainty(frame, aggregator=CkWawa())]
        assert got == pytest.approx(want, rel=1e-12)


def test_skills_that_name_a_worker_twice_are_refused_as_crowdkit_does():
    """Found by a bug hunt: a workers_skills Series with a repeated worker silently used the last
    value (0.2 for 'a' here); crowd-kit refuses it ("cannot reindex on an axis with duplicate labels")."""
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("ababab"), "label": list("xyxxyy")})
    twice = pd.Series([0.9, 0.6, 0.2], index=["a", "b", "a"])
    table = pl.DataFrame({"worker": ["a", "b", "a"], "skill": [0.9, 0.6, 0.9]})  # equal values: refused too
    for metric in (consistency, uncertainty, entropy_threshold):
        for skills in (twice, table):
            with pytest.raises(ValueError, match=r"workers_skills: 1 worker\(s\) appear more than once \('a'\)"):
                metric(df, skills)
    for theirs in (ck_data.consistency, ck_data.uncertainty):
        with pytest.raises(ValueError, match="duplicate labels"):
            theirs(df, twice)


def test_skills_errors_say_whose_skills_and_assert_as_crowdkit():
    """An aggregator without skills_ raised a plain ValueError (crowd-kit asserts, so code catching
    AssertionError broke); GLAD's own skills outside [0, 1] were blamed on a workers_skills the user
    never passed (bug hunt)."""
    import galton
    from crowdkit.aggregation import DawidSkene as CkDawidSkene

    df = pd.DataFrame({"task": ["t1", "t1", "t1", "t2", "t2", "t3", "t3", "t3"],
                       "worker": ["a", "b", "c", "a", "b", "a", "b", "c"],
                       "label": ["x", "x", "y", "y", "y", "x", "y", "x"]})
    with pytest.raises(AssertionError, match="DawidSkene has no skills_"):
        consistency(df, aggregator=CkDawidSkene(10))
    with pytest.raises(ValueError, match=r"GLAD's skills_ are its alphas_, abilities whose chance"):
        consistency(df, aggregator=galton.GLAD())


def test_a_distance_function_that_gives_nan_or_a_negative_distance_is_refused_by_its_pair() -> None:
    """Found by a bug hunt: a cosine distance of a zero vector is NaN, and alpha came out 1.0 without a
    word (NaN > 0 is False: "no variation"); crowd-kit and nltk give NaN. A distance is a finite number,
    0 or more, for every two labels: the function's first bad answer is named with its two labels."""
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": ["a", "b"] * 3,
                       "label": [(1.0, 0.0), (0.9, 0.1), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.1, 0.9)]})

    def cosine(a, b):
        a, b = np.asarray(a), np.asarray(b)
        with np.errstate(invalid="ignore"):
            return 1.0 - float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    with pytest.raises(ValueError, match=r"the distance cosine gave nan for the labels \(1\.0, 0\.0\) and "
                                         r"\(0\.0, 0\.0\) \(8 of 20 .*finite number, 0 or more"):
        krippendorff(df, cosine)
    numbers = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b"] * 2, "label": [1, 2, 2, 3]})
    with pytest.raises(ValueError, match=r"gave -1\.0 for the labels 1 and 2"):
        alpha_krippendorff(numbers, lambda a, b: float(a - b))
    with pytest.raises(ValueError, match=r"gave inf for the labels 1 and 2"):
        alpha_krippendorff(numbers, lambda a, b: float("inf"))
    # a proper one still gives the formula's value: |a - b| over (1, 2), (2, 3): D_o = (2 + 2) / 4,
    # D_e = 2 (1 * 2 * 1 + 1 * 1 * 2 + 2 * 1 * 1) / (4 * 3), both 1: alpha 0
    assert alpha_krippendorff(numbers, lambda a, b: float(abs(a - b))) == pytest.approx(0.0, abs=1e-12)


def test_alpha_with_nltks_masi_distance_is_crowdkits() -> None:
    """crowd-kit's own test expects 0.66733 from an older nltk's masi_distance; with the nltk installed
    crowd-kit gives what galton gives (galton.benchmarks.crowdkit_tests says so for that test)."""
    distance = pytest.importorskip("nltk.metrics.distance").masi_distance
    ck = pytest.importorskip("crowdkit.metrics.data")
    df = pd.DataFrame({"task": ["X", "X", "Y", "Y", "Z", "Z"], "worker": ["A", "B"] * 3,
                       "label": [frozenset(["dog"]), frozenset(["dog"]), frozenset(["cat"]), frozenset(["cat"]),
                                 frozenset(["cat"]), frozenset(["cat", "mouse"])]})
    assert alpha_krippendorff(df, distance) == pytest.approx(ck.alpha_krippendorff(df, distance), abs=1e-12)


@pytest.mark.parametrize("distance", ["ordinal", "interval", "ratio"])
def test_sets_of_tags_and_tuples_have_no_order_and_are_refused_for_ordered_distances(distance) -> None:
    """Found by a bug hunt: ordinal alpha ranked set labels as first seen, so the same rows gave 0.3592
    forward and 0.3048 reversed without a word (tuples -0.00237 against -0.00821). Such labels have no
    order: refused for every distance of ordered values, pointing at MASI; nominal and MASI are unchanged."""
    rng = np.random.default_rng(0)
    rows = [(t, w, sorted({str(x) for x in rng.choice(list("abcde"), size=2)})) for t in range(40) for w in range(3)]
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    tuples = pd.DataFrame({"task": [1, 1, 2, 2], "worker": list("abab"), "label": [(1, 2), (0, 5), (3, 1), (2, 2)]})
    polars = pl.DataFrame({"task": df["task"], "worker": df["worker"], "label": df["label"].tolist()})
    for frame in (df, df.iloc[::-1], df.assign(label=[frozenset(v) for v in df["label"]]), tuples, polars):
        with pytest.raises(ValueError, match=rf"the {distance} distance compares ordered values; \d+ label\(s\) "
                                             r"in \d+ judgment\(s\) are sets of tags or tuples .* Use distance='masi'"):
            krippendorff(frame, distance)
    for name in ("nominal", "masi"):  # row order is no matter for these
        assert krippendorff(df, name).alpha == pytest.approx(krippendorff(df.iloc[::-1], name).alpha, abs=1e-12)


def _old_set_distance(distance: str):
    """galton's former loop over pairs of sets, as a distance function (the table it built, pair by pair)."""
    def d(a, b) -> float:
        a, b = frozenset(a), frozenset(b)
        union = len(a | b)
        jac = len(a & b) / union if union else 1.0
        if distance == "masi":
            jac *= 1.0 if a == b else 2.0 / 3.0 if (a <= b or b <= a) else 1.0 / 3.0 if a & b else 0.0
        return 1.0 - jac
    return d


@pytest.mark.parametrize("block", [5, 300, 1 << 22])
def test_the_set_distance_table_is_exactly_the_pairwise_definition(block, monkeypatch) -> None:
    """The MASI / Jaccard table is built from the tags' intersections in blocks of rows, not pair by
    pair in Python (8,000 sets took 35 s): every distance, hence alpha, is the same to the last bit,
    empty sets, tuples and tags of several types included, whatever the block size."""
    from galton.metrics import _alpha

    monkeypatch.setattr(_alpha, "_BLOCK", block)
    rng = np.random.default_rng(block)
    vocab = ["a", "b", "c", "d", "e", "f", 1, 2.5, True]
    rows = [(t, w, [vocab[i] for i in rng.choice(len(vocab), size=int(rng.integers(0, 5)), replace=False)])
            for t in range(200) for w in range(3)]
    rows += [(200, 0, ("x", 1)), (200, 1, [1, "x"]), (201, 0, []), (201, 1, ())]
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    for name in ("masi", "jaccard"):
        ours, theirs = krippendorff(df, name), krippendorff(df, _old_set_distance(name))
        assert (ours.alpha, ours.observed, ours.expected) == (theirs.alpha, theirs.observed, theirs.expected)
        assert ours.labels > 100


def test_the_set_distance_table_makes_no_python_call_per_pair_of_sets() -> None:
    """The loop over pairs made a few Python-level calls (len, |, &) per pair: 2,000 sets took 1.4 s,
    8,000 took 35 s, and the memory guard allows 39,700 (over 10 minutes in silence). Counted here: the
    builtin calls made while measuring 600 distinct sets stay far under one per pair (179,700 pairs):
    8,600 against 363,000 before."""
    import sys

    rng = np.random.default_rng(0)
    seen: dict = {}
    while len(seen) < 600:
        seen.setdefault(frozenset(rng.choice(30, size=int(rng.integers(1, 6)), replace=False).tolist()), None)
    df = pd.DataFrame({"task": np.arange(600) // 2, "worker": np.arange(600) % 2, "label": list(seen)})
    krippendorff(df, "masi")  # imports done: what follows is the measurement alone
    calls = [0]

    def count(frame, event, arg):
        if event == "c_call":
            calls[0] += 1

    sys.setprofile(count)
    try:
        krippendorff(df, "masi")
    finally:
        sys.setprofile(None)
    assert calls[0] < 30_000, calls[0]


def _agreeing_tasks_with(n_tasks: int, disagreeing: int) -> pd.DataFrame:
    """``n_tasks`` tasks of two workers, the last ``disagreeing`` of them with an "a" and a "b"."""
    rows = [(t, w, "b" if w == 1 and t >= n_tasks - disagreeing else "a") for t in range(n_tasks) for w in range(2)]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def test_bootstrap_resamples_without_variation_are_no_alpha_of_one():
    """Bug hunt: a resample that left out every disagreeing task (expected disagreement 0, alpha 0/0)
    counted as alpha 1.0, so with one disagreement in 20 tasks (383 of 1,000 such resamples) the
    interval ran -0.054 .. 1.0 without a word (338 with today's draws; (19/20)^20 = 35.8%
    expected), where every defined resample lies in [-0.083, 0]. Too
    many undefined resamples for the interval's tails: no interval, and a warning that counts them."""
    df = _agreeing_tasks_with(20, 1)
    with pytest.warns(UserWarning, match=r"338 of 1000 bootstrap resamples \(33\.8%\) have no variation.*"
                                         r"no interval is reported"):
        a = krippendorff(df, bootstrap=1000, seed=0)
    assert a.alpha == 0.0 and np.isnan(a.low) and np.isnan(a.high)


def test_bootstrap_interval_leaves_the_undefined_resamples_out():
    """Fewer undefined resamples than a tail of the interval holds (2 of 200 at 95%: 5 a tail): the
    interval is the percentiles of the defined resamples' alphas, each computed here on the resampled
    frame itself (task copies as new tasks), and a warning counts the others."""
    df = _agreeing_tasks_with(40, 4)
    rng = np.random.default_rng(3)
    draws = []
    for _ in range(200):  # the function's draws: tasks 0..39 are its pairable units in order
        copies = np.bincount(rng.integers(0, 40, 40), minlength=40)  # 40 tasks drawn with replacement
        rows = np.repeat(np.arange(80), np.repeat(copies, 2))  # df's rows: task t holds rows 2t, 2t + 1
        copy = np.concatenate([np.tile(np.arange(c), 2) for c in copies])  # which copy of its task
        frame = df.iloc[rows].assign(task=df.task.to_numpy()[rows] * 100 + copy)
        draws.append(alpha_krippendorff(frame) if frame.label.nunique() > 1 else np.nan)
    draws = np.array(draws)
    assert np.isnan(draws).sum() == 2 and np.nanmax(draws) < 0.5
    with pytest.warns(UserWarning, match=r"2 of 200 bootstrap resamples \(1\.0%\).*the interval is taken over the "
                                         r"other 198"):
        a = krippendorff(df, bootstrap=200, seed=3)
    low, high = np.quantile(draws[~np.isnan(draws)], [0.025, 0.975])
    assert (a.low, a.high) == pytest.approx((low, high), abs=1e-12)
    assert a.low <= a.alpha <= a.high


def test_bootstrap_takes_whole_numbers_of_at_least_ten_resamples_as_the_cli():
    """Bug hunt: bootstrap=1 gave an "interval" that excluded alpha (that one draw, twice: -0.136 ..
    -0.136 beside 0.142 on the toy data), 1..9 percentiles of a few draws, where galton agreement
    refuses fewer than 10; bootstrap=100.0 failed inside numpy with a TypeError."""
    df = _toy()
    for few in (1, 9):
        with pytest.raises(ValueError, match=rf"bootstrap={few}: give 0 \(no interval\) or at least 10 resamples"):
            krippendorff(df, bootstrap=few)
    for odd in (2.5, "100", True):
        with pytest.raises(ValueError, match="bootstrap=.* must be a whole number"):
            krippendorff(df, bootstrap=odd)
    with pytest.raises(ValueError, match="level=1.5 must lie in"):
        krippendorff(df, bootstrap=10, level=1.5)
    whole = krippendorff(_random(0), bootstrap=100, seed=2)
    assert krippendorff(_random(0), bootstrap=100.0, seed=2) == whole
    assert whole.low < whole.alpha < whole.high


def test_skills_that_are_no_probability_of_a_right_answer_are_refused_by_the_models_name():
    """Bug hunt: consistency and uncertainty read MACE's skills_ (1 - spamming_: the chance that a
    worker knows the answer, a lower bound, as a spammer is right by chance too) as the chance of a
    right answer: consistency 0.733 on snow2008_rte, 0.987 with MACE's own chance. crowd-kit's MACE has
    no skills_ and its metrics assert; galton refuses MACE's, and GLAD's, KOS's, M-MSR's and BWA's
    (only outside [0, 1] before), the same way, and takes workers_skills= with any of them."""
    import galton
    from crowdkit.aggregation import MACE as CkMACE

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 40)
    df = pd.DataFrame([(t, w, int(truth[t]) if rng.random() < 0.8 else int(rng.integers(0, 2)))
                       for t in range(40) for w in ("a", "b", "c", "d")], columns=["task", "worker", "label"])
    with pytest.raises(AssertionError, match="not supported"):
        ck_data.consistency(df, aggregator=CkMACE(n_restarts=1))
    mace = galton.MACE(n_restarts=1)
    assert ((mace.fit(df).skills_ >= 0) & (mace.skills_ <= 1)).all()  # in [0, 1]: the range check passed them
    for model in (mace, galton.GLAD(), galton.KOS(), galton.MMSR(), galton.BWA(), CkMACE(n_restarts=1)):
        name = type(model).__name__
        for metric in (consistency, uncertainty):
            with pytest.raises(MissingSkillsError, match=rf"^{name}'s skills_ are .*not the probability that a "
                                                         r"worker answers right.*pass workers_skills="):
                metric(df, aggregator=model)
    with pytest.raises(AssertionError, match="1 - spamming_"):
        consistency(df, aggregator=mace)
    skills = get_accuracy(df, pd.Series(truth), by="worker")  # what to pass instead: accuracy on gold
    ours = consistency(df, skills, galton.MACE(n_restarts=1))
    assert ours == pytest.approx(ck_data.consistency(df, skills, galton.MACE(n_restarts=1)), abs=1e-12)
    assert ours > 0.9


def test_gold_as_lists_of_tags_is_read_as_the_judgments_lists_are():
    """Bug hunt: judgments may be lists of tags, gold could not (TypeError: unhashable type: 'list').
    Gold's lists are frozensets now, as the judgments' are: crowd-kit's number on frozensets, from a
    Series, a dict, a pandas frame or a polars list column."""
    from crowdkit.aggregation.utils import get_accuracy as ck_get_accuracy

    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": ["a", "b", "a", "b", "a", "b"],
                       "label": [["x", "y"], ["x"], ["y"], ["y"], [], ["z"]]})
    gold = {1: ["y", "x"], 2: ["y"], 3: []}
    as_sets = pd.Series({t: frozenset(v) for t, v in gold.items()})
    ref = ck_get_accuracy(df.assign(label=df.label.map(frozenset)), as_sets, by="worker")
    assert ref.to_dict() == pytest.approx({"a": 1.0, "b": 1 / 3})
    table = pd.DataFrame({"task": list(gold), "label": list(gold.values())})
    for given in (gold, pd.Series(gold), table, pl.from_pandas(table), as_sets):
        assert get_accuracy(df, given) == pytest.approx(4 / 6)
        pd.testing.assert_series_equal(get_accuracy(df, given, by="worker"), ref, check_names=False)


def test_gold_floats_are_labels_of_integer_or_boolean_type_only_when_exactly_so():
    """Bug hunt: gold 2.0 for boolean labels was cast to True and scored right (0.75; crowd-kit and gold
    2: 0.25), and 300.0 for int8 labels wrapped to 44. A float is cast only where the cast gives it back."""
    from crowdkit.aggregation.utils import get_accuracy as ck_get_accuracy

    flags = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": [True, True, False, True]})
    small = flags.assign(label=np.array([44, 44, 1, 0], dtype=np.int8))
    for df, gold, right in ((flags, {1: 2.0, 2: 0.0}, 0.25), (flags, {1: 1.0, 2: 0.0}, 0.75),
                            (small, {1: 300.0, 2: 1.0}, 0.25), (small, {1: 44.0, 2: 1.0}, 0.75)):
        assert get_accuracy(df, pd.Series(gold)) == right == ck_get_accuracy(df, pd.Series(gold))
    assert get_accuracy(flags, pd.Series({1: 2.0, 2: 0.0}), by="true_label").to_dict() == {False: 0.5, 2.0: 0.0}


def test_messages_name_what_the_metric_was_given():
    """Bug hunt: an infinite label told the metrics' user of ratings and on_invalid='drop', which no
    metric takes; aggregates=model.probas_ (a table of probabilities) was "gold is missing column(s)",
    an argument the user never passed."""
    df = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": [1.0, np.inf, 2.0, 2.0]})
    for metric in (alpha_krippendorff, consistency, accuracy_on_aggregates):
        with pytest.raises(ValueError) as caught:
            metric(df)
        assert str(caught.value) == ("column 'label' has 1 label(s) that are infinite or beyond ±1e+150 (inf; "
                                     "rows 1); drop or fix those rows")
    df = df.assign(label=[0, 0, 1, 0])
    model = MajorityVote().fit(df)
    with pytest.raises(ValueError, match=r"^aggregates is missing column\(s\) \['task', 'label'\]; it has \['0', "
                                         r"'1'\]\. aggregates needs one row per task"):
        accuracy_on_aggregates(df, aggregates=model.probas_)
    with pytest.raises(ValueError, match=r"^true_labels is missing column\(s\) \['task', 'label'\]"):
        get_accuracy(df, model.probas_)
    with pytest.raises(ValueError, match=r"^aggregates task ids are text \('x'\)"):
        accuracy_on_aggregates(df, aggregates=pd.Series({"x": 0}))
    assert accuracy_on_aggregates(df, aggregates=model.labels_) == 0.75


@pytest.mark.parametrize("distance", ["interval", "ratio"])
def test_interval_and_ratio_on_text_name_the_labels_that_are_no_numbers_and_their_rows(distance) -> None:
    """The interval and ratio distances on text that is no numbers listed the first five labels,
    numbers among them ("these are not ('1', '2', '3 stars', '4')"), with no count nor row; now the
    count of rows, the labels that are no numbers and their rows, as the rating models say it."""
    frame = pd.DataFrame({"task": ["t1", "t1", "t2", "t2", "t3", "t3"], "worker": list("ababab"),
                          "label": ["3 stars", "4", "1", "2", "two", "3 stars"]})
    with pytest.raises(ValueError, match=rf"^the {distance} distance needs numeric labels; column 'label' holds "
                                         r"non-numeric values in 3 row\(s\) \('3 stars', 'two'; rows 0, 4, 5\)\. "
                                         r"Use distance='nominal'"):
        alpha_krippendorff(frame, distance)
    numbers = frame.assign(label=["3", "4", "1", "2", "2", "3"])  # text numbers are those numbers
    assert alpha_krippendorff(numbers, distance) == alpha_krippendorff(numbers.assign(label=[3, 4, 1, 2, 2, 3]),
                                                                        distance)


def test_common_mistakes_get_errors_that_say_what_to_do():
    """A model's class instead of an object raised "fit_predict() missing 1 required positional
    argument: 'data'", and skills as text pandas' "could not convert string to float" (bug hunt)."""
    df = pd.DataFrame({"task": ["t1", "t1", "t2"], "worker": ["a", "b", "a"], "label": [1, 0, 1]})
    for metric in (accuracy_on_aggregates, lambda d, m: consistency(d, aggregator=m),
                   lambda d, m: uncertainty(d, aggregator=m)):
        with pytest.raises(TypeError, match=r"^aggregator must be a model object; pass MajorityVote\(\) \(an "
                                            r"instance\), not the class MajorityVote"):
            metric(df, MajorityVote)
    assert accuracy_on_aggregates(df, MajorityVote()) == accuracy_on_aggregates(df)
    for metric in (consistency, uncertainty):
        with pytest.raises(ValueError, match=r"^workers_skills hold 1 value\(s\) that are not numbers \(worker 'b': "
                                             r"'low'\)"):
            metric(df, pd.Series({"a": 0.9, "b": "low"}))
        with pytest.raises(ValueError, match=r"^workers_skills hold 2 value\(s\) that are not numbers"):
            metric(df, {"a": "high", "b": "low"})
