"""A throwaway prototype (not a galton model): Dawid-Skene with worker communities, a MAP version of
Venanzi et al.'s community-based BCC (WWW 2014), one of issue 12's untried routes. Each worker's
confusion matrix is smoothed towards its community's pooled matrix with strength ``s``; workers are
reassigned to the community whose pooled matrix best explains their expected counts; ``cs`` adds a
Dirichlet pseudo-count of ``cs * tasks / K`` per class (BDS's class shrinkage). Run from the
repository root with ../shared beside it: ``python docs/research/community_ds.py`` (about 1 minute);
it prints every dataset's accuracy for each setting, the means and the leave-one-dataset-out mean.
Results are in default-model.md ("fifth session")."""
import warnings

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")
from galton.benchmarks.accuracy import dataset_names, load_dataset, accuracy_of

def prep(df):
    t, tn = pd.factorize(df["task"]); w, wn = pd.factorize(df["worker"]); l, ln = pd.factorize(df["label"], sort=True)
    return t, w, l, tn, ln, len(tn), len(wn), len(ln)

def fit(df, C=2, s=5.0, cs=0.0, iters=60):
    t, w, l, tn, ln, T, W, K = prep(df)
    q = np.zeros((T, K)); np.add.at(q, (t, l), 1.0); q /= q.sum(1, keepdims=True)
    comm = None
    for it in range(iters):
        N = np.zeros((W, K, K))  # worker, true, observed
        np.add.at(N, (w, slice(None), l), q[t])  # q[t] over true classes
        if comm is None:  # start: bins of each worker's agreement with the current posteriors
            acc = np.einsum("wkk->w", N) / np.maximum(N.sum((1, 2)), 1e-9)
            if C == 1:
                comm = np.zeros(W, int)
            else:
                qs = np.quantile(acc, np.linspace(0, 1, C + 1)[1:-1])
                comm = np.searchsorted(qs, acc)
        for _ in range(3):
            pi = np.stack([N[comm == c].sum(0) + 1.0 for c in range(C)])
            pi /= pi.sum(2, keepdims=True)
            ll = np.einsum("wkl,ckl->wc", N, np.log(pi))
            comm = ll.argmax(1)
        theta = (N + s * pi[comm]) / (N.sum(2, keepdims=True) + s)
        p = q.sum(0) + 1.0 + cs * T / K; p /= p.sum()
        lt = np.log(theta)
        sc = np.tile(np.log(p), (T, 1))
        np.add.at(sc, t, lt[w, :, l])
        sc -= sc.max(1, keepdims=True)
        qn = np.exp(sc); qn /= qn.sum(1, keepdims=True)
        if np.abs(qn - q).max() < 1e-6:
            q = qn; break
        q = qn
    lab = ln[q.argmax(1)]
    return pd.Series(lab, index=tn)

names = dataset_names()
data = {n: load_dataset(n) for n in names}
grid = ([(C, s, 0.0) for C in (1, 2, 3, 4) for s in (2.0, 5.0, 10.0, 20.0)]
        + [(C, s, cs) for C in (2, 3) for s in (5.0, 10.0) for cs in (0.5, 1.0, 3.0)])
res = np.zeros((len(names), len(grid)))
for i, n in enumerate(names):
    df, gold = data[n]
    for j in range(len(grid)):
        res[i, j] = accuracy_of(fit(df, *grid[j]), gold, df)
    print(n, " ".join(f"{x:.3f}" for x in res[i]), flush=True)
means = res.mean(0)
for j, g in enumerate(grid):
    print(g, f"{means[j]:.4f}")
# LODO: pick the setting with the best mean on the other datasets
lodo = np.mean([res[i, np.argmax(np.delete(res, i, 0).mean(0))] for i in range(len(names))])
print("best in-sample", means.max(), "LODO", lodo)
