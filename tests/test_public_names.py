"""galton ships ``py.typed``: every public name must be visible to a type checker, which reads the
source and runs none of it. A name that only appears at run time (added to ``globals()`` by a loop,
or through a module ``__getattr__``) is an error for pyright (``"DawidSkene" is unknown import
symbol``) and ``Any`` for mypy, which then lets a misspelt ``from galton import DawidSkeen`` pass.

Each package ``__init__`` is parsed as a type checker sees it (the body of ``if TYPE_CHECKING:``,
not its ``else``); its ``__all__`` must be a form checkers evaluate (a literal list, ``+=`` a literal
list or ``submodule.__all__``) equal to the run-time one, every name in it must be bound by an import
or a definition there, and each import must give the object that the module holds at run time."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import galton

ROOT = Path(galton.__file__).parent
PACKAGES = sorted(["galton", *(f"galton.{m.name}" for m in pkgutil.iter_modules([str(ROOT)]) if m.ispkg)])
MODULES = [*PACKAGES, *(f"galton.aggregation.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "aggregation")]))]


def _source(module: str) -> Path:
    path = ROOT.parent.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Module-level statements as a type checker reads them: ``if TYPE_CHECKING`` takes its body,
    ``if not TYPE_CHECKING`` its ``else``, any other ``if`` and ``try`` both sides."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If):
            if _is_type_checking(node.test):
                out += _statements(node.body)
            elif isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not) \
                    and _is_type_checking(node.test.operand):
                out += _statements(node.orelse)
            else:
                out += _statements(node.body) + _statements(node.orelse)
        elif isinstance(node, ast.Try):
            out += _statements(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                out += _statements(handler.body)
        else:
            out.append(node)
    return out


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return str(node.module)
    package = module if _source(module).name == "__init__.py" else module.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _literal_names(node: ast.expr) -> list[str]:
    assert isinstance(node, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts), (
        f"line {node.lineno}: __all__ is built in a form type checkers do not evaluate: {ast.unparse(node)}")
    return [e.value for e in node.elts]  # type: ignore[attr-defined]


def static_view(module: str) -> tuple[dict[str, tuple[str, str | None]], list[str] | None]:
    """The names a type checker sees bound in ``module`` (name -> (source module, imported name;
    None for a submodule import or a definition here)) and its ``__all__`` as checkers evaluate it."""
    tree = ast.parse(_source(module).read_text(encoding="utf-8"))
    bound: dict[str, tuple[str, str | None]] = {}
    exported: list[str] | None = None
    for node in _statements(tree.body):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                if alias.name == "*":
                    for name in static_view(source)[1] or []:
                        bound[name] = (source, name)
                else:
                    bound[alias.asname or alias.name] = (source, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound[alias.asname or alias.name.partition(".")[0]] = (alias.name, None)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound[node.name] = (module, None)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if "__all__" in names:
                assert node.value is not None
                if isinstance(node, ast.AugAssign):
                    value = node.value
                    if isinstance(value, ast.Attribute) and value.attr == "__all__" \
                            and isinstance(value.value, ast.Name):
                        sub = bound[value.value.id]
                        extra = static_view(sub[0] if sub[1] is None else f"{sub[0]}.{sub[1]}")[1] or []
                    else:
                        extra = _literal_names(value)
                    exported = [*(exported or []), *extra]
                else:
                    exported = _literal_names(node.value)
            for name in names:
                bound[name] = (module, None)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value.func
            assert not (isinstance(call, ast.Attribute) and isinstance(call.value, ast.Name)
                        and call.value.id == "__all__"), f"{module}: __all__.{call.attr}(...) at line {node.lineno}"
    return bound, exported


def _runtime(source: str, name: str | None) -> object:
    if name is None:
        return importlib.import_module(source)
    try:
        return importlib.import_module(f"{source}.{name}")
    except ModuleNotFoundError:
        return getattr(importlib.import_module(source), name)


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_is_bound_where_type_checkers_look(module: str) -> None:
    mod = importlib.import_module(module)
    bound, exported = static_view(module)
    runtime_all = getattr(mod, "__all__", None)
    assert exported == (None if runtime_all is None else list(runtime_all)), (
        f"{module}.__all__ as type checkers read it differs from the run-time one: "
        f"missing {sorted(set(runtime_all or ()) - set(exported or ()))}, "
        f"extra {sorted(set(exported or ()) - set(runtime_all or ()))}; list the names in the literal __all__")
    missing = [n for n in exported or () if n not in bound]
    assert not missing, f"{module}.__all__ names {missing}, which no import or definition binds: import them by name"
    assert "__getattr__" not in bound, (
        f"{module} shows type checkers a module __getattr__, through which any misspelt name type-checks: "
        "define it under `if not TYPE_CHECKING:` and import its names under `if TYPE_CHECKING:`")
    for name, (source, imported) in bound.items():
        if source == module or (name not in (exported or ()) and not hasattr(mod, name)):
            continue  # defined here, or imported for annotations only (under TYPE_CHECKING)
        assert getattr(mod, name) is _runtime(source, imported), (
            f"{module}.{name} is not the {imported or source} that its import names")


def test_the_documented_imports_are_the_runtime_objects() -> None:
    """README's ``from galton.aggregation import DawidSkene`` and ``galton.DawidSkene(n_iter=50)``,
    and galton.aggregator's names, are seen by a type checker where they are at run time."""
    for module, name in [("galton", "DawidSkene"), ("galton", "BradleyTerry"), ("galton", "aggregation"),
                         ("galton", "metrics"), ("galton", "postprocessing"), ("galton.aggregation", "DawidSkene"),
                         ("galton.aggregator", "GLAD"), ("galton.aggregator", "MACE")]:
        bound, exported = static_view(module)
        assert name in bound, f"{module}.{name} is invisible to type checkers"
        assert getattr(importlib.import_module(module), name) is _runtime(*bound[name])
