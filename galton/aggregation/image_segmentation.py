"""crowd-kit's ``crowdkit.aggregation.image_segmentation``: its image segmentation aggregators (task,
worker, segmentation mask) under their crowd-kit names, the same objects as
``galton.SegmentationEM`` and ``galton.aggregation.SegmentationEM``.

``from galton.aggregation.image_segmentation import SegmentationEM`` where code said ``from
crowdkit.aggregation.image_segmentation import SegmentationEM``. crowd-kit's per-model modules
inside it (``crowdkit.aggregation.image_segmentation.segmentation_em``, ...) are not provided:
import from this module.
"""

from ..aggregator import SegmentationEM, SegmentationMajorityVote, SegmentationRASA

__all__ = ["SegmentationEM", "SegmentationRASA", "SegmentationMajorityVote"]
