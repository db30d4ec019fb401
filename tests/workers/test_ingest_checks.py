"""Distributed ingest reads and checks the columns as the local reader does: the same decoding, the
same one-line errors and warnings, the same gold rules, before the fit rather than after it.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ray import cloudpickle

from galton.aggregator import DawidSkene
from galton.cli import main
from galton.io import results_table
from galton.workers.sharded import fit_parquet

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # actors cannot import test modules


def _columns(n_tasks: int = 40, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    task = np.repeat(np.arange(n_tasks), 3)
    return {"task": task, "worker": np.tile([1, 2, 3], n_tasks), "label": rng.integers(0, 2, task.size)}


def _write(folder: Path, table: pa.Table, n_files: int = 2) -> Path:
    folder.mkdir(parents=True)
    bounds = np.linspace(0, table.num_rows, n_files + 1).astype(int)
    for i in range(n_files):
        pq.write_table(table.slice(bounds[i], bounds[i + 1] - bounds[i]), folder / f"part-{i}.parquet")
    return folder


def _fit(source, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DawidSkene(n_iter=5)
        return model, fit_parquet(model, source, n_shards=2, **options)


# ---------------------------------------------------------------------------- columns as the local reader reads them
def test_a_list_column_is_the_local_readers_one_line_error(ray_session, tmp_path, capsys):
    """A worker column of lists gave Ray's traceback (ArrowNotImplementedError: 'dictionary_encode'
    has no kernel), not the reader's error."""
    cols = _columns()
    cols["worker"] = pa.array([[w] for w in cols["worker"].tolist()], pa.list_(pa.int64()))
    folder = _write(tmp_path / "lists", pa.table(cols))
    with pytest.raises(ValueError) as local:
        DawidSkene().fit(str(folder))
    with pytest.raises(ValueError, match=r"part-\d\.parquet: column 'worker' holds list values") as remote:
        _fit(folder)
    assert str(remote.value).split(": ", 1)[1] == str(local.value)
    assert "ray::" not in str(remote.value)
    assert main(["aggregate", str(folder), "--engine", "ray", "--shards", "2", "-m", "ds", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "column 'worker' holds list values" in err and "Traceback" not in err


def test_binary_columns_are_decoded_as_text_as_locally(ray_session, tmp_path):
    """Parquet BYTE_ARRAY columns without the UTF8 annotation: the local reader decodes them, Ray kept
    bytes (labels b'x0', a binary results schema, text gold refused, a binary task column refused)."""
    cols = _columns()
    table = pa.table({"task": pa.array([f"t{t}".encode() for t in cols["task"]], pa.binary()),
                      "worker": cols["worker"],
                      "label": pa.array([f"x{v}".encode() for v in cols["label"]], pa.binary())})
    folder = _write(tmp_path / "bytes", table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = DawidSkene(n_iter=5).fit(str(folder), {"t1": "x1"})
    model, data = _fit(folder, gold={"t1": "x1"})
    assert data.label_names.tolist() == ["x0", "x1"]
    remote, here = results_table(model).sort_by("task"), results_table(local).sort_by("task")
    assert remote.schema.field("task").type == remote.schema.field("label").type == pa.string()
    assert remote["task"].equals(here["task"]) and remote["label"].equals(here["label"])
    np.testing.assert_allclose(remote["p_x1"].to_numpy(), here["p_x1"].to_numpy(), atol=1e-9)


def _raise_in_a_task(message):
    raise ValueError(message)


def test_an_error_raised_in_a_ray_task_is_its_own_one_line_message(ray_session):
    """The command line printed Ray's wrapper (``ray::task() (pid=..., ip=...) File ... ValueError:
    ...``, the remote traceback on one line) for an error raised inside a Ray task or actor."""
    import ray

    from galton.cli._common import describe

    with pytest.raises(ValueError) as caught:
        ray.get(ray.remote(_raise_in_a_task).remote("column 'label' holds something odd; fix it"))
    assert "ray::" in str(caught.value)  # Ray's wrapper, also a ValueError
    assert describe(caught.value) == "column 'label' holds something odd; fix it"
    assert describe(ValueError("plain")) == "plain"


# ---------------------------------------------------------------------------- the reader's warnings
def _label_warnings(source, model=None) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if model is None:
            fit_parquet(DawidSkene(n_iter=2), source, n_shards=2)
        else:
            fit_parquet(model, source, n_shards=2)
    return [str(w.message) for w in caught if "column 'label' holds" in str(w.message)]


def test_ingest_warns_of_float_and_spaced_labels_as_the_local_reader(ray_session, tmp_path):
    """Non-integer float labels taken as classes and labels with spaces at the ends: the local
    reader warns, Ray ingest said nothing."""
    from galton import create

    cols = _columns()
    floats = _write(tmp_path / "floats", pa.table({**cols, "label": cols["label"] + 0.5}))
    spaced = _write(tmp_path / "spaced", pa.table({**cols, "label": np.where(cols["label"] == 1, "x ", "x")}))
    for folder in (floats, spaced):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            DawidSkene(n_iter=2).fit(str(folder))
        local = [str(w.message) for w in caught if "column 'label' holds" in str(w.message)]
        assert len(local) == 1 and _label_warnings(folder) == local
    assert "non-integer numbers (0.5, 1.5)" in _label_warnings(floats)[0]
    assert _label_warnings(floats, create("rating_gaussian", n_iter=2)) == []  # ratings: numbers, not classes


# ---------------------------------------------------------------------------- gold
def test_gold_that_names_no_judged_task_is_refused_before_the_fit_by_the_cli(ray_session, tmp_path, capsys,
                                                                             monkeypatch):
    """--use-gold with gold of other tasks: the local command refuses it before the fit; on Ray a
    directory output ignored it (exit 0, a "no accuracy" note) and a file output refused it only
    after the whole fit. In Python the gold is ignored with the local fit's warning."""
    folder = _write(tmp_path / "judgments", pa.table(_columns()))
    gold = tmp_path / "gold.csv"
    gold.write_text("task,label\n1000,1\n1001,0\n")
    with pytest.warns(UserWarning, match=r"gold shares no task with the judgments \(gold task ids look like "
                                         r"\[1000, 1001\], the judgments' like \[0, 1, 2\]\); it is ignored"):
        model = DawidSkene(n_iter=5)
        fit_parquet(model, folder, n_shards=2, gold={1000: 1, 1001: 0})
    plain, _ = _fit(folder)
    np.testing.assert_array_equal(model.posteriors_, plain.posteriors_)
    base = ["aggregate", str(folder), "-m", "ds", "--gold", str(gold), "--use-gold", "-q"]
    assert main([*base, "-o", str(tmp_path / "local.csv")]) == 2
    local = capsys.readouterr().err
    assert "gold shares no task with the judgments" in local

    def no_fit(self, *args, **kwargs):
        raise AssertionError("the model was fitted")

    monkeypatch.setattr(DawidSkene, "fit", no_fit)
    for out in ("labels", "labels.csv"):
        assert main([*base, "--engine", "ray", "--shards", "2", "-o", str(tmp_path / out)]) == 2
        assert capsys.readouterr().err == local
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gold.csv", "judgments"]


# ---------------------------------------------------------------------------- what fit_parquet runs
def test_fit_parquet_refuses_pairwise_and_choice_models_before_reading(ray_session, tmp_path):
    """BradleyTerry on a folder of comparisons was ingested as (task, worker, label) judgments, then
    refused for a missing 'task' column."""
    from galton.aggregator import create

    folder = tmp_path / "pairs"
    folder.mkdir()
    pq.write_table(pa.table({"worker": [1, 2], "left": ["a", "b"], "right": ["b", "c"], "label": ["a", "c"]}),
                   folder / "p.parquet")
    with pytest.raises(TypeError, match=r"BradleyTerry is a pairwise model \(worker, left, right, label rows\)"):
        fit_parquet(create("bt"), folder)
    with pytest.raises(TypeError, match=r"is a choice model \(worker, options, choice rows\)"):
        fit_parquet(create("plackett_luce"), tmp_path / "not_read")  # refused before anything is read


def test_gold_ids_near_and_beyond_64_bits_match_exactly_locally_and_on_ray(ray_session, tmp_path):
    """Gold {2: "b", 2**63: "a"} became float64 ids and 2**63 wrapped to task -2**63 (its gold then
    taken by that task); {2: "b", 2**64 + 1: "a"} was refused ("gold task ids are int but the
    judgments' task ids are integers"); text ids "18446744073709551617" raised a raw OverflowError.
    An id that no judged task can have is gold of a task without judgments: ignored."""
    import pandas as pd

    low = -(2**63)
    table = pa.table({"task": pa.array([low, low, low, 2, 2, 2, 5, 5, 5], pa.int64()),
                      "worker": [1, 2, 3] * 3, "label": ["b", "b", "b", "a", "a", "a", "a", "b", "b"]})
    folder = _write(tmp_path / "judgments", table, n_files=1)
    golds = [{2: "b", 2**63: "a"}, {2: "b", 2**64 + 1: "a"},
             pd.DataFrame({"task": ["2", "18446744073709551617"], "label": ["b", "a"]})]
    for gold in golds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            local = DawidSkene(n_iter=5).fit(table, gold)
        remote, _ = _fit(folder, gold=gold)
        for model in (local, remote):
            labels = dict(zip(*[results_table(model)[c].to_pylist() for c in ("task", "label")]))
            assert labels == {low: "b", 2: "b", 5: "b"}, (gold, model)


# ---------------------------------------------------------------------------- a folder rewritten while Ray reads it
@pytest.mark.parametrize("n_new", [2, 3])
def test_a_folder_rewritten_after_listing_is_refused_not_read_as_another_version(ray_session, tmp_path,
                                                                                  monkeypatch, n_new):
    """The driver lists the parts and plans the reads; the folder is rewritten (galton's own atomic
    swap) before the Ray tasks open them. Before: a part gone was Ray's FileNotFoundError traceback;
    parts of a new version were read as if listed (the driver's footers from the old one). Now each
    task reads the version it was given or names the part that changed."""
    import galton.workers.ingest as ingest
    from galton.io import atomic_dir

    def write(seed: int, n_files: int) -> None:  # galton's own folder writer: the new folder swapped in
        with atomic_dir(folder) as tmp:
            for i in range(n_files):
                pq.write_table(pa.table(_columns(seed=seed)).slice(i * 40, 40), tmp / f"part-{i}.parquet")

    folder = tmp_path / "parts"
    write(0, 3)
    real = ingest.plan_units

    def plan_then_rewrite(*a, **k):
        planned = real(*a, **k)
        write(1, n_new)
        return planned

    monkeypatch.setattr(ingest, "plan_units", plan_then_rewrite)
    with pytest.raises(ValueError, match=r"part-\d\.parquet' was (rewritten|removed) after galton listed its folder"):
        _fit(str(folder))
