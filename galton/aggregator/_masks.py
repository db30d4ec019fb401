"""The masks of the segmentation models (:mod:`galton.aggregator.segmentation`): each task's
judgments read once as 2-D boolean masks, every row checked before any error is raised, so that one
error names every bad row (it stopped at the first task, naming neither the row nor the values)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data._validate import examples, fmt_value, one_row, pandas_columns, row_index

__all__ = ["Image", "read_images"]


class Image:
    """One task's judgments: its id, workers, 2-D boolean masks (the input's arrays, not copied) and
    their shape; ``masks`` stacks them as rows of pixels when asked."""

    def __init__(self, task: Any, workers: np.ndarray, arrays: list[np.ndarray], shape: tuple[int, ...]):
        self.task, self.workers, self.arrays, self.shape = task, workers, arrays, shape
        self.size = (len(arrays), int(np.prod(shape)))  # (masks, pixels)

    @property
    def masks(self) -> np.ndarray:
        return np.stack(self.arrays).reshape(self.size)


def _mask(value: Any, task: Any, worker: Any) -> np.ndarray:
    """One judgment's mask as an array: an array stays as given (not copied); a list of rows, as
    Parquet stores a 2-D mask and pandas reads it back (a 1-D object array of row arrays), is
    stacked into its 2-D mask (``np.asarray`` left it 1-D: "got shapes [(3,)]"); rows of different
    lengths are refused naming the task and the worker."""
    try:
        return _stacked(value)
    except _Ragged as err:
        raise ValueError(f"task {fmt_value(task)}: the segmentation of worker {fmt_value(worker)} has rows of "
                         f"different {err}; each must be a 2-D mask, every row as long as the image is wide") from None


class _Ragged(Exception):
    """Rows of different lengths in one mask (the message: which lengths)."""


def _stacked(value: Any) -> np.ndarray:
    """``value`` as an array, rows held as arrays or lists (any depth) stacked; :class:`_Ragged`
    when they differ in shape."""
    try:
        a = np.asarray(value)
    except ValueError:  # a list of lists of different lengths (numpy's "inhomogeneous shape")
        a = np.empty(len(value), dtype=object)
        for i, row in enumerate(value):
            a[i] = row
    if a.dtype != object or a.ndim != 1 or not a.size or \
            not all(isinstance(r, (np.ndarray, list, tuple)) for r in a.tolist()):
        return a
    rows = [_stacked(r) for r in a.tolist()]
    shapes = sorted({r.shape for r in rows})
    if len(shapes) > 1:
        raise _Ragged(f"lengths ({', '.join(str(s[0]) for s in shapes[:5])})" if all(len(s) == 1 for s in shapes)
                      else f"shapes {shapes[:5]}")
    return np.stack(rows)


def _values(mask: np.ndarray) -> str:
    """The distinct values of a mask, as an error shows them: ``{0, 255}`` (a few, then ``...``)."""
    found = np.unique(mask) if mask.dtype != object else np.array(sorted(set(mask.ravel().tolist()), key=repr))
    return "{" + examples(found) + "}"


def read_images(data: Any) -> list[Image]:
    """Every task's masks, in sorted task order, validated once: each row a 2-D mask, one shape per
    task, values 0 / 1 (or bools). Every row is read before an error is raised, so that it counts
    and names the bad rows of all tasks (row, task, worker and what the row holds)."""
    pandas_columns(data, ["task", "worker", "segmentation"], "segmentation models",
                   "Segmentation models need task, worker and segmentation (a 2-D mask per row)")
    tasks = data["task"].to_numpy()
    if not len(tasks):
        return []
    try:
        order = np.argsort(tasks, kind="stable")
    except TypeError:  # ids of mixed types ("t", 1) do not sort: first-appearance order, as pandas groups
        import pandas as pd

        order = np.argsort(pd.factorize(tasks)[0], kind="stable")
    ordered = tasks[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(tasks)]
    masks, workers = data["segmentation"].to_numpy(), data["worker"].to_numpy()
    arrays = [np.empty(0)] * len(tasks)
    for r in order.tolist():
        arrays[r] = _mask(masks[r], tasks[r], workers[r])
    index = row_index(data)

    def where(r: int) -> str:
        return f"{one_row(r, index)} (task {fmt_value(tasks[r])}, worker {fmt_value(workers[r])})"

    flat = [r for r in range(len(tasks)) if arrays[r].ndim != 2]
    if flat:  # text, a number, a 1-D or 3-D array: "got shapes [(), (2, 3)]" named no row
        said = examples(flat, sep="; ", fmt=lambda r: f"{where(r)}: {_held(masks[r], arrays[r])}")
        raise ValueError(f"column 'segmentation': {len(flat)} of {len(tasks)} row(s) hold no 2-D mask "
                         f"({said}); give every row a "
                         "2-D array of bools or 0 / 1, one shape per task")
    mixed = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        shapes = {arrays[r].shape for r in order[a:b].tolist()}
        if len(shapes) > 1:
            mixed.append(", ".join(f"{where(r)}: {arrays[r].shape}" for r in sorted(order[a:b].tolist())[:3]))
    if mixed:
        raise ValueError(f"{len(mixed)} task(s) have masks of different shapes ({examples(mixed, 3, '; ', str)}"
                         "); the segmentations of a task must be 2-D masks of "
                         "one shape (its image's)")
    odd = [r for r in range(len(tasks)) if arrays[r].dtype != bool and not np.isin(arrays[r], (0, 1)).all()]
    if odd:
        said = examples(odd, sep="; ", fmt=lambda r: f"{where(r)}: values {_values(arrays[r])}")
        raise ValueError(f"column 'segmentation': {len(odd)} of {len(tasks)} row(s) hold values other than 0 / 1 "
                         f"(True / False) ({said}); a mask "
                         "marks each pixel in or out: for 0 / 255 images pass mask > 0 "
                         "(df['segmentation'] = df['segmentation'].map(lambda m: m > 0))")
    out = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        rows = order[a:b]
        # bool masks are kept as given: no copy of the input
        kept = [m if m.dtype == bool else m.astype(bool) for m in (arrays[r] for r in rows.tolist())]
        out.append(Image(ordered[a], workers[rows], kept, kept[0].shape))
    return out


def _held(value: Any, array: np.ndarray) -> str:
    """What a row holds instead of a 2-D mask: its text, its number, or its array's shape."""
    if array.ndim == 0:
        return f"{type(value).__name__} {fmt_value(value)}"
    return f"an array of shape {array.shape}"
