"""The benchmark scripts' options, notes and outputs: what each prints or refuses with tiny inputs
(no benchmark is run at any size that takes more than a second or two)."""

from __future__ import annotations

import argparse
import os
import stat

import pytest

from galton.benchmarks import preferences as prefs
from galton.benchmarks._common import parse_markdown_table


def _fake_prefs(monkeypatch, fake):
    def run(job, argv):
        return {"job": job, "first": fake[job]["seconds"], "spearman": 0.9, "peak_mib": 100.0, "rows": 1000,
                **fake[job]}

    monkeypatch.setattr(prefs, "_run_subprocess", run)


def test_preferences_small_noisy_note_keeps_the_measured_ratio_at_10x_and_more(monkeypatch):
    """The conditional took the whole note: at >= 10x per evaluation it read only "(600x per
    evaluation)", the measured "galton 20x faster" gone."""
    fake = {"bt:galton:big": dict(seconds=0.5, iterations=50), "bt:galton-cold:big": dict(seconds=0.9, iterations=50),
            "noisy_bt:galton:big": dict(seconds=2.0, iterations=100),
            "noisy_bt:galton:small": dict(seconds=1.5, iterations=80),
            "bt:crowdkit:big": dict(seconds=3.0, iterations=2),
            "noisy_bt:crowdkit:small": dict(seconds=30.0, iterations=40)}
    _fake_prefs(monkeypatch, fake)
    args = argparse.Namespace(skip_crowdkit=False, noisy_crowdkit="small")
    _, rows = parse_markdown_table(prefs.speed_section(args, []))
    small = next(r for r in rows if r[0] == "NoisyBT crowd-kit, small")
    assert small[-1] == "measured: galton 20x faster (40x per evaluation)"  # 30/1.5; (30/40) / (1.5/80)
    fake["noisy_bt:galton:small"] = dict(seconds=6.0, iterations=80)
    _, rows = parse_markdown_table(prefs.speed_section(args, []))
    small = next(r for r in rows if r[0] == "NoisyBT crowd-kit, small")
    assert small[-1] == "measured: galton 5.0x faster (10x per evaluation)"
    fake["noisy_bt:galton:small"] = dict(seconds=15.0, iterations=80)
    _, rows = parse_markdown_table(prefs.speed_section(args, []))
    small = next(r for r in rows if r[0] == "NoisyBT crowd-kit, small")
    assert small[-1] == "measured: galton 2.0x faster (4.0x per evaluation)"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_reports_are_written_with_the_umask_like_galtons_own_outputs(tmp_path):
    """``--out`` files (and the allocation report's files) came from ``mkstemp``: 0600 whatever the
    umask, where galton's writers give 0666 less the umask (0644 here) or the replaced file's mode."""
    from galton.benchmarks._common import emit, write_atomic

    old = os.umask(0o022)
    try:
        out = tmp_path / "sub" / "r.md"
        write_atomic(out, "x")
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        os.chmod(out, 0o640)
        emit("y\n", out)  # a file replaced keeps its mode
        assert stat.S_IMODE(out.stat().st_mode) == 0o640 and out.read_text() == "y\n"
        os.umask(0o027)
        other = write_atomic(tmp_path / "other.md", "z")
        assert stat.S_IMODE(other.stat().st_mode) == 0o640
    finally:
        os.umask(old)
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.md"]  # no temporary left


def test_preferences_out_is_written_atomically_into_a_new_folder(tmp_path, monkeypatch, capsys):
    """``--out`` was a plain ``open(..., "w")``: no folder made (FileNotFoundError after the whole
    run), a half-written file on an interrupt."""
    monkeypatch.setattr(prefs, "expert_study", lambda: "STUDY TABLE")
    out = tmp_path / "new" / "prefs.md"
    assert prefs.main(["--sections", "study", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "STUDY TABLE" in printed and out.read_text() == printed
    assert [p.name for p in out.parent.iterdir()] == ["prefs.md"]


@pytest.mark.parametrize("sections", ["sped", "speed,stduy", ","])
def test_preferences_refuses_unknown_sections(sections, monkeypatch, capsys):
    """A misspelt section was dropped and the rest ran (or nothing, with a header only)."""
    monkeypatch.setattr(prefs, "expert_study", lambda: pytest.fail("ran with a bad --sections"))
    monkeypatch.setattr(prefs, "speed_section", lambda *a: pytest.fail("ran with a bad --sections"))
    with pytest.raises(SystemExit) as exc:
        prefs.main(["--sections", sections])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--sections" in err and "speed, real, study" in err
    if sections != ",":
        assert repr(sections.split(",")[-1]) in err


# ------------------------------------------------------------------------------------ speed
def _speed_result(speed, impl="galton"):
    return speed.JobResult(speed.Job("ds", impl, 1000, 20), seconds=[1.0], iterations=20, accuracy=0.9,
                           peak_mib=10.0, fit_increase_mib=1.0, memory_source="VmHWM")


def test_speed_in_process_report_says_where_the_rows_ran_and_refuses_a_timeout(capsys):
    """``--in-process`` printed "each row in its own subprocess, the rows' fits taking turns", and
    its ``--timeout`` was silently ignored."""
    from galton.benchmarks import speed

    isolated = speed.render([_speed_result(speed)])
    here = speed.render([_speed_result(speed)], isolate=False)
    assert "each row in its own subprocess" in isolated and "this process" not in isolated
    assert "subprocess" not in here and "every row in this process (--in-process)" in here
    with pytest.raises(SystemExit) as exc:  # tiny sizes: where it is not refused, it runs seconds, not minutes
        speed.main(["--in-process", "--no-numpy", "--no-crowdkit", "--timeout", "5", "--models", "ds",
                    "--judgments", "500", "--ds-iter", "1", "--repeat", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--timeout" in err and "--in-process" in err


@pytest.mark.parametrize("mode", ["--wide", "--default-1m", "--after-idle"])
def test_speed_busy_processes_run_during_the_single_comparisons(mode, monkeypatch, capsys):
    """``--busy N`` was ignored by ``--wide``, ``--default-1m`` and ``--after-idle`` (they returned
    before the busy processes were started)."""
    from galton.benchmarks import speed

    events = []

    class Proc:
        def kill(self):
            events.append("kill")

        def wait(self):
            pass

    def spin(n):
        events.append(f"start {n}")
        return [Proc() for _ in range(n)]

    def body(*args, **kwargs):
        events.append("fits")
        return "TABLE\n"

    monkeypatch.setattr(speed, "busy_processes", spin)
    monkeypatch.setattr(speed, "default_against_ds", body)
    monkeypatch.setattr(speed, "after_idle", body)
    assert speed.main([mode, "--busy", "2", "--repeat", "1"]) == 0
    assert events == ["start 2", "fits", "kill", "kill"]
    out = capsys.readouterr().out
    assert "2 busy single-threaded process(es) ran during every fit" in out and "TABLE" in out
    events.clear()
    assert speed.main([mode, "--repeat", "1"]) == 0
    assert events == ["start 0", "fits"] and "busy" not in capsys.readouterr().out


# ------------------------------------------------------------------------------------ --repeat
@pytest.mark.parametrize("module", ["speed", "speed_votes", "speed_squarem", "texts", "metrics", "ratings",
                                    "scale", "preferences"])
@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_repeat_below_one_is_refused_by_every_script(module, value, monkeypatch, capsys):
    """``--repeat 0``: speed_votes and speed_squarem crashed at the end with StatisticsError (the
    median of no fits), texts and speed printed "median of 0 fit(s)"."""
    import importlib

    class Parsed(Exception):
        """The options were taken: the benchmark would run (at full size), so the test stops here."""

    parse = argparse.ArgumentParser.parse_args

    def parse_or_stop(self, *args, **kwargs):
        parse(self, *args, **kwargs)
        raise Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_or_stop)
    main = importlib.import_module(f"galton.benchmarks.{module}").main
    with pytest.raises(SystemExit) as exc:
        main(["--repeat", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--repeat" in err and "a whole number of at least 1" in err


# ------------------------------------------------------------------------------------ words
#: options a docstring names that belong to another command (``galton bench``, ``accuracy``)
_OTHER_COMMANDS = {"allocation": {"--study"}, "lodo": {"--no-lodo"}}


@pytest.mark.parametrize("module", ["accuracy", "allocation", "crowdkit_tests", "lodo", "metrics", "preferences",
                                    "ratings", "scale", "segmentation", "speed", "speed_squarem", "speed_votes",
                                    "texts"])
def test_every_option_a_script_documents_exists(module, capsys):
    """preferences' docstring told of a ``--study-items`` option that no parser had."""
    import importlib
    import re

    mod = importlib.import_module(f"galton.benchmarks.{module}")
    with pytest.raises(SystemExit):
        mod.main(["--help"])
    have = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", capsys.readouterr().out))
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", mod.__doc__ or ""))
    assert named - have - _OTHER_COMMANDS.get(module, set()) == set()


def test_speed_default_1m_help_says_ds_runs_at_its_default(capsys):
    """The ratio of ``--default-1m`` is against DS at its default (early stopping, as crowd-kit's);
    its help said both models ran to convergence."""
    from galton.benchmarks import speed

    with pytest.raises(SystemExit):
        speed.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    start = text.index("--default-1m only")  # the option's entry, not the usage line
    entry = text[start:text.index("--wide", start)]
    assert "both to convergence" not in entry and "stops early" in entry and "run to convergence" in entry


@pytest.mark.parametrize("fails", [True, False])
def test_texts_says_crowdkits_hrrasa_fails_only_where_it_does(fails, monkeypatch):
    """galton's HRRASA row said "(crowd-kit's fails on pandas 3)" whatever happened: with
    --no-crowdkit too, and on a pandas where crowd-kit's works."""
    ck = pytest.importorskip("crowdkit.aggregation")
    import galton
    from galton.benchmarks import texts

    class Fails:
        def fit_predict(self, data):
            raise ValueError("setting an array element with a sequence.")

    class Works(galton.HRRASA):
        pass

    monkeypatch.setattr(ck, "HRRASA", Fails if fails else Works)
    rows = {r[0]: r for r in texts._embedding_rows(12, 3, 1, True)}
    note = rows["galton HRRASA"][3]
    if fails:
        assert note.startswith("(crowd-kit's fails here: ValueError, pandas ") and "crowd-kit HRRASA" not in rows
    else:
        assert note.endswith("x") and "fails" not in note and "crowd-kit HRRASA" in rows
    assert rows["galton RASA"][3].endswith("x")
    alone = {r[0]: r for r in texts._embedding_rows(12, 3, 1, False)}
    assert [r[3] for r in alone.values()] == ["", "", ""]


@pytest.mark.parametrize("text", ["| a |", "| a |\n"])
def test_a_report_ends_with_one_newline_on_stdout_and_in_the_file(text, tmp_path, capsys):
    """speed_votes and speed_squarem returned their table without a final newline, and emit printed it
    so (the file got one)."""
    from galton.benchmarks._common import emit

    out = tmp_path / "r.md"
    emit(text, out)
    assert capsys.readouterr().out == "| a |\n" == out.read_text()


# ------------------------------------------------------------------------------------ counts in range
@pytest.mark.parametrize("module, argv, message", [
    ("texts", ["--per-task", "16"], "--per-task must be between 1 and 15 (the embedding part's 15 workers), not 16"),
    ("texts", ["--per-task", "0"], "--per-task must be between 1 and 15 (the embedding part's 15 workers), not 0"),
    ("texts", ["--tasks", "0"], "--tasks: expected a whole number of at least 1, not 0"),
    ("segmentation", ["--per-image", "21"], "--per-image must be between 1 and 20 (the simulated workers), not 21"),
    ("segmentation", ["--per-image", "0"], "--per-image must be between 1 and 20 (the simulated workers), not 0"),
    ("segmentation", ["--seeds", "0"], "--seeds: expected a whole number of at least 1, not 0"),
    ("segmentation", ["--images", "-2"], "--images: expected a whole number of at least 1, not -2"),
    ("segmentation", ["--spam", "0.3", "1.5"], "--spam: shares lie in [0, 1], not 1.5"),
])
def test_counts_out_of_range_are_refused_before_the_run(module, argv, message, monkeypatch, capsys):
    """``texts --per-task 16`` and ``segmentation --per-image 21`` crashed in numpy's "Cannot take a
    larger sample than population" (15 and 20 simulated workers), ``--seeds 0`` in "no median for
    empty data", others printed tables of NaN (bug hunt): argparse's usage error, exit status 2, with
    the range; the largest counts allowed reach the run."""
    import importlib

    mod = importlib.import_module(f"galton.benchmarks.{module}")
    ran = []
    monkeypatch.setattr(mod, "run", lambda *args, **kwargs: ran.append(args) or "TABLE")
    with pytest.raises(SystemExit) as exc:
        mod.main(argv + ["--no-crowdkit"])
    assert exc.value.code == 2 and message in capsys.readouterr().err and not ran
    top = ["--per-task", "15"] if module == "texts" else ["--per-image", "20", "--spam", "0", "1"]
    assert mod.main(top + ["--no-crowdkit"]) == 0 and ran[0][1] == (15 if module == "texts" else 20)
