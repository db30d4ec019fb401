"""crowd-kit's module path: ``from galton.aggregation import DawidSkene`` where code said
``from crowdkit.aggregation import DawidSkene``.

Every aggregator in ``crowdkit.aggregation`` is here under its crowd-kit name (galton's own classes,
the same objects as ``galton.DawidSkene`` and so on), with crowd-kit's submodules :mod:`.base` (the
abstract bases; galton's classes are registered as their subclasses, so ``isinstance`` checks keep
working) and :mod:`.utils` (``get_most_probable_labels``, ``normalize_rows``, ``get_accuracy``,
``evaluate``, ...), and crowd-kit's subpackages by kind of data, each with the names of its
``__all__``: :mod:`.classification`, :mod:`.embeddings`, :mod:`.image_segmentation`,
:mod:`.multilabel`, :mod:`.pairwise` and :mod:`.texts` (``from galton.aggregation.classification
import DawidSkene``; crowd-kit's per-model modules inside them, such as
``crowdkit.aggregation.classification.dawid_skene``, are not provided). With :mod:`galton.metrics`
(``.data``, ``.workers``) and :mod:`galton.postprocessing` this makes replacing ``crowdkit`` by
``galton`` in the imports enough for code that uses crowd-kit's aggregation, metrics and
post-processing.

Not here: crowd-kit's PyTorch learning models (``crowdkit.learning``: CoNAL, CrowdLayer, TextSummarization)
and its downloading ``crowdkit.datasets`` (galton's bundled datasets never touch the network:
:func:`galton.load_dataset`). galton's models without a crowd-kit counterpart (``BayesianDawidSkene``,
``EBCC``, ``BWA``, ``CrowdBT``, ``PlackettLuce``, the rating models, ...) are imported from
:mod:`galton`.
"""

from ..aggregator import (GLAD, HRRASA, KOS, MACE, MMSR, RASA, ROVER, BinaryRelevance, BradleyTerry, ClosestToAverage,
                          DawidSkene, GoldMajorityVote, MajorityVote, NoisyBradleyTerry, OneCoinDawidSkene,
                          SegmentationEM, SegmentationMajorityVote, SegmentationRASA, TextHRRASA, TextRASA, Wawa,
                          ZeroBasedSkill)
from . import base, classification, embeddings, image_segmentation, multilabel, pairwise, texts, utils

__all__ = ["base", "BradleyTerry", "ClosestToAverage", "DawidSkene", "OneCoinDawidSkene", "GLAD", "GoldMajorityVote",
           "HRRASA", "KOS", "MACE", "MMSR", "MajorityVote", "NoisyBradleyTerry", "RASA", "ROVER", "SegmentationEM",
           "SegmentationMajorityVote", "SegmentationRASA", "TextHRRASA", "TextRASA", "Wawa", "ZeroBasedSkill",
           "BinaryRelevance", "utils", "classification", "embeddings", "image_segmentation", "multilabel", "pairwise",
           "texts"]
