"""``--param KEY=VALUE`` of ``galton aggregate``: the value as JSON, or as ``galton models`` shows
defaults (Python's ``repr``), never evaluated."""

from __future__ import annotations

from typing import Any

__all__ = ["model_param"]


def model_param(text: str) -> tuple[str, Any]:
    """argparse type of ``--param KEY=VALUE``: the value read as JSON when it is JSON (``5``,
    ``1e-7``, ``true``, ``null``, ``[1, 2]``), else in the form ``galton models`` shows defaults in
    (``True``, ``False``, ``None``, a tuple of JSON values such as ``(4.0, 2.0)``, a word in quotes
    such as ``'elbo'``), else taken as text (``likelihood``); never evaluated."""
    import argparse
    import json

    key, sep, raw = text.partition("=")
    if not sep or not key.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with a parameter name as KEY, not {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = _shown_form(raw)
    return key.strip(), value


#: Python's words for the JSON constants, as ``galton models`` shows defaults
_PYTHON_WORDS = {"True": True, "False": False, "None": None}


def _shown_form(raw: str) -> Any:
    """A value as ``galton models`` shows it (Python's ``repr``): ``True`` / ``False`` / ``None``, a
    tuple ``(a, b)`` of JSON values read as a JSON list, or a word in quotes (``'elbo'``) without
    them; else the text itself."""
    import json

    text = raw.strip()
    if text in _PYTHON_WORDS:
        return _PYTHON_WORDS[text]
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":  # a word as shown: 'elbo', quotes kept
        return text[1:-1]  # by the shell ("stopping='elbo'") were part of the value
    if text.startswith("(") and text.endswith(")"):
        inner = text[1:-1].strip()
        try:
            return tuple(json.loads("[" + (inner[:-1] if inner.endswith(",") else inner) + "]"))
        except ValueError:
            pass
    return raw
