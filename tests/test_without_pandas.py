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
