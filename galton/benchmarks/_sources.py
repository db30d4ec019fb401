"""Sources of a crowd study: real datasets and simulated crowds, encoded as int codes.

:func:`prepare_sources` turns a :class:`~galton.benchmarks.study.Study` into :class:`Source`
objects: the workers' judgments (experts' own judgments removed; the study leaves its best
annotators out of the crowd, :attr:`Source.crowd`), gold, designated experts, and
for a simulation its simulated expert. A preference study's sources are in
:mod:`galton.benchmarks._pref_sources`. Plain numpy and polars; no models, no Ray.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .._math import sigmoid_exp

if TYPE_CHECKING:  # pragma: no cover
    from .study import Study

__all__ = ["Source", "TAGS", "grid_points", "labels_like", "load_named_dataset", "prepare_dataset", "prepare_simulation",
           "prepare_sources", "simulation_config"]

#: SeedSequence tags (second entropy word) of the study's random streams.
TAGS = {"subsample": 1, "split": 2, "bootstrap": 3, "loo": 4, "sim_expert": 5}

# --------------------------------------------------------------------------------------------------
# sources: real datasets and simulated crowds, prepared as int codes
# --------------------------------------------------------------------------------------------------
@dataclass
class Source:
    """One data set of a study, encoded (workers' judgments only; designated experts apart).

    ``n_codes >= n_labels``: label codes that only experts used come after the crowd's.
    ``sim_expert`` holds the simulated expert's labels, true accuracy and nominal accuracy.
    ``crowd_excluded``: workers whose judgments are not the crowd's (the best annotators a study
    compares the crowd with, :func:`galton.benchmarks._evaluate.exclude_best`); ``task``, ``worker``
    and ``label`` keep them (their scores come from them), :attr:`crowd` and :attr:`counts` do not.
    """

    name: str
    kind: str  # "dataset" | "simulation"
    origin: str  # "bundled" | "shared" | "simulated"
    params: dict[str, Any]
    seed_key: int
    task: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    n_tasks: int
    n_workers: int
    n_labels: int
    n_codes: int
    label_names: list[Any]
    gold: np.ndarray
    expert_labels: np.ndarray | None = None
    expert_names: list[str] = field(default_factory=list)
    sim_expert: tuple[np.ndarray, float, float] | None = None
    dropped_expert_judgments: int = 0
    worker_names: list[Any] = field(default_factory=list)
    k_grid: tuple[int, ...] | None = None  # own k grid (simulations), else the study's
    crowd_excluded: tuple[int, ...] = ()

    @property
    def crowd(self) -> np.ndarray:
        """Indices of the crowd's judgments (all but those of :attr:`crowd_excluded`)."""
        if not self.crowd_excluded:
            return np.arange(self.task.shape[0])
        return np.flatnonzero(~np.isin(self.worker, np.asarray(self.crowd_excluded)))

    @property
    def counts(self) -> np.ndarray:
        """The crowd's judgments per task."""
        return np.bincount(self.task[self.crowd], minlength=self.n_tasks)

    def k_top(self, k_max: str | int = "median") -> int:
        """The largest k of this source: the ``"median"`` number of judgments of a gold task
        (rounded down), the ``"max"`` of a gold task (where accuracy is measured: a k that no gold
        task reaches scores nothing with ``short_tasks = "exclude"``), or a number (capped at the
        largest number any task has). A source without gold counts every task; a gold task the crowd
        never judged (only best annotators did) is not scored, and not counted."""
        scored = (self.gold >= 0) & (self.counts > 0)
        c = self.counts[scored] if scored.any() else self.counts
        if k_max == "median":
            return max(1, int(np.floor(np.median(c))))
        if k_max == "max":
            return int(c.max())
        return max(1, min(int(k_max), int(self.counts.max())))

    def ks(self, grid: Sequence[int], k_max: str | int = "median") -> list[int]:
        """The study's k grid for this source, each k capped at :meth:`k_top`: a k above it becomes
        ``k_top``, which thus joins the grid only when some k of the grid reaches it."""
        top = self.k_top(k_max)
        return sorted({min(int(k), top) for k in grid})


def _crc(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def _dataset_names(requested: Sequence[str]) -> list[str]:
    from .. import datasets as D

    def plain(n: str) -> str:
        return n.removeprefix("shared:").removeprefix("bundled:")

    out: list[str] = []
    named: dict[str, str] = {}  # plain name -> as named on its own
    for n in requested:
        if n in ("all", "bundled"):
            pool = list(D.names())
            if n == "all" and D.shared_root() is not None:
                pool += [s for s in D.shared_names() if s not in pool]
            for s in sorted(pool):
                if not D.is_numeric(s) and s != "dawid_skene_1979" and s not in map(plain, out):
                    out.append(s)
        elif plain(n) in named:
            if named[plain(n)] != n:  # two sources of one name: every table is keyed by the name
                raise ValueError(f"datasets {named[plain(n)]!r} and {n!r} are both named {plain(n)!r} in the "
                                 "report; name one of them")
        else:
            named[plain(n)] = n
            if plain(n) in map(plain, out):  # named on its own after "all" / "bundled": as named
                out[list(map(plain, out)).index(plain(n))] = n
            else:
                out.append(n)
    return out


def load_named_dataset(name: str) -> tuple[Any, str]:
    """Data set ``name`` and where it came from ("bundled" / "shared"): the bundled copy first,
    ``shared:NAME`` / ``bundled:NAME`` that copy; an unknown name is refused listing those there are."""
    from .. import datasets as D

    if name.startswith("shared:") or (name not in D.names() and not name.startswith("bundled:")):
        plain = name.removeprefix("shared:")
        if D.shared_root() is None or plain not in D.shared_names():
            from ..datasets._shared import not_found_note  # no folder: why, and the variable to set

            where = not_found_note() if D.shared_root() is None else f", shared: {', '.join(D.shared_names())}"
            raise ValueError(f"unknown dataset {name!r}; bundled: {', '.join(D.names())}{where}")
        return D.load_shared(plain), "shared"
    return D.load(name.removeprefix("bundled:")), "bundled"


def _column(frame: Any, name: str) -> list[Any]:
    return frame.get_column(name).to_list()


def labels_like(values: Sequence[Any], labels: Sequence[Any]) -> list[Any]:
    """Gold or expert label ``values`` in the type of the judgments' ``labels``, as ``galton aggregate
    --gold`` brings them (:func:`galton._gold.gold_label_values`): each table of a shared dataset is
    typed on its own, and gold 1, 2, 3 (integers) matched none of the judgments' text labels "1", "2",
    "3" (every model then scored 0)."""
    from .._gold import gold_label_values

    def array(v: Sequence[Any]) -> np.ndarray:
        return np.array(v, dtype=object) if all(isinstance(x, str) for x in v) else np.asarray(v)

    if not len(values) or not len(labels):
        return list(values)
    return gold_label_values(array(values), array(labels)).tolist()


def _one_label(frame: Any) -> Any:
    """Gold (``task``, ``label``), or the experts' answers (per ``expert``), one row per task: rows with
    a missing value are skipped, a repeated row counts once, and two different labels for one task (of
    one expert) raise as ``galton aggregate --gold`` does (:func:`galton._gold.gold_rows`): the last
    row won here and the first in the accuracy and allocation studies."""
    from .._gold import gold_rows

    tasks, labels = _column(frame, "task"), _column(frame, "label")
    if "expert" not in frame.columns:
        return frame[gold_rows(tasks, labels)]
    by: dict[Any, list[int]] = {}
    for i, e in enumerate(_column(frame, "expert")):
        if e is not None:
            by.setdefault(e, []).append(i)
    keep = [np.asarray(idx)[gold_rows([tasks[i] for i in idx], [labels[i] for i in idx], f"expert {e!r}", idx)]
            for e, idx in by.items()]
    return frame[np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)]


def prepare_dataset(name: str) -> Source:
    """Encode a real dataset: crowd judgments (experts' own judgments removed), gold, experts."""
    from .. import datasets as D
    from ..judgments import Judgments

    plain = name.removeprefix("shared:").removeprefix("bundled:")
    if D.is_numeric(plain):
        raise ValueError(f"dataset {name!r} holds numeric ratings; a crowd study needs categories")
    ds, origin = load_named_dataset(name)
    if ds.gold is None:
        raise ValueError(f"dataset {name!r} has no gold labels; a crowd study scores against gold")
    try:
        ds = ds._replace(gold=_one_label(ds.gold), experts=None if ds.experts is None else _one_label(ds.experts))
    except ValueError as exc:  # two labels for one task: refused as `galton aggregate --gold` refuses them
        raise ValueError(f"dataset {name!r}: {exc}") from None
    judgments, dropped = ds.judgments.drop_nulls(), 0
    expert_ids: list[Any] = []
    if ds.experts is not None:
        expert_ids = sorted(set(_column(ds.experts, "expert")), key=str)
        mask = np.isin(np.asarray([str(w) for w in _column(judgments, "worker")]), [str(e) for e in expert_ids])
        dropped = int(mask.sum())
        if dropped:
            judgments = judgments.filter(~np.asarray(mask))
    crowd_labels = sorted(set(_column(judgments, "label")))
    gold_values = labels_like(_column(ds.gold, "label"), crowd_labels)
    expert_values = [] if ds.experts is None else labels_like(_column(ds.experts, "label"), crowd_labels)
    values = set(crowd_labels) | set(gold_values) | set(expert_values)
    labels = crowd_labels + sorted(values - set(crowd_labels))  # crowd codes first
    J = Judgments.from_any(judgments, labels=crowd_labels)
    code_of = {v: i for i, v in enumerate(labels)}
    tidx = J.task_index(_column(ds.gold, "task"))
    gold = np.full(J.n_tasks, -1, dtype=np.int32)
    ok = tidx >= 0
    if not ok.any():  # every fit ran, and nothing was scored; the allocation study's words
        raise ValueError(f"dataset {name!r}: no task with judgments has a gold label; leave it out")
    gold[tidx[ok]] = [code_of[v] for v, keep in zip(gold_values, ok) if keep]
    src = Source(name=plain, kind="dataset", origin=origin, params={}, seed_key=_crc(plain),
                 task=J.task, worker=J.worker, label=J.label, n_tasks=J.n_tasks, n_workers=J.n_workers,
                 n_labels=J.n_labels, n_codes=len(labels), label_names=labels, gold=gold,
                 dropped_expert_judgments=dropped, worker_names=J.worker_names.tolist())
    if ds.experts is not None:
        ex = ds.experts
        e_task = J.task_index(_column(ex, "task"))
        e_id = [str(e) for e in _column(ex, "expert")]
        names = [str(e) for e in expert_ids]
        mat = np.full((len(names), J.n_tasks), -1, dtype=np.int32)
        row = {n: i for i, n in enumerate(names)}
        for t, e, v in zip(e_task, e_id, expert_values):
            if t >= 0:
                mat[row[e], t] = code_of[v]
        src.expert_labels, src.expert_names = mat, names
    return src


def grid_points(study: Study) -> list[dict[str, Any]]:
    """Every combination of the grid values, in file order (the last key varies fastest)."""
    axes = list(study.grid)
    return [dict(zip(axes, values)) for values in itertools.product(*(study.grid[a] for a in axes))]


def simulation_config(study: Study, point: dict[str, Any]) -> tuple[Any, tuple[int, ...]]:
    """The :class:`~galton.datasets.simulate.CrowdConfig` of one grid point and the simulation's k
    grid (checked: cheap, so a study checks every point when it is read). ValueError says what is
    wrong in the study file's words."""
    from ..datasets.simulate import CrowdConfig
    from ._study_check import whole_number

    fixed = dict(study.simulation)
    raw = fixed.pop("k", study.k)
    shown = raw if isinstance(raw, (list, tuple)) else None
    k_grid = tuple(sorted({whole_number("k", k, 1, shown) for k in (raw if shown is not None else [raw])}))
    if not k_grid:
        raise ValueError("k must be a non-empty list of integers >= 1")
    k_max = max(k_grid)
    cfg = {**fixed, **point}
    missing = [f for f in ("n_tasks", "n_workers") if f not in cfg]
    if missing:
        raise ValueError(f"needs {' and '.join(missing)}")
    sim_seed = cfg.pop("seed", study.seed)  # a grid over seed: one simulated crowd per seed
    if "judgments_per_task" in cfg:
        jpt = cfg.pop("judgments_per_task")
        top = max(jpt) if isinstance(jpt, (list, tuple)) and jpt else jpt
        if isinstance(top, (int, float)) and top < k_max:
            raise ValueError(f"judgments_per_task = {jpt!r} is below the largest k ({k_max}) of the study")
    else:  # max(k) judgments per task: the crowd must have that many workers
        jpt, n = k_max, cfg["n_workers"]
        if isinstance(n, (int, float)) and not isinstance(n, bool) and n < k_max:
            raise ValueError(f"n_workers = {n!r} is below the largest k ({k_max}): a task's judges are distinct, so "
                             f"k = {k_max} needs {k_max} workers; raise n_workers or lower k")
    return CrowdConfig(**cfg, judgments_per_task=jpt, seed=sim_seed), k_grid


def prepare_simulation(study: Study, index: int, point: dict[str, Any]) -> Source:
    """Simulate one grid point (:func:`galton.datasets.simulate.simulate`) and its expert.

    The crowd gives ``judgments_per_task = max(k)`` judgments per task (``k`` of ``[simulation]``,
    else of the study); the workers of ``expert_share`` are part of it (a crowd with experts in it:
    leaving their judgments out left tasks with fewer than ``k`` judgments, and some with none,
    while the study compared the crowd at k). The study's expert is simulated apart from the crowd,
    and answers every task once:
    right with probability ``sigmoid(logit(expert_accuracy) / difficulty_t)`` (the simulator's
    model for experts), else a uniformly random wrong label; its *true* accuracy is the mean of
    that probability over the tasks.
    """
    from ..datasets.simulate import simulate

    config, k_grid = simulation_config(study, point)
    sim_seed = config.seed
    res = simulate(config)
    K, T = config.n_classes, config.n_tasks
    a = float(config.expert_accuracy)
    rng = np.random.default_rng(np.random.SeedSequence([sim_seed, TAGS["sim_expert"]]))
    u, off = rng.random(T), rng.integers(0, K - 1, T)
    with np.errstate(divide="ignore"):
        p = sigmoid_exp((np.log(a) - np.log1p(-a)) / res.difficulty)
    y = res.true_label.astype(np.int32)
    expert = np.where(u < p, y, (y + 1 + off) % K).astype(np.int32)
    name = f"sim{index:02d}"
    return Source(name=name, kind="simulation", origin="simulated", params=dict(point),
                  seed_key=_crc("simulation"), task=res.task.astype(np.int32),
                  worker=res.worker, label=res.label, n_tasks=T, n_workers=config.n_workers,
                  n_labels=K, n_codes=K, label_names=list(range(K)), gold=y,
                  sim_expert=(expert, float(p.mean()), a), k_grid=k_grid)


def prepare_sources(study: Study) -> tuple[list[Source], list[str]]:
    """Every source of the study, and notes on the datasets that were left out."""
    sources, notes = [], []
    requested = list(study.datasets)
    for name in _dataset_names(requested):
        try:
            sources.append(prepare_dataset(name))
        except ValueError as exc:
            if name in requested:  # named on purpose: a mistake to report, not to skip
                raise
            notes.append(f"{name}: left out ({exc})")
    if study.simulation or study.grid:
        for i, point in enumerate(grid_points(study) or [{}]):
            sources.append(prepare_simulation(study, i, point))
    return sources, notes
