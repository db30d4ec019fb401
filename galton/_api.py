"""The one-call entry point: ``galton.aggregate(data)``."""

from __future__ import annotations

import inspect
from typing import Any

from .aggregator._registry import create, default_name, get

__all__ = ["aggregate", "detect_kind"]


def detect_kind(columns: list[str], requested: str = "auto") -> str:
    """The kind of data: ``requested`` unless "auto"; auto reads the column names (left/right →
    pairwise, options with choice or ranking → choice, else categorical; numeric ratings look like
    categorical labels, so they need ``kind="rating"``)."""
    if requested != "auto":
        return requested
    cols = set(columns)
    if {"left", "right"} <= cols:
        return "pairwise"
    if "options" in cols and ({"choice", "ranking"} & cols):
        return "choice"
    return "categorical"


def _columns(data: Any) -> list[str]:
    """Column names of a frame, table, dict or file path (header / schema only); [] if unknown."""
    if isinstance(data, dict):
        return [str(k) for k in data]
    names = getattr(data, "column_names", None)  # Arrow
    if names is None:
        names = getattr(data, "columns", None)  # pandas / polars
    if names is not None:
        return [str(c) for c in names]
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        from .io import input_columns

        try:
            return input_columns(str(data))
        except OSError:
            return []  # the model's own reader reports a missing file
    return []


def aggregate(data: Any, model: str | None = None, *, kind: str = "auto", gold: Any = None,
              engine: Any = None, output: str | None = None, address: str | None = None,
              **params: Any) -> Any:
    """Fit an aggregation model and return it (results in ``labels_``, ``probas_``, ``skills_``...).

    Parameters
    ----------
    data : pandas / polars / Arrow frame, dict of arrays or a path: ``task, worker, label``
        (categorical, or numeric ratings with ``kind="rating"``), ``worker, left, right, label``
        (pairwise comparisons, label = the preferred item) or ``worker, options, choice`` /
        ``worker, options, ranking`` (best-of-n choices)
    model : registered model name (``galton.aggregator.names()``); default: the default model of
        the kind of data (categorical ``bds``, pairwise ``bt``, choice ``plackett_luce``, rating
        ``rating_gaussian``)
    kind : "auto" (from the column names), "categorical", "pairwise", "choice" or "rating"
    gold : optional known labels, clamped during the fit (categorical models)
    engine : "local" (default) or "ray"
    output : "pandas", "polars" or "arrow"; default: the input's frame type
    address : Ray cluster to run on (implies ``engine="ray"``; else ``RAY_ADDRESS``, else a new
        local instance)
    **params : model parameters (for example ``n_iter=50``) and data options of the model's ``fit``
        (for example ``task_col="item"``, ``on_invalid="drop"``, ``n_shards=4``)

    Examples
    --------
    >>> import galton
    >>> m = galton.aggregate({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": [0, 0, 1]}, "mv")
    >>> m.labels_["label"].to_list()
    [0, 1]
    >>> m = galton.aggregate({"worker": ["a", "b"], "left": ["x", "x"], "right": ["y", "y"],
    ...                       "label": ["x", "x"]})                    # pairwise: Bradley-Terry
    >>> m.ranking_["item"].to_list()
    ['x', 'y']
    """
    if kind not in ("auto", "categorical", "pairwise", "choice", "rating"):
        raise ValueError(f"kind must be 'auto', 'categorical', 'pairwise', 'choice' or 'rating', not {kind!r}")
    name = model
    if name is None:
        name = default_name(detect_kind(_columns(data), kind))
    elif kind != "auto":
        model_kind = getattr(get(name), "kind", "categorical")
        if model_kind != kind:
            raise ValueError(f"model {name!r} is for {model_kind} data, not {kind}; leave out kind= or "
                             f"pick one of galton.aggregator.names(kind={kind!r})")
    accepted = set(inspect.signature(get(name).__init__).parameters) - {"self"}
    est = create(name, **{k: v for k, v in params.items() if k in accepted})
    kwargs: dict[str, Any] = {k: v for k, v in params.items() if k not in accepted}
    owned = None
    if address is not None:
        if engine not in (None, "ray"):
            raise ValueError(f"address= runs on Ray; leave out engine={engine!r} or pass engine='ray'")
        from .aggregator import resolve_engine

        engine = owned = resolve_engine("ray", address=address, n_shards=params.get("n_shards"))
    if engine is not None:
        kwargs["engine"] = engine
    if output is not None:
        kwargs["output"] = output
    try:
        return est.fit(data, gold, **kwargs)
    finally:
        if owned is not None:
            owned.close()
