"""``galton aggregate --kind multilabel``: judgments that are sets of tags (every tag that applies),
aggregated by :class:`galton.BinaryRelevance` with the chosen categorical model inside (one fit per
tag). The label column is a list column (Parquet, JSON lines) or, in CSV / TSV, text with the tags
joined by ``--tag-sep``; an empty cell or an empty list means that no tag applies. Text tags are read
by one rule in every format: spaces around a tag are removed and a blank tag is none (bytes tags are
decoded as UTF-8 text first, as categorical labels are). Writes one row
per task: ``task``, ``labels`` (a list in Parquet, joined by ``--tag-sep`` in CSV / TSV and on
standard output) and ``p_<tag>``, the aggregated probability that each tag applies. With ``--gold``
(task and its tags, in the same layout) the summary scores the tag sets: the share of gold tasks
whose set is exactly right, and the tags' precision, recall and F1 over those tasks (gold task ids
and tags are matched in the judgments' types, as categorical gold is). Rows are sorted by task, as
the categorical results are."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Callable, TextIO

import numpy as np

from .._warnings import collected
from ._common import NO_OUTPUT, CLIError, no_common_task, report_warnings

__all__ = ["is_list_column", "aggregate_multilabel", "tag_sets", "tag_type", "results_table", "gold_sets", "set_scores"]


def _is_list_type(t: Any) -> bool:
    """Any of Arrow's list types (the ones the readers call list values)."""
    import pyarrow as pa

    return any(getattr(pa.types, name, lambda _: False)(t) for name in
               ("is_list", "is_large_list", "is_fixed_size_list", "is_list_view", "is_large_list_view"))


def is_list_column(table: Any, column: str) -> bool:
    """Whether ``column`` of an Arrow table or schema holds lists."""
    schema = getattr(table, "schema", table)
    if column not in schema.names:
        return False
    return _is_list_type(schema.field(column).type)


def _is_bytes_type(t: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)


def tag_type(column_type: Any) -> Any:
    """The Arrow type of the tags :func:`tag_sets` gives for a column of ``column_type``: a list's
    value type, bytes as text, text for a text column."""
    import pyarrow as pa

    if not _is_list_type(column_type) or _is_bytes_type(column_type.value_type):
        return pa.string()
    return column_type.value_type


def tag_sets(column: Any, sep: str, name: str = "label") -> list[list[Any]]:
    """Each row's tags from an Arrow column: a list column's lists, a text column split at ``sep``
    (an empty cell, or a null: no tag). One rule for every format: spaces around a text tag are
    removed and a blank one is no tag, in a list as between separators (a list's ``""`` had been a
    tag that CSV cannot hold: it could win a task and was written as ``;a``, read back as ``a``);
    a null in a list is no tag; numbers and booleans are kept as they are. Bytes tags are decoded
    as UTF-8 text, as categorical labels are (they were written as ``b'x'``); ``name``: the column,
    in the error for bytes that are not UTF-8."""
    import pyarrow as pa

    if _is_list_type(column.type):
        lists = column.to_pylist()
        if _is_bytes_type(column.type.value_type):
            lists = _decoded(lists, name)
        return [[] if v is None else [x.strip() if isinstance(x, str) else x for x in v
                                      if x is not None and not (isinstance(x, str) and not x.strip())]
                for v in lists]
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    out = []
    for v in column.to_pylist():
        out.append([] if v is None else [t.strip() for t in v.split(sep) if t.strip()])
    return out


def _decoded(lists: list[Any], name: str) -> list[Any]:
    """Lists of bytes tags as lists of their UTF-8 text; a CLIError naming the column where some are
    not UTF-8."""
    out, bad = [], []
    for v in lists:
        if v is None:
            out.append(None)
            continue
        tags = []
        for x in v:
            try:
                tags.append(x.decode("utf-8") if isinstance(x, bytes) else x)
            except UnicodeDecodeError:
                bad.append(x)
        out.append(tags)
    if bad:
        raise CLIError(f"column {name!r} holds {len(bad):,} tag(s) that are bytes but not UTF-8 text (e.g. "
                       f"{', '.join(map(repr, bad[:3]))}); decode them first, or store the tags as strings")
    return out


def results_table(model: Any, sep: str | None) -> Any:
    """``task``, ``labels`` (a list, or text joined by ``sep``) and ``p_<tag>`` per tag (the tag's
    model's probability of the answer 1; left out for a model without probabilities), from a
    BinaryRelevance fitted on an Arrow table (its rows sorted by task). Tags are written as the
    categorical results write labels (:func:`galton.io.label_key`: a boolean tag is ``true``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..io import label_key

    labels = model.labels_
    tasks = labels.column("task")
    sets = labels.column("label").to_pylist()
    cols: dict[str, Any] = {"task": tasks,
                            "labels": pa.array([sep.join(label_key(t) for t in s) for s in sets], pa.string())
                            if sep is not None else labels.column("label")}
    for tag, sub in model.aggregators_.items():
        probas = getattr(sub, "probas_", None)
        yes = f"p_{label_key(1)}"  # the column of the answer 1 (the set holds the tag)
        if probas is None or yes not in probas.column_names:
            continue
        at = pc.index_in(tasks, value_set=probas.column("task"))
        cols[f"p_{label_key(tag)}"] = probas.column(yes).take(at).fill_null(0.0)
    return pa.table(cols)


def gold_sets(table: Any, task_col: str, label_col: str, sep: str) -> dict[Any, frozenset]:
    """Task -> its gold tag set, from an Arrow table with a task column (``task_col``, else ``task``)
    and a label column (``label_col``, else ``label``) of lists or ``sep``-joined text. A task listed
    twice with the same set counts once; with two different sets it is an error naming them."""
    from ..data._validate import missing_columns, raise_nulls

    names = table.column_names
    tcol = task_col if task_col in names else "task"
    lcol = label_col if label_col in names else "label"
    missing_columns(table, (tcol, lcol), "gold for multilabel data: a task column and a label column (its tags)")
    raise_nulls(table, [tcol])
    out: dict[Any, frozenset] = {}
    conflicts: list[Any] = []
    for task, tags in zip(table.column(tcol).to_pylist(), tag_sets(table.column(lcol), sep, lcol)):
        tags = frozenset(tags)
        if task in out and out[task] != tags:
            conflicts.append(task)
        out[task] = tags
    if conflicts:
        raise ValueError(f"gold lists {len(conflicts):,} task(s) twice with different tag sets (e.g. "
                         f"{conflicts[:3]}); keep one row per task")
    return out


def typed_gold(gold: dict[Any, frozenset], tasks: Any, tags: Any) -> dict[Any, frozenset]:
    """The gold sets of the judged tasks, in the judgments' types: task ids found among the
    judgments' sorted ``tasks`` by galton's id rule (text digits find integer ids, integers find
    text ids), tags among their sorted ``tags`` by its label rule (text ``1`` finds the tag 1, ``2.5``
    the tag 2.5, the integer 2 the text tag ``2``), so that a gold file of another format than the
    judgments scores them. ``tasks`` and ``tags`` are Arrow arrays, and the values found are taken as
    Arrow gives them, as the results' are (numpy's ``.item()`` of a timestamp[ns] is an integer,
    which matched no result's task). A gold tag no judgment holds stays as written (a missed tag). Refused:
    gold sharing no task with the judgments, and gold whose tags are none of the judgments' (every
    set would be scored wrong)."""
    from .._gold import gold_label_values, gold_task_ids
    from ..data._encode import id_lookup, label_lookup

    task_values, tag_values = tasks.to_pylist(), tags.to_pylist()
    tasks, tags = (a.to_numpy(zero_copy_only=False) for a in (tasks, tags))
    keys = list(gold)
    # ids by the categorical --gold rule: "01" against integer ids is refused (it found task 1, and
    # beside "1" one of the two rows overwrote the other's set without a word)
    found = (id_lookup(tasks, gold_task_ids(_id_values(keys, tasks), tasks)) if keys and tasks.size
             else np.full(len(keys), -1))
    if not (found >= 0).any():
        raise no_common_task(keys[:3], tasks[:3].tolist())
    judged = [k for k, i in zip(keys, found) if i >= 0]
    flat = [t for k in judged for t in gold[k]]
    codes = label_lookup(tags, gold_label_values(_values(flat), tags)) if flat and tags.size else np.full(len(flat), -1)
    if flat and not (codes >= 0).any():
        from ..data._validate import examples

        raise CLIError(f"gold shares no tag with the judgments (gold tags look like "
                       f"[{examples(sorted(set(flat), key=repr)[:3])}], the judgments' like [{examples(tags[:3])}]); "
                       "write the gold's tags as the judgments' are, and check --label-col and --tag-sep")
    typed = [tag_values[c] if c >= 0 else t for t, c in zip(flat, codes.tolist())]
    out: dict[Any, frozenset] = {}
    at = 0
    for k, i in zip(keys, found.tolist()):
        if i < 0:
            continue
        out[task_values[i]] = frozenset(typed[at:at + len(gold[k])])
        at += len(gold[k])
    return out


def _id_values(keys: list[Any], tasks: np.ndarray) -> np.ndarray:
    """Gold task ids as an array to look up among the judgments' ``tasks``: dates and times as
    numpy's, in the judgments' unit (a timestamp[ns]'s ``pd.Timestamp`` ids, as objects, found none
    of numpy's datetime64[ns] ids, which Python sees as integers)."""
    import pyarrow as pa

    values = _values(keys)
    if tasks.dtype.kind not in "mM" or values.dtype != object:
        return values
    try:
        times = pa.array(keys)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # ids of mixed types: as they are
        return values
    if not pa.types.is_temporal(times.type):
        return values
    return times.to_numpy(zero_copy_only=False).astype(tasks.dtype)


def _values(values: list[Any]) -> np.ndarray:
    """Python values as an array for galton's lookups (text as objects)."""
    a = np.asarray(values)
    return a.astype(object) if a.dtype.kind in "USO" else a


def _vocabulary(values: Any) -> Any:
    """The distinct values of an Arrow array, sorted (as galton's lookups want them), as Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    u = pc.unique(values)
    return u.take(pc.array_sort_indices(u))


def set_scores(pred: dict[Any, Any], gold: dict[Any, frozenset]) -> tuple[int, int, int, int, int]:
    """``(tasks, exact, true positives, false positives, false negatives)`` over the gold tasks that
    have a predicted set."""
    n = exact = tp = fp = fn = 0
    for task, truth in gold.items():
        if task not in pred:
            continue
        got = frozenset(pred[task])
        n += 1
        exact += got == truth
        tp += len(got & truth)
        fp += len(got - truth)
        fn += len(truth - got)
    return n, exact, tp, fp, fn


def _gold_rows(model: Any, gold: dict[Any, frozenset]) -> list[tuple[str, str]]:
    """Summary rows scoring the tag sets against the gold sets (of the judgments' types)."""
    labels = model.labels_
    pred = dict(zip(labels.column("task").to_pylist(), labels.column("label").to_pylist()))
    n, exact, tp, fp, fn = set_scores(pred, gold)
    if n == 0:
        raise no_common_task(list(gold)[:3], list(pred)[:3])
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return [("accuracy", f"{exact / n:.6f} ({exact}/{n} tasks with gold whose tag set is exactly right)"),
            ("tag scores", f"precision {precision:.4f}, recall {recall:.4f}, F1 {f1:.4f} (over the gold "
                           f"tasks' tags: {tp} right, {fp} extra, {fn} missed)")]


def aggregate_multilabel(table: Any, args: argparse.Namespace, out: TextIO, err: TextIO,
                         model_params: Callable[[type, argparse.Namespace, str], dict[str, Any]]) -> int:
    """Fit BinaryRelevance with ``args.model`` (categorical; default: galton's default) inside on the
    Arrow ``table`` and write / print the results (one row per task, sorted by task)."""
    import pyarrow as pa

    from .. import aggregator
    from ..aggregator import BinaryRelevance
    from ..aggregator.multilabel import label_sets
    from ..data._validate import missing_columns, null_mask, raise_nulls
    from ..io import to_arrow, write_table

    sep = "|" if args.tag_sep is None else args.tag_sep
    if not sep:
        raise CLIError("--tag-sep must be at least one character")
    for option, value in (("--use-gold", args.use_gold or None), ("--workers-output", args.workers_output),
                          ("--checkpoint-dir", getattr(args, "checkpoint_dir", None))):
        if value is not None:
            raise CLIError(f"{option} is not available for multilabel data yet; aggregate without it")
    cols = (args.task_col, args.worker_col, args.label_col)
    missing_columns(table, cols, "multilabel data has a task, a worker and a label column (the tags)")
    name = args.model or aggregator.default_name()
    cls = aggregator.get(name)
    name = getattr(cls, "registry_name", name)
    if getattr(cls, "kind", "categorical") != "categorical":
        raise CLIError(f"model {name!r} is not a categorical model; multilabel data takes one per tag, such "
                       f"as {', '.join(aggregator.names(kind='categorical')[:4])}")
    if getattr(cls, "_require_gold", False):  # its weights come from gold labels, one per tag
        raise CLIError(f"model {name!r} needs gold labels for its fit, and multilabel data takes none per tag "
                       "(--gold here only scores the result); pick another categorical model, such as mv, ds, bds "
                       "or glad")
    rows = np.arange(table.num_rows)
    if args.on_invalid == "drop":  # rows without a task or a worker (a missing tag set: no tag)
        rows = np.flatnonzero(~(null_mask(table.column(args.task_col)) | null_mask(table.column(args.worker_col))))
        table = table.take(pa.array(rows))
    else:
        raise_nulls(table, cols[:2])
    column = table.column(args.label_col)
    tags = tag_sets(column, sep, args.label_col)
    label_sets(tags, args.label_col, rows)  # a list or a dict as a tag: refused, naming the rows
    tags_type = tag_type(column.type)
    data = pa.table({args.task_col: table.column(args.task_col), args.worker_col: table.column(args.worker_col),
                     args.label_col: pa.array(tags, type=pa.list_(tags_type))})
    gold = None  # read and checked before the fit, so that a bad gold file fails before anything is written
    if args.gold is not None:  # the tags as written (1.0 stays 1.0), then in the judgments' types
        raw = to_arrow(args.gold, ids=(args.task_col, "task", args.label_col, "label"))
        gold = typed_gold(gold_sets(raw, args.task_col, args.label_col, sep), _vocabulary(data.column(args.task_col)),
                          _vocabulary(pa.array([t for s in tags for t in s], type=tags_type)))
    text = args.output is not None and (args.output == "-" or Path(args.output).suffix.lower() in (".csv", ".tsv"))
    clash = next((t for s in tags for t in s if sep in str(t)), None) if text else None
    if clash is not None:  # "rock|pop" joined with "|" would read back as two tags
        raise CLIError(f"tag {clash!r} contains the tag separator {sep!r}, so the tags joined in the CSV / TSV "
                       "output could not be told apart; pass --tag-sep with another character, or write "
                       "Parquet output (.parquet keeps the tags as lists)")
    params = model_params(cls, args, name)
    owned = None
    if args.ray_address is not None and params.get("engine") == "ray":  # it was dropped: a new local Ray
        from ..aggregator import resolve_engine  # one engine on that cluster, for every tag's fit

        params["engine"] = owned = resolve_engine("ray", address=args.ray_address, n_shards=params.get("n_shards"))
    model = BinaryRelevance(cls(**params))
    t0 = time.perf_counter()
    try:
        with collected() as caught:
            model.fit(data, task_col=args.task_col, worker_col=args.worker_col, label_col=args.label_col,
                      duplicates=args.duplicates)
    finally:
        if owned is not None:
            owned.close()
    seconds = time.perf_counter() - t0
    if not args.quiet:
        report_warnings(caught, err)
    scored = [] if gold is None else _gold_rows(model, gold)  # before writing: no overlap is an error
    if args.output is not None:
        write_table(results_table(model, sep if text else None), args.output)
    if not args.quiet:
        sets = model.labels_.column("label").to_pylist()
        tagged = sum(1 for s in sets if len(s))
        used = next((m.judgments_.n_judgments for m in model.aggregators_.values()
                     if getattr(m, "judgments_", None) is not None), data.num_rows)  # the rows each tag's fit read
        rows_out = [("kind", "multilabel"), ("model", f"{name} inside BinaryRelevance"),
                    ("tasks", f"{len(sets):,} ({tagged:,} with at least one tag)"),
                    ("judgments", f"{used:,}"), ("tags", f"{len(model.aggregators_):,}")]
        if used < data.num_rows:  # --duplicates first / last
            rows_out.append(("dropped", f"{data.num_rows - used:,} rows repeating a (task, worker) pair"))
        rows_out.append(("seconds", f"{seconds:.2f}"))
        rows_out += scored
        rows_out.append(("output", NO_OUTPUT if args.output is None else args.output))
        summary = err if args.output == "-" else out
        for k, v in rows_out:
            summary.write(f"{k:<12}{v}\n")
    return 0
