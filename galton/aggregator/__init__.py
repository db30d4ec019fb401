"""Aggregation models. Each model family lives in its own module and registers itself by name.

Every public module of this package (a file whose name does not start with ``_``) is imported here,
so a new model is one file: ``galton/aggregator/my_model.py`` whose class carries
``@register("my_model")`` is found by :func:`names`, the CLI (``galton aggregate --model my_model``),
the benchmarks and the registry-parametrised tests without an edit anywhere else
(``docs/adding-a-model.md``). The ``__all__`` of each module that registers a model is re-exported
here and from :mod:`galton`; helper modules (``votes_shard``, ``votes_fit``) are imported but not
re-exported. Type checkers see only what is imported by name below (they do not run
``_import_models``): a new model's class is added to those imports and to ``__all__``, which
``tests/test_public_names.py`` checks.

>>> from galton.aggregator import get, names
>>> get("ds").__name__
'DawidSkene'
"""

import importlib
import pkgutil

from ._base import BaseAggregator, ConvergenceWarning, EMAggregator, NotFittedError
from ._engine import Engine, LocalEngine, Shard, engine_names, register_engine, resolve_engine
from ._memory import MemoryLimitError, memory_limit, parse_size
from ._registry import create, default_name, get, names, parameters, register, unregister
from .multilabel import BinaryRelevance
from .segmentation import SegmentationEM, SegmentationMajorityVote, SegmentationRASA
from .texts import ROVER, TextHRRASA, TextRASA
from .embeddings import HRRASA, RASA, ClosestToAverage
# The models, named here so that type checkers see them (``_import_models`` below would find them
# too, at run time only); tests/test_public_names.py checks that this list is complete.
from .bayesian import BayesianDawidSkene
from .bradley_terry import BradleyTerry, CrowdBT, NoisyBradleyTerry
from .bwa import BWA
from .dawid_skene import ConfusionEM, DawidSkene
from .ebcc import EBCC
from .glad import GLAD
from .kos import KOS
from .mace import MACE
from .majority_vote import GoldMajorityVote, MajorityVote, Wawa, ZeroBasedSkill
from .mmsr import MMSR
from .one_coin import OneCoinDawidSkene
from .plackett_luce import PlackettLuce
from .ratings import GaussianRating, MeanRating, MedianRating, TrimmedMeanRating
from .truth_discovery import CATD, PM, PMTI

__all__ = [
    "BaseAggregator", "EMAggregator", "ConvergenceWarning", "NotFittedError",
    "Engine", "LocalEngine", "Shard", "engine_names", "register_engine", "resolve_engine", "get", "names", "create",
    "default_name",
    "parameters", "register", "unregister",
    "MemoryLimitError", "memory_limit", "parse_size", "BinaryRelevance",
    "SegmentationEM", "SegmentationMajorityVote", "SegmentationRASA", "ROVER", "RASA", "HRRASA", "ClosestToAverage",
    "TextRASA", "TextHRRASA",
    "BayesianDawidSkene", "BradleyTerry", "NoisyBradleyTerry", "CrowdBT", "BWA", "ConfusionEM", "DawidSkene", "EBCC",
    "GLAD", "KOS", "MACE", "MajorityVote", "GoldMajorityVote", "Wawa", "ZeroBasedSkill", "MMSR", "OneCoinDawidSkene",
    "PlackettLuce", "MeanRating", "MedianRating", "TrimmedMeanRating", "GaussianRating", "CATD", "PM", "PMTI",
]


def _import_models() -> None:
    """Import every public module of this package, in name order (each registers its models on
    import); export the ``__all__`` names of a module that registered a model and is not imported
    above (at run time only: type checkers see the names imported above, so list it there too)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not any(get(n).__module__ == module.__name__ for n in names()):
            continue  # a helper module: imported (it may register an engine or kernels), not re-exported
        for name in getattr(module, "__all__", ()):
            if name not in globals():
                globals()[name] = getattr(module, name)
            if name not in __all__:
                __all__.append(name)


_import_models()
