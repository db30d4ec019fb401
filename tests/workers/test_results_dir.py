"""``results_dir``: the results of data ingested on Ray are written where the shards live, and
nothing per task comes back to the driver (the point of it: data too large for this process)."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from ray import cloudpickle

import galton.aggregator as agg
from galton.aggregator import EMAggregator
from galton.workers.engine import RayEngine

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # actors cannot import test modules


class _Spy(RayEngine):
    """Records what the driver gathers from the shards."""

    def gather(self, fn, *args):
        self.gathered.append(getattr(fn, "__name__", repr(fn)))
        return super().gather(fn, *args)


def _model(name):
    params = agg.parameters(agg.get(name))
    kw = {"max_iter" if "max_iter" in params else "n_iter": 3}
    if "random_state" in params:
        kw["random_state"] = 0
    return agg.create(name, **kw)


def test_a_results_dir_fit_gathers_nothing_per_task_into_the_driver(ray_session, tmp_path):
    """Every task id went to the driver (``out.task_order`` of the fit's results, 100 MB and 0.4 s
    for 1M text ids), and GLAD's difficulties and BWA's scores with them."""
    rng = np.random.default_rng(4)
    task = np.repeat([f"t{i:04d}" for i in range(150)], 3)
    (tmp_path / "judgments").mkdir()
    pq.write_table(pa.table({"task": task, "worker": rng.integers(0, 9, task.size),
                             "label": rng.integers(0, 3, task.size)}), tmp_path / "judgments" / "p.parquet")
    names = [n for n in agg.names(kind="categorical") if issubclass(agg.get(n), EMAggregator)]
    assert {"ds", "glad", "bwa"} <= set(names)
    eng = _Spy(n_shards=2)
    with eng:
        data = eng.load_parquet(tmp_path / "judgments")
        for name in names:
            eng.gathered = []
            model = _model(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(data, results_dir=tmp_path / name)
            assert eng.gathered == [], name
            assert model.labels_ is None and pq.read_table(tmp_path / name).num_rows == 150
        assert model.skills_ is not None  # per-worker results still here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert _model("glad").fit(data, results_dir=tmp_path / "glad").betas_ is None
            eng.gathered = []
            collected = _model("glad").fit(data)  # collected: the task ids and difficulties come back
        assert "_shard_task_names" in eng.gathered and len(collected.betas_) == 150


def _part_on_a_full_disk(shard, posterior_fn, params, directory, *args):
    """In the actor: what galton's writer raises when a shard's part meets a full disk (a real ENOSPC
    from /dev/full, named by its hidden temporary as the writer names it)."""
    import os

    from galton.io import WriteError

    try:
        with open("/dev/full", "wb") as fh:
            fh.write(b"x")
    except OSError as exc:
        raise WriteError(os.path.join(directory, ".part-0123456789abcdef.parquet"), exc) from exc
    raise AssertionError("/dev/full took a write")


def test_a_shard_that_cannot_write_its_part_is_one_line_naming_the_output(ray_session, tmp_path, monkeypatch, capsys):
    """A full disk under the shards: WriteError did not unpickle (its arguments are not (message,)),
    so the command printed Ray's 42-line UnserializableException instead of galton's one line."""
    import os
    import pickle

    import pytest

    from galton.cli import main
    from galton.io import WriteError
    from galton.workers import output

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    said = WriteError(tmp_path / "x.csv", OSError(28, "No space left on device"), ["w.csv"])
    back = pickle.loads(pickle.dumps(said))
    assert (type(back), str(back), back.errno, back.path, back.reason) == (WriteError, str(said), 28, said.path,
                                                                           "No space left on device")
    rng = np.random.default_rng(4)
    (tmp_path / "judgments").mkdir()
    task = np.repeat([f"t{i:03d}" for i in range(60)], 3)
    pq.write_table(pa.table({"task": task, "worker": rng.integers(0, 9, task.size),
                             "label": rng.integers(0, 3, task.size)}), tmp_path / "judgments" / "p.parquet")
    monkeypatch.setattr(output, "write_shard_part", _part_on_a_full_disk)
    out = tmp_path / "labels"
    rc = main(["aggregate", str(tmp_path / "judgments"), "--engine", "ray", "--shards", "2", "-m", "ds",
               "--max-iter", "2", "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err == f"galton: error: cannot write {str(out)!r}: No space left on device; nothing was replaced\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["judgments"]  # no temporary left


def test_a_ray_task_that_fills_the_disk_under_a_directory_output_names_the_output(ray_session, tmp_path):
    """galton simulate on a full disk: pyarrow's error in a Ray task (no file name, Ray's wrapper
    around it) gave "[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on
    device", naming no output."""
    import os

    import pytest
    import ray

    from galton.io import WriteError, atomic_dir

    @ray.remote(max_retries=0)
    def write_part(folder):
        raise OSError(28, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    with pytest.raises(WriteError) as info:
        with atomic_dir(tmp_path / "sim", kind="simulation") as tmp:
            ray.get(write_part.remote(str(tmp)))
    assert str(info.value) == f"cannot write {str(tmp_path / 'sim')!r}: No space left on device; nothing was replaced"
    assert info.value.errno == 28 and os.listdir(tmp_path) == []
