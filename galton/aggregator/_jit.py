"""One way to pair a numba kernel with its numpy twin, and numba imported on first use only.

Every compiled kernel of galton is declared as::

    estep = twin("estep", _estep_numpy, "galton.aggregator._kernels_numba:estep")

The numpy function is the reference (and the fallback); the string names a plain Python function in
a ``*_numba`` module with the same signature and the same results, which calls the ``@njit``
kernels. Calling the twin runs the compiled one when numba is usable, the numpy one otherwise;
the ``*_numba`` module (and so numba, 0.2-0.7 s) is imported on the first call, never by
``import galton`` (:func:`import_compiled`). numba caches the machine code on disk (``cache=True``):
next to galton's sources, else in the user's cache directory, else (neither writable: a root install
run by another user with ``HOME=/``, a read-only container) in a private temporary directory for the
process, with one warning that a writable ``NUMBA_CACHE_DIR`` keeps the compiled kernels between runs.

numba is used when it is installed, unless ``GALTON_NO_NUMBA`` is on or ``GALTON_NUMBA`` off (read
as galton reads each of its on / off variables, :mod:`galton._env`: ``GALTON_NO_NUMBA=0`` keeps
numba). :data:`TWINS` lists every pair; one parametrised test checks each compiled kernel against
its numpy twin (``tests/aggregator/test_numba_twins.py``).

numba's OpenMP threading layer busy-waits between parallel regions by default: on a machine where
another process holds a core, the spinning threads starve the ones with work, and two threads took
longer than one (measured: E-step 0.066 s on two threads against 0.043 s on one, with one busy
process on 2 cores). galton therefore sets ``OMP_WAIT_POLICY=PASSIVE`` (then 0.032 s against 0.048 s)
while it first launches numba's threading layer, unless the environment says otherwise (:func:`import_numba`).

Even with sleeping idle threads, a parallel loop ends in a barrier: when another process holds one
of two cores, the thread that shares it may be put aside for a whole time slice while it holds a work
item, and the loop waits for it (measured on 1M judgments with one busy process: E-step median 8.4 ms
on two threads against 6.4 ms on one). So galton's parallel loops over work items run inside
:func:`work_items`, which uses no more threads than there are cores that no other runnable task
holds at that moment (:func:`threads_now`; ``GALTON_FOLLOW_LOAD=0`` keeps the configured count, and
so does a process pinned to some CPUs or under a cgroup CPU quota, where the machine-wide count
does not say which cores are its own).
The items, and so every result bit, are the same for any thread count.

In a child forked from a process that has launched numba's OpenMP threading layer, where an OpenMP
parallel region would kill the child, :func:`work_items` takes one thread and the parallel kernels
run their items one after another (:mod:`._fork`): the same bits again.

The threads of numba's parallel kernels are read and set through :func:`get_threads`,
:func:`set_threads` and :func:`threads` only (a Ray shard actor limits them to its CPUs, a study
job runs single-threaded): they import numba on first use and do nothing without it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import threading
from typing import Any, Callable, Iterator

from .._env import switch, switched_on
from ._fork import in_omp_child, parallel_turn

__all__ = ["HAVE_NUMBA", "Twin", "twin", "TWINS", "use_numba", "get_threads", "set_threads", "threads",
           "numba_threads", "import_numba", "runnable_elsewhere", "whole_machine", "follows_load", "threads_now", "work_items",
           "item_count", "switched_on", "import_compiled"]


def _wanted() -> bool:
    if switch("GALTON_NO_NUMBA"):  # 0, false, no, off: numba stays (any non-empty value had switched it off)
        return False
    return switched_on("GALTON_NUMBA")


#: numba is installed and not switched off by the environment (read once, at import; finding the
#: package does not import it)
HAVE_NUMBA: bool = _wanted() and importlib.util.find_spec("numba") is not None

#: every declared pair, by name
TWINS: dict[str, "Twin"] = {}


#: held by :func:`import_numba`; holds True once the first call has launched numba's threading layer
_LAUNCHING, _LAUNCHED = threading.Lock(), [False]


def import_numba() -> Any:
    """Import numba, with OpenMP's idle threads sleeping instead of spinning: the first call sets
    ``OMP_WAIT_POLICY=PASSIVE`` (a value already in the environment is kept), launches numba's
    threading layer (the OpenMP runtime reads the variable as it loads, then never again) and takes
    the variable out of the environment again, so that child processes do not inherit it."""
    with _LAUNCHING:
        added = not _LAUNCHED[0] and "OMP_WAIT_POLICY" not in os.environ
        os.environ.update({"OMP_WAIT_POLICY": "PASSIVE"} if added else {})
        try:
            import numba

            with contextlib.suppress(Exception):  # no layer loads (NUMBA_THREADING_LAYER): a parallel kernel says
                _LAUNCHED[0] or numba.get_num_threads()  # launches the layer: the OpenMP runtime reads the variable
            _LAUNCHED[0] = True
        except ValueError as exc:  # numba's own words name no variable: "Number of threads specified must be > 0."
            value = os.environ.get("NUMBA_NUM_THREADS")
            if value is None or "threads" not in str(exc):
                raise
            raise ValueError(f"NUMBA_NUM_THREADS={value!r} in the environment: numba refuses it ({exc}); set it to "
                             "a whole number of threads of at least 1, or unset it for one per core") from None
        finally:
            if added:
                os.environ.pop("OMP_WAIT_POLICY", None)
    return numba


#: the temporary directory numba caches galton's kernels in when it can write nowhere else (None: not needed)
_TEMP_CACHE: str | None = None


def _no_cache_place(exc: BaseException) -> bool:
    """numba's error at ``@njit(cache=True)`` when no cache directory it tries is writable."""
    return isinstance(exc, RuntimeError) and "no locator available" in str(exc)


def _temp_cache() -> str:
    """Point numba's cache at a private temporary directory (removed at exit) for this process and
    its children (``NUMBA_CACHE_DIR``, which numba's compiler re-reads); returns its path."""
    global _TEMP_CACHE
    if _TEMP_CACHE is None:
        import atexit
        import shutil
        import tempfile

        _TEMP_CACHE = path = tempfile.mkdtemp(prefix="galton-numba-")
        pid = os.getpid()
        atexit.register(lambda: os.getpid() == pid and shutil.rmtree(path, ignore_errors=True))
    os.environ["NUMBA_CACHE_DIR"] = _TEMP_CACHE
    from numba.core import config

    config.reload_config()
    return _TEMP_CACHE


#: one import_compiled at a time: threads' first imports raced to set up the temporary cache (one
#: failed with "cannot cache function", or imported a module another had half built)
_IMPORT_LOCK = threading.RLock()


def import_compiled(module: str) -> Any:
    """Import a ``*_numba`` module (and numba, :func:`import_numba`); None where numba cannot run
    it (then the numpy twins run). Calls from several threads run one after another.

    numba's ``@njit(cache=True)`` raises at import ("no locator available") when it can write its
    cache neither in ``NUMBA_CACHE_DIR``, nor next to galton's sources, nor in the user's cache
    directory. The kernels are then cached in a private temporary directory for this process (so
    compiled again by every run, seconds to a minute), with one warning; where even that fails,
    numba is switched off for the process (:data:`HAVE_NUMBA`), with a warning.
    """
    with _IMPORT_LOCK:
        return _import_compiled(module)


def _import_compiled(module: str) -> Any:
    global HAVE_NUMBA
    import_numba()
    try:
        return importlib.import_module(module)
    except RuntimeError as exc:
        if not _no_cache_place(exc):
            raise
        if _TEMP_CACHE is not None:  # set up meanwhile (by an import outside this lock): once more with it
            return importlib.import_module(module)
        where = os.environ.get("NUMBA_CACHE_DIR")
    from .._warnings import caller_stacklevel, warn

    tried = (f"NUMBA_CACHE_DIR={where!r}, " if where else "") + "galton's package folder or the user's cache directory"
    try:
        path = _temp_cache()
        compiled = importlib.import_module(module)
    except (OSError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not _no_cache_place(exc):
            raise
        HAVE_NUMBA = False
        warn(f"numba cannot write its cache ({tried}, nor a temporary directory: {exc}); galton runs "
             "its numpy kernels instead (slower). Set NUMBA_CACHE_DIR to a writable directory for "
             "the compiled ones", RuntimeWarning, stacklevel=caller_stacklevel())
        return None
    warn(f"numba cannot write its cache in {tried}: galton's kernels are compiled into the "
         f"temporary directory {path} for this run only, which takes time at every run; set "
         "NUMBA_CACHE_DIR to a writable directory to keep them", RuntimeWarning,
         stacklevel=caller_stacklevel())
    return compiled


def use_numba() -> bool:
    """Whether twins run their compiled version (tests may switch :data:`HAVE_NUMBA` off)."""
    return HAVE_NUMBA


class Twin:
    """A kernel with a numpy reference (:attr:`numpy`) and a numba version (:attr:`compiled`).

    Parameters
    ----------
    name : str
        The kernel's name in :data:`TWINS`.
    numpy_fn : callable
        The numpy implementation.
    compiled : str
        ``"module:function"`` of the numba implementation (same signature and results).
    """

    def __init__(self, name: str, numpy_fn: Callable[..., Any], compiled: str) -> None:
        self.name, self.numpy, self._target = name, numpy_fn, compiled
        self._compiled: Callable[..., Any] | None = None
        self._warm = False  # called once: numba has compiled (or loaded) its machine code
        self.__doc__ = numpy_fn.__doc__
        self.__name__ = name

    @property
    def compiled(self) -> Callable[..., Any]:
        """The numba version (imports its module, and numba, on first access); the numpy one where
        numba cannot run it (:func:`import_compiled`)."""
        if self._compiled is None:
            mod, _, attr = self._target.partition(":")
            module = import_compiled(mod)
            if module is None:
                return self.numpy
            self._compiled = getattr(module, attr)
        return self._compiled

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if use_numba():
            if self._warm:
                return self.compiled(*args, **kwargs)
            from .._signals import deferred

            with deferred():  # the first call compiles or loads machine code: no interrupt inside LLVM
                out = self.compiled(*args, **kwargs)
            self._warm = self._compiled is not None
            return out
        return self.numpy(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<twin {self.name}: {self.numpy.__module__}.{self.numpy.__name__} | {self._target}>"


def twin(name: str, numpy_fn: Callable[..., Any], compiled: str) -> Twin:
    """Declare a numba kernel and its numpy twin (see :class:`Twin`); registers it in :data:`TWINS`."""
    if name in TWINS:
        raise ValueError(f"kernel {name!r} is declared twice")
    TWINS[name] = t = Twin(name, numpy_fn, compiled)
    return t


def get_threads() -> int:
    """Threads the compiled parallel kernels use in the calling thread (imports numba); 1 when
    numba is off (``GALTON_NUMBA=0``) or not installed."""
    if not use_numba():
        return 1
    return int(import_numba().get_num_threads())


#: the former name of :func:`get_threads`
numba_threads = get_threads


def set_threads(n: int) -> int:
    """Let the compiled parallel kernels of the calling thread use ``n`` threads (clipped to
    ``[1, NUMBA_NUM_THREADS]``) and return the previous count. Without numba (switched off by the
    environment or not installed) nothing happens and 1 is returned."""
    if not use_numba():
        return 1
    numba = import_numba()
    old = int(numba.get_num_threads())
    numba.set_num_threads(max(1, min(int(n), int(numba.config.NUMBA_NUM_THREADS))))
    return old


@contextlib.contextmanager
def threads(n: int) -> Iterator[int]:
    """``with threads(1):`` the compiled kernels use ``n`` threads inside the block, the previous
    count again after it (a no-op without numba); yields the count in force."""
    if not use_numba():
        yield 1
        return
    old = set_threads(n)
    try:
        yield get_threads()
    finally:
        import numba  # restore even if numba was switched off inside the block

        numba.set_num_threads(old)


#: the kernel's count of runnable tasks, read from an open ``/proc/loadavg`` (1 us a read):
#: -1 not opened yet, None where the file does not exist (not Linux)
_LOADAVG: int | None = -1


def runnable_elsewhere() -> int | None:
    """Tasks runnable on this machine at this moment besides the caller: the fourth field of Linux's
    ``/proc/loadavg`` (``running/total``) less one; None where it cannot be read. The count is the
    kernel's, for the whole machine (a container sees its host's)."""
    global _LOADAVG
    if _LOADAVG == -1:
        try:
            _LOADAVG = os.open("/proc/loadavg", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            _LOADAVG = None
    if _LOADAVG is None:
        return None
    try:
        running = int(os.pread(_LOADAVG, 128, 0).split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None
    global _PREVIOUS
    _PREVIOUS = max(0, running - 1)
    return _PREVIOUS


#: the previous count :func:`runnable_elsewhere` read (None before the first)
_PREVIOUS: int | None = None


def _steady_count() -> int | None:
    """The runnable tasks besides the caller that both this reading and the one before it saw
    (the smaller count): a process that keeps a core busy is seen at every reading, while a task
    runnable for an instant is not seen twice in a row. Read once, such an instant cut a loop to one
    thread: after two idle seconds, 3 of a 1M-judgment fit's 20 E-steps read one other task (most
    often this process's own worker thread, not yet asleep after the last loop) and ran on one
    thread (6.3 ms instead of 3.3 ms); on an idle machine 0.7% of readings see one."""
    before = _PREVIOUS
    now = runnable_elsewhere()
    if now is None or before is None:
        return now
    return min(now, before)


def _cpu_quota() -> bool:
    """Whether a cgroup limits this process's CPU time (v2 ``cpu.max`` other than ``max``, v1
    ``cpu.cfs_quota_us`` other than -1), as in a container with a CPU limit."""
    paths = ["/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
             "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"]
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                hid, ctrls, path = line.rstrip("\n").split(":", 2)
                if hid == "0":
                    paths.append(f"/sys/fs/cgroup{path}/cpu.max")
                elif "cpu" in ctrls.split(","):
                    paths += [f"/sys/fs/cgroup/cpu{path}/cpu.cfs_quota_us",
                              f"/sys/fs/cgroup/cpu,cpuacct{path}/cpu.cfs_quota_us"]
    except (OSError, ValueError):
        pass
    for p in paths:
        try:
            with open(p) as f:
                first = f.read().split()[0]
        except (OSError, IndexError):
            continue
        if first not in ("max", "-1"):
            return True
    return False


_WHOLE_MACHINE: bool | None = None
_CPUS: int | None = None


def _cpus() -> int:
    """``os.cpu_count()``, read once: glibc reads it from /sys at each call (40 us here, on every
    parallel loop's start: 0.8 ms of a 0.1 s fit)."""
    global _CPUS
    if _CPUS is None:
        _CPUS = int(os.cpu_count() or 0)
    return _CPUS


def whole_machine() -> bool:
    """Whether this process may run on every CPU of the machine with no CPU quota: only then does
    the machine-wide running count (:func:`runnable_elsewhere`) say how many cores are free for it.
    A container with a CPU limit, or a process pinned to some CPUs, on a host whose other tasks keep
    its cores busy, would otherwise be cut to one thread. Read once."""
    global _WHOLE_MACHINE
    if _WHOLE_MACHINE is None:
        try:
            pinned = len(os.sched_getaffinity(0)) < (os.cpu_count() or 1)
        except (AttributeError, OSError):
            pinned = True  # no affinity call: not Linux, where the count is not read anyway
        _WHOLE_MACHINE = not pinned and not _cpu_quota()
    return _WHOLE_MACHINE


def follows_load() -> bool:
    """Whether :func:`work_items` follows the machine's load in this process: not switched off by
    ``GALTON_FOLLOW_LOAD=0``, and the process may use the :func:`whole_machine`."""
    return switched_on("GALTON_FOLLOW_LOAD") and whole_machine()


def threads_now(wanted: int, others: int | None = None, cpus: int | None = None) -> int:
    """Threads for a parallel loop starting now: ``wanted``, but no more than the CPUs (``cpus``,
    default ``os.cpu_count()``) that the ``others`` runnable tasks (default
    :func:`runnable_elsewhere`, read only when this process may use the :func:`whole_machine`)
    leave free, and at least 1. Unknown load, or ``GALTON_FOLLOW_LOAD=0`` in the environment:
    ``wanted``. On a 2-core machine: nothing else running, 2; one busy process, 1."""
    wanted = max(1, int(wanted))
    if wanted == 1 or not switched_on("GALTON_FOLLOW_LOAD"):
        return wanted
    if others is None:
        others = _steady_count() if whole_machine() else None
    if others is None:
        return wanted
    free = int(cpus if cpus is not None else (_cpus() or wanted)) - int(others)
    return max(1, min(wanted, free))


@contextlib.contextmanager
def work_items() -> Iterator[int]:
    """The setting of galton's parallel loops over work items: numba hands the items out one at a
    time (``parallel_chunksize(1)``) to :func:`threads_now` threads (the configured count, less the
    cores other runnable tasks hold now); the previous count again after the block. Yields the
    count in force. Only for loops whose results do not depend on the thread count. In a child
    forked from a process that launched numba's OpenMP layer: 1, and numba is not asked (the
    kernels, :func:`._fork.items_kernel`, run their items in this thread); 1 likewise in numba's
    workqueue layer while another thread's loop runs (:func:`._fork.parallel_turn`)."""
    from ._placement import spread

    if in_omp_child():
        yield 1
        return
    numba = import_numba()
    old = int(numba.get_num_threads())  # (launches numba's threading layer)
    with parallel_turn(numba) as turn:
        if not turn:  # another thread's loop runs in numba's workqueue layer: the items in this thread
            yield 1
            return
        n = threads_now(old)
        if n != old:
            numba.set_num_threads(n)
        try:
            # bound to distinct cores only when this very reading saw no other runnable task (the
            # count above forgives one reading; a binding could keep a thread on a core in use)
            quiet = follows_load() and _PREVIOUS == 0
            with numba.parallel_chunksize(1), spread(n, _cpus() if quiet else 0):
                yield n
        finally:
            if n != old:
                numba.set_num_threads(old)


def item_count(n: int, per_item: int, item_bytes: int, max_bytes: int, most: int) -> int:
    """How many work items a parallel pass over ``n`` rows takes: about ``per_item`` rows each, no
    more than ``max_bytes`` of per-item sums (``item_bytes`` each) in all, at most ``most``, at least
    one. A function of the data only, never of the thread count, so the items' sums, added in item
    order, give the same bits on any number of threads."""
    return int(max(1, min(-(-int(n) // int(per_item)), int(max_bytes) // max(int(item_bytes), 1), int(most))))
