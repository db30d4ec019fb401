"""Results written where the shards live: one Parquet part file per shard, published atomically.

:func:`write_parquet_dir` runs one engine call: each shard computes its tasks' posteriors with the
fitted parameters and writes ``task, label, confidence, p_<label>...`` (the columns of
:func:`galton.io.results_table`, whose ``top`` it takes too) to a part file in a hidden temporary directory next to the
destination. The driver then names the parts ``part-00000.parquet ...`` in shard order and renames
the directory into place (:func:`galton.io.atomic_dir`), after deleting any other file (the parts of
an actor killed during the write, which its retry wrote again): readers never see a half-written result,
a failed or interrupted run leaves nothing, and the directory carries galton's marker
(:data:`galton.io.MARKER`), without which an existing destination is never replaced. Only file
names travel back to the driver, never the results.

On a multi-machine cluster the destination must be on a file system that every node sees.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..aggregator._base import argmax_ties_low
from ..io import atomic_dir, results_columns, write_table

__all__ = ["write_parquet_dir", "write_shard_part"]


def write_shard_part(shard: Any, posterior_fn: Callable[..., np.ndarray], params: Any, directory: str,
                     label_names: np.ndarray, task_names: np.ndarray | None = None, top: int | None = None) -> str:
    """Engine function: write one shard's results to a uniquely named file in ``directory`` (with
    ``top``, the most probable labels instead of every label's probability, as in
    :func:`galton.io.results_table`).

    The shard's task ids come from ``shard.task_names`` (shards built by distributed ingest) or
    from ``task_names[shard.task_ids]``. Returns the file name.
    """
    names = getattr(shard, "task_names", None)
    if names is None:
        if task_names is None:
            raise ValueError("the shards hold no task ids; pass task_names")
        names = np.asarray(task_names)[shard.task_ids]
    post = np.asarray(posterior_fn(shard, params), dtype=np.float64).reshape(len(names), len(label_names))
    codes = argmax_ties_low(post) if post.shape[0] else np.zeros(0, dtype=np.int64)
    table = results_columns(names, label_names, post, codes, top)
    name = f".part-{secrets.token_hex(8)}.parquet"
    write_table(table, os.path.join(directory, name))  # galton's one writer: zstd, flushed, renamed
    return name


def write_parquet_dir(engine: Any, posterior_fn: Callable[..., np.ndarray], params: Any,
                      path: str | os.PathLike[str], label_names: np.ndarray,
                      task_names: np.ndarray | None = None, *, overwrite: bool = True,
                      top: int | None = None) -> Path:
    """Write every shard's results as ``path/part-NNNNN.parquet`` (one per shard, in shard order).

    Parameters
    ----------
    engine : a loaded engine (local or Ray)
    posterior_fn : ``fn(shard, params) -> (n_tasks_in_shard, K)`` task posteriors (a model's
        ``_posteriors``)
    params : the fitted parameters
    path : destination directory (its parent must exist); replaced atomically when it exists and
        galton wrote it (else ``FileExistsError`` before any shard writes)
    label_names : the global label vocabulary
    task_names : the global task vocabulary, for shards that do not carry their own task ids
    top : the ``top`` most probable labels per task instead of every label's probability

    Returns
    -------
    pathlib.Path
    """
    with atomic_dir(path, overwrite=overwrite, kind="results") as tmp:  # never a simulation or a report
        # absolute: the shards write in their actors, whose folder is not the driver's
        names = engine.map(write_shard_part, posterior_fn, params, os.path.abspath(tmp), np.asarray(label_names),
                           task_names, top)
        for s, name in enumerate(names):
            os.replace(tmp / name, tmp / f"part-{s:05d}.parquet")
        _drop_strays(tmp, {f"part-{s:05d}.parquet" for s in range(len(names))})
    return Path(path)


def _drop_strays(tmp: Path, keep: set[str]) -> None:
    """Delete what the shards left in ``tmp`` beside the parts they returned: an actor killed in the
    middle of the write left the parts it had finished, and its retry wrote them again under new
    names (published too, they doubled those shards' rows for a reader's glob)."""
    for entry in os.scandir(tmp):
        if entry.name in keep:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.remove(entry.path)
