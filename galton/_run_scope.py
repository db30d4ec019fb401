"""The temporaries one ``galton`` command's run created, so that a failing run removes its own.

:func:`galton.cli.main` runs inside :func:`run_scope`; the writers' temporaries are recorded in the
scope of the thread (or asyncio task) that made them (:func:`record`, from
:func:`galton.io._temporaries.track`). A run that fails or is interrupted removes those only: it
removed every temporary the process tracked, and another thread's write then failed with "No such
file or directory" for its vanished temporary. Removing the whole process's is left to ``atexit``.
Standard library only (the command imports it before the heavy imports).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

__all__ = ["record", "run_scope"]

_CREATED: ContextVar[set[str] | None] = ContextVar("galton_run_temporaries", default=None)


@contextmanager
def run_scope() -> Iterator[set[str]]:
    """A new set that collects the paths :func:`record` is given within the block (this thread's)."""
    created: set[str] = set()
    token = _CREATED.set(created)
    try:
        yield created
    finally:
        _CREATED.reset(token)


def record(path: str) -> None:
    """Note a new temporary in the running scope, if any."""
    created = _CREATED.get()
    if created is not None:
        created.add(path)
