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
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable

__all__ = ["in_omp_child", "items_kernel", "ITEMS_KERNELS"]

#: every kernel declared with :func:`items_kernel` (as imported so far)
ITEMS_KERNELS: list[Callable[..., Any]] = []

#: this process was forked from one that had launched numba's ``omp`` threading layer
_OMP_CHILD = False


def _after_fork_in_child() -> None:
    global _OMP_CHILD
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
    :func:`in_omp_child` (the same items in order, each by the same compiled function: the same
    bits on one thread)."""

    @functools.wraps(kernel.py_func)
    def run(*args: Any) -> Any:
        compiled = run.kernel  # type: ignore[attr-defined]
        return compiled.py_func(*args) if _OMP_CHILD else compiled(*args)

    run.kernel = kernel  # type: ignore[attr-defined]
    ITEMS_KERNELS.append(run)
    return run
