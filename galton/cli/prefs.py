"""``galton aggregate`` for the other kinds of data: pairwise comparisons, best-of-n choices and
numeric ratings. Writes one row per item (or task) with its score; for pairwise data also the
aggregated preference probability of every compared pair, next to the main output."""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

__all__ = ["KINDS", "detect_kind", "aggregate_other", "data_options"]

from .._api import detect_kind  # noqa: E402  (one rule for the CLI and galton.aggregate)
from .._warnings import collected  # noqa: E402
from ._outputs import pairs_path  # noqa: E402

KINDS = ("auto", "categorical", "pairwise", "choice", "rating", "multilabel")

#: the column options each kind of data reads, as the keyword arguments of its reader
COLUMN_OPTIONS = {"pairwise": {"--worker-col": "worker_col", "--label-col": "label_col"},
                  "choice": {"--worker-col": "worker_col"},
                  "rating": {"--task-col": "task_col", "--worker-col": "worker_col", "--label-col": "label_col"}}
#: the columns a kind of data reads by their names (no option names them)
FIXED_COLUMNS = {"pairwise": ("left", "right"), "choice": ("options", "choice", "ranking")}
#: the rows ``--on-invalid drop`` leaves out, by kind of data (the summary's "dropped" line)
DROPPED = {"pairwise": "rows with a missing value, an item compared with itself or a label that is neither item",
           "choice": "rows with a missing value, fewer than 2 options, a repeated option or a choice outside the "
                     "options",
           "rating": "rows with a missing value or a rating that is no usable number"}
#: what a kind of data reads instead of a column option it has no use for
NO_COLUMN = {"pairwise": "pairwise data reads worker, left, right, label (--label-col names the column of the "
                         "preferred item) and has no task column",
             "choice": "choice data reads worker, options, choice (or worker, ranking): rename the options / "
                       "choice / ranking columns to those names"}


def data_options(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """The reading options of ``kind``'s data from ``--task-col``, ``--worker-col``,
    ``--label-col`` and ``--on-invalid`` (they were ignored: a ``rater`` column was not read as the
    workers); an option the kind has no use for is refused rather than ignored."""
    from ._common import CLIError

    given = {"--task-col": (args.task_col, "task"), "--worker-col": (args.worker_col, "worker"),
             "--label-col": (args.label_col, "label")}
    options: dict[str, Any] = {"on_invalid": args.on_invalid}
    if kind == "rating" and getattr(args, "duplicates", None) is not None:  # given: no warning of repeats
        options["duplicates"] = args.duplicates
    for option, (value, default) in given.items():
        key = COLUMN_OPTIONS[kind].get(option)
        if key is not None:
            options[key] = value
        elif value != default:
            raise CLIError(f"{option} is not for {kind} data: {NO_COLUMN[kind]}")
    for option, key in COLUMN_OPTIONS[kind].items():  # a column the kind reads by its name: a KeyError
        if options[key] in FIXED_COLUMNS.get(kind, ()):
            fixed = FIXED_COLUMNS[kind]
            raise CLIError(f"{option} {options[key]!r} is also the {options[key]} column: {kind} data reads the "
                           f"{', '.join(fixed[:-1])} and {fixed[-1]} columns by their names, so "
                           f"{' and '.join(COLUMN_OPTIONS[kind])} must name "
                           f"{'other columns' if len(COLUMN_OPTIONS[kind]) > 1 else 'another column'}")
    return options


def aggregate_other(kind: str, data: Any, args: argparse.Namespace, out: TextIO, err: TextIO,
                    model_params: Any) -> int:
    """Fit the model for ``kind`` on ``data`` and write / print its scores."""
    from .. import aggregator
    from ..io import Outputs
    from ._common import NO_OUTPUT, CLIError, checkpoint_rows, report_warnings

    name = args.model or aggregator.default_name(kind)
    cls = aggregator.get(name)
    if getattr(cls, "kind", "categorical") != kind:
        valid = ", ".join(aggregator.names(kind=kind))
        raise CLIError(f"model {name!r} is not for {kind} data; use one of: {valid}")
    from .._api import aggregate

    options = data_options(kind, args)
    params = model_params(cls, args, name)
    address = args.ray_address if params.get("engine") == "ray" else None  # as categorical data's (it was dropped)
    t0 = time.perf_counter()
    with collected() as caught:
        model = aggregate(data, name, kind=kind, output="arrow", address=address, **params, **options)
    seconds = time.perf_counter() - t0
    if not getattr(args, "quiet", False):  # --quiet: no summary, progress bar or warnings
        report_warnings(caught, err)
    scores = model.scores_
    pairs = getattr(model, "pair_probas_", None)
    intervals = getattr(model, "intervals_", None) if kind == "rating" else None
    workers = getattr(args, "workers_output", None)
    report = None
    with Outputs() as outs:  # scores, pair probabilities and worker report: all of them or none
        if args.output is not None:  # ratings with their standard errors and 95% intervals, as pairwise scores
            outs.table(intervals if intervals is not None and "score" in intervals.column_names else scores,
                       args.output)
            if pairs is not None and args.output != "-":
                outs.table(pairs, pairs_path(args.output))
        if workers is not None:  # the rater report of this kind (reliability, agreement, bias, noise)
            from ..aggregator.worker_report import worker_report

            report = worker_report(model, output="arrow")
            outs.table(report, workers)
    if args.output == "-" and pairs is not None and not getattr(args, "quiet", False):
        err.write("galton: note: the pair probabilities are not written with --output -\n")
    key = scores.column_names[0]
    top = scores.sort_by([("score", "descending")]).slice(0, 5)
    converged = getattr(model, "converged_", None)
    # a rating model's one weight step (CATD's default) is asked for, not a fit that ran out of iterations
    one_step = "one step (n_iter=1)" if kind == "rating" and getattr(model, "n_iter", None) == 1 else ""
    rows = [("kind", kind), ("model", name), (f"{key}s", f"{scores.num_rows:,}"),
            ("iterations", str(getattr(model, "n_iter_", "-"))),
            ("converged", "-" if converged is None else ("yes" if converged else one_step or "no")),  # as categorical's
            *checkpoint_rows(model, args),
            ("seconds", f"{seconds:.2f}"),
            ("top 5", ", ".join(f"{k} ({v:.3g})" for k, v in zip(top.column(key).to_pylist(),
                                                                  top.column("score").to_pylist())))]
    data = getattr(model, "judgments_" if kind == "rating" else "comparisons_", None)
    dropped = int(getattr(data, "n_dropped", 0) or 0)  # --on-invalid drop: said, as for categorical data
    if dropped:
        why = ", or repeating a (task, worker) pair" if getattr(args, "duplicates", None) in ("first", "last") else ""
        rows.insert(3, ("dropped", f"{dropped:,} {DROPPED[kind]}{why}"))  # after the items (tasks)
    rows.append(("output", NO_OUTPUT if args.output is None else args.output + (
        f" (+ {pairs_path(args.output).name})" if pairs is not None and args.output != "-" else "")))
    anonymous = kind != "rating" and data is not None and list(data.worker_names) == [""]  # no worker column
    if anonymous:
        rows.append(("workers", "none (one anonymous worker)" + (f"; report in {workers}" if report else "")))
    elif report is not None:
        rows.append(("workers", f"{report.num_rows:,} in {workers}"))
    if not getattr(args, "quiet", False):
        for k, v in rows:
            out.write(f"{k:<12}{v}\n")
    return 0
