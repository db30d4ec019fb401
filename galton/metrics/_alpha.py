"""Krippendorff's alpha (Krippendorff 1980; "Computing Krippendorff's Alpha-Reliability", 2011).

A task is a unit, each judgment a value. Only units with two or more values are pairable; with
``n_uk`` the number of values ``k`` in unit ``u``, ``n_u`` its values, ``n_k`` the pairable values
``k`` of all units and ``n`` their total, and a distance ``d`` (``d(k, k) = 0``)::

    observed   D_o = sum_u sum_{j,l} n_uj n_ul d(j, l) / (n_u - 1)
    expected   D_e = sum_{j,l} n_j n_l d(j, l) / (n - 1)
    alpha      1 - D_o / D_e

the same statistic as nltk's ``AnnotationTask.alpha`` (what crowd-kit calls) in one pass over
the judgments instead of a Python loop over units. Distances: ``nominal`` (0 / 1),
``interval`` (``(a - b)^2`` of numeric labels), ``ordinal`` (the interval distance of the
labels' mid-ranks over the pairable values, Krippendorff's ordinal metric; labels in the order their
column declares, a pandas ordered Categorical, a polars Enum or an ordered Arrow dictionary, else
sorted, text that all reads as numbers as those numbers), ``ratio`` (``((a - b) / (a + b))^2`` of labels
>= 0), ``jaccard`` and ``masi`` (Passonneau 2006) for sets of tags (which the three distances of ordered
values refuse: a set has no rank), or any callable ``d(a, b)`` of two labels (nltk's ``masi_distance``
too), called once per pair of distinct labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._settings import MIN_BOOTSTRAP, finite_number, whole_number
from .._warnings import caller_stacklevel, warn
from ..data.judgments import non_numeric_error, number_labels
from ._coded import Coded, coded, declared_order

__all__ = ["DISTANCES", "Alpha", "krippendorff", "alpha_krippendorff"]

DISTANCES = ("nominal", "ordinal", "interval", "ratio", "jaccard", "masi")

#: pairs of (unit, label) entries handled per block when a distance table is used
_BLOCK = 1 << 22
#: MASI's monotonicity factor by the relation of two sets: disjoint, overlapping, one in the other, equal
_MASI = np.array([0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0])


@dataclass(frozen=True)
class Alpha:
    """Krippendorff's alpha with its parts: ``observed`` and ``expected`` disagreement (per pair of
    values), pairable ``units`` and ``values``, the ``distance`` used, with ``bootstrap`` a
    percentile interval ``low`` .. ``high`` at ``level`` over that many resamples of the tasks
    (NaN without, or where too many resamples have no variation: :func:`krippendorff`), and the sizes
    of the whole input."""

    alpha: float
    observed: float
    expected: float
    units: int
    values: int
    distance: str
    low: float = float("nan")
    high: float = float("nan")
    level: float = float("nan")
    #: the whole input's size: tasks, workers, judgments and distinct labels (pairable or not)
    tasks: int = 0
    workers: int = 0
    judgments: int = 0
    labels: int = 0

    def __float__(self) -> float:
        return self.alpha


def _numeric(names: np.ndarray, distance: str, counts: np.ndarray | None = None, j: Any = None) -> np.ndarray:
    """The labels as numbers for ``distance``; ``counts`` (judgments per label) and ``j`` (the judgments,
    whose label codes index ``names``) for the messages, which name the rows as the rating models do."""
    try:
        v = np.asarray(names, dtype=float)
    except (TypeError, ValueError):
        bad = number_labels(names)[1]  # all of them where no one label alone fails (mixed objects)
        raise non_numeric_error(f"the {distance} distance needs", "label" if j is None else j.columns[2], names,
                                bad if bad.any() else np.ones(names.size, dtype=bool),
                                np.full(0, -1) if j is None else j.label,
                                "Use distance='nominal' for categories, or 'ordinal' for ordered categories that sort"
                                ) from None
    if not np.all(np.isfinite(v)):
        raise ValueError(f"the {distance} distance needs finite numeric labels")
    if distance == "ratio" and np.any(v < 0):  # ((a - b) / (a + b))^2: d(-3, 3) = 0, d(-1, 1.1) = 441
        neg = np.flatnonzero(v < 0)
        shown = ", ".join(repr(x) for x in names[neg[:5]].tolist()) + (", ..." if neg.size > 5 else "")
        rows = f" in {int(counts[neg].sum())} judgment(s)" if counts is not None else ""
        raise ValueError(
            f"the ratio distance is for values of a ratio scale, 0 or more; {neg.size} label(s) are negative "
            f"({shown}){rows}. Use distance='interval' for values that can be negative"
        )
    return v


def _no_sets(names: np.ndarray, distance: str, counts: np.ndarray) -> None:
    """Refuse labels that are sets of tags (or tuples) for a distance of ordered values: they have no
    order, and ranking them as first seen made alpha depend on the order of the rows."""
    if names.dtype != object:
        return
    bad = np.flatnonzero([isinstance(x, (frozenset, set, list, tuple)) for x in names.tolist()])
    if not bad.size:
        return
    shown = ", ".join(repr(sorted(x, key=repr) if isinstance(x, (set, frozenset)) else x)
                      for x in names[bad[:5]].tolist()) + (", ..." if bad.size > 5 else "")
    raise ValueError(
        f"the {distance} distance compares ordered values; {bad.size} label(s) in {int(counts[bad].sum())} "
        f"judgment(s) are sets of tags or tuples ({shown}), which have no order. Use distance='masi' or "
        "'jaccard' for sets of tags, or 'nominal' for labels that are equal or not"
    )


def _quadratic(unit: np.ndarray, lab: np.ndarray, cnt: np.ndarray, n_units: int, v: np.ndarray,
               n_k: np.ndarray) -> tuple[np.ndarray, float]:
    """``sum_{j,l} n_j n_l (v_j - v_l)^2 = 2 N sum n (v - mean)^2`` per unit and over all."""
    v = v - (v * n_k).sum() / max(n_k.sum(), 1.0)  # centred: no cancellation in the difference
    x = v[lab]
    s0 = np.bincount(unit, weights=cnt, minlength=n_units)
    mean = np.bincount(unit, weights=cnt * x, minlength=n_units) / np.maximum(s0, 1.0)
    dev = x - mean[unit]  # about each unit's own mean: s0 s2 - s1^2 cancelled where values span 1e9
    per_unit = 2.0 * s0 * np.bincount(unit, weights=cnt * dev * dev, minlength=n_units)
    total = 2.0 * (n_k.sum() * (n_k * v * v).sum() - (n_k * v).sum() ** 2)
    return np.maximum(per_unit, 0.0), float(max(total, 0.0))


def _table(names: np.ndarray, distance: Any) -> np.ndarray:
    """The distance between every two labels (K x K): within the memory limit (GALTON_MAX_MEMORY,
    :func:`galton.aggregator.memory_limit`; 8,000 labels take 512 MB), built in rows; a callable is
    called once per ordered pair, with a progress bar on a terminal when that takes a while."""
    from ..aggregator._memory import MemoryLimitError, current_limit, format_size

    k = names.size
    limit, source = current_limit()
    if limit is not None and 8 * k * k > limit:
        name = distance if isinstance(distance, str) else "callable"
        raise MemoryLimitError(
            f"{k} distinct labels: the {name} distance's table of every two labels would take "
            f"{format_size(8 * k * k)}, over the limit of {format_size(limit)} ({source}); use distance='nominal', "
            "'interval' or 'ordinal', which need none, or raise the limit (GALTON_MAX_MEMORY or "
            "galton.aggregator.memory_limit(...))"
        )
    if distance in ("jaccard", "masi"):
        return _set_distances(names, distance)
    d = np.zeros((k, k))
    if distance == "ratio":
        v = _numeric(names, "ratio")
        step = max(1, (1 << 22) // max(k, 1))  # rows per block: temporaries of about 32 MB
        with np.errstate(invalid="ignore", divide="ignore"):
            for i in range(0, k, step):
                s = v[i:i + step, None] + v[None, :]
                d[i:i + step] = np.where(s != 0, ((v[i:i + step, None] - v[None, :]) / np.where(s != 0, s, 1.0)) ** 2,
                                         0.0)
        return d
    from .._progress import Progress

    items = names.tolist()
    bar = Progress(k, "distance table")  # shown on a terminal when it takes over a second
    for i in range(k):
        for j in range(i + 1, k):
            d[i, j] = float(distance(items[i], items[j]))
            d[j, i] = float(distance(items[j], items[i]))
        bar.update(i + 1)
    bar.close()
    _check_distances(d, items, distance)
    return d


def _check_distances(d: np.ndarray, items: list, distance: Any) -> None:
    """Refuse a distance function's NaN, infinite or negative answer, naming its two labels: a NaN
    reached alpha's formula as "no variation" (NaN > 0 is False) and alpha came out 1.0 without a word."""
    bad = ~np.isfinite(d)
    bad |= d < 0.0
    if not bad.any():
        return
    i, j = (int(x) for x in np.argwhere(bad)[0])
    name = getattr(distance, "__name__", "callable")
    raise ValueError(
        f"the distance {name} gave {float(d[i, j])!r} for the labels {items[i]!r} and {items[j]!r} "
        f"({int(bad.sum())} of {d.size - len(items)} ordered pairs of distinct labels give none); a distance "
        "must be a finite number, 0 or more, for every two labels: fix the function (a cosine distance of a "
        "zero vector is NaN) or the labels it cannot compare"
    )


def _set_distances(names: np.ndarray, distance: str) -> np.ndarray:
    """Distances between sets of tags: Jaccard ``1 - |a & b| / |a | b|``, or MASI (Passonneau
    2006) ``1 - J m`` with ``m`` 1 for equal sets, 2/3 when one holds the other, 1/3 when they only
    overlap, 0 when disjoint. Two empty sets are equal. The intersections come from the sets' tags
    (each tag's sets paired, counted per block of rows), with no loop over pairs of sets in Python:
    8,000 sets took 35 s that way; a progress bar shows on a terminal when it takes over a second."""
    from .._progress import Progress

    sets = []
    for v in names.tolist():
        if not isinstance(v, (frozenset, set, tuple, list)):
            raise ValueError(f"the {distance} distance compares sets of tags; the label {v!r} is not one. Give "
                             "each judgment a list of tags (pandas: a list, set or frozenset; Parquet: a list column)")
        sets.append(frozenset(v))
    k = len(sets)
    size = np.fromiter((len(s) for s in sets), np.int64, k)
    ids: dict = {}
    tag = np.fromiter((ids.setdefault(t, len(ids)) for s in sets for t in s), np.int64, int(size.sum()))
    first = np.r_[0, np.cumsum(size)]  # set i's (set, tag) entries: first[i]:first[i + 1]
    holders = np.repeat(np.arange(k), size)[np.argsort(tag, kind="stable")]  # the sets of each tag, tag by tag
    per_tag = np.bincount(tag, minlength=len(ids))
    tag_first = np.r_[0, np.cumsum(per_tag)][tag]  # where each entry's tag's sets start in holders
    pairs = per_tag[tag]  # the sets each entry pairs with (its own included)
    pair_end = np.r_[0, np.cumsum(pairs)]
    sizes = size.astype(float)
    d = np.empty((k, k))
    bar = Progress(k, "set distances")
    lo = 0
    while lo < k:  # rows whose pairs and counts fit in about _BLOCK each
        hi = int(np.searchsorted(pair_end[first], pair_end[first[lo]] + _BLOCK, side="right")) - 1
        hi = min(max(hi, lo + 1), k, lo + max(1, _BLOCK // max(k, 1)))
        e0, e1 = first[lo], first[hi]
        reps = pairs[e0:e1]
        entry = np.repeat(np.arange(e0, e1), reps)
        offs = np.arange(entry.size) - np.repeat(pair_end[e0:e1] - pair_end[e0], reps)
        row = np.repeat(np.repeat(np.arange(lo, hi), size[lo:hi]), reps) - lo
        f = np.bincount(row * k + holders[tag_first[entry] + offs], minlength=(hi - lo) * k).astype(float)
        f = f.reshape(hi - lo, k)  # |a & b|: exact in floats, as are the sizes
        a, b = sizes[lo:hi, None], sizes[None, :]
        u = a + b
        u -= f  # |a | b|, 0 for two empty sets only: their Jaccard is 1
        jac = np.divide(f, u, out=np.ones_like(u), where=u > 0)
        if distance == "masi":  # 3: equal, 2: one holds the other, 1: they overlap, 0: disjoint
            code = (f > 0).view(np.int8) + (f == np.minimum(a, b)).view(np.int8)
            code += (u == f).view(np.int8)
            jac *= _MASI[code]
            jac[np.ix_(size[lo:hi] == 0, size == 0)] = 1.0  # two empty sets are equal (code 2 above)
        np.subtract(1.0, jac, out=d[lo:hi])
        lo = hi
        bar.update(lo)
    bar.close()
    return d


def _pair_sums(unit: np.ndarray, lab: np.ndarray, cnt: np.ndarray, n_units: int, d: np.ndarray) -> np.ndarray:
    """``sum_{j,l} n_uj n_ul d(j, l)`` per unit, over the (unit, label) entries sorted by unit."""
    starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]]) if unit.size else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, unit.size])
    m = np.repeat(sizes, sizes)  # each entry pairs with every entry of its unit
    first = np.repeat(starts, sizes)
    out = np.zeros(n_units)
    edges = np.r_[0, np.cumsum(m)]
    lo = 0
    while lo < unit.size:  # blocks of entries whose pairs fit in _BLOCK
        hi = int(np.searchsorted(edges, edges[lo] + _BLOCK, side="right")) - 1
        hi = max(hi, lo + 1)
        reps = m[lo:hi]
        left = np.repeat(np.arange(lo, hi), reps)
        offs = np.arange(left.size) - np.repeat(edges[lo:hi] - edges[lo], reps)
        right = np.repeat(first[lo:hi], reps) + offs
        w = cnt[left] * cnt[right] * d[lab[left], lab[right]]
        out += np.bincount(unit[left], weights=w, minlength=n_units)
        lo = hi
    return out


class _Units:
    """The pairable (unit, label, count) entries and everything alpha needs from them."""

    def __init__(self, c: Coded, distance: Any):
        j = c.judgments
        self.n_u = np.bincount(j.task, minlength=j.n_tasks)
        keep = self.n_u[j.task] >= 2
        if not keep.any():
            raise ValueError(
                "Krippendorff's alpha needs tasks with two or more judgments, and no task has more than one: "
                "agreement cannot be measured on these data"
            )
        self.k = k = c.n_labels
        key = j.task[keep].astype(np.int64) * k + j.label[keep]
        uniq, cnt = np.unique(key, return_counts=True)
        self.unit, self.lab, self.cnt = uniq // k, uniq % k, cnt.astype(float)
        self.pairable = np.flatnonzero(self.n_u >= 2)
        self.n_units = j.n_tasks
        self.distance = distance
        names = c.label_names
        if distance in ("ordinal", "interval", "ratio"):
            _no_sets(names, distance, np.bincount(j.label, minlength=k))
        # ordinal: text labels that all read as numbers are ranked as those numbers ("10" after "9", "3" and
        # "3.0" one value), as a file's and the interval distance's are; each label's value's place, else None
        self.group = _number_groups(names) if distance == "ordinal" else None
        if distance == "ordinal" and self.group is None and names.dtype.kind in "OUT" and any(
                isinstance(x, str) for x in names.tolist()):
            warn(f"distance='ordinal' ranks text labels in sorted order ({', '.join(map(repr, names[:5]))}"
                 f"{', ...' if names.size > 5 else ''}); if that is not their order, map them to numbers "
                 "in order first (CLI: --order)", UserWarning, stacklevel=caller_stacklevel())
        if distance in ("interval", "ratio"):  # the labels' own errors before any table of distances
            v = _numeric(c.label_names, distance, np.bincount(j.label, minlength=k), j)
        self.v = v if distance == "interval" else None
        self.d = _table(c.label_names, distance) if distance not in ("nominal", "interval", "ordinal") else None
        if distance == "nominal":  # per-unit observed disagreement does not depend on the marginals
            nu = self.n_u.astype(float)
            self.fixed = nu * nu - np.bincount(self.unit, weights=self.cnt * self.cnt, minlength=self.n_units)
        elif self.d is not None:
            self.fixed = _pair_sums(self.unit, self.lab, self.cnt, self.n_units, self.d)

    def parts(self, w: np.ndarray | None = None) -> tuple[float, float, float]:
        """(observed, expected, n) with each unit counted ``w[u]`` times (once by default)."""
        cnt = self.cnt if w is None else self.cnt * w[self.unit]
        n_k = np.bincount(self.lab, weights=cnt, minlength=self.k)
        n = float(n_k.sum())
        if self.distance == "nominal":
            per_unit, total = self.fixed, n * n - float((n_k * n_k).sum())
        elif self.d is not None:
            per_unit, total = self.fixed, float(n_k @ self.d @ n_k)
        else:  # interval, or ordinal: the interval distance of mid-ranks over the pairable values
            v = self.v if self.v is not None else _mid_ranks(n_k, self.group)
            per_unit, total = _quadratic(self.unit, self.lab, self.cnt, self.n_units, v, n_k)
        p = self.pairable
        unit_do = per_unit[p] / (self.n_u[p] - 1.0)
        observed = float((unit_do if w is None else unit_do * w[p]).sum()) / n
        return observed, total / (n * (n - 1.0)), n


def _number_groups(names: np.ndarray) -> np.ndarray | None:
    """Where the labels are text that all reads as finite numbers (as a file's text is read, Arrow's
    cast): each label's place among the distinct numbers, for the ordinal ranks; else None."""
    if names.dtype.kind not in "OUT" or not names.size or not all(isinstance(x, str) for x in names.tolist()):
        return None
    import pyarrow as pa

    try:
        values = pa.array(names.tolist(), pa.string()).cast(pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowException:
        return None
    if not np.all(np.isfinite(values)):
        return None
    return np.unique(values, return_inverse=True)[1].reshape(-1)


def _mid_ranks(n_k: np.ndarray, group: np.ndarray | None) -> np.ndarray:
    """Each label's mid-rank over the pairable values ``n_k`` (labels in their order), or with ``group``
    (:func:`_number_groups`) over the numbers the labels read as, equal numbers sharing one."""
    if group is None:
        return np.cumsum(n_k) - n_k / 2.0
    n_g = np.bincount(group, weights=n_k, minlength=int(group.max()) + 1)
    return (np.cumsum(n_g) - n_g / 2.0)[group]


def _alpha(observed: float, expected: float) -> float:
    return 1.0 - observed / expected if expected > 0.0 else 1.0


def _interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    """The percentile interval at ``level`` of the bootstrap ``draws``, NaN where alpha is undefined
    (a resample without variation, ``D_e = 0``). Those draws are left out with a warning; when more of
    them than one tail of the interval holds (``(1 - level) / 2`` of the draws), where they would lie
    decides an end of the interval, which is then not reported (NaN, NaN). They had counted as 1.0,
    nltk's answer for a single label: 383 of 1,000 resamples of 20 tasks with one disagreement moved the
    interval's upper end from 0 to 1.0."""
    tail = (1.0 - level) / 2.0
    undefined = int(np.isnan(draws).sum())
    if not undefined:
        low, high = np.quantile(draws, [tail, 1.0 - tail])
        return float(low), float(high)
    share = undefined / draws.size
    said = (f"{undefined} of {draws.size} bootstrap resamples ({share:.1%}) have no variation to measure (every "
            "pairable judgment of the resampled tasks agrees: expected disagreement 0), where alpha is undefined; ")
    if undefined > tail * draws.size:
        warn(said + f"that is more than the {tail:.1%} of the draws in each tail of a {level:.0%} interval, "
             "so where they would lie decides its ends: no interval is reported (low and high are NaN). "
             "Agreement measured on so few disagreements is uncertain; more tasks are needed for an "
             "interval", UserWarning, stacklevel=caller_stacklevel())
        return float("nan"), float("nan")
    warn(said + f"the interval is taken over the other {draws.size - undefined}", UserWarning,
         stacklevel=caller_stacklevel())
    low, high = np.nanquantile(draws, [tail, 1.0 - tail])
    return float(low), float(high)


def krippendorff(answers: Any, distance: str | Callable[[Any, Any], float] = "nominal", *, bootstrap: int = 0,
                 level: float = 0.95, seed: int = 0) -> Alpha:
    """Krippendorff's alpha of ``answers`` (task, worker, label) with its parts (:class:`Alpha`);
    ``bootstrap=N`` adds a percentile interval from ``N`` resamples of the tasks (with replacement,
    ``seed``), each in one pass over the (task, label) counts: ``N`` a whole number, 0 (no interval) or
    at least 10 (``MIN_BOOTSTRAP``: the percentiles of fewer draws are no interval). A resample without
    variation (``D_e = 0``: it left out every task with disagreement) has no alpha: such resamples are
    left out of the interval with a ``UserWarning`` that counts them, and when they are more than one
    tail of the interval (``(1 - level) / 2`` of the resamples) there is no interval: ``low`` and
    ``high`` are NaN.

    Raises ``ValueError`` when no task has two judgments (nothing is pairable), and when a distance
    function gives NaN, an infinite or a negative distance for two labels (naming them). When every
    pairable value is the same label there is no variation to measure (``D_e = 0``): alpha is 1.0 with
    a ``UserWarning``, as nltk (and so crowd-kit) answers a single label, and there is no interval.

    Every row is a value, as in crowd-kit: a worker's repeated rows on a task are paired with each
    other as two workers' judgments (``galton agreement`` warns of them and takes ``--duplicates``);
    keep one row per (task, worker) pair first to measure agreement between workers only."""
    if isinstance(distance, str) and distance not in DISTANCES:
        raise ValueError(f"distance must be one of {list(DISTANCES)} or a function d(a, b), not {distance!r}")
    bootstrap = whole_number("bootstrap", bootstrap, 0)  # 100.0 is 100; 2.5, "100" and True are refused
    if 0 < bootstrap < MIN_BOOTSTRAP:  # 1 resample gave an interval without alpha in it
        raise ValueError(f"bootstrap={bootstrap}: give 0 (no interval) or at least {MIN_BOOTSTRAP} resamples, as "
                         "galton agreement and galton bench require: the percentiles of fewer draws are no interval")
    if not 0 < finite_number("level", level) < 1:
        raise ValueError(f"level={level} must lie in (0, 1)")
    name = distance if isinstance(distance, str) else getattr(distance, "__name__", "callable")
    c = coded(declared_order(answers) if distance == "ordinal" else answers,
              numbers=distance in ("ordinal", "interval", "ratio"))
    units = _Units(c, distance)
    observed, expected, n = units.parts()
    if expected <= 0.0:
        warn("every pairable judgment has the same label: there is no variation to measure "
             f"agreement on; alpha is reported as 1.0{', with no interval' if bootstrap else ''}",
             UserWarning, stacklevel=caller_stacklevel())
    low = high = float("nan")
    if bootstrap and expected > 0.0:
        rng = np.random.default_rng(seed)
        p = units.pairable
        draws = np.empty(bootstrap)
        w = np.zeros(units.n_units)
        from .._progress import Progress

        bar = Progress(bootstrap, "alpha bootstrap")  # shown on a terminal when it takes over a second
        for b in range(bootstrap):
            # a resample of the units: counts of p.size uniform draws (a multinomial; numpy's own drew one
            # binomial per unit, 11 ms a resample at 200k units against 2 ms)
            w[p] = np.bincount(rng.integers(0, p.size, p.size), minlength=p.size)
            o, e = units.parts(w)[:2]
            draws[b] = 1.0 - o / e if e > 0.0 else np.nan  # no variation in the resample: no alpha
            bar.update(b + 1)
        bar.close()
        low, high = _interval(draws, level)
    j = c.judgments
    return Alpha(float(_alpha(observed, expected)), observed, float(expected), int(units.pairable.size), int(n),
                 name, low, high, level if bootstrap else float("nan"), j.n_tasks, j.n_workers, j.n_judgments,
                 j.n_labels)


def alpha_krippendorff(answers: Any, distance: str | Callable[[Any, Any], float] = "nominal") -> float:
    """Krippendorff's alpha: agreement between workers beyond what chance gives, 1 for perfect
    agreement, 0 for chance, below 0 for systematic disagreement (crowd-kit's
    ``crowdkit.metrics.data.alpha_krippendorff``; Krippendorff reads alpha >= 0.8 as reliable,
    >= 0.667 as allowing tentative conclusions).

    ``answers``: a frame, table or path with task, worker and label columns. ``distance``:
    ``"nominal"`` (the default: labels equal or not, crowd-kit's ``binary_distance``),
    ``"ordinal"`` (in the order an ordered Categorical or Enum label column declares), ``"interval"``,
    ``"ratio"``, ``"jaccard"`` or ``"masi"`` (labels that are sets of tags), or a function of two labels
    returning a distance in [0, 1] (nltk's ``masi_distance`` too). A file's labels are read as the
    models read them (``007`` and ``7`` are two labels); for the ordinal, interval and ratio distances
    text labels that all read as numbers, a file's or a frame's, are those numbers (``3`` and ``3.0`` one
    value, ``10`` after ``9``). :func:`krippendorff` returns the parts as well."""
    return krippendorff(answers, distance).alpha
