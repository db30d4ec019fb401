"""Each thread of a parallel loop on a core of its own while the loop runs (Linux, whole machine).

On a virtual machine (KVM here), when a parallel loop wakes its sleeping worker thread after an
idle spell, the thread can be placed on the core of the thread that woke it (our reading: the idle
virtual core has been handed back to the host, and the guest's scheduler counts it as taken). Both
threads then share one core and the loop runs at one thread's speed until the scheduler's
balancing moves one of them, some loops later. Measured on this 2-core VM, 1M judgments, 4 classes: after two idle seconds,
2-8 of the next 25 E-steps took 6.1-6.4 ms (one thread's time) instead of 3.1-3.3 ms, the
threads' counters showing migrations and involuntary switches; a 1M-judgment Dawid-Skene fit
took 94-111 ms after two idle seconds against 85-92 ms in a loop. Letting the idle threads spin
instead of sleep (``GOMP_SPINCOUNT``) kept them placed, but a spinning thread is a runnable task:
:func:`._jit.threads_now` saw it as another process and cut the loops to one thread (fits
124-132 ms).

So :func:`spread` binds the loop's threads to distinct cores for the loop's duration: the calling
thread to the core it is on, each worker to one of the others, and gives every thread the whole
machine back after the loop. It does so only when the loop takes every core of the machine (no
other runnable task at its start: :func:`._jit.work_items` decides) in a process that may use the
whole machine: then no other process is displaced, and a process pinned to some CPUs or under a
CPU quota is left alone. ``GALTON_SPREAD_THREADS=0`` switches it off, and so does a C library
without ``gettid`` (glibc before 2.30: RHEL 8, Ubuntu 18.04; numba cannot compile the call that reads
the team's ids). Four system calls a loop on two cores: about 17 us a loop with the checks around
them, against 3 ms for a 1M-judgment E-step.
Any failure (a thread gone, no permission) leaves the threads as they were and switches spreading
off for the process.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Iterator

__all__ = ["spread", "team_ids", "enabled"]

#: native thread ids of the team of each (process, calling thread, team size): team member i at i
_TEAMS: dict[tuple[int, int, int], list[int]] = {}
_LIBC: Any = None
_BROKEN = False


def enabled() -> bool:
    """Spreading is on: Linux with a C library that has ``sched_getcpu`` and ``gettid`` (glibc 2.30
    on), not switched off by ``GALTON_SPREAD_THREADS=0``, not failed before."""
    from ._jit import switched_on

    return (not _BROKEN and hasattr(os, "sched_setaffinity") and switched_on("GALTON_SPREAD_THREADS")
            and _libc() is not None)


def _libc() -> Any:
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            lib = ctypes.CDLL(None)
            lib.sched_getcpu.restype = ctypes.c_int
            lib.gettid  # noqa: B018  the team's ids are read with it (glibc 2.30 on): numba's compile of a
            # call to a symbol the C library lacks aborts the whole process, past any ``except``
            _LIBC = lib
        except (OSError, AttributeError):
            _LIBC = False
    return _LIBC or None


def team_ids(n: int) -> list[int]:
    """The native thread ids of the calling thread's team of ``n`` numba threads (member 0 is the
    caller); the team is the same threads at every loop of that size (found once, by a parallel
    loop in which each member reports its id: 4 ms the first time)."""
    key = (os.getpid(), threading.get_native_id(), int(n))
    ids = _TEAMS.get(key)
    if ids is None:  # the imports only here: this runs at the start of every parallel loop
        import numba
        import numpy as np

        out = np.zeros(int(n), np.int32)
        try:
            with numba.parallel_chunksize(0):  # static: each member gets its share of the iterations
                from ._jit import import_compiled

                helpers = import_compiled("galton.aggregator._helpers_numba")
                if helpers is None:
                    raise RuntimeError("numba cannot cache its kernels")
                helpers.team_tids(out)
        except Exception as exc:  # no gettid in this C library, a compile error: the scheduler's placement
            raise OSError(f"cannot read the team's thread ids: {exc}") from exc
        ids = [int(x) for x in out]
        if min(ids) <= 0:  # a member ran nothing: ask again at the next loop
            return ids
        _TEAMS[key] = ids
    return ids


@contextlib.contextmanager
def spread(n: int, cpus: int) -> Iterator[bool]:
    """Within the block, the calling thread's team of ``n`` threads on ``n`` distinct cores, when
    the team takes every one of the machine's ``cpus`` cores (see the module docstring); yields
    whether it did."""
    bound = _bind(n) if n >= 2 and n == cpus and enabled() else None
    if bound is None:
        yield False
        return
    try:
        yield True
    finally:
        _release(*bound)


def _bind(n: int) -> tuple[list[int], set[int]] | None:
    """Bind the team of ``n`` to distinct cores, the caller to its own; (the ids bound, the whole
    machine's cores) or None (nothing bound)."""
    global _BROKEN
    everything = os.sched_getaffinity(0)
    bound: list[int] = []
    try:
        ids = team_ids(n)
        if min(ids) <= 0:  # not found this time (see team_ids)
            return None
        if ids[0] != threading.get_native_id() or len(set(ids)) != n or len(everything) != n:
            raise OSError("the team is not the calling thread and n - 1 distinct workers")
        here = int(_libc().sched_getcpu())
        others = [c for c in sorted(everything) if c != here]
        if here not in everything or len(others) != n - 1:
            raise OSError(f"core {here} is not one of the machine's")
        for tid, cpu in zip(ids, [here] + others):
            bound.append(tid)
            os.sched_setaffinity(tid, {cpu})
    except OSError:
        _BROKEN = True  # a thread gone, no permission: leave the threads to the scheduler from now on
        _release(bound, everything)
        return None
    return bound, everything


def _release(ids: list[int], everything: set[int]) -> None:
    global _BROKEN
    for tid in ids:
        try:
            os.sched_setaffinity(tid, everything)
        except OSError:
            _BROKEN = True
