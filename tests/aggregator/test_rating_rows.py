"""Rating data's rows: repeated (task, worker) pairs and ratings that are no numbers, in Python and
on the command line."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import galton
from galton.cli import main


def _ratings() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    truth = rng.uniform(0, 100, 30)
    rows = [(t, f"w{w}", round(float(truth[t] + rng.normal(0, 10)), 1)) for t in range(30) for w in range(4)]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


@pytest.mark.parametrize("name", galton.aggregator.names(kind="rating"))
def test_repeated_pairs_of_ratings_are_warned_of(name: str) -> None:
    """The same export appended twice counted each rating twice without a word: the standard errors
    fell as if twice the workers had rated (snow2008_affect_anger, rating_gaussian: 6.59 -> 4.31).
    Rating models warn as categorical ones do, with what it does to ratings; duplicates='first'
    gives the fit of the rows once, and 'keep' counts them quietly."""
    once = _ratings()
    twice = pd.concat([once, once], ignore_index=True)
    with pytest.warns(UserWarning, match=r"120 row\(s\) repeat a \(task, worker\) pair \(\(0, 'w0'\), .*intervals "
                                         r"come out too narrow.*duplicates='first'"):
        galton.aggregate(twice, name, kind="rating")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = galton.aggregate(once, name, kind="rating")
        first = galton.aggregate(twice, name, kind="rating", duplicates="first")
        galton.aggregate(twice, name, kind="rating", duplicates="keep")
    pd.testing.assert_frame_equal(first.intervals_, single.intervals_)
    assert first.judgments_.n_dropped == 120


def test_repeated_ratings_narrow_the_mean_interval_by_hand() -> None:
    """What the warning says, by hand: four ratings of a task, each given twice, give the same mean
    and a standard error of sqrt(sum (x - m)^2 / 7 / 8) in place of sqrt(sum (x - m)^2 / 3 / 4)."""
    once = pd.DataFrame({"task": 1, "worker": list("abcd"), "label": [1.0, 2.0, 4.0, 7.0]})
    with pytest.warns(UserWarning, match="repeat a"):
        twice = galton.aggregate(pd.concat([once, once]), "rating_mean", kind="rating").intervals_
    ss = 2.5 ** 2 + 1.5 ** 2 + 0.5 ** 2 + 3.5 ** 2  # about the mean 3.5
    assert twice["score"].iloc[0] == 3.5 and twice["se"].iloc[0] == pytest.approx(np.sqrt(2 * ss / 7 / 8))
    single = galton.aggregate(once, "rating_mean", kind="rating").intervals_
    assert single["se"].iloc[0] == pytest.approx(np.sqrt(ss / 3 / 4))


def _summary(text: str) -> dict[str, str]:
    return {line.split(None, 1)[0]: line.split(None, 1)[1].strip() for line in text.splitlines()
            if len(line.split(None, 1)) == 2}


def test_duplicates_option_on_the_command_line_for_ratings(tmp_path: Path, capsys) -> None:
    """galton aggregate refused --duplicates for ratings ("--duplicates is for categorical and
    multilabel data") though galton.aggregate(..., duplicates="first") takes it; without it the
    repeats were counted silently."""
    once = _ratings()
    src, single = tmp_path / "twice.csv", tmp_path / "once.csv"
    pd.concat([once, once]).to_csv(src, index=False)
    once.to_csv(single, index=False)
    assert main(["aggregate", str(src), "--kind", "rating", "-m", "rating_mean", "--duplicates", "first",
                 "-o", str(tmp_path / "first.csv")]) == 0
    out, err = capsys.readouterr()
    assert err == "" and _summary(out)["dropped"] == ("120 rows with a missing value or a rating that is no usable "
                                                      "number, or repeating a (task, worker) pair")
    assert main(["aggregate", str(single), "--kind", "rating", "-m", "rating_mean", "-o",
                 str(tmp_path / "want.csv")]) == 0
    capsys.readouterr()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "first.csv"), pd.read_csv(tmp_path / "want.csv"))
    assert main(["aggregate", str(src), "--kind", "rating", "-m", "rating_mean"]) == 0
    err = capsys.readouterr().err
    assert "warning: 120 row(s) repeat a (task, worker) pair" in err and "intervals come out too narrow" in err
    assert "pass --duplicates first or last to keep one row of each pair" in err
    assert main(["aggregate", str(src), "--kind", "rating", "--duplicates", "keep"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["aggregate", str(src), "--kind", "rating", "--duplicates", "raise"]) == 2
    assert "120 repeated (task, worker) pair(s)" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["N/A", "nan", "x", "inf", "1_000", "\uff13"])
def test_on_invalid_drop_drops_ratings_that_are_no_numbers(text: str) -> None:
    """on_invalid='drop' dropped null and infinite ratings but not text that reads as no number: a
    'N/A' (or 'nan') still failed with "rating models need numeric labels ... Fix or drop those
    rows". Such rows are invalid rows now, dropped and counted like the others; text that reads as
    a number stays a rating."""
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "worker": list("ababab"),
                       "label": ["1", text, "2", "3", " 4", "+5"]})
    model = galton.aggregate(df, "rating_mean", on_invalid="drop")
    assert model.scores_.to_dict() == {1: 1.0, 2: 2.5, 3: 4.5} and model.judgments_.n_dropped == 1
    with pytest.raises(ValueError, match=r"rows 1\).*on_invalid='drop'"):  # 'inf': a rating the models refuse
        galton.aggregate(df, "rating_mean")
    with pytest.raises(ValueError, match="every row has a null value"):
        galton.aggregate(df.assign(label=text), "rating_mean", on_invalid="drop")


def test_on_invalid_drop_drops_ratings_that_are_no_numbers_on_the_command_line(tmp_path: Path, capsys) -> None:
    """galton aggregate na.csv --kind rating --on-invalid drop failed on a 'N/A' rating; it drops the
    row, says so in the summary, and rates the file as if the row were not there."""
    src, want = tmp_path / "na.csv", tmp_path / "without.csv"
    src.write_text("task,worker,label\n1,a,1\n1,b,N/A\n2,a,2\n2,b,3\n3,a,4\n3,b,5\n")
    want.write_text("task,worker,label\n1,a,1\n2,a,2\n2,b,3\n3,a,4\n3,b,5\n")
    assert main(["aggregate", str(src), "--kind", "rating", "--on-invalid", "drop", "-o", str(tmp_path / "o.csv")]) == 0
    out, err = capsys.readouterr()
    assert err == "" and _summary(out)["dropped"] == "1 rows with a missing value or a rating that is no usable number"
    assert main(["aggregate", str(want), "--kind", "rating", "-o", str(tmp_path / "w.csv")]) == 0
    capsys.readouterr()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "o.csv"), pd.read_csv(tmp_path / "w.csv"))
    assert main(["aggregate", str(src), "--kind", "rating"]) == 2
    assert "('N/A'; rows 1)" in capsys.readouterr().err
