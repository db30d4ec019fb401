"""The estimator contract and the one EM driver every iterative model shares.

``__init__`` only stores keyword parameters; ``fit`` validates, encodes, runs and stores everything
learned in attributes ending in ``_``. Subclasses of :class:`EMAggregator` supply pure pieces:

- ``_init_state(engine, judgments, rng) -> (params, memory)`` (may run a map over the shards; the
  default calls ``_init_params(engine, judgments, rng) -> params`` and starts with no memory);
- ``_e_step(shard, params) -> stats``: additive statistics of one shard, including ``"ll"``;
- ``_m_step(stats, memory) -> (params, memory)``: needs no data. ``memory`` is everything the
  model remembers between iterations besides the parameters (optimiser state, the last accepted
  point, constants of the fit such as which (worker, label) pairs were seen): a dict of numpy arrays
  and numbers that lives with the driver, is never sent to the shards and is saved in checkpoints.
  Nothing of a fit is kept on ``self``, so the bound E-step that travels to the shards carries the
  model's hyper-parameters only (a few hundred bytes);
- ``_posteriors(shard, params) -> (n_tasks_in_shard, K)``: final task posteriors;

and ``_finish(params, posteriors)`` to turn parameters into the public attributes. Per-task latents
that live with the shard (GLAD's task difficulties) are keys of ``shard.state`` named in the class
attribute ``shard_state``; checkpoints save and restore them where the shards live. The driver owns
the loop, convergence, history, warnings, random state, the engine, checkpoints
(``fit(..., checkpoint_dir=...)``, see :mod:`galton.aggregator._checkpoint`) and the progress bar
(iteration, change of the objective, judgments per second).

Data already loaded into an engine (``RayEngine.load_parquet`` returns such an object, marked by
``is_sharded = True`` and holding its ``engine``) is fitted where it lies: no encoding, no load.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

import numpy as np

from .._progress import Progress
from ..judgments import Judgments, encode_gold
from ._engine import open_engine
from ._memory import FLOAT, check_model, judgments_bytes
from ._results import Output

__all__ = ["BaseAggregator", "EMAggregator", "ConvergenceWarning", "NotFittedError", "argmax_ties_low",
           "tied_to_max", "TIE_RTOL"]

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


def argmax_ties_low(p: np.ndarray) -> np.ndarray:
    """Row-wise argmax; ties go to the lowest label code, i.e. the smallest label value in sorted
    order. This is galton's one tie rule, used by every model and writer that picks a label: values
    within a tolerance of the row maximum (see :func:`tied_to_max`) are tied, so the choice does not
    depend on row order, the float summation order it implies, or library versions."""
    if p.shape[0] == 0:
        return np.zeros(0, dtype=np.int32)
    return np.argmax(tied_to_max(p), axis=1).astype(np.int32)


class BaseAggregator:
    """Common contract: fit / predict / predict_proba / fit_predict / fit_predict_proba."""

    #: what one row of input is: "categorical" (task, worker, label), "pairwise", "choice", "rating"
    kind = "categorical"

    def __init__(self) -> None:  # pragma: no cover - subclasses define their own
        pass

    # ---------------------------------------------------------------- sklearn-style params
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        import inspect

        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def set_params(self, **params: Any) -> "BaseAggregator":
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {k!r}; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

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
    def _reset(self) -> None:
        # fitted state goes, so that the model object sent to shard actors stays small
        for name in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, name)
        for name in ("_params", "_out"):
            self.__dict__.pop(name, None)

    def _prepare(self, data: Any, gold: Any = None, *, task_col: str = "task",
                 worker_col: str = "worker", label_col: str = "label",
                 **encode_options: Any) -> tuple[Judgments, np.ndarray | None]:
        self._reset()
        judgments = Judgments.from_any(
            data, task_col=task_col, worker_col=worker_col, label_col=label_col, **encode_options
        )
        gold_codes = None if gold is None else encode_gold(gold, judgments)
        if gold_codes is not None and not (gold_codes >= 0).any():
            warnings.warn("gold shares no task with the judgments; it is ignored", UserWarning, stacklevel=3)
            gold_codes = None
        return judgments, gold_codes

    def _store(self, judgments: Judgments, post: np.ndarray | None, output: str | None) -> None:
        """Set labels_, probas_ and the bookkeeping attributes from task posteriors (None when the
        results were written where the shards live: labels_ and probas_ are then None)."""
        out = Output(output or judgments.source_kind)
        self.judgments_ = judgments
        if post is None:
            self.posteriors_ = self.label_codes_ = self.labels_ = self.probas_ = None
            self._out = out
            return
        self.posteriors_ = post
        self.label_codes_ = argmax_ties_low(post)
        self.labels_ = out.labels(judgments.task_names, judgments.label_names, self.label_codes_)
        self.probas_ = out.probas(judgments.task_names, judgments.label_names, post)
        self._out = out

    #: what a fit on an empty pandas frame sets beside ``labels_`` and ``probas_``:
    #: attribute -> (axis, name), axis one of "worker", "task", "priors", "errors"
    _empty_attrs: dict[str, Any] = {}

    def _fit_empty(self, judgments: Judgments, output: str | None) -> "BaseAggregator":
        """An empty pandas frame (no rows, the right columns) gives empty results of the usual
        types, as crowd-kit does, instead of an error (files and the CLI still refuse it)."""
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
        return self

    # ---------------------------------------------------------------- public API
    def fit(self, data: Any, gold: Any = None, **kwargs: Any) -> "BaseAggregator":
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(data) or fit_predict(data) first"
            )

    def predict(self, data: Any = None) -> Any:
        """The aggregated label of each task (the fitted ``labels_`` when ``data`` is None)."""
        self._check_fitted()
        if data is None:
            return self.labels_
        return self._predict_new(data)[0]

    def predict_proba(self, data: Any = None) -> Any:
        """Task x label probabilities (the fitted ``probas_`` when ``data`` is None)."""
        self._check_fitted()
        if data is None:
            return self.probas_
        return self._predict_new(data)[1]

    def _predict_new(self, data: Any) -> tuple[Any, Any]:
        raise NotImplementedError(
            f"{type(self).__name__} cannot score new data with fitted parameters; "
            "call fit_predict(data) to aggregate it"
        )

    def fit_predict(self, data: Any, gold: Any = None, **kwargs: Any) -> Any:
        return self.fit(data, gold, **kwargs).labels_

    def fit_predict_proba(self, data: Any, gold: Any = None, **kwargs: Any) -> Any:
        return self.fit(data, gold, **kwargs).probas_


class EMAggregator(BaseAggregator):
    """Base of every iterative model: one loop, written once.

    Convergence: the objective (log-likelihood, or the ELBO / log-posterior for Bayesian models) is
    evaluated in every E-step; the fit stops when its change per judgment falls below ``tol``
    (``|obj_t - obj_{t-1}| / n_judgments < tol``) or after ``max_iter`` iterations, with a
    :class:`ConvergenceWarning` in the latter case. ``history_`` holds the objective per iteration.
    ``n_iter=0`` / ``max_iter=0`` returns the starting point, as crowd-kit does (``n_iter_`` 0,
    ``converged_`` False, no warning).
    """

    tol: float
    max_iter: int
    random_state: Any
    engine: Any
    n_shards: int | None
    progress: bool | None

    #: True when the objective is guaranteed never to decrease (exact EM); tests check it.
    monotone = True

    #: keys of ``shard.state`` that hold per-task latents an E-step updates (saved in checkpoints)
    shard_state: tuple[str, ...] = ()

    def _init_params(self, engine: Any, judgments: Judgments, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def _init_state(self, engine: Any, judgments: Any, rng: np.random.Generator) -> tuple[Any, dict[str, Any]]:
        """The starting parameters and the driver-side memory (see the module docstring)."""
        return self._init_params(engine, judgments, rng), {}

    def _e_step(self, shard: Any, params: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError

    def _objective(self, stats: dict[str, Any], params: Any) -> float:
        return float(stats["ll"])

    def _posteriors(self, shard: Any, params: Any) -> np.ndarray:
        raise NotImplementedError

    def _finish(self, params: Any, judgments: Judgments) -> None:
        raise NotImplementedError

    def fit(self, data: Any, gold: Any = None, *, engine: Any = None, n_shards: int | None = None,
            output: str | None = None, task_col: str = "task", worker_col: str = "worker",
            label_col: str = "label", checkpoint_dir: str | os.PathLike[str] | None = None,
            checkpoint_every: int = 1, results_dir: str | os.PathLike[str] | None = None,
            **encode_options: Any) -> "EMAggregator":
        """Fit the model.

        Parameters
        ----------
        data : frame, table, dict or path with columns task, worker, label; or judgments already
            loaded into an engine (``RayEngine.load_parquet``), which are fitted on that engine.
        gold : optional known true labels (Series by task, dict, or frame with task, label); gold
            tasks are clamped to their label during EM.
        engine : None / "local" / "ray" / an engine object; overrides the ``engine`` parameter.
        n_shards : number of task shards (default: 1 locally, the CPU count on Ray).
        output : "pandas", "polars" or "arrow"; default: the input's own frame type.
        checkpoint_dir : save the parameters there every ``checkpoint_every`` iterations (and at
            the end); a fit started again with the same directory, data and model parameters
            resumes from the last checkpoint (see :mod:`galton.aggregator._checkpoint`).
        results_dir : for data loaded with ``load_parquet``: write labels, confidence and
            probabilities as a Parquet directory there, one part file per shard written where the
            shard lives, instead of collecting them here (``labels_`` and ``probas_`` are then None
            and ``results_dir_`` holds the path).
        """
        sharded = bool(getattr(data, "is_sharded", False))
        if sharded:
            judgments, gold_codes = self._prepare_sharded(data, gold, engine, encode_options)
            eng, own = data.engine, False
        else:
            if results_dir is not None:
                raise ValueError(
                    "results_dir needs judgments loaded into the engine with RayEngine.load_parquet; "
                    "for data in memory write galton.io.results_table(model) with galton.io.write_table"
                )
            judgments, gold_codes = self._prepare(
                data, gold, task_col=task_col, worker_col=worker_col, label_col=label_col, **encode_options
            )
        self._validate_params(judgments)
        if judgments.n_judgments == 0:
            return self._fit_empty(judgments, output)  # type: ignore[return-value]
        self._check_memory(judgments)
        rng = np.random.default_rng(self.random_state)
        if not sharded:
            eng, own = open_engine(self, engine, n_shards)
        if checkpoint_dir is not None:
            from ._checkpoint import Checkpointer

            self._checkpointer = Checkpointer(checkpoint_dir, checkpoint_every)
        self._collect = results_dir is None
        try:
            if not sharded:
                eng.load(judgments, gold_codes)
            params, post = self._run(eng, judgments, rng)
            if post is None:
                self.results_dir_ = judgments.write_results(self._posteriors, params, results_dir)
        finally:
            if own:
                eng.close()
            self.__dict__.pop("_checkpointer", None)
            self.__dict__.pop("_collect", None)
        self._store(judgments, post, output)
        self._finish(params, judgments)
        return self

    def _prepare_sharded(self, data: Any, gold: Any, engine: Any,
                         encode_options: dict[str, Any]) -> tuple[Any, None]:
        """Judgments already in an engine's shards: checks only (gold went in with the data)."""
        self._reset()
        if gold is not None:
            raise ValueError("data loaded with load_parquet takes its gold there: load_parquet(..., gold=gold)")
        if encode_options:
            raise ValueError(f"data loaded with load_parquet is already encoded; {sorted(encode_options)} "
                             "belong to load_parquet")
        if engine is not None and engine is not data.engine:
            raise ValueError("this data lives in another engine; fit it without engine=")
        data.check_loaded()
        return data, None

    def _validate_params(self, judgments: Judgments) -> None:
        if not (self.tol >= 0):
            raise ValueError(f"tol must be >= 0, not {self.tol}")
        if self._iter_limit() < 0:
            raise ValueError(f"the iteration limit (n_iter / max_iter) must be >= 0, not {self._iter_limit()}")

    def _iter_limit(self) -> int:
        """The iteration limit: ``max_iter`` when set, else crowd-kit's ``n_iter``."""
        max_iter = getattr(self, "max_iter", None)
        return int(max_iter if max_iter is not None else getattr(self, "n_iter"))

    def _run(self, eng: Any, judgments: Judgments, rng: np.random.Generator) -> tuple[Any, np.ndarray | None]:
        params, memory = self._init_state(eng, judgments, rng)
        history: list[float] = []
        n = max(judgments.n_judgments, 1)
        max_iter = self._iter_limit()
        ckpt = getattr(self, "_checkpointer", None)
        converged = False
        it = start = 0  # iterations done; start: those done before a resumed checkpoint
        delta = float("inf")
        if ckpt is not None:
            saved = ckpt.start(self, eng, judgments)
            if saved is not None and saved.iteration <= max_iter:
                params, memory, history, it = saved.params, saved.memory, list(saved.history), saved.iteration
                ckpt.restore_shards(eng, saved)
                rng.bit_generator.state = saved.rng_state
                converged = saved.converged
                start = it
                if len(history) > 1:
                    delta = abs(history[-1] - history[-2]) / n
        bar = Progress(max_iter, type(self).__name__, enabled=getattr(self, "progress", None))
        t0 = time.perf_counter()
        info = ""
        while not converged and it < max_iter:
            it += 1
            stats = eng.map_sum(self._e_step, params)
            obj = self._objective(stats, params)
            history.append(obj)
            # the M-step needs no old parameters: drop them (and the statistics right after) so
            # that two sets of large arrays never coexist (confusion matrices: W x K x K each)
            params = None
            params, memory = self._m_step(stats, memory)
            stats = None
            delta = abs(history[-1] - history[-2]) / n if len(history) > 1 else float("inf")
            converged = delta < self.tol
            rate = judgments.n_judgments * (it - start) / max(time.perf_counter() - t0, 1e-9)
            info = f"objective {obj:.6g} change/judgment {delta:.2e} {rate:,.0f} judgments/s"
            bar.update(it, info)
            if ckpt is not None and (converged or it == max_iter or ckpt.due(it)):
                ckpt.save(it, history, params, rng, converged, memory=memory, engine=eng)
        bar.close(f"{info} converged" if converged else info)
        if not converged and max_iter > 0:
            warnings.warn(
                f"{type(self).__name__} did not converge in {max_iter} iterations "
                f"(last change per judgment {delta:.3g} >= tol={self.tol}); raise max_iter or tol",
                ConvergenceWarning, stacklevel=3,
            )
        self.n_iter_ = it
        self.converged_ = converged
        self.history_ = history
        # n_iter=0 (crowd-kit's way to ask for the starting point): the initial state is the result
        posteriors = self._start_posteriors if it == 0 else self._posteriors
        post = eng.gather(posteriors, params) if getattr(self, "_collect", True) else None
        return params, post

    def _start_posteriors(self, shard: Any, params: Any) -> np.ndarray:
        """Task posteriors of the starting point, the result of a fit with ``n_iter=0``; by default
        those of the initial parameters. Models that start from task posteriors (Dawid-Skene: the
        majority-vote shares) return those, as crowd-kit does."""
        return self._posteriors(shard, params)
