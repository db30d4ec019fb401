"""KOS: crowd-kit parity, binary-only error, recovery on simulated data, shard and row-order
invariance of the message passing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galton import datasets
from galton.aggregator import LocalEngine, get
from galton.aggregator.kos import KOS, component_max, edge_normals

SHARED_SKIP = "../shared/datasets not found; these tests run in CI"


def shared(name: str):
    if datasets.shared_root() is None:
        pytest.skip(SHARED_SKIP)
    return datasets.load_shared(name, frame="pandas")


def simulate(seed: int, n_tasks: int = 600, n_workers: int = 60, per_task: int = 7):
    """Hammers (accuracy 0.9) and spammers (0.5), tasks given to random workers: KOS's setting."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n_tasks)
    acc = np.where(rng.random(n_workers) < 0.6, 0.9, 0.5)
    task = np.repeat(np.arange(n_tasks), per_task)
    worker = np.concatenate([rng.choice(n_workers, per_task, replace=False) for _ in range(n_tasks)])
    right = rng.random(task.size) < acc[worker]
    label = np.where(right, z[task], 1 - z[task])
    return pd.DataFrame({"task": task, "worker": worker, "label": label}), z, acc


class _CountingNumpy:
    """Stands in for numpy inside crowd-kit's kos module and counts its overflow checks."""

    def __init__(self) -> None:
        self.checks = 0

    def __getattr__(self, name):
        return getattr(np, name)

    def abs(self, x):
        self.checks += 1
        return np.abs(x)


def _crowdkit_iterations(checks: int, n_iter: int) -> set[int]:
    """Completed iterations from the number of overflow checks (two per iteration)."""
    if checks % 2:
        return {(checks - 1) // 2}  # stopped at the task-sum check
    if checks < 2 * n_iter:
        return {checks // 2 - 1}  # stopped at the worker-sum check
    return {n_iter, n_iter - 1}


@pytest.mark.parametrize("name", ["zheng_d_product", "snow2008_rte"])
def test_same_labels_as_crowdkit(name, monkeypatch):
    """crowd-kit draws its start from the global numpy RNG in row order, so the starts differ; the
    power iteration forgets its start (crowd-kit's own labels are identical for seeds 0, 1, 2) and
    both stop at the same iteration, so the labels agree (measured: all of them). On snow2008_rte
    both land at 0.4975 accuracy: KOS is poor on that worker graph, and the test pins parity, not
    quality."""
    crowdkit = pytest.importorskip("crowdkit.aggregation")
    ds = shared(name)
    gold = ds.gold.set_index("task")["label"]
    kos_module = pytest.importorskip("crowdkit.aggregation.classification.kos")
    counter = _CountingNumpy()
    monkeypatch.setattr(kos_module, "np", counter)
    ours = KOS().fit(ds.judgments)
    ck = crowdkit.KOS().fit(ds.judgments)
    assert ours.n_iter_ in _crowdkit_iterations(counter.checks, 100)  # measured: 98 and 100
    assert (ours.labels_.reindex(ck.labels_.index) == ck.labels_).mean() >= 0.999
    acc = (ours.labels_.reindex(gold.index) == gold).mean()
    acc_ck = (ck.labels_.reindex(gold.index) == gold).mean()
    assert abs(acc - acc_ck) <= 0.01


def test_more_than_two_labels_is_an_error():
    df = pd.DataFrame({"task": [0, 0, 1], "worker": [0, 1, 0], "label": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="binary labels only; the data has 3 label"):
        KOS().fit(df)
    with pytest.raises(ValueError, match="gold"):
        KOS().fit(df.iloc[:2], gold={0: "a"})
    # two labels in the data, a third declared: the message said "the data has 3 label(s)"
    with pytest.raises(ValueError, match=r"binary labels only; the data and labels= declare 3 label\(s\)"):
        KOS().fit(df.iloc[:2], labels=["a", "b", "c"])


def test_recovers_the_truth_in_simulation():
    df, z, acc = simulate(0)
    model = KOS().fit(df)
    assert (model.labels_.to_numpy() == z).mean() > 0.97
    mv = df.groupby("task").label.mean().to_numpy()
    assert (model.labels_.to_numpy() == z).mean() > ((mv > 0.5) == z).mean()  # beats majority vote
    skills = model.skills_.to_numpy()
    assert skills[acc == 0.9].min() > skills[acc == 0.5].max() - 0.2
    assert skills[acc == 0.9].mean() > skills[acc == 0.5].mean()
    p = model.probas_.to_numpy()
    assert set(np.unique(p)) <= {0.0, 0.5, 1.0}


def test_result_does_not_depend_on_the_seed_or_sharding():
    df, _, _ = simulate(1, n_tasks=300)
    one = KOS().fit(df)
    three = KOS(n_shards=3).fit(df)
    assert one.n_iter_ == three.n_iter_
    np.testing.assert_allclose(three.scores_.to_numpy(), one.scores_.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(three.skills_.to_numpy(), one.skills_.to_numpy(), atol=1e-9)
    other_seed = KOS(random_state=5).fit(df)
    pd.testing.assert_series_equal(other_seed.labels_, one.labels_)


def test_tied_scores_take_the_vote():
    """With one judgment per task every message is 0: every task was given the lower label (0.445
    accuracy with 90%-accurate workers; bug hunt). A tied task now takes its vote shares."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 200)
    label = np.where(rng.random(200) < 0.9, truth, 1 - truth)
    df = pd.DataFrame({"task": range(200), "worker": rng.integers(0, 10, 200), "label": label})
    m = KOS().fit(df)
    assert (m.scores_.to_numpy() == 0).all() and m.labels_.sort_index().tolist() == label.tolist()
    assert m.probas_.to_numpy().max(axis=1).tolist() == [1.0] * 200
    # a tied task with a split vote keeps the tie rule (the lower label, 1/2 each)
    split = pd.DataFrame({"task": [0, 1, 1], "worker": ["a", "a", "b"], "label": [1, 0, 1]})
    got = KOS().fit(split)
    assert got.labels_.tolist() == [1, 0] and got.probas_.loc[1].tolist() == [0.5, 0.5]


def _batch(prefix: str, n_tasks: int, per_task: int, n_workers: int, seed: int):
    """A binary crowd of its own names: half good workers (0.9), 30% noisy (0.55), 20% adversarial (0.2)."""
    rng = np.random.default_rng(seed)
    acc = rng.choice([0.9, 0.55, 0.2], n_workers, p=[0.5, 0.3, 0.2])
    rows, truth = [], {}
    for t in range(n_tasks):
        y = int(rng.integers(2))
        truth[f"{prefix}{t}"] = y
        for w in rng.choice(n_workers, per_task, replace=False):
            rows.append((f"{prefix}{t}", f"{prefix}w{w}", y if rng.random() < acc[w] else 1 - y))
    return pd.DataFrame(rows, columns=["task", "worker", "label"]), pd.Series(truth)


def test_an_unrelated_batch_beside_changes_nothing():
    """Two batches with no task or worker in common: the messages were normalised by the largest
    total of both and ties judged against the largest score of both, so the batch whose messages
    grow more slowly sat at ~1e-122 of the other, every score "tied" and its labels were the
    majority vote (accuracy 0.873 alone, 0.703 beside the other; crowd-kit: 0.873 both ways). Each
    connected component now has its own scale: the batch gets what it gets alone, as in crowd-kit."""
    a, truth = _batch("a", 300, 3, 60, 1)
    b, _ = _batch("b", 300, 7, 30, 2)
    both = pd.concat([a, b], ignore_index=True)
    alone = KOS().fit(a)
    assert (alone.labels_.loc[truth.index] == truth).mean() > 0.87
    for got in (KOS().fit(both), KOS(n_shards=3).fit(both.sample(frac=1.0, random_state=0))):
        pd.testing.assert_series_equal(got.labels_.loc[alone.labels_.index], alone.labels_)
        pd.testing.assert_frame_equal(got.probas_.loc[alone.probas_.index], alone.probas_)
        np.testing.assert_allclose(got.scores_.loc[alone.scores_.index], alone.scores_, atol=1e-9)
        np.testing.assert_allclose(got.skills_.loc[alone.skills_.index], alone.skills_, atol=1e-9)
        other = KOS().fit(b)  # and the other batch gets its own results too
        pd.testing.assert_series_equal(got.labels_.loc[other.labels_.index], other.labels_)
    crowdkit = pytest.importorskip("crowdkit.aggregation")
    ck = crowdkit.KOS().fit(both).labels_
    assert (ck.loc[truth.index].to_numpy() == alone.labels_.loc[truth.index].to_numpy()).all()


def test_row_order_does_not_matter():
    df, _, _ = simulate(2, n_tasks=200)
    df = pd.concat([df, df.iloc[:50]], ignore_index=True)  # repeated judgments too
    perm = df.sample(frac=1.0, random_state=4).reset_index(drop=True)
    a, b = KOS(n_iter=20).fit(df), KOS(n_iter=20).fit(perm)
    np.testing.assert_allclose(a.scores_.to_numpy(), b.scores_.to_numpy(), atol=1e-9)


def test_a_workers_repeated_rows_are_one_edge():
    """Each repeated (task, worker) row was an edge of its own, and twin edges on one task fed each
    other's messages (a loop of two edges): one worker's 48 rows exported twice took the fit over
    (0.906 -> 0.49 accuracy, that worker ranked first; crowd-kit too: 0.49). Now a worker's rows on
    a task are one edge, so identical repeats change nothing, locally and over shards."""
    df, z, _ = simulate(5, n_tasks=300)
    once = KOS().fit(df)
    twice = pd.concat([df, df[df.worker == 3]], ignore_index=True)
    for got in (KOS().fit(twice), KOS(n_shards=3).fit(twice),
                KOS().fit(twice.sample(frac=1.0, random_state=1))):
        np.testing.assert_allclose(got.scores_.to_numpy(), once.scores_.to_numpy(), atol=1e-9)
        np.testing.assert_allclose(got.skills_.to_numpy(), once.skills_.to_numpy(), atol=1e-9)
    assert (once.labels_.to_numpy() == z).mean() > 0.97


def test_a_worker_giving_both_labels_on_a_task_abstains_there():
    """A worker who gave both labels on a task (mean answer 0) says nothing there: the scores and
    skills are those of the data without those rows, whatever the row order (the twin edges made the
    result depend on it: 0.433 / 0.55 / 0.683 accuracy as given / reversed / shuffled)."""
    df, _, _ = simulate(6, n_tasks=200)
    both = pd.DataFrame({"task": np.repeat(np.arange(40), 2), "worker": 0, "label": np.tile([0, 1], 40)})
    without = df[~((df.worker == 0) & (df.task < 40))]
    assert (without.worker == 0).sum() > 10  # worker 0 still judges other tasks: same worker codes
    ref = KOS().fit(without)
    data = pd.concat([without, both], ignore_index=True)
    for d in (data, data.iloc[::-1], data.sample(frac=1.0, random_state=0)):
        for got in (KOS().fit(d), KOS(n_shards=4).fit(d)):
            np.testing.assert_allclose(got.scores_.to_numpy(), ref.scores_.to_numpy(), atol=1e-9)
            np.testing.assert_allclose(got.skills_.to_numpy(), ref.skills_.to_numpy(), atol=1e-9)


def test_messages_follow_the_update_rule_by_hand():
    """Two iterations on a tiny graph, computed by hand from the same random start."""
    df = pd.DataFrame({"task": [0, 0, 1, 1, 2], "worker": [0, 1, 0, 1, 1], "label": [0, 0, 0, 1, 1]})
    key = int(np.random.default_rng(0).integers(0, 2**63 - 1))
    t, w, lab = df.task.to_numpy(), df.worker.to_numpy(), df.label.to_numpy()
    a = 1.0 - 2.0 * lab
    y = 1.0 + edge_normals(key, t, w)
    for _ in range(2):
        x = np.array([sum(a[k] * y[k] for k in range(5) if t[k] == t[j] and k != j) for j in range(5)])
        y = np.array([sum(a[k] * x[k] for k in range(5) if w[k] == w[j] and k != j) for j in range(5)])
    score = np.array([sum(a[k] * y[k] for k in range(5) if t[k] == task) for task in range(3)])
    model = KOS(n_iter=2).fit(df)
    np.testing.assert_allclose(model.scores_.to_numpy(), score / np.abs(score).max(), rtol=1e-12)
    assert model.n_iter_ == 2
    assert model.labels_.tolist() == [0 if s > 0 else 1 for s in score]


def test_normal_draws_look_normal_and_registry():
    rng = np.random.default_rng(0)
    n = 200_000
    z = edge_normals(123, rng.integers(0, 1000, n), rng.integers(0, 1000, n))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs(np.mean(z > 1.96) - 0.025) < 0.002
    assert get("kos") is KOS


# ------------------------------------------------------------------------------------------ checkpoints
class CountingEngine(LocalEngine):
    """Counts the E-steps (message passes) it runs."""

    def __init__(self, n_shards: int = 2):
        super().__init__(n_shards)
        self.e_steps = 0

    def map(self, fn, *args):
        self.e_steps += getattr(fn, "__name__", "") == "_e_step"
        return super().map(fn, *args)


def _same(a: KOS, b: KOS) -> None:
    """Bit for bit: labels, scores, skills, iterations and the log-growth history."""
    pd.testing.assert_series_equal(a.labels_, b.labels_)
    assert np.array_equal(a.scores_.to_numpy(), b.scores_.to_numpy())
    assert np.array_equal(a.skills_.to_numpy(), b.skills_.to_numpy())
    assert a.n_iter_ == b.n_iter_ and a.history_ == b.history_


def test_an_interrupted_fit_resumes_bit_for_bit(tmp_path):
    df, _, _ = simulate(3, n_tasks=300)
    whole = KOS(n_iter=30).fit(df, engine=CountingEngine())
    first = CountingEngine()
    KOS(n_iter=12).fit(df, engine=first, checkpoint_dir=tmp_path, checkpoint_every=5)
    assert first.e_steps == 12
    second = CountingEngine()
    resumed = KOS(n_iter=30).fit(df, engine=second, checkpoint_dir=tmp_path, checkpoint_every=5)
    assert second.e_steps == 30 - 12  # passes 13..30 only: the messages came from the checkpoint
    _same(resumed, whole)
    assert whole.n_iter_ == 30 and not whole.converged_
    # the messages matter: a fit of 18 passes from the random start is not the resumed one
    assert not np.array_equal(KOS(n_iter=18).fit(df, n_shards=2).scores_.to_numpy(), whole.scores_.to_numpy())


def test_a_fit_stopped_by_the_overflow_rule_resumes_and_stays_stopped(tmp_path):
    """The overflow rule stops this fit after 165 passes (the 166th is refused, as in crowd-kit);
    interrupted at 100 it resumes to the same end, and a stopped fit resumed runs no pass."""
    df, _, _ = simulate(3, n_tasks=300)
    whole = KOS(n_iter=300).fit(df, engine=CountingEngine())
    assert whole.n_iter_ == 165 and len(whole.history_) == 165 and whole.history_[-1] < np.log(1e300)
    KOS(n_iter=100).fit(df, engine=CountingEngine(), checkpoint_dir=tmp_path)
    second = CountingEngine()
    resumed = KOS(n_iter=300).fit(df, engine=second, checkpoint_dir=tmp_path)
    assert second.e_steps == 166 - 100  # passes 101..165 and the refused one
    _same(resumed, whole)
    third = CountingEngine()
    again = KOS(n_iter=400).fit(df, engine=third, checkpoint_dir=tmp_path)
    assert third.e_steps == 0
    _same(again, whole)


@pytest.fixture(scope="module")
def ray_session():
    pytest.importorskip("ray", reason="Ray is in the test extra; galton runs without it")
    from galton.workers import cluster

    return cluster.connect("local", num_cpus=2, include_dashboard=False)


def test_a_fit_on_ray_resumes_bit_for_bit(ray_session, tmp_path):
    from galton.workers.engine import RayEngine

    class CountingRayEngine(RayEngine):
        e_steps = 0

        def map(self, fn, *args):
            self.e_steps += getattr(fn, "__name__", "") == "_e_step"
            return super().map(fn, *args)

    df, _, _ = simulate(4, n_tasks=200)
    whole = KOS(n_iter=25).fit(df, engine="ray", n_shards=2)
    with CountingRayEngine(n_shards=2) as eng:
        KOS(n_iter=10).fit(df, engine=eng, checkpoint_dir=tmp_path)
        resumed = KOS(n_iter=25).fit(df, engine=eng, checkpoint_dir=tmp_path)
        assert eng.e_steps == 10 + 15
    _same(resumed, whole)
    _same(resumed, KOS(n_iter=25).fit(df, engine=CountingEngine(2)))
    twice = pd.concat([df, df[df.worker < 5]], ignore_index=True)  # repeated rows: one edge on Ray too
    _same(KOS(n_iter=25).fit(twice, engine="ray", n_shards=2), whole)


def _main_messages(shard, params):
    """galton's messages before the one-component shortcut: the divisor gathered per edge."""
    if params["stored"]:
        return shard.state["kos_y"]
    _, worker, a = KOS._edges(shard)
    return (params["w"][worker] - a * shard.state["kos_x"]) / params["scale"][params["comp"][worker]]


def _main_e_step(self, shard, params):
    """galton's E-step before the cached task components: made again at every pass."""
    task, worker, a = KOS._edges(shard)
    y = KOS._messages(shard, params)
    ay = a * y
    s = np.bincount(task, weights=ay, minlength=shard.n_tasks)
    x = s[task] - ay
    shard.state["kos_y"], shard.state["kos_x"] = y, x
    return {"w": np.bincount(worker, weights=a * x, minlength=shard.n_workers),
            "max_s": component_max(s, KOS._task_components(shard.n_tasks, task, worker, params["comp"]),
                                   params["scale"].size)}


@pytest.mark.parametrize("parts", [1, 3])
def test_one_components_shortcut_and_kept_task_components_give_the_same_bits(parts, tmp_path, monkeypatch):
    """One connected component (the divisor scale[0], no task components) and three (the task
    components kept in the shard between passes): shuffled rows with repeats, on one and three
    shards, and a fit resumed from a checkpoint, give main's labels, scores, skills, iterations,
    history and probabilities to the bit."""
    frames = [_batch(f"b{i}", 200, 3 + 2 * i, 40, i + 1)[0] for i in range(parts)]
    df = pd.concat(frames + [frames[0].iloc[:50]], ignore_index=True).sample(frac=1.0, random_state=4)
    fits = {}
    for impl in ("new", "main"):
        if impl == "main":
            monkeypatch.setattr(KOS, "_messages", staticmethod(_main_messages))
            monkeypatch.setattr(KOS, "_e_step", _main_e_step)
        fits[impl] = [KOS().fit(df), KOS(n_shards=3).fit(df)]
        KOS(n_iter=7).fit(df, checkpoint_dir=tmp_path / impl)
        fits[impl].append(KOS().fit(df, checkpoint_dir=tmp_path / impl))
    for new, old in zip(fits["new"], fits["main"]):
        _same(new, old)
        pd.testing.assert_frame_equal(new.probas_, old.probas_, check_exact=True)
    assert fits["new"][0].n_iter_ > 7 and fits["new"][2].n_iter_ == fits["new"][0].n_iter_


def test_kept_task_components_follow_the_worker_components_they_were_made_from():
    """The shard keeps the task components with the worker components they came from: equal ones
    in a new array (a Ray shard, a resumed fit) reuse them, other ones make them again."""
    df = pd.DataFrame({"task": [0, 0, 1, 2, 2, 3], "worker": [0, 1, 1, 2, 3, 3], "label": [0, 1, 0, 1, 1, 0]})
    engine = LocalEngine(1)
    from galton.judgments import Judgments

    engine.load(Judgments.from_any(df), None)
    (shard,) = engine.shards
    first = KOS._shard_task_components(shard, np.array([0, 0, 1, 1]))
    np.testing.assert_array_equal(first, [0, 0, 1, 1])
    assert KOS._shard_task_components(shard, np.array([0, 0, 1, 1])) is first
    np.testing.assert_array_equal(KOS._shard_task_components(shard, np.array([1, 1, 0, 0])), [1, 1, 0, 0])
    np.testing.assert_array_equal(KOS._shard_task_components(shard, np.array([0, 0, 0, 0])), [0, 0, 0, 0])
