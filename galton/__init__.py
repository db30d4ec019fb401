"""galton: merge many noisy judgments into one label per task, with a probability, at any scale.

>>> import galton
>>> data, gold, _ = galton.load_dataset("zheng_d_product")
>>> model = galton.aggregate(data)          # the default model, locally
>>> model.labels_.head()                    # doctest: +SKIP
"""

from __future__ import annotations

from . import _signals

if _signals.is_cli_process():  # the galton command: a Ctrl-C during the imports below exits 130
    _signals.install_startup()

from typing import TYPE_CHECKING  # noqa: E402

from . import aggregator, datasets  # noqa: E402
from ._api import aggregate  # noqa: E402
from .allocate import allocate  # noqa: E402
from .aggregator import *  # noqa: F401,F403,E402
from .io import results_table, write_table  # noqa: E402
from .judgments import ColumnError, Judgments  # noqa: E402

load_dataset = datasets.load

__version__ = "0.1.0"
__all__ = ["ColumnError", "Judgments", "aggregate", "allocate", "load_dataset", "results_table", "write_table",
           "datasets", "__version__"]
__all__ += aggregator.__all__

if TYPE_CHECKING:  # imported on first use at run time, by __getattr__ below
    from types import ModuleType

    from . import aggregation, metrics, postprocessing
else:
    def __getattr__(name: str) -> ModuleType:
        """``galton.metrics``, ``galton.postprocessing`` and ``galton.aggregation`` (crowd-kit's module
        paths) on first use (``import galton`` stays light). Hidden from type checkers, which would
        read any misspelt ``galton.name`` through it; they see the three imports above."""
        if name in ("metrics", "postprocessing", "aggregation"):
            import importlib

            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
