"""The encoded data protocol: :class:`Judgments` (categorical labels and ratings),
:class:`Comparisons` (pairwise preferences) and :class:`Choices` (best-of-n choices and rankings),
all :class:`EncodedData`; one encoder (:func:`encode_column`) builds every vocabulary and one
validation module (:mod:`galton.data._validate`) checks columns and nulls."""

from ._base import EncodedData
from ._encode import encode_column, label_set, lookup, plain_column, readonly
from ._validate import MAX_EXAMPLES, ColumnError, example_rows
from .choices import Choices
from .comparisons import Comparisons
from .judgments import Judgments

__all__ = ["Choices", "ColumnError", "Comparisons", "EncodedData", "Judgments", "MAX_EXAMPLES", "encode_column",
           "example_rows", "label_set", "lookup", "plain_column", "readonly"]
