"""Text tables (CSV, TSV) for the one reader: read every column as text, then type each column by
one rule, so that ids come back exactly as written.

The rule, per column (nulls — empty fields — are ignored):

- every value a *canonical* integer literal (``0`` or an optional ``-`` then a digit 1-9 then digits,
  no ``+``, no leading zero, no spaces, no ``.``) that fits int64: ``Int64``;
- an id column (task, worker, item ...; a gold file's label too): otherwise text, exactly as written
  (``007`` and ``7`` are two ids, ``1`` and ``1.0`` are two ids, ``True`` and ``true`` are two ids,
  ``99999999999999999999`` is text);
- any other column whose values are all ``true`` / ``false`` (any case): ``Boolean``;
- any other column whose values are all numbers as a program writes them (``0.5``, ``-2``, ``1e3``,
  ``4.50``, ``inf``, ``nan``; not ``007``, ``+7``, ``.5`` or ``5.``: a leading zero or sign marks a
  code, such as a label ``007`` beside ``other``, not a number; no whole number of 2**53 or more,
  which a float cannot hold) and no two distinct texts give the same number (``1`` and ``1.0`` do;
  ``0.0`` and ``-0.0`` count as one): ``Float64``, with ``-0.0`` made ``0.0``; otherwise text.
- JSON (:mod:`._json`): numbers as a JSON reader types them, except float columns that may not hold
  what the file wrote (an id column, whole numbers from 2**53 on): those are typed from their text
  by this rule.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import operator
import re
import threading
from typing import Any, Collection, Iterator

import pyarrow as pa

__all__ = [
    "HEAD_BYTES", "csv_fields_unlimited", "csv_header", "is_utf8", "not_utf8_line", "one_line", "read_text_table",
    "type_column", "type_columns",
]

HEAD_BYTES = 1 << 16
_CANONICAL_INT = r"^(0|-?[1-9][0-9]{0,18})$"
_FLOAT = r"(?i)^(-?(0|[1-9][0-9]*)(\.[0-9]+)?(e[+-]?[0-9]+)?|[+-]?(inf|infinity|nan))$"
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SEPARATORS = {",": "','", "\t": "tab", ";": "';'", "|": "'|'"}
#: the csv module's field limit while galton's readers run: 2**31 - 1 characters (a C long everywhere;
#: ``sys.maxsize`` overflows on Windows), not its default 131072 (a longer field failed "field larger
#: than field limit" where polars had read it)
_FIELD_LIMIT = 2**31 - 1
_limit_lock = threading.Lock()
_limit_users = 0
_limit_before = 0


@contextlib.contextmanager
def csv_fields_unlimited() -> Iterator[None]:
    """Let the csv module read fields of any length while the block runs, then give back the limit it
    had. ``csv.field_size_limit`` is one setting for the whole process, so it is raised only while
    galton's own readers run (one block or several at once, in threads) and not left raised for the
    caller's code; it is left alone at the end if other code set it meanwhile."""
    global _limit_users, _limit_before
    with _limit_lock:
        if _limit_users == 0:
            _limit_before = csv.field_size_limit(_FIELD_LIMIT)
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0 and csv.field_size_limit() == _FIELD_LIMIT:
                csv.field_size_limit(_limit_before)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def check_head(head: bytes, name: str, sep: str) -> list[str]:
    """Header names from the first bytes of a text table; raises for binary data, an empty file,
    lone CR line ends, a repeated column name or a file that looks separated by another character."""
    try:
        head.decode("utf-8")
        not_utf8 = None
    except UnicodeDecodeError as exc:  # not a character cut at the end
        not_utf8 = exc.start if exc.start < len(head) - 4 or len(head) < HEAD_BYTES else None
    # binary: NUL bytes beyond a few values' worth, or control bytes in what is no UTF-8 text; a form feed,
    # an escape or a NUL in a value is text (galton's own CSV of such a label was refused as "binary data")
    binary = _CONTROL.search(head) if _nul_bytes(head) or not_utf8 is not None else None
    if binary is not None:
        raise ValueError(_not_text(head, name, binary.start()))
    if not_utf8 is not None:
        raise ValueError(f"file {name!r} is not UTF-8 text (byte {not_utf8}); save it as UTF-8 CSV")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise ValueError(f"file {name!r} is empty; it needs a header row and one row per judgment")
    if len(re.findall(r"\r(?!\n)", text)) > text.count("\n"):  # the reader ends lines at \n only: one header
        # of every row. Lone CRs outnumber LFs, also where a quoted cell holds a line break (an LF)
        raise ValueError(
            f"file {name!r} has lone CR line ends (classic Mac, as Excel's \"CSV (Macintosh)\" writes); "
            "convert them to LF (or CRLF) line ends, or save it as \"CSV UTF-8\""
        )
    # the header: the first line that is not empty (the reader skips those); CSV line ends (splitlines
    # also splits at U+2028)
    first = re.split(r"\r\n|\n|\r", text.lstrip("\r\n"), maxsplit=1)[0]
    if re.fullmatch(r"(?i)\"?sep=.\"?", first):  # Excel's separator hint: no header, and rows wider than it
        line = text[:len(text) - len(text.lstrip("\r\n"))].count("\n") + 1
        raise ValueError(
            f"file {name!r} starts with Excel's separator line {first!r} (line {line}), which is no header; "
            "remove that line"
        )
    header = csv_header(text.lstrip("\r\n"), sep, complete=len(head) < HEAD_BYTES)
    seen: set[str] = set()
    for col in header:
        if "\x00" in col:  # polars panics on such a name (a NUL in a value is read)
            raise ValueError(f"file {name!r} has a column name holding a NUL character ({col[:80]!r}); rename it")
        if col in seen and col:  # several columns with no name (Excel's empty columns): left out by the reader
            raise ValueError(
                f"file {name!r} has two columns named {col!r} in its header; rename or remove one"
            )
        seen.add(col)
    if len(header) == 1:
        for other, shown in _SEPARATORS.items():
            if other != sep and other in header[0]:
                raise ValueError(
                    f"file {name!r} has one column {header[0][:80]!r}: it looks {shown}-separated; galton "
                    "reads ',' in .csv files and tab in .tsv files: rewrite it with ',' separators "
                    "(or tabs, named *.tsv)"
                )
    return header


def csv_header(text: str, sep: str, complete: bool = False) -> list[str]:
    """The names of the header that starts ``text`` (the first bytes of a CSV / TSV, from its header
    line), by the csv module: a quoted name may hold the separator, a line break or a quote written
    twice (read as one). ``complete``: ``text`` is the whole file. Where the header is cut
    off at the end of ``text`` (or is no CSV record), its first line's fields."""
    lines = io.StringIO(text)
    with csv_fields_unlimited():
        try:
            header = next(csv.reader(lines, delimiter=sep), [])
        except csv.Error:
            header = None
        if header is not None and (complete or text[:lines.tell()].endswith("\n")):
            return header
        first = re.split(r"\r\n|\n|\r", text, maxsplit=1)[0]
        return next(csv.reader([first], delimiter=sep), [])


def _nul_bytes(head: bytes) -> bool:
    """Whether the NUL bytes of a file's ``head`` make it binary: a Parquet file, UTF-16 / UTF-32 text (every
    second or fourth byte), or a tenth of the bytes; NULs in values are text that polars reads (UTF-8 text
    otherwise: most binary formats are no UTF-8, and are refused as such)."""
    nul = head.count(0)
    return nul > 0 and (head.startswith(b"PAR1") or nul * 10 > len(head) or _utf16_like(head))


def _utf16_like(head: bytes) -> bool:
    """Whether ``head`` reads as UTF-16 text: a byte-order mark, or mostly ASCII two bytes each."""
    sample = head[:512]
    even, odd = sample[0::2], sample[1::2]
    return sample[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(sample) >= 8 and max(
        even.count(0) / len(even), odd.count(0) / len(odd)) >= 0.75)


def _not_text(head: bytes, name: str, at: int) -> str:
    """What a file with binary data at byte ``at`` of its ``head`` is, and what to do."""
    if head.startswith(b"PAR1"):  # Hive and Spark write parts with no extension (000000_0)
        return (f"file {name!r} is a Parquet file (it starts with PAR1) with no .parquet name; name it *.parquet "
                "(a folder reads its *.parquet and *.pq files)")
    if _utf16_like(head):
        return (f"file {name!r} looks like UTF-16 text (as Excel's \"Unicode Text\" writes); save it as UTF-8 "
                "(Excel: \"CSV UTF-8\")")
    return (f"file {name!r} is not text CSV (binary data at byte {at}); pass a CSV / TSV text file, a Parquet "
            "file or a JSON-lines file")


def read_text_table(source: Any, name: str, sep: str, ids: Collection[str],
                    head: bytes) -> pa.Table:
    """Read a CSV / TSV (a path or bytes) whose first bytes are ``head``; columns typed by the rule
    of this module. Several columns with no name in the header (Excel's trailing ``,,``) are left out."""
    import polars as pl

    if b"\r\r\n" in head:  # Python's csv.writer on Windows, to a file opened without newline='': \r\n then
        # \n made \r\n; read as written, each row's last value kept a \r ("t0\r", "cat\r", 1 as text "1\r")
        source = _single_cr(source)
        head = source[:HEAD_BYTES]
    header = check_head(head, name, sep)
    src = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    try:
        df = pl.read_csv(src, separator=sep, infer_schema_length=0)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # polars panics derive from BaseException
        kind = "TSV" if sep == "\t" else "CSV"
        text = one_line(exc)
        if "more fields than defined" in text:  # polars names no line and suggests its own option
            text = _ragged(source, sep)
        elif "invalid utf-8" in text:  # past the head check_head read: polars names no line
            text = not_utf8_line(source) or text
        elif "CSV malformed" in text:  # "expected 0 rows, actual 1 rows, in chunk ...": no line, no cause
            text = _stray_quote(source, sep) or text
        elif "You might want to try" in text:  # polars' advice names its own options, which no user can set here
            text = text.split(" You might want to try")[0].rstrip().rstrip(".") + (
                "; a quote (\") opened and not closed on its line is the usual cause: close it, or write "
                "a quote inside a field as two (\"\")")
        raise ValueError(f"cannot read {name!r} as {kind}: {text}") from None
    if df.width == len(header) and df.columns != header:  # the names as the csv module reads them: polars
        # kept a quote written twice twice ('answer ""final""' for the name 'answer "final"')
        df = df.select(pl.col(c).alias(h) for c, h in zip(df.columns, header) if h or header.count("") == 1)
    elif header.count("") > 1 and df.width == len(header):  # columns with no name, as Excel leaves after the
        # last one (task,worker,label,,): no option can name them; polars had named them '', '_duplicated_0' ...
        df = df.select([c for c, h in zip(df.columns, header) if h])
    if df.width and df.height:  # a blank line (one at the end, as editors leave), or a line of spaces,
        # is no row: its spaces (read as the first field) would have made an integer id column text
        first = df.get_column(df.columns[0])  # a blank row is blank in its first column: the whole test
        if (first.is_null() | (first.str.strip_chars() == "")).any():  # only then (it stripped every cell)
            df = df.filter(~pl.all_horizontal(pl.all().is_null() | (pl.all().str.strip_chars() == "")))
    if df.width and df.height and functools.reduce(
            operator.and_, (df.get_column(c) == c for c in df.columns)).any():  # by Series: pl.col("*") is all
        _warn_header_rows(source, name, sep)
    return type_columns(df, ids).to_arrow()


def _warn_header_rows(source: Any, name: str, sep: str) -> None:
    """Warn that the text table ``source`` repeats its header row as a data row (files joined with
    their headers, ``cat a.csv b.csv``), naming the lines: read as data, each was a judgment of the
    column names (a task "task", a label "label"), and made a column of integers text."""
    from .._warnings import caller_stacklevel, warn

    with _lines(source) as stream, csv_fields_unlimited():
        rows = csv.reader(stream, delimiter=sep)
        header = next((row for row in rows if row), [])  # empty lines before the header are skipped
        lines = [rows.line_num for row in rows if row == header]
    if not lines:
        return
    shown = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
    names = ", ".join(repr(c[:40]) for c in header[:4]) + (", ..." if len(header) > 4 else "")
    warn(
        f"file {name!r} repeats its header row as a data row {len(lines)} time(s) (line(s) {shown}), as files joined "
        f"with their headers do (cat a.csv b.csv): each is read as a row of the values {names}, which makes a "
        "column of numbers text; remove those lines (to join files, keep the first file's header only: tail -n +2 "
        "on the others)",
        UserWarning, stacklevel=caller_stacklevel(),
    )


def _single_cr(source: Any) -> bytes:
    """The bytes of a text table (a path or bytes) with each \\r\\r\\n line end made \\n: the values
    of the file as it would be with \\n line ends (a line break inside a quoted value, which that
    writer made \\r\\n, stays \\r\\n)."""
    if not isinstance(source, (bytes, bytearray, memoryview)):
        with open(source, "rb") as fh:
            source = fh.read()
    return bytes(source).replace(b"\r\r\n", b"\n")


def _lines(source: Any) -> Any:
    raw = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else None
    return io.StringIO(raw.decode("utf-8", "replace")) if raw is not None else open(
        source, newline="", encoding="utf-8", errors="replace")


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` is UTF-8 text, checked by Arrow on the bytes as they are (no copy, no str)."""
    import numpy as np

    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)]).cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def not_utf8_line(source: Any, save_as: str = "UTF-8 CSV") -> str | None:
    """The first line that is not UTF-8 text, and its byte; None if every line is. ``save_as``: the
    format the message asks the file to be saved in."""
    offset = 0
    raw = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else None
    with io.BytesIO(raw) if raw is not None else open(source, "rb") as stream:
        for number, line in enumerate(stream, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return f"line {number} is not UTF-8 text (byte {offset + exc.start}); save the file as {save_as}"
            offset += len(line)
    return None


def _stray_quote(source: Any, sep: str) -> str | None:
    """The first line with a quote inside a field that does not start with one (``5"7``), which a
    CSV reader takes for the start of a quoted field; None if there is none."""
    with _lines(source) as stream:
        for number, line in enumerate(stream, 1):
            for field in line.rstrip("\r\n").split(sep):
                if '"' in field and not field.startswith('"'):
                    quoted = '"' + field.replace('"', '""') + '"'
                    return (f"line {number} has a quote inside the unquoted field {field[:40]!r}; quote the "
                            f"field and write the quote twice ({quoted[:44]})")
    return None


def _ragged(source: Any, sep: str) -> str:
    """The first row with more fields than the header, found by the csv module (quotes respected)."""
    with _lines(source) as stream, csv_fields_unlimited():  # a field of any length (polars read it)
        rows = csv.reader(stream, delimiter=sep)
        width = len(next((row for row in rows if row), []))  # empty lines before the header are skipped
        for row in rows:
            if len(row) > width:
                return (f"line {rows.line_num} has {len(row)} fields, the header {width}; fix or remove that "
                        "line (a field holding the separator must be quoted)")
    return f"a row has more fields than the header's {width}; fix or remove it"


def type_columns(df: Any, ids: Collection[str]) -> Any:
    """Type the text columns of a polars frame by the rule of this module."""
    import polars as pl

    out = []
    for col in df.columns:
        s = df.get_column(col)
        if s.dtype != pl.String:
            out.append(s)
            continue
        out.append(type_column(s, col in ids))
    return pl.DataFrame(out) if out else df


def type_column(s: Any, is_id: bool) -> Any:
    """A polars text column typed by this module's rule (``is_id``: an id column), under a plain name while it is
    typed: polars reads a name like ``^w.*$`` as a pattern of columns inside its string functions (an IndexError)."""
    return _typed(s.alias("value"), is_id).alias(s.name)


def _typed(s: Any, is_id: bool) -> Any:
    import polars as pl

    nn = s.drop_nulls()
    if nn.len() == 0:
        return s
    head = nn.head(64)  # each rule holds for every value or for none of the column: text ids and labels
    # fail on their first values, where a whole-column regex took as long as reading the file
    if head.str.contains(_CANONICAL_INT).all() and nn.str.contains(_CANONICAL_INT).all():
        ints = s.cast(pl.Int64, strict=False)
        if ints.null_count() == s.null_count():
            return ints
    if is_id:  # ids stay as written: "True", "true" and "TRUE" are three tasks (a boolean merged them)
        return s
    if head.str.to_lowercase().is_in(["true", "false"]).all() and nn.str.to_lowercase().is_in(["true", "false"]).all():
        return (s.str.to_lowercase() == "true").alias(s.name)
    if not (head.str.contains(_FLOAT).all() and nn.str.contains(_FLOAT).all()):
        return s
    floats = s.str.replace(r"(?i)^\+?infinity$", "inf").str.replace(r"(?i)^-infinity$", "-inf") \
        .cast(pl.Float64, strict=False)
    if floats.null_count() != s.null_count():
        return s
    floats = floats + 0.0  # -0.0 -> 0.0
    f_nn = floats.drop_nulls()
    if (nn.str.contains(r"^-?[0-9]+$") & (f_nn.abs() >= 2.0**53)).any():
        return s  # a whole number a float cannot hold exactly: its digits stay
    texts = pl.select(
        pl.when(f_nn == 0).then(nn.str.strip_prefix("-").str.strip_prefix("+")).otherwise(nn)
    ).to_series()
    if texts.n_unique() != f_nn.n_unique():
        return s  # two texts give one number ("1" and "1.0"): keep what was written
    return floats.alias(s.name)
