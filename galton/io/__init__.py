"""galton's one reader and one writer.

- :mod:`galton.io._read` — every input (path, stdin, frame, dict of arrays) to one Arrow table, with
  the same rules for every entry point (CLI, API, datasets, distributed ingest).
- :mod:`galton.io._write` — every output written atomically (a hidden temporary, then a rename;
  several outputs of one command all renamed, or none), and results tables in the user's own ids
  and label values.
- :mod:`galton.io._replaceable` — which directories galton may replace (its marker).
- :mod:`galton.io._temporaries` — the writers' hidden temporaries, removed after an interrupt or at exit.
"""

from __future__ import annotations

from ._columns import input_columns
from ._read import FrameKind, frame_kind, input_files, is_series, read_input, to_arrow
from ._plan import OutputError, check_place, output_within, plan_output, same_output
from ._temporaries import remove_temporaries
from ._results import check_top, label_key, results_columns
from ._write import (
    FORMATS,
    MARKER,
    PARQUET_ZSTD_LEVEL,
    WRITERS,
    Outputs,
    WriteError,
    atomic_dir,
    check_replaceable,
    results_table,
    table_format,
    to_arrow_table,
    write_table,
    write_tables,
)

__all__ = [
    "FORMATS", "PARQUET_ZSTD_LEVEL", "FrameKind", "atomic_dir", "frame_kind", "input_columns", "input_files",
    "is_series", "check_top", "label_key", "read_input", "results_columns", "results_table", "MARKER", "OutputError",
    "check_place", "check_replaceable", "output_within", "plan_output", "same_output", "remove_temporaries",
    "table_format", "to_arrow",
    "to_arrow_table",
    "write_table", "write_tables", "Outputs", "WriteError", "WRITERS",
]
