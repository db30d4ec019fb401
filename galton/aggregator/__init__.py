"""Aggregation models. Each model family lives in its own module and registers itself by name.

Every public module of this package (a file whose name does not start with ``_``) is imported here,
so a new model is one file: ``galton/aggregator/my_model.py`` whose class carries
``@register("my_model")`` is found by :func:`names`, the CLI (``galton aggregate --model my_model``),
the benchmarks and the registry-parametrised tests without an edit anywhere else
(``docs/adding-a-model.md``). The ``__all__`` of each module that registers a model is re-exported
here and from :mod:`galton`; helper modules (``votes_shard``, ``votes_fit``) are imported but not
re-exported.

>>> from galton.aggregator import get, names
>>> get("ds").__name__
'DawidSkene'
"""

import importlib
import pkgutil

from ._base import BaseAggregator, ConvergenceWarning, EMAggregator, NotFittedError
from ._engine import Engine, LocalEngine, Shard, engine_names, register_engine, resolve_engine
from ._memory import MemoryLimitError, memory_limit, parse_size
from ._registry import create, default_name, explicit, get, names, parameters, register, unregister
from .multilabel import BinaryRelevance
from .segmentation import SegmentationEM, SegmentationMajorityVote, SegmentationRASA
from .texts import ROVER, TextHRRASA, TextRASA
from .embeddings import HRRASA, RASA, ClosestToAverage

__all__ = [
    "BaseAggregator", "EMAggregator", "ConvergenceWarning", "NotFittedError",
    "Engine", "LocalEngine", "Shard", "engine_names", "register_engine", "resolve_engine", "get", "names", "create",
    "default_name", "explicit",
    "parameters", "register", "unregister",
    "MemoryLimitError", "memory_limit", "parse_size", "BinaryRelevance",
    "SegmentationEM", "SegmentationMajorityVote", "SegmentationRASA", "ROVER", "RASA", "HRRASA", "ClosestToAverage",
    "TextRASA", "TextHRRASA",
]


def _import_models() -> list[str]:
    """Import every public module of this package, in name order (each registers its models on
    import); return the ``__all__`` names of the modules that registered a model."""
    exported: list[str] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not any(get(n).__module__ == module.__name__ for n in names()):
            continue  # a helper module: imported (it may register an engine or kernels), not re-exported
        for name in getattr(module, "__all__", ()):
            if name not in globals():
                globals()[name] = getattr(module, name)
            if name not in exported:
                exported.append(name)
    return exported


__all__ += [n for n in _import_models() if n not in __all__]
