"""The protocol every encoded data type shares (Judgments, Comparisons, Choices; the sharded forms
in :mod:`galton.aggregator._engine` and :mod:`galton.workers` stand in for Judgments)."""

from __future__ import annotations

import numpy as np

__all__ = ["EncodedData"]


class EncodedData:
    """Int32 codes plus the vocabularies mapping them back to the user's ids, read-only.

    Every subclass has ``source_kind`` (the input's frame type, results go back in it), ``n_dropped``
    (rows removed by ``on_invalid="drop"`` or a duplicates policy), ``worker_names`` (the sorted
    worker vocabulary), ``n_judgments`` (rows the EM driver counts), ``len()`` (the same) and a
    one-line ``repr`` with the counts."""

    __slots__ = ()

    source_kind: str
    n_dropped: int
    worker_names: np.ndarray

    @property
    def n_workers(self) -> int:
        return int(self.worker_names.size)

    @property
    def n_judgments(self) -> int:  # overridden by each data type
        raise NotImplementedError

    def __len__(self) -> int:
        return self.n_judgments
