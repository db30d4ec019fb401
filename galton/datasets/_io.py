"""File IO for the dataset layout: typed CSV reading, frame conversion, atomic writes.

Every dataset is up to three tables with fixed column names (see :data:`COLUMNS`). CSV files are
read by galton's one reader (:func:`galton.io.read_input`), with its rules: a column is integer
only when every value is a canonical integer literal, so an id written ``"007"`` stays text, because
a leading zero is part of an id.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .._extras import import_pandas

if TYPE_CHECKING:  # polars is imported where a table is read (0.2 s: not at ``import galton``)
    import polars as pl

Frame = Literal["polars", "pandas", "arrow"]

#: Frame types that :func:`convert` can produce.
FRAMES: tuple[str, ...] = ("polars", "pandas", "arrow")

#: Column names of each table of a dataset, in order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "judgments": ("task", "worker", "label"),
    "gold": ("task", "label"),
    "experts": ("task", "expert", "label"),
}

#: Zstandard level of the bundled Parquet files (higher is smaller and slower to write only).
ZSTD_LEVEL = 19


def check_frame(frame: str) -> None:
    """Raise ``ValueError`` unless `frame` names a supported frame type.

    Parameters
    ----------
    frame : str
        Requested frame type.

    Raises
    ------
    ValueError
        If `frame` is not one of :data:`FRAMES`.
    """
    if frame not in FRAMES:
        raise ValueError(
            f"frame={frame!r} is not supported; use one of {', '.join(map(repr, FRAMES))}"
        )


def _check_columns(df: pl.DataFrame, table: str, source: Path) -> pl.DataFrame:
    """Return the expected columns of `table` from `df`, or raise naming the missing ones."""
    expected = COLUMNS[table]
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise ValueError(
            f"{source} is missing column(s) {missing}; a {table} table needs columns "
            f"{list(expected)} and has {df.columns}"
        )
    return df.select(expected)


def read_csv(path: str | os.PathLike[str], table: str) -> pl.DataFrame:
    """Read one table of a dataset from CSV (or Parquet) through galton's one reader.

    Parameters
    ----------
    path : path-like
        CSV file with a header row.
    table : {"judgments", "gold", "experts"}
        Which table the file holds; fixes the expected columns and their order.

    Returns
    -------
    polars.DataFrame
        The columns of ``COLUMNS[table]`` in that order; integers as ``Int64`` where every value
        is a canonical integer literal, otherwise text (ids) or numbers (labels).

    Raises
    ------
    ValueError
        If a required column is missing.
    """
    from ..io import read_input

    path = Path(path)
    import polars as pl

    df = pl.from_arrow(read_input(path, ids=("task", "worker", "expert")))
    return _check_columns(df, table, path)


def read_parquet(path: str | os.PathLike[str], table: str) -> pl.DataFrame:
    """Read one table of a dataset from Parquet through galton's one reader (it picks the format by
    the extension: :func:`read_csv` is the same read) and check its columns; returns the columns
    of ``COLUMNS[table]`` in that order."""
    return read_csv(path, table)


def convert(df: pl.DataFrame | None, frame: Frame) -> Any:
    """Convert a polars frame to the requested frame type.

    Parameters
    ----------
    df : polars.DataFrame or None
        Table to convert; ``None`` passes through.
    frame : {"polars", "pandas", "arrow"}
        Target type: ``polars.DataFrame``, ``pandas.DataFrame`` or ``pyarrow.Table``.

    Returns
    -------
    polars.DataFrame or pandas.DataFrame or pyarrow.Table or None
    """
    check_frame(frame)
    if df is None or frame == "polars":
        return df
    if frame == "arrow":
        return df.to_arrow()
    import_pandas("frame='pandas'")  # an optional dependency: fail here with advice
    return df.to_pandas()


def write_table(df: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write `df` atomically to CSV, TSV or Parquet (by extension): see :func:`galton.io.write_table`."""
    from ..io import write_table as _write

    return _write(df, path)


def format_names(names: Iterable[str]) -> str:
    """Return names as a comma-separated list for error messages."""
    return ", ".join(names)
