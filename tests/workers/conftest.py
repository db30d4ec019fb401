"""One local Ray instance for the whole test session (2 CPUs, 127.0.0.1, dashboard off).

Starting Ray costs 10-20 s on a small machine, so every test that needs it shares this one; idle
shard actors are reused between tests the same way they are between fits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

try:
    import ray  # noqa: F401
except ImportError:  # pragma: no cover - Ray is in the test extra
    collect_ignore_glob = ["test_*.py"]  # galton runs without Ray; these tests need it


@pytest.fixture(scope="session")
def ray_session():
    from galton.workers import cluster

    info = cluster.connect("local", num_cpus=2, include_dashboard=False)
    yield info
    cluster.shutdown()


def simulate(seed: int, n_tasks: int = 300, n_workers: int = 30, n_labels: int = 3,
             per_task: int = 5, *, with_truth: bool = False) -> Any:
    """Judgments of workers with accuracies in [0.45, 0.95], errors uniform over the other labels
    (and the true label of each task when ``with_truth``)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_labels, n_tasks)
    accuracy = rng.uniform(0.45, 0.95, n_workers)
    task = np.repeat(np.arange(n_tasks), per_task)
    worker = np.concatenate([rng.choice(n_workers, per_task, replace=False) for _ in range(n_tasks)])
    right = rng.random(task.size) < accuracy[worker]
    wrong = (truth[task] + rng.integers(1, n_labels, task.size)) % n_labels
    label = np.where(right, truth[task], wrong)
    data = {"task": task, "worker": worker, "label": label}
    return (data, truth) if with_truth else data


@pytest.fixture(scope="session")
def make_judgments():
    """The simulator above, for tests that need their own sizes or seeds."""
    return simulate
