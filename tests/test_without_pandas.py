"""galton without pandas (it is the ``pandas`` extra): polars and Arrow work as they do with pandas
installed, and what does need pandas says so, naming the extra. Each check runs in a fresh
interpreter where pandas cannot be imported (as if not installed: a finder that refuses it, since
``sys.modules['pandas'] = None`` breaks pyarrow's own probe for pandas)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

import galton

ROOT = Path(galton.__file__).resolve().parent.parent

HIDE_PANDAS = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})


class _NoPandas:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _NoPandas())
"""


def without_pandas(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in which pandas cannot be imported; it fails the test when
    pandas was imported anyway."""
    script = HIDE_PANDAS + textwrap.dedent(code) + "\nassert sys.modules.get('pandas') is None\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALTON_")}
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


def ok(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


# ------------------------------------------------------------------------------ predict on new data
CATEGORICAL = pl.DataFrame({
    "task": ["t1", "t1", "t1", "t2", "t2", "t2", "t3", "t3", "t3", "t4", "t4", "t4", "t5", "t5"],
    "worker": ["a", "b", "c", "a", "b", "c", "a", "b", "c", "a", "b", "c", "a", "c"],
    "label": ["x", "x", "y", "y", "y", "y", "x", "y", "x", "z", "z", "x", "x", "y"],
})
GOLD = pl.DataFrame({"task": ["t1", "t2"], "label": ["x", "y"]})
MODELS = ("mv", "ds", "bds", "one_coin_ds", "wawa", "zbs", "gold_mv", "mmsr")


#: each model fitted on ``judgments``, its predict / predict_proba on them (and MMSR's predict_score)
#: written to ``out`` as Parquet: the same code runs here and without pandas
PREDICTIONS = f"""
import warnings
from pathlib import Path

import polars as pl

import galton

warnings.simplefilter("ignore")
judgments, gold, out = pl.read_parquet("judgments.parquet"), pl.read_parquet("gold.parquet"), Path(OUT)
for name in {MODELS!r}:
    fitted = galton.aggregate(judgments, name, gold=gold if name == "gold_mv" else None, random_state=0)
    fitted.predict(judgments).write_parquet(out / f"{{name}}_labels.parquet")
    fitted.predict_proba(judgments).write_parquet(out / f"{{name}}_probas.parquet")
    if name == "mmsr":
        fitted.predict_score(judgments).write_parquet(out / f"{{name}}_scores.parquet")
"""


def test_predict_on_polars_needs_no_pandas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug hunt: without pandas, predict / predict_proba on polars or Arrow failed with "No module named
    'pandas'" for every model that lays pandas results out as crowd-kit does (mv, ds, bds, one_coin_ds,
    wawa, zbs, gold_mv, mmsr and MMSR.predict_score): the layout imported pandas before it asked whether
    the result was a pandas object. They give the polars frames a run with pandas installed gives."""
    (tmp_path / "here").mkdir(), (tmp_path / "there").mkdir()
    CATEGORICAL.write_parquet(tmp_path / "judgments.parquet")
    GOLD.write_parquet(tmp_path / "gold.parquet")
    monkeypatch.chdir(tmp_path)
    exec(PREDICTIONS, {"OUT": "here"})
    ok(without_pandas("OUT = 'there'\n" + PREDICTIONS, tmp_path))
    files = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert len(files) == 2 * len(MODELS) + 1 and files == sorted(p.name for p in (tmp_path / "there").iterdir())
    for name in files:
        mine, theirs = pl.read_parquet(tmp_path / "here" / name), pl.read_parquet(tmp_path / "there" / name)
        assert theirs.equals(mine), name
    labels = pl.read_parquet(tmp_path / "there" / "mv_labels.parquet").sort("task")
    assert labels["label"].to_list() == ["x", "y", "x", "z", "x"]


# ------------------------------------------------------------------------------ pandas-free paths
def test_zoned_timestamp_ids_need_no_pandas(tmp_path: Path) -> None:
    """Bug hunt: task ids of type Datetime(time_zone='UTC') were turned into Python values by pandas
    (``to_pandas``), so a fit, gold for them and ``galton aggregate tz.parquet`` failed without it.
    Arrow's own datetimes carry the zone; only ids with nanoseconds, which a datetime cannot hold, need
    pandas Timestamps, and say so."""
    out = ok(without_pandas("""
        import datetime as dt, json
        import polars as pl, pyarrow as pa
        import galton
        from galton.cli import main

        hours = [dt.datetime(2024, 1, 1, h, tzinfo=dt.timezone.utc) for h in range(3)]
        df = pl.DataFrame({"task": [hours[i] for i in (0, 0, 0, 1, 1, 1, 2, 2)], "worker": list("abcabcab"),
                           "label": list("xxyyyxxy")})
        fitted = galton.aggregate(df, "mv", gold=pl.DataFrame({"task": [hours[2]], "label": ["y"]}))
        labels = fitted.labels_.sort("task")
        df.write_parquet("tz.parquet")
        rc = main(["aggregate", "tz.parquet", "--model", "mv", "--output", "out.csv", "-q"])
        ns = pa.table({"task": pa.array([0, 0, 1, 1], pa.timestamp("ns", tz="UTC")), "worker": list("abab"),
                       "label": list("xxyy")})
        try:
            galton.aggregate(ns, "mv")
            refused = ""
        except ImportError as exc:
            refused = str(exc)
        print(json.dumps({"dtype": str(labels.schema["task"]), "tasks": [t.isoformat() for t in labels["task"]],
                          "labels": labels["label"].to_list(), "rc": rc,
                          "csv": open("out.csv").read().splitlines()[1:], "refused": refused}))
        """, tmp_path))
    import json

    got = json.loads(out.splitlines()[-1])
    assert got["dtype"] == "Datetime(time_unit='us', time_zone='UTC')"
    assert got["tasks"] == [f"2024-01-01T0{h}:00:00+00:00" for h in range(3)]
    assert got["labels"] == ["x", "y", "y"]  # task 2 is a tie (x, y): gold says y
    assert got["rc"] == 0
    rows = [line.split(",")[:2] for line in got["csv"]]  # task 2 is a tie without gold here
    assert [r[0] for r in rows] == [f"2024-01-01T0{h}:00:00.000000+0000" for h in range(3)]
    assert [r[1] for r in rows[:2]] == ["x", "y"]
    assert got["refused"] == ("time-zoned timestamp ids with nanoseconds needs pandas, which is not installed: "
                              "pip install 'galton[pandas]'")


def _shared_set(root: Path) -> None:
    """A small shared data set ``tiny``: integer tasks, text workers and labels (one empty), gold as text
    ids (with one task no judgment has), so the replay's coding has something to get wrong."""
    d = root / "tiny"
    d.mkdir(parents=True)
    rows = [(t, w, ("no", "yes")[(t + (w == "c")) % 2]) for t in (3, 1, 2, 0, 5) for w in "cab"]
    rows[4] = (1, "a", "")
    (d / "judgments.csv").write_text("task,worker,label\n" + "".join(f"{t},{w},{lab}\n" for t, w, lab in rows))
    (d / "gold.csv").write_text("task,label\n0,no\n1,yes\n5,yes\n9,no\n")


def test_allocation_replay_needs_no_pandas(tmp_path: Path) -> None:
    """Bug hunt: `galton bench --study allocation` read its data sets in pandas (frame="pandas" and
    pd.factorize): "No module named 'pandas'". Now polars and numpy, with the codes pandas gave: ids and
    labels in sorted order, the empty label's row left out, gold text ids found among integer tasks."""
    import json

    _shared_set(tmp_path / "shared")
    out = ok(without_pandas(f"""
        import json, os
        os.environ["GALTON_SHARED_DATASETS"] = {str(tmp_path / "shared")!r}
        from galton.benchmarks.allocation import load_replay_data
        from galton.cli import main

        d = load_replay_data("tiny")
        rc = main(["bench", "--study", "allocation", "--datasets", "tiny", "--models", "mv", "--repeats", "1",
                   "--no-plots", "-q", "--out", "report"])
        print(json.dumps({{"task": d.task.tolist(), "worker": d.worker.tolist(), "label": d.label.tolist(),
                          "gold": d.gold.tolist(), "names": d.label_names, "rc": rc}}))
        """, tmp_path))
    got = json.loads(out)
    # rows in file order, tasks 3, 1, 2, 0, 5 (codes 3, 1, 2, 0, 4), workers c, a, b (codes 2, 0, 1); task 1's
    # worker a gave no label
    assert got["task"] == [3, 3, 3, 1, 1, 2, 2, 2, 0, 0, 0, 4, 4, 4]
    assert got["worker"] == [2, 0, 1, 2, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1]
    label = [("no", "yes")[(t + (w == "c")) % 2] for t in (3, 1, 2, 0, 5) for w in "cab"]
    del label[4]
    assert got["names"] == ["no", "yes"] and got["label"] == [("no", "yes").index(v) for v in label]
    assert got["gold"] == [0, 1, -1, -1, 1]  # tasks 0..3, 5; gold for task 9 has no judgment
    assert got["rc"] == 0 and "## tiny" in (tmp_path / "report" / "report.md").read_text()


@pytest.mark.filterwarnings("ignore:DawidSkene did not converge")
def test_initial_error_as_a_polars_errors_table_needs_no_pandas(tmp_path: Path) -> None:
    """Bug hunt: DawidSkene(initial_error_strategy="addition").fit(d, initial_error=<a polars fit's
    errors_>) pivoted the long table with pandas. Pivoted without it, the warm start gives the
    probabilities crowd-kit's error frame (a pandas fit's errors_) gives."""
    import numpy as np
    import pandas as pd

    from galton import DawidSkene

    df = CATEGORICAL.to_pandas()
    start = DawidSkene(n_iter=2).fit(df)
    warm = DawidSkene(initial_error_strategy="addition", n_iter=3, tol=-np.inf)
    want = warm.fit(df, initial_error=start.errors_).probas_
    assert np.abs(want.to_numpy() - DawidSkene(n_iter=3, tol=-np.inf).fit(df).probas_.to_numpy()).max() > 1e-3
    CATEGORICAL.write_parquet(tmp_path / "judgments.parquet")
    ok(without_pandas("""
        import numpy as np, polars as pl
        from galton import DawidSkene

        d = pl.read_parquet("judgments.parquet")
        long = DawidSkene(n_iter=2).fit(d).errors_
        warm = DawidSkene(initial_error_strategy="addition", n_iter=3, tol=-np.inf)
        warm.fit(d, initial_error=long.sample(fraction=1.0, shuffle=True, seed=1)).probas_.write_parquet("p.parquet")
        """, tmp_path))
    got = pl.read_parquet(tmp_path / "p.parquet")
    assert got["task"].to_list() == want.index.tolist()
    assert isinstance(want, pd.DataFrame) and got.columns[1:] == [f"p_{c}" for c in want.columns]
    np.testing.assert_allclose(got.drop("task").to_numpy(), want.to_numpy(), rtol=0, atol=1e-12)


def test_multilabel_metrics_need_no_pandas(tmp_path: Path) -> None:
    """Bug hunt: metrics.consistency / accuracy_on_aggregates with BinaryRelevance on polars converted
    the judgments to pandas for the model and read its tag sets back through a pandas Series. galton's
    BinaryRelevance reads the list column itself. By hand, per tag a majority: t1 {a}, t2 {b}, t3 {},
    t4 {a, b}; 8 of the 12 judgments equal their task's set."""
    out = ok(without_pandas("""
        import json
        import polars as pl
        from galton import BinaryRelevance, MajorityVote, metrics

        tags = pl.DataFrame({"task": [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3, "worker": [1, 2, 3] * 4,
                             "label": [["a"], ["a", "b"], ["a"], ["b"], ["b"], ["a"], [], ["a"], [], ["a", "b"],
                                       ["b", "a"], ["b"]]})
        skills = {1: 0.9, 2: 0.6, 3: 0.7}
        print(json.dumps({
            "accuracy": metrics.accuracy_on_aggregates(tags, BinaryRelevance(MajorityVote())),
            "by_worker": metrics.accuracy_on_aggregates(tags.to_arrow(), BinaryRelevance(MajorityVote()),
                                                        by="worker").to_pylist(),
            "consistency": metrics.consistency(tags, skills, BinaryRelevance(MajorityVote())),
            "plain": metrics.consistency(tags, skills)}))
        """, tmp_path))
    import json

    got = json.loads(out)
    assert got["accuracy"] == pytest.approx(8 / 12)
    assert got["by_worker"] == [{"worker": 1, "accuracy": 1.0}, {"worker": 2, "accuracy": 0.5},
                                {"worker": 3, "accuracy": 0.5}]
    assert got["consistency"] == pytest.approx(got["plain"])  # the same sets as the default's majority


def test_what_needs_pandas_says_so_and_names_the_extra(tmp_path: Path) -> None:
    """Bug hunt: galton.RASA().fit_predict(polars) and aggregate(..., output="pandas") failed with a bare
    "No module named 'pandas'"; RASA's own check says it reads a pandas frame, and every feature that
    needs pandas says which extra installs it, as load_dataset(frame="pandas") did."""
    out = ok(without_pandas("""
        import json
        import polars as pl
        import galton

        emb = pl.DataFrame({"task": [1, 1], "worker": [1, 2], "output": ["a", "b"],
                            "embedding": [[0.0, 1.0], [1.0, 0.0]]})
        said = {}
        for name, call in [("rasa", lambda: galton.RASA().fit_predict(emb)),
                           ("hrrasa", lambda: galton.HRRASA().fit_predict(emb)),
                           ("output", lambda: galton.aggregate(emb.select("task", "worker", label="output"), "mv",
                                                               output="pandas")),
                           ("frame", lambda: galton.load_dataset("act_cf", frame="pandas"))]:
            try:
                call()
            except (TypeError, ImportError) as exc:
                said[name] = [type(exc).__name__, str(exc)]
        print(json.dumps(said))
        """, tmp_path))
    import json

    got = json.loads(out)
    extra = "pip install 'galton[pandas]'"
    for name in ("rasa", "hrrasa"):
        assert got[name] == ["TypeError", "embedding models read(s) a pandas DataFrame with columns task, worker, "
                                          f"embedding, output; pandas is not installed: {extra}"]
    assert got["output"] == ["ImportError", f"output='pandas' needs pandas, which is not installed: {extra}"]
    assert got["frame"] == ["ImportError", f"frame='pandas' needs pandas, which is not installed: {extra}"]
