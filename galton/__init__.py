"""galton: merge many noisy judgments into one calibrated label per task, at any scale."""

from .aggregator import *  # noqa: F401,F403
from .aggregator import __all__ as _agg_all
from .judgments import Judgments

__version__ = "0.1.0"
__all__ = ["Judgments", "__version__", *_agg_all]
