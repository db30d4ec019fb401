"""Time-zoned timestamp ids: gold matches them and results keep their nanoseconds (bug hunt,
twenty-second session)."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pytest

import galton
from galton.io import results_table


def _hours() -> pa.Array:
    return pa.array([datetime(2024, 1, 1, h, tzinfo=timezone.utc) for h in (0, 1)], pa.timestamp("us", tz="UTC"))


@pytest.mark.parametrize("frame", ["arrow", "pandas"])
def test_gold_as_a_table_finds_zoned_timestamp_tasks(frame: str) -> None:
    """Gold given as a table was read as naive datetime64, which never equals the judgments' zoned
    ids: "gold shares no task with the judgments; it is ignored" and labels a, a for gold b, b."""
    ids = _hours()
    table = pa.table({"task": ids.take([0, 0, 0, 1, 1, 1]), "worker": list("abcabc"), "label": list("aabaab")})
    gold = pa.table({"task": ids, "label": ["b", "b"]})
    fitted = galton.aggregate(table, "ds", gold=gold if frame == "arrow" else gold.to_pandas())
    assert fitted.labels_.column("label").to_pylist() == ["b", "b"]


def test_nanosecond_ids_stay_two_tasks_in_results() -> None:
    """Two tasks 1 ns apart came back with one id (Arrow inferred microseconds from the objects)."""
    ns = pa.array([0, 1], pa.timestamp("ns", tz="UTC"))
    table = pa.table({"task": ns.take([0, 0, 1, 1]), "worker": list("abab"), "label": list("xxyy")})
    for fitted in (galton.MajorityVote().fit(table), galton.aggregate(table, "ds")):
        assert fitted.labels_.column("task").combine_chunks().equals(ns)
    assert results_table(galton.aggregate(table, "ds")).column("task").combine_chunks().equals(ns)
