"""The rows of the embedding models (:mod:`galton.aggregator.embeddings`): the input frame sorted by
task, its embeddings stacked and checked, and the vectors by task the models take
(``true_embeddings``, ``aggregated_embeddings``: a Series, a dict or a ``task, embedding`` frame)
matched to its tasks."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._gold import gold_task_ids
from .._warnings import caller_stacklevel, warn
from ..data._validate import MAX_EXAMPLES, ColumnError, example_ids, fmt_value, one_row, pandas_columns, row_index

__all__ = ["EmbeddingRows", "by_task_series"]


def by_task_series(given: Any, what: str = "true_embeddings", column: str = "embedding",
                   kind: str = "vector") -> Any:
    """Known values by task (``what``: the argument, in errors; ``column``: the values' column of a
    frame; ``kind``: what a value is) as a pandas Series indexed by task: a Series as it is, a dict
    task -> value, or a pandas frame with columns ``task`` (or its index named ``task``) and
    ``column``, as gold is given; None stays None. A frame was read as a Series of its columns and
    ignored with a warning that it shared no task, a dict raised AttributeError; any other shape is
    a TypeError naming those accepted."""
    import pandas as pd

    if given is None or isinstance(given, pd.Series):
        return given
    if isinstance(given, dict):
        return pd.Series(list(given.values()), index=pd.Index(list(given), tupleize_cols=False), dtype=object)
    if isinstance(given, pd.DataFrame):
        if column in given.columns and ("task" in given.columns or given.index.name == "task"):
            tasks = given["task"].to_numpy() if "task" in given.columns else given.index.to_numpy()
            return pd.Series(given[column].to_numpy(), index=pd.Index(tasks, tupleize_cols=False), dtype=object)
        raise ColumnError(f"{what} as a frame needs columns 'task' and {column!r}; it has "
                          f"{[str(c) for c in given.columns]}: one row per task with its {kind}")
    module = type(given).__module__.split(".")[0]  # a polars DataFrame is no pandas one
    raise TypeError(f"{what} must be a pandas Series of {kind}s indexed by task, a dict task -> {kind} or a pandas "
                    f"frame with columns task and {column}; got "
                    f"{'' if module == 'builtins' else module + '.'}{type(given).__name__}")


class EmbeddingRows:
    """The rows sorted by task (stable): task ids, codes and starts, worker codes, embeddings.
    ``source`` names the embeddings in errors (TextRASA's: its encoder's vectors, the data having no
    column 'embedding'), ``outputs`` what column ``output`` holds (TextRASA's: the texts),
    ``true_name`` the argument of the known values (TextRASA's: ``true_objects``)."""

    def __init__(self, data: Any, need_output: bool, source: str = "column 'embedding'", outputs: str = "output",
                 true_name: str = "true_embeddings"):
        cols = ["task", "worker", "embedding"] + (["output"] if need_output else [])
        pandas_columns(data, cols, "embedding models",
                       "Embedding models need task, worker, embedding (a 1-D array per row) and output")
        import pandas as pd

        self.data, self.source, self.outputs, self.true_name = data, source, outputs, true_name
        codes, self.tasks = pd.factorize(data["task"], sort=True)
        self.order = np.argsort(codes, kind="stable")
        self.task = codes[self.order]
        workers = data["worker"].to_numpy()[self.order]
        try:  # workers sorted, as crowd-kit's skills_ come (its Series division aligns on the sorted union)
            self.worker, self.workers = pd.factorize(workers, sort=True)
        except TypeError:  # ids of mixed types have no order: first appearance
            self.worker, self.workers = pd.factorize(workers)
        raw = data["embedding"].to_numpy()[self.order]
        vectors: list[np.ndarray] = []
        odd: list[int] = []
        for i, v in enumerate(raw):
            try:
                vectors.append(np.asarray(v, dtype=float))
            except (TypeError, ValueError):  # text, a dict: numpy's "could not convert string to float: 'abc'"
                odd.append(i)
        if odd:
            self._number_error(raw, odd)
        shapes = [v.shape for v in vectors]
        if len(set(shapes)) > 1 or (vectors and vectors[0].ndim != 1):
            self._shape_error(shapes)
        self.emb = np.stack(vectors) if vectors else np.zeros((0, 0))
        bad = np.flatnonzero(~np.isfinite(self.emb).all(axis=1)) if self.emb.size else np.zeros(0, dtype=np.int64)
        if bad.size:  # one NaN made every skill and every aggregated embedding NaN, without a word
            raise ValueError(f"{source}: {bad.size} embedding(s) with a NaN or infinite value "
                             f"({self._examples(np.sort(self.order[bad]))}); drop or fix those rows")
        self.starts = np.flatnonzero(np.r_[True, self.task[1:] != self.task[:-1]]) if len(self.task) else \
            np.zeros(0, dtype=np.int64)

    def _examples(self, rows: np.ndarray, about: dict[int, str] | None = None) -> str:
        """A few input ``rows`` (positions, named by the frame's own index), each with what ``about``
        says of it (its shape, its value's type) when given and its output (TextRASA's: its text)
        when the data has them."""
        index = row_index(self.data)
        outputs = self.data["output"].to_numpy() if "output" in self.data.columns else None
        parts = []
        for r in rows[:MAX_EXAMPLES].tolist():
            said = ([about[r]] if about is not None else []) + \
                ([f"{self.outputs} {fmt_value(outputs[r])}"] if outputs is not None else [])
            parts.append(one_row(r, index) + (": " + ", ".join(said) if said else ""))
        return "; ".join(parts) + ("; ..." if rows.size > MAX_EXAMPLES else "")

    def _shape_error(self, shapes: list[tuple[int, ...]]) -> None:
        """Raise for embeddings that are not 1-D arrays of one length (``shapes``: of the sorted rows),
        naming the rows that differ from the most common length (it named shapes, no row)."""
        from collections import Counter

        counts = Counter(s for s in shapes if len(s) == 1)
        common = counts.most_common(1)[0][0] if counts else None
        odd = [i for i, s in enumerate(shapes) if s != common]
        rows = np.sort(self.order[odd])
        by_row = {int(self.order[i]): f"shape {shapes[i]}" for i in odd}
        which = (f"{len(odd)} of {len(shapes)} row(s) differ from the most common length {common[0]}" if common
                 else f"none of the {len(shapes)} row(s) holds a 1-D array")
        raise ValueError(f"{self.source}: expected 1-D arrays of one length; {which} ({self._examples(rows, by_row)}); "
                         "give every row a vector of the same length")

    def _number_error(self, raw: np.ndarray, odd: list[int]) -> None:
        """Raise for embeddings that are no numbers (``odd``: positions in the sorted rows ``raw``),
        naming a few rows with their values' types (and the text itself)."""
        def kind(v: Any) -> str:
            if isinstance(v, str):
                return f"str {fmt_value(v)}"
            return f"ndarray of {v.dtype}" if isinstance(v, np.ndarray) else type(v).__name__

        rows = np.sort(self.order[odd])
        by_row = {int(self.order[i]): kind(raw[i]) for i in odd}
        raise ValueError(f"{self.source}: {len(odd)} of {len(raw)} row(s) hold values that are not numbers "
                         f"({self._examples(rows, by_row)}); embeddings must be numeric vectors (1-D arrays of "
                         "numbers, one length): encode those values as numbers")

    def unsorted(self, values: np.ndarray) -> np.ndarray:
        """Values of the sorted rows back in the input's row order."""
        out = np.empty_like(values)
        out[self.order] = values
        return out

    def task_sums(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.starts, axis=0) if len(self.task) else values[:0]

    def by_task(self, series: Any, dim: int, what: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(task codes, rows of vectors) of vectors by task (a Series, a dict or a frame:
        :func:`by_task_series`; ``what``, its name in errors, by default ``true_name``), for the
        tasks of the data; a missing entry (NaN, None) is skipped, as crowd-kit's Series.update
        skips it, and a vector of another length or with a NaN or infinite value is refused. Task ids
        match as categorical gold's (:func:`galton._gold.gold_task_ids`: ``"1"`` is task 1), and
        true embeddings that match no task are ignored with a warning, as such gold is."""
        what = what or self.true_name
        series = by_task_series(series, what)
        if series is None or len(series) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, dim))
        if not series.index.is_unique:
            raise ValueError(f"Incorrect data in {what}: multiple {what.split('_')[0]} embeddings for a single task "
                             "are not supported.")
        values = series.to_numpy()
        given = np.array([not (v is None or (np.ndim(v) == 0 and _isna(v))) for v in values], dtype=bool)
        try:  # ids matched as categorical gold's: "1" is task 1 (it was dropped without a word)
            pos = self.tasks.get_indexer(gold_task_ids(series.index.to_numpy(), np.asarray(self.tasks)))
        except ValueError as err:
            raise ValueError(f"{what}: {err}") from None
        keep = (pos >= 0) & given
        if given.any() and not keep.any() and what == self.true_name:  # as categorical gold
            warn(f"{what} shares no task with the judgments; it is ignored (its task ids must match the "
                 "data's task column)", UserWarning, stacklevel=caller_stacklevel())
        ids, rows = series.index[keep], []
        for v in values[keep]:
            try:
                rows.append(np.asarray(v, dtype=float))
            except (TypeError, ValueError):  # text or another object: refused below as of the wrong shape
                rows.append(np.zeros(0))
        wrong = [t for t, v in zip(ids, rows) if v.shape != (dim,)]
        if wrong:
            raise ValueError(f"{what} has {len(wrong)} value(s) that are not 1-D arrays of the data's length {dim} "
                             f"({example_ids(wrong)}); give each task a 1-D array as long as those in {self.source}")
        vectors = np.stack(rows) if rows else np.zeros((0, dim))
        bad = ~np.isfinite(vectors).all(axis=1)
        if bad.any():  # one NaN made every skill NaN, without a word
            raise ValueError(f"{what} has {int(bad.sum())} embedding(s) with a NaN or infinite value "
                             f"({example_ids(ids[bad])}); drop those tasks or fix their embeddings")
        return pos[keep], vectors


def _isna(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
