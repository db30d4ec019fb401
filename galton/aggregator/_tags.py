"""The tags of multi-label judgments (:mod:`galton.aggregator.multilabel`): each row's list of tags
read as a tuple, with the errors for rows that are no list, tags that are lists or dicts, and tags of
more than one type."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..data._validate import examples, fmt_value, one_row
from ..io._dict_columns import item_kind
from ..judgments import ColumnError

__all__ = ["is_missing", "label_sets"]

#: what a multi-label column's rows are, in the errors
_ROW_RULE = ("BinaryRelevance needs a list of labels in every row (an empty list or a missing value: no "
             "label applies)")


def is_missing(value: Any) -> bool:
    """Whether a scalar is a missing value: None, pandas' NA and NaT, NaN of any float type,
    numpy's NaT (a list, text or a number is not)."""
    if value is None:
        return True
    if isinstance(value, (str, bytes, int, list, tuple, dict, set, frozenset, np.ndarray)):
        return False
    kind = type(value)
    if kind.__module__.split(".")[0] == "pandas" and kind.__name__ in ("NAType", "NaTType"):
        return True
    try:
        return bool(value != value)  # NaN (float, numpy's floats, Decimal) and numpy's NaT
    except (TypeError, ValueError):
        return False


#: the types of a tag that is never missing and always hashable: a row of only these is taken as it is
_PLAIN_TAGS = frozenset({str, int, bool})


def label_sets(values: Sequence[Any], column: str = "label", rows: Sequence[int] | None = None,
               index: np.ndarray | None = None) -> list[tuple[Any, ...]]:
    """Each row's labels as a tuple (a missing row or label, whatever its kind of missing: none); a
    ColumnError naming ``column`` and the rows (``rows``: their positions in the input,
    ``index``: a pandas frame's own index) for a row that is not a list of labels, or a label that is
    itself a list or a dict."""
    out: list[tuple[Any, ...]] = []
    single: list[tuple[int, Any]] = []
    nested: list[tuple[int, Any]] = []
    for i, value in enumerate(values):
        if isinstance(value, (list, tuple)) and set(map(type, value)) <= _PLAIN_TAGS:
            out.append(tuple(value))  # text, integers, booleans: never missing, hashable (the usual row)
        elif isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
            tags = tuple(v for v in value if not is_missing(v))
            for v in tags:
                try:
                    hash(v)
                except TypeError:
                    nested.append((i, v))
                    break
            out.append(tags)
        elif is_missing(value):
            out.append(())  # no label applies
        else:
            out.append(())
            single.append((i, value))
    where = (lambda i: one_row(i if rows is None else int(rows[i]), index))
    if single:
        examples = ", ".join(f"{where(i)}: {v!r}" for i, v in single[:3])
        raise ColumnError(
            f"column {column!r}: {_ROW_RULE}; {len(single):,} row(s) hold a single value ({examples}). Wrap "
            "each in a list, or aggregate single labels with a categorical model (MajorityVote, DawidSkene)"
        )
    if nested:
        examples = ", ".join(f"{where(i)}: {v!r}" for i, v in nested[:3])
        raise ColumnError(
            f"column {column!r}: a label (tag) in a row's list must be one value (text, a number or a "
            f"boolean); {len(nested):,} row(s) hold a list or a dict as a label ({examples}). Flatten those "
            "lists, or write each such label as text"
        )
    _check_tag_types(out, where, column)
    return out


def _check_tag_types(sets: list[tuple[Any, ...]], where: Any, column: str) -> None:
    """Refuse tags of more than one kind, as a categorical label column mixing types is refused:
    1 and "1" were two tags, each with a share of the votes (the task lost a tag most workers gave),
    and True and 1 one tag (True == 1), named by whichever came first. The rows named are those
    holding a tag of a kind other than the one most rows hold."""
    types = {type(x) for labels_of_row in sets for x in labels_of_row}
    if len({item_kind(x) for labels_of_row in sets for x in labels_of_row}) < 2:
        return
    from collections import Counter

    kinds = [{item_kind(x) for x in labels_of_row} for labels_of_row in sets]
    common = Counter(k for row in kinds for k in row).most_common(1)[0][0]
    bad = [i for i, row in enumerate(kinds) if row - {common}]
    shown = examples(bad, fmt=lambda i: f"{where(i)}: {fmt_value(list(sets[i]))}")
    names = ", ".join(sorted({t.__name__ for t in types}))
    raise ColumnError(
        f"column {column!r} mixes tag types ({names}); {len(bad):,} of {len(sets):,} row(s) hold tags of another "
        f"kind than most rows' ({common}) ({shown}). Tags of two "
        "types are different tags (1 and '1' split their votes; True and 1 are one tag): write every tag as one "
        "type, for example all as text"
    )
