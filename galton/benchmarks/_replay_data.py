"""The data of the allocation replay study (:mod:`galton.benchmarks.allocation`): a data set as int
codes (:class:`ReplayData`), read from a bundled or shared data set (:func:`load_replay_data`) or
simulated in Sheng, Provost and Ipeirotis's setting (:func:`sheng_crowd`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._common import simulate_ds

__all__ = ["ReplayData", "load_replay_data", "sheng_crowd"]


@dataclass
class ReplayData:
    """One data set as codes: judgments ``task, worker, label`` (int), ``gold[task]`` (-1: none)."""

    name: str
    task: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    gold: np.ndarray
    label_names: list[Any] = field(default_factory=list)

    @property
    def n_tasks(self) -> int:
        return int(self.gold.size)

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.task, minlength=self.n_tasks)


def sheng_crowd(n_tasks: int = 300, per_task: int = 10, n_workers: int = 50, accuracy: float = 0.7,
                seed: int = 0) -> ReplayData:
    """Sheng et al.'s setting: binary tasks, independent labellers all of accuracy ``accuracy``."""
    sim = simulate_ds(n_tasks, n_workers, 2, per_task, seed, accuracy=(accuracy, accuracy))
    return ReplayData(f"sheng (simulated, accuracy {accuracy:g})", sim.task.astype(np.int64),
                      sim.worker.astype(np.int64), sim.label.astype(np.int64), sim.truth.astype(np.int64), [0, 1])


def load_replay_data(name: str, seed: int = 0) -> ReplayData:
    """``"sheng"`` (the simulated crowd) or a data set of :func:`galton.benchmarks.accuracy.load_dataset`
    (``shared:NAME`` / ``bundled:NAME``: that copy, as the crowd study reads them; the data set is named
    ``NAME``, so its shuffles are those of ``NAME``). Judgments with an empty task, worker or label are
    left out, as the crowd study leaves them out (an empty label was a class of its own, coded -1); gold
    task ids are brought to the judgments' type as the crowd study brings them (gold "5" finds task 5)."""
    if name == "sheng":
        return sheng_crowd(seed=seed)
    import pandas as pd

    from ..data._encode import id_lookup
    from .accuracy import load_dataset

    judgments, gold = load_dataset(name)
    judgments = judgments.dropna(subset=["task", "worker", "label"])
    task, tasks = pd.factorize(judgments["task"], sort=True)
    worker, _ = pd.factorize(judgments["worker"], sort=True)
    labels = pd.concat([judgments["label"], pd.Series(gold.to_numpy())], ignore_index=True)
    codes, names = pd.factorize(labels, sort=True)
    gold_codes = np.full(len(tasks), -1, dtype=np.int64)
    at = id_lookup(np.asarray(tasks), gold.index.to_numpy())  # the judged task of each gold row; -1: none
    known = (at >= 0) & gold.notna().to_numpy()
    gold_codes[at[known]] = pd.Index(names).get_indexer(gold[known])
    if not (gold_codes >= 0).any():
        raise ValueError(f"dataset {name!r}: no task with judgments has a gold label; leave it out")
    return ReplayData(name.removeprefix("shared:").removeprefix("bundled:"), task.astype(np.int64),
                      worker.astype(np.int64), codes[: len(judgments)].astype(np.int64), gold_codes, list(names))
