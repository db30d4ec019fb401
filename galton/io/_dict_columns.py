"""A dict of columns (``{"task": [...], "worker": [...], "label": [...]}``) as a pyarrow Table, and the
errors of a column whose values galton cannot read (nested, of mixed types, lists whose items are of mixed
types, integers no 64-bit type holds).

A dict's values are taken as pandas would take them: Python ints from 2**63 to 2**64 - 1 (64-bit
hashes) as uint64, as a pandas column or a numpy uint64 array of them (Arrow raised a bare
"OverflowError: Python int too large to convert to C long"); an iterator (a generator, ``map``) as
the list of its values (it was a 0-d array, refused as "holds int values"); a missing value (None,
pd.NA, NaT, NaN beside values of another type) as a null, as a frame of the same columns reads it, so
that the null check and ``on_invalid`` apply (a float column's NaN stays a NaN)."""

from __future__ import annotations

from collections import abc
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

__all__ = ["big_ints_error", "dict_table", "mixed_items_error", "mixed_types_error", "nested_error"]

#: the lists a mixed-items error shows
_SHOWN = 5


def dict_table(data: dict) -> pa.Table:
    """``data``, a dict of columns (lists, tuples, arrays, Series, iterators), as a pyarrow Table, its
    names as text (0 as '0', as pandas'), read by position. Raises ValueError naming a column galton
    cannot read, columns of different lengths, or pandas Series whose indexes differ (a DataFrame of
    them would match their rows by index)."""
    names = [str(n) for n in data]
    cols = [_column(name, values) for name, values in zip(names, data.values())]
    _same_lengths(names, cols)
    _same_index(names, list(data.values()))
    return pa.Table.from_arrays(cols, names=names)


def _same_lengths(names: Sequence[str], cols: Sequence[pa.Array]) -> None:
    """Refuse columns of different lengths, naming each column and its length (pyarrow raised a bare
    ArrowInvalid naming one)."""
    lengths = [len(c) for c in cols]
    if len(set(lengths)) > 1:
        each = ", ".join(f"{name!r}: {n}" for name, n in zip(names, lengths))
        raise ValueError(f"the dict's columns have different lengths ({each}); give every column one value "
                         "per judgment, the same number of values in each")


def _same_index(names: Sequence[str], values: Sequence[Any]) -> None:
    """Refuse pandas Series whose indexes differ: a dict's columns are read by position, while a
    DataFrame of the same Series aligns them on their index (the labels were given to other tasks)."""
    series = [(name, v.index) for name, v in zip(names, values)
              if type(v).__name__ == "Series" and type(v).__module__.split(".")[0] == "pandas"]
    for name, index in series[1:]:
        first, first_index = series[0]
        if not index.equals(first_index):
            differ = np.flatnonzero(np.asarray(index, dtype=object) != np.asarray(first_index, dtype=object))
            shown = ", ".join(f"{_plain(index[i])!r} vs {_plain(first_index[i])!r}" for i in differ[:3])
            raise ValueError(
                f"the Series of columns {first!r} and {name!r} have different indexes ({differ.size} of "
                f"{len(index)} positions differ: {shown}{', ...' if differ.size > 3 else ''}); a dict's columns "
                "are read by position: align them first, with pd.DataFrame(data) (which matches rows by index) "
                "or, if the positions match, .reset_index(drop=True) on each Series")


def _plain(v: Any) -> Any:
    """A numpy scalar as its Python value, for an error (``7``, not ``np.int64(7)``)."""
    return v.item() if isinstance(v, np.generic) else v


def _column(name: str, values: Any) -> pa.Array:
    if isinstance(values, abc.Iterator):  # a generator or map: its values, once
        values = list(values)
    elif isinstance(values, abc.Sequence) and not isinstance(values, (str, bytes)):
        values = list(values)  # a tuple (zip(*rows)) as a list: numpy made 7 and "7" one text id
    elif _missing_extension_values(values):  # pandas' Int64, string, boolean, category with pd.NA / NaN
        values = values.to_numpy(dtype=object, na_value=None)  # nulls, as pa.Table.from_pandas reads them
    array = values if isinstance(values, list) else np.asarray(values)
    if not isinstance(array, list) and array.ndim == 0:  # a set, a dict's keys, one value: no rows in order
        raise ValueError(f"column {name!r} is not a column of values (it is a {type(values).__name__!r}); pass "
                         "a list, tuple, array or Series of one value per judgment (or a generator of them)")
    try:
        col = pa.array(array)
    except OverflowError:  # Python ints beyond int64 (64-bit hashes)
        col = _big_ints(name, list(values))
    except (pa.ArrowException, TypeError, ValueError):
        col = _with_nulls(name, array)
    if pa.types.is_binary(col.type) and any(isinstance(v, str) for v in values):  # as in a frame
        raise mixed_types_error(name, sorted({type(v).__name__ for v in values if v is not None}))
    return col


def _missing_extension_values(values: Any) -> bool:
    """Whether ``values`` is a pandas Series or array of an extension dtype (not a numpy one) with
    missing values: ``np.asarray`` made an Int64 column's pd.NA a NaN (the labels floats, where a frame
    of it gives ints) and a string one's a pd.NA or NaN beside its text (refused as mixed types)."""
    if type(values).__module__.split(".")[0] != "pandas" or isinstance(getattr(values, "dtype", None), np.dtype):
        return False
    return hasattr(values, "isna") and hasattr(values, "to_numpy") and bool(np.asarray(values.isna()).any())


def _is_missing(v: Any) -> bool:
    """A missing-value marker among values of another type: None, NaN, pd.NA, NaT."""
    if v is None or type(v).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(v, (float, np.floating)):
        return bool(v != v)
    return isinstance(v, (np.datetime64, np.timedelta64)) and bool(np.isnat(v))


def _with_nulls(name: str, array: list | np.ndarray) -> pa.Array:
    """``array``, which Arrow refused, read again with its missing values (NaN or pd.NA beside text, NaT
    beside timestamps) as nulls, so that the null check and ``on_invalid`` see them as in a frame; raises
    the error of the values that are not missing where they still do not make one column."""
    missing = [_is_missing(v) for v in array]
    present = [v for v, m in zip(array, missing) if not m]
    if any(missing):
        try:
            return pa.array([None if m else v for v, m in zip(array, missing)])
        except OverflowError:  # Python ints beyond int64 (64-bit hashes) beside missing values
            return _big_ints(name, [None if m else v for v, m in zip(array, missing)])
        except (pa.ArrowException, TypeError, ValueError):
            pass
    types = sorted({type(v).__name__ for v in present})
    mixed = mixed_items_error(name, array, fix=f"convert the items to one type first, for example data[{name!r}] = "
                              f"[[str(x) for x in xs] for xs in data[{name!r}]]") \
        if types in (["list"], ["tuple"], ["ndarray"]) else None
    if mixed is not None:
        raise mixed from None
    if len(types) == 1:
        raise nested_error(name, types[0]) from None
    raise mixed_types_error(name, types) from None


def _big_ints(name: str, values: list) -> pa.Array:
    """Python ints of which some are beyond int64 as uint64 (from 0 to 2**64 - 1), as pandas infers
    them; raises, naming the column, for ints no 64-bit type holds or other values beside them."""
    present = [v for v in values if v is not None]
    types = sorted({type(v).__name__ for v in present})
    if types != ["int"]:
        raise mixed_types_error(name, types)
    if min(present) < 0 or max(present) >= 2**64:
        raise big_ints_error(name, present)
    return pa.array(values, type=pa.uint64())


def big_ints_error(column: str, ints: Sequence[int]) -> ValueError:
    return ValueError(f"column {column!r} holds integers from {min(ints)} to {max(ints)}, which no one 64-bit "
                      "integer type holds; pass them as text (.astype(str))")


def nested_error(column: str, type_name: str) -> ValueError:
    return ValueError(f"column {column!r} holds {type_name} values, which galton cannot read as ids "
                      "or labels; convert them to strings or integers first")


def mixed_types_error(column: str, types: Sequence[str]) -> ValueError:
    return ValueError(
        f"column {column!r} mixes value types ({', '.join(types)}); convert it to one type first, "
        f"for example df[{column!r}] = df[{column!r}].astype(str)"
    )


def item_kind(x: Any) -> str:
    """The kind of a list's item as one Arrow column takes it: ints and floats are one (numbers), as
    they are one kind of tag for BinaryRelevance (1 and 1.0 vote together)."""
    if isinstance(x, (bool, np.bool_)):
        return "bool"
    if isinstance(x, (int, float, np.integer, np.floating)):
        return "number"
    return "str" if isinstance(x, str) else type(x).__name__


def mixed_items_error(column: str, values: Sequence[Any], unit: str = "row", labels: Sequence[Any] | None = None,
                      fix: str | None = None, index: bool = False) -> ValueError | None:
    """The error for a column of lists (``values``) whose items are of different types (``["b", 3]``;
    text beside numbers, across lists too), or None: the types, the count of lists that hold an item of
    another kind than most items, a few of them (``unit`` and ``labels``: how to name them, by default
    their positions; ``index``: the labels are a pandas frame's index) and what to do (``fix``; by
    default the pandas line that makes them text). Arrow refused them as "holds list values" (lists
    are what such a column needs) or, from JSON lines, as "Column(/options/[]) changed from string to
    number", naming no line."""
    counts: dict[str, int] = {}
    names: dict[str, set[str]] = {}
    kinds: list[set[str]] = []
    for v in values:
        row: set[str] = set()
        if isinstance(v, (list, tuple, np.ndarray)):
            for x in v:
                if not _is_missing(x):
                    k = item_kind(x)
                    row.add(k)
                    counts[k] = counts.get(k, 0) + 1
                    names.setdefault(k, set()).add(type(x.item() if isinstance(x, np.generic) else x).__name__)
        kinds.append(row)
    if len(counts) < 2:
        return None
    main = max(counts, key=lambda k: counts[k])  # the most common kind (the first seen of a tie)
    at = [i for i, row in enumerate(kinds) if row - {main}]
    types = [n for k in sorted(counts, key=lambda k: -counts[k]) for n in sorted(names[k])]
    shown = [repr(labels[i]) if labels is not None and isinstance(labels[i], str) else
             str(labels[i] if labels is not None else i) for i in at[:_SHOWN]]
    first = repr(list(values[at[0]]))
    first = first if len(first) <= 80 else first[:77] + "..."
    fix = fix or (f"convert the items to one type first, for example df[{column!r}] = "
                  f"df[{column!r}].map(lambda xs: [str(x) for x in xs])")
    one, many = (f"{unit} with index", f"{unit}s with index") if index else (unit, f"{unit}s")
    listed = f"{many} {', '.join(shown)}{', ...' if len(at) > _SHOWN else ''}; " if len(at) > 1 else ""
    return ValueError(f"column {column!r} holds list items of different types ({', '.join(types)}) in "
                      f"{len(at)} {unit}{'s' if len(at) > 1 else ''} ({listed}{one} {shown[0]}: {first}); {fix}")
