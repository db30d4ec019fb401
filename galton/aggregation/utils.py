"""crowd-kit's aggregation helpers (``crowdkit.aggregation.utils``), pandas in and out as there.

- :func:`get_most_probable_labels`: each row's most probable column (the first of equals);
- :func:`normalize_rows`: scores scaled so that each row sums to 1;
- :func:`get_accuracy`: the share of judgments equal to the true label (galton's
  :func:`galton.metrics.get_accuracy`: overall, or ``by="task"``, ``"worker"``, ``"true_label"``);
- :func:`evaluate`, :func:`evaluate_equal`, :func:`evaluate_in`: the share of tasks whose predicted
  label equals (or is in) the true one;
- :func:`factorize`, :func:`clone_aggregator`, :func:`add_skills_to_data`.

crowd-kit's ``manage_data`` (internal, and it joins worker skills on the task column) and
``named_series_attrib`` (an attrs field helper) are not provided; :mod:`galton.aggregation.base`
names its Series results without attrs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NoReturn

import numpy as np

from ..io import frame_kind
from ..metrics import get_accuracy

__all__ = ["evaluate_in", "evaluate_equal", "evaluate", "factorize", "get_most_probable_labels", "normalize_rows",
           "get_accuracy", "add_skills_to_data", "clone_aggregator", "EvaluationMismatchError"]

_ABSENT = {
    "manage_data": "crowd-kit's manage_data is an internal step of its own models (and joins worker "
                   "skills on the task column); select the columns and join weights or skills with pandas",
    "named_series_attrib": "named_series_attrib is an attrs field helper; subclass a class of "
                           "galton.aggregation.base, which names its Series result without attrs",
}


if not TYPE_CHECKING:  # hidden from type checkers, which would read any name through it
    def __getattr__(name: str) -> NoReturn:
        if name in _ABSENT:
            raise AttributeError(f"galton.aggregation.utils has no {name}: {_ABSENT[name]}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class EvaluationMismatchError(ValueError, AssertionError):
    """Some true labels have no prediction (or one task several). A ValueError, and an
    AssertionError like crowd-kit's ``assert``."""


def _pandas(obj: Any, what: str) -> None:
    if frame_kind(obj) != "pandas":
        raise TypeError(f"{what} must be a pandas object (crowd-kit's layout), not {type(obj).__name__}; "
                        "galton's models give polars / Arrow results as tables with a label column already")


def get_most_probable_labels(proba: Any) -> Any:
    """The label of each row's highest probability: a Series indexed like ``proba`` (task x label,
    as a model's ``probas_``); of equal probabilities the first column wins, as in crowd-kit."""
    _pandas(proba, "proba")
    import pandas as pd

    if not proba.size:
        return pd.Series([], dtype="O")
    return proba.idxmax(axis="columns")


def normalize_rows(scores: Any) -> Any:
    """``scores`` (a frame of non-negative scores) divided by each row's sum, so each row sums to 1.
    A row summing to 0 becomes NaN, as in crowd-kit. A row of finite scores whose sum overflows
    (two of 1e308) is divided by its largest score first: it gave 0.0 everywhere (crowd-kit too)."""
    _pandas(scores, "scores")
    with np.errstate(over="ignore"):  # an overflowing sum is found and mended below
        total, top = scores.sum(axis=1), scores.max(axis=1)
    over = np.isinf(total) & np.isfinite(top)
    if over.any():
        scores = scores.div(top.where(over, 1.0), axis=0)
        total = scores.sum(axis=1)
    return scores.div(total, axis=0)


def evaluate_in(row: Any) -> int:
    """1 when the row's ``label_pred`` is in its ``label_true`` (a set of acceptable labels)."""
    return int(row["label_pred"] in row["label_true"])


def evaluate_equal(row: Any) -> int:
    """1 when the row's ``label_pred`` equals its ``label_true`` (a numpy array, as ``pd.read_parquet``
    gives a list cell, compared as its list)."""
    return int(_equal(row["label_pred"], row["label_true"]))


def _equal(pred: Any, true: Any) -> bool:
    """Whether two labels are equal, a numpy array as a whole (its list): ``==`` compared an array
    element by element (gold ['a', 'x'] against ['a', 'b'] counted as half a hit)."""
    if isinstance(pred, np.ndarray) or isinstance(true, np.ndarray):
        pred, true = (v.tolist() if isinstance(v, np.ndarray) else v for v in (pred, true))
    return bool(pred == true)


def _label_frame(obj: Any, what: str) -> Any:
    _pandas(obj, what)
    if getattr(obj, "ndim", 2) == 1:  # a model's labels_: a Series indexed by task
        return obj.rename("label").rename_axis("task").reset_index()
    return obj


def _task_ids(frame: Any) -> Any:
    """The ``task`` column of a frame, or its index level of that name (``labels_.to_frame()``)."""
    return frame["task"] if "task" in frame.columns else frame.index.to_frame()["task"]


def evaluate(df_true: Any, df_pred: Any, evaluate_func: Callable[[Any], int] = evaluate_in) -> float:
    """The mean of ``evaluate_func`` over the tasks of ``df_true`` (task and label columns, or a
    Series indexed by task) joined with their predictions ``df_pred`` (the same, e.g. a model's
    ``labels_``). Every true task must have exactly one prediction: otherwise
    :class:`EvaluationMismatchError` says how many do not."""
    true, pred = _label_frame(df_true, "df_true"), _label_frame(df_pred, "df_pred")
    df = true.merge(pred, on="task", suffixes=("_true", "_pred"))
    t_true, t_pred = _task_ids(true), _task_ids(pred)
    missing = int((~t_true.isin(t_pred)).sum())
    repeated = int(t_pred[t_pred.isin(t_true)].duplicated().sum())
    if len(df) != len(true) or missing or repeated:  # crowd-kit compares the lengths only: {t1, t2}
        raise EvaluationMismatchError(  # against {t1, t1} scored 1.0
            f"Dataset length mismatch, expected {len(true)}, got {len(df)}: "
            f"{missing} true task(s) have no prediction and {repeated} predicted task(s) are listed more than once")
    if df.empty:
        return float("nan")
    if evaluate_func is evaluate_equal:  # the common case without a Python call per row
        hits = [_equal(p, t) for p, t in zip(df["label_pred"].tolist(), df["label_true"].tolist())]
        return float(np.mean(hits))
    return float(df.apply(evaluate_func, axis=1).mean())


def factorize(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(unique values, codes)``: the sorted distinct values of ``data`` and, in ``data``'s shape,
    each value's index among them."""
    unique, codes = np.unique(data, return_inverse=True)
    return unique, codes.reshape(np.shape(data))


def clone_aggregator(aggregator: Any) -> Any:
    """A new, unfitted aggregator of the same class with the same parameters: galton's own by
    ``get_params``, an attrs class (crowd-kit's way to write one) by its ``__init__`` fields, slotted
    or not, any other class by its public attributes (crowd-kit reads ``__dict__``) and those, slots
    included, named as its ``__init__`` parameters."""
    cls = type(aggregator)
    if hasattr(aggregator, "get_params"):
        return cls(**aggregator.get_params(deep=False))
    fields = getattr(cls, "__attrs_attrs__", None)
    if fields is not None:  # vars() misses a slotted class's fields (@attr.define): they fell back to their defaults
        return cls(**{getattr(f, "alias", None) or f.name.lstrip("_"): getattr(aggregator, f.name)
                      for f in fields if f.init})
    import inspect

    taken = [p.name for p in inspect.signature(cls).parameters.values()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    params = {k: getattr(aggregator, k) for k in taken if hasattr(aggregator, k)}  # slots too
    params.update({k: v for k, v in getattr(aggregator, "__dict__", {}).items()
                   if not (k.startswith("_") or k.endswith("_"))})
    return cls(**params)


def add_skills_to_data(data: Any, skills: Any, on_missing_skill: str, default_skill: float | None) -> Any:
    """``data`` with a ``skill`` column: each judgment's worker's value in ``skills`` (a Series
    indexed by worker). Workers without one: ``on_missing_skill="error"`` raises, ``"ignore"`` drops
    their judgments (and raises if a task is left without any), ``"value"`` gives them
    ``default_skill``. A worker listed twice in ``skills`` is refused (the join repeated their
    judgments, once per value)."""
    _pandas(data, "data")
    if on_missing_skill not in ("error", "ignore", "value"):
        raise ValueError(f"on_missing_skill must be 'error', 'ignore' or 'value', not {on_missing_skill!r}")
    if on_missing_skill != "value" and default_skill is not None:
        raise ValueError('default_skill is used but on_missing_skill is not "value"')
    if on_missing_skill == "value" and default_skill is None:
        raise ValueError('default_skill must be given with on_missing_skill="value"')
    twice = skills.index[skills.index.duplicated()].unique()
    if len(twice):  # the join repeated their judgments, once per value (6 rows from 4)
        raise ValueError(
            f"skills: {len(twice)} worker(s) appear more than once ({', '.join(map(repr, twice[:5].tolist()))}"
            f"{', ...' if len(twice) > 5 else ''}); a worker given twice is refused, with equal values or not, "
            "as galton's metrics refuse it: give each worker one skill")
    out = data.join(skills.rename("skill"), on="worker")
    missing = out["skill"].isna()
    if not missing.any():
        return out
    if on_missing_skill == "error":
        workers = out.loc[missing, "worker"].drop_duplicates()
        raise ValueError(
            f"no skill for {len(workers)} worker(s) in {int(missing.sum())} judgment(s) (e.g. "
            f"{', '.join(map(repr, workers.head(5).tolist()))}); give them skills, or use "
            "on_missing_skill='ignore' or 'value'")
    if on_missing_skill == "ignore":
        kept = out[~missing]
        lost = out.loc[~out["task"].isin(kept["task"]), "task"].drop_duplicates()
        if len(lost):
            raise ValueError(
                f"{len(lost)} task(s) have no worker with a known skill (e.g. "
                f"{', '.join(map(repr, lost.head(5).tolist()))}); give their workers skills, or use "
                "on_missing_skill='value'")
        return kept.reset_index(drop=True)
    return out.assign(skill=out["skill"].fillna(default_skill))
