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
