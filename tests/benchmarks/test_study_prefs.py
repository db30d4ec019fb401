"""The preference study (crowd versus one expert ranker, Kendall tau): its estimators by hand, the
behaviour a correct study must show on simulated crowds of known quality, the study file and its
errors, the report through ``galton bench --study preferences``, and local-equals-Ray."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from galton.benchmarks import estimators as est
from galton.benchmarks.preferences import kendall_tau
from galton.benchmarks.study import Study, load_study, parse_study, run_study, with_options
from galton.benchmarks.study_prefs import PrefStudy, choices_to_pairs, prepare_pref_sources

LOW = {"name": "low", "reliability": [0.9, 1.0], "random": 0.0, "adversarial": 0.0}


def tiny(**changes) -> PrefStudy:
    """A small study: 30 prompts x 5 responses, 20 raters, local engine."""
    base = dict(name="tiny", seed=7, repeats=2, bootstrap=200, models=("bt",), k=(1, 5, 25), engine="local",
                simulation={"n_prompts": 30, "n_responses": 5, "n_workers": 20, "expert_tau": 0.6},
                levels=(LOW,))
    base.update(changes)
    return PrefStudy(**base)


def _curve(result, source: str, model: str) -> list[dict]:
    c = result.tables["curves"]
    return sorted((r for r in c.iter_rows(named=True) if r["source"] == source and r["model"] == model),
                  key=lambda r: r["k"])


# --------------------------------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------------------------------
def test_group_kendall_tau_by_hand_and_against_pair_counting() -> None:
    truth = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    got = est.group_kendall_tau(np.array([1.0, 2.0, 3.0, 3.0, 2.0, 1.0]), truth, 3)
    assert np.allclose(got, [1.0, -1.0])
    # one swapped pair of three: (2 concordant - 1 discordant) / 3; a tie counts 0 (tau-a)
    assert np.allclose(est.group_kendall_tau(np.array([2.0, 1.0, 3.0, 0.0, 0.0, 1.0]), truth, 3), [1 / 3, 2 / 3])
    assert np.allclose(est.group_kendall_tau(np.zeros(6), truth, 3), [0.0, 0.0])
    rng = np.random.default_rng(0)
    t = rng.normal(size=40)
    s = np.round(t + rng.normal(size=(3, 40)), 1)  # rounding makes ties
    got = est.group_kendall_tau(s, t, 8)
    assert got.shape == (3, 5)
    want = [[kendall_tau(s[r, g * 8:(g + 1) * 8], t[g * 8:(g + 1) * 8]) for g in range(5)] for r in range(3)]
    assert np.allclose(got, want)
    with pytest.raises(ValueError, match="group_size"):
        est.group_kendall_tau(s, t, 7)


def test_expected_tau_of_a_noisy_ranker() -> None:
    assert est.expected_tau(0.0) == 1.0
    assert math.isclose(est.expected_tau(1.0, 1.0), 2 / math.pi * math.asin(1 / math.sqrt(2)))  # = 0.5
    assert math.isclose(est.expected_tau(1.0, 1.0), 0.5)
    for tau in (0.3, 0.65, 0.9):
        assert math.isclose(est.expected_tau(est.noise_for_tau(tau, 2.0), 2.0), tau)
    rng = np.random.default_rng(1)  # Monte Carlo: 400 groups of 50 items
    theta = rng.normal(0, 2.0, 20_000)
    noisy = theta + rng.normal(0, est.noise_for_tau(0.7, 2.0), theta.size)
    assert abs(est.group_kendall_tau(noisy, theta, 50).mean() - 0.7) < 0.01
    with pytest.raises(ValueError, match="tau"):
        est.noise_for_tau(0.0)


def test_choices_broken_into_pairs_by_hand() -> None:
    options = np.array([[3, 1, 2], [5, 4, 6]])
    left, right, outcome, worker = choices_to_pairs(options, np.array([2, 4]), np.array([7, 9]))
    # in the order shown: (3, 2) and (1, 2) won by the right item; (5, 4) right; (4, 6) left
    assert left.tolist() == [3, 1, 5, 4] and right.tolist() == [2, 2, 4, 6]
    assert outcome.tolist() == [0.0, 0.0, 0.0, 1.0] and worker.tolist() == [7, 7, 9, 9]
    with pytest.raises(ValueError, match="one of its row"):
        choices_to_pairs(options, np.array([8, 4]), np.array([0, 0]))


Z95 = 1.959963984540054  # the two-sided 95% normal quantile


def test_a_tau_without_discordant_pair_has_a_wilson_floor_not_a_point() -> None:
    """Bug hunt: 10 prompts of 3 responses all ranked right gave every bootstrap replicate tau 1 and
    the interval [1, 1]. The floor is Wilson's interval of the concordant share (tau + 1) / 2 on
    P * 9 m (m - 1) / (2 (2 m + 5)) pairs (one over the null variance of Kendall's tau per prompt:
    1 pair at m = 2, 2.45 at m = 3, fewer than the 3 dependent pairs), mapped back to tau."""
    assert est.effective_pairs(2) == pytest.approx(1.0)
    assert est.effective_pairs(3) == pytest.approx(54 / 22)
    assert est.effective_pairs(np.array([3, 6])).tolist() == pytest.approx([54 / 22, 270 / 34])
    e = est.expert_bootstrap(np.ones(10), est.bootstrap_counts(10, 200, np.random.default_rng(0)))
    assert e.replicates.min() == 1.0  # the percentile interval alone: [1, 1]
    lo, hi = est.tau_interval(e.estimate[0], e.replicates[0], 10, 3, 0.95)
    n = 10 * 54 / 22
    assert lo == pytest.approx(2 * n / (n + Z95 ** 2) - 1) and hi == 1.0
    # a wider bootstrap interval is kept; nothing scored stays unknown
    lo, hi = est.tau_interval(np.array([0.2]), np.linspace(-0.9, 0.9, 1001)[None], np.array([200]), 6, 0.95)
    assert lo[0] < -0.85 and hi[0] > 0.85
    lo, hi = est.tau_interval(np.array([np.nan]), np.full((1, 3), np.nan), np.array([5]), 3, 0.95)
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_tau_intervals_keep_their_coverage_with_few_prompts() -> None:
    """Bug hunt: an expert of tau 0.95 on 10 prompts of 3 responses was covered by its stated 95%
    interval 55% of the time (44% of the intervals had width 0). 300 seeded studies per setting;
    with 60 prompts of 6 the floor must not make the interval much wider than the bootstrap's."""
    rng = np.random.default_rng(5)
    for P, m, tau in ((10, 3, 0.95), (60, 6, 0.65)):
        noise, cover, pct, widths = est.noise_for_tau(tau), [], [], []
        for _ in range(300):
            q = rng.normal(size=P * m)
            e = est.expert_bootstrap(est.group_kendall_tau(q + rng.normal(scale=noise, size=P * m), q, m),
                                     est.bootstrap_counts(P, 200, rng))
            lo, hi = est.tau_interval(e.estimate[0], e.replicates[0], P, m, 0.95)
            p_lo, p_hi = est.percentile_interval(e.replicates[0], 0.95)
            cover.append(lo <= tau <= hi)
            pct.append(p_lo <= tau <= p_hi)
            widths.append((hi - lo) / max(p_hi - p_lo, 1e-12))
        assert np.mean(cover) >= 0.93, (P, m, tau, np.mean(cover), np.mean(pct))
        if P == 10:
            assert np.mean(pct) < 0.7  # what the study reported before
        else:
            assert np.median(widths) < 1.35, np.median(widths)


def test_one_prompt_still_gives_the_expert_an_interval_around_its_expected_tau() -> None:
    """Bug hunt: with n_prompts = 1 the bootstrap over one prompt has no spread, and the experts
    table read tau 0.792 [0.792, 0.792] for a stated 0.75; the crowd-equivalent's difference band
    was as thin. The floor (40 responses: 82.6 effective pairs) gives a real interval."""
    res = run_study(tiny(seed=1, repeats=3, k=(1, 5, 20), simulation={
        "n_prompts": 1, "n_responses": 40, "n_workers": 30, "expert_tau": 0.75}), progress=False)
    ex = res.tables["experts"].row(0, named=True)
    assert ex["ci_low"] < 0.75 < ex["ci_high"] and ex["ci_high"] - ex["ci_low"] > 0.1, ex
    for r in res.tables["curves"].iter_rows(named=True):
        assert r["ci_high"] - r["ci_low"] > 0.05, r
    ce = res.tables["crowd_equivalent"].row(0, named=True)
    assert ce["k_low"] is not None and (ce["k_high"] is None or ce["k_low"] < ce["k_high"]), ce


# --------------------------------------------------------------------------------------------------
# the study on crowds of known quality
# --------------------------------------------------------------------------------------------------
def test_expert_tau_is_recovered_for_a_stated_noise() -> None:
    for stated in ({"expert_tau": 0.6}, {"expert_noise": 0.5}):
        study = tiny(simulation={"n_prompts": 400, "n_responses": 6, "n_workers": 10, **stated}, k=(1,))
        src = prepare_pref_sources(study)[0]
        want = stated.get("expert_tau") or est.expected_tau(0.5)
        tau = est.group_kendall_tau(src.expert, src.quality, 6)
        assert abs(tau.mean() - want) < 3 * tau.std() / math.sqrt(tau.size), (tau.mean(), want)
        assert math.isclose(src.config["expert_tau"], want)


def test_tau_grows_with_k_and_crowd_equivalents_bracket_the_expert() -> None:
    """Low disagreement: tau rises with k; an expert of tau 0.05 is matched at k = 1, one of
    0.99 never; the expert table holds the expert's own per-prompt tau."""
    study = tiny(models=("bt", "crowd_bt"), grid={"expert_tau": [0.05, 0.99]})
    res = run_study(study, progress=False)
    for src in res.meta["sources"]:
        for model in ("bt", "crowd_bt"):
            c = _curve(res, src, model)
            taus = [r["tau"] for r in c]
            assert taus[0] < taus[1] < taus[2] and taus[2] - taus[0] > 0.3, taus
            assert all(r["ci_low"] <= r["tau"] <= r["ci_high"] for r in c)
    ce = {(r["source"], r["model"]): r for r in res.tables["crowd_equivalent"].iter_rows(named=True)}
    easy, hard = res.meta["sources"]
    assert ce[(easy, "bt")]["k_equivalent"] == 1 and ce[(easy, "bt")]["status"] == "reached"
    assert ce[(hard, "bt")]["k_equivalent"] is None and ce[(hard, "bt")]["status"] == "not reached"
    src = prepare_pref_sources(study)[0]
    ex = res.tables["experts"].row(0, named=True)
    assert math.isclose(ex["tau"], est.group_kendall_tau(src.expert, src.quality, 5).mean())


def test_perfect_raters_reach_tau_near_one_random_raters_zero_adversaries_reversed() -> None:
    sim = {"n_prompts": 40, "n_responses": 4, "n_workers": 10, "quality_sd": 2.0}
    perfect = {"name": "perfect", "reliability": [1.0, 1.0], "random": 0.0, "adversarial": 0.0}
    res = run_study(tiny(levels=(perfect,), k=(1000,), repeats=1, simulation=sim), progress=False)
    row = res.tables["curves"].row(0, named=True)
    assert row["tau"] > 0.93 and row["ci_high"] > 0.97, row  # only near-ties of theta stay uncertain
    levels = ({"name": "random", "random": 1.0, "adversarial": 0.0},
              {"name": "adversarial", "random": 0.0, "adversarial": 1.0, "reliability": [1.0, 1.0]})
    res = run_study(tiny(levels=levels, k=(50,), repeats=1, simulation=sim), progress=False)
    tau = {r["level"]: r for r in res.tables["curves"].iter_rows(named=True)}
    assert tau["random"]["ci_low"] < 0 < tau["random"]["ci_high"] and abs(tau["random"]["tau"]) < 0.15
    assert tau["adversarial"]["tau"] < -0.8  # they prefer the worse item: the order comes out reversed


def test_best_of_n_with_plackett_luce_and_pairwise_models() -> None:
    study = tiny(models=("plackett_luce", "bt", "noisy_bt"), grid={"collection": ["pairwise", "best_of_n"]},
                 k=(2, 20))
    res = run_study(study, progress=False)
    runs = {(r["source"], r["model"]): r for r in res.tables["runs"].iter_rows(named=True)}
    pair, bon = res.meta["sources"]
    assert runs[(pair, "plackett_luce")]["fits"] == 0 and "not fitted" in runs[(pair, "plackett_luce")]["error"]
    assert runs[(bon, "plackett_luce")]["fits"] == 4 and runs[(bon, "bt")]["fits"] == 4
    for model in ("plackett_luce", "bt", "noisy_bt"):
        c = _curve(res, bon, model)
        assert c[1]["tau"] > c[0]["tau"] + 0.2 and c[1]["tau"] > 0.5, (model, c)
        assert c[0]["judgments"] == round(2 * 150 / 5)  # best of all 5: k * items / 5 choices
    assert _curve(res, pair, "bt")[0]["judgments"] == 2 * 150 // 2


# --------------------------------------------------------------------------------------------------
# study files, options and errors
# --------------------------------------------------------------------------------------------------
def test_shipped_study_file_and_options() -> None:
    s = load_study("preferences")
    assert isinstance(s, PrefStudy) and s.kind == "preference"
    assert [lv["name"] for lv in s.levels] == ["low", "medium", "high"]
    assert len(s.points()) == 6 and set(s.grid["collection"]) == {"pairwise", "best_of_n"}
    again = s.replace()  # the study written back to TOML (the comments are lost) reads the same
    assert PrefStudy.from_toml(again.text) == again and again.levels == s.levels and again.grid == s.grid
    t = with_options(s, models=("bt",), k=(1, 2), repeats=2)
    assert t.models == ("bt",) and t.k == (1, 2) and "repeats = 2" in t.text
    with pytest.raises(ValueError, match="preference study"):
        with_options(s, datasets=["act_cf"])
    with pytest.raises(ValueError, match="tie-break"):
        with_options(s, tie_break="low")
    assert isinstance(load_study(), Study)  # the default study stays categorical


@pytest.mark.parametrize("text, message", [
    ("[study]\nkind = 'ranking'\n", "kind must be"),
    ("[study]\nkind = 'preference'\n[simulation]\nn_prompt = 3\n", "unknown \\[simulation\\] key"),
    ("[study]\nkind = 'preference'\n[simulation.grid]\ncollection = ['triples']\n", "collection must be"),
    ("[study]\nkind = 'preference'\n[[simulation.level]]\nreliability = [0.4, 1.0]\n", "needs a name"),
    ("[study]\nkind = 'preference'\n[[simulation.level]]\nname = 'x'\nreliability = [0.4, 1.0]\n",
     "reliability must be"),
    ("[study]\nkind = 'preference'\n[simulation]\nexpert_tau = 0.7\nexpert_noise = 0.3\n", "not both"),
    ("[study]\nkind = 'preference'\nmodels = ['mv']\n", "pairwise or choice"),
    ("[study]\nkind = 'preference'\nmodels = ['bt']\ntie_break = 'low'\n", "unknown \\[study\\] key"),
    ("[study]\nkind = 'preference'\n[datasets]\nnames = ['act_cf']\n", "unknown table \\[datasets\\] in a preference"),
    ("kind = 'preference'\nmodels = ['bt']\n", "has the keys kind, models at its top level, outside every table; "
     "a study's settings go in its \\[study\\] table"),  # called "unknown table(s) ['kind', 'models']"
])
def test_bad_study_files_give_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_study(path)
    assert "bad.toml" in str(info.value)


def test_cli_bench_study_preferences_writes_the_report(tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib")
    from galton.cli import main

    out = tmp_path / "report"
    argv = ["bench", "--study", "preferences", "--models", "bt,plackett_luce", "--k", "1,3", "--repeats", "2",
            "--bootstrap", "50", "--engine", "local", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "crowd-equivalent" in printed and "low-pairwise" in printed
    page = (out / "index.html").read_text()
    assert "Kendall tau" in page and "expert ranker" in page and "high-best_of_n" in page
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert "crowd_equivalent.png" in plots and sum(p.startswith("curve_") for p in plots) == 6
    assert sum(p.startswith("sweep_") for p in plots) == 2
    for name in ("curves", "experts", "crowd_equivalent", "sources", "runs"):
        assert (out / "tables" / f"{name}.parquet").exists() and (out / "tables" / f"{name}.md").exists()
    assert main(["bench", "preferences", "--tie-break", "low", "--out", str(tmp_path / "x")]) == 2
    assert "tie-break" in capsys.readouterr().err
    assert main(["bench", "sheng", "--study", "preferences", "--out", str(tmp_path / "x")]) == 2


def test_the_study_as_run_names_the_engine_it_ran_on() -> None:
    """Bug hunt: with engine = "ray" in the study and engine="local" given, the result's study (the report's
    study.toml) still said ray; meta said local."""
    res = run_study(tiny(engine="ray", k=(1,), repeats=1, bootstrap=20), engine="local", progress=False)
    assert res.meta["engine"] == "local" and res.study.engine == "local"
    assert 'engine = "local"' in res.study.text


def test_parse_study_dispatches_on_kind() -> None:
    assert isinstance(parse_study({"study": {"kind": "preference", "models": ["bt"]}}), PrefStudy)
    assert isinstance(parse_study({"datasets": {"names": ["act_cf"]}}), Study)


# --------------------------------------------------------------------------------------------------
# Ray: the same results as in-process
# --------------------------------------------------------------------------------------------------
# (the ray_local fixture: tests/benchmarks/conftest.py)
def test_preference_study_on_ray_equals_local(ray_local) -> None:
    study = tiny(models=("bt", "noisy_bt", "plackett_luce"), k=(1, 4), engine="ray", bootstrap=50,
                 levels=(LOW, {"name": "high", "reliability": [0.6, 0.9], "random": 0.2, "adversarial": 0.1}),
                 grid={"collection": ["pairwise", "best_of_n"]})
    on_ray = run_study(study, progress=False)
    local = run_study(study, engine="local", progress=False)
    assert on_ray.meta["engine"] == "ray" and local.meta["engine"] == "local"
    for name in ("curves", "experts", "crowd_equivalent", "sources"):
        assert on_ray.tables[name].equals(local.tables[name]), name
    assert on_ray.tables["curves"].height == 2 * 2 * 2 + 2 * 3 * 2  # pairwise: bt, noisy_bt; best-of-n: 3
