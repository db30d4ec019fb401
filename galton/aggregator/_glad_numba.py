"""numba version of the GLAD shard pass (imported on first use through ``_jit.twin``; see ``glad``)."""

from __future__ import annotations

import numba
import numpy as np

from .._math import LOG_2PI
from .glad import PassResult

__all__ = ["glad_pass"]


@numba.njit(cache=True, nogil=True)
def _task_terms(lo, hi, worker, label, alpha, r_t, bt, mu, ebuf, fresh, log_prod):  # pragma: no cover
    """val, d/dbeta, d2/dbeta2 of one task's objective (see glad_task_terms). With ``fresh`` the
    exponentials exp(-|x_j|) are computed into ``ebuf`` (one exp per judgment, one log per task:
    sum_j log1p(e_j) is taken as the log of a product); otherwise ``ebuf`` and ``log_prod`` hold
    them already."""
    eb = np.exp(bt)
    lin = 0.0
    grad = 0.0
    hess = 0.0
    prod = 1.0
    acc = 0.0
    for j in range(lo, hi):
        x = alpha[worker[j]] * eb
        if fresh:
            e = np.exp(-abs(x))
            ebuf[j - lo] = e
            prod *= 1.0 + e
            if prod > 1e250:
                acc += np.log(prod)
                prod = 1.0
        else:
            e = ebuf[j - lo]
        s = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
        r = r_t[label[j]]
        d = r - s
        lin += min(x, 0.0) - (1.0 - r) * x
        grad += d * x
        hess += d * x - s * (1.0 - s) * x * x
    if fresh:
        log_prod = acc + np.log(prod)
    dev = bt - mu
    return lin - log_prod - 0.5 * dev * dev, grad - dev, hess - 1.0, log_prod

@numba.njit(cache=True, nogil=True)
def _glad_chunk(indptr, worker, label, alpha, beta, mu_beta, logprior, gold, max_inner, tol,
                post, new_beta, ga, ca, lo_t, hi_t):  # pragma: no cover - compiled
    k = logprior.size
    logkm1 = np.log(max(k - 1.0, 1.0))  # one label: it cancels (every answer is that label)
    buf = np.empty(k)
    maxlen = 1
    for t in range(lo_t, hi_t):
        maxlen = max(maxlen, indptr[t + 1] - indptr[t])
    ebuf = np.empty(maxlen)
    cbuf = np.empty(maxlen)
    ll = 0.0
    for t in range(lo_t, hi_t):
        lo, hi = indptr[t], indptr[t + 1]
        bt = beta[t]
        mu = mu_beta[t]
        eb = np.exp(bt)
        # E-step: log q(c) = log p_c + sum_j log((1 - s_j) / (K - 1))
        #                    + sum_{j: y_j = c} (x_j + log(K - 1))
        for c in range(k):
            buf[c] = logprior[c]
        pos = 0.0
        prod = 1.0
        acc = 0.0
        for j in range(lo, hi):
            x = alpha[worker[j]] * eb
            e = np.exp(-abs(x))
            ebuf[j - lo] = e
            prod *= 1.0 + e
            if prod > 1e250:
                acc += np.log(prod)
                prod = 1.0
            pos += max(x, 0.0)
            buf[label[j]] += x + logkm1
        log_prod = acc + np.log(prod)
        base = -pos - log_prod - (hi - lo) * logkm1
        g = gold[t]
        if g >= 0:
            ll += buf[g] + base
            for c in range(k):
                post[t, c] = 0.0
            post[t, g] = 1.0
        else:
            m = buf[0]
            for c in range(1, k):
                if buf[c] > m:
                    m = buf[c]
            ssum = 0.0
            for c in range(k):
                buf[c] = np.exp(buf[c] - m)
                ssum += buf[c]
            ll += m + np.log(ssum) + base
            for c in range(k):
                post[t, c] = buf[c] / ssum
        dev = bt - mu
        ll -= 0.5 * dev * dev
        # M-step for beta_t: safeguarded Newton ascent
        r_t = post[t]
        val, gr, he, log_prod = _task_terms(lo, hi, worker, label, alpha, r_t, bt, mu, ebuf, False,
                                            log_prod)
        scale = 1.0
        for it in range(max_inner):
            if it > 0 and abs(gr) < tol:
                break
            step = gr / max(-he, 1.0)
            step = min(max(step, -2.0), 2.0)
            cand = bt + scale * step
            v2, g2, h2, lp2 = _task_terms(lo, hi, worker, label, alpha, r_t, cand, mu, cbuf, True, 0.0)
            if v2 >= val - 1e-12 * abs(val):
                bt, val, gr, he, scale = cand, v2, g2, h2, 1.0
                ebuf, cbuf = cbuf, ebuf
            else:
                scale *= 0.5
        new_beta[t] = bt
        # statistics for alpha at the new beta_t (ebuf holds its exponentials)
        eb = np.exp(bt)
        for j in range(lo, hi):
            w = worker[j]
            x = alpha[w] * eb
            ax = abs(x)
            e = ebuf[j - lo]
            s = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
            ga[w] += (r_t[label[j]] - s) * eb
            jj = 0.25 - ax * ax / 48.0 if ax < 1e-6 else (1.0 - e) / (1.0 + e) / (2.0 * ax)
            ca[w] += jj * eb * eb
    return ll


def glad_pass(indptr: np.ndarray, task: np.ndarray, worker: np.ndarray, label: np.ndarray,
              alpha: np.ndarray, beta: np.ndarray, mu_beta: np.ndarray, logprior: np.ndarray,
              gold: np.ndarray, max_inner: int, tol: float) -> PassResult:
    """The compiled twin of :func:`galton.aggregator.glad.glad_pass_numpy` (same arguments and results)."""
    n_t, k, w = indptr.size - 1, logprior.size, alpha.size
    post = np.empty((n_t, k))
    new_beta = np.empty(n_t)
    args = (indptr, worker, label, np.ascontiguousarray(alpha, dtype=np.float64),
            np.ascontiguousarray(beta, dtype=np.float64), np.ascontiguousarray(mu_beta, dtype=np.float64),
            np.ascontiguousarray(logprior, dtype=np.float64), gold, int(max_inner), float(tol), post,
            new_beta)
    ga, ca = np.zeros(w), np.zeros(w)
    ll = _glad_chunk(*args, ga, ca, 0, n_t)
    return float(ll) - 0.5 * LOG_2PI * n_t, post, new_beta, ga, ca
