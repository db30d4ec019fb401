"""The data of the allocation replay study (:mod:`galton.benchmarks.allocation`): a data set as int
codes (:class:`ReplayData`), read from a bundled or shared data set (:func:`load_replay_data`) or
simulated in Sheng, Provost and Ipeirotis's setting (:func:`sheng_crowd`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._common import simulate_ds

__all__ = ["BUNDLED_DEFAULTS", "DEFAULT_DATASETS", "ReplayData", "default_datasets", "load_replay_data", "sheng_crowd"]

#: the data sets replayed when none are named: two of the shared folder (``GALTON_SHARED_DATASETS``)
#: with 10 judgments per task, and the simulated crowd
DEFAULT_DATASETS = ("snow2008_rte", "snow2008_temp", "sheng")
#: the defaults where the shared folder is absent (galton installed with pip): bundled sets with many
#: judgments per task (zheng_s_dog 10, welinder_bluebirds 39) and the simulated crowd
BUNDLED_DEFAULTS = ("zheng_s_dog", "welinder_bluebirds", "sheng")


def default_datasets() -> tuple[tuple[str, ...], str | None]:
    """The data sets replayed when none are named: :data:`DEFAULT_DATASETS`, or :data:`BUNDLED_DEFAULTS`
    where the shared datasets folder is not found, with a line that says so (else None)."""
    from .. import datasets as gd
    from ..datasets._shared import unset_note

    if gd.shared_root() is not None:
        return DEFAULT_DATASETS, None
    why = unset_note() or " (set GALTON_SHARED_DATASETS to the folder that holds snow2008_rte and snow2008_temp)"
    return BUNDLED_DEFAULTS, (f"shared datasets folder not found{why}: replaying the bundled zheng_s_dog and "
                              "welinder_bluebirds and the simulated sheng instead of snow2008_rte and snow2008_temp")


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
    """``"sheng"`` (the simulated crowd) or a data set of :func:`galton.benchmarks.accuracy.dataset_with_gold`
    (``shared:NAME`` / ``bundled:NAME``: that copy, as the crowd study reads them; the data set is named
    ``NAME``, so its shuffles are those of ``NAME``). Judgments with an empty task, worker or label are
    left out, as the crowd study leaves them out (an empty label was a class of its own, coded -1); gold
    task ids are brought to the judgments' type as the crowd study brings them (gold "5" finds task 5).
    Ids and labels are coded in sorted order; polars and numpy only (pandas is an optional extra)."""
    if name == "sheng":
        return sheng_crowd(seed=seed)
    import polars as pl

    from .._gold import gold_rows
    from ..data._encode import encode_column, id_lookup
    from ._sources import labels_like
    from .accuracy import dataset_with_gold

    ds = dataset_with_gold(name)
    cols = ["task", "worker", "label"]
    judgments = ds.judgments.select(cols).with_columns(  # NaN is empty too, as pandas' dropna had it
        [pl.col(c).fill_nan(None) for c in cols if ds.judgments.schema[c].is_float()]).drop_nulls(cols)
    task, tasks = encode_column(judgments["task"].to_arrow())
    worker, _ = encode_column(judgments["worker"].to_arrow())
    label, names = encode_column(judgments["label"].to_arrow())
    given_tasks, given = ds.gold["task"].to_list(), ds.gold["label"].to_list()
    try:  # one row per task; two labels for one task refused as `galton aggregate --gold` refuses them
        keep = gold_rows(given_tasks, given)
    except ValueError as exc:
        raise ValueError(f"dataset {name!r}: {exc}") from None
    values = labels_like([given[i] for i in keep], names.tolist())  # in the judgments' label type
    vocab = names.tolist()
    vocab += [v for v in dict.fromkeys(values) if v not in set(vocab)]  # labels no judgment has: never predicted
    try:  # one sorted vocabulary of both
        rank = np.argsort(np.argsort(np.asarray(vocab, dtype=object), kind="stable"))
    except TypeError:  # labels of mixed types: the gold-only ones after
        rank = np.arange(len(vocab))
    label = rank[label]
    vocab = [vocab[i] for i in np.argsort(rank)]
    code_of = {v: i for i, v in enumerate(vocab)}
    gold_codes = np.full(tasks.size, -1, dtype=np.int64)
    at = id_lookup(tasks, ds.gold["task"].to_numpy()[keep])  # the judged task of each gold row; -1: none
    gold_codes[at[at >= 0]] = [code_of[v] for v, judged in zip(values, at >= 0) if judged]
    if not (gold_codes >= 0).any():
        raise ValueError(f"dataset {name!r}: no task with judgments has a gold label; leave it out")
    return ReplayData(name.removeprefix("shared:").removeprefix("bundled:"), task.astype(np.int64),
                      worker.astype(np.int64), label.astype(np.int64), gold_codes, vocab)
