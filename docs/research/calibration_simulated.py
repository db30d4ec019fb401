"""The default's calibration on data drawn from the model itself: rho should stay 0 (every temperature 1).

Sixteen crowds of 30 workers, each 55-90% right (uniform), 3 labels, 10 or 20 judgments per task by distinct
workers who err independently (the one-coin model the default contains), for 500, 1,000 and 2,000 tasks. Prints, for
each crowd, the rho ``bds`` chose (its temperatures ``1 / (1 + (n - 1) rho)``; before 2026-12-07 one temperature,
printed in its place by a galton without ``rho_``) and how much it moved the mean log-loss of the true label (nats),
then how many crowds kept their posteriors as fitted. Measured on 2026-12-07 (one temperature): 16 of 16 at each
size; on 2026-12-07 (rho): 16 of 16 at each size (README, "How sure is it?").

    python docs/research/calibration_simulated.py [N_TASKS ...]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import galton


def crowd(per: int, seed: int, n_tasks: int, n_workers: int = 30, k: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_tasks)
    accuracy = rng.uniform(0.55, 0.9, n_workers)
    task = np.repeat(np.arange(n_tasks), per)
    worker = np.concatenate([rng.choice(n_workers, per, replace=False) for _ in range(n_tasks)])
    wrong = (truth[task] + rng.integers(1, k, task.size)) % k
    label = np.where(rng.random(task.size) < accuracy[worker], truth[task], wrong)
    return pd.DataFrame({"task": task, "worker": worker, "label": label}), truth


def log_loss(probas: pd.DataFrame, truth: np.ndarray) -> float:
    p = probas.loc[np.arange(truth.size), [0, 1, 2]].to_numpy()
    return float(-np.log(np.clip(p[np.arange(truth.size), truth], 1e-12, 1)).mean())


def main(sizes: list[int]) -> None:
    for n_tasks in sizes:
        kept = 0
        print(f"{n_tasks} tasks: judgments per task, seed, rho (or temperature), change in log-loss of the truth")
        for per in (10, 20):
            for seed in range(8):
                df, truth = crowd(per, seed, n_tasks)
                tempered = galton.BayesianDawidSkene().fit(df)
                raw = galton.BayesianDawidSkene(calibrate=False).fit(df)
                kept += tempered.temperature_ == 1.0
                change = log_loss(tempered.probas_, truth) - log_loss(raw.probas_, truth)
                chosen = getattr(tempered, "rho_", tempered.temperature_)
                print(f"  {per:2d} {seed} {chosen:.3f} {change:+.4f}", flush=True)
        print(f"  as fitted (rho 0, temperature 1): {kept} of 16")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [500, 1000, 2000])
