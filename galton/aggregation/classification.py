"""crowd-kit's ``crowdkit.aggregation.classification``: its classification aggregators (task, worker,
label) under their crowd-kit names, the same objects as ``galton.DawidSkene`` and
``galton.aggregation.DawidSkene``.

``from galton.aggregation.classification import DawidSkene`` where code said ``from
crowdkit.aggregation.classification import DawidSkene``. crowd-kit's per-model modules inside it
(``crowdkit.aggregation.classification.dawid_skene``, ...) are not provided: import from this
module.
"""

from ..aggregator import (GLAD, KOS, MACE, MMSR, DawidSkene, GoldMajorityVote, MajorityVote, OneCoinDawidSkene, Wawa,
                          ZeroBasedSkill)

__all__ = ["DawidSkene", "GLAD", "GoldMajorityVote", "KOS", "MACE", "MajorityVote", "MMSR", "OneCoinDawidSkene",
           "Wawa", "ZeroBasedSkill"]
