"""Datasets shipped inside the package as zstd-compressed Parquet (read-only, never downloaded).

Layout, written by :mod:`galton.datasets._build_bundle`::

    galton/datasets/data/<name>/judgments.parquet   task, worker, label
                               /gold.parquet        task, label          (when the source has it)
                               /experts.parquet     task, expert, label  (when the source has it)
                               /README.md           source and licence (the attribution)
"""

from __future__ import annotations

import os
from pathlib import Path

from ._dataset import Dataset
from ._io import Frame, check_frame, convert, format_names, read_parquet, write_table

#: Directory holding one sub-directory per bundled dataset.
DATA_DIR: Path = Path(__file__).resolve().parent / "data"

#: The tables a bundled dataset can have, in :class:`Dataset` order.
TABLES = ("judgments", "gold", "experts")


def names() -> list[str]:
    """List the datasets bundled with galton.

    Returns
    -------
    list of str
        Dataset names, sorted.

    Examples
    --------
    >>> "act_cf" in names()
    True
    """
    if not DATA_DIR.is_dir():  # pragma: no cover - only in a broken installation
        return []
    return sorted(p.name for p in DATA_DIR.iterdir() if (p / "judgments.parquet").is_file())


def _dataset_dir(name: str) -> Path:
    """Return the directory of bundled dataset `name`, or raise a ``ValueError`` that helps."""
    valid = names()
    if name not in valid:
        raise ValueError(
            f"no bundled dataset named {name!r}; bundled datasets are: {format_names(valid)}. "
            "Other datasets (those whose licence does not allow bundling) can be read from a "
            "checkout of the shared datasets with galton.datasets.load_shared(name, root)."
        )
    return DATA_DIR / name


def files(name: str) -> list[Path]:
    """The Parquet files bundled dataset ``name`` is read from (judgments, gold, experts: those it
    has). No output goes into their folder (:func:`galton.io.plan_output` of ``bundled:NAME``):
    ``galton datasets export`` and ``-o`` of a command reading ``bundled:NAME`` wrote over the
    installed copy, which then no longer loaded."""
    folder = _dataset_dir(name)
    return [folder / f"{t}.parquet" for t in TABLES if (folder / f"{t}.parquet").is_file()]


def load(name: str, *, frame: Frame = "polars") -> Dataset:
    """Load a bundled dataset.

    Reads the Parquet files shipped inside the package; never touches the network.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    frame : {"polars", "pandas", "arrow"}, default "polars"
        Type of the returned tables.

    Returns
    -------
    Dataset
        ``(judgments, gold, experts)``; ``gold`` and ``experts`` are ``None`` when absent.

    Raises
    ------
    ValueError
        If `name` is not bundled (the message lists the bundled names) or `frame` is unknown.

    Examples
    --------
    >>> import galton
    >>> ds = galton.load_dataset("act_cf")
    >>> ds.judgments.shape, ds.gold.shape, ds.experts
    ((1720, 3), (300, 2), None)
    """
    check_frame(frame)
    folder = _dataset_dir(name)
    tables = []
    for table in TABLES:
        path = folder / f"{table}.parquet"
        tables.append(convert(read_parquet(path, table), frame) if path.is_file() else None)
    return Dataset(*tables)


def info(name: str) -> str:
    """Return the README of a bundled dataset: what it is, its source, licence and size.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    str
        The README text, kept as the attribution the licence asks for.
    """
    return (_dataset_dir(name) / "README.md").read_text(encoding="utf-8")


def export(name: str, path: str | os.PathLike[str], *, table: str = "judgments") -> Path:
    """Write one table of a bundled dataset (its judgments by default) to a CSV, TSV, JSON lines or
    Parquet file.

    The format follows the extension (``.csv``, ``.tsv``, ``.jsonl``, ``.parquet`` or ``.pq``); a
    bundled file itself is refused as ``path``. The file is written to
    a temporary name in the same directory and then moved over `path` in one step, so an
    interrupted export never leaves a truncated file.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    path : path-like
        Destination file; its directory must exist.
    table : {"judgments", "gold", "experts"}
        Which table: the judgments (task, worker, label), the gold labels (task, label) or the
        experts' labels (task, expert, label). A dataset without that table is a ``ValueError``
        that names the tables it has; nothing is written then.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    if table not in TABLES:
        raise ValueError(f"table must be one of {', '.join(TABLES)}, not {table!r}")
    folder = _dataset_dir(name)
    source = folder / f"{table}.parquet"
    if not source.is_file():
        have = [p.stem for p in files(name)]
        raise ValueError(f"bundled dataset {name!r} has no {table} table; it has: {', '.join(have)}")
    from ..io import plan_output

    plan_output(path, inputs=[f"bundled:{name}"], what="path")  # never into the bundled data folder
    return write_table(read_parquet(source, table), path)
