"""When a Bradley-Terry fit has converged: the log-posterior has stopped rising (``tol``) and the scores
have stopped moving (``sqrt(tol)``).

The change of the log-posterior alone is no test for an iteration that converges linearly (MM
always, Newman's iteration on near-separable comparisons): each step closes a share ``1 - r`` of
the distance left, and with ``r`` near 1 a step's rise is far below what is still to come. 60
comparisons of 6 items with 30% ties (``r = 0.97``) stopped 7e-5 from the optimum, the gradient
2.6e-5, after Newman's iteration ran out of patience and MM's first, smaller step passed ``tol``.
So the scores must have settled too: with ``m`` the largest move of a score in the last step and
``r`` its ratio to the one before (steps of one method: Newman's and MM's differ in size), the
distance left is about ``m / (1 - r)`` (the geometric series), and it must be below ``sqrt(tol)``,
the accuracy :func:`~galton.aggregator._pref_results.ranking_order` takes the scores to have
(1e-6 at the default ``tol``). An iteration whose scores have not settled is ``untested`` (the
driver's word: its change is no test); those that settled are kept (``settled_at``) for a resumed
fit's test (``_first_stop``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["settled", "distance_left"]


def distance_left(memory: dict[str, Any]) -> float:
    """The estimate ``m / (1 - r)`` of how far the scores are from their fixed point, from the moves
    the memory keeps (inf: not known, or the steps not shrinking)."""
    move, last = memory.get("move"), memory.get("last_move")
    if move is None or last is None:
        return float("inf")
    if move == 0.0:
        return 0.0
    r = move / last if last > 0 else float("inf")
    return move / (1.0 - r) if r < 1.0 else float("inf")


def settled(memory: dict[str, Any], step: np.ndarray | None, newman: bool, steps: int,
            tol: float) -> dict[str, Any]:
    """The memory keys of the rule after a step (None: a rejected step, from the last accepted point)
    made by Newman's iteration (``newman``) or MM, the ``steps``-th."""
    move = float(np.abs(step).max(initial=0.0)) if step is not None else None
    same = move is not None and memory.get("move") is not None and memory.get("move_newman") == newman
    out = {"move": move, "last_move": memory.get("move") if same else None, "move_newman": newman}
    ok = distance_left(out) < np.sqrt(max(float(tol), 0.0)) or move == 0.0
    done = np.asarray(memory.get("settled_at", np.zeros(0, dtype=np.int64)), dtype=np.int64)
    return {**out, "untested": not ok, "settled_at": np.append(done, steps) if ok else done}
