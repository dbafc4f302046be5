"""The case's privacy pages in words (issue 17): withdrawing consent asks first and names
the departments and data categories; the access log for the citizen names roles, steps
and purposes, and folds one person's repeated reads within ten minutes into one line
(the audit log itself keeps every read)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.integration.conftest import Clock
from tests.support.pages import log_in, page_client
from workflow.cases.model import YoungPersonDetails
from workflow.engine.model import Actor
from workflow.privacy.audit import collapse_reads
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.tables import AuditEntry

PASSWORD = "korrekt-hest-batteri-stald"
CASEWORKER = Actor("caseworker", "cw-mette")
PERSON = YoungPersonDetails("Sofie Samtykke", "0202104321", date(2010, 2, 2))


@pytest.fixture
def runtime(sqlite_runtime: Runtime) -> Runtime:
    sqlite_runtime.accounts.create(
        "mette",
        PASSWORD,
        display_name="Mette Sagsbehandler",
        person_id="cw-mette",
        roles=["caseworker"],
        municipality_code="340",
    )
    return sqlite_runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with page_client(runtime) as test_client:
        yield test_client


def _case(runtime: Runtime) -> str:
    """A Sorø case at the pre-meeting, consent for the school and youth guidance."""
    reference = runtime.service.refer(
        "soroe", PERSON, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    runtime.service.trigger(
        reference, "accept_referral", {"young_person_agrees": True, "consent": True}, CASEWORKER
    )
    runtime.consents.give(
        reference,
        CASEWORKER,
        ConsentRequest(["skole", "uu"], ["education", "health"], guardian=True),
    )
    return reference


def _active(runtime: Runtime, reference: str) -> list[str]:
    view = runtime.service.view(reference, CASEWORKER, "kontrol")
    return sorted(
        d["department"]
        for c in view.consents
        for d in c["departments"]
        if d["withdrawn_at"] is None
    )


def test_withdrawing_consent_asks_first_and_names_what_goes(
    runtime: Runtime, client: TestClient
) -> None:
    """Before: one click withdrew, and the notice said "uu"."""
    reference = _case(runtime)
    csrf = log_in(client, "mette", PASSWORD)
    page = client.get(f"/cases/{reference}").text
    assert f'action="/cases/{reference}/consents/withdraw"' in page

    asked = client.post(
        f"/cases/{reference}/consents/withdraw", data={"csrf_token": csrf, "department": "uu"}
    )
    assert asked.status_code == 200
    assert "Træk samtykket tilbage?" in asked.text
    confirm = asked.text.split('data-testid="withdraw-confirm"', 1)[1]
    assert "<li>UU Sorø</li>" in confirm
    assert "Skole, uddannelse og beskæftigelse, Helbred, psykiatri og misbrug" in confirm
    assert ">uu<" not in confirm
    assert "Intet slettes" in confirm
    assert 'name="confirmed" value="1"' in confirm
    assert 'name="department" value="uu"' in confirm
    assert _active(runtime, reference) == ["skole", "uu"]  # nothing withdrawn yet

    done = client.post(
        f"/cases/{reference}/consents/withdraw",
        data={"csrf_token": csrf, "department": "uu", "confirmed": "1"},
    )
    assert done.status_code == 303
    assert _active(runtime, reference) == ["skole"]
    notice = client.get(done.headers["location"]).text
    assert "Samtykket er trukket tilbage for: UU Sorø." in notice


def test_withdrawing_all_lists_every_department_by_name(
    runtime: Runtime, client: TestClient
) -> None:
    reference = _case(runtime)
    csrf = log_in(client, "mette", PASSWORD)
    asked = client.post(f"/cases/{reference}/consents/withdraw", data={"csrf_token": csrf})
    assert asked.status_code == 200
    confirm = asked.text.split('data-testid="withdraw-confirm"', 1)[1]
    assert "<li>Skole (skoleleder/lærer)</li>" in confirm
    assert "<li>UU Sorø</li>" in confirm
    assert 'name="department"' not in confirm  # the whole consent
    assert _active(runtime, reference) == ["skole", "uu"]
    done = client.post(
        f"/cases/{reference}/consents/withdraw", data={"csrf_token": csrf, "confirmed": "1"}
    )
    assert done.status_code == 303
    assert _active(runtime, reference) == []


def test_the_access_log_speaks_words_and_folds_repeated_reads(
    runtime: Runtime, client: TestClient, clock: Clock
) -> None:
    """Before: "caseworker", "accept_referral", and a row for every page and form view."""
    reference = _case(runtime)
    log_in(client, "mette", PASSWORD)
    for _ in range(4):  # the case page and a form, again and again, within ten minutes
        assert client.get(f"/cases/{reference}").status_code == 200
        assert client.get(f"/cases/{reference}/steps/hold_pre_meeting").status_code == 200
        clock.advance(minutes=2)
    clock.advance(minutes=15)  # later: a new line
    assert client.get(f"/cases/{reference}").status_code == 200

    # A member of staff not on the case tries it: refused, and named as no role of it
    # (the account's role, "Teammedlem", read as if she were on the young person's team).
    runtime.accounts.create(
        "sara", PASSWORD, display_name="Sara", person_id="vejleder-sara", roles=["team_member"],
        municipality_code="340",
    )  # fmt: skip
    log_in(client, "sara")
    assert client.get(f"/cases/{reference}").status_code == 404
    log_in(client, "mette", PASSWORD)

    answer = client.get(f"/cases/{reference}/access-log")
    assert answer.status_code == 200
    table = answer.text.split('data-testid="access-log"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table)
    words = [(action, role, purpose) for _, action, role, purpose in rows]
    assert ("Ændret (sagen)", "Sagsbehandler", "Start forløbet") in words
    assert ("Ændret (samtykke)", "Sagsbehandler", "Samtykke registreret") in words
    assert ("Ændret (sagen)", "Systemet (automatisk)", "Samtykke registreret") in words
    refused = [role for action, role, _ in words if action.startswith("Forsøg afvist")]
    assert refused == ["En medarbejder"]
    reads = [(when, purpose) for when, action, _, purpose in rows if action == "Læst (sagen)"]
    assert len(reads) == 2  # eight views in six minutes, then one
    assert "8 gange, til" in reads[0][0]
    assert reads[0][1] == reads[1][1] == "Sagsbehandling"
    for code in ("caseworker", "accept_referral", "sagsbehandling", "consent_given", "cw-mette"):
        assert code not in table
    # The log itself keeps every read.
    with runtime.sessions() as session:
        logged = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "read", AuditEntry.object_id == reference)
        )
    assert logged == 9
    # The case's timeline names whose consent the system's step followed (it said "af
    # systemet" only, as if nobody had recorded it).
    timeline = re.sub(r"<[^>]+>", "", html.unescape(client.get(f"/cases/{reference}").text))
    assert "af systemet – udløst af Mette Sagsbehandler (sagsbehandler)" in timeline
    assert "Formøde → Formøde" not in timeline  # a step that stays names the stage once


def test_the_access_log_speaks_english(runtime: Runtime, client: TestClient) -> None:
    reference = _case(runtime)
    log_in(client, "mette", PASSWORD)
    client.get(f"/cases/{reference}")
    table = client.get(f"/cases/{reference}/access-log?lang=en").text
    assert "Caseworker" in table
    assert "Start the course" in table
    assert "Casework" in table


def test_reads_fold_only_for_the_same_person_and_purpose_within_the_window() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def entry(
        minute: int, actor: str, purpose: str = "sagsbehandling", action: str = "read"
    ) -> AuditEntry:
        return AuditEntry(
            at=start + timedelta(minutes=minute),
            actor=actor,
            action=action,
            object_type="case",
            object_id="SOR-2026-0001",
            purpose=purpose,
            details={},
        )

    lines = collapse_reads(
        [
            entry(0, "caseworker:a"),
            entry(1, "team_member:b"),  # another person: a line of their own
            entry(2, "caseworker:a"),
            entry(3, "caseworker:a", "aktindsigt"),  # another purpose
            entry(4, "caseworker:a", "hold_pre_meeting", "change"),  # not a read
            entry(9, "caseworker:a"),
            entry(11, "caseworker:a"),  # eleven minutes after the first: a new line
        ]
    )
    assert [(line.role, line.purpose, line.count) for line in lines] == [
        ("caseworker", "sagsbehandling", 3),
        ("team_member", "sagsbehandling", 1),
        ("caseworker", "aktindsigt", 1),
        ("caseworker", "hold_pre_meeting", 1),
        ("caseworker", "sagsbehandling", 1),
    ]
    assert lines[0].until == start + timedelta(minutes=9)
    # The reader's own lines are marked: a mother's reads are hers, the father's not.
    parents = collapse_reads(
        [entry(0, "guardian:mor"), entry(1, "guardian:far")], reader="guardian:mor"
    )
    assert [(line.role, line.own) for line in parents] == [("guardian", True), ("guardian", False)]


def test_a_team_member_whose_consent_was_withdrawn_is_marked_on_the_team(
    runtime: Runtime, client: TestClient
) -> None:
    """The case page's team says who is no longer taking part (their department's consent
    taken back), so nobody counts on them at the next meeting."""
    for username, person, role in (
        ("lise", "tovholder-lise", "coordinator"),
        ("anna", "laerer-anna", "team_member"),
        ("sara", "vejleder-sara", "team_member"),
    ):
        runtime.accounts.create(
            username,
            PASSWORD,
            display_name=username.title(),
            person_id=person,
            roles=[role],
            municipality_code="340",
        )
    reference = _case(runtime)
    team = {
        "team": [
            {"department": "skole", "person": "laerer-anna"},
            {"department": "uu", "person": "vejleder-sara"},
        ],
        "coordinator": "tovholder-lise",
        "agenda": ["uddannelse"],
        "first_meeting_at": "2026-03-17T09:00",
        "meeting_room": "raadhuset_storskaerm",
    }
    runtime.service.trigger(reference, "hold_pre_meeting", team, CASEWORKER)
    runtime.consents.withdraw(reference, CASEWORKER, ["uu"])
    log_in(client, "mette", PASSWORD)
    page = html.unescape(client.get(f"/cases/{reference}").text)
    members = re.findall(
        r"<li>(.*?)</li>", page.split('data-testid="team"', 1)[1].split("</ul>")[0]
    )
    words = [re.sub(r"<[^>]+>", "", m) for m in members]
    assert any("UU Sorø" in w and "samtykket er trukket tilbage" in w for w in words), words
    assert not any("Skole" in w and "trukket tilbage" in w for w in words), words
    # The form to record a consent starts with the team's departments ticked, but not the
    # one whose consent was taken back (ticked, it was easy to give again by mistake).
    form = page.split('data-testid="consent-form"', 1)[1].split("</form>", 1)[0]
    assert 'name="departments" value="skole" checked' in form
    assert 'name="departments" value="uu">' in form


def test_a_refused_consent_is_told_in_its_form_with_what_was_ticked(
    runtime: Runtime, client: TestClient
) -> None:
    """A date before the case was opened was refused as "in the future", on a page of its
    own with one link away, and every tick was lost (a helper's report)."""
    reference = _case(runtime)
    csrf = log_in(client, "mette", PASSWORD)
    sent = {
        "csrf_token": csrf,
        "departments": ["sundhed"],
        "categories": ["health"],
        "guardian": "1",
        "given_on": "2008-05-01",
    }
    answer = client.post(f"/cases/{reference}/consents", data=sent)
    assert answer.status_code == 422
    form = answer.text.split('data-testid="consent-form"', 1)[1].split("</form>", 1)[0]
    # The form is sent to its errors' place on the page that comes back (the browser keeps
    # the action's fragment): it came back at the top, the errors far below.
    assert f'action="/cases/{reference}/consents#consent-errors"' in answer.text
    assert 'id="consent-errors"' in form
    assert "Datoen for samtykket ligger før sagen blev oprettet" in form
    assert "i fremtiden" not in form
    assert re.search(r'value="sundhed" checked', form)
    assert re.search(r'value="health" checked', form)
    assert re.search(r'name="guardian" value="1" checked', form)
    assert 'value="2008-05-01"' in form
    assert "<details open>" in answer.text
    garbled = client.post(f"/cases/{reference}/consents", data=sent | {"given_on": "1. maj"})
    assert garbled.status_code == 422
    assert "skal være en dato (ÅÅÅÅ-MM-DD)" in garbled.text
    assert _active(runtime, reference) == ["skole", "uu"]  # nothing recorded
