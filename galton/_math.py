"""The small numerical functions every part of galton shares, written once (pure numpy).

- :data:`EPS`, the one floor put under a probability (or a sum of probabilities) before taking its
  log or dividing by it, and :func:`safe_log`;
- the logistic function: :func:`sigmoid` (the tanh form, used by the models) and :func:`sigmoid_exp`
  (the ``1 / (1 + e^{-x})`` form, used by the simulators; the two differ in the last bits),
  :func:`log_sigmoid`;
- special functions for the variational models (:func:`digamma`, :func:`trigamma`, :func:`gammaln`),
  so that galton needs no scipy, the Dirichlet divergence :func:`dirichlet_kl`, and Student's t
  quantile :func:`t_upper_quantile` (the rating means' intervals);
- integer hashes: :func:`mix64` (the splitmix64 finaliser) and :func:`splitmix64`, behind every
  shard assignment, tie break and per-task random draw, so that they depend only on ids and seeds.

Each function takes and returns numpy arrays (scalars work too) and never mutates its input. The
numba kernels spell the same formulas inline (numba cannot call these); the numba-equals-numpy
tests hold them to it.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

__all__ = ["EPS", "safe_log", "sigmoid", "sigmoid_exp", "log_sigmoid", "digamma", "trigamma", "gammaln",
           "dirichlet_kl", "dirichlet_kl_rows", "GOLDEN_GAMMA", "mix64", "splitmix64", "LOG_2PI",
           "entropy_bits", "t_upper_quantile"]

#: The one floor under a probability before its log (or before dividing by it): ``log(EPS)`` is
#: about -690.8, finite, so sums of log terms never meet ``inf - inf``; any probability above it is
#: left untouched to the last bit. (Tolerances and priors are other numbers, named where used.)
EPS = 1e-300


def safe_log(p: Any) -> np.ndarray:
    """``log(max(p, EPS))``: the log of a probability, finite where ``p`` is 0.

    Parameters
    ----------
    p : array_like
        Probabilities (or non-negative weights).

    Returns
    -------
    ndarray
        ``log p`` where ``p > EPS``, ``log EPS`` (about -690.8) elsewhere.
    """
    out = np.asarray(np.maximum(p, EPS))
    return np.log(out, out=out)  # in place: one temporary, not two


# --------------------------------------------------------------------------------------------------
# logistic function
# --------------------------------------------------------------------------------------------------
def sigmoid(x: Any) -> np.ndarray:
    r"""The logistic function, :math:`\sigma(x) = 1 / (1 + e^{-x}) = (1 + \tanh(x / 2)) / 2`.

    Computed in the tanh form, which never overflows and is symmetric to rounding
    (:math:`\sigma(-x) = 1 - \sigma(x)` in the tails too). The models use this form.

    Parameters
    ----------
    x : array_like
        Real numbers (converted to float64).

    Returns
    -------
    ndarray
        :math:`\sigma(x)` in ``[0, 1]``.
    """
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def sigmoid_exp(x: Any) -> np.ndarray:
    r"""The logistic function in its textbook form, :math:`1 / (1 + e^{-x})`.

    The same function as :func:`sigmoid`, rounded differently (values agree to a few ulps). The
    simulators draw with this form: their recorded data sets depend on its bits. ``e^{-x}``
    overflows to ``inf`` for ``x < -709`` and the result is then exactly 0 (no warning).

    Parameters
    ----------
    x : array_like
        Real numbers.

    Returns
    -------
    ndarray
        :math:`\sigma(x)` in ``[0, 1]``.
    """
    with np.errstate(over="ignore"):
        e = np.asarray(np.exp(-np.asarray(x, dtype=float)))
    e += 1.0
    return np.reciprocal(e, out=e)


def log_sigmoid(x: Any) -> np.ndarray:
    r"""The log of the logistic function, stable for any ``x``:

    .. math:: \log \sigma(x) = -\left(\max(-x, 0) + \log(1 + e^{-|x|})\right)

    (5x faster than ``-np.logaddexp(0, -x)``; note :math:`\log \sigma(-x) = \log \sigma(x) - x`).

    Parameters
    ----------
    x : array_like
        Real numbers (converted to float64).

    Returns
    -------
    ndarray
        :math:`\log \sigma(x) \le 0`, never ``-inf`` for finite ``x``.
    """
    x = np.asarray(x, dtype=float)
    return -(np.maximum(-x, 0.0) + np.log1p(np.exp(-np.abs(x))))


# --------------------------------------------------------------------------------------------------
# special functions (x > 0): shift small arguments up by the recurrence, then an asymptotic series
# --------------------------------------------------------------------------------------------------
#: log(2 pi), the normalising constant of a Gaussian log-density (a Python float)
LOG_2PI = float(np.log(2.0 * np.pi))
_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)
_SHIFT = 10  # small arguments are moved up by this many steps of the recurrence before the series
_OFFSETS = np.arange(_SHIFT, dtype=np.float64)
_CHUNK = 1 << 16  #: elements per block of the special functions (bounds their scratch memory)


def _shifted(x: Any, term: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(y, acc): y = x moved up by _SHIFT where x < _SHIFT, and acc = term(x + [0, 1, ..., 9]) on
    the moved entries (0 elsewhere), computed on those entries only. Any shape, scalars included."""
    y = np.array(x, dtype=np.float64, copy=True, ndmin=1)
    acc = np.zeros_like(y)
    small = y < _SHIFT
    if small.any():
        xs = y[small]
        acc[small] = term(xs[:, None] + _OFFSETS)
        y[small] = xs + _SHIFT
    shape = np.shape(x)
    return y.reshape(shape), acc.reshape(shape)


def _blockwise(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Any], np.ndarray]:
    """``fn`` applied to blocks of ``_CHUNK`` elements of a large input: every element is computed
    alone, so the result is the same to the last bit, and the scratch arrays (10 per element in
    the recurrence) stay a few MB instead of ten times the input."""

    def wrapped(x: Any) -> np.ndarray:
        if np.size(x) <= _CHUNK:
            return fn(x)
        flat = np.ravel(np.asarray(x, dtype=np.float64))
        out = np.empty(flat.size)
        for lo in range(0, flat.size, _CHUNK):
            out[lo:lo + _CHUNK] = fn(flat[lo:lo + _CHUNK])
        return out.reshape(np.shape(x))

    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return wrapped


@_blockwise
def digamma(x: Any) -> np.ndarray:
    r"""The digamma function :math:`\psi(x) = \frac{d}{dx} \log \Gamma(x)`, for ``x > 0``.

    .. math::

        \psi(x) = \psi(x + 10) - \sum_{i=0}^{9} \frac{1}{x + i} \quad (x < 10), \qquad
        \psi(y) \approx \log y - \frac{1}{2y} - \frac{1}{12 y^2} + \frac{1}{120 y^4}
                 - \frac{1}{252 y^6} + \frac{1}{240 y^8} - \frac{1}{132 y^{10}}

    Absolute error below 1e-13 (the tests compare it with ``scipy.special.digamma``).

    Parameters
    ----------
    x : array_like
        Positive reals, any shape.

    Returns
    -------
    ndarray
        :math:`\psi(x)`, same shape.
    """
    y, acc = _shifted(x, lambda v: -(1.0 / v).sum(axis=1))
    inv2 = 1.0 / (y * y)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))
    return acc + np.log(y) - 0.5 / y - series


@_blockwise
def trigamma(x: Any) -> np.ndarray:
    r"""The trigamma function :math:`\psi'(x)`, for ``x > 0`` (relative error below 1e-13).

    .. math::

        \psi'(x) = \psi'(x + 10) + \sum_{i=0}^{9} \frac{1}{(x + i)^2} \quad (x < 10), \qquad
        \psi'(y) \approx \frac{1}{y} + \frac{1}{2 y^2} + \frac{1}{6 y^3} - \frac{1}{30 y^5}
                  + \frac{1}{42 y^7} - \frac{1}{30 y^9} + \frac{5}{66 y^{11}}

    Parameters
    ----------
    x : array_like
        Positive reals, any shape.

    Returns
    -------
    ndarray
        :math:`\psi'(x)`, same shape.
    """
    y, acc = _shifted(x, lambda v: (1.0 / (v * v)).sum(axis=1))
    inv = 1.0 / y
    inv2 = inv * inv
    tail = 1 / 30 - inv2 * (1 / 42 - inv2 * (1 / 30 - inv2 * 5 / 66))
    series = inv * (1.0 + inv * (0.5 + inv * (1 / 6 - inv2 * tail)))
    return acc + series


@_blockwise
def gammaln(x: Any) -> np.ndarray:
    r"""The log-gamma function :math:`\log \Gamma(x)`, for ``x > 0`` (absolute error below 1e-13).

    .. math::

        \log \Gamma(x) = \log \Gamma(x + 10) - \log \prod_{i=0}^{9} (x + i) \quad (x < 10), \qquad
        \log \Gamma(y) \approx (y - \tfrac12) \log y - y + \tfrac12 \log 2\pi + \frac{1}{12 y}
                       - \frac{1}{360 y^3} + \frac{1}{1260 y^5} - \frac{1}{1680 y^7} + \frac{1}{1188 y^9}

    Parameters
    ----------
    x : array_like
        Positive reals, any shape.

    Returns
    -------
    ndarray
        :math:`\log \Gamma(x)`, same shape.
    """
    y, acc = _shifted(x, lambda v: -np.log(v.prod(axis=1)))
    inv = 1.0 / y
    inv2 = inv * inv
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 * (1 / 1188)))))
    return acc + (y - 0.5) * np.log(y) - y + _HALF_LOG_2PI + series


def dirichlet_kl(post: np.ndarray, prior: np.ndarray, axis: int = -1, elog: np.ndarray | None = None) -> float:
    r"""Sum of :math:`\mathrm{KL}(\mathrm{Dir}(a) \,\|\, \mathrm{Dir}(b))` over a batch of Dirichlets.

    With :math:`a` = ``post`` and :math:`b` = ``prior`` (the components of each Dirichlet lie along
    ``axis``; every other index is one more Dirichlet) and :math:`a_0 = \sum_k a_k`:

    .. math::

        \mathrm{KL} = \log \Gamma(a_0) - \sum_k \log \Gamma(a_k) - \log \Gamma(b_0) + \sum_k \log \Gamma(b_k)
                      + \sum_k (a_k - b_k) \left(\psi(a_k) - \psi(a_0)\right)

    where :math:`\psi(a_k) - \psi(a_0) = E_a[\log \theta_k]`.

    Parameters
    ----------
    post, prior : ndarray
        Positive concentration parameters of the same shape (``prior`` may broadcast).
    axis : int, default -1
        The axis of the components.
    elog : ndarray, optional
        :math:`E[\log \theta] = \psi(a) - \psi(a_0)` under ``post`` when the caller has it already
        (computed here otherwise).

    Returns
    -------
    float
        The total divergence (0 when ``post`` equals ``prior``; positive otherwise).
    """
    post = np.asarray(post, dtype=np.float64)
    prior = np.broadcast_to(np.asarray(prior, dtype=np.float64), post.shape)
    if elog is None:
        elog = digamma(post) - np.expand_dims(digamma(post.sum(axis=axis)), axis)
    kl = gammaln(post.sum(axis=axis)).sum() - gammaln(post).sum()
    kl -= gammaln(prior.sum(axis=axis)).sum() - gammaln(prior).sum()
    diff = post - prior
    diff *= elog
    kl += diff.sum()
    return float(kl)


def dirichlet_kl_rows(a: np.ndarray, b: np.ndarray, elog: np.ndarray | None = None) -> float:
    r""":func:`dirichlet_kl` of the rows of 2-D arrays, each row's divergence summed first.

    The same formula (``axis=1``), added in another order: per row, then over rows. MACE's
    objective uses this order and its recorded histories depend on it; the two agree to rounding
    (a few ulps of the total), not to the last bit.

    Parameters
    ----------
    a, b : ndarray (n, K)
        Positive concentration parameters, one Dirichlet per row (``b`` may broadcast; one row
        broadcast to all, as a prior is, costs its special functions once, not once per row).
    elog : ndarray (n, K), optional
        ``digamma(a) - digamma(a.sum(axis=1))[:, None]`` when the caller has it (the same bits).

    Returns
    -------
    float
        :math:`\sum_i \mathrm{KL}(\mathrm{Dir}(a_i) \,\|\, \mathrm{Dir}(b_i))`.
    """
    sa = a.sum(axis=1)
    one = b[:1] if b.ndim == 2 and b.strides[0] == 0 else b  # a prior's one row: its terms once
    sb, glb = one.sum(axis=1), gammaln(one).sum(axis=1)
    kl = gammaln(sa) - gammaln(a).sum(axis=1) - gammaln(sb) + glb
    kl += ((a - b) * (digamma(a) - digamma(sa)[:, None] if elog is None else elog)).sum(axis=1)
    return float(kl.sum())


def entropy_bits(p: Any, axis: int = -1) -> np.ndarray:
    """Shannon entropy in bits of the distributions along ``axis`` (``0 log 0 = 0``)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=axis)


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (Lentz's method), which converges
    quickly for ``x < (a + 1) / (a + b + 2)``."""
    tiny = EPS  # Lentz's guard against a zero denominator
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (tiny if abs(d) < tiny else d)
    h = d
    for m in range(1, 100_000):
        for num in (m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0))):
            d = 1.0 + num * d
            d = 1.0 / (tiny if abs(d) < tiny else d)
            c = 1.0 + num / c
            c = tiny if abs(c) < tiny else c
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h


def _betainc(a: float, b: float, x: float, y: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)``, with ``y = 1 - x`` given apart
    (exact where ``x`` is near 1)."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    lbeta = float((gammaln(np.array([a])) + gammaln(np.array([b])) - gammaln(np.array([a + b])))[0])
    front = math.exp(a * math.log(x) + b * math.log(y) - lbeta)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, y) / b


def _t_tail(t: float, dof: float) -> float:
    """``P(T > t)`` for Student's t with ``dof`` degrees of freedom, ``t >= 0``."""
    return 0.5 * _betainc(dof / 2.0, 0.5, dof / (dof + t * t), t * t / (dof + t * t))


def t_upper_quantile(p: float, dof: Any) -> np.ndarray:
    """``x`` with ``P(T > x) = p`` for Student's t with each ``dof`` (scipy's ``t.isf(p, dof)``),
    ``0 < p <= 1/2``, to 1e-13 relative: Newton's method on the incomplete beta function from the
    Cornish-Fisher expansion in ``1/dof`` (Abramowitz & Stegun 26.7.5), kept inside a bracket by
    bisection; one solve per distinct ``dof``. NaN where ``dof`` is below 1 or NaN."""
    from statistics import NormalDist

    dof = np.asarray(dof, dtype=np.float64)
    out = np.full(dof.shape, np.nan)
    z = NormalDist().inv_cdf(1.0 - p)
    g = [(z ** 3 + z) / 4, (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
         (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
         (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160]
    for v in np.unique(dof[dof >= 1]):
        x = z + sum(gi / v ** (i + 1) for i, gi in enumerate(g))
        if p >= 0.5 or abs(g[3]) / v ** 4 < 1e-16 * x:  # the expansion's last term is below rounding
            out[dof == v] = max(x, 0.0)
            continue
        log_norm = float((gammaln(np.array([(v + 1) / 2])) - gammaln(np.array([v / 2])))[0])
        log_norm -= 0.5 * math.log(v * math.pi)
        lo, hi = 0.0, max(2.0 * z, 1.0)
        while _t_tail(hi, v) > p:
            lo, hi = hi, 2.0 * hi
        x = x if lo < x < hi else 0.5 * (lo + hi)
        for _ in range(200):
            f = _t_tail(x, v) - p
            lo, hi = (x, hi) if f > 0 else (lo, x)
            step = f / math.exp(log_norm - (v + 1) / 2 * math.log1p(x * x / v))  # Newton: f / density
            new = x + step if lo < x + step < hi else 0.5 * (lo + hi)
            if abs(new - x) <= 1e-14 * new or hi - lo <= 1e-13 * hi:
                x = new
                break
            x = new
        out[dof == v] = x
    return out


# --------------------------------------------------------------------------------------------------
# integer hashes (uint64, wrapping arithmetic)
# --------------------------------------------------------------------------------------------------
#: splitmix64's increment, ``2^64 / golden ratio`` (odd)
GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def mix64(x: Any) -> np.ndarray:
    r"""The splitmix64 finaliser (Steele, Lea & Flood 2014; Stafford's "Mix13"), a bijection of uint64:

    .. math::

        x \leftarrow (x \oplus (x \gg 30)) \cdot \mathtt{0xBF58476D1CE4E5B9}, \quad
        x \leftarrow (x \oplus (x \gg 27)) \cdot \mathtt{0x94D049BB133111EB}, \quad
        x \leftarrow x \oplus (x \gg 31)

    (products modulo :math:`2^{64}`). Every input bit affects every output bit.

    Parameters
    ----------
    x : array_like of uint64
        Values to mix (cast to uint64 as numpy would).

    Returns
    -------
    ndarray of uint64
    """
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def splitmix64(x: Any) -> np.ndarray:
    r"""splitmix64 of a counter: :func:`mix64` of ``x + 0x9E3779B97F4A7C15`` (modulo :math:`2^{64}`).

    The hash behind shard assignment (``splitmix64(task code or id) % n_shards``) and the keyed
    tie breaks; a pure function of its input, identical in every process and numpy version.

    Parameters
    ----------
    x : array_like of uint64

    Returns
    -------
    ndarray of uint64
    """
    with np.errstate(over="ignore"):
        return mix64(np.asarray(x, dtype=np.uint64) + GOLDEN_GAMMA)
