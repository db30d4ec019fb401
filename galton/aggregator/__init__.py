"""Aggregation models. Each model family lives in its own module and registers itself by name.

>>> from galton.aggregator import get, names
>>> get("ds").__name__
'DawidSkene'
"""

from . import bayesian, bradley_terry, dawid_skene, glad, kos, mace, majority_vote, plackett_luce, ratings
from ._base import BaseAggregator, ConvergenceWarning, EMAggregator, NotFittedError
from ._engine import Engine, LocalEngine, Shard, engine_names, register_engine, resolve_engine
from ._memory import MemoryLimitError, memory_limit, parse_size
from ._registry import create, default_name, get, names
from .bayesian import *  # noqa: F401,F403
from .bradley_terry import *  # noqa: F401,F403
from .dawid_skene import *  # noqa: F401,F403
from .glad import *  # noqa: F401,F403
from .kos import *  # noqa: F401,F403
from .mace import *  # noqa: F401,F403
from .majority_vote import *  # noqa: F401,F403
from .plackett_luce import *  # noqa: F401,F403
from .ratings import *  # noqa: F401,F403

__all__ = [
    "BaseAggregator", "EMAggregator", "ConvergenceWarning", "NotFittedError",
    "Engine", "LocalEngine", "Shard", "engine_names", "register_engine", "resolve_engine", "get", "names", "create", "default_name",
    "MemoryLimitError", "memory_limit", "parse_size",
    *bayesian.__all__, *dawid_skene.__all__, *glad.__all__, *kos.__all__, *mace.__all__,
    *majority_vote.__all__, *bradley_terry.__all__, *plackett_luce.__all__, *ratings.__all__,
]
