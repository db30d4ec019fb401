"""The ``galton`` command.

::

    galton aggregate INPUT [--model NAME] [--gold FILE] [--output FILE] ...
    galton models
    galton datasets list | show NAME | export NAME PATH
    galton bench [STUDY.toml | --datasets ... --models ... --k ...] --out DIR [--seed N] [--repeats N]
                 [--engine local|ray]
    galton simulate [CONFIG.toml] --out DIR [--n-tasks N --n-workers N ...]
    galton --version

``INPUT`` is a CSV / TSV / Parquet / JSON-lines file, a directory of Parquet files, or
``bundled:NAME`` for a dataset shipped with galton (``galton datasets list``). Results go to
``--output`` (``.parquet``, ``.pq``, ``.csv`` or ``.tsv``, or a name without extension for a Parquet
directory; written atomically) with the columns ``task, label, confidence, p_<label>...``; a short
summary goes to stdout. With ``--engine ray`` an iterative model reads a directory (or glob) of
Parquet files in parallel Ray tasks straight into the shard actors (``galton.workers.ingest``);
a directory ``--output`` is then written by the shards, one part file each.

``INPUT`` ``-`` reads CSV from standard input; ``--output -`` writes the results as CSV to standard
output (the summary then goes to stderr). Before anything is read, galton refuses an output that is
an input, lies inside or contains an input directory (gold included), or is a directory galton did
not write (:func:`galton.io.plan_output`); it never deletes a directory it did not write.

Exit codes: 0 success, 2 any failure (one line ``galton: error: ...`` on stderr, no traceback
unless ``--debug``, no output file), 130 interrupted (SIGINT), 143 terminated (SIGTERM); after an
interrupt no temporary file or folder is left.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import re
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Sequence, TextIO

import numpy as np

from . import _signals
from ._cli_prefs import KINDS, aggregate_other, detect_kind, input_columns, pairs_path
from ._cli_study import add_bench, add_simulate

PROG = "galton"
BUNDLED_PREFIX = "bundled:"

__all__ = ["main", "build_parser"]


class CLIError(Exception):
    """A usage problem found by the CLI itself (reported like a library ValueError)."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text = f"{text}: {exc.filename}"
    return text or type(exc).__name__


def _reader_errors() -> tuple[type[BaseException], ...]:
    """Exceptions of the file readers (pyarrow, polars) for a file they cannot parse."""
    import pyarrow as pa

    types: list[type[BaseException]] = [pa.ArrowException]
    try:
        import polars.exceptions as ple

        types.append(ple.PolarsError)
    except ImportError:  # pragma: no cover - polars is a dependency
        pass
    return tuple(types)


def _error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input or environment: their message alone, on one line."""
    return (CLIError, ValueError, TypeError, OSError, ImportError, *_reader_errors())


def _describe(exc: BaseException) -> str:
    """One line for any failure: the message of an input error, else what kind of failure it is."""
    kind = type(exc)
    text = " ".join(str(exc).split())
    if kind.__name__ == "PanicException" or kind.__module__.startswith("pyo3_runtime"):
        return f"polars failed (internal panic: {text or 'no message'}); check the input, or run with --debug"
    if isinstance(exc, MemoryError):
        return (f"out of memory{': ' + text if text else ''}; use --max-memory to fail early, a smaller "
                "input, or --engine ray")
    if isinstance(exc, BrokenPipeError):
        return "the output pipe was closed before all results were written"
    if isinstance(exc, _error_types()):
        return _one_line(exc)
    if isinstance(exc, (OverflowError, RecursionError, ArithmeticError)):
        return f"{kind.__name__}: {text or 'no message'}"
    return f"{kind.__name__}: {text or 'no message'} (unexpected; run with --debug for the traceback)"


# --------------------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``galton`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Merge noisy judgments (crowd workers, annotators, LLM judges) into one label per task.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    agg = sub.add_parser(
        "aggregate", help="fit a model and write one label per task",
        description="Fit an aggregation model to judgments (one row per task, worker, label) and "
        "write task, label, confidence and p_<label> columns.",
    )
    agg.add_argument("input", metavar="INPUT",
                     help="CSV/TSV/Parquet/JSON-lines file, a directory of Parquet files, bundled:NAME, "
                     "or - for CSV on standard input")
    agg.add_argument("--model", "-m", default=None,
                     help="model name (see `galton models`); default: galton's robust default")
    agg.add_argument("--gold", default=None, metavar="FILE",
                     help="known labels (columns task, label) to score the result against; not used "
                     "in the fit unless --use-gold. bundled:NAME inputs use their own gold")
    agg.add_argument("--use-gold", action="store_true",
                     help="also give the gold labels to the model (clamped during EM; needed by gold_mv). "
                     "The accuracy is then measured on labels the model was given")
    agg.add_argument("--output", "-o", default=None, metavar="FILE",
                     help="results file: .parquet, .pq, .csv or .tsv, a name without extension for a "
                     "Parquet directory (one part file per shard with --engine ray), or - for CSV on "
                     "standard output; written atomically, never over an input or a directory galton "
                     "did not write")
    agg.add_argument("--kind", choices=KINDS, default="auto",
                     help="kind of data: auto (left/right columns: pairwise; options + choice/ranking: "
                     "choice; else categorical), or rating for numeric scores; pairwise / choice / "
                     "rating write item scores (pairwise also <output>_pairs with pair probabilities)")
    agg.add_argument("--task-col", default="task", metavar="C", help="task column (default: task)")
    agg.add_argument("--worker-col", default="worker", metavar="C", help="worker column (default: worker)")
    agg.add_argument("--label-col", default="label", metavar="C", help="label column (default: label)")
    agg.add_argument("--engine", choices=("local", "ray"), default=None,
                     help="where the shards live (default: local; ray when --ray-address is given)")
    agg.add_argument("--shards", type=int, default=None, metavar="N", help="number of task shards")
    agg.add_argument("--ray-address", default=None, metavar="ADDR",
                     help="Ray cluster to connect to (else RAY_ADDRESS, else a new local instance)")
    agg.add_argument("--max-iter", type=int, default=None, metavar="N",
                     help="iteration limit of iterative models")
    agg.add_argument("--seed", type=int, default=None, metavar="N",
                     help="random seed (used by models that have random_state)")
    agg.add_argument("--on-invalid", choices=("raise", "drop"), default="raise",
                     help="rows with a missing task, worker or label: fail (default) or drop them")
    agg.add_argument("--max-memory", default=None, metavar="SIZE",
                     help="fail early when the fit would need more memory than SIZE (4G, 500M, bytes, "
                     "or none); default: GALTON_MAX_MEMORY, else half the physical memory")
    agg.add_argument("--quiet", "-q", action="store_true",
                     help="no summary, progress bar or warnings (errors are still reported)")
    agg.set_defaults(func=_cmd_aggregate)

    models = sub.add_parser("models", help="list the registered models")
    models.set_defaults(func=_cmd_models)

    data = sub.add_parser("datasets", help="datasets bundled with galton")
    dsub = data.add_subparsers(dest="datasets_command", metavar="ACTION")
    dsub.required = True
    dl = dsub.add_parser("list", help="bundled datasets with their size and licence")
    dl.set_defaults(func=_cmd_datasets_list)
    dshow = dsub.add_parser("show", help="print a dataset's README (source, licence, size)")
    dshow.add_argument("name", metavar="NAME")
    dshow.set_defaults(func=_cmd_datasets_show)
    dexp = dsub.add_parser("export", help="write a dataset's judgments to a CSV or Parquet file")
    dexp.add_argument("name", metavar="NAME")
    dexp.add_argument("path", metavar="PATH", help="destination (.csv, .parquet or .pq)")
    dexp.set_defaults(func=_cmd_datasets_export)
    add_bench(sub)
    add_simulate(sub)
    _add_debug(sub)
    return parser


def _add_debug(sub: Any) -> None:
    """``--debug`` after the subcommand too (``galton aggregate x.csv --debug``)."""
    for parser in sub.choices.values():
        parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                            help="show the traceback of a failure")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_debug(action)


# --------------------------------------------------------------------------------------------------
# aggregate
# --------------------------------------------------------------------------------------------------
def _load_input(spec: str) -> tuple[Any, Any]:
    """(data, the bundled dataset's gold or None) for an INPUT argument."""
    if spec.startswith(BUNDLED_PREFIX):
        from . import datasets

        name = spec[len(BUNDLED_PREFIX):]
        ds = datasets.load(name, frame="arrow")
        return ds.judgments, ds.gold
    path = Path(spec)
    if not path.exists():
        hint = ""
        if ":" not in spec:
            from . import datasets

            if spec in datasets.names():
                hint = f"; for the bundled dataset write bundled:{spec}"
        raise FileNotFoundError(f"input {spec!r} does not exist{hint}")
    return str(path), None


def _read_gold(gold: Any, task_col: str, label_col: str) -> Any:
    """Gold as a pyarrow Table with columns task, label (rows with a null dropped)."""
    from .judgments import to_arrow

    table = to_arrow(gold)
    tcol = task_col if task_col in table.column_names else "task"
    lcol = label_col if label_col in table.column_names else "label"
    missing = [c for c in (tcol, lcol) if c not in table.column_names]
    if missing:
        raise ValueError(
            f"gold is missing column(s) {missing}; it has {table.column_names}. Gold needs columns "
            f"task and label (or {task_col!r} and {label_col!r})"
        )
    return table.select([tcol, lcol]).rename_columns(["task", "label"]).drop_null()


def _gold_pairs(table: Any, judgments: Any) -> tuple[np.ndarray, np.ndarray]:
    """(task codes, gold label values) for the gold rows whose task has judgments."""
    tasks = table.column("task").to_numpy(zero_copy_only=False)
    values = table.column("label").to_numpy(zero_copy_only=False)
    if tasks.dtype.kind in "US":
        tasks = tasks.astype(object)
    tidx = judgments.task_index(tasks)
    keep = tidx >= 0
    if not keep.any():
        ex_gold = tasks[:3].tolist()
        ex_data = judgments.task_names[:3].tolist()
        raise ValueError(
            f"gold shares no task with the judgments (gold task ids look like {ex_gold}, the "
            f"judgments' like {ex_data}); check --task-col and the gold file"
        )
    return tidx[keep].astype(np.int64), values[keep]


def _accuracy(pred_values: np.ndarray, gold_values: np.ndarray) -> int:
    """Number of equal pairs, comparing numbers as numbers and anything else as text."""
    p, g = np.asarray(pred_values), np.asarray(gold_values)
    if p.dtype.kind in "iufb" and g.dtype.kind in "iufb":
        return int(np.sum(p.astype(np.float64) == g.astype(np.float64)))
    return int(sum(str(a) == str(b) for a, b in zip(p.tolist(), g.tolist())))


def _model_params(cls: type, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """Constructor parameters from the command line; refuses options the model cannot use."""
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    params: dict[str, Any] = {}
    engine = args.engine
    if args.ray_address is not None:
        if engine == "local":
            raise CLIError("--ray-address needs --engine ray")
        engine = "ray"
    for option, key, value in (("--engine", "engine", engine), ("--shards", "n_shards", args.shards),
                               ("--max-iter", "max_iter", args.max_iter)):
        if value is None:
            continue
        if key not in accepted:
            raise CLIError(f"model {name!r} does not take {option} (it is not an iterative model)")
        params[key] = value
    if args.shards is not None and args.shards < 1:
        raise CLIError(f"--shards must be >= 1, not {args.shards}")
    if args.max_iter is not None and args.max_iter < 1:
        raise CLIError(f"--max-iter must be >= 1, not {args.max_iter}")
    if args.seed is not None and "random_state" in accepted:
        params["random_state"] = args.seed
    if "progress" in accepted:
        params["progress"] = False if args.quiet else None  # None: shown on a TTY after 1 s
    return params


def _dir_output(path: str | None) -> bool:
    """A name without an extension is a Parquet directory (``-`` is standard output)."""
    return path is not None and path != "-" and not Path(path).suffix


def _plan_outputs(args: argparse.Namespace, kind: str | None) -> None:
    """Refuse the outputs before anything is read (see :func:`galton.io.plan_output`)."""
    from .io import plan_output

    if args.output is None:
        return
    inputs = [args.input, args.gold]
    plan_output(args.output, inputs=inputs, directory=_dir_output(args.output), what="--output")
    if kind == "pairwise" and args.output != "-" and Path(args.output).suffix:
        plan_output(pairs_path(args.output), inputs=inputs, what="--output (pair probabilities)")


def _memory_guard(args: argparse.Namespace) -> Any:
    """The ``--max-memory`` limit around a fit (galton.aggregator's memory guard)."""
    if args.max_memory is None:
        return contextlib.nullcontext()
    from .aggregator._memory import memory_limit

    return memory_limit(args.max_memory)


def _check_memory_option(args: argparse.Namespace) -> None:
    if args.max_memory is not None:
        from .aggregator._memory import parse_size

        try:
            parse_size(args.max_memory)
        except ValueError as exc:
            raise CLIError(f"--max-memory: {_one_line(exc)}") from None


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


def _read_table(spec: str) -> Any:
    """The whole input as one Arrow table, read once (stdin and FIFOs cannot be read twice)."""
    from .io import to_arrow

    try:
        return to_arrow(spec)
    except _reader_errors() as exc:
        raise CLIError(f"cannot read {spec!r}: {_one_line(exc)}") from None


def _write_results(model: Any, path: str) -> None:
    """The results table to a file or stdout, or to ``path/part-00000.parquet`` when ``path`` has
    no extension."""
    from .io import atomic_dir, results_table, write_table

    if not _dir_output(path):
        write_table(results_table(model), path)
        return
    with atomic_dir(path) as tmp:
        write_table(results_table(model), tmp / "part-00000.parquet")


def _sharded_input(spec: str, cls: type, params: dict[str, Any]) -> bool:
    """True when the input goes through distributed ingest: --engine ray, an EM model, and a
    directory, glob or Parquet file."""
    from .aggregator._base import EMAggregator

    if params.get("engine") != "ray" or not issubclass(cls, EMAggregator) or spec.startswith(BUNDLED_PREFIX):
        return False
    path = Path(spec)
    return path.is_dir() or any(c in spec for c in "*?[") or path.suffix.lower() in (".parquet", ".pq")


def _report_warnings(caught: Sequence[Any], err: TextIO) -> None:
    seen: set[str] = set()
    for w in caught:
        msg = _one_line(w.message) if isinstance(w.message, BaseException) else str(w.message)
        if msg not in seen:
            seen.add(msg)
            err.write(f"{PROG}: warning: {msg}\n")


def _aggregate_sharded(args: argparse.Namespace, out: TextIO, err: TextIO, cls: type, name: str,
                       params: dict[str, Any]) -> int:
    """``--engine ray`` on Parquet files: read in parallel by Ray tasks straight into the shard
    actors (galton.workers.ingest); a directory --output is written by the shards themselves."""
    from .io import results_table, write_table
    from .workers.sharded import fit_parquet

    gold = None if args.gold is None else _read_gold(args.gold, args.task_col, args.label_col)
    if args.use_gold and gold is None:
        raise CLIError("--use-gold needs --gold FILE")
    to_dir = _dir_output(args.output)
    model = cls(**{k: v for k, v in params.items() if k not in ("engine", "n_shards")})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            with _memory_guard(args):
                data = fit_parquet(
                    model, args.input, address=args.ray_address, n_shards=args.shards,
                    results_dir=args.output if to_dir else None, task_col=args.task_col,
                    worker_col=args.worker_col, label_col=args.label_col, on_invalid=args.on_invalid,
                    gold=gold if args.use_gold else None,
                )
        except _reader_errors() as exc:
            raise CLIError(f"cannot read {args.input!r}: {_one_line(exc)}") from None
        except AttributeError as exc:  # ShardedCodesError: the model reads codes in the driver
            if "load_parquet" not in str(exc):
                raise
            raise CLIError(f"model {name!r} cannot run on distributed ingest yet ({_one_line(exc)}); "
                           "use --engine local, or another model such as ds") from None
        seconds = time.perf_counter() - start
    gold_pairs = None
    if gold is not None and model.label_codes_ is not None:
        gold_pairs = _gold_pairs(gold, data)
    elif gold is not None and not args.quiet:
        err.write(f"{PROG}: note: no accuracy: the labels went to {args.output} without passing "
                  "through this process\n")
    if args.output is not None and not to_dir:
        write_table(results_table(model), args.output)
    if not args.quiet:
        _report_warnings(caught, err)
        _summary(err if args.output == "-" else out, model, data, name, cls, seconds, gold_pairs,
                 args.output, args.use_gold)
    return 0


def _fit_engine(args: argparse.Namespace, params: dict[str, Any]) -> Any:
    """A Ray engine on ``--ray-address`` for the fit (closed after it), else nothing."""
    if args.ray_address is None or params.get("engine") != "ray":
        return contextlib.nullcontext(None)
    from .workers.engine import RayEngine

    return RayEngine(n_shards=args.shards, address=args.ray_address)


def _cmd_aggregate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .aggregator import _registry
    from .judgments import Judgments

    _check_memory_option(args)
    _plan_outputs(args, "pairwise" if args.kind == "pairwise" else None)  # before anything is read
    if args.gold is not None and not Path(args.gold).exists():
        raise FileNotFoundError(f"gold file {args.gold!r} does not exist")
    summary_out = err if args.output == "-" else out  # stdout carries the CSV results
    bundled = args.input.startswith(BUNDLED_PREFIX)
    table, gold, kind = None, None, "categorical"
    if bundled:
        table, gold = _load_input(args.input)
    else:
        if args.input != "-" and not any(c in args.input for c in "*?["):
            _load_input(args.input)  # a missing file fails here with its message
        if _schema_only(args.input):
            columns = input_columns(args.input)
        else:
            table = _read_table(args.input)  # once: stdin and FIFOs cannot be read twice
            columns = table.column_names
        if args.kind != "categorical":
            kind = detect_kind(columns, args.kind)
    if kind != "categorical":
        _plan_outputs(args, kind)
        if _dir_output(args.output):
            raise CLIError(f"--output for {kind} data must be a file (.parquet, .csv, .tsv) or -")
        data = table if table is not None else _read_table(args.input)
        with _memory_guard(args):
            return aggregate_other(kind, data, args, summary_out, err, _model_params)
    name = args.model or _registry.default_name()
    cls = _registry.get(name)  # unknown name: ValueError listing the valid ones
    name = getattr(cls, "registry_name", name)
    params = _model_params(cls, args, name)
    if table is None and _sharded_input(args.input, cls, params):
        return _aggregate_sharded(args, out, err, cls, name, params)

    if table is None:
        table = _read_table(args.input)
    try:
        judgments = Judgments.from_any(
            table, task_col=args.task_col, worker_col=args.worker_col, label_col=args.label_col,
            on_invalid=args.on_invalid,
        )
    except _reader_errors() as exc:  # a file the readers cannot parse
        raise CLIError(f"cannot read {args.input!r}: {_one_line(exc)}") from None
    if args.gold is not None:
        gold = args.gold
    if args.use_gold and gold is None:
        raise CLIError("--use-gold needs --gold FILE (or a bundled:NAME input that has gold)")
    gold_table = None if gold is None else _read_gold(gold, args.task_col, args.label_col)
    gold_pairs = None if gold_table is None else _gold_pairs(gold_table, judgments)

    model = cls(**params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            with _memory_guard(args), _fit_engine(args, params) as engine:
                extra = {} if engine is None else {"engine": engine}
                model.fit(judgments, gold_table, **extra) if args.use_gold else model.fit(judgments, **extra)
        except ValueError as exc:
            if args.use_gold or "gold" not in str(exc):
                raise
            raise CLIError(f"{_one_line(exc)} (command line: --gold FILE --use-gold)") from None
        seconds = time.perf_counter() - start

    if args.output is not None:
        _write_results(model, args.output)

    if not args.quiet:
        _report_warnings(caught, err)
        _summary(summary_out, model, judgments, name, cls, seconds, gold_pairs, args.output, args.use_gold)
    return 0


def _summary(out: TextIO, model: Any, judgments: Any, name: str, cls: type, seconds: float,
             gold_pairs: tuple[np.ndarray, np.ndarray] | None, output: str | None,
             used_gold: bool = False) -> None:
    rows: list[tuple[str, str]] = [
        ("tasks", str(judgments.n_tasks)),
        ("workers", str(judgments.n_workers)),
        ("judgments", str(judgments.n_judgments)),
        ("labels", str(judgments.n_labels)),
    ]
    if judgments.n_dropped:
        rows.append(("dropped", f"{judgments.n_dropped} rows with missing values"))
    n_iter = getattr(model, "n_iter_", None)
    converged = getattr(model, "converged_", None)
    rows += [
        ("model", f"{name} ({cls.__name__})"),
        ("iterations", "-" if n_iter is None else str(n_iter)),
        ("converged", "-" if converged is None else ("yes" if converged else "no")),
        ("seconds", f"{seconds:.3f}"),
    ]
    if gold_pairs is not None:
        tidx, values = gold_pairs
        pred = judgments.label_names[np.asarray(model.label_codes_)[tidx]]
        correct = _accuracy(pred, values)
        total = int(tidx.size)
        note = "; the model was given this gold" if used_gold else ""
        rows.append(("accuracy", f"{correct / total:.6f} ({correct}/{total} tasks with gold{note})"))
    if output is not None:
        rows.append(("output", output))
    width = max(len(k) for k, _ in rows) + 2
    for key, value in rows:
        out.write(f"{key:<{width}}{value}\n")


# --------------------------------------------------------------------------------------------------
# models and datasets
# --------------------------------------------------------------------------------------------------
def _first_doc_line(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.strip().splitlines()[0].strip() if doc.strip() else ""


def _cmd_models(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .aggregator import _registry

    default = _registry.default_name()
    rows = []
    for name in _registry.names():
        cls = _registry.get(name)
        mark = " (default)" if name == default else ""
        rows.append((name + mark, cls.__name__, _first_doc_line(cls)))
    w0 = max(len(r[0]) for r in rows) + 2
    w1 = max(len(r[1]) for r in rows) + 2
    for a, b, c in rows:
        out.write(f"{a:<{w0}}{b:<{w1}}{c}\n".rstrip() + "\n")
    return 0


def _sources_rows() -> dict[str, tuple[str, str]]:
    """name -> (size, licence) from the bundle's SOURCES.md table (empty when absent)."""
    from .datasets._bundled import DATA_DIR

    path = DATA_DIR / "SOURCES.md"
    if not path.is_file():
        return {}
    header: list[str] | None = None
    rows: dict[str, tuple[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None  # a table ends at the first line that is not a table row
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
        elif not set("".join(cells)) <= set("-: ") and "dataset" in header:
            rec = dict(zip(header, cells))
            rows[rec["dataset"]] = (rec.get("size", ""), rec.get("licence", rec.get("license", "")))
    return rows


def _readme_facts(text: str) -> tuple[str, str]:
    """(size, licence) from a dataset README when SOURCES.md has no row for it."""
    size = ""
    m = re.search(r"^Size:\s*(.+?)\.?\s*$", text, flags=re.MULTILINE)
    if m:
        size = m.group(1)
    licence = ""
    m = re.search(r"\b(Apache-2\.0|MIT|(?:Clear )?BSD[\w .-]*?|CC[- ]BY[\w.-]*|GPL-?\d[\w.]*)\b", text)
    if m:
        licence = m.group(1).strip()
    return size, licence


def _cmd_datasets_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import datasets

    sources = _sources_rows()
    rows = [("dataset", "licence", "size")]
    for name in datasets.names():
        size, licence = sources.get(name, ("", ""))
        if not size or not licence:
            s2, l2 = _readme_facts(datasets.info(name))
            size, licence = size or s2, licence or l2
        rows.append((name, licence or "see README", size or "see README"))
    w0 = max(len(r[0]) for r in rows) + 2
    w1 = max(len(r[1]) for r in rows) + 2
    for a, b, c in rows:
        out.write(f"{a:<{w0}}{b:<{w1}}{c}\n")
    return 0


def _cmd_datasets_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import datasets

    text = datasets.info(args.name)
    out.write(text if text.endswith("\n") else text + "\n")
    return 0


def _cmd_datasets_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import datasets
    from .io import plan_output

    plan_output(args.path, what="PATH")  # a directory, a bad extension or a missing folder: refused
    written = datasets.export(args.name, args.path)
    if args.path != "-":
        out.write(f"{written}\n")
    return 0


# --------------------------------------------------------------------------------------------------
# bench and simulate
# --------------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``galton`` command; returns the exit code (0 ok, 2 failure, 130 SIGINT, 143 SIGTERM).

    SIGINT and SIGTERM raise :class:`galton._signals.Interrupted` from here on; the writers remove
    their temporaries as the exception unwinds, later signals are ignored while that happens, and
    :func:`galton.io.remove_temporaries` removes whatever is left.
    """
    previous = _signals.install()
    try:
        return _run(list(argv) if argv is not None else sys.argv[1:], sys.stdout, sys.stderr)
    finally:
        _signals.restore(previous)


def _run(argv: list[str], out: TextIO, err: TextIO) -> int:
    debug = "--debug" in argv
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version and usage errors
            return int(exc.code) if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        debug = bool(getattr(args, "debug", False))
        return int(args.func(args, out, err))
    except SystemExit:
        raise
    except KeyboardInterrupt as exc:  # SIGINT / SIGTERM (Interrupted) or a plain Ctrl-C
        _signals.cleaning()
        _clean_up()
        err.write(f"{PROG}: interrupted\n")
        return _signals.exit_code(exc)
    except BaseException as exc:  # noqa: BLE001 - every failure is one line (polars panics included)
        _signals.cleaning()
        _clean_up()
        if isinstance(exc, BrokenPipeError):
            _silence_stdout()
        if debug:
            traceback.print_exc(file=err)
        err.write(f"{PROG}: error: {_describe(exc)}\n")
        return 2


def _clean_up() -> None:
    """Remove the temporaries any writer still holds."""
    try:
        from .io._write import remove_temporaries
    except BaseException:  # pragma: no cover - interrupted during the first imports
        return
    remove_temporaries()


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the exit flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover
        pass


if __name__ == "__main__":
    raise SystemExit(main())
