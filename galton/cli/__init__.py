"""The ``galton`` command.

::

    galton aggregate INPUT [--model NAME] [--param KEY=VALUE] [--gold FILE] [--output FILE] ...
    galton agreement INPUT [--distance nominal|ordinal|interval|ratio] [--bootstrap N]
    galton allocate INPUT --budget N [--strategy eig|uncertainty|uniform] [--output next.csv] ...
    galton models [NAME]
    galton datasets list | show NAME | export NAME PATH
    galton bench [STUDY.toml | --datasets ... --models ... --k ...] --out DIR [--seed N] [--repeats N]
                 [--engine local|ray]
    galton simulate [CONFIG.toml] --out DIR [--n-tasks N --n-workers N ...]
    galton --version

``INPUT`` is a CSV / TSV / Parquet / JSON-lines file, a directory of Parquet files, or
``bundled:NAME`` for a dataset shipped with galton (``galton datasets list``). Results go to
``--output`` (``.parquet``, ``.pq``, ``.csv``, ``.tsv`` or ``.jsonl``, or, for categorical data, a name
without extension, or ending in ``/``, for a Parquet directory; written atomically) with the columns ``task, label,
confidence, p_<label>...``; a short summary goes to stdout. ``--workers-output FILE`` also writes
the worker report, one row per worker (:mod:`galton.aggregator.worker_report`). With ``--engine
ray`` an iterative model reads a directory (or glob) of
Parquet files in parallel Ray tasks straight into the shard actors (``galton.workers.ingest``);
a directory ``--output`` is then written by the shards, one part file each.

``INPUT`` ``-`` reads CSV from standard input; ``--output -`` writes the results as CSV to standard
output (the summary then goes to stderr). Before anything is read, galton refuses an output that is
an input, lies inside or contains an input directory (gold included), or is a directory galton did
not write (:func:`galton.io.plan_output`); it never deletes a directory it did not write.

Exit codes: 0 success, 2 any failure (one line ``galton: error: ...`` on stderr, no traceback
unless ``--debug``, no output file), 1 a ``galton bench`` that produced no crowd curve (every
fit failed, or the crowd judged no gold task; its report, which says which, is written), 130
interrupted (SIGINT), 143 terminated (SIGTERM), 129 hung up (SIGHUP: the terminal closed; not
under ``nohup``); after an interrupt no temporary file or folder is left, and a Ray instance the
command started is stopped. A standard stream the command was started
without is said when it is needed ("cannot write to standard output: it is closed", ``>&-``;
"cannot read standard input: it is closed", ``<&-``), with status 2; with standard error closed a
failure still exits with 2 (:mod:`galton.cli._streams`).

The package sits above the library: it calls galton's public API (the model registry, the reader
and writer of :mod:`galton.io`, :mod:`galton.benchmarks`, :mod:`galton.workers`), and nothing in
the library imports it. One module per group of subcommands: :mod:`galton.cli.aggregate`
(with :mod:`galton.cli.prefs` for pairwise, choice and rating data), :mod:`galton.cli.catalog`
(``models``, ``datasets``), :mod:`galton.cli.agreement` and :mod:`galton.cli.study` (``bench``,
``simulate``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import traceback
from typing import Any, Sequence, TextIO

from .. import _signals
from .._progress import end_line
from .._run_scope import run_scope
from ._common import (BUNDLED_PREFIX, PROG, CLIError, add_max_memory, add_on_invalid, at_least_one, describe,
                      model_name, model_param, remote_cause, seed)
from ._streams import standard_streams
from .agreement import add_agreement
from .allocate import add_allocate
from .catalog import add_datasets, add_models
from .prefs import KINDS
from .study import add_bench, add_simulate

__all__ = ["BUNDLED_PREFIX", "CLIError", "PROG", "build_parser", "main"]


# --------------------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``galton`` command."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Merge noisy judgments (crowd workers, annotators, LLM judges) into one label per task.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="let Ray's own start-up lines and worker output reach the terminal")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    agg = sub.add_parser(
        "aggregate", help="fit a model and write one label per task",
        description="Fit an aggregation model to judgments (one row per task, worker, label) and "
        "write task, label, confidence and p_<label> columns.",
    )
    agg.add_argument("input", metavar="INPUT",
                     help="CSV/TSV/Parquet/JSON-lines file, a directory of Parquet files or a quoted pattern of them "
                          "('parts/*.parquet'), bundled:NAME, "
                     "or - for CSV on standard input")
    agg.add_argument("--model", "-m", default=None, type=model_name,
                     help="model name (see `galton models`); default: galton's robust default (bds, its "
                     "probabilities softened by a temperature per task, by its number of judgments, chosen on held-out "
                     "judgments, still over-confident "
                     "where workers share errors: README 'How sure is it?')")
    agg.add_argument("--gold", default=None, metavar="FILE",
                     help="known labels (columns task, label) to score the result against; not used "
                     "in the fit unless --use-gold. Gold whose labels are none of the judgments' is refused. "
                     "bundled:NAME inputs use their own gold")
    agg.add_argument("--use-gold", action="store_true",
                     help="also give the gold labels to the model (clamped during EM; needed by gold_mv). "
                     "The accuracy is then measured on labels the model was given")
    agg.add_argument("--output", "-o", default=None, metavar="FILE",
                     help="results file: .parquet, .pq, .csv, .tsv or .jsonl, a name without extension (or "
                     "ending in /) for a Parquet directory (categorical data only: pairwise, choice, rating and "
                     "multilabel results need a file; with --engine ray on Parquet input: one part file per "
                     "shard), or - for CSV on standard output; written atomically, never over an input or a "
                     "directory galton did not write")
    agg.add_argument("--top", type=at_least_one, default=None, metavar="N",
                     help="categorical data: instead of one p_<label> column per label, the N most probable "
                     "labels of each task and their probabilities (label_1, p_1, ..., label_N, p_N, most "
                     "probable first): the readable output with many labels")
    agg.add_argument("--workers-output", default=None, metavar="FILE",
                     help="also write one row per worker (judgments, tasks, skill with its 95%% "
                     "interval, chance, information in bits, flags constant / uninformative / "
                     "adversarial / too_little_data; each kind of data its own report, multi-label data none yet): "
                     ".parquet, .pq, .csv, .tsv or .jsonl, written atomically (see README, 'Which workers to keep')")
    agg.add_argument("--kind", choices=KINDS, default="auto",
                     help="kind of data: auto (left/right columns: pairwise; options + choice/ranking, or "
                     "a ranking column: choice; a label column of lists: multilabel; else categorical), or "
                     "rating for numeric scores (--model with a rating model implies it, on bundled:NAME "
                     "too); pairwise / choice / rating write item scores (pairwise and "
                     "choice also <output>_pairs with pair probabilities); multilabel (each judgment the set "
                     "of tags that apply) writes each task's tags and p_<tag>, one --model fit per tag")
    agg.add_argument("--tag-sep", default=None, metavar="S",
                     help="multilabel data in CSV / TSV: the character between a judgment's tags "
                     "(default: |); also joins the tags in CSV / TSV output. In every format spaces around a "
                     "text tag are removed and a blank tag is none")
    agg.add_argument("--task-col", default="task", metavar="C",
                     help="task column (default: task) of categorical, multilabel and rating data")
    agg.add_argument("--worker-col", default="worker", metavar="C",
                     help="worker column (default: worker), every kind of data")
    agg.add_argument("--label-col", default="label", metavar="C",
                     help="label column (default: label): the rating of rating data, the preferred item of "
                     "pairwise data (whose items are read from left, right); choice data reads options, choice "
                     "or ranking and takes no --label-col")
    agg.add_argument("--engine", choices=("local", "ray"), default=None,
                     help="where the shards live (default: local; ray when --ray-address is given)")
    agg.add_argument("--shards", type=int, default=None, metavar="N",
                     help="number of task shards (at most one per task is made: more would hold nothing)")
    agg.add_argument("--ray-address", default=None, metavar="ADDR",
                     help="Ray cluster to connect to (else RAY_ADDRESS, else a new local instance)")
    agg.add_argument("--max-iter", type=int, default=None, metavar="N",
                     help="iteration limit of iterative models (0: the model's starting estimate, as "
                     "--param n_iter=0)")
    agg.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                     help="iterative models: save the fit's state in DIR every --checkpoint-every "
                     "iterations; the same command run again (same data, model and parameters) resumes "
                     "from the last one, with the same result as an uninterrupted run")
    agg.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                     help="with --checkpoint-dir: save every N iterations (default: 1; always at the end)")
    agg.add_argument("--param", type=model_param, action="append", default=None, metavar="KEY=VALUE",
                     help="a parameter of the model, repeatable, as in Python (values read as JSON or in the "
                     "form `galton models NAME` shows defaults, such as (4.0, 2.0), 'elbo' or None, else text): "
                     "--param stopping=likelihood --param tol=1e-7 runs ds to convergence; `galton models NAME` "
                     "lists a model's parameters and defaults")
    agg.add_argument("--seed", type=seed, default=None, metavar="N",
                     help="random seed (used by models that have random_state)")
    agg.add_argument("--uncalibrated", action="store_true",
                     help="report the default model's probabilities as fitted, without the temperatures "
                     "it chooses on held-out judgments (README: 'How sure is it?')")
    add_on_invalid(agg, "rows with a missing task, worker or label (pairwise data: also an item compared with "
                   "itself or a label that is neither item; choice data: a list with fewer than two items or "
                   "an item twice, a choice outside the options; rating data: a rating that is no usable number, "
                   "such as N/A or inf): fail (default) or drop them; multilabel data: a missing tag set is no tag, "
                   "a judgment kept either way")
    agg.add_argument("--duplicates", choices=("keep", "first", "last", "raise"), default=None,
                     help="rows that repeat a (task, worker) pair (categorical, multilabel and rating data): keep each "
                     "as a judgment of its own (keep, as crowd-kit; the default, with a warning when there are any), "
                     "keep the first or the last in row order (a directory's files in natural order: batch_9 before "
                     "batch_10), or fail (raise)")
    add_max_memory(agg)
    agg.add_argument("--quiet", "-q", action="store_true",
                     help="no summary, progress bar or warnings (errors are still reported)")
    agg.set_defaults(func=_cmd_aggregate)

    add_agreement(sub)
    add_allocate(sub)
    add_models(sub)
    add_datasets(sub)
    add_bench(sub)
    add_simulate(sub)
    _add_debug(sub)
    return parser


def _add_debug(sub: Any) -> None:
    """``--debug`` after the subcommand too (``galton aggregate x.csv --debug``)."""
    for parser in sub.choices.values():
        parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                            help="show the traceback of a failure")
        # the options of the subcommand that runs: a failure's hint names only these
        parser.set_defaults(cli_options=frozenset(o for a in parser._actions for o in a.option_strings))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_debug(action)


# --------------------------------------------------------------------------------------------------
# aggregate (galton/cli/aggregate.py: imported on use, with the models)
# --------------------------------------------------------------------------------------------------
def _cmd_aggregate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .aggregate import cmd_aggregate

    return cmd_aggregate(args, out, err)


# --------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``galton`` command; returns the exit code (0 ok, 2 failure, 130 SIGINT, 143 SIGTERM,
    129 SIGHUP).

    SIGINT, SIGTERM and SIGHUP raise :class:`galton._signals.Interrupted` from here on; the writers remove
    their temporaries as the exception unwinds, later signals are ignored while that happens, and
    :func:`galton.io.remove_temporaries` removes whatever is left of this call's (a thread's call
    leaves the temporaries of other threads' writes alone).
    """
    previous = _signals.install()
    try:
        # a closed standard stream: a clear error, not NoneType's
        with _no_ray_crash_dump(), run_scope() as created, standard_streams():
            return _run(list(argv) if argv is not None else sys.argv[1:], _Stdout(sys.stdout), sys.stderr, created)
    finally:
        _signals.restore(previous)


#: calls of main() running, and whether the first of them put RAY_DISABLE_FAILURE_SIGNAL_HANDLER there
_RAY_QUIET: dict[str, Any] = {"calls": 0, "added": False}
_RAY_QUIET_LOCK = threading.Lock()


@contextlib.contextmanager
def _no_ray_crash_dump() -> Any:
    """Ray's C++ crash handler would print a stack dump on SIGTERM (a clean stop for galton): off for
    a Ray the command starts (unless the environment says otherwise), and out of ``os.environ`` again
    once no call of main() runs (it stayed, inherited by every child process started later)."""
    with _RAY_QUIET_LOCK:
        if _RAY_QUIET["calls"] == 0:
            _RAY_QUIET["added"] = "RAY_DISABLE_FAILURE_SIGNAL_HANDLER" not in os.environ
            os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
        _RAY_QUIET["calls"] += 1
    try:
        yield
    finally:
        with _RAY_QUIET_LOCK:
            _RAY_QUIET["calls"] -= 1
            if _RAY_QUIET["calls"] == 0 and _RAY_QUIET["added"]:
                os.environ.pop("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", None)


def _ray_verbose() -> None:
    """``-v``: Ray's own lines reach the terminal (imports Ray only when asked for)."""
    try:
        from ..workers import cluster
    except ImportError:  # no Ray installed: nothing of Ray's to show
        return
    cluster.set_verbose(True)


def _parser_of(parser: argparse.ArgumentParser, args: argparse.Namespace, before: list[str]) -> argparse.ArgumentParser:
    """The parser of the subcommand ``args`` ran (``galton datasets show``'s) if named in ``before``
    (the arguments ahead of the one not recognised), else ``parser``."""
    while True:
        action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        name = None if action is None else getattr(args, action.dest, None)
        if action is None or name not in action.choices or name not in before:
            return parser
        parser = action.choices[name]


def _run(argv: list[str], out: TextIO, err: TextIO, created: set[str] | None = None) -> int:
    debug = "--debug" in argv
    options: frozenset[str] | None = None
    try:
        parser = build_parser()
        try:
            args, extra = parser.parse_known_args(argv)
            if extra:  # with the usage of the subcommand given (parse_args printed galton's own)
                _parser_of(parser, args, argv[:argv.index(extra[0])] if extra[0] in argv else argv).error(
                    f"unrecognized arguments: {' '.join(extra)}")
        except SystemExit as exc:  # --help, --version and usage errors
            return int(exc.code) if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        debug = bool(getattr(args, "debug", False))
        options = getattr(args, "cli_options", None)
        if args.verbose:
            _ray_verbose()
        code = int(args.func(args, out, err))
        out.flush()  # here, not at exit: a failure there was "Exception ignored ..." and status 120
        return code
    except SystemExit as exc:
        if exc.code != _signals.RAY_SIGTERM_CODE:
            raise
        # ray.init replaces the SIGTERM handler with its own, which raises SystemExit(15)
        _signals.cleaning()
        _clean_up(created)
        _say_interrupted(err)
        return 128 + _signals.RAY_SIGTERM_CODE
    except KeyboardInterrupt as exc:  # SIGINT / SIGTERM / SIGHUP (Interrupted) or a plain Ctrl-C
        _signals.cleaning()
        _clean_up(created)
        _say_interrupted(err)
        return _signals.exit_code(exc)
    except BaseException as exc:  # noqa: BLE001 - every failure is one line (polars panics included)
        _signals.cleaning()
        _clean_up(created)
        if _broken_pipe(exc):  # the reader left (| head): quiet, with the status of a SIGPIPE death
            _silence_stdout()
            if not debug:
                return 128 + 13
        if getattr(remote_cause(exc), "path", None) == "-":  # what is still buffered fails again at exit
            _silence_stdout()
        end_line()  # a bar left open: the error on a line of its own
        if debug:
            traceback.print_exc(file=err)
        err.write(f"{PROG}: error: {describe(exc, options)}\n")
        return 2


class _Stdout:
    """Standard output as the commands get it: a write that fails (a full disk, ``> /dev/full``)
    says "cannot write to standard output: <reason>" (it was a bare "[Errno 28] No space left on
    device"); a closed pipe stays a BrokenPipeError (the quiet exit)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            _named(exc)
            raise

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            _named(exc)
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _named(exc: OSError) -> None:
    """Raise a failed write to standard output as "cannot write to standard output: <reason>"
    (:func:`galton.io._errors.stdout_error`); a closed pipe is left to be raised as it is."""
    from ..io._errors import stdout_error  # not at import: galton.io loads pyarrow

    error = stdout_error(exc)
    if error is not exc:
        raise error from exc


def _say_interrupted(err: TextIO) -> None:
    """One line for an interrupt, where it can still be written (after a SIGHUP the terminal is gone:
    writing to it fails with EIO, which must not replace the exit code)."""
    end_line()  # the bar of the interrupted fit: "...judgments/sgalton: interrupted" on one line before
    with contextlib.suppress(OSError, ValueError):
        err.write(f"{PROG}: interrupted\n")
        err.flush()


def _broken_pipe(exc: BaseException) -> bool:
    """A write to a closed pipe: Python's BrokenPipeError, or polars' error for the same (EPIPE)."""
    return isinstance(exc, BrokenPipeError) or "Broken pipe (os error 32)" in str(exc)


def _clean_up(created: set[str] | None) -> None:
    """Remove the temporaries this run's writers still hold (``created``: all when None)."""
    try:
        from ..io import remove_temporaries
    except BaseException:  # pragma: no cover - interrupted during the first imports
        return
    remove_temporaries(created)


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the exit flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover
        pass

