"""``--param KEY=VALUE`` of ``galton aggregate`` and ``galton allocate``: the value as JSON, or as
``galton models`` shows defaults (Python's ``repr``), never evaluated; and the pairs checked against
a model's parameters (:func:`checked_params`)."""

from __future__ import annotations

import inspect
from typing import Any, Collection, Sequence

__all__ = ["OPTION_PARAMS", "checked_params", "model_param"]

#: constructor parameters the commands set by options of their own, never by --param
OPTION_PARAMS = {"engine": "--engine", "n_shards": "--shards", "progress": "--quiet"}
#: how to set each of them, for a --param that names one
_OPTION_USE = {"engine": "--engine local or --engine ray", "n_shards": "--shards N",
               "progress": "--quiet to hide the progress bar (shown on a terminal without it)"}


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


def checked_params(cls: type, pairs: Sequence[tuple[str, Any]] | None, name: str,
                   options: Collection[str] | None = None) -> dict[str, Any]:
    """The ``--param`` pairs as keyword arguments of ``cls``; a name it lacks (or one an option
    sets) is refused with the parameters it has. ``options``: those of the running command, so that
    the refusal names an option it has (None: any)."""
    from ..aggregator import parameters
    from ._common import CLIError  # here, not at the top: that module imports this one

    signature = parameters(cls)
    accepted = set(signature) - set(OPTION_PARAMS)
    out: dict[str, Any] = {}
    for key, value in pairs or ():
        if key in signature and key in OPTION_PARAMS:  # listed by galton models, with the option that sets it
            option = OPTION_PARAMS[key]
            if options is not None and option not in options:  # allocate has no --shards: the fit's default
                raise CLIError(f"--param {key}: model {name!r} takes {key} from an option of its own ({option} of "
                               "other commands), not from --param, and this command has none; leave it out (the "
                               "fit takes its default)")
            raise CLIError(f"--param {key}: model {name!r} takes {key} from {option}, not from --param; "
                           f"give {_OPTION_USE.get(key, option)}")
        if key not in accepted:
            raise CLIError(f"model {name!r} has no parameter {key!r} for --param; its parameters are "
                           f"{', '.join(sorted(accepted))}")
        out[key] = _typed_like(key, value, signature[key].default)
    return out


def _typed_like(key: str, value: Any, default: Any) -> Any:
    """``value`` checked against the type of the parameter's default (none: any value): a number
    where the default is one (an integer where it is an integer; ``inf``, ``-inf`` and ``nan`` read
    as Python writes them where it is a float), a word where it is a word. None
    goes to the model, whose own check takes it where its parameter does (``random_state`` of mmsr
    and ebcc: "int or None", default 0) and refuses it, naming the parameter, where not."""
    if value is None or default is None or default is inspect.Parameter.empty:
        return value
    from ._common import CLIError
    if isinstance(default, bool):
        ok, what = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, what = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        if isinstance(value, str) and value.strip().lower().lstrip("+-") in ("inf", "infinity", "nan"):
            value = float(value)  # Python's words (repr) for what JSON has no word for: tol=-inf
        ok, what = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok, what = isinstance(value, str), "a word"
    else:
        return value
    if not ok:
        raise CLIError(f"--param {key}: expected {what} (the default is {default!r}), not {value!r}")
    return value
