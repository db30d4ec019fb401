"""Results of a fitted model as one tidy table in the user's own ids and label values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["results_table"]


# --------------------------------------------------------------------------------------------------
# results of a fitted model
# --------------------------------------------------------------------------------------------------
def _column(values: np.ndarray) -> pa.Array:
    """An Arrow column from a vocabulary array (object arrays of str become string columns)."""
    if values.dtype == object:
        return pa.array(values.tolist())
    return pa.array(values)


def results_table(model: Any, output: str = "arrow") -> Any:
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

    Returns
    -------
    pyarrow.Table (or polars / pandas DataFrame)
        ``task`` (the user's task ids, in sorted order), ``label`` (the aggregated label, in the
        user's label type), ``confidence`` (its posterior probability, the largest of the row) and
        one float column ``p_<label>`` per label value, in sorted label order.

    Raises
    ------
    ValueError
        If the model is not fitted.
    """
    if output not in ("arrow", "polars", "pandas"):
        raise ValueError(f"output must be 'arrow', 'polars' or 'pandas', not {output!r}")
    missing = [a for a in ("judgments_", "posteriors_", "label_codes_") if not hasattr(model, a)]
    if missing:
        raise ValueError(
            f"this {type(model).__name__} is not fitted (no {', '.join(missing)}); call fit(data) first"
        )
    judgments = model.judgments_
    post = np.asarray(model.posteriors_, dtype=np.float64)
    codes = np.asarray(model.label_codes_, dtype=np.int64)
    n, k = judgments.n_tasks, judgments.n_labels
    if post.shape != (n, k) or codes.shape != (n,):
        raise ValueError(
            f"posteriors_ has shape {post.shape} and label_codes_ {codes.shape}; expected ({n}, {k}) "
            f"and ({n},) for {n} tasks and {k} labels"
        )
    cols: dict[str, pa.Array] = {
        "task": _column(judgments.task_names),
        "label": _column(judgments.label_names[codes]),
        "confidence": pa.array(post[np.arange(n), codes]),
    }
    for j, name in enumerate(judgments.label_names.tolist()):
        key = f"p_{name}"
        if key in cols:  # pragma: no cover - labels are unique within one type
            raise ValueError(f"two labels give the column name {key!r}")
        cols[key] = pa.array(np.ascontiguousarray(post[:, j]))
    table = pa.table(cols)
    if output == "polars":
        import polars as pl

        return pl.from_arrow(table)
    return table.to_pandas() if output == "pandas" else table
