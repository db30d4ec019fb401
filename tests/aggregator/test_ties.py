"""galton's one tie rule: the smallest label value in sorted order wins, whatever the row order.

The data set is symmetric: it is unchanged when workers ``w0, w1, w2`` are swapped with
``w3, w4, w5`` and labels ``a`` with ``b``. Tasks that are their own mirror image (``s...``) are
therefore exact ties for every model whose fit keeps that symmetry, up to the last bits of float
summation, which depend on the order of the rows. Before the tie tolerance, ``ds``,
``one_coin_ds`` and ``bds`` labelled these tasks differently after a row shuffle.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from galton.aggregator import create, names
from galton.aggregator._base import TIE_RTOL, argmax_ties_low, tied_to_max

MODELS = names(kind="categorical")
#: models whose fit is symmetric under the mirror (no random start, no tie-dependent weights):
#: every self-mirrored task is an exact tie for them
SYMMETRIC = {"mv", "gold_mv", "ds", "one_coin_ds", "bds", "glad"}
#: models whose random start is keyed by the id codes (sorted ids): renaming keeps the id order
CODE_KEYED = {"kos", "mace"}


def mirrored(seed: int = 0, n_half: int = 30, n_self: int = 20, n_workers: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    h = n_workers // 2
    rows = []
    for t in range(n_half):  # a random task and its mirror image
        truth = int(rng.integers(2))
        for w in rng.choice(n_workers, size=int(rng.integers(2, 5)), replace=False):
            lab = truth if rng.random() < 0.8 else 1 - truth
            mirror = f"w{(w + h) % n_workers}"
            rows += [(f"h{t:03d}", f"w{w}", "ab"[lab]), (f"m{t:03d}", mirror, "ab"[1 - lab])]
    for t in range(n_self):  # tasks that are their own mirror image: ties
        for w in rng.choice(h, size=int(rng.integers(1, h + 1)), replace=False):
            lab = int(rng.integers(2))
            rows += [(f"s{t:03d}", f"w{w}", "ab"[lab]), (f"s{t:03d}", f"w{w + h}", "ab"[1 - lab])]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


DATA = mirrored()
GOLD = {r.task: r.label for r in DATA.itertuples() if r.task[0] in "hm"}  # mirrored too
SELF = sorted({t for t in DATA.task if t.startswith("s")})


def _fit(name: str, df: pd.DataFrame, gold: dict | None = None) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return create(name).fit(df, gold if name == "gold_mv" else None)


def _shuffled(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    return df.iloc[np.random.default_rng(seed).permutation(len(df))].reset_index(drop=True)


@pytest.mark.parametrize("name", MODELS)
def test_labels_do_not_depend_on_row_order(name: str) -> None:
    ref = _fit(name, DATA, GOLD).labels_.sort_index()
    for seed in range(1, 6):
        got = _fit(name, _shuffled(DATA, seed), GOLD).labels_.sort_index()
        pd.testing.assert_series_equal(got, ref, check_names=False)


@pytest.mark.parametrize("name", MODELS)
def test_labels_do_not_depend_on_ids(name: str) -> None:
    ref = _fit(name, DATA, GOLD).labels_.sort_index()
    tasks, workers = sorted(DATA.task.unique()), sorted(DATA.worker.unique())
    n_t, n_w = len(tasks), len(workers)
    if name in CODE_KEYED:  # same order of codes
        tmap = {t: f"T{i:04d}" for i, t in enumerate(tasks)}
        wmap = {w: f"W{i:03d}" for i, w in enumerate(workers)}
    else:  # reversed order of codes
        tmap = {t: f"T{n_t - i:04d}" for i, t in enumerate(tasks)}
        wmap = {w: f"W{n_w - i:03d}" for i, w in enumerate(workers)}
    lmap = {"a": "cat", "b": "dog"}  # label order kept: it is what the tie rule looks at
    renamed = pd.DataFrame({"task": DATA.task.map(tmap), "worker": DATA.worker.map(wmap),
                            "label": DATA.label.map(lmap)})
    gold = {tmap[t]: lmap[v] for t, v in GOLD.items()}
    got = _fit(name, _shuffled(renamed, 7), gold).labels_
    back_t = {v: k for k, v in tmap.items()}
    back_l = {v: k for k, v in lmap.items()}
    got = pd.Series([back_l[v] for v in got.to_numpy()], index=[back_t[t] for t in got.index]).sort_index()
    assert got.tolist() == ref.tolist()
    assert got.index.tolist() == ref.index.tolist()


def _binary_crowd(seed: int, n_tasks: int = 40, n_workers: int = 8) -> pd.DataFrame:
    """A random binary crowd with labels 4 and 8: workers of random accuracy, 1-4 judgments a task."""
    rng = np.random.default_rng(seed)
    skill = rng.uniform(0.3, 0.95, n_workers)
    rows = []
    for task in rng.choice(1000, size=n_tasks, replace=False):
        truth = int(rng.integers(2))
        for w in rng.choice(n_workers, size=int(rng.integers(1, 5)), replace=False):
            lab = truth if rng.random() < skill[w] else 1 - truth
            rows.append((int(task), 100 + int(w), (4, 8)[lab]))
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


#: README: "give the same results under any renaming of the labels"
LABEL_SYMMETRIC = ("bds", "ds", "one_coin_ds", "bwa", "glad", "mmsr", "kos")


@pytest.mark.parametrize("name", LABEL_SYMMETRIC)
def test_labels_follow_a_swap_of_the_two_label_names(name: str) -> None:
    """Swapping the names of two labels turns every answer A into -A: the labels must map one to one
    (tied tasks aside: the tie rule looks at the names). KOS keyed each edge's random start on its
    label code, so the swap changed the start: task 40 of the first crowd went from 8 to 4, and up to
    34 of the 40 labels of a random crowd changed (the sign of the whole solution)."""
    swap = {4: 8, 8: 4}
    first = pd.DataFrame({"task": [40, 40, 7, 31, 7], "worker": [100, 107, 107, 107, 100],
                          "label": [8, 4, 4, 4, 8]})
    compared = 0
    for df in [first] + [_binary_crowd(seed) for seed in range(6)]:
        a = _fit(name, df)
        b = _fit(name, df.assign(label=df.label.map(swap)))
        pa, pb = a.probas_.sort_index(), b.probas_.sort_index()
        untied = ((pa[4] - pa[8]).abs() > 1e-9) & ((pb[4] - pb[8]).abs() > 1e-9)
        got = b.labels_.sort_index().map(swap)
        pd.testing.assert_series_equal(got[untied], a.labels_.sort_index()[untied], check_names=False)
        compared += int(untied.sum())
    assert compared > 100


@pytest.mark.parametrize("name", MODELS)
def test_tied_tasks_get_the_smallest_label(name: str) -> None:
    for seed in range(3):
        model = _fit(name, _shuffled(DATA, seed), GOLD)
        probas = model.probas_.sort_index()
        labels = model.labels_.sort_index()
        tied = (probas["a"] - probas["b"]).abs() <= 1e-9
        # every task the model itself sees as tied gets 'a', whichever side the float noise favours
        assert (labels[tied] == "a").all()
        if name in SYMMETRIC:
            assert tied[SELF].all(), "the mirror symmetry makes every self-mirrored task a tie"
            assert (labels[SELF] == "a").all()


def test_simple_tie_two_symmetric_workers() -> None:
    rows = []
    for t in range(5):  # one vote for 'a' and one for 'b' from two symmetric workers
        rows += [(f"tie{t}", "u", "a"), (f"tie{t}", "v", "b")]
    for t in range(4):  # unambiguous tasks, as many 'a' as 'b'
        for lab in "ab":
            rows += [(f"{lab}{t}", "u", lab), (f"{lab}{t}", "v", lab)]
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    for name in SYMMETRIC - {"gold_mv"}:
        for seed in range(3):
            labels = _fit(name, _shuffled(df, seed)).labels_
            assert (labels[[f"tie{t}" for t in range(5)]] == "a").all(), name
            assert (labels[[f"b{t}" for t in range(4)]] == "b").all(), name


def test_argmax_ties_low_tolerance() -> None:
    two = np.array([[0.5, 0.5 + 1e-15], [0.5 + 1e-15, 0.5], [0.5 - 1e-6, 0.5 + 1e-6]])
    assert argmax_ties_low(two).tolist() == [0, 0, 1]  # float noise ties; a real difference decides
    p = np.array([
        [0.3, 0.3 + 1e-12, 0.4 - 1e-12, 0.0],
        [0.6 - 1e-6, 0.2 + 1e-6, 0.2, 0.0],
        [0.0, 0.4, 0.4 + 2e-10, 0.2],
        [0.1, 0.45, 0.45 + 1e-7, 0.0],
    ])
    assert argmax_ties_low(p).tolist() == [2, 0, 1, 2]
    # log scores: a tolerance relative to their size (here 1e-9 * 1000 = 1e-6)
    s = np.array([[-1000.0, -1000.0 + 5e-7, -2000.0], [-1000.0, -1000.0 + 5e-6, -2000.0]])
    assert argmax_ties_low(s).tolist() == [0, 1]
    assert argmax_ties_low(np.zeros((0, 3))).shape == (0,)
    row = np.array([[1.0, 1.0 - TIE_RTOL / 2, 1.0 - 2 * TIE_RTOL]])
    assert tied_to_max(row).tolist() == [[True, True, False]]


def test_random_tie_break_uses_the_same_tolerance() -> None:
    from galton.aggregator.majority_vote import label_codes

    shares = np.array([[0.5, 0.5 + 1e-15], [0.5 + 1e-15, 0.5]] * 50)
    ids = np.repeat(np.arange(50), 2)
    a = label_codes(shares, ids, tie_key=123)
    # rows i and i + 1 hold the same task with the float noise on the other side: the same draw
    assert (a[0::2] == a[1::2]).all()
    assert 0 < a.mean() < 1  # both labels are drawn
