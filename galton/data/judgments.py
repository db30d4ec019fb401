"""The data model: judgments encoded once, validated once, kept read-only.

A :class:`Judgments` holds three int32 code arrays (task, worker, label), one entry per judgment, plus
the vocabularies that map codes back to the user's own ids and label values. Vocabularies are sorted
(numbers numerically, strings lexicographically, ``False < True``), so the codes — and every result
computed from them — do not depend on the order of the input rows.

Inputs: pandas, polars, a pyarrow Table (or anything exporting the Arrow C stream interface), a dict
of arrays, or a path (CSV, Parquet file or directory, JSON lines). Every error names the column, the
number of bad rows, a few example rows and what to do about it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pyarrow as pa

from .._warnings import caller_stacklevel, quieted, warn
from ..io._frame_columns import arrow_names
from ..io._read import FrameKind, check_columns, frame_kind, to_arrow
from ._base import EncodedData
from ._repeats import one_row_per_pair
from ._spellings import warn_missing_markers, warn_spaced_labels
from ._encode import (encode_column, id_lookup, label_lookup, parse_number, plain_column, readonly, recode_labels,
                      retuple, untuple_frame)
from ._validate import (COLUMN_HINT, MAX_EXAMPLES, example_rows, examples, missing_columns, null_mask,
                        raise_nulls, row_index, file_rows, encoded_options)

__all__ = ["DROP_HINT", "Judgments", "MAX_RATING", "MIN_RATING", "label_codes", "label_lookup", "non_numeric_error",
           "number_labels", "parse_number", "unreadable_ratings", "unusable_error", "unusable_ratings",
           "warn_float_classes", "warn_spaced_labels"]

OnInvalid = Literal["raise", "drop"]
Duplicates = Literal["keep", "first", "last", "raise"]


@dataclass(frozen=True, eq=False)
class Judgments(EncodedData):
    """Judgments encoded as int32 codes plus the vocabularies that map them back.

    Attributes
    ----------
    task, worker, label : np.ndarray of int32, shape (n_judgments,)
        Codes into ``task_names``, ``worker_names`` and ``label_names``; read-only.
    task_names, worker_names, label_names : np.ndarray
        Sorted vocabularies holding the user's own ids and label values (ints stay ints, strings
        stay strings, booleans stay booleans).
    source_kind : {"pandas", "polars", "arrow", "dict"}
        The input's frame type; results are returned in it by default.
    n_dropped : int
        Rows removed by ``on_invalid="drop"`` or by a ``duplicates`` policy.
    """

    task: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    task_names: np.ndarray
    worker_names: np.ndarray
    label_names: np.ndarray
    source_kind: FrameKind = "dict"
    n_dropped: int = 0
    columns: tuple[str, str, str] = ("task", "worker", "label")
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_any(
        cls,
        data: Any,
        *,
        task_col: str = "task",
        worker_col: str = "worker",
        label_col: str = "label",
        on_invalid: OnInvalid = "raise",
        duplicates: Duplicates = "keep",
        labels: Sequence[Any] | None = None,
        numeric: bool = False,
    ) -> "Judgments":
        """Encode and validate judgments from any supported input.

        Parameters
        ----------
        data : pandas / polars DataFrame, pyarrow Table, Arrow stream object, dict or path
            One row per judgment.
        task_col, worker_col, label_col : str
            Column names (a pandas frame's names that are not text, as the 0, 1, 2 of
            ``pd.DataFrame(rows)``, are read as they are).
        on_invalid : {"raise", "drop"}
            What to do with rows that have a null in any of the three columns (``numeric``: also a
            rating that is no usable number, such as the text ``N/A`` or an infinite value).
        duplicates : {"keep", "first", "last", "raise"}
            Repeated (task, worker) pairs: keep all as separate votes (crowd-kit's behaviour, the
            default), keep the first or last in row order, or raise. A model's ``fit`` given data with
            repeated pairs and no ``duplicates=`` keeps them with a UserWarning (categorical and rating models)
            (:func:`galton.data._repeats.warn_repeated_pairs`); ``duplicates="keep"`` silences it.
        labels : sequence, optional
            The full label set, when some labels may never be observed (for example a class no
            worker chose). Observed labels must be in it, as the column holds them: text, numbers,
            booleans and bytes match only their own kind (text ``"1"`` and ``"01"`` are no label of
            ``labels=[0, 1]``, nor ``True``), numbers by value (``1`` is ``1.0``).
        numeric : bool
            The labels are numeric ratings: in a file, a text label column whose values all read as
            numbers becomes float64, and non-integer labels raise no warning. Otherwise (categorical labels)
            non-integer numbers are classes, with a ``UserWarning`` that names ``kind="rating"``.

        Notes
        -----
        Files are read by :func:`galton.io.read_input`: in CSV / TSV, task and worker ids come back
        as written (``007`` and ``7`` are two tasks; integers only when every value is a canonical
        integer). UUIDs (a pandas column of ``uuid.UUID``, an Arrow or Parquet ``arrow.uuid``
        column) are read as their text, ``str(uuid)``: results are keyed by it, and gold, skills and
        new data keyed by the UUIDs find them. An empty cell is a null (``on_invalid``); a text label
        that other programs write for a missing value (``NA`` from R's write.csv, ``NULL``, ``#N/A``,
        :data:`galton.data._spellings.MISSING_MARKERS`) is a label like any other, with a UserWarning.
        """
        if isinstance(data, Judgments):  # encoded already: reading options are refused, not ignored
            other = labels is not None and sorted(map(repr, labels)) != sorted(map(repr, data.label_names.tolist()))
            encoded_options("Judgments", (
                ("task_col", task_col, "task"), ("worker_col", worker_col, "worker"), ("label_col", label_col, "label"),
                ("on_invalid", on_invalid, "raise"), ("duplicates", duplicates, "keep")),
                ["labels=[...]"] if other else [])
            return data
        if on_invalid not in ("raise", "drop"):
            raise ValueError(f"on_invalid must be 'raise' or 'drop', not {on_invalid!r}")
        if duplicates not in ("keep", "first", "last", "raise"):
            raise ValueError(
                f"duplicates must be one of 'keep', 'first', 'last', 'raise', not {duplicates!r}"
            )
        kind = frame_kind(data)
        cols = (task_col, worker_col, label_col)
        if len(set(cols)) < 3:  # one column for two roles: a KeyError from deep inside pyarrow
            raise ValueError(f"task_col, worker_col and label_col must name three columns, not {list(cols)}")
        tuples: dict[str, np.ndarray] = {}
        index = row_index(data)  # a pandas frame's own index names the bad rows
        if kind == "pandas":  # tuple-valued task / worker ids travel as integer ranks
            data, tuples = untuple_frame(data, (task_col, worker_col))
        table = to_arrow(data, ids=(task_col, worker_col), columns=cols)
        index = file_rows(table) if index is None else index  # several files: by file and row
        named = cols  # as the caller names them (the fit's, for predict); read as the table names them
        cols = task_col, worker_col, label_col = arrow_names(table, cols)
        missing_columns(table, cols, COLUMN_HINT)
        table = check_columns(table.select(list(cols)), cols, label=label_col)
        if table.num_rows == 0 and isinstance(data, (str, os.PathLike)):
            # an empty in-memory frame (pandas as in crowd-kit, polars, Arrow: a pipeline's filter
            # that kept nothing) gives empty results; a file without judgments is a mistake
            raise ValueError("the input holds no judgments (0 rows)")
        if numeric and isinstance(data, (str, os.PathLike)):
            table = _numeric_labels(table, label_col)  # a file's text: "3" and "3.0" are one rating

        n_dropped, kept = 0, None
        nulls = np.zeros(table.num_rows, dtype=bool)
        with_nulls = []
        for c in cols:
            m = null_mask(table.column(c))
            nulls |= m
            if m.any():
                with_nulls.append(c)
        if numeric:  # ratings: an infinite one is an invalid row too ("drop" kept it)
            huge = unusable_ratings(table.column(label_col))
            if on_invalid == "drop":  # and text that reads as no usable number ('N/A'; "raise": the model names it)
                huge |= unreadable_ratings(table.column(label_col))
            if on_invalid == "raise" and huge.any():
                rows = np.flatnonzero(huge)
                raise unusable_error(label_col, rows, table.column(label_col).take(rows).to_numpy(), index)
            nulls |= huge
        if nulls.any():
            if on_invalid == "raise":
                raise_nulls(table, cols, index)
            keep = ~nulls
            kept = np.flatnonzero(keep)  # the input's row of each row left, for the errors below
            n_dropped += int(nulls.sum())
            table = table.filter(pa.array(keep))
            if table.num_rows == 0:
                raise ValueError("every row has a null value; nothing is left to aggregate")
            table = _restore_ints(table, kind, with_nulls)
            if numeric and isinstance(data, (str, os.PathLike)):
                table = _numeric_labels(table, label_col)  # the text left: numbers, as without those rows

        t_codes, t_names = encode_column(table.column(task_col))
        w_codes, w_names = encode_column(table.column(worker_col))
        l_codes, l_names = encode_column(table.column(label_col))
        t_names, w_names = retuple(t_names, tuples.get(named[0])), retuple(w_names, tuples.get(named[1]))
        if labels is not None:
            l_codes, l_names = recode_labels(l_codes, l_names, labels, label_col)
        if not numeric:
            warn_float_classes(l_names, label_col)
            warn_spaced_labels(l_names, label_col)
            warn_missing_markers(l_names, label_col, l_codes)

        sel = one_row_per_pair(t_codes, w_codes, t_names, w_names, duplicates, kept, index, effect=None)
        if sel is not None:  # "first" / "last" (None keeps every row; "raise" raised)
            n_dropped += t_codes.size - sel.size
            t_codes, w_codes, l_codes = t_codes[sel], w_codes[sel], l_codes[sel]
            # a pair's task and worker still occur; a label may not (a phantom p_<label> column)
            used = np.bincount(l_codes, minlength=len(l_names)) > 0
            if labels is None and not used.all():
                l_codes = (np.cumsum(used) - 1)[l_codes]
                l_names = l_names[used]

        return cls(
            task=readonly(np.ascontiguousarray(t_codes, dtype=np.int32)),
            worker=readonly(np.ascontiguousarray(w_codes, dtype=np.int32)),
            label=readonly(np.ascontiguousarray(l_codes, dtype=np.int32)),
            task_names=readonly(t_names),
            worker_names=readonly(w_names),
            label_names=readonly(l_names),
            source_kind=kind,
            n_dropped=n_dropped,
            columns=named,
        )

    @classmethod
    def from_codes(
        cls,
        task: np.ndarray,
        worker: np.ndarray,
        label: np.ndarray,
        *,
        n_tasks: int | None = None,
        n_workers: int | None = None,
        n_labels: int | None = None,
    ) -> "Judgments":
        """Wrap already-encoded int codes (for simulations); names are the codes themselves."""
        task = np.ascontiguousarray(task, dtype=np.int32)
        worker = np.ascontiguousarray(worker, dtype=np.int32)
        label = np.ascontiguousarray(label, dtype=np.int32)
        if not (task.shape == worker.shape == label.shape) or task.ndim != 1:
            raise ValueError("task, worker and label codes must be 1-d arrays of the same length")
        if task.size == 0:
            raise ValueError("the input holds no judgments (0 rows)")
        nt = int(task.max()) + 1 if n_tasks is None else n_tasks
        nw = int(worker.max()) + 1 if n_workers is None else n_workers
        nl = int(label.max()) + 1 if n_labels is None else n_labels
        for name, a, n in (("task", task, nt), ("worker", worker, nw), ("label", label, nl)):
            if a.min() < 0 or a.max() >= n:
                raise ValueError(f"{name} codes must lie in [0, {n})")
        return cls(
            task=readonly(task),
            worker=readonly(worker),
            label=readonly(label),
            task_names=readonly(np.arange(nt)),
            worker_names=readonly(np.arange(nw)),
            label_names=readonly(np.arange(nl)),
        )

    # ---------------------------------------------------------------- sizes
    @property
    def n_judgments(self) -> int:
        return int(self.task.size)

    @property
    def n_tasks(self) -> int:
        return int(self.task_names.size)

    @property
    def n_labels(self) -> int:
        return int(self.label_names.size)

    def __repr__(self) -> str:
        return (
            f"Judgments({self.n_judgments} judgments, {self.n_tasks} tasks, {self.n_workers} workers, "
            f"{self.n_labels} labels)"
        )

    # ---------------------------------------------------------------- helpers
    def label_index(self, values: Any, *, what: str = "gold", tasks: Any = None) -> np.ndarray:
        """Codes of label values; raises naming the values that are not in the label set (see
        :func:`label_codes`)."""
        return label_codes(self.label_names, values, what=what, tasks=tasks)

    def task_index(self, values: Any) -> np.ndarray:
        """Codes of task ids; -1 for ids that have no judgments (:func:`id_lookup`)."""
        return id_lookup(self.task_names, values)

    def worker_index(self, values: Any) -> np.ndarray:
        """Codes of worker ids; -1 for workers without judgments here (:func:`id_lookup`)."""
        return id_lookup(self.worker_names, values)

    def counts_per_task(self) -> np.ndarray:
        return np.bincount(self.task, minlength=self.n_tasks)


def label_codes(label_names: np.ndarray, values: Any, *, what: str = "gold", tasks: Any = None) -> np.ndarray:
    """:func:`label_lookup`, raising for the values outside the vocabulary: how many, a few of
    them and, with ``tasks``, the task of each (else its row)."""
    codes = label_lookup(label_names, values)
    bad = codes < 0
    if bad.any():
        rows = np.flatnonzero(bad)
        vals = sorted({repr(v) for v in np.asarray(values, dtype=object)[rows][:MAX_EXAMPLES]})
        if tasks is None:
            where = example_rows(rows)
        else:
            ids = np.asarray(tasks, dtype=object)[rows]
            where = "tasks " + ", ".join(repr(t) for t in ids[:MAX_EXAMPLES]) + (
                ", ..." if rows.size > MAX_EXAMPLES else "")
        raise ValueError(
            f"{what} has {rows.size} label(s) not in the judgments' label set "
            f"{list(label_names.tolist())} ({where}: {', '.join(vals)}); "
            "fix those labels or pass labels=[...] with the full label set"
        )
    return codes


#: larger ratings overflow float64 in sums of squares: the rating models refuse them
MAX_RATING = 1e150
#: nonzero ratings smaller in magnitude underflow in sums of squares (1e-156: NaN scores; 1e-200: a
#: standard error of 0): the rating models refuse them too, and the error says to rescale. Not 1e-150:
#: CATD's losses are floored at 1e-12 of the largest and divide its weight, which overflowed there
MIN_RATING = 1e-140
#: how the error for unusable ratings ends: the metrics, which take no on_invalid, strip it
DROP_HINT = " (on_invalid='drop' drops them)"


def unreadable_ratings(values: Any) -> np.ndarray:
    """True where a text (or bytes) rating reads as no number (:func:`parse_number`: ``N/A``,
    ``nan``, ``1_000``) or as one :func:`unusable_ratings` refuses (``inf``); False for nulls and for
    columns of other types."""
    col = plain_column(values)
    if not (pa.types.is_string(col.type) or pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type)):
        return np.zeros(len(col), dtype=bool)
    coded = col.dictionary_encode()  # each distinct text parsed once
    words = [parse_number(v, "f") for v in coded.dictionary.to_pylist()]
    bad = np.array([v is None for v in words], dtype=bool)
    bad[~bad] = unusable_ratings(np.array([v for v in words if v is not None], dtype=np.float64))
    idx = coded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return np.where(idx >= 0, bad[np.maximum(idx, 0)] if bad.size else False, False)


def number_labels(names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct labels ``names`` as float64 by :func:`parse_number`'s rule (text that reads as a
    number is that number; booleans are none), and the mask of those that are no number (NaN there)."""
    parsed = [None if names.dtype.kind == "b" else parse_number(v, "f") for v in names.tolist()]
    bad = np.array([p is None for p in parsed], dtype=bool)
    return np.array([np.nan if p is None else p for p in parsed], dtype=np.float64), bad


def non_numeric_error(need: str, column: str, names: np.ndarray, bad: np.ndarray, codes: np.ndarray,
                      fix: str) -> ValueError:
    """The error for labels that are no numbers (``bad``, of :func:`number_labels`) where ``need``
    ("rating models need") needs numbers: the column, how many rows (``codes``: each row's index into
    ``names``, -1 for none), the first labels that are no number, a few rows, and what to do (``fix``)."""
    codes = np.asarray(codes)
    rows = np.flatnonzero((codes >= 0) & bad[np.maximum(codes, 0)]) if bad.size else np.zeros(0, dtype=np.int64)
    what = "booleans" if names.dtype.kind == "b" else "non-numeric values"
    return ValueError(f"{need} numeric labels; column {column!r} holds {what} in {rows.size} row(s) "
                      f"({examples(names[bad], 3)}; {example_rows(rows)}). {fix}")


def _tiny(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (v != 0) & (np.abs(v) < MIN_RATING)


def unusable_ratings(values: Any) -> np.ndarray:
    """True where a numeric rating (an array, or an Arrow column) is infinite, beyond
    ±:data:`MAX_RATING` or nonzero below :data:`MIN_RATING` in magnitude; False for nulls, NaN and
    values that are no numbers."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if not (pa.types.is_floating(values.type) or pa.types.is_integer(values.type)):
            return np.zeros(len(values), dtype=bool)
        values = values.to_numpy(zero_copy_only=False)
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (~(np.abs(v) <= MAX_RATING) & ~np.isnan(v)) | _tiny(v)


def unusable_error(column: str, rows: np.ndarray, values: Any, index: np.ndarray | None = None) -> ValueError:
    """The error for ratings :func:`unusable_ratings` refuses: the column, how many, the first
    ``values`` (all of the refused ones: the wording follows what they are) and the ``rows`` (by
    the pandas frame's own ``index``, when it has one)."""
    v = np.asarray(values, dtype=np.float64)
    tiny = int(_tiny(v).sum())
    what, fix = f"infinite or beyond ±{MAX_RATING:g}", "drop or fix those rows"
    if tiny == v.size:
        what = f"nonzero but below {MIN_RATING:g} in magnitude (their squares underflow)"
        fix = "rescale the column (multiply it by a power of ten that brings it near 1) or drop or fix those rows"
    elif tiny:
        what = f"infinite, beyond ±{MAX_RATING:g} or nonzero but below {MIN_RATING:g} in magnitude"
        fix = "rescale the column into that range or drop or fix those rows"
    return ValueError(
        f"column {column!r} has {rows.size} rating(s) that are {what} "
        f"({', '.join(repr(float(x)) for x in v[:3])}; {example_rows(rows, index)}); {fix}{DROP_HINT}"
    )


def _numeric_labels(table: pa.Table, label_col: str) -> pa.Table:
    """A text label column whose values all read as numbers, as float64 (ratings)."""
    col = plain_column(table.column(label_col))
    if not pa.types.is_string(col.type):
        return table
    try:
        values = col.cast(pa.float64())
    except pa.ArrowException:
        return table
    return table.set_column(table.column_names.index(label_col), label_col, values)


def warn_float_classes(names: np.ndarray, label_col: str) -> None:
    """Warn when categorical labels are non-integer numbers (probably ratings)."""
    if names.dtype.kind != "f" or quieted("float_classes"):
        return
    finite = names[np.isfinite(names)]
    odd = finite[finite != np.round(finite)]
    if odd.size:
        shown = ", ".join(str(v) for v in odd[:3]) + (", ..." if odd.size > 3 else "")
        warn(
            f"column {label_col!r} holds non-integer numbers ({shown}): they are treated as classes; "
            "for numeric ratings use kind='rating' (CLI: --kind rating)",
            UserWarning, stacklevel=caller_stacklevel(),
        )


def _restore_ints(table: pa.Table, kind: str, with_nulls: Sequence[str]) -> pa.Table:
    """pandas stores an int column with missing values as float64; once those rows are dropped,
    give such a column (one that held a null) its integer type back when every value left is a
    whole number that a float holds exactly (below 2**53). Other float columns stay floats: float
    labels without a null are floats, and ids from 2**63 on wrapped to one int64 (tasks merged)."""
    if kind != "pandas":
        return table
    for name in with_nulls:
        i = table.column_names.index(name)
        col = table.column(i)
        if pa.types.is_floating(col.type):
            values = col.to_numpy()
            if np.all(values == np.round(values)) and np.all(np.abs(values) <= 2.0 ** 53):
                table = table.set_column(i, name, pa.array(values.astype(np.int64)))
    return table
