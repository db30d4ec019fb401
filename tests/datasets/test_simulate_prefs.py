"""The preference simulator: best-of-n raters follow the same reliability model as pairwise ones."""

from __future__ import annotations

import numpy as np
import pytest

from galton.datasets.simulate_prefs import simulate_best_of_n, simulate_pairwise


def test_best_of_two_is_the_pairwise_reliability_model() -> None:
    """With two options a reliable rater picks item i with P = η σ(d) + (1 - η) σ(-d), d = θ_i - θ_j
    (Crowd-BT's model, as simulate_pairwise draws it); adversarial raters have η below 1/2."""
    s = simulate_best_of_n(200_000, n_prompts=1, n_responses=2, n_workers=40, seed=11, adversarial=0.2,
                           random=0.0, reliability=(0.6, 0.9), quality_sd=1.5, frame="arrow")
    t = s.data
    worker = t.column("worker").to_numpy()
    choice = t.column("choice").to_numpy()
    d = s.quality[1] - s.quality[0]
    p_one = 1.0 / (1.0 + np.exp(-d))  # P(item 1 beats item 0) under Bradley-Terry
    eta = s.reliability
    expected = eta * p_one + (1 - eta) * (1 - p_one)
    for kind in ("reliable", "adversarial"):
        w = np.flatnonzero(s.kind == kind)
        rows = np.isin(worker, w)
        observed = float((choice[rows] == 1).mean())
        predicted = float(expected[worker[rows]].mean())
        se = np.sqrt(predicted * (1 - predicted) / rows.sum())
        assert abs(observed - predicted) < 4 * se, (kind, observed, predicted)
    assert (eta[s.kind == "adversarial"] < 0.5).all() and (eta[s.kind == "reliable"] > 0.5).all()


def test_rater_shares_are_apportioned_to_the_raters() -> None:
    """adversarial = random = 0.5 leaves no reliable rater and never more special raters than raters
    (each share rounded apart gave 2 + 2 + 1 reliable of 5, and 2 + 2 of 3 with one dropped)."""
    from collections import Counter

    from galton.datasets.simulate_prefs import simulate_pairwise

    for n, want in ((5, {"adversarial": 3, "random": 2}), (3, {"adversarial": 2, "random": 1})):
        assert Counter(simulate_pairwise(10, n_workers=n, adversarial=0.5, random=0.5, seed=1).kind) == want
    kinds = Counter(simulate_pairwise(10, n_workers=50, adversarial=0.05, random=0.10, seed=1).kind)
    assert kinds == {"reliable": 43, "adversarial": 2, "random": 5}  # the defaults' split is as before


def test_shares_summing_to_one_leave_no_reliable_rater() -> None:
    """Bug hunt: the reliable share 1 - 0.7 - 0.3 is 5.6e-17, not 0, so it counted as asked for and the
    rounding made one reliable rater of 15 ({'adversarial': 10, 'random': 4, 'reliable': 1}); 0.3 + 0.7
    (a residue of -5.6e-17) fell back to the largest remainders. Every split of hundredths summing to 1
    now gives no reliable rater, and the counts follow the largest remainders (ties to adversarial)."""
    from collections import Counter

    assert Counter(simulate_pairwise(10, n_workers=15, adversarial=0.7, random=0.3, seed=1).kind) == {
        "adversarial": 11, "random": 4}
    assert Counter(simulate_pairwise(10, n_workers=15, adversarial=0.3, random=0.7, seed=1).kind) == {
        "adversarial": 5, "random": 10}
    for i in range(0, 101):
        for n in (7, 15, 100):
            kinds = Counter(simulate_pairwise(1, n_workers=n, adversarial=i / 100, random=(100 - i) / 100).kind)
            assert "reliable" not in kinds and abs(kinds["adversarial"] - i * n / 100) <= 0.5 + 1e-9, (i, n, kinds)


@pytest.mark.parametrize("call, message", [
    (lambda: simulate_pairwise(2.5), "n_comparisons=2.5 must be a whole number"),
    (lambda: simulate_pairwise(-5), "n_comparisons=-5 must be >= 0"),
    (lambda: simulate_best_of_n(-1), "n_judgments=-1 must be >= 0"),
    (lambda: simulate_best_of_n(10, shown=2.5), "shown=2.5 must be a whole number"),
    (lambda: simulate_pairwise(10, quality_sd=float("nan")), "quality_sd=nan must be a finite number"),
    (lambda: simulate_pairwise(10, quality_sd=float("inf")), "quality_sd=inf must be a finite number"),
    (lambda: simulate_pairwise(10, quality_sd=-1), "quality_sd=-1 must be >= 0"),
    (lambda: simulate_pairwise(10, n_workers=2.5), "n_workers=2.5 must be a whole number"),
    (lambda: simulate_best_of_n(10, n_prompts=0), "n_prompts=0 must be >= 1"),
    (lambda: simulate_pairwise(10, n_responses="5"), "n_responses='5' must be a whole number, not text"),
    (lambda: simulate_pairwise(10, adversarial=float("nan")), "adversarial=nan must be a finite number"),
    (lambda: simulate_pairwise(10, reliability=(float("nan"), 1.0)), "reliability=nan must be a finite number"),
    (lambda: simulate_pairwise(10, seed=-1), r"seed=-1 must be a non-negative integer below 2\*\*128"),
    (lambda: simulate_best_of_n(10, seed=-1), r"seed=-1 must be a non-negative integer below 2\*\*128"),
    (lambda: simulate_pairwise(10, seed=2**128), f"seed={2**128} must be a non-negative integer below 2\\*\\*128"),
    (lambda: simulate_pairwise(10, seed=1.5), "seed=1.5 must be a whole number"),
    (lambda: simulate_best_of_n(10, seed=1.5), "seed=1.5 must be a whole number"),
    (lambda: simulate_pairwise(10, seed="7"), "seed='7' must be a whole number, not text"),
    (lambda: simulate_pairwise(10, seed=[3, -1]), r"seed=\[3, -1\] must be non-negative integers below 2\*\*128"),
])
def test_meaningless_settings_are_refused_by_name(call, message) -> None:
    """Bug hunt: simulate_pairwise(2.5) made 2 comparisons, simulate_pairwise(-5) raised numpy's bare
    'negative dimensions are not allowed', quality_sd=nan gave NaN qualities without a word."""
    with pytest.raises(ValueError, match="^" + message + "$"):
        call()


def test_seed_is_checked_as_crowd_configs_seed() -> None:
    """Bug hunt: seed=-1 and seed=1.5 raised numpy's bare 'expected non-negative integer' / 'SeedSequence
    expects int or sequence of ints' naming no setting. The seed now takes CrowdConfig's rule (the
    same checker, the same message); 7.0 is 7 and [seed, tag] lists (galton's studies) still work."""
    from galton.datasets.simulate import CrowdConfig

    for bad in (-1, 1.5, 2**128):
        with pytest.raises(ValueError) as sim_error:
            simulate_pairwise(10, seed=bad)
        with pytest.raises(ValueError) as config_error:
            CrowdConfig(n_tasks=1, n_workers=1, judgments_per_task=1, seed=bad)
        assert str(sim_error.value) == str(config_error.value)
    a, b = simulate_pairwise(50, seed=7.0), simulate_pairwise(50, seed=7)
    assert all(np.array_equal(a.data[k], b.data[k]) for k in b.data)
    listed = simulate_pairwise(50, seed=[7, 2]).data["label"]
    assert np.array_equal(listed, simulate_pairwise(50, seed=np.array([7, 2])).data["label"])
    assert not np.array_equal(listed, b.data["label"])


def test_counts_of_integer_value_are_those_integers() -> None:
    """As CrowdConfig's: 1e3 (a TOML float) is 1000; the data are those of the integers."""
    a = simulate_pairwise(1e3, n_prompts=2.0, n_responses=5.0, n_workers=10.0, seed=3)
    b = simulate_pairwise(1000, n_prompts=2, n_responses=5, n_workers=10, seed=3)
    assert all(np.array_equal(a.data[k], b.data[k]) for k in b.data) and len(b.data["label"]) == 1000
