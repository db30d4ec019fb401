"""The speed benchmark's rows take turns (galton.benchmarks._turns, speed_jobs.run_in_turns): real
child processes, a real clock, a child that hangs and one that dies."""

from __future__ import annotations

import os
import sys
import time

import pytest

from galton.benchmarks import speed
from galton.benchmarks._turns import Turns

#: a child that answers each "fit" with the clock at that moment, or misbehaves on its second fit
CHILD = """
import sys, time
from galton.benchmarks._turns import Turns
mode = sys.argv[1]
Turns.reply("ready")
n = 0
for line in sys.stdin:
    if line.strip() != "fit":
        break
    n += 1
    if mode == "hang" and n == 2:
        time.sleep(600)
    if mode == "die" and n == 2:
        sys.stderr.write("boom on the second fit\\n")
        sys.exit(3)
    if mode == "spin":  # leaves a thread spinning after its fit, as OpenBLAS's are for ~0.1 s
        import threading
        def spin(until=time.monotonic() + 0.4):
            while time.monotonic() < until:
                pass
        threading.Thread(target=spin, daemon=True).start()
    Turns.reply(repr(time.monotonic()))
print("result of", mode, n)
"""


def _commands(*modes):
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return [([sys.executable, "-c", CHILD, mode], env) for mode in modes]


def test_children_fit_one_at_a_time_in_the_order_given_and_report_at_the_end():
    turns = Turns(_commands("a", "b", "c"), timeout=60)
    try:
        turns.start()
        stamps = []
        for order in ([0, 1, 2], [2, 1, 0], [0, 1, 2]):
            replies = turns.round(order)
            stamps += [(float(x), i) for x, i in zip(replies, order)]
        outputs = turns.finish()
    finally:
        turns.kill()
    # the clock readings, sorted, list the children in exactly the order they were told to fit
    assert [i for _, i in sorted(stamps)] == [0, 1, 2, 2, 1, 0, 0, 1, 2]
    assert outputs == [("result of a 3\n", None), ("result of b 3\n", None), ("result of c 3\n", None)]


def test_a_child_that_hangs_is_killed_at_its_timeout_and_the_others_go_on():
    turns = Turns(_commands("hang", "a"), timeout=3)
    try:
        turns.start()
        assert turns.round([0, 1])[1] is not None
        t0 = time.perf_counter()
        replies = turns.round([0, 1])
        assert time.perf_counter() - t0 < 30
        assert replies[0] is None and replies[1] is not None
        outputs = turns.finish()
    finally:
        turns.kill()
    assert outputs[0][1] == "timed out after 3 s"
    assert outputs[1] == ("result of a 2\n", None)


def test_a_child_that_dies_reports_its_exit_status_and_last_error_line():
    turns = Turns(_commands("die", "a"), timeout=60)
    try:
        turns.start()
        turns.round([0, 1])
        assert turns.round([0, 1])[0] is None
        assert turns.round([0, 1])[0] is None  # not asked again
        outputs = turns.finish()
    finally:
        turns.kill()
    assert outputs[0][1] == "subprocess exited 3: boom on the second fit"
    assert outputs[1] == ("result of a 3\n", None)


def test_benchmark_rows_in_turns_each_fit_their_own_repeats():
    """Real benchmark children (galton's numba and numpy paths) in turns: each row runs its own
    iterations and repeats and measures its own memory; a row with fewer repeats stops early."""
    jobs = [speed.Job("ds", "galton", 2000, 3, repeat=3), speed.Job("ds", "galton-numpy", 2000, 4, repeat=2)]
    results = speed.run_in_turns(jobs, timeout=300)
    assert [r.error for r in results] == [None, None]
    assert [len(r.seconds) for r in results] == [3, 2]
    assert [r.iterations for r in results] == [3, 4]
    assert results[1].numba is False  # GALTON_NO_NUMBA=1 reached that child only
    assert all(r.peak_mib > 0 and r.accuracy > 0.6 for r in results)


@pytest.mark.parametrize("isolate", [True, False])
def test_run_jobs_keeps_the_order_of_the_jobs_across_benchmarks(isolate):
    jobs = [speed.Job("ds", "galton-numpy", 1000, 2, warmup=False), speed.Job("glad", "galton", 500, 1),
            speed.Job("ds", "galton", 1000, 3)]
    results = speed.run_jobs(jobs, isolate=isolate, timeout=300)
    assert [(r.job.bench, r.job.impl, r.iterations) for r in results] == [
        ("ds", "galton-numpy", 2), ("glad", "galton", 1), ("ds", "galton", 3)]


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="the running count comes from /proc/loadavg (Linux)")
def test_with_settle_each_fit_waits_for_a_thread_the_previous_child_left_spinning():
    """A child leaves a thread spinning for 0.4 s after its fit: with ``settle=0`` the next child is
    told to fit only once that thread has stopped (the parent waited at least 0.3 s, and the next
    fit's clock reading comes at least 0.3 s after the spinner's fit); the wait is bounded by a
    second a step."""
    from galton.benchmarks._turns import settle

    turns = Turns(_commands("spin", "a"), timeout=60, settle=0)
    try:
        turns.start()
        replies = turns.round([0, 1])
        turns.finish()
    finally:
        turns.kill()
    assert 0.3 <= turns.waited <= 2.5
    assert float(replies[1]) - float(replies[0]) >= 0.3
    t0 = time.perf_counter()
    assert settle(allowed=10_000, limit=5.0) < 0.5  # nothing to wait for: back at once
    assert time.perf_counter() - t0 < 0.5
