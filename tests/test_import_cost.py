"""``import galton`` stays light: no numba, llvmlite, Ray, polars, pandas, scipy or pyarrow.compute."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("numba", "llvmlite", "ray", "polars", "pandas", "scipy", "pyarrow.compute")


def test_import_galton_loads_no_heavy_module() -> None:
    """In a fresh interpreter; each of these is imported on first use (a fit, a dataset, the CLI)."""
    code = ("import sys, json, galton\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALTON_")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == []
