"""The preference simulator: best-of-n raters follow the same reliability model as pairwise ones."""

from __future__ import annotations

import numpy as np

from galton.datasets.simulate_prefs import simulate_best_of_n


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
