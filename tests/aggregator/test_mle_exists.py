"""prior=0 asks for the maximum-likelihood scores, which exist only when the comparisons are
strongly connected (Hunter 2004, assumption 1). Two pieces linked one way only (or not at all) used
to run to n_iter with the advice to raise it, or to "converge" with both pieces on one scale."""
import re

import numpy as np
import pandas as pd
import pytest

from galton.aggregator.bradley_terry import BradleyTerry
from galton.aggregator.plackett_luce import PlackettLuce

# a and b beat each other, c and d beat each other: every item wins and loses
CYCLES = [["a", "b", "a"], ["a", "b", "b"], ["c", "d", "c"], ["c", "d", "d"]]


def _pairs(rows):
    return pd.DataFrame(rows, columns=["left", "right", "label"])


def _choices(rows):
    return pd.DataFrame({"options": [[l, r] for l, r, _ in rows], "choice": [w for _, _, w in rows]})


@pytest.mark.parametrize("extra", [[["a", "c", "a"]], []], ids=["one-way-link", "two-pieces"])
def test_groups_linked_one_way_or_not_at_all_have_no_mle(extra):
    rows = CYCLES + extra
    for model, data, verb in [(BradleyTerry(prior=0, method="newman"), _pairs(rows), "preferred"),
                              (BradleyTerry(prior=0, method="mm"), _pairs(rows), "preferred"),
                              (PlackettLuce(prior=0), _choices(rows), "chosen")]:
        how = f"['c', 'd']) was ever {verb} over one of the other 2 (e.g. ['a', 'b'])" if extra else \
            "['a', 'b']) was ever compared with one of the other 2 (e.g. ['c', 'd'])"
        with pytest.raises(ValueError, match=re.escape(
                f"with prior=0, the maximum-likelihood scores do not exist: no item of a group of 2 (e.g. {how}")):
            model.fit(data)
    # the default prior keeps the scores finite and fits
    assert np.isfinite(BradleyTerry().fit(_pairs(rows)).scores_values_).all()


def test_linked_both_ways_fits_the_mle_by_hand():
    # a>c and c>a join the two cycles: by symmetry every score is equal (0 at mean 0)
    rows = CYCLES + [["a", "c", "a"], ["a", "c", "c"]]
    for model, data in [(BradleyTerry(prior=0, tol=1e-12), _pairs(rows)),
                        (PlackettLuce(prior=0, tol=1e-12), _choices(rows))]:
        model.fit(data)
        np.testing.assert_allclose(model.scores_values_, 0.0, atol=1e-6)
        assert model.converged_


def test_a_tie_links_both_ways():
    rows = CYCLES + [["a", "c", "tie"]]
    m = BradleyTerry(prior=0, tol=1e-12).fit(_pairs(rows), tie="tie")
    assert m.converged_ and np.isfinite(m.scores_values_).all()
    np.testing.assert_allclose(m.scores_values_, 0.0, atol=1e-6)  # symmetric again


@pytest.mark.filterwarnings("ignore:BradleyTerry did not converge")  # 5 iterations: only the check is tested
def test_long_cycles_are_checked_whole():
    # two cycles of 1,000 items (i > i+1, the last beating the first): the deepest case of the
    # breadth-first pass; linked both ways they fit, linked one way they have no MLE
    def cycle(p, n=1000):
        return [[f"{p}{k}", f"{p}{(k + 1) % n}", f"{p}{k}"] for k in range(n)]
    rows = cycle("i") + cycle("j") + [["i0", "j0", "i0"]]
    with pytest.raises(ValueError, match=r"no item of a group of 1000 \(e.g. \['j0', 'j1', 'j10'\]\) was ever "
                                         r"preferred over one of the other 1000"):
        BradleyTerry(prior=0, n_iter=5).fit(_pairs(rows))
    m = BradleyTerry(prior=0, n_iter=5).fit(_pairs(rows + [["i5", "j5", "j5"]]))
    assert np.isfinite(m.scores_values_).all()


def _fisher_pinv(model):
    """The pseudo-inverse of the Bradley-Terry Fisher information at the fitted scores (no prior:
    singular along the location), built here from the comparisons."""
    th, c = model.scores_values_, model.comparisons_
    left, right = (c.left, c.right) if hasattr(c, "left") else (c.items[0::2], c.items[1::2])
    info = np.zeros((th.size, th.size))
    k = 1 / (1 + np.exp(th[right] - th[left])) / (1 + np.exp(th[left] - th[right]))
    np.add.at(info, (left, left), k)
    np.add.at(info, (right, right), k)
    np.add.at(info, (left, right), -k)
    np.add.at(info, (right, left), -k)
    return np.linalg.pinv(info, hermitian=True)


def test_mle_standard_errors_are_the_pseudo_inverse_of_the_information():
    """(bug hunt) 13 comparisons of 3 items (a-b 3:1, b-c 2:2, a-c 3:2) with prior=0 gave se 0.7071 for
    every item where the centred pseudo-inverse of the information gives 0.4738 / 0.4923 / 0.457:
    inv() of the singular information returned entries of 1e15 that the centring cancelled into noise
    (bootstrap resamples got se 0, Plackett-Luce [0.7071, 0.7071, 0]). Doubling every row keeps the
    scores and divides the standard errors by sqrt(2)."""
    rows = []
    for left, right, won_left, won_right in [("a", "b", 3, 1), ("b", "c", 2, 2), ("a", "c", 3, 2)]:
        rows += [[left, right, left]] * won_left + [[left, right, right]] * won_right
    ses = []
    for model, data in [(BradleyTerry(prior=0, tol=1e-14), _pairs(rows)),
                        (BradleyTerry(prior=0, tol=1e-14), _pairs(rows + rows)),
                        (PlackettLuce(prior=0, tol=1e-14), _choices(rows)),
                        (PlackettLuce(prior=0, tol=1e-14), _choices(rows + rows))]:
        model.fit(data)
        ref = _fisher_pinv(model)  # already centred: the location is its null space
        np.testing.assert_allclose(model.se_values_, np.sqrt(np.diag(ref)), rtol=1e-6)
        np.testing.assert_allclose(model._score_cov, ref, rtol=1e-6, atol=1e-9)
        ses.append(model.se_values_)
    np.testing.assert_allclose(ses[0], [0.4738, 0.4923, 0.4570], atol=5e-5)
    np.testing.assert_allclose(ses[1], ses[0] / np.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(ses[2], ses[0], rtol=1e-6)  # pairwise choices are Bradley-Terry
    np.testing.assert_allclose(ses[3], ses[1], rtol=1e-6)


def test_mle_standard_errors_on_resampled_comparisons():
    """(bug hunt) bootstrap resamples of 300 comparisons of 8 items with prior=0: se 0 for some items."""
    rng = np.random.default_rng(3)
    theta = rng.normal(0, 1, 8)
    left = rng.integers(0, 8, 300)
    right = (left + rng.integers(1, 8, 300)) % 8
    won = rng.random(300) < 1 / (1 + np.exp(theta[right] - theta[left]))
    rows = [[f"i{l}", f"i{r}", f"i{l if w else r}"] for l, r, w in zip(left, right, won)]
    for seed in range(5):
        pick = np.random.default_rng(seed).integers(0, 300, 300)
        model = BradleyTerry(prior=0, tol=1e-14).fit(_pairs([rows[i] for i in pick]))
        np.testing.assert_allclose(model.se_values_, np.sqrt(np.diag(_fisher_pinv(model))), rtol=1e-6)
