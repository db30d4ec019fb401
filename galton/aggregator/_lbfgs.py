"""L-BFGS driven one evaluation at a time, for the noisy Bradley-Terry model
(:class:`galton.aggregator.bradley_terry.NoisyBradleyTerry`).

The EM driver evaluates the objective and its gradient over the shards (one E-step) and hands them
to :meth:`LBFGSState.propose`, which returns the next point to evaluate. The whole optimiser state
travels between iterations in the model's ``memory`` as arrays and numbers
(:meth:`LBFGSState.to_dict` / :meth:`LBFGSState.from_dict`), so checkpoints save it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._math import EPS
from ._pref_kernels import vdot

__all__ = ["LBFGSState"]


class LBFGSState:
    """Limited-memory BFGS that proposes one point per call (Nocedal & Wright 2006, alg. 7.4/7.5).

    The driver evaluates the objective and its gradient at the proposed point (a map over the
    shards) and hands them back; a point that fails the Armijo condition is rejected and the step
    shortened by quadratic interpolation. Steps are capped so that no coordinate moves more than
    ``max_move`` (log-odds scale: far-off proposals early on would only be rejected). It minimises
    ``f``; ``best`` is the last accepted point.
    """

    def __init__(self, memory: int = 10, max_move: float = 2.0):
        self.memory = memory
        self.max_move = max_move  # no coordinate moves farther than this in one step
        self.s: list[np.ndarray] = []
        self.y: list[np.ndarray] = []
        self.best: np.ndarray | None = None
        self.f = np.inf
        self.g: np.ndarray | None = None
        self.d: np.ndarray | None = None
        self.step = 1.0
        self.pending: np.ndarray | None = None  # the point proposed last (evaluated next)
        self.h0: np.ndarray | None = None

    _FIELDS = ("memory", "max_move", "best", "f", "g", "d", "step", "pending", "h0")

    def to_dict(self) -> dict[str, Any]:
        """The whole state as arrays and numbers (a checkpoint holds it); copies of the lists."""
        return {**{k: getattr(self, k) for k in self._FIELDS}, "s": list(self.s), "y": list(self.y)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LBFGSState":
        """The state :meth:`to_dict` wrote (``propose`` replaces arrays, never writes into them)."""
        opt = cls(int(d["memory"]), float(d["max_move"]))
        for k in cls._FIELDS[2:]:
            setattr(opt, k, d[k])
        opt.f = float(opt.f)
        opt.s, opt.y = list(d["s"]), list(d["y"])
        return opt

    def _direction(self, g: np.ndarray) -> np.ndarray:
        q = -g.copy()
        alphas = []
        for s, y in zip(reversed(self.s), reversed(self.y)):
            a = vdot(s, q) / vdot(y, s)
            alphas.append(a)
            q -= a * y
        if self.h0 is not None:  # diagonal preconditioner: the inverse of a diagonal Hessian guess
            q *= self.h0
        elif self.s:
            q *= vdot(self.s[-1], self.y[-1]) / vdot(self.y[-1], self.y[-1])
        for (s, y), a in zip(zip(self.s, self.y), reversed(alphas)):
            b = vdot(y, q) / vdot(y, s)
            q += (a - b) * s
        return q

    def propose(self, x: np.ndarray, f: float, g: np.ndarray,
                curvature: np.ndarray | None = None) -> np.ndarray:
        """Hand in ``f(x)`` and its gradient (and, optionally, a positive diagonal estimate of the
        Hessian at ``x``, used as the initial inverse Hessian); get the next point to evaluate."""
        ok = np.isfinite(f) and np.all(np.isfinite(g))
        if self.best is None or (ok and f <= self.f + 1e-4 * self.step * vdot(self.g, self.d)):
            if self.best is not None:
                s, y = x - self.best, g - self.g
                if vdot(s, y) > 1e-12 * np.sqrt(vdot(s, s) * vdot(y, y)):
                    self.s.append(s)
                    self.y.append(y)
                    if len(self.s) > self.memory:
                        self.s.pop(0)
                        self.y.pop(0)
            self.best, self.f, self.g = x, f, g
            if curvature is not None:
                self.h0 = 1.0 / np.maximum(curvature, 1e-12)
            self.d = self._direction(g)
            if not vdot(g, self.d) < 0:
                self.s, self.y = [], []
                self.d = -g if self.h0 is None else -self.h0 * g
            gn = float(np.sqrt(vdot(g, g)))
            self.step = 1.0 if (self.s or self.h0 is not None) else min(1.0, 1.0 / max(gn, 1e-12))
            self.step = min(self.step, self.max_move / max(float(np.abs(self.d).max()), EPS))
        else:
            gd = vdot(self.g, self.d)
            a = self.step
            denom = 2.0 * (f - self.f - gd * a) if ok else np.inf
            new = -gd * a * a / denom if denom > 0 and np.isfinite(denom) else 0.5 * a
            self.step = float(np.clip(new, 0.1 * a, 0.5 * a))
            if self.step < 1e-14:  # lost: restart from steepest descent
                self.s, self.y = [], []
                self.d = -self.g if self.h0 is None else -self.h0 * self.g
                gn = float(np.sqrt(vdot(self.g, self.g)))
                self.step = 1.0 if self.h0 is not None else min(1.0, 1.0 / max(gn, 1e-12))
        self.pending = self.best + self.step * self.d
        return self.pending
