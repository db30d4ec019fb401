"""crowd-kit's abstract aggregator bases (``crowdkit.aggregation.base``), for ``isinstance`` checks and
for writing an aggregator of one's own.

Each base is an :class:`abc.ABC` with crowd-kit's result attribute (``labels_``, ``segmentations_``,
``texts_``, ``scores_``, ``embeddings_and_outputs_``): a subclass implements ``fit`` and stores
that attribute (``fit_predict`` then fits and returns it) or overrides ``fit_predict`` itself; a
pandas Series stored there is given crowd-kit's name (``agg_label``, ``agg_segmentation``,
``agg_text``, ``agg_score``), as crowd-kit's attrs converters do. galton's own classes are
registered as virtual subclasses where crowd-kit's classes of the same name inherit:
``isinstance(galton.DawidSkene(), BaseClassificationAggregator)`` is true, and so is
``isinstance(galton.HRRASA(), BaseClassificationAggregator)`` (crowd-kit's HRRASA derives from the
classification base, its RASA from the embeddings base; galton's HRRASA, a RASA, is under both); galton's models without a crowd-kit
counterpart are registered by the kind of data they take (ratings and choices under none).

Registration is seen at run time only: type checkers (mypy, pyright) ignore :meth:`abc.ABC.register`,
so for them galton's classes are not subclasses of these bases, and a parameter annotated with a
base refuses ``galton.DawidSkene()``. Annotate with galton's classes (``galton.DawidSkene``,
``galton.aggregator.BaseAggregator``) there; a class of one's own that inherits a base gets its
declared result attribute (``labels_: pd.Series | None``, as crowd-kit declares it).
"""

from __future__ import annotations

from abc import ABC
from typing import TYPE_CHECKING, Any, ClassVar

from ..aggregator import (HRRASA, RASA, ROVER, BinaryRelevance, ClosestToAverage, SegmentationEM,
                          SegmentationMajorityVote, SegmentationRASA, TextHRRASA, TextRASA, get, names)
from ..io import is_series

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BaseClassificationAggregator", "BaseImageSegmentationAggregator", "BaseEmbeddingsAggregator",
           "BaseTextsAggregator", "BasePairwiseAggregator"]


class _Base(ABC):
    """One result attribute (:attr:`RESULT`), named like crowd-kit's when it is a pandas Series."""

    RESULT: ClassVar[str] = ""
    SERIES_NAME: ClassVar[str | None] = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name == self.RESULT and self.SERIES_NAME is not None and is_series(value):
            value.name = self.SERIES_NAME  # in place, as crowd-kit's converter
        super().__setattr__(name, value)

    def fit(self, data: Any) -> Any:
        """Fit on ``data`` and store the result attribute; return ``self``. A subclass implements
        it (or overrides ``fit_predict`` alone, as crowd-kit's bases allow)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement fit")

    def fit_predict(self, data: Any) -> Any:
        """``fit(data)``, then the result attribute."""
        self.fit(data)
        return getattr(self, self.RESULT)


class BaseClassificationAggregator(_Base):
    """Aggregates (task, worker, label) judgments into ``labels_``: a Series indexed by task, named
    ``agg_label``."""

    RESULT = "labels_"
    SERIES_NAME = "agg_label"
    labels_: pd.Series[Any] | None


class BaseImageSegmentationAggregator(_Base):
    """Aggregates (task, worker, segmentation) masks into ``segmentations_`` (``agg_segmentation``)."""

    RESULT = "segmentations_"
    SERIES_NAME = "agg_segmentation"
    segmentations_: pd.Series[Any]


class BaseEmbeddingsAggregator(_Base):
    """Aggregates (task, worker, output, embedding) rows into ``embeddings_and_outputs_``: a frame
    indexed by task with ``embedding`` and ``output`` columns."""

    RESULT = "embeddings_and_outputs_"
    embeddings_and_outputs_: pd.DataFrame


class BaseTextsAggregator(_Base):
    """Aggregates (task, worker, text) rows into ``texts_`` (``agg_text``)."""

    RESULT = "texts_"
    SERIES_NAME = "agg_text"
    texts_: pd.Series[Any]


class BasePairwiseAggregator(_Base):
    """Aggregates (worker, left, right, label) comparisons into ``scores_`` (``agg_score``), a Series
    indexed by item."""

    RESULT = "scores_"
    SERIES_NAME = "agg_score"
    scores_: pd.Series[Any]


for _name in names("categorical"):
    BaseClassificationAggregator.register(get(_name))
for _name in names("pairwise"):
    BasePairwiseAggregator.register(get(_name))
BaseClassificationAggregator.register(BinaryRelevance)
for _cls in (SegmentationMajorityVote, SegmentationEM, SegmentationRASA):
    BaseImageSegmentationAggregator.register(_cls)
BaseClassificationAggregator.register(HRRASA)  # as crowd-kit's HRRASA inherits
for _cls in (RASA, ClosestToAverage):
    BaseEmbeddingsAggregator.register(_cls)
for _cls in (ROVER, TextRASA, TextHRRASA):
    BaseTextsAggregator.register(_cls)
