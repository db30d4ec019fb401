"""What every subcommand of :mod:`galton.cli` shares: the program name, the usage error, and the
one-line description of a failure or a warning."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, Collection, Sequence, TextIO

from .._warnings import collected
from ._params import OPTION_PARAMS, checked_params, model_param
from ._streams import closed

__all__ = ["BUNDLED_PREFIX", "CLIError", "NO_OUTPUT", "OPTION_PARAMS", "PROG", "add_max_memory", "add_on_invalid",
           "at_least_one", "check_memory_option", "check_readable", "memory_guard",
           "check_checkpoint_dir", "check_kind_options", "checked_params", "checkpoint_options", "checkpoint_rows",
           "describe", "distinct_columns", "layout_by_model", "model_param", "no_common_task", "no_param_twice",
           "one_line", "read_table", "reader_errors", "report_warnings"]

PROG = "galton"
#: the summary's output row when no --output was given (the fit's labels were not written anywhere)
NO_OUTPUT = "none: the labels were not written (pass -o FILE, or -o - for standard output)"
BUNDLED_PREFIX = "bundled:"


class CLIError(Exception):
    """A usage problem found by the CLI itself (reported like a library ValueError)."""


def _int_from(text: str, low: int, what: str) -> int:
    """``text`` as an integer of at least ``low`` (an argparse type's check: a bad value is reported
    against its option as "expected ``what``")."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, not {value}")
    return value


def at_least_one(text: str) -> int:
    """argparse type of a count such as ``--top``: a whole number of at least 1."""
    return _int_from(text, 1, "a whole number of at least 1")


def seed(text: str) -> int:
    """argparse type of ``--seed``: a non-negative integer (numpy's generators take no other), so
    that a bad one is reported against the option."""
    return _int_from(text, 0, "a non-negative integer")


def add_on_invalid(parser: argparse.ArgumentParser, text: str | None = None) -> None:
    """``--on-invalid {raise,drop}``, as every command that reads judgments has it (``text``: its
    help where the command reads more than judgments)."""
    parser.add_argument("--on-invalid", choices=("raise", "drop"), default="raise",
                        help=text or "rows with a missing task, worker or label: fail (default) or drop them")


def add_max_memory(parser: argparse.ArgumentParser, guarded: str = "the fit") -> None:
    """``--max-memory SIZE``, galton's memory guard, for every command that fits a model; ``guarded``:
    what it guards, where that is not a model's fit."""
    parser.add_argument("--max-memory", default=None, metavar="SIZE",
                        help=f"fail early when {guarded} would need more memory than SIZE (4G, 500M, bytes, "
                        "or none); default: GALTON_MAX_MEMORY, else half the physical memory")


def memory_guard(args: argparse.Namespace) -> Any:
    """The ``--max-memory`` limit around a fit (galton.aggregator's memory guard)."""
    if args.max_memory is None:
        return contextlib.nullcontext()
    from ..aggregator import memory_limit

    return memory_limit(args.max_memory, source=f"--max-memory {args.max_memory}")


def check_memory_option(args: argparse.Namespace) -> None:
    """Refuse a ``--max-memory`` that is no size, before any work."""
    if args.max_memory is not None:
        from ..aggregator import parse_size

        try:
            parse_size(args.max_memory)
        except ValueError as exc:
            raise CLIError(f"--max-memory: {one_line(exc)}") from None


def check_readable(spec: str, what: str) -> None:
    """Refuse, before any work, a file or directory named by ``what`` (INPUT, --gold, CONFIG...) that
    this user may not read (the readers said only "[Errno 13] Permission denied: 'x'"), or standard input
    (``-``) when the command was started with it closed. Standard input, bundled data, patterns and
    missing paths are otherwise left to the readers, which name them."""
    import os

    if spec == "-" and closed(sys.stdin):  # started with <&-: said before any work
        raise CLIError(f"{what} -: cannot read standard input: it is closed; redirect the data to it (< data.csv) "
                       "or give a file")
    if spec == "-" or spec.startswith(BUNDLED_PREFIX) or any(c in spec for c in "*?["):
        return
    path = Path(spec)
    if not path.exists():
        return
    folder = path.is_dir()
    if not os.access(path, os.R_OK | (os.X_OK if folder else 0)):
        kind = "directory" if folder else "file"
        raise CLIError(f"{what} {spec!r}: this user may not read the {kind} (permission denied); make it readable "
                       f"(chmod a+r{'x' if folder else ''} {spec}) or give a copy this user can read")


def distinct_columns(args: argparse.Namespace) -> None:
    """Refuse one column named for two roles (``--worker-col task``): each of ``--task-col``,
    ``--worker-col`` and ``--label-col`` names a column of its own."""
    roles = [("--task-col", args.task_col, "task"), ("--worker-col", args.worker_col, "worker"),
             ("--label-col", args.label_col, "label")]
    for i, (first, value, role) in enumerate(roles):
        for option, other, own in roles[i + 1:]:
            if value != other:
                continue
            if other == own and value != role:  # the later option is at its default: name the one given
                first, option, role, own = option, first, own, role
            said = f"the {role} column" if value == role else first
            raise CLIError(f"{option} {other!r} is also {said}; each of --task-col, --worker-col, --label-col "
                           "must name its own column")


def layout_by_model(args: argparse.Namespace, columns: Sequence[str], fix: str) -> str | None:
    """For columns that fit both layouts, a task, a worker and a label column (categorical
    judgments, as ``--task-col`` etc. name them) and left and right too (pairwise comparisons): the
    kind of ``--model`` ("pairwise" or "categorical"), refused without ``--model`` (``fix`` says how
    to choose). None for any other columns. ``--task-col left`` (or ``right``) on comparisons is refused
    without ``--model`` too: the left items were fitted as tasks and the right column dropped."""
    if not {args.task_col, args.worker_col, args.label_col, "left", "right"} <= set(columns):
        return None
    from .._api import item_column_role

    item = item_column_role(list(columns), {"task": args.task_col})
    if args.model is None and item is not None:
        col = item[1]
        raise CLIError(f"--task-col {col!r} names the {col} column of pairwise comparisons ({args.input!r} has "
                       f"left and right columns: the two items compared), so a categorical fit would take the "
                       f"{col} items for tasks and drop the {'right' if col == 'left' else 'left'} column; for "
                       f"comparisons leave out --task-col (pairwise data has no task column), or rename the {col!r} "
                       "column if it holds tasks")
    if args.model is None:
        raise CLIError(f"{args.input!r} is ambiguous: it has task, worker and label columns (categorical "
                       f"judgments) and left and right columns (pairwise comparisons); {fix}")
    from .. import aggregator

    return "pairwise" if getattr(aggregator.get(args.model), "kind", None) == "pairwise" else "categorical"


def check_kind_options(args: argparse.Namespace, kind: str) -> None:
    """Refuse an option of ``galton aggregate`` that the input's kind of data cannot use."""
    for option, value, want in (("--tag-sep", args.tag_sep, "multilabel"), ("--top", args.top, "categorical")):
        if value is not None and kind != want:
            hint = ("; for tags joined by a separator in a text label column, add --kind multilabel"
                    if option == "--tag-sep" and kind == "categorical"
                    and not str(getattr(args, "input", "")).startswith(BUNDLED_PREFIX) else "")
            raise CLIError(f"{option} is for {want} data; this input is {kind}{hint}")
    if kind in ("pairwise", "choice", "rating") and (args.gold is not None or args.use_gold):
        option, want = ("--gold", "categorical and multilabel") if args.gold is not None else ("--use-gold",
                                                                                            "categorical")
        raise CLIError(f"{option} is for {want} data; this input is {kind}, whose scores are not compared with "
                       f"gold labels: aggregate without {option}")


def checkpoint_options(cls: type, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """``checkpoint_dir`` / ``checkpoint_every`` for the fit from ``--checkpoint-dir`` and
    ``--checkpoint-every``; refused for a model that does not iterate, and for a directory that is
    (or lies inside) the input or the output (the output's replacement would take the checkpoints
    with it; a run with them inside refused to replace a directory it did not write)."""
    directory, every = getattr(args, "checkpoint_dir", None), getattr(args, "checkpoint_every", None)
    if directory is None:
        if every is not None:
            raise CLIError("--checkpoint-every needs --checkpoint-dir DIR")
        return {}
    if not hasattr(cls, "_m_step"):
        raise CLIError(f"model {name!r} does not iterate, so --checkpoint-dir has nothing to save")
    if every is not None and every < 1:
        raise CLIError(f"--checkpoint-every must be >= 1, not {every}")
    check_checkpoint_dir(args)
    from ..io import output_within, same_output

    for what, other in (("the input", args.input), ("--output", args.output),
                        ("--workers-output", getattr(args, "workers_output", None))):
        if other in (None, "-") or other.startswith(BUNDLED_PREFIX):
            continue
        same = same_output(directory, other)  # by file: a link, a bind mount
        if same or output_within(directory, other):  # inside: the output's replacement, or the input's reader
            how = "is" if same else "lies inside"
            raise CLIError(f"--checkpoint-dir {directory!r} {how} {what} ({other!r}); give the checkpoints a "
                           "directory of their own")
    return {"checkpoint_dir": directory, "checkpoint_every": 1 if every is None else every}


def check_checkpoint_dir(args: argparse.Namespace) -> None:
    """Refuse a ``--checkpoint-dir`` that is a file or a dangling link (mkdir said "[Errno 17] File
    exists" once the fit had started), or where no file can be written (read-only, no permission:
    found after the fit's first iteration, naming a hidden temporary), before anything is read."""
    directory = getattr(args, "checkpoint_dir", None)
    if directory is None:
        return
    from ..aggregator._checkpoint import not_a_directory
    from ..io import check_place

    why = not_a_directory(directory)
    if why:
        raise CLIError(f"--checkpoint-dir {directory!r} {why}; it must be a directory (created when missing): "
                       "give another path")
    check_place(directory, "--checkpoint-dir", inside=True)


def checkpoint_rows(model: Any, args: Any) -> list[tuple[str, str]]:
    """The summary's ``checkpoint`` row: where the fit's state went and the iteration a run took
    up from it (``resumed_from_``, set by the EM driver when checkpointing)."""
    directory = getattr(args, "checkpoint_dir", None)
    if directory is None:
        return []
    start = int(getattr(model, "resumed_from_", 0) or 0)
    every = getattr(args, "checkpoint_every", None) or 1
    said = f"resumed from iteration {start}" if start else "a fresh start"
    return [("checkpoint", f"{directory} ({said}; saved every {every} iteration{'s' if every > 1 else ''})")]


def no_param_twice(args: argparse.Namespace) -> None:
    """Refuse ``--param`` setting what an option given beside it sets (``--max-iter`` and ``--param
    n_iter=...``, ``--uncalibrated`` and ``--param calibrate=true``), or what another ``--param``
    sets (``n_iter`` and ``max_iter``), or one ``--param`` given twice with two values: one of them
    won without a word."""
    pairs = getattr(args, "param", None) or ()
    given = dict.fromkeys(key for key, _ in pairs)
    for key in given:
        values = [repr(value) for k, value in pairs if k == key]  # 1 and 1.0, true and 1 differ; nan is nan
        if len(set(values)) > 1:
            raise CLIError(f"--param {key} is given {len(values)} times with different values "
                           f"({', '.join(values[:3])}); give it once")
    for option, value, keys in (("--max-iter", getattr(args, "max_iter", None), ("max_iter", "n_iter")),
                                ("--seed", getattr(args, "seed", None), ("random_state",)),
                                ("--uncalibrated", getattr(args, "uncalibrated", None) or None, ("calibrate",))):
        both = [k for k in keys if k in given]
        if value is not None and both:
            raise CLIError(f"{option} and --param {both[0]}=... set the same thing; give one of them")
    if {"n_iter", "max_iter"} <= set(given):  # one iteration limit under two names: max_iter won
        raise CLIError("--param n_iter=... and --param max_iter=... set the same thing (the iteration limit); "
                       "give one of them, or --max-iter")


#: the library's hints in Python words -> what a command-line user can do (first match first)
CLI_HINTS = (
    ("pass tie=<value> if they mark ties, fix those labels or pass on_invalid='drop'",
     "fix those labels or pass --on-invalid drop (ties are marked from Python only, with tie=<value>)"),
    ("pass on_invalid='drop' (CLI: --on-invalid drop)", "pass --on-invalid drop"),
    ("raise n_iter or tol", "raise --max-iter or --param tol=..."),  # the fits' convergence warning
    ("raise max_iter or tol", "raise --max-iter or --param tol=..."),
    ("on_invalid='drop'", "--on-invalid drop"),
    ("with task_col=, worker_col=, label_col= (CLI: --task-col, --worker-col, --label-col)",
     "with --task-col, --worker-col, --label-col"),
    ("fix those labels or pass labels=[...] with the full label set", "fix those labels"),
    ("pass on_missing_skill='value' with default_skill=..., or 'ignore' to", "pass --param on_missing_skill=value "
     "--param default_skill=X (the weight of a worker without gold), or --param on_missing_skill=ignore to"),
    ("on_missing_skill='value' with default_skill=..., or on_missing_skill='ignore'", "--param on_missing_skill=value "
     "--param default_skill=X, or --param on_missing_skill=ignore"),
    ("on_missing_skill='value' with default_skill=...", "--param on_missing_skill=value --param default_skill=X"),
    ("Use distance='interval' for values", "Use --distance interval for values"),
    ("Use distance='nominal' for categories, or 'ordinal' for ordered categories that sort",
     "Use --distance nominal for categories, or ordinal for ordered categories that sort"),
    ("Use distance='masi' or 'jaccard' for sets of tags, or 'nominal'", "Use --distance masi or jaccard for sets "
     "of tags, or nominal"),
    ("use distance='nominal', 'interval' or 'ordinal', which need none, or raise the limit (GALTON_MAX_MEMORY or "
     "galton.aggregator.memory_limit(...))", "use --distance nominal, interval or ordinal, which need none, or raise "
     "the limit with --max-memory SIZE (or GALTON_MAX_MEMORY=SIZE in the environment)"),
    ("drop those rows before (for example df.dropna(subset=['task', 'worker', 'label'])); crowd-kit's metrics "
     "skip them without a word", "drop those rows or pass --on-invalid drop"),
    ("The metrics read task, worker and label, as crowd-kit's do: rename the columns first (for example "
     "df.rename(columns={'item': 'task'}))", "Name the columns with --task-col, --worker-col, --label-col"),
    ("Name the columns with left_col=, right_col=, label_col=",
     "Rename the items' columns to left and right; name the worker and label columns with --worker-col, "
     "--label-col"),
    ("for pairwise data use Comparisons / BradleyTerry with left, right, label columns",
     "for pairwise data give worker, left, right, label columns (--kind pairwise, -m bt)"),
    ("Name the worker column with worker_col=, or pass worker_col=None if there is none",
     "Name the worker column with --worker-col, or leave --worker-col out if there is none (then one "
     "anonymous worker)"),
    ("pass worker_col=<its name>; pass worker_col=None to fit without workers and without this warning",
     "pass --worker-col NAME"),
    ("Name them with options_col=, choice_col=, ranking_col=",
     "Rename them to options, choice (or ranking); name the worker column with --worker-col"),
    ("pass root=<folder> or set GALTON_SHARED_DATASETS", "set GALTON_SHARED_DATASETS"),  # galton.datasets
    # repeated (task, worker) rows: galton.data._repeats (KEEP_HINT and the warning)
    ("pass duplicates='keep' to count them as separate votes, or 'first'/'last'",
     "pass --duplicates keep to count them as separate votes, or --duplicates first or last"),
    ("(duplicates='keep', as crowd-kit)", "(--duplicates keep, as crowd-kit)"),
    ("pass duplicates='first' or 'last' to keep one row of each pair (CLI: --duplicates first), or "
     "duplicates='keep' to count every row without this warning", "pass --duplicates first or last to keep one "
     "row of each pair, or --duplicates keep to count every row without this warning"),
    ("pass duplicates='first' or 'last' to load_parquet / fit_parquet to keep one row of each pair (CLI: "
     "--duplicates first), or duplicates='keep' to count every row without this warning", "pass --duplicates "
     "first or last to keep one row of each pair, or --duplicates keep to count every row without this warning"),
)


def remote_cause(exc: BaseException) -> BaseException:
    """:func:`galton.io._errors.remote_cause` (imported on first use: galton.io loads pyarrow)."""
    from ..io._errors import remote_cause as unwrap

    return unwrap(exc)


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (with the file name of an OSError), its hints in the
    command line's words (:data:`CLI_HINTS`)."""
    exc = remote_cause(exc)
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text = f"{text}: {exc.filename}"
    for python, cli in CLI_HINTS:
        text = text.replace(python, cli)
    return text or type(exc).__name__


def no_common_task(gold_ids: Sequence[Any], data_ids: Sequence[Any]) -> ValueError:
    """The error for a gold file that names none of the judged tasks, with a few ids of each side
    (each cut to its first characters: :func:`galton.data._validate.fmt_value`)."""
    from ..data._validate import examples  # not at import: galton.data loads pyarrow

    return ValueError(f"gold shares no task with the judgments (gold task ids look like [{examples(gold_ids, 3)}], "
                      f"the judgments' like [{examples(data_ids, 3)}]); check --task-col and the gold file")


def read_table(spec: str, ids: Sequence[str] = (), quiet: bool = False) -> Any:
    """The whole input as one Arrow table, read once (stdin and FIFOs cannot be read twice); a
    file without rows is refused (in Python an empty frame gives empty results, as in crowd-kit).
    ``ids``: columns named by --task-col / --worker-col, whose text comes back as written, as the
    reader's own id columns do (ids 1e3 and 2.50 came back as 1000.0 and 2.5). The reader's warnings
    (a header row repeated as data) as ``galton: warning: ...`` lines on stderr, none if ``quiet``."""
    from ..io import to_arrow
    from ..io._read import ID_COLUMNS

    try:
        with collected() as caught:
            table = to_arrow(spec, ids=(*ID_COLUMNS, *ids))
    except reader_errors() as exc:
        raise CLIError(f"cannot read {spec!r}: {one_line(exc)}") from None
    if not quiet:
        report_warnings(caught, sys.stderr)
    if table.num_rows == 0:
        raise CLIError(f"{spec!r} holds no judgments (0 rows): nothing to aggregate")
    return table


def model_name(text: str) -> str | None:
    """``--model``: a model's name, or None for ``default`` (the default of the input's kind of data,
    as when the option is left out: bt for comparisons)."""
    from ..aggregator._registry import explicit

    return explicit(text)


def reader_errors() -> tuple[type[BaseException], ...]:
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
    return (CLIError, ValueError, TypeError, OSError, ImportError, *reader_errors())


def describe(exc: BaseException, options: Collection[str] | None = None) -> str:
    """One line for any failure: the message of an input error, else what kind of failure it is.
    ``options``: those of the subcommand that ran, so that a hint names only options it has (None:
    every option a hint may name)."""
    exc = remote_cause(exc)
    kind = type(exc)
    text = " ".join(str(exc).split())
    if kind.__name__ == "PanicException" or kind.__module__.startswith("pyo3_runtime"):
        return f"polars failed (internal panic: {text or 'no message'}); check the input, or run with --debug"
    if isinstance(exc, MemoryError):
        hints = [hint for option, hint in (("--max-memory", "--max-memory to fail early"), (None, "a smaller input"),
                                           ("--engine", "--engine ray"))
                 if option is None or options is None or option in options]
        listed = hints[0] if len(hints) == 1 else ", ".join(hints[:-1]) + ("," if len(hints) > 2 else "") + \
            " or " + hints[-1]
        return f"out of memory{': ' + text if text else ''}; use {listed}"
    if isinstance(exc, BrokenPipeError):
        return "the output pipe was closed before all results were written"
    if isinstance(exc, _error_types()):
        return one_line(exc)
    if isinstance(exc, (OverflowError, RecursionError, ArithmeticError)):
        return f"{kind.__name__}: {text or 'no message'}"
    return f"{kind.__name__}: {text or 'no message'} (unexpected; run with --debug for the traceback)"


def report_warnings(caught: Sequence[Any], err: TextIO) -> None:
    """Each distinct warning once, as ``galton: warning: ...`` on ``err``: galton's own, which the call
    collected (``galton._warnings.collected``); other libraries' warnings take Python's own path (Ray's
    unclosed-file ResourceWarnings are hidden by Python's default filters)."""
    seen: set[str] = set()
    for w in caught:
        msg = one_line(w.message) if isinstance(w.message, BaseException) else str(w.message)
        if msg not in seen:
            seen.add(msg)
            err.write(f"{PROG}: warning: {msg}\n")
