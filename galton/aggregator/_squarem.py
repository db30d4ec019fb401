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
has a higher objective than the last, and the fixed point, where ``r = 0``, is EM's own: where
the objective has one maximum the acceleration changes the path, not the optimum; where it has
several (Crowd-BT under a Beta prior with ``a`` or ``b`` = 1, which lets a reliability sit at 0 or
1), another path may end at another maximum, as another start may. An extrapolated point is not
tried where the model refuses it (Crowd-BT: a reliability within 2e-8 of 0 or 1), and the change
of the objective at a trial point is no convergence test (it may land level with the last point
far from the optimum): the driver does not stop there (``memory["untested"]``).

:class:`Squarem` keeps the state in the driver's ``memory`` (arrays and numbers, so checkpoints
save it): the chain of points since the last extrapolation (each the map of the one before)
and ``step_max``; an extrapolated point carries the plain one to fall back to (``"plain"``).
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

    def __init__(self, to_vector: Callable[[Any], np.ndarray], from_vector: Callable[[np.ndarray], Any],
                 admissible: Callable[[np.ndarray], bool] | None = None):
        self.to_vector = to_vector
        self.from_vector = from_vector
        self.admissible = admissible  # an extrapolated vector it refuses is not tried (the plain step is taken)

    @staticmethod
    def start() -> dict[str, Any]:
        return {"chain": [], "step_max": 1.0, "alpha": -1.0}

    @staticmethod
    def on_trial(point: Any) -> bool:
        """Whether ``point``, whose statistics are at hand, is an extrapolated one: it carries the
        plain step it was extrapolated beside (``"plain"``), the fallback and, should the fit end
        there before its objective is known, the result."""
        return "plain" in point

    def rejected(self, state: dict[str, Any], point: Any, last_accepted: Any) -> tuple[Any, dict[str, Any]]:
        """The extrapolated ``point`` fell below the last objective: go on from its plain point."""
        fallback = point["plain"]
        chain = [self.to_vector(last_accepted), self.to_vector(fallback)]
        step_max = state["step_max"]
        if state["alpha"] <= -step_max / STEP_FACTOR:  # the step was at the cap: shorten the cap
            step_max = max(1.0, step_max / STEP_FACTOR)
        return fallback, {"chain": chain, "step_max": step_max, "alpha": -1.0}

    def after_step(self, state: dict[str, Any], point: Any, new: Any, *,
                   restart: bool = False) -> tuple[Any, dict[str, Any]]:
        """``new`` is the model's step from ``point``, whose objective was accepted: extend the
        chain (begin it anew with ``restart``: ``new`` is not the step of the chain's last point),
        and extrapolate when it holds three points. Returns the next point (``new`` itself when
        not extrapolated, else the extrapolated one carrying ``new`` as ``"plain"``) and state."""
        step_max = state["step_max"]
        chain = [] if restart else list(state["chain"])
        if not chain:
            chain = [self.to_vector(point)]
        chain.append(self.to_vector(new))
        if len(chain) < 3:
            return new, {"chain": chain[-2:], "step_max": step_max, "alpha": -1.0}
        x, alpha = extrapolate(chain[0], chain[1], chain[2], step_max)
        if alpha <= -step_max:  # the step wanted more than the cap: allow longer ones
            step_max *= STEP_FACTOR
        if alpha == -1.0 or (self.admissible is not None and not self.admissible(x)):
            return new, {"chain": chain[1:], "step_max": step_max, "alpha": -1.0}
        return {**self.from_vector(x), "plain": new}, {"chain": [], "step_max": step_max, "alpha": alpha}


class Accelerated:
    """SQUAREM around a preference model's own step (put before the model's base class in its
    bases), switched by the model's ``accelerate`` parameter. The model maps its parameters to a
    vector and back (``_to_vector(params)``, ``_from_vector(x, n_items)``).

    The state keeps the point the next statistics belong to and the last accepted point with its
    objective. Under the Newman safeguard of
    :class:`~galton.aggregator._preference.PairwiseAggregator` (memory keys ``pending``, ``prev``,
    ``rejected``, ``steps``, ``step``) an extrapolated point on trial is judged by the test the
    safeguard applies to Newman's steps, and a Newman step the safeguard rejected (it then steps
    from its own last accepted point) begins the chain anew."""

    accelerate: bool

    @property
    def monotone(self) -> bool:
        return getattr(self, "method", "mm") == "mm" and not getattr(self, "accelerate", False)

    def _init_state(self, engine: Any, data: Any, rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
        params, memory = super()._init_state(engine, data, rng)  # type: ignore[misc]
        if not self.accelerate:
            return params, memory
        start = {**Squarem.start(), "point": params, "last": None, "it": 0, "untested_at": np.zeros(0, dtype=np.int64)}
        return params, {**memory, "squarem": start}

    def _m_step(self, stats: dict[str, Any], memory: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        return self._accelerated(stats, memory, super()._m_step)  # type: ignore[misc]

    def _accelerated(self, stats: dict[str, Any], memory: dict[str, Any],
                     step: Callable[..., tuple[Any, dict[str, Any]]]) -> tuple[Any, dict[str, Any]]:
        """The M-step around the model's plain ``step(stats, memory)`` (a model that defines its own
        ``_m_step`` calls this with its plain step)."""
        if "squarem" not in memory:
            return step(stats, memory)
        base = {k: v for k, v in memory.items() if k != "squarem"}
        state, point = memory["squarem"], memory["squarem"]["point"]
        n_items = point["theta"].size
        sq = Squarem(self._to_vector, lambda x: self._from_vector(x, n_items),  # type: ignore[attr-defined]
                     lambda x: self._admissible(x, n_items))
        obj = self._objective(stats, point)  # type: ignore[attr-defined]
        last = state["last"]  # (point, objective) last accepted
        # the change from the last objective to a trial point's says nothing of convergence (an
        # extrapolation may land level with the last point far from the optimum): not tested, and
        # the iterations so marked are kept for a resumed fit's test (_first_stop)
        # a state without the iteration count (written before it was kept) counts from here
        untested = state.get("untested_at", np.zeros(0, dtype=np.int64))
        trial, it = sq.on_trial(point), state.get("it", 0) + 1
        at = np.append(untested, it) if trial else untested
        kept = {"it": it, "untested_at": at}
        if trial and obj < last[1] - 1e-12 * abs(last[1]):  # below the last: go on plainly
            new, state = sq.rejected(state, point, last[0])
            if "pending" in base:  # the safeguard's point, and this iteration counted
                base = {**base, "pending": new, "step": None, "steps": base["steps"] + 1}
            return new, {**base, "untested": True, "squarem": {**state, **kept, "point": new, "last": last}}
        new, after = step(stats, base)
        if after.get("rejected", 0) > base.get("rejected", 0):  # the safeguard stepped from its last point
            last, restart = after["prev"][:2], True
        else:
            last, restart = (point, obj), trial  # after a trial point the chain begins at it
        nxt, state = sq.after_step(state, last[0], new, restart=restart)
        if nxt is not new and "pending" in after:  # the safeguard's point: the extrapolated one
            after = {**after, "pending": nxt, "step": None}
        return nxt, {**after, "untested": trial, "squarem": {**state, **kept, "point": nxt, "last": last}}

    def _admissible(self, x: np.ndarray, n_items: int) -> bool:
        """Whether an extrapolated vector may be tried (all, unless the model says otherwise)."""
        return True

    def _first_stop(self, history: list[float], memory: dict[str, Any], n: int) -> int | None:
        """As the driver's, skipping the iterations whose change is no test (trial points)."""
        skip = set(np.asarray(memory.get("squarem", {}).get("untested_at", ()), dtype=int).tolist())
        for j in range(2, len(history) + 1):
            if j not in skip and self._converged(self._change(history[:j], n)):  # type: ignore[attr-defined]
                return j
        return 0

    def _results_params(self, engine: Any, params: Any, data: Any) -> Any:
        return params.get("plain", params) if isinstance(params, dict) else params
