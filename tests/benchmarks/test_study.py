"""The crowd-versus-expert study: its estimators on constructed cases with known answers, the
published figures it must reproduce (Sheng et al. 2008 from a study run, Snow et al. 2008 on RTE),
and local-equals-Ray."""

from __future__ import annotations

import math

import numpy as np
import pytest

from galton import datasets
from galton.benchmarks import estimators as est
from galton.benchmarks.study import Study, load_study, parse_k, prepare_dataset, resolve_models, run_study, with_options

SHARED_REASON = "../shared/datasets not found; these tests run in CI"


# --------------------------------------------------------------------------------------------------
# sampling k judgments
# --------------------------------------------------------------------------------------------------
def test_subsample_keeps_min_k_n_distinct_judgments_of_each_task() -> None:
    rng = np.random.default_rng(0)
    counts = np.array([1, 4, 7, 2, 10])
    task = np.repeat(np.arange(5), counts)
    task = task[rng.permutation(task.size)]  # rows in any order
    for k in (1, 3, 7, 12):
        sel = est.subsample(task, 5, k, np.random.default_rng(k))
        assert np.array_equal(np.bincount(task[sel], minlength=5), np.minimum(counts, k))
        assert np.unique(sel).size == sel.size
    a = est.subsample(task, 5, 3, np.random.default_rng(1))
    b = est.subsample(task, 5, 3, np.random.default_rng(2))
    assert not np.array_equal(a, b)  # the draw depends on the seed
    # every judgment of a task is equally likely to be kept
    hits = np.zeros(task.size)
    for s in range(2000):
        hits[est.subsample(task, 5, 3, np.random.default_rng(100 + s))] += 1
    big = task == 4  # 10 judgments, 3 kept: 0.3 each
    assert np.allclose(hits[big] / 2000, 0.3, atol=0.05)


# --------------------------------------------------------------------------------------------------
# leave-one-out expert scoring
# --------------------------------------------------------------------------------------------------
LABELS = np.array([[0, 1, 2, 0],
                   [0, 1, 1, -1],
                   [0, 2, 1, 1]])


def test_leave_one_out_scores_by_hand_with_split_ties() -> None:
    out = est.leave_one_out(LABELS, 3, "split")
    scores = [s for _, s, _ in out]
    # expert 0 against (1, 2): t0 (0,0)->0 right; t1 (1,2) tie, answered 1 -> 1/2; t2 (1,1) -> 1,
    # answered 2 -> 0; t3 only expert 2 (1), answered 0 -> 0
    assert np.allclose(scores[0], [1.0, 0.5, 0.0, 0.0])
    # expert 1 against (0, 2): t1 tie (1,2) -> 1/2; t2 tie (2,1) -> 1/2; t3 not answered
    assert np.allclose(scores[1][:3], [1.0, 0.5, 0.5]) and math.isnan(scores[1][3])
    # expert 2 against (0, 1): t1 (1,1) answered 2 -> 0; t2 tie (2,1) -> 1/2; t3 only expert 0 (0)
    assert np.allclose(scores[2], [1.0, 0.0, 0.5, 0.0])
    credit0, _, tied0 = out[0]
    assert np.allclose(credit0[1], [0.0, 0.5, 0.5]) and tied0.tolist() == [False, True, False, False]


def test_leave_one_out_low_and_random_tie_rules() -> None:
    low = [s for _, s, _ in est.leave_one_out(LABELS, 3, "low")]
    assert np.allclose(low[0], [1.0, 1.0, 0.0, 0.0])  # t1 tie (1,2) -> 1, expert 0 said 1
    assert np.allclose(low[2], [1.0, 0.0, 1.0, 0.0])  # t2 tie (2,1) -> 1, expert 2 said 1
    rnd = [np.stack([est.leave_one_out(LABELS, 3, "random", np.random.default_rng(s))[0][1]
                     for s in range(400)])]
    assert set(np.unique(rnd[0][:, 1])) == {0.0, 1.0}  # both tied labels get picked
    assert abs(rnd[0][:, 1].mean() - 0.5) < 0.08  # ... uniformly: "split" is its expectation


def test_leave_one_out_reference_never_holds_the_experts_own_vote() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=(5, 200))
    base = est.leave_one_out(labels, 3)
    for e in range(5):
        changed = labels.copy()
        changed[e] = (changed[e] + 1) % 3  # the expert changes every answer
        credit, score, _ = est.leave_one_out(changed, 3)[e]
        assert np.array_equal(credit, base[e][0])  # its reference does not move
        assert not np.array_equal(score, base[e][1])


def _expert_study(labels: list[list[int]], gold: list[int], monkeypatch):
    """A study of one source: 8 tasks judged by four always-right crowd workers, designated experts
    ``labels`` (E0, E1, ...; -1: no answer), no best annotator."""
    from galton.benchmarks import study as study_mod
    from galton.benchmarks._sources import Source

    g = np.asarray(gold, dtype=np.int32)
    task, worker = np.repeat(np.arange(8), 4).astype(np.int32), np.tile(np.arange(4), 8).astype(np.int32)
    src = Source(name="toy", kind="dataset", origin="bundled", params={}, seed_key=1, task=task, worker=worker,
                 label=g[task], n_tasks=8, n_workers=4, n_labels=2, n_codes=2, label_names=[0, 1], gold=g,
                 expert_labels=np.asarray(labels, dtype=np.int32), expert_names=[f"E{i}" for i in range(len(labels))])
    study = Study(datasets=("toy",), models=("mv",), k=(1, 2), repeats=2, bootstrap=20, best_annotators=0,
                  engine="local")
    monkeypatch.setattr(study_mod, "prepare_sources", lambda s: ([src], []))
    return run_study(study, progress=False)


def test_experts_whose_majority_is_not_gold_are_scored_against_gold_and_averaged_where_they_answered(
        monkeypatch) -> None:
    """Bug hunt: with three designated experts on overlapping tasks and no task judged by all three, the
    experts were scored leave-one-out (the methods say: only when gold is the experts' own majority) and
    their mean, taken on the tasks every expert was scored on, had no task: the verdict fell back to the
    best annotator. Here gold is not their majority (task 4: E1 alone says 1, gold 0), so each expert is
    scored against gold, and their mean averages on each task the experts who answered it."""
    from galton.benchmarks._verdict import verdict_rows

    gold = [0, 1, 0, 1, 0, 1, 0, 1]
    labels = [[0, 1, 0, 0, -1, -1, -1, -1],   # right 1, 1, 1, 0
              [-1, -1, 1, 1, 1, 1, -1, -1],   # right 0, 1, 0, 1
              [0, -1, -1, -1, -1, 0, 0, 1]]   # right 1, 0, 1, 1
    result = _expert_study(labels, gold, monkeypatch)
    ex = {r["expert"]: r for r in result.tables["experts"].iter_rows(named=True)}
    assert sorted(ex) == ["expert E0", "expert E1", "expert E2", "experts (mean)"]
    assert {r["kind"] for r in ex.values()} == {"designated"} and {r["reference"] for r in ex.values()} == {"gold"}
    assert [ex[f"expert E{i}"]["accuracy"] for i in range(3)] == [0.75, 0.5, 0.75]
    assert [ex[f"expert E{i}"]["n_tasks"] for i in range(3)] == [4, 4, 4]
    # per task, the mean of the experts who answered: 1, 1, 1/2, 1/2, 0, 1/2, 1, 1
    assert ex["experts (mean)"]["n_tasks"] == 8 and ex["experts (mean)"]["accuracy"] == pytest.approx(5.5 / 8)
    row = verdict_rows(result.tables, ["toy"])[0]
    assert row["expert"] == "experts (mean)" and row["reference"] == "gold"
    assert row["expert_accuracy"] == pytest.approx(5.5 / 8) and row["crowd"] == 1.0
    assert set(result.tables["curves"]["reference"]) == {"gold"}
    assert result.tables["sources"]["unscored_experts"].to_list() == [""]
    from galton.benchmarks.report import METHODS

    assert "Otherwise each is scored against gold on its gold tasks" in " ".join(METHODS.split())


def test_experts_whose_majority_is_gold_are_scored_leave_one_out_where_another_expert_answered(
        monkeypatch) -> None:
    """Gold is the experts' own majority on every task they answered: leave-one-out, as the methods say.
    No task has all four experts; the mean takes, on each task, the experts scored there (another expert
    answered it), and E3, who shares no task with another expert, is left out and named with the reason."""
    from galton.benchmarks.report import categorical_page

    gold = [0, 1, 0, 1, 0, 1, 1, 0]
    labels = [[0, 1, 0, 1, 0, 1, -1, -1],
              [0, 1, 1, 1, 0, 1, -1, -1],
              [0, 0, 0, 1, -1, -1, 1, -1],
              [-1, -1, -1, -1, -1, -1, -1, 0]]
    result = _expert_study(labels, gold, monkeypatch)
    ex = {r["expert"]: r for r in result.tables["experts"].iter_rows(named=True)}
    assert sorted(ex) == ["expert E0", "expert E1", "expert E2", "experts (mean)"]
    assert {r["kind"] for r in ex.values()} == {"designated (leave-one-out)"}
    # by hand, split ties: E0 1, .5, .5, 1, 1, 1; E1 1, .5, 0, 1, 1, 1; E2 1, 0, .5, 1 (task 6: no one else)
    assert [ex[f"expert E{i}"]["accuracy"] for i in range(3)] == pytest.approx([5 / 6, 4.5 / 6, 2.5 / 4])
    # mean per task over the experts scored there: 1, 1/3, 1/3, 1, 1, 1 on tasks 0-5
    assert ex["experts (mean)"]["n_tasks"] == 6 and ex["experts (mean)"]["accuracy"] == pytest.approx(14 / 18)
    loo = result.tables["curves"].filter(result.tables["curves"]["reference"] == "experts_loo")
    # the always-right crowd against the mean reference: task 1's is 1/3 label 0, 2/3 label 1 (E0's and E1's
    # references tie, E2's is 1), task 2's 2/3 label 0: (1 + 2/3 + 2/3 + 1 + 1 + 1) / 6
    assert loo["accuracy"].to_list() == pytest.approx([16 / 18] * 2) and loo["n_tasks"].to_list() == [6, 6]
    unscored = "expert E3 (no task that another expert also answered: leave-one-out has no reference)"
    assert result.tables["sources"]["unscored_experts"].to_list() == [unscored]
    page = categorical_page(result, {})
    assert "Experts not scored: toy: " + unscored in page


# --------------------------------------------------------------------------------------------------
# best annotators chosen on one half, scored on the other
# --------------------------------------------------------------------------------------------------
def _crowd(seed: int, n_tasks: int = 200, n_workers: int = 12, per_task: int = 6):
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 2, n_tasks).astype(np.int32)
    acc = np.linspace(0.55, 0.95, n_workers)
    task = np.repeat(np.arange(n_tasks), per_task).astype(np.int32)
    worker = np.concatenate([rng.choice(n_workers, per_task, replace=False) for _ in range(n_tasks)]).astype(np.int32)
    label = np.where(rng.random(task.size) < acc[worker], gold[task], 1 - gold[task]).astype(np.int32)
    return task, worker, label, gold


def test_split_half_never_reads_the_scoring_half() -> None:
    task, worker, label, gold = _crowd(0)
    sel = est.split_half(task, worker, label, gold, 12, np.random.default_rng(5), n_best=3, min_tasks=20)
    assert np.intersect1d(sel.choose_tasks, sel.score_tasks).size == 0
    assert np.array_equal(np.union1d(sel.choose_tasks, sel.score_tasks), np.flatnonzero(gold >= 0))
    assert np.isnan(sel.scores[:, sel.choose_tasks]).all()  # scored on the other half only
    # flip every answer on the scoring half: the choice is unchanged, the scores are not
    flip = np.isin(task, sel.score_tasks)
    label2 = np.where(flip, 1 - label, label).astype(np.int32)
    sel2 = est.split_half(task, worker, label2, gold, 12, np.random.default_rng(5), n_best=3, min_tasks=20)
    assert np.array_equal(sel.workers, sel2.workers)
    assert np.array_equal(sel.selection_accuracy, sel2.selection_accuracy)
    both = ~np.isnan(sel.scores)
    assert np.allclose(sel2.scores[both], 1.0 - sel.scores[both])


def test_split_half_known_answer_and_min_tasks() -> None:
    """Worker 0 is perfect on the choosing half and always wrong on the scoring half; worker 1
    is perfect everywhere but judged too few tasks to be eligible."""
    n = 100
    gold = (np.arange(n) % 2).astype(np.int32)
    rng = np.random.default_rng(7)
    perm = rng.permutation(np.arange(n))  # what split_half draws with the same seed
    choose = np.sort(perm[: n // 2])
    t0 = np.arange(n)
    l0 = np.where(np.isin(t0, choose), gold, 1 - gold)
    t1 = choose[:5]  # 5 tasks < min_tasks
    t2 = np.arange(n)
    l2 = np.where(np.arange(n) % 4 == 0, 1 - gold, gold)  # 75% everywhere
    task = np.concatenate([t0, t1, t2]).astype(np.int32)
    worker = np.repeat([0, 1, 2], [n, 5, n]).astype(np.int32)
    label = np.concatenate([l0, gold[t1], l2]).astype(np.int32)
    sel = est.split_half(task, worker, label, gold, 3, np.random.default_rng(7), n_best=2, min_tasks=10)
    assert sel.workers.tolist() == [0, 2]
    assert sel.selection_accuracy[0] == 1.0 and sel.selection_tasks[0] == 50
    assert np.nanmean(sel.scores[0]) == 0.0  # held out, the "best" annotator is always wrong
    post = est.post_hoc_best(task, worker, label, gold, 3, min_tasks=10)
    assert post.workers.tolist() == [2] and post.selection_accuracy[0] == 0.75


# --------------------------------------------------------------------------------------------------
# bootstrap
# --------------------------------------------------------------------------------------------------
def test_curve_bootstrap_equals_explicit_resampling() -> None:
    rng = np.random.default_rng(11)
    credit = rng.random((3, 4, 30))
    mask = rng.random((3, 30)) < 0.8
    idx_t = rng.integers(0, 30, size=(50, 30))
    idx_r = rng.integers(0, 4, size=(50, 4))
    tw = np.stack([np.bincount(i, minlength=30) for i in idx_t]).astype(float)
    rw = np.stack([np.bincount(i, minlength=4) for i in idx_r]).astype(float)
    cb = est.curve_bootstrap(credit, tw, rw, mask)
    for b in range(50):
        c = credit[:, idx_r[b]][:, :, idx_t[b]]  # (nk, R, T) resampled
        m = mask[:, idx_t[b]]
        want = (c * m[:, None, :]).sum(axis=(1, 2)) / (4 * m.sum(axis=1))
        assert np.allclose(cb.replicates[:, b], want)
    want0 = (credit * mask[:, None]).sum(axis=(1, 2)) / (4 * mask.sum(axis=1))
    assert np.allclose(cb.estimate, want0)
    eb = est.expert_bootstrap(credit[0, 0], tw, mask, 3)
    assert np.allclose(eb.replicates[1, 7], (credit[0, 0][idx_t[7]] * mask[1, idx_t[7]]).sum() / mask[1, idx_t[7]].sum())


def _interval(n_tasks: int, seed: int, repeats: int = 4, n_boot: int = 300) -> tuple[float, float, float]:
    """A crowd whose task difficulty varies: task t is right with probability q_t in {0.95, 0.45}
    (half each), so the true accuracy is 0.70."""
    rng = np.random.default_rng(seed)
    q = np.where(rng.random(n_tasks) < 0.5, 0.95, 0.45)
    credit = (rng.random((1, repeats, n_tasks)) < q).astype(float)
    cb = est.curve_bootstrap(credit, est.bootstrap_counts(n_tasks, n_boot, rng),
                             est.bootstrap_counts(repeats, n_boot, rng))
    lo, hi = est.percentile_interval(cb.replicates, 0.95)
    return float(cb.estimate[0]), float(lo[0]), float(hi[0])


def test_bootstrap_interval_covers_the_truth_and_shrinks_like_one_over_sqrt_n() -> None:
    small = [_interval(100, s) for s in range(100)]
    cover = np.mean([lo <= 0.70 <= hi for _, lo, hi in small])
    assert 0.90 <= cover <= 1.0
    w_small = np.mean([hi - lo for _, lo, hi in small])
    w_big = np.mean([hi - lo for _, lo, hi in (_interval(400, 1000 + s) for s in range(30))])
    assert 1.7 <= w_small / w_big <= 2.3  # 4x the tasks: half the width
    # the width is that of the task sampling: sd of the mean = sqrt(var(q)/T + mean q(1-q)/(RT))
    sd = math.sqrt(0.0625 / 100 + (0.5 * 0.95 * 0.05 + 0.5 * 0.45 * 0.55) / 400)
    assert 0.85 * 3.92 * sd <= w_small <= 1.35 * 3.92 * sd


Z95 = 1.959963984540054  # the two-sided 95% normal quantile


def test_an_accuracy_without_error_has_the_wilson_interval_not_a_point() -> None:
    """Bug hunt: the percentile bootstrap gave an expert right on 30 of 30 tasks the interval
    [1.000, 1.000]; the interval is never narrower than the Wilson score interval on the scored
    tasks: 30 of 30 gives [30 / (30 + z^2), 1] = [0.886, 1]."""
    tw = est.bootstrap_counts(30, 200, np.random.default_rng(0))
    e = est.expert_bootstrap(np.ones(30), tw)
    assert e.replicates.min() == 1.0  # every replicate: the percentile interval is [1, 1]
    lo, hi = est.proportion_interval(e.estimate[0], e.replicates[0], 30, 0.95)
    assert lo == pytest.approx(30 / (30 + Z95 ** 2)) and hi == 1.0
    # 27 of 30 (0.9): Wilson's [0.744, 0.965], by its formula; the bootstrap is narrower here
    p, n = 0.9, 30
    centre, half = p + Z95 ** 2 / (2 * n), Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n))
    lo, hi = est.proportion_interval(np.array([p]), np.full((1, 5), p), np.array([n]), 0.95)
    assert lo[0] == pytest.approx((centre - half) / (1 + Z95 ** 2 / n))
    assert hi[0] == pytest.approx((centre + half) / (1 + Z95 ** 2 / n))
    lo, hi = est.proportion_interval(np.array([p]), np.linspace(0.5, 0.99, 1001)[None], np.array([n]), 0.95)
    assert lo[0] < 0.52 and hi[0] > 0.97  # a wider bootstrap interval is kept
    lo, hi = est.proportion_interval(np.array([np.nan]), np.full((1, 3), np.nan), np.array([0]), 0.95)
    assert np.isnan(lo[0]) and np.isnan(hi[0])  # nothing scored: unknown


def test_accuracy_intervals_keep_their_coverage_near_100_percent() -> None:
    """Bug hunt: a stated 95% covered a crowd of true accuracy 0.9914 on 60 tasks 37.5% of the
    time and an expert of 0.97 81.5%. Here: 300 studies each of a 0/1 expert (0.97) and of a crowd
    (0.99; its R = 3 repetitions use the same judgments, as at k = n_t) on 60 tasks."""
    rng = np.random.default_rng(1)
    cover: dict[str, list[bool]] = {"expert": [], "crowd": [], "expert_percentile": [], "crowd_percentile": []}
    for _ in range(300):
        tw, rw = est.bootstrap_counts(60, 200, rng), est.bootstrap_counts(3, 200, rng)
        e = est.expert_bootstrap((rng.random(60) < 0.97).astype(float), tw)
        lo, hi = est.proportion_interval(e.estimate[0], e.replicates[0], 60, 0.95)
        cover["expert"].append(lo <= 0.97 <= hi)
        p_lo, p_hi = est.percentile_interval(e.replicates[0], 0.95)
        cover["expert_percentile"].append(p_lo <= 0.97 <= p_hi)
        c = est.curve_bootstrap(np.repeat((rng.random((1, 1, 60)) < 0.99).astype(float), 3, axis=1), tw, rw)
        lo, hi = est.proportion_interval(c.estimate, c.replicates, np.array([60]), 0.95)
        cover["crowd"].append(lo[0] <= 0.99 <= hi[0])
        lo, hi = est.percentile_interval(c.replicates, 0.95)
        cover["crowd_percentile"].append(lo[0] <= 0.99 <= hi[0])
    # what the study reported before (0.84 and 0.47 here)
    assert np.mean(cover["expert_percentile"]) < 0.88 and np.mean(cover["crowd_percentile"]) < 0.6
    assert np.mean(cover["expert"]) >= 0.93 and np.mean(cover["crowd"]) >= 0.93, {
        a: np.mean(v) for a, v in cover.items()}


def test_a_difference_of_two_perfect_scores_is_a_band_around_zero() -> None:
    """A crowd and an expert both right on all 40 tasks: every paired replicate of the difference
    is 0 (the percentile band [0, 0] said "the crowd surely reaches the expert"); the MOVER band
    from the two Wilson intervals is [-(1 - l), 1 - l] with l = 40 / (40 + z^2)."""
    tw = est.bootstrap_counts(40, 200, np.random.default_rng(2))
    c = est.curve_bootstrap(np.ones((1, 2, 40)), tw, est.bootstrap_counts(2, 200, np.random.default_rng(3)))
    e = est.expert_bootstrap(np.ones(40), tw)
    n = np.array([40])
    c_lo, c_hi = est.proportion_interval(c.estimate, c.replicates, n)
    e_lo, e_hi = est.proportion_interval(e.estimate, e.replicates, n)
    r = est.replicate_correlation(c.replicates, e.replicates)
    assert r[0] == 0.0  # neither varies
    d_lo, d_hi = est.difference_interval(c.replicates - e.replicates, (c.estimate, c_lo, c_hi),
                                         (e.estimate, e_lo, e_hi), r)
    half = 1 - 40 / (40 + Z95 ** 2)
    assert d_lo[0] == pytest.approx(-half) and d_hi[0] == pytest.approx(half)
    assert est.crowd_equivalent(np.array([5]), c.estimate - e.estimate, d_lo, d_hi) == (5, 5, None)
    # MOVER by hand with a correlation: a = 0.8 [0.7, 0.9], b = 0.6 [0.45, 0.7], r = 0.5
    lo, hi = est.difference_interval(np.full((1, 3), 0.2), (np.array([0.8]), np.array([0.7]), np.array([0.9])),
                                     (np.array([0.6]), np.array([0.45]), np.array([0.7])), np.array([0.5]))
    assert lo[0] == pytest.approx(0.2 - math.sqrt(0.1 ** 2 + 0.1 ** 2 - 0.5 * 2 * 0.1 * 0.1))
    assert hi[0] == pytest.approx(0.2 + math.sqrt(0.1 ** 2 + 0.15 ** 2 - 0.5 * 2 * 0.1 * 0.15))
    a = np.array([[1.0, 2.0, 3.0, np.nan]])
    assert est.replicate_correlation(a, 2 * a)[0] == pytest.approx(1.0)
    assert est.replicate_correlation(a, -a)[0] == pytest.approx(-1.0)


# --------------------------------------------------------------------------------------------------
# crowd-equivalent
# --------------------------------------------------------------------------------------------------
def test_crowd_equivalent_search() -> None:
    ks = np.array([1, 3, 5, 10])
    diff = np.array([-0.10, -0.05, 0.01, 0.02])
    lo = np.array([-0.20, -0.10, -0.03, 0.005])
    hi = np.array([0.00, 0.01, 0.05, 0.05])
    assert est.crowd_equivalent(ks, diff, lo, hi) == (5, 1, 10)
    # the lower band never reaches 0: an open upper bound
    assert est.crowd_equivalent(ks, diff, lo - 0.1, hi) == (5, 1, None)
    # never reached, but possible within the interval from k=10
    assert est.crowd_equivalent(ks, diff - 0.1, lo - 0.1, np.array([-1, -1, -0.01, 0.001])) == (None, 10, None)
    # not reached at all
    assert est.crowd_equivalent(ks, -np.ones(4), -np.ones(4), -np.ones(4) * 0.5) == (None, None, None)
    # equal accuracies reach; a band upper bound below the point is widened to contain it
    assert est.crowd_equivalent(ks, np.array([0.0, 1, 1, 1]), np.zeros(4) - 1, np.zeros(4) - 1) == (1, 1, None)
    with pytest.raises(ValueError, match="increasing"):
        est.crowd_equivalent(np.array([3, 1]), np.zeros(2), np.zeros(2), np.zeros(2))


# --------------------------------------------------------------------------------------------------
# study files
# --------------------------------------------------------------------------------------------------
def test_study_files_and_options() -> None:
    default = load_study()
    assert "imagenet_real_golden" in default.datasets and default.tie_break == "random"
    assert set(default.datasets) <= set(datasets.names())  # bundled data only
    sheng = load_study("sheng")
    assert sheng.simulation["accuracy_mean"] == 0.7 and 0.0 in sheng.grid["worker_correlation"]
    assert parse_k("1-3,5, 10") == (1, 2, 3, 5, 10)
    with pytest.raises(ValueError, match="k grid"):
        parse_k("a-b")
    s = with_options(sheng, datasets=["act_cf"], only_datasets=True, repeats=2)
    assert s.datasets == ("act_cf",) and not s.simulation and s.repeats == 2 and "repeats = 2" in s.text
    assert Study.from_toml(s.text) == s.replace()
    with pytest.raises(ValueError, match="unknown \\[study\\] key"):
        Study.from_toml("[study]\nrepeat = 3\n[datasets]\nnames = ['act_cf']\n")
    with pytest.raises(ValueError, match="the study file has the key models at its top level, outside every table; "
                       "a study's settings go in its \\[study\\] table: write \\[study\\] on the line above it"):
        Study.from_toml("models = ['mv']\n")  # it was "unknown table(s) ['models']"
    with pytest.raises(ValueError, match="unknown table \\[model\\] in the study file; use \\[study\\]"):
        Study.from_toml("[study]\nrepeats = 3\n[model]\nname = 'mv'\n")
    with pytest.raises(ValueError, match="CrowdConfig"):
        Study.from_toml("[simulation]\nn_task = 3\n")
    with pytest.raises(ValueError, match="needs gold"):
        resolve_models(["gold_mv"])
    from galton.aggregator import _registry

    assert resolve_models(["default", "mv", "MajorityVote"]) == [_registry.default_name(), "mv"]
    other = [m for m in _registry.names() if getattr(_registry.get(m), "kind", "categorical") != "categorical"]
    assert other  # the registry holds pairwise / choice / rating models
    for m in other:  # pairwise, choice and rating models are refused
        with pytest.raises(ValueError, match="categorical"):
            resolve_models([m])


def test_one_dataset_named_twice_is_one_source_or_refused() -> None:
    """Every table is keyed by the source's name: zheng_s_dog and shared:zheng_s_dog made two sources
    of one name, both scored with the last one's labels."""
    from galton.benchmarks._sources import _dataset_names

    assert _dataset_names(["act_cf", "act_cf"]) == ["act_cf"]
    with pytest.raises(ValueError, match="both named 'zheng_s_dog'"):
        _dataset_names(["zheng_s_dog", "shared:zheng_s_dog"])
    names = _dataset_names(["bundled", "shared:zheng_s_dog"])  # named on its own: as named
    assert "shared:zheng_s_dog" in names and "zheng_s_dog" not in names and len(names) == len(set(names))


def test_short_tasks_all_versus_exclude() -> None:
    """act_ms: 1 to 7 judgments per task; k_max = "max" keeps the grid up to 7."""
    base = Study(datasets=("act_ms",), models=("mv",), k=(1, 3, 7), k_max="max", repeats=2, bootstrap=50,
                 best_annotators=0, engine="local")
    counts = prepare_dataset("act_ms").counts
    n_ge = {k: int((counts >= k).sum()) for k in (1, 3, 7)}
    res_all = run_study(base, progress=False).tables["curves"]
    res_ex = run_study(base.replace(short_tasks="exclude"), progress=False).tables["curves"]
    assert res_all["n_tasks_full"].to_list() == [n_ge[1], n_ge[3], n_ge[7]]
    assert res_all["n_tasks"].to_list() == [700, 700, 700]
    assert res_ex["n_tasks"].to_list() == [n_ge[1], n_ge[3], n_ge[7]]
    assert res_all["accuracy"][0] == res_ex["accuracy"][0]  # every task has >= 1 judgment


def test_excluded_short_tasks_never_reach_an_expert_on_no_task() -> None:
    """short_tasks="exclude": worker 0 (always right) judges only tasks with 3 judgments, so at k=5
    none of its tasks is scored. That k is unknown (NaN, None in the tables), not 0 = 0 ("reached"),
    and the crowd-equivalent row gives the expert's accuracy of the experts table."""
    from galton.benchmarks._evaluate import evaluate_source, tables_from_rows
    from galton.benchmarks._sources import Source
    from galton.benchmarks.study import run_job

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 60).astype(np.int32)
    rows = []
    for t in range(60):
        ws = [0, *rng.choice(np.arange(1, 30), 2, replace=False)] if t < 40 else rng.choice(np.arange(1, 30), 5,
                                                                                             replace=False)
        rows += [(t, w, gold[t] if w == 0 or rng.random() < 0.6 else 1 - gold[t]) for w in ws]
    task, worker, label = (np.asarray(a, dtype=np.int32) for a in zip(*rows))
    src = Source(name="toy", kind="dataset", origin="bundled", params={}, seed_key=1, task=task, worker=worker,
                 label=label, n_tasks=60, n_workers=30, n_labels=2, n_codes=2, label_names=[0, 1], gold=gold)
    study = Study(datasets=("x",), models=("mv",), k=(1, 3, 5), k_max="max", short_tasks="exclude", repeats=2,
                  bootstrap=50, best_annotators=1, min_tasks=5, engine="local")
    ks = src.ks(study.k, study.k_max)
    t = tables_from_rows(evaluate_source(src, ks, {k: run_job(src, k, study) for k in ks}, ["mv"], study))
    ce = t["crowd_equivalent"].row(0, named=True)
    expert = t["experts"].filter(t["experts"]["expert"] == ce["expert"]).row(0, named=True)
    assert expert["accuracy"] == 1.0 and ce["expert_accuracy"] == expert["accuracy"]
    assert ce["k_equivalent"] is None and ce["status"] == "not reached"
    assert ce["crowd_accuracy_max_k"] is None and ce["crowd_accuracy_at_k"] is None
    m = np.array([[1.0, 0.0], [0.0, 0.0]], bool)  # nothing scored at the second k: NaN, never 0
    curve = est.curve_bootstrap(np.ones((2, 1, 2)), np.ones((3, 2)), np.ones((3, 1)), m)
    assert curve.estimate[0] == 1.0 and np.isnan(curve.estimate[1])
    assert np.isnan(est.expert_bootstrap(np.ones(2), np.ones((3, 2)), m, 2).estimate[1])


def test_the_crowd_never_holds_the_best_annotator_it_is_compared_with(monkeypatch) -> None:
    """Bug hunt: a best annotator's judgments stayed in the crowd it was compared with, on the very
    tasks it was scored on (zheng_s_dog, mv, k=10: the crowd scored 0.900 on them with the
    annotator's votes, 0.859 without; the annotator 0.897). Here worker 0 is always right and the
    two other judges of each task always wrong: a crowd of one judgment drawn from all three is
    right a third of the time, the crowd without worker 0 never."""
    from galton.benchmarks import _evaluate, study as study_mod
    from galton.benchmarks._sources import Source

    rng = np.random.default_rng(3)
    gold = rng.integers(0, 2, 60).astype(np.int32)
    rows = [(t, w, gold[t] if w == 0 else 1 - gold[t])
            for t in range(60) for w in (0, *rng.choice(np.arange(1, 20), 2, replace=False))]
    task, worker, label = (np.asarray(a, dtype=np.int32) for a in zip(*rows))
    src = Source(name="toy", kind="dataset", origin="bundled", params={}, seed_key=1, task=task, worker=worker,
                 label=label, n_tasks=60, n_workers=20, n_labels=2, n_codes=2, label_names=[0, 1], gold=gold)
    study = Study(datasets=("toy",), models=("mv",), k=(1,), repeats=20, bootstrap=50, best_annotators=1,
                  min_tasks=5, engine="local")
    as_was = study_mod.run_job(src, 1, study)["preds"][0]  # the source as prepared: worker 0 in the crowd
    assert 0.2 < (as_was == gold).mean() < 0.45
    monkeypatch.setattr(study_mod, "prepare_sources", lambda s: ([src], []))
    t = run_study(study, progress=False).tables
    best = t["crowd_equivalent"].filter(t["crowd_equivalent"]["expert"].str.starts_with("best #1")).row(0, named=True)
    assert best["expert"] == "best #1 (worker 0)" and best["expert_accuracy"] == 1.0
    assert best["crowd_accuracy_max_k"] == 0.0  # on the annotator's own tasks, without the annotator
    assert t["curves"]["accuracy"].to_list() == [0.0]  # the crowd on every gold task
    sources = t["sources"].row(0, named=True)
    assert sources["n_judgments"] == 120 and sources["best_annotator_judgments"] == 60
    assert sources["judgments_max"] == 2  # the crowd's judgments per task
    assert _evaluate.exclude_best(src, study).crowd_excluded == (0,)


def test_gold_tasks_only_the_best_annotators_judged_are_scored_for_no_one(monkeypatch) -> None:
    """Bug hunt (zheng_s_rel, zhou_web): a gold task judged only by a best annotator has no judgment once
    the annotator is out of the crowd. mv and zbs then failed on every k ("no crowd curve: every model
    failed", mv's error asking for skills no one gave) and ds was scored there on its prior guess. Here worker 0
    (always right, the best annotator) alone judges tasks 0-29, and two of workers 1-19 (always right)
    judge each of tasks 30-59: every model is right on all 30 tasks the crowd judged, which are the
    only ones scored, and k stops at the median of their judgments (2, not 1 with the 30 zeros)."""
    from galton.benchmarks import study as study_mod
    from galton.benchmarks._sources import Source
    from galton.benchmarks._verdict import verdict_rows

    rng = np.random.default_rng(4)
    gold = rng.integers(0, 2, 60).astype(np.int32)
    rows = [(t, 0, gold[t]) for t in range(60)]
    rows += [(t, w, gold[t]) for t in range(30, 60) for w in rng.choice(np.arange(1, 20), 2, replace=False)]
    task, worker, label = (np.asarray(a, dtype=np.int32) for a in zip(*rows))
    src = Source(name="toy", kind="dataset", origin="bundled", params={}, seed_key=1, task=task, worker=worker,
                 label=label, n_tasks=60, n_workers=20, n_labels=2, n_codes=2, label_names=[0, 1], gold=gold)
    study = Study(datasets=("toy",), models=("mv", "zbs"), k=(1, 2, 5), repeats=2, bootstrap=20, best_annotators=1,
                  min_tasks=5, engine="local")
    monkeypatch.setattr(study_mod, "prepare_sources", lambda s: ([src], []))
    t = run_study(study, progress=False).tables
    assert t["runs"]["error"].to_list() == ["", ""]
    curves = t["curves"]
    assert curves["k"].to_list() == [1, 2, 1, 2] and curves["n_tasks"].to_list() == [30] * 4
    assert curves["accuracy"].to_list() == [1.0] * 4
    sources = t["sources"].row(0, named=True)
    assert sources["unjudged_gold_tasks"] == 30 and sources["best_annotator_judgments"] == 60
    best = t["experts"].filter(t["experts"]["kind"] == "best annotator (split half)").row(0, named=True)
    assert best["expert"] == "best #1 (worker 0)" and best["accuracy"] == 1.0
    scoring = t["crowd_equivalent"].filter(t["crowd_equivalent"]["expert"] == best["expert"])
    assert scoring["n_tasks"].to_list() == [best["n_tasks"]] * 2 and 5 <= best["n_tasks"] < 30
    assert scoring["crowd_accuracy_max_k"].to_list() == [1.0, 1.0]
    verdict = verdict_rows(t, ["toy"])[0]  # all the tasks a curve can score were scored: nothing to say
    assert verdict["n_tasks_all"] == 30 and "scored on" not in verdict["sentence"]


def test_gold_and_expert_labels_take_the_judgments_label_type(tmp_path, monkeypatch) -> None:
    """Bug hunt: each table of a shared dataset is typed on its own, so gold 1, 2 (integers) never matched
    the judgments' text labels "1", "2" (text: "unsure" is a label too) and every model scored 0.000,
    while `galton aggregate --gold` matched them. Gold and expert labels now take the judgments' type;
    a gold label no worker gave ("3" here) stays a code of its own after the crowd's."""
    from galton.benchmarks.accuracy import load_dataset

    d = tmp_path / "textlab"
    d.mkdir()
    (d / "judgments.csv").write_text("task,worker,label\nt0,a,1\nt0,b,unsure\nt1,a,2\nt1,b,2\nt2,a,1\n"
                                     "t2,b,2\nt3,a,unsure\nt3,c,1\n")
    (d / "gold.csv").write_text("task,label\nt0,1\nt1,2\nt2,3\n")
    (d / "experts.csv").write_text("task,expert,label\nt0,c,2\nt1,c,2\n")
    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(tmp_path))
    src = prepare_dataset("textlab")
    assert src.label_names == ["1", "2", "unsure", "3"] and src.n_labels == 3
    assert src.gold.tolist() == [0, 1, 3, -1]
    assert src.expert_labels.tolist() == [[1, 1, -1, -1]] and src.expert_names == ["c"]
    _, gold = load_dataset("textlab")  # the accuracy and allocation studies' reader
    assert gold.to_dict() == {"t0": "1", "t1": "2", "t2": "3"}


def test_gold_or_expert_rows_that_disagree_are_refused_as_aggregate_refuses_them(tmp_path, monkeypatch) -> None:
    """Bug hunt: gold giving task t0 the labels 1 (row 0) and 0 (row 3) was taken silently: the crowd
    study kept the last row, the accuracy and allocation studies the first, so the two studies scored
    the crowd against different gold; an expert answering t1 twice kept its last answer. `galton
    aggregate --gold` refuses such gold; every study now refuses it with the same message (the same
    label twice counts once)."""
    from galton.benchmarks.accuracy import load_dataset
    from galton.benchmarks.allocation import load_replay_data

    d = tmp_path / "clash"
    d.mkdir()
    (d / "judgments.csv").write_text("task,worker,label\nt0,a,1\nt0,b,0\nt1,a,1\nt1,b,1\nt2,a,0\nt2,b,0\n")
    (d / "gold.csv").write_text("task,label\nt0,1\nt1,1\nt2,0\nt0,0\nt1,1\n")
    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(tmp_path))
    said = r"gold gives 1 task\(s\) two different labels \(task 't0': rows 0, 3 give 1, 0\); keep one label per task"
    for read in (prepare_dataset, load_dataset, load_replay_data):
        with pytest.raises(ValueError, match=said):
            read("clash")
    (d / "gold.csv").write_text("task,label\nt0,1\nt1,1\nt2,0\nt1,1\n")  # the same label twice: one
    assert prepare_dataset("clash").gold.tolist() == [1, 1, 0]
    assert load_dataset("clash")[1].to_dict() == {"t0": 1, "t1": 1, "t2": 0}
    (d / "experts.csv").write_text("task,expert,label\nt0,e,1\nt1,e,1\nt1,f,0\nt2,e,0\nt1,e,0\nt1,f,0\n")
    with pytest.raises(ValueError, match=r"expert 'e' gives 1 task\(s\) two different labels \(task 't1': rows 1, 4 "
                                         r"give 1, 0\); keep one label per task"):
        prepare_dataset("clash")
    (d / "experts.csv").write_text("task,expert,label\nt0,e,1\nt1,e,1\nt1,f,0\nt2,e,0\nt1,e,1\n")
    assert prepare_dataset("clash").expert_labels.tolist() == [[1, 1, 0], [-1, 0, -1]]


def test_k_max_max_is_the_most_judgments_of_a_gold_task() -> None:
    """Bug hunt: k_max = "max" took the most judgments of any task (20 on whitehill_duchenne, whose
    gold tasks have at most 15), so with short_tasks = "exclude" the largest k scored nothing."""
    from galton.benchmarks._sources import Source

    counts = [3, 3, 2, 7, 1]  # the task with 7 judgments has no gold
    task = np.repeat(np.arange(5), counts).astype(np.int32)
    src = Source(name="toy", kind="dataset", origin="bundled", params={}, seed_key=1, task=task,
                 worker=np.concatenate([np.arange(c) for c in counts]).astype(np.int32), label=np.zeros(16, np.int32),
                 n_tasks=5, n_workers=7, n_labels=2, n_codes=2, label_names=[0, 1],
                 gold=np.array([0, 1, 0, -1, 1], np.int32))
    assert src.k_top("max") == 3 and src.ks([1, 2, 5, 20], "max") == [1, 2, 3]
    assert src.ks([1, 2], "max") == [1, 2]  # k_max joins the grid only when some k reaches it
    assert src.k_top(6) == 6 and src.k_top(50) == 7  # a number: capped at the most any task has
    if datasets.shared_root() is None:  # the toy above holds without ../shared
        pytest.skip(SHARED_REASON)
    whitehill = prepare_dataset("whitehill_duchenne")
    assert whitehill.ks([1, 5, 20], "max") == [1, 5, int(whitehill.counts[whitehill.gold >= 0].max())]


def test_bench_k_replaces_the_simulations_own_k(tmp_path) -> None:
    """Bug hunt: `galton bench --k 1,2` was ignored for a simulation whose [simulation] has its own
    k (prepare_simulation took that one first); the command line wins."""
    import polars as pl

    from galton.cli import main

    study = tmp_path / "s.toml"
    study.write_text('[study]\nname = "s"\nmodels = ["mv"]\nk = [1, 3]\nrepeats = 2\nbootstrap = 20\n'
                     'engine = "local"\n[simulation]\nn_tasks = 60\nn_workers = 10\nk = [1, 3, 7]\n')
    st = with_options(load_study(study), k=(1, 2))
    assert st.k == (1, 2) and "k" not in st.simulation and 'k = [1, 3, 7]' not in st.text
    assert with_options(load_study(study), repeats=3).simulation["k"] == [1, 3, 7]  # kept without --k
    out = tmp_path / "r"
    assert main(["bench", str(study), "--k", "1,2", "--no-plots", "--quiet", "--out", str(out)]) == 0
    assert pl.read_parquet(out / "tables" / "curves.parquet")["k"].unique().sort().to_list() == [1, 2]


_HEAD = '[study]\nname = "t"\nengine = "local"\nmodels = ["mv"]\nk = [1, 3]\nrepeats = 2\nbootstrap = 20\n'
_DOG = '[datasets]\nnames = ["zheng_s_dog"]\n'
_SIM = '[simulation]\nn_tasks = 100\nn_workers = 10\n'


@pytest.mark.parametrize("text, message", [
    (_HEAD.replace("repeats = 2", "repeats = 2.5") + _DOG, "study 't': repeats = 2.5 must be a whole number"),
    (_HEAD.replace("bootstrap = 20", "bootstrap = 100.5") + _DOG,
     "study 't': bootstrap = 100.5 must be a whole number"),
    (_HEAD.replace("k = [1, 3]", "k = [1.5, 3]") + _DOG, "study 't': k = [1.5, 3] must be whole numbers"),
    (_HEAD.replace('models = ["mv"]', "models = 5") + _DOG,
     "study 't': models = 5 must be a name or a list of names, e.g. [\"a\", \"b\"]"),
    (_HEAD + "seed = -1\n" + _DOG, "study 't': seed = -1 must be >= 0"),
    (_HEAD + _SIM.replace("n_workers = 10", 'n_workers = "10"'),
     "study 't': [simulation]: n_workers = '10' must be a whole number, not text"),
    (_HEAD + _SIM.replace("n_workers = 10", "n_workers = 2"),
     "study 't': [simulation]: n_workers = 2 is below the largest k (3): a task's judges are distinct, so k = 3 "
     "needs 3 workers; raise n_workers or lower k"),
    (_HEAD + _SIM + "[simulation.grid]\naccuracy_spread = [0.1, nan]\n",
     "study 't': [simulation.grid] point {'accuracy_spread': nan}: accuracy_spread = nan must be a finite number"),
])
def test_study_values_of_the_wrong_type_are_refused_by_key_when_read(tmp_path, text: str, message: str) -> None:
    """Bug hunt: repeats = 2.5 / bootstrap = 100.5 failed with "'float' object cannot be interpreted as an
    integer", k = [1.5, 3] ran k = 1, n_workers = "10" with "'>' not supported", a k above n_workers
    said "lower judgments_per_task" (never given), all named nothing and came after sources (or Ray)
    were prepared; now the study file is refused when read, naming the file, the key and the value."""
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_study(path)
    assert str(info.value) == f"{path}: {message}"


def test_one_name_where_a_list_is_expected_is_a_list_of_one(tmp_path) -> None:
    """Bug hunt: models = "mv" ran the models 'm' and 'v' ("unknown model 'm'") and [datasets] names =
    "zheng_s_dog" the datasets 'z', 'h', ... ; a float of integer value (n_tasks = 1e3) is that integer."""
    path = tmp_path / "s.toml"
    path.write_text(_HEAD.replace('models = ["mv"]', 'models = "mv"').replace("k = [1, 3]", "k = 3")
                    + '[datasets]\nnames = "zheng_s_dog"\n' + _SIM.replace("100", "1e2"))
    st = load_study(path)
    assert st.models == ("mv",) and st.datasets == ("zheng_s_dog",) and st.k == (3,)
    from galton.benchmarks._sources import simulation_config

    assert simulation_config(st, {})[0].n_tasks == 100


def test_simulated_crowd_with_experts_holds_k_judgments_per_task() -> None:
    """expert_share puts experts in the crowd; they stay there, so every task has max(k) judgments
    and the grid keeps its k (leaving them out left 2.5 of 5 per task and shrank the grid to 1,2)."""
    from galton.benchmarks._sources import prepare_simulation

    st = Study(name="s", models=("mv",), k=(1, 3, 5), repeats=1, bootstrap=20, engine="local",
               simulation={"n_tasks": 400, "n_workers": 10, "expert_share": 0.5, "accuracy_mean": 0.7})
    src = prepare_simulation(st, 0, {})
    assert (src.counts == 5).all() and list(src.ks(st.k, st.k_max)) == [1, 3, 5]


def test_a_grid_over_seed_simulates_one_crowd_per_seed() -> None:
    """[simulation.grid] seed = [1, 2] (a CrowdConfig field, so accepted) gives the crowds that
    seed = 1 and seed = 2 give (it raised "got multiple values for keyword argument 'seed'")."""
    from galton.benchmarks._sources import prepare_simulation

    sim = {"n_tasks": 50, "n_workers": 8}
    grid = Study(name="s", models=("mv",), k=(1, 3), simulation=sim, grid={"seed": [1, 2]})
    one, two = (prepare_simulation(grid, i, {"seed": s}) for i, s in enumerate((1, 2)))
    fixed = prepare_simulation(Study(name="s", models=("mv",), k=(1, 3), simulation={**sim, "seed": 1}), 0, {})
    assert np.array_equal(one.label, fixed.label) and np.array_equal(one.worker, fixed.worker)
    assert not np.array_equal(one.label, two.label)


def test_study_json_names_the_seed_the_simulated_expert_is_drawn_with() -> None:
    """Bug hunt: with [study] seed = 11 and [simulation] seed = 77, study.json said the simulated
    expert's stream was SeedSequence([11, 5, ...]); prepare_simulation draws it from
    SeedSequence([77, 5]). Redrawing the expert from the stream named gives the expert's labels."""
    from galton.benchmarks._sources import prepare_simulation

    sim = {"n_tasks": 40, "n_workers": 5, "k": [1], "seed": 77}
    study = Study(name="s", models=("mv",), k=(1,), repeats=1, bootstrap=10, seed=11, engine="local",
                  simulation=sim)
    seeds = run_study(study, progress=False).meta["seeds"]
    assert seeds["simulation"] == 77 and seeds["streams"]["sim_expert"] == "SeedSequence([77, 5])"
    assert seeds["streams"]["subsample"] == "SeedSequence([11, 1, ...])"
    from galton.benchmarks._sources import simulation_config
    from galton.datasets.simulate import simulate

    config, _ = simulation_config(study, {})
    res, K, a = simulate(config), config.n_classes, config.expert_accuracy
    rng = np.random.default_rng(np.random.SeedSequence([77, 5]))  # the stream study.json names
    u, off = rng.random(40), rng.integers(0, K - 1, 40)
    p = 1 / (1 + np.exp(-(np.log(a) - np.log1p(-a)) / res.difficulty))
    y = res.true_label
    assert np.array_equal(prepare_simulation(study, 0, {}).sim_expert[0], np.where(u < p, y, (y + 1 + off) % K))
    grid = run_study(study.replace(grid={"seed": [3, 4]}), progress=False).meta["seeds"]
    assert grid["simulation"] == [3, 4] and "[the point's simulation seed, 5]" in grid["streams"]["sim_expert"]


# --------------------------------------------------------------------------------------------------
# published figures
# --------------------------------------------------------------------------------------------------
def _binom_majority(p: float, n: int) -> float:
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(n // 2 + 1, n + 1))


def test_sheng_figures_come_out_of_the_sheng_study() -> None:
    """Independent workers of accuracy 0.7 (the first point of studies/sheng.toml): majority
    vote of 3, 5 and 11 reaches 0.784, 0.837 and 0.922 (Sheng, Provost, Ipeirotis, KDD 2008)."""
    sheng = load_study("sheng")
    study = with_options(sheng, models=("mv",), repeats=3, bootstrap=300,
                         simulation={**sheng.simulation, "k": [3, 5, 11], "n_tasks": 4000},
                         grid={"worker_correlation": [0.0], "trap_share": [0.0], "expert_accuracy": [0.9]})
    curves = run_study(study, engine="local", progress=False).tables["curves"]
    published = {3: 0.784, 5: 0.837, 11: 0.922}
    for row in curves.iter_rows(named=True):
        exact = _binom_majority(0.7, row["k"])
        assert abs(exact - published[row["k"]]) < 0.001
        se = math.sqrt(exact * (1 - exact) / 4000)
        assert abs(row["accuracy"] - published[row["k"]]) < 3 * se, row  # within sampling error
        # the interval is the task-sampling one (the k=11 draws all use every judgment)
        assert row["ci_low"] < row["accuracy"] < row["ci_high"]
        assert 0.7 < (row["ci_high"] - row["ci_low"]) / (2 * 1.96 * se) < 1.3, row


@pytest.mark.skipif(datasets.shared_root() is None, reason=SHARED_REASON)
def test_snow_rte_majority_vote_curve_and_tie_rule() -> None:
    """Snow et al. (EMNLP 2008), RTE: majority vote with random tie breaks gives 0.733 (k=1),
    0.846 (k=5), 0.897 (k=10); breaking ties to the lowest label gives 0.919 at k=10."""
    study = Study(datasets=("snow2008_rte",), models=("mv", "ds", "default"), k=(1, 5, 10), repeats=10,
                  bootstrap=500, best_annotators=0, engine="local")
    curves = run_study(study, progress=False).tables["curves"]
    mv = {r["k"]: r for r in curves.iter_rows(named=True) if r["model"] == "mv"}
    for k, want in {1: 0.733, 5: 0.846, 10: 0.897}.items():
        assert mv[k]["ci_low"] <= want <= mv[k]["ci_high"], mv[k]
    assert sorted(set(curves["model"])) == ["bds", "ds", "mv"]
    low = run_study(study.replace(models=("mv",), k=(10,), repeats=1, tie_break="low"), progress=False)
    assert round(low.tables["curves"]["accuracy"][0], 3) == 0.919


# --------------------------------------------------------------------------------------------------
# Ray: the same results as in-process
# --------------------------------------------------------------------------------------------------
# (the ray_local fixture: tests/benchmarks/conftest.py)
def test_grid_on_ray_equals_local(ray_local) -> None:
    study = Study(name="tiny", models=("mv", "ds"), k=(1, 3, 5), repeats=2, bootstrap=50, engine="ray",
                  simulation={"n_tasks": 150, "n_workers": 20, "accuracy_mean": 0.7, "accuracy_spread": 0.1},
                  grid={"worker_correlation": [0.0, 0.3], "expert_accuracy": [0.9]})
    on_ray = run_study(study, progress=False)
    local = run_study(study, engine="local", progress=False)
    assert on_ray.meta["engine"] == "ray" and local.meta["engine"] == "local"
    for name in ("curves", "experts", "crowd_equivalent", "sweep"):
        assert on_ray.tables[name].equals(local.tables[name]), name
    sweep = local.tables["sweep"]
    assert sweep.height == 4 and set(sweep["grid_worker_correlation"]) == {0.0, 0.3}


def test_cli_simulate_writes_the_simulator_output(ray_local, tmp_path, capsys) -> None:
    import polars as pl

    from galton.cli import main
    from galton.datasets.simulate import CrowdConfig, simulate

    cfg = tmp_path / "crowd.toml"
    cfg.write_text("[crowd]\nn_tasks = 300\nn_workers = 25\naccuracy_mean = 0.8\n")
    out = tmp_path / "sim"
    assert main(["simulate", str(cfg), "--out", str(out), "--judgments-per-task", "3,5", "--seed", "4",
                 "--n-classes", "3", "--quiet"]) == 0
    want = simulate(CrowdConfig(n_tasks=300, n_workers=25, accuracy_mean=0.8, judgments_per_task=(3, 5),
                                seed=4, n_classes=3))
    got = pl.read_parquet(out / "judgments" / "*.parquet").sort("task", "worker")
    assert got["label"].to_list() == want.label.tolist() and got["task"].to_list() == want.task.tolist()
    # its truth table is gold as it stands (column true_label): the accuracy printed is the one counted here
    capsys.readouterr()
    assert main(["aggregate", str(out / "judgments"), "--gold", str(out / "truth"), "-m", "mv",
                 "-o", str(tmp_path / "labels.parquet")]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("accuracy")]
    truth = pl.read_parquet(out / "truth" / "*.parquet").select("task", "true_label")
    joined = pl.read_parquet(tmp_path / "labels.parquet").join(truth, on="task")
    right = int((joined["label"] == joined["true_label"]).sum())
    assert joined.height == 300 and 150 < right < 300
    assert printed == [f"accuracy    {right / 300:.6f} ({right}/300 tasks with gold)"]
    assert main(["simulate", "--out", str(tmp_path / "x"), "--n-tasks", "10"]) == 2
    assert "--n-workers" in capsys.readouterr().err


def test_cli_simulate_shows_the_out_path_as_given(tmp_path, capsys, monkeypatch) -> None:
    """Bug hunt: the library's words became flags in the whole message, path included: an existing
    --out runs/seed=3 was reported as "runs/--seed 3 exists"."""
    import galton.io as gio
    from galton.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    with gio.atomic_dir(tmp_path / "runs" / "seed=3", kind="simulation") as tmp:
        (tmp / "config.json").write_text("{}")
    capsys.readouterr()
    assert main(["simulate", "--out", "runs/seed=3", "--n-tasks", "10", "--n-workers", "5"]) == 2
    err = capsys.readouterr().err
    assert err == "galton: error: runs/seed=3 exists; pass --overwrite to replace it or choose another path\n", err


def test_toml_reading_is_declared_for_python_3_10_and_its_error_names_what_it_reads(monkeypatch):
    """tomllib is 3.11+: galton declares tomli for 3.10 (``galton bench`` and ``make demo`` failed
    there), and the error says TOML files in general (``galton simulate CONFIG.toml`` reads one too)."""
    import sys
    from pathlib import Path

    from galton.benchmarks import runner

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    deps = runner.toml_lib().loads(pyproject)["project"]["dependencies"]
    tomli = [d for d in deps if d.replace(" ", "").startswith("tomli>=")]
    assert len(tomli) == 1 and "python_version<'3.11'" in tomli[0].replace(" ", "").replace('"', "'"), deps
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(ImportError, match="TOML file") as info:
        runner.toml_lib()
    assert "simulate CONFIG" in str(info.value) and "pip install 'tomli>=1.1'" in str(info.value)
