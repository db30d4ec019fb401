"""``galton aggregate --gold``: the accuracy the summary prints is the hand count of the written
labels against the gold, and gold that cannot be scored is refused with what to do (bug hunt)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from galton.cli import main

#: four tasks, three workers, labels 1 and 2 (the majority is the gold of every task)
JUDGMENTS = "task,worker,label\n" + "".join(
    f"{t},{w},{lab}\n" for t, labs in ((1, "112"), (2, "221"), (3, "122"), (4, "111")) for w, lab in zip("abc", labs))
GOLD = "task,label\n1,1\n2,2\n3,2\n4,1\n"


def run(argv: list[Any], capsys: Any) -> tuple[int, str, str]:
    rc = main(["aggregate", *[str(a) for a in argv]])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def summary(out: str) -> dict[str, str]:
    return {k: v.strip() for k, _, v in (line.partition(" ") for line in out.splitlines())}


def test_glad_labels_priors_accuracy_is_the_count_of_labels_equal_to_gold(tmp_path: Path, capsys) -> None:
    """labels_priors naming label 0, which no worker gave, made GLAD fit labels 0, 1, 2; the summary
    decoded its label codes by the judgments' labels 1, 2 and printed accuracy 0.000000 (0/4) (with
    --use-gold too) beside written labels equal to the gold on 4 of 4 tasks, and 'labels 2' beside
    three p_ columns. Now: the written labels counted against the gold by hand."""
    (tmp_path / "j.csv").write_text(JUDGMENTS)
    (tmp_path / "g.csv").write_text(GOLD)
    gold = pd.read_csv(io.StringIO(GOLD)).set_index("task")["label"]
    priors = 'labels_priors={"0": 0.1, "1": 0.45, "2": 0.45}'
    for extra in ([], ["--use-gold"]):
        out_csv = tmp_path / f"r{len(extra)}.csv"
        rc, out, err = run([tmp_path / "j.csv", "-m", "glad", "--param", priors, "--gold", tmp_path / "g.csv",
                            *extra, "-o", out_csv], capsys)
        assert rc == 0, err
        written = pd.read_csv(out_csv).set_index("task")
        assert [c for c in written.columns if c.startswith("p_")] == ["p_0", "p_1", "p_2"]
        right = int((written["label"].loc[gold.index] == gold).sum())
        assert right == 4  # the crowd's majority is the gold everywhere
        rows = summary(out)
        assert rows["labels"] == "3"
        assert rows["accuracy"].startswith(f"{right / 4:.6f} ({right}/4 tasks with gold"), rows["accuracy"]


def test_gold_whose_labels_are_none_of_the_judgments_is_refused(tmp_path: Path, capsys) -> None:
    """Gold pos / neg against judgments positive / negative printed "accuracy 0.000000 (0/2)" with
    exit 0, where multilabel gold ("gold shares no tag") and --use-gold refuse it; now refused, naming
    a few labels of each side. Gold with one label of the judgments still scores (a real miss)."""
    (tmp_path / "j.csv").write_text("task,worker,label\n1,a,pos\n1,b,pos\n2,a,neg\n2,b,neg\n")
    (tmp_path / "g.csv").write_text("task,label\n1,positive\n2,negative\n")
    for extra in ([], ["--use-gold"]):
        rc, out, err = run([tmp_path / "j.csv", "-m", "mv", "--gold", tmp_path / "g.csv", *extra,
                            "-o", tmp_path / "o.csv"], capsys)
        assert rc == 2 and err.count("\n") == 1, (out, err)
        assert ("--gold's labels are none of the judgments' (gold labels look like ['positive', 'negative'], "
                "the judgments' are ['neg', 'pos']): every gold task would score wrong") in err
        assert not (tmp_path / "o.csv").exists()
    (tmp_path / "g2.csv").write_text("task,label\n1,pos\n2,negative\n")
    rc, out, err = run([tmp_path / "j.csv", "-m", "mv", "--gold", tmp_path / "g2.csv"], capsys)
    assert rc == 0 and summary(out)["accuracy"] == "0.500000 (1/2 tasks with gold)", err


def test_kos_with_use_gold_names_the_option_to_drop(tmp_path: Path, capsys) -> None:
    """KOS's refusal of gold said "drop gold=", the Python argument, on the command line."""
    (tmp_path / "j.csv").write_text("task,worker,label\n1,a,0\n1,b,0\n2,a,1\n2,b,1\n")
    (tmp_path / "g.csv").write_text("task,label\n1,0\n2,1\n")
    rc, _, err = run([tmp_path / "j.csv", "-m", "kos", "--gold", tmp_path / "g.csv", "--use-gold"], capsys)
    assert rc == 2
    assert err.strip() == ("galton: error: KOS cannot use gold labels; drop --use-gold or use a model that can "
                           "(ds, glad, mace)")


def test_multilabel_gold_ids_follow_the_categorical_gold_rule(tmp_path: Path, capsys) -> None:
    """Multilabel gold rows "1" and "01" both found integer task 1 and the later one's set replaced
    the other's without a word (accuracy 1/2 or 2/2 by row order); categorical --gold refuses text
    "01" against integer ids, and so does multilabel gold now. Canonical ids still score."""
    (tmp_path / "j.csv").write_text("task,worker,label\n1,a,x|y\n1,b,x\n1,c,x|y\n2,a,y\n2,b,y\n2,c,x|y\n")
    (tmp_path / "g01.csv").write_text("task,label\n1,x|y\n01,x\n2,y\n")
    (tmp_path / "g.csv").write_text("task,label\n1,x|y\n2,y\n")
    (tmp_path / "c.csv").write_text("task,worker,label\n1,a,x\n1,b,x\n2,a,y\n2,b,y\n")
    (tmp_path / "c01.csv").write_text("task,label\n01,x\n2,y\n")
    rc, _, err = run([tmp_path / "c.csv", "-m", "mv", "--gold", tmp_path / "c01.csv"], capsys)
    message = ("gold task ids are text ('01') but the judgments' task ids are integers; use the same task ids "
               "in the gold as in the judgments")
    assert rc == 2 and message in err, err
    rc, out, err = run([tmp_path / "j.csv", "--kind", "multilabel", "-m", "mv", "--gold", tmp_path / "g01.csv"],
                       capsys)
    assert rc == 2 and err.count("\n") == 1 and message in err, (out, err)
    rc, out, err = run([tmp_path / "j.csv", "--kind", "multilabel", "-m", "mv", "--gold", tmp_path / "g.csv"],
                       capsys)
    assert rc == 0 and summary(out)["accuracy"].startswith("1.000000 (2/2 tasks"), err


def test_gold_rows_without_a_label_are_counted_and_an_all_empty_gold_is_refused(tmp_path: Path, capsys) -> None:
    """--gold rows with an empty label were dropped without a word: one empty row of two printed
    "1/1 tasks with gold" alone, and gold whose every label is empty (or a header-only gold file) was
    refused as "gold shares no task with the judgments (gold task ids look like [])" beside judgments
    of the very same tasks. Now the skipped rows are counted in a warning naming rows and tasks, and
    gold with no row left is refused for what it is."""
    (tmp_path / "j.csv").write_text("task,worker,label\nt1,a,x\nt2,a,y\nt3,a,x\n")
    (tmp_path / "half.csv").write_text("task,label\nt1,x\nt2,\nt3,\n")
    rc, out, err = run([tmp_path / "j.csv", "-m", "mv", "--gold", tmp_path / "half.csv"], capsys)
    assert rc == 0, err
    assert summary(out)["accuracy"] == "1.000000 (1/1 tasks with gold)"  # t1 alone: x, as the vote
    assert err == ("galton: warning: --gold: 2 of 3 rows have an empty task or label (rows 1, 2; tasks 't2', "
                   "'t3'); they are skipped: a row without a label gives its task no gold\n")
    rc, out, err = run([tmp_path / "j.csv", "-m", "mv", "--gold", tmp_path / "half.csv", "-q"], capsys)
    assert rc == 0 and err == ""  # -q: no warnings
    (tmp_path / "none.csv").write_text("task,label\nt1,\nt2,\nt3,\n")
    (tmp_path / "header.csv").write_text("task,label\n")
    for name, said in (("none.csv", "--gold has 3 rows, all with an empty task or label (rows 0, 1, 2; "
                                    "tasks 't1', 't2', 't3'): no gold is left; fill in the labels"),
                       ("header.csv", f"--gold {str(tmp_path / 'header.csv')!r} has no rows (only a header)")):
        rc, out, err = run([tmp_path / "j.csv", "-m", "mv", "--gold", tmp_path / name, "-o", tmp_path / "o.csv"],
                           capsys)
        assert rc == 2 and err.count("\n") == 1 and said in err, err
        assert "shares no task" not in err
        assert not (tmp_path / "o.csv").exists()
