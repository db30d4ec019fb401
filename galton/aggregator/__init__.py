"""Aggregation models. Each model family lives in its own module and registers itself by name.

>>> from galton.aggregator import get, names
>>> get("ds")
<class 'galton.aggregator.dawid_skene.DawidSkene'>
"""

from ._base import BaseAggregator, ConvergenceWarning, EMAggregator, NotFittedError
from ._engine import LocalEngine, Shard, resolve_engine
from ._registry import create, get, names
from .dawid_skene import DawidSkene, OneCoinDawidSkene

__all__ = [
    "BaseAggregator", "EMAggregator", "ConvergenceWarning", "NotFittedError",
    "LocalEngine", "Shard", "resolve_engine", "get", "names", "create",
    "DawidSkene", "OneCoinDawidSkene",
]
