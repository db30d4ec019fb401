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

from typing import Any, Iterator

import numpy as np

from .._warnings import caller_stacklevel, quiet, warn
from ..data._repeats import REPEATS_KEY, RISE, one_row_per_pair
from ..data._validate import check_on_invalid, missing_columns, null_mask, raise_nulls, row_index
from ._estimator import ConvergenceWarning, fit_options_set
from ._memory import ENV_VAR, MemoryLimitError, current_limit, format_size
from ._registry import refuse_class
from ._results import check_output
from ._tags import is_missing, label_sets
from .worker_report import NoWorkerReport

__all__ = ["BinaryRelevance", "is_missing", "label_sets"]

def _clone(model: Any) -> Any:
    """An unfitted copy with the same settings, as crowd-kit's ``clone_aggregator`` makes it: a
    deep copy kept an earlier fit's results (a fitted crowd-kit Wawa's ``labels_``, read as this
    fit's)."""
    from ..aggregation.utils import clone_aggregator

    return clone_aggregator(model)


class BinaryRelevance(NoWorkerReport):
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
    labels_ : each task's list of labels, in sorted label order, in the input's layout (or that of
        ``fit(..., output=)``). pandas: a Series named ``agg_label`` indexed by ``task``, in the task
        order of the first label's fit (crowd-kit's: order of first appearance for MajorityVote or
        DawidSkene, sorted for Wawa or GLAD); with no label at all, crowd-kit's empty float Series.
        polars (the default for a path or a dict): a polars frame ``task, label`` (a list column),
        sorted by task; Arrow: the same as an Arrow table.
    aggregators_ : dict label -> the fitted copy of the base model for that label (its results in
        the same frame type).
    """

    def __init__(self, base_aggregator: Any = None):
        if base_aggregator is None:  # crowd-kit's default, a fresh one per model
            from .majority_vote import MajorityVote

            base_aggregator = MajorityVote()
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
            label_col: str = "label", on_invalid: str = "raise", duplicates: str | None = None,
            output: str | None = None) -> "BinaryRelevance":
        """Fit one copy of the base model per label. ``data``: a pandas or polars frame, an Arrow
        table, a path or a dict of columns, with ``task``, ``worker`` and ``label`` (other names via
        ``task_col=`` etc.), the label a list of labels per row (an empty list or a missing value
        such as None, NaN or ``pd.NA``: no label applies; a missing value inside a list is no
        label; tags of one type: ``1`` beside ``"1"`` or ``True`` is refused; text tags as written,
        with a warning, as for categorical labels, where one has spaces at its ends or one text
        comes in two Unicode forms). ``on_invalid``: ``"raise"``
        (default) for a row without a task or a worker, or ``"drop"`` to leave such rows out.
        ``duplicates``: rows that repeat a (task, worker) pair, whatever their label lists, as the
        categorical models' ``fit`` takes it, applied once to the rows before they are split per
        label: kept as judgments of their own in every label's fit, with one warning (None, the
        default) or without (``"keep"``, crowd-kit's way), one row of each pair kept (``"first"`` /
        ``"last"`` in row order), or refused (``"raise"``). ``output``: ``"pandas"``, ``"polars"`` or
        ``"arrow"``, the layout of ``labels_`` (and of the per-tag fits), as for that input; default:
        the input's."""
        for name in ("labels_", "aggregators_"):  # a fit that fails leaves no earlier fit's results
            self.__dict__.pop(name, None)
        check_on_invalid(on_invalid)
        check_output(output)
        if duplicates not in (None, "keep", "first", "last", "raise"):
            raise ValueError(f"duplicates must be one of 'keep', 'first', 'last', 'raise', not {duplicates!r}")
        base = self.base_aggregator
        if base is None:  # set to None after construction: the default still
            from .majority_vote import MajorityVote

            base = MajorityVote()
        refuse_class(base, "base_aggregator", "a categorical model object")
        kind = getattr(base, "kind", "categorical")
        if not hasattr(base, "fit") or kind != "categorical":
            what = f"a {kind} model" if hasattr(base, "fit") else "not a model"
            raise TypeError(f"base_aggregator must be a categorical model (task, worker, label), such as "
                            f"MajorityVote() or DawidSkene(); {type(base).__name__} is {what}")
        cols = (task_col, worker_col, label_col)
        hint = ("BinaryRelevance reads task, worker and label (a list of labels per row); name other columns "
                "with task_col=, worker_col=, label_col=")
        from ..io import frame_kind, to_arrow

        kind = frame_kind(data)
        frame = kind == "pandas" and hasattr(data, "columns")
        out = output or ("pandas" if frame else "arrow" if kind == "arrow" else "polars")
        if out == "pandas":  # crowd-kit's layout, from any input read as a pandas frame
            return self._fit_pandas(data if frame else to_arrow(data).to_pandas(), base, cols, hint, on_invalid,
                                    duplicates)
        return self._fit_arrow(data, base, cols, hint, on_invalid, out, duplicates)

    def _fit_pandas(self, data: Any, base: Any, cols: tuple[str, str, str], hint: str,
                    on_invalid: str, duplicates: str | None) -> "BinaryRelevance":
        """pandas in, pandas out in crowd-kit's layout."""
        import pandas as pd
        import pyarrow as pa

        missing_columns(data, cols, hint)
        task_col, worker_col, label_col = cols
        index = row_index(data)
        nulls = {c: np.asarray(data[c].isna(), dtype=bool) for c in (task_col, worker_col)}
        bad = nulls[task_col] | nulls[worker_col]
        if bad.any() and on_invalid == "raise":  # the one null check, on a table of the null marks
            raise_nulls(pa.table({c: pa.array(np.zeros(bad.size), mask=m) for c, m in nulls.items()}),
                        list(nulls), index)
        rows = np.flatnonzero(~bad)
        tasks, workers = data[task_col].to_numpy()[rows], data[worker_col].to_numpy()[rows]
        (t, t_names), (w, w_names) = pd.factorize(tasks), pd.factorize(workers)
        keep = one_row_per_pair(t, w, np.asarray(t_names), np.asarray(w_names), duplicates, rows, index,
                                _repeats_effect(base))
        if keep is not None:  # one row of each (task, worker) pair, for every label alike
            rows, tasks, workers = rows[keep], tasks[keep], workers[keep]
        sets = label_sets(data[label_col].to_numpy()[rows].tolist(), label_col, rows, index)
        _warn_spellings(sets, label_col)
        _check_copies(base, sets, pd.unique(tasks).size, pd.unique(workers).size)
        chosen: dict[Any, list[Any]] | None = None
        self.aggregators_: dict[Any, Any] = {}
        ids = pd.DataFrame({"task": tasks, "worker": workers})  # once: pandas typed the ids again for every tag
        with _TagWarnings() as caught:
            for label, answer in _answers(sets):
                frame = ids.assign(label=answer)
                model, result = _fit_one(base, label, frame, caught)
                self.aggregators_[label] = model
                if result is None:
                    continue
                if chosen is None:  # crowd-kit's order: that of the first label's results
                    chosen = {t: [] for t in result.index.tolist()}
                for task, value in zip(result.index.tolist(), result.tolist()):
                    if value:
                        chosen.setdefault(task, []).append(label)
        if chosen is None:
            self.labels_ = pd.Series(dtype=float, name="agg_label")  # crowd-kit's result without labels
        else:
            from ._results import object_series

            self.labels_ = object_series(list(chosen.values()), list(chosen), "task", "agg_label")
        return self

    def _fit_arrow(self, data: Any, base: Any, cols: tuple[str, str, str], hint: str, on_invalid: str,
                   out: str, duplicates: str | None) -> "BinaryRelevance":
        """polars, Arrow, a path or a dict in: results as polars or Arrow tables sorted by task."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from ..data._encode import encode_column
        from ..io import to_arrow

        task_col, worker_col, label_col = cols
        try:
            table = to_arrow(data)
        except ValueError:  # Arrow holds no list of mixed types: "holds list values" said nothing of why
            _refuse_tag_lists(data, label_col)
            raise
        missing_columns(table, cols, hint)
        if on_invalid == "drop":
            rows = np.flatnonzero(~(null_mask(table.column(task_col)) | null_mask(table.column(worker_col))))
        else:
            raise_nulls(table, [task_col, worker_col])
            rows = np.arange(table.num_rows)
        if rows.size < table.num_rows:
            table = table.take(pa.array(rows))
        (t, t_names), (w, w_names) = (encode_column(table.column(c)) for c in (task_col, worker_col))
        keep = one_row_per_pair(t, w, t_names, w_names, duplicates, rows, effect=_repeats_effect(base))
        if keep is not None:  # one row of each (task, worker) pair, for every label alike
            table, rows = table.take(pa.array(keep)), rows[keep]
        labels_type = table.column(label_col).type
        sets = label_sets(table.column(label_col).to_pylist(), label_col, rows)
        _warn_spellings(sets, label_col)
        tasks, workers = table.column(task_col), table.column(worker_col)
        _check_copies(base, sets, t_names.size, w_names.size)  # Arrow counts no distinct string_view ids
        task_ids: Any = None
        chosen: list[list[Any]] = []
        self.aggregators_: dict[Any, Any] = {}
        with _TagWarnings() as caught:
            for label, answer in _answers(sets):
                binary = pa.table({"task": tasks, "worker": workers, "label": pa.array(answer)})
                model, result = _fit_one(base, label, binary if out == "arrow" else _polars(binary), caught)
                self.aggregators_[label] = model
                if result is None:
                    continue
                ids, values = _task_answers(result)
                if task_ids is None:  # every fit has every task, sorted by id: the first one's ids
                    task_ids, chosen = result["task"], [[] for _ in ids]
                    position = {t: i for i, t in enumerate(ids)}
                for task, value in zip(ids, values):
                    if value:
                        chosen[position[task]].append(label)
        if task_ids is None:  # no label at all: every task, with no label
            task_ids = pc.unique(tasks.combine_chunks() if isinstance(tasks, pa.ChunkedArray) else tasks)
            task_ids = task_ids.take(pc.array_sort_indices(task_ids))
            chosen = [[] for _ in range(len(task_ids))]
        value_type = labels_type.value_type if hasattr(labels_type, "value_type") else None
        result = pa.table({"task": _arrow(task_ids), "label": pa.array(
            chosen, type=None if value_type is None or pa.types.is_null(value_type) else pa.list_(value_type))})
        self.labels_ = result if out == "arrow" else _polars(result)
        return self

    def fit_predict(self, data: Any, **options: Any) -> Any:
        """Fit and return ``labels_`` (``options``: ``task_col=`` etc., ``on_invalid=`` and
        ``duplicates=``, as in :meth:`fit`)."""
        return self.fit(data, **options).labels_


def _refuse_tag_lists(data: Any, column: str) -> None:
    """The tag errors of :func:`label_sets` for a pandas frame's or a dict's tag lists (tags of two
    types, which no Arrow list holds), where Arrow refused the data; returns when they pass."""
    values = data.get(column) if isinstance(data, dict) else \
        data[column] if hasattr(data, "columns") and column in data.columns else None
    if values is not None and not isinstance(values, (str, bytes)):
        label_sets(list(values), column, index=row_index(data))


def _answers(sets: list[tuple[Any, ...]]) -> Iterator[tuple[Any, np.ndarray]]:
    """(label, the 0 / 1 answer of every row) for each label, labels in sorted order."""
    rows_of: dict[Any, list[int]] = {}  # label -> the rows whose set holds it (one pass)
    for i, labels_of_row in enumerate(sets):
        for x in labels_of_row:
            rows_of.setdefault(x, []).append(i)
    for label in sorted(rows_of, key=_sort_key):
        answer = np.zeros(len(sets), dtype=np.int64)
        answer[np.asarray(rows_of[label], dtype=np.int64)] = 1  # a label twice in a set: once
        yield label, answer


def _warn_spellings(sets: list[tuple[Any, ...]], column: str) -> None:
    """The categorical labels' warnings on the distinct tags: spaces at the ends (``"cat "`` beside
    ``"cat"``) and one text in two Unicode forms (NFC and NFD ``café``, two ``p_café`` columns that
    print alike) make tags of their own, split without a word."""
    from ..data.judgments import warn_spaced_labels

    tags = {x for labels_of_row in sets for x in labels_of_row if isinstance(x, str)}
    if tags:
        warn_spaced_labels(np.array(sorted(tags), dtype=object), column, unit="tag")


def _check_copies(base: Any, sets: list[tuple[Any, ...]], n_tasks: int, n_workers: int) -> None:
    """Refuse, before the first fit, tags whose fitted copies (kept in ``aggregators_``, each with
    its own judgments for the worker report) would pass the memory limit together: the guard saw
    one tag's fit (200k judgments x 150 tags under a 60 MB limit grew to 1,184 MB). Each copy is
    counted at its fit's estimate, which bounds what it keeps."""
    limit, source = current_limit()
    if limit is None or not hasattr(base, "memory_estimate"):
        return
    n_tags = len({x for labels_of_row in sets for x in labels_of_row})
    one, what = base.memory_estimate(n_tasks, n_workers, 2, len(sets))
    if n_tags * one <= limit:
        return
    name = getattr(type(base), "registry_name", type(base).__name__)
    raise MemoryLimitError(
        f"BinaryRelevance would keep {n_tags:,} fitted copies of model '{name}' (one per tag, each with its "
        f"judgments), about {format_size(n_tags * one)} for {n_tags:,} x ({what}), over the limit of "
        f"{format_size(limit)} ({source}); fit the tags in groups (fewer tags per run) or raise the limit "
        f"with --max-memory / {ENV_VAR} / galton.aggregator.memory_limit(...)")


def _repeats_effect(base: Any) -> str | None:
    """What repeated (task, worker) rows do to the model inside, in the warning's words (None: KOS,
    which takes them as one edge, is not misled and gives no warning)."""
    return getattr(base, "_repeats_effect", RISE)


def _fit_one(base: Any, label: Any, binary: Any, caught: "_TagWarnings") -> tuple[Any, Any]:
    """(a fresh copy of ``base`` fitted on one label's binary answers, its labels) (repeated (task,
    worker) rows: :meth:`BinaryRelevance.fit` warned of them once, not once per label). By
    ``fit_predict``, as crowd-kit: crowd-kit's Wawa sets ``labels_`` there only, and a model of
    one's own may implement that alone. A galton model's ConvergenceWarning message goes to
    ``caught`` (a fit option of this context: no process-wide ``catch_warnings``, which would take
    other threads' warnings too); other warnings pass as they come."""
    model = _clone(base)
    caught.n_tags += 1
    with fit_options_set(not_converged=lambda message: caught.stalled.setdefault(label, message)), \
            quiet(REPEATS_KEY):
        result = model.fit_predict(binary)
    return model, result


class _TagWarnings:
    """The tags' fits' ConvergenceWarnings, given as one warning when the fits end (one line per
    tag was 200 lines for 200 tags): the tags that did not converge and the first one's message."""

    def __init__(self) -> None:
        self.stalled: dict[Any, str] = {}
        self.n_tags = 0

    def __enter__(self) -> "_TagWarnings":
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.stalled:
            return
        (first, message), n = next(iter(self.stalled.items())), len(self.stalled)
        if n == 1:
            text = f"tag {first!r}: {message}"
        else:
            tags = ", ".join(map(repr, list(self.stalled)[:5])) + (", ..." if n > 5 else "")
            text = f"{n:,} of {self.n_tags:,} tags' fits did not converge ({tags}); the first, tag {first!r}: {message}"
        warn(text, ConvergenceWarning, stacklevel=caller_stacklevel())


def _task_answers(labels: Any) -> tuple[list[Any], list[Any]]:
    """(task ids, answers) of a fitted model's ``labels_``: a pandas Series, or a polars / Arrow
    table with ``task`` and ``label``."""
    if hasattr(labels, "index") and hasattr(labels, "tolist"):
        return labels.index.tolist(), labels.tolist()
    if hasattr(labels, "column_names"):  # Arrow
        return labels.column("task").to_pylist(), labels.column("label").to_pylist()
    return labels["task"].to_list(), labels["label"].to_list()


def _arrow(column: Any) -> Any:
    """A polars Series or an Arrow column as Arrow."""
    return column.to_arrow() if hasattr(column, "to_arrow") else column


def _polars(table: Any) -> Any:
    import polars as pl

    return pl.from_arrow(table)


def _sort_key(label: Any) -> tuple[str, Any]:
    """Labels of one type sort by value; mixed types by type name first (no TypeError)."""
    return (type(label).__name__, label)
