"""Ray: the cluster connection, shard actors and the Ray engine.

``import ray`` happens only inside this package, and only when one of its names is used:

- :func:`connect` / :func:`shutdown` — the one place Ray is started or joined
  (:mod:`galton.workers.cluster`);
- :class:`RayEngine` — shards held by Ray actors; importing this package registers it as the
  engine ``"ray"`` (:func:`galton.aggregator.register_engine`), so ``fit(data, engine="ray")``
  uses it (:mod:`galton.workers.engine`);
- :class:`ShardWorker` — the plain class inside each actor (:mod:`galton.workers._shard_actor`);
- :func:`release_actors` — stop the idle shard actors kept between fits;
- :func:`fit_parquet` — read a Parquet directory in parallel into shard actors and fit a model
  there (:mod:`galton.workers.sharded`, :mod:`galton.workers.ingest`); :class:`ShardedCodesError`
  when a model asks the driver for per-judgment codes that live only in the shards;
- :func:`simulate_to_parquet` — simulated crowds written by parallel Ray tasks
  (:mod:`galton.workers.simulate`);
- :func:`map_unordered` — independent jobs as Ray tasks (:mod:`galton.workers.tasks`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..aggregator import register_engine

__all__ = [
    "ClusterInfo",
    "RayEngine",
    "ShardLostError",
    "ShardedCodesError",
    "ShardWorker",
    "connect",
    "fit_parquet",
    "is_connected",
    "map_unordered",
    "release_actors",
    "shutdown",
    "simulate_to_parquet",
]

_WHERE = {
    "connect": "cluster", "shutdown": "cluster", "is_connected": "cluster", "ClusterInfo": "cluster",
    "RayEngine": "engine", "ShardLostError": "engine",
    "ShardWorker": "_shard_actor",
    "fit_parquet": "sharded", "ShardedCodesError": "sharded", "map_unordered": "tasks",
}


def _ray_engine(**options: Any) -> Any:
    """The factory of the engine "ray": a :class:`RayEngine` (Ray is imported here, on first use)."""
    try:
        from .engine import RayEngine
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        if exc.name == "ray":
            raise ImportError("engine='ray' needs Ray: pip install 'galton[ray]'") from exc
        raise
    return RayEngine(**options)


register_engine("ray", _ray_engine)


def release_actors() -> int:
    """Stop the idle shard actors kept for reuse between fits; returns how many were stopped."""
    from ._shard_actor import release_idle

    return release_idle()


if TYPE_CHECKING:  # imported on first use at run time (they import Ray), by __getattr__ below
    from ._shard_actor import ShardWorker
    from .cluster import ClusterInfo, connect, is_connected, shutdown
    from .engine import RayEngine, ShardLostError
    from .sharded import ShardedCodesError, fit_parquet
    from .simulate import simulate as simulate_to_parquet
    from .tasks import map_unordered
else:  # hidden from type checkers, which would read any misspelt name through it
    def __getattr__(name: str) -> Any:
        if name == "simulate_to_parquet":  # named apart from the module galton.workers.simulate
            from .simulate import simulate

            return simulate
        module = _WHERE.get(name)
        if module is None:
            raise AttributeError(f"module 'galton.workers' has no attribute {name!r}")
        try:
            from importlib import import_module

            return getattr(import_module(f"{__name__}.{module}"), name)
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
            if exc.name == "ray":
                raise ImportError("galton.workers needs Ray: pip install 'galton[ray]'") from exc
            raise
