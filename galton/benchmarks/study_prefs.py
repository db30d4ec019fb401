"""The preference study: how many crowd comparisons per item match one expert ranker?

A study file with ``[study] kind = "preference"`` (``galton/benchmarks/studies/preferences.toml``,
``galton bench --study preferences``) runs through the same machinery as the categorical study
(:mod:`galton.benchmarks.study`): jobs per (source, k), seeds from ``SeedSequence``, the local or
Ray engine with identical results, the estimators of :mod:`galton.benchmarks.estimators` and a
report of the same shape (:mod:`galton.benchmarks.report`).

Sources
-------
Simulated preference crowds (:mod:`galton.datasets.simulate_prefs`): ``n_prompts`` prompts with
``n_responses`` responses each (true qualities ``theta ~ N(0, quality_sd^2)``), raters of
reliability ``eta ~ U(reliability)``, a share ``random`` of random raters and ``adversarial`` of
adversarial ones. One source per *disagreement level* (``[[simulation.level]]``, in file order)
and point of ``[simulation.grid]`` (every combination; ``collection`` is usually one of its axes):

- ``collection = "pairwise"``: comparisons of two responses of one prompt;
- ``collection = "best_of_n"``: a rater picks the best of ``shown`` (default: all) responses of
  one prompt, by Plackett-Luce on ``theta`` with probability ``eta``, else on ``-theta`` (with two
  options, the pairwise model), so ``reliability`` acts here as in pairwise collection.

Crowd curve
-----------
``k`` is *comparisons per item*: the number of judgments an item takes part in, on average; a
repetition at ``k`` holds ``m(k) = round(k * n_items / s)`` judgments (``s`` = 2 for pairs, the
options shown for best-of-n). Each source simulates one pool of ``R * m(k_max)`` judgments (items
and raters fixed: the source's truth); repetition ``r`` owns block ``r`` of the pool (independent
repetitions) and at ``k`` uses a uniformly random ``m(k)`` of its block. Models:

- pairwise models (``bt``, ``crowd_bt``, ``noisy_bt``) fit the comparisons; on best-of-n data they
  fit the choices broken into pairs (the chosen response over each other one shown, in the order
  shown, see :func:`choices_to_pairs`);
- choice models (``plackett_luce``) fit best-of-n choices; on pairwise data Plackett-Luce *is*
  Bradley-Terry, so it is not fitted there again (the ``bt`` row is that curve).

Metric: Kendall's tau-a of the fitted scores with the true order *within each prompt* (the
ranking a preference data set exists to give: responses to one question), averaged over prompts
and repetitions (:func:`galton.benchmarks.estimators.group_kendall_tau`). The interval
(:func:`~galton.benchmarks.estimators.tau_interval`) is the union of the categorical study's
two-way percentile bootstrap over prompts and repetitions (prompts in the place of tasks) and a
Wilson floor: the Wilson interval of the concordant share ``(tau + 1) / 2`` on ``n_prompts *
effective_pairs(n_responses)`` pairs, mapped back to tau, so few prompts or a tau near 1 no longer
give a zero-width interval. With ``n_prompts = 1`` (one pool of items) tau is over all items, the
bootstrap varies the repetitions only, and the expert's interval is the floor alone.

Expert
------
One expert ranker per source orders every response of every prompt by ``theta + N(0,
expert_noise^2)``; ``expert_tau`` states the noise by the expert's expected Kendall tau instead
(:func:`~galton.benchmarks.estimators.noise_for_tau`; default 0.75). Its tau is measured on the
same prompts with the same bootstrap weights as the crowd (paired), and its **crowd-equivalent**
per model is :func:`~galton.benchmarks.estimators.crowd_equivalent`: the smallest ``k`` at which
the crowd's tau reaches the expert's, with an interval (from the band of the difference, the
categorical study's :func:`~galton.benchmarks.estimators.difference_interval`), or "not reached".

Seeds (``SeedSequence``): the pool ``[simulation seed, 6]``; the expert's noise ``[simulation
seed, 5]`` (every source shares both: common random numbers across levels, so the items, the
raters' uniform draws and the expert are the same at every level); judgments kept at ``(source,
k, r)`` ``[seed, 1, crc32("preferences"), k, r]`` (its second spawned child seeds the models);
bootstrap ``[seed, 3, crc32("preferences")]``.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

from ._pref_sources import (PREF_COLLECTIONS as COLLECTIONS, PREF_TAGS as TAGS, SIM_DEFAULTS, PrefSource,
                            pref_config, prepare_pref_sources)
from ._evaluate_prefs import PREF_TABLES, evaluate_prefs
from ._study_check import apply_checked, check_common, check_tables
from .runner import (ENGINES, StudyResult, check_engine, model_kwargs, one_thread, run_jobs, toml_lib,
                     toml_value, versions)

__all__ = ["PrefStudy", "PrefSource", "KIND", "COLLECTIONS", "TAGS", "resolve_pref_models",
           "prepare_pref_sources", "choices_to_pairs", "run_pref_job", "run_pref_study", "evaluate_prefs",
           "PREF_TABLES", "pref_options"]

KIND = "preference"


def _kind_of(cls: type) -> str:
    return getattr(cls, "kind", "categorical")


def resolve_pref_models(names: Sequence[str]) -> list[str]:
    """Canonical names of preference models (pairwise or choice); others are refused."""
    from .. import aggregator  # the registry (importing it registers the models)

    ok = aggregator.names("pairwise") + aggregator.names("choice")
    out: list[str] = []
    for n in names:
        try:
            cls = aggregator.get(n)
        except ValueError:
            raise ValueError(f"unknown model {n!r}; a preference study takes {', '.join(ok)}") from None
        if _kind_of(cls) not in ("pairwise", "choice"):
            raise ValueError(f"model {n!r} aggregates {_kind_of(cls)} data; a preference study needs "
                             f"pairwise or choice models: {', '.join(ok)}")
        if cls.registry_name not in out:
            out.append(cls.registry_name)
    return out


# --------------------------------------------------------------------------------------------------
# the study file
# --------------------------------------------------------------------------------------------------
def _check_keys(keys: Sequence[str], where: str) -> None:
    bad = sorted(set(keys) - set(SIM_DEFAULTS))
    if bad:
        raise ValueError(f"unknown {where} key(s) {bad}; valid: {sorted(SIM_DEFAULTS)}")


@dataclass(frozen=True)
class PrefStudy:
    """A preference study; field names are the keys of ``[study]`` (plus ``kind = "preference"``).

    ``simulation`` holds the fixed keys of ``[simulation]`` (see :data:`SIM_DEFAULTS`, plus
    ``seed``), ``levels`` the ``[[simulation.level]]`` tables (each a ``name`` and the keys it
    sets: the disagreement levels), ``grid`` the ``[simulation.grid]`` axes. ``k`` is the grid of
    comparisons per item, ``models`` registered pairwise or choice models.
    """

    kind: ClassVar[str] = KIND
    name: str = "preferences"
    description: str = ""
    seed: int = 0
    repeats: int = 5
    bootstrap: int = 1000
    confidence: float = 0.95
    models: tuple[str, ...] = ("bt", "crowd_bt", "noisy_bt", "plackett_luce")
    k: tuple[int, ...] = (1, 2, 5, 10, 20, 50)
    engine: str = "ray"
    simulation: dict[str, Any] = field(default_factory=dict)
    levels: tuple[dict[str, Any], ...] = ()
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    text: str = ""

    def __post_init__(self) -> None:
        apply_checked(self, check_common)  # the types first, by key (repeats = 2.5, k = [1.5, 3])
        object.__setattr__(self, "levels", tuple(dict(lv) for lv in self.levels))
        object.__setattr__(self, "grid", {str(a): tuple(v) for a, v in self.grid.items()})
        checks = [(self.engine in ENGINES, f"engine must be one of {ENGINES}"),
                  (all(len(v) for v in self.grid.values()), "every [simulation.grid] entry needs a value")]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"study {self.name!r}: {msg}")
        _check_keys([a for a in self.simulation if a != "seed"], "[simulation]")
        _check_keys(list(self.grid), "[simulation.grid]")
        names = []
        for i, lv in enumerate(self.levels):
            if not isinstance(lv.get("name"), str) or not lv["name"]:
                raise ValueError(f"[[simulation.level]] number {i + 1} needs a name = \"...\"")
            _check_keys([a for a in lv if a != "name"], f"[[simulation.level]] {lv['name']!r}")
            names.append(lv["name"])
        if len(set(names)) < len(names):
            raise ValueError(f"[[simulation.level]] names must differ: {names}")
        for _, _, point in self.points():
            pref_config(point)
        resolve_pref_models(self.models)

    def points(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """``(level name, grid point, simulation point)`` of every source: grid points outer (file
        order, the last axis fastest), levels inner."""
        fixed = {a: v for a, v in self.simulation.items() if a != "seed"}
        axes = list(self.grid)
        levels = self.levels or ({"name": "crowd"},)
        out = []
        for values in itertools.product(*(self.grid[a] for a in axes)):
            g = dict(zip(axes, values))
            for lv in levels:
                out.append((lv["name"], g, {**fixed, **{a: v for a, v in lv.items() if a != "name"}, **g}))
        return out

    @property
    def sim_seed(self) -> int:
        return int(self.simulation.get("seed", self.seed))

    # ------------------------------------------------------------------ (de)serialisation
    @classmethod
    def from_dict(cls, data: dict[str, Any], text: str = "") -> PrefStudy:
        """A study from the parsed file (tables ``study`` and ``simulation``)."""
        check_tables(data, ("study", "simulation"), "a preference study",
                     "[study], [simulation], [simulation.grid] and [[simulation.level]]")
        own = dict(data.get("study", {}))
        own.pop("kind", None)
        names = {f.name for f in dataclasses.fields(cls)} - {"simulation", "levels", "grid", "text"}
        bad = sorted(set(own) - names)
        if bad:
            raise ValueError(f"unknown [study] key(s) {bad} for a preference study; valid: {sorted(names)}")
        sim = dict(data.get("simulation", {}))
        grid = sim.pop("grid", {})
        levels = sim.pop("level", [])
        if not isinstance(levels, list) or not all(isinstance(lv, dict) for lv in levels):
            raise ValueError("disagreement levels are tables: write [[simulation.level]] with name = ... "
                             "and the keys it sets")
        if not isinstance(grid, dict):
            raise ValueError("[simulation.grid] must be a table of lists")
        grid = {a: (v if isinstance(v, list) else [v]) for a, v in grid.items()}
        return cls(**own, simulation=sim, levels=tuple(levels), grid=grid, text=text)

    @classmethod
    def from_toml(cls, text: str) -> PrefStudy:
        return cls.from_dict(toml_lib().loads(text), text)

    def to_toml(self) -> str:
        """The study as a study file."""
        lines = ["[study]", f"kind = {toml_value(KIND)}"]
        for f in dataclasses.fields(self):
            if f.name not in ("simulation", "levels", "grid", "text"):
                lines.append(f"{f.name} = {toml_value(getattr(self, f.name))}")
        lines += ["", "[simulation]"] + [f"{a} = {toml_value(v)}" for a, v in self.simulation.items()
                                         if v is not None]
        if self.grid:
            lines += ["", "[simulation.grid]"] + [f"{a} = {toml_value(v)}" for a, v in self.grid.items()]
        for lv in self.levels:
            lines += ["", "[[simulation.level]]"] + [f"{a} = {toml_value(v)}" for a, v in lv.items()
                                                     if v is not None]
        return "\n".join(lines) + "\n"

    def replace(self, **changes: Any) -> PrefStudy:
        """A copy with some fields changed (the study text is regenerated)."""
        fields = {f.name for f in dataclasses.fields(self)}
        bad = sorted(set(changes) - fields)
        if bad:
            raise ValueError(f"{', '.join(bad)} do(es) not apply to a preference study; it takes "
                             f"{', '.join(sorted(fields - {'text'}))}")
        new = dataclasses.replace(self, **changes, text="")
        return dataclasses.replace(new, text=new.to_toml())


# --------------------------------------------------------------------------------------------------
# jobs: one (source, k) with every model and repetition
# --------------------------------------------------------------------------------------------------
def pref_options(study: PrefStudy, *, datasets: Sequence[str] | None = None, only_datasets: bool = False,
                 **changes: Any) -> PrefStudy:
    """:func:`galton.benchmarks.study.with_options` for a preference study: it takes ``models``,
    ``k``, ``seed``, ``repeats``, ``bootstrap``, ``confidence`` and ``engine``; it simulates its
    data, so ``datasets`` is refused."""
    kw = {a: v for a, v in changes.items() if v is not None}
    if datasets is not None:
        raise ValueError(f"study {study.name!r} is a preference study: it simulates its data, so "
                         "--datasets does not apply; drop it or choose a categorical study")
    bad = sorted(set(kw) - {"models", "k", "seed", "repeats", "bootstrap", "confidence", "engine"})
    if bad:
        opts = ", ".join("--" + b.replace("_", "-") for b in bad)
        raise ValueError(f"{opts} do(es) not apply to the preference study {study.name!r}; drop it")
    return study.replace(**kw) if kw else study


def choices_to_pairs(options: np.ndarray, choice: np.ndarray, worker: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Best-of-n choices broken into pairs: the chosen option over each other one shown.

    Each pair keeps the order in which its two options were shown (left = shown first), so that a
    model with a position bias (``noisy_bt``) sees a shown order, not the answer. Returns
    ``(left, right, outcome, worker)``, ``shown - 1`` pairs per choice, choice by choice.
    """
    m, s = options.shape
    pos = np.argmax(options == choice[:, None], axis=1)
    if not (options[np.arange(m), pos] == choice).all():
        raise ValueError("every choice must be one of its row's options")
    other = np.ones((m, s), dtype=bool)
    other[np.arange(m), pos] = False
    rows, cols = np.nonzero(other)
    first = np.minimum(pos[rows], cols)
    second = np.maximum(pos[rows], cols)
    left, right = options[rows, first], options[rows, second]
    outcome = (left == choice[rows]).astype(np.float64)
    return left.astype(np.int32), right.astype(np.int32), outcome, worker[rows].astype(np.int32)


def _data(source: PrefSource, pick: np.ndarray, kind: str) -> Any:
    from ..pairwise import Choices, Comparisons

    N, W = source.n_items, source.n_workers
    if source.collection == "pairwise":
        return Comparisons.from_codes(source.left[pick], source.right[pick], source.outcome[pick],
                                      source.worker[pick], n_items=N, n_workers=W)
    opts, ch, wk = source.options[pick], source.choice[pick], source.worker[pick]
    if kind == "pairwise":
        return Comparisons.from_codes(*choices_to_pairs(opts, ch, wk), n_items=N, n_workers=W)
    m, s = opts.shape
    ro = lambda a: np.require(a, requirements="C")  # noqa: E731
    return Choices(ptr=ro(np.arange(0, m * s + 1, s, dtype=np.int64)), items=ro(opts.reshape(-1)),
                   chosen=ro(ch), worker=ro(wk), row=np.arange(m, dtype=np.int64),
                   item_names=np.arange(N), worker_names=np.arange(W))


def _fits(kind: str, collection: str) -> bool:
    """Pairwise models fit every source; choice models fit best-of-n (on pairs PL is BT)."""
    return kind == "pairwise" or collection == "best_of_n"


def run_pref_job(source: PrefSource, k: int, study: PrefStudy) -> dict[str, Any]:
    """Fit every model to ``R`` draws of ``m(k)`` judgments of one source.

    Returns
    -------
    dict
        ``source``, ``k``, ``scores`` (float64, models x R x items; NaN where a model was not
        fitted), ``fitted`` (per model), ``seconds``, ``warnings``, ``errors`` (message or None).
    """
    from .. import aggregator

    models = resolve_pref_models(study.models)
    M, R, N = len(models), study.repeats, source.n_items
    scores = np.full((M, R, N), np.nan)
    classes = [aggregator.get(m) for m in models]
    fitted = [_fits(_kind_of(c), source.collection) for c in classes]
    seconds, n_warn = np.zeros(M), np.zeros(M, dtype=np.int64)
    errors: list[str | None] = [None] * M
    m_k = source.judgments(int(k))
    with one_thread():
        for r in range(R):
            ss = np.random.SeedSequence([study.seed, TAGS["subsample"], source.seed_key, int(k), r])
            pick_ss, model_ss = ss.spawn(2)
            pick = r * source.block + np.sort(np.random.default_rng(pick_ss).choice(source.block, m_k,
                                                                                    replace=False))
            seed = int(model_ss.generate_state(1)[0])
            data: dict[str, Any] = {}
            for m, cls in enumerate(classes):
                if not fitted[m] or errors[m] is not None:
                    continue
                kind = _kind_of(cls)
                if kind not in data:
                    data[kind] = _data(source, pick, kind)
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        model = cls(**model_kwargs(cls, study, seed)).fit(data[kind])  # type: ignore[arg-type]
                except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                    errors[m] = " ".join(str(exc).split()) or type(exc).__name__
                    scores[m] = np.nan
                    continue
                seconds[m] += time.perf_counter() - t0
                n_warn[m] += len(caught)
                scores[m, r, np.asarray(model.comparisons_.item_names, dtype=np.int64)] = model.scores_values_
    return {"source": source.name, "k": int(k), "scores": scores, "fitted": fitted, "seconds": seconds,
            "warnings": n_warn, "errors": errors}


# --------------------------------------------------------------------------------------------------
# the study
# --------------------------------------------------------------------------------------------------
def run_pref_study(study: PrefStudy, *, engine: str | None = None, address: str | None = None,
                   progress: bool | None = None) -> Any:
    """Run a preference study (see the module docstring); returns a
    :class:`~galton.benchmarks.runner.StudyResult` whose ``meta["kind"]`` is ``"preference"``."""
    t0 = time.perf_counter()
    engine = check_engine(engine or study.engine)
    models = resolve_pref_models(study.models)
    sources = prepare_pref_sources(study)
    by_name = {s.name: s for s in sources}
    ks = list(study.k)
    jobs = [(s.name, k) for s in sources for k in ks]
    jobs.sort(key=lambda j: -by_name[j[0]].judgments(j[1]) * by_name[j[0]].per_judgment)
    results = run_jobs(run_pref_job, by_name, jobs, study, engine, address, progress)
    t_fit = time.perf_counter() - t0
    rows: dict[str, list[dict[str, Any]]] = {n: [] for n in PREF_TABLES}
    with one_thread():
        for s in sources:
            for name, part in evaluate_prefs(s, ks, results[s.name], models, study).items():
                rows[name].extend(part)
    import polars as pl

    tables = {n: pl.DataFrame(rows[n], infer_schema_length=None) for n in PREF_TABLES if rows[n]}
    meta = {
        "kind": KIND, "study": study.name, "engine": engine, "seed": study.seed, "models": models,
        "sources": [s.name for s in sources], "notes": [], "versions": versions(),
        "seconds": time.perf_counter() - t0, "seconds_fits": t_fit, "n_jobs": len(jobs),
        "metric": "Kendall tau-a with the true order within each prompt, averaged over prompts and repetitions",
        "seeds": {"study": study.seed, "simulation": study.sim_seed,
                  "streams": {a: f"SeedSequence([{study.sim_seed if a in ('pool', 'sim_expert') else study.seed}"
                                 f", {v}, ...])" for a, v in TAGS.items()}},
    }
    # the study as run (the report's study.toml): on the engine it ran on (--engine; local without Ray)
    as_run = study if study.engine == engine else study.replace(engine=engine)
    return StudyResult(study=as_run, tables=tables, meta=meta)  # type: ignore[arg-type]

