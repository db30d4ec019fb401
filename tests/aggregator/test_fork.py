"""A fit in a child made by ``fork`` after a large fit in the parent (numba's OpenMP layer launched
there): the child runs the parallel kernels' work items one after another, with the parent's bits
(``galton.aggregator._fork``)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator import _fork, _jit, _kernels, _pref_kernels

needs_numba = pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: no threads")
pytestmark = [pytest.mark.filterwarnings("ignore::galton.aggregator.ConvergenceWarning")]

#: the modules of galton's compiled kernels
NUMBA_MODULES = ["_kernels_numba", "_bwa_numba", "_ebcc_numba", "_mmsr_numba", "_bayes_numba", "_pref_kernels_numba",
                 "_helpers_numba", "_glad_numba", "_bayes_band_numba", "_special_numba"]

# a parent fits 210,000 judgments (the parallel kernels start at 200,000), then a child forked by a
# multiprocessing Pool and one forked by a ProcessPoolExecutor fit the same data; the child was killed
# ("Terminating: fork() called from a process already using GNU OpenMP"): the Pool waited for ever
# (here: TimeoutError), the executor raised BrokenProcessPool
SCENARIO = r"""
import concurrent.futures as cf, multiprocessing as mp, warnings
import numpy as np, pandas as pd, galton
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
n = 210_000
df = pd.DataFrame({"task": rng.integers(0, 40_000, n), "worker": rng.integers(0, 300, n),
                   "label": rng.integers(0, 3, n)}).drop_duplicates(["task", "worker"])
assert len(df) >= 200_000

def fit(name):
    return getattr(galton, name)().fit(df).probas_.to_numpy()

import numba
names = ["BayesianDawidSkene", "DawidSkene"]
parent = [fit(name) for name in names]
print("layer", numba.threading_layer())
fork = mp.get_context("fork")
with fork.Pool(1) as pool:
    child = pool.map_async(fit, names).get(timeout=90)
with cf.ProcessPoolExecutor(1, mp_context=fork) as ex:
    child.append(ex.submit(fit, names[0]).result(timeout=90))
print("same bits", [np.array_equal(a, b) for a, b in zip(parent + parent[:1], child)])
"""


@needs_numba
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_child_forked_after_a_large_fit_fits_with_the_parents_bits() -> None:
    """Bug hunt: after a fit of 200,000 judgments or more (numba's OpenMP layer launched), a child
    made by fork (multiprocessing's default on Linux up to Python 3.13) was killed by GNU OpenMP as
    soon as it entered a parallel kernel. The child now runs the same work items one after another:
    the same probabilities to the last bit, in a Pool and in a ProcessPoolExecutor."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALTON_") and k != "NUMBA_THREADING_LAYER"}
    res = subprocess.run([sys.executable, "-c", SCENARIO], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Terminating" not in res.stderr
    assert "same bits [True, True, True]" in res.stdout, res.stdout
    # where numba's layer is another one (tbb, workqueue), forks were safe before: the bits still hold


def _compiled_modules() -> None:
    for name in NUMBA_MODULES:
        assert _jit.import_compiled(f"galton.aggregator.{name}") is not None


@needs_numba
def test_every_parallel_kernel_has_its_forked_child_path() -> None:
    """Every ``parallel=True`` kernel of galton's compiled modules is declared with
    ``_fork.items_kernel`` (a new one without it would kill a forked child again), except the
    placement probe, which ``_jit.work_items`` does not call in such a child."""
    from numba.core.registry import CPUDispatcher

    _compiled_modules()
    wrapped = {id(run.kernel) for run in _fork.ITEMS_KERNELS}
    bare = []
    for name in NUMBA_MODULES:
        module = importlib.import_module(f"galton.aggregator.{name}")
        for attr, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.targetoptions.get("parallel") and id(obj) not in wrapped:
                bare.append(f"{name}.{attr}")
    assert bare == ["_helpers_numba.team_tids"]
    assert len({(run.__module__, run.__name__) for run in _fork.ITEMS_KERNELS}) == 11


class _Entered:
    """Stands for a parallel kernel that must not run: an OpenMP parallel region in a forked child."""

    def __init__(self, kernel):
        self.py_func = kernel.py_func

    def __call__(self, *args):
        raise AssertionError("a parallel kernel ran in a forked child")


def _comparisons(seed: int, n: int = 5000, items: int = 40, workers: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 1, items)
    left = rng.integers(0, items, n)
    right = (left + rng.integers(1, items, n)) % items
    p = 1 / (1 + np.exp(theta[right] - theta[left]))
    win = rng.random(n) < p
    return pd.DataFrame({"worker": rng.integers(0, workers, n), "left": left, "right": right,
                         "label": np.where(win, left, right)})


def _fits(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 12_000
    df = pd.DataFrame({"task": rng.integers(0, 2500, n), "worker": rng.integers(0, 120, n),
                       "label": rng.integers(0, 3, n)}).drop_duplicates(["task", "worker"])
    out = []
    for model in (galton.DawidSkene(n_iter=5), galton.BayesianDawidSkene(n_iter=5), galton.BWA(n_iter=5),
                  galton.EBCC(n_iter=5, n_init=3), galton.MMSR(n_iter=5)):
        model.fit(df)
        out.append(np.asarray(model.probas_ if getattr(model, "probas_", None) is not None else model.scores_))
    pairs = _comparisons(seed)
    for model in (galton.BradleyTerry(n_iter=5), galton.NoisyBradleyTerry(n_iter=5), galton.CrowdBT(n_iter=5)):
        out.append(np.asarray(model.fit(pairs).scores_))
    return out


@needs_numba
def test_in_a_forked_child_the_work_items_run_in_turn_with_the_same_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Taken for a forked child of a process that launched numba's OpenMP layer, each model with
    parallel kernels (every pass in work items here) gives the bits of the parallel run, and no
    parallel kernel runs (each would raise)."""
    from galton.aggregator import _bayes_numba, _kernels_numba

    _compiled_modules()
    monkeypatch.setattr(_kernels, "MIN_PARALLEL", 0)
    monkeypatch.setattr(_pref_kernels, "MIN_PARALLEL", 0)
    monkeypatch.setattr(_pref_kernels, "ITEM_COMPARISONS", 640)
    monkeypatch.setattr(_kernels_numba, "CHUNK_JUDGMENTS", 997)
    monkeypatch.setattr(_bayes_numba, "BLOCK", 37)
    with _jit.threads(2):
        parallel = _fits(4)
    for run in _fork.ITEMS_KERNELS:
        monkeypatch.setattr(run, "kernel", _Entered(run.kernel))
    with pytest.raises(AssertionError, match="ran in a forked child"):
        _fits(4)  # (the guard holds: outside a child the parallel kernels run)
    monkeypatch.setattr(_fork, "_OMP_CHILD", True)
    with _jit.work_items() as n:
        assert n == 1
    serial = _fits(4)
    assert len(serial) == len(parallel) == 8
    for a, b in zip(parallel, serial):
        np.testing.assert_array_equal(a, b)


@needs_numba
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_the_child_flag_follows_the_parents_threading_layer() -> None:
    """``in_omp_child`` is set in a child of a process whose numba layer is OpenMP (once launched),
    not in a child forked before any launch, and stays set in the child's own children."""
    code = r"""
import os, sys
from galton.aggregator import _fork

def child(then):
    pid = os.fork()
    if pid == 0:
        try:
            then()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)

child(lambda: print("before", _fork.in_omp_child(), flush=True))
import numba
child(lambda: print("imported", _fork.in_omp_child(), flush=True))
numba.get_num_threads()  # launches the layer
layer = numba.threading_layer()
print("layer", layer, flush=True)
child(lambda: (print("after", _fork.in_omp_child(), flush=True),
               child(lambda: print("grandchild", _fork.in_omp_child(), flush=True))))
print("parent", _fork.in_omp_child(), flush=True)
"""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split("\n")
    omp = lines[2] == "layer omp"
    assert lines[:2] == ["before False", "imported False"]
    assert lines[3:6] == [f"after {omp}", f"grandchild {omp}", "parent False"]


# two threads fit at once (README "Processes and threads"), the parallel kernels reached at small
# sizes; numba's workqueue layer (pip's numba on macOS) aborted the process: "Concurrent access has
# been detected"
WORKQUEUE = r"""
import contextlib, threading, warnings
import numpy as np, pandas as pd, galton
from galton.aggregator import _bayes_numba, _fork, _jit, _kernels, _kernels_numba, _pref_kernels
warnings.simplefilter("ignore")
_kernels.MIN_PARALLEL = _pref_kernels.MIN_PARALLEL = 0
_kernels_numba.CHUNK_JUDGMENTS, _bayes_numba.BLOCK = 997, 37
left = []
turn = getattr(_jit, "parallel_turn", contextlib.nullcontext)

@contextlib.contextmanager
def counted(numba):
    with turn(numba) as mine:
        left.append(not mine)
        yield mine

_jit.parallel_turn = counted

def fits(seed):
    rng = np.random.default_rng(seed)
    n = 12_000
    df = pd.DataFrame({"task": rng.integers(0, 2500, n), "worker": rng.integers(0, 120, n),
                       "label": rng.integers(0, 3, n)}).drop_duplicates(["task", "worker"])
    out = []
    for _ in range(4):
        for model in (galton.DawidSkene(n_iter=5), galton.BayesianDawidSkene(n_iter=5), galton.BWA(n_iter=5)):
            model.fit(df)
            out.append(np.asarray(model.probas_ if getattr(model, "probas_", None) is not None else model.scores_))
    return out

alone = [fits(1), fits(2)]
import numba
print("layer", numba.threading_layer(), "left out alone", sum(left))
got, left[:] = {}, []
ts = [threading.Thread(target=lambda i=i: got.__setitem__(i, fits(i + 1))) for i in range(2)]
[t.start() for t in ts]; [t.join() for t in ts]
print("left out together", sum(left) > 0)
print("same bits", all(np.array_equal(a, b) for i in range(2) for a, b in zip(alone[i], got[i])))
left.clear()
with _fork._LAUNCH:  # another thread's loop runs: this thread's loops run their items themselves
    t = threading.Thread(target=lambda: got.__setitem__(0, fits(1)))
    t.start(); t.join()
print("left out while held", len(left) > 0 and all(left), all(np.array_equal(a, b) for a, b in zip(alone[0], got[0])))
"""


@needs_numba
def test_two_threads_fit_at_once_in_numbas_workqueue_layer() -> None:
    """Bug hunt: in numba's workqueue threading layer (no OpenMP nor TBB: pip's numba on macOS) two
    threads fitting at once aborted the process at their first concurrent parallel loop. A thread
    that finds another's loop running now runs its items itself: both threads' fits give the bits of
    the fits run one at a time, and some loops (all, while another thread holds the turn) were run so."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALTON_")}
    env["NUMBA_THREADING_LAYER"] = "workqueue"
    res = subprocess.run([sys.executable, "-c", WORKQUEUE], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split("\n")[:4] == ["layer workqueue left out alone 0", "left out together True",
                                          "same bits True", "left out while held True True"], res.stdout
