"""``galton models`` and ``galton datasets list | show | export``: what galton ships."""

from __future__ import annotations

import argparse
import inspect
import re
from typing import Any, TextIO

from ._common import OPTION_PARAMS, CLIError

__all__ = ["add_datasets", "add_models"]


def add_models(sub: Any) -> None:
    models = sub.add_parser("models", help="list the registered models, or describe one")
    models.add_argument("name", nargs="?", default=None, metavar="NAME",
                        help="a model name (or default: galton's default model): its description and the "
                        "parameters --param sets, with defaults")
    models.set_defaults(func=_cmd_models)


def add_datasets(sub: Any) -> None:
    data = sub.add_parser("datasets", help="datasets bundled with galton")
    dsub = data.add_subparsers(dest="datasets_command", metavar="ACTION")
    dsub.required = True
    dl = dsub.add_parser("list", help="bundled datasets with their size and licence")
    dl.set_defaults(func=_cmd_datasets_list)
    dshow = dsub.add_parser("show", help="print a dataset's README (source, licence, size)")
    dshow.add_argument("name", metavar="NAME")
    dshow.set_defaults(func=_cmd_datasets_show)
    dexp = dsub.add_parser("export", help="write a dataset's judgments (and its gold) to CSV or Parquet files")
    dexp.add_argument("name", metavar="NAME")
    dexp.add_argument("path", metavar="PATH", help="the judgments' destination (.csv, .tsv, .parquet, .pq or "
                      ".jsonl; - for CSV on standard output)")
    dexp.add_argument("--gold", default=None, metavar="FILE",
                      help="also write the gold labels (task, label) there, for `galton aggregate --gold`")
    dexp.add_argument("--experts", default=None, metavar="FILE",
                      help="also write the expert labels (task, expert, label) there, where the dataset has them")
    dexp.set_defaults(func=_cmd_datasets_export)


def _first_doc_line(cls: type) -> str:
    """The docstring's first sentence (its first paragraph up to a full stop; a summary that wraps
    was cut mid-sentence: "... fitted by")."""
    doc = (inspect.getdoc(cls) or "").strip()
    para = " ".join(doc.split("\n\n")[0].split())
    end = para.find(". ")
    return para if end < 0 else para[:end + 1]


def _describe_model(name: str, out: TextIO) -> int:
    """One model: its class, kind, docstring and its parameters with their defaults."""
    from .. import aggregator

    cls = aggregator.get(name)  # "default": galton's default model; an unknown name: ValueError listing them
    kind = getattr(cls, "kind", "categorical")
    out.write(f"{getattr(cls, 'registry_name', name)}: {cls.__module__.split('.')[0]}.{cls.__name__} ({kind} data)\n\n")
    out.write((inspect.getdoc(cls) or "").strip() + "\n\nParameters (galton aggregate ... --param KEY=VALUE):\n")
    params = aggregator.parameters(cls)
    # what --param sets and an option of galton aggregate too (--max-iter: max_iter, else n_iter)
    also = {"calibrate": "False by --uncalibrated", "random_state": "also set by --seed",
            "max_iter" if "max_iter" in params or "n_iter" not in params else "n_iter": "also set by --max-iter"}
    for key, par in params.items():
        default = "required" if par.default is par.empty else f"default {par.default!r}"
        option = f" (set by {OPTION_PARAMS[key]})" if key in OPTION_PARAMS else f" ({also[key]})" if key in also else ""
        out.write(f"  {key:<24}{default}{option}\n")
    return 0


def _cmd_models(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .. import aggregator

    if getattr(args, "name", None) is not None:
        return _describe_model(args.name, out)
    default = aggregator.default_name()
    rows = []
    for name in aggregator.names():
        cls = aggregator.get(name)
        mark = " (default)" if name == default else ""
        rows.append((name + mark, cls.__name__, _first_doc_line(cls)))
    w0 = max(len(r[0]) for r in rows) + 2
    w1 = max(len(r[1]) for r in rows) + 2
    for a, b, c in rows:
        out.write(f"{a:<{w0}}{b:<{w1}}{c}\n".rstrip() + "\n")
    return 0


def _sources_rows() -> dict[str, tuple[str, str]]:
    """name -> (size, licence) from the bundle's SOURCES.md table (empty when absent)."""
    from ..datasets._bundled import DATA_DIR

    path = DATA_DIR / "SOURCES.md"
    if not path.is_file():
        return {}
    header: list[str] | None = None
    rows: dict[str, tuple[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None  # a table ends at the first line that is not a table row
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
        elif not set("".join(cells)) <= set("-: ") and "dataset" in header:
            rec = dict(zip(header, cells))
            rows[rec["dataset"]] = (rec.get("size", ""), rec.get("licence", rec.get("license", "")))
    return rows


def _readme_facts(text: str) -> tuple[str, str]:
    """(size, licence) from a dataset README when SOURCES.md has no row for it."""
    size = ""
    m = re.search(r"^Size:\s*(.+?)\.?\s*$", text, flags=re.MULTILINE)
    if m:
        size = m.group(1)
    licence = ""
    m = re.search(r"\b(Apache-2\.0|MIT|(?:Clear )?BSD[\w .-]*?|CC[- ]BY[\w.-]*|GPL-?\d[\w.]*)\b", text)
    if m:
        licence = m.group(1).strip()
    return size, licence


def _cmd_datasets_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .. import datasets

    sources = _sources_rows()
    rows = [("dataset", "licence", "size")]
    for name in datasets.names():
        size, licence = sources.get(name, ("", ""))
        if not size or not licence:
            s2, l2 = _readme_facts(datasets.info(name))
            size, licence = size or s2, licence or l2
        rows.append((name, licence or "see README", size or "see README"))
    w0 = max(len(r[0]) for r in rows) + 2
    w1 = max(len(r[1]) for r in rows) + 2
    for a, b, c in rows:
        out.write(f"{a:<{w0}}{b:<{w1}}{c}\n")
    return 0


def _cmd_datasets_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .. import datasets

    text = datasets.info(args.name)
    out.write(text if text.endswith("\n") else text + "\n")
    return 0


def _cmd_datasets_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .. import datasets
    from ..io import plan_output, same_output, write_tables

    wanted = [(t, p) for t, p in (("judgments", args.path), ("gold", args.gold), ("experts", args.experts))
              if p is not None]
    # by file, not by name: a symbolic link is written through to its target (galton.io.resolved), and a
    # bind mount names one directory twice, so one output replaced another (ylink.csv -> y.csv with
    # --gold y.csv kept the gold only)
    targets = [p for _, p in wanted]
    if any(a == b == "-" or "-" not in (a, b) and same_output(a, b)
           for i, a in enumerate(targets) for b in targets[i + 1:]):
        raise CLIError("PATH, --gold and --experts must be different files (only one may be -)")
    have = datasets.load(args.name)  # read once; an unknown name is refused here, naming the datasets
    for table, path in wanted:  # everything is checked before anything is written
        if getattr(have, table) is None:
            raise CLIError(f"bundled dataset {args.name!r} has no {table} table; leave out --{table}")
        plan_output(path, inputs=[f"bundled:{args.name}"], what="PATH" if table == "judgments" else f"--{table}")
    report = err if "-" in targets else out  # standard output may carry the judgments
    written = write_tables([(getattr(have, table), path) for table, path in wanted])  # all of them or none
    for path in written:
        if str(path) != "-":
            report.write(f"{path}\n")
    return 0
