"""A keyword argument that neither a model's ``fit`` nor its data's reader takes. It reached the
reader, whose TypeError named an internal function (``Judgments.from_any() got an unexpected keyword
argument 'foo'``; ``BradleyTerry().fit(c, duplicates='raise')`` said ``Comparisons.from_any()``);
:func:`checked_options` says it in the model's words instead: the model, the options of its kind of
data and where the rest are described, and a model parameter given to ``fit`` by mistake. The
message keeps Python's own phrase, which :func:`galton.aggregate` reads to name the parameters it
passes to the model itself. And :func:`gold_keyword`: crowd-kit's ``true_labels=``, galton's ``gold``."""

from __future__ import annotations

import inspect
from typing import Any, Callable

__all__ = ["checked_options", "gold_keyword", "reader_options"]


def reader_options(*readers: Callable[..., Any]) -> list[str]:
    """The keyword options of the readers (``Judgments.from_any`` ...), in their order, the data left out."""
    names: list[str] = []
    for reader in readers:
        for p in inspect.signature(reader).parameters.values():
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in ("self", "cls", "data"):
                names += [] if p.name in names else [p.name]
    return names


def checked_options(model: Any, options: dict[str, Any], *readers: Callable[..., Any]) -> dict[str, Any]:
    """``options``, when the readers take every one of them; else a TypeError naming the model's
    ``fit``, the first unknown keyword, the options its data take and, when the keyword is a
    parameter of the model, how to give it."""
    known = reader_options(*readers)
    unknown = [k for k in options if k not in known]
    if not unknown:
        return options
    name, key = type(model).__name__, unknown[0]
    params = model.get_params() if hasattr(model, "get_params") else {}
    hint = f"; {key} is a parameter of the model: {name}({key}=...)" if key in params else ""
    raise TypeError(
        f"{name}.fit() got an unexpected keyword argument {key!r}: the options of {getattr(model, 'kind', 'its')} "
        f"data are {', '.join(known)}, and the fit's own are in help(galton.{name}.fit){hint}")


def gold_keyword(model: Any, gold: Any, options: dict[str, Any]) -> Any:
    """The gold of a fit: ``gold``, or crowd-kit's name for it, ``true_labels=``, taken out of
    ``options``. Both given is a TypeError in Python's words (the keyword replaced the gold given,
    silently); ``true_labels=None`` is no gold."""
    if options.get("true_labels") is None:  # absent, or None forwarded by a wrapper: no second gold
        options.pop("true_labels", None)
        return gold
    if gold is not None:
        raise TypeError(f"{type(model).__name__}.fit() got multiple values for argument 'gold': gold and "
                        "true_labels (crowd-kit's name for it) are one argument; give one of them")
    return options.pop("true_labels")
