"""Data shared by the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def one_wrong_worker_alone() -> pd.DataFrame:
    """Labels "b" and "c"; w0 is always wrong, the others 85% right; task 200 is w0's alone (a
    declared label "a" that nobody gives then took it, in GLAD and MACE)."""
    rng = np.random.default_rng(17)
    truth, names, rows = rng.integers(0, 2, 200), np.array(["b", "c"]), []
    for t in range(200):
        for w in rng.choice(8, 3, replace=False):
            right = w != 0 and rng.random() < 0.85
            rows.append((t, f"w{w}", names[truth[t] if right else 1 - truth[t]]))
    rows.append((200, "w0", "b"))
    return pd.DataFrame(rows, columns=["task", "worker", "label"])
