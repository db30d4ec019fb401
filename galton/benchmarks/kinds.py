"""Study kinds plug into one runner: a kind's name -> the functions that implement it.

:func:`galton.benchmarks.study.load_study`, :func:`~galton.benchmarks.study.with_options`,
:func:`~galton.benchmarks.study.run_study` and :func:`galton.benchmarks.report.write_report` /
:func:`~galton.benchmarks.report.summary` look the kind of a study (``[study] kind = ...``, default
``"categorical"``) up here and call its hooks; none of them branches on a kind's name. A new kind
is one more entry in :data:`STUDY_KINDS`. Each hook is ``"module:attribute"``, imported on first
use, so that a kind's code (and its plotting) loads only when a study of that kind runs:

- ``parse(data, text) -> study`` from a parsed study file;
- ``options(study, *, datasets, only_datasets, **changes) -> study`` with command-line options;
- ``run(study, *, engine, address, progress) -> StudyResult``;
- ``plots(result, tmp) -> {section: [paths]}``, ``page(result, plots) -> html`` and
  ``summary(result, path) -> text`` for the report.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["STUDY_KINDS", "StudyKind", "kind_names", "kind_of", "study_kind"]

HOOKS = ("parse", "options", "run", "plots", "page", "summary")


@dataclass(frozen=True)
class StudyKind:
    """The hooks of one kind of study, each ``"module:attribute"`` (an attribute may be dotted)."""

    name: str
    parse: str
    options: str
    run: str
    plots: str
    page: str
    summary: str

    def hook(self, name: str) -> Callable[..., Any]:
        """The function behind hook ``name`` (imported now)."""
        if name not in HOOKS:
            raise ValueError(f"unknown study hook {name!r}; hooks are {', '.join(HOOKS)}")
        module, _, attr = getattr(self, name).partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj


_B = "galton.benchmarks"

#: kind name -> its hooks
STUDY_KINDS: dict[str, StudyKind] = {
    "categorical": StudyKind(
        "categorical", parse=f"{_B}.study:Study.from_dict", options=f"{_B}.study:categorical_options",
        run=f"{_B}.study:run_categorical", plots=f"{_B}.report:categorical_plots",
        page=f"{_B}.report:categorical_page", summary=f"{_B}.report:categorical_summary"),
    "preference": StudyKind(
        "preference", parse=f"{_B}.study_prefs:PrefStudy.from_dict", options=f"{_B}.study_prefs:pref_options",
        run=f"{_B}.study_prefs:run_pref_study", plots=f"{_B}._report_prefs:write_plots",
        page=f"{_B}._report_prefs:page", summary=f"{_B}._report_prefs:summary"),
}


def kind_names() -> list[str]:
    """The kinds a study file may name in ``[study] kind``."""
    return list(STUDY_KINDS)


def study_kind(name: str) -> StudyKind:
    """The hooks of kind ``name``; an unknown kind lists the valid ones."""
    try:
        return STUDY_KINDS[name]
    except (KeyError, TypeError):
        valid = ", ".join(repr(k) for k in STUDY_KINDS)
        raise ValueError(f"[study] kind must be one of {valid} (default 'categorical'), not {name!r}") from None


def kind_of(obj: Any) -> str:
    """The kind of a study, or of a study result (its ``meta["kind"]``); default ``"categorical"``."""
    meta = getattr(obj, "meta", None)
    if isinstance(meta, dict):
        return str(meta.get("kind", "categorical"))
    return str(getattr(obj, "kind", "categorical"))
