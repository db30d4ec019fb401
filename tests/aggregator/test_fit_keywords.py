"""A keyword argument that neither a model's fit nor its data's reader takes: the error names the
model and the options of its kind of data, not galton's internal reader (docs hunt)."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

import galton
from galton.aggregator import get, names

DATA = {
    "categorical": pd.DataFrame({"task": [1, 1, 2, 2], "worker": list("abab"), "label": list("xyxx")}),
    "rating": pd.DataFrame({"task": [1, 1, 2, 2], "worker": list("abab"), "label": [1.0, 2.0, 3.0, 4.0]}),
    "pairwise": pd.DataFrame({"worker": ["a", "b", "a"], "left": ["x", "y", "x"], "right": ["y", "z", "z"],
                              "label": ["x", "y", "x"]}),
    "choice": pd.DataFrame({"worker": ["a", "b"], "options": [["x", "y"], ["x", "y", "z"]], "choice": ["x", "z"]}),
}
#: the options each kind of data takes, as the readers (Judgments / Comparisons / Choices.from_any) name them
OPTIONS = {
    "categorical": "task_col, worker_col, label_col, on_invalid, duplicates, labels, numeric",
    "rating": "task_col, worker_col, label_col, on_invalid, duplicates, labels, numeric",
    "pairwise": "worker_col, left_col, right_col, label_col, tie, on_invalid",
    "choice": "worker_col, left_col, right_col, label_col, tie, on_invalid, options_col, choice_col, ranking_col",
}


@pytest.mark.parametrize("name", [n for n in names() if getattr(get(n), "kind", None) in DATA])
def test_an_unknown_fit_keyword_names_the_model_and_its_datas_options(name):
    """``DawidSkene().fit(d, foo=1)`` said "Judgments.from_any() got an unexpected keyword argument
    'foo'", ``BradleyTerry().fit(c, duplicates='raise')`` "Comparisons.from_any() ..."."""
    cls = get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError) as caught:
            cls().fit(DATA[cls.kind], bogus=1)
    text = str(caught.value)
    assert "from_any" not in text
    assert text == (f"{cls.__name__}.fit() got an unexpected keyword argument 'bogus': the options of {cls.kind} "
                    f"data are {OPTIONS[cls.kind]}, and the fit's own are in help(galton.{cls.__name__}.fit)")


def test_duplicates_for_pairwise_data_and_a_model_parameter_given_to_fit():
    with pytest.raises(TypeError, match=r"^BradleyTerry\.fit\(\) got an unexpected keyword argument 'duplicates': "
                                        r"the options of pairwise data are worker_col, left_col, right_col"):
        galton.BradleyTerry().fit(DATA["pairwise"], duplicates="raise")
    with pytest.raises(TypeError, match=re.escape("; n_iter is a parameter of the model: DawidSkene(n_iter=...)")):
        galton.DawidSkene().fit(DATA["categorical"], n_iter=3)


def test_plackett_luce_on_pairs_no_longer_drops_an_unknown_keyword():
    """PlackettLuce read pairs with the pair options only: any other keyword, a misspelt one too,
    was dropped without a word (``right=`` for ``right_col=``)."""
    with pytest.raises(TypeError, match=r"^PlackettLuce\.fit\(\) got an unexpected keyword argument 'right'"):
        galton.PlackettLuce().fit(DATA["pairwise"], right="other")


def test_aggregate_still_names_the_parameters_it_passes_on():
    """galton.aggregate reads Python's phrase in the fit's error to add the model's parameters."""
    with pytest.raises(TypeError, match=re.escape("aggregate(): bt (BradleyTerry) has no parameter 'duplicates'; "
                                                  "its parameters are engine, method, n_iter")):
        galton.aggregate(DATA["pairwise"], duplicates="first")
    with pytest.raises(TypeError, match=re.escape("aggregate(): ds (DawidSkene) has no parameter 'foo'")):
        galton.aggregate(DATA["categorical"], "ds", foo=1)
