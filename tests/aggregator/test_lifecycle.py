"""The one fit lifecycle: every registered model (categorical, votes, KOS, ZBS, ratings, pairwise,
choices) fits through ``BaseAggregator._fit_lifecycle`` (no copied plumbing), the driver's hooks for
iterations that are not EM (``memory["stop"]``, ``_change``, ``stops_on_tol``) behave as documented,
also across a checkpoint, and a ConvergenceWarning points at the user's line whatever the
lifecycle's depth.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import galton.aggregator as agg
from galton.aggregator import ConvergenceWarning, DawidSkene, LocalEngine, ZeroBasedSkill
from galton.aggregator._base import BaseAggregator, IterativeAggregator


def _binary(seed: int = 0, n_tasks: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n_tasks)
    rows = [(t, w, int(truth[t] if rng.random() < 0.8 else 1 - truth[t]))
            for t in range(n_tasks) for w in rng.choice(8, 3, replace=False)]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def _preferences(kind: str) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for i in range(60):
        a, b, c = rng.choice(6, 3, replace=False)
        if kind == "pairwise":
            rows.append((f"w{i % 4}", f"i{a}", f"i{b}", f"i{min(a, b)}"))
        else:
            rows.append((f"w{i % 4}", [f"i{a}", f"i{b}", f"i{c}"], f"i{min(a, b, c)}"))
    cols = ["worker", "left", "right", "label"] if kind == "pairwise" else ["worker", "options", "choice"]
    return pd.DataFrame(rows, columns=cols)


@pytest.mark.parametrize("name", agg.names())
def test_every_model_fits_through_the_one_lifecycle(name, monkeypatch) -> None:
    calls: list[str] = []
    original = BaseAggregator._fit_lifecycle

    def counting(self, *args: Any, **kwargs: Any) -> Any:
        calls.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BaseAggregator, "_fit_lifecycle", counting)
    if agg.get(name).kind in ("pairwise", "choice"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = agg.create(name).fit(_preferences(agg.get(name).kind))
        assert calls == [type(model).__name__]
        assert len(model.scores_) == 6
        return
    df = _binary()
    gold = {t: int(df.label[df.task == t].iloc[0]) for t in range(0, 40, 4)} if name == "gold_mv" else None
    if agg.get(name).kind == "rating":
        df = df.assign(label=df.label * 2.5 + df.worker % 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = agg.create(name).fit(df, gold)
    assert calls == [type(model).__name__]
    assert model.labels_ is not None and len(model.labels_) == 40


class Countdown(IterativeAggregator):
    """A toy model on the driver: iteration i evaluates ``-2**-(i-1)`` (the changes halve);
    the M-step refuses iteration ``refuse_at`` by ``memory["stop"]``."""

    shard_state = ()

    def __init__(self, max_iter: int = 10, tol: float = 0.0, refuse_at: int = 0):
        self.max_iter, self.tol, self.refuse_at = max_iter, tol, refuse_at
        self.random_state = self.engine = self.n_shards = self.progress = None

    def _init_state(self, engine: Any, judgments: Any, rng: Any) -> tuple[Any, dict[str, Any]]:
        return {"t": 0}, {"t": 0}

    def _e_step(self, shard: Any, params: Any) -> dict[str, Any]:
        return {"ll": -(2.0 ** -params["t"])}

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        t = memory["t"] + 1
        if t == self.refuse_at:
            return {"t": memory["t"]}, {"t": memory["t"], "stop": True}
        return {"t": t}, {"t": t}

    def _posteriors(self, shard: Any, params: Any) -> np.ndarray:
        return np.full((shard.n_tasks, shard.n_labels), float(params["t"]))


def _drive(model: Countdown, df: pd.DataFrame, checkpoint_dir: Any = None) -> tuple[Any, np.ndarray]:
    from galton.judgments import Judgments

    judgments = Judgments.from_any(df)
    return model._in_engine(judgments, None, LocalEngine(1), None,
                            lambda eng: model._run(eng, judgments, np.random.default_rng(0)),
                            checkpoint_dir=checkpoint_dir)


def test_the_stop_flag_ends_the_loop_without_counting_the_refused_iteration(tmp_path) -> None:
    df = _binary()
    model = Countdown(max_iter=10, refuse_at=4)
    params, post = _drive(model, df)
    assert model.n_iter_ == 3 and len(model.history_) == 3 and params == {"t": 3}
    assert not model.converged_ and (post == 3.0).all()
    # the flag is checkpointed: a resumed fit stays stopped and runs nothing
    _drive(Countdown(max_iter=10, refuse_at=4), df, tmp_path)
    again = Countdown(max_iter=50, refuse_at=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a stopped fit is not a ConvergenceWarning
        again_params, _ = _drive(again, df, tmp_path)
    assert again.n_iter_ == 3 and again_params == {"t": 3} and again.history_ == model.history_


def test_change_hook_and_a_model_without_a_tolerance() -> None:
    df = _binary()
    model = Countdown(max_iter=30, tol=2.0 ** -8 / _binary().shape[0])
    _drive(model, df)
    # iteration i evaluates -2**-(i-1): the change per judgment 2**-(i-1) / n is first < tol at i = 10
    assert model.converged_ and model.n_iter_ == 10

    class NoTol(Countdown):
        stops_on_tol = False

    free = NoTol(max_iter=12, tol=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _drive(free, df)
    assert free.n_iter_ == 12 and not free.converged_


def test_convergence_warnings_point_at_the_callers_line() -> None:
    df = _binary()
    # ZeroBasedSkill's residual is exactly 0 at its 2nd iteration here (converged, no warning): 1 iteration
    for model in (DawidSkene(max_iter=2, tol=0.0, stopping="likelihood"), ZeroBasedSkill(n_iter=1, tol=0.0)):
        with pytest.warns(ConvergenceWarning) as caught:
            model.fit(df)
        assert caught[0].filename == __file__


def _warned_here(call) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    assert caught
    return [w.filename for w in caught]


@pytest.mark.parametrize("name", ["ds", "one_coin_ds", "bds", "glad", "mace", "ebcc", "bwa", "zbs", "wawa", "mv"])
def test_every_warning_points_at_the_callers_line(name: str) -> None:
    """MACE's convergence, the label warnings and gold sharing no task pointed inside galton (a fixed
    stacklevel): Python printed galton's line, showed one warning for all of a user's call sites, and
    a module= filter did not match."""
    df = _binary()
    assert set(_warned_here(lambda: agg.create(name).fit(df, gold=pd.Series([1], index=[999])))) == {__file__}
    assert set(_warned_here(lambda: agg.create(name).fit(df.assign(label=df.label + 0.5)))) == {__file__}
    if name == "mace":
        assert set(_warned_here(lambda: agg.create(name, n_iter=1).fit(df))) == {__file__}
    from galton.metrics import alpha_krippendorff

    assert set(_warned_here(lambda: alpha_krippendorff(df.assign(label=0)))) == {__file__}


def test_mace_restarts_leave_the_process_warnings_alone(monkeypatch) -> None:
    """MACE kept each restart's warning with warnings.catch_warnings, which swaps the process-wide
    filters: a fit in another thread lost its warnings, or had them relabelled as MACE's (28 and 4
    of 40). No galton code may call it during a fit (other libraries' own calls are theirs)."""
    import sys

    import galton

    callers: list[str] = []
    real = warnings.catch_warnings

    class recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            callers.append(sys._getframe(1).f_globals.get("__name__", ""))
            super().__init__(*args, **kwargs)

    galton.MACE(n_iter=3, n_restarts=2).fit(_binary(1, 60))  # imports and compiled kernels first
    monkeypatch.setattr(warnings, "catch_warnings", recording)
    with pytest.warns(ConvergenceWarning):
        galton.MACE(n_iter=3, n_restarts=20).fit(_binary(1, 200))
    assert not [c for c in callers if c.startswith("galton")], callers


def _scores_new_data(name: str) -> bool:
    return agg.get(name)._predict_new is not BaseAggregator._predict_new


@pytest.mark.parametrize("name", [n for n in agg.names(kind="categorical") if _scores_new_data(n)])
def test_predict_on_new_data_reads_the_columns_the_fit_read(name: str) -> None:
    """A model fitted with task_col= / worker_col= / label_col= scores new data in that layout (the
    pair-table models read task, worker, label and raised a missing-column error); with the default
    names predict equals itself. A label the fit never saw is an error naming the fitted labels."""
    df = _binary(3)
    ours = df.rename(columns={"task": "item", "worker": "annotator", "label": "answer"})
    cols = {"task_col": "item", "worker_col": "annotator", "label_col": "answer"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = agg.create(name, random_state=0).fit(df, df.groupby("task").label.first() if name == "gold_mv" else None)
        named = agg.create(name, random_state=0).fit(
            ours, ours.groupby("item").answer.first() if name == "gold_mv" else None, **cols)
        new = df[df.task < 10]
        pd.testing.assert_frame_equal(named.predict_proba(new.rename(columns={"task": "item", "worker": "annotator",
                                                                               "label": "answer"})),
                                      plain.predict_proba(new))
    # the new data in the default layout: the reader's hint named task_col=, which predict refuses
    with pytest.raises(ValueError, match=r"missing column\(s\) \['item', 'annotator', 'answer'\].* predict reads new "
                       r"data by the column names of the fit \(task_col='item', worker_col='annotator', "
                       r"label_col='answer'\): rename the new data's columns") as info:
        named.predict(new)
    assert "task_col=, worker_col=" not in str(info.value)
    if name in ("wawa", "zbs", "gold_mv", "mv", "mmsr"):
        return  # votes (MMSR's predict too, as crowd-kit's): a new label is one more candidate, not an error
    with pytest.raises(ValueError, match=rf"the new data's column 'answer' holds label\(s\) \[7\] that this "
                                         rf"{type(named).__name__} was not fitted on \(its labels: \[0, 1\]\)"):
        named.predict(ours.assign(answer=7))


@pytest.mark.parametrize("name", [n for n in agg.names(kind="categorical") if _scores_new_data(n) and n != "gold_mv"])
def test_predict_finds_fitted_workers_whose_ids_come_back_unsigned(name: str) -> None:
    """Worker ids from 2**60 fitted as int64 and scored as uint64 (polars UInt64, hashes): the same
    workers (numpy compared the two in float64 and took every such worker as unseen)."""
    df = _binary(3).assign(worker=lambda d: d.worker.astype(np.int64) + 2**60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = agg.create(name, random_state=0).fit(df)
        new = df[df.task < 10]
        pd.testing.assert_frame_equal(m.predict_proba(new.assign(worker=new.worker.astype(np.uint64))),
                                      m.predict_proba(new))
        # the ids as text find the same workers (all taken as new before: the class prior, no word)
        pd.testing.assert_frame_equal(m.predict_proba(new.assign(worker=new.worker.astype(str))),
                                      m.predict_proba(new))


@pytest.mark.parametrize("name", ["ds", "one_coin_ds", "bds", "ebcc", "bwa", "mmsr"])
def test_predict_says_how_many_workers_of_the_new_data_the_fit_never_saw(name: str) -> None:
    df = _binary(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = agg.create(name, random_state=0).fit(df)
    new = df[df.task < 10].assign(worker=lambda d: np.where(d.worker < 2, d.worker + 100, d.worker))
    with pytest.warns(UserWarning, match=r"2 of 8 worker\(s\) of the new data were not in the fit \(100, 101\)"):
        m.predict_proba(new)


def test_one_iteration_says_it_had_nothing_to_test() -> None:
    """n_iter=1 said "did not converge in 1 iterations (last ELBO rise per judgment inf >= tol)"."""
    with pytest.warns(ConvergenceWarning) as caught:
        DawidSkene(n_iter=1).fit(_binary())
    text = str(caught[0].message)
    assert "in 1 iteration (one iteration gives no ELBO rise per judgment to test)" in text and "inf" not in text


@pytest.mark.parametrize("name", [n for n in agg.names(kind="categorical") if _scores_new_data(n)])
def test_predict_takes_the_reading_options_of_fit(name: str) -> None:
    """After fit(..., on_invalid="drop"), predict(data) said "drop those rows or pass on_invalid='drop'"
    and predict(data, on_invalid="drop") was a TypeError (bug hunt): predict / predict_proba take
    on_invalid= and duplicates= as fit does, and read as fit on the data those options leave."""
    df = _binary(3)
    gold = df.groupby("task").label.first() if name == "gold_mv" else None
    holes = df.astype({"label": float})
    holes.loc[[0, 5, 9], "label"] = np.nan
    doubled = pd.concat([df, df[df.task < 5].assign(label=lambda d: 1 - d.label)], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = agg.create(name, random_state=0).fit(holes, gold, on_invalid="drop")
        with pytest.raises(ValueError, match=r"3 null value\(s\).*pass on_invalid='drop'"):
            m.predict(holes)
        kept = holes.dropna().astype({"label": int})  # "drop" gives the labels their int type back, as fit does
        pd.testing.assert_series_equal(m.predict(holes, on_invalid="drop"), m.predict(kept))
        pd.testing.assert_frame_equal(m.predict_proba(holes, on_invalid="drop"), m.predict_proba(kept))
        pd.testing.assert_frame_equal(m.predict_proba(doubled, duplicates="first"), m.predict_proba(df))
        assert not m.predict_proba(doubled).equals(m.predict_proba(df))  # the repeats count by default
        with pytest.raises(ValueError, match="on_invalid must be 'raise' or 'drop'"):
            m.predict(df, on_invalid="skip")
        if name == "mmsr":
            pd.testing.assert_frame_equal(m.predict_score(holes, on_invalid="drop"), m.predict_score(kept))


@pytest.mark.parametrize("name", [n for n in agg.names(kind="categorical") if _scores_new_data(n)])
def test_predict_reads_repeated_rows_as_the_fit_chose(name: str) -> None:
    """predict read repeated (task, worker) rows with duplicates="keep" whatever the fit chose, and silently
    (bug hunt: bds fitted on whitehill_duchenne with duplicates="first" and scored on the same data moved 598
    tasks by up to 0.98, 197 labels): its default is now the fit's choice, and a fit that chose nothing (rows
    kept, with a warning) has predict keep them with the same warning."""
    df = _binary(3)
    gold = df.groupby("task").label.first() if name == "gold_mv" else None
    doubled = pd.concat([df, df[df.task < 5].assign(label=lambda d: 1 - d.label)], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = agg.create(name, random_state=0).fit(df, gold, duplicates="first")
        plain = agg.create(name, random_state=0).fit(df, gold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", agg.ConvergenceWarning)
        warnings.simplefilter("error", UserWarning)  # the fit's choice given: nothing to warn of
        pd.testing.assert_frame_equal(first.predict_proba(doubled), first.predict_proba(df))
        pd.testing.assert_series_equal(first.predict(doubled), first.predict(df))
    warns = plain._repeats_effect is not None
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        kept = plain.predict_proba(doubled)
    assert any("repeat a (task, worker) pair" in str(w.message) for w in seen) == warns
    pd.testing.assert_frame_equal(kept, plain.predict_proba(doubled, duplicates="keep"))


@pytest.mark.parametrize("name", [n for n in agg.names(kind="categorical") if _scores_new_data(n)])
def test_predict_after_fitting_an_empty_frame_says_so(name: str) -> None:
    """A fit on an empty frame gives empty results and no parameters; predict(data) then said "labels=
    must list every label ... not []" (no labels= was given) or raised AttributeError '_vote_weights'
    (bug hunt)."""
    df = _binary(3)
    gold = df.groupby("task").label.first().iloc[:0] if name == "gold_mv" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = agg.create(name, random_state=0).fit(df.iloc[:0], gold)
    assert len(m.predict()) == 0
    for call in (m.predict, m.predict_proba):
        with pytest.raises(ValueError, match=rf"this {type(m).__name__} was fitted on an empty frame \(0 judgments\), "
                                             "so it has no parameters to score new data with"):
            call(df)


#: per model: a setting its fit refuses (each model's own check; None: none that fit checks) and,
#: for a model that takes no gold, gold, which its fit refuses too
REFUSED: dict[str, dict[str, Any]] = {
    "bds": {"confusion": "x"}, "bt": {"prior": -1.0}, "bwa": {"lam": -1.0}, "catd": {"quantile": "mid"},
    "crowd_bt": {"eta_prior": (0.0, 0.0)}, "ds": {"stopping": "x"}, "ebcc": {"n_subtypes": 0},
    "glad": {"labels_priors": "x"}, "gold_mv": {"tie_break": "x"}, "kos": {"n_iter": -1}, "mace": {"alpha": -1.0},
    "mmsr": {"tol": "x"}, "mv": {"tie_break": "x"}, "noisy_bt": {"regularization_ratio": -1.0},
    "one_coin_ds": {"stopping": "x"}, "plackett_luce": {"prior": -1.0}, "pm": {"loss": "l1"},
    "pmti": {"normalize": "l1"}, "rating_gaussian": {"bias_prior": -1.0}, "rating_mean": {"n_shards": "x"},
    "rating_median": {"n_shards": "x"}, "rating_trimmed": {"proportion": 0.7}, "wawa": {"tie_break": "x"},
    "zbs": {"lr_init": "x"}}
NO_GOLD = ["bt", "crowd_bt", "noisy_bt", "plackett_luce", "kos", "catd", "pm", "pmti", "rating_gaussian",
           "rating_mean", "rating_median", "rating_trimmed"]


def _fit_data(name: str, seed: int) -> tuple[pd.DataFrame, Any]:
    kind = agg.get(name).kind
    if kind in ("pairwise", "choice"):
        return _preferences(kind), None
    df = _binary(seed)
    if kind == "rating":
        df = df.assign(label=df.label * 2.5 + df.worker % 3)
    return df, ({t: int(df.label[df.task == t].iloc[0]) for t in range(0, 40, 4)} if name == "gold_mv" else None)


def _nothing_fitted(model: Any) -> None:
    left = [a for a in vars(model) if a.endswith("_") and not a.startswith("_")]
    left += [a for a in ("_params", "_out", "_gold", "_fit_settings", "_workers") if a in vars(model)]
    assert not left, left
    assert not hasattr(model, "labels_") and not hasattr(model, "scores_") and not hasattr(model, "intervals_")


@pytest.mark.parametrize("name, refused", [*((n, "setting") for n in agg.names()),
                                           *((n, "gold") for n in NO_GOLD), ("ds", "results_dir")])
def test_a_refused_refit_leaves_no_earlier_results(name, refused) -> None:
    """Bug hunt: PM, PMTI, CATD, the trimmed mean and the Gaussian rating (and Dawid-Skene, Bayesian
    DS, EBCC, GLAD, KOS, the votes, the preference models refusing gold, EMAggregator.fit's
    results_dir) checked their settings or gold before the fit dropped the previous results, so a
    refused refit left the earlier fit's scores_, labels_, params_ and workers_ in place: the model
    looked fitted, on data it was never fitted on. Every fit drops them first now."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df, gold = _fit_data(name, 0)
        model = agg.create(name).fit(df, gold)
        model.workers_  # noqa: B018  (built and kept until the next fit)
        other, gold = _fit_data(name, 1)
        kwargs: dict[str, Any] = {}
        if refused == "setting":
            model.set_params(**REFUSED[name])
        elif refused == "gold":
            gold = {0: other.iloc[0, -1]}
        else:
            kwargs["results_dir"] = "never_written"
        with pytest.raises((ValueError, TypeError)):
            model.fit(other, gold, **kwargs)
    _nothing_fitted(model)
