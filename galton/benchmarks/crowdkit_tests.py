"""crowd-kit's own aggregation, metrics and post-processing tests, run against galton with only the imports changed.

galton aims to be a drop-in for crowd-kit's API ("change the import, keep the code"), so crowd-kit's
test suite is a check written by someone else. This script copies the ``tests/`` folder of a
crowd-kit checkout to a temporary folder and runs its ``aggregation``, ``metrics`` and
``postprocessing`` tests and ``test_utils.py`` twice with pytest: once as they are (crowd-kit's own
result with the installed crowd-kit and pandas), and once with every ``from crowdkit.aggregation``,
``crowdkit.metrics`` and ``crowdkit.postprocessing`` import rewritten to ``galton.`` (the same
module paths: :mod:`galton.aggregation` with ``.base`` and ``.utils``, :mod:`galton.metrics` with
``.data`` and ``.workers``, :mod:`galton.postprocessing`), so that nothing of crowd-kit's runs. It
prints, per test file, how many tests pass each way, then every test that passes with crowd-kit and
fails with galton, with the reason when it is a known, intended difference (``KNOWN``).

crowd-kit's tests are not on PyPI (its wheel holds none, its sdist only ``tests/test_utils.py``: 1.4.2's), so
the checkout is an argument::

    git clone https://github.com/Toloka/crowd-kit && python -m galton.benchmarks.crowdkit_tests crowd-kit

Without crowd-kit installed (``--galton-only``) only galton's run is made. Nothing of crowd-kit's is
copied into galton: the tests run from the temporary folder.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Sequence

from ._common import emit, markdown_table

__all__ = ["KNOWN", "renamed", "run_suite", "main"]

_EMPTY = ("an empty fit: galton returns empty results typed and named like a non-empty fit's (index 'task', "
          "object labels); crowd-kit returns untyped empty frames (and its GLAD, MACE and ZeroBasedSkill raise "
          "ZeroDivisionError)")
_GLAD = "calls GLAD's private _init / _e_step, which galton's GLAD does not have"
_ABC = ("expects crowd-kit's overflow RuntimeWarning and its overflowed scores (a and b tied at 1.0, c at 1.5e-45) on "
        "data_abc (a beats b, b beats c, a beats c: no cycle, an infinite MLE); galton's prior keeps the scores "
        "finite and in the data's order, a > b > c (0.765, 0.5, 0.235)")
_MACE = ("numbers of crowd-kit's start (scipy's uniform draws seeded by random_state, workers in order of first "
         "appearance); galton draws its own from random_state, one draw per worker and label in sorted id order, so "
         "that the start does not depend on the row order (docs/from-crowd-kit.md)")
_KOS = ("two tasks with identical votes on a 2-task graph: KOS's labels follow the signs of the random start "
        "messages; crowd-kit seeds numpy's generator with random_state and draws them in row order (both True), "
        "galton draws each edge's from random_state and its (task, worker) ids, so that the start does not "
        "depend on the row order or the data's split (True and False)")

#: tests that fail with galton by design: exact test id (file::name, with its parameters) -> why; a test
#: not named here that fails is a gap, however close its name
KNOWN = {
    "test_glad_aggregation.py::test_glad_derivative": _GLAD,
    "test_glad_aggregation.py::test_glad_e_step": _GLAD,
    "test_bt_aggregation.py::test_bradley_terry_step_by_step[10]":
        "scores after 10 steps on data whose MLE is infinite (a beats b, b beats c, a beats c): galton's "
        "Bradley-Terry has a prior (finite scores) and fits to convergence",
    "test_bt_aggregation.py::test_noisy_bradley_terry[10-0]": _ABC,
    "test_bt_aggregation.py::test_noisy_bradley_terry[100500-1e-05]": _ABC,
    "test_bt_aggregation.py::test_noisy_bradley_terry_equal":
        "expects the unequal scores of crowd-kit's random start (0.672, 0.646, 0.633) on a 3-cycle (a beats b, "
        "b beats c, c beats a); galton gives the symmetric optimum (equal scores)",
    "test_mace_aggregation.py::test_aggregate_mace_on_simple[em]": _MACE,
    "test_mace_aggregation.py::test_thetas_on_simple": _MACE,
    "test_kos_aggregation.py::test_aggregate_kos_on_data_with_bool_labels[10]": _KOS,
    "test_kos_aggregation.py::test_aggregate_kos_on_data_with_bool_labels[100]": _KOS,
    "test_ds_aggregation.py::TestWorkerInitError::test_assign_inner_state_on_toy_ysda":
        "n_iter=0 with assigned matrices: galton's errors_ rows follow the data's (worker, label) "
        "order like every other fit, crowd-kit echoes the given frame's row order",
    "test_metrics.py::test_alpha_krippendorff_with_distance":
        "expects 0.66733 from an older nltk's masi_distance; with the current nltk crowd-kit's own "
        "alpha_krippendorff gives 0.66667 too, as galton does (it fails with crowd-kit here as well)",
    "test_bt_aggregation.py::test_bradley_terry_empty": _EMPTY,
    "test_ds_aggregation.py::test_dawid_skene_on_empty_input": _EMPTY,
    "test_kos_aggregation.py::test_kos_on_empty_input": _EMPTY,
}

#: the tests run: crowd-kit's aggregation, metrics and post-processing folders and its helpers' tests
FOLDERS = ("aggregation", "metrics", "postprocessing", "test_utils.py")

#: crowd-kit's module paths that galton has under the same names
_IMPORT = re.compile(r"\b(from|import)(\s+)crowdkit\.(aggregation|metrics|postprocessing)\b")


def renamed(text: str) -> str:
    """``text`` (a test module) with its crowd-kit aggregation / metrics / post-processing imports
    pointing at galton's modules of the same path."""
    return _IMPORT.sub(r"\1\2galton.\3", text)


def _outcomes(junit: Path) -> dict[str, str]:
    """test id -> passed / failed / error / skipped, from pytest's JUnit XML."""
    out: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        cls, name = case.get("classname", ""), case.get("name", "")
        parts = cls.split(".")
        file = parts[2] + ".py" if len(parts) > 2 else parts[-1] + ".py"
        inner = "::".join(parts[3:] + [name])
        state = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                state = "failed" if tag == "failure" else tag
        out[f"{file}::{inner}"] = state
    return out


def run_suite(checkout: str | os.PathLike[str], galton: bool, timeout: float = 1200) -> dict[str, str]:
    """Run crowd-kit's tests (:data:`FOLDERS`) from ``checkout`` (a copy in a temporary folder); with
    ``galton`` their crowd-kit imports point at galton's modules (:func:`renamed`). Returns each
    test's outcome."""
    src = Path(checkout) / "tests"
    if not (src / "aggregation").is_dir():
        raise FileNotFoundError(f"{src / 'aggregation'} not found: give the root of a crowd-kit checkout")
    with tempfile.TemporaryDirectory(prefix="galton-ck-") as tmp:
        root = Path(tmp)
        shutil.copytree(src, root / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        if galton:
            for path in (root / "tests").rglob("*.py"):
                path.write_text(renamed(path.read_text()))
        junit = root / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore",
               f"--junitxml={junit}", *(f"tests/{f}" for f in FOLDERS if (src / f).exists())]
        subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
        if not junit.exists():
            raise RuntimeError("pytest wrote no report: is pytest installed?")
        return _outcomes(junit)


def known_reason(test: str) -> str:
    """Why ``test`` (``file::name``, its exact id) fails with galton by design, or ''."""
    return KNOWN.get(test, "")


def report(theirs: dict[str, str], ours: dict[str, str]) -> str:
    """The Markdown report: a row per test file (tests, passes each way), then each test that fails
    with galton and passes with crowd-kit (every failing one when ``theirs`` is empty: galton only)."""
    files = sorted({t.split("::")[0] for t in theirs} | {t.split("::")[0] for t in ours})
    rows = []
    for f in files:
        t = Counter(v for k, v in theirs.items() if k.startswith(f + "::"))
        o = Counter(v for k, v in ours.items() if k.startswith(f + "::"))
        n = sum(t.values()) or sum(o.values())
        rows.append([f, str(n), str(t["passed"]) if theirs else "-", str(o["passed"])])
    total_t = sum(v == "passed" for v in theirs.values())
    total_o = sum(v == "passed" for v in ours.values())
    rows.append(["all", str(len(theirs) or len(ours)), str(total_t) if theirs else "-", str(total_o)])
    lines = ["## crowd-kit's aggregation, metrics and post-processing tests (imports changed to galton)", "",
             markdown_table(["file", "tests", "pass with crowd-kit", "pass with galton"], rows), ""]
    if theirs:
        worse = sorted(k for k, v in ours.items() if v != "passed" and theirs.get(k) == "passed")
        lines.append(f"Fail with galton, pass with crowd-kit: {len(worse)}")
    else:
        worse = sorted(k for k, v in ours.items() if v != "passed")
        lines.append(f"Fail with galton (crowd-kit not run): {len(worse)}")
    for k in worse:
        why = known_reason(k)
        lines.append(f"- `{k}`: {why or 'NOT KNOWN: a drop-in gap'}")
    if theirs:
        better = sorted(k for k, v in ours.items() if v == "passed" and theirs.get(k) not in (None, "passed"))
        lines.append("")
        lines.append(f"Pass with galton, fail with crowd-kit (here): {len(better)}")
        lines += [f"- `{k}`" for k in better]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m galton.benchmarks.crowdkit_tests", description=__doc__.split("\n")[0])
    ap.add_argument("checkout", help="root of a crowd-kit checkout (with tests/aggregation)")
    ap.add_argument("--out", help="also write the Markdown report to this file (atomically)")
    ap.add_argument("--galton-only", action="store_true",
                    help="run the tests against galton only (crowd-kit need not be installed)")
    args = ap.parse_args(argv)
    if not (Path(args.checkout) / "tests" / "aggregation").is_dir():
        print(f"checkout: {Path(args.checkout) / 'tests' / 'aggregation'} not found; give the root of a crowd-kit "
              "checkout (git clone https://github.com/Toloka/crowd-kit)", file=sys.stderr)
        return 2
    theirs: dict[str, str] = {}
    if not args.galton_only:
        try:
            import crowdkit  # noqa: F401
        except ImportError:
            print("crowd-kit is not installed: pip install crowd-kit (its tests import it), or pass --galton-only",
                  file=sys.stderr)
            return 2
        theirs = run_suite(args.checkout, galton=False)
    ours = run_suite(args.checkout, galton=True)
    emit(report(theirs, ours), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
