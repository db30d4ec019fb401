"""Parallel loops use no more threads than the cores other runnable tasks leave free (issue 13: "no
thread count makes it slower than one thread"; with one busy process on 2 cores a two-thread E-step
waited at its barrier for the thread that shared a core: median 8.4 ms against 6.4 ms on one)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from galton.aggregator import _jit


@pytest.mark.parametrize(("wanted", "others", "cpus", "want"), [
    (2, 0, 2, 2),   # nothing else running: every configured thread
    (2, 1, 2, 1),   # one busy process on 2 cores: one thread
    (2, 5, 2, 1),   # never fewer than one
    (8, 3, 4, 1),   # more wanted than cores: what is free
    (4, 1, 8, 4),   # a big machine with room: the configured count
    (6, 3, 8, 5),
    (1, 0, 64, 1),  # one wanted stays one
])
def test_threads_now_is_the_configured_count_capped_by_the_free_cores(wanted, others, cpus, want) -> None:
    assert _jit.threads_now(wanted, others, cpus) == want


def test_unknown_load_or_the_switch_keeps_the_configured_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_jit, "runnable_elsewhere", lambda: None)  # not Linux: no /proc/loadavg
    assert _jit.threads_now(4, cpus=2) == 4
    monkeypatch.setenv("GALTON_FOLLOW_LOAD", "0")
    assert _jit.threads_now(4, others=10, cpus=2) == 4
    assert not _jit.follows_load()  # what the speed benchmark reports
    monkeypatch.setenv("GALTON_FOLLOW_LOAD", "1")
    assert _jit.follows_load() == _jit.whole_machine()


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="the runnable count is read from Linux's /proc/loadavg")
@pytest.mark.skipif((os.cpu_count() or 1) > 8, reason="the test keeps every core busy; this machine has over 8")
def test_with_every_core_busy_the_loops_take_one_thread_and_give_the_same_bits() -> None:
    """Real processes spinning on every core: the count read from the kernel sees them, a parallel
    loop takes one thread inside ``work_items`` and the configured count after it, and the E-step's
    results equal those of the same E-step on a quiet machine (the work items do not change)."""
    pytest.importorskip("numba")
    if not _jit.whole_machine():
        pytest.skip("this process is pinned to some CPUs or under a CPU quota: the machine's count is not followed")
    from galton.aggregator import _kernels_numba as kn

    cpus = os.cpu_count() or 1
    rng = np.random.default_rng(3)
    n_t, k, rows = 40_000, 4, 900
    indptr = np.arange(0, 5 * n_t + 1, 5, dtype=np.int64)
    wl = rng.integers(0, rows, 5 * n_t).astype(np.int32)
    table = np.log(rng.dirichlet(np.ones(k), rows))
    logprior, gold = np.log(np.full(k, 1 / k)), np.full(n_t, -1, np.int32)
    quiet = kn.estep(indptr, None, wl, table, logprior, gold)
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cpus)]
    try:
        deadline = time.monotonic() + 30
        while (_jit.runnable_elsewhere() or 0) < cpus and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (_jit.runnable_elsewhere() or 0) >= cpus
        with _jit.threads(2):
            configured = _jit.get_threads()
            with _jit.work_items() as n:
                assert n == 1 and _jit.get_threads() == 1
            assert _jit.get_threads() == configured
            busy = kn.estep(indptr, None, wl, table, logprior, gold)
    finally:
        for p in spin:
            p.kill()
            p.wait()
    assert busy[0] == quiet[0]
    for a, b in zip(busy[1:], quiet[1:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2,
                    reason="needs Linux's CPU affinity and at least 2 CPUs")
def test_a_process_pinned_to_some_cpus_keeps_its_configured_count() -> None:
    """The running count is the whole machine's: a process pinned to one CPU (or, likewise, under
    a container's CPU quota) cannot tell from it whether its own cores are free, so it does not
    follow it. A real child process pinned with ``sched_setaffinity``, and one that is not."""
    code = ("import os, sys\n"
            "if sys.argv[1] == 'pin':\n    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})\n"
            "from galton.aggregator import _jit\n"
            "print(_jit.whole_machine(), _jit.threads_now(3, cpus=1) if not _jit.whole_machine() else '-')\n")
    out = {}
    for mode in ("pin", "free"):
        res = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        out[mode] = res.stdout.split()
    assert out["pin"] == ["False", "3"]  # the configured count, whatever the machine's load
    free = len(os.sched_getaffinity(0)) == os.cpu_count() and not _jit._cpu_quota()
    assert out["free"][0] == str(free)


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="the runnable count is read from Linux's /proc/loadavg")
def test_a_task_runnable_at_one_reading_only_does_not_cut_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that keeps a core busy is runnable at every reading; a task runnable for an
    instant (after an idle spell, often this process's own worker thread) is not seen twice in a
    row, and a loop that read it once used to run on one thread. The kernel's count is faked at
    the file read (the fourth field of /proc/loadavg counts the reader too)."""
    if not _jit.whole_machine():
        pytest.skip("this process is pinned to some CPUs or under a CPU quota: the machine's count is not followed")
    monkeypatch.setenv("GALTON_FOLLOW_LOAD", "1")
    assert _jit.runnable_elsewhere() is not None  # opens the file
    running = iter([1, 2, 1, 2, 2, 1, 1])
    monkeypatch.setattr(_jit.os, "pread", lambda fd, n, off: f"0.10 0.20 0.30 {next(running)}/99 1234\n".encode())
    assert _jit.runnable_elsewhere() == 0  # the reading before the loops
    got = [_jit.threads_now(2, cpus=2) for _ in range(6)]
    # others read: 1, 0, 1, 1, 0, 0: one thread only where two readings in a row saw the other task
    assert got == [2, 2, 2, 1, 2, 2]
