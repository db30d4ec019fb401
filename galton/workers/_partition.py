"""The steps of distributed ingest that run inside Ray tasks: plain numpy / pyarrow functions.

- :func:`task_shard` — the stable hash of raw task ids that decides each task's shard;
- :func:`partition_unit` — one unit of input (a file, row groups, a block) split into per-shard
  pieces with codes into the unit's own worker and label vocabularies;
- :func:`merge_vocabularies` — the global sorted vocabularies and each unit's map to them (driver);
- :func:`build_core` / :func:`finish_shard` — one shard from its pieces.

Nothing here imports Ray: tests call these functions directly.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._math import splitmix64
from ..aggregator._engine import shard_of_tasks
from ..data import encode_column, label_set, plain_column
from ..data._repeats import repeated_pairs
from ..data._validate import null_mask
from ..data.judgments import unreadable_ratings, unusable_ratings
from .sharded import NamedShard

__all__ = ["rows_at_most", "task_shard", "partition_unit", "merge_vocabularies", "build_core", "finish_shard", "fnv1a",
           "plain_array", "vocab_to_numpy"]

_MAX_EXAMPLES = 5
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


# --------------------------------------------------------------------------------------------------
# the hash
# --------------------------------------------------------------------------------------------------
def fnv1a(arr: pa.Array) -> np.ndarray:
    """64-bit FNV-1a of each UTF-8 string of a null-free Arrow string array."""
    arr = arr.cast(pa.large_string())
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    if n == 0:
        return h
    order = np.argsort(-lengths, kind="stable")  # the strings still going form a prefix
    sorted_len = lengths[order]
    starts = offsets[:-1][order]
    hs = h[order]
    with np.errstate(over="ignore"):
        for j in range(int(sorted_len[0])):
            m = int(np.searchsorted(-sorted_len, -j, side="left"))  # count of lengths > j
            hs[:m] = (hs[:m] ^ data[starts[:m] + j].astype(np.uint64)) * _FNV_PRIME
    h[order] = hs
    return h


def task_shard(tasks: pa.Array | np.ndarray, n_shards: int) -> np.ndarray:
    """Shard of each raw task id (integers or text): a stable hash modulo ``n_shards``."""
    if isinstance(tasks, np.ndarray):
        values = tasks
    elif pa.types.is_integer(tasks.type):
        values = tasks.to_numpy(zero_copy_only=False)
    else:
        values = None
    if values is not None:
        return shard_of_tasks(values.astype(np.int64, copy=False), n_shards)
    if n_shards == 1:
        return np.zeros(len(tasks), dtype=np.int32)
    return (splitmix64(fnv1a(tasks)) % np.uint64(n_shards)).astype(np.int32)


# --------------------------------------------------------------------------------------------------
# step 1: partition one unit
# --------------------------------------------------------------------------------------------------
def plain_array(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    return plain_column(col)


def _small_codes(codes: np.ndarray, n: int) -> np.ndarray:
    dtype = np.uint8 if n <= 1 << 8 else np.uint16 if n <= 1 << 16 else np.int32
    return codes.astype(dtype, copy=False)


def _encode_local(col: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """(codes, vocabulary) of one unit's column by galton's one encoder
    (:func:`galton.data.encode_column`, a sorted vocabulary); the driver maps them to global codes."""
    col = plain_column(col)
    codes, vocab = encode_column(col)
    return _small_codes(codes, vocab.size), pa.array(vocab, type=col.type)


def partition_unit(table: pa.Table, cols: Sequence[str], n_shards: int, on_invalid: str, first_row: int = 0,
                   numeric: bool = False) -> tuple[dict[str, Any], list[tuple[Any, np.ndarray, np.ndarray]]]:
    """Split one unit's rows by task shard (``numeric``: ratings, whose ``on_invalid="drop"`` also
    drops the ones the rating models refuse or that read as no number, as ``Judgments.from_any``).

    Returns ``(meta, pieces)``: meta holds the row and null counts, example rows with nulls, the
    column types and the unit's worker and label vocabularies (Arrow arrays); ``pieces[s]`` is
    ``(raw task ids, worker codes, label codes)`` of the rows of shard ``s``, in row order, with
    codes into the unit's vocabularies.
    """
    task_col, worker_col, label_col = cols
    meta: dict[str, Any] = {"rows": table.num_rows, "dropped": 0, "nulls": {}}
    invalid = np.zeros(table.num_rows, dtype=bool)
    for c in cols:
        m = null_mask(table.column(c))  # the reader's: a dictionary's null or NaN entries too
        if m.any():
            rows = np.flatnonzero(m)
            meta["nulls"][c] = (int(rows.size), (rows[:_MAX_EXAMPLES] + first_row).tolist())
            invalid |= m
    if numeric and on_invalid == "drop":
        invalid |= unusable_ratings(table.column(label_col)) | unreadable_ratings(table.column(label_col))
    if invalid.any():
        if on_invalid == "raise":
            return meta, []
        table = table.filter(pa.array(~invalid))
        meta["dropped"] = int(invalid.sum())
    task = plain_array(table.column(task_col))
    worker = plain_array(table.column(worker_col))
    label = plain_array(table.column(label_col))
    meta["types"] = {c: a.type for c, a in zip(cols, (task, worker, label))}
    if not (pa.types.is_integer(task.type) or pa.types.is_string(task.type)):
        meta["bad_task_type"] = str(task.type)
        return meta, []
    w_codes, meta["workers"] = _encode_local(worker)
    l_codes, meta["labels"] = _encode_local(label)
    raw: Any = task.to_numpy(zero_copy_only=False).astype(np.int64, copy=False) \
        if pa.types.is_integer(task.type) else task
    if n_shards == 1:
        return meta, [(raw, w_codes, l_codes)]
    sid = task_shard(raw, n_shards)
    order = np.argsort(sid.astype(np.uint8 if n_shards <= 256 else np.uint16 if n_shards <= 65536 else np.int32),
                       kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(sid, minlength=n_shards))])
    if isinstance(raw, np.ndarray):
        raw_sorted: Any = raw[order]
    else:
        raw_sorted = raw.take(pa.array(order))
    w_sorted, l_sorted = w_codes[order], l_codes[order]
    pieces = []
    for s in range(n_shards):
        a, b = int(bounds[s]), int(bounds[s + 1])
        t = raw_sorted[a:b] if isinstance(raw_sorted, np.ndarray) else raw_sorted.slice(a, b - a)
        pieces.append((t, w_sorted[a:b], l_sorted[a:b]))
    return meta, pieces


# --------------------------------------------------------------------------------------------------
# step 2: global vocabularies
# --------------------------------------------------------------------------------------------------
def vocab_to_numpy(vocab: pa.Array) -> np.ndarray:
    out = vocab.to_numpy(zero_copy_only=False)
    if out.dtype == object or out.dtype.kind in "US":
        out = out.astype(object)
    return out


def merge_vocabularies(locals_: list[pa.Array], dtype: pa.DataType,
                       full: Sequence[Any] | None = None, column: str = "label"
                       ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Global sorted vocabulary of the units' vocabularies and each unit's map to global codes."""
    cast = [v.cast(dtype) if v.type != dtype else v for v in locals_]
    merged = pa.chunked_array(cast, type=dtype).unique() if cast else pa.array([], type=dtype)
    if isinstance(merged, pa.ChunkedArray):
        merged = merged.combine_chunks()
    glob_vocab = merged.take(pc.sort_indices(merged))
    names = vocab_to_numpy(glob_vocab)
    if full is not None:
        full_arr, _ = label_set(names, full, column)
        names = full_arr
        glob_vocab = pa.array(full_arr.tolist()).cast(dtype)
    maps = [pc.index_in(v, value_set=glob_vocab).fill_null(-1).to_numpy().astype(np.int32) for v in cast]
    names.setflags(write=False)
    return names, maps


# --------------------------------------------------------------------------------------------------
# step 3: build a shard
# --------------------------------------------------------------------------------------------------
def _concat(parts: list[Any]) -> Any:
    if not parts:
        return np.zeros(0, dtype=np.int64)
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts) if len(parts) > 1 else parts[0]
    return pa.concat_arrays([p.cast(pa.string()) for p in parts]) if len(parts) > 1 else parts[0]


def build_core(maps: tuple[list[np.ndarray], list[np.ndarray]], gold: tuple[Any, np.ndarray] | None,
               n_workers: int, duplicates: str | None, pieces: Sequence[Any]) -> dict[str, Any]:
    """One shard's arrays from its pieces (in unit order): sorted task vocabulary, CSR layout,
    global worker and label codes, gold per local task.

    ``maps[0][u]`` / ``maps[1][u]`` map unit ``u``'s worker / label codes to global codes. Returns a
    dict of arrays plus ``n_dropped``, ``error``: None, or (number of repeated (task, worker)
    pairs, example task ids) when ``duplicates='raise'`` finds some, and ``gold_bad``: positions in
    ``gold`` of the rows whose task is here and whose label code is -1 (outside the label set), and
    ``gold_hits``: how many rows of ``gold`` name a task here; ``repeats``: None, or (rows repeating
    a (task, worker) pair, pairs, a few (task id, worker code) pairs) when ``duplicates`` is None (kept
    and counted); ``labels_used``: the label codes a judgment or a gold task here gives.
    """
    wmaps, lmaps = maps
    used = [(u, p) for u, p in enumerate(pieces) if p is not None and len(p[1])]
    raw = _concat([p[0] for _, p in used])
    worker = np.concatenate([wmaps[u][p[1]] for u, p in used]) if used else np.zeros(0, np.int32)
    label = np.concatenate([lmaps[u][p[2]] for u, p in used]) if used else np.zeros(0, np.int32)
    n = len(worker)
    is_np = isinstance(raw, np.ndarray)
    if is_np:
        if n < 2 or bool(np.all(raw[1:] >= raw[:-1])):
            order = None  # already grouped in order (common: files written sorted by task)
            srt = raw
        else:
            order = np.argsort(raw, kind="stable")
            srt = raw[order]
        new = np.empty(n, dtype=bool)
        new[:1] = True
        np.not_equal(srt[1:], srt[:-1], out=new[1:])
    else:
        order = np.asarray(pc.array_sort_indices(raw)).astype(np.int64) if n else np.zeros(0, np.int64)
        srt = raw.take(pa.array(order))
        new = np.empty(n, dtype=bool)
        new[:1] = True
        if n > 1:
            new[1:] = np.asarray(pc.not_equal(srt.slice(1), srt.slice(0, n - 1)))
    if order is not None:
        worker, label = worker[order], label[order]
    starts = np.flatnonzero(new)
    local = (np.cumsum(new, dtype=np.int64) - 1).astype(np.int32)
    names = srt[starts] if is_np else vocab_to_numpy(srt.take(pa.array(starts)))
    n_dropped, error, repeats = 0, None, None
    if duplicates is None and n:  # kept, counted for the fit's warning (galton.data._repeats.warn_repeated_pairs)
        n_rows, n_pairs, t_shown, w_shown = repeated_pairs(local, worker, n_workers)  # linear, as in memory
        repeats = (n_rows, n_pairs, list(zip(names[t_shown].tolist(), w_shown.tolist())))
    elif duplicates != "keep" and n:
        key = local.astype(np.int64) * max(n_workers, 1) + worker
        o2 = np.argsort(key, kind="stable")
        sk = key[o2]
        first = np.ones(n, dtype=bool)
        first[1:] = sk[1:] != sk[:-1]
        if duplicates == "raise":
            if not first.all():
                tasks = np.unique(local[o2[~first]])[:_MAX_EXAMPLES]  # each task once (one task repeated 5 times)
                error = (int((~first).sum()), names[tasks].tolist())
        else:
            if duplicates == "first":
                keep = o2[first]
            else:
                last = np.ones(n, dtype=bool)
                last[:-1] = sk[1:] != sk[:-1]
                keep = o2[last]
            keep.sort()
            n_dropped = n - keep.size
            local, worker, label = local[keep], worker[keep], label[keep]
    counts = np.bincount(local, minlength=names.size)
    indptr = np.zeros(names.size + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    gold_codes = np.full(names.size, -1, dtype=np.int32)
    gold_bad = np.zeros(0, dtype=np.int64)
    gold_hits = 0
    if gold is not None and len(gold[1]):
        g_raw, g_codes = gold
        if is_np:
            g = np.asarray(g_raw, dtype=np.int64)
            pos = np.clip(np.searchsorted(names, g), 0, max(names.size - 1, 0))
            hit = (names[pos] == g) if names.size else np.zeros(g.size, bool)
        else:
            pos = pc.index_in(g_raw.cast(pa.string()), value_set=pa.array(names.tolist(), pa.string()))
            pos = pos.fill_null(-1).to_numpy().astype(np.int64)
            hit = pos >= 0
        gold_hits = int(hit.sum())
        gold_bad = np.flatnonzero(hit & (g_codes < 0))  # a gold label outside the set, on a task here
        hit &= g_codes >= 0
        gold_codes[pos[hit]] = g_codes[hit]
    used = np.union1d(np.unique(label), np.unique(gold_codes[gold_codes >= 0]))  # label codes in use
    return {"task_names": names, "indptr": indptr, "task": local, "worker": worker.astype(np.int32, copy=False),
            "label": label.astype(np.int32, copy=False), "gold": gold_codes, "n_dropped": n_dropped,
            "error": error, "gold_bad": gold_bad, "gold_hits": gold_hits, "repeats": repeats,
            "labels_used": used.astype(np.int64)}


def merged_repeats(parts: Sequence[Any], worker_names: np.ndarray) -> tuple[int, int, list] | None:
    """The shards' ``repeats`` (:func:`build_core`) as one: rows, pairs and the first few (task, worker
    id) pairs by task, then worker, as a local fit names them (shards hold whole tasks, so a pair
    repeats within one shard); None when not counted."""
    if any(p is None for p in parts):
        return None
    pairs = [(t, w) for p in parts for t, w in p[2]]  # each shard's first few; the smallest, as locally
    try:
        pairs.sort()
    except TypeError:  # ids of kinds that do not compare: in shard order
        pass
    shown = [(t, worker_names[w].item() if hasattr(worker_names[w], "item") else worker_names[w]) for t, w in pairs]
    return sum(p[0] for p in parts), sum(p[1] for p in parts), shown[:_MAX_EXAMPLES]


def labels_in_use(parts: Sequence[np.ndarray], n_labels: int) -> np.ndarray:
    """Which of the ``n_labels`` labels a judgment or a gold task of any shard gives (bool)."""
    used = np.zeros(int(n_labels), dtype=bool)
    for codes in parts:
        used[codes] = True
    return used


def finish_shard(core: dict[str, Any], offset: int, n_workers: int, n_labels: int,
                 task_dtype: Any = None) -> NamedShard:
    """The finished shard: global task codes ``offset + local index``."""
    names = core["task_names"]
    if task_dtype is not None and names.dtype != task_dtype:
        names = names.astype(task_dtype)  # the input's integer width, or object for text (empty shards)
    return NamedShard(
        task_ids=np.arange(offset, offset + names.size, dtype=np.int32), indptr=core["indptr"],
        task=core["task"], worker=core["worker"], label=core["label"], gold=core["gold"],
        n_workers=int(n_workers), n_labels=int(n_labels), task_names=names,
    )


def rows_at_most(units: Sequence[Any], limit: int) -> int:
    """The rows of the input ``units`` (no fewer than its tasks; at least 1), from Parquet footers
    and tables' sizes, or ``limit`` where that is fewer or a unit's rows are unknown (a Ray Dataset's
    block, a footer that cannot be read: its reader names the file). A shard count above it made
    only empty shards (one more object per shard from every reading task)."""
    import pyarrow.parquet as pq

    total = 0
    for u in units:
        if u.table is None:
            try:
                meta = pq.read_metadata(u.path)
            except (OSError, pa.ArrowException):
                return limit
            groups = range(meta.num_row_groups) if u.row_groups is None else u.row_groups
            total += sum(meta.row_group(i).num_rows for i in groups)
        elif isinstance(u.table, pa.Table):
            total += u.table.num_rows
        else:
            return limit
        if total >= limit:
            return limit
    return max(total, 1)
