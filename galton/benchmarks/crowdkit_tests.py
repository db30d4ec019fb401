"""crowd-kit's own aggregation, metrics and post-processing tests, run against galton's in crowd-kit's place.

galton aims to be a drop-in for crowd-kit's API, so crowd-kit's test suite is a check written by
someone else. This script copies the ``tests/`` folder of a crowd-kit checkout to a temporary
folder and runs its ``aggregation``, ``metrics`` and ``postprocessing`` tests twice with pytest: once
as they are (crowd-kit's own result with the installed crowd-kit and pandas), and once with every
``crowdkit.aggregation`` class and ``crowdkit.metrics`` / ``crowdkit.postprocessing`` function that
galton also has replaced by galton's (the functions from :mod:`galton.metrics`; the classes
``BinaryRelevance``, ``BradleyTerry``, ``DawidSkene``, ``GLAD``, ``GoldMajorityVote``, ``KOS``,
``MACE``, ``MajorityVote``, ``MMSR``, ``NoisyBradleyTerry``, ``OneCoinDawidSkene``, ``ROVER``,
``RASA``, ``HRRASA``, ``ClosestToAverage``, ``TextRASA``, ``TextHRRASA``, the three
``Segmentation*`` models, ``Wawa``, ``ZeroBasedSkill``). It prints, per test file, how many tests
pass each way, then every test that passes with crowd-kit and fails with galton, with the reason
when it is a known, intended difference (``KNOWN``).

crowd-kit's tests are not on PyPI (its sdist holds none), so the checkout is an argument::

    git clone https://github.com/Toloka/crowd-kit && python -m galton.benchmarks.crowdkit_tests crowd-kit

Nothing of crowd-kit's is copied into galton: the tests run from the temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Sequence

from ._common import emit, markdown_table

__all__ = ["SWAPPED", "KNOWN", "run_suite", "main"]

#: the crowd-kit classes galton has, by the same name
SWAPPED = ("BinaryRelevance", "BradleyTerry", "ClosestToAverage", "DawidSkene", "GLAD", "GoldMajorityVote", "HRRASA",
           "KOS", "MACE", "MajorityVote", "MMSR", "NoisyBradleyTerry", "OneCoinDawidSkene", "RASA", "ROVER",
           "SegmentationEM", "SegmentationMajorityVote", "SegmentationRASA", "TextHRRASA", "TextRASA", "Wawa",
           "ZeroBasedSkill")

#: tests that fail with galton by design: (file, test name prefix) -> why
KNOWN = {
    ("test_glad_aggregation.py", "test_glad_"):
        "calls GLAD's private _init / _e_step, which galton's GLAD does not have",
    ("test_bt_aggregation.py", "test_bradley_terry_step_by_step"):
        "scores after 10 steps on data whose MLE is infinite (a beats b, b beats c, a beats c): galton's "
        "Bradley-Terry has a prior (finite scores) and fits to convergence",
    ("test_bt_aggregation.py", "test_noisy_bradley_terry"):
        "expects crowd-kit's overflow RuntimeWarning and the scores of its random start; on a 3-cycle "
        "galton gives the symmetric optimum (equal scores)",
    ("test_mace_aggregation.py", "test_"):
        "numbers of crowd-kit's random start (numpy's global RandomState); galton's starts are keyed by "
        "(seed, task id) so that sharding does not change them",
    ("test_kos_aggregation.py", "test_aggregate_kos_on_data_with_bool_labels"):
        "two tasks with identical votes on a 2-task graph: KOS's labels follow the signs of the random "
        "start messages (crowd-kit's seed gives both True, galton's True and False)",
    ("test_ds_aggregation.py", "TestWorkerInitError::test_assign_inner_state"):
        "n_iter=0 with assigned matrices: galton's errors_ rows follow the data's (worker, label) "
        "order like every other fit, crowd-kit echoes the given frame's row order",
    ("", "empty"):
        "an empty fit: galton returns empty results typed and named like a non-empty fit's (index "
        "'task', object labels); crowd-kit returns untyped empty frames (and its GLAD, MACE and "
        "ZeroBasedSkill raise ZeroDivisionError)",
}

#: crowd-kit's metric functions galton has: module -> names (galton.metrics holds them all)
METRICS = {
    "crowdkit.metrics.data": ("alpha_krippendorff", "consistency", "uncertainty"),
    "crowdkit.metrics.workers": ("accuracy_on_aggregates",),
    "crowdkit.aggregation.utils": ("get_accuracy",),
    "crowdkit.postprocessing": ("entropy_threshold",),
}

#: the test folders run: crowd-kit's aggregation, metrics and post-processing tests
FOLDERS = ("aggregation", "metrics", "postprocessing")

_CONFTEST = '''
import importlib
import crowdkit.aggregation as _aggregation
import galton as _galton
import galton.metrics as _metrics
for _name in {names!r}:
    setattr(_aggregation, _name, getattr(_galton, _name))
for _module, _names in {metrics!r}.items():
    _m = importlib.import_module(_module)
    for _name in _names:
        setattr(_m, _name, getattr(_metrics, _name))
'''


def _outcomes(junit: Path) -> dict[str, str]:
    """test id -> passed / failed / error / skipped, from pytest's JUnit XML."""
    out: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        cls, name = case.get("classname", ""), case.get("name", "")
        parts = cls.split(".")
        file = parts[2] + ".py" if len(parts) > 2 else cls
        inner = "::".join(parts[3:] + [name])
        state = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                state = "failed" if tag == "failure" else tag
        out[f"{file}::{inner}"] = state
    return out


def run_suite(checkout: str | os.PathLike[str], swap: bool, timeout: float = 1200) -> dict[str, str]:
    """Run crowd-kit's ``tests/aggregation`` (and ``metrics``, ``postprocessing``) from ``checkout`` (a
    copy in a temporary folder); with ``swap`` galton's classes and functions stand in for crowd-kit's.
    Returns each test's outcome."""
    src = Path(checkout) / "tests"
    if not (src / "aggregation").is_dir():
        raise FileNotFoundError(f"{src / 'aggregation'} not found: give the root of a crowd-kit checkout")
    with tempfile.TemporaryDirectory(prefix="galton-ck-") as tmp:
        root = Path(tmp)
        shutil.copytree(src, root / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        if swap:
            (root / "conftest.py").write_text(_CONFTEST.format(names=SWAPPED, metrics=METRICS))
        junit = root / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore",
               f"--junitxml={junit}", *(f"tests/{f}" for f in FOLDERS if (src / f).is_dir())]
        subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
        if not junit.exists():
            raise RuntimeError("pytest wrote no report: is pytest installed with crowd-kit?")
        return _outcomes(junit)


def known_reason(test: str) -> str:
    """Why ``test`` (``file::name``) fails with galton by design, or ''."""
    file, _, name = test.partition("::")
    for (kfile, prefix), why in KNOWN.items():
        if kfile and kfile == file and name.startswith(prefix):
            return why
        if not kfile and prefix in name:
            return why
    return ""


def report(theirs: dict[str, str], ours: dict[str, str]) -> str:
    files = sorted({t.split("::")[0] for t in theirs} | {t.split("::")[0] for t in ours})
    rows = []
    for f in files:
        t = Counter(v for k, v in theirs.items() if k.startswith(f + "::"))
        o = Counter(v for k, v in ours.items() if k.startswith(f + "::"))
        n = sum(t.values()) or sum(o.values())
        rows.append([f, str(n), str(t["passed"]), str(o["passed"])])
    total_t = sum(v == "passed" for v in theirs.values())
    total_o = sum(v == "passed" for v in ours.values())
    rows.append(["all", str(len(theirs)), str(total_t), str(total_o)])
    lines = ["## crowd-kit's aggregation, metrics and post-processing tests", "",
             markdown_table(["file", "tests", "pass with crowd-kit", "pass with galton"], rows), ""]
    worse = sorted(k for k, v in ours.items() if v != "passed" and theirs.get(k) == "passed")
    better = sorted(k for k, v in ours.items() if v == "passed" and theirs.get(k) not in (None, "passed"))
    lines.append(f"Fail with galton, pass with crowd-kit: {len(worse)}")
    for k in worse:
        why = known_reason(k)
        lines.append(f"- `{k}`: {why or 'NOT KNOWN: a drop-in gap'}")
    lines.append("")
    lines.append(f"Pass with galton, fail with crowd-kit (here): {len(better)}")
    lines += [f"- `{k}`" for k in better]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m galton.benchmarks.crowdkit_tests", description=__doc__.split("\n")[0])
    ap.add_argument("checkout", help="root of a crowd-kit checkout (with tests/aggregation)")
    ap.add_argument("--out", help="also write the Markdown report to this file (atomically)")
    args = ap.parse_args(argv)
    try:
        import crowdkit  # noqa: F401
    except ImportError:
        print("crowd-kit is not installed: pip install crowd-kit (its tests import it)", file=sys.stderr)
        return 2
    theirs = run_suite(args.checkout, swap=False)
    ours = run_suite(args.checkout, swap=True)
    emit(report(theirs, ours), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
