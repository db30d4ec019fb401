"""results_table in each frame type agrees with the model's own results, whatever the fit's frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

import galton
from galton.io import results_table

DF = pd.DataFrame({
    "task": ["t3", "t1", "t1", "t1", "t2", "t2", "t3", "t3"],
    "worker": ["w3", "w2", "w1", "w3", "w1", "w2", "w1", "w2"],
    "label": ["c", "a", "b", "b", "a", "c", "c", "a"],
})


@pytest.mark.parametrize("output", ["arrow", "polars", "pandas"])
def test_results_table_in_each_frame_type_matches_the_pandas_fit(output):
    m = galton.DawidSkene().fit(DF)
    t = results_table(m, output=output)
    frame = pl.from_arrow(t) if output == "arrow" else t if output == "polars" else pl.from_pandas(t)
    assert frame.columns == ["task", "label", "confidence", "p_a", "p_b", "p_c"]
    assert frame["task"].to_list() == ["t1", "t2", "t3"]
    # the same numbers as the pandas fit's crowd-kit-layout probas_, matched by id
    want = m.probas_.loc[["t1", "t2", "t3"], ["a", "b", "c"]].to_numpy()
    np.testing.assert_array_equal(frame.select(["p_a", "p_b", "p_c"]).to_numpy(), want)
    assert frame["label"].to_list() == m.labels_.loc[["t1", "t2", "t3"]].tolist()
    np.testing.assert_array_equal(frame["confidence"].to_numpy(), want.max(axis=1))


def test_results_table_rejects_an_unknown_output():
    with pytest.raises(ValueError, match="output must be 'arrow', 'polars' or 'pandas', not 'csv'"):
        results_table(galton.MajorityVote().fit(DF), output="csv")


def test_float32_labels_name_their_columns_as_the_label_column_writes_them():
    """A float32 label 0.1 gave the column p_0.10000000149011612 beside a label column that writes
    0.1 (bug hunt)."""
    import pyarrow as pa

    import galton
    from galton.io import results_table

    table = pa.table({"task": [1, 1, 2, 2], "worker": list("abab"), "label": pa.array([0.1, 0.1, 0.25, 0.25],
                                                                                      pa.float32())})
    with pytest.warns(UserWarning, match=r"non-integer numbers \(0\.1, 0\.25\)"):
        fitted = galton.aggregate(table, "mv")
    assert results_table(fitted).column_names == ["task", "label", "confidence", "p_0.1", "p_0.25"]
    assert fitted.probas_.column_names == ["task", "p_0.1", "p_0.25"]
