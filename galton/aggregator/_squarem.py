"""SQUAREM: squared extrapolation of a slow EM map (Varadhan & Roland, *Scand. J. Stat.* 35, 2008).

An EM map ``F`` whose fixed point is approached at a linear rate close to 1 (Crowd-BT: the item
scores and the workers' reliabilities trade off, each iteration closing 1-3% of the gap) is
accelerated by extrapolating along its last two steps: from ``x0``, ``x1 = F(x0)``, ``x2 = F(x1)``,
with ``r = x1 - x0`` and ``v = x2 - 2 x1 + x0``, the point ::

    x' = x0 - 2 α r + α² v,      α = -|r| / |v|        (their scheme SqS3)

``α = -1`` gives ``x2``, the plain second step; larger steps are allowed up to ``step_max``, which
starts at 1 and grows fourfold each time the step wanted reaches the cap (their default schedule,
so the first cycle is plain EM and the extrapolation earns its length). The extrapolated point is
kept only if its objective is not below that of ``x1``, the last point whose objective is known;
otherwise the fit goes on from ``x2`` and a cap that the step reached shrinks fourfold. So every accepted point
has a higher objective than the last, and the fixed point, where ``r = 0``, is EM's own: the
acceleration changes the path, never the optimum.

:class:`Squarem` keeps the state in the driver's ``memory`` (arrays and numbers, so checkpoints
save it): the chain of points since the last extrapolation (each the map of the one before),
the plain point to fall back to while an extrapolated one is on trial, and ``step_max``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._pref_kernels import vdot

#: each step taken at the cap multiplies the cap by this; a rejected step divides it
STEP_FACTOR = 4.0


def extrapolate(x0: np.ndarray, x1: np.ndarray, x2: np.ndarray, step_max: float) -> tuple[np.ndarray, float]:
    """The SqS3 point from three successive iterates and the step ``α`` in ``[-step_max, -1]``."""
    r = x1 - x0
    v = (x2 - x1) - r
    vv = vdot(v, v)
    if not vv > 0:
        return x2, -1.0
    alpha = max(min(-np.sqrt(vdot(r, r) / vv), -1.0), -step_max)
    if alpha == -1.0:
        return x2, alpha
    return x0 - 2.0 * alpha * r + alpha * alpha * v, alpha


class Squarem:
    """The SQUAREM bookkeeping around a model's own step; ``to_vector`` / ``from_vector`` map its
    parameters to one flat vector (where the extrapolation is linear) and back."""

    def __init__(self, to_vector: Callable[[Any], np.ndarray], from_vector: Callable[[np.ndarray], Any]):
        self.to_vector = to_vector
        self.from_vector = from_vector

    @staticmethod
    def start() -> dict[str, Any]:
        return {"chain": [], "fallback": None, "step_max": 1.0, "alpha": -1.0}

    @staticmethod
    def on_trial(state: dict[str, Any]) -> bool:
        """Whether the statistics at hand belong to an extrapolated point."""
        return state["fallback"] is not None

    def rejected(self, state: dict[str, Any], last_accepted: Any) -> tuple[Any, dict[str, Any]]:
        """The extrapolated point fell below the last objective: go on from the plain point."""
        fallback = state["fallback"]
        chain = [self.to_vector(last_accepted), self.to_vector(fallback)]
        step_max = state["step_max"]
        if state["alpha"] <= -step_max / STEP_FACTOR:  # the step was at the cap: shorten the cap
            step_max = max(1.0, step_max / STEP_FACTOR)
        return fallback, {"chain": chain, "fallback": None, "step_max": step_max, "alpha": -1.0}

    def after_step(self, state: dict[str, Any], point: Any, new: Any, *,
                   restart: bool = False) -> tuple[Any, dict[str, Any]]:
        """``new`` is the model's step from ``point``, whose objective was accepted: extend the
        chain (begin it anew with ``restart``: ``new`` is not the step of the chain's last point),
        and extrapolate when it holds three points. Returns the next point (``new`` itself when
        not extrapolated) and state."""
        step_max = state["step_max"]
        chain = [] if state["fallback"] is not None or restart else list(state["chain"])
        if not chain:
            chain = [self.to_vector(point)]
        chain.append(self.to_vector(new))
        if len(chain) < 3:
            return new, {"chain": chain[-2:], "fallback": None, "step_max": step_max, "alpha": -1.0}
        x, alpha = extrapolate(chain[0], chain[1], chain[2], step_max)
        if alpha <= -step_max:  # the step wanted more than the cap: allow longer ones
            step_max *= STEP_FACTOR
        if alpha == -1.0:
            return new, {"chain": chain[1:], "fallback": None, "step_max": step_max, "alpha": -1.0}
        return self.from_vector(x), {"chain": [], "fallback": new, "step_max": step_max, "alpha": alpha}


class Accelerated:
    """SQUAREM around the safeguarded step of a pairwise model (put before
    :class:`~galton.aggregator._preference.PairwiseAggregator` in the bases), switched by the
    model's ``accelerate`` parameter. The model maps its parameters to a vector and back
    (``_to_vector(params)``, ``_from_vector(x, n_items)``); the safeguard's memory (the pending
    point, the last accepted one with its objective and statistics, the rejection and step counts)
    is shared: a rejected Newman step restarts the chain, and an extrapolated point on trial is
    judged by the same test the safeguard applies to Newman's steps."""

    accelerate: bool
    method: str

    @property
    def monotone(self) -> bool:
        return getattr(self, "method", "mm") == "mm" and not getattr(self, "accelerate", False)

    def _init_state(self, engine: Any, data: Any, rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        params, memory = super()._init_state(engine, data, rng)  # type: ignore[misc]
        return params, {**memory, "squarem": Squarem.start()} if self.accelerate else memory

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        if "squarem" not in memory:
            return super()._m_step(stats, memory)  # type: ignore[misc]
        base = {k: v for k, v in memory.items() if k != "squarem"}
        n_items = memory["pending"]["theta"].size
        state = memory["squarem"]
        sq = Squarem(self._to_vector, lambda x: self._from_vector(x, n_items))  # type: ignore[attr-defined]
        if sq.on_trial(state):  # the statistics of an extrapolated point: kept if not below the last
            prev = memory["prev"]
            if self._objective(stats, memory["pending"]) < prev[1] - 1e-12 * abs(prev[1]):  # type: ignore[attr-defined]
                new, state = sq.rejected(state, prev[0])
                return new, {**base, "pending": new, "step": None, "steps": base["steps"] + 1, "squarem": state}
        new, after = super()._m_step(stats, base)  # type: ignore[misc]
        restart = after["rejected"] > base["rejected"]  # the safeguard took an MM step from its last point
        point = after["prev"][0] if restart else memory["pending"]
        nxt, state = sq.after_step(state, point, new, restart=restart)
        if nxt is new:
            return new, {**after, "squarem": state}
        # an extrapolated point carries the plain one: if the fit ends here, before its objective
        # is known, the plain step is the result (see _results_params)
        nxt = {**nxt, "plain": new}
        return nxt, {**after, "pending": nxt, "step": None, "squarem": state}

    def _results_params(self, engine: Any, params: Any, data: Any) -> Any:
        return params.get("plain", params)
