"""Judgments for the metrics: encoded once by :class:`galton.Judgments` (its validation and
messages), with one addition crowd-kit's metrics need: labels that are sets of tags.

crowd-kit's metrics take a pandas frame whose labels may be ``frozenset`` values (several tags per
judgment, compared by a distance such as MASI). galton's models cannot read such labels, so here a
pandas label column of sets, lists, tuples or 1-d numpy arrays (``pd.read_parquet``'s list cells)
is replaced by integer ranks first (lists, sets and arrays become ``frozenset``);
:attr:`Coded.label_names` holds the original values, and :attr:`Coded.frame` the frame with ranks,
which any categorical model can fit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._gold import SIMULATED_TRUTH, KnownLabels, read_gold
from .._warnings import quiet
from ..aggregator._registry import refuse_class
from ..aggregator._results import Output
from ..data._encode import column_values, label_lookup, object_array, plain_column, uuid_as_text
from ..data._validate import COLUMN_HINT, MAX_EXAMPLES, NULL_HINT, ColumnError, float_values
from ..data.judgments import DROP_HINT, Judgments
from ..io._once import readable_once
from ..io._parquet import order_conflict
from ..io._read import frame_kind, is_series, to_arrow

__all__ = ["Coded", "coded", "declared_order", "fit", "fit_labels", "is_multilabel", "majority_codes",
           "majority_skills", "ordered_ranks", "per_worker_values", "labels_by_task", "labels_and_names",
           "MissingSkillsError"]

_SETS = (frozenset, set, list, tuple)


def _is_tags(v: Any, kinds: tuple = _SETS) -> bool:
    """Whether a label is a set of tags: one of ``kinds``, or a 1-d numpy array (a list cell of a
    frame read by ``pd.read_parquet``, refused as "list values")."""
    return isinstance(v, kinds) or (isinstance(v, np.ndarray) and v.ndim == 1)


def _as_set(v: Any) -> Any:
    """A list, set or 1-d array of tags as a ``frozenset`` (an array's tags as Python values); other
    labels (a tuple, a frozenset, a single label) as given."""
    if isinstance(v, np.ndarray) and v.ndim == 1:
        return frozenset(v.tolist())
    return frozenset(v) if isinstance(v, (list, set)) else v


class MissingSkillsError(ValueError, AssertionError):
    """Skills are missing: given for some workers only, or the aggregator has no ``skills_`` that are
    probabilities of a right answer. Both a ``ValueError`` (galton's rule for bad input)
    and an ``AssertionError`` (what crowd-kit's metrics raise here, so code written for crowd-kit
    keeps catching it)."""


@dataclass(frozen=True)
class Coded:
    judgments: Judgments
    label_names: np.ndarray  # the user's label values (object array of sets when set-valued)
    frame: Any  # what a model fits: the input (the table it was read into when it can be read only once,
    # :mod:`galton.io._once`), or a copy whose labels are integer ranks
    kind: str  # frame kind of the results: "pandas", "polars" or "arrow"

    @property
    def out(self) -> Output:
        return Output(self.kind)

    @property
    def n_labels(self) -> int:
        return int(self.label_names.size)


def _set_valued(frame: Any) -> bool:
    col = frame["label"]
    if col.dtype != object or len(col) == 0:
        return False
    return any(_is_tags(v) for v in col.to_numpy())


def _ranks(values: list) -> tuple[list, list]:
    """Integer ranks of hashable values in order of first appearance (None stays None), and the
    values ranked."""
    where: dict = {}
    ranks = [None if v is None else where.setdefault(v, len(where)) for v in values]
    return ranks, list(where)


def _with_ranks(j: Judgments, uniques: list) -> np.ndarray:
    return object_array(uniques)[j.label_names.astype(np.int64)]


def coded(answers: Any, *, numbers: bool = False) -> Coded:
    """``answers`` (a frame, table or path with task, worker and label columns) encoded. Labels
    that are sets of tags (pandas sets, lists, tuples or 1-d numpy arrays; an Arrow or polars list
    column) become ``frozenset`` values (tuples stay tuples), ranked for the models. A file's labels
    are read as the models read them (``007`` and ``7`` are two labels); with ``numbers`` (a distance
    of ordered values) a file's text labels that all read as numbers are those numbers (``3`` and
    ``3.0`` one value, ``10`` after ``9``), as ``galton agreement`` reads them. A bad row raises as in
    the models, with the fix a metric takes (it has no ``on_invalid``: drop the rows before)."""
    try:
        return _coded(answers, numbers)
    except ValueError as exc:
        text = str(exc).replace(NULL_HINT, "drop those rows before (for example df.dropna(subset=['task', "
                                           "'worker', 'label'])); crowd-kit's metrics skip them without a word")
        text = text.replace(COLUMN_HINT, "The metrics read task, worker and label, as crowd-kit's do: rename "
                                         "the columns first (for example df.rename(columns={'item': 'task'}))")
        text = text.replace(" or pass on_invalid='drop'", "")
        if DROP_HINT in text:  # the labels a metric measures (alpha of ratings too), not a rating model's
            text = text.replace(DROP_HINT, "").replace(" rating(s) that are ", " label(s) that are ")
        if text == str(exc):
            raise
        raise ColumnError(text) from None


def _coded(answers: Any, numbers: bool = False) -> Coded:
    if isinstance(answers, Coded):
        return answers
    kind = frame_kind(answers)
    if kind == "pandas" and "label" in getattr(answers, "columns", ()) and _set_valued(answers):
        import pandas as pd

        ranks, uniques = _ranks([_as_set(v) for v in answers["label"]])
        frame = answers.assign(label=pd.array(ranks, dtype="Int64"))
        j = Judgments.from_any(frame)
        return Coded(j, _with_ranks(j, uniques), frame, kind)
    if kind != "pandas":
        import pyarrow as pa

        table = to_arrow(answers, ids=("task", "worker"))
        if readable_once(answers):  # a stream, stdin or a FIFO: this table, for the judgments and any fit
            answers = table
        if "label" in table.column_names and _is_list(table.schema.field("label").type):
            values = table.column("label").to_pylist()
            ranks, uniques = _ranks([None if v is None else frozenset(v) for v in values])
            frame = table.set_column(table.column_names.index("label"), "label", pa.array(ranks, pa.int64()))
            j = Judgments.from_any(frame)
            return Coded(j, _with_ranks(j, uniques), frame, "polars" if kind == "dict" else kind)
    # numeric: labels that are numbers are values here (a rating's alpha), not classes to warn about; a
    # file's labels as read (numeric=True read its text "007" and "7" as one label, 7.0) unless ``numbers``
    read = kind != "pandas" and not numbers and isinstance(answers, (str, os.PathLike)) and table.num_rows > 0
    j = Judgments.from_any(table if read else answers, numeric=True)
    return Coded(j, j.label_names, answers, "polars" if kind == "dict" else kind)


def ordered_ranks(column: Any) -> Any:
    """The ranks (int64, nulls kept) of a label column that declares the order of its values: an
    Arrow dictionary marked ordered (a pandas ordered Categorical, a polars Enum, a Parquet column
    written from either) whose chunks all hold one dictionary; else None. Row groups written from
    different categoricals hold several, and unifying them appends a later chunk's new values at the
    end, out of order: such a column declares no one order."""
    import pyarrow as pa

    if not (pa.types.is_dictionary(column.type) and column.type.ordered):
        return None
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if not chunks or not all(c.dictionary.equals(chunks[0].dictionary) for c in chunks[1:]):
        return None
    return pa.chunked_array([c.indices.cast(pa.int64()) for c in chunks], pa.int64())


def declared_order(answers: Any) -> Any:
    """``answers`` with their labels replaced by their ranks (:func:`ordered_ranks`) where the label
    column declares an order, for the ordinal distance; else ``answers`` as given (one that can be read
    only once, :mod:`galton.io._once`: the table it was read into). Raises where the Parquet files of a
    folder or pattern declare different orders (:func:`galton.io._parquet.order_conflict`)."""
    import pyarrow as pa

    if frame_kind(answers) == "pandas":
        col = answers["label"] if "label" in getattr(answers, "columns", ()) else None
        if col is None or not getattr(col.dtype, "ordered", False):  # an ordered pandas Categorical
            return answers
        ranks = ordered_ranks(pa.array(col))
        if ranks is None:
            return answers
        import pandas as pd

        return answers.assign(label=ranks.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get).array)
    table = to_arrow(answers, ids=("task", "worker"))
    if readable_once(answers):  # a stream, stdin or a FIFO: its table from here on (read again, it was empty)
        answers = table
    if "label" not in table.column_names:
        return answers
    ranks = ordered_ranks(table.column("label"))
    conflict = order_conflict(table, "label") if ranks is None else None  # a folder's files, different orders
    if conflict:
        raise ValueError(f"{conflict}, or map the labels to numbers in order first")
    return answers if ranks is None else table.set_column(table.column_names.index("label"), "label", ranks)


def _is_list(t: Any) -> bool:
    import pyarrow as pa

    return (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
            or pa.types.is_list_view(t) or pa.types.is_large_list_view(t))


def _table_column(table: Any, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    from ..io._read import to_arrow

    t = to_arrow(table, ids=(names[0],))
    missing = [c for c in names if c not in t.column_names]
    if missing:
        raise ColumnError(f"missing column(s) {missing}; the table has {t.column_names}")
    return (np.asarray(t.column(names[0]).to_numpy(zero_copy_only=False)),
            np.asarray(t.column(names[1]).to_numpy(zero_copy_only=False)))


def per_worker_values(values: Any, c: Coded, what: str = "skills") -> np.ndarray:
    """A per-worker number (a pandas Series indexed by worker, a dict, or a table with ``worker``
    and ``skill`` columns) as a float array over ``c``'s workers; every worker must have one, and
    only one (a repeated worker is refused)."""
    if is_series(values):
        workers, vals = np.asarray(values.index.to_numpy()), values
    elif isinstance(values, dict):
        workers, vals = np.asarray(list(values.keys())), list(values.values())
    else:
        workers, vals = _table_column(values, ("worker", "skill"))
    vals = float_values(vals, workers.tolist(), what)
    names = c.judgments.worker_names
    if names.dtype == object and workers.dtype.kind in "OS":  # bytes ids as the reader holds them: text
        workers = uuid_as_text(workers)
    where = dict(zip(workers.tolist(), vals.tolist()))
    if len(where) < workers.size:  # a worker given twice: which value is meant cannot be told
        from collections import Counter

        twice = [w for w, n in Counter(workers.tolist()).items() if n > 1]
        shown = ", ".join(repr(w) for w in twice[:MAX_EXAMPLES]) + (", ..." if len(twice) > MAX_EXAMPLES else "")
        raise ValueError(f"{what}: {len(twice)} worker(s) appear more than once ({shown}); a worker given twice "
                         "is refused, with equal values or not (crowd-kit refuses too): give each worker one value")
    out = np.array([where.get(w, np.nan) for w in names.tolist()], dtype=float)
    bad = np.flatnonzero(np.isnan(out))
    if bad.size:
        shown = ", ".join(repr(w) for w in names[bad[:MAX_EXAMPLES]].tolist())
        more = ", ..." if bad.size > MAX_EXAMPLES else ""
        raise MissingSkillsError(
            f"{what}: no value for {bad.size} of {names.size} worker(s) ({shown}{more}); give every worker "
            "who has judgments one"
        )
    return out


def labels_by_task(labels: Any, c: Coded, *, fitted: bool = False, what: str = "gold") -> np.ndarray:
    """Labels per task (a Series indexed by task, a dict, or a table with task and label columns)
    as codes over ``c``'s tasks: -1 where a task has none, ``n_labels`` or more where the label is not
    one of the judgments' labels (it matches no judgment). ``fitted``: the labels come from a model
    fitted on ``c.frame`` (set-valued labels are ranks there); ``what``: the argument the messages name."""
    return labels_and_names(labels, c, fitted=fitted, what=what)[0]


def labels_and_names(labels: Any, c: Coded, *, fitted: bool = False,
                     what: str = "gold") -> tuple[np.ndarray, np.ndarray]:
    """:func:`labels_by_task` and the name of every code: the judgments' labels, then each label no
    judgment has (codes ``n_labels``, ``n_labels + 1``, ... in order of first appearance)."""
    if c.judgments.n_tasks == 0:  # no judgments: nothing to compare (the ids' type is unknown)
        return np.zeros(0, dtype=np.int64), c.judgments.label_names if fitted else c.label_names
    names = c.judgments.label_names if fitted else c.label_names
    # labels found as gold given to a fit is (encode_gold): text "true" / "0.5" / "1" is the boolean,
    # float or integer label, 1.0 the label 1 (only exactly: 2.0 is no boolean), 1 the text label "1";
    # compared as given, each file typed on its own, they had all missed (accuracy 0)
    tasks, values = read_gold(_tag_sets(labels), c.judgments.task_names, what=what, labels=names)
    if names.dtype == object:  # sets of tags ranked as first seen: unsorted, found by equality
        values = uuid_as_text(values) if values.dtype.kind in "OS" else values  # bytes as the reader's text
        where = {v: i for i, v in enumerate(names.tolist())}
        codes = np.array([where.get(v, -1) for v in values.tolist()], dtype=np.int64)
    else:
        codes = label_lookup(names, values).astype(np.int64)
    out = np.full(c.judgments.n_tasks, -1, dtype=np.int64)
    t = c.judgments.task_index(tasks)
    new = values[(codes < 0) & (t >= 0)]
    extra: list[Any] = list(dict.fromkeys(new.tolist()))
    if extra:
        where_new = {v: names.size + i for i, v in enumerate(extra)}
        codes = codes.copy()
        codes[codes < 0] = [where_new.get(v, -1) for v in values[codes < 0].tolist()]
    out[t[t >= 0]] = codes[t >= 0]
    if not extra:
        return out, names
    joined = names.tolist() + extra
    all_names = object_array(joined)  # item by item: tuple labels stay whole
    if names.dtype.kind in "iufb":  # numbers with numbers of the same kind keep their type
        try:
            typed = np.asarray(joined)
        except (ValueError, TypeError):
            typed = all_names
        if typed.ndim == 1 and typed.dtype.kind == names.dtype.kind:
            all_names = typed
    return out, all_names


def _tag_sets(labels: Any) -> Any:
    """Labels per task given as lists or sets of tags (a Series, a dict, or a table whose label column
    is a list column) with each list a ``frozenset``, as :func:`coded` reads the judgments' (gold of
    lists raised "unhashable type: 'list'"); anything else as given."""
    if isinstance(labels, dict) and not ("task" in labels and "label" in labels):  # task -> label
        return {k: _as_set(v) for k, v in labels.items()} if any(_is_tags(v, (list, set)) for v in
                                                                   labels.values()) else labels
    if is_series(labels):
        return labels.map(_as_set) if labels.dtype == object and any(
            _is_tags(v, (list, set)) for v in labels.tolist()) else labels
    if frame_kind(labels) == "pandas" and ("label" not in getattr(labels, "columns", ()) or not _set_valued(labels)):
        return labels
    table = to_arrow(labels, ids=("task", "label", SIMULATED_TRUTH))  # as read_gold reads it: once
    if not {"task", "label"} <= set(table.column_names) or not _is_list(table.schema.field("label").type):
        return table
    sets = [None if v is None else frozenset(v) for v in table.column("label").to_pylist()]
    return KnownLabels(column_values(plain_column(table.column("task"))), object_array(sets))  # no pandas


def majority_codes(c: Coded) -> np.ndarray:
    """MajorityVote's labels as codes over ``c``'s tasks (the most judgments, repeated ones
    included; the smallest label on a tie), from the (task, label) counts: no tasks x labels table,
    which 100,000 tasks of 20,000 measured values outgrew (62 GiB)."""
    j = c.judgments
    out = np.full(j.n_tasks, -1, dtype=np.int64)
    if not j.n_judgments:
        return out
    k = max(j.n_labels, 1)
    pairs, counts = np.unique(j.task.astype(np.int64) * k + j.label, return_counts=True)
    task, label = pairs // k, pairs % k
    order = np.lexsort((label, -counts, task))  # per task: the most votes, then the smallest label
    first = order[np.r_[True, task[order][1:] != task[order][:-1]]]
    out[task[first]] = label[first]
    return out


def majority_skills(c: Coded, codes: np.ndarray) -> np.ndarray:
    """MajorityVote's ``skills_`` from its labels ``codes`` (:func:`majority_codes`): each worker's
    share of distinct (task, label) answers equal to the task's label (crowd-kit's ``get_accuracy``
    by worker, unweighted), over ``c``'s workers; NaN for a worker with no answer on a labelled task."""
    j = c.judgments
    order = np.lexsort((j.label, j.worker, j.task))
    t, w, lab = j.task[order], j.worker[order], j.label[order]
    first = np.r_[t[:1] == t[:1], (t[1:] != t[:-1]) | (w[1:] != w[:-1]) | (lab[1:] != lab[:-1])]  # [] when empty
    t, w, lab = t[first], w[first], lab[first]
    ref = codes[t]
    ok = ref >= 0
    agree = np.bincount(w[ok], weights=(lab[ok] == ref[ok]).astype(float), minlength=j.n_workers)
    total = np.bincount(w[ok], minlength=j.n_workers).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, agree / total, np.nan)


def fit(c: Coded, aggregator: Any) -> np.ndarray:
    """Fit ``aggregator`` on ``c``'s judgments; its labels as codes over ``c``'s tasks (a multi-label
    model's tag sets over the judgments' sets: one no judgment holds is a code from ``n_labels`` on).
    Numbers used as labels are what a metric is given (a rating's agreement), so the models' warning
    that they are treated as classes is not repeated here."""
    return labels_by_task(fit_labels(c, aggregator), c, fitted=not is_multilabel(aggregator))


def _with_tag_lists(table: Any, sets: dict[int, Any]) -> Any:
    """``table`` with its label ranks replaced by the lists of tags they stand for (``sets``: rank ->
    ``frozenset``), each list sorted where its tags have an order."""
    import pyarrow as pa

    def tags(s: Any) -> list[Any]:
        try:
            return sorted(s)
        except TypeError:  # tags of mixed types
            return list(s)

    lists = [None if r is None else tags(sets[int(r)]) for r in table.column("label").to_pylist()]
    return table.set_column(table.column_names.index("label"), "label", pa.array(lists))


def is_multilabel(model: Any) -> bool:
    """Whether ``model`` aggregates sets of tags: galton's or crowd-kit's ``BinaryRelevance``."""
    return type(model).__name__ == "BinaryRelevance" and hasattr(model, "base_aggregator")


def fit_labels(c: Coded, aggregator: Any) -> Any:
    """``aggregator.fit_predict`` on ``c``'s judgments: a categorical model on ``c.frame`` (sets of
    tags as ranks), a multi-label one on the sets themselves, in pandas (ranks made every row "a
    single value" to BinaryRelevance)."""
    refuse_class(aggregator, "aggregator")
    frame = c.frame
    multilabel = is_multilabel(aggregator)
    ours = type(aggregator).__module__.startswith("galton.")
    if not ours and frame_kind(frame) != "pandas":
        frame = to_arrow(frame).to_pandas()  # crowd-kit's models read pandas only (they crashed inside)
    if multilabel and c.label_names is not c.judgments.label_names:  # ranks: back to the sets they stand for
        sets = dict(zip(c.judgments.label_names.tolist(), c.label_names.tolist()))
        if frame_kind(frame) == "pandas":
            frame = frame.assign(label=[sets[int(r)] for r in frame["label"].tolist()])
        else:  # galton's BinaryRelevance reads a list column (pandas is not needed)
            frame = _with_tag_lists(to_arrow(frame), sets)
    with quiet("float_classes"):
        return aggregator.fit_predict(frame)
