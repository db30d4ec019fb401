"""Warnings about text labels spelt in ways a reader does not see: spaces at the ends (``"x "``
beside ``"x"``), one text in two Unicode forms (NFC and NFD ``café``) or with invisible characters
(a zero-width space, a byte-order mark inside a value). Each spelling is its own class, kept as
given: the warnings say so, and how to make them one."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from .._warnings import caller_stacklevel, warn

__all__ = ["MISSING_MARKERS", "warn_missing_markers", "warn_spaced_labels"]

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")

#: the pandas code that strips / normalises / makes visible each kind of label, in the warnings below
_FIXES = {"class": ("df[col].str.strip()", "df[col].str.normalize('NFC')",
                    "df[col].map(lambda s: ''.join(c for c in s if unicodedata.category(c) != 'Cf'))"),
          "tag": ("df[col].map(lambda tags: [t.strip() for t in tags])",
                  "df[col].map(lambda tags: [unicodedata.normalize('NFC', t) for t in tags])",
                  "df[col].map(lambda tags: [''.join(c for c in t if unicodedata.category(c) != 'Cf') "
                  "for t in tags])")}


def _noun(unit: str) -> str:
    return "tag" if unit == "tag" else "label"


def warn_spaced_labels(names: np.ndarray, label_col: str, unit: str = "class") -> None:
    """Warn when text labels carry spaces at either end ("x " beside "x": two classes that are
    probably one, from a CSV written with spaces after its commas), and when distinct labels are
    one text in Unicode's NFC form or without invisible characters. ``unit``: what each spelling
    becomes, in the message (``"tag"`` for multi-label data's distinct tags)."""
    if names.dtype != object:
        return
    _warn_unicode_twins(names, label_col, unit)
    spaced = [v for v in names.tolist() if isinstance(v, str) and v != v.strip()]
    if not spaced:
        return
    stripped = {v.strip() for v in spaced}
    clash = sorted(v for v in names.tolist() if isinstance(v, str) and v == v.strip() and v in stripped)
    shown = ", ".join(repr(v) for v in spaced[:3]) + (", ..." if len(spaced) > 3 else "")
    also = f"; {', '.join(repr(v) for v in clash[:3])} also occur(s) without them" if clash else ""
    warn(
        f"column {label_col!r} holds {len(spaced)} {_noun(unit)}(s) with spaces at the ends ({shown}){also}: each "
        f"spelling is its own {unit}; strip the {_noun(unit)}s if they are one (pandas: {_FIXES[unit][0]})",
        UserWarning, stacklevel=caller_stacklevel(),
    )


def _visible(text: str) -> str:
    """``text`` without its format characters (Unicode category Cf: zero-width space and joiners,
    a byte-order mark, a soft hyphen), which print as nothing."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def _warn_unicode_twins(names: np.ndarray, label_col: str, unit: str) -> None:
    """Warn when distinct text labels are one string in Unicode's NFC form ("caf\\xe9" beside
    "cafe\\u0301": they print alike, the CLI writes two ``p_café`` columns), or once their invisible
    format characters are removed ("cat\\u200b" beside "cat"). Only the distinct names that are not
    ASCII are normalised; an ASCII name is compared with what is left of them."""
    forms: dict[str, list[str]] = {}
    for v in names.tolist():
        if isinstance(v, str) and not v.isascii():
            forms.setdefault(unicodedata.normalize("NFC", v), []).append(v)
    if not forms:
        return
    twins = [sorted(group) for group in forms.values() if len(group) > 1]
    _warn_twins(twins, label_col, unit, "in more than one Unicode form", 1, "normalise the")
    seen: dict[str, list[str]] = {}  # each name by what it shows
    for form, group in forms.items():
        seen.setdefault(_visible(form), []).extend(group)
    for v in names.tolist():
        if isinstance(v, str) and v.isascii() and v in seen:
            seen[v].append(v)
    hidden = [sorted(group) for group in seen.values() if len({unicodedata.normalize("NFC", v) for v in group}) > 1]
    _warn_twins(hidden, label_col, unit, "with and without invisible characters (Unicode format characters such "
                "as a zero-width space)", 2, "remove those characters from the")


def _warn_twins(twins: list[list[str]], label_col: str, unit: str, how: str, fix: int, verb: str) -> None:
    """One warning for ``twins``, groups of distinct labels that print alike, spelt as ``how`` says."""
    if not twins:
        return
    shown = "; ".join(" and ".join(ascii(v) for v in group) for group in twins[:3])
    shown += "; ..." if len(twins) > 3 else ""
    warn(
        f"column {label_col!r} holds {len(twins)} {_noun(unit)}(s) spelt {how} ({shown}): they look alike but each "
        f"spelling is its own {unit}; {verb} {_noun(unit)}s if they are one (pandas: {_FIXES[unit][fix]})",
        UserWarning, stacklevel=caller_stacklevel(),
    )


#: texts that other programs write for a missing value: R's write.csv (NA), Excel (#N/A), pandas
#: (NaN, nan, <NA>, None as text), SQL and JSON (NULL, null)
MISSING_MARKERS = frozenset({"NA", "N/A", "#N/A", "NaN", "nan", "<NA>", "None", "NULL", "null"})


def warn_missing_markers(names: np.ndarray, label_col: str, codes: np.ndarray | None = None) -> None:
    """Warn when text labels are what other programs write for a missing value (``NA`` from R's
    write.csv): each is read as a label like any other, a class of its own, and numeric labels beside
    it as text. ``codes``: the label code of each judgment, to count the rows (None: not counted).
    An empty cell is a null, which the reader refuses (or drops: ``on_invalid='drop'``)."""
    if names.dtype != object:
        return
    found = [i for i, v in enumerate(names.tolist()) if isinstance(v, str) and v.strip() in MISSING_MARKERS]
    if not found:
        return
    values = [names[i] for i in found]
    rows = "" if codes is None else f" in {int(np.isin(codes, found).sum())} row(s)"
    others = [v for v in names.tolist() if isinstance(v, str) and v.strip() not in MISSING_MARKERS]
    numbers = bool(others) and all(_NUMBER.fullmatch(v) for v in others)
    it, label = ("it", "a label") if len(values) == 1 else ("each", "labels")
    warn(
        f"column {label_col!r} holds {', '.join(repr(v) for v in values)}{rows}, as R's write.csv, Excel, pandas or "
        f"SQL write a missing value; galton reads {it} as a label like any other (a class of its own"
        f"{'; the numeric labels beside it are read as text too' if numbers else ''}). If those labels are missing, "
        f"remove the rows first (pandas: df[~df[col].isin({values!r})]) or leave their cells empty and pass "
        f"on_invalid='drop' (CLI: --on-invalid drop); if {'it is' if len(values) == 1 else 'they are'} {label} "
        "of your data, ignore this",
        UserWarning, stacklevel=caller_stacklevel(),
    )
