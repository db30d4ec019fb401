"""Every exception and warning class of galton pickles and deep-copies to an equal one (same type,
message, args and attributes): an error raised in a multiprocessing worker, a Ray task or a joblib
job reaches the caller pickled. LabelSetError did not (its ``__init__`` takes four arguments, the
default pickling passes the message alone): a ``multiprocessing.Pool`` whose worker raised it hung
for ever, a ``ProcessPoolExecutor`` said BrokenProcessPool, joblib "A result has failed to
un-serialize" (bug hunt); GoldSharesNoTaskWarning failed the same way and Interrupted came back
as "interrupted by signal interrupted by signal 2". The classes are found by walking galton's
modules, so a new class with its own ``__init__`` fails here until it is given a realistic instance."""

from __future__ import annotations

import concurrent.futures as cf
import copy
import errno
import functools
import importlib
import inspect
import multiprocessing as mp
import pickle
import pkgutil
import signal
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

import galton
from galton.data._encode import LabelSetError

#: labels 1, 2 and 3 given where labels=[1, 2] was declared
BAD_LABELS = pd.DataFrame({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": [1, 2, 3]})


def _galton_classes() -> list[type]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(galton.__path__, "galton."):
        if info.name.endswith("__main__"):  # runs the command
            continue
        for obj in vars(importlib.import_module(info.name)).values():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__.startswith("galton"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _own_constructor(cls: type) -> bool:
    """Whether galton gave the class (or a galton base) its own ``__init__`` or ``__new__``."""
    return any("__init__" in vars(k) or "__new__" in vars(k) for k in cls.__mro__ if k.__module__.startswith("galton"))


def _label_set_errors(cls: type) -> list[BaseException]:
    with pytest.raises(cls) as got:
        galton.aggregation.DawidSkene().fit(BAD_LABELS, labels=[1, 2])
    return [got.value]


def _write_errors(cls: type) -> list[BaseException]:
    full = OSError(errno.ENOSPC, "No space left on device")
    return [cls("labels.csv", full, ["probas.csv"], remedy="free some space"), cls("-", full, None)]


#: realistic instances of the classes with their own constructor, by qualified name
MADE: dict[str, Callable[[type], list[BaseException]]] = {
    "galton.data._encode.LabelSetError": _label_set_errors,
    "galton.io._errors.WriteError": _write_errors,
    "galton.workers.sharded.GoldSharesNoTaskWarning":
        lambda cls: [cls(np.array(["g1", "g2", "g3", "g4"]).tolist(), [101, 102, 103])],
    "galton._signals.Interrupted": lambda cls: [cls(signal.SIGINT), cls(signal.SIGTERM)],
    "galton.cli._streams.StreamClosed":
        lambda cls: [cls("standard output is closed (the command was started with >&-)")],
    "galton.io._json._KeyTwice": lambda cls: [cls("task")],
}

CLASSES = _galton_classes()


def _same(a: BaseException, b: BaseException) -> None:
    assert type(b) is type(a)
    assert str(b) == str(a) and b.args == a.args
    assert vars(b) == vars(a)
    if isinstance(a, OSError):
        assert (b.errno, b.strerror, b.filename) == (a.errno, a.strerror, a.filename)


def test_the_walk_finds_the_classes_with_their_own_constructor() -> None:
    names = {_name(c) for c in CLASSES}
    assert set(MADE) <= names  # each entry names a class that exists
    assert {"galton.aggregator._estimator.ConvergenceWarning", "galton.cli._common.CLIError"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=_name)
def test_every_galton_error_and_warning_pickles_and_deep_copies(cls: type) -> None:
    name = _name(cls)
    if name in MADE:
        made = MADE[name](cls)
    else:
        assert not _own_constructor(cls), f"{name} has its own constructor: add realistic instances to MADE"
        made = [cls("column 'label': 2 rows hold no label (rows 3, 7); drop them or fill them in")]
    for exc in made:
        assert type(exc) is cls
        exc.add_note("while fitting judgments.csv")
        for back in (pickle.loads(pickle.dumps(exc)), copy.deepcopy(exc)):
            _same(exc, back)


def test_label_set_error_keeps_its_fields_through_pickle() -> None:
    exc = _label_set_errors(LabelSetError)[0]
    back = pickle.loads(pickle.dumps(exc))
    assert (back.extra, back.full, back.column) == ([3], [1, 2], "label")
    assert str(back) == "column 'label' holds label(s) [3] that are not in labels=[1, 2]"


def test_interrupted_keeps_its_signal_and_message() -> None:
    from galton._signals import Interrupted, exit_code

    back = copy.deepcopy(pickle.loads(pickle.dumps(Interrupted(signal.SIGTERM))))
    assert back.signum == signal.SIGTERM and str(back) == f"interrupted by signal {int(signal.SIGTERM)}"
    assert exit_code(back) == 128 + int(signal.SIGTERM)


def test_a_label_set_error_in_a_process_pool_reaches_the_caller() -> None:
    """The executor's worker raised LabelSetError; the parent could not unpickle it and said
    BrokenProcessPool (a multiprocessing Pool hung)."""
    fit: Any = functools.partial(galton.aggregation.DawidSkene().fit, BAD_LABELS, labels=[1, 2])
    with cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
        with pytest.raises(LabelSetError) as got:
            ex.submit(fit).result()
    assert (got.value.extra, got.value.full, got.value.column) == ([3], [1, 2], "label")
