"""Fitted attributes built on first read (:class:`DeferredResult`), safe to read from threads."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["DeferredResult"]


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
                    d["_pending"].pop(self.name, None)
        return d[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        with _DEFERRED_LOCK:
            obj.__dict__.get("_pending", {}).pop(self.name, None)
            obj.__dict__[self.name] = value

    def __delete__(self, obj: Any) -> None:
        with _DEFERRED_LOCK:
            d, pending = obj.__dict__, obj.__dict__.get("_pending", {})
            if self.name not in d and self.name not in pending:
                raise AttributeError(self.name)
            d.pop(self.name, None)
            pending.pop(self.name, None)


#: held while a :class:`DeferredResult` is built, set or deleted: a reader that came while another
#: thread built it waits for that value (popping the builder first left it with neither)
_DEFERRED_LOCK = threading.RLock()
