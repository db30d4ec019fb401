"""Distributed ingest: Parquet files, a Ray Dataset or in-memory frames into task shards on Ray actors.

``RayEngine.load_parquet(source)`` (which calls :func:`ingest`) never brings the judgments to the
driver. It is a shuffle through Ray's object store in three steps:

1. **partition** — one Ray task per *unit* (a Parquet file, a group of its row groups, a block of a
   Ray Dataset or a slice of an in-memory frame) reads only the three columns, makes them plain as
   the local reader does (binary decoded as text; list, struct and map columns refused), checks them for nulls,
   encodes workers and labels against its own small vocabularies and splits its rows into
   ``n_shards`` pieces by a stable hash of the raw task id (:func:`task_shard`), which go to the
   object store. Every file is read exactly once.
2. **vocabularies** — the driver merges the units' worker and label vocabularies (a few thousand
   values, never data-sized) into the global sorted ones, as :class:`galton.judgments.Judgments`
   would build them, and a map from each unit's codes to the global codes.
3. **build** — one Ray task per shard concatenates its pieces in unit order, sorts them by task (a
   single stable sort gives the shard's own sorted task vocabulary, the local task codes and the CSR
   layout) and maps workers and labels to the global codes; once every shard's task count is known,
   a last task per shard stamps the global task codes (``offset + local index``, shards in order)
   and puts the finished :class:`NamedShard` into the object store. The engine keeps those
   references (actors reload them after a crash) and its actors map them without a copy.

Memory is the encoded data (about 11 bytes per judgment for integer task ids) in the pieces, plus
the shards while they are built; pieces are freed as soon as their shard is built. Task vocabularies
stay in the shards (:attr:`NamedShard.task_names`); :class:`ShardedJudgments` is the driver's
handle: sizes, the global worker and label vocabularies, and task ids fetched on demand.

Task codes are shard-major (shard 0's tasks, sorted by id, then shard 1's ...), not the global sorted
order that ``Judgments`` uses; results are built in the order of the ids
(:attr:`ShardedJudgments.task_order`), so they are sorted by task as a local fit's, whatever the
number of shards. Fits give the same labels and probabilities per task id as a fit on the same data
read in memory (sums are added in another order: the numbers agree to about 1e-12). A pandas frame
ingested here gives galton's sorted layout, not crowd-kit's (its order of first appearance needs the
per-judgment codes, which stay in the shards).

The hash: integer task ids (any width) go through the splitmix64 finaliser of their int64 value
(:func:`galton.aggregator._engine.shard_of_tasks`); text ids through 64-bit FNV-1a over their UTF-8
bytes followed by the same finaliser. Both are plain arithmetic, identical in every process.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..io._hive import partition_columns, with_partitions
from ..io._read import ID_COLUMNS, check_columns, input_files, parquet_schema, partition_root
from ..io._snapshot import InputChanged, check_identity, identities
from ..io._text import one_line
from ..io._types import common_int_type
from .._gold import read_gold
from .._warnings import caller_stacklevel, warn
from ..data._repeats import KEEP_HINT
from ..data._validate import COLUMN_HINT, example_ids
from ..data._spellings import warn_missing_markers
from ..data.judgments import label_codes, label_lookup, warn_float_classes, warn_spaced_labels
from ..judgments import ColumnError, frame_kind, to_arrow
from ._partition import (build_core, finish_shard, labels_in_use, merge_vocabularies, merged_repeats, partition_unit,
                         rows_at_most, task_shard)
from .sharded import GoldSharesNoTaskWarning, NamedShard, ShardedJudgments

__all__ = ["NamedShard", "ShardedJudgments", "Unit", "ingest", "plan_units"]

_MAX_EXAMPLES = 5
_MIN_UNIT_ROWS = 50_000  #: in-memory frames are cut into slices of at least this many rows


# --------------------------------------------------------------------------------------------------
# units of input
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """One piece of input read by one Ray task: a file (some of its row groups) or a table."""

    name: str
    path: str | None = None  #: absolute: Ray's workers run in their own folder, not the driver's
    partitions: tuple = ()  #: (key, value) of the file's hive partition folders (galton.io._hive)
    row_groups: tuple[int, ...] | None = None
    first_row: int = 0  #: row number (within the file) of the unit's first row, for messages
    table: Any = None  #: a pyarrow Table, or an ObjectRef of one
    identity: tuple | None = None  #: the file's version when listed (galton.io._snapshot.file_identity)


def _files(source: str | os.PathLike[str]) -> list[str]:
    """The input's files, by the one reader's rule (:func:`galton.io.input_files`): a directory's
    ``.parquet`` files or a glob's matches, skipping any path component below the root that starts
    with ``.`` or ``_``."""
    return input_files(source)


def _partitions(source: Any, files: Sequence[str], ids: Sequence[str]) -> list[tuple]:
    """Each file's hive partition values, as the local reader finds them (a directory's folders)."""
    parts = partition_columns(files, partition_root(source), ids)  # a glob's folders too (they were lost)
    return [tuple((k, v[i]) for k, v in parts.items()) for i in range(len(files))]


def plan_units(source: Any, n_cpus: int, ids: Sequence[str] = ID_COLUMNS) -> tuple[list[Unit], str]:
    """Cut ``source`` into units for about ``2 * n_cpus`` parallel readers; returns (units, kind).

    Files are never split below one row group; a directory with enough files gives one unit per
    file. Ray Datasets give one unit per block; in-memory frames are sliced. ``ids``: the id
    columns (partition folder values are typed as the local reader types them).
    """
    target = max(2 * int(n_cpus), 1)
    if isinstance(source, (str, os.PathLike)):
        files = _files(source)
        ident = identities(files)  # before any footer is read: a part rewritten later is refused by its reader
        parts = _partitions(source, files, ids)
        # a relative path read in a Ray worker is relative to the worker's folder (where the cluster
        # started), not to the driver's: the units carry absolute paths, their names as given
        if len(files) >= target:
            return [Unit(name=f, path=os.path.abspath(f), partitions=p, identity=i)
                    for f, p, i in zip(files, parts, ident)], "polars"
        units: list[Unit] = []
        per_file = -(-target // len(files))
        for f, part, i in zip(files, parts, ident):
            meta = pq.read_metadata(f)
            n_rg = meta.num_row_groups
            if n_rg <= 1 or per_file <= 1:
                units.append(Unit(name=f, path=os.path.abspath(f), partitions=part, identity=i))
                continue
            k = min(per_file, n_rg)
            bounds = [n_rg * i // k for i in range(k + 1)]
            starts = np.concatenate([[0], np.cumsum([meta.row_group(i).num_rows for i in range(n_rg)])])
            for a, b in zip(bounds[:-1], bounds[1:]):
                units.append(Unit(name=f, path=os.path.abspath(f), row_groups=tuple(range(a, b)),
                                  first_row=int(starts[a]), partitions=part, identity=i))
        return units, "polars"
    if hasattr(source, "to_arrow_refs") and hasattr(source, "schema"):  # a Ray Dataset
        refs = source.to_arrow_refs()
        return [Unit(name=f"block {i}", table=r) for i, r in enumerate(refs)], "polars"
    frames = list(source) if isinstance(source, (list, tuple)) else [source]
    kind = frame_kind(frames[0])
    units = []
    for fi, frame in enumerate(frames):
        table = to_arrow(frame)
        n = table.num_rows
        k = max(1, min(target, n // _MIN_UNIT_ROWS)) if len(frames) == 1 else 1
        bounds = [n * i // k for i in range(k + 1)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            units.append(Unit(name=f"frame {fi}", first_row=a, table=table.slice(a, b - a)))
    return units, kind


class UnreadableFile(ValueError):
    """A Parquet file whose pages cannot be read (its footer could)."""


def _read_unit(unit: Unit, table: pa.Table | None, cols: Sequence[str]) -> tuple[pa.Table | None, list[str]]:
    """The unit's three columns, made plain as the local reader makes them (:func:`check_columns`:
    binary decoded as text; list, struct, map columns refused), or (None, the columns it lacks)."""
    t, names = _unit_columns(unit, table, cols)
    return (None, names) if t is None else (check_columns(t, cols, label=cols[-1]), [])


def _unit_columns(unit: Unit, table: pa.Table | None, cols: Sequence[str]) -> tuple[pa.Table | None, list[str]]:
    if table is None:
        try:
            fh = open(unit.path, "rb")
        except FileNotFoundError:
            raise InputChanged(f"{unit.name!r} was removed after galton listed its folder (another program is "
                               "rewriting the input); read it when that program has finished") from None
        with fh:  # one open file: the version listed, or an error naming it
            check_identity(unit.name, fh.fileno(), unit.identity)
            return _file_columns(unit, pq.ParquetFile(fh), cols)
    missing = [c for c in cols if c not in table.column_names]
    if missing:
        return None, table.column_names
    return table.select(list(cols)), []


def _file_columns(unit: Unit, pf: Any, cols: Sequence[str]) -> tuple[pa.Table | None, list[str]]:
    keys = dict(unit.partitions)
    names = [*pf.schema_arrow.names, *(k for k in keys if k not in pf.schema_arrow.names)]
    missing = [c for c in cols if c not in names]
    if missing:
        return None, names
    read = [c for c in cols if c not in keys]
    try:
        t = pf.read(columns=read) if unit.row_groups is None else pf.read_row_groups(list(unit.row_groups),
                                                                                      columns=read)
    except (pa.ArrowException, OSError) as exc:  # damaged pages: a worker's traceback named no file
        raise UnreadableFile(f"cannot read {unit.name}: {one_line(exc)}; fix or remove that file") from None
    return with_partitions(t, keys).select(list(cols)), []


def _partition_task(unit: Unit, table: Any, cols: tuple[str, str, str], n_shards: int,
                    on_invalid: str, numeric: bool = False) -> tuple:
    """Body of the step-1 Ray task: meta first, then one piece per shard (``num_returns``)."""
    try:
        t, names = _read_unit(unit, table, cols)
    except ValueError as exc:  # unreadable pages, a column galton cannot read: by the driver, in one line
        t, names = None, None
        text = str(exc) if isinstance(exc, (UnreadableFile, InputChanged)) else f"{unit.name}: {exc}"
        meta: dict[str, Any] = {"rows": 0, "unreadable": text, "nulls": {}, "dropped": 0}
    if t is None:
        if names is not None:
            meta = {"rows": 0, "missing": names, "nulls": {}, "dropped": 0}
        pieces: list[Any] = []
    else:
        meta, pieces = partition_unit(t, cols, n_shards, on_invalid, unit.first_row, numeric)
    if len(pieces) != n_shards:  # an error: no pieces, but every return must be filled
        pieces = [None] * n_shards
    return (meta, *pieces)


def _core_info(core: dict[str, Any]) -> tuple[int, int, int, Any, np.ndarray, int, list, Any, np.ndarray]:
    return (int(core["task_names"].size), int(core["task"].size), int(core["n_dropped"]), core["error"],
            core["gold_bad"], core["gold_hits"], core["task_names"][:3].tolist(), core["repeats"],
            core["labels_used"])


def _build_task(maps: Any, gold: Any, n_workers: int, duplicates: str | None, *pieces: Any) -> tuple:
    core = build_core(maps, gold, n_workers, duplicates, pieces)
    return core, _core_info(core)


def _common_type(types: list[pa.DataType], what: str, units: list[Unit]) -> pa.DataType:
    distinct = list(dict.fromkeys(types))
    if len(distinct) == 1:
        return distinct[0]
    if all(pa.types.is_integer(t) for t in distinct) and common_int_type(distinct) is not None:
        return common_int_type(distinct)
    if all(pa.types.is_floating(t) for t in distinct):  # as the local reader: float32 beside float64
        return pa.float64()
    if all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in distinct):
        return pa.string()
    examples = []
    for t in distinct[:3]:
        examples.append(f"{t} in {units[types.index(t)].name}")
    raise ValueError(f"the {what} column has different types in different inputs ({'; '.join(examples)}); "
                     "write them with one type")


# --------------------------------------------------------------------------------------------------
# errors found by the readers
# --------------------------------------------------------------------------------------------------
def _check_metas(metas: list[dict[str, Any]], units: list[Unit], cols: tuple[str, str, str],
                 on_invalid: str) -> None:
    for meta, unit in zip(metas, units):
        if "unreadable" in meta:
            raise ValueError(meta["unreadable"])
        if "missing" in meta:
            missing = [c for c in cols if c not in meta["missing"]]
            raise ColumnError(f"missing column(s) {missing} in {unit.name}; it has {meta['missing']}. {COLUMN_HINT}")
        if "bad_task_type" in meta:
            raise ValueError(
                f"column {cols[0]!r} has type {meta['bad_task_type']} in {unit.name}; distributed ingest "
                "takes integer or text task ids: cast the column to int64 or string"
            )
    parts = []  # every column with nulls, so that one run reports every fix
    for c in cols:
        total = sum(m["nulls"].get(c, (0, []))[0] for m in metas)
        if total and on_invalid == "raise":
            where = [(u.name, m["nulls"][c][1]) for u, m in zip(units, metas) if c in m["nulls"]]
            shown = "; ".join(f"{name}: rows {', '.join(str(r) for r in rows)}" for name, rows in where[:3])
            more = sum(len(rows) for _, rows in where[:3]) < total
            parts.append(f"column {c!r} has {total} null value(s) (in {shown}{', ...' if more else ''})")
    if parts:
        raise ValueError(f"{'; '.join(parts)}; drop those rows or pass on_invalid='drop'")
    if sum(m["rows"] - m["dropped"] for m in metas) == 0:
        raise ValueError("the input holds no judgments (0 rows)" if not any(m["dropped"] for m in metas)
                         else "every row has a null value; nothing is left to aggregate")


def _gold_pieces(gold: Any, label_names: np.ndarray, task_type: pa.DataType,
                 n_shards: int) -> tuple[list[tuple[Any, np.ndarray]], Any]:
    """Gold split by task shard: (raw task ids, global label codes, -1 for a label outside the
    set) per shard, and a function that raises for the bad labels the shards found. Read by the one
    set of gold rules (:func:`galton._gold.read_gold`: a Series, dict, frame or path; ``true_label``;
    one label per task; task ids brought to the judgments' type). As in a local fit, gold of a task
    without judgments is ignored whatever its label: only the shards know their tasks, so each one
    reports the bad labels of its own tasks; gold that names none of the judged tasks is ignored with a
    :class:`GoldSharesNoTaskWarning`, as a local fit warns."""
    integer = pa.types.is_integer(task_type)
    given, values = read_gold(gold, np.empty(0, dtype=np.int64 if integer else object),
                              labels=label_names)  # in the labels' type, as a local fit reads them
    tasks = given
    if integer:  # an id outside the judgments' type names no task (2**63 wrapped to -2**63 among int64 ids)
        info = np.iinfo(task_type.to_pandas_dtype())
        inside = (np.ones(given.size, dtype=bool) if given.dtype.kind in "iu" and np.can_cast(given.dtype, info.dtype)
                  else np.array([info.min <= int(t) <= info.max for t in given.tolist()], dtype=bool))
        tasks, values = given[inside], values[inside]
    codes = label_lookup(label_names, values)
    raw: Any = (tasks.astype(np.int64) if integer else  # as the pieces hold them (uint64 wraps there too)
                pa.array([str(t) for t in tasks.tolist()], pa.string()))
    sid = task_shard(raw, n_shards)
    out: list[tuple[Any, np.ndarray]] = []
    rows: list[np.ndarray] = []
    for s in range(n_shards):
        idx = np.flatnonzero(sid == s)
        rows.append(idx)
        part = raw[idx] if isinstance(raw, np.ndarray) else raw.take(pa.array(idx))
        out.append((part, codes[idx]))

    def check(bad_per_shard: list[np.ndarray], hits: int, data_ids: list[Any]) -> None:
        bad = np.sort(np.concatenate([rows[s][b] for s, b in enumerate(bad_per_shard)] or [np.zeros(0, np.int64)]))
        if bad.size:
            label_codes(label_names, values[bad], what="gold", tasks=tasks[bad])  # raises, naming them
        if given.size and not hits:  # as a local fit: a warning, the gold ignored (the CLI refuses it)
            warn(GoldSharesNoTaskWarning(given[:3].tolist(), data_ids), stacklevel=caller_stacklevel())

    return out, check


# --------------------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------------------
def ingest(engine: Any, source: Any, *, task_col: str = "task", worker_col: str = "worker",
           label_col: str = "label", gold: Any = None, on_invalid: str = "raise",
           duplicates: str | None = None, labels: Sequence[Any] | None = None,
           numeric: bool = False) -> ShardedJudgments:
    """Read ``source`` in parallel Ray tasks into ``engine``'s shard actors (see the module docstring).

    Parameters
    ----------
    engine : RayEngine
        Its earlier shards are released first; ``n_shards`` (default: one per cluster CPU) task shards.
    source : directory of Parquet files (read recursively, hidden files skipped), a glob pattern, a
        Parquet file, a Ray Dataset, or an in-memory frame / table (or a list of them).
    task_col, worker_col, label_col : column names.
    gold : optional known labels (pandas Series by task, dict, or frame with task, label columns),
        clamped during EM like ``fit(data, gold)``.
    on_invalid : "raise" or "drop" rows with a null task, worker or label (``numeric``: or a rating
        that is no usable number).
    duplicates : repeated (task, worker) pairs: "keep", "first", "last" (in input order) or "raise", as
        in :meth:`galton.judgments.Judgments.from_any`; None (default) keeps them, and a categorical
        model's fit warns of them as it does of data in memory.
    labels : the full label set, when some labels may never be observed.
    numeric : the labels are numeric ratings (a rating model's): no warning that non-integer labels
        are taken as classes, as ``Judgments.from_any(numeric=True)``.

    Returns
    -------
    ShardedJudgments
        Pass it to ``model.fit``; the model then runs on ``engine``.
    """
    import ray

    from .cluster import connect

    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', not {on_invalid!r}")
    if duplicates not in (None, "keep", "first", "last", "raise"):
        raise ValueError(f"duplicates must be one of 'keep', 'first', 'last', 'raise', not {duplicates!r}")
    cols = (task_col, worker_col, label_col)
    engine.close()
    info = connect(engine.address)
    n_shards = engine.resolve_n_shards(info.num_cpus)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if isinstance(source, (str, os.PathLike)):  # every file's columns and types, from its footer
        files = _files(source)
        keys = {k for part in _partitions(source, files, cols[:2]) for k, _ in part}
        parquet_schema(files, [c for c in cols if c not in keys])
    units, kind = plan_units(source, int(info.num_cpus), cols[:2])
    n_shards = rows_at_most(units, n_shards) if n_shards > info.num_cpus else n_shards  # <= one shard a task
    part = ray.remote(num_cpus=1, max_retries=1)(_partition_task).options(num_returns=n_shards + 1)
    calls = [part.remote(u if u.table is None else Unit(u.name, first_row=u.first_row),
                         None if u.table is None else (u.table if isinstance(u.table, ray.ObjectRef)
                                                       else ray.put(u.table)),
                         cols, n_shards, on_invalid, numeric) for u in units]
    meta_refs = [c[0] for c in calls]
    pieces = [list(c[1:]) for c in calls]  # pieces[u][s]
    del calls
    metas = ray.get(meta_refs)
    seconds["read_partition"] = time.perf_counter() - t0
    _check_metas(metas, units, cols, on_invalid)

    t1 = time.perf_counter()
    ok = [m for m in metas if "workers" in m]
    types = [m["types"] for m in ok]
    okunits = [u for u, m in zip(units, metas) if "workers" in m]
    task_type = _common_type([t[task_col] for t in types], repr(task_col), okunits)
    wtype = _common_type([t[worker_col] for t in types], repr(worker_col), okunits)
    ltype = _common_type([t[label_col] for t in types], repr(label_col), okunits)
    worker_names, wmaps_ok = merge_vocabularies([m["workers"] for m in ok], wtype)
    label_names, lmaps_ok = merge_vocabularies([m["labels"] for m in ok], ltype, labels, label_col)
    if not numeric:  # the local reader's warnings: ratings read as classes, "x " beside "x"
        warn_float_classes(label_names, label_col)
        warn_spaced_labels(label_names, label_col)
        warn_missing_markers(label_names, label_col)
    it_w, it_l = iter(wmaps_ok), iter(lmaps_ok)
    wmaps = [next(it_w) if "workers" in m else np.zeros(0, np.int32) for m in metas]
    lmaps = [next(it_l) if "workers" in m else np.zeros(0, np.int32) for m in metas]
    maps_ref = ray.put((wmaps, lmaps))
    gold_parts, check_gold = (None, None) if gold is None else _gold_pieces(gold, label_names, task_type, n_shards)
    seconds["vocabularies"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    build = ray.remote(num_cpus=1, max_retries=1)(_build_task).options(num_returns=2)
    built = [build.remote(maps_ref, None if gold_parts is None else gold_parts[s], len(worker_names),
                          duplicates, *[pieces[u][s] for u in range(len(units))])
             for s in range(n_shards)]
    info_refs = {built[s][1]: s for s in range(n_shards)}
    infos: list[Any] = [None] * n_shards
    pending = list(info_refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        s = info_refs[done[0]]
        infos[s] = ray.get(done[0])
        for u in range(len(units)):  # this shard's pieces are no longer needed
            pieces[u][s] = None
    del pieces
    if check_gold is not None:
        check_gold([i[4] for i in infos], sum(i[5] for i in infos),
                   sorted(t for i in infos for t in i[6])[:3])  # the smallest ids, as a local message shows
    errors = [i[3] for i in infos if i[3]]
    if errors:
        raise ValueError(
            f"{sum(e[0] for e in errors)} repeated (task, worker) pair(s) (in "
            f"{example_ids([t for e in errors for t in e[1]][:_MAX_EXAMPLES + 1])}); {KEEP_HINT}"
        )
    keep = [s for s in range(n_shards) if infos[s][0] > 0] or [0]  # tasks go by hash: a shard may get none
    built, infos, n_shards = [built[s] for s in keep], [infos[s] for s in keep], len(keep)
    counts = [i[0] for i in infos]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    if offsets[-1] >= np.iinfo(np.int32).max:
        raise ValueError(f"{offsets[-1]} tasks: more than int32 task codes can hold")
    np_task_dtype = np.dtype(task_type.to_pandas_dtype()) if pa.types.is_integer(task_type) else np.dtype(object)
    finish = ray.remote(num_cpus=1, max_retries=1)(finish_shard)
    shard_refs = [finish.remote(built[s][0], int(offsets[s]), len(worker_names), len(label_names),
                                np_task_dtype) for s in range(n_shards)]
    ray.wait(shard_refs, num_returns=n_shards, fetch_local=False)
    del built
    seconds["build_shards"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    engine.load_refs(shard_refs, int(offsets[-1]))
    seconds["load_actors"] = time.perf_counter() - t3
    n_dropped = sum(m["dropped"] for m in metas) + sum(i[2] for i in infos)
    return ShardedJudgments(
        engine=engine, generation=engine.generation, worker_names=worker_names, label_names=label_names,
        shard_tasks=tuple(int(c) for c in counts), n_judgments=int(sum(i[1] for i in infos)),
        source_kind=kind, n_dropped=int(n_dropped), columns=cols, n_units=len(units), seconds=seconds,
        repeats=merged_repeats([i[7] for i in infos], worker_names),
        labels_used=labels_in_use([i[8] for i in infos], len(label_names)),
    )
