"""A measurement for issue 12 (not a galton model): does Krippendorff's alpha, computed without gold,
tell which datasets want Dawid-Skene rather than the default?

Rule: fit ``ds`` where the judgments' nominal alpha is below a threshold ``t``, the default ``bds``
elsewhere. The threshold is chosen on the datasets' accuracies (the middle of the best tied range
of midpoints between the sorted alphas): once on all of them (in-sample) and once per held-out
dataset on the others (leave-one-dataset-out, LODO). Run from the repository root with ../shared
beside it: ``python docs/research/alpha_switch.py`` (about 30 s); it prints each dataset's alpha,
the two models' accuracies, the chosen thresholds and both means. Results are in default-model.md
("thirteenth session"), measured with Dawid-Skene run to convergence (its default then);
``--early`` uses DawidSkene's default since 2026-12-05, crowd-kit's early stop ("fifteenth session")."""
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
import galton  # noqa: E402
from galton.benchmarks.accuracy import accuracy_of, dataset_names, load_dataset  # noqa: E402
from galton.metrics import alpha_krippendorff  # noqa: E402


EARLY = "--early" in sys.argv[1:]


def _accuracy_with(threshold, alpha, ds, bds):
    return np.where(alpha < threshold, ds, bds)


def choose(alpha, ds, bds):
    """The middle of the best tied range of thresholds (midpoints between the sorted alphas)."""
    s = np.sort(alpha)
    candidates = np.r_[s[0] - 1e-3, (s[1:] + s[:-1]) / 2, s[-1] + 1e-3]
    means = np.array([_accuracy_with(t, alpha, ds, bds).mean() for t in candidates])
    best = np.flatnonzero(means >= means.max() - 1e-12)
    return candidates[best[len(best) // 2]]


def main():
    names, alpha, ds, bds, mv = [], [], [], [], []
    for name in dataset_names():
        data, gold = load_dataset(name)
        names.append(name)
        alpha.append(alpha_krippendorff(data))
        model = galton.DawidSkene() if EARLY else galton.DawidSkene(stopping="likelihood", tol=1e-7)
        ds.append(accuracy_of(model.fit_predict(data), gold, data))
        bds.append(accuracy_of(galton.aggregate(data).labels_, gold, data))
        mv.append(accuracy_of(galton.MajorityVote().fit_predict(data), gold, data))
    alpha, ds, bds, mv = map(np.array, (alpha, ds, bds, mv))
    t = choose(alpha, ds, bds)
    inside = _accuracy_with(t, alpha, ds, bds)
    lodo = np.empty(len(names))
    for h in range(len(names)):
        rest = np.arange(len(names)) != h
        th = choose(alpha[rest], ds[rest], bds[rest])
        lodo[h] = ds[h] if alpha[h] < th else bds[h]
        print(f"{names[h]:22s} alpha {alpha[h]:.3f}  ds {ds[h]:.4f}  bds {bds[h]:.4f}  mv {mv[h]:.4f}  "
              f"LODO threshold {th:.3f} -> {'ds' if alpha[h] < th else 'bds'}")
    print(f"\n{len(names)} datasets; the default alone {bds.mean():.4f}")
    print(f"in-sample threshold {t:.3f}: mean {inside.mean():.4f}")
    print(f"leave-one-dataset-out: mean {lodo.mean():.4f}; "
          f"more than 1 point below MV on {[n for n, a, m in zip(names, lodo, mv) if a < m - 0.01]}")


if __name__ == "__main__":
    main()
