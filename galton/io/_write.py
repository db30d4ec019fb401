"""Output writers: result tables to Parquet / CSV / TSV, written atomically.

Every writer here follows one rule: a reader never sees a half-written output, and a failed write
leaves nothing behind. A file goes to a hidden temporary name (``.<name>.<random>.tmp``) in the
destination's own directory, is flushed and fsync'ed, and then replaces the destination with
:func:`os.replace` (atomic on POSIX and Windows within one file system). pyarrow, Spark and Ray
skip names that start with ``"."`` or ``"_"`` when they read a directory, so neither a temporary
left by a crash nor the marker of a galton directory (:data:`MARKER`) is read as data. polars 2 does
not: it reads every file of a bare directory, hidden ones included, and refuses a directory whose
files have different extensions (``pl.read_parquet("out")`` fails on the marker); give it
``pl.read_parquet("out/*.parquet")``, which matches neither the marker nor a temporary (``.tmp``).
:func:`atomic_dir` does the same for outputs that are a whole directory (sharded Parquet written by
Ray workers, for example).

A command that writes several outputs (results and a worker report, scores and pair
probabilities) writes them all to their temporaries first and renames them only when every one is
written (:class:`Outputs`, :func:`write_tables`): a failure (a full disk, a file size limit) leaves
every old output as it was. The renames themselves are one after the other: only a process killed
outright (SIGKILL, a power cut) between two of them leaves new and old outputs side by side.

:func:`results_table` turns a fitted model into one tidy table in the user's own ids and label
values: ``task, label, confidence, p_<label>...``.

Examples
--------
>>> import galton, tempfile, os
>>> from galton.io import results_table, write_table
>>> model = galton.DawidSkene().fit(galton.load_dataset("act_cf").judgments)
>>> table = results_table(model)
>>> table.column_names[:3]
['task', 'label', 'confidence']
>>> path = write_table(table, os.path.join(tempfile.mkdtemp(), "results.parquet"))
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa

from .._signals import deferred
from ._errors import WriteError, stdout_error
from ._formats import FORMATS, PARQUET_ZSTD_LEVEL, TableFormat, file_path, table_format, to_arrow_table
from ._replaceable import MARKER, SPECIAL, WRITERS, check_replaceable, write_marker
from ._parquet import without_reader_metadata
from ._results import results_table
from ._temporaries import (RENAME_EXCHANGE, RENAME_NOREPLACE, create_temp_file, fsync_dir, fsync_tree, keep_mode,
                           remove_temporaries, remove_temporaries_of, rename_with, temp_name, track, untrack)

__all__ = [
    "FORMATS", "MARKER", "PARQUET_ZSTD_LEVEL", "STDOUT", "WRITERS", "Outputs", "WriteError", "atomic_dir",
    "check_replaceable",
    "remove_temporaries", "resolved", "results_table", "table_format", "to_arrow_table", "write_table", "write_tables",
]

#: The output path meaning "standard output" (CSV).
STDOUT = "-"


# --------------------------------------------------------------------------------------------------
# atomic files and directories
# --------------------------------------------------------------------------------------------------
def resolved(path: str | os.PathLike[str]) -> Path:
    """Where an output really goes: ``path`` itself, or, when it (or a folder above it) is a symbolic
    link, the path it points to. The link's target is replaced and the link stays, as a shell's ``>``
    does (renaming over the link replaced the link with a file, its target keeping the old results);
    a dangling link's target is created."""
    path = Path(path)
    real = os.path.realpath(path)
    return path if real == os.path.abspath(path) else Path(real)


def _need_parent(path: Path, dest: Path) -> None:
    """Refuse an output ``path`` (really ``dest``, a link's target) whose directory does not exist."""
    if not dest.parent.is_dir():
        via = "" if dest == path else f" (a link to {str(dest)!r})"
        raise FileNotFoundError(
            f"the directory of {str(path)!r}{via} does not exist; create {str(dest.parent)!r} first"
        )


def _check_parent(path: Path, dest: Path) -> None:
    """Refuse a file output ``path`` (really ``dest``) that cannot be written: no directory, a
    directory, a device or a pipe."""
    _need_parent(path, dest)
    if dest.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory; give a file name")
    if dest.exists() and not dest.is_file():
        raise FileExistsError(f"{str(path)!r} exists and is not a regular file ({SPECIAL}); choose another path")


def _write_to(fh: Any, table: pa.Table, fmt: TableFormat) -> None:
    """Write ``table`` to the open binary file ``fh`` in format ``fmt``."""
    if fmt not in FORMATS.values():  # format="xlsx" wrote CSV into out.parquet
        raise ValueError(f"format must be one of {', '.join(sorted(set(FORMATS.values())))}, not {fmt!r}")
    if fmt != "parquet":  # polars' own "CSV format does not support nested data", or a Rust panic for bytes
        odd = [f"{f.name!r} ({f.type})" for f in table.schema if pa.types.is_binary(f.type)
               or pa.types.is_large_binary(f.type) or (fmt != "jsonl" and pa.types.is_nested(f.type))]
        if odd:
            raise ValueError(f"column {', '.join(odd[:3])} cannot be written as {fmt}; write .parquet (or .jsonl "
                             "for lists), or convert the column to text")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        # not the files' metadata (a filtered table named their rows); no dictionary for floats (nearly all distinct)
        pq.write_table(without_reader_metadata(table), fh, compression="zstd", compression_level=PARQUET_ZSTD_LEVEL,
                       use_dictionary=[f.name for f in table.schema if not pa.types.is_floating(f.type)])
    else:
        import polars as pl

        frame = pl.from_arrow(table)
        if fmt == "jsonl":  # one object a row; floats that read back exactly
            frame.write_ndjson(fh)
        else:  # plain CSV (quotes only where needed, shortest round-trip floats, true/false)
            durations = [c for c, t in frame.schema.items() if isinstance(t, pl.Duration)]
            if durations:  # polars writes no duration to CSV ("consider JSON", after the fit): ISO 8601 text
                frame = frame.with_columns(pl.col(c).dt.to_string("iso") for c in durations)
            frame.write_csv(fh, separator="\t" if fmt == "tsv" else ",")


def _write_stdout(arrow: pa.Table, fmt: TableFormat) -> None:
    """Write ``arrow`` to standard output (CSV unless ``fmt`` says otherwise); a failure says so
    ("cannot write to standard output: No space left on device"), a closed pipe stays one."""
    try:
        sys.stdout.flush()
        fh = getattr(sys.stdout, "buffer", None)  # None: a text stream only (Jupyter's, redirect_stdout's)
        if fh is None and fmt == "parquet":
            raise ValueError("standard output here takes text only (it has no binary buffer: Jupyter, "
                             "contextlib.redirect_stdout); write Parquet to a file, or choose csv, tsv or jsonl")
        out = io.BytesIO() if fh is None else fh
        _write_to(out, arrow, fmt)
        if fh is None:  # the text, decoded (polars writes UTF-8)
            sys.stdout.write(out.getvalue().decode("utf-8"))
        (sys.stdout if fh is None else fh).flush()
    except OSError as exc:  # polars: "No space left on device (os error 28)", no word of where
        error = stdout_error(exc, ())
        if error is exc:  # a closed pipe: as it is
            raise
        raise error from exc


@dataclass
class _Staged:
    """One output written under its temporary name, waiting for :meth:`Outputs.commit`."""

    shown: str  #: the output as the caller named it
    dest: Path  #: where it goes
    tmp: Path  #: its temporary, next to ``dest``
    kind: str | None = None  #: a directory's kind (:data:`WRITERS`)
    directory: bool = False
    overwrite: bool = True  #: False: a directory that appeared meanwhile is not replaced


class Outputs:
    """Several outputs replaced together, or none: each is written to a hidden temporary next to its
    destination; only when every one is written are they renamed into place, in the order given.

    ``with Outputs() as outs:`` — :meth:`table` writes a file, :meth:`directory` builds a directory;
    when the block ends normally the outputs are renamed into place (:meth:`commit`); when it raises,
    every temporary is removed and every destination is left as it was. A SIGINT / SIGTERM that
    arrives in the ``galton`` command while the renames run is taken once they are done. (A process
    killed outright between two renames still leaves some outputs new and some old.)
    """

    def __init__(self) -> None:
        self._staged: list[_Staged] = []
        self._stdout: list[tuple[pa.Table, TableFormat]] = []

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def table(self, table: Any, path: str | os.PathLike[str], *, format: TableFormat | None = None) -> Path:
        """Write ``table`` to a temporary for ``path`` (``"-"``: to standard output, at the commit)."""
        if str(path) == STDOUT:
            self._stdout.append((to_arrow_table(table), format or "csv"))
            return Path(STDOUT)
        path = file_path(path)  # not out.csv/: a directory's name
        fmt = format or table_format(path)
        arrow = to_arrow_table(table)
        dest = resolved(path)
        _check_parent(path, dest)
        try:
            fd, tmp = create_temp_file(dest)
            self._staged.append(_Staged(str(path), dest, tmp))
            with os.fdopen(fd, "wb") as fh:
                _write_to(fh, arrow, fmt)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:  # "File too large (os error 27)", or a temporary's name: say which output
            raise WriteError(path, exc) from exc
        return path

    @contextlib.contextmanager
    def directory(self, path: str | os.PathLike[str], *, overwrite: bool = True,
                  kind: str | None = None) -> Iterator[Path]:
        """Build a directory output: yields an empty temporary directory to write into (see
        :func:`atomic_dir`); the marker is added and the files fsync'ed when the block ends."""
        path = Path(path)
        dest = resolved(path)  # a link to a directory: its target is replaced, the link stays
        _need_parent(path, dest)
        if os.path.lexists(dest) and not overwrite:
            raise FileExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it")
        check_replaceable(dest, kind)
        tmp = temp_name(dest, ".tmp")
        track(tmp)
        self._staged.append(_Staged(str(path), dest, tmp, kind, directory=True, overwrite=overwrite))
        try:
            tmp.mkdir()
            keep_mode(tmp, dest, stat.S_IRWXU)  # a 0700 directory's results are never 0755, even while built
        except OSError as exc:
            raise WriteError(path, exc) from exc
        try:
            yield tmp
        except (ConnectionError, TimeoutError):  # a cluster's, not the output's
            raise
        except OSError as exc:  # a write into the temporary directory (or at its close, in a Ray task:
            raise WriteError(path, exc) from exc  # no file name), named as the output
        try:
            write_marker(tmp, kind)
            fsync_tree(tmp)
            keep_mode(tmp, dest)
        except OSError as exc:
            raise WriteError(path, exc) from exc

    def commit(self) -> None:
        """Standard output first, then every output renamed into place; nothing is left to discard.
        A reader of standard output that left early (``| head``) is no failure of the files: they are
        still renamed into place, then the closed pipe is raised (the outputs were left stale, silently)."""
        closed: OSError | None = None
        try:
            try:
                for arrow, fmt in self._stdout:  # not deferred: a reader that never reads must not block Ctrl-C
                    _write_stdout(arrow, fmt)
            except OSError as exc:  # another failure: nothing replaced, and its error says so
                if stdout_error(exc, ()) is not exc:
                    raise
                closed = exc
            with deferred():  # a Ctrl-C now would leave some outputs new and some old
                done: list[str] = []
                for staged in self._staged:
                    try:
                        if staged.directory:
                            _swap_dir(staged)
                        else:
                            os.replace(staged.tmp, staged.dest)
                    except OSError as exc:  # written, but not renamed: an immutable or busy (mounted) output
                        raise WriteError(staged.shown, exc, done, _remedy(staged, exc)) from exc
                    untrack(staged.tmp)
                    done.append(staged.shown)
                for parent in dict.fromkeys(s.dest.parent for s in self._staged):
                    fsync_dir(parent)
                self._staged, self._stdout = [], []
        except BaseException:
            self.discard()
            raise
        if closed is not None:
            raise closed

    def discard(self) -> None:
        """Remove every temporary not yet renamed (a directory set aside is moved back)."""
        staged, self._staged, self._stdout = self._staged, [], []
        remove_temporaries_of([s.tmp for s in staged], restore=[s.dest for s in staged if s.directory])


def _remedy(staged: _Staged, exc: OSError) -> str:
    """What to do when a complete output could not be renamed into place."""
    if exc.errno is None:  # galton's own words (another process replaced it): they say what to do
        return ""
    if os.path.lexists(staged.dest):
        return (f"the new output was complete, but what is at {staged.shown!r} cannot be replaced: immutable, a "
                "mount point, or in another file system's layer; remove it, or write to another path")
    return "the new output was complete, but could not be put in place: write to another path"


def _swap_dir(staged: _Staged, tries: int = 3) -> None:
    """Move the built directory ``staged.tmp`` to ``staged.dest``, replacing a galton directory there.

    Where the system can (Linux: ``renameat2``), an existing destination is swapped with the new one
    in one atomic step, so it is never missing, not even after a SIGKILL (the previous output is then
    left under the temporary's hidden name); elsewhere it takes two renames (old aside, new in). A
    directory another process put in place or took away meanwhile (two commands writing one output)
    is checked again and replaced: the last writer wins, unless ``overwrite`` was False."""
    path, tmp = staged.dest, staged.tmp
    for _ in range(tries):
        try:
            if not os.path.lexists(path):
                if not rename_with(tmp, path, RENAME_NOREPLACE):
                    os.rename(tmp, path)  # fails on a directory another process made meanwhile
                return
            if not staged.overwrite:  # checked before the block; another process wrote it meanwhile
                raise FileExistsError(f"{staged.shown!r} was written by another process meanwhile; pass "
                                      "overwrite=True (the command line's --overwrite) to replace it")
            check_replaceable(path, staged.kind)  # it may have changed while the block ran
            if rename_with(tmp, path, RENAME_EXCHANGE):
                shutil.rmtree(tmp, ignore_errors=True)  # the previous output, now under the temporary's name
                return
            _two_renames(tmp, path)
            return
        except OSError as exc:  # another process wrote or replaced the same output at this moment
            if exc.errno not in (errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY) or not os.path.isdir(tmp):
                raise
    raise OSError(f"another process replaced {staged.shown!r} at the same time, {tries} times in a row; run again")


def _two_renames(tmp: Path, path: Path) -> None:
    """Replace the directory ``path`` by ``tmp`` in two renames (where no atomic swap exists)."""
    old = temp_name(path, ".old")
    track(old, restore_to=path)  # an interrupt between the renames puts it back
    try:
        os.replace(path, old)
    except BaseException:
        untrack(old)
        raise
    try:
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise  # the caller puts the old one back
        shutil.rmtree(old, ignore_errors=True)  # another process's output took its place: replace that one
        untrack(old)
        raise
    shutil.rmtree(old, ignore_errors=True)
    untrack(old)


def write_table(table: Any, path: str | os.PathLike[str], *, format: TableFormat | None = None) -> Path:
    """Write a table to Parquet, CSV, TSV or JSON lines (chosen by extension), atomically.

    The table is written to a hidden temporary file in the destination directory, flushed and
    fsync'ed, and moved over ``path`` with :func:`os.replace`. If anything fails (or the process is
    interrupted) the temporary file is removed and an existing ``path`` is left untouched. A
    replaced file keeps its mode (and, where allowed, owner and group); a symbolic link's target is
    written and the link kept (:func:`resolved`).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        The table to write. Parquet keeps every column type; CSV keeps what text can (integers,
        floats, booleans and strings that do not look like numbers read back as the same type).
        A pandas index is written as columns when it is data (named, or ids: a Series' index
        unless a default ``RangeIndex``, so ``BradleyTerry().scores_`` keeps its items), not when it
        is a frame's unnamed integer row positions (``res[res.confidence > 0.99]``) or a column
        already (:func:`to_arrow_table`).
    path : path-like
        Destination ending in ``.parquet``, ``.pq``, ``.csv``, ``.tsv`` or ``.jsonl`` / ``.ndjson``
        (one JSON object a row); its directory must exist.
        ``"-"`` writes to standard output (CSV unless ``format`` says otherwise; one that takes
        text only, as Jupyter's, takes CSV, TSV or JSON lines, not Parquet).
    format : {"parquet", "csv", "tsv", "jsonl"}, optional
        The format, instead of the one the extension selects.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If the extension selects no format, a pandas index level named as a column holds other values,
        or Parquet is for a standard output that takes text only.
    FileNotFoundError
        If the destination directory does not exist.
    FileExistsError
        If ``path`` is a device or a named pipe (a rename would replace it).
    WriteError
        (an OSError) If the write or the rename fails: the message names ``path``, the reason and
        says that nothing was replaced.
    TypeError
        If ``table`` is not a supported table type.
    """
    if str(path) == STDOUT:
        _write_stdout(to_arrow_table(table), format or "csv")
        return Path(STDOUT)
    with Outputs() as outs:
        written = outs.table(table, path, format=format)
    return written


def write_tables(tables: Iterable[tuple[Any, str | os.PathLike[str]]]) -> list[Path]:
    """Write several tables, each as :func:`write_table` does, all or none: every one goes to its
    temporary first, and only when all are written are they renamed into place (see :class:`Outputs`).

    Parameters
    ----------
    tables : iterable of (table, path)
        The tables and their destinations (``"-"``: standard output, written before the renames;
        a reader of it that leaves early does not keep the others from being renamed into place).

    Returns
    -------
    list of pathlib.Path
        The paths, in the order given.
    """
    with Outputs() as outs:
        return [outs.table(table, path) for table, path in tables]


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = True, kind: str | None = None) -> Iterator[Path]:
    """Build a directory output under a hidden temporary name; move it into place at the end.

    ``with atomic_dir("out/results") as tmp:`` yields an empty directory next to the destination
    (``out/.results.<random>.tmp``); write everything into it. When the block ends normally, the
    marker :data:`MARKER` (the list of files written) is added, the files are fsync'ed and the
    directory is renamed to ``path``. When the block raises (or is interrupted), the temporary
    directory is deleted and an existing ``path`` is left untouched.

    An existing ``path`` is replaced only when it is empty or a directory galton wrote that holds
    nothing else (:func:`check_replaceable`), checked before the block runs and again before the
    swap. On Linux the new directory and the old one are swapped in one atomic step (``renameat2``
    with ``RENAME_EXCHANGE``), then the old one is deleted: ``path`` is never absent, not even after a
    SIGKILL. Where that swap does not exist (other systems, some network file systems) replacing
    takes two renames (old out of the way under ``.<name>.<random>.old``, new in): an interrupt
    between them puts the old one back, but a SIGKILL there leaves ``path`` absent and the old one
    under that hidden name (rename it back). ``path`` is never half-written.

    Parameters
    ----------
    path : path-like
        Destination directory; its parent must exist.
    overwrite : bool, default True
        Replace an existing (galton) ``path``; with False an existing ``path`` raises
        ``FileExistsError`` before anything is written.
    kind : {"results", "simulation", "report"}, optional
        What is written (a key of :data:`WRITERS`), recorded in the marker; an existing ``path`` is
        then replaced only when it is of the same kind.

    Yields
    ------
    pathlib.Path
        The temporary directory to write into.
    """
    with Outputs() as outs, outs.directory(path, overwrite=overwrite, kind=kind) as tmp:
        yield tmp
