"""A case's progression chart is drawn once for the same figures, and again when they change."""

from __future__ import annotations

import pytest

from workflow.web import charts


def _draw(levels: list[int | None]) -> charts.Chart:
    return charts.progression(
        ["1. møde", "2. møde"],
        levels,
        ["Kontaktparat", "Vejledningsparat", "Aktivitetsparat"],
        [None, 0.5],
        ("Niveau", "Mål nået"),
        "Min udvikling",
    )


def test_the_same_figures_are_drawn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    first = _draw([1, 2])
    drawn: list[object] = []
    original = charts._chart
    monkeypatch.setattr(charts, "_chart", lambda *a: drawn.append(a) or original(*a))
    assert _draw([1, 2]) is first  # kept: pygal not asked again
    assert drawn == []
    other = _draw([1, 3])  # a meeting recorded another level: drawn anew, wide and for a phone
    assert len(drawn) == 2
    assert other.uri != first.uri
    assert other.phone_uri is not None
    assert other.phone_uri not in (other.uri, first.phone_uri)
    assert other.uri.startswith("data:image/svg+xml;base64,")
