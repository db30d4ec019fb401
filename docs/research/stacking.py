"""A measurement for issue 12 (not a galton model): stacking of predictive distributions (Yao, Vehtari,
Simpson and Gelman, Bayesian Analysis 2018) over galton's models, with held-out judgments as the
data to predict. No gold is used to weigh the models, and nothing is tuned on the 17 datasets, so
the in-sample mean is also the leave-one-dataset-out mean.

Per dataset and per repeat r, one judgment of every task with two or more is held out (the choice
keyed by the repeat's seed); every candidate model is fitted on the rest. A candidate's predictive
probability of a held-out judgment (task i, worker w, label l) is ``sum_k q(i, k) pi_w(k, l)``:
``q`` is the candidate's posterior of task i from the fit without the judgment, and ``pi_w`` the
worker's confusion re-estimated from that posterior on the worker's training judgments (the same
rule for every candidate, so a model without confusion matrices, majority vote or EBCC, is scored
alike), smoothed toward the pooled confusion with ``--strength`` judgments' weight. The stacking
weights maximise ``sum_h log sum_m w_m p_m(h)`` over the simplex (a concave problem; the
mixture-weight EM below converges to its optimum); the stacked posterior is ``sum_m w_m q_m`` of
the fits on all judgments. The script also prints what choosing the single candidate with the
highest held-out log-likelihood gives.

Run from the repository root with ../shared beside it: ``python docs/research/stacking.py``
(``--models mv,ds,bds,ebcc`` by default; ``--repeats 2``; EBCC's 40 restarts make it about 10 min
on 2 cores). Results are in default-model.md ("eighteenth session")."""
import argparse
import warnings

import numpy as np

warnings.simplefilter("ignore")
from galton import aggregator  # noqa: E402
from galton.benchmarks.accuracy import accuracy_of, dataset_names, load_dataset, majority_vote  # noqa: E402


def make(name):
    model = aggregator.create(name)
    if "random_state" in model.get_params():
        model.set_params(random_state=0)
    return model


def posteriors(name, data, tasks, labels):
    """The model's posterior as a tasks x labels array in the given orders (absent columns zero)."""
    probas = make(name).fit(data).probas_
    return probas.reindex(index=tasks, columns=labels, fill_value=0.0).to_numpy(dtype=float)


def held_out_rows(data, seed):
    """One judgment of every task that has two or more, chosen at random (boolean mask)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    task = data["task"].to_numpy()[order]
    counts = data["task"].value_counts()
    first = ~data.iloc[order].duplicated("task").to_numpy()
    keep = first & (counts.reindex(task).to_numpy() >= 2)
    mask = np.zeros(len(data), bool)
    mask[order[keep]] = True
    return mask


def predictive(q, t_train, w_train, l_train, t_held, w_held, l_held, n_workers, strength):
    """p(l | i, w) of each held-out judgment under posterior q and confusions re-estimated from q."""
    n_labels = q.shape[1]
    counts = np.zeros((n_workers, n_labels, n_labels))
    np.add.at(counts, (w_train, slice(None), l_train), q[t_train])
    pooled = counts.sum(0) + 1e-9
    pooled /= pooled.sum(1, keepdims=True)
    conf = counts + strength * pooled
    conf /= conf.sum(2, keepdims=True)
    return np.einsum("hk,hk->h", q[t_held], conf[w_held, :, l_held])


def stack(p, iterations=2000):
    """Weights on the simplex maximising sum_h log sum_m w_m p[h, m] (mixture-weight EM)."""
    w = np.full(p.shape[1], 1.0 / p.shape[1])
    for _ in range(iterations):
        share = p * w
        share /= share.sum(1, keepdims=True)
        new = share.mean(0)
        if np.abs(new - w).max() < 1e-10:
            return new
        w = new
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="mv,ds,bds,ebcc")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--strength", type=float, default=2.0)
    ap.add_argument("--datasets", default=None)
    args = ap.parse_args()
    models = args.models.split(",")
    names = dataset_names(args.datasets.split(",") if args.datasets else None)
    rows = []
    for name in names:
        data, gold = load_dataset(name)
        data = data.reset_index(drop=True)
        tasks = np.sort(data["task"].unique())
        labels = np.sort(data["label"].unique())
        workers = np.sort(data["worker"].unique())
        t_all = np.searchsorted(tasks, data["task"].to_numpy())
        w_all = np.searchsorted(workers, data["worker"].to_numpy())
        l_all = np.searchsorted(labels, data["label"].to_numpy())
        full = {m: posteriors(m, data, tasks, labels) for m in models}
        p_blocks = []
        for r in range(args.repeats):
            held = held_out_rows(data, seed=1000 + r)
            train = ~held
            cols = []
            for m in models:
                q = posteriors(m, data[train], tasks, labels)
                cols.append(predictive(q, t_all[train], w_all[train], l_all[train], t_all[held],
                                       w_all[held], l_all[held], len(workers), args.strength))
            p_blocks.append(np.column_stack(cols))
        p = np.vstack(p_blocks)
        weights = stack(np.maximum(p, 1e-300))
        loglik = np.log(np.maximum(p, 1e-300)).mean(0)
        acc = {m: accuracy_of(_labels(full[m], tasks, labels), gold, data) for m in models}
        stacked = sum(w * full[m] for w, m in zip(weights, models))
        acc_stack = accuracy_of(_labels(stacked, tasks, labels), gold, data)
        chosen = models[int(np.argmax(loglik))]
        mv = accuracy_of(majority_vote(data), gold, data)
        rows.append((name, acc, acc_stack, acc[chosen], mv, weights, chosen))
        print(f"{name:22s} " + " ".join(f"{m} {acc[m]:.3f}" for m in models)
              + f" | stack {acc_stack:.3f} w=" + "/".join(f"{w:.2f}" for w in weights)
              + f" | best held-out {chosen} {acc[chosen]:.3f} | mv {mv:.3f}", flush=True)
    n = len(rows)
    print(f"\n{n} datasets, repeats {args.repeats}, strength {args.strength}")
    for m in models:
        print(f"  {m:6s} mean {np.mean([r[1][m] for r in rows]):.4f}")
    stack_acc = np.array([r[2] for r in rows])
    pick_acc = np.array([r[3] for r in rows])
    mv_acc = np.array([r[4] for r in rows])
    best = np.array([max(r[1].values()) for r in rows])
    print(f"  stacked mean {stack_acc.mean():.4f}; worst vs MV {np.min(stack_acc - mv_acc):+.3f}; "
          f"worst vs the best candidate {np.min(stack_acc - best):+.3f}")
    print(f"  held-out choice mean {pick_acc.mean():.4f}; gold-chosen best candidate {best.mean():.4f}")


def _labels(q, tasks, labels):
    import pandas as pd

    return pd.Series(labels[np.argmax(q, 1)], index=tasks)


if __name__ == "__main__":
    main()
