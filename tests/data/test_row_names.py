"""Errors name bad rows as the user finds them: by a pandas frame's own index when it is not the
default 0..n-1 (``df.loc[label]``), and by the input's position when rows were dropped first."""
import re

import numpy as np
import pandas as pd
import pytest

import galton


def _judgments(index=None):
    return pd.DataFrame({"task": ["a", "b", "c", "a", "d"], "worker": ["w", "w", None, "w", "x"],
                         "label": [1, 2, 3, 1, 2]}, index=index)


def test_null_rows_named_by_the_frame_index():
    df = _judgments(["r1", "r2", "r3", "r4", "r5"])
    with pytest.raises(ValueError, match=re.escape("column 'worker' has 1 null value(s) (rows with index 'r3')")):
        galton.DawidSkene().fit(df)


def test_a_filtered_frame_names_its_own_labels_not_positions():
    df = pd.concat([_judgments(), _judgments()], ignore_index=True).iloc[5:]  # index 5..9
    with pytest.raises(ValueError, match=re.escape("(rows with index 7)")):
        galton.MajorityVote().fit(df)


def test_default_index_keeps_positions():
    with pytest.raises(ValueError, match=re.escape("(rows 2)")):
        galton.MajorityVote().fit(_judgments())


def test_rows_after_a_drop_are_the_inputs_rows():
    # row 2 (a null) is dropped first; the repeated pair is the input's row 3, not the filtered row 2
    with pytest.raises(ValueError, match=re.escape("1 repeated (task, worker) pair(s) (rows 3)")):
        galton.Judgments.from_any(_judgments(), on_invalid="drop", duplicates="raise")
    with pytest.raises(ValueError, match=re.escape("(rows with index 'r4')")):
        galton.Judgments.from_any(_judgments(list("r1 r2 r3 r4 r5".split())), on_invalid="drop",
                                  duplicates="raise")


def test_comparisons_name_rows_by_index():
    df = pd.DataFrame({"left": ["a", "b", "c"], "right": ["b", "c", "a"], "label": ["a", "c", "zz"]},
                      index=[5, 6, 7])
    for model in (galton.BradleyTerry(n_iter=5), galton.PlackettLuce()):
        with pytest.raises(ValueError, match=re.escape("(rows with index 7; row with index 7: label 'zz'")):
            model.fit(df)


def test_choices_name_rows_by_index():
    df = pd.DataFrame({"options": [["a", "b"], ["a", "b"], ["a", "c"]], "choice": ["a", "z", "c"]},
                      index=[100, 200, 300])
    with pytest.raises(ValueError, match=re.escape("(rows with index 200; row with index 200: 'z' not in")):
        galton.PlackettLuce().fit(df)


def test_infinite_ratings_name_rows_by_index():
    df = pd.DataFrame({"task": ["a", "b", "c", "a"], "worker": ["w", "w", "x", "x"],
                       "label": [1.0, np.inf, 3.0, -1e300]}, index=["r1", "r2", "r3", "r4"])
    for model in (galton.MeanRating(), galton.CATD()):
        with pytest.raises(ValueError, match=re.escape("2 rating(s) that are infinite or beyond ±1e+150 "
                                                       "(inf, -1e+300; rows with index 'r2', 'r4')")):
            model.fit(df)
