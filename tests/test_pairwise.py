"""The preference data model: encoding, invariances and every bad input's message."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from galton import BradleyTerry, NoisyBradleyTerry
from galton.pairwise import Choices, Comparisons


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "worker": ["w1", "w2", "w1", "w3"],
        "left": ["b", "a", "c", "a"],
        "right": ["a", "c", "b", "b"],
        "label": ["b", "c", "c", "a"],
    })


# ------------------------------------------------------------------------------------ comparisons
def test_encoding_codes_outcomes_and_sorted_vocabulary() -> None:
    c = Comparisons.from_any(_frame())
    assert c.item_names.tolist() == ["a", "b", "c"]
    assert c.worker_names.tolist() == ["w1", "w2", "w3"]
    assert c.left.tolist() == [1, 0, 2, 0] and c.right.tolist() == [0, 2, 1, 1]
    assert c.outcome.tolist() == [1.0, 0.0, 1.0, 1.0]
    assert c.worker.dtype == np.int32 and not c.left.flags.writeable
    assert c.source_kind == "pandas" and c.n_comparisons == 4


def test_same_codes_from_polars_arrow_dict_and_row_order() -> None:
    df = _frame()
    ref = Comparisons.from_any(df)
    for data in (pl.from_pandas(df), pa.Table.from_pandas(df), {k: df[k].tolist() for k in df}):
        c = Comparisons.from_any(data)
        np.testing.assert_array_equal(c.left, ref.left)
        np.testing.assert_array_equal(c.outcome, ref.outcome)
    perm = Comparisons.from_any(df.iloc[::-1])
    assert perm.item_names.tolist() == ref.item_names.tolist()
    np.testing.assert_array_equal(perm.left[::-1], ref.left)


def test_pairs_count_wins_whatever_the_side() -> None:
    c = Comparisons.from_any(_frame())
    a, b, n, wins, inverse = c.pairs()
    assert list(zip(a.tolist(), b.tolist())) == [(0, 1), (0, 2), (1, 2)]
    assert n.tolist() == [2, 1, 1]
    assert wins.tolist() == [1.0, 0.0, 0.0]  # a-b: b won once, a once; a-c: c won; b-c: c won
    assert inverse.tolist() == [0, 1, 2, 0]


@pytest.mark.parametrize("n_items", [40, 3000])  # pair keys few times the rows (dense) and many (counting sorts)
def test_pairs_equal_np_unique_of_the_pair_keys(monkeypatch: pytest.MonkeyPatch, n_items: int) -> None:
    """The pairs through the linear pair codes, bit for bit as np.unique of the keys gave them:
    shuffled rows, both sides of a pair, ties, repeated comparisons; one comparison."""
    from galton.aggregator import _kernels

    monkeypatch.setattr(_kernels, "SMALL", 0)  # the compiled kernel at any size
    rng = np.random.default_rng(7)
    left = rng.integers(0, n_items, 3000)
    right = (left + rng.integers(1, n_items, 3000)) % n_items
    label = np.where(rng.random(3000) < 0.1, -1, np.where(rng.random(3000) < 0.5, left, right))
    df = pd.DataFrame({"worker": rng.integers(0, 9, 3000), "left": left, "right": right, "label": label})
    for frame in (pd.concat([df, df.iloc[:500]]).sample(frac=1.0, random_state=2), df.iloc[:1]):
        c = Comparisons.from_any(frame, tie=-1)
        lo, hi = np.minimum(c.left, c.right).astype(np.int64), np.maximum(c.left, c.right).astype(np.int64)
        keys, inverse, counts = np.unique(lo * c.n_items + hi, return_inverse=True, return_counts=True)
        a, b, n, wins, got = c.pairs()
        assert a.dtype == b.dtype == np.int32 and n.dtype == got.dtype == np.int64
        np.testing.assert_array_equal(a.astype(np.int64) * c.n_items + b, keys)
        np.testing.assert_array_equal(n, counts)
        np.testing.assert_array_equal(got, inverse)
        ref = np.bincount(inverse, np.where(c.left == lo, c.outcome, 1.0 - c.outcome), keys.size)
        assert np.array_equal(wins.view(np.int64), ref.view(np.int64))


def test_ties_count_half() -> None:
    df = _frame()
    df.loc[1, "label"] = "tie"
    c = Comparisons.from_any(df, tie="tie")
    assert c.outcome.tolist() == [1.0, 0.5, 1.0, 1.0]
    ints = pd.DataFrame({"left": [1, 2], "right": [2, 3], "label": [-1, 3]})
    assert Comparisons.from_any(ints, tie=-1).outcome.tolist() == [0.5, 0.0]


def test_no_worker_column_means_one_worker() -> None:
    c = Comparisons.from_any(_frame().drop(columns="worker"))
    assert c.n_workers == 1 and (c.worker == 0).all()
    with pytest.raises(ValueError, match=r"missing column 'annotator'.*worker_col=None"):
        Comparisons.from_any(_frame(), worker_col="annotator")


def test_label_neither_item_message() -> None:
    df = _frame()
    df.loc[[1, 3], "label"] = "zz"
    with pytest.raises(ValueError) as e:
        Comparisons.from_any(df)
    msg = str(e.value)
    assert "column 'label' has 2 value(s) that are neither the row's 'left' nor its 'right'" in msg
    assert "rows 1, 3" in msg and "'zz' for 'a' vs 'c'" in msg
    assert "tie=<value>" in msg and "on_invalid='drop'" in msg
    c = Comparisons.from_any(df, on_invalid="drop")
    assert c.n_comparisons == 2 and c.n_dropped == 2


def test_self_comparison_message() -> None:
    df = _frame()
    df.loc[2, "right"] = "c"
    with pytest.raises(ValueError, match=re.escape("1 row(s) compare an item with itself (column 'left' "
                                                   "equals column 'right'; rows 2, item 'c')")):
        Comparisons.from_any(df)
    assert Comparisons.from_any(df, on_invalid="drop").n_comparisons == 3


@pytest.mark.parametrize("col", ["worker", "left", "right", "label"])
def test_null_messages(col: str) -> None:
    df = _frame()
    df[col] = df[col].astype(object)
    df.loc[[0, 2], col] = None
    with pytest.raises(ValueError, match=re.escape(f"column {col!r} has 2 null value(s) (rows 0, 2); "
                                                   "drop those rows or pass on_invalid='drop'")):
        Comparisons.from_any(df)
    c = Comparisons.from_any(df, on_invalid="drop")
    assert c.n_comparisons == 2 and c.n_dropped == 2


def test_empty_missing_and_type_messages(tmp_path) -> None:
    # an empty frame is crowd-kit's empty result (0 comparisons), whatever its type; a file raises
    assert Comparisons.from_any(_frame().iloc[:0]).n_judgments == 0
    empty = BradleyTerry().fit(pa.Table.from_pandas(_frame().iloc[:0], preserve_index=False)).scores_
    assert empty.num_rows == 0 and empty.schema.field("item").type == pa.string()
    skills = NoisyBradleyTerry().fit(pl.from_pandas(_frame()).head(0)).skills_  # the input's type, as when fitted
    assert isinstance(skills, pl.DataFrame) and skills.schema == {"worker": pl.String, "skill": pl.Float64}
    (tmp_path / "e.csv").write_text("worker,left,right,label\n")
    with pytest.raises(ValueError, match=r"no comparisons \(0 rows\)"):
        Comparisons.from_any(tmp_path / "e.csv")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['label'\].*left_col=, right_col=, label_col="):
        Comparisons.from_any(_frame().drop(columns="label"))
    mixed = pd.DataFrame({"left": ["a", "b"], "right": [1, 2], "label": ["a", "b"]})
    with pytest.raises(ValueError, match=r"column 'right' \(int64\) and column 'left' \(string\) hold different types"):
        Comparisons.from_any(mixed)
    with pytest.raises(ValueError, match="on_invalid must be 'raise' or 'drop'"):
        Comparisons.from_any(_frame(), on_invalid="ignore")
    bad = _frame()
    bad["label"] = "zz"
    with pytest.raises(ValueError, match="every row is invalid"):
        Comparisons.from_any(bad, on_invalid="drop")


@pytest.mark.parametrize("reader, frame, options, said", [
    (Comparisons, _frame, {"label_col": "right"},
     "right_col and label_col both name column 'right': worker_col, left_col, right_col and label_col must name four "
     "different columns, not ['worker', 'left', 'right', 'right']"),
    (Comparisons, _frame, {"worker_col": "left"}, "worker_col and left_col both name column 'left'"),
    (Comparisons, _frame, {"worker_col": None, "label_col": "left"},
     "left_col and label_col both name column 'left': left_col, right_col and label_col must name three different"),
    (Choices, lambda: _choices(), {"worker_col": "choice"},
     "worker_col and choice_col both name column 'choice': worker_col, options_col, choice_col and ranking_col "
     "must name four different columns"),
    (Choices, lambda: _choices(), {"options_col": "choice"}, "options_col and choice_col both name column 'choice'"),
])
@pytest.mark.parametrize("to", [lambda df: df, pl.from_pandas])
def test_one_column_for_two_roles_is_refused(reader, frame, options, said, to) -> None:
    """A column named for two roles failed inside pyarrow with a raw KeyError ('Column right does not
    exist in schema', 'Field "choice" exists 2 times in schema'), in pandas and polars alike; the
    README promises a refusal, as the rating reader's (bug hunt)."""
    with pytest.raises(ValueError, match=re.escape(said)) as e:
        reader.from_any(to(frame()), **options)
    assert not isinstance(e.value, KeyError)


def test_from_codes_checks() -> None:
    c = Comparisons.from_codes(np.array([0, 1]), np.array([1, 2]), np.array([1.0, 0.5]))
    assert c.n_items == 3 and c.n_workers == 1
    with pytest.raises(ValueError, match="itself"):
        Comparisons.from_codes(np.array([0]), np.array([0]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"outcome must lie in \[0, 1\]"):
        Comparisons.from_codes(np.array([0]), np.array([1]), np.array([2.0]))


# ------------------------------------------------------------------------------------ choices
def _choices() -> pd.DataFrame:
    return pd.DataFrame({
        "worker": ["u", "v", "u"],
        "options": [["x", "y", "z"], ["y", "z"], ["z", "x", "w"]],
        "choice": ["y", "z", "w"],
    })


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("layout", ["choice", "ranking"])
def test_lists_that_name_an_item_twice_are_found_in_any_list(monkeypatch: pytest.MonkeyPatch, compiled: bool,
                                                              layout: str) -> None:
    """The rows whose list repeats an item, as a set of each list finds them: 2,000 lists of 2-6 of
    40 items, a repeat anywhere in a list (first and last, adjacent, three times), one list twice over."""
    from galton.aggregator import _kernels

    monkeypatch.setattr(_kernels, "by_size", lambda kernel, n: kernel if compiled else kernel.numpy)
    rng = np.random.default_rng(11)
    lists = [[int(x) for x in rng.choice(40, rng.integers(2, 7), replace=False)] for _ in range(2000)]
    for r in rng.choice(2000, 150, replace=False):
        at = rng.integers(0, len(lists[r]), 2)
        lists[r][at[0]] = lists[r][at[1]]  # a repeat (or none where the two places are one)
    lists[3] = [5, 6, 5, 5]
    lists[4] = [7, 8, 7, 8]
    twice = np.flatnonzero([len(set(x)) < len(x) for x in lists])
    col = "options" if layout == "choice" else "ranking"
    df = pd.DataFrame({"worker": rng.integers(0, 5, 2000), col: lists})
    if layout == "choice":
        df["choice"] = [x[0] for x in lists]
    with pytest.raises(ValueError, match=rf" has {twice.size} list\(s\) that name an item twice \(rows {twice[0]},"):
        Choices.from_any(df)
    assert Choices.from_any(df, on_invalid="drop").n_dropped == twice.size


def test_best_of_n_events() -> None:
    ch = Choices.from_any(_choices())
    assert ch.layout == "choice" and ch.item_names.tolist() == ["w", "x", "y", "z"]
    assert ch.ptr.tolist() == [0, 3, 5, 8]
    assert ch.items.tolist() == [1, 2, 3, 2, 3, 3, 1, 0]
    assert ch.chosen.tolist() == [2, 3, 0]
    assert ch.worker.tolist() == [0, 1, 0]


def test_ranking_is_a_chain_of_choices() -> None:
    ch = Choices.from_any(pd.DataFrame({"worker": [1, 2], "ranking": [["c", "a", "b"], ["b", "d"]]}))
    assert ch.layout == "ranking"
    # c from {c,a,b}; a from {a,b}; b from {b,d}
    assert ch.ptr.tolist() == [0, 3, 5, 7]
    names = ch.item_names
    assert [names[ch.items[ch.ptr[e]:ch.ptr[e + 1]]].tolist() for e in range(3)] == [
        ["c", "a", "b"], ["a", "b"], ["b", "d"]]
    assert names[ch.chosen].tolist() == ["c", "a", "b"]
    assert ch.row.tolist() == [0, 0, 1]


def test_choice_messages() -> None:
    df = _choices()
    df.loc[1, "choice"] = "x"
    with pytest.raises(ValueError) as e:
        Choices.from_any(df)
    msg = str(e.value)
    assert "column 'choice' has 1 choice(s) that are not among the row's 'options' (rows 1;" in msg
    assert "'x' not in" in msg and "on_invalid='drop'" in msg
    assert Choices.from_any(df, on_invalid="drop").n_events == 2

    df = _choices()
    df.at[1, "options"] = ["z"]
    df.loc[1, "choice"] = "z"
    with pytest.raises(ValueError, match=r"1 list\(s\) with fewer than 2 items \(rows 1\)"):
        Choices.from_any(df)
    df = _choices()
    df.at[0, "options"] = ["x", "y", "x"]
    with pytest.raises(ValueError, match=r"1 list\(s\) that name an item twice \(rows 0\)"):
        Choices.from_any(df)
    df = _choices()
    df.loc[2, "choice"] = None
    with pytest.raises(ValueError, match=r"column 'choice' has 1 null value\(s\) \(rows 2\)"):
        Choices.from_any(df)
    with pytest.raises(ValueError, match=r"no choices \(0 rows\)"):
        Choices.from_any(_choices().iloc[:0])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['options', 'choice'\].*rankings need 'ranking'"):
        Choices.from_any(pd.DataFrame({"worker": [1], "items": [["a", "b"]]}))
    with pytest.raises(ValueError, match="must hold lists of items"):
        Choices.from_any(pd.DataFrame({"options": ["a"], "choice": ["a"]}))


def test_choices_from_comparisons() -> None:
    ch = Choices.from_any(Comparisons.from_any(_frame()))
    assert ch.n_events == 4 and ch.item_names.tolist() == ["a", "b", "c"]
    assert ch.item_names[ch.chosen].tolist() == ["b", "c", "c", "a"]
    df = _frame()
    df.loc[0, "label"] = "tie"
    with pytest.raises(ValueError, match=r"1 comparison\(s\) are ties \(rows 0\).*BradleyTerry"):
        Choices.from_comparisons(Comparisons.from_any(df, tie="tie"))


def test_preferences_from_ratings_and_rank_metrics() -> None:
    from galton.benchmarks.preferences import kendall_tau, preferences_from_ratings, spearman

    ratings = pd.DataFrame({"task": [1, 2, 3, 1, 2], "worker": ["a", "a", "a", "b", "b"],
                            "label": [10, 30, 10, 5, 0]})
    prefs = preferences_from_ratings(ratings)
    # a: 1<2 (2 wins), 1=3 (skipped), 2>3 (2 wins); b: 1>2 (1 wins)
    assert prefs.values.tolist() == [["a", 1, 2, 2], ["a", 2, 3, 2], ["b", 1, 2, 1]]
    assert preferences_from_ratings(ratings, ties=True)["label"].tolist() == ["2", "tie", "2", "1"]
    c = Comparisons.from_any(preferences_from_ratings(ratings, ties=True), tie="tie")
    assert c.outcome.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert spearman(np.array([1, 2, 3, 4]), np.array([10, 20, 20, 40])) == pytest.approx(0.9486832980505138)
    assert kendall_tau(np.array([1, 2, 3]), np.array([3, 2, 1])) == -1.0


def test_a_tie_value_that_is_also_an_item_is_refused() -> None:
    """tie=0 beside an item 0 read item 0's wins as ties (outcome [0.5, 1, 1, 0.5])."""
    clash = pd.DataFrame({"worker": ["w"] * 4, "left": [0, 1, 2, 0], "right": [1, 2, 0, 2], "label": [0, 1, 2, 0]})
    for tie in (0, "0"):
        with pytest.raises(ValueError, match=re.escape(
                f"tie={tie!r} is also an item: column 'left' or 'right' holds it in 3 row(s) (rows 0, 2, 3)")):
            BradleyTerry().fit(clash, tie=tie)
    assert Comparisons.from_any(clash, tie=-1).outcome.tolist() == [1.0, 1.0, 1.0, 1.0]  # no item -1
    text = clash.astype(str)
    with pytest.raises(ValueError, match="tie='2' is also an item"):
        Comparisons.from_any(text, tie="2")
    assert Comparisons.from_any(text, tie="tie").outcome.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_a_tie_marker_in_a_file_leaves_integer_items_integers(tmp_path) -> None:
    """A CSV whose label column is text only for its "tie" marker: the items stay the integers
    they are without it (README: ints stay ints; they came back as "1", "2", "3")."""
    import galton

    rows = [("w1", 1, 2, "1"), ("w1", 2, 3, "tie"), ("w2", 3, 1, "1"), ("w2", 1, 3, "3")]
    text, marked = tmp_path / "t.csv", tmp_path / "n.csv"
    text.write_text("worker,left,right,label\n" + "".join(f"{w},{a},{b},{c}\n" for w, a, b, c in rows))
    marked.write_text(text.read_text().replace("tie", "-1"))
    got = galton.aggregate(str(text), tie="tie", output="pandas")
    ref = galton.aggregate(str(marked), tie=-1, output="pandas")
    assert got.scores_.index.tolist() == ref.scores_.index.tolist() == [1, 2, 3]
    np.testing.assert_allclose(got.scores_values_, ref.scores_values_, rtol=1e-12)
    padded = tmp_path / "p.csv"  # a label written 007 is no canonical integer: the ids stay text, as before
    padded.write_text("worker,left,right,label\nw,7,2,007\nw,2,3,tie\n")
    with pytest.raises(ValueError, match="label '007' for '7' vs '2'"):
        galton.aggregate(str(padded), tie="tie")


def test_a_text_tie_marker_beside_integer_items():
    # label as text only because ties are marked "tie": the other labels are the integer items
    base = {"worker": ["w"] * 4, "left": [1, 2, 3, 1], "right": [2, 3, 1, 3]}
    text = BradleyTerry(prior=0.5).fit(pd.DataFrame({**base, "label": ["1", "tie", "3", "tie"]}), tie="tie")
    numeric = BradleyTerry(prior=0.5).fit(pd.DataFrame({**base, "label": [1, -1, 3, -1]}), tie=-1)
    np.testing.assert_allclose(text.scores_values_, numeric.scores_values_, rtol=1e-12)
    assert text.scores_.index.tolist() == [1, 2, 3]  # the items stay integers
    with pytest.raises(ValueError, match="hold different types of item ids"):  # text that is no number
        BradleyTerry().fit(pd.DataFrame({**base, "label": ["x", "tie", "3", "tie"]}), tie="tie")


def test_the_type_error_names_a_cast_that_works() -> None:
    """A label 2.5 beside integer items was refused as a type clash with the advice
    ``df['label'] = df['label'].astype(str)``, and after that cast (text labels) the same advice
    again: a no-op. A number that is no item id is now a label that is neither item of its row (and
    dropped with on_invalid='drop'); text beside integer items is told to cast the items to text or
    the labels to numbers, which both work (bug hunt)."""
    df = pd.DataFrame({"worker": ["a", "a", "a"], "left": [1, 2, 1], "right": [2, 3, 3], "label": [1.0, 2.5, 3.0]})
    with pytest.raises(ValueError, match=re.escape("column 'label' has 1 value(s) that are neither the row's 'left' "
                                                   "nor its 'right' item (rows 1; row 1: label 2.5 for 2 vs 3)")):
        Comparisons.from_any(df)
    c = Comparisons.from_any(df, on_invalid="drop")
    assert c.n_dropped == 1 and c.item_names.tolist() == [1, 2, 3] and c.outcome.tolist() == [1.0, 0.0]
    text = df.assign(label=["1", "3", "3"])
    with pytest.raises(ValueError) as e:
        Comparisons.from_any(text)
    said = str(e.value)
    assert "df['label'].astype(str)" not in said
    assert ("df['left'] = df['left'].astype(str) and df['right'] = df['right'].astype(str) (the items as text), "
            "or df['label'] = pd.to_numeric(df['label'])") in said
    # each advice, followed, reads the same comparisons
    as_text = text.assign(left=text["left"].astype(str), right=text["right"].astype(str))
    as_numbers = text.assign(label=pd.to_numeric(text["label"]))
    for fixed in (as_text, as_numbers):
        c = Comparisons.from_any(fixed)
        assert [str(i) for i in c.item_names] == ["1", "2", "3"] and c.outcome.tolist() == [1.0, 0.0, 0.0]
    # choices: the same, and a list column's advice converts its items (astype(str) made each list one text)
    ch = _choices().assign(options=[[1, 2], [2, 3], [1, 3]], choice=[1.0, 2.5, 3.0])
    with pytest.raises(ValueError, match=re.escape("column 'choice' has 1 choice(s) that are not among the row's "
                                                   "'options' (rows 1; row 1: 2.5 not in ['2', '3'])")):
        Choices.from_any(ch)
    assert Choices.from_any(ch, on_invalid="drop").n_dropped == 1
    with pytest.raises(ValueError, match=re.escape("df['options'] = df['options'].map(lambda xs: [str(x) for x in "
                                                   "xs]) (the items as text), or df['choice'] = pd.to_numeric(")):
        Choices.from_any(ch.assign(choice=["1", "3", "3"]))
    listed = ch.assign(choice=["1", "3", "3"], options=ch["options"].map(lambda xs: [str(x) for x in xs]))
    assert Choices.from_any(listed).n_events == 3


def test_a_float_label_column_reads_alike_from_every_format(tmp_path) -> None:
    """(bug hunt) pandas makes a label column with one missing value float64 ([1.0, 2.0, NaN, ...]);
    written to JSON lines or CSV (``1.0``), every row was refused ("every row is invalid" with
    on_invalid='drop', "label '1.0' for '1' vs '2'" without), while the frame and its Parquet file fit:
    the label text 1.0 made the integer items the texts 1, 2. Whole numbers written as floats are
    the integer items in every format; a tie marker beside them stays one; 1.5 stays no item (007: test above)."""
    import galton

    left, right = [1, 2, 3, 1, 2, 1, 3], [2, 3, 1, 3, 1, 2, 2]
    df = pd.DataFrame({"worker": ["w1", "w2", "w1", "w2", "w1", "w2", "w1"], "left": left, "right": right,
                       "label": [1, 2, np.nan, 1, 2, 1, 3]})
    assert df["label"].dtype == np.float64
    df.to_parquet(tmp_path / "p.parquet")
    df.to_json(tmp_path / "p.jsonl", orient="records", lines=True)
    df.to_csv(tmp_path / "p.csv", index=False)
    assert "\n1.0" not in (tmp_path / "p.csv").read_text() and ",1.0\n" in (tmp_path / "p.csv").read_text()
    ref = BradleyTerry().fit(df.dropna().astype({"label": int}))  # 1 beats 2 twice and 3 twice; 2 beats 3 ...
    assert ref.scores_.index.tolist() == [1, 2, 3] and np.ptp(ref.scores_values_) > 0.5
    for src in (df, tmp_path / "p.parquet", tmp_path / "p.jsonl", tmp_path / "p.csv"):
        m = BradleyTerry().fit(src, on_invalid="drop", output="pandas")
        assert m.scores_.index.tolist() == [1, 2, 3], src  # the items stay integers
        np.testing.assert_allclose(m.scores_values_, ref.scores_values_, rtol=1e-12)
        with pytest.raises(ValueError, match=r"column 'label' has 1 null value\(s\) \(rows 2\)"):
            BradleyTerry().fit(src)
    # a tie marker beside them (-1.0, written by pandas from floats) is the tie -1
    ties = df.fillna(-1.0)
    ties.to_csv(tmp_path / "t.csv", index=False)
    ties.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    want = BradleyTerry().fit(ties.astype({"label": int}), tie=-1).scores_values_
    for src in (tmp_path / "t.csv", tmp_path / "t.jsonl"):
        np.testing.assert_allclose(BradleyTerry().fit(src, tie=-1).scores_values_, want, rtol=1e-12)
    (tmp_path / "m.csv").write_text((tmp_path / "p.csv").read_text().replace(",\n", ",tie\n"))  # a text marker
    np.testing.assert_allclose(galton.BradleyTerry().fit(tmp_path / "m.csv", tie="tie").scores_values_, want,
                               rtol=1e-12)
    # 1.5 is no item of its row, in every format (the text 1.5 made the 1.0 beside it no item too)
    half = pd.DataFrame({"worker": ["w", "w"], "left": [1, 2], "right": [2, 3], "label": [1.0, 1.5]})
    half.to_parquet(tmp_path / "h.parquet")
    half.to_csv(tmp_path / "h.csv", index=False)
    for src in (half, tmp_path / "h.parquet", tmp_path / "h.csv"):
        with pytest.raises(ValueError, match=r"has 1 value\(s\) that are neither .* \(rows 1; row 1: label 1.5 "
                                             r"for 2 vs 3\)"):
            BradleyTerry().fit(src)
