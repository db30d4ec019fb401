"""galton.allocate: which task needs another judgment (issue 11)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import galton
from galton.allocate import eig_binary, expected_gain, id_hash


def _symmetric(a: float) -> np.ndarray:
    return np.array([[a, 1 - a], [1 - a, a]])


def _h(x: float) -> float:
    return 0.0 if x in (0.0, 1.0) else -(x * math.log2(x) + (1 - x) * math.log2(1 - x))


# -------------------------------------------------------------------------------- the scores
@pytest.mark.parametrize("p,a", [(0.5, 0.8), (0.3, 0.7), (0.9, 0.95), (0.62, 0.55)])
def test_eig_matches_the_closed_form_for_a_symmetric_binary_worker(p: float, a: float) -> None:
    # hand computation: P(y=1) = a p + (1-a)(1-p); EIG = h(P(y=1)) - h(a)
    closed = _h(a * p + (1 - a) * (1 - p)) - _h(a)
    assert eig_binary(p, a) == pytest.approx(closed, abs=1e-12)
    got = expected_gain(np.array([[1 - p, p]]), _symmetric(a), "eig")[0, 0]
    assert got == pytest.approx(closed, abs=1e-12)
    # and from the definition H(z) - E_y H(z | y)
    py1 = a * p + (1 - a) * (1 - p)
    post1, post0 = a * p / py1, (1 - a) * p / (1 - py1)
    assert got == pytest.approx(_h(p) - py1 * _h(post1) - (1 - py1) * _h(post0), abs=1e-12)


def _enumerated(post: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """EIG of one more judgment the long way, task by task: sum over answers y of p(y) log p(y) terms."""
    out = []
    for pi in post:
        py = conf @ pi
        hz_y = sum(py[y] * float(-(q[q > 0] * np.log2(q[q > 0])).sum())
                   for y in range(py.size) if py[y] > 0 for q in [conf[y] * pi / py[y]])
        out.append(float(-(pi[pi > 0] * np.log2(pi[pi > 0])).sum()) - hz_y)
    return np.array(out)


def test_many_labels_score_in_memory_of_tasks_times_labels() -> None:
    """One more judgment over 500 labels: the scores need tasks x labels of memory, not tasks x
    labels x labels (2,000 tasks: 4 GB; 20k tasks of 1,000 labels: 160 GB before); two more
    judgments go in blocks of tasks, with the same numbers as in one piece."""
    import importlib
    import tracemalloc

    alloc = importlib.import_module("galton.allocate")  # the module (galton.allocate is the function)

    rng = np.random.default_rng(0)
    k = 500
    post = rng.dirichlet(np.full(k, 0.05), 2000)
    conf = rng.dirichlet(np.full(k, 0.2), k).T  # conf[y, k] = p(y | z = k): columns sum to 1
    tracemalloc.start()
    eig = expected_gain(post, conf, "eig")[:, 0]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MB"
    np.testing.assert_allclose(eig[:5], _enumerated(post[:5], conf), rtol=1e-9, atol=1e-12)
    small = rng.dirichlet(np.ones(6), 300)
    conf6 = rng.dirichlet(np.ones(6), 6).T
    whole = expected_gain(small, conf6, "eig", slots=2)
    old, alloc._BLOCK_CELLS = alloc._BLOCK_CELLS, 6 ** 3 * 7  # blocks of 7 tasks
    try:
        blocked = expected_gain(small, conf6, "eig", slots=2)
    finally:
        alloc._BLOCK_CELLS = old
    np.testing.assert_array_equal(blocked, whole)


def test_eig_is_zero_for_a_sure_task_and_largest_at_fifty_fifty() -> None:
    ps = np.linspace(0, 1, 21)
    post = np.stack([1 - ps, ps], axis=1)
    eig = expected_gain(post, _symmetric(0.8), "eig")[:, 0]
    assert eig[0] == pytest.approx(0.0, abs=1e-15) and eig[-1] == pytest.approx(0.0, abs=1e-15)
    assert int(eig.argmax()) == 10 and eig[10] == pytest.approx(1 - _h(0.8))
    # uncertainty (1 - max posterior) ranks the tasks as EIG does for a one-coin crowd
    unc = expected_gain(post, _symmetric(0.8), "uncertainty")[:, 0]
    np.testing.assert_allclose(unc, 1 - post.max(axis=1))
    margin = np.abs(ps - 0.5)
    assert np.all(np.diff(eig[margin.argsort(kind="stable")]) <= 1e-12)
    assert np.all(np.diff(unc[margin.argsort(kind="stable")]) <= 1e-12)


def test_the_gains_of_later_judgments_shrink_and_add_up_to_the_joint_information() -> None:
    a, p = 0.75, 0.5
    g = expected_gain(np.array([[1 - p, p]]), _symmetric(a), "eig", slots=2)[0]
    assert g[1] < g[0]
    # I(z; y1, y2) by hand: the pair (y1, y2) has P(both = z) = a^2, one right a(1-a) twice, ...
    joint = 0.0
    for n_right in (0, 1, 2):
        mult = 2 if n_right == 1 else 1
        pz1 = a ** n_right * (1 - a) ** (2 - n_right)  # P(y | z=1), y with n_right ones
        pz0 = (1 - a) ** n_right * a ** (2 - n_right)
        py = p * pz1 + (1 - p) * pz0
        joint += mult * py * _h(p * pz1 / py)
    assert g.sum() == pytest.approx(_h(p) - joint, abs=1e-12)


def test_id_hash_is_seeded_and_independent_of_the_other_ids() -> None:
    ids = np.array(["a", "b", "c"], dtype=object)
    h = id_hash(ids, 0)
    assert id_hash(ids[::-1], 0)[::-1].tolist() == h.tolist()
    assert id_hash(ids[:1], 0)[0] == h[0]
    assert id_hash(ids, 1).tolist() != h.tolist()
    assert id_hash(np.array([5, 7]), 3).tolist() == id_hash(np.array([7, 5]), 3)[::-1].tolist()


# -------------------------------------------------------------------------------- the strategies
def _toy() -> pd.DataFrame:
    # task "sure": 5 agreeing votes; "split": 2 vs 2; "one": a single vote; "two": two agreeing
    rows = [("sure", f"w{i}", 1) for i in range(5)] + [("split", "w0", 0), ("split", "w1", 0),
                                                       ("split", "w2", 1), ("split", "w3", 1)]
    rows += [("one", "w4", 0), ("two", "w0", 1), ("two", "w1", 1)]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def test_uniform_picks_the_least_judged_tasks_and_ignores_the_row_order() -> None:
    df = _toy()
    out = galton.allocate(df, budget=2, strategy="uniform", model="mv")
    assert isinstance(out, pd.DataFrame)
    assert out["task"].tolist() == ["one", "two"] and out["judgments"].tolist() == [1, 2]
    shuffled = df.sample(frac=1.0, random_state=3)
    for seed in (0, 1, 2):
        a = galton.allocate(df, budget=4, strategy="uniform", model="mv", random_state=seed)
        b = galton.allocate(shuffled, budget=4, strategy="uniform", model="mv", random_state=seed)
        assert a["task"].tolist() == b["task"].tolist()


def test_uniform_ties_are_broken_by_a_seeded_hash_of_the_task_id() -> None:
    df = pd.DataFrame({"task": np.arange(40), "worker": 0, "label": np.arange(40) % 2})
    orders = {tuple(galton.allocate(df, 40, strategy="uniform", model="mv", random_state=s)["task"])
              for s in range(4)}
    assert len(orders) > 1  # the seed matters
    first = galton.allocate(df, 40, strategy="uniform", model="mv", random_state=0)["task"].tolist()
    assert first == galton.allocate(df, 40, strategy="uniform", model="mv", random_state=0)["task"].tolist()
    assert first != sorted(first)


@pytest.mark.filterwarnings("ignore:MajorityVote gives 1 task")  # task "one": a vote share of 1
def test_eig_and_uncertainty_pick_the_split_task_first() -> None:
    for strategy in ("eig", "uncertainty"):
        out = galton.allocate(_toy(), budget=1, strategy=strategy, model="mv")
        assert out["task"].tolist() == ["split"], strategy
        assert 0.4 < out["confidence"][0] < 0.6


def test_frame_types_follow_the_input_and_columns_are_documented() -> None:
    df = _toy()
    cols = ["task", "rank", "strategy", "score", "label", "confidence", "judgments"]
    assert list(galton.allocate(df, 2).columns) == cols
    assert isinstance(galton.allocate(pl.from_pandas(df), 2), pl.DataFrame)
    out = galton.allocate(pa.Table.from_pandas(df, preserve_index=False), 2)
    assert isinstance(out, pa.Table) and out.column_names == cols
    assert isinstance(galton.allocate(df, 2, output="polars"), pl.DataFrame)


@pytest.mark.filterwarnings("ignore:MajorityVote gives 1 task")  # task "one": a vote share of 1
def test_per_task_gives_a_task_several_slots_with_decreasing_gain() -> None:
    out = galton.allocate(_toy(), budget=4, strategy="eig", model="mv", per_task=3)
    assert out["task"].value_counts().max() <= 3
    split = out[out["task"] == "split"]["score"].to_numpy()
    assert split.size >= 2 and np.all(np.diff(split) < 0)
    assert out["rank"].tolist() == [1, 2, 3, 4] and np.all(np.diff(out["score"].to_numpy()) <= 1e-12)


def test_own_column_names_give_what_galton_names_give() -> None:
    """``task_col=`` / ``worker_col=`` / ``label_col=`` as in ``fit`` (allocate had none: a frame with
    its own column names could not be allocated without renaming it first)."""
    df = _toy()
    ours = df.rename(columns={"task": "item", "worker": "annotator", "label": "answer"})
    cols = {"task_col": "item", "worker_col": "annotator", "label_col": "answer"}
    for kwargs in ({"model": "ds"}, {"model": galton.DawidSkene()}, {"workers": ["w4", "w0"]}):
        pd.testing.assert_frame_equal(galton.allocate(ours, 4, **cols, **kwargs), galton.allocate(df, 4, **kwargs))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['task', 'worker', 'label'\]"):
        galton.allocate(ours, 4)


def test_a_fitted_model_is_reused() -> None:
    model = galton.aggregate(_toy(), "ds")
    a = galton.allocate(None, 3, model=model)
    b = galton.allocate(_toy(), 3, model="ds")
    pd.testing.assert_frame_equal(a, b)


def test_workers_rank_pairs_and_respect_the_limits() -> None:
    df = _toy()
    out = galton.allocate(df, budget=5, strategy="eig", model="ds", workers=["w4", "w0"], per_worker=3)
    assert set(out["worker"]) <= {"w4", "w0"} and out["worker"].value_counts().max() <= 3
    judged = set(zip(df["task"], df["worker"]))
    assert not any((t, w) in judged for t, w in zip(out["task"], out["worker"]))
    assert out["task"].value_counts().max() <= 1


@pytest.mark.parametrize("kwargs,match", [
    ({"budget": 0}, "budget must be an integer >= 1"), ({"budget": 2.5}, "budget must be an integer"),
    ({"budget": True}, "budget must be an integer"), ({"budget": 1, "strategy": "random"}, "strategy must be"),
    ({"budget": 1, "workers": ["nobody"]}, "'nobody'"), ({"budget": 1, "per_task": 0}, "per_task"),
])
def test_bad_inputs_say_what_is_wrong(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        galton.allocate(_toy(), **kwargs)


def test_an_unfitted_model_is_refused() -> None:
    with pytest.raises(ValueError, match="fitted model"):
        galton.allocate(None, 1, model=galton.aggregator.create("ds"))


# -------------------------------------------------------------------------------- pairwise
def test_pairwise_picks_the_uncertain_neighbours() -> None:
    rng = np.random.default_rng(0)
    theta = {"a": 3.0, "b": 1.0, "c": 0.9, "d": -2.0}
    rows = []
    for _ in range(400):
        x, y = rng.choice(list(theta), 2, replace=False)
        p = 1 / (1 + math.exp(theta[y] - theta[x]))
        rows.append(("w", x, y, x if rng.random() < p else y))
    df = pd.DataFrame(rows, columns=["worker", "left", "right", "label"])
    for strategy in ("eig", "uncertainty"):
        out = galton.allocate(df, 1, strategy=strategy)
        assert {out["left"][0], out["right"][0]} == {"b", "c"}, strategy
        assert list(out.columns) == ["left", "right", "rank", "strategy", "score", "p_left", "judgments"]
    uni = galton.allocate(df, 3, strategy="uniform", window=3)
    assert np.all(np.diff(uni["judgments"].to_numpy()) >= 0)
    # the only rater compared every pair already: nothing left for that rater
    assert len(galton.allocate(df, 1, workers=["w"], window=3)) == 0


def _raters(seed: int = 3) -> pd.DataFrame:
    """Items a..f (scores 3, 2, 1.8, 1, 0, -2): "mid" (accuracy 0.8) compares every pair; "good"
    (0.97) and "bad" (0.55) only items at least three places apart, so every pair of neighbours
    is new to them."""
    rng = np.random.default_rng(seed)
    theta = dict(zip("abcdef", [3.0, 2.0, 1.8, 1.0, 0.0, -2.0]))
    items = list(theta)
    rows = []
    for w, acc, min_gap, n in (("mid", 0.8, 1, 300), ("good", 0.97, 3, 150), ("bad", 0.55, 3, 150)):
        for _ in range(n):
            i, j = sorted(rng.choice(6, 2, replace=False))
            if j - i < min_gap:
                continue
            x, y = (items[i], items[j]) if rng.random() < 0.5 else (items[j], items[i])
            truth = x if rng.random() < 1 / (1 + math.exp(theta[y] - theta[x])) else y
            rows.append((w, x, y, truth if rng.random() < acc else (y if truth == x else x)))
    return pd.DataFrame(rows, columns=["worker", "left", "right", "label"])


def _rater_eig(d: float, s: float, a: float, b: float) -> float:
    """By hand: h(E p) - E h(p), p = a sigma(D) + b, D ~ N(d, s^2), on 24 Gauss-Hermite nodes."""
    x, w = np.polynomial.hermite_e.hermegauss(24)
    p = a / (1 + np.exp(-(d + s * x))) + b
    w = w / w.sum()
    return _h(float(p @ w)) - float(np.array([_h(v) for v in p]) @ w)


@pytest.mark.filterwarnings("ignore::galton.aggregator.ConvergenceWarning")
@pytest.mark.parametrize("name", ["crowd_bt", "noisy_bt"])
def test_pairwise_workers_a_reliable_rater_gets_the_top_pair(name: str) -> None:
    df = _raters()
    model = galton.aggregate(df, name)
    top = galton.allocate(None, 1, model=model, workers=["bad", "good"], window=2)
    assert list(top.columns) == ["left", "right", "worker", "rank", "strategy", "score", "p_left", "judgments"]
    assert top["worker"][0] == "good"
    # every pair for both raters: the reliable rater's gain is the larger one on every pair
    both = galton.allocate(None, 100, model=model, workers=["bad", "good"], per_task=2, window=2)
    pairs = galton.allocate(None, 100, model=model, window=2)  # the 9 pairs at most 2 places apart
    assert len(pairs) == 9
    for w in ("good", "bad"):  # each rater gets exactly the candidate pairs it never compared
        seen = {frozenset(p) for p in zip(df["left"][df["worker"] == w], df["right"][df["worker"] == w])}
        want = {frozenset(p) for p in zip(pairs["left"], pairs["right"])} - seen
        mine = both[both["worker"] == w]
        assert {frozenset(p) for p in zip(mine["left"], mine["right"])} == want
    by = both.pivot_table(index=["left", "right"], columns="worker", values="score").dropna()
    assert len(by) >= 5 and (by["good"] > by["bad"]).all(), by
    # the score is that rater's EIG under the fitted model, by hand
    comp = model.comparisons_
    names = comp.item_names.tolist()
    if name == "crowd_bt":
        eta = model.reliability_.reindex(["good", "bad"]).to_numpy()
        a, b = 2 * eta - 1, 1 - eta
    else:
        g = model.skills_.reindex(["good", "bad"]).to_numpy()
        a, b = g, (1 - g) * model.biases_.reindex(["good", "bad"]).to_numpy()
    from galton.aggregator._pref_results import difference_se  # by hand: tests/aggregator/test_pref_workers.py

    th = model.scores_values_
    for (left, right, worker, score) in zip(both["left"], both["right"], both["worker"], both["score"]):
        i, j, k = names.index(left), names.index(right), ["good", "bad"].index(worker)
        want = _rater_eig(th[i] - th[j], float(difference_se(model, [i], [j])[0]), a[k], b[k])
        assert score == pytest.approx(want, abs=1e-12)
    with pytest.raises(ValueError, match="reliability"):
        galton.allocate(None, 1, model=model, workers=["good", "newcomer"])


def test_pairwise_workers_plain_bt_spreads_the_pairs_no_repeat_and_the_cap() -> None:
    df = _raters()
    alone = galton.allocate(df, 6, model="bt")
    # plain Bradley-Terry: every rater the same; new raters welcome, the pairs spread evenly
    spread = galton.allocate(df, 6, model="bt", workers=["x", "y", "z"])
    assert spread["left"].tolist() == alone["left"].tolist() and spread["right"].tolist() == alone["right"].tolist()
    np.testing.assert_allclose(spread["score"], alone["score"], rtol=1e-12)
    assert spread["worker"].value_counts().tolist() == [2, 2, 2]
    # never a rater on a pair it compared (either order); per_worker and per_task respected
    out = galton.allocate(df, 50, model="bt", workers=["good", "bad", "mid"], per_worker=4, per_task=2, window=5)
    compared = {(frozenset((l, r)), w) for w, l, r in zip(df["worker"], df["left"], df["right"])}
    rows = [(frozenset((l, r)), w) for l, r, w in zip(out["left"], out["right"], out["worker"])]
    assert rows and not set(rows) & compared
    assert len(set(rows)) == len(rows)
    assert out["worker"].value_counts().max() <= 4 and "mid" not in set(out["worker"])  # mid compared every pair
    assert pd.Series([r[0] for r in rows]).value_counts().max() <= 2
    assert len(out) == 8  # good and bad: 4 each, on pairs of neighbours new to them


# -------------------------------------------------------------------------------- simulation
def _converged_ds() -> Any:
    """Dawid-Skene run to convergence: its posteriors guide uncertainty sampling better here than
    those of the default, crowd-kit's early stop, and eig about as well (measured, seeds 1-12:
    uncertainty 0.744 / eig 0.733 against 0.723 / 0.729 with the early stop guiding; uniform 0.709
    / 0.710)."""
    return galton.DawidSkene(stopping="likelihood", tol=1e-7)


def _replay(strategy: str, seed: int) -> float:
    """Start from 1 judgment per task, reveal 3 rounds of 150 judgments chosen by ``strategy``
    from a pool of 9 per task; accuracy of Dawid-Skene at the end."""
    from galton.datasets.simulate import CrowdConfig, simulate

    sim = simulate(CrowdConfig(n_tasks=300, n_workers=40, n_classes=2, judgments_per_task=9,
                               accuracy_mean=0.7, accuracy_spread=0.1, seed=seed))
    pool = pd.DataFrame({"task": sim.task, "worker": sim.worker, "label": sim.label})
    pool["k"] = pool.groupby("task").cumcount()
    shown = pool["k"] < 1
    for _ in range(3):
        data = pool[shown].drop(columns="k")
        pick = galton.allocate(data, 150, strategy=strategy, model=_converged_ds(), per_task=3, random_state=seed)
        revealed = pool[shown].groupby("task").size()
        for task, n in pick["task"].value_counts().items():
            shown |= (pool["task"] == task) & (pool["k"] < revealed[task] + n)
    final = galton.aggregate(pool[shown].drop(columns="k"), _converged_ds())
    truth = pd.Series(sim.true_label, index=np.unique(sim.task))
    return float((final.labels_.sort_index().to_numpy() == truth.sort_index().to_numpy()).mean())


@pytest.mark.filterwarnings("ignore::galton.aggregator.ConvergenceWarning")  # DS on 1-3 judgments per task
def test_eig_and_uncertainty_beat_uniform_on_a_simulated_crowd() -> None:
    acc = {s: np.mean([_replay(s, seed) for seed in range(1, 9)]) for s in ("uniform", "uncertainty", "eig")}
    # measured (seeds 1-8, same budget of 450 extra judgments): uniform 0.701, uncertainty 0.738, eig
    # 0.724 (a seed's gain varies: its standard deviation is about 0.04, so 3 seeds showed little)
    assert acc["eig"] > acc["uniform"] + 0.015, acc
    assert acc["uncertainty"] > acc["uniform"] + 0.03, acc


def test_an_unfitted_model_object_is_fitted_on_the_data_as_configured() -> None:
    df = _toy()
    configured = galton.DawidSkene(stopping="likelihood", tol=1e-9, n_iter=500)
    got = galton.allocate(df, 4, model=configured)
    want = galton.allocate(None, 4, model=galton.DawidSkene(stopping="likelihood", tol=1e-9, n_iter=500).fit(df))
    pd.testing.assert_frame_equal(got, want)
    one_step = galton.allocate(df, 4, model=galton.DawidSkene(n_iter=1))  # the configuration is used
    assert not pd.Series(got["score"]).equals(pd.Series(one_step["score"]))
    with pytest.raises(ValueError, match="model is not fitted: pass the data"):
        galton.allocate(None, 4, model=galton.DawidSkene())


# -------------------------------------------------------------------------------- Ray
def test_local_equals_ray(tmp_path: Any) -> None:
    pytest.importorskip("ray", reason="Ray is in the test extra; galton runs without it")
    from galton.workers import cluster

    cluster.connect("local", num_cpus=2, include_dashboard=False)
    df = _toy()
    local = galton.allocate(df, 4, strategy="eig", model="ds")
    on_ray = galton.allocate(df, 4, strategy="eig", model="ds", engine="ray")
    pd.testing.assert_frame_equal(local, on_ray, check_exact=False, rtol=1e-9)
    pairs = pd.DataFrame({"worker": list("abcabc"), "left": list("xxyyzx"), "right": list("yzzxxz"),
                          "label": list("xxyxzz")})
    pd.testing.assert_frame_equal(galton.allocate(pairs, 3), galton.allocate(pairs, 3, engine="ray"),
                                  check_exact=False, rtol=1e-9)
    raters = _raters()
    pd.testing.assert_frame_equal(galton.allocate(raters, 4, model="crowd_bt", workers=["good", "bad"]),
                                  galton.allocate(raters, 4, model="crowd_bt", workers=["good", "bad"], engine="ray"),
                                  check_exact=False, rtol=1e-9)


@pytest.mark.filterwarnings("ignore::galton.aggregator.ConvergenceWarning")
def test_pair_scores_use_each_workers_own_confusion_matrix_in_every_frame_type() -> None:
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, 60)
    acc = {"good": 0.95, "fair": 0.75, "poor": 0.55}
    rows = [(t, w, int(truth[t]) if rng.random() < a else 1 - int(truth[t]))
            for t in range(60) for w, a in acc.items() if rng.random() < 0.6]
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    model = galton.aggregate(df, "ds")
    out = galton.allocate(None, 6, model=model, workers=["good", "poor"], per_worker=6)
    post = model.probas_.reindex(columns=[0, 1])
    for task, worker, score in zip(out["task"], out["worker"], out["score"]):
        conf = model.errors_.loc[worker].reindex(index=[0, 1], columns=[0, 1]).to_numpy()  # [observed, true]
        assert score == pytest.approx(expected_gain(post.loc[[task]].to_numpy(), conf, "eig")[0, 0], abs=1e-12)
    judged = set(zip(df["task"], df["worker"]))
    # the accurate worker brings more information: "poor" only where "good" already judged the task
    assert "good" in set(out["worker"])
    assert all((t, "good") in judged for t, w in zip(out["task"], out["worker"]) if w == "poor")
    polars_out = galton.allocate(pl.from_pandas(df), 6, model="ds", workers=["good", "poor"], per_worker=6)
    np.testing.assert_allclose(polars_out["score"].to_numpy(), out["score"].to_numpy(), rtol=1e-9)


def test_workers_must_list_ids_and_per_worker_needs_them():
    """workers=[] crashed with an IndexError for categorical data; "ab" was read as the ids a and
    b; per_worker without workers limited nothing, silently (bug hunt)."""
    import galton

    df = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": [0, 1, 1, 1]})
    for bad in ([], "ab"):
        with pytest.raises(ValueError, match="workers must list the ids of the available workers"):
            galton.allocate(df, 2, workers=bad)
    with pytest.raises(ValueError, match="per_worker limits the rows given to each worker of workers="):
        galton.allocate(df, 2, per_worker=1)


def test_nothing_to_allocate_gives_typed_empty_rows() -> None:
    """Data without judgments allocates no row (it raised numpy's "argmax of an empty sequence"), and
    an empty allocation keeps its text columns text (Arrow's null type before, object in pandas)."""
    empty = pd.DataFrame({"task": pd.Series([], dtype=int), "worker": pd.Series([], dtype=str),
                          "label": pd.Series([], dtype=int)})
    for kw in ({}, {"model": "mv"}):
        rows = galton.allocate(empty, budget=2, **kw)
        assert rows.shape == (0, 7) and rows["strategy"].dtype == object
    one = pl.DataFrame({"task": [1, 2, 3], "worker": ["a", "a", "a"], "label": [0, 1, 0]})
    rows = galton.allocate(one, budget=3, workers=["a"])  # "a" judged every task: nothing left
    assert rows.height == 0 and rows.schema["worker"] == pl.String and rows.schema["strategy"] == pl.String


# -------------------------------------------------------------------------------- bug hunt, 22nd session
def _one_label_worker() -> pd.DataFrame:
    """w4 only ever answered 1: crowd-kit's ``errors_`` layout (pandas) has no row for (w4, 0)."""
    return pd.DataFrame({"task": list("aaabbcdddd"), "worker": ["w1", "w2", "w3", "w1", "w2", "w3", "w1", "w2", "w3", "w4"],
                         "label": [1, 1, 0, 1, 0, 1, 0, 0, 0, 1]})


@pytest.mark.parametrize("model", ["ds", "one_coin_ds"])
def test_pandas_scores_with_the_confusion_matrices_of_every_worker(model: str) -> None:
    """A worker who never gave a label has no row for it in crowd-kit's pandas ``errors_``: the
    pandas path fell back to one-coin workers and ranked otherwise than polars (0.053 for 0.114)."""
    df = _one_label_worker()
    fitted = galton.aggregate(df, model)
    conf = fitted.confusion_array()  # [worker, observed, true], every pair
    weight = np.bincount(fitted.judgments_.worker, minlength=conf.shape[0]) / len(df)
    typical = np.tensordot(weight, conf, axes=1)
    hand = expected_gain(fitted.probas_.reindex(columns=[0, 1]).to_numpy(), typical, "eig")[:, 0]
    out = galton.allocate(None, 4, model=fitted)
    tasks = fitted.probas_.index.tolist()
    np.testing.assert_allclose(out["score"], [hand[tasks.index(t)] for t in out["task"]], rtol=1e-12)
    polars_out = galton.allocate(pl.from_pandas(df), 4, model=model)
    np.testing.assert_allclose(polars_out["score"].to_numpy(), out["score"].to_numpy(), rtol=1e-12)
    assert polars_out["task"].to_list() == out["task"].tolist()


def test_a_fitted_model_with_new_data_is_fitted_again_on_it() -> None:
    """A fitted model passed with data ranked the fitted data's tasks and dropped the data: task "c",
    new, was never considered (an empty table)."""
    old = pd.DataFrame({"task": ["a", "a", "b", "b"], "worker": ["w1", "w2", "w1", "w2"], "label": [1, 0, 1, 1]})
    model = galton.aggregate(old, "ds")
    new = pd.concat([old, pd.DataFrame({"task": ["a", "c", "c"], "worker": ["w3", "w3", "w1"], "label": [1, 0, 1]})])
    out = galton.allocate(new, 5, model=model, workers=["w1", "w2"])
    pd.testing.assert_frame_equal(out, galton.allocate(new, 5, model="ds", workers=["w1", "w2"]))
    assert "c" in set(out["task"])
    assert model.probas_.index.tolist() == ["a", "b"]  # the caller's fitted model is left as it was


@pytest.mark.parametrize("data,model", [
    (pd.DataFrame({"worker": ["w1", "w2"], "options": [["a", "b"], ["a", "b", "c"]], "choice": ["a", "c"]}), None),
    (pd.DataFrame({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": [1.0, 2.0, 3.0]}), "rating_mean"),
    (pd.DataFrame({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": [1.0, 2.0, 3.0]}), "rating_gaussian"),
])
def test_choices_and_ratings_are_refused_up_front(data: pd.DataFrame, model: Any) -> None:
    """Choice data raised AttributeError ('Choices' has no 'pairs'); rating models a parameter the
    user never gave (random_state) or advice about results_dir."""
    with pytest.raises(ValueError, match="allocate takes categorical judgments or pairwise comparisons; .* is a model "
                                         "of (choice|rating) data"):
        galton.allocate(data, 2, model=model)


def test_pairwise_new_raters_keep_their_ids_or_are_refused_by_type() -> None:
    """workers= was cast to the data's worker type: "new" crashed in int(), rater 1.5 became rater 1."""
    p = pd.DataFrame({"worker": [1, 2, 1], "left": ["x", "y", "z"], "right": ["y", "z", "x"], "label": ["x", "z", "z"]})
    for bad in (["new"], [1.5], [True]):
        with pytest.raises(ValueError, match="new id.* of another type than the data's worker ids"):
            galton.allocate(p, 3, workers=bad)
    out = galton.allocate(p, 6, workers=[3, "1", 1])  # "1" and 1 are one rater
    assert set(out["worker"]) == {1, 3} and out["worker"].dtype.kind == "i"
    text = p.assign(worker=["ab", "cd", "ab"])
    assert set(galton.allocate(text, 3, workers=["a-longer-new-id"])["worker"]) == {"a-longer-new-id"}


@pytest.mark.parametrize("d,s,a,b,expected", [  # scipy.integrate.quad of the same integrals
    (0, 1, 1, 0, 0.135193), (0, 5, 1, 0, 0.650974), (0, 10, 1, 0, 0.81482), (0, 20, 1, 0, 0.905864),
    (3, 10, 1, 0, 0.783382), (2, 30, 0.6, 0.2, 0.26225), (-1.5, 2.5, 0.8, 0.1, 0.207489)])
def test_pair_eig_matches_quadrature_for_wide_pairs(d: float, s: float, a: float, b: float, expected: float) -> None:
    """24 Gauss-Hermite nodes missed sigma's step once s was wide: 0.991 bits for 0.906 at s = 20."""
    from galton.allocate_pairwise import pair_eig

    assert float(pair_eig(d, s, a, b)) == pytest.approx(expected, abs=2e-4)


def test_uniform_scores_a_pair_never_compared_zero_not_minus_zero() -> None:
    """The uniform strategy wrote -0.0 for pairs never compared (bug hunt)."""
    p = pd.DataFrame({"worker": ["a", "b"], "left": ["w", "y"], "right": ["x", "z"], "label": ["w", "z"]})
    scores = galton.allocate(p, 6, strategy="uniform", window=3)["score"].to_numpy()
    assert (scores == 0).any() and not np.signbit(scores[scores == 0]).any()


def test_a_model_of_hard_labels_warns_that_its_scores_are_all_zero() -> None:
    """KOS's posteriors are one-hot: every eig / uncertainty score was 0 and the ranking the hash
    order, without a word (bug hunt)."""
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("ababab"), "label": [0, 1, 1, 1, 0, 0]})
    with pytest.warns(UserWarning, match="KOS gives every task a probability of 0 or 1, so every eig score is 0"):
        assert galton.allocate(df, 2, model="kos")["score"].tolist() == [0.0, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        galton.allocate(df, 2, model="ds")


def _wide(n_tasks: int = 600, n_workers: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({"task": np.repeat(np.arange(n_tasks), 3), "worker": rng.integers(0, n_workers, 3 * n_tasks),
                         "label": rng.integers(0, 2, 3 * n_tasks)})


def test_workers_tables_past_the_memory_limit_are_refused_before_they_are_built() -> None:
    """``workers=`` builds tasks x workers scores (96 bytes a cell with the sort's keys): 1M tasks x
    10k workers asked for ~900 GiB without a check. 600 tasks x 40 workers = 2.2 MiB: refused under a
    1 MiB limit with the sizes named, allowed under 4 MiB (bug hunt)."""
    from galton.aggregator import MemoryLimitError, memory_limit

    model = galton.aggregate(_wide(), "mv")
    with memory_limit("1M"), pytest.raises(MemoryLimitError, match=r"allocating 600 tasks among 40 workers would "
                                                                    r"need about 2\.2 MiB .* over the limit of 1\.0 MiB"):
        galton.allocate(None, 5, model=model, workers=list(range(40)))
    with memory_limit("4M"):
        assert len(galton.allocate(None, 5, model=model, workers=list(range(40)))) == 5
    pairs = galton.aggregate(_raters(), "bt")  # pairwise: pairs x raters
    with memory_limit(100), pytest.raises(MemoryLimitError, match=r"among 3 workers .* pair x worker scores"):
        galton.allocate(None, 1, model=pairs, workers=["bad", "good", "mid"], window=2)


# -------------------------------------------------------------------------------- fixes of the allocation hunt
def _two_clusters(a_wins: int, n: int = 200) -> pd.DataFrame:
    """a-b and c-d compared ``n`` times each (``a`` / ``c`` winning ``a_wins`` of them), b-c twice
    (one win each): the weak link b-c is the pair to compare next."""
    rows = [("w", "a", "b", "a" if i < a_wins else "b") for i in range(n)]
    rows += [("w", "c", "d", "c" if i < a_wins else "d") for i in range(n)]
    rows += [("w", "b", "c", "b"), ("w", "b", "c", "c")]
    return pd.DataFrame(rows, columns=["worker", "left", "right", "label"])


def _laplace_covariance(df: pd.DataFrame, model: Any) -> np.ndarray:
    """By hand: the inverse Fisher information of Bradley-Terry's scores at the fit, with its
    prior (every item against a pseudo-item of score 0, one virtual tie)."""
    names = model.comparisons_.item_names.tolist()
    th = np.asarray(model.scores_values_)
    info = np.diag(1 / (1 + np.exp(-th)) / (1 + np.exp(th)))
    for l, r in zip(df["left"], df["right"]):
        i, j = names.index(l), names.index(r)
        p = 1 / (1 + math.exp(th[j] - th[i]))
        e = np.zeros(len(names))
        e[i], e[j] = 1, -1
        info += p * (1 - p) * np.outer(e, e)
    return np.linalg.inv(info)


def test_pairwise_spread_is_that_of_the_score_difference() -> None:
    """A pair's spread was sqrt(se_l^2 + se_r^2), each item's error relative to the average item,
    so a pair compared 200 times looked as uncertain as one never compared: the weak link b-c ranked
    last (EIG 0.0985 with s 0.820) and a-b, P(order wrong) = 0.313 for a pair won 120:80, is 0.0025
    (s 0.144). Now s^2 = C_ll + C_rr - 2 C_lr from the scores' covariance."""
    from galton.allocate_pairwise import pair_eig

    for a_wins, strategy in ((100, "eig"), (120, "uncertainty")):
        df = _two_clusters(a_wins)
        model = galton.aggregate(df)
        cov = _laplace_covariance(df, model)
        names = model.comparisons_.item_names.tolist()
        th = np.asarray(model.scores_values_)
        out = galton.allocate(None, 6, model=model, strategy=strategy, window=3)
        assert len(out) == 6
        for left, right, score in zip(out["left"], out["right"], out["score"]):
            i, j = names.index(left), names.index(right)
            s, d = math.sqrt(cov[i, i] + cov[j, j] - 2 * cov[i, j]), th[i] - th[j]
            want = float(pair_eig(d, s)) if strategy == "eig" else 0.5 * math.erfc(abs(d) / (s * math.sqrt(2)))
            assert score == pytest.approx(want, rel=1e-6, abs=1e-12), (left, right)
        last = {frozenset(p) for p in zip(out["left"][4:], out["right"][4:])}
        assert last == {frozenset("ab"), frozenset("cd")}  # the pairs compared 200 times come last
        ab = out[[{l, r} == {"a", "b"} for l, r in zip(out["left"], out["right"])]]["score"].iloc[0]
        assert ab == pytest.approx(0.0036 if strategy == "eig" else 0.0025, abs=2e-4)
    assert out["left"][0] + out["right"][0] in ("bc", "cb")  # uncertainty: the weak link first


def test_pairwise_spread_survives_pickling_and_above_the_dense_limit_is_the_diagonal(monkeypatch) -> None:
    """The covariance travels with the fitted model (pickle, as Ray ships it); a fit above
    DENSE_SE_MAX keeps none (its memory) and scores a pair by sqrt(se_l^2 + se_r^2) of the
    diagonal standard errors, a refit of the same object included (no stale covariance)."""
    import pickle

    from galton.aggregator import _preference

    df = _two_clusters(100)
    model = galton.aggregate(df, "bt")
    dense = galton.allocate(None, 6, model=model, window=3)
    pd.testing.assert_frame_equal(galton.allocate(None, 6, model=pickle.loads(pickle.dumps(model)), window=3), dense)
    monkeypatch.setattr(_preference, "DENSE_SE_MAX", 0)
    model.fit(df)
    names = model.comparisons_.item_names.tolist()
    se = np.asarray(model.se_values_)
    diag = galton.allocate(None, 6, model=model, window=3)
    from galton.allocate_pairwise import pair_eig

    for left, right, score in zip(diag["left"], diag["right"], diag["score"]):
        i, j = names.index(left), names.index(right)
        assert score == pytest.approx(float(pair_eig(0.0, math.hypot(se[i], se[j]))), abs=1e-6)


@pytest.mark.parametrize("model", ["mv", "wawa", "zbs"])
def test_vote_shares_warn_that_tasks_judged_once_score_zero(model: str) -> None:
    """Vote-share posteriors give a task judged once confidence 1.0 and score 0: it ranked last,
    below the split tasks, and eig lost to uniform without a word (the warning came only when every
    task was 0 or 1). Tasks 3 and 4 are judged once."""
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 3, 4], "worker": list("abcabcb"), "label": list("xxyyxxy")})
    with pytest.warns(UserWarning, match=r"gives 2 task\(s\) judged once a probability of exactly 1 .*\(bds"):
        out = galton.allocate(df, 4, model=model)
    assert set(out["task"][2:]) == {3, 4} and (out["score"][2:] == 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        galton.allocate(df, 4)  # bds: a task judged once is uncertain
        galton.allocate(df, 4, model=model, strategy="uniform")


def test_one_coin_workers_spread_errors_over_the_labels_in_use() -> None:
    """Models without confusion matrices get one-coin workers; their errors went to all K declared
    labels, also to labels nobody gives: a binary crowd declared with labels a, b, c, d scored 2.4
    times the bits (0.434 for 0.181). Majority vote gives the unused labels probability 0, so the
    scores must not change when they are declared."""
    from galton.judgments import Judgments

    rng = np.random.default_rng(0)
    truth, acc = rng.integers(0, 2, 100), rng.uniform(0.6, 0.9, 6)
    rows = [(t, f"w{w}", "ab"[truth[t] if rng.random() < acc[w] else 1 - truth[t]])
            for t in range(100) for w in rng.choice(6, 2, replace=False)]
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    for kw in ({}, {"per_task": 2}, {"workers": ["w0", "w1"]}, {"strategy": "uncertainty", "per_task": 2}):
        plain = galton.allocate(df, 10, model="mv", **kw)
        declared = galton.allocate(Judgments.from_any(df, labels=["a", "b", "c", "d"]), 10, model="mv", **kw)
        np.testing.assert_allclose(declared["score"], plain["score"], rtol=1e-12)
        assert declared["task"].tolist() == plain["task"].tolist()
    # the typical worker by hand: accuracy a = the mean agreement with the posteriors, p = 1/2
    model = galton.aggregate(df, "mv")
    post = model.probas_.reindex(columns=["a", "b"]).to_numpy()
    a = float(np.mean([post[model.probas_.index.get_loc(t), "ab".index(y)] for t, y in zip(df["task"], df["label"])]))
    top = galton.allocate(None, 1, model=model)
    assert top["confidence"][0] == 0.5 and top["score"][0] == pytest.approx(eig_binary(0.5, a), rel=1e-12)


def test_workers_given_as_an_iterator_are_read_once() -> None:
    """``len(list(workers))`` consumed an iterator or generator before the ranking read it: an
    IndexError (categorical data) or a false "workers is empty" (pairwise)."""
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 3], "worker": list("abcabc"), "label": list("xxyyyx")})
    want = galton.allocate(df, 5, workers=["a", "b", "c"])
    for given in (iter(["a", "b", "c"]), (w for w in "abc")):
        pd.testing.assert_frame_equal(galton.allocate(df, 5, workers=given), want)
    pairs = pd.DataFrame({"worker": list("abcabc"), "left": list("xxyyzx"), "right": list("yzzxxz"),
                          "label": list("xxyxzz")})
    want = galton.allocate(pairs, 5, workers=["a", "b", "c"])
    assert len(want) == 3
    pd.testing.assert_frame_equal(galton.allocate(pairs, 5, workers=iter(["a", "b", "c"])), want)
    with pytest.raises(ValueError, match="workers must list the ids of the available workers"):
        galton.allocate(df, 2, workers=iter([]))


def test_ties_and_invalid_rows_are_read_as_the_error_says() -> None:
    """Pairwise data with ties said "pass tie=<value>", which allocate did not accept (TypeError);
    nor on_invalid='drop', which the same hint and the categorical errors name."""
    df = pd.DataFrame({"worker": list("abcabc"), "left": list("xxyyzx"), "right": list("yzzxxz"),
                       "label": ["x", "tie", "y", "x", "z", "tie"]})
    with pytest.raises(ValueError, match="pass tie=<value> if they mark ties"):
        galton.allocate(df, 3)
    out = galton.allocate(df, 3, tie="tie")
    pd.testing.assert_frame_equal(out, galton.allocate(None, 3, model=galton.aggregate(df, tie="tie")))
    assert len(out) == 3 and out["p_left"].between(0, 1).all()
    dropped = galton.allocate(df, 3, on_invalid="drop")  # the two ties left out
    pd.testing.assert_frame_equal(dropped, galton.allocate(df[df["label"] != "tie"], 3))
    cat = pd.DataFrame({"task": [1, 1, 2, 2, 3], "worker": list("ababa"), "label": [0, 1, 1, None, 0]})
    with pytest.raises(ValueError, match="on_invalid='drop'"):
        galton.allocate(cat, 2, model="ds")
    pd.testing.assert_frame_equal(galton.allocate(cat, 2, model="ds", on_invalid="drop"),
                                  galton.allocate(cat.dropna().astype({"label": int}), 2, model="ds"))
    with pytest.raises(ValueError, match="with data=None"):
        galton.allocate(None, 2, model=galton.aggregate(df, tie="tie"), tie="tie")


def _walk_every_cell(primary, gain, task_hash, done, budget, per_task, per_worker):  # noqa: ANN001, ANN202
    """The walk before the candidates: every cell sorted with four keys, then taken greedily."""
    n, w = primary.shape
    order = np.lexsort((np.tile(np.arange(w), n), -gain.ravel(), task_hash.repeat(w), -primary.ravel()))
    per_w, per_t, chosen = np.zeros(w, int), np.zeros(n, int), []
    for idx in order.tolist():
        t, k = divmod(idx, w)
        if done[t, k] or per_t[t] >= per_task or (per_worker is not None and per_w[k] >= per_worker):
            continue
        chosen.append(idx)
        per_t[t] += 1
        per_w[k] += 1
        if len(chosen) == budget:
            break
    return chosen


def test_workers_take_the_cells_of_the_full_sort_from_candidates_only(monkeypatch) -> None:  # noqa: ANN001
    """``workers=`` sorted every task x worker cell with four keys (50k tasks x 100 workers, budget
    500: 12.6 s against a fit of 1.1 s); now only candidates are sorted. The cells taken must be
    those of the full sort, on random cases with heavy ties (a few distinct scores, per-task scores
    as uncertainty and uniform give, repeated task hashes), done cells and every kind of cap."""
    from galton import allocate_cells
    from galton.allocate_cells import first_in_order, select_cells

    failed: list[bool] = []
    check = allocate_cells._complete
    monkeypatch.setattr(allocate_cells, "_complete", lambda *a: check(*a) or failed.append(True) or False)
    rng = np.random.default_rng(11)
    for case in range(3000):  # 4 of them fail if a worker whose candidates ran out is not checked
        n, w = int(rng.integers(1, 40)), int(rng.integers(1, 12))
        levels = int(rng.choice([1, 2, 3, 1000]))
        gain = rng.integers(0, levels, (n, w)) / levels
        primary = gain if case % 3 == 0 else np.broadcast_to(rng.integers(0, levels, n)[:, None] / levels, (n, w))
        task_hash = rng.integers(0, int(rng.choice([2, 5, 2**62])), n).astype(np.uint64)
        done = rng.random((n, w)) < rng.choice([0.0, 0.3, 0.9])
        budget = int(rng.integers(1, n * w + 3)) if case % 2 else int(rng.integers(1, 6))
        per_task = int(rng.integers(1, w + 2))
        per_worker = None if case % 4 == 0 else int(rng.integers(1, n + 2))
        want = _walk_every_cell(primary, gain, task_hash, done, budget, per_task, per_worker)
        for scale in (1.0, 0.1):  # the sizes the caps allow; smaller, so that the check and growth act
            before = len(failed)
            got = select_cells(primary, gain, task_hash, done, budget, per_task, per_worker, scale=scale)
            assert got.tolist() == want, (case, scale)
            assert scale < 1 or len(failed) == before, (case, "the first candidates were not enough")
    assert len(failed) > 20  # with a tenth of them, the check caught runs that needed more
    keys = rng.integers(0, 3, (3, 50)).astype(float)
    keys[0, :5] = np.nan
    order = np.lexsort(keys[::-1])
    for m in range(51):
        assert first_in_order([k.__getitem__ for k in keys], 50, m).tolist() == sorted(order[:m].tolist())


def test_sorted_distinct_is_np_unique() -> None:
    """The candidates' sort and mark (np.unique hashed them): the same values and dtype, shuffled with
    repeats, negatives, none, one, uint64 beyond int64."""
    from galton.aggregator._kernels import sorted_distinct

    rng = np.random.default_rng(2)
    x = rng.integers(-50, 5000, 20_000)
    for v in (x, x[:0], x[:1], x[:2] * 0, x.astype(np.int32), (x.astype(np.uint64) + np.uint64(2**63))):
        got, ref = sorted_distinct(v), np.unique(v)
        assert got.dtype == ref.dtype and got.tolist() == ref.tolist()


@pytest.mark.filterwarnings("ignore::galton.aggregator.ConvergenceWarning")
def test_workers_rows_are_those_of_the_full_sort(monkeypatch) -> None:  # noqa: ANN001
    """End to end, every strategy, caps that make the walk go deep: the same rows as the full sort."""
    from galton import allocate_cells

    model = galton.aggregate(_wide(300, 12), "ds")
    kwargs = [{"per_worker": 3, "per_task": 2}, {"per_worker": 1}, {"per_task": 1}, {}]
    fast = {(s, i): galton.allocate(None, 40, model=model, workers=list(range(12)), strategy=s, **kw)
            for s in ("eig", "uncertainty", "uniform") for i, kw in enumerate(kwargs)}
    monkeypatch.setattr(allocate_cells, "select_cells", lambda *a, **k: np.asarray(_walk_every_cell(*a), dtype=int))
    for (s, i), out in fast.items():
        assert len(out) == (36 if i == 0 else 12 if i == 1 else 40)
        full = galton.allocate(None, 40, model=model, workers=list(range(12)), strategy=s, **kwargs[i])
        pd.testing.assert_frame_equal(out, full)


def test_encoded_comparisons_and_choices_are_taken_for_what_they_are() -> None:
    """``galton.aggregate`` / ``galton.allocate`` on an encoded ``Comparisons`` (or ``Choices``) took it
    for categorical judgments and refused it ("cannot read judgments from a Comparisons")."""
    from galton.pairwise import Choices, Comparisons

    df = pd.DataFrame({"worker": list("abcabc"), "left": list("xxyyzx"), "right": list("yzzxxz"),
                       "label": list("xzyxzx")})
    encoded = Comparisons.from_any(df)
    assert galton.allocate(encoded, 2).equals(galton.allocate(df, 2))
    assert galton.aggregate(encoded).scores_.equals(galton.aggregate(df).scores_)
    ch = pd.DataFrame({"worker": ["a", "b", "a"], "options": [["x", "y", "z"], ["x", "y", "z"], ["y", "z", "w"]],
                       "choice": ["x", "y", "z"]})
    assert galton.aggregate(Choices.from_any(ch)).scores_.equals(galton.aggregate(ch).scores_)


# -------------------------------------------------------------------------------- fixes of the second allocation hunt
def _chain(n_items: int, n_raters: int, n: int, seed: int = 0) -> pd.DataFrame:
    """Bradley-Terry comparisons of items at most 5 apart (in item order), from ``n_raters`` raters."""
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n_items, n)
    j = (i + rng.integers(1, 6, n)) % n_items
    theta = rng.normal(size=n_items)
    win = np.where(rng.random(n) < 1 / (1 + np.exp(theta[j] - theta[i])), i, j)
    return pd.DataFrame({"worker": rng.integers(0, n_raters, n), "left": i, "right": j, "label": win})


def test_pair_eig_in_pieces_gives_the_bits_of_one_piece(monkeypatch) -> None:  # noqa: ANN001
    """pair_eig scores narrow and wide pairs a few rows at a time (memory): the same bits as all at once."""
    import importlib

    ap = importlib.import_module("galton.allocate_pairwise")
    rng = np.random.default_rng(3)
    d, s = rng.normal(0, 3, (300, 1)), np.exp(rng.normal(0, 1.2, (300, 1)))  # a third of the pairs wide (s > 2)
    a = rng.uniform(0.1, 1, (1, 7))
    b = (1 - a) * rng.uniform(0, 1, (1, 7))
    monkeypatch.setattr(ap, "_NARROW_ROWS", 1 << 30)
    monkeypatch.setattr(ap, "_WIDE_ROWS", 1 << 30)
    whole = ap.pair_eig(d, s, a, b)
    monkeypatch.setattr(ap, "_NARROW_ROWS", 16)
    monkeypatch.setattr(ap, "_WIDE_ROWS", 4)
    np.testing.assert_array_equal(ap.pair_eig(d, s, a, b), whole)
    assert 0.2 < (s > 2).mean() < 0.5 and whole.shape == (300, 7) and (whole > 0).all()


@pytest.mark.parametrize("name", ["bt", "crowd_bt"])
def test_pairwise_workers_stay_within_the_memory_the_check_counts(name: str) -> None:
    """300 items x 60 raters (1,485 candidate pairs, 89k cells): pair_eig built several (pairs x
    raters) x 24 arrays at once, 1,440 bytes a cell (128 MB), where the check counted 96 (8.6 MB):
    under a 100M limit 1,000 items x 100 raters took 718 MB. Now the traced peak stays within the
    check's count (plus a few MB of fixed pieces), and a limit below the count refuses it."""
    import tracemalloc

    from galton.aggregator import MemoryLimitError, memory_limit
    from galton.allocate_fit import CELL_BYTES, PAIR_BYTES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = galton.aggregate(_chain(300, 60, 3000), name)
    need = 1485 * (PAIR_BYTES + CELL_BYTES * 60)
    tracemalloc.start()
    try:
        rows = galton.allocate(None, 50, model=model, workers=list(range(60)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(rows) == 50 and peak < need + 4 * 2**20, f"{peak / 2**20:.1f} MiB, counted {need / 2**20:.1f} MiB"
    with memory_limit(need - 1), pytest.raises(MemoryLimitError, match=r"allocating 1,485 pairs among 60 workers"):
        galton.allocate(None, 50, model=model, workers=list(range(60)))


def test_pairwise_candidates_without_workers_are_checked_too() -> None:
    """Without workers the candidate pairs were not checked at all (250k pairs: 356 MB at once)."""
    from galton.aggregator import MemoryLimitError, memory_limit
    from galton.allocate_fit import PAIR_BYTES, SLOT_BYTES

    model = galton.aggregate(_chain(300, 5, 3000), "bt")
    need = 1485 * (PAIR_BYTES + 2 * SLOT_BYTES)
    refused = pytest.raises(MemoryLimitError, match=r"among 1,485 candidate pairs .* smaller window")
    with memory_limit(need - 1), refused:
        galton.allocate(None, 5, model=model, per_task=2)
    with memory_limit(need):
        assert len(galton.allocate(None, 5, model=model, per_task=2)) == 5


def _repeated() -> pd.DataFrame:
    """w0 says "a" three times on t1 (and "b" once on t2, then "a"); w1 and w2 say "b"."""
    return pd.DataFrame({"task": ["t1", "t1", "t1", "t1", "t1", "t2", "t2", "t2"],
                         "worker": ["w0", "w0", "w0", "w1", "w2", "w0", "w1", "w0"],
                         "label": ["a", "a", "a", "b", "b", "b", "a", "a"]})


@pytest.mark.parametrize("keep", ["first", "last"])
def test_duplicates_is_passed_to_the_fit_as_the_warning_says(keep: str) -> None:
    """The repeated-rows warning allocate passed on said "pass duplicates='first'", which allocate
    did not take (TypeError). Now it ranks as on the data with one row of each pair kept."""
    df = _repeated()
    with pytest.warns(UserWarning, match=r"pass duplicates='first'"):
        kept = galton.allocate(df, 2, model="mv", strategy="uncertainty")
    assert kept.set_index("task")["confidence"].to_dict() == {"t1": 3 / 5, "t2": pytest.approx(2 / 3)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a policy given: no warning
        got = galton.allocate(df, 2, model="mv", strategy="uncertainty", duplicates=keep)
    want = galton.allocate(df.drop_duplicates(["task", "worker"], keep=keep), 2, model="mv", strategy="uncertainty")
    pd.testing.assert_frame_equal(got, want)
    want_t2 = 1 / 2 if keep == "first" else 1.0  # w0's first "b" against w1's "a", or w0's last "a" with it
    assert got.set_index("task")["confidence"].to_dict() == {"t1": pytest.approx(2 / 3), "t2": want_t2}
    with pytest.raises(ValueError, match=r"repeat"):
        galton.allocate(df, 2, model="mv", duplicates="raise")
    with pytest.raises(ValueError, match=r"duplicates= say how to read data"):
        galton.allocate(None, 2, model=galton.aggregate(df, "mv", duplicates="keep"), duplicates=keep)


def test_duplicates_is_refused_for_pairwise_data() -> None:
    pairs = pd.DataFrame({"worker": list("abcabc"), "left": list("xxyyzx"), "right": list("yzzxxz"),
                          "label": list("xxyxzz")})
    for model in (None, "crowd_bt", galton.BradleyTerry()):
        with pytest.raises(ValueError, match=r"duplicates is for categorical data .* this data is pairwise"):
            galton.allocate(pairs, 2, model=model, duplicates="first")


def test_random_state_none_or_a_generator_seeds_the_tie_break() -> None:
    """random_state=None or a numpy Generator crashed after the whole fit with a TypeError in the
    hash (``seed & 0xFFFF...``). A Generator gives the seed drawn from it; None a seed from fresh
    entropy (galton's models take None so), so 40 tied tasks come in another order each call."""
    df = pd.DataFrame({"task": np.repeat(np.arange(40), 2), "worker": np.tile(["a", "b"], 40),
                       "label": np.zeros(80, dtype=int)})
    seed = int(np.random.default_rng(7).integers(0, 2**63))
    want = galton.allocate(df, 40, model="mv", strategy="uniform", random_state=seed)
    got = galton.allocate(df, 40, model="mv", strategy="uniform", random_state=np.random.default_rng(7))
    pd.testing.assert_frame_equal(got, want)
    orders = {tuple(galton.allocate(df, 40, model="mv", strategy="uniform", random_state=None)["task"])
              for _ in range(3)}
    assert len(orders) == 3 and all(sorted(o) == list(range(40)) for o in orders)
    with pytest.raises(TypeError, match=r"random_state must be a non-negative integer, a numpy Generator or None, "
                                        r"not 'seven'"):
        galton.allocate(df, 2, model="mv", random_state="seven")


def test_a_crowd_kit_model_is_refused_naming_galtons() -> None:
    """crowd-kit's DawidSkene as model= was fitted, then failed with "'DawidSkene' object has no
    attribute 'judgments_'" (fitted: "model is not fitted"); it is refused up front, naming galton's."""
    ck = pytest.importorskip("crowdkit.aggregation")
    df = _repeated().drop_duplicates(["task", "worker"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # crowd-kit's own deprecation warnings of pandas
        fitted = ck.DawidSkene(n_iter=10).fit(df)
    for model, data in ((ck.DawidSkene(n_iter=10), df), (fitted, None), (fitted, df)):
        with pytest.raises(TypeError, match=r"model is a crowdkit\.aggregation\..*DawidSkene, not a galton model: .*"
                                            r"pass galton\.aggregation\.DawidSkene\(\.\.\.\) .* or model='ds'"):
            galton.allocate(data, 1, model=model)


@pytest.mark.parametrize("make, what", [
    (lambda: galton.BinaryRelevance(galton.MajorityVote()), "multi-label"),
    (lambda: galton.aggregation.ROVER(tokenizer=str.split, detokenizer=" ".join), "text"),
    (lambda: galton.aggregation.SegmentationMajorityVote(), "image segmentation"),
    (lambda: galton.aggregation.ClosestToAverage(), "embedding")])
def test_galtons_models_of_other_data_are_refused_by_their_kind(make, what) -> None:
    """galton's own BinaryRelevance as model= was refused as "not a galton model ... pass
    galton.aggregation.BinaryRelevance(...)", the very class given; it is refused as a rating model
    is, by the kind of data it models, and the crowd-kit hint is gone."""
    model = make()
    with pytest.raises(ValueError, match=rf"^allocate takes categorical judgments or pairwise comparisons; "
                                         rf"{type(model).__name__} is a model of {what} data, which allocate "
                                         r"does not rank$"):
        galton.allocate(_repeated().drop_duplicates(["task", "worker"]), 2, model=model)


def test_the_label_column_is_the_models_label_under_ties() -> None:
    """The label column took a plain argmax of the posteriors: where M-MSR's split tasks came out
    at (0.4999999999999997, 0.5000000000000003) it said "b" against the model's label "a" (galton's
    one tie rule: values within 1e-9 of the maximum are tied, the lowest label wins)."""
    rng = np.random.default_rng(0)
    rows = []
    for t in range(200):
        w = rng.choice(20, 2, replace=False)
        rows += [(f"t{t}", f"w{w[0]}", "b"), (f"t{t}", f"w{w[1]}", "a" if t % 2 else "b")]
    model = galton.aggregate(pd.DataFrame(rows, columns=["task", "worker", "label"]), "mmsr", random_state=0)
    out = galton.allocate(None, 200, model=model, strategy="uniform")
    assert len(out) == 200
    assert out["label"].tolist() == model.labels_.loc[out["task"]].tolist()
    tied = out[out["confidence"].round(12) == 0.5]
    assert len(tied) > 5 and set(tied["label"]) == {"a"}


def test_window_on_categorical_data_and_output_dict_are_refused() -> None:
    """window= on categorical data changed nothing without a word (the CLI refused --window), and
    output="dict" returned polars (galton's fit refuses it); both are refused before the fit. A dict
    of columns still comes back as polars, its frame kind."""
    df = _repeated().drop_duplicates(["task", "worker"])
    for data, model in ((df, None), (df, "ds"), (None, galton.aggregate(df, "mv"))):
        with pytest.raises(ValueError, match=r"window is for pairwise data \(left, right columns\)"):
            galton.allocate(data, 1, model=model, window=3)
    with pytest.raises(ValueError, match=r"output must be 'pandas', 'polars' or 'arrow', not 'dict'"):
        galton.allocate(df, 1, output="dict")
    assert isinstance(galton.allocate(df.to_dict("list"), 1, model="mv"), pl.DataFrame)
    pairs = pd.DataFrame({"worker": list("abcabc"), "left": list("xxyyzx"), "right": list("yzzxxz"),
                          "label": list("xxyxzz")})
    assert len(galton.allocate(pairs, 10, window=1)) == 2 < len(galton.allocate(pairs, 10))  # x-y-z: 2 neighbours


def test_a_per_task_beyond_the_budget_builds_no_slot_the_budget_cannot_reach() -> None:
    """Found by a CLI hunt: uniform built tasks x per_task scores (and pairwise data pairs x per_task
    rows, all strategies) whatever the budget: per_task 100000 with a budget of 5 took 47 s and 1.8 GB.
    A slot ranks after the same task's (pair's) earlier slots, so past the budget none is chosen: the
    rows are those of per_task = budget, and the tables are built for that many slots."""
    import tracemalloc

    from galton.aggregator import memory_limit

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"task": np.repeat(np.arange(12), 3),
                       "worker": np.concatenate([rng.choice(6, 3, replace=False) for _ in range(12)]),
                       "label": rng.integers(0, 2, 36)})
    fitted = galton.MajorityVote().fit(df)
    for budget in (1, 5, 30):
        base = galton.allocate(None, budget, model=fitted, strategy="uniform", per_task=budget)
        for per_task in (budget + 1, 3 * budget):
            pd.testing.assert_frame_equal(galton.allocate(None, budget, model=fitted, strategy="uniform",
                                                          per_task=per_task), base)
    tracemalloc.start()
    try:
        big = galton.allocate(None, 5, model=fitted, strategy="uniform", per_task=100_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    pd.testing.assert_frame_equal(big, galton.allocate(None, 5, model=fitted, strategy="uniform", per_task=5))
    assert peak < 2**20, peak  # 12 x 100,000 slots of several arrays took about 50 MB
    pairs = pd.DataFrame({"worker": ["w"] * 30, "left": rng.choice(list("abcdef"), 30),
                          "right": rng.choice(list("ghij"), 30), "label": "a"})
    pairs["label"] = np.where(rng.random(30) < 0.5, pairs["left"], pairs["right"])
    for strategy in ("uniform", "eig", "uncertainty"):
        base = galton.allocate(pairs, 4, strategy=strategy, per_task=4, window=3)
        pd.testing.assert_frame_equal(galton.allocate(pairs, 4, strategy=strategy, per_task=9, window=3), base)
        with memory_limit("1M"):  # 64 bytes a slot: 100,000 slots a pair were refused over the limit
            pd.testing.assert_frame_equal(galton.allocate(pairs, 4, strategy=strategy, per_task=100_000, window=3),
                                          base)


# -------------------------------------------------------------------------------- fixes of the interactions hunt
def _with_gold() -> tuple[pd.DataFrame, pd.Series]:
    """60 tasks of 3 judgments by 10 workers of accuracy 0.8, and 40 tasks judged once, whose truth is
    the gold (with 12 of the others')."""
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 2, 100)
    rows = []
    for t in range(100):
        for w in rng.choice(10, 3 if t < 60 else 1, replace=False):
            rows.append((f"t{t:03d}", f"w{w}", int(truth[t] if rng.random() < 0.8 else 1 - truth[t])))
    gold_ids = [*range(48, 100)]
    return (pd.DataFrame(rows, columns=["task", "worker", "label"]),
            pd.Series(truth[gold_ids], index=[f"t{t:03d}" for t in gold_ids]))


def test_tasks_with_gold_are_left_out_and_warn_of_nothing() -> None:
    """A bds fitted with gold warned that it "gives 40 task(s) judged once a probability of exactly 1
    (one vote is all it weighs)": all 40 were gold tasks, clamped to their known label; with gold on
    every task it said every probability is 0 or 1 ("allocate with a model that gives probabilities");
    and uniform spent its rows on gold tasks, whose label is known. A task with gold needs no judgment:
    no strategy gives it a row, and the rows are those of the other tasks, by the same scores."""
    df, gold = _with_gold()
    fitted = galton.BayesianDawidSkene().fit(df, gold)
    free = sorted(set(df["task"]) - set(gold.index))  # 48 tasks without gold, each judged 3 times
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of hard probabilities
        for strategy in ("eig", "uncertainty", "uniform"):
            rows = galton.allocate(None, 200, model=fitted, strategy=strategy, per_task=2)
            assert not set(rows["task"]) & set(gold.index)
            assert len(rows) == 2 * len(free) and rows["task"].value_counts().eq(2).all()  # every slot of the rest
            pairs = galton.allocate(None, 1000, model=fitted, strategy=strategy, workers=["w0", "w1", "w2"],
                                    per_task=3)
            assert set(pairs["task"]) == set(free)
        top = galton.allocate(None, 5, model=fitted)
    post = fitted.posteriors_[fitted.judgments_.task_index(np.array(free, dtype=object))]
    gain = expected_gain(post, _typical(fitted), "eig")[:, 0]
    assert top["score"].tolist() == pytest.approx(np.sort(gain)[::-1][:5], abs=1e-12)  # the rest's own scores
    every = pd.Series([int(v) for v in fitted.labels_.loc[sorted(set(df["task"]))]], index=sorted(set(df["task"])))
    everything = galton.BayesianDawidSkene().fit(df, every)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was "gives every task a probability of 0 or 1"
        assert len(galton.allocate(None, 5, model=everything)) == 0  # nothing left to ask


def _typical(model: Any) -> np.ndarray:
    """The judgment-weighted mean confusion matrix [y, k] of a Dawid-Skene model (allocate's typical worker)."""
    errors = model.confusion_array()
    weight = np.bincount(model.judgments_.worker, minlength=errors.shape[0]).astype(float)
    return np.tensordot(weight / weight.sum(), errors, axes=1)
