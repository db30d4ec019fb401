"""The worker population of a simulated crowd: :class:`CrowdConfig` (the whole simulation's
settings), :class:`WorkerTable` (the workers' true parameters) and :func:`sample_workers`.

The generative model, and how its randomness is keyed, is described in :mod:`galton.datasets.simulate`,
which draws the judgments of these workers (and re-exports everything here).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._settings import seed_number, whole_number

__all__ = ["KINDS", "NORMAL", "EXPERT", "UNIFORM_SPAMMER", "CONSTANT_SPAMMER", "ADVERSARY", "CrowdConfig",
           "WorkerTable", "adversary_map", "sample_workers", "worker_name_bytes", "worker_names"]

#: Worker kinds, in the order of their integer codes.
KINDS: tuple[str, ...] = ("normal", "expert", "uniform_spammer", "constant_spammer", "adversary")
#: The integer code of each kind (:attr:`WorkerTable.kind_code`).
NORMAL, EXPERT, UNIFORM_SPAMMER, CONSTANT_SPAMMER, ADVERSARY = range(5)
_WORKER_STREAM = 1  # spawn_key of the worker stream (chunks use spawn_key (0, chunk): see simulate.py)
_TINY_SUM = 1e-280  # a confusion row whose gamma draws sum below this is drawn again in log space
_WHOLE = ("n_tasks", "n_workers", "n_classes", "seed", "tasks_per_chunk")  # integer fields
_REAL = ("accuracy_mean", "accuracy_spread", "confusion_concentration", "spammer_share", "adversary_share",
         "expert_share", "expert_accuracy", "difficulty_spread", "trap_share", "trap_strength", "worker_correlation")


def _whole(name: str, value: Any, shown: Any = None) -> int:
    """``value`` of the integer field ``name`` as an int (see :func:`whole_number`)."""
    return whole_number(name, value, shown=shown)


def _real(name: str, value: Any, shown: Any = None) -> float:
    """``value`` of the float field ``name`` as a finite float; text, booleans, NaN and infinities
    raise ValueError naming the field (``shown``: the whole value, for an element of a list)."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value):
        return float(value)
    what = "a finite number" if isinstance(value, numbers.Real) and not isinstance(value, bool) else "a number"
    if shown is not None:
        what = "finite numbers" if what == "a finite number" else "numbers"
    raise ValueError(f"{name}={value if shown is None else shown!r} must be {what}"
                     + (", not text" if isinstance(value, str) else ""))


@dataclass(frozen=True)
class CrowdConfig:
    """A population of workers and a set of tasks (see the module docstring for the model).

    Parameters
    ----------
    n_tasks, n_workers : int
        Numbers of tasks and of workers.
    n_classes : int
        Number of labels ``K`` (codes ``0..K-1``).
    judgments_per_task : int or (int, int)
        Judgments per task: a fixed count, or ``(min, max)`` drawn uniformly per task (inclusive).
        Each task's judges are distinct, so the count must not exceed ``n_workers``.
    class_prior : sequence of float, optional
        Probabilities of the true labels; uniform by default.
    worker_model : {"one_coin", "full"}
        Normal workers' model: one accuracy, or a confusion matrix with Dirichlet rows.
    accuracy_mean, accuracy_spread : float
        Mean and standard deviation of the normal workers' Beta-distributed accuracy.
    confusion_concentration : float
        Dirichlet concentration ``c`` of the confusion rows (``"full"`` only; larger is closer to
        one-coin, smaller to rows that put all their mass on one answer).
    spammer_share, spammer_kind : float, {"uniform", "constant"}
        Share of spammers and their rule.
    adversary_share, adversary_kind : float, {"shift", "least_likely"}
        Share of adversaries and which wrong label they give.
    expert_share, expert_accuracy : float
        Share of experts (``is_expert``) and their one-coin accuracy.
    difficulty_spread : float
        Standard deviation of ``log(difficulty)`` (0: all tasks equally hard).
    trap_share, trap_strength : float
        Share of trap tasks and the probability that a normal worker gives the trap answer.
    worker_correlation : float
        Probability that a normal worker copies the task's shared crowd answer.
    seed : int
        Seed of everything (a non-negative integer below ``2**128``).
    tasks_per_chunk : int
        Tasks per random stream; fixes the data together with `seed`.
    worker_ids : {"int", "str"}
        Worker ids in written files and frames: integers, or text ``"w0001"``.

    Counts and the seed must be whole numbers (a float of integer value, ``1e3`` in a TOML file,
    is that integer; ``2.7`` is refused) and every other number finite: NaN or an infinity is
    refused by name, as are text and booleans.
    """

    n_tasks: int
    n_workers: int
    n_classes: int = 2
    judgments_per_task: int | tuple[int, int] = 5
    class_prior: tuple[float, ...] | None = None
    worker_model: Literal["one_coin", "full"] = "one_coin"
    accuracy_mean: float = 0.7
    accuracy_spread: float = 0.0
    confusion_concentration: float = 20.0
    spammer_share: float = 0.0
    spammer_kind: Literal["uniform", "constant"] = "uniform"
    adversary_share: float = 0.0
    adversary_kind: Literal["shift", "least_likely"] = "shift"
    expert_share: float = 0.0
    expert_accuracy: float = 0.9
    difficulty_spread: float = 0.0
    trap_share: float = 0.0
    trap_strength: float = 0.8
    worker_correlation: float = 0.0
    seed: int = 0
    tasks_per_chunk: int = 100_000
    worker_ids: Literal["int", "str"] = "int"

    def __post_init__(self) -> None:
        for name in _WHOLE:
            object.__setattr__(self, name, _whole(name, getattr(self, name)))
        for name in _REAL:
            object.__setattr__(self, name, _real(name, getattr(self, name)))
        jpt = self.judgments_per_task
        if isinstance(jpt, (list, tuple)):
            jpt = tuple(_whole("judgments_per_task", v, jpt) for v in jpt)
        else:
            jpt = _whole("judgments_per_task", jpt)
        object.__setattr__(self, "judgments_per_task", jpt)
        if self.class_prior is not None:
            prior = self.class_prior
            if isinstance(prior, (str, bytes)) or not hasattr(prior, "__iter__"):
                raise ValueError(f"class_prior={prior!r} must be a list of {self.n_classes} probabilities")
            object.__setattr__(self, "class_prior", tuple(_real("class_prior", p, prior) for p in prior))
        self._validate()

    def _validate(self) -> None:
        for name in ("n_tasks", "n_workers", "n_classes", "tasks_per_chunk"):
            if getattr(self, name) < (2 if name == "n_classes" else 1):
                raise ValueError(f"{name}={getattr(self, name)!r} is too small")
        seed_number("seed", self.seed)  # 0 <= seed < 2**128 (simulate_prefs checks its seed alike)
        jpt = self.judgments_per_task
        if (len(jpt) != 2 or not 1 <= jpt[0] <= jpt[1]) if isinstance(jpt, tuple) else jpt < 1:
            raise ValueError(f"judgments_per_task={jpt!r}: give a count or (min, max), 1 <= min <= max")
        if self.jpt_range[1] > self.n_workers:
            raise ValueError(f"judgments_per_task up to {self.jpt_range[1]} needs at least that many "
                             f"workers (a task's judges are distinct); raise n_workers (now "
                             f"{self.n_workers}) or lower judgments_per_task")
        p = self.prior
        if p.shape != (self.n_classes,) or (p < 0).any() or abs(p.sum() - 1) > 1e-9:
            raise ValueError(f"class_prior={self.class_prior!r} must be n_classes={self.n_classes} "
                             "non-negative probabilities summing to 1")
        choices = {"worker_model": ("one_coin", "full"), "spammer_kind": ("uniform", "constant"),
                   "adversary_kind": ("shift", "least_likely"), "worker_ids": ("int", "str")}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"{name}={getattr(self, name)!r}; use one of {valid}")
        for name in ("accuracy_mean", "expert_accuracy", "spammer_share", "adversary_share",
                     "expert_share", "trap_share", "trap_strength", "worker_correlation"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}={getattr(self, name)!r} must lie in [0, 1]")
        if self.spammer_share + self.adversary_share + self.expert_share > 1.0 + 1e-12:
            raise ValueError("spammer_share + adversary_share + expert_share must not exceed 1")
        counts = self.special_counts
        if sum(counts) > self.n_workers:
            raise ValueError(
                f"expert_share, spammer_share and adversary_share round to {counts[0]} experts, {counts[1]} "
                f"spammers and {counts[2]} adversaries: {sum(counts)} workers, more than n_workers="
                f"{self.n_workers}; lower a share or raise n_workers")
        m, s = self.accuracy_mean, self.accuracy_spread
        if s < 0 or (s > 0 and s * s >= m * (1 - m)):
            raise ValueError(f"accuracy_spread={s!r}: a Beta distribution with mean {m} needs "
                             f"0 <= spread < sqrt(mean * (1 - mean)) = {np.sqrt(m * (1 - m)):.4g}")
        if self.difficulty_spread < 0:
            raise ValueError(f"difficulty_spread={self.difficulty_spread!r} must be >= 0")
        if self.confusion_concentration <= 0:
            raise ValueError(f"confusion_concentration={self.confusion_concentration!r} must be > 0")

    @property
    def special_counts(self) -> tuple[int, int, int]:
        """Experts, spammers and adversaries among the workers: ``share * n_workers`` rounded to the
        nearest count, halves up (``expert_share=0.05`` of 10 workers is one expert)."""
        shares = (self.expert_share, self.spammer_share, self.adversary_share)
        return tuple(int(math.floor(s * self.n_workers + 0.5 + 1e-9)) for s in shares)  # type: ignore[return-value]

    @property
    def jpt_range(self) -> tuple[int, int]:
        """``(min, max)`` judgments per task."""
        jpt = self.judgments_per_task
        return (jpt, jpt) if isinstance(jpt, int) else (jpt[0], jpt[-1])

    @property
    def prior(self) -> np.ndarray:
        """The class prior as an array (uniform when not given)."""
        if self.class_prior is None:
            return np.full(self.n_classes, 1.0 / self.n_classes)
        return np.asarray(self.class_prior, dtype=np.float64)

    @property
    def n_chunks(self) -> int:
        """Number of random-stream chunks."""
        return -(-self.n_tasks // self.tasks_per_chunk)

    def chunk_bounds(self, chunk: int) -> tuple[int, int]:
        """Task range ``[start, stop)`` of chunk `chunk`."""
        start = chunk * self.tasks_per_chunk
        return start, min(start + self.tasks_per_chunk, self.n_tasks)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON-ready values."""
        out = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrowdConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown CrowdConfig field(s) {unknown}; valid: {sorted(names)}")
        return cls(**data)


def worker_names(n_workers: int) -> np.ndarray:
    """Text ids ``w0000, w0001, ...`` (at least 4 digits, zero-padded to sort like the codes)."""
    text = worker_name_bytes(n_workers)
    return text.astype(f"U{text.dtype.itemsize}")


def worker_name_bytes(n_workers: int, codes: np.ndarray | None = None) -> np.ndarray:
    """The ids of :func:`worker_names` as ASCII bytes (dtype ``S``) for the worker codes ``codes``
    (default: every worker), one per code: what a part file of ``worker_ids="str"`` writes for its
    judgments. Built digit by digit in integer arithmetic (1M names: about 0.05 s; numpy's string
    functions took 2 s), and only for the codes asked for."""
    width = max(4, len(str(max(n_workers - 1, 0))))
    rest = np.arange(n_workers, dtype=np.int64) if codes is None else np.asarray(codes).astype(np.int64)
    out = np.empty((rest.shape[0], width + 1), dtype=np.uint8)
    out[:, 0] = ord("w")
    for i in range(width, 0, -1):
        out[:, i] = rest % 10 + ord("0")
        rest //= 10
    return out.view(f"S{width + 1}").ravel()


@dataclass(frozen=True)
class WorkerTable:
    """True parameters of the workers (index = worker code).

    Attributes
    ----------
    kind : ndarray of str
        One of :data:`KINDS` per worker.
    accuracy : ndarray of float64
        The worker's own accuracy: the probability of a right answer on a task of median difficulty
        under the class prior when it answers by itself (uniform spammer ``1/K``, constant spammer
        the prior of its label, adversary 0). For a normal worker this is ``a_w`` *before*
        ``worker_correlation`` and traps, so with either switched on it is not the rate at which the
        worker's judgments are right: that is `effective_accuracy`.
    is_expert : ndarray of bool
    constant_label : ndarray of int32
        A constant spammer's label, -1 for other workers.
    confusion : ndarray of float64, shape (n_workers, K, K), or None
        ``confusion[w, true, answer]`` for ``worker_model="full"``; None for one-coin crowds.
    n_classes : int
    effective_accuracy : ndarray of float64, or None
        The probability that a judgment of the worker is right, on a task of median difficulty under
        the class prior, with ``worker_correlation`` ``rho`` and traps: for a normal worker
        ``(1 - trap_share * trap_strength) * ((1 - rho) * accuracy + rho * accuracy_mean)`` (a trap
        answer is always wrong; the crowd answer it copies is right with probability ``accuracy_mean``
        there), for the other kinds, which neither copy nor fall for traps, `accuracy`. Equal to
        `accuracy` without correlation and traps. With ``difficulty_spread`` 0 it is the expected
        share of the worker's judgments that are right. None for a table not made by
        :func:`sample_workers`.
    """

    kind: np.ndarray
    accuracy: np.ndarray
    is_expert: np.ndarray
    constant_label: np.ndarray
    confusion: np.ndarray | None
    n_classes: int
    effective_accuracy: np.ndarray | None = None

    @property
    def n_workers(self) -> int:
        return int(self.accuracy.shape[0])

    @property
    def kind_code(self) -> np.ndarray:
        """Kinds as int8 codes into :data:`KINDS`."""
        code = np.full(self.kind.shape, -1, dtype=np.int8)
        for i, name in enumerate(KINDS):
            code[self.kind == name] = i
        if (code < 0).any():
            raise ValueError(f"unknown worker kind(s) {sorted(set(self.kind[code < 0]))}; use {KINDS}")
        return code

    def correct_matrix(self) -> np.ndarray:
        """``P(correct | true class)`` at median difficulty, shape (n_workers, K)."""
        if self.confusion is not None:
            return np.diagonal(self.confusion, axis1=1, axis2=2).copy()
        return np.repeat(self.accuracy[:, None], self.n_classes, axis=1)


def _beta(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    if sd == 0 or mean in (0.0, 1.0):
        return np.full(n, mean)
    nu = mean * (1 - mean) / sd**2 - 1
    return rng.beta(mean * nu, (1 - mean) * nu, n)


def adversary_map(config: CrowdConfig) -> np.ndarray:
    """Label an adversary gives for each true label."""
    K = config.n_classes
    if config.adversary_kind == "shift":
        return ((np.arange(K) + 1) % K).astype(np.int32)
    prior = config.prior.copy()
    first = int(prior.argmin())  # argmin: the lowest code on ties
    prior[first] = np.inf
    out = np.full(K, first, dtype=np.int32)  # O(K), not a K x K table: K may be large
    out[first] = prior.argmin()  # the least likely label other than the least likely one
    return out


def _dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet(alpha[i]) draw per row, computed in log space: ``Gamma(a) = Gamma(a + 1) *
    U ** (1 / a)`` (Marsaglia and Tsang), so tiny shapes, whose gamma draws underflow to 0, give
    rows near one-hot as they should, not 0 / 0."""
    with np.errstate(divide="ignore", over="ignore"):
        y = np.log(-np.log(rng.random(alpha.shape))) - np.log(alpha)  # log(-log(U) / a): finite for a > 0
        log_g = np.log(rng.standard_gamma(alpha + 1)) - np.exp(y)
    top = log_g.max(axis=1, keepdims=True)
    out = np.exp(log_g - np.where(np.isfinite(top), top, 0.0))
    gone = np.flatnonzero(~np.isfinite(top.ravel()))  # every entry below exp(-1.8e308): the limit is one-hot
    out[gone] = 0.0
    out[gone, y[gone].argmin(axis=1)] = 1.0
    return out / out.sum(axis=1, keepdims=True)


def _one_coin(acc: np.ndarray, K: int) -> np.ndarray:
    eye = np.eye(K)
    return acc[:, None, None] * eye + ((1 - acc) / (K - 1))[:, None, None] * (1 - eye)


def sample_workers(config: CrowdConfig) -> WorkerTable:
    """Draw the workers of `config`: a :class:`WorkerTable` (kinds, accuracies, confusions).

    Kinds go to a random permutation of the workers: ``share * n_workers`` experts, spammers and
    adversaries (rounded, halves up: :attr:`CrowdConfig.special_counts`), the rest normal.
    """
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(_WORKER_STREAM,)))
    n, K, prior = config.n_workers, config.n_classes, config.prior
    counts = list(config.special_counts)  # checked by CrowdConfig: at most n
    spam = UNIFORM_SPAMMER if config.spammer_kind == "uniform" else CONSTANT_SPAMMER
    code = np.empty(n, dtype=np.int8)
    code[rng.permutation(n)] = np.repeat([EXPERT, spam, ADVERSARY, NORMAL], counts + [n - sum(counts)])
    acc = _beta(rng, config.accuracy_mean, config.accuracy_spread, n)
    const = rng.integers(0, K, n)
    confusion = None
    if config.worker_model == "full":  # K x K per worker: only here (a one-coin crowd may have K = 100,000)
        eye = np.eye(K)
        base = _one_coin(acc, K) * config.confusion_concentration
        g = rng.standard_gamma(base)
        sums = g.sum(axis=2, keepdims=True)
        confusion = g / np.where(sums > 0, sums, 1)
        # small concentrations: gamma draws underflow (all of a row: 0 / 0); such rows are drawn again
        # in log space (a Dirichlet row is independent of its gammas' total, so this is exact)
        tiny = np.flatnonzero(sums.ravel() < _TINY_SUM)
        if tiny.size:
            confusion.reshape(-1, K)[tiny] = _dirichlet_rows(rng, base.reshape(-1, K)[tiny])
        confusion[code == EXPERT] = _one_coin(np.full(counts[0], config.expert_accuracy), K)
        confusion[code == UNIFORM_SPAMMER] = 1.0 / K
        confusion[code == CONSTANT_SPAMMER] = eye[const[code == CONSTANT_SPAMMER]][:, None, :]
        confusion[code == ADVERSARY] = eye[adversary_map(config)]
        accuracy = np.einsum("k,wkk->w", prior, confusion)
    else:
        accuracy = acc.copy()
        accuracy[code == EXPERT] = config.expert_accuracy
        accuracy[code == UNIFORM_SPAMMER] = 1.0 / K
        accuracy[code == CONSTANT_SPAMMER] = prior[const[code == CONSTANT_SPAMMER]]
        accuracy[code == ADVERSARY] = 0.0
    effective = accuracy.copy()  # correlation and traps act on normal workers only
    rho, normal = config.worker_correlation, code == NORMAL
    effective[normal] = ((1 - config.trap_share * config.trap_strength)
                         * ((1 - rho) * accuracy[normal] + rho * config.accuracy_mean))
    return WorkerTable(kind=np.array(KINDS)[code], accuracy=accuracy, is_expert=code == EXPERT,
                       constant_label=np.where(code == CONSTANT_SPAMMER, const, -1).astype(np.int32),
                       confusion=confusion, n_classes=K, effective_accuracy=effective)

