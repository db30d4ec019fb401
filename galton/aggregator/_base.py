"""The one iteration driver every iterative model shares, and the EM models' ``fit``.

The estimator contract (``__init__`` stores keyword parameters; ``fit`` validates, encodes, runs
and stores everything learned in attributes ending in ``_``) is :class:`BaseAggregator`
(:mod:`galton.aggregator._estimator`, re-exported here). Subclasses of :class:`IterativeAggregator`
(every EM model through :class:`EMAggregator`, and the message passing of KOS and the skill
iteration of Zero-Based Skill, which are not EM) supply pure pieces:

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

and ``_finish(params, judgments)`` to turn parameters into the public attributes; a model whose
first E-step needs no parameters (a majority-vote start) overrides ``_start_posteriors(shard, params)``,
the posteriors of iteration 0. Per-task latents
that live with the shard (GLAD's task difficulties) are keys of ``shard.state`` named in the class
attribute ``shard_state``; checkpoints save and restore them where the shards live. The driver owns
the loop, convergence, history, warnings, random state, the engine, checkpoints
(``fit(..., checkpoint_dir=...)``, see :mod:`galton.aggregator._checkpoint`) and the progress bar
(iteration, change of the objective, judgments per second).

Hooks for iterations that are not EM (all optional, defaults shown):

- ``_map_e_step(engine, params)``: ``engine.map_sum(self._e_step, params)``; a model whose shard
  statistics are not all additive (KOS's largest task sum) maps and reduces them itself;
- ``_change(history, n_judgments)``: the change that convergence compares with ``tol``,
  ``|obj_t - obj_{t-1}| / n_judgments`` (Zero-Based Skill: its residual, the objective itself);
- ``stops_on_tol = True``: False for a model without a tolerance (KOS), which runs its iterations
  with no convergence test and no :class:`ConvergenceWarning` (``converged_`` stays False);
- ``memory["stop"]``: set by an M-step that refuses its iteration (KOS's overflow guard): the loop
  ends, that iteration is not counted (its objective leaves ``history_``) and the parameters the
  M-step returned are the result; a checkpoint keeps the flag, so a resumed fit stops there too;
- ``stops_after_m_step = False``: True tests convergence after the M-step on a value of the
  statistics and both parameter sets, ``_stop_value(stats, old_params, new_params, n_judgments)``
  (Dawid-Skene: crowd-kit's ELBO per judgment at the new parameters), stopping when it rises by less
  than ``tol`` (signed, as crowd-kit: ``tol=0`` stops when it stops rising, ``tol < 0`` when it falls
  by more than ``-tol``, and only ``tol=-inf`` runs every iteration; no ConvergenceWarning for ``tol < 0``);
  the values are kept in ``memory`` (and so in checkpoints) and become ``loss_history_``
  (crowd-kit's name for the values its models stop on);
- ``memory["untested"]``: the M-step's word that its iteration's change tests nothing (SQUAREM's trial);
- ``_progress_info(obj, delta)``: the progress bar's text; ``change_name``: what the
  ConvergenceWarning calls the change;
- ``posteriors_of_last_e_step = False``: True reports the posteriors of the last E-step (the
  parameters before the last M-step, crowd-kit's ``probas_``) instead of one more E-step with the
  final parameters; those parameters are kept in the last iteration only (and in its checkpoint),
  and ``_keeping_posteriors(params)`` may mark them so that the last E-step keeps its posteriors in
  the shards for ``_posteriors`` (Dawid-Skene: no results pass when ``n_iter`` is reached).

Data already loaded into an engine (``RayEngine.load_parquet`` returns such an object, marked by
a :class:`~galton.aggregator._engine.LoadedData` holding its ``engine``) is fitted where it lies:
no encoding, no load.
"""

from __future__ import annotations

import os
import time
from typing import Any, TypeVar

import numpy as np

from .._progress import Progress
from .._warnings import caller_stacklevel
from ..io._write import check_replaceable
from ..judgments import Judgments
from ._checkpoint_check import E_PARAMS as _E_PARAMS  # the memory key of the last E-step's parameters
from ._checkpoint_check import STOP_VALUES as _STOP_VALUES  # of the values of _stop_value, one per iteration
from ._engine import LoadedData
from ._estimator import (TIE_RTOL, BaseAggregator, ConvergenceWarning, DeferredResult, NotFittedError, argmax_ties_low,
                         fit_options, fit_options_set, tied_to_max)
from ._params import iter_limit_name, missing_hook

__all__ = ["BaseAggregator", "IterativeAggregator", "EMAggregator", "ConvergenceWarning", "NotFittedError",
           "caller_stacklevel", "argmax_ties_low", "tied_to_max", "TIE_RTOL", "DeferredResult"]
_Self = TypeVar("_Self", bound="EMAggregator")  # fit returns the model it is called on (its class, for type checkers)
_Iterative = TypeVar("_Iterative", bound="IterativeAggregator")  # spec: a model of the class it is called on


class IterativeAggregator(BaseAggregator):
    """Base of every iterative model: one loop, written once (``_run``; pieces and hooks: the module docstring).

    Convergence: the objective (log-likelihood, or the ELBO / log-posterior for Bayesian models) is
    evaluated in every E-step; the fit stops when its change per judgment falls below ``tol``
    (``|obj_t - obj_{t-1}| / n_judgments < tol``) or after ``max_iter`` iterations, with a
    :class:`ConvergenceWarning` in the latter case. ``tol < 0`` (crowd-kit's ``tol=-inf``) runs every
    iteration, with no warning (``tol=0`` runs them too, and warns unless the last change is exactly
    0: a fixed point, ``converged_`` True). ``history_`` holds the objective per iteration.
    ``n_iter=0`` / ``max_iter=0`` returns the starting point, as crowd-kit does (``n_iter_`` 0,
    ``converged_`` False, no warning).
    """

    _base_class = True

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

    #: False for a model without a tolerance: no convergence test, no ConvergenceWarning
    stops_on_tol = True

    #: what the ConvergenceWarning calls the change of :meth:`_change`
    change_name = "change per judgment"

    #: True: convergence is tested after the M-step on :meth:`_stop_value` (see the module docstring)
    stops_after_m_step = False

    #: True: the fit's posteriors are those of its last E-step (the parameters before the last
    #: M-step), as crowd-kit's EM models report ``probas_`` beside the ``errors_`` of the M-step
    #: that follows; False: one more E-step with the final parameters (``probas_`` then equals
    #: ``predict_proba`` of the training data). The two differ only in a fit that stopped before
    #: converging (``n_iter`` reached).
    posteriors_of_last_e_step = False

    def _init_params(self, engine: Any, judgments: Judgments, rng: np.random.Generator) -> Any:
        raise missing_hook(self, "_init_params (or _init_state)")

    def _init_state(self, engine: Any, judgments: Any, rng: np.random.Generator) -> tuple[Any, dict[str, Any]]:
        """The starting parameters and the driver-side memory (see the module docstring)."""
        return self._init_params(engine, judgments, rng), {}

    def _e_step(self, shard: Any, params: Any) -> dict[str, Any]:
        raise missing_hook(self, "_e_step")

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        raise missing_hook(self, "_m_step")

    def _objective(self, stats: dict[str, Any], params: Any) -> float:
        return float(stats["ll"])

    def _posteriors(self, shard: Any, params: Any) -> np.ndarray:
        raise missing_hook(self, "_posteriors")

    def _finish(self, params: Any, judgments: Judgments) -> None:
        raise missing_hook(self, "_finish")

    def _keeping_posteriors(self, params: Any) -> Any:
        """The parameters for an E-step known to be the fit's last (``posteriors_of_last_e_step``):
        a model whose E-step can keep its posteriors in the shards, for :meth:`_posteriors` to
        return without a further pass, marks them here; by default they are unchanged."""
        return params

    def _results_params(self, engine: Any, params: Any, judgments: Judgments) -> Any:
        """The parameters the results are computed with, from those of the fit: by default the same;
        a model may add what only its posteriors need (``bds``: the calibration temperature, one
        more pass over the shards). Deterministic, so a resumed fit gives the same results."""
        return params

    def _map_e_step(self, engine: Any, params: Any) -> dict[str, Any]:
        """The E-step over every shard, its statistics added in shard order."""
        return engine.map_sum(self._e_step, params)

    def _change(self, history: list[float], n: int) -> float:
        """The change that convergence compares with ``tol``: of the objective, per judgment."""
        return abs(history[-1] - history[-2]) / n if len(history) > 1 else float("inf")

    def _stop_value(self, stats: dict[str, Any], old: Any, new: Any, n: int) -> float:
        """The value whose rise convergence compares with ``tol`` when ``stops_after_m_step``:
        from the E-step's statistics, the parameters it ran with and those the M-step made of it."""
        raise NotImplementedError

    def _delta(self, history: list[float], memory: dict[str, Any], n: int) -> float:
        """The change convergence tests: of the objective (:meth:`_change`), or, after the M-step,
        the signed rise of the last :meth:`_stop_value` (inf before there are two)."""
        if not self.stops_after_m_step:
            return self._change(history, n)
        values = memory.get(_STOP_VALUES, ())
        return float(values[-1] - values[-2]) if len(values) > 1 else float("inf")

    def _first_stop(self, history: list[float], memory: dict[str, Any], n: int) -> int | None:
        """The first iteration of a saved fit at which this fit's stopping rule stops: 0 for none,
        None when the checkpoint lacks what the rule reads (it kept another rule's values)."""
        values = memory.get(_STOP_VALUES, ())
        if self.stops_after_m_step and self.stops_on_tol and self.tol > -np.inf and len(values) < len(history):
            return None
        for j in range(1, len(history) + 1):
            if self.stops_after_m_step:
                delta = float(values[j - 1] - values[j - 2]) if 1 < j <= len(values) else float("inf")
            else:
                delta = self._change(history[:j], n)
            if self._converged(delta):
                return j
        return 0

    def _converged(self, delta: float) -> bool:
        # the signed rise after the M-step: crowd-kit's ``new_loss - loss < tol``, so tol=0 stops when
        # the value stops rising, tol < 0 when it falls by more than |tol|, and only -inf never stops;
        # otherwise a change is >= 0: tol <= 0 runs every iteration
        return self.stops_on_tol and delta < self.tol

    def _progress_info(self, obj: float, delta: float) -> str:
        return f"objective {obj:.6g} change/judgment {delta:.2e}"

    def _iter_limit(self) -> int:
        """The iteration limit: ``max_iter`` when set, else crowd-kit's ``n_iter``."""
        return int(self._given_iter_limit())

    def _iter_limit_name(self) -> str:
        """The parameter that sets the iteration limit: ``max_iter`` when set, else ``n_iter``."""
        return iter_limit_name(self)  # both set to different values: refused

    def _given_iter_limit(self) -> Any:
        """The iteration limit as the user gave it (validation checks its type)."""
        return getattr(self, self._iter_limit_name(), None)

    def _run(self, eng: Any, judgments: Judgments, rng: np.random.Generator) -> tuple[Any, np.ndarray | None]:
        params, memory = self._init_state(eng, judgments, rng)
        history: list[float] = []
        n = max(judgments.n_judgments, 1)
        max_iter = self._iter_limit()
        ckpt = fit_options().checkpointer
        converged = stopped = False
        it = start = 0  # iterations done; start: those done before a resumed checkpoint
        delta = float("inf")
        e_params = None  # the parameters of the last E-step (see posteriors_of_last_e_step)
        if ckpt is not None:
            # checked against this start: keys, shapes, the constants, the driver's keys (a log, the parameters)
            saved = ckpt.start(self, eng, judgments, (params, {**memory, _E_PARAMS: params, _STOP_VALUES: np.empty(0)},
                                                      rng))
            # another stopping rule's checkpoint only where this rule runs through it (a fit that
            # converged under tol=1e-3 was taken up as finished by the default tol: 40 labels off)
            ok = saved is not None and saved.iteration <= max_iter  # a smaller limit: start over
            stop = self._first_stop(list(saved.history), saved.memory, n) if ok else None
            if stop is None or (stop and (stop < saved.iteration or not saved.converged)):
                saved = None
            if saved is not None:
                params, memory, history, it = saved.params, saved.memory, list(saved.history), saved.iteration
                e_params = memory.pop(_E_PARAMS, None)
                ckpt.restore_shards(eng, saved)
                rng.bit_generator.state = saved.rng_state
                converged, stopped = stop == saved.iteration, bool(memory.get("stop", False))
                start = it
                if history:
                    delta = self._delta(history, memory, n)
            # the iteration this fit took up (0: a fresh start); of several EM runs (MACE) the furthest
            self.resumed_from_ = start if ckpt.runs <= 1 else max(start, int(getattr(self, "resumed_from_", 0) or 0))
        enabled = getattr(self, "progress", None)
        if enabled is None and getattr(self, "verbose", 0) > 0:  # crowd-kit's verbose (MACE)
            enabled = True
        bar = fit_options().progress or Progress(max_iter, type(self).__name__, enabled=enabled)
        t0 = time.perf_counter()
        info = ""
        late = self.stops_after_m_step
        while not (converged or stopped) and it < max_iter:
            it += 1
            e_in = params
            if late:
                e_params = None  # this iteration's E-step parameters replace them
            if self.posteriors_of_last_e_step and it == max_iter and fit_options().collect:
                e_in = self._keeping_posteriors(params)  # the last E-step: no results pass after it
            stats = self._map_e_step(eng, e_in)
            obj = self._objective(stats, params)
            history.append(obj)
            change = self._change(history, n)
            final = it == max_iter or late or self._converged(change)
            # the M-step needs no old parameters: drop them (and the statistics right after) so
            # that two sets of large arrays never coexist (confusion matrices: W x K x K each),
            # except in the last iteration of a fit that reports the posteriors of its last E-step
            # (and in every iteration of one that stops after the M-step)
            used = e_in if (self.posteriors_of_last_e_step or late) and final else None
            params = e_in = None
            params, memory = self._m_step(stats, memory)
            if late and not memory.get("stop", False):
                value = self._stop_value(stats, used, params, n)
                memory = {**memory, _STOP_VALUES: np.append(memory.get(_STOP_VALUES, np.empty(0)), value)}
                change = self._delta(history, memory, n)
                used = used if self.posteriors_of_last_e_step else None
            stats = None
            if memory.get("stop", False):  # the M-step refused this iteration: it does not count
                stopped = True
                it -= 1
                history.pop()
                e_params = None  # the results: the final parameters' posteriors
            else:
                e_params = used if used is not None else e_params
                delta = change
                converged = self._converged(delta) and not memory.get("untested", False)
            rate = judgments.n_judgments * (it - start) / max(time.perf_counter() - t0, 1e-9)
            info = f"{self._progress_info(obj, delta)} {rate:,.0f} judgments/s"
            bar.update(it, info)
            ending = converged or stopped or it == max_iter
            if ckpt is not None and (ending or ckpt.due(it)):
                kept = memory if e_params is None or not ending else {**memory, _E_PARAMS: e_params}
                ckpt.save(it, history, params, rng, converged, memory=kept, engine=eng)
        # no warning for tol < 0 (crowd-kit's tol=-inf; under the signed rule a stop on a fall only)
        tested = self.stops_on_tol and self.tol >= 0
        converged = converged or (tested and not stopped and delta == 0)  # tol=0 at a fixed point: converged
        bar.close(f"{info} converged" if converged else info)
        if tested and not (converged or stopped) and max_iter > 0:
            last = (f"last {self.change_name} {delta:.3g} >= tol={self.tol}" if np.isfinite(delta)
                    else f"one iteration gives no {self.change_name} to test")  # was "inf >= tol"
            self._not_converged(f"{type(self).__name__} did not converge in {max_iter} iteration"
                                f"{'s' * (max_iter != 1)} ({last}); raise {self._iter_limit_name()} or tol")
        # n_iter=0 (crowd-kit's way to ask for the starting point): the initial state is the result
        posteriors = self._start_posteriors if it == 0 else self._posteriors
        last = e_params if e_params is not None and it > 0 else params
        if it > 0:  # what only the results use (a calibration pass): after the loop, never checkpointed
            tuned = self._results_params(eng, last, judgments)
            params = tuned if last is params else params
            last = tuned
        post = None
        if fit_options().collect:
            post = eng.gather(posteriors, last)
        elif last is not params:
            self._posterior_params = last  # for the results written from the shards; taken there
        # set after the last map: the model a bound shard function ships carries no history
        self.n_iter_ = it
        self.converged_ = converged
        self.history_ = history
        if late:
            self.loss_history_ = [float(v) for v in memory.get(_STOP_VALUES, ())]
        return params, post

    # ---------------------------------------------------------------- the spec, in public
    @property
    def params_(self) -> Any:
        """The fitted parameters: what the last M-step returned, the argument of :meth:`e_step`;
        ``None`` after a fit on no judgments (an AttributeError there would break code that reads
        every attribute of a fitted model, as crowd-kit's tests do)."""
        self._check_fitted()
        return self.__dict__.get("_params")

    def spec(self: _Iterative) -> _Iterative:
        """A new, unfitted model with the same hyper-parameters: all a shard needs to run the
        E-step (its bound :meth:`e_step` pickles to a few hundred bytes, a fitted model's to the
        size of its results)."""
        return type(self)(**self.get_params())

    def e_step(self, shard: Any, params: Any) -> dict[str, Any]:
        """One E-step on one shard: the additive statistics the engine sums (benchmarks time it)."""
        return self._e_step(shard, params)

    def _start_posteriors(self, shard: Any, params: Any) -> np.ndarray:
        """Task posteriors of the starting point, the result of a fit with ``n_iter=0``; by default
        those of the initial parameters. Models that start from task posteriors (Dawid-Skene: the
        majority-vote shares) return those, as crowd-kit does."""
        return self._posteriors(shard, params)


class EMAggregator(IterativeAggregator):
    """Base of the EM models: the one driver (:class:`IterativeAggregator`) with the fit that
    takes gold, data already loaded into an engine (``RayEngine.load_parquet``), ``results_dir``
    and checkpoints."""

    _base_class = True

    def fit(self: _Self, data: Any, gold: Any = None, *, engine: Any = None, n_shards: int | None = None,
            output: str | None = None, task_col: str = "task", worker_col: str = "worker",
            label_col: str = "label", checkpoint_dir: str | os.PathLike[str] | None = None,
            checkpoint_every: int = 1, results_dir: str | os.PathLike[str] | None = None,
            results_top: int | None = None, **encode_options: Any) -> _Self:
        """Fit the model.

        Parameters
        ----------
        data : frame, table, dict or path with columns task, worker, label; or judgments already
            loaded into an engine (``RayEngine.load_parquet``), which are fitted on that engine.
        gold : optional known true labels (Series by task, dict, or frame with task, label); gold
            tasks are clamped to their label during EM.
        engine : None / "local" / "ray" / an engine object (one fit at a time); overrides ``engine``.
        n_shards : task shards (default: 1 locally, the CPU count on Ray; an engine object's own; at most one a task).
        output : "pandas", "polars" or "arrow"; default: the input's own frame type.
        checkpoint_dir : save the parameters there every ``checkpoint_every`` iterations (and at
            the end); a fit started again with the same directory, data and model parameters
            resumes from the last checkpoint (see :mod:`galton.aggregator._checkpoint`);
            ``resumed_from_`` is then the iteration it took up (0: a fresh start).
        results_dir : for data loaded with ``load_parquet``: write labels, confidence and
            probabilities as a Parquet directory there, one part file per shard written where the
            shard lives, instead of collecting them here (``labels_`` and ``probas_`` are then None
            and ``results_dir_`` holds the path).
        results_top : with ``results_dir``: the ``results_top`` most probable labels of each task and their
            probabilities instead of every label's (``top`` of :func:`galton.io.results_table`).
        """
        self._reset()  # the previous fit's results go first, also when this fit is refused
        sharded = isinstance(data, LoadedData)
        if results_top is not None:
            from ..io import check_top

            check_top(results_top)
        if sharded:
            if results_dir is not None:  # before the fit, not at the write after it
                check_replaceable(results_dir, "results")
            judgments, gold_codes = self._prepare_sharded(data, gold, engine, encode_options)
            engine = data.engine
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

        def run(eng: Any, rng: np.random.Generator) -> tuple[Any, np.ndarray | None]:
            with fit_options_set(collect=results_dir is None):
                params, post = self._run(eng, judgments, rng)
            if post is None:
                last = self.__dict__.pop("_posterior_params", params)  # off the model before it ships
                self.results_dir_ = judgments.write_results(self._posteriors, last, results_dir, results_top)
            return params, post

        def store(result: tuple[Any, np.ndarray | None]) -> None:
            self._store(judgments, result[1], output)
            self._params = result[0]
            self._finish(result[0], judgments)

        return self._fit_lifecycle(
            judgments, output, run, store, gold_codes=gold_codes, engine=engine, n_shards=n_shards,
            checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every, load=not sharded)

    def _prepare_sharded(self, data: Any, gold: Any, engine: Any, encode_options: dict[str, Any]) -> tuple[Any, None]:
        """Judgments already in an engine's shards: checks only (gold went in with the data; fit reset)."""
        if gold is not None:
            raise ValueError("data loaded with load_parquet takes its gold there: load_parquet(..., gold=gold)")
        if encode_options:
            raise ValueError(f"data loaded with load_parquet is already encoded; {sorted(encode_options)} "
                             "belong to load_parquet")
        if engine is not None and engine is not data.engine:
            raise ValueError("this data lives in another engine; fit it without engine=")
        data.check_loaded()
        self._warn_repeats(data)  # counted by the shards at the load, which took no duplicates=
        return data, None

    def _validate_params(self, judgments: Judgments) -> None:
        limit = self._given_iter_limit()
        if isinstance(self.tol, bool) or not isinstance(self.tol, (int, float, np.number)):
            raise TypeError(f"tol must be a number, not {self.tol!r}")
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)):
            raise TypeError(f"the iteration limit (n_iter / max_iter) must be an integer, not {limit!r}")
        if self.tol != self.tol:  # tol <= 0 (crowd-kit's tol=-inf too) runs every iteration
            raise TypeError(f"tol must be a number, not {self.tol!r}")
        if self._iter_limit() < 0:
            raise ValueError(f"the iteration limit (n_iter / max_iter) must be >= 0, not {self._iter_limit()}")
