"""Embedding models (ClosestToAverage, RASA): the chi-square quantile against published table
values, equal results to crowd-kit's models on simulated embeddings, by-hand choices, and what RASA
recovers about its workers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from galton import RASA, ClosestToAverage
from galton.aggregator.embeddings import chi2_upper_quantile
from galton.benchmarks.texts import simulate_embeddings
from galton.judgments import ColumnError

ck = pytest.importorskip("crowdkit.aggregation", reason="crowd-kit (the reference) is a test dependency")


def _simulate(seed: int, n_tasks: int = 120, per_task: int = 5, dim: int = 8):
    """Tasks 0.. with a true vector; 15 workers, each adding Gaussian noise of their own scale."""
    return simulate_embeddings(seed, n_tasks, per_task, dim)


def test_chi_square_upper_quantiles_match_the_published_table():
    # chi-square table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.4), upper 2.5% points
    table = {1: 5.024, 2: 7.378, 5: 12.833, 10: 20.483, 30: 46.979, 100: 129.561}
    got = chi2_upper_quantile(0.025, np.array(list(table)))
    np.testing.assert_allclose(got, list(table.values()), atol=1e-3)


def test_closest_to_average_by_hand():
    data = pd.DataFrame({"task": ["a", "a", "a"], "worker": [1, 2, 3], "output": ["x", "y", "z"],
                         "embedding": [np.array([0.0, 0.0]), np.array([2.0, 0.0]), np.array([10.0, 0.0])]})
    # mean (4, 0): distances 4, 2, 6 -> "y"
    out = ClosestToAverage("euclidean").fit_predict(data)
    assert out.loc["a", "output"] == "y" and out.columns.tolist() == ["output", "embedding"]
    # against a given centre (0.5, 0): "x"
    centre = pd.Series([np.array([0.5, 0.0])], index=["a"])
    assert ClosestToAverage(lambda u, v: float(np.abs(u - v).sum())).fit_predict(data, centre).loc["a", "output"] == "x"


@pytest.mark.parametrize("seed", [0, 1])
def test_rasa_and_closest_to_average_equal_crowdkits(seed):
    data, truth, _ = _simulate(seed)
    true = pd.Series([truth[i] for i in range(0, 120, 7)], index=list(range(0, 120, 7)))
    for kwargs in ({}, {"true_embeddings": true}):
        ours, theirs = RASA(), ck.RASA()
        a = ours.fit_predict(data, **kwargs)
        b = theirs.fit_predict(data, **kwargs)
        assert a.index.equals(b.index) and a["output"].tolist() == b["output"].tolist()
        # workers in crowd-kit's (sorted) order: "w10" before "w2", not as they first appear
        assert ours.skills_.index.tolist() == theirs.skills_.index.tolist() == sorted(set(data["worker"]))
        np.testing.assert_allclose(ours.skills_.to_numpy(), theirs.skills_.to_numpy(), rtol=1e-9)
        # crowd-kit's prior_skills_ come in its value_counts order (most rows first): compared by worker
        np.testing.assert_allclose(ours.prior_skills_.sort_index().to_numpy(),
                                   theirs.prior_skills_.sort_index().to_numpy(), rtol=1e-9)
        for name in ("skills_", "prior_skills_", "aggregated_embeddings_"):  # crowd-kit's names: a drop-in
            got, want = getattr(ours, name), getattr(theirs, name)
            assert (got.name, got.index.name) == (want.name, want.index.name), name  # 'skill', 'prior_skill', ...
    cosine = ck.RASA._cosine_distance
    assert ClosestToAverage("cosine").fit_predict(data)["output"].tolist() == \
        ck.ClosestToAverage(distance=cosine).fit_predict(data)["output"].tolist()


def test_rasa_ranks_the_workers_by_their_noise_and_chooses_closer_outputs():
    data, truth, noise = _simulate(3, n_tasks=300)
    rasa = RASA()
    chosen = rasa.fit_predict(data)
    mean = ClosestToAverage("cosine").fit_predict(data)
    def error(frame):
        return np.mean([np.linalg.norm(e - truth[t]) for t, e in frame["embedding"].items()])

    assert error(chosen) < error(mean)
    skills = rasa.skills_.reindex([f"w{w}" for w in range(15)]).to_numpy()
    rank = np.corrcoef(np.argsort(np.argsort(skills)), np.argsort(np.argsort(-noise)))[0, 1]
    assert rank > 0.9  # reliabilities in the order of the workers' precision


def test_bad_input_is_refused():
    data, _, _ = _simulate(0, n_tasks=3)
    with pytest.raises(ColumnError, match="embedding"):
        RASA().fit(data.drop(columns="embedding"))
    ragged = data.copy()
    ragged.at[0, "embedding"] = np.zeros(3)
    with pytest.raises(ValueError, match="one length"):
        RASA().fit(ragged)
    twice = pd.Series([np.zeros(8), np.zeros(8)], index=[0, 0])
    with pytest.raises(ValueError, match="multiple true embeddings"):
        RASA().fit(data, twice)


def test_embeddings_that_are_not_numbers_are_refused_naming_the_column_and_rows():
    """Bug hunt: text or dict embeddings (or an encoder returning text) failed inside numpy, "could
    not convert string to float: 'abc'" or float()'s TypeError, naming no column and no row."""
    from galton import HRRASA, TextRASA

    data = pd.DataFrame({"task": ["t1", "t1", "t2"], "worker": ["a", "b", "a"], "output": ["o1", "o2", "o3"]})
    text = data.assign(embedding=["abc", "abd", np.array([1.0, 2.0])])
    for model in (RASA(), HRRASA(), ClosestToAverage()):
        with pytest.raises(ValueError, match=r"^column 'embedding': 2 of 3 row\(s\) hold values that are not numbers "
                                             r"\(row 0: str 'abc', output 'o1'; row 1: str 'abd', output 'o2'\); "
                                             r"embeddings must be numeric vectors"):
            model.fit(text)
    dicts = data.assign(embedding=[{"x": 1.0}, np.zeros(2), np.zeros(2)])
    with pytest.raises(ValueError, match=r"1 of 3 row\(s\) .* \(row 0: dict, output 'o1'\)"):
        RASA().fit_predict(dicts)
    texts = data.drop(columns="output").assign(text=["x", "y", "z"])
    with pytest.raises(ValueError, match=r"^the encoder's vectors for column 'text': 3 of 3 row\(s\) hold values "
                                         r"that are not numbers \(row 0: ndarray of <U1, text 'x';"):
        TextRASA(lambda s: np.array([s, s])).fit(texts)


def test_gleu_by_hand_and_equal_to_nltk():
    from nltk.translate.gleu_score import sentence_gleu

    from galton.aggregator.embeddings import gleu_similarity

    # "a b c" / "a b d": shared a, b, "a b" = 3 of 6 n-grams each (3 + 2 + 1)
    assert gleu_similarity("a b c", "a b d") == 0.5 == gleu_similarity("a b d", "a b c")
    rng = np.random.default_rng(0)
    for _ in range(200):
        x, y = (" ".join(rng.choice(list("abcde"), rng.integers(1, 8))) for _ in range(2))
        assert gleu_similarity(x, y) == pytest.approx(sentence_gleu([x.split()], y.split()), abs=1e-15)


def test_hrrasa_local_weights_by_hand_and_equal_to_rasa_when_they_are_all_one():
    from galton import HRRASA

    data = pd.DataFrame({"task": ["a", "a", "a", "b"], "worker": [1, 2, 3, 1], "output": ["x", "y", "z", "solo"],
                         "embedding": [np.array([1.0, 0.0]), np.array([1.0, 0.0]), np.array([0.0, 1.0]),
                                       np.array([3.0, 4.0])]})
    h = HRRASA(lambda_emb=1.0, lambda_out=0.0)
    out = h.fit_predict(data)
    # squared norms 1: exp(-0) = 1 between the two equal vectors, exp(-2) to the third; means over 2 others
    in_a = h.local_skills_[h.local_skills_["task"] == "a"].sort_values("worker")
    local = in_a["local_skill"].to_numpy()
    np.testing.assert_allclose(local, [(1 + np.exp(-2)) / 2, (1 + np.exp(-2)) / 2, np.exp(-2)], rtol=1e-12)
    assert out.loc["b", "output"] == "solo" and np.isnan(h.local_skills_["local_skill"].iloc[-1])
    # every local weight 1 (no embedding term, constant similarity): RASA exactly
    sim, _, _ = _simulate(5, n_tasks=80)
    flat = HRRASA(lambda_emb=0.0, lambda_out=1.0, output_similarity=lambda u, v: 1.0)
    rasa = RASA()
    assert flat.fit_predict(sim)["output"].tolist() == rasa.fit_predict(sim)["output"].tolist()
    np.testing.assert_allclose(flat.skills_.to_numpy(), rasa.skills_.to_numpy(), rtol=1e-12)


def test_hrrasa_gleu_matrix_equals_the_pairwise_gleu_similarity_exactly():
    from galton import HRRASA
    from galton.aggregator.embeddings import _gleu_matrix, gleu_similarity

    rng = np.random.default_rng(3)
    tasks = [["", "", "a"], ["a a a a a", "a a", "a", "a a a a a a"], ["b c", "c b", "b c d e f", "", "b"],
             ["x y z w v", "x y z w", "z", "x y z w v u", "w v u x"]]
    tasks += [[" ".join(rng.choice(list("abcd"), rng.integers(0, 9))) for _ in range(rng.integers(2, 12))]
              for _ in range(30)]
    for texts in tasks:
        pairwise = np.array([[gleu_similarity(u, v) if i != j else 0.0 for j, v in enumerate(texts)]
                             for i, u in enumerate(texts)])
        assert np.array_equal(_gleu_matrix(np.array(texts, dtype=object)), pairwise), texts
    # HRRASA's own path (the default similarity) weighs the outputs exactly as the pairwise calls do
    data = pd.DataFrame({"task": [t for t, texts in enumerate(tasks) for _ in texts],
                         "worker": [w for texts in tasks for w in range(len(texts))],
                         "output": [x for texts in tasks for x in texts]})
    data.loc[1, "worker"] = 0  # a worker's two outputs in one task are not compared
    data["embedding"] = list(rng.normal(size=(len(data), 3)))
    fast, slow = HRRASA(), HRRASA(output_similarity=lambda u, v: gleu_similarity(u, v))
    fast.fit(data), slow.fit(data)
    assert np.array_equal(fast.local_skills_["local_skill"].to_numpy(), slow.local_skills_["local_skill"].to_numpy())
    assert (fast.local_skills_["local_skill"] > 0.0).all()


def test_text_hrrasa_runs_hrrasa_on_encoded_texts():
    from galton import HRRASA, TextHRRASA
    from galton.benchmarks.texts import simulate_transcripts

    data, _ = simulate_transcripts(6, n_tasks=40, per_task=4, words=8)

    def encode(text):
        v = np.zeros(16)
        for w in text.split():
            v[sum(map(ord, w)) % 16] += 1
        return v

    texts = TextHRRASA(encode, calculate_ranks=True).fit_predict(data)
    encoded = data.rename(columns={"text": "output"}).assign(embedding=[encode(t) for t in data["text"]])
    direct = HRRASA(tol=1e-5).fit_predict(encoded)
    assert texts.name == "agg_text" and texts.tolist() == direct["output"].tolist()


def test_loss_history_is_the_relative_squared_change_of_the_centres():
    from galton import HRRASA, TextRASA

    data, _, _ = _simulate(4, n_tasks=60)
    one, two = RASA(n_iter=1, tol=0.0).fit(data), RASA(n_iter=2, tol=0.0).fit(data)
    c1 = np.stack(one.aggregated_embeddings_.to_list())
    c2 = np.stack(two.aggregated_embeddings_.to_list())
    assert one.loss_history_ == [] and len(two.loss_history_) == 1
    assert two.loss_history_[0] == pytest.approx(((c2 - c1) ** 2).sum() / (c2 ** 2).sum(), rel=1e-12)
    full = HRRASA(tol=1e-4).fit(data)  # stops at the first loss below tol, every earlier one above it
    assert full.loss_history_[-1] < 1e-4 <= min(full.loss_history_[:-1])
    text = TextRASA(lambda s: np.array([len(s), s.count("a"), 1.0]), n_iter=3, tol=0.0)
    text.fit(pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["u", "v", "u", "v"], "text": ["ab", "abc", "a", "ba"]}))
    assert len(text.loss_history_) == 2  # read through from the RASA inside, as crowd-kit's property


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nan_or_infinite_embedding_is_refused_naming_its_row(bad):
    """One NaN in one embedding made every RASA / HRRASA skill and aggregated embedding NaN, and
    each task's choice its first row, without a word (bug hunt; crowd-kit raises too)."""
    from galton import HRRASA

    rng = np.random.default_rng(0)
    rows = [(f"t{t}", f"w{w}", rng.normal(0, 1, 3), f"out{t}{w}") for t in range(4) for w in range(3)]
    df = pd.DataFrame(rows, columns=["task", "worker", "embedding", "output"])
    df.at[7, "embedding"] = np.array([bad, 1.0, 1.0])
    for model in (RASA(), HRRASA(), ClosestToAverage()):
        with pytest.raises(ValueError, match=r"column 'embedding': 1 embedding\(s\) with a NaN or infinite value "
                                             r"\(row 7: output 'out21'\); drop or fix those rows"):
            model.fit(df)


def test_embeddings_of_other_lengths_are_refused_naming_their_rows():
    """Vectors of several lengths raised "got shapes [(2,), (3,)]", naming no row (bug hunt): the
    rows that differ from the most common length are named, with their shapes and outputs."""
    from galton import HRRASA

    rng = np.random.default_rng(0)
    rows = [(f"t{t}", f"w{w}", rng.normal(0, 1, 3), f"out{t}{w}") for t in range(4) for w in range(3)]
    df = pd.DataFrame(rows, columns=["task", "worker", "embedding", "output"])
    df.at[7, "embedding"], df.at[2, "embedding"] = np.ones(2), np.ones((3, 1))
    for model in (RASA(), HRRASA(), ClosestToAverage()):
        with pytest.raises(ValueError, match=r"^column 'embedding': expected 1-D arrays of one length; 2 of 12 "
                                             r"row\(s\) differ from the most common length 3 \(row 2: shape \(3, 1\), "
                                             r"output 'out02'; row 7: shape \(2,\), output 'out21'\); give every row"):
            model.fit(df)
    with pytest.raises(ValueError, match=r"none of the 2 row\(s\) holds a 1-D array \(row 0: shape \(1, 2\); row 1"):
        RASA().fit(pd.DataFrame({"task": [1, 1], "worker": ["a", "b"], "embedding": [np.ones((1, 2))] * 2}))


@pytest.fixture
def ck_hrrasa(monkeypatch):
    """crowd-kit's HRRASA, its weighted mean made to run on pandas 3 (it builds a float64 Series from
    a Series of arrays, which pandas 3 refuses); otherwise its code as it is."""
    hrrasa = pytest.importorskip("crowdkit.aggregation.embeddings.hrrasa")

    def aggregate(data, weights, true_embeddings=None):
        data = data.join(weights, on=["task", "worker"])
        data["weighted_embedding"] = data.weight * data.embedding
        group = data.groupby("task", group_keys=False)
        agg = group.weighted_embedding.apply(np.sum) / group.weight.sum()
        agg.update(pd.Series([], dtype=np.float64) if true_embeddings is None else true_embeddings)
        return agg

    monkeypatch.setattr(hrrasa.HRRASA, "_aggregate_embeddings", staticmethod(aggregate))
    return hrrasa.HRRASA


def _with_one_output_tasks(seed: int = 1):
    """30 tasks of 3 outputs, and 270 tasks of one output (far larger embeddings)."""
    rng = np.random.default_rng(seed)
    rows = [(f"t{t}", f"w{w}", f"o{rng.integers(0, 5)}", rng.normal(size=3) + t % 3)
            for t in range(30) for w in rng.choice(8, size=3, replace=False)]
    multi = pd.DataFrame(rows, columns=["task", "worker", "output", "embedding"])
    single = pd.DataFrame([(f"s{t}", f"w{t % 8}", "x", rng.normal(size=3) * 10) for t in range(270)],
                          columns=multi.columns)
    return multi, pd.concat([multi, single], ignore_index=True)


@pytest.mark.parametrize("tol", [1e-9, 1e-5])
def test_hrrasa_loss_leaves_out_one_output_tasks_as_crowdkits(ck_hrrasa, tol):
    """The loss counted the centres of one-output tasks (which never change) in its denominator, so
    adding tasks judged once shrank every loss (0.049 -> 1e-4 in the first round), stopped the fit
    early and changed 3 of 30 other tasks' answers at tol=1e-5 (bug hunt)."""
    from galton import HRRASA

    def same(u, v):
        return float(u == v)

    multi, both = _with_one_output_tasks()
    ours, theirs = HRRASA(tol=tol, output_similarity=same).fit(both), ck_hrrasa(tol=tol, output_similarity=same)
    theirs.fit(both)
    assert len(ours.loss_history_) == len(theirs.loss_history_) > 3
    np.testing.assert_allclose(ours.loss_history_, theirs.loss_history_, rtol=1e-9)
    np.testing.assert_allclose(ours.skills_.sort_index().to_numpy(), theirs.skills_.sort_index().to_numpy(),
                               rtol=1e-9)
    alone = HRRASA(tol=tol, output_similarity=same)
    out_alone = alone.fit_predict(multi)
    together = HRRASA(tol=tol, output_similarity=same)
    out_together = together.fit_predict(both).loc[out_alone.index]
    assert alone.loss_history_ == together.loss_history_
    assert out_alone["output"].tolist() == out_together["output"].tolist()
    np.testing.assert_allclose(alone.skills_.to_numpy(), together.skills_.to_numpy(), rtol=1e-12)


def _two_tasks():
    return pd.DataFrame([["t1", "p1", "a", np.array([1.0, 0.0])], ["t1", "p2", "a", np.array([1.0, 0.1])],
                         ["t1", "p3", "b", np.array([0.0, 1.0])], ["t2", "p1", "c", np.array([1.0, 1.0])],
                         ["t2", "p2", "d", np.array([0.0, 1.0])], ["t2", "p3", "d", np.array([0.1, 1.0])]],
                        columns=["task", "worker", "output", "embedding"])


def test_missing_true_embeddings_are_skipped_as_crowdkits():
    """A NaN in true_embeddings (pandas' "not known") made every skill NaN and changed t2's answer; a
    Series mixing arrays and NaN crashed in numpy. crowd-kit's Series.update skips them (bug hunt)."""
    from galton import HRRASA

    df = _two_tasks()
    unknown = pd.Series([np.nan], index=["t1"])
    mixed = pd.Series([np.array([0.0, 1.0]), np.nan, None], index=["t1", "t2", "t3"], dtype=object)
    only_t1 = pd.Series([np.array([0.0, 1.0])], index=["t1"])
    for true, same_as in ((unknown, None), (mixed, only_t1)):
        ours, theirs = RASA(), ck.RASA()
        a, b = ours.fit_predict(df, true), theirs.fit_predict(df, true)
        assert a["output"].tolist() == b["output"].tolist() == RASA().fit_predict(df, same_as)["output"].tolist()
        np.testing.assert_allclose(ours.skills_.to_numpy(), theirs.skills_.sort_index().to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(HRRASA().fit(df, true).skills_.to_numpy(),
                                   HRRASA().fit(df, same_as).skills_.to_numpy(), rtol=1e-12)
        cta = ClosestToAverage("cosine").fit(df, true_embeddings=true).scores_["score"]
        np.testing.assert_allclose(cta, ClosestToAverage("cosine").fit(df, true_embeddings=same_as).scores_["score"])


def test_bad_true_or_aggregated_embeddings_are_refused_naming_the_task():
    """A NaN inside a true embedding gave all-NaN skills silently, one of another length numpy's
    broadcast error, and ClosestToAverage with aggregated_embeddings lacking a task an arbitrary
    output with NaN scores (crowd-kit raises) (bug hunt)."""
    from galton import HRRASA

    df = _two_tasks()
    nan_inside = pd.Series([np.array([0.0, np.nan])], index=["t1"])
    too_long = pd.Series([np.array([0.0, 1.0]), np.array([0.0, 1.0, 0.0])], index=["t1", "t2"])
    for model in (RASA(), HRRASA()):
        with pytest.raises(ValueError, match=r"true_embeddings has 1 embedding\(s\) with a NaN .* \(task 't1'\)"):
            model.fit(df, nan_inside)
        with pytest.raises(ValueError, match=r"true_embeddings has 1 value\(s\) .* length 2 \(task 't2'\)"):
            model.fit(df, too_long)
    with pytest.raises(ValueError, match=r"true_embeddings has 1 embedding\(s\) with a NaN .* \(task 't1'\)"):
        ClosestToAverage().fit(df, true_embeddings=nan_inside)
    with pytest.raises(ValueError, match=r"aggregated_embeddings has 1 value\(s\) .* \(task 't2'\)"):
        ClosestToAverage().fit(df, too_long)
    for lacking in (pd.Series([np.array([1.0, 0.0])], index=["t1"]),
                    pd.Series([np.array([1.0, 0.0]), np.nan], index=["t1", "t2"])):
        with pytest.raises(ValueError, match=r"aggregated_embeddings has no embedding for 1 task\(s\) .* "
                                             r"\(task 't2'\); give one for every task"):
            ClosestToAverage().fit_predict(df, lacking)


def test_scores_keep_the_input_row_order_and_hrrasa_weights_crowdkits_layout(ck_hrrasa):
    """scores_ came sorted by task where crowd-kit's keep the input's row order; its task index
    repeats, so users attach them by position. HRRASA's weights_ were a flat task/worker/weight
    frame where crowd-kit's is indexed by (task, worker) (bug hunt)."""
    from scipy.spatial.distance import cosine

    from galton import HRRASA

    data, _, _ = _simulate(2, n_tasks=30)
    data = data.sample(frac=1.0, random_state=0).reset_index(drop=True)  # tasks interleaved
    cases = [(ClosestToAverage(cosine).fit_predict_scores(data), ck.ClosestToAverage(cosine).fit_predict_scores(data)),
             (RASA().fit_predict_scores(data), ck.RASA().fit_predict_scores(data))]
    def same(u, v):
        return float(u == v)

    ours, theirs = HRRASA(tol=1e-5, output_similarity=same), ck_hrrasa(tol=1e-5, output_similarity=same)
    cases.append((ours.fit_predict_scores(data), theirs.fit_predict_scores(data)))
    for a, b in cases:
        assert a.index.name == b.index.name == "task" and a.columns.tolist() == b.columns.tolist()
        assert a.index.tolist() == b.index.tolist() == data["task"].tolist()
        assert a["output"].tolist() == b["output"].tolist() == data["output"].tolist()
        np.testing.assert_allclose(a["score"].to_numpy(), b["score"].to_numpy(), rtol=1e-9, atol=1e-12)
    assert ours.weights_.index.names == theirs.weights_.index.names == ["task", "worker"]
    for name in ("skills_", "prior_skills_", "aggregated_embeddings_"):  # crowd-kit's Series names (bug hunt)
        got, want = getattr(ours, name), getattr(theirs, name)
        assert (got.name, got.index.name) == (want.name, want.index.name), name
    assert ours.weights_.columns.tolist() == theirs.weights_.columns.tolist() == ["weight"]
    assert ours.weights_.index.tolist() == theirs.weights_.index.tolist()
    np.testing.assert_allclose(ours.weights_["weight"].to_numpy(), theirs.weights_["weight"].to_numpy(), rtol=1e-9)
    # the per-output frames in the input's row order, so that they line up with data by position
    assert ours.local_skills_["task"].tolist() == data["task"].tolist()
    ranks = HRRASA(calculate_ranks=True).fit(data).ranks_
    assert ranks["output"].tolist() == data["output"].tolist()


@pytest.mark.parametrize("name", ["cityblock", "sqeuclidean", "Cosine", 3])
def test_an_unknown_distance_is_refused_at_fit_listing_the_accepted(name):
    """ClosestToAverage(distance="cityblock") failed later with "'str' object is not callable" (bug hunt)."""
    with pytest.raises(ValueError, match=r"distance must be 'cosine', 'euclidean' or a function of two vectors.*not "
                                         + repr(name)):
        ClosestToAverage(distance=name).fit(_two_tasks())


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_two_outputs_equally_far_from_their_mean_go_to_the_first_row(distance):
    """Two outputs are equally far from their mean in exact arithmetic (euclidean always, cosine for
    unit vectors): rounding chose one by row order, the second row on [7, 3, 0] / [-4, -4, -9]
    (bug hunt). Distances within rounding of the task's least are tied and the first row takes them,
    in either row order; a distance larger by 1e-6 is no tie."""
    rng = np.random.default_rng(3)
    pairs = [np.array([[7.0, 3, 0], [-4, -4, -9]])] + [rng.integers(-9, 10, (2, 3)).astype(float) for _ in range(300)]
    pairs = [p / np.linalg.norm(p, axis=1, keepdims=True) for p in pairs if p.any(axis=1).all()]
    for swap in (False, True):
        rows = [(t, w, f"{t}{w}", p[int((w == "y") != swap)]) for t, p in enumerate(pairs) for w in ("x", "y")]
        data = pd.DataFrame(rows, columns=["task", "worker", "output", "embedding"])
        chosen = ClosestToAverage(distance).fit_predict(data)["output"]
        assert (chosen == [f"{t}x" for t in range(len(pairs))]).all()
    # a centre nearer the second output by 1e-6 (in distance): no tie, the nearer one
    data = pd.DataFrame({"task": ["t"] * 3, "worker": [1, 2, 3], "output": ["a", "b", "c"],
                         "embedding": [np.array([1.0, 0.0]), np.array([-1.0, 0.0]), np.array([0.0, 5.0])]})
    centre = pd.Series([np.array([-1e-6, 0.0])], index=["t"])
    assert ClosestToAverage("euclidean").fit_predict(data, centre).loc["t", "output"] == "b"
    assert ClosestToAverage("euclidean").fit_predict(data, centre * 0).loc["t", "output"] == "a"


# crowd-kit's simple_text_df, task 7601-175351-0021: 19 nearly parallel embeddings, cosine distances to
# their mean 3.0e-10 to 8.8e-7, a dozen of them below 1e-9
_NEAR_PARALLEL = [[10.217721, 16.948954], [10.222795, 16.946047], [10.197447, 16.96481], [10.219084, 16.948515],
                  [10.217423, 16.949697], [10.219814, 16.947468], [10.218769, 16.948397], [10.219354, 16.948345],
                  [10.218983, 16.948296], [10.226313, 16.944336], [10.2202015, 16.948513], [10.219054, 16.948479],
                  [10.233541, 16.935406], [10.219196, 16.948393], [10.227572, 16.945225], [10.223191, 16.945898],
                  [10.212206, 16.952347], [10.219014, 16.94834], [10.201713, 16.964706]]


@pytest.mark.parametrize("model", ["closest", "rasa"])
def test_cosine_distances_below_1e9_are_told_apart_whatever_the_row_order(model):
    """Distances within an absolute 1e-9 of the least were tied and went to the task's first row:
    cosine distances of nearly parallel vectors lie below 1e-9 while 25 times apart (8.9e-11,
    5.6e-12, 1.4e-10 here), so the farther A (or C, rows reversed) was chosen where crowd-kit
    chooses B, and crowd-kit's own simple_text_df shuffled (random_state=2) got another output on one
    task (bug hunt). Ties are now within rounding (a few ulps), and either order gives crowd-kit's."""
    def fit(frame, ours):
        if model == "rasa":
            return (RASA() if ours else ck.RASA()).fit_predict(frame)
        model_ = ClosestToAverage("cosine") if ours else ck.ClosestToAverage(ck.RASA._cosine_distance)
        return model_.fit_predict(frame)

    rows = [("t1", "w1", "A", np.array([1.0, 0.0])), ("t1", "w2", "B", np.array([1.0, 1e-5])),
            ("t1", "w3", "C", np.array([1.0, 3e-5]))]
    for order in (rows, rows[::-1]):
        data = pd.DataFrame(order, columns=["task", "worker", "output", "embedding"])
        assert fit(data, True).loc["t1", "output"] == fit(data, False).loc["t1", "output"] == "B"
    data = pd.DataFrame({"task": "t", "worker": [f"w{i}" for i in range(19)], "output": [f"o{i}" for i in range(19)],
                         "embedding": [np.array(e) for e in _NEAR_PARALLEL]})
    # the mean's nearest at 3.0e-10 (the next 6.1e-10); RASA's weighted centre's at 3.2e-12 (the next 5.6e-11)
    want = "o7" if model == "rasa" else "o6"
    for seed in range(5):
        shuffled = data.sample(frac=1, random_state=seed).reset_index(drop=True)
        assert fit(shuffled, True).loc["t", "output"] == fit(shuffled, False).loc["t", "output"] == want


def test_true_embeddings_match_task_ids_as_categorical_gold():
    """true_embeddings keyed "1" for integer task 1 (or 7, no task) were dropped without a word,
    where categorical gold matches "1" to task 1 and warns when it shares no task (bug hunt). Ids
    now match by the gold rule, gold naming no task warns, and text ids for integer tasks raise."""
    import warnings

    from galton import HRRASA, TextRASA

    e = {"p": np.array([1.0, 0.0]), "q": np.array([0.0, 1.0]), "r": np.array([0.9, 0.2])}
    df = pd.DataFrame({"task": [1, 1, 1], "worker": ["a", "b", "c"], "output": ["p", "q", "r"]})
    df["embedding"] = df.output.map(e)
    assert RASA().fit_predict(df)["output"].tolist() == ["r"]  # without the truth: not "q"
    for model in (RASA, HRRASA):
        for key in (1, "1", np.int64(1), 1.0):
            assert model().fit_predict(df, pd.Series({key: e["q"]}))["output"].tolist() == ["q"], (model, key)
        with pytest.warns(UserWarning, match="true_embeddings shares no task with the judgments; it is ignored"):
            assert model().fit_predict(df, pd.Series({7: e["q"]}))["output"].tolist() == ["r"]
        with pytest.raises(ValueError, match=r"true_embeddings: gold task ids are text \('x'\)"):
            model().fit(df, pd.Series({"x": e["q"]}))
    cta = ClosestToAverage().fit(df, true_embeddings=pd.Series({"1": e["q"]}))
    assert cta.embeddings_and_outputs_["output"].tolist() == ["q"]
    texts = df.rename(columns={"output": "text"}).drop(columns="embedding")
    assert TextRASA(e.__getitem__).fit_predict(texts, pd.Series({"1": "q"})).tolist() == ["q"]
    # integer ids match text tasks by their digits; a partial match warns of nothing
    as_text = df.assign(task=["1", "1", "1"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert RASA().fit_predict(as_text, pd.Series({1: e["q"], 2: e["p"]}))["output"].tolist() == ["q"]


def test_hrrasa_refuses_outputs_its_default_similarity_cannot_read():
    """HRRASA with integer outputs and the default output_similarity raised "'numpy.int64' object
    has no attribute 'split'" (crowd-kit's too, its GLEU splits the output). Refused naming the
    column and rows and what to pass; one-output tasks (never compared) and a similarity of the
    user's fit as before."""
    from galton import HRRASA

    df = _two_tasks().assign(output=[1, 2, 3, "x", "y", "y z"])
    df.index = list("abcdef")
    with pytest.raises(ValueError, match=r"column 'output' has 3 value\(s\) that are not text in tasks with several "
                                         r"outputs \(rows with index 'a', 'b', 'c'\); .* pass output_similarity="):
        HRRASA().fit(df)
    same = HRRASA(output_similarity=lambda u, v: float(u == v)).fit_predict(df)
    as_text = HRRASA(output_similarity=lambda u, v: float(u == v)).fit_predict(df.assign(output=df.output.astype(str)))
    assert [str(o) for o in same["output"]] == as_text["output"].tolist() == ["2", "y"]
    lone = df.iloc[[0, 3, 4]].assign(task=["t0", "t2", "t2"])  # the integer output is alone in its task
    assert HRRASA().fit_predict(lone)["output"].tolist() == [1, HRRASA().fit_predict(lone.iloc[1:])["output"].iloc[0]]


def test_a_refit_on_other_data_leaves_none_of_the_previous_results():
    """fit() set skills and task embeddings only: after ``fit_predict(A)``, ``fit(B)`` kept A's
    ``embeddings_and_outputs_`` and ``scores_`` (and HRRASA's ``ranks_`` after a refit with
    ``calculate_ranks=False``) beside B's skills. A refit now starts from nothing, as every
    registered model does: each result is the fresh fit's, or absent."""
    from galton import HRRASA

    def data(tasks, seed):
        rng = np.random.default_rng(seed)
        rows = []
        for t in tasks:
            centre = rng.normal(0, 1, 4)
            rows += [(t, f"w{w}", f"{t} out {w}", centre + rng.normal(0, 0.3, 4)) for w in range(3)]
        return pd.DataFrame(rows, columns=["task", "worker", "output", "embedding"])

    a, b = data(["a1", "a2", "a3"], 0), data(["b1", "b2"], 1)
    for make in (RASA, lambda: HRRASA(calculate_ranks=True)):
        model = make()
        model.fit_predict(a)
        assert {"embeddings_and_outputs_", "scores_"} <= set(vars(model))
        model.fit(b)
        fresh = make().fit(b)
        assert sorted(vars(model)) == sorted(vars(fresh))
        assert "embeddings_and_outputs_" not in vars(model) and "scores_" not in vars(model)
        assert list(model.aggregated_embeddings_.index) == ["b1", "b2"]
        again = model.fit_predict(b)
        assert sorted(again.index) == ["b1", "b2"] and set(model.scores_.index) == {"b1", "b2"}
    model = HRRASA(calculate_ranks=True)
    model.fit(a)
    assert set(model.ranks_["task"]) == {"a1", "a2", "a3"}
    model.calculate_ranks = False
    model.fit(b)
    assert not hasattr(model, "ranks_") and set(model.local_skills_["task"]) == {"b1", "b2"}


def _texts(prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"task": [prefix + "1"] * 2 + [prefix + "2"], "worker": ["a", "b", "a"],
                         "text": ["x y", "x z", "q"]})


def _failing_encoder(text: str) -> np.ndarray:
    if text == "q":
        raise ValueError("the encoder refuses 'q'")
    return np.array([len(text), 1.0])


@pytest.mark.parametrize("case", ["rover_none", "rover_column", "cta_distance", "cta_column", "text_rasa_n_iter",
                                  "text_rasa_column", "text_hrrasa_worker", "text_hrrasa_encoder"])
def test_a_refused_refit_leaves_no_earlier_results(case):
    """Bug hunt: ROVER, ClosestToAverage, TextRASA and TextHRRASA checked their settings and data
    before dropping the previous fit's results, so a refused refit (a bad setting, a missing column,
    an encoder that raised) left texts_, embeddings_and_outputs_, skills_ ... of the old data in
    place (TextRASA cleared its inner RASA, not texts_). Each fit drops them first now."""
    from galton import ROVER, TextHRRASA, TextRASA

    encode = lambda s: np.array([len(s), 1.0])  # noqa: E731
    rng = np.random.default_rng(0)
    old, new = _texts("old"), _texts("new")
    if case.startswith("rover"):
        m = ROVER(str.split, " ".join).fit(old)
        new = new.assign(text=None) if case == "rover_none" else new.drop(columns="text")
    elif case.startswith("cta"):
        e = lambda p: pd.DataFrame({"task": [p + "1"] * 2 + [p + "2"], "worker": ["a", "b", "a"],  # noqa: E731
                                    "output": ["o1", "o2", "o3"], "embedding": list(rng.random((3, 3)))})
        m, new = ClosestToAverage().fit(e("old")), e("new")
        if case == "cta_distance":
            m.distance = "cosin"
        else:
            new = new.drop(columns="output")
    elif case.startswith("text_rasa"):
        m = TextRASA(encode).fit(old)
        if case == "text_rasa_n_iter":
            m.n_iter = -1
        else:
            new = new.drop(columns="task")
    else:
        m = TextHRRASA(_failing_encoder if case.endswith("encoder") else encode).fit(old.iloc[:2])
        new = new if case.endswith("encoder") else new.drop(columns="worker")
    assert [a for a in vars(m) if a.endswith("_")]
    with pytest.raises((ValueError, TypeError)):
        m.fit(new)
    inner = [a for a in vars(m._rasa) if a.endswith("_") or a in ("_centre", "_part")] if hasattr(m, "_rasa") else []
    assert [a for a in vars(m) if a.endswith("_")] == [] and inner == []
    for name in ("texts_", "embeddings_and_outputs_", "skills_", "aggregated_embeddings_"):
        assert not hasattr(m, name)


def _params_models() -> list:
    from galton import (HRRASA, ROVER, SegmentationEM, SegmentationMajorityVote, SegmentationRASA, TextHRRASA,
                        TextRASA)

    encode = lambda s: np.array([len(s), s.count("a"), 1.0])  # noqa: E731
    return [(SegmentationEM, {"n_iter": 3, "tol": 0.5}, "n_iter", 0), (SegmentationRASA, {"n_iter": 2}, "n_iter", 0),
            (SegmentationMajorityVote, {"default_skill": 1.0, "on_missing_skill": "value"}, "on_missing_skill", "x"),
            (ROVER, {"tokenizer": str.split, "detokenizer": " ".join, "silent": False}, "silent", True),
            (RASA, {"n_iter": 7, "alpha": 0.1}, "n_iter", 0),
            (HRRASA, {"lambda_emb": 0.2, "calculate_ranks": True}, "n_iter", 0),
            (ClosestToAverage, {"distance": "euclidean"}, "distance", "x"),
            (TextRASA, {"encoder": encode, "n_iter": 4, "tol": 0.0}, "n_iter", 0),
            (TextHRRASA, {"encoder": encode, "lambda_out": 0.3}, "n_iter", 0)]


@pytest.mark.parametrize("k", range(9))
def test_models_without_the_common_fit_have_get_params_and_set_params(k):
    """Bug hunt: docs/from-crowd-kit.md says model.set_params(n_iter=5) and type(model)(**model.get_params()),
    but the segmentation, text and embedding models had neither (sklearn.base.clone failed on them).
    Their parameters are their constructor's, set_params changes what the next fit uses (TextRASA's
    reach the RASA inside) and refuses an unknown name, as the common models' do."""
    import inspect

    cls, given, name, value = _params_models()[k]
    model = cls(**given)
    params = model.get_params()
    defaults = {p.name: p.default for p in inspect.signature(cls).parameters.values()}
    if cls.__name__ == "TextHRRASA":  # its output_similarity=None stands for gleu_similarity, and reads back so
        from galton.aggregator.embeddings import gleu_similarity

        defaults["output_similarity"] = gleu_similarity
    assert params == {**defaults, **given}
    assert cls(**params).get_params() == params
    with pytest.raises(ValueError, match="has no parameter 'n_itr'"):
        model.set_params(n_itr=5)
    assert model.set_params(**{name: value}) is model and model.get_params()[name] == value
    inner = getattr(model, "_rasa", model)
    assert getattr(inner, name) == value  # the setting the next fit reads
    sklearn = pytest.importorskip("sklearn.base", reason="scikit-learn is optional")
    copy = sklearn.clone(model)
    assert type(copy) is cls and copy.get_params() == model.get_params()


def test_set_params_changes_the_next_fit():
    from galton import SegmentationEM, TextRASA

    texts = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["u", "v", "u", "v"], "text": ["ab", "abc", "a", "ba"]})
    m = TextRASA(lambda s: np.array([len(s), s.count("a"), 1.0]), n_iter=3, tol=0.0)
    assert len(m.fit(texts).loss_history_) == 2
    assert len(m.set_params(n_iter=1).fit(texts).loss_history_) == 0
    rng = np.random.default_rng(0)
    seg = pd.DataFrame([(t, w, rng.random((3, 3)) < 0.5) for t in range(2) for w in range(4)],
                       columns=["task", "worker", "segmentation"])
    em = SegmentationEM(tol=-1.0)
    assert len(em.fit(seg).loss_history_) == 10 and len(em.set_params(n_iter=2).fit(seg).loss_history_) == 2


def test_true_embeddings_as_a_dict_or_a_task_embedding_frame_are_used():
    """A ``task, embedding`` frame was read as a Series of its columns and ignored with "shares no
    task with the judgments" (t1 got 'y', the mean's nearest, not 'x'); a dict raised AttributeError
    (bug hunt). Both are now read as a Series by task is, as gold is; anything else is a TypeError."""
    from galton import HRRASA

    def E(*v):
        return np.array(v, float)

    base = pd.DataFrame({"task": ["t1", "t1", "t1", "t2"], "worker": list("abca"),
                         "embedding": [E(1, 0), E(.9, .1), E(0, 1), E(1, 1)], "output": list("xyzw")})
    frame = pd.DataFrame({"task": ["t1"], "embedding": [E(1, 0)]})
    def fit(m, true):
        if isinstance(m, ClosestToAverage):
            return m.fit(base, true_embeddings=true)
        m.fit_predict(base, true)  # RASA's fit sets no embeddings_and_outputs_
        return m

    for model in (ClosestToAverage, RASA, HRRASA):
        want = fit(model(), pd.Series({"t1": E(1, 0)})).embeddings_and_outputs_["output"].tolist()
        assert want[0] == "x"
        for given in (frame, {"t1": E(1, 0)}, frame.set_index("task")):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert fit(model(), given).embeddings_and_outputs_["output"].tolist() == want, (model, type(given))
        with pytest.raises(TypeError, match=r"true_embeddings must be a pandas Series of vectors indexed by task, a "
                                            r"dict task -> vector or a pandas frame with columns task and embedding; "
                                            r"got list"):
            fit(model(), [E(1, 0)])
        with pytest.raises(ValueError, match=r"true_embeddings as a frame needs columns 'task' and 'embedding'; it "
                                             r"has \['task', 'vector'\]"):
            fit(model(), frame.rename(columns={"embedding": "vector"}))
    # aggregated_embeddings alike
    cta = ClosestToAverage().fit(base, aggregated_embeddings={"t1": E(0, 1), "t2": E(1, 1)})
    assert cta.embeddings_and_outputs_["output"].tolist() == ["z", "w"]
