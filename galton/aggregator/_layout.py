"""crowd-kit's pandas layout of results, written once.

galton builds every result with its axes in sorted id order (tasks, workers and labels), which does not
depend on the row order of the input; polars and Arrow results stay that way. For a pandas fit of a
class that crowd-kit also has, :func:`crowdkit_layout` then rearranges the results the way crowd-kit
returns them, so that code written against crowd-kit sees the same frames. crowd-kit is not uniform
(checked against crowd-kit 1.4.2 on a frame whose rows are not in id order):

* first-appearance order (``pd.factorize`` of the input column) for DawidSkene / OneCoinDawidSkene
  (labels_, probas_, errors_, priors_, skills_; DawidSkene's labels sorted after an ``initial_error``,
  see :func:`_initial_error_layout`), MACE (labels_, probas_, thetas_, spamming_),
  MajorityVote without skills (labels_, probas_: its ``value_counts``), MMSR (skills_) and GLAD
  (alphas_, betas_, priors_; galton's extra skills_ follows alphas_);
* sorted ids everywhere else: GLAD's labels_ / probas_, MajorityVote's skills_, MajorityVote fitted
  with skills (its ``groupby(["task", "label"]).sum()`` sorts; a label that only ignored workers
  gave, ``on_missing_skill="ignore"``, has no ``probas_`` column), MMSR's labels_ / scores_
  (galton's probas_ with them), GoldMajorityVote, Wawa, ZeroBasedSkill, KOS;
* ``errors_`` (DawidSkene, OneCoinDawidSkene) has one row per (worker, label) pair seen in the data,
  in order of appearance, and unnamed columns of object dtype (str for text labels: crowd-kit's come
  from a join with the data's column names); galton's full worker x label grid stays for polars /
  Arrow and for galton's own models;
* ``probas_`` columns are named ``label``, except MACE (unnamed) and GLAD (``variable``); GLAD's
  ``priors_`` is an unnamed Series with an unnamed index;
* MACE's ``thetas_`` is a bare (workers, labels) array and ``spamming_`` a (workers, 2) array
  ``[P(spam), P(know)]``, rows and columns in first-appearance order (galton's values are posterior
  means in VB, where crowd-kit gives ``exp(E[log p])``, which does not sum to one).

galton's own models (not in crowd-kit) keep the sorted layout.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._engine import LoadedData
from ._kernels import first_appearance, pair_appearance
from ._results import unnamed_result

__all__ = ["CROWDKIT_LAYOUT", "crowdkit_layout", "crowdkit_result"]

#: class name -> {"appearance": results whose task / worker / label axes follow first appearance,
#: "columns": probas_ / errors_ column-axis name, "observed_errors": errors_ rows seen only,
#: "arrays": results crowd-kit returns as bare numpy arrays, "unnamed": Series crowd-kit leaves unnamed,
#: "sorted": axes in sorted order all the same}
CROWDKIT_LAYOUT: dict[str, dict[str, Any]] = {
    "DawidSkene": {"appearance": ("labels_", "probas_", "errors_", "priors_", "skills_"),
                   "columns": {"errors_": None}, "observed_errors": True},
    "DawidSkene(initial_error)": {"appearance": ("labels_", "probas_", "errors_", "priors_", "skills_"),
                                  "columns": {"errors_": None}, "observed_errors": True, "sorted": ("label",)},
    "OneCoinDawidSkene": {"appearance": ("labels_", "probas_", "errors_", "priors_", "skills_"),
                          "columns": {"errors_": None}, "observed_errors": True},
    "MACE": {"appearance": ("labels_", "probas_", "thetas_", "spamming_", "skills_"),
             "columns": {"probas_": None}, "arrays": ("thetas_", "spamming_")},
    "MajorityVote": {"appearance": ("labels_", "probas_")},
    "MajorityVote(skills)": {},  # crowd-kit's weighted vote sums with groupby: sorted tasks and labels
    "GLAD": {"appearance": ("alphas_", "betas_", "priors_", "skills_"), "columns": {"probas_": "variable"},
             "unnamed": ("priors_",)},
    "MMSR": {"appearance": ("skills_",)},
}

_AXES = ("task", "worker", "label")
_RESULTS = ("labels_", "probas_", "errors_", "priors_", "skills_", "thetas_", "spamming_", "alphas_",
            "betas_", "scores_")


class _Orders:
    """First-appearance orders of the task, worker and label vocabularies (computed on demand); with
    ``fitted``, the label order of the fit's judgments (predict on new data keeps the fit's columns);
    the axes named in ``sorted_axes`` keep their sorted order."""

    def __init__(self, judgments: Any, fitted: Any = None, sorted_axes: tuple[str, ...] = ()):
        self.j = judgments
        self.fitted = fitted
        self.sorted_axes = sorted_axes
        self._cache: dict[str, np.ndarray] = {}
        self._sorted: dict[str, bool] = {}
        self._fitted_orders: _Orders | None = None

    def codes(self, axis: str) -> np.ndarray:
        """Codes of ``axis`` in order of first appearance, then codes never seen (in sorted order)."""
        if axis not in self._cache:
            n = getattr(self.j, f"{axis}_names").size
            if isinstance(self.j, LoadedData) or axis in self.sorted_axes:  # LoadedData: the fit's are sorted
                self._cache[axis] = np.arange(n)
                return self._cache[axis]
            seen = first_appearance(np.asarray(getattr(self.j, axis)), n)
            if seen.size < n:
                unseen = np.ones(n, dtype=bool)
                unseen[seen] = False
                seen = np.concatenate([seen, np.flatnonzero(unseen)])
            self._cache[axis] = seen
        return self._cache[axis]

    def in_sorted_order(self, axis: str) -> bool:
        """Whether ``axis`` first appears in sorted order (a file grouped by sorted task ids): its
        results are then in crowd-kit's layout already, with nothing to take."""
        if axis not in self._sorted:
            codes = self.codes(axis)  # a permutation of 0..n-1: the identity if it only increases
            self._sorted[axis] = bool(codes.size < 2 or (codes[1:] > codes[:-1]).all())
        return self._sorted[axis]

    def source(self, axis: str) -> "_Orders":
        """Whose order ``axis`` follows: the fit's for labels on new data, else these judgments'."""
        if axis != "label" or self.fitted is None:
            return self
        if self._fitted_orders is None:
            self._fitted_orders = _Orders(self.fitted, sorted_axes=self.sorted_axes)
        return self._fitted_orders

    def names(self, axis: str) -> np.ndarray:
        """The ids / labels of ``axis`` in that order."""
        src = self.source(axis)
        return src.vocabulary(axis)[src.codes(axis)]

    def vocabulary(self, axis: str) -> np.ndarray:
        """The sorted ids / labels of ``axis`` (position = code)."""
        return getattr(self.j, f"{axis}_names")

    def pairs(self) -> np.ndarray:
        """Rows ``worker * K + label`` of the (worker, label) pairs seen, in order of appearance."""
        return pair_appearance(self.j.worker, self.j.label, self.j.worker_names.size, self.j.label_names.size)


def _reorder_axis(index: Any, orders: _Orders) -> np.ndarray | None:
    """Positions that put a task / worker / label axis of galton's sorted layout in appearance order
    (entries of the axis the order does not name keep their sorted order, at the end)."""
    import pandas as pd

    if index.name not in _AXES or index.nlevels != 1 or len(index) == 0:
        return None
    src = orders.source(index.name)
    vocab = src.vocabulary(index.name)
    if len(index) == vocab.size and index.equals(pd.Index(vocab)):  # galton's layout: the codes' order
        return None if src.in_sorted_order(index.name) else src.codes(index.name)
    pos = index.get_indexer(orders.names(index.name))
    pos = pos[pos >= 0]
    if pos.size < len(index):
        pos = np.concatenate([pos, np.setdiff1d(np.arange(len(index)), pos)])
    return pos


def _arrange(value: Any, attr: str, orders: _Orders, layout: dict[str, Any]) -> Any:
    import pandas as pd

    if attr == "errors_" and layout.get("observed_errors") and isinstance(value.index, pd.MultiIndex):
        if len(value) == orders.j.worker_names.size * len(value.columns):  # galton's full grid
            value = value.iloc[orders.pairs()]
    else:
        rows = _reorder_axis(value.index, orders)
        if rows is not None:
            value = value.iloc[rows]
    if isinstance(value, pd.DataFrame):
        cols = _reorder_axis(value.columns, orders)
        if cols is not None:
            value = value.iloc[:, cols]
    return value


def _layout_name(model: Any) -> str:
    """The key of ``model``'s layout: its class name, or the name a fit chose (``_crowdkit_layout_name``:
    MajorityVote fitted with skills is laid out as crowd-kit's weighted vote, DawidSkene fitted with an
    ``initial_error`` with sorted labels)."""
    return getattr(model, "_crowdkit_layout_name", None) or type(model).__name__


def _initial_error_layout(model: Any, judgments: Any) -> str:
    """The layout of a DawidSkene fit. crowd-kit's first E-step adds the log priors (labels in
    first-appearance order) to a frame whose columns are ``initial_error``'s ("assign") or their
    alignment with the counts' ("addition"); pandas aligns two different orders on their sorted union,
    which every later step keeps. So with ``initial_error`` and an E-step run (``n_iter_ >= 1``) the
    labels of probas_, errors_ and priors_ are sorted, unless its columns are in first-appearance order
    (galton's long errors_ table and a numpy array, which crowd-kit does not take, leave the layout
    alone). ``_fit_inputs`` holds the fit's ``initial_error`` until the fit returns."""
    init = (model.__dict__.get("_fit_inputs") or {}).get("initial_error")
    pd = sys.modules.get("pandas")  # crowd-kit's frame is a pandas one: pandas is imported
    if pd is None or not isinstance(init, pd.DataFrame) or getattr(model, "n_iter_", 0) < 1:
        return "DawidSkene"
    if list(init.columns) == _Orders(judgments).names("label").tolist():
        return "DawidSkene"
    return "DawidSkene(initial_error)"


def crowdkit_layout(model: Any, judgments: Any, attrs: tuple[str, ...] = _RESULTS) -> None:
    """Rearrange ``model``'s pandas results ``attrs`` (fitted on ``judgments``) into crowd-kit's
    layout for its class (see the module docstring); other classes and frame types are left alone.
    A DawidSkene fit keeps the name of its layout (``_crowdkit_layout_name``) for ``predict``."""
    if type(model).__name__ == "DawidSkene":
        model._crowdkit_layout_name = _initial_error_layout(model, judgments)
    if _layout_name(model) not in CROWDKIT_LAYOUT:
        return
    orders = _Orders(judgments, sorted_axes=CROWDKIT_LAYOUT[_layout_name(model)].get("sorted", ()))
    for attr in attrs:
        if attr in model.__dict__:
            setattr(model, attr, crowdkit_result(model, attr, model.__dict__[attr], orders))


def crowdkit_result(model: Any, attr: str, value: Any, judgments: Any, fitted: Any = None) -> Any:
    """``value``, the pandas result ``attr`` of ``model`` on ``judgments`` (or their :class:`_Orders`),
    in crowd-kit's layout; for :meth:`predict` / :meth:`predict_proba` on new data, ``fitted`` (the
    fit's judgments) gives the label order, so the columns are those of ``probas_``. Anything else (a polars
    frame, an Arrow table) comes back as it is, without importing pandas, which is an optional extra."""
    layout = CROWDKIT_LAYOUT.get(_layout_name(model))
    pd = sys.modules.get("pandas")  # a pandas object means pandas is imported: never import it here
    if layout is None or pd is None or not isinstance(value, (pd.Series, pd.DataFrame)):
        return value
    orders = judgments if isinstance(judgments, _Orders) else _Orders(judgments, fitted, layout.get("sorted", ()))
    if attr in layout.get("appearance", ()):
        value = _arrange(value, attr, orders, layout)
    if attr in layout.get("columns", {}) and isinstance(value, pd.DataFrame):
        value = value.rename_axis(columns=layout["columns"][attr])
    if attr == "errors_" and layout.get("observed_errors") and isinstance(value, pd.DataFrame):
        # crowd-kit's come from joining the data (text column names): object dtype unless the labels are text
        value = value.set_axis(pd.Index(["label"]).append(value.columns)[1:], axis=1)
    if attr in layout.get("unnamed", ()):
        value = unnamed_result(value.rename(None).rename_axis(None), value.index.name, value.name)
    if attr in layout.get("arrays", ()):
        value = value.to_numpy()
        if value.ndim == 1:  # MACE spamming_: [P(spam), P(know)]
            value = np.column_stack([value, 1.0 - value])
    return value
