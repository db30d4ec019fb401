"""Checkpoints of EM fits: the parameters every N iterations, so that a stopped fit resumes.

The one EM driver (``EMAggregator._run``) uses them.

``model.fit(data, checkpoint_dir="ckpt", checkpoint_every=5)`` saves, every 5 iterations and at the
end, the model's parameters (numpy arrays and numbers only, written with ``np.savez``: never a
pickle), the iteration, the objective history and the random generator's state to
``ckpt/<fingerprint>.npz``, atomically (a temporary file renamed over the old one). A fit started again
with the same directory, the same data, the same model parameters and the same number of shards
finds that file and continues after its iteration; the result is the same as that of an
uninterrupted fit, to the last bit. Anything else has another fingerprint and starts over.

The fingerprint is a hash of the model class and its parameters (except those that only decide when
to stop or where to run: ``max_iter``, ``n_iter``, ``tol``, ``stopping``, ``engine``, ``n_shards``,
``progress``; a checkpoint of another stopping rule is taken up only where this rule would have run
through it, else the fit starts over), the data's sizes and worker and label vocabularies, the
content of every shard (hashed where the shard lives, in shard order), the number of the EM run
within the fit (models with restarts run the loop several times, each gets its own file) and the
code that fits (:func:`code_identity`: galton's version and a digest of its own source files). A
checkpoint resumes only under the same galton code: what a model keeps between iterations changes
with the code, and another version's checkpoint resumed with keys missing (a crash) or with state a
later fix no longer builds (an unused label winning a task); it has another name, so the fit starts
over and leaves it alone.

Besides the parameters a checkpoint holds the driver-side ``memory`` of the model (optimiser state,
the last accepted point: see :mod:`galton.aggregator._base`) under ``m/`` and, for models that keep
per-task latents in their shards (GLAD's task difficulties, KOS's messages: the keys named in the
model's ``shard_state``), each shard's arrays under ``s<i>/``, gathered where the shards live and
given back to the shard of the same content (its digest) on resume. A shard that keeps state under a
key the model does not declare cannot be restored: the driver refuses such a fit with a ValueError
before the first iteration.

The fingerprint says which fit a file belongs to, not that it holds what that fit wrote: before a
fit takes a checkpoint up, the file is checked against the fit's own fresh start (keys, shapes and
dtypes, index arrays and sizes, finite values, the iteration and its history; see
:mod:`galton.aggregator._checkpoint_check`), and an edited or damaged one is refused with a
ValueError naming it, never read out of bounds or resumed into other results.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import secrets
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._checkpoint_check import Damaged, Resumed, check_resumed, read_meta, shard_layout
from ._params import check_count
from ._rng_state import state_from_json, state_identity, state_to_json

__all__ = ["Checkpointer", "Resumed", "flatten_params", "unflatten_params", "shard_digest",
           "shard_state_of", "declared_state_of", "restore_shard_state", "not_a_directory", "code_identity"]

#: what reading or checking a damaged checkpoint raises (a cut array, a wrong type, a huge header)
_UNREADABLE = (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, IndexError, TypeError, AttributeError,
               MemoryError, OverflowError, RecursionError)
#: parameters left out of the fingerprint: those that decide when to stop (a larger iteration limit
#: resumes where a fit stopped, a smaller one than the checkpoint's starts over; a checkpoint of
#: another ``tol`` or ``stopping`` is taken up only where this rule runs through it, see
#: ``_first_stop`` in :mod:`galton.aggregator._base`) and where and how visibly it runs
_EXCLUDED = {"max_iter", "n_iter", "tol", "stopping", "engine", "n_shards", "progress", "verbose"}
#: FORMAT 3: values hashed exactly (repr cut long arrays and Series short: two priors differing in
#: their middle shared a checkpoint), ``tol`` kept by models that freeze parts of the fit by it
FORMAT = 3


# --------------------------------------------------------------------------------------------------
# parameters <-> flat arrays
# --------------------------------------------------------------------------------------------------
def flatten_params(params: Any, prefix: str = "p",
                   known: dict[int, tuple[str, np.ndarray]] | None = None) -> tuple[dict[str, np.ndarray], Any]:
    """(arrays by key, a JSON-able description to rebuild ``params``) for nested dicts, lists and
    tuples of arrays, numbers, booleans, strings and None. ``known``: arrays already written under
    a key (by id), filled in; one held again (EBCC's table in its parameters and its memory) is
    described by that key, not written twice."""
    arrays: dict[str, np.ndarray] = {}
    known = {} if known is None else known

    def walk(obj: Any, key: str) -> Any:
        if isinstance(obj, dict):
            if not all(isinstance(k, str) for k in obj):
                raise ValueError(f"checkpointing needs string keys in the parameters ({key})")
            return {"dict": {k: walk(v, f"{key}/{k}") for k, v in obj.items()}}
        if isinstance(obj, (list, tuple)):
            items = [walk(v, f"{key}/{i}") for i, v in enumerate(obj)]
            return {"list" if isinstance(obj, list) else "tuple": items}
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                raise ValueError(f"parameter {key} is an object array; checkpoints hold numeric arrays only")
            if id(obj) in known and known[id(obj)][1] is obj:
                return {"array": known[id(obj)][0]}
            arrays[key], known[id(obj)] = obj, (key, obj)
            return {"array": key}
        if isinstance(obj, (bool, np.bool_)):
            return {"bool": bool(obj)}
        if isinstance(obj, (int, np.integer)):
            return {"int": int(obj)}
        if isinstance(obj, (float, np.floating)):
            arrays[key] = np.asarray(float(obj))  # exact, whatever JSON does with floats
            return {"float": key}
        if obj is None or isinstance(obj, str):
            return {"value": obj}
        raise ValueError(
            f"parameter {key} is a {type(obj).__name__}; checkpoints hold numpy arrays and numbers only, "
            "so this model cannot be checkpointed"
        )

    return arrays, walk(params, prefix)


def unflatten_params(arrays: Any, spec: Any) -> Any:
    """Inverse of :func:`flatten_params`."""
    (kind, value), = spec.items()
    if kind == "dict":
        return {k: unflatten_params(arrays, v) for k, v in value.items()}
    if kind in ("list", "tuple"):
        items = [unflatten_params(arrays, v) for v in value]
        return items if kind == "list" else tuple(items)
    if kind == "array":
        return np.array(arrays[value])
    if kind == "float":
        return float(arrays[value])
    return value  # bool, int, str, None


# --------------------------------------------------------------------------------------------------
# fingerprint
# --------------------------------------------------------------------------------------------------
def shard_digest(shard: Any) -> str:
    """Hash of a shard's content (engine function: runs where the shard lives): the arrays it has
    of task shards (judgments, gold), pairwise shards (comparisons) and choice shards (events in CSR
    layout), its task names, the digest of the vocabulary its codes stand for (``vocab``: the item
    names of preference shards) and its sizes. Task shards hash as they always did (the names added
    for preference shards are absent there), so their checkpoints still match."""
    h = hashlib.blake2b(digest_size=16)
    for name in ("task_ids", "indptr", "worker", "label", "gold", "left", "right", "outcome", "ptr",
                 "items", "chosen"):
        a = getattr(shard, name, None)
        if isinstance(a, np.ndarray):
            h.update(name.encode())
            h.update(np.ascontiguousarray(a).view(np.uint8).data)
    names = getattr(shard, "task_names", None)
    if isinstance(names, np.ndarray):
        h.update(names.astype(str).tobytes() if names.dtype == object else names.tobytes())
    vocab = getattr(shard, "vocab", None)
    if isinstance(vocab, str):
        h.update(f"vocab={vocab}".encode())
    h.update(str((getattr(shard, "n_workers", 0), getattr(shard, "n_labels", 0))).encode())
    for name in ("n_items", "holds_prior"):
        if hasattr(shard, name):
            h.update(f"{name}={getattr(shard, name)}".encode())
    return h.hexdigest()


def has_persistent_state(shard: Any, declared: tuple[str, ...] = ()) -> bool:
    """Engine function: True when the shard keeps state outside ``_``-prefixed cache keys and the
    keys the model declares in ``shard_state``."""
    return any(not str(k).startswith("_") and k not in declared for k in getattr(shard, "state", {}) or {})


def shard_state_of(shard: Any, keys: tuple[str, ...]) -> tuple[str, dict[str, np.ndarray], bool]:
    """Engine function: (the shard's digest, copies of its declared per-task state, whether it
    also keeps state under undeclared keys)."""
    return (shard_digest(shard), *declared_state_of(shard, keys)[1:])


def declared_state_of(shard: Any, keys: tuple[str, ...]) -> tuple[None, dict[str, np.ndarray], bool]:
    """Engine function: :func:`shard_state_of` without the digest (None; a save takes the digests of
    its run's start: the shards do not change during a fit, and hashing them was 29-45% of a fit)."""
    state = {k: np.array(shard.state[k]) for k in keys if k in shard.state}
    return None, state, has_persistent_state(shard, keys)


def restore_shard_state(shard: Any, saved: dict[str, dict[str, np.ndarray]]) -> bool:
    """Engine function: put back the state saved for the shard with this content."""
    mine = saved.get(shard_digest(shard))
    if mine is None:
        return False
    for k, v in mine.items():
        shard.state[k] = np.array(v)
    return True


def _names_digest(h: Any, names: Any) -> None:
    arr = np.asarray(names)
    h.update(str(arr.dtype).encode())
    h.update(arr.astype(str).tobytes() if arr.dtype == object else np.ascontiguousarray(arr).tobytes())


def _value_digest(h: Any, v: Any) -> None:
    """Feed ``v`` to the hash exactly: arrays by their bytes, pandas / polars objects by their
    values and index, containers item by item, numpy random states by their state, anything else
    by ``repr`` (exact for numbers)."""
    if isinstance(v, dict):
        h.update(b"{")
        for k in sorted(v, key=repr):
            h.update(repr(k).encode())
            _value_digest(h, v[k])
        h.update(b"}")
    elif isinstance(v, (list, tuple)):
        h.update(f"{type(v).__name__}[{len(v)}]".encode())
        for x in v:
            _value_digest(h, x)
    elif hasattr(v, "to_numpy") and not isinstance(v, np.ndarray):  # pandas, polars: index, columns, values
        h.update(type(v).__name__.encode())
        for part in ("index", "columns"):
            if hasattr(v, part):
                _value_digest(h, np.asarray(list(getattr(v, part)), dtype=object))
        _value_digest(h, np.asarray(v.to_numpy()))
    elif state_identity(v) is not None:  # a random state: by its state (its repr is an address)
        _value_digest(h, state_identity(v))
    elif isinstance(v, np.ndarray):
        h.update(f"{v.dtype}{v.shape}".encode())
        h.update(repr(v.tolist()).encode() if v.dtype == object else np.ascontiguousarray(v).tobytes())
    else:
        h.update(repr(v).encode())


@functools.lru_cache(maxsize=1)
def code_identity() -> str:
    """galton's version and a digest of its own ``.py`` files (read once per process, on the driver
    that computes the fingerprint): every version says 0.1.0, and the memory a model keeps changed
    under it."""
    from .. import __version__

    root = Path(__file__).resolve().parent.parent
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return f"{__version__}:{h.hexdigest()}"


def fingerprint(model: Any, engine: Any, judgments: Any, run: int, digests: list[str] | None = None) -> str:
    """The identity of a fit: the model and its parameters (``tol`` too for a model whose saved
    state depends on it, ``checkpoint_keeps_tol``), inputs its ``fit`` took beside the data
    (``_fit_inputs``), the data's sizes, ids and shards (``digests``, else computed), the EM run and the code."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"code={code_identity()}".encode())
    excluded = _EXCLUDED - ({"tol"} if getattr(model, "checkpoint_keeps_tol", False) else set())
    params = {k: v for k, v in model.get_params().items() if k not in excluded}
    h.update(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    _value_digest(h, params)
    # settings get_params cannot see (a subclass passing **kwargs on to its parent's __init__: its
    # prior=50 took up the prior=1 fit's checkpoint); fitted attributes end in "_", private ones start so
    hidden = {k: v for k, v in vars(model).items()
              if not k.startswith("_") and not k.endswith("_") and k not in params and k not in excluded}
    if hidden:
        _value_digest(h, hidden)
    _value_digest(h, getattr(model, "_fit_inputs", None))
    for attr in ("n_tasks", "n_workers", "n_labels", "n_judgments"):
        h.update(f"{attr}={getattr(judgments, attr, None)}".encode())
    for attr in ("worker_names", "label_names"):
        if hasattr(judgments, attr):
            _names_digest(h, getattr(judgments, attr))
    for d in engine.map(shard_digest) if digests is None else digests:
        h.update(d.encode())
    h.update(f"run={run}".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------
# the checkpointer
# --------------------------------------------------------------------------------------------------
def not_a_directory(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot hold checkpoints (``"is a file"``, ``"is a link to nothing"``), or None
    when it is a directory or absent (then it is created)."""
    if not os.fspath(path):  # Path("") is the current directory: the checkpoints went there
        return "is empty"
    if not os.path.lexists(path) or os.path.isdir(path):
        return None
    if os.path.islink(path) and not os.path.exists(path):
        return f"is a link to nothing ({os.readlink(path)!r})"
    return "is a file" if os.path.isfile(path) else "is no directory"


class Checkpointer:
    """Saves and finds the checkpoints of one fit (the EM driver calls it).

    It travels to the shards with the model's bound methods, so it holds only its configuration, the
    current file name and the shards' digests, which change between EM runs, never between iterations.

    Parameters
    ----------
    directory : where the ``.npz`` files go (created when missing)
    every : save every ``every`` iterations (and always after the last one)
    """

    def __init__(self, directory: str | os.PathLike[str], every: int = 1):
        every = check_count("checkpoint_every", every, 1)  # 2.7, "3" and True were taken; None a raw TypeError
        why = not_a_directory(directory)
        if why:  # mkdir said "[Errno 17] File exists" once the fit had started
            raise ValueError(f"checkpoint_dir {str(directory)!r} {why}; it must be a directory (created when missing)")
        from ..io import check_place  # read-only, no permission: found after the first iteration

        check_place(directory, "checkpoint_dir", inside=True, said="nothing was fitted")
        self.directory = Path(directory)
        self.every = int(every)
        self.path: Path | None = None
        self.fingerprint: str | None = None  #: this run's (the file name holds it too)
        self.runs = 0  #: EM runs started in this fit (models with restarts run several)
        self.last: int | None = None  #: the iteration this run's file holds (None: no file yet)
        self.shard_keys: tuple[str, ...] = ()
        self.model_name = "this model"
        self.digests: list[str] = []  #: the shards' digests at this run's start, in the engine's order

    def start(self, model: Any, engine: Any, judgments: Any, fresh: Any = None) -> Resumed | None:
        """Fix this run's file; return its content when it exists (then the fit resumes). ``fresh``:
        the fit's start ``(params, memory, rng)``, which the content must fit (:func:`check_resumed`)."""
        self.shard_keys = tuple(getattr(model, "shard_state", ()))
        self.model_name = type(model).__name__
        if any(engine.map(has_persistent_state, self.shard_keys)):
            self._refuse()
        self.last = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unwritten(exc) from exc
        self.digests = [str(d) for d in engine.map(shard_digest)]
        fp = fingerprint(model, engine, judgments, self.runs, self.digests)
        self.runs += 1
        self.path, self.fingerprint = self.directory / f"{type(model).__name__}-{fp}.npz", fp
        for left in self.directory.glob(f".{self.path.name}.*.tmp"):  # a save killed half way
            with contextlib.suppress(OSError):
                left.unlink()
        if not self.path.exists():
            return None
        saved = self.load(self.path)
        if saved.fingerprint != fp:  # a file copied or renamed over this fit's name
            raise ValueError(f"checkpoint {self.path} was written by another fit (its name was given to it "
                             "later); delete it to start over")
        if fresh is not None:  # an edited or damaged file: refused before a kernel reads it
            try:
                layouts = engine.map(shard_layout, self.shard_keys) if self.shard_keys else None
                check_resumed(saved, fresh, tuple(getattr(model, "checkpoint_counts", ())), layouts)
            except _UNREADABLE as exc:
                raise self._unreadable(self.path, exc) from None
        self.last = saved.iteration
        return saved

    def _unwritten(self, exc: OSError) -> OSError:
        """A save that failed (a full disk, a read-only place), named by the directory, not by the
        hidden temporary, and saying which checkpoint is left."""
        left = ("no checkpoint of this fit was written" if self.last is None else
                f"the last one (iteration {self.last}) is intact, and a run again resumes from it")
        error = OSError(f"cannot write a checkpoint in {str(self.directory)!r}: {exc.strerror or exc}; {left}")
        error.errno = exc.errno
        return error

    def _refuse(self) -> None:
        raise ValueError(
            f"{self.model_name} keeps per-task state in its shards (shard.state) under keys it does "
            "not declare in shard_state, which a checkpoint cannot restore; fit it without checkpoint_dir"
        )

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Resumed:
        """The checkpoint at ``path``; a ValueError naming it when it cannot be read (truncated,
        empty, edited, not a checkpoint: see :mod:`galton.aggregator._checkpoint_check`) or has
        another format."""
        try:
            return Checkpointer._read(path)
        except _UNREADABLE as exc:
            if isinstance(exc, ValueError) and str(exc).startswith(f"checkpoint {path} has format"):
                raise
            if isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)):
                raise  # the file system's word, not damage
            raise Checkpointer._unreadable(path, exc) from None

    @staticmethod
    def _unreadable(path: str | os.PathLike[str], exc: BaseException) -> ValueError:
        what = str(exc) if isinstance(exc, Damaged) else f"{type(exc).__name__}: the file is damaged or no galton " \
            "checkpoint"
        return ValueError(f"checkpoint {path} cannot be read ({what}); delete it to start over")

    @staticmethod
    def _read(path: str | os.PathLike[str]) -> Resumed:
        with np.load(path, allow_pickle=False) as z:
            meta = read_meta(z, path, FORMAT)  # checked, and the arrays' headers: none larger than the file
            arrays = {k[2:]: z[k] for k in z.files if k.startswith("a:")}
            history = z["history"].tolist()
            shards: dict[str, dict[str, np.ndarray]] = {}
            for i, digest in enumerate(meta.get("shards", [])):
                pre = f"s:{i}/"
                shards[digest] = {k[len(pre):]: z[k] for k in z.files if k.startswith(pre)}
        return Resumed(iteration=int(meta["iteration"]), history=history,
                       params=unflatten_params(arrays, meta["params"]), rng_state=state_from_json(meta["rng"]),
                       converged=bool(meta["converged"]),
                       memory=unflatten_params(arrays, meta["memory"]) if "memory" in meta else {},
                       shards=shards, fingerprint=meta.get("fingerprint"))

    def restore_shards(self, engine: Any, saved: Resumed) -> None:
        """Give each shard back the per-task state saved for it (models with ``shard_state``)."""
        if not self.shard_keys:
            return
        done = engine.map(restore_shard_state, saved.shards)
        if not all(done):
            raise ValueError(f"checkpoint {self.path} holds no state for {done.count(False)} of the "
                             f"{len(done)} shards; delete it to start over")

    def due(self, iteration: int) -> bool:
        return iteration % self.every == 0

    def save(self, iteration: int, history: list[float], params: Any, rng: np.random.Generator,
             converged: bool = False, *, memory: dict[str, Any] | None = None, engine: Any = None) -> Path:
        """Write the checkpoint atomically (temporary file, fsync, rename): the parameters, the
        driver-side ``memory`` and, with ``engine``, the shards' declared per-task state."""
        if self.path is None:
            raise RuntimeError("Checkpointer.save before start")
        known: dict[int, tuple[str, np.ndarray]] = {}
        arrays, spec = flatten_params(params, known=known)
        meta: dict[str, Any] = {"format": FORMAT, "iteration": int(iteration), "params": spec,
                                "converged": bool(converged), "rng": state_to_json(rng.bit_generator.state),
                                "fingerprint": self.fingerprint}
        if memory:
            mem_arrays, meta["memory"] = flatten_params(memory, "m", known)
            arrays.update(mem_arrays)
        payload = {f"a:{k}": v for k, v in arrays.items()}
        if engine is not None:
            found = engine.map(declared_state_of, self.shard_keys)
            if any(undeclared for _, _, undeclared in found):
                self._refuse()
            if self.shard_keys:
                meta["shards"] = list(self.digests) if len(self.digests) == len(found) else engine.map(shard_digest)
                for i, (_, state, _) in enumerate(found):
                    payload.update({f"s:{i}/{k}": v for k, v in state.items()})
        payload["history"] = np.asarray(history, dtype=np.float64)
        payload["meta"] = np.asarray(json.dumps(meta))
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, **payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):  # "[Errno 28] No space left on device: 'ck/.DawidSkene-<hex>.npz.<hex>.tmp'"
                raise self._unwritten(exc) from exc
            raise
        self.last = int(iteration)
        return self.path
