"""Engines decide where the shards live; models only see :class:`Shard` objects.

A *shard* is a set of whole tasks with all their judgments, sorted by task (CSR layout: the
judgments of local task ``t`` are ``indptr[t]:indptr[t + 1]``). Models are written as functions
``fn(shard, *args)``; an engine runs such a function on every shard and, for additive statistics,
adds the results in a fixed shard order. The local engine keeps the shards in this process; the Ray
engine (``galton.workers``) keeps each shard in an actor.

Engines are looked up by name in one registry: :func:`register_engine` adds one ("local" is
registered here; :mod:`galton.workers` registers "ray" when it is imported), :func:`resolve_engine`
turns a name or an engine object into an engine and is the only place a name is resolved. The
models never import Ray, and nothing here imports :mod:`galton.workers`: for a name that is not
registered yet, :data:`ENGINE_PLUGINS` names the module whose import registers it, and
:func:`resolve_engine` imports that module by name (the plugin-loading step, as an entry point).
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from .._math import splitmix64
from ..judgments import Judgments
from ._kernels import task_order
from ._params import check_count

__all__ = ["Shard", "LoadedData", "Engine", "EngineMixin", "ENGINE_PLUGINS", "LocalEngine", "engine_names", "register_engine",
           "planned_shards", "resolve_engine", "open_engine", "engine_in_use", "make_shards", "shard_of_tasks",
           "add_stats"]


@dataclass
class Shard:
    """Whole tasks with all their judgments, sorted by task.

    Attributes
    ----------
    task_ids : int32 (n_tasks_in_shard,)   global task codes of this shard's tasks, increasing
    indptr : int64 (n_tasks_in_shard + 1,) CSR offsets of each task's judgments
    task : int32 (n,)    local task index of each judgment (0 .. n_tasks_in_shard - 1)
    worker, label : int32 (n,)  global worker and label codes
    gold : int32 (n_tasks_in_shard,)  gold label code, -1 where unknown
    n_workers, n_labels : global sizes
    state : per-shard scratch space a model may use between calls (never sent back)
    """

    task_ids: np.ndarray
    indptr: np.ndarray
    task: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    gold: np.ndarray
    n_workers: int
    n_labels: int
    state: dict = field(default_factory=dict, repr=False)

    @property
    def n_tasks(self) -> int:
        return int(self.task_ids.size)

    @property
    def n_judgments(self) -> int:
        return int(self.task.size)

    @property
    def worker_judgments(self) -> np.ndarray:
        """Judgments per worker in this shard, as floats (cached): the counts an M-step divides by."""
        n = self.state.get("_n_w")
        if n is None:
            n = self.state["_n_w"] = np.bincount(self.worker, minlength=self.n_workers).astype(float)
        return n

    @property
    def wl(self) -> np.ndarray:
        """worker * n_labels + label for each judgment (cached)."""
        wl = self.state.get("_wl")
        if wl is None:
            if self.n_workers * self.n_labels <= np.iinfo(np.int32).max:  # in int32: no int64 copies
                wl = (self.worker * np.int32(self.n_labels) + self.label).astype(np.int32, copy=False)
            else:
                wl = (self.worker.astype(np.int64) * self.n_labels + self.label).astype(np.int32)
            self.state["_wl"] = wl
        return wl


class LoadedData:
    """Base of data already loaded into an engine's shards (``RayEngine.load_parquet`` returns
    :class:`galton.workers.sharded.ShardedJudgments`): a model fits it on ``self.engine``, where
    it lies, with no encoding and no load. Subclasses set ``engine`` and define
    ``check_loaded()`` (raise when the shards are gone)."""

    engine: Any

    def check_loaded(self) -> None:  # pragma: no cover - subclasses define it
        raise NotImplementedError


def shard_of_tasks(task_codes: np.ndarray, n_shards: int) -> np.ndarray:
    """Shard index of each task code: a fixed integer hash (splitmix64 finaliser) modulo n_shards."""
    if n_shards == 1:
        return np.zeros(task_codes.shape, dtype=np.int32)
    return (splitmix64(task_codes.astype(np.uint64)) % np.uint64(n_shards)).astype(np.int32)


def build_shard(
    task: np.ndarray, worker: np.ndarray, label: np.ndarray, task_ids: np.ndarray,
    gold: np.ndarray, n_workers: int, n_labels: int,
) -> Shard:
    """Build one shard from judgments whose global task codes all lie in ``task_ids`` (sorted)."""
    if task_ids.size and task_ids[0] == 0 and task_ids[-1] == task_ids.size - 1:
        local = np.asarray(task, dtype=np.int32)  # all tasks 0..n-1: codes are already local
    else:
        local = np.searchsorted(task_ids, task).astype(np.int32)
    order, indptr = task_order(local, task_ids.size)
    if order is None:  # sorted by task already
        order = slice(None)
    else:
        local = local[order]
    return Shard(
        task_ids=task_ids.astype(np.int32),
        indptr=indptr,
        task=local,
        worker=np.ascontiguousarray(worker[order], dtype=np.int32),
        label=np.ascontiguousarray(label[order], dtype=np.int32),
        gold=np.ascontiguousarray(gold, dtype=np.int32),
        n_workers=n_workers,
        n_labels=n_labels,
    )


def make_shards(judgments: Judgments, gold: np.ndarray | None, n_shards: int) -> list[Shard]:
    """Split judgments into ``n_shards`` task-hashed shards (a shard may be empty), at most one per
    task: more shards than tasks are only more empty ones (``--shards 1000000`` on 12 rows took 2.8 GB
    and minutes), and the fit is the same for any count (sums in another order: the last bits)."""
    n_shards = max(1, min(int(n_shards), judgments.n_tasks))
    if gold is None:
        gold = np.full(judgments.n_tasks, -1, dtype=np.int32)
    all_tasks = np.arange(judgments.n_tasks, dtype=np.int32)
    task_shard = shard_of_tasks(all_tasks, n_shards)
    if n_shards > 1:  # each shard's tasks and judgments in their order by one stable sort, not a pass a shard
        j_shard = task_shard[judgments.task]
        t_order, j_order = np.argsort(task_shard, kind="stable"), np.argsort(j_shard, kind="stable")
        bounds = np.arange(n_shards + 1)
        t_edges, j_edges = np.searchsorted(task_shard[t_order], bounds), np.searchsorted(j_shard[j_order], bounds)
    shards = []
    for s in range(n_shards):  # (one shard: every task and every judgment)
        ids = all_tasks[t_order[t_edges[s]:t_edges[s + 1]]] if n_shards > 1 else all_tasks
        sel = j_order[j_edges[s]:j_edges[s + 1]] if n_shards > 1 else slice(None)
        shards.append(
            build_shard(
                judgments.task[sel], judgments.worker[sel], judgments.label[sel], ids, gold[ids],
                judgments.n_workers, judgments.n_labels,
            )
        )
    return shards


def add_stats(parts: Sequence[Any]) -> Any:
    """Add additive statistics (dicts / tuples of arrays and floats) in the given order."""
    first = parts[0]
    if isinstance(first, dict):
        return {k: add_stats([p[k] for p in parts]) for k in first}
    if isinstance(first, tuple):
        return tuple(add_stats([p[i] for p in parts]) for i in range(len(first)))
    if not isinstance(first, np.ndarray):
        return sum(parts[1:], first)
    if len(parts) == 1:  # a shard's result may be its own state: the caller gets a copy it may change
        return first.copy()
    total = first + parts[1]  # a new array: the rest are added into it, without one more copy
    for p in parts[2:]:
        if np.result_type(total, p) == total.dtype:
            total += p
        else:
            total = total + p
    return total


@runtime_checkable
class Engine(Protocol):
    """Where shards live. The fit lifecycles (``galton.aggregator._base``, ``_preference``,
    ``majority_vote``, ``kos``, ``ratings``, ``_checkpoint``) call these and nothing else;
    :class:`EngineMixin` gives ``map_sum`` and ``gather`` to any engine that has ``map``."""

    n_shards: int
    n_tasks: int

    def load(self, judgments: Judgments, gold: np.ndarray | None) -> None:
        """Split encoded judgments (and gold codes, -1 where unknown) into task shards and hold them."""

    def load_shards(self, shards: list[Any], n_tasks: int = 0) -> None:
        """Hold ready-made shards (pairwise / choice data builds its own)."""

    def map(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """``[fn(shard, *args) for shard in shards]`` in shard order."""

    def map_sum(self, fn: Callable[..., Any], *args: Any) -> Any:
        """The results of :meth:`map` added in shard order (additive statistics)."""

    def gather(self, fn: Callable[..., np.ndarray], *args: Any) -> np.ndarray:
        """Per-task rows of every shard assembled in global task order."""

    def close(self) -> None:
        """Release the shards (an engine may be reused after a new ``load``)."""


class EngineMixin:
    """Reductions every engine gets from ``map``."""

    n_tasks: int

    def map_sum(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(shard, *args)`` on every shard and add the results in shard order."""
        return add_stats(self.map(fn, *args))  # type: ignore[attr-defined]

    def gather(self, fn: Callable[..., np.ndarray], *args: Any) -> np.ndarray:
        """Run ``fn(shard, *args)`` returning per-task rows; assemble them in global task order."""
        every = self.map(_with_ids(fn), *args)  # type: ignore[attr-defined]
        parts = [p for p in every if p[0].size]
        if not parts:  # no tasks (new data with no rows): an empty result of the rows' shape
            rows = every[0][1] if every else np.zeros(0)
            return np.empty((0,) + np.shape(rows)[1:], dtype=np.asarray(rows).dtype)
        first = parts[0][1]
        if len(parts) == 1 and parts[0][0].size == self.n_tasks:  # one shard holds every task, in order
            return np.array(first, copy=True)
        out = np.empty((self.n_tasks,) + first.shape[1:], dtype=first.dtype)
        for ids, rows in parts:
            out[ids] = rows
        return out


class _with_ids:
    def __init__(self, fn: Callable[..., np.ndarray]):
        self.fn = fn

    def __call__(self, shard: Shard, *args: Any) -> tuple[np.ndarray, np.ndarray]:
        return shard.task_ids, self.fn(shard, *args)


class LocalEngine(EngineMixin):
    """Shards held in this process (one shard by default).

    ``n_shards`` is the count asked for, a parameter a fit never changes: a fit on fewer tasks makes
    fewer shards (at most one a task, :func:`make_shards`), ``len(shards)``. A pickle (of a model
    with ``engine=LocalEngine(...)``) keeps the configuration, not the last fit's shards."""

    def __init__(self, n_shards: int = 1):
        self.n_shards = check_count("n_shards", n_shards, 1)
        self.shards: list[Shard] = []
        self.n_tasks = 0

    def load(self, judgments: Judgments, gold: np.ndarray | None) -> None:
        self.load_shards(make_shards(judgments, gold, self.n_shards), judgments.n_tasks)

    def load_shards(self, shards: list[Any], n_tasks: int = 0) -> None:
        """Hold ready-made shards (any picklable objects with ``task_ids`` for ``gather``); ``n_shards``
        stays the count asked for (a fit of 2 tasks on ``LocalEngine(n_shards=4)`` left it at 2 for good)."""
        self.shards = list(shards)
        self.n_tasks = n_tasks

    def map(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        return [fn(s, *args) for s in self.shards]

    def map_sum(self, fn: Callable[..., Any], *args: Any) -> Any:
        """As :meth:`EngineMixin.map_sum`; with one shard, arrays the call made are handed on without
        the copy (an E-step's counts are pairs x labels: 0.6 s a copy at 1,000 labels), and those
        that may be the shard's, the arguments' or the model's own are copied."""
        parts = self.map(fn, *args)  # through map: a subclass that watches the calls sees them all
        if len(parts) != 1:
            return add_stats(parts)
        held: list[np.ndarray] = []
        _arrays_in((self.shards[0], args, getattr(fn, "__self__", None)), held, 4)
        return _own(parts[0], held)

    def close(self) -> None:
        self.shards = []

    def __getstate__(self) -> dict[str, Any]:
        # an engine pickled along with a model (engine=LocalEngine() in its parameters) is only its
        # configuration, as RayEngine's: the last fit's shards made the pickle of a model 60% larger
        return {**self.__dict__, "shards": [], "n_tasks": 0}

    def __repr__(self) -> str:
        return f"LocalEngine(n_shards={self.n_shards})"


def _arrays_in(obj: Any, out: list[np.ndarray], depth: int) -> None:
    """The numpy arrays in ``obj``, its containers' items and its attributes, ``depth`` levels down
    (long lists and tuples, of names say, are not searched)."""
    if isinstance(obj, np.ndarray):
        out.append(obj)
    elif depth > 0 and not (isinstance(obj, (tuple, list)) and len(obj) > 64):
        items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (tuple, list)) else \
            getattr(obj, "__dict__", {}).values()
        for x in items:
            _arrays_in(x, out, depth - 1)


def _own(result: Any, held: list[np.ndarray]) -> Any:
    """``result`` with each array that is read-only or may share memory with one in ``held`` copied."""
    if isinstance(result, dict):
        return {k: _own(v, held) for k, v in result.items()}
    if isinstance(result, tuple):
        return tuple(_own(v, held) for v in result)
    if isinstance(result, np.ndarray) and (not result.flags.writeable
                                           or any(np.may_share_memory(result, h) for h in held)):
        return result.copy()
    return result


#: name -> factory (``factory(**options)`` returns an engine); filled by :func:`register_engine`
_ENGINES: dict[str, Callable[..., Any]] = {}

#: engines that a plugin module registers when it is imported: name -> module. Only
#: :func:`resolve_engine` imports these, by name, when the engine is first asked for.
ENGINE_PLUGINS: dict[str, str] = {"ray": "galton.workers"}


def register_engine(name: str, factory: Callable[..., Any]) -> None:
    """Make ``engine=name`` (in ``fit``, :func:`galton.aggregate`, the CLI) build ``factory(**options)``.

    ``options`` are what the fit passes (``n_shards=...``, for "ray" also ``address=...``).
    Registering a name again replaces the factory (a plugin reloaded in tests)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"an engine name must be a non-empty string, not {name!r}")
    if not callable(factory):
        raise TypeError(f"the factory of engine {name!r} must be callable, not {type(factory).__name__}")
    _ENGINES[name] = factory


def engine_names() -> list[str]:
    """Every engine name :func:`resolve_engine` accepts (registered or provided by a plugin)."""
    return sorted(set(_ENGINES) | set(ENGINE_PLUGINS))


def _factory(name: str) -> Callable[..., Any]:
    if name not in _ENGINES and name in ENGINE_PLUGINS:
        importlib.import_module(ENGINE_PLUGINS[name])  # the plugin registers its engines on import
    if name not in _ENGINES:
        raise ValueError(f"unknown engine {name!r}; use one of {', '.join(map(repr, engine_names()))} "
                         "or an engine object")
    return _ENGINES[name]


def resolve_engine(engine: Any = None, **options: Any) -> Any:
    """The one place an engine name is resolved: None -> "local"; a registered name -> its
    factory's engine built with ``options``; an engine object (``map`` and ``load``) as it is."""
    if engine is None:
        engine = "local"
    if isinstance(engine, str):
        return _factory(engine)(**options)
    if hasattr(engine, "map") and hasattr(engine, "load"):
        return engine
    raise TypeError(f"engine must be one of {', '.join(map(repr, engine_names()))} or an engine object, "
                    f"not {type(engine).__name__}")


register_engine("local", LocalEngine)


def planned_shards(eng: Any) -> int:
    """How many shards a load on ``eng`` makes, for models that build their own shards: a RayEngine
    without ``n_shards`` counts the cluster's CPUs (``n_shards`` is 0 until its first load)."""
    plan = getattr(eng, "planned_shards", None)
    return int(plan() if plan is not None else getattr(eng, "n_shards", 1) or 1)


def open_engine(model: Any, engine: Any = None, n_shards: int | None = None) -> tuple[Any, bool]:
    """The engine of one fit: the fit's ``engine`` / ``n_shards`` arguments, else the model's own
    parameters. Returns ``(engine, owned)``; close it after the fit only when ``owned`` (an engine
    object the user passed in stays open)."""
    spec = engine if engine is not None else getattr(model, "engine", None)
    shards = n_shards if n_shards is not None else getattr(model, "n_shards", None)
    own = getattr(spec, "n_shards", None)
    if shards is not None and spec is not None and not isinstance(spec, str) and shards != own:
        # an engine object keeps its own shard count: n_shards beside it was ignored without a word
        raise ValueError(
            f"n_shards={shards!r} does not apply to an engine object (it has n_shards={own!r}); set the count "
            f"on the engine, for example RayEngine(n_shards={shards!r}), or pass the engine by name (engine=\"ray\")"
        )
    eng = resolve_engine(spec, **({"n_shards": shards} if shards is not None else {}))
    return eng, eng is not spec


#: id(engine object) -> (thread ident, depth) of the fit that holds it; see :func:`engine_in_use`
_HELD: dict[int, tuple[int, int]] = {}
_HELD_LOCK = threading.Lock()


@contextlib.contextmanager
def engine_in_use(eng: Any):
    """Hold an engine object for one fit, from its load to its end. Loading swaps the engine's shards:
    two threads fitting on one engine object ran one fit on the other's data without a word (800 of
    800 labels wrong on Ray, 793 locally). A second thread is refused at once; the same thread may
    nest (a fit inside a fit)."""
    key, me = id(eng), threading.get_ident()
    with _HELD_LOCK:
        owner, depth = _HELD.get(key, (me, 0))
        if owner != me:
            raise RuntimeError(
                f"this {type(eng).__name__} object is in use by a fit in another thread; give each thread "
                "its own engine (or pass engine by name, which makes one per fit), or fit one after the other"
            )
        _HELD[key] = (me, depth + 1)
    try:
        yield eng
    finally:
        with _HELD_LOCK:
            owner, depth = _HELD[key]
            if depth <= 1:
                del _HELD[key]
            else:
                _HELD[key] = (owner, depth - 1)
