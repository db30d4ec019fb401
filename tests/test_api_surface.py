"""The public Python API as a pipeline meets it (bug hunt, twenty-second session): one input read
the same way whatever its file form, ambiguous layouts refused, refusals that name the right thing."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import galton
from galton.io import input_columns
from galton.metrics import workers as metrics_workers

PAIRS = pd.DataFrame({"left": ["a", "b", "a"], "right": ["b", "c", "c"], "worker": ["w1", "w2", "w1"],
                      "label": ["a", "b", "c"]})


def _forms(df: pd.DataFrame, tmp_path: Path) -> list[Path]:
    """The same table as CSV, gzipped CSV, CSV with a byte-order mark and an indented JSON array."""
    csv = tmp_path / "d.csv"
    df.to_csv(csv, index=False)
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + csv.read_bytes())
    arr = tmp_path / "d.json"
    arr.write_text(json.dumps(df.to_dict(orient="records"), indent=2))
    return [csv, gz, bom, arr]


def test_input_columns_read_every_file_form_alike(tmp_path: Path) -> None:
    """A gzipped CSV gave binary garbage for names, a byte-order mark stuck to the first name and an
    indented JSON array gave none: galton.aggregate fitted such pairwise files as categorical."""
    for path in _forms(PAIRS, tmp_path):
        assert input_columns(path) == ["left", "right", "worker", "label"], path
        assert type(galton.aggregate(str(path))).__name__ == "BradleyTerry", path


def test_a_weight_column_counts_in_every_file_form(tmp_path: Path) -> None:
    """get_accuracy ignored the weight column of a .csv.gz file and of a JSON array: 0.5 for 1.0."""
    df = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": ["x", "y", "x", "y"],
                       "weight": [1.0, 0.0, 1.0, 0.0]})
    for path in _forms(df, tmp_path):
        assert metrics_workers.get_accuracy(str(path), {1: "x", 2: "x"}) == 1.0, path


def test_judgments_beside_left_and_right_columns_are_ambiguous() -> None:
    """Bounding-box left / right columns beside task, worker, label made galton.aggregate fit the
    data as comparisons (or fail on item types), where the command line refuses it as ambiguous."""
    boxes = pd.DataFrame({"task": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": ["x", "x", "y", "x"],
                          "left": ["x", "x", "y", "y"], "right": ["y", "y", "x", "x"]})
    with pytest.raises(ValueError, match="ambiguous.*kind='categorical' or kind='pairwise', or a model"):
        galton.aggregate(boxes)
    assert galton.aggregate(boxes, "mv", kind="categorical").labels_.tolist() == ["x", "x"]


@pytest.mark.parametrize("role", ["task_col", "worker_col", "label_col"])
@pytest.mark.parametrize("item", ["left", "right"])
def test_a_role_named_for_an_item_column_of_comparisons_is_refused(role: str, item: str) -> None:
    """task_col="left" on worker, left, right, label fitted BayesianDawidSkene with the left items for
    tasks and the right column dropped (the rename came before the kind was told from the columns);
    worker_col / label_col said only "missing column(s) ['task']"."""
    with pytest.raises(ValueError, match=rf"{role}='{item}' names the {item} column of pairwise comparisons.*"
                                         rf"leave out {role}"):
        galton.aggregate(PAIRS, **{role: item})
    with pytest.raises(ValueError, match=rf"{role}='{item}' names the {item} column"):
        galton.allocate(PAIRS, 1, **{role: item})
    if role == "task_col":  # a model named: the caller chose a categorical fit of the items as tasks
        assert len(galton.aggregate(PAIRS, "ds", task_col=item, duplicates="keep").labels_) == PAIRS[item].nunique()


def test_results_table_of_a_non_categorical_model_says_what_to_use() -> None:
    """results_table said a fitted rating or pairwise model "is not fitted"."""
    rating = galton.aggregate(pd.DataFrame({"task": [1, 1], "worker": ["a", "b"], "label": [1.0, 2.0]}),
                              kind="rating")
    for model, kind in ((rating, "rating"), (galton.aggregate(PAIRS), "pairwise")):
        with pytest.raises(ValueError, match=f"gives {kind} results: use its scores_ and intervals_"):
            galton.io.results_table(model)


def test_an_encoded_judgments_refuses_reading_options() -> None:
    """Judgments.from_any(j, labels=..., duplicates="raise", on_invalid="bogus", task_col="nope")
    returned j unchanged: fit(j, labels=[...]) dropped the unseen label, silently."""
    df = pd.DataFrame({"task": [1, 1, 1], "worker": ["a", "a", "b"], "label": ["x", "y", "x"]})
    j = galton.Judgments.from_any(df)
    with pytest.raises(ValueError, match=r"encoded Judgments; duplicates='raise', labels=\[\.\.\.\] apply"):
        galton.DawidSkene().fit(j, duplicates="raise", labels=["x", "y", "z"])
    assert galton.Judgments.from_any(j, labels=["y", "x"]) is j  # the same label set: nothing to apply


def test_output_takes_only_the_three_frame_kinds_and_kinds_are_checked() -> None:
    """aggregate(output="dict") and output="" returned polars; names(kind="categorial") listed no model."""
    df = pd.DataFrame({"task": [1, 1], "worker": ["a", "b"], "label": [0, 1]})
    for bad in ("dict", ""):
        with pytest.raises(ValueError, match=f"output must be 'pandas', 'polars' or 'arrow', not {bad!r}"):
            galton.aggregate(df, "mv", output=bad)
    with pytest.raises(ValueError, match="kind must be one of categorical, pairwise, choice, rating"):
        galton.aggregator.names(kind="categorial")
    # its docstring said "another kind raised nothing" after it had come to raise: it says ValueError
    doc = " ".join(galton.names.__doc__.split())
    assert "raised nothing" not in doc and "ValueError For any other ``kind``" in doc


def test_a_polars_lazy_frame_is_aggregated_without_polars_warning() -> None:
    """aggregate(LazyFrame) read its columns with .columns, which polars warns is expensive."""
    pl = pytest.importorskip("polars")
    lazy = pl.LazyFrame({"task": [1, 1], "worker": ["a", "b"], "label": [0, 0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert galton.aggregate(lazy, "mv").labels_["label"].to_list() == [0]


def test_an_encoded_comparisons_refuses_reading_options() -> None:
    """Comparisons.from_any(c, tie="tie", ...) returned c unchanged: the options were ignored, silently."""
    from galton.data import Comparisons

    c = Comparisons.from_any(PAIRS)
    assert Comparisons.from_any(c) is c
    with pytest.raises(ValueError, match=r"encoded Comparisons; tie='tie', on_invalid='drop' apply"):
        Comparisons.from_any(c, tie="tie", on_invalid="drop")


def test_an_encoded_choices_refuses_reading_options() -> None:
    """Choices.from_any(c, choice_col="pick", ...) returned c unchanged: the options were ignored, silently."""
    from galton.data import Choices

    c = Choices.from_any(pd.DataFrame({"worker": ["w", "v"], "options": [["a", "b"], ["a", "b", "c"]],
                                       "choice": ["a", "c"]}))
    assert Choices.from_any(c) is c
    with pytest.raises(ValueError, match=r"encoded Choices; choice_col='pick', on_invalid='drop' apply when choices "
                                         r"are read"):
        Choices.from_any(c, choice_col="pick", on_invalid="drop")
