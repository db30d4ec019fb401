"""A measurement (not a benchmark with a target): how each categorical model's time, memory and
accuracy grow with the number of labels K.

A simulated crowd: ``--tasks`` tasks with a true label uniform over K, ``--judgments`` judgments
from ``--workers`` workers (task and worker drawn at random), each judgment the true label with
probability ``--accuracy`` (each worker its own, uniform within ``--spread`` of it) and otherwise
a uniform label (or, a share ``--neighbour`` of the errors, the label after the true one:
confusions that only full matrices can learn). Every model is fitted in its own subprocess (peak
RSS is then the model's own), one after the other; the table gives seconds, iterations, accuracy
against the simulated truth and peak RSS, and with ``--report`` the seconds of the worker report on
the same fit. Run from the repository root:
``python docs/research/many_labels.py --labels 1000`` (about a minute; ``--models bds:full`` adds the
default model with K x K matrices, about 3 minutes alone). Numbers of 2026-12-06 (load 0.6-1.0, each
model in its own process, compilation included): the default ``bds``, which above 32 labels fits one
accuracy per worker, 5.3-7.1 s over three runs, 4 iterations, 0.924, peak 1.8 GB (3.9-4.6 s and
1.2 GB since its E-step adds two numbers per judgment instead of a table row); majority vote
1.2-2.3 s, 0.923; one-coin DS 15.8 s, 0.925 (10.2-15.1 s and 3.5 GB; 5.5-6.7 s and 1.8 GB since
it has the same E-step, the nineteenth session). With full matrices (``bds:full``, the default before
that) it took 188 s and 3.5 GB for the same 0.924 (the sixteenth session's closing note).
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
skill = a["accuracy"] + a["spread"] * rng.uniform(-1, 1, a["workers"])  # each worker's accuracy
right = rng.random(a["judgments"]) < skill[w]
near = rng.random(a["judgments"]) < a["neighbour"]  # errors that go to the next label, not anywhere
wrong = np.where(near, (truth[t] + 1) % a["labels"], rng.integers(0, a["labels"], a["judgments"]))
lab = np.where(right, truth[t], wrong)
data = {"task": t, "worker": w, "label": lab}
t0 = time.perf_counter()
name, _, form = a["model"].partition(":")  # "bds:full": the default model with K x K matrices
m = galton.aggregate(data, name, output="pandas", **({"confusion": form} if form else {}))
seconds = time.perf_counter() - t0
report = None
if a["report"]:  # the worker report (galton aggregate --workers-output) on the same fit
    t1 = time.perf_counter()
    m.workers_
    report = time.perf_counter() - t1
labels = m.labels_.sort_index()
acc = float((labels.to_numpy() == truth[labels.index.to_numpy()]).mean())
print(json.dumps({"seconds": seconds, "iterations": getattr(m, "n_iter_", None), "accuracy": acc, "report": report,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labels", type=int, default=1000)
    p.add_argument("--tasks", type=int, default=20_000)
    p.add_argument("--judgments", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=300)
    p.add_argument("--accuracy", type=float, default=0.7)
    p.add_argument("--spread", type=float, default=0.0,
                   help="worker accuracies uniform in accuracy +- spread (0: all alike)")
    p.add_argument("--neighbour", type=float, default=0.0,
                   help="share of the errors that give the label after the true one (0: all errors uniform)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", action="store_true", help="also time the worker report of each fit")
    p.add_argument("--models", default="mv,wawa,glad,mmsr,one_coin_ds,bwa,bds")
    args = p.parse_args(argv)
    print(f"K={args.labels}, {args.judgments:,} judgments, {args.tasks:,} tasks, {args.workers} workers of "
          f"accuracy {args.accuracy} +- {args.spread}, {args.neighbour:.0%} of errors to the next label; "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'model':<12} {'seconds':>9} {'iterations':>10} {'accuracy':>9} {'peak MB':>8}"
          + (f" {'report s':>9}" if args.report else ""))
    for model in args.models.split(","):
        spec = {**vars(args), "model": model}
        out = subprocess.run([sys.executable, "-c", _FIT, json.dumps(spec)], capture_output=True, text=True)
        if out.returncode != 0:
            why = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode
            print(f"{model:<12} failed: {why}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{model:<12} {r['seconds']:9.2f} {str(r['iterations']):>10} {r['accuracy']:9.3f} {r['peak_mb']:8d}"
              + (f" {r['report']:9.2f}" if args.report else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
