"""The audit log is complete: one entry for every read, change, search and export made.

A whole Sorø case is driven through the JSON API — referral to closed, with case reads,
a refused step, the consent, an export, a CPR reveal and caseload searches. The test
counts what it does, kind by kind, and the log must hold exactly that: no more, no less.
Then the citizen's access log must list the same entries, without naming any staff.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.integration.conftest import Clock
from tests.support.case_api import (
    ACCEPT,
    CLOSE,
    FIRST_MEETING,
    FOLLOW_UP,
    HANDOVER,
    PRE_MEETING,
    REFERRAL_INPUTS,
    STAFF,
    START_CONSENT,
    bearer,
    create_staff,
)
from workflow.runtime import Runtime
from workflow.store.audit import CASE_OBJECTS
from workflow.store.tables import AuditEntry
from workflow.web.app import create_app

REFERRAL = {
    "definition": "soroe",
    "young_person": {"name": "Freja Testesen", "cpr": "010110-4321", "birth_date": "2010-01-01"},
    "inputs": REFERRAL_INPUTS,
}
#: How an entry is counted: (action, object type, what exactly) — the channel of a read
#: (a case read through the API is "api"; the read before a step is "api:<event>"), the
#: event of a change of the case; None for the rest.
Kind = tuple[str, str, str | None]


def _shown_purpose(entry: AuditEntry) -> str:
    """The purpose the citizen reads: a refused attempt shows only the step it tried,
    never the purpose someone without standing stated."""
    if entry.action != "refused":
        return entry.purpose
    return str((entry.details or {}).get("event") or "")


def _kind(entry: AuditEntry) -> Kind:
    details: dict[str, Any] = entry.details or {}
    if (entry.action, entry.object_type) == ("read", "case"):
        return ("read", "case", details.get("channel"))
    if (entry.action, entry.object_type) in {("change", "case"), ("refused", "case")}:
        return (entry.action, "case", details.get("event"))
    return (entry.action, entry.object_type, None)


class Driver:
    """The API as the test uses it, counting every auditable thing it does."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.done: Counter[Kind] = Counter()
        self.reference = ""

    def log_in(self, username: str) -> dict[str, str]:
        headers = bearer(self.client, username)
        self.done["login", "account", None] += 1
        return headers

    def refer(self, who: dict[str, str]) -> str:
        answer = self.client.post("/api/v1/cases", json=REFERRAL, headers=who)
        assert answer.status_code == 201, answer.text
        self.done["change", "case", "refer"] += 1  # opening a case reads nothing first
        self.reference = answer.json()["reference"]
        return self.reference

    def read(self, who: dict[str, str], **params: str) -> dict[str, Any]:
        answer = self.client.get(f"/api/v1/cases/{self.reference}", headers=who, params=params)
        assert answer.status_code == 200, answer.text
        self.done["read", "case", "api"] += 1
        body: dict[str, Any] = answer.json()
        return body

    def step(
        self,
        who: dict[str, str],
        event: str,
        inputs: dict[str, Any],
        consent: dict[str, Any] | None = None,
    ) -> int:
        """A step: the API reads the case (one 'read', channel api:<event>), then changes
        it (one 'change') — or, refused by the engine, changes nothing and the refusal is
        logged (one 'refused'). A step that gives the young person's consent records it
        too (one consent 'change', and the case hears of it: one 'change' more)."""
        body = {"inputs": inputs} | ({"consent": consent} if consent else {})
        answer = self.client.post(
            f"/api/v1/cases/{self.reference}/events/{event}", json=body, headers=who
        )
        self.done["read", "case", f"api:{event}"] += 1
        if answer.status_code == 200:
            self.done["change", "case", event] += 1
            if consent:
                self.done["change", "consent", None] += 1
                self.done["change", "case", "consent_given"] += 1
        else:
            assert (answer.status_code, answer.json()["error"]) == (422, "rejected"), answer.text
            self.done["refused", "case", event] += 1
        status: int = answer.status_code
        return status

    def consent(self, who: dict[str, str], departments: list[str]) -> None:
        body = {"departments": departments, "categories": ["education"], "guardian": True}
        answer = self.client.post(
            f"/api/v1/cases/{self.reference}/consents", json=body, headers=who
        )
        assert answer.status_code == 201, answer.text
        self.done["change", "consent", None] += 1
        self.done["change", "case", "consent_given"] += 1  # the base takes the event

    def search(self, who: dict[str, str], **params: str) -> list[str]:
        answer = self.client.get("/api/v1/cases", headers=who, params=params)
        assert answer.status_code == 200, answer.text
        self.done["search", "caseload", None] += 1
        return [c["reference"] for c in answer.json()["cases"]]

    def export(self, who: dict[str, str], purpose: str) -> dict[str, Any]:
        answer = self.client.get(
            f"/api/v1/cases/{self.reference}/export", headers=who, params={"purpose": purpose}
        )
        assert answer.status_code == 200, answer.text
        self.done["export", "case_export", None] += 1
        body: dict[str, Any] = answer.json()
        return body

    def reveal_cpr(self, who: dict[str, str], purpose: str) -> str:
        answer = self.client.post(
            f"/api/v1/cases/{self.reference}/cpr", json={"purpose": purpose}, headers=who
        )
        assert answer.status_code == 200, answer.text
        self.done["read", "cpr", None] += 1
        cpr: str = answer.json()["cpr"]
        return cpr

    def refused_read(self, who: dict[str, str]) -> None:
        """Someone with no standing asks for the case: refused, and the attempt is logged
        as refused (issue 17), never as a read of the case's data."""
        answer = self.client.get(f"/api/v1/cases/{self.reference}", headers=who)
        assert answer.status_code == 404, answer.text
        self.done["refused", "case", None] += 1

    def access_log(self, who: dict[str, str]) -> Any:
        answer = self.client.get(f"/api/v1/cases/{self.reference}/access-log", headers=who)
        assert answer.status_code == 200, answer.text
        self.done["export", "access_log", None] += 1
        return answer


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    create_staff(runtime, ["mette", "lise", "anna", "bo", "sara"])  # Sara: on the team
    with TestClient(create_app(runtime), base_url="https://testserver") as test_client:
        yield test_client


def test_every_read_change_search_and_export_is_logged_exactly_once(
    runtime: Runtime, client: TestClient, clock: Clock
) -> None:
    api = Driver(client)
    mette, lise, anna, bo = (api.log_in(u) for u in ("mette", "lise", "anna", "bo"))

    reference = api.refer(mette)
    assert api.read(mette)["stage"] == "referred"
    assert api.step(mette, "accept_referral", ACCEPT | {"consent": False}) == 422
    assert api.step(mette, "accept_referral", ACCEPT, START_CONSENT) == 200
    assert api.step(mette, "hold_pre_meeting", PRE_MEETING) == 200
    assert api.search(lise) == [reference]
    assert api.read(lise)["stage"] == "awaiting_first_meeting"
    clock.advance(hours=2)
    assert api.step(lise, "hold_first_meeting", FIRST_MEETING) == 200
    assert api.read(anna)["stage"] == "follow_up"  # the teacher, through the consent
    api.refused_read(bo)  # a caseworker on no case of this young person
    assert api.step(lise, "start_handover", HANDOVER) == 422  # no follow-up held yet
    assert api.step(lise, "hold_follow_up", FOLLOW_UP) == 200
    assert api.step(lise, "start_handover", HANDOVER) == 200
    assert api.export(mette, "aktindsigt")["case"]["reference"] == reference
    assert api.reveal_cpr(mette, "kontrol af CPR mod Digital Post") == "010110-4321"
    assert api.search(mette, q=reference[-4:]) == [reference]
    clock.advance(hours=2)
    assert api.step(lise, "close_case", CLOSE) == 200
    assert api.read(mette, purpose="afsluttende gennemgang")["stage"] == "closed"
    log = api.access_log(mette)

    with runtime.sessions() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()

    # Exactly what was done, kind by kind — and so action by action.
    assert Counter(_kind(e) for e in entries) == api.done
    by_action = Counter(e.action for e in entries)
    done_by_action: Counter[str] = Counter()
    for (action, _, _), count in api.done.items():
        done_by_action[action] += count
    assert by_action == done_by_action
    assert done_by_action == {
        "login": 4,
        "read": 13,
        "change": 9,  # the consent, and the case taking consent_given
        "refused": 3,  # two steps the engine refused, and a read without standing
        "search": 2,
        "export": 2,
    }

    # Every entry says who, when, about what and why.
    staff = {person for person, _, _ in STAFF.values()}
    for entry in entries:
        where = f"entry {entry.id} ({entry.action} {entry.object_type})"
        assert isinstance(entry.at, datetime), where
        assert entry.at.tzinfo is not None, where
        assert entry.purpose.strip(), where
        if entry.object_type in CASE_OBJECTS:
            assert entry.object_id == reference, where
            role, _, person = entry.actor.partition(":")
            if role == "system":  # the case took consent_given, raised by the consent
                recorder, _, by = person.partition(":")  # consent:<who recorded it>
                assert (recorder, entry.details["event"]) == ("consent", "consent_given"), where
                assert by.partition(":")[2] in staff, where
                continue
            assert role in ("caseworker", "coordinator", "team_member"), where
            assert person in staff, where
        else:  # a caseload search or a login names the person it is about
            assert entry.object_type in ("caseload", "account"), where
            assert entry.actor == f"user:{entry.object_id}", where
            assert entry.object_id in staff, where
    reads = [e for e in entries if e.action == "read" and e.object_type == "case"]
    assert {e.actor for e in reads} == {
        "caseworker:cw-mette",
        "coordinator:tovholder-lise",
        "team_member:laerer-anna",
    }
    assert {e.details["via"] for e in reads} == {"caseworker", "coordinator", "team"}
    purposes = {e.purpose for e in reads}
    assert {"sagsbehandling", "afsluttende gennemgang"} <= purposes
    times = [e.at for e in entries]
    assert times == sorted(times)
    assert times[0] == times[1]  # the logins, before the clock was moved
    assert times[-1] > times[0]

    # The citizen's access log: every entry of the case (up to the request), in order,
    # with when, what, the acting role and why — and no staff id or name anywhere.
    case_entries = [
        e for e in entries if e.object_type in CASE_OBJECTS and e.object_type != "access_log"
    ]
    assert len(case_entries) == 13 + 9 + 3 + 1  # the reads, changes, refusals and export
    shown = log.json()
    assert shown["reference"] == reference
    assert [
        (datetime.fromisoformat(e["at"]), e["action"], e["what"], e["role"], e["purpose"])
        for e in shown["entries"]
    ] == [
        (e.at, e.action, e.object_type, e.actor.partition(":")[0], _shown_purpose(e))
        for e in case_entries
    ]
    roles = {e["role"] for e in shown["entries"]}
    assert roles == {"caseworker", "coordinator", "team_member", "system"}
    for entry in shown["entries"]:
        assert set(entry) == {"at", "action", "what", "role", "purpose"}
    text = log.text
    for username, (person, _, _) in STAFF.items():
        for secret in (person, f"{username.title()} Testansat"):
            assert secret not in text, f"{secret!r} is in the citizen's access log"
    assert not re.search(r"user:|cw-|tovholder-|laerer-|leder-", text)
    assert "1234" not in text  # nor the CPR number
