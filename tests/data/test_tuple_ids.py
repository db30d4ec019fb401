"""Tuple-valued ids in pandas frames (crowd-kit users group tasks / items as tuples): results come
back indexed by the tuples themselves, as crowd-kit's do, with the same labels / ranking."""

from __future__ import annotations

import re

import numpy as np
import pytest

import galton
from galton.data import Comparisons, Judgments

pd = pytest.importorskip("pandas")
ck = pytest.importorskip("crowdkit.aggregation", reason="crowd-kit (the reference) is not installed")


def _frame(seed: int = 0, n_tasks: int = 40, n_workers: int = 7) -> "pd.DataFrame":
    rng = np.random.default_rng(seed)
    rows = []
    for t in rng.permutation(n_tasks):
        for w in range(n_workers):
            acc = 0.9 if w < 2 else 0.6
            lab = int(t % 3) if rng.random() < acc else int(rng.integers(3))
            rows.append(((int(t), f"batch{t % 2}"), (f"w{w}", w % 2), lab))
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


@pytest.mark.parametrize("name,kwargs", [("DawidSkene", {"n_iter": 100}), ("MajorityVote", {}),
                                         ("GLAD", {"n_iter": 100})])
def test_categorical_models_with_tuple_task_and_worker_ids_match_crowdkit(name, kwargs):
    df = _frame()
    ours = getattr(galton, name)(**kwargs).fit(df).labels_
    ref = getattr(ck, name)(**kwargs).fit(df).labels_
    assert not isinstance(ours.index, pd.MultiIndex)
    assert type(ours.index) is type(ref.index)
    assert all(isinstance(t, tuple) for t in ours.index)
    assert set(ours.index) == set(df["task"])
    counts = df.groupby(["task", "label"]).size().unstack(fill_value=0)
    top = counts.to_numpy()
    clear = [t for t, row in zip(counts.index, top) if (row == row.max()).sum() == 1]  # no vote tie
    assert len(clear) >= 30
    agree = np.mean([ours[t] == ref[t] for t in clear])
    assert agree >= (0.95 if name == "GLAD" else 1.0)


def test_tuple_vocabularies_are_sorted_and_map_back():
    df = _frame(1)
    j = Judgments.from_any(df)
    assert j.task_names.dtype == object and j.task_names.ndim == 1
    assert j.task_names.tolist() == sorted(set(df["task"]))
    assert j.worker_names.tolist() == sorted(set(df["worker"]))
    back = list(zip(j.task_names[j.task].tolist(), j.worker_names[j.worker].tolist()))
    assert back == list(zip(df["task"], df["worker"]))


def test_unsortable_tuples_keep_first_appearance_order_and_work():
    df = pd.DataFrame({"task": [(1, "a"), ("b", 2), (1, "a"), ("b", 2), (None, 3), (None, 3)],
                       "worker": ["u", "u", "v", "v", "u", "v"], "label": [1, 0, 1, 0, 1, 1]})
    j = Judgments.from_any(df)
    assert j.task_names.tolist() == [(1, "a"), ("b", 2), (None, 3)]
    labels = galton.MajorityVote().fit(df).labels_
    assert not isinstance(labels.index, pd.MultiIndex)
    assert labels.to_dict() == {(1, "a"): 1, ("b", 2): 0, (None, 3): 1}


def test_nulls_beside_tuples_are_found_by_the_null_check():
    df = pd.DataFrame({"task": [(1, 2), None, (3, 4)], "worker": ["a", "b", "c"], "label": [0, 1, 0]})
    with pytest.raises(ValueError, match=r"column 'task' has 1 null value\(s\) \(rows 1\)"):
        Judgments.from_any(df)
    j = Judgments.from_any(df, on_invalid="drop")
    assert j.task_names.tolist() == [(1, 2), (3, 4)] and j.n_dropped == 1


def test_list_valued_ids_give_one_line_error_naming_the_column():
    df = pd.DataFrame({"task": [[1, 2], [3, 4]], "worker": ["a", "b"], "label": [0, 1]})
    with pytest.raises(ValueError, match=r"column 'task' holds lists.*tuple") as info:
        Judgments.from_any(df)
    assert "\n" not in str(info.value)


def test_polars_list_ids_keep_the_clear_refusal():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"task": [[1, 2], [3, 4]], "worker": ["a", "b"], "label": [0, 1]})
    with pytest.raises(ValueError, match=r"column 'task'"):
        Judgments.from_any(df)


def _comparisons(seed: int = 0) -> "pd.DataFrame":
    rng = np.random.default_rng(seed)
    items = [("film", k) for k in range(8)]
    rows = []
    for _ in range(600):
        a, b = rng.choice(8, size=2, replace=False)
        p = 1 / (1 + np.exp(-(a - b) * 0.6))
        win = items[a] if rng.random() < p else items[b]
        rows.append((f"w{rng.integers(5)}", items[a], items[b], win))
    return pd.DataFrame(rows, columns=["worker", "left", "right", "label"])


def test_bradley_terry_with_tuple_items_matches_crowdkit_ranking():
    df = _comparisons()
    ours = galton.BradleyTerry().fit(df).scores_
    ref = ck.BradleyTerry(n_iter=100).fit(df).scores_
    assert not isinstance(ours.index, pd.MultiIndex)
    assert set(ours.index) == {("film", k) for k in range(8)}
    assert list(ours.sort_values().index) == list(ref.sort_values().index)
    assert list(ours.sort_values().index)[-1] == ("film", 7)


def test_noisy_bradley_terry_with_tuple_items():
    df = _comparisons(1)
    ours = galton.NoisyBradleyTerry().fit(df).scores_
    ref = ck.NoisyBradleyTerry(n_iter=100, random_state=0).fit(df).scores_
    assert not isinstance(ours.index, pd.MultiIndex)
    assert set(ours.index) == set(ref.index) == {("film", k) for k in range(8)}
    rank_ours = ours.rank()[ref.index].to_numpy()
    rank_ref = ref.rank().to_numpy()
    assert np.corrcoef(rank_ours, rank_ref)[0, 1] > 0.9
    assert ours.idxmax() == ("film", 7)


def test_comparisons_share_one_tuple_vocabulary_across_left_right_label():
    df = _comparisons(2)
    c = Comparisons.from_any(df)
    assert c.item_names.tolist() == sorted(set(df["left"]) | set(df["right"]))
    assert list(zip(c.item_names[c.left].tolist(), c.item_names[c.right].tolist())) == \
        list(zip(df["left"], df["right"]))
    won = np.where(c.outcome == 1.0, c.left, c.right)
    assert c.item_names[won].tolist() == df["label"].tolist()


def test_ties_beside_tuple_items():
    df = pd.DataFrame({"left": [(1, "a"), (2, "b"), (1, "a")], "right": [(2, "b"), (3, "c"), (3, "c")],
                       "label": [(1, "a"), "tie", (3, "c")]})
    c = Comparisons.from_any(df, tie="tie")
    assert c.item_names.tolist() == [(1, "a"), (2, "b"), (3, "c")]
    assert c.outcome.tolist() == [1.0, 0.5, 0.0]


def test_comparison_errors_name_the_tuple_items_not_their_codes():
    """They showed the internal ranks: "label 3 for 1 vs 2" for label (9, 'z'), (2, 'b') vs (3, 'c')."""
    df = pd.DataFrame({"left": [(1, "a"), (2, "b"), (3, "c")], "right": [(2, "b"), (3, "c"), (1, "a")],
                       "label": [(1, "a"), (9, "z"), (1, "a")]})
    with pytest.raises(ValueError, match=re.escape("row 1: label (9, 'z') for (2, 'b') vs (3, 'c'))")):
        Comparisons.from_any(df)
    df.loc[1, "right"], df.loc[1, "label"] = (2, "b"), (2, "b")
    with pytest.raises(ValueError, match=re.escape("rows 1, item (2, 'b'))")):
        Comparisons.from_any(df)


@pytest.mark.parametrize("name", galton.aggregator.names(kind="categorical"))
def test_every_categorical_model_takes_tuple_task_ids(name):
    """Every categorical model fits tuple task ids and gives the labels it gives the same tasks
    named by text (EBCC hashed the ids' text and crashed on tuples)."""
    df = _frame(2, n_tasks=24)
    flat = df.assign(task=df["task"].map(lambda t: f"{t[0]}|{t[1]}"))
    kwargs = {"gold": {t: int(t[0] % 3) for t in sorted(set(df["task"]))[:8]}} if name == "gold_mv" else {}
    flat_kwargs = {"gold": {f"{t[0]}|{t[1]}": v for t, v in kwargs["gold"].items()}} if kwargs else {}
    if name == "kos":
        df, flat = df.assign(label=df["label"] % 2), flat.assign(label=flat["label"] % 2)
    ours = galton.aggregate(df, name, **kwargs).labels_
    ref = galton.aggregate(flat, name, **flat_kwargs).labels_
    assert all(isinstance(t, tuple) for t in ours.index)
    if name in ("ebcc", "mace", "kos", "glad"):  # starts or orders keyed by the ids: compare the sets of labels
        assert sorted(ours.tolist()) == sorted(ref.tolist()) or (ours.to_numpy() == ref.to_numpy()).mean() > 0.8
    else:
        assert {f"{t[0]}|{t[1]}": v for t, v in ours.items()} == ref.to_dict()
