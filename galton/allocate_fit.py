"""The checks before :func:`galton.allocate` ranks anything: its arguments, the model it ranks with
(fitted here unless given fitted) and the memory of its tables (:func:`check_cells`)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CELL_BYTES", "PAIR_BYTES", "SLOT_BYTES", "STRATEGIES", "allocatable", "check_arguments", "check_cells",
           "fitted_model", "seed_of"]

STRATEGIES = ("uniform", "uncertainty", "eig")


def check_arguments(budget: Any, strategy: str, per_task: Any, per_worker: Any) -> None:
    """Refuse a budget, strategy, per_task or per_worker :func:`galton.allocate` cannot use."""
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be an integer >= 1 (judgments to ask for), not {budget!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(map(repr, STRATEGIES))}, not {strategy!r}")
    for name, v in (("per_task", per_task), ("per_worker", per_worker)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
            raise ValueError(f"{name} must be an integer >= 1, not {v!r}")


def seed_of(random_state: Any) -> int:
    """The integer seed of the fit and of the tie-breaking hash: an integer as it is; None: drawn from
    fresh OS entropy; a numpy Generator (or what ``numpy.random.default_rng`` takes): drawn from it.
    Anything else is refused here, before the fit (None and a Generator raised a TypeError in the hash,
    after the whole fit)."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, (bool, np.bool_)):
        return int(random_state)
    from .aggregator._params import check_random_state

    return int(check_random_state(random_state).integers(0, 2**63))


#: galton's models of the other kinds of data, by the module of :mod:`galton.aggregation` that holds them
OTHER_DATA = {"multilabel": "multi-label", "texts": "text", "embeddings": "embedding",
              "image_segmentation": "image segmentation"}


def _other_data(cls: type) -> str | None:
    """The kind of data of one of galton's multi-label, text, embedding or segmentation models (or a
    subclass): they have no ``kind`` (they are no categorical models), else None."""
    from . import aggregation

    for module, what in OTHER_DATA.items():
        held = getattr(aggregation, module)
        if any(isinstance(c, type) and issubclass(cls, c) for c in map(held.__dict__.get, held.__all__)):
            return what
    return None


def allocatable(cls: type, name: str) -> None:
    """Refuse models of ratings and choices up front (they failed with a missing attribute, or a
    parameter the user never gave), and galton's models of multi-label, text, embedding and
    segmentation data (refused as "not a galton model; pass galton.aggregation.BinaryRelevance", the
    same class)."""
    kind = getattr(cls, "kind", "categorical")
    other = None if hasattr(cls, "kind") else _other_data(cls)
    if other is not None:
        raise ValueError(f"allocate takes categorical judgments or pairwise comparisons; {name} is a model of "
                         f"{other} data, which allocate does not rank")
    if kind not in ("categorical", "pairwise"):
        raise ValueError(f"allocate takes categorical judgments or pairwise comparisons; {name} is a model of "
                         f"{kind} data, which has no next judgment to rank")


def fitted_model(data: Any, model: Any, engine: Any, random_state: int, columns: dict[str, Any],
                 window: int | None = None) -> Any:
    """The fitted model :func:`galton.allocate` ranks with: ``model`` as given when fitted and
    ``data`` is None, else fitted on ``data`` (``columns``: the reading options of the fit). Options
    of the other kind of data (``duplicates``, ``window``) are refused before the fit."""
    from ._api import aggregate
    from .aggregator import get, parameters

    kind = _kind(data, model) if "duplicates" in columns or window is not None else None
    if "duplicates" in columns and kind == "pairwise":  # the fit failed: "bt has no parameter 'duplicates'"
        raise ValueError("duplicates is for categorical data (task, worker, label); this data is pairwise, where "
                         "a rater's repeated comparisons of a pair each count: leave out duplicates=")
    if window is not None and kind == "categorical":  # it changed nothing, without a word (the CLI refused it)
        raise ValueError("window is for pairwise data (left, right columns): how far apart in the ranking two "
                         "items may be to be compared; leave it out for categorical data")
    fitted = getattr(model, "judgments_", None) is not None or getattr(model, "comparisons_", None) is not None
    if model is not None and not isinstance(model, str):
        _galton_model(model)
        allocatable(type(model), type(model).__name__)
        if fitted and data is None:
            return model
        if fitted:  # new data: a copy configured as the model is, fitted on it (the fitted data's tasks were
            model = type(model)(**model.get_params())  # ranked, and these dropped, silently)
        if data is None:
            raise ValueError("model is not fitted: pass the data to fit it on, or a fitted model")
        # a model object, fitted on data as the user configured it (its own random_state)
        return aggregate(data, model, **({"engine": engine} if engine is not None else {}), **columns)
    if data is None:
        raise ValueError("data is needed unless model is a fitted model")
    params: dict[str, Any] = {**columns}
    if model is not None:
        allocatable(get(model), model)
        if "random_state" in parameters(get(model)):
            params["random_state"] = random_state
    else:
        params["random_state"] = random_state  # the defaults of categorical and pairwise data take it
    if engine is not None:
        params["engine"] = engine
    fitted = aggregate(data, model, **params)
    allocatable(type(fitted), type(fitted).__name__)  # the default model of choice data
    return fitted


def _galton_model(model: Any) -> None:
    """Refuse a model object that is not galton's (crowd-kit's DawidSkene failed after its fit with
    "'DawidSkene' object has no attribute 'judgments_'", and fitted with "model is not fitted"):
    allocate reads the posteriors and the encoded data that galton's models keep."""
    from . import aggregation
    from .aggregator import BaseAggregator, get, names

    if isinstance(model, BaseAggregator) or isinstance(model, type) and issubclass(model, BaseAggregator):
        return
    cls = model if isinstance(model, type) else type(model)
    if _other_data(cls) is not None:  # galton's, of another kind of data: allocatable says so
        return
    same = getattr(aggregation, cls.__name__, None)
    named = [n for n in names() if same is not None and get(n) is same]
    hint = (f"pass galton.aggregation.{cls.__name__}(...) (the same parameters)"
            + (f" or model={named[0]!r}" if named else "") if same is not None else
            "pass a model name (galton.aggregator.names()) or a galton model object")
    raise TypeError(f"model is a {cls.__module__}.{cls.__name__}, not a galton model: allocate reads the fitted "
                    f"posteriors and data that galton's models keep; {hint}")


def _kind(data: Any, model: Any) -> str | None:
    """The kind of data ("categorical", "pairwise"...) the model is fitted on, before the fit: the
    model's, else read from the data's columns; None where the fit refuses the data (no data, or the
    columns of both layouts)."""
    from ._api import data_columns, detect_kind
    from .aggregator import get

    if model is not None:
        cls = get(model) if isinstance(model, str) else model if isinstance(model, type) else type(model)
        return getattr(cls, "kind", "categorical")
    cols = set(data_columns(data))
    if data is None or {"task", "worker", "label", "left", "right"} <= cols:
        return None
    return detect_kind(list(cols))


#: bytes per (task, worker) cell of allocation with ``workers=`` (score, gain, done flag, the sort's
#: keys and its order), for the memory check before they are built; pairs x raters measure 65-77
#: (tracemalloc; 1,440 while :func:`galton.allocate_pairwise.pair_eig` scored every cell at once)
CELL_BYTES = 96
#: bytes per candidate pair of pairwise data (its key, count, scores, hashes, some as Python lists;
#: measured 112-152) and per (pair, slot) row ranked without ``workers=`` (measured 64)
PAIR_BYTES, SLOT_BYTES = 160, 64


def check_cells(n_rows: int, n_workers: int | None, what: str = "task", row_bytes: int = 0) -> None:
    """Refuse, with galton's memory guard (``--max-memory``, ``GALTON_MAX_MEMORY``,
    :func:`galton.aggregator.memory_limit`), an allocation whose tables would pass the limit:
    ``n_rows`` rows of ``row_bytes`` each and, with ``workers=`` (``n_workers`` of them), a row x
    worker table of :data:`CELL_BYTES` a cell (1M tasks x 10k workers needed about 900 GiB and was
    not checked). ``n_workers`` None: the candidate pairs of pairwise data, ranked without workers."""
    from .aggregator._memory import ENV_VAR, MemoryLimitError, current_limit, format_size

    need = int(n_rows) * (int(row_bytes) + CELL_BYTES * int(n_workers or 0))
    limit, source = current_limit()
    if limit is None or need <= limit:
        return
    raise_it = f"raise the limit with --max-memory / {ENV_VAR} / galton.aggregator.memory_limit(...)"
    if n_workers is None:
        raise MemoryLimitError(
            f"allocating among {n_rows:,} candidate {what}s would need about {format_size(need)} for their scores, "
            f"over the limit of {format_size(limit)} ({source}); pass a smaller window (candidate pairs: the items "
            f"at most that many places apart) or per_task, or {raise_it}")
    raise MemoryLimitError(
        f"allocating {n_rows:,} {what}s among {n_workers:,} workers would need about {format_size(need)} "
        f"for its {what} x worker scores, over the limit of {format_size(limit)} ({source}); pass fewer "
        f"workers (those available now), allocate a share of the {what}s at a time, or {raise_it}")
