"""The Ray engine runs the same model code as the local engine and gives the same results.

The parametrised test at the bottom covers every registered model that takes an engine, so models
added later are checked without editing this file.
"""

from __future__ import annotations

import inspect
import pickle
import sys
import warnings

import numpy as np
import pytest
from ray import cloudpickle

import galton.aggregator as agg
from galton import datasets
from galton.aggregator._engine import LocalEngine, add_stats, make_shards
from galton.judgments import Judgments
from galton.workers._shard_actor import (
    FunctionNotCachedError,
    ShardNotLoadedError,
    ShardWorker,
    has_persistent_state,
)
from galton.workers.engine import RayEngine

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # actors cannot import test modules

SHARED_SKIP = "../shared/datasets not found; these tests run in CI"


def _ids(shard):
    return shard.task_ids.copy()


def _votes(shard):
    out = np.zeros((shard.n_tasks, shard.n_labels))
    np.add.at(out, (shard.task, shard.label), 1.0)
    return out


def _scaled_count(shard, factor):
    return {"n": shard.n_judgments * factor, "labels": np.bincount(shard.label, minlength=shard.n_labels)}


def _fail(shard, message):
    raise ValueError(message)


def _overwrite_labels(shard):
    shard.label[:] = 0


@pytest.fixture(scope="module")
def judgments(make_judgments):
    return Judgments.from_any(make_judgments(1))


# ---------------------------------------------------------------------------- ShardWorker, no Ray
def test_shard_worker_runs_a_function_on_each_of_its_shards(judgments):
    shards = make_shards(judgments, None, 3)
    w = ShardWorker()
    info = w.load("g1", [0, 2], shards[0], shards[2])
    assert info["indices"] == [0, 2]
    assert info["n_judgments"] == shards[0].n_judgments + shards[2].n_judgments
    keeps, out = w.run("g1", _scaled_count, (2,))
    assert keeps is False
    assert [o["n"] for o in out] == [2 * shards[0].n_judgments, 2 * shards[2].n_judgments]


def test_shard_worker_takes_pickled_functions_once_then_by_key(judgments):
    shard = make_shards(judgments, None, 1)[0]
    w = ShardWorker()
    w.load("g1", [0], shard)
    _, out = w.run("g1", cloudpickle.dumps(_scaled_count), cloudpickle.dumps((3,)), "k1")
    assert out[0]["n"] == 3 * shard.n_judgments
    _, out = w.run("g1", None, (4,), "k1")  # the function cached under its key
    assert out[0]["n"] == 4 * shard.n_judgments
    with pytest.raises(FunctionNotCachedError):
        w.run("g1", None, (4,), "k2")


def test_shard_worker_refuses_calls_meant_for_another_load(judgments):
    w = ShardWorker()
    w.load("g1", [0], *make_shards(judgments, None, 1))
    with pytest.raises(ShardNotLoadedError, match="reload"):
        w.run("g2", _ids)
    w.clear()
    with pytest.raises(ShardNotLoadedError):
        w.run("g1", _ids)


def test_persistent_state_means_keys_without_underscore(judgments):
    shard = make_shards(judgments, None, 1)[0]
    _ = shard.wl  # caches "_wl"
    assert not has_persistent_state([shard])
    shard.state["difficulty"] = np.ones(shard.n_tasks)
    assert has_persistent_state([shard])


def test_statistics_add_in_shard_order_into_a_new_array():
    """The reduction adds the shards' statistics in their order (floating-point sums depend on it)
    and never hands back or changes a shard's own array: one shard's result is copied, several are
    added into a new one."""
    rng = np.random.default_rng(3)
    parts = [{"c": rng.random((4, 3)), "n": (rng.integers(0, 9, 5), 0.1 * i)} for i in range(4)]
    kept = [{"c": p["c"].copy(), "n": (p["n"][0].copy(), p["n"][1])} for p in parts]
    total = add_stats(parts)
    assert np.array_equal(total["c"], ((parts[0]["c"] + parts[1]["c"]) + parts[2]["c"]) + parts[3]["c"])
    assert total["n"][0].dtype == parts[0]["n"][0].dtype
    assert np.array_equal(total["n"][0], sum(p["n"][0] for p in parts))
    assert total["n"][1] == ((0.0 + 0.1) + 0.2) + 0.30000000000000004
    total["c"][:] = -1
    total["n"][0][:] = -1
    one = add_stats(parts[:1])
    one["c"][:] = -1
    for p, k in zip(parts, kept):
        assert np.array_equal(p["c"], k["c"]) and np.array_equal(p["n"][0], k["n"][0])
    mixed = add_stats([np.arange(3), np.arange(3), np.full(3, 0.5)])  # int + int + float: a float sum
    assert mixed.dtype == np.float64 and np.array_equal(mixed, [0.5, 2.5, 4.5])


def test_one_local_shard_hands_on_new_arrays_and_copies_what_others_hold(judgments):
    """With one shard the reduction skips the copy of a result the call made (an E-step's counts),
    but a result that is the shard's own state, a view of it, an argument or read-only is copied,
    so the caller may change what it gets without changing the shard or the arguments."""
    eng = LocalEngine()
    eng.load(judgments, None)
    shard = eng.shards[0]
    shard.state["cache"] = (1, np.arange(6.0))
    arg = {"x": np.ones(3)}
    frozen = np.zeros(2)
    frozen.flags.writeable = False

    def fn(s, a):
        return {"new": np.full(4, 2.0), "state": s.state["cache"][1][2:], "arg": a["x"], "label": s.label,
                "frozen": frozen, "n": 3}

    out = eng.map_sum(fn, arg)
    assert out["n"] == 3 and np.array_equal(out["new"], np.full(4, 2.0))
    assert all(out[k].flags.writeable for k in ("new", "state", "arg", "label", "frozen"))
    for key in ("state", "arg", "label", "frozen"):
        out[key][:] = -1
    assert np.array_equal(shard.state["cache"][1], np.arange(6.0)) and np.array_equal(arg["x"], np.ones(3))
    assert shard.label.min() >= 0
    fresh = np.full(4, 7.0)
    assert eng.map_sum(lambda s: {"c": fresh})["c"] is fresh  # nobody else holds it: no copy
    assert eng.map_sum(lambda s, a: {"c": a}, fresh)["c"] is not fresh  # an argument: copied


def test_engine_parameters_are_checked():
    with pytest.raises(ValueError, match="n_shards"):
        RayEngine(n_shards=0)
    with pytest.raises(ValueError, match="max_retries"):
        RayEngine(max_retries=-1)
    with pytest.raises(RuntimeError, match="before load"):
        RayEngine().map(_ids)


# ---------------------------------------------------------------------------- engine on Ray
def test_seven_shards_on_two_cpus_keep_the_local_shard_order(ray_session, judgments):
    local = LocalEngine(7)
    local.load(judgments, None)
    with RayEngine(n_shards=7) as eng:
        eng.load(judgments, None)
        assert (eng.n_shards, eng.n_actors) == (7, 2)
        for got, want in zip(eng.map(_ids), local.map(_ids)):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(eng.gather(_votes), local.gather(_votes))
        total = eng.map_sum(_scaled_count, 3)
        assert total["n"] == 3 * judgments.n_judgments
        np.testing.assert_array_equal(total["labels"], np.bincount(judgments.label))


def test_default_is_one_shard_per_cluster_cpu(ray_session, judgments):
    with RayEngine() as eng:
        eng.load(judgments, None)
        assert eng.n_shards == 2 == ray_session.num_cpus


def test_a_fit_on_fewer_tasks_than_shards_keeps_the_count_asked_for(ray_session, judgments):
    """A fit of 2 tasks on ``RayEngine(n_shards=4)`` loads 2 shards (at most one a task) and used to
    rewrite ``n_shards`` to 2 for good: the next fit that named 4 beside the engine was refused as a
    mismatch ("it has n_shards=2") and the engine's ``repr`` (4) and attribute (2) disagreed.
    ``n_shards`` keeps the count asked for, as LocalEngine's does."""
    two = Judgments.from_any({"task": ["a", "a", "b", "b"], "worker": ["w1", "w2", "w1", "w2"], "label": [0, 1, 1, 1]})
    with RayEngine(n_shards=4) as eng:
        agg.DawidSkene().fit(two, engine=eng)
        assert eng.n_shards == 4
        big = agg.DawidSkene().fit(judgments, engine=eng, n_shards=4)
    want = agg.DawidSkene().fit(judgments, n_shards=4)
    np.testing.assert_allclose(big.probas_.to_numpy(), want.probas_.to_numpy(), atol=1e-12)


def test_an_unchanged_function_is_shipped_once(ray_session, judgments):
    with RayEngine(n_shards=2) as eng:
        eng.load(judgments, None)
        for factor in (1, 2, 3):
            assert eng.map_sum(_scaled_count, factor)["n"] == factor * judgments.n_judgments
        assert len(eng._fn_payloads) == 1
        eng.map(_ids)
        assert len(eng._fn_payloads) == 2


def test_errors_in_model_code_keep_their_type(ray_session, judgments):
    with RayEngine(n_shards=2) as eng:
        eng.load(judgments, None)
        with pytest.raises(ValueError, match="worker 7 has no labels"):
            eng.map(_fail, "worker 7 has no labels")


def test_shard_arrays_are_read_only_in_the_actors_whatever_their_size(ray_session, judgments):
    with RayEngine(n_shards=2) as eng:
        eng.load(judgments, None)  # small shards: they travel inline, not through shared memory
        with pytest.raises(ValueError, match="read-only"):
            eng.map(_overwrite_labels)


def test_actors_are_reused_by_the_next_fit(ray_session, judgments):
    import ray

    with RayEngine(n_shards=2) as eng:
        eng.load(judgments, None)
        first = set(ray.get([a.ping.remote() for a in eng._actors]))
    with RayEngine(n_shards=2) as eng:
        eng.load(judgments, None)
        second = set(ray.get([a.ping.remote() for a in eng._actors]))
    assert first == second


def test_the_idle_pool_is_forgotten_on_another_cluster_whose_job_id_is_the_same(ray_session, judgments,
                                                                                 monkeypatch):
    """After ray.shutdown() and ray.init() (a fresh cluster, whose job ids start again at 01000000) the
    next fit took the idle actors of the old cluster and failed ("It might be dead or it's from a
    different cluster"): the pool knew a new session by its job id alone. Here a context that differs
    from the real one only in its session name stands for that new cluster."""
    import ray

    from galton.workers import _shard_actor as sa

    with RayEngine(n_shards=2) as eng:
        eng.load(judgments, None)
        kept = list(eng._actors)  # back in the pool once the engine closes
    old = {a._actor_id for a in kept}
    real = ray.get_runtime_context()

    class Fresh:
        gcs_address = real.gcs_address

        def get_job_id(self):
            return real.get_job_id()

        def get_session_name(self):
            return "session_of_a_fresh_cluster"

    monkeypatch.setattr(sa.ray, "get_runtime_context", lambda: Fresh())
    handles = sa.acquire(2, 1)
    try:
        assert not {h._actor_id for h in handles} & old
    finally:
        for h in handles + kept:  # the pool forgot the old ones: stopped here
            sa.kill(h)


def test_idle_actors_kept_for_reuse_do_not_block_other_ray_work(ray_session, judgments):
    import ray

    with RayEngine(n_shards=2) as eng:
        eng.load(judgments, None)
        assert eng.n_actors == 2
    # both actors now wait in the pool; a task that needs every CPU of the cluster must still run
    whole = ray.remote(num_cpus=ray_session.num_cpus)(lambda: "ran")
    assert ray.get(whole.remote(), timeout=60) == "ran"


def test_an_engine_pickles_as_its_configuration(ray_session, judgments):
    eng = RayEngine(n_shards=2, max_retries=2)
    eng.load(judgments, None)
    try:
        blob = pickle.dumps(eng)
        assert len(blob) < 1000
        copy = pickle.loads(blob)
        assert (copy.n_shards, copy.max_retries, copy.n_actors) == (2, 2, 0)
    finally:
        eng.close()


def test_an_engine_object_serves_several_fits(ray_session, make_judgments):
    a, b = make_judgments(2), make_judgments(3, n_tasks=200)
    with RayEngine(n_shards=2) as eng:
        got = [agg.DawidSkene(engine=eng).fit(d).posteriors_ for d in (a, b)]
    want = [agg.DawidSkene(n_shards=2).fit(d).posteriors_ for d in (a, b)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------- every model: local == Ray
def _engine_models() -> list[str]:
    return [n for n in agg.names(kind="categorical") if "engine" in inspect.signature(agg.get(n).__init__).parameters]


def _fit(name: str, data, engine: str, n_shards: int):
    params = inspect.signature(agg.get(name).__init__).parameters
    kw = {"engine": engine, "n_shards": n_shards}
    if "random_state" in params:
        kw["random_state"] = 0
    model = agg.create(name, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(data)


def _check_same(name: str, data, n_shards: int) -> None:
    try:
        local = _fit(name, data, "local", n_shards)
    except ValueError as exc:  # a model that refuses this data must refuse it on Ray too
        with pytest.raises(type(exc)) as info:
            _fit(name, data, "ray", n_shards)
        assert str(exc).splitlines()[0] in str(info.value)
        return
    remote = _fit(name, data, "ray", n_shards)
    np.testing.assert_array_equal(remote.label_codes_, local.label_codes_)
    np.testing.assert_allclose(remote.posteriors_, local.posteriors_, rtol=0, atol=1e-9)
    if hasattr(local, "n_iter_"):
        assert remote.n_iter_ == local.n_iter_
    if hasattr(local, "history_"):
        np.testing.assert_allclose(remote.history_, local.history_, rtol=1e-12, atol=1e-9)


@pytest.fixture(scope="module")
def simulated(make_judgments):
    return make_judgments(7, n_tasks=400)


@pytest.fixture(scope="module")
def shared_binary():
    if datasets.shared_root() is None:
        pytest.skip(SHARED_SKIP)
    return datasets.load_shared("snow2008_temp").judgments


@pytest.mark.parametrize("n_shards", [1, 2, 7])
@pytest.mark.parametrize("name", _engine_models())
def test_ray_equals_local_on_simulated_data(ray_session, simulated, name, n_shards):
    _check_same(name, simulated, n_shards)


@pytest.mark.parametrize("n_shards", [1, 2, 7])
@pytest.mark.parametrize("name", _engine_models())
def test_ray_equals_local_on_a_shared_dataset(ray_session, shared_binary, name, n_shards):
    _check_same(name, shared_binary, n_shards)


def test_every_iterative_model_is_checked():
    assert {"ds", "one_coin_ds"} <= set(_engine_models())


# ---------------------------------------------------------------------------- one engine object, one fit at a time
@pytest.mark.parametrize("kind", ["local", "ray"])
def test_an_engine_object_in_use_by_another_thread_is_refused_not_swapped(request, kind):
    """Two threads fitting on one engine object: loading the second's data swapped the shards under
    the first, which returned the other dataset's labels (800 of 800 on Ray, 793 locally)."""
    import threading

    import pandas as pd

    from galton.aggregator._engine import engine_in_use

    if kind == "ray":
        request.getfixturevalue("ray_session")
    eng = LocalEngine(n_shards=2) if kind == "local" else RayEngine(n_shards=2)
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"), "label": [0, 0, 1, 1, 1, 0]})
    errors: list[BaseException] = []

    def other_thread():
        try:
            agg.DawidSkene().fit(df, engine=eng)
        except RuntimeError as exc:
            errors.append(exc)

    try:
        with engine_in_use(eng):  # this thread's fit holds it
            t = threading.Thread(target=other_thread)
            t.start()
            t.join()
            # the same thread may nest a fit on it
            assert agg.DawidSkene().fit(df, engine=eng).labels_.tolist() == [0, 1]
        assert len(errors) == 1 and "in use by a fit in another thread" in str(errors[0])
        other_thread()  # released: the other thread's fit runs
        assert len(errors) == 1
    finally:
        eng.close()


def test_n_shards_beside_an_engine_object_is_refused_unless_it_agrees():
    import pandas as pd

    df = pd.DataFrame({"task": [1, 1, 2, 2], "worker": list("abab"), "label": [0, 0, 1, 1]})
    eng = LocalEngine(n_shards=3)
    with pytest.raises(ValueError, match=r"n_shards=2 does not apply to an engine object \(it has n_shards=3\)"):
        agg.DawidSkene().fit(df, engine=eng, n_shards=2)
    with pytest.raises(ValueError, match="n_shards=2 does not apply"):
        agg.DawidSkene(engine=eng, n_shards=2).fit(df)
    assert agg.DawidSkene().fit(df, engine=eng, n_shards=3).labels_.tolist() == [0, 1]
