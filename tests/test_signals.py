"""The command's interrupt handlers (galton._signals) in this process: an interrupt raised where
Python drops exceptions (a ctypes callback, as llvmlite's while numba loads compiled code) is not
lost. The whole command under real signals is tested in tests/io/test_write_rules.py."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

import pytest

from galton import _signals


@pytest.mark.skipif(not hasattr(os, "kill") or sys.platform == "win32", reason="POSIX signals")
def test_an_interrupt_dropped_inside_a_callback_is_raised_again_after_it():
    """SIGINT arrives while a ctypes callback runs: the handler's :class:`Interrupted` is raised
    inside the callback, where Python only reports it to ``sys.unraisablehook``; the hook sends the
    signal again and the interrupt surfaces in the caller, once, with its signal number. Without
    the hook nothing reaches the caller (1 of 60 runs of the command ran its fit to the end)."""
    seen: list[str] = []

    def callback() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs here, inside the callback
            seen.append("in")

    previous = _signals.install()
    try:
        hook = sys.unraisablehook
        with pytest.raises(_signals.Interrupted) as info:
            ctypes.CFUNCTYPE(None)(callback)()
            for _ in range(200):
                time.sleep(0.005)
        assert info.value.signum == signal.SIGINT
        assert len(seen) < 1000  # raised inside the callback first (cutting it short), and dropped there
    finally:
        _signals.restore(previous)
    assert sys.unraisablehook is not _signals._unraisable and hook is _signals._unraisable


def test_a_signal_during_a_deferred_block_is_raised_after_it():
    """``deferred()`` (around numba's first call of each kernel, which compiles): a SIGINT sent inside
    the block interrupts nothing there and is raised as Interrupted as soon as the block ends."""
    import subprocess
    import sys

    code = (
        "import os, signal\n"
        "from galton import _signals\n"
        "_signals.install()\n"
        "steps = []\n"
        "try:\n"
        "    with _signals.deferred():\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        steps.append('inside')\n"
        "        sum(range(10**6))\n"
        "        steps.append('finished')\n"
        "    steps.append('after')\n"
        "except _signals.Interrupted as exc:\n"
        "    print(steps, exc.signum)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split("\n")[0] == "['inside', 'finished'] 2"
