"""galton._settings: the whole-number and finite-number checks that simulations and study files share."""

from __future__ import annotations

import pytest

from galton._settings import seed_number, whole_number


class _Counted(list):
    """A list that counts how often it is written out (its repr)."""

    shown = 0

    def __repr__(self) -> str:
        type(self).shown += 1
        return super().__repr__()


def test_a_list_is_written_into_the_message_only_when_one_of_its_elements_is_refused() -> None:
    """Found by a CLI hunt: whole_number formatted the whole list for every element it checked, before
    any check failed, so a k grid of n values took n**2 work (--k 1-12000: 91 s)."""
    grid = _Counted(range(1, 301))
    assert [whole_number("k", v, 1, grid) for v in grid] == list(range(1, 301))
    assert [seed_number("seed", v, grid) for v in grid] == list(range(1, 301))
    assert _Counted.shown == 0
    # the messages of a refused element still name the whole list
    with pytest.raises(ValueError, match=r"^k = \[1\.5, 3\] must be whole numbers$"):
        whole_number("k", 1.5, 1, [1.5, 3], sep=" = ")
    with pytest.raises(ValueError, match=r"^k=\[0, 3\] must be >= 1$"):
        whole_number("k", 0, 1, [0, 3])
    with pytest.raises(ValueError, match=r"^n_tasks=2\.5 must be a whole number$"):
        whole_number("n_tasks", 2.5)
    with pytest.raises(ValueError, match=r"^repeats='2' must be a whole number, not text$"):
        whole_number("repeats", "2")
    with pytest.raises(ValueError, match=r"^seed=\[1, -2\] must be non-negative integers below 2\*\*128$"):
        seed_number("seed", -2, [1, -2])
