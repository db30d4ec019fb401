"""``galton agreement INPUT``: how much the workers agree, before any model is fitted.

Prints Krippendorff's alpha (:func:`galton.metrics.krippendorff`) with a bootstrap interval over
the tasks and Krippendorff's reading of it, the observed and the chance disagreement, and the share
of judgments that equal their task's majority label (:func:`galton.metrics.accuracy_on_aggregates`) on
the tasks alpha measures, those with two or more judgments (a lone judgment agrees with itself).
Reads what ``galton aggregate`` reads (files, ``-``, ``bundled:NAME``) by the same rules.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from .._settings import MIN_BOOTSTRAP
from .._warnings import collected
from ._common import (PROG, CLIError, add_max_memory, add_on_invalid, check_memory_option, check_readable,
                      distinct_columns, memory_guard, report_warnings, seed)

__all__ = ["add_agreement"]

#: Krippendorff (2004, p. 241): rely on data with alpha >= .800; .667 <= alpha < .800 allows tentative conclusions
_READINGS = ((0.8, "reliable (alpha >= 0.800)"), (0.667, "tentative conclusions only (0.667 <= alpha < 0.800)"))


def add_agreement(sub: Any) -> None:
    a = sub.add_parser(
        "agreement", help="measure how much the workers agree (Krippendorff's alpha), no model needed",
        description="Krippendorff's alpha of the judgments with a bootstrap interval over the tasks, the "
        "observed and chance disagreement, and the share of judgments equal to their task's majority label on "
        "the tasks with two or more judgments.",
    )
    a.add_argument("input", metavar="INPUT",
                   help="CSV/TSV/Parquet/JSON-lines file, a directory of Parquet files or a quoted pattern of them "
                        "('parts/*.parquet'), bundled:NAME, or - for "
                   "CSV on standard input")
    a.add_argument("--distance", choices=("nominal", "ordinal", "interval", "ratio", "jaccard", "masi"),
                   default="nominal",
                   help="how far apart two labels are: nominal (equal or not; the default), ordinal (ranks of "
                   "ordered labels), interval (squared difference of numbers), ratio (relative difference of "
                   "numbers >= 0), jaccard or masi (sets of tags: a list column, or text with --tag-sep between the "
                   "tags)")
    a.add_argument("--order", default=None, metavar="L1,L2,...",
                   help="with --distance ordinal and text labels: the labels from lowest to highest, e.g. "
                   "low,medium,high (numbers need none, nor an ordered categorical / Enum column in Parquet, "
                   "whose order is taken, from one file or a folder of files that declare the same order; text "
                   "is never ranked alphabetically)")
    a.add_argument("--tag-sep", default=None, metavar="S",
                   help="with --distance jaccard or masi and text labels: the character between a judgment's "
                   "tags (default: |; an empty cell is no tag, which --on-invalid drop keeps)")
    a.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help=f"resamples of the tasks for the 95%% interval (default 1000, at least {MIN_BOOTSTRAP}; 0: "
                   "none); each costs "
                   "about 16 ms per million judgments, with a progress bar on a terminal. A resample without "
                   "variation has no alpha: a warning counts those, and more of them than 2.5%% leave no interval")
    a.add_argument("--seed", type=seed, default=0, metavar="N", help="seed of the resampling (default 0)")
    a.add_argument("--task-col", default="task", metavar="C", help="task column (default: task)")
    a.add_argument("--worker-col", default="worker", metavar="C", help="worker column (default: worker)")
    a.add_argument("--label-col", default="label", metavar="C", help="label column (default: label)")
    add_on_invalid(a)
    a.add_argument("--duplicates", choices=("keep", "first", "last", "raise"), default=None,
                   help="rows that repeat a (task, worker) pair: keep each as a judgment of its own (keep, as "
                   "crowd-kit's alpha_krippendorff; the default, with a warning when there are any: alpha then "
                   "pairs a worker's repeated answers with each other as two workers'), keep the first or the "
                   "last in row order, or fail (raise)")
    add_max_memory(a, "the table of distances between every two distinct labels that --distance ratio, jaccard "
                   "or masi builds (8 bytes a pair: 8,000 labels take 512 MB; nominal, ordinal and interval need "
                   "none, and nothing else is guarded)")
    a.set_defaults(func=_cmd_agreement)


def _table(args: argparse.Namespace) -> tuple[Any, int, int, str | None]:
    """The judgments as an Arrow table with columns task, worker, label; the rows dropped as missing
    values, those dropped as repeating a (task, worker) pair (``--duplicates first`` / ``last``), and
    the warning about repeated pairs kept without ``--duplicates`` (None when there are none)."""
    import pyarrow as pa

    from ..data._validate import missing_columns
    from ..io._parquet import order_conflict
    from ._common import read_table
    from .aggregate import load_input

    distinct_columns(args)  # before reading: one column for two roles would count tasks as workers
    check_readable(args.input, "INPUT")
    if args.input == "-" or any(c in args.input for c in "*?["):  # standard input, a glob
        table = read_table(args.input, (args.task_col, args.worker_col))
    else:
        data, _ = load_input(args.input)
        table = data if isinstance(data, pa.Table) else read_table(data, (args.task_col, args.worker_col))
    conflict = order_conflict(table, args.label_col) if args.distance == "ordinal" and args.order is None else None
    if conflict:  # Parquet files of two orders: no order is declared (it had fallen back to "needs --order")
        raise CLIError(f"{conflict}, or list the labels from lowest to highest with --order L1,L2,...")
    cols = (args.task_col, args.worker_col, args.label_col)
    missing = [c for c in cols if c not in table.column_names]
    if missing:  # the reader's check, for its hint about a header written with spaces after its commas
        try:
            missing_columns(table, cols, "Name the columns with --task-col, --worker-col, --label-col")
        except ValueError as exc:
            raise CLIError(str(exc)) from None
    table = table.select(list(cols)).rename_columns(["task", "worker", "label"])
    if args.distance in ("interval", "ratio"):  # before any row is dropped: the errors name the input's rows
        table = _numbers(table, args)
    dropped, rows = 0, None
    if args.on_invalid == "drop":
        table, dropped, rows = _drop_invalid(table, args.distance)
    table, repeated, warning = _one_per_pair(table, args.duplicates, rows)
    return _labels(table, args), dropped, repeated, warning


def _labels(table: Any, args: argparse.Namespace) -> Any:
    """``table`` with its labels as ``--distance`` compares them."""
    import pyarrow as pa

    from ..data import plain_column
    from ..metrics._coded import ordered_ranks

    label = table.column("label")
    ranks = ordered_ranks(label) if args.distance == "ordinal" and args.order is None else None
    if ranks is not None:  # an ordered categorical / Enum: its order
        return table.set_column(2, "label", ranks)
    if not (pa.types.is_list(label.type) or pa.types.is_large_list(label.type)):
        # dictionaries (categoricals), large and view strings: their values, read as any text is
        table = table.set_column(2, "label", plain_column(label))
    label_type = table.schema.field("label").type
    text = pa.types.is_string(label_type)
    if args.distance in ("jaccard", "masi"):
        from .multilabel import tag_sets

        values = table.column("label").to_pylist()
        if text:  # tags joined by --tag-sep; an empty cell: no tag (as `galton aggregate --kind multilabel`)
            table = table.set_column(2, "label", pa.array(tag_sets(table.column("label"), args.tag_sep or "|"),
                                                          pa.list_(pa.string())))
        elif pa.types.is_list(label_type) or pa.types.is_large_list(label_type):
            if pa.types.is_string(label_type.value_type) or pa.types.is_large_string(label_type.value_type):
                # text tags by the rule of a text cell: " a" is a, a blank tag is none (a null list stays null)
                tags = [None if v is None else t for v, t in zip(values, tag_sets(table.column("label"), "|"))]
                table = table.set_column(2, "label", pa.array(tags, label_type))
        else:  # one tag each (a number)
            table = table.set_column(2, "label", pa.array([None if v is None else [v] for v in values],
                                                          pa.list_(label_type)))
        return table
    if args.distance != "nominal" and (pa.types.is_list(label_type) or pa.types.is_large_list(label_type)):
        _no_lists(table, args)
    if args.order is not None:
        return _ordered(table, args)
    if args.distance == "ordinal" and text:  # (interval and ratio: numbers already, by _numbers)
        try:  # numbers written as text: compare them as numbers (so that "10" comes after "9")
            table = table.set_column(2, "label", table.column("label").cast(pa.float64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            shown = sorted(set(table.column("label").drop_null().to_pylist()))
            raise CLIError(f"--distance ordinal needs the order of the text labels ({', '.join(shown[:5])}"
                           f"{', ...' if len(shown) > 5 else ''}): list them from lowest to highest with --order "
                           "L1,L2,... (their alphabetical order is no order)") from None
    return table


def _numbers(table: Any, args: argparse.Namespace) -> Any:
    """``table`` with text labels as the numbers they read as, by the rating models' rule
    (:func:`galton.data.judgments.number_labels`: `` 4`` is 4); refused as the rating models refuse
    text that is no number: the count of rows, a few of those labels and rows, and what to use."""
    import numpy as np
    import pyarrow as pa

    from ..data import plain_column
    from ..data.judgments import non_numeric_error, number_labels

    label = plain_column(table.column("label"))
    if not pa.types.is_string(label.type):
        return table
    coded = label.dictionary_encode()  # each distinct text read once
    names = np.array(coded.dictionary.to_pylist(), dtype=object)
    values, bad = number_labels(names)
    codes = coded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    if bad.any():
        raise CLIError(str(non_numeric_error(
            f"--distance {args.distance} needs", args.label_col, names, bad, codes,
            "Use --distance nominal for labels that are categories, or --distance ordinal (with --order L1,L2,... "
            "for text) for ordered ones")))
    return table.set_column(2, "label", pa.array(values[np.maximum(codes, 0)] if names.size else
                                                 np.zeros(codes.size), mask=codes < 0))


def _one_per_pair(table: Any, duplicates: str | None, rows: Any) -> tuple[Any, int, str | None]:
    """``table`` with the rows ``--duplicates`` keeps of those that repeat a (task, worker) pair
    (:func:`galton.data._repeats.one_row_per_pair`, as ``galton aggregate`` keeps them; ``rows``: the
    rows' positions in the input, None when they are its rows in order), how many it dropped, and
    without ``--duplicates`` the warning that they count as judgments of their own (alpha pairs a
    worker's repeated answers with each other, as crowd-kit's does). Rows without a task or a
    worker are left to the metric's own check."""
    import numpy as np
    import pyarrow as pa

    from ..data._repeats import one_row_per_pair, pairs_text, repeated_pairs
    from ..data._validate import null_mask

    if table.num_rows < 2:
        return table, 0, None
    valid = np.flatnonzero(~(null_mask(table.column("task")) | null_mask(table.column("worker"))))
    codes, names = [], []
    for c in ("task", "worker"):
        encoded = table.column(c).take(pa.array(valid)).combine_chunks().dictionary_encode()
        codes.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64))
        names.append(np.asarray(encoded.dictionary.to_pylist(), dtype=object))
    if duplicates is None:
        n, n_pairs, task, worker = repeated_pairs(codes[0], codes[1], len(names[1]))
        if not n:
            return table, 0, None
        shown = pairs_text(zip(names[0][task], names[1][worker]), n_pairs)
        return table, 0, (f"{n} row(s) repeat a (task, worker) pair ({shown}): each counts as a judgment of "
                          "its own (--duplicates keep, as crowd-kit), so alpha pairs a worker's repeated answers "
                          "with each other as two workers' judgments; pass --duplicates first or last to keep one "
                          "row of each pair, or --duplicates keep to count every row without this warning")
    at = valid if rows is None else np.asarray(rows)[valid]
    sel = one_row_per_pair(codes[0], codes[1], names[0], names[1], duplicates, rows=at, effect=None)
    if sel is None:  # keep, or raise with none repeated
        return table, 0, None
    keep = np.ones(table.num_rows, dtype=bool)
    keep[valid] = False
    keep[valid[sel]] = True
    return table.filter(pa.array(keep)), int(valid.size - sel.size), None


def _drop_invalid(table: Any, distance: str) -> tuple[Any, int, Any]:
    """``table`` without the rows whose task, worker or label is null or NaN (the mask every galton
    reader drops by), how many, and the positions of the rows kept (None: all). For a set distance,
    an empty text cell is a judgment with no tag (the empty set), not a missing value: only a missing
    task or worker drops it."""
    import numpy as np
    import pyarrow as pa

    from ..data._validate import null_mask

    t = table.schema.field("label").type
    t = t.value_type if pa.types.is_dictionary(t) else t
    text = pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
    cols = ["task", "worker"] if distance in ("jaccard", "masi") and text else ["task", "worker", "label"]
    bad = np.zeros(table.num_rows, dtype=bool)
    for c in cols:
        bad |= null_mask(table.column(c))
    if not bad.any():
        return table, 0, None
    return table.filter(pa.array(~bad)), int(bad.sum()), np.flatnonzero(~bad)


def _no_lists(table: Any, args: argparse.Namespace) -> None:
    """Refuse labels that are lists of tags for --distance ordinal, interval or ratio: a set of tags
    has no rank nor value (ranked as first seen, alpha changed with the order of the rows)."""
    values = [v for v in table.column("label").to_pylist() if v is not None]
    shown = ", ".join("[" + ", ".join(map(str, v)) + "]" for v in list(dict.fromkeys(tuple(v) for v in values))[:5])
    raise CLIError(f"--distance {args.distance} compares ordered values; column {args.label_col!r} holds lists of "
                   f"tags in {len(values)} row(s) (e.g. {shown}), which have none. Use --distance masi or jaccard "
                   "for sets of tags, or nominal for labels that are equal or not")


def _ordered(table: Any, args: argparse.Namespace) -> Any:
    """The labels replaced by their rank in ``--order`` (ordinal distance). The listed labels are read
    in the label column's type, as gold is: numbers as numbers (``1`` is ``1.0``), booleans as
    ``true`` / ``false`` (any case) or ``1`` / ``0``."""
    import numpy as np
    import pyarrow as pa

    from ..data._encode import bool_lookup, parse_number

    order = [x.strip() for x in args.order.split(",") if x.strip()]
    label_type = table.schema.field("label").type
    values = table.column("label").to_pylist()
    listed: list[Any] = list(order)
    if pa.types.is_boolean(label_type):
        codes = bool_lookup(np.array([False, True]), np.array(order, dtype=object)) if order else []
        if any(c < 0 for c in codes):
            raise CLIError(f"--order {args.order!r} must list true / false: the labels are booleans")
        listed = [bool(c) for c in codes]
    elif pa.types.is_integer(label_type) or pa.types.is_floating(label_type):  # numbers match as numbers: 1 is 1.0
        listed = [parse_number(x, "i" if pa.types.is_integer(label_type) else "f") for x in order]
        if any(x is None for x in listed):
            raise CLIError(f"--order {args.order!r} must list numbers: the labels are numbers")
    rank: dict[Any, int] = {label: i for i, label in enumerate(listed)}
    if len(rank) != len(order) or not order:
        raise CLIError(f"--order {args.order!r} must list each label once, lowest first")
    missing = sorted({v for v in values if v is not None and v not in rank})
    if missing:
        shown = ", ".join(_shown(v) for v in missing[:5])
        raise CLIError(f"--order leaves out label(s) {shown}{', ...' if len(missing) > 5 else ''}; "
                       "list every label, lowest first")
    return table.set_column(2, "label", pa.array([None if v is None else rank[v] for v in values], pa.int64()))


def _pairable(table: Any) -> Any:
    """The rows of ``table`` whose task has two or more (the units alpha measures): a task judged once
    agrees with its own majority, and 100 such tasks beside 10 of two disagreeing workers made the
    majority line 0.92 where alpha was -0.90."""
    import numpy as np
    import pyarrow as pa

    enc = table.column("task").combine_chunks().dictionary_encode()
    codes = enc.indices.fill_null(len(enc.dictionary)).to_numpy(zero_copy_only=False).astype(np.int64)
    return table.filter(pa.array(np.bincount(codes)[codes] >= 2))


def _shown(v: Any) -> str:
    """A label as the user writes it in --order: ``true`` / ``false`` for booleans."""
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _cmd_agreement(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .. import metrics

    if args.bootstrap < 0 or 0 < args.bootstrap < MIN_BOOTSTRAP:  # 1 resample gave an interval without alpha in it
        raise CLIError(f"--bootstrap must be 0 (no interval) or at least {MIN_BOOTSTRAP} resamples (as galton bench "
                       f"requires), not {args.bootstrap}: the percentiles of fewer draws are no interval")
    if args.order is not None and args.distance != "ordinal":  # before any reading: masi had ignored it
        raise CLIError(f"--order is for --distance ordinal, not {args.distance}")
    if args.tag_sep is not None and args.distance not in ("jaccard", "masi"):  # it was ignored without a word
        raise CLIError(f"--tag-sep is for --distance jaccard or masi (labels that are sets of tags), not "
                       f"{args.distance}")
    if args.tag_sep == "":
        raise CLIError("--tag-sep must be the character(s) between a judgment's tags, not empty (default: |)")
    check_memory_option(args)
    table, dropped, repeated, repeats = _table(args)
    if repeats is not None:
        err.write(f"{PROG}: warning: {repeats}\n")
    with collected() as caught, memory_guard(args):
        a = metrics.krippendorff(table, args.distance, bootstrap=args.bootstrap, seed=args.seed)
        majority = metrics.accuracy_on_aggregates(_pairable(table))
    report_warnings(caught, err)
    alpha = f"{a.alpha:.4f}"
    if args.bootstrap and a.low == a.low:
        alpha += f" (95% interval {a.low:.4f} .. {a.high:.4f}, {args.bootstrap} resamples of the tasks)"
    elif args.bootstrap:  # too many resamples without variation (the warning above counts them)
        alpha += f" (no 95% interval: too many of the {args.bootstrap} resamples of the tasks have no variation)"
    reading = next((text for bound, text in _READINGS if a.alpha >= bound), "unreliable (alpha < 0.667)")
    reading += "; Krippendorff's thresholds"
    if a.expected <= 0.0:  # alpha is 1.0 by convention: no reading of it
        reading = "none: every pairable judgment has the same label; there is no variation to measure"
    rows = [
        ("tasks", f"{a.tasks} ({a.units} with two or more judgments)"),
        ("workers", str(a.workers)),
        ("judgments", f"{a.judgments} ({a.values} on those tasks)"),
        ("labels", f"{a.labels}{' distinct sets of tags' if a.distance in ('jaccard', 'masi') else ''}"),
    ]
    said = [f"{dropped} rows with missing values"] if dropped else []
    said += [f"{repeated} {'' if dropped else 'rows '}repeating a (task, worker) pair"] if repeated else []
    if said:
        rows.append(("dropped", ", ".join(said)))
    rows += [
        ("distance", a.distance),
        ("alpha", alpha),
        ("reading", reading),
        ("observed", f"{a.observed:.6g} (mean disagreement of two judgments of one task)"),
        ("expected", f"{a.expected:.6g} (of two judgments drawn at random: chance)"),
        ("majority", f"{majority:.4f} (share of the judgments of tasks with two or more that equal their task's "
                     "majority label)"),
    ]
    width = max(len(k) for k, _ in rows) + 2
    for key, value in rows:
        out.write(f"{key:<{width}}{value}\n")
    return 0

