"""The Ray engine: each shard lives in a Ray actor for the whole fit.

``DawidSkene().fit(data, engine="ray")`` (or ``engine=RayEngine(n_shards=8)``) runs the same model
code as the local engine. Per engine call the driver

1. pickles the model function (usually a bound method of the model) and sends its bytes to each
   actor only the first time; an unchanged function, the usual case from one EM iteration to the
   next, travels afterwards as a 16-byte key and is not unpickled again;
2. pickles the arguments (the model parameters) once: small ones (up to ``INLINE_BYTES``) travel
   inline with the calls, which is cheaper than an object-store round trip; larger ones are put
   into the object store once (``ray.put``) and every actor reads that one copy;
3. calls every actor, which runs the function on each of its shards;
4. collects the per-shard results in shard order, so ``map_sum`` adds them in exactly the order the
   local engine does and the fit is the same to the last bit.

Actors hold one shard each while the cluster has ``num_cpus_per_shard`` CPUs per shard; with fewer
CPUs, shards are dealt round robin to as many actors as fit (on 2 CPUs, 7 shards live in 2 actors).
Actors go back to an idle pool when the engine closes and the next fit reuses them (starting an
actor takes seconds); idle actors hold memory but no CPU (:func:`galton.workers.release_actors`).
An actor keeps the galton code it imported when it started: after editing galton in a running
session, call ``release_actors()`` so that the next fit starts actors with the new code. Shard
arrays are read-only inside the actors (large ones live in Ray's shared object store).
The shards travel through the object store once and the driver keeps only their references.

Data too large for the driver goes in with :meth:`RayEngine.load_parquet` (distributed ingest,
:mod:`galton.workers.ingest`): Ray tasks read the files and build the shards in the object store,
:meth:`RayEngine.load_refs` hands those references to the actors, and ``model.fit`` takes the
returned :class:`~galton.workers.sharded.ShardedJudgments` instead of the data.

Fault tolerance
---------------
Ray restarts a shard actor whose process dies. When an actor dies during a call (its process
killed, its node lost) or is found restarted with no shards, the engine reloads its shards from the
kept references (a replacement actor is started if Ray gave up restarting it) and retries the call,
at most ``max_retries`` times per call. Model functions are pure given (shard, arguments), so the
retried call returns what the first would have: the fit's result does not change.

Per-shard state. ``shard.state`` keys that start with ``_`` are caches a model rebuilds on demand
(``Shard.wl``); any other key is state that lives only in the actor (GLAD keeps its per-task
difficulties there) and would be lost with it. After every call the actors report whether their
shards hold such state; while any does, the engine keeps the calls made since the shards last held
none and, after a restart, replays them on the reloaded shards before retrying, which rebuilds the
state exactly (model functions are deterministic). A model with state therefore costs the driver
the arguments of those calls (the parameters of each iteration) for the length of the fit; a model
without state (Dawid-Skene, majority vote...) costs nothing. State kept under a ``_`` key is treated
as a cache and is not rebuilt: the model must recompute it when it is missing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import ray
from ray import cloudpickle
from ray.exceptions import GetTimeoutError, RayActorError, RayError

from ..aggregator._engine import EngineMixin, make_shards
from ..aggregator._params import check_count, check_real
from ..judgments import Judgments
from . import _shard_actor as sa
from .cluster import connect

__all__ = ["RayEngine", "ShardLostError"]

_FN_KEEP = 16  #: function payloads the driver keeps (a fit uses a handful)
INLINE_BYTES = 100_000  #: larger payloads go through the object store (Ray's own inline limit)


class ShardLostError(RuntimeError):
    """A shard actor kept failing: the call could not be completed within ``max_retries``."""


class RayEngine(EngineMixin):
    """Shards held by Ray actors.

    Parameters
    ----------
    n_shards : number of task shards; default: the cluster's CPUs / ``num_cpus_per_shard``. The
        attribute keeps the count asked for (or the default resolved by the first load): a fit on
        fewer tasks loads fewer shards, at most one a task, and leaves it unchanged.
    address : Ray cluster to use (see :func:`galton.workers.connect`); default: ``RAY_ADDRESS``,
        else a new local instance.
    num_cpus_per_shard : CPUs each shard may use: the engine makes at most one actor per
        ``num_cpus_per_shard`` CPUs of the cluster, and each actor's numba kernels use that many
        threads. Actors do not hold CPUs in Ray's scheduler (Ray's default for actors), so idle
        actors kept for reuse never block other Ray work.
    max_retries : retries of a call whose actor died or restarted (per call).
    reuse_actors : keep actors for the next fit (see :func:`galton.workers.release_actors`).
    start_timeout : seconds to wait for actors to start and load their shards.

    Attributes
    ----------
    restarts : number of actor failures recovered from since the engine was created.
    """

    def __init__(self, n_shards: int | None = None, address: str | None = None,
                 num_cpus_per_shard: float = 1, max_retries: int = 3, *, reuse_actors: bool = True,
                 start_timeout: float = 300.0):
        if n_shards is not None:  # None: one per CPU
            check_count("n_shards", n_shards, 1)
        check_real("num_cpus_per_shard", num_cpus_per_shard, 0)
        check_count("max_retries", max_retries)
        self._requested = None if n_shards is None else int(n_shards)
        # the count asked for, never changed by a fit (a fit on fewer tasks loads fewer shards, at most
        # one a task); without one, the default that load() resolves (0 until then)
        self.n_shards: int = self._requested or 0
        self.address = address
        self.num_cpus_per_shard = num_cpus_per_shard
        self._threads = sa.threads_for(num_cpus_per_shard)
        self.max_retries = int(max_retries)
        self.reuse_actors = bool(reuse_actors)
        self.start_timeout = float(start_timeout)
        self.n_tasks = 0
        self.restarts = 0
        self._reset_runtime()

    def _reset_runtime(self) -> None:
        self._actors: list[Any] = []
        self._n_loaded = 0
        self._assign: list[list[int]] = []
        self._shard_refs: list[Any] = []
        self._generation = ""
        self._log: list[tuple[str, Any, Any]] = []
        self._keeps_state: list[bool] = []
        self._fn_payloads: OrderedDict[str, Any] = OrderedDict()
        self._sent: list[set[str]] = []

    # ------------------------------------------------------------------------ loading
    def resolve_n_shards(self, num_cpus: float) -> int:
        """The number of shards: as requested, else one per ``num_cpus_per_shard`` cluster CPUs."""
        if self._requested is not None:
            return self._requested
        per = self.num_cpus_per_shard if self.num_cpus_per_shard > 0 else 1
        self.n_shards = max(1, int(num_cpus // per))
        return self.n_shards

    def planned_shards(self) -> int:
        """The number of shards a load makes (connecting to the cluster to count its CPUs when
        ``n_shards`` was not given): for models that build their own shards."""
        return self.resolve_n_shards(connect(self.address).num_cpus)

    def load(self, judgments: Judgments, gold: np.ndarray | None) -> None:
        """Split ``judgments`` into task shards and hand them to the actors."""
        self.load_shards(make_shards(judgments, gold, self.planned_shards()), judgments.n_tasks)

    def load_parquet(self, source: Any, *, task_col: str = "task", worker_col: str = "worker",
                     label_col: str = "label", gold: Any = None, on_invalid: str = "raise",
                     duplicates: str | None = None, labels: Any = None, numeric: bool = False) -> Any:
        """Read a directory / glob of Parquet files, a Ray Dataset or in-memory frames straight into
        the actors, in parallel Ray tasks, without collecting the data in this process; returns a
        :class:`galton.workers.sharded.ShardedJudgments` to pass to ``model.fit`` (see
        :func:`galton.workers.ingest.ingest` for the parameters)."""
        from .ingest import ingest

        return ingest(self, source, task_col=task_col, worker_col=worker_col, label_col=label_col,
                      gold=gold, on_invalid=on_invalid, duplicates=duplicates, labels=labels, numeric=numeric)

    def load_shards(self, shards: list[Any], n_tasks: int = 0) -> None:
        """Hand ready-made shards (any picklable objects; ``task_ids`` for ``gather``) to actors."""
        if not shards:
            raise ValueError("no shards to load")
        self.close()
        connect(self.address)
        self.load_refs([ray.put(s) for s in shards], n_tasks)

    def load_refs(self, refs: list[Any], n_tasks: int = 0) -> None:
        """Hand shards already in Ray's object store (references, kept to reload a restarted actor)
        to actors."""
        if not refs:
            raise ValueError("no shards to load")
        if self._actors:
            self.close()
        connect(self.address)
        self.n_tasks = int(n_tasks)
        self._shard_refs = list(refs)
        self._actors = sa.acquire(sa.n_actors_for(len(refs), self.num_cpus_per_shard),
                                  self._threads, reuse=self.reuse_actors)
        self._n_loaded = len(refs)
        k = len(self._actors)
        self._assign = [list(range(a, self._n_loaded, k)) for a in range(k)]
        self._keeps_state = [False] * k
        self._sent = [set() for _ in range(k)]
        self._generation = uuid.uuid4().hex
        pending = [self._submit_load(a) for a in range(k)]
        for a, ref in enumerate(pending):
            for attempt in range(self.max_retries + 1):
                try:
                    ray.get(ref, timeout=self.start_timeout)
                    break
                except GetTimeoutError:
                    self.close()
                    raise RuntimeError(
                        f"the shard actors did not start within {self.start_timeout:.0f} s; each needs "
                        "one free CPU to be placed and the cluster may have none: free some or raise "
                        "start_timeout"
                    ) from None
                except RayActorError as exc:
                    if attempt == self.max_retries:
                        self.close()
                        raise ShardLostError(f"the actor of shards {self._assign[a]} failed to load them") from exc
                    self._replace_actor(a)
                    ref = self._submit_load(a)

    def _submit_load(self, a: int) -> Any:
        idx = self._assign[a]
        return self._actors[a].load.remote(self._generation, idx, *[self._shard_refs[i] for i in idx])

    def _replace_actor(self, a: int) -> None:
        self._sent[a] = set()
        sa.kill(self._actors[a])
        self._actors[a] = sa.as_actor(self._threads)

    # ------------------------------------------------------------------------ calls
    def _pack(self, fn: Callable[..., Any]) -> tuple[str, Any]:
        """(key, payload) of a function: payload is its pickled bytes, or an object-store reference
        to them when they are large; the same function gets the same key and the same payload."""
        blob = cloudpickle.dumps(fn)
        key = hashlib.blake2b(blob, digest_size=16).hexdigest()
        payload = self._fn_payloads.get(key)
        if payload is None:
            payload = blob if len(blob) <= INLINE_BYTES else ray.put(blob)
            self._fn_payloads[key] = payload
            while len(self._fn_payloads) > _FN_KEEP:
                self._fn_payloads.popitem(last=False)
        else:
            self._fn_payloads.move_to_end(key)
        return key, payload

    @staticmethod
    def _broadcast(args: tuple) -> Any:
        """Arguments pickled once: inline bytes when small, else one object-store copy for all."""
        blob = cloudpickle.dumps(args)
        return blob if len(blob) <= INLINE_BYTES else ray.put(args)

    def _submit(self, a: int, call: tuple[str, Any, Any]) -> Any:
        key, fn_payload, args_payload = call
        known = key in self._sent[a]
        self._sent[a].add(key)
        return self._actors[a].run.remote(self._generation, None if known else fn_payload, args_payload, key)

    def map(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """``[fn(shard, *args) for shard in shards]`` in shard order; ``args`` are sent once."""
        if not self._actors:
            raise RuntimeError("RayEngine.map called before load(); load judgments or shards first")
        call = (*self._pack(fn), self._broadcast(args))
        pending = [self._submit(a, call) for a in range(len(self._actors))]
        out: list[Any] = [None] * self._n_loaded
        for a, ref in enumerate(pending):
            for i, res in zip(self._assign[a], self._result(a, ref, call)):
                out[i] = res
        self._log.append(call)
        if not any(self._keeps_state):
            self._log.clear()  # no state in any shard: a restart has nothing to rebuild
        return out

    def _result(self, a: int, ref: Any, call: tuple[str, Any, Any]) -> list[Any]:
        failures = resent = 0
        while True:
            try:
                if ref is None:
                    self._recover(a)
                    ref = self._submit(a, call)
                keeps, res = ray.get(ref)
                self._keeps_state[a] = bool(keeps)
                return res
            except sa.FunctionNotCachedError:
                resent += 1  # the actor evicted it: send the bytes again
                if resent > 2:
                    raise
                self._sent[a].discard(call[0])
                ref = self._submit(a, call)
            except (RayActorError, sa.ShardNotLoadedError) as exc:
                failures += 1
                if failures > self.max_retries:
                    raise ShardLostError(
                        f"the actor of shards {self._assign[a]} failed {failures} times; giving up "
                        f"(max_retries={self.max_retries})"
                    ) from exc
                ref = None

    def _recover(self, a: int) -> None:
        """Reload actor ``a``'s shards (in a replacement actor if Ray gave up on it) and replay the
        calls that built the shards' state, if they hold any."""
        self.restarts += 1
        self._sent[a] = set()  # a restarted actor has no functions either
        try:
            ray.get(self._submit_load(a), timeout=self.start_timeout)
        except RayActorError:
            self._replace_actor(a)
            ray.get(self._submit_load(a), timeout=self.start_timeout)
        for call in self._log:
            ray.get(self._submit(a, call))

    def placement(self) -> list[tuple[list[int], str]]:
        """Where the loaded shards live: per actor, its shard indices and its Ray node id."""
        nodes = ray.get([h.node.remote() for h in self._actors])
        return [(list(idx), node) for idx, node in zip(self._assign, nodes)]

    # ------------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Release the actors (back to the idle pool when ``reuse_actors``) and the shards."""
        actors = self._actors
        self._reset_runtime()
        if not actors or not ray.is_initialized():
            return
        healthy = []
        for h, ref in [(h, h.clear.remote()) for h in actors]:
            try:
                ray.get(ref, timeout=30)
                healthy.append(h)
            except RayError:  # dead, or not back within 30 s: not worth keeping
                sa.kill(h)
        if self.reuse_actors:
            sa.give_back(healthy, self._threads)
        else:
            for h in healthy:
                sa.kill(h)

    def __enter__(self) -> RayEngine:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # an engine pickled along with a model (engine=RayEngine(...) in its parameters) is only
        # its configuration: never actors, shards or logs
        return {"n_shards": self._requested, "address": self.address,
                "num_cpus_per_shard": self.num_cpus_per_shard, "max_retries": self.max_retries,
                "reuse_actors": self.reuse_actors, "start_timeout": self.start_timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        RayEngine.__init__(self, **state)  # configuration only, also for subclasses

    @property
    def generation(self) -> str:
        """The id of the current load ("" before the first): data loaded into this engine is still
        held while the engine's generation is the one it was loaded under."""
        return self._generation

    @property
    def n_actors(self) -> int:
        """Actors holding this engine's shards (0 before load)."""
        return len(self._actors)

    def __repr__(self) -> str:
        return (f"RayEngine(n_shards={self._requested}, address={self.address!r}, "
                f"num_cpus_per_shard={self.num_cpus_per_shard}, max_retries={self.max_retries})")
