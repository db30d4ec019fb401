"""Real crowdsourcing datasets: bundled ones, the shared folder, and file IO.

Datasets whose licence allows it (Apache-2.0, MIT, BSD) ship inside the package as Parquet and
load offline with :func:`load`; their README, kept as attribution, is :func:`info`. Every other
dataset is read from a checkout of the shared datasets folder with :func:`load_shared`. Both
return a :class:`Dataset` ``(judgments, gold, experts)`` of polars, pandas or Arrow tables.

This subpackage is plain numpy/polars/pyarrow: it imports neither Ray nor the models.

Examples
--------
>>> from galton import datasets
>>> ds = datasets.load("act_cf")
>>> ds.judgments.columns
['task', 'worker', 'label']
>>> datasets.is_numeric("snow2008_affect_anger")
True
"""

from __future__ import annotations

from ._bundled import export, files, info, load, names
from ._dataset import Dataset, is_numeric
from ._shared import load_shared, shared_names, shared_root

__all__ = [
    "Dataset",
    "export",
    "files",
    "info",
    "is_numeric",
    "load",
    "load_shared",
    "names",
    "shared_names",
    "shared_root",
]
