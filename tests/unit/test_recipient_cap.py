"""A step sends at most 150 notifications, refused as a whole beyond that (issue 17).

Lists hold at most 100 items, but a step may notify a team more than once: a pre-meeting
that invites the team and also tells it something else made two outbox rows per member.
The engine counts a step's notifications and refuses the step, saying how many it would
send and the most it may — it never cuts the list short (someone would be left out
without anyone knowing).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.unit.conftest import at
from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition
from workflow.engine.decide import decide, open_case
from workflow.engine.effects import MAX_NOTIFICATIONS_PER_STEP
from workflow.engine.model import Actor, Decision, Event, Notify, Rejection, RejectionReason

CW = Actor("caseworker", "cw-mette")
DEPARTMENTS = ("jobcenter", "born_familie", "skole", "sundhed", "social", "uu", "ssp", "psykiatri")
TWICE = """
id: twice
extends: base
version: 1
title: Holdet får to beskeder
municipality: {name: Testkøbing Kommune, code: "999", case_prefix: TST}
roles:
  - {id: coordinator, name: Koordinator, channels: [{kind: email, address: k@tst.example}]}
  - {id: caseworker, name: Sagsbehandler, channels: [{kind: email, address: s@tst.example}]}
  - {id: leader, name: Leder, channels: [{kind: email, address: l@tst.example}]}
departments:
%s
transitions:
  - id: hold_pre_meeting
    name: {da: Formøde holdt, en: Pre-meeting held}
    from: pre_meeting
    to: awaiting_first_meeting
    roles: [caseworker]
    inputs:
      - {name: team, type: team, min: 1, label: {da: Team, en: Team}}
      - {name: coordinator, type: coordinator, label: {da: Tovholder, en: Coordinator}}
      - {name: agenda, type: themes, min: 1, label: {da: Temaer, en: Themes}}
      - {name: first_meeting_at, type: meeting, share: true, label: {da: Møde, en: Meeting}}
    effects:
      - notify: {to: {team: true}, template: first_meeting_invitation}
      - notify: {to: {team: true}, template: first_meeting_invitation}
      - notify: {to: {roles: [coordinator]}, template: coordinator_chosen}
""" % "\n".join(  # noqa: UP031 - YAML braces would need doubling in an f-string
    f"  - {{id: {d}, name: {d}, channels: [{{kind: email, address: {d}@tst.example}}]}}"
    for d in DEPARTMENTS
)


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> Definition:
    folder = tmp_path_factory.mktemp("definitions")
    shutil.copy("definitions/base.yaml", folder)
    path = Path(folder / "twice.yaml")
    path.write_text(TWICE, encoding="utf-8")
    return load_definition(path)


def _pre_meeting_with(definition: Definition, members: int) -> Decision | Rejection:
    opened = open_case(
        definition,
        "TST-2026-0001",
        CW,
        {"source": "school", "age": 16, "caseworker": "cw-mette"},
        at("2026-03-02 09:00"),
        born=date(2009, 9, 1),
    )
    assert isinstance(opened, Decision)
    accept = {"young_person_agrees": True, "consent": True}
    accepted = decide(
        definition, opened.case, Event("accept_referral", CW, accept), at("2026-03-03 09:00")
    )
    assert isinstance(accepted, Decision)
    team = [
        {"department": DEPARTMENTS[n % len(DEPARTMENTS)], "person": f"medarbejder-{n}"}
        for n in range(members)
    ]
    inputs = {
        "team": team,
        "coordinator": "tovholder-lise",
        "agenda": ["uddannelse"],
        "first_meeting_at": "2026-03-17T09:00",
    }
    event = Event("hold_pre_meeting", CW, inputs)
    return decide(definition, accepted.case, event, at("2026-03-05 10:00"))


def test_a_step_sending_more_than_150_notifications_is_refused_not_cut(
    twice: Definition,
) -> None:
    refused = _pre_meeting_with(twice, 100)  # 2 x 100 team members + the coordinator
    assert isinstance(refused, Rejection)
    assert refused.reason is RejectionReason.TOO_MANY_RECIPIENTS
    assert refused.params == {"count": 201, "max": MAX_NOTIFICATIONS_PER_STEP}
    assert refused.text("da") == (
        "Trinnet ville sende 201 beskeder; højst 150 pr. trin. Del holdet eller beskederne op."
    )
    assert "201 notifications; at most 150 per step" in refused.text("en")


def test_a_step_within_the_cap_sends_every_notification(twice: Definition) -> None:
    taken = _pre_meeting_with(twice, 74)  # 2 x 74 + 1 = 149
    assert isinstance(taken, Decision)
    assert sum(isinstance(e, Notify) for e in taken.effects) == 149
