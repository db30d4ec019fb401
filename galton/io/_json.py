"""JSON input for the one reader (:mod:`galton.io._read`): three layouts, numbers as written."""

from __future__ import annotations

from typing import Collection

import pyarrow as pa

from ._text import json_numbers_as_written, one_line

__all__ = ["read_json"]


def _int_or_float(text: str) -> int | float:
    """A JSON integer, or a float from 2**53 on (re-read by :func:`json_numbers_as_written`)."""
    n = int(text)
    return n if -(2**53) < n < 2**53 else float(n)


def read_json(source: bytes, name: str, fmt: str, ids: Collection[str]) -> pa.Table:
    """A JSON file's bytes as a table: an array of objects, an object of columns (``.json``) or JSON
    lines; float columns that may not hold what the file wrote are typed from their text
    (:func:`galton.io._text.json_numbers_as_written`)."""
    return json_numbers_as_written(_read_json(source, name, fmt), source, ids)


def _read_json(source: bytes, name: str, fmt: str) -> pa.Table:
    import json

    data = source
    stripped = data.lstrip()
    if not stripped:
        raise ValueError(f"file {name!r} is empty; it needs one JSON object per judgment")
    if stripped[:1] == b"[":  # a JSON array of objects
        try:
            rows = json.loads(data, parse_int=_int_or_float)
        except ValueError as exc:
            raise ValueError(f"cannot read {name!r} as JSON: {one_line(exc)}") from None
        if not rows or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f"file {name!r} holds a JSON array; galton reads an array of objects "
                             "(one per judgment) or JSON lines")
        try:
            return pa.Table.from_pylist(rows)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise ValueError(f"cannot read {name!r} as a table: {one_line(exc)}") from None
    if fmt == "json" and stripped[:1] == b"{":  # one object of columns: {"task": [...], ...}
        try:
            doc = json.loads(data, parse_int=_int_or_float)
        except ValueError:
            doc = None  # JSON lines in a .json file
        if isinstance(doc, dict) and doc and all(isinstance(v, list) for v in doc.values()):
            try:
                return pa.table(doc)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                raise ValueError(f"cannot read {name!r} as a table: {one_line(exc)}") from None
    import pyarrow.json as pj

    try:
        return pj.read_json(pa.BufferReader(data))
    except pa.ArrowException as exc:
        raise ValueError(f"cannot read {name!r} as JSON lines: {one_line(exc)}") from None
