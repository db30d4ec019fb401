"""The pieces of a study's ``index.html`` that every page shares: the style (tables never wider than
the page: they scroll inside it), the title and question, the settings line, HTML tables, and the
details at the bottom (methods, table files, sources, fits with what their warnings say, notes,
seeds, versions, the study file). Also the worker section of a categorical study: flagged workers
per real dataset from galton's default model (:func:`galton.aggregator.worker_report`).
"""

from __future__ import annotations

import html
import json
import math
import re
import time
from typing import Any, Sequence

from ._plots import level_text

__all__ = ["CSS", "QUESTION", "fmt", "html_table", "page_top", "settings_line", "page_head", "page_tail",
           "sources_frame", "fits_html", "workers_section", "img", "WORKER_SECONDS"]

CSS = """body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1300px;padding:0 1em;color:#222}
h1{margin-bottom:.2em}.question{font-size:18px;margin:.3em 0 .8em}
table{border-collapse:collapse;font-size:13px;margin:.5em 0;display:block;max-width:100%;overflow-x:auto}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right;vertical-align:top;overflow-wrap:break-word}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
table.verdict{font-size:14px}table.verdict td,table.verdict th{text-align:left}table.verdict td.verdict{max-width:34em}
tr.beats td.verdict{background:#e6f4ea}tr.below td.verdict{background:#fce8e6}tr.level td.verdict{background:#fef7e0}
tr.none td.verdict{background:#f1f3f4}.ci{color:#555;font-size:12px;white-space:nowrap}
img{max-width:100%;border:1px solid #eee;display:block;margin:.4em 0}
pre{background:#f7f7f7;padding:.8em;font-size:12px;overflow:auto}
.note{color:#555;font-size:13px;max-width:75em}details{margin:.4em 0}summary{cursor:pointer;color:#1a55a3}"""

QUESTION = ("Does the crowd beat the expert? How many crowd judgments per task (k) does it take for the "
            "aggregated crowd to be as good as one expert?")

#: a worker section fit that takes longer than this (seconds) is left out of the page
WORKER_SECONDS = 2.0


def fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) >= 10 else f"{v:.3f}"
    return str(v)


def html_table(df: Any, max_rows: int = 400, cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for r in df.head(max_rows).iter_rows():
        body.append("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in r) + "</tr>")
    more = f"<p><i>{df.height - max_rows} more rows in the table files.</i></p>" if df.height > max_rows else ""
    c = f" class='{cls}'" if cls else ""
    return f"<table{c}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def img(path: str, alt: str) -> str:
    return f"<img src='{html.escape(path)}' alt='{html.escape(alt)}'>"


def page_top(result: Any, kind_note: str = "") -> list[str]:
    """Title and the question the page answers (always, also for a custom run)."""
    s = result.study
    return [f"<!doctype html><html><head><meta charset='utf-8'><title>galton bench: "
            f"{html.escape(s.name)}</title><style>{CSS}</style></head><body>",
            f"<h1>galton bench: {html.escape(s.name)}{kind_note}</h1>",
            f"<p class='question'><b>{QUESTION}</b></p>"]


def settings_line(result: Any, note: str) -> list[str]:
    """The study's description (without the question it may repeat) and the run's settings."""
    s, meta = result.study, result.meta
    h = []
    desc = (s.description or "").strip()
    if desc.startswith("Does the crowd beat the expert?"):
        desc = desc[len("Does the crowd beat the expert?"):].strip()
    if desc:
        h.append(f"<p>{html.escape(desc)}</p>")
    h.append(f"<p class='note'>{len(meta['sources'])} sources, models {', '.join(meta['models'])}, "
             f"R = {s.repeats} repetitions, B = {s.bootstrap} bootstrap replicates, {level_text(s.confidence)} "
             f"intervals, engine {meta['engine']}, {meta['seconds']:.1f} s. {html.escape(note)}</p>")
    return h


def page_head(result: Any, kind_note: str, note: str) -> list[str]:
    """The top of a study's ``index.html``: title, question, description and the run's settings."""
    return page_top(result, kind_note) + settings_line(result, note)


_SOURCE_NAMES = {"n_tasks": "tasks", "n_gold_tasks": "gold tasks", "n_workers": "workers", "n_labels": "labels",
                 "n_judgments": "judgments", "n_experts": "experts", "k_grid": "k grid",
                 "dropped_expert_judgments": "expert judgments dropped", "unscored_experts": "experts not scored",
                 "best_annotator_judgments": "best annotators' judgments (not in the crowd)",
                 "unjudged_gold_tasks": "gold tasks only best annotators judged (not scored)"}


def sources_frame(sources: Any) -> Any:
    """The sources table for the page: short headers, judgments per task in one column, the k grid
    with spaces (it wraps), empty parameter columns left out."""
    import polars as pl

    df = sources
    if {"judgments_min", "judgments_median", "judgments_max"} <= set(df.columns):
        per = pl.format("{} / {} / {}", pl.col("judgments_min"), pl.col("judgments_median").round(1),
                        pl.col("judgments_max"))
        at = df.columns.index("judgments_min")
        df = df.with_columns(per.alias("judgments per task (min / median / max)")).drop(
            "judgments_min", "judgments_median", "judgments_max")
        cols = df.columns
        df = df.select(cols[:at] + [cols[-1]] + cols[at:-1])
    if "k_grid" in df.columns:
        df = df.with_columns(pl.col("k_grid").str.replace_all(",", ", "))
    for c in ("params", "grid", "unscored_experts"):
        if c in df.columns and df[c].cast(pl.Utf8).is_in(["{}", "", None]).all():
            df = df.drop(c)
    return df.rename({a: b for a, b in _SOURCE_NAMES.items() if a in df.columns})


def _warning_texts(value: Any) -> dict[str, int]:
    """{text: count} from a ``warning_texts`` cell (a JSON object or list), numbers folded to '#'."""
    if value in (None, ""):
        return {}
    data = json.loads(value) if isinstance(value, str) else value
    items = data.items() if isinstance(data, dict) else ((t, 1) for t in data)
    out: dict[str, int] = {}
    for text, n in items:
        key = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "#", " ".join(str(text).split()))
        out[key] = out.get(key, 0) + int(n)
    return out


def _fits_frame(runs: Any) -> Any:
    """One row per source, one column per model: "seconds s, warnings w" (and the errors, if any)."""
    import polars as pl

    if not {"source", "model", "seconds", "warnings", "fits"} <= set(runs.columns):
        return runs.drop("warning_texts") if "warning_texts" in runs.columns else runs
    rows: dict[str, dict[str, Any]] = {}
    for r in runs.iter_rows(named=True):
        row = rows.setdefault(r["source"], {"source": r["source"], "fits per model": r["fits"]})
        w = int(r["warnings"])
        row[r["model"]] = (f"{r['seconds']:.2f} s" + (f", {w} warning{'s' if w != 1 else ''}" if w else "")
                           + (f"; error: {r['error']}" if r.get("error") else ""))
    return pl.DataFrame(list(rows.values()), infer_schema_length=None)


def fits_html(runs: Any) -> str:
    """The fits table and what its warnings say: the warning texts, deduplicated, with counts (from a
    ``warning_texts`` column when the result records one), else that only counts were recorded."""
    h = [html_table(_fits_frame(runs))]
    total = int(runs["warnings"].sum()) if "warnings" in runs.columns else 0
    if not total:
        h.append("<p class='note'>No fit raised a warning.</p>")
    elif "warning_texts" in runs.columns:
        texts: dict[tuple[str, str], int] = {}
        for r in runs.iter_rows(named=True):
            for text, n in _warning_texts(r["warning_texts"]).items():
                texts[(r["model"], text)] = texts.get((r["model"], text), 0) + n
        items = sorted(texts.items(), key=lambda kv: -kv[1])
        h += ["<p class='note'>What the warnings say (numbers shown as #), with how many fits raised each:</p><ul>"]
        h += [f"<li><b>{html.escape(m)}</b>: {n} &times; <code>{html.escape(t)}</code></li>" for (m, t), n in items]
        h.append("</ul>")
    else:
        by_model: dict[str, int] = {}
        for r in runs.iter_rows(named=True):
            by_model[r["model"]] = by_model.get(r["model"], 0) + int(r["warnings"])
        named = ", ".join(f"{m} {n}" for m, n in by_model.items() if n)
        h.append(f"<p class='note'>warnings: Python warnings raised while fitting, by model over all sources: "
                 f"{named}. This result records their counts, not their texts. The warning galton's EM models raise "
                 "in a study is <code>ConvergenceWarning: MODEL did not converge in N iterations (last change "
                 "&gt;= tol); raise n_iter or tol</code> (mace: per restart; their other warning, about gold, "
                 "cannot occur: a study never gives gold to a model); numerical RuntimeWarnings from numpy would "
                 "count too. The fit's labels are scored all the same.</p>")
    return "".join(h)


def page_tail(result: Any, methods: str, table_names: Sequence[str]) -> list[str]:
    """The bottom of a study's ``index.html``: methods, table links, sources, fits, notes, seeds,
    versions and the study file."""
    s, meta, t = result.study, result.meta, result.tables
    h = ["<h2>Methods</h2>", methods]
    h += ["<h2>Tables</h2><ul>"] + [f"<li>{n}: <a href='tables/{n}.parquet'>Parquet</a>, "
                                   f"<a href='tables/{n}.md'>Markdown</a></li>" for n in table_names if n in t]
    h += ["</ul>", "<h2>Sources</h2>", html_table(sources_frame(t["sources"]))]
    if "runs" in t:
        h += ["<h2>Fits: time and warnings per source and model</h2>", fits_html(t["runs"])]
    if meta.get("notes"):
        h += ["<h2>Notes</h2><ul>"] + [f"<li>{html.escape(n)}</li>" for n in meta["notes"]] + ["</ul>"]
    h += ["<h2>Seeds, versions, study file</h2>",
          "<details><summary>Seeds</summary><pre>" + html.escape(json.dumps(meta["seeds"], indent=2), quote=False)
          + "</pre></details>",
          "<details><summary>Versions</summary><pre>"
          + html.escape(json.dumps(meta["versions"], indent=2), quote=False) + "</pre></details>",
          "<details open><summary>Study file</summary><pre>" + html.escape(s.text or s.to_toml(), quote=False)
          + "</pre></details></body></html>"]
    return h


_FLAGS = ("too_little_data", "constant", "uninformative", "adversarial")


def _worker_rows(report: Any, source: str, seconds: float, names: Sequence[Any] | None) -> dict[str, Any]:
    import polars as pl

    w = report if isinstance(report, pl.DataFrame) else pl.from_pandas(report.reset_index())
    flagged = w.filter(pl.col("constant") | pl.col("uninformative") | pl.col("adversarial"))
    top = flagged.sort("n_judgments", descending=True).head(3)
    tops = []
    for r in top.iter_rows(named=True):
        name = r["worker"] if names is None else names[int(r["worker"])]
        flags = "+".join(f for f in _FLAGS[1:] if r[f])
        tops.append(f"{str(name)[:14]} ({r['n_judgments']} judgments, {flags})")
    share = float(flagged["n_judgments"].sum() / max(int(w["n_judgments"].sum()), 1))
    return {"source": source, "workers": w.height, **{f.replace("_", " "): int(w[f].sum()) for f in _FLAGS},
            "judgments by flagged workers": f"{100 * share:.1f}%", "most active flagged workers": "; ".join(tops),
            "seconds": round(seconds, 2)}


def workers_section(result: Any) -> list[str]:
    """Flagged workers per real dataset: the result's ``workers`` table when it has one (columns of
    :func:`galton.aggregator.worker_report` and ``source``), else galton's default model fitted on
    all of each dataset's workers' judgments (a fit over :data:`WORKER_SECONDS` is left out and named)."""
    import polars as pl

    t = result.tables
    rows, skipped = [], []
    if "workers" in t:
        for src in dict.fromkeys(t["workers"]["source"].to_list()):
            rows.append(_worker_rows(t["workers"].filter(pl.col("source") == src), src, 0.0, None))
    else:
        from .. import aggregator
        from .._warnings import quiet
        from ..data._repeats import REPEATS_KEY
        from ..judgments import Judgments
        from ._sources import prepare_dataset

        kinds = dict(zip(t["sources"]["source"].to_list(), t["sources"]["kind"].to_list()))
        for src in [s for s in result.meta["sources"] if kinds.get(s) == "dataset"]:
            t0 = time.perf_counter()
            try:  # an optional section: a failure is said on the page, it never costs the study its report
                s = prepare_dataset(src)
                J = Judgments.from_codes(s.task, s.worker, s.label, n_tasks=s.n_tasks, n_labels=s.n_labels)
                with quiet(REPEATS_KEY):  # the study counts every row, as the published datasets do
                    model = aggregator.get(aggregator.default_name())(random_state=result.study.seed).fit(J)
                report = model.workers_
            except Exception as exc:  # noqa: BLE001 - any error of the fit: shown, not raised
                skipped.append(f"{src} (the fit failed: {type(exc).__name__}: {exc})")
                continue
            seconds = time.perf_counter() - t0
            if seconds > WORKER_SECONDS:
                skipped.append(f"{src} ({seconds:.1f} s)")
                continue
            rows.append(_worker_rows(report, src, seconds, s.worker_names))
    if not rows and not skipped:
        return []
    h = ["<h2>Workers</h2>",
         f"<p class='note'>Worker report (galton.aggregator.worker_report) of galton's default model "
         f"({html.escape(aggregator_name())}) fitted on all workers' judgments of each real dataset: workers "
         "flagged constant (one answer), uninformative (answers carry no information about the class) or "
         "adversarial (reliably worse than chance); 'too little data': fewer than 10 judgments, not judged.</p>"]
    if rows:
        h.append(html_table(pl.DataFrame(rows, infer_schema_length=None)))
    if skipped:
        h.append(f"<p class='note'>Left out (a fit over {WORKER_SECONDS:g} s, or a failed fit): "
                 f"{html.escape('; '.join(skipped))}.</p>")
    return h


def aggregator_name() -> str:
    from .. import aggregator

    return str(aggregator.default_name())
