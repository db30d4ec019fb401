"""Crowd-versus-expert studies: how many crowd judgments per task equal one expert?

A *study* (a TOML file, see ``galton/benchmarks/studies/``) names real datasets and/or a grid of
simulated crowds, the models, the grid of ``k`` (judgments per task) and the number of
repetitions. :func:`run_study` runs it and returns tables; :mod:`galton.benchmarks.report` writes
them with plots and an ``index.html``. ``galton bench`` on the command line does both.

What is computed (the estimators are in :mod:`galton.benchmarks.estimators`):

- **Crowd curve**: for each source, ``k`` and repetition ``r``, ``min(k, n_t)`` non-expert
  judgments per task are drawn (neither designated experts nor the best annotators chosen for the
  comparison are in the crowd; ``n_t`` counts the crowd's judgments) (tasks with fewer than ``k`` use all they have with
  ``short_tasks = "all"``, the default, and ``n_tasks_full`` counts the tasks that had ``k``; with
  ``"exclude"`` they are not scored at that ``k``), each model aggregates them (all tasks, gold is
  never shown to a model) and the aggregated labels are scored on the gold tasks. Accuracy with a
  two-way bootstrap interval over tasks and repetitions, never narrower than the Wilson interval on
  the scored tasks (a score without an error is not a point). ``k`` runs over the study's grid up to
  ``k_max`` (default: the median number of judgments of a gold task); a k of the grid above it
  is run at ``k_max``.
- **Experts**: designated experts scored leave-one-out against the other experts' majority (the
  crowd against the same reference) when gold is their own majority, else against gold, and their
  mean (per task, the experts scored there), best annotators chosen on one half of the gold tasks and
  scored on the other (their judgments left out of the crowd on every task), simulated experts of
  known accuracy; the post-hoc best annotator is listed for comparison only.
- **Crowd-equivalent** of every expert, per model: the smallest ``k`` at which the crowd's
  accuracy on the expert's own tasks and reference reaches the expert's, with an interval.

Seeds (all from ``numpy.random.SeedSequence``, so a study repeats exactly, on any engine):
judgments kept at ``(source, k, r)``: ``[seed, 1, crc32(source), k, r]`` (its second spawned
child seeds the models' ``random_state``, which also breaks majority-vote ties); split halves:
``[seed, 2, crc32(source)]``; bootstrap of comparison ``c``: ``[seed, 3, crc32(source), c]``;
leave-one-out random ties: ``[seed, 4, crc32(source)]``; simulated expert answers:
``[simulation seed, 5]``. Every simulated grid point uses the same simulation seed and the same
``crc32("simulation")``, so the points differ only by their parameters (common random numbers).

A file with ``[study] kind = "preference"`` is a preference study instead (crowd rankings against
one expert ranker, Kendall tau; :mod:`galton.benchmarks.study_prefs`): :func:`load_study` reads it
and :func:`run_study` runs it through the same jobs, engines and estimators.

Work is cut into one job per (source, k); jobs run in this process (``engine="local"``) or as Ray
tasks (``engine="ray"``, a local instance unless ``address``/``RAY_ADDRESS`` names a cluster), with
identical results: numba runs single-threaded inside a job so float sums do not depend on the
machine's thread count. (Ray is used through :mod:`galton.workers.tasks` only, so studies run
without Ray with ``engine="local"``.) The runner both study kinds share, with the study files and
the result, is :mod:`galton.benchmarks.runner`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
import collections
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence, Union

import numpy as np

from . import estimators as est
from .kinds import kind_of, study_kind
from .runner import (ENGINES, STUDIES_DIR, StudyResult, check_engine, model_kwargs, one_thread, read_toml, run_jobs,
                     study_path, toml_lib, toml_value, versions)
from ._sources import TAGS, Source, grid_points, prepare_dataset, prepare_simulation, prepare_sources, simulation_config
from ._study_check import apply_checked, check_categorical, check_tables

if TYPE_CHECKING:  # pragma: no cover
    from .study_prefs import PrefStudy

__all__ = ["Study", "Source", "StudyResult", "load_study", "parse_study", "study_path", "resolve_models", "grid_points",
           "prepare_dataset", "prepare_simulation", "prepare_sources", "run_job", "run_study", "versions",
           "parse_k", "with_options", "read_toml", "STUDIES_DIR", "TAGS", "ENGINES", "model_kwargs",
           "toml_lib", "toml_value", "categorical_options", "run_categorical", "check_engine", "one_thread",
           "run_jobs"]

_SHORT = ("all", "exclude")
_TIES = ("random", "low")
_SIM_KEYS = ("seed", "k")  # [simulation] keys that are not CrowdConfig fields


# --------------------------------------------------------------------------------------------------
# study files
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Study:
    """A study: what to run. Field names are the keys of the ``[study]`` table of a study file.

    Parameters
    ----------
    name, description : str
    seed : int
        Seed of every random stream (see the module docstring).
    repeats : int
        Repetitions ``R`` of the draw of ``k`` judgments per task.
    bootstrap : int
        Bootstrap replicates ``B``.
    confidence : float
        Level of the intervals.
    models : tuple of str
        Registered categorical models (``"default"``: galton's default model); one name alone is a
        list of one, as for ``datasets`` and ``k`` (values of the wrong type are refused by key when
        the study is read: :mod:`galton.benchmarks._study_check`).
    k : tuple of int
        Grid of judgments per task; per source each k is capped at `k_max` (so `k_max` joins the
        grid when some k reaches it).
    k_max : "median", "max" or int
        Largest k per source: the median number of judgments of its gold tasks (default: beyond
        it most tasks have nothing more to give), the largest number a gold task has, or a number.
    tie_break : {"random", "low"}
        Majority-vote ties (every model that takes ``tie_break``): a uniformly random tied label,
        seeded per (source, k, repetition), as Snow et al. (2008); or the lowest label code.
    loo_ties : {"split", "random", "low"}
        Ties of the leave-one-out expert majority (:func:`~galton.benchmarks.estimators.leave_one_out`).
    short_tasks : {"all", "exclude"}
        Tasks with fewer than ``k`` judgments: use all they have, or do not score them at ``k``.
    best_annotators, min_tasks : int
        How many annotators to choose on one half of the gold tasks (0: none) and how many tasks
        of that half each must have judged (real datasets; a simulation has its simulated expert).
        The chosen annotators' judgments are left out of the crowd (every curve of the source).
    engine : {"ray", "local"}
    datasets : tuple of str
        Dataset names (``[datasets] names``): bundled, shared (``shared:NAME`` forces the shared
        folder), ``"bundled"`` (every bundled categorical set) or ``"all"`` (with the shared ones).
    simulation : dict
        ``[simulation]``: fixed :class:`~galton.datasets.simulate.CrowdConfig` fields, ``seed`` (of
        every grid point; default: the study's) and ``k`` (the simulations' own k grid; default:
        the study's; ``galton bench --k`` replaces both).
    grid : dict of lists
        ``[simulation.grid]``: CrowdConfig fields and their values; every combination is one source.
    text : str
        The study file's text, kept for the report.
    """

    name: str = "study"
    description: str = ""
    seed: int = 0
    repeats: int = 10
    bootstrap: int = 1000
    confidence: float = 0.95
    models: tuple[str, ...] = ("mv", "ds", "default")
    k: tuple[int, ...] = (1, 2, 3, 5, 7, 10)
    k_max: str | int = "median"
    tie_break: str = "random"
    loo_ties: str = "split"
    short_tasks: str = "all"
    best_annotators: int = 3
    min_tasks: int = 20
    engine: str = "ray"
    datasets: tuple[str, ...] = ()
    simulation: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    text: str = ""

    def __post_init__(self) -> None:
        apply_checked(self, check_categorical)  # the types first, by key (repeats = 2.5, k = [1.5, 3])
        object.__setattr__(self, "grid", {str(a): tuple(v) for a, v in self.grid.items()})
        checks = [(self.tie_break in _TIES, f"tie_break must be one of {_TIES}"),
                  (self.loo_ties in est.LOO_TIES, f"loo_ties must be one of {est.LOO_TIES}"),
                  (self.short_tasks in _SHORT, f"short_tasks must be one of {_SHORT}"),
                  (self.engine in ENGINES, f"engine must be one of {ENGINES}"),
                  (bool(self.datasets or self.simulation or self.grid),
                   "the study names no [datasets] and no [simulation]; add one of them"),
                  (all(len(v) for v in self.grid.values()), "every [simulation.grid] entry needs a value")]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"study {self.name!r}: {msg}")
        if self.simulation or self.grid:  # every simulated crowd's settings, before anything is simulated
            for point in grid_points(self) or [{}]:
                try:
                    simulation_config(self, point)
                except ValueError as exc:
                    where = f"[simulation.grid] point {point}" if point else "[simulation]"
                    text = re.sub(r"\b(\w+)=(?!=)", r"\1 = ", str(exc))  # as the file writes it: n_workers = '10'
                    raise ValueError(f"study {self.name!r}: {where}: {text}") from None

    # ------------------------------------------------------------------ (de)serialisation
    @classmethod
    def from_dict(cls, data: dict[str, Any], text: str = "") -> Study:
        """A study from the parsed study file (tables ``study``, ``datasets``, ``simulation``)."""
        check_tables(data, ("study", "datasets", "simulation"), "the study file",
                     "[study], [datasets], [simulation] and [simulation.grid]")
        own = dict(data.get("study", {}))
        if own.pop("kind", "categorical") != "categorical":
            raise ValueError("this study file is not a categorical study; read it with load_study or "
                             "parse_study")
        names = {f.name for f in dataclasses.fields(cls)} - {"datasets", "simulation", "grid", "text"}
        bad = sorted(set(own) - names)
        if bad:
            raise ValueError(f"unknown [study] key(s) {bad}; valid: {sorted(names)}")
        ds = data.get("datasets", {})
        if set(ds) - {"names"}:
            raise ValueError("[datasets] takes one key, names = [...]")
        sim = dict(data.get("simulation", {}))
        grid = sim.pop("grid", {})
        if sim or grid:
            _check_crowd_fields([*(a for a in sim if a not in _SIM_KEYS), *grid])
        grid = {a: (v if isinstance(v, list) else [v]) for a, v in grid.items()}
        return cls(**own, datasets=ds.get("names", ()), simulation=sim, grid=grid, text=text)

    @classmethod
    def from_toml(cls, text: str) -> Study:
        return cls.from_dict(toml_lib().loads(text), text)

    def to_toml(self) -> str:
        """The study as a study file."""
        lines = ["[study]"]
        for f in dataclasses.fields(self):
            if f.name not in ("datasets", "simulation", "grid", "text"):
                lines.append(f"{f.name} = {toml_value(getattr(self, f.name))}")
        if self.datasets:
            lines += ["", "[datasets]", f"names = {toml_value(self.datasets)}"]
        if self.simulation or self.grid:
            lines += ["", "[simulation]"] + [f"{a} = {toml_value(v)}" for a, v in self.simulation.items()]
        if self.grid:
            lines += ["", "[simulation.grid]"] + [f"{a} = {toml_value(v)}" for a, v in self.grid.items()]
        return "\n".join(lines) + "\n"

    def replace(self, **changes: Any) -> Study:
        """A copy with some fields changed (the study text is regenerated)."""
        new = dataclasses.replace(self, **changes, text="")
        return dataclasses.replace(new, text=new.to_toml())


AnyStudy = Union[Study, "PrefStudy"]


def parse_k(text: str) -> tuple[int, ...]:
    """A k grid from text: ``"1,2,3,5,10"``, ``"1-10"`` or a mix (``"1-5,10,20"``)."""
    out: set[int] = set()
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        try:
            lo, _, hi = part.partition("-")
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"cannot read the k grid {text!r}; write it like 1,2,3,5,10 or 1-10") from None
        if a < 1 or b < a:
            raise ValueError(f"k range {part!r} must be 1 <= low <= high")
        out.update(range(a, b + 1))
    if not out:
        raise ValueError(f"the k grid {text!r} is empty")
    return tuple(sorted(out))


def with_options(study: AnyStudy, *, datasets: Sequence[str] | None = None, only_datasets: bool = False,
                 **changes: Any) -> AnyStudy:
    """The study with command-line options applied (None: keep the study's value), by the
    ``options`` hook of its kind (:mod:`galton.benchmarks.kinds`).

    ``datasets`` replaces the study's datasets; with ``only_datasets`` the simulation is dropped
    too (``galton bench --datasets ...`` without a study file runs just those datasets). ``k``
    replaces the study's grid and the ``[simulation]`` one alike. A preference study takes
    ``models``, ``k``, ``seed``, ``repeats``, ``bootstrap`` (and ``engine``).
    """
    hook = study_kind(kind_of(study)).hook("options")
    return hook(study, datasets=datasets, only_datasets=only_datasets, **changes)  # type: ignore[no-any-return]


def categorical_options(study: Study, *, datasets: Sequence[str] | None = None, only_datasets: bool = False,
                        **changes: Any) -> Study:
    """:func:`with_options` for a categorical study."""
    kw = {a: v for a, v in changes.items() if v is not None}
    if "k" in kw and "k" in study.simulation:  # the command line wins: --k was ignored for simulations
        kw["simulation"] = {a: v for a, v in study.simulation.items() if a != "k"}
    if datasets is not None:
        kw["datasets"] = tuple(datasets)
        if only_datasets:
            kw.update(simulation={}, grid={}, name="datasets", description="")
    return study.replace(**kw) if kw else study


def _check_crowd_fields(names: Sequence[str]) -> None:
    from ..datasets.simulate import CrowdConfig

    valid = {f.name for f in dataclasses.fields(CrowdConfig)}
    bad = sorted(set(names) - valid)
    if bad:
        raise ValueError(f"unknown [simulation] key(s) {bad}; valid: CrowdConfig fields {sorted(valid)}")


def parse_study(data: dict[str, Any], text: str = "") -> AnyStudy:
    """A study from a parsed study file, by the ``parse`` hook of its ``[study] kind``
    (:mod:`galton.benchmarks.kinds`): "categorical" (the default) gives a :class:`Study`,
    "preference" a :class:`~galton.benchmarks.study_prefs.PrefStudy`."""
    head = data.get("study", {})
    kind = head.get("kind", "categorical") if isinstance(head, dict) else "categorical"
    return study_kind(kind).hook("parse")(data, text)  # type: ignore[no-any-return]


def load_study(name: str | os.PathLike[str] | None = None) -> AnyStudy:
    """Read a study file (see :func:`study_path`); its ``[study] kind`` picks the study class."""
    path = study_path(name)
    data, text = read_toml(path)
    try:
        return parse_study(data, text)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def resolve_models(names: Sequence[str]) -> list[str]:
    """Canonical names of categorical models; ``"default"`` is galton's default model."""
    from .. import aggregator  # the registry (importing it registers the models)

    out: list[str] = []
    for n in names:
        cls = aggregator.get(n)  # "default": galton's default model, as every lookup
        canon = getattr(cls, "registry_name", n)
        if getattr(cls, "kind", "categorical") != "categorical":
            cats = [m for m in aggregator.names()  # not those it refuses next (gold_mv: gold to fit)
                    if getattr(aggregator.get(m), "kind", "categorical") == "categorical"
                    and not getattr(aggregator.get(m), "_require_gold", False)]
            raise ValueError(f"model {n!r} aggregates {cls.kind} data; a crowd study needs categorical "
                             f"models: {', '.join(cats)}")
        if getattr(cls, "_require_gold", False):
            raise ValueError(f"model {n!r} needs gold labels to fit; a crowd study never shows gold to "
                             "a model; choose another")
        if canon not in out:
            out.append(canon)
    return out


# --------------------------------------------------------------------------------------------------
# jobs: one (source, k) with every model and repetition
# --------------------------------------------------------------------------------------------------
def run_job(source: Source, k: int, study: Study) -> dict[str, Any]:
    """Aggregate ``R`` draws of ``k`` judgments per task with every model of the study.

    Returns
    -------
    dict
        ``source``, ``k``, ``preds`` (int16, models x R x tasks; -1 for a model that failed),
        ``seconds``, ``warnings`` and ``warning_texts`` ({text: count}) per model, ``errors`` (message or None per model).
    """
    from .. import aggregator
    from ..judgments import Judgments

    models = resolve_models(study.models)
    M, R, T = len(models), study.repeats, source.n_tasks
    preds = np.full((M, R, T), -1, dtype=np.int16)
    seconds, n_warn = np.zeros(M), np.zeros(M, dtype=np.int64)
    texts: list[collections.Counter] = [collections.Counter() for _ in range(M)]
    errors: list[str | None] = [None] * M
    crowd = source.crowd  # the best annotators compared with the crowd are not in it
    with one_thread():
        for r in range(R):
            ss = np.random.SeedSequence([study.seed, TAGS["subsample"], source.seed_key, int(k), r])
            pick_ss, model_ss = ss.spawn(2)
            sel = crowd[est.subsample(source.task[crowd], T, int(k), np.random.default_rng(pick_ss))]
            _, worker = np.unique(source.worker[sel], return_inverse=True)
            sub = Judgments.from_codes(source.task[sel], worker, source.label[sel], n_tasks=T,
                                       n_labels=source.n_labels)
            seed = int(model_ss.generate_state(1)[0])
            for m, name in enumerate(models):
                if errors[m] is not None:
                    continue
                cls = aggregator.get(name)
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        model = cls(**model_kwargs(cls, study, seed)).fit(sub)
                except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                    errors[m] = " ".join(str(exc).split()) or type(exc).__name__
                    preds[m] = -1
                    continue
                seconds[m] += time.perf_counter() - t0
                n_warn[m] += len(caught)
                texts[m].update(f"{w.category.__name__}: {w.message}" for w in caught)
                preds[m, r] = np.asarray(model.label_codes_, dtype=np.int16)
    return {"source": source.name, "k": int(k), "preds": preds, "seconds": seconds,
            "warnings": n_warn, "warning_texts": [dict(t) for t in texts], "errors": errors}


# --------------------------------------------------------------------------------------------------
# the study
# --------------------------------------------------------------------------------------------------
def run_study(study: AnyStudy, *, engine: str | None = None, address: str | None = None,
              progress: bool | None = None) -> StudyResult:
    """Run a study by the ``run`` hook of its kind (:mod:`galton.benchmarks.kinds`): see the module
    docstring for what a categorical study computes (:func:`run_categorical`), and
    :func:`galton.benchmarks.study_prefs.run_pref_study` for a preference study.

    Parameters
    ----------
    study : Study
    engine : {"ray", "local"}, optional
        Overrides ``study.engine``. ``"ray"`` without Ray installed runs locally with a warning.
    address : str, optional
        Ray cluster (else ``RAY_ADDRESS``, else a new local instance).
    progress : bool, optional
        Progress bar on stderr (default: when stderr is a terminal).
    """
    run = study_kind(kind_of(study)).hook("run")
    return run(study, engine=engine, address=address, progress=progress)  # type: ignore[no-any-return]


def run_categorical(study: Study, *, engine: str | None = None, address: str | None = None,
                    progress: bool | None = None) -> StudyResult:
    """:func:`run_study` for a categorical study (crowd labels against experts' accuracy)."""
    from ._evaluate import evaluate_source, exclude_best, tables_from_rows

    t0 = time.perf_counter()
    engine = check_engine(engine or study.engine)
    models = resolve_models(study.models)
    sources, notes = prepare_sources(study)
    if not sources:
        raise ValueError("the study has no usable source")
    sources = [exclude_best(s, study) for s in sources]
    by_name = {s.name: s for s in sources}
    ks = {s.name: s.ks(s.k_grid or study.k, study.k_max) for s in sources}
    jobs = [(s.name, k) for s in sources for k in ks[s.name]]
    jobs.sort(key=lambda j: -min(j[1], int(by_name[j[0]].counts.max())) * by_name[j[0]].n_tasks)
    results = run_jobs(run_job, by_name, jobs, study, engine, address, progress)
    t_fit = time.perf_counter() - t0
    rows: dict[str, list[dict[str, Any]]] = {}
    with one_thread():
        for s in sources:
            for name, part in evaluate_source(s, ks[s.name], results[s.name], models, study).items():
                rows.setdefault(name, []).extend(part)
    tables = tables_from_rows(rows)
    meta = {
        "study": study.name, "engine": engine, "seed": study.seed, "models": models,
        "sources": [s.name for s in sources], "notes": notes, "versions": versions(),
        "seconds": time.perf_counter() - t0, "seconds_fits": t_fit, "n_jobs": len(jobs),
        "tie_break": study.tie_break, "loo_ties": study.loo_ties, "short_tasks": study.short_tasks,
        "seeds": _seeds(study),
    }
    # the study as run (the report's study.toml): on the engine it ran on (--engine; local without Ray)
    as_run = study if study.engine == engine else study.replace(engine=engine)
    return StudyResult(study=as_run, tables=tables, meta=meta)


def _seeds(study: Study) -> dict[str, Any]:
    """The study's seeds and the SeedSequence of each random stream, as :mod:`._sources` and
    :mod:`._evaluate` draw them: the simulated expert from the simulation's seed (``[simulation] seed``,
    one per point of a grid over seed), every other stream from the study's."""
    sims = [int(v) for v in study.grid.get("seed", [study.simulation.get("seed", study.seed)])]
    sim = str(sims[0]) if len(sims) == 1 else "the point's simulation seed"
    streams = {k: f"SeedSequence([{study.seed}, {v}, ...])" for k, v in TAGS.items()}
    streams["sim_expert"] = f"SeedSequence([{sim}, {TAGS['sim_expert']}])"
    return {"study": study.seed, "simulation": sims[0] if len(sims) == 1 else sims, "streams": streams}
