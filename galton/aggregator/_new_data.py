"""How ``predict`` / ``predict_proba`` read new data.

The reading options of the call (``on_invalid``, ``duplicates``, as ``fit`` takes them) travel to
:meth:`~galton.aggregator._estimator.BaseAggregator._new_judgments` in a context variable, so that a
model's ``_predict_new(data)`` hook (docs/adding-a-model.md) keeps its one argument; the null error
told users of ``predict`` to pass ``on_invalid='drop'``, which ``predict`` refused as a TypeError.
:func:`check_scorable` refuses new data for a model fitted on an empty frame, which has no
parameters (it said ``labels= must list every label ... not []``, or raised a bare AttributeError),
and data loaded into an engine's shards (``load_parquet``), which predict does not read.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

__all__ = ["check_scorable", "fit_columns_error", "new_judgments", "reading", "reading_options"]

_READING: ContextVar[dict[str, Any] | None] = ContextVar("galton_predict_reading", default=None)


@contextmanager
def reading(on_invalid: str, duplicates: str | None) -> Iterator[None]:
    """Within the block, new data is read with these options (restored after it, also on error); ``duplicates``
    None: repeated (task, worker) rows kept, with the fit's warning of them."""
    token = _READING.set({"on_invalid": on_invalid, "duplicates": duplicates})
    try:
        yield
    finally:
        _READING.reset(token)


def reading_options() -> dict[str, Any]:
    """The reading options of the ``predict`` in progress (none outside one: the defaults)."""
    return dict(_READING.get() or {})


def check_scorable(model: Any, data: Any = None) -> None:
    """Refuse new data for a model fitted on an empty frame: a fit without judgments leaves empty
    results and no parameters (no workers, no labels) to score other judgments with; and ``data``
    loaded into an engine's shards, which predict does not read (the reader told it "this model reads
    its judgments in this process ... fit that", of an EM model and a predict)."""
    from ._engine import LoadedData

    if isinstance(data, LoadedData):
        raise TypeError(
            f"{type(model).__name__}.predict scores new data in this process, and data loaded with load_parquet "
            "lives in the engine's shards; read the files with galton.io.read_input(path) and pass that (the "
            "results of the data the model was fitted on need none: predict() or predict_proba() without data)")
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


def new_judgments(model: Any, data: Any, fitted_labels: bool = True) -> Any:
    """New judgments for ``model`` to score with its fitted parameters: read with the fit's column names and the
    reading options of the ``predict`` in progress, and (``fitted_labels``) encoded over the fit's label set; a label
    outside it raises, naming it and the fitted labels (votes take any label: ``fitted_labels=False``). Repeated
    (task, worker) rows that nobody chose to keep are warned of, as in the fit (``predict`` had read them with
    ``duplicates="keep"`` whatever the fit chose, silently: whitehill_duchenne fitted with ``"first"`` and scored
    again gave 197 other labels)."""
    from ..data._encode import FittedLabels, LabelSetError
    from ..judgments import ColumnError, Judgments

    fitted = model.judgments_
    tc, wc, lc = fitted.columns
    labels = FittedLabels(fitted.label_names.tolist()) if fitted_labels else None  # matched as gold is
    options = {key: value for key, value in reading_options().items() if value is not None}
    try:
        new = Judgments.from_any(data, task_col=tc, worker_col=wc, label_col=lc, labels=labels, **options)
    except ColumnError as e:  # its hint named task_col=, which predict has not
        if (told := fit_columns_error(e, (tc, wc, lc))) is None:
            raise
        raise told from None
    except LabelSetError as e:
        raise ValueError(
            f"the new data's column {e.column!r} holds label(s) {e.extra} that this "
            f"{type(model).__name__} was not fitted on (its labels: {e.full}); a fitted model scores "
            "only the labels it has parameters for: drop those rows, or refit on data whose judgments "
            "hold those labels (declaring them with labels=[...] does not help: a label no judgment "
            "of the fit gave gets prior 0)"
        ) from None
    if "duplicates" not in options:
        model._warn_repeats(new)
    return new
