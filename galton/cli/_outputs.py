"""Where ``galton aggregate`` writes, checked before anything is read: the output (a file, or a
Parquet directory for a name without an extension or ending with ``/``), the pair probabilities
beside a pairwise / choice output, and the worker report, none of which may take another's place."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ._common import CLIError, check_checkpoint_dir
from ._streams import closed

__all__ = ["dir_output", "pairs_path", "plan_outputs"]


def pairs_path(output: str) -> Path:
    """Where the pair probabilities go: ``labels.parquet`` → ``labels_pairs.parquet``."""
    p = Path(output)
    return p.with_name(f"{p.stem}_pairs{p.suffix}")


def dir_output(path: str | None) -> bool:
    """A name without an extension, or one that ends with a separator (``out.csv/``, ``results.v1/``),
    is a Parquet directory (``-`` is standard output)."""
    return path is not None and path != "-" and (
        not Path(path).suffix or path.endswith(tuple(s for s in (os.sep, os.altsep) if s)))


def plan_outputs(args: argparse.Namespace, kind: str | None) -> None:
    """Refuse the outputs before anything is read (see :func:`galton.io.plan_output`)."""
    from ..io import output_within, plan_output, same_output

    if args.output == "-" and closed(sys.stdout):  # said before the fit, not after it
        raise CLIError("--output -: cannot write to standard output: it is closed; give --output a file, or start "
                       "galton with standard output open (nothing was read or written)")
    check_checkpoint_dir(args)  # the fit's other output: a directory
    inputs = [args.input, args.gold]
    workers = getattr(args, "workers_output", None)
    if workers is not None:
        if workers == "-" or dir_output(workers):
            raise CLIError(f"--workers-output must be a file (.parquet, .pq, .csv, .tsv or .jsonl), not {workers!r}")
        if args.output is not None and args.output != "-":  # by file, not by name: a link, a bind mount
            if same_output(args.output, workers):
                raise CLIError("--workers-output and --output name the same file; give them different names")
            if kind in ("pairwise", "choice") and not dir_output(args.output) and same_output(
                    pairs_path(args.output), workers):
                raise CLIError(f"--workers-output {workers!r} is where the pair probabilities of --output go "
                               f"({pairs_path(args.output).name}); give the worker report another name")
            if dir_output(args.output) and output_within(workers, args.output):  # replaced as a whole
                raise CLIError(f"--workers-output {workers!r} lies inside the --output directory {args.output!r}, "
                               "which galton replaces as a whole; give the worker report a path outside it")
        plan_output(workers, inputs=inputs, what="--workers-output")
    if args.output is None:
        return
    plan_output(args.output, inputs=inputs, directory=dir_output(args.output), what="--output",
                kind="results")
    if kind in ("pairwise", "choice") and args.output != "-" and not dir_output(args.output):
        if same_output(pairs_path(args.output), args.output):  # a link: one would replace the other
            raise CLIError(f"{pairs_path(args.output).name}, where the pair probabilities of --output go, is a link "
                           f"to --output {args.output!r}; remove the link or give --output another name")
        plan_output(pairs_path(args.output), inputs=inputs, what="--output (pair probabilities)")
