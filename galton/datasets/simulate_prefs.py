"""Simulated preference data: items with a true quality, raters with a reliability (pure numpy).

Two collection designs, each a function returning a :class:`SimulatedPreferences`:

- :func:`simulate_pairwise` — ``worker, left, right, label`` rows (crowd-kit's pairwise layout);
- :func:`simulate_best_of_n` — ``worker, options, choice`` rows (or full rankings), options being
  the responses of one prompt.

Items. ``n_prompts`` prompts with ``n_responses`` responses each (item ``p * n_responses + j``);
comparisons and choices stay within a prompt, as when raters judge answers to one question. One
prompt holding every item (``n_prompts=1``) gives a plain pool. True qualities (log-strengths)
``θ ~ N(0, quality_sd^2)``.

Raters. Three kinds, in proportions ``adversarial`` and ``random`` (the rest reliable):

- reliable: report their true preference with probability ``η_w ~ U(reliability)``, else the
  opposite — Crowd-BT's model (Chen et al. 2013): ``P(left) = η σ(d) + (1 - η) σ(-d)`` with
  ``d = θ_left - θ_right``; in best-of-n they choose by Plackett-Luce on ``θ`` with probability
  ``η_w``, else on ``-θ`` (with two options this is exactly the pairwise model);
- adversarial: the same with ``η_w ~ U(1 - reliability)`` (below 1/2: they prefer the worse item);
- random: ignore the items; pick the left one with probability ``σ(q_w)``, ``q_w ~ N(0, 0.5^2)``
  (a position bias), or a uniformly random option.

Raters are drawn uniformly per judgment. Randomness: ``np.random.SeedSequence(seed)`` (``seed``: a
non-negative integer below ``2**128``, or a list of them, checked as ``CrowdConfig`` checks its seed) spawns
independent streams for the items, the raters, the design and the answers, so changing, say, the
number of comparisons leaves the items and raters as they were.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._math import sigmoid
from .._settings import finite_number, seed_number, whole_number

__all__ = ["SimulatedPreferences", "simulate_pairwise", "simulate_best_of_n"]

_NO_SHARE = 1e-9  # a reliable share at most this (float residue of 1 - adversarial - random) is none


class SimulatedPreferences(NamedTuple):
    """Simulated judgments and the truth behind them.

    Attributes
    ----------
    data : dict of numpy arrays (pairwise) or a frame (see ``frame=``)
    quality : (n_items,) true log-strengths θ
    prompt : (n_items,) prompt of each item
    reliability : (n_workers,) η_w (random raters: 0.5)
    kind : (n_workers,) "reliable", "adversarial" or "random"
    left_bias : (n_workers,) P(left) of the random raters in :func:`simulate_pairwise` (0.5 for the
        others); :func:`simulate_best_of_n` does not use it (random raters choose uniformly there)
    """

    data: Any
    quality: np.ndarray
    prompt: np.ndarray
    reliability: np.ndarray
    kind: np.ndarray
    left_bias: np.ndarray


def _apportion(shares: tuple[float, ...], n: int) -> list[int]:
    """``n`` raters split by ``shares`` (summing to 1; the first, the reliable raters, takes the rest):
    each special share rounded on its own, as always (a seed gives the crowd it gave), unless that
    makes more special raters than raters or gives reliable raters a share of 0 asked for none; then
    by the largest remainders (ties to the earlier share), so the counts sum to ``n``."""
    special = [int(round(s * n)) for s in shares[1:]]
    rest = n - sum(special)
    if rest >= 0 and (rest == 0 or shares[0] > 0):
        return [rest, *special]
    exact = np.asarray(shares, dtype=np.float64) * n
    counts = np.floor(exact + 1e-9).astype(int)
    left = n - int(counts.sum())
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[:max(left, 0)]:
        counts[i] += 1
    return counts.tolist()


def _counts(n_prompts: Any, n_responses: Any, n_workers: Any) -> tuple[int, int, int]:
    """The item and rater counts as ints (``1e3`` is 1000; 2.5, text or NaN refused by name)."""
    if whole_number("n_responses", n_responses) < 2:
        raise ValueError(f"n_responses must be >= 2 (a comparison needs two items), not {n_responses}")
    return whole_number("n_prompts", n_prompts, 1), int(n_responses), whole_number("n_workers", n_workers, 1)


def _seed(seed: Any) -> int | list[int]:
    """The seed as ``np.random.SeedSequence`` takes it, checked as :class:`~galton.datasets.simulate.CrowdConfig`
    checks its own: a non-negative integer below ``2**128`` (``1e3`` is 1000), or a list of them (galton's
    studies pass ``[seed, tag]``); -1, 1.5, text or None raise ValueError naming ``seed``."""
    if isinstance(seed, (list, tuple, np.ndarray)):
        shown = seed.tolist() if isinstance(seed, np.ndarray) else seed
        return [seed_number("seed", s, shown=shown) for s in seed]
    return seed_number("seed", seed)


def _population(seed: Any, n_prompts: int, n_responses: int, n_workers: int, quality_sd: float,
                adversarial: float, random: float, reliability: tuple[float, float]
                ) -> tuple[np.random.Generator, np.random.Generator, np.ndarray, np.ndarray, np.ndarray,
                           np.ndarray, np.ndarray]:
    finite_number("quality_sd", quality_sd, 0)
    if not finite_number("adversarial", adversarial, 0) + finite_number("random", random, 0) <= 1:
        raise ValueError("adversarial and random are proportions of the raters that sum to at most 1")
    if isinstance(reliability, (str, bytes)) or not hasattr(reliability, "__len__") or len(reliability) != 2:
        raise ValueError(f"reliability must be a pair (low, high), not {reliability!r}")
    lo, hi = (finite_number("reliability", r) for r in reliability)
    if not (0.5 <= lo <= hi <= 1):
        raise ValueError(f"reliability=(low, high) must satisfy 0.5 <= low <= high <= 1, not {reliability}")
    s_items, s_workers, s_design, s_answers = np.random.SeedSequence(_seed(seed)).spawn(4)
    r_items, r_workers = np.random.default_rng(s_items), np.random.default_rng(s_workers)
    n_items = n_prompts * n_responses
    quality = r_items.normal(0.0, quality_sd, n_items)
    prompt = np.repeat(np.arange(n_prompts), n_responses)
    rest = 1.0 - adversarial - random  # 1 - 0.7 - 0.3 is 5.6e-17, not 0: a rounding residue asks for no one
    n_rel, n_adv, n_rand = _apportion((rest if rest > _NO_SHARE else 0.0, adversarial, random), n_workers)
    kind = np.array(["reliable"] * n_rel + ["adversarial"] * n_adv + ["random"] * n_rand)
    kind = kind[r_workers.permutation(n_workers)]
    eta = r_workers.uniform(lo, hi, n_workers)
    eta = np.where(kind == "adversarial", 1.0 - eta, np.where(kind == "random", 0.5, eta))
    left_bias = np.where(kind == "random", sigmoid(r_workers.normal(0.0, 0.5, n_workers)), 0.5)
    return (np.random.default_rng(s_design), np.random.default_rng(s_answers), quality, prompt, eta,
            kind, left_bias)


def _to_frame(cols: dict[str, Any], frame: str) -> Any:
    if frame == "dict":
        return cols
    import pyarrow as pa

    table = pa.table(cols)
    if frame == "arrow":
        return table
    if frame == "polars":
        import polars as pl

        return pl.from_arrow(table)
    if frame == "pandas":
        return table.to_pandas()
    raise ValueError(f"frame must be 'dict', 'arrow', 'polars' or 'pandas', not {frame!r}")


def simulate_pairwise(n_comparisons: int = 20_000, n_prompts: int = 1, n_responses: int = 1000,
                      n_workers: int = 100, *, quality_sd: float = 1.0, adversarial: float = 0.05,
                      random: float = 0.10, reliability: tuple[float, float] = (0.75, 1.0),
                      seed: Any = 0, frame: str = "dict") -> SimulatedPreferences:
    """Pairwise comparisons ``worker, left, right, label`` (label = the preferred item).

    Each comparison picks a rater and a prompt uniformly, two distinct responses of that prompt in
    random order, and the rater's answer as described in the module docstring.
    """
    m = whole_number("n_comparisons", n_comparisons, 0)
    n_prompts, n_responses, n_workers = _counts(n_prompts, n_responses, n_workers)
    design, answers, quality, prompt, eta, kind, left_bias = _population(
        seed, n_prompts, n_responses, n_workers, quality_sd, adversarial, random, reliability)
    worker = design.integers(0, n_workers, m).astype(np.int32)
    p = design.integers(0, n_prompts, m)
    a = design.integers(0, n_responses, m)
    b = (a + design.integers(1, n_responses, m)) % n_responses  # distinct from a, uniform
    left = (p * n_responses + a).astype(np.int32)
    right = (p * n_responses + b).astype(np.int32)
    d = quality[left] - quality[right]
    e = eta[worker]
    p_left = np.where(kind[worker] == "random", left_bias[worker], e * sigmoid(d) + (1 - e) * sigmoid(-d))
    says_left = answers.random(m) < p_left
    label = np.where(says_left, left, right).astype(np.int32)
    data = _to_frame({"worker": worker, "left": left, "right": right, "label": label}, frame)
    return SimulatedPreferences(data, quality, prompt, eta, kind, left_bias)


def simulate_best_of_n(n_judgments: int = 5_000, n_prompts: int = 500, n_responses: int = 4,
                       n_workers: int = 100, *, shown: int | None = None, ranking: bool = False,
                       quality_sd: float = 1.0, adversarial: float = 0.05, random: float = 0.10,
                       reliability: tuple[float, float] = (0.75, 1.0), seed: Any = 0,
                       frame: str = "arrow") -> SimulatedPreferences:
    """Best-of-n choices ``worker, options, choice`` (or ``worker, ranking`` with ``ranking=True``).

    Each judgment picks a rater and a prompt uniformly and shows ``shown`` (default: all) of the
    prompt's responses in random order. Reliable and adversarial raters judge by Plackett-Luce on
    ``θ`` (Gumbel-max: ``argmax θ + G``) with probability ``η_w``, else on ``-θ`` (with two options:
    ``P(left) = η σ(d) + (1 - η) σ(-d)``, the pairwise model); random raters choose uniformly; a
    ranking sorts the same perturbed utilities. Returns an Arrow table by default (list columns).
    """
    m = whole_number("n_judgments", n_judgments, 0)
    n_prompts, n_responses, n_workers = _counts(n_prompts, n_responses, n_workers)
    design, answers, quality, prompt, eta, kind, left_bias = _population(
        seed, n_prompts, n_responses, n_workers, quality_sd, adversarial, random, reliability)
    k = n_responses if shown is None else whole_number("shown", shown)
    if not 2 <= k <= n_responses:
        raise ValueError(f"shown must be between 2 and n_responses={n_responses}, not {shown}")
    worker = design.integers(0, n_workers, m).astype(np.int32)
    p = design.integers(0, n_prompts, m)
    order = np.argsort(design.random((m, n_responses)), axis=1)[:, :k]
    options = (p[:, None] * n_responses + order).astype(np.int32)
    noise = answers.gumbel(size=(m, k))
    truthful = answers.random(m) < eta[worker]  # judges by θ (else by -θ)
    sign = np.where(kind[worker] == "random", 0.0, np.where(truthful, 1.0, -1.0))
    util = sign[:, None] * quality[options] + noise
    import pyarrow as pa

    offsets = pa.array(np.arange(0, m * k + 1, k, dtype=np.int32))
    if ranking:
        ranked = np.take_along_axis(options, np.argsort(-util, axis=1), axis=1)
        cols = {"worker": worker, "ranking": pa.ListArray.from_arrays(offsets, pa.array(ranked.ravel()))}
    else:
        choice = options[np.arange(m), np.argmax(util, axis=1)]
        cols = {"worker": worker, "options": pa.ListArray.from_arrays(offsets, pa.array(options.ravel())),
                "choice": choice}
    if frame == "dict":
        raise ValueError("best-of-n data has list columns: use frame='arrow', 'polars' or 'pandas'")
    return SimulatedPreferences(_to_frame(cols, frame), quality, prompt, eta, kind, left_bias)
