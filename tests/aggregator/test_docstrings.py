"""The models' numpydoc docstrings: every constructor parameter is described in the Parameters
section (DawidSkene and GLAD did not name random_state, engine, n_shards or progress; MACE,
the Bradley-Terry models, PlackettLuce and GaussianRating missed some), and the section holds
parameter entries only (CATD's and PM's prose paragraphs inside it read as parameters to numpydoc
tools: they belong in Notes)."""

from __future__ import annotations

import inspect
import re

import pytest

import galton
from galton.aggregator import get, names

#: a numpydoc entry: ``name``, ``a, b, c`` or ``name : type ...``
ENTRY = re.compile(r"^\*{0,2}\w+(, \*{0,2}\w+)*( : .*)?$")


def _parameters(doc: str) -> list[str]:
    """The lines of the Parameters section (dedented), up to the next section's header."""
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] | None = None
    for i, line in enumerate(lines):
        header = i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip()) is not None
        if header and out is not None:
            break
        if header and line.strip() == "Parameters":
            out = []
        elif out is not None and not re.fullmatch(r"-{3,}", line.strip()):
            out.append(line)
    return out or []


@pytest.mark.parametrize("name", names())
def test_parameters_section_describes_every_parameter_and_only_parameters(name: str) -> None:
    cls = get(name)
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    doc = cls.__doc__ or ""
    section = _parameters(doc)
    if not section:  # "Parameters ... are :class:`DawidSkene`'s" (OneCoinDawidSkene, PMTI), or named in the text
        base = re.search(r"Parameters[^.]*? :class:`(\w+)`'s", doc)
        if base:
            section = _parameters(getattr(galton, base.group(1)).__doc__ or "")
        else:
            missing = [p for p in params if f"``{p}``" not in doc]
            assert not missing, f"{cls.__name__}'s docstring does not describe {missing}"
            return
    top = [line for line in section if line and not line[0].isspace()]
    prose = [line for line in top if not ENTRY.match(line)]
    assert not prose, f"{cls.__name__}: prose inside Parameters (move it to Notes): {prose[:2]}"
    described = {n.strip("* ") for line in top for n in line.split(" : ")[0].split(",")}
    text = "\n".join(section)
    missing = [p for p in params if p not in described and f"``{p}``" not in text]
    assert not missing, f"{cls.__name__}'s docstring does not describe {missing}"


def test_dawid_skene_fit_says_where_its_keywords_are_documented() -> None:
    doc = " ".join((galton.DawidSkene.fit.__doc__ or "").split())
    for keyword in ("task_col", "on_invalid", "duplicates", "engine", "checkpoint_dir"):
        assert f"``{keyword}``" in doc, keyword
    assert "EMAggregator.fit" in doc and "Judgments.from_any" in doc
    documented = " ".join((galton.Judgments.from_any.__doc__ or "").split())
    assert all(f"{k} :" in documented or f"{k}," in documented for k in ("task_col", "on_invalid", "duplicates"))
    assert "checkpoint_dir :" in (galton.aggregator.EMAggregator.fit.__doc__ or "")
