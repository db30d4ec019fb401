"""crowd-kit's ``crowdkit.aggregation.multilabel``: its multi-label aggregation (each judgment a list
of labels) under their crowd-kit names, the same objects as ``galton.BinaryRelevance`` and
``galton.aggregation.BinaryRelevance``.

``from galton.aggregation.multilabel import BinaryRelevance`` where code said ``from
crowdkit.aggregation.multilabel import BinaryRelevance``. crowd-kit's per-model modules inside it
(``crowdkit.aggregation.multilabel.binary_relevance``, ...) are not provided: import from this
module.
"""

from ..aggregator import BinaryRelevance

__all__ = ["BinaryRelevance"]
