"""Edited or damaged checkpoints are refused by name, never resumed.

The fingerprint in a checkpoint's name was its only check: arrays were used as the file held them,
so an index array pushed past the end made Dawid-Skene's compiled M-step read out of bounds (the
process died with a segmentation fault), a cut array raised a raw IndexError, ``iteration=-5``
resumed into other labels with ``resumed_from_ == -5``, and a 6.5 KB file whose array header claimed
10**9 x 1000 values asked numpy for 7.28 TiB. Each file here is written by a real fit, edited as a
user (or a disk) might, and the next fit must raise "checkpoint <file> cannot be read (what is
wrong); delete it to start over"; deleted, the fit starts over to the uninterrupted result. The
edits that ended the process run in a child process, so that a crash fails a test, not pytest.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

import galton.aggregator as agg

ROOT = Path(__file__).resolve().parents[2]


def _crowd(kind: str = "categorical", n_tasks: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    if kind == "pairwise":
        q = rng.normal(size=10)
        rows = []
        for i in range(300):
            a, b = rng.choice(10, 2, replace=False)
            rows.append((f"w{i % 7}", f"i{a}", f"i{b}", f"i{a if q[a] + rng.normal() > q[b] else b}"))
        return pd.DataFrame(rows, columns=["worker", "left", "right", "label"])
    truth = rng.integers(0, 3, n_tasks)
    rows = []
    for t in range(n_tasks):
        for w in rng.choice(8, 4, replace=False):
            rows.append((t, f"w{w}", int(truth[t] if rng.random() < 0.7 else rng.integers(0, 3))))
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    if kind == "binary":
        df["label"] = df["label"].clip(upper=1)
    return df


#: models with their data: index arrays and sizes (DS, one-coin, bds, EBCC, M-MSR), shard state
#: (GLAD, EBCC, BWA, KOS), driver memory of an optimiser (Crowd-BT's SQUAREM, ZBS)
MODELS = {"ds": "categorical", "one_coin_ds": "categorical", "bds": "categorical", "glad": "categorical",
          "ebcc": "categorical", "bwa": "categorical", "mace": "categorical", "mmsr": "categorical",
          "kos": "binary", "zbs": "categorical", "crowd_bt": "pairwise"}


def _fit(name: str, limit: int, ckpt: Path | None = None) -> Any:
    params = agg.create(name).get_params()
    kw: dict[str, Any] = {"max_iter" if "max_iter" in params else "n_iter": limit}
    if "tol" in params:
        kw["tol"] = 0.0
    if "random_state" in params:
        kw["random_state"] = 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return agg.get(name)(**kw).fit(_crowd(MODELS[name]), checkpoint_dir=ckpt)


def _tamper(path: Path, edit: Callable[[dict[str, np.ndarray], dict[str, Any]], None]) -> None:
    """Load the checkpoint's arrays and description, edit them, write them back (as np.savez does)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    edit(arrays, meta)
    arrays["meta"] = np.asarray(json.dumps(meta))
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _first(arrays: dict[str, np.ndarray], prefix: str, kinds: str) -> str:
    """The first array under ``prefix`` of a dtype kind in ``kinds`` with more than one value."""
    return next(k for k, v in arrays.items() if k.startswith(prefix) and v.dtype.kind in kinds and v.size > 1)


def _cut(z: dict[str, np.ndarray], m: dict[str, Any]) -> None:
    key = _first(z, "a:p/", "f")
    z[key] = z[key][:-1]


def _nan(z: dict[str, np.ndarray], m: dict[str, Any]) -> None:
    key = _first(z, "a:p/", "f")
    z[key] = np.full_like(z[key], np.nan)


def _drop(z: dict[str, np.ndarray], m: dict[str, Any]) -> None:
    key = _first(z, "a:p/", "f")
    del z[key]
    parts = key[4:].split("/")
    spec = m["params"]
    for part in parts[:-1]:
        spec = spec["dict"][part]
    del spec["dict"][parts[-1]]


EDITS: dict[str, tuple[Callable[[dict[str, np.ndarray], dict[str, Any]], None], str]] = {
    "NaN in a parameter array": (_nan, r"its p/\S+ holds NaN or infinite values where this fit's has none"),
    "a parameter gone": (_drop, r"(it lacks p/|its m/\S+ names an array it does not hold \(\"p/)"),
    "a negative iteration": (lambda z, m: m.update(iteration=-5), r"its iteration is -5, not a count >= 0"),
    "an iteration without its objectives": (lambda z, m: m.update(iteration=m["iteration"] + 1),
                                            r"its history \(shape \(3,\) of float64\) is not one float objective "
                                            r"per iteration \(4\)"),
    "a 2-D history": (lambda z, m: z.update(history=np.zeros((3, 2))), r"its history \(shape \(3, 2\)"),
    "parameters that are a list": (lambda z, m: m.update(params=[1]), r"its params is a list, not a dict"),
    "no random state": (lambda z, m: m.update(rng=None), r"its rng is a NoneType, not a dict"),
    "another random generator": (lambda z, m: m["rng"].update(bit_generator="MT19937"),
                                 r"its random state does not fit this fit's PCG64"),
    "an array nothing names": (lambda z, m: z.update({"a:p/zzz": np.zeros(3)}),
                               r"it holds arrays no parameter names: \['p/zzz'\]"),
}


@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("name", list(MODELS))
def test_an_edited_checkpoint_is_refused_by_name(name: str, edit: str, tmp_path: Path) -> None:
    if name == "kos" and edit == "NaN in a parameter array":
        pytest.skip("KOS's one parameter array (worker totals) is made by its first iteration: nothing to compare "
                    "it with; its messages live in the shards (test_edited_shard_state_is_refused_not_read_out_of"
                    "_bounds)")
    _fit(name, 3, tmp_path)
    paths = sorted(tmp_path.glob("*.npz"))  # MACE: one per restart
    fn, said = EDITS[edit]
    for path in paths:
        _tamper(path, fn)
    with pytest.raises(ValueError) as e:
        _fit(name, 6, tmp_path)
    files = "|".join(re.escape(str(p)) for p in paths)
    assert re.fullmatch(rf"checkpoint ({files}) cannot be read \({said}.*\); delete it to start over",
                        str(e.value)), str(e.value)


def test_a_negative_iteration_is_refused_not_resumed_into_other_labels(tmp_path: Path) -> None:
    """``iteration=-5`` was taken up: ``resumed_from_ == -5``, 15 iterations run but ``n_iter_ == 10``,
    8 of 50 labels other than a clean resume's. Refused now; deleted, the fit is the uninterrupted one."""
    whole = _fit("ds", 10)
    _fit("ds", 3, tmp_path)
    (path,) = tmp_path.glob("*.npz")
    _tamper(path, lambda z, m: m.update(iteration=-5))
    with pytest.raises(ValueError, match=r"cannot be read \(its iteration is -5, not a count >= 0\); delete it"):
        _fit("ds", 10, tmp_path)
    path.unlink()
    again = _fit("ds", 10, tmp_path)
    assert again.resumed_from_ == 0 and again.n_iter_ == 10 and again.history_ == whole.history_
    np.testing.assert_array_equal(again.probas_.to_numpy(), whole.probas_.to_numpy())


def test_a_changed_size_or_index_is_refused(tmp_path: Path) -> None:
    _fit("ds", 3, tmp_path)
    (path,) = tmp_path.glob("*.npz")
    good = path.read_bytes()
    _tamper(path, lambda z, m: m["memory"]["dict"].update(n_labels={"int": 7}))
    with pytest.raises(ValueError, match=r"cannot be read \(its m/n_labels is 7, this fit's 3\)"):
        _fit("ds", 6, tmp_path)
    path.write_bytes(good)
    _tamper(path, lambda z, m: z.update({"a:m/wptr": z["a:m/wptr"][::-1].copy()}))
    with pytest.raises(ValueError, match=r"cannot be read \(its m/wptr differs from this fit's in \d+ of 9 values"):
        _fit("ds", 6, tmp_path)
    path.write_bytes(good)
    assert _fit("ds", 6, tmp_path).resumed_from_ == 3  # the file as written resumes


def test_a_count_out_of_its_range_is_refused(tmp_path: Path) -> None:
    """Integers the fit changes (ZBS's step count, which sets its learning rate) stay between the
    fresh start's value (or 0) and the larger of the iteration and the longest axis of the start."""
    _fit("zbs", 3, tmp_path)
    (path,) = tmp_path.glob("*.npz")
    _tamper(path, lambda z, m: m["memory"]["dict"].update(it={"int": -4}))
    with pytest.raises(ValueError, match=r"cannot be read \(its m/it is -4, outside 0\.\.\d+ \(this fit starts at "
                                         r"0\)\)"):
        _fit("zbs", 6, tmp_path)


def _in_child(ck: Path, body: str) -> str:
    """Run ``body`` (with this module's helpers and ``ck``) in a child process; its stdout. An edit
    that makes a compiled kernel read out of bounds ended the process (exit status 139 or 134): it
    ends the child here, failing the test instead of pytest."""
    code = (f"import sys\nsys.path.insert(0, {str(ROOT / 'tests' / 'aggregator')!r})\n"
            f"from test_checkpoint_tamper import Path, _cut, _fit, _tamper\nck = Path({str(ck)!r})\n{body}")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, (out.returncode, out.stdout[-2000:], out.stderr[-2000:])
    return out.stdout


#: a child's loop: for each model of ``names``, fit 3 iterations, apply ``edit``, fit 6; print the error
CHILD = """
for name in names:
    d = ck / name
    _fit(name, 3, d)
    for path in d.glob("*.npz"):
        _tamper(path, edit)
    try:
        _fit(name, 6, d)
        print(name, "RESUMED")
    except ValueError as e:
        print(name, e)
"""


def test_a_parameter_array_cut_short_is_refused_not_read_out_of_bounds(tmp_path: Path) -> None:
    """Dawid-Skene's table one row short: a raw IndexError, or (bds, GLAD, EBCC, M-MSR) the process
    died in a compiled kernel (GLAD's abilities cut to 1: "array is too big", exit status 139)."""
    names = [n for n in MODELS if n != "kos"]  # KOS's parameter array is made by its first iteration
    out = _in_child(tmp_path, f"names = {names!r}\nedit = _cut\n{CHILD}").splitlines()
    assert [line.split(" ", 1)[0] for line in out] == names, out
    for line in out:
        name, said = line.split(" ", 1)
        assert re.fullmatch(rf"checkpoint {re.escape(str(tmp_path / name))}/\S+\.npz cannot be read \(its p/\S+ is an "
                            r"array of shape \(.*\) of float64, this fit's of shape \(.*\) of float64\); delete it "
                            r"to start over", said), line


def test_edited_shard_state_is_refused_not_read_out_of_bounds(tmp_path: Path) -> None:
    """GLAD's task difficulties cut from 45 to 2 were read past their end by the E-step (exit
    status 0 or 2 by chance); the same for the state EBCC, BWA and KOS keep in their shards."""
    names = ["glad", "ebcc", "bwa", "kos"]
    edit = "def edit(z, m):\n    key = next(k for k in z if k.startswith('s:0/'))\n    z[key] = z[key][:2]\n"
    out = _in_child(tmp_path, f"names = {names!r}\n{edit}{CHILD}").splitlines()
    assert [line.split(" ", 1)[0] for line in out] == names, out
    for line in out:
        assert re.search(r"cannot be read \(its shard state \S+ is an array of shape \(2,.*\); delete it to start over",
                         line), line


def test_an_index_past_the_end_is_refused_not_read_out_of_bounds(tmp_path: Path) -> None:
    """``pairs + 10**7``: the compiled M-step read out of bounds and the process died (exit status
    139)."""
    edit = "def edit(z, m):\n    z['a:p/pairs'] = z['a:p/pairs'] + 10**7\n"
    out = _in_child(tmp_path, f"names = ['ds', 'one_coin_ds']\n{edit}{CHILD}").splitlines()
    assert len(out) == 2, out
    for line in out:
        assert re.search(r"cannot be read \(its p/pairs differs from this fit's in (\d+) of \1 values \(indices, "
                         r"constants of the fit\)\); delete it to start over", line), line


def _rewrite(path: Path, name: str, content: bytes, compression: int = zipfile.ZIP_STORED) -> None:
    """Replace one member of the checkpoint's archive by ``content``."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members[name] = content
    with zipfile.ZipFile(path, "w", compression) as z:
        for n, data in members.items():
            z.writestr(n, data)


def test_an_array_header_claiming_more_than_the_file_holds_is_refused_unread(tmp_path: Path) -> None:
    """A 6.5 KB file whose header claimed (10**9, 1000) float64 ran into "Unable to allocate 7.28
    TiB", never saying the checkpoint was at fault: the headers are read first, and an array must
    hold the bytes it declares."""
    _fit("ds", 3, tmp_path)
    (path,) = tmp_path.glob("*.npz")
    good = path.read_bytes()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 1000)})
    _rewrite(path, "a:p/table.npy", header.getvalue() + b"\0" * 64)
    assert path.stat().st_size < 20_000
    with pytest.raises(ValueError, match=r"cannot be read \(array 'a:p/table' declares shape \(1000000000, 1000\) of "
                                         r"float64 \(8,000,000,000,000 bytes\) but holds 64 bytes\); delete it"):
        _fit("ds", 6, tmp_path)
    path.write_bytes(good)
    _rewrite(path, "a:p/table.npy", header.getvalue() + b"\0" * 64, zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match=r"cannot be read \(member 'a:p/table.npy' is no array as np.savez stores it"):
        _fit("ds", 6, tmp_path)


def test_the_cli_names_the_edited_checkpoint(tmp_path: Path) -> None:
    """The hunter's command line: ``pairs + 10**7`` ended the command with a segmentation fault
    (exit status 139); it says which file to delete now (exit status 2, a failure)."""
    data = tmp_path / "j.csv"
    _crowd().to_csv(data, index=False)
    ck, out = tmp_path / "ck", tmp_path / "o.csv"
    run = [sys.executable, "-m", "galton", "aggregate", str(data), "-m", "ds", "--checkpoint-dir", str(ck),
           "-o", str(out), "-q"]
    done = subprocess.run(run + ["--max-iter", "3"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    (path,) = ck.glob("*.npz")
    _tamper(path, lambda z, m: z.update({"a:p/pairs": z["a:p/pairs"] + 10**7}))
    done = subprocess.run(run + ["--max-iter", "20"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert f"checkpoint {path} cannot be read (its p/pairs differs" in done.stderr
    assert "delete it to start over" in done.stderr
