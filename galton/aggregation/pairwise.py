"""crowd-kit's ``crowdkit.aggregation.pairwise``: its pairwise comparison aggregators (worker, left,
right, label) under their crowd-kit names, the same objects as ``galton.BradleyTerry`` and
``galton.aggregation.BradleyTerry``.

``from galton.aggregation.pairwise import BradleyTerry`` where code said ``from
crowdkit.aggregation.pairwise import BradleyTerry``. crowd-kit's per-model modules inside it
(``crowdkit.aggregation.pairwise.bradley_terry``, ...) are not provided: import from this module.
"""

from ..aggregator import BradleyTerry, NoisyBradleyTerry

__all__ = ["BradleyTerry", "NoisyBradleyTerry"]
