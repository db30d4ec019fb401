"""Image segmentation models against crowd-kit's on simulated masks: share of pixels right, time, peak memory.

Each image holds a disc; 20 workers of fixed kinds segment it: spammers (30% of the pixels at
random), careful outliners (the disc with a noisy radius and centre, each worker its own noise) and
pixel flippers (2-15% of the pixels flipped). ``--per-image`` workers per image (1 to 20), a share ``--spam``
of the workers spammers. For each model (galton's and crowd-kit's of the same name) the table gives
the share of pixels right (mean over ``--seeds``), the median seconds of the fits, the ratio
crowd-kit / galton and the rise of the process's peak resident memory during the fit::

    python -m galton.benchmarks.segmentation [--images 300] [--per-image 5] [--seeds 3] [--size 24]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from typing import Any, Sequence

import numpy as np

from ._common import (at_least_one, current_rss_mib, emit, fmt_ratio, load_average, markdown_table, peak_rss_mib,
                      reset_peak_rss)

__all__ = ["simulate_masks", "pixel_accuracy", "run", "main"]

MODELS = ("SegmentationMajorityVote", "SegmentationEM", "SegmentationRASA")
#: the simulated workers: at most this many masks per image
_WORKERS = 20


def simulate_masks(seed: int, n_images: int = 150, per_image: int = 5, spam: float = 0.3, size: int = 24,
                   n_workers: int = _WORKERS) -> tuple[Any, dict, np.ndarray]:
    """(judgments as a pandas frame task, worker, segmentation; the true mask per task; each
    worker's kind draw, below ``spam`` for a spammer, below 0.6 an outliner, else a flipper)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    kind = rng.random(n_workers)
    sd, flip = rng.uniform(0.3, 2.5, n_workers), rng.uniform(0.02, 0.15, n_workers)
    yy, xx = np.mgrid[:size, :size]
    rows, truth = [], {}
    for i in range(n_images):
        cy, cx, r = rng.uniform(6, size - 6), rng.uniform(6, size - 6), rng.uniform(3, 8)
        truth[i] = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        for w in rng.choice(n_workers, per_image, replace=False):
            if kind[w] < spam:
                mask = rng.random((size, size)) < 0.3
            elif kind[w] < 0.6:
                rr = r + rng.normal(0, sd[w])
                dy, dx = rng.normal(0, sd[w] / 2, 2)
                mask = (yy - cy - dy) ** 2 + (xx - cx - dx) ** 2 < rr * rr
            else:
                mask = truth[i] ^ (rng.random((size, size)) < flip[w])
            rows.append((i, f"w{w}", mask))
    return pd.DataFrame(rows, columns=["task", "worker", "segmentation"]), truth, kind


def pixel_accuracy(result: Any, truth: dict) -> float:
    """Mean over images of the share of pixels the aggregated mask has right."""
    return float(np.mean([(np.asarray(result[t]) == truth[t]).mean() for t in truth]))


def _fit(model: Any, data: Any) -> tuple[Any, float, float]:
    import time

    reset_peak_rss()
    before = current_rss_mib()
    t0 = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = model.fit_predict(data)
    return out, time.perf_counter() - t0, max(peak_rss_mib()[0] - before, 0.0)


def run(n_images: int, per_image: int, seeds: int, spams: Sequence[float], crowdkit: bool = True,
        size: int = 24) -> str:
    import galton

    rows = []
    for spam in spams:
        for name in MODELS:
            acc: dict[str, list[float]] = {"galton": [], "crowd-kit": []}
            secs: dict[str, list[float]] = {"galton": [], "crowd-kit": []}
            mem: dict[str, list[float]] = {"galton": [], "crowd-kit": []}
            for seed in range(seeds):
                data, truth, _ = simulate_masks(seed, n_images, per_image, spam, size)
                sides = [("galton", getattr(galton, name)())]
                if crowdkit:
                    import crowdkit.aggregation as ck

                    sides.append(("crowd-kit", getattr(ck, name)()))
                for side, model in sides:
                    out, t, m = _fit(model, data)
                    acc[side].append(pixel_accuracy(out, truth))
                    secs[side].append(t)
                    mem[side].append(m)
            g, c = statistics.median(secs["galton"]), statistics.median(secs["crowd-kit"]) if crowdkit else None
            rows.append([f"{spam:.0%}", name, f"{np.mean(acc['galton']):.4f}",
                         f"{np.mean(acc['crowd-kit']):.4f}" if crowdkit else "-", f"{g:.3f}",
                         f"{c:.3f}" if c is not None else "-", fmt_ratio(c / g) if c is not None else "-",
                         f"{max(mem['galton']):.0f}", f"{max(mem['crowd-kit']):.0f}" if crowdkit else "-"])
    head = ["spammers", "model", "galton pixels right", "crowd-kit pixels right", "galton s", "crowd-kit s",
            "crowd-kit / galton", "galton peak +MiB", "crowd-kit peak +MiB"]
    return (f"# Image segmentation on simulated masks\n\n- load at the start: {load_average()}\n- {n_images} "
            f"images of {size} x {size} pixels, {per_image} masks each, 20 workers; means over {seeds} seed(s), "
            "median seconds\n\n" + markdown_table(head, rows) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.segmentation", description=__doc__.split("\n")[0])
    p.add_argument("--images", type=at_least_one, default=300, help="images per simulated crowd (at least 1)")
    p.add_argument("--per-image", type=int, default=5, help=f"masks per image (1 to {_WORKERS})")
    p.add_argument("--seeds", type=at_least_one, default=3, help="simulated crowds per row (at least 1)")
    p.add_argument("--spam", type=float, nargs="+", default=[0.0, 0.3],
                   help="shares of spammers among the workers (each in [0, 1])")
    p.add_argument("--size", type=int, default=24, help="pixels per side of an image (memory grows with the square)")
    p.add_argument("--no-crowdkit", action="store_true", help="galton only")
    p.add_argument("--out", help="also write the Markdown report to this file (atomically)")
    args = p.parse_args(argv)
    if args.size < 16:  # the disc (radius up to 8, centre 6 pixels from the edges) needs room
        p.error(f"--size must be >= 16, not {args.size}")
    # out of range, they crashed (numpy's "Cannot take a larger sample than population", "no median
    # for empty data") or printed tables of NaN
    if not 1 <= args.per_image <= _WORKERS:
        p.error(f"--per-image must be between 1 and {_WORKERS} (the simulated workers), not {args.per_image}")
    outside = [v for v in args.spam if not 0.0 <= v <= 1.0]
    if outside:
        p.error(f"--spam: shares lie in [0, 1], not {outside[0]}")
    return emit(run(args.images, args.per_image, args.seeds, args.spam, not args.no_crowdkit, args.size), args.out)


if __name__ == "__main__":
    sys.exit(main())
