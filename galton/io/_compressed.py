"""Compressed inputs (``.gz``, ``.bz2``, ``.zst``): opened by their suffix, and read with an error
that names the file and says what is wrong with it: truncated (an interrupted copy or download), or
not data of its suffix's format. gzip's, bz2's and Arrow's errors named no file ("Not a gzipped file
(b'ta')", "ZSTD decompress failed"), and a truncated file's EOFError reached the CLI as "unexpected"."""

from __future__ import annotations

import os
import zlib
from typing import Any

import pyarrow as pa

from ._text import one_line

__all__ = ["open_input", "read_decompressed"]

#: each suffix's format, as its errors name it
_FORMATS = {".gz": "gzip", ".bz2": "bzip2", ".zst": "zstd"}


def open_input(path: str | os.PathLike[str], compression: str) -> Any:
    """A binary stream of the file ``path``, decompressed by its suffix (``.gz``, ``.bz2``, ``.zst``)."""
    if compression == ".gz":
        import gzip

        return gzip.open(path, "rb")
    if compression == ".bz2":
        import bz2

        return bz2.open(path, "rb")
    if compression == ".zst":
        return pa.input_stream(os.fspath(path), compression="zstd")
    return open(path, "rb")


def read_decompressed(path: str | os.PathLike[str], compression: str, size: int = -1) -> bytes:
    """The bytes of the file ``path``, decompressed by its suffix (``compression``: ``".gz"`` ...
    or ``""``); the first ``size`` of them where ``size`` is not negative. Raises ValueError naming
    the file for a file that cannot be read or decompressed."""
    try:
        with open_input(path, compression) as fh:
            return fh.read() if size < 0 else fh.read(size)
    except (OSError, EOFError, zlib.error, pa.ArrowException) as exc:
        raise ValueError(f"cannot read {os.fspath(path)!r}: {_why(exc, compression)}") from None


def _why(exc: BaseException, compression: str) -> str:
    """Why a file could not be read: the system's reason (a permission), or what is wrong with its data."""
    fmt = _FORMATS.get(compression)
    if fmt is None or (isinstance(exc, OSError) and isinstance(exc.errno, int) and exc.errno > 0):
        return one_line(exc)
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return (f"its {fmt} data ends early ({one_line(exc)}): the file is truncated, as an interrupted copy "
                "or download leaves it; copy it again")
    return (f"it is not {fmt} data, or its {fmt} data is damaged ({one_line(exc)}); a name ending in "
            f"{compression} is read as {fmt}: name the file for its format (without {compression} if it is "
            "not compressed) or compress it again")
