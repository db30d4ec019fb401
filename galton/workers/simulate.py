"""Simulate crowds at scale: the :mod:`galton.datasets.simulate` models in parallel Ray tasks.

:func:`simulate` cuts the tasks into the configuration's random-stream chunks, groups consecutive
chunks into part files and runs one Ray task per part file, at most ``max_in_flight`` at a time, so
memory stays bounded by a few chunks per CPU whatever the size of the data set. Every chunk is drawn
from its own seed, so the files are byte-identical however many tasks run at once, and their
concatenation equals ``galton.datasets.simulate.simulate(config)`` held in memory.

Output directory::

    OUT/
      config.json                  CrowdConfig.to_dict(): CrowdConfig.from_dict(json.load(...))
      workers.parquet              worker, kind, accuracy (the worker's own, before
                                   worker_correlation and traps), effective_accuracy (with
                                   them: the rate of right judgments at median difficulty),
                                   is_expert, constant_label (WorkerTable's attributes)
                                   (+ confusion: list of K*K floats, row-major [true, answer],
                                   for worker_model="full")
      judgments/part-00000.parquet task (int64), worker (int32, or text "w0001" when
                                   worker_ids="str"), label (int32); sorted by task then worker
                                   (5 digits, more beyond 99,999 files: the names sort in task order)
      truth/part-00000.parquet     task (int64), true_label (int32), difficulty (float64, 1/beta),
                                   is_trap (bool)

``galton.Judgments.from_any(OUT / "judgments")`` reads the judgments back. Everything is written to
a temporary sibling directory that is renamed to ``OUT`` at the end, so a failed or interrupted run
leaves nothing. The Ray tasks write the part files themselves: on a multi-machine cluster ``OUT``
must be on a file system that every node sees.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import ray

from ..datasets._population import worker_name_bytes
from ..datasets.simulate import CrowdConfig, WorkerTable, sample_workers, simulate_chunks
from ..io import PARQUET_ZSTD_LEVEL, atomic_dir, check_place, check_replaceable, write_table
from .cluster import connect

__all__ = ["SimulationSummary", "part_name", "simulate", "workers_table", "write_part"]



@dataclass(frozen=True)
class SimulationSummary:
    """What :func:`simulate` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The output directory.
    n_tasks, n_workers, n_judgments, n_files : int
        Sizes of the data set and number of part files (per table).
    seconds : float
        Wall time of the whole run, connection to Ray excluded.
    """

    path: Path
    n_tasks: int
    n_workers: int
    n_judgments: int
    n_files: int
    seconds: float

    @property
    def judgments_per_second(self) -> float:
        return self.n_judgments / self.seconds if self.seconds > 0 else float("inf")


def _worker_column(worker: np.ndarray, config: CrowdConfig) -> pa.Array:
    """The ``worker`` column: the codes, or (``worker_ids="str"``) the names of these codes only, not a
    table of every worker's name (1.7 s per part file for 1M workers)."""
    if config.worker_ids != "str":
        return pa.array(worker)
    return pa.array(worker_name_bytes(config.n_workers, worker)).cast(pa.string())


def part_name(part: int, n_parts: int) -> str:
    """``part-00007.parquet``: the number zero-padded to 5 digits, or to the width of the last
    part's number beyond 99,999 parts, so that the names sort in task order."""
    return f"part-{part:0{max(5, len(str(max(n_parts, 1) - 1)))}d}.parquet"


def write_part(
    config: CrowdConfig, workers: WorkerTable, chunks: tuple[int, int], part: int, directory: str,
    n_parts: int | None = None,
) -> tuple[int, int, int]:
    """Write chunks ``[chunks[0], chunks[1])`` as part file number `part` (one row group each);
    `n_parts`, the number of part files (default ``config.n_chunks``, the most there can be), sets
    the width of the number in the name (:func:`part_name`).

    This is the body of the Ray task; it runs as well in the calling process.

    Returns
    -------
    (part, n_tasks, n_judgments)
    """
    jschema = pa.schema([("task", pa.int64()), ("worker", pa.string() if config.worker_ids == "str" else pa.int32()),
                         ("label", pa.int32())])
    tschema = pa.schema([("task", pa.int64()), ("true_label", pa.int32()),
                         ("difficulty", pa.float64()), ("is_trap", pa.bool_())])
    name = part_name(part, config.n_chunks if n_parts is None else n_parts)
    n_tasks = n_judgments = 0
    with pq.ParquetWriter(os.path.join(directory, "judgments", name), jschema,
                          compression="zstd", compression_level=PARQUET_ZSTD_LEVEL) as jw, \
         pq.ParquetWriter(os.path.join(directory, "truth", name), tschema,
                          compression="zstd", compression_level=PARQUET_ZSTD_LEVEL) as tw:
        # one chunk in memory at a time; the per-worker tables built once per part, not per chunk
        for chunk, d in zip(range(*chunks), simulate_chunks(config, workers, *chunks)):
            start, stop = config.chunk_bounds(chunk)
            jw.write_table(pa.table([pa.array(d["task"]), _worker_column(d["worker"], config),
                                     pa.array(d["label"])], schema=jschema))
            tw.write_table(pa.table([pa.array(np.arange(start, stop, dtype=np.int64)),
                                     pa.array(d["true_label"]), pa.array(d["difficulty"]),
                                     pa.array(d["is_trap"])], schema=tschema))
            n_tasks += stop - start
            n_judgments += int(d["task"].shape[0])
    return part, n_tasks, n_judgments


def workers_table(config: CrowdConfig, workers: WorkerTable) -> pa.Table:
    """The true worker parameters as an Arrow table (the content of ``workers.parquet``)."""
    ids = np.arange(config.n_workers, dtype=np.int32)
    cols: dict[str, pa.Array] = {
        "worker": _worker_column(ids, config),
        "kind": pa.array(workers.kind.astype(object), pa.string()),
        "accuracy": pa.array(workers.accuracy),
        "effective_accuracy": pa.array(workers.accuracy if workers.effective_accuracy is None
                                       else workers.effective_accuracy),
        "is_expert": pa.array(workers.is_expert),
        "constant_label": pa.array(workers.constant_label, mask=workers.constant_label < 0),
    }
    if workers.confusion is not None:
        K = config.n_classes
        flat = pa.array(workers.confusion.reshape(-1))
        cols["confusion"] = pa.ListArray.from_arrays(
            pa.array(np.arange(0, (config.n_workers + 1) * K * K, K * K, dtype=np.int32)), flat)
    return pa.table(cols)


def _groups(n_chunks: int, files: int | None) -> list[tuple[int, int]]:
    """Consecutive chunk ranges, one per part file, sizes differing by at most one."""
    if files is not None and int(files) < 1:
        raise ValueError(f"files={files!r}: need at least 1 part file (or None: one per chunk)")
    k = n_chunks if files is None else min(int(files), n_chunks)
    bounds = [n_chunks * i // k for i in range(k + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(k)]


def _connect(address: str | None) -> float:
    """Start or join Ray through :func:`galton.workers.cluster.connect`; return its CPUs."""
    return max(connect(address).num_cpus, 1.0)


def simulate(
    config: CrowdConfig,
    out_dir: str | os.PathLike[str],
    *,
    address: str | None = None,
    files: int | None = None,
    overwrite: bool = False,
    max_in_flight: int | None = None,
    progress: bool | None = None,
) -> SimulationSummary:
    """Simulate `config` in parallel Ray tasks and write it as a Parquet directory.

    Parameters
    ----------
    config : CrowdConfig
        The population and tasks (see :mod:`galton.datasets.simulate`).
    out_dir : path-like
        Directory to create (layout in the module docstring).
    address : str, optional
        Ray cluster to join (``galton.workers.cluster.connect`` rules: explicit > ``RAY_ADDRESS``
        > a new local instance on 127.0.0.1).
    files : int, optional
        Number of part files per table; consecutive chunks are grouped. Default: one per chunk
        (``config.tasks_per_chunk`` tasks each). At most ``config.n_chunks``.
    overwrite : bool
        Replace an existing `out_dir` (only once the new one is complete).
    max_in_flight : int, optional
        Ray tasks running or queued at once (default twice the cluster's CPUs); bounds memory.
    progress : bool, optional
        Progress bar on stderr (default: when stderr is a terminal).

    Returns
    -------
    SimulationSummary

    Raises
    ------
    FileExistsError
        If `out_dir` exists and `overwrite` is false.
    """
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True to replace it or choose another path")
    check_replaceable(out, "simulation")  # never a directory galton did not write, nor another command's
    check_place(out, "out_dir")  # a place that takes no file: before Ray starts, not after the run
    if max_in_flight is not None and int(max_in_flight) < 1:
        raise ValueError(f"max_in_flight={max_in_flight!r} must be at least 1")
    groups = _groups(config.n_chunks, files)
    cpus = _connect(address)
    limit = int(max_in_flight) if max_in_flight is not None else max(2, int(2 * cpus))
    from .._progress import Progress

    t0 = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    pending: list[Any] = []
    with atomic_dir(out, overwrite=overwrite, kind="simulation") as tmp:  # galton marks it; replaces only its own
        try:
            (tmp / "judgments").mkdir()
            (tmp / "truth").mkdir()
            workers = sample_workers(config)
            workers_ref = ray.put(workers)
            remote = ray.remote(num_cpus=1, max_retries=0)(write_part)
            bar = Progress(config.n_tasks, "simulate", enabled=progress)
            n_tasks = n_judgments = 0

            def collect(done: list[Any]) -> None:
                nonlocal n_tasks, n_judgments
                for _, t, j in ray.get(done):
                    n_tasks, n_judgments = n_tasks + t, n_judgments + j
                bar.update(n_tasks, f"{n_judgments:,} judgments")

            for part, chunks in enumerate(groups):
                if len(pending) >= limit:
                    done, pending = ray.wait(pending, num_returns=1)
                    collect(done)
                # absolute: a Ray task runs in its worker's folder, not the driver's
                pending.append(remote.remote(config, workers_ref, chunks, part, os.path.abspath(tmp), len(groups)))
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                collect(done)
            bar.close()
            write_table(workers_table(config, workers), tmp / "workers.parquet")  # galton's one writer
            (tmp / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
            if n_tasks != config.n_tasks:  # pragma: no cover - a bug, not a user error
                raise RuntimeError(f"wrote {n_tasks} tasks, expected {config.n_tasks}")
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            if pending:
                ray.wait(pending, num_returns=len(pending), timeout=30)
            raise
    return SimulationSummary(path=out, n_tasks=n_tasks, n_workers=config.n_workers,
                             n_judgments=n_judgments, n_files=len(groups),
                             seconds=time.perf_counter() - t0)


