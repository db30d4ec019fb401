"""Results of a fitted model as one tidy table in the user's own ids and label values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ._types import id_array

__all__ = ["check_top", "label_key", "results_columns", "results_table", "top_codes"]


# --------------------------------------------------------------------------------------------------
# results of a fitted model
# --------------------------------------------------------------------------------------------------
def _column(values: np.ndarray, name: str) -> pa.Array:
    """An Arrow column ``name`` from a vocabulary array (object arrays of str become string columns;
    an empty one is text)."""
    if values.dtype == object:
        return pa.array([], type=pa.string()) if values.size == 0 else id_array(values.tolist(), name)
    return pa.array(values)


def label_key(name: Any) -> str:
    """A label as a column name's suffix (``p_<label>``): Python's ``str`` of the value, except a
    boolean, which is ``true`` / ``false`` as CSV, polars and Arrow write it (``p_true``, the text its
    own label column holds). For integers, strings and floats in plain decimals that is the text a
    file's label cell holds too; other labels' names can differ from their cells: a float in exponent
    form (``p_1e-07`` beside ``1e-7``), a timestamp (``p_2024-01-01T12:00:00.000000000`` beside JSON
    lines' ``2024-01-01 12:00:00``), a duration (``p_1000 milliseconds`` beside CSV's ``PT1S``)."""
    if isinstance(name, (bool, np.bool_)):
        return "true" if name else "false"
    return str(name)


#: task rows ranked at a time for ``top`` (bounds the sort's scratch to rows x labels int64)
TOP_BLOCK = 8192


def top_codes(post: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """(tasks, n): each task's ``n`` most probable label codes, most probable first, equal
    probabilities in label order; the first is ``codes`` (the task's label, whose tie rule treats
    values within a relative 1e-9 of the largest as equal)."""
    out = np.empty((post.shape[0], n), dtype=np.int64)
    for a in range(0, post.shape[0], TOP_BLOCK):
        out[a:a + TOP_BLOCK] = np.argsort(-post[a:a + TOP_BLOCK], axis=1, kind="stable")[:, :n]
    for row in np.flatnonzero(out[:, 0] != codes):  # a near tie the label's rule broke the other way
        rest = [c for c in np.argsort(-post[row], kind="stable") if c != codes[row]]
        out[row] = [codes[row], *rest[:n - 1]]
    return out


def results_columns(task_names: np.ndarray, label_names: np.ndarray, post: np.ndarray, codes: np.ndarray,
                    top: int | None = None) -> pa.Table:
    """``task, label, confidence`` and the probabilities of tasks with posteriors ``post`` (n x K)
    and labels ``codes``: one ``p_<label>`` column per label, or with ``top`` the ``top`` most
    probable labels and their probabilities, ``label_1, p_1, ..., label_N, p_N`` (N = min(top, K))."""
    n, k = post.shape
    rows = np.arange(n)
    cols: dict[str, pa.Array] = {
        "task": _column(np.asarray(task_names), "task"),
        "label": _column(label_names[codes], "label") if n else pa.array([], _column(label_names, "label").type),
        "confidence": pa.array(post[rows, codes] if n else np.zeros(0)),
    }
    if top is None:
        for j, name in enumerate(label_names):  # numpy scalars: a float32 label 0.1 is p_0.1, as written
            key = f"p_{label_key(name)}"
            if key in cols:  # pragma: no cover - labels are unique within one type
                raise ValueError(f"two labels give the column name {key!r}")
            cols[key] = pa.array(np.ascontiguousarray(post[:, j], dtype=np.float64))
        return pa.table(cols)
    check_top(top)
    ranked = top_codes(post, codes, min(top, k))
    for r in range(ranked.shape[1]):
        cols[f"label_{r + 1}"] = _column(label_names[ranked[:, r]], "label") if n else cols["label"]
        cols[f"p_{r + 1}"] = pa.array(post[rows, ranked[:, r]] if n else np.zeros(0))
    return pa.table(cols)


def check_top(top: Any) -> None:
    """A ValueError unless ``top`` is None or a whole number of at least 1."""
    if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1):
        raise ValueError(f"top must be a whole number of labels, at least 1, or None for every label's "
                         f"probability; got {top!r}")


def results_table(model: Any, output: str = "arrow", top: int | None = None) -> Any:
    """One row per task: ``task, label, confidence, p_<label>...`` from a fitted model.

    Parameters
    ----------
    model : fitted galton aggregator
        Needs ``judgments_`` (:class:`galton.judgments.Judgments`), ``posteriors_`` (n_tasks x K) and
        ``label_codes_`` (n_tasks,), which every galton model sets in ``fit``.
    output : {"arrow", "polars", "pandas"}, default "arrow"
        The table type, whatever the frame type of the fit (the table is meant for writing, and
        :func:`galton.io.write_table` takes Arrow); pandas gives a plain RangeIndex frame with the
        same columns.
    top : int, optional
        Instead of one probability column per label, the ``top`` most probable labels of each task
        and their probabilities: ``label_1, p_1, ..., label_N, p_N``, most probable first (N =
        ``min(top, K)``; equal probabilities in label order; ``label_1`` is ``label``). With many
        labels (1,000 labels: 1,003 columns) this is the table people read.

    Returns
    -------
    pyarrow.Table (or polars / pandas DataFrame)
        ``task`` (the user's task ids, in sorted order), ``label`` (the aggregated label, in the
        user's label type), ``confidence`` (its posterior probability, the largest of the row) and
        one float column ``p_<label>`` per label value, in sorted label order (or the ``top``
        columns above).

    Raises
    ------
    ValueError
        If the model is not fitted, or ``top`` is not a whole number of at least 1.
    """
    if output not in ("arrow", "polars", "pandas"):
        raise ValueError(f"output must be 'arrow', 'polars' or 'pandas', not {output!r}")
    kind = getattr(model, "kind", "categorical")
    if kind != "categorical" or type(model).__name__ == "BinaryRelevance":
        what = "multi-label" if kind == "categorical" else kind  # "is not fitted" said of a fitted model
        instead = ("its labels_ (a list of labels per task) and each tag's model in aggregators_"
                   if what == "multi-label" else "its scores_ and intervals_ (or write_table(model.scores_, path))")
        raise ValueError(f"results_table writes labels and class probabilities of a categorical model; "
                         f"{type(model).__name__} gives {what} results: use {instead}")
    missing = [a for a in ("judgments_", "posteriors_", "label_codes_") if not hasattr(model, a)]
    if missing:  # a fit that voted on nothing says why (GoldMajorityVote with a worker without gold)
        raise ValueError(getattr(model, "_unvoted", None) or
                         f"this {type(model).__name__} is not fitted (no {', '.join(missing)}); call fit(data) first")
    judgments = model.judgments_
    post = np.asarray(model.posteriors_, dtype=np.float64)
    codes = np.asarray(model.label_codes_, dtype=np.int64)
    n, k = judgments.n_tasks, judgments.n_labels
    if post.shape != (n, k) or codes.shape != (n,):
        raise ValueError(
            f"posteriors_ has shape {post.shape} and label_codes_ {codes.shape}; expected ({n}, {k}) "
            f"and ({n},) for {n} tasks and {k} labels"
        )
    names, order = judgments.task_names, getattr(judgments, "task_order", None)
    if order is not None:  # data ingested on Ray: codes in shard order, rows in the order of the ids
        names, post, codes = names[order], post[order], codes[order]
    table = results_columns(names, judgments.label_names, post, codes, top)
    if output == "polars":
        import polars as pl

        return pl.from_arrow(table)
    return table.to_pandas() if output == "pandas" else table
