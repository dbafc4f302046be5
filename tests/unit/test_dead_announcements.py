"""A dead delivery is marked announced only when its event can reach Prefect: with the
server down, the event was dropped by Prefect's events worker while the row was marked
announced, so no automation ever told the operators (an operator's report)."""

from __future__ import annotations

from typing import Any

import pytest

from workflow.orchestration import alerts


class _Deliverer:
    """The two calls announce_dead makes of the outbox."""

    def __init__(self) -> None:
        self.marked: list[int] = []

    def dead_unannounced(self, row_ids: list[int] | None = None) -> list[tuple[Any, int, str]]:
        return [(type("Effect", (), {"row_id": 7})(), 5, "SMTP")]

    def mark_announced(self, row_ids: list[int]) -> int:
        self.marked += row_ids
        return len(row_ids)


def test_a_dead_row_stays_unannounced_while_prefect_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emitted: list[Any] = []
    monkeypatch.setattr(alerts, "dead_delivery_event", lambda *event: emitted.append(event))
    deliverer = _Deliverer()
    monkeypatch.setattr(alerts, "_server_answers", lambda: False)
    assert alerts.announce_dead(deliverer) == []  # type: ignore[arg-type]
    assert (deliverer.marked, emitted) == ([], [])  # left for a sweep once it is back
    monkeypatch.setattr(alerts, "_server_answers", lambda: True)
    assert len(alerts.announce_dead(deliverer)) == 1  # type: ignore[arg-type]
    assert deliverer.marked == [7]
    assert len(emitted) == 1
