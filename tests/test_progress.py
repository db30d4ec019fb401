"""The progress bar (galton._progress): throttled redraws, and its line ended before an error."""

from __future__ import annotations

import argparse
import io
import itertools
import types

import pytest

from galton import _progress


def test_the_bar_redraws_at_most_ten_times_a_second_and_always_at_the_end(monkeypatch):
    """Each update redrew the bar: a 20,000-iteration fit wrote 16,404 redraws (2.2 MB of stderr)
    in 5 s. With a clock that moves 1 ms a reading, 20,000 updates span 20 s: about 200 redraws at
    one per 0.1 s, and the last step is drawn."""
    clock = itertools.count(0.0, 0.001)
    monkeypatch.setattr(_progress, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    stream = io.StringIO()
    bar = _progress.Progress(20_000, "fit", enabled=True, delay=0.0, stream=stream)
    for i in range(1, 20_001):
        bar.update(i)
    bar.close("done")
    draws = stream.getvalue().split("\r")[1:]
    assert 190 <= len(draws) <= 205, len(draws)
    assert " 20000/20000 " in draws[-2] and " 20000/20000 " in draws[-1] and draws[-1].endswith("done\x1b[K\n")


@pytest.mark.parametrize("error", [KeyboardInterrupt(), ValueError("bad")])
def test_an_error_after_a_bar_left_open_starts_a_line_of_its_own(monkeypatch, error):
    """An interrupted fit leaves its bar's line open: "galton: interrupted" was written on it
    ("... judgments/sgalton: interrupted"); the line is now ended first."""
    from galton import cli

    err, out = io.StringIO(), io.StringIO()

    def command(args, out_, err_):
        bar = _progress.Progress(10, "DS", enabled=True, delay=0.0, stream=err)
        bar.update(3, "1,000 judgments/s")
        raise error

    parser = argparse.ArgumentParser()
    parser.set_defaults(func=command, verbose=False)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    code = cli._run([], out, err)
    text = err.getvalue()
    assert code == (130 if isinstance(error, KeyboardInterrupt) else 2)
    last = "galton: interrupted\n" if isinstance(error, KeyboardInterrupt) else "galton: error: bad\n"
    assert text.endswith("1,000 judgments/s\x1b[K\n" + last), text


@pytest.mark.parametrize("value, drawn", [("0", False), ("off", False), ("OFF", False), ("no", False), ("False", False),
                                          (" false ", False), ("1", True), ("on", True), ("yes", True), ("TRUE", True),
                                          ("", False), (None, False)])
def test_galton_progress_reads_off_as_galton_numba_does(monkeypatch, value, drawn):
    """GALTON_PROGRESS=off, no or False turned the bar on (only 0, false and empty were off); it is
    now read as every on / off variable (GALTON_NUMBA, GALTON_FOLLOW_LOAD): 0, false, no, off in any
    case are off; unset or empty leaves it to the stream (not a terminal here: no bar)."""
    if value is None:
        monkeypatch.delenv("GALTON_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("GALTON_PROGRESS", value)
    stream = io.StringIO()
    bar = _progress.Progress(3, "fit", delay=0.0, stream=stream)
    bar.update(1)
    bar.close()
    assert (stream.getvalue() != "") is drawn
    if value:
        from galton import _env

        assert _env.switched_on("GALTON_PROGRESS") is drawn  # the reading of GALTON_NUMBA's switch
