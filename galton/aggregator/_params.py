"""Checks of model parameters that name the parameter: a value of the wrong type or out of range is
refused at fit with one line (``int("10")`` took text for a count, ``int(0.5)`` ran 0 iterations, and
a comparison with text raised a bare TypeError). And :func:`drop_fitted`, how every fit starts: the
previous fit's results go, before any check, so that a refused refit leaves no earlier result; and
:class:`Params`, every model's ``get_params`` / ``set_params``."""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

__all__ = ["Params", "check_count", "check_flags", "check_random_state", "check_real", "drop_fitted", "fit_setting",
           "iter_limit_name", "missing_hook"]


def check_count(name: str, value: Any, low: int = 0) -> int:
    """``value`` as an int: an integer (not a bool) >= ``low``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, not {value}")
    return int(value)


def check_real(name: str, value: Any, low: float | None = None, *, above: bool = False,
               finite: bool = False) -> float:
    """``value`` as a float: a number (not a bool, not NaN) >= ``low`` (> with ``above``; not
    infinite with ``finite``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) or math.isnan(value):
        raise TypeError(f"{name} must be a number, not {value!r}")
    if low is not None and (value <= low if above else value < low):
        raise ValueError(f"{name} must be {'>' if above else '>='} {low}, not {value}")
    if finite and math.isinf(value):
        raise ValueError(f"{name} must be finite, not {value}")
    return float(value)


def check_random_state(value: Any) -> np.random.Generator:
    """The generator of a fit from ``random_state``: None (fresh entropy), a non-negative integer,
    or what numpy's ``default_rng`` takes besides (a Generator, BitGenerator, SeedSequence,
    RandomState or a sequence of non-negative integers). A bool, text, a float or a negative number
    raised numpy's SeedSequence error, which does not say which parameter was wrong. A RandomState
    gives a Generator over its bit generator, as numpy 1.25's ``default_rng`` does (numpy 1.24's
    refused it)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value < 0:
        raise ValueError(f"random_state must be a non-negative integer or None, not {value}")
    if isinstance(value, np.random.RandomState):
        return np.random.Generator(value._bit_generator)
    if not isinstance(value, (bool, np.bool_, str, bytes)):
        try:
            return np.random.default_rng(value)
        except (TypeError, ValueError):
            pass
    raise TypeError(f"random_state must be a non-negative integer, a numpy Generator or None, not {value!r}")


def check_flags(model: Any) -> None:
    """Refuse a parameter whose default is a boolean, or whose annotation is ``bool | None`` (``progress``:
    None leaves the choice to the terminal), but whose value is not one: ``bias="no"``,
    ``empirical_prior="false"`` or ``progress="no"`` switched the option on, as any non-empty text is true."""
    import inspect

    for name, param in inspect.signature(type(model).__init__).parameters.items():
        optional = str(param.annotation).replace(" ", "") in ("bool|None", "None|bool", "Optional[bool]")
        if (isinstance(param.default, bool) or optional) and hasattr(model, name):
            value = getattr(model, name)
            if optional and value is None:
                continue
            if not isinstance(value, (bool, np.bool_)) and not (isinstance(value, (int, np.integer))
                                                                and value in (0, 1)):
                accepted = "True, False or None" if optional else "True or False"
                raise TypeError(f"{name} must be {accepted}, not {value!r}")


def missing_hook(model: Any, hook: str) -> NotImplementedError:
    """The error of a hook a model does not define (an empty NotImplementedError said nothing)."""
    return NotImplementedError(f"{type(model).__name__} does not define {hook}, which an EM model needs: see "
                               "docs/adding-a-model.md (the hooks and what each returns)")


def iter_limit_name(model: Any) -> str:
    """The parameter that sets ``model``'s iteration limit: ``max_iter`` when set, else crowd-kit's
    ``n_iter``. The two are one limit under two names: ``max_iter`` set beside an ``n_iter`` that is
    neither its default nor the same value is refused (``n_iter=2, max_iter=50`` ran 50 iterations)."""
    import inspect

    max_iter = getattr(model, "max_iter", None)
    if not hasattr(model, "n_iter"):
        return "max_iter"
    if max_iter is None:
        return "n_iter"
    n_iter = model.n_iter
    param = inspect.signature(type(model).__init__).parameters.get("n_iter")
    default = inspect.Parameter.empty if param is None else param.default
    if not _same(n_iter, default) and not _same(n_iter, max_iter):
        raise ValueError(f"{type(model).__name__}: n_iter={n_iter!r} and max_iter={max_iter!r} set the one "
                         "iteration limit (max_iter is n_iter under scikit-learn's name); give one of them")
    return "max_iter"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or (type(a) is not bool and type(b) is not bool and a == b))
    except (TypeError, ValueError):
        return False


def drop_fitted(model: Any) -> None:
    """Remove what a fit of ``model`` learned: its public attributes ending in ``_`` and the private
    ones its class names in ``_fit_private`` (read on the class: a wrapper's ``__getattr__`` is not asked)."""
    for name in [a for a in vars(model) if a.endswith("_") and not a.startswith("_")]:
        delattr(model, name)
    for name in getattr(type(model), "_fit_private", ()):
        model.__dict__.pop(name, None)


def fit_setting(model: Any, name: str, default: Any = None) -> Any:
    """A setting as the fit used it (the fit keeps the ones its class names in ``_kept_settings`` in
    ``_fit_settings``: a set_params after the fit changes no number of what is built later, predict
    on new data or the worker report); the setting now for a model that keeps none."""
    kept = model.__dict__.get("_fit_settings") or {}
    return kept[name] if name in kept else getattr(model, name, default)


_Model = TypeVar("_Model", bound="Params")


class Params:
    """scikit-learn's ``get_params`` / ``set_params``: a model's parameters are its constructor's,
    read from and set on its attributes (a wrapper's ``__getattr__`` / ``__setattr__`` reach the
    model inside), so ``type(m)(**m.get_params())`` and ``sklearn.base.clone(m)`` copy it unfitted."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        from ._registry import parameters

        return {p: getattr(self, p) for p in parameters(type(self))}

    def set_params(self: _Model, **params: Any) -> _Model:
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {k!r}; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self
