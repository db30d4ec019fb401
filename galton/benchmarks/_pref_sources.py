"""Sources of a preference study (:class:`~galton.benchmarks.study_prefs.PrefStudy`): simulated
preference crowds with their truth and expert ranker (:class:`PrefSource`). Plain numpy; no models,
no Ray. The categorical study's sources are in :mod:`galton.benchmarks._sources`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import estimators as est

if TYPE_CHECKING:  # pragma: no cover
    from .study_prefs import PrefStudy

__all__ = ["PrefSource", "PREF_TAGS", "PREF_COLLECTIONS", "SIM_DEFAULTS", "pref_config", "prepare_pref_source",
           "prepare_pref_sources"]

# --------------------------------------------------------------------------------------------------
# preference crowds
# --------------------------------------------------------------------------------------------------
#: The preference study's sources (galton/benchmarks/study_prefs.py)
PREF_COLLECTIONS = ("pairwise", "best_of_n")
#: SeedSequence tags (second entropy word) of the preference study's random streams.
PREF_TAGS = {"subsample": 1, "bootstrap": 3, "sim_expert": 5, "pool": 6}
PREF_SEED_KEY = zlib.crc32(b"preferences")
#: simulation keys: default values (``expert_tau`` applies unless ``expert_noise`` is given)
SIM_DEFAULTS: dict[str, Any] = {
    "collection": "pairwise", "n_prompts": 50, "n_responses": 6, "n_workers": 50, "quality_sd": 1.0,
    "reliability": (0.75, 1.0), "random": 0.10, "adversarial": 0.05, "shown": None,
    "expert_tau": 0.75, "expert_noise": None,
}


def pref_config(point: dict[str, Any]) -> dict[str, Any]:
    """A full, checked simulation config from the defaults and ``point``."""
    cfg = {**SIM_DEFAULTS, **point}
    if "expert_noise" in point and "expert_tau" not in point:
        cfg["expert_tau"] = None
    where = f"simulation {point}"
    if cfg["collection"] not in PREF_COLLECTIONS:
        raise ValueError(f"{where}: collection must be one of {PREF_COLLECTIONS}, not {cfg['collection']!r}")
    for key in ("n_prompts", "n_responses", "n_workers"):
        if not (isinstance(cfg[key], int) and cfg[key] >= (2 if key == "n_responses" else 1)):
            raise ValueError(f"{where}: {key} must be an integer >= {2 if key == 'n_responses' else 1}")
    rel = cfg["reliability"]
    if not (isinstance(rel, (list, tuple)) and len(rel) == 2 and 0.5 <= float(rel[0]) <= float(rel[1]) <= 1):
        raise ValueError(f"{where}: reliability must be [low, high] with 0.5 <= low <= high <= 1, not {rel!r}")
    cfg["reliability"] = (float(rel[0]), float(rel[1]))
    if not (0 <= cfg["random"] and 0 <= cfg["adversarial"] and cfg["random"] + cfg["adversarial"] <= 1):
        raise ValueError(f"{where}: random and adversarial are shares of the raters (>= 0, sum <= 1)")
    if not float(cfg["quality_sd"]) > 0:
        raise ValueError(f"{where}: quality_sd must be > 0")
    shown = cfg["shown"]
    if shown is not None and not (isinstance(shown, int) and 2 <= shown <= cfg["n_responses"]):
        raise ValueError(f"{where}: shown must be an integer between 2 and n_responses={cfg['n_responses']}")
    if (cfg["expert_tau"] is None) == (cfg["expert_noise"] is None):
        raise ValueError(f"{where}: give the expert ranker's expert_tau or its expert_noise, not both")
    if cfg["expert_tau"] is not None:
        cfg["expert_noise"] = est.noise_for_tau(float(cfg["expert_tau"]), float(cfg["quality_sd"]))
    elif not float(cfg["expert_noise"]) >= 0:
        raise ValueError(f"{where}: expert_noise must be >= 0")
    cfg["expert_tau"] = est.expected_tau(float(cfg["expert_noise"]), float(cfg["quality_sd"]))
    return cfg


# --------------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------------
@dataclass
class PrefSource:
    """One simulated preference crowd: the judgment pool, the truth and the expert ranker.

    Pairwise pools hold ``left, right, outcome`` (1: left preferred); best-of-n pools ``options``
    (judgments x shown) and ``choice``. ``block`` = judgments per repetition = ``m(k_max)``.
    """

    name: str
    level: str
    grid: dict[str, Any]
    config: dict[str, Any]
    collection: str
    seed_key: int
    n_prompts: int
    n_responses: int
    n_workers: int
    per_judgment: int  # items in one judgment: 2, or the options shown
    block: int
    quality: np.ndarray
    worker: np.ndarray
    rater_kind: np.ndarray
    reliability: np.ndarray
    expert: np.ndarray
    left: np.ndarray | None = None
    right: np.ndarray | None = None
    outcome: np.ndarray | None = None
    options: np.ndarray | None = None
    choice: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return self.n_prompts * self.n_responses

    def judgments(self, k: int) -> int:
        """Judgments of one repetition at ``k`` comparisons per item."""
        return max(1, int(round(k * self.n_items / self.per_judgment)))


def prepare_pref_source(study: PrefStudy, level: str, grid: dict[str, Any], point: dict[str, Any],
                        name: str) -> PrefSource:
    """Simulate the pool of one source (``R`` blocks of ``m(k_max)`` judgments) and its expert."""
    from ..datasets.simulate_prefs import simulate_best_of_n, simulate_pairwise

    cfg = pref_config(point)
    sim_seed = study.sim_seed
    n_items = cfg["n_prompts"] * cfg["n_responses"]
    shown = cfg["n_responses"] if cfg["shown"] is None else cfg["shown"]
    per = 2 if cfg["collection"] == "pairwise" else shown
    block = max(1, int(round(max(study.k) * n_items / per)))
    common = dict(n_prompts=cfg["n_prompts"], n_responses=cfg["n_responses"], n_workers=cfg["n_workers"],
                  quality_sd=float(cfg["quality_sd"]), adversarial=float(cfg["adversarial"]),
                  random=float(cfg["random"]), reliability=cfg["reliability"],
                  seed=[sim_seed, PREF_TAGS["pool"]])
    cols: dict[str, np.ndarray] = {}
    if cfg["collection"] == "pairwise":
        s = simulate_pairwise(study.repeats * block, **common, frame="dict")
        d = s.data
        cols = {"left": d["left"], "right": d["right"], "outcome": (d["label"] == d["left"]).astype(np.float64)}
        worker = d["worker"]
    else:
        s = simulate_best_of_n(study.repeats * block, **common, shown=shown, frame="arrow")
        t = s.data
        opts = t.column("options").combine_chunks().flatten().to_numpy()
        cols = {"options": opts.reshape(-1, shown).astype(np.int32),
                "choice": t.column("choice").to_numpy().astype(np.int32)}
        worker = t.column("worker").to_numpy()
    rng = np.random.default_rng(np.random.SeedSequence([sim_seed, PREF_TAGS["sim_expert"]]))
    expert = s.quality + rng.normal(0.0, 1.0, n_items) * float(cfg["expert_noise"])
    return PrefSource(name=name, level=level, grid=dict(grid), config=cfg, collection=cfg["collection"],
                      seed_key=PREF_SEED_KEY, n_prompts=cfg["n_prompts"], n_responses=cfg["n_responses"],
                      n_workers=cfg["n_workers"], per_judgment=per, block=block, quality=s.quality,
                      worker=np.asarray(worker, dtype=np.int32), rater_kind=s.kind, reliability=s.reliability,
                      expert=expert, **cols)


def _source_name(level: str, grid: dict[str, Any], taken: set[str]) -> str:
    parts = [level] + [str(v) for v in grid.values()]
    base = "".join(c if c.isalnum() or c in "-_." else "_" for c in "-".join(parts))
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    taken.add(name)
    return name


def prepare_pref_sources(study: PrefStudy) -> list[PrefSource]:
    """Every source of the study, in the order of :meth:`PrefStudy.points`."""
    taken: set[str] = set()
    return [prepare_pref_source(study, level, g, point, _source_name(level, g, taken))
            for level, g, point in study.points()]
