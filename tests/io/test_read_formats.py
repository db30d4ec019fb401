"""Inputs as other programs write them (issue: formats): Parquet folders with any Parquet name,
Parquet from a pipe or compressed, repeated column names, byte-order marks, classic Mac line
ends, blank lines before a header, and errors that name the line at fault."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from galton.io._read import input_files, read_input


def _judgments(tasks, label="x"):
    return pa.table({"task": list(tasks), "worker": ["w"] * len(tasks), "label": [label] * len(tasks)})


# --------------------------------------------------------------------------------------------------
# a Parquet folder: every Parquet name galton itself reads and writes
# --------------------------------------------------------------------------------------------------
def test_a_folder_reads_pq_and_upper_case_parquet_files(tmp_path):
    root = tmp_path / "updir"
    root.mkdir()
    pq.write_table(_judgments("ab"), root / "part-0.parquet")
    pq.write_table(_judgments("cd"), root / "PART-1.PARQUET")  # a Windows tool's upper-case name
    pq.write_table(_judgments("e"), root / "part-2.pq")  # galton writes .pq itself
    (root / "notes.csv").write_text("task\nz\n")  # not Parquet: not read
    assert [p.rsplit("/", 1)[1] for p in input_files(root)] == ["PART-1.PARQUET", "part-0.parquet", "part-2.pq"]
    assert sorted(read_input(root).column("task").to_pylist()) == ["a", "b", "c", "d", "e"]
    # the same files as a pattern that names them all: the same rows
    assert sorted(read_input(str(root) + "/*[tTq]").column("task").to_pylist()) == ["a", "b", "c", "d", "e"]
