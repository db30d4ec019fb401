"""A Parquet input replaced while galton reads it (another galton's atomic write of the same path)
is read as one version: a file was read as the old footer with the new pages ("corrupt file").
(A Parquet *folder* swapped while read may still be read as a mix of two versions' parts: README,
"Your data is safe".)"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from galton.io import read_input, write_table


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
