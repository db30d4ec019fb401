"""Re-exports of the preference data model, which lives in :mod:`galton.data`
(:mod:`galton.data.comparisons`, :mod:`galton.data.choices`); kept so that ``from galton.pairwise
import Comparisons, Choices`` keeps working."""

from .data.choices import Choices
from .data.comparisons import Comparisons

__all__ = ["Comparisons", "Choices"]
