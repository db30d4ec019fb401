"""Tests for galton.workers.simulate: parallel Ray tasks write exactly the in-memory simulation.

Uses the session's Ray instance (the ``ray_session`` fixture of tests/workers/conftest.py).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from galton.datasets.simulate import CrowdConfig, sample_workers
from galton.datasets.simulate import simulate as simulate_in_memory
from galton.io import atomic_dir

# the module, even if galton.workers re-exports a function of the same name
ws = importlib.import_module("galton.workers.simulate")

CFG = CrowdConfig(n_tasks=5_000, n_workers=40, n_classes=3, judgments_per_task=(2, 7),
                  worker_model="full", accuracy_spread=0.1, spammer_share=0.1,
                  spammer_kind="constant", adversary_share=0.05, expert_share=0.1,
                  difficulty_spread=0.5, trap_share=0.2, worker_correlation=0.2, seed=123,
                  tasks_per_chunk=600)  # 9 chunks, the last one short


def _read(path: Path) -> dict[str, np.ndarray]:
    files = sorted(path.glob("part-*.parquet"))
    table = pq.ParquetDataset(files).read() if files else None
    assert table is not None, f"no part files in {path}"
    return {name: table[name].to_numpy() for name in table.column_names}


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_files_equal_the_in_memory_simulation(ray_session: object, tmp_path: Path) -> None:
    out = tmp_path / "sim"
    summary = ws.simulate(CFG, out, files=4)
    mem = simulate_in_memory(CFG)
    assert summary.n_judgments == mem.n_judgments and summary.n_tasks == CFG.n_tasks
    assert summary.n_files == 4 and summary.path == out
    assert _siblings(out) == ["sim"]  # no temporary directory left behind
    assert sorted(p.name for p in out.iterdir()) == ["_galton_output.json", "config.json", "judgments",
                                                      "truth", "workers.parquet"]
    assert len(list((out / "judgments").iterdir())) == 4
    j = _read(out / "judgments")
    assert j["task"].dtype == np.int64 and j["worker"].dtype == np.int32 and j["label"].dtype == np.int32
    for name in ("task", "worker", "label"):
        assert np.array_equal(j[name], getattr(mem, name)), name
    t = _read(out / "truth")
    assert np.array_equal(t["task"], np.arange(CFG.n_tasks))
    assert np.array_equal(t["true_label"], mem.true_label)
    assert np.array_equal(t["difficulty"], mem.difficulty) and np.array_equal(t["is_trap"], mem.is_trap)
    w = pq.read_table(out / "workers.parquet")
    assert w["worker"].to_pylist() == list(range(CFG.n_workers))
    assert w["kind"].to_pylist() == mem.workers.kind.tolist()
    assert np.array_equal(w["accuracy"].to_numpy(), mem.workers.accuracy)
    assert np.array_equal(w["effective_accuracy"].to_numpy(), mem.workers.effective_accuracy)  # CFG: rho, traps
    assert w.column_names[:4] == ["worker", "kind", "accuracy", "effective_accuracy"]
    assert w["is_expert"].to_pylist() == mem.workers.is_expert.tolist()
    const = w["constant_label"].to_pylist()
    assert const == [None if c < 0 else c for c in mem.workers.constant_label.tolist()]
    conf = np.array(w["confusion"].to_pylist())
    assert np.array_equal(conf.reshape(-1, 3, 3), mem.workers.confusion)
    assert CrowdConfig.from_dict(json.loads((out / "config.json").read_text())) == CFG


def test_same_files_whatever_the_tasks_in_flight(ray_session: object, tmp_path: Path) -> None:
    a = ws.simulate(CFG, tmp_path / "a", max_in_flight=1)
    b = ws.simulate(CFG, tmp_path / "b", max_in_flight=3)
    c = ws.simulate(CFG, tmp_path / "c", files=2, max_in_flight=3)
    assert a.n_files == b.n_files == CFG.n_chunks == 9 and c.n_files == 2
    for table in ("judgments", "truth"):
        names = sorted(p.name for p in (a.path / table).iterdir())
        assert names == [f"part-{i:05d}.parquet" for i in range(9)]
        for name in names:
            assert (a.path / table / name).read_bytes() == (b.path / table / name).read_bytes()
        # another grouping of the same chunks: other files, the same rows
        ja, jc = _read(a.path / table), _read(c.path / table)
        assert all(np.array_equal(ja[k], jc[k]) for k in ja)
    assert (a.path / "workers.parquet").read_bytes() == (b.path / "workers.parquet").read_bytes()


def test_refuses_to_overwrite_unless_asked(ray_session: object, tmp_path: Path) -> None:
    out = tmp_path / "sim"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    small = CrowdConfig(n_tasks=300, n_workers=10, judgments_per_task=3, seed=1, tasks_per_chunk=100)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ws.simulate(small, out)
    assert (out / "keep.txt").read_text() == "mine"
    with pytest.raises(FileExistsError, match="galton did not write"):  # never deletes a user's folder
        ws.simulate(small, out, overwrite=True)
    assert (out / "keep.txt").read_text() == "mine"
    (out / "keep.txt").unlink()  # an empty folder may receive the output
    ws.simulate(small, out, overwrite=True)
    ws.simulate(small, out, overwrite=True)  # its own output is replaced
    assert (out / "config.json").exists() and (out / "_galton_output.json").exists()
    assert _siblings(out) == ["sim"]


def test_a_failed_run_leaves_nothing(ray_session: object, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kw: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ws, "workers_table", broken)  # fails after every part file is written
    small = CrowdConfig(n_tasks=300, n_workers=10, judgments_per_task=3, seed=1, tasks_per_chunk=100)
    with pytest.raises(OSError, match="disk full"):
        ws.simulate(small, tmp_path / "sim")
    assert list(tmp_path.iterdir()) == []
    old = tmp_path / "old"
    with atomic_dir(old, kind="simulation") as tmp:  # an earlier simulation (only that kind is replaced)
        (tmp / "keep.txt").write_text("mine")
    with pytest.raises(OSError, match="disk full"):
        ws.simulate(small, old, overwrite=True)
    assert (old / "keep.txt").read_text() == "mine" and _siblings(old) == ["old"]


def test_string_worker_ids(ray_session: object, tmp_path: Path) -> None:
    cfg = CrowdConfig(n_tasks=400, n_workers=25, judgments_per_task=3, seed=5,
                      tasks_per_chunk=150, worker_ids="str")
    ws.simulate(cfg, tmp_path / "s")
    mem = simulate_in_memory(cfg)
    j = pq.read_table(tmp_path / "s" / "judgments")
    assert j["worker"].to_pylist() == [f"w{w:04d}" for w in mem.worker]
    w = pq.read_table(tmp_path / "s" / "workers.parquet")
    assert w["worker"].to_pylist() == [f"w{i:04d}" for i in range(25)]
    assert "confusion" not in w.column_names  # one-coin crowd: no confusion matrices


def test_part_writer_runs_without_ray(tmp_path: Path) -> None:
    (tmp_path / "judgments").mkdir()
    (tmp_path / "truth").mkdir()
    part, n_tasks, n_judgments = ws.write_part(CFG, sample_workers(CFG), (2, 4), 7, str(tmp_path))
    mem = simulate_in_memory(CFG)
    sel = (mem.task >= 1200) & (mem.task < 2400)
    assert (part, n_tasks, n_judgments) == (7, 1200, int(sel.sum()))
    f = pq.ParquetFile(tmp_path / "judgments" / "part-00007.parquet")
    assert f.metadata.num_row_groups == 2  # one per chunk
    assert np.array_equal(f.read()["label"].to_numpy(), mem.label[sel])


def test_part_writer_builds_the_worker_tables_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug hunt: write_part called simulate_tasks per chunk, which rebuilt the per-worker tables
    (n_workers x K, 20 s and 3.2 GB for 100,000 workers and 1,000 classes) for every chunk."""
    gs = importlib.import_module("galton.datasets.simulate")
    built = []

    class Counted(gs._Prepared):
        def __init__(self, *args: object) -> None:
            built.append(1)
            super().__init__(*args)

    monkeypatch.setattr(gs, "_Prepared", Counted)
    (tmp_path / "judgments").mkdir()
    (tmp_path / "truth").mkdir()
    ws.write_part(CFG, sample_workers(CFG), (0, 5), 0, str(tmp_path))
    assert len(built) == 1
    mem = simulate_in_memory(CFG)
    assert np.array_equal(pq.read_table(tmp_path / "judgments")["label"].to_numpy(), mem.label[mem.task < 3000])


def test_part_writer_names_only_the_workers_it_writes(tmp_path: Path) -> None:
    """Bug hunt: with worker_ids="str" write_part built the text id of every worker for every part
    file (1.7 s a part for 1M workers, 28 MB of numpy text and as much in Arrow). It now names the
    part's judgments only: tracing numpy's memory, a part of 3,000 judgments with text ids takes
    little more than the same part with integer ids, and the names are those of the in-memory data."""
    import tracemalloc

    peaks = {}
    for ids in ("int", "str"):
        cfg = CrowdConfig(n_tasks=1_000, n_workers=1_000_000, judgments_per_task=3, seed=1,
                          tasks_per_chunk=500, worker_ids=ids)
        workers = sample_workers(cfg)
        out = tmp_path / ids
        (out / "judgments").mkdir(parents=True)
        (out / "truth").mkdir()
        tracemalloc.start()
        try:
            ws.write_part(cfg, workers, (0, 2), 0, str(out))
            peaks[ids] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peaks["str"] - peaks["int"] < 1_000_000, peaks  # 3,000 names, not 1M (28 MB)
    mem = simulate_in_memory(cfg)
    assert pq.read_table(tmp_path / "str" / "judgments")["worker"].to_pylist() == [f"w{w:06d}" for w in mem.worker]
    assert np.array_equal(pq.read_table(tmp_path / "int" / "judgments")["worker"].to_numpy(), mem.worker)


def test_part_names_sort_in_task_order_beyond_99999_parts(tmp_path: Path) -> None:
    """Bug hunt: part-{part:05d} gave part-100000 before part-99999 in name order (beyond 99,999
    parts), though the judgments are documented as sorted by task."""
    (tmp_path / "judgments").mkdir()
    (tmp_path / "truth").mkdir()
    cfg = CrowdConfig(n_tasks=100_002, n_workers=5, judgments_per_task=1, tasks_per_chunk=1, seed=0)
    workers = sample_workers(cfg)
    for part in (100_001, 9, 99_999, 100_000):
        ws.write_part(cfg, workers, (part, part + 1), part, str(tmp_path), n_parts=cfg.n_chunks)
    names = sorted(p.name for p in (tmp_path / "judgments").iterdir())
    assert names == ["part-000009.parquet", "part-099999.parquet", "part-100000.parquet", "part-100001.parquet"]
    assert pq.read_table(tmp_path / "judgments")["task"].to_pylist() == [9, 99_999, 100_000, 100_001]
    assert [ws.part_name(p, n) for p, n in ((7, 100_000), (99_999, 100_000), (7, 1), (7, 100_001))] == [
        "part-00007.parquet", "part-99999.parquet", "part-00007.parquet", "part-000007.parquet"]
