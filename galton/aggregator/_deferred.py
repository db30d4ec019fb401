"""Fitted attributes built on first read (:class:`DeferredResult`), safe to read from threads."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["DeferredResult", "add_pending"]


class DeferredResult:
    """A fitted attribute that a polars / Arrow fit builds on first read (pandas fits build it at
    once: crowd-kit's layout applies to it, and its frame shares the fit's arrays). ``errors_`` of
    many labels is a long table of pairs x labels rows, 85M rows at 1,000 labels and 100k
    judgments, that the command line and most pipelines never read. Assigned values and deletion
    work as for a plain attribute. Threads reading it at once get the one value built once
    (:data:`_DEFERRED_LOCK`)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        if self.name not in d:
            with _DEFERRED_LOCK:  # the builder stays pending until its value is stored
                if self.name not in d:
                    build = d.get("_pending", {}).get(self.name)
                    if build is None:
                        raise AttributeError(f"{type(obj).__name__!r} object has no attribute {self.name!r}")
                    d[self.name] = build[0](*build[1:])
                    _drop_pending(d, self.name)
        return d[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        with _DEFERRED_LOCK:
            _drop_pending(obj.__dict__, self.name)
            obj.__dict__[self.name] = value

    def __delete__(self, obj: Any) -> None:
        with _DEFERRED_LOCK:
            d = obj.__dict__
            if self.name not in d and self.name not in d.get("_pending", {}):
                raise AttributeError(self.name)
            d.pop(self.name, None)
            _drop_pending(d, self.name)


def add_pending(d: dict[str, Any], name: str, build: tuple[Any, ...]) -> None:
    """Set the builder of the :class:`DeferredResult` ``name`` in the instance dict ``d``."""
    with _DEFERRED_LOCK:
        d["_pending"] = {**d.get("_pending", {}), name: build}


def _drop_pending(d: dict[str, Any], name: str) -> None:
    """Remove the builder of ``name`` from the instance dict ``d``. The dict of builders is replaced,
    never changed in place: a shallow copy of the model (``copy.copy``) shares it, and popping the
    builder there removed the result from the other object too (an AttributeError on its first read)."""
    pending = d.get("_pending")
    if pending is not None and name in pending:
        d["_pending"] = {k: v for k, v in pending.items() if k != name}


#: held while a :class:`DeferredResult` is built, set or deleted: a reader that came while another
#: thread built it waits for that value (popping the builder first left it with neither)
_DEFERRED_LOCK = threading.RLock()
