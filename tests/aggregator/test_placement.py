"""A parallel loop's threads each on a core of their own while the loop runs (``_placement.spread``),
only when the loop takes the whole machine, and the threads' cores given back after it."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from galton.aggregator import _jit, _placement

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2,
                       reason="needs Linux's CPU affinity and at least 2 CPUs"),
    pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off: no thread team"),
]


@pytest.fixture
def team(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """A team of numba threads as large as the machine, spreading switched on."""
    if not _jit.whole_machine():
        pytest.skip("this process is pinned to some CPUs or under a CPU quota: spreading stays off")
    import numba

    n = os.cpu_count() or 1
    if numba.config.NUMBA_NUM_THREADS < n or n > 16:
        pytest.skip(f"numba has {numba.config.NUMBA_NUM_THREADS} threads for {n} CPUs (or over 16 CPUs)")
    monkeypatch.delenv("GALTON_SPREAD_THREADS", raising=False)
    monkeypatch.setattr(_placement, "_BROKEN", False)
    with _jit.threads(n):
        ids = _placement.team_ids(n)
        for _ in range(20):  # a member that ran no iteration this time: ask again
            if min(ids) > 0:
                break
            ids = _placement.team_ids(n)
        assert min(ids) > 0
        yield n, ids


def _estep() -> tuple:
    from galton.aggregator import _kernels_numba as kn

    rng = np.random.default_rng(5)
    n_t, k, rows = 60_000, 4, 800
    indptr = np.arange(0, 5 * n_t + 1, 5, dtype=np.int64)
    wl = rng.integers(0, rows, 5 * n_t).astype(np.int32)
    table = np.log(rng.dirichlet(np.ones(k), rows))
    return kn.estep(indptr, None, wl, table, np.log(np.full(k, 1 / k)), np.full(n_t, -1, np.int32))


def test_each_thread_of_the_team_on_its_own_core_during_the_loop_and_every_core_after(team) -> None:
    n, ids = team
    everything = os.sched_getaffinity(0)
    assert ids[0] == threading.get_native_id() and len(set(ids)) == n
    free = _estep()
    with _placement.spread(n, n) as did:
        assert did
        inside = [os.sched_getaffinity(t) for t in ids]
        bound = _estep()
    assert all(len(s) == 1 for s in inside) and set().union(*inside) == everything
    assert [os.sched_getaffinity(t) for t in ids] == [everything] * n
    assert bound[0] == free[0]  # where the threads run changes no bit
    for a, b in zip(bound[1:], free[1:]):
        np.testing.assert_array_equal(a, b)


def test_nothing_is_bound_unless_the_loop_takes_every_core_and_the_switch_is_on(team, monkeypatch) -> None:
    n, ids = team
    everything = os.sched_getaffinity(0)
    for args in [(n - 1, n), (n, n + 1), (1, 1)]:  # other tasks hold a core; a smaller team
        with _placement.spread(*args) as did:
            assert not did and os.sched_getaffinity(0) == everything
    monkeypatch.setenv("GALTON_SPREAD_THREADS", "0")
    with _placement.spread(n, n) as did:
        assert not did and [os.sched_getaffinity(t) for t in ids] == [everything] * n


def test_a_thread_that_cannot_be_bound_leaves_every_thread_free_and_stops_spreading(team, monkeypatch) -> None:
    """A team member gone (a thread id no longer in the process): the members bound before it are
    given every core back, the loop runs unbound, and spreading stays off for the process."""
    n, ids = team
    everything = os.sched_getaffinity(0)
    key = (os.getpid(), threading.get_native_id(), n)
    monkeypatch.setitem(_placement._TEAMS, key, ids[:-1] + [2 ** 31 - 2])  # no such thread
    with _placement.spread(n, n) as did:
        assert not did and [os.sched_getaffinity(t) for t in ids] == [everything] * n
    assert _placement._BROKEN and not _placement.enabled()


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="the runnable count is read from Linux's /proc/loadavg")
def test_work_items_binds_only_when_this_reading_sees_the_machine_quiet(team, monkeypatch) -> None:
    """Through ``work_items``: the kernel's count faked at the file read. Two quiet readings: every
    core in the loop, the threads bound, and free after it. Another task runnable now but not at the
    reading before: the loop still takes every core (one reading is forgiven), unbound."""
    n, ids = team
    everything = os.sched_getaffinity(0)
    monkeypatch.setenv("GALTON_FOLLOW_LOAD", "1")
    assert _jit.runnable_elsewhere() is not None  # opens the file
    running = iter([1, 1, 1 + 1, 1])
    monkeypatch.setattr(_jit.os, "pread", lambda fd, k, off: f"0.1 0.2 0.3 {next(running)}/99 7\n".encode())
    assert _jit.runnable_elsewhere() == 0
    with _jit.work_items() as got:
        mine = os.sched_getaffinity(0)
    assert got == n and len(mine) == 1 and os.sched_getaffinity(0) == everything
    with _jit.work_items() as got:
        mine = os.sched_getaffinity(0)
    assert got == n and mine == everything


def test_a_c_library_without_gettid_switches_spreading_off(monkeypatch) -> None:
    """glibc before 2.30 has no ``gettid``: numba's compile of the team's id loop would abort the
    process (an unresolved symbol, past any ``except``), so spreading is off before any loop runs."""
    import ctypes

    class NoGettid:  # a C library of glibc 2.28: sched_getcpu, no gettid
        def __init__(self, lib: object) -> None:
            self.sched_getcpu = lib.sched_getcpu

    real = ctypes.CDLL
    asked: list[object] = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name, *a, **k: asked.append(name) or NoGettid(real(name, *a, **k)))
    monkeypatch.setattr(_placement, "_LIBC", None)
    monkeypatch.setattr(_placement, "_BROKEN", False)
    monkeypatch.delenv("GALTON_SPREAD_THREADS", raising=False)
    assert not _placement.enabled() and asked == [None]  # the process's own C library was asked
    with _placement.spread(2, 2) as did:
        assert not did
    monkeypatch.setattr(ctypes, "CDLL", real)
    monkeypatch.setattr(_placement, "_LIBC", None)
    assert _placement.enabled() == hasattr(real(None), "gettid")  # this one's answer is the C library's
