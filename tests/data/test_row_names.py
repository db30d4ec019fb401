"""Errors name bad rows as the user finds them: by a pandas frame's own index when it is not the
default 0..n-1 (``df.loc[label]``), and by the input's position when rows were dropped first."""
import re

import numpy as np
import pandas as pd
import pytest

import galton


def _judgments(index=None):
    return pd.DataFrame({"task": ["a", "b", "c", "a", "d"], "worker": ["w", "w", None, "w", "x"],
                         "label": [1, 2, 3, 1, 2]}, index=index)


def test_null_rows_named_by_the_frame_index():
    df = _judgments(["r1", "r2", "r3", "r4", "r5"])
    with pytest.raises(ValueError, match=re.escape("column 'worker' has 1 null value(s) (rows with index 'r3')")):
        galton.DawidSkene().fit(df)


def test_a_filtered_frame_names_its_own_labels_not_positions():
    df = pd.concat([_judgments(), _judgments()], ignore_index=True).iloc[5:]  # index 5..9
    with pytest.raises(ValueError, match=re.escape("(rows with index 7)")):
        galton.MajorityVote().fit(df)


def test_default_index_keeps_positions():
    with pytest.raises(ValueError, match=re.escape("(rows 2)")):
        galton.MajorityVote().fit(_judgments())


def test_rows_after_a_drop_are_the_inputs_rows():
    # row 2 (a null) is dropped first; the repeated pair is the input's row 3, not the filtered row 2
    with pytest.raises(ValueError, match=re.escape("1 repeated (task, worker) pair(s) (rows 3)")):
        galton.Judgments.from_any(_judgments(), on_invalid="drop", duplicates="raise")
    with pytest.raises(ValueError, match=re.escape("(rows with index 'r4')")):
        galton.Judgments.from_any(_judgments(list("r1 r2 r3 r4 r5".split())), on_invalid="drop",
                                  duplicates="raise")


def test_comparisons_name_rows_by_index():
    df = pd.DataFrame({"left": ["a", "b", "c"], "right": ["b", "c", "a"], "label": ["a", "c", "zz"]},
                      index=[5, 6, 7])
    for model in (galton.BradleyTerry(n_iter=5), galton.PlackettLuce()):
        with pytest.raises(ValueError, match=re.escape("(rows with index 7; row with index 7: label 'zz'")):
            model.fit(df)


def test_choices_name_rows_by_index():
    df = pd.DataFrame({"options": [["a", "b"], ["a", "b"], ["a", "c"]], "choice": ["a", "z", "c"]},
                      index=[100, 200, 300])
    with pytest.raises(ValueError, match=re.escape("(rows with index 200; row with index 200: 'z' not in")):
        galton.PlackettLuce().fit(df)


def test_infinite_ratings_name_rows_by_index():
    df = pd.DataFrame({"task": ["a", "b", "c", "a"], "worker": ["w", "w", "x", "x"],
                       "label": [1.0, np.inf, 3.0, -1e300]}, index=["r1", "r2", "r3", "r4"])
    for model in (galton.MeanRating(), galton.CATD()):
        with pytest.raises(ValueError, match=re.escape("2 rating(s) that are infinite or beyond ±1e+150 "
                                                       "(inf, -1e+300; rows with index 'r2', 'r4')")):
            model.fit(df)


def _parquet_parts(tmp_path, second):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "parts"
    (folder / "day=2").mkdir(parents=True)
    pq.write_table(pa.table({"task": [1, 2, 3], "worker": ["a", "b", "c"], "label": [1, 0, 1]}),
                   folder / "a.parquet")
    pq.write_table(pa.table(second), folder / "day=2" / "b.parquet")
    return folder


def test_a_parquet_folder_names_bad_rows_by_file_and_row(tmp_path):
    # rows 5 and 4 of the folder as one table are rows 2 and 1 of its second file
    folder = _parquet_parts(tmp_path, {"task": [4, 5, 6], "worker": ["a", "b", None], "label": [1, None, 1]})
    b = f"in {'day=2/b.parquet'}"
    with pytest.raises(ValueError, match=re.escape(f"column 'worker' has 1 null value(s) ({b}: rows 2); "
                                                   f"column 'label' has 1 null value(s) ({b}: rows 1)")):
        galton.Judgments.from_any(str(folder))
    with pytest.raises(ValueError, match=re.escape(f"({b}: rows 2)")):  # a pattern of the same files
        galton.Judgments.from_any(str(folder / "**" / "*.parquet"))


def test_a_parquet_folder_names_repeated_pairs_by_file(tmp_path):
    folder = _parquet_parts(tmp_path, {"task": [4, 1, 4], "worker": ["a", "a", "a"], "label": [1, 0, 1]})
    with pytest.raises(ValueError, match=re.escape("2 repeated (task, worker) pair(s) (in day=2/b.parquet: "
                                                   "rows 1, 2)")):
        galton.Judgments.from_any(str(folder), duplicates="raise")


def test_file_rows_spans_several_files():
    from galton.data._validate import FileRows, example_rows

    rows = FileRows(["a.parquet", "b.parquet", "c.parquet"], [2, 0, 3])
    assert example_rows(np.array([1, 2, 4]), rows) == "in a.parquet: rows 1; in c.parquet: rows 0, 2"
    assert example_rows(np.arange(7), rows).endswith("in c.parquet: rows 0, 1, 2, ...")


def test_a_filtered_folder_table_names_its_own_rows(tmp_path):
    # Arrow keeps the folder's file map through filter / slice: the null in b.parquet's row 2 was
    # reported as "in a.parquet: rows 2" for the table of b's rows; the map no longer adds up
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = _parquet_parts(tmp_path, {"task": [4, 5, 6], "worker": ["a", "b", None], "label": [1, 0, 1]})
    table = galton.io.read_input(str(folder))
    assert "in day=2/b.parquet: rows 2" in _null_error(table)
    b_only = table.filter(pc.greater(table["task"], 3))
    for t in (b_only, table.slice(3)):
        assert "column 'worker' has 1 null value(s) (rows 2)" in _null_error(t)
    saved = galton.write_table(b_only, tmp_path / "clean.parquet")  # the saved file: no map of other files
    assert not any(k.startswith(b"galton.") for k in pq.read_schema(saved).metadata or {})
    assert "(rows 2)" in _null_error(str(saved))


@pytest.mark.parametrize("sources", [b"{not json", b'{"files": ["x"], "rows": []}', b'{"files": ["x"], "rows": [3]}',
                                     b'{"files": ["x", "y"], "rows": [1, 2]}', b"[1, 2]", b'{"files": "x", "rows": 3}'])
def test_a_file_with_a_foreign_file_map_names_its_own_rows(tmp_path, sources):
    # a single Parquet file is its own rows whatever map it carries (it gave a raw JSON error, or
    # "in x: rows 2"); an in-memory table's map is used only when it parses and adds up to its rows
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"task": [4, 5, 6], "worker": ["a", "b", None], "label": [1, 0, 1]})
    table = table.replace_schema_metadata({b"galton.sources": sources})
    pq.write_table(table, tmp_path / "f.parquet")
    assert "column 'worker' has 1 null value(s) (rows 2)" in _null_error(str(tmp_path / "f.parquet"))
    expected = {b'{"files": ["x"], "rows": [3]}': "(in x: rows 2)",
                b'{"files": ["x", "y"], "rows": [1, 2]}': "(in y: rows 1)"}.get(sources, "(rows 2)")
    assert f"column 'worker' has 1 null value(s) {expected}" in _null_error(table)


def _null_error(source):
    with pytest.raises(ValueError) as info:
        galton.Judgments.from_any(source)
    return str(info.value)
