"""Tests for the voting models: MajorityVote, GoldMajorityVote, Wawa, ZeroBasedSkill.

Hand-computed tiny cases, the tie rule, crowd-kit parity on real data, gold, missing skills,
ZeroBasedSkill's convergence, output frame types and shard invariance.
"""

from __future__ import annotations

import itertools
import pickle
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import galton.datasets as gd
from galton import Judgments
from galton.aggregator import (
    ConvergenceWarning, GoldMajorityVote, LocalEngine, MajorityVote, Wawa, ZeroBasedSkill, get,
)

SHARED_SKIP = "../shared/datasets not found; these tests run in CI"
PARITY_SETS = ["zheng_d_product", "snow2008_rte", "act_cf", "imagenet_real_golden"]
MODELS = [MajorityVote, Wawa, ZeroBasedSkill]
# crowd-kit 1.4.2's own deprecation noise under pandas 3 / scikit-learn 1.7
pytestmark = [pytest.mark.filterwarnings("ignore:.*__sklearn_tags__:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.eval")]


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def simulate(seed: int, n_tasks: int = 200, n_workers: int = 12, k: int = 3, per_task: int = 5,
             acc: tuple[float, float] = (0.75, 0.95)) -> tuple[pd.DataFrame, np.ndarray]:
    """One-coin workers: each answers the truth with its accuracy, else a uniform wrong label."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_tasks)
    skill = rng.uniform(*acc, n_workers)
    rows = []
    for t in range(n_tasks):
        for w in rng.choice(n_workers, per_task, replace=False):
            y = truth[t] if rng.random() < skill[w] else (truth[t] + rng.integers(1, k)) % k
            rows.append((f"t{t:03d}", f"w{w:02d}", int(y)))
    return frame(rows), truth


def real(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """A real dataset: bundled when its licence allows, else from ../shared (skip without it)."""
    if name in gd.names():
        ds = gd.load(name, frame="pandas")
    elif gd.shared_root() is None:
        pytest.skip(SHARED_SKIP)
    else:
        ds = gd.load_shared(name, frame="pandas")
    return ds.judgments, ds.gold.set_index("task")["label"]


# ------------------------------------------------------------------------------------------ registry
def test_registry_names() -> None:
    assert get("mv") is MajorityVote and get("majority_vote") is MajorityVote
    assert get("gold_mv") is GoldMajorityVote and get("wawa") is Wawa
    assert get("zbs") is ZeroBasedSkill and get("zero_based_skill") is ZeroBasedSkill


# ------------------------------------------------------------------------------------------ by hand
def test_mv_probas_labels_by_hand() -> None:
    df = frame([("t1", "a", "x"), ("t1", "b", "x"), ("t1", "c", "y"),
                ("t2", "a", "z"), ("t2", "c", "y"), ("t2", "d", "y"), ("t3", "d", "z")])
    m = MajorityVote().fit(df)
    assert m.probas_.loc["t1"].tolist() == pytest.approx([2 / 3, 1 / 3, 0])
    assert m.probas_.loc["t2"].tolist() == pytest.approx([0, 2 / 3, 1 / 3])
    assert m.probas_.loc["t3"].tolist() == [0, 0, 1]
    assert m.labels_.to_dict() == {"t1": "x", "t2": "y", "t3": "z"}
    # agreement with the aggregate: a 1/2 (t1 yes, t2 no), b 1, c 1/2, d 1/2 (t2 yes, t3 yes -> 1)
    assert m.skills_.to_dict() == pytest.approx({"a": 0.5, "b": 1.0, "c": 0.5, "d": 1.0})


def test_weighted_mv_by_hand_every_skills_form() -> None:
    df = frame([("t1", "p1", 0), ("t1", "p2", 0), ("t1", "p3", 1),
                ("t2", "p1", 1), ("t2", "p2", 0), ("t2", "p3", 1)])
    given = {"p1": 0.5, "p2": 0.7, "p3": 0.4}
    forms = [pd.Series(given), given, np.array([0.5, 0.7, 0.4]),
             pl.DataFrame({"worker": list(given), "skill": list(given.values())})]
    for skills in forms:
        m = MajorityVote().fit(df, skills=skills)
        # t1: 0 gets 0.5 + 0.7, 1 gets 0.4; t2: 0 gets 0.7, 1 gets 0.5 + 0.4
        assert m.probas_.loc["t1"].tolist() == pytest.approx([1.2 / 1.6, 0.4 / 1.6])
        assert m.probas_.loc["t2"].tolist() == pytest.approx([0.7 / 1.6, 0.9 / 1.6])
        assert m.labels_.to_dict() == {"t1": 0, "t2": 1}
        assert m.skills_.to_dict() == pytest.approx({"p1": 1.0, "p2": 0.5, "p3": 0.5})


def test_skills_by_hand_count_a_repeated_answer_once() -> None:
    # w1 answers t1 "a" twice: crowd-kit's accuracy counts distinct (task, worker, label) triples
    df = frame([("t1", "w1", "a"), ("t1", "w1", "a"), ("t1", "w2", "a"), ("t1", "w3", "b"),
                ("t2", "w1", "b"), ("t2", "w2", "a"), ("t2", "w3", "a")])
    m = MajorityVote().fit(df)
    assert m.probas_.loc["t1"].tolist() == pytest.approx([0.75, 0.25])  # votes do count twice
    assert m.labels_.to_dict() == {"t1": "a", "t2": "a"}
    assert m.skills_.to_dict() == pytest.approx({"w1": 0.5, "w2": 1.0, "w3": 0.5})


# ------------------------------------------------------------------------------------------ ties
@pytest.mark.parametrize("labels,expected", [((2, 1), 1), (("b", "a"), "a"), ((True, False), False)])
def test_tie_goes_to_smallest_label_whatever_the_row_order(labels, expected) -> None:
    hi, lo = labels
    rows = [("t", "w1", hi), ("t", "w2", lo), ("u", "w1", hi), ("u", "w2", hi), ("u", "w3", lo)]
    rng = np.random.default_rng(0)
    for perm in [range(len(rows)), *(rng.permutation(len(rows)) for _ in range(12))]:
        m = MajorityVote().fit(frame([rows[i] for i in perm]))
        assert m.labels_["t"] == expected and m.labels_["u"] == hi
        assert m.probas_.loc["t"].tolist() == [0.5, 0.5]


def test_weighted_float_sums_do_not_depend_on_row_order() -> None:
    # x collects 0.1 + 0.2 + 0.3, whose float sum is 0.6 or 0.6000000000000001 by order; y gets 0.6
    rows = [("t", "a", "x"), ("t", "b", "x"), ("t", "c", "x"), ("t", "d", "y")]
    skills = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.6}
    results = set()
    for perm in itertools.permutations(range(4)):
        m = MajorityVote().fit(frame([rows[i] for i in perm]), skills=skills)
        results.add((m.labels_["t"], *m.probas_.loc["t", ["x", "y"]].tolist()))  # columns: first appearance
    assert len(results) == 1


def tie_data(n: int = 300) -> pd.DataFrame:
    rows = []
    for t in range(n):  # a 2-2 tie between a and b, with one vote for c
        rows += [(t, "w1", "a"), (t, "w2", "a"), (t, "w3", "b"), (t, "w4", "b"), (t, "w5", "c")]
    return frame(rows)


def test_random_tie_break_seeded_row_order_free_and_among_tied_only() -> None:
    df = tie_data()
    lab = MajorityVote(tie_break="random", random_state=7).fit(df).labels_
    assert set(lab) == {"a", "b"}  # never the untied c
    assert 0.35 < (lab == "b").mean() < 0.65
    again = MajorityVote(tie_break="random", random_state=7).fit(df.sample(frac=1, random_state=3))
    assert again.labels_.sort_index().equals(lab.sort_index())  # crowd-kit's layout: appearance order
    sharded = MajorityVote(tie_break="random", random_state=7, n_shards=3).fit(df)
    assert sharded.labels_.equals(lab)
    other = MajorityVote(tie_break="random", random_state=8).fit(df).labels_
    assert not other.equals(lab)
    assert (MajorityVote().fit(df).labels_ == "a").all()


def test_bad_tie_break_is_an_error() -> None:
    with pytest.raises(ValueError, match="tie_break"):
        MajorityVote(tie_break="first").fit(tie_data(2))


# ------------------------------------------------------------------------------------------ crowd-kit parity
@pytest.fixture
def crowdkit_ties_low(monkeypatch):
    """crowd-kit with its ties pinned to the smallest label (its behaviour under pandas 2, where
    the unstacked label columns came sorted); under pandas 3 it follows the order of the rows."""
    pytest.importorskip("crowdkit")
    import crowdkit.aggregation.classification.majority_vote as ckmv

    monkeypatch.setattr(ckmv, "get_most_probable_labels",
                        lambda p: p.sort_index(axis=1).idxmax(axis=1))
    import crowdkit.aggregation as cka

    return cka


def assert_same_probas(ours, ref_probas: pd.DataFrame, tol: float = 1e-9) -> None:
    """A fitted model's probas_ (or a frame) equals crowd-kit's, whose label columns may be
    ordered differently and miss labels nobody chose."""
    probas = getattr(ours, "probas_", ours)
    ref = ref_probas.reindex(columns=probas.columns, fill_value=0.0).loc[probas.index]
    np.testing.assert_allclose(probas.to_numpy(), ref.to_numpy(), rtol=0, atol=tol)


@pytest.mark.parametrize("name", PARITY_SETS)
def test_parity_with_crowdkit(name, crowdkit_ties_low) -> None:
    df, _ = real(name)
    ck = crowdkit_ties_low
    pairs = [(MajorityVote(), ck.MajorityVote()), (Wawa(), ck.Wawa()),
             # n_iter=5 keeps crowd-kit fast; galton stops earlier (asserted below)
             (ZeroBasedSkill(n_iter=5), ck.ZeroBasedSkill(n_iter=5))]
    for ours, ref in pairs:
        ours.fit(df)
        ref.fit(df)
        if not isinstance(ref, ck.MajorityVote):
            ref.predict(df)
        # ZeroBasedSkill: galton stops once max|agreement - skill| < tol; before iteration
        # lr_steps_to_reduce the learning rate is 1, so the update sets skills to the agreement up to
        # rounding and crowd-kit's further iterations change nothing: the same 1e-9 holds.
        if isinstance(ours, ZeroBasedSkill):
            assert ours.converged_ and ours.n_iter_ < ours.lr_steps_to_reduce
        assert_same_probas(ours, ref.probas_)
        assert ours.labels_.equals(ref.labels_.loc[ours.labels_.index].rename("agg_label"))
        np.testing.assert_allclose(ours.skills_, ref.skills_.loc[ours.skills_.index], atol=1e-12)


@pytest.mark.parametrize("name", PARITY_SETS)
def test_gold_mv_parity_with_crowdkit(name, crowdkit_ties_low) -> None:
    df, gold = real(name)
    ref = crowdkit_ties_low.GoldMajorityVote().fit(df, gold)
    ref_labels = ref.predict(df)
    ours = GoldMajorityVote().fit(df, gold)
    np.testing.assert_allclose(ours.skills_, ref.skills_.loc[ours.skills_.index], atol=1e-12)
    # galton's fit clamps gold tasks (every task of these sets has gold)
    assert ours.labels_.equals(gold.loc[ours.labels_.index].rename("agg_label"))
    # crowd-kit's predict(data) votes without clamping and stores the result; so does galton's
    assert_same_probas(ours.predict_proba(df), ref.probas_)
    assert ours.predict(df).equals(ref_labels.loc[ours.labels_.index].rename("agg_label"))
    assert ours.labels_.equals(ref_labels.loc[ours.labels_.index].rename("agg_label"))


@pytest.mark.parametrize("name", ["snow2008_rte", "act_cf"])
def test_mv_parity_with_unpatched_crowdkit_off_ties(name) -> None:
    ck = pytest.importorskip("crowdkit.aggregation")
    df, _ = real(name)
    ref = ck.MajorityVote().fit(df)
    ours = MajorityVote().fit(df)
    assert_same_probas(ours, ref.probas_)
    p = np.sort(ours.probas_.to_numpy(), axis=1)
    clear = p[:, -1] > p[:, -2] + 1e-9
    assert clear.sum() > 0.5 * clear.size
    assert (ours.labels_[clear] == ref.labels_.loc[ours.labels_.index][clear]).all()


# ------------------------------------------------------------------------------------------ gold
def test_gold_is_clamped_and_defines_the_agreement() -> None:
    df = frame([("t1", "a", 0), ("t1", "b", 0), ("t1", "c", 1), ("t2", "a", 1), ("t2", "c", 1)])
    for model in (MajorityVote(), Wawa(), ZeroBasedSkill()):
        model.fit(df, gold={"t1": 1})
        assert model.labels_.to_dict() == {"t1": 1, "t2": 1}
        assert model.probas_.loc["t1"].tolist() == [0.0, 1.0]
    m = MajorityVote().fit(df, gold={"t1": 1})
    assert m.skills_.to_dict() == pytest.approx({"a": 0.5, "b": 0.0, "c": 1.0})


def test_gold_mv_skills_by_hand_and_errors() -> None:
    df = frame([("t1", "a", 0), ("t1", "b", 1), ("t2", "a", 0), ("t2", "b", 0),
                ("t3", "a", 1), ("t3", "b", 0), ("t3", "c", 0)])
    gold = pd.Series({"t1": 0, "t2": 0})
    # c answered no gold task: fit measures the skills only (crowd-kit's fit), predict(data) raises
    with pytest.warns(UserWarning, match=r"measured skills_ only: 1 of 3 worker\(s\) answered no gold task \('c'\)"):
        skills_only = GoldMajorityVote().fit(df, gold)
    assert skills_only.skills_.loc[["a", "b"]].tolist() == [1.0, 0.5] and np.isnan(skills_only.skills_["c"])
    assert not hasattr(skills_only, "labels_") and not hasattr(skills_only, "probas_")
    with pytest.raises(AttributeError, match="voted on nothing, as crowd-kit's fit"):
        skills_only.predict()
    with pytest.raises(ValueError, match="no skill for 1 of 3 worker.*'c'"):
        skills_only.predict(df)
    with pytest.raises(ValueError, match="no skill for 1 of 3 worker.*'c'"):
        GoldMajorityVote().fit_predict(df, gold)
    assert skills_only.predict(df[df.worker != "c"]).to_dict() == {"t1": 0, "t2": 0, "t3": 1}
    m = GoldMajorityVote(on_missing_skill="value", default_skill=0.25).fit(df, gold)
    assert m.skills_.loc[["a", "b"]].tolist() == [1.0, 0.5] and np.isnan(m.skills_["c"])
    # t3: label 1 gets a's 1.0, label 0 gets b's 0.5 + c's 0.25
    assert m.probas_.loc["t3"].tolist() == pytest.approx([0.75 / 1.75, 1.0 / 1.75])
    assert m.labels_.to_dict() == {"t1": 0, "t2": 0, "t3": 1}
    ign = GoldMajorityVote(on_missing_skill="ignore").fit(df, true_labels=gold)
    assert ign.probas_.loc["t3"].tolist() == pytest.approx([0.5 / 1.5, 1.0 / 1.5])
    with pytest.raises(ValueError, match="needs gold"):
        GoldMajorityVote().fit(df)
    with pytest.raises(ValueError, match="shares no task"):
        GoldMajorityVote().fit(df, {"zz": 0})
    m2 = GoldMajorityVote().fit(df[df.worker != "c"], gold)
    with pytest.raises(ValueError, match="no skill.*'new'"):  # crowd-kit: workers must be known
        m2.predict(frame([("t9", "new", 0), ("t9", "a", 1)]))


def test_gold_mv_fit_predict_votes_on_what_the_fit_read() -> None:
    """fit_predict read ``data`` a second time without the fit's options: duplicates="first" was
    ignored by the vote, on_invalid="drop" raised the null error telling users to pass it, and a
    one-shot Arrow stream gave 0 rows (bug hunt). The vote is on the judgments the fit encoded."""
    clean = frame([("g1", "a", 0), ("g1", "b", 1), ("g2", "a", 1), ("g2", "b", 1), ("t", "a", 0), ("t", "b", 1)])
    gold = pd.Series({"g1": 0, "g2": 1})  # a: 1.0, b: 0.5
    want = [[2 / 3, 1 / 3], [0.0, 1.0], [2 / 3, 1 / 3]]  # g1, g2, t by hand: a's 1.0 against b's 0.5
    again = pd.concat([clean, frame([("t", "b", 1)])], ignore_index=True)  # b's repeat doubled its vote on t
    got = GoldMajorityVote().fit_predict_proba(again, gold, duplicates="first")
    assert got.index.tolist() == ["g1", "g2", "t"]
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-12)
    assert GoldMajorityVote().fit_predict(again, gold, duplicates="first").to_dict() == {"g1": 0, "g2": 1, "t": 0}
    holes = pd.concat([clean, frame([("t", "c", None)])], ignore_index=True)
    got = GoldMajorityVote().fit_predict_proba(holes, gold, on_invalid="drop")
    assert got.index.tolist() == ["g1", "g2", "t"]
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-12)
    table = pa.Table.from_pandas(clean, preserve_index=False)
    stream = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    labels = GoldMajorityVote().fit_predict(stream, gold)
    assert labels.num_rows == 3 and labels.equals(GoldMajorityVote().fit_predict(table, gold))
    named = clean.rename(columns={"task": "item"})  # the fit's column names
    assert GoldMajorityVote().fit_predict(named, {"g1": 0, "g2": 1}, task_col="item").to_dict() == \
        {"g1": 0, "g2": 1, "t": 0}


# ------------------------------------------------------------------------------------------ missing skills
def test_on_missing_skill_options() -> None:
    df = frame([("t1", "a", 0), ("t1", "b", 1), ("t1", "x", 1), ("t2", "a", 1), ("t2", "x", 0),
                ("t3", "x", 0)])
    skills = pd.Series({"a": 0.8, "b": 0.3})
    with pytest.raises(ValueError, match="no skill for 1 of 3 worker.*'x'"):
        MajorityVote().fit(df, skills=skills)
    v = MajorityVote(default_skill=0.6, on_missing_skill="value").fit(df, skills=skills)
    assert v.probas_.loc["t1"].tolist() == pytest.approx([0.8 / 1.7, 0.9 / 1.7])
    assert v.probas_.loc["t2"].tolist() == pytest.approx([0.6 / 1.4, 0.8 / 1.4])
    with pytest.raises(ValueError, match="1 task.*'t3'"):  # t3 has only x
        MajorityVote(on_missing_skill="ignore").fit(df, skills=skills)
    i = MajorityVote(on_missing_skill="ignore").fit(df[df.task != "t3"], skills=skills)
    assert i.probas_.loc["t1"].tolist() == pytest.approx([0.8 / 1.1, 0.3 / 1.1])
    assert i.probas_.loc["t2"].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="default_skill is used only"):
        MajorityVote(default_skill=0.5).fit(df, skills=skills)
    with pytest.raises(ValueError, match="needs default_skill"):
        MajorityVote(on_missing_skill="value").fit(df, skills=skills)
    with pytest.raises(ValueError, match=r">= 0; 1 worker\(s\) have other values \('a' have -1.0\); clip them at 0"):
        MajorityVote().fit(df, skills={"a": -1.0, "b": 1.0, "x": 1.0})  # signed skills (MMSR's): shares < 0
    with pytest.raises(ValueError, match="expected shape \\(3,\\)"):
        MajorityVote().fit(df, skills=[1.0, 2.0])


def test_skills_find_workers_as_gold_and_new_data_do() -> None:
    """Skills keyed by text "0", "1", "2" for integer workers matched none of them, and with
    on_missing_skill="value" the vote went unweighted without a word (bug hunt; crowd-kit raises on
    the join of int and str keys). They find the workers as gold and predict find ids ("7" is worker
    7, a UUID its text); two keys of one worker are refused; keys that name no worker warn."""
    import uuid

    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "worker": [0, 1, 2, 0, 1, 2], "label": list("abbabb")})
    weighted = MajorityVote().fit_predict(df, pd.Series([0.9, 0.1, 0.1], index=[0, 1, 2])).tolist()
    assert weighted == ["a", "a"]  # worker 0 outweighs the other two
    for keys in (["0", "1", "2"], [0.0, 1.0, 2.0]):
        skills = pd.Series([0.9, 0.1, 0.1], index=keys)
        assert MajorityVote(on_missing_skill="value", default_skill=0.5).fit_predict(df, skills).tolist() == weighted
        assert MajorityVote().fit_predict(df, skills).tolist() == weighted
    text = df.assign(worker=df.worker.astype(str))  # integer keys for text workers
    assert MajorityVote().fit_predict(text, {0: 0.9, 1: 0.1, 2: 0.1}).tolist() == weighted
    ids = [uuid.UUID(int=i) for i in range(3)]
    assert MajorityVote().fit_predict(df.assign(worker=[ids[w] for w in df.worker]),
                                      pd.Series([0.9, 0.1, 0.1], index=ids)).tolist() == weighted
    with pytest.raises(ValueError, match=r"skills name 1 worker\(s\) by several keys \('0', 0\)"):
        MajorityVote().fit_predict(df, pd.Series([0.9, 0.1, 0.1, 0.1], index=pd.Index(["0", 0, 1, 2], dtype=object)))
    with pytest.warns(UserWarning, match=r"skills name none of the 3 worker\(s\) of the data \(str keys, int "
                                         r"workers\): keys 'w0', 'w1', 'w2', workers 0, 1, 2; every worker takes "
                                         r"default_skill=0.5"):
        m = MajorityVote(on_missing_skill="value", default_skill=0.5).fit(df, {"w0": 0.9, "w1": 0.1, "w2": 0.1})
    assert m.labels_.tolist() == ["b", "b"]


def test_a_task_whose_voters_all_weigh_zero_takes_its_own_votes_with_one_warning() -> None:
    """Every voter of t2 weighs 0: its shares were uniform over all labels and the tie named "bird",
    a label nobody gave there, silently (crowd-kit raises "Encountered all NA values"). Such a task
    now takes its own unweighted votes, and one warning names how many tasks."""
    df = frame([("t1", "a", "cat"), ("t1", "b", "bird"), ("t1", "c", "dog"), ("t2", "c", "dog"),
                ("t3", "c", "dog"), ("t3", "d", "cat"), ("t3", "e", "dog")])
    skills = pd.Series({"a": 0.8, "b": 0.7, "c": 0.0, "d": 0.0, "e": 0.0})
    with pytest.warns(UserWarning) as caught:
        m = MajorityVote().fit(df, skills)
    assert len(caught) == 1 and str(caught[0].message).startswith(
        "2 task(s) have only judgments from workers whose skill is 0 ('t2', 't3')")
    assert m.labels_.to_dict() == {"t1": "cat", "t2": "dog", "t3": "dog"}
    assert m.probas_.loc["t2"].to_dict() == {"bird": 0.0, "cat": 0.0, "dog": 1.0}
    assert m.probas_.loc["t3"].to_dict() == pytest.approx({"bird": 0.0, "cat": 1 / 3, "dog": 2 / 3})
    assert m.probas_.loc["t1"].to_dict() == pytest.approx({"bird": 0.7 / 1.5, "cat": 0.8 / 1.5, "dog": 0.0})
    # GoldMajorityVote: a worker wrong on every gold task weighs 0; fit_predict warns once
    gold_df = frame([("g1", "a", "cat"), ("g1", "b", "dog"), ("g2", "a", "dog"), ("g2", "b", "cat"),
                     ("t1", "b", "dog"), ("t2", "a", "cat"), ("t2", "b", "dog")])
    with pytest.warns(UserWarning) as caught:
        labels = GoldMajorityVote().fit_predict(gold_df, {"g1": "cat", "g2": "dog"})
    assert [str(w.message)[:40] for w in caught] == ["1 task(s) have only judgments from worke"]
    assert labels.to_dict() == {"g1": "cat", "g2": "dog", "t1": "dog", "t2": "cat"}


@pytest.mark.parametrize("cls", MODELS)
def test_a_task_nobody_judged_gets_uniform_shares_like_the_other_models(cls) -> None:
    """Judgments.from_codes(..., n_tasks=3) with no judgment on task 2 (galton bench builds one when
    its best annotators, out of the crowd, were a task's only judges): mv and wawa raised "no judgment
    from a worker with a known skill ... give skills" (none were given), zbs "not finite". Like ds,
    glad or mace (no evidence: no preference), the task gets uniform shares, its label by the tie rule,
    and the judged tasks keep their votes."""
    J = Judgments.from_codes([0, 0, 1, 1, 0, 1], [0, 1, 0, 1, 2, 2], [0, 1, 1, 1, 0, 1], n_tasks=3, n_labels=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 RuntimeWarning either
        m = cls().fit(J)
    p = np.asarray(m.probas_.select(["p_0", "p_1"]).to_numpy())
    assert p[2].tolist() == [0.5, 0.5] and m.label_codes_.tolist() == [0, 1, 0]
    assert p[1].tolist() == [0.0, 1.0] and p[0, 0] > 0.5
    J = Judgments.from_codes([0, 0, 1], [0, 1, 0], [0, 1, 1], n_tasks=3, n_labels=2)
    mv = MajorityVote().fit(J)
    assert np.asarray(mv.probas_.select(["p_0", "p_1"]).to_numpy()).tolist() == [[0.5, 0.5], [0, 1], [0.5, 0.5]]
    # a task judged only by workers whose judgments are ignored (task 1: worker 0) is still an error
    with pytest.raises(ValueError, match=r"^1 task\(s\) have no judgment from a worker with a known skill \(1\)"):
        MajorityVote(on_missing_skill="ignore").fit(J, skills={1: 1.0})


def test_skills_that_name_a_worker_twice_are_refused() -> None:
    """Skills indexed a, a, b: the last value won, so the order of the rows chose the label."""
    df = frame([("t1", "a", "x"), ("t1", "b", "y")])
    first = pd.Series([0.1, 0.9, 0.5], index=["a", "a", "b"])
    flipped = first.iloc[[1, 0, 2]]
    for skills in (first, flipped, first.rename_axis("worker").rename("skill").reset_index(),
                   pl.DataFrame({"worker": ["b", "a", "b"], "skill": [0.5, 0.9, 0.5]})):
        with pytest.raises(ValueError, match=r"skills name 1 worker\(s\) more than once \('[ab]'\); give one "
                                             r"skill per worker"):
            MajorityVote().fit(df, skills)
    assert MajorityVote().fit(df, first.groupby(level=0).max()).labels_.to_dict() == {"t1": "x"}


def test_default_skill_and_on_missing_skill_are_checked_only_with_skills() -> None:
    """crowd-kit checks default_skill against on_missing_skill only when fit is given skills;
    galton refused MajorityVote(default_skill=0.5).fit_predict(df) without them."""
    df = frame([("t1", "a", 0), ("t1", "b", 1), ("t1", "c", 1), ("t2", "a", 0)])
    plain = MajorityVote().fit_predict(df)
    assert MajorityVote(default_skill=0.5).fit_predict(df).equals(plain)
    assert MajorityVote(on_missing_skill="value").fit_predict(df).equals(plain)
    ck = pytest.importorskip("crowdkit.aggregation")
    assert ck.MajorityVote(default_skill=0.5).fit_predict(df).sort_index().tolist() == plain.tolist()
    with pytest.raises(ValueError, match="default_skill is used only"):
        MajorityVote(default_skill=0.5).fit(df, {"a": 1.0, "b": 1.0, "c": 1.0})
    with pytest.raises(ValueError, match="needs default_skill"):
        MajorityVote(on_missing_skill="value").fit(df, {"a": 1.0})
    with pytest.raises(ValueError, match="on_missing_skill must be"):  # an unknown option still is one
        MajorityVote(on_missing_skill="drop").fit(df)


def test_skills_passed_second_are_skills_as_in_crowdkit() -> None:
    # crowd-kit's MajorityVote.fit(data, skills): the second argument is skills
    df = frame([("t1", "p1", 0), ("t1", "p2", 1)])
    m = MajorityVote().fit(df, pd.Series({"p1": 0.5, "p2": 0.7}))
    assert m.probas_.loc["t1"].tolist() == pytest.approx([0.5 / 1.2, 0.7 / 1.2])
    # also when worker ids are task ids too (integer codes): they were read as gold and the tasks
    # clamped to the "labels" 1, 0, 0 without a word
    ints = pd.DataFrame({"task": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3], "worker": [0, 1, 2] * 4,
                         "label": [0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0]})
    only_first = pd.Series({0: 1.0, 1: 0.0, 2: 0.0}).rename_axis("worker")
    assert MajorityVote().fit_predict(ints, only_first).tolist() == [0, 1, 0, 1]  # crowd-kit's
    assert MajorityVote().fit_predict_proba(ints, only_first).loc[1].tolist() == [0.0, 1.0]
    # gold comes by name; a task-keyed second argument gets the hint
    assert MajorityVote().fit(ints, gold={0: 1}).labels_.tolist() == [1, 0, 1, 0]
    with pytest.raises(ValueError, match=r"keys are task ids.*gold="):
        MajorityVote().fit(df, {"t1": 0})
    # the other voting models take gold second: worker keys there still get the hint
    with pytest.raises(ValueError, match="skills="):
        GoldMajorityVote().fit(df, pd.Series({"p1": 0, "p2": 1}))


# ------------------------------------------------------------------------------------------ predict
def test_predict_new_data_uses_the_fitted_weights() -> None:
    df = frame([("t1", "p1", 0), ("t1", "p2", 0), ("t1", "p3", 1)])
    new = frame([("n1", "p1", 0), ("n1", "p3", 1), ("n1", "p3", 1), ("n2", "p2", 1)])
    m = MajorityVote().fit(df, skills={"p1": 0.9, "p2": 0.5, "p3": 0.4})
    assert m.predict_proba(new).loc["n1"].tolist() == pytest.approx([0.9 / 1.7, 0.8 / 1.7])
    assert m.predict(new).to_dict() == {"n1": 0, "n2": 1}
    plain = MajorityVote().fit(df)
    assert plain.predict(new).to_dict() == {"n1": 1, "n2": 1}
    with pytest.raises(ValueError, match="not fitted"):
        Wawa().predict(new)
    w = Wawa().fit(df)
    assert w.predict(df).equals(w.labels_)


@pytest.mark.parametrize("name", ["Wawa", "ZeroBasedSkill", "GoldMajorityVote", "MMSR"])
def test_predict_on_new_data_replaces_labels_and_probas_only(name: str) -> None:
    """As documented (predict's docstring, docs/from-crowd-kit.md): these models' predict(data)
    replaces labels_ and probas_ (MMSR's scores_) as crowd-kit's does, so predict() with no data
    then returns the new data's labels, not the fit's; what describes the fit stays, the same objects."""
    import galton

    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2, 3, 3, 3], "worker": ["b", "a", "c"] * 3,
                       "label": [0, 0, 1, 1, 1, 0, 0, 1, 1]})
    new = pd.DataFrame({"task": [7, 7, 8, 8], "worker": ["c", "a", "b", "c"], "label": [1, 1, 0, 1]})
    model = getattr(galton, name)()
    model.fit(df, pd.Series({1: 0, 2: 1, 3: 1})) if name == "GoldMajorityVote" else model.fit(df)
    stays = {k: getattr(model, k) for k in ("label_codes_", "posteriors_", "judgments_", "skills_", "workers_")}
    table = galton.results_table(model)
    labels = model.predict(new)
    assert labels.index.tolist() == [7, 8]
    assert model.predict() is model.labels_ and model.labels_.index.tolist() == [7, 8]  # not the fit's 1, 2, 3
    assert model.predict_proba().index.tolist() == [7, 8]
    if name == "MMSR":
        assert model.scores_.index.tolist() == [7, 8]
    assert all(getattr(model, k) is v for k, v in stays.items())  # the fit's, unchanged
    assert len(model.label_codes_) == len(model.posteriors_) == 3 and sorted(model.skills_.index) == ["a", "b", "c"]
    assert galton.results_table(model).equals(table)


# ------------------------------------------------------------------------------------------ ZeroBasedSkill
def test_zbs_converges_on_easy_data_and_matches_crowdkit() -> None:
    df, truth = simulate(1)
    m = ZeroBasedSkill().fit(df)
    assert m.converged_ and m.n_iter_ < 10 and m.history_[-1] < m.tol
    assert (m.labels_.to_numpy() == truth).mean() > 0.9
    ck = pytest.importorskip("crowdkit.aggregation")
    ref = ck.ZeroBasedSkill(n_iter=m.n_iter_ + 5).fit(df)
    ref_labels = ref.predict(df)
    p = np.sort(m.probas_.to_numpy(), axis=1)
    clear = p[:, -1] > p[:, -2] + 1e-9  # crowd-kit under pandas 3 breaks exact ties by row order
    assert (m.labels_[clear] == ref_labels.loc[m.labels_.index][clear]).all()
    np.testing.assert_allclose(m.skills_, ref.skills_.loc[m.skills_.index], atol=1e-9)


def test_zbs_no_convergence_warns_and_residual_halves() -> None:
    df, _ = simulate(2)
    with pytest.warns(ConvergenceWarning, match="did not converge in 6"):
        m = ZeroBasedSkill(n_iter=6, lr_init=0.5, tol=0.0).fit(df)
    assert not m.converged_ and m.n_iter_ == 6 and len(m.history_) == 6
    # once the labels settle, each step closes half the gap between skills and agreement
    ratios = np.array(m.history_[2:]) / np.array(m.history_[1:-1])
    np.testing.assert_allclose(ratios, 0.5, rtol=1e-6)


# ------------------------------------------------------------------------------------------ outputs
def test_output_types_follow_the_input() -> None:
    df, truth = simulate(3, n_tasks=20)
    half = {f"t{t:03d}": int(truth[t]) for t in range(0, 20, 2)}
    for model in (MajorityVote(), Wawa(), ZeroBasedSkill(), GoldMajorityVote(on_missing_skill="ignore")):
        gold = half if isinstance(model, GoldMajorityVote) else None
        m = model.fit(df, gold)
        assert isinstance(m.labels_, pd.Series) and m.labels_.name == "agg_label"
        assert m.labels_.index.name == "task" and isinstance(m.probas_, pd.DataFrame)
        assert m.skills_.name == "skill" and m.skills_.index.name == "worker"
        p = type(model)(**model.get_params()).fit(pl.from_pandas(df), gold)
        assert isinstance(p.labels_, pl.DataFrame) and isinstance(p.probas_, pl.DataFrame)
        assert p.labels_["label"].to_list() == m.labels_.tolist()
        a = type(model)(**model.get_params()).fit(pa.Table.from_pandas(df), gold)
        assert isinstance(a.labels_, pa.Table) and isinstance(a.skills_, pa.Table)
        assert a.labels_.column("label").to_pylist() == m.labels_.tolist()


# ------------------------------------------------------------------------------------------ engines
class PicklingEngine(LocalEngine):
    """Sends every function and argument through pickle, as the Ray engine does."""

    def map(self, fn, *args):
        fn, args = pickle.loads(pickle.dumps((fn, args)))
        return super().map(fn, *args)


def fitted(model, df, gold=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(df, gold, **kw)


@pytest.mark.parametrize("cls", [*MODELS, GoldMajorityVote])
@pytest.mark.parametrize("tie_break", ["low", "random"])
def test_three_shards_equal_one_exactly(cls, tie_break) -> None:
    df, truth = simulate(4, n_tasks=150, per_task=4)
    gold = {f"t{t:03d}": int(truth[t]) for t in range(0, 150, 2)} if cls is GoldMajorityVote else None
    make = lambda: cls(tie_break=tie_break, random_state=5)  # noqa: E731
    one = fitted(make(), df, gold, n_shards=1)
    three = fitted(make(), df, gold, n_shards=3)
    pickled = fitted(make(), df, gold, engine=PicklingEngine(2))
    for other in (three, pickled):
        assert np.array_equal(one.posteriors_, other.posteriors_)
        assert np.array_equal(one.skills_.to_numpy(), other.skills_.to_numpy(), equal_nan=True)
        assert one.labels_.equals(other.labels_)
        assert getattr(one, "history_", None) == getattr(other, "history_", None)


# Ray: tests/workers/test_engine.py fits every registered model locally and on Ray (posteriors,
# labels, n_iter_ and history_); PicklingEngine above checks that these models' shard functions
# and arguments survive pickling.


# ------------------------------------------------------------------------------------------ checkpoints
class CountingEngine(LocalEngine):
    """Counts the E-steps (agreement passes) it runs."""

    def __init__(self, n_shards: int = 2):
        super().__init__(n_shards)
        self.e_steps = 0

    def map(self, fn, *args):
        self.e_steps += getattr(fn, "__name__", "") == "_e_step"
        return super().map(fn, *args)


@pytest.mark.parametrize("tie_break", ["low", "random"])
def test_zbs_resumes_from_a_checkpoint_bit_for_bit(tmp_path, tie_break) -> None:
    """Interrupted after 7 iterations (past a learning-rate step: lr_steps_to_reduce=5), resumed to
    30: the same skills, labels and residual history as an uninterrupted fit, with only the 23
    remaining passes run; a fit that has converged resumes without a pass."""
    df, _ = simulate(2)
    make = lambda n: ZeroBasedSkill(n_iter=n, lr_init=0.5, lr_steps_to_reduce=5, tol=0.0,  # noqa: E731
                                    tie_break=tie_break, random_state=3)
    whole = fitted(make(30), df, engine=CountingEngine())
    first = CountingEngine()
    fitted(make(7), df, engine=first, checkpoint_dir=tmp_path, checkpoint_every=3)
    assert first.e_steps == 7
    second = CountingEngine()
    resumed = fitted(make(30), df, engine=second, checkpoint_dir=tmp_path, checkpoint_every=3)
    assert second.e_steps == 30 - 7
    assert np.array_equal(resumed.skills_.to_numpy(), whole.skills_.to_numpy())
    assert resumed.labels_.equals(whole.labels_) and np.array_equal(resumed.posteriors_, whole.posteriors_)
    assert resumed.history_ == whole.history_ and resumed.n_iter_ == whole.n_iter_ == 30
    # the learning rate came back too: resuming with the starting rate would end elsewhere
    restart = fitted(make(23), df, n_shards=2)
    assert not np.array_equal(restart.skills_.to_numpy(), whole.skills_.to_numpy())
    done = ZeroBasedSkill().fit(df, engine=CountingEngine(), checkpoint_dir=tmp_path / "easy")
    third = CountingEngine()
    again = ZeroBasedSkill().fit(df, engine=third, checkpoint_dir=tmp_path / "easy")
    assert done.converged_ and third.e_steps == 0 and again.history_ == done.history_
    with pytest.raises(ValueError, match="does not iterate"):
        MajorityVote().fit(df, checkpoint_dir=tmp_path)


def test_huge_finite_skills_give_the_shares_of_small_ones() -> None:
    """Skills of 1e308 (finite, so accepted) overflowed the weighted sums: rows [0, 0] and [0, NaN],
    and label 0 for a task both workers called 1. Shares are ratios: the same as for skills 1."""
    from galton import MajorityVote

    d = pd.DataFrame({"task": [0, 0, 1, 1], "worker": ["a", "b", "a", "b"], "label": [0, 1, 1, 1]})
    m = MajorityVote().fit(d, pd.Series({"a": 1e308, "b": 1e308}))
    assert m.probas_.to_numpy().tolist() == [[0.5, 0.5], [0.0, 1.0]] and m.labels_.tolist() == [0, 1]


def test_skills_given_as_text_are_refused_naming_the_workers():
    """Skills "high" / "low" raised pandas' "could not convert string to float: 'high'", naming
    neither the skills nor a worker (bug hunt). One check, in every form skills come in, names the
    skills, the count of values that are not numbers and a few workers with them; text numbers
    ("2") still read as numbers, as before."""
    df = pd.DataFrame({"task": ["t1", "t1", "t1"], "worker": ["a", "b", "c"], "label": [1, 0, 0]})
    for skills in (pd.Series({"a": "high", "b": "low", "c": 1.0}), {"a": "high", "b": "low", "c": 1.0},
                   pd.DataFrame({"worker": ["a", "b", "c"], "skill": ["high", "low", "1"]})):
        with pytest.raises(ValueError, match=r"^skills hold 2 value\(s\) that are not numbers \(worker 'a': 'high', "
                                             r"worker 'b': 'low'\); give each worker a number"):
            MajorityVote().fit(df, skills)
    assert MajorityVote().fit(df, pd.Series({"a": "3", "b": 1, "c": 1})).labels_.tolist() == [1]  # 3 > 1 + 1
