"""Where galton's warnings point: at the user's line, however many of galton's frames lie between."""

from __future__ import annotations

import os
import sys

__all__ = ["caller_stacklevel"]

_ROOT = os.path.dirname(os.path.abspath(__file__))


def caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside galton (the
    user's ``fit``), however many lifecycle frames lie between. A warning at a fixed level points
    inside galton when the call path changes; Python then shows the same warning once for every
    call site of the user's, and a ``module=`` filter does not match."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_ROOT + os.sep):
        frame, level = frame.f_back, level + 1
    return level
