"""The values of a study file's ``[study]`` and ``[datasets]`` tables, checked when the study is
read, before any source is prepared or Ray started: a value of the wrong type is refused with its
key and value (``repeats = 2.5`` failed inside numpy with "'float' object cannot be interpreted as
an integer", ``k = [1.5, 3]`` ran k = 1, and ``models = "mv"`` ran the models 'm' and 'v').

One name where a list of names is expected (``models = "mv"``, ``names = "zheng_s_dog"``) is a
list of that one name; one number where the k grid is expected is a grid of one k. A float of
integer value (``bootstrap = 1e3``) is that integer.
"""

from __future__ import annotations

import numbers
from typing import Any

from .._settings import MIN_BOOTSTRAP
from .._settings import whole_number as check_whole

__all__ = ["apply_checked", "check_common", "check_categorical", "check_tables", "names_list", "whole_number"]


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def whole_number(key: str, value: Any, low: int = 0, shown: Any = None) -> int:
    """``value`` of the study key ``key`` as an int >= ``low``, named as TOML writes it (``repeats = 2.5``)."""
    return check_whole(key, value, low, shown, sep=" = ")


def names_list(key: str, value: Any) -> tuple[str, ...]:
    """A list of names; one name alone is a list of one."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{key} = {value!r} must be a name or a list of names, e.g. [\"a\", \"b\"]")


def _k_grid(value: Any) -> tuple[int, ...]:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError("k must be a non-empty list of integers >= 1")
    return tuple(sorted({whole_number("k", v, 1, value if isinstance(value, (list, tuple)) else None)
                         for v in values}))


def check_common(study: Any) -> dict[str, Any]:
    """The checked values of the fields every study kind has: seed, repeats, bootstrap, confidence,
    models and k (ValueError names the first bad one)."""
    out: dict[str, Any] = {"seed": whole_number("seed", study.seed),
                           "repeats": whole_number("repeats", study.repeats, 1),
                           "bootstrap": whole_number("bootstrap", study.bootstrap, MIN_BOOTSTRAP)}
    c = study.confidence
    if not (_is_number(c) and 0.5 <= c < 1):
        raise ValueError(f"confidence = {c!r} must lie in [0.5, 1)")
    out["confidence"] = float(c)
    out["models"] = names_list("models", study.models)
    if not out["models"]:
        raise ValueError("models must name at least one model")
    out["k"] = _k_grid(study.k)
    return out


def check_categorical(study: Any) -> dict[str, Any]:
    """:func:`check_common` and the fields of a categorical study: k_max, best_annotators,
    min_tasks and datasets (``[datasets] names``)."""
    out = check_common(study)
    if study.k_max not in ("median", "max"):
        try:
            out["k_max"] = whole_number("k_max", study.k_max, 1)
        except ValueError:
            raise ValueError(f"k_max = {study.k_max!r} must be \"median\", \"max\" or a whole number >= 1") from None
    out["best_annotators"] = whole_number("best_annotators", study.best_annotators)
    out["min_tasks"] = whole_number("min_tasks", study.min_tasks, 1)
    out["datasets"] = names_list("[datasets] names", study.datasets)
    return out


def apply_checked(study: Any, check: Any) -> None:
    """Set the fields of the frozen dataclass ``study`` to their values checked by ``check`` (one
    of the checks above); a bad value raises ValueError naming the study and the key."""
    try:
        checked = check(study)
    except ValueError as exc:
        raise ValueError(f"study {study.name!r}: {exc}") from None
    for a, v in checked.items():
        object.__setattr__(study, a, v)


def check_tables(data: dict[str, Any], known: tuple[str, ...], what: str, use: str) -> None:
    """Refuse what the parsed study file ``data`` holds beside its ``known`` tables: a key at its top
    level, outside every table (``models = ["mv"]`` with no ``[study]`` line above it: it was called
    an "unknown table"), or a table the study does not read. ``what``: the file, in a message ("the
    study file"); ``use``: the tables it takes."""
    extra = sorted(set(data) - set(known))
    tables = [k for k in extra if isinstance(data[k], dict) or (
        isinstance(data[k], list) and data[k] and all(isinstance(v, dict) for v in data[k]))]
    keys = [k for k in extra if k not in tables]
    if keys:
        many = len(keys) > 1
        raise ValueError(f"{what} has the key{'s' if many else ''} {', '.join(keys)} at its top level, outside "
                         f"every table; a study's settings go in its [study] table: write [study] on the line "
                         f"above {'them' if many else 'it'} (the file takes {use})")
    if tables:
        raise ValueError(f"unknown table{'s' if len(tables) > 1 else ''} {', '.join(f'[{t}]' for t in tables)} "
                         f"in {what}; use {use}")
