"""The one runner of every study kind (:mod:`galton.benchmarks.kinds`): study files, the engines
jobs run on, the single-threaded job context and the result.

A kind (:mod:`galton.benchmarks.study` for categorical studies, :mod:`galton.benchmarks.study_prefs`
for preference studies) cuts its work into one job per ``(source, k)`` and hands the jobs to
:func:`run_jobs`, which runs them in this process (``engine="local"``) or as Ray tasks
(``engine="ray"``, through :mod:`galton.workers.tasks` only), with identical results: inside
:func:`one_thread` numba and BLAS run single-threaded, so float sums do not depend on the
machine's thread count.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .._warnings import caller_stacklevel, warn
from ..aggregator._jit import threads

if TYPE_CHECKING:  # pragma: no cover
    from .study import AnyStudy

__all__ = ["STUDIES_DIR", "ENGINES", "StudyResult", "check_engine", "model_kwargs", "one_thread", "read_toml",
           "run_jobs", "study_path", "toml_lib", "toml_value", "versions"]

STUDIES_DIR = Path(__file__).with_name("studies")
ENGINES = ("local", "ray")


# --------------------------------------------------------------------------------------------------
# study files
# --------------------------------------------------------------------------------------------------
def toml_lib() -> Any:
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise ImportError("reading a TOML file (a study file, or a galton simulate CONFIG) needs Python "
                              "3.11+ (tomllib) or, on Python 3.10, the tomli package that galton declares "
                              "there: pip install 'tomli>=1.1'") from None
    return tomllib


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} to TOML")


def study_path(name: str | os.PathLike[str] | None = None) -> Path:
    """The file of a study: a path, or the name of a study shipped in ``studies/`` (default:
    ``default``)."""
    if name is None:
        name = "default"
    p = Path(name)
    if p.suffix != ".toml" and not p.exists():
        shipped = STUDIES_DIR / f"{p.name}.toml"
        if shipped.exists():
            return shipped
        known = sorted(q.stem for q in STUDIES_DIR.glob("*.toml"))
        raise FileNotFoundError(f"no study file {str(name)!r}; give a .toml path or one of {known}")
    if not p.exists():
        raise FileNotFoundError(f"study file {str(p)!r} does not exist")
    if p.is_dir():  # read_text said only "[Errno 21] Is a directory"
        raise IsADirectoryError(f"study file {str(p)!r} is a directory; give a .toml file or a study's name")
    return p


def read_toml(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """The parsed content and the text of a TOML file; a syntax error is a ``ValueError``."""
    text = Path(path).read_text(encoding="utf-8")
    lib = toml_lib()
    try:
        return lib.loads(text), text
    except lib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None


# --------------------------------------------------------------------------------------------------
# jobs: in this process or as Ray tasks, single-threaded
# --------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def one_thread() -> Any:
    """numba (and BLAS, when threadpoolctl is installed) single-threaded: results that do not
    depend on the thread count, and no spinning threads on a busy machine (a 20x slowdown of the
    bootstrap's matrix products was measured on a loaded 2-core machine)."""
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            stack.enter_context(threadpool_limits(1, user_api="blas"))
        stack.enter_context(threads(1))
        yield


def model_kwargs(cls: type, study: Any, random_state: int) -> dict[str, Any]:
    """The keyword arguments of model class ``cls`` in a study job: its ``random_state``, the
    study's ``tie_break`` and no progress bar, each where ``cls`` takes it."""
    from ..aggregator import parameters

    accepted = set(parameters(cls))
    kw: dict[str, Any] = {}
    if "random_state" in accepted:
        kw["random_state"] = random_state
    if "tie_break" in accepted:
        kw["tie_break"] = study.tie_break
    if "progress" in accepted:
        kw["progress"] = False
    return kw


def _ray_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def check_engine(engine: str) -> str:
    """``engine`` checked; ``"ray"`` without Ray installed becomes ``"local"``, with a warning."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    if engine == "ray" and not _ray_available():
        warn("Ray is not installed; the study runs in this process (pip install 'galton[ray]')",
             RuntimeWarning, stacklevel=caller_stacklevel())  # the caller's run_study, not galton's
        return "local"
    return engine


def run_jobs(job: Callable[[Any, int, Any], dict[str, Any]], sources: dict[str, Any],
             jobs: list[tuple[str, int]], study: Any, engine: str, address: str | None,
             progress: bool | None) -> dict[str, dict[int, dict[str, Any]]]:
    """Run ``job(source, k, study)`` for every ``(source name, k)`` in this process or as Ray tasks
    (one CPU each; each source's arrays go to the object store once), with a progress bar; the
    results by source name and k (the order of completion does not matter)."""
    from .._progress import Progress

    results: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in sources}
    bar = Progress(len(jobs), "bench", enabled=progress)

    def done(res: dict[str, Any]) -> None:
        results[res["source"]][res["k"]] = res
        bar.update(sum(len(v) for v in results.values()), f"{res['source']} k={res['k']}")

    if engine == "ray":
        from ..workers.tasks import map_unordered  # Ray lives in galton.workers only

        map_unordered(job, sources, [(n, k, study) for n, k in jobs], done, address=address)
    else:
        for name, k in jobs:
            done(job(sources[name], k, study))
    bar.close()
    return results


@dataclass
class StudyResult:
    """Tables (polars DataFrames by name) and metadata (seeds, versions, timing, notes)."""

    study: AnyStudy
    tables: dict[str, Any]
    meta: dict[str, Any]


def versions() -> dict[str, str]:
    """Versions of Python and the packages a study result depends on."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("galton", "numpy", "polars", "pyarrow", "numba", "ray", "matplotlib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    if out["galton"] == "not installed":
        from .. import __version__

        out["galton"] = f"{__version__} (source tree)"
    return out
