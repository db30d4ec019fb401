"""Labels declared with ``labels=`` that no judgment and no gold uses, for ``bds``, ``one_coin_ds``, ``glad``,
``mace``, ``ebcc`` and ``bwa``.

Such a label is no class of the data: the Dawid-Skene likelihood gives it no evidence, and its
maximum-likelihood class prior is 0 (:class:`~galton.aggregator.dawid_skene.DawidSkene` keeps it
there). ``bds`` counts its labels in its priors (``beta + class_shrinkage * n_tasks / K`` per
class, one-coin matrices over K labels, prior accuracies in ``[1/K, 0.99]``, the ``confusion``
form from ``MANY_LABELS``) and in its calibration: declaring 198 unused labels put up to 0.58 of a
task's probability on them (zheng_s_face) and moved every other number. So ``bds`` fits the
judgments re-coded to the labels they use (:func:`used_only`) and the results are those of that
fit spread over the declared labels, with probability 0 for the unused ones
(:func:`expand_params`, :func:`declared_errors`).

GLAD and MACE spread a wrong answer over the other K - 1 labels under a uniform (GLAD: fixed)
class prior, so an unused label took the mass a worker's known errors point away from: a task
judged once by a worker who is always wrong went to the unused label (GLAD: 'a' 0.457 with 'c',
'b' 0.085; MACE gave unused labels up to 0.009). They fit the labels in use too
(:class:`LabelsInUse`; GLAD unless ``labels_priors`` gives the labels their priors). So do EBCC,
whose Dirichlet priors of the answers (over K labels) and of the class proportions counted the
unused label (46 of zheng_s_face's 584 labels changed, one task's probability by 0.9995), and BWA,
whose prior correction ``4 (1 - 1/K)`` did (act_cf: 1 of 300 labels).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ._pairs import DENSE_ERRORS_MAX, dense_cells, pair_labels, pair_rows, pair_workers

__all__ = ["used_labels", "used_only", "expand_params", "declared_errors", "LabelsInUse", "DeclaredLabels",
           "UNUSED_ON_SHARDS", "label_columns"]

#: the error of a fit on judgments already in an engine's shards whose declared labels go unused
UNUSED_ON_SHARDS = (
    "{n} of the {k} declared labels ({examples}) are given by no judgment and no gold task; {model} gives such a "
    "label probability 0 by fitting on the labels in use, which judgments loaded with load_parquet (encoded "
    "in their shards) cannot be re-coded to: load them without those labels in labels=[...], or fit the "
    "judgments from memory")


def used_labels(judgments: Any, gold_codes: np.ndarray | None) -> np.ndarray | None:
    """Which labels a judgment or a gold task uses (bool, K); None when all of them are (or there
    is no judgment: an empty fit keeps its declared labels)."""
    k = int(judgments.n_labels)
    if judgments.n_judgments == 0:
        return None
    used = np.bincount(judgments.label, minlength=k) > 0
    if gold_codes is not None:
        used |= np.bincount(gold_codes[gold_codes >= 0], minlength=k) > 0
    return None if used.all() else used


def used_only(judgments: Any, gold_codes: np.ndarray | None, used: np.ndarray) -> tuple[Any, np.ndarray | None]:
    """The judgments and gold codes re-coded to the labels ``used`` (order kept)."""
    code = (np.cumsum(used) - 1).astype(np.int32)
    label = code[judgments.label]
    label.flags.writeable = False
    names = judgments.label_names[used]
    names.flags.writeable = False
    reduced = replace(judgments, label=label, label_names=names, _cache={})
    if gold_codes is not None:
        gold_codes = np.where(gold_codes >= 0, code[np.maximum(gold_codes, 0)], gold_codes).astype(gold_codes.dtype)
    return reduced, gold_codes


def _columns(values: np.ndarray, used: np.ndarray, value: float = 0.0) -> np.ndarray:
    """``values`` (..., K_used) spread over the last axis of the declared labels, ``value`` elsewhere."""
    out = np.full(values.shape[:-1] + (used.size,), value, dtype=np.result_type(values, np.float64))
    out[..., used] = values
    return out


def expand_params(params: dict[str, Any], used: np.ndarray, n_workers: int) -> dict[str, Any]:
    """The fitted parameters of the used labels (after ``_with_outputs``) over the declared labels:
    pair codes and rows re-coded, label axes widened with probability 0 (log: -inf) for the unused
    labels, so that ``predict`` on new data and every result give them nothing."""
    k_used, k = int(used.sum()), int(used.size)
    code = np.flatnonzero(used)
    pairs = params["pairs"]
    full_pairs = pair_workers(pairs, k_used) * k + code[pair_labels(pairs, k_used)]
    rows = np.full(n_workers * k, -1, dtype=params["rows"].dtype)
    rows[full_pairs] = params["rows"][pairs]
    out = {**params, "pairs": full_pairs, "rows": rows}
    for key in ("a", "colsum", "errors", "fill", "b", "priors"):  # probabilities and pseudo-counts
        if out.get(key) is not None:
            out[key] = _columns(out[key], used)
    for key in ("table", "fill_table", "logprior"):  # expected logs
        if out.get(key) is not None:
            out[key] = _columns(out[key], used, -np.inf)
    if "coin_label" in out:
        out["coin_label"] = code[out["coin_label"]].astype(out["coin_label"].dtype)
    return out


def declared_errors(out: Any, judgments: Any, values: np.ndarray | None, fill: np.ndarray, pairs: np.ndarray,
                    used: np.ndarray) -> Any:
    """:func:`~galton.aggregator._pairs.errors_output` over the declared labels: 0 in every cell of
    an unused label (as observed answer and as true class)."""
    w, k = judgments.n_workers, judgments.n_labels
    if w * k * k <= DENSE_ERRORS_MAX:
        cells = dense_cells(values, fill, pairs)
        cells[:, ~used, :] = 0.0  # no worker answers an unused label (its columns are 0 already)
        return out.errors(judgments.worker_names, judgments.label_names, cells)
    pl, pw = pair_labels(pairs, k), pair_workers(pairs, k)
    if values is None:  # one accuracy per worker: its rows spread the errors over every label
        values = pair_rows(fill[:, 0, np.argmax(used)], fill[:, 1, np.argmax(used)], pl, pw, k)
        values[:, ~used] = 0.0
    return out.pair_errors(judgments.worker_names[pw], judgments.label_names[pl], judgments.label_names, values)


class LabelsInUse:
    """Fit on the labels that a judgment or gold uses and report the declared ones, with
    probability 0 for the others (placed before the model's class among its bases). A model
    widens its own label-indexed parameters in :meth:`_declared_params` and starts its
    ``_finish`` with :meth:`_declared_results`."""

    def _reset(self) -> None:
        super()._reset()  # type: ignore[misc]
        self.__dict__.pop("_declared", None)  # left by a fit that failed
        self.__dict__.pop("_used", None)
        self.__dict__.pop("_layout_judgments", None)

    def __getstate__(self) -> dict[str, Any]:
        """The model's attributes without the declared judgments: a bound E-step that travels to
        the shards (Ray pickles it) carries no copy of the data."""
        state = dict(self.__dict__)
        state.pop("_declared", None)
        return state

    def _fits_labels_in_use(self) -> bool:
        """Whether this fit drops the unused labels (GLAD: not when ``labels_priors`` gives them priors)."""
        return True

    def _prepare(self, data: Any, gold: Any = None, **options: Any) -> tuple[Any, np.ndarray | None]:
        """The judgments re-coded to the labels in use; the declared ones are kept for the results."""
        judgments, gold_codes = super()._prepare(data, gold, **options)  # type: ignore[misc]
        used = used_labels(judgments, gold_codes) if self._fits_labels_in_use() else None
        if used is None:
            return judgments, gold_codes
        self._declared = (judgments, used)
        return used_only(judgments, gold_codes, used)

    def _prepare_sharded(self, data: Any, gold: Any, engine: Any, options: dict[str, Any]) -> tuple[Any, None]:
        """Judgments loaded into shards cannot be re-coded: declared labels that none of them uses
        are refused (they took a share of the probability, as in memory before :class:`LabelsInUse`)."""
        judgments, gold_codes = super()._prepare_sharded(data, gold, engine, options)  # type: ignore[misc]
        used = getattr(judgments, "labels_used", None)
        if used is not None and judgments.n_judgments and not used.all() and self._fits_labels_in_use():
            unused = np.flatnonzero(~used)
            examples = ", ".join(repr(v) for v in judgments.label_names[unused[:5]].tolist())
            raise ValueError(UNUSED_ON_SHARDS.format(n=unused.size, k=used.size, model=type(self).__name__,
                                                     examples=examples))
        return judgments, gold_codes

    def _store(self, judgments: Any, post: np.ndarray | None, output: str | None,
               codes: np.ndarray | None = None) -> None:
        declared = self.__dict__.get("_declared")
        if declared is not None:  # the results over the declared labels: 0 for the unused ones
            judgments, used = declared
            if post is not None:
                post = _columns(post, used)
        super()._store(judgments, post, output, codes)  # type: ignore[misc]

    def _declared_params(self, params: dict[str, Any], used: np.ndarray) -> dict[str, Any]:
        """The fitted parameters with their label axes over the declared labels."""
        return params

    def _declared_results(self, params: dict[str, Any], judgments: Any) -> tuple[dict[str, Any], Any]:
        """The parameters and judgments a model's ``_finish`` builds its results from (its first
        call): over the declared labels after a fit on the labels in use, else as they are."""
        declared = self.__dict__.pop("_declared", None)
        if declared is None:
            return params, judgments
        full, used = declared
        self._used = used
        gold = self.__dict__.get("_gold")  # in the codes of the labels in use: back to the declared ones
        if gold is not None:
            self._gold = np.where(gold >= 0, np.flatnonzero(used)[np.maximum(gold, 0)], -1).astype(gold.dtype)
        self._layout_judgments = full  # crowd-kit's pandas layout reads the declared labels' codes
        return self._declared_params(params, used), full

    def _crowdkit_layout(self, judgments: Any) -> None:
        full = self.__dict__.pop("_layout_judgments", None)  # the results are over the declared labels
        super()._crowdkit_layout(judgments if full is None else full)  # type: ignore[misc]


def label_columns(values: np.ndarray, used: np.ndarray, value: float = 0.0) -> np.ndarray:
    """``values`` (..., K_used) spread over the declared labels' last axis, ``value`` elsewhere."""
    return _columns(values, used, value)


class DeclaredLabels(LabelsInUse):
    """The part of ``bds`` that fits the labels in use and reports the declared ones (placed before
    :class:`~galton.aggregator.dawid_skene.ConfusionEM` in the model's bases): its parameters are
    per (worker, answer) pair tables."""

    def _finish(self, params: dict[str, Any], judgments: Any) -> None:
        declared = self.__dict__.pop("_declared", None)
        if declared is None:
            return super()._finish(params, judgments)  # type: ignore[misc]
        full, used = declared  # the model's _with_outputs returns params that have their outputs as they are
        params = self._with_outputs(params, judgments)  # type: ignore[attr-defined]
        params = expand_params(params, used, full.n_workers)
        super()._finish(params, full)  # type: ignore[misc]
        self._used = used
        self._layout_judgments = full  # crowd-kit's pandas layout (one-coin) reads the declared labels' codes
        gold = self.__dict__.get("_gold")  # in the codes of the labels in use: back to the declared ones
        if gold is not None:
            self._gold = np.where(gold >= 0, np.flatnonzero(used)[np.maximum(gold, 0)], -1).astype(gold.dtype)
        self._deferred("errors_", declared_errors, self._out, full, params["errors"],  # type: ignore[attr-defined]
                       params["fill"], params["pairs"], used)

    def _posteriors(self, shard: Any, params: dict[str, Any]) -> np.ndarray:
        """New data scored over the declared labels: 0 for the unused ones (tempering floors them)."""
        post = super()._posteriors(shard, params)  # type: ignore[misc]
        unused = np.isneginf(params["logprior"])
        if unused.any():
            post[:, unused] = 0.0
        return post

    def confusion_array(self) -> np.ndarray | None:
        cells = super().confusion_array()  # type: ignore[misc]
        used = self.__dict__.get("_used")
        if cells is not None and used is not None:
            cells[:, ~used, :] = 0.0
        return cells
