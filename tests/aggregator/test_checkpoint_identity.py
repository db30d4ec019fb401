"""A checkpoint is taken up only by the same fit: found by hunting, each of these took up another
fit's state and returned its result without a word (or an unreadable file failed with numpy's own
words, one of them advising to unpickle it)."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from galton import BWA, EBCC, GLAD, MACE, DawidSkene


def _crowd(n_tasks: int, n_workers: int, k: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_tasks)
    acc = rng.uniform(0.4, 0.95, n_workers)
    t = np.repeat(np.arange(n_tasks), 5)
    w = rng.integers(0, n_workers, t.size)
    lab = np.where(rng.random(t.size) < acc[w], truth[t], rng.integers(0, k, t.size))
    return pd.DataFrame({"task": t, "worker": w, "label": np.array([f"L{i}" for i in range(k)])[lab]})


def _quiet(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarnings of the short fits
        return fit(*args, **kwargs)


@pytest.mark.parametrize("cls, kw, loose, strict", [(BWA, {}, 0.1, 1e-6), (EBCC, {"n_init": 2}, 0.05, 1e-4)])
def test_another_tol_starts_over_where_the_fit_freezes_parts_by_it(tmp_path, cls, kw, loose, strict):
    # BWA freezes converged classes, EBCC converged restarts: resumed under a stricter tol they
    # stayed frozen (BWA on act_sp: 7 iterations for 62, 41 of 4,999 labels off)
    df = _crowd(1500, 40, 3, 5)
    whole = _quiet(cls(**kw, tol=strict).fit, df)
    _quiet(cls(**kw, tol=loose).fit, df, checkpoint_dir=tmp_path)
    again = _quiet(cls(**kw, tol=strict).fit, df, checkpoint_dir=tmp_path)
    assert again.resumed_from_ == 0 and again.n_iter_ == whole.n_iter_
    np.testing.assert_array_equal(again.probas_.to_numpy(), whole.probas_.to_numpy())


def _confusions(acc: float, workers: range) -> pd.DataFrame:
    m = np.full((3, 3), (1 - acc) / 2)
    np.fill_diagonal(m, acc)
    idx = pd.MultiIndex.from_product([list(workers), ["L0", "L1", "L2"]], names=["worker", "label"])
    return pd.DataFrame(np.tile(m, (len(workers), 1)), index=idx, columns=["L0", "L1", "L2"])


def test_another_initial_error_is_another_fit(tmp_path):
    df = _crowd(1000, 30, 3, 3)
    a, b = _confusions(0.9, range(30)), _confusions(0.2, range(30))
    kw = dict(n_iter=3, tol=-np.inf, initial_error_strategy="assign")
    whole_b = DawidSkene(**kw).fit(df, initial_error=b)
    whole_a = DawidSkene(**kw).fit(df, initial_error=a)
    assert np.abs(whole_a.probas_.to_numpy() - whole_b.probas_.to_numpy()).max() > 0.5
    DawidSkene(**kw).fit(df, initial_error=a, checkpoint_dir=tmp_path)
    got = DawidSkene(**kw).fit(df, initial_error=b, checkpoint_dir=tmp_path)  # took up a's: a's result
    assert got.resumed_from_ == 0
    np.testing.assert_array_equal(got.probas_.to_numpy(), whole_b.probas_.to_numpy())
    again = DawidSkene(**kw).fit(df, initial_error=b, checkpoint_dir=tmp_path)  # its own: taken up
    assert again.resumed_from_ == 3


def test_series_parameters_that_print_alike_are_told_apart(tmp_path):
    df = _crowd(1000, 200, 2, 3)
    a = pd.Series(np.ones(200), index=np.arange(200))
    b = a.copy()
    b.iloc[100:110] = -3.0  # inside the part pandas' repr leaves out
    assert repr(a) == repr(b)
    whole_b = _quiet(GLAD(alphas_priors_mean=b, n_iter=5, tol=0).fit, df)
    _quiet(GLAD(alphas_priors_mean=a, n_iter=5, tol=0).fit, df, checkpoint_dir=tmp_path)
    got = _quiet(GLAD(alphas_priors_mean=b, n_iter=5, tol=0).fit, df, checkpoint_dir=tmp_path)
    assert got.resumed_from_ == 0
    np.testing.assert_array_equal(got.probas_.to_numpy(), whole_b.probas_.to_numpy())


def test_unreadable_and_foreign_checkpoints_are_named_with_the_fix(tmp_path):
    df = _crowd(500, 20, 3, 4)
    DawidSkene(n_iter=3, tol=-np.inf).fit(df, checkpoint_dir=tmp_path / "ck")
    (path,) = (tmp_path / "ck").glob("DawidSkene-*.npz")
    good = path.read_bytes()
    damaged = {"truncated": good[: len(good) // 2], "empty": b""}
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    damaged["pickled"] = (tmp_path / "obj.npy").read_bytes()
    for what, content in damaged.items():
        path.write_bytes(content)
        with pytest.raises(ValueError, match=rf"checkpoint {path} cannot be read .*delete it to start over") as e:
            DawidSkene(n_iter=3, tol=-np.inf).fit(df, checkpoint_dir=tmp_path / "ck")
        assert "pickle" not in str(e.value), what
    # another fit's file under this fit's name: refused, not taken up
    DawidSkene(n_iter=3, tol=-np.inf).fit(_crowd(500, 20, 3, 9), checkpoint_dir=tmp_path / "other")
    (other,) = (tmp_path / "other").glob("DawidSkene-*.npz")
    shutil.copy(other, path)
    with pytest.raises(ValueError, match=rf"checkpoint {path} was written by another fit"):
        DawidSkene(n_iter=3, tol=-np.inf).fit(df, checkpoint_dir=tmp_path / "ck")


def test_a_checkpoint_of_other_galton_code_starts_over(tmp_path, monkeypatch):
    # every galton version says 0.1.0 while what models keep in their memory changed: another
    # code's checkpoint resumed with keys missing (a crash) or state a later fix no longer builds
    # (an unused declared label winning a task at p=1); the code is part of the fingerprint now
    from galton.aggregator import _checkpoint

    df = _crowd(600, 20, 3, 7)
    fresh = _quiet(DawidSkene(n_iter=12, tol=0.0).fit, df)
    monkeypatch.setattr(_checkpoint, "code_identity", lambda: "0.1.0:older-code", raising=False)
    _quiet(DawidSkene(n_iter=4, tol=0.0).fit, df, checkpoint_dir=tmp_path)
    monkeypatch.setattr(_checkpoint, "code_identity", lambda: "0.1.0:newer-code", raising=False)
    again = _quiet(DawidSkene(n_iter=12, tol=0.0).fit, df, checkpoint_dir=tmp_path)
    assert again.resumed_from_ == 0 and again.n_iter_ == fresh.n_iter_
    np.testing.assert_array_equal(again.probas_.to_numpy(), fresh.probas_.to_numpy())
    assert len(list(tmp_path.iterdir())) == 2  # the other code's checkpoint is left alone
    # under the same code it resumes (the bit-for-bit resumes are tested elsewhere)
    same = _quiet(DawidSkene(n_iter=12, tol=0.0).fit, df, checkpoint_dir=tmp_path)
    assert same.resumed_from_ == 12


def test_the_code_identity_is_galtons_version_and_source():
    from galton import __version__
    from galton.aggregator._checkpoint import code_identity

    version, digest = code_identity().split(":")
    assert version == __version__ and len(digest) == 32 and code_identity() is code_identity()  # cached


def test_a_random_generator_is_told_apart_by_its_state_not_its_address(tmp_path):
    """A numpy Generator as ``random_state`` was fingerprinted by its repr, a memory address: a
    seed sweep in one process took up an earlier seed's checkpoint whenever the address came back
    (MACE, EBCC: another seed's result, without a word). Here the same object carries another
    seed's state; a fresh Generator of the first seed still resumes its own checkpoint."""
    df = _crowd(800, 30, 3, 6)
    gen = np.random.default_rng(0)
    _quiet(EBCC(n_init=2, random_state=gen).fit, df, checkpoint_dir=tmp_path)
    gen.bit_generator.state = np.random.default_rng(1).bit_generator.state  # same address, seed 1
    got = _quiet(EBCC(n_init=2, random_state=gen).fit, df, checkpoint_dir=tmp_path)
    whole = _quiet(EBCC(n_init=2, random_state=np.random.default_rng(1)).fit, df)
    assert got.resumed_from_ == 0
    np.testing.assert_array_equal(got.probas_.to_numpy(), whole.probas_.to_numpy())
    again = _quiet(EBCC(n_init=2, random_state=np.random.default_rng(0)).fit, df, checkpoint_dir=tmp_path)
    assert again.resumed_from_ > 0


def test_a_generator_that_spawned_the_last_fits_streams_is_another_fit(tmp_path):
    """MACE draws its restarts' streams with ``seed_seq.spawn``, which leaves the Generator's state as it was: a
    second fit with the same Generator took up the first fit's checkpoint by that state (act_cf: 3 of 300 labels
    and probabilities by 0.96 those of the first fit, without a word). A fit with it equals the same fit without
    a checkpoint; a fresh Generator of the seed still resumes the first fit's."""
    df = _crowd(300, 20, 3, 4)
    plain, ckpt = np.random.default_rng(0), np.random.default_rng(0)
    for i in range(2):
        whole = _quiet(MACE(n_restarts=3, n_iter=20, random_state=plain).fit, df)
        got = _quiet(MACE(n_restarts=3, n_iter=20, random_state=ckpt).fit, df, checkpoint_dir=tmp_path)
        assert got.resumed_from_ == 0, f"fit {i} took up a checkpoint"
        np.testing.assert_array_equal(got.probas_.to_numpy(), whole.probas_.to_numpy())
    again = _quiet(MACE(n_restarts=3, n_iter=20, random_state=np.random.default_rng(0)).fit, df,
                   checkpoint_dir=tmp_path)
    assert again.resumed_from_ > 0


@pytest.mark.parametrize("make", [lambda: np.random.RandomState(0), lambda: np.random.Generator(np.random.MT19937(1)),
                                  lambda: np.random.Generator(np.random.Philox(2)),
                                  lambda: np.random.Generator(np.random.SFC64(3))])
def test_random_states_whose_state_holds_arrays_are_saved_and_resumed(tmp_path, make):
    """MT19937's, Philox's and SFC64's states hold arrays, which the checkpoint's JSON refused
    after the first iterations (a raw TypeError): they are saved, and a longer fit resumes the
    shorter one's checkpoint with the result of an uninterrupted fit."""
    df = _crowd(800, 30, 3, 7)
    kw = dict(n_iter=6, tol=-np.inf)
    whole = _quiet(EBCC(n_init=1, random_state=make(), **kw).fit, df)
    _quiet(EBCC(n_init=1, random_state=make(), n_iter=3, tol=-np.inf).fit, df, checkpoint_dir=tmp_path)
    got = _quiet(EBCC(n_init=1, random_state=make(), **kw).fit, df, checkpoint_dir=tmp_path)
    assert got.resumed_from_ == 3
    np.testing.assert_array_equal(got.probas_.to_numpy(), whole.probas_.to_numpy())


def test_checkpoint_options_are_checked_and_a_killed_save_leaves_nothing(tmp_path, monkeypatch):
    """``checkpoint_dir=""`` wrote the checkpoints into the current directory; ``checkpoint_every``
    took 2.7, "3" and True and failed on None with int()'s words; a save killed half way left its
    hidden temporary file for good (EBCC's are tens of MB)."""
    df = _crowd(300, 20, 3, 8)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="checkpoint_dir '' is empty"):
        _quiet(DawidSkene().fit, df, checkpoint_dir="")
    assert list(tmp_path.iterdir()) == []
    for every in (2.7, "3", True, None):
        with pytest.raises(TypeError, match="checkpoint_every must be an integer"):
            _quiet(DawidSkene().fit, df, checkpoint_dir=tmp_path / "c", checkpoint_every=every)
    _quiet(DawidSkene().fit, df, checkpoint_dir=tmp_path / "c")
    (saved,) = (tmp_path / "c").iterdir()
    left = saved.with_name(f".{saved.name}.0123456789ab.tmp")
    left.write_bytes(b"half a save")
    _quiet(DawidSkene().fit, df, checkpoint_dir=tmp_path / "c")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [saved.name]


def test_an_array_held_twice_is_written_once_and_resumes(tmp_path):
    """EBCC keeps its table in its parameters and in its driver memory, the same array: each
    checkpoint wrote it twice (40k tasks: 8.6 MB each). It is written once, the memory naming the
    parameters' key, and a longer fit still resumes to the uninterrupted result."""
    import json

    df = _crowd(800, 30, 3, 9)
    whole = _quiet(EBCC(n_init=1, random_state=0, n_iter=6, tol=-np.inf).fit, df)
    _quiet(EBCC(n_init=1, random_state=0, n_iter=3, tol=-np.inf).fit, df, checkpoint_dir=tmp_path)
    (path,) = tmp_path.glob("EBCC-*.npz")
    with np.load(path) as z:
        files, meta = set(z.files), json.loads(str(z["meta"]))
    assert "a:p/table" in files and "a:m/table" not in files
    assert meta["memory"]["dict"]["table"] == {"array": "p/table"}
    got = _quiet(EBCC(n_init=1, random_state=0, n_iter=6, tol=-np.inf).fit, df, checkpoint_dir=tmp_path)
    assert got.resumed_from_ == 3
    np.testing.assert_array_equal(got.probas_.to_numpy(), whole.probas_.to_numpy())
