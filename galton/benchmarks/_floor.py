"""The per-iteration floor of a confusion-matrix E-step, measured on the same arrays and threads.

One compiled pass that reads every judgment once and adds its K table entries into its task's
row of a block buffer (no exp, no log, no counts written back): what any E-step of the Dawid-Skene
family must at least do. Four classes at a time are summed in registers over a task's judgments
(the fastest form measured here: 2.2 ms for 1M judgments x 4 classes on one thread, against 2.8 ms
for a loop over the classes and 5.9 ms for the first version of this floor, whose running total
over all tasks made one long chain of dependent additions). The speed benchmark reports galton's E-step time against it. The pass uses the same work
items and dynamic scheduling as the E-step (``aggregator._kernels_numba.chunk_bounds``), so the
ratio measures the kernel's own work, not the threading.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

__all__ = ["floor_pass", "estep_floor", "time_median"]

_KERNEL: Any = None


def _kernel() -> Any:
    global _KERNEL
    if _KERNEL is None:
        import numba

        @numba.njit(cache=True, parallel=True)
        def floor_items(indptr, wl, table, bounds):  # noqa: ANN001, ANN202  # pragma: no cover
            k = table.shape[1]
            k4 = k - k % 4
            per = max(1, 4096 // k)
            n_items = bounds.size - 1
            out = np.zeros(n_items)
            for c in numba.prange(n_items):
                buf = np.zeros(per * k)  # each task's K sums in its slot of a block (added: the slots
                # hold the totals of the tasks ``per`` apart, so the return value is the whole sum)
                for t in range(bounds[c], bounds[c + 1]):
                    base = (t % per) * k
                    j0, j1 = indptr[t], indptr[t + 1]
                    for x in range(0, k4, 4):  # four classes at a time, summed in registers
                        a0 = a1 = a2 = a3 = 0.0
                        for j in range(j0, j1):
                            r = wl[j]
                            a0 += table[r, x]
                            a1 += table[r, x + 1]
                            a2 += table[r, x + 2]
                            a3 += table[r, x + 3]
                        buf[base + x] += a0
                        buf[base + x + 1] += a1
                        buf[base + x + 2] += a2
                        buf[base + x + 3] += a3
                    for x in range(k4, k):
                        a = 0.0
                        for j in range(j0, j1):
                            a += table[wl[j], x]
                        buf[base + x] += a
                out[c] = buf.sum()  # so that nothing is optimised away
            return out.sum()

        _KERNEL = floor_items
    return _KERNEL


def floor_pass(indptr: np.ndarray, wl: np.ndarray, table: np.ndarray) -> float:
    """One floor pass over a shard's CSR arrays (``indptr``, ``wl`` the table row of each judgment:
    its observed (worker, label) pair, as the E-step reads it) and a (rows, K) table; returns the sum of every task's buffer (so that nothing is optimised away)."""
    import numba

    from ..aggregator._kernels_numba import chunk_bounds

    bounds = chunk_bounds(indptr, table.size)
    with numba.parallel_chunksize(1):
        return float(_kernel()(indptr, wl, table, bounds))


def time_median(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Median wall-clock seconds of ``repeat`` calls of ``fn`` after one untimed call."""
    fn()
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def estep_floor(model: Any, frame: Any, repeat: int = 5) -> dict[str, float]:
    """Seconds of one E-step of the fitted confusion model ``model`` on ``frame`` (one shard, its
    final parameters) and of the floor pass on the same arrays: medians of ``repeat`` runs."""
    from ..aggregator._engine import LocalEngine
    from ..judgments import Judgments

    eng = LocalEngine()
    eng.load(Judgments.from_any(frame), None)
    shard = eng.shards[0]
    params = model.params_
    from ..aggregator._pairs import pair_codes

    table = np.ascontiguousarray(params["table"])
    rows = pair_codes(shard, params["rows"])  # each judgment's table row (cached, as in a fit)
    estep = time_median(lambda: model.e_step(shard, params), repeat)
    floor = time_median(lambda: floor_pass(shard.indptr, rows, table), repeat)
    return {"estep_s": estep, "floor_s": floor, "judgments": float(shard.n_judgments)}
