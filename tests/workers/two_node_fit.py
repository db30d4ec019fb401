"""Run by tests/workers/test_multinode.py in its own interpreter (the test session already holds a
local Ray instance): a Ray cluster of two nodes on this machine (Ray's ``cluster_utils.Cluster``:
a head node and a second node, each with one CPU, both on the loopback address), a Dawid-Skene fit
on two shards through :class:`galton.workers.RayEngine` joined to that cluster by its address.
The cluster is joined a second time by another spelling of its address (localhost for 127.0.0.1).
Prints one JSON line: the nodes, where the shards ran, and the fits next to the local one."""

import json
import sys
import warnings

import numpy as np
import ray
from ray.cluster_utils import Cluster

import galton
from galton.workers import RayEngine


def main() -> int:
    warnings.simplefilter("ignore")
    node = {"num_cpus": 1, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    try:
        cluster.add_node(**node)
        cluster.wait_for_nodes()
        data = galton.load_dataset("welinder_bluebirds").judgments
        eng = RayEngine(address=cluster.address, n_shards=2)
        try:
            fit = galton.DawidSkene(n_iter=30, tol=-np.inf).fit(data, engine=eng)
            placement = eng.placement()
        finally:
            eng.close()
        # the same cluster by another spelling of its address (Ray names it 127.0.0.1:port): every
        # connect of one fit joins it (the second connect of a fit raised "already connected")
        galton.workers.shutdown()
        eng = RayEngine(address=cluster.address.replace("127.0.0.1", "localhost"), n_shards=2)
        try:
            alias = galton.DawidSkene(n_iter=30, tol=-np.inf).fit(data, engine=eng)
        finally:
            eng.close()
        alive = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
        local = galton.DawidSkene(n_iter=30, tol=-np.inf, n_shards=2).fit(data)
        print(json.dumps({
            "nodes": alive,
            "placement": placement,
            "same_posteriors": bool(np.array_equal(fit.posteriors_, local.posteriors_)),
            "same_labels": bool(fit.labels_.equals(local.labels_)),
            "alias_same": bool(np.array_equal(alias.posteriors_, local.posteriors_)),
            "n_iter": [int(fit.n_iter_), int(local.n_iter_)],
        }))
    finally:
        ray.shutdown()
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
