"""Checkpoints of EM fits: a fit stopped by max_iter and started again resumes, and ends exactly where
an uninterrupted fit ends.

Most tests use the local engine (checkpointing belongs to the EM driver, not to Ray); the last one
resumes a fit on judgments loaded into Ray actors by distributed ingest.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile

import numpy as np
import pyarrow as pa
import pytest

from galton import datasets
from galton.aggregator import DawidSkene
from galton.aggregator._checkpoint import Checkpointer, flatten_params, unflatten_params
from galton.aggregator._engine import LocalEngine
from galton.judgments import Judgments


class CountingEngine(LocalEngine):
    """Counts the E-steps it runs."""

    def __init__(self, n_shards: int = 2):
        super().__init__(n_shards)
        self.e_steps = 0

    def map(self, fn, *args):
        if getattr(fn, "__name__", "") == "_e_step":
            self.e_steps += 1
        return super().map(fn, *args)


@pytest.fixture(scope="module")
def judgments(make_judgments):
    return Judgments.from_any(make_judgments(21, n_tasks=400, n_workers=20))


def _fit(data, max_iter, engine=None, **fit_options):
    model = DawidSkene(max_iter=max_iter, tol=-np.inf)  # tol -inf: runs every iteration it is allowed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(data, engine=engine, **fit_options)


def test_a_resumed_fit_equals_an_uninterrupted_one_bit_for_bit(judgments, tmp_path):
    whole = _fit(judgments, 12, CountingEngine())
    first = CountingEngine()
    _fit(judgments, 5, first, checkpoint_dir=tmp_path, checkpoint_every=2)  # interrupted at 5
    assert first.e_steps == 5
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].startswith("DawidSkene-") and files[0].endswith(".npz")
    second = CountingEngine()
    resumed = _fit(judgments, 12, second, checkpoint_dir=tmp_path, checkpoint_every=2)
    assert second.e_steps == 7  # iterations 6..12 only
    assert resumed.n_iter_ == whole.n_iter_ == 12
    assert resumed.history_ == whole.history_
    np.testing.assert_array_equal(resumed.posteriors_, whole.posteriors_)
    np.testing.assert_array_equal(resumed.errors_.to_numpy(), whole.errors_.to_numpy())
    assert sorted(os.listdir(tmp_path)) == files  # replaced in place, no temporary files left


def test_checkpoints_are_plain_npz_without_pickles(judgments, tmp_path):
    _fit(judgments, 3, checkpoint_dir=tmp_path)
    (path,) = tmp_path.iterdir()
    with zipfile.ZipFile(path) as z:
        assert all(n.endswith(".npy") for n in z.namelist())
    with np.load(path, allow_pickle=False) as z:  # would raise on an object array
        assert z["history"].shape == (3,)
        assert {"a:p/table", "a:p/logprior", "a:p/errors", "a:p/priors"} <= set(z.files)
    saved = Checkpointer.load(path)
    assert saved.iteration == 3 and saved.converged is False


def test_other_data_or_model_parameters_start_over(judgments, make_judgments, tmp_path):
    _fit(judgments, 4, checkpoint_dir=tmp_path)
    other = Judgments.from_any(make_judgments(22, n_tasks=400, n_workers=20))
    eng = CountingEngine()
    _fit(other, 6, eng, checkpoint_dir=tmp_path)
    assert eng.e_steps == 6  # not resumed from the other data's file
    eng = CountingEngine()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        DawidSkene(max_iter=6, tol=-np.inf, alpha=1.0).fit(judgments, engine=eng, checkpoint_dir=tmp_path)
    assert eng.e_steps == 6
    eng = CountingEngine(n_shards=2)
    _fit(judgments, 6, eng, checkpoint_dir=tmp_path)  # other shards: sums in another order
    assert eng.e_steps == 6
    eng = CountingEngine(n_shards=1)
    _fit(judgments, 6, eng, checkpoint_dir=tmp_path)  # the first data, model and layout: resumes
    assert eng.e_steps == 2
    assert len(os.listdir(tmp_path)) == 4


def test_a_converged_checkpoint_resumes_without_iterating(judgments, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converging: no ConvergenceWarning
        done = DawidSkene(n_iter=200).fit(judgments, checkpoint_dir=tmp_path, checkpoint_every=50)
    assert done.converged_ and done.n_iter_ < 200
    eng = CountingEngine(n_shards=1)
    again = DawidSkene(n_iter=200).fit(judgments, engine=eng, checkpoint_dir=tmp_path)
    assert eng.e_steps == 0
    assert again.converged_ and again.n_iter_ == done.n_iter_ and again.history_ == done.history_
    np.testing.assert_array_equal(again.posteriors_, done.posteriors_)


def test_glad_resumes_with_the_task_difficulties_kept_in_its_shards(judgments, tmp_path):
    """GLAD's per-task difficulties live in the shards (declared in ``shard_state``): the checkpoint
    saves them per shard and gives them back, so the resumed fit is the uninterrupted one."""
    from galton.aggregator import GLAD

    def fit(n, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return GLAD(n_iter=n, tol=0.0).fit(judgments, engine=CountingEngine(), **kw)

    whole = fit(8)
    fit(3, checkpoint_dir=tmp_path)
    (path,) = tmp_path.iterdir()
    with np.load(path, allow_pickle=False) as z:
        assert {"s:0/glad_beta", "s:1/glad_beta", "s:0/glad_mu_beta"} <= set(z.files)
    eng = CountingEngine()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resumed = GLAD(n_iter=8, tol=0.0).fit(judgments, engine=eng, checkpoint_dir=tmp_path)
    assert eng.e_steps == 5 and resumed.history_ == whole.history_
    np.testing.assert_array_equal(resumed.posteriors_, whole.posteriors_)
    np.testing.assert_array_equal(resumed.betas_.to_numpy(), whole.betas_.to_numpy())


class DigestCountingEngine(CountingEngine):
    """Counts the shard digests it computes (engine.map of shard_digest, per shard)."""

    def __init__(self, n_shards: int = 3):
        super().__init__(n_shards)
        self.digests = 0

    def map(self, fn, *args):
        if getattr(fn, "__name__", "") in ("shard_digest", "shard_state_of", "restore_shard_state", "shard_layout"):
            self.digests += len(self.shards)
        return super().map(fn, *args)


def test_saves_write_the_digests_of_their_runs_start_and_hash_no_shard_again(judgments, tmp_path):
    """The shards' arrays do not change during a fit: a save writes the digests taken at its run's
    start (each shard hashed for the fingerprint, and to check and restore a resumed state), the same strings a fresh
    hash of each shard gives; the resumed fit is the uninterrupted one, and a checkpoint whose shard
    digests are not this data's shards' is refused as before."""
    from galton.aggregator import BWA
    from galton.aggregator._checkpoint import shard_digest

    def fit(n, engine, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return BWA(max_iter=n, tol=-np.inf).fit(judgments, engine=engine, **kw)

    whole = fit(9, CountingEngine(3))
    first = DigestCountingEngine()
    fit(4, first, checkpoint_dir=tmp_path)  # saved at iterations 1..4
    assert first.e_steps == 4 and first.digests == 3  # the start's fingerprint only
    (path,) = tmp_path.iterdir()
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
    assert meta["shards"] == [shard_digest(s) for s in first.shards] and len(set(meta["shards"])) == 3
    second = DigestCountingEngine()
    resumed = fit(9, second, checkpoint_dir=tmp_path)
    assert second.e_steps == 5 and second.digests == 3 * 3  # fingerprint, layout check, restore: once each
    assert resumed.n_iter_ == whole.n_iter_ and resumed.history_ == whole.history_
    np.testing.assert_array_equal(resumed.posteriors_, whole.posteriors_)
    with np.load(path, allow_pickle=False) as z:
        payload = {k: z[k] for k in z.files}
    meta = json.loads(str(payload["meta"]))
    meta["shards"][1] = "0" * 32  # the state saved for another shard than this data's second one
    payload["meta"] = np.asarray(json.dumps(meta))
    np.savez(path, **payload)
    with pytest.raises(ValueError, match=r"holds state for a shard \(0+\.*\) this data does not have"):
        fit(12, DigestCountingEngine(), checkpoint_dir=tmp_path)


def test_models_with_undeclared_state_in_their_shards_are_refused(judgments, tmp_path):
    class Stateful(DawidSkene):
        def _e_step(self, shard, params):
            shard.state["memo"] = np.zeros(1)  # per-task state the model does not declare
            return super()._e_step(shard, params)

    with pytest.raises(ValueError, match="does not declare in shard_state"):
        Stateful(n_iter=3).fit(judgments, checkpoint_dir=tmp_path)  # found at the first save
    assert not list(tmp_path.iterdir())  # nothing half-right was written
    with pytest.raises(ValueError, match="checkpoint_every must be >= 1"):
        DawidSkene().fit(judgments, checkpoint_dir=tmp_path, checkpoint_every=0)


def test_parameters_round_trip_and_odd_ones_are_refused():
    params = {"table": np.arange(6.0).reshape(3, 2), "k": 3, "x": 0.1 + 0.2, "flag": True, "name": None,
              "nested": {"a": [np.int32(4), np.ones(2, dtype=np.int32)], "t": (1.5, "s")}}
    arrays, spec = flatten_params(params)
    back = unflatten_params(arrays, spec)
    assert back["k"] == 3 and back["x"] == 0.1 + 0.2 and back["flag"] is True and back["name"] is None
    np.testing.assert_array_equal(back["table"], params["table"])
    assert back["nested"]["a"][0] == 4 and back["nested"]["a"][1].dtype == np.int32
    assert back["nested"]["t"] == (1.5, "s")
    with pytest.raises(ValueError, match="object array"):
        flatten_params({"names": np.array(["a", None], dtype=object)})
    with pytest.raises(ValueError, match="cannot be checkpointed"):
        flatten_params({"f": lambda x: x})


def test_a_fit_on_ray_shards_resumes_too(ray_session, judgments, tmp_path):
    from galton.workers.engine import RayEngine

    class CountingRayEngine(RayEngine):
        e_steps = 0

        def map(self, fn, *args):
            self.e_steps += getattr(fn, "__name__", "") == "_e_step"
            return super().map(fn, *args)

    table = pa.table({"task": judgments.task_names[judgments.task], "worker": judgments.worker,
                      "label": judgments.label})
    whole = _fit(judgments, 9)
    with CountingRayEngine(n_shards=2) as eng:
        data = eng.load_parquet(table)
        _fit(data, 4, checkpoint_dir=tmp_path / "ck")
        resumed = _fit(data, 9, checkpoint_dir=tmp_path / "ck")
        assert eng.e_steps == 4 + 5
    assert resumed.n_iter_ == 9
    np.testing.assert_allclose(resumed.history_, whole.history_, rtol=1e-12)
    got = dict(zip(resumed.judgments_.task_names.tolist(), resumed.posteriors_))
    want = np.array([got[t] for t in judgments.task_names.tolist()])
    np.testing.assert_allclose(want, whole.posteriors_, rtol=0, atol=1e-9)


def test_a_fit_on_ray_checks_its_shards_state_where_they_live(ray_session, judgments, tmp_path):
    """GLAD keeps its task difficulties in the shards: on Ray the checkpoint's are compared with the
    shards' own shapes (a map to the actors) before they go back. Its own file resumes; one whose
    difficulties were cut short (read past their end by the E-step) is refused by name."""
    import json

    from galton.aggregator import GLAD
    from galton.workers.engine import RayEngine

    def fit(data, n, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return GLAD(n_iter=n, tol=0.0).fit(data, **kw)

    table = pa.table({"task": judgments.task_names[judgments.task], "worker": judgments.worker,
                      "label": judgments.label})
    with RayEngine(n_shards=2) as eng:
        data = eng.load_parquet(table)
        fit(data, 3, checkpoint_dir=tmp_path)
        (path,) = tmp_path.glob("GLAD-*.npz")
        good = path.read_bytes()
        assert fit(data, 5, checkpoint_dir=tmp_path).resumed_from_ == 3
        path.write_bytes(good)
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["s:1/glad_beta"] = arrays["s:1/glad_beta"][:2]
        assert json.loads(str(arrays["meta"]))["iteration"] == 3
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
        with pytest.raises(ValueError, match=rf"checkpoint {path} cannot be read \(its shard state glad_beta is an "
                                             r"array of shape \(2,\) of float64, this fit's of shape \(\d+,\) of "
                                             r"float64\); delete it to start over"):
            fit(data, 5, checkpoint_dir=tmp_path)


def test_the_progress_bar_shows_iteration_change_and_judgments_per_second(judgments, monkeypatch, capsys):
    import functools

    from galton import _progress
    from galton.aggregator import _base

    monkeypatch.setattr(_base, "Progress", functools.partial(_progress.Progress, delay=0.0))
    _fit(judgments, 3)
    model = DawidSkene(max_iter=3, tol=-np.inf, progress=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(judgments)
    last = capsys.readouterr().err.split("\r")[-1]
    assert " 3/3 " in last
    # what the stopping rule tests: crowd-kit's ELBO's rise in the last iteration (signed)
    assert f"ELBO rise/judgment {model.loss_history_[2] - model.loss_history_[1]:.2e}" in last
    assert f"log-likelihood {model.history_[2]:.6g}" in last
    rate = float(last.split(" judgments/s")[0].split()[-1].replace(",", ""))
    assert rate > 1000


def test_a_checkpoint_of_another_tol_is_taken_up_only_where_this_tol_runs_through_it(tmp_path):
    """A fit that converged under tol=1e-3 was taken up by the same command with the default tol as
    finished (bug hunt: 19 iterations instead of 80, 40 labels different). Now it goes on from there
    to the default's own end; the other way round (the strict fit saved, the loose one asked for)
    the loose rule stops before the checkpoint, so the fit starts over. Both equal fresh fits."""
    judgments = datasets.load("zheng_d_product", frame="pandas").judgments
    loose = DawidSkene(tol=1e-3).fit(judgments, checkpoint_dir=tmp_path / "a")
    strict = DawidSkene().fit(judgments, checkpoint_dir=tmp_path / "a")
    fresh = DawidSkene().fit(judgments)
    assert strict.resumed_from_ == loose.n_iter_ < strict.n_iter_ == fresh.n_iter_
    np.testing.assert_array_equal(strict.posteriors_, fresh.posteriors_)
    again = DawidSkene().fit(judgments, checkpoint_dir=tmp_path / "a")  # the same rule: finished, taken up
    assert again.resumed_from_ == fresh.n_iter_ and again.labels_.equals(fresh.labels_)
    DawidSkene().fit(judgments, checkpoint_dir=tmp_path / "b")
    loose_again = DawidSkene(tol=1e-3).fit(judgments, checkpoint_dir=tmp_path / "b")
    assert loose_again.resumed_from_ == 0 and loose_again.n_iter_ == loose.n_iter_
    np.testing.assert_array_equal(loose_again.posteriors_, loose.posteriors_)


def test_a_failed_save_says_which_checkpoint_is_left_and_a_run_again_resumes_from_it(judgments, tmp_path,
                                                                                      monkeypatch):
    """A checkpoint save that failed mid-fit (a full disk) gave the raw errno naming the hidden
    temporary; it names the directory and the iteration the last checkpoint holds, which is intact."""
    import errno

    saves, savez = [], np.savez

    def full_disk_at_the_third(fh, **arrays):
        saves.append(1)
        if len(saves) == 3:
            fh.write(b"half a checkpoint")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), fh.name)
        savez(fh, **arrays)

    monkeypatch.setattr(np, "savez", full_disk_at_the_third)
    with pytest.raises(OSError) as info:
        _fit(judgments, 8, checkpoint_dir=tmp_path / "ck", checkpoint_every=2)
    assert str(info.value) == (f"cannot write a checkpoint in {str(tmp_path / 'ck')!r}: No space left on device; "
                               "the last one (iteration 4) is intact, and a run again resumes from it")
    assert info.value.errno == errno.ENOSPC
    (left,) = os.listdir(tmp_path / "ck")  # no temporary
    assert Checkpointer.load(tmp_path / "ck" / left).iteration == 4
    monkeypatch.setattr(np, "savez", savez)
    resumed = _fit(judgments, 8, checkpoint_dir=tmp_path / "ck", checkpoint_every=2)
    assert resumed.resumed_from_ == 4
    np.testing.assert_array_equal(resumed.posteriors_, _fit(judgments, 8).posteriors_)
