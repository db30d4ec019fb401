"""The column names of an input from its schema or header only: the kind of data (categorical,
pairwise, choice) and the columns a metric can use are told from them before the data is read.

A compressed text file is decompressed as the reader decompresses it, a byte-order mark is not part
of the first name, a CSV header is parsed with its quotes, and a JSON array's first object gives the
names wherever its lines break (a gzip header, a BOM or a multi-line array gave no names, or wrong
ones: a pairwise file was fitted as categorical, a metric's ``weight`` column went unseen).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from ._hive import partition_columns
from ._parquet import parquet_schema
from ._compressed import read_decompressed
from ._read import file_format, input_files
from ._text import csv_header

__all__ = ["input_columns"]

#: text read at most to find a header or a JSON array's first object
_HEAD = 1 << 20


def _head(path: Path, compression: str) -> str:
    """The first ``_HEAD`` characters of a text file, decompressed, without a byte-order mark. A
    compressed file that is truncated or not of its suffix's format is refused naming it."""
    if compression:
        head = read_decompressed(path, compression, _HEAD)
    else:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def _json_names(text: str) -> list[str]:
    """Keys of the first object of a JSON array, or of the first line of JSON lines."""
    body = text.lstrip()
    decoder = json.JSONDecoder()
    try:
        if body.startswith("["):  # the first object, wherever the array's lines break
            first, _ = decoder.raw_decode(body[1:].lstrip())
        else:
            first, _ = decoder.raw_decode(body)
    except ValueError:  # cut off by _HEAD, or not JSON: the reader says what is wrong
        return []
    if isinstance(first, dict) and all(isinstance(v, list) for v in first.values()) and not body.startswith("["):
        return [str(k) for k in first]  # one object of columns
    return [str(k) for k in first] if isinstance(first, dict) else []


def input_columns(path: str | os.PathLike[str]) -> list[str]:
    """Column names of an input, from its schema or header only: a Parquet file, directory or glob
    (the first file's schema and its partition folders), or the header / first object of a regular
    text file (CSV, TSV, JSON lines or a JSON array; compressed too). ``[]`` for anything that can only
    be read once (stdin ``-``, a pipe, Parquet or not) and for a compressed Parquet file (no footer to
    seek to): read that whole, once, and take its columns."""
    text = os.fspath(path)
    if text == "-":
        return []
    files = input_files(text)
    first = Path(files[0])
    if Path(text).is_dir():
        fmt, compression = "parquet", ""
    else:
        fmt, compression = file_format(first)
    if not stat.S_ISREG(os.stat(first).st_mode):
        return []
    if fmt == "parquet":
        if compression:  # its footer is at the end of the decompressed bytes: the reader reads it whole
            return []
        parts = partition_columns([str(first)], text if Path(text).is_dir() else None, ())
        return list(dict.fromkeys([*parquet_schema([str(first)]).names, *parts]))
    head = _head(first, compression)
    if fmt in ("json", "jsonl"):
        return _json_names(head)
    # the reader skips empty lines before the header; a quoted name may hold a line break
    header = csv_header(head.lstrip("\r\n"), "\t" if fmt == "tsv" else ",", complete=len(head) < _HEAD)
    return [c.strip() for c in header]
