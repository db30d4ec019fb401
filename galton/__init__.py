"""galton: merge many noisy judgments into one calibrated label per task, at any scale.

>>> import galton
>>> data, gold, _ = galton.load_dataset("zheng_d_product")
>>> model = galton.aggregate(data)          # the default model, locally
>>> model.labels_.head()                    # doctest: +SKIP
"""

from . import datasets
from ._api import aggregate
from .aggregator import *  # noqa: F401,F403
from .aggregator import __all__ as _agg_all
from .io import results_table, write_table
from .judgments import Judgments

load_dataset = datasets.load

__version__ = "0.1.0"
__all__ = ["Judgments", "aggregate", "load_dataset", "results_table", "write_table", "datasets", "__version__", *_agg_all]
