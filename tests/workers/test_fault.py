"""Shard actors die in the middle of a fit; the fit completes with the same result.

Real failures: the actor's process is killed with SIGKILL (as when a node loses it) or with
``ray.kill`` while a call is in flight, restarts allowed. The engine reloads the shards into the
restarted actor and retries the call; state a model keeps in its shards (GLAD's task difficulties)
is rebuilt by replaying the calls that built it.
"""

from __future__ import annotations

import inspect
import os
import signal
import sys
import warnings

import numpy as np
import pyarrow.parquet as pq
import pytest
import ray
from ray import cloudpickle

import galton.aggregator as agg
from galton.aggregator._engine import LocalEngine
from galton.judgments import Judgments
from galton.workers.engine import RayEngine, ShardLostError

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # actors cannot import test modules


class FaultyEngine(RayEngine):
    """A Ray engine that breaks the actor holding shard 0 at its ``fail_at``-th call.

    how: "sigkill" kills the actor's process just before the call is sent; "ray.kill" kills the
    actor (restart allowed) right after the call was sent, while it is queued or running; "clear"
    empties the actor as a restart would, without the cost of a new process.
    """

    def __init__(self, *args, fail_at: int, how: str, **kw):
        super().__init__(*args, **kw)
        self.fail_at, self.how, self.calls, self.pids = fail_at, how, 0, []

    def map(self, fn, *args):
        self.calls += 1
        if self.calls == self.fail_at and self.how in ("sigkill", "clear"):
            self._break()
        return super().map(fn, *args)

    def _submit(self, a, call):
        ref = super()._submit(a, call)
        if self.calls == self.fail_at and self.how == "ray.kill" and a == 0 and not self.pids:
            self._break()
        return ref

    def _break(self):
        actor = self._actors[0]
        self.pids.append(ray.get(actor.ping.remote()))
        if self.how == "sigkill":
            os.kill(self.pids[-1], signal.SIGKILL)
        elif self.how == "ray.kill":
            ray.kill(actor, no_restart=False)
        else:
            ray.get(actor.clear.remote())


class CountingEngine(LocalEngine):
    def __init__(self, n_shards):
        super().__init__(n_shards)
        self.calls = 0

    def map(self, fn, *args):
        self.calls += 1
        return super().map(fn, *args)


def _model(name, engine):
    kw = {"engine": engine}
    if "random_state" in inspect.signature(agg.get(name).__init__).parameters:
        kw["random_state"] = 0
    return agg.create(name, **kw)


def _fit(model, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(data)


def _assert_same(remote, local):
    np.testing.assert_array_equal(remote.label_codes_, local.label_codes_)
    np.testing.assert_allclose(remote.posteriors_, local.posteriors_, rtol=0, atol=1e-9)
    if hasattr(local, "n_iter_"):
        assert remote.n_iter_ == local.n_iter_


@pytest.fixture(scope="module")
def data(make_judgments):
    return make_judgments(11, n_tasks=300)


@pytest.fixture(scope="module")
def data_gold(make_judgments):
    """Binary judgments (every model takes them, KOS included) and gold for a third of the tasks."""
    data, truth = make_judgments(12, n_tasks=300, n_labels=2, with_truth=True)
    return data, {t: int(truth[t]) for t in range(0, 300, 3)}


# ---------------------------------------------------------------------------- real kills
@pytest.mark.parametrize("name, how", [("ds", "sigkill"), ("glad", "ray.kill")])
def test_a_fit_survives_a_killed_shard_actor(ray_session, data, name, how):
    if name not in agg.names():
        pytest.skip(f"model {name!r} is not registered")
    local = _fit(_model(name, LocalEngine(2)), data)
    eng = FaultyEngine(n_shards=2, fail_at=6, how=how)  # the initial pass(es), then iterations
    try:
        remote = _fit(_model(name, eng), data)
        assert eng.restarts >= 1 and len(eng.pids) == 1
        assert ray.get(eng._actors[0].ping.remote()) != eng.pids[0]  # a new process holds the shards
    finally:
        eng.close()
    assert local.n_iter_ > 6  # the kill happened in the middle of the fit
    _assert_same(remote, local)


# ---------------------------------------------------------------------------- cheaper failures
def _accumulate(shard, x):
    """Per-shard state updated in place, as GLAD does with its task difficulties."""
    shard.state["total"] = shard.state.get("total", 0.0) + x * shard.n_judgments
    shard.state["_cache"] = "rebuilt on demand"
    return shard.state["total"]


def _stateless(shard, x):
    shard.state["_scratch"] = x  # a cache, not state
    return x * shard.n_judgments


def test_shard_state_is_rebuilt_by_replaying_the_calls_that_built_it(ray_session, data):
    j = Judgments.from_any(data)
    local = LocalEngine(3)
    local.load(j, None)
    assert_local = local.map(_stateless, 1)
    want = [local.map(_accumulate, x) for x in range(1, 7)]
    eng = FaultyEngine(n_shards=3, fail_at=4, how="clear")  # 3 shards in 2 actors
    try:
        eng.load(j, None)
        assert eng.map(_stateless, 1) == assert_local
        assert eng._log == []  # no state in the shards: nothing kept for a replay
        got = [eng.map(_accumulate, x) for x in range(1, 7)]
        assert eng.restarts == 1
        assert len(eng._log) == 6
    finally:
        eng.close()
    assert got == want
    assert got[-1][0] == 21 * local.shards[0].n_judgments


def test_a_restarted_actor_without_shards_is_reloaded(ray_session, data):
    j = Judgments.from_any(data)
    eng = FaultyEngine(n_shards=2, fail_at=2, how="clear")
    try:
        eng.load(j, None)
        got = [sum(eng.map(_stateless, x)) for x in (1, 2, 3)]
        assert eng.restarts == 1
        assert eng._log == []
    finally:
        eng.close()
    assert got == [x * j.n_judgments for x in (1, 2, 3)]


def test_a_call_that_keeps_failing_gives_up(ray_session, data):
    eng = FaultyEngine(n_shards=2, max_retries=0, fail_at=1, how="clear")
    try:
        eng.load(Judgments.from_any(data), None)
        with pytest.raises(ShardLostError, match="max_retries=0"):
            eng.map(_stateless, 1)
    finally:
        eng.close()


# ---------------------------------------------------------------------------- every model
def _engine_models():
    return [n for n in agg.names(kind="categorical") if "engine" in inspect.signature(agg.get(n).__init__).parameters]


@pytest.mark.parametrize("name", _engine_models())
def test_every_model_survives_losing_a_shard_actor_mid_fit(ray_session, data_gold, name):
    data, gold = data_gold
    counter = CountingEngine(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            local = _model(name, counter).fit(data, gold)
        except ValueError:  # a model that takes no gold (KOS)
            gold, counter = None, CountingEngine(3)
            local = _model(name, counter).fit(data)
    fail_at = counter.calls // 2 + 1
    eng = FaultyEngine(n_shards=3, fail_at=fail_at, how="clear")  # 3 shards in 2 actors
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            remote = _model(name, eng).fit(data, gold)
    finally:
        eng.close()
    assert eng.restarts == 1, f"{name}: {counter.calls} engine calls, failure at call {fail_at}"
    _assert_same(remote, local)


# ---------------------------------------------------------------------------- results written by the shards
def _kill_after_one_part(shard, marker):
    """Even posteriors; the first actor process to reach its second shard SIGKILLs itself, having
    written its first shard's part (once: the retry finds the marker and goes on)."""
    calls = os.path.join(marker, f"calls-{os.getpid()}")
    with open(calls, "ab") as f:
        f.write(b".")
    if os.path.getsize(calls) == 2 and not os.path.exists(os.path.join(marker, "killed")):
        open(os.path.join(marker, "killed"), "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return np.full((shard.task_ids.size, shard.n_labels), 1.0 / shard.n_labels)


def test_an_actor_killed_while_writing_results_leaves_none_of_its_parts(ray_session, data, tmp_path):
    """The killed attempt's finished parts (hidden names) were published beside the retry's: a glob
    over the directory (polars' ``read_parquet("out/*.parquet")`` matches hidden files) read those
    shards' tasks twice."""
    from galton.workers.output import write_parquet_dir

    j = Judgments.from_any(data)
    marker = tmp_path / "marker"
    marker.mkdir()
    eng = RayEngine(n_shards=4)  # 2 shards in each of 2 actors
    try:
        eng.load(j, None)
        write_parquet_dir(eng, _kill_after_one_part, str(marker), tmp_path / "out", j.label_names, j.task_names)
        assert eng.restarts == 1 and (marker / "killed").exists()
    finally:
        eng.close()
    assert sorted(os.listdir(tmp_path / "out")) == ["_galton_output.json", *(f"part-{s:05d}.parquet" for s in range(4))]
    tasks = sorted(t for f in (tmp_path / "out").iterdir() if f.suffix == ".parquet"
                   for t in pq.read_table(f)["task"].to_pylist())
    assert tasks == sorted(j.task_names.tolist())  # every task once
