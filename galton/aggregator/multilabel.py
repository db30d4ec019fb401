"""Multi-label judgments: each judgment is a set of labels (tags that apply), aggregated per label.

``BinaryRelevance`` is crowd-kit's model of the same name: every label seen becomes its own binary
question ("does label L apply to task t?"), answered by every judgment of the task (1 when the
worker's set holds L, else 0) and aggregated by a copy of a categorical model; a task's result is
the list of the labels whose aggregated answer is 1. The per-label fits are ordinary galton fits
(any categorical model, on any engine it is configured with).

>>> import pandas as pd
>>> from galton import BinaryRelevance, MajorityVote
>>> df = pd.DataFrame({"task": ["t1", "t1", "t1", "t2", "t2", "t2"],
...                    "worker": ["w1", "w2", "w3", "w1", "w2", "w3"],
...                    "label": [["house", "tree"], ["house"], ["house", "tree", "grass"],
...                              ["car"], ["car", "human"], ["train"]]})
>>> BinaryRelevance(MajorityVote()).fit_predict(df).to_dict()
{'t1': ['house', 'tree'], 't2': ['car']}
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..data._validate import check_on_invalid, missing_columns, one_row, raise_nulls, row_index
from ..judgments import ColumnError
from ._estimator import fit_options_set

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BinaryRelevance", "is_missing", "label_sets"]

#: what a multi-label column's rows are, in the errors
_ROW_RULE = ("BinaryRelevance needs a list of labels in every row (an empty list or a missing value: no "
             "label applies)")


def _clone(model: Any) -> Any:
    """An unfitted copy with the same settings (``get_params`` where the model has it)."""
    if hasattr(model, "get_params"):
        return type(model)(**model.get_params())
    return copy.deepcopy(model)


def is_missing(value: Any) -> bool:
    """Whether a scalar is a missing value: None, pandas' NA and NaT, NaN of any float type,
    numpy's NaT (a list, text or a number is not)."""
    if value is None:
        return True
    if isinstance(value, (str, bytes, int, list, tuple, dict, set, frozenset, np.ndarray)):
        return False
    kind = type(value)
    if kind.__module__.split(".")[0] == "pandas" and kind.__name__ in ("NAType", "NaTType"):
        return True
    try:
        return bool(value != value)  # NaN (float, numpy's floats, Decimal) and numpy's NaT
    except (TypeError, ValueError):
        return False


def label_sets(values: Sequence[Any], column: str = "label", rows: Sequence[int] | None = None,
               index: np.ndarray | None = None) -> list[tuple[Any, ...]]:
    """Each row's labels as a tuple (a missing row or label, whatever its kind of missing: none); a
    ColumnError naming ``column`` and the rows (``rows``: their positions in the input,
    ``index``: a pandas frame's own index) for a row that is not a list of labels, or a label that is
    itself a list or a dict."""
    out: list[tuple[Any, ...]] = []
    single: list[tuple[int, Any]] = []
    nested: list[tuple[int, Any]] = []
    for i, value in enumerate(values):
        if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
            tags = tuple(v for v in value if not is_missing(v))
            for v in tags:
                try:
                    hash(v)
                except TypeError:
                    nested.append((i, v))
                    break
            out.append(tags)
        elif is_missing(value):
            out.append(())  # no label applies
        else:
            out.append(())
            single.append((i, value))
    where = (lambda i: one_row(i if rows is None else int(rows[i]), index))
    if single:
        examples = ", ".join(f"{where(i)}: {v!r}" for i, v in single[:3])
        raise ColumnError(
            f"column {column!r}: {_ROW_RULE}; {len(single):,} row(s) hold a single value ({examples}). Wrap "
            "each in a list, or aggregate single labels with a categorical model (MajorityVote, DawidSkene)"
        )
    if nested:
        examples = ", ".join(f"{where(i)}: {v!r}" for i, v in nested[:3])
        raise ColumnError(
            f"column {column!r}: a label in a row's list must be one value (text, a number or a boolean); "
            f"{len(nested):,} row(s) hold a list or a dict as a label ({examples}). Flatten those lists, or "
            "write each such label as text"
        )
    return out


class BinaryRelevance:
    """Multi-label aggregation by one binary fit per label (crowd-kit's ``BinaryRelevance``).

    Parameters
    ----------
    base_aggregator : a categorical model, default ``MajorityVote()``
        Copied (its parameters, not its results) for every label; each copy is fitted on
        ``task, worker, label`` with label 1 where the worker's set holds that label, else 0. Ties
        go to 0 (galton's rule: the smallest label), so a label on exactly half of the judgments is
        left out.

    Attributes
    ----------
    labels_ : pd.Series named ``agg_label``, indexed by ``task`` (in order of first appearance), each
        value the list of the task's labels, in sorted label order.
    aggregators_ : dict label -> the fitted copy of the base model for that label.
    """

    def __init__(self, base_aggregator: Any = None):
        self.base_aggregator = base_aggregator

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"base_aggregator": self.base_aggregator}

    def set_params(self, **params: Any) -> "BinaryRelevance":
        for key, value in params.items():
            if key != "base_aggregator":
                raise ValueError(f"unknown parameter {key!r}; BinaryRelevance takes base_aggregator")
            self.base_aggregator = value
        return self

    def __repr__(self) -> str:
        return f"BinaryRelevance(base_aggregator={self.base_aggregator!r})"

    def fit(self, data: Any, *, task_col: str = "task", worker_col: str = "worker",
            label_col: str = "label", on_invalid: str = "raise") -> "BinaryRelevance":
        """Fit one copy of the base model per label. ``data``: a pandas or polars frame (or a dict
        of columns) with ``task``, ``worker`` and ``label`` (other names via ``task_col=`` etc.), the
        label a list of labels per row (an empty list or a missing value such as None, NaN or
        ``pd.NA``: no label applies; a missing value inside a list is no label). ``on_invalid``:
        ``"raise"`` (default) for a row without a task or a worker, or ``"drop"`` to leave such rows
        out."""
        check_on_invalid(on_invalid)
        base = self.base_aggregator
        if base is None:
            from .majority_vote import MajorityVote

            base = MajorityVote()
        kind = getattr(base, "kind", "categorical")
        if not hasattr(base, "fit") or kind != "categorical":
            what = f"a {kind} model" if hasattr(base, "fit") else "not a model"
            raise TypeError(f"base_aggregator must be a categorical model (task, worker, label), such as "
                            f"MajorityVote() or DawidSkene(); {type(base).__name__} is {what}")
        import pandas as pd  # only when used: importing galton loads no pandas

        frame = _as_pandas(data)
        missing_columns(frame, (task_col, worker_col, label_col),
                        "BinaryRelevance reads task, worker and label (a list of labels per row); name "
                        "other columns with task_col=, worker_col=, label_col=")
        given = {task_col: "task", worker_col: "worker", label_col: "label"}
        if any(k != v for k, v in given.items()):  # galton's names from here on (results say "task")
            frame = frame[list(given)].rename(columns=given)
        index = row_index(frame)
        nulls = {c: np.asarray(frame[g].isna(), dtype=bool) for c, g in ((task_col, "task"), (worker_col, "worker"))}
        bad = nulls[task_col] | nulls[worker_col]
        if bad.any() and on_invalid == "raise":  # the one null check, on a table of the null marks
            import pyarrow as pa

            raise_nulls(pa.table({c: pa.array(np.zeros(bad.size), mask=m) for c, m in nulls.items()}),
                        list(nulls), index)
        rows = np.flatnonzero(~bad)
        sets = label_sets(frame["label"].to_numpy()[rows].tolist(), label_col, rows, index)
        frame = frame.iloc[rows]
        rows_of: dict[Any, list[int]] = {}  # label -> the rows whose set holds it (one pass)
        for i, labels_of_row in enumerate(sets):
            for x in labels_of_row:
                rows_of.setdefault(x, []).append(i)
        labels = sorted(rows_of, key=_sort_key)
        self.aggregators_: dict[Any, Any] = {}
        tasks = pd.unique(frame["task"].to_numpy())
        chosen: dict[Any, list[Any]] = {t: [] for t in tasks}
        for label in labels:
            answer = np.zeros(len(sets), dtype=np.int64)
            answer[np.unique(np.asarray(rows_of[label], dtype=np.int64))] = 1  # a label twice in a set: once
            binary = pd.DataFrame({"task": frame["task"].to_numpy(), "worker": frame["worker"].to_numpy(),
                                   "label": answer})
            model = _clone(base)
            with fit_options_set(warning_context=f"tag {label!r}: "):  # which tag did not converge
                model.fit(binary)
            self.aggregators_[label] = model
            result = model.labels_
            if result is None:
                continue
            for task, value in zip(result.index.tolist(), result.tolist()):
                if value:
                    chosen[task].append(label)
        if not chosen:
            self.labels_ = pd.Series(dtype=float, name="agg_label")  # crowd-kit's empty result
        else:
            self.labels_ = pd.Series(list(chosen.values()), index=pd.Index(list(chosen), name="task"),
                                     name="agg_label", dtype=object)
        return self

    def fit_predict(self, data: Any, **options: Any) -> "pd.Series":
        """Fit and return ``labels_`` (``options``: ``task_col=`` etc. and ``on_invalid=``, as in
        :meth:`fit`)."""
        return self.fit(data, **options).labels_


def _sort_key(label: Any) -> tuple[str, Any]:
    """Labels of one type sort by value; mixed types by type name first (no TypeError)."""
    return (type(label).__name__, label)


def _as_pandas(data: Any) -> "pd.DataFrame":
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        return pd.DataFrame(data)
    if isinstance(data, (str, os.PathLike)) or hasattr(data, "collect") or hasattr(data, "to_arrow") or hasattr(
            data, "__arrow_c_stream__"):  # a file, a polars (lazy) frame, Arrow
        import pyarrow as pa

        from ..io import to_arrow

        table = to_arrow(data)
        # list columns as Python lists: to_pandas made integer tags floats wherever one was null
        return pd.DataFrame({n: c.to_pylist() if pa.types.is_list(c.type) or pa.types.is_large_list(c.type)
                             else c.to_pandas() for n, c in zip(table.column_names, table.columns)})
    raise TypeError(f"BinaryRelevance takes a pandas or polars DataFrame, an Arrow table, a path or a dict of "
                    f"columns, not {type(data).__name__}")
