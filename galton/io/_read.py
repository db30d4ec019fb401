"""The one reader: every input (a path, stdin, a frame, a dict of arrays) to one Arrow table.

Every entry point — the CLI, :func:`galton.aggregate`, ``Judgments`` / ``Comparisons`` / ``Choices``,
the datasets and distributed ingest — reads through here, so the same rules hold everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
import pyarrow as pa

__all__ = ["FrameKind", "frame_kind", "to_arrow"]

FrameKind = Literal["pandas", "polars", "arrow", "dict"]


# --------------------------------------------------------------------------------------------------
# reading anything into an Arrow table
# --------------------------------------------------------------------------------------------------
def frame_kind(data: Any) -> FrameKind:
    """Which frame type results should be returned in for this input."""
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas":
        return "pandas"
    if mod == "polars":
        return "polars"
    if isinstance(data, (pa.Table, pa.RecordBatch)) or hasattr(data, "__arrow_c_stream__"):
        return "arrow"
    if isinstance(data, (str, os.PathLike)):
        return "polars"
    return "dict"


def _read_path(path: str | os.PathLike) -> pa.Table:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"input path {str(p)!r} does not exist")
    if p.is_dir():
        import pyarrow.dataset as ds

        files = sorted(str(f) for f in p.rglob("*.parquet") if not f.name.startswith((".", "_")))
        if not files:
            raise ValueError(f"directory {str(p)!r} holds no .parquet files")
        return ds.dataset(files, format="parquet").to_table()
    suffix = "".join(p.suffixes[-2:]).lower() if p.suffix in (".gz", ".zst") else p.suffix.lower()
    if suffix.startswith(".parquet") or suffix == ".pq":
        import pyarrow.parquet as pq

        return pq.read_table(p)
    if suffix.startswith((".jsonl", ".ndjson", ".json")):
        import pyarrow.json as pj

        return pj.read_json(p)
    if suffix.startswith((".csv", ".tsv", ".txt")):
        import polars as pl

        sep = "\t" if suffix.startswith(".tsv") else ","
        return pl.read_csv(p, separator=sep, infer_schema_length=None).to_arrow()
    raise ValueError(
        f"cannot tell the format of {str(p)!r} from its extension; use .csv, .tsv, .parquet, .jsonl "
        "or a directory of .parquet files"
    )


def to_arrow(data: Any) -> pa.Table:
    """Convert any supported input (frame, dict of arrays, path) to a pyarrow Table."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, (str, os.PathLike)):
        return _read_path(data)
    kind = frame_kind(data)
    if kind == "pandas":
        try:
            return pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            bad = _mixed_type_column(data)
            if bad is not None:
                raise _mixed_types_error(bad[0], bad[1]) from None
            raise ValueError(f"could not read the pandas frame: {exc}") from None
    if kind == "polars":
        return data.to_arrow()
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    if isinstance(data, dict):
        cols = {}
        for name, values in data.items():
            try:
                cols[name] = pa.array(np.asarray(values) if not isinstance(values, list) else values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                types = sorted({type(v).__name__ for v in values})
                raise _mixed_types_error(str(name), types) from None
        return pa.table(cols)
    raise TypeError(
        f"cannot read judgments from a {type(data).__name__}; pass a pandas or polars DataFrame, a "
        "pyarrow Table, a dict of arrays or a path to a CSV / Parquet / JSON-lines file"
    )


def _mixed_type_column(df: Any) -> tuple[str, list[str]] | None:
    for name in df.columns:
        col = df[name]
        if col.dtype == object:
            types = sorted({type(v).__name__ for v in col.dropna()})
            if len(types) > 1:
                return str(name), types
    return None


def _mixed_types_error(column: str, types: Sequence[str]) -> ValueError:
    return ValueError(
        f"column {column!r} mixes value types ({', '.join(types)}); convert it to one type first, "
        f"for example df[{column!r}] = df[{column!r}].astype(str)"
    )
