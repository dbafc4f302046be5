"""A timer whose event the case refuses: the history keeps the timer's own refusal record,
and the case page says the deadline fell due but nothing happened — not that the step did.

The definition lets a pre-meeting deadline run on through a pause (``on_pause:
continue``); it falls due while the case is paused, where its event is not possible.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.integration.conftest import Clock, runtime_of
from tests.support.pages import log_in, page_client
from tests.support.services import SmtpSink
from workflow.cases.model import YoungPersonDetails
from workflow.engine.model import Actor
from workflow.runtime import Runtime
from workflow.store.tables import Case, HistoryEvent

ZONE = ZoneInfo("Europe/Copenhagen")
NUDGING = """
id: nudging
extends: base
version: 1
title: Påmindelser
municipality: {name: Testkøbing Kommune, code: "999", case_prefix: TST}
roles:
  - {id: coordinator, name: Koordinator, channels: [{kind: email, address: k@tst.example}]}
  - {id: caseworker, name: Sagsbehandler, channels: [{kind: email, address: s@tst.example}]}
  - {id: leader, name: Leder, channels: [{kind: email, address: l@tst.example}]}
departments:
  - {id: jobcenter, name: Jobcenter, channels: [{kind: email, address: job@tst.example}]}
  - {id: born_familie, name: Familie, channels: [{kind: email, address: bf@tst.example}]}
  - {id: skole, name: Skole, channels: [{kind: email, address: skole@tst.example}]}
  - {id: sundhed, name: Sundhed, channels: [{kind: email, address: su@tst.example}]}
  - {id: social, name: Voksen, channels: [{kind: email, address: vo@tst.example}]}
  - {id: uu, name: UU, channels: [{kind: email, address: uu@tst.example}]}
  - {id: ssp, name: SSP, channels: [{kind: email, address: ssp@tst.example}]}
  - {id: psykiatri, name: Psykiatri, channels: [{kind: email, address: ps@tst.example}]}
timers:
  - id: nudge
    name: {da: Skub til formødet, en: Nudge the pre-meeting}
    after: 3 days
    on_pause: continue
    fires: {event: nudge}
stages:
  - id: pre_meeting
    name: {da: Formøde, en: Pre-meeting}
    kind: active
    phase: pre_meeting
    timers: [pre_meeting_due, nudge]
transitions:
  - id: nudge
    name: {da: Formødet er skubbet, en: Pre-meeting nudged}
    from: pre_meeting
    roles: [caseworker]
"""


@pytest.fixture
def runtime(store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    with runtime_of(store_url, smtp, clock, tmp_path, {"nudging.yaml": NUDGING}) as rt:
        yield rt


def test_a_refused_timer_event_is_shown_as_refused(runtime: Runtime, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=ZONE)
    reference = _referred(runtime)
    accept = {"young_person_agrees": True, "consent": True}
    runtime.service.trigger(reference, "accept_referral", accept, CASEWORKER)
    clock.now = datetime(2026, 3, 3, 9, 0, tzinfo=ZONE)
    runtime.service.trigger(reference, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    clock.now = datetime(2026, 3, 6, 9, 0, tzinfo=ZONE)  # the nudge fell due on 5 March
    runtime.service.fire_due_timers(clock.now)

    with runtime.sessions() as session:
        last = session.scalars(
            select(HistoryEvent)
            .join(Case, Case.id == HistoryEvent.case_id)
            .where(Case.reference == reference)
            .order_by(HistoryEvent.seq.desc())
        ).first()
        stage = session.scalar(select(Case.stage).where(Case.reference == reference))
    assert last is not None
    assert last.event == "timer:nudge"  # the timer's record, not a 'nudge' step
    assert last.transition == "timer:nudge"
    assert [e["rejected"] for e in last.effects if e["type"] == "TimerFired"] == ["wrong_stage"]
    assert stage == "paused"

    page = _case_page(runtime, f"/cases/{reference}")
    refused = page.split('data-testid="refused-timer"', 1)[1].split("</li>", 1)[0]
    # The deadline by its name and when it fell due; the step it would have taken.
    assert "Fristen «Skub til formødet» udløb 05.03.2026 09:00, men skridtet blev afvist" in (
        refused
    )
    assert "Formødet er skubbet" in refused  # the event's name, as refused
    assert "(ikke muligt i sagens nuværende trin; intet blev ændret)" in refused


def test_a_withdrawal_names_the_departments_not_their_ids(runtime: Runtime, clock: Clock) -> None:
    """Issue 17: the notice after withdrawing consent said "born_familie"."""
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=ZONE)
    reference = _referred(runtime)
    page = _case_page(runtime, f"/cases/{reference}?withdrawn=born_familie,skole")
    assert "Samtykket er trukket tilbage for: Familie, Skole." in page
    assert "born_familie" not in page.split("Samtykket er trukket tilbage for", 1)[1][:80]


CASEWORKER = Actor("caseworker", "cw-mette")


def _referred(runtime: Runtime) -> str:
    """A nudging case referred by (and to) Mette."""
    person = YoungPersonDetails("Freja Testesen", "0101084321", date(2008, 1, 1))
    inputs = {"source": "school", "caseworker": "cw-mette"}
    return runtime.service.refer("nudging", person, CASEWORKER, inputs).reference


def _case_page(runtime: Runtime, path: str) -> str:
    """A case page as Mette, the caseworker of record, sees it."""
    runtime.accounts.create(
        "mette",
        "correct horse battery",
        display_name="Mette Sagsbehandler",
        person_id="cw-mette",
        roles=["caseworker"],
        municipality_code="999",
    )
    with page_client(runtime) as client:
        log_in(client, "mette", "correct horse battery")
        return client.get(path).text
