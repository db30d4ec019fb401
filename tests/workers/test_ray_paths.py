"""Relative paths given to the Ray path are the driver's: Ray's workers run in the folder the
cluster started in, so every path that goes to them (inputs, results, simulation output) travels
absolute.

The session's Ray instance started in the folder pytest runs in; each test moves the driver to its
own ``tmp_path`` and names its files relative to it, with a decoy of the same name in the workers'
folder where a wrong reader would find it.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from ray import cloudpickle

from galton.aggregator import DawidSkene
from galton.cli import main
from galton.datasets.simulate import CrowdConfig
from galton.workers.sharded import fit_parquet
from galton.workers.simulate import simulate

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # actors cannot import test modules


def _cwd() -> str:
    return os.getcwd()


def _judgments(directory: Path, prefix: str, n_tasks: int = 60) -> Path:
    rng = np.random.default_rng(len(prefix))
    task = np.repeat([f"{prefix}{i:03d}" for i in range(n_tasks)], 3)
    worker = np.tile([1, 2, 3], n_tasks)
    label = rng.integers(0, 2, task.size)
    directory.mkdir(parents=True)
    pq.write_table(pa.table({"task": task, "worker": worker, "label": label}), directory / "part-0.parquet")
    return directory


@pytest.fixture()
def elsewhere(ray_session, tmp_path, monkeypatch):
    """The driver in ``tmp_path/driver`` with ``judg/`` (tasks d000...); the Ray workers' folder
    (the one the session started in) given a ``judg/`` of other tasks (w000...) for the test."""
    import ray

    workers_dir = Path(ray.get(ray.remote(_cwd).remote()))
    driver = tmp_path / "driver"
    driver.mkdir()
    _judgments(driver / "judg", "d")
    decoy = workers_dir / "judg"
    made = not decoy.exists()
    if made:
        _judgments(decoy, "w")
    monkeypatch.chdir(driver)
    yield driver
    if made:
        for f in decoy.iterdir():
            f.unlink()
        decoy.rmdir()


def test_a_relative_input_and_results_dir_are_the_drivers(elsewhere):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collected = fit_parquet(DawidSkene(n_iter=3), "judg", n_shards=2)
        fit_parquet(DawidSkene(n_iter=3), "judg", n_shards=2, results_dir="labels")
    assert sorted(collected.task_names.tolist()) == [f"d{i:03d}" for i in range(60)]
    written = pq.read_table(elsewhere / "labels")
    assert sorted(written["task"].to_pylist()) == [f"d{i:03d}" for i in range(60)]
    assert sorted(os.listdir(elsewhere)) == ["judg", "labels"]


def test_the_cli_reads_and_writes_relative_paths_on_ray(elsewhere):
    assert main(["aggregate", "judg", "--engine", "ray", "--shards", "2", "-m", "ds", "-o", "out.csv", "-q"]) == 0
    assert main(["aggregate", "judg", "--engine", "ray", "--shards", "2", "-m", "ds", "-o", "out_dir", "-q"]) == 0
    assert main(["aggregate", "judg", "-m", "ds", "-o", "local.csv", "-q"]) == 0
    local = pcsv.read_csv(elsewhere / "local.csv")
    assert pcsv.read_csv(elsewhere / "out.csv")["task"].equals(local["task"])
    assert pq.read_table(elsewhere / "out_dir").sort_by("task")["label"].equals(local["label"])


def test_simulate_writes_a_relative_out_dir_where_the_driver_is(ray_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    summary = simulate(CrowdConfig(n_tasks=200, n_workers=10, seed=3, tasks_per_chunk=100), "sim", files=2)
    assert summary.n_tasks == 200
    assert sorted(os.listdir(tmp_path / "sim" / "judgments")) == ["part-00000.parquet", "part-00001.parquet"]
    assert pq.read_table(tmp_path / "sim" / "truth")["task"].to_pylist() == list(range(200))
