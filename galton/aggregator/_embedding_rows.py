"""The rows of the embedding models (:mod:`galton.aggregator.embeddings`): the input frame sorted by
task, its embeddings stacked and checked, and the Series of vectors by task the models take
(``true_embeddings``, ``aggregated_embeddings``) matched to its tasks."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._gold import gold_task_ids
from .._warnings import caller_stacklevel
from ..data._validate import example_ids, example_rows, pandas_columns, row_index

__all__ = ["EmbeddingRows"]


class EmbeddingRows:
    """The rows sorted by task (stable): task ids, codes and starts, worker codes, embeddings."""

    def __init__(self, data: Any, need_output: bool):
        cols = ["task", "worker", "embedding"] + (["output"] if need_output else [])
        pandas_columns(data, cols, "embedding models",
                       "Embedding models need task, worker, embedding (a 1-D array per row) and output")
        import pandas as pd

        self.data = data
        codes, self.tasks = pd.factorize(data["task"], sort=True)
        self.order = np.argsort(codes, kind="stable")
        self.task = codes[self.order]
        workers = data["worker"].to_numpy()[self.order]
        try:  # workers sorted, as crowd-kit's skills_ come (its Series division aligns on the sorted union)
            self.worker, self.workers = pd.factorize(workers, sort=True)
        except TypeError:  # ids of mixed types have no order: first appearance
            self.worker, self.workers = pd.factorize(workers)
        vectors = [np.asarray(v, dtype=float) for v in data["embedding"].to_numpy()[self.order]]
        lengths = {v.shape for v in vectors}
        if len(lengths) > 1 or (vectors and vectors[0].ndim != 1):
            raise ValueError(f"column 'embedding' must hold 1-D arrays of one length; got shapes {sorted(lengths)[:5]}")
        self.emb = np.stack(vectors) if vectors else np.zeros((0, 0))
        bad = np.flatnonzero(~np.isfinite(self.emb).all(axis=1)) if self.emb.size else np.zeros(0, dtype=np.int64)
        if bad.size:  # one NaN made every skill and every aggregated embedding NaN, without a word
            rows = np.sort(self.order[bad])
            raise ValueError(f"column 'embedding' has {bad.size} embedding(s) with a NaN or infinite value "
                             f"({example_rows(rows, row_index(data))}); drop or fix those rows")
        self.starts = np.flatnonzero(np.r_[True, self.task[1:] != self.task[:-1]]) if len(self.task) else \
            np.zeros(0, dtype=np.int64)

    def unsorted(self, values: np.ndarray) -> np.ndarray:
        """Values of the sorted rows back in the input's row order."""
        out = np.empty_like(values)
        out[self.order] = values
        return out

    def task_sums(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.starts, axis=0) if len(self.task) else values[:0]

    def by_task(self, series: Any, dim: int, what: str = "true_embeddings") -> tuple[np.ndarray, np.ndarray]:
        """(task codes, rows of vectors) of a Series of vectors by task (``what``, its name in errors),
        for the tasks of the data; a missing entry (NaN, None) is skipped, as crowd-kit's Series.update
        skips it, and a vector of another length or with a NaN or infinite value is refused. Task ids
        match as categorical gold's (:func:`galton._gold.gold_task_ids`: ``"1"`` is task 1), and
        true embeddings that match no task are ignored with a warning, as such gold is."""
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
        if given.any() and not keep.any() and what == "true_embeddings":  # as categorical gold
            warnings.warn(f"{what} shares no task with the judgments; it is ignored (its task ids must match the "
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
                             f"({example_ids(wrong)}); give each task a 1-D array as long as those in column "
                             "'embedding'")
        vectors = np.stack(rows) if rows else np.zeros((0, dim))
        bad = ~np.isfinite(vectors).all(axis=1)
        if bad.any():  # one NaN made every skill NaN, without a word
            raise ValueError(f"{what} has {int(bad.sum())} embedding(s) with a NaN or infinite value "
                             f"({example_ids(ids[bad])}); drop those tasks or fix their embeddings")
        return pos[keep], vectors


def _isna(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
