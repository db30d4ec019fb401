"""The estimator contract every model shares (scikit-learn style) and galton's one tie rule.

``__init__`` only stores keyword parameters; ``fit`` validates, encodes, runs and stores everything
learned in attributes ending in ``_``. :class:`BaseAggregator` holds the parts of the one fit
lifecycle that do not iterate: encoding, the memory guard, results in the user's frame type, empty
input, ``predict``. The iteration driver is :class:`galton.aggregator._base.IterativeAggregator`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, TypeVar

import numpy as np

from .._warnings import caller_stacklevel, warn
from ..data._repeats import RISE, warn_repeated_pairs
from ..judgments import Judgments, encode_gold
from ._deferred import DeferredResult, add_pending
from ._fit_keywords import checked_options
from ._jit import twin
from ._kernels import by_size
from ._memory import FLOAT, check_model, judgments_bytes
from ._new_data import check_scorable, new_judgments, reading
from ._params import Params, check_flags, check_random_state, drop_fitted
from ._results import Output, check_output

__all__ = ["BaseAggregator", "ConvergenceWarning", "NotFittedError", "argmax_ties_low", "tied_to_max",
           "TIE_RTOL", "FitOptions", "fit_options", "fit_options_set", "DeferredResult"]

#: ``fit`` returns the model it is called on: its own class, a subclass included, for type checkers
_Self = TypeVar("_Self", bound="BaseAggregator")


@dataclass(frozen=True)
class FitOptions:
    """Options of the fit in progress that the driver reads and no shard needs: they live in a
    context variable for the duration of the fit, never on the model (whose bound E-step travels
    to the shards)."""

    #: the fit's :class:`~galton.aggregator._checkpoint.Checkpointer`, or None
    checkpointer: Any = None
    #: gather the task posteriors here (False: written where the shards live, or computed later from the parameters)
    collect: bool = True
    #: takes the fit's ConvergenceWarning message instead of a warning (BinaryRelevance: one for all its tags)
    not_converged: Any = None
    #: the bar the iteration driver reports to instead of its own (MACE: one across its restarts)
    progress: Any = None


_FIT_OPTIONS: ContextVar[FitOptions] = ContextVar("galton_fit_options", default=FitOptions())


def fit_options() -> FitOptions:
    """The options of the fit in progress (the defaults outside a fit)."""
    return _FIT_OPTIONS.get()


@contextmanager
def fit_options_set(**changes: Any) -> Iterator[FitOptions]:
    """Within the block, the fit options with ``changes`` (restored after it, also on error)."""
    token = _FIT_OPTIONS.set(replace(_FIT_OPTIONS.get(), **changes))
    try:
        yield _FIT_OPTIONS.get()
    finally:
        _FIT_OPTIONS.reset(token)

#: values within this share of a row's largest value (at least 1) of it are tied
TIE_RTOL = 1e-9


class ConvergenceWarning(UserWarning):
    """An iterative model reached max_iter before its objective settled."""


class NotFittedError(ValueError, AttributeError):
    """A result was asked of a model that has not been fitted."""


def tied_to_max(p: np.ndarray) -> np.ndarray:
    """Boolean mask of the entries of each row tied with the row's maximum: within
    ``TIE_RTOL * max(1, |row max|)`` of it. Probabilities (max <= 1) use an absolute tolerance of
    1e-9, log-scores one relative to their size; either way far above the 1e-15 that float
    summation order leaves, far below any difference a model means. NaN entries are never tied."""
    p = np.asarray(p, dtype=np.float64)
    top = np.max(p, axis=1, keepdims=True)
    return p >= top - TIE_RTOL * np.maximum(1.0, np.abs(top))


def argmax_ties_low_numpy(p: np.ndarray) -> np.ndarray:
    """:func:`argmax_ties_low` in numpy (the reference of its numba twin)."""
    if p.shape[0] == 0:
        return np.zeros(0, dtype=np.int32)
    return np.argmax(tied_to_max(p), axis=1).astype(np.int32)


_argmax_twin = twin("argmax_ties_low", argmax_ties_low_numpy, "galton.aggregator._helpers_numba:argmax_ties_low")


def argmax_ties_low(p: np.ndarray) -> np.ndarray:
    """Row-wise argmax; ties go to the lowest label code, i.e. the smallest label value in sorted
    order. This is galton's one tie rule, used by every model and writer that picks a label: values
    within a tolerance of the row maximum (see :func:`tied_to_max`) are tied, so the choice does not
    depend on row order, the float summation order it implies, or library versions. (Compiled from
    ``SMALL`` values on: one pass instead of five numpy passes.)"""
    p = np.asarray(p)
    return by_size(_argmax_twin, p.size)(p)


class BaseAggregator(Params):
    """Common contract: fit / predict / predict_proba / fit_predict / fit_predict_proba; sklearn-style
    ``get_params`` / ``set_params`` (:class:`._params.Params`)."""

    #: set in a base class's own body: fitting it directly is a TypeError that names the models
    _base_class = True

    #: what one row of input is: "categorical" (task, worker, label), "pairwise", "choice", "rating"
    kind = "categorical"

    def __init__(self) -> None:  # pragma: no cover - subclasses define their own
        pass

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # ---------------------------------------------------------------- memory guard
    #: float arrays of n_tasks x n_labels a categorical fit holds at its peak (posteriors, the
    #: probability frame, scratch)
    _task_label_arrays = 4

    def memory_estimate(self, n_tasks: int, n_workers: int, n_labels: int,
                        n_judgments: int) -> tuple[int, str]:
        """Peak memory a fit adds for data of these sizes, in bytes, and the sizes that drive it
        in words. This default grows with the judgments and, for categorical models, with tasks x
        labels; models with larger parameters (confusion matrices) override it."""
        if self.kind != "categorical":
            return judgments_bytes(n_judgments), f"{n_judgments:,} judgments"
        tk = self._task_label_arrays * FLOAT * int(n_tasks) * int(n_labels)
        return (judgments_bytes(n_judgments) + tk,
                f"{n_tasks:,} tasks x {n_labels:,} labels (task posteriors) and {n_judgments:,} judgments")

    def _check_memory(self, data: Any) -> None:
        """Refuse, before any allocation, a fit whose :meth:`memory_estimate` passes the limit
        (:func:`galton.aggregator.memory_limit`); raises :class:`MemoryLimitError`."""
        n_tasks = getattr(data, "n_tasks", None)
        if n_tasks is None:
            n_tasks = getattr(data, "n_items", 0)
        check_model(self, int(n_tasks), int(getattr(data, "n_workers", 0)),
                    int(getattr(data, "n_labels", 2)), int(getattr(data, "n_judgments", 0)))

    # ---------------------------------------------------------------- input handling
    #: private attributes a fit leaves behind (for ``predict``); the next fit drops them
    #: (``_gold``: the gold label code of each task, -1 for none, or None; the worker report reads it;
    #: ``_crowdkit_layout_name``: the pandas layout a fit chose, :mod:`._layout`; ``_fit_settings``: below)
    _fit_private: tuple[str, ...] = ("_params", "_out", "_posterior_params", "_pending", "_gold", "_fit_duplicates",
                                     "_crowdkit_layout_name", "_fit_settings")
    #: settings that what is built after the fit reads (predict on new data, ``workers_``): the fit keeps
    #: their values in ``_fit_settings`` (:meth:`_keep_settings`; read with :func:`._params.fit_setting`), so
    #: that set_params after it changes no fitted number
    _kept_settings: tuple[str, ...] = ()

    def _keep_settings(self) -> None:
        self._fit_settings = {name: getattr(self, name) for name in self._kept_settings}

    def _refuse_base_class(self) -> None:
        """A TypeError naming the models when ``self`` is one of the base classes (``_base_class``
        set in the class's own body), not a model."""
        if type(self).__dict__.get("_base_class", False):
            from ._registry import names

            raise TypeError(f"{type(self).__name__} is a base class for writing models "
                            f"(docs/adding-a-model.md), not a model; fit one of {names()}")

    def _reset(self) -> None:
        self._refuse_base_class()  # every fit starts here
        drop_fitted(self)  # fitted state goes, so that the model object sent to shard actors stays small
        self.__dict__.pop("_workers", None)  # the worker report of the previous fit (workers_)

    #: what repeated (task, worker) rows do to this model's results, in their warning (None: nothing
    #: misleading, no warning: KOS takes them as one edge)
    _repeats_effect: str | None = RISE

    def _warn_repeats(self, judgments: Any) -> None:
        """The warning of repeated (task, worker) rows that nobody chose to keep (categorical and rating models)."""
        if getattr(self, "kind", "categorical") in ("categorical", "rating") and self._repeats_effect is not None:
            warn_repeated_pairs(judgments, self._repeats_effect)

    def _prepare(self, data: Any, gold: Any = None, *, task_col: str = "task",
                 worker_col: str = "worker", label_col: str = "label",
                 **encode_options: Any) -> tuple[Judgments, np.ndarray | None]:
        self._reset()
        judgments = Judgments.from_any(  # an option nobody takes: named in the model's words
            data, task_col=task_col, worker_col=worker_col, label_col=label_col,
            **checked_options(self, encode_options, Judgments.from_any))
        judgments = self._encoded(judgments)
        self._fit_duplicates = encode_options.get("duplicates")  # predict's default too
        if self._fit_duplicates is None:
            self._warn_repeats(judgments)
        gold_cols = {}  # a gold frame with the data's own column names (as the CLI's --task-col reads gold)
        names = getattr(gold, "column_names", None)
        names = list(getattr(gold, "columns", []) if names is None else names)
        if task_col in names and label_col in names and "task" not in names:
            gold_cols = {"task_col": task_col, "label_col": label_col}
        gold_codes = None if gold is None else encode_gold(gold, judgments, **gold_cols)
        if gold_codes is not None and not (gold_codes >= 0).any():
            warn("gold shares no task with the judgments; it is ignored", UserWarning,
                 stacklevel=caller_stacklevel())
            gold_codes = None
        return judgments, gold_codes

    def _encoded(self, judgments: Judgments) -> Judgments:
        """The judgments as encoded, before gold is: a model that adds labels of its own (GLAD's
        ``labels_priors``, whose keys are matched to the labels read) returns them widened."""
        return judgments

    def _not_converged(self, message: str) -> None:
        """Say that the fit stopped at its iteration limit, or hand it to ``FitOptions.not_converged``."""
        sink = fit_options().not_converged
        if sink is not None:
            return sink(message)
        warn(message, ConvergenceWarning, stacklevel=caller_stacklevel())

    def _store(self, judgments: Judgments, post: np.ndarray | None, output: str | None,
               codes: np.ndarray | None = None) -> None:
        """Set labels_, probas_ and the bookkeeping attributes from task posteriors (None when the
        results were written where the shards live: labels_ and probas_ are then None); ``codes``:
        each task's label when the model has chosen it already (a vote's ties), else the arg max."""
        out = Output(output or judgments.source_kind)
        out.order_by(judgments)  # Ray-ingested codes: results by id (the ids gathered when first needed)
        self._output_choice = output  # predict on new data follows it, else the new data's type
        self.judgments_ = judgments
        if post is None:
            self.posteriors_ = self.label_codes_ = self.labels_ = self.probas_ = None
            self._out = out
            return
        want = (judgments.n_tasks, judgments.n_labels)
        if np.shape(post) != want or not np.isfinite(post).all():  # an IndexError, or NaN labelled 0, silently
            what = f"an array of shape {np.shape(post)}" if np.shape(post) != want else "values that are not finite"
            raise ValueError(f"{type(self).__name__}'s task posteriors (_posteriors) gave {what}; expected a "
                             f"finite (tasks, labels) = {want} array, each row summing to 1")
        self.posteriors_ = post
        self.label_codes_ = argmax_ties_low(post) if codes is None else codes
        self.labels_ = out.labels(judgments.task_names, judgments.label_names, self.label_codes_)
        self.probas_ = out.probas(judgments.task_names, judgments.label_names, post)
        self._out = out

    def _deferred(self, name: str, build: Callable[..., Any], *args: Any) -> None:
        """Set the result ``name`` (a :class:`DeferredResult` of the model's class, which only the
        models that have the attribute declare: crowd-kit's tests read every name of ``dir(model)``)
        to ``build(*args)``: now for pandas output, on first read for polars / Arrow."""
        if self._out.kind == "pandas":
            setattr(self, name, build(*args))
        else:
            self.__dict__.pop(name, None)
            add_pending(self.__dict__, name, (build, *args))

    def _fit_lifecycle(self: _Self, judgments: Any, output: str | None, run: Callable[[Any, np.random.Generator], Any],
                       store: Callable[[Any], None], *, gold_codes: np.ndarray | None = None,
                       engine: Any = None, n_shards: int | None = None,
                       checkpoint_dir: str | os.PathLike[str] | None = None, checkpoint_every: int = 1,
                       load: bool | Callable[[Any], None] = True, empty: bool = True) -> _Self:
        """The one fit lifecycle after validation and encoding (which each family does in its own
        order, with its own errors): empty input (``empty``: results of the usual types, see
        :meth:`_fit_empty`) -> memory guard -> the random generator of the fit (seeded with
        ``random_state``) -> the engine (:meth:`_in_engine`) running ``run(engine, rng)``, one
        step for a statistic or a vote, the iteration driver for an iterative model -> closed ->
        ``store(result)`` sets the fitted attributes. Used by every model's ``fit``."""
        rng = check_random_state(getattr(self, "random_state", None))  # refused before any work, empty data too
        check_flags(self)
        check_output(output)
        self._keep_settings()
        if empty and judgments.n_judgments == 0:
            return self._fit_empty(judgments, output)
        self._check_memory(judgments)
        try:
            result = self._in_engine(judgments, gold_codes, engine, n_shards, lambda eng: run(eng, rng),
                                     checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every, load=load)
        except BaseException:  # a failed fit leaves no results, also those a run sets as it goes (MACE's restarts)
            self._reset()
            raise
        self._gold = gold_codes  # after the engine, so shipped models stay small (the worker report reads it)
        store(result)
        self._crowdkit_layout(judgments)
        return self

    def _crowdkit_layout(self, judgments: Any) -> None:
        """pandas results of a crowd-kit-named class in crowd-kit's layout (:mod:`._layout`)."""
        out = self.__dict__.get("_out")
        if out is not None and out.kind == "pandas" and hasattr(judgments, "label"):
            from ._layout import crowdkit_layout

            crowdkit_layout(self, judgments)

    def _in_engine(self, judgments: Any, gold_codes: np.ndarray | None, engine: Any, n_shards: int | None,
                   run: Callable[[Any], Any], *, checkpoint_dir: str | os.PathLike[str] | None = None,
                   checkpoint_every: int = 1, load: bool | Callable[[Any], None] = True) -> Any:
        """The engine part of the lifecycle: open the engine (the fit's ``engine`` / ``n_shards``,
        else the model's; with ``load=False`` the judgments already live in ``engine``), set up the
        checkpoints of an iterative fit (in :func:`fit_options`, which the driver reads), load the
        judgments (``load`` True; a callable ``load(engine)`` loads shards the model builds itself),
        ``run(engine)``, close an engine the fit opened; returns what ``run`` returned."""
        from ._engine import engine_in_use, open_engine

        if checkpoint_dir is not None and not hasattr(self, "_m_step"):
            raise ValueError(f"{type(self).__name__} does not iterate, so it has nothing to "
                             "checkpoint; fit it without checkpoint_dir")
        ckpt = None
        if checkpoint_dir is not None:
            from ._checkpoint import Checkpointer

            ckpt = Checkpointer(checkpoint_dir, checkpoint_every)
        eng, own = (engine, False) if load is False else open_engine(self, engine, n_shards)
        try:
            with engine_in_use(eng):
                if callable(load):  # the model builds its own shards (comparisons, choice events)
                    load(eng)
                elif load:
                    eng.load(judgments, gold_codes)
                with fit_options_set(checkpointer=ckpt, collect=True):  # a nested fit sets its own
                    return run(eng)
        finally:
            if own:
                eng.close()

    #: what a fit on an empty frame sets beside ``labels_`` and ``probas_``:
    #: attribute -> (axis, name), axis one of "worker", "task", "priors", "errors"
    _empty_attrs: dict[str, Any] = {}

    def _fit_empty(self: _Self, judgments: Judgments, output: str | None) -> _Self:
        """An empty frame (no rows, the right columns; pandas, polars or Arrow) gives empty results
        of the usual types, as crowd-kit does for pandas, instead of an error (files and the CLI
        still refuse it); ``predict(data)`` then refuses new data: there are no parameters."""
        self._store(judgments, np.zeros((0, judgments.n_labels)), output)
        out, none = self._out, np.zeros(0)
        for name, (axis, value) in self._empty_attrs.items():
            if axis == "worker":
                setattr(self, name, out.per_worker(judgments.worker_names, none, value))
            elif axis == "task":
                setattr(self, name, out.per_task(judgments.task_names, none, value))
            elif axis == "priors":
                setattr(self, name, out.priors(judgments.label_names, none))
            else:
                setattr(self, name, out.errors(judgments.worker_names, judgments.label_names,
                                               np.zeros((0, judgments.n_labels, judgments.n_labels))))
        if "n_iter" in self.get_params() or "max_iter" in self.get_params():
            self.n_iter_, self.converged_, self.history_ = 0, True, []
        self._crowdkit_layout(judgments)
        return self

    # ---------------------------------------------------------------- public API
    def fit(self: _Self, data: Any, gold: Any = None, **kwargs: Any) -> _Self:
        self._refuse_base_class()
        raise NotImplementedError(f"{type(self).__name__} defines no fit")

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(data) or fit_predict(data) first"
            )

    @property
    def workers_(self) -> Any:
        """One row per worker: judgments, tasks, skill with its 95% interval (what it covers depends
        on the model: see :mod:`galton.aggregator.worker_report`), informativeness and flags
        (constant, uninformative, adversarial, too little data); pairwise models give the
        rater reliability, rating models the bias and noise. In the fit's frame type (pandas:
        indexed by worker), sorted by worker. Computed on first access from the fitted results
        (:func:`galton.aggregator.worker_report.worker_report`, which also takes thresholds) and
        kept until the next fit."""
        cached = self.__dict__.get("_workers")
        if cached is None:
            from .worker_report import worker_report

            cached = self.__dict__["_workers"] = worker_report(self)
        return cached

    def predict(self, data: Any = None, *, on_invalid: str = "raise", duplicates: str | None = None) -> Any:
        """The aggregated label of each task: ``labels_`` when ``data`` is None, else the label of each
        task of ``data``. ``data`` is read with the fit's column names; ``on_invalid`` and ``duplicates``
        as in ``fit``, whose own ``duplicates`` is the default (None there: repeated rows kept, with the
        fit's warning).

        Wawa, ZeroBasedSkill, GoldMajorityVote and MMSR do as crowd-kit's: ``predict(data)`` replaces
        ``labels_`` and ``probas_`` (MMSR's ``scores_`` too) with those of ``data``, so a later
        ``predict()`` / ``predict_proba()`` returns ``data``'s, not the fit's. What describes the fit stays:
        ``label_codes_``, ``posteriors_``, ``judgments_``, ``skills_``, ``workers_`` and
        ``galton.results_table(model)``; refit for the fit's labels. The other models' ``predict(data)``
        changes no attribute."""
        self._check_fitted()
        if data is None:
            return self.labels_
        return self._score_new(data, on_invalid, duplicates)[0]

    def predict_proba(self, data: Any = None, *, on_invalid: str = "raise", duplicates: str | None = None) -> Any:
        """Task x label probabilities: ``probas_`` when ``data`` is None (after a Wawa, ZeroBasedSkill,
        GoldMajorityVote or MMSR ``predict(data)``, those of that data: see :meth:`predict`); ``data``
        and the options as in :meth:`predict`."""
        self._check_fitted()
        if data is None:
            return self.probas_
        return self._score_new(data, on_invalid, duplicates)[1]

    def _score_new(self, data: Any, on_invalid: str, duplicates: str | None) -> tuple[Any, ...]:
        """:meth:`_predict_new` with the call's reading options (:mod:`._new_data`)."""
        check_scorable(self, data)
        with reading(on_invalid, self.__dict__.get("_fit_duplicates") if duplicates is None else duplicates):
            return self._predict_new(data)

    def _new_judgments(self, data: Any, *, fitted_labels: bool = True) -> Judgments:
        """New judgments to score with the fitted parameters (:func:`._new_data.new_judgments`)."""
        return new_judgments(self, data, fitted_labels)

    def _new_out(self, new: Judgments) -> Output:
        """Results of new data in the frame type the fit was told (``output=``), else in the new
        data's, as a fit's are in its input's (a pandas fit answered a polars predict with pandas)."""
        return Output(self.__dict__.get("_output_choice") or new.source_kind)

    def _predict_new(self, data: Any) -> tuple[Any, Any]:
        raise NotImplementedError(
            f"{type(self).__name__} cannot score new data with fitted parameters; "
            "call fit_predict(data) to aggregate it"
        )

    def fit_predict(self, data: Any, gold: Any = None, *args: Any, **kwargs: Any) -> Any:
        """``fit`` with the same arguments (DawidSkene's third, ``initial_error``, by position too,
        as crowd-kit's ``fit_predict(data, true_labels, initial_error)``), then ``labels_``."""
        return self.fit(data, gold, *args, **kwargs).labels_

    def fit_predict_proba(self, data: Any, gold: Any = None, *args: Any, **kwargs: Any) -> Any:
        """As :meth:`fit_predict`, then ``probas_``."""
        return self.fit(data, gold, *args, **kwargs).probas_
