"""Agreement and quality metrics for judgments, with crowd-kit's names and signatures.

- :func:`alpha_krippendorff` (and :func:`krippendorff` with its parts): agreement beyond chance,
  nominal, ordinal, interval, ratio or any distance;
- :func:`consistency`, :func:`uncertainty`: how sure the labels are given the workers' skills;
- :func:`accuracy_on_aggregates`, :func:`get_accuracy`: the share of judgments matching the
  aggregated or the gold labels, overall or per worker;
- :func:`entropy_threshold`: drop the workers whose answers vary least.

crowd-kit's module paths work too: ``galton.metrics.data``, ``galton.metrics.workers`` and
``galton.postprocessing``. Inputs are what every galton model takes (pandas, polars, Arrow, a path),
validated by the same rules; in pandas, labels may also be sets of tags (``frozenset``, a list, or a 1-d numpy array as
``pd.read_parquet`` gives a list cell), compared by a distance function.
"""

from ._alpha import DISTANCES, Alpha, krippendorff
from ._coded import MissingSkillsError
from ._filter import entropy_threshold
from .data import alpha_krippendorff, consistency, uncertainty
from .workers import accuracy_on_aggregates, get_accuracy

__all__ = ["Alpha", "DISTANCES", "MissingSkillsError", "accuracy_on_aggregates", "alpha_krippendorff", "consistency",
           "entropy_threshold", "get_accuracy", "krippendorff", "uncertainty"]
