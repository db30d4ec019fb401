"""Bad model parameters are refused at fit with one line naming the parameter: before, ZeroBasedSkill
took n_iter=0.5 as 0 iterations and '10' as 10, KOS took n_iter=1.5, a comparison with text raised a
bare TypeError, and NoisyBradleyTerry's error named "the prior strength" with a value the user never
set."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator import ConvergenceWarning, LocalEngine

NAN = float("nan")
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
    # bug hunt: NaN priors gave NaN probabilities (exit 0), text a bare TypeError, True counted as 1
    (lambda: galton.DawidSkene(alpha=NAN), CAT, TypeError, "alpha must be a number, not nan"),
    (lambda: galton.DawidSkene(alpha_prior=NAN), CAT, TypeError, "alpha_prior must be a number, not nan"),
    (lambda: galton.DawidSkene(alpha="0.5"), CAT, TypeError, "alpha must be a number, not '0.5'"),
    (lambda: galton.DawidSkene(alpha=np.inf), CAT, ValueError, "alpha must be finite, not inf"),
    (lambda: galton.OneCoinDawidSkene(alpha=NAN), CAT, TypeError, "alpha must be a number, not nan"),
    (lambda: galton.MACE(alpha=NAN), CAT, TypeError, "alpha must be a number, not nan"),
    (lambda: galton.MACE(beta=NAN), CAT, TypeError, "beta must be a number, not nan"),
    (lambda: galton.MACE(beta=0.0), CAT, ValueError, "beta (the Beta prior of VB) must be > 0, not 0.0"),
    (lambda: galton.MACE(smoothing=NAN), CAT, TypeError, "smoothing must be a number, not nan"),
    (lambda: galton.MACE(smoothing=True), CAT, TypeError, "smoothing must be a number, not True"),
    (lambda: galton.MACE(default_noise=NAN), CAT, TypeError, "default_noise must be a number, not nan"),
    (lambda: galton.MACE(default_noise=-2.0), CAT, ValueError, "default_noise must be >= -1, not -2.0"),
    (lambda: galton.MACE(n_restarts="3"), CAT, TypeError, "n_restarts must be an integer, not '3'"),
    (lambda: galton.MACE(n_restarts=2.7), CAT, TypeError, "n_restarts must be an integer, not 2.7"),
    (lambda: galton.MACE(n_restarts=True), CAT, TypeError, "n_restarts must be an integer, not True"),
    (lambda: galton.GaussianRating(noise_prior=NAN), RATINGS, TypeError, "noise_prior must be a number, not nan"),
    (lambda: galton.GaussianRating(bias_prior="1"), RATINGS, TypeError, "bias_prior must be a number, not '1'"),
    (lambda: galton.GaussianRating(bias_prior=np.inf), RATINGS, ValueError, "bias_prior must be finite, not inf"),
    (lambda: galton.CATD(alpha="0.05"), RATINGS, TypeError, "alpha must be a number, not '0.05'"),
    (lambda: galton.BayesianDawidSkene(prior_strength=True), CAT, ValueError,
     "prior_strength must be a finite number > 0, not True"),
    (lambda: galton.BayesianDawidSkene(class_shrinkage=True), CAT, ValueError,
     "class_shrinkage must be a finite number >= 0, not True"),
    (lambda: galton.EBCC(prior_diag=True), CAT, ValueError, "prior_diag must be a finite number > 0, not True"),
    (lambda: galton.EBCC(a_pi=True), CAT, ValueError, "a_pi must be a finite number > 0, not True"),
    (lambda: galton.ZeroBasedSkill(lr_init=np.inf), CAT, ValueError, "lr_init must be finite, not inf"),
    (lambda: galton.BradleyTerry(prior=np.inf), PAIRS, ValueError, "prior must be finite, not inf"),
    (lambda: galton.GLAD(labels_priors="xy"), CAT, TypeError,
     "labels_priors must be a pandas Series (or a dict) of each label's prior, not 'xy'"),
    (lambda: galton.GLAD(labels_priors=3), CAT, TypeError,
     "labels_priors must be a pandas Series (or a dict) of each label's prior, not 3"),
    (lambda: galton.GLAD(labels_priors={0: 0.5, 1: NAN}), CAT, TypeError, "labels_priors[1] must be a number, not nan"),
    (lambda: galton.GLAD(alphas_priors_mean="x"), CAT, TypeError, "alphas_priors_mean must be a number, not 'x'"),
    # bug hunt: numpy's SeedSequence error did not say that random_state was wrong
    (lambda: galton.DawidSkene(random_state="x"), CAT, TypeError,
     "random_state must be a non-negative integer, a numpy Generator or None, not 'x'"),
    (lambda: galton.MACE(random_state=-1), CAT, ValueError,
     "random_state must be a non-negative integer or None, not -1"),
    (lambda: galton.CrowdBT(random_state=1.5), PAIRS, TypeError,
     "random_state must be a non-negative integer, a numpy Generator or None, not 1.5"),
    (lambda: galton.MajorityVote(random_state=True), CAT, TypeError,
     "random_state must be a non-negative integer, a numpy Generator or None, not True"),
    (lambda: galton.DawidSkene(random_state=-1), CAT.iloc[:0], ValueError,
     "random_state must be a non-negative integer or None, not -1"),
    (lambda: galton.GLAD(tol=NAN), CAT, TypeError, "tol must be a number, not nan"),
]


@pytest.mark.parametrize("make, data, error, message", CASES)
def test_a_bad_parameter_is_named(make, data, error, message) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        make().fit(data)


def test_good_values_of_those_parameters_fit() -> None:
    assert galton.ZeroBasedSkill(n_iter=np.int64(5), eps=0.0).fit(CAT).labels_.size == 30
    assert galton.KOS(n_iter=3).fit(CAT).labels_.size == 30
    # regularization_ratio=0 on comparisons where the maximum-likelihood scores exist: each of x, y, z beats
    # the next twice and loses to it once (on PAIRS they run off, a rater's upset put down to chance: refused)
    cycle = [(w, a, b, a) for w, a, b in [("a", "x", "y"), ("b", "x", "y"), ("a", "y", "z"), ("b", "y", "z"),
                                         ("a", "z", "x"), ("b", "z", "x")]]
    cycle += [("a", b, a, b) for _, a, b, _ in cycle[::2]]
    cycle = pd.DataFrame(cycle, columns=["worker", "left", "right", "label"])
    assert galton.NoisyBradleyTerry(regularization_ratio=0).fit(cycle).scores_.size == 3
    with pytest.raises(ValueError, match="with regularization_ratio=0 the noisy Bradley-Terry scores grew without"):
        galton.NoisyBradleyTerry(regularization_ratio=0).fit(PAIRS)
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


def test_good_values_of_the_checked_priors_fit() -> None:
    """The checks take what the models took before: numpy numbers, 0 where 0 is allowed, MACE's
    alpha and beta unused by EM, seeds as numpy integers, a Generator, or 2**40 for MMSR (whose
    crowd-kit start, RandomState, raised "Seed must be between 0 and 2**32 - 1" on it)."""
    assert galton.DawidSkene(alpha=np.float32(1), alpha_prior=0).fit(CAT).probas_.notna().all().all()
    assert galton.MACE(method="em", alpha=0.0, beta=0.0, n_restarts=np.int64(2)).fit(CAT).labels_.size == 30
    assert galton.GaussianRating(bias_prior=0, noise_prior=np.float64(3)).fit(RATINGS).labels_.notna().all()
    assert galton.BayesianDawidSkene(prior_strength=np.float32(5), class_shrinkage=0).fit(CAT).labels_.size == 30
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # this data's factors grow: not the point here
        assert galton.MMSR(random_state=2**40).fit(CAT).labels_.size == 30
    assert galton.KOS(random_state=np.random.default_rng(1)).fit(CAT).labels_.size == 30
    a, b = galton.DawidSkene(random_state=np.int64(3)).fit(CAT), galton.DawidSkene(random_state=3).fit(CAT)
    pd.testing.assert_frame_equal(a.probas_, b.probas_)


def _segments() -> pd.DataFrame:
    masks = [[[1, 1, 0, 0]], [[1, 0, 0, 0]], [[1, 1, 1, 0]]]
    return pd.DataFrame([(t, w, np.array(m, dtype=bool)) for t in ("a", "b") for w, m in zip("xyz", masks)],
                        columns=["task", "worker", "segmentation"])


def _embeddings() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame([(t, w, f"{t}{w}", rng.normal(size=3)) for t in "ab" for w in "xyz"],
                        columns=["task", "worker", "output", "embedding"])


@pytest.mark.parametrize("make, data, error, message", [
    (lambda: galton.SegmentationEM(n_iter=5.0), _segments, TypeError, "n_iter must be an integer, not 5.0"),
    (lambda: galton.SegmentationEM(n_iter="5"), _segments, TypeError, "n_iter must be an integer, not '5'"),
    (lambda: galton.SegmentationRASA(n_iter=True), _segments, TypeError, "n_iter must be an integer, not True"),
    (lambda: galton.SegmentationRASA(tol=NAN), _segments, TypeError, "tol must be a number, not nan"),
    (lambda: galton.RASA(n_iter=5.0), _embeddings, TypeError, "n_iter must be an integer, not 5.0"),
    (lambda: galton.RASA(alpha="0.05"), _embeddings, TypeError, "alpha must be a number, not '0.05'"),
    (lambda: galton.HRRASA(lambda_emb=NAN), _embeddings, TypeError, "lambda_emb must be a number, not nan"),
    (lambda: galton.HRRASA(lambda_out=np.inf), _embeddings, ValueError, "lambda_out must be finite, not inf"),
])
def test_a_bad_parameter_of_segmentation_and_embeddings_is_named(make, data, error, message) -> None:
    """Bug hunt: n_iter=5.0 or "5" raised a bare TypeError from range() or a comparison (True ran
    one iteration), and HRRASA took NaN weights into NaN skills."""
    with pytest.raises(error, match="^" + re.escape(message)):
        make().fit(data())


@pytest.mark.parametrize("make, data", [
    (lambda tol: galton.GLAD(n_iter=4, tol=tol), CAT),
    (lambda tol: galton.MMSR(n_iter=4, tol=tol), CAT),
    (lambda tol: galton.MACE(n_iter=4, tol=tol, n_restarts=1), CAT),
    (lambda tol: galton.ZeroBasedSkill(n_iter=4, tol=tol), CAT),
    (lambda tol: galton.DawidSkene(n_iter=4, tol=tol, stopping="likelihood"), CAT),
    (lambda tol: galton.CATD(n_iter=4, tol=tol), RATINGS),
    (lambda tol: galton.BradleyTerry(n_iter=4, tol=tol), PAIRS),
])
def test_tol_minus_inf_runs_every_iteration(make, data) -> None:
    """Bug hunt: GLAD and MMSR refused crowd-kit's tol=-inf ("tol must be >= 0"), which crowd-kit's
    classes take as "run every iteration"; now every iterative model runs every iteration with any
    tol < 0, as with tol=0, but without tol=0's ConvergenceWarning (no test, so none was missed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        runs = [make(tol).fit(data) for tol in (-np.inf, -1.0)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs.append(make(0.0).fit(data))
    warned = [w for w in caught
              if w.category is ConvergenceWarning and "did not converge in 4 iterations" in str(w.message)]
    # tol=0 warns unless its last change is exactly 0: converged (Zero-Based Skill's residual on CAT, from its 2nd)
    assert bool(warned) != runs[2].converged_ and runs[2].converged_ == isinstance(runs[2], galton.ZeroBasedSkill)
    assert [m.n_iter_ for m in runs] == [4, 4, 4]
    assert not runs[0].converged_ and not runs[1].converged_
    assert runs[0].history_ == runs[1].history_ == runs[2].history_


def _dense_votes() -> pd.DataFrame:
    """60 tasks, 5 workers each right with chance 0.8: M-MSR's sweeps reach a fixed point at the 9th."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 60)
    rows = [(t, f"w{w}", int(truth[t]) if rng.random() < 0.8 else 1 - int(truth[t]))
            for t in range(60) for w in range(5)]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


@pytest.mark.parametrize("make, data", [
    (lambda: galton.MMSR(n_iter=30, tol=0), _dense_votes),
    (lambda: galton.ZeroBasedSkill(n_iter=20, tol=0), lambda: CAT),
    (lambda: galton.DawidSkene(n_iter=150, tol=0, stopping="likelihood"), lambda: CAT),
    (lambda: galton.BradleyTerry(n_iter=40, tol=0), lambda: PAIRS),
])
def test_tol_zero_at_a_fixed_point_runs_every_iteration_without_a_warning(make, data) -> None:
    """Bug hunt: with tol=0 (GLAD(tol=0, n_iter=...) in the docs, crowd-kit's tests) every fit warned
    "did not converge ... last change 0 >= tol=0; raise n_iter or tol" even where the change was exactly
    0, a fixed point. Such a fit still runs every iteration (crowd-kit's tol=0), converged_ True and no
    warning; a last change above 0 still warns (test_tol_minus_inf_runs_every_iteration)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = make()
        m = model.fit(data())
    assert m.n_iter_ == model.n_iter and m.converged_
    # the last change: M-MSR's history_ is its change of u v'; the others' the objective
    assert m.history_[-1] == 0 if isinstance(m, galton.MMSR) else m.history_[-1] == m.history_[-2]


def test_tol_minus_inf_runs_every_iteration_of_segmentation_and_rasa() -> None:
    """Bug hunt: SegmentationEM, SegmentationRASA and RASA refused tol < 0 ("n_iter and tol must be
    >= 0"); crowd-kit's run every iteration with it (SegmentationRASA has no change to record in its
    first), and galton's now give crowd-kit's histories."""
    ck = pytest.importorskip("crowdkit.aggregation", reason="crowd-kit (the reference) is a test dependency")
    for name, n in (("SegmentationEM", 6), ("SegmentationRASA", 5)):
        ours = getattr(galton, name)(n_iter=6, tol=-np.inf).fit(_segments()).loss_history_
        np.testing.assert_allclose(ours, getattr(ck, name)(n_iter=6, tol=-np.inf).fit(_segments()).loss_history_)
        assert len(ours) == n > len(getattr(galton, name)(n_iter=6).fit(_segments()).loss_history_)
    rasa = [len(galton.RASA(n_iter=6, tol=tol).fit(_embeddings()).loss_history_) for tol in (-np.inf, 1e-3)]
    assert rasa == [5, 4]  # no change to record in the first round either


@pytest.mark.parametrize("name,params", [
    ("rating_gaussian", {"bias": "no"}), ("ebcc", {"empirical_prior": "false"}), ("bwa", {"prior_correction": "off"}),
    ("glad", {"silent": "yes"}),
])
def test_a_flag_given_text_is_refused(name: str, params: dict) -> None:
    """Boolean options took any truthy value: bias="no" and empirical_prior="false" switched the
    option on (bug hunt)."""
    key, value = next(iter(params.items()))
    df = pd.DataFrame({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": [1.0, 2.0, 3.0]})
    model = galton.aggregator.create(name, **params)
    with pytest.raises(TypeError, match=f"{key} must be True or False, not {value!r}"):
        model.fit(df if name.startswith("rating") else df.assign(label=[0, 1, 0]))
    ok = galton.aggregator.create(name, **{key: 0})  # 0 and 1 are read as the flags they mean
    assert getattr(ok.fit(df if name.startswith("rating") else df.assign(label=[0, 1, 0])), key) == 0


_TRUE_OR_NONE = [n for n in galton.aggregator.names()
                 if "progress" in galton.aggregator.parameters(galton.aggregator.get(n))]


@pytest.mark.parametrize("name", _TRUE_OR_NONE)
def test_progress_given_text_is_refused(name: str, capsys: pytest.CaptureFixture) -> None:
    """progress defaults to None (a terminal decides), so check_flags skipped it: progress="no",
    "off" or "false" drew the bar, as any non-empty text is true (bug hunt). Now text is refused,
    naming the parameter and what it takes; None, 0, 1 and numpy's booleans are taken."""
    kind = getattr(galton.aggregator.get(name), "kind", "categorical")
    data = {"rating": RATINGS, "pairwise": PAIRS}.get(kind, CAT)
    if kind not in ("categorical", "rating", "pairwise"):
        pytest.skip(f"{kind} data")
    for value in ("no", "off", "false"):
        with pytest.raises(TypeError, match=f"^progress must be True, False or None, not {value!r}$"):
            galton.aggregator.create(name, progress=value).fit(data)
    capsys.readouterr()
    assert galton.aggregator.create(name, progress=np.False_).fit(data).progress is np.False_
    assert capsys.readouterr().err == ""  # no bar


def test_glad_progress_no_draws_no_bar(capsys: pytest.CaptureFixture) -> None:
    """The hunt's case: GLAD(progress="no") drew ~2 KB of bar to a non-terminal stderr for a fit
    of a few seconds; progress=False draws nothing, and "no" is now refused before any work."""
    with pytest.raises(TypeError, match="progress must be True, False or None, not 'no'"):
        galton.GLAD(progress="no", tol=-1.0, max_iter=3).fit(CAT)
    galton.GLAD(progress=0, tol=-1.0, max_iter=3).fit(CAT)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", ["DawidSkene", "OneCoinDawidSkene", "GLAD", "MMSR", "MACE", "ZeroBasedSkill",
                                  "BayesianDawidSkene", "EBCC", "BWA"])
def test_n_iter_and_max_iter_set_to_different_values_are_refused(name: str) -> None:
    """n_iter (crowd-kit's name) and max_iter are one limit: DawidSkene(n_iter=2, max_iter=50) ran 50
    iterations without a word, and so did ``m.n_iter = 2`` on a model built with max_iter=50 (bug
    hunt). max_iter beside the default n_iter, or equal to it, sets the limit as before."""
    cls = getattr(galton, name)
    extra = {"n_restarts": 1} if name == "MACE" else {}
    with pytest.raises(ValueError, match=rf"{name}: n_iter=2 and max_iter=50 set the one iteration limit.*give one"):
        cls(n_iter=2, max_iter=50, tol=-np.inf, **extra).fit(CAT)
    late = cls(max_iter=50, tol=-np.inf, **extra)
    late.n_iter = 2
    with pytest.raises(ValueError, match="n_iter=2 and max_iter=50"):
        late.fit(CAT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert cls(max_iter=3, tol=-np.inf, **extra).fit(CAT).n_iter_ == 3  # the default n_iter: max_iter sets it
        assert cls(n_iter=3, max_iter=3, tol=-np.inf, **extra).fit(CAT).n_iter_ == 3
        assert cls(n_iter=3, tol=-np.inf, **extra).fit(CAT).n_iter_ == 3


def test_a_randomstate_is_taken_on_every_numpy() -> None:
    """numpy 1.24 (the declared minimum) has ``default_rng`` refuse a RandomState, so every model
    refused ``random_state=np.random.RandomState(0)`` there; numpy 1.25 on wraps its bit generator.
    The generator draws the RandomState's own MT19937 stream (numpy 2's draws) and moves its state on,
    and a fit given one is the fit given a Generator over that bit generator."""
    from galton.aggregator._params import check_random_state

    rs = np.random.RandomState(7)
    before = rs.get_state()[1].copy()
    assert check_random_state(rs).integers(0, 2**31, 4).tolist() == [163870807, 488206946, 1674862860, 684987643]
    assert not np.array_equal(rs.get_state()[1], before)  # one stream, shared
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for make in (galton.MMSR, galton.MACE):
            a = make(random_state=np.random.RandomState(0)).fit(CAT)
            b = make(random_state=np.random.Generator(np.random.RandomState(0)._bit_generator)).fit(CAT)
            pd.testing.assert_series_equal(a.labels_, b.labels_)
