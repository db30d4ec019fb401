"""Text ids against integer ids: the one rule by which gold, skills and new data find integer
tasks and workers. Text is an integer id only when written as the reader types an integer column
(a *canonical* integer: ``0``, or an optional ``-`` then a digit 1-9 then digits; not ``007``,
``+7``, ``7.0``, `` 7``), so ``"007"`` is another worker than 7, as it is in a CSV fitted whole."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

__all__ = ["CANONICAL_INT", "canonical_int_ids", "uuid_as_text"]

#: a canonical integer literal, up to 20 digits: uint64 ids reach 18446744073709551615
CANONICAL_INT = r"0|-?[1-9][0-9]{0,19}"
_CANONICAL = re.compile(CANONICAL_INT)


def canonical_int_ids(values: np.ndarray) -> np.ndarray:
    """``values`` (an object or text array) as an object array whose text is the integer it writes
    where it is a canonical integer, and None (no id) where it is other text; numbers unchanged."""
    out = np.empty(values.size, dtype=object)
    for i, v in enumerate(values.ravel().tolist()):
        if isinstance(v, bytes):
            v = v.decode("ascii", errors="replace")
        out[i] = (int(v) if _CANONICAL.fullmatch(v) else None) if isinstance(v, str) else v
    return out.reshape(values.shape)


def uuid_as_text(values: np.ndarray) -> np.ndarray:
    """An object array with ``uuid.UUID`` values as ``str(uuid)`` and UTF-8 bytes as their text, as
    the reader holds UUID and binary columns (bytes gold or skills from ``pd.read_parquet`` found
    nothing: accuracy 0.0); other bytes stay bytes and match nothing."""
    import uuid

    def text(v: Any) -> Any:
        try:
            return str(v) if isinstance(v, uuid.UUID) else v.decode() if isinstance(v, bytes) else v
        except UnicodeDecodeError:
            return v

    flat = values.ravel().tolist()  # a numpy bytes array ("S") gives bytes here too
    if not any(isinstance(v, (uuid.UUID, bytes)) for v in flat):
        return values
    out = np.empty(len(flat), dtype=object)
    for i, v in enumerate(flat):  # item by item: tuple ids stay whole
        out[i] = text(v)
    return out.reshape(values.shape)
