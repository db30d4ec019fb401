"""galton called from several threads at once: each call's warnings, results and clean-up stay its own
(no process-wide state one thread changes under another's feet)."""

from __future__ import annotations

import sys
import threading
import warnings

import numpy as np
import pandas as pd
import pytest

import galton
from galton.metrics import consistency


def _crowd(seed: int = 0, n_tasks: int = 1500, n_workers: int = 30) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_tasks)
    rows = [(f"t{t}", f"w{w}", int(truth[t] if rng.random() < 0.7 else rng.integers(0, 3)))
            for t in range(n_tasks) for w in rng.choice(n_workers, 5, replace=False)]
    gold = pd.Series(truth[: n_tasks // 2], index=pd.Index([f"t{t}" for t in range(n_tasks // 2)], name="task"))
    return pd.DataFrame(rows, columns=["task", "worker", "label"]), gold


def _in_threads(job, n_threads: int = 4, rounds: int = 6) -> None:
    for _ in range(rounds):
        barrier = threading.Barrier(n_threads)

        def run() -> None:
            barrier.wait()
            job()

        threads = [threading.Thread(target=run) for _ in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def test_galtons_own_silenced_warnings_leave_the_process_filters_alone():
    """GoldMajorityVote.fit_predict and the metrics' fits silence warnings that a later step repeats;
    ``warnings.catch_warnings`` did it by swapping the process-wide filter list, so blocks that
    overlapped in threads left their 'ignore' filters installed and later warnings never showed."""
    data, gold = _crowd()
    ratings = data.assign(label=data.label + 0.5)  # non-integer numbers: "treated as classes"
    before = list(warnings.filters)
    _in_threads(lambda: galton.GoldMajorityVote(on_missing_skill="ignore").fit_predict(data, gold))
    _in_threads(lambda: consistency(ratings, aggregator=galton.MajorityVote()))
    assert warnings.filters == before
    toy = pd.DataFrame({"task": ["t1", "t1", "t2"], "worker": ["a", "c", "c"], "label": [1.5, 0.5, 0.5]})
    with warnings.catch_warnings(record=True) as caught:  # records; the filters stay as they are
        galton.MajorityVote().fit(toy, skills=pd.Series({"a": 1.0, "c": 0.0}))
    shown = [str(w.message) for w in caught]
    assert any("treated as classes" in m for m in shown), shown
    assert any("only judgments from workers whose skill is 0" in m for m in shown), shown


def test_a_failing_command_removes_only_its_own_temporaries(tmp_path, monkeypatch, capsys):
    """``galton.cli.main`` in one thread fails while another thread's write is half done: the
    failing run removed every temporary the process tracked, so the other write lost its file and
    failed with "No such file or directory"."""
    from galton.cli import main
    from galton.io import _temporaries

    started, proceed = threading.Event(), threading.Event()
    keep_mode = _temporaries.keep_mode

    def paused_keep_mode(target, like, extra=0):  # the writer's temporary exists: wait here
        keep_mode(target, like, extra)
        if str(like).endswith("mine.csv"):
            started.set()
            assert proceed.wait(30)

    monkeypatch.setattr(_temporaries, "keep_mode", paused_keep_mode)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            galton.write_table(pd.DataFrame({"a": [1, 2, 3]}), tmp_path / "mine.csv")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    assert started.wait(30)
    assert main(["aggregate", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "out.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err
    proceed.set()
    writer.join()
    assert errors == []
    assert pd.read_csv(tmp_path / "mine.csv")["a"].tolist() == [1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv"]


def test_cli_calls_in_threads_report_each_warning_once_and_leave_python_warnings_alone(tmp_path, capsys):
    """``galton.cli.main`` in several threads: each call collected its warnings with
    ``warnings.catch_warnings(record=True)``, which swaps the process-wide filters and recorder, so
    overlapping calls lost warnings or let them out as raw Python warnings, and left an 'always'
    filter and a thread's recorder behind: the user's own warnings after that were never shown."""
    from galton.cli import main

    rng = np.random.default_rng(0)
    for i in range(2):
        pd.DataFrame({"task": [f"t{t}" for t in range(300) for _ in range(3)],
                      "worker": [f"w{w}" for _ in range(300) for w in rng.choice(10, 3, replace=False)],
                      "label": rng.integers(0, 3, 900)}).to_csv(tmp_path / f"in{i}.csv", index=False)
    codes: list[int] = []
    index = iter(range(1000))

    def run() -> None:  # --max-iter 2: each run has exactly one "did not converge" to report
        i = next(index) % 2
        codes.append(main(["aggregate", str(tmp_path / f"in{i}.csv"), "-m", "ds", "--max-iter", "2",
                           "-o", str(tmp_path / f"out{next(index)}.csv")]))

    with warnings.catch_warnings(record=True) as shown:  # the user's own recorder and filters
        warnings.simplefilter("default")
        before = list(warnings.filters)
        _in_threads(run, n_threads=2, rounds=4)
        assert codes == [0] * 8
        assert warnings.filters == before
        warnings.warn("PROBE: a warning of the user's own code", stacklevel=1)
    err = capsys.readouterr().err
    assert err.count("galton: warning: DawidSkene did not converge in 2") == 8, err
    assert [str(w.message) for w in shown] == ["PROBE: a warning of the user's own code"]


def test_a_cli_call_leaves_pythons_warnings_warn_in_place(tmp_path, capsys):
    """To collect a command line call's warnings per thread, galton replaced ``warnings.warn`` for the
    whole process at the first call: every library's warnings then went through galton's frame. Now
    galton issues its own through ``galton._warnings.warn``, and ``warnings.warn`` stays Python's."""
    import _warnings as c_warnings

    from galton.cli import main

    pd.DataFrame({"task": ["t1", "t1", "t2", "t2"], "worker": ["a", "b", "a", "b"],
                  "label": [1, 0, 1, 1]}).to_csv(tmp_path / "in.csv", index=False)
    assert main(["aggregate", str(tmp_path / "in.csv"), "-m", "ds", "--max-iter", "1",
                 "-o", str(tmp_path / "out.csv")]) == 0
    assert "galton: warning: DawidSkene did not converge in 1" in capsys.readouterr().err
    assert warnings.warn is c_warnings.warn
    from galton._warnings import collected, warn

    def galton_like() -> None:
        warn("galton's", UserWarning, stacklevel=2)  # the caller's line, inside a block or not

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with collected() as caught:
            galton_like(); line = sys._getframe().f_lineno  # noqa: E702 - the call's own line
            warnings.warn("another library's", UserWarning)  # Python's path: the user's recorder
        galton_like(); outside = sys._getframe().f_lineno  # noqa: E702
    assert [(str(w.message), w.filename, w.lineno) for w in caught] == [("galton's", __file__, line)]
    assert [(str(w.message), w.filename) for w in shown] == [("another library's", __file__), ("galton's", __file__)]
    assert shown[1].lineno == outside
    with collected(errors=(UserWarning,)), pytest.raises(UserWarning, match="galton's"):
        galton_like()
