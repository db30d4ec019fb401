"""Random states in checkpoints: what identifies one in a fit's fingerprint, and its bit
generator's state written as JSON.

A numpy ``Generator``, ``RandomState``, ``BitGenerator`` or ``SeedSequence`` given as
``random_state`` was fingerprinted by its ``repr``, which is a memory address: a seed sweep in one
process took up an earlier seed's checkpoint when the address came back (MACE, EBCC: another seed's
result, without a word). It is identified by its state now, and by how many children its seed sequence has
spawned (:func:`state_identity`).

The state of MT19937, Philox and SFC64 holds arrays, which ``json.dumps`` refused after the first
iterations' work (a raw TypeError): they are written as tagged lists (:func:`state_to_json`) and
read back as arrays of their dtype (:func:`state_from_json`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["state_identity", "state_to_json", "state_from_json"]

_ARRAY = "__ndarray__"


def state_identity(v: Any) -> Any:
    """A plain value that identifies the random state ``v`` (its current state, which is where the
    fit's draws start), or None when ``v`` is no numpy random object."""
    if isinstance(v, np.random.Generator):
        return ("Generator", v.bit_generator.state, _spawned(v.bit_generator))
    if isinstance(v, np.random.RandomState):
        return ("RandomState", v.get_state(legacy=False))
    if isinstance(v, np.random.BitGenerator):
        return (type(v).__name__, v.state, _spawned(v))
    if isinstance(v, np.random.SeedSequence):
        return ("SeedSequence", repr(v.entropy), tuple(v.spawn_key), v.pool_size, v.n_children_spawned)
    return None


def _spawned(bit_generator: Any) -> Any:
    """Where the bit generator's seed sequence stands in spawning: MACE draws its restarts' streams with
    ``seed_seq.spawn``, which leaves the state as it was, so a second fit with one Generator took up the first
    fit's checkpoint by its state alone (the first fit's result, without a word)."""
    seq = getattr(bit_generator, "seed_seq", None) or getattr(bit_generator, "_seed_seq", None)
    if isinstance(seq, np.random.SeedSequence):
        return (tuple(seq.spawn_key), seq.n_children_spawned)
    return None


def state_to_json(state: Any) -> Any:
    """``state`` (a bit generator's, nested dicts) with its arrays as ``{"__ndarray__": dtype, "values": [...]}``."""
    if isinstance(state, dict):
        return {k: state_to_json(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return {_ARRAY: str(state.dtype), "values": state.tolist()}
    if isinstance(state, np.generic):
        return state.item()
    return state


def state_from_json(obj: Any) -> Any:
    """The state :func:`state_to_json` wrote, with its arrays back."""
    if isinstance(obj, dict):
        if _ARRAY in obj:
            return np.asarray(obj["values"], dtype=np.dtype(obj[_ARRAY]))
        return {k: state_from_json(v) for k, v in obj.items()}
    return obj
