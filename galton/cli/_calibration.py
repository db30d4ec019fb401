"""The ``calibrated`` line of ``galton aggregate``'s summary: how the default model's probabilities
were calibrated, or what left them as fitted, naming the option the user gave (``--uncalibrated``
was named for ``--param calibrate=False`` too, and ``--max-iter 0`` for ``--param n_iter=0``)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["calibration_said"]


def _given(args: argparse.Namespace, keys: tuple[str, ...], option: str, value: Any) -> str:
    """``option`` when it was given, else the ``--param`` of ``keys`` that was given instead."""
    said = option if value is None else f"{option} {value}"
    flag = getattr(args, option.lstrip("-").replace("-", "_"), None)
    if flag is None or flag is False:  # the option not given (--max-iter 0 is given: 0 is no None)
        given = [f"--param {key}={v}" for key, v in getattr(args, "param", None) or () if key in keys]
        return given[0] if given else said
    return said


def calibration_said(model: Any, args: argparse.Namespace) -> str | None:
    """The summary's ``calibrated`` value; None for a model without the default's calibration."""
    temperature = getattr(model, "temperature_", None)
    if temperature is None:
        return None
    held = getattr(model, "calibration_judgments_", 0)
    on = f"{held:,} held-out judgments of {getattr(model, 'calibration_tasks_', 0):,} tasks"
    if not getattr(model, "calibrate", True):
        return f"off ({_given(args, ('calibrate',), '--uncalibrated', None)}: probabilities as fitted)"
    if getattr(model, "n_iter_", None) == 0:  # the fit stopped before its results' passes
        by = _given(args, ("n_iter", "max_iter"), "--max-iter", 0)
        return f"not done ({by}: the starting estimate, probabilities as they start)"
    if not held:  # nothing to choose a temperature on: no task without gold, or one label
        return "not done (no judgment could be held out: no task without gold, or one label; probabilities as fitted)"
    if temperature < 1:  # by each task's judgments n: 1 / (1 + (n - 1) rho)
        return (f"temperature 1 / (1 + {getattr(model, 'rho_', 0.0):.3g} (n - 1)) for a task of n judgments, "
                f"{temperature:.3g} at their mean (chosen on {on})")
    # not a sign of calibrated probabilities: the held-out judgments found no softer ones better
    return f"temperature 1 ({on} found no better one; probabilities as fitted)"
