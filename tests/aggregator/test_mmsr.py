"""M-MSR (galton.MMSR): crowd-kit's numbers where crowd-kit is right, its sign and trim defects
corrected where it is not, the trimmed-mean rule and the pair counts by hand, recovered simulated
skills, and the one-core invariances (row order, shards, resume is in test_resume_all.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator import _jit
from galton.aggregator import _mmsr_kernels as mk
from galton.aggregator._engine import make_shards
from galton.judgments import Judgments

ck = pytest.importorskip("crowdkit.aggregation")

#: crowd-kit's toy YSDA data (tests/conftest.py of crowd-kit): 5 workers, 5 tasks, w3 did not do t1
_TOY = {"w1": "no yes yes yes yes", "w2": "yes yes no yes no", "w3": "- yes no yes no",
        "w4": "yes no yes yes no", "w5": "no no no yes no"}


#: test_a_dense_crowds_skills_are_unchanged: galton's fit at 8ed9845, before the compiled sweep's
#: selection and the sign check
DENSE_REFERENCE = {"n_iter": 117, "negative": 3, "sum": 359.3559271204349, "weighted": 542.9424182281386,
                   "last_change": 8.344336083758893e-11}


def toy() -> pd.DataFrame:
    rows = [(w, f"t{i + 1}", lab) for w, labs in _TOY.items() for i, lab in enumerate(labs.split()) if lab != "-"]
    return pd.DataFrame(rows, columns=["worker", "task", "label"])


def simulate(seed: int, n_tasks: int = 600, n_workers: int = 60, per_task: int = 5, k: int = 3,
             bad: tuple[int, ...] = (0, 1, 2)) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """One-coin workers right with probability p (0.6-0.9; the ``bad`` ones 0.05, adversarial)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.6, 0.9, n_workers)
    p[list(bad)] = 0.05
    truth = rng.integers(0, k, n_tasks)
    rows = []
    for t in range(n_tasks):
        for w in rng.choice(n_workers, per_task, replace=False):
            y = truth[t] if rng.random() < p[w] else (truth[t] + rng.integers(1, k)) % k
            rows.append((f"t{t:04d}", f"w{w:03d}", f"c{y}"))
    gold = pd.Series([f"c{x}" for x in truth], index=pd.Index([f"t{t:04d}" for t in range(n_tasks)], name="task"))
    return pd.DataFrame(rows, columns=["task", "worker", "label"]), gold, p


def _accuracy(labels: pd.Series, gold: pd.Series) -> float:
    return float((labels.sort_index().to_numpy() == gold.sort_index().to_numpy()).mean())


def _crowdkit(data: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ck.MMSR().fit(data)
        ref.predict_score(data)
    return ref


# ------------------------------------------------------------------ crowd-kit's numbers
@pytest.mark.parametrize("data", ["toy", "dense"])
def test_crowdkits_skills_scores_and_labels_where_every_worker_meets_every_other(data):
    """Every pair of workers shares tasks (crowd-kit's toy data; a dense simulation with three
    adversaries): crowd-kit's sign graph has no pair that never met, so both agree to rounding."""
    df = toy() if data == "toy" else simulate(1, n_tasks=80, n_workers=12, per_task=12)[0]
    # crowd-kit draws the start in the order workers first appear, galton in sorted order (so that
    # row order does not matter): give crowd-kit rows sorted by worker to start from the same point
    ref = _crowdkit(df.sort_values("worker", kind="stable"))
    ours = galton.MMSR().fit(df)
    pd.testing.assert_series_equal(ours.skills_.sort_index(), ref.skills_.sort_index(), rtol=1e-8, atol=1e-10)
    pd.testing.assert_frame_equal(ours.scores_, ref.scores_.sort_index(), check_like=True, rtol=1e-8, atol=1e-10)
    pd.testing.assert_series_equal(ours.labels_, ref.labels_.sort_index())
    assert ours.n_iter_ == len(ref.loss_history_)
    np.testing.assert_allclose(ours.loss_history_, ref.loss_history_, rtol=1e-6, atol=1e-12)
    if data == "toy":  # crowd-kit's recorded skills (its tests/aggregation/data_mmsr.py)
        np.testing.assert_allclose(ours.skills_.sort_index().to_numpy(),
                                   [-0.9486439852160969, 0.9764628672747041, 1.2428113335479982,
                                    0.948643985216097, 0.9764628672747041], rtol=1e-9)


def test_repeated_judgments_count_once_with_the_last_label_as_in_crowdkit():
    """crowd-kit's observation matrix holds one cell per (worker, task), filled by the last row;
    galton counted every repeated row in the agreement (a bug hunt: ten repeated rows moved a skill
    from 0.98 to 0.32)."""
    df, _, _ = simulate(1, n_tasks=80, n_workers=12, per_task=12)
    rng = np.random.default_rng(5)
    again = df.iloc[rng.choice(len(df), 60, replace=False)].copy()
    again["label"] = again["label"].where(rng.random(len(again)) < 0.5, "c0")  # some repeats disagree
    dup = pd.concat([df, again], ignore_index=True)
    ref = _crowdkit(dup.sort_values("worker", kind="stable"))
    ours = galton.MMSR().fit(dup)
    pd.testing.assert_series_equal(ours.skills_.sort_index(), ref.skills_.sort_index(), rtol=1e-8, atol=1e-10)
    last = dup.drop_duplicates(["task", "worker"], keep="last")
    np.testing.assert_allclose(ours.skills_.sort_index(), galton.MMSR().fit(last).skills_.sort_index(), rtol=1e-12)


def test_the_warning_of_repeated_rows_says_what_they_do_to_mmsr():
    """Docs hunt: the warning of repeated (task, worker) rows told MMSR users that the worker's skill
    rises, where its skills read the last row of each pair only (unchanged by exact repeats); what
    rises is the vote's confidence, every row counting (hand count: a's skill log 3, b's and c's 0;
    a's two rows on a task make its probability 3^2 / (3^2 + 1) = 0.9 instead of 3 / 4)."""
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4], "worker": list("abc") * 4,
                       "label": list("xxyyyxxyxyxy")})
    dup = pd.concat([df, df[df["worker"] == "a"]], ignore_index=True)
    once = galton.MMSR().fit(df)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        twice = galton.MMSR().fit(dup)
    said = [str(w.message) for w in caught if "repeat a (task, worker) pair" in str(w.message)]
    assert len(said) == 1 and "skill rise" not in said[0], said
    assert "its vote counts each row, so its confidence rises (the skills read only a worker's last row" in said[0]
    pd.testing.assert_series_equal(twice.skills_, once.skills_)
    assert once.skills_.to_dict() == pytest.approx({"a": np.log(3), "b": 0.0, "c": 0.0})
    assert once.probas_.loc[1, "x"] == pytest.approx(0.75) and twice.probas_.loc[1, "x"] == pytest.approx(0.9)
    with warnings.catch_warnings(record=True) as caught:  # the other models keep their words
        warnings.simplefilter("always")
        galton.MajorityVote().fit(dup)
    assert any("its confidence and that worker's skill rise" in str(w.message) for w in caught)


def test_agreement_exactly_at_chance_falls_back_to_the_vote():
    """Every skill 0 (two workers agreeing on one task of two: chance for two labels) made every
    probability 1/2 and every label the lowest, even where both said 1; one task of three workers
    (floor 1/sqrt(1) = 1) gave NaN probabilities (bug hunt). Now the vote, leaning by the floor."""
    m = galton.MMSR().fit(pd.DataFrame({"task": [0, 0, 1, 1], "worker": [0, 1, 0, 1], "label": [0, 1, 1, 1]}))
    assert m.labels_.tolist() == [0, 1] and m.probas_.loc[1, 1] > 0.5 and m.probas_.loc[0, 0] == pytest.approx(0.5)
    one = galton.MMSR().fit(pd.DataFrame({"task": [0] * 3, "worker": [0, 1, 2], "label": [0, 1, 1]}))
    assert one.labels_.tolist() == [1] and np.isfinite(one.probas_.to_numpy()).all()
    assert one.probas_.loc[0, 1] == pytest.approx(0.75)  # s = 1/2: p = 3/4 per vote, two against one


def test_a_crowd_too_sparse_for_pair_agreements_is_warned_about():
    """200 honest workers (accuracy 0.5-0.9, 3 labels) on 300 tasks, 3 each: pairs share 1.03
    tasks, a third of the workers got the most adversarial skill and M-MSR scored 0.61 against
    majority vote's 0.76 (bug hunt): the eigenvector's signs were noise. Such a fit says so (the
    sizes of the skills are still mostly noise); since the signs are checked against the data no
    honest worker is called adversarial (0.777). A dense fit does not warn."""
    rng = np.random.default_rng(1)
    truth, acc = rng.integers(0, 3, 300), rng.uniform(0.5, 0.9, 200)
    rows = []
    for t in range(300):
        for w in rng.choice(200, 3, replace=False):
            right = rng.random() < acc[w]
            rows.append((t, int(w), int(truth[t] if right else rng.choice([x for x in range(3) if x != truth[t]]))))
    sparse = pd.DataFrame(rows, columns=["task", "worker", "label"])
    with pytest.warns(UserWarning, match=r"share 1\.0\d tasks on average.*mostly noise; .*majority vote"):
        m = galton.MMSR().fit(sparse)
    gold = pd.Series(truth, index=pd.Index(range(300), name="task"))
    assert (m.skills_ < 0).sum() == 0
    assert _accuracy(m.labels_, gold) >= _accuracy(galton.MajorityVote().fit(sparse).labels_, gold)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        galton.MMSR().fit(simulate(1, n_tasks=80, n_workers=12, per_task=12)[0])


def test_a_few_power_workers_do_not_hide_a_sparse_crowd():
    """Two workers (80% right) judge every task and 100 casual ones (70%) two per task: the pairs
    share 7.37 tasks on average, so the test on the mean stayed quiet, yet 67% of them met once
    and M-MSR gave 18 of the honest casual workers a negative skill (0.763 against majority
    vote's 0.839). Half the pairs or more meeting once now warns too, and the signs, checked
    against the data, call none of them adversarial (0.828: the casual workers' sizes still read
    their single meetings, each agreement 1)."""
    rng = np.random.default_rng(0)
    truth, rows = rng.integers(0, 2, 3000), []
    for t in range(3000):
        for p in range(2):
            rows.append((t, f"power{p}", int(truth[t] if rng.random() < 0.8 else 1 - truth[t])))
        for w in rng.choice(100, 2, replace=False):
            rows.append((t, f"c{w:03d}", int(truth[t] if rng.random() < 0.7 else 1 - truth[t])))
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    with pytest.warns(UserWarning, match=r"share 7\.37 tasks on average and 67% of them a single task"):
        m = galton.MMSR().fit(df)
    assert (m.skills_ < 0).sum() == 0
    gold = pd.Series(truth, index=pd.Index(range(3000), name="task"))
    assert _accuracy(m.labels_, gold) > 0.82


def test_the_sparsity_warning_comes_before_the_sweeps_and_once(monkeypatch):
    """2,000 tasks x 5 judgments by 1,000 workers: M-MSR's labels near chance (0.5 against crowd-kit's
    0.75 and majority vote's 0.84), and the warning came only after all the sweeps.
    The pair table tells at the start: the warning is raised before the first sweep, once, at the caller."""
    import galton.aggregator.mmsr as mm

    df, _, _ = simulate(0, n_tasks=300, n_workers=300, per_task=3)
    caught: list = []
    seen_at_first_sweep = []
    sweep = mm.trimmed_sweep

    def counting(*args, **kwargs):
        if not seen_at_first_sweep:
            seen_at_first_sweep.append(len(caught))
        return sweep(*args, **kwargs)

    monkeypatch.setattr(mm, "trimmed_sweep", counting)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        galton.MMSR(n_iter=5).fit(df)
    sparse = [w for w in caught if "share a task share" in str(w.message)]
    assert seen_at_first_sweep == [1] and len(sparse) == 1
    assert sparse[0].filename == __file__


def test_signs_come_from_pairs_that_met_not_from_pairs_that_never_did():
    """200 workers, 15 tasks each: most pairs never share a task. crowd-kit's sign graph reads
    those as disagreement and calls a third or more of the workers adversarial, its labels falling
    well below majority vote; galton calls adversarial only simulated adversaries and beats the
    vote. (Two of the three each time: the third, with 11 or 13 judgments, agrees with the others
    1.5 to 1.6 standard deviations below a random worker, short of the 2 the sign check asks; the
    eigenvector alone called it adversarial, and 5 honest workers with it.)"""
    for seed in (0, 1):
        df, gold, p = simulate(seed, n_workers=200)
        ref = _crowdkit(df)
        ours = galton.MMSR().fit(df)
        mv = galton.MajorityVote().fit(df)
        negative = set(ours.skills_[ours.skills_ < 0].index)
        assert negative <= {"w000", "w001", "w002"} and len(negative) >= 2
        assert (ref.skills_ < 0).sum() >= 60
        assert _accuracy(ours.labels_, gold) > _accuracy(mv.labels_, gold) > _accuracy(ref.labels_, gold) + 0.1


def _wide_crowd(seed: int, n_bad: int) -> tuple[pd.DataFrame, np.ndarray]:
    """2,000 tasks x 5 judgments by 1,000 workers (about 10 each: most pairs never meet, those who
    do met once), binary, accuracy uniform on 0.6-0.9; the first ``n_bad`` always wrong."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.6, 0.9, 1000)
    p[:n_bad] = 0.0
    truth = rng.integers(0, 2, 2000)
    worker = np.concatenate([rng.choice(1000, 5, replace=False) for _ in range(2000)])
    task = np.repeat(np.arange(2000), 5)
    label = np.where(rng.random(task.size) < p[worker], truth[task], 1 - truth[task])
    return pd.DataFrame({"task": task, "worker": worker, "label": label}), truth


def test_a_wide_sparse_crowd_votes_as_well_as_majority_vote():
    """2,000 tasks x 5 judgments by 1,000 workers of accuracy 0.7 (galton's simulator): each pair
    that met, met once, so every agreement C is +1 or -1 and the leading eigenvector of C is noise
    (its eigenvalue 15.35 among others of 15.29, 15.20, 15.03, ...). Its signs called 484 of the 1,000 honest
    workers adversarial, at the largest skill the clip allows: labels at chance (0.500, majority
    vote 0.839). Checked against the data, no sign is negative without evidence."""
    from galton.datasets.simulate import CrowdConfig
    from galton.datasets.simulate import simulate as crowd

    sim = crowd(CrowdConfig(n_tasks=2000, n_workers=1000, judgments_per_task=5, seed=1))
    df = sim.judgments("pandas")
    gold = pd.Series(sim.true_label, index=pd.Index(np.arange(2000), name="task"))
    with pytest.warns(UserWarning, match="a single task"):
        m = galton.MMSR().fit(df)
    mv = _accuracy(galton.MajorityVote().fit(df).labels_, gold)
    assert _accuracy(m.labels_, gold) >= mv - 0.01
    assert (m.skills_ < 0).sum() <= 10


def test_adversaries_of_a_wide_sparse_crowd_are_found_and_honest_workers_are_not_called_so():
    """The same crowd, accuracy uniform on 0.6-0.9, without and with 100 workers who are always
    wrong. The eigenvector's signs called 166 honest workers adversarial (0.830 against majority
    vote's 0.899) and, with the adversaries, 126 honest ones beside them; checked, the negative
    skills are adversaries' (73 of 75), and the labels beat the vote by 0.08."""
    df, truth = _wide_crowd(0, 0)
    gold = pd.Series(truth, index=pd.Index(np.arange(2000), name="task"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        honest = galton.MMSR().fit(df)
        df_bad, _ = _wide_crowd(0, 100)
        bad = galton.MMSR().fit(df_bad)
    assert _accuracy(honest.labels_, gold) >= _accuracy(galton.MajorityVote().fit(df).labels_, gold) - 0.01
    assert (honest.skills_ < 0).sum() <= 10
    negative = bad.skills_.index[bad.skills_ < 0].to_numpy()
    assert negative.size >= 50 and (negative < 100).mean() >= 0.95
    assert _accuracy(bad.labels_, gold) >= _accuracy(galton.MajorityVote().fit(df_bad).labels_, gold) + 0.05


# ------------------------------------------------------------------ the pieces by hand
def _column_table(values: list[float], trim: int) -> dict:
    n = len(values)
    return {"row": np.arange(n, dtype=np.int32), "x": np.asarray(values, float), "indptr": np.array([0, n]),
            "trim": trim}


@pytest.mark.parametrize("values, anchor, trim, want", [
    ([0.1, 0.2, 0.5, 0.9, 3.0], 0.5, 1, (0.2 + 0.5 + 0.9) / 3),  # one dropped at each end
    ([0.9, 0.1, 3.0, 0.5, 0.2], 0.15, 2, (0.2 + 0.5) / 2),  # one below < F: it goes; two largest go
    ([0.1, 0.2, 0.5, 0.9, 3.0], 5.0, 1, (0.2 + 0.5 + 0.9 + 3.0) / 4),  # nothing above the anchor
    ([0.1, 0.2, 0.5], 0.2, 2, 0.2),  # fewer than F on each side: only the anchor's value stays
    ([0.1, 0.2, 0.5, 0.9, 3.0], 0.5, 0, 4.7 / 5),  # F = 0: the plain mean
    ([0.0], 0.3, 0, 1 / np.sqrt(16)),  # a mean of 0 becomes the floor 1/sqrt(T)
])
def test_trimmed_mean_rule_by_hand(values, anchor, trim, want):
    got = mk.trimmed_sweep(_column_table(values, trim), np.ones(len(values)), np.array([anchor]), 1 / np.sqrt(16))
    assert got[0] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("impl", ["numpy", "compiled"])
def test_trimmed_sweep_equals_the_rule_written_per_column(impl):
    """Random columns of different lengths against a loop that applies Ma & Olshevsky's trimming
    to one sorted column at a time (the numpy kernel and its numba twin)."""
    from galton.aggregator import _jit

    if impl == "compiled" and not _jit.HAVE_NUMBA:
        pytest.skip("numba is not installed or switched off: no compiled sweep to check")
    sweep = getattr(_jit.TWINS["mmsr_sweep"], impl)
    rng = np.random.default_rng(5)
    sizes = rng.integers(0, 12, 40)
    cols = np.repeat(np.arange(40), sizes).astype(np.int32)
    rows = rng.integers(0, 40, cols.size).astype(np.int32)
    x = np.round(rng.uniform(0, 1, cols.size), 1)  # ties with each other and with the anchors
    denom = rng.uniform(0.5, 2.0, 40)
    anchor = np.round(rng.uniform(0, 1.5, 40), 1)
    for f in (0, 1, 2, 3):
        got = sweep(rows, x, np.concatenate([[0], np.cumsum(sizes)]), denom, anchor, f, 0.01)
        for j in range(40):
            y = np.sort(x[cols == j] / denom[rows[cols == j]])
            a = anchor[j]
            if f:
                y = y[y >= a] if (y < a).sum() < f else y[f:]
                y = y[y <= a] if (y > a).sum() < f else y[:y.size - f]
            want = a if y.size == 0 else (0.01 if y.mean() == 0 else y.mean())
            assert got[j] == pytest.approx(want, rel=1e-12, abs=1e-15), (f, j)


def test_compiled_sweep_selects_the_kept_ratios_to_the_bit():
    """The compiled sweep finds the kept ratios by selection and sorts only them (1,000 workers
    who all met trim 498 of 999 at each end: a full sort of every column made a 30 x 1,000 fit
    take minutes): long columns, trims up to half a column, ties, against the numpy reference's
    full sort, bit for bit."""
    from galton.aggregator import _jit

    if not _jit.HAVE_NUMBA:
        pytest.skip("numba is not installed or switched off: no compiled sweep to check")
    twin = _jit.TWINS["mmsr_sweep"]
    rng = np.random.default_rng(7)
    for rep in range(30):
        n = int(rng.integers(1, 40))
        sizes = rng.integers(0, 300, n)
        rows = rng.integers(0, n, sizes.sum()).astype(np.int32)
        x = rng.uniform(0, 1, sizes.sum())
        x = np.round(x, 2) if rep % 2 else x
        indptr = np.concatenate([[0], np.cumsum(sizes)])
        denom = rng.uniform(0.5, 2.0, n)
        anchor = np.round(rng.uniform(0, 1.5, n), 1 if rep % 3 else 6)
        for f in (1, 2, 17, 99, 149):
            want = twin.numpy(rows, x, indptr, denom, anchor, f, 0.01)
            np.testing.assert_array_equal(twin.compiled(rows, x, indptr, denom, anchor, f, 0.01), want)


def test_a_dense_crowds_skills_are_unchanged():
    """30 tasks judged by each of 200 workers, three adversaries (every pair met 30 times; trim 98):
    the skills and the sweeps of the fit before the compiled sweep selected its kept ratios instead
    of sorting every column, and before the sign check (which leaves data where every pair met to
    the eigenvector)."""
    df = simulate(1, n_tasks=30, n_workers=200, per_task=200)[0]
    m = galton.MMSR().fit(df)
    skills = m.skills_.sort_index().to_numpy()
    assert m.n_iter_ == DENSE_REFERENCE["n_iter"]
    assert (skills < 0).sum() == DENSE_REFERENCE["negative"]
    assert set(m.skills_.index[m.skills_ < 0]) == {"w000", "w001", "w002"}
    for name, value in (("sum", skills.sum()), ("weighted", (skills * np.linspace(1, 2, skills.size)).sum()),
                        ("last_change", m.history_[-1])):
        assert value == pytest.approx(DENSE_REFERENCE[name], rel=1e-12), name


def test_sign_statistic_by_hand_and_from_the_pair_table():
    """The sign check's sum for a worker is its row of the pair table summed with the others' signs,
    ``(K - 1) sum_j ref_j common_ij C_ij``; its variance that of a worker answering at random,
    enumerated over the K labels task by task; a repeated (task, worker) counts with its last row,
    and any split into shards gives the same integers."""
    rng = np.random.default_rng(3)
    k, n_workers = 3, 9
    rows = [(t, int(w), int(rng.integers(0, k))) for t in range(40)
            for w in rng.choice(n_workers, int(rng.integers(1, 6)), replace=False)]
    rows += [(0, rows[0][1], (rows[0][2] + 1) % k)]  # a repeat: its last label counts
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    j = Judgments.from_any(df)
    ref = rng.choice([-1.0, 1.0], n_workers)
    got = mk.shard_sign_stats(make_shards(j, None, 1)[0], ref, k)
    last = df.drop_duplicates(["task", "worker"], keep="last")
    code = {w: i for i, w in enumerate(j.worker_names)}
    want = np.zeros((2, n_workers))
    for _, task in last.groupby("task"):
        for _, (_, w, y) in task.iterrows():
            others = task[task.worker != w]
            g = [sum(ref[code[o]] * (k * (lab == c) - 1) for o, lab in zip(others.worker, others.label))
                 for c in range(k)]
            want[0, code[w]] += g[y]
            want[1, code[w]] += np.mean(np.square(g))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    table = mk.pair_table(mk.merge_pairs([mk.shard_pairs(s) for s in make_shards(j, None, 1)]), n_workers, k)
    pairs = mk.merge_pairs([mk.shard_pairs(s) for s in make_shards(j, None, 1)])
    row = np.bincount(table["i"], ref[table["j"]] * pairs["common"] * table["c"], n_workers) + \
        np.bincount(table["j"], ref[table["i"]] * pairs["common"] * table["c"], n_workers)
    np.testing.assert_allclose(got[0], (k - 1) * row, atol=1e-9)
    for n_shards in (2, 5):
        split = sum(mk.shard_sign_stats(s, ref, k) for s in make_shards(j, None, n_shards))
        np.testing.assert_array_equal(split, got)


def test_complete_components_are_those_where_every_pair_met():
    # a-b-c all met; d-e met; f met e only: {d, e, f} lacks the pair d-f
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 3, 3, 4], "worker": list("abcdeefg"), "label": [0] * 8})
    j = Judgments.from_any(df)
    table = mk.pair_table(mk.merge_pairs([mk.shard_pairs(s) for s in make_shards(j, None, 1)]), j.n_workers, 2)
    assert dict(zip(j.worker_names, mk.complete_components(table).tolist())) == {
        "a": True, "b": True, "c": True, "d": False, "e": False, "f": False, "g": False}


def test_sparse_and_chunked_counting_equal_the_dense_table(monkeypatch):
    df = simulate(3, n_tasks=300, n_workers=40, per_task=6)[0]
    shard = make_shards(Judgments.from_any(df), None, 1)[0]
    dense = mk.shard_pairs(shard)
    monkeypatch.setattr(mk, "DENSE_CELLS", 0)
    monkeypatch.setattr(mk, "CHUNK_PAIRS", 97)
    sparse = mk.shard_pairs(shard)
    for key in ("keys", "common", "agree"):
        np.testing.assert_array_equal(sparse[key], dense[key])
    assert dense["common"].sum() == 300 * 6 * 5 / 2  # every pair of a task's six judgments



def test_sparse_counting_merges_its_chunks_and_holds_worker_pairs_not_judgment_pairs(monkeypatch):
    """Above ~1,448 workers each chunk's pair counts were kept until the end and merged at once, so
    memory grew with the judgment pairs (tasks x J^2), not the worker pairs (1,000 tasks of 300
    judgments, 2,000 workers: 2.5 GB where the estimate said 413 MB). The chunks are merged whenever
    they pass 2 x max(merged pairs, chunk): the counts stay those of the dense table."""
    df = simulate(3, n_tasks=300, n_workers=40, per_task=6)[0]
    shard = make_shards(Judgments.from_any(df), None, 1)[0]
    dense = mk.shard_pairs(shard)
    held = []
    merge = mk.merge_pairs

    def counting_merge(parts):
        held.append(sum(p["keys"].size for p in parts))
        return merge(parts)

    monkeypatch.setattr(mk, "DENSE_CELLS", 0)
    monkeypatch.setattr(mk, "CHUNK_PAIRS", 97)
    monkeypatch.setattr(mk, "merge_pairs", counting_merge)
    sparse = mk.shard_pairs(shard)
    for key in ("keys", "common", "agree"):
        np.testing.assert_array_equal(sparse[key], dense[key])
    pairs = dense["keys"].size  # 719 worker pairs out of 4,500 judgment pairs
    assert dense["common"].sum() == 4_500 and pairs < 780
    assert len(held) > 2  # merged along the way, not once at the end
    assert max(held) <= 2 * max(pairs, 97) + 97, (max(held), pairs)


def test_sparse_counting_estimate_bounds_the_measured_peak(monkeypatch):
    """MMSR's estimate against tracemalloc's peak of a fit that counts its pairs sparsely, in small
    chunks (the constants scaled down so that 400 workers take the branch of more than 1,448 and
    1.6M judgment pairs make 190 chunks, as 45M do at the default chunk size): 18 MB for an estimate
    of 22 MB; 115 MB for 21 MB when every chunk's counts waited for the end."""
    import tracemalloc

    from galton.aggregator import memory_limit, mmsr

    for mod in (mk, mmsr):
        monkeypatch.setattr(mod, "DENSE_CELLS", 0)
        monkeypatch.setattr(mod, "CHUNK_PAIRS", 1 << 13)
    rng = np.random.default_rng(0)
    n_tasks, per_task, n_workers = 2_000, 40, 400
    worker = np.concatenate([rng.choice(n_workers, per_task, replace=False) for _ in range(n_tasks)])
    task = np.repeat(np.arange(n_tasks), per_task)
    truth = rng.integers(0, 2, n_tasks)
    label = np.where(rng.random(task.size) < 0.75, truth[task], 1 - truth[task])
    df = pd.DataFrame({"task": task, "worker": worker, "label": label})
    with warnings.catch_warnings():  # 100 rows: too sparse for skills, warned about
        warnings.simplefilter("ignore")
        galton.MMSR().fit(df.head(100))  # imports and compilation before the measure
    tracemalloc.start()
    try:
        with memory_limit(None):
            galton.MMSR().fit(df)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    est, what = galton.MMSR().memory_estimate(n_tasks, n_workers, 2, task.size)
    assert peak / 2 <= est <= 2 * peak, (peak, est)
    assert "79,800 worker pairs (counted in sparse chunks)" in what

def test_probas_are_the_one_coin_posterior_of_the_skills():
    m = galton.MMSR().fit(toy())
    skill = m.skills_
    df = toy()
    sums = df.assign(s=df["worker"].map(skill)).pivot_table(index="task", columns="label", values="s",
                                                            aggfunc="sum", fill_value=0.0)
    want = np.exp(sums.to_numpy())
    want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(m.probas_.loc[sums.index, sums.columns].to_numpy(), want, rtol=1e-12)


# ------------------------------------------------------------------ what the model recovers
def test_recovers_simulated_skills():
    """30 workers, 12 judgments per task: the estimated ``s = (K p - 1) / (K - 1)`` follows the
    simulated one, adversaries included."""
    df, gold, p = simulate(0, n_tasks=400, n_workers=30, per_task=12)
    m = galton.MMSR().fit(df)
    est = m.skills_.sort_index().to_numpy()
    q = np.exp(est) / (2 + np.exp(est))  # K = 3: p from the log-odds log(2 p / (1 - p))
    s_est, s_true = (3 * q - 1) / 2, (3 * p - 1) / 2
    assert np.corrcoef(s_est, s_true)[0, 1] > 0.97
    assert np.abs(s_est - s_true).max() < 0.25
    assert _accuracy(m.labels_, gold) > 0.99
    assert m.converged_ and m.history_[-1] < m.tol


def test_row_order_shards_and_frame_type_leave_the_result_alone():
    df = simulate(2, n_tasks=300, n_workers=50)[0]
    one = galton.MMSR().fit(df)
    shuffled = galton.MMSR().fit(df.sample(frac=1.0, random_state=0), n_shards=3)
    # the skills to the bit (integer pair counts, then the same sweeps); the posteriors add a task's
    # skills in the order of its rows
    np.testing.assert_array_equal(shuffled.skills_.sort_index().to_numpy(), one.skills_.sort_index().to_numpy())
    np.testing.assert_allclose(shuffled.posteriors_, one.posteriors_, rtol=1e-12, atol=1e-300)
    assert shuffled.history_ == one.history_
    import polars as pl

    pol = galton.MMSR().fit(pl.from_pandas(df))
    np.testing.assert_array_equal(pol.posteriors_, one.posteriors_)


def test_predict_on_new_data_gives_unknown_workers_no_weight():
    m = galton.MMSR().fit(toy())
    new = pd.DataFrame({"task": ["n1", "n1", "n2", "n2"], "worker": ["w3", "stranger", "w1", "w3"],
                        "label": ["no", "yes", "no", "yes"]})
    labels = m.predict(new)
    # n1: w3 (positive skill) says no, the stranger counts 0; n2: w1 is adversarial, w3 says yes
    assert labels.to_dict() == {"n1": "no", "n2": "yes"}
    assert m.scores_.loc["n1", "no"] == pytest.approx(1.0) and m.scores_.loc["n1", "yes"] == 0.0
    assert m.predict_score() is m.scores_


def test_predict_is_the_skill_weighted_vote_over_the_new_datas_labels():
    # a hunt found: a label the fit never saw could never win on new data (its sums were set to
    # -inf), not even when every new judgment gave it; crowd-kit's predict is MajorityVote(skills=skills_)
    df, _, _ = simulate(3, n_tasks=300, n_workers=12, k=4, bad=())
    fit_on = df[df.label != "c3"]
    m = galton.MMSR().fit(fit_on, labels=["c0", "c1", "c2", "c3"])
    workers = m.skills_.index[m.skills_ > 0][:3].tolist()
    unanimous = pd.DataFrame({"task": [900] * 3, "worker": workers, "label": ["c3"] * 3})
    assert m.predict(unanimous).to_dict() == {900: "c3"}
    # over the labels the fit's judgments give (c3 declared, unused) and the task's own (c3)
    votes = np.exp([0.0, 0.0, 0.0, m.skills_[workers].sum()])
    np.testing.assert_allclose(m.predict_proba(unanimous).loc[900].to_numpy(), votes / votes.sum(), rtol=1e-12)
    assert ck.MMSR().fit(fit_on).predict(unanimous).to_dict() == {900: "c3"}
    new = df[df.task >= "t0200"]  # label c3 among the others, all workers fitted
    labels, probas, scores = m.predict(new), m.predict_proba(new), m.predict_score(new)
    assert (labels == "c3").any()
    ref = ck.MajorityVote().fit(new, skills=m.skills_)  # positive skills here: crowd-kit's vote is defined
    assert (m.skills_.loc[new.worker.unique()] > 0).all()
    assert labels.to_dict() == ref.labels_.reindex(labels.index).to_dict()
    np.testing.assert_allclose(scores.to_numpy(), ref.probas_.reindex(index=scores.index, columns=scores.columns)
                               .fillna(0.0).to_numpy(), atol=1e-12)
    assert (probas.idxmax(axis=1) == labels).all() and (scores.idxmax(axis=1) == labels).all()
    assert m.labels_.equals(labels) and m.probas_.equals(probas) and m.scores_.equals(scores)


def test_a_new_tasks_result_reads_its_own_judgments_only():
    """A hunt found: the posterior of new data ran over the labels of the whole new batch, so a task
    judged 0 by an adversarial worker went to 0 alone (the only label: probability 1) and to 1 beside
    a task giving 1 and 2; the fit gives it 1 with the one-coin posterior over the fit's labels."""
    df, _, _ = simulate(4, n_tasks=200, n_workers=20, per_task=5, k=4, bad=(0,))
    m = galton.MMSR().fit(df)
    w = m.skills_.idxmin()
    s = m.skills_[w]
    assert s < 0
    one = pd.DataFrame({"task": ["n0"], "worker": [w], "label": ["c0"]})
    others = pd.DataFrame({"task": ["n1"] * 3 + ["n2"], "worker": [w] * 3 + ["stranger"],
                           "label": ["c0", "c1", "c2", "new"]})
    # by hand: p(k) ∝ exp(sum of the skills voting k) over the fit's labels, exp(0) where nobody voted
    want = np.exp([s, 0.0, 0.0, 0.0]) / np.exp([s, 0.0, 0.0, 0.0]).sum()
    alone, alone_labels = m.predict_proba(one), m.predict(one)
    with pytest.warns(UserWarning, match="not in the fit"):
        both = pd.concat([one, others])  # worker w gives n1 three labels: rows of their own
        batch, batch_labels = m.predict_proba(both, duplicates="keep"), m.predict(both, duplicates="keep")
    assert alone.columns.tolist() == ["c0", "c1", "c2", "c3"]
    assert batch.columns.tolist() == ["c0", "c1", "c2", "c3", "new"]  # the fit's labels, then the new one
    np.testing.assert_allclose(alone.loc["n0"].to_numpy(), want, rtol=1e-12)
    np.testing.assert_array_equal(batch.loc["n0"].to_numpy(), [*alone.loc["n0"].to_numpy(), 0.0])
    assert alone_labels["n0"] == batch_labels["n0"] == "c1"  # the tie of c1, c2, c3 goes low
    refit = galton.MMSR().fit(pd.concat([df, one]))
    assert refit.labels_["n0"] == "c1" and refit.probas_.loc["n0"].to_numpy() == pytest.approx(want, rel=1e-2)
    # the new label: a candidate of the task that gave it only (its stranger counts 0: exp(0) each)
    np.testing.assert_allclose(batch.loc["n2"].to_numpy(), [0.2] * 5, rtol=1e-12)
    np.testing.assert_allclose(batch.loc["n1"].to_numpy(), want[[0, 0, 0, 1, 1]] / want[[0, 0, 0, 1]].sum()
                               * [1, 1, 1, 1, 0], rtol=1e-12)


def test_one_label_and_a_worker_with_no_co_worker():
    one = galton.MMSR().fit(pd.DataFrame({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": ["x"] * 3}))
    assert one.labels_.tolist() == ["x", "x"] and (one.skills_ == 0).all()
    df = pd.concat([toy(), pd.DataFrame({"worker": ["loner"], "task": ["t9"], "label": ["yes"]})])
    m = galton.MMSR().fit(df)
    others = m.skills_.drop("loner")
    # no pair, no evidence of its own: the mean skill of the others
    assert m.skills_["loner"] == pytest.approx(others.mean(), rel=1e-12) and others.mean() > 0
    p_yes = 1 / (1 + np.exp(-others.mean()))
    np.testing.assert_allclose(m.probas_.loc["t9"].to_numpy(), [1 - p_yes, p_yes], rtol=1e-12)
    assert m.labels_["t9"] == "yes"


def test_the_fast_shift_finds_the_eigenvector_the_safe_shift_finds():
    """The sign step's power iteration with the shift ``0.6 rho`` and with the Gershgorin shift
    (every eigenvalue of ``C + c I`` non-negative) end with the same signs on sparse data, where the
    adversaries are the negative ones; and it equals numpy's dense eigenvector there."""
    df = simulate(0, n_workers=200)[0]
    j = Judgments.from_any(df)
    table = mk.pair_table(mk.merge_pairs([mk.shard_pairs(s) for s in make_shards(j, None, 1)]), j.n_workers, 3)
    c, n = table["c"], j.n_workers
    gersh = float((np.bincount(table["i"], np.abs(c), n) + np.bincount(table["j"], np.abs(c), n)).max())
    safe, q_safe = mk._leading(table, n, gersh, 5000)
    signs = mk.pair_signs(table, n)
    assert np.unique(table["comp"]).tolist() == [0] and q_safe[0] > 0  # one component, its quotient
    np.testing.assert_array_equal(signs, np.sign(safe) * (1 if (safe > 0).sum() > (safe < 0).sum() else -1))
    dense = np.zeros((j.n_workers, j.n_workers))
    dense[table["i"], table["j"]] = dense[table["j"], table["i"]] = c
    vec = np.linalg.eigh(dense)[1][:, -1]
    vec = vec * (1 if (vec > 0).sum() > (vec < 0).sum() else -1)
    assert (np.sign(vec) == signs).mean() > 0.98
    assert set(np.flatnonzero(signs < 0)) >= {0, 1, 2}


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: one path only")
def test_the_compiled_pair_product_gives_the_bincounts_bits_through_the_whole_fit(monkeypatch):
    """``C x`` in one compiled pass adds the same products in the same order as the two
    ``np.bincount`` calls: the same bits at every power step, so the same signs, quotients and fit
    (a wide crowd with adversaries: many components, shuffled rows, and the safe shift's rerun)."""
    df, _ = _wide_crowd(5, 100)
    df = df.sample(frac=1.0, random_state=3)
    j = Judgments.from_any(df)
    table = mk.pair_table(mk.merge_pairs([mk.shard_pairs(s) for s in make_shards(j, None, 1)]), j.n_workers, 2)
    n = j.n_workers
    x = np.random.default_rng(1).normal(size=n)
    x[:5] = -0.0
    got = mk._times_c(table, x, n)
    want = mk.times_c_numpy(table["i"], table["j"], table["c"], x, n)
    assert got.tobytes() == want.tobytes()
    fits, signs, lead = [], [], []
    for compiled in (True, False):
        if not compiled:
            monkeypatch.setattr(mk, "_times", mk.times_c_numpy)
        signs.append(mk.pair_signs(table, n))
        lead.append(mk._leading(table, n, 3.0, 5000))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(galton.MMSR().fit(df))
    assert signs[0].tobytes() == signs[1].tobytes()
    assert lead[0][0].tobytes() == lead[1][0].tobytes() and lead[0][1].tobytes() == lead[1][1].tobytes()
    pd.testing.assert_series_equal(fits[0].skills_, fits[1].skills_, check_exact=True)
    pd.testing.assert_frame_equal(fits[0].probas_, fits[1].probas_, check_exact=True)
    assert fits[0].n_iter_ == fits[1].n_iter_


def test_diverging_sweeps_stop_with_a_warning_and_finite_skills():
    """Worker a agrees with b exactly at chance (C_ab = 0) and with c always, and b and c meet no
    one else: each sweep halves a's factor and doubles c's. The fit ran its 10,000 sweeps into
    overflow, with NaN skills and every task labelled "x" (task 3, where both its workers say "y",
    included); crowd-kit fails here. Now it stops before the factors pass 1e100, with a warning,
    on the skills of the last finite sweep."""
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": ["a", "b", "a", "b", "a", "c"],
                       "label": ["x", "y", "x", "x", "y", "y"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = galton.MMSR().fit(df)
    caught = [w for w in caught if "share a task share" not in str(w.message)]  # 3 tasks: sparse too
    assert [str(w.message).split(" (")[0] for w in caught] == ["MMSR: the factors u, v grew past 1e+100"]
    assert caught[0].category is galton.ConvergenceWarning and caught[0].filename == __file__
    assert np.isfinite(m.skills_.to_numpy()).all() and 300 < m.n_iter_ < 400 and not m.converged_
    assert m.labels_[3] == "y" and m.labels_[2] == "x"  # the tasks where every worker agrees
    assert np.isfinite(m.probas_.to_numpy()).all()
    np.testing.assert_allclose(m.probas_.sum(axis=1), 1.0)


def test_a_single_judge_or_workers_who_never_meet_are_followed():
    """No worker shares a task with another (one LLM judge, say): no skill has evidence, so all get
    the smallest skill above chance the clip allows, s = 1/sqrt(T), and the labels are the votes.
    They were skill 0, uniform posteriors and the first label everywhere (crowd-kit: a random skill,
    or "Encountered all NA values")."""
    judge = pd.DataFrame({"task": [1, 2, 3, 4], "worker": "llm", "label": ["x", "y", "x", "y"]})
    loners = judge.assign(worker=["a", "b", "c", "d"])
    for df in (judge, loners):
        m = galton.MMSR().fit(df)
        assert m.labels_.tolist() == ["x", "y", "x", "y"]
        p = (1 / np.sqrt(4)) / 2 + 1 / 2  # p = s (K - 1) / K + 1 / K with T = 4 tasks, K = 2: 0.75
        np.testing.assert_allclose(m.skills_.to_numpy(), np.log(p / (1 - p)), rtol=1e-12)  # log 3
        np.testing.assert_allclose(m.probas_.max(axis=1).to_numpy(), p, rtol=1e-12)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_score"])
def test_concurrent_predictions_on_one_model_return_each_callers_own_tasks(method):
    """Threads scoring different data with one fitted model each get the result of their own data:
    the result is the call's own, not read back from the attribute another thread may have replaced."""
    import sys
    import threading

    df = simulate(3, n_tasks=400, n_workers=20)[0]
    m = galton.MMSR().fit(df)
    tasks = np.sort(df.task.unique())
    parts = [df[df.task.isin(tasks[i::4])] for i in range(4)]
    wrong: list[str] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(30):
            barrier = threading.Barrier(len(parts))

            def go(part: pd.DataFrame) -> None:
                barrier.wait()
                got = getattr(m, method)(part)
                if set(got.index) != set(part.task):
                    wrong.append(method)

            threads = [threading.Thread(target=go, args=(p,)) for p in parts]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []
