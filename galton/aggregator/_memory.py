"""Memory guard: a model estimates what a fit will allocate and refuses, before allocating, when
that passes a limit.

Every model has ``memory_estimate(n_tasks, n_workers, n_labels, n_judgments) -> (bytes, what)``:
the peak memory its fit adds, and the sizes that drive it in words (``"1,480 workers x 1,000
labels x 1,000 labels (confusion matrices)"``). The fit calls :func:`check_model` as soon as the
data sizes are known and before any engine is opened, so a fit that cannot succeed fails in
seconds with a :class:`MemoryLimitError` that says how much it would need, what the limit is and
what to do, instead of swapping or being killed by the operating system.

The limit, first match wins:

1. :func:`memory_limit` (a context manager; a context variable, so it is safe with threads and
   nested uses), e.g. ``with galton.aggregator.memory_limit("4G"): model.fit(df)``;
2. the environment variable ``GALTON_MAX_MEMORY`` (``4G``, ``500M``, ``1.5GiB`` or bytes);
3. half of this machine's physical memory (:data:`DEFAULT_SHARE`), or :data:`FALLBACK_BYTES` when
   the operating system does not say.

``memory_limit(None)`` or ``GALTON_MAX_MEMORY=none`` turns the guard off. Sizes use binary units
(``1K = 1024``), as ``ulimit``, Docker and Java's ``-Xmx`` do.
"""

from __future__ import annotations

import contextvars
import os
import re
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = [
    "MemoryLimitError", "memory_limit", "current_limit", "parse_size", "format_size",
    "physical_memory", "cgroup_limit", "CGROUP_FILES", "check_model", "FLOAT", "DEFAULT_SHARE", "FALLBACK_BYTES",
    "ENV_VAR", "judgments_bytes",
]

FLOAT = 8  #: bytes of one float64
DEFAULT_SHARE = 0.5  #: share of the physical memory a fit may use by default
FALLBACK_BYTES = 8 * 2**30  #: the default limit when the physical memory is unknown
ENV_VAR = "GALTON_MAX_MEMORY"
#: bytes per judgment of a fit's own copies of the data (codes, shard layout, caches)
JUDGMENT_BYTES = 96

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGTP]?)(?:I?B)?\s*$", re.IGNORECASE)
_OFF = ("none", "off", "unlimited", "inf")

#: (bytes or None for no limit, where it comes from); unset: the environment / default decide
_LIMIT: contextvars.ContextVar[tuple[int | None, str] | None] = contextvars.ContextVar(
    "galton_memory_limit", default=None
)


class MemoryLimitError(ValueError):
    """A fit would need more memory than the limit (see :func:`memory_limit`)."""


def parse_size(value: Any) -> int | None:
    """Bytes from a size: an integer, or text such as ``"4G"``, ``"500M"``, ``"1.5GiB"``, ``"2kb"``
    or ``"123"``; ``None`` for ``"none"`` / ``"off"`` / ``"unlimited"`` (no limit).

    Units K, M, G, T, P are powers of 1024, with or without a trailing ``B`` / ``iB``. A size in
    bytes (a number, or text without a unit or with ``B`` alone) is a whole number of bytes
    (``2.0`` is 2; ``2.9`` is refused, not cut to 2); with a unit a fraction is taken and rounded
    to the nearest byte (``"1.5G"`` is ``3 * 2**29``, ``"0.3K"`` 307).

    Raises
    ------
    ValueError
        When the text is not a size, a size in bytes is not whole, or the size is below 1 byte
        (``0.5``, ``"-1G"``, ``"0.0001K"``: a limit of 0 bytes refused every fit).
    """
    if isinstance(value, bool):
        raise ValueError(f"a memory size must be a number of bytes or text like '4G', not {value!r}")
    if isinstance(value, (int, float)):
        if value != value or value < 1:
            raise ValueError(f"a memory size must be at least 1 byte, not {value!r}")
        if value == float("inf"):
            return None
        if value != int(value):
            raise ValueError(f"a memory size in bytes must be a whole number, not {value!r}; give whole "
                             "bytes, or a unit for a fraction ('1.5G')")
        return int(value)
    text = str(value).strip()
    if text.lower() in _OFF:
        return None
    m = _SIZE_RE.match(text)
    if m is None:
        raise ValueError(
            f"cannot read {value!r} as a memory size; use bytes or a number with a unit K, M, G or T "
            "(powers of 1024), e.g. '4G', '500M', '1.5GiB', or 'none' for no limit"
        )
    number, unit = float(m.group(1)), m.group(2).upper()
    if not unit and number != int(number):  # '1.9' and '1.5B' were cut to 1 byte
        raise ValueError(f"a memory size in bytes must be a whole number, not {value!r}; give whole "
                         "bytes, or a unit for a fraction ('1.5G')")
    n = number * _UNITS[unit]
    if n < 1:  # '0' and '0.0001K' gave a limit of 0 bytes
        raise ValueError(f"a memory size must be at least 1 byte, not {value!r}")
    return int(number) if not unit else round(n)


def format_size(n: float) -> str:
    """``"11.9 GiB"``, ``"500.0 MiB"``, ``"12 bytes"``."""
    for unit, size in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


#: where a container's memory limit is read (cgroup v2, then v1)
CGROUP_FILES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def cgroup_limit(files: tuple[str, ...] = CGROUP_FILES) -> int | None:
    """The memory limit of this process's container (cgroup), or None where there is none ("max",
    v1's near-2**63 "no limit", no such file)."""
    for f in files:
        try:
            with open(f) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < 2**60:
            return int(text)
    return None


def physical_memory() -> int | None:
    """The memory this process may use in bytes: the machine's physical memory, or its container's
    limit where that is lower (half of a 64 GB host is no limit in a 4 GB container); None when the
    operating system does not say."""
    try:
        n = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        n = 0
    box = cgroup_limit()
    if box is not None and (n <= 0 or box < n):
        return box
    return n if n > 0 else None


def current_limit() -> tuple[int | None, str]:
    """``(bytes or None, where it comes from)``: :func:`memory_limit` > ``GALTON_MAX_MEMORY`` > half
    of the physical memory (or :data:`FALLBACK_BYTES`)."""
    set_here = _LIMIT.get()
    if set_here is not None:
        return set_here
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        try:
            return parse_size(env), f"{ENV_VAR}={env}"
        except ValueError as exc:
            raise ValueError(f"environment variable {ENV_VAR}: {exc}") from None
    phys = physical_memory()
    if phys is None:
        return FALLBACK_BYTES, "the default, as this machine's memory is unknown"
    share = "half" if DEFAULT_SHARE == 0.5 else f"{DEFAULT_SHARE:.0%}"
    return int(phys * DEFAULT_SHARE), f"{share} of this machine's memory"


@contextmanager
def memory_limit(nbytes: Any, *, source: str | None = None) -> Iterator[int | None]:
    """Set the memory limit of the fits run inside the ``with`` block.

    The limit is a context variable: it holds for fits in this thread (and in asyncio tasks and
    ``contextvars.copy_context().run`` calls started inside the block); a fit handed to a thread
    pool runs in that thread's own context, under the default limit, unless the pool's task sets
    it too (``pool.submit(copy_context().run, fit, ...)``).

    Parameters
    ----------
    nbytes : int, str or None
        Bytes, or a size like ``"4G"`` (see :func:`parse_size`); None (or ``"none"``) turns the
        guard off.
    source : str, optional
        How the limit was set, for the error message (default ``"set by memory_limit(...)"``;
        the CLI passes ``"--max-memory 4G"``).

    Examples
    --------
    >>> import galton
    >>> with galton.aggregator.memory_limit("64G"):
    ...     pass  # model.fit(df) may use up to 64 GiB here
    """
    n = None if nbytes is None else parse_size(nbytes)
    if source is None:
        source = "set by memory_limit(...)" if n is not None else "off"
    token = _LIMIT.set((n, source))
    try:
        yield n
    finally:
        _LIMIT.reset(token)


def judgments_bytes(n_judgments: int) -> int:
    """What a fit allocates per judgment whatever the model: codes, shard layout and caches."""
    return JUDGMENT_BYTES * int(n_judgments)


#: models suggested, in this order, when one would pass the limit (those that fit are named; the
#: default first: with many labels it fits one accuracy per worker)
_ALTERNATIVES = ("bds", "mv", "wawa", "glad", "mace", "one_coin_ds", "ds")


def _fits(model: Any, sizes: tuple[int, int, int, int], limit: int) -> list[str]:
    from ._registry import get

    own = getattr(type(model), "registry_name", None)
    found = []
    for name in _ALTERNATIVES:
        try:
            cls = get(name)
        except ValueError:  # pragma: no cover - every alternative is registered
            continue
        if name == own or getattr(cls, "kind", None) != getattr(model, "kind", None):
            continue
        if cls().memory_estimate(*sizes)[0] <= limit:
            found.append(name)
    return found[:3]


def check_model(model: Any, n_tasks: int, n_workers: int, n_labels: int, n_judgments: int,
                **more_sizes: int) -> int:
    """Raise :class:`MemoryLimitError` when ``model.memory_estimate(...)`` passes the current limit;
    return the estimate in bytes otherwise. ``more_sizes`` go to the model's own estimate (Plackett-Luce's
    ``n_offered``)."""
    sizes = (int(n_tasks), int(n_workers), int(n_labels), int(n_judgments))
    need, what = model.memory_estimate(*sizes, **more_sizes)
    limit, source = current_limit()
    if limit is None or need <= limit:
        return int(need)
    name = getattr(type(model), "registry_name", type(model).__name__)
    others = _fits(model, sizes, limit)
    if others:
        quoted = [f"'{o}'" for o in others]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        hint = f"use a model whose size fits, such as {listed}, "
    elif getattr(model, "kind", None) in ("pairwise", "choice"):  # no tasks to split by
        hint = "use fewer items or comparisons (this data has no tasks to split by), "
    else:
        hint = "split the data by tasks (no model here fits it whole), "  # not "fewer labels": MMSR counts worker pairs
    raise MemoryLimitError(
        f"model '{name}' would need about {format_size(need)} for {what}, over the limit of "
        f"{format_size(limit)} ({source}); {hint}or raise the limit with --max-memory / "
        f"{ENV_VAR} / galton.aggregator.memory_limit(...)"
    )
