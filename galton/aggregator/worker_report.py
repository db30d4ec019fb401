"""Which workers to keep: one row per worker with counts, skill, informativeness and flags.

:func:`worker_report` (also ``model.workers_``, computed on first access) reads a fitted model and
adds nothing to the fit. For categorical models it needs the encoded judgments
(``model.judgments_``) and a posterior ``q_j`` of each judgment's task. Worker ``w``'s soft
confusion counts are::

    C[w, l, k] = sum of q_j[k] over w's judgments j = (t, l)        (one pass, O(n K))

counting only the judgments on tasks that another judgment or gold also bears on (a task judged
once says nothing of its judge: its posterior is the judge's own answer, or the class prior; one
judgment a task gave coin flippers skill 0.747 [0.666, 0.813] under the default model and
1.0 [0.972, 1.0] under Dawid-Skene). ``q_j`` is the model's task posterior ``q[t]``
(``model.posteriors_``) for most models; the confusion-matrix models (``ds``, ``one_coin_ds``,
``bds``, the default) read each worker against the others instead: ``q_j`` is the task's posterior
without the judgment's own factor, times the worker's own accuracy refitted without the model's
prior (:mod:`galton.aggregator.worker_report_others`). ``n_w = sum C[w]``; ``J = C[w] / n_w`` is
the joint distribution of (answer, true class) on the worker's judgments, ``a(l) = sum_k J[l, k]``
the worker's answer shares, ``p(k) = sum_l J[l, k]`` the class mix of the worker's tasks. Columns:

- ``n_judgments``, ``n_tasks`` (distinct tasks): all of them, ``n_w`` above only some;
- ``skill = sum_k J[k, k]``, the expected share of correct answers, and its interval
  ``skill_lower``, ``skill_upper``. The confusion-matrix models: the likelihood-ratio interval of
  the refitted accuracy, which widens with what the others' posteriors leave unknown. Measured (the
  simulated accuracy inside it; 30 workers, 2 labels, 3 judgments a task, 300 a worker, 20% experts
  of accuracy 0.95, 10% spammers; three seeds): bds 0.96 of workers, 0.94 of experts (the Wilson
  interval of its own posteriors, which pull every worker towards the crowd: 0.59, experts 0.06,
  their skill about 0.90); ds 0.92 / 0.83 (0.80 / 0.56); one_coin_ds 0.92 / 0.83 (0.84 / 0.72).
  Other models: a Wilson score
  interval (Wilson 1927) on the effective counts ``(n_w skill, n_w)``, which covers the sampling
  of the worker's answers about the model's own expected share and nothing of the posteriors'
  errors, nor of the own answer inside each posterior: in the same crowds 0.82 of workers
  (experts 0.61) under mace, 0.76 (0.61) ebcc, 0.70 (0.56) glad, 0.42 (0.00) wawa, 0.39 (0.00)
  mv. ``tests/aggregator/test_worker_report.py -k experts`` holds the default to it;
- ``chance = sum_k a(k) p(k)``: the accuracy of a labeller with the same answer shares answering
  independently of the class, on the same tasks (a worker who always answers the majority class
  scores its share: on zheng_d_product, 0.93; chance shows it);
- ``information``: the mutual information ``I(answer; class) = sum J log2(J / (a p))`` in bits,
  zero exactly when the answer is independent of the class (a constant or a uniform spammer) and
  ``H(p)`` for a perfect labeller — or a perfectly inverted one, whose answers the model reads
  flipped; ``information_share = information / H(p)`` (0..1);
- flags (each needs ``min_judgments`` counted judgments, ``n_w``; fewer sets ``too_little_data`` alone):
  ``constant`` (one distinct answer), ``uninformative`` (``information`` below ``min_information``
  bits, or a G-test cannot reject independence of answer and class at level ``alpha``:
  ``G = 2 n_w ln(2) information`` below the chi-square quantile with ``(answers used - 1)(classes
  - 1)`` degrees of freedom, counting the classes that hold half a judgment of posterior mass on
  the worker's tasks (``n_w p(k) >= 1/2``, a column of the table once rounded to whole judgments:
  a label listed in ``labels=`` that no task leans to adds none); where not even a
  perfect worker's G could pass that quantile, as with many labels, a two-sided z-test of
  ``skill`` against ``chance`` instead; soft counts make the tests approximate), ``adversarial``
  (``skill_upper`` below ``chance``: reliably worse than an independent guess).

Defaults, chosen on simulated crowds (tests/aggregator/test_worker_report.py prints precision and
recall): ``min_judgments=10``, ``level=0.95`` (intervals), ``alpha=0.05``, ``min_information=0.01``
bits (a binary one-coin worker of accuracy 0.56 carries 0.01 bits; 0.7 carries 0.12).

A task posterior includes the worker's own answer. The confusion-matrix models' report takes it
out (above); the others' cannot, so with few judgments per task every worker seems to agree with
the truth more than it does, most under majority vote (with 3 per task a uniform spammer's own
vote is a third of each posterior). Uniform spammers flagged ``uninformative`` with 3 labels, 3
judgments a task and 300 a worker (15% spammers; three seeds): bds 0.94 (0.06 when read from its
own posteriors: it weighs them as fair workers), ds 0.94 (0.78), one_coin_ds 1.00 (0.94), glad
1.00, mace 0.94, ebcc 0.78, mv and wawa 0.00.

Pairwise, choice and rating models: see :mod:`galton.aggregator.worker_report_items`.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any, Callable

import numpy as np

from .._math import entropy_bits
from ._estimator import NotFittedError
from ._kernels import distinct_tasks
from ._memory import current_limit
from ._results import check_output

__all__ = ["worker_report", "NoWorkerReportError", "NoWorkerReport", "confusion_counts", "categorical_statistics",
           "wilson_interval", "chi2_quantile", "distinct_tasks", "judgments_statistics", "categorical_report",
           "JudgmentRows", "report_frame", "DEFAULT_THRESHOLDS", "information_terms",
           "BLOCK_BYTES", "block_bytes", "report_columns", "pair_statistics", "use_pair_rows",
           "PAIR_CELLS_PER_JUDGMENT"]

#: default thresholds (see the module docstring for how they were chosen)
DEFAULT_THRESHOLDS: dict[str, float] = {"min_judgments": 10, "level": 0.95, "alpha": 0.05,
                                        "min_information": 0.01}


def two_sided_z(level: float) -> float:
    """The standard normal quantile of a two-sided interval of coverage ``level`` (1.96 at 0.95)."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson_interval(successes: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``successes / n`` (soft counts allowed); NaN where
    ``n`` is 0."""
    z = two_sided_z(level)
    x, n = np.asarray(successes, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.clip(x / n, 0.0, 1.0)
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def chi2_quantile(q: float, df: np.ndarray) -> np.ndarray:
    """Chi-square quantile: exact for 1 degree of freedom (``z^2``), Wilson-Hilferty's cube
    approximation above (within 1% of the exact quantile at q = 0.95 for df >= 2)."""
    df = np.maximum(np.asarray(df, dtype=np.float64), 1.0)
    z_two = two_sided_z(q)
    z = NormalDist().inv_cdf(q)
    wh = df * (1.0 - 2.0 / (9.0 * df) + z * np.sqrt(2.0 / (9.0 * df))) ** 3
    return np.where(df == 1.0, z_two * z_two, wh)


class JudgmentRows:
    """Posterior rows by judgment, built block by block (no judgments x K array): ``rows(idx)``
    gives the ``(len(idx), k)`` rows of the judgments ``idx`` (the report of a model that reads each
    worker against the others, :mod:`galton.aggregator.worker_report_others`)."""

    def __init__(self, k: int, rows: Callable[[np.ndarray], np.ndarray]):
        self.k, self.rows = int(k), rows


def confusion_counts(worker: np.ndarray, label: np.ndarray, task: np.ndarray, posteriors: Any,
                     n_workers: int) -> np.ndarray:
    """Soft confusion counts ``C[w, l, k]``: the sum of ``posteriors[t, k]`` over worker ``w``'s
    judgments ``(t, l)``; shape ``(n_workers, K, K)``, one pass over the judgments. ``posteriors``:
    task posteriors, or :class:`JudgmentRows` (one row per judgment)."""
    by_judgment = isinstance(posteriors, JudgmentRows)
    post = posteriors if by_judgment else np.asarray(posteriors, dtype=np.float64)
    k = post.k if by_judgment else post.shape[1]
    key = (np.asarray(worker, dtype=np.int64) * k + np.asarray(label, dtype=np.int64)) * k
    out = np.zeros(n_workers * k * k)
    if by_judgment:
        per = max(1, block_bytes() // (8 * k))
        for s in range(0, key.size, per):
            rows = post.rows(np.arange(s, min(s + per, key.size)))
            for c in range(k):
                out += np.bincount(key[s:s + per] + c, weights=rows[:, c], minlength=n_workers * k * k)
        return out.reshape(n_workers, k, k)
    for c in range(k):  # K passes of bincount: no n x K temporary
        out += np.bincount(key + c, weights=post[np.asarray(task), c], minlength=n_workers * k * k)
    return out.reshape(n_workers, k, k)


def categorical_statistics(counts: np.ndarray, n_tasks: np.ndarray, *, min_judgments: float = 10,
                           level: float = 0.95, alpha: float = 0.05, min_information: float = 0.01,
                           **given: Any) -> dict[str, np.ndarray]:
    """The report's columns (numpy, one entry per worker) from soft confusion counts
    ``C[w, answer, class]`` (:func:`confusion_counts`) and the distinct tasks per worker
    (``given``: :func:`report_columns`' ``interval`` and ``n_judgments``)."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        joint = counts / n[:, None, None]
    answers = joint.sum(axis=2)  # a(l)
    classes = joint.sum(axis=1)  # p(k)
    info = np.maximum(information_terms(joint, answers[:, :, None], classes[:, None, :]).sum(axis=(1, 2)), 0.0)
    used = (counts.sum(axis=2) > 0).sum(axis=1)
    return report_columns(n, n_tasks, np.trace(joint, axis1=1, axis2=2), (answers * classes).sum(axis=1), info,
                          classes, used, min_judgments=min_judgments, level=level, alpha=alpha,
                          min_information=min_information, **given)


def information_terms(joint: np.ndarray, answers: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The mutual information's terms ``J log2(J / (a p))`` (0 where ``J`` is 0), taken in logs:
    ``a`` and ``p`` are at least ``J`` where it is positive, but their product may underflow to 0
    (posteriors of 1e-323 for a class: ``0.5 * 5e-324`` is 0, and ``J / 0`` gave information =
    inf bits). ``answers`` and ``classes`` broadcast against ``joint``."""
    held = joint > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = (np.log2(np.where(held, joint, 1.0)) - np.log2(np.where(held, answers, 1.0))
                - np.log2(np.where(held, classes, 1.0)))
    return np.where(held, joint * logs, 0.0)


def report_columns(n: np.ndarray, n_tasks: np.ndarray, skill: np.ndarray, chance: np.ndarray, info: np.ndarray,
                   classes: np.ndarray, used: np.ndarray, *, min_judgments: float = 10,
                   level: float = 0.95, alpha: float = 0.05, min_information: float = 0.01,
                   interval: tuple[np.ndarray, np.ndarray] | None = None,
                   n_judgments: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The report's columns from each worker's judgments ``n``, distinct tasks, ``skill``,
    ``chance``, ``information`` (bits), class mix ``classes`` (W, K) and distinct answers ``used``;
    ``interval``: skill's (lower, upper) in place of the Wilson interval of ``(n skill, n)``;
    ``n_judgments``: the column shown, when ``n`` counts only some of them (those on tasks that
    another worker or gold also judged).
    The G-test counts the classes holding half a judgment of posterior mass on the worker's tasks
    (``n p(k) >= 1/2``): a label that no task leans to (``labels=`` naming one nobody used; its
    posteriors are 0, or next to it after Dawid-Skene's EM) adds no degree of freedom."""
    lower, upper = wilson_interval(skill * n, n, level) if interval is None else interval
    entropy = entropy_bits(classes, 1)
    # I(answer; class) <= H(class), rounding aside; + 0.0: H of one class is -0.0, which the clip gave
    info = np.where(n > 0, np.clip(info, 0.0, entropy) + 0.0, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, info / entropy, np.nan)
    df = np.maximum((used - 1) * ((np.nan_to_num(classes) * n[:, None] >= 0.5).sum(axis=1) - 1), 1)
    g = 2.0 * n * np.log(2.0) * np.nan_to_num(info)
    quantile = chi2_quantile(1 - alpha, df)
    # the G-test has (answers - 1)(classes - 1) degrees of freedom: with many labels not even a perfect
    # worker's G (information = H(p)) reaches its quantile (200 labels: 194 judgments right 80% of
    # the time against chance 0.9% gave G = 1,759 against a quantile of 30,052). There the test
    # is a two-sided z-test of the share of right answers against chance (an inverted worker is
    # informative too)
    powerless = 2.0 * n * np.log(2.0) * entropy < quantile
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (skill - chance) * np.sqrt(n) / np.sqrt(chance * (1.0 - chance))
    independent = np.where(powerless, np.abs(np.nan_to_num(z)) <= NormalDist().inv_cdf(1.0 - alpha / 2.0),
                           g < quantile)
    enough = np.rint(n) >= min_judgments  # whole judgments: ten posteriors (0.2, 0.8) sum to 9.999999999999998
    return {
        "n_judgments": (n if n_judgments is None else np.asarray(n_judgments)).round().astype(np.int64),
        "n_tasks": np.asarray(n_tasks, dtype=np.int64),
        "skill": np.where(n > 0, skill, np.nan), "skill_lower": lower, "skill_upper": upper,
        "chance": np.where(n > 0, chance, np.nan), "information": info,
        "information_share": np.clip(share, 0.0, 1.0),
        "too_little_data": ~enough,
        "constant": enough & (used == 1),
        "uninformative": enough & ((np.nan_to_num(info) < min_information) | independent),
        "adversarial": enough & (upper < chance),
    }


def report_frame(kind: str, worker_names: np.ndarray, columns: dict[str, np.ndarray]) -> Any:
    """The report in a frame kind: pandas (a DataFrame indexed by ``worker``), polars or Arrow
    (a ``worker`` column first); rows in the sorted worker order of ``worker_names``."""
    if kind == "pandas":
        import pandas as pd

        from ._results import pandas_index

        return pd.DataFrame(columns, index=pandas_index(worker_names, name="worker"))
    cols = {"worker": worker_names, **columns}
    if kind in ("polars", "dict"):
        import polars as pl

        return pl.DataFrame(cols)
    import pyarrow as pa

    return pa.table(cols)


def _fitted_kind(model: Any) -> str:
    """The frame type of the fit's results: pandas, polars or arrow. The fit records it (the
    model's ``_out``); its ``labels_`` do not tell, as ``predict(new)`` replaces them with results
    in the new data's type (a pandas fit's report came back polars after a polars predict)."""
    recorded = getattr(model.__dict__.get("_out"), "kind", None)
    if recorded in ("pandas", "polars", "arrow"):
        return str(recorded)
    result = getattr(model, "labels_" if model.kind == "categorical" else "scores_", None)
    if result is None:
        result = getattr(model, "judgments_", None)
        return "arrow" if result is None else str(result.source_kind).replace("dict", "polars")
    top = type(result).__module__.split(".")[0]
    return top if top in ("pandas", "polars") else "arrow"


class NoWorkerReportError(ValueError, AttributeError):
    """A model without a worker report (multi-label, segmentation, embedding and text models): a
    ValueError, and an AttributeError as its ``workers_`` raises it (``hasattr(model, "workers_")``
    is False, as for a model not fitted yet: NotFittedError is both too)."""


class NoWorkerReport:
    """The models without a worker report: ``model.workers_`` raises :func:`worker_report`'s error,
    which says so. Looked up only when missing, so ``dir(model)`` leaves it out (code that reads
    every name it lists, as crowd-kit's tests do, reads no error)."""

    def __getattr__(self, name: str) -> Any:
        if name == "workers_":
            worker_report(self)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}", name=name, obj=self)


def worker_report(model: Any, *, output: str | None = None, min_judgments: int | None = None,
                  level: float | None = None, alpha: float | None = None,
                  min_information: float | None = None) -> Any:
    """One row per worker of a fitted model: counts, skill with its interval, informativeness and
    flags (the module docstring defines each column and threshold; None keeps the default).

    ``output``: "pandas", "polars" or "arrow" (default: the fit's frame type). Pairwise models
    report the rater agreement and reliability, choice models the agreement, rating models the
    bias and noise (:mod:`galton.aggregator.worker_report_items`). Segmentation, embedding, text and
    multi-label models have none (a ValueError says so: :class:`NoWorkerReportError`, their ``workers_``'s)."""
    if getattr(model, "kind", None) not in ("categorical", "pairwise", "choice", "rating"):
        each = ("; each label's fitted model in aggregators_ has one: worker_report(model.aggregators_[label])"
                if hasattr(model, "aggregators_") else "")
        raise NoWorkerReportError(f"{type(model).__name__} has no worker report: the categorical, pairwise, choice and "
                         f"rating models have one (galton.aggregator.names() lists them){each}")
    if vars(model).get("_unvoted"):  # a GoldMajorityVote fit that voted on nothing: it has no labels_ either
        raise ValueError(f"the worker report needs the fit's vote: {vars(model)['_unvoted']}")
    if not hasattr(model, "labels_") and not hasattr(model, "scores_"):
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet; call fit(data) before "
                             "asking for its worker report")
    check_output(output)  # output="pandsa" gave Arrow
    given = {"min_judgments": min_judgments, "level": level, "alpha": alpha, "min_information": min_information}
    th = {k: (DEFAULT_THRESHOLDS[k] if v is None else v) for k, v in given.items()}
    bad = [f"{k}={v!r}" for k, v in th.items() if isinstance(v, bool) or not isinstance(v, (int, float, np.number))]
    if bad:  # level="x" failed in a comparison
        raise ValueError(f"the worker report's thresholds are numbers; got {', '.join(bad)}")
    if not 0 < th["level"] < 1 or not 0 < th["alpha"] < 1:
        raise ValueError(f"level and alpha must lie in (0, 1), not {th['level']} and {th['alpha']}")
    if th["min_judgments"] < 0 or th["min_information"] < 0:  # -5 was taken as given
        raise ValueError(f"min_judgments and min_information must be >= 0, not {th['min_judgments']} and "
                         f"{th['min_information']}")
    kind = output or _fitted_kind(model)
    if model.kind != "categorical":
        from .worker_report_items import item_worker_columns

        names, cols = item_worker_columns(model, **th)
        return report_frame(kind, names, cols)
    judgments, post = getattr(model, "judgments_", None), getattr(model, "posteriors_", None)
    if post is None:
        raise ValueError(f"{type(model).__name__}'s task posteriors are not in this process (the fit "
                         "wrote its results to results_dir); the worker report needs them: fit without "
                         "results_dir, or read the results back and fit a model on them in memory")
    if not all(hasattr(judgments, a) for a in ("task", "worker", "label")):
        raise ValueError(f"the worker report needs the per-judgment codes in this process, and this "
                         f"{type(model).__name__} was fitted on data that lives in Ray shard actors; "
                         "fit it on a frame or a file (engine='ray' still works) to get workers_")
    return report_frame(kind, judgments.worker_names, categorical_report(model, judgments, post, **th))


#: the largest whole ``(workers, K, K)`` counts, in bytes, and the largest block of the pair rows'
#: gathered posteriors (:func:`pair_statistics`); the whole counts' statistics hold about five more
#: arrays of their size (joint, outer product, ratio, log terms): some 46 bytes a cell at the peak
BLOCK_BYTES = 256 << 20


def block_bytes() -> int:
    """:data:`BLOCK_BYTES`, or an eighth of a lower memory limit (1 MB at least): a block holds about
    four arrays of its size at the peak (it took 991 MB with a limit of 60 MB). Results are the same
    whatever the size, to rounding."""
    limit = current_limit()[0]
    return BLOCK_BYTES if limit is None else int(min(BLOCK_BYTES, max(1 << 20, limit // 8)))

#: whole counts of more cells than this many per judgment go to the pair rows (:func:`use_pair_rows`)
PAIR_CELLS_PER_JUDGMENT = 4


def use_pair_rows(n_workers: int, k: int, n_judgments: int) -> bool:
    """Whether the report takes the rows of the (worker, answer) pairs (:func:`pair_statistics`)
    rather than the whole counts: when these pass :func:`block_bytes`, or hold more than
    :data:`PAIR_CELLS_PER_JUDGMENT` cells per judgment. The whole counts cost K passes over the
    judgments and K over the ``W K^2`` cells; the pair rows a sort of the judgments and one gather
    of their posteriors. Measured (2 shared cores; best of two): 3,000 workers x 90 labels, 300k
    judgments (90 cells a judgment): 9.3 s and 1.1 GB at the peak against 2.0 s and 0.5 GB; 2M x 2
    labels, 500k: 4.8 s against 1.5 s; from 4 to 8 cells a judgment the two are within 1.3x either
    way (K = 5 to 200); below, the whole counts are faster, 5x at 10 workers x 2 labels and 5M
    judgments (0.5 s against 2.4 s)."""
    cells = int(n_workers) * int(k) * int(k)
    return 8 * cells > block_bytes() or cells > PAIR_CELLS_PER_JUDGMENT * int(n_judgments)


def judgments_statistics(worker: np.ndarray, label: np.ndarray, task: np.ndarray, post: Any, n_workers: int,
                         n_tasks: np.ndarray, **given: Any) -> dict[str, np.ndarray]:
    """:func:`categorical_statistics` of encoded judgments and posteriors (by task, or
    :class:`JudgmentRows`): from the whole ``(workers, K, K)`` counts when they are small
    (:func:`use_pair_rows`), else (many labels, many workers) from the rows of the (worker, answer)
    pairs that occur, in blocks of judgments (:func:`pair_statistics`); the two give the same
    columns to rounding. ``n_tasks``: distinct tasks per worker; ``given``: the thresholds and
    :func:`report_columns`' ``interval`` and ``n_judgments``."""
    k = post.k if isinstance(post, JudgmentRows) else post.shape[1]
    if not use_pair_rows(n_workers, k, np.size(worker)):
        counts = confusion_counts(worker, label, task, post, n_workers)
        return categorical_statistics(counts, n_tasks, **given)
    return pair_statistics(worker, label, task, post, n_workers, n_tasks, **given)


def categorical_report(model: Any, judgments: Any, post: np.ndarray, **thresholds: Any) -> dict[str, np.ndarray]:
    """The report's columns of a fitted categorical model: from the judgments on tasks that another
    judgment or gold also bears on (a task judged once says nothing of its judge: its posterior is
    the judge's own answer, or the class prior), read against the others for the confusion-matrix
    models (:mod:`galton.aggregator.worker_report_others`), else against the task posteriors."""
    from .worker_report_others import others_rows, reads_others

    w, t = judgments.n_workers, judgments.n_tasks
    worker, label, task = judgments.worker, judgments.label, judgments.task
    gold = vars(model).get("_gold")
    gold = None if gold is None else np.asarray(gold)
    shared = distinct_tasks(task, worker, t, w)[task] >= 2  # workers per task: a repeated row is no other
    if gold is not None:
        shared |= gold[task] >= 0
    given: dict[str, Any] = {"n_judgments": np.bincount(worker, minlength=w)}
    if not shared.all():
        worker, label, task = worker[shared], label[shared], task[shared]
    if reads_others(model) and post.shape[1] > 1:
        post, lower, upper = others_rows(model, worker, label, task, w, t, gold, thresholds["level"])
        given["interval"] = (lower, upper)
    return judgments_statistics(worker, label, task, post, w, distinct_tasks(judgments.worker, judgments.task, w, t),
                                **given, **thresholds)


def pair_statistics(worker: np.ndarray, label: np.ndarray, task: np.ndarray, post: Any, n_workers: int,
                    n_tasks: np.ndarray, **thresholds: Any) -> dict[str, np.ndarray]:
    """The report's columns without the ``(workers, K, K)`` counts: a worker's cells are zero but
    for the answers it gave, so the counts are the rows ``sum of post[t]`` over the judgments of
    each (worker, answer) pair that occurs, added in blocks of whole workers of about
    :func:`block_bytes` of judgment rows (a worker's class mix is complete within its block, so one
    O(judgments x K) pass gives everything). 1,000 labels, 300 workers, 100k judgments: the blocks
    of workers of whole counts took 585 s (each of their K passes zeroed a 264 MB array).
    ``post``: task posteriors, or :class:`JudgmentRows`."""
    by_judgment = isinstance(post, JudgmentRows)
    k = post.k if by_judgment else post.shape[1]
    worker, label, task = (np.asarray(x, dtype=np.int64) for x in (worker, label, task))
    order = np.argsort(worker * k + label, kind="stable")
    pairs, starts, sizes = np.unique((worker * k + label)[order], return_index=True, return_counts=True)
    pw, pl = pairs // k, pairs % k
    n = np.bincount(worker, minlength=n_workers).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = sizes / n[pw]  # a(l): the worker's share of each answer it gave
    ends, per = np.cumsum(sizes), max(1, block_bytes() // (8 * k))
    firsts = np.r_[np.flatnonzero(np.r_[True, pw[1:] != pw[:-1]]), pairs.size]  # each worker's first pair
    right, classes, info = np.zeros(n_workers), np.zeros((n_workers, k)), np.zeros(n_workers)
    p = 0
    while p < pairs.size:  # pairs p..q-1: whole workers, about `per` judgments (one worker at least)
        q = max(p + 1, int(np.searchsorted(ends, (ends[p - 1] if p else 0) + per, side="right")))
        q = int(firsts[np.searchsorted(firsts, q)])
        block = order[starts[p]:ends[q - 1]]
        rows = np.add.reduceat(post.rows(block) if by_judgment else post[task[block]], starts[p:q] - starts[p], axis=0)
        wb = pw[p:q]
        right += np.bincount(wb, weights=rows[np.arange(q - p), pl[p:q]], minlength=n_workers)
        first = np.flatnonzero(np.r_[True, wb[1:] != wb[:-1]])
        classes[wb[first]] = np.add.reduceat(rows, first, axis=0) / n[wb[first], None]
        joint = rows / n[wb, None]
        terms = information_terms(joint, share[p:q, None], classes[wb])
        info += np.bincount(wb, weights=terms.sum(axis=1), minlength=n_workers)
        p = q
    chance = np.bincount(pw, weights=share * classes[pw, pl], minlength=n_workers)
    with np.errstate(invalid="ignore", divide="ignore"):
        skill = right / n
        classes[n == 0] = np.nan  # as the whole counts give for a worker without judgments
    return report_columns(n, n_tasks, skill, chance, np.maximum(info, 0.0), classes,
                          np.bincount(pw, minlength=n_workers), **thresholds)
