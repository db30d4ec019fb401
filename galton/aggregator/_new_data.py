"""How ``predict`` / ``predict_proba`` read new data.

The reading options of the call (``on_invalid``, ``duplicates``, as ``fit`` takes them) travel to
:meth:`~galton.aggregator._estimator.BaseAggregator._new_judgments` in a context variable, so that a
model's ``_predict_new(data)`` hook (docs/adding-a-model.md) keeps its one argument; the null error
told users of ``predict`` to pass ``on_invalid='drop'``, which ``predict`` refused as a TypeError.
:func:`check_scorable` refuses new data for a model fitted on an empty frame, which has no
parameters (it said ``labels= must list every label ... not []``, or raised a bare AttributeError).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

__all__ = ["check_scorable", "fit_columns_error", "reading", "reading_options"]

_READING: ContextVar[dict[str, Any] | None] = ContextVar("galton_predict_reading", default=None)


@contextmanager
def reading(on_invalid: str, duplicates: str) -> Iterator[None]:
    """Within the block, new data is read with these options (restored after it, also on error)."""
    token = _READING.set({"on_invalid": on_invalid, "duplicates": duplicates})
    try:
        yield
    finally:
        _READING.reset(token)


def reading_options() -> dict[str, Any]:
    """The reading options of the ``predict`` in progress (none outside one: the defaults)."""
    return dict(_READING.get() or {})


def check_scorable(model: Any) -> None:
    """Refuse new data for a model fitted on an empty frame: a fit without judgments leaves empty
    results and no parameters (no workers, no labels) to score other judgments with."""
    fitted = model.__dict__.get("judgments_")
    if fitted is not None and getattr(fitted, "n_judgments", 1) == 0:
        raise ValueError(
            f"this {type(model).__name__} was fitted on an empty frame (0 judgments), so it has no parameters "
            "to score new data with; fit it on judgments first, or call fit_predict(data) to aggregate the data")


def fit_columns_error(exc: Exception, columns: tuple[str, str, str]) -> Exception | None:
    """The reader's missing-column error for new data, told what ``predict`` takes: it reads the
    columns the fit was told (``columns``: task, worker, label) and has no ``task_col=`` (the hint
    to pass them met a TypeError); None when ``exc`` is another error."""
    from ..data._validate import COLUMN_HINT, ColumnError

    if not isinstance(exc, ColumnError) or COLUMN_HINT not in str(exc):
        return None
    tc, wc, lc = columns
    renamed = {d: c for d, c in zip(("task", "worker", "label"), columns) if d != c} or {"item": "task"}
    return ColumnError(str(exc).replace(COLUMN_HINT, (
        f"predict reads new data by the column names of the fit (task_col={tc!r}, worker_col={wc!r}, "
        f"label_col={lc!r}): rename the new data's columns to those, for example df.rename(columns={renamed})")))
