"""The ``galton`` command and its standard streams, run as a real process: standard input redirected
from the file named as the output (``galton aggregate - -o in.csv < in.csv`` replaced the input with
the results), and streams the command is started without (``>&-``, ``<&-``, ``2>&-``: a bare
AttributeError, or exit status 1)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import galton

REPO = Path(galton.__file__).resolve().parent.parent
JUDGMENTS = "task,worker,label\nt1,w1,a\nt1,w2,a\nt1,w3,b\nt2,w1,b\nt2,w2,b\nt2,w3,b\n"


def galton_cmd(args: list[str], cwd: Path, *, stdin=None, close: int | None = None) -> subprocess.CompletedProcess:
    """``python -m galton ARGS`` in ``cwd``; ``stdin``: an open file; ``close``: the standard stream
    (0, 1, 2) the command starts without."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "galton", *args], stdin=stdin, capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120,
                          preexec_fn=None if close is None else (lambda: os.close(close)))


# ---------------------------------------------------------------- standard input redirected from the output
@pytest.mark.parametrize("how", ["itself", "symlink", "hardlink"])
def test_aggregate_refuses_the_output_that_standard_input_is_redirected_from(tmp_path, how):
    src = tmp_path / "in.csv"
    src.write_text(JUDGMENTS)
    out = {"itself": src, "symlink": tmp_path / "sym.csv", "hardlink": tmp_path / "hard.csv"}[how]
    if how == "symlink":
        out.symlink_to(src)
    elif how == "hardlink":
        os.link(src, out)
    with open(src, "rb") as fh:
        proc = galton_cmd(["aggregate", "-", "-m", "mv", "-o", out.name, "-q"], tmp_path, stdin=fh)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"galton: error: --output {out.name!r} is the input (standard input, redirected from it); "
                           "choose another path (nothing was read or written)\n")
    assert src.read_text() == JUDGMENTS  # the input is intact (it was replaced by the results)
    assert out.read_text() == JUDGMENTS


def test_allocate_and_the_worker_report_refuse_the_file_standard_input_is_redirected_from(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(JUDGMENTS)
    for args in (["allocate", "-", "-n", "3", "-m", "mv", "-o", "in.csv", "-q"],
                 ["aggregate", "-", "-m", "mv", "-o", "r.csv", "--workers-output", "in.csv", "-q"]):
        with open(src, "rb") as fh:
            proc = galton_cmd(args, tmp_path, stdin=fh)
        assert proc.returncode == 2, proc.stderr
        assert "'in.csv' is the input (standard input, redirected from it)" in proc.stderr
        assert src.read_text() == JUDGMENTS
        assert not (tmp_path / "r.csv").exists()


def test_a_directory_output_that_holds_the_file_standard_input_is_redirected_from_is_refused(tmp_path):
    first = galton_cmd(["aggregate", "bundled:welinder_bluebirds", "-m", "mv", "-o", "res", "-q"], tmp_path)
    assert first.returncode == 0, first.stderr
    src = tmp_path / "res" / "in.csv"
    src.write_text(JUDGMENTS)
    with open(src, "rb") as fh:
        proc = galton_cmd(["aggregate", "-", "-m", "mv", "-o", "res", "-q"], tmp_path, stdin=fh)
    assert proc.returncode == 2
    assert "--output 'res' contains the input (standard input, redirected from 'in.csv' in it)" in proc.stderr
    assert src.read_text() == JUDGMENTS


def test_standard_input_from_another_file_is_read(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(JUDGMENTS)
    with open(src, "rb") as fh:
        proc = galton_cmd(["aggregate", "-", "-m", "mv", "-o", "r.csv", "-q"], tmp_path, stdin=fh)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert [line.split(",")[:2] for line in lines[1:]] == [["t1", "a"], ["t2", "b"]]  # 2 of 3 say a; 3 of 3 say b


# ---------------------------------------------------------------- closed standard streams
def test_a_closed_standard_output_is_said(tmp_path):
    (tmp_path / "in.csv").write_text(JUDGMENTS)
    proc = galton_cmd(["models"], tmp_path, close=1)
    assert (proc.returncode, proc.stderr) == (2, "galton: error: cannot write to standard output: it is closed\n")
    proc = galton_cmd(["aggregate", "in.csv", "-m", "mv", "-o", "-"], tmp_path, close=1)
    assert proc.returncode == 2
    assert proc.stderr.startswith("galton: error: --output -: cannot write to standard output: it is closed;")
    assert proc.stderr.endswith("(nothing was read or written)\n")


def test_a_closed_standard_input_is_said(tmp_path):
    for args in (["aggregate", "-", "-m", "mv", "-o", "r.csv"], ["allocate", "-", "-n", "2", "-m", "mv"]):
        proc = galton_cmd(args, tmp_path, close=0)
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and "cannot read standard input: it is closed" in proc.stderr, proc.stderr
        assert "AttributeError" not in proc.stderr
    assert not (tmp_path / "r.csv").exists()


def test_a_failure_with_standard_error_closed_still_exits_with_2(tmp_path):
    proc = galton_cmd(["aggregate", "absent.csv", "-o", "r.csv"], tmp_path, close=2)
    assert (proc.returncode, proc.stdout) == (2, "")
    (tmp_path / "in.csv").write_text(JUDGMENTS)
    proc = galton_cmd(["aggregate", "in.csv", "-m", "mv", "-o", "r.csv"], tmp_path, close=2)
    assert proc.returncode == 0 and proc.stdout.startswith("tasks")
    assert (tmp_path / "r.csv").exists()
