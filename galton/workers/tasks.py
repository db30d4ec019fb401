"""Independent jobs as Ray tasks (studies, grids): the one place outside the engine that uses Ray."""

from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence

__all__ = ["map_unordered"]


def map_unordered(fn: Callable[..., Any], shared: dict[Hashable, Any],
                  calls: Sequence[tuple[Any, ...]], done: Callable[[Any], None], *,
                  address: str | None = None, num_cpus: float = 1) -> None:
    """Run ``fn(shared[key], *args)`` for every ``(key, *args)`` in ``calls`` as Ray tasks.

    Each shared object goes to the object store once; ``done(result)`` is called in completion
    order. On an error (or Ctrl-C) the tasks still pending are cancelled.
    """
    import ray

    from .cluster import connect

    connect(address)
    refs = {k: ray.put(v) for k, v in shared.items()}
    remote = ray.remote(num_cpus=num_cpus, max_retries=0)(fn)
    pending = [remote.remote(refs[key], *args) for key, *args in calls]
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            done(ray.get(ready[0]))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
