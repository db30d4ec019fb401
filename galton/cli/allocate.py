"""``galton allocate``: which task needs another judgment (:func:`galton.allocate`).

::

    galton allocate INPUT --budget N [--strategy eig|uncertainty|uniform] [--model NAME] [--param KEY=VALUE]
                    [--workers ID,ID,...|FILE] [--per-task N] [--per-worker N] [--window N]
                    [--seed N] [--engine local|ray] [--on-invalid raise|drop]
                    [--duplicates keep|first|last|raise] [--output next.csv]

The output is checked first (:func:`galton.io.plan_output`), then the input is read once, the
model fitted, the tasks scored and the ranked table written atomically (``.csv``, ``.tsv``,
``.jsonl``, ``.parquet`` or ``.pq``; ``-`` or no ``--output``: CSV on standard output).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any, TextIO

from .._warnings import collected
from ._common import (BUNDLED_PREFIX, PROG, CLIError, add_max_memory, add_on_invalid, check_memory_option,
                      check_readable, checked_params, distinct_columns, layout_by_model, memory_guard, model_name,
                      model_param, no_param_twice, one_line, read_table, report_warnings, seed)

__all__ = ["add_allocate", "cmd_allocate"]


def add_allocate(sub: Any) -> None:
    a = sub.add_parser(
        "allocate", help="rank the tasks (or task-worker pairs, or pairs of items) to ask next",
        description="Fit a model and write the BUDGET judgments to ask for next, ranked by expected "
        "gain: task (pairwise: left, right), worker (with --workers), rank, strategy, score, label, "
        "confidence (pairwise: p_left), judgments so far. See README, 'Which task needs another judgment'.",
    )
    a.add_argument("input", metavar="INPUT",
                   help="CSV/TSV/Parquet/JSON-lines file, a directory of Parquet files or a quoted pattern of them "
                        "('parts/*.parquet'), bundled:NAME, "
                   "or - for CSV on standard input")
    a.add_argument("--budget", "-n", type=int, required=True, metavar="N", help="judgments to ask for (>= 1)")
    a.add_argument("--strategy", "-s", choices=("eig", "uncertainty", "uniform"), default="eig",
                   help="eig: expected information gain (default; pairwise: about the pair's score difference); "
                   "uncertainty: 1 - max posterior (pairwise: the probability that the pair's current order is "
                   "wrong, Phi(-|d|/s)); uniform: fewest judgments first (pairwise: least-compared pairs; the "
                   "baseline)")
    a.add_argument("--model", "-m", default=None, type=model_name,
                   help="model name (see `galton models`); default (also --model default): galton's default "
                   "for the data (bds for categorical judgments, bt for pairwise)")
    a.add_argument("--param", type=model_param, action="append", default=None, metavar="KEY=VALUE",
                   help="a parameter of the model, repeatable, as for `galton aggregate` (`galton models NAME` "
                   "lists them): -m ds --param stopping=likelihood scores with DS run to convergence")
    a.add_argument("--workers", default=None, metavar="IDS|FILE",
                   help="the available workers: comma-separated ids, or a text file of ids (one a line or all on "
                   "one comma-separated line, in CSV quotes an id with a comma; a first line 'worker', or "
                   "--worker-col's name, is a header; a CSV table whose header names that column, such as "
                   "--workers-output's report, gives that column): rank (task, worker) pairs (pairwise data: "
                   "(left, right, worker) rows)")
    a.add_argument("--per-task", type=int, default=1, metavar="N", help="at most N rows per task (default 1)")
    a.add_argument("--per-worker", type=int, default=None, metavar="N",
                   help="with --workers: at most N rows per worker")
    a.add_argument("--window", type=int, default=None, metavar="N",
                   help="pairwise data: compare items at most N places apart in the ranking (default 5)")
    a.add_argument("--task-col", default="task", metavar="C", help="task column (default: task)")
    a.add_argument("--worker-col", default="worker", metavar="C", help="worker column (default: worker)")
    a.add_argument("--label-col", default="label", metavar="C", help="label column (default: label)")
    a.add_argument("--seed", type=seed, default=None, metavar="N",
                   help="seed of the fit and of the hash that orders rows of equal score (every strategy); "
                   "default 0")
    a.add_argument("--engine", choices=("local", "ray"), default=None, help="where the fit runs (default: local)")
    add_on_invalid(a)
    a.add_argument("--duplicates", choices=("keep", "first", "last", "raise"), default=None,
                   help="rows that repeat a (task, worker) pair (categorical data), as for `galton aggregate`: "
                   "keep each as a judgment of its own (keep; the default, with a warning when there are any), "
                   "keep the first or the last in row order (a directory's files in natural order: batch_9 before "
                   "batch_10), or fail (raise)")
    add_max_memory(a)
    a.add_argument("--output", "-o", default=None, metavar="FILE",
                   help="ranked table: .csv, .tsv, .parquet, .pq or .jsonl, written atomically, never over an input; "
                   "- (or no --output): CSV on standard output")
    a.add_argument("--quiet", "-q", action="store_true", help="no summary line, progress bar or warnings (errors "
                   "are still reported)")
    a.set_defaults(func=cmd_allocate)


def _load(spec: str, ids: tuple[str, ...] = (), quiet: bool = False, label_col: str = "label") -> Any:
    if spec.startswith(BUNDLED_PREFIX):
        from .. import datasets

        return datasets.load(spec[len(BUNDLED_PREFIX):], frame="arrow").judgments
    if spec != "-" and not Path(spec).exists():
        raise FileNotFoundError(f"input {spec!r} does not exist")
    check_readable(spec, "INPUT")
    from ..io import input_columns

    if {"left", "right"} <= set(input_columns(spec)):  # the winner is an item id, typed as left / right are, as
        ids = (*ids, label_col)  # aggregate reads it (a label 1.5 was a number beside the items' text "1.5")
    return read_table(spec, ids, quiet)  # a file without rows is refused, as by aggregate


def _renamed(table: Any, args: argparse.Namespace) -> Any:
    """The input with ``--task-col`` / ``--worker-col`` / ``--label-col`` renamed to galton's names
    (the output then says ``task``)."""
    given = {args.task_col: "task", args.worker_col: "worker", args.label_col: "label"}
    given = {k: v for k, v in given.items() if k != v}
    if not given:
        return table
    missing = [c for c in given if c not in table.column_names]
    if missing:
        raise CLIError(f"missing column(s) {missing}; the input has {table.column_names}")
    clash = [v for v in given.values() if v in table.column_names and v not in given]
    if clash:
        raise CLIError(f"the input already has column(s) {clash}; rename them or choose other columns")
    return table.rename_columns([given.get(c, c) for c in table.column_names])


def cmd_allocate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .._api import detect_kind
    from ..allocate import allocate
    from ..io import plan_output, write_table

    if args.budget < 1:
        raise CLIError(f"--budget must be >= 1, not {args.budget}")
    path = None if args.output in (None, "-") else args.output
    if path is not None:
        if not Path(path).suffix:
            raise CLIError(f"--output must be a file (.csv, .tsv, .jsonl, .parquet or .pq), not {path!r}; for CSV on "
                           "standard output pass --output - or leave --output out")
        workers_file = args.workers if args.workers is not None and _names_a(args.workers, "file") else None
        plan_output(path, inputs=[args.input, workers_file], what="--output")  # --workers FILE is an input too
    distinct_columns(args)
    check_memory_option(args)
    no_param_twice(args)  # --seed and --param random_state=..., or one --param twice, as aggregate refuses
    if args.per_worker is not None and args.workers is None:  # it limited nothing, without a word
        raise CLIError("--per-worker limits the rows given to each worker of --workers; pass --workers too")
    for option, value in (("--per-task", args.per_task), ("--per-worker", args.per_worker), ("--window", args.window)):
        if value is not None and value < 1:
            raise CLIError(f"{option} must be >= 1, not {value}")
    workers = None if args.workers is None else _worker_ids(args.workers, args.worker_col)
    start = time.perf_counter()
    data = _load(args.input, (args.task_col, args.worker_col), args.quiet, args.label_col)
    layout = layout_by_model(args, data.column_names, "pass --model with a categorical model (such as -m bds) "
                             "or a pairwise one (such as -m bt)")  # both layouts: the model's kind chooses
    if args.window is not None and not {"left", "right"} <= set(data.column_names):  # it changed nothing
        raise CLIError("--window is for pairwise data (left, right columns): how far apart in the ranking "
                       "two items may be to be compared")
    if args.duplicates is not None and (layout or detect_kind(data.column_names)) == "pairwise":
        raise CLIError("--duplicates is for categorical data (task, worker, label); this input is pairwise")
    data = _renamed(data, args)
    if workers is not None:
        workers = _typed_workers(data, workers)
    model = args.model if not (args.param or args.quiet) else _configured(data, args)
    with collected() as caught, memory_guard(args):
        if args.on_invalid == "drop":  # galton.allocate reads the data as it is: fit here, dropping rows
            data, model = None, _fitted_dropping(data, model, args)
        table = allocate(data, args.budget, strategy=args.strategy, model=model, workers=workers,
                         per_task=args.per_task, per_worker=args.per_worker,
                         window=args.window,
                         random_state=_seed(args), engine=args.engine, output="arrow",
                         **({} if data is None else {"duplicates": args.duplicates}))
    if not args.quiet:
        report_warnings(caught, err)
    write_table(table, "-" if path is None else path)
    if not args.quiet:
        where = err if path is None else out
        where.write(f"{PROG}: {table.num_rows} judgment(s) to ask for by {args.strategy} "
                    f"({time.perf_counter() - start:.1f} s){'' if path is None else ' -> ' + path}\n")
    return 0


def _fitted_dropping(data: Any, model: Any, args: argparse.Namespace) -> Any:
    """The model fitted on ``data`` as :func:`galton.allocate` fits it, with ``on_invalid="drop"``
    (rows with a missing value, or pairwise rows with a label that is neither item, left out)."""
    from .._api import aggregate

    params: dict[str, Any] = {"on_invalid": "drop"}
    if args.duplicates is not None:
        params["duplicates"] = args.duplicates
    if model is None or isinstance(model, str):  # a configured model object keeps its own seed
        params["random_state"] = _seed(args)
    if args.engine is not None:
        params["engine"] = args.engine
    return aggregate(data, model, **params)


def _configured(data: Any, args: argparse.Namespace) -> Any:
    """The model of ``--model`` (else galton's default for the data) built with ``--param``, seeded
    with ``--seed`` unless a parameter says otherwise, without its progress bar under ``--quiet``."""
    from .. import aggregator
    from .._api import detect_kind

    columns = list(data.column_names if hasattr(data, "column_names") else data.columns)
    name = args.model or aggregator.default_name(detect_kind(columns))  # the rule galton.aggregate uses
    cls = aggregator.get(name)
    params = checked_params(cls, args.param, name, getattr(args, "cli_options", None))
    if "random_state" in aggregator.parameters(cls):
        params.setdefault("random_state", _seed(args))
    if args.quiet and "progress" in aggregator.parameters(cls):  # as galton aggregate -q: no bar on a terminal
        params["progress"] = False
    return cls(**params)


def _seed(args: argparse.Namespace) -> int:
    """``--seed``, 0 when not given (None tells only that it was not: ``--param random_state`` may
    then set the fit's)."""
    return 0 if args.seed is None else args.seed


def _names_a(spec: str, kind: str) -> bool:
    """``Path(spec).is_file()`` (``kind`` "file") or ``.is_dir()``, False for a name no file can have:
    a list of ids over 255 characters failed with "[Errno 36] File name too long"."""
    try:
        return Path(spec).is_file() if kind == "file" else Path(spec).is_dir()
    except OSError:
        return False


def _worker_ids(spec: str, worker_col: str = "worker") -> list[str]:
    """The ids of ``--workers``: a text file of ids when ``spec`` names a file, else comma-separated. A
    file's first line ``worker`` or ``worker_col`` (the input's worker column) is a header (``rater``
    became a rater of its own, welcome to plain Bradley-Terry)."""
    if _names_a(spec, "file"):
        check_readable(spec, "--workers")
        try:
            text = Path(spec).read_text(encoding="utf-8-sig")  # a byte-order mark is no part of the first id
        except (OSError, UnicodeDecodeError) as exc:
            raise CLIError(f"--workers {spec!r}: cannot read it as UTF-8 text ({one_line(exc)})") from None
        from ..io._text import csv_fields_unlimited  # not at import: galton.io loads pyarrow

        with csv_fields_unlimited():  # an id of any length (the csv module's default limit is 131072)
            rows = [(n, [field.strip() for field in row]) for n, row in enumerate(csv.reader(text.splitlines()), 1)]
        ids = _file_ids(spec, [(n, row) for n, row in rows if any(row)], worker_col)  # CSV: "Smith, J" is one id
        if not ids:
            raise CLIError(f"--workers file {spec!r} is empty; give worker ids, one a line or comma-separated")
        return ids
    if _names_a(spec, "dir"):  # it was taken for a worker id
        raise CLIError(f"--workers {spec!r} names a directory; give the worker ids, comma-separated, or a text file "
                       "of ids (one a line)")
    if "/" in spec or "\\" in spec or Path(spec).suffix.lower() in (".txt", ".csv", ".tsv", ".lst"):
        # a mistyped file name became a worker id, and plain Bradley-Terry welcomes new raters
        raise CLIError(f"--workers {spec!r}: no such file; give an existing file of ids (one a line) "
                       f"or the ids themselves, comma-separated")
    ids = [w.strip() for w in spec.split(",") if w.strip()]
    if not ids:
        raise CLIError("--workers is empty; give worker ids, comma-separated, or a file of ids, one a line")
    return ids


def _file_ids(spec: str, rows: list[tuple[int, list[str]]], worker_col: str) -> list[str]:
    """The ids of a ``--workers`` file's non-empty ``(line number, fields)`` rows: one a line, or all on
    one comma-separated line, under an optional header ``worker`` (or ``worker_col``); a table whose
    header names that column gives that column (its other columns, "team" and their values, were
    taken for worker ids), and other lines of several fields are refused."""
    header = rows[0][1] if rows else []
    if len(header) > 1 and (worker_col in header or "worker" in header):  # a table: its worker column
        name = worker_col if worker_col in header else "worker"
        col = header.index(name)
        short = [n for n, row in rows[1:] if len(row) <= col or not row[col]]
        if short:
            raise CLIError(f"--workers file {spec!r}: {len(short)} row(s) without a value in its column {name!r} "
                           f"(line(s) {', '.join(map(str, short[:5]))}); give every row a worker id")
        return [row[col] for _, row in rows[1:]]
    if header in (["worker"], [worker_col]):
        rows = rows[1:]
    wide = [(n, row) for n, row in rows if len(row) > 1]
    if wide and len(rows) > 1:  # a table without a header naming the worker column: which field is the id?
        shown = "; ".join(f"line {n}: {','.join(row)[:40]!r}" for n, row in wide[:3])
        raise CLIError(f"--workers file {spec!r} has {len(wide)} line(s) of several fields ({shown}); give one id a "
                       f"line, all ids on one comma-separated line, or a table whose header names the worker "
                       f"column ({worker_col!r}), whose ids are then taken")
    return [field for _, row in rows for field in row if field]


def _typed_workers(table: Any, workers: list[str]) -> list[Any]:
    """Worker ids typed as the input's worker column (integers when that column is integer)."""
    import pyarrow as pa

    if "worker" in table.column_names and pa.types.is_integer(table.schema.field("worker").type):
        try:
            return [int(w) for w in workers]
        except ValueError:
            raise CLIError(f"--workers: this input's worker ids are integers, not {workers[:3]}") from None
    return workers
