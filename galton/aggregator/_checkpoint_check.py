"""Checks of a checkpoint before a fit takes it up (see :mod:`galton.aggregator._checkpoint`).

The fingerprint in a checkpoint's name says which fit wrote it, not that the file holds what that
fit wrote: an edited or damaged file (a cut array, an index past the end, ``iteration=-5``) was used
as it was, and compiled kernels read out of bounds (a segmentation fault), numpy raised raw
``IndexError`` / ``KeyError`` / ``MemoryError`` (a 6.5 KB file whose array header claimed
10**9 x 1000 values asked for 7.28 TiB), or the fit resumed into other results. Two passes refuse
such a file with a :class:`Damaged` error, which the checkpointer turns into "checkpoint ...
cannot be read (what is wrong); delete it to start over":

- :func:`check_members`, :func:`check_meta` and :func:`check_spec`, while the file is read: every
  member an array stored as ``np.savez`` writes it, holding the bytes its header declares (so no
  array is allocated larger than the file), a description of the right types, an iteration
  ``>= 0`` with one objective per iteration, and arrays that the description names and uses;
- :func:`check_resumed`, against the fresh start of the fit that takes it up (its parameters and
  memory from ``_init_state``, its random generator, the shards' declared state after the start):
  the same keys; every array of the fresh start with its dtype and shape (a 1-D array that starts
  empty is a log that grows: any length up to the iteration), integer arrays (pairs, rows, wptr:
  indices that compiled kernels follow) equal to the fresh ones except the counters a model names
  in ``checkpoint_counts`` and the logs, sizes (integers named ``n_*``) equal, counts and other
  integers between the fresh value (or 0) and the larger of the iteration and the longest axis of
  the start, float arrays finite where the fresh ones are; the shards' state of the fresh shapes;
  a random state this fit's generator takes. Values a fit fills later (``None`` at the start, keys
  added on the way) need only be well formed and numeric.

Both are cheap next to an iteration: a look at each array once, on the driver, and one map over
the shards that returns the shapes of their state. A value edited into another valid one (a
probability within its range) is no damage they can see.
"""

from __future__ import annotations

import copy
import json
import math
import os
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Damaged", "Resumed", "E_PARAMS", "STOP_VALUES", "read_meta", "check_members", "check_meta", "check_spec",
           "check_resumed", "shard_layout"]

#: the memory key of the last E-step's parameters (see ``posteriors_of_last_e_step`` in ``_base``)
E_PARAMS = "_last_e_step_params"
#: the memory key of the values of ``_stop_value``, one per iteration (see ``stops_after_m_step``)
STOP_VALUES = "_stop_values"

_KINDS = ("dict", "list", "tuple", "array", "float", "int", "bool", "value")


class Damaged(ValueError):
    """What is wrong with a checkpoint (the checkpointer names the file and says to delete it)."""


@dataclass
class Resumed:
    """What a checkpoint holds."""

    iteration: int
    history: list[float]
    params: Any
    rng_state: dict[str, Any]
    converged: bool
    memory: dict[str, Any]
    #: per shard digest, its declared ``shard.state`` arrays (empty for models without)
    shards: dict[str, dict[str, np.ndarray]]
    #: the fingerprint of the fit that wrote it (its file name holds it too)
    fingerprint: str | None = None


def _fits_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# --------------------------------------------------------------------------------------------------
# while reading
# --------------------------------------------------------------------------------------------------
def check_members(z: Any, path: str | os.PathLike[str]) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The shape and dtype of every member of the open ``np.load`` archive ``z``, read from the
    headers before any array is: members stored uncompressed, as ``np.savez`` writes them, each
    holding the bytes its header declares, all within the file."""
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    total = 0
    for info in z.zip.infolist():
        name = info.filename
        stored = info.compress_type == zipfile.ZIP_STORED and info.file_size == info.compress_size
        if not name.endswith(".npy") or not stored:
            raise Damaged(f"member {name!r} is no array as np.savez stores it")
        total += info.compress_size
        with z.zip.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version not in ((1, 0), (2, 0)):
                raise Damaged(f"member {name!r} has array format {version}")
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(fh)
            declared = math.prod(int(n) for n in shape) * dtype.itemsize
            held = info.file_size - fh.tell()
        if dtype.hasobject or declared != held:
            raise Damaged(f"array {name[:-4]!r} declares shape {shape} of {dtype} ({declared:,} bytes) "
                          f"but holds {held:,} bytes")
        out[name[:-4]] = (tuple(shape), dtype)
    if total > os.path.getsize(path):
        raise Damaged(f"its members claim {total:,} bytes, more than the file's {os.path.getsize(path):,}")
    return out


def check_meta(layout: dict[str, tuple[tuple[int, ...], np.dtype]], meta: Any) -> None:
    """The description's fields have their types, the iteration is ``>= 0`` with one objective per
    iteration in ``history`` (a 1-D float array), every member is the description's."""
    it = meta.get("iteration")
    if not _fits_int(it) or it < 0:
        raise Damaged(f"its iteration is {json.dumps(it)[:40]}, not a count >= 0")
    for key, kind, needed in (("params", dict, True), ("memory", dict, False), ("rng", dict, True),
                              ("converged", bool, True), ("shards", list, False), ("fingerprint", str, False)):
        if (needed or key in meta) and not isinstance(meta.get(key), kind):
            raise Damaged(f"its {key} is a {type(meta.get(key)).__name__}, not a {kind.__name__}")
    shards = meta.get("shards", [])
    if not all(isinstance(d, str) for d in shards):
        raise Damaged("its shard digests are not all text")
    history = layout.get("history")
    if history is None or history[1] != np.float64 or history[0] != (it,):
        got = "none" if history is None else f"shape {history[0]} of {history[1]}"
        raise Damaged(f"its history ({got}) is not one float objective per iteration ({it})")
    for name in layout:
        if name in ("meta", "history") or name.startswith("a:"):
            continue
        head, _, key = name.partition("/")
        if not (head[:2] == "s:" and head[2:].isdigit() and int(head[2:]) < len(shards) and key):
            raise Damaged(f"member {name!r} is no part of a checkpoint")


def read_meta(z: Any, path: str | os.PathLike[str], fmt: int) -> dict[str, Any]:
    """The description of the open ``np.load`` archive ``z``, checked with its members' headers
    (:func:`check_members`, :func:`check_meta`, :func:`check_spec`) before any array is read; a
    ValueError saying so for another ``fmt``."""
    layout = check_members(z, path)
    if layout.get("meta", ((), np.dtype(float)))[1].kind != "U":
        raise Damaged("it has no description")
    meta = json.loads(str(z["meta"]))
    if not isinstance(meta, dict):
        raise Damaged(f"its description is a {type(meta).__name__}, not a dict")
    if meta.get("format") != fmt:
        raise ValueError(f"checkpoint {path} has format {meta.get('format')}, not {fmt} (another galton "
                         "version wrote it); delete it to start over")
    check_meta(layout, meta)
    shapes = {k[2:]: v for k, v in layout.items() if k.startswith("a:")}
    used = check_spec(meta["params"], shapes, "p")
    if "memory" in meta:
        check_spec(meta["memory"], shapes, "m", used)
    if set(shapes) - used:
        raise Damaged(f"it holds arrays no parameter names: {sorted(set(shapes) - used)[:5]}")
    return meta


def check_spec(spec: Any, arrays: dict[str, tuple[tuple[int, ...], np.dtype]], where: str,
               used: set[str] | None = None) -> set[str]:
    """A description :func:`~galton.aggregator._checkpoint.unflatten_params` can rebuild: known
    kinds with values of their type, arrays that exist (scalars 0-d floats); returns the keys of
    the arrays it names."""
    used = set() if used is None else used
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in _KINDS:
        raise Damaged(f"its description of {where} is no galton description")
    (kind, value), = spec.items()
    if kind == "dict":
        if not isinstance(value, dict):
            raise Damaged(f"its description of {where} is no dict")
        for k, v in value.items():
            check_spec(v, arrays, f"{where}/{k}", used)
    elif kind in ("list", "tuple"):
        if not isinstance(value, list):
            raise Damaged(f"its description of {where} is no list")
        for i, v in enumerate(value):
            check_spec(v, arrays, f"{where}/{i}", used)
    elif kind in ("array", "float"):
        if not isinstance(value, str) or value not in arrays:
            raise Damaged(f"its {where} names an array it does not hold ({json.dumps(value)[:60]})")
        shape, dtype = arrays[value]
        if dtype.kind not in "biuf" or (kind == "float" and (shape != () or dtype.kind != "f")):
            raise Damaged(f"its {where} is an array of shape {shape} of {dtype}, no {'number' * (kind == 'float')}"
                          f"{'numeric array' * (kind == 'array')}")
        used.add(value)
    elif not (kind == "int" and _fits_int(value) or kind == "bool" and isinstance(value, bool)
              or kind == "value" and (value is None or isinstance(value, str))):
        raise Damaged(f"its {where} is {json.dumps(value)[:40]}, no {kind}")
    return used


# --------------------------------------------------------------------------------------------------
# against the fresh start
# --------------------------------------------------------------------------------------------------
def shard_layout(shard: Any, keys: tuple[str, ...]) -> tuple[str, dict[str, tuple[tuple[int, ...], str, bool]]]:
    """Engine function: the shard's digest and, per declared state key it holds, (shape, dtype,
    all finite)."""
    from ._checkpoint import shard_digest

    state = getattr(shard, "state", None) or {}
    out = {}
    for k in keys:
        if k in state:
            a = np.asarray(state[k])
            out[k] = (a.shape, a.dtype.str, bool(a.dtype.kind not in "fc" or np.isfinite(a).all()))
    return shard_digest(shard), out


class _Compare:
    """Walks the description of a saved value beside that of the fresh start's."""

    def __init__(self, iteration: int, counts: tuple[str, ...]):
        self.iteration = iteration
        self.counts = counts
        self.longest = iteration  #: the bound of integers that count (iterations, positions)

    def run(self, pairs: list[tuple[Any, Any, str]]) -> None:
        """Each (fresh, saved, prefix) of ``pairs``, flattened as checkpoints are."""
        from ._checkpoint import flatten_params

        flat = [(flatten_params(f, prefix), flatten_params(s, prefix), prefix) for f, s, prefix in pairs]
        self.longest = max([self.iteration, *(max(a.shape, default=1) for (fa, _), _, _ in flat for a in fa.values())])
        for (fa, fs), (sa, ss), prefix in flat:
            self.node(fs, ss, prefix, fa, sa)

    def node(self, f: dict, s: dict, where: str, fa: dict, sa: dict) -> None:
        (fk, fv), = f.items()
        (sk, sv), = s.items()
        if fk == "value" and fv is None:
            return  # filled in later: any well-formed value (check_spec saw it)
        if fk == "float" and sk == "int":  # a number the fit may keep as either
            sk, sv = "float", None
        if fk != sk:
            raise Damaged(f"its {where} is a {sk}, this fit's a {fk}")
        if fk == "dict":
            missing = [k for k in fv if k not in sv and not k.startswith("_")]  # "_": the driver's, not always there
            if missing:
                raise Damaged(f"it lacks {', '.join(f'{where}/{k}' for k in missing[:5])}")
            for k in fv:
                if k in sv:
                    self.node(fv[k], sv[k], f"{where}/{k}", fa, sa)
        elif fk in ("list", "tuple"):
            if fv and len(fv) != len(sv):
                raise Damaged(f"its {where} has {len(sv)} items, this fit's {len(fv)}")
            for i, (a, b) in enumerate(zip(fv, sv)):
                self.node(a, b, f"{where}/{i}", fa, sa)
        elif fk == "array":
            self.array(fa[fv], sa[sv], where)
        elif fk == "float":
            if np.isfinite(fa[fv]) and sv is not None and not np.isfinite(sa[sv]):
                raise Damaged(f"its {where} is {float(sa[sv])}, not finite")
        elif fk == "int" and sv != fv:
            if where.rsplit("/", 1)[-1].startswith("n_"):  # a size
                raise Damaged(f"its {where} is {sv}, this fit's {fv}")
            if not min(fv, 0) <= sv <= max(fv, self.longest):  # a count or a position
                raise Damaged(f"its {where} is {sv}, outside {min(fv, 0)}..{max(fv, self.longest)} (this fit starts "
                              f"at {fv})")
        elif fk == "value" and not isinstance(sv, str):
            raise Damaged(f"its {where} is {sv!r}, not text")

    def array(self, f: np.ndarray, s: np.ndarray, where: str) -> None:
        log = f.ndim == 1 and f.size == 0  # starts empty, grows by the iteration
        if s.dtype != f.dtype or (s.ndim != 1 or s.size > self.iteration + 1 if log else s.shape != f.shape):
            raise Damaged(f"its {where} is an array of shape {s.shape} of {s.dtype}, this fit's "
                          + (f"a 1-D {f.dtype} log of at most {self.iteration + 1} values" if log else
                             f"of shape {f.shape} of {f.dtype}"))
        if f.dtype.kind in "iu":
            counter = log or where.rsplit("/", 1)[-1] in self.counts
            if counter and s.size and not (s.min() >= 0 and s.max() <= max(self.longest, 0)):
                raise Damaged(f"its {where} holds counts outside 0..{self.longest}")
            if not counter and not np.array_equal(s, f):
                raise Damaged(f"its {where} differs from this fit's in {int((s != f).sum())} of {f.size} values "
                              "(indices, constants of the fit)")
        elif f.dtype.kind in "fc" and not log and not np.isfinite(s[np.isfinite(f)]).all():
            raise Damaged(f"its {where} holds NaN or infinite values where this fit's has none")


def check_resumed(saved: Any, fresh: tuple[Any, dict[str, Any], np.random.Generator], counts: tuple[str, ...],
                  shards: list[tuple[str, dict[str, tuple[tuple[int, ...], str, bool]]]] | None) -> None:
    """``saved`` (a :class:`Resumed`) against the fit's fresh start
    ``(params, memory, rng)`` (memory with the driver's keys: ``E_PARAMS`` like the parameters,
    ``STOP_VALUES`` an empty float log), the model's ``checkpoint_counts`` and, for models with
    ``shard_state``, the shards' :func:`shard_layout`."""
    params, memory, rng = fresh
    _Compare(saved.iteration, counts).run([(params, saved.params, "p"), (memory, saved.memory, "m")])
    bits = copy.deepcopy(rng.bit_generator)
    try:
        bits.state = saved.rng_state
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        raise Damaged(f"its random state does not fit this fit's {type(bits).__name__} ({exc})") from None
    fresh_shards = dict(shards or ())
    for digest, state in saved.shards.items():
        want = fresh_shards.get(digest)
        if want is None:
            raise Damaged(f"it holds state for a shard ({digest[:12]}...) this data does not have")
        if set(state) != set(want):
            raise Damaged(f"its shard state has keys {sorted(state)}, this fit's {sorted(want)}")
        for k, a in state.items():
            shape, dtype, finite = want[k]
            if a.shape != tuple(shape) or a.dtype.str != dtype:
                raise Damaged(f"its shard state {k} is an array of shape {a.shape} of {a.dtype}, this fit's "
                              f"of shape {tuple(shape)} of {np.dtype(dtype)}")
            if finite and a.dtype.kind in "fc" and not np.isfinite(a).all():
                raise Damaged(f"its shard state {k} holds NaN or infinite values")
