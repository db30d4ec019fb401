"""Distributed ingest: Parquet files, frames and Ray Datasets read by Ray tasks into the shard actors.

A fit on data loaded this way must give the same labels and probabilities, task id by task id, as
the local engine on the same data read in memory.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from ray import cloudpickle

from galton.aggregator import DawidSkene
from galton.cli import main
from galton.io import results_table
from galton.judgments import Judgments
from galton.workers._partition import fnv1a, task_shard
from galton.workers.engine import RayEngine
from galton.workers.ingest import plan_units
from galton.workers.sharded import ShardedCodesError, fit_parquet

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # actors cannot import test modules


def _crowd(seed: int, n_tasks: int = 500, n_workers: int = 25, n_labels: int = 3, per_task: int = 4,
           text: bool = False) -> tuple[pa.Table, np.ndarray]:
    """Judgments in shuffled row order (tasks not grouped) and the true labels."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_labels, n_tasks)
    acc = rng.uniform(0.5, 0.95, n_workers)
    task = np.repeat(np.arange(n_tasks), per_task)
    worker = np.concatenate([rng.choice(n_workers, per_task, replace=False) for _ in range(n_tasks)])
    right = rng.random(task.size) < acc[worker]
    label = np.where(right, truth[task], (truth[task] + rng.integers(1, n_labels, task.size)) % n_labels)
    order = rng.permutation(task.size)
    task, worker, label = task[order], worker[order], label[order]
    if text:
        names = np.array(["cat", "dog", "eel", "fox"][:n_labels], dtype=object)
        return pa.table({"item": [f"t{t:05d}" for t in task], "annotator": [f"w-{w}" for w in worker],
                         "answer": names[label].tolist()}), truth
    return pa.table({"task": task.astype(np.int64), "worker": worker.astype(np.int32),
                     "label": label.astype(np.int32)}), truth


def _write(table: pa.Table, directory: Path, n_files: int, row_group_size: int = 400) -> Path:
    directory.mkdir(parents=True)
    bounds = np.linspace(0, table.num_rows, n_files + 1).astype(int)
    for i in range(n_files):
        pq.write_table(table.slice(bounds[i], bounds[i + 1] - bounds[i]), directory / f"part-{i:05d}.parquet",
                       row_group_size=row_group_size)
    return directory


def _fit(data, **fit_options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DawidSkene(n_iter=40).fit(data, **fit_options)


def _by_task(model) -> tuple[dict, dict]:
    """{task: label} and {task: probability row} from a fitted model, whatever the frame type."""
    tasks = model.judgments_.task_names.tolist()
    labels = model.judgments_.label_names[model.label_codes_].tolist()
    return dict(zip(tasks, labels)), dict(zip(tasks, model.posteriors_))


def _assert_same(remote, local) -> None:
    rl, rp = _by_task(remote)
    ll, lp = _by_task(local)
    assert rl == ll
    np.testing.assert_allclose(np.array([rp[t] for t in ll]), np.array([lp[t] for t in ll]), rtol=0, atol=1e-9)
    assert remote.n_iter_ == local.n_iter_
    np.testing.assert_allclose(remote.history_, local.history_, rtol=1e-12)


@pytest.fixture(scope="module")
def int_dir(tmp_path_factory):
    table, _ = _crowd(11)
    return _write(table, tmp_path_factory.mktemp("ints") / "judgments", n_files=3)


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory):
    table, truth = _crowd(12, n_tasks=300, text=True)
    return _write(table, tmp_path_factory.mktemp("text") / "judgments", n_files=2, row_group_size=300), truth


# ---------------------------------------------------------------------------- the hash, the plan
def test_fnv1a_matches_the_published_test_vectors():
    got = fnv1a(pa.array(["", "a", "foobar"]))
    assert got.tolist() == [0xCBF29CE484222325, 0xAF63DC4C8601EC8C, 0x85944171F73967E8]


def test_task_shard_is_the_same_for_every_width_type_and_process(ray_session):
    import ray

    ids = np.arange(-50, 950)
    want = task_shard(ids.astype(np.int64), 7)
    assert np.array_equal(task_shard(pa.array(ids.astype(np.int32)), 7), want)
    assert np.bincount(want, minlength=7).min() > 100  # spread over every shard
    text = pa.array([f"task-{i}" for i in ids])
    assert np.array_equal(task_shard(text.cast(pa.large_string()), 7), task_shard(text, 7))
    remote = ray.get(ray.remote(task_shard).remote(text, 7))
    assert np.array_equal(remote, task_shard(text, 7))


def test_every_row_group_is_read_by_exactly_one_unit(tmp_path):
    table, _ = _crowd(3, n_tasks=200)
    one = _write(table, tmp_path / "one", n_files=1, row_group_size=100)  # 8 row groups
    units, _ = plan_units(one, n_cpus=2)
    assert len(units) == 4
    groups = sorted(g for u in units for g in u.row_groups)
    assert groups == list(range(8))
    assert [u.first_row for u in units] == [0, 200, 400, 600]
    many = _write(table, tmp_path / "many", n_files=5)
    units, _ = plan_units(many, n_cpus=2)
    assert sorted(u.path for u in units) == sorted(str(p) for p in many.glob("*.parquet"))
    assert all(u.row_groups is None for u in units)


# ---------------------------------------------------------------------------- fits equal local fits
@pytest.mark.parametrize("n_shards", [1, 3])
def test_fit_on_ingested_parquet_equals_the_local_fit(ray_session, int_dir, n_shards):
    local = _fit(str(int_dir))
    with RayEngine(n_shards=n_shards) as eng:
        data = eng.load_parquet(int_dir)
        assert (data.n_tasks, data.n_judgments, data.n_shards) == (500, 2000, n_shards)
        mem = Judgments.from_any(str(int_dir))
        assert np.array_equal(data.worker_names, mem.worker_names) and data.worker_names.dtype == np.int32
        assert np.array_equal(data.label_names, mem.label_names)
        assert sorted(data.task_names.tolist()) == mem.task_names.tolist()
        remote = _fit(data)
    _assert_same(remote, local)


def test_more_shards_than_rows_are_capped_on_ray(ray_session, tmp_path):
    """Bug hunt: ``--shards 1000000`` made a million shards of a 12-row file (locally 2.8 GB, minutes;
    on Ray a million objects from every reading task). Ingest makes at most one shard per input row,
    and keeps only shards that got a task (tasks go by hash: with 12 shards for 4 tasks, 8 were empty,
    each written as an empty part file, where ``--shards``' help says "at most one per task"); the
    engine's own split makes one per task; the fit is the local one."""
    table, _ = _crowd(5, n_tasks=4, n_workers=4, per_task=3)  # 12 rows
    tiny = _write(table, tmp_path / "tiny", n_files=2, row_group_size=2)
    local = _fit(str(tiny))
    with RayEngine(n_shards=100_000) as eng:
        data = eng.load_parquet(tiny)
        assert data.n_shards == eng._n_loaded == 4 and data.n_tasks == 4  # was 100,000 shards, then 12
        assert data.shard_tasks == (1, 1, 1, 1)
        remote = _fit(data)
        assert eng._n_loaded == 4
        in_memory = _fit(Judgments.from_any(table.to_pandas()), engine=eng)  # the engine's own split
        assert eng._n_loaded == 4 and eng.n_shards == 100_000  # loaded; the count asked for stays
    _assert_same(remote, local)
    _assert_same(in_memory, local)


def test_results_of_ingested_data_are_sorted_by_task_whatever_the_shards(ray_session, int_dir):
    """Task codes of ingested data are shard-major; labels_, probas_ (and GLAD's per-task betas_) come
    in task order, as a local fit's (they came in shard order, which changed with n_shards)."""
    import polars as pl

    from galton.aggregator import GLAD

    local = _fit(str(int_dir))
    for n_shards in (1, 3):
        with RayEngine(n_shards=n_shards) as eng:
            remote = _fit(eng.load_parquet(int_dir))
            glad = GLAD(n_iter=5).fit(eng.load_parquet(int_dir))
        assert remote.labels_.equals(local.labels_)
        assert remote.probas_["task"].equals(local.probas_["task"])
        np.testing.assert_allclose(remote.probas_.drop("task").to_numpy(), local.probas_.drop("task").to_numpy(),
                                   atol=1e-9)
        assert glad.betas_["task"].is_sorted() and isinstance(glad.betas_, pl.DataFrame)
        assert results_table(remote)["task"].to_pylist() == local.labels_["task"].to_list()  # its rows too


def test_glad_priors_fit_ingested_parquet_as_locally(ray_session, int_dir):
    """GLAD's labels_priors added labels= to the fit, which data loaded with load_parquet refuses
    ("['labels'] belong to load_parquet", though the user gave none); betas_priors_mean keyed by
    every task id was looked up as if the ids were sorted, and ids ingested on 3 shards come in
    shard order ("has no value for 393 id(s)"). A prior for a label no judgment has is named,
    with the way to add it (load_parquet's labels=), which then fits as locally."""
    from galton.aggregator import GLAD

    tasks = sorted(set(pq.read_table(int_dir)["task"].to_pylist()))
    betas = {t: 0.5 + (i % 7) / 7 for i, t in enumerate(tasks)}
    warnings.simplefilter("ignore")  # not converged in 10 iterations (pytest restores the filters)
    for options in ({"labels_priors": {0: 1.0, 1: 2.0, 2: 3.0}}, {"betas_priors_mean": betas},
                    {"labels_priors": {0: 1.0, 1: 2.0, 2: 3.0, 7: 0.5}}):
        local = GLAD(n_iter=10, **options).fit(str(int_dir))
        assert local.judgments_.label_names.size == len(options.get("labels_priors", [0, 1, 2]))
        remote = GLAD(n_iter=10, **options)
        if 7 in options.get("labels_priors", {}):
            with pytest.raises(ValueError, match=r"labels_priors names 1 label\(s\) that no judgment.*\[7\].*labels="):
                fit_parquet(remote, int_dir, n_shards=3)
            fit_parquet(remote, int_dir, n_shards=3, labels=[0, 1, 2, 7])
        else:
            fit_parquet(remote, int_dir, n_shards=3)
        _assert_same(remote, local)


def test_ingested_judgments_code_labels_and_tasks_as_local_judgments_do(ray_session, int_dir):
    """label_index of ingested data cast values to the labels' type (gold 1.5 matched label 1) and
    took no tasks=; it is Judgments' now, and text task ids find integer tasks as locally."""
    mem = Judgments.from_any(str(int_dir))
    with RayEngine(n_shards=2) as eng:
        data = eng.load_parquet(int_dir)
        assert data.label_index([1.0, 2]).tolist() == mem.label_index([1.0, 2]).tolist() == [1, 2]
        with pytest.raises(ValueError, match=r"gold has 1 label\(s\) not in the judgments' label set"):
            data.label_index([1.5], tasks=[7])
        assert data.task_names[data.task_index(["7", "12"])].tolist() == [7, 12]
        assert data.task_index(["x"]).tolist() == [-1]


def test_labels_of_two_float_widths_are_read_on_ray_as_locally(ray_session, tmp_path):
    """float32 labels in one file and float64 in another: read locally, refused by the Ray readers."""
    pq.write_table(pa.table({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"],
                             "label": pa.array([0.0, 1.0, 1.0, 1.0], pa.float32())}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"task": [3, 3], "worker": ["a", "b"], "label": [0.0, 1.0]}), tmp_path / "b.parquet")
    local = _fit(str(tmp_path))
    with RayEngine(n_shards=2) as eng:
        _assert_same(_fit(eng.load_parquet(tmp_path)), local)


def test_hive_partition_folders_are_read_on_ray_as_locally(ray_session, tmp_path):
    """label=1/part.parquet: the partition column is read by every Ray reader, typed as the local
    reader types it (the same labels, tasks and probabilities)."""
    table, _ = _crowd(5, n_tasks=200)
    pq.write_to_dataset(table, str(tmp_path / "hive"), partition_cols=["label"])
    local = _fit(str(tmp_path / "hive"))
    assert local.judgments_.label_names.tolist() == [0, 1, 2] and local.judgments_.n_judgments == table.num_rows
    with RayEngine(n_shards=2) as eng:
        remote = _fit(eng.load_parquet(tmp_path / "hive"))
    _assert_same(remote, local)


def _categorical_em_models() -> list[str]:
    """Registered models fitted by the EM driver's own ``fit`` (not pairwise or rating models)."""
    import galton.aggregator as agg
    from galton.aggregator._base import EMAggregator

    return [n for n in agg.names(kind="categorical") if issubclass(agg.get(n), EMAggregator)]


@pytest.mark.parametrize("name", [n for n in _categorical_em_models() if n != "ds"])
def test_every_categorical_em_model_fits_ingested_data_like_local(ray_session, int_dir, name):
    import galton.aggregator as agg

    def fit(data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return agg.create(name, random_state=0, n_iter=15).fit(data)

    local = fit(str(int_dir))
    with RayEngine(n_shards=3) as eng:
        remote = fit(eng.load_parquet(int_dir))
    _assert_same(remote, local)


def test_text_ids_a_glob_and_gold_give_the_local_result(ray_session, text_dir):
    directory, truth = text_dir
    gold = {f"t{t:05d}": ["cat", "dog", "eel"][truth[t]] for t in range(0, 300, 5)}
    cols = {"task_col": "item", "worker_col": "annotator", "label_col": "answer"}
    mem = Judgments.from_any(str(directory), **cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = DawidSkene(n_iter=40).fit(mem, gold)
    with RayEngine(n_shards=2) as eng:
        data = eng.load_parquet(str(directory / "*.parquet"), gold=gold, **cols)
        assert data.label_names.tolist() == ["cat", "dog", "eel"]
        remote = _fit(data)
    _assert_same(remote, local)
    labels, _ = _by_task(remote)
    assert all(labels[t] == g for t, g in gold.items())  # gold tasks are clamped


def test_distributed_gold_is_read_by_the_local_gold_rules(ray_session, int_dir, tmp_path):
    """Ray ingest reads gold as a local fit does (it had rules of its own): text ids that are
    canonical integers match integer tasks, a truth table's ``true_label`` is the label, one task
    with two labels raises, a label outside the set raises naming its task, unless the task has no
    judgments (the driver raised for those too; only the shards know their tasks)."""
    truth = pa.table({"task": ["3", "10", "10", "42"], "true_label": [2, 0, 0, 1]})  # 10 twice, same label
    pq.write_table(truth, tmp_path / "truth.parquet")
    local = _fit(str(int_dir), gold={3: 2, 10: 0, 42: 1})
    with RayEngine(n_shards=3) as eng:
        remote = _fit(eng.load_parquet(int_dir, gold=str(tmp_path / "truth.parquet")))
        with pytest.raises(ValueError, match=r"gold gives 1 task\(s\) two different labels \(task 10: rows 0, 1"):
            eng.load_parquet(int_dir, gold=pd.Series([1, 2], index=[10, 10]))
        with pytest.raises(ValueError, match=r"gold has 1 label\(s\) not in the judgments' label set \[0, 1, 2\] "
                                             r"\(tasks 7: 9\)"):
            eng.load_parquet(int_dir, gold={3: 2, 7: 9})
        # as locally, gold of a task without judgments is ignored whatever its label
        ignored = _fit(eng.load_parquet(int_dir, gold={3: 2, 10: 0, 42: 1, 9999: 9, 10_000: 0}))
    _assert_same(remote, local)
    _assert_same(ignored, _fit(str(int_dir), gold={3: 2, 10: 0, 42: 1, 9999: 9}))
    labels, _ = _by_task(remote)
    assert (labels[3], labels[10], labels[42]) == (2, 0, 1)  # clamped


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray Data's own
def test_frames_and_a_ray_dataset_give_the_local_result(ray_session):
    import ray.data

    table, _ = _crowd(5, n_tasks=400)
    local = _fit(table)
    with RayEngine(n_shards=2) as eng:
        from_pandas = _fit(eng.load_parquet(table.to_pandas()))
        from_list = _fit(eng.load_parquet([table.slice(0, 700), table.slice(700)]))
        from_ray = _fit(eng.load_parquet(ray.data.from_arrow([table.slice(0, 900), table.slice(900)])))
    for remote in (from_pandas, from_list, from_ray):
        _assert_same(remote, local)
    assert isinstance(from_pandas.labels_, pd.Series)  # pandas in, pandas out


def test_duplicates_policy_matches_judgments(ray_session, tmp_path):
    table, _ = _crowd(6, n_tasks=200)
    table = pa.concat_tables([table, table.slice(0, 150)])  # 150 repeated (task, worker) pairs
    directory = _write(table, tmp_path / "dup", n_files=2)
    local = _fit(Judgments.from_any(str(directory), duplicates="last"))
    with RayEngine(n_shards=2) as eng:
        data = eng.load_parquet(directory, duplicates="last")
        assert (data.n_judgments, data.n_dropped) == (800, 150)
        _assert_same(_fit(data), local)
        with pytest.raises(ValueError, match="150 repeated"):
            eng.load_parquet(directory, duplicates="raise")
        one = tmp_path / "one"  # one task repeated by many workers: named once (it was named 5 times)
        one.mkdir()
        pq.write_table(pa.table({"task": [1] * 12 + [2, 2], "worker": ["a", "b"] * 7, "label": [0, 1] * 7}),
                       one / "a.parquet")
        with pytest.raises(ValueError, match=r"10 repeated \(task, worker\) pair\(s\) \(in task 1\)"):
            eng.load_parquet(one, duplicates="raise")
        long = tmp_path / "long"  # ids of 100,000 characters are cut in the message, as a local read cuts them
        long.mkdir()
        ids = ["t" * 100_000 + str(i) for i in range(7)]
        pq.write_table(pa.table({"task": ids * 2, "worker": ["w" * 100_000] * 14, "label": [0, 1] * 7}),
                       long / "a.parquet")
        with pytest.raises(ValueError, match=r"7 repeated .*\(100001 characters\).*, \.\.\.\)") as raised:
            eng.load_parquet(long, duplicates="raise")
        assert len(str(raised.value)) < 1_000
        with pytest.warns(UserWarning, match=r"7 row\(s\) repeat") as said:
            DawidSkene().fit(eng.load_parquet(long))
        assert len(str(said[0].message)) < 2_000


def test_a_directory_is_read_in_natural_file_order_locally_and_on_ray(ray_session, tmp_path):
    """pyarrow's unpadded part-0 ... part-10: part-10 is the last file (plain string order put it
    after part-1, so duplicates="last" kept part-9's older answer), the same order on Ray."""
    table, _ = _crowd(7, n_tasks=220)
    t0 = table.filter(pc.equal(table["task"], 0))
    w0 = t0["worker"][0].as_py()
    directory = tmp_path / "parts"
    directory.mkdir()
    bounds = np.linspace(0, table.num_rows, 12).astype(int)
    for i in range(11):  # each part answers (task 0, w0) again, last: part-i says label i % 3
        again = pa.table({"task": pa.array([0], pa.int64()), "worker": pa.array([w0], pa.int32()),
                          "label": pa.array([i % 3], pa.int32())})
        pq.write_table(pa.concat_tables([table.slice(bounds[i], bounds[i + 1] - bounds[i]), again]),
                       directory / f"part-{i}.parquet")
    keep = pc.invert(pc.and_(pc.equal(table["task"], 0), pc.equal(table["worker"], w0)))
    newest = pa.table({"task": pa.array([0], pa.int64()), "worker": pa.array([w0], pa.int32()),
                       "label": pa.array([10 % 3], pa.int32())})
    want = _fit(pa.concat_tables([table.filter(keep), newest]))  # part-10's answer kept
    local = Judgments.from_any(str(directory), duplicates="last")
    at = np.flatnonzero((local.task_names[local.task] == 0) & (local.worker_names[local.worker] == w0))
    assert local.label_names[local.label[at]].tolist() == [10 % 3]
    _assert_same(_fit(local), want)
    with RayEngine(n_shards=3) as eng:
        _assert_same(_fit(eng.load_parquet(directory, duplicates="last")), want)


def test_repeated_rows_in_loaded_shards_warn_at_the_fit_as_in_memory(ray_session, tmp_path):
    """Data loaded with ``load_parquet`` kept repeated (task, worker) rows as votes without the
    warning that a fit of the same rows from memory gives (and the command line's Ray read too):
    the shards count them, and a categorical or rating fit says how many, as in memory;
    ``duplicates='keep'`` at the load says nothing."""
    from galton.aggregator import GaussianRating

    table, _ = _crowd(6, n_tasks=200)
    table = pa.concat_tables([table, table.slice(0, 150)])  # 150 repeated (task, worker) pairs
    directory = _write(table, tmp_path / "dup", n_files=2)
    with pytest.warns(UserWarning, match=r"150 row\(s\) repeat a \(task, worker\) pair") as said:
        DawidSkene().fit(Judgments.from_any(str(directory)))
    local_pairs = re.search(r"pair \((.*?)\): each", str(said[0].message)).group(1)
    with RayEngine(n_shards=2) as eng:
        data = eng.load_parquet(directory)
        assert data.repeats[:2] == (150, 150) and len(data.repeats[2]) == 5
        with pytest.warns(UserWarning, match=r"150 row\(s\) repeat .*'last' to load_parquet") as said:
            DawidSkene().fit(data)
        # the same examples as locally (the smallest ids), not the first shard's then the next's
        assert re.search(r"pair \((.*?)\): each", str(said[0].message)).group(1) == local_pairs
        kept = eng.load_parquet(directory, duplicates="keep")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            DawidSkene().fit(kept)
            GaussianRating().fit(eng.load_parquet(directory, numeric=True, duplicates="keep"))
        with pytest.warns(UserWarning, match=r"150 row\(s\) repeat .*intervals come out too narrow.*load_parquet"):
            GaussianRating().fit(eng.load_parquet(directory, numeric=True))  # ratings counted twice: as in memory
        assert kept.repeats is None and kept.n_judgments == data.n_judgments == 950
    out = tmp_path / "labels.csv"
    for extra, said in (([], True), (["--duplicates", "keep"], False)):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert main(["aggregate", str(directory), "-m", "ds", "--engine", "ray", "--shards", "2", "-o",
                         str(out), *extra]) == 0
        assert ("150 row(s) repeat a (task, worker) pair" in err.getvalue()) is said, err.getvalue()


# ---------------------------------------------------------------------------- bad input
def test_nulls_are_reported_with_file_and_row_or_dropped(ray_session, tmp_path):
    table, _ = _crowd(7, n_tasks=200)
    worker = table.column("worker").to_pylist()
    for row in (3, 450, 700):
        worker[row] = None
    table = table.set_column(1, "worker", pa.array(worker, pa.int32()))
    label = table.column("label").to_pylist()
    label[3] = label[460] = None  # row 3 has both nulls: 4 rows in all
    table = table.set_column(2, "label", pa.array(label, table.schema.field("label").type))
    directory = _write(table, tmp_path / "nulls", n_files=2)
    with RayEngine(n_shards=2) as eng:
        with pytest.raises(ValueError, match=r"column 'worker' has 3 null value\(s\) \(in .*part-00000"
                                             r"\.parquet: rows 3; .*part-00001\.parquet: rows 50, 300\); "
                                             r"column 'label' has 2 null value\(s\) \(in .*part-00000"
                                             r"\.parquet: rows 3; .*part-00001\.parquet: rows 60\); "
                                             r".*on_invalid='drop'"):
            eng.load_parquet(directory)
        data = eng.load_parquet(directory, on_invalid="drop")
        assert (data.n_judgments, data.n_dropped) == (796, 4)
        remote = _fit(data)
    _assert_same(remote, _fit(Judgments.from_any(str(directory), on_invalid="drop")))


def test_ratings_that_are_no_numbers_are_dropped_as_in_memory(ray_session, tmp_path):
    """on_invalid='drop' dropped null ratings but not text that reads as no number ('N/A') nor an
    infinite one, in memory and at the Ray load; both drop them now, with the same count and fit."""
    from galton.aggregator import GaussianRating

    table, _ = _crowd(8, n_tasks=100)
    label = [str(v) for v in table.column("label").to_pylist()]
    label[5], label[250], label[301] = "N/A", "inf", "1_000"
    table = table.set_column(2, "label", pa.array(label))
    directory = _write(table, tmp_path / "text", n_files=2)
    local = GaussianRating().fit(str(directory), on_invalid="drop", duplicates="keep")
    with RayEngine(n_shards=2) as eng:
        data = eng.load_parquet(directory, on_invalid="drop", numeric=True, duplicates="keep")
        assert (data.n_judgments, data.n_dropped) == (397, 3) == (local.judgments_.n_judgments,
                                                                   local.judgments_.n_dropped)
        remote = GaussianRating().fit(data)
    assert remote.scores_["task"].to_list() == local.scores_["task"].to_list()
    np.testing.assert_allclose(remote.scores_["score"].to_numpy(), local.scores_["score"].to_numpy(), atol=1e-9)


def test_missing_columns_and_empty_inputs_are_clear_errors(ray_session, int_dir, tmp_path):
    with RayEngine(n_shards=2) as eng:
        with pytest.raises(ValueError, match=r"missing column\(s\) \['item'\]"):
            eng.load_parquet(int_dir, task_col="item")
        with pytest.raises(FileNotFoundError, match="no file matches"):
            eng.load_parquet(str(tmp_path / "nothing-*.parquet"))
        with pytest.raises(ValueError, match="holds no .parquet files"):
            eng.load_parquet(tmp_path)


def test_the_driver_handle_refuses_what_only_the_shards_hold(ray_session, int_dir):
    eng = RayEngine(n_shards=2)
    data = eng.load_parquet(int_dir)
    with pytest.raises(ShardedCodesError, match="live in the shards"):
        _ = data.worker
    assert not hasattr(data, "label")  # an AttributeError too
    with pytest.raises(ValueError, match="takes its gold there"):
        DawidSkene().fit(data, {1: 0})
    eng.close()
    with pytest.raises(ValueError, match="load them again"):
        DawidSkene().fit(data)


# ---------------------------------------------------------------------------- results written by the shards
def test_results_dir_has_one_part_per_shard_equal_to_collected_results(ray_session, int_dir, tmp_path):
    out = tmp_path / "labels"
    with RayEngine(n_shards=3) as eng:
        data = eng.load_parquet(int_dir)
        collected = _fit(data)
        written = _fit(data, results_dir=out)
        _fit(data, results_dir=tmp_path / "top", results_top=2)
    assert written.labels_ is None and written.results_dir_ == out
    assert sorted(os.listdir(out)) == ["_galton_output.json", "part-00000.parquet", "part-00001.parquet",
                                       "part-00002.parquet"]
    assert sorted(os.listdir(tmp_path)) == ["labels", "top"]  # no temporary directory left
    table = pq.read_table(out)
    assert table.column_names == ["task", "label", "confidence", "p_0", "p_1", "p_2"]
    labels, post = _by_task(collected)
    got = dict(zip(table["task"].to_pylist(), table["label"].to_pylist()))
    assert got == labels
    probs = np.column_stack([table[f"p_{k}"].to_numpy() for k in range(3)])
    np.testing.assert_array_equal(probs, np.array([post[t] for t in table["task"].to_pylist()]))
    np.testing.assert_array_equal(table["confidence"].to_numpy(), probs.max(axis=1))
    # the most probable labels only, written by the shards: the rows of the local table of the same fit
    ranked = pq.read_table(tmp_path / "top")
    assert ranked.column_names == ["task", "label", "confidence", "label_1", "p_1", "label_2", "p_2"]
    by_task = lambda rows: sorted(rows, key=lambda r: r["task"])  # noqa: E731 - shards keep their own order
    assert by_task(ranked.to_pylist()) == by_task(results_table(collected, top=2).to_pylist())


def test_the_default_calibrates_the_same_on_ray_ingest_results_dir_and_locally(ray_session, tmp_path):
    """The default's temperature comes from one more pass over the shard actors: Parquet read by the
    actors, results written by them, collected, and the local fit all give the same temperature and
    posteriors (a correlated simulated crowd, so that the temperature is below 1)."""
    from galton import BayesianDawidSkene
    from galton.datasets.simulate import CrowdConfig, simulate

    # (1,500 tasks at correlation 0.6 chose 0.56 before the temperature had to beat 1 by its noise; 1.0 now)
    sim = simulate(CrowdConfig(n_tasks=3000, n_workers=60, judgments_per_task=(6, 6), worker_correlation=0.8,
                               seed=5))
    table = pa.table({"task": sim.task.astype(np.int64), "worker": sim.worker.astype(np.int32),
                      "label": sim.label.astype(np.int32)})
    folder = _write(table, tmp_path / "judgments", n_files=3)
    local = BayesianDawidSkene().fit(table)
    assert local.temperature_ < 0.9
    out = tmp_path / "labels"
    with RayEngine(n_shards=3) as eng:
        data = eng.load_parquet(folder)
        collected = BayesianDawidSkene().fit(data)
        written = BayesianDawidSkene().fit(data, results_dir=out)
    assert collected.temperature_ == written.temperature_ == local.temperature_
    assert collected.rho_ == written.rho_ == local.rho_ > 0
    _assert_same(collected, local)
    labels, post = _by_task(collected)
    got = pq.read_table(out)
    assert dict(zip(got["task"].to_pylist(), got["label"].to_pylist())) == labels
    probs = np.column_stack([got[f"p_{k}"].to_numpy() for k in range(post[0].size)])
    np.testing.assert_array_equal(probs, np.array([post[t] for t in got["task"].to_pylist()]))


def test_the_default_calibrates_on_the_same_sample_whatever_the_shards_of_ingested_parquet(ray_session, tmp_path):
    """On data large enough that the temperature is chosen on a sample of the judgments, the sample
    is keyed by each task's place among the sorted ids, so Parquet read by 1 to 4 shard actors scores
    the very judgments of the local fit: the same count, temperature and probabilities. It was keyed
    by the shards' own codes (``offset + local index``): 3,000 tasks of 20 labels scored 9,841
    judgments locally and 9,646 / 9,907 / 9,764 on 2 / 3 / 4 shards, whose temperature went from
    0.215 to 0.261 (probabilities 0.15 apart, labels unchanged)."""
    from galton import BayesianDawidSkene
    from galton.datasets.simulate import CrowdConfig, simulate

    sim = simulate(CrowdConfig(n_tasks=1200, n_workers=40, n_classes=40, judgments_per_task=(6, 10),
                               worker_correlation=0.3, difficulty_spread=1.0, seed=2))
    table = pa.table({"task": sim.task.astype(np.int64), "worker": sim.worker.astype(np.int32),
                      "label": sim.label.astype(np.int32)})
    folder = _write(table, tmp_path / "judgments", n_files=1, row_group_size=2000)
    local = BayesianDawidSkene().fit(table)
    assert 0 < local.calibration_judgments_ < table.num_rows  # a sample, not every judgment
    for n_shards in (2, 3, 4):
        remote = BayesianDawidSkene()
        fit_parquet(remote, folder, n_shards=n_shards)
        assert remote.calibration_judgments_ == local.calibration_judgments_, n_shards
        assert (remote.temperature_, remote.rho_) == (local.temperature_, local.rho_), n_shards
        _assert_same(remote, local)
    written = BayesianDawidSkene()  # the shards write the results: the same sample
    fit_parquet(written, folder, n_shards=4, results_dir=tmp_path / "labels")
    assert (written.calibration_judgments_, written.temperature_) == (local.calibration_judgments_,
                                                                      local.temperature_)
    got = pq.read_table(tmp_path / "labels").sort_by("task")
    post = _by_task(local)[1]
    probs = np.column_stack([got[f"p_{k}"].to_numpy() for k in local.judgments_.label_names.tolist()])
    np.testing.assert_allclose(probs, np.array([post[t] for t in got["task"].to_pylist()]), rtol=0, atol=1e-9)


class _Broken(DawidSkene):
    def _posteriors(self, shard, params):
        raise ValueError("posterior failed")


def test_a_failed_write_leaves_nothing(ray_session, int_dir, tmp_path):
    with RayEngine(n_shards=2) as eng:
        data = eng.load_parquet(int_dir)
        with pytest.raises(ValueError, match="posterior failed"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _Broken(n_iter=3).fit(data, results_dir=tmp_path / "labels")
    assert os.listdir(tmp_path) == []


def test_a_killed_actor_reloads_its_ingested_shard_and_the_fit_is_unchanged(ray_session, int_dir):
    import signal

    import ray

    class KillOnce(RayEngine):
        calls = 0

        def map(self, fn, *args):
            self.calls += 1
            if self.calls == 5:  # mid-fit: SIGKILL the process holding shard 0
                os.kill(ray.get(self._actors[0].ping.remote()), signal.SIGKILL)
            return super().map(fn, *args)

    with RayEngine(n_shards=2) as eng:
        undisturbed = _fit(eng.load_parquet(int_dir))
    with KillOnce(n_shards=2) as eng:
        data = eng.load_parquet(int_dir)
        recovered = _fit(data)
        assert eng.restarts >= 1
    np.testing.assert_array_equal(recovered.posteriors_, undisturbed.posteriors_)
    assert recovered.history_ == undisturbed.history_


def test_cli_aggregate_ray_writes_a_parquet_directory(ray_session, int_dir, tmp_path, capsys):
    assert main(["aggregate", str(int_dir), "--model", "ds", "--engine", "ray", "--shards", "2",
                 "--output", str(tmp_path / "out"), "--quiet"]) == 0
    assert main(["aggregate", str(int_dir), "--model", "ds", "--output", str(tmp_path / "local.parquet"),
                 "--quiet"]) == 0
    assert main(["aggregate", str(int_dir), "--model", "ds", "--output", str(tmp_path / "local_dir"),
                 "--quiet"]) == 0
    distributed = pq.read_table(tmp_path / "out").sort_by("task")
    local = pq.read_table(tmp_path / "local.parquet")
    assert sorted(os.listdir(tmp_path / "out")) == ["_galton_output.json", "part-00000.parquet",
                                                    "part-00001.parquet"]  # one part per shard, the marker
    assert sorted(os.listdir(tmp_path / "local_dir")) == ["_galton_output.json", "part-00000.parquet"]
    assert pq.read_table(tmp_path / "local_dir").equals(local)
    assert distributed["task"].equals(local["task"]) and distributed["label"].equals(local["label"])
    np.testing.assert_allclose(distributed["p_1"].to_numpy(), local["p_1"].to_numpy(), atol=1e-9)
    # --top: the shards write the most probable labels, as the local command line does
    for where, extra in (("out_top", ["--engine", "ray", "--shards", "2"]), ("local_top.parquet", [])):
        assert main(["aggregate", str(int_dir), "--model", "ds", *extra, "--top", "2",
                     "--output", str(tmp_path / where), "--quiet"]) == 0
    ranked, local_ranked = pq.read_table(tmp_path / "out_top").sort_by("task"), pq.read_table(tmp_path / "local_top.parquet")
    assert ranked.column_names == local_ranked.column_names == ["task", "label", "confidence", "label_1", "p_1",
                                                                "label_2", "p_2"]
    assert ranked["label_2"].equals(local_ranked["label_2"])
    np.testing.assert_allclose(ranked["p_2"].to_numpy(), local_ranked["p_2"].to_numpy(), atol=1e-9)


def test_fit_parquet_refuses_a_results_dir_over_its_input_before_any_work(ray_session, int_dir, tmp_path):
    """results_dir onto the input directory (or a folder galton did not write) is refused before
    Ray reads anything: the input files stay as they were."""
    import galton.io

    before = {p.name: p.read_bytes() for p in int_dir.iterdir()}
    for target in (int_dir, int_dir / "labels"):
        with pytest.raises(galton.io.OutputError, match="input"):
            fit_parquet(DawidSkene(n_iter=3), int_dir, results_dir=target)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    with pytest.raises(galton.io.OutputError, match="galton"):
        fit_parquet(DawidSkene(n_iter=3), int_dir, results_dir=foreign)
    assert (foreign / "notes.txt").read_text() == "keep"
    assert {p.name: p.read_bytes() for p in int_dir.iterdir()} == before


# ---------------------------------------------------------------------------- bug hunt, 22nd session
def test_integer_gold_meets_text_labels_of_digits_as_locally(ray_session, tmp_path):
    """Gold {0: 1, 1: 2} for text labels "1" / "2": local brings it to the labels by its digits,
    distributed ingest refused it as "not in the label set" (its gold was read without the labels)."""
    rng = np.random.default_rng(3)
    task = np.repeat(np.arange(40), 3)
    table = pa.table({"task": task, "worker": rng.integers(0, 6, task.size), "label": [str(v) for v in
                                                                                  rng.integers(1, 3, task.size)]})
    src = _write(table, tmp_path / "digits", n_files=2)
    gold = {0: 1, 1: 2}
    local = _fit(Judgments.from_any(table), gold=gold)
    with RayEngine(n_shards=2) as eng:
        remote = _fit(eng.load_parquet(src, gold=gold))
    _assert_same(remote, local)
    assert _by_task(remote)[0][0] == "1" and _by_task(remote)[0][1] == "2"


def test_predict_on_new_data_after_a_distributed_fit(ray_session, int_dir):
    """predict_proba on new data raised AttributeError ('ShardedJudgments' has no 'worker_index')."""
    table = pq.read_table(int_dir)
    new = table.slice(0, 60).to_pandas()
    local = _fit(table.to_pandas())
    with RayEngine(n_shards=2) as eng:
        remote = _fit(eng.load_parquet(int_dir))
        got = remote.predict_proba(new)
    # the same numbers; the columns in sorted label order (the fit's own, as ingested results are sorted)
    want = local.predict_proba(new)
    assert got.columns.tolist() == sorted(want.columns)
    pd.testing.assert_frame_equal(got, want[sorted(want.columns)], check_exact=False, atol=1e-9)


def test_a_glob_over_hive_folders_reads_their_column(ray_session, tmp_path):
    """'root/label=*/*.parquet' read the partition column locally but not on Ray: "missing column
    ['label']" (the ingest took folders only below a directory, not below a pattern's root)."""
    table, _ = _crowd(5, n_tasks=120)
    frame = table.to_pandas()
    for value, part in frame.groupby("label"):
        folder = tmp_path / "hive" / f"label={value}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(part.drop(columns="label"), preserve_index=False), folder / "p.parquet")
    pattern = str(tmp_path / "hive" / "label=*" / "*.parquet")
    local = _fit(Judgments.from_any(pattern))
    with RayEngine(n_shards=2) as eng:
        remote = _fit(eng.load_parquet(pattern))
    _assert_same(remote, local)


def test_fit_parquet_refuses_what_it_cannot_run_before_any_work(ray_session, int_dir, tmp_path):
    """MajorityVote failed on a keyword it lacks (results_dir) after Ray started; a rating model's
    results_dir crashed in a shard after the fit; a checkpoint_dir inside results_dir ran the whole
    fit, then refused to replace results_dir."""
    from galton import MajorityVote
    from galton.aggregator import create

    with pytest.raises(TypeError, match="fit_parquet runs the models that iterate over shards"):
        fit_parquet(MajorityVote(), int_dir)
    with pytest.raises(ValueError, match="results_dir writes labels and class probabilities"):
        fit_parquet(create("rating_gaussian"), int_dir, results_dir=tmp_path / "out")
    with pytest.raises(ValueError, match="checkpoint_dir .* is or lies inside results_dir"):
        fit_parquet(DawidSkene(), int_dir, results_dir=tmp_path / "out", checkpoint_dir=tmp_path / "out" / "ck")
    with RayEngine(n_shards=2) as eng, pytest.raises(TypeError, match="reads its judgments in this process"):
        MajorityVote().fit(eng.load_parquet(int_dir))


def test_rating_results_of_ingested_data_are_sorted_by_task(ray_session, tmp_path):
    """A rating model on Ray-ingested data gave its scores in shard order ([2, 4, 5, 6, ...]) where
    the README says results come sorted by task, as a local fit's."""
    from galton.aggregator import create

    rng = np.random.default_rng(2)
    task = np.repeat(np.arange(30), 3)
    table = pa.table({"task": task, "worker": rng.integers(0, 5, task.size), "label": rng.normal(3, 1, task.size)})
    src = _write(table, tmp_path / "ratings", n_files=3)
    local = create("rating_gaussian").fit(table.to_pandas())
    with RayEngine(n_shards=3) as eng:
        remote = create("rating_gaussian").fit(eng.load_parquet(src))
    assert remote.scores_["task"].to_list() == list(range(30))  # files give polars results
    np.testing.assert_allclose(remote.scores_["score"].to_numpy(), local.scores_.to_numpy(), atol=1e-9)


def test_a_damaged_parquet_file_is_named_locally_and_on_ray(ray_session, tmp_path):
    """Damaged data pages (a readable footer) gave Arrow's "Output buffer size (272) must be ..."
    locally and a worker's traceback on Ray, neither naming the file."""
    table, _ = _crowd(7, n_tasks=150)
    src = _write(table, tmp_path / "damaged", n_files=3)
    bad = src / "part-00001.parquet"
    raw = bytearray(bad.read_bytes())
    raw[8:400] = bytes(392)  # the first pages, after the magic bytes; the footer stays
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="cannot read .*part-00001.parquet.*fix or remove that file"):
        Judgments.from_any(src)
    with RayEngine(n_shards=2) as eng, pytest.raises(ValueError, match="cannot read .*part-00001.parquet"):
        eng.load_parquet(src)


@pytest.mark.parametrize("name", ["bds", "one_coin_ds", "glad", "mace", "ebcc", "bwa"])
def test_declared_labels_nobody_gives_are_refused_in_ingested_shards(ray_session, int_dir, name):
    """bds, one-coin, GLAD, MACE, EBCC and BWA give a label of ``labels=`` that no judgment and no
    gold gives probability 0 by fitting the judgments re-coded to the labels in use; shards already encoded cannot be
    re-coded, and there the fit spread probability over the unused label (one-coin: wrong answers
    over K - 1 labels; GLAD and MACE gave the unused label 1-3% of the tasks' probability; EBCC's
    answer priors and BWA's prior correction counted it, moving the other labels): it is
    refused, naming the label. The same frame fitted from memory on Ray is
    the fit without the label."""
    from galton.aggregator import create

    frame = Judgments.from_any(str(int_dir))
    with RayEngine(n_shards=2) as eng:
        with pytest.raises(ValueError, match=r"1 of the 4 declared labels \(7\) are given by no judgment"):
            create(name).fit(eng.load_parquet(int_dir, labels=[0, 1, 2, 7]))
        loaded = create(name).fit(eng.load_parquet(int_dir, labels=[0, 1, 2]))
    df = pd.read_parquet(int_dir)
    plain = create(name).fit(df)
    declared = create(name, engine="ray", n_shards=2).fit(df, labels=[0, 1, 2, 7])
    assert frame.label_names.tolist() == [0, 1, 2] and loaded.probas_.width == 4  # task, p_0, p_1, p_2
    assert (declared.probas_[7] == 0).all() and (declared.labels_.to_numpy() == plain.labels_.to_numpy()).all()
    np.testing.assert_allclose(declared.probas_[[0, 1, 2]].to_numpy(), plain.probas_[[0, 1, 2]].to_numpy(),
                               rtol=0, atol=1e-12)
