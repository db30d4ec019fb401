"""Bad model parameters are refused at fit with one line naming the parameter: before, ZeroBasedSkill
took n_iter=0.5 as 0 iterations and '10' as 10, KOS took n_iter=1.5, a comparison with text raised a
bare TypeError, and NoisyBradleyTerry's error named "the prior strength" with a value the user never
set."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator import LocalEngine

RNG = np.random.default_rng(0)
CAT = pd.DataFrame({"task": [f"t{i // 3}" for i in range(90)], "worker": [f"w{i % 5}" for i in range(90)],
                    "label": RNG.integers(0, 2, 90)})
RATINGS = CAT.assign(label=RNG.normal(5, 1, 90))
PAIRS = pd.DataFrame({"worker": ["a", "b", "a", "b"], "left": ["x", "y", "x", "z"], "right": ["y", "z", "z", "x"],
                      "label": ["x", "y", "z", "x"]})

CASES = [
    (lambda: galton.ZeroBasedSkill(n_iter=0.5), CAT, TypeError, "n_iter must be an integer, not 0.5"),
    (lambda: galton.ZeroBasedSkill(n_iter="10"), CAT, TypeError, "n_iter must be an integer, not '10'"),
    (lambda: galton.ZeroBasedSkill(tol="x"), CAT, TypeError, "tol must be a number, not 'x'"),
    (lambda: galton.ZeroBasedSkill(eps=-1.0), CAT, ValueError, "eps must be >= 0, not -1.0"),
    (lambda: galton.KOS(n_iter=1.5), CAT, TypeError, "n_iter must be an integer, not 1.5"),
    (lambda: galton.CATD(n_iter="10"), RATINGS, TypeError, "n_iter must be an integer, not '10'"),
    (lambda: galton.PM(tol=None), RATINGS, TypeError, "tol must be a number, not None"),
    (lambda: galton.GLAD(m_step_tol=-1.0), CAT, ValueError, "m_step_tol must be >= 0, not -1.0"),
    (lambda: galton.NoisyBradleyTerry(regularization_ratio=-1.0), PAIRS, ValueError,
     "regularization_ratio must be >= 0, not -1.0"),
    (lambda: galton.CrowdBT(eta_prior="x"), PAIRS, TypeError, "eta_prior must be a pair (a, b) of numbers"),
    (lambda: galton.DawidSkene(n_shards="x"), CAT, TypeError, "n_shards must be an integer, not 'x'"),
    (lambda: galton.TrimmedMeanRating(proportion="x"), RATINGS, TypeError, "proportion must be a number, not 'x'"),
    (lambda: galton.TrimmedMeanRating(proportion=0.5), RATINGS, ValueError, "proportion must be in [0, 0.5), not 0.5"),
]


@pytest.mark.parametrize("make, data, error, message", CASES)
def test_a_bad_parameter_is_named(make, data, error, message) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        make().fit(data)


def test_good_values_of_those_parameters_fit() -> None:
    assert galton.ZeroBasedSkill(n_iter=np.int64(5), eps=0.0).fit(CAT).labels_.size == 30
    assert galton.KOS(n_iter=3).fit(CAT).labels_.size == 30
    assert galton.NoisyBradleyTerry(regularization_ratio=0).fit(PAIRS).scores_.size == 3
    assert galton.CrowdBT(eta_prior=[2, 2]).fit(PAIRS).scores_.size == 3
    assert LocalEngine(np.int32(2)).n_shards == 2


def test_misused_calls_say_what_to_do() -> None:
    """A rating model's fit_predict_proba raised a bare AttributeError (its predict_proba says why it
    has no probabilities); galton.aggregate with a model class raised "fit() missing 1 required
    positional argument: 'data'"."""
    with pytest.raises(NotImplementedError, match="MeanRating aggregates numeric ratings"):
        galton.MeanRating().fit_predict_proba(RATINGS)
    with pytest.raises(TypeError, match=r"pass DawidSkene\(\) \(an instance\), not the class DawidSkene"):
        galton.aggregate(CAT, galton.DawidSkene)
