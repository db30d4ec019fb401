"""JSON input for the one reader (:mod:`galton.io._read`): an array of objects, an object of
columns (``.json``) or JSON lines, with numbers as the file wrote them where a float cannot hold
them (:func:`numbers_as_written`) and strings as the text the file wrote (no timestamps)."""

from __future__ import annotations

from typing import Any, Collection

import pyarrow as pa

from ._dict_columns import mixed_items_error
from ._text import is_utf8, not_utf8_line, one_line, type_column
from ._types import view_cast

__all__ = ["read_json"]


def _int_or_float(text: str) -> int | float:
    """A JSON integer, or a float from 2**53 on (re-read by :func:`numbers_as_written`)."""
    n = int(text)
    return n if -(2**53) < n < 2**53 else float(n)


class _KeyTwice(Exception):
    """A JSON object holds ``key`` twice: a JSON reader keeps one of its values without a word (an
    array's objects kept the last, Arrow refused JSON lines); not a ValueError, which is not JSON."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_key_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' ``object_pairs_hook``: the object as a dict, raising :class:`_KeyTwice` for a
    key it holds twice."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _KeyTwice(key)
            seen.add(key)
    return obj


def _key_twice(where: str, key: str) -> str:
    shown = repr(key) if len(key) <= 60 else f"{key[:60]!r}... ({len(key)} characters)"
    return f"{where} has the key {shown} twice; keep one of its values (a JSON reader keeps only one, silently)"


def _object_with_key_twice(text: str) -> int:
    """The number (from 1) of the first object of the JSON array ``text`` that holds a key twice, at
    any depth (0 if none): each object decoded on its own, on the error path only."""
    import json
    import re

    decoder, space = json.JSONDecoder(object_pairs_hook=_no_key_twice), re.compile(r"[ \t\n\r]*")
    pos, number = space.match(text, text.index("[") + 1).end(), 0
    while pos < len(text) and text[pos] != "]":
        number += 1
        try:
            _, pos = decoder.raw_decode(text, pos)
        except _KeyTwice:
            return number
        pos = space.match(text, pos).end()
        pos = space.match(text, pos + 1).end() if text[pos:pos + 1] == "," else len(text)
    return 0


def _one_document(data: bytes) -> bool:
    import json

    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def read_json(source: bytes, name: str, fmt: str, ids: Collection[str]) -> pa.Table:
    """A JSON file's bytes as a table (``fmt``: "json" or "jsonl"; ``ids``: the id columns). A UTF-8
    byte-order mark (as Windows editors write) is no part of the JSON. Bytes that are not UTF-8 text
    (latin-1) are refused naming their line: Arrow's JSON lines reader took them into a table of text
    that is no text ("Wrapping caf\ufffd failed" later, or a panic printing it)."""
    if not is_utf8(source):
        what = "JSON lines" if fmt == "jsonl" else "JSON"
        raise ValueError(f"cannot read {name!r} as {what}: {not_utf8_line(source, 'UTF-8')}")
    source = source[3:] if source.startswith(b"\xef\xbb\xbf") else source
    table, layout = _read_json(source, name, fmt)
    return numbers_as_written(table, source, layout, ids)


def _mixed(rows: list[dict], lines: list[int] | None = None) -> str | None:
    """Which key of a JSON array's objects (or of JSON lines, on ``lines``) holds values of two types
    ("Expected bytes, got a 'int' object" named none), with the first object (line) of each type; or
    whose lists hold items of two types (:func:`mixed_items_error`)."""
    for key in dict.fromkeys(k for r in rows for k in r):
        first: dict[str, int] = {}
        for i, r in enumerate(rows):
            v = r.get(key)
            kind = "number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__
            if v is not None:
                first.setdefault(kind, i)
        if len(first) > 1:
            shown = ", ".join(f"{k} (object {i + 1})" if lines is None else f"{k} (line {lines[i]})"
                              for k, i in list(first.items())[:3])
            return f"column {key!r} holds values of different types: {shown}; write them with one type"
        if "list" in first:  # ["a", 2]: Arrow named no line ("Column(/options/[]) changed from string to number")
            mixed = mixed_items_error(key, [r.get(key) for r in rows], "line" if lines else "object",
                                      lines or [i + 1 for i in range(len(rows))],
                                      'write the items of every list with one type (numbers as text: "2", not 2)')
            if mixed is not None:
                return str(mixed)
    return None


def _line_error(data: bytes, exc: BaseException) -> str:
    """Arrow's error for JSON lines with the line it means: Arrow counts rows from 0 within each
    block it reads, blank lines not counted ("row 20891" was line 90001)."""
    import json
    import re

    rows, numbers = [], []
    for number, line in enumerate(data.decode("utf-8", errors="replace").split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, object_pairs_hook=_no_key_twice)
        except _KeyTwice as twice:  # Arrow: "Column(/label) was specified twice in row 0"
            return _key_twice(f"line {number}", twice.key)
        except ValueError as err:
            return f"line {number} is not JSON ({one_line(err)}); fix or remove that line"
        if not isinstance(row, dict):
            return f"line {number} holds a JSON {type(row).__name__}, not an object; fix or remove that line"
        rows.append(row)
        numbers.append(number)
    return _mixed(rows, numbers) or re.sub(r" in row \d+", "", one_line(exc))


def _has_timestamp(typ: pa.DataType) -> bool:
    return pa.types.is_timestamp(typ) or any(_has_timestamp(typ.field(i).type) for i in range(typ.num_fields))


def _no_timestamp(typ: pa.DataType) -> pa.DataType:
    """``typ`` with string for each timestamp in it: JSON has no timestamps, but Arrow's JSON lines
    reader makes ISO-8601 strings timestamps (task "2024-01-02" came back 2024-01-02T00:00:00.000,
    matching no gold read from CSV, and "...T00:00:00+01:00" and "...T23:00:00Z" one task in UTC);
    strings stay the text the file wrote, as from a JSON array or CSV."""
    if pa.types.is_timestamp(typ):
        return pa.string()
    if pa.types.is_struct(typ):
        return pa.struct([f.with_type(_no_timestamp(f.type)) for f in typ])
    if pa.types.is_list(typ):
        return pa.list_(typ.value_field.with_type(_no_timestamp(typ.value_type)))
    if pa.types.is_large_list(typ):
        return pa.large_list(typ.value_field.with_type(_no_timestamp(typ.value_type)))
    return typ


def _read_json(source: bytes, name: str, fmt: str) -> tuple[pa.Table, str]:
    """(table, layout): ``"array"``, ``"columns"`` or ``"lines"``."""
    import json

    data = source
    stripped = data.lstrip()
    if not stripped:
        raise ValueError(f"file {name!r} is empty; it needs one JSON object per judgment")
    if stripped[:1] == b"[":  # a JSON array of objects
        try:
            rows = json.loads(data, parse_int=_int_or_float, object_pairs_hook=_no_key_twice)
        except _KeyTwice as twice:  # {"label": 1, "label": 2} was read as label 2
            number = _object_with_key_twice(data.decode("utf-8", errors="replace"))
            raise ValueError(f"cannot read {name!r} as JSON: "
                             f"{_key_twice(f'object {number}' if number else 'an object', twice.key)}") from None
        except ValueError as exc:
            raise ValueError(f"cannot read {name!r} as JSON: {one_line(exc)}") from None
        if not rows or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f"file {name!r} holds a JSON array; galton reads an array of objects "
                             "(one per judgment) or JSON lines")
        try:
            return pa.Table.from_pylist(rows), "array"
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise ValueError(f"cannot read {name!r} as a table: {_mixed(rows) or one_line(exc)}") from None
    if fmt == "json" and stripped[:1] == b"{":  # one object of columns: {"task": [...], ...}
        try:
            doc = json.loads(data, parse_int=_int_or_float, object_pairs_hook=_no_key_twice)
        except _KeyTwice as twice:  # {"label": [...], "label": [...]}: one of them was read
            doc = None  # JSON lines in a .json file (its first line): the lines' reader names the line
            if _one_document(data):
                raise ValueError(f"cannot read {name!r} as JSON: {_key_twice('the object of columns', twice.key)}") \
                    from None
        except ValueError:
            doc = None  # JSON lines in a .json file
        if isinstance(doc, dict) and doc and all(isinstance(v, list) for v in doc.values()):
            try:
                return pa.table(doc), "columns"
            except (pa.ArrowException, TypeError, ValueError) as exc:
                raise ValueError(f"cannot read {name!r} as a table: {one_line(exc)}") from None
    import pyarrow.json as pj

    try:
        table = pj.read_json(pa.BufferReader(data))
        if any(_has_timestamp(typ) for typ in table.schema.types):
            schema = pa.schema([(f.name, _no_timestamp(f.type)) for f in table.schema])
            table = pj.read_json(pa.BufferReader(data), parse_options=pj.ParseOptions(explicit_schema=schema))
        return table, "lines"
    except pa.ArrowException as exc:
        text = _line_error(data, exc) if " in row " in str(exc) or "changed from" in str(exc) else one_line(exc)
        raise ValueError(f"cannot read {name!r} as JSON lines: {text}") from None


def numbers_as_written(table: pa.Table, data: bytes, layout: str, ids: Collection[str]) -> pa.Table:
    """``table`` (read from the JSON ``data`` in ``layout``) with its float columns that may not be
    what the file wrote typed from the numbers' own text by the text rule (:mod:`._text`): a JSON
    reader makes a column float64 as soon as one number is no int64 (one 20-digit hash id turned
    every id of its column into floats, merging tasks). Re-read: id columns read as floats, and
    columns with whole numbers from 2**53 on, where a float loses digits."""
    import numpy as np

    def inexact(col: Any) -> bool:
        v = np.abs(col.to_numpy(zero_copy_only=False).astype(np.float64))
        return bool(np.any(np.isfinite(v) & (v >= 2.0**53)))

    redo = [name for name, typ in zip(table.column_names, table.schema.types)
            if pa.types.is_floating(typ) and (name in ids or inexact(table.column(name)))]
    if not redo:
        return table
    import json

    import polars as pl

    def parse(text: str) -> Any:  # numbers kept as their text
        return json.loads(text, parse_int=str, parse_float=str)

    text = data.decode("utf-8")
    doc = [parse(line) for line in text.split("\n") if line.strip()] if layout == "lines" else parse(text)
    for name in redo:
        values = doc[name] if layout == "columns" else [row.get(name) for row in doc]
        typed = type_column(pl.Series(name, values, dtype=pl.String), name in ids).to_arrow()
        if pa.types.is_large_string(typed.type) or pa.types.is_string_view(typed.type):
            typed = view_cast(typed, pa.string())
        table = table.set_column(table.column_names.index(name), name, typed)
    return table
