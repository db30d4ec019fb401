"""The models' annotations as a type checker reads them (galton ships ``py.typed``).

``fit`` returns the model it is called on, so its annotation must name that class (or a TypeVar
bound on ``self``): an inherited ``fit`` annotated with the base class made ``MACE().fit(df).spamming_``
an error ("EMAggregator" has no attribute "spamming_"). And every result a fit sets must be declared
where mypy looks: an attribute assigned only inside a nested function (a fit's ``store`` callback) is
invisible to it (``MajorityVote().fit(df).skills_``: "MajorityVote" has no attribute "skills_")."""

from __future__ import annotations

import ast
import inspect
import textwrap
import warnings
from typing import Any, ForwardRef, TypeVar

import pandas as pd
import pytest

import galton.aggregator as agg
from galton.aggregator import get, names

MODELS = [obj for n in agg.__all__ if isinstance(obj := getattr(agg, n), type) and hasattr(obj, "fit")]


def _resolve(annotation: Any, globals_: dict[str, Any]) -> Any:
    if isinstance(annotation, ForwardRef):
        annotation = annotation.__forward_arg__
    while isinstance(annotation, str):  # '"EMAggregator"': quoted under `from __future__ import annotations`
        annotation = eval(annotation, globals_)  # noqa: S307
    return annotation


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_no_public_method_is_annotated_to_return_a_base_class(cls: type) -> None:
    """A method inherited from a base and annotated ``-> "Base"`` types ``Sub().fit(df)`` as the base
    for type checkers; a self-typed TypeVar (``def fit(self: _Self, ...) -> _Self``) gives ``Sub``."""
    wrong = []
    for name, fn in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_") or "return" not in fn.__annotations__:
            continue
        try:
            ret = _resolve(fn.__annotations__["return"], fn.__globals__)
        except Exception:  # a name imported for type checkers only: not a class of galton's
            continue
        if isinstance(ret, TypeVar):
            first = next(iter(inspect.signature(fn).parameters.values()))
            assert _resolve(first.annotation, fn.__globals__) is ret, f"{cls.__name__}.{name}: self is not {ret}"
            bound = _resolve(ret.__bound__, fn.__globals__)
            assert issubclass(cls, bound), f"{cls.__name__}.{name}: {ret} is bound to {bound.__name__}"
        elif isinstance(ret, type) and ret is not cls and issubclass(cls, ret):
            wrong.append(f"{name} -> {ret.__name__}")
    assert not wrong, f"{cls.__name__}: {wrong} name a base class; annotate self and the return with a TypeVar"


def _declared(cls: type) -> set[str]:
    """The attributes mypy sees on ``cls``: class-level names and annotations, and ``self.x = ...``
    in the methods' own bodies (not in functions nested in them)."""
    seen: set[str] = set()
    for klass in cls.__mro__[:-1]:
        seen |= set(vars(klass)) | set(vars(klass).get("__annotations__", {}))
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body  # type: ignore[attr-defined]
        todo = [n for fn in body if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in fn.body]
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            todo += ast.iter_child_nodes(node)
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
            while targets:
                t = targets.pop()
                if isinstance(t, (ast.Tuple, ast.List)):
                    targets += t.elts
                elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    seen.add(t.attr)
    return seen


DATA = {
    "categorical": pd.DataFrame({"task": [1, 1, 1, 2, 2, 2, 3, 3, 3], "worker": list("abcabcabc"),
                                 "label": [0, 1, 0, 1, 1, 0, 0, 0, 1]}),
    "pairwise": pd.DataFrame({"worker": list("abcabc"), "left": list("xyxzzy"), "right": list("yzzxyx"),
                              "label": list("xyzzyx")}),
    "choice": pd.DataFrame({"worker": list("abcabc"), "options": [["x", "y", "z"]] * 6, "choice": list("xyzxxy")}),
    "rating": pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"), "label": [1.0, 2, 3, 2, 2, 5]}),
}


@pytest.mark.parametrize("name", names())
def test_every_fitted_result_is_declared_where_type_checkers_look(name: str) -> None:
    cls = get(name)
    gold = [pd.Series({1: 0, 2: 1})] if name == "gold_mv" else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls().fit(DATA[cls.kind], *gold)
    results = [a for a in vars(model) if a.endswith("_") and not a.startswith("_")]
    assert results
    hidden = sorted(set(results) - _declared(cls))
    assert not hidden, f"{cls.__name__} sets {hidden} where type checkers do not see it: declare them in the class"
