"""One registry of models by name, used by the CLI, the benchmarks and the parametrised tests."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

__all__ = ["register", "unregister", "get", "names", "create", "aliases", "default_name", "explicit", "parameters",
           "refuse_class"]

#: galton's robust default: Bayesian Dawid-Skene (Dirichlet priors stop the collapse of workers
#: with few judgments); see galton/benchmarks/accuracy.py for the evidence.
DEFAULT_MODEL = "bds"

#: the name that stands for the default categorical model in every lookup (never a model's own name)
DEFAULT_ALIAS = "default"

_MODELS: dict[str, type] = {}
_ALIASES: dict[str, str] = {}

T = TypeVar("T", bound=type)


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def register(name: str, *alias: str) -> Callable[[T], T]:
    """Class decorator: register a model under a canonical name and optional aliases."""

    def deco(cls: T) -> T:
        key = _norm(name)
        if DEFAULT_ALIAS in (key, *map(_norm, alias)):  # get("default") is the default model's
            raise ValueError(f"{DEFAULT_ALIAS!r} names galton's default model; register {cls.__name__} under "
                             "another name")
        holder = _MODELS.get(key) or _MODELS.get(_ALIASES.get(key, ""))
        same = holder is not None and (holder.__module__, holder.__qualname__) == (cls.__module__, cls.__qualname__)
        if holder is not None and holder is not cls and not same:
            raise ValueError(f"model name {name!r} is taken by {holder.__module__}.{holder.__qualname__}; choose "
                             f"another name (or galton.aggregator.unregister({name!r}) first)")
        taken = {a: _ALIASES.get(_norm(a), _norm(a)) for a in alias  # another model's alias or canonical name
                 if _ALIASES.get(_norm(a), key) != key or _MODELS.get(_norm(a), cls) not in (cls, holder)}
        if taken:  # an alias of a built-in ran the new model in its place, silently
            a, other = next(iter(taken.items()))
            raise ValueError(f"alias {a!r} of model {name!r} is taken by model {other!r}; choose another alias")
        if same and holder is not cls:  # the same class defined again (a notebook cell re-run)
            unregister(key)
        _MODELS[key] = cls
        for a in alias:
            _ALIASES[_norm(a)] = key  # free, or this model's already (checked above)
        own = _norm(cls.__name__)
        if _ALIASES.get(own, key) == key and _MODELS.get(own, cls) is cls:
            _ALIASES[own] = key  # the class name, unless another model holds it (a user's DawidSkene)
        cls.registry_name = key  # type: ignore[attr-defined]
        return cls

    return deco


def unregister(name: str) -> type:
    """Remove the model ``name`` (or an alias of it) and all its aliases from the registry; returns
    its class. For tests and notebooks that register a model for a while (a module imported from
    ``galton/aggregator/`` stays registered for the life of the process)."""
    cls = get(name)
    key = cls.registry_name  # type: ignore[attr-defined]
    del _MODELS[key]
    for alias in [a for a, k in _ALIASES.items() if k == key]:
        del _ALIASES[alias]
    return cls


def names(kind: str | None = None) -> list[str]:
    """Canonical model names, sorted; only those for one kind of data ("categorical",
    "pairwise", "choice", "rating") when ``kind`` is given.

    Raises
    ------
    ValueError
        For any other ``kind``, naming the four (a typo such as ``"categorial"`` once listed no
        model, silently)."""
    kinds = ("categorical", "pairwise", "choice", "rating")
    if kind is not None and kind not in kinds:
        hint = "; multi-label data takes a categorical model inside BinaryRelevance" if kind == "multilabel" else ""
        raise ValueError(f"kind must be one of {', '.join(kinds)}, not {kind!r}{hint}")
    return sorted(n for n, cls in _MODELS.items() if kind is None or getattr(cls, "kind", None) == kind)


def aliases() -> dict[str, str]:
    return dict(_ALIASES)


def explicit(name: str | None) -> str | None:
    """``name``, or None where it asks for the default (``"default"``, in any case): for callers that
    choose the default by the kind of data (``galton.aggregate``, ``galton aggregate --model``)."""
    return None if name is None or _norm(name) == DEFAULT_ALIAS else name


def get(name: str) -> type:
    """The model class registered under ``name`` (or an alias such as the class name); ``"default"``
    is galton's default categorical model (:func:`default_name`), as in ``galton bench`` and study files."""
    key = _norm(name)
    key = default_name() if key == DEFAULT_ALIAS else _ALIASES.get(key, key)
    if key not in _MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {DEFAULT_ALIAS} (galton's default, "
                         f"{default_name()}), {', '.join(names())}")
    return _MODELS[key]


def parameters(cls: type) -> dict[str, Any]:
    """A model class's constructor parameters, name -> ``inspect.Parameter`` (with its default), in
    order, without ``self`` and ``*args`` / ``**kwargs``: what ``get_params``, ``aggregate()``'s
    keywords and the CLI's ``--param`` may set."""
    import inspect

    return {k: p for k, p in inspect.signature(cls.__init__).parameters.items()
            if k != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def create(name: str, **params: Any) -> Any:
    """An instance of the model ``name`` with the given parameters."""
    return get(name)(**params)


#: the default model of the other kinds of data
DEFAULT_BY_KIND = {"pairwise": "bt", "choice": "plackett_luce", "rating": "rating_gaussian"}


def default_name(kind: str = "categorical") -> str:
    """Name of the default model for a kind of data: categorical ``bds`` (``ds`` if the Bayesian
    model is unavailable), pairwise ``bt``, choice ``plackett_luce``, rating ``rating_gaussian``."""
    if kind != "categorical":
        if kind not in DEFAULT_BY_KIND:
            raise ValueError(f"unknown kind of data {kind!r}; use one of categorical, "
                             f"{', '.join(DEFAULT_BY_KIND)}")
        return DEFAULT_BY_KIND[kind]
    return DEFAULT_MODEL if DEFAULT_MODEL in _MODELS else "ds"


def refuse_class(model: Any, what: str, accepted: str = "a model object") -> None:
    """Refuse a model's class where a model object is meant (``what``: the argument, ``accepted``:
    what it takes): its methods wanted ``self`` and failed deep inside, "fit_predict() missing 1
    required positional argument: 'data'"."""
    if isinstance(model, type):
        raise TypeError(f"{what} must be {accepted}; pass {model.__name__}() (an instance), not the class "
                        f"{model.__name__}")
