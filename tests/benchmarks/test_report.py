"""A tiny study end to end: the report directory, its tables, plots and index.html, and the
``galton bench`` command."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from galton.benchmarks._page import QUESTION
from galton.benchmarks._verdict import verdict_rows
from galton.benchmarks.report import categorical_page, write_report
from galton.benchmarks.runner import StudyResult
from galton.benchmarks.study import Study, run_study
from galton.cli import main

pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    study = Study(name="tiny", datasets=("welinder_bluebirds", "imagenet_real_golden"), models=("mv", "default"),
                  k=(1, 3), repeats=2, bootstrap=60, best_annotators=2, engine="local",
                  simulation={"n_tasks": 200, "n_workers": 20, "accuracy_mean": 0.7, "k": [1, 3]},
                  grid={"worker_correlation": [0.0, 0.3]})
    study = study.replace()  # regenerates the study text
    result = run_study(study, progress=False)
    out = write_report(result, tmp_path_factory.mktemp("rep") / "report")
    return result, out


def test_tables_hold_the_expected_rows(tiny) -> None:
    result, out = tiny
    t = result.tables
    curves = t["curves"]
    # welinder: 2 models x 2 k; imagenet: gold and leave-one-out curves; 2 simulated points
    assert curves.height == 4 + 8 + 8
    assert curves.filter(pl.col("reference") == "experts_loo")["source"].unique().to_list() == ["imagenet_real_golden"]
    ex = t["experts"]
    inet = ex.filter(pl.col("source") == "imagenet_real_golden")
    assert inet.filter(pl.col("kind").str.contains("leave-one-out")).height == 6  # 5 experts + mean
    assert inet.filter(pl.col("kind").str.contains("split half")).height == 2
    assert ex.filter(pl.col("kind").str.contains("post hoc")).height == 2
    assert ex.filter(pl.col("kind") == "simulated").height == 2
    ce = t["crowd_equivalent"]
    assert not ce["kind"].str.contains("post hoc").any()  # never used for crowd-equivalents
    assert ce.height == (6 + 2 + 2 + 2) * 2  # experts x models
    assert t["sweep"].height == 4 and "grid_worker_correlation" in t["sweep"].columns
    assert set(t["runs"]["error"]) == {""}
    for name, df in t.items():
        assert pl.read_parquet(out / "tables" / f"{name}.parquet").equals(df), name
        md = (out / "tables" / f"{name}.md").read_text().strip().splitlines()
        assert len(md) == df.height + 2 and md[0].startswith("| source")


def test_the_methods_say_where_the_crowd_is_scored_against_a_best_annotator(tiny) -> None:
    """Bug hunt: the methods said best annotators are scored "like the crowd, on the other half
    only", while the verdict scores the crowd on all gold tasks (as its rule says) and only the
    crowd-equivalent scores it on the annotator's own tasks."""
    from galton.benchmarks.report import METHODS

    result, _ = tiny
    t = result.tables
    row = next(r for r in verdict_rows(t, result.meta["sources"]) if r["source"] == "welinder_bluebirds")
    n_gold = t["sources"].filter(pl.col("source") == "welinder_bluebirds")["n_gold_tasks"][0]
    crowd = t["curves"].filter((pl.col("source") == "welinder_bluebirds") & (pl.col("k") == row["k"])
                               & (pl.col("model") == row["model"])).row(0, named=True)
    expert = t["experts"].filter(pl.col("expert") == row["expert"]).row(0, named=True)
    assert row["expert"].startswith("best #1") and crowd["accuracy"] == row["crowd"]
    assert crowd["n_tasks"] == n_gold and expert["n_tasks"] <= n_gold - n_gold // 2  # all gold vs the other half
    text = " ".join(METHODS.split())
    assert "like the crowd, on the other half only" not in text
    assert "the verdict and the crowd curves score the crowd on all gold tasks" in text


def test_the_verdict_says_where_the_crowd_reaches_an_expert_it_trails_on_all_gold() -> None:
    """Bug hunt (welinder_bluebirds): "the crowd of k=10 (ds) is level with the best annotator (worker
    1005) (-1.5 points, intervals overlap); it reaches the expert at k=10" -- the points are on all 108
    gold tasks, the crowd-equivalent on the annotator's own 50. Where the two disagree on different tasks
    the sentence says so; on the same tasks (a simulated expert's) it needs not."""
    from galton.benchmarks._verdict import verdict_sentence

    keq = {"k_equivalent": 10, "k_low": 5, "k_high": None, "k_max": 10, "n_tasks": 50}
    row = {"model": "ds", "k": 10, "expert": "best #1 (worker 1005)", "crowd": 0.885, "expert_accuracy": 0.9,
           "verdict": "level with", "keq": keq, "n_tasks": 108, "n_tasks_all": 108, "tasks": "gold tasks"}
    assert verdict_sentence(row) == ("the crowd of k=10 (ds) is level with the best annotator (worker 1005) "
                                     "(-1.5 points, intervals overlap); on the expert's own tasks it reaches "
                                     "the expert at k=10")
    assert verdict_sentence({**row, "keq": {**keq, "n_tasks": 108}}).endswith(
        "(-1.5 points, intervals overlap); it reaches the expert at k=10")  # the same tasks: no contradiction
    assert verdict_sentence({**row, "crowd": 0.915}).endswith(  # both say the crowd is up: nothing to add
        "(+1.5 points, intervals overlap); it reaches the expert at k=10")


def test_page_and_plots(tiny) -> None:
    result, out = tiny
    page = (out / "index.html").read_text()
    for src in result.meta["sources"]:
        assert src in page
    assert "a uniformly random tied label" in page  # the tie rule is stated
    assert "leave-one-out" in page and "Seeds" in page and '"numpy"' in page
    assert 'name = "tiny"' in page  # the study file
    imgs = [p.split("'")[0] for p in page.split("<img src='")[1:]]
    assert len(imgs) == 4 + 1 + 1  # 4 curve plots, crowd-equivalent, one sweep axis
    for p in imgs:
        assert (out / p).read_bytes()[:8] == PNG, p
    assert (out / "study.toml").read_text() == result.study.text
    assert not list(out.parent.glob(".*"))  # no temporary directory left behind


def test_cli_bench(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench"
    args = ["bench", "--datasets", "welinder_bluebirds", "--models", "mv", "--k", "1-2", "--repeats", "2",
            "--bootstrap", "40", "--engine", "local", "--no-plots", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "crowd-equivalent" in text and str(out / "index.html") in text
    curves = pl.read_parquet(out / "tables" / "curves.parquet")
    assert curves["k"].to_list() == [1, 2] and curves["model"].unique().to_list() == ["mv"]
    assert 'names = ["welinder_bluebirds"]' in (out / "study.toml").read_text()
    assert main(args + ["--quiet", "--seed", "9"]) == 0  # an earlier report may be replaced
    assert capsys.readouterr().out == ""
    again = pl.read_parquet(out / "tables" / "curves.parquet")
    assert again.height == 2 and not np.allclose(again["accuracy"], curves["accuracy"])  # new seed
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    assert main(args[:-1] + [str(other)]) == 2  # never replaces a directory that is not a report
    assert "not a galton bench report" in capsys.readouterr().err
    assert (other / "keep.txt").read_text() == "x"
    assert main(["bench", "--models", "nope", "--out", str(tmp_path / "n")]) == 2
    assert "valid names" in capsys.readouterr().err
    assert not (tmp_path / "n").exists()


def _shared_set(root: Path, name: str, judgments: list[str], gold: list[str]) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "judgments.csv").write_text("task,worker,label\n" + "".join(f"{r}\n" for r in judgments))
    (root / name / "gold.csv").write_text("task,label\n" + "".join(f"{r}\n" for r in gold))


def test_gold_of_no_judged_task_is_refused_before_any_fit(tmp_path: Path, capsys, monkeypatch) -> None:
    """Bug hunt: gold whose task ids match no judged task (x0.. against t0..) ran every fit, printed "no
    crowd curve: every model failed on this source (see Fits)" (none had failed) and exited 0. The dataset
    is now refused before any fit, in the allocation study's words, and no report is written."""
    import galton.benchmarks.study as study_mod
    from galton.benchmarks.study import prepare_dataset

    _shared_set(tmp_path / "ds", "nogold", [f"t{t},w{w},{(t + w) % 2}" for t in range(6) for w in range(3)],
                [f"x{t},0" for t in range(6)])
    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(tmp_path / "ds"))
    said = "dataset 'nogold': no task with judgments has a gold label; leave it out"
    with pytest.raises(ValueError, match=said):
        prepare_dataset("nogold")
    monkeypatch.setattr(study_mod, "run_jobs", lambda *a, **k: pytest.fail("a fit ran"))
    rc = main(["bench", "--datasets", "nogold", "--models", "mv", "--k", "1", "--engine", "local", "--no-plots",
               "--out", str(tmp_path / "r")])
    assert rc == 2 and said in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_a_source_whose_gold_only_best_annotators_judged_says_so_and_bench_exits_1(tmp_path: Path, capsys,
                                                                                    monkeypatch) -> None:
    """The other way to no crowd curve: every gold task was judged only by the three best annotators, who are
    left out of the crowd, so the crowd (d, e, f) judged no gold task. Every fit ran without error, yet the
    verdict said "every model failed on this source" and bench exited 0 with nothing to show."""
    from galton.benchmarks.study import load_study

    rows = [f"g{t},{w},{t % 2}" for t in range(10) for w in "abc"]
    rows += [f"n{t},{w},{t // 2 % 2}" for t in range(10) for w in "def"]
    _shared_set(tmp_path / "ds", "onlybest", rows, [f"g{t},{t % 2}" for t in range(10)])
    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(tmp_path / "ds"))
    toml = tmp_path / "s.toml"
    toml.write_text('[study]\nname = "x"\nmodels = ["mv"]\nk = [1, 2]\nrepeats = 2\nbootstrap = 20\n'
                    'best_annotators = 3\nmin_tasks = 2\nengine = "local"\n[datasets]\nnames = ["onlybest"]\n')
    result = run_study(load_study(str(toml)), progress=False)
    assert "curves" not in result.tables and set(result.tables["runs"]["error"]) == {""}
    row = verdict_rows(result.tables, ["onlybest"])[0]
    assert row["sentence"] == ("no crowd curve: the crowd judged no gold task (only the best annotators, left out "
                               "of the crowd, judged them; see Sources)")
    rc = main(["bench", str(toml), "--no-plots", "-q", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 1 and err == ("galton: error: no crowd curve: onlybest: the crowd judged no gold task (only the "
                               "best annotators, left out of the crowd, judged them; see Sources); the report in "
                               f"{str(tmp_path / 'r')!r} says more\n"), err
    assert (tmp_path / "r" / "tables" / "runs.parquet").exists()


def test_the_report_describes_the_study_as_run_engine_and_k_max(tmp_path: Path) -> None:
    """Bug hunt: after `galton bench STUDY --engine local` (the study file says ray) the report's study.toml,
    "the study as run", said engine = "ray" while study.json said "local"; and the methods always said k
    stops at the median number of judgments of a gold task, with k_max = "max" too."""
    from galton.benchmarks.study import load_study

    study = tmp_path / "s.toml"
    study.write_text('[study]\nname = "s"\nengine = "ray"\nmodels = ["mv"]\nk = [1, 50]\nk_max = "max"\n'
                     'repeats = 1\nbootstrap = 10\n\n[datasets]\nnames = ["welinder_bluebirds"]\n')
    out = tmp_path / "r"
    assert main(["bench", str(study), "--engine", "local", "--no-plots", "--quiet", "--out", str(out)]) == 0
    assert json.loads((out / "study.json").read_text())["engine"] == "local"
    as_run = load_study(out / "study.toml")
    assert as_run.engine == "local" and as_run.k_max == "max" and as_run.k == (1, 50)
    text = " ".join((out / "index.html").read_text().split())
    assert "k stops at the largest number of judgments of a gold task (<code>k_max = &quot;max&quot;</code>)" in text
    assert "median number" not in text
    curves = pl.read_parquet(out / "tables" / "curves.parquet")  # 50 is capped at the most a gold task has
    assert curves["k"].max() == int(pl.read_parquet(out / "tables" / "sources.parquet")["judgments_max"][0])


def test_bench_without_ray_refuses_an_explicit_ray_and_says_its_fallback(tmp_path: Path, capsys,
                                                                          monkeypatch) -> None:
    """Bug hunt: without Ray, `galton bench --engine ray` (and --ray-address) ran in this process and exited 0,
    its summary saying engine local, where `galton aggregate --engine ray` refuses; and the default's fallback
    printed Python's raw "study.py:396: RuntimeWarning: Ray is not installed ..." with its source line, under
    -q too. Now an explicit Ray is refused naming the extra, and the fallback is one `galton: warning:` line,
    silent under -q."""
    import importlib.util
    import warnings

    find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name.split(".")[0] == "ray" else find(name, *args))
    study = tmp_path / "s.toml"  # the shipped studies' engine: ray
    study.write_text('[study]\nname = "s"\nengine = "ray"\nmodels = ["mv"]\nk = [1]\nrepeats = 1\nbootstrap = 10\n\n'
                     '[datasets]\nnames = ["welinder_bluebirds"]\n')
    for given, flags in (("--engine ray", ["--engine", "ray"]), ("--ray-address", ["--ray-address", "10.0.0.1:6379"]),
                         ("--engine ray", ["--study", "allocation", "--engine", "ray"])):
        rc = main(["bench", str(study), *flags, "--no-plots", "-q", "--out", str(tmp_path / "no")])
        assert (rc, capsys.readouterr().err) == (2, f"galton: error: {given} needs Ray, which is not installed: "
                                                    "pip install 'galton[ray]' (or leave it out: the study then runs "
                                                    "in this process)\n")
        assert not (tmp_path / "no").exists()
    said = ("galton: warning: Ray is not installed, so the study runs in this process (pip install 'galton[ray]' "
            "runs its jobs as Ray tasks)\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["bench", str(study), "--no-plots", "--out", str(tmp_path / "r")]) == 0
        captured = capsys.readouterr()
        assert captured.err == said and "engine local" in captured.out.replace(":", "")
        assert main(["bench", str(study), "--no-plots", "-q", "--out", str(tmp_path / "q")]) == 0
        assert capsys.readouterr().err == ""
    assert [str(w.message) for w in caught if "Ray" in str(w.message)] == []
    assert json.loads((tmp_path / "r" / "study.json").read_text())["engine"] == "local"


def test_bench_replaces_only_a_report(tmp_path: Path, capsys) -> None:
    """Bug hunt: `galton bench --out DIR` replaced a directory that `galton simulate` or
    `galton aggregate` wrote (any galton marker passed), deleting the data without a word."""
    import galton.io as gio

    sim, res, old = tmp_path / "sim", tmp_path / "res", tmp_path / "old"
    with gio.atomic_dir(sim) as tmp:  # as galton.workers.simulate writes it (no kind in the marker)
        (tmp / "judgments").mkdir()
        (tmp / "judgments" / "part-00000.parquet").write_bytes(b"x")
        (tmp / "workers.parquet").write_bytes(b"w")
        (tmp / "config.json").write_text("{}")
    (tmp_path / "j.csv").write_text("task,worker,label\n1,a,x\n1,b,x\n2,a,y\n")
    assert main(["aggregate", str(tmp_path / "j.csv"), "-m", "mv", "-o", str(res), "-q"]) == 0
    with gio.atomic_dir(old) as tmp:  # a report from before galton recorded the kind
        (tmp / "index.html").write_text("<html></html>")
        (tmp / "study.json").write_text("{}")
    args = ["bench", "--datasets", "welinder_bluebirds", "--models", "mv", "--k", "1", "--repeats", "1",
            "--bootstrap", "20", "--engine", "local", "--no-plots", "--quiet", "--out"]
    for path, what in ((sim, "galton simulate (a simulation)"), (res, "galton aggregate (a results directory)")):
        files = sorted(p.name for p in path.rglob("*"))
        assert main(args + [str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{str(path)!r} was written by {what}; galton bench replaces only a report it wrote" in err
        assert sorted(p.name for p in path.rglob("*")) == files
    assert main(args + [str(old)]) == 0  # an earlier report is replaced, and now says what it is
    assert json.loads((old / gio.MARKER).read_text())["kind"] == "report" and (old / "tables").is_dir()


def test_the_report_names_the_studys_confidence_level(tmp_path: Path, capsys) -> None:
    """A study at confidence 0.8 says 80% wherever it names an interval (the page and the terminal
    said 95% beside 80% intervals, under a verdict drawn from them)."""
    study = tmp_path / "s.toml"
    study.write_text('[study]\nname = "c"\nmodels = ["mv"]\nk = [1, 2]\nrepeats = 2\nbootstrap = 40\n'
                     'confidence = 0.8\nengine = "local"\n[datasets]\nnames = ["welinder_bluebirds"]\n')
    assert main(["bench", str(study), "--no-plots", "--out", str(tmp_path / "o")]) == 0
    text, page = capsys.readouterr().out, (tmp_path / "o" / "index.html").read_text()
    assert "80% intervals" in text and "95%" not in text
    assert page.count("80% interval") >= 4 and "95%" not in page


def test_a_grid_over_a_list_valued_field_is_plotted(tmp_path: Path) -> None:
    """class_prior = [[.5, .5], [.8, .2]]: the sweep plots its points as categories (the study ran,
    then the plot raised "too many values to unpack" and no report was written)."""
    study = Study(name="g", models=("mv",), k=(1, 3), repeats=2, bootstrap=20, engine="local",
                  simulation={"n_tasks": 100, "n_workers": 10},
                  grid={"class_prior": [[0.5, 0.5], [0.8, 0.2]], "accuracy_mean": [0.6, 0.8]})
    out = write_report(run_study(study.replace(), progress=False), tmp_path / "r")
    for axis in ("class_prior", "accuracy_mean"):
        assert (out / "plots" / f"sweep_{axis}.png").read_bytes()[:8] == PNG


def test_bench_checks_for_matplotlib_before_the_run(tmp_path, monkeypatch, capsys):
    """Without matplotlib, `galton bench` stops before spending the study's time, and says how to
    fix it; --no-plots runs without it."""
    import importlib.util as iu

    from galton.benchmarks import study as study_mod

    real = iu.find_spec
    monkeypatch.setattr(iu, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    ran = []
    monkeypatch.setattr(study_mod, "run_study", lambda *a, **k: ran.append(1))
    assert main(["bench", "--datasets", "welinder_bluebirds", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "--no-plots" in err and err.count("\n") == 1
    assert ran == [] and not (tmp_path / "o").exists()


# -------------------------------------------------------------------------------- the page answers first
class _Tables(HTMLParser):
    """Every <table> of a page (its class and the text of each body row's cells), every <img src>, and
    the order in which tables and images appear."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self.imgs: list[str] = []
        self.order: list[str] = []
        self._cell: list[str] | None = None
        self._body = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append({"class": a.get("class", ""), "rows": []})
            self.order.append("table")
        elif tag == "img":
            self.imgs.append(a["src"])
            self.order.append("img")
        elif tag == "tbody":
            self._body = True
        elif tag == "tr" and self._body:
            self.tables[-1]["rows"].append([])
        elif tag == "td" and self._body:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.tables[-1]["rows"][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tbody":
            self._body = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(page: str) -> _Tables:
    p = _Tables()
    p.feed(page)
    return p


def test_the_verdict_table_comes_first_with_one_row_per_source(tiny) -> None:
    result, out = tiny
    page = (out / "index.html").read_text()
    p = _parse(page)
    assert p.order[0] == "table" and p.tables[0]["class"] == "verdict"  # before any plot or other table
    rows = p.tables[0]["rows"]
    assert len(rows) == len(result.meta["sources"]) == 4
    assert page.index(QUESTION) < page.index("<table")  # the question, then the answer
    for src, row in zip(result.meta["sources"], rows):
        assert row[0].startswith(src)
        assert any(w in row[-1] for w in ("beats", "level with", "is below")), row
    assert "not reached up to k=" in page or "[" in rows[0][3]
    assert len(p.imgs) == 6 and all((out / s).is_file() for s in p.imgs)  # every plot it shows exists
    assert "<h2>Workers</h2>" in page  # the worker report of the real datasets
    assert "welinder_bluebirds" in page.split("<h2>Workers</h2>")[1].split("</table>")[0]


def _hand_result(crowd: dict[str, tuple[float, float, float]], expert: dict[str, tuple[float, float, float]]):
    """A made-up categorical result: simulated sources (no dataset to reload), one model, k = 1, 5."""
    sources = list(crowd)
    rows_c, rows_e, rows_ce = [], [], []
    for s in sources:
        for k, scale in ((1, 0.8), (5, 1.0)):
            a, lo, hi = (v * scale for v in crowd[s])
            rows_c.append({"source": s, "reference": "gold", "model": "ds", "k": k, "accuracy": a, "ci_low": lo,
                           "ci_high": hi, "n_tasks": 100, "n_tasks_full": 100, "repeats": 2})
        if s in expert:
            a, lo, hi = expert[s]
            rows_e.append({"source": s, "expert": "simulated expert (0.9)", "kind": "simulated", "reference": "truth",
                           "accuracy": a, "ci_low": lo, "ci_high": hi, "n_tasks": 100, "selection_accuracy": None,
                           "selection_tasks": None, "true_accuracy": 0.9, "tied_reference_tasks": None, "note": ""})
            reached = crowd[s][0] >= a
            rows_ce.append({"source": s, "expert": "simulated expert (0.9)", "kind": "simulated", "model": "ds",
                            "expert_accuracy": a, "k_equivalent": 5 if reached else None, "k_low": 5 if reached else None,
                            "k_high": None, "status": "reached" if reached else "not reached",
                            "crowd_accuracy_at_k": None, "crowd_accuracy_max_k": crowd[s][0], "k_max": 5, "n_tasks": 100})
    tables = {"curves": pl.DataFrame(rows_c), "experts": pl.DataFrame(rows_e), "crowd_equivalent": pl.DataFrame(rows_ce),
              "sources": pl.DataFrame([{"source": s, "kind": "simulation", "params": "{}"} for s in sources]),
              "runs": pl.DataFrame([{"source": s, "model": "ds", "fits": 4, "seconds": 0.1, "warnings": 2, "error": "",
                                     "warning_texts": '{"DS did not converge in 100 iterations": 2}'}
                                    for s in sources])}
    meta = {"sources": sources, "models": ["ds"], "engine": "local", "seconds": 1.0, "tie_break": "random",
            "loo_ties": "split", "notes": [], "seeds": {}, "versions": {}}
    return StudyResult(study=Study(name="hand", datasets=("x",)), tables=tables, meta=meta)


def test_verdict_words_agree_with_the_numbers() -> None:
    result = _hand_result({"above": (0.95, 0.93, 0.97), "overlap": (0.91, 0.89, 0.94), "under": (0.80, 0.78, 0.82),
                           "alone": (0.90, 0.88, 0.92), "low": (0.89, 0.86, 0.905)},
                          {"above": (0.90, 0.88, 0.92), "overlap": (0.90, 0.88, 0.92), "under": (0.90, 0.88, 0.92),
                           "low": (0.90, 0.88, 0.92)})
    rows = {r["source"]: r for r in verdict_rows(result.tables, result.meta["sources"])}
    assert rows["above"]["verdict"] == "beats" and "beats" in rows["above"]["sentence"]
    assert "by 5.0 points" in rows["above"]["sentence"] and "k=5 (ds)" in rows["above"]["sentence"]
    assert rows["overlap"]["verdict"] == "level with" and "+1.0 points" in rows["overlap"]["sentence"]
    assert rows["low"]["verdict"] == "level with" and "(-1.0 points" in rows["low"]["sentence"]  # overlap below
    assert rows["under"]["verdict"] == "below" and "below the simulated expert (0.9) by 10.0 points" in \
        rows["under"]["sentence"]
    assert rows["alone"]["expert"] is None and "no expert in this source" in rows["alone"]["sentence"]
    page = categorical_page(result, {})
    table = _parse(page).tables[0]
    assert table["class"] == "verdict" and len(table["rows"]) == 5
    by_source = {r[0]: r for r in table["rows"]}
    assert by_source["alone"][1] == "no expert in this source"  # said in words, not left empty
    assert by_source["under"][3] == "not reached up to k=5" and by_source["above"][3] == "5 [5, >5]"
    assert "0.950 [0.930, 0.970]" in by_source["above"][2] and "0.900 [0.880, 0.920]" in by_source["above"][1]
    assert QUESTION in page and "No expert in: alone" in page
    assert "<b>ds</b>: 10 &times; <code>DS did not converge in # iterations</code>" in page  # deduplicated


def test_the_settings_line_does_not_round_the_confidence_level(monkeypatch) -> None:
    """Bug hunt: confidence 0.975 printed "98% intervals" in the settings line ({:.0%}) under a
    verdict table that said 97.5%. Writing the level needs no matplotlib: level_text had taken
    over the font decorator of plot_curves, so each call imported matplotlib."""
    import sys

    from galton.benchmarks._plots import level_text

    result = _hand_result({"a": (0.95, 0.93, 0.97)}, {"a": (0.90, 0.88, 0.92)})
    result.study = Study(name="hand", datasets=("x",), confidence=0.975)
    page = categorical_page(result, {})
    assert "B = 1000 bootstrap replicates, 97.5% intervals" in page and "98%" not in page
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as without the report extra
    assert level_text(0.975) == "97.5%"


def test_a_score_without_error_does_not_decide_the_verdict() -> None:
    """Bug hunt: crowd (mv, k = 5) and simulated expert of equal true accuracy (0.942) on 40 tasks;
    4% of such studies said "beats" or "below", because the one with no error on the 40 tasks had
    the percentile bootstrap interval [1.000, 1.000]. Simulation seed 144: the expert is right on
    all 40 tasks and the crowd on 36 ("below" before); seed 60: the reverse ("beats" before). (Seeds
    8 and 42 until 10 workers and 5 judgments a task took the dense judge assignment, m >= n/4.) The
    interval of a perfect score is Wilson's, [40 / (40 + z^2), 1] = [0.912, 1]: level with."""
    study = Study(name="eq", seed=7, repeats=3, bootstrap=400, models=("mv",), k=(5,), best_annotators=0,
                  engine="local", simulation={"n_tasks": 40, "n_workers": 10, "accuracy_mean": 0.8,
                                              "expert_accuracy": 0.94208}, grid={"seed": [144, 60]})
    result = run_study(study, progress=False)
    rows = verdict_rows(result.tables, result.meta["sources"])
    low = 40 / (40 + 1.959963984540054 ** 2)
    (e22, c22), (e73, c73) = ((r["expert_accuracy"], r["crowd"]) for r in rows)
    assert e22 == 1.0 and c22 == 0.9 and e73 == 0.9 and c73 == 1.0
    assert rows[0]["expert_low"] == pytest.approx(low) and rows[1]["crowd_low"] == pytest.approx(low)
    assert [r["verdict"] for r in rows] == ["level with", "level with"], [r["sentence"] for r in rows]


def test_the_verdict_takes_the_largest_k_that_scored_a_task_and_never_says_nan() -> None:
    """Bug hunt: with short_tasks = "exclude" the largest k can score no task (accuracy NaN); the
    verdict took it anyway and printed "crowd nan (nan-nan) ... +nan points"."""
    from galton.benchmarks._verdict import verdict_lines

    result = _hand_result({"some": (0.95, 0.93, 0.97), "none": (0.95, 0.93, 0.97)},
                          {"some": (0.90, 0.88, 0.92), "none": (0.90, 0.88, 0.92)})
    t = result.tables
    curves = t["curves"].vstack(t["curves"].filter(pl.col("k") == 5).with_columns(
        k=pl.lit(20, dtype=t["curves"]["k"].dtype), accuracy=pl.lit(float("nan")), ci_low=pl.lit(float("nan")),
        ci_high=pl.lit(float("nan")), n_tasks=pl.lit(0, dtype=t["curves"]["n_tasks"].dtype)))
    nan = pl.lit(float("nan"))
    t["curves"] = curves.with_columns(  # source "none": no k scored a task
        accuracy=pl.when(pl.col("source") == "none").then(nan).otherwise(pl.col("accuracy")))
    rows = {r["source"]: r for r in verdict_rows(t, result.meta["sources"])}
    assert rows["some"]["k"] == 5 and rows["some"]["verdict"] == "beats"
    assert rows["some"]["sentence"].startswith("the crowd of k=5 (ds) beats the simulated expert (0.9) by 5.0 points")
    assert rows["none"]["model"] is None
    assert rows["none"]["sentence"] == "no crowd accuracy at any k: no gold task had k judgments (see the curves)"
    text = "\n".join(verdict_lines(t, result.meta["sources"]))
    assert "nan" not in text.lower() and "crowd 0.950 (0.930-0.970)" in text
    assert "nan" not in _parse(categorical_page(result, {})).tables[0]["rows"][1][-1].lower()


def test_the_verdict_says_on_how_many_tasks_an_excluding_crowd_was_scored() -> None:
    """Bug hunt: with short_tasks = "exclude" the verdict took the largest k that scored any task
    (act_ms, k = 7: 81 of its 700 gold tasks) and its sentence read as if on all of them."""
    from galton.benchmarks.study import prepare_dataset

    study = Study(datasets=("act_ms",), models=("mv",), k=(1, 7), k_max="max", short_tasks="exclude", repeats=2,
                  bootstrap=50, engine="local")
    t = run_study(study, progress=False).tables
    n7 = t["curves"].filter(pl.col("k") == 7)["n_tasks"][0]
    row = verdict_rows(t, ["act_ms"])[0]
    assert row["k"] == 7 and n7 < 700 and row["expert"].startswith("best #1")
    assert row["sentence"].startswith(f"the crowd of k=7 (mv), scored on the {n7} of 700 gold tasks with at "
                                      "least 7 judgments, is "), row["sentence"]
    row = verdict_rows(run_study(study.replace(short_tasks="all"), progress=False).tables, ["act_ms"])[0]
    assert "scored on" not in row["sentence"]  # all of them: nothing to say
    from galton.benchmarks._evaluate import exclude_best

    assert n7 == (exclude_best(prepare_dataset("act_ms"), study).counts >= 7).sum()  # the crowd's tasks with 7


def test_a_custom_run_keeps_the_question_and_its_summary_gives_the_verdict(tmp_path: Path, capsys) -> None:
    out = tmp_path / "custom"
    args = ["bench", "--datasets", "zheng_s_face", "--models", "mv", "--k", "1,3", "--repeats", "2", "--bootstrap",
            "40", "--engine", "local", "--no-plots", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "does the crowd beat the expert?" in text and "zheng_s_face: the crowd of k=" in text
    page = (out / "index.html").read_text()
    assert QUESTION in page and "<img" not in page
    assert len(_parse(page).tables[0]["rows"]) == 1


def test_the_worker_section_says_when_a_fit_fails(monkeypatch) -> None:
    """The worker section is optional: a failing fit is named on the page, never raised."""
    from galton import aggregator
    from galton.benchmarks._page import workers_section

    result = _hand_result({"welinder_bluebirds": (0.9, 0.8, 0.95)}, {})
    result.tables["sources"] = pl.DataFrame([{"source": "welinder_bluebirds", "kind": "dataset", "params": "{}"}])

    class Broken:
        def __init__(self, **kw) -> None:
            pass

        def fit(self, judgments):
            raise RuntimeError("boom")

    monkeypatch.setattr(aggregator, "get", lambda name: Broken)
    text = "".join(workers_section(result))
    assert "<h2>Workers</h2>" in text and "welinder_bluebirds (the fit failed: RuntimeError: boom)" in text


def test_runs_record_each_warning_text_with_its_count(tiny, monkeypatch) -> None:
    """The runs table says what the warnings were: per row, the counts of the recorded texts add up
    to the number of warnings; a model that warns on every fit shows its text once per fit."""
    import json
    import warnings

    from galton.aggregator import get
    from galton.benchmarks.study import run_job
    from galton.benchmarks._sources import prepare_dataset

    result, _ = tiny
    for r in result.tables["runs"].iter_rows(named=True):
        assert sum(json.loads(r["warning_texts"]).values()) == r["warnings"]
    mv = get("mv")
    fit = mv.fit

    def noisy(self, *a, **kw):
        warnings.warn("loud model", UserWarning)
        return fit(self, *a, **kw)

    monkeypatch.setattr(mv, "fit", noisy)
    study = Study(name="w", datasets=("welinder_bluebirds",), models=("mv",), k=(1, 3), repeats=2, engine="local")
    source = prepare_dataset("welinder_bluebirds")
    out = run_job(source, 3, study)
    assert out["warnings"].tolist() == [2] and out["warning_texts"] == [{"UserWarning: loud model": 2}]
