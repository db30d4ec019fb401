"""Re-exports of the categorical data model, which lives in :mod:`galton.data` (the encoded data
protocol, the one encoder, the one validation module); kept so that ``from galton.judgments import
Judgments`` and the helpers below keep working."""

from __future__ import annotations

from typing import Any

from .data._encode import encode_column, label_set, lookup, plain_column, readonly
from .data._validate import MAX_EXAMPLES, ColumnError, example_rows
from .data.judgments import Judgments
from .io._read import frame_kind, to_arrow

__all__ = ["ColumnError", "Judgments", "MAX_EXAMPLES", "to_arrow", "encode_column", "encode_gold", "example_rows",
           "frame_kind", "label_set", "lookup", "plain_column", "readonly"]

#: the name the model modules used before ``lookup`` was public; new code imports ``lookup``
_lookup = lookup


def __getattr__(name: str) -> Any:
    """``encode_gold`` lives in :mod:`galton._gold`, which builds on this module: it is imported on
    first use, so that the two modules do not import each other while they load."""
    if name == "encode_gold":
        from ._gold import encode_gold

        return encode_gold
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
