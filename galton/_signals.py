"""Clean interrupts for the ``galton`` command: SIGINT exits 130, SIGTERM exits 143, SIGHUP (the
terminal closed) exits 129; the three are handled alike. A SIGHUP that was ignored when the command
started (``nohup galton ...``) stays ignored.

Standard library only, so that it can be installed before galton's heavy imports (numpy, polars,
numba, Ray). Two phases:

1. :func:`install_startup` (from ``galton/__init__`` when the process is the ``galton`` command,
   before anything else is imported): a signal ends the process at once with ``128 + signum`` and
   one line on stderr. Nothing has been written yet, so there is nothing to clean.
2. :func:`install` (at the start of :func:`galton.cli.main`): the first SIGINT, SIGTERM or SIGHUP raises
   :class:`Interrupted` (a :class:`KeyboardInterrupt`), so every ``except BaseException`` /
   ``finally`` clean-up of the writers and engines runs. Later signals are ignored while that
   clean-up runs (a second Ctrl-C no longer interrupts the removal of a temporary file);
   :func:`galton.io._write.remove_temporaries` then removes whatever a writer left. An
   :class:`Interrupted` raised where Python can only report and drop it (a ctypes callback:
   llvmlite's, while numba loads its compiled code) reaches ``sys.unraisablehook``, which sends
   the signal again, so the interrupt is raised at the next point that can take it (it was lost:
   1 of 60 SIGINTs half a second into a run let the fit run to its end).

A library user's process is never touched: only the command installs handlers.

This module lives in the library, not in :mod:`galton.cli`, because ``galton/__init__`` needs it
before anything else is imported (importing ``galton.cli`` first would run the package's own
imports, numpy and the rest, before the handlers are in place); the CLI imports it from here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any, Iterator

__all__ = ["Interrupted", "cleaning", "deferred", "exit_code", "handling", "install", "install_startup",
           "is_cli_process", "restore"]

#: SIGHUP: a closed terminal killed the command outright, leaving a full-size hidden temporary and
#: Ray's processes behind
SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None),
                            getattr(signal, "SIGHUP", None)) if s is not None)
#: left ignored when they were ignored at the start (``nohup`` ignores SIGHUP)
_KEEP_IGNORED = tuple(s for s in (getattr(signal, "SIGHUP", None),) if s is not None)

_state: dict[str, Any] = {"signum": None}

#: ``ray.init`` installs its own SIGTERM handler, ``sys.exit(signal.SIGTERM)``: the command treats
#: ``SystemExit(15)`` as SIGTERM (clean-up, exit 143).
RAY_SIGTERM_CODE = int(getattr(signal, "SIGTERM", 15))


class Interrupted(KeyboardInterrupt):
    """Raised by the handler of SIGINT / SIGTERM / SIGHUP; ``signum`` says which signal arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum

    def __reduce__(self) -> tuple[Any, ...]:  # the default passes the message as signum: "interrupted by
        # signal interrupted by signal 2"
        return type(self), (self.signum,), vars(self)


def exit_code(exc: BaseException) -> int:
    """The exit code for an interrupt: 128 + the signal number (130 for a plain KeyboardInterrupt)."""
    signum = getattr(exc, "signum", None) or _state["signum"] or signal.SIGINT
    return 128 + int(signum)


def is_cli_process() -> bool:
    """True when this process is the ``galton`` command (console script or ``python -m galton``)."""
    argv = list(getattr(sys, "orig_argv", None) or [])
    i = 1
    while i < len(argv):  # the interpreter's own options, up to the script, -m or -c; after that the
        arg = argv[i]      # arguments are the program's (`galton aggregate x.csv -m ds` is no `python -m ds`)
        if arg.startswith("-m"):
            module = arg[2:] or (argv[i + 1] if i + 1 < len(argv) else "")
            return module in ("galton", "galton.cli")
        if arg.startswith("-c") or arg == "-" or not arg.startswith("-"):
            break
        i += 2 if arg in ("-W", "-X") else 1
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name.split(".")[0] == "galton"


def _exit_now(signum: int, frame: Any) -> None:  # pragma: no cover - runs in a subprocess
    try:
        os.write(2, b"galton: interrupted\n")
    finally:
        os._exit(128 + signum)


def _handled() -> tuple[int, ...]:
    """The signals the command handles: :data:`SIGNALS`, less SIGHUP where it is ignored (``nohup``)."""
    return tuple(s for s in SIGNALS if s not in _KEEP_IGNORED or signal.getsignal(s) != signal.SIG_IGN)


def install_startup() -> None:
    """Exit at once (128 + signum, one line) on SIGINT / SIGTERM / SIGHUP until :func:`install` runs."""
    if _state.get("installed"):
        return
    try:
        for s in _handled():
            signal.signal(s, _exit_now)
    except ValueError:  # pragma: no cover - not the main thread
        pass


def _raise_once(signum: int, frame: Any) -> None:
    if _state["signum"] is not None or _state.get("cleaning"):
        return  # already unwinding or cleaning up: let the clean-up finish
    if _state.get("deferring"):  # inside deferred(): raised when that block ends
        if "pending" not in _state and _state.get("deferring_what"):  # Ray's start takes seconds: say so
            os.write(2, f"galton: interrupting once {_state['deferring_what']}\n".encode())
        _state.setdefault("pending", signum)
        return
    _state["signum"] = signum
    raise Interrupted(signum)


def _unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook`` while the handlers are installed: an :class:`Interrupted` that
    Python dropped (raised inside a callback) was never delivered, so the signal is sent again, from
    another thread 10 ms later (sent now, the handler would run inside this hook, where an exception
    is dropped too; dropped again, it comes back here); anything else goes to the previous hook."""
    exc = getattr(unraisable, "exc_value", None)
    if isinstance(exc, Interrupted) and not _state.get("cleaning") and _state["signum"] == exc.signum:
        import threading

        _state["signum"] = None  # the handler raises it again
        timer = threading.Timer(0.01, _send_again, args=(exc.signum,))
        timer.daemon = True
        timer.start()
        return
    _state.get("hook", sys.__unraisablehook__)(unraisable)


#: ``os.kill`` of this process with SIGINT or SIGTERM ends it at once, with no clean-up (Windows:
#: TerminateProcess for any signal but CTRL_C_EVENT and CTRL_BREAK_EVENT)
_KILL_ENDS_PROCESS = sys.platform == "win32"


def _send_again(signum: int) -> None:
    """Send ``signum`` to this process: by ``os.kill`` (POSIX: the kernel hands it to the main
    thread, whose system call it interrupts), by ``signal.raise_signal`` where ``os.kill`` would
    end the process (the C handler runs in this thread, the Python one in the main thread)."""
    if _KILL_ENDS_PROCESS:
        signal.raise_signal(signum)
    else:
        os.kill(os.getpid(), signum)


def install() -> dict[int, Any]:
    """From now on the first SIGINT / SIGTERM / SIGHUP raises :class:`Interrupted`; later ones are
    ignored (a SIGHUP ignored already stays ignored).

    Returns the previous handlers, for :func:`restore`.
    """
    handled = _handled()
    _state.update(signum=None, cleaning=False, installed=True, deferring=False, signals=handled)
    _state.pop("pending", None)
    previous: dict[int, Any] = {}
    try:
        for s in handled:
            previous[s] = signal.signal(s, _raise_once)
    except ValueError:  # not the main thread (main() called from a thread): leave the defaults
        return previous
    if sys.unraisablehook is not _unraisable:
        _state["hook"] = sys.unraisablehook
        sys.unraisablehook = _unraisable
    return previous


def restore(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`install` replaced (for ``main()`` called in-process).

    In the ``galton`` process itself (the handlers were :func:`install_startup`'s) the signals are
    ignored instead: the command has finished, and the interpreter's shutdown (which resets
    Python-level handlers to the default, so a late Ctrl-C would kill it with -2) changes nothing.
    """
    for s, handler in previous.items():
        try:
            signal.signal(s, signal.SIG_IGN if handler is _exit_now else handler)
        except (ValueError, TypeError):  # pragma: no cover
            pass
    if sys.unraisablehook is _unraisable:
        sys.unraisablehook = _state.pop("hook", sys.__unraisablehook__)
    _state.update(signum=None, cleaning=False)


def handling() -> bool:
    """True in the main thread of the ``galton`` command while :func:`install`'s handlers are in
    place (never in a library user's process): then a library that would install its own SIGTERM
    handler (``ray.init`` does) should leave the command's in place."""
    import threading

    if not _state.get("installed") or threading.current_thread() is not threading.main_thread():
        return False
    return all(signal.getsignal(s) is _raise_once for s in _state.get("signals", SIGNALS))


@contextlib.contextmanager
def deferred(what: str | None = None) -> Iterator[None]:
    """Hold SIGINT / SIGTERM back while the block runs, in the ``galton`` command's main thread
    (elsewhere: nothing): a signal that arrives meanwhile is noted, and :class:`Interrupted` is
    raised when the block ends. For numba's first call of a kernel, which compiles or loads machine
    code: an interrupt raised inside it left the process with "... for <Library 'estep_parallel'>"
    errors (status 2) or killed by SIGSEGV (-11), seen on a cold numba cache with a SIGINT a few
    seconds into a fit. Also around ``ray.init`` (:func:`galton.workers.cluster.connect`): interrupted
    inside it, Ray was left half started and the command died by SIGSEGV or hung. (Blocking the
    signal in this thread would not do: the process's other threads, polars' or numba's, take it,
    and Python runs the handler here anyway.) ``what``: the step that ends the wait, said on the
    terminal when a signal is held (``"Ray has started"``: a Ctrl-C there was silent for 8-15 s)."""
    import threading

    if not _state.get("installed") or threading.current_thread() is not threading.main_thread():
        yield
        return
    outer, said = _state.get("deferring", False), _state.get("deferring_what")
    _state["deferring"] = True
    _state["deferring_what"] = said if outer else what
    try:
        yield
    except BaseException:
        _state["deferring"], _state["deferring_what"] = outer, said
        raise
    _state["deferring"], _state["deferring_what"] = outer, said
    pending = None if outer else _state.pop("pending", None)
    if pending is not None and _state["signum"] is None and not _state.get("cleaning"):
        _state["signum"] = pending
        raise Interrupted(pending)


def cleaning() -> None:
    """Ignore further SIGINT / SIGTERM / SIGHUP from now on (the command is cleaning up and exiting)."""
    _state["cleaning"] = True
    if _state.get("installed"):
        try:  # handlers others installed meanwhile (ray.init's SIGTERM) must not interrupt either
            for s in _state.get("signals", SIGNALS):
                if signal.getsignal(s) is not _raise_once:
                    signal.signal(s, _raise_once)
        except ValueError:  # pragma: no cover - not the main thread
            pass
