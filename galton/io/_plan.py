"""Refuse an output before any work: the checks every galton output goes through first.

:func:`plan_output` runs before any data is read or any model is fitted. It refuses (with one line
that names the path and says why) an output that

- is one of the inputs, lies inside an input directory, or contains an input (symbolic links are
  resolved; hard links are caught with :func:`os.path.samefile`): gold files count as inputs, and so
  does the file standard input (``-``) is redirected from (``< in.csv``: compared by device and inode);
- is an existing directory galton did not write, a galton directory another command wrote (a
  simulation or a report where results go), or a galton result directory that also holds other
  files (:func:`galton.io._write.check_replaceable`) — galton never deletes those;
- is an existing directory where a file is expected, or a file where a directory is expected;
- is a device or a named pipe (results are written to a temporary file and renamed over the output,
  which would replace the pipe and leave its reader waiting);
- has no parent directory, or (for a file) an extension that selects no format;
- has a name longer than the file system takes, or lies in a directory where no file can be created
  (read-only, no permission): found here, not after the fit.

:func:`same_output` and :func:`output_within` tell a command that writes several outputs whether
two of them are one file (one path, a symbolic link to the other, one directory under two names: a
bind mount; two names that differ only in case where the file system ignores case,
:func:`ignores_case`) or one lies inside another's directory, comparing the directories themselves
(device and inode), not their names.

An existing *file* output is replaced (atomically): that is the normal overwrite of a results file.
An output that is a symbolic link is checked (and later written) as the path it points to: the
link's target is replaced and the link stays; a dangling link's target is created when its
directory exists.
"""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import sys
from pathlib import Path
from typing import Iterable

from ._replaceable import SPECIAL, check_replaceable
from ._temporaries import NAME_MAX, create_temp_file, probe_writable, untrack
from ._write import STDOUT, resolved, table_format

__all__ = ["OutputError", "plan_output", "input_paths", "check_place", "output_within", "same_output", "ignores_case"]

BUNDLED_PREFIX = "bundled:"


class OutputError(ValueError):
    """An output galton refuses to write (before any work is done)."""


def input_paths(inputs: Iterable[object]) -> list[str]:
    """Real paths of the inputs that are files or directories (globs expanded; a bundled dataset,
    ``bundled:NAME``, its files and the bundled data folder; stdin, frames and None skipped)."""
    found: list[str] = []
    for item in inputs:
        if not isinstance(item, (str, os.PathLike)):
            continue
        text = os.fspath(item)
        if text.startswith(BUNDLED_PREFIX):
            from ..datasets import files  # lazily: the datasets are read through galton.io

            try:
                paths = files(text[len(BUNDLED_PREFIX):])
            except ValueError:  # no such dataset: its reader says so, naming those there are
                continue
            # its files, and the folder of every bundled dataset: an output there broke another one
            found += [os.path.realpath(p) for p in paths] + [os.path.realpath(p.parent.parent) for p in paths[:1]]
            continue
        if text in ("", STDOUT):
            continue
        matches = glob.glob(text, recursive=True) if glob.has_magic(text) else [text]
        found += [os.path.realpath(m) for m in matches if os.path.lexists(m)]
    return found


def _stdin_clash(dest: Path, directory: bool) -> str | None:
    """Why the output ``dest`` may not be written when standard input (``-``) is an input: it was
    redirected from that very file (``< in.csv``, a link to it included), or from a file inside that
    directory output. Standard input from a pipe or a terminal is no file to replace; nor is one
    replaced in the process by an object in memory, which is what ``-`` then reads."""
    try:
        st = os.fstat(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):  # closed, or no file
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    said = "is the input (standard input, redirected from it)"
    try:
        if os.path.samestat(os.stat(dest), st):
            return said
    except OSError:
        return None
    if directory and dest.is_dir():
        for root, _, files in os.walk(dest):
            for name in files:
                with contextlib.suppress(OSError):
                    if os.path.samestat(os.stat(os.path.join(root, name)), st):
                        return f"contains the input (standard input, redirected from {name!r} in it)"
    return None


def _within(child: str, parent: str) -> bool:
    try:
        return os.path.commonpath([child, parent]) == parent
    except ValueError:  # different drives (Windows)
        return False


def _clash(out: str, out_real: str, inp_real: str) -> str | None:
    """Why the output ``out`` (real path ``out_real``) may not be written, given one input."""
    if out_real == inp_real:
        return f"is the input {inp_real!r}"
    if os.path.lexists(out):
        try:
            if os.path.samefile(out, inp_real):
                return f"is the input {inp_real!r} (a link to it)"
        except OSError:
            pass
    if os.path.isdir(inp_real) and _within(out_real, inp_real):
        return f"lies inside the input directory {inp_real!r}"
    if _within(inp_real, out_real):
        return f"contains the input {inp_real!r}"
    return None


def _entry(path: str | os.PathLike[str]) -> tuple[object, ...]:
    """The directory entry an output is written to, whatever name it is given: (device, inode of its
    directory, name); its real path where that directory cannot be looked at."""
    dest = resolved(path)
    try:
        st = os.stat(dest.parent)
    except OSError:
        return (os.path.abspath(dest),)
    return st.st_dev, st.st_ino, dest.name


def same_output(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether the outputs ``a`` and ``b`` are one file, the second written replacing the first: one
    path, a symbolic link to the other, one directory under two names (a bind mount, which no
    path comparison sees), or two names that differ only in case on a file system that ignores case
    (macOS's and Windows' defaults: R.csv is r.csv there, written or not). Two hard links are two
    entries: each output replaces its own."""
    one, two = _entry(a), _entry(b)
    if one == two:
        return True
    if len(one) == 1 or len(two) == 1:  # a directory not made yet: by name
        return (len(one) == len(two) and str(one[0]).casefold() == str(two[0]).casefold()
                and ignores_case(Path(str(one[0]))))
    if one[:2] != two[:2]:
        return False
    try:  # both written: a file system that ignores case takes R.csv for r.csv
        return os.path.samefile(resolved(a), resolved(b))
    except OSError:  # not written yet: samefile cannot tell
        return str(one[2]).casefold() == str(two[2]).casefold() and ignores_case(resolved(a))


def ignores_case(path: str | os.PathLike[str]) -> bool:
    """Whether the file system where ``path`` goes takes two names that differ only in case for one
    (macOS's and Windows' defaults): a hidden file is created in ``path``'s nearest existing folder,
    looked up under its name with the case swapped, and removed. False where none can be created."""
    folder = Path(os.path.abspath(path)).parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        fd, probe = create_temp_file(folder / "case", ".probe")
    except OSError:
        return False
    try:
        os.close(fd)
        return os.path.lexists(probe.with_name(probe.name.swapcase()))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
        untrack(probe)


def output_within(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path`` lies inside the directory ``folder`` (below it by its real path, or below a
    directory that is ``folder`` under another name: a bind mount)."""
    real, top = os.path.realpath(path), os.path.realpath(folder)
    if real != top and _within(real, top):
        return True
    try:
        st = os.stat(top)
    except OSError:
        return False
    for parent in Path(real).parents:
        try:
            if os.path.samestat(os.stat(parent), st):
                return True
        except OSError:
            continue
    return False


def _check_name(dest: Path, text: str, what: str) -> None:
    """Refuse, before the fit rather than after it, a name too long for the file system."""
    try:
        limit = os.pathconf(dest.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - Windows
        limit = NAME_MAX
    size = len(os.fsencode(dest.name))
    if size > limit:
        raise OutputError(f"{what} {text!r}: its name is {size} bytes long, more than the {limit} a file "
                          "name may have here; choose a shorter name (nothing was read or written)")


def check_place(path: str | os.PathLike[str], what: str = "--out", *, inside: bool = False,
                said: str = "nothing was read or written") -> None:
    """Before a long run whose output directory ``path`` is written at its end (a study, a
    simulation): refuse a place that takes no new file, probing ``path``'s nearest folder that
    exists (the missing ones are created when the output is written). ``inside``: the files go into
    ``path`` itself (checkpoints), which is probed when it exists. ``said``: what the message ends with."""
    dest = Path(os.path.abspath(path))
    if inside:
        dest = dest / "probe"
    while not dest.parent.exists() and dest.parent != dest.parent.parent:
        dest = dest.parent
    if dest.parent.is_dir():
        _check_place(dest, os.fspath(path), what, said)


def _check_place(dest: Path, text: str, what: str, said: str = "nothing was read or written") -> None:
    """Refuse, before the fit rather than after it, a directory that takes no new file (read-only,
    no permission: a temporary is created and removed there, which also works for root, whom
    ``os.access`` tells yes on a read-only mount)."""
    try:
        probe_writable(dest)
    except OSError as exc:
        raise OutputError(f"{what} {text!r}: cannot write in {str(dest.parent)!r} ({exc.strerror or exc}); "
                          f"choose another directory ({said})") from None


def plan_output(path: str | os.PathLike[str], *, inputs: Iterable[object] = (), directory: bool = False,
                what: str = "output", kind: str | None = None) -> Path | None:
    """Check that ``path`` may be written, before any work; returns it (None for stdout, ``"-"``).

    Parameters
    ----------
    path : path-like
        The output: a file (``.parquet``, ``.pq``, ``.csv``, ``.tsv``), a directory
        (``directory=True``) or ``"-"`` for standard output.
    inputs : iterable
        Everything the command reads (input, gold, ...): paths, globs, ``"-"`` for standard input
        (refused as the output when redirected from it); other objects are skipped.
    directory : bool
        The output is a directory (replaced only if galton wrote it).
    what : str
        How to name the output in a message (``"--output"``).
    kind : str, optional
        For a directory: what is written (a key of :data:`galton.io.WRITERS`); an existing galton
        directory of another kind is refused (:func:`galton.io.check_replaceable`).

    Raises
    ------
    OutputError
        When the output would overwrite, delete or mix with an input or a directory galton did not
        write (the message names the path and why), or has no format.
    FileNotFoundError
        When the output's parent directory does not exist.
    """
    text = os.fspath(path)
    if text == STDOUT:
        return None
    out = Path(text)
    if not directory:
        try:
            table_format(text)  # not out: Path drops the separator of out.csv/
        except ValueError as exc:
            raise OutputError(f"{what} {text!r}: {exc}") from None
    out_real = os.path.realpath(out)
    dest = resolved(out)  # a symbolic link's target is what gets written (see galton.io._write.resolved)
    parent = dest.parent
    if not parent.is_dir():
        via = "" if dest == out else f" (a link to {str(dest)!r})"
        raise FileNotFoundError(
            f"the directory of {what} {text!r}{via} does not exist; create {str(parent)!r} first"
        )
    _check_name(dest, text, what)
    inputs = list(inputs)
    whys = [_clash(text, out_real, inp) for inp in input_paths(inputs)]
    if any(isinstance(i, str) and i == STDOUT for i in inputs):  # "-": standard input, maybe < a file
        whys.append(_stdin_clash(dest, directory))
    why = next((w for w in whys if w is not None), None)
    if why is not None:
        raise OutputError(f"{what} {text!r} {why}; choose another path (nothing was read or written)")
    if directory:
        try:
            check_replaceable(dest, kind)
        except FileExistsError as exc:
            raise OutputError(f"{what}: {exc}") from None
    elif dest.is_dir():
        raise OutputError(f"{what} {text!r} is a directory; give a file name")
    elif dest.exists() and not dest.is_file():  # a FIFO's reader got nothing: it was replaced by a file
        raise OutputError(f"{what} {text!r} exists and is not a regular file ({SPECIAL}); choose another output, "
                          "or write CSV to standard output (-o -) and redirect it there")
    _check_place(dest, text, what)
    return out
