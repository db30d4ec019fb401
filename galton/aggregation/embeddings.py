"""crowd-kit's ``crowdkit.aggregation.embeddings``: its aggregators of embeddings (task, worker,
embedding, output) under their crowd-kit names, the same objects as ``galton.ClosestToAverage`` and
``galton.aggregation.ClosestToAverage``.

``from galton.aggregation.embeddings import ClosestToAverage`` where code said ``from
crowdkit.aggregation.embeddings import ClosestToAverage``. crowd-kit's per-model modules inside it
(``crowdkit.aggregation.embeddings.rasa``, ...) are not provided: import from this module.
"""

from ..aggregator import HRRASA, RASA, ClosestToAverage

__all__ = ["ClosestToAverage", "HRRASA", "RASA"]
