"""Inputs as other programs write them (issue: formats): Parquet folders with any Parquet name,
Parquet from a pipe or compressed, repeated column names, byte-order marks, classic Mac line
ends, blank lines before a header, and errors that name the line at fault."""

from __future__ import annotations

import gzip
import os
import re
import threading
import warnings

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import galton
from galton.cli import main
from galton.io import input_columns
from galton.io._read import input_files, read_input


def _judgments(tasks, label="x"):
    return pa.table({"task": list(tasks), "worker": ["w"] * len(tasks), "label": [label] * len(tasks)})


# --------------------------------------------------------------------------------------------------
# a Parquet folder: every Parquet name galton itself reads and writes
# --------------------------------------------------------------------------------------------------
def test_a_folder_reads_pq_and_upper_case_parquet_files(tmp_path):
    root = tmp_path / "updir"
    root.mkdir()
    pq.write_table(_judgments("ab"), root / "part-0.parquet")
    pq.write_table(_judgments("cd"), root / "PART-1.PARQUET")  # a Windows tool's upper-case name
    pq.write_table(_judgments("e"), root / "part-2.pq")  # galton writes .pq itself
    (root / "notes.csv").write_text("task\nz\n")  # not Parquet: not read
    assert [p.rsplit("/", 1)[1] for p in input_files(root)] == ["PART-1.PARQUET", "part-0.parquet", "part-2.pq"]
    assert sorted(read_input(root).column("task").to_pylist()) == ["a", "b", "c", "d", "e"]
    # the same files as a pattern that names them all: the same rows
    assert sorted(read_input(str(root) + "/*[tTq]").column("task").to_pylist()) == ["a", "b", "c", "d", "e"]


def test_a_folder_and_a_pattern_are_read_in_natural_order(tmp_path):
    # a hunt found: files were read in plain string order, batch_10 before batch_9, so duplicates="last"
    # kept the older batch's answer; pyarrow names its parts part-0 ... part-10 without padding
    root = tmp_path / "batches"
    root.mkdir()
    for i in (1, 2, 9, 10, 11):  # every batch re-answers (task 1, worker w): the newest batch is 11
        pq.write_table(pa.table({"task": [1, 100 + i], "worker": ["w", "w"], "label": [f"b{i}", "x"]}),
                       root / f"batch_{i}.parquet")
    names = [p.rsplit("/", 1)[1] for p in input_files(root)]
    assert names == [f"batch_{i}.parquet" for i in (1, 2, 9, 10, 11)]
    assert [p.rsplit("/", 1)[1] for p in input_files(str(root) + "/batch_*.parquet")] == names
    for keep, want in (("last", "b11"), ("first", "b1")):
        fit = galton.MajorityVote().fit(str(root), duplicates=keep, output="pandas")
        assert fit.labels_.loc[1] == want
    nested = tmp_path / "nested"  # folders by the same rule; equal as numbers (01, 1): plain string order
    for sub, name in (("day_10", "a.parquet"), ("day_9", "b.parquet"), ("day_9", "part-01.parquet"),
                      ("day_9", "part-1.parquet"), ("day_9", "part-010.parquet")):
        (nested / sub).mkdir(parents=True, exist_ok=True)
        pq.write_table(_judgments("a"), nested / sub / name)
    got = [p[len(str(nested)) + 1:] for p in input_files(nested)]
    assert got == ["day_9/b.parquet", "day_9/part-01.parquet", "day_9/part-1.parquet", "day_9/part-010.parquet",
                   "day_10/a.parquet"]


# --------------------------------------------------------------------------------------------------
# Parquet that cannot be seeked: a named pipe, a compressed file
# --------------------------------------------------------------------------------------------------
def _fifo_writer(fifo, payload):
    def write():
        with open(fifo, "wb") as fh:
            fh.write(payload)

    t = threading.Thread(target=write, daemon=True)
    t.start()
    return t


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_parquet_from_a_named_pipe_is_aggregated_cli_and_python(tmp_path, capsys):
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"task": ["a", "a", "a", "b"], "worker": ["u", "v", "w", "u"],
                             "label": ["x", "x", "y", "y"]}), sink)
    fifo = tmp_path / "pf.parquet"
    os.mkfifo(fifo)
    t = _fifo_writer(fifo, sink.getvalue().to_pybytes())
    rc = main(["aggregate", str(fifo), "-m", "mv", "-o", "-"])  # was "lseek failed; fix or remove it"
    out = capsys.readouterr().out
    t.join(timeout=5)
    assert rc == 0 and not t.is_alive()
    assert sorted(out.splitlines()[1:3]) == ["a,x,0.6666666666666666,0.6666666666666666,0.3333333333333333",
                                             "b,y,1.0,0.0,1.0"]
    t = _fifo_writer(fifo, sink.getvalue().to_pybytes())
    model = galton.aggregate(str(fifo), "mv")  # read once, by the model
    t.join(timeout=5)
    assert dict(zip(model.labels_["task"], model.labels_["label"])) == {"a": "x", "b": "y"}


def test_compressed_parquet_is_aggregated_cli_and_python(tmp_path, capsys):
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"task": ["a", "a", "a", "b"], "worker": ["u", "v", "w", "u"],
                             "label": ["x", "x", "y", "y"]}), sink)
    path = tmp_path / "j.parquet.gz"
    path.write_bytes(gzip.compress(sink.getvalue().to_pybytes()))
    assert input_columns(path) == []  # no footer to peek at: the reader reads it whole, once
    rc = main(["aggregate", str(path), "-m", "mv", "-o", "-"])  # was "magic bytes not found in footer"
    assert rc == 0 and "b,y,1.0,0.0,1.0" in capsys.readouterr().out
    model = galton.aggregate(str(path), "mv")
    assert dict(zip(model.labels_["task"], model.labels_["label"])) == {"a": "x", "b": "y"}


def _compressed(data, suffix):
    import bz2

    return {".gz": gzip.compress, ".bz2": bz2.compress,
            ".zst": lambda b: pa.compress(b, "zstd", asbytes=True)}[suffix](data)


@pytest.mark.parametrize("suffix, fmt", [(".gz", "gzip"), (".bz2", "bzip2"), (".zst", "zstd")])
def test_a_truncated_or_foreign_compressed_file_is_named(tmp_path, capsys, suffix, fmt):
    data = b"task,worker,label\n" + b"".join(b"t%d,w%d,x\n" % (i, i % 5) for i in range(20000))
    cut, plain = tmp_path / f"cut.csv{suffix}", tmp_path / f"plain.csv{suffix}"
    cut.write_bytes(_compressed(data, suffix)[:3000])  # an interrupted download
    plain.write_bytes(data)  # not compressed, named as if it were
    for path, said in [(cut, f"its {fmt} data ends early "), (plain, f"it is not {fmt} data")]:
        start = f"cannot read {str(path)!r}: {said}"
        with pytest.raises(ValueError, match="^" + re.escape(start)):  # was a bare EOFError / "Not a gzipped file"
            input_columns(path)
        with pytest.raises(ValueError, match="^" + re.escape(start)):
            galton.aggregate(str(path), "mv")
        with pytest.raises(ValueError, match="^" + re.escape(start)):
            read_input(path)
        assert main(["aggregate", str(path), "-m", "mv", "-o", "-"]) == 2  # was "EOFError: ... (unexpected)"
        assert capsys.readouterr().err.startswith(f"galton: error: {start}")
    whole = tmp_path / f"whole.csv{suffix}"
    whole.write_bytes(_compressed(data, suffix))
    assert read_input(whole).num_rows == 20000


# --------------------------------------------------------------------------------------------------
# a column name twice: refused as a CSV header's, used or not
# --------------------------------------------------------------------------------------------------
def _twice(path, names):
    arrays = [pa.array(["a", "b"]), pa.array(["u", "v"]), pa.array(["x", "y"]), pa.array(["n", "m"]),
              pa.array(["o", "p"])]
    pq.write_table(pa.Table.from_arrays(arrays[:len(names)], names=names), path)
    return path


@pytest.mark.parametrize("names", [["task", "worker", "label", "note", "note"], ["task", "worker", "label", "label"]])
def test_a_parquet_column_named_twice_is_refused_as_in_csv(tmp_path, capsys, names):
    twice = names[-1]
    csv = tmp_path / "dup.csv"
    csv.write_text(",".join(names) + "\n" + ",".join("auxno"[:len(names)]) + "\n")
    with pytest.raises(ValueError, match=f"two columns named '{twice}'.*; rename or remove one"):
        read_input(csv)
    path = _twice(tmp_path / "dup.parquet", names)
    message = f"file '{path}' has two columns named '{twice}'; rename or remove one"
    with pytest.raises(ValueError) as err:  # Arrow's "Multiple matches for FieldRef.Name(label)"
        read_input(path)
    assert str(err.value) == message
    for argv in (["aggregate", path, "-m", "mv", "-o", "-"], ["agreement", path],  # aggregate: a KeyError
                 ["allocate", path, "-n", "3", "-o", "-"]):
        assert main([str(a) for a in argv]) == 2
        assert capsys.readouterr().err.strip().endswith(message)
    # a folder of them: the file named
    (tmp_path / "d").mkdir()
    pq.write_table(_judgments("cd"), tmp_path / "d" / "a.parquet")
    bad = _twice(tmp_path / "d" / "b.parquet", names)
    with pytest.raises(ValueError, match=f"file '{bad}' has two columns named '{twice}'"):
        read_input(tmp_path / "d")
    with pytest.raises(ValueError, match=f"file '{bad}' has two columns named '{twice}'"):
        galton.aggregate(str(tmp_path / "d"), "mv")


# --------------------------------------------------------------------------------------------------
# a UTF-8 byte-order mark before JSON (Notepad's "UTF-8 with BOM")
# --------------------------------------------------------------------------------------------------
_BIG = 2**64 + 1  # no int64: the reader makes it a float, and the ids are re-read from their text


@pytest.mark.parametrize("name, text", [
    ("arr.json", '[{"task": "a", "worker": "u", "label": 1}, {"task": "b", "worker": "v", "label": 2}]'),
    ("cols.json", '{"task": ["a", "b"], "worker": ["u", "v"], "label": [1, 2]}'),
    ("big.jsonl", f'{{"task": {_BIG}, "worker": "u", "label": 1}}\n{{"task": 7, "worker": "v", "label": 2}}\n'),
    ("float.jsonl", '{"task": 1.5, "worker": "u", "label": 1}\n{"task": 2, "worker": "v", "label": 2}\n'),
    ("arr_big.json", f'[{{"task": {_BIG}, "worker": "u", "label": 1}}, {{"task": 1.5, "worker": "v", "label": 2}}]'),
])
def test_a_utf8_bom_before_json_is_no_part_of_it(tmp_path, name, text):
    plain, bom = tmp_path / name, tmp_path / f"bom_{name}"
    plain.write_text(text)
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())  # was "changed from object to array", "holds list
    expected = read_input(plain)  # values" or "Unexpected UTF-8 BOM (decode using utf-8-sig)"
    assert read_input(bom).equals(expected)
    assert expected.column_names == ["task", "worker", "label"] and expected.num_rows == 2


# --------------------------------------------------------------------------------------------------
# classic Mac line ends (a lone CR): refused at once, naming them
# --------------------------------------------------------------------------------------------------
def test_lone_cr_line_ends_are_refused_naming_them(tmp_path, capsys):
    rows = ["task,worker,label", "a,u,x", "a,v,x", "b,u,y"]
    (tmp_path / "lf.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "crlf.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode())
    (tmp_path / "in_field.csv").write_bytes(b'task,worker,label\na,u,"x\ry"\n')  # a CR in a quoted field
    assert read_input(tmp_path / "crlf.csv").equals(read_input(tmp_path / "lf.csv"))
    assert read_input(tmp_path / "in_field.csv").column("label").to_pylist() == ["x\ry"]
    cr = tmp_path / "cr.csv"
    cr.write_bytes(("\r".join(rows) + "\r").encode())
    with pytest.raises(ValueError, match="'.*cr.csv' has lone CR line ends .*convert them to LF"):
        read_input(cr)  # was one header of 7 columns and no rows: "holds no judgments (0 rows)"
    with pytest.raises(ValueError, match="lone CR line ends"):
        galton.aggregate(str(cr), "mv")  # was a ColumnError listing the whole file as column names
    assert main(["aggregate", str(cr), "-m", "mv", "-o", "-"]) == 2
    assert "lone CR line ends" in capsys.readouterr().err


def test_lone_cr_line_ends_are_refused_where_a_quoted_cell_holds_a_line_break(tmp_path):
    cr = tmp_path / "maccr.csv"  # the line break (an LF) in a cell hid the lone CRs: "holds no judgments (0 rows)"
    cr.write_bytes(b'task,worker,label\ra,w0,x\rb,w1,"multi\nline"\rc,w2,y\r')
    with pytest.raises(ValueError, match="'.*maccr.csv' has lone CR line ends .*convert them to LF"):
        read_input(cr)
    with pytest.raises(ValueError, match="lone CR line ends"):
        galton.aggregate(str(cr), "mv")
    crlf = tmp_path / "crlf_cells.csv"  # CRLF line ends with lone CRs in quoted cells: read
    crlf.write_bytes(b'task,worker,label\r\na,w0,"x\ry"\r\nb,w1,"p\rq\rr"\r\n')
    assert read_input(crlf).column("label").to_pylist() == ["x\ry", "p\rq\rr"]


# --------------------------------------------------------------------------------------------------
# \r\r\n line ends (Python's csv.writer on Windows, to a file opened without newline=''): read as \n
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("quoted", [False, True])
def test_doubled_cr_line_ends_read_as_lf_line_ends(tmp_path, capsys, quoted):
    rows = [["task", "worker", "label", "animal"]] + [
        [f"t{i // 3}", f"w{i % 3}", str(i % 2), "cat" if i % 4 else "dog"] for i in range(30)]
    lines = [",".join(f'"{v}"' if quoted else v for v in row) for row in rows]
    lf, doubled = tmp_path / "lf.csv", tmp_path / "crcrlf.csv"
    lf.write_text("\n".join(lines) + "\n")
    doubled.write_bytes(("\r\r\n".join(lines) + "\r\r\n").encode())
    expected = read_input(lf)
    assert expected.column("label").type == pa.int64() and expected.column("task").to_pylist()[:2] == ["t0", "t0"]
    assert read_input(doubled).equals(expected)  # was "t0\r", "cat\r", labels as text "1\r" (quoted: "a quote
    packed = tmp_path / "crcrlf.csv.gz"  # opened and not closed")
    packed.write_bytes(gzip.compress(doubled.read_bytes()))
    assert read_input(packed).equals(expected)
    assert main(["aggregate", str(doubled), "-m", "ds", "--label-col", "animal", "-o", str(tmp_path / "d.csv")]) == 0
    assert main(["aggregate", str(lf), "-m", "ds", "--label-col", "animal", "-o", str(tmp_path / "l.csv")]) == 0
    assert (tmp_path / "d.csv").read_bytes() == (tmp_path / "l.csv").read_bytes()
    assert b"\r" not in (tmp_path / "d.csv").read_bytes()


# --------------------------------------------------------------------------------------------------
# joined CSVs (cat a.csv b.csv): the header row repeated as data is pointed out, with its lines
# --------------------------------------------------------------------------------------------------
def test_a_header_row_repeated_as_data_is_pointed_out_with_its_lines(tmp_path, capsys):
    part = "task,worker,label\n1,w1,1\n1,w2,\"2\nlines\"\n\n"  # a cell over two lines, a blank line
    path = tmp_path / "joined.csv"
    path.write_text(part * 3)
    expected = (f"file {str(path)!r} repeats its header row as a data row 2 time(s) (line(s) 6, 11), as files joined "
                "with their headers do (cat a.csv b.csv): each is read as a row of the values 'task', 'worker', "
                "'label', which makes a column of numbers text; remove those lines (to join files, keep the first "
                "file's header only: tail -n +2 on the others)")
    with pytest.warns(UserWarning) as record:  # was silent: a judgment of task "task" with label "label"
        table = read_input(path)
    assert [str(w.message) for w in record] == [expected]
    assert table.num_rows == 8 and table.column("task").to_pylist().count("task") == 2  # read as written
    assert main(["aggregate", str(path), "-m", "mv", "--duplicates", "first", "-o", str(tmp_path / "o.csv")]) == 0
    assert capsys.readouterr().err.count(f"galton: warning: {expected}\n") == 1
    assert main(["aggregate", str(path), "-m", "mv", "-q", "--duplicates", "first", "-o", str(tmp_path / "o.csv")]) == 0
    assert "repeats its header" not in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        near = tmp_path / "near.csv"  # a row equal to the header in some columns only: data
        near.write_text("task,worker,label\ntask,worker,x\nt,worker,label\n")
        assert read_input(near).num_rows == 2
        path.write_text(part)  # one part: one header
        assert read_input(path).column("task").to_pylist() == [1, 1]


# --------------------------------------------------------------------------------------------------
# empty lines before the header: skipped by the reader, so by the header peek and the error's line count
# --------------------------------------------------------------------------------------------------
def test_empty_lines_before_the_header_are_skipped_everywhere(tmp_path):
    pairs = tmp_path / "pair_lead.csv"
    pairs.write_text("\n\r\nworker,left,right,label\nw0,a,b,a\nw1,a,b,a\nw0,b,c,b\n")
    assert input_columns(pairs) == ["worker", "left", "right", "label"]  # was [] (the empty line)
    model = galton.aggregate(str(pairs))  # was "missing column(s) ['task']": fitted as categorical
    assert type(model).__name__ == "BradleyTerry"
    assert model.ranking_["item"].to_list() == ["a", "b", "c"]
    ragged = tmp_path / "lead_rag.csv"
    ragged.write_text("\ntask,worker,label\na,u,x\nb,v,y,z\n")
    with pytest.raises(ValueError, match="line 4 has 4 fields, the header 3; fix or remove that line"):
        read_input(ragged)  # was "line 2 has 3 fields, the header 0"
    twice = tmp_path / "lead_twice.csv"
    twice.write_text("\ntask,worker,label,label\na,u,x,y\n")
    with pytest.raises(ValueError, match="two columns named 'label' in its header"):
        read_input(twice)


# --------------------------------------------------------------------------------------------------
# JSON lines: an error names the line of the file (Arrow counted rows within each 1 MiB block)
# --------------------------------------------------------------------------------------------------
def test_a_json_lines_type_error_names_the_line_of_the_file(tmp_path):
    lines = [f'{{"task": {i}, "worker": "w{i % 7}", "label": "a"}}' for i in range(90_000)]
    path = tmp_path / "late_str.jsonl"
    path.write_text("\n".join([*lines, "", '{"task": "x1", "worker": "w0", "label": "a"}']) + "\n")  # line 90002
    with pytest.raises(ValueError) as err:  # was "changed from number to string in row 20891"
        read_input(path)
    assert str(err.value) == (f"cannot read {str(path)!r} as JSON lines: column 'task' holds values of different "
                              "types: number (line 1), str (line 90002); write them with one type")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([*lines, '{"task": 5, "worker": "w0"']) + "\n")
    with pytest.raises(ValueError, match=r"line 90001 is not JSON \(Expecting ',' delimiter"):
        read_input(broken)


# --------------------------------------------------------------------------------------------------
# binary data where text was expected: say what the file is
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_is_named_as_such(tmp_path, encoding):
    path = tmp_path / "unicode.txt"  # Excel's "Unicode Text"
    path.write_bytes("task\tworker\tlabel\nt1\tw1\tcafé\n".encode(encoding))
    with pytest.raises(ValueError, match=r"'.*unicode.txt' looks like UTF-16 text .*save it as UTF-8"):
        read_input(path)  # was "not text CSV (binary data at byte 1)"


def test_a_parquet_file_with_no_extension_is_named_as_such(tmp_path):
    path = tmp_path / "000000_0"  # Hive's part name
    pq.write_table(_judgments("ab"), path)
    with pytest.raises(ValueError, match=r"'.*000000_0' is a Parquet file .*; name it \*\.parquet"):
        read_input(path)  # was "not text CSV (binary data at byte 4)"
    gz = tmp_path / "data.csv"
    gz.write_bytes(gzip.compress(b"task,worker,label\na,u,x\n"))  # other binary data: as before
    with pytest.raises(ValueError, match=r"'.*data.csv' is not text CSV \(binary data at byte 0\)"):
        read_input(gz)


@pytest.mark.parametrize("char", ["\x0c", "\x1b", "\x0b", "\x7f", "\x01"])
def test_a_control_character_in_a_value_is_text(tmp_path, capsys, char):
    """galton wrote a label holding a form feed (an escape, a vertical tab, DEL) to CSV, then refused
    the file as "binary data" (its first 64 KiB only: by where the row was); only NUL bytes beyond a tenth
    of the bytes (or in UTF-16's pattern), or control bytes in what is no UTF-8 text, are binary."""
    labels = [f"a{char}b", "plain"]
    rows = [f"t{t},w{w},{labels[(t + (w == 2)) % 2]}" for t in range(4) for w in range(3)]
    src = tmp_path / "judgments.csv"
    src.write_text("task,worker,label\n" + "\n".join(rows) + "\n")
    assert read_input(src).column("label").to_pylist()[:3] == [labels[0], labels[0], labels[1]]
    out = tmp_path / "out.csv"
    assert main(["aggregate", str(src), "-m", "mv", "-o", str(out)]) == 0
    assert read_input(out).column("label").to_pylist() == [labels[0], labels[1], labels[0], labels[1]]
    capsys.readouterr()
    assert main(["aggregate", str(src), "-m", "mv", "--gold", str(out)]) == 0  # was "binary data at byte 34"
    assert "accuracy    1.000000 (4/4 tasks with gold)" in capsys.readouterr().out
    late = tmp_path / "late.csv"  # past the first 64 KiB it was read: the same file, rows in another order
    late.write_text("task,worker,label\n" + "".join(f"x{i},w,plain\n" for i in range(9000)) + "\n".join(rows) + "\n")
    early = tmp_path / "early.csv"
    early.write_text("task,worker,label\n" + "\n".join(rows) + "\n" + "".join(f"x{i},w,plain\n" for i in range(9000)))
    assert sorted(read_input(late).to_pylist(), key=str) == sorted(read_input(early).to_pylist(), key=str)
    nul = tmp_path / "nul.csv"  # NUL bytes beyond a tenth of the file are binary
    nul.write_bytes(b"task,worker,label\na,u,x" + b"\x00" * 9 + b"y\n")
    with pytest.raises(ValueError, match=r"'.*nul.csv' is not text CSV \(binary data at byte 23\)"):
        read_input(nul)


def test_a_nul_in_a_value_is_text_and_one_in_a_column_name_is_named(tmp_path):
    """galton wrote task ids holding a NUL to CSV, then refused its own file as "binary data"; polars reads
    such values. A NUL in a column name (a label's p_ column) made polars panic: refused by name."""
    rows = [f"t{t}\x00x,w{w},{'ab'[(t + (w == 2)) % 2]}" for t in range(4) for w in range(3)]
    src = tmp_path / "judgments.csv"
    src.write_text("task,worker,label\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out.csv"
    assert main(["aggregate", str(src), "-m", "mv", "-o", str(out)]) == 0
    assert read_input(out).column("task").to_pylist() == [f"t{t}\x00x" for t in range(4)]
    named = tmp_path / "named.csv"
    named.write_text("task,worker,label,p_a\x00b\n1,u,x,0.5\n")
    with pytest.raises(ValueError, match=r"has a column name holding a NUL character \('p_a\\x00b'\); rename it"):
        read_input(named)


@pytest.mark.parametrize("first", ["sep=,", "SEP=,", '"sep=,"'])
def test_excels_separator_line_is_named_as_the_line_to_remove(tmp_path, first):
    path = tmp_path / "excel.csv"
    path.write_text(f"{first}\ntask,worker,label\na,u,x\nb,v,y\n")
    with pytest.raises(ValueError) as err:  # was "line 2 has 3 fields, the header 2; fix or remove that line"
        read_input(path)
    assert str(err.value) == (f"file {str(path)!r} starts with Excel's separator line {first!r} (line 1), which "
                              "is no header; remove that line")
    path.write_text("task,worker,label\na,u,x\nb,v,y\n")  # without it: read
    assert read_input(path).num_rows == 2


def test_bytes_not_utf8_past_the_head_name_their_line(tmp_path):
    good = "".join(f"t{i},w{i % 5},cafe\n" for i in range(9000))  # > 64 KiB: past the head check_head reads
    bad = "t9,w1,caf\xe9\n".encode("latin-1")
    path = tmp_path / "latin_late.csv"
    path.write_bytes(b"task,worker,label\n" + good.encode() + bad)
    with pytest.raises(ValueError) as err:  # was "invalid utf-8 sequence", no line
        read_input(path)
    at = len("task,worker,label\n" + good) + len("t9,w1,caf")
    assert str(err.value) == (f"cannot read {str(path)!r} as CSV: line 9002 is not UTF-8 text (byte {at}); save "
                              "the file as UTF-8 CSV")


@pytest.mark.parametrize("name, what", [("latin.jsonl", "JSON lines"), ("latin.json", "JSON")])
def test_json_not_utf8_names_its_line_as_csv_does(tmp_path, capsys, name, what):
    good = '{"task": "t0", "worker": "w0", "label": "cafe"}\n'
    bad = '{"task": "t1", "worker": "w1", "label": "caf\xe9"}\n'.encode("latin-1")
    path = tmp_path / name
    path.write_bytes(good.encode() * 3 + bad + good.encode())
    at = 3 * len(good) + bad.index(b"\xe9")
    expected = f"cannot read {str(path)!r} as {what}: line 4 is not UTF-8 text (byte {at}); save the file as UTF-8"
    with pytest.raises(ValueError) as err:  # was a table of invalid text (polars panicked printing it)
        read_input(path)
    assert str(err.value) == expected
    with pytest.raises(ValueError) as err:  # was pyarrow's ArrowException "Wrapping caf\ufffd failed"
        galton.aggregate(str(path), "ds")
    assert str(err.value) == expected
    assert main(["aggregate", str(path), "-m", "mv", "-o", "-"]) == 2
    assert capsys.readouterr().err.strip() == f"galton: error: {expected}"


@pytest.mark.parametrize("sep, name", [(",", "trail.csv"), ("\t", "trail.tsv")])
def test_excels_trailing_unnamed_columns_are_left_out(tmp_path, capsys, sep, name):
    path = tmp_path / name
    rows = [["task", "worker", "label", "", ""], ["a", "u", "x", "", ""], ["a", "v", "x", "", ""],
            ["b", "u", "y", "", ""]]
    path.write_text("".join(sep.join(r) + "\n" for r in rows))
    table = read_input(path)  # was "two columns named '' in its header; rename or remove one"
    assert table.column_names == ["task", "worker", "label"]
    assert table.column("label").to_pylist() == ["x", "x", "y"]
    assert main(["aggregate", str(path), "-m", "mv", "-o", "-"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["a,x,1.0,1.0,0.0", "b,y,1.0,0.0,1.0"]
    named = tmp_path / f"twice{path.suffix}"  # a name given twice is still refused
    named.write_text(sep.join(["task", "worker", "label", "x", "x"]) + "\n" + sep.join("auxno") + "\n")
    with pytest.raises(ValueError, match="two columns named 'x' in its header"):
        read_input(named)


# --------------------------------------------------------------------------------------------------
# a folder of files that share no column (galton simulate --out): an error, not "0 rows"
# --------------------------------------------------------------------------------------------------
def test_a_folder_of_files_sharing_no_column_is_an_error(tmp_path, capsys):
    root = tmp_path / "s1"  # as galton simulate --out writes it
    (root / "judgments").mkdir(parents=True)
    (root / "truth").mkdir()
    pq.write_table(_judgments("ab"), root / "judgments" / "part-00000.parquet")
    pq.write_table(pa.table({"task": ["a", "b"], "true_label": ["x", "x"]}), root / "truth" / "part-00000.parquet")
    pq.write_table(pa.table({"worker": ["w"], "accuracy": [0.9]}), root / "workers.parquet")
    message = (f"no column is in every Parquet file of {str(root)!r} (the columns differ between files): "
               f"{str(root / 'judgments' / 'part-00000.parquet')!r} has task, worker, label but "
               f"{str(root / 'truth' / 'part-00000.parquet')!r} has task, true_label; it looks like a galton "
               f"simulate folder: galton aggregate {root / 'judgments'} --gold {root / 'truth'}")
    with pytest.raises(ValueError) as err:  # was an empty table: "'s1' holds no judgments (0 rows)"
        read_input(root)
    assert str(err.value) == message
    assert main(["aggregate", str(root), "-m", "mv", "-o", "-"]) == 2
    assert capsys.readouterr().err.strip() == f"galton: error: {message}"
    assert main(["aggregate", str(root / "judgments"), "--gold", str(root / "truth"), "-m", "mv", "-o", "-"]) == 0
    other = tmp_path / "other"  # any folder: the files named, no hint of simulate
    other.mkdir()
    pq.write_table(_judgments("ab"), other / "a.parquet")
    pq.write_table(pa.table({"rater": ["w"], "accuracy": [0.9]}), other / "b.parquet")
    with pytest.raises(ValueError, match=r"no column is in every Parquet file .*'.*a.parquet' has task, worker, "
                                         r"label but '.*b.parquet' has rater, accuracy; read the files of one"):
        read_input(other)


# --------------------------------------------------------------------------------------------------
# fields longer than the csv module's default limit (131072 characters), which polars reads
# --------------------------------------------------------------------------------------------------
def test_a_field_over_128_kib_is_read_by_the_error_paths_too(tmp_path):
    import csv

    limit = csv.field_size_limit()
    big = "x" * 200_000
    rows = "".join(f"t{i},w{i % 3},a\n" for i in range(15))
    ragged = tmp_path / "long_field.csv"
    ragged.write_text(f'task,worker,label\n"{big}",w1,a\n{rows}t9,w1,a,extra\n')
    with pytest.raises(ValueError, match="line 18 has 4 fields, the header 3; fix or remove that line"):
        read_input(ragged)  # was "field larger than field limit (131072)" (a crash of the CLI)
    wide = tmp_path / "long_name.csv"
    wide.write_text(f'task,worker,"{big}"\nt1,w1,a\n')
    assert input_columns(wide) == ["task", "worker", big]  # was the same csv.Error
    assert csv.field_size_limit() == limit  # the process-wide setting is given back


# --------------------------------------------------------------------------------------------------
# JSON: a key twice in one object is refused, naming the object (line) and the key
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix,text,where", [
    (".json", '[{"task": "a", "worker": "w", "label": 1},\n {"task": "b", "worker": "w", "label": 1, "label": 2}]',
     "as JSON: object 2"),  # was read as label 2, silently
    (".json", '[{"task": "a", "worker": "w", "label": {"x": 1, "x": 2}}]', "as JSON: object 1"),
    (".json", '{"task": ["a"], "worker": ["w"], "label": [1], "label": [2]}', "as JSON: the object of columns"),
    (".jsonl", '{"task": "a", "worker": "w", "label": 1}\n\n{"task": "b", "worker": "w", "label": 1, "label": 2}\n',
     "as JSON lines: line 3"),  # was "Column(/label) was specified twice"
    (".json", '{"task": "b", "worker": "w", "label": 1, "label": 2}\n{"task": "a", "worker": "w", "label": 1}\n',
     "as JSON lines: line 1"),  # JSON lines in a .json file
])
def test_a_json_key_given_twice_is_refused(tmp_path, suffix, text, where):
    path = tmp_path / f"twice{suffix}"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        read_input(path)
    key = "x" if '"x"' in text else "label"
    assert str(err.value) == (f"cannot read {str(path)!r} {where} has the key {key!r} twice; keep one of its "
                              "values (a JSON reader keeps only one, silently)")
    path.write_text(text.replace(', "label": 2', "").replace(', "label": [2]', "").replace(', "x": 2', ""))
    assert read_input(path).num_rows >= 1  # one value each: read


# --------------------------------------------------------------------------------------------------
# JSON lines: date-like strings stay the text the file wrote (Arrow's reader made them timestamps)
# --------------------------------------------------------------------------------------------------
_DATE_ROWS = [("2024-01-01T00:00:00+01:00", "w1", "a"), ("2024-01-01T00:00:00+01:00", "w2", "a"),
              ("2024-01-01T00:00:00+01:00", "w3", "b"), ("2023-12-31T23:00:00Z", "w1", "b"),
              ("2023-12-31T23:00:00Z", "w2", "b"), ("2023-12-31T23:00:00Z", "w3", "b"),
              ("2024-01-02", "w1", "a"), ("2024-01-02", "w2", "a"), ("2024-01-02", "w3", "2024-01-02 10:00")]


def test_json_lines_keep_date_like_strings_as_text(tmp_path, capsys):
    import json

    lines = tmp_path / "tz.jsonl"
    lines.write_text("".join(json.dumps({"task": t, "worker": w, "label": v}) + "\n" for t, w, v in _DATE_ROWS))
    csv = tmp_path / "tz.csv"
    csv.write_text("task,worker,label\n" + "".join(f"{t},{w},{v}\n" for t, w, v in _DATE_ROWS))
    table = read_input(lines)  # was task timestamp[s]: the first two tasks one instant in UTC
    assert table.schema.field("task").type == pa.string() and table.schema.field("label").type == pa.string()
    assert [tuple(r.values()) for r in table.to_pylist()] == _DATE_ROWS
    assert table.to_pylist() == read_input(csv).to_pylist()
    nested = tmp_path / "nested.jsonl"
    nested.write_text('{"task": "t", "worker": "w", "label": ["2024-01-02"], "s": {"at": "2024-01-02"}}\n')
    assert read_input(nested).to_pylist() == [{"task": "t", "worker": "w", "label": ["2024-01-02"],
                                                "s": {"at": "2024-01-02"}}]
    outputs = {}
    for path in (lines, csv):
        assert main(["aggregate", str(path), "-m", "mv", "-o", "-"]) == 0
        out = capsys.readouterr()
        assert "repeat a (task, worker) pair" not in out.err
        outputs[path.suffix] = out.out
    assert outputs[".jsonl"] == outputs[".csv"]  # was 2 tasks, "2023-12-31T23:00:00.000" and "2024-01-02T00:00:00.000"
    two, one = "0.6666666666666666", "0.3333333333333333"
    assert outputs[".csv"].splitlines() == ["task,label,confidence,p_2024-01-02 10:00,p_a,p_b",
                                            "2023-12-31T23:00:00Z,b,1.0,0.0,0.0,1.0",
                                            f"2024-01-01T00:00:00+01:00,a,{two},0.0,{two},{one}",
                                            f"2024-01-02,a,{two},{one},{two},0.0"]
    gold = tmp_path / "gold.csv"  # gold read from CSV matches the tasks of JSON lines
    gold.write_text("task,label\n2024-01-02,a\n2023-12-31T23:00:00Z,b\n")
    assert main(["aggregate", str(lines), "-m", "mv", "--gold", str(gold)]) == 0  # was "gold shares no task"
    assert "accuracy    1.000000 (2/2 tasks with gold)" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------
# a CSV header's quoted names: a quote written twice is one quote, a line break is part of the name
# --------------------------------------------------------------------------------------------------
def test_quoted_header_names_read_as_the_csv_module_reads_them(tmp_path):
    import pyarrow.csv as pv

    path = tmp_path / "quoted.csv"  # pandas writes a column named 'answer "final"' so
    path.write_text('task,annotator,"answer ""final"""\n1,a,x\n1,b,x\n2,a,y\n')
    assert read_input(path).column_names == ["task", "annotator", 'answer "final"']  # was 'answer ""final""'
    assert input_columns(path) == ["task", "annotator", 'answer "final"']
    assert main(["aggregate", str(path), "-m", "mv", "--worker-col", "annotator", "--label-col", 'answer "final"',
                 "-o", str(tmp_path / "o.csv")]) == 0
    assert read_input(tmp_path / "o.csv").column("label").to_pylist() == ["x", "y"]
    src = tmp_path / "labels.csv"  # labels q"x, yes and "yes\n": galton's own p_ columns read back as written
    rows = [("t1", "w1", 'q"x'), ("t1", "w2", "yes"), ("t2", "w1", "yes\n"), ("t2", "w2", "yes")]
    pv.write_csv(pa.table({"task": [r[0] for r in rows], "worker": [r[1] for r in rows],
                            "label": [r[2] for r in rows]}), src)
    names = ["task", "label", "confidence", 'p_q"x', "p_yes", "p_yes\n"]
    for suffix in ("csv", "parquet", "tsv"):
        out = tmp_path / f"out.{suffix}"
        assert main(["aggregate", str(src), "-m", "mv", "-o", str(out)]) == 0  # csv: read back 'p_q""x', or
        assert read_input(out).column_names == names  # "has two columns named 'p_yes'" (cut at the line break)


@pytest.mark.parametrize("name", ["*", "^w.*$", "^extra$"])
def test_a_column_named_like_a_pattern_is_typed_like_any_other(tmp_path, name):
    # polars reads a name like "^w.*$" as a pattern of columns inside its string functions: read_input of such a
    # column failed with an IndexError out of polars; the column is typed by the same rule as the others
    from galton.io import read_input

    path = tmp_path / "x.csv"
    path.write_text(f"task,worker,label,{name}\n1,a,x,1\n1,b,y,2.5\n")
    table = read_input(str(path))
    assert table.column_names == ["task", "worker", "label", name]
    assert table.column(name).to_pylist() == [1.0, 2.5] and table.column("task").to_pylist() == [1, 1]


@pytest.mark.parametrize("odd_at", [3, 70, 199])  # in the first 64 values or after them
def test_a_text_column_is_typed_by_every_value_not_by_its_first_ones(tmp_path, odd_at) -> None:
    """The CSV typing rules look at the first values before the whole column (a regex over 1M ids
    took as long as reading the file); one odd value anywhere still keeps the column text."""
    rows = [(f"t{i}", f"w{i % 7}", str(i % 4), "true" if i % 2 else "FALSE", f"{i / 8}") for i in range(200)]
    odd = list(rows[odd_at])
    odd[2], odd[3], odd[4] = "3x", "yes", "n/a"
    rows[odd_at] = tuple(odd)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    for path, data in ((good, [r for i, r in enumerate(rows) if i != odd_at]), (bad, rows)):
        path.write_text("task,worker,label,flag,score\n" + "".join(",".join(r) + "\n" for r in data))
    typed = read_input(str(good))
    assert [str(typed.schema.field(c).type) for c in ("label", "flag", "score")] == ["int64", "bool", "double"]
    text = read_input(str(bad))
    assert [str(text.schema.field(c).type) for c in ("label", "flag", "score")] == ["large_string"] * 3
