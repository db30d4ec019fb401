"""A Parquet input replaced while galton reads it (another galton's atomic write of the same path)
is read as one version: a file was read as the old footer with the new pages ("corrupt file"); a
Parquet *folder* swapped while read was read as parts of both versions (a spurious type error, or a
part gone half way): now it is read again until one version stood still throughout."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from galton.io import atomic_dir, read_input, write_table


def _version(v: int, n: int) -> pa.Table:
    t = np.arange(n) + v * 10**6
    return pa.table({"task": t, "worker": t % 7, "label": np.full(n, v)})


def test_a_file_replaced_while_read_is_read_whole(tmp_path):
    # a race (pyarrow opened the path once per step): about 1 read in 90 failed "corrupt file"
    import threading
    import time

    f = tmp_path / "j.parquet"
    write_table(_version(0, 3000), f)
    stop = threading.Event()

    def writer():
        v = 0
        while not stop.is_set():
            v += 1
            write_table(_version(v % 2, 3000 - 1000 * (v % 2)), f)

    t = threading.Thread(target=writer)
    t.start()
    bad, end = [], time.monotonic() + 4
    try:
        while time.monotonic() < end and not bad:
            try:
                got = read_input(f)
            except ValueError as exc:
                bad.append(str(exc))
                continue
            assert got.equals(_version(0, 3000)) or got.equals(_version(1, 2000))
    finally:
        stop.set()
        t.join()


def _folder(path, labels, n_parts=2) -> pa.Table:
    """Write ``path`` (galton's own atomic folder write: the new folder swapped in, the old deleted)."""
    tables = [pa.table({"task": np.arange(i * 5, i * 5 + 5), "worker": np.arange(5) % 3,
                        "label": pa.array([labels[(i + j) % len(labels)] for j in range(5)])})
              for i in range(n_parts)]
    with atomic_dir(path) as tmp:
        for i, t in enumerate(tables):
            pq.write_table(t, tmp / f"part-{i}.parquet")
    return pa.concat_tables(tables)


def _swap_after_first_footer(monkeypatch, path, versions):
    """Rewrite the folder (each of ``versions`` in turn) right after galton read one file's footer: the
    moment a reader was listing one version's parts and reading another's."""
    real = pq.read_schema
    left = list(versions)

    def read_schema(f, *a, **k):
        out = real(f, *a, **k)
        if left:
            _folder(path, *left.pop(0))
        return out

    monkeypatch.setattr(pq, "read_schema", read_schema)
    return left


def test_a_folder_rewritten_while_read_is_read_as_one_version(tmp_path, monkeypatch):
    # before: integer labels' footer from the old part-0, text labels from the new part-1: "column
    # 'label' is string in file part-1 but int64 in part-0" for a folder that never held both
    d = tmp_path / "parts"
    _folder(d, [1, 2])
    _swap_after_first_footer(monkeypatch, d, [(["a", "b"],)])
    got = read_input(d)
    assert got.column("label").to_pylist() == ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"]
    assert got.column("task").to_pylist() == list(range(10))


def test_a_folder_losing_a_part_while_read_is_read_again(tmp_path, monkeypatch):
    # before: part-2 listed, then gone with the old folder: "cannot read ... part-2" for a folder that
    # is whole at every moment
    d = tmp_path / "parts"
    _folder(d, [1, 2], n_parts=3)
    _swap_after_first_footer(monkeypatch, d, [([7, 8], 2)])
    got = read_input(d)
    assert got.num_rows == 10 and set(got.column("label").to_pylist()) == {7, 8}


def test_a_folder_rewritten_at_every_read_is_refused_with_what_to_do(tmp_path, monkeypatch):
    from galton.io._snapshot import ATTEMPTS

    d = tmp_path / "parts"
    _folder(d, [1, 2])
    _swap_after_first_footer(monkeypatch, d, [([v, v + 1],) for v in range(3, 3 + 2 * ATTEMPTS)])  # a swap per footer
    with pytest.raises(ValueError, match=r"changed while galton read it .*read it when that program has finished"):
        read_input(d)
