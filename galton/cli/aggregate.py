"""``galton aggregate``: the aggregate subcommand of :mod:`galton.cli`.

The outputs are checked first (:func:`galton.io.plan_output`: never an input, never inside or
around an input, never a directory galton did not write), then the input is read once (stdin and
pipes cannot be read twice) and its kind detected from the columns, then the model is fitted and
the results are written atomically (or to stdout with ``-o -``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .._api import aggregate
from .._warnings import collected
from ..io import input_columns
from ..data._items import text_items, whole_labels
from ..data.judgments import label_lookup
from ._common import (BUNDLED_PREFIX, NO_OUTPUT, PROG, CLIError, check_kind_options, check_memory_option,
                      check_readable, checked_params, checkpoint_options, checkpoint_rows, distinct_columns,
                      layout_by_model, memory_guard, no_common_task, no_param_twice, one_line, read_table,
                      reader_errors, report_warnings)
from ._calibration import calibration_said
from ._outputs import dir_output, plan_outputs
from .prefs import aggregate_other, detect_kind

__all__ = ["cmd_aggregate", "load_input"]


def load_input(spec: str) -> tuple[Any, Any]:
    """(data, the bundled dataset's gold or None) for an INPUT argument."""
    if spec.startswith(BUNDLED_PREFIX):
        from .. import datasets

        name = spec[len(BUNDLED_PREFIX):]
        ds = datasets.load(name, frame="arrow")
        return ds.judgments, ds.gold
    path = Path(spec)
    if not path.exists():
        hint = ""
        if ":" not in spec:
            from .. import datasets

            if spec in datasets.names():
                hint = f"; for the bundled dataset write bundled:{spec}"
        raise FileNotFoundError(f"input {spec!r} does not exist{hint}")
    return str(path), None


def _read_gold(gold: Any, task_col: str, label_col: str, err: TextIO, quiet: bool) -> Any:
    """Gold as a pyarrow Table with columns task, label: one row per task, by the one set of gold
    rules (galton._gold.read_gold); task ids are matched to the judgments' type later. Rows without a
    task or label are skipped with a warning on ``err`` (none if ``quiet``); a file with no row left
    (or none at all: a header alone) is refused, not reported as gold that shares no task."""
    import pyarrow as pa

    from .._gold import SIMULATED_TRUTH, read_gold

    from ..io import to_arrow

    try:
        table = to_arrow(gold, ids=(task_col, "task", label_col, "label", SIMULATED_TRUTH))  # labels as written
    except (OSError, ValueError, *reader_errors()) as exc:  # an empty directory said nothing of --gold
        raise CLIError(f"cannot read --gold {gold!r}: {one_line(exc)}") from None
    what = "--gold" if isinstance(gold, str) else "gold"  # a bundled dataset's own gold, or the file given
    if table.num_rows == 0:
        raise CLIError(f"{what} {gold!r} has no rows (only a header): there is no gold to score against; "
                       "give it one row per task with its label, or drop --gold")
    tcol = task_col if task_col in table.column_names else "task"
    lcol = label_col if label_col in table.column_names else "label"
    with collected() as caught:
        tasks, values = read_gold(table, task_col=tcol, label_col=lcol, what=what)
    if not quiet:
        report_warnings(caught, err)
    return pa.table({"task": pa.array(tasks.tolist()) if tasks.dtype == object else tasks,
                     "label": pa.array(values.tolist()) if values.dtype == object else values})


def _gold_pairs(table: Any, judgments: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """(task codes, gold label values) for the gold tasks that have judgments, and how many gold
    tasks have none (left out of the accuracy); refused when it shares no task or no label with them."""
    from .._gold import read_gold
    from ..data._validate import examples

    tasks, values = read_gold(table, judgments.task_names, labels=judgments.label_names)  # in the labels' type
    tidx = judgments.task_index(tasks)
    keep = tidx >= 0
    if not keep.any():
        raise no_common_task(tasks[:3].tolist(), judgments.task_names[:3].tolist())
    if judgments.n_labels and not (label_lookup(judgments.label_names, values[keep]) >= 0).any():
        given, names = examples(list(dict.fromkeys(values[keep].tolist())), 3), examples(judgments.label_names, 5)
        raise CLIError(f"--gold's labels are none of the judgments' (gold labels look like [{given}], the judgments' "
                       f"are [{names}]): every gold task would score wrong; write them as the judgments' are")
    return tidx[keep].astype(np.int64), values[keep], int((~keep).sum())


def _accuracy(pred_codes: np.ndarray, gold_values: np.ndarray, label_names: np.ndarray) -> int:
    """Number of tasks whose label is the gold's, gold found in the label set as gold given to a
    fit is (``label_lookup``: text "true" is the boolean label True; as text it missed it)."""
    return int(np.sum(label_lookup(label_names, gold_values) == np.asarray(pred_codes)))


def _model_params(cls: type, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """Constructor parameters from the command line; refuses options the model cannot use."""
    from ..aggregator import parameters

    accepted = set(parameters(cls))
    no_param_twice(args)
    params: dict[str, Any] = {}
    engine = args.engine
    if args.ray_address is not None:
        if engine == "local":
            raise CLIError("--ray-address needs --engine ray")
        engine = "ray"
    # the iteration limit: max_iter, or n_iter where a model has only that (ratings, pairwise, KOS)
    limit = "max_iter" if "max_iter" in accepted or "n_iter" not in accepted else "n_iter"
    for option, key, value in (("--engine", "engine", engine), ("--shards", "n_shards", args.shards),
                               ("--max-iter", limit, args.max_iter)):
        if value is None:
            continue
        if key not in accepted:
            raise CLIError(f"model {name!r} does not take {option} (it is not an iterative model)")
        params[key] = value
    if args.shards is not None and args.shards < 1:
        raise CLIError(f"--shards must be >= 1, not {args.shards}")
    if args.max_iter is not None and args.max_iter < 0:  # 0: the model's start, as --param n_iter=0 (crowd-kit's too)
        raise CLIError(f"--max-iter must be >= 0 (0: the model's starting estimate, no iteration), not {args.max_iter}")
    if args.seed is not None and "random_state" in accepted:
        params["random_state"] = args.seed
    params.update(checkpoint_options(cls, args, name))
    if getattr(args, "uncalibrated", False):
        if "calibrate" not in accepted:
            kind = getattr(cls, "kind", "categorical")
            raise CLIError(f"model {name!r} does not take --uncalibrated (it reports its probabilities as "
                           "fitted already)" if kind == "categorical" else
                           f"model {name!r} does not take --uncalibrated: it aggregates {kind} data into "
                           "scores, with no probabilities to calibrate; drop --uncalibrated")
        params["calibrate"] = False
    if "progress" in accepted:
        params["progress"] = False if args.quiet else None  # None: shown on a TTY after 1 s
    params.update(checked_params(cls, getattr(args, "param", None), name, getattr(args, "cli_options", None)))
    return params


def _schema_only(spec: str) -> bool:
    """True when the input's columns can be read without reading (or consuming) its data: a
    regular Parquet file, a directory of Parquet files or a glob."""
    import stat

    if spec == "-" or spec.startswith(BUNDLED_PREFIX):
        return False
    if any(c in spec for c in "*?[") and not os.path.exists(spec):
        return True
    try:
        mode = os.stat(spec).st_mode
    except OSError:
        return False
    return stat.S_ISDIR(mode) or (stat.S_ISREG(mode) and Path(spec).suffix.lower() in (".parquet", ".pq"))


def _label_lists(args: argparse.Namespace, table: Any) -> bool:
    """Whether the label column holds lists (multilabel data): from the table read, else from the
    Parquet schema (footers only)."""
    from .multilabel import is_list_column

    if table is not None:
        return is_list_column(table, args.label_col)
    from ..io import input_files
    from ..io._read import parquet_schema

    try:
        return is_list_column(parquet_schema(input_files(args.input)[:1]), args.label_col)
    except (OSError, ValueError, *reader_errors()):
        return False  # the reader reports it when the data is read


def _write_results(model: Any, path: str, top: int | None, outs: Any) -> None:
    """The results table (``top``: the most probable labels only) to a file or stdout, or to
    ``path/part-00000.parquet`` when ``path`` has no extension (or ends with ``/``), as one of the
    command's :class:`galton.io.Outputs` (renamed into place with the others, or not at all)."""
    from ..io import results_table, write_table

    if not dir_output(path):
        outs.table(results_table(model, top=top), path)
        return
    with outs.directory(path, kind="results") as tmp:
        write_table(results_table(model, top=top), tmp / "part-00000.parquet")


def _write_workers(model: Any, path: str | None, outs: Any) -> list[tuple[str, str]]:
    """The worker report to ``path``, as one of the command's outputs; summary rows for it."""
    if path is None:
        return []
    from ..aggregator.worker_report import worker_report

    table = worker_report(model, output="arrow")
    outs.table(table, path)
    flags = ("constant", "uninformative", "adversarial", "too_little_data")
    counts = ", ".join(f"{sum(table.column(f).to_pylist())} {f.replace('_', ' ')}" for f in flags)
    return [("flagged", f"{counts} (of {table.num_rows} workers)"), ("workers output", path)]


def _sharded_input(spec: str, cls: type, params: dict[str, Any]) -> bool:
    """True when the input goes through distributed ingest: --engine ray, an EM model, and a
    directory, glob or Parquet file."""
    from ..aggregator import EMAggregator

    if params.get("engine") != "ray" or not issubclass(cls, EMAggregator) or spec.startswith(BUNDLED_PREFIX):
        return False
    path = Path(spec)
    return path.is_dir() or any(c in spec for c in "*?[") or path.suffix.lower() in (".parquet", ".pq")


def _aggregate_sharded(args: argparse.Namespace, out: TextIO, err: TextIO, cls: type, name: str,
                       params: dict[str, Any]) -> int:
    """``--engine ray`` on Parquet files: read in parallel by Ray tasks straight into the shard
    actors (galton.workers.ingest); a directory --output is written by the shards themselves."""
    from ..io import results_table, write_table
    from ..workers import ShardedCodesError, fit_parquet
    from ..workers.sharded import GoldSharesNoTaskWarning

    gold = None if args.gold is None else _read_gold(args.gold, args.task_col, args.label_col, err, args.quiet)
    if args.use_gold and gold is None:
        raise CLIError("--use-gold needs --gold FILE")
    to_dir = dir_output(args.output)
    fit_keys = ("engine", "n_shards", "checkpoint_dir", "checkpoint_every")
    model = cls(**{k: v for k, v in params.items() if k not in fit_keys})
    with collected(errors=(GoldSharesNoTaskWarning,)) as caught:  # that one refused before the fit, as locally
        start = time.perf_counter()
        try:
            with memory_guard(args):
                data = fit_parquet(
                    model, args.input, address=args.ray_address, n_shards=args.shards,
                    results_dir=args.output if to_dir else None, task_col=args.task_col,
                    worker_col=args.worker_col, label_col=args.label_col, on_invalid=args.on_invalid,
                    duplicates=args.duplicates, gold=gold if args.use_gold else None,
                    checkpoint_dir=params.get("checkpoint_dir"),
                    checkpoint_every=params.get("checkpoint_every", 1), results_top=args.top,
                )
        except reader_errors() as exc:
            raise CLIError(f"cannot read {args.input!r}: {one_line(exc)}") from None
        except GoldSharesNoTaskWarning as exc:  # raised by ingest, before the fit
            raise no_common_task(exc.gold_ids, exc.data_ids) from None
        except ShardedCodesError as exc:  # the model reads per-judgment codes in the driver
            raise CLIError(f"model {name!r} cannot run on distributed ingest yet ({one_line(exc)}); "
                           "use --engine local, or another model such as ds") from None
        seconds = time.perf_counter() - start
    gold_pairs = None
    if gold is not None and model.label_codes_ is not None:
        gold_pairs = _gold_pairs(gold, data)
    elif gold is not None and not args.quiet:
        err.write(f"{PROG}: note: no accuracy: the labels went to {args.output} without passing "
                  "through this process\n")
    if args.output is not None and not to_dir:  # one file: sorted by task, as a local fit's (not in shard order)
        write_table(results_table(model, top=args.top).sort_by("task"), args.output)
    if not args.quiet:
        report_warnings(caught, err)
        _summary(err if args.output == "-" else out, model, data, name, cls, seconds, gold_pairs, args,
                 checkpoint_rows(model, args))
    return 0


def cmd_aggregate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``galton aggregate``: refuse the outputs, read the input once, fit, write, summarise."""
    from .. import aggregator
    from ..judgments import Judgments

    check_memory_option(args)
    distinct_columns(args)
    ids = (args.task_col, args.worker_col)  # their text comes back as written, as task's and worker's
    if args.kind == "multilabel":  # CSV tags too: "1.0" stays the tag 1.0, whatever the other rows hold
        ids += (args.label_col,)
    plan_outputs(args, "pairwise" if args.kind == "pairwise" else None)  # before anything is read
    if args.gold is not None and not Path(args.gold).exists():
        raise FileNotFoundError(f"gold file {args.gold!r} does not exist")
    check_readable(args.input, "INPUT")
    if args.gold is not None:
        check_readable(args.gold, "--gold")
    summary_out = err if args.output == "-" else out  # stdout carries the CSV results
    bundled = args.input.startswith(BUNDLED_PREFIX)
    table, gold, kind = None, None, "categorical"
    if bundled:  # task, worker, label: classes, or levels a rating model reads as numbers (as from a file)
        if args.kind not in ("auto", "categorical", "rating"):
            raise CLIError(f"{args.input} holds categorical judgments (task, worker, label); --kind {args.kind} "
                           "does not apply to it")
        kind = "rating" if args.kind == "rating" else kind
        table, gold = load_input(args.input)
    else:
        if args.input != "-" and not any(c in args.input for c in "*?["):
            load_input(args.input)  # a missing file fails here with its message
        if _schema_only(args.input):
            columns = input_columns(args.input)
        else:
            if args.kind == "pairwise" or {"left", "right"} <= set(input_columns(args.input)):
                ids = (*ids, args.label_col)  # the winner is an item id: typed as left / right are (1.5 became 1.5)
            table = read_table(args.input, ids, args.quiet)  # once: stdin and FIFOs cannot be read twice
            columns = table.column_names
        if args.kind != "categorical":  # --task-col's column is a task column (judgments, not rankings)
            kind = detect_kind(["task" if c == args.task_col else c for c in columns], args.kind)
        if args.kind == "auto" and (kind == "pairwise" or args.task_col in ("left", "right")):  # task, worker,
            # label and left, right (--task-col left: the left items as tasks): --model's kind, none refused
            kind = layout_by_model(args, columns, "pass --kind categorical or --kind pairwise") or kind
        if kind == "categorical" and args.kind == "auto" and _label_lists(args, table):
            kind = "multilabel"
    if kind == "categorical" and args.model:  # a rating, pairwise or choice model names its own kind
        model_kind = getattr(aggregator.get(args.model), "kind", "categorical")
        if model_kind == "rating" and args.kind == "auto":
            kind = "rating"
        elif model_kind != "categorical":
            hint = "add --kind rating" if model_kind == "rating" else ("it reads worker, left, right, label"
                                                                       if model_kind == "pairwise"
                                                                       else "it reads worker, options, choice")
            raise CLIError(f"--model {args.model} is a {model_kind} model and {args.input} holds categorical "
                           f"judgments (task, worker, label); {hint}, or pick a categorical model (galton models)")
    check_kind_options(args, kind)
    if args.duplicates is not None and kind not in ("categorical", "multilabel", "rating"):
        raise CLIError(f"--duplicates is for categorical, multilabel and rating data (task, worker, label); this "
                       f"input is {kind}")
    if kind == "multilabel":
        if dir_output(args.output):
            raise CLIError("--output for multilabel data must be a file (.parquet, .pq, .csv, .tsv, .jsonl) or -")
        from .multilabel import aggregate_multilabel

        data = table if table is not None else read_table(args.input, ids, args.quiet)
        with memory_guard(args):
            return aggregate_multilabel(data, args, summary_out, err, _model_params)
    if kind != "categorical":
        plan_outputs(args, kind)
        if dir_output(args.output):
            raise CLIError(f"--output for {kind} data must be a file (.parquet, .pq, .csv, .tsv, .jsonl) or -")
        data = table if table is not None else read_table(args.input, ids, args.quiet)
        if kind == "pairwise" and table is not None:  # read from text here: its item columns as one type,
            if args.label_col in data.column_names and {"left", "right"} <= set(data.column_names):
                data = whole_labels(data, args.label_col, ["left", "right"])  # 1.0 (pandas' floats) is item 1
            data = text_items(data, [c for c in ("left", "right", args.label_col) if c in data.column_names])
        with memory_guard(args):
            return aggregate_other(kind, data, args, summary_out, err, _model_params)
    name = args.model or aggregator.default_name()
    cls = aggregator.get(name)  # unknown name: ValueError listing the valid ones
    name = getattr(cls, "registry_name", name)
    params = _model_params(cls, args, name)
    if table is None and _sharded_input(args.input, cls, params):
        if args.workers_output is not None:
            raise CLIError("--workers-output needs the judgments in this process, and --engine ray on "
                           "Parquet input reads them straight into the shard actors; drop one of the two")
        return _aggregate_sharded(args, out, err, cls, name, params)

    if table is None:
        table = read_table(args.input, ids, args.quiet)
    try:
        with collected() as read_warnings:  # as galton's warnings, one line each
            judgments = Judgments.from_any(
                table, task_col=args.task_col, worker_col=args.worker_col, label_col=args.label_col,
                on_invalid=args.on_invalid, duplicates=args.duplicates or "keep",
            )
    except reader_errors() as exc:  # a file the readers cannot parse
        raise CLIError(f"cannot read {args.input!r}: {one_line(exc)}") from None
    if not args.quiet:  # -q: no warnings (the Python warning printed even then)
        report_warnings(read_warnings, err)
    if args.gold is not None:
        gold = args.gold
    if args.use_gold and gold is None:
        raise CLIError("--use-gold needs --gold FILE (or a bundled:NAME input that has gold)")
    gold_table = None if gold is None else _read_gold(gold, args.task_col, args.label_col, err, args.quiet)
    gold_pairs = None if gold_table is None else _gold_pairs(gold_table, judgments)

    address = args.ray_address if params.get("engine") == "ray" else None
    with collected() as caught:
        start = time.perf_counter()
        try:
            with memory_guard(args):  # the library's one entry point, as in Python
                model = aggregate(judgments, name, gold=gold_table if args.use_gold else None,
                                  address=address, **params,  # --duplicates given: no warning of repeats
                                  **({} if args.duplicates is None else {"duplicates": "keep"}))
        except ValueError as exc:
            if args.use_gold and "drop gold=" in str(exc):  # the model's Python words (KOS): the option here
                raise CLIError(one_line(exc).replace("drop gold=", "drop --use-gold")) from None
            if args.use_gold or "gold" not in str(exc):
                raise
            raise CLIError(f"{one_line(exc)} (command line: --gold FILE --use-gold)") from None
        seconds = time.perf_counter() - start
    if not hasattr(model, "label_codes_"):  # a fit that voted on nothing (gold_mv: a worker without gold) says why
        raise CLIError(one_line(ValueError(getattr(model, "_unvoted", None) or f"model {name!r} gave no labels")))

    from ..io import Outputs

    with Outputs() as outs:  # the results and the worker report, both or neither (a full disk, a size limit)
        if args.output is not None:
            _write_results(model, args.output, args.top, outs)
        extra = checkpoint_rows(model, args) + _write_workers(model, args.workers_output, outs)

    if not args.quiet:
        report_warnings(caught, err)
        _summary(summary_out, model, judgments, name, cls, seconds, gold_pairs, args, extra)
    return 0


def _summary(out: TextIO, model: Any, judgments: Any, name: str, cls: type, seconds: float,
             gold_pairs: tuple[np.ndarray, np.ndarray, int] | None, args: argparse.Namespace,
             extra: list[tuple[str, str]] | None = None) -> None:
    output, used_gold, repeats = args.output, args.use_gold, args.duplicates in ("first", "last")
    # the labels fitted: GLAD's labels_priors adds its keys' (label_codes_ index them; the input's shifted them)
    fitted = judgments if getattr(model, "judgments_", None) is None else model.judgments_
    rows: list[tuple[str, str]] = [
        ("tasks", str(judgments.n_tasks)),
        ("workers", str(judgments.n_workers)),
        ("judgments", str(judgments.n_judgments)),
        ("labels", str(fitted.n_labels)),
    ]
    if judgments.n_dropped:
        why = " or repeating a (task, worker) pair" if repeats else ""
        rows.append(("dropped", f"{judgments.n_dropped} rows with missing values{why}"))
    n_iter = getattr(model, "n_iter_", None)
    converged = getattr(model, "converged_", None)
    form = ", one accuracy per worker" if getattr(model, "confusion_", None) == "one_coin" else ""  # many labels
    rows += [
        ("model", f"{name} ({cls.__name__}{form})"),
        ("iterations", "-" if n_iter is None else str(n_iter)),
        ("converged", "-" if converged is None else ("yes" if converged else "no")),
        ("seconds", f"{seconds:.3f}"),
    ]
    said = calibration_said(model, args)  # the default's calibration, or the option that left it out
    if said is not None:
        rows.append(("calibrated", said))
    if gold_pairs is not None:
        tidx, values, unmatched = gold_pairs
        correct = _accuracy(np.asarray(model.label_codes_)[tidx], values, fitted.label_names)
        total = int(tidx.size)
        note = "; the model was given this gold" if used_gold else ""
        if unmatched:
            note += f"; {unmatched} gold task(s) without judgments left out"
        rows.append(("accuracy", f"{correct / total:.6f} ({correct}/{total} tasks with gold{note})"))
        post = getattr(model, "posteriors_", None)
        if post is not None and total and not used_gold:  # how far the probabilities can be trusted here
            sure = float(np.asarray(post)[tidx].max(axis=1).mean())
            rows.append(("confidence", f"{sure:.6f} (mean probability of the chosen label on those tasks)"))
    rows.append(("output", NO_OUTPUT if output is None else output))
    rows += extra or []
    width = max(len(k) for k, _ in rows) + 2
    for key, value in rows:
        out.write(f"{key:<{width}}{value}\n")
