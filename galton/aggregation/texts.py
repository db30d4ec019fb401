"""crowd-kit's ``crowdkit.aggregation.texts``: its text aggregators (task, worker, text) under their
crowd-kit names, the same objects as ``galton.ROVER`` and ``galton.aggregation.ROVER``.

``from galton.aggregation.texts import ROVER`` where code said ``from crowdkit.aggregation.texts
import ROVER``. crowd-kit's per-model modules inside it (``crowdkit.aggregation.texts.rover``, ...)
are not provided: import from this module.
"""

from ..aggregator import ROVER, TextHRRASA, TextRASA

__all__ = ["TextHRRASA", "TextRASA", "ROVER"]
