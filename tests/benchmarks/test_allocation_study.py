"""The allocation replay study (galton.benchmarks.allocation): hand computations, the replay's
bookkeeping on a simulated crowd (only real held-back judgments, the same budget for every strategy),
selective allocation beating uniform in Sheng et al.'s setting, and RTE from ../shared."""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import galton._api
from galton import datasets
from galton.benchmarks import allocation as al
from galton.cli import main as cli_main

SHARED_REASON = "../shared/datasets not found; these tests run in CI"


# -------------------------------------------------------------------------------- by hand
def test_judgments_to_reach_on_a_made_up_curve() -> None:
    spent, acc = [10, 20, 30, 40], [0.5, 0.7, 0.65, 0.8]
    assert al.judgments_to_reach(spent, acc, 0.7) == 20  # the first time, not the last
    assert al.judgments_to_reach(spent, acc, 0.66) == 20
    assert al.judgments_to_reach(spent, acc, 0.8) == 40
    assert al.judgments_to_reach(spent, acc, 0.5) == 10
    assert al.judgments_to_reach(spent, acc, 0.81) is None


def test_summary_of_a_made_up_replay() -> None:
    res = al.ReplayResult("toy", np.array([10, 20, 30, 40]), {
        "uniform": np.array([[0.5, 0.6, 0.7, 0.8], [0.5, 0.6, 0.8, 0.8]]),
        "eig": np.array([[0.5, 0.8, 0.75, 0.8], [0.5, 0.7, 0.8, 0.8]]),
        "uncertainty": np.array([[0.5, 0.55, 0.6, 0.7], [0.5, 0.6, 0.6, 0.7]]),
    }, total=40, start_total=10, n_tasks=10, max_per_task=4, seconds=0.0)
    rows = {r["strategy"]: r for r in al.summarise(res)}
    assert rows["uniform"]["target"] == pytest.approx(0.8)
    # mean curves: uniform .5 .6 .75 .8 -> 40; eig .5 .75 .775 .8 -> 40 too (never 0.8 before)
    assert rows["uniform"]["needed"] == 40 and rows["uniform"]["share"] == 1.0
    assert rows["eig"]["needed"] == 40
    assert rows["eig"]["per_rep"] == [0.5, 0.75]  # rep 1 reaches 0.8 at 20, rep 2 at 30
    assert rows["uniform"]["per_rep"] == [1.0, 0.75]
    assert rows["uncertainty"]["needed"] is None and rows["uncertainty"]["per_rep"] == [None, None]
    assert rows["eig"]["at_50"] == pytest.approx(0.75) and rows["eig"]["at_70"] == pytest.approx(0.75)
    assert rows["eig"]["share_extra"] == pytest.approx(1.0)
    res.acc["eig"] = np.array([[0.5, 0.8, 0.8, 0.8], [0.5, 0.8, 0.8, 0.8]])
    eig = next(r for r in al.summarise(res) if r["strategy"] == "eig")
    assert eig["needed"] == 20 and eig["share"] == 0.5 and eig["share_extra"] == pytest.approx(10 / 30)


def test_interval_is_the_student_t_interval() -> None:
    mean, lo, hi = al.interval(np.array([[1.0, 0.5], [3.0, 0.5]]))
    assert mean.tolist() == [2.0, 0.5]
    assert hi[0] - mean[0] == pytest.approx(12.7062, abs=1e-3)  # t(0.975, 1) * sqrt(2) / sqrt(2)
    assert lo[1] == hi[1] == 0.5


#: Student's t 97.5% quantiles (scipy.stats.t.ppf(0.975, df), rounded to 6 decimals)
T975 = {1: 12.706205, 2: 4.302653, 5: 2.570582, 10: 2.228139, 11: 2.200985, 12: 2.178813, 15: 2.13145,
        19: 2.093024, 20: 2.085963, 21: 2.079614, 25: 2.059539, 29: 2.04523, 30: 2.042272, 40: 2.021075,
        60: 2.000298, 120: 1.97993, 1000: 1.962339}


def test_interval_uses_students_quantile_for_every_number_of_repetitions(monkeypatch: Any) -> None:
    """Bug hunt: without scipy the quantile came from a table that gave df 11-20 the value of df 20 and every
    df above 20 the normal's 1.96: with 12 repetitions (df 11) the interval was 2.086 / 2.201 = 5% too narrow,
    with 22 (df 21) 6%. galton's own quantile needs no scipy; here scipy cannot be imported at all."""
    import sys

    def quantile(df: int) -> float:
        values = np.zeros((df + 1, 1))
        values[0, 0] = 1.0  # n = df + 1 values: mean 1 / n, standard deviation 1 / sqrt(n), half-width t / n
        mean, lo, hi = al.interval(values)
        assert hi[0] - mean[0] == pytest.approx(mean[0] - lo[0], rel=1e-12)
        return float(hi[0] - mean[0]) * (df + 1)

    try:
        from scipy.stats import t as student
    except ImportError:  # pragma: no cover - the table above is scipy's
        student = None
    if student is not None:
        for df in list(range(1, 101)) + [150, 500, 10_000]:
            assert quantile(df) == pytest.approx(float(student.ppf(0.975, df)), abs=1e-6), df
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    for df, t in T975.items():
        assert quantile(df) == pytest.approx(t, abs=1e-4), df


def test_accuracy_intervals_stay_within_0_and_1() -> None:
    """Bug hunt: two repetitions (t = 12.7) gave "0.838 [0.267, 1.410]": an accuracy above 1. At 70% of
    the budget eig scores 0.9 and 0.7: mean 0.8, half-width 12.706 * 0.1414 / 1.414 = 1.27, so the
    interval is [0, 1] (the summary, the curves CSV); the interval itself is still Student's."""
    res = al.ReplayResult("toy", np.array([10, 20, 30, 40]), {
        "uniform": np.array([[0.5, 0.6, 0.7, 0.8], [0.5, 0.6, 0.8, 0.8]]),
        "eig": np.array([[0.5, 0.9, 0.9, 0.9], [0.5, 0.7, 0.7, 0.7]]),
    }, total=40, start_total=10, n_tasks=10, max_per_task=4, seconds=0.0)
    eig = next(r for r in al.summarise(res) if r["strategy"] == "eig")
    assert eig["at_70"] == pytest.approx(0.8) and (eig["lo_70"], eig["hi_70"]) == (0.0, 1.0)
    rows = [line.split(",") for line in al._csv([res]).splitlines()[1:]]
    assert all(0.0 <= float(r[5]) <= float(r[6]) <= 1.0 for r in rows)
    assert [float(r[6]) for r in rows if r[1] == "uniform"] == pytest.approx([0.5, 0.6, 1.0, 0.8])
    mean, lo, hi = al.interval(res.acc["eig"])  # no bounds: Student's interval as it is
    assert hi[1] == pytest.approx(0.8 + 12.7062 * 0.1 * math.sqrt(2) / math.sqrt(2), abs=1e-3)


def test_choose_next_walks_the_ranking_again_and_never_takes_more_than_is_left() -> None:
    left = np.array([0, 2, 1, 3])
    assert al.choose_next(np.array([0, 1, 2, 3]), left, 3).tolist() == [1, 2, 3]
    assert al.choose_next(np.array([3, 2, 1, 0]), left, 5).tolist() == [3, 2, 1, 3, 1]
    assert al.choose_next(np.array([3, 2, 1, 0]), left, 50).tolist() == [3, 2, 1, 3, 1, 3]
    assert left.tolist() == [0, 2, 1, 3]  # not modified


# -------------------------------------------------------------------------------- simulated
def test_replay_reveals_only_real_judgments_with_one_budget_and_selective_wins(monkeypatch: Any) -> None:
    data = al.sheng_crowd(n_tasks=200, per_task=7, n_workers=30, seed=0)
    real = Counter(zip(data.task.tolist(), data.worker.tolist(), data.label.tolist()))
    seen: list[int] = []
    fit = galton._api.aggregate

    def checked(frame: Any, model: Any = None, **kw: Any) -> Any:
        rows = Counter(zip(frame["task"].tolist(), frame["worker"].tolist(), frame["label"].tolist()))
        assert not rows - real, "a revealed judgment that is not in the data"
        assert np.bincount(frame["task"], minlength=data.n_tasks).min() >= 1
        seen.append(len(frame["task"]))
        return fit(frame, model, **kw)

    monkeypatch.setattr(galton._api, "aggregate", checked)
    res = al.replay(data, repetitions=2, batch=0.1, seed=0)
    assert len(seen) == 3 * 2 * res.spent.size  # one fit per strategy, repetition and round
    assert res.spent[0] == 200 and res.spent[-1] == 1400 == res.total
    assert set(np.diff(res.spent).tolist()) == {20}  # 20 per round for every strategy
    assert {s: a.shape for s, a in res.acc.items()} == {s: (2, 61) for s in ("uniform", "uncertainty", "eig")}
    for s in ("uncertainty", "eig"):  # the same data at the end: the same fit
        assert np.array_equal(res.acc[s][:, -1], res.acc["uniform"][:, -1])
        assert np.array_equal(res.acc[s][:, 0], res.acc["uniform"][:, 0])
    rows = {r["strategy"]: r for r in al.summarise(res)}
    # measured (seed 0, 2 repetitions, default model): uniform reaches its full-budget accuracy
    # 0.840 at 86% of the judgments, uncertainty at 53%, eig at 51%; at half the budget uniform
    # 0.788, uncertainty 0.818, eig 0.835 (0.837 and 0.850 while the default learnt its workers
    # from tasks judged once, which made those tasks' posteriors 1.0 and ranked them last)
    for s in ("uncertainty", "eig"):
        assert rows[s]["share"] <= rows["uniform"]["share"] - 0.2, rows
        assert rows[s]["at_50"] >= rows["uniform"]["at_50"] + 0.025, rows


def test_a_task_never_gets_more_judgments_than_it_has() -> None:
    base = al.sheng_crowd(n_tasks=40, per_task=5, n_workers=12, seed=3)
    keep = (base.task % 2 == 0) | (np.arange(base.task.size) % 5 < 2)  # odd tasks keep 2 of 5
    data = al.ReplayData("uneven", base.task[keep], base.worker[keep], base.label[keep], base.gold, [0, 1])
    res = al.replay(data, repetitions=1, batch=15, seed=1, model="ds")
    assert res.total == 20 * 5 + 20 * 2 and res.spent[-1] == res.total
    assert set(np.diff(res.spent)[:-1].tolist()) == {15}
    with pytest.raises(ValueError, match="start must be >= 1"):
        al.replay(data, start=0)


# -------------------------------------------------------------------------------- report and CLI
def test_galton_bench_study_allocation_writes_a_report(tmp_path: Path, capsys: Any) -> None:
    rc = cli_main(["bench", "--study", "allocation", "--datasets", "sheng", "--repeats", "1", "--models", "ds",
                   "--out", str(tmp_path / "rep")])
    assert rc == 0, capsys.readouterr().err
    assert "report:" in capsys.readouterr().out
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "Load average" in text and "## sheng" in text
    for s in ("uniform", "uncertainty", "eig"):
        assert f"| {s} " in text
    csv = (tmp_path / "rep" / "curves.csv").read_text().splitlines()
    assert csv[0] == "dataset,strategy,spent,share,mean,lo,hi" and len(csv) == 1 + 3 * 91
    if (tmp_path / "rep" / "allocation.png").exists():
        assert (tmp_path / "rep" / "allocation.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("x")
    rc = cli_main(["bench", "--study", "allocation", "--datasets", "sheng", "--out", str(tmp_path / "other")])
    err = capsys.readouterr().err
    assert rc == 2 and "other" in err and (tmp_path / "other" / "mine.txt").read_text() == "x"
    rc = cli_main(["bench", "--study", "allocation", "--k", "1,2", "--out", str(tmp_path / "x")])
    assert rc == 2 and "--k" in capsys.readouterr().err and not (tmp_path / "x").exists()
    for bad in (["--repeats", "0"], ["--repeats", "-1"]):  # 0 ran 3 repetitions; -1 an AssertionError at the end
        rc = cli_main(["bench", "--study", "allocation", "--datasets", "sheng", *bad, "--out", str(tmp_path / "x")])
        assert rc == 2 and "--repeats must be >= 1" in capsys.readouterr().err and not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="repetitions must be >= 1"):
        al.replay(al.load_replay_data("sheng"), repetitions=0)



def _usage_options(argv: list[str], main: Any, capsys: Any) -> set[str]:
    """The long options of a command's usage lines (its --help, up to the first blank line)."""
    try:
        main(argv)
    except SystemExit:  # argparse's own --help (galton's main returns 0)
        pass
    usage = capsys.readouterr().out.split("\n\n")[0]
    return set(re.findall(r"\[(--[a-z-]+)", usage))


def test_readme_replay_study_shows_each_option_with_a_command_that_takes_it(capsys: Any) -> None:
    """The README's replay study said `--start 2` and `--model ds` after `galton bench --study allocation`,
    which has neither (--start: "unrecognized arguments"; --model only as argparse's abbreviation of
    --models): an option shown alone is one both commands take, another is shown in its command's line."""
    bench = _usage_options(["bench", "--help"], cli_main, capsys)
    module = _usage_options(["--help"], al.main, capsys)
    assert {"--models", "--datasets"} <= bench and {"--start", "--batch", "--model"} <= module
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**Replay study**"):text.index("## Command line")]
    for span in (" ".join(s.split()) for s in re.findall(r"`([^`]*)`", section)):
        options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", span))
        takes = (bench if span.startswith("galton bench") else
                 module if span.startswith("python -m galton.benchmarks.allocation") else bench & module)
        assert options <= takes, f"`{span}`: {sorted(options - takes)} not taken there"


# -------------------------------------------------------------------------------- Ray
def test_replay_on_ray_gives_the_local_curves(ray_local: Any, tmp_path: Path, monkeypatch: Any) -> None:
    import galton._api

    data = al.sheng_crowd(n_tasks=60, per_task=4, n_workers=12, seed=2)
    local = al.replay(data, repetitions=1, batch=45, model="ds", seed=3)
    engines: list[Any] = []
    fit = galton._api.aggregate
    monkeypatch.setattr(galton._api, "aggregate", lambda *a, **kw: engines.append(kw.get("engine")) or fit(*a, **kw))
    on_ray = al.replay(data, repetitions=1, batch=45, model="ds", seed=3, engine="ray")
    monkeypatch.undo()
    assert engines == ["ray"] * 15  # 5 refits per strategy, every one on Ray
    assert local.spent.tolist() == on_ray.spent.tolist() == [60, 105, 150, 195, 240]
    for s in al.STRATEGY_ORDER:
        assert np.array_equal(local.acc[s], on_ray.acc[s]), s
    # from the command line: the same report numbers, the engine named in it
    args = ["--datasets", "sheng", "--repeats", "1", "--batch", "900", "--model", "ds", "--no-plots", "-q"]
    assert al.main([*args, "--out", str(tmp_path / "local")]) == 0
    assert al.main([*args, "--engine", "ray", "--out", str(tmp_path / "ray")]) == 0
    assert (tmp_path / "local" / "curves.csv").read_text() == (tmp_path / "ray" / "curves.csv").read_text()
    assert "refits on ray" in (tmp_path / "ray" / "report.md").read_text()


def test_galton_bench_passes_the_engine_to_the_allocation_study(monkeypatch: Any, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(al, "run_cli", lambda **kw: seen.update(kw) or 0)
    assert cli_main(["bench", "--study", "allocation", "--engine", "ray", "--out", str(tmp_path / "r")]) == 0
    assert seen["engine"] == "ray" and seen["address"] is None
    assert cli_main(["bench", "--study", "allocation", "--out", str(tmp_path / "r")]) == 0
    assert seen["engine"] == "local"


def test_without_the_shared_folder_the_default_replays_bundled_data_sets(tmp_path: Path, monkeypatch: Any) -> None:
    """Docs hunt: the README's `galton bench --study allocation --out DIR` failed on a pip install with "shared
    datasets folder not found": its default data sets snow2008_rte and snow2008_temp are not bundled. Without
    the folder the default is the bundled zheng_s_dog and welinder_bluebirds (10 and 39 judgments per task)
    and the simulated crowd, and the log says so; with it, the snow2008 sets as before."""
    assert al.default_datasets() == (al.DEFAULT_DATASETS, None) or datasets.shared_root() is None
    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(tmp_path / "absent"))
    names, note = al.default_datasets()
    assert names == al.BUNDLED_DEFAULTS == ("zheng_s_dog", "welinder_bluebirds", "sheng")
    assert note is not None and note.startswith("shared datasets folder not found; the environment variable "
                                                "GALTON_SHARED_DATASETS=") and note.endswith(
        ": replaying the bundled zheng_s_dog and welinder_bluebirds and the simulated sheng instead of "
        "snow2008_rte and snow2008_temp")
    for name in names:  # each holds judgments back from a start of one per task
        data = al.load_replay_data(name)
        assert (data.counts >= 2).all() and (data.gold >= 0).any()
    log = io.StringIO()
    assert al.main(["--repeats", "1", "--batch", "100000", "--model", "mv", "--no-plots", "--out",
                    str(tmp_path / "r")], out=log) == 0
    assert log.getvalue().splitlines()[0] == note
    text = (tmp_path / "r" / "report.md").read_text()
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## zheng_s_dog", "## welinder_bluebirds", "## sheng (simulated, accuracy 0.7)"]
    quiet = io.StringIO()
    assert al.main(["--repeats", "1", "--batch", "100000", "--model", "mv", "--no-plots", "-q", "--out",
                    str(tmp_path / "q")], out=quiet) == 0
    assert quiet.getvalue() == ""
    monkeypatch.delenv("GALTON_SHARED_DATASETS")
    monkeypatch.setattr(datasets, "shared_root", lambda root=None: None)
    assert al.default_datasets()[1].startswith("shared datasets folder not found (set GALTON_SHARED_DATASETS to "
                                               "the folder that holds snow2008_rte and snow2008_temp): replaying")


# -------------------------------------------------------------------------------- ../shared
@pytest.mark.skipif(datasets.shared_root() is None, reason=SHARED_REASON)
def test_rte_replay_with_tiny_settings_gives_a_row_per_strategy() -> None:
    data = al.load_replay_data("snow2008_rte")
    assert data.n_tasks == 800 and data.counts.min() == data.counts.max() == 10 and (data.gold >= 0).all()
    res = al.replay(data, repetitions=1, batch=800, model="ds", seed=0)
    assert res.spent.tolist() == list(range(800, 8001, 800))
    rows = al.summarise(res)
    assert [r["strategy"] for r in rows] == ["uniform", "uncertainty", "eig"]
    assert all(0.5 < r["final"] <= 1.0 for r in rows) and len({r["final"] for r in rows}) == 1


def test_allocation_page_answers_first_with_one_row_per_data_set(tmp_path: Path) -> None:
    """index.html: the first table has one row per data set, with the judgments each strategy needs
    (made-up curves: eig reaches uniform's full-budget accuracy at 20 of 40, uncertainty never); the
    plot it shows exists."""
    pytest.importorskip("matplotlib")
    from html.parser import HTMLParser

    def made_up(name: str) -> al.ReplayResult:
        return al.ReplayResult(name, np.array([10, 20, 30, 40]), {
            "uniform": np.array([[0.5, 0.6, 0.7, 0.8], [0.5, 0.6, 0.8, 0.8]]),
            "uncertainty": np.array([[0.5, 0.55, 0.6, 0.7], [0.5, 0.6, 0.6, 0.7]]),
            "eig": np.array([[0.5, 0.8, 0.8, 0.8], [0.5, 0.8, 0.8, 0.8]])},
            total=40, start_total=10, n_tasks=10, max_per_task=4, seconds=0.0, batch=10)

    settings = {"start": 1, "batch": 10, "model": None, "repetitions": 2, "seed": 0}
    out = al.write_allocation_report([made_up("one"), made_up("two")], tmp_path / "rep", settings,
                                     load=(0.0, 0.0, 0.0))

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tables: list[list[list[str]]] = []
            self.imgs: list[str] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables.append([])
            elif tag == "tr":
                self.tables[-1].append([])
            elif tag in ("td", "th"):
                self.cell = []
            elif tag == "img":
                self.imgs.append(dict(attrs)["src"])

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell is not None:
                self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

    page = (out / "index.html").read_text()
    p = Rows()
    p.feed(page)
    head, *rows = p.tables[0]
    assert page.index("<table") < page.index("<img")  # the answer before the plot
    assert head[:3] == ["data set", "uniform's full-budget accuracy", "judgments (all)"]
    assert [r[0] for r in rows] == ["one", "two"]
    cells = dict(zip(head, rows[0]))
    assert cells["eig"].startswith("20 (50%") and cells["uncertainty"] == "not reached"
    assert cells["uniform"].startswith("40 (100%") and cells["verdict"].startswith("eig reaches it with 50%")
    assert p.imgs == ["allocation.png"] and (out / "allocation.png").read_bytes()[:4] == b"\x89PNG"
    # the load while it ran, as numbers (a string that lost its f-prefix printed "{load[0]:.2f}")
    assert re.search(r"Load average while it ran \(1, 5, 15 min\): [0-9.]+, [0-9.]+, [0-9.]+ on", page)


def test_a_model_the_replay_cannot_refit_is_refused_before_any_data_is_read(tmp_path: Path, capsys: Any) -> None:
    """Docs hunt: ``galton bench --study allocation --models bt`` failed at the first refit with
    "missing column(s) ['left', 'right'] ... name the worker and label columns with --worker-col"
    (options bench does not have); the replay refits a categorical model without gold, and says so
    first, as the crowd studies do. ``--help`` said --engine defaults to ray, where this study's is local."""
    for model, said in (("bt", "model 'bt' aggregates pairwise data; a crowd study needs categorical models: "),
                        ("rating_mean", "model 'rating_mean' aggregates rating data"),
                        ("gold_mv", "model 'gold_mv' needs gold labels to fit")):
        rc = cli_main(["bench", "--study", "allocation", "--models", model, "--out", str(tmp_path / "r"), "-q"])
        err = capsys.readouterr().err
        assert rc == 2 and said in err and "--worker-col" not in err and not (tmp_path / "r").exists(), err
        with pytest.raises(ValueError, match=said):
            al.replay(al.sheng_crowd(n_tasks=4, per_task=2, n_workers=3), model=model)
    with pytest.raises(ValueError, match="model 'bt' aggregates pairwise data"):
        al.run_allocation_study(["no_such_dataset"], model="bt")  # the model first, before any data set
    assert cli_main(["bench", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "ray in the studies shipped with galton; --study allocation: local)" in text


# -------------------------------------------------------------------------------- data sets read from a folder
def _data_set(root: Path, name: str, judgments: str, gold: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "judgments.csv").write_text(judgments)
    (root / name / "gold.csv").write_text(gold)


def test_empty_labels_are_left_out_of_the_replay_as_the_crowd_study_leaves_them(tmp_path: Path,
                                                                                 monkeypatch: Any) -> None:
    """Bug hunt: an empty label was coded -1 by pandas' factorize and fed to the model as a class of its
    own: a task whose only shown judgment was empty was predicted "-1", a wrong answer. Rows with an empty
    task, worker or label are dropped first, as the crowd study drops them: both keep the same judgments."""
    from galton.benchmarks.study import prepare_dataset

    rows = "".join(f"t{t},w{w},{'' if (t + w) % 3 == 0 else t % 2}\n" for t in range(6) for w in range(3))
    _data_set(tmp_path, "holes", "task,worker,label\n" + rows + ",w1,1\nt0,,1\n",
              "task,label\n" + "".join(f"t{t},{t % 2}\n" for t in range(6)))
    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(tmp_path))
    data = al.load_replay_data("holes")
    crowd = prepare_dataset("holes")
    assert data.task.size == crowd.task.size == 18 - 6  # 6 empty labels, 2 rows without a task or worker
    assert data.label.min() == 0 and len(data.label_names) == 2 and data.counts.tolist() == crowd.counts.tolist()
    assert data.gold.tolist() == [0, 1, 0, 1, 0, 1]
    res = al.replay(data, strategies=["uniform"], repetitions=1, batch=6, model="mv", seed=0)
    # every judgment given is right: so is every task from the start (an empty one shown first was a wrong "-1")
    assert res.acc["uniform"].tolist() == [[1.0, 1.0]] and res.total == 12


def test_integer_task_ids_find_their_gold_when_gold_ids_were_read_as_text(tmp_path: Path, monkeypatch: Any) -> None:
    """Bug hunt: gold holding an id that is no number ('extra') is read as text, so '5' never matched the
    judgments' task 5 and the replay said "no task with judgments has a gold label". Gold ids are now brought
    to the judgments' type as the crowd study brings them (its task_index): the two find the same gold."""
    from galton.benchmarks.study import prepare_dataset

    rows = "".join(f"{t},w{w},{t % 2 if w else 1 - t % 2}\n" for t in range(6) for w in range(3))
    _data_set(tmp_path, "ints", "task,worker,label\n" + rows,
              "task,label\n" + "".join(f"{t},{t % 2}\n" for t in (0, 2, 3, 5)) + "extra,0\n")
    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(tmp_path))
    data = al.load_replay_data("ints")
    assert data.gold.tolist() == [0, -1, 0, 1, -1, 1] == prepare_dataset("ints").gold.tolist()


def test_a_start_that_shows_every_judgment_is_refused(tmp_path: Path) -> None:
    """Bug hunt: --start 8 on data with 8 judgments per task held nothing back: every strategy was one
    point, "100% (not reached)" and nan columns. A start at or above the most judgments of any task is
    refused before any replay."""
    data = al.sheng_crowd(n_tasks=20, per_task=4, n_workers=8, seed=1)
    said = (r"sheng \(simulated, accuracy 0.7\): start 4 shows every judgment \(a task has at most 4\), so none is "
            r"held back to allocate; use a start below 4")
    for start in (4, 5):
        with pytest.raises(ValueError, match=said.replace("start 4", f"start {start}")):
            al.replay(data, start=start, model="mv")
    assert al.replay(data, start=3, repetitions=1, batch=20, model="mv").spent.tolist() == [60, 80]
    with pytest.raises(ValueError, match=r"start 10 shows every judgment \(a task has at most 10\)"):
        al.main(["--datasets", "sheng", "--start", "10", "--model", "mv", "--no-plots", "-q",
                 "--out", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()


def test_a_shared_prefix_names_the_shared_copy_as_in_the_crowd_study(tmp_path: Path, capsys: Any,
                                                                     monkeypatch: Any) -> None:
    """Bug hunt: --study allocation --datasets shared:normal said "no dataset named 'shared:normal'",
    while the crowd study reads shared:NAME (and bundled:NAME) as the copy to use. The replay of shared:NAME
    is the replay of NAME (same name, so the same shuffles)."""
    rows = "".join(f"t{t},w{w},{t % 2 if w else 1 - t % 2}\n" for t in range(6) for w in range(3))
    _data_set(tmp_path, "normal", "task,worker,label\n" + rows, "task,label\n" + "".join(f"t{t},{t % 2}\n"
                                                                                         for t in range(6)))
    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(tmp_path))
    plain, shared = al.load_replay_data("normal"), al.load_replay_data("shared:normal")
    assert shared.name == plain.name == "normal"
    for f in ("task", "worker", "label", "gold"):
        assert np.array_equal(getattr(shared, f), getattr(plain, f)), f
    assert al.load_replay_data("bundled:welinder_bluebirds").name == "welinder_bluebirds"
    rc = cli_main(["bench", "--study", "allocation", "--datasets", "shared:normal", "--models", "mv", "--repeats",
                   "1", "--no-plots", "-q", "--out", str(tmp_path / "r")])
    assert rc == 0, capsys.readouterr().err
    assert "## normal" in (tmp_path / "r" / "report.md").read_text()


def test_allocates_warning_about_a_vote_share_model_is_said_once_per_data_set(tmp_path: Path, capsys: Any) -> None:
    """Bug hunt: with --models mv every ranking warned (UserWarning: "MajorityVote gives N task(s) judged once a
    probability of exactly 1 ...") on the terminal, --quiet or not, once per round and strategy. That is what
    the replay measures with mv, so it is said once per data set, in the report and the log: the warning's
    text with its numbers as # and the rankings that raised it."""
    import warnings

    data = al.sheng_crowd(n_tasks=20, per_task=4, n_workers=8, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = al.replay(data, repetitions=1, batch=20, model="mv")
    assert [str(w.message) for w in caught] == []
    # 4 points, 3 rankings per strategy: only the first sees tasks judged once (then each has 2, 3)
    assert res.spent.tolist() == [20, 40, 60, 80]
    assert res.warnings == {
        f"MajorityVote gives every task a probability of 0 or 1, so every {s} score is 0 and the order is the seeded "
        "tie break; allocate with a model that gives probabilities (bds, ds), or strategy='uniform'": 1
        for s in ("uncertainty", "eig")}
    # tasks 10-19 keep one judgment: from the second ranking on, 17, then fewer, tasks are judged once (each
    # ranking says its own number): one text, the first, with the rankings that raised it
    keep = (data.task < 10) | (np.arange(data.task.size) % 4 == 0)
    data = al.ReplayData("mixed", data.task[keep], data.worker[keep], data.label[keep], data.gold, [0, 1])
    res = al.replay(data, strategies=["eig"], repetitions=1, batch=3, model="mv")
    assert res.spent.tolist() == list(range(20, 51, 3))
    (every, n_every), (once, n_once) = res.warnings.items()
    assert every.startswith("MajorityVote gives every task") and once.startswith("MajorityVote gives 17 task(s)")
    assert n_every + n_once == 10  # every ranking warned: said once each
    log = io.StringIO()
    rc = al.main(["--datasets", "sheng", "--model", "mv", "--repeats", "1", "--batch", "900", "--no-plots",
                  "--out", str(tmp_path / "r")], out=log)
    err = capsys.readouterr().err
    assert rc == 0 and "UserWarning" not in err and "MajorityVote gives" not in err
    assert log.getvalue().count("allocate warned in") == 2  # once per text (uncertainty, eig), not per round
    md = (tmp_path / "r" / "report.md").read_text()
    assert md.count("allocate warned in") == 2 and "MajorityVote gives every task a probability of 0 or 1" in md
    assert "allocate warned in" in (tmp_path / "r" / "index.html").read_text()
