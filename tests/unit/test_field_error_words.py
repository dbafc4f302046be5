"""A field error's parameters given in each language are said in the page's: a staff
page showed "'raadgiver-bo' hører til {'da': 'Familierådgivningen', 'en': ...}"."""

from __future__ import annotations

from workflow.engine.model import FieldError
from workflow.web.page_support import field_error_text


def test_a_department_named_in_each_language_is_said_in_the_pages() -> None:
    error = FieldError(
        "team",
        "staff_other_department",
        {
            "value": "raadgiver-bo",
            "theirs": {"da": "Familierådgivningen", "en": "Family"},
            "item": 1,
        },
    )
    assert field_error_text(error, "da").startswith(
        "række 1: 'raadgiver-bo' hører til Familierådgivningen; vælg den afdeling"
    )
    assert "belongs to Family; choose" in field_error_text(error, "en")
