"""A measurement (not a benchmark with a target): how each categorical model's time, memory and
accuracy grow with the number of labels K.

A simulated crowd: ``--tasks`` tasks with a true label uniform over K, ``--judgments`` judgments
from ``--workers`` workers (task and worker drawn at random), each judgment the true label with
probability ``--accuracy`` and a uniform label otherwise. Every model is fitted in its own
subprocess (peak RSS is then the model's own), one after the other; the table gives seconds,
iterations, accuracy against the simulated truth and peak RSS. Run from the repository root:
``python docs/research/many_labels.py --labels 1000`` (about 6 minutes on 2 cores with the default
``bds``, which dominates; ``--models mv,one_coin_ds,glad`` for a quick look). Numbers measured on
2026-12-05 are in the sixteenth session's closing note (1,000 labels: the default 188 s, 16
iterations, 0.924; majority vote 2.6 s, 0.923).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

_FIT = r"""
import json, resource, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
import galton
a = json.loads(sys.argv[1])
rng = np.random.default_rng(a["seed"])
truth = rng.integers(0, a["labels"], a["tasks"])
t = rng.integers(0, a["tasks"], a["judgments"])
w = rng.integers(0, a["workers"], a["judgments"])
right = rng.random(a["judgments"]) < a["accuracy"]
lab = np.where(right, truth[t], rng.integers(0, a["labels"], a["judgments"]))
data = {"task": t, "worker": w, "label": lab}
t0 = time.perf_counter()
m = galton.aggregate(data, a["model"], output="pandas")
seconds = time.perf_counter() - t0
labels = m.labels_.sort_index()
acc = float((labels.to_numpy() == truth[labels.index.to_numpy()]).mean())
print(json.dumps({"seconds": seconds, "iterations": getattr(m, "n_iter_", None), "accuracy": acc,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labels", type=int, default=1000)
    p.add_argument("--tasks", type=int, default=20_000)
    p.add_argument("--judgments", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=300)
    p.add_argument("--accuracy", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", default="mv,wawa,glad,mmsr,one_coin_ds,bwa,bds")
    args = p.parse_args(argv)
    print(f"K={args.labels}, {args.judgments:,} judgments, {args.tasks:,} tasks, {args.workers} workers of "
          f"accuracy {args.accuracy}; load {os.getloadavg()[0]:.2f}")
    print(f"{'model':<12} {'seconds':>9} {'iterations':>10} {'accuracy':>9} {'peak MB':>8}")
    for model in args.models.split(","):
        spec = {**vars(args), "model": model}
        out = subprocess.run([sys.executable, "-c", _FIT, json.dumps(spec)], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{model:<12} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{model:<12} {r['seconds']:9.2f} {str(r['iterations']):>10} {r['accuracy']:9.3f} {r['peak_mb']:8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
