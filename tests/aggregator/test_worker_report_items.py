"""The pairwise, choice and rating worker reports (galton.aggregator.worker_report_items): a worker
is read on the judgments that another worker's also bear on (tasks, items), as the categorical
report is; Crowd-BT's reliability interval from the Fisher information."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import galton

pytestmark = pytest.mark.filterwarnings("ignore::galton.aggregator.ConvergenceWarning")
Z95 = 1.959963984540054
RATING_MODELS = ["rating_mean", "rating_median", "rating_gaussian"]


# ------------------------------------------------------------------ ratings
def _lone_rater(seed: int = 0) -> pd.DataFrame:
    """Raters a-d honest (noise 1, 3 a task, 200 tasks); L rates random numbers on 100 tasks that
    nobody else rated."""
    rng = np.random.default_rng(seed)
    true, rows = rng.normal(0, 2, 300), []
    for t in range(200):
        for w in rng.choice(list("abcd"), 3, replace=False):
            rows.append((t, str(w), true[t] + rng.normal(0, 1)))
    rows += [(t, "L", rng.normal(0, 2)) for t in range(200, 300)]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


@pytest.mark.parametrize("name", RATING_MODELS)
def test_a_rater_of_tasks_nobody_else_rated_has_too_little_data(name):
    """L's tasks were rated by it alone: its residuals about the task scores were exact zeros, so it
    came out the most precise worker, unflagged (rating_mean and rating_median: noise 0.000 [0, 0];
    rating_gaussian: 0.893 [0.655, 1.217], the noise prior alone). Its bias and noise are now NaN and it
    has too little data: the flags count the judgments on tasks another worker also rated (bug hunt)."""
    w = galton.aggregate(_lone_rater(), name, kind="rating").workers_
    lone = w.loc["L"]
    assert lone.n_judgments == 100 and lone.n_tasks == 100 and lone.too_little_data
    assert not (lone.uninformative or lone.adversarial or lone.constant)
    for col in ("bias", "bias_lower", "bias_upper", "noise", "noise_lower", "noise_upper", "correlation"):
        assert np.isnan(lone[col]), (col, lone[col])
    assert not w.drop("L").too_little_data.any() and (w.drop("L").noise > 0.5).all()


def _overlap(seed: int = 1) -> pd.DataFrame:
    """150 items rated by four raters (noise 0.5, 1, 2 and a spammer of random numbers), then each
    rater alone on more items: 20%, 40%, 60% and 80% of its items."""
    rng = np.random.default_rng(seed)
    noise = {"r0.5": 0.5, "r1.0": 1.0, "r2.0": 2.0, "spam": None}
    solo = {"r0.5": 0.2, "r1.0": 0.4, "r2.0": 0.6, "spam": 0.8}
    rows, t = [], 0

    def rate(w: str, v: float) -> float:
        return rng.normal(0, 2) if noise[w] is None else v + rng.normal(0, noise[w])

    for _ in range(150):
        v = rng.normal(0, 2)
        rows += [(t, w, rate(w, v)) for w in noise]
        t += 1
    for w, share in solo.items():
        for _ in range(int(150 * share / (1 - share))):
            rows.append((t, w, rate(w, rng.normal(0, 2))))
            t += 1
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


@pytest.mark.parametrize("name", ["rating_mean", "rating_median"])
def test_statistics_read_bias_and_noise_on_the_shared_tasks(name):
    """A spammer who rated 80% of its items alone: their zero residuals pulled its noise below that of
    an honest rater of noise 2 (rating_mean 0.965 against 1.153). Bias and noise are the mean and
    standard deviation of the residuals about the task scores over the judgments on tasks another
    worker also rated (by hand here), the interval on their count."""
    df = _overlap()
    m = galton.aggregate(df, name, kind="rating")
    w = m.workers_
    score = m.scores_.reindex(df.task).to_numpy()
    shared = df.groupby("task").worker.transform("nunique").to_numpy() >= 2
    res = pd.Series(df.label.to_numpy() - score)[shared].groupby(df.worker.to_numpy()[shared])
    n = res.count().reindex(w.index)
    noise = res.std(ddof=1).reindex(w.index)
    np.testing.assert_allclose(w.noise, noise, rtol=1e-10)
    np.testing.assert_allclose(w.noise_upper, noise * np.exp(Z95 / np.sqrt(2 * (n - 1))), rtol=1e-10)
    if name == "rating_median":
        np.testing.assert_allclose(w.bias, res.mean().reindex(w.index), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(w.bias_upper - w.bias, Z95 * noise / np.sqrt(n), rtol=1e-10)
    assert w.noise.idxmax() == "spam" and w.noise.sort_values().index[:3].tolist() == ["r0.5", "r1.0", "r2.0"]
    assert (w.n_judgments > n).all() and not w.too_little_data.any()


def test_too_little_data_counts_the_judgments_on_shared_tasks():
    """Twelve judgments, nine of them on tasks nobody else rated: too little data (10 needed) under
    every rating model; the Gaussian model's fitted noise stays where some shared task informs it."""
    rows = [(t, w, float(t + i)) for t in range(3) for i, w in enumerate("ab")]
    rows += [(100 + t, "a", float(t % 4)) for t in range(9)] + [(t, w, float(t + i)) for t in range(3, 13)
                                                                for i, w in enumerate("bc")]
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    for name in RATING_MODELS:
        w = galton.aggregate(df, name, kind="rating").workers_
        assert w.n_judgments.tolist() == [12, 13, 10] and w.too_little_data.tolist() == [True, False, False], name
        assert np.isfinite(w.noise["a"]), name


# ------------------------------------------------------------------ Crowd-BT's reliability
def _sig(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def test_crowd_bt_reliability_interval_is_the_fisher_information_by_hand():
    """The interval of η_w, item scores held fixed: the Fisher information of η from each of the
    worker's comparisons, (2 σ(d) - 1)^2 / (P1 (1 - P1)) with P1 = η σ(d) + (1 - η) σ(-d), plus the
    Beta(a, b) prior's curvature (a - 1) / η^2 + (b - 1) / (1 - η)^2, mapped to the logit of η (by
    hand here, one comparison at a time). It was the Wilson interval of the expected truthful count
    as if observed, which a comparison of close items leaves as narrow as one of far ones."""
    rows = [("u", "x", "y", "x"), ("u", "y", "z", "y"), ("u", "x", "z", "x"), ("u", "z", "x", "x"),
            ("v", "x", "y", "y"), ("v", "y", "z", "y"), ("v", "z", "x", "z"), ("v", "x", "z", "x"),
            ("u", "x", "y", "x"), ("v", "y", "x", "x"), ("u", "y", "z", "z"), ("v", "z", "y", "y")]
    df = pd.DataFrame(rows, columns=["worker", "left", "right", "label"])
    m = galton.CrowdBT(eta_prior=(3.0, 2.0)).fit(df)
    w = m.workers_
    theta = dict(zip(m.comparisons_.item_names, m.scores_values_))
    for worker in ("u", "v"):
        eta, info = float(m.reliability_[worker]), 2.0 / float(m.reliability_[worker]) ** 2
        info += 1.0 / (1.0 - eta) ** 2
        for who, left, right, _ in rows:
            if who == worker:
                s = _sig(theta[left] - theta[right])
                p1 = eta * s + (1 - eta) * (1 - s)
                info += (2 * s - 1) ** 2 / (p1 * (1 - p1))
        half = Z95 / np.sqrt(info) / (eta * (1 - eta))
        logit = np.log(eta / (1 - eta))
        assert w.reliability[worker] == pytest.approx(eta, rel=1e-12)
        assert w.reliability_lower[worker] == pytest.approx(_sig(logit - half), rel=1e-10)
        assert w.reliability_upper[worker] == pytest.approx(_sig(logit + half), rel=1e-10)


def test_crowd_bt_reliability_interval_covers_the_simulated_reliability():
    """50 items, 10 raters of η 0.55..0.95, 4,000 comparisons, six seeds: the Wilson interval of the
    expected truthful count held the true η for 53% of the raters (it took every comparison for a
    whole observation, where one of close items says next to nothing of η); the Fisher interval for
    92% (measured)."""
    etas, hits = np.linspace(0.55, 0.95, 10), []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        theta, n = rng.normal(0, 1.5, 50), 4000
        i = rng.integers(0, 50, n)
        j = (i + rng.integers(1, 50, n)) % 50
        w = rng.integers(0, 10, n)
        true_win = rng.random(n) < 1 / (1 + np.exp(theta[j] - theta[i]))
        says_i = np.where(rng.random(n) < etas[w], true_win, ~true_win)
        df = pd.DataFrame({"left": i, "right": j, "worker": w, "label": np.where(says_i, i, j)})
        r = galton.CrowdBT().fit(df).workers_.reindex(np.arange(10))
        hits.append(((r.reliability_lower <= etas) & (etas <= r.reliability_upper)).to_numpy())
    assert np.mean(hits) >= 0.85, np.mean(hits)


# ------------------------------------------------------------------ items only one rater judged
def _pairs_with_a_lone_rater(seed: int = 0, mixed: bool = False) -> pd.DataFrame:
    """Raters a-e compare items 0-39 (1,500 comparisons, Bradley-Terry with scores of sd 1.5); R
    answers at random on 200 comparisons among items 40-59, which nobody else compares (``mixed``:
    each of R's comparisons pairs one of those with one of items 0-39, and 8 more are among 0-39)."""
    rng = np.random.default_rng(seed)
    theta, rows = rng.normal(0, 1.5, 60), []
    for _ in range(1500):
        i, j = rng.choice(40, 2, replace=False)
        win = rng.random() < 1 / (1 + np.exp(theta[j] - theta[i]))
        rows.append((f"i{i}", f"i{j}", str(rng.choice(list("abcde"))), f"i{i}" if win else f"i{j}"))
    for k in range(200 + 8 * mixed):
        if not mixed:
            i, j = rng.choice(range(40, 60), 2, replace=False)
        else:
            i, j = rng.choice(40, 2, replace=False) if k >= 200 else (rng.integers(40, 60), rng.integers(0, 40))
        rows.append((f"i{i}", f"i{j}", "R", f"i{i}" if rng.random() < 0.5 else f"i{j}"))
    return pd.DataFrame(rows, columns=["left", "right", "worker", "label"])


@pytest.mark.parametrize("name", ["bt", "crowd_bt", "noisy_bt"])
def test_a_rater_of_items_nobody_else_compared_has_too_little_data(name):
    """R answered at random among items only it compared: the fit put their scores where R's
    answers do, so under Crowd-BT and noisy Bradley-Terry R agreed 0.640 and 0.655 with them and
    looked reliable (η 0.903, skill 0.852), unflagged; Bradley-Terry's scores without R left the
    items at the prior's optimum, agreement 1/2, uninformative, which an honest lone rater gets
    too. The report reads a rater on the comparisons whose two items another rater also compared,
    as the categorical report reads the tasks another worker also judged: R has none (bug hunt)."""
    df = _pairs_with_a_lone_rater()
    m = galton.aggregate(df, name, kind="pairwise")
    w = m.workers_
    lone = w.loc["R"]
    assert lone.n_judgments == 200 and lone.too_little_data
    assert not (lone.uninformative or lone.adversarial or lone.constant)
    assert np.isnan(lone.agreement) and np.isnan(lone.agreement_lower) and np.isnan(lone.left_share)
    for col in {"crowd_bt": ["reliability", "reliability_lower"], "noisy_bt": ["skill", "skill_upper", "bias"]}.get(
            name, []):
        assert np.isnan(lone[col]), col
    honest = w.drop("R")
    assert not honest.too_little_data.any() and not honest.uninformative.any() and (honest.agreement > 0.6).all()


@pytest.mark.parametrize("name", ["bt", "crowd_bt"])
def test_comparisons_with_an_item_only_the_rater_compared_are_left_out(name):
    """Each of R's random comparisons but 8 pairs an item only R compared with a shared one: the
    first's score follows R's answers (Crowd-BT: R agreed 0.635 with the fit, unflagged). Only the 8
    comparisons of shared items count (agreement by hand on them), too few for the flags."""
    df = _pairs_with_a_lone_rater(seed=2, mixed=True)
    m = galton.aggregate(df, name, kind="pairwise")
    w = m.workers_
    assert w.n_judgments["R"] == 208 and w.too_little_data.to_dict() == {"R": True, **dict.fromkeys("abcde", False)}
    own = df[(df.worker == "R") & df.left.str[1:].astype(int).lt(40) & df.right.str[1:].astype(int).lt(40)]
    assert len(own) == 8
    if name == "crowd_bt":  # read against the fitted scores
        theta = dict(zip(m.comparisons_.item_names, m.scores_values_))
        better = [a if theta[a] > theta[b] else b for a, b in zip(own.left, own.right)]
        assert w.agreement["R"] == pytest.approx(np.mean(np.asarray(better) == own.label.to_numpy()), rel=1e-12)
    assert w.left_share["R"] == pytest.approx((own.label == own.left).mean(), rel=1e-12)


def test_a_chooser_of_options_nobody_else_saw_has_too_little_data():
    """Plackett-Luce: the choice events whose offered items another rater also saw count; a rater
    alone on its options has none (its agreement was 1/2 against the prior's optimum, uninformative)."""
    rng = np.random.default_rng(5)
    quality, rows = rng.normal(0, 1.5, 40), []
    for _ in range(1200):
        opts = rng.choice(30, 4, replace=False)
        p = np.exp(quality[opts]) / np.exp(quality[opts]).sum()
        rows.append((str(rng.choice(list("abc"))), [f"i{o}" for o in opts], f"i{rng.choice(opts, p=p)}"))
    for _ in range(100):
        opts = rng.choice(range(30, 40), 4, replace=False)
        rows.append(("L", [f"i{o}" for o in opts], f"i{rng.choice(opts)}"))
    w = galton.aggregate(pd.DataFrame(rows, columns=["worker", "options", "choice"]), kind="choice").workers_
    assert w.n_judgments["L"] == 100 and w.too_little_data.to_dict() == {"L": True, "a": False, "b": False, "c": False}
    assert np.isnan(w.agreement["L"]) and not w.uninformative["L"] and not w.uninformative.drop("L").any()


# ------------------------------------------------------------------ the fit's settings
@pytest.mark.parametrize("name, change", [
    ("crowd_bt", {"eta_prior": (50.0, 2.0)}), ("bt", {"prior": 50.0}), ("plackett_luce", {"prior": 50.0}),
    ("plackett_luce", {"prior": 50.0, "ranking": True}), ("rating_gaussian", {"bias": False}),
    ("rating_gaussian", {"bias_prior": 1.0, "noise_prior": 1.0})])
def test_the_report_reads_the_settings_of_the_fit_not_those_set_after_it(name, change):
    """workers_ is built on first access, after the fit: it read eta_prior (Crowd-BT), prior
    (Bradley-Terry, Plackett-Luce: the scores without each rater) and bias, bias_prior, noise_prior
    (Gaussian rating) from the settings at that time, so set_params after the fit moved its
    intervals (Crowd-BT eta_prior=(50, 2): worker 0's lower bound 0.8648 -> 0.8674; bias=False: a
    zero-width bias interval), and the report depended on whether it was read before. It reads the
    fit's now: bit for bit the report of a fresh fit (bug hunt)."""
    from galton.datasets.simulate_prefs import simulate_best_of_n, simulate_pairwise

    change = dict(change)
    if agg_kind(name) == "rating":
        data = _overlap()
    elif name == "plackett_luce":
        data = simulate_best_of_n(80, n_prompts=5, n_responses=6, n_workers=8, ranking=change.pop("ranking", False),
                                  seed=4, frame="pandas").data
    else:
        data = simulate_pairwise(600, n_responses=15, n_workers=8, seed=1, frame="pandas").data
    fresh = galton.aggregator.create(name).fit(data).workers_
    model = galton.aggregator.create(name).fit(data)
    model.set_params(**change)
    pd.testing.assert_frame_equal(model.workers_, fresh, check_exact=True)


def agg_kind(name: str) -> str:
    return galton.aggregator.get(name).kind
