"""The checks of a whole-number or a finite-number setting that a simulation's fields and a study
file's keys share (``n_tasks=2.9``, ``repeats = 2.5``, ``quality_sd=nan``); here, not in
``galton.aggregator``, so that ``galton.datasets`` imports no model."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["MIN_BOOTSTRAP", "SEED_LIMIT", "finite_number", "seed_number", "whole_number"]

#: the fewest bootstrap resamples galton takes for an interval (a study's ``bootstrap``, ``galton agreement
#: --bootstrap``): the percentiles of fewer draws are no interval (of one: that draw, twice, which need
#: not contain the estimate)
MIN_BOOTSTRAP = 10
#: a simulation's seed is below this: numpy pads a seed to its 128-bit pool, so below it every seed's
#: spawned streams are distinct (see galton.datasets.simulate)
SEED_LIMIT = 2**128


def whole_number(key: str, value: Any, low: int | None = None, shown: Any = None, sep: str = "=") -> int:
    """``value`` of the setting ``key`` (a simulation's or a study's field) as an int (>= ``low``):
    an integer or a float of integer value (``1e3`` in a TOML file); anything else (``2.7``,
    ``"10"``, ``True``, NaN) raises ValueError naming the key as ``key{sep}value`` (``shown``: the
    whole value, for an element of a list). The message is built only when raising: formatting the
    whole list for each of its elements made a k grid of 12,000 take 91 s to check."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and (
            isinstance(value, numbers.Integral) or (math.isfinite(value) and float(value).is_integer())):
        if low is None or value >= low:
            return int(value)
        raise ValueError(f"{key}{sep}{value if shown is None else shown!r} must be >= {low}")
    what = "a whole number" if shown is None else "whole numbers"
    raise ValueError(f"{key}{sep}{value if shown is None else shown!r} must be {what}"
                     + (", not text" if isinstance(value, str) else ""))


def finite_number(key: str, value: Any, low: float | None = None, sep: str = "=") -> float:
    """``value`` of the setting ``key`` as a float (>= ``low``): a finite number; text, booleans,
    NaN and infinities raise ValueError naming the key as ``key{sep}value``."""
    said = f"{key}{sep}{value}"
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value):
        if low is None or value >= low:
            return float(value)
        raise ValueError(f"{said} must be >= {low}")
    raise ValueError(f"{said} must be a finite number" + (", not text" if isinstance(value, str) else ""))


def seed_number(key: str, value: Any, shown: Any = None) -> int:
    """``value`` of the seed setting ``key`` (a simulator's ``seed``) as an int: a whole number (as
    :func:`whole_number` takes it) in ``[0, 2**128)``; anything else raises ValueError naming the key
    (``shown``: the whole value, for an element of a list)."""
    number = whole_number(key, value, shown=shown)
    if 0 <= number < SEED_LIMIT:
        return number
    what = "a non-negative integer" if shown is None else "non-negative integers"
    raise ValueError(f"{key}={number if shown is None else shown!r} must be {what} below 2**128")
