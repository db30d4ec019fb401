"""Image segmentations: each judgment is a binary mask over an image's pixels (True: the pixel
belongs to the object), merged into one mask per task. crowd-kit's three models, by its names:

- ``SegmentationMajorityVote``: a pixel is in when workers holding at least half the weight mark it
  (``skills`` weigh the workers; all 1 by default).
- ``SegmentationEM``: crowd-kit's EM per image (after Lee, Das Sarma and Parameswaran 2018): each
  worker's skill ``s_w``, the expected share of the image's marked region (pixels anybody marked)
  that the worker marks as the posterior has it, and each pixel's posterior
  ``q = rho prod_w p(m_w | in) / (rho prod_w p(m_w | in) + (1 - rho) prod_w p(m_w | out))``, where
  the pixel prior ``rho`` starts as the share of workers who mark it and is the last posterior from
  then on (crowd-kit's rule: not a textbook EM, it anchors the fit to the majority). Up to
  ``n_iter`` iterations, until crowd-kit's evidence lower bound per mark gains less than ``tol``.
  galton takes the posterior from the log-odds, so it neither overflows nor turns 0 / 0 into 0 where
  crowd-kit's exponentials do.
- ``SegmentationRASA`` (Li and Fukumoto 2019): weighted majority at threshold 1/2 with weights
  ``log(1 / (d_w + 1e-5) + 1)`` normalised to sum 1, ``d_w = 1 - IoU(m_w, current mask)``, repeated
  until the weighted vote changes by less than ``tol`` (relative squared change).

Results as in crowd-kit: ``segmentations_``, a pandas Series of boolean arrays indexed by ``task``
(sorted) named ``agg_segmentation``; ``SegmentationEM`` also keeps ``posteriors_`` (pixel
probabilities) and ``skills_`` (``s_w`` per (task, worker)). Input: a pandas frame with ``task``,
``worker`` and ``segmentation`` (2-D arrays of bools or 0 / 1, one shape per task; or lists of rows,
as read back from Parquet). Each image is
its own problem, fitted with whole-array numpy steps over its workers and pixels; EM and RASA fit
images of the same mask count and shape together, in batches of about 8 MiB of float masks (one
image when it is larger), an image leaving RASA's batch once it stops.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ..data._validate import example_ids, examples
from ._base import TIE_RTOL
from ._masks import Image, read_images
from ._params import Params, check_count, check_real, drop_fitted
from .worker_report import NoWorkerReport

__all__ = ["SegmentationEM", "SegmentationMajorityVote", "SegmentationRASA"]

_RASA_BIAS = 1e-5  # Li and Fukumoto's bias in the distance weight (crowd-kit's too)


def _series(tasks: list, values: list, name: str) -> Any:
    from ._results import object_series

    return object_series(values, tasks, "task", name)


class _Segmentation(Params, NoWorkerReport):
    """What the three models share: ``fit_predict``, the result Series and ``get_params`` / ``set_params``."""

    segmentations_: Any

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"

    def fit_predict(self, data: Any, *args: Any) -> Any:
        """Fit to ``data`` and return ``segmentations_``."""
        return self.fit(data, *args).segmentations_

    def fit(self, data: Any, *args: Any) -> "_Segmentation":  # pragma: no cover - every model overrides it
        raise NotImplementedError

    def _iterations(self, n_iter: int, tol: float) -> None:
        """Every fit's start: the previous fit's results go (also when this fit is refused), then the
        iteration settings are checked."""
        drop_fitted(self)
        check_count("n_iter", n_iter)
        check_real("tol", tol)  # tol <= 0 (crowd-kit's tol=-inf too): every iteration, as crowd-kit's


class SegmentationMajorityVote(_Segmentation):
    """A pixel is in when the workers who mark it hold at least half the weight of the task's workers.

    ``fit(data, skills=None)``: ``skills`` weigh the votes, found as :class:`galton.MajorityVote` finds
    them (a Series by worker, a dict, or a frame with ``worker`` and ``skill``; text ``"7"`` is worker
    7); a worker without one raises (``on_missing_skill="error"``), is dropped (``"ignore"``; a task
    left without workers raises) or gets ``default_skill`` (``"value"``), as in crowd-kit. As in
    :class:`galton.MajorityVote`, skills naming a worker twice and negative or infinite skills are
    refused, and a task whose every voter weighs 0 counts its votes unweighted, with a warning
    (crowd-kit's mask is the whole image)."""

    def __init__(self, default_skill: float | None = None, on_missing_skill: str = "error"):
        self.default_skill = default_skill
        self.on_missing_skill = on_missing_skill

    def _weights(self, images: list[Image], skills: Any) -> list[np.ndarray]:
        """Each image's worker weights (NaN: dropped), every row's skill looked up at once, so that
        the errors count all rows and tasks (they counted the first image's). Skills are checked as
        MajorityVote's: one per worker, finite and >= 0 (0 and 0 gave the whole image, -1 and -1 the
        inverted mask, inf an empty one); a task whose every voter weighs 0 counts its votes unweighted."""
        if skills is None:
            return [np.ones(len(im.workers)) for im in images]
        import pandas as pd

        from .votes_fit import check_skill_values, skill_array
        from .votes_shard import zero_weight_warning

        workers = np.concatenate([im.workers for im in images]) if images else np.zeros(0, dtype=object)
        try:  # sorted, as MajorityVote's worker names (skills as an array follow that order)
            codes, names = pd.factorize(workers, sort=True)
        except TypeError:  # ids of mixed types have no order: first appearance
            codes, names = pd.factorize(workers)
        names = np.asarray(names)
        # MajorityVote's lookup: a Series, dict or worker / skill frame, "7" finding worker 7 (a plain
        # skills.reindex found no integer worker by text keys, and a dict had no .index)
        raw = skill_array(skills, names, self.default_skill if self.on_missing_skill == "value" else None)
        check_skill_values(raw, names)
        w = raw[codes]
        if self.on_missing_skill == "value":
            w = np.where(np.isnan(w), self.default_skill, w)
        elif self.on_missing_skill == "error" and np.isnan(w).any():
            lacking = names[np.isnan(raw)]  # crowd-kit's words, then the workers (it named none)
            raise ValueError(f"Skill value is missing in {int(np.isnan(w).sum())} assignments ({lacking.size} of "
                             f"{names.size} worker(s) have no skill: {examples(lacking)}). Specify skills for "
                             "every used worker or use a different on_missing_skill value")
        per_image = np.split(w, np.cumsum([len(im.workers) for im in images])[:-1]) if images else []
        none = [im.task for im, v in zip(images, per_image) if np.isnan(v).all()]
        if none:
            raise ValueError(f"{len(none)} task(s) have no worker with a known skill ({example_ids(none)}); give "
                             "skills for their workers or use a different on_missing_skill value")
        zero = np.array([not (v > 0).any() for v in per_image], dtype=bool)
        zero_weight_warning(np.array([im.task for im in images], dtype=object), zero,
                            "masks are their unweighted majority vote")
        return [np.where(np.isnan(v), v, 1.0) if z else v for v, z in zip(per_image, zero)]

    def fit_predict(self, data: Any, skills: Any = None) -> Any:
        """Fit to ``data`` (with ``skills``, when given) and return ``segmentations_``."""
        return self.fit(data, skills).segmentations_

    def fit(self, data: Any, skills: Any = None) -> "SegmentationMajorityVote":
        drop_fitted(self)  # the previous fit's results go first, also when this fit is refused
        if self.on_missing_skill not in ("error", "ignore", "value"):
            raise ValueError(f"on_missing_skill must be 'error', 'ignore' or 'value', not {self.on_missing_skill!r}")
        if (self.on_missing_skill == "value") != (self.default_skill is not None):
            raise ValueError('default_skill goes with on_missing_skill="value", and only with it')
        if self.default_skill is not None:  # as MajorityVote's: a weight, finite and >= 0
            check_real("default_skill", self.default_skill, 0.0, finite=True)
        images = read_images(data)
        out = []
        for im, w in zip(images, self._weights(images, skills)):
            keep = ~np.isnan(w)
            w, m = w[keep], im.masks[keep]
            w = w / w.max() if w.max() > 1e300 else w  # as MajorityVote's: sums of 1e308 overflowed to inf - inf
            out.append((2.0 * np.einsum("w,wp->p", w, m.astype(float)) - w.sum() >= 0).reshape(im.shape))
        self.segmentations_ = _series([im.task for im in images], out, "agg_segmentation")
        return self


def _xlog(weight: np.ndarray, log: np.ndarray) -> np.ndarray:
    """``weight * log`` with 0 where the weight is 0 (a log of 0 there adds nothing)."""
    return np.where(weight > 0, weight * np.where(weight > 0, log, 0.0), 0.0)


#: the float64 masks of one batch: the steps' temporaries come to a few times this, where one batch
#: of every like image took 1.3 GiB for 200 images of 256 x 256 pixels with 5 masks each
_BATCH_BYTES = 8 * 2**20


def _batches(images: list[Image]) -> Iterator[tuple[list[int], np.ndarray]]:
    """Images grouped by (number of masks, shape), each group in batches of about ``_BATCH_BYTES``
    of float masks (one image when it is larger): each batch's indices and its masks stacked as
    (images, workers, pixels), so that one numpy step serves the batch. Each image is fitted on its
    own, so the batches change no result. (Grouped by pixel count, a 4 x 6 and a 6 x 4 image met in
    one ``np.stack`` and failed.)"""
    groups: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault((len(im.arrays), im.shape), []).append(i)
    for (n, _), idx in groups.items():
        pixels = images[idx[0]].size[1]
        size = max(1, _BATCH_BYTES // max(1, 8 * n * pixels))
        for k in range(0, len(idx), size):
            part = idx[k:k + size]
            yield part, np.stack([a for i in part for a in images[i].arrays]).reshape(len(part), n, pixels)


def _rows(history: list[np.ndarray], images: int) -> np.ndarray:
    """The per-iteration rows as an (iterations run, images) array: grown as the fit runs, so that
    time and memory follow the iterations run, not ``n_iter``."""
    return np.array(history).reshape(len(history), images)


class SegmentationEM(_Segmentation):
    """Per image, crowd-kit's EM (module docstring): worker skills and pixel posteriors, each
    iteration's posteriors the next prior; ``n_iter`` iterations at most (0: the majority share),
    stopping when the evidence lower bound per mark gains less than ``tol``. Images with the same
    number of masks and shape are fitted together in batches (module docstring), each stopping on
    its own."""

    def __init__(self, n_iter: int = 10, tol: float = 1e-5):
        self.n_iter = n_iter
        self.tol = tol

    @staticmethod
    def _skills(x: np.ndarray, q: np.ndarray, region: np.ndarray) -> np.ndarray:
        """Each worker's share of the region's pixels marked as ``q`` has them (in expectation)."""
        agree = x.sum(axis=2) + q.sum(axis=1)[:, None] - 2.0 * np.einsum("bwp,bp->bw", x, q)
        return 1.0 - agree / region[:, None]

    @staticmethod
    def _posteriors(x: np.ndarray, skill: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """Pixel posteriors from the log-odds: each worker adds ``log s`` or ``log(1 - s)`` by its
        mark, summed as one product over the marks; a skill of 0 or 1 makes a term impossible,
        counted apart (so that no 0 x inf appears) and making its side's probability 0."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_s, log_f = np.log(skill), np.log1p(-skill)
            zero_s, zero_f = ~np.isfinite(log_s), ~np.isfinite(log_f)
            log_s, log_f = np.where(zero_s, 0.0, log_s), np.where(zero_f, 0.0, log_f)
            marks = np.einsum("bwp,bw->bp", x, log_s - log_f)
            log_in = np.log(prior) + log_f.sum(axis=1)[:, None] + marks
            log_out = np.log1p(-prior) + log_s.sum(axis=1)[:, None] - marks
            if zero_s.any() or zero_f.any():
                hits = np.einsum("bwp,bw->bp", x, zero_s - zero_f.astype(float))
                log_in = np.where(zero_f.sum(axis=1)[:, None] + hits > 0, -np.inf, log_in)
                log_out = np.where(zero_s.sum(axis=1)[:, None] - hits > 0, -np.inf, log_out)
            q = 1.0 / (1.0 + np.exp(log_out - log_in))
        # both impossible (a skill of 0 or 1 contradicted): 0, as crowd-kit counts it
        return np.where(np.isnan(q), 0.0, q)

    @staticmethod
    def _bound(x: np.ndarray, skill: np.ndarray, prior: np.ndarray, q: np.ndarray) -> np.ndarray:
        """crowd-kit's evidence lower bound per image: each worker's expected log-likelihood, prior
        included, plus the entropy of ``q``; a term with weight 0 counts 0. Each worker's marks enter
        through four sums (marked or not, weighted by q or 1 - q), so the logarithms are of skills."""
        n, pixels = x.shape[1], x.shape[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_s, log_f = np.log(skill), np.log1p(-skill)
            marked_in = np.einsum("bwp,bp->bw", x, q)  # sum of q over the pixels the worker marked
            total_in = q.sum(axis=1)[:, None]
            marked_out = x.sum(axis=2) - marked_in
            unmarked_out = (pixels - total_in) - marked_out
            term_in = (_xlog(marked_in, log_s) + _xlog(total_in - marked_in, log_f)).sum(axis=1) + \
                n * _xlog(q, np.log(prior)).sum(axis=1)
            term_out = (_xlog(marked_out, log_f) + _xlog(unmarked_out, log_s)).sum(axis=1) + \
                n * _xlog(1.0 - q, np.log1p(-prior)).sum(axis=1)
            entropy = _xlog(q, np.log(q)).sum(axis=1)
        return term_in + term_out - entropy

    def _group(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pixel posteriors, worker skills, bound per mark by iteration: NaN once stopped) of a
        group of images, ``m`` (images, workers, pixels)."""
        x = m.astype(float)
        prior = x.mean(axis=1)
        region = m.any(axis=1).sum(axis=1).astype(float)
        live = region > 0  # an image nobody marked is empty
        region = np.where(live, region, 1.0)
        skill = self._skills(x, np.round(prior), region)  # the majority as the start (half rounds to 0)
        history: list[np.ndarray] = []  # a row per iteration run (a table of n_iter rows took 620 MiB)
        bound = np.full(m.shape[0], -np.inf)
        for _ in range(self.n_iter):
            if not live.any():
                break
            q = self._posteriors(x, skill, prior)
            q[q < 1e-15] = 0.0
            new_skill = self._skills(x, q, region)
            new = self._bound(x, new_skill, prior, q) / (m.shape[1] * m.shape[2])
            prior = np.where(live[:, None], q, prior)
            skill = np.where(live[:, None], new_skill, skill)
            history.append(np.where(live, new, np.nan))
            live &= ~(new - bound < self.tol)
            bound = new
        empty = ~m.any(axis=(1, 2))
        prior[empty] = 0.0
        skill[empty] = 1.0
        return prior, skill, _rows(history, m.shape[0])

    def fit(self, data: Any) -> "SegmentationEM":
        self._iterations(self.n_iter, self.tol)
        images = read_images(data)  # a pandas frame (checked): pandas is there
        import pandas as pd

        post: list[Any] = [None] * len(images)
        skill: list[Any] = [None] * len(images)
        self.loss_history_: list[float] = []
        for idx, stack in _batches(images):
            q, s, history = self._group(stack)
            for j, i in enumerate(idx):
                post[i], skill[i] = q[j], s[j]
                if i == len(images) - 1:  # crowd-kit keeps the last image's
                    self.loss_history_ = [float(v) for v in history[:, j] if not np.isnan(v)]
        tasks = [im.task for im in images]
        # a pixel is in when its posterior passes 1/2: an exact tie (two equally good workers
        # disagreeing) is out as in crowd-kit, whatever the rounding (0.5000000000000001 put it in)
        self.segmentations_ = _series(tasks, [(q > 0.5 + TIE_RTOL).reshape(im.shape) for q, im in zip(post, images)],
                                      "agg_segmentation")
        self.posteriors_ = _series(tasks, [q.reshape(im.shape) for q, im in zip(post, images)], "posterior")
        keys = [(im.task, w) for im in images for w in im.workers]
        index = pd.MultiIndex.from_tuples(keys, names=["task", "worker"]) if keys else None
        self.skills_ = pd.Series(np.concatenate(skill) if skill else np.zeros(0), index=index, name="skill")
        return self


class SegmentationRASA(_Segmentation):
    """Weighted majority with weights from each worker's distance to the current mask (module
    docstring): ``n_iter`` rounds at most, stopping when the weighted vote's relative squared change
    is below ``tol``. Images with the same number of masks and shape are fitted together in batches
    (module docstring), each leaving the batch when it stops."""

    def __init__(self, n_iter: int = 10, tol: float = 1e-5):
        self.n_iter = n_iter
        self.tol = tol

    def _group(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(masks, relative squared change of the weighted vote by iteration: NaN where none was
        measured) of a batch of images, ``m`` (images, workers, pixels); an image that has stopped
        leaves the batch (it kept every image in every step until the last one stopped)."""
        b, n, _ = m.shape
        x = m.astype(float)
        w = np.full((b, n), 1.0 / n)
        mask = np.einsum("bw,bwp->bp", w, x) >= 0.5
        previous = None
        on = np.arange(b)  # the images still iterating; x, m, w and previous hold just these
        history: list[np.ndarray] = []  # a row per change measured, as EM's
        for _ in range(self.n_iter):
            vote = np.einsum("bw,bwp->bp", w, x)
            mask[on] = vote >= 0.5
            inter = (m & mask[on][:, None]).sum(axis=2)
            union = (m | mask[on][:, None]).sum(axis=2)
            iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)  # two empty masks agree
            weight = np.log(1.0 / (1.0 - iou + _RASA_BIAS) + 1.0)
            w = weight / weight.sum(axis=1, keepdims=True)
            if previous is not None:
                norm = (vote * vote).sum(axis=1)
                step = vote - previous
                change = np.where(norm > 0, (step * step).sum(axis=1) / np.where(norm > 0, norm, 1.0), 0.0)
                history.append(np.full(b, np.nan))
                history[-1][on] = change
                going = ~(change < self.tol)
                if not going.all():
                    on, x, m, w, vote = on[going], x[going], m[going], w[going], vote[going]
                if not on.size:
                    break
            previous = vote
        return mask, _rows(history, b)

    def fit(self, data: Any) -> "SegmentationRASA":
        self._iterations(self.n_iter, self.tol)
        images = read_images(data)
        out: list[Any] = [None] * len(images)
        self.loss_history_: list[float] = []
        for idx, stack in _batches(images):
            masks, history = self._group(stack)
            for j, i in enumerate(idx):
                out[i] = masks[j].reshape(images[i].shape)
                if i == len(images) - 1:  # crowd-kit keeps the last image's
                    self.loss_history_ = [float(v) for v in history[:, j] if not np.isnan(v)]
        self.segmentations_ = _series([im.task for im in images], out, "agg_segmentation")
        return self
