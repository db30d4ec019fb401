"""The one writer's rules (issue 9), through the real ``galton`` command on real files: refuse an
output before any work (an input, inside or around an input, gold, the ``_pairs`` sibling, a
directory galton did not write), ``-`` for stdin / stdout, and clean SIGINT / SIGTERM / SIGKILL."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import galton.io as gio

POSIX = os.name == "posix"
N_TASKS = 40


def _galton(args: list, cwd: Path, stdin: bytes | None = None, timeout: float = 120) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "galton", *map(str, args)], cwd=cwd, input=stdin,
                          capture_output=True, timeout=timeout)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def _judgments_csv(path: Path) -> Path:
    rng = np.random.default_rng(3)
    rows = [f"t{t},w{w},{(t + (rng.random() < 0.2)) % 3}" for t in range(N_TASKS) for w in range(4)]
    path.write_text("task,worker,label\n" + "\n".join(rows) + "\n")
    return path


def _tree(root: Path) -> dict[str, str]:
    """Every file under root (names relative) with a hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _hidden(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*")
            if any(part.startswith(".") for part in p.relative_to(root).parts)]


def _refused(rc: int, err: str, *words: str) -> None:
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("galton: error: ") and "Traceback" not in err, err
    for w in words:
        assert w in err, err


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    _judgments_csv(tmp_path / "in.csv")
    return tmp_path


# --------------------------------------------------------------------------------------------------
# refused before any work
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["local", "ray"])
def test_a_directory_galton_did_not_write_is_refused(work: Path, engine: str) -> None:
    (work / "mydocs").mkdir()
    (work / "mydocs" / "thesis.txt").write_text("precious")
    pq.write_table(pl.read_csv(work / "in.csv").to_arrow(), work / "in.parquet")
    before = _tree(work)
    source = "in.parquet" if engine == "ray" else "in.csv"
    rc, out, err = _galton(["aggregate", source, "--engine", engine, "-o", "mydocs"], work)
    _refused(rc, err, "'mydocs'", "did not write")
    assert _tree(work) == before and sorted(os.listdir(work / "mydocs")) == ["thesis.txt"]


@pytest.mark.parametrize("case", ["same file", "symlink", "inside input dir", "input dir itself",
                                  "contains input", "gold file"])
def test_an_output_over_an_input_is_refused(work: Path, case: str) -> None:
    indir = work / "indir"
    indir.mkdir()
    pq.write_table(pl.read_csv(work / "in.csv").to_arrow(), indir / "part-0.parquet")
    (work / "gold.csv").write_text("task,label\nt1,1\nt2,2\n")
    res = work / "res"
    with gio.atomic_dir(res) as tmp:  # a galton result directory that now holds the input
        (tmp / "in.csv").write_bytes((work / "in.csv").read_bytes())
    if case == "symlink":
        (work / "link.csv").symlink_to(work / "in.csv")
    args, why = {
        "same file": (["in.csv", "-o", "in.csv"], "is the input"),
        "symlink": (["in.csv", "-o", "link.csv"], "is the input"),
        "inside input dir": (["indir", "-o", "indir/res.csv"], "inside the input directory"),
        "input dir itself": (["indir", "-o", "indir"], "is the input"),
        "contains input": (["res/in.csv", "-o", "res"], "contains the input"),
        "gold file": (["in.csv", "--gold", "gold.csv", "-o", "gold.csv"], "is the input"),
    }[case]
    before = _tree(work)
    rc, out, err = _galton(["aggregate", *args], work)
    _refused(rc, err, why, repr(args[-1]))
    assert _tree(work) == before  # input bytes unchanged, nothing created


@pytest.mark.parametrize("kind", ["auto", "pairwise"])
def test_the_pairs_sibling_of_a_pairwise_output_may_not_be_the_input(tmp_path: Path, kind: str) -> None:
    rows = [f"w{w},i{a},i{b},i{a if (a + w) % 3 else b}"
            for w in range(3) for a in range(5) for b in range(5) if a < b]
    (tmp_path / "r_pairs.csv").write_text("worker,left,right,label\n" + "\n".join(rows) + "\n")
    before = _tree(tmp_path)
    rc, out, err = _galton(["aggregate", "r_pairs.csv", "--kind", kind, "-o", "r.csv"], tmp_path)
    _refused(rc, err, "pair probabilities", "r_pairs.csv", "is the input")
    assert _tree(tmp_path) == before
    rc, out, err = _galton(["aggregate", "r_pairs.csv", "-o", "scores.csv"], tmp_path)  # fine elsewhere
    assert rc == 0, err
    assert (tmp_path / "scores_pairs.csv").is_file() and _tree(tmp_path)["r_pairs.csv"] == before["r_pairs.csv"]


def test_a_galton_result_directory_is_replaced_but_not_one_holding_other_files(work: Path) -> None:
    for _ in range(2):
        rc, out, err = _galton(["aggregate", "in.csv", "-o", "res", "-q"], work)
        assert rc == 0, err
        assert sorted(os.listdir(work / "res")) == [gio.MARKER, "part-00000.parquet"]
    assert pq.read_table(work / "res").num_rows == N_TASKS  # readers skip the marker
    assert pl.read_parquet(work / "res" / "*.parquet").height == N_TASKS
    (work / "res" / "notes.txt").write_text("mine")
    before = _tree(work)
    rc, out, err = _galton(["aggregate", "in.csv", "-o", "res"], work)
    _refused(rc, err, "notes.txt", "did not write")
    assert _tree(work) == before
    (work / "empty").mkdir()  # an empty directory loses nothing
    assert _galton(["aggregate", "in.csv", "-o", "empty", "-q"], work)[0] == 0
    assert (work / "empty" / "part-00000.parquet").is_file()


def _simulation_dir(path: Path) -> Path:
    """A directory as ``galton simulate`` writes it (its marker, written by galton.workers.simulate,
    records no kind: the files show it)."""
    with gio.atomic_dir(path) as tmp:
        for sub in ("judgments", "truth"):
            (tmp / sub).mkdir()
            pq.write_table(pa.table({"task": [0]}), tmp / sub / "part-00000.parquet")
        pq.write_table(pa.table({"worker": [0]}), tmp / "workers.parquet")
        (tmp / "config.json").write_text("{}\n")
    return path


def _report_dir(path: Path) -> Path:
    """A directory as ``galton bench`` wrote it before galton recorded the kind (the files show it)."""
    with gio.atomic_dir(path) as tmp:
        (tmp / "index.html").write_text("<html></html>")
        (tmp / "study.json").write_text("{}")
    return path


def test_a_command_replaces_only_the_galton_directories_it_wrote(work: Path) -> None:
    """Bug hunt: every galton directory carried one marker, so `galton aggregate -o` replaced a
    simulation or a bench report, and `galton simulate --overwrite` a report or results, silently."""
    _simulation_dir(work / "sim")
    _report_dir(work / "rep")
    assert _galton(["aggregate", "in.csv", "-o", "res", "-q"], work)[0] == 0
    before = _tree(work)
    for out, what in (("sim", "galton simulate (a simulation)"), ("rep", "galton bench (a report)")):
        rc, _, err = _galton(["aggregate", "in.csv", "-o", out, "-q"], work)
        _refused(rc, err, "--output", repr(out), f"was written by {what}",
                 "galton aggregate replaces only a results directory it wrote")
    for out in ("rep", "res"):  # refused before Ray starts
        rc, _, err = _galton(["simulate", "--n-tasks", "10", "--n-workers", "9", "--out", out, "--overwrite"], work)
        _refused(rc, err, "--out", repr(out), "galton simulate replaces only a simulation it wrote")
    assert _tree(work) == before
    marker = json.loads((work / "res" / gio.MARKER).read_text())
    assert marker["kind"] == "results"  # the command that wrote it is recorded
    gio.check_replaceable(work / "sim", "simulation")  # each one its own
    gio.check_replaceable(work / "res", "results")
    gio.check_replaceable(work / "rep", "report")
    with pytest.raises(FileExistsError, match="was written by galton, but is no report"):
        with gio.atomic_dir(work / "other") as tmp:
            (tmp / "notes.txt").write_text("x")
        gio.check_replaceable(work / "other", "report")


def test_a_results_file_is_overwritten_atomically(work: Path) -> None:
    (work / "out.csv").write_text("old results\n")
    rc, out, err = _galton(["aggregate", "in.csv", "-o", "out.csv", "-q"], work)
    assert rc == 0 and err == ""
    assert pl.read_csv(work / "out.csv").height == N_TASKS and _hidden(work) == []


# --------------------------------------------------------------------------------------------------
# standard input and output
# --------------------------------------------------------------------------------------------------
def test_dash_output_is_clean_csv_on_stdout(work: Path) -> None:
    rc, out, err = _galton(["aggregate", "in.csv", "-o", "-"], work)
    assert rc == 0, err
    table = pl.read_csv(out.encode())
    assert table.height == N_TASKS and table.columns[:3] == ["task", "label", "confidence"]
    assert "tasks" in err and "40" in err  # the summary went to stderr
    assert sorted(os.listdir(work)) == ["in.csv"]


def test_dash_input_reads_csv_from_stdin(work: Path) -> None:
    data = (work / "in.csv").read_bytes()
    rc, out, err = _galton(["aggregate", "-", "-o", "out.csv"], work, stdin=data)
    assert rc == 0, err
    assert pl.read_csv(work / "out.csv").height == N_TASKS and "judgments   160" in out
    rc, out, err = _galton(["aggregate", "-", "-o", "-", "-q"], work, stdin=data)
    assert rc == 0 and err == ""
    assert pl.read_csv(out.encode()).equals(pl.read_csv(work / "out.csv"))


@pytest.mark.skipif(not POSIX, reason="named pipes")
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full (Linux)")
@pytest.mark.parametrize("buffered", [False, True])
def test_standard_output_on_a_full_disk_is_named(work: Path, buffered: bool) -> None:
    """A full disk under standard output (``> /dev/full``) gave a bare "[Errno 28] No space left on
    device" or "No space left on device (os error 28)"; with Python's buffering the failure came at
    exit instead: "Exception ignored ... OSError" and status 120, the command's own lines lost (bug hunt)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    for args, tail in ((["agreement", "in.csv"], ""), (["models"], ""),
                       (["aggregate", "in.csv", "-m", "mv", "-o", "o.csv"], ""),  # the summary, after the results
                       (["aggregate", "in.csv", "-m", "mv", "-o", "-", "-q"], "; nothing was replaced"),
                       (["datasets", "export", "act_cf", "-"], "; nothing was replaced")):
        with open("/dev/full", "wb") as full:
            proc = subprocess.run([sys.executable, "-m", "galton", *args], cwd=work, stdout=full,
                                  stderr=subprocess.PIPE, env=env, timeout=120)
        err = proc.stderr.decode()
        assert (proc.returncode, err) == (2, f"galton: error: cannot write to standard output: No space left on "
                                             f"device{tail}\n"), args


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full (Linux)")
@pytest.mark.parametrize("how", ["text", "parquet"])
def test_a_directory_output_on_a_full_disk_is_named(tmp_path: Path, how: str) -> None:
    """A directory output whose write failed without naming a file inside it (at the close of a
    text file, in pyarrow) gave a bare "[Errno 28] No space left on device" (galton bench) or
    pyarrow's "[Errno 28] Error writing bytes to file. Detail: ..." (galton simulate) (bug hunt)."""
    with pytest.raises(gio.WriteError) as info:
        with gio.atomic_dir(tmp_path / "rep", kind="report") as tmp:
            (tmp / "part").symlink_to("/dev/full")  # a full disk
            if how == "text":
                (tmp / "part").write_text("<p>" * 5000)
            else:  # pyarrow's own file (a path would have it remove what failed: as root, /dev/full itself)
                with pa.OSFile(str(tmp / "part"), "w") as fh:
                    pq.write_table(pa.table({"a": np.arange(100_000)}), fh)
    assert str(info.value) == f"cannot write {str(tmp_path / 'rep')!r}: No space left on device; nothing was replaced"
    assert info.value.errno == 28 and os.listdir(tmp_path) == []


def test_a_named_pipe_is_read_once(work: Path) -> None:
    fifo = work / "pipe.csv"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "galton", "aggregate", "pipe.csv", "-o", "out.csv", "-q"],
                            cwd=work, stderr=subprocess.PIPE)
    with open(fifo, "wb") as fh:
        fh.write((work / "in.csv").read_bytes())
    assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()
    assert pl.read_csv(work / "out.csv").height == N_TASKS


# --------------------------------------------------------------------------------------------------
# failures: one line, --debug for the traceback
# --------------------------------------------------------------------------------------------------
def test_debug_shows_the_traceback_and_the_default_does_not(work: Path) -> None:
    (work / "bad.csv").write_text("task,who,label\nt1,a,0\n")
    rc, out, err = _galton(["aggregate", "bad.csv", "-o", "x.csv"], work)
    _refused(rc, err, "worker")
    for args in (["--debug", "aggregate", "bad.csv", "-o", "x.csv"], ["aggregate", "bad.csv", "--debug"]):
        rc, out, err = _galton(args, work)
        assert rc == 2 and "Traceback (most recent call last)" in err
        assert err.splitlines()[-1].startswith("galton: error: ") and "worker" in err.splitlines()[-1]
    assert not (work / "x.csv").exists()


# --------------------------------------------------------------------------------------------------
# interrupts
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10M judgments (2.5M tasks, 5 labels), as the issue asks: reading, fitting and writing each
    take a second or more, so a signal can land inside each of them."""
    n = 10_000_000
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("big") / "big.parquet"
    pq.write_table(pa.table({"task": np.repeat(np.arange(n // 4, dtype=np.int64), 4),
                             "worker": rng.integers(0, 2000, n), "label": rng.integers(0, 5, n)}), path)
    return path


def _start(big: Path, out: Path, max_iter: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "galton", "aggregate", str(big), "-m", "ds", "--max-iter",
                             str(max_iter), "-o", str(out)], cwd=out.parent.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_temporary(proc: subprocess.Popen, folder: Path, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not any(n.startswith(".") and ".tmp" in n for n in os.listdir(folder)):
        assert proc.poll() is None, "the run ended before it started writing"
        assert time.monotonic() < end, "no temporary file appeared"
        time.sleep(0.002)


@pytest.mark.skipif(not POSIX, reason="POSIX signals")
@pytest.mark.parametrize("moment", ["start-up", "read", "fit", "write"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_exits_128_plus_signal_and_leaves_no_temporary(big: Path, tmp_path: Path, moment: str,
                                                                   signum: int) -> None:
    folder = tmp_path / "o"
    folder.mkdir()
    old = folder / "res.csv"
    old.write_text("task,label\nold,1\n")
    proc = _start(big, old, max_iter=2 if moment == "write" else 500)
    if moment == "start-up":
        time.sleep(0.3)  # imports
    elif moment == "read":
        time.sleep(1.8)  # reading and encoding 10M rows
    elif moment == "fit":
        time.sleep(5.0)  # Dawid-Skene iterations
    else:
        _wait_for_temporary(proc, folder)
    proc.send_signal(signum)
    if moment == "write" and signum == signal.SIGINT:
        time.sleep(0.02)
        proc.send_signal(signum)  # a second Ctrl-C while cleaning up changes nothing
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err.decode()
    assert err.decode() == "galton: interrupted\n"
    assert os.listdir(folder) == ["res.csv"] and old.read_text() == "task,label\nold,1\n"
    assert _hidden(tmp_path) == []


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_a_hangup_while_writing_exits_129_and_leaves_no_temporary(big: Path, tmp_path: Path) -> None:
    """SIGHUP (the terminal closed) was not handled: the command died by it, leaving a full-size
    hidden temporary next to the output (and, on Ray, Ray's processes); it is handled as SIGTERM is
    (bug hunt)."""
    folder = tmp_path / "o"
    folder.mkdir()
    old = folder / "res.csv"
    old.write_text("task,label\nold,1\n")
    proc = _start(big, old, max_iter=2)
    _wait_for_temporary(proc, folder)
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 129 and err.decode() == "galton: interrupted\n", (proc.returncode, err.decode())
    assert os.listdir(folder) == ["res.csv"] and old.read_text() == "task,label\nold,1\n"
    assert _hidden(tmp_path) == []


@pytest.mark.skipif(not POSIX, reason="POSIX signals")
def test_after_sigkill_only_hidden_leftovers_which_readers_ignore(big: Path, tmp_path: Path, work: Path) -> None:
    folder = tmp_path / "o"
    folder.mkdir()
    proc = _start(big, folder / "res", max_iter=2)  # a Parquet directory output
    _wait_for_temporary(proc, folder)
    proc.kill()
    proc.wait(timeout=30)
    left = os.listdir(folder)
    assert left and all(n.startswith(".") for n in left)  # only hidden names
    pq.write_table(pl.read_csv(work / "in.csv").to_arrow(), folder / "part-0.parquet")
    rc, out, err = _galton(["aggregate", folder, "-o", tmp_path / "again.csv"], tmp_path)
    assert rc == 0, err
    assert "judgments   160" in out and pl.read_csv(tmp_path / "again.csv").height == N_TASKS


# --------------------------------------------------------------------------------------------------
# the writer itself
# --------------------------------------------------------------------------------------------------
def test_an_output_that_cannot_be_renamed_into_place_says_what_to_do(tmp_path: Path) -> None:
    """A replacement that fails only at its rename (an immutable output, a mount point as -o, EXDEV in
    an overlay's lower layer; here a directory put in the file's place meanwhile) said "nothing was
    replaced" and no more (bug hunt): it now says what to do."""
    (tmp_path / "w.csv").write_text("old\n")
    with pytest.raises(gio.WriteError) as info:
        with gio.Outputs() as outs:
            outs.table(pa.table({"a": [1]}), tmp_path / "o.csv")
            outs.table(pa.table({"b": [2]}), tmp_path / "w.csv")
            (tmp_path / "o.csv").mkdir()  # in the way of the rename
            (tmp_path / "o.csv" / "x").write_text("")
    assert str(info.value) == (f"cannot write {str(tmp_path / 'o.csv')!r}: Is a directory; nothing was replaced (the "
                               f"new output was complete, but what is at {str(tmp_path / 'o.csv')!r} cannot be "
                               "replaced: immutable, a mount point, or in another file system's layer; remove it, "
                               "or write to another path)")
    assert sorted(os.listdir(tmp_path)) == ["o.csv", "w.csv"] and (tmp_path / "w.csv").read_text() == "old\n"


def test_an_interrupt_between_the_renames_puts_the_old_output_back(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from galton.io import _write

    monkeypatch.setattr(_write, "rename_with", lambda *a: False)  # no atomic swap here: two renames
    dest = tmp_path / "out"
    with gio.atomic_dir(dest) as tmp:
        (tmp / "part-0.parquet").write_bytes(b"old")
    real = os.replace
    calls: list[str] = []

    def replace(src: object, dst: object) -> None:
        calls.append(str(dst))
        if len(calls) == 2:  # old moved aside, new not yet in place
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        with gio.atomic_dir(dest) as tmp:
            (tmp / "part-0.parquet").write_bytes(b"new")
    monkeypatch.setattr(os, "replace", real)
    assert (dest / "part-0.parquet").read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["out"]
    assert gio.remove_temporaries() == []  # nothing left to clean


def test_remove_temporaries_cleans_what_an_interrupted_writer_holds(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    ctx = gio.atomic_dir(dest)
    tmp = ctx.__enter__()
    (tmp / "half.parquet").write_bytes(b"x")
    assert os.listdir(tmp_path) == [tmp.name]
    assert gio.remove_temporaries() == [str(tmp)]
    assert os.listdir(tmp_path) == []


def test_plan_output_refuses_without_touching_anything(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("task,worker,label\n")
    (tmp_path / "sub").mkdir()
    with pytest.raises(gio.OutputError, match="is the input"):
        gio.plan_output(tmp_path / "sub" / ".." / "a.csv", inputs=[tmp_path / "a.csv"])
    with pytest.raises(gio.OutputError, match="contains the input"):
        gio.plan_output(tmp_path, inputs=[str(tmp_path / "*.csv")], directory=True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gio.plan_output(tmp_path / "nope" / "r.csv")
    with pytest.raises(gio.OutputError, match="extension"):
        gio.plan_output(tmp_path / "r.xlsx")
    assert gio.plan_output("-", inputs=["-"]) is None
    assert gio.plan_output(tmp_path / "r.csv", inputs=["-", "bundled:act_cf", None]) == tmp_path / "r.csv"
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "sub"]


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_as_output_is_refused_with_the_reason(tmp_path: Path) -> None:
    rc, out, err = _galton(["aggregate", "bundled:act_cf", "-m", "mv", "-o", "/dev/null"], tmp_path)
    assert rc == 2 and "a device or pipe" in err and "leave the output out" in err


@pytest.mark.skipif(not POSIX, reason="POSIX signals")
def test_a_killed_checkpointed_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    """``galton aggregate --checkpoint-dir``, killed (SIGKILL: no clean-up at all) in the middle of
    its iterations, leaves no output; the same command again takes up from the last checkpoint and
    writes what an uninterrupted run writes, to the bit."""
    n = 400_000
    rng = np.random.default_rng(5)
    src = tmp_path / "j.parquet"
    pq.write_table(pa.table({"task": np.repeat(np.arange(n // 4, dtype=np.int64), 4),
                             "worker": rng.integers(0, 500, n), "label": rng.integers(0, 3, n)}), src)
    cmd = [sys.executable, "-m", "galton", "aggregate", str(src), "-m", "ds", "--param", "stopping=likelihood",
           "--param", "tol=0", "--max-iter", "400"]
    ck = tmp_path / "ck"
    proc = subprocess.Popen([*cmd, "--checkpoint-dir", str(ck), "-o", str(tmp_path / "resumed.parquet")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    end = time.monotonic() + 120
    while not list(ck.glob("DawidSkene-*.npz")):  # the first checkpoint: the fit is iterating
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < end, "no checkpoint appeared"
        time.sleep(0.01)
    time.sleep(0.3)
    assert proc.poll() is None, "the fit ended before it was killed: make it longer"
    proc.kill()
    proc.wait(timeout=30)
    assert not (tmp_path / "resumed.parquet").exists()
    rc, out, err = _galton([*cmd[3:], "--checkpoint-dir", ck, "-o", tmp_path / "resumed.parquet"], tmp_path)
    assert rc == 0, err
    row = next(line for line in out.splitlines() if line.startswith("checkpoint"))
    taken_up = int(row.split("resumed from iteration ")[1].split(";")[0])
    assert 0 < taken_up < 400
    rc, _, err = _galton([*cmd[3:], "-o", tmp_path / "whole.parquet"], tmp_path)
    assert rc == 0, err
    assert pl.read_parquet(tmp_path / "resumed.parquet").equals(pl.read_parquet(tmp_path / "whole.parquet"))


def test_duration_ids_are_written_to_csv_as_iso_text(tmp_path):
    """Duration ids failed at the CSV writer after the whole fit ("datatype duration[ms] cannot be
    written to CSV"); CSV has no duration type: they are written as ISO 8601 text (bug hunt)."""
    table = pa.table({"task": pa.array([1, 1500], pa.duration("ms")), "label": ["x", "y"]})
    from galton.io import write_table

    out = write_table(table, tmp_path / "d.csv")
    assert out.read_text().splitlines() == ["task,label", "PT0.001S,x", "PT1.5S,y"]


def test_the_python_writers_replace_only_their_own_kind_of_directory(work: Path) -> None:
    """galton.workers.simulate(overwrite=True) replaced a bench report or a results directory, and
    fit_parquet(results_dir=) a simulation (the command line checked the kind, the library did not)."""
    from galton import DawidSkene
    from galton.datasets.simulate import CrowdConfig
    from galton.workers.sharded import fit_parquet
    from galton.workers.simulate import simulate

    _simulation_dir(work / "sim")
    _report_dir(work / "rep")
    before = _tree(work)
    with pytest.raises(FileExistsError, match="galton simulate replaces only a simulation"):
        simulate(CrowdConfig(n_tasks=10, n_workers=9), work / "rep", overwrite=True)
    with pytest.raises(ValueError, match="results_dir: .*was written by galton simulate"):
        fit_parquet(DawidSkene(), work / "in.csv", results_dir=work / "sim")
    assert _tree(work) == before


# --------------------------------------------------------------------------------------------------
# failures while writing (bug hunt): a real file size limit (ulimit -f) in a subprocess
# --------------------------------------------------------------------------------------------------
def _galton_limited(args: list, cwd: Path, max_bytes: int) -> tuple[int, str, str]:
    """The command with every file it writes limited to ``max_bytes`` (``ulimit -f``): a write past
    it fails with EFBIG, as on a full disk, but only for the big file."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "galton", *map(str, args)], cwd=cwd, capture_output=True,
                          timeout=120, preexec_fn=limit, env=env)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def _few_tasks_many_workers(path: Path, pairwise: bool) -> Path:
    """3 tasks (items a, b, c), 300 workers: results of 4 lines, a worker report of 300 rows."""
    if pairwise:
        rows = [f"w{w},{x},{y},{x if w % 4 else y}" for w in range(300) for x, y in (("a", "b"), ("b", "c"))]
        path.write_text("worker,left,right,label\n" + "\n".join(rows) + "\n")
    else:
        rows = [f"t{t},w{w},{(t + (w % 3 == 0)) % 2}" for t in range(3) for w in range(300)]
        path.write_text("task,worker,label\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.skipif(not POSIX, reason="ulimit -f")
@pytest.mark.parametrize("model", ["mv", "bt"])
def test_a_failed_run_replaces_none_of_its_outputs(tmp_path: Path, model: str) -> None:
    """The worker report failed (file too large) after the results (pairwise: and their _pairs
    file) had been renamed into place: exit 2, yet new results beside the old report; every output
    now goes to its temporary first and none is renamed unless all were written (bug hunt)."""
    _few_tasks_many_workers(tmp_path / "in.csv", pairwise=model == "bt")
    outputs = ["res.csv", "workers.csv"] + (["res_pairs.csv"] if model == "bt" else [])
    for name in outputs:
        (tmp_path / name).write_text(f"old {name}\n")
    argv = ["aggregate", "in.csv", "-m", model, "-o", "res.csv", "--workers-output", "workers.csv"]
    rc, _, err = _galton_limited(argv, tmp_path, 8192)
    assert rc == 2 and "File too large" in err, err
    assert {n: (tmp_path / n).read_text() for n in outputs} == {n: f"old {n}\n" for n in outputs}
    assert sorted(os.listdir(tmp_path)) == sorted(["in.csv", *outputs])  # no temporary left
    rc, _, err = _galton(argv, tmp_path)
    assert rc == 0 and pl.read_csv(tmp_path / "workers.csv").height == 300, err
    assert all((tmp_path / n).read_text() != f"old {n}\n" for n in outputs)


@pytest.mark.skipif(not POSIX, reason="ulimit -f")
def test_write_tables_renames_all_or_none(tmp_path: Path) -> None:
    """write_tables (``galton datasets export`` and the pairwise scores with their pair probabilities):
    the second table fails to write, so the first, written fine, is not renamed either (bug hunt)."""
    code = ("import resource, sys\n"
            "import pyarrow as pa\n"
            "from galton.io import write_tables\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
            "small, big = pa.table({'a': [1, 2]}), pa.table({'a': list(range(10_000))})\n"
            "try:\n"
            "    write_tables([(small, 'a.csv'), (big, 'b.csv')])\n"
            "except OSError as exc:\n"
            "    print(exc)\n")
    (tmp_path / "a.csv").write_text("old a\n")
    (tmp_path / "b.csv").write_text("old b\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "File too large" in proc.stdout, proc.stdout + proc.stderr
    assert (tmp_path / "a.csv").read_text() == "old a\n" and (tmp_path / "b.csv").read_text() == "old b\n"
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.csv"]
    gio.write_tables([(pa.table({"a": [1]}), tmp_path / "a.csv"), (pa.table({"b": [2]}), tmp_path / "b.csv")])
    assert (tmp_path / "a.csv").read_text() == "a\n1\n" and (tmp_path / "b.csv").read_text() == "b\n2\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_as_a_file_output_is_refused_not_replaced(tmp_path: Path) -> None:
    """``-o results.csv`` naming a FIFO replaced the pipe with a regular file (its reader waited for
    nothing); only a directory output was checked for it (bug hunt)."""
    _judgments_csv(tmp_path / "in.csv")
    os.mkfifo(tmp_path / "pipe.csv")
    rc, _, err = _galton(["aggregate", "in.csv", "-m", "mv", "-o", "pipe.csv"], tmp_path)
    _refused(rc, err, "'pipe.csv' exists and is not a regular file (a device or pipe", "-o -")
    rc, _, err = _galton(["allocate", "in.csv", "-n", "1", "-m", "mv", "-o", "pipe.csv"], tmp_path)
    _refused(rc, err, "'pipe.csv' exists and is not a regular file")
    with pytest.raises(FileExistsError, match="not a regular file"):
        gio.write_table(pa.table({"a": [1]}), tmp_path / "pipe.csv")
    assert not os.path.isfile(tmp_path / "pipe.csv") and sorted(os.listdir(tmp_path)) == ["in.csv", "pipe.csv"]


@pytest.mark.skipif(not POSIX, reason="symbolic links")
def test_a_linked_output_replaces_the_links_target_and_keeps_the_link(work: Path) -> None:
    """An output that is a symbolic link: the link was replaced by a new file or directory, its target
    kept the old results, and a directory left a permanent ``.<name>.<hex>.old`` link beside it; now
    the target is replaced and the link stays (a dangling link's target is created) (bug hunt)."""
    (work / "real").mkdir()
    rc, _, err = _galton(["aggregate", "in.csv", "-m", "mv", "-o", "real/od"], work)
    assert rc == 0, err
    before = (work / "real" / "od" / "part-00000.parquet").read_bytes()
    os.symlink("real/od", work / "od")
    rc, _, err = _galton(["aggregate", "in.csv", "-m", "wawa", "-o", "od"], work)
    assert rc == 0, err
    assert os.path.islink(work / "od") and sorted(os.listdir(work)) == ["in.csv", "od", "real"]
    assert sorted(os.listdir(work / "real")) == ["od"]
    assert (work / "real" / "od" / "part-00000.parquet").read_bytes() != before  # wawa's results, in the target
    (work / "real" / "old.csv").write_text("old\n")
    os.symlink("real/old.csv", work / "link.csv")
    os.symlink("real/new.csv", work / "dangling.csv")
    for name in ("link.csv", "dangling.csv"):
        gio.write_table(pa.table({"a": [1]}), work / name)
        assert os.path.islink(work / name) and (work / name).read_text() == "a\n1\n"
    assert sorted(os.listdir(work / "real")) == ["new.csv", "od", "old.csv"]
    assert (work / "real" / "old.csv").read_text() == "a\n1\n"
    assert _hidden(work) == []


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_a_replaced_output_keeps_its_permissions(tmp_path: Path) -> None:
    """Replacing an output loosened it: a 0600 results file became 0644 and a 0700 results directory
    0755 (the temporary was made with the umask's mode); it now takes the mode, and where allowed the
    owner and group, of the output it replaces (bug hunt)."""
    old_umask = os.umask(0o022)
    try:
        private = gio.write_table(pa.table({"a": [1]}), tmp_path / "private.csv")
        os.chmod(private, 0o600)
        with gio.atomic_dir(tmp_path / "od") as tmp:
            (tmp / "part-00000.parquet").write_bytes(b"old")
        os.chmod(tmp_path / "od", 0o700)
        if os.geteuid() == 0:  # root may give them another owner and group, which a rewrite keeps
            os.chown(private, 1, 1)
            os.chown(tmp_path / "od", 1, 1)
        gio.write_table(pa.table({"a": [2]}), private)
        with gio.atomic_dir(tmp_path / "od") as tmp:
            assert tmp.stat().st_mode & 0o077 == 0  # private while it is built
            (tmp / "part-00000.parquet").write_bytes(b"new")
        fresh = gio.write_table(pa.table({"a": [3]}), tmp_path / "fresh.csv")
    finally:
        os.umask(old_umask)
    assert private.stat().st_mode & 0o7777 == 0o600 and private.read_text() == "a\n2\n"
    assert (tmp_path / "od").stat().st_mode & 0o7777 == 0o700
    assert (tmp_path / "od" / "part-00000.parquet").read_bytes() == b"new"
    assert fresh.stat().st_mode & 0o777 == 0o644  # a new output: 0666 less the umask, as before
    if os.geteuid() == 0:
        assert (private.stat().st_uid, private.stat().st_gid) == (1, 1)
        assert ((tmp_path / "od").stat().st_uid, (tmp_path / "od").stat().st_gid) == (1, 1)


@pytest.mark.skipif(not POSIX, reason="ulimit -f")
@pytest.mark.parametrize("output", ["res.csv", "od"])
def test_a_failed_write_names_the_output_and_says_nothing_was_replaced(work: Path, output: str) -> None:
    """A write that failed after the fit said "File too large (os error 27)" with no path (or named
    a hidden temporary); now the output as given, the reason, and that nothing was replaced (bug hunt)."""
    rc, _, err = _galton_limited(["aggregate", "in.csv", "-m", "mv", "-o", output], work, 500)
    _refused(rc, err, f"galton: error: cannot write {output!r}: File too large; nothing was replaced")
    assert sorted(os.listdir(work)) == ["in.csv"]


def test_a_long_output_name_is_written_and_a_too_long_one_refused_first(work: Path) -> None:
    """A valid 250-character output name was refused after the fit ("File name too long": its
    temporary adds 18 characters); the temporary's name is cut to fit, and a name the file system
    cannot take is refused before anything is read (bug hunt)."""
    name = "r" * 246 + ".csv"
    rc, out, err = _galton(["aggregate", "in.csv", "-m", "mv", "-o", name], work)
    assert rc == 0, err
    assert pl.read_csv(work / name).height == N_TASKS
    rc, out, err = _galton(["aggregate", "in.csv", "-m", "mv", "-o", "r" * 252 + ".csv"], work)
    _refused(rc, err, "is 256 bytes long, more than the 255", "choose a shorter name")
    assert sorted(os.listdir(work)) == sorted(["in.csv", name])


def _unwritable_folder(work: Path) -> Path:
    """A folder that takes no new file: a read-only mode, or for root (who writes anywhere a mode
    forbids) sysfs, which takes no new file even from root."""
    if os.geteuid() != 0:
        folder = work / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    folder = Path("/sys/kernel")
    if not folder.is_dir() or os.access(folder, os.W_OK) is False:
        pytest.skip("no directory that refuses root a new file")
    return folder


def test_an_output_where_nothing_can_be_written_is_refused_before_the_fit(work: Path) -> None:
    """An output in a read-only directory failed after the whole fit, naming a hidden temporary
    ("[Errno 30] Read-only file system: 'ro/.o.csv.<hex>.tmp'"); plan_output now creates and removes
    a file there first (os.access says yes to root on a read-only mount) (bug hunt)."""
    folder = _unwritable_folder(work)
    with pytest.raises(gio.OutputError, match=f"cannot write in {str(folder)!r} \\((Permission denied|Read-only)"):
        gio.plan_output(folder / "o.csv")
    rc, _, err = _galton(["aggregate", "in.csv", "-m", "mv", "-o", folder / "o.csv", "--debug"], work)
    assert rc == 2 and "cannot write in" in err and "fit" not in err and "Traceback" in err
    assert "_check_place" in err  # refused by plan_output, before anything was read
    assert not (folder / "o.csv").exists()


def test_a_checkpoint_dir_where_nothing_can_be_written_is_refused_before_the_fit(work: Path) -> None:
    """--checkpoint-dir in a read-only place failed after the fit's first iteration, with a raw errno
    naming a hidden temporary ("[Errno 13] Permission denied: 'ro/.DawidSkene-<hex>.npz.<hex>.tmp'"),
    or mkdir's "[Errno 1] Operation not permitted"; it is probed with the outputs (bug hunt)."""
    folder = _unwritable_folder(work)
    for place in (folder, folder / "ck"):  # the folder itself, or a missing one in it
        rc, _, err = _galton(["aggregate", "in.csv", "-m", "ds", "--checkpoint-dir", place, "--debug"], work)
        assert rc == 2 and err.splitlines()[-1].startswith(
            f"galton: error: --checkpoint-dir {str(place)!r}: cannot write in {str(folder)!r} (")
        assert err.splitlines()[-1].endswith("); choose another directory (nothing was read or written)"), err
        assert "check_checkpoint_dir" in err and "read_table" not in err  # before the input was read
    with pytest.raises(gio.OutputError, match=f"checkpoint_dir {str(folder / 'ck')!r}: cannot write in"):
        from galton import DawidSkene

        DawidSkene().fit({"task": [0, 0], "worker": [0, 1], "label": [0, 1]}, checkpoint_dir=folder / "ck")
    assert not (folder / "ck").exists()


@pytest.mark.skipif(not POSIX, reason="ulimit -f")
def test_a_checkpoint_that_cannot_be_saved_is_named_by_its_directory(work: Path) -> None:
    """A checkpoint save that failed (a full disk, here a file size limit) gave the raw errno naming
    the hidden temporary ("[Errno 27] File too large: 'ck/.DawidSkene-<hex>.npz.<hex>.tmp'")."""
    rc, _, err = _galton_limited(["aggregate", "in.csv", "-m", "ds", "--checkpoint-dir", "ck", "-o", "o.csv"], work,
                                 200)
    assert rc == 2 and err == ("galton: error: cannot write a checkpoint in 'ck': File too large; no checkpoint of "
                               "this fit was written\n"), err
    assert os.listdir(work / "ck") == [] and not (work / "o.csv").exists()


@pytest.mark.parametrize("command", [["bench", "--no-plots"], ["bench", "--study", "allocation", "--no-plots"],
                                     ["simulate", "--n-tasks", "10", "--n-workers", "6"]])
def test_a_study_or_simulation_where_nothing_can_be_written_is_refused_before_it_runs(work: Path, command) -> None:
    """``galton bench`` / ``simulate`` with a read-only --out ran the whole study (minutes) or simulation and
    failed at the end; the nearest existing folder of --out is probed first, missing folders below it
    included (bug hunt)."""
    folder = _unwritable_folder(work)
    out = folder / "missing" / "out"
    rc, _, err = _galton([*command, "--out", out, "--debug"], work)
    assert rc == 2 and f"cannot write in {str(folder)!r}" in err, err
    assert "check_place" in err and "run_study" not in err and "_connect" not in err and "replay" not in err
    assert not (folder / "missing").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 (Linux)")
def test_a_directory_output_is_never_missing_even_after_a_sigkill(tmp_path: Path) -> None:
    """A SIGKILL between atomic_dir's two renames (old out of the way, new in) left no output at all,
    the old results only in a hidden ``.<name>.<hex>.old``; the directory is now swapped in one
    atomic step (renameat2 RENAME_EXCHANGE), so a process that dies right after its first rename of
    the output leaves the new output in place (the old one under a hidden name) (bug hunt)."""
    code = """if True:
        import os
        from galton.io import _write, atomic_dir
        with atomic_dir("od") as tmp:
            (tmp / "part-00000.parquet").write_bytes(b"old")

        def dies_after(rename):
            def renamed(src, dst, *flags):
                done = rename(src, dst, *flags)
                if "od" in (os.path.basename(src), os.path.basename(dst)):
                    os._exit(9)  # as SIGKILL: no clean-up at all
                return done
            return renamed

        os.replace = dies_after(os.replace)
        if hasattr(_write, "rename_with"):
            _write.rename_with = dies_after(_write.rename_with)
        with atomic_dir("od") as tmp:
            (tmp / "part-00000.parquet").write_bytes(b"new")
        """
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr
    assert (tmp_path / "od" / "part-00000.parquet").read_bytes() == b"new"
    hidden = [n for n in os.listdir(tmp_path) if n != "od"]
    assert len(hidden) == 1 and hidden[0].startswith(".od.")  # the old results, deletable
    assert (tmp_path / hidden[0] / "part-00000.parquet").read_bytes() == b"old"


@pytest.mark.parametrize("swap", [True, False], ids=["atomic-swap", "two-renames"])
def test_a_directory_another_process_moves_away_meanwhile_is_still_written(tmp_path: Path, swap: bool,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Two commands writing one directory output: 1 run in 12 failed with "[Errno 2] No such file or
    directory: 'od' -> '.od.<hex>.old'" when the other moved the old output away between this one's
    check and its rename; the swap now takes the output as it finds it then (bug hunt)."""
    from galton.io import _write

    if not swap:
        monkeypatch.setattr(_write, "rename_with", lambda *a: False)  # as where renameat2 does not exist
    dest = tmp_path / "od"
    with gio.atomic_dir(dest) as tmp:
        (tmp / "part-00000.parquet").write_bytes(b"old")
    real = _write.check_replaceable
    calls: list[int] = []

    def other_process_moves_it(path: object, kind: object = None) -> None:
        real(path, kind)
        calls.append(1)
        if len(calls) == 2:  # the check just before the swap: the other writer sets the old output aside
            os.replace(dest, tmp_path / ".od.0123456789ab.old")

    monkeypatch.setattr(_write, "check_replaceable", other_process_moves_it)
    with gio.atomic_dir(dest) as tmp:
        (tmp / "part-00000.parquet").write_bytes(b"new")
    assert (dest / "part-00000.parquet").read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == [".od.0123456789ab.old", "od"]  # the other writer's to finish


def test_the_readme_tells_polars_users_how_to_read_a_results_directory(work: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The docs said polars skips hidden files and the ``_galton_output.json`` marker when reading a
    directory; polars 2 reads them ("directory contained paths with different file extensions"). The
    README's way for polars reads a galton results directory, marker and all, and pyarrow's too (bug hunt)."""
    readme = (Path(gio.__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert 'pl.read_parquet("labels_dir/*.parquet")' in readme and 'pq.read_table("labels_dir")' in readme
    rc, _, err = _galton(["aggregate", "in.csv", "-m", "mv", "-o", "labels_dir"], work)
    assert rc == 0 and (work / "labels_dir" / gio.MARKER).is_file(), err
    monkeypatch.chdir(work)
    assert pl.read_parquet("labels_dir/*.parquet").height == N_TASKS == pq.read_table("labels_dir").num_rows
    assert "polars, Spark" not in (Path(gio.__file__).parent / "_write.py").read_text(encoding="utf-8")


def test_an_unknown_format_and_columns_a_text_format_cannot_hold_are_refused(tmp_path):
    """write_table(format="xlsx") wrote CSV into out.parquet; a list column to CSV raised polars'
    ComputeError, and a bytes column to JSON lines a Rust panic (a BaseException) (bug hunt)."""
    from galton.io import write_table

    table = pa.table({"task": [1], "label": ["x"]})
    for fmt in ("xlsx", "Parquet"):
        with pytest.raises(ValueError, match=f"format must be one of csv, jsonl, parquet, tsv, not {fmt!r}"):
            write_table(table, tmp_path / "out.parquet", format=fmt)
    tags = pa.table({"task": [1], "tags": pa.array([["a", "b"]])})
    with pytest.raises(ValueError, match=r"column 'tags' \(list<item: string>\) cannot be written as csv"):
        write_table(tags, tmp_path / "t.csv")
    assert write_table(tags, tmp_path / "t.jsonl").read_text().strip() == '{"task":1,"tags":["a","b"]}'
    with pytest.raises(ValueError, match=r"column 'v' \(binary\) cannot be written as jsonl"):
        write_table(pa.table({"v": pa.array([b"\x00"])}), tmp_path / "b.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]  # nothing else, no temporary


def test_a_directory_written_meanwhile_is_not_replaced_without_overwrite(tmp_path) -> None:
    """overwrite=False was checked only before the block: two `galton simulate --out D` at once (no
    --overwrite) both exited 0, the later one replacing the other's simulation without a word."""
    d = tmp_path / "sim"
    with pytest.raises(gio.WriteError, match=r"written by another process meanwhile; pass overwrite=True"):
        with gio.atomic_dir(d, overwrite=False, kind="simulation") as first:
            (first / "who.txt").write_text("first")
            with gio.atomic_dir(d, overwrite=False, kind="simulation") as second:
                (second / "who.txt").write_text("second")
    assert (d / "who.txt").read_text() == "second"  # the one that finished first is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]  # no temporary left
    with gio.atomic_dir(d, overwrite=True, kind="simulation") as again:  # overwrite=True: the last wins
        (again / "who.txt").write_text("third")
    assert (d / "who.txt").read_text() == "third"


def test_standard_output_with_no_binary_buffer_takes_the_text():
    """``write_table(table, "-")`` where ``sys.stdout`` is a text stream only (Jupyter's OutStream,
    ``contextlib.redirect_stdout`` to a StringIO): it raised AttributeError ('no attribute buffer')."""
    import contextlib
    import io

    table = pa.table({"task": [1, 2], "label": ["é", 'a "b"']})
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert gio.write_table(table, "-") == Path("-")
        gio.write_table(table, "-", format="jsonl")
    assert text.getvalue() == ('task,label\n1,é\n2,"a ""b"""\n'
                               '{"task":1,"label":"é"}\n{"task":2,"label":"a \\"b\\""}\n')
    with contextlib.redirect_stdout(io.StringIO()) as out, pytest.raises(ValueError, match="write Parquet to a file"):
        gio.write_table(table, "-", format="parquet")
    assert out.getvalue() == ""


def test_parquet_results_keep_their_values_and_skip_dictionaries_only_for_floats(tmp_path: Path) -> None:
    """Probability columns are nearly all distinct: written without a dictionary (pyarrow built one,
    then fell back); text and integer columns keep theirs. Every value reads back bit for bit."""
    rng = np.random.default_rng(0)
    p = rng.random(5000)
    table = pa.table({"task": [f"t{i % 300}" for i in range(5000)], "label": rng.integers(0, 3, 5000),
                      "confidence": p, "p_a": np.float32(p), "p_b": -0.0 * p})
    out = gio.write_table(table, tmp_path / "r.parquet")
    assert pq.read_table(out).equals(table)
    meta = pq.ParquetFile(out).metadata.row_group(0)
    dict_cols = {meta.column(i).path_in_schema for i in range(meta.num_columns)
                 if "RLE_DICTIONARY" in meta.column(i).encodings or "PLAIN_DICTIONARY" in meta.column(i).encodings}
    assert dict_cols == {"task", "label"}
