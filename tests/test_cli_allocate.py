"""``galton allocate``: the ranked table of judgments to ask for next, written atomically."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from galton.cli import main

COLUMNS = ["task", "rank", "strategy", "score", "label", "confidence", "judgments"]


def run(argv: list[Any], capsys: Any) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture
def judgments(tmp_path: Path) -> Path:
    rows = [("sure", f"w{i}", "cat") for i in range(5)] + [("split", "w0", "dog"), ("split", "w1", "dog"),
                                                            ("split", "w2", "cat"), ("split", "w3", "cat")]
    rows += [("one", "w4", "dog"), ("two", "w0", "cat"), ("two", "w1", "cat")]
    src = tmp_path / "in" / "judgments.csv"
    src.parent.mkdir()
    pd.DataFrame(rows, columns=["task", "worker", "label"]).to_csv(src, index=False)
    return src


def _entries(d: Path) -> list[str]:
    return sorted(os.listdir(d))


@pytest.mark.parametrize("name", ["next.csv", "next.parquet"])
def test_writes_the_ranked_table(judgments: Path, tmp_path: Path, capsys: Any, name: str) -> None:
    out = tmp_path / name
    rc, stdout, err = run(["allocate", judgments, "--budget", 2, "--model", "mv", "--output", out], capsys)
    assert rc == 0, err
    table = pd.read_csv(out) if name.endswith(".csv") else pq.read_table(out).to_pandas()
    assert list(table.columns) == COLUMNS
    assert table["task"].tolist()[0] == "split" and table["rank"].tolist() == [1, 2]
    assert "2 judgment(s) to ask for by eig" in stdout
    assert _entries(tmp_path) == sorted(["in", name])  # no temporary left


def test_uniform_and_workers_on_standard_output(judgments: Path, capsys: Any) -> None:
    rc, stdout, err = run(["allocate", judgments, "-n", 2, "--strategy", "uniform", "--model", "mv"], capsys)
    assert rc == 0, err
    table = pd.read_csv(io.StringIO(stdout))
    assert table["task"].tolist() == ["one", "two"]
    rc, stdout, err = run(["allocate", judgments, "-n", 3, "--model", "mv", "--workers", "w4,w0", "-o", "-"], capsys)
    assert rc == 0, err
    table = pd.read_csv(io.StringIO(stdout))
    assert list(table.columns) == ["task", "worker", *COLUMNS[1:]] and set(table["worker"]) <= {"w4", "w0"}


def test_pairwise_input_gives_pairs(tmp_path: Path, capsys: Any) -> None:
    src = tmp_path / "pairs.csv"
    pd.DataFrame({"worker": list("abcabc"), "left": list("xxyyzx"), "right": list("yzzxxz"),
                  "label": list("xxyxzz")}).to_csv(src, index=False)
    out = tmp_path / "next.csv"
    rc, _, err = run(["allocate", src, "--budget", 2, "--output", out], capsys)
    assert rc == 0, err
    assert list(pd.read_csv(out).columns) == ["left", "right", "rank", "strategy", "score", "p_left", "judgments"]


def test_pairwise_workers_from_a_list_or_a_file(tmp_path: Path, capsys: Any) -> None:
    src = tmp_path / "pairs.csv"
    df = pd.DataFrame({"worker": list("aabbc"), "left": list("xyxzw"), "right": list("yzwwx"), "label": list("xyxww")})
    df.to_csv(src, index=False)
    rc, listed, err = run(["allocate", src, "-n", 8, "--model", "crowd_bt", "--workers", "a,b", "--per-worker", 3,
                           "-q"], capsys)
    assert rc == 0, err
    ids = tmp_path / "workers.txt"
    ids.write_text("worker\na\n\nb\n")
    rc, from_file, err = run(["allocate", src, "-n", 8, "--model", "crowd_bt", "--workers", ids, "--per-worker", 3,
                              "-q"], capsys)
    assert rc == 0, err
    assert from_file == listed
    table = pd.read_csv(io.StringIO(listed))
    assert list(table.columns) == ["left", "right", "worker", "rank", "strategy", "score", "p_left", "judgments"]
    assert set(table["worker"]) == {"a", "b"} and table["worker"].value_counts().max() <= 3
    compared = {(frozenset((l, r)), w) for w, l, r in zip(df["worker"], df["left"], df["right"])}
    assert not {(frozenset((l, r)), w) for l, r, w in zip(table["left"], table["right"], table["worker"])} & compared
    empty = tmp_path / "none.txt"
    empty.write_text("worker\n")
    rc, _, err = run(["allocate", src, "-n", 1, "--workers", empty], capsys)
    assert rc == 2 and "is empty" in err


@pytest.mark.parametrize("extra,message", [
    (["--workers", "nobody"], "'nobody'"), (["--budget", "0"], "--budget must be >= 1"),
    (["--model", "nope"], "unknown model"),
])
def test_a_failure_leaves_no_file_and_no_temporary(judgments: Path, tmp_path: Path, capsys: Any,
                                                   extra: list[str], message: str) -> None:
    out = tmp_path / "next.csv"
    argv = ["allocate", judgments, "--output", out, *(extra if "--budget" in extra else ["--budget", 1, *extra])]
    rc, _, err = run(argv, capsys)
    assert rc == 2 and message in err and err.startswith("galton: error:")
    assert _entries(tmp_path) == ["in"]


def test_never_writes_over_its_input(judgments: Path, capsys: Any) -> None:
    before = judgments.read_bytes()
    rc, _, err = run(["allocate", judgments, "--budget", 1, "--output", judgments], capsys)
    assert rc == 2 and "galton: error:" in err
    assert judgments.read_bytes() == before


def test_integer_worker_ids(tmp_path: Path, capsys: Any) -> None:
    src = tmp_path / "j.csv"
    pd.DataFrame({"task": [1, 1, 2, 2, 3], "worker": [7, 8, 7, 8, 7], "label": [0, 1, 1, 1, 0]}).to_csv(src, index=False)
    rc, stdout, err = run(["allocate", src, "-n", 2, "--model", "mv", "--workers", "8"], capsys)
    assert rc == 0, err
    table = pd.read_csv(io.StringIO(stdout))
    assert table["worker"].tolist() == [8] and table["task"].tolist() == [3]  # 8 judged tasks 1 and 2


def test_column_options_name_the_input_columns(judgments: Path, tmp_path: Path, capsys: Any) -> None:
    """--task-col / --worker-col / --label-col read other column names and give the same ranking."""
    other = tmp_path / "renamed.csv"
    pd.read_csv(judgments).rename(columns={"task": "item", "worker": "rater", "label": "answer"}).to_csv(
        other, index=False)
    rc, want, err = run(["allocate", judgments, "--budget", 3, "--model", "ds", "-q"], capsys)
    assert rc == 0, err
    rc, got, err = run(["allocate", other, "--budget", 3, "--model", "ds", "-q", "--task-col", "item",
                        "--worker-col", "rater", "--label-col", "answer"], capsys)
    assert rc == 0, err
    assert got == want and got.startswith("task,")
    rc, _, err = run(["allocate", other, "--budget", 3, "--task-col", "nope", "--worker-col", "rater",
                      "--label-col", "answer"], capsys)
    assert rc == 2 and "missing column(s) ['nope']" in err and err.count("\n") == 1


def test_param_configures_the_model_as_the_python_call_does(judgments: Path, capsys: Any) -> None:
    """``--param`` builds the model with those parameters (and --seed): the same table as
    ``galton.allocate`` with that model object; without --model it configures the default; a name
    the model lacks is refused with its parameters."""
    import galton

    data = pd.read_csv(judgments)
    for argv, model, plain in [(["-m", "ds", "--param", "stopping=likelihood", "--param", "n_iter=3"],
                                galton.DawidSkene(stopping="likelihood", n_iter=3, random_state=0), "ds"),
                               (["--param", "prior_strength=2"],
                                galton.BayesianDawidSkene(prior_strength=2, random_state=0), None)]:
        rc, stdout, err = run(["allocate", judgments, "-n", 3, *argv], capsys)
        assert rc == 0, err
        got = pd.read_csv(io.StringIO(stdout))
        want = galton.allocate(data, 3, model=model).reset_index(drop=True)
        assert got["task"].tolist() == want["task"].tolist()
        assert got["score"].to_numpy() == pytest.approx(want["score"].to_numpy(), rel=1e-6, abs=1e-8)  # DS: ~1e-7
        unconfigured = galton.allocate(data, 3, model=plain)  # the parameters change the table
        assert got["task"].tolist() != unconfigured["task"].tolist() or \
            got["score"].to_numpy() != pytest.approx(unconfigured["score"].to_numpy(), rel=1e-2)
    rc, _, err = run(["allocate", judgments, "-n", 3, "-m", "mv", "--param", "n_iter=3"], capsys)
    assert rc == 2 and "model 'mv' has no parameter 'n_iter' for --param" in err


def test_on_invalid_drop_drops_the_rows_with_a_missing_value(judgments: Path, tmp_path: Path, capsys: Any) -> None:
    """The null error's hint, --on-invalid drop, is an option of allocate: the rows with a missing
    label are left out, and the table equals the one of the file without them."""
    holes = tmp_path / "holes.csv"
    data = pd.read_csv(judgments)
    pd.concat([data, pd.DataFrame({"task": ["split", "sure"], "worker": ["w9", "w8"], "label": [None, None]})]
              ).to_csv(holes, index=False)
    rc, _, err = run(["allocate", holes, "-n", 2, "-m", "ds"], capsys)
    assert rc == 2 and "pass --on-invalid drop" in err
    rc, got, err = run(["allocate", holes, "-n", 2, "-m", "ds", "--on-invalid", "drop"], capsys)
    assert rc == 0, err
    rc, want, err = run(["allocate", judgments, "-n", 2, "-m", "ds"], capsys)
    assert rc == 0, err
    assert got == want and got.startswith("task,")


def test_a_file_without_rows_is_refused_as_by_aggregate(tmp_path: Path, capsys: Any) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("task,worker,label\n")
    rc, _, err = run(["allocate", empty, "-n", 1], capsys)
    assert rc == 2 and "holds no judgments (0 rows)" in err and "argmax" not in err
    assert err.count("\n") == 1


def test_one_column_for_two_roles_is_refused(judgments: Path, capsys: Any) -> None:
    rc, _, err = run(["allocate", judgments, "-n", 1, "--worker-col", "task"], capsys)
    assert rc == 2 and "--worker-col 'task' is also the task column; each of --task-col, --worker-col, " \
                       "--label-col must name its own column" in err


def test_categorical_columns_with_left_and_right_are_ambiguous_without_a_model(tmp_path: Path,
                                                                                capsys: Any) -> None:
    """task, worker, label plus left / right metadata: no guess (pairwise would reject every row);
    --model's kind chooses."""
    src = tmp_path / "meta.csv"
    pd.DataFrame({"task": ["a", "a", "b", "b"], "worker": ["w1", "w2", "w1", "w2"], "label": ["x", "y", "x", "x"],
                  "left": ["p", "p", "q", "q"], "right": ["q", "q", "p", "p"]}).to_csv(src, index=False)
    rc, _, err = run(["allocate", src, "-n", 1], capsys)
    assert rc == 2 and "is ambiguous" in err and "--on-invalid" not in err
    rc, stdout, err = run(["allocate", src, "-n", 1, "-m", "mv"], capsys)
    assert rc == 0, err
    assert stdout.startswith("task,")


def test_per_worker_without_workers_is_refused(judgments: Path, capsys: Any) -> None:
    """--per-worker limits the rows of the --workers given; alone it limited nothing, silently."""
    rc, _, err = run(["allocate", judgments, "--budget", "3", "--per-worker", "1"], capsys)
    assert rc == 2 and "--per-worker limits the rows given to each worker of --workers" in err


def test_window_is_for_pairwise_data_and_counts_are_checked_by_option(judgments: Path, capsys: Any) -> None:
    """--window changed nothing on categorical data, without a word; counts below 1 were refused in
    the Python argument's name (per_task must be ...)."""
    rc, _, err = run(["allocate", judgments, "--budget", "3", "--window", "3"], capsys)
    assert rc == 2 and "--window is for pairwise data" in err
    for option in ("--per-task", "--window"):
        rc, _, err = run(["allocate", judgments, "--budget", "3", option, "0"], capsys)
        assert rc == 2 and f"{option} must be >= 1, not 0" in err


def test_workers_a_missing_file_is_refused_and_a_file_keeps_quoted_commas(tmp_path: Path, capsys: Any) -> None:
    """A mistyped file name became a rater id (plain Bradley-Terry welcomes new raters, exit 0), and a
    file's lines were joined and split on commas ("Smith, J" became two ids)."""
    src = tmp_path / "pairs.csv"
    pd.DataFrame({"worker": ["Smith, J", "b", "b"], "left": list("xyz"), "right": list("yzx"),
                  "label": list("xzz")}).to_csv(src, index=False)
    rc, _, err = run(["allocate", src, "-n", 3, "--workers", tmp_path / "raters.txt"], capsys)
    assert rc == 2 and "no such file" in err
    ids = tmp_path / "ids.txt"
    ids.write_text('worker\n"Smith, J"\nb\n')
    rc, out, err = run(["allocate", src, "-n", 6, "--model", "crowd_bt", "--workers", ids, "-q"], capsys)
    assert rc == 0, err
    assert set(pd.read_csv(io.StringIO(out))["worker"]) <= {"Smith, J", "b"}


def test_never_writes_over_its_workers_file(judgments: Path, tmp_path: Path, capsys: Any) -> None:
    """``--workers workers.csv -o workers.csv`` replaced the list of workers with the ranked table: the
    --workers file was no input to the output check (bug hunt)."""
    ids = tmp_path / "workers.csv"
    ids.write_text("worker\nw0\nw1\n")
    rc, _, err = run(["allocate", judgments, "--budget", 1, "--workers", ids, "--output", ids], capsys)
    assert rc == 2 and f"--output {str(ids)!r} is the input" in err
    assert ids.read_text() == "worker\nw0\nw1\n" and _entries(tmp_path) == ["in", "workers.csv"]


def test_max_memory_limits_the_workers_table(tmp_path: Path, capsys: Any) -> None:
    """``galton allocate`` had no --max-memory, and the refusal of a too-large workers table (see
    test_allocate) names it: 3000 tasks x 50 workers (13.7 MiB) under --max-memory 5M."""
    src = tmp_path / "wide.csv"
    rows = [(t, (t * 7 + j * 13) % 50, (t + j) % 2) for t in range(3000) for j in range(3)]
    pd.DataFrame(rows, columns=["task", "worker", "label"]).to_csv(src, index=False)
    workers = ",".join(str(w) for w in range(50))
    rc, _, err = run(["allocate", src, "-n", 2, "-m", "mv", "--workers", workers, "--max-memory", "5M"], capsys)
    assert rc == 2 and "among 50 workers would need about 13.7 MiB" in err and "(--max-memory 5M)" in err, err
    rc, out, err = run(["allocate", src, "-n", 2, "-m", "mv", "--workers", workers, "--max-memory", "20M"], capsys)
    assert rc == 0 and len(pd.read_csv(io.StringIO(out))) == 2, err
    rc, _, err = run(["allocate", src, "-n", 2, "--max-memory", "10X"], capsys)
    assert rc == 2 and "--max-memory: cannot read '10X'" in err


def test_output_help_names_what_writes_to_standard_output(judgments: Path, tmp_path: Path, capsys: Any) -> None:
    """--help said "- or none: CSV on standard output" but -o none was refused; galton aggregate -o none
    writes a Parquet directory named none, so none is a name here too and the help says - or no --output."""
    rc, stdout, _ = run(["allocate", "--help"], capsys)
    helped = " ".join(stdout.split())
    assert rc == 0 and "- (or no --output): CSV on standard output" in helped and "- or none" not in helped
    rc, omitted, _ = run(["allocate", judgments, "-n", 2, "--model", "mv"], capsys)
    rc2, dash, _ = run(["allocate", judgments, "-n", 2, "--model", "mv", "-o", "-"], capsys)
    assert rc == rc2 == 0 and omitted == dash and omitted.startswith("task,")
    rc, _, err = run(["allocate", judgments, "-n", 2, "--model", "mv", "-o", tmp_path / "none"], capsys)
    assert rc == 2 and "pass --output - or leave --output out" in err and not (tmp_path / "none").exists()


def test_workers_naming_a_directory_is_refused(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    """--workers raters (an existing directory) became the rater id 'raters' (exit 0 with rows for a
    rater nobody has): it is refused, saying what to give."""
    src = tmp_path / "pairs.csv"
    pd.DataFrame({"worker": ["a", "b", "b"], "left": list("xyz"), "right": list("yzx"),
                  "label": list("xzz")}).to_csv(src, index=False)
    (tmp_path / "raters").mkdir()
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(["allocate", "pairs.csv", "-n", 2, "--model", "crowd_bt", "--workers", "raters"], capsys)
    assert rc == 2 and out == "", out
    assert "--workers 'raters' names a directory; give the worker ids, comma-separated, or a text file" in err
    rc, out, err = run(["allocate", "pairs.csv", "-n", 2, "--model", "crowd_bt", "--workers", "a,b", "-q"], capsys)
    assert rc == 0 and set(pd.read_csv(io.StringIO(out))["worker"]) <= {"a", "b"}, err


@pytest.mark.parametrize("header", ["worker\n", ""])
def test_workers_file_with_a_byte_order_mark(judgments: Path, tmp_path: Path, capsys: Any, header: str) -> None:
    """A --workers file saved by Notepad as "UTF-8 with BOM": its first id (or its header) is no id with a
    BOM before it (was "workers has 1 id(s) with no judgments in the data ('\\ufeffworker')")."""
    ids = tmp_path / "workers.txt"
    ids.write_bytes(b"\xef\xbb\xbf" + f"{header}w4\nw0\n".encode())
    rc, from_file, err = run(["allocate", judgments, "-n", 3, "--model", "mv", "--workers", ids, "-o", "-"], capsys)
    assert rc == 0, err
    rc, listed, err = run(["allocate", judgments, "-n", 3, "--model", "mv", "--workers", "w4,w0", "-o", "-"], capsys)
    assert rc == 0, err
    assert from_file == listed and set(pd.read_csv(io.StringIO(listed))["worker"]) == {"w4", "w0"}


# -------------------------------------------------------------------------------- fixes of the second allocation hunt
def test_duplicates_option_keeps_one_row_of_each_pair(tmp_path: Path, capsys: Any) -> None:
    """The repeated-rows warning told the user to pass --duplicates first, which allocate did not
    take ("unrecognized arguments"); now it does, as `galton aggregate` does."""
    df = pd.DataFrame({"task": ["t1"] * 5 + ["t2"] * 3, "worker": ["w0", "w0", "w0", "w1", "w2", "w0", "w1", "w0"],
                       "label": ["a", "a", "a", "b", "b", "b", "a", "a"]})
    src, once = tmp_path / "j.csv", tmp_path / "once.csv"
    df.to_csv(src, index=False)
    df.drop_duplicates(["task", "worker"]).to_csv(once, index=False)
    base = ["-n", 2, "--model", "mv", "--strategy", "uncertainty"]
    rc, kept, err = run(["allocate", src, *base], capsys)
    assert rc == 0 and "--duplicates first" in err, err
    rc, want, err = run(["allocate", once, *base], capsys)
    assert rc == 0, err
    for extra in ([], ["--on-invalid", "drop"]):
        rc, got, err = run(["allocate", src, *base, "--duplicates", "first", *extra], capsys)
        assert rc == 0 and "repeat" not in err, err
        assert got == want != kept
    table = pd.read_csv(io.StringIO(want)).set_index("task")
    assert table["label"].to_dict() == {"t1": "b", "t2": "a"} and table["confidence"]["t1"] == pytest.approx(2 / 3)
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"worker": list("abcabc"), "left": list("xxyyzx"), "right": list("yzzxxz"),
                  "label": list("xxyxzz")}).to_csv(pairs, index=False)
    rc, out, err = run(["allocate", pairs, "-n", 2, "--duplicates", "keep"], capsys)
    assert rc == 2 and out == "" and "--duplicates is for categorical data (task, worker, label); this input is " \
        "pairwise" in err


def test_workers_list_longer_than_a_file_name(tmp_path: Path, capsys: Any) -> None:
    """--workers with a comma list over 255 characters failed with "[Errno 36] File name too long"
    (asking whether it named a file); it is a list of ids, as from a file of them."""
    ids = [f"worker-with-a-long-name-{i:02d}" for i in range(20)]
    src = tmp_path / "j.csv"
    pd.DataFrame({"task": [f"t{i % 7}" for i in range(40)], "worker": ids * 2,
                  "label": [i % 3 for i in range(40)]}).to_csv(src, index=False)
    listed = ",".join(ids[:15])
    assert len(listed) > 255
    (tmp_path / "w.txt").write_text("\n".join(ids[:15]))
    want = None
    for spec, out in ((tmp_path / "w.txt", "-"), (listed, "-"), (listed, tmp_path / "next.csv")):
        rc, stdout, err = run(["allocate", src, "-n", 30, "--model", "mv", "--workers", spec, "-o", out, "-q"], capsys)
        assert rc == 0, err
        got = stdout if out == "-" else Path(out).read_text()
        want = want or got
        assert got == want and set(pd.read_csv(io.StringIO(got))["worker"]) <= set(ids[:15])
    assert len(pd.read_csv(io.StringIO(want))) == 7  # one row a task


def test_workers_file_headed_by_the_worker_column(tmp_path: Path, capsys: Any) -> None:
    """A --workers file headed by the input's worker column (--worker-col rater) took the header for
    a rater: plain Bradley-Terry gave rows to a rater 'rater' nobody has."""
    src = tmp_path / "pairs.csv"
    pd.DataFrame({"rater": list("abcabc"), "left": list("xxyyzx"), "right": list("yzzxxz"),
                  "label": list("xxyxzz")}).to_csv(src, index=False)
    ids = tmp_path / "raters.txt"
    ids.write_text("rater\na\nd\n")
    argv = ["allocate", src, "-n", 6, "--worker-col", "rater", "-o", "-", "-q", "--workers"]
    rc, from_file, err = run([*argv, ids], capsys)
    assert rc == 0, err
    rc, listed, err = run([*argv, "a,d"], capsys)
    assert rc == 0, err
    assert from_file == listed and set(pd.read_csv(io.StringIO(listed))["worker"]) == {"a", "d"}


def test_help_says_what_the_seed_and_the_strategies_do(judgments: Path, capsys: Any) -> None:
    """--seed said "uniform's tie break", but the seeded hash orders equal scores under every
    strategy; --strategy described uncertainty for categorical data only."""
    rc, out, _ = run(["allocate", "--help"], capsys)
    text = " ".join(out.split())
    assert rc == 0
    assert "orders rows of equal score (every strategy)" in text and "uniform's tie break" not in text
    assert "Phi(-|d|/s)" in text and "least-compared pairs" in text
    import galton.cli.allocate as cli

    assert ".jsonl" in cli.__doc__
    # every task alike (each judged "cat" by two workers): eig scores are all equal, the seed orders them
    src = judgments.parent / "alike.csv"
    pd.DataFrame({"task": np.repeat([f"t{i}" for i in range(12)], 2), "worker": ["a", "b"] * 12,
                  "label": "cat"}).to_csv(src, index=False)
    orders = set()
    for s in (0, 1, 2):
        rc, out, err = run(["allocate", src, "-n", 12, "--model", "mv", "--seed", s, "-q"], capsys)
        assert rc == 0, err
        table = pd.read_csv(io.StringIO(out))
        assert table["score"].nunique() == 1
        orders.add(tuple(table["task"]))
    assert len(orders) == 3


def test_a_workers_file_with_an_id_over_128_kib_is_read(judgments: Path, tmp_path: Path, capsys: Any) -> None:
    ids = tmp_path / "workers.txt"
    ids.write_text("w0\n" + "x" * 200_000 + "\n")  # the csv module's default limit is 131072 characters
    rc, _, err = run(["allocate", judgments, "-n", 2, "--model", "mv", "--workers", ids, "-o", "-"], capsys)
    assert rc == 2 and "1 id(s) with no judgments in the data" in err, err[:300]  # was "field larger than field limit"


def test_quiet_hides_the_fits_progress_bar_and_param_refusals_name_only_allocates_options(
        judgments: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Found by a CLI hunt: allocate's -q hid only the summary (MACE's bar was drawn on a terminal
    despite it), and --param n_shards=2 answered "give --shards N", an option allocate lacks."""
    import galton._api as api

    seen: list[Any] = []
    real = api.aggregate

    def spy(data: Any, model: Any = None, **kw: Any) -> Any:
        seen.append(kw.get("progress") if model is None or isinstance(model, str) else model.progress)
        return real(data, model, **kw)

    monkeypatch.setattr(api, "aggregate", spy)
    rc, loud, err = run(["allocate", judgments, "-n", 3, "-m", "mace"], capsys)
    assert rc == 0 and seen == [None], err  # None: a bar on a terminal after a second
    rc, quiet, err = run(["allocate", judgments, "-n", 3, "-m", "mace", "-q"], capsys)
    assert rc == 0 and seen == [None, False] and not err
    assert quiet == loud  # the same rows: only the bar and the summary go
    rc, _, err = run(["allocate", judgments, "-n", 3, "-m", "ds", "--param", "n_shards=2"], capsys)
    assert rc == 2 and "--param n_shards: model 'ds' takes n_shards from an option of its own" in err
    assert "this command has none; leave it out" in err and "give --shards" not in err
    rc, _, err = run(["allocate", judgments, "-n", 3, "-m", "ds", "--param", "progress=false"], capsys)
    assert rc == 2 and "give --quiet to hide the progress bar" in err


def test_seed_with_param_random_state_or_one_param_twice_is_refused_as_aggregate_does(judgments: Path, capsys) -> None:
    """Found by a CLI hunt: allocate --seed 3 --param random_state=5 fitted with 5 and hashed ties with 3
    without a word (aggregate refuses the pair), and a --param given twice with two values kept the
    last, in allocate and aggregate."""
    rc, _, err = run(["allocate", judgments, "-n", 2, "-m", "ds", "--seed", 3, "--param", "random_state=5"], capsys)
    assert rc == 2 and "--seed and --param random_state=... set the same thing; give one of them" in err, err
    rc, alone, err = run(["allocate", judgments, "-n", 2, "-m", "ds", "--param", "random_state=5", "-q"], capsys)
    assert rc == 0, err
    for command in (["allocate", judgments, "-n", 2], ["aggregate", judgments]):
        rc, _, err = run([*command, "-m", "ds", "--param", "tol=0.1", "--param", "tol=0.2"], capsys)
        assert rc == 2 and "--param tol is given 2 times with different values (0.1, 0.2); give it once" in err, err
        rc, _, err = run([*command, "-m", "ds", "--param", "n_iter=3", "--param", "n_iter=3.0"], capsys)
        assert rc == 2 and "(3, 3.0)" in err, err  # an integer and a float: two values
    rc, twice, err = run(["allocate", judgments, "-n", 2, "-m", "ds", "--param", "random_state=5", "--param",
                          "random_state=5", "-q"], capsys)
    assert rc == 0 and twice == alone, err  # the same value twice: one value
    rc, zero, err = run(["allocate", judgments, "-n", 2, "-m", "ds", "--seed", 0, "-q"], capsys)
    rc0, default, _ = run(["allocate", judgments, "-n", 2, "-m", "ds", "-q"], capsys)
    assert rc == rc0 == 0 and zero == default, err  # --seed left out is seed 0


# -------------------------------------------------------------------------------- fixes of the encodings hunt
def test_workers_file_of_several_columns_gives_its_worker_column(judgments: Path, tmp_path: Path, capsys) -> None:
    """A --workers CSV of several columns (worker,team) was flattened: pairs went to raters "worker",
    "team", "A", "B" (plain Bradley-Terry welcomes new raters), and galton's own --workers-output report
    failed with "73 id(s) with no judgments". A header naming the worker column gives that column; other
    lines of several fields are refused (one line of comma-separated ids is still a list)."""
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"worker": ["w0", "w1", "w0", "w1", "w2", "r0", "r1"], "left": list("aababab"),
                  "right": list("bbcccbc"), "label": list("abbacab")}).to_csv(pairs, index=False)
    table = tmp_path / "pw_workers.csv"
    table.write_text("worker,team\nr0,A\nr1,B\n")
    rc, from_table, err = run(["allocate", pairs, "-n", 6, "--workers", table, "-o", "-"], capsys)
    assert rc == 0, err
    rc, listed, err = run(["allocate", pairs, "-n", 6, "--workers", "r0,r1", "-o", "-"], capsys)
    assert rc == 0, err
    assert from_table == listed and set(pd.read_csv(io.StringIO(from_table))["worker"]) == {"r0", "r1"}
    report = tmp_path / "report.csv"  # the worker report of aggregate: the ids in its 'worker' column
    rc, _, err = run(["aggregate", judgments, "-m", "ds", "-o", tmp_path / "res.csv", "--workers-output", report,
                      "-q"], capsys)
    assert rc == 0, err
    rc, got, err = run(["allocate", judgments, "-n", 3, "-m", "mv", "--workers", report, "-o", "-"], capsys)
    assert rc == 0, err
    rc, want, err = run(["allocate", judgments, "-n", 3, "-m", "mv", "--workers", "w0,w1,w2,w3,w4", "-o", "-"],
                        capsys)
    assert rc == 0 and got == want, err
    (tmp_path / "raters.csv").write_text("rater,team\nr0,A\nr1,B\n")  # --worker-col names the header
    renamed = tmp_path / "renamed.csv"
    pd.read_csv(pairs).rename(columns={"worker": "rater"}).to_csv(renamed, index=False)
    rc, got, err = run(["allocate", renamed, "-n", 6, "--worker-col", "rater", "--workers", tmp_path / "raters.csv",
                        "-o", "-"], capsys)
    assert rc == 0 and got == listed, err
    headless = tmp_path / "headless.csv"
    headless.write_text("r0,A\nr1,B\n")
    rc, out, err = run(["allocate", pairs, "-n", 6, "--workers", headless, "-o", "-"], capsys)
    assert rc == 2 and out == "" and "has 2 line(s) of several fields (line 1: 'r0,A'; line 2: 'r1,B')" in err, err
    one_line = tmp_path / "one_line.csv"
    one_line.write_text("r0,r1\n")
    rc, got, err = run(["allocate", pairs, "-n", 6, "--workers", one_line, "-o", "-"], capsys)
    assert rc == 0 and got == listed, err


def test_pairwise_items_that_look_like_decimals(tmp_path: Path, capsys) -> None:
    """allocate read a pairwise file's label as a number (1.5) beside its items as text ("1.5") and
    refused it: "column 'label' (double) and column 'left' (string) hold different types of item ids",
    where `galton aggregate` and galton.allocate read it. The label is read as an item id, as aggregate
    reads it: the ranking is galton.allocate's on the same file."""
    import galton

    src = tmp_path / "pwf.csv"
    src.write_text("worker,left,right,label\nw0,1.5,2.5,1.5\nw1,1.5,2.5,1.5\nw0,2.5,3.5,2.5\nw1,1.5,3.5,1.5\n"
                   "w2,2.5,3.5,3.5\n")
    rc, out, err = run(["allocate", src, "--budget", 3, "-o", "-"], capsys)
    assert rc == 0, err
    got = pd.read_csv(io.StringIO(out), dtype={"left": str, "right": str})
    want = galton.allocate(str(src), budget=3, output="pandas")
    assert got[["left", "right"]].values.tolist() == want[["left", "right"]].astype(str).values.tolist()
    assert got["score"].tolist() == pytest.approx(want["score"].tolist()) and len(got) == 3
    assert {"1.5", "2.5", "3.5"} >= set(got["left"]) | set(got["right"])
