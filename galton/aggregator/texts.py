"""Texts: one transcription (or any token sequence) per judgment, merged into one per task.

``ROVER`` (Fiscus, "Recognizer Output Voting Error Reduction", IEEE ASRU 1997) is crowd-kit's model
of the same name with its results. Each task's texts are tokenized (``tokenizer``) and aligned one
after another into a word transition network: a sequence of slots, each holding the words given
there with the number of texts that gave them, ``""`` standing for "no word here". Aligning the
next text is an edit-distance problem between the slots and its tokens, solved by dynamic
programming: a token in a slot costs 0, another word 1, skipping a slot 1 (0 where some text
already had no word there), a token between slots 1 (a new slot whose ``""`` counts every text
before). Among equal costs the choice is, in this order, the slot, skipping it, a new slot; the
path is read back from the end. Each slot then votes: the word with the most texts, then the
longest, then the greatest; the words other than ``""`` joined by ``detokenizer`` are the result.

``texts_`` is a pandas Series of the texts by ``task`` (sorted) named ``agg_text``. Input: a pandas
frame with ``task``, ``worker`` and ``text`` columns; texts are aligned in row order within a task.

``TextRASA(encoder)`` and ``TextHRRASA(encoder)`` are crowd-kit's wrappers of :class:`galton.RASA`
and :class:`galton.HRRASA` for texts: each text (and each of the optional ``true_objects``, known
texts by task, a missing one skipped) is encoded once by ``encoder`` (a function from a text to a
vector, for example a sentence-embedding model) and RASA picks one of the given texts per task
(``true_objects``: a Series indexed by task, a dict task -> text or a frame with ``task`` and ``text``).
``texts_`` is a Series of the chosen texts by ``task`` named ``agg_text``, set by ``fit`` too
(crowd-kit's only by ``fit_predict``).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from ..data._validate import pandas_columns
from ._embedding_rows import by_task_series
from ._params import Params, drop_fitted
from .worker_report import NoWorkerReport, worker_report

__all__ = ["ROVER", "TextHRRASA", "TextRASA"]

#: ``fit`` returns the model it is called on: its own class, a subclass included, for type checkers
_Self = TypeVar("_Self", bound="TextRASA")

_SLOT, _SKIP, _NEW = 0, 1, 2


def _align(slots: list[dict[str, int]], tokens: list[str], before: int) -> list[dict[str, int]]:
    """The network ``slots`` (``before`` texts aligned) with ``tokens`` aligned into it."""
    n, m = len(tokens), len(slots)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    move = [[_SLOT] * (m + 1) for _ in range(n + 1)]
    for j in range(1, m + 1):
        cost[0][j], move[0][j] = j, _SKIP
    for i in range(1, n + 1):
        cost[i][0], move[i][0] = i, _NEW
        word, row, up = tokens[i - 1], cost[i], cost[i - 1]
        for j in range(1, m + 1):
            slot = slots[j - 1]
            best, how = up[j - 1] + (word not in slot), _SLOT
            skip = row[j - 1] + ("" not in slot)
            if skip < best:
                best, how = skip, _SKIP
            if up[j] + 1 < best:
                best, how = up[j] + 1, _NEW
            row[j], move[i][j] = best, how
    out: list[dict[str, int]] = []
    i, j = n, m
    while i or j:
        how = move[i][j]
        if how == _SLOT:
            slot, word = dict(slots[j - 1]), tokens[i - 1]
            i, j = i - 1, j - 1
        elif how == _SKIP:
            slot, word = dict(slots[j - 1]), ""
            j -= 1
        else:
            slot, word = {"": before}, tokens[i - 1]
            i -= 1
        slot[word] = slot.get(word, 0) + 1
        out.append(slot)
    return out[::-1]


def _vote(slots: list[dict[str, int]]) -> list[str]:
    """Each slot's word: most texts, then longest, then greatest; the empty word left out."""
    words = [max(slot.items(), key=lambda kv: (kv[1], len(kv[0]), kv[0]))[0] for slot in slots]
    return [w for w in words if w != ""]


class ROVER(Params, NoWorkerReport):
    """Recognizer Output Voting Error Reduction: align the texts of a task into a word transition
    network and vote in each slot (module docstring). ``tokenizer`` splits a text into tokens,
    ``detokenizer`` joins the chosen tokens; ``silent=False`` shows progress on long inputs."""

    def __init__(self, tokenizer: Callable[[str], list[str]], detokenizer: Callable[[list[str]], str],
                 silent: bool = True):
        self.tokenizer = tokenizer
        self.detokenizer = detokenizer
        self.silent = silent

    def __repr__(self) -> str:
        return f"ROVER(tokenizer={self.tokenizer!r}, detokenizer={self.detokenizer!r}, silent={self.silent!r})"

    def fit(self, data: Any) -> "ROVER":
        drop_fitted(self)  # the previous fit's results go first, also when this fit is refused
        pandas_columns(data, ["task", "worker", "text"], "ROVER",
                       "ROVER needs task, worker and text (one text per row)", nonnull=["task", "text"])
        import pandas as pd

        from .._progress import Progress
        from ._results import pandas_index

        groups = data.groupby("task", sort=True)["text"]
        tasks, texts = [], []
        bar = Progress(len(groups), "ROVER", enabled=False if self.silent else None)
        for task, column in groups:
            slots: list[dict[str, int]] = []
            for k, text in enumerate(column.tolist()):
                try:
                    tokens = list(self.tokenizer(text))
                except (TypeError, AttributeError):  # str.split on a number: "descriptor 'split' ... 'int' object"
                    _refuse_non_texts(data)
                    raise
                slots = [{w: 1} for w in tokens] if k == 0 else _align(slots, tokens, k)
            tasks.append(task)
            texts.append(self.detokenizer(_vote(slots)))
            bar.update(len(tasks))
        bar.close()
        self.texts_ = pd.Series(texts, index=pandas_index(tasks, name="task"), name="agg_text")
        return self

    def fit_predict(self, data: Any) -> Any:
        """Fit to ``data`` and return ``texts_``."""
        return self.fit(data).texts_


def _refuse_non_texts(data: Any) -> None:
    """Where the tokenizer failed: refuse the rows of column 'text' that hold no text, naming the
    count and a few rows (a tokenizer of one's own may take other values: checked only when it fails)."""
    import numpy as np

    from ..data._validate import examples, fmt_value, one_row, row_index

    values = data["text"].to_numpy()
    odd = np.flatnonzero([not isinstance(v, str) for v in values.tolist()])
    if odd.size:
        index = row_index(data)
        shown = examples(odd, sep="; ", fmt=lambda r: f"{one_row(int(r), index)}: {type(values[r]).__name__} "
                                                      f"{fmt_value(values[r])}")
        raise ValueError(f"column 'text': {odd.size} of {len(values)} row(s) hold no text ({shown}); ROVER's "
                         "tokenizer reads texts: convert them "
                         "(df['text'] = df['text'].astype(str)) or drop those rows")


class TextRASA(Params, NoWorkerReport):
    """RASA on texts through ``encoder`` (module docstring); ``n_iter``, ``tol`` and ``alpha`` as in
    :class:`galton.RASA` (``tol`` 1e-5 by default, crowd-kit's). The fitted RASA's attributes
    (``skills_``, ``scores_``, ...) are read through this object, and its parameters read and set
    (``m.n_iter = 1``, ``m.set_params(n_iter=1)``; ``get_params`` gives the constructor's)."""

    def __init__(self, encoder: Callable[[str], Any], n_iter: int = 100, tol: float = 1e-5, alpha: float = 0.05):
        from .embeddings import RASA

        self.encoder = encoder
        self._rasa = RASA(n_iter, tol, alpha)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_rasa":
            raise AttributeError(name)
        if name == "workers_":  # its property raised: worker_report's error again, naming this model, not the RASA
            return worker_report(self)
        try:
            return getattr(self._rasa, name)
        except AttributeError:  # named the RASA inside
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        inner = self.__dict__.get("_rasa")
        if inner is not None and not name.startswith("_") and not name.endswith("_") and name in vars(inner):
            setattr(inner, name, value)  # a parameter of the RASA inside (m.n_iter = 1 went unused)
        else:
            object.__setattr__(self, name, value)

    def __copy__(self) -> "TextRASA":
        """A shallow copy with a copy of the RASA inside: ``copy.copy`` shared the inner model, so a
        refit of (or a parameter set on) the copy rewrote the original's results and parameters."""
        import copy

        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__["_rasa"] = copy.copy(self._rasa)
        return new

    def __repr__(self) -> str:
        r = self._rasa
        return f"TextRASA(encoder={self.encoder!r}, n_iter={r.n_iter!r}, tol={r.tol!r}, alpha={r.alpha!r})"

    def _encode(self, data: Any) -> Any:
        pandas_columns(data, ["task", "worker", "text"], type(self).__name__,
                       f"{type(self).__name__} needs task, worker and text (one text per row)", nonnull=["text"])
        texts = data["text"].tolist()
        cache: dict[str, Any] = {}
        vectors = [cache[t] if t in cache else cache.setdefault(t, self.encoder(t)) for t in texts]
        out = data[["task", "worker"]].assign(output=texts)
        return out.assign(embedding=vectors)

    def _encode_true(self, true_objects: Any) -> Any:
        """The known texts (a Series by task, a dict or a ``task, text`` frame) encoded, a missing
        one (NaN, None) skipped as a missing true embedding is (the encoder was handed the NaN)."""
        known = by_task_series(true_objects, "true_objects", "text", "text")
        return None if known is None else known[known.notna()].map(self.encoder)

    def fit(self: _Self, data: Any, true_objects: Any = None) -> _Self:
        """Fit and choose the texts: ``texts_`` (crowd-kit's fit leaves it unset: only its fit_predict sets it)."""
        # the previous fit's results, its own and the RASA's, go first: also when this fit is refused
        # (the encoder runs before the RASA's fit resets it)
        drop_fitted(self)
        drop_fitted(self._rasa)
        # errors name the encoder's vectors and the texts (they blamed a column 'embedding' the data lacks)
        self._rasa._source = ("the encoder's vectors for column 'text'", "text", "true_objects")
        chosen = self._rasa.fit_predict(self._encode(data), self._encode_true(true_objects))
        self.texts_ = chosen["output"].rename("agg_text")
        return self

    def fit_predict_scores(self, data: Any, true_objects: Any = None) -> Any:
        """Fit and return each text's cosine distance to its task's embedding."""
        return self.fit(data, true_objects).scores_

    def fit_predict(self, data: Any, true_objects: Any = None) -> Any:
        """Fit and return ``texts_``: the chosen text of each task (a Series named ``agg_text``)."""
        return self.fit(data, true_objects).texts_


class TextHRRASA(TextRASA):
    """HRRASA on texts through ``encoder`` (module docstring); the other parameters as in
    :class:`galton.HRRASA` (``tol`` 1e-5 by default, crowd-kit's)."""

    def __init__(self, encoder: Callable[[str], Any], n_iter: int = 100, tol: float = 1e-5, lambda_emb: float = 0.5,
                 lambda_out: float = 0.5, alpha: float = 0.05, calculate_ranks: bool = False,
                 output_similarity: Callable[[Any, Any], float] | None = None):
        from .embeddings import HRRASA, gleu_similarity

        self.encoder = encoder
        self._rasa = HRRASA(n_iter, tol, lambda_emb, lambda_out, alpha, calculate_ranks,
                            output_similarity or gleu_similarity)

    def __repr__(self) -> str:
        return f"TextHRRASA(encoder={self.encoder!r}, {repr(self._rasa)[len('HRRASA('):]}"
