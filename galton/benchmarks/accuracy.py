"""Accuracy of every registered galton model and of crowd-kit's models on real datasets with gold.

Run ``python -m galton.benchmarks.accuracy [--datasets ...] [--models ...] [--no-lodo] [--out FILE.md]``.

What is measured
----------------
- Datasets: every bundled dataset (:func:`galton.datasets.load`) and every other dataset of the
  shared folder (:func:`galton.datasets.load_shared`, when ``../shared/datasets`` is present) that
  has categorical gold labels: numeric rating sets (:func:`galton.datasets.is_numeric`) and sets
  without ``gold`` (``dawid_skene_1979``) are left out.
- Accuracy: the share of gold tasks *that have judgments* whose aggregated label equals the gold
  label (a task the model returns no label for counts as wrong).
- Models: ``galton:<name>`` for every name in :func:`galton.aggregator.names` and, when crowd-kit is
  importable, ``crowdkit:<name>`` for MV, Wawa, ZeroBasedSkill, DS, OneCoinDS, GLAD, MACE, KOS and
  MMSR (on datasets under 10,000 judgments only: its sign step builds dense matrices over worker
  pairs, 13 GB at 1,000 workers).
  All with default hyperparameters (galton models get ``random_state=0`` so runs repeat). A model
  that raises on a dataset (KOS on non-binary labels, say) shows ``n/a``. crowd-kit's GLAD is slow
  (about 10 s per iteration on 20k judgments here), so it runs only on datasets with fewer than
  ``--glad-max-judgments`` (30,000) judgments and shows ``skipped (slow)`` elsewhere. Every
  crowd-kit fit also has a time budget (``--time-budget``, 180 s): it runs in a forked process
  that is killed when over budget; datasets run smallest first, and a model that ran out of time
  is ``skipped (slow)`` on every larger dataset (its MACE takes a minute on 2k judgments here).
- Fit time: wall-clock seconds of ``fit`` per model and dataset (one run, data already in memory;
  every galton model is first fitted once on a tiny frame so that numba compilation is not timed).
- The default model's mean in-sample (its priors were chosen on these datasets) and
  leave-one-dataset-out over a grid of its hyperparameters (:mod:`galton.benchmarks.lodo`; about
  25 s; ``--no-lodo`` leaves it out).
- Majority vote reference: ``galton:mv`` when registered, else a plain majority vote computed here
  (``ref:MV``, ties to the lowest label in sorted order, galton's tie rule).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .._extras import import_pandas
from ._accuracy_report import (MV_REF, PUBLISHED, PUBLISHED_NAMES, AccuracyResult, Cell, accuracy_table, as_fitted,
                               calibration_of, calibration_table, published_table, render, task_temperatures_of,
                               time_table, versus_best, versus_crowdkit, versus_mv)
from ._common import emit, split_names

__all__ = [
    "ModelSpec", "Cell", "AccuracyResult", "PUBLISHED", "dataset_names", "load_dataset", "galton_specs",
    "crowdkit_specs", "dataset_with_gold", "accuracy_of", "run_accuracy", "render", "main", "MV_REF", "PUBLISHED_NAMES",
    "accuracy_table", "published_table", "time_table", "versus_best", "versus_crowdkit", "versus_mv",
    "calibration_of", "calibration_table",
]

log = logging.getLogger("galton.benchmarks.accuracy")

#: crowd-kit models compared, by the short name used in the columns.
CROWDKIT_MODELS = ("MV", "Wawa", "ZeroBasedSkill", "DS", "OneCoinDS", "GLAD", "MACE", "KOS", "MMSR")
_CROWDKIT_CLASSES = {"MV": "MajorityVote", "DS": "DawidSkene", "OneCoinDS": "OneCoinDawidSkene"}

GLAD_MAX_JUDGMENTS = 30_000
#: crowd-kit's MMSR builds dense matrices over worker pairs (13 GB at 1,000 workers): small data only
MMSR_MAX_JUDGMENTS = 10_000
TIME_BUDGET_S = 180.0  # per crowd-kit fit; its MACE takes about a minute on 2k judgments here
NO_GOLD = frozenset({"dawid_skene_1979"})


# ------------------------------------------------------------------------------------ data
@dataclass
class ModelSpec:
    """One column of the table: how to build a fresh model and which datasets it skips."""

    column: str
    make: Callable[[], Any]
    max_judgments: int | None = None  # larger datasets show "skipped (slow)"
    binary_only: bool = False  # non-binary datasets show "n/a" without a run
    budget_s: float | None = None  # fit in a forked child, killed after this many seconds


def dataset_names(requested: Sequence[str] | None = None) -> list[str]:
    """Categorical datasets with gold: bundled ones plus the shared folder's others (when present)."""
    from .. import datasets as gd

    from ..datasets._bundled import DATA_DIR

    avail = [n for n in gd.names() if (DATA_DIR / n / "gold.parquet").is_file()]
    root = gd.shared_root()
    if root is not None:
        avail += [n for n in gd.shared_names() if n not in avail and (root / n / "gold.csv").is_file()]
    usable = sorted(n for n in avail if not gd.is_numeric(n) and n not in NO_GOLD)
    if requested is None:
        return usable
    unknown = [n for n in requested if n not in usable]
    if unknown:
        raise ValueError(f"unknown or unusable datasets {unknown} (numeric or without gold, or "
                         f"../shared/datasets missing); usable: {', '.join(usable)}")
    return list(requested)


def dataset_with_gold(name: str) -> Any:
    """Data set ``name`` (polars frames), refused when it has no gold; bundled copy first
    (``shared:NAME`` / ``bundled:NAME``: that copy, as the crowd study reads them)."""
    from ._sources import load_named_dataset

    ds, _ = load_named_dataset(name)  # an unknown name is refused listing the data sets there are
    if ds.gold is None:
        raise ValueError(f"dataset {name!r} has no gold labels; leave it out of the accuracy benchmark")
    return ds


def load_dataset(name: str) -> tuple[Any, Any]:
    """(judgments frame, gold Series indexed by task) in pandas (crowd-kit's models read it); the data
    set of :func:`dataset_with_gold`."""
    ds = dataset_with_gold(name)
    import_pandas("the accuracy benchmark")
    ds = ds._replace(judgments=ds.judgments.to_pandas(), gold=ds.gold.to_pandas())
    from .._gold import gold_rows
    from ._sources import labels_like

    try:  # one row per task; two labels for one task refused as `galton aggregate --gold` refuses them
        keep = gold_rows(ds.gold["task"].tolist(), ds.gold["label"].tolist())
    except ValueError as exc:
        raise ValueError(f"dataset {name!r}: {exc}") from None
    gold = ds.gold.iloc[keep].set_index("task")["label"]
    known = gold.notna().to_numpy()  # in the judgments' label type (shared tables are typed one by one)
    given = gold[known].tolist()
    typed = labels_like(given, ds.judgments["label"].dropna().unique().tolist())
    if typed != given:  # gold 1 for the judgments' "1" (1 == 1.0: a number stays as it is)
        gold = gold.astype(object)
        gold[known] = typed
    return ds.judgments, gold


def accuracy_of(labels: Any, gold: Any, judgments: Any) -> float:
    """Share of gold tasks that have judgments whose predicted label equals gold.

    ``labels`` is a Series (or one-column frame) indexed by task; a missing prediction is wrong."""
    if hasattr(labels, "columns"):  # a one-column frame
        labels = labels.iloc[:, 0]
    tasks = gold.index[gold.index.isin(judgments["task"].unique())]
    if len(tasks) == 0:
        raise ValueError("no gold task has judgments")
    pred = labels.reindex(tasks).to_numpy(dtype=object)
    truth = gold.loc[tasks].to_numpy(dtype=object)
    return float(np.mean([p == t for p, t in zip(pred, truth)]))


def majority_vote(judgments: Any) -> Any:
    """Plain majority vote, ties to the lowest label in sorted order (galton's tie rule)."""
    import pandas as pd

    counts = judgments.groupby(["task", "label"]).size().rename("n").reset_index()
    counts = counts.sort_values(["task", "n", "label"], ascending=[True, False, True], kind="stable")
    top = counts.drop_duplicates("task")
    return pd.Series(top["label"].to_numpy(), index=top["task"].to_numpy())


# ------------------------------------------------------------------------------------ models
#: values of a model class's ``kind`` attribute that mean "one categorical label per task"
CATEGORICAL_KINDS = frozenset({None, "categorical"})


def categorical_models() -> tuple[list[str], dict[str, str]]:
    """Registered galton models that aggregate categorical labels, and the others with their kind
    (ratings, pairwise comparisons, choices: they do not belong in an accuracy-vs-gold table)."""
    from .. import aggregator

    keep, other = [], {}
    for name in aggregator.names():
        kind = getattr(aggregator.get(name), "kind", None)
        if kind in CATEGORICAL_KINDS:
            keep.append(name)
        else:
            other[name] = str(kind)
    return keep, other


def galton_specs(names: Sequence[str] | None = None) -> list[ModelSpec]:
    """One spec per registered categorical galton model (default hyperparameters, random_state=0)."""
    from .. import aggregator

    registered = aggregator.names()
    chosen = categorical_models()[0] if names is None else [n for n in names if n in registered]

    def factory(name: str) -> Callable[[], Any]:
        def make() -> Any:
            model = aggregator.create(name)
            if "random_state" in model.get_params():
                model.set_params(random_state=0)
            return model
        return make

    return [ModelSpec(f"galton:{n}", factory(n)) for n in chosen]


def crowdkit_specs(names: Sequence[str] | None = None,
                   glad_max_judgments: int | None = GLAD_MAX_JUDGMENTS,
                   budget_s: float | None = TIME_BUDGET_S) -> list[ModelSpec]:
    """crowd-kit's models with their defaults; [] when crowd-kit is not importable."""
    try:
        from crowdkit import aggregation as ck
    except Exception as exc:  # noqa: BLE001 - crowd-kit is optional (broken on sklearn >= 1.8)
        log.warning("crowd-kit not importable (%s); its columns are left out", exc)
        return []
    if names is not None:
        wanted = {n.lower() for n in names}
        unknown = wanted - {m.lower() for m in CROWDKIT_MODELS}
        if unknown:
            raise ValueError(f"unknown crowd-kit models {sorted(unknown)}; choose from {', '.join(CROWDKIT_MODELS)}")
    specs = []
    for short in CROWDKIT_MODELS if names is None else [m for m in CROWDKIT_MODELS if m.lower() in wanted]:
        cls = getattr(ck, _CROWDKIT_CLASSES.get(short, short))
        specs.append(ModelSpec(f"crowdkit:{short}", cls,
                               max_judgments={"GLAD": glad_max_judgments, "MMSR": MMSR_MAX_JUDGMENTS}.get(short),
                               binary_only=short == "KOS", budget_s=budget_s))
    return specs


def _fit_labels(model: Any, judgments: Any) -> Any:
    """``fit_predict``: crowd-kit's Wawa and ZeroBasedSkill set ``labels_`` only in ``predict``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit_predict(judgments)


def _fit_cell(spec: ModelSpec, judgments: Any, gold: Any) -> Cell:
    try:
        model = spec.make()
        t0 = time.perf_counter()
        labels = _fit_labels(model, judgments)
        seconds = time.perf_counter() - t0
        probas = getattr(model, "probas_", None)
        temperature = task_temperatures_of(model, probas)
        return Cell(accuracy_of(labels, gold, judgments), seconds, calibration=calibration_of(probas, gold),
                    calibration_as_fitted=(calibration_of(as_fitted(probas, temperature), gold)
                                           if temperature is not None and probas is not None else None))
    except Exception as exc:  # noqa: BLE001 - any failure of one model on one dataset is a table cell
        return Cell(status="n/a", error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}")


def _child_fit(spec: ModelSpec, judgments: Any, gold: Any, conn: Any) -> None:
    conn.send(_fit_cell(spec, judgments, gold))
    conn.close()


def _fit_with_budget(spec: ModelSpec, judgments: Any, gold: Any, budget_s: float) -> Cell:
    """Fit in a forked child process and kill it after ``budget_s`` seconds."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_fit, args=(spec, judgments, gold, send), daemon=True)
    proc.start()
    send.close()
    try:
        if recv.poll(budget_s):
            return recv.recv()
        return Cell(status="skipped (slow)", error=f"no result within the {budget_s:.0f} s budget")
    except EOFError:
        return Cell(status="n/a", error=f"the fit process died (exit code {proc.exitcode})")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        recv.close()


def _run_cell(spec: ModelSpec, judgments: Any, gold: Any, n_labels: int) -> Cell:
    if spec.max_judgments is not None and len(judgments) >= spec.max_judgments:
        return Cell(status="skipped (slow)",
                    error=f"runs only on datasets with fewer than {spec.max_judgments:,} judgments")
    if spec.binary_only and n_labels != 2:
        return Cell(status="n/a", error="binary labels only")
    if spec.budget_s is not None and hasattr(os, "fork"):
        return _fit_with_budget(spec, judgments, gold, spec.budget_s)
    return _fit_cell(spec, judgments, gold)


def _warm_up(specs: Sequence[ModelSpec]) -> None:
    """Fit each model once on a tiny simulated frame, untimed, so that numba's compilation (or
    loading its cache) is not counted in the first dataset's fit time."""
    from ._common import simulate_ds, to_pandas

    tiny = to_pandas(simulate_ds(40, 8, 2, 3, seed=0))
    for spec in specs:
        try:
            _fit_labels(spec.make(), tiny)
        except Exception:  # noqa: BLE001 - a model that fails here fails (and is reported) later
            pass


def run_accuracy(datasets: Sequence[str] | dict[str, tuple[Any, Any]], specs: Sequence[ModelSpec],
                 default_column: str | None = None, mv_column: str | None = None) -> AccuracyResult:
    """Fit every spec on every dataset.

    Parameters
    ----------
    datasets : dataset names, or a dict name -> (judgments frame, gold Series by task)
    specs : the model columns
    default_column : the column of galton's default model (compared with majority vote)
    mv_column : the majority-vote column; None adds ``ref:MV`` (ties to the lowest label)
    """
    columns = [s.column for s in specs]
    if mv_column is None:
        columns.append(MV_REF)
    names = list(datasets)
    _warm_up([s for s in specs if s.column.startswith("galton:")])
    result = AccuracyResult(names, columns, {}, default_column=default_column,
                            mv_column=mv_column or MV_REF)
    loaded = {n: (datasets[n] if isinstance(datasets, dict) else load_dataset(n)) for n in names}
    too_slow: dict[str, int] = {}  # column -> smallest dataset size on which it ran out of time
    for name in sorted(names, key=lambda n: len(loaded[n][0])):  # small first: overruns skip larger sets
        judgments, gold = loaded[name]
        n_labels = int(judgments["label"].nunique())
        n_gold = int(gold.index.isin(judgments["task"].unique()).sum())
        result.sizes[name] = (len(judgments), n_gold, n_labels)
        row: dict[str, Cell] = {}
        for spec in specs:
            log.info("%s (%s judgments): %s", name, f"{len(judgments):,}", spec.column)
            too_big = spec.max_judgments is not None and len(judgments) >= spec.max_judgments
            if spec.column in too_slow and not too_big:
                row[spec.column] = Cell(status="skipped (slow)", error=(
                    f"over its {spec.budget_s:.0f} s budget on a dataset of {too_slow[spec.column]:,} judgments"))
                continue
            row[spec.column] = cell = _run_cell(spec, judgments, gold, n_labels)
            if cell.status == "skipped (slow)" and spec.budget_s is not None and "budget" in (cell.error or ""):
                too_slow[spec.column] = len(judgments)
        if mv_column is None:
            row[MV_REF] = Cell(accuracy_of(majority_vote(judgments), gold, judgments))
        result.cells[name] = row
    # models that never ran anywhere (wrong kind of model for this data) become a note
    for col in list(result.columns):
        cells = [result.cells[d][col] for d in names]
        if names and col != result.mv_column and all(c.status == "n/a" for c in cells):
            result.columns.remove(col)
            result.notes.append(f"`{col}` left out: it raised on every dataset ({cells[0].error})")
    return result


# ------------------------------------------------------------------------------------ CLI
def build(datasets: Sequence[str] | None = None, models: Sequence[str] | None = None,
          crowdkit: bool = True, glad_max_judgments: int | None = GLAD_MAX_JUDGMENTS,
          time_budget_s: float | None = TIME_BUDGET_S) -> AccuracyResult:
    """Choose datasets and models as the command line does, and run them."""
    from .. import aggregator
    from ..aggregator._registry import aliases, default_name

    names = dataset_names(datasets)
    g_names = ck_names = None
    if models is not None:
        g_names = [m.split(":", 1)[1] if ":" in m else m for m in models if not m.startswith("crowdkit:")]
        ck_names = [m.split(":", 1)[1] for m in models if m.startswith("crowdkit:")]
        g_names = [aliases().get(n.lower(), n.lower()) for n in g_names]
        bad = [n for n in g_names if n not in aggregator.names()]
        if bad:
            raise ValueError(f"unknown galton models {bad}; registered: {', '.join(aggregator.names())}")
    specs = galton_specs(g_names)
    notes = []
    if g_names is None and categorical_models()[1]:
        notes.append("galton models for other kinds of data left out: " + ", ".join(
            f"{n} ({k})" for n, k in categorical_models()[1].items()))
    if crowdkit and (ck_names is None or ck_names):
        specs += crowdkit_specs(ck_names, glad_max_judgments, time_budget_s)
        if any(s.column == "crowdkit:MMSR" for s in specs):
            notes.append(f"crowd-kit MMSR runs only on datasets with fewer than {MMSR_MAX_JUDGMENTS:,} judgments "
                         "(its sign step builds dense matrices over worker pairs: 13 GB at 1,000 workers)")
        if glad_max_judgments and any(s.column == "crowdkit:GLAD" for s in specs):
            notes.append(f"crowd-kit GLAD runs only on datasets with fewer than {glad_max_judgments:,} "
                         "judgments (it takes about 10 s per EM iteration at 20k judgments here); "
                         "--glad-max-judgments 0 runs it everywhere")
        if time_budget_s:
            notes.append(f"each crowd-kit fit runs in a forked process with a {time_budget_s:.0f} s budget "
                         "(--time-budget); datasets run smallest first and a model over budget is "
                         "skipped on every larger dataset")
    cols = [s.column for s in specs]
    default = f"galton:{default_name()}"
    try:
        mv: str | None = f"galton:{aggregator.get('mv').registry_name}"
    except ValueError:
        mv = None
    if mv not in cols:
        mv = None
    result = run_accuracy(names, specs, default_column=default if default in cols else None, mv_column=mv)
    result.notes[:0] = notes
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.accuracy", description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", help="dataset names (default: all categorical ones with gold)")
    p.add_argument("--models", nargs="+",
                   help="galton model names and/or crowdkit:<name> (default: all registered + crowd-kit's)")
    p.add_argument("--no-crowdkit", action="store_true", help="leave crowd-kit's models out")
    p.add_argument("--glad-max-judgments", type=int, default=GLAD_MAX_JUDGMENTS,
                   help="run crowd-kit GLAD only on datasets with fewer judgments (0: everywhere)")
    p.add_argument("--time-budget", type=float, default=TIME_BUDGET_S,
                   help="seconds allowed per crowd-kit fit; a model over budget is skipped on larger "
                        "datasets too (0: no limit)")
    p.add_argument("--no-lodo", dest="lodo", action="store_false",
                   help="leave out the default model's in-sample and leave-one-dataset-out means over a grid "
                        "of its hyperparameters (about 25 s)")
    p.add_argument("--out", help="also write the Markdown report to this file (atomically)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    t0 = time.perf_counter()
    result = build(split_names(args.datasets), split_names(args.models), not args.no_crowdkit,
                   args.glad_max_judgments or None, args.time_budget or None)
    result.notes.append(f"whole run: {time.perf_counter() - t0:.0f} s wall clock")
    text = render(result)
    if args.lodo and len(result.datasets) >= 2:  # one dataset leaves none to choose on
        from .lodo import lodo_section, run_lodo

        text += "\n" + lodo_section(run_lodo({n: load_dataset(n) for n in result.datasets})) + "\n"
    return emit(text, args.out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
