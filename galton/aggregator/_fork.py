"""galton's parallel kernels in a child made by ``fork``.

numba's ``omp`` threading layer (GNU OpenMP, the layer numba picks on Linux) cannot run a parallel
region in a child forked from a process that has launched it: numba kills the child ("Terminating:
fork() called from a process already using GNU OpenMP, this is unsafe."), so a
``multiprocessing.Pool`` (fork is its default start method on Linux up to Python 3.13) hung and a
``ProcessPoolExecutor`` broke as soon as a child fitted 200,000 judgments after a fit of that size in
the parent. The layer is launched by galton's first parallel kernel or thread count query, and
stays for the life of the process.

So a hook registered with :func:`os.register_at_fork` notes, in each child, whether its parent had
launched the ``omp`` layer (:func:`in_omp_child`). In such a child the kernels declared with
:func:`items_kernel` run their Python function instead of the compiled parallel one: its
``numba.prange`` is then a plain ``range``, so the same work items run one after another in the
calling thread, each by the same compiled (``@njit``) item function the parallel loop calls, and
the results keep every bit of the parent's. Only the thread count differs: one. A child started by
``spawn`` or ``forkserver`` is a fresh process and runs the parallel kernels.

numba's ``workqueue`` layer (the one left where neither OpenMP nor TBB is installed: pip's numba on
macOS) aborts the whole process when two threads launch parallel kernels at once ("Concurrent access
has been detected"), while fits may run in several threads at once. So in that layer a thread's
parallel loops run only while it holds a process-wide lock (:func:`parallel_turn`); a thread that
finds it taken runs its loop's items one after another itself, by the same path as a forked child:
the same bits, and no thread waits for another's fit.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from typing import Any, Callable, Iterator

__all__ = ["in_omp_child", "items_kernel", "ITEMS_KERNELS", "parallel_turn"]

#: every kernel declared with :func:`items_kernel` (as imported so far)
ITEMS_KERNELS: list[Callable[..., Any]] = []

#: this process was forked from one that had launched numba's ``omp`` threading layer
_OMP_CHILD = False

#: numba's launched threading layer is ``workqueue`` (None: not asked yet)
_WORKQUEUE: bool | None = None
#: held by the thread whose parallel loop runs, in the ``workqueue`` layer
_LAUNCH = threading.RLock()
#: ``serial``: this thread runs its loops' items itself (another thread holds :data:`_LAUNCH`)
_LOCAL = threading.local()


def _after_fork_in_child() -> None:
    global _OMP_CHILD, _LAUNCH
    _LAUNCH = threading.RLock()  # the parent's other threads, one of which may have held it, are not here
    numba = sys.modules.get("numba")  # never imported: no layer launched (and none is imported here)
    if _OMP_CHILD or numba is None:
        return
    try:
        layer = numba.threading_layer()  # raises until a layer is launched
    except Exception:  # noqa: BLE001 - ValueError when not launched; anything else: numba half imported
        return
    _OMP_CHILD = layer == "omp"


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def in_omp_child() -> bool:
    """Whether this process was forked from one that had launched numba's OpenMP threading layer:
    then no OpenMP parallel region may start here."""
    return _OMP_CHILD


def items_kernel(kernel: Any) -> Callable[..., Any]:
    """A numba ``parallel=True`` kernel whose ``prange`` loop hands each work item to compiled
    functions, as galton calls it: the kernel itself, or its Python function in a child where
    :func:`in_omp_child` or in a thread that :func:`parallel_turn` left out (the same items in
    order, each by the same compiled function: the same bits on one thread)."""

    @functools.wraps(kernel.py_func)
    def run(*args: Any) -> Any:
        compiled = run.kernel  # type: ignore[attr-defined]
        serial = _OMP_CHILD or getattr(_LOCAL, "serial", False)
        return compiled.py_func(*args) if serial else compiled(*args)

    run.kernel = kernel  # type: ignore[attr-defined]
    ITEMS_KERNELS.append(run)
    return run


@contextlib.contextmanager
def parallel_turn(numba: Any) -> Iterator[bool]:
    """Within the block the calling thread may launch parallel kernels (yields True): always, but in
    numba's ``workqueue`` layer (launched already) only while no other thread's block runs; a thread
    left out (False) runs its :func:`items_kernel` kernels' items itself within the block."""
    global _WORKQUEUE
    if _WORKQUEUE is None:
        _WORKQUEUE = numba.threading_layer() == "workqueue"
    if not _WORKQUEUE:
        yield True
        return
    launch = _LAUNCH
    mine = launch.acquire(blocking=False)
    was = getattr(_LOCAL, "serial", False)
    _LOCAL.serial = not mine
    try:
        yield mine
    finally:
        _LOCAL.serial = was
        if mine:
            launch.release()
