"""Plackett-Luce: a hand-solved case, equivalences with Bradley-Terry and rankings, recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galton.aggregator._registry import get
from galton.aggregator.bradley_terry import BradleyTerry
from galton.aggregator.plackett_luce import PlackettLuce, choice_stats
from galton.datasets.simulate_prefs import simulate_best_of_n, simulate_pairwise


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def test_one_choice_set_gives_the_choice_shares() -> None:
    # {a, b, c} offered 20 times, chosen 10 / 6 / 4 times: the MLE has p ∝ (10, 6, 4)
    choices = ["a"] * 10 + ["b"] * 6 + ["c"] * 4
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"worker": np.arange(20) % 4,
                       "options": [list(rng.permutation(["a", "b", "c"])) for _ in range(20)],
                       "choice": choices})
    m = PlackettLuce(prior=0.0, tol=1e-15).fit(df)
    s = m.scores_
    assert s["a"] - s["b"] == pytest.approx(np.log(10 / 6), abs=1e-6)
    assert s["b"] - s["c"] == pytest.approx(np.log(6 / 4), abs=1e-6)
    assert s.sum() == pytest.approx(0.0, abs=1e-9)
    assert m.ranking_.tolist() == ["a", "b", "c"]
    assert m.kind == "choice" and get("plackett_luce") is PlackettLuce


def test_pairwise_data_gives_bradley_terry() -> None:
    s = simulate_pairwise(1500, n_responses=25, n_workers=10, seed=1, frame="pandas")
    pl_ = PlackettLuce(tol=1e-15).fit(s.data)
    bt = BradleyTerry(method="mm", tol=1e-15).fit(s.data)
    np.testing.assert_allclose(pl_.scores_values_, bt.scores_values_, atol=1e-6)
    np.testing.assert_allclose(pl_.se_values_, bt.se_values_, atol=1e-6)
    np.testing.assert_allclose(pl_.pair_probas_["proba"], bt.pair_probas_["proba"], atol=1e-6)
    np.testing.assert_array_equal(pl_.pair_probas_["n"], bt.pair_probas_["n"])


def test_a_ranking_is_its_chain_of_choices() -> None:
    s = simulate_best_of_n(400, n_prompts=1, n_responses=6, shown=4, ranking=True, seed=2, frame="pandas")
    rankings = s.data
    rows = []
    for w, r in zip(rankings["worker"], rankings["ranking"]):
        r = list(r)
        rows += [{"worker": w, "options": r[k:], "choice": r[k]} for k in range(len(r) - 1)]
    a = PlackettLuce(tol=1e-14).fit(rankings)
    b = PlackettLuce(tol=1e-14).fit(pd.DataFrame(rows))
    np.testing.assert_allclose(a.scores_values_, b.scores_values_, atol=1e-10)
    assert a.comparisons_.layout == "ranking" and a.comparisons_.n_events == len(rows)


def test_scores_recovered_and_tighten_with_data() -> None:
    def fit(n: int) -> float:
        s = simulate_best_of_n(n, n_prompts=1, n_responses=40, shown=4, seed=3, adversarial=0.0, random=0.0)
        return _spearman(PlackettLuce().fit(s.data).scores_values_, s.quality)
    small, big = fit(300), fit(3000)
    assert big > 0.95 and big > small


def test_rankings_carry_more_than_choices() -> None:
    kw = dict(n_prompts=1, n_responses=40, shown=5, seed=4, adversarial=0.0, random=0.0)
    choice = simulate_best_of_n(600, **kw)
    rank = simulate_best_of_n(600, ranking=True, **kw)
    r_choice = _spearman(PlackettLuce().fit(choice.data).scores_values_, choice.quality)
    r_rank = _spearman(PlackettLuce().fit(rank.data).scores_values_, rank.quality)
    assert r_rank > r_choice > 0.6


def test_standard_errors_match_a_numeric_hessian() -> None:
    s = simulate_best_of_n(300, n_prompts=1, n_responses=8, shown=3, seed=5, frame="pandas")
    m = PlackettLuce(tol=1e-15).fit(s.data)
    from galton.aggregator._preference import make_choice_shards

    shard = make_choice_shards(m.comparisons_, 1)[0]
    th, n, h = m.params_["theta"], m.comparisons_.n_items, 1e-4

    def grad(t: np.ndarray) -> np.ndarray:  # gradient of the log-posterior by central differences
        f = lambda v: choice_stats(shard, v, 1.0)["ll"]  # noqa: E731
        return np.array([(f(t + h * e) - f(t - h * e)) / (2 * h) for e in np.eye(n)])

    hess = np.array([(grad(th + h * e) - grad(th - h * e)) / (2 * h) for e in np.eye(n)])
    cov = np.linalg.inv(-0.5 * (hess + hess.T))
    row = cov.mean(axis=1)
    se = np.sqrt(np.diag(cov) - 2 * row + row.mean())
    np.testing.assert_allclose(m.se_values_, se, rtol=1e-3)


def test_mm_is_monotone_and_shards_agree() -> None:
    s = simulate_best_of_n(800, n_prompts=20, n_responses=4, seed=6)
    a = PlackettLuce(n_shards=1, accelerate=False).fit(s.data)
    b = PlackettLuce(n_shards=3, accelerate=False).fit(s.data)
    h = np.asarray(a.history_)
    assert a.monotone and (np.diff(h) >= -1e-9 * np.abs(h[1:])).all()
    np.testing.assert_allclose(a.scores_values_, b.scores_values_, atol=1e-9)
    assert np.isfinite(a.scores_values_).all()  # 20 separate prompts: the prior links them


def _pl_gradient(m: PlackettLuce) -> np.ndarray:
    """The gradient of the log-posterior in θ at the fit, by hand: wins minus expected wins per
    choice event, plus the prior's virtual ties against the pseudo-item."""
    c, th = m.comparisons_, m.params_["theta"]
    event = np.repeat(np.arange(c.ptr.size - 1), np.diff(c.ptr))
    p = np.exp(th[c.items])
    share = p / np.bincount(event, p)[event]
    grad = np.bincount(c.chosen, minlength=th.size) - np.bincount(c.items, share, th.size)
    return grad + m.prior * (0.5 - 1 / (1 + np.exp(-th)))


def test_acceleration_reaches_the_optimum_in_few_iterations() -> None:
    # best-of-4 within 400 prompts: each item meets three others, MM's steps are short (about 500
    # iterations, stopping on a small change short of the optimum); SQUAREM must land on the same
    # stationary point, far sooner and closer
    s = simulate_best_of_n(20_000, n_prompts=400, n_responses=4, n_workers=100, seed=1)
    plain = PlackettLuce(accelerate=False).fit(s.data)
    fast = PlackettLuce().fit(s.data)
    assert fast.converged_ and fast.n_iter_ * 5 < plain.n_iter_
    g_fast, g_plain = np.abs(_pl_gradient(fast)).max(), np.abs(_pl_gradient(plain)).max()
    assert g_fast * 2 < g_plain
    assert fast.history_[-1] >= plain.history_[-1]
    assert not fast.monotone and PlackettLuce(accelerate=False).monotone


def test_acceleration_does_not_stop_on_a_trial_point_level_with_the_last() -> None:
    # (hunt) an extrapolated point landed level with the last one (change -5.8e-10, under tol x n)
    # and the fit stopped there, converged_ True, scores 7.9e-3 from the optimum (plain MM: 5.0e-4)
    s = simulate_best_of_n(500, n_prompts=6, n_responses=3, shown=3, ranking=True, n_workers=10,
                           adversarial=0.3, random=0.1, quality_sd=0.5, seed=1463)
    plain = PlackettLuce(accelerate=False).fit(s.data)
    fast = PlackettLuce().fit(s.data)
    assert fast.converged_ and fast.history_[-1] >= plain.history_[-1]
    assert np.abs(_pl_gradient(fast)).max() <= np.abs(_pl_gradient(plain)).max()
    assert fast.params_ is not None and set(fast.params_) == {"theta"}  # params_ stayed None (hunt)


def test_pair_probas_count_the_decisive_choices() -> None:
    df = pd.DataFrame({"options": [["a", "b", "c"], ["a", "b"], ["b", "c"]], "choice": ["a", "b", "c"]})
    m = PlackettLuce().fit(df)
    pp = m.pair_probas_
    assert pp[["left", "right"]].values.tolist() == [["a", "b"], ["a", "c"], ["b", "c"]]
    assert pp["n"].tolist() == [2, 1, 1] and pp["observed"].tolist() == [0.5, 1.0, 0.0]
    s = m.scores_
    assert pp["proba"].iloc[0] == pytest.approx(1 / (1 + np.exp(s["b"] - s["a"])))
    with pytest.raises(ValueError, match=r"with prior=0, 2 item\(s\) are never chosen or always chosen \(e.g. \['a', 'c'\]\)"):
        PlackettLuce(prior=0.0).fit(pd.DataFrame({"options": [["a", "b"], ["b", "c"]], "choice": ["a", "b"]}))


def test_a_top_k_ranking_of_its_options_is_k_choices_from_the_options_left() -> None:
    """``worker, options, ranking``: a ranking of k of the options is k successive choices, each from
    the options not ranked yet (the top-k Plackett-Luce likelihood), so options shown but never
    ranked appear, below the ranked ones; a ranked item outside the options is refused. (The options
    were not read: d and x vanished and "zzz", never shown, was scored.)"""
    import galton

    top = pd.DataFrame({"worker": ["r1", "r2", "r3", "r1"],
                        "options": [["a", "b", "c", "d"], ["a", "b", "c", "d"], ["c", "b", "a", "d"], ["c", "d"]],
                        "ranking": [["a", "b"], ["b", "c"], ["c", "a"], ["c", "d"]]})
    chain = []  # the same rows written out as choices, by hand
    for w, opts, rank in zip(top["worker"], top["options"], top["ranking"]):
        left = list(opts)
        for item in rank[:len(opts) - 1]:
            chain.append({"worker": w, "options": list(left), "choice": item})
            left.remove(item)
    a = PlackettLuce(tol=1e-15).fit(top)
    b = PlackettLuce(tol=1e-15).fit(pd.DataFrame(chain))
    assert a.scores_.index.tolist() == b.scores_.index.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_allclose(a.scores_values_, b.scores_values_, atol=1e-12)
    np.testing.assert_allclose(a.se_values_, b.se_values_, atol=1e-12)
    assert a.comparisons_.n_events == len(chain) == 7 and a.ranking_.tolist()[-1] == "d"
    assert galton.aggregate(top).scores_.index.tolist() == ["a", "b", "c", "d"]  # detected: choice data

    outside = pd.concat([top, pd.DataFrame({"worker": ["r4"], "options": [["a", "b", "c", "x"]],
                                             "ranking": [["a", "zzz"]]})], ignore_index=True)
    with pytest.raises(ValueError, match=r"column 'ranking' has 1 ranking\(s\) that name an item not among the "
                                         r"row's 'options' \(rows 4; row 4: 'zzz' not in \['a', 'b', 'c', 'x'\]\)"):
        PlackettLuce().fit(outside)
    dropped = PlackettLuce(tol=1e-15).fit(outside, on_invalid="drop")
    np.testing.assert_allclose(dropped.scores_values_, a.scores_values_, atol=1e-12)
    shown = pd.DataFrame({"options": [["a", "b", "c", "x"], ["a", "b"]], "ranking": [["a"], ["b"]]})
    assert PlackettLuce().fit(shown).scores_.index.tolist() == ["a", "b", "c", "x"]  # x shown, never ranked
    for bad, said in ((["b", "b"], "name an item twice"), ([], "empty ranking")):
        rows = pd.DataFrame({"options": [["a", "b", "c"], ["a", "b"]], "ranking": [["a"], bad]})
        with pytest.raises(ValueError, match=said):
            PlackettLuce().fit(rows)


def test_worker_ranking_columns_are_detected_as_choice_data() -> None:
    import galton

    rk = {"worker": ["r1", "r2", "r1"], "ranking": [["a", "b", "c"], ["b", "a", "c"], ["a", "c", "b"]]}
    m = galton.aggregate(rk)
    assert m.kind == "choice"
    np.testing.assert_allclose(m.scores_values_, PlackettLuce().fit(rk).scores_values_)


def test_exact_standard_errors_take_bounded_memory_and_equal_the_sum_of_outer_products(monkeypatch) -> None:
    """The information ``sum_e diag(π) - π π^T`` is built a chunk of pairs (or a dense block of
    large events) at a time: 4 rankings of 150 items took 139 MB (every ordered pair of every
    event at once; 2.7 GB for 60 rankings of 160 items), now a few MB, with the same standard
    errors as the sum of the events' outer products, whichever path and chunk size sums them."""
    import tracemalloc

    from galton.aggregator import plackett_luce
    from galton.aggregator._preference import make_choice_shards

    n, rng = 150, np.random.default_rng(0)
    theta = rng.normal(0, 1, n)
    rankings = {"worker": [0, 1, 0, 1], "ranking": [np.argsort(-(theta + rng.gumbel(size=n))).tolist()
                                                     for _ in range(4)]}
    PlackettLuce().fit(rankings)  # imports and caches outside the measured fit
    tracemalloc.start()
    try:
        m = PlackettLuce().fit(rankings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 30 * 2**20, f"{peak / 2**20:.0f} MB"

    mixed = simulate_best_of_n(300, n_prompts=2, n_responses=9, shown=3, ranking=True, seed=7, frame="pandas")
    c = PlackettLuce().fit(mixed.data).comparisons_
    shard = make_choice_shards(c, 1)[0]
    th = rng.normal(0, 1, c.n_items)
    p = np.exp(th[shard.items])
    pi = p / np.bincount(shard.event_of, p)[shard.event_of]
    ref = np.zeros((c.n_items, c.n_items))
    for e in range(shard.chosen.size):  # the events one by one, as the definition reads
        sl = slice(shard.ptr[e], shard.ptr[e + 1])
        v = np.zeros(c.n_items)
        v[shard.items[sl]] = pi[sl]
        ref += np.outer(v, v) - np.diag(v * v)
    for share, chunk in ((10**9, 3), (1, 5), (3, 1 << 20)):  # pairs only, dense only, both
        monkeypatch.setattr(plackett_luce, "DENSE_SHARE", share)
        monkeypatch.setattr(plackett_luce, "PAIR_CHUNK", chunk)
        got = plackett_luce.offered_together(shard.items, pi, shard.ptr, c.n_items)
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(PlackettLuce().fit(rankings).se_values_, m.se_values_, rtol=1e-12)


def test_intervals_cover_the_centred_truth_where_the_prior_sat_the_scores_elsewhere() -> None:
    """Bug hunt: the standard errors are those of each score relative to the average item, but the
    intervals were put around scores the prior located (its pseudo-item at 0): seven tied items and
    one far below (true log-scores [0] * 7 + [-4]) got scores 0.26-0.30, se 0.026, and none of the
    eight intervals held the centred truth (0.5 / -3.5) nor the uncentred one. Scores are now
    reported with mean 0, as their errors are; 20,000 best-of-3 choices."""
    true = np.array([0.0] * 7 + [-4.0])
    rng = np.random.default_rng(0)
    opts = np.argsort(rng.random((20_000, true.size)), axis=1)[:, :3]  # 3 distinct items per choice
    p = np.exp(true[opts])
    pick = (rng.random(len(opts))[:, None] > np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)).sum(axis=1)
    df = pd.DataFrame({"worker": [f"w{e % 20}" for e in range(len(opts))],
                       "options": [[f"i{i}" for i in row] for row in opts],
                       "choice": [f"i{row[k]}" for row, k in zip(opts, pick)]})
    m = PlackettLuce().fit(df)
    iv = m.intervals_.sort_index()
    centred = true - true.mean()
    assert abs(m.scores_values_.mean()) < 1e-12 and np.array_equal(iv["score"].to_numpy(), m.scores_values_)
    z = (iv["score"].to_numpy() - centred) / iv["se"].to_numpy()
    assert np.abs(z).max() < 3.5, iv  # was -9 for the seven tied items: every interval missed
    assert not np.allclose(m.params_["theta"], m.scores_values_)  # the fit's own location stays in params_


def test_row_probas_are_per_choice_event_and_of_the_chosen_item() -> None:
    """row_probas_ said "per input row, the probability of its left item (pairwise) or of its choice":
    Plackett-Luce gives one value per choice event (a ranking of 4 items is 3) and, on pairwise
    rows, the probability of the item the label names, where Bradley-Terry's is of the left item
    (bug hunt: the docstring now says so; the numbers are as they were)."""
    df = pd.DataFrame({"worker": list("abcd"), "left": ["x", "x", "y", "z"], "right": ["y", "z", "z", "x"],
                       "label": ["y", "x", "y", "x"]})
    pl, bt = PlackettLuce().fit(df), BradleyTerry().fit(df)
    for m in (pl, bt):
        theta = dict(zip(m.comparisons_.item_names, m.scores_values_))
        left = np.array([theta[i] for i in df.left]) - np.array([theta[i] for i in df.right])
        p_left = 1.0 / (1.0 + np.exp(-left))
        want = np.where(df.label == df.left, p_left, 1.0 - p_left) if m is pl else p_left
        np.testing.assert_allclose(m.row_probas_, want, rtol=1e-12)
    np.testing.assert_allclose(pl.row_probas_, [0.760, 0.858, 0.950, 0.858], atol=5e-4)
    np.testing.assert_allclose(bt.row_probas_, [0.240, 0.858, 0.950, 0.142], atol=5e-4)
    rk = simulate_best_of_n(50, n_prompts=3, n_responses=4, n_workers=5, ranking=True, seed=4, frame="pandas").data
    m = PlackettLuce().fit(rk)
    c = m.comparisons_
    assert m.row_probas_.shape == (150,) and c.n_events == 150
    np.testing.assert_array_equal(np.bincount(c.row), np.full(50, 3))  # three events a ranking of 4
    theta = m.scores_values_
    hand = [np.exp(theta[c.chosen[e]]) / np.exp(theta[c.items[c.ptr[e]:c.ptr[e + 1]]]).sum() for e in range(150)]
    np.testing.assert_allclose(m.row_probas_, hand, rtol=1e-12)
