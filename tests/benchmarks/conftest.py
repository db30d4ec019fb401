"""A local Ray instance shared by the study tests that compare Ray with in-process runs (2 CPUs,
127.0.0.1, dashboard off), per test module, stopped only if that module started it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def ray_local():
    pytest.importorskip("ray")
    from galton.workers import cluster

    started = not cluster.is_connected()
    info = cluster.connect("local", num_cpus=2, include_dashboard=False)
    yield info
    if started:
        cluster.shutdown()
