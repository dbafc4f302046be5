"""Expressions and templates cannot build huge strings or numbers (issue 17, first part).

Each payload below built about a gigabyte (or hung for minutes) through an operation the
sandbox did not bound; each is now refused at once with a SecurityError, in guards and
computed values as in notification templates, while the same operations of an ordinary
size still work.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from workflow.definitions.expressions import ExpressionError, evaluate_raw
from workflow.definitions.loader import load_definition
from workflow.definitions.templates import render
from workflow.errors import DefinitionError

PAYLOADS = [
    "'x'.ljust(10**9)",
    "'x'.rjust(10**9)",
    "'x'.zfill(10**9)",
    "'x'.center(10**9)",
    "'x\\tx'.expandtabs(10**8)",
    "'{:>500000000}'.format(1)",
    "'{:>{}}'.format(1, 10**9)",
    "'{0:.500000000f}'.format(1.5)",
    "'%500000000d' % 1",
    "'%.500000000f' % 1.5",
    "'%*d' % (10**9, 1)",
    "('x' * 1000).replace('', 'y' * 1000)",
    "'x' * 10**10",
    "2 ** (10**9)",
    "((9**999)**999)**999",
    "(9**999) * (9**999) * (9**999) * (9**999) * (9**999) * (9**999) * (9**999) * (9**999)"
    " * (9**999) * (9**999) * (9**999) * (9**999) * (9**999) * (9**999) * (9**999)"
    " * (9**999) * (9**999) * (9**999) * (9**999) * (9**999) * (9**999) * (9**999)",
    "'x'|indent(10**9)",
    "'x'|center(10**9)",
    "'%500000000d'|format(1)",
    "'ab'|replace('', 'y' * 100000)",
    "'x'['ljust'](10**9)",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_expression_building_a_huge_value_is_refused_at_once(payload: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match="SecurityError"):
        evaluate_raw(payload, {})
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("payload", PAYLOADS[:4] + PAYLOADS[5:7] + PAYLOADS[16:18])
def test_a_template_building_a_huge_value_is_refused(payload: str) -> None:
    with pytest.raises(Exception, match=r"too large|not allowed"):
        render("{{ " + payload + " }}", {})


def test_the_same_operations_of_an_ordinary_size_still_work() -> None:
    assert evaluate_raw("'ab'.ljust(5, '-') ~ '|' ~ 'ab'.rjust(4)", {}) == "ab---|  ab"
    assert evaluate_raw("'{:>6}'.format('x') ~ '{0:.2f}'.format(1.5)", {}) == "     x1.50"
    assert evaluate_raw("'%05d' % 42 ~ '%.1f' % 2.25", {}) == "000422.2"
    assert evaluate_raw("'a b c'.replace(' ', '_')", {}) == "a_b_c"
    assert evaluate_raw("2 ** 10 * 3 + (9 ** 99) % 7", {}) == 3072 + pow(9, 99, 7)
    assert render("{{ 'a\nb'|indent(2, true) }}|{{ '%s-%s'|format(1, 2) }}", {}) == "  a\n  b|1-2"


def test_a_guard_reading_a_dunder_attribute_is_refused_at_load(tmp_path: Path) -> None:
    text = Path("tests/golden/minimal.yaml").read_text(encoding="utf-8")
    changed = text.replace(
        "guard: \"'plan_agreed' in case.milestones\"",
        'guard: "case.__class__ is none"',
    )
    assert changed != text
    (tmp_path / "minimal.yaml").write_text(changed, encoding="utf-8")
    with pytest.raises(DefinitionError) as error:
        load_definition(tmp_path / "minimal.yaml")
    assert "attributes starting with _ are not allowed ('__class__')" in str(error.value)


def test_a_definition_file_over_the_size_cap_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_text("id: huge\nversion: 1\nitems:\n" + "  - 1\n" * 300_000, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(DefinitionError) as error:
        load_definition(huge)
    assert time.perf_counter() - started < 1.0
    [problem] = error.value.problems
    size = huge.stat().st_size
    assert str(problem).startswith(f"{huge}:1:1: the file is {size:,} bytes;")


def test_a_template_cannot_loop_for_ever() -> None:
    """Two nested range(100000) loops hung validate and every process loading the
    catalogue; now range() and list repetition give at most 1000 items and loops nest at
    most two deep, so a template makes at most a million turns."""
    from jinja2 import TemplateSyntaxError

    from workflow.definitions.templates import compile_template

    started = time.perf_counter()
    with pytest.raises(Exception, match=r"range\(\) gives at most 1000"):
        render(
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}", {}
        )
    with pytest.raises(Exception, match="too large"):
        render("{% for a in [0] * 100000 %}x{% endfor %}", {})
    three = "{% for a in range(9) %}{% for b in range(9) %}{% for c in range(9) %}{% endfor %}"
    with pytest.raises(TemplateSyntaxError, match="nested more than 2 deep"):
        compile_template(three + "{% endfor %}{% endfor %}")
    assert render(
        "{% for a in range(3) %}{% for b in range(2) %}.{% endfor %}{% endfor %}", {}
    ) == ("......")
    assert time.perf_counter() - started < 2.0
