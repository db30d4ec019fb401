"""THE encoder: every vocabulary in galton (task, worker, label, item ids) is built by
:func:`encode_column`, sorted (numbers numerically, strings lexicographically, ``False < True``), so
codes do not depend on the order of the input rows. Also: lookups into a sorted vocabulary, the full
label set, read-only arrays, and tuple-valued ids of pandas frames (crowd-kit users group items as
tuples), which Arrow cannot hold as ids: they travel as integer ranks and come back as the tuples."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from ._canonical import canonical_int_ids, uuid_as_text
from ._float_codes import distinct_float_codes
from ._validate import MAX_EXAMPLES

__all__ = ["FittedLabels", "LabelSetError", "bool_lookup", "encode_column", "dense_int_codes_numpy", "dense_span",
           "ids_from_offsets", "label_set", "lookup", "object_array", "plain_column", "readonly", "recode_labels",
           "retuple", "untuple_frame", "untuple_groups", "untuple_items", "uuid_as_text"]


def object_array(values: Any) -> np.ndarray:
    """A 1-d object array of ``values``, filled item by item: numpy's own conversion would spread
    tuples (tuple ids and labels), lists or equal-shaped arrays into columns."""
    values = list(values)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def plain_column(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous Arrow array, dictionaries decoded, large/view strings as plain strings,
    half floats as float32 (exactly: Arrow's compute functions have no float16 kernels)."""
    if isinstance(column, pa.ChunkedArray):  # one chunk (a pandas column) is taken as it is: no copy
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_float16(column.type):
        column = column.cast(pa.float32())
    if pa.types.is_large_string(column.type) or pa.types.is_string_view(column.type):
        from ..io._types import view_cast  # pyarrow 16-17 have no cast from string_view

        column = view_cast(column, pa.string())
    return column


def encode_column(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Codes (int32) and the sorted vocabulary (numpy array) of a null-free Arrow column."""
    import pyarrow.compute as pc  # on first use: 30 ms not spent at import galton
    if pa.types.is_dictionary(column.type):  # coded through the dictionary, not row by row decoded
        from ._dict_codes import dictionary_codes
        return dictionary_codes(column)
    column = plain_column(column)
    if pa.types.is_floating(column.type) and column.null_count == 0:  # nearly all distinct: one sort
        fast = distinct_float_codes(column.to_numpy())
        if fast is not None:
            return fast
    if pa.types.is_floating(column.type):  # -0.0 and 0.0 are one value
        column = pc.add(column, pa.scalar(0.0, column.type))
    if pa.types.is_integer(column.type) and column.null_count == 0:
        fast = _dense_int_codes(column.to_numpy())
        if fast is not None:
            return fast
    enc = column.dictionary_encode()
    dictionary = enc.dictionary
    indices = enc.indices.to_numpy(zero_copy_only=False)
    order = np.asarray(pc.sort_indices(dictionary)).astype(np.int64)
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    codes = rank[indices].astype(np.int32, copy=False)
    return codes, column_values(dictionary.take(pa.array(order)))


def column_values(column: pa.Array) -> np.ndarray:
    """A plain Arrow column as numpy values, as ids are held: numpy's datetime64 has no time zone
    (ids came back shifted to UTC, naive; gold for them matched no task) and makes dates timestamps,
    so such ids stay Python objects, as given (datetimes with their zone, dates); text as objects."""
    if (pa.types.is_timestamp(column.type) and column.type.tz) or pa.types.is_date(column.type):
        from ..io._types import zoned_timestamps

        return object_array(zoned_timestamps(column) if pa.types.is_timestamp(column.type) else column.to_pylist())
    values = column.to_numpy(zero_copy_only=False)
    return values.astype(object) if values.dtype.kind in "US" else values


def _dense_int_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`dense_int_codes_numpy`, compiled from ``SMALL`` ids on (imported on use: the kernels
    live with the other twins in ``galton.aggregator``)."""
    from ..aggregator._kernels import dense_int_codes

    return dense_int_codes(values)


def dense_span(values: np.ndarray, lo: int, hi: int) -> int | None:
    """``hi - lo + 1`` when integer ids spanning ``[lo, hi]`` are dense enough to be coded by a
    presence table over the range (at most a few times their count), else None."""
    span = int(hi) - int(lo) + 1
    return span if span <= 4 * values.size + (1 << 16) else None


def dense_int_codes_numpy(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Integer ids spanning a range at most a few times their count: codes (int32) and the sorted
    vocabulary (the ids' own type) by a presence table over the range (linear time, no hashing or
    sorting; 5-10x faster than a dictionary encoding for a million ids). None when the range is
    too sparse for that (:func:`dense_span`)."""
    if values.size == 0:
        return None
    lo, hi = int(values.min()), int(values.max())
    span = dense_span(values, lo, hi)
    if span is None:
        return None
    # in intp (numpy indexes with intp: an int32 index array is converted first, twice as slow),
    # the inputs wrapping modulo 2**64 on the way in (uint64), the difference exact in [0, span)
    offset = np.subtract(values, np.asarray(lo, dtype=values.dtype), dtype=np.intp, casting="unsafe")
    present = np.zeros(span, dtype=bool)
    present[offset] = True
    if span <= np.iinfo(np.int32).max and present.all():  # every id of the range occurs: code = id - lo
        return offset.astype(np.int32), ids_from_offsets(np.arange(span), lo, values.dtype)
    code_of = np.cumsum(present, dtype=np.int32) - 1
    vocab = ids_from_offsets(np.flatnonzero(present), lo, values.dtype)
    return code_of[offset].astype(np.int32, copy=False), vocab


def ids_from_offsets(offsets: np.ndarray, lo: int, dtype: np.dtype) -> np.ndarray:
    """``lo + offsets`` in ``dtype``: the additions wrap modulo the type's range and land on the
    ids, which lie in it (a uint64 id beyond int64 does not fit the intp sum)."""
    return offsets.astype(dtype) + np.asarray(lo, dtype=dtype)


def readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def lookup(vocab: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Positions of values in a sorted vocabulary; -1 where absent."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int32)
    if {vocab.dtype.kind, values.dtype.kind} == {"i", "u"}:
        return _lookup_signed(vocab, values)
    try:
        pos = np.searchsorted(vocab, values)
    except TypeError:  # values of another or of mixed types: each found by equality, as Python compares
        where = {v: i for i, v in enumerate(vocab.tolist())}
        found = []
        for v in values.ravel().tolist():
            try:
                found.append(where.get(v, -1))
            except TypeError:  # unhashable: matches nothing
                found.append(-1)
        return np.asarray(found, dtype=np.int32).reshape(values.shape)
    pos = np.clip(pos, 0, max(vocab.size - 1, 0))
    hit = np.zeros(values.shape, dtype=bool)
    if vocab.size:
        try:
            hit = np.asarray(vocab[pos] == values, dtype=bool)
        except (TypeError, ValueError):
            hit = np.array([a == b for a, b in zip(vocab[pos], values)], dtype=bool)
    return np.where(hit, pos, -1).astype(np.int32)


_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


def bool_lookup(names: np.ndarray, values: Any) -> np.ndarray:
    """:func:`lookup` in a boolean vocabulary: booleans, 0 / 1, and the text ``true`` / ``false``
    (any case) or ``1`` / ``0`` match; anything else is absent (-1). A cast to bool took any
    non-empty text, ``"False"`` and ``"no"`` too, for True."""
    flat = np.asarray(values, dtype=object).ravel().tolist()
    as_bool = np.zeros(len(flat), dtype=bool)
    ok = np.zeros(len(flat), dtype=bool)
    for i, v in enumerate(flat):
        if isinstance(v, (bool, np.bool_)):
            as_bool[i], ok[i] = bool(v), True
        elif isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
            as_bool[i], ok[i] = v.strip().lower() in _TRUE, True
        elif isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
            as_bool[i], ok[i] = bool(v), True
    out = np.full(len(flat), -1, dtype=np.int32)
    out[ok] = lookup(names, as_bool[ok])
    return out.reshape(np.shape(values))


def id_lookup(names: np.ndarray, values: Any, *, ids: bool = True) -> np.ndarray:
    """:func:`lookup` of ids in a vocabulary of ids: text values are read in the type of integer ids
    when canonical integers only (``"842"`` finds worker 842, as gold's text task ids find integer
    tasks; ``"0842"``, ``"+842"``, ``"842.0"`` find none: the reader keeps them text, another id),
    integers in that of text ids, ``uuid.UUID`` values by their text (as the reader holds UUID ids),
    booleans by :func:`bool_lookup`; -1 where absent. ``ids=False`` (labels of a fitted model) reads
    text as any number it spells (:func:`label_lookup`: ``"01"`` is label 1), as gold's labels are."""
    if names.dtype.kind == "b":
        return bool_lookup(names, values)
    values = np.asarray(values)
    if values.dtype.kind in "OS" and names.dtype == object:
        values = uuid_as_text(values)
    if ids and names.dtype.kind in "iu" and values.dtype.kind in "OUS":
        values = canonical_int_ids(values)
    if names.dtype.kind in "iuf" and values.dtype.kind in "OUSf":  # as numbers are found among labels: a cast
        return label_lookup(names, values)  # made worker 1.5 worker 1 (and a bool an integer id)
    if names.dtype == object and values.dtype.kind in "iu" and all(isinstance(v, str) for v in names.tolist()):
        values = values.astype(str).astype(object)
    return lookup(names, values)


def label_lookup(label_names: np.ndarray, values: Any) -> np.ndarray:
    """Codes of label values in the label vocabulary ``label_names`` (whole-number floats match
    integer labels); -1 for a value outside it."""
    if label_names.dtype.kind == "b":  # "False" cast to bool is True: text read as a boolean, else no label
        return bool_lookup(label_names, values)
    values = np.asarray(values)
    if label_names.dtype.kind in "iuf" and values.dtype.kind in "OUS":  # text: a number where it reads as one
        parsed = [parse_number(v, label_names.dtype.kind) for v in values.ravel().tolist()]
        out = np.full(len(parsed), -1, dtype=np.int32)  # ("abc" against labels 0, 1 failed in numpy's cast)
        for kind in (int, float):  # apart: one array of both made 2**53 + 1 a float, 2**53
            rows = [i for i, p in enumerate(parsed) if isinstance(p, kind) and not isinstance(p, bool)]
            # integers by 64-bit type (0 beside 2**63 made float64; beside 2**64 + 1, no integer type: every
            # one of them went unfound); an integer beyond 64 bits is no label
            parts = ([[i for i in rows if -(2**63) <= parsed[i] < 2**63],
                      [i for i in rows if 2**63 <= parsed[i] < 2**64]] if kind is int else [rows])
            for part in parts:
                found = np.asarray([parsed[i] for i in part])
                if part and found.dtype != object:
                    out[part] = label_lookup(label_names, found)
        return out.reshape(values.shape)
    if values.dtype.kind == "f" and label_names.dtype.kind in "iub":
        info = np.iinfo(label_names.dtype) if label_names.dtype.kind in "iu" else None
        whole = values == np.round(values)  # 3.5 is no integer label (a cast made it 3)
        if info is not None:  # nor is a number beyond the labels' integer type (its cast is undefined)
            whole &= (values >= info.min) & (values <= info.max)
        out = np.full(values.shape, -1, dtype=np.int32)
        out[whole] = lookup(label_names, values[whole].astype(label_names.dtype))
        return out
    if values.dtype.kind in "iu" and label_names.dtype.kind in "iu":  # compared as they are: a cast wrapped
        return lookup(label_names, values)  # 2**63 to -2**63 among int64 ids, -1 to 2**64 - 1 among uint64 ones
    if label_names.dtype == object and values.dtype.kind in "OS":
        values = uuid_as_text(values)  # bytes by their text, as the reader holds a binary column
    return lookup(label_names, np.asarray(values, dtype=label_names.dtype if label_names.dtype != object else object))


def parse_number(v: Any, kind: str) -> Any:
    """``v`` as a number for a vocabulary of ``kind`` ("i", "u", "f"): numbers as they are, text
    parsed (integers exactly), None for anything else. Text as Python reads a number, with a sign,
    a leading point and spaces around it (``+7``, ``.5``, `` 3 ``), but ASCII only and without
    underscores (Python read ``1_000`` as 1000 and full-width ``０３`` as 3), and not ``nan`` (a NaN
    rating that gave a NaN score)."""
    if isinstance(v, (bool, np.bool_)) or v is None:
        return None
    if isinstance(v, (np.integer, np.floating)):
        v = v.item()  # Python int / float, as the text below parses to
    if not isinstance(v, (str, bytes)):
        return v if isinstance(v, (int, float)) else None
    text = v.decode() if isinstance(v, bytes) else v
    if not text.isascii() or "_" in text:
        return None
    for parse in ((int, float) if kind in "iu" else (float,)):
        try:
            number = parse(text)
        except ValueError:
            continue
        return None if number != number else number  # "nan" is no number
    return None


def _lookup_signed(vocab: np.ndarray, values: np.ndarray) -> np.ndarray:
    """:func:`lookup` of signed ints among unsigned ones, or the reverse: numpy compares the two in
    float64, which merges ids from 2**53 on (fitted workers with uint64 ids were taken as unseen)."""
    if values.dtype.kind == "u":  # in int64 where the value fits it; above, it is in no signed vocabulary
        ok = values <= np.uint64(np.iinfo(np.int64).max)
        as_vocab, common = (vocab.astype(np.int64), np.int64)
    else:  # a negative value is in no unsigned vocabulary
        ok = values >= 0
        as_vocab, common = (vocab.astype(np.uint64), np.uint64)
    out = np.full(values.shape, -1, dtype=np.int32)
    out[ok] = lookup(as_vocab, values[ok].astype(common))
    return out


class LabelSetError(ValueError):
    """Observed labels outside a given label set: ``extra`` (a few of them), ``full`` (the set)
    and ``column``, for callers that word the error for their own context."""

    def __init__(self, message: str, extra: list, full: list, column: str):
        super().__init__(message)
        self.extra, self.full, self.column = extra, full, column

    def __reduce__(self) -> tuple[Any, ...]:  # the default passes (message,) alone: unpickling it failed,
        # and a multiprocessing pool whose worker raised it hung
        return type(self), (*self.args, self.extra, self.full, self.column), vars(self)


class FittedLabels(list):
    """The label set of a fitted model, given as ``labels=`` when new data is read for it: its
    labels are matched as gold's are (text that reads as a number is that number, :func:`id_lookup`),
    where a user's ``labels=`` takes only labels of the column's own kind (:func:`label_set`)."""


def _label_kind(v: Any) -> str | None:
    """The kind of a label that ``labels=`` must match: booleans, numbers (integers and floats
    alike: 1 and 1.0 are one label), text or bytes; None for other types (dates, tuples, ...),
    matched by equality."""
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return "number"
    return "text" if isinstance(v, str) else "bytes" if isinstance(v, bytes) else None


def _same_kind(names: np.ndarray, full: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """``mapping`` with -1 where an observed label found a declared one of another kind: text "1"
    and "01" both found the integer 1 (two labels made one), a boolean the integer 1."""
    out = mapping.copy()
    for i, (name, at) in enumerate(zip(names.tolist(), mapping.tolist())):
        if at >= 0:
            kinds = _label_kind(name), _label_kind(full[at])
            if None not in kinds and kinds[0] != kinds[1]:
                out[i] = -1
    return out


def label_set(names: np.ndarray, labels: Sequence[Any], column: str) -> tuple[np.ndarray, np.ndarray]:
    """The full sorted label set from ``labels=`` and the position of each observed label name in
    it; raises naming the observed labels that are not in the set. An observed label matches a
    declared one of its own kind only (:func:`_label_kind`: ``"1"`` is no label of ``labels=[0, 1]``,
    nor ``True``), except against a :class:`FittedLabels` set."""
    if isinstance(labels, (str, bytes)) or not len(labels) or any(x is None or x != x for x in labels):
        raise ValueError(f"labels= must list every label (a list such as ['no', 'yes'], no None or NaN), "
                         f"not {labels!r}")  # a string was split into its characters; [] failed in a cast
    try:
        full = np.asarray(sorted(set(labels)))
    except TypeError:
        raise ValueError(f"labels= mixes value types that do not sort ({sorted({type(x).__name__ for x in labels})}); "
                         "give labels of one type, as the column holds them") from None
    if full.dtype.kind in "US":
        full = full.astype(object)
    mapping = id_lookup(full, names, ids=False)  # "abc" against labels 0, 1 failed in a cast; 1.5 was cast to 1
    if not isinstance(labels, FittedLabels):
        mapping = _same_kind(names, full, mapping)
    if (mapping < 0).any():
        bad = names[mapping < 0].tolist()
        extra = bad[:MAX_EXAMPLES]
        kinds = [{_label_kind(v) for v in a} for a in (bad, full.tolist())]
        types = ["/".join(sorted({type(v).__name__ for v in a})) for a in (bad, full.tolist())]
        hint = (f" (the column holds {types[0]} labels, labels= lists {types[1]}: give labels= as the column "
                "holds them)" if None not in kinds[0] and kinds[0] - kinds[1] else "")
        raise LabelSetError(
            f"column {column!r} holds label(s) {extra} that are not in labels={list(full.tolist())}{hint}",
            extra, list(full.tolist()), column)
    return full, mapping


def recode_labels(
    codes: np.ndarray, names: np.ndarray, labels: Sequence[Any], column: str
) -> tuple[np.ndarray, np.ndarray]:
    full, mapping = label_set(names, labels, column)
    return mapping[codes].astype(np.int32), full


# --------------------------------------------------------------------------------------------------
# tuple-valued ids (pandas object columns)
# --------------------------------------------------------------------------------------------------
def untuple_frame(data: Any, columns: Sequence[str]) -> tuple[Any, dict[str, np.ndarray]]:
    """A pandas frame whose id columns hold Python tuples (crowd-kit groups items as tuples), with
    those columns replaced by integer ranks, and for each such column its vocabulary of tuples: the
    sorted unique values when they sort, first-appearance order otherwise. The ranks go through
    Arrow and :func:`encode_column` like any integer ids; :func:`retuple` maps the encoded
    vocabulary back to the tuples. Anything else comes back unchanged (one C-speed type check per
    object column). A column of lists (unhashable) raises naming the column."""
    return untuple_groups(data, {c: [c] for c in columns if c is not None})


def untuple_items(data: Any, worker_col: str, item_cols: Sequence[str],
                  tie: Any = None) -> tuple[Any, dict[str, np.ndarray]]:
    """:func:`untuple_frame` for preference data: the item columns (left, right, label) share one
    vocabulary (key ``"items"``), the worker column has its own (key ``"worker"``). A label equal to
    ``tie`` (not a tuple) becomes the rank -1, so pass ``tie=-1`` on when ``"items"`` came back."""
    return untuple_groups(data, {"worker": [worker_col], "items": list(item_cols)}, tie=tie)


def _has_tuples(data: Any, c: str) -> bool:
    import pandas as pd

    if c not in data.columns or getattr(data[c], "ndim", 1) != 1 or data[c].dtype != object:
        return False  # two columns of the name: refused by name when read (an AttributeError here)
    values = data[c].to_numpy()
    if pd.api.types.infer_dtype(values, skipna=True) not in ("mixed", "mixed-integer"):
        return False
    if any(isinstance(v, list) for v in values):
        raise ValueError(
            f"column {c!r} holds lists, which cannot be ids (a list is unhashable); convert them "
            f"to tuples, for example df[{c!r}] = df[{c!r}].map(tuple), or to strings"
        )
    return any(isinstance(v, tuple) for v in values)


def untuple_groups(data: Any, groups: dict[str, list[str]],
                   tie: Any = None) -> tuple[Any, dict[str, np.ndarray]]:
    """Tuple ids of the pandas columns of each group replaced by integer ranks into one sorted
    vocabulary per group (key: the group's name); see :func:`untuple_frame`."""
    import pandas as pd

    from ..io._read import one_column

    if one_column(data):  # before pandas' AttributeError on .columns
        raise TypeError(f"cannot read a table from one column (a {type(data).__name__}); pass the whole frame")
    vocabs: dict[str, np.ndarray] = {}
    out = data
    for key, cols in groups.items():
        cols = [c for c in dict.fromkeys(cols) if c in data.columns]
        if not any(_has_tuples(data, c) for c in cols):
            continue
        values = np.concatenate([data[c].to_numpy(dtype=object) for c in cols])
        is_tie = np.zeros(values.size, dtype=bool)
        if tie is not None:
            is_tie = np.array([not isinstance(v, tuple) and v == tie for v in values], dtype=bool)
            values[is_tie] = None
        try:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        except TypeError as exc:  # a tuple holding a list
            raise ValueError(f"column(s) {cols} hold ids that are not hashable ({exc}); use tuples of "
                             "numbers or strings, or strings") from None
        order = np.arange(len(uniques))
        try:
            order = np.array(sorted(range(len(uniques)), key=uniques.__getitem__), dtype=np.int64)
        except TypeError:  # unsortable content (e.g. tuples of mixed types): first appearance
            pass
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size)
        vocab = object_array(uniques[j] for j in order)
        if out is data:
            out = data.copy(deep=False)
        n = len(data)
        for k, c in enumerate(cols):
            part = codes[k * n:(k + 1) * n]
            ranks = pd.array(rank[np.maximum(part, 0)], dtype="Int64")
            ranks[part < 0] = pd.NA
            ranks[is_tie[k * n:(k + 1) * n]] = -1
            out[c] = ranks
        vocabs[key] = vocab
    return out, vocabs


def retuple(names: np.ndarray, vocab: np.ndarray | None) -> np.ndarray:
    """Encoded integer ranks back to the tuples of :func:`untuple_frame` (``names`` unchanged
    without a tuple vocabulary)."""
    if vocab is None:
        return names
    return vocab[np.asarray(names, dtype=np.int64)]
