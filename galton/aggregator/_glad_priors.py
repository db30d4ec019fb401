"""GLAD's prior means of the abilities and the log inverse difficulties: a number, or one value
per worker / task id from a pandas Series or a dict, checked within bounds where the model's
numbers stay finite."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..judgments import lookup
from ._label_priors import shown
from ._params import check_real

__all__ = ["PRIOR_BOUNDS", "per_name"]


def _aligned(keys: Any, vals: np.ndarray, names: np.ndarray) -> np.ndarray:
    """``vals`` by ``keys`` as an array aligned to ``names`` (NaN where a name has no key), ``names``
    in any order: task ids ingested on Ray come in shard order (a lookup that took them as sorted
    found most ids missing)."""
    keys = np.asarray(keys)
    if keys.dtype.kind in "US":
        keys = keys.astype(object)
    try:
        order = np.argsort(names, kind="stable")
    except TypeError:  # ids of mixed types: the lookup matches them by equality, in any order
        order = np.arange(names.size)
    codes = lookup(names[order], keys.astype(names.dtype) if names.dtype != object else keys)
    out = np.full(names.size, np.nan)
    out[order[codes[codes >= 0]]] = vals[codes >= 0]
    return out


#: the prior means' bounds: ``alpha * exp(beta)`` is a logit, certain in double precision beyond 37;
#: at |alpha| <= 1e6 and beta <= 50 it and the Newton steps' terms stay finite (an ``exp(beta)`` of
#: 800 was inf, and the fit ended in "not finite" naming a private method)
PRIOR_BOUNDS = {"alphas_priors_mean": (-1e6, 1e6), "betas_priors_mean": (-np.inf, 50.0)}


def _in_bounds(what: str, vals: np.ndarray, keys: Any = None) -> None:
    low, high = PRIOR_BOUNDS[what]
    bad = (vals < low) | (vals > high)
    if bad.any():
        where = "" if keys is None else f" for id(s) {np.asarray(keys)[bad][:5].tolist()}"
        raise ValueError(f"{what} must lie in [{low:g}, {high:g}]{where}, not {np.asarray(vals)[bad][:5].tolist()}: "
                         "alpha * exp(beta) is the logit of a right answer, certain beyond 37 and overflowing "
                         "near exp(709); give prior means near crowd-kit's default of 1")


def per_name(value: Any, names: Any, what: str, default: float = 1.0) -> np.ndarray | float:
    """A scalar, or an array aligned to ``names`` (or to ``names()``: task ids ingested on Ray are
    gathered only when needed) from a pandas Series / dict / mapping, within ``PRIOR_BOUNDS``."""
    if value is None:
        return default
    if np.isscalar(value):
        number = check_real(what, value, finite=True)  # text raised "could not convert string to float"
        _in_bounds(what, np.array([number]))
        return number
    names = names() if callable(names) else names
    try:
        if hasattr(value, "index") and hasattr(value, "to_numpy"):
            keys, vals = np.asarray(value.index.to_numpy()), value.to_numpy(dtype=float)
        elif isinstance(value, dict):
            keys, vals = np.asarray(list(value.keys())), np.asarray(list(value.values()), dtype=float)
        else:
            raise ValueError
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number, or a pandas Series or dict of numbers keyed by id, "
                        f"not {shown(value)}") from None
    if np.isinf(vals).any():
        raise ValueError(f"{what} must be finite; id(s) {keys[np.isinf(vals)][:5].tolist()} have an infinite value")
    _in_bounds(what, vals, keys)
    out = _aligned(keys, vals, names)
    missing = np.flatnonzero(np.isnan(out))
    if missing.size:
        raise ValueError(
            f"{what} has no value for {missing.size} id(s) of the data (e.g. {names[missing[:5]].tolist()}); "
            "give one per id, or a single number for all"
        )
    return out
