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


def results_table(model: Any) -> pa.Table:
    """One row per task: ``task, label, confidence, p_<label>...`` from a fitted model.

    Parameters
    ----------
    model : fitted galton aggregator
        Needs ``judgments_`` (:class:`galton.judgments.Judgments`), ``posteriors_`` (n_tasks x K) and
        ``label_codes_`` (n_tasks,), which every galton model sets in ``fit``.

    Returns
    -------
    pyarrow.Table
        ``task`` (the user's task ids, in sorted order), ``label`` (the aggregated label, in the
        user's label type), ``confidence`` (its posterior probability, the largest of the row) and
        one float column ``p_<label>`` per label value, in sorted label order.

    Raises
    ------
    ValueError
        If the model is not fitted.
    """
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
    return pa.table(cols)
