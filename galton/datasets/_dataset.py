"""The :class:`Dataset` tuple and metadata that holds for bundled and shared datasets alike."""

from __future__ import annotations

from typing import Any, NamedTuple

#: Datasets whose labels are numeric ratings (a score on a scale), not categories.
NUMERIC_DATASETS: frozenset[str] = frozenset(
    {
        "snow2008_affect_anger",
        "snow2008_affect_disgust",
        "snow2008_affect_fear",
        "snow2008_affect_joy",
        "snow2008_affect_sadness",
        "snow2008_affect_surprise",
        "snow2008_affect_valence",
        "zheng_n_emotion",
    }
)
_NUMERIC_PREFIXES: tuple[str, ...] = ("snow2008_affect_",)


class Dataset(NamedTuple):
    """One real crowdsourcing dataset.

    Each table is a ``polars.DataFrame``, ``pandas.DataFrame`` or ``pyarrow.Table``, as requested
    with ``frame=``. Rows are in the order of the source files; repeated (task, worker) pairs are
    kept because they are real in some sets.

    Attributes
    ----------
    judgments : frame
        Columns ``task, worker, label``: one row per judgment.
    gold : frame or None
        Columns ``task, label``: the reference answer, sometimes for a subset of the tasks only;
        ``None`` when the dataset has none.
    experts : frame or None
        Columns ``task, expert, label``: individual expert answers; ``None`` when absent.
    """

    judgments: Any
    gold: Any
    experts: Any


def is_numeric(name: str) -> bool:
    """Tell whether a dataset's labels are numeric ratings rather than categories.

    Rating datasets (an affect score from 0 to 100, say) call for models of continuous answers;
    treating each score as its own class throws away their order and distance. The answer
    depends on the name only, so it works for bundled and shared datasets alike and for names
    that are not present on this machine (those are categorical unless listed here).

    Parameters
    ----------
    name : str
        Dataset name, e.g. ``"snow2008_affect_anger"``.

    Returns
    -------
    bool
        True for the ``snow2008_affect_*`` sets and ``zheng_n_emotion``.

    Examples
    --------
    >>> is_numeric("zheng_n_emotion"), is_numeric("act_cf")
    (True, False)
    """
    return name in NUMERIC_DATASETS or name.startswith(_NUMERIC_PREFIXES)
