"""Datasets read from a checkout of the shared dataset folder (CSV files, any licence).

The folder holds one sub-directory per dataset with ``judgments.csv`` (``task,worker,label``),
optionally ``gold.csv`` (``task,label``) and ``experts.csv`` (``task,expert,label``), and a
``README.md``. Datasets without a licence that allows redistribution live only there: they serve
tests and benchmarks and are never bundled.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._dataset import Dataset
from ._io import Frame, check_frame, convert, format_names, read_csv

#: Environment variable that points at the shared datasets folder.
ENV_VAR = "GALTON_SHARED_DATASETS"

_REPO = Path(__file__).resolve().parents[2]  # <repo>/galton/datasets/_shared.py -> <repo>


def _candidates(root: str | os.PathLike[str] | None) -> list[Path]:
    """Return the folders to try, in order: `root`, else the env var, else repo-relative guesses."""
    if root is not None:
        return [Path(root)]
    env = os.environ.get(ENV_VAR)
    if env:
        return [Path(env)]
    found: list[Path] = []
    for base in (_REPO, Path.cwd()):
        for cand in (base.parent / "shared" / "datasets", base / "shared" / "datasets"):
            if cand not in found:
                found.append(cand)
    return found


def shared_root(root: str | os.PathLike[str] | None = None) -> Path | None:
    """Find the shared datasets folder.

    Parameters
    ----------
    root : path-like, optional
        Folder to use. When omitted: the ``GALTON_SHARED_DATASETS`` environment variable if set,
        else the first existing of ``<repo>/../shared/datasets``, ``<repo>/shared/datasets``,
        ``<cwd>/../shared/datasets`` and ``<cwd>/shared/datasets``, where ``<repo>`` is the
        directory that contains the ``galton`` package.

    Returns
    -------
    pathlib.Path or None
        The folder, resolved, or ``None`` when it does not exist (tests use this to skip).
    """
    for cand in _candidates(root):
        if cand.is_dir():
            return cand.resolve()
    return None


def unset_note() -> str:
    """Where :data:`ENV_VAR` names no folder: a note for a message about a dataset not found, that
    says so (then no shared dataset was looked for); else ``""``."""
    env = os.environ.get(ENV_VAR)
    if not env or Path(env).is_dir():
        return ""
    return (f"; the environment variable {ENV_VAR}={env!r} names no folder, so no shared dataset was looked for: "
            "point it at the folder that holds one sub-directory per dataset, or unset it")


def not_found_note() -> str:
    """For a message about a dataset not found where no shared folder was found: why (the variable
    names no folder, or where galton looked) and what to set; ``""`` when a folder is found."""
    if shared_root() is not None:
        return ""
    tried = format_names(str(p) for p in _candidates(None))
    return unset_note() or (f"; shared datasets folder not found (tried: {tried}); set {ENV_VAR} to the folder "
                            "that holds one sub-directory per dataset")


def _require_root(root: str | os.PathLike[str] | None) -> Path:
    """Return :func:`shared_root` or raise a ``FileNotFoundError`` naming every path tried."""
    found = shared_root(root)
    if found is None and root is None and unset_note():
        raise FileNotFoundError(f"shared datasets folder not found{unset_note()}")
    if found is None:
        tried = format_names(str(p) for p in _candidates(root))
        raise FileNotFoundError(
            f"shared datasets folder not found (tried: {tried}); pass root=<folder> or set "
            f"{ENV_VAR} to the folder that holds one sub-directory per dataset"
        )
    return found


def shared_names(root: str | os.PathLike[str] | None = None) -> list[str]:
    """List the datasets in the shared datasets folder.

    Parameters
    ----------
    root : path-like, optional
        Shared datasets folder; found as in :func:`shared_root` when omitted.

    Returns
    -------
    list of str
        Names of the sub-directories that hold a ``judgments.csv``, sorted.

    Raises
    ------
    FileNotFoundError
        If the folder cannot be found; the message names the paths tried.
    """
    base = _require_root(root)
    return sorted(p.name for p in base.iterdir() if (p / "judgments.csv").is_file())


def load_shared(
    name: str, root: str | os.PathLike[str] | None = None, *, frame: Frame = "polars"
) -> Dataset:
    """Load any dataset from the shared datasets folder, bundled or not.

    CSV files are read by galton's one reader (:func:`galton.io.read_input`) with its typing rules
    (integers only where every value is a canonical integer), so a bundled dataset loads equal from
    either place.

    Parameters
    ----------
    name : str
        One of :func:`shared_names`.
    root : path-like, optional
        Shared datasets folder; found as in :func:`shared_root` when omitted.
    frame : {"polars", "pandas", "arrow"}, default "polars"
        Type of the returned tables.

    Returns
    -------
    Dataset
        ``(judgments, gold, experts)``; ``gold`` and ``experts`` are ``None`` when absent.

    Raises
    ------
    FileNotFoundError
        If the shared folder cannot be found; the message names the paths tried.
    ValueError
        If `name` is not in the folder (the message lists the names that are) or `frame` is
        unknown.
    """
    check_frame(frame)
    base = _require_root(root)
    valid = shared_names(base)
    if name not in valid:
        raise ValueError(f"no dataset named {name!r} in {base}; available: {format_names(valid)}")
    tables = []
    for table in ("judgments", "gold", "experts"):
        path = base / name / f"{table}.csv"
        tables.append(convert(read_csv(path, table), frame) if path.is_file() else None)
    return Dataset(*tables)
