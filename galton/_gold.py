"""Gold labels: known labels for some tasks, encoded over a :class:`~galton.Judgments`' tasks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pyarrow as pa

from .data._canonical import CANONICAL_INT
from .data._encode import column_values, object_array
from .data._validate import example_ids, example_rows, examples, fmt_value
from .io._frame_columns import arrow_names
from .io._read import check_columns, is_series, to_arrow
from .data.judgments import parse_number
from .judgments import MAX_EXAMPLES, ColumnError, plain_column
from ._warnings import caller_stacklevel, warn

if TYPE_CHECKING:
    from .judgments import Judgments

__all__ = ["SIMULATED_TRUTH", "KnownLabels", "check_gold_conflicts", "encode_gold", "gold_label_values", "gold_rows",
           "gold_task_ids", "read_gold"]

#: the label column of the truth table `galton simulate` writes; read as gold when ``label`` is absent
SIMULATED_TRUTH = "true_label"


class KnownLabels(NamedTuple):
    """Known labels split into task ids and label values, an entry per row of the table that gave
    them (tasks may repeat): what a pandas Series gives, for values no Arrow column holds (sets of
    tags as ``frozenset``), without pandas. :func:`read_gold` reads them as it reads a Series."""

    tasks: np.ndarray
    values: np.ndarray


def read_gold(gold: Any, names: np.ndarray | None = None, *, task_col: str = "task",
              label_col: str = "label", labels: np.ndarray | None = None,
              what: str = "gold") -> tuple[np.ndarray, np.ndarray]:
    """Gold as (task ids, label values), one row per task, by the one set of gold rules.

    ``gold`` may be a pandas Series indexed by task (crowd-kit's convention), a dict task -> label, a
    frame / table / path with ``task`` and ``label`` columns (files read by the one reader, task ids
    by the canonical-integer rule; without a ``label`` column, a ``true_label`` column is the label,
    so the ``truth`` table of ``galton simulate`` is gold as it stands). A row with a missing task or
    label (None, NaN, pandas' NA, an empty CSV field) gives no gold: such rows are skipped with a
    warning that counts them and names a few, and gold with rows but none left raises. A task listed
    twice with the same label counts once, with two different labels it raises. With ``names`` (the
    judgments' task vocabulary) task ids are brought to its type, and ids of another type raise (text
    ids that are all canonical integers match integer tasks, and integer ids match text tasks by their
    digits). A file's labels are read as written (``007`` stays
    ``007``, as ids are); with ``labels`` (the judgments' label vocabulary) text labels are brought to
    its type where they can be (``7`` for integer labels, ``0.5`` for numbers) and integer ones to
    text labels by their digits: each file is typed on its own, and gold ``007`` / ``042`` read as
    7.0 and 42.0 missed the judgments' text labels ``007`` / ``042``. Otherwise labels are returned
    as given (``-0.0`` as ``0.0``): a gold label that no worker chose is a real miss of the crowd, so
    this does not check the label set. ``what``: the argument the messages name (``aggregates``, ...).
    """
    if isinstance(gold, KnownLabels):
        tasks, values = gold
    elif is_series(gold):
        tasks = np.asarray(gold.index.to_numpy())
        values = gold.to_numpy()
    elif isinstance(gold, dict) and not (task_col in gold and label_col in gold):
        keys = list(gold.keys())
        # tuple ids stay whole (asarray would make columns); integers exactly (asarray made 0 and
        # 2**63 floats, and kept 2**64 + 1 beside 0 as "int" ids that matched no integer task)
        tasks = (object_array(keys) if any(isinstance(k, tuple) for k in keys) else
                 _integer_ids([int(k) for k in keys], np.dtype(np.int64)) if keys and all(map(_is_int, keys)) else
                 np.asarray(keys))
        values = np.asarray(list(gold.values()))
    else:
        table = to_arrow(gold, ids=(task_col, label_col, SIMULATED_TRUTH))  # labels as written
        task_col, label_col = arrow_names(table, (task_col, label_col))  # a frame's column 0 is Arrow's '0'
        if label_col == "label" and "label" not in table.column_names and SIMULATED_TRUTH in table.column_names:
            label_col = SIMULATED_TRUTH  # the truth table of `galton simulate` is gold as it stands
        missing = [c for c in (task_col, label_col) if c not in table.column_names]
        if missing:
            raise ColumnError(
                f"{what} is missing column(s) {missing}; it has {table.column_names}. "
                f"{'Gold' if what == 'gold' else what} needs one row per task with columns task and label (or a "
                "pandas Series indexed by task)"
            )
        table = check_columns(table.select([task_col, label_col]), (task_col, label_col), label=label_col)
        tasks = column_values(plain_column(table.column(task_col)))  # as the judgments' ids are held
        values = column_values(plain_column(table.column(label_col)))
    if tasks.dtype.kind in "US":
        tasks = tasks.astype(object)
    if values.dtype.kind in "US":
        values = values.astype(object)
    valid = np.ones(values.size, dtype=bool)
    if values.dtype == object or values.dtype.kind == "f":
        valid &= np.array([_present(v) for v in values], dtype=bool)
    if tasks.dtype == object or tasks.dtype.kind == "f":
        valid &= np.array([_present(t) for t in tasks], dtype=bool)
    rows = np.flatnonzero(valid)
    if rows.size < valid.size:
        _skipped(tasks, valid, what)
    tasks, values = tasks[valid], values[valid]
    if values.dtype.kind == "f":
        values = values + 0.0  # -0.0 is 0.0, as in the judgments
    if names is not None:
        tasks = _gold_task_ids(tasks, names, what)
    if labels is not None:
        values = gold_label_values(values, labels)
    first = check_gold_conflicts(tasks, values, rows, what)
    return tasks[first], values[first]


def encode_gold(
    gold: Any, judgments: "Judgments", *, task_col: str = "task", label_col: str = "label"
) -> np.ndarray:
    """Gold labels as an int32 array over ``judgments``' tasks, -1 where a task has no gold.

    Read by :func:`read_gold` (its rules: one label per task, task ids of the judgments' type).
    Gold for tasks without judgments is ignored (whatever its label); gold labels outside the
    label set raise, naming their tasks.
    """
    tasks, values = read_gold(gold, judgments.task_names, task_col=task_col, label_col=label_col,
                              labels=judgments.label_names)
    tidx = judgments.task_index(tasks)
    known = tidx >= 0  # gold of a task without judgments is ignored, whatever its label
    codes = judgments.label_index(values[known], what="gold", tasks=tasks[known])
    out = np.full(judgments.n_tasks, -1, dtype=np.int32)
    out[tidx[known]] = codes
    return out


def gold_label_values(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Gold label ``values`` in the type of the judgments' labels ``labels`` where they can be: text
    that is a number as a float for number labels, integers by their digits for text labels;
    anything else as given (it then matches no label)."""
    if values.size == 0 or labels.size == 0:
        return values
    text = values.dtype == object and all(isinstance(v, str) for v in values)
    if text and labels.dtype.kind in "iuf":  # integers exactly: as floats, 2**53 + 1 was 2**53 (another label)
        parsed = [parse_number(v, labels.dtype.kind) for v in values]
        if any(p is None for p in parsed):
            return values
        if all(isinstance(p, int) for p in parsed):
            return np.array(parsed)
        # integer labels: label_lookup matches whole numbers (3.5 is reported as no label)
        return np.array(parsed, dtype=np.float64) + 0.0
    if values.dtype.kind in "iu" and labels.dtype == object and all(isinstance(v, str) for v in labels):
        return np.array([str(int(v)) for v in values], dtype=object)
    return values


def gold_task_ids(tasks: Any, names: np.ndarray) -> np.ndarray:
    """Known answers' task ids (``tasks``, e.g. a Series' index) in the type of the judgments' task
    ids ``names``, by :func:`read_gold`'s rule (text ids that are all canonical integers match integer
    tasks, integer ids match text tasks by their digits); raises when they cannot be (text vs integers).
    For known answers that are no labels (the true embeddings of the embedding models)."""
    tasks = np.asarray(tasks)
    return _gold_task_ids(tasks.astype(object) if tasks.dtype.kind in "US" else tasks, np.asarray(names))


def _gold_task_ids(tasks: np.ndarray, names: np.ndarray, what: str = "gold") -> np.ndarray:
    """Gold task ids in the judgments' id type; raises when they cannot be (text vs integers)."""
    if tasks.size == 0:
        return tasks
    if names.dtype.kind in "iu":
        if tasks.dtype.kind in "iu":
            return tasks
        if tasks.dtype.kind == "f" and np.all(tasks == np.round(tasks)):  # whole numbers, exactly (2**63 wrapped)
            return _integer_ids([int(t) for t in tasks.tolist()], names.dtype)
        if tasks.dtype == object and all(map(_is_int, tasks)):  # Python ints no one 64-bit type holds
            return _integer_ids([int(t) for t in tasks], names.dtype)
        if tasks.dtype == object and all(isinstance(t, str) for t in tasks):
            if all(re.fullmatch(CANONICAL_INT, t) for t in tasks):
                return _integer_ids([int(t) for t in tasks], names.dtype)
            odd = [t for t in tasks if not re.fullmatch(CANONICAL_INT, t)]
            shown = examples(odd, 3)
            raise ValueError(
                f"{what} task ids are text ({shown}) but the judgments' task ids are integers; use the "
                f"same task ids in the {what} as in the judgments"
            )
        kinds = sorted({type(t).__name__ for t in tasks})
        raise ValueError(
            f"{what} task ids are {'/'.join(kinds)} but the judgments' task ids are integers; use the "
            f"same task ids in the {what} as in the judgments"
        )
    if names.dtype == object and tasks.dtype.kind in "iu":
        return np.array([str(int(t)) for t in tasks], dtype=object)  # digits, as a CSV holds them
    return tasks


def _skipped(tasks: np.ndarray, valid: np.ndarray, what: str) -> None:
    """Say that the gold rows not ``valid`` (a missing task or label) are skipped, with their count, a
    few rows and their tasks; raise when no row is left (every label empty, or the wrong column)."""
    bad = np.flatnonzero(~valid)
    named = [t for t in tasks[bad[:MAX_EXAMPLES + 1]].tolist() if _present(t)]
    where = example_rows(bad).replace("rows", "row" if bad.size == 1 else "rows", 1) + (
        f"; {example_ids(named)}" if named else "")
    if not valid.any():
        raise ValueError(f"{what} has {bad.size} row{'s' if bad.size > 1 else ''}, all with an empty task or label "
                         f"({where}): no gold is left; fill in the labels, or name the column that holds them")
    many = bad.size > 1
    warn(f"{what}: {bad.size} of {valid.size} rows {'have' if many else 'has'} an empty task or label ({where}); "
         f"{'they are' if many else 'it is'} skipped: a row without a label gives its task no gold",
         stacklevel=caller_stacklevel())


def _present(v: Any) -> bool:
    """Whether a gold cell holds a value: not None, NaN, nor pandas' NA or NaT (a nullable string or
    boolean column's missing cell: ``v == v`` raised "boolean value of NA is ambiguous")."""
    if v is None:
        return False
    kind = type(v)
    if kind.__module__.split(".")[0] == "pandas" and kind.__name__ in ("NAType", "NaTType"):
        return False
    try:
        return bool(v == v)  # NaN of any float type, numpy's NaT
    except (TypeError, ValueError):  # a value whose equality is no truth value is a value
        return True


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _integer_ids(values: list[int], names: np.dtype) -> np.ndarray:
    """Python integers as an array of the judgments' id type where they fit it (uint64 ids from
    2**63 on overflowed int64), else of int64 or uint64, else of objects: ids outside the judgments'
    type name no judged task, and are ignored as gold of a task without judgments is."""
    info = np.iinfo(names)
    if all(info.min <= v <= info.max for v in values):
        return np.array(values, dtype=names)
    if all(-(2**63) <= v < 2**63 for v in values):
        return np.array(values, dtype=np.int64)
    if all(0 <= v < 2**64 for v in values):
        return np.array(values, dtype=np.uint64)
    return object_array(values)


def gold_rows(tasks: Any, values: Any, what: str = "gold", rows: Any = None) -> np.ndarray:
    """Positions of the entries of ``tasks`` and ``values`` (the columns of a table of known labels)
    that hold gold, by :func:`read_gold`'s rules: entries with a missing task or label are skipped,
    the first of each task is kept, and a task given two different labels raises
    (:func:`check_gold_conflicts`; ``rows``: the entries' row numbers in the file it names, by default
    0, 1, ...). For readers that keep the table's own types (the studies' datasets)."""
    tasks, values = object_array(tasks), object_array(values)
    numbers = np.arange(tasks.size) if rows is None else np.asarray(rows)
    pos = np.flatnonzero(np.array([_present(t) and _present(v) for t, v in zip(tasks, values)], dtype=bool))
    return pos[check_gold_conflicts(tasks[pos], values[pos], numbers[pos], what)]


def check_gold_conflicts(tasks: np.ndarray, values: np.ndarray, rows: np.ndarray, what: str = "gold") -> np.ndarray:
    """Positions of the first row of each task; raises when gold gives one task two different
    labels (the same label twice counts once), naming the tasks and their ``rows``."""
    try:
        key = np.asarray(pa.array(tasks).dictionary_encode().indices)
        if np.unique(key).size == key.size:
            return np.arange(tasks.size)  # no task twice: the common case, without a Python loop
    except (pa.ArrowException, TypeError, ValueError, OverflowError):  # ints beyond 64 bits: the loop below
        pass
    seen: dict[Any, tuple[Any, int]] = {}
    clashes: dict[Any, list[int]] = {}
    first: list[int] = []
    for i, (t, v) in enumerate(zip(tasks.tolist(), values.tolist())):
        if t not in seen:
            seen[t] = (v, i)
            first.append(i)
        elif seen[t][0] != v:
            clashes.setdefault(t, [seen[t][1]]).append(i)
    if clashes:
        parts = []
        for t, idx in list(clashes.items())[:3]:
            labels = ", ".join(fmt_value(values[j]) for j in idx[:MAX_EXAMPLES])
            parts.append(f"task {fmt_value(t)}: rows {', '.join(str(int(rows[j])) for j in idx[:MAX_EXAMPLES])} "
                         f"give {labels}")
        raise ValueError(
            f"{what} gives {len(clashes)} task(s) two different labels ({'; '.join(parts)}"
            f"{'; ...' if len(clashes) > 3 else ''}); keep one label per task"
        )
    return np.asarray(first, dtype=np.int64)
