"""``galton bench`` and ``galton simulate``: the study and simulation subcommands of :mod:`galton.cli`."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import re
from pathlib import Path
from typing import Any, Sequence, TextIO

from ._common import CLIError, check_readable, one_line, seed

__all__ = ["add_bench", "add_simulate"]


def add_bench(sub: Any) -> None:
    b = sub.add_parser(
        "bench", help="does the crowd beat the expert? accuracy against k judgments per task, with a report",
        description="Run a crowd-versus-expert study and write tables (Parquet, Markdown), PNG plots and "
        "index.html to --out. Without STUDY: the default study on bundled data (a few minutes). A model that "
        "fails on a source is reported in the report's fits table (tables/runs); when no crowd curve was produced "
        "(no tables/curves: every fit of every model failed, or the crowd judged no gold task), the report is "
        "still written and the command exits with status 1.",
    )
    b.add_argument("study", nargs="?", default=None, metavar="STUDY",
                   help="study file (.toml) or a study shipped with galton "
                   "(default, sheng, full, preferences, allocation)")
    b.add_argument("--study", dest="study_option", default=None, metavar="STUDY",
                   help="the same as STUDY: e.g. --study preferences (crowd vs one expert ranker, Kendall tau)")
    b.add_argument("--datasets", action="append", metavar="NAMES",
                   help="comma-separated datasets (bundled or shared names, shared:NAME or bundled:NAME for that "
                   "copy, 'bundled' or 'all' but with --study allocation, which takes names only); replace the study's")
    b.add_argument("--models", action="append", metavar="NAMES", help="comma-separated models ('default': galton's)")
    b.add_argument("--k", default=None, metavar="GRID",
                   help="judgments per task, e.g. 1,2,3,5,10 or 1-10 (replaces the study's k, [simulation] k included)")
    b.add_argument("--out", "-o", default="galton-bench", metavar="DIR",
                   help="report directory (default: galton-bench; replaced only if it is a galton bench report)")
    b.add_argument("--seed", type=seed, default=None, metavar="N", help="seed of every random stream")
    b.add_argument("--repeats", type=int, default=None, metavar="N", help="draws of k judgments per k")
    b.add_argument("--bootstrap", type=int, default=None, metavar="N", help="bootstrap replicates")
    b.add_argument("--tie-break", choices=("random", "low"), default=None, help="majority-vote ties")
    b.add_argument("--engine", choices=("local", "ray"), default=None,
                   help="run the jobs in this process or as Ray tasks (default: the study file's engine, ray in "
                   "the studies shipped with galton; --study allocation: local); without Ray installed the default "
                   "runs in this process and ray is refused")
    b.add_argument("--ray-address", default=None, metavar="ADDR", help="Ray cluster (else RAY_ADDRESS, else local)")
    b.add_argument("--no-plots", action="store_true", help="tables and index.html only")
    b.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    b.set_defaults(func=_cmd_bench)


def add_simulate(sub: Any) -> None:
    from ..datasets.simulate import CrowdConfig

    s = sub.add_parser(
        "simulate", help="simulate a crowd of known quality and write it as Parquet (Ray tasks)",
        description="Simulate judgments of a crowd in parallel Ray tasks and write judgments/, truth/, "
        "workers.parquet and config.json to --out. The options are the fields of "
        "galton.datasets.simulate.CrowdConfig (its docstring describes the model).",
    )
    s.add_argument("config", nargs="?", default=None, metavar="CONFIG",
                   help="TOML file of CrowdConfig fields (top level or a [crowd] table, not both), or the config.json "
                        "an earlier run wrote (the same crowd again); flags override it")
    s.add_argument("--out", "-o", required=True, metavar="DIR", help="output directory")
    for f in dataclasses.fields(CrowdConfig):
        flag = "--" + f.name.replace("_", "-")
        required = f.default is dataclasses.MISSING
        default = None if required else f.default
        choices = re.findall(r"['\"](\w+)['\"]", str(f.type)) if str(f.type).startswith("Literal") else None
        kind = "list" if f.name in ("judgments_per_task", "class_prior") else type(default).__name__
        hint = {"list": "N|MIN,MAX" if f.name == "judgments_per_task" else "P0,P1,...", "int": "N",
                "float": "X", "NoneType": "N"}.get(kind, "NAME")
        s.add_argument(flag, dest=f"cfg_{f.name}", default=None, metavar=None if choices else hint,
                       choices=choices or None,
                       help="required (here or in CONFIG)" if required else f"default: {default}")
    s.add_argument("--files", type=int, default=None, metavar="N",
                   help="part files per table, at most one per chunk of --tasks-per-chunk tasks (fewer are "
                   "written when there are fewer chunks)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out that galton simulate wrote (never another directory)")
    s.add_argument("--ray-address", default=None, metavar="ADDR", help="Ray cluster (else RAY_ADDRESS, else local)")
    s.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    s.set_defaults(func=_cmd_simulate)


def _names(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else [v.strip() for item in values for v in item.split(",") if v.strip()]


def _cmd_bench(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..benchmarks.report import check_out, summary, write_report
    from ..benchmarks.study import parse_k, run_study, with_options

    if args.ray_address is not None and args.engine == "local":
        raise CLIError("--ray-address needs --engine ray")
    if (args.engine == "ray" or args.ray_address is not None) and not _ray_installed():  # as aggregate refuses
        asked = "--engine ray" if args.engine == "ray" else "--ray-address"
        raise CLIError(f"{asked} needs Ray, which is not installed: pip install 'galton[ray]' (or leave it out: "
                       "the study then runs in this process)")
    _memory_limit_readable()  # a bad GALTON_MAX_MEMORY failed every fit, then wrote a report of failures
    if args.study is not None and args.study_option is not None and args.study != args.study_option:
        raise CLIError(f"two studies given: {args.study!r} and --study {args.study_option!r}; give one")
    name = args.study if args.study is not None else args.study_option
    if name == "allocation":  # the replay study of galton.allocate has its own runner
        return _bench_allocation(args, out)
    study = with_options(
        _load_study(name), datasets=_names(args.datasets), only_datasets=name is None,
        models=None if args.models is None else tuple(_names(args.models) or ()),
        k=None if args.k is None else parse_k(args.k), seed=args.seed, repeats=args.repeats,
        bootstrap=args.bootstrap, tie_break=args.tie_break)
    check_out(args.out)  # fail before the run, not after
    if not args.no_plots and importlib.util.find_spec("matplotlib") is None:
        raise CLIError("the study's plots need matplotlib, which is not installed: "
                       "pip install 'galton[report]', or run with --no-plots for tables only")
    engine = args.engine or ("ray" if args.ray_address else None)
    if engine is None and study.engine == "ray" and not _ray_installed():  # the study file's default: local
        engine = "local"
        if not args.quiet:
            err.write("galton: warning: Ray is not installed, so the study runs in this process "
                      "(pip install 'galton[ray]' runs its jobs as Ray tasks)\n")
    result = run_study(study, engine=engine, address=args.ray_address, progress=False if args.quiet else None)
    path = write_report(result, args.out, plots=not args.no_plots)
    if not args.quiet:
        out.write(summary(result, path))
    return _none_fitted(result, path, err)


def _ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def _memory_limit_readable() -> None:
    """Refuse, before any work, a ``GALTON_MAX_MEMORY`` that is no size (as aggregate and allocate
    do): a study read it in every fit, and each failed with it."""
    from ..aggregator._memory import current_limit

    try:
        current_limit()
    except ValueError as exc:
        raise CLIError(one_line(exc)) from None


def _none_fitted(result: Any, path: Any, err: TextIO) -> int:
    """1, with a line on ``err`` naming the cause, when no crowd curve was produced (every fit failed, or
    the crowd judged no gold task: the run looked like a success); else 0 (some fits failed: the report
    says which)."""
    runs = result.tables.get("runs")
    if "curves" in result.tables or runs is None or not runs.height:
        return 0
    if not all(runs["error"].to_list()):
        from ..benchmarks._verdict import no_curve_cause

        names = result.meta.get("sources", [])
        causes = "; ".join(f"{s}: {no_curve_cause(result.tables, s)}" for s in names[:3])
        more = f"; and {len(names) - 3} more" if len(names) > 3 else ""
        err.write(f"galton: error: no crowd curve: {causes}{more}; the report in {str(path)!r} says more\n")
        return 1
    failed = "; ".join(f"{r['model']} on {r['source']}: {r['error']}" for r in runs.head(3).iter_rows(named=True))
    more = f"; and {runs.height - 3} more" if runs.height > 3 else ""
    err.write(f"galton: error: no model produced a result: every fit failed ({failed}{more}); the report in "
              f"{str(path)!r} lists them (fits table, tables/runs)\n")
    return 1


def _load_study(name: str | None) -> Any:
    """The study of STUDY: a file, or a study shipped with galton; an unknown name is refused with
    every study the command runs (allocation too, which has its own runner and no file)."""
    from ..benchmarks.study import STUDIES_DIR, load_study

    if name is not None and Path(name).is_file():
        check_readable(name, "STUDY")
    try:
        return load_study(name)
    except FileNotFoundError as exc:
        if not one_line(exc).startswith("no study file"):
            raise
        known = sorted([p.stem for p in STUDIES_DIR.glob("*.toml")] + ["allocation"])
        raise CLIError(f"no study file {name!r}; give a .toml path or one of {known}") from None


def _bench_allocation(args: argparse.Namespace, out: TextIO) -> int:
    from ..benchmarks.allocation import run_cli

    unused = [f for f in ("k", "bootstrap", "tie_break") if getattr(args, f) is not None]
    models = _names(args.models) or ["default"]
    group = next((d for d in _names(args.datasets) or () if d in ("bundled", "all")), None)
    if group is not None:  # it was looked for as a data set: "no dataset named 'bundled' in ..."
        raise CLIError(f"--study allocation replays the data sets it is given by name, not {group!r} (a group of "
                       "the crowd studies): name them, e.g. --datasets snow2008_rte,snow2008_temp,sheng (its default)")
    if unused or len(models) != 1:
        given = ", ".join("--" + f.replace("_", "-") for f in unused) or "--models " + ",".join(models)
        raise CLIError("--study allocation takes --datasets, one --models name, --repeats, --seed, --engine, "
                       f"--ray-address, --out, --no-plots and --quiet, not {given}")
    if not args.no_plots and importlib.util.find_spec("matplotlib") is None:
        raise CLIError("the study's plots need matplotlib, which is not installed: "
                       "pip install 'galton[report]', or run with --no-plots for tables only")
    # refits on Ray only when asked (the per-round fits are small: see README, replay study)
    return run_cli(datasets=_names(args.datasets), model=models[0], repeats=args.repeats, seed=args.seed,
                   out_dir=args.out, plots=not args.no_plots, quiet=args.quiet, out=out,
                   engine="ray" if args.engine == "ray" or args.ray_address else "local", address=args.ray_address)


def _number(flag: str, text: str, whole: bool) -> int | float:
    """A number from the command line (an int when it is written as one); CrowdConfig checks the
    rest (a whole number, finite) and names the flag."""
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    raise CLIError(f"{flag} {text!r}: expected {'a whole number' if whole else 'a number'}")


def _crowd_value(name: str, text: str) -> Any:
    """A CrowdConfig value from its command-line text."""
    from ..datasets.simulate import CrowdConfig

    flag = "--" + name.replace("_", "-")
    if name in ("judgments_per_task", "class_prior"):
        whole = name == "judgments_per_task"
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise CLIError(f"{flag} {text!r}: expected {'N or MIN,MAX' if whole else 'P0,P1,...'}")
        vals = [_number(flag, p, whole) for p in parts]
        return vals[0] if whole and len(vals) == 1 else vals
    default = {f.name: f.default for f in dataclasses.fields(CrowdConfig)}[name]
    if isinstance(default, str):
        return text
    return _number(flag, text, whole=default is dataclasses.MISSING or isinstance(default, int))


def _in_flags(exc: Exception, bare: bool = True, paths: Sequence[str] = ()) -> Exception:
    """The library's error in the command line's words: ``n_tasks=0`` -> ``--n-tasks 0``, ``raise
    n_workers`` -> ``raise --n-workers`` (``bare``: also names without ``=``; not in a message that
    holds a path), ``overwrite=True`` -> ``--overwrite``. ``paths`` are shown as given (``runs/seed=3``
    is no ``--seed 3``). An unknown field of a CONFIG file is named as the file names it; an error
    without such names is returned as it is."""
    from ..datasets.simulate import CrowdConfig

    text = one_line(exc)
    if text.startswith("unknown CrowdConfig field"):
        return exc
    kept = sorted({p for p in paths if p}, key=len, reverse=True)  # the longest first: one may hold another
    for i, path in enumerate(kept):
        text = text.replace(path, f"\0{i}\0")
    for python, cli in (("overwrite=True", "--overwrite"),
                        ("(or None: one per chunk)", "(or leave it out: one per chunk)"),
                        ("a count or (min, max), 1 <= min <= max", "N or MIN,MAX with 1 <= MIN <= MAX")):
        text = text.replace(python, cli)
    names = "|".join([f.name for f in dataclasses.fields(CrowdConfig)] + ["files"])
    text = re.sub(rf"\b({names})\b(=?)", lambda m: m[0] if not (bare or m[2]) else
                  "--" + m[1].replace("_", "-") + (" " if m[2] else ""), text)
    # a list value as it is typed: --class-prior 0.5,0.6, not (0.5, 0.6)
    text = re.sub(r"(--[a-z-]+ )[(\[]([\w.+'-]+(?:, [\w.+'-]+)+)[)\]]", lambda m: m[1] + m[2].replace(", ", ","), text)
    for i, path in enumerate(kept):
        text = text.replace(f"\0{i}\0", path)
    return exc if text == one_line(exc) else CLIError(text)  # unchanged: the error as it is (--debug: its traceback)


_CONFIG_KINDS = ("CONFIG must be a TOML file of CrowdConfig fields (top level or a [crowd] table), or the "
                 "config.json that galton simulate wrote")


def _config_fields(path: str) -> dict[str, Any]:
    """The CrowdConfig fields of a CONFIG file: its top level, or its [crowd] table (not both: the
    top-level keys beside a [crowd] table were dropped without a word); or the ``config.json`` that
    ``galton simulate`` writes (``CrowdConfig.to_dict()``: the same settings, read as JSON), which
    failed with a bare "Invalid statement (at line 1, column 1)"."""
    import json

    from ..benchmarks.study import read_toml

    if not Path(path).exists():  # read_toml said "[Errno 2] No such file or directory"
        raise CLIError(f"CONFIG file {path!r} does not exist; give a TOML file of CrowdConfig fields, or the "
                       "fields as flags (--n-tasks N --n-workers N ...)")
    if Path(path).is_dir():
        raise CLIError(f"CONFIG {path!r} is a directory; give a TOML file of CrowdConfig fields")
    check_readable(path, "CONFIG")
    text = Path(path).read_text(encoding="utf-8-sig")
    if Path(path).suffix.lower() == ".json" or text.lstrip().startswith("{"):  # no TOML file starts so
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CLIError(f"{path}: not JSON ({exc}); {_CONFIG_KINDS}") from None
        if not isinstance(data, dict):
            raise CLIError(f"{path}: holds a JSON {type(data).__name__}, not an object of CrowdConfig fields; "
                           f"{_CONFIG_KINDS}")
        return data
    try:
        data, _ = read_toml(path)
    except ValueError as exc:
        raise CLIError(f"{one_line(exc)}; {_CONFIG_KINDS}") from None
    if "crowd" not in data:
        return dict(data)
    crowd, beside = data["crowd"], sorted(set(data) - {"crowd"})
    if not isinstance(crowd, dict):
        raise CLIError(f"{path}: crowd must be a table ([crowd]) of CrowdConfig fields, not {crowd!r}")
    tables = [k for k in beside if isinstance(data[k], dict) or (  # [other], [[other]]
        isinstance(data[k], list) and data[k] and all(isinstance(v, dict) for v in data[k]))]
    keys = [k for k in beside if k not in tables]  # top-level keys: above [crowd] (TOML puts them first)
    said = []
    if keys:
        said.append(f"the key{'s' if len(keys) > 1 else ''} {', '.join(keys)} at its top level (outside [crowd])")
    if tables:
        said.append(f"the table{'s' if len(tables) > 1 else ''} {', '.join(f'[{t}]' for t in tables)} beside [crowd]")
    if said:
        raise CLIError(f"{path}: has {' and '.join(said)}; CONFIG takes the CrowdConfig fields in one [crowd] "
                       "table and nothing else, or at its top level with no table")
    return dict(crowd)


def _cmd_simulate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..datasets.simulate import CrowdConfig

    in_file = _config_fields(args.config) if args.config is not None else {}
    flags = {key[4:]: _crowd_value(key[4:], value) for key, value in vars(args).items()
             if key.startswith("cfg_") and value is not None}
    fields = {**in_file, **flags}
    missing = [f for f in ("n_tasks", "n_workers") if f not in fields]
    if missing:
        raise CLIError("give " + " and ".join(f"--{m.replace('_', '-')}" for m in missing) + " (or a CONFIG file)")
    try:
        config = CrowdConfig.from_dict(fields)
    except ValueError as exc:
        named = set(re.findall(r"\b([a-z]+(?:_[a-z]+)+|seed)\b", one_line(exc))) & set(fields)
        unknown = one_line(exc).startswith("unknown CrowdConfig field")  # only a file can name one
        if unknown or (named and not named & set(flags)):  # the file's values: in its words, with its name
            raise CLIError(f"{args.config}: {one_line(exc)}") from None
        raise _in_flags(exc) from None
    from ..io import check_place, check_replaceable

    if not args.out.strip():  # '' was the working directory, reported as '.'
        raise CLIError(f"--out must name a directory for the simulation, not {args.out!r}")
    try:  # before Ray starts: replace only a simulation (not a report or results that galton also marks)
        check_replaceable(args.out, "simulation")
    except FileExistsError as exc:
        raise CLIError(f"--out: {exc}") from None
    check_place(args.out)  # a read-only place failed after the whole simulation
    try:
        from ..workers.simulate import simulate
    except ModuleNotFoundError as exc:
        raise ImportError(f"galton simulate needs Ray ({exc}); pip install 'galton[ray]'") from None
    try:
        res = simulate(config, args.out, address=args.ray_address, files=args.files, overwrite=args.overwrite,
                       progress=False if args.quiet else None)
    except (ValueError, FileExistsError) as exc:
        raise _in_flags(exc, bare=False, paths=(args.out, str(Path(args.out)))) from None
    if not args.quiet:
        files = str(res.n_files) + (f" (of --files {args.files}: at most one per chunk of --tasks-per-chunk tasks)"
                                    if args.files and res.n_files < args.files else "")
        rows = [("output", str(res.path)), ("tasks", f"{res.n_tasks:,}"), ("workers", f"{res.n_workers:,}"),
                ("judgments", f"{res.n_judgments:,}"), ("files", files),
                ("seconds", f"{res.seconds:.2f}"), ("judgments/s", f"{res.judgments_per_second:,.0f}")]
        for key, value in rows:
            out.write(f"{key:<13}{value}\n")
    return 0
