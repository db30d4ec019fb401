"""Checkpoints of the preference models: Bradley-Terry (Newman's safeguarded iteration and MM),
Crowd-BT, noisy Bradley-Terry and Plackett-Luce resume a fit stopped by ``n_iter`` and end exactly
where the uninterrupted fit ends, with the model's ``memory`` (the Newman safeguard's last accepted
point, the L-BFGS state) saved; other data (other comparisons, other item names) starts over."""

from __future__ import annotations

import json
import os
import pickle
import warnings
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

from galton.aggregator import _checkpoint
from galton.aggregator._checkpoint import Checkpointer, shard_digest
from galton.aggregator._engine import LocalEngine, build_shard
from galton.aggregator.bradley_terry import BradleyTerry, CrowdBT, NoisyBradleyTerry
from galton.aggregator.plackett_luce import PlackettLuce
from galton.datasets.simulate_prefs import simulate_best_of_n, simulate_pairwise

#: 15 games, winner first, on which Newman's iteration with a weak prior is rejected at steps 3,
#: 5 and 7 (the safeguard then takes MM steps from the last accepted point; MM for good after 3)
HARD_GAMES = [("i4", "i6"), ("i0", "i6"), ("i0", "i2"), ("i5", "i1"), ("i0", "i3"), ("i0", "i3"),
              ("i0", "i2"), ("i5", "i1"), ("i0", "i1"), ("i5", "i4"), ("i0", "i5"), ("i4", "i2"),
              ("i0", "i4"), ("i0", "i6"), ("i5", "i6")]


def _hard() -> pd.DataFrame:
    rows = [{"worker": f"w{i % 2}", "left": w if i % 2 else lo, "right": lo if i % 2 else w, "label": w}
            for i, (w, lo) in enumerate(HARD_GAMES)]
    return pd.DataFrame(rows)


class CountingEngine(LocalEngine):
    """Counts the E-steps it runs and records the largest pickled E-step (what travels to actors)."""

    def __init__(self, n_shards: int = 2):
        super().__init__(n_shards)
        self.e_steps = 0
        self.e_step_bytes = 0

    def map(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        if getattr(fn, "__name__", "") == "_e_step":
            self.e_steps += 1
            self.e_step_bytes = max(self.e_step_bytes, len(pickle.dumps(fn)))
        return super().map(fn, *args)


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    return simulate_pairwise(1500, n_prompts=1, n_responses=25, n_workers=20, seed=3, adversarial=0.2,
                             frame="pandas").data


@pytest.fixture(scope="module")
def choices() -> Any:
    return simulate_best_of_n(800, n_prompts=10, n_responses=4, n_workers=20, seed=4, frame="pandas").data


#: id -> (model with that iteration limit, data fixture, iterations before the stop, in all, the
#: memory keys the checkpoint must hold)
CASES: dict[str, tuple[Callable[[int], Any], str, int, int, set[str]]] = {
    "bt-newman": (lambda n: BradleyTerry(n_iter=n, tol=0.0, prior=0.01), "hard", 4, 12,
                  {"a:m/pending/theta", "a:m/prev/0/theta", "a:m/prev/1", "a:m/prev/2/n_num", "a:m/step"}),
    "bt-mm": (lambda n: BradleyTerry(n_iter=n, tol=0.0, method="mm"), "pairs", 5, 12,
              {"a:m/pending/theta", "a:m/prev/2/num", "a:m/step"}),
    "crowd-bt": (lambda n: CrowdBT(n_iter=n, tol=0.0), "pairs", 5, 12,
                 {"a:m/prev/2/truthful", "a:m/squarem/alpha", "a:m/squarem/step_max"}),
    "noisy-bt": (lambda n: NoisyBradleyTerry(n_iter=n, tol=0.0), "pairs", 6, 14,
                 {"a:m/lbfgs/best", "a:m/lbfgs/s/0", "a:m/lbfgs/y/0", "a:m/lbfgs/h0", "a:m/lbfgs/pending"}),
    "plackett-luce": (lambda n: PlackettLuce(n_iter=n, tol=0.0), "choices", 5, 12, set()),
}


def _data(request: pytest.FixtureRequest, name: str) -> Any:
    return _hard() if name == "hard" else request.getfixturevalue(name)


def _fit(model: Any, data: Any, engine: Any = None, **options: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=0: runs every iteration it is allowed (no convergence)
        return model.fit(data, engine=engine, **options)


def _memory_leaves(spec: Any, key: str) -> set[str]:
    """The keys of the memory's arrays and floats in a checkpoint's description of it."""
    (kind, value), = spec.items()
    if kind == "dict":
        return set().union(*(_memory_leaves(v, f"{key}/{k}") for k, v in value.items()))
    if kind in ("list", "tuple"):
        return set().union(*(_memory_leaves(v, f"{key}/{i}") for i, v in enumerate(value)))
    return {key} if kind in ("array", "float") else set()


def _same(a: Any, b: Any) -> None:
    assert a.n_iter_ == b.n_iter_ and a.history_ == b.history_
    np.testing.assert_array_equal(a.scores_values_, b.scores_values_)
    np.testing.assert_array_equal(a.se_values_, b.se_values_)
    for attr in ("skills_", "biases_"):
        if hasattr(b, attr):
            np.testing.assert_array_equal(getattr(a, attr).to_numpy(), getattr(b, attr).to_numpy())


@pytest.mark.parametrize("case", list(CASES))
def test_a_resumed_fit_equals_an_uninterrupted_one_bit_for_bit(case: str, request: pytest.FixtureRequest,
                                                               tmp_path: Any) -> None:
    make, data_name, k, n, memory_keys = CASES[case]
    data = _data(request, data_name)
    engines = [CountingEngine() for _ in range(3)]
    whole = _fit(make(n), data, engines[0])
    _fit(make(k), data, engines[1], checkpoint_dir=tmp_path, checkpoint_every=3)  # saved at 3 and at k
    (path,) = tmp_path.iterdir()
    with np.load(path, allow_pickle=False) as z:
        # the model's memory is in the checkpoint (an array it shares with the parameters by their key)
        assert memory_keys <= set(z.files) | _memory_leaves(json.loads(str(z["meta"]))["memory"], "a:m")
        assert z["history"].shape == (k,)
    resumed = _fit(make(n), data, engines[2], checkpoint_dir=tmp_path, checkpoint_every=3)
    assert [e.e_steps for e in engines] == [n, k, n - k]  # the second fit ran iterations k+1..n only
    _same(resumed, whole)
    assert os.listdir(tmp_path) == [path.name]  # replaced in place, no temporary files left
    # the bound E-step sent to every shard carries the hyper-parameters only (and the checkpointer)
    assert max(e.e_step_bytes for e in engines) < 1024


def test_the_newman_safeguard_memory_decides_the_resumed_fit(tmp_path: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """On these games Newman's step is rejected at iterations 3, 5 and 7: the checkpoint after 4
    holds one rejection and the last accepted point. A resume that forgot that memory (a fresh
    safeguard at the saved scores) takes other steps and ends elsewhere: the test data exercises the
    memory, and the bit-identical resume above depends on saving it."""
    make, _, k, n, _ = CASES["bt-newman"]
    whole = _fit(make(n), _hard(), CountingEngine())
    assert np.any(np.diff(whole.history_[:8]) < 0)  # rejected steps: the history goes down
    _fit(make(k), _hard(), CountingEngine(), checkpoint_dir=tmp_path)
    (path,) = tmp_path.iterdir()
    saved = Checkpointer.load(path)
    assert saved.memory["rejected"] == 1 and saved.memory["steps"] == k
    assert saved.memory["prev"][1] == max(whole.history_[:k])  # the best objective so far

    load = Checkpointer.load

    def forgetful(p: Any) -> Any:
        got = load(p)
        got.memory = {"pending": got.params, "prev": None, "step": None, "rejected": 0, "steps": 0}
        return got

    monkeypatch.setattr(Checkpointer, "load", staticmethod(forgetful))
    eng = CountingEngine()
    amnesiac = _fit(make(n), _hard(), eng, checkpoint_dir=tmp_path)
    assert eng.e_steps == n - k  # it did resume
    assert amnesiac.history_[:k] == whole.history_[:k] and amnesiac.history_[k:] != whole.history_[k:]
    assert not np.array_equal(amnesiac.scores_values_, whole.scores_values_)


def test_other_data_starts_over(pairs: pd.DataFrame, choices: Any, tmp_path: Any) -> None:
    """The fingerprint covers the comparisons (left, right, outcome), the choice events (offered
    items, choice) and the item names the codes stand for."""

    def steps(model: Any, data: Any) -> int:
        eng = CountingEngine()
        _fit(model, data, eng, checkpoint_dir=tmp_path)
        return eng.e_steps

    assert steps(BradleyTerry(n_iter=4, tol=0.0), pairs) == 4
    renamed = pairs.assign(**{c: pairs[c] + 1000 for c in ("left", "right", "label")})  # order kept
    assert steps(BradleyTerry(n_iter=6, tol=0.0), renamed) == 6  # the same codes, other items
    flipped = pairs.copy()
    flipped.loc[7, "label"] = flipped.loc[7, "right"] if flipped.loc[7, "label"] == flipped.loc[7, "left"] \
        else flipped.loc[7, "left"]
    assert steps(BradleyTerry(n_iter=6, tol=0.0), flipped) == 6  # one outcome changed
    swapped = pairs.copy()
    swapped.loc[7, ["left", "right"]] = swapped.loc[7, ["right", "left"]].to_numpy()
    assert steps(BradleyTerry(n_iter=6, tol=0.0), swapped) == 6  # one comparison shown the other way
    assert steps(BradleyTerry(n_iter=6, tol=0.0), pairs) == 2  # the first data again: resumes

    assert steps(PlackettLuce(n_iter=4, tol=0.0), choices) == 4
    other = choices.copy()
    row = other.loc[3]
    other.at[3, "choice"] = next(o for o in row["options"] if o != row["choice"])
    assert steps(PlackettLuce(n_iter=6, tol=0.0), other) == 6  # one choice changed
    assert steps(PlackettLuce(n_iter=6, tol=0.0), choices) == 2
    assert len(os.listdir(tmp_path)) == 6


def test_task_shards_hash_as_before_so_their_checkpoints_still_match() -> None:
    """The digest of a categorical shard is the one the checkpoints written before preference
    shards were hashed carry (computed with galton at commit cd6a75a)."""
    shard = build_shard(np.array([0, 0, 1, 2], np.int32), np.array([0, 1, 1, 0], np.int32),
                        np.array([1, 0, 1, 1], np.int32), np.arange(3, dtype=np.int32),
                        np.array([-1, 1, -1], np.int32), 2, 2)
    assert shard_digest(shard) == "8804923eecb906d863c2fb207c54e767"
    assert _checkpoint.shard_digest is shard_digest


def test_a_converged_preference_fit_resumes_without_iterating(pairs: pd.DataFrame, tmp_path: Any) -> None:
    done = CrowdBT().fit(pairs, checkpoint_dir=tmp_path, checkpoint_every=50)
    assert done.converged_
    eng = CountingEngine(n_shards=1)
    again = CrowdBT().fit(pairs, engine=eng, checkpoint_dir=tmp_path)
    assert eng.e_steps == 0
    _same(again, done)
    with pytest.raises(ValueError, match="checkpoint_every must be >= 1"):
        CrowdBT().fit(pairs, checkpoint_dir=tmp_path, checkpoint_every=0)


@pytest.fixture(scope="module")
def ray_session() -> Any:
    pytest.importorskip("ray", reason="Ray is in the test extra; galton runs without it")
    from galton.workers import cluster

    return cluster.connect("local", num_cpus=2, include_dashboard=False)


def test_a_fit_on_ray_resumes_too(ray_session: Any, tmp_path: Any) -> None:
    from galton.workers.engine import RayEngine

    class CountingRayEngine(RayEngine):
        e_steps = 0

        def map(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
            self.e_steps += getattr(fn, "__name__", "") == "_e_step"
            return super().map(fn, *args)

    make, _, k, n, _ = CASES["bt-newman"]
    whole = _fit(make(n), _hard(), "ray", n_shards=2)
    with CountingRayEngine(n_shards=2) as eng:
        _fit(make(k), _hard(), eng, checkpoint_dir=tmp_path)
        resumed = _fit(make(n), _hard(), eng, checkpoint_dir=tmp_path)
        assert eng.e_steps == k + (n - k)
    _same(resumed, whole)
    local = _fit(make(n), _hard(), CountingEngine(2))
    np.testing.assert_array_equal(resumed.scores_values_, local.scores_values_)


def test_a_ray_engine_without_a_shard_count_gives_preference_fits_one_shard_per_cpu(ray_session: Any) -> None:
    """``RayEngine()`` leaves ``n_shards`` 0 until its first load; preference models build their own
    shards and read that 0 as one shard, so the whole fit ran on one actor of a 2-CPU cluster (and the
    engine then kept 1 for good). They ask the engine for its plan now: one shard per CPU."""
    from galton.workers.engine import RayEngine

    class Recording(RayEngine):
        loaded: list[int] = []

        def load_shards(self, shards: list[Any], n_tasks: int = 0) -> None:
            self.loaded.append(len(shards))
            super().load_shards(shards, n_tasks)

    with Recording() as eng:
        CrowdBT().fit(_hard(), engine=eng)
        CrowdBT().fit(_hard(), engine=eng)
        assert eng.loaded == [2, 2] and eng.n_shards == 2


def test_a_squarem_state_without_its_iteration_count_is_refused_by_name(pairs: pd.DataFrame, tmp_path: Any,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A state saved before SQUAREM kept its iteration count (``it``, ``untested_at``) failed the
    resume with KeyError: 'it'. Such a file is older code's, which has another name since
    checkpoints carry the code that wrote them; under this code's name it is an edited file, and a
    file lacking keys of the fresh start is refused by name (a model that reads a key without a
    default crashed), with the fix; deleted, the fit starts over to the uninterrupted result."""
    make, _, k, n, _ = CASES["crowd-bt"]
    whole = _fit(make(n), pairs, CountingEngine())
    save = Checkpointer.save

    def old_save(self: Any, *args: Any, memory: Any = None, **kw: Any) -> Any:
        sq = {key: v for key, v in memory["squarem"].items() if key not in ("it", "untested_at")}
        return save(self, *args, memory={**memory, "squarem": sq}, **kw)

    monkeypatch.setattr(Checkpointer, "save", old_save)
    _fit(make(k), pairs, CountingEngine(), checkpoint_dir=tmp_path)
    monkeypatch.setattr(Checkpointer, "save", save)
    (path,) = tmp_path.iterdir()
    with pytest.raises(ValueError, match=r"cannot be read \(it lacks m/squarem/it, m/squarem/untested_at\); "
                                         "delete it to start over"):
        _fit(make(n), pairs, CountingEngine(), checkpoint_dir=tmp_path)
    path.unlink()
    _same(_fit(make(n), pairs, CountingEngine(), checkpoint_dir=tmp_path), whole)
