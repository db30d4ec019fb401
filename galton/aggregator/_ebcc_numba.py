"""numba twins of the EBCC kernels (``_ebcc_kernels``: the E-step and the workers' M-step over the
observed (worker, label) pairs; imported on first use)."""

import math

import numba
import numpy as np

from ._fork import items_kernel
from ._jit import work_items
from ._kernels_numba import task_scores
from ._special_numba import exp_nonpositive, lgamma_and_psi, lgamma_psi_block, psi

__all__ = ["estep", "estep_restart", "mstep"]


def estep(indptr, task, wl, table, logprior, gold, active, zprev, n_labels):  # noqa: ANN001, ANN201
    """The compiled twin of ``_ebcc_kernels.ebcc_estep_numpy`` (same arguments and results)."""
    n_r, n_rows, km = table.shape
    ll, change = np.zeros(n_r), np.zeros(n_r)
    counts, cc = np.zeros((n_r, n_rows, km)), np.zeros((n_r, km))
    z = np.array(zprev, dtype=np.float64, copy=True)
    todo = np.flatnonzero(active).astype(np.int64)
    if todo.size:
        with work_items():  # one restart per item, handed out one at a time
            _all(indptr, wl, table, logprior, gold, todo, z, int(n_labels), ll, counts, cc, change)
    return ll, counts, cc, change, z


@items_kernel
@numba.njit(cache=True, parallel=True)
def _all(indptr, wl, table, logprior, gold, todo, z, k, ll, counts, cc, change):  # pragma: no cover
    for i in numba.prange(todo.size):
        r = todo[i]
        ll[r], change[r] = estep_restart(indptr, wl, table[r], logprior[r], gold, z[r], k, counts[r], cc[r])


@numba.njit(cache=True, nogil=True)
def estep_restart(indptr, wl, table, logprior, gold, z, k, counts, cc):  # pragma: no cover
    """One restart: adds into ``counts`` and ``cc``, overwrites ``z``; returns (ll, change)."""
    km = table.shape[1]
    m = km // k
    buf = np.empty(km)
    scratch = np.empty(km)
    ll = 0.0
    change = 0.0
    for t in range(indptr.size - 1):
        task_scores(indptr, wl, table, logprior, t, buf)
        g = gold[t]
        lo, hi = (0, km) if g < 0 else (g * m, g * m + m)
        mx = buf[lo]
        for c in range(lo + 1, hi):
            if buf[c] > mx:
                mx = buf[c]
        for c in range(km):  # shifted scores <= 0; a gold task's other classes -inf (exp: 0)
            buf[c] = buf[c] - mx if lo <= c < hi else -np.inf
        exp_nonpositive(buf, scratch, km)  # vectorised (within 1 ulp of the C library's exp)
        s = 0.0
        for c in range(km):
            s += buf[c]
        ll += mx + np.log(s)
        inv = 1.0 / s
        for c in range(km):
            buf[c] *= inv
            cc[c] += buf[c]
        for j in range(indptr[t], indptr[t + 1]):
            r = wl[j]
            for c in range(km):
                counts[r, c] += buf[c]
        for a in range(k):
            zk = 0.0
            for b in range(m):
                zk += buf[a * m + b]
            if g >= 0:  # a gold task's class is known exactly
                zk = 1.0 if a == g else 0.0
            d = abs(zk - z[t, a])
            if d > change:
                change = d
            z[t, a] = zk
    return ll, change


def mstep(counts, beta, n_labels, todo, pl, wptr):  # noqa: ANN001, ANN201
    """The compiled twin of ``_ebcc_kernels.ebcc_mstep_numpy`` (same arguments and results)."""
    table = np.empty((todo.size,) + counts.shape[1:])
    kl = np.zeros(todo.size)
    if todo.size:
        with work_items():
            _mstep_all(counts, beta, int(n_labels), todo, pl, wptr, table, kl)
    return table, kl


@items_kernel
@numba.njit(cache=True, parallel=True)
def _mstep_all(counts, beta, k, todo, pl, wptr, table, kl):  # pragma: no cover
    for i in numba.prange(todo.size):
        kl[i] = _mstep(counts[todo[i]], beta, k, pl, wptr, table[i])


@numba.njit(cache=True, nogil=True)
def _mstep(counts, beta, k, pl, wptr, table):  # pragma: no cover
    """One restart over the observed pairs: a worker's column sums first (the prior of all K
    labels plus the counts of its pairs), then the expected logs of its pairs' cells."""
    km = counts.shape[1]
    m = km // k
    dg_b = np.empty((k, k))
    lg_b = np.empty((k, k))
    bsum = np.zeros(k)
    for c in range(k):
        for lab in range(k):
            dg_b[lab, c] = psi(beta[lab, c])
            lg_b[lab, c] = math.lgamma(beta[lab, c])
            bsum[c] += beta[lab, c]
    lg_bsum = np.empty(k)
    for c in range(k):
        lg_bsum[c] = math.lgamma(bsum[c])
    s = np.empty(km)
    dg0 = np.empty(km)
    kl = 0.0
    # log-gamma and digamma of every cell's posterior value (prior + count) in one vectorised
    # block (the scalar lgamma_and_psi's bits); cells without a count use the prior's own values
    n_cells = counts.shape[0] * km
    arg = np.empty(n_cells)
    for p in range(counts.shape[0]):
        lab = pl[p]
        for col in range(km):
            arg[p * km + col] = beta[lab, col // m] + counts[p, col]
    lgs, dgs = np.empty(n_cells), np.empty(n_cells)
    lgamma_psi_block(arg, lgs, dgs, n_cells)
    for v in range(wptr.size - 1):
        for col in range(km):
            s[col] = 0.0
        for p in range(wptr[v], wptr[v + 1]):
            for col in range(km):
                s[col] += counts[p, col]
        for col in range(km):
            a0 = bsum[col // m] + s[col]
            lg0, dg0[col] = lgamma_and_psi(a0)  # one recurrence for both
            kl += lg0 - lg_bsum[col // m]
        for p in range(wptr[v], wptr[v + 1]):
            lab = pl[p]
            for col in range(km):
                c = col // m
                n = counts[p, col]
                if n == 0.0:
                    e = dg_b[lab, c] - dg0[col]
                else:
                    e = dgs[p * km + col] - dg0[col]
                    kl += n * e - lgs[p * km + col] + lg_b[lab, c]
                table[p, col] = e
    return kl
