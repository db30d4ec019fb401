"""GLAD's ``labels_priors``: a prior per label, keyed by label, matched to the judgments' labels by
the rule gold labels follow (:func:`galton._gold.gold_label_values`): text keys find integer or
number labels (``"0"`` is label 0: JSON keys, as ``galton aggregate --param`` reads them, are always
text), integer keys find text labels by their digits."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._gold import gold_label_values
from ..data._encode import label_lookup, object_array
from ..judgments import Judgments, label_set, readonly
from ._params import check_real

__all__ = ["prior_codes", "prior_table", "shown", "with_prior_labels"]


def shown(value: Any) -> str:
    """A parameter's value for an error: its repr when short, else its type (a frame spans lines)."""
    return repr(value) if np.isscalar(value) or value is None else f"a {type(value).__name__}"


def prior_table(value: Any) -> tuple[list[Any], np.ndarray]:
    """``labels_priors`` as its labels and their priors (numbers >= 0, one of them > 0)."""
    if isinstance(value, dict):
        keys, vals = list(value.keys()), list(value.values())
    elif hasattr(value, "index") and hasattr(value, "to_numpy") and getattr(value, "ndim", 0) == 1:
        keys, vals = list(value.index), value.to_numpy().tolist()  # numbers as Python writes them
    else:  # a string was split into characters, a number raised "'int' object has no attribute 'index'"
        raise TypeError(f"labels_priors must be a pandas Series (or a dict) of each label's prior, not {shown(value)}")
    if not keys or len(set(keys)) < len(keys):
        raise ValueError(f"labels_priors must give each label one prior, not {'none' if not keys else 'some twice'}")
    priors = np.array([check_real(f"labels_priors[{k!r}]", v, 0, finite=True) for k, v in zip(keys, vals)])
    if not (priors > 0).any():
        raise ValueError("labels_priors gives every label the prior 0; give some label a prior > 0")
    return keys, priors


def _typed(keys: list[Any], names: np.ndarray) -> np.ndarray:
    """The keys in the type of the labels ``names`` where they can be (the gold rule). Integer keys
    go as an integer array: the rule finds text labels by an integer array's digits (a dict's
    keys, held as Python objects, found no text label ``"0"``)."""
    values = object_array(keys)
    if keys and all(isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) for k in keys):
        try:
            values = np.array(keys, dtype=np.int64)
        except OverflowError:  # beyond 64 bits: as given
            pass
    return gold_label_values(values, names)


def prior_codes(keys: list[Any], names: np.ndarray) -> np.ndarray:
    """The label code of each key (-1: no such label); raises when two keys name one label
    (``"1"`` and ``1``, or ``"1"`` and ``"01"`` for integer labels)."""
    codes = label_lookup(names, _typed(keys, names))
    found = codes[codes >= 0]
    if np.unique(found).size < found.size:
        twice = [k for k, c in zip(keys, codes.tolist()) if c >= 0 and (found == c).sum() > 1]
        raise ValueError(f"labels_priors keys {twice[:5]} name the same label of the data; give each label one prior")
    return codes


def with_prior_labels(judgments: Judgments, keys: list[Any]) -> Judgments:
    """Encoded judgments whose label set also holds the labels ``keys`` name that no judgment has
    (as ``labels=keys`` does when a frame is read): a prior for a class no worker chose. Keys are
    matched to the labels by the gold rule; the judgments come back as they are when every key is
    one of their labels."""
    names = judgments.label_names
    codes = prior_codes(keys, names)
    if (codes >= 0).all():
        return judgments
    extra = _typed(keys, names)[codes < 0].tolist()
    try:
        full, mapping = label_set(names, names.tolist() + extra, judgments.columns[2])
    except ValueError:  # text keys for number labels (or the reverse): no common order
        raise ValueError(f"labels_priors names label(s) {extra[:5]} that are not labels of the judgments "
                         f"({names[:5].tolist()}{', ...' if names.size > 5 else ''}) and not of their type; key "
                         "the priors by the labels as the data holds them") from None
    return dataclasses.replace(judgments, label=readonly(mapping[judgments.label].astype(np.int32)),
                               label_names=readonly(full), _cache={})
