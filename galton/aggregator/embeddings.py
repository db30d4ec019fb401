"""Outputs with embeddings (texts, images, anything a vector represents): choose one output per task.
crowd-kit's models by its names, with its results:

- ``ClosestToAverage(distance)``: the output whose embedding is nearest (``distance``: a function of
  two vectors, or ``"cosine"`` / ``"euclidean"``, computed for all rows at once) to the task's mean
  embedding, or to ``aggregated_embeddings`` when given; distances within rounding of the least (4
  ulps per entry of the embeddings and per row of the task, times the vectors' norms unless cosine)
  are tied and go to the task's first row, as ``RASA``'s choice.
- ``RASA`` (Li and Fukumoto 2019, "A Dataset of Crowdsourced Word Sequences"): each worker's
  reliability ``beta_k = chi2_{alpha/2}(n_k) / sum_i ||e_ik - e_i||^2`` (the chi-square upper
  quantile with ``n_k`` degrees of freedom, ``n_k`` the worker's outputs, the sum over them, at
  least 1e-5) and each task's embedding ``e_i``, the ``beta``-weighted mean of its embeddings (or
  ``true_embeddings[i]`` where given), alternate until ``e`` changes by less than ``tol`` (relative
  squared change) or ``n_iter`` rounds; the output nearest to ``e_i`` in cosine distance is chosen.

Input: a pandas frame with ``task``, ``worker``, ``output`` and ``embedding`` (1-D arrays, one length).
``true_embeddings`` and ``aggregated_embeddings``: such arrays by task, as a Series indexed by task, a
dict task -> array or a frame with columns ``task`` and ``embedding`` (ids matched as
categorical gold's: ``"1"`` is task 1; true embeddings of no task are ignored with a warning); a
missing entry (NaN, None) is skipped, as crowd-kit's, one of another length or holding a NaN is
refused, and ``aggregated_embeddings`` must cover every task.
Results: ``embeddings_and_outputs_`` (by ``task``, sorted: ``output``, ``embedding``), ``scores_``
(each row's distance, indexed by task, the rows in the input's order as crowd-kit's); ``RASA``
also ``skills_``, ``prior_skills_``, ``aggregated_embeddings_`` and ``loss_history_`` (each round's
squared change of the centres relative to their size, crowd-kit's HRRASA loss, over the tasks whose
outputs are compared: HRRASA leaves out tasks with one output, as crowd-kit's; the fit stops when it
falls below ``tol``). The sums run over all rows at once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from .._math import EPS
from ..data._validate import ColumnError, example_ids, example_rows, row_index
from ._chi2 import chi2_upper_quantile
from ._embedding_rows import EmbeddingRows
from ._params import Params, check_count, check_real, drop_fitted
from .worker_report import NoWorkerReport

__all__ = ["ClosestToAverage", "HRRASA", "RASA", "chi2_upper_quantile", "gleu_similarity"]

#: ``fit`` returns the model it is called on: its own class, a subclass included, for type checkers
_Self = TypeVar("_Self", bound="RASA")

_MIN_DISTANCE = 1e-5  # the floor of a worker's summed distance (crowd-kit's and the paper's bias)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine distance row by row, in [0, 2]; infinite where either vector is all zeros."""
    uv = np.einsum("ij,ij->i", a, b)
    uu, vv = np.einsum("ij,ij->i", a, a), np.einsum("ij,ij->i", b, b)
    zero = ~a.any(axis=1) | ~b.any(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.clip(1.0 - uv / np.sqrt(uu * vv), 0.0, 2.0)
    return np.where(zero, np.inf, d)


def _distances(distance: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if distance == "cosine":
        return _cosine(a, b)
    if distance == "euclidean":
        diff = a - b
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return np.array([float(distance(x, y)) for x, y in zip(a, b)])


def _rounding(distance: Any, rows: EmbeddingRows, centre: np.ndarray) -> np.ndarray:
    """How far rounding can move each row's distance: 4 ulps per term of the sums behind it (the
    embedding's entries, and the task's rows, which its mean sums), times the scale of the vectors: 1
    for the cosine (it divides by their norms), the two norms for the others (in the embeddings'
    units). An absolute 1e-9 tied cosine distances of nearly parallel vectors 25 times apart."""
    counts = np.diff(np.r_[rows.starts, len(rows.task)])[rows.task]
    terms = 4.0 * np.finfo(float).eps * (rows.emb.shape[1] + counts)
    if distance == "cosine":
        return terms
    c = centre[rows.task]
    return terms * (np.sqrt(np.einsum("ij,ij->i", rows.emb, rows.emb)) + np.sqrt(np.einsum("ij,ij->i", c, c)))


class ClosestToAverage(Params, NoWorkerReport):
    """The output whose embedding is nearest the task's average embedding (module docstring)."""

    def __init__(self, distance: Callable[[np.ndarray, np.ndarray], float] | str = "cosine"):
        self.distance = distance

    def __repr__(self) -> str:
        return f"ClosestToAverage(distance={self.distance!r})"

    def _choose(self, rows: EmbeddingRows, centre: np.ndarray) -> "ClosestToAverage":
        import pandas as pd

        from ._results import pandas_index

        score = _distances(self.distance, rows.emb, centre[rows.task])
        # the first row of each task with its smallest distance (crowd-kit's idxmin), distances within
        # rounding of the task's least tied: equal in exact arithmetic (two outputs are always as far
        # from their mean), rounding chose by row order
        first = np.zeros(0, dtype=np.int64)
        if score.size:
            low = np.fmin.reduceat(score, rows.starts)[rows.task]  # NaN distances are never the least
            noise = np.maximum.reduceat(_rounding(self.distance, rows, centre), rows.starts)[rows.task]
            with np.errstate(invalid="ignore"):
                tied = score <= low + noise
            first = np.minimum.reduceat(np.where(tied, np.arange(score.size), score.size), rows.starts)
            first = np.where(first < score.size, first, rows.starts)  # all NaN: the task's first row
        # scores_ in the input's row order, as crowd-kit's (its task index repeats: rows are matched by position)
        index = pandas_index(rows.tasks[rows.unsorted(rows.task)], name="task")
        self.scores_ = pd.DataFrame({"output": rows.data["output"].to_numpy(), "score": rows.unsorted(score),
                                     "embedding": rows.data["embedding"].to_numpy()}, index=index)
        self.embeddings_and_outputs_ = self.scores_.iloc[rows.order[first]][["output", "embedding"]]
        return self

    def fit(self, data: Any, aggregated_embeddings: Any = None, true_embeddings: Any = None) -> "ClosestToAverage":
        drop_fitted(self)  # the previous fit's results go first, also when this fit is refused
        if not (callable(self.distance) or isinstance(self.distance, str) and self.distance in ("cosine", "euclidean")):
            # an unknown name failed later: "'str' object is not callable"
            raise ValueError(f"distance must be 'cosine', 'euclidean' or a function of two vectors (e.g. one of "
                             f"scipy.spatial.distance's), not {self.distance!r}")
        rows = EmbeddingRows(data, need_output=True)
        dim = rows.emb.shape[1] if rows.emb.size else 0
        if aggregated_embeddings is None:
            counts = np.diff(np.r_[rows.starts, len(rows.task)])
            centre = rows.task_sums(rows.emb) / np.maximum(counts, 1)[:, None]
            t, vectors = rows.by_task(true_embeddings, dim)
            centre[t] = vectors
        else:
            centre = np.full((len(rows.tasks), dim), np.nan)
            t, vectors = rows.by_task(aggregated_embeddings, dim, "aggregated_embeddings")
            centre[t] = vectors
            missing = np.setdiff1d(np.arange(len(rows.tasks)), t)
            if missing.size:  # each of their rows got a NaN score and the task an arbitrary output
                raise ValueError(f"aggregated_embeddings has no embedding for {missing.size} task(s) of the data "
                                 f"({example_ids(rows.tasks[missing])}); give one for every task, or leave "
                                 "aggregated_embeddings out to compare with each task's mean")
        return self._choose(rows, centre)

    def fit_predict(self, data: Any, aggregated_embeddings: Any = None) -> Any:
        """Fit and return ``embeddings_and_outputs_``."""
        return self.fit(data, aggregated_embeddings).embeddings_and_outputs_

    def fit_predict_scores(self, data: Any, aggregated_embeddings: Any = None) -> Any:
        """Fit and return ``scores_``."""
        return self.fit(data, aggregated_embeddings).scores_


class RASA(Params, NoWorkerReport):
    """Reliability-aware aggregation of embeddings (module docstring): ``n_iter`` rounds at most,
    ``tol`` on the relative squared change of the task embeddings, ``alpha`` the level of the
    chi-square quantile in the reliabilities."""

    #: numeric parameters of the local weights (HRRASA's), checked at fit
    _weights: tuple[str, ...] = ()
    #: where the embeddings come from, what the outputs are and the known ones' argument, as errors name
    #: them (EmbeddingRows' ``source``, ``outputs`` and ``true_name``): TextRASA's are its encoder's
    #: vectors of the texts and ``true_objects``
    _source: tuple[str, str, str] = ("column 'embedding'", "output", "true_embeddings")
    #: what a fit keeps for fit_predict besides its results (:func:`._params.drop_fitted` drops them)
    _fit_private = ("_centre", "_local_weights", "_part")

    def __init__(self, n_iter: int = 100, tol: float = 1e-9, alpha: float = 0.05):
        self.n_iter = n_iter
        self.tol = tol
        self.alpha = alpha

    def __repr__(self) -> str:
        return f"RASA(n_iter={self.n_iter!r}, tol={self.tol!r}, alpha={self.alpha!r})"

    def _local(self, rows: EmbeddingRows) -> tuple[np.ndarray, np.ndarray]:
        """Each row's local weight and whether it takes part in the reliabilities: RASA has none
        (all 1, all take part); HRRASA overrides it."""
        n = len(rows.task)
        return np.ones(n), np.ones(n, dtype=bool)

    def _fit(self, data: Any, true_embeddings: Any, need_output: bool) -> EmbeddingRows:
        from ._results import object_series, pandas_index

        # the previous fit's results go first (as BaseAggregator._reset): fit() sets neither
        # embeddings_and_outputs_ nor scores_ (fit_predict does), nor HRRASA ranks_ without calculate_ranks,
        # so those of other data were kept beside this fit's skills
        drop_fitted(self)
        check_count("n_iter", self.n_iter)
        check_real("tol", self.tol)  # tol <= 0 (crowd-kit's tol=-inf too): every round, as crowd-kit's
        for name in self._weights:
            check_real(name, getattr(self, name), finite=True)
        if not 0 < check_real("alpha", self.alpha) < 1:
            raise ValueError(f"alpha must lie in (0, 1), not {self.alpha}")
        rows = EmbeddingRows(data, need_output, *self._source)  # a pandas frame: pandas is there
        import pandas as pd

        local, part = self._local(rows)
        n_w = len(rows.workers)
        counts = np.bincount(rows.worker[part], minlength=n_w)
        prior = np.full(n_w, np.nan)  # a worker seen only where nothing is compared has no reliability
        prior[counts > 0] = chi2_upper_quantile(self.alpha / 2.0, counts[counts > 0])
        skill = np.where(counts > 0, 1.0, np.nan)
        dim = rows.emb.shape[1] if rows.emb.size else 0
        t_true, v_true = rows.by_task(true_embeddings, dim)
        alone = np.bincount(rows.task[part], minlength=len(rows.tasks)) == 0  # tasks with nothing compared
        own = rows.task_sums(rows.emb) / rows.task_sums(np.ones(len(rows.task)))[:, None]

        def centres(w: np.ndarray) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                c = rows.task_sums(rows.emb * w[:, None]) / rows.task_sums(w)[:, None]
            c[alone] = own[alone]
            c[t_true] = v_true
            return c

        previous = None
        history: list[float] = []
        centre = centres(local)  # n_iter=0: the mean (weighted by the local weights)
        compared = ~alone  # the loss runs over these tasks only, as crowd-kit's HRRASA drops one-output tasks
        for _ in range(self.n_iter if part.any() else 0):
            centre = centres(np.where(part, skill[rows.worker] * local, 1.0))
            diff = rows.emb - centre[rows.task]
            dist = np.where(part, np.einsum("ij,ij->i", diff, diff) / local, 0.0)
            spread = np.bincount(rows.worker, weights=dist, minlength=n_w)
            skill = prior / np.maximum(spread, _MIN_DISTANCE)
            if previous is not None:  # the loss: the centres' squared change relative to their size
                step = float(((centre[compared] - previous[compared]) ** 2).sum())
                norm = float((centre[compared] ** 2).sum())
                history.append(step / norm if norm > 0 else (np.inf if step > 0 else 0.0))
                if history[-1] < self.tol:
                    break
            previous = centre
        index = pandas_index(np.asarray(rows.workers), name="worker")
        # named as crowd-kit's: prior_skills_ its value_counts ("count"), the other two unnamed
        self.prior_skills_ = pd.Series(prior, index=index, name="count")
        self.skills_ = pd.Series(skill, index=index)
        self.aggregated_embeddings_ = object_series(list(centre), np.asarray(rows.tasks), "task", None)
        self.loss_history_ = history
        self._centre, self._local_weights, self._part = centre, local, part
        return rows

    def fit(self: _Self, data: Any, true_embeddings: Any = None) -> _Self:
        self._fit(data, true_embeddings, need_output=False)
        return self

    def _apply(self, data: Any, true_embeddings: Any) -> "RASA":
        rows = self._fit(data, true_embeddings, need_output=True)
        chosen = ClosestToAverage("cosine")._choose(rows, self._centre)
        self.scores_ = chosen.scores_
        self.embeddings_and_outputs_ = chosen.embeddings_and_outputs_
        return self

    def fit_predict(self, data: Any, true_embeddings: Any = None) -> Any:
        """Fit and return ``embeddings_and_outputs_``: each task's chosen output and its embedding."""
        return self._apply(data, true_embeddings).embeddings_and_outputs_

    def fit_predict_scores(self, data: Any, true_embeddings: Any = None) -> Any:
        """Fit and return ``scores_``: each row's cosine distance to its task's embedding."""
        return self._apply(data, true_embeddings).scores_


def _ngrams(words: list[str], longest: int = 4) -> Counter:
    return Counter(tuple(words[i:i + n]) for n in range(1, longest + 1) for i in range(len(words) - n + 1))


def gleu_similarity(a: str, b: str) -> float:
    """Sentence GLEU of two texts (Wu et al. 2016): the word 1- to 4-grams they share (with their
    counts) over the larger of their n-gram totals, i.e. the smaller of precision and recall; 0 when
    both are empty. Symmetric; nltk's ``sentence_gleu([a.split()], b.split())``."""
    x, y = _ngrams(a.split()), _ngrams(b.split())
    return _gleu(x, sum(x.values()), y, sum(y.values()))


def _gleu(x: Counter, x_total: int, y: Counter, y_total: int) -> float:
    total = max(x_total, y_total)
    return sum((x & y).values()) / total if total else 0.0


def _gleu_matrix(texts: Sequence[str]) -> np.ndarray:
    """``gleu_similarity`` of every pair of ``texts`` (0 on the diagonal), each text split and counted once."""
    grams = [_ngrams(t.split()) for t in texts]
    totals = [sum(g.values()) for g in grams]
    sim = np.zeros((len(texts), len(texts)))
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            sim[i, j] = sim[j, i] = _gleu(grams[i], totals[i], grams[j], totals[j])
    return sim


class HRRASA(RASA):
    """RASA with a local weight per output (Li 2020, crowd-kit's model): an output's weight in its
    task is ``lambda_emb`` times its mean embedding similarity to the task's other outputs,
    ``exp(-||e - e'||^2 / (||e||^2 ||e'||^2))``, plus ``lambda_out`` times its mean
    ``output_similarity`` to them (default: sentence GLEU of the two texts, words 1- to 4-grams;
    it refuses outputs that are not text, naming the rows);
    the task embedding is the mean weighted by reliability times local weight, and an output's
    distance counts divided by its local weight. Tasks with one output are not compared: their
    embedding and choice are that output (NaN local weight). ``local_skills_`` (task, worker,
    local_skill) and ``weights_`` (a ``weight`` column indexed by task and worker, crowd-kit's) hold
    each output's local and total weight, in the input's row order; ``calculate_ranks`` adds ``ranks_``:
    ``reliability * exp(-d / (||e||^2 ||e_task||^2)) + local weight`` per output.

    crowd-kit's default similarity hands the other text to nltk as a list of references, so nltk
    reads it character by character and the output term is near 0 for real texts; galton compares
    words with words."""

    _weights = ("lambda_emb", "lambda_out")

    def __init__(self, n_iter: int = 100, tol: float = 1e-9, lambda_emb: float = 0.5, lambda_out: float = 0.5,
                 alpha: float = 0.05, calculate_ranks: bool = False,
                 output_similarity: Callable[[Any, Any], float] = gleu_similarity):
        super().__init__(n_iter, tol, alpha)
        self.lambda_emb = lambda_emb
        self.lambda_out = lambda_out
        self.calculate_ranks = calculate_ranks
        self.output_similarity = output_similarity

    def __repr__(self) -> str:
        return (f"HRRASA(n_iter={self.n_iter!r}, tol={self.tol!r}, lambda_emb={self.lambda_emb!r}, "
                f"lambda_out={self.lambda_out!r}, alpha={self.alpha!r}, calculate_ranks={self.calculate_ranks!r})")

    def _local(self, rows: EmbeddingRows) -> tuple[np.ndarray, np.ndarray]:
        if "output" not in rows.data.columns:
            raise ColumnError("HRRASA compares the outputs too: the data needs an output column")
        outputs = rows.data["output"].to_numpy()[rows.order]
        workers = rows.worker
        local = np.ones(len(rows.task))
        ends = np.r_[rows.starts[1:], len(rows.task)]
        counts = np.bincount(rows.task, minlength=len(rows.tasks))
        if self.output_similarity is gleu_similarity:  # it splits texts: "'int' object has no attribute 'split'"
            text = np.array([isinstance(o, str) for o in outputs], dtype=bool)
            bad = np.flatnonzero((counts[rows.task] >= 2) & ~text)
            if bad.size:
                raise ValueError(f"column 'output' has {bad.size} value(s) that are not text in tasks with several "
                                 f"outputs ({example_rows(np.sort(rows.order[bad]), row_index(rows.data))}); HRRASA's "
                                 "default output_similarity (gleu_similarity) compares texts: pass output_similarity="
                                 "<a function of two outputs>, or text outputs (data.output.astype(str))")
        for a, b in zip(rows.starts, ends):
            if b - a < 2:
                continue
            e = rows.emb[a:b]
            sq = np.einsum("ij,ij->i", e, e)
            diff = sq[:, None] + sq[None, :] - 2.0 * np.einsum("ik,jk->ij", e, e)
            with np.errstate(divide="ignore", invalid="ignore"):
                close = np.exp(-np.maximum(diff, 0.0) / (sq[:, None] * sq[None, :]))
            close = np.nan_to_num(close, nan=0.0)
            other = workers[a:b][:, None] != workers[a:b][None, :]  # a worker's own outputs are not compared
            texts = outputs[a:b]
            if self.output_similarity is gleu_similarity:  # symmetric: each text's n-grams once, each pair once
                sim = _gleu_matrix(texts) * other
            else:
                sim = np.array([[self.output_similarity(texts[i], texts[j]) if other[i, j] else 0.0
                                 for j in range(b - a)] for i in range(b - a)])
            n_others = b - a - 1
            local[a:b] = (self.lambda_emb * (close * other).sum(axis=1) + self.lambda_out * sim.sum(axis=1)) / n_others
        local = np.maximum(local, EPS)  # an output unlike every other: a weight of almost nothing, never 0 / 0
        return local, counts[rows.task] >= 2

    def _fit(self, data: Any, true_embeddings: Any, need_output: bool) -> EmbeddingRows:
        rows = super()._fit(data, true_embeddings, need_output=True)
        import pandas as pd  # after the frame's check (RASA's), which says that the models read pandas

        task_ids = rows.tasks[rows.unsorted(rows.task)]  # the per-output results in the input's row order
        workers = rows.data["worker"].to_numpy()
        local = rows.unsorted(np.where(self._part, self._local_weights, np.nan))
        weight = self.skills_.to_numpy()[rows.unsorted(rows.worker)] * local
        self.local_skills_ = pd.DataFrame({"task": task_ids, "worker": workers, "local_skill": local})
        self.weights_ = pd.DataFrame({"weight": weight},  # crowd-kit's layout: indexed by (task, worker)
                                     index=pd.MultiIndex.from_arrays([task_ids, workers], names=["task", "worker"]))
        if self.calculate_ranks:
            centre = self._centre[rows.task]
            d = np.einsum("ij,ij->i", rows.emb - centre, rows.emb - centre)
            d = np.where(d == 0.0, _MIN_DISTANCE, d)
            norms = np.einsum("ij,ij->i", rows.emb, rows.emb) * np.einsum("ij,ij->i", centre, centre)
            with np.errstate(divide="ignore", invalid="ignore"):
                rank = self.skills_.to_numpy()[rows.worker] * np.exp(-d / norms) + self._local_weights
            self.ranks_ = pd.DataFrame({"task": task_ids, "output": rows.data["output"].to_numpy(),
                                        "rank": rows.unsorted(np.where(self._part, rank, np.nan))})
        return rows
