"""``galton aggregate`` end to end, bugs found by hunting: a worker report written over the pair
probabilities or into the output directory, --max-iter refused for models that iterate, warnings
under --quiet, a rating error naming the wrong values, a Parquet folder refused for one file's extra
column, a local pattern of Parquet files taken for a missing path, and a symbolic link from one
output to another (one table replaced the other)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from galton.cli import main


def run(argv, capsys):
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def summary(out: str) -> dict[str, str]:
    return {k: v.strip() for k, _, v in (line.partition(" ") for line in out.splitlines())}


def _comparisons(path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = ["worker,left,right,label"]
    for i in range(60):
        a, b = rng.choice(["a", "b", "c", "d"], 2, replace=False)
        rows.append(f"w{i % 5},{a},{b},{a if rng.random() < 0.7 else b}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _judgments(path: Path, k: int = 3) -> Path:
    rows = ["task,worker,label"] + [f"t{t},w{w},{(t + (w == 2)) % k}" for t in range(20) for w in range(3)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_the_worker_report_may_not_take_the_pair_probabilities_place(tmp_path, capsys):
    src = _comparisons(tmp_path / "cmp.csv")
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "s.csv", "--workers-output", tmp_path / "s_pairs.csv"],
                     capsys)
    assert rc == 2 and "is where the pair probabilities of --output go (s_pairs.csv)" in err
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "s_pairs.csv").exists()  # refused before the fit
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "s.csv", "--workers-output", tmp_path / "w.csv"], capsys)
    assert rc == 0, err
    assert (tmp_path / "s_pairs.csv").read_text().startswith("left,right,")  # the pairs, not the report
    assert (tmp_path / "w.csv").read_text().startswith("worker,")


def test_a_link_between_two_outputs_is_refused(tmp_path, capsys):
    """An output that is a symbolic link is written through to its target: a link from the pair
    probabilities' name to the worker report (or to --output) had one table replace the other, exit 0."""
    src = _comparisons(tmp_path / "cmp.csv")
    (tmp_path / "s_pairs.csv").symlink_to("w.csv")
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "s.csv", "--workers-output", tmp_path / "w.csv"], capsys)
    assert rc == 2 and "is where the pair probabilities of --output go" in err
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "w.csv").exists()
    (tmp_path / "o_pairs.csv").symlink_to("o.csv")
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "o.csv"], capsys)
    assert rc == 2 and "o_pairs.csv, where the pair probabilities of --output go, is a link" in err
    assert not (tmp_path / "o.csv").exists()
    (tmp_path / "wl.csv").symlink_to("x.csv")  # --workers-output a link to --output
    rc, _, err = run(["aggregate", _judgments(tmp_path / "j.csv"), "-o", tmp_path / "x.csv",
                      "--workers-output", tmp_path / "wl.csv"], capsys)
    assert rc == 2 and "same file" in err and not (tmp_path / "x.csv").exists()


def test_the_worker_report_may_not_go_inside_the_output_directory(tmp_path, capsys):
    src = _judgments(tmp_path / "j.csv")
    rc, _, err = run(["aggregate", src, "-m", "ds", "-o", tmp_path / "rd", "--workers-output",
                      tmp_path / "rd" / "w.csv", "-q"], capsys)
    assert rc == 2 and "lies inside the --output directory" in err and not (tmp_path / "rd").exists()


@pytest.mark.parametrize("model, data", [("catd", "ratings"), ("bt", "comparisons"), ("kos", "judgments")])
def test_max_iter_limits_the_models_whose_limit_is_n_iter(tmp_path, capsys, model, data):
    if data == "ratings":
        rng = np.random.default_rng(1)
        lines = ["task,worker,label"] + [f"t{t},w{w},{rng.normal():.3f}" for t in range(30) for w in range(4)]
        (src := tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    else:
        src = _comparisons(tmp_path / "c.csv") if data == "comparisons" else _judgments(tmp_path / "j.csv", k=2)
    tol = [] if model == "kos" else ["--param", "tol=0"]  # KOS runs its n_iter message passes
    rc, out, err = run(["aggregate", src, "-m", model, "--max-iter", "2", *tol], capsys)
    assert rc == 0, err  # it was refused: "(it is not an iterative model)"
    assert summary(out)["iterations"] == "2"
    rc, _, err = run(["aggregate", src, "-m", model, "--max-iter", "2", *tol, "-q"], capsys)
    assert rc == 0 and err == ""  # --quiet: no ConvergenceWarning either (it was printed for these kinds)


def test_a_rating_that_is_no_number_is_named_with_its_row(tmp_path, capsys):
    lines = ["task,worker,label"] + [f"t{t},w{w},{t + w / 10}" for t in range(5) for w in range(3)] + ["t5,w1,abc"]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    rc, _, err = run(["aggregate", tmp_path / "r.csv", "--kind", "rating"], capsys)
    assert rc == 2
    assert "holds non-numeric values in 1 row(s) ('abc'; rows 15)" in err


def _parquet_folder(path: Path, extra_in_second: dict) -> Path:
    path.mkdir()
    pq.write_table(pa.table({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": [0, 0, 1, 1]}),
                   path / "a.parquet")
    pq.write_table(pa.table({"task": [3, 3], "worker": ["a", "b"], **extra_in_second}), path / "b.parquet")
    return path


def test_a_parquet_folder_with_an_extra_column_in_one_file_reads(tmp_path, capsys):
    folder = _parquet_folder(tmp_path / "pq", {"label": [1, 0], "comment": ["x", "y"]})
    for cmd in (["aggregate", folder, "-m", "mv", "-o", "-", "-q"], ["agreement", folder, "--bootstrap", "0"]):
        rc, out, err = run(cmd, capsys)
        assert rc == 0, err
    rc, out, _ = run(["aggregate", folder, "-m", "mv", "-o", "-", "-q"], capsys)
    assert out.splitlines()[0].startswith("task,label") and len(out.splitlines()) == 4
    # a file without a needed column is named, not the good file
    lacking = _parquet_folder(tmp_path / "nolabel", {})
    rc, _, err = run(["aggregate", lacking, "-m", "mv", "-o", "-", "-q"], capsys)
    assert rc == 2 and f"Column 'label' is in some of the input's Parquet files but not in " \
                       f"'{lacking / 'b.parquet'}'" in err


def test_a_local_pattern_of_parquet_files(tmp_path, capsys):
    folder = _parquet_folder(tmp_path / "pq", {"label": [1, 0]})
    rc, out, err = run(["aggregate", f"{folder}/*.parquet", "-m", "mv", "-o", "-", "-q"], capsys)
    assert rc == 0, err  # it said "input path ... does not exist"
    rc2, whole, _ = run(["aggregate", folder, "-m", "mv", "-o", "-", "-q"], capsys)
    assert out == whole
    (folder / "notes.csv").write_text("task,worker,label\n")
    rc, _, err = run(["aggregate", f"{folder}/*", "-m", "mv", "-o", "-", "-q"], capsys)
    assert rc == 2 and "matches 1 file(s) that are not Parquet" in err


def test_rating_output_keeps_the_standard_errors(tmp_path, capsys):
    import galton

    rng = np.random.default_rng(2)
    lines = ["task,worker,label"] + [f"t{t},w{w},{rng.normal():.3f}" for t in range(10) for w in range(4)]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    rc, _, err = run(["aggregate", tmp_path / "r.csv", "-m", "rating_mean", "-o", tmp_path / "o.parquet", "-q"], capsys)
    assert rc == 0, err
    got = pq.read_table(tmp_path / "o.parquet")
    ref = galton.aggregate(str(tmp_path / "r.csv"), "rating_mean", kind="rating", output="arrow").intervals_
    assert got.column_names == ["task", "score", "se", "lower", "upper"]  # it wrote task, score only
    assert got.equals(ref.select(got.column_names))


_IN_BIND_MOUNT = r"""
import json, sys
from galton.cli import main
from contextlib import redirect_stderr
import io
got = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with redirect_stderr(err):
        rc = main(argv)
    got.append([rc, err.getvalue()])
print(json.dumps(got))
"""


def _in_bind_mount(src: Path, dst: Path, argvs: list[list[str]]) -> list[tuple[int, str]]:
    """Run ``galton`` with each argv in a process that sees ``dst`` as a bind mount of ``src`` (a
    mount namespace of its own: root, or an unprivileged user namespace); skipped where neither is
    allowed."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("no unshare / mount here")
    repo = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))}
    script = 'mount --bind "$1" "$2" || exit 77; shift 2; exec "$@"'
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", str(src), str(dst), sys.executable, "-c",
                           _IN_BIND_MOUNT, json.dumps(argvs)], capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        pytest.skip(f"no bind mount here (unshare -rm: {proc.stderr.strip()[-200:]})")
    return [tuple(x) for x in json.loads(proc.stdout.splitlines()[-1])]


def test_two_outputs_that_are_one_file_through_a_bind_mount_are_refused(tmp_path):
    """One directory under two names (a bind mount): resolved paths differ, so --output and
    --workers-output (or PATH and --gold) passed as different files and the second written replaced
    the first, exit 0: the results file held the worker table."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir(), dst.mkdir()
    assert main(["aggregate", "bundled:act_cf", "-m", "mv", "-o", str(src / "rd"), "-q"]) == 0  # a results folder
    rd = sorted(p.name for p in (src / "rd").iterdir())
    got = _in_bind_mount(src, dst, [
        ["aggregate", "bundled:act_cf", "-m", "mv", "-o", str(src / "r.csv"), "--workers-output", str(dst / "r.csv")],
        ["datasets", "export", "act_cf", str(src / "x.csv"), "--gold", str(dst / "x.csv")],
        ["aggregate", "bundled:act_cf", "-m", "mv", "-o", str(src / "rd"), "--workers-output",
         str(dst / "rd" / "w.csv")],
        ["aggregate", "bundled:act_cf", "-m", "ds", "-o", str(src / "rd"), "--checkpoint-dir", str(dst / "rd")],
        # two names of one directory, two files in it: both written
        ["aggregate", "bundled:act_cf", "-m", "mv", "-o", str(src / "r.csv"), "--workers-output", str(dst / "w.csv")],
    ])
    assert got[0][0] == 2 and "--workers-output and --output name the same file" in got[0][1]
    assert got[1][0] == 2 and "must be different files" in got[1][1]
    assert got[2][0] == 2 and "lies inside the --output directory" in got[2][1]
    assert got[3][0] == 2 and "--checkpoint-dir" in got[3][1] and "is --output" in got[3][1]
    assert got[4][0] == 0, got[4][1]
    assert sorted(p.name for p in src.iterdir()) == ["r.csv", "rd", "w.csv"]
    assert (src / "r.csv").read_text().startswith("task,") and (src / "w.csv").read_text().startswith("worker,")
    assert sorted(p.name for p in (src / "rd").iterdir()) == rd  # neither a worker report nor checkpoints in it


def test_two_new_outputs_whose_names_differ_only_in_case_are_refused_where_case_is_ignored(tmp_path, capsys,
                                                                                           monkeypatch):
    """On a file system that ignores case (macOS's and Windows' defaults) Labels.csv and labels.csv
    are one file: two such outputs not written yet passed (samefile cannot compare a missing file)
    and the second replaced the first, exit 0. The directory is asked whether it ignores case."""
    from galton.io import _plan

    src = _judgments(tmp_path / "j.csv")
    asked = []
    monkeypatch.setattr(_plan, "ignores_case", lambda p: asked.append(Path(p).parent) or True, raising=False)
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "Labels.csv", "--workers-output", tmp_path / "labels.csv"],
                     capsys)
    assert rc == 2 and "--workers-output and --output name the same file" in err
    rc, _, err = run(["datasets", "export", "act_cf", tmp_path / "Judgments.csv", "--gold", tmp_path / "judgments.csv"],
                     capsys)
    assert rc == 2 and "must be different files" in err
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "new" / "R.csv", "--workers-output",
                      tmp_path / "NEW" / "r.csv"], capsys)  # a folder not made yet, named in two cases
    assert rc == 2 and "name the same file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.csv"]  # refused before anything was written
    assert asked == [tmp_path, tmp_path, tmp_path / "new"]
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "R.csv", "--workers-output", tmp_path / "w.csv"], capsys)
    assert rc == 0 and len(asked) == 3  # names that differ by more than case: nothing to ask


def test_the_case_probe_asks_the_file_system_and_leaves_nothing(tmp_path, capsys):
    """The probe itself on this case-sensitive temporary directory (Linux): False, no file left, and
    two outputs whose names differ only in case both written."""
    from galton.io._plan import ignores_case, same_output

    (tmp_path / "d").mkdir()
    probe = tmp_path / "d" / "x.csv"
    if os.path.exists(str(tmp_path).swapcase()) or sys.platform in ("darwin", "win32"):
        pytest.skip("this temporary directory may ignore case")
    assert not ignores_case(probe) and not ignores_case(tmp_path / "d" / "new" / "deeper" / "x.csv")
    assert list((tmp_path / "d").iterdir()) == []
    assert not same_output(tmp_path / "d" / "R.csv", tmp_path / "d" / "r.csv")
    src = _judgments(tmp_path / "j.csv")
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "Labels.csv", "--workers-output", tmp_path / "labels.csv"],
                     capsys)
    assert rc == 0, err
    assert (tmp_path / "Labels.csv").read_text().startswith("task,") and \
        (tmp_path / "labels.csv").read_text().startswith("worker,")


def test_a_reader_that_leaves_early_does_not_leave_the_other_outputs_stale(tmp_path):
    """``galton aggregate ... -o - --workers-output ww.csv | head -1``: the worker report does not
    depend on standard output; it was discarded at the closed pipe, and ww.csv kept its old content
    with no word. A full disk on standard output still replaces nothing, and says so."""
    import os
    import subprocess
    import sys

    report = tmp_path / "ww.csv"
    report.write_text("old\n")
    cmd = [sys.executable, "-m", "galton", "aggregate", "bundled:zheng_d_product", "-m", "mv", "-o", "-",
           "--workers-output", str(report), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"task,label")
    proc.stdout.close()  # the reader leaves; 8,315 rows are still to come
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and err == b""  # quiet, as a process killed by SIGPIPE
    lines = report.read_text().splitlines()  # was "old"
    assert lines[0].startswith("worker,") and len(lines) > 100
    if os.path.exists("/dev/full"):
        report.write_text("old\n")
        with open("/dev/full", "wb") as full:
            done = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, timeout=120)
        assert done.returncode != 0 and report.read_text() == "old\n"
        assert b"cannot write to standard output: No space left on device; nothing was replaced" in done.stderr


def test_an_output_that_ends_with_a_separator_names_a_directory(tmp_path, capsys):
    """``-o out.csv/`` wrote a file out.csv (``Path`` drops the slash, where a shell fails) and
    ``-o results.v1/`` was refused as an unknown format: a name that ends with a separator is a
    directory, as a name without an extension is (a Parquet directory); where a file is needed, refused."""
    from galton.io import read_input, write_table

    src = _judgments(tmp_path / "j.csv")
    assert run(["aggregate", src, "-m", "mv", "-o", tmp_path / "file.csv", "-q"], capsys)[0] == 0
    expected = read_input(tmp_path / "file.csv")
    for name in ("out.csv", "results.v1"):
        assert run(["aggregate", src, "-m", "mv", "-o", f"{tmp_path / name}/", "-q"], capsys)[0] == 0
        assert (tmp_path / name).is_dir()  # was a CSV file out.csv; "cannot tell the output format" for results.v1
        assert read_input(tmp_path / name).to_pylist() == expected.to_pylist()
    rc, _, err = run(["aggregate", src, "-m", "mv", "-o", tmp_path / "r.csv", "--workers-output",
                      f"{tmp_path / 'w.csv'}/"], capsys)
    assert rc == 2 and "--workers-output must be a file" in err
    rc, _, err = run(["aggregate", _comparisons(tmp_path / "c.csv"), "-o", f"{tmp_path / 'p.csv'}/"], capsys)
    assert rc == 2 and "--output for pairwise data must be a file" in err
    rc, _, err = run(["allocate", src, "--budget", "1", "-o", f"{tmp_path / 'n.csv'}/"], capsys)
    assert rc == 2 and f"--output '{tmp_path / 'n.csv'}/': " in err and "which names a directory" in err
    with pytest.raises(ValueError, match="ends with '/', which names a directory"):
        write_table(pa.table({"a": [1]}), f"{tmp_path / 'z.csv'}/", format="csv")
    assert not any((tmp_path / n).exists() for n in ("w.csv", "r.csv", "p.csv", "n.csv", "z.csv"))


def test_the_bundled_files_a_command_reads_are_never_its_output(tmp_path: Path, capsys, monkeypatch) -> None:
    """Bug hunt: ``galton datasets export act_cf <bundle>/act_cf/gold.parquet`` and ``galton aggregate
    bundled:act_cf -o <bundle>/act_cf/judgments.parquet`` wrote over the installed dataset (it then no
    longer loaded: "missing column(s) ['worker']"), where the same file given by its path is refused.
    Run on a copy of one bundled dataset, the package's own left alone."""
    import shutil

    from galton import datasets
    from galton.datasets import _bundled

    copy = tmp_path / "data"
    for name in ("act_cf", "act_ms"):
        shutil.copytree(Path(_bundled.DATA_DIR) / name, copy / name)
    monkeypatch.setattr(_bundled, "DATA_DIR", copy)
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    judgments, gold = copy / "act_cf" / "judgments.parquet", copy / "act_cf" / "gold.parquet"
    for argv in (["datasets", "export", "act_cf", gold],
                 ["datasets", "export", "act_cf", tmp_path / "x.csv", "--gold", judgments],
                 ["aggregate", "bundled:act_cf", "-m", "mv", "-o", judgments],
                 ["aggregate", "bundled:act_cf", "-m", "mv", "-o", copy / "act_cf"],
                 ["datasets", "export", "act_cf", copy / "act_ms" / "judgments.parquet"],  # another dataset's
                 ["aggregate", "bundled:act_cf", "-m", "mv", "-o", copy / "act_ms" / "judgments.parquet"]):
        rc, _, err = run(argv, capsys)
        assert rc == 2 and "input" in err, (argv, err)
    with pytest.raises(Exception, match="input"):
        datasets.export("act_cf", judgments, table="gold")
    with pytest.raises(Exception, match="input"):
        datasets.export("act_cf", copy / "act_ms" / "judgments.parquet")
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before
    assert not (tmp_path / "x.csv").exists()
    assert datasets.load("act_cf").judgments.columns == ["task", "worker", "label"]


@pytest.mark.parametrize("out", [".", ".."])
def test_the_current_directory_or_one_holding_it_is_refused_as_an_output_before_any_work(
        tmp_path: Path, capsys, monkeypatch, out: str) -> None:
    """Bug hunt: ``galton simulate --out .`` failed once Ray had started ("PosixPath('.') has an empty
    name"); ``--out ..`` ran the whole simulation, then blamed its own temporary as a stranger's file.
    Both are refused up front, by what they are; ``aggregate -o .`` too."""
    here = tmp_path / "sim" / "judgments"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    what = "the current directory" if out == "." else "a directory that holds the current one"
    rc, _, err = run(["simulate", "--n-tasks", "20", "--n-workers", "6", "--out", out, "--overwrite", "-q"], capsys)
    assert rc == 2 and what in err, err
    data = tmp_path / "j.csv"
    data.write_text("task,worker,label\n1,a,x\n1,b,y\n")
    rc, _, err = run(["aggregate", data, "-m", "mv", "-o", out, "-q"], capsys)
    assert rc == 2 and what in err, err
    assert sorted(os.listdir(tmp_path)) == ["j.csv", "sim"] and os.listdir(here) == []
