"""Shard workers: the plain class that holds shards and runs model functions on them, the one helper
that makes it a Ray actor, and the pool of idle actors kept between fits.

:class:`ShardWorker` knows nothing about Ray's scheduling: tests call it directly. Inside an actor
it holds its shards for a whole fit, so that only parameters and statistics travel per iteration.
A function arrives once per worker as pickled bytes with a key (a hash of those bytes); later calls
name the key only and the worker reuses the function it unpickled the first time.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import ray
from ray import cloudpickle

from ..aggregator._jit import set_threads

__all__ = [
    "FunctionNotCachedError",
    "ShardNotLoadedError",
    "ShardWorker",
    "acquire",
    "kill",
    "as_actor",
    "forget_pool",
    "give_back",
    "has_persistent_state",
    "n_actors_for",
    "release_idle",
    "threads_for",
]

FN_CACHE = 64  #: functions a worker keeps unpickled (a fit uses a handful)


class ShardNotLoadedError(RuntimeError):
    """The worker does not hold the shards the caller expects (it restarted, or was reused)."""


class FunctionNotCachedError(LookupError):
    """The caller named a function by key that this worker does not hold; send its bytes."""


def has_persistent_state(shards: Sequence[Any]) -> bool:
    """True when a shard keeps state a restart would lose.

    Convention: ``shard.state`` keys that start with ``_`` are caches the model rebuilds on demand
    (``Shard.wl`` keeps ``_wl`` there); any other key is state that lives only in the shard."""
    return any(not str(k).startswith("_") for s in shards for k in getattr(s, "state", {}) or {})


def _freeze(shard: Any) -> None:
    """Make a shard's arrays read-only, as large shards read from Ray's object store already are:
    a model that writes into its input then fails the same way on small data as on large."""
    for value in getattr(shard, "__dict__", {}).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)


class ShardWorker:
    """Holds shards and runs ``fn(shard, *args)`` on each of them.

    Parameters
    ----------
    num_threads : threads numba may use inside this worker (the CPUs of its actor).
    """

    def __init__(self, num_threads: int = 1):
        self.num_threads = max(1, int(num_threads))
        self.generation: str | None = None
        self.indices: list[int] = []
        self.shards: list[Any] = []
        self._fns: OrderedDict[str, Callable[..., Any]] = OrderedDict()
        set_threads(self.num_threads)  # numba kernels use at most the CPUs the actor was given

    def load(self, generation: str, indices: Sequence[int], *shards: Any) -> dict[str, Any]:
        """Hold ``shards`` (global shard numbers ``indices``) under the load id ``generation``."""
        if len(indices) != len(shards):
            raise ValueError(f"{len(indices)} shard indices for {len(shards)} shards")
        for shard in shards:
            _freeze(shard)
        self.shards = list(shards)
        self.indices = [int(i) for i in indices]
        self.generation = generation
        return {"pid": os.getpid(), "indices": self.indices,
                "n_judgments": int(sum(getattr(s, "n_judgments", 0) for s in self.shards))}

    def run(self, generation: str, fn: Callable[..., Any] | bytes | None, args: tuple | bytes = (),
            key: str | None = None) -> tuple[bool, list[Any]]:
        """``[fn(shard, *args) for shard in shards]`` and whether the shards now keep persistent
        state (see :func:`has_persistent_state`).

        ``fn`` is a callable, its pickled bytes, or None for the function cached under ``key``;
        ``args`` is a tuple or its pickled bytes. Raises :class:`ShardNotLoadedError` when
        ``generation`` is not the load this worker holds and :class:`FunctionNotCachedError` when
        ``key`` names no cached function.
        """
        if generation != self.generation:
            raise ShardNotLoadedError(
                f"worker {os.getpid()} holds load {self.generation!r}, not {generation!r}; reload its shards"
            )
        f = self._resolve(fn, key)
        if isinstance(args, (bytes, bytearray, memoryview)):
            args = cloudpickle.loads(args)
        set_threads(self.num_threads)
        out = [f(s, *args) for s in self.shards]
        return has_persistent_state(self.shards), out

    def _resolve(self, fn: Callable[..., Any] | bytes | None, key: str | None) -> Callable[..., Any]:
        if fn is None:
            if key is None or key not in self._fns:
                raise FunctionNotCachedError(f"worker {os.getpid()} holds no function {key!r}")
            self._fns.move_to_end(key)
            return self._fns[key]
        f = cloudpickle.loads(fn) if isinstance(fn, (bytes, bytearray, memoryview)) else fn
        if key is not None:
            self._fns[key] = f
            while len(self._fns) > FN_CACHE:
                self._fns.popitem(last=False)
        return f

    def clear(self) -> int:
        """Drop the shards and cached functions (the worker can then serve another fit)."""
        self.shards, self.indices, self.generation = [], [], None
        self._fns.clear()
        return os.getpid()

    def ping(self) -> int:
        """The worker's process id."""
        return os.getpid()

    def node(self) -> str:
        """The id of the Ray node this worker runs on."""
        import ray

        return str(ray.get_runtime_context().get_node_id())


# ---------------------------------------------------------------------------- Ray actors
_actor_cls: Any = None


def as_actor(num_threads: int = 1, node: str | None = None) -> Any:
    """A :class:`ShardWorker` in a new Ray actor whose numba kernels use ``num_threads`` threads.

    The actor keeps Ray's default actor resources: one CPU free to be placed, none held while it
    lives, so that idle actors kept for reuse never starve other Ray work of CPUs (the engine sizes
    its actors by the cluster's CPUs itself). With ``node`` (a Ray node id) the actor goes to that
    node while it lives (soft affinity: elsewhere if it is gone); otherwise Ray spreads the actors
    over the nodes (``SPREAD``, best effort). Ray restarts a dead actor whenever its process dies
    (with no shards: the engine reloads them); calls are never retried by Ray itself
    (``max_task_retries=0``): the engine retries them, at most its ``max_retries`` times per call.
    """
    global _actor_cls
    if _actor_cls is None:
        _actor_cls = ray.remote(ShardWorker)
    strategy: Any = "SPREAD"
    if node is not None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        strategy = NodeAffinitySchedulingStrategy(node_id=node, soft=True)
    return _actor_cls.options(
        max_restarts=-1, max_task_retries=0, scheduling_strategy=strategy,
    ).remote(num_threads=max(1, int(num_threads)))


def node_slots() -> list[str]:
    """Alive Ray nodes with CPUs, one entry per CPU, interleaved (``[a, b, a, b, a, a]`` for nodes
    of 4 and 2 CPUs): actor ``i`` goes to entry ``i``, so actors spread over the nodes in proportion
    to their CPUs. Node ids are taken in sorted order, so the placement repeats."""
    cpus = {n["NodeID"]: int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")}
    nodes = sorted(k for k, v in cpus.items() if v > 0)
    return [k for r in range(max(cpus.values(), default=0)) for k in nodes if cpus[k] > r]


def threads_for(num_cpus: float) -> int:
    """numba threads of an actor given ``num_cpus`` CPUs per shard (at least one)."""
    return max(1, int(num_cpus))


def n_actors_for(n_shards: int, num_cpus: float) -> int:
    """One actor per shard while the cluster has ``num_cpus`` CPUs for each, else as many as fit
    (at least one); the engine then deals the shards to them round robin."""
    if num_cpus <= 0:
        return int(n_shards)
    total = float(ray.cluster_resources().get("CPU", 0.0))
    return max(1, min(int(n_shards), int(total / num_cpus + 1e-9)))


# ---------------------------------------------------------------------------- idle actor pool
# Starting an actor costs a process start and galton's imports (seconds on a small machine), so
# actors go back to a pool when a fit ends and the next fit reuses them. Idle actors hold no CPU,
# only their memory (a Python process with numpy and galton loaded), until release_idle(),
# shutdown() or the end of the driver.
_lock = threading.Lock()
_idle: dict[int, list[Any]] = {}
_pool_job: tuple[str, ...] | None = None


def _session() -> tuple[str, ...]:
    """What tells this connection from another: the cluster's session (a new one for every cluster
    started, whose job ids start again at 01000000) and the driver's job."""
    ctx = ray.get_runtime_context()
    try:
        session = str(ctx.get_session_name())
    except (AttributeError, RuntimeError, ray.exceptions.RayError):  # pragma: no cover - Ray Client
        session = ""
    try:
        address = str(ctx.gcs_address)
    except (AttributeError, RuntimeError, ray.exceptions.RayError):  # pragma: no cover - Ray Client
        address = ""
    return session, address, str(ctx.get_job_id())


def _check_job() -> None:
    global _pool_job
    key = _session()
    if key != _pool_job:  # another cluster or driver: the old handles are meaningless
        _idle.clear()
        _pool_job = key


def kill(handle: Any) -> None:
    """Stop the actor ``handle`` for good (no restart); one already gone is ignored."""
    try:
        ray.kill(handle, no_restart=True)
    except (ray.exceptions.RayError, ValueError):  # pragma: no cover - already gone
        return


def acquire(n: int, num_threads: int, *, reuse: bool = True) -> list[Any]:
    """``n`` actors with ``num_threads`` numba threads: idle ones from the pool first."""
    with _lock:
        _check_job()
        mine = _idle.pop(num_threads, []) if reuse else []
        taken, rest = mine[:n], mine[n:]
        if rest:
            _idle[num_threads] = rest
    missing = n - len(taken)
    if not missing:
        return taken
    slots = node_slots() if missing > 1 else []
    # new actors over the nodes in proportion to their CPUs, so that the shards of a fit use every
    # node (Ray's SPREAD alone is best effort: a node that registered late was left out)
    if len(set(slots)) < 2:
        return taken + [as_actor(num_threads) for _ in range(missing)]
    return taken + [as_actor(num_threads, slots[i % len(slots)]) for i in range(missing)]


def give_back(handles: Sequence[Any], num_threads: int) -> None:
    """Return healthy, cleared actors to the idle pool."""
    with _lock:
        _check_job()
        _idle.setdefault(num_threads, []).extend(handles)


def release_idle() -> int:
    """Stop the idle shard actors kept for reuse (frees their memory); returns how many."""
    with _lock:
        handles = [h for v in _idle.values() for h in v]
        _idle.clear()
    if ray.is_initialized():
        for h in handles:
            kill(h)
    return len(handles)


def forget_pool() -> None:
    """Drop the pool without contacting Ray (used by shutdown)."""
    with _lock:
        _idle.clear()
