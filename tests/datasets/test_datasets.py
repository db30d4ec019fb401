"""Tests for galton.datasets: the bundle, the shared folder reader, export and metadata.

The expected counts are the ones published in ../shared/datasets/INDEX.md; tests that compare the
bundle with the shared CSV files skip when that folder is absent (it is present in CI).
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import polars as pl
import pytest

import galton.datasets as gd
from galton.datasets import _build_bundle, _io

SHARED_SKIP = "../shared/datasets not found; these tests run in CI"

# name: (judgments, tasks, workers, distinct labels, repeated (task, worker) rows, gold rows)
EXPECTED: dict[str, tuple[int, int, int, int, int, int]] = {
    "act_cf": (1720, 300, 461, 5, 0, 300),
    "act_ms": (2945, 700, 44, 10, 0, 700),
    "act_sp": (27746, 4999, 203, 2, 0, 4999),
    "act_zencrowd_all": (21855, 2040, 78, 2, 1730, 2040),
    "imagenet_real_golden": (88530, 1135, 78, 3, 0, 1135),
    "welinder_bluebirds": (4212, 108, 39, 2, 0, 108),
    "zheng_d_possent": (20000, 1000, 85, 2, 0, 1000),
    "zheng_d_product": (24945, 8315, 176, 2, 0, 8315),
    "zheng_s_adult": (92721, 11040, 825, 4, 2922, 333),
    "zheng_s_dog": (8070, 807, 109, 4, 0, 807),
    "zheng_s_face": (5242, 584, 27, 4, 0, 584),
    "zheng_s_rel": (98453, 20232, 766, 4, 1570, 4460),
}
NOT_BUNDLED = [
    "dawid_skene_1979",  # GPL-2
    "snow2008_affect_anger",  # no licence stated, and the rest below likewise
    "snow2008_rte",
    "whitehill_duchenne",
    "zheng_n_emotion",
    "zhou_web",
]


@pytest.fixture(scope="module")
def bundled() -> dict[str, gd.Dataset]:
    return {name: gd.load(name) for name in EXPECTED}


@pytest.fixture(scope="module")
def shared() -> Path:
    root = gd.shared_root()
    if root is None:
        pytest.skip(SHARED_SKIP)
    return root


# --- the bundle -------------------------------------------------------------------------------


def test_names_are_exactly_the_permissively_licensed_sets() -> None:
    assert gd.names() == sorted(EXPECTED)
    assert not set(NOT_BUNDLED) & set(gd.names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundled_counts_match_index(name: str, bundled: dict[str, gd.Dataset]) -> None:
    n_rows, n_tasks, n_workers, n_labels, n_repeated, n_gold = EXPECTED[name]
    j, gold, experts = bundled[name]
    assert j.columns == ["task", "worker", "label"]
    assert j.height == n_rows
    assert j["task"].n_unique() == n_tasks
    assert j["worker"].n_unique() == n_workers
    assert j["label"].n_unique() == n_labels
    assert j.height - j.select("task", "worker").unique().height == n_repeated
    assert j.null_count().row(0) == (0, 0, 0)
    assert gold.columns == ["task", "label"]
    assert gold.height == n_gold == gold["task"].n_unique()
    assert gold["task"].is_in(j["task"].implode()).all(), "gold for a task nobody judged"
    assert experts is None or name == "imagenet_real_golden"


def test_imagenet_experts(bundled: dict[str, gd.Dataset]) -> None:
    j, gold, experts = bundled["imagenet_real_golden"]
    assert experts.columns == ["task", "expert", "label"]
    assert experts.height == 5675
    assert experts["expert"].n_unique() == 5
    assert experts["task"].n_unique() == 1135
    # README: gold is the experts' majority; with 5 experts and 3 labels a majority label is the
    # most frequent one, so it must be among each task's modal expert labels.
    counts = experts.group_by("task", "label").len()
    top = counts.filter(pl.col("len") == pl.col("len").max().over("task"))
    assert gold.join(top, on=["task", "label"], how="semi").height == gold.height


def test_dtypes_ints_stay_ints_strings_stay_strings(bundled: dict[str, gd.Dataset]) -> None:
    assert dict(bundled["act_cf"].judgments.schema) == {
        "task": pl.Int64,
        "worker": pl.Int64,
        "label": pl.Int64,
    }
    assert dict(bundled["imagenet_real_golden"].judgments.schema) == {
        "task": pl.String,
        "worker": pl.Int64,
        "label": pl.Int64,
    }
    assert (
        bundled["imagenet_real_golden"].judgments["task"][0] == "ILSVRC2012_val_00030153.JPEG|101"
    )
    assert bundled["act_sp"].judgments.schema["worker"] == pl.String
    assert bundled["act_ms"].gold.schema["task"] == pl.String
    for ds in bundled.values():
        assert ds.judgments.schema["label"] == pl.Int64
        assert ds.gold.schema["label"] == pl.Int64


def test_pandas_frame() -> None:
    pd = pytest.importorskip("pandas")
    ds = gd.load("imagenet_real_golden", frame="pandas")
    assert all(isinstance(t, pd.DataFrame) for t in ds)
    assert list(ds.judgments.columns) == ["task", "worker", "label"]
    assert str(ds.judgments["label"].dtype) == "int64"
    assert pd.api.types.is_string_dtype(ds.judgments["task"])
    assert len(ds.experts) == 5675
    assert gd.load("act_cf", frame="pandas").experts is None


def test_arrow_frame() -> None:
    import pyarrow as pa

    ds = gd.load("imagenet_real_golden", frame="arrow")
    assert all(isinstance(t, pa.Table) for t in ds)
    assert ds.judgments.column_names == ["task", "worker", "label"]
    assert ds.judgments.num_rows == 88530
    assert ds.judgments.schema.field("label").type == pa.int64()
    assert pa.types.is_string(ds.judgments.schema.field("task").type) or pa.types.is_large_string(
        ds.judgments.schema.field("task").type
    )


def test_unknown_name_lists_valid_names_and_points_to_load_shared() -> None:
    with pytest.raises(ValueError) as err:
        gd.load("snow2008_rte")
    message = str(err.value)
    assert "'snow2008_rte'" in message
    assert all(name in message for name in EXPECTED)
    assert "load_shared(name, root)" in message
    with pytest.raises(ValueError, match="act_cf"):
        gd.info("nope")
    with pytest.raises(ValueError, match="act_cf"):
        gd.export("nope", "x.csv")


def test_unknown_frame_rejected() -> None:
    with pytest.raises(ValueError, match="'polars', 'pandas', 'arrow'"):
        gd.load("act_cf", frame="numpy")


def test_info_is_the_attribution() -> None:
    text = gd.info("welinder_bluebirds")
    assert "welinder/cubam" in text and "BSD" in text
    assert "Apache-2.0" in gd.info("imagenet_real_golden")
    sources = (Path(gd.__file__).parent / "data" / "SOURCES.md").read_text()
    assert all(f"| {name} |" in sources for name in EXPECTED)


def test_every_bundled_licence_ships_its_text_and_notice() -> None:
    """Bug hunt: the repository had no LICENSE (pyproject says Apache-2.0) and the wheel shipped the MIT and
    BSD-3-Clause-Clear datasets without the licence texts and copyright notices those licences require. Each
    bundled dataset's licence (as its README states it) now has its text: Apache-2.0 galton's own LICENSE,
    the others a file of data/LICENSES/ with the upstream notice, named beside the dataset in its README;
    pyproject lists them all as license-files (the wheel's .dist-info/licenses)."""
    import sys

    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    repo = Path(gd.__file__).resolve().parents[2]
    apache = (repo / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in apache
    assert "END OF TERMS AND CONDITIONS" in apache and len(apache.splitlines()) == 202
    licences = repo / "galton" / "datasets" / "data" / "LICENSES"
    texts = {"MIT": ("Permission is hereby granted, free of charge", "Copyright (c) 2019 Yuan Li"),
             "BSD-3-Clause-Clear": ("NO EXPRESS OR IMPLIED LICENSES TO ANY PARTY'S PATENT RIGHTS",
                                    "Copyright (c) 2011-2012 Peter Welinder")}
    index = (licences / "README.md").read_text()
    lines = [line for line in index.splitlines() if line.startswith("| ") and "---" not in line]
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines)}
    seen = set()
    for name in gd.names():
        licence = _build_bundle.classify(name, gd.info(name)).licence
        row = next(cells for names, cells in rows.items() if name in names.split(", "))
        assert row[1] == licence, name
        if licence == "Apache-2.0":
            assert "galton's own `LICENSE`" in row[3], name
            continue
        file = row[3].split("`")[1]
        text = (licences / file).read_text()
        assert all(part in text for part in texts[licence]), (name, file)
        seen.add(file)
    assert seen == {"MIT-truth-inference-at-scale.txt", "BSD-3-Clause-Clear-cubam.txt"}
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE", "galton/datasets/data/LICENSES/*"]


def test_is_numeric() -> None:
    for name in ("snow2008_affect_anger", "snow2008_affect_valence", "zheng_n_emotion"):
        assert gd.is_numeric(name)
    for name in ("act_cf", "snow2008_rte", "zheng_s_rel", "zhou_web"):
        assert not gd.is_numeric(name)


# --- export -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_round_trip_leaves_no_temp_file(
    tmp_path: Path, suffix: str, bundled: dict[str, gd.Dataset]
) -> None:
    target = tmp_path / f"cf{suffix}"
    target.write_text("old content")  # replaced as a whole
    assert gd.export("act_cf", target) == target
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    back = (
        pl.read_csv(target, infer_schema_length=None)
        if suffix == ".csv"
        else pl.read_parquet(target)
    )
    assert back.equals(bundled["act_cf"].judgments)
    assert back.schema == bundled["act_cf"].judgments.schema


def test_export_failure_keeps_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "cf.csv"
    target.write_text("old content")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        gd.export("act_cf", target)
    assert [p.name for p in tmp_path.iterdir()] == ["cf.csv"]
    assert target.read_text() == "old content"


def test_export_gold_and_experts_tables(tmp_path: Path, bundled: dict[str, gd.Dataset]) -> None:
    gd.export("imagenet_real_golden", tmp_path / "g.parquet", table="gold")
    gd.export("imagenet_real_golden", tmp_path / "e.parquet", table="experts")
    assert pl.read_parquet(tmp_path / "g.parquet").equals(bundled["imagenet_real_golden"].gold)
    assert pl.read_parquet(tmp_path / "e.parquet").equals(bundled["imagenet_real_golden"].experts)
    with pytest.raises(ValueError, match="has no experts table; it has: judgments, gold"):
        gd.export("act_cf", tmp_path / "x.csv", table="experts")
    with pytest.raises(ValueError, match="table must be one of judgments, gold, experts"):
        gd.export("act_cf", tmp_path / "x.csv", table="workers")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.parquet", "g.parquet"]


def test_export_rejects_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.xlsx.*\.csv|\.csv.*\.parquet|extension"):
        gd.export("act_cf", tmp_path / "cf.xlsx")
    assert list(tmp_path.iterdir()) == []


# --- the shared folder ------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundle_equals_shared_csv_row_for_row(
    name: str, shared: Path, bundled: dict[str, gd.Dataset]
) -> None:
    from_csv = gd.load_shared(name, shared)
    for table, frame in bundled[name]._asdict().items():
        path = shared / name / f"{table}.csv"
        if frame is None:
            assert not path.exists()
            assert getattr(from_csv, table) is None
            continue
        assert (
            frame.equals(getattr(from_csv, table))
            and frame.schema == getattr(from_csv, table).schema
        )
        rows = _csv_rows(path)  # independent of polars' CSV reader: compare the text itself
        assert rows[0] == frame.columns
        assert [[str(v) for v in row] for row in frame.iter_rows()] == rows[1:]


def test_shared_names_and_unbundled_sets(shared: Path) -> None:
    names = gd.shared_names(shared)
    assert set(EXPECTED) | set(NOT_BUNDLED) <= set(names)
    ds = gd.load_shared("dawid_skene_1979", shared)
    assert ds.judgments.height == 315 and ds.gold is None and ds.experts is None
    rte = gd.load_shared("snow2008_rte", shared, frame="arrow")
    assert rte.judgments.num_rows == 8000 and rte.gold.num_rows == 800
    with pytest.raises(ValueError, match="dawid_skene_1979"):
        gd.load_shared("no_such_set", shared)


def test_build_decisions_match_bundle(shared: Path) -> None:
    decisions = _build_bundle.build(shared, dry_run=True)
    assert sorted(d.name for d in decisions if d.bundle) == gd.names()


def test_shared_root_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "absent"
    assert gd.shared_root(missing) is None
    with pytest.raises(FileNotFoundError, match="absent") as err:
        gd.load_shared("act_cf", missing)
    assert "GALTON_SHARED_DATASETS" in str(err.value)
    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(missing))
    assert gd.shared_root() is None
    with pytest.raises(FileNotFoundError, match="absent"):
        gd.shared_names()
    monkeypatch.setenv("GALTON_SHARED_DATASETS", str(tmp_path))
    assert gd.shared_root() == tmp_path.resolve()


def _fake_root(tmp_path: Path) -> Path:
    """A shared-layout folder with one bundleable and one GPL dataset, ids with leading zeros."""
    root = tmp_path / "shared"
    for name, licence in (("tiny", "GitHub repo a/b, MIT licence."), ("gpl", "Package x (GPL-2).")):
        d = root / name
        d.mkdir(parents=True)
        (d / "README.md").write_text(f"# {name}\n\nA tiny set. {licence}\n")
        (d / "judgments.csv").write_text("task,worker,label\n007,1,yes\n8,2,no\n008,1,no\n")
        (d / "gold.csv").write_text("task,label\n007,yes\n")
    return root


def test_leading_zero_ids_stay_text(tmp_path: Path) -> None:
    ds = gd.load_shared("tiny", _fake_root(tmp_path))
    assert ds.judgments["task"].to_list() == ["007", "8", "008"]
    assert ds.judgments["worker"].dtype == pl.Int64
    assert ds.gold["task"].to_list() == ["007"]


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "judgments.csv"
    path.write_text("task,annotator,label\n1,2,3\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['worker'\]"):
        _io.read_csv(path, "judgments")


def test_build_bundle_into_tmp(tmp_path: Path) -> None:
    out = tmp_path / "out"
    decisions = {d.name: d for d in _build_bundle.build(_fake_root(tmp_path), out)}
    assert decisions["tiny"].licence == "MIT" and decisions["gpl"].licence is None
    assert sorted(p.name for p in out.iterdir()) == ["SOURCES.md", "tiny"]
    assert sorted(p.name for p in (out / "tiny").iterdir()) == [
        "README.md",
        "gold.parquet",
        "judgments.parquet",
    ]
    assert pl.read_parquet(out / "tiny" / "judgments.parquet")["task"].to_list() == [
        "007",
        "8",
        "008",
    ]
    sources = (out / "SOURCES.md").read_text()
    assert "| tiny | https://github.com/a/b | MIT |" in sources and "gpl" in sources


@pytest.mark.parametrize(
    ("readme", "licence"),
    [
        ("Repo x/y, Apache-2.0.", "Apache-2.0"),
        ("Licensed under the Apache License, Version 2.0.", "Apache-2.0"),
        ("GitHub repo welinder/cubam, Clear BSD licence.", "BSD-3-Clause-Clear"),
        ("Copy in repo x/y (MIT licence for that repo).", "MIT"),
        ("Transcribed in the R package 'rater' (GPL-2).", None),
        ("Copy in repo x/y (no licence file). Research use.", None),
        ("The original release states no licence. Tools are MIT.", None),
        ("Research use.", None),
    ],
)
def test_classify_licence(readme: str, licence: str | None) -> None:
    assert _build_bundle.classify("x", f"# x\n\n{readme}\n").licence == licence


def test_subpackage_imports_neither_ray_nor_models() -> None:
    forbidden = ("ray", "galton.judgments", "galton.aggregator", "galton.workers")
    for path in Path(gd.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [("galton." if node.level >= 2 else "") + (node.module or "")]
                # beside the models: only galton.io (atomic writers), galton._math (shared math),
                # galton._settings (the whole-number check a study file shares) and galton._extras (the
                # error of a missing optional dependency)
                assert node.level <= 1 or mods in (["galton.io"], ["galton._math"], ["galton._settings"],
                                                   ["galton._extras"]), f"{path.name} imports {mods}"
            else:
                continue
            for mod in mods:
                assert not mod.startswith(forbidden), f"{path.name} imports {mod}"
