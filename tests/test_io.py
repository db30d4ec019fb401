"""Tests for galton.io: atomic writers, format selection, round trips and the results table."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import galton
from galton.io import _write as gio
from galton.io import read_input
from galton.judgments import Judgments


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- format selection -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, fmt",
    [("r.parquet", "parquet"), ("r.PQ", "parquet"), ("r.csv", "csv"), ("a.b.CSV", "csv"), ("r.tsv", "tsv"),
     ("r.jsonl", "jsonl"), ("r.NDJSON", "jsonl")],
)
def test_table_format_by_extension(name: str, fmt: str) -> None:
    assert gio.table_format(name) == fmt


@pytest.mark.parametrize("name", ["r.txt", "results", "r.parquet.bak", "r.json"])
def test_unknown_extension_is_a_clear_error_and_writes_nothing(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"\.parquet, \*\.pq, \*\.csv, \*\.tsv or \*\.jsonl \(JSON lines\)"):
        gio.write_table(pa.table({"a": [1]}), tmp_path / name)
    assert _listing(tmp_path) == []


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gio.write_table(pa.table({"a": [1]}), tmp_path / "no" / "r.csv")
    assert _listing(tmp_path) == []


def test_unsupported_table_type() -> None:
    with pytest.raises(TypeError, match="pyarrow Table, a polars DataFrame or a pandas DataFrame"):
        gio.write_table([1, 2, 3], "x.csv")


# --- round trips -----------------------------------------------------------------------------------
def _table(label_kind: str) -> pa.Table:
    labels = {"int": [3, 1, 2, 1], "str": ["cat", "dog", "emu", "dog"], "bool": [True, False, True, True]}
    return pa.table({
        "task": ["t007", "t010", "t2", "x"],
        "label": labels[label_kind],
        "confidence": [0.5, 0.25, 1.0 / 3.0, 0.1 + 0.2],
    })


@pytest.mark.parametrize("ext", [".parquet", ".pq", ".csv", ".tsv", ".jsonl"])
@pytest.mark.parametrize("label_kind", ["int", "str", "bool"])
def test_round_trip_keeps_values_and_types(tmp_path: Path, ext: str, label_kind: str) -> None:
    table = _table(label_kind)
    path = gio.write_table(table, tmp_path / f"out{ext}")
    assert _listing(tmp_path) == [f"out{ext}"]  # no temporary file left
    back = pl.read_csv(path, separator="\t" if ext == ".tsv" else ",") if ext in (".csv", ".tsv") \
        else pl.read_ndjson(path) if ext == ".jsonl" else pl.read_parquet(path)
    expected = pl.from_arrow(table)
    assert back.schema == expected.schema
    assert back.equals(expected)  # floats included: shortest round-trip text in CSV and JSON
    if ext == ".jsonl":  # galton's reader reads it back the same (one format both ways)
        from galton.io import read_input

        assert pl.from_arrow(read_input(path)).equals(expected)
    # galton's own reader sees the same label type
    j = Judgments.from_any(back.with_columns(worker=pl.lit("w")))
    assert j.label_names.tolist() == sorted(set(table.column("label").to_pylist()))


@pytest.mark.parametrize("kind", ["arrow", "polars", "pandas", "record_batch"])
def test_accepts_arrow_polars_pandas(tmp_path: Path, kind: str) -> None:
    table = _table("int")
    obj = {"arrow": table, "polars": pl.from_arrow(table), "pandas": table.to_pandas(),
           "record_batch": table.to_batches()[0]}[kind]
    path = gio.write_table(obj, tmp_path / "out.parquet")
    back = pq.read_table(path)
    assert back.column_names == table.column_names
    assert back.to_pylist() == table.to_pylist()
    # string / large_string depending on the source; the value types are what matters
    assert pl.from_arrow(back).schema == pl.from_arrow(table).schema


def test_pandas_series_keeps_its_index(tmp_path: Path) -> None:
    labels = pd.Series([1, 0], index=pd.Index(["a", "b"], name="task"), name="agg_label")
    back = pl.read_csv(gio.write_table(labels, tmp_path / "l.csv"))
    assert back.columns == ["task", "agg_label"]
    assert back["task"].to_list() == ["a", "b"] and back["agg_label"].to_list() == [1, 0]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_a_filtered_pandas_frame_writes_its_columns_only(tmp_path: Path, suffix: str) -> None:
    res = pd.DataFrame({"task": ["a", "b", "c", "d"], "label": [1, 0, 1, 1], "confidence": [0.5, 1.0, 0.7, 1.0]})
    cases = {"filtered": (res[res.confidence > 0.99], ["b", "d"]),  # index [1, 3]: positions, not data
             "sorted": (res.sort_values("confidence"), ["a", "c", "b", "d"]),
             "indexed twice": (res.set_index("task", drop=False), ["a", "b", "c", "d"])}  # pandas: "already exists"
    for name, (frame, tasks) in cases.items():
        path = gio.write_table(frame, tmp_path / f"{name}{suffix}")
        back = pl.from_arrow(read_input(path, ids=("task",)))
        assert back.columns == ["task", "label", "confidence"], name
        assert back["task"].to_list() == tasks, name
    named = res.rename_axis("row")[res.confidence > 0.99]  # a named index is data: kept, first
    back = pl.from_arrow(read_input(gio.write_table(named, tmp_path / f"named{suffix}"), ids=("task",)))
    assert back.columns == ["row", "task", "label", "confidence"] and back["row"].to_list() == [1, 3]
    ids = pd.Series([1, 0], index=["x", "y"], name="label")  # unnamed ids (no integers): kept too
    back = pl.from_arrow(read_input(gio.write_table(ids, tmp_path / f"ids{suffix}"), ids=("index",)))
    assert back.columns == ["index", "label"] and back["index"].to_list() == ["x", "y"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_galton_pandas_results_with_integer_ids_keep_them(tmp_path: Path, suffix: str) -> None:
    # crowd-kit leaves these results' index unnamed; their integer ids were taken for row positions and dropped
    comp = pd.DataFrame({"worker": [1, 1, 2, 2, 3], "left": [10, 20, 30, 10, 20], "right": [20, 30, 10, 30, 10],
                         "label": [10, 20, 30, 10, 20]})
    cat = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("ababab"), "label": [0, 0, 1, 1, 0, 1]})
    noisy = galton.NoisyBradleyTerry().fit(comp)
    glad = galton.GLAD().fit(cat)
    cases = {"scores": (galton.BradleyTerry().fit(comp).scores_, ["item", "agg_score"]),
             "skills": (noisy.skills_, ["worker", "skill"]), "biases": (noisy.biases_, ["worker", "bias"]),
             "priors": (glad.priors_, ["label", "prior"])}
    for name, (result, columns) in cases.items():
        assert result.index.name is None  # crowd-kit's layout is unchanged
        back = pl.from_arrow(read_input(gio.write_table(result, tmp_path / f"{name}{suffix}"), ids=(columns[0],)))
        assert back.columns == columns, name
        assert dict(zip(back[columns[0]].to_list(), back[columns[1]].to_list())) == result.to_dict(), name
    text = galton.GLAD().fit(cat.assign(label=cat.label.map({0: "no", 1: "yes"}))).priors_  # was a column 'index'
    assert pl.read_csv(gio.write_table(text, tmp_path / "text.csv")).columns == ["label", "prior"]
    ids = pd.Series([0.5, 0.2], index=[3, 1], name="x")  # a user's Series: its integer index is its ids too
    back = pl.read_csv(gio.write_table(ids, tmp_path / "ids.csv"))
    assert back.columns == ["index", "x"] and back["index"].to_list() == [3, 1]
    plain = pd.Series([0.5, 0.2], name="x")  # a default RangeIndex is positions
    assert pl.read_csv(gio.write_table(plain, tmp_path / "plain.csv")).columns == ["x"]


def test_tuple_ids_of_mixed_types_are_refused_naming_the_column(tmp_path: Path) -> None:
    """pandas tuple ids (crowd-kit groups items as tuples) of mixed types fit and stay tuples in pandas
    results, but no Arrow or polars column holds them: Arrow output, results_table and write_table raised
    a bare ArrowInvalid ("Could not convert 'a' with type str"), polars output an Object column no writer
    takes. Each is an error naming the column and saying how to convert the ids."""
    df = pd.DataFrame({"task": [(1, "a"), (1, "a"), (2, "b"), (2, "b")], "worker": list("xyxy"),
                       "label": [0, 0, 1, 1]})
    fitted = galton.MajorityVote().fit(df)
    assert fitted.labels_.to_dict() == {(1, "a"): 0, (2, "b"): 1}  # pandas results hold them
    said = r"column 'task' holds tuples of mixed types \(\(1, 'a'\), \(2, 'b'\)\), which no Arrow or polars column"
    for output in ("arrow", "polars"):
        with pytest.raises(ValueError, match=said + r" holds; convert them to text in the input first "
                                                    r"\(df\['task'\] = df\['task'\]\.map\(str\)\)"):
            galton.MajorityVote().fit(df, output=output)
    with pytest.raises(ValueError, match=said):
        gio.results_table(fitted)
    for suffix in (".csv", ".parquet"):
        with pytest.raises(ValueError, match=said + r" holds; write them as text, e.g. result\.rename\(index=str\)"):
            gio.write_table(fitted.labels_, tmp_path / f"labels{suffix}")
    assert _listing(tmp_path) == []
    back = pl.read_csv(gio.write_table(fitted.labels_.rename(index=str), tmp_path / "labels.csv"))
    assert back.to_dicts() == [{"task": "(1, 'a')", "agg_label": 0}, {"task": "(2, 'b')", "agg_label": 1}]
    same = galton.MajorityVote().fit(df.assign(task=[(1, 2), (1, 2), (2, 3), (2, 3)]), output="arrow")
    assert same.labels_.column("task").to_pylist() == [[1, 2], [2, 3]]  # tuples of one type: lists, as before


def test_an_index_named_as_a_column_with_other_values_is_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame({"task": ["a", "b"], "label": [1, 0]}, index=pd.Index(["x", "y"], name="task"))
    with pytest.raises(ValueError, match="the index level 'task' and the column 'task' hold different values"):
        gio.write_table(frame, tmp_path / "t.csv")
    assert not (tmp_path / "t.csv").exists()


# --- atomicity -------------------------------------------------------------------------------------
class Boom(RuntimeError):
    pass


def _failing_writer(seen: list[list[str]], folder: Path, exc: BaseException):
    def write(fh, table, fmt):
        fh.write(b"task,label\npartial")  # half a file ...
        fh.flush()
        seen.append(_listing(folder))
        raise exc  # ... then the failure

    return write


@pytest.mark.parametrize("exc", [Boom("disk full"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_target_and_no_temp(tmp_path: Path, monkeypatch, exc) -> None:
    target = tmp_path / "results.csv"
    target.write_bytes(b"old contents\n")
    seen: list[list[str]] = []
    monkeypatch.setattr(gio, "_write_to", _failing_writer(seen, tmp_path, exc))
    with pytest.raises(type(exc)):
        gio.write_table(_table("int"), target)
    # during the write the partial data sat in a hidden temporary file next to the target
    assert len(seen) == 1 and len(seen[0]) == 2
    temp = [n for n in seen[0] if n != "results.csv"][0]
    assert temp.startswith(".results.csv.") and temp.endswith(".tmp")
    assert _listing(tmp_path) == ["results.csv"]
    assert target.read_bytes() == b"old contents\n"


def test_failure_mid_write_creates_no_target(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(gio, "_write_to", _failing_writer([], tmp_path, Boom("x")))
    with pytest.raises(Boom):
        gio.write_table(_table("int"), tmp_path / "new.parquet")
    assert _listing(tmp_path) == []


def test_failure_in_replace_keeps_old_target(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "r.parquet"
    gio.write_table(_table("str"), target)
    before = target.read_bytes()

    def bad_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(gio.os, "replace", bad_replace)
    with pytest.raises(OSError, match="rename failed"):
        gio.write_table(_table("int"), target)
    assert _listing(tmp_path) == ["r.parquet"]
    assert target.read_bytes() == before


def test_success_replaces_and_fsyncs(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "r.csv"
    target.write_text("old\n")
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(gio.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    gio.write_table(_table("int"), target)
    assert len(synced) >= 1
    assert pl.read_csv(target)["label"].to_list() == [3, 1, 2, 1]


def test_new_file_mode_follows_umask(tmp_path: Path) -> None:
    if os.name != "posix":
        pytest.skip("POSIX file modes")
    old = os.umask(0o022)
    try:
        path = gio.write_table(_table("int"), tmp_path / "r.csv")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # like open(), not mkstemp's 0600


# --- atomic_dir ------------------------------------------------------------------------------------
def test_atomic_dir_success_and_replace(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    with gio.atomic_dir(dest) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.") and tmp.is_dir()
        (tmp / "part-0.parquet").write_bytes(b"a")
        assert not dest.exists()  # nothing visible until the block ends
    assert _listing(tmp_path) == ["out"] and _listing(dest) == [gio.MARKER, "part-0.parquet"]
    with gio.atomic_dir(dest) as tmp:
        (tmp / "part-1.parquet").write_bytes(b"b")
    assert _listing(tmp_path) == ["out"] and _listing(dest) == [gio.MARKER, "part-1.parquet"]


def test_atomic_dir_failure_keeps_old_and_cleans_up(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    with gio.atomic_dir(dest) as tmp:  # an earlier galton output
        (tmp / "old.parquet").write_bytes(b"old")
    with pytest.raises(Boom):
        with gio.atomic_dir(dest) as tmp:
            (tmp / "half.parquet").write_bytes(b"half")
            raise Boom("worker died")
    assert _listing(tmp_path) == ["out"]
    assert _listing(dest) == [gio.MARKER, "old.parquet"] and (dest / "old.parquet").read_bytes() == b"old"


def test_atomic_dir_no_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        with gio.atomic_dir(tmp_path / "out", overwrite=False):
            pass  # pragma: no cover
    assert _listing(tmp_path) == ["out"]


# --- results_table -----------------------------------------------------------------------------------
class _Fitted:
    def __init__(self, judgments: Judgments, post: np.ndarray):
        self.judgments_ = judgments
        self.posteriors_ = post
        self.label_codes_ = np.argmax(post, axis=1)


def test_results_table_by_hand() -> None:
    j = Judgments.from_any({"task": ["b", "a", "c", "a"], "worker": ["x", "y", "x", "x"],
                            "label": [20, 10, 30, 10]})
    # tasks sorted a, b, c; labels sorted 10, 20, 30
    post = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25]])
    t = gio.results_table(_Fitted(j, post))
    assert t.column_names == ["task", "label", "confidence", "p_10", "p_20", "p_30"]
    assert t.schema.field("task").type == pa.string()
    assert t.schema.field("label").type == pa.int64()
    assert t.column("task").to_pylist() == ["a", "b", "c"]
    assert t.column("label").to_pylist() == [10, 30, 20]
    assert t.column("confidence").to_pylist() == [0.7, 0.6, 0.5]
    assert t.column("p_20").to_pylist() == [0.2, 0.3, 0.5]


def test_results_table_bool_labels_and_int_tasks() -> None:
    j = Judgments.from_any({"task": [5, 3], "worker": ["x", "x"], "label": [True, False]})
    t = gio.results_table(_Fitted(j, np.array([[0.9, 0.1], [0.2, 0.8]])))
    assert t.column_names == ["task", "label", "confidence", "p_false", "p_true"]
    assert t.column("task").to_pylist() == [3, 5]
    assert t.column("label").to_pylist() == [False, True]


def test_boolean_labels_name_their_probability_columns_as_the_files_write_them(tmp_path: Path) -> None:
    """A CSV writes True as ``true``: a reader looks up ``p_`` + the label it reads (``p_true``),
    in the file and in a polars fit's ``probas_`` alike (both were ``p_True``)."""
    data = {"task": [1, 1, 1, 2, 2, 2], "worker": ["a", "b", "c"] * 2, "label": [True, True, False, False, False, True]}
    out = tmp_path / "out.csv"
    gio.write_table(gio.results_table(galton.MajorityVote().fit(pl.DataFrame(data))), out)
    back = pl.read_csv(out)
    assert back.columns == ["task", "label", "confidence", "p_false", "p_true"]
    picked = [row[f"p_{str(row['label']).lower()}"] for row in back.iter_rows(named=True)]
    assert picked == back["confidence"].to_list() == [2 / 3, 2 / 3]
    probas = galton.DawidSkene().fit(pl.DataFrame(data)).probas_
    assert probas.columns == ["task", "p_false", "p_true"]


def test_results_table_of_a_fitted_model_matches_its_labels() -> None:
    data = galton.datasets.load("welinder_bluebirds", frame="pandas").judgments
    model = galton.DawidSkene().fit(data)
    t = gio.results_table(model)
    assert t.num_rows == data["task"].nunique()
    p = np.column_stack([t.column(c).to_numpy() for c in t.column_names if c.startswith("p_")])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(t.column("confidence").to_numpy(), p.max(axis=1))
    assert t.column("task").to_pylist() == model.labels_.index.tolist()
    assert t.column("label").to_pylist() == model.labels_.tolist()


def test_results_table_unfitted() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        gio.results_table(galton.DawidSkene())


def test_a_ragged_csv_names_its_first_long_line(tmp_path):
    """polars reports "more fields than defined in 'Schema'" with no line and suggests its own
    option; galton names the line (quoted separators do not count)."""
    from galton.judgments import Judgments

    path = tmp_path / "ragged.csv"
    path.write_text('task,worker,label\n1,a,"x,y"\n1,b,y\n2,a,x,z\n')
    with pytest.raises(ValueError, match=r"line 4 has 4 fields, the header 3; fix or remove that line") as e:
        Judgments.from_any(str(path))
    assert "truncate_ragged_lines" not in str(e.value)


def test_blank_lines_in_a_csv_are_no_rows(tmp_path):
    """A blank line inside a CSV (and one more at its end, as editors leave) read as a row of nulls and
    the file was refused ("column 'task' has 1 null value(s)"); pandas and the csv module skip them.
    Rows are counted without them."""
    path = tmp_path / "blank.csv"
    path.write_text("task,worker,label\n1,a,x\n\n1,b,x\n2,a,y\n2,b,y\n\n")
    j = Judgments.from_any(str(path))
    assert j.n_judgments == 4 and j.task_names.tolist() == [1, 2] and j.label_names.tolist() == ["x", "y"]
    path.write_text("task,worker,label\n1,a,x\n,,\n1,,y\n")  # every field empty: no row; one empty: a null
    with pytest.raises(ValueError, match=r"column 'worker' has 1 null value\(s\) \(rows 1\)"):
        Judgments.from_any(str(path))


def test_a_line_of_spaces_is_skipped_and_leaves_integer_ids_integers(tmp_path):
    """A line of spaces was read as a row whose task was the text '   ' (worker and label null): the
    task column became text, so after ``--on-invalid drop`` every id came back as a string and the
    results no longer joined to integer-keyed data. It holds no judgment, as ``,,`` does not."""
    path = tmp_path / "spaces.csv"
    path.write_text("task,worker,label\n1,a,1\n1,b,1\n   \n2,a,2\n2,b,2\n \t , ,\n")
    j = Judgments.from_any(str(path))
    assert j.n_judgments == 4 and j.task_names.tolist() == [1, 2] and j.task_names.dtype.kind == "i"
    labels = galton.aggregate(str(path), "mv", output="polars").labels_
    assert labels.schema["task"] == pl.Int64 and labels["task"].to_list() == [1, 2]


def test_pandas_ints_beyond_int64_are_read_or_named():
    """Python ints from 2**63 in an object column (64-bit hashes) are read as uint64; ints that no
    64-bit type holds are an error naming the column (a bare OverflowError before, no column)."""
    df = pd.DataFrame({"task": pd.Series([2**64 - 1, 2**64 - 1, 5, 5], dtype=object),
                       "worker": ["a", "b", "a", "b"], "label": [1, 1, 0, 0]})
    labels = galton.aggregate(df, "mv").labels_
    assert labels.to_dict() == {2**64 - 1: 1, 5: 0}
    with pytest.raises(ValueError, match=r"column 'task' holds integers from -1 to 18446744073709551615"):
        galton.aggregate(df.assign(task=pd.Series([2**64 - 1, -1, 5, 5], dtype=object)), "mv")


def test_dict_ints_beyond_int64_are_read_as_pandas_reads_them():
    """A dict of Python ints from 2**63 (64-bit hashes) raised a bare OverflowError: they are uint64,
    as pandas and numpy take them; ints no 64-bit type holds are the same error naming the column."""
    data = {"task": [2**63, 2**63, 5, 5], "worker": list("abab"), "label": [0, 0, 1, 1]}
    labels = galton.aggregate(data, "mv", output="polars").labels_
    assert labels.schema["task"] == pl.UInt64 and dict(labels.iter_rows()) == {5: 1, 2**63: 0}
    assert galton.aggregate(pd.DataFrame(data), "mv").labels_.to_dict() == {2**63: 0, 5: 1}
    with pytest.raises(ValueError, match=r"column 'task' holds integers from -1 to 9223372036854775808, which "
                                         r"no one 64-bit integer type holds; pass them as text"):
        galton.aggregate({**data, "task": [2**63, -1, 5, 5]}, "mv")
    with pytest.raises(ValueError, match=r"column 'worker' holds integers from 1 to 18446744073709551616"):
        galton.aggregate({**data, "worker": [2**64, 1, 2**64, 1]}, "mv")
    with pytest.raises(ValueError, match=r"column 'task' mixes value types \(int, str\)"):
        galton.aggregate({**data, "task": [2**63, "x", 5, 5]}, "mv")


def test_dict_of_generators_is_read_and_a_set_is_refused():
    """A generator (or map) as a dict's column was a 0-d array, refused as "holds int values ... convert
    them to strings or integers first": it is its values, in order; a set or one value is no column."""
    data = {"task": [1, 1, 2, 2], "worker": list("abab"), "label": [0, 0, 1, 1]}
    ref = galton.aggregate(data, "mv", output="polars").labels_
    lazy = {"task": (t for t in data["task"]), "worker": map(str, data["worker"]), "label": iter(data["label"])}
    assert galton.aggregate(lazy, "mv", output="polars").labels_.to_dicts() == ref.to_dicts() == [
        {"task": 1, "label": 0}, {"task": 2, "label": 1}]
    for bad, kind in [({1, 2}, "set"), (7, "int"), ({1: 0}.keys(), "dict_keys")]:
        with pytest.raises(ValueError, match=rf"column 'task' is not a column of values \(it is a '{kind}'\); "
                                             "pass a list, tuple, array or Series"):
            galton.aggregate({**data, "task": bad}, "mv")


_TASKS, _WORKERS = [1, 1, 1, 2, 2, 2], list("abcabc")


@pytest.mark.parametrize("name, label", [
    ("pandas str", pd.Series(["x", "x", None, "y", "y", "x"], dtype="str")),
    ("pandas string (pd.NA)", pd.Series(["x", "x", None, "y", "y", "x"], dtype="string")),
    ("object array with NaN", np.array(["x", "x", np.nan, "y", "y", "x"], dtype=object)),
    ("list with NaN", ["x", "x", float("nan"), "y", "y", "x"]),
    ("list with pd.NA", ["x", "x", pd.NA, "y", "y", "x"]),
    ("category with NaN", pd.Series(pd.Categorical(["x", "x", None, "y", "y", "x"]))),
    ("Int64 (pd.NA)", pd.Series([1, 1, None, 2, 2, 1], dtype="Int64")),
    ("boolean (pd.NA)", pd.Series([True, True, None, False, False, True], dtype="boolean")),
    ("list of Timestamps with NaT", [pd.Timestamp("2020-01-01")] * 2 + [pd.NaT] + [pd.Timestamp("2020-01-02")] * 3),
])
def test_a_dicts_missing_values_are_nulls_as_in_the_frame_of_it(name, label):
    """A dict of columns with a missing label (None of a pandas str Series, pd.NA, NaN beside text, NaT
    beside timestamps) was refused as "mixes value types (float, str)", on_invalid='drop' too; an Int64
    Series' pd.NA made its labels floats. The dict reads as the DataFrame of the same columns: the same
    null error, and the same judgments once that row is dropped."""
    data = {"task": _TASKS, "worker": _WORKERS, "label": label}
    with pytest.raises(ValueError) as want:
        Judgments.from_any(pd.DataFrame(data))
    with pytest.raises(ValueError) as got:
        Judgments.from_any(data)
    assert str(got.value) == str(want.value) == ("column 'label' has 1 null value(s) (rows 2); drop those rows or "
                                                 "pass on_invalid='drop' (CLI: --on-invalid drop)")
    ref, j = (Judgments.from_any(d, on_invalid="drop") for d in (pd.DataFrame(data), data))
    assert j.label_names.tolist() == ref.label_names.tolist() and j.label_names.dtype == ref.label_names.dtype
    np.testing.assert_array_equal(j.label, ref.label)
    np.testing.assert_array_equal(j.task, ref.task)


def test_a_dicts_float_nan_stays_a_nan_and_mixed_types_name_the_present_ones():
    """A float column's NaN is reported as a NaN, as before; a column of text and numbers is still
    refused, naming the types of its values and not that of the missing one."""
    data = {"task": _TASKS, "worker": _WORKERS, "label": [1.0, 1.0, float("nan"), 2.0, 2.0, 1.0]}
    with pytest.raises(ValueError, match=r"column 'label' has 1 null or NaN value\(s\) \(rows 2\)"):
        Judgments.from_any(data)
    assert Judgments.from_any(data, on_invalid="drop").label_names.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"column 'label' mixes value types \(int, str\)"):
        Judgments.from_any({**data, "label": ["x", 1, float("nan"), "y", "y", "x"]}, on_invalid="drop")


def test_a_dict_of_series_with_other_indexes_is_refused_not_read_by_position():
    """A dict's Series were read by position, their indexes ignored: task 1 got 'y' where the DataFrame
    of the same Series (aligned on the index) gives 'x'. Series with different indexes are refused,
    naming the columns; equal indexes (the columns of one filtered frame) read as that frame."""
    index = [10, 11, 12, 13]
    task, worker = pd.Series([1, 1, 2, 2], index=index), pd.Series(list("abab"), index=index)
    label = pd.Series(["y", "y", "x", "x"], index=[12, 13, 10, 11])
    assert galton.aggregate(pd.DataFrame({"task": task, "worker": worker, "label": label}),
                            "mv").labels_.to_dict() == {1: "x", 2: "y"}
    with pytest.raises(ValueError, match=r"the Series of columns 'task' and 'label' have different indexes \(4 of 4 "
                                         r"positions differ: 12 vs 10, 13 vs 11, 10 vs 12, ...\); a dict's columns "
                                         r"are read by position: align them first, with pd.DataFrame\(data\)"):
        galton.aggregate({"task": task, "worker": worker, "label": label}, "mv")
    aligned = {"task": task, "worker": worker, "label": label.reindex(index)}
    assert galton.aggregate(aligned, "mv", output="pandas").labels_.to_dict() == {1: "x", 2: "y"}
    assert galton.aggregate({**aligned, "worker": list("abab")}, "mv", output="pandas").labels_.to_dict() == {
        1: "x", 2: "y"}


def test_a_dict_of_columns_of_different_lengths_names_each_length():
    """Columns of different lengths raised pyarrow's bare ArrowInvalid naming one column."""
    with pytest.raises(ValueError, match=r"^the dict's columns have different lengths \('task': 3, 'worker': 3, "
                                         r"'label': 2\); give every column one value per judgment"):
        galton.aggregate({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": ["x", "y"]}, "mv")
    with pytest.raises(ValueError, match=r"\('task': 3, 'worker': 2, 'label': 3\)"):
        galton.aggregate({"task": [1, 1, 2], "worker": iter("ab"), "label": ["x", "y", "x"]}, "mv")


def _hive(tmp_path, df, by):
    d = tmp_path / "hive"
    pq.write_to_dataset(pa.Table.from_pandas(df, preserve_index=False), str(d), partition_cols=by)
    return d


def test_hive_partition_folders_hold_a_column(tmp_path):
    """label=007/part.parquet (Spark's partitionBy, pyarrow's write_to_dataset): the column lives in
    the folder names; it was reported missing. Its values are typed as a text file's (007 stays text,
    canonical integers are integers), and the fit equals the fit of the frame."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"task": rng.integers(0, 40, 400), "worker": rng.choice(list("abcdefgh"), 400),
                       "label": rng.choice(["x", "y", "007"], 400)}).drop_duplicates(["task", "worker"])
    d = _hive(tmp_path, df, ["label"])
    j = Judgments.from_any(str(d))
    assert j.label_names.tolist() == ["007", "x", "y"] and j.n_judgments == len(df)
    ours = galton.aggregate(str(d), "ds").probas_
    ref = galton.aggregate(pl.from_pandas(df), "ds").probas_
    np.testing.assert_allclose(ours.drop("task").to_numpy(), ref.drop("task").to_numpy(), atol=1e-12)
    assert ours["task"].to_list() == ref["task"].to_list()
    by_task = _hive(tmp_path / "t", df, ["task"])  # an id column in the folders: integers, as written
    assert Judgments.from_any(str(by_task)).task_names.tolist() == sorted(df.task.unique().tolist())
    assert galton.io.input_columns(str(by_task)) == ["worker", "label", "task"]


def test_a_null_partition_folder_is_a_null_value(tmp_path):
    df = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", None], "label": ["x", "x", "y", "y"]})
    d = _hive(tmp_path, df, ["worker"])  # worker=__HIVE_DEFAULT_PARTITION__/ holds the null
    with pytest.raises(ValueError, match=r"column 'worker' has 1 null value"):
        Judgments.from_any(str(d))
    assert Judgments.from_any(str(d), on_invalid="drop").n_judgments == 3


def test_parquet_files_with_uint64_ids_beyond_int64(tmp_path):
    """uint64 ids from 2**63 in one file and uint32 in another are read as uint64 (every file was cast
    to int64: a raw ArrowInvalid naming no file); beside a signed type, no 64-bit type holds both: the
    error names the column and the files."""
    big = 2**63 + 1
    pq.write_table(pa.table({"task": pa.array([big, big], pa.uint64()), "worker": ["a", "b"], "label": [1, 1]}),
                   tmp_path / "part-0.parquet")
    pq.write_table(pa.table({"task": pa.array([7, 7], pa.uint32()), "worker": ["a", "b"], "label": [0, 0]}),
                   tmp_path / "part-1.parquet")
    assert Judgments.from_any(str(tmp_path)).task_names.tolist() == [7, big]
    pq.write_table(pa.table({"task": pa.array([7, 7], pa.int32()), "worker": ["a", "b"], "label": [0, 0]}),
                   tmp_path / "part-1.parquet")
    with pytest.raises(ValueError, match=r"column 'task' is int32 in file .*part-1.parquet' but uint64 in"):
        Judgments.from_any(str(tmp_path))


def test_zoned_timestamp_date_and_time_ids_come_back_as_given(tmp_path):
    """Zoned timestamps came back naive and shifted to UTC (a join on the ids found nothing), dates as
    timestamps, and polars dates / times as polars Object, which no writer takes."""
    import datetime

    zoned = pd.to_datetime(["2024-03-01 09:00", "2024-03-02 10:00"]).tz_localize("Europe/Berlin")
    df = pd.DataFrame({"task": np.repeat(zoned, 2), "worker": ["a", "b"] * 2, "label": [1, 1, 0, 0]})
    labels = galton.aggregate(df, "mv").labels_
    assert labels.index.dtype == df.task.dtype and df.task[0] in labels.index
    arrow = galton.aggregate(pa.Table.from_pandas(df, preserve_index=False), "mv").labels_
    assert arrow.schema.field("task").type.tz == "Europe/Berlin" and arrow["task"][0].as_py().hour == 9
    days = [datetime.date(2024, 1, 1)] * 2 + [datetime.date(2024, 1, 2)] * 2
    assert galton.aggregate(df.assign(task=days), "mv").labels_.index.tolist() == sorted(set(days))
    times = [datetime.time(9, 0)] * 2 + [datetime.time(10, 30)] * 2
    for ids, dtype in ((days, pl.Date), (times, pl.Time)):
        out = galton.aggregate(pl.from_pandas(df.assign(task=ids)), "mv").labels_
        assert out.schema["task"] == dtype
        out.write_parquet(tmp_path / "labels.parquet")  # polars' Object could not be written


def test_list_items_of_different_types_are_named_with_their_rows(tmp_path: Path) -> None:
    """Lists whose items mix types (``["b", 3]``): a frame's was refused as "holds list values, which
    galton cannot read" (lists are what the options column needs), JSON lines' with Arrow's "Column
    (/options/[]) changed from string to number" (no line), a JSON array's as "Expected bytes, got a
    'int' object". Each now says which column, the types, how many rows (lines, objects) and which."""
    import json

    from galton import BinaryRelevance, MajorityVote, PlackettLuce

    rows = [{"worker": "w", "options": ["a", "b"], "choice": "a"}, {"worker": "v", "options": ["b", 3], "choice": "b"},
            {"worker": "u", "options": ["a", "c"], "choice": "c"}, {"worker": "t", "options": [1, "c"], "choice": "c"}]
    frame = pd.DataFrame(rows)
    with pytest.raises(ValueError, match=r"column 'options' holds list items of different types \(str, int\) in 2 "
                                         r"rows \(rows 1, 3; row 1: \['b', 3\]\); convert the items to one type"):
        PlackettLuce().fit(frame)
    with pytest.raises(ValueError, match=r"in 2 rows \(rows with index 'y', 'z'; row with index 'y'"):
        PlackettLuce().fit(frame.set_axis(list("xyaz")))
    with pytest.raises(ValueError, match=r"column 'options' holds list items of different types \(str, int\) in 2 "
                                         r"rows .*data\['options'\] = \[\[str\(x\)"):
        PlackettLuce().fit(frame.to_dict(orient="list"))
    lines = tmp_path / "c.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"column 'options' holds list items of different types \(str, int\) in 2 "
                                         r"lines \(lines 2, 4; line 2: \['b', 3\]\); write the items of every list"):
        PlackettLuce().fit(lines)
    tags = tmp_path / "m.json"
    tags.write_text('[{"task": "t", "worker": "w", "label": ["x", "y"]},\n'
                    ' {"task": "t", "worker": "v", "label": ["x", 2]}]')
    with pytest.raises(ValueError, match=r"column 'label' holds list items of different types \(str, int\) in 1 "
                                         r"object \(object 2: \['x', 2\]\)"):
        BinaryRelevance(MajorityVote()).fit(tags)
    frame["options"] = frame["options"].map(lambda xs: [str(x) for x in xs])  # the advice: then it fits
    assert set(PlackettLuce().fit(frame).scores_.index) == {"1", "3", "a", "b", "c"}
