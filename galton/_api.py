"""The one-call entry point: ``galton.aggregate(data)``."""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

from .aggregator._registry import create, default_name, explicit, get, parameters, refuse_class

__all__ = ["SupportsFit", "aggregate", "data_columns", "detect_kind", "item_column_role"]


@runtime_checkable
class SupportsFit(Protocol):
    """What :func:`aggregate` takes for ``model`` besides a registered name: an object with
    ``fit(data, ...)`` (every galton model, BinaryRelevance around one, a model of one's own)."""

    def fit(self, data: Any, *args: Any, **kwargs: Any) -> Any: ...


def detect_kind(columns: list[str], requested: str = "auto") -> str:
    """The kind of data: ``requested`` unless "auto"; auto reads the column names (left/right →
    pairwise, options with choice or ranking, or a ranking without task and label columns → choice,
    else categorical; numeric ratings look like categorical labels, so they need ``kind="rating"``)."""
    if requested != "auto":
        return requested
    cols = set(columns)
    if {"left", "right"} <= cols:
        return "pairwise"
    if "options" in cols and ({"choice", "ranking"} & cols):
        return "choice"
    if "ranking" in cols and not ({"task", "label"} & cols):  # worker, ranking: rankings, best first
        return "choice"
    return "categorical"


def item_column_role(columns: list[str], roles: dict[str, Any]) -> tuple[str, str] | None:
    """The first ``(role, column)`` of ``roles`` (task, worker, label -> the column named for it) that
    names the left or right item column of pairwise comparisons (both in ``columns``), else None. Told
    from the data's own names, before any rename: ``task_col="left"`` made comparisons look categorical."""
    if not {"left", "right"} <= set(columns):
        return None
    return next(((role, col) for role, col in roles.items() if col in ("left", "right")), None)


def data_columns(data: Any) -> list[str]:
    """Column names of a frame, table, Arrow stream, dict or file path (header / schema only); [] if
    unknown (stdin ``-``, a FIFO: read them once with :func:`galton.io.read_input` first). Encoded
    comparisons and choices answer with their kind's columns (they were taken for judgments)."""
    import pyarrow as pa

    from .data.choices import Choices
    from .data.comparisons import Comparisons

    if isinstance(data, (Comparisons, Choices)):
        return ["worker", "left", "right", "label"] if isinstance(data, Comparisons) else \
            ["worker", "options", "choice"]
    if isinstance(data, dict):
        return [str(k) for k in data]
    if hasattr(data, "collect_schema"):  # a polars LazyFrame: its schema, without polars' warning
        return [str(c) for c in data.collect_schema().names()]
    names = getattr(data, "column_names", None)  # Arrow
    if names is None and isinstance(getattr(data, "schema", None), pa.Schema):  # a RecordBatchReader: nothing read
        names = data.schema.names
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


def aggregate(data: Any, model: str | SupportsFit | None = None, *, kind: str = "auto", gold: Any = None,
              engine: Any = None, output: str | None = None, address: str | None = None,
              **params: Any) -> Any:
    """Fit an aggregation model and return it (results in ``labels_``, ``probas_``, ``skills_``...).

    Parameters
    ----------
    data : pandas / polars / Arrow frame, dict of arrays or a path: ``task, worker, label``
        (categorical, or numeric ratings with ``kind="rating"``), ``worker, left, right, label``
        (pairwise comparisons, label = the preferred item), ``worker, options, choice`` (best-of-n
        choices), ``worker, ranking`` (rankings, best first) or ``worker, options, ranking`` (a ranking
        of the first k of the options: k successive choices, the options left unranked below them). An
        Arrow stream (``pyarrow.RecordBatchReader``), ``"-"`` (standard input) and a named pipe are read
        once, into one table, whose columns tell the kind of data (results of ``"-"`` and a pipe: polars,
        as a file's)
    model : registered model name (``galton.aggregator.names()``) or a model object (``DawidSkene(n_iter=50)``),
        fitted in place and returned (with ``**params`` a copy of it, so configured, is fitted instead);
        default: the default model of the kind of data (categorical ``bds``, pairwise ``bt``, choice
        ``plackett_luce``, rating ``rating_gaussian``), also the name ``"default"``
    kind : "auto" (from the column names), "categorical", "pairwise", "choice" or "rating"
    gold : optional known labels, clamped during the fit (categorical models)
    engine : "local" (default) or "ray" (text, embedding, segmentation and multi-label models run
        locally only: they take no ``engine``, ``address`` or ``n_shards``; BinaryRelevance's model may)
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
    if isinstance(model, str):  # "default": the default of the data's kind, as when left out
        model = explicit(model)
    if model is not None and not isinstance(model, str):  # a model object: fitted as it is configured
        refuse_class(model, "model", "a registered name or a model object")
        if not hasattr(model, "fit"):
            raise TypeError(f"model must be a registered name or a model object, not {type(model).__name__}")
        cls, name = type(model), type(model).__name__
    else:
        from .io._once import read_once, readable_once
        from .io._read import ID_COLUMNS, frame_kind

        named = {params[f"{c}_col"]: c for c in ("task", "worker", "label", "left", "right", "options", "choice",
                                                  "ranking") if isinstance(params.get(f"{c}_col"), str)}
        if model is None and readable_once(data):  # the kind is told from the columns: a stream, stdin or a
            output = output or frame_kind(data)  # FIFO is read here, once; its results as a file's (polars)
            data = read_once(data, ids=(*ID_COLUMNS, *named))
        raw = data_columns(data)
        clash = None if model is not None or kind != "auto" else \
            item_column_role(raw, {r: params.get(f"{r}_col") for r in ("task", "worker", "label")})
        if clash is not None:  # task_col="left": the items taken for tasks, the right column dropped, silently
            role, col = clash
            how = (f"a categorical fit would take the {col} items for tasks and drop the "
                   f"{'right' if col == 'left' else 'left'} column" if role == "task"
                   else f"its items would be read as {role}s")
            raise ValueError(f"{role}_col={col!r} names the {col} column of pairwise comparisons (the data has "
                             f"left and right columns: the two items compared), so {how}; for comparisons leave "
                             f"out {role}_col (kind='pairwise' reads worker, left, right, label"
                             f"{', and has no task column' if role == 'task' else ''}), or rename the {col!r} "
                             f"column if it holds {role}s")
        columns = [named.get(c, c) for c in raw]  # left_col="a": "a" is the left column
        if model is None and kind == "auto" and {"task", "worker", "label", "left", "right"} <= set(columns):
            # as the CLI: bounding-box left / right beside judgments were fitted as comparisons
            raise ValueError("the data is ambiguous: it has task, worker and label columns (categorical "
                             "judgments) and left and right columns (pairwise comparisons); pass "
                             "kind='categorical' or kind='pairwise', or a model")
        name = model if model is not None else default_name(detect_kind(columns, kind))
        cls = get(name)
    model_kind = getattr(cls, "kind", "categorical")
    if model is not None and kind != "auto" and model_kind != kind:
        raise ValueError(f"model {name!r} is for {model_kind} data, not {kind}; leave out kind= or "
                         f"pick one of galton.aggregator.names(kind={kind!r})")
    accepted = set(parameters(cls))
    chosen = {k: v for k, v in params.items() if k in accepted}
    if isinstance(model, str) or model is None:
        est = create(name, **chosen)
    else:
        # parameters given here configure a copy: the caller's object keeps its own settings
        est = type(model)(**{**model.get_params(), **chosen}) if chosen else model  # type: ignore[attr-defined]
    kwargs: dict[str, Any] = {k: v for k, v in params.items() if k not in accepted}
    where = next((f"{k}={v!r}" for k, v in (("engine", engine), ("address", address),
                                             ("n_shards", kwargs.get("n_shards"))) if v is not None), None)
    if where is not None and not hasattr(cls, "kind") and "engine" not in accepted:
        # text, embedding, segmentation and multi-label models: they were called categorical ones
        if hasattr(est, "base_aggregator"):  # BinaryRelevance: each label's fit runs on its model's engine
            inner = "MajorityVote" if est.base_aggregator is None else type(est.base_aggregator).__name__
            raise TypeError(f"aggregate(): {name} ({cls.__name__}) takes no engine itself; leave out {where} and give "
                            f"its model the engine: BinaryRelevance({inner}(engine='ray')) fits every label on Ray")
        raise TypeError(f"aggregate(): {name} ({cls.__name__}) runs locally only; leave out {where}")
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
        return est.fit(data, **({} if gold is None else {"gold": gold}), **kwargs)  # MajorityVote: skills second
    except TypeError as exc:  # a keyword neither the model nor its fit takes: say so in the user's words
        unknown = re.search(r"unexpected keyword argument '([^']+)'", str(exc))
        if unknown is None or unknown.group(1) not in kwargs:
            raise
        fit_help = f"help(galton.{cls.__name__}.fit)"  # text, embedding...: no kind (not categorical data's)
        raise TypeError(
            f"aggregate(): {name} ({cls.__name__}) has no parameter {unknown.group(1)!r}; its parameters are "
            f"{', '.join(sorted(accepted))}, and its fit takes the options "
            + (f"of {model_kind} data ({fit_help})" if hasattr(cls, "kind") else f"{fit_help} lists")) from None
    finally:
        if owned is not None:
            owned.close()
