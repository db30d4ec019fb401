"""galton as a drop-in for crowd-kit 1.4.2: each behaviour below runs crowd-kit itself as the
reference (installed in the test environment only; galton never imports it)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import galton

ck = pytest.importorskip("crowdkit.aggregation")


@pytest.fixture(scope="module")
def act() -> pd.DataFrame:
    return galton.load_dataset("act_cf").judgments.to_pandas()


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ------------------------------------------------------------------------ 1. missing column
@pytest.mark.parametrize("model", ["DawidSkene", "MajorityVote", "GLAD", "MMSR"])
def test_missing_column_is_a_key_error_like_crowdkit(model):
    df = pd.DataFrame({"task": [1, 2], "worker": [1, 2]})
    with pytest.raises(KeyError):
        getattr(ck, model)().fit(df)
    with pytest.raises(KeyError) as err:
        getattr(galton, model)().fit(df)
    assert isinstance(err.value, ValueError) and isinstance(err.value, galton.ColumnError)
    assert str(err.value).startswith("missing column(s) ['label']; the input has ['task', 'worker']")


def test_missing_column_pairwise_and_gold():
    pw = pd.DataFrame({"worker": [1], "left": ["a"], "label": ["a"]})
    with pytest.raises(KeyError):
        ck.BradleyTerry(n_iter=5).fit(pw)
    with pytest.raises(galton.ColumnError, match=r"missing column\(s\) \['right'\]"):
        galton.BradleyTerry(n_iter=5).fit(pw)
    df = pd.DataFrame({"task": [1, 2], "worker": [1, 2], "label": [0, 1]})
    with pytest.raises(KeyError, match="gold is missing column"):
        galton.DawidSkene().fit(df, pd.DataFrame({"task": [1], "answer": [0]}))


def test_missing_column_cli_line(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    run = subprocess.run([sys.executable, "-m", "galton", "aggregate", str(path)], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.startswith("galton: error: missing column(s) ['task', 'worker', 'label']; the input has ['a', 'b', 'c']")
    assert run.stderr.count("\n") == 1 and '"' not in run.stderr


# ------------------------------------------------------------------------ 2. n_iter=0
def test_n_iter_zero_dawid_skene_is_the_majority_vote_start(act):
    ref = _quiet(ck.DawidSkene(n_iter=0).fit, act)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning for a fit asked not to iterate
        m = galton.DawidSkene(n_iter=0).fit(act)
    assert m.n_iter_ == 0 and m.converged_ is False and m.history_ == []
    got = m.probas_
    want = ref.probas_.loc[got.index, got.columns]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-12)
    mv = galton.MajorityVote().fit(act)
    pd.testing.assert_series_equal(m.labels_, mv.labels_)  # ties by galton's rule, not row order
    one_step = galton.DawidSkene(n_iter=1, tol=-np.inf).fit(act)
    assert not np.allclose(one_step.probas_.to_numpy(), got.to_numpy())


def test_n_iter_zero_bradley_terry_is_equal_scores():
    pw = pd.DataFrame({"worker": [0, 0, 1, 1, 2], "left": ["a", "b", "a", "c", "b"],
                       "right": ["b", "c", "c", "b", "a"], "label": ["a", "b", "c", "b", "a"]})
    ref = ck.BradleyTerry(n_iter=0).fit(pw)
    m = galton.BradleyTerry(n_iter=0).fit(pw)
    assert m.n_iter_ == 0 and m.converged_ is False
    np.testing.assert_allclose(m.scores_values_, 0.0)


@pytest.mark.parametrize("model", ["OneCoinDawidSkene", "GLAD", "MACE", "ZeroBasedSkill", "BayesianDawidSkene",
                                   "MMSR"])
def test_n_iter_zero_every_iterative_model_returns_its_start(act, model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message="MMSR: the pairs of workers")  # act_cf is sparse for M-MSR
        m = getattr(galton, model)(n_iter=0).fit(act)
    assert m.n_iter_ == 0 and m.converged_ is False
    assert m.labels_.shape == (act.task.nunique(),)
    with pytest.raises(ValueError, match=">= 0"):
        getattr(galton, model)(n_iter=-1).fit(act)


# ------------------------------------------------------------------------ 3. empty input
@pytest.mark.parametrize("model, attrs", [
    ("MajorityVote", {"labels_": "agg_label", "probas_": None, "skills_": "skill"}),
    ("DawidSkene", {"labels_": "agg_label", "probas_": None, "errors_": None, "priors_": "prior"}),
    ("OneCoinDawidSkene", {"labels_": "agg_label", "probas_": None, "errors_": None, "priors_": "prior"}),
    ("Wawa", {"skills_": "skill"}),
    ("KOS", {"labels_": "agg_label"}),
])
def test_empty_frame_gives_empty_results_like_crowdkit(act, model, attrs):
    empty = act.iloc[:0]
    ref = _quiet(getattr(ck, model)().fit, empty)
    m = getattr(galton, model)().fit(empty)
    for name, series_name in attrs.items():
        want, got = getattr(ref, name), getattr(m, name)
        assert type(got) is type(want) and got.shape == want.shape, name
        if series_name is not None:
            assert got.name == want.name == series_name


@pytest.mark.parametrize("model", ["MajorityVote", "DawidSkene", "BayesianDawidSkene", "GLAD"])
def test_empty_frame_of_text_ids_gives_the_index_type_pandas_gives_text(model):
    # the ids' codes of an empty text column are an object array of nothing: pandas made an ``object`` index
    # of it where a frame with rows gets ``str`` (pandas 3), as pandas' own groupby of the empty frame does
    empty = pd.DataFrame({c: pd.Series([], dtype=str) for c in ("task", "worker", "label")})
    text = empty.groupby("task").size().index.dtype
    m = getattr(galton, model)().fit(empty)
    assert m.labels_.index.dtype == m.probas_.index.dtype == m.probas_.columns.dtype == text
    assert m.labels_.index.dtype == getattr(galton, model)().fit(pd.DataFrame(
        {"task": ["t"], "worker": ["w"], "label": ["x"]})).labels_.index.dtype


@pytest.mark.parametrize("model", ["GLAD", "MACE", "ZeroBasedSkill", "GoldMajorityVote", "BayesianDawidSkene"])
def test_empty_frame_where_crowdkit_divides_by_zero(act, model):
    m = getattr(galton, model)().fit(act.iloc[:0], pd.Series({1: 0}) if model == "GoldMajorityVote" else None)
    assert isinstance(m.labels_, pd.Series) and m.labels_.shape == (0,) and m.labels_.name == "agg_label"
    assert isinstance(m.probas_, pd.DataFrame) and m.probas_.shape == (0, 0)


def test_empty_file_is_still_refused(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("task,worker,label\n")
    with pytest.raises(ValueError, match=r"no judgments \(0 rows\)"):
        galton.DawidSkene().fit(str(path))
    run = subprocess.run([sys.executable, "-m", "galton", "aggregate", str(path)], capture_output=True, text=True)
    assert run.returncode == 2 and "no judgments" in run.stderr


def _pairs() -> pd.DataFrame:
    return pd.DataFrame({"worker": [0, 0, 1, 1, 2, 2], "left": ["a", "b", "a", "c", "b", "c"],
                         "right": ["b", "c", "c", "b", "a", "a"], "label": ["a", "b", "c", "b", "a", "a"]})


@pytest.mark.parametrize("model", ["BradleyTerry", "NoisyBradleyTerry"])
def test_empty_pairwise_frame_like_crowdkit(model):
    empty = _pairs().iloc[:0]
    ref = getattr(ck, model)(n_iter=5).fit(empty)
    m = getattr(galton, model)(n_iter=5).fit(empty)
    assert isinstance(m.scores_, pd.Series) and m.scores_.shape == ref.scores_.shape == (0,)
    for name in ("skills_", "biases_") if model == "NoisyBradleyTerry" else ():
        assert getattr(m, name).shape == getattr(ref, name).shape == (0,)
        assert getattr(m, name).name == getattr(ref, name).name


# ------------------------------------------------------------------------ 4. predict stores
@pytest.mark.parametrize("model", ["GoldMajorityVote", "Wawa", "ZeroBasedSkill"])
def test_predict_on_new_data_replaces_labels_and_probas(act, model):
    tasks = np.sort(act.task.unique())
    old, new = act[act.task.isin(tasks[:200])], act[act.task.isin(tasks[200:])]
    gold = old.groupby("task").label.first()
    args = (gold,) if model == "GoldMajorityVote" else ()
    new = new[new.worker.isin(old.worker)]  # crowd-kit's models raise on unknown workers
    ref = _quiet(getattr(ck, model)().fit, old, *args)
    m = getattr(galton, model)(on_missing_skill="value", default_skill=0.5).fit(old, *args)
    ref_labels = _quiet(ref.predict, new)
    labels = m.predict(new)
    assert ref.labels_ is ref_labels and m.labels_ is labels  # crowd-kit stores what predict returns
    assert set(labels.index) == set(new.task)
    probas = m.predict_proba(new)
    ref_probas = _quiet(ref.predict_proba, new)
    assert m.probas_ is probas and ref.probas_ is ref_probas
    assert probas.shape == ref_probas.shape


def test_majority_vote_predict_does_not_store(act):
    m = galton.MajorityVote().fit(act)
    before = m.labels_
    m.predict(act.iloc[:10])
    assert m.labels_ is before


# ------------------------------------------------------------------------ 5. pairwise scores_
def test_bradley_terry_scores_on_crowdkit_scale():
    pw = _pairs()
    ref = ck.BradleyTerry(n_iter=5000, tol=0.0).fit(pw)  # tol > 0 stops crowd-kit after 2 steps
    m = galton.BradleyTerry(prior=0.0).fit(pw)  # crowd-kit's MLE
    assert m.scores_.name == "agg_score" and m.scores_.index.name is None
    pd.testing.assert_series_equal(m.scores_.sort_index(), ref.scores_.sort_index(), atol=1e-6)
    theta = m.scores_values_
    np.testing.assert_allclose(m.scores_.to_numpy(), np.exp(theta) / np.exp(theta).sum(), rtol=1e-12)
    assert m.intervals_["score"].to_numpy().tolist() == theta.tolist()
    assert m.ranking_.tolist() == m.scores_.sort_values(ascending=False).index.tolist()
    ref0 = ck.BradleyTerry(n_iter=0).fit(pw)
    pd.testing.assert_series_equal(galton.BradleyTerry(n_iter=0).fit(pw).scores_.sort_index(),
                                   ref0.scores_.sort_index())


def test_noisy_bradley_terry_scores_are_expit_theta():
    pw = _pairs()
    ref = ck.NoisyBradleyTerry(n_iter=50, random_state=0).fit(pw)
    m = galton.NoisyBradleyTerry().fit(pw)
    assert m.scores_.name == ref.scores_.name == "agg_score"
    assert m.scores_.index.name == ref.scores_.index.name
    assert sorted(m.scores_.index) == sorted(ref.scores_.index)
    theta = m.params_["best"][:m.params_["n_items"]]  # the fitted location, as crowd-kit's scores_ have it
    np.testing.assert_allclose(m.scores_.to_numpy(), 1 / (1 + np.exp(-theta)), rtol=1e-12)
    np.testing.assert_allclose(m.scores_values_, theta - theta.mean(), atol=1e-12)  # reported with mean 0


def test_polars_output_keeps_galtons_log_score_table():
    pl = pytest.importorskip("polars")
    m = galton.BradleyTerry().fit(pl.from_pandas(_pairs()))
    assert m.scores_.columns[:2] == ["item", "score"]
    np.testing.assert_allclose(m.scores_["score"].to_numpy(), m.scores_values_)


# ------------------------------------------------------------------------ 8. MV skills second
def test_majority_vote_skills_positional_like_crowdkit(act):
    skills = pd.Series(np.linspace(0.1, 1.0, act.worker.nunique()), index=np.sort(act.worker.unique()),
                       name="skill")
    skills.index.name = "worker"
    ref = ck.MajorityVote().fit_predict_proba(act, skills)
    got = galton.MajorityVote().fit_predict_proba(act, skills)
    np.testing.assert_allclose(got.to_numpy(), ref.loc[got.index, got.columns].to_numpy(), atol=1e-12)
    plain = galton.MajorityVote().fit(act)
    assert not np.allclose(plain.probas_.to_numpy(), got.to_numpy())
    labels = galton.MajorityVote().fit_predict(act, skills)
    pd.testing.assert_series_equal(labels, galton.MajorityVote().fit(act, skills=skills).labels_)


# ------------------------------------------------------------------------ 6. several gold labels
def test_gold_majority_vote_accepts_several_gold_labels_per_task(act):
    tasks = np.sort(act.task.unique())[:120]
    first = act[act.task.isin(tasks)].groupby("task").label.first()
    other = act[act.task.isin(tasks[:60])].groupby("task").label.last()
    gold = pd.concat([first, other]).sort_index()  # duplicated index: two accepted labels
    assert gold.index.has_duplicates
    ref = _quiet(ck.GoldMajorityVote().fit, act[act.worker.isin(act[act.task.isin(tasks)].worker)], gold)
    data = act[act.worker.isin(act[act.task.isin(tasks)].worker)]
    m = galton.GoldMajorityVote().fit(data, gold)
    pd.testing.assert_series_equal(m.skills_.sort_index(), ref.skills_.sort_index(), check_names=False,
                                   check_index_type=False, atol=1e-12)
    single = galton.GoldMajorityVote().fit(data, first)
    assert (m.skills_ >= single.skills_ - 1e-12).all() and (m.skills_ > single.skills_).any()
    # the general gold rule still refuses two labels for one task elsewhere
    with pytest.raises(ValueError, match="gold"):
        galton.DawidSkene().fit(data, gold)


def test_gold_majority_vote_fit_predict_votes_on_the_gold_tasks_as_crowdkit():
    """A bug hunt found galton's fit_predict returning the gold label of a gold task where every
    worker said otherwise; crowd-kit's (fit, then predict) votes on every task."""
    df = pd.DataFrame({"task": ["t1"] * 3 + ["t2"] * 3 + ["t3"] * 3, "worker": ["a", "b", "c"] * 3,
                       "label": [1, 1, 1, 0, 0, 1, 1, 1, 0]})
    gold = pd.Series({"t1": 0, "t2": 0}, name="true_label").rename_axis("task")
    ref = _quiet(ck.GoldMajorityVote().fit_predict, df, gold)
    got = galton.GoldMajorityVote().fit_predict(df, gold)
    assert got.to_dict() == ref.to_dict() == {"t1": 1, "t2": 0, "t3": 1}
    ref_p = _quiet(ck.GoldMajorityVote().fit_predict_proba, df, gold)
    got_p = galton.GoldMajorityVote().fit_predict_proba(df, true_labels=gold)
    np.testing.assert_allclose(got_p.loc[ref_p.index, ref_p.columns].to_numpy(), ref_p.to_numpy())
    assert galton.GoldMajorityVote().fit(df, gold).labels_["t1"] == 0  # fit alone keeps the gold label


def test_gold_majority_vote_fit_with_a_worker_without_gold_is_crowdkits():
    """crowd-kit's fit only measures skills and its predict raises for a worker without one; galton's
    fit raised ("no skill for 1 of 3 worker(s)"). Now the fit succeeds with crowd-kit's skills,
    votes on nothing (with a warning), and predict raises only for data holding such a worker."""
    df = pd.DataFrame({"task": ["t1", "t1", "t2", "t2", "t3", "t3", "t3"], "worker": ["a", "b", "a", "b", "a", "b", "c"],
                       "label": [0, 1, 0, 0, 1, 0, 0]})
    gold = pd.Series({"t1": 0, "t2": 0})
    theirs = ck.GoldMajorityVote().fit(df, gold)
    with pytest.warns(UserWarning, match="measured skills_ only"):
        ours = galton.GoldMajorityVote().fit(df, gold)
    assert ours.skills_.dropna().to_dict() == theirs.skills_.to_dict() == {"a": 1.0, "b": 0.5}
    assert not hasattr(ours, "labels_") and not hasattr(theirs, "labels_")
    for model in (theirs, ours):
        with pytest.raises(ValueError):
            model.predict(df)
        with pytest.raises(ValueError):
            _quiet(model.fit_predict, df, gold)
    known = df[df.worker != "c"]
    assert ours.predict(known).to_dict() == theirs.predict(known).to_dict() == {"t1": 0, "t2": 0, "t3": 1}
    with pytest.raises(galton.NotFittedError):
        galton.GoldMajorityVote().predict(known)


# ------------------------------------------------------------------------ 7. skills and initial_error
def test_ignored_workers_leave_majority_vote_skills():
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 3, 3], "worker": ["a", "b", "c", "a", "b", "c", "a"],
                       "label": ["x", "y", "x", "x", "y", "y", "x"]})
    skills = pd.Series({"a": 0.9, "b": 0.5})
    ref = ck.MajorityVote(on_missing_skill="ignore").fit(df, skills=skills)
    m = galton.MajorityVote(on_missing_skill="ignore").fit(df, skills=skills)
    assert m.skills_.to_dict() == ref.skills_.to_dict() == {"a": 1.0, "b": 0.0}
    np.testing.assert_allclose(m.probas_.to_numpy(), ref.probas_.loc[m.probas_.index].to_numpy())


def test_all_zero_initial_error_assign_is_refused_like_crowdkit():
    df = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": ["x", "y", "x", "x"]})
    idx = pd.MultiIndex.from_product([["a", "b"], ["x", "y"]], names=["worker", "label"])
    zero = pd.DataFrame(0.0, index=idx, columns=["x", "y"])
    with pytest.raises(ValueError, match="should be 1.0"):
        ck.DawidSkene(n_iter=5, initial_error_strategy="assign").fit(df, initial_error=zero)
    with pytest.raises(ValueError, match=r"should be 1.0 .*must sum to 1; workers \['a', 'b'\] do not"):
        galton.DawidSkene(n_iter=5, initial_error_strategy="assign").fit(df, initial_error=zero)
    probs = pd.DataFrame([[0.8, 0.3], [0.2, 0.7]] * 2, index=idx, columns=["x", "y"])
    galton.DawidSkene(n_iter=5, initial_error_strategy="assign").fit(df, initial_error=probs)
    ck.DawidSkene(n_iter=5, initial_error_strategy="assign").fit(df, initial_error=probs)


# ------------------------------------------------------------------------ 10. output layout
# rows not in id order, so that first-appearance and sorted orders differ on every axis
_SHUFFLED = pd.DataFrame({
    "task": ["t3", "t1", "t1", "t1", "t2", "t2", "t3", "t3", "t4", "t4"],
    "worker": ["w3", "w2", "w1", "w3", "w1", "w2", "w1", "w2", "w2", "w3"],
    "label": ["c", "a", "b", "b", "a", "c", "c", "a", "b", "c"],
})
_LAYOUT_ATTRS = ["labels_", "probas_", "errors_", "priors_", "skills_", "alphas_", "betas_", "thetas_",
                 "spamming_", "scores_"]


def _layout(x):
    """What code written against crowd-kit can see of a result: type, shape, names, axis order."""
    if isinstance(x, np.ndarray):
        return ("ndarray", x.shape)
    cols = x.columns if isinstance(x, pd.DataFrame) else None
    return (type(x).__name__, getattr(x, "name", None), list(x.index.names), x.index.tolist(),
            None if cols is None else (cols.tolist(), cols.name))


@pytest.mark.parametrize("model", ["DawidSkene", "OneCoinDawidSkene", "GLAD", "MACE", "MajorityVote", "Wawa",
                                   "ZeroBasedSkill", "MMSR"])
@pytest.mark.parametrize("rows", ["shuffled", "sorted"])
def test_pandas_results_have_crowdkit_layout(model, rows):
    df = _SHUFFLED if rows == "shuffled" else _SHUFFLED.sort_values(["task", "worker"])
    theirs = getattr(ck, model)()
    _quiet(theirs.fit_predict, df)
    if model == "MMSR":
        _quiet(theirs.predict_score, df)  # crowd-kit's MMSR sets scores_ in predict
    ours = _quiet(getattr(galton, model)().fit, df)
    compared = 0
    for attr in _LAYOUT_ATTRS:
        want = getattr(theirs, attr, None)
        if want is None:
            continue
        assert _layout(getattr(ours, attr)) == _layout(want), attr
        compared += 1
    assert compared >= 2
    # the values agree by id where both libraries compute the same thing
    if model in ("DawidSkene", "MajorityVote"):
        np.testing.assert_allclose(ours.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-6)


@pytest.mark.parametrize("rows", ["shuffled", "sorted"])
@pytest.mark.parametrize("options", [{}, {"on_missing_skill": "ignore"},
                                     {"on_missing_skill": "value", "default_skill": 0.3}])
def test_weighted_majority_vote_has_crowdkits_sorted_layout(rows, options):
    """crowd-kit sums a weighted vote with groupby(["task", "label"]) (sorted tasks and labels) and
    counts a plain one with value_counts (first appearance); galton gave both the first-appearance
    layout, and kept a zero column for a label that only ignored workers gave (crowd-kit drops it)."""
    df = _SHUFFLED if rows == "shuffled" else _SHUFFLED.sort_values(["task", "worker"])
    extra = pd.DataFrame({"task": ["t2", "t4"], "worker": ["w9", "w9"], "label": ["d", "b"]})  # d: w9 only
    data = pd.concat([extra, df], ignore_index=True) if options else df
    skills = pd.Series({"w3": 0.9, "w2": 0.4, "w1": 0.6})
    theirs = _quiet(ck.MajorityVote(**options).fit, data, skills)
    ours = _quiet(galton.MajorityVote(**options).fit, data, skills)
    for attr in ("labels_", "probas_", "skills_"):
        assert _layout(getattr(ours, attr)) == _layout(getattr(theirs, attr)), attr
    pd.testing.assert_frame_equal(ours.probas_, theirs.probas_, check_exact=False, atol=1e-12)
    assert ours.labels_.tolist() == theirs.labels_.tolist()
    assert ours.probas_.columns.tolist() == (["a", "b", "c", "d"] if "default_skill" in options else ["a", "b", "c"])
    assert ours.probas_.index.tolist() == ["t1", "t2", "t3", "t4"]
    plain = _quiet(galton.MajorityVote().fit, df)  # without skills: first appearance, as crowd-kit's
    assert _layout(plain.probas_) == _layout(_quiet(ck.MajorityVote().fit, df).probas_)


# tasks first appear 2, 3, 1, workers 8, 7, 9, labels 2, 1, 3: no category order below is either
_TYPED = {"task": [2, 2, 2, 3, 3, 3, 1, 1, 1], "worker": [8, 7, 9, 8, 7, 9, 8, 7, 9],
          "label": [2, 2, 1, 1, 1, 3, 3, 3, 2]}
_CATEGORIES = {"task": [3, 1, 2], "worker": [9, 8, 7], "label": [3, 1, 2]}


@pytest.mark.parametrize("axis", ["task", "worker", "label"])
@pytest.mark.parametrize("dtype", ["category", "Int64"])
@pytest.mark.parametrize("model", ["MajorityVote", "Wawa", "DawidSkene", "GLAD"])
def test_category_and_int64_columns_give_the_plain_columns_layout(model, dtype, axis):
    """docs/from-crowd-kit.md: a pandas category or Int64 column is read as its values, its results
    those of the same values in an int64 column (layout and values); crowd-kit's follow pandas' rules
    instead (category order, Int64 labels sorted in DawidSkene), which galton does not copy."""
    plain = pd.DataFrame(_TYPED)
    typed = plain.assign(**{axis: pd.Categorical(_TYPED[axis], categories=_CATEGORIES[axis]) if dtype == "category"
                            else pd.array(_TYPED[axis], dtype="Int64")})
    options = {"n_iter": 5} if model in ("DawidSkene", "GLAD") else {}
    want, got = (_quiet(getattr(galton, model)(**options).fit, df) for df in (plain, typed))
    for attr in _LAYOUT_ATTRS:
        if isinstance(getattr(want, attr, None), pd.Series):
            pd.testing.assert_series_equal(getattr(got, attr), getattr(want, attr), check_exact=True)
        elif isinstance(getattr(want, attr, None), pd.DataFrame):
            pd.testing.assert_frame_equal(getattr(got, attr), getattr(want, attr), check_exact=True)
    theirs = _quiet(getattr(ck, model)(**options).fit, typed)
    documented = {("MajorityVote", "label"): ("probas_", "columns"), ("DawidSkene", "label"): ("probas_", "columns"),
                  ("MajorityVote", "task"): ("probas_", "index"), ("GLAD", "task"): ("probas_", "index"),
                  ("MajorityVote", "worker"): ("skills_", "index"), ("Wawa", "worker"): ("skills_", "index")}
    if dtype == "Int64":
        documented = {("DawidSkene", "label"): ("probas_", "columns")}
    if (model, axis) in documented:  # crowd-kit's order as the page says: the categories', or sorted
        attr, where = documented[model, axis]
        order = [int(v) for v in getattr(getattr(theirs, attr), where)]
        assert order == (_CATEGORIES[axis] if dtype == "category" else sorted(set(_TYPED[axis])))
        assert order != [int(v) for v in getattr(getattr(got, attr), where)]


@pytest.mark.parametrize("dtype", ["Int64", "category", "string[pyarrow]"])
@pytest.mark.parametrize("model", ["MajorityVote", "DawidSkene"])
def test_nullable_and_category_ids_and_labels_come_back_as_plain_dtypes(model, dtype):
    """docs/from-crowd-kit.md: nullable and categorical id and label columns are read as their values,
    so the results have the plain numpy or str dtype of those values (an Int64 task column gives labels_
    an int64 index, a category one int64, a string[pyarrow] one str), with the values of the plain
    column; crowd-kit keeps Int64, category and string."""
    plain = pd.DataFrame(_TYPED)
    if dtype == "string[pyarrow]":
        plain = plain.astype({"task": str, "worker": str})
        typed = plain.astype({"task": dtype, "worker": dtype})
    else:
        typed = plain.astype({"task": dtype} if dtype == "category" else dict.fromkeys(_TYPED, dtype))
    got, want = (_quiet(getattr(galton, model)().fit, df) for df in (typed, plain))
    assert str(got.labels_.index.dtype) == ("str" if dtype == "string[pyarrow]" else "int64")
    assert got.labels_.dtype == got.probas_.columns.dtype == np.int64
    pd.testing.assert_series_equal(got.labels_, want.labels_, check_exact=True)
    pd.testing.assert_frame_equal(got.probas_, want.probas_, check_exact=True)
    theirs = _quiet(getattr(ck, model)().fit, typed)
    assert str(theirs.labels_.index.dtype) == {"string[pyarrow]": "string"}.get(dtype, dtype)


@pytest.mark.parametrize("labels", ["int", "text", "bool"])
@pytest.mark.parametrize("model", ["DawidSkene", "OneCoinDawidSkene"])
def test_errors_columns_have_crowdkits_dtype(act, model, labels):
    """crowd-kit's errors_ columns come out of joining the data (text column names) with the label
    columns, so they hold object for labels that are not text and str for text labels; galton's had
    the labels' own dtype (int64 on act_cf, bool for booleans). Values are unchanged."""
    df = {"int": act, "text": act.assign(label="L" + act["label"].astype(str)),
          "bool": act.assign(label=act["label"] >= 2)}[labels]
    theirs = _quiet(getattr(ck, model)(n_iter=3).fit, df)
    ours = _quiet(getattr(galton, model)(n_iter=3).fit, df)
    assert ours.errors_.columns.dtype == theirs.errors_.columns.dtype
    assert str(ours.errors_.columns.dtype) == ("str" if labels == "text" else "object")
    assert _layout(ours.errors_) == _layout(theirs.errors_)
    np.testing.assert_allclose(ours.errors_.to_numpy(), theirs.errors_.to_numpy(), rtol=0, atol=1e-8)
    assert ours.probas_.columns.dtype == theirs.probas_.columns.dtype != "object"  # probas_ keep the labels' dtype


@pytest.mark.parametrize("columns", ["other", "appearance"])
@pytest.mark.parametrize("strategy", ["assign", "addition"])
def test_initial_error_gives_crowdkits_label_order(strategy, columns):
    """crowd-kit's first E-step adds the log priors (labels in first-appearance order) to a frame
    whose columns are initial_error's ("assign") or their alignment with the counts' ("addition");
    pandas aligns two different orders on their sorted union, which every later step keeps. So with
    n_iter >= 1 its probas_, errors_ and priors_ have sorted labels unless initial_error's columns
    are in first-appearance order; galton's stayed in first-appearance order (zheng_s_face: [0, 2, 3, 1]
    against [0, 1, 2, 3]). n_iter=0 and OneCoinDawidSkene (crowd-kit's takes no initial_error) keep
    first appearance."""
    df = galton.load_dataset("zheng_s_face", frame="pandas").judgments
    appearance = pd.unique(df["label"]).tolist()
    init = _quiet(ck.DawidSkene(n_iter=2).fit, df.sample(frac=1, random_state=2)).errors_  # as crowd-kit's tests
    init = init[appearance] if columns == "appearance" else init
    assert (list(init.columns) == appearance) == (columns == "appearance") and appearance != sorted(appearance)
    for n_iter in (0, 1, 3):
        theirs = _quiet(ck.DawidSkene(n_iter=n_iter, initial_error_strategy=strategy).fit, df, initial_error=init)
        ours = _quiet(galton.DawidSkene(n_iter=n_iter, initial_error_strategy=strategy).fit, df, initial_error=init)
        for attr in ("labels_", "probas_", "priors_") + (("errors_",) if n_iter else ()):
            assert _layout(getattr(ours, attr)) == _layout(getattr(theirs, attr)), (n_iter, attr)
        if n_iter:  # crowd-kit clips probas_ at 1e-10 (its ELBO clips them in place)
            np.testing.assert_allclose(ours.probas_.to_numpy(), theirs.probas_.to_numpy(), rtol=0, atol=1e-9)
            np.testing.assert_allclose(ours.errors_.to_numpy(), theirs.errors_.to_numpy(), rtol=0, atol=1e-9)
        else:  # errors_ in the data's first-appearance order (docs/from-crowd-kit.md)
            assert ours.errors_.columns.tolist() == appearance
        want = sorted(appearance) if n_iter and columns == "other" else appearance
        assert ours.probas_.columns.tolist() == ours.priors_.index.tolist() == want
        assert ours.predict_proba(df.head(30)).columns.tolist() == want  # new data: the fit's columns
    one_coin = _quiet(galton.OneCoinDawidSkene(n_iter=3, initial_error_strategy=strategy).fit, df, initial_error=init)
    assert one_coin.probas_.columns.tolist() == one_coin.errors_.columns.tolist() == appearance
    plain = _quiet(galton.DawidSkene(n_iter=3).fit, df)  # a later fit without initial_error: first appearance again
    assert plain.probas_.columns.tolist() == appearance


def test_mace_spamming_is_spam_and_know_per_worker_in_appearance_order():
    df = _SHUFFLED
    ours = _quiet(galton.MACE(method="em", random_state=0).fit, df)
    workers = pd.unique(df["worker"])
    np.testing.assert_allclose(ours.spamming_.sum(axis=1), 1.0)
    np.testing.assert_allclose(1.0 - ours.spamming_[:, 0], ours.skills_.loc[workers].to_numpy())
    np.testing.assert_allclose(ours.thetas_.sum(axis=1), 1.0)


def test_polars_and_arrow_keep_the_sorted_full_layout():
    import polars as pl

    pdf = galton.DawidSkene().fit(_SHUFFLED)
    ldf = galton.DawidSkene().fit(pl.from_pandas(_SHUFFLED))
    assert ldf.labels_["task"].to_list() == ["t1", "t2", "t3", "t4"]
    assert ldf.probas_.columns == ["task", "p_a", "p_b", "p_c"]
    assert ldf.errors_.height == 3 * 3 * 3  # every (worker, label, true label), seen or not
    assert len(pdf.errors_) == len(_SHUFFLED.drop_duplicates(["worker", "label"]))
    got = pdf.probas_.sort_index().sort_index(axis=1).to_numpy()
    np.testing.assert_array_equal(got, ldf.probas_.select(["p_a", "p_b", "p_c"]).to_numpy())


def test_predict_keeps_the_fitted_label_columns():
    m = galton.DawidSkene().fit(_SHUFFLED)
    new = _SHUFFLED[_SHUFFLED["task"] == "t1"]  # its first label is "a", the fit's is "c"
    assert m.predict_proba(new).columns.tolist() == m.probas_.columns.tolist() == ["c", "a", "b"]


def test_a_label_named_task_keeps_the_task_column():
    import polars as pl

    df = pl.DataFrame({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": ["task", "task", "other"]})
    p = galton.DawidSkene().fit(df).probas_
    assert p.columns == ["task", "p_other", "p_task"] and p["task"].to_list() == [1, 2]


# ------------------------------------------------------------------ n_iter counts E-steps, as crowd-kit's
@pytest.mark.parametrize("n_iter", [1, 3])
@pytest.mark.parametrize("model", ["DawidSkene", "OneCoinDawidSkene"])
def test_n_iter_gives_crowdkits_probas_errors_and_priors(act, model, n_iter):
    """crowd-kit runs n_iter E-steps, each followed by an M-step, and reports the last E-step's
    probas_ beside the errors_ and priors_ of the M-step after it (its step-by-step test at
    n_iter=1); galton ran one E-step more before, so its probas_ were a step ahead."""
    ours = _quiet(getattr(galton, model)(n_iter=n_iter, tol=-np.inf).fit, act)
    theirs = _quiet(getattr(ck, model)(n_iter=n_iter, tol=-np.inf).fit, act)
    np.testing.assert_allclose(ours.probas_.loc[theirs.probas_.index, theirs.probas_.columns].to_numpy(),
                               theirs.probas_.to_numpy(), rtol=0, atol=1e-8)  # crowd-kit clips at 1e-10
    np.testing.assert_allclose(ours.errors_.loc[theirs.errors_.index, theirs.errors_.columns].to_numpy(),
                               theirs.errors_.to_numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.priors_.loc[theirs.priors_.index].to_numpy(), theirs.priors_.to_numpy(),
                               rtol=0, atol=1e-12)
    assert ours.labels_.loc[theirs.labels_.index].tolist() == theirs.labels_.tolist()
    # the final parameters' posteriors are one E-step further: not what probas_ holds
    ahead = ours.predict_proba(act).loc[theirs.probas_.index, theirs.probas_.columns].to_numpy()
    assert np.abs(ahead - theirs.probas_.to_numpy()).max() > 1e-4


def test_resuming_a_finished_fit_gives_its_last_e_step(act, tmp_path):
    """The last E-step's parameters travel in the checkpoint: a fit resumed after its last
    iteration runs no E-step and reports the same posteriors."""
    whole = _quiet(galton.DawidSkene(n_iter=4, tol=-np.inf).fit, act)
    first = _quiet(galton.DawidSkene(n_iter=4, tol=-np.inf).fit, act, checkpoint_dir=tmp_path)
    again = _quiet(galton.DawidSkene(n_iter=4, tol=-np.inf).fit, act, checkpoint_dir=tmp_path)
    for m in (first, again):
        np.testing.assert_array_equal(m.posteriors_, whole.posteriors_)
    assert again.n_iter_ == 4


@pytest.mark.parametrize("model", ["KOS", "ZeroBasedSkill", "DawidSkene", "MajorityVote", "MMSR"])
def test_every_attribute_of_a_fitted_model_reads(act, model):
    """crowd-kit's tests read every name of dir(model) after a fit; params_ raised
    AttributeError for the models that kept no parameters (KOS, ZeroBasedSkill)."""
    data = act[act["label"].isin(sorted(act["label"].unique())[:2])] if model == "KOS" else act
    m = _quiet(getattr(galton, model)().fit, data)
    for name in dir(m):
        getattr(m, name)
    if hasattr(m, "params_"):
        assert m.params_ is not None
    empty = _quiet(getattr(galton, model)().fit, pd.DataFrame({"task": [], "worker": [], "label": []}))
    for name in dir(empty):
        getattr(empty, name)


def test_initial_error_columns_that_are_not_labels_are_ignored_with_a_warning():
    """crowd-kit ignores initial_error columns that are not labels (its own test adds such columns
    by mistake, ``frame[("w2", "yes"), "no"] = 1``, and expects a fit); galton ignores them too and
    says which."""
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": ["a", "b"] * 3, "label": ["x", "y", "x", "x", "y", "y"]})
    idx = pd.MultiIndex.from_product([["a", "b"], ["x", "y"]], names=["worker", "label"])
    init = pd.DataFrame([[9.0, 1.0], [1.0, 9.0]] * 2, index=idx, columns=["x", "y"])
    plain = galton.DawidSkene(n_iter=5, initial_error_strategy="addition").fit(df, initial_error=init)
    stray = init.copy()
    stray[("a", "x"), "y"] = 99.0  # a new column, not a cell
    with pytest.warns(UserWarning, match=r"1 column\(s\) and 0 observed label\(s\) that are not labels"):
        got = galton.DawidSkene(n_iter=5, initial_error_strategy="addition").fit(df, initial_error=stray)
    np.testing.assert_array_equal(got.posteriors_, plain.posteriors_)
    theirs = _quiet(ck.DawidSkene(n_iter=5, initial_error_strategy="addition").fit, df, initial_error=stray)
    assert theirs.labels_.loc[[1, 2, 3]].tolist() == got.labels_.loc[[1, 2, 3]].tolist()
    with pytest.raises(ValueError, match="must be labels from"):
        galton.DawidSkene(n_iter=5, initial_error_strategy="addition").fit(
            df, initial_error=init.rename(columns={"x": "p", "y": "q"}))


@pytest.mark.parametrize("cls", ["DawidSkene", "OneCoinDawidSkene"])
def test_initial_error_strategy_is_the_third_argument_and_none_ignores_initial_error(cls):
    """crowd-kit's ``DawidSkene(100, 1e-5, "addition")`` failed with a TypeError (the strategy was
    keyword-only here), and ``fit(df, initial_error=...)`` without a strategy raised where crowd-kit
    fits without it: galton now fits as crowd-kit and says the matrices were ignored."""
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": ["a", "b"] * 3, "label": ["x", "y", "x", "x", "y", "y"]})
    idx = pd.MultiIndex.from_product([["a", "b"], ["x", "y"]], names=["worker", "label"])
    init = pd.DataFrame([[1.0, 9.0], [9.0, 1.0]] * 2, index=idx, columns=["x", "y"])
    model, ref = getattr(galton, cls), getattr(ck, cls)
    positional = model(5, 1e-5, "addition").fit(df, initial_error=init) if cls == "DawidSkene" else None
    if positional is not None:
        named = model(n_iter=5, initial_error_strategy="addition").fit(df, initial_error=init)
        np.testing.assert_array_equal(positional.posteriors_, named.posteriors_)
        assert model(5, 1e-5, "addition").get_params()["initial_error_strategy"] == "addition"
        with pytest.warns(UserWarning, match="initial_error is ignored: pass initial_error_strategy"):
            ignored = model(n_iter=5).fit(df, initial_error=init)
        np.testing.assert_array_equal(ignored.posteriors_, model(n_iter=5).fit(df).posteriors_)
        theirs = _quiet(ref(n_iter=5).fit, df, initial_error=init)
        assert theirs.labels_.sort_index().tolist() == ignored.labels_.sort_index().tolist()
    with pytest.raises(ValueError, match="initial_error_strategy must be 'assign', 'addition' or None"):
        model(5, 1e-5, "add").fit(df)


@pytest.mark.parametrize("method", ["fit_predict", "fit_predict_proba"])
def test_dawid_skene_fit_predict_takes_initial_error_third_by_position(method):
    """crowd-kit's signature is fit_predict(data, true_labels=None, initial_error=None); galton's
    fit_predict(df, None, initial_error) raised TypeError (it took gold only)."""
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4], "worker": ["a", "b", "c"] * 4,
                       "label": ["x", "y", "y", "x", "x", "y", "y", "y", "x", "x", "y", "x"]})
    idx = pd.MultiIndex.from_product([["a", "b", "c"], ["x", "y"]], names=["worker", "label"])
    init = pd.DataFrame([[1.0, 9.0], [9.0, 1.0]] * 3, index=idx, columns=["x", "y"])  # every answer flipped
    ours = getattr(galton.DawidSkene(n_iter=5, initial_error_strategy="addition"), method)(df, None, init)
    named = getattr(galton.DawidSkene(n_iter=5, initial_error_strategy="addition"), method)(df, initial_error=init)
    theirs = _quiet(getattr(ck.DawidSkene(n_iter=5, initial_error_strategy="addition"), method), df, None, init)
    plain = getattr(galton.DawidSkene(n_iter=5), method)(df)
    if method == "fit_predict":
        assert ours.equals(named) and ours.sort_index().tolist() == theirs.sort_index().tolist() == list("yyxx")
        assert plain.sort_index().tolist() == list("xxyy")  # the matrices were used
    else:
        pd.testing.assert_frame_equal(ours, named)
        np.testing.assert_allclose(ours.loc[theirs.index, theirs.columns].to_numpy(), theirs.to_numpy(), atol=1e-8)


def test_a_fit_that_runs_out_of_iterations_makes_no_results_pass(act, monkeypatch):
    """With n_iter reached the last E-step is known before it runs: it keeps its posteriors in the
    shards and the results come from there (n_iter E-steps in all, as crowd-kit's); a fit that
    converges earlier has one results pass with the same parameters (same bits)."""
    from galton.aggregator import dawid_skene as dsm

    calls = []
    real = dsm.estep_pairs

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(dsm, "estep_pairs", counting)
    m = _quiet(galton.DawidSkene(n_iter=5, tol=-np.inf).fit, act)
    assert m.n_iter_ == 5 and len(calls) == 5
    calls.clear()
    c = _quiet(galton.DawidSkene(n_iter=500, tol=1e-3).fit, act)
    assert c.converged_ and len(calls) == c.n_iter_ + 1
    # the same fit stopped by n_iter at the iteration where it converged: the same posteriors
    same = _quiet(galton.DawidSkene(n_iter=c.n_iter_, tol=-np.inf).fit, act)
    np.testing.assert_array_equal(same.posteriors_, c.posteriors_)


def test_the_default_dawid_skene_fits_are_crowdkits_iteration_for_iteration():
    """crowd-kit's DS and one-coin DS stop when their ELBO after the M-step rises by less than 1e-5
    per judgment (act_cf: 5 and 6 iterations, long before EM converges); galton's defaults stop at
    the same iteration with the same ELBO values, labels and probabilities, with and without gold.
    Run to convergence instead (``stopping="likelihood"``) DS needs over 30 and 19 labels differ."""
    data, truth, _ = galton.load_dataset("act_cf", frame="pandas")
    gold = truth.set_index("task")["label"].iloc[::7]  # a seventh of the tasks' gold, clamped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mine, theirs, kw in [(galton.DawidSkene(), ck.DawidSkene(), {}),
                                 (galton.OneCoinDawidSkene(), ck.OneCoinDawidSkene(), {}),
                                 (galton.DawidSkene(), ck.DawidSkene(), {"true_labels": gold})]:
            theirs.fit(data, **kw)
            mine.fit(data, **kw)
            assert mine.n_iter_ == len(theirs.loss_history_) < 10 and mine.converged_
            np.testing.assert_allclose(mine.loss_history_, theirs.loss_history_, rtol=0, atol=1e-8)
            assert mine.labels_.sort_index().equals(theirs.labels_.sort_index().rename(mine.labels_.name))
            np.testing.assert_allclose(mine.probas_.sort_index().to_numpy(),
                                       theirs.probas_.sort_index()[mine.probas_.columns].to_numpy(), atol=1e-8)
        converged = galton.DawidSkene(tol=1e-7, stopping="likelihood").fit(data)
    theirs = ck.DawidSkene().fit(data)
    assert converged.n_iter_ > 30
    assert (converged.labels_.sort_index() != theirs.labels_.sort_index()).sum() == 19


@pytest.mark.parametrize("model", ["DawidSkene", "OneCoinDawidSkene"])
@pytest.mark.parametrize("tol", [0.0, -1e-4])
def test_tol_zero_or_negative_stops_where_crowdkits_signed_test_does(model, tol):
    """crowd-kit stops when ``new_loss - loss < tol``, so at ``tol=0`` when its ELBO stops rising
    and at ``-1e-4`` when it falls by more than that; galton ran every iteration for any
    ``tol <= 0`` (act_cf: 100 iterations, 19 of 300 labels off). Only ``tol=-inf`` runs them all."""
    path = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "act_cf" / "judgments.csv"
    if not path.exists():
        pytest.skip("../shared/datasets not found; these tests run in CI")
    data = pd.read_csv(path)
    theirs = _quiet(getattr(ck, model)(tol=tol).fit, data)
    mine = _quiet(getattr(galton, model)(tol=tol).fit, data)
    assert mine.n_iter_ == len(theirs.loss_history_) < 10 and mine.converged_
    np.testing.assert_allclose(mine.loss_history_, theirs.loss_history_, rtol=0, atol=1e-8)
    assert mine.labels_.sort_index().tolist() == theirs.labels_.sort_index().tolist()
    every = _quiet(getattr(galton, model)(n_iter=20, tol=-np.inf).fit, data)
    assert every.n_iter_ == len(_quiet(getattr(ck, model)(n_iter=20, tol=-np.inf).fit, data).loss_history_) == 20


def _shared_categorical() -> list[str]:
    import galton.datasets as gd

    if gd.shared_root() is None:
        return []
    return [n for n in gd.shared_names() if not gd.is_numeric(n)]


@pytest.mark.skipif(not _shared_categorical(), reason="../shared/datasets not found; these tests run in CI")
@pytest.mark.parametrize("name", _shared_categorical() or ["none"])
def test_default_dawid_skene_stops_where_crowdkits_does_on_every_shared_dataset(name):
    """Every categorical shared dataset (18): galton's default DS stops at crowd-kit's iteration with
    the same labels, and so does it with a third of the gold clamped; one-coin DS too where
    crowd-kit's (Python loops) takes under a few seconds (below 30k judgments)."""
    import galton.datasets as gd

    d = gd.load_shared(name, frame="pandas")
    data = d.judgments
    cases = [(galton.DawidSkene, ck.DawidSkene, {})]
    if d.gold is not None:
        gold = d.gold.set_index("task")["label"]
        cases.append((galton.DawidSkene, ck.DawidSkene, {"true_labels": gold.iloc[::3]}))
    if len(data) < 30_000:
        cases.append((galton.OneCoinDawidSkene, ck.OneCoinDawidSkene, {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ours, theirs, kw in cases:
            if kw and not set(kw["true_labels"].index) & set(data["task"]):
                continue
            mine, ref = ours().fit(data, **kw), theirs().fit(data, **kw)
            assert mine.n_iter_ == len(ref.loss_history_), (ours.__name__, kw.keys())
            assert mine.labels_.sort_index().equals(ref.labels_.sort_index().rename(mine.labels_.name))


def test_constructor_positional_order_is_crowdkits():
    """crowd-kit code passes parameters by position (``MACE(10, 50, 'vb', 0.1, 0.5, 0.5, 0.5, 0,
    1)``); galton's MACE made ``verbose`` keyword-only, so that call raised a TypeError. For every
    class of both: crowd-kit's positional parameters are galton's first ones, in the same order
    (M-MSR's after ``n_iter, tol, random_state`` are its fit's state, documented as not provided)."""
    import inspect


    def positional(cls) -> list[str]:  # noqa: ANN001
        return [p.name for p in inspect.signature(cls.__init__).parameters.values()
                if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    checked, wrong = 0, {}
    for name in dir(ck):
        theirs, ours = getattr(ck, name), getattr(galton, name, None)
        if not inspect.isclass(theirs) or ours is None or not inspect.isclass(ours):
            continue
        want = positional(theirs)[:3] if name == "MMSR" else positional(theirs)  # then its fit state
        have = positional(ours)
        checked += 1
        if have[:len(want)] != want:
            wrong[name] = (want, have)
    assert checked >= 15 and not wrong, wrong


def test_from_crowd_kit_doc_states_the_pairwise_stopping_defaults():
    """docs/from-crowd-kit.md listed no difference in the pairwise models' stopping defaults, which
    differ in value and in meaning (NoisyBradleyTerry: crowd-kit 100 L-BFGS-B iterations and a
    relative ftol of 1e-5, galton 1000 evaluations and 1e-12 per comparison; BradleyTerry: crowd-kit's
    1e-5 on the L1 change of its scores, galton's 1e-12 on the log-posterior per comparison). The
    doc's numbers are both libraries' signatures."""
    import inspect

    doc = (Path(galton.__file__).resolve().parent.parent / "docs" / "from-crowd-kit.md").read_text()
    start = doc.index("- **Pairwise stopping defaults**")
    part = doc[start:doc.index("\n- **", start + 1)]

    def default(cls, name):
        value = inspect.signature(cls.__init__).parameters[name].default
        return "no default" if value is inspect.Parameter.empty else f"{name}={value!r}"

    noisy, plain = part.index("`NoisyBradleyTerry`:"), part.index("`BradleyTerry`:")
    for name, text in (("NoisyBradleyTerry", part[noisy:plain]), ("BradleyTerry", part[plain:])):
        crowdkit, ours = text.split("; galton ")
        for param in ("n_iter", "tol"):
            assert f"`{default(getattr(galton, name), param)}`" in ours, (name, param)
            want = default(getattr(ck, name), param)
            no_default = want == "no default" and "no default `n_iter`" in crowdkit
            assert f"`{want}`" in crowdkit or no_default, (name, param)
    assert "per comparison" in part and "L1 change" in part


@pytest.mark.parametrize("name,method", [("DawidSkene", "fit"), ("BayesianDawidSkene", "fit"), ("EBCC", "fit"),
                                         ("GoldMajorityVote", "fit"), ("GoldMajorityVote", "fit_predict"),
                                         ("DawidSkene", "fit_predict_proba")])
def test_gold_and_true_labels_both_given_are_refused(name, method):
    """crowd-kit's true_labels= is galton's gold: given both (gold by position or by name), the
    keyword replaced the gold, silently (bug hunt). Now a TypeError in Python's words names both;
    either one alone is the same gold."""
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2, 3, 3, 3], "worker": ["a", "b", "c"] * 3,
                       "label": [0, 0, 1, 1, 1, 0, 0, 1, 1]})
    g0, g1 = pd.Series({1: 1, 2: 0, 3: 1}), pd.Series({1: 0, 2: 1, 3: 0})
    model = getattr(galton, name)()
    call = getattr(model, method)
    for args, kwargs in (((g0,), {"true_labels": g1}), ((), {"gold": g0, "true_labels": g1})):
        with pytest.raises(TypeError, match=rf"^{name}\.fit\(\) got multiple values for argument 'gold': gold and "
                                            r"true_labels \(crowd-kit's name for it\) are one argument"):
            call(df, *args, **kwargs)
    if name != "GoldMajorityVote":  # gold tasks are clamped to the gold given, by either name
        assert model.fit(df, true_labels=g1).labels_.sort_index().tolist() == [0, 1, 0]
        assert model.fit(df, gold=g0).labels_.sort_index().tolist() == [1, 0, 1]
        # true_labels=None beside gold (a wrapper forwarding kw.get("true_labels")) is no second gold
        assert model.fit(df, g0, true_labels=None).labels_.sort_index().tolist() == [1, 0, 1]
    else:  # skills from the gold: by g1 a is right 3 times of 3, b twice, c never; by g0 the other way round
        assert model.fit(df, true_labels=g1).skills_.sort_index().tolist() == pytest.approx([1, 2 / 3, 0])
        assert model.fit(df, gold=g0).skills_.sort_index().tolist() == pytest.approx([0, 1 / 3, 1])
