"""A refused form's list rows are numbered as the service numbers the entries: the rows
left blank are dropped before reading, and the page is shown again from the same rows, so
"række 2" in an error is the second row on the page."""

from __future__ import annotations

from workflow.definitions.parts import Input
from workflow.definitions.vocabulary import InputType
from workflow.web.forms import FormData, read_form, without_blank_rows

GOALS = Input(name="plan", type=InputType.GOALS, label="Plan")
NOTE = Input(name="note", type=InputType.TEXT, label="Note")


def test_blank_rows_are_left_out_and_the_rest_numbered_from_zero() -> None:
    form = FormData(
        [
            ("plan.0.text", "Jeg skal i skole"),
            ("plan.1.text", "  "),  # blank: left out
            ("plan.1.theme", ""),
            ("plan.2.text", "Hun skal"),
            ("plan.2.theme", "uddannelse"),
            ("plan.4.deadline", "2026-05-01"),  # a row with only a deadline is a row
            ("note", "plan.3 is not a row of another input"),
            ("idempotency_key", "k"),
        ]
    )
    compact = without_blank_rows([GOALS, NOTE], form)
    assert compact.rows("plan") == 5  # as many rows as the form had, the blank ones last
    assert [compact.get(f"plan.{n}.text") for n in range(5)] == [
        "Jeg skal i skole",
        "Hun skal",
        "",
        "",
        "",
    ]
    assert compact.get("plan.1.theme") == "uddannelse"
    assert compact.get("plan.2.deadline") == "2026-05-01"
    assert compact.get("note") == "plan.3 is not a row of another input"
    assert compact.get("idempotency_key") == "k"
    # What the service is given is the same either way; only the page's numbering moves.
    assert read_form([GOALS, NOTE], compact, []) == read_form([GOALS, NOTE], form, [])


def test_a_form_without_list_inputs_is_kept_as_it_is() -> None:
    form = FormData([("note", "x")])
    assert without_blank_rows([NOTE], form) is form
