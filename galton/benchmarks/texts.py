"""ROVER and RASA against crowd-kit's: simulated transcriptions and embeddings; error, time, peak memory.

Each task is a sentence of ``--words`` words drawn from a vocabulary of 2,000; each of its
``--per-task`` transcribers (1 to 15) copies it with their own word error rate (uniform in 5-30%): a word is
dropped, replaced by a random word, or followed by an inserted one, in equal shares. The table gives
the word error rate (edit distance in words over the sentence's length, mean over tasks) of one
transcriber chosen at random, of the best transcriber of each task (with hindsight), and of ROVER,
galton's and crowd-kit's, with the median seconds of ``--repeat`` fits, their ratio and the rise of
the process's peak resident memory during the fit.

A second table does the same for the embedding models (``RASA``, ``ClosestToAverage`` and
``HRRASA``; where crowd-kit's fails, as its HRRASA on pandas 3, galton's row says so): each task a
true vector of 32 dimensions, each of 15 workers adding Gaussian noise of their own scale (0.1-2.0);
the error is the distance of the chosen output's embedding to the true vector (mean over tasks)::

    python -m galton.benchmarks.texts [--tasks 500] [--per-task 5] [--words 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any, Sequence

import numpy as np

from ._common import (at_least_one, current_rss_mib, emit, fmt_ratio, load_average, markdown_table, peak_rss_mib,
                      reset_peak_rss, timed)

__all__ = ["simulate_transcripts", "simulate_embeddings", "word_errors", "run", "main"]

#: the simulated workers of the embedding part (the transcriptions have 50): at most this many per task
_EMBEDDING_WORKERS = 15


def simulate_transcripts(seed: int, n_tasks: int = 500, per_task: int = 5, words: int = 20,
                         vocabulary: int = 2000) -> tuple[Any, dict]:
    """(a pandas frame task, worker, text; the true sentence of each task)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(vocabulary)]
    error = rng.uniform(0.05, 0.30, 50)  # 50 transcribers, each with their own error rate
    rows, truth = [], {}
    for t in range(n_tasks):
        sentence = [vocab[i] for i in rng.integers(0, vocabulary, words)]
        truth[t] = " ".join(sentence)
        for w in rng.choice(50, per_task, replace=False):
            out = []
            for word in sentence:
                u = rng.random()
                if u >= error[w]:
                    out.append(word)
                elif u < error[w] / 3:
                    continue  # dropped
                elif u < 2 * error[w] / 3:
                    out.append(vocab[rng.integers(vocabulary)])  # replaced
                else:
                    out += [word, vocab[rng.integers(vocabulary)]]  # followed by an inserted word
            rows.append((t, f"t{w}", " ".join(out)))
    return pd.DataFrame(rows, columns=["task", "worker", "text"]), truth


def simulate_embeddings(seed: int, n_tasks: int = 500, per_task: int = 5,
                        dim: int = 32) -> tuple[Any, np.ndarray, np.ndarray]:
    """(a pandas frame task, worker, output, embedding; the true vector of each task, by row; the
    noise scale of each of the 15 workers ``w0`` .. ``w14``)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    noise = rng.uniform(0.1, 2.0, _EMBEDDING_WORKERS)
    truth = rng.normal(size=(n_tasks, dim))
    rows = []
    for t in range(n_tasks):
        for w in rng.choice(_EMBEDDING_WORKERS, per_task, replace=False):
            rows.append((t, f"w{w}", f"{t}/{w}", truth[t] + rng.normal(scale=noise[w], size=dim)))
    return pd.DataFrame(rows, columns=["task", "worker", "output", "embedding"]), truth, noise


def _embedding_rows(n_tasks: int, per_task: int, repeat: int, crowdkit: bool) -> list[list[str]]:
    import galton

    data, truth, _ = simulate_embeddings(0, n_tasks, per_task)
    models = [("galton RASA", galton.RASA, {}), ("galton ClosestToAverage", galton.ClosestToAverage,
                                                 {"distance": "cosine"}), ("galton HRRASA", galton.HRRASA, {})]
    if crowdkit:
        import crowdkit.aggregation as ck

        models += [("crowd-kit RASA", ck.RASA, {}),
                   ("crowd-kit ClosestToAverage", ck.ClosestToAverage, {"distance": ck.RASA._cosine_distance}),
                   ("crowd-kit HRRASA", ck.HRRASA, {})]
    rows, seconds, failed = [], {}, {}
    for name, cls, kwargs in models:
        model = cls(**kwargs)
        reset_peak_rss()
        before = current_rss_mib()
        try:
            chosen, times = timed(lambda: model.fit_predict(data), repeat)
        except Exception as exc:  # noqa: BLE001 - crowd-kit's HRRASA fails on pandas 3: said on galton's row
            if not name.startswith("crowd-kit "):
                raise
            failed[name] = type(exc).__name__
            continue
        seconds[name] = statistics.median(times)
        err = np.mean([np.linalg.norm(np.asarray(e) - truth[t]) for t, e in chosen["embedding"].items()])
        rows.append([name, f"{err:.4f}", f"{seconds[name]:.3f}", "", f"{max(peak_rss_mib()[0] - before, 0.0):.0f}"])
    for i, base in enumerate(("RASA", "ClosestToAverage", "HRRASA")):  # galton's rows come first
        theirs = f"crowd-kit {base}"
        if theirs in seconds:
            rows[i][3] = fmt_ratio(seconds[theirs] / seconds[f"galton {base}"])
        elif theirs in failed:  # what happened, not what once did (it said so without crowd-kit too)
            import pandas as pd

            rows[i][3] = f"(crowd-kit's fails here: {failed[theirs]}, pandas {pd.__version__})"
    return rows


def word_errors(hypothesis: str, reference: str) -> float:
    """Word error rate: the edit distance in words over the number of words of ``reference``."""
    h, r = hypothesis.split(), reference.split()
    row = list(range(len(h) + 1))
    for i, word in enumerate(r, start=1):
        prev, row[0] = row[0], i
        for j in range(1, len(h) + 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (word != h[j - 1]))
    return row[-1] / max(len(r), 1)


def _mean_wer(texts: Any, truth: dict) -> float:
    return float(np.mean([word_errors(texts[t], truth[t]) for t in truth]))


def run(n_tasks: int, per_task: int, words: int, repeat: int, crowdkit: bool = True) -> str:
    import galton

    data, truth = simulate_transcripts(0, n_tasks, per_task, words)
    per_text = data.assign(wer=[word_errors(x, truth[t]) for t, x in zip(data["task"], data["text"])])
    first = per_text.groupby("task")["wer"].first().mean()
    best = per_text.groupby("task")["wer"].min().mean()
    rows = [["one transcriber (the first of each task)", f"{first:.4f}", "-", "-", "-"],
            ["the best transcriber of each task, with hindsight", f"{best:.4f}", "-", "-", "-"]]
    sides = [("galton ROVER", galton.ROVER)]
    if crowdkit:
        from crowdkit.aggregation import ROVER as CrowdkitROVER

        sides.append(("crowd-kit ROVER", CrowdkitROVER))
    seconds = {}
    for name, cls in sides:
        model = cls(tokenizer=str.split, detokenizer=" ".join)
        reset_peak_rss()
        before = current_rss_mib()
        texts, times = timed(lambda: model.fit_predict(data), repeat)
        seconds[name] = statistics.median(times)
        rows.append([name, f"{_mean_wer(texts, truth):.4f}", f"{seconds[name]:.3f}", "",
                     f"{max(peak_rss_mib()[0] - before, 0.0):.0f}"])
    if crowdkit:
        rows[-2][3] = fmt_ratio(seconds["crowd-kit ROVER"] / seconds["galton ROVER"])
    head = ["", "word error rate", "seconds", "crowd-kit / galton", "peak +MiB"]
    text = (f"# ROVER on simulated transcriptions\n\n- load at the start: {load_average()}\n- {n_tasks} tasks of "
            f"{words} words, {per_task} transcriptions each (word error rates 5-30%); median of {repeat} fit(s)\n\n"
            + markdown_table(head, rows) + "\n")
    head = ["", "distance to the truth", "seconds", "crowd-kit / galton", "peak +MiB"]
    return (text + f"\n# Embeddings\n\n- {n_tasks} tasks, {per_task} outputs each, 32 dimensions, 15 workers (noise "
            "0.1-2.0)\n\n" + markdown_table(head, _embedding_rows(n_tasks, per_task, repeat, crowdkit)) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m galton.benchmarks.texts", description=__doc__.split("\n")[0])
    p.add_argument("--tasks", type=at_least_one, default=500, help="simulated sentences (at least 1)")
    p.add_argument("--per-task", type=int, default=5,
                   help=f"transcriptions per sentence and outputs per embedding task (1 to {_EMBEDDING_WORKERS})")
    p.add_argument("--words", type=int, default=20, help="words per sentence")
    p.add_argument("--repeat", type=at_least_one, default=3, help="timed fits per row (the median is shown)")
    p.add_argument("--no-crowdkit", action="store_true", help="galton only")
    p.add_argument("--out", help="also write the Markdown report to this file (atomically)")
    args = p.parse_args(argv)
    if not 1 <= args.per_task <= _EMBEDDING_WORKERS:  # more crashed: "Cannot take a larger sample than population"
        p.error(f"--per-task must be between 1 and {_EMBEDDING_WORKERS} (the embedding part's {_EMBEDDING_WORKERS} "
                f"workers), not {args.per_task}")
    return emit(run(args.tasks, args.per_task, args.words, args.repeat, not args.no_crowdkit), args.out)


if __name__ == "__main__":
    sys.exit(main())
