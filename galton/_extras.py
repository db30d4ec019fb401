"""galton's optional dependencies, imported where a feature needs one: a missing one is an
ImportError that names the feature and the extra that installs it, not a bare "No module named"."""

from __future__ import annotations

from types import ModuleType

__all__ = ["PANDAS_EXTRA", "import_pandas"]

#: how to install pandas for galton (the ``pandas`` extra)
PANDAS_EXTRA = "pip install 'galton[pandas]'"


def import_pandas(what: str) -> ModuleType:
    """pandas, imported; where it is not installed, an ImportError saying that ``what`` (the feature,
    e.g. ``"output='pandas'"``) needs it and how to install it. Everything else in galton works on
    polars and Arrow without it."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(f"{what} needs pandas, which is not installed: {PANDAS_EXTRA}") from exc
    return pandas
