"""BinaryRelevance: multi-label judgments aggregated one label at a time (crowd-kit's model), checked
against crowd-kit itself and against hand-counted votes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import galton

TOY = pd.DataFrame({
    "task": ["t1", "t1", "t1", "t2", "t2", "t2"],
    "worker": ["w1", "w2", "w3", "w1", "w2", "w3"],
    "label": [["house", "tree"], ["house"], ["house", "tree", "grass"], ["car"], ["car", "human"], ["train"]],
})


def _simulated(seed: int = 0, n_tasks: int = 300, per: int = 5) -> tuple[pd.DataFrame, dict]:
    """Tasks with a true tag set out of six tags; each worker keeps a true tag with probability
    ``r_w`` and adds a wrong one with probability ``1 - r_w`` (five judgments a task: no ties)."""
    rng = np.random.default_rng(seed)
    tags = ["a", "b", "c", "d", "e", "f"]
    reliability = rng.uniform(0.55, 0.95, 40)
    rows, truth = [], {}
    for t in range(n_tasks):
        true = {x for x in tags if rng.random() < 0.3}
        truth[t] = sorted(true)
        for w in rng.choice(40, per, replace=False):
            r = reliability[w]
            given = [x for x in tags if (x in true and rng.random() < r) or (x not in true and rng.random() > r)]
            rows.append((t, f"w{w}", given))
    return pd.DataFrame(rows, columns=["task", "worker", "label"]), truth


@pytest.mark.parametrize("model", ["MajorityVote", "DawidSkene", "Wawa", "GLAD"])
def test_toy_matches_crowdkits_documented_result(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = galton.BinaryRelevance(getattr(galton, model)()).fit_predict(TOY)
    assert got.name == "agg_label" and got.index.name == "task"
    assert got.to_dict() == {"t1": ["house", "tree"], "t2": ["car"]}


def test_own_column_names_as_in_fit():
    """``task_col=`` / ``worker_col=`` / ``label_col=`` as every model's fit takes them (it read the
    default names only); a frame that also holds a column named ``task`` does not clash."""
    ours = TOY.rename(columns={"task": "item", "worker": "annotator", "label": "tags"}).assign(task="other")
    cols = {"task_col": "item", "worker_col": "annotator", "label_col": "tags"}
    got = galton.BinaryRelevance(galton.DawidSkene()).fit_predict(ours, **cols)
    assert got.index.name == "task" and got.to_dict() == {"t1": ["house", "tree"], "t2": ["car"]}
    with pytest.raises(KeyError, match=r"missing column\(s\) \['worker', 'label'\].*name other columns with "
                                       r"task_col=, worker_col=, label_col="):
        galton.BinaryRelevance().fit(ours)


def test_majority_vote_per_label_equals_hand_counts_and_crowdkit():
    df, _ = _simulated()
    got = galton.BinaryRelevance().fit_predict(df)
    for task, labels in got.items():
        sets = df.loc[df["task"] == task, "label"]
        counted = sorted({x for s in sets for x in s if sum(x in s2 for s2 in sets) * 2 > len(sets)})
        assert labels == counted
    ck = pytest.importorskip("crowdkit.aggregation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = ck.BinaryRelevance(ck.MajorityVote()).fit_predict(df)
    assert {t: sorted(v) for t, v in theirs.items()} == got.to_dict()


def test_dawid_skene_per_label_beats_majority_vote_on_unequal_workers():
    """Workers of reliability 0.55-0.95: weighting them (one DS fit per tag) recovers more of the
    true tag sets than counting votes."""
    df, truth = _simulated(seed=1, n_tasks=600)
    exact = {}
    for name, base in (("mv", galton.MajorityVote()), ("ds", galton.DawidSkene())):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = galton.BinaryRelevance(base).fit_predict(df)
        exact[name] = np.mean([got[t] == truth[t] for t in truth])
    assert exact["ds"] > exact["mv"] + 0.02, exact


def test_inputs_and_errors():
    polars = pytest.importorskip("polars")
    assert galton.BinaryRelevance().fit_predict(polars.from_pandas(TOY)).rows() == [("t1", ["house", "tree"]),
                                                                                     ("t2", ["car"])]
    none = TOY.copy()
    none.loc[5, "label"] = None  # w3 tagged nothing on t2
    assert galton.BinaryRelevance().fit_predict(none).to_dict() == {"t1": ["house", "tree"], "t2": ["car"]}
    m = galton.BinaryRelevance(galton.MajorityVote()).fit(TOY)
    assert sorted(m.aggregators_) == ["car", "grass", "house", "human", "train", "tree"]
    assert m.aggregators_["house"] is not m.base_aggregator  # copies, the base stays unfitted
    scalar = TOY.assign(label=["house", ["tree"], "car", ["car"], ["car"], ["train"]])
    with pytest.raises(galton.ColumnError, match=r"column 'label'.*2 row\(s\) hold a single value \(row 0: 'house'"):
        galton.BinaryRelevance().fit(scalar)
    with pytest.raises(galton.ColumnError, match=r"missing column\(s\) \['label'\]"):
        galton.BinaryRelevance().fit(TOY.drop(columns="label"))
    with pytest.raises(TypeError, match="BradleyTerry is a pairwise model"):
        galton.BinaryRelevance(galton.BradleyTerry()).fit(TOY)
    with pytest.raises(TypeError, match="str is not a model"):
        galton.BinaryRelevance("ds").fit(TOY)
    empty = galton.BinaryRelevance().fit_predict(pd.DataFrame({"task": [], "worker": [], "label": []}))
    assert empty.empty and empty.name == "agg_label"


def test_integer_tags_with_a_null_and_other_inputs(tmp_path):
    """polars / Arrow list<int> with one null tag: the tags stay ints (to_pandas made every tag a float)
    and the null is no tag; a path and a polars LazyFrame are read as every other input (TypeError)."""
    import polars as pl
    import pyarrow as pa

    df = pl.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"],
                       "label": [[1, 4], [1, None, 4], [2], [2, 3]]})
    want = [{"task": 1, "label": [1, 4]}, {"task": 2, "label": [2]}]
    for data in (df, df.to_arrow(), df.lazy()):
        got = galton.BinaryRelevance().fit(data).labels_
        got = got.to_pylist() if isinstance(got, pa.Table) else got.to_dicts()
        assert got == want and all(type(x) is int for row in got for x in row["label"])
    df.write_parquet(tmp_path / "tags.parquet")
    assert galton.BinaryRelevance().fit(tmp_path / "tags.parquet").labels_.to_dicts() == want


def test_the_module_example_runs():
    import doctest

    from galton.aggregator import multilabel

    result = doctest.testmod(multilabel, verbose=False)
    assert result.attempted >= 3 and result.failed == 0


@pytest.fixture(scope="module")
def ray_session():
    pytest.importorskip("ray", reason="Ray is in the test extra; galton runs without it")
    from galton.workers import cluster

    return cluster.connect("local", num_cpus=2, include_dashboard=False)


def test_per_tag_fits_on_ray_equal_local(ray_session):
    """The base model's engine settings are copied into every per-tag fit: DS on two Ray shards
    gives the local fit's tag sets and posteriors."""
    df, _ = _simulated(seed=2, n_tasks=200)
    local = galton.BinaryRelevance(galton.DawidSkene(n_shards=2)).fit(df)
    ray = galton.BinaryRelevance(galton.DawidSkene(engine="ray", n_shards=2)).fit(df)
    assert ray.labels_.to_dict() == local.labels_.to_dict()
    for tag, model in local.aggregators_.items():
        np.testing.assert_allclose(ray.aggregators_[tag].posteriors_, model.posteriors_, rtol=1e-12, atol=1e-12)


def test_tags_that_did_not_converge_are_named_in_one_warning():
    """BinaryRelevance repeated one ConvergenceWarning per tag without saying which tag's fit it was;
    then one per tag, named (bug hunt: 200 lines for 200 tags): now one warning naming the tags."""
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": ["a", "b", "a", "b", "a", "b"],
                       "label": [["x", "y"], ["x"], ["y"], ["y", "z"], ["z"], ["x"]]})
    for model in (galton.DawidSkene(n_iter=1), galton.MACE(n_iter=1)):  # MACE warns of its own
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            galton.BinaryRelevance(model).fit(df)
        assert len(caught) == 1 and caught[0].category is galton.ConvergenceWarning
        first = "best restart" if isinstance(model, galton.MACE) else "DawidSkene did not converge"
        assert str(caught[0].message).startswith(
            f"3 of 3 tags' fits did not converge ('x', 'y', 'z'); the first, tag 'x': {first}")
        assert caught[0].filename == __file__
    one = df.assign(label=[["x"], [], [], [], [], ["x"]])  # one tag
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        galton.BinaryRelevance(galton.DawidSkene(n_iter=1)).fit(one)
    assert [str(w.message)[:33] for w in caught] == ["tag 'x': DawidSkene did not conve"]


def test_other_warnings_of_the_tags_fits_still_pass():
    """Only the ConvergenceWarnings are gathered into one: a tag fit's other warnings come as they did,
    one per fit (each tag's count of yes answers, here)."""
    from galton.aggregation.base import BaseClassificationAggregator

    class Loud(BaseClassificationAggregator):
        def fit_predict(self, data):
            warnings.warn(f"loud on {int(data['label'].sum())} yes", UserWarning)
            self.labels_ = data.groupby("task")["label"].max()
            return self.labels_

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = galton.BinaryRelevance(Loud()).fit_predict(TOY)
    assert got.to_dict() == {"t1": ["grass", "house", "tree"], "t2": ["car", "human", "train"]}
    assert sorted(str(w.message) for w in caught) == ["loud on 1 yes"] * 3 + ["loud on 2 yes"] * 2 + ["loud on 3 yes"]


def test_every_kind_of_missing_value_is_no_tag():
    """Bug hunt: a ``pd.NA`` row was refused as "a single value" though fit's docstring says a missing
    set means no tag; ``pd.NA`` / ``NaT`` inside a list became a chosen tag ``<NA>`` / ``NaT``, and each
    ``np.float32`` NaN became a tag of its own (NaN != NaN). Now every missing scalar is no tag."""
    base = {"task": ["a", "a", "a", "b", "b", "b"], "worker": ["x", "y", "z"] * 2}
    cases = [
        ([["p", pd.NA], ["p"], ["p", pd.NA], pd.NA, [], np.nan], {"a": ["p"], "b": []}),
        ([["p", pd.NaT], [pd.NaT], ["p", np.datetime64("NaT")], [], [None], pd.NaT], {"a": ["p"], "b": []}),
        ([np.array([1, np.nan], dtype=np.float32), np.array([1], dtype=np.float32),
          np.array([np.nan], dtype=np.float32), np.array([], dtype=np.float32),
          np.array([2, np.nan], dtype=np.float32), np.array([2, np.nan], dtype=np.float32)],
         {"a": [1.0], "b": [2.0]}),
    ]
    for labels, want in cases:
        m = galton.BinaryRelevance(galton.MajorityVote()).fit(pd.DataFrame({**base, "label": labels}))
        assert m.labels_.to_dict() == want
        assert len(m.aggregators_) == sum(len(v) for v in want.values())  # no tag made of a missing value
    # a CSV's cells split by pandas with the pyarrow backend: an empty cell is <NA>, not NaN
    tags = pd.Series(["cat|dog", "cat", None, "dog", None], dtype="string[pyarrow]").str.split("|")
    df = pd.DataFrame({"task": ["t1", "t1", "t1", "t2", "t2"], "worker": list("abcab"), "label": tags})
    assert galton.BinaryRelevance().fit_predict(df).to_dict() == {"t1": ["cat"], "t2": []}


def test_a_list_or_dict_as_a_tag_is_refused_naming_the_column_and_rows():
    """Bug hunt: a nested list or a dict inside a row's list (JSON lines) gave a bare "unhashable
    type: 'list'"; now the error names the column, the rows and what a tag may be."""
    df = pd.DataFrame({"task": ["a", "a", "b"], "worker": ["x", "y", "x"], "tags": [["p"], [["p"], "q"], [{"k": 1}]]})
    with pytest.raises(galton.ColumnError, match=r"column 'tags': a label \(tag\) in a row's list must be one "
                                                 r"value \(text, a number or a boolean\); 2 row\(s\) hold a list or "
                                                 r"a dict as a label \(row 1: \['p'\], row 2: \{'k': 1\}\)"):
        galton.BinaryRelevance().fit(df, label_col="tags")


def test_on_invalid_drop_leaves_out_rows_without_task_or_worker():
    """Bug hunt: a null task made BinaryRelevance say "pass on_invalid='drop'", which its fit did not
    take (TypeError); now it does, dropping the rows before the per-tag fits, as the CLI's
    --on-invalid drop. By default the rows are refused, naming the column and the row."""
    df = pd.DataFrame({"task": ["a", "a", None, "b", "b"], "worker": ["x", "y", "z", "x", None],
                       "label": [["p"], ["p"], ["q"], ["r"], ["s"]]})
    for base in (galton.MajorityVote(), galton.DawidSkene()):
        m = galton.BinaryRelevance(base).fit(df, on_invalid="drop")
        assert m.labels_.to_dict() == {"a": ["p"], "b": ["r"]} and sorted(m.aggregators_) == ["p", "r"]
    with pytest.raises(ValueError, match=r"column 'task' has 1 null value\(s\) \(rows 2\); column 'worker' has 1 "
                                         r"null value\(s\) \(rows 4\); 2 rows in all; drop those rows or pass "
                                         r"on_invalid='drop'"):
        galton.BinaryRelevance().fit(df)
    with pytest.raises(ValueError, match="on_invalid must be 'raise' or 'drop', not 'skip'"):
        galton.BinaryRelevance().fit(df, on_invalid="skip")


def test_polars_and_arrow_in_give_their_own_type_sorted_by_task():
    """Bug hunt: polars and Arrow input gave a pandas Series in order of first appearance, where the
    README says polars in gives polars out (Arrow: Arrow), sorted by id; now ``labels_`` is a
    ``task, label`` table of the input's type sorted by task, and so are the per-tag fits' results.
    Integer task ids stay integers, tags keep their type; a task without any tag has an empty list."""
    pl = pytest.importorskip("polars")
    import pyarrow as pa

    df = pl.DataFrame({"task": [30, 30, 30, 4, 4, 4, 100, 100], "worker": ["w1", "w2", "w3"] * 2 + ["w1", "w2"],
                       "label": [["house", "tree"], ["house"], ["house", "tree", "grass"], ["car"], ["car", "human"],
                                 ["train"], [], None]})
    want = [(4, ["car"]), (30, ["house", "tree"]), (100, [])]
    got = galton.BinaryRelevance(galton.DawidSkene()).fit(df)
    assert isinstance(got.labels_, pl.DataFrame) and got.labels_.rows() == want
    assert got.labels_.schema == {"task": pl.Int64, "label": pl.List(pl.String)}
    assert isinstance(got.aggregators_["car"].labels_, pl.DataFrame)
    arrow = galton.BinaryRelevance(galton.Wawa()).fit_predict(df.to_arrow())
    assert isinstance(arrow, pa.Table) and [tuple(r.values()) for r in arrow.to_pylist()] == want
    # no tag at all: every task with an empty list, in the input's type
    none = galton.BinaryRelevance().fit_predict(df.with_columns(label=pl.lit([], dtype=pl.List(pl.String))))
    assert isinstance(none, pl.DataFrame) and none.rows() == [(4, []), (30, []), (100, [])]


@pytest.mark.parametrize("model", ["MajorityVote", "DawidSkene", "Wawa", "GLAD"])
def test_pandas_task_order_is_crowdkits_for_each_base_model(model):
    """Bug hunt: galton kept the order of first appearance whatever the base model, where crowd-kit's
    BinaryRelevance takes the order of its first tag's results: sorted with Wawa or GLAD inside."""
    df = TOY.assign(task=TOY["task"].map({"t1": "t2", "t2": "t1"}))  # t2 first: appearance is not sorted
    want = ["t1", "t2"] if model in ("Wawa", "GLAD") else ["t2", "t1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = galton.BinaryRelevance(getattr(galton, model)()).fit_predict(df)
    assert got.index.tolist() == want and got.to_dict() == {"t2": ["house", "tree"], "t1": ["car"]}
    ck = pytest.importorskip("crowdkit.aggregation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ck.BinaryRelevance(getattr(ck, model)()).fit_predict(df).index.tolist() == want


def test_default_base_and_a_fit_without_tags_are_crowdkits():
    """Bug hunt: ``BinaryRelevance().base_aggregator`` was None (crowd-kit: ``MajorityVote()``), and
    judgments without any tag gave {'a': [], 'b': []} where crowd-kit gives an empty float Series."""
    model = galton.BinaryRelevance()
    assert isinstance(model.base_aggregator, galton.MajorityVote)
    assert galton.BinaryRelevance().base_aggregator is not model.base_aggregator  # not one shared default
    empty = galton.BinaryRelevance().fit_predict(TOY.assign(label=[[]] * 6))
    assert empty.empty and empty.dtype == np.float64 and empty.name == "agg_label"
    ck = pytest.importorskip("crowdkit.aggregation")
    theirs = ck.BinaryRelevance().fit_predict(TOY.assign(label=[[]] * 6))
    pd.testing.assert_series_equal(empty, theirs, check_index_type=False)


@pytest.mark.parametrize("frame", ["pandas", "polars"])
def test_the_memory_guard_counts_every_tags_fitted_copy(frame):
    """Each tag's fitted copy stays in aggregators_ with its own judgments; the guard saw one tag's
    fit (200k judgments x 150 tags under a 60 MB limit grew to 1,184 MB). Here 20 tags of 1,000
    judgments on 100 tasks: one majority-vote fit's estimate is 96 x 1,000 + 4 x 8 x 100 x 2 bytes
    = 102,400; 20 copies pass a limit of 1 MB (one fit does not), 2 MB holds them."""
    import polars as pl

    from galton.aggregator import MemoryLimitError, memory_limit

    n = 1_000
    df = pd.DataFrame({"task": np.arange(n) // 10, "worker": np.arange(n) % 10,
                       "label": [[f"t{i % 20}", f"t{(i + 3) % 20}"] for i in range(n)]})
    data = df if frame == "pandas" else pl.from_pandas(df)
    with memory_limit("1M"), pytest.raises(MemoryLimitError, match=r"20 fitted copies .* about 2\.0 MiB"):
        galton.BinaryRelevance(galton.MajorityVote()).fit(data)
    with memory_limit("2M"):
        assert len(galton.BinaryRelevance(galton.MajorityVote()).fit(data).aggregators_) == 20


@pytest.mark.parametrize("frame", ["pandas", "polars"])
def test_repeated_pairs_warn_once_and_duplicates_picks_the_rows(frame):
    """Docs hunt: the warning of repeated (task, worker) rows told users to pass duplicates=, which
    BinaryRelevance.fit refused (TypeError), and came once per tag (20 tags: 20 copies). Now a
    (task, worker) pair given twice, whatever its tag sets, is one repeat: one warning for the fit;
    "first" / "last" keep one row of each pair for every tag alike (the result of the data without
    the other rows), "keep" counts every row quietly, "raise" names the repeated rows."""
    rows = [("t1", "a", ["x", "y"]), ("t1", "b", ["y"]), ("t1", "a", ["x"]), ("t1", "c", ["z"]),
            ("t2", "a", ["x"]), ("t2", "b", ["x", "w"]), ("t2", "c", ["w"]), ("t2", "b", ["y"])]
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    first, last = df.drop(index=[2, 7]), df.drop(index=[0, 5])

    def convert(d):
        if frame == "pandas":
            return d.reset_index(drop=True)
        pl = pytest.importorskip("polars")
        return pl.from_pandas(d)

    def labels(m):
        got = m.labels_
        return got.to_dict() if frame == "pandas" else dict(got.rows())

    def fit(d, **options):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = galton.BinaryRelevance(galton.DawidSkene()).fit(convert(d), **options)
        return model, [str(w.message) for w in caught if "repeat a (task, worker) pair" in str(w.message)]

    model, said = fit(df)
    assert len(said) == 1 and said[0].startswith("2 row(s) repeat a (task, worker) pair (('t1', 'a'), ('t2', 'b'))")
    assert all(m.judgments_.n_judgments == 8 for m in model.aggregators_.values())  # every row counts
    kept, said = fit(df, duplicates="keep")
    assert not said and labels(kept) == labels(model)
    for choice, want in (("first", first), ("last", last)):
        got, said = fit(df, duplicates=choice)
        alone, _ = fit(want)
        assert not said and labels(got) == labels(alone) and sorted(got.aggregators_) == sorted(alone.aggregators_)
        for tag, sub in got.aggregators_.items():
            assert sub.judgments_.n_judgments == 6
            np.testing.assert_allclose(np.asarray(sub.posteriors_), np.asarray(alone.aggregators_[tag].posteriors_))
    # by hand with majority vote: the first rows give t1 a:[x, y], b:[y], c:[z] and t2 a:[x], b:[x, w], c:[w]
    # (two votes of three: y; w and x); the last ones t1 b:[y], a:[x], c:[z] and t2 a:[x], c:[w], b:[y] (none)
    mv = galton.BinaryRelevance(galton.MajorityVote())
    assert labels(mv.fit(convert(df), duplicates="first")) == {"t1": ["y"], "t2": ["w", "x"]}
    assert labels(mv.fit(convert(df), duplicates="last")) == {"t1": [], "t2": []}
    with pytest.raises(ValueError, match=r"2 repeated \(task, worker\) pair\(s\) \(rows 2, 7\); pass "
                                         r"duplicates='keep' to count them as separate votes, or 'first'/'last'"):
        galton.BinaryRelevance().fit(convert(df), duplicates="raise")
    with pytest.raises(ValueError, match="duplicates must be one of 'keep', 'first', 'last', 'raise', not 'all'"):
        galton.BinaryRelevance().fit(convert(df), duplicates="all")


def test_duplicates_raise_names_rows_by_the_frames_own_index():
    df = pd.DataFrame({"task": [1, 1, 2], "worker": ["a", "a", "a"], "label": [["x"], ["y"], []]},
                      index=["r0", "r1", "r2"])
    with pytest.raises(ValueError, match=r"1 repeated \(task, worker\) pair\(s\) \(rows with index 'r1'\)"):
        galton.BinaryRelevance().fit(df, duplicates="raise")


def test_the_warning_of_repeats_is_the_models_inside():
    """The one warning of BinaryRelevance speaks for the model inside: none for KOS, which takes a
    worker's repeated rows on a task as one edge (KOS alone gives none), MMSR's words for MMSR."""
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2, 1], "worker": list("abcabca"),
                       "label": [["x"], ["x"], [], [], ["x"], [], ["x"]]})
    for base, said in ((galton.KOS(), []), (galton.MMSR(), ["its vote counts each row"]),
                       (galton.MajorityVote(), ["its confidence and that worker's skill rise"])):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            galton.BinaryRelevance(base).fit(df)
        got = [str(w.message) for w in caught if "repeat a (task, worker) pair" in str(w.message)]
        assert len(got) == len(said) and all(s in g for s, g in zip(said, got)), (base, got)


def test_crowdkit_models_inside_are_cloned_fresh_and_fit_predicted():
    """Bug hunt: the copy for each tag was a deep copy of a model without get_params (crowd-kit's),
    fitted by ``fit``: a fitted crowd-kit Wawa gave every tag on every task (its old ``labels_``,
    which crowd-kit's Wawa.fit leaves as they were), an unfitted one an AttributeError. crowd-kit
    clones with clone_aggregator and calls fit_predict."""
    ck = pytest.importorskip("crowdkit.aggregation")
    want = {"t1": ["house", "tree"], "t2": ["car"]}
    fitted = ck.Wawa()
    fitted.fit_predict(pd.DataFrame({"task": ["t1", "t2"], "worker": ["w1", "w1"], "label": [1, 1]}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ck.BinaryRelevance(fitted).fit_predict(TOY).to_dict() == want
        for model in (fitted, ck.Wawa(), ck.ZeroBasedSkill(), ck.MajorityVote()):
            assert galton.BinaryRelevance(model).fit_predict(TOY).to_dict() == want, model


def test_a_model_of_ones_own_overriding_fit_predict_alone():
    """galton.aggregation.base lets a subclass override fit_predict alone; BinaryRelevance called
    its ``fit`` (NotImplementedError)."""
    from galton.aggregation.base import BaseClassificationAggregator

    class FirstWorker(BaseClassificationAggregator):
        def fit_predict(self, data):
            self.labels_ = data.sort_values("worker").groupby("task")["label"].first()
            return self.labels_

    # w1's own tags on each task
    assert galton.BinaryRelevance(FirstWorker()).fit_predict(TOY).to_dict() == {"t1": ["house", "tree"],
                                                                                 "t2": ["car"]}
    w2 = TOY.assign(worker=TOY["worker"].map({"w1": "w9", "w2": "w2", "w3": "w3"}))
    assert galton.BinaryRelevance(FirstWorker()).fit_predict(w2).to_dict() == {"t1": ["house"],
                                                                               "t2": ["car", "human"]}


def test_a_failed_refit_leaves_no_earlier_results():
    """Bug hunt: a refit that failed kept the previous fit's labels_ and aggregators_ (the categorical
    models drop their fitted attributes when a fit starts), read afterwards as the new data's."""
    model = galton.BinaryRelevance().fit(TOY)
    assert model.labels_.to_dict() == {"t1": ["house", "tree"], "t2": ["car"]}
    with pytest.raises(galton.ColumnError, match="single value"):
        model.fit(pd.DataFrame({"task": [9, 9], "worker": ["a", "b"], "label": ["x", "y"]}))
    assert not hasattr(model, "labels_") and not hasattr(model, "aggregators_")
    assert model.fit_predict(TOY).to_dict() == {"t1": ["house", "tree"], "t2": ["car"]}


@pytest.mark.parametrize("frame", ["pandas", "polars"])
def test_tags_spelt_two_ways_are_warned_of_as_categorical_labels_are(frame):
    """Bug hunt: NFC and NFD 'café' (two p_café columns that print alike) and 'cat' beside 'cat '
    were split into tags of their own without a word, where categorical labels get a warning."""
    import polars as pl

    nfc, nfd = "caf\u00e9", "cafe\u0301"
    df = pd.DataFrame({"task": [1, 1, 1], "worker": ["w1", "w2", "w3"], "label": [[nfc, "cat"], [nfd, "cat "], []]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = galton.BinaryRelevance().fit(df if frame == "pandas" else pl.from_pandas(df))
    assert sorted(model.aggregators_) == sorted(["cat", "cat ", nfd, nfc])  # still four tags, as written
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and all(w.filename == __file__ for w in caught)
    assert "1 tag(s) spelt in more than one Unicode form ('cafe\\u0301' and 'caf\\xe9')" in messages[0]
    assert "1 tag(s) with spaces at the ends ('cat '); 'cat' also occur(s) without them" in messages[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        galton.BinaryRelevance().fit(TOY.assign(label=TOY["label"].map(lambda t: t + ["né"])))  # one spelling: none


def test_output_chooses_the_results_layout_as_aggregates_docstring_says():
    """Bug hunt: galton.aggregate(df, BinaryRelevance(...), output="polars") raised TypeError (no
    parameter 'output'), though aggregate's docstring lists output=."""
    import polars as pl
    import pyarrow as pa

    df = TOY.assign(task=TOY["task"].map({"t1": "t2", "t2": "t1"}))  # t2 first: pandas keeps that order
    got = galton.aggregate(df, galton.BinaryRelevance(galton.MajorityVote()), output="polars")
    assert isinstance(got.labels_, pl.DataFrame)
    assert got.labels_.rows() == [("t1", ["car"]), ("t2", ["house", "tree"])]  # sorted by task, as polars in
    assert all(isinstance(m.labels_, pl.DataFrame) for m in got.aggregators_.values())
    arrow = galton.BinaryRelevance().fit(df, output="arrow").labels_
    assert isinstance(arrow, pa.Table) and arrow.column("label").to_pylist() == [["car"], ["house", "tree"]]
    back = galton.BinaryRelevance().fit(pl.from_pandas(df), output="pandas").labels_
    pd.testing.assert_series_equal(back, galton.BinaryRelevance().fit_predict(df))
    with pytest.raises(ValueError, match="output must be 'pandas', 'polars' or 'arrow', not 'dict'"):
        galton.BinaryRelevance().fit(df, output="dict")


def test_label_sets_take_plain_rows_as_they_are_and_still_drop_missing_tags() -> None:
    """Rows of only text, integers or booleans are taken whole (the fast path); a row with a None,
    a NaN or pandas' NA beside them still loses those, and an empty list is no label."""
    import numpy as np
    import pandas as pd

    from galton.aggregator.multilabel import label_sets

    rows = [["a", "b"], ["e", "f"], [], ("x",), ["a", None], [float("nan"), "c"], [pd.NA, "g"], np.array(["d"])]
    assert label_sets(rows) == [("a", "b"), ("e", "f"), (), ("x",), ("a",), ("c",), ("g",), ("d",)]
    with pytest.raises(ValueError, match=r"\(bool, int\); 1 of 3 row\(s\).*\(row 7: \[1, True\]\)"):
        label_sets([[1, 2], [pd.NA, 2], [1, True]], rows=[5, 6, 7])  # one row's mix too: True is no 1
    assert label_sets([[1, 2], [None, 2], [np.nan]]) == [(1, 2), (2,), ()]
    assert label_sets([[True, False], [None], [True]]) == [(True, False), (), (True,)]


@pytest.mark.parametrize("tags, types", [([[1], ["1"], []], "int, str"), ([[True], [1], [1]], "bool, int")])
def test_tags_of_mixed_types_are_refused(tags, types):
    """1 and "1" were two tags (votes split: t1 got no tag although two of three workers gave "1"),
    and True and 1 one tag (True == 1): a tag column mixing types is refused, as a categorical
    label column mixing types is, naming the rows of the less common type."""
    d = pd.DataFrame({"task": ["t1"] * 3, "worker": ["a", "b", "c"], "label": tags})
    with pytest.raises(ValueError, match=rf"column 'label' mixes tag types \({types}\); 1 of 3 row"):
        galton.BinaryRelevance(galton.MajorityVote()).fit(d)
    with pytest.raises(ValueError, match=r"row 1: \['1'\]" if types == "int, str" else r"row 0: \[True\]"):
        galton.BinaryRelevance(galton.MajorityVote()).fit(d)
    with pytest.raises(ValueError, match="mixes tag types"):  # the Arrow / polars path too
        galton.BinaryRelevance(galton.MajorityVote()).fit(d, output="polars")
    with pytest.raises(ValueError, match="mixes tag types"):  # a dict of columns (Arrow refused it first)
        galton.BinaryRelevance(galton.MajorityVote()).fit(d.to_dict("list"))
    # one type, numbers of two widths (1 and 1.0 are one tag) and numpy's ints: accepted, votes counted together
    same = d.assign(label=[[1], [np.int64(1)], [1.0]])
    assert galton.BinaryRelevance(galton.MajorityVote()).fit(same).labels_.to_dict() == {"t1": [1]}


def test_a_model_class_as_base_aggregator_is_refused_at_fit():
    """BinaryRelevance(MajorityVote) (the class) raised "BaseAggregator.memory_estimate() missing 1
    required positional argument" from deep inside; it says to pass an instance, as aggregate() does."""
    with pytest.raises(TypeError, match=r"^base_aggregator must be a categorical model object; pass MajorityVote\(\) "
                                        r"\(an instance\), not the class MajorityVote"):
        galton.BinaryRelevance(galton.MajorityVote).fit(TOY)
    with pytest.raises(TypeError, match=r"pass DawidSkene\(\) \(an instance\), not the class DawidSkene"):
        galton.BinaryRelevance(galton.DawidSkene).fit(TOY, output="polars")
