"""The one reader: every input (a path, stdin, a frame, a dict of arrays) to one Arrow table.

Every entry point — the CLI, :func:`galton.aggregate`, ``Judgments`` / ``Comparisons`` / ``Choices``,
the datasets and distributed ingest — reads through here, so the same rules hold everywhere.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any, Collection, Literal, Sequence

import numpy as np
import pyarrow as pa

from ._compressed import read_decompressed
from ._dict_columns import big_ints_error, dict_table, mixed_items_error, mixed_types_error, nested_error
from ._frame_columns import needed_columns, uuids_as_text, with_input_names
from ._hive import partition_columns, with_partitions
from ._json import read_json
from ._parquet import PARTIAL_KEY, SOURCES_KEY, no_shared_column, one_order, parquet_schema, read_parquet_file
from ._plain_columns import check_columns
from ._snapshot import read_steady
from ._text import HEAD_BYTES, one_line, read_text_table
from ._types import run_ends_decoded

__all__ = ["FrameKind", "ID_COLUMNS", "PARTIAL_KEY", "check_columns", "file_format", "frame_kind", "input_files",
           "natural_key", "one_column", "parquet_schema", "read_input", "to_arrow"]

FrameKind = Literal["pandas", "polars", "arrow", "dict"]


# --------------------------------------------------------------------------------------------------
# reading anything into an Arrow table
# --------------------------------------------------------------------------------------------------
def frame_kind(data: Any) -> FrameKind:
    """Which frame type results should be returned in for this input."""
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas":
        return "pandas"
    if mod == "polars":
        return "polars"
    if isinstance(data, (pa.Table, pa.RecordBatch)) or hasattr(data, "__arrow_c_stream__"):
        return "arrow"
    if isinstance(data, (str, os.PathLike)):
        return "polars"
    return "dict"


def is_series(data: Any) -> bool:
    """True for a pandas Series (crowd-kit's form of gold labels, skills and results: values by id)."""
    return frame_kind(data) == "pandas" and getattr(data, "ndim", 0) == 1 and hasattr(data, "index")  # not an Index


#: Columns read as ids from text files when the caller names none: their values come back as
#: written (``Int64`` when every value is a canonical integer, else text; see :mod:`._text`).
ID_COLUMNS: tuple[str, ...] = ("task", "worker", "left", "right", "item", "expert", "chosen")


def _hidden(parts: Sequence[str]) -> bool:
    return any(part.startswith((".", "_")) for part in parts)


def _glob_root(pattern: str) -> str:
    parts = Path(pattern).parts
    root: list[str] = []
    for part in parts:
        if any(c in part for c in "*?["):
            break
        root.append(part)
    return os.path.join(*root) if root else "."


def partition_root(source: Any) -> str | None:
    """Where the hive partition folders of ``source`` start: a directory itself, a glob pattern's
    fixed part (``data/label=*/*.parquet``: ``data``), None for one file."""
    text = os.fspath(source)
    if os.path.isdir(text):
        return text
    return _glob_root(text) if any(c in text for c in "*?[") else None


def natural_key(path: str) -> tuple[tuple[Any, ...], str]:
    """The sort key of a file name in natural order: runs of digits compare as numbers (``batch_9``
    before ``batch_10``, pyarrow's ``part-2`` before ``part-10``; in plain string order they came
    after, and ``--duplicates last`` kept the older answer), the rest as text; equal keys (``part-01``
    and ``part-1``) by plain string order, so the order is total and the same on every machine."""
    parts = re.split(r"([0-9]+)", path)  # text, digits, text, ...: each position one type
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), path


def input_files(path: str | os.PathLike) -> list[str]:
    """The files an input path names, in natural order (:func:`natural_key`: ``batch_9`` before
    ``batch_10``): the path itself for a file; for a directory every Parquet file below it
    (``.parquet`` or ``.pq``, any case); for a glob pattern every matching file. Files with a path
    component (below the directory or the glob's fixed root) starting with ``.`` or ``_`` are skipped:
    hidden files, temporaries and Spark's ``_temporary`` / ``_SUCCESS``. Local and Ray ingest read
    them in this order: rows are numbered (``--duplicates first`` / ``last``) file after file."""
    import glob

    text = os.fspath(path)
    if text != "-" and any(c in text for c in "*?[") and not os.path.exists(text):
        root = _glob_root(text)
        files = sorted((f for f in glob.glob(text, recursive=True) if os.path.isfile(f)
                        and not _hidden(Path(os.path.relpath(f, root)).parts)), key=natural_key)
        if not files:
            raise FileNotFoundError(f"no file matches {text!r} (files and folders starting with '.' "
                                    "or '_' are skipped)")
        return files
    p = Path(text)
    if text != "-" and not p.exists():
        raise FileNotFoundError(f"input path {text!r} does not exist")
    if text != "-" and p.is_dir():
        files = sorted((str(f) for f in p.rglob("*") if f.suffix.lower() in (".parquet", ".pq")
                        and not _hidden(f.relative_to(p).parts) and f.is_file()), key=natural_key)
        if not files:
            tables = sorted((f.name for f in p.iterdir() if f.is_file() and f.suffix in (".csv", ".tsv")),
                            key=natural_key)
            hint = ""
            if "judgments.csv" in tables:  # a dataset folder (judgments.csv, gold.csv, ...)
                gold = f" (its gold: {str(p / 'gold.csv')!r})" if "gold.csv" in tables else ""
                hint = f"; it looks like a dataset folder: read {str(p / 'judgments.csv')!r}{gold}"
            elif tables:
                hint = f"; name one of its files ({', '.join(tables[:5])}) instead"
            raise ValueError(f"directory {text!r} holds no .parquet files (nor .pq; files and folders "
                             f"starting with '.' or '_' are skipped){hint}")
        return files
    return [text]


def file_format(p: Path) -> tuple[str, str]:
    """(format, compression) from a file name; a name without an extension is CSV."""
    suffixes = [s.lower() for s in p.suffixes]
    compression = ""
    if suffixes and suffixes[-1] in (".gz", ".zst", ".bz2"):
        compression = suffixes.pop()
    ext = suffixes[-1] if suffixes else ""
    if ext in (".parquet", ".pq"):
        return "parquet", compression
    if ext in (".jsonl", ".ndjson"):
        return "jsonl", compression
    if ext == ".json":
        return "json", compression
    if ext == ".tsv":
        return "tsv", compression
    if ext in (".csv", ".txt", "") or p.name == "-":
        return "csv", compression
    raise ValueError(
        f"cannot tell the format of {str(p)!r} from its extension; use .csv, .tsv, .parquet, .jsonl "
        "or a directory of Parquet files (.parquet, .pq)"
    )


def read_input(path: str | os.PathLike, *, ids: Collection[str] | None = None,
               columns: Sequence[str] | None = None) -> pa.Table:
    """Read a file, a directory of Parquet files, or ``"-"`` (standard input, CSV) into a table.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` / ``.tsv`` (optionally ``.gz`` / ``.bz2`` / ``.zst``), ``.parquet``, ``.jsonl`` or ``.json``
        file, a directory of Parquet files (``.parquet`` or ``.pq``, any case), a FIFO, ``/dev/stdin``
        or ``"-"``. A file that is not a regular file (a pipe) is read exactly once, into memory.
    ids : collection of str, optional
        Columns holding ids: in text files their values come back as written (``Int64`` only when
        every value is a canonical integer). Default :data:`ID_COLUMNS`.
    columns : sequence of str, optional
        The columns the caller needs, for a Parquet directory or pattern: every file that lacks one
        some other file has is named in an error, and only they are read (a column no file has is
        left out: the caller's check names it missing). A single file is read whole.

    Returns
    -------
    pyarrow.Table
    """
    ids = ID_COLUMNS if ids is None else tuple(ids)
    text = os.fspath(path)
    p = Path(text)
    if text != "-" and any(c in text for c in "*?[") and not p.exists():  # a glob of Parquet files
        return _read_parquet_dir(text, columns, ids)
    if text != "-" and not p.exists():
        raise FileNotFoundError(f"input path {text!r} does not exist")
    if text != "-" and p.is_dir():
        return _read_parquet_dir(text, columns, ids)
    fmt, compression = file_format(p)
    regular = text != "-" and stat.S_ISREG(os.stat(text).st_mode)
    if text == "-":
        source: Any = sys.stdin.buffer.read()
    elif compression or not regular:
        source = read_decompressed(text, compression)
    else:
        source = text
    if fmt in ("csv", "tsv"):
        if isinstance(source, bytes):
            head = source[:HEAD_BYTES]
        else:
            with open(source, "rb") as fh:
                head = fh.read(HEAD_BYTES)
        return read_text_table(source, text, "\t" if fmt == "tsv" else ",", ids, head)
    if fmt == "parquet":
        try:
            if isinstance(source, bytes):
                return read_parquet_file(pa.BufferReader(source), text)
            # one open file for the footer and the pages: by path, pyarrow opens it again for the
            # pages, and a file replaced in between mixed the old footer with the new pages
            with pa.OSFile(os.fspath(source)) as fh:
                return read_parquet_file(fh, text)
        except (pa.ArrowException, OSError) as exc:
            raise ValueError(f"cannot read {text!r} as Parquet: {one_line(exc)}") from None
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return read_json(data, text, fmt, ids)


def _read_parquet_dir(path: str, columns: Sequence[str] | None, ids: Collection[str] = ID_COLUMNS) -> pa.Table:
    """Every visible Parquet file below ``path`` (a directory, or a glob pattern: the files it
    matches) as one table, with the columns of hive partition folders (``label=0/``,
    :mod:`galton.io._hive`); every file's schema is checked first (:func:`parquet_schema`). A folder
    rewritten while read is read again (:func:`galton.io._snapshot.read_steady`): one version."""
    return read_steady(path, lambda: input_files(path), lambda files: _read_parquet_files(path, files, columns, ids))


def _read_parquet_files(path: str, files: list[str], columns: Sequence[str] | None,
                        ids: Collection[str]) -> pa.Table:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    if not Path(path).is_dir():
        others = [f for f in files if Path(f).suffix.lower() not in (".parquet", ".pq")]
        if others:
            raise ValueError(f"the pattern {path!r} matches {len(others)} file(s) that are not Parquet (e.g. "
                             f"{others[0]!r}); a pattern reads Parquet files: name one CSV / JSON file at a time")
    parts = partition_columns(files, partition_root(path), ids)  # a pattern: folders below its fixed part
    schema = parquet_schema(files, None if columns is None else [c for c in columns if c not in parts])
    if not schema.names and columns is None and len(files) > 1:  # no column all files share (was "0 rows")
        raise no_shared_column(path, files)
    if not schema.names:
        return pa.table({})
    try:
        table = ds.dataset(files, schema=schema, format="parquet").to_table()
    except (pa.ArrowException, OSError) as exc:  # damaged pages: name the file (Arrow's message named none)
        raise ValueError(f"cannot read {_unreadable(files, schema.names) or path!r}: {one_line(exc)}; fix or remove "
                         "that file") from None
    counts = [pq.read_metadata(f).num_rows for f in files]
    table = one_order(table, files, counts)  # ordered categoricals the files declare alike stay ordered
    table = with_partitions(table, parts, counts) if parts else table
    if len(files) < 2:
        return table
    root = partition_root(path)  # errors name a bad row by its file and its row there
    names = [os.path.relpath(f, root) if root else f for f in files]
    meta = {**(table.schema.metadata or {}), SOURCES_KEY: json.dumps({"files": names, "rows": counts})}
    return table.replace_schema_metadata(meta)


def _unreadable(files: Sequence[str], columns: Sequence[str]) -> str | None:
    """The first of ``files`` whose ``columns`` cannot be read, or None."""
    import pyarrow.parquet as pq

    for f in files:
        try:
            pq.ParquetFile(f).read(columns=[c for c in columns if c in pq.read_schema(f).names])
        except (pa.ArrowException, OSError):
            return f
    return None


def to_arrow(data: Any, *, ids: Collection[str] | None = None,
             columns: Sequence[str] | None = None) -> pa.Table:
    """Convert any supported input (frame, dict of arrays, path, ``"-"`` for stdin) to a pyarrow
    Table; ``ids`` and ``columns`` as in :func:`read_input` (for paths). Of a pandas or polars frame
    only ``columns`` are converted, the others come back as columns of nulls (their names kept for
    the caller's errors). Raises for a repeated column name (of a frame: one of ``columns``)."""
    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pa.RecordBatch):
        table = pa.Table.from_batches([data])
    elif isinstance(data, (str, os.PathLike)):
        table = read_input(data, ids=ids, columns=columns)
    elif one_column(data):
        raise TypeError(f"cannot read a table from one column (a {type(data).__name__}); pass the whole frame")
    else:  # a frame: only the columns the caller reads are converted (:mod:`._frame_columns`)
        data, names = needed_columns(data, frame_kind(data), columns)
        table = _from_frame(data, columns)
        table = table if names is None else with_input_names(table, names)
    _check_unique_names(table.column_names)
    return run_ends_decoded(table)


def one_column(data: Any) -> bool:
    """A Series or array (pandas, polars, numpy, Arrow) where a table was expected."""
    return len(getattr(data, "shape", ())) == 1 or isinstance(data, (pa.Array, pa.ChunkedArray))


def _check_unique_names(names: Sequence[Any]) -> None:
    seen: set[Any] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"the input has two columns named {str(n)!r}; rename or remove one")
        seen.add(n)


def _from_frame(data: Any, columns: Sequence[Any] | None = None) -> pa.Table:
    kind = frame_kind(data)
    if kind == "pandas":
        _check_unique_names(list(data.columns))
        try:
            table = pa.Table.from_pandas(data, preserve_index=False)
        except OverflowError:  # Python ints beyond int64 in an object column (64-bit hashes)
            table = pa.Table.from_pandas(_big_ints(data), preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            text = uuids_as_text(data)  # pyarrow before 18: UUIDs as their text, as later ones read them
            if text is not None:
                return _from_frame(text, columns)
            for name in data.columns:  # lists (what a list column needs) whose items' types differ
                mixed = mixed_items_error(str(name), list(data[name]), **_index_labels(data)) \
                    if data[name].dtype == object else None
                if mixed is not None:
                    raise mixed from None
            bad = _mixed_type_column(data)
            if bad is not None:
                if len(bad[1]) == 1:
                    raise nested_error(bad[0], bad[1][0]) from None
                raise mixed_types_error(bad[0], bad[1]) from None
            raise ValueError(f"could not read the pandas frame: {one_line(exc)}") from None
        # text beside bytes converts to binary, then decoded as one text: "x" and b"x" were one label
        binary = [n for n, t in zip(data.columns, table.schema.types) if pa.types.is_binary(t)]
        bad = _mixed_type_column(data, binary) if binary else None
        if bad is not None:
            raise mixed_types_error(*bad)
        return table
    if kind == "polars":
        if hasattr(data, "collect") and not hasattr(data, "to_arrow"):  # a LazyFrame: its result
            data = data.collect()
        data = _without_objects(data, columns)
        try:
            return data.to_arrow()
        except pa.ArrowException as exc:  # Int128: "Invalid or unsupported format string: '_pli128'"
            odd = [f"{c!r} ({t})" for c, t in data.schema.items() if "128" in str(t)]
            if not odd:
                raise
            raise ValueError(f"column {', '.join(odd)} has a type Arrow cannot take ({one_line(exc)}); cast it "
                             "to Int64 or String first") from None
    if hasattr(data, "__arrow_c_stream__"):
        return _stream_table(data)
    if isinstance(data, dict):
        return dict_table(data)
    if type(data).__name__ == "ShardedJudgments":  # load_parquet's shards, given to a model that reads here
        raise TypeError(
            "this model reads its judgments in this process, not in the shards of load_parquet / fit_parquet "
            "(only the EM models run there); read the files with galton.io.read_input(path) and fit that "
            "(engine='ray' where the model takes it)")
    raise TypeError(
        f"cannot read judgments from a {type(data).__name__}; pass a pandas or polars DataFrame, a "
        "pyarrow Table, a dict of arrays or a path to a CSV / Parquet / JSON-lines file"
    )


def _stream_table(data: Any) -> pa.Table:
    """An Arrow stream (a ``pyarrow.RecordBatchReader``) read whole; one that gives no rows warns: a
    stream is read once, and one given a second time (already read) fitted nothing, silently."""
    table = pa.table(data)
    if table.num_rows == 0:
        from .._warnings import caller_stacklevel, warn

        warn(
            f"the Arrow stream ({type(data).__name__}) gave no rows, so there is nothing to fit; a stream can be "
            "read once only: if it was read before (given to galton or read_all()), make a new one, or read it "
            "once into a table (reader.read_all()) and pass the table",
            UserWarning, stacklevel=caller_stacklevel())
    return table


def _without_objects(data: Any, columns: Sequence[Any] | None) -> Any:
    """A polars frame without ``Object`` columns: Arrow gets the 8-byte addresses of their Python
    objects (booleans read as labels nobody gave, UUIDs as "bytes that are not UTF-8 text"). One that
    the reader uses (any, without ``columns``) is refused by name; an unused one becomes nulls."""
    objects = [c for c, t in data.schema.items() if str(t) == "Object"]
    used = [c for c in objects if columns is None or c in columns]
    if used:
        c = used[0]
        types = sorted({type(v).__name__ for v in data[c].head(1000).to_list() if v is not None})
        raise ValueError(
            f"column {c!r} is a polars Object column (Python objects: {', '.join(types) or 'none'}), which galton "
            f"cannot read as ids or labels; convert it to a plain type first: to text with pl.col({c!r})"
            f".map_elements(str, return_dtype=pl.String), or rebuild it from its values (pl.Series({c!r}, "
            f"df[{c!r}].to_list()))")
    if not objects:
        return data
    import polars as pl

    return data.with_columns([pl.lit(None).alias(c) for c in objects])


def _big_ints(data: Any) -> Any:
    """A pandas frame whose object columns of Python ints beyond int64 are uint64 (they fit from 0
    to 2**64 - 1); raises, naming the column, for ints that no 64-bit type holds."""
    out = {}
    for name in data.columns:
        col = data[name]
        if col.dtype != object:
            continue
        try:
            pa.array(col.to_numpy(), from_pandas=True)
        except OverflowError:
            values = [v for v in col.tolist() if v is not None]
            if all(isinstance(v, int) and 0 <= v < 2**64 for v in values) and len(values) == len(col):
                out[name] = col.to_numpy().astype(np.uint64)
            else:
                raise big_ints_error(str(name), [v for v in values if isinstance(v, int)]) from None
        except (pa.ArrowException, TypeError, ValueError):
            continue  # said by the caller's check of mixed types
    return data.assign(**out)


def _index_labels(df: Any) -> dict[str, Any]:
    """How an error names a pandas frame's rows: by its index, unless that is the default 0, 1, ..."""
    import pandas as pd

    plain = isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
    return {} if plain else {"labels": list(df.index), "index": True}


def _mixed_type_column(df: Any, names: Sequence[Any] | None = None) -> tuple[str, list[str]] | None:
    """The first object column of ``df`` (of ``names``) that mixes value types (text and bytes too)
    or holds another type than text, numbers or booleans: (its name, the types); else None."""
    for name in df.columns if names is None else names:
        col = df[name]
        if col.dtype == object:
            types = sorted({type(v).__name__ for v in col.dropna()})
            if len(types) > 1 or (types and types[0] not in ("str", "int", "float", "bool", "bytes")):
                return str(name), types
    return None
