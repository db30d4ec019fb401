"""Results back in the user's vocabulary and frame type.

pandas (crowd-kit's conventions): ``labels_`` a Series named ``agg_label`` indexed by ``task``;
``probas_`` a DataFrame task x label; ``skills_`` a Series indexed by ``worker``; ``errors_`` a
DataFrame indexed by (worker, label) with the true labels as columns; ``priors_`` a Series by label.
Built here in sorted id order; :mod:`._layout` then gives the classes crowd-kit has its layout.

polars / Arrow: long, tidy tables with string column names, sorted by id: ``labels_`` (task,
label), ``probas_`` (task, one column ``p_<label>`` per label, as :func:`galton.io.results_table`),
``skills_`` (worker, skill), ``errors_`` (worker, label, true_label, probability) for every worker and
label pair, ``priors_`` (label, prior)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._extras import import_pandas
from ..io._formats import RESULT_NAMES
from ..io._types import MixedTupleIds, id_array

__all__ = ["Output", "check_output", "crowdkit_scores", "object_series", "pandas_index", "unnamed_result"]


def pandas_index(values: Any, name: str | None = None) -> Any:
    """A flat pandas Index of ``values``: tuple-valued ids (crowd-kit groups items as tuples) stay
    tuples instead of becoming a MultiIndex. No ids of an ``object`` array are text ids (integer ids
    come as integer arrays): the index pandas gives text (``str`` from pandas 3), not ``object``."""
    import pandas as pd

    if isinstance(values, np.ndarray) and values.dtype == object and values.size == 0:
        return pd.Index([], name=name, dtype=pd.Index(["text"]).dtype)  # the dtype pandas gives text ids
    return pd.Index(values, name=name, tupleize_cols=False)


def unnamed_result(value: Any, index: str, name: str) -> Any:
    """``value``, a pandas result crowd-kit leaves unnamed, marked with the names of its index and
    values (``attrs``) that :func:`galton.io.write_table` writes them under (it dropped the unnamed
    integer ids of ``BradleyTerry().scores_``, or wrote GLAD's ``priors_`` under a column ``0``)."""
    value.attrs[RESULT_NAMES] = (index, name)
    return value


def object_series(values: Any, index: Any, index_name: str, name: str | None) -> Any:
    """A pandas Series holding one array (or any object) per index value: an object array filled
    item by item, since numpy would stack equal-shaped arrays into one."""
    import pandas as pd

    from ..data._encode import object_array

    return pd.Series(object_array(values), index=pandas_index(index, name=index_name), name=name)


def _names(a: np.ndarray) -> list[str]:
    """Label values as column-name suffixes, as :func:`galton.io.label_key` (``p_true``)."""
    from ..io import label_key

    return [label_key(name) for name in a]  # numpy scalars: float32 0.1 is "0.1", not 0.10000000149011612


#: rows from which a long table's text id columns are gathered by polars or Arrow, not numpy
GATHER_ROWS = 1 << 16


def _at(names: np.ndarray, idx: np.ndarray, kind: str) -> Any:
    """``names[idx]`` for a long table's column of frame ``kind``: when large, a polars gather or an
    Arrow take (``errors_`` of 1,000 labels, 85M rows: 5-13 s in polars and 7.5 s in Arrow instead
    of 16 s, numpy's object repeat then the frame's conversion of every row), else numpy."""
    if idx.size < GATHER_ROWS or names.dtype != object:
        return names[idx]
    import polars as pl
    import pyarrow as pa

    try:
        if kind == "polars":
            series = pl.Series(names)
            return names[idx] if series.dtype == pl.Object else series.gather(idx)
        return pa.array(names).take(pa.array(idx))
    except (TypeError, ValueError, OverflowError, pa.ArrowException):  # ids neither can type (mixed)
        return names[idx]


def _arrow_or_same(values: Any, column: str) -> Any:
    """An object array of non-text ids as an Arrow array (its type inferred), else ``values``; tuple
    ids of mixed types raise, naming ``column`` (they became an Object column no writer takes, or
    Arrow's bare ArrowInvalid)."""
    import pyarrow as pa

    if not (isinstance(values, np.ndarray) and values.dtype == object and values.size) or isinstance(values[0], str):
        return values
    try:
        return id_array(values.tolist(), column)
    except MixedTupleIds:
        raise
    except (pa.ArrowException, TypeError, ValueError):
        return values


def check_output(output: Any) -> None:
    """Refuse an ``output=`` other than None, "pandas", "polars" or "arrow" ("" and "dict" gave
    polars in a fit; the worker report returned Arrow for any other value), and "pandas" where pandas
    is not installed, before any work, naming the extra (a fit failed at its results: "No module named
    'pandas'")."""
    if output is not None and output not in ("pandas", "polars", "arrow"):
        raise ValueError(f"output must be 'pandas', 'polars' or 'arrow', not {output!r}")
    if output == "pandas":
        import_pandas("output='pandas'")


class Output:
    """Builds result objects of one frame kind ("pandas", "polars" or "arrow")."""

    def __init__(self, kind: str):
        if kind == "dict":
            kind = "polars"
        if kind not in ("pandas", "polars", "arrow"):
            raise ValueError(f"output must be 'pandas', 'polars' or 'arrow', not {kind!r}")
        self.kind = kind
        self._task_order: np.ndarray | None = None
        self._order_of: Any = None

    @property
    def task_order(self) -> np.ndarray | None:
        """Where the task codes are not in the order of the ids (judgments ingested on Ray, whose codes
        are shard-major), the codes in id order: per-task results are built in it."""
        if self._order_of is not None:
            self._task_order, self._order_of = getattr(self._order_of, "task_order", None), None
        return self._task_order

    @task_order.setter
    def task_order(self, order: np.ndarray | None) -> None:
        self._task_order, self._order_of = order, None

    def order_by(self, judgments: Any) -> None:
        """Take the task order from ``judgments`` when a per-task result is first built: results
        written where the shards live never gather the task ids into this process."""
        self._task_order, self._order_of = None, judgments

    def _by_task(self, task_names: np.ndarray, *per_task: np.ndarray) -> tuple[np.ndarray, ...]:
        order = self.task_order
        if order is None or order.size != len(task_names):
            return (task_names, *per_task)
        return (task_names[order], *(v[order] for v in per_task))

    # -- generic table maker for polars / arrow
    def table(self, cols: dict[str, Any]) -> Any:
        """``cols`` (name -> values) as a polars frame or an Arrow table (the kind's own)."""
        import pyarrow as pa

        # an empty fit's text ids are an empty object array: text, not polars' Object / Arrow's null
        cols = {c: pa.array([], pa.string()) if isinstance(v, np.ndarray) and v.dtype == object and not v.size
                else v for c, v in cols.items()}
        if self.kind == "polars":
            import polars as pl

            # object ids (dates, zoned timestamps, decimals, times) become polars' own types through
            # Arrow, not polars' Object (which no writer takes)
            return pl.DataFrame({c: _arrow_or_same(v, c) for c, v in cols.items()})
        return pa.table({c: _arrow_or_same(v, c) for c, v in cols.items()})  # nanoseconds kept, as polars

    def labels(self, task_names: np.ndarray, label_names: np.ndarray, codes: np.ndarray) -> Any:
        task_names, codes = self._by_task(task_names, codes)
        values = label_names[codes]
        if self.kind == "pandas":
            import pandas as pd

            return pd.Series(values, index=pandas_index(task_names, name="task"), name="agg_label")
        return self.table({"task": task_names, "label": values})

    def probas(self, task_names: np.ndarray, label_names: np.ndarray, post: np.ndarray) -> Any:
        task_names, post = self._by_task(task_names, post)
        if self.kind == "pandas":
            import pandas as pd

            return pd.DataFrame(
                post, index=pandas_index(task_names, name="task"), columns=pandas_index(label_names, name="label")
            )
        cols: dict[str, Any] = {"task": task_names}
        for i, name in enumerate(_names(label_names)):
            cols[f"p_{name}"] = post[:, i]  # as in results_table; a label named "task" keeps the ids
        return self.table(cols)

    def per_worker_label(self, worker_names: np.ndarray, label_names: np.ndarray, values: np.ndarray,
                         prefix: str) -> Any:
        """A (worker, label) table: pandas rows by worker and columns by label; other frames a
        ``worker`` column and one column ``<prefix>_<label>`` per label."""
        if self.kind == "pandas":
            import pandas as pd

            return pd.DataFrame(values, index=pandas_index(worker_names, name="worker"),
                                columns=pandas_index(label_names, name="label"))
        cols: dict[str, Any] = {"worker": worker_names}
        for i, name in enumerate(_names(label_names)):
            cols[f"{prefix}_{name}"] = values[:, i]
        return self.table(cols)

    def per_worker(self, worker_names: np.ndarray, values: np.ndarray, name: str) -> Any:
        if self.kind == "pandas":
            import pandas as pd

            return pd.Series(values, index=pandas_index(worker_names, name="worker"), name=name)
        return self.table({"worker": worker_names, name: values})

    def per_task(self, task_names: np.ndarray, values: np.ndarray, name: str) -> Any:
        task_names, values = self._by_task(task_names, values)
        if self.kind == "pandas":
            import pandas as pd

            return pd.Series(values, index=pandas_index(task_names, name="task"), name=name)
        return self.table({"task": task_names, name: values})

    def priors(self, label_names: np.ndarray, priors: np.ndarray) -> Any:
        if self.kind == "pandas":
            import pandas as pd

            return pd.Series(priors, index=pandas_index(label_names, name="label"), name="prior")
        return self.table({"label": label_names, "prior": priors})

    def errors(self, worker_names: np.ndarray, label_names: np.ndarray, errors: np.ndarray) -> Any:
        """``errors[w, observed, true]`` = p(worker w answers observed | true)."""
        w, k, _ = errors.shape
        if self.kind == "pandas":
            import pandas as pd

            # levels and codes given, not factorised from repeated names: the vocabularies are
            # sorted and distinct already (4 ms of a 37k-worker fit's 5 ms here went to factorising)
            index = pd.MultiIndex(
                levels=[pandas_index(worker_names), pandas_index(label_names)],
                codes=[np.repeat(np.arange(w), k), np.tile(np.arange(k), w)], names=["worker", "label"],
            )
            return pd.DataFrame(
                errors.reshape(w * k, k), index=index, columns=pandas_index(label_names, name="label")
            )
        return self.table({
            "worker": _at(worker_names, np.repeat(np.arange(w, dtype=np.int32), k * k), self.kind),
            "label": _at(label_names, np.tile(np.repeat(np.arange(k, dtype=np.int32), k), w), self.kind),
            "true_label": _at(label_names, np.tile(np.arange(k, dtype=np.int32), w * k), self.kind),
            "probability": errors.reshape(-1),
        })

    def pair_errors(self, workers: np.ndarray, labels: np.ndarray, label_names: np.ndarray,
                    rows: np.ndarray) -> Any:
        """``errors_`` of many labels: only the rows of the (worker, observed label) pairs that occur,
        ``rows[p, true]`` (the matrices would not fit; every other cell is the model's value for a
        label the worker never gave)."""
        p, k = rows.shape
        if self.kind == "pandas":
            import pandas as pd

            index = pd.MultiIndex.from_arrays([workers, labels], names=["worker", "label"])
            # the rows are the fit's own new array, used for nothing after this: no copy of pairs x
            # labels (1,000 labels, 100k judgments: 670 MB and 1.2 s)
            return pd.DataFrame(rows, index=index, columns=pandas_index(label_names, name="label"), copy=False)
        rows_at = np.repeat(np.arange(p, dtype=np.int32), k)
        return self.table({
            "worker": _at(workers, rows_at, self.kind),
            "label": _at(labels, rows_at, self.kind),
            "true_label": _at(label_names, np.tile(np.arange(k, dtype=np.int32), p), self.kind),
            "probability": rows.reshape(-1),
        })


def crowdkit_scores(names: np.ndarray, theta: np.ndarray, how: str) -> Any:
    """crowd-kit's ``scores_``: ``exp(θ) / Σ exp(θ)`` (BradleyTerry, index unnamed) or ``expit(θ)``
    (NoisyBradleyTerry, index named ``label``), a Series named ``agg_score``."""
    import pandas as pd

    if how == "softmax":
        e = np.exp(theta - (theta.max() if theta.size else 0.0))
        return unnamed_result(pd.Series(e / e.sum() if theta.size else e, index=pandas_index(names),
                                        name="agg_score"), "item", "agg_score")
    return pd.Series(1.0 / (1.0 + np.exp(-theta)), index=pandas_index(names, name="label"), name="agg_score")
