"""Tests for the ``galton`` command (galton.cli.main in-process, and once as a subprocess)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

import galton
from galton import datasets
from galton.aggregator import _jit, _registry
from galton.cli import main

REPO = Path(galton.__file__).resolve().parent.parent


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def summary(out: str) -> dict[str, str]:
    rows = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        rows[key] = value.strip()
    return rows


def read_any(path: Path) -> pl.DataFrame:
    if path.suffix == ".csv":
        return pl.read_csv(path, infer_schema_length=None)
    if path.suffix == ".tsv":
        return pl.read_csv(path, separator="\t", infer_schema_length=None)
    return pl.read_parquet(path)


def check_results(df: pl.DataFrame, n_tasks: int, label_values: list) -> None:
    """Columns, one row per task, confidence = row max of the p_* columns, rows sum to one."""
    p_cols = [f"p_{v}" for v in label_values]
    assert df.columns == ["task", "label", "confidence", *p_cols]
    assert df.height == n_tasks and df["task"].n_unique() == n_tasks
    p = df.select(p_cols).to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-9)
    np.testing.assert_allclose(df["confidence"].to_numpy(), p.max(axis=1), rtol=1e-12)
    # the label is the column holding the maximum
    np.testing.assert_array_equal(
        np.asarray(label_values, dtype=object)[p.argmax(axis=1)].astype(str),
        df["label"].cast(pl.String).to_numpy().astype(str),
    )


def simulated_frame(seed: int = 7) -> tuple[pd.DataFrame, dict[str, str]]:
    """Judgments with string task ids (leading zeros), string workers and string labels."""
    rng = np.random.default_rng(seed)
    classes = np.array(["cat", "dog", "emu"], dtype=object)
    n_tasks, n_workers = 60, 9
    truth = rng.integers(0, 3, n_tasks)
    acc = rng.uniform(0.55, 0.9, n_workers)
    rows = []
    for t in range(n_tasks):
        for w in rng.choice(n_workers, 5, replace=False):
            lab = truth[t] if rng.random() < acc[w] else rng.choice([k for k in range(3) if k != truth[t]])
            rows.append((f"t{t:03d}", f"w{w}", classes[lab]))
    df = pd.DataFrame(rows, columns=["item", "annotator", "answer"])
    gold = {f"t{t:03d}": classes[truth[t]] for t in range(n_tasks)}
    return df, gold


# --- aggregate: bundled data ------------------------------------------------------------------------
def test_aggregate_bundled_matches_fit_predict_and_gold_accuracy(tmp_path: Path, capsys) -> None:
    out_path = tmp_path / "res.parquet"
    rc, out, err = run(["aggregate", "bundled:act_cf", "--model", "ds", "--output", out_path], capsys)
    assert rc == 0, err
    ds = datasets.load("act_cf", frame="pandas")
    expected = galton.DawidSkene().fit_predict(ds.judgments)
    df = read_any(out_path)
    check_results(df, 300, sorted(ds.judgments["label"].unique().tolist()))
    assert df["task"].to_list() == expected.index.tolist()
    assert df["label"].to_list() == expected.tolist()
    assert df.schema["label"] == pl.Int64 and df.schema["task"] == pl.Int64
    # the accuracy line, computed here independently
    gold = ds.gold.set_index("task")["label"]
    correct = int((expected.loc[gold.index] == gold).sum())
    s = summary(out)
    assert s["accuracy"] == f"{correct / len(gold):.6f} ({correct}/{len(gold)} tasks with gold)"
    assert s["tasks"] == "300" and s["workers"] == "461" and s["judgments"] == "1720"
    assert s["labels"] == "5" and s["model"] == "ds (DawidSkene)"
    assert s["converged"] in ("yes", "no") and int(s["iterations"]) >= 1
    assert s["output"] == str(out_path)
    assert [p.name for p in tmp_path.iterdir()] == ["res.parquet"]


def test_aggregate_default_model_and_no_output(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "--max-iter", "500"], capsys)
    assert rc == 0, err
    name = _registry.default_name()
    assert summary(out)["model"] == f"{name} ({_registry.get(name).__name__})"
    assert summary(out)["output"].startswith("none: the labels were not written (pass -o FILE")  # it was silent
    assert list(tmp_path.iterdir()) == []


# --- aggregate: a CSV of our own ---------------------------------------------------------------------
def test_aggregate_csv_with_own_columns_and_partial_gold(tmp_path: Path, capsys) -> None:
    df, gold = simulated_frame()
    src = tmp_path / "judgments.csv"
    df.to_csv(src, index=False)
    gold_items = sorted(gold)[::3]  # gold for a third of the tasks only, plus one unknown task
    pd.DataFrame({"task": gold_items + ["t999"], "label": [gold[t] for t in gold_items] + ["cat"]}) \
        .to_csv(tmp_path / "gold.csv", index=False)
    out_path = tmp_path / "res.csv"
    rc, out, err = run(["aggregate", src, "--model", "ds", "--task-col", "item", "--worker-col",
                        "annotator", "--label-col", "answer", "--gold", tmp_path / "gold.csv",
                        "-o", out_path], capsys)
    assert rc == 0, err
    expected = galton.DawidSkene().fit_predict(df, task_col="item", worker_col="annotator", label_col="answer")
    res = read_any(out_path)
    check_results(res, 60, ["cat", "dog", "emu"])
    assert res.schema["task"] == pl.String and res.schema["label"] == pl.String
    assert res["task"].to_list() == expected.index.tolist()  # "t000" keeps its zeros
    assert res["label"].to_list() == expected.tolist()
    correct = sum(expected[t] == gold[t] for t in gold_items)
    assert summary(out)["accuracy"] == (f"{correct / len(gold_items):.6f} ({correct}/{len(gold_items)} tasks with "
                                        "gold; 1 gold task(s) without judgments left out)")


def test_use_gold_gives_gold_to_the_model(tmp_path: Path, capsys) -> None:
    df, gold = simulated_frame(5)
    df.to_parquet(tmp_path / "j.parquet")
    items = sorted(gold)[:20]
    gold_df = pd.DataFrame({"item": items, "answer": [gold[t] for t in items]})
    gold_df.to_csv(tmp_path / "gold.csv", index=False)
    cols = ["--task-col", "item", "--worker-col", "annotator", "--label-col", "answer"]
    rc, out, err = run(["aggregate", tmp_path / "j.parquet", "--model", "ds", *cols, "--gold",
                        tmp_path / "gold.csv", "--use-gold", "-o", tmp_path / "r.parquet"], capsys)
    assert rc == 0, err
    expected = galton.DawidSkene().fit_predict(
        df, gold_df.set_index("item")["answer"], task_col="item", worker_col="annotator", label_col="answer")
    res = read_any(tmp_path / "r.parquet")
    assert res["label"].to_list() == expected.tolist()
    assert summary(out)["accuracy"] == "1.000000 (20/20 tasks with gold; the model was given this gold)"
    # gold_mv cannot run without gold: the error says which options give it
    rc, _, err = run(["aggregate", tmp_path / "j.parquet", "--model", "gold_mv", *cols], capsys)
    if "gold_mv" in _registry.names():
        assert rc == 2 and err.strip().endswith("(command line: --gold FILE --use-gold)")
    rc, _, err = run(["aggregate", tmp_path / "j.parquet", "--use-gold", *cols], capsys)
    assert rc == 2 and "--use-gold needs --gold FILE" in err
    # gold of tasks without judgments is left out, whatever its label, and the summary says so
    extra = pd.concat([gold_df, pd.DataFrame({"item": ["t999", "t998"], "answer": ["yak", "cat"]})])
    extra.to_csv(tmp_path / "gold2.csv", index=False)
    rc, out, err = run(["aggregate", tmp_path / "j.parquet", "--model", "ds", *cols, "--gold",
                        tmp_path / "gold2.csv", "--use-gold", "-o", tmp_path / "r2.parquet"], capsys)
    assert rc == 0, err
    assert read_any(tmp_path / "r2.parquet")["label"].to_list() == expected.tolist()
    assert summary(out)["accuracy"] == ("1.000000 (20/20 tasks with gold; the model was given this gold; "
                                        "2 gold task(s) without judgments left out)")


def test_gold_and_custom_id_columns_come_back_as_written(tmp_path: Path, capsys) -> None:
    """Found by a bug hunt: gold labels 007 / 042 (read as 7.0 / 42.0, each file typed on its own)
    scored 0/2 against the same labels of the judgments, or were refused with --use-gold; ids in a
    column named by --task-col were typed as numbers (1e3 -> 1000.0, 2.50 -> 2.5)."""
    (tmp_path / "j.csv").write_text("tid,wid,ans\n1e3,w1,007\n1e3,w2,007\n2.50,w1,042\n2.50,w2,042\n"
                                    "x,w1,other\nx,w2,other\n")
    (tmp_path / "g.csv").write_text("tid,ans\n1e3,007\n2.50,042\n")
    cols = ["--task-col", "tid", "--worker-col", "wid", "--label-col", "ans"]
    for model in ("mv", "ds"):
        rc, out, err = run(["aggregate", tmp_path / "j.csv", "-m", model, *cols, "--gold", tmp_path / "g.csv",
                            "--use-gold", "-o", tmp_path / f"{model}.csv"], capsys)
        assert rc == 0, err
        assert summary(out)["accuracy"].startswith("1.000000 (2/2 tasks with gold")
        text = (tmp_path / f"{model}.csv").read_text().splitlines()
        assert [line.split(",")[:2] for line in text[1:]] == [["1e3", "007"], ["2.50", "042"], ["x", "other"]]


def test_int_labels_stay_ints_through_csv_and_parquet(tmp_path: Path, capsys) -> None:
    df, _ = simulated_frame(3)
    df["answer"] = df["answer"].map({"cat": 10, "dog": 20, "emu": 30})
    df["item"] = df["item"].str[1:].astype(int) + 1000
    src = tmp_path / "j.parquet"
    df.to_parquet(src)
    cols = ["--task-col", "item", "--worker-col", "annotator", "--label-col", "answer"]
    for ext in (".csv", ".parquet", ".tsv"):
        rc, _, err = run(["aggregate", src, "--model", "ds", *cols, "-o", tmp_path / f"r{ext}"], capsys)
        assert rc == 0, err
        res = read_any(tmp_path / f"r{ext}")
        assert res.schema["label"] == pl.Int64 and res.schema["task"] == pl.Int64
        assert res.columns[3:] == ["p_10", "p_20", "p_30"]
        assert set(res["label"].to_list()) <= {10, 20, 30}
    a, b = read_any(tmp_path / "r.csv"), read_any(tmp_path / "r.parquet")
    assert a["label"].to_list() == b["label"].to_list()
    np.testing.assert_allclose(a["confidence"].to_numpy(), b["confidence"].to_numpy(), rtol=0)


def test_parquet_directory_and_jsonl_inputs_agree_with_csv(tmp_path: Path, capsys) -> None:
    df, _ = simulated_frame(11)
    df = df.rename(columns={"item": "task", "annotator": "worker", "answer": "label"})
    df.to_csv(tmp_path / "j.csv", index=False)
    (tmp_path / "parts").mkdir()
    df.iloc[:150].to_parquet(tmp_path / "parts" / "a.parquet")
    df.iloc[150:].to_parquet(tmp_path / "parts" / "b.parquet")
    df.to_json(tmp_path / "j.jsonl", orient="records", lines=True)
    labels = []
    for src in ("j.csv", "parts", "j.jsonl"):
        rc, _, err = run(["aggregate", tmp_path / src, "--model", "ds", "-o", tmp_path / f"{src}.out.parquet"], capsys)
        assert rc == 0, err
        labels.append(read_any(tmp_path / f"{src}.out.parquet")["label"].to_list())
    assert labels[0] == labels[1] == labels[2]


def test_shards_do_not_change_the_result(tmp_path: Path, capsys) -> None:
    res = []
    for shards in ("1", "3"):
        out_path = tmp_path / f"r{shards}.parquet"
        rc, _, err = run(["aggregate", "bundled:act_cf", "--model", "ds", "--shards", shards, "-o", out_path], capsys)
        assert rc == 0, err
        res.append(read_any(out_path))
    assert res[0]["label"].to_list() == res[1]["label"].to_list()
    np.testing.assert_allclose(res[0]["confidence"].to_numpy(), res[1]["confidence"].to_numpy(), atol=1e-9)


def test_max_iter_warning_and_quiet(tmp_path: Path, capsys) -> None:
    rc, out, err = run(["aggregate", "bundled:act_cf", "--model", "ds", "--max-iter", "2"], capsys)
    assert rc == 0
    s = summary(out)
    assert s["iterations"] == "2" and s["converged"] == "no"
    assert err.count("\n") == 1 and err.startswith("galton: warning: DawidSkene did not converge in 2")
    rc, out, err = run(["aggregate", "bundled:act_cf", "--model", "ds", "--max-iter", "2", "--quiet",
                        "-o", tmp_path / "r.csv"], capsys)
    assert rc == 0 and out == "" and err == ""
    assert read_any(tmp_path / "r.csv").height == 300


def test_param_passes_model_parameters_read_as_json_else_text(tmp_path: Path, capsys) -> None:
    """--param stopping=likelihood --param tol=1e-7 runs ds to convergence (67 iterations on act_cf,
    against the default early stop's 5), with the same result as the Python call; a name the
    model lacks is refused with its parameters listed, and a malformed one by argparse."""
    rc, out, _ = run(["aggregate", "bundled:act_cf", "-m", "ds", "-o", tmp_path / "early.csv"], capsys)
    assert rc == 0 and summary(out)["iterations"] == "5"
    rc, out, err = run(["aggregate", "bundled:act_cf", "-m", "ds", "--param", "stopping=likelihood",
                        "--param", "tol=1e-7", "-o", tmp_path / "conv.csv"], capsys)
    assert rc == 0, err
    data = galton.load_dataset("act_cf").judgments
    want = galton.DawidSkene(stopping="likelihood", tol=1e-7).fit(data)
    assert summary(out)["iterations"] == str(want.n_iter_) == "67"
    got = read_any(tmp_path / "conv.csv")
    assert got["label"].to_list() == want.labels_.sort("task")["label"].to_list()
    rc, _, err = run(["aggregate", "bundled:act_cf", "-m", "mv", "--param", "tol=1"], capsys)
    assert rc == 2 and "model 'mv' has no parameter 'tol' for --param; its parameters are" in err
    rc, _, err = run(["aggregate", "bundled:act_cf", "--param", "tol"], capsys)
    assert rc == 2 and "expected KEY=VALUE" in err
    # values are checked against the type of the parameter's default, before the fit
    for given, said in [("tol=abc", "--param tol: expected a number (the default is 1e-05), not 'abc'"),
                        ("n_iter=1.5", "--param n_iter: expected an integer (the default is 100), not 1.5"),
                        ("stopping=1", "--param stopping: expected a word (the default is 'elbo'), not 1")]:
        rc, _, err = run(["aggregate", "bundled:act_cf", "-m", "ds", "--param", given], capsys)
        assert rc == 2 and said in err, err
    rc, out, _ = run(["aggregate", "bundled:act_cf", "-m", "ds", "--param", "tol=1"], capsys)  # an int for a float
    assert rc == 0 and summary(out)["iterations"] == "2"


def test_param_labels_priors_reach_glad_keyed_as_json_text(tmp_path: Path, capsys) -> None:
    """--param 'labels_priors={"0": 0.3, "1": 0.7}' failed "data is an encoded Judgments; labels=[...] apply
    when judgments are read": GLAD gave the CLI's encoded judgments labels=; JSON keys (text) now find the
    integer labels as Python's GLAD(labels_priors={0: 0.3, 1: 0.7}) does."""
    path = tmp_path / "j.csv"
    path.write_text("task,worker,label\n" + "".join(f"{t},w{w},{int(w < 2 or t % 3 == 0)}\n"
                                                      for t in range(12) for w in range(3)))
    rc, _, err = run(["aggregate", path, "-m", "glad", "--param", 'labels_priors={"0": 0.3, "1": 0.7}',
                      "-o", tmp_path / "out.csv", "-q"], capsys)
    assert rc == 0, err
    got = pd.read_csv(tmp_path / "out.csv").set_index("task").sort_index()
    want = galton.GLAD(labels_priors={0: 0.3, 1: 0.7}).fit(pd.read_csv(path)).probas_.sort_index()
    np.testing.assert_allclose(got[["p_0", "p_1"]].to_numpy(), want.to_numpy(), rtol=1e-9)


def test_param_takes_every_default_in_the_form_galton_models_shows_it(tmp_path: Path, capsys) -> None:
    """`galton models crowd_bt` shows eta_prior's default as (4.0, 2.0), which --param refused ("must be a
    pair (a, b) of numbers"), as it refused True and None: every default shown is taken back as itself
    (a word as the shell passes it, without its quotes)."""
    from galton.cli._common import OPTION_PARAMS, checked_params, model_param

    shown_forms = set()
    for name in _registry.names():
        rc, out, _ = run(["models", name], capsys)
        assert rc == 0
        listed = dict(line.split(None, 1) for line in out.split("--param KEY=VALUE):\n")[1].splitlines())
        defaults = {k: p.default for k, p in _registry.parameters(_registry.get(name)).items()}
        for key, text in listed.items():
            if key in OPTION_PARAMS or not text.startswith("default "):
                continue
            shown = re.sub(r" \((also set|False) by --[\w-]+\)$", "", text[len("default "):])  # an option's mark
            shown = shown[1:-1] if shown[:1] == shown[-1:] == "'" else shown  # the shell drops the quotes
            got = checked_params(_registry.get(name), [model_param(f"{key}={shown}")], name)[key]
            assert got == defaults[key] and type(got) is type(defaults[key]), (name, key, shown, got)
            shown_forms.add(type(got).__name__)
    assert {"tuple", "bool", "NoneType"} <= shown_forms
    assert model_param("x=(1,)") == ("x", (1,)) and model_param("x=(a, b)") == ("x", "(a, b)")  # text stays text
    pairs = tmp_path / "p.csv"
    pairs.write_text("worker,left,right,label\nw0,a,b,a\nw1,a,b,b\nw0,b,c,b\nw1,c,a,a\nw2,a,c,a\nw2,b,c,c\n")
    runs = []
    for extra in ([], ["--param", "eta_prior=(4.0, 2.0)"], ["--param", "eta_prior=(3, 1)"]):
        rc, _, err = run(["aggregate", pairs, "-m", "crowd_bt", "-o", tmp_path / "s.csv", *extra], capsys)
        assert rc == 0, err
        runs.append(read_any(tmp_path / "s.csv")["score"].to_list())
    assert runs[1] == runs[0] != runs[2]  # the default given back, and another prior that changes the scores


def test_param_takes_a_quoted_word_and_none(tmp_path: Path, capsys) -> None:
    """--param "stopping='elbo'" (the form `galton models ds` shows, quotes kept by the shell) was refused
    "stopping must be 'elbo' ... not \"'elbo'\"" for every text default, and random_state=None (documented
    "int ... or None" for mmsr and ebcc, default 0) "expected an integer (the default is 0), not None"."""
    from galton.cli._common import OPTION_PARAMS, checked_params, model_param

    n_words = 0
    for name in _registry.names():
        cls = _registry.get(name)
        for key, par in _registry.parameters(cls).items():
            if key in OPTION_PARAMS or not isinstance(par.default, str):
                continue
            for quoted in (f"'{par.default}'", f'"{par.default}"', f" '{par.default}' "):
                assert checked_params(cls, [model_param(f"{key}={quoted}")], name) == {key: par.default}
            n_words += 1
    assert n_words >= 13
    assert model_param("x='a") == ("x", "'a") and model_param("x=it's") == ("x", "it's")  # no pair: text as given
    small = tmp_path / "j.csv"
    small.write_text("task,worker,label\n" + "".join(f"{t},w{w},{(t + (w == 2)) % 2}\n" for t in range(8)
                                                      for w in range(3)))
    for name in ("mmsr", "ebcc"):
        assert checked_params(_registry.get(name), [model_param("random_state=None")], name) == {"random_state": None}
        rc, _, err = run(["aggregate", small, "-m", name, "--param", "random_state=None", "-q",
                          "-o", tmp_path / "o.csv"], capsys)
        assert rc == 0, err
    rc, _, err = run(["aggregate", "bundled:act_cf", "-m", "ds", "--param", "stopping='likelihood'", "--param",
                      "tol=null", "-q"], capsys)  # None where the model takes none: its own check names it
    assert rc == 2 and err == "galton: error: tol must be a number, not None\n"


def test_param_takes_python_words_for_infinite_numbers(tmp_path: Path, capsys) -> None:
    """--param tol=-inf (crowd-kit's way to run every iteration, in the README) was refused "expected a
    number (the default is 1e-05), not '-inf'": JSON has no word for it (only -Infinity was taken)."""
    from galton.cli._common import checked_params, model_param

    ds = _registry.get("ds")
    for text, want in (("-inf", -np.inf), ("inf", np.inf), ("+Infinity", np.inf), (" -INF ", -np.inf)):
        assert checked_params(ds, [model_param(f"tol={text}")], "ds") == {"tol": want}
    assert np.isnan(checked_params(ds, [model_param("tol=nan")], "ds")["tol"])
    out = tmp_path / "o.csv"
    rc, _, err = run(["aggregate", "bundled:act_cf", "-m", "ds", "--param", "tol=-inf", "--max-iter", "7",
                      "-o", out], capsys)
    assert rc == 0, err
    rc, _, err = run(["aggregate", "bundled:act_cf", "-m", "ds", "--param", "tol=nan", "-q"], capsys)
    assert rc == 2 and "tol" in err and "nan" in err.lower()


def test_an_option_and_a_param_that_set_the_same_thing_are_refused(tmp_path: Path, capsys) -> None:
    """--max-iter 3 with --param n_iter=5 ran 3 iterations, --seed 3 with --param random_state=4
    seed 4, neither with a word (bug hunt): one of the two is refused now."""
    df, _ = simulated_frame(3)
    df.to_csv(tmp_path / "j.csv", index=False)
    cols = ["--task-col", "item", "--worker-col", "annotator", "--label-col", "answer"]
    for extra, message in ((["-m", "ds", "--max-iter", "3", "--param", "n_iter=5"], "--max-iter and --param n_iter"),
                           (["-m", "ds", "--max-iter", "3", "--param", "max_iter=5"], "--max-iter and --param max_iter"),
                           (["-m", "mace", "--seed", "3", "--param", "random_state=4"], "--seed and --param random_state"),
                           # two --param of one limit: max_iter=50 won over n_iter=2 (bug hunt)
                           (["-m", "ds", "--param", "n_iter=2", "--param", "max_iter=50"],
                            "--param n_iter=... and --param max_iter=... set the same thing")):
        rc, _, err = run(["aggregate", tmp_path / "j.csv", *cols, *extra], capsys)
        assert rc == 2 and message in err and "give one of them" in err, err
    rc, out, err = run(["aggregate", tmp_path / "j.csv", *cols, "-m", "ds", "--param", "n_iter=2", "--param", "tol=-Infinity"],
                       capsys)
    assert rc == 0 and summary(out)["iterations"] == "2", err


def test_uncalibrated_and_param_calibrate_are_refused_together_and_galton_models_names_the_options(
        tmp_path: Path, capsys) -> None:
    """Found by a bug hunt: --uncalibrated with --param calibrate=true fitted calibrated without a word
    (--max-iter and --seed were guarded, not this); and galton models marked only engine, n_shards and
    progress as set by options, not calibrate, random_state and the iteration limit."""
    df, _ = simulated_frame(3)
    df.to_csv(tmp_path / "j.csv", index=False)
    cols = ["--task-col", "item", "--worker-col", "annotator", "--label-col", "answer"]
    for value in ("true", "false"):
        rc, _, err = run(["aggregate", tmp_path / "j.csv", *cols, "-m", "bds", "--uncalibrated", "--param",
                          f"calibrate={value}"], capsys)
        assert rc == 2 and "--uncalibrated and --param calibrate=... set the same thing; give one of them" in err, err
    for name, marks in (("bds", {"calibrate": "default True (False by --uncalibrated)", "n_iter": "default 100",
                                 "max_iter": "default None (also set by --max-iter)",
                                 "random_state": "default None (also set by --seed)"}),
                        ("kos", {"n_iter": "default 100 (also set by --max-iter)",  # the only limit kos has
                                 "random_state": "default 0 (also set by --seed)"})):
        rc, out, _ = run(["models", name], capsys)
        listed = dict(line.split(None, 1) for line in out.split("--param KEY=VALUE):\n")[1].splitlines())
        assert rc == 0 and {k: listed[k] for k in marks} == marks


def test_param_naming_what_an_option_sets_says_which_option(capsys) -> None:
    """Found by a bug hunt: galton models ds lists n_shards (set by --shards), engine and progress under
    "--param KEY=VALUE", but --param n_shards=2 answered "model 'ds' has no parameter 'n_shards'"."""
    for given, option, use in (("n_shards=2", "--shards", "--shards N"), ("engine=ray", "--engine", "--engine local"),
                               ("progress=false", "--quiet", "--quiet to hide the progress bar")):
        rc, _, err = run(["aggregate", "bundled:act_cf", "-m", "ds", "--param", given], capsys)
        key = given.split("=")[0]
        assert rc == 2 and f"--param {key}: model 'ds' takes {key} from {option}, not from --param; give {use}" in err
        assert "has no parameter" not in err
    rc, _, err = run(["aggregate", "bundled:act_cf", "-m", "ds", "--param", "shards=2"], capsys)  # not a parameter
    assert rc == 2 and "model 'ds' has no parameter 'shards' for --param" in err


def test_max_iter_zero_is_the_models_start_as_param_n_iter_zero_is(tmp_path: Path, capsys) -> None:
    """--max-iter 0 was refused (>= 1) while --param n_iter=0 ran the model's start, which the models
    (and crowd-kit) allow: both run it now, and a negative limit is refused by both."""
    df, _ = simulated_frame(5)
    df.to_csv(tmp_path / "j.csv", index=False)
    cols = ["--task-col", "item", "--worker-col", "annotator", "--label-col", "answer"]
    want = galton.DawidSkene(max_iter=0).fit(df.rename(columns={"item": "task", "annotator": "worker",
                                                                 "answer": "label"}))
    got = {}
    for extra in (["--max-iter", "0"], ["--param", "max_iter=0"], ["--param", "n_iter=0"]):
        out_path = tmp_path / "r.csv"
        rc, out, err = run(["aggregate", tmp_path / "j.csv", *cols, "-m", "ds", *extra, "-o", out_path], capsys)
        assert rc == 0 and summary(out)["iterations"] == "0", err
        got[extra[-1]] = read_any(out_path)["p_cat"].to_list()
    assert got["0"] == got["max_iter=0"] == got["n_iter=0"]
    np.testing.assert_allclose(got["0"], want.probas_.sort_index()["cat"].to_numpy(), rtol=1e-12)
    for extra in (["--max-iter", "-1"], ["--param", "n_iter=-1"]):
        rc, _, err = run(["aggregate", tmp_path / "j.csv", *cols, "-m", "ds", *extra], capsys)
        assert rc == 2 and "must be >= 0" in err, err


def test_on_invalid_drop(tmp_path: Path, capsys) -> None:
    src = tmp_path / "j.csv"
    src.write_text("task,worker,label\n1,a,x\n1,b,x\n2,a,y\n2,,y\n3,b,\n3,a,x\n")
    rc, out, err = run(["aggregate", src, "--model", "ds", "--on-invalid", "drop", "-o", tmp_path / "r.csv"], capsys)
    assert rc == 0, err
    s = summary(out)
    assert s["judgments"] == "4" and s["dropped"].startswith("2 rows")
    assert read_any(tmp_path / "r.csv")["task"].to_list() == [1, 2, 3]


@pytest.mark.parametrize("kind, name, rows, kept, dropped", [
    ("pairwise", "p.csv", "worker,left,right,label\nw,a,b,a\nw,b,c,zz\nw,a,c,\nw,c,c,c\nv,b,c,c\n", ["a", "b", "c"],
     "3 rows with a missing value, an item compared with itself or a label that is neither item"),
    ("choice", "c.jsonl", '{"worker":"a","options":["x","y","z"],"choice":"y"}\n'
     '{"worker":"b","options":["x","y"],"choice":"q"}\n{"worker":"b","options":["y","z"],"choice":"z"}\n',
     ["x", "y", "z"], "1 rows with a missing value, fewer than 2 options, a repeated option or a choice outside "
     "the options"),
    ("rating", "r.csv", "task,worker,label\nt1,a,3\nt1,b,\nt2,a,4\nt2,b,5\n", ["t1", "t2"],
     "1 rows with a missing value or a rating that is no usable number"),
])
def test_on_invalid_drop_is_said_for_every_kind(tmp_path: Path, capsys, kind, name, rows, kept, dropped) -> None:
    """--on-invalid drop left pairwise, choice and rating rows out without a word in the summary
    (categorical data said 'dropped  N rows with missing values') (bug hunt)."""
    src = tmp_path / name
    src.write_text(rows)
    rc, out, err = run(["aggregate", src, "--kind", kind, "--on-invalid", "drop", "-o", tmp_path / "s.csv"], capsys)
    assert rc == 0, err
    assert summary(out)["dropped"] == dropped, out
    assert sorted(read_any(tmp_path / "s.csv")[read_any(tmp_path / "s.csv").columns[0]].to_list()) == kept
    rc, out, _ = run(["aggregate", src, "--kind", kind, "-o", tmp_path / "s.csv"], capsys)
    assert rc == 2 and "dropped" not in summary(out)  # without the option: refused, nothing said dropped


def test_preference_outputs_and_missing_worker_column_say_what_works(tmp_path: Path, capsys) -> None:
    """--help offered a Parquet directory --output that pairwise, choice and rating data refuse; the
    refusal listed .parquet, .csv, .tsv but not .pq and .jsonl, which work; a missing --worker-col
    column was told to 'pass worker_col=None', which has no CLI form (bug hunt)."""
    rc, out, _ = run(["aggregate", "--help"], capsys)
    assert rc == 0 and "(categorical data only: pairwise, choice, rating and multilabel results need a file" in \
        " ".join(out.split())
    src = tmp_path / "p.csv"
    src.write_text("worker,left,right,label\nw,a,b,a\nw,b,c,b\n")
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "scores"], capsys)
    assert rc == 2 and "--output for pairwise data must be a file (.parquet, .pq, .csv, .tsv, .jsonl) or -" in err, err
    for ext in (".parquet", ".pq", ".csv", ".tsv", ".jsonl"):  # each one the message names is written
        rc, _, err = run(["aggregate", src, "-o", tmp_path / f"s{ext}", "-q"], capsys)
        written = pl.read_ndjson(tmp_path / f"s{ext}") if ext == ".jsonl" else read_any(tmp_path / f"s{ext}")
        assert rc == 0 and sorted(written["item"].to_list()) == ["a", "b", "c"], (ext, err)
    rc, _, err = run(["aggregate", src, "--worker-col", "rater", "-o", tmp_path / "r.csv"], capsys)
    assert rc == 2 and "worker_col" not in err, err
    assert "Name the worker column with --worker-col, or leave --worker-col out if there is none" in err
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "r.csv", "-q"], capsys)  # the advice, followed
    assert rc == 0 and read_any(tmp_path / "r.csv").height == 3


def test_duplicates_option(tmp_path: Path, capsys) -> None:
    """galton aggregate had no --duplicates: repeated (task, worker) rows always counted as separate
    votes, without a word. Now the default warns, first / last keep one row of each pair (the labels
    of the file without the others), keep counts every row quietly, raise refuses them."""
    src, once = tmp_path / "j.csv", tmp_path / "once.csv"
    src.write_text("task,worker,label\n1,a,x\n1,a,y\n1,b,y\n1,c,x\n2,a,y\n2,b,y\n2,a,y\n")
    once.write_text("task,worker,label\n1,a,x\n1,b,y\n1,c,x\n2,a,y\n2,b,y\n")
    rc, out, err = run(["aggregate", src, "-m", "ds"], capsys)
    assert rc == 0 and "warning: 2 row(s) repeat a (task, worker) pair ((1, 'a'), (2, 'a'))" in err, err
    assert summary(out)["judgments"] == "7"
    rc, out, err = run(["aggregate", src, "-m", "ds", "--duplicates", "keep"], capsys)
    assert rc == 0 and "warning" not in err and summary(out)["judgments"] == "7"
    rc, out, err = run(["aggregate", src, "-m", "ds", "--duplicates", "first", "-o", tmp_path / "r.csv"], capsys)
    assert rc == 0 and "warning" not in err, err
    assert summary(out)["dropped"] == "2 rows with missing values or repeating a (task, worker) pair"
    run(["aggregate", once, "-m", "ds", "-o", tmp_path / "want.csv"], capsys)
    assert read_any(tmp_path / "r.csv").equals(read_any(tmp_path / "want.csv"))
    rc, _, err = run(["aggregate", src, "-m", "ds", "--duplicates", "raise"], capsys)
    assert rc == 2 and "2 repeated (task, worker) pair(s)" in err, err
    pairs = tmp_path / "p.csv"
    pairs.write_text("worker,left,right,label\na,x,y,x\nb,x,y,y\n")
    rc, _, err = run(["aggregate", pairs, "--duplicates", "first"], capsys)
    assert rc == 2 and "--duplicates is for categorical, multilabel and rating data" in err, err
    rc, out, _ = run(["aggregate", "--help"], capsys)
    assert "--duplicates {keep,first,last,raise}" in out


def test_repeated_rows_messages_name_the_command_line_options(tmp_path: Path, capsys) -> None:
    """Docs hunt: ``galton aggregate --duplicates raise`` said "pass duplicates='keep' ... or
    'first'/'last'" and the warning "duplicates='first' or 'last'", Python's spelling; the command
    line's words are --duplicates keep / first / last, in memory and for the Ray read's messages."""
    import warnings
    from types import SimpleNamespace

    from galton.cli._common import one_line
    from galton.data._repeats import warn_repeated_pairs

    src = tmp_path / "j.csv"
    src.write_text("task,worker,label\n1,a,x\n1,a,y\n1,b,y\n2,a,x\n2,b,x\n")
    rc, _, err = run(["aggregate", src, "-m", "ds", "--duplicates", "raise"], capsys)
    assert rc == 2 and err.strip().endswith("1 repeated (task, worker) pair(s) (rows 1); pass --duplicates keep to "
                                            "count them as separate votes, or --duplicates first or last"), err
    rc, _, err = run(["aggregate", src, "-m", "ds"], capsys)
    assert rc == 0 and "(--duplicates keep, as crowd-kit)" in err and "duplicates=" not in err, err
    assert err.strip().endswith("pass --duplicates first or last to keep one row of each pair, or --duplicates "
                                "keep to count every row without this warning"), err
    # the Ray read's error (galton.workers.ingest) and its warning of the rows the shards counted
    ingest = ("2 repeated (task, worker) pair(s) (in tasks [1, 2]); pass duplicates='keep' to count them as "
              "separate votes, or 'first'/'last'")
    assert one_line(ValueError(ingest)).endswith(
        "pass --duplicates keep to count them as separate votes, or --duplicates first or last")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_repeated_pairs(SimpleNamespace(repeats=(2, 1, [(1, "a")]), n_judgments=5))
    text = one_line(caught[0].message)
    assert "duplicates=" not in text and "load_parquet" not in text and text.endswith(
        "pass --duplicates first or last to keep one row of each pair, or --duplicates keep to count every row "
        "without this warning"), text


# --- bad input: exit 2, one line on stderr, no output file ---------------------------------------------
def _bad_cases(tmp: Path) -> dict[str, tuple[list, str]]:
    (tmp / "nocol.csv").write_text("task,annotator,label\n1,a,x\n")
    (tmp / "nulls.csv").write_text("task,worker,label\n1,a,x\n2,b,\n3,c,y\n")
    (tmp / "ragged.csv").write_text("task,worker,label\n1,a,x\n2,b,y,9\n")
    (tmp / "ok.csv").write_text("task,worker,label\n1,a,x\n1,b,y\n")
    (tmp / "gold_bad.csv").write_text("id,answer\n1,x\n")
    return {
        "missing file": (["aggregate", tmp / "absent.csv"], "absent.csv' does not exist"),
        "missing column": (["aggregate", tmp / "nocol.csv"], "missing column(s) ['worker']"),
        "null values": (["aggregate", tmp / "nulls.csv"], "column 'label' has 1 null value(s) (rows 1)"),
        "unparsable": (["aggregate", tmp / "ragged.csv"], "cannot read"),
        "unknown model": (["aggregate", tmp / "ok.csv", "--model", "nope"], "unknown model 'nope'; valid names: "),
        "unknown bundled": (["aggregate", "bundled:nope"], "no bundled dataset named 'nope'"),
        "bad extension": (["aggregate", tmp / "ok.csv", "-o", tmp / "r.txt"], "name the file *.parquet"),
        "no such output dir": (["aggregate", tmp / "ok.csv", "-o", tmp / "no" / "r.csv"], "does not exist"),
        "gold columns": (["aggregate", tmp / "ok.csv", "--gold", tmp / "gold_bad.csv"], "gold is missing column(s)"),
        "gold file": (["aggregate", tmp / "ok.csv", "--gold", tmp / "nogold.csv"], "gold file"),
        "bad shards": (["aggregate", tmp / "ok.csv", "--model", "ds", "--shards", "0"], "--shards must be >= 1"),
        "ray address with local": (["aggregate", tmp / "ok.csv", "--model", "ds", "--engine", "local",
                                    "--ray-address", "127.0.0.1:1"], "--ray-address needs --engine ray"),
    }


BAD_IDS = ["missing file", "missing column", "null values", "unparsable", "unknown model",
           "unknown bundled", "bad extension", "no such output dir", "gold columns", "gold file",
           "bad shards", "ray address with local"]


@pytest.mark.parametrize("case", BAD_IDS)
def test_bad_input_exit_2_one_line_no_output(tmp_path: Path, capsys, case: str) -> None:
    argv, needle = _bad_cases(tmp_path)[case]
    out_path = tmp_path / "out" / "res.parquet"
    out_path.parent.mkdir()
    if "-o" not in argv:
        argv = [*argv, "-o", out_path]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    rc, out, err = run(argv, capsys)
    assert rc == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("galton: error: ")
    assert needle in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, no temp file


def test_unknown_model_lists_every_valid_name(tmp_path: Path, capsys) -> None:
    rc, _, err = run(["aggregate", "bundled:act_cf", "--model", "nope"], capsys)
    assert rc == 2
    default = _registry.default_name()
    assert err.strip().endswith(f"valid names: default (galton's default, {default}), " + ", ".join(_registry.names()))


def test_aggregate_model_default_is_the_default_model(tmp_path: Path, capsys) -> None:
    """--model default was "unknown model 'default'" though galton bench --models default ran it (bug
    hunt): it is the default model, named by its own name in the summary, with the same labels."""
    src = tmp_path / "j.csv"
    src.write_text("task,worker,label\n1,a,0\n1,b,0\n1,c,1\n2,a,1\n2,b,1\n2,c,0\n3,a,0\n3,b,1\n3,c,1\n")
    results = []
    for extra in (["--model", "default"], []):
        rc, out, err = run(["aggregate", src, *extra, "-o", tmp_path / f"res{len(extra)}.csv"], capsys)
        assert rc == 0, err
        name = _registry.default_name()
        assert summary(out)["model"] == f"{name} ({_registry.get(name).__name__})"
        results.append((tmp_path / f"res{len(extra)}.csv").read_text())
    assert results[0] == results[1]
    rc, out, err = run(["models", "default"], capsys)
    assert rc == 0 and out.startswith(f"{_registry.default_name()}: galton.")
    pairs = tmp_path / "pairs.csv"  # comparisons: "default" is their default (bt), as leaving --model out
    pairs.write_text("worker,left,right,label\na,x,y,x\nb,x,y,x\na,y,z,y\nb,x,z,z\n")
    ranked = []
    for extra in (["--model", "default"], []):
        rc, out, err = run(["aggregate", pairs, *extra, "-o", tmp_path / f"rank{len(extra)}.csv"], capsys)
        assert rc == 0 and summary(out)["model"] == "bt", err
        ranked.append((tmp_path / f"rank{len(extra)}.csv").read_text())
    assert ranked[0] == ranked[1]


def test_failed_run_leaves_existing_output_untouched(tmp_path: Path, capsys) -> None:
    (tmp_path / "nulls.csv").write_text("task,worker,label\n1,a,x\n2,b,\n")
    target = tmp_path / "res.csv"
    target.write_text("previous results\n")
    rc, _, err = run(["aggregate", tmp_path / "nulls.csv", "-o", target], capsys)
    assert rc == 2 and "null" in err
    assert target.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nulls.csv", "res.csv"]


def test_failure_while_writing_output_leaves_old_file(tmp_path: Path, capsys, monkeypatch) -> None:
    from galton.io import _write as gio

    def broken(fh, table, fmt):
        fh.write(b"task,la")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gio, "_write_to", broken)
    target = tmp_path / "res.csv"
    target.write_text("previous results\n")
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "--model", "ds", "-o", target], capsys)
    assert rc == 2 and err == (f"galton: error: cannot write {str(target)!r}: No space left on device; "
                               "nothing was replaced\n")
    assert target.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["res.csv"]


def test_usage_errors_exit_2(capsys) -> None:
    rc, _, err = run(["aggregate"], capsys)
    assert rc == 2 and "INPUT" in err
    rc, _, err = run(["aggregate", "x.csv", "--engine", "spark"], capsys)
    assert rc == 2 and "invalid choice" in err
    rc, _, _ = run([], capsys)
    assert rc == 2


# --- models, datasets, version -------------------------------------------------------------------------
def test_models_lists_registry(capsys) -> None:
    rc, out, _ = run(["models"], capsys)
    assert rc == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert sorted(lines) == _registry.names()
    assert "ds" in lines
    assert "DawidSkene" in lines["ds"] and "one full confusion matrix per worker" in lines["ds"]
    assert "(default)" in lines[_registry.default_name()]
    # each a whole sentence: a summary wrapped over two docstring lines was cut ("... fitted by")
    assert [n for n, line in lines.items() if not line.rstrip().endswith((".", ")"))] == []
    assert "fitted by variational Bayes" in lines[_registry.default_name()]


@pytest.mark.parametrize("name", ["ds", "dawid_skene", "rating_gaussian", "bt"])
def test_models_name_describes_the_model_and_every_parameter_with_its_default(name, capsys) -> None:
    """``galton models NAME`` (an alias too): the class, its kind, its docstring, and each
    constructor parameter with its default as ``inspect`` gives it, the ones set by options marked."""
    import inspect

    cls = _registry.get(name)
    rc, out, _ = run(["models", name], capsys)
    assert rc == 0
    assert out.startswith(f"{cls.registry_name}: galton.{cls.__name__} ({getattr(cls, 'kind', 'categorical')} data)")
    assert inspect.getdoc(cls).splitlines()[0] in out
    listed = dict(line.split(None, 1) for line in out.split("--param KEY=VALUE):\n")[1].splitlines())
    params = {k: p for k, p in inspect.signature(cls.__init__).parameters.items() if k != "self"}
    assert set(listed) == set(params)
    for key, par in params.items():
        assert listed[key].startswith(f"default {par.default!r}")
    assert listed["engine"].endswith("(set by --engine)")
    if name == "ds":
        assert listed["stopping"] == "default 'elbo'" and listed["tol"] == "default 1e-05"
    rc, _, err = run(["models", "nope"], capsys)
    assert rc == 2 and "unknown model 'nope'; valid names: default (galton's default, bds), bds" in err


def test_datasets_list_and_show(capsys) -> None:
    rc, out, _ = run(["datasets", "list"], capsys)
    assert rc == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert sorted(rows) == datasets.names()
    assert "Apache-2.0" in rows["act_cf"] and "1720 judgments, 300 tasks" in rows["act_cf"]
    assert "BSD" in rows["welinder_bluebirds"] and "MIT" in rows["zheng_s_rel"]
    rc, out, _ = run(["datasets", "show", "act_cf"], capsys)
    assert rc == 0 and out == datasets.info("act_cf")
    rc, _, err = run(["datasets", "show", "nope"], capsys)
    assert rc == 2 and "no bundled dataset named 'nope'" in err and err.count("\n") == 1


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_datasets_export_equals_bundled(tmp_path: Path, capsys, ext: str) -> None:
    path = tmp_path / f"act_ms{ext}"
    rc, out, err = run(["datasets", "export", "act_ms", path], capsys)
    assert rc == 0, err
    assert out.strip() == str(path)
    assert read_any(path).equals(datasets.load("act_ms").judgments)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_datasets_export_gold_and_experts_then_aggregate_scores_against_that_gold(tmp_path: Path, capsys) -> None:
    judg, gold, experts = (tmp_path / n for n in ("j.csv", "g.csv", "e.parquet"))
    rc, out, err = run(["datasets", "export", "imagenet_real_golden", judg, "--gold", gold, "--experts", experts],
                       capsys)
    assert rc == 0, err
    assert out.split() == [str(judg), str(gold), str(experts)]
    ds = datasets.load("imagenet_real_golden")
    assert read_any(gold).equals(ds.gold) and read_any(experts).equals(ds.experts)
    # the exported gold is what `aggregate --gold` reads: the same accuracy as the bundled input's own gold
    rc, out, _ = run(["aggregate", judg, "--gold", gold, "-m", "mv"], capsys)
    rc2, out2, _ = run(["aggregate", "bundled:imagenet_real_golden", "-m", "mv"], capsys)
    assert rc == rc2 == 0 and summary(out)["accuracy"] == summary(out2)["accuracy"]
    assert summary(out)["accuracy"].endswith("(1033/1135 tasks with gold)")


def test_the_summary_says_when_the_default_fits_one_accuracy_per_worker(tmp_path: Path, capsys) -> None:
    """Above 32 labels the default gives each worker one accuracy; the summary says so, and
    --param confusion=full asks for the matrices."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 40, 300)
    task = rng.integers(0, 300, 1500)
    label = np.where(rng.random(1500) < 0.7, truth[task], rng.integers(0, 40, 1500))
    path = tmp_path / "many.csv"
    pd.DataFrame({"task": task, "worker": rng.integers(0, 30, 1500), "label": label}).to_csv(path, index=False)
    rc, out, err = run(["aggregate", path, "-o", tmp_path / "a.csv"], capsys)
    assert rc == 0, err
    assert summary(out)["model"] == "bds (BayesianDawidSkene, one accuracy per worker)"
    rc, out, err = run(["aggregate", path, "--param", "confusion=full", "-o", tmp_path / "b.csv"], capsys)
    assert rc == 0, err
    assert summary(out)["model"] == "bds (BayesianDawidSkene)"


def test_the_default_reports_its_temperature_and_writes_the_calibrated_probabilities(tmp_path: Path, capsys) -> None:
    out_path = tmp_path / "bb.csv"
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "-o", out_path], capsys)
    assert rc == 0, err
    assert summary(out)["calibrated"] == ("temperature 1 / (1 + 0.1 (n - 1)) for a task of n judgments, 0.208 at "
                                          "their mean (chosen on 4,212 held-out judgments of 108 tasks)")
    model = galton.BayesianDawidSkene().fit(datasets.load("welinder_bluebirds", frame="pandas").judgments)
    written = pd.read_csv(out_path).set_index("task")
    np.testing.assert_allclose(written["confidence"].to_numpy(), model.probas_.max(axis=1).reindex(written.index),
                               rtol=1e-12)
    assert written["confidence"].mean() < 0.95  # 0.99 before calibration, at accuracy 0.80
    # with gold, the summary sets the mean confidence on the gold tasks (here: all 108) beside the accuracy
    assert summary(out)["confidence"] == (f"{written['confidence'].mean():.6f} "
                                          "(mean probability of the chosen label on those tasks)")
    rc, out, _ = run(["aggregate", "bundled:welinder_bluebirds", "-m", "ds"], capsys)
    assert rc == 0 and "calibrated" not in summary(out)
    # --uncalibrated: the posteriors as fitted (mean confidence 0.99 here); refused by a model without it
    raw_path = tmp_path / "raw.csv"
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "--uncalibrated", "-o", raw_path], capsys)
    assert rc == 0, err
    assert summary(out)["calibrated"] == "off (--uncalibrated: probabilities as fitted)"
    raw = galton.BayesianDawidSkene(calibrate=False).fit(datasets.load("welinder_bluebirds", frame="pandas").judgments)
    got = pd.read_csv(raw_path).set_index("task")["confidence"]
    np.testing.assert_allclose(got.to_numpy(), raw.probas_.max(axis=1).reindex(got.index), rtol=1e-12)
    assert got.mean() > 0.98
    rc, _, err = run(["aggregate", "bundled:welinder_bluebirds", "-m", "ds", "--uncalibrated"], capsys)
    assert rc == 2 and "does not take --uncalibrated" in err and err.count("\n") == 1


def test_uncalibrated_is_refused_for_rating_models_in_their_terms(tmp_path: Path, capsys) -> None:
    """`--model catd --uncalibrated` was refused because "it reports its probabilities as fitted
    already": a rating model has no probabilities at all."""
    src = tmp_path / "r.csv"
    pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": [1.0, 2.0, 3.0, 5.0]}).to_csv(src,
                                                                                                          index=False)
    for model in ("catd", "rating_mean"):
        rc, _, err = run(["aggregate", src, "-m", model, "--uncalibrated", "-o", tmp_path / "o.csv"], capsys)
        assert rc == 2 and err.count("\n") == 1 and "probabilities as fitted" not in err
        assert (f"model '{model}' does not take --uncalibrated: it aggregates rating data into scores, with no "
                "probabilities to calibrate; drop --uncalibrated") in err


def test_a_temperature_of_1_is_not_reported_as_calibrated(tmp_path: Path, capsys) -> None:
    # act_cf: the held-out judgments find no softer posterior better, though the gold shows them
    # over-confident (accuracy 0.897, mean confidence 1.000); the summary said "no need" there, and
    # the same when nothing at all could be held out (every task given as gold)
    rc, out, err = run(["aggregate", "bundled:act_cf", "-o", tmp_path / "cf.csv"], capsys)
    assert rc == 0, err
    assert summary(out)["calibrated"] == ("temperature 1 (1,720 held-out judgments of 300 tasks found no better "
                                          "one; probabilities as fitted)")
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "--use-gold", "-o", tmp_path / "bb.csv"], capsys)
    assert rc == 0, err
    assert summary(out)["calibrated"] == ("not done (no judgment could be held out: no task without gold, or one "
                                          "label; probabilities as fitted)")


def test_max_iter_0_says_why_nothing_was_calibrated(tmp_path: Path, capsys) -> None:
    # a fit of no iterations skips the results' passes; the summary blamed gold or a single label,
    # neither of which held (welinder: two labels, no gold given)
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "--max-iter", "0", "-o", tmp_path / "bb.csv"],
                       capsys)
    assert rc == 0, err
    assert summary(out)["calibrated"] == "not done (--max-iter 0: the starting estimate, probabilities as they start)"


@pytest.mark.parametrize("option,said", [
    (["--param", "calibrate=false"], "off (--param calibrate=False: probabilities as fitted)"),
    (["--uncalibrated"], "off (--uncalibrated: probabilities as fitted)"),
    (["--param", "n_iter=0"], "not done (--param n_iter=0: the starting estimate, probabilities as they start)"),
    (["--max-iter", "0"], "not done (--max-iter 0: the starting estimate, probabilities as they start)")])
def test_the_calibrated_line_names_the_option_that_turned_it_off(tmp_path: Path, capsys, option, said) -> None:
    """Found by a hunt: `-m bds --param calibrate=False` printed "calibrated  off (--uncalibrated: ...)",
    an option not given (and --param n_iter=0 was told as --max-iter 0)."""
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "-m", "bds", *option, "-o", tmp_path / "bb.csv"],
                       capsys)
    assert rc == 0, err
    assert summary(out)["calibrated"] == said


def test_datasets_export_refusals_write_nothing(tmp_path: Path, capsys) -> None:
    # no experts table: refused before the judgments are written
    rc, _, err = run(["datasets", "export", "act_cf", tmp_path / "j.csv", "--experts", tmp_path / "e.csv"], capsys)
    assert rc == 2 and "has no experts table" in err and err.count("\n") == 1
    # one file twice, and a bad extension for the gold
    rc, _, err = run(["datasets", "export", "act_cf", tmp_path / "j.csv", "--gold", tmp_path / "j.csv"], capsys)
    assert rc == 2 and "different files" in err
    rc, _, err = run(["datasets", "export", "act_cf", tmp_path / "j.csv", "--gold", tmp_path / "g.txt"], capsys)
    assert rc == 2 and "--gold" in err and ".txt" in err
    assert list(tmp_path.iterdir()) == []
    # a symbolic link to another output is that output: the gold replaced the judgments, exit 0
    (tmp_path / "link.csv").symlink_to("y.csv")
    for argv in (["link.csv", "--gold", "y.csv"], ["j.csv", "--gold", "y.csv", "--experts", "link.csv"]):
        rc, _, err = run(["datasets", "export", "imagenet_real_golden", *(a if a.startswith("-") else tmp_path / a
                                                                          for a in argv)], capsys)
        assert rc == 2 and "must be different files" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv"]
    (tmp_path / "link.csv").unlink()
    # judgments on standard output: the written gold file is reported on stderr, not mixed into the CSV
    rc, out, err = run(["datasets", "export", "act_cf", "-", "--gold", tmp_path / "g.csv"], capsys)
    assert rc == 0 and err.strip() == str(tmp_path / "g.csv")
    assert pl.read_csv(out.encode()).equals(datasets.load("act_cf").judgments)


def test_version(capsys) -> None:
    rc, out, _ = run(["--version"], capsys)
    assert rc == 0 and out.strip() == f"galton {galton.__version__}"


def test_main_leaves_the_environment_as_it_found_it(capsys, monkeypatch) -> None:
    """main() set RAY_DISABLE_FAILURE_SIGNAL_HANDLER=1 for a Ray it starts and left it in os.environ
    after it returned: every child process the user started afterwards inherited it. A value the
    user set stays as it was."""
    seen: list[str | None] = []
    monkeypatch.delenv("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", raising=False)
    monkeypatch.setattr(galton.cli, "_run", lambda *a: seen.append(os.environ.get("RAY_DISABLE_FAILURE_SIGNAL_HANDLER"))
                        or 0)
    assert main(["--version"]) == 0
    assert "RAY_DISABLE_FAILURE_SIGNAL_HANDLER" not in os.environ
    monkeypatch.setenv("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "0")
    assert main(["--version"]) == 0
    assert os.environ["RAY_DISABLE_FAILURE_SIGNAL_HANDLER"] == "0"
    assert seen == ["1", "0"]  # off for a Ray the command starts, unless the user said otherwise


# --- as a real process -----------------------------------------------------------------------------------
def test_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    out_path = tmp_path / "r.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "galton.cli", "aggregate", "bundled:welinder_bluebirds", "--model", "ds",
         "-o", str(out_path)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert summary(proc.stdout)["tasks"] == "108"
    expected = galton.DawidSkene().fit_predict(datasets.load("welinder_bluebirds", frame="pandas").judgments)
    assert read_any(out_path)["label"].to_list() == expected.tolist()
    bad = subprocess.run(
        [sys.executable, "-m", "galton.cli", "aggregate", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "x.csv")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("galton: error: ")
    assert not (tmp_path / "x.csv").exists()


def test_bad_case_ids_cover_every_case(tmp_path: Path) -> None:
    assert sorted(_bad_cases(tmp_path)) == sorted(BAD_IDS)


# ---------------------------------------------------------------- other kinds of data (issue 5)
def test_aggregate_pairwise_layout_is_detected_and_writes_scores_and_pairs(tmp_path, capsys):
    import pyarrow.parquet as pq

    import galton

    rows = [("a", "x", "y", "x"), ("b", "y", "z", "z"), ("a", "x", "z", "x"), ("c", "z", "x", "x"),
            ("c", "y", "x", "x"), ("b", "y", "z", "y")]
    src = tmp_path / "pairs.csv"
    src.write_text("worker,left,right,label\n" + "\n".join(",".join(r) for r in rows) + "\n")
    out = tmp_path / "scores.parquet"
    assert main(["aggregate", str(src), "--output", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out == ""  # --quiet: no summary
    scores = pq.read_table(out).to_pydict()
    pairs = pq.read_table(tmp_path / "scores_pairs.parquet").to_pydict()
    ref = galton.BradleyTerry().fit(pl.read_csv(src), output="arrow")
    assert scores == ref.scores_.to_pydict()
    assert pairs == ref.pair_probas_.to_pydict()
    assert max(zip(scores["score"], scores["item"]))[1] == "x"  # x wins every comparison it is in


def test_aggregate_rating_kind_and_wrong_model_for_the_kind(tmp_path, capsys):
    import galton

    src = tmp_path / "ratings.csv"
    src.write_text("task,worker,label\n1,a,10\n1,b,20\n2,a,50\n2,b,70\n")
    out = tmp_path / "r.csv"
    assert main(["aggregate", str(src), "--kind", "rating", "--model", "rating_mean", "--output", str(out)]) == 0
    got = pl.read_csv(out).sort("task")
    assert got["score"].to_list() == [15.0, 60.0]
    assert galton.aggregator.get("rating_mean").kind == "rating"
    capsys.readouterr()
    assert main(["aggregate", str(src), "--kind", "rating", "--model", "ds"]) == 2
    assert "not for rating data" in capsys.readouterr().err
    # a rating model names its kind: no --kind needed; a pairwise model on task, worker, label says why
    auto = tmp_path / "auto.csv"
    assert main(["aggregate", str(src), "--model", "rating_mean", "--output", str(auto), "-q"]) == 0
    assert pl.read_csv(auto).sort("task")["score"].to_list() == [15.0, 60.0]
    capsys.readouterr()
    assert main(["aggregate", str(src), "--model", "bt", "--output", str(tmp_path / "bt.csv")]) == 2
    err = capsys.readouterr().err
    assert "--model bt is a pairwise model" in err and "worker, left, right, label" in err
    assert main(["aggregate", str(src), "--kind", "categorical", "--model", "catd"]) == 2
    assert "add --kind rating" in capsys.readouterr().err


def test_a_rating_model_on_a_bundled_dataset_runs_as_on_its_exported_file(tmp_path, capsys):
    """Found by a bug hunt: -m rating_mean on bundled:act_cf said "add --kind rating", and --kind rating
    then said it "does not apply", while the same data exported to CSV ran with -m rating_mean (a rating
    model names its kind). A bundled dataset is task, worker, label as that file is: the same scores,
    with or without --kind rating; a categorical model under --kind rating is refused as for a file."""
    exported = tmp_path / "act_cf.csv"
    assert main(["datasets", "export", "act_cf", str(exported)]) == 0
    capsys.readouterr()
    scores = {}
    for src, extra in (("bundled:act_cf", []), ("bundled:act_cf", ["--kind", "rating"]), (str(exported), [])):
        out = tmp_path / f"s{len(scores)}.csv"
        rc = main(["aggregate", src, "-m", "rating_mean", *extra, "-o", str(out), "-q"])
        assert rc == 0, capsys.readouterr().err
        scores[len(scores)] = pl.read_csv(out).sort("task")
    assert scores[0].equals(scores[1]) and scores[0].equals(scores[2]) and scores[0].height == 300
    assert main(["aggregate", "bundled:act_cf", "--kind", "rating", "-m", "ds"]) == 2
    assert "not for rating data" in capsys.readouterr().err


def test_pairwise_choice_and_rating_data_read_the_column_options_and_on_invalid(tmp_path, capsys):
    """--worker-col, --label-col, --task-col and --on-invalid reach the readers of pairwise, choice
    and rating data (they were ignored: a rater column was one anonymous worker, ratings with other
    column names failed, --on-invalid drop still failed); an option a kind cannot use is refused."""
    import json

    rows = [("r1", "x", "y", "x"), ("r2", "y", "z", "z"), ("r1", "x", "z", "x"), ("r3", "z", "x", "z"),
            ("r3", "y", "x", "y"), ("r2", "y", "z", "y"), ("r1", "y", "z", "y"), ("r2", "x", "y", "x")]
    src = tmp_path / "pairs.csv"
    src.write_text("rater,left,right,winner\n" + "\n".join(",".join(r) for r in rows) + "\n")
    out, workers = tmp_path / "s.csv", tmp_path / "w.csv"
    argv = ["aggregate", str(src), "-m", "crowd_bt", "-o", str(out), "--workers-output", str(workers), "-q"]
    assert main([*argv, "--worker-col", "rater", "--label-col", "winner"]) == 0
    frame = pd.DataFrame(rows, columns=["worker", "left", "right", "label"])
    ref = galton.aggregate(frame, "crowd_bt")
    got = pl.read_csv(out)
    np.testing.assert_allclose(got["score"].to_numpy(), ref.intervals_.loc[got["item"].to_list(), "score"])
    assert sorted(pl.read_csv(workers)["worker"].to_list()) == ["r1", "r2", "r3"]  # was one worker ""
    bad = tmp_path / "bad.csv"  # a self-comparison and an empty label: dropped on request
    bad.write_text(src.read_text() + "r1,x,x,x\nr2,x,y,\n")
    assert main([*argv, "--worker-col", "rater", "--label-col", "winner", "--on-invalid", "drop"]) == 0
    assert main(["aggregate", str(bad), "-m", "crowd_bt", "-o", str(tmp_path / "d.csv"), "-q",
                 "--worker-col", "rater", "--label-col", "winner", "--on-invalid", "drop"]) == 0
    assert pl.read_csv(tmp_path / "d.csv").equals(pl.read_csv(out))
    assert main(["aggregate", str(src), "--worker-col", "rater", "--label-col", "winner", "--task-col", "t"]) == 2
    assert "--task-col is not for pairwise data" in capsys.readouterr().err

    choices = tmp_path / "ch.jsonl"
    picks = [("r1", ["a", "b", "c"], "a"), ("r2", ["a", "b"], "b"), ("r1", ["c", "b"], "b"),
             ("r2", ["a", "c"], "a"), ("r3", ["b", "c", "a"], "c")]
    choices.write_text("".join(json.dumps({"rater": w, "options": o, "choice": c}) + "\n" for w, o, c in picks))
    assert main(["aggregate", str(choices), "--worker-col", "rater", "-o", str(out),
                 "--workers-output", str(workers), "-q"]) == 0
    assert sorted(pl.read_csv(workers)["worker"].to_list()) == ["r1", "r2", "r3"]
    assert main(["aggregate", str(choices), "--worker-col", "rater", "--label-col", "choice"]) == 2
    assert "--label-col is not for choice data" in capsys.readouterr().err

    ratings = tmp_path / "r.csv"
    ratings.write_text("item,rater,score\na,r1,3\na,r2,4\nb,r1,1\nb,r2,2\nb,r3,5\n")
    assert main(["aggregate", str(ratings), "--kind", "rating", "-m", "rating_mean", "--task-col", "item",
                 "--worker-col", "rater", "--label-col", "score", "-o", str(out), "-q"]) == 0
    assert pl.read_csv(out).sort("task")["score"].to_list() == [3.5, 8 / 3]


def test_rankings_are_detected_and_top_k_rankings_read_their_options(tmp_path, capsys):
    """``worker, ranking`` needs no --kind (it failed with "missing column(s) ['task', 'label']");
    ``worker, options, ranking`` scores the options never ranked and refuses a ranked item that
    is not among the options."""
    import json

    rk = tmp_path / "rk.jsonl"
    rk.write_text("".join(json.dumps({"worker": w, "ranking": r}) + "\n" for w, r in
                          (("r1", ["a", "b", "c"]), ("r2", ["b", "a", "c"]), ("r1", ["a", "c", "b"]))))
    out = tmp_path / "s.csv"
    assert main(["aggregate", str(rk), "-o", str(out), "-q"]) == 0
    assert pl.read_csv(out).sort("score", descending=True)["item"].to_list() == ["a", "b", "c"]
    top = tmp_path / "top.jsonl"
    top.write_text(json.dumps({"worker": "r1", "options": ["a", "b", "c", "d"], "ranking": ["a", "b"]}) + "\n"
                   + json.dumps({"worker": "r2", "options": ["a", "b", "c", "x"], "ranking": ["a", "zzz"]}) + "\n")
    assert main(["aggregate", str(top), "-o", str(out), "-q"]) == 2
    assert "'zzz' not in ['a', 'b', 'c', 'x']); fix those rows or pass --on-invalid drop" in capsys.readouterr().err
    assert main(["aggregate", str(top), "-o", str(out), "-q", "--on-invalid", "drop"]) == 0
    assert sorted(pl.read_csv(out)["item"].to_list()) == ["a", "b", "c", "d"]


def test_convergence_warning_and_kind_help_are_in_the_command_lines_words(tmp_path, capsys):
    """The convergence warning said "raise n_iter or tol" (Python's names) where the option is
    --max-iter; --kind's help said only pairwise data writes <output>_pairs (choice data does too)."""
    src = tmp_path / "pairs.csv"
    src.write_text("worker,left,right,label\na,x,y,x\nb,y,z,z\na,x,z,x\nc,z,x,x\nc,y,x,y\n")
    assert main(["aggregate", str(src), "--max-iter", "2"]) == 0
    err = capsys.readouterr().err
    assert "did not converge in 2 iterations" in err and "raise --max-iter or --param tol=..." in err
    assert "n_iter" not in err
    assert main(["aggregate", "--help"]) == 0
    assert "pairwise and choice also <output>_pairs" in " ".join(capsys.readouterr().out.split())


# --- every failure one line, interrupts, stdout, memory (issue 9) ------------------------------------
def _panic_class() -> type:
    """A stand-in for polars' ``pyo3_runtime.PanicException`` (a BaseException, not an Exception)."""
    return type("PanicException", (BaseException,), {"__module__": "pyo3_runtime"})


@pytest.mark.parametrize("failure", ["panic", "memory", "overflow", "recursion", "arrow", "bug"])
def test_any_failure_is_one_line_exit_2_and_debug_adds_the_traceback(tmp_path: Path, capsys, monkeypatch,
                                                                      failure: str) -> None:
    import pyarrow as pa

    from galton.judgments import Judgments

    exc = {"panic": _panic_class()("index out of bounds: the len is 3"), "memory": MemoryError(),
           "overflow": OverflowError("int too big to convert"), "recursion": RecursionError("too deep"),
           "arrow": pa.ArrowInvalid("bad row"), "bug": RuntimeError("something impossible")}[failure]

    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr(Judgments, "from_any", broken)
    target = tmp_path / "res.csv"
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "-o", target], capsys)
    assert rc == 2 and err.count("\n") == 1 and err.startswith("galton: error: "), err
    expected = {"panic": "polars failed (internal panic: index out of bounds", "memory": "out of memory",
                "overflow": "OverflowError: int too big", "recursion": "RecursionError: too deep",
                "arrow": "bad row", "bug": "RuntimeError: something impossible (unexpected"}[failure]
    assert expected in err and "Traceback" not in err
    assert not target.exists() and list(tmp_path.iterdir()) == []
    rc, out, err = run(["--debug", "aggregate", "bundled:welinder_bluebirds", "-o", target], capsys)
    assert rc == 2 and "Traceback (most recent call last)" in err and expected in err.splitlines()[-1]


def test_out_of_memory_hint_names_only_the_options_of_the_subcommand(tmp_path: Path, capsys, monkeypatch) -> None:
    """Bug hunt: `galton simulate` out of memory said "use --max-memory ... or --engine ray", options
    it does not have (aggregate has both, bench only --engine)."""
    import importlib

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 74.5 GiB")

    ws = importlib.import_module("galton.workers.simulate")
    monkeypatch.setattr(ws, "simulate", out_of_memory)
    rc, _, err = run(["simulate", "--out", str(tmp_path / "s"), "--n-tasks", "10", "--n-workers", "5"], capsys)
    assert rc == 2 and err == "galton: error: out of memory: Unable to allocate 74.5 GiB; use a smaller input\n"
    monkeypatch.setattr(galton.Judgments, "from_any", out_of_memory)
    rc, _, err = run(["aggregate", "bundled:welinder_bluebirds", "-o", str(tmp_path / "r.csv")], capsys)
    assert rc == 2 and err.endswith("; use --max-memory to fail early, a smaller input, or --engine ray\n"), err


def test_main_in_process_restores_the_signal_handlers(capsys) -> None:
    import signal

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert main(["models"]) == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_keyboard_interrupt_exits_130_and_removes_temporaries(tmp_path: Path, capsys, monkeypatch) -> None:
    from galton.io import _write as gio

    def interrupted(fh, table, fmt):
        fh.write(b"task,label\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(gio, "_write_to", interrupted)
    (tmp_path / "res.csv").write_text("old\n")
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "-m", "mv", "-o", tmp_path / "res.csv"], capsys)
    assert rc == 130 and err == "galton: interrupted\n"
    assert [p.name for p in tmp_path.iterdir()] == ["res.csv"] and (tmp_path / "res.csv").read_text() == "old\n"


def test_output_dash_prints_only_csv(capsys) -> None:
    rc, out, err = run(["aggregate", "bundled:welinder_bluebirds", "-m", "mv", "-o", "-"], capsys)
    assert rc == 0
    df = pl.read_csv(out.encode())
    assert df.height == datasets.load("welinder_bluebirds").judgments["task"].n_unique()
    assert "tasks" in err and "output" in err


def test_max_memory(tmp_path: Path, capsys) -> None:
    rc, _, err = run(["aggregate", "bundled:welinder_bluebirds", "-m", "ds", "--max-memory", "1K",
                      "-o", tmp_path / "r.csv"], capsys)
    assert rc == 2 and err.count("\n") == 1 and "1.0 KiB" in err and not (tmp_path / "r.csv").exists()
    rc, _, err = run(["aggregate", "bundled:welinder_bluebirds", "--max-memory", "lots"], capsys)
    assert rc == 2 and "--max-memory" in err
    rc, out, _ = run(["aggregate", "bundled:welinder_bluebirds", "-m", "ds", "--max-memory", "2G"], capsys)
    assert rc == 0 and "tasks" in out


def test_datasets_export_refuses_a_directory_and_writes_stdout(tmp_path: Path, capsys) -> None:
    (tmp_path / "docs").mkdir()
    rc, _, err = run(["datasets", "export", "welinder_bluebirds", tmp_path / "docs"], capsys)
    assert rc == 2 and err.count("\n") == 1 and os.listdir(tmp_path / "docs") == []
    rc, out, _ = run(["datasets", "export", "welinder_bluebirds", "-"], capsys)
    assert rc == 0
    assert pl.read_csv(out.encode()).height == datasets.load("welinder_bluebirds").judgments.height


def test_ray_address_is_given_to_the_engine_not_the_environment(tmp_path: Path, capsys, monkeypatch) -> None:
    from galton.workers import engine as engine_mod

    seen = {}

    class Recording(engine_mod.RayEngine):
        def __init__(self, *args, **kwargs):
            seen.update(kwargs, env=os.environ.get("RAY_ADDRESS"))
            raise ValueError("no cluster here")

    monkeypatch.setattr(engine_mod, "RayEngine", Recording)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    rc, _, err = run(["aggregate", "bundled:welinder_bluebirds", "-m", "ds", "--ray-address", "10.0.0.1:6379"],
                     capsys)
    assert rc == 2 and "no cluster here" in err
    assert seen["address"] == "10.0.0.1:6379" and seen["env"] is None
    assert "RAY_ADDRESS" not in os.environ


@pytest.mark.parametrize("kind", ["pairwise", "choice", "rating", "multilabel"])
def test_ray_address_reaches_the_engine_of_every_kind_of_data(kind, tmp_path: Path, capsys, monkeypatch) -> None:
    """--ray-address was dropped for pairwise, choice, rating and multilabel data: the fit started a
    local Ray and exited 0 (`--ray-address 127.0.0.1:1` on pairs), where categorical data said the
    cluster could not be reached."""
    from galton.workers import engine as engine_mod

    seen = {}

    class Recording(engine_mod.RayEngine):
        def __init__(self, *args, **kwargs):
            seen.update(kwargs)
            raise ValueError("no cluster here")

    monkeypatch.setattr(engine_mod, "RayEngine", Recording)
    files = {"pairwise": ("p.csv", "worker,left,right,label\nr1,x,y,x\nr2,y,z,z\nr1,x,z,x\nr3,y,x,y\n"),
             "choice": ("c.jsonl", '{"worker": "r1", "options": ["a", "b"], "choice": "a"}\n'
                                   '{"worker": "r2", "options": ["b", "c"], "choice": "c"}\n'),
             "rating": ("r.csv", "task,worker,label\na,r1,3\na,r2,4\nb,r1,1\nb,r2,2\n"),
             "multilabel": ("m.csv", "task,worker,label\n1,r1,a|b\n1,r2,a\n2,r1,b\n2,r2,b\n")}
    name, text = files[kind]
    (tmp_path / name).write_text(text)
    rc, _, err = run(["aggregate", tmp_path / name, "--kind", kind, "--ray-address", "10.0.0.1:6379",
                      "-o", tmp_path / "out.csv"], capsys)
    assert rc == 2 and "no cluster here" in err
    assert seen.get("address") == "10.0.0.1:6379"
    assert not (tmp_path / "out.csv").exists()


def test_a_reader_that_leaves_early_ends_galton_quietly():
    """``galton aggregate ... -o - | head -1``: polars' write then fails with EPIPE; galton exits as a
    process killed by SIGPIPE would (141), with nothing on stderr (it printed an error, status 2)."""
    cmd = [sys.executable, "-m", "galton", "aggregate", "bundled:zheng_d_product", "-m", "mv", "-o", "-", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"task,label")
    proc.stdout.close()  # the reader leaves; 8,315 rows are still to come
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and err == b""


def test_a_negative_seed_is_reported_against_the_option(capsys):
    assert main(["aggregate", "bundled:act_cf", "--seed", "-1"]) == 2  # main turns argparse's exit into 2
    assert "argument --seed: expected a non-negative integer, not -1" in capsys.readouterr().err


def test_error_hints_are_in_the_command_lines_words(tmp_path, capsys):
    bad = tmp_path / "n.csv"
    bad.write_text("task,worker,label\n1,a,\n1,b,y\n")
    assert main(["aggregate", str(bad), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "drop those rows or pass --on-invalid drop" in err and "on_invalid=" not in err
    pairs = tmp_path / "p.csv"
    pairs.write_text("who,a,b,winner\nw,x,y,x\n")
    assert main(["aggregate", str(pairs), "--kind", "pairwise", "-o", str(tmp_path / "p_out.csv")]) == 2
    err = capsys.readouterr().err
    assert "Rename the items' columns to left and right; name the worker and label columns with --worker-col, " \
        "--label-col" in err and "left_col=" not in err


def test_quiet_silences_the_readers_warning_too(tmp_path, capsys):
    src = tmp_path / "f.csv"
    src.write_text("task,worker,label\n1,a,1.5\n1,b,2.5\n2,a,1.5\n")
    assert main(["aggregate", str(src), "-m", "mv", "-o", str(tmp_path / "o.csv"), "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["aggregate", str(src), "-m", "mv", "-o", str(tmp_path / "o.csv")]) == 0
    assert capsys.readouterr().err.startswith("galton: warning: column 'label' holds non-integer numbers")


def test_checkpoint_dir_resumes_a_stopped_run_to_the_uninterrupted_result(tmp_path: Path, capsys) -> None:
    """``--checkpoint-dir``: a run stopped after 4 iterations (here by its own --max-iter) is taken
    up by the same command with a higher limit, from iteration 4, and ends where one uninterrupted
    run ends, to the bit; the summary says which happened. Bad combinations fail before reading."""
    df, _ = simulated_frame(11)
    src = tmp_path / "j.csv"
    df.to_csv(src, index=False)
    base = ["aggregate", src, "-m", "ds", "--task-col", "item", "--worker-col", "annotator", "--label-col",
            "answer", "--param", "stopping=likelihood", "--param", "tol=0"]
    ck = ["--checkpoint-dir", tmp_path / "ck", "--checkpoint-every", "2"]
    rc, out, err = run([*base, "--max-iter", "4", *ck, "-o", tmp_path / "a.parquet"], capsys)
    assert rc == 0, err
    assert summary(out)["checkpoint"] == f"{tmp_path / 'ck'} (a fresh start; saved every 2 iterations)"
    assert len(list((tmp_path / "ck").glob("DawidSkene-*.npz"))) == 1
    rc, out, err = run([*base, "--max-iter", "12", *ck, "-o", tmp_path / "b.parquet"], capsys)
    assert rc == 0, err
    s = summary(out)
    assert s["checkpoint"].startswith(f"{tmp_path / 'ck'} (resumed from iteration 4;") and s["iterations"] == "12"
    rc, out, err = run([*base, "--max-iter", "12", "-o", tmp_path / "c.parquet"], capsys)
    assert rc == 0 and "checkpoint" not in summary(out)
    resumed, whole = read_any(tmp_path / "b.parquet"), read_any(tmp_path / "c.parquet")
    assert resumed.equals(whole) and not read_any(tmp_path / "a.parquet").equals(whole)

    refused = {
        ("-m", "mv", *ck): "model 'mv' does not iterate, so --checkpoint-dir has nothing to save",
        ("--checkpoint-every", "3"): "--checkpoint-every needs --checkpoint-dir DIR",
        ("-m", "ds", "-o", tmp_path / "out", "--checkpoint-dir", tmp_path / "out"):
            f"--checkpoint-dir '{tmp_path / 'out'}' is --output ('{tmp_path / 'out'}'); give the checkpoints a "
            "directory of their own",
        # inside the output: refused before the fit (it ran the whole fit, then refused to replace the output)
        ("-m", "ds", "-o", tmp_path / "out", "--checkpoint-dir", tmp_path / "out" / "ck"):
            f"--checkpoint-dir '{tmp_path / 'out' / 'ck'}' lies inside --output ('{tmp_path / 'out'}')",
        ("-m", "ds", "--checkpoint-dir", tmp_path / "ck", "--checkpoint-every", "0"): "--checkpoint-every must be >= 1",
    }
    for extra, message in refused.items():
        rc, _, err = run(["aggregate", src, "--task-col", "item", "--worker-col", "annotator", "--label-col",
                          "answer", *extra], capsys)
        assert rc == 2 and message in err, (extra, err)
    assert not (tmp_path / "out").exists()  # nothing was fitted or written


def test_json_lines_output_reads_back_as_the_parquet_output(tmp_path: Path, capsys) -> None:
    """``--output x.jsonl`` (and ``--workers-output``, the pairwise ``_pairs`` sibling): one JSON
    object a row, the same table as the Parquet output, numbers read back exactly."""
    df, _ = simulated_frame(4)
    src = tmp_path / "j.csv"
    df.to_csv(src, index=False)
    cols = ["--task-col", "item", "--worker-col", "annotator", "--label-col", "answer", "-m", "ds"]
    for ext in (".jsonl", ".parquet"):
        rc, _, err = run(["aggregate", src, *cols, "-o", tmp_path / f"r{ext}", "--workers-output",
                          tmp_path / f"w{ext}", "-q"], capsys)
        assert rc == 0, err
    for name in ("r", "w"):
        assert pl.read_ndjson(tmp_path / f"{name}.jsonl").equals(read_any(tmp_path / f"{name}.parquet"))
    first = (tmp_path / "r.jsonl").read_text().splitlines()[0]
    assert first.startswith('{"task":"t000","label":') and first.endswith("}")
    pairs = pd.DataFrame({"worker": ["a", "b", "a"], "left": ["x", "x", "y"], "right": ["y", "z", "z"],
                          "label": ["x", "z", "y"]})
    pairs.to_csv(tmp_path / "p.csv", index=False)
    rc, _, err = run(["aggregate", tmp_path / "p.csv", "-o", tmp_path / "s.jsonl", "-q"], capsys)
    assert rc == 0, err
    assert sorted(pl.read_ndjson(tmp_path / "s.jsonl")["item"]) == ["x", "y", "z"]
    assert pl.read_ndjson(tmp_path / "s_pairs.jsonl").height == 3


# --- refusals found by a bug hunt: one clear line, before anything is fitted or written ------------
def _small(tmp: Path) -> Path:
    src = tmp / "small.csv"
    src.write_text("task,worker,label\nt1,w1,a\nt1,w2,a\nt1,w3,b\nt2,w1,b\nt2,w2,b\nt2,w3,b\n")
    return src


@pytest.mark.parametrize("argv, message", [
    (["--worker-col", "task"], "--worker-col 'task' is also the task column"),
    (["--label-col", "worker"], "--label-col 'worker' is also the worker column"),
    (["--task-col", "label"], "--task-col 'label' is also the label column"),
    (["--task-col", "x", "--worker-col", "x"], "--worker-col 'x' is also --task-col"),
])
def test_one_column_for_two_roles_is_refused(tmp_path: Path, capsys, argv, message) -> None:
    out = tmp_path / "o.csv"
    rc, _, err = run(["aggregate", _small(tmp_path), *argv, "-o", out], capsys)
    assert rc == 2 and err.count("\n") == 1, err
    assert f"{message}; each of --task-col, --worker-col, --label-col must name its own column" in err
    assert "KeyError" not in err and not out.exists()


@pytest.mark.parametrize("kind, argv, message", [
    ("pairwise", ["--label-col", "right"], "--label-col 'right' is also the right column: pairwise data reads the "
     "left and right columns by their names, so --worker-col and --label-col must name other columns"),
    ("pairwise", ["--worker-col", "left"], "--worker-col 'left' is also the left column"),
    ("choice", ["--worker-col", "choice"], "--worker-col 'choice' is also the choice column: choice data reads the "
     "options, choice and ranking columns by their names, so --worker-col must name another column"),
])
def test_one_column_for_two_roles_is_refused_in_preference_data(tmp_path: Path, capsys, kind, argv, message) -> None:
    """Pairwise and choice data read some columns by name: naming one of them with --worker-col or
    --label-col gave a raw KeyError ('Column right does not exist in schema') (bug hunt)."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"worker":"a","left":"x","right":"y","label":"x"}\n' if kind == "pairwise"
                   else '{"worker":"a","options":["x","y"],"choice":"x"}\n')
    out = tmp_path / "o.csv"
    rc, _, err = run(["aggregate", src, *argv, "-o", out], capsys)
    assert rc == 2 and err.count("\n") == 1 and message in err, err
    assert "KeyError" not in err and not out.exists()


def test_gold_on_data_without_labels_to_score_is_refused(tmp_path: Path, capsys) -> None:
    """Rating and pairwise data have scores, not labels: --gold / --use-gold were silently ignored;
    now refused as --top is. Categorical data keeps scoring the gold."""
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("task,worker,label\n1,a,3\n1,b,4\n2,a,1\n2,b,2\n")
    gold = tmp_path / "gold.csv"
    gold.write_text("task,label\n1,4\n2,1\n")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("worker,left,right,label\na,x,y,x\nb,x,y,x\na,y,z,z\nb,x,z,x\n")
    out = tmp_path / "o.csv"
    cases = [([ratings, "--kind", "rating", "--gold", gold, "--use-gold"], "--gold is for categorical and "
              "multilabel data; this input is rating"),
             ([ratings, "--kind", "rating", "--gold", gold], "--gold is for categorical and multilabel data"),
             ([ratings, "-m", "rating_mean", "--use-gold"], "--use-gold is for categorical data; this input is "
              "rating"),
             ([pairs, "--gold", gold, "--use-gold"], "--gold is for categorical and multilabel data; this input "
              "is pairwise")]
    for argv, message in cases:
        rc, _, err = run(["aggregate", *argv, "-o", out], capsys)
        assert rc == 2 and message in err and err.count("\n") == 1, err
        assert not out.exists()
    rc, stdout, err = run(["aggregate", _small(tmp_path), "-m", "mv", "--gold", gold], capsys)
    assert rc == 2 and "gold shares no task" in err  # categorical: the gold is read and matched
    small_gold = tmp_path / "small_gold.csv"
    small_gold.write_text("task,label\nt1,a\nt2,b\n")
    rc, stdout, err = run(["aggregate", _small(tmp_path), "-m", "mv", "--gold", small_gold], capsys)
    assert rc == 0 and summary(stdout)["accuracy"].startswith("1.000000 (2/2 tasks with gold"), err


def test_categorical_columns_with_left_and_right_are_ambiguous(tmp_path: Path, capsys) -> None:
    """task, worker, label plus left / right metadata was taken for pairwise data (every row then
    invalid, -m ds "not for pairwise data"): now refused with --kind to choose, and a --model
    chooses by its kind."""
    src = tmp_path / "meta.csv"
    src.write_text("task,worker,label,left,right\nt1,w1,a,x,y\nt1,w2,a,x,y\nt1,w3,b,x,y\n"
                   "t2,w1,b,x,y\nt2,w2,b,x,y\n")
    rc, _, err = run(["aggregate", src, "-o", tmp_path / "o.csv"], capsys)
    assert rc == 2 and err.count("\n") == 1, err
    assert "is ambiguous" in err and "pass --kind categorical or --kind pairwise" in err
    assert "--on-invalid" not in err and not (tmp_path / "o.csv").exists()
    for argv in (["-m", "ds"], ["--kind", "categorical"]):
        rc, stdout, err = run(["aggregate", src, *argv], capsys)
        assert rc == 0, err
        assert summary(stdout)["tasks"] == "2" and summary(stdout)["workers"] == "3"
    rc, _, err = run(["aggregate", src, "-m", "bt"], capsys)  # a pairwise model: read as comparisons
    assert rc == 2 and "neither the row's 'left' nor its 'right' item" in err


def test_task_col_naming_an_item_column_of_comparisons_is_refused(tmp_path: Path, capsys) -> None:
    """--task-col left on worker, left, right, label fitted bds with the left items for tasks and the
    right column dropped (exit 0); with -m bt it said the file "holds categorical judgments"."""
    src = tmp_path / "pairs.csv"
    src.write_text("worker,left,right,label\na,x,y,x\nb,x,y,y\na,y,z,z\nb,x,z,x\n")
    for item in ("left", "right"):
        rc, _, err = run(["aggregate", src, "--task-col", item, "-o", tmp_path / "o.csv"], capsys)
        assert rc == 2 and err.count("\n") == 1, err
        assert f"--task-col {item!r} names the {item} column of pairwise comparisons" in err
        assert "leave out --task-col" in err and not (tmp_path / "o.csv").exists()
        rc, _, err = run(["aggregate", src, "--task-col", item, "-m", "bt"], capsys)
        assert rc == 2 and "--task-col is not for pairwise data" in err, err
        rc, _, err = run(["allocate", src, "-n", 1, "--task-col", item], capsys)
        assert rc == 2 and f"--task-col {item!r} names the {item} column of pairwise comparisons" in err, err


def test_converged_reads_yes_or_no_for_every_kind(tmp_path: Path, capsys) -> None:
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("task,worker,label\n1,a,3\n1,b,4\n2,a,1\n2,b,2\n")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("worker,left,right,label\na,x,y,x\nb,x,y,y\na,y,z,z\nb,x,z,x\n")
    for argv in ([ratings, "--kind", "rating"], [pairs], [_small(tmp_path), "-m", "ds"]):
        rc, stdout, err = run(["aggregate", *argv], capsys)
        assert rc == 0, err
        assert summary(stdout)["converged"] in ("yes", "no"), stdout


def test_catds_one_weight_step_reads_as_asked_for(tmp_path: Path, capsys) -> None:
    """CATD takes one weight step by default: the summary said "converged no" (and the fit warned
    "raise n_iter") for the setting chosen; run to convergence it reads yes."""
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("task,worker,label\n1,a,3\n1,b,4\n1,c,4\n2,a,1\n2,b,2\n2,c,5\n3,a,2\n3,b,2\n3,c,3\n")
    rc, stdout, err = run(["aggregate", ratings, "--kind", "rating", "-m", "catd"], capsys)
    assert rc == 0 and err == "", err
    assert summary(stdout)["iterations"] == "1" and summary(stdout)["converged"] == "one step (n_iter=1)"
    rc, stdout, err = run(["aggregate", ratings, "--kind", "rating", "-m", "pm", "--param", "n_iter=1"], capsys)
    assert rc == 0 and summary(stdout)["converged"] == "one step (n_iter=1)"
    rc, stdout, err = run(["aggregate", ratings, "--kind", "rating", "-m", "pm"], capsys)
    assert rc == 0 and summary(stdout)["converged"] == "yes"


def test_simulate_errors_name_the_flags(tmp_path: Path, capsys) -> None:
    """The library's parameter names (n_tasks=0, overwrite=True, raise n_workers) in the flags'
    words; checked before Ray starts."""
    import re

    pytest.importorskip("ray")
    out = tmp_path / "sim"
    cases = [(["--n-tasks", "0", "--n-workers", "5"], "--n-tasks 0 is too small"),
             (["--n-tasks", "10", "--n-workers", "3"], "raise --n-workers (now 3) or lower --judgments-per-task"),
             (["--n-tasks", "10", "--n-workers", "5", "--judgments-per-task", "3,2"], "--judgments-per-task 3,2: give"),
             (["--n-tasks", "10", "--n-workers", "5", "--files", "0"], "--files 0: need at least 1 part file")]
    for argv, message in cases:
        rc, _, err = run(["simulate", "--out", out, *argv, "-q"], capsys)
        assert rc == 2 and message in err and err.count("\n") == 1, err
        assert not re.search(r"n_tasks|n_workers|judgments_per_task|\w=", err), err  # "<=" is fine
    out.mkdir()
    rc, _, err = run(["simulate", "--out", out, "--n-tasks", "10", "--n-workers", "5", "-q"], capsys)
    assert rc == 2 and "exists; pass --overwrite to replace it" in err and "overwrite=True" not in err


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "--seed -1 must be a non-negative integer below 2**128"),
    (["--seed", str(2**128)], f"--seed {2**128} must be a non-negative integer below 2**128"),
    (["--judgments-per-task", "2.7"], "--judgments-per-task 2.7 must be a whole number"),
    (["--judgments-per-task", "x"], "--judgments-per-task 'x': expected a whole number"),
    (["--accuracy-spread", "nan"], "--accuracy-spread nan must be a finite number"),
    (["--class-prior", "nan,nan"], "--class-prior nan,nan must be finite numbers"),
    (["--class-prior", "0.5,0.6"],
     "--class-prior 0.5,0.6 must be --n-classes 2 non-negative probabilities summing to 1"),
])
def test_simulate_refuses_meaningless_settings_before_ray(tmp_path: Path, capsys, monkeypatch, argv: list,
                                                           message: str) -> None:
    """Bug hunt: --accuracy-spread nan simulated meaningless data (exit 0), --seed -1 failed with
    numpy's words after Ray had started, --judgments-per-task x said "invalid literal for int()",
    2.7 became 2, and --class-prior errors echoed a Python tuple."""
    import galton.workers.simulate as ws

    def no_ray(*args, **kwargs):  # the refusal comes before Ray starts (whether a test started it or not)
        raise AssertionError("Ray was started")

    monkeypatch.setattr(ws, "_connect", no_ray)
    rc, _, err = run(["simulate", "--out", tmp_path / "sim", "--n-tasks", "10", "--n-workers", "5", *argv, "-q"],
                     capsys)
    assert rc == 2 and err == f"galton: error: {message}\n"
    assert not (tmp_path / "sim").exists()


@pytest.mark.parametrize("config, flags, message", [
    ("n_tasks = 1000\n[crowd]\nn_workers = 10\n", [], "{path}: has the key n_tasks at its top level (outside "
     "[crowd]); CONFIG takes the CrowdConfig fields in one [crowd] table and nothing else, or at its top level with "
     "no table"),
    ("[crowd]\nn_tasks = 10\nn_workers = 5\n[other]\nx = 1\n", [], "{path}: has the table [other] beside [crowd]; "
     "CONFIG takes"),  # a table below [crowd] was called a key "outside the [crowd] table (above it)"
    ("seed = 1\n[crowd]\nn_tasks = 10\nn_workers = 5\n[[a]]\nx = 1\n[b]\nx = 1\n", [],
     "{path}: has the key seed at its top level (outside [crowd]) and the tables [a], [b] beside [crowd]; "),
    ("[crowd]\nn_tasks = 100\nn_workers = \"10\"\n", [], "{path}: n_workers='10' must be a whole number, not text"),
    ("n_tasks = 100\nn_workers = 10\njudgments_per_task = 2.9\n", [],
     "{path}: judgments_per_task=2.9 must be a whole number"),
    ("[crowd]\nn_tasks = 100\nn_workers = 10\nbogus = 1\n", [], "{path}: unknown CrowdConfig field(s) ['bogus']"),
    ("n_tasks = 100\nn_workers = 10\n", ["--judgments-per-task", "2.9"], "--judgments-per-task 2.9 must be a whole"),
])
def test_simulate_config_errors_name_the_file_or_the_flag(tmp_path: Path, capsys, monkeypatch, config: str,
                                                          flags: list, message: str) -> None:
    """Bug hunt: top-level keys beside a [crowd] table were dropped without a word, and the CONFIG
    file's bad values were named as flags the user never gave (or not at all); before Ray starts."""
    import galton.workers.simulate as ws

    def no_ray(*args, **kwargs):  # the refusal comes before Ray starts (whether a test started it or not)
        raise AssertionError("Ray was started")

    monkeypatch.setattr(ws, "_connect", no_ray)
    path = tmp_path / "crowd.toml"
    path.write_text(config)
    rc, _, err = run(["simulate", path, "--out", tmp_path / "sim", *flags, "-q"], capsys)
    assert rc == 2 and err.startswith("galton: error: " + message.format(path=path)) and err.count("\n") == 1, err
    assert not (tmp_path / "sim").exists()


def test_simulate_takes_its_own_config_json_and_says_what_config_must_be(tmp_path: Path, capsys,
                                                                        monkeypatch) -> None:
    """Bug hunt: `galton simulate s1/config.json -o v3` (config.json: simulate's own output, CrowdConfig.to_dict())
    failed with a bare "Invalid statement (at line 1, column 1)". It now gives the same settings (flags
    still override), and a file that is neither TOML nor JSON is told what CONFIG must be."""
    import dataclasses
    import json

    import galton.workers.simulate as ws
    from galton.datasets.simulate import CrowdConfig

    seen = []

    def fake(config, out, **kwargs):  # the settings simulate receives; no Ray
        seen.append(config)
        raise ValueError("stop here")

    monkeypatch.setattr(ws, "simulate", fake)
    cfg = CrowdConfig(n_tasks=300, n_workers=12, n_classes=4, judgments_per_task=(2, 5), seed=9, worker_ids="str")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")  # as galton.workers.simulate writes it
    run(["simulate", path, "--out", tmp_path / "v3", "-q"], capsys)
    run(["simulate", path, "--out", tmp_path / "v3", "--n-tasks", "50", "-q"], capsys)
    assert seen == [cfg, dataclasses.replace(cfg, n_tasks=50)]
    (tmp_path / "a.csv").write_text("task,worker,label\n1,a,x\n")
    (tmp_path / "list.json").write_text("[1, 2]\n")
    for name, says in (("a.csv", "Expected '=' after a key"), ("list.json", "holds a JSON list, not an object")):
        rc, _, err = run(["simulate", tmp_path / name, "--out", tmp_path / "v4", "-q"], capsys)
        assert rc == 2 and err.startswith(f"galton: error: {tmp_path / name}: ") and says in err, err
        assert err.endswith("CONFIG must be a TOML file of CrowdConfig fields (top level or a [crowd] table), or the "
                            "config.json that galton simulate wrote\n")
    assert len(seen) == 2


@pytest.mark.parametrize("judged,gold,accuracy", [
    (["true", "true", "false", "false", "maybe", "maybe"], "1,true\n2,false\n", "1.000000 (2/2"),
    (["true", "true", "false", "false", "true", "true"], "1,true\n2,false\n3,maybe\n", "0.666667 (2/3"),
])
def test_gold_true_and_false_meet_labels_of_either_type(tmp_path: Path, capsys, judged: list, gold: str,
                                                         accuracy: str) -> None:
    """Gold true / false was read as booleans while text labels (true, false, maybe) stayed text:
    accuracy 0/2 and --use-gold refused both; boolean labels against gold with one other label
    scored 0/3, comparing "True" with "true" as text (bug hunt)."""
    src = tmp_path / "j.csv"
    pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("abab" "ab"), "label": judged}).to_csv(src, index=False)
    (tmp_path / "g.csv").write_text("task,label\n" + gold)
    rc, out, err = run(["aggregate", src, "-m", "mv", "--gold", tmp_path / "g.csv"], capsys)
    assert rc == 0, err
    assert f"accuracy    {accuracy} tasks with gold" in out
    if "maybe" in judged:
        rc, out, err = run(["aggregate", src, "-m", "ds", "--gold", tmp_path / "g.csv", "--use-gold"], capsys)
        assert rc == 0 and "accuracy    1.000000 (2/2 tasks with gold; the model was given this gold)" in out, err


@pytest.mark.parametrize("rows,items", [
    ("w1,007,7,007\nw2,007,7,7\nw1,7,8,8\n", ["007", "7", "8"]),
    ("w1,1.5,2.5,1.5\nw2,2.5,3.5,3.5\nw1,1.5,3.5,3.5\n", ["1.5", "2.5", "3.5"]),
    # labels written as floats (pandas: an integer column with a missing value) are the integer items
    ("w1,1,2,1.0\nw2,2,3,2.0\nw1,3,1,3.0\nw2,1,3,1.0\nw1,2,1,\n", ["1", "2", "3"]),
])
def test_pairwise_csv_items_are_typed_as_galton_aggregate_types_them(tmp_path, capsys, rows: str, items: list) -> None:
    """The command line refused pairwise CSVs whose item columns typed differently ("column 'right'
    (int64) and column 'left' (string) hold different types"; a label 1.5 read as a number beside
    text items) where galton.aggregate(path) reads them (bug hunt)."""
    src = tmp_path / "pairs.csv"
    src.write_text("worker,left,right,label\n" + rows)
    rc, out, err = run(["aggregate", src, "-o", "-", "-q", "--on-invalid", "drop"], capsys)
    assert rc == 0, err
    table = pd.read_csv(io.StringIO(out), dtype={"item": str})
    assert sorted(table["item"]) == items
    model = galton.aggregate(str(src), on_invalid="drop")  # the log-scores, item by item, as the file's items
    names = [str(i) for i in model.comparisons_.item_names.tolist()]
    np.testing.assert_allclose(table.set_index("item")["score"].loc[names], model.scores_values_, atol=1e-12)


def test_ratings_written_as_3_and_3_point_0_are_numbers(tmp_path, capsys) -> None:
    """A CSV of ratings 3 and 3.0 stays text (two texts, one number) and --kind rating failed with
    "holds non-numeric values in 0 row(s) (; rows )" (bug hunt)."""
    src = tmp_path / "r.csv"
    src.write_text("task,worker,label\nt1,a,3\nt1,b,3.0\nt2,a,4.5\nt2,b,4\n")
    rc, out, err = run(["aggregate", src, "--kind", "rating", "-m", "rating_mean", "-o", "-", "-q"], capsys)
    assert rc == 0, err
    assert pd.read_csv(io.StringIO(out)).set_index("task")["score"].to_dict() == {"t1": 3.0, "t2": 4.25}


def test_uint64_task_ids_meet_a_csv_gold(tmp_path, capsys) -> None:
    """Task ids from 2**63 on (uint64, 64-bit hashes) with a CSV gold raised numpy's OverflowError
    ("Python int too large to convert to C long") or called the 20-digit ids text (bug hunt)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = [2**63, 2**63, 2**63 + 1, 2**63 + 1, 2**64 - 1, 2**64 - 1]
    table = pa.table({"task": pa.array(ids, pa.uint64()), "worker": list("ababab"), "label": list("xxyyxx")})
    pq.write_table(table, tmp_path / "j.parquet")
    (tmp_path / "g.csv").write_text("task,label\n9223372036854775808,x\n9223372036854775809,x\n"
                                    "18446744073709551615,x\n")
    rc, out, err = run(["aggregate", tmp_path / "j.parquet", "-m", "mv", "--gold", tmp_path / "g.csv"], capsys)
    assert rc == 0, err
    assert "accuracy    0.666667 (2/3 tasks with gold)" in out
    gold = pd.Series(["y", "y"], index=["9223372036854775808", "18446744073709551615"])  # text ids, Python
    fitted = galton.DawidSkene().fit(table.to_pandas(), gold=gold)
    assert fitted.labels_.tolist() == ["y", "y", "y"]


def test_a_checkpoint_dir_that_is_a_file_or_a_dangling_link_is_refused_before_reading(tmp_path: Path,
                                                                                    capsys) -> None:
    """``--checkpoint-dir afile`` failed once the fit had started with "[Errno 17] File exists:
    'afile'" (mkdir of the checkpoint directory); it is refused first, saying it must be a directory
    (bug hunt)."""
    (tmp_path / "afile").write_text("mine\n")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    for name, why in (("afile", "is a file"), ("dangling", f"is a link to nothing ({str(tmp_path / 'nowhere')!r})")):
        rc, _, err = run(["aggregate", tmp_path / "missing.csv", "-m", "ds", "--checkpoint-dir", tmp_path / name,
                          "-o", tmp_path / "o.csv"], capsys)  # refused before the (missing) input is read
        assert rc == 2 and err == (f"galton: error: --checkpoint-dir {str(tmp_path / name)!r} {why}; it must be a "
                                   "directory (created when missing): give another path\n"), err
    assert (tmp_path / "afile").read_text() == "mine\n" and not (tmp_path / "o.csv").exists()
    from galton import DawidSkene

    with pytest.raises(ValueError, match="checkpoint_dir .*afile' is a file; it must be a directory"):
        DawidSkene(n_iter=2).fit(pd.DataFrame({"task": [1, 1], "worker": ["a", "b"], "label": [0, 1]}),
                                 checkpoint_dir=tmp_path / "afile")


def test_gold_mv_with_a_worker_without_gold_says_why_it_wrote_nothing(tmp_path: Path, capsys) -> None:
    """GoldMajorityVote's fit votes on nothing when a worker answered no gold task (crowd-kit's fit);
    the command line said "this GoldMajorityVote is not fitted (no posteriors_, label_codes_)"."""
    (tmp_path / "g.csv").write_text("task,worker,label\nt1,p1,0\nt1,p2,1\nt2,p1,1\nt2,p2,1\nt3,p1,0\nt3,p3,0\n")
    (tmp_path / "gold.csv").write_text("task,label\nt1,0\nt2,1\n")
    args = ["aggregate", tmp_path / "g.csv", "-m", "gold_mv", "--gold", tmp_path / "gold.csv", "--use-gold"]
    rc, _, err = run([*args, "-o", tmp_path / "out.csv"], capsys)
    assert rc == 2 and "1 of 3 worker(s) answered no gold task ('p3')" in err and "not fitted" not in err, err
    assert not (tmp_path / "out.csv").exists()
    rc, out, err = run([*args, "--param", "on_missing_skill=value", "--param", "default_skill=0.5", "-o", "-"],
                       capsys)
    assert rc == 0 and out.splitlines()[0].startswith("task,label") and len(out.splitlines()) == 4, err


def test_gold_mv_without_gold_for_a_worker_says_the_options_to_pass(tmp_path: Path, capsys) -> None:
    """Found by a bug hunt: the refusal said "pass on_missing_skill='value' with default_skill=..." in
    Python's words, and without -o the command failed with "AttributeError: 'GoldMajorityVote' object has
    no attribute 'label_codes_' (unexpected ...)". Now one line in the options' words, which run as given."""
    (tmp_path / "g.csv").write_text("task,worker,label\nt1,p1,0\nt1,p2,1\nt2,p1,1\nt2,p2,1\nt3,p1,0\nt3,p3,0\n")
    (tmp_path / "gold.csv").write_text("task,label\nt1,0\nt2,1\n")
    args = ["aggregate", tmp_path / "g.csv", "-m", "gold_mv", "--gold", tmp_path / "gold.csv", "--use-gold"]
    for extra in ([], ["-o", tmp_path / "out.csv"]):
        rc, out, err = run([*args, *extra], capsys)
        assert rc == 2 and not out and err.count("\n") == 1, err
        assert "answered no gold task ('p3')" in err and "pass --param on_missing_skill=value --param " \
               "default_skill=X (the weight of a worker without gold), or --param on_missing_skill=ignore" in err
        assert "on_missing_skill='" not in err and "AttributeError" not in err
    for hint, label_t3 in ((["--param", "on_missing_skill=value", "--param", "default_skill=0.5"], 0),
                           (["--param", "on_missing_skill=ignore"], 0)):  # t3: p1 says 0 (p3 drops out or agrees)
        rc, out, err = run([*args, *hint, "-o", tmp_path / "out.csv"], capsys)
        assert rc == 0, err
        assert pl.read_csv(tmp_path / "out.csv").sort("task")["label"].to_list() == [0, 1, label_t3]


def test_an_extra_argument_is_refused_with_the_usage_of_the_subcommand_given(capsys) -> None:
    """Found by a bug hunt: `galton models mv extra` printed galton's own usage (COMMAND ...), not
    `galton models`'s; an argument galton itself does not know still gets galton's."""
    for argv, usage in ((["models", "mv", "extra"], "usage: galton models [-h] [--debug] [NAME]\n"
                                                    "galton models: error: unrecognized arguments: extra\n"),
                        (["datasets", "show", "act_cf", "x", "--y"], "usage: galton datasets show [-h] [--debug] NAME\n"
                         "galton datasets show: error: unrecognized arguments: x --y\n"),
                        (["--bogus", "models"], "galton: error: unrecognized arguments: --bogus\n")):
        rc, out, err = run(argv, capsys)
        assert rc == 2 and not out and err.endswith(usage), err
    rc, _, err = run(["--bogus", "models"], capsys)
    assert err.startswith("usage: galton [-h] [--version]")


def test_bench_an_unknown_study_lists_every_study_the_command_runs(tmp_path: Path, capsys) -> None:
    """It listed the shipped .toml studies only, without allocation, which `galton bench allocation`
    runs (its --help and the README name it)."""
    rc, _, err = run(["bench", "nosuch", "--out", tmp_path / "b"], capsys)
    assert rc == 2 and "no study file 'nosuch'; give a .toml path or one of ['allocation', 'default', 'full', " \
        "'preferences', 'sheng']" in err, err
    assert not (tmp_path / "b").exists()
    rc, out, _ = run(["bench", "--help"], capsys)
    assert "(default, sheng, full, preferences, allocation)" in " ".join(out.split())


def test_readme_rating_example_writes_the_columns_it_names(tmp_path: Path, capsys, monkeypatch) -> None:
    """The README's `galton aggregate ratings.csv --kind rating   # task, score, se, lower, upper` had no
    --output, so it wrote nothing: run as written (in a folder holding a ratings.csv), it writes them."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text[text.index("## Command line"):]
    line = next(x for x in block.splitlines() if x.startswith("galton aggregate ratings.csv"))
    command, _, comment = line.partition("#")
    rng = np.random.default_rng(2)
    rows = [(t, w, round(float(rng.normal(10 * t, 3)), 1)) for t in range(6) for w in ("a", "b", "c")]
    pd.DataFrame(rows, columns=["task", "worker", "label"]).to_csv(tmp_path / "ratings.csv", index=False)
    monkeypatch.chdir(tmp_path)
    argv = command.split()[1:]
    rc, _, err = run(argv, capsys)
    assert rc == 0, err
    written = [p for p in tmp_path.iterdir() if p.name != "ratings.csv"]
    assert len(written) == 1, "the example writes no file"
    named = [c.strip() for c in comment.split("(")[0].split(",")]
    assert read_any(written[0]).columns == named == ["task", "score", "se", "lower", "upper"]


def test_choice_options_joined_in_csv_are_refused_in_the_command_lines_words(tmp_path: Path, capsys) -> None:
    """Options joined by '|' in a CSV: the hint named Python classes ("use Comparisons / BradleyTerry"),
    which a command-line user cannot call; it says which columns and options to use instead."""
    (tmp_path / "choices.csv").write_text("worker,options,choice\nw0,d|e|c,c\nw0,a|e|d,a\nw1,a|b,b\n")
    rc, _, err = run(["aggregate", tmp_path / "choices.csv"], capsys)
    assert rc == 2 and "column 'options' must hold lists of items" in err, err
    assert "give worker, left, right, label columns (--kind pairwise, -m bt)" in err
    assert "Comparisons" not in err and "BradleyTerry" not in err


def test_a_missing_or_directory_config_or_study_is_named_as_such(tmp_path: Path, capsys) -> None:
    """simulate / bench said only "[Errno 21] Is a directory: 'x'" or "[Errno 2] No such file or
    directory: 'nosuch.toml'"; they name the CONFIG or study file and say what to give."""
    (tmp_path / "folder").mkdir()
    for argv, message in (
        (["simulate", tmp_path / "folder", "--out", tmp_path / "s"],
         f"CONFIG {str(tmp_path / 'folder')!r} is a directory; give a TOML file of CrowdConfig fields"),
        (["simulate", tmp_path / "nosuch.toml", "--out", tmp_path / "s"],
         f"CONFIG file {str(tmp_path / 'nosuch.toml')!r} does not exist; give a TOML file of CrowdConfig fields, "
         "or the fields as flags"),
        (["bench", tmp_path / "folder", "--out", tmp_path / "b"],
         f"study file {str(tmp_path / 'folder')!r} is a directory; give a .toml file or a study's name"),
        (["bench", tmp_path / "nosuch.toml", "--out", tmp_path / "b"],
         f"study file {str(tmp_path / 'nosuch.toml')!r} does not exist"),
    ):
        rc, _, err = run(argv, capsys)
        assert rc == 2 and message in err and "Errno" not in err, err
        assert not (tmp_path / "s").exists() and not (tmp_path / "b").exists()


def _run_as_a_user_who_cannot_read(argv: list, folder: Path, capsys) -> tuple[int, str]:
    """(exit code, stderr) of the command run in ``folder`` by a user whom mode 000 keeps out: this
    process when it is not root, else a subprocess as nobody (setpriv), which root's reads would not be."""
    if os.geteuid() != 0:
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            rc, _, err = run(argv, capsys)
        finally:
            os.chdir(cwd)
        return rc, err
    import shutil

    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: no user whom a file's mode keeps out")
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(folder), "GALTON_NUMBA": "0"}
    probe = subprocess.run([*nobody, sys.executable, "-c", "import galton.cli"], capture_output=True, env=env,
                           cwd=folder, timeout=120)
    if probe.returncode != 0:
        pytest.skip("nobody cannot import this checkout of galton")
    proc = subprocess.run([*nobody, sys.executable, "-m", "galton", *map(str, argv)], capture_output=True,
                          text=True, env=env, cwd=folder, timeout=300)
    return proc.returncode, proc.stderr


def test_unreadable_inputs_are_named_with_what_to_do(tmp_path: Path, capsys) -> None:
    """An input, gold, --workers or CONFIG file this user may not read failed with the bare
    "[Errno 13] Permission denied: 'x'"; each is named by its option, with what to do."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(dir=tmp_path if os.geteuid() != 0 else "/tmp"))  # root: one nobody can enter
    try:
        folder.chmod(0o755)
        df, gold = simulated_frame(4)
        df.rename(columns={"item": "task", "annotator": "worker", "answer": "label"}).to_csv(folder / "ok.csv",
                                                                                              index=False)
        pd.DataFrame(list(gold.items()), columns=["task", "label"]).to_csv(folder / "gold.csv", index=False)
        (folder / "w.txt").write_text("w1\nw2\n")
        (folder / "c.toml").write_text("n_tasks = 10\nn_workers = 5\n")
        (folder / "dir").mkdir()
        pq_dir = folder / "dir"
        pl.read_csv(folder / "ok.csv").write_parquet(pq_dir / "part-0.parquet")
        for name in ("ok.csv", "gold.csv", "w.txt", "c.toml"):
            (folder / name).chmod(0o644)
        for name in ("in.csv", "g.csv", "wk.txt", "cfg.toml"):
            src = {"in.csv": "ok.csv", "g.csv": "gold.csv", "wk.txt": "w.txt", "cfg.toml": "c.toml"}[name]
            shutil.copy(folder / src, folder / name)
            (folder / name).chmod(0)
        pq_dir.chmod(0)
        said = "this user may not read the file (permission denied); make it readable (chmod a+r"
        for argv, message in (
            (["aggregate", "in.csv", "-m", "mv"], f"INPUT 'in.csv': {said} in.csv)"),
            (["aggregate", "ok.csv", "-m", "mv", "--gold", "g.csv"], f"--gold 'g.csv': {said} g.csv)"),
            (["aggregate", "dir", "-m", "mv"], "INPUT 'dir': this user may not read the directory (permission "
             "denied); make it readable (chmod a+rx dir)"),
            (["agreement", "in.csv"], f"INPUT 'in.csv': {said} in.csv)"),
            (["allocate", "in.csv", "-n", "1", "-m", "mv"], f"INPUT 'in.csv': {said} in.csv)"),
            (["allocate", "ok.csv", "-n", "1", "-m", "mv", "--workers", "wk.txt"], f"--workers 'wk.txt': {said}"),
            (["simulate", "cfg.toml", "--out", "sim"], f"CONFIG 'cfg.toml': {said} cfg.toml)"),
        ):
            rc, err = _run_as_a_user_who_cannot_read(argv, folder, capsys)
            assert rc == 2 and message in err and "Errno" not in err, (argv, err)
            assert err.endswith("or give a copy this user can read\n")
        # and the readable copies work for the same user
        rc, err = _run_as_a_user_who_cannot_read(["aggregate", "ok.csv", "-m", "mv", "--gold", "gold.csv"], folder,
                                                 capsys)
        assert rc == 0, err
    finally:
        (folder / "dir").chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def test_an_empty_gold_directory_names_gold(tmp_path: Path, capsys) -> None:
    """--gold naming a directory of no Parquet files said only "directory 'x' holds no .parquet files"."""
    df, _ = simulated_frame(4)
    df.to_csv(tmp_path / "j.csv", index=False)
    (tmp_path / "empty").mkdir()
    rc, _, err = run(["aggregate", tmp_path / "j.csv", "--task-col", "item", "--worker-col", "annotator",
                      "--label-col", "answer", "-m", "mv", "--gold", tmp_path / "empty"], capsys)
    assert rc == 2 and f"cannot read --gold {str(tmp_path / 'empty')!r}: directory" in err
    assert "holds no .parquet files" in err


# --- numba without a writable cache (a root install run by another user with HOME=/, a read-only container)
def _galton_without_numba_cache(tmp_path: Path) -> dict[str, str]:
    """A copy of galton whose kernels numba can cache neither next to the sources (``__pycache__``
    is a file) nor in the user's cache directory (``XDG_CACHE_HOME`` is a file): numba's
    ``@njit(cache=True)`` then raises "no locator available" at import, as in a read-only install."""
    import shutil

    copy = tmp_path / "site"
    shutil.copytree(REPO / "galton", copy / "galton", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in (copy / "galton" / "aggregator").rglob("*"):
        if folder.is_dir():
            (folder / "__pycache__").write_text("")
    (copy / "galton" / "aggregator" / "__pycache__").write_text("")
    (tmp_path / "no_cache_home").write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "GALTON_NUMBA", "GALTON_NO_NUMBA")}
    return {**env, "PYTHONPATH": str(copy), "XDG_CACHE_HOME": str(tmp_path / "no_cache_home"),
            "HOME": str(tmp_path / "no_cache_home")}


@pytest.mark.skipif(not _jit.HAVE_NUMBA, reason="numba is not installed or switched off")
def test_numba_without_a_writable_cache_compiles_into_a_temporary_directory(tmp_path: Path) -> None:
    # it raised "RuntimeError: cannot cache function '_psi_series': no locator available" (exit 2)
    env = _galton_without_numba_cache(tmp_path)
    labels = {}
    for numba_on in ("1", "0"):
        out_path = tmp_path / f"r{numba_on}.csv"
        proc = subprocess.run(
            [sys.executable, "-m", "galton", "aggregate", "bundled:welinder_bluebirds", "-m", "ds",
             "-o", str(out_path)],
            capture_output=True, text=True, env={**env, "GALTON_NUMBA": numba_on}, cwd=tmp_path, timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        labels[numba_on] = read_any(out_path)["label"].to_list()
        if numba_on == "1":  # one warning, naming the way to keep the compiled kernels; the directory is gone
            assert proc.stderr.count("warning: numba cannot write its cache") == 1, proc.stderr
            assert "set NUMBA_CACHE_DIR to a writable directory" in proc.stderr
            temp = proc.stderr.split("temporary directory ")[1].split()[0]
            assert Path(temp).name.startswith("galton-numba-") and not Path(temp).exists()
        else:
            assert "numba" not in proc.stderr
    expected = galton.DawidSkene().fit_predict(datasets.load("welinder_bluebirds", frame="pandas").judgments)
    assert labels["1"] == labels["0"] == expected.tolist()


def test_numba_without_any_writable_cache_runs_the_numpy_kernels_with_a_warning(tmp_path: Path) -> None:
    # not even a temporary directory (tempfile's folder is a file): the numpy twins, one warning, same labels
    env = _galton_without_numba_cache(tmp_path)
    (tmp_path / "no_tmp").write_text("")
    script = (
        "import tempfile, warnings, galton\n"
        f"tempfile.tempdir = {str(tmp_path / 'no_tmp')!r}\n"
        "from galton import datasets\n"
        "from galton.aggregator import _jit\n"
        "df = datasets.load('welinder_bluebirds', frame='pandas').judgments\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    labels = galton.DawidSkene().fit_predict(df).tolist()\n"
        "print(_jit.use_numba(), sum('numba cannot write its cache' in str(w.message) for w in caught))\n"
        "print(caught[0].message if caught else '')\n"
        "print(labels)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    state, message, labels = proc.stdout.splitlines()
    assert state == "False 1" and "numpy kernels" in message and "NUMBA_CACHE_DIR" in message
    expected = galton.DawidSkene().fit_predict(datasets.load("welinder_bluebirds", frame="pandas").judgments)
    assert labels == str(expected.tolist())


def test_bench_where_every_fit_failed_exits_with_1_and_says_so(tmp_path: Path, capsys) -> None:
    """`galton bench --models kos` on five-label data exited 0 with no crowd curve (tables/curves
    missing): every fit had failed. It now exits with 1 and a line naming the failure, the report
    written; a study where some model fits still exits with 0."""
    common = ["--datasets", "act_cf", "--k", "1,3", "--repeats", "2", "--bootstrap", "10", "--engine", "local",
              "--no-plots", "-q"]
    rc, out, err = run(["bench", *common, "--models", "kos", "--out", tmp_path / "b"], capsys)
    assert rc == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith("galton: error: no model produced a result: every fit failed (kos on act_cf: KOS is for "
                          "binary labels only")
    tables = tmp_path / "b" / "tables"
    assert (tables / "runs.parquet").exists() and not (tables / "curves.parquet").exists()
    rc, _, err = run(["bench", *common, "--models", "kos,mv", "--out", tmp_path / "c"], capsys)
    assert rc == 0 and err == "" and (tmp_path / "c" / "tables" / "curves.parquet").exists()


def test_bench_refuses_a_memory_limit_that_is_no_size_before_any_fit(tmp_path: Path, capsys,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a CLI hunt: GALTON_MAX_MEMORY=abc made every fit of galton bench fail, which then wrote a
    report of failures and exited 1; aggregate and allocate refuse it with exit 2. bench does too now,
    before writing anything."""
    monkeypatch.setenv("GALTON_MAX_MEMORY", "abc")
    common = ["--datasets", "act_cf", "--models", "mv", "--k", "1", "--repeats", "1", "--bootstrap", "10",
              "--engine", "local", "--no-plots", "-q"]
    for study in ([], ["--study", "allocation"]):
        argv = [*common, "--out", tmp_path / "b"] if not study else [*study, "--datasets", "act_cf", "--models",
                                                                     "mv", "--repeats", "1", "--engine", "local",
                                                                     "--no-plots", "-q", "--out", tmp_path / "b"]
        rc, out, err = run(["bench", *argv], capsys)
        assert rc == 2 and out == "" and err.count("\n") == 1, err
        assert err.startswith("galton: error: environment variable GALTON_MAX_MEMORY: cannot read 'abc' as a memory "
                              "size"), err
        assert not (tmp_path / "b").exists()


def test_bench_says_when_galton_shared_datasets_names_no_folder(tmp_path: Path, capsys,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a CLI hunt: GALTON_SHARED_DATASETS=/nonexistent galton bench --datasets zhou_web said
    "unknown dataset 'zhou_web'; bundled: ...", never that the variable points nowhere; with --study
    allocation the message said "pass root=<folder>", Python's words on the command line."""
    import galton.datasets._shared as shared

    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(tmp_path / "nonexistent"))
    said = f"the environment variable GALTON_SHARED_DATASETS={str(tmp_path / 'nonexistent')!r} names no folder"
    common = ["--datasets", "zhou_web", "--models", "mv", "--repeats", "1", "--engine", "local", "--no-plots", "-q",
              "--out", tmp_path / "b"]
    for argv in (["--k", "1", "--bootstrap", "10", *common], ["--study", "allocation", *common]):
        rc, out, err = run(["bench", *argv], capsys)
        assert rc == 2 and said in err and "root=" not in err, err
    monkeypatch.delenv("GALTON_SHARED_DATASETS")  # no folder found where galton looks: the variable to set
    monkeypatch.setattr(shared, "_candidates", lambda root: [tmp_path / "none"] if root is None else [Path(root)])
    rc, out, err = run(["bench", "--study", "allocation", *common], capsys)
    assert rc == 2 and "shared datasets folder not found" in err and "root=" not in err, err
    assert "; set GALTON_SHARED_DATASETS to the folder that holds one sub-directory per dataset" in err


def test_small_help_mismatches_found_by_a_cli_hunt(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """bench --datasets offers 'bundled' and 'all', which --study allocation looked for as data sets
    ("no dataset named 'bundled' in ..."); "a crowd study needs categorical models: ..." listed gold_mv,
    refused next; `galton models default` was unknown though `bench --models default` runs it; and
    `simulate --out ''` simulated into the working directory, reported as '.'."""
    monkeypatch.chdir(tmp_path)
    rc, _, err = run(["bench", "--study", "allocation", "--datasets", "act_cf,bundled", "--engine", "local",
                      "--no-plots", "-q", "--out", tmp_path / "b"], capsys)
    assert rc == 2 and "--study allocation replays the data sets it is given by name, not 'bundled'" in err, err
    rc, out, _ = run(["bench", "--help"], capsys)
    assert "'bundled' or 'all' but with --study allocation" in " ".join(out.split())
    rc, _, err = run(["bench", "--models", "bt", "--datasets", "act_cf", "--k", "1", "--repeats", "1", "--bootstrap",
                      "10", "--engine", "local", "--no-plots", "-q", "--out", tmp_path / "b"], capsys)
    listed = err.split("a crowd study needs categorical models: ")[1].strip().split(", ")
    assert rc == 2 and "gold_mv" not in listed and {"mv", "ds", "bds"} <= set(listed), err
    rc, _, err = run(["bench", "--models", "gold_mv", "--datasets", "act_cf", "--k", "1", "--repeats", "1",
                      "--bootstrap", "10", "--engine", "local", "--no-plots", "-q", "--out", tmp_path / "b"], capsys)
    assert rc == 2 and "needs gold labels to fit" in err  # why it is not listed
    rc, default, err = run(["models", "default"], capsys)
    rc_bds, bds, _ = run(["models", "bds"], capsys)
    assert rc == rc_bds == 0 and default == bds and default.startswith("bds: galton.BayesianDawidSkene"), err
    rc, out, err = run(["simulate", "--n-tasks", "10", "--n-workers", "6", "--out", ""], capsys)
    assert rc == 2 and err == "galton: error: --out must name a directory for the simulation, not ''\n", err
    assert os.listdir(tmp_path) == []
