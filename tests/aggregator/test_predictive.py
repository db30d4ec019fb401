"""The default's posterior of a task one worker judged (galton/aggregator/_predictive.py): the posterior
predictive E[p_k] E[e_w(y | k)], checked by hand against the model's own ``priors_`` and ``errors_``, in the fit
and in ``predict_proba``."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import galton


def _by_hand(model: galton.BayesianDawidSkene, worker, label) -> np.ndarray:
    """Bayes with the model's posterior means: priors_ times the worker's errors_ row of the label."""
    labels = list(model.priors_.index)
    row = model.errors_.loc[(worker, label), labels].to_numpy(dtype=float) * model.priors_[labels].to_numpy()
    return row / row.sum()


def test_a_new_task_judged_once_is_the_posterior_predictive():
    # act_cf, a worker with one judgment in the fit, a new task it judged: 0.9996 before (exp E[log e] with an
    # off-diagonal cell of 0.1-0.7 pseudo-counts), 0.902 by the model's own errors_ and priors_
    ds = galton.load_dataset("act_cf", frame="pandas")
    m = galton.BayesianDawidSkene().fit(ds.judgments)
    counts = ds.judgments.groupby("worker").size()
    worker = counts[counts == 1].index[0]
    label = ds.judgments.loc[ds.judgments.worker == worker, "label"].iloc[0]
    got = m.predict_proba(pd.DataFrame({"task": ["new"], "worker": [worker], "label": [label]}))
    np.testing.assert_allclose(got.loc["new", list(m.priors_.index)].to_numpy(), _by_hand(m, worker, label),
                               rtol=1e-9)
    assert got.loc["new"].max() < 0.95
    # a worker the fit never saw beside it carries no information: the same task
    with pytest.warns(UserWarning, match="carry no information"):
        both = m.predict_proba(pd.DataFrame({"task": ["new", "new"], "worker": [worker, 10_000],
                                             "label": [label, label]}))
    np.testing.assert_allclose(both.to_numpy(), got.to_numpy(), rtol=1e-12)


def test_tasks_judged_once_in_the_fit_are_the_posterior_predictive():
    # every task judged once, by its own worker: nothing tells an accuracy, the prior's middle (0.62 with 4
    # labels) is every worker's mean, and each task's probability is that; exp E[log e] read 0.769
    rng = np.random.default_rng(0)
    n, k = 400, 4
    truth = rng.integers(0, k, n)
    label = np.where(rng.random(n) < 0.9, truth, (truth + rng.integers(1, k, n)) % k)
    df = pd.DataFrame({"task": np.arange(n), "worker": np.arange(n), "label": label})
    m = galton.BayesianDawidSkene().fit(df)
    for t in (0, 1, 2, 3):
        np.testing.assert_allclose(m.probas_.loc[t].to_numpy(), _by_hand(m, t, label[t]), rtol=1e-9)
    assert m.prior_accuracy_ == pytest.approx(0.5 * (1 / k + 0.99))
    assert np.abs(m.probas_.max(axis=1) - m.prior_accuracy_).max() < 0.02
    assert (m.labels_.to_numpy() == label).all()  # the judge's label, as before


def test_tasks_of_several_workers_keep_the_variational_posterior():
    # only tasks one worker judged change: the others are the VB posteriors (the E-step's), tempered as before;
    # predict_proba on the fit's own data gives the fit's posteriors back
    ds = galton.load_dataset("act_cf", frame="pandas")
    df = ds.judgments
    m = galton.BayesianDawidSkene().fit(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = m.predict_proba(df).reindex(m.probas_.index)
    np.testing.assert_allclose(again.to_numpy(), m.probas_.to_numpy(), atol=1e-4)
    one = df[df.task == df.task.iloc[0]].iloc[:1]
    single = m.predict_proba(one.assign(task="x"))
    several = m.predict_proba(df[df.task == df.task.iloc[0]])
    labels = list(m.priors_.index)
    np.testing.assert_allclose(single.loc["x", labels].to_numpy(), _by_hand(m, one.worker.iloc[0], one.label.iloc[0]),
                               rtol=1e-9)
    np.testing.assert_allclose(several.to_numpy(), m.probas_.loc[[df.task.iloc[0]]].to_numpy(), atol=1e-4)


def test_a_workers_repeated_rows_on_a_lone_task_count_as_judged_once():
    # zheng_s_dog, rho 0.38: three identical rows of one worker made a task 0.9997 sure (the predictive's terms
    # summed, untempered) where three different workers agreeing made it 0.955; the docs say such a task counts as
    # judged once. Rows that disagree give the mean of their terms (by hand).
    df = galton.load_dataset("zheng_s_dog", frame="pandas").judgments
    top = df.worker.value_counts().index[:3].tolist()
    w = top[0]
    rows = ([("once", w, 2)] + [("twice", w, 2)] * 2 + [("thrice", w, 2)] * 3 + [("mixed", w, 2), ("mixed", w, 1)]
            + [("three", x, 2) for x in top])
    extra = pd.DataFrame(rows, columns=["task", "worker", "label"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = galton.BayesianDawidSkene().fit(pd.concat([df.astype({"task": str}), extra]), duplicates="keep")
        new = m.predict_proba(extra, duplicates="keep")
    assert m.rho_ > 0.1
    labels = list(m.priors_.index)
    once = _by_hand(m, w, 2)
    for got in (m.probas_, new):
        for task in ("once", "twice", "thrice"):
            np.testing.assert_allclose(got.loc[task, labels].to_numpy(), once, rtol=1e-9)
        assert got.loc["three", 2] > got.loc["thrice", 2]
        mixed = np.sqrt(_by_hand(m, w, 2) / m.priors_[labels].to_numpy()
                        * _by_hand(m, w, 1) / m.priors_[labels].to_numpy()) * m.priors_[labels].to_numpy()
        np.testing.assert_allclose(got.loc["mixed", labels].to_numpy(), mixed / mixed.sum(), rtol=1e-9)
