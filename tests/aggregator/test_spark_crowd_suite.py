"""spark-crowd's MajorityVoting tests (``spark-crowd/src/test/scala/MajorityVoting.scala``) on its own
test files, with galton's MajorityVote and MeanRating in its place: hard and soft labels of the
binary and the three-class file, and the mean of the continuous one; and the labels of its
DawidSkene test. (Its CATD, PM and PMTI tests are in ``test_truth_discovery.py``. Its DawidSkene
test also checks confusion entries after one iteration of spark-crowd's EM, 0.6876 / 0.8 / 0.6905,
which galton's DawidSkene(n_iter=1) does not give (0.6946 / 0.7987 / 0.6934): spark-crowd's EM is
not crowd-kit's, whose step-by-step numbers galton follows. Its IBCC, GLAD and Raykar tests were
not run against galton.)"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from galton import DawidSkene, MajorityVote, MeanRating
from galton.aggregator import ConvergenceWarning

DATA = Path(__file__).parent.parent / "data" / "spark_crowd"


def _load(name: str) -> pd.DataFrame:
    frame = pd.read_parquet(DATA / f"{name}.parquet")
    return frame.rename(columns={"example": "task", "annotator": "worker", "value": "label"})


def test_binary_majority_voting_labels_and_probabilities():
    mv = MajorityVote().fit(_load("binary-ann"))
    assert mv.labels_.loc[0] == 1 and mv.labels_.loc[5] == 0
    assert mv.probas_.loc[2, 1] == pytest.approx(0.9, abs=1e-4)
    assert mv.probas_.loc[5, 1] == pytest.approx(0.2, abs=1e-4)


def test_multiclass_majority_voting_labels_and_probabilities():
    mv = MajorityVote().fit(_load("multi-ann"))
    assert [mv.labels_.loc[t] for t in (0, 5, 3)] == [0, 2, 1]
    assert mv.probas_.loc[5, 2] == pytest.approx(0.8, abs=1e-4)
    assert mv.probas_.loc[3, 1] == pytest.approx(0.9, abs=1e-4)
    assert mv.probas_.loc[0, 0] == pytest.approx(0.9, abs=1e-4)


def test_continuous_majority_voting_is_the_mean():
    scores = MeanRating().fit(_load("cont-ann")).scores_
    assert scores.loc[0] == pytest.approx(21.1512, abs=1e-4)
    assert scores.loc[2] == pytest.approx(-2.65438, abs=1e-4)


def test_dawid_skene_labels_after_one_iteration():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ds = DawidSkene(n_iter=1).fit(_load("multi-ann"))
    assert [ds.labels_.loc[t] for t in (0, 1, 10, 31)] == [0, 1, 0, 2]
