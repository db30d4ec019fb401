"""Child processes that take turns: each one prepares, then does one step whenever the parent says
so, one child at a time, and prints its result at the end. The speed benchmark times its rows this
way (:func:`galton.benchmarks.speed.run_in_turns`), so that the machine's slow and fast spells
fall on every row alike.

The protocol is lines: the child prints ``@@turn@@ <reply>`` (:meth:`Turns.reply`) once ready and
after each step; the parent writes ``fit`` for a step and ``end`` to finish, after which the child
prints whatever it reports and exits. With ``settle``, each step starts once the machine is quiet
(:func:`settle`): a thread the previous child left spinning (OpenBLAS keeps its threads running
for about 0.1 s after a large product, as crowd-kit's numpy code leaves them) would otherwise run
into the next child's step, whose parallel loops read it as a busy core. Only the standard library
in a child.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Sequence

__all__ = ["Turns", "settle"]

PREFIX = "@@turn@@ "


def settle(allowed: int = 0, limit: float = 1.0, step: float = 0.005) -> float:
    """Wait until at most ``allowed`` other tasks are runnable at two readings ``step`` seconds
    apart, or ``limit`` seconds have passed; returns the seconds waited (0 at once where the count
    cannot be read). The count is the parallel loops' own (``_jit.runnable_elsewhere``), imported
    here only: a child never waits."""
    from ..aggregator._jit import runnable_elsewhere

    t0 = time.perf_counter()
    quiet = 0
    while quiet < 2 and time.perf_counter() - t0 < limit:
        n = runnable_elsewhere()
        if n is None:
            break
        quiet = quiet + 1 if n <= allowed else 0
        if quiet < 2:
            time.sleep(step)
    return time.perf_counter() - t0


class _Child:
    def __init__(self, cmd: Sequence[str], env: dict[str, str]) -> None:
        self.err: IO[str] = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(list(cmd), env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True, bufsize=1)
        self.lines: list[str] = []  # everything it printed, replies excepted
        self.replies: queue.Queue[str | None] = queue.Queue()
        self.used = 0.0  # seconds spent waiting for it
        self.error: str | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(PREFIX):
                self.replies.put(line[len(PREFIX):].strip())
            else:
                self.lines.append(line)
        self.replies.put(None)  # end of output

    def tell(self, line: str, close: bool = False) -> None:
        """Write ``line`` to the child (a child that has died is found by the next wait)."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
            if close:
                self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def stderr_tail(self) -> str:
        self.err.seek(0)
        tail = self.err.read().strip().splitlines()[-1:]
        return tail[0][:200] if tail else "no output"


class Turns:
    """Children started from ``commands`` (``(argv, environment)`` pairs); ``timeout``: the seconds
    the parent waits for each child in all (None: no limit), after which it is killed; ``settle``:
    the other runnable tasks tolerated when a step starts (busy processes the caller keeps on
    purpose), each step waiting up to a second for no more (:func:`settle`); None: no wait.
    :attr:`waited`: the seconds spent so."""

    def __init__(self, commands: Sequence[tuple[Sequence[str], dict[str, str]]], timeout: float | None = None,
                 settle: int | None = None) -> None:
        self.commands = list(commands)
        self.timeout = timeout
        self.settle = settle
        self.waited = 0.0
        self.children: list[_Child] = []

    @staticmethod
    def reply(text: str) -> None:
        """In a child: tell the parent ``text`` (ready, or a step's result)."""
        sys.stdout.write(PREFIX + text + "\n")
        sys.stdout.flush()

    def _wait(self, child: _Child) -> str | None:
        left = None if self.timeout is None else max(0.0, self.timeout - child.used)
        t0 = time.perf_counter()
        try:
            got = child.replies.get(timeout=left)
        except queue.Empty:
            child.error = f"timed out after {self.timeout:.0f} s"
            child.proc.kill()
            return None
        finally:
            child.used += time.perf_counter() - t0
        if got is None:
            child.error = f"subprocess exited {child.proc.wait()}: {child.stderr_tail()}"
        return got

    def start(self) -> None:
        """Start every child, one after the other, each once the previous one is ready."""
        for cmd, env in self.commands:
            child = _Child(cmd, env)
            self.children.append(child)
            self._wait(child)

    def round(self, order: Sequence[int]) -> list[str | None]:
        """One step of each child in ``order`` (those still running), one at a time; their replies."""
        out: list[str | None] = []
        for i in order:
            child = self.children[i]
            if child.error is not None:
                out.append(None)
                continue
            if self.settle is not None:
                self.waited += settle(self.settle)
            child.tell("fit")
            out.append(self._wait(child))
        return out

    def finish(self) -> list[tuple[str, str | None]]:
        """Tell every child to end; per child, what it printed and its error (or None)."""
        out = []
        for child in self.children:
            if child.error is None:
                child.tell("end", close=True)
                while self._wait(child) is not None:
                    pass  # the result comes as ordinary lines; the reply queue ends with None
            if child.error and child.error.startswith("subprocess exited 0:"):
                child.error = None  # ended as told
            out.append(("".join(child.lines), child.error))
        return out

    def kill(self) -> None:
        """Stop any child still running and close its files."""
        for child in self.children:
            if child.proc.poll() is None:
                child.proc.kill()
            child.proc.wait()
            child.err.close()
