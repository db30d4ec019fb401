"""The benchmarks of galton's metrics, segmentation, text and embedding models against crowd-kit
(small sizes): each row really runs both sides on the same data, and their results agree."""

from __future__ import annotations

import pytest

from galton.benchmarks import metrics, segmentation, texts
from galton.benchmarks._common import parse_markdown_table

pytest.importorskip("crowdkit", reason="crowd-kit (the peer) is a test dependency")


def _rows(text: str, after: str = "") -> tuple[list[str], list[list[str]]]:
    return parse_markdown_table(text[text.index(after):] if after else text)


def test_metrics_benchmark_rows_agree_with_crowdkit():
    head, rows = _rows(metrics.run(judgments=2000, big=0, repeat=1))
    assert [r[0] for r in rows] == list(metrics.CASES)
    diff = head.index("largest difference")
    assert all(float(r[diff]) <= 1e-12 for r in rows), rows
    ratio = head.index("crowd-kit / galton")
    assert all(r[ratio].endswith("x") for r in rows)


def test_segmentation_benchmark_gives_crowdkits_masks():
    head, rows = _rows(segmentation.run(n_images=40, per_image=5, seeds=1, spams=[0.3]))
    ours, theirs = head.index("galton pixels right"), head.index("crowd-kit pixels right")
    assert [r[1] for r in rows] == list(segmentation.MODELS)
    assert all(r[ours] == r[theirs] for r in rows), rows
    # with 30% spammers EM is ahead of majority vote (the README's claim, on a smaller crowd)
    by_model = {r[1]: float(r[ours]) for r in rows}
    assert by_model["SegmentationEM"] > by_model["SegmentationMajorityVote"]


def test_texts_benchmark_rover_and_rasa_agree_with_crowdkit():
    report = texts.run(n_tasks=60, per_task=5, words=12, repeat=1)
    _, rows = _rows(report)
    wer = {r[0]: r[1] for r in rows}
    assert wer["galton ROVER"] == wer["crowd-kit ROVER"]
    assert float(wer["galton ROVER"]) < float(wer["the best transcriber of each task, with hindsight"])
    _, rows = _rows(report, "# Embeddings")
    dist = {r[0]: r[1] for r in rows}
    assert dist["galton RASA"] == dist["crowd-kit RASA"]
    assert dist["galton ClosestToAverage"] == dist["crowd-kit ClosestToAverage"]
    assert float(dist["galton RASA"]) < float(dist["galton ClosestToAverage"])
