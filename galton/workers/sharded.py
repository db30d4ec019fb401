"""The driver's handle on judgments that live in an engine's shards, and the shards themselves.

:func:`galton.workers.ingest.ingest` (``RayEngine.load_parquet``) builds :class:`NamedShard` objects
in Ray tasks and returns a :class:`ShardedJudgments`: what the driver knows of the data (sizes,
the global worker and label vocabularies) without its per-judgment codes. ``model.fit`` accepts it
in place of :class:`galton.judgments.Judgments` and runs on the engine holding the shards.
:func:`fit_parquet` is the whole path in one call (the CLI uses it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..aggregator._engine import LoadedData, Shard
from ..data._encode import id_lookup
from ..data._validate import examples
from ..data.judgments import label_codes

__all__ = ["GoldSharesNoTaskWarning", "NamedShard", "ShardedCodesError", "ShardedJudgments", "fit_parquet"]

@dataclass
class NamedShard(Shard):
    """A :class:`~galton.aggregator._engine.Shard` that also holds its tasks' own ids.

    ``task_names[i]`` is the user's id of local task ``i`` (sorted); ``task_ids`` are the global
    (shard-major) task codes.
    """

    task_names: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)


class ShardedCodesError(ValueError, AttributeError):
    """A model asked the driver for per-judgment codes that live only in the shards."""


class GoldSharesNoTaskWarning(UserWarning):
    """Gold given to ``load_parquet`` names none of the judged tasks: it is ignored, as in a local fit
    (``gold_ids`` and ``data_ids``: a few ids of each side; the command line refuses it)."""

    def __init__(self, gold_ids: Any, data_ids: Any):
        self.gold_ids, self.data_ids = list(gold_ids)[:3], list(data_ids)[:3]
        super().__init__(f"gold shares no task with the judgments (gold task ids look like "
                         f"[{examples(self.gold_ids)}], the judgments' like [{examples(self.data_ids)}]); "
                         "it is ignored")

    def __reduce__(self) -> tuple[Any, ...]:  # the default passes (message,), not (gold_ids, data_ids)
        return type(self), (self.gold_ids, self.data_ids), vars(self)


def _shard_task_names(shard: NamedShard) -> np.ndarray:
    return shard.task_names


def _shard_task_counts(shard: Shard) -> np.ndarray:
    return np.diff(shard.indptr)


@dataclass(eq=False)
class ShardedJudgments(LoadedData):
    """Judgments loaded into an engine's shards by :func:`galton.workers.ingest.ingest`: what the
    driver knows of them.

    It stands in for :class:`galton.judgments.Judgments` in ``model.fit(data)``: the model runs on
    the engine that holds the shards. Per-judgment codes (``task``, ``worker``, ``label``) stay in
    the shards; ``task_names`` is fetched from them on first use (in global task code order).

    Attributes
    ----------
    engine : the engine holding the shards
    worker_names, label_names : global sorted vocabularies
    shard_tasks : tasks per shard (global task codes are shard-major)
    n_judgments, n_dropped : judgments loaded, and rows dropped (nulls, duplicates policy)
    source_kind : frame type of results ("polars" for files)
    n_units : Ray tasks that read the input (files or row-group ranges, blocks, slices)
    seconds : wall time of each ingest phase
    repeats : rows repeating a (task, worker) pair, pairs, and a few of them, when loaded with
        ``duplicates=None`` (the fit of a categorical model warns of them); else None
    labels_used : which labels a judgment or a gold task gives (bool)
    """

    engine: Any
    generation: str
    worker_names: np.ndarray
    label_names: np.ndarray
    shard_tasks: tuple[int, ...]
    n_judgments: int
    source_kind: str = "polars"
    n_dropped: int = 0
    columns: tuple[str, str, str] = ("task", "worker", "label")
    n_units: int = 0
    seconds: dict = field(default_factory=dict)
    repeats: tuple | None = None
    labels_used: np.ndarray | None = None
    _task_names: np.ndarray | None = field(default=None, repr=False)
    _task_order: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_tasks(self) -> int:
        return int(sum(self.shard_tasks))

    @property
    def n_workers(self) -> int:
        return int(self.worker_names.size)

    @property
    def n_labels(self) -> int:
        return int(self.label_names.size)

    @property
    def n_shards(self) -> int:
        return len(self.shard_tasks)

    def __len__(self) -> int:
        return self.n_judgments

    def __repr__(self) -> str:
        return (f"ShardedJudgments({self.n_judgments} judgments, {self.n_tasks} tasks, {self.n_workers} "
                f"workers, {self.n_labels} labels in {self.n_shards} shards)")

    def check_loaded(self) -> None:
        """Raise ValueError when the engine no longer holds these shards."""
        if getattr(self.engine, "generation", None) != self.generation:
            raise ValueError(
                "the engine that held these judgments was closed or loaded with other data; load them "
                "again with engine.load_parquet(...)"
            )

    @property
    def task_names(self) -> np.ndarray:
        """The user's task id of every global task code (fetched from the shards once)."""
        if self._task_names is None:
            self.check_loaded()
            names = self.engine.gather(_shard_task_names)
            names.setflags(write=False)
            self._task_names = names
        return self._task_names

    def counts_per_task(self) -> np.ndarray:
        self.check_loaded()
        return self.engine.gather(_shard_task_counts)

    @property
    def task_order(self) -> np.ndarray:
        """The global task codes in the order of their ids: results are built in it, so they are
        sorted by id as a local fit's are, whatever the number of shards (computed once)."""
        if self._task_order is None:
            self._task_order = np.argsort(self.task_names, kind="stable")
        return self._task_order

    def task_index(self, values: Any) -> np.ndarray:
        """Global task codes of task ids; -1 for ids that have no judgments."""
        order = self.task_order
        pos = id_lookup(self.task_names[order], values)  # typed as Judgments.task_index types them
        return np.where(pos >= 0, order[np.maximum(pos, 0)], -1).astype(np.int32)

    def worker_index(self, values: Any) -> np.ndarray:
        """Global worker codes of worker ids; -1 for workers without judgments (``predict`` on new
        data looks its workers up here; it raised AttributeError after a distributed fit)."""
        return id_lookup(self.worker_names, values)

    def label_index(self, values: Any, *, what: str = "gold", tasks: Any = None) -> np.ndarray:
        """Label codes as :meth:`galton.judgments.Judgments.label_index` gives them (3.5 is no label 3;
        a cast here truncated it), raising for values outside the label set."""
        return label_codes(self.label_names, values, what=what, tasks=tasks)

    def _codes(self, name: str) -> Any:
        raise ShardedCodesError(
            f"judgments.{name}: the per-judgment codes of data loaded with load_parquet live in the "
            "shards, not in this process; compute what you need through the engine "
            "(engine.map_sum(fn) with fn(shard) reading shard.worker / shard.label)"
        )

    task = property(lambda self: self._codes("task"))
    worker = property(lambda self: self._codes("worker"))
    label = property(lambda self: self._codes("label"))

    def write_results(self, posterior_fn: Any, params: Any, path: str | os.PathLike[str],
                      top: int | None = None) -> Path:
        """Write labels, confidence and probabilities (or the ``top`` most probable labels) as a
        Parquet directory, one part per shard (see :func:`galton.workers.output.write_parquet_dir`)."""
        from .output import write_parquet_dir

        self.check_loaded()
        return write_parquet_dir(self.engine, posterior_fn, params, path, self.label_names, top=top)



def fit_parquet(model: Any, source: Any, *, address: str | None = None, n_shards: int | None = None,
                results_dir: str | os.PathLike[str] | None = None,
                checkpoint_dir: str | os.PathLike[str] | None = None, checkpoint_every: int = 1,
                results_top: int | None = None, **ingest_options: Any) -> ShardedJudgments:
    """Load ``source`` into a new :class:`~galton.workers.engine.RayEngine` (distributed ingest),
    fit ``model`` on it and release the engine. ``model``: an EM model of (task, worker, label)
    judgments (categorical or rating); pairwise and choice models are refused before anything is read.

    With ``results_dir`` the shards write the results there (a Parquet directory; refused before any
    work when it is, holds or lies in ``source``, or is a directory galton did not write; with
    ``results_top`` the most probable labels only); otherwise they are collected into
    ``model.labels_`` / ``probas_`` (and the task ids into the returned handle).
    ``checkpoint_dir`` / ``checkpoint_every`` go to the fit (a run again resumes; see
    ``model.fit``). ``ingest_options`` go to :func:`galton.workers.ingest.ingest` (column names, gold,
    on_invalid...).
    """
    from ..aggregator import EMAggregator, resolve_engine
    from ..io import output_within, plan_output, same_output

    if not isinstance(model, EMAggregator):  # it failed on a keyword it lacks, after Ray started
        raise TypeError(f"fit_parquet runs the models that iterate over shards (EM models); {type(model).__name__} "
                        "reads its judgments in this process: read the files with galton.io.read_input(path) and "
                        "fit that")
    kind = getattr(model, "kind", "categorical")
    if kind in ("pairwise", "choice"):  # it read the files, then missed their 'task' column
        rows = "worker, left, right, label" if kind == "pairwise" else "worker, options, choice"
        raise TypeError(f"fit_parquet reads (task, worker, label) judgments; {type(model).__name__} is a {kind} "
                        f"model ({rows} rows): read the files with galton.io.read_input(path) and fit that "
                        "(engine='ray' runs it on Ray)")
    if results_dir is not None and kind != "categorical":
        raise ValueError(f"results_dir writes labels and class probabilities; {type(model).__name__} gives "
                         f"{model.kind} results: leave results_dir out and read the model's results")
    if results_dir is not None:  # refused before any work: an input, or a folder galton did not write
        plan_output(results_dir, inputs=[source, ingest_options.get("gold")], directory=True,
                    what="results_dir", kind="results")
    if checkpoint_dir is not None:  # inside the results: they refused to replace a folder with them
        # (after the whole fit), or took them with the replacement; by file: a link, a bind mount
        for what, other in (("results_dir", results_dir), ("the input", source)):
            if isinstance(other, (str, os.PathLike)) and (same_output(checkpoint_dir, other)
                                                          or output_within(checkpoint_dir, other)):
                raise ValueError(f"checkpoint_dir {os.fspath(checkpoint_dir)!r} is or lies inside {what} "
                                 f"({os.fspath(other)!r}); give the checkpoints a directory of their own")
    ingest_options.setdefault("numeric", getattr(model, "kind", "categorical") == "rating")  # no class warnings
    # the engine "ray" by its factory: without Ray, its "needs Ray: pip install" (not "No module named 'ray'")
    with resolve_engine("ray", n_shards=n_shards, address=address) as engine:
        data = engine.load_parquet(source, **ingest_options)
        model.fit(data, results_dir=results_dir, checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
                  results_top=results_top)
        if results_dir is None:
            _ = data.task_names  # fetched while the shards are there
    return data
