"""The one-call entry point: ``galton.aggregate(data)``."""

from __future__ import annotations

from typing import Any

from .aggregator._registry import create, default_name

__all__ = ["aggregate"]


def aggregate(data: Any, model: str | None = None, *, gold: Any = None, engine: Any = None,
              output: str | None = None, **params: Any) -> Any:
    """Fit an aggregation model and return it (results in ``labels_``, ``probas_``, ``skills_``...).

    Parameters
    ----------
    data : pandas / polars / Arrow frame, dict of arrays or a path, with columns task, worker, label
    model : registered model name (``galton.aggregator.names()``); default: galton's robust default
    gold : optional known labels, clamped during the fit
    engine : "local" (default) or "ray"
    output : "pandas", "polars" or "arrow"; default: the input's frame type
    **params : model parameters (for example ``n_iter=50``)

    Examples
    --------
    >>> import galton
    >>> m = galton.aggregate({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": [0, 0, 1]}, "mv")
    >>> m.labels_["label"].to_list()
    [0, 1]
    """
    est = create(model or default_name(), **params)
    kwargs: dict[str, Any] = {}
    if engine is not None:
        kwargs["engine"] = engine
    if output is not None:
        kwargs["output"] = output
    return est.fit(data, gold, **kwargs)
