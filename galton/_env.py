"""On / off environment variables (``GALTON_NUMBA``, ``GALTON_NO_NUMBA``, ``GALTON_FOLLOW_LOAD``,
``GALTON_SPREAD_THREADS``, ``GALTON_PROGRESS``, ``GALTON_VERBOSE``),
read the same way by each: 0, false, no or off (any case, spaces around ignored) is off, any other
value on; unset or empty is the variable's default. Here, not in ``galton.aggregator``, so that the
progress bar reads its variable without importing the models."""

from __future__ import annotations

import os

__all__ = ["OFF", "switch", "switched_on"]

#: the values that switch a variable off (compared in lower case)
OFF = ("0", "false", "no", "off")


def switch(name: str) -> bool | None:
    """The environment variable ``name`` as on (True) or off (False, for 0, false, no or off in any
    case); None when it is unset or empty."""
    value = os.environ.get(name, "").strip().lower()
    return None if not value else value not in OFF


def switched_on(name: str) -> bool:
    """An on / off environment variable that is on unless set to 0, false, no or off."""
    return switch(name) is not False
