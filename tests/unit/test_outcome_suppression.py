"""Small-cell suppression of the outcome figures, where it matters (pure)."""

from __future__ import annotations

from workflow.cases.outcomes import NATIONAL_COLUMNS, national_report
from workflow.privacy.small_cells import Cell, cell, count, protect_group
from workflow.store.figure_reading import Figures, Window, median_and_p90


def test_a_cell_of_one_to_four_young_people_is_hidden_and_none_is_shown() -> None:
    assert [count(n).hidden for n in (0, 1, 4, 5, 30)] == [False, True, True, False, False]
    assert count(0).shown == 0
    assert cell(12.5, 3).shown is None
    assert cell(12.5, 5).shown == 12.5


def test_one_hidden_cell_beside_a_shown_total_hides_the_smallest_other_too() -> None:
    cells = [count(12), count(3), count(0), count(7)]
    protected, total = protect_group(cells, count(22))
    # 3 alone hidden would be 22 - 12 - 0 - 7: the smallest other that counts anyone (7)
    # is hidden as well; zero stays (it points at nobody); the total is shown.
    assert [c.hidden for c in protected] == [False, True, False, True]
    assert total is not None
    assert total.shown == 22


def test_with_no_other_cell_to_hide_the_total_is_hidden() -> None:
    protected, total = protect_group([count(3), count(0)], count(3))
    assert [c.hidden for c in protected] == [True, False]
    assert total is not None
    assert total.hidden


def test_two_hidden_cells_need_nothing_more() -> None:
    protected, total = protect_group([count(2), count(3), count(9)], count(14))
    assert [c.hidden for c in protected] == [True, True, False]
    assert total == Cell(14, 14)


def _municipality(referred: int, withdrawn: int, days: dict[int, int]) -> Figures:
    figures = Figures()
    figures.referred_by_month[0] = referred
    figures.endings[("withdrawn", None)] = withdrawn
    figures.days_to_pre_meeting = days
    figures.people_to_pre_meeting = sum(days.values())
    return figures


def test_no_municipality_can_be_worked_out_from_the_country_in_the_comparison() -> None:
    found = {
        "101": _municipality(40, 6, {3: 20, 9: 20}),
        "147": _municipality(22, 5, {4: 10, 6: 12}),
        "991": _municipality(3, 1, {30: 3}),  # a small municipality: 3 and 1 young people
    }
    report = national_report(Window.of_year(2026), found, [2026])
    small = report.rows["991"]
    assert small["referred"].hidden
    assert small["withdrawn"].hidden
    assert small["days_to_pre_meeting"].hidden
    # Alone, 991's referrals would be 65 - 40 - 22: the smallest other is hidden too.
    assert report.rows["147"]["referred"].hidden
    assert not report.rows["101"]["referred"].hidden
    assert report.total["referred"].shown == 65
    assert report.rows["147"]["withdrawn"].hidden  # 5, the smallest other of its column
    # The country's median counts the small municipality's young people too.
    assert report.total["days_to_pre_meeting"].shown == 6.0
    for column in NATIONAL_COLUMNS:
        hidden = [code for code, row in report.rows.items() if row[column].hidden]
        assert len(hidden) != 1, column  # never exactly one hidden cell in a column


def test_median_and_90th_percentile_of_whole_days() -> None:
    assert median_and_p90({}) == (None, None)
    assert median_and_p90({3: 5, 10: 1}) == (3.0, 10.0)
    assert median_and_p90({2: 1, 4: 1}) == (3.0, 4.0)
    assert median_and_p90({1: 9, 50: 1}) == (1.0, 1.0)
    assert median_and_p90({1: 8, 50: 2}) == (1.0, 50.0)
