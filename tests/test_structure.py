"""The shape of the package (docs ARCHITECTURE.md): dependencies point one way, private names stay
in their module, modules stay small, engines and study kinds are looked up in registries.

The checks read the source with :mod:`ast` (nothing is imported for them), so they see every
``import`` statement, also those inside functions.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1] / "galton"

#: ``from X import _name`` across modules, X another module: none (the issue "One model core")
MAX_PRIVATE_IMPORTS = 0

#: issue 10 "One model core": no module over 450 lines
MAX_LINES = 450
#: modules already over the limit when this test was written: they may shrink, never grow
OVER_LIMIT: dict[str, int] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the galton module imported (a submodule when the name is one)
    name: str | None  # the name taken with ``from target import name``; None for ``import target``
    top: bool  # at module level (not inside a function or class, nor under TYPE_CHECKING)
    line: int


def _modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _absolute(module: str, is_pkg: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    found: list[Import] = []

    def visit(nodes: list[ast.stmt], top: bool) -> None:
        for n in nodes:
            if isinstance(n, ast.ImportFrom):
                src = _absolute(module, is_pkg, n.level, n.module)
                if src.split(".")[0] == "galton":
                    for a in n.names:
                        sub = f"{src}.{a.name}"
                        found.append(Import(module, sub if sub in MODULES else src, a.name, top, n.lineno))
            elif isinstance(n, ast.Import):
                found.extend(Import(module, a.name, None, top, n.lineno) for a in n.names
                             if a.name.split(".")[0] == "galton")
            elif isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
                visit(n.body, False)
                visit(n.orelse, top)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(n.body, False)
            else:
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(n, field, []) or [], top)
                for h in getattr(n, "handlers", []) or []:
                    visit(h.body, top)

    visit(tree.body, True)
    return found


IMPORTS = [imp for m, p in MODULES.items() for imp in _imports(m, p)]


def private_imports(imports: list[Import] | None = None) -> list[Import]:
    """``from X import _name`` where the importer is neither X nor inside the package X."""
    out = []
    for imp in IMPORTS if imports is None else imports:
        name = imp.name
        if name is None or not name.startswith("_") or name.startswith("__"):
            continue
        src = imp.target.rsplit(".", 1)[0] if imp.target.endswith("." + name) else imp.target
        if imp.module == src or imp.module.startswith(src + "."):
            continue  # a package's own private module, or a module's own name
        out.append(imp)
    return out


def import_cycles() -> list[list[str]]:
    """Strongly connected components (more than one module) of the module-level import graph."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        if imp.top and imp.target in MODULES and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return cycles


def test_the_scanner_sees_what_it_should(tmp_path: Path) -> None:
    # known facts of the tree, so that an empty result below means something
    assert "galton.cli" in MODULES and "galton.aggregator._engine" in MODULES
    top = {(i.module, i.target) for i in IMPORTS if i.top}
    assert ("galton.cli", "galton.cli.study") in top
    lazy = {(i.module, i.target) for i in IMPORTS if not i.top}
    assert ("galton.cli", "galton.cli.aggregate") in lazy  # imported inside _cmd_aggregate
    assert ("galton.benchmarks.study", "galton.benchmarks.study_prefs") not in top  # TYPE_CHECKING only
    # a private name imported from another module is found, a public one or a package's own is not
    fake = tmp_path / "fake.py"
    fake.write_text("from ..judgments import _lookup, lookup\nfrom . import _engine\n"
                    "def f():\n    from .._math import _hidden\n")
    found = private_imports(_imports("galton.aggregator.fake", fake))
    assert [(i.target, i.name, i.top) for i in found] == [("galton.judgments", "_lookup", True),
                                                          ("galton._math", "_hidden", False)]


def test_no_module_level_import_cycles() -> None:
    assert import_cycles() == []


def test_private_names_stay_in_their_module() -> None:
    found = private_imports()
    listing = "\n".join(f"{i.module}:{i.line} from {i.target} import {i.name}" for i in found)
    assert len(found) <= MAX_PRIVATE_IMPORTS, (
        f"{len(found)} private names imported across modules (at most {MAX_PRIVATE_IMPORTS}); make a "
        f"shared helper public in its module (no underscore, in __all__) instead:\n{listing}")


def test_modules_stay_small() -> None:
    over = {}
    for m, p in MODULES.items():
        n = len(p.read_text(encoding="utf-8").splitlines())
        if n > OVER_LIMIT.get(m, MAX_LINES):
            over[m] = n
    assert over == {}, f"modules over {MAX_LINES} lines (split them): {over}"


def test_the_library_never_imports_the_cli() -> None:
    """Dependencies point one way: cli -> benchmarks -> workers -> aggregator -> data -> io."""
    up = [i for i in IMPORTS if (i.target == "galton.cli" or i.target.startswith("galton.cli."))
          and not (i.module == "galton.cli" or i.module.startswith("galton.cli.")) and i.module != "galton.__main__"]
    assert up == []
    aggregator_up = [i for i in IMPORTS if i.module.startswith("galton.aggregator")
                     and i.target.split(".")[:2] in (["galton", "workers"], ["galton", "benchmarks"])]
    assert aggregator_up == []  # "ray" is a plugin found through the engine registry


def test_using_the_library_loads_neither_the_cli_nor_ray() -> None:
    code = (
        "import sys, galton\n"
        "m = galton.aggregate({'task': [1, 1, 2], 'worker': ['a', 'b', 'a'], 'label': [0, 0, 1]}, 'ds')\n"
        "print(m.labels_['label'].to_list())\n"
        "print(sorted(k for k in sys.modules if k.startswith('galton.cli') or k.split('.')[0] == 'ray'"
        " or k.startswith('galton.workers')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.splitlines() == ["[0, 1]", "[]"], out.stderr


def test_engine_registry_resolves_names_and_plugins() -> None:
    from galton.aggregator import LocalEngine, engine_names, register_engine, resolve_engine

    assert {"local", "ray"} <= set(engine_names())
    assert isinstance(resolve_engine(None), LocalEngine) and resolve_engine("local", n_shards=3).n_shards == 3
    with pytest.raises(ValueError, match=r"unknown engine 'nowhere'.*'local'.*'ray'"):
        resolve_engine("nowhere")
    with pytest.raises(TypeError, match="engine object"):
        resolve_engine(3.5)

    built: list[dict] = []

    class Recorded(LocalEngine):
        pass

    def factory(**options):
        built.append(options)
        return Recorded(**options)

    register_engine("recorded", factory)
    import galton

    data = {"task": [1, 1, 2, 2, 3], "worker": ["a", "b", "a", "b", "a"], "label": [0, 0, 1, 1, 0]}
    local = galton.DawidSkene(n_iter=5).fit(data)
    via = galton.DawidSkene(n_iter=5, engine="recorded", n_shards=2).fit(data)
    assert built == [{"n_shards": 2}]
    np.testing.assert_allclose(np.asarray(via.probas_), np.asarray(local.probas_), rtol=1e-12, atol=1e-12)


def test_importing_galton_workers_registers_ray_without_importing_ray() -> None:
    code = (
        "import sys\n"
        "from galton.aggregator import _engine\n"
        "print('ray' in _engine._ENGINES)\n"
        "import galton.workers\n"
        "print('ray' in _engine._ENGINES, 'ray' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.splitlines() == ["False", "True False"], out.stderr


def test_without_ray_parquet_on_ray_says_how_to_install_it(tmp_path: Path) -> None:
    """Without Ray, ``--engine ray`` on Parquet said a bare "No module named 'ray'" and
    ``fit_parquet`` raised ModuleNotFoundError, where CSV data said how to install it."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pa.table({"task": [1, 1, 2, 2], "worker": [1, 2, 1, 2], "label": [0, 0, 1, 0]})
    (tmp_path / "d").mkdir()
    pq.write_table(table, tmp_path / "d" / "part-0.parquet")
    pcsv.write_csv(table, tmp_path / "j.csv")
    code = (
        "import contextlib, importlib.abc, io, sys\n"
        "class Block(importlib.abc.MetaPathFinder):  # Ray not installed\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'ray' or name.startswith('ray.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from galton import DawidSkene\n"
        "from galton.cli import main\n"
        "from galton.workers import fit_parquet\n"
        "for src in sys.argv[1:]:\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err):\n"
        "        rc = main(['aggregate', src, '--engine', 'ray', '-m', 'ds', '-q', '-o', src + '.out.csv'])\n"
        "    print(rc, err.getvalue().strip())\n"
        "try:\n"
        "    fit_parquet(DawidSkene(), sys.argv[1])\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "d"), str(tmp_path / "j.csv")],
                         capture_output=True, text=True, timeout=120, check=True)
    said = "engine='ray' needs Ray: pip install 'galton[ray]'"
    assert out.stdout.splitlines() == [f"2 galton: error: {said}"] * 2 + [f"ImportError {said}"], out.stderr


def test_engine_protocol_lists_every_method_the_lifecycles_call() -> None:
    from galton.aggregator import Engine, LocalEngine

    called = set()
    for m, p in MODULES.items():
        if m.startswith("galton.aggregator"):
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id in ("eng", "engine") and not node.attr.startswith("_")):
                    called.add(node.attr)
    assert {"load", "map", "map_sum", "gather", "close"} <= called
    declared = {n for n in dir(Engine) if not n.startswith("_")} | set(Engine.__annotations__)
    assert called <= declared, f"the Engine protocol misses {sorted(called - declared)}"
    assert isinstance(LocalEngine(), Engine)


def test_study_kinds_are_one_registry() -> None:
    from galton.benchmarks import kinds
    from galton.benchmarks.study import parse_study

    assert kinds.kind_names() == ["categorical", "preference"]
    for kind in kinds.STUDY_KINDS.values():
        for hook in kinds.HOOKS:
            assert callable(kind.hook(hook)), (kind.name, hook)
    with pytest.raises(ValueError, match=r"kind must be one of 'categorical', 'preference'.*'ranking'"):
        parse_study({"study": {"kind": "ranking"}})
    assert type(parse_study({"study": {"kind": "preference"}})).__name__ == "PrefStudy"
    # the runner and the report dispatch through the registry, not by the kind's name
    for name in ("study", "report"):
        text = (ROOT / "benchmarks" / f"{name}.py").read_text(encoding="utf-8")
        assert '== "preference"' not in text
    kind_modules = {"galton.benchmarks.study_prefs", "galton.benchmarks._report_prefs"}
    assert [i for i in IMPORTS if i.module in ("galton.benchmarks.study", "galton.benchmarks.report")
            and i.target in kind_modules and (i.top or i.name is not None and i.name != "PrefStudy")] == []


def test_cli_catches_the_sharded_codes_error_by_class(tmp_path, monkeypatch, capsys) -> None:
    """A model that needs per-judgment codes in the driver cannot run on distributed ingest: the
    CLI recognises :class:`galton.workers.ShardedCodesError` by its class, not by its message."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from galton import workers
    from galton.cli import main
    from galton.workers import sharded

    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": [0, 0, 1]}), path)
    assert workers.ShardedCodesError is sharded.ShardedCodesError

    def refuse(*args, **kwargs):
        raise sharded.ShardedCodesError("judgments.worker: the codes live in the shards (no keyword here)")

    monkeypatch.setattr(sharded, "fit_parquet", refuse)
    assert main(["aggregate", str(path), "--engine", "ray", "-m", "ds"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model 'ds' cannot run on distributed ingest yet" in err[0]
    assert "use --engine local" in err[0]

    def other(*args, **kwargs):
        raise AttributeError("'NoneType' object has no attribute 'load_parquet'")  # not the codes error

    monkeypatch.setattr(sharded, "fit_parquet", other)
    assert main(["aggregate", str(path), "--engine", "ray", "-m", "ds"]) == 2
    err = capsys.readouterr().err
    assert "distributed ingest" not in err and "AttributeError" in err


#: model code that may call BLAS: the preference models' covariance (and its worker correction), once, after the fit
BLAS_ALLOWED = {"galton.aggregator._pref_results", "galton.aggregator._pref_workers"}


def test_model_code_calls_no_threaded_blas_product():
    """No matrix product (``@``, ``np.dot``, ``np.matmul``, ``np.inner``, ``np.vdot``, ``.dot``)
    in the models' code: OpenBLAS runs large ones on its own threads, which then spin for about
    0.1 s, and the parallel loops that follow read each spinning thread as a busy core and run on
    fewer threads (a BDS dot product over 37k workers put 30 of a fit's 154 loops on one thread).
    Sums of products (``np.sum(a * b)``, ``np.einsum`` without ``optimize``) never call BLAS."""
    found = []
    for name, path in _modules().items():
        if not name.startswith("galton.aggregator") or name in BLAS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
                found.append(f"{name}:{node.lineno} @")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in {"dot", "matmul", "inner", "vdot", "tensordot"}:
                found.append(f"{name}:{node.lineno} {node.func.attr}")
    assert not found, f"matrix products in model code (they may leave OpenBLAS threads spinning): {found}"


def _direct_warns(tree: ast.AST) -> list[int]:
    """Lines that issue a warning past galton's helper: ``warnings.warn(...)`` /
    ``warnings.warn_explicit(...)`` (by any alias of the module), or ``from warnings import warn``."""
    aliases = {"warnings"} | {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                              for a in n.names if a.name == "warnings"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in {"warn", "warn_explicit"} and isinstance(node.func.value, ast.Name) and \
                node.func.value.id in aliases:
            found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "warnings" and \
                any(a.name in {"warn", "warn_explicit"} for a in node.names):
            found.append(node.lineno)
    return found


def test_galtons_warnings_go_through_its_one_helper():
    """Every warning of galton's is issued with ``galton._warnings.warn``, which the command line's
    ``collected()`` block collects per call (in this thread); a direct ``warnings.warn`` would escape
    the call's list as a raw Python warning (galton collected them by replacing the standard library's
    ``warnings.warn`` for the whole process, which a library must not do)."""
    fake = ast.parse("import warnings as w\nfrom warnings import warn\nw.warn('x')\nwarn('y')\n")
    assert _direct_warns(fake) == [2, 3]  # the scanner sees an alias and an imported name
    found = [f"{name}:{line}" for name, path in MODULES.items() if name != "galton._warnings"
             for line in _direct_warns(ast.parse(path.read_text(encoding="utf-8")))]
    assert not found, f"warnings issued with warnings.warn, not galton._warnings.warn: {found}"
