"""Small-cell suppression: no figure computed from fewer than five young people is shown.

The outcome figures count young people, and a count of one or two in a small
municipality points at someone. The rule (as statistics offices apply it):

* **primary**: a cell computed from 1-4 young people is not shown (a cell of none is:
  nobody is pointed at by "0");
* **secondary**: where cells add up to a total that is shown (the stages of the open
  cases, the months of a year, the outcomes at closing, the municipalities of the
  country), one hidden cell could be worked out as the total minus the others — so when
  exactly one cell of such a group is hidden, the smallest other cell that counts anyone
  is hidden too (and the total, if there is none).

Periods are whole calendar years, which never overlap: no two choices of filter differ
by a few young people, so a hidden figure cannot be had by subtracting two shown ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

#: The fewest young people a shown figure is computed from.
MIN_PEOPLE = 5


@dataclass(frozen=True, slots=True)
class Cell:
    """A figure and the number of young people it is computed from."""

    value: float | None
    people: int
    hidden: bool = False

    @property
    def shown(self) -> float | None:
        """The value, or None when it is hidden (or there was nothing to compute it from)."""
        return None if self.hidden else self.value


def cell(value: float | None, people: int) -> Cell:
    """A cell, hidden when 1-4 young people make it (primary suppression)."""
    return Cell(value, people, hidden=0 < people < MIN_PEOPLE)


def count(people: int) -> Cell:
    """A count of young people as a cell."""
    return cell(people, people)


def protect_group(
    cells: Sequence[Cell], total: Cell | None = None
) -> tuple[list[Cell], Cell | None]:
    """Secondary suppression of cells that add up to ``total`` (shown unless hidden).

    When exactly one cell is hidden, the smallest other cell that counts anyone is hidden
    too; when there is no such cell, the total is hidden instead.
    """
    protected = list(cells)
    hidden = [i for i, c in enumerate(protected) if c.hidden]
    if len(hidden) != 1 or (total is not None and total.hidden):
        return protected, total
    others = [i for i, c in enumerate(protected) if not c.hidden and c.people > 0]
    if others:
        smallest = min(others, key=lambda i: (protected[i].people, i))
        protected[smallest] = replace(protected[smallest], hidden=True)
    elif total is not None:
        total = replace(total, hidden=True)
    return protected, total
