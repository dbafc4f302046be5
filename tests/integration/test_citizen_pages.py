"""The young person's and guardian's own pages, logged in through a real OIDC provider.

The provider is npm's oidc-provider on 127.0.0.1 (tests/support/oidc.py); the app is the
real one (TestClient). Logins walk the provider's pages and bring the code back to
``/ung/callback``. Bad logins and other people's cases answer like a missing case, and
every attempt is audited.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import func, select, update

from tests.integration.conftest import Clock
from tests.support.case_api import (
    ACCEPT,
    CASEWORKER,
    COORDINATOR,
    FIRST_MEETING,
    FOLLOW_UP,
    HANDOVER,
    PRE_MEETING,
)
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, log_in
from tests.support.services import free_port
from workflow.cases.model import GuardianDetails, RejectedError, StepResult, YoungPersonDetails
from workflow.engine.model import Actor
from workflow.errors import CaseNotFoundError
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.settings import Settings
from workflow.store.tables import AuditEntry, Case, CaseTask, OutboxRow, YoungPerson
from workflow.web.app import create_app
from workflow.web.dev_oidc import PROVIDER_FOLDER, ensure_installed, running_provider

APP = "http://testserver"
CALLBACK = f"{APP}/ung/callback"
PEOPLE = {
    "emma": {"name": "Emma Ung", "cpr": "0101104321"},  # 16 in 2026: a minor
    "mor": {"name": "Mette Mor", "cpr": "0202801234"},  # Emma's mother
    "jonas": {"name": "Jonas Andersen", "cpr": "0303054321"},  # another young person
    "ukendt": {"name": "Ingen Sag", "cpr": "0404044321"},  # no case here
    "uden-cpr": {"name": "Uden CPR"},  # a token without a CPR claim
}
EMMA = YoungPersonDetails(
    "Emma Ung",
    "010110-4321",
    date(2010, 1, 1),
    email="emma@example.org",
    guardians=(GuardianDetails("Mette Mor", "020280-1234", email="mor@example.org"),),
)
JONAS = YoungPersonDetails("Jonas Andersen", "030305-4321", date(2005, 3, 3))


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    ensure_installed(PROVIDER_FOLDER)
    with running_provider(
        port=free_port(),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[CALLBACK],
        accounts=PEOPLE,
    ) as info:
        yield info.issuer


@pytest.fixture
def citizen_runtime(provider: str, clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'workflow.db'}",
        home=tmp_path / "var",
        base_url=APP,
        citizen_oidc_issuer=provider,
        citizen_oidc_client_id=CLIENT_ID,
        citizen_oidc_client_secret=CLIENT_SECRET,
    )
    rt = build_runtime(settings, clock=clock)
    use_runtime(rt)
    yield rt
    use_runtime(None)
    rt.engine.dispose()


def _case(
    runtime: Runtime, person: YoungPersonDetails, *, meeting: bool = True, consent: bool = True
) -> str:
    """A Sorø case at the first meeting (team, coordinator; a consent for skole and uu,
    recorded with the parent's, as staff record it when the parent signed on paper)."""
    ref = runtime.service.refer(
        "soroe", person, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    runtime.service.trigger(ref, "accept_referral", ACCEPT, CASEWORKER)
    if consent:
        request = ConsentRequest(["skole", "uu"], ["education"], guardian=True)
        runtime.consents.give(ref, CASEWORKER, request)
    if meeting:  # the first meeting is still to come: the young person's page shows it
        upcoming = PRE_MEETING | {"first_meeting_at": "2026-03-17T09:00:00"}
        runtime.service.trigger(ref, "hold_pre_meeting", upcoming, CASEWORKER)
    return ref


def _login(client: TestClient, who: str) -> TestClient:
    start = client.get("/ung/login", follow_redirects=False)
    assert start.status_code == 303
    back = log_in(start.headers["location"], who, redirect_uri=CALLBACK)
    answer = client.get("/ung/callback", params=back, follow_redirects=False)
    client.last = answer  # type: ignore[attr-defined]
    return client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def _audit(runtime: Runtime, action: str) -> list[AuditEntry]:
    with runtime.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _last_consent_entry(runtime: Runtime, ref: str) -> AuditEntry:
    """The case's latest consent entry of the audit log (a withdrawal, a consent given)."""
    with runtime.sessions() as session:
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == "consent", AuditEntry.object_id == ref)
            .order_by(AuditEntry.id.desc())
        ).first()
    assert entry is not None
    return entry


def test_the_young_person_logs_in_sees_their_course_and_prepares(
    citizen_runtime: Runtime,
) -> None:
    ref = _case(citizen_runtime, EMMA)
    front = TestClient(create_app(citizen_runtime)).get("/ung/").text  # before logging in
    shown = re.search(r"<title>(.*?)</title>", front, re.S)
    assert shown is not None
    assert html.unescape(shown.group(1)).strip() == "Velkommen til dit forløb – Mit forløb"
    client = _login(TestClient(create_app(citizen_runtime)), "emma")
    assert client.last.status_code == 303  # type: ignore[attr-defined]
    page = client.get("/ung/", follow_redirects=True)
    assert page.status_code == 200
    assert str(page.url).endswith(f"/ung/cases/{ref}")
    body = page.text
    assert "Mit forløb" in body
    assert "Mit næste møde" in body
    # The tab says which course, once: its stage and model, then the app.
    title = re.search(r"<title>(.*?)</title>", body, re.S)
    assert title is not None
    assert html.unescape(title.group(1)).strip() == (
        "Første samarbejdsmøde indkaldt · Samarbejdsmodellen – Sorø Kommune – Mit forløb"
    )
    assert "Sæt i min kalender" in body
    assert "Skole (skoleleder/lærer)" in body  # a consented department, with withdraw
    # The young person's own step before the meeting, with a theme and their own words.
    form = client.get(f"/ung/cases/{ref}/steps/young_person_prepared")
    assert form.status_code == 200
    assert 'name="my_topics"' in form.text
    # Who reads what she writes, said before she sends it (the case page shows it to
    # her team; she was told only that her coordinator is told). In Sorø's word.
    assert (
        "Det, du skriver og vælger her, kan din tovholder, din sagsbehandler og dit team "
        "læse på sagen, så de kan forberede sig."
    ) in html.unescape(form.text)
    # Sent without a theme: the top of the page says, in plain words, what to fix and
    # links to it; the same words stand beside the field.
    empty = client.post(
        f"/ung/cases/{ref}/steps/young_person_prepared",
        data={"csrf_token": _csrf(form.text), "my_wishes": "Noget"},
        follow_redirects=False,
    )
    assert empty.status_code == 422
    summary = empty.text.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "Det er ikke sendt endnu. Ret dette:" in summary
    assert '<a href="#my_topics-err">' in summary
    assert 'id="my_topics-err"' in empty.text
    assert "Skridtet" not in empty.text
    sent = client.post(
        f"/ung/cases/{ref}/steps/young_person_prepared",
        data={
            "csrf_token": _csrf(form.text),
            "my_topics": ["uddannelse", "bolig"],
            "my_wishes": "Jeg vil gerne tale om at flytte hjemmefra",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    view = citizen_runtime.service.view(ref, COORDINATOR)
    assert view.data["my_topics"] == ["uddannelse", "bolig"]
    assert view.history[-1]["actor"] == f"young_person:young-person/{ref}"
    ics = client.get(f"/ung/cases/{ref}/meeting.ics")
    assert ics.status_code == 200
    assert "BEGIN:VEVENT" in ics.text
    # The calendar file's meeting is the booked first meeting, published into her own
    # calendar (no invitation to answer), stamped when the file was made.
    assert "20260317T" in ics.text
    assert "METHOD:PUBLISH" in ics.text
    assert "DTSTAMP:20260302T080000Z" in ics.text  # the clock, not the meeting's start


def test_the_guardian_sees_the_course_without_the_young_persons_own_words(
    citizen_runtime: Runtime,
) -> None:
    ref = _case(citizen_runtime, EMMA, consent=False)
    young = _login(TestClient(create_app(citizen_runtime)), "emma")
    form = young.get(f"/ung/cases/{ref}/steps/young_person_prepared")
    assert 'maxlength="5000"' in form.text  # the limit said by the form, not after sending
    young.post(
        f"/ung/cases/{ref}/steps/young_person_prepared",
        data={"csrf_token": _csrf(form.text), "my_topics": ["bolig"], "my_wishes": "HEMMELIGT"},
    )
    parent = _login(TestClient(create_app(citizen_runtime)), "mor")
    page = parent.get("/ung/", follow_redirects=True)
    assert page.status_code == 200
    assert "Den unges forløb" in page.text
    assert "HEMMELIGT" not in page.text
    assert "Giv mit samtykke som forælder" in page.text
    given = parent.post(
        f"/ung/cases/{ref}/consent",
        data={"csrf_token": _csrf(page.text), "give": "own"},
        follow_redirects=False,
    )
    assert given.status_code == 303
    assert given.headers["location"].endswith("?notice=consent_part")
    # The parent's yes is the parent's only: no consent is recorded (nor said to be the
    # young person's) until Emma, 16, says yes herself.
    assert citizen_runtime.service.view(ref, CASEWORKER).consents == []
    assert citizen_runtime.consents.parts(ref) == {"skole": {"guardian"}, "uu": {"guardian"}}
    after = parent.get(f"/ung/cases/{ref}?notice=consent_part")
    assert "Dit ja er gemt. Det gælder, når alle de nødvendige ja er givet." in after.text
    assert "Giv mit samtykke som forælder" not in after.text
    young = _login(TestClient(create_app(citizen_runtime)), "emma")
    own = young.get(f"/ung/cases/{ref}")
    assert "Din forælder har sagt ja til at dele med: Skole (skoleleder/lærer)" in own.text
    assert "samtykket mangler (se Mit samtykke)" in own.text  # on her team card
    given = young.post(
        f"/ung/cases/{ref}/consent",
        data={"csrf_token": _csrf(own.text), "give": "own"},
        follow_redirects=False,
    )
    assert given.headers["location"].endswith("?notice=consent_given")
    consents = citizen_runtime.service.view(ref, CASEWORKER).consents
    assert consents[0]["given_by"] == ["young_person", "guardian"]
    assert consents[0]["recorded_by"].startswith("young_person:young-person/")
    assert sorted(d["department"] for d in consents[0]["departments"]) == ["skole", "uu"]
    assert citizen_runtime.consents.parts(ref) == {}
    # The guardian has no young person's steps: the course page, saying so.
    step = parent.get(f"/ung/cases/{ref}/steps/young_person_prepared", follow_redirects=False)
    assert step.status_code == 303
    assert step.headers["location"] == f"/ung/cases/{ref}?notice=not_open"
    assert "Det kan ikke gøres i forløbet lige nu." in parent.get(step.headers["location"]).text


def test_withdrawing_a_departments_consent_and_the_access_log(citizen_runtime: Runtime) -> None:
    ref = _case(citizen_runtime, EMMA)
    client = _login(TestClient(create_app(citizen_runtime)), "emma")
    page = client.get(f"/ung/cases/{ref}")
    # Issue 17: withdrawing was one click. Now the first post asks, naming the department.
    asked = client.post(
        f"/ung/cases/{ref}/consent",
        data={"csrf_token": _csrf(page.text), "department": "skole"},
        follow_redirects=False,
    )
    assert asked.status_code == 200
    assert "Vil du trække samtykket tilbage?" in asked.text
    # Its English link opens the consent's address: the course page at its consent, in
    # English (it was "Page not found"); nothing is withdrawn by opening it.
    english = client.get(f"/ung/cases/{ref}/consent?lang=en", follow_redirects=False)
    assert english.status_code == 303
    assert english.headers["location"] == f"/ung/cases/{ref}?lang=en#consent-h"
    assert "My consent" in client.get(english.headers["location"]).text
    client.get(f"/ung/cases/{ref}?lang=da")  # back to Danish, as the test goes on
    assert "Skole (skoleleder/lærer)" in asked.text
    assert 'name="confirmed" value="1"' in asked.text
    view = citizen_runtime.service.view(ref, CASEWORKER)
    assert all(d["withdrawn_at"] is None for d in view.consents[0]["departments"])
    answer = client.post(
        f"/ung/cases/{ref}/consent",
        data={"csrf_token": _csrf(page.text), "department": "skole", "confirmed": "1"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    view = citizen_runtime.service.view(ref, CASEWORKER)
    withdrawn = {d["department"]: d["withdrawn_at"] for d in view.consents[0]["departments"]}
    assert withdrawn["skole"] is not None
    assert withdrawn["uu"] is None
    for _ in range(3):  # the young person looks at their page again and again
        assert client.get(f"/ung/cases/{ref}").status_code == 200
    # "Mit team" says the school's teacher is no longer part of it, with no link to write.
    body = html.unescape(client.get(f"/ung/cases/{ref}").text)
    section = body[body.index('id="team-h"') :].split("</section>")[0]
    members = [re.sub(r"<[^>]+>", "", li) for li in re.findall(r"<li[^>]*>(.*?)</li>", section)]
    school = next(member for member in members if "Skole" in member)
    assert "ikke længere med: samtykket til afdelingen er trukket tilbage" in school
    assert "Skriv" not in school
    uu = next(member for member in members if "UU" in member)
    assert "ikke længere med" not in uu
    # Her consent card says when, and by whom: her own withdrawal "af dig", her mother's
    # "af din forælder/værge" (which read as her own before); not told to the mother.
    card = re.sub(r"<[^>]+>", "", body[body.index('id="consent-h"') :].split("</section>")[0])
    assert (
        "Skole (skoleleder/lærer): samtykket blev trukket tilbage mandag den 2. marts 2026 af dig"
        in card
    )
    parent = _login(TestClient(create_app(citizen_runtime)), "mor")
    hers = parent.get(f"/ung/cases/{ref}")
    taken = parent.post(
        f"/ung/cases/{ref}/consent",
        data={"csrf_token": _csrf(hers.text), "department": "uu", "confirmed": "1"},
        follow_redirects=False,
    )
    assert taken.status_code == 303
    again = re.sub(r"<[^>]+>", "", html.unescape(client.get(f"/ung/cases/{ref}").text))
    assert "samtykket blev trukket tilbage mandag den 2. marts 2026 af din forælder/værge" in again
    theirs = html.unescape(parent.get(f"/ung/cases/{ref}").text)
    assert "consent-taken-back" not in theirs
    # A step the coordinator sent with a field missing (nothing read or changed), and a
    # step tried by a caseworker who is not on the case (refused for who they are).
    with pytest.raises(RejectedError):
        citizen_runtime.service.trigger(ref, "hold_first_meeting", {}, COORDINATOR)
    with pytest.raises(CaseNotFoundError):
        citizen_runtime.service.trigger(ref, "pause", {}, Actor("caseworker", "cw-fremmed"))
    log = client.get(f"/ung/cases/{ref}/log")
    shown = html.unescape(log.text)
    assert shown.count("prøvede at gøre noget i dit forløb og fik nej") == 1  # the stranger
    # ... named as staff, not by the role they claimed and do not hold on the case
    words = re.sub(r"<[^>]+>", "", shown)
    assert "En medarbejder prøvede at gøre noget i dit forløb og fik nej" in words
    assert "Hvorfor: </p>" not in shown  # a line without a purpose says none
    assert "(en frist)" not in shown  # the system acts for more than deadlines
    assert log.status_code == 200
    assert "Din sagsbehandler" in log.text
    assert "cw-mette" not in log.text
    # Her looking at this list is said as what it is, not as taking a copy of her course;
    # her CPR number shown in full to the caseworker is said as such, not as a read:
    citizen_runtime.service.reveal_cpr(ref, CASEWORKER, "opslag i Digital Post")
    again = re.sub(r"<[^>]+>", "", html.unescape(client.get(f"/ung/cases/{ref}/log").text))
    assert "så oversigten over, hvem der har læst dit forløb" in again
    assert "hentede en kopi" not in again
    assert "Din sagsbehandler så dit CPR-nummer" in again
    # Issue 17: steps and purposes by name, and one line for repeated reads (each logged).
    assert "Start forløbet" in log.text
    assert "accept_referral" not in log.text
    # Within one minute (the clock stands still here): no "til" the same time again.
    assert re.search(r"\d+ gange · Hvorfor", log.text)
    assert not re.search(r"gange, til (\S+ \S+) · Hvorfor", log.text)


def test_the_first_meeting_invitation_reaches_the_young_person_and_guardian(
    citizen_runtime: Runtime,
) -> None:
    ref = _case(citizen_runtime, EMMA)
    citizen_runtime.deliverer.drain()
    mail = sorted((citizen_runtime.settings.home / "mail").rglob("*.eml"))
    texts = [m.read_text(encoding="utf-8") for m in mail]
    mine = [t for t in texts if "emma@example.org" in t]
    parents = [t for t in texts if "mor@example.org" in t]
    assert mine
    assert parents
    parsed = email.message_from_string(mine[0], policy=email.policy.default)
    calendars = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert "BEGIN:VEVENT" in calendars[0].get_content()
    assert f"/ung/cases/{ref}" in mine[0]
    assert "0101104321" not in "".join(texts)
    assert "010110-4321" not in "".join(texts)


def test_a_department_whose_consent_is_withdrawn_leaves_the_meetings_to_come(
    citizen_runtime: Runtime, clock: Clock
) -> None:
    """The school's teacher was invited to the first meeting; the school's consent is
    withdrawn: she is sent the meeting's cancellation for her calendar (a later move
    would be withheld from her, and she would come at the old time), nobody else is, and
    the message says no more than the reference and the time."""
    ref = _case(citizen_runtime, EMMA)
    citizen_runtime.deliverer.drain()
    before = set((citizen_runtime.settings.home / "mail").rglob("*.eml"))
    # Time moves between the withdrawal's writes (its news to the case comes after the
    # tasks it ended), as it does outside a test.
    clock.tick = timedelta(milliseconds=3)
    assert citizen_runtime.consents.withdraw(ref, CASEWORKER, ["skole"]) == ["skole"]
    with citizen_runtime.sessions() as session:
        rows = session.scalars(
            select(OutboxRow).where(OutboxRow.template == "meeting_uninvited")
        ).all()
    assert [(r.recipient["id"], r.recipient["person"]) for r in rows] == [("skole", "laerer-anna")]
    delivered = citizen_runtime.deliverer.drain()
    assert delivered.get("withheld", 0) == 0  # the cancellation reaches her
    sent = sorted(set((citizen_runtime.settings.home / "mail").rglob("*.eml")) - before)
    parsed = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sent]
    uninvited = [m for m in parsed if str(m["Subject"]).startswith("Du deltager ikke længere")]
    assert len(uninvited) == 1
    assert str(uninvited[0]["Subject"]) == (
        f"Du deltager ikke længere: Første samarbejdsmøde, sag {ref}"
    )
    body = uninvited[0].get_body(("plain",))
    assert body is not None
    words = body.get_content()
    assert "tirsdag den 17. marts 2026 kl. 09.00" in words
    assert "Emma" not in words
    assert "samtykke" not in words  # no reason given
    assert "/cases/" not in words  # no link to a case she may no longer read
    [calendar] = [p for p in uninvited[0].walk() if p.get_content_type() == "text/calendar"]
    ics = calendar.get_content()
    assert "METHOD:CANCEL" in ics
    # The meeting's own SEQUENCE, newer by its DTSTAMP: the meeting's next update (a move,
    # SEQUENCE 1) is then newer than it for every calendar alike.
    assert "SEQUENCE:0" in ics
    # Its calendar does not say where the meeting is held.
    assert "LOCATION" not in ics
    # The consent's audit entry counts it.
    entry = _last_consent_entry(citizen_runtime, ref)
    # (and the teacher's confirmation for the meeting ends with the consent)
    assert entry.details == {"withdrawn": ["skole"], "uninvited": 1, "tasks_closed": 1}
    # A consent given again for the school invites her again (it did not: her calendar
    # had lost the meeting for good unless it was moved).
    before = set((citizen_runtime.settings.home / "mail").rglob("*.eml"))
    citizen_runtime.consents.give(
        ref, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True)
    )
    citizen_runtime.deliverer.drain()
    sent = sorted(set((citizen_runtime.settings.home / "mail").rglob("*.eml")) - before)
    parsed = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sent]
    again = [m for m in parsed if str(m["Subject"]).startswith("Du er inviteret igen")]
    assert len(again) == 1
    [calendar] = [p for p in again[0].walk() if p.get_content_type() == "text/calendar"]
    ics = calendar.get_content()
    assert "METHOD:REQUEST" in ics
    assert "SEQUENCE:0" in ics
    assert "LOCATION" in ics  # she shares in the course again: where it is held
    entry = _last_consent_entry(citizen_runtime, ref)
    assert entry.details["invited_again"] == 1
    # and her confirmation, ended by the withdrawal, is asked for again
    assert entry.details["tasks_reopened"] == 1
    with citizen_runtime.sessions() as session:
        confirmations = session.scalars(
            select(CaseTask).where(CaseTask.assignee_id == "skole", CaseTask.state == "open")
        ).all()
    assert [(t.assignee_id, t.closed_at) for t in confirmations] == [("skole", None)]
    # Given once more, nobody is invited twice.
    citizen_runtime.consents.give(
        ref, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True)
    )
    with citizen_runtime.sessions() as session:
        assert (
            len(
                session.scalars(
                    select(OutboxRow).where(OutboxRow.template == "meeting_invited_again")
                ).all()
            )
            == 1
        )


def test_a_task_opened_again_in_a_pause_waits_with_its_stage(
    citizen_runtime: Runtime, clock: Clock
) -> None:
    """Paused, then the school's consent withdrawn and given again: the teacher's
    confirmation comes back held by the pause, as it was (it came back running, its
    reminders and deadline going on through the pause)."""
    ref = _case(citizen_runtime, EMMA)
    clock.advance(hours=1)
    citizen_runtime.service.trigger(ref, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    paused_at = clock.now
    clock.advance(hours=1)
    citizen_runtime.consents.withdraw(ref, CASEWORKER, ["skole"])
    clock.advance(hours=1)
    citizen_runtime.consents.give(
        ref, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True)
    )
    assert _last_consent_entry(citizen_runtime, ref).details["tasks_reopened"] == 1
    with citizen_runtime.sessions() as session:
        [task] = session.scalars(
            select(CaseTask).where(CaseTask.assignee_id == "skole", CaseTask.state == "open")
        ).all()
        assert task.next_reminder_at is None
        assert task.held_since is not None
        assert task.held_since.replace(tzinfo=UTC) == paused_at


def test_a_consent_given_again_after_a_step_leaves_the_ended_tasks_ended(
    citizen_runtime: Runtime, clock: Clock
) -> None:
    """A step taken while the school's consent was withdrawn (the meeting moved) may have
    changed what its tasks were for: given again, the consent opens none of them."""
    ref = _case(citizen_runtime, EMMA)
    citizen_runtime.consents.withdraw(ref, CASEWORKER, ["skole"])
    clock.advance(minutes=5)
    citizen_runtime.service.trigger(
        ref, "move_meeting", {"moved_to": "2026-03-19T09:00"}, CASEWORKER
    )
    citizen_runtime.consents.give(
        ref, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True)
    )
    assert "tasks_reopened" not in _last_consent_entry(citizen_runtime, ref).details
    with citizen_runtime.sessions() as session:
        still = session.scalars(
            select(CaseTask).where(CaseTask.assignee_id == "skole", CaseTask.state == "open")
        ).all()
    assert still == []


def _staff_reading_english(runtime: Runtime, *english: str) -> None:
    """The case's staff as accounts ("Anna Testansat"...); those named read English."""
    for username, person, role in (
        ("anna", "laerer-anna", "team_member"),
        ("lise", "tovholder-lise", "coordinator"),
        ("mette", "cw-mette", "caseworker"),
        ("sara", "vejleder-sara", "team_member"),
    ):
        runtime.accounts.create(
            username,
            None,
            display_name=f"{username.title()} Testansat",
            person_id=person,
            roles=[role],
            municipality_code="340",
            locale="en" if username in english else "da",
        )


def test_a_task_reminder_to_an_english_reader_names_the_task_in_english(
    citizen_runtime: Runtime, clock: Clock
) -> None:
    """The teacher reads her mail in English: her reminder of the plan's task said
    "Reminder: Løs din opgave i planen før næste mødedag" (the title as the task is
    stored, in the definition's Danish), two business days before it is due."""
    _staff_reading_english(citizen_runtime, "anna")
    ref = _case(citizen_runtime, EMMA)
    clock.now = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)  # the first meeting has begun
    held = FIRST_MEETING | {"next_meeting_at": "2026-04-28T09:00:00"}
    citizen_runtime.service.trigger(ref, "hold_first_meeting", held, COORDINATOR)
    citizen_runtime.deliverer.drain()
    before = set((citizen_runtime.settings.home / "mail").rglob("*.eml"))
    # Due on the meeting day after two weeks (Tuesday 7 April), reminded two business
    # days before: over Easter, on 31 March.
    clock.now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert citizen_runtime.tasks.send_due_reminders(clock.now) >= 1
    citizen_runtime.deliverer.drain()
    subjects = {
        str(parsed["To"]): str(parsed["Subject"])
        for parsed in (
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in set((citizen_runtime.settings.home / "mail").rglob("*.eml")) - before
        )
    }
    assert subjects["skole@soroe.example"] == (
        f"Reminder: Do your task before the next meeting (case {ref})"
    )


def test_a_message_to_the_young_person_and_guardian_greets_them_by_first_name(
    citizen_runtime: Runtime,
) -> None:
    # The teacher reads her mail in English (her account's language); the school's
    # mailbox was greeted as the department ("Hej Skole (skoleleder/lærer)").
    _staff_reading_english(citizen_runtime, "anna")
    ref = _case(citizen_runtime, EMMA)
    citizen_runtime.deliverer.drain()
    before = set((citizen_runtime.settings.home / "mail").rglob("*.eml"))
    citizen_runtime.service.trigger(ref, "cancel_meeting", {}, CASEWORKER)
    citizen_runtime.deliverer.drain()
    sent = sorted(set((citizen_runtime.settings.home / "mail").rglob("*.eml")) - before)
    bodies = {}
    for path in sent:
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = parsed.get_body(("plain",))
        assert text is not None
        bodies[str(parsed["To"])] = text.get_content()
    assert bodies["emma@example.org"].startswith("Hej Emma\n")  # not "Hej Den unge"
    assert bodies["mor@example.org"].startswith("Hej Mette\n")
    # Staff are greeted by their own first name (else their department or role), never
    # by the citizen's name:
    staff = [body for to, body in bodies.items() if "example.org" not in to]
    assert staff
    assert not [body for body in staff if "Emma" in body or "Mette" in body]
    assert bodies["skole@soroe.example"].startswith("Hello Anna\n")
    assert bodies["tovholdere@soroe.example"].startswith("Hej Lise\n")
    assert bodies["uu@soroe.example"].startswith("Hej Sara\n")


@pytest.mark.parametrize(
    "login", ["ukendt", "uden-cpr"], ids=["CPR matching no case", "no CPR claim"]
)
def test_a_login_that_matches_no_case_is_told_there_is_no_course_here(
    citizen_runtime: Runtime, login: str
) -> None:
    """Logged in with MitID and no course found (a parent's ends when the young person
    turns 18): said as such — it said "Siden findes ikke … log ind og prøv igen"."""
    _case(citizen_runtime, EMMA)
    client = _login(TestClient(create_app(citizen_runtime)), login)
    answer = client.last  # type: ignore[attr-defined]
    missing = TestClient(create_app(citizen_runtime)).get(
        "/ung/cases/SOR-2026-9999", follow_redirects=False
    )
    assert answer.status_code == 403
    assert "kui_ung=" not in answer.headers.get("set-cookie", "")
    shown = html.unescape(answer.text)
    assert "Du har ikke et forløb her" in shown
    assert "En forælder kan følge sin unges forløb, indtil den unge fylder 18." in shown
    assert "Siden findes ikke" not in shown
    assert _audit(citizen_runtime, "login_failed")
    assert missing.status_code == 303  # not logged in: to the login page


def test_a_tampered_or_replayed_callback_is_refused_and_audited(citizen_runtime: Runtime) -> None:
    _case(citizen_runtime, EMMA)
    client = TestClient(create_app(citizen_runtime))
    start = client.get("/ung/login", follow_redirects=False)
    back = log_in(start.headers["location"], "emma", redirect_uri=CALLBACK)
    wrong_state = client.get("/ung/callback", params=back | {"state": "forged"})
    assert wrong_state.status_code == 401
    assert "Vi kunne ikke logge dig ind" in wrong_state.text
    # The code was not spent on a forged state; a fresh client without the login cookie:
    stranger = TestClient(create_app(citizen_runtime)).get("/ung/callback", params=back)
    assert stranger.status_code == 401
    tampered = TestClient(create_app(citizen_runtime))
    tampered.cookies.set("kui_ung_login", "e30.deadbeef", path="/ung")
    assert tampered.get("/ung/callback", params=back).status_code == 401
    reasons = {e.details["reason"] for e in _audit(citizen_runtime, "login_failed")}
    assert {"state", "no login in progress"} <= reasons


def test_an_expired_id_token_is_refused(
    citizen_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _case(citizen_runtime, EMMA)
    client = TestClient(create_app(citizen_runtime))
    start = client.get("/ung/login", follow_redirects=False)
    back = log_in(start.headers["location"], "emma", redirect_uri=CALLBACK)
    import workflow.web.citizen_oidc as citizen_oidc

    class Later:
        """The OIDC client's clock, two hours on: the token's 600 s are long gone."""

        @staticmethod
        def time() -> float:
            return real_time() + 7200

    real_time = citizen_oidc.time.time
    monkeypatch.setattr(citizen_oidc, "time", Later)
    answer = client.get("/ung/callback", params=back)
    assert answer.status_code == 401
    assert "expired" in {e.details["reason"] for e in _audit(citizen_runtime, "login_failed")}


def test_a_young_person_opening_anothers_case_sees_a_missing_case(
    citizen_runtime: Runtime,
) -> None:
    emmas = _case(citizen_runtime, EMMA)
    _case(citizen_runtime, JONAS)
    jonas = _login(TestClient(create_app(citizen_runtime)), "jonas")
    other = jonas.get(f"/ung/cases/{emmas}")
    missing = jonas.get("/ung/cases/SOR-2026-9999")
    assert other.status_code == missing.status_code == 404
    assert other.text.replace(emmas, "X") == missing.text.replace("SOR-2026-9999", "X")
    assert "Emma" not in other.text
    refused = [e for e in _audit(citizen_runtime, "refused") if e.object_id == emmas]
    assert refused
    assert refused[0].actor.startswith("citizen:")
    with citizen_runtime.sessions() as session:
        assert session.scalar(select(Case.stage).where(Case.reference == emmas))


def test_a_roskilde_case_goes_through_the_young_persons_steps(citizen_runtime: Runtime) -> None:
    """Before the pre-meeting, feedback after each meeting: Roskilde's model, by the young
    person on their own page, and the coordinator of record holding the meetings."""
    rt = citizen_runtime
    ref = rt.service.refer(
        "roskilde", EMMA, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    rt.service.trigger(ref, "accept_referral", ACCEPT, CASEWORKER)
    client = _login(TestClient(create_app(rt)), "emma")

    def do(event: str, data: dict[str, object]) -> None:
        form = client.get(f"/ung/cases/{ref}/steps/{event}")
        assert form.status_code == 200, (event, form.text[:300])
        sent = client.post(
            f"/ung/cases/{ref}/steps/{event}",
            data={"csrf_token": _csrf(form.text), **data},
            follow_redirects=False,
        )
        assert sent.status_code == 303, (event, sent.text[:2000])

    # Feedback is offered only once a meeting waits for it (its guard reads the case).
    before = client.get(f"/ung/cases/{ref}").text
    assert f"/ung/cases/{ref}/steps/young_person_prepared" in before
    assert f"/ung/cases/{ref}/steps/young_person_feedback" not in before
    prepared = {"my_topics": ["uddannelse"], "my_wishes": "Skole", "presenter": "myself"}
    do("young_person_prepared", prepared)
    told = client.get(f"/ung/cases/{ref}?notice=saved").text  # no coordinator chosen yet
    assert "Tak! Det er gemt, og din sagsbehandler får besked." in told
    # Whom she can reach: the caseworker, as long as she has no coordinator.
    assert "kan du altid ringe eller skrive til din sagsbehandler" in html.unescape(told)
    pre_meeting = {k: v for k, v in PRE_MEETING.items() if k != "meeting_room"}
    rt.service.trigger(ref, "hold_pre_meeting", pre_meeting, CASEWORKER)
    assert f"/ung/cases/{ref}/steps/young_person_feedback" in client.get(f"/ung/cases/{ref}").text
    do("young_person_feedback", {"felt_heard": "ja", "decided_myself": "ja"})
    told = client.get(f"/ung/cases/{ref}?notice=saved").text  # the coordinator she chose
    # Roskilde's word for the coordinator, as its letters say it.
    assert "Tak! Det er gemt, og din ungekoordinator får besked." in told
    assert "kan altid ringe eller skrive til din ungekoordinator" in html.unescape(told)
    do("young_person_prepared", prepared)
    lise = COORDINATOR
    rt.service.trigger(
        ref, "hold_first_meeting", FIRST_MEETING | {"young_person_decided": True}, lise
    )
    do("young_person_feedback", {"felt_heard": "delvist", "decided_myself": "ja"})
    assert rt.service.view(ref, lise).stage == "follow_up"
    page = client.get(f"/ung/cases/{ref}")
    assert "Jeg skal møde op i skole 3 dage om ugen" in page.text
    parsed = parse_qs(urlsplit(str(page.url)).query)
    assert parsed == {}


def test_the_young_person_sees_their_progression_meeting_by_meeting(
    citizen_runtime: Runtime,
) -> None:
    ref = _case(citizen_runtime, EMMA, meeting=False)
    agreed = PRE_MEETING | {"progression": "contact_ready"}
    citizen_runtime.service.trigger(ref, "hold_pre_meeting", agreed, CASEWORKER)
    agreed = FIRST_MEETING | {"progression": "guidance_ready"}
    citizen_runtime.service.trigger(ref, "hold_first_meeting", agreed, COORDINATOR)
    client = _login(TestClient(create_app(citizen_runtime)), "emma")
    body = client.get(f"/ung/cases/{ref}").text
    section = body[body.index('data-testid="progress"') :]
    section = section[: section.index("</section>")]
    assert "Progression møde for møde" in section
    assert '<img class="chart progress-chart" src="data:image/svg+xml;base64,' in section
    cell = r"<td[^>]*>([^<]+)</td>"
    rows = re.findall(f"<tr>{cell}{cell}{cell}", section)
    # Each meeting on its own date: the first meeting was booked for 24 February and
    # recorded as held on 2 March (the clock), the pre-meeting's level on 2 March.
    assert rows == [
        ("Formøde", "02.03.2026", "Kontaktparat"),
        ("1. møde", "24.02.2026", "Vejledningsparat"),
    ]


def test_the_networks_the_young_person_goes_on_with_are_on_their_page(
    citizen_runtime: Runtime,
) -> None:
    """The handover's networks (the point of the handover) are the young person's to see,
    and their guardian's, in their own words."""
    rt = citizen_runtime
    ref = _case(rt, EMMA, meeting=False)
    rt.service.trigger(ref, "hold_pre_meeting", PRE_MEETING, CASEWORKER)
    rt.service.trigger(ref, "hold_first_meeting", FIRST_MEETING, COORDINATOR)
    rt.service.trigger(ref, "hold_follow_up", FOLLOW_UP, COORDINATOR)
    client = _login(TestClient(create_app(rt)), "emma")
    assert "Mine netværk" not in client.get(f"/ung/cases/{ref}").text  # none yet
    rt.service.trigger(ref, "start_handover", HANDOVER, COORDINATOR)
    body = html.unescape(client.get(f"/ung/cases/{ref}").text)
    assert '<h2 id="networks-h">Mine netværk</h2>' in body
    assert '<ul data-testid="networks"><li>Sorø Fodboldklub (Fritid)</li></ul>' in body
    parent = _login(TestClient(create_app(rt)), "mor")
    assert "Den unges netværk" in html.unescape(parent.get(f"/ung/cases/{ref}").text)


def test_after_the_course_ends_no_goal_reads_under_way(citizen_runtime: Runtime) -> None:
    """A goal nobody marked before the young person stopped is "not reviewed before the
    course ended" on her page and on the staff's, not "I gang" (under way)."""
    ref = _case(citizen_runtime, EMMA, meeting=False)
    citizen_runtime.service.trigger(ref, "hold_pre_meeting", PRE_MEETING, CASEWORKER)
    citizen_runtime.service.trigger(ref, "hold_first_meeting", FIRST_MEETING, COORDINATOR)
    client = _login(TestClient(create_app(citizen_runtime)), "emma")

    def plan_words() -> str:
        body = html.unescape(client.get(f"/ung/cases/{ref}").text)
        plan = body[body.index('id="plan-h"') :]
        return re.sub(r"<[^>]+>", "", plan[: plan.index("</section>")])

    assert "I gang" in plan_words()
    page = client.get(f"/ung/cases/{ref}/steps/withdraw")
    client.post(f"/ung/cases/{ref}/steps/withdraw", data={"csrf_token": _csrf(page.text)})
    words = plan_words()
    assert "I gang" not in words
    assert "Blev ikke vurderet, før forløbet sluttede" in words
    # Nor is a meeting "not booked yet", or the coordinator the one to call.
    after = re.sub(r"\s+", " ", html.unescape(client.get(f"/ung/cases/{ref}").text))
    assert "Forløbet er afsluttet, så der kommer ikke flere møder." in after
    assert "Der er ikke aftalt et møde endnu" not in after
    assert "kan du altid bede om det med knappen Jeg vil gerne have hjælp igen" in after
    assert "Forløbet sluttede, før der blev skrevet en plan." not in after  # it has one
    assert "Du kan altid ringe eller skrive til din" not in after
    citizen_runtime.accounts.create(
        "lise",
        "kode-til-lise-2026",
        display_name="Lise",
        person_id=str(COORDINATOR.id),
        roles=["coordinator"],
        municipality_code="340",
    )
    staff = TestClient(create_app(citizen_runtime), base_url="https://testserver")
    token = _csrf(staff.get("/login").text)
    staff.post(
        "/login",
        data={"username": "lise", "password": "kode-til-lise-2026", "csrf_token": token},
    )
    case_page = html.unescape(staff.get(f"/cases/{ref}").text)
    assert "Ikke vurderet, før forløbet sluttede" in case_page
    assert ">I gang<" not in case_page


def test_a_young_person_with_two_cases_tells_them_apart_on_the_list(
    citizen_runtime: Runtime, clock: Clock
) -> None:
    first = _case(citizen_runtime, EMMA)
    clock.advance(days=1)
    second = citizen_runtime.service.refer(
        "soroe", EMMA, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    client = _login(TestClient(create_app(citizen_runtime)), "emma")
    listed = client.get("/ung/", follow_redirects=False)
    assert listed.status_code == 200
    shown = html.unescape(listed.text)
    assert shown.count("Sorø Kommune") == 2
    assert f"Første samarbejdsmøde indkaldt · startet 02.03.2026 · sag {first}" in shown
    assert f"Henvist · startet 03.03.2026 · sag {second}" in shown
    assert shown.index(second) < shown.index(first)  # newest first


def test_an_address_the_young_persons_pages_do_not_have_is_a_page_not_json(
    citizen_runtime: Runtime,
) -> None:
    client = TestClient(create_app(citizen_runtime))
    for address in ("/ung/cases", "/ung/nothing-here"):
        answer = client.get(address, follow_redirects=False)
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert "Siden findes ikke" in answer.text


def test_a_consent_already_given_is_refused_in_their_language(
    citizen_runtime: Runtime,
) -> None:
    """Every department of Emma's team is covered: a yes sent again (an old page, a
    second tab) is refused in her words, and nothing is recorded."""
    ref = _case(citizen_runtime, EMMA)
    client = _login(TestClient(create_app(citizen_runtime)), "emma")
    page = client.get(f"/ung/cases/{ref}")
    assert 'data-testid="consent-ask"' not in page.text
    refused = client.post(
        f"/ung/cases/{ref}/consent",
        data={"csrf_token": _csrf(page.text), "give": "own"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert "Du har allerede sagt ja til alle afdelinger i teamet." in html.unescape(refused.text)
    assert "every department" not in refused.text
    assert len(citizen_runtime.service.view(ref, CASEWORKER).consents) == 1
    assert citizen_runtime.consents.parts(ref) == {}


def test_a_step_the_young_person_takes_is_handed_on_as_staff_steps_are(
    citizen_runtime: Runtime,
) -> None:
    """`workflow up` hands every committed step to a worker (a run of its own in Prefect);
    the young person's own steps too, not only staff's (they went out with the sweep)."""
    handed: list[StepResult] = []
    ref = _case(citizen_runtime, EMMA)
    client = _login(TestClient(create_app(citizen_runtime, on_step=handed.append)), "emma")
    form = client.get(f"/ung/cases/{ref}/steps/young_person_prepared")
    sent = client.post(
        f"/ung/cases/{ref}/steps/young_person_prepared",
        data={"csrf_token": _csrf(form.text), "my_topics": ["uddannelse"], "key": "k-1"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert [(r.reference, r.event) for r in handed] == [(ref, "young_person_prepared")]
    again = client.post(  # the same form sent twice: one step, handed on once
        f"/ung/cases/{ref}/steps/young_person_prepared",
        data={"csrf_token": _csrf(form.text), "my_topics": ["uddannelse"], "key": "k-1"},
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert len(handed) == 1


def test_the_guardian_reads_the_access_log_written_to_a_parent(citizen_runtime: Runtime) -> None:
    ref = _case(citizen_runtime, EMMA)
    emma = _login(TestClient(create_app(citizen_runtime)), "emma")
    assert emma.get(f"/ung/cases/{ref}").status_code == 200  # she reads her course
    parent = _login(TestClient(create_app(citizen_runtime)), "mor")
    assert parent.get(f"/ung/cases/{ref}").status_code == 200  # she reads it too
    log = re.sub(r"<[^>]+>", "", html.unescape(parent.get(f"/ung/cases/{ref}/log").text))
    # Not the young person's own use of her pages: a parent does not follow her visits.
    assert "Den unge læste" not in log
    # Her own reads are hers, not "a parent's" (that is what the other parent's are).
    assert "Du læste forløbet" in log
    assert "En forælder/værge læste forløbet" not in log
    assert "Sagsbehandleren skrev i forløbet" in log
    assert "Hvem har læst forløbet – og hvorfor" in log
    for addressed_to_the_young_person in ("Du selv", "Din sagsbehandler", "dit forløb"):
        assert addressed_to_the_young_person not in log
    # The young person's log shows the parent's reads: it is her course.
    own = re.sub(r"<[^>]+>", "", html.unescape(emma.get(f"/ung/cases/{ref}/log").text))
    assert "Din forælder/værge læste dit forløb" in own
    assert "Du selv læste dit forløb" in own
    # Why, in the reader's words: her own page is hers, a parent's read their own access
    # (it said "Den unges egen side" to her of her own reads, as staff's log says it).
    assert "Hvorfor: Din egen side" in own
    assert "Hvorfor: Egen adgang med MitID" in own
    assert "Hvorfor: Din egen side" in log
    assert "Den unges egen side" not in own + log


def test_ending_the_course_is_explained_and_confirmed_in_the_young_persons_words(
    citizen_runtime: Runtime,
) -> None:
    ref = _case(citizen_runtime, EMMA)
    client = _login(TestClient(create_app(citizen_runtime)), "emma")
    page = client.get(f"/ung/cases/{ref}/steps/withdraw")
    assert page.status_code == 200
    words = re.sub(r"<[^>]+>", "", html.unescape(page.text))
    assert "<h1>Jeg vil stoppe forløbet</h1>" in page.text  # hers, not "Den unge stopper ..."
    assert "Den unge stopper forløbet" not in words
    # As her course stands: her tovholder is chosen and the first meeting is booked; a
    # course before its pre-meeting has neither (it said both would be told and cancelled).
    assert (
        "Når du stopper, afsluttes dit forløb, og din tovholder og din sagsbehandler får "
        "besked. Dine aftalte møder bliver aflyst. Du kan altid blive henvist igen senere." in words
    )
    before = _case(citizen_runtime, EMMA, meeting=False)  # no coordinator, no meeting
    early = re.sub(
        r"<[^>]+>", "", html.unescape(client.get(f"/ung/cases/{before}/steps/withdraw").text)
    )
    assert "og din sagsbehandler får besked. Du kan altid blive henvist igen" in early
    assert "Ja, stop mit forløb" in words
    assert f'href="/ung/cases/{ref}">Nej, fortsæt forløbet' in page.text
    answer = client.post(
        f"/ung/cases/{ref}/steps/withdraw",
        data={"csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert citizen_runtime.service.view(ref, CASEWORKER).stage == "withdrawn"
    # Said as what it was (it read "Tak! Det er gemt ..."), with the way back on the page.
    assert answer.headers["location"] == f"/ung/cases/{ref}?notice=ended"
    ended = html.unescape(client.get(answer.headers["location"]).text)
    assert "Dit forløb er stoppet, og kommunen har fået besked." in ended
    assert "Jeg vil gerne have hjælp igen" in ended
    assert "kontakt kommunen" not in ended
    # Her mother reads of the course in the third person.
    parent = _login(TestClient(create_app(citizen_runtime)), "mor")
    other = _case(citizen_runtime, replace(EMMA, cpr="0101104322"))
    said = html.unescape(parent.get(f"/ung/cases/{other}/steps/withdraw").text)
    assert "Den unge kan altid blive henvist igen senere." in said
    assert "Ja, stop forløbet" in said


def test_a_course_her_mother_ended_says_who_ended_it(citizen_runtime: Runtime) -> None:
    """The stage is named "Afbrudt af den unge", which is not true when her mother ended
    the course: each of them reads who did, in their own words, and the lists say
    "Stoppet"."""
    ref = _case(citizen_runtime, EMMA)
    parent = _login(TestClient(create_app(citizen_runtime)), "mor")
    page = parent.get(f"/ung/cases/{ref}/steps/withdraw")
    ended = parent.post(
        f"/ung/cases/{ref}/steps/withdraw",
        data={"csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    assert citizen_runtime.service.view(ref, CASEWORKER).stage == "withdrawn"
    hers = re.sub(r"<[^>]+>", "", html.unescape(parent.get(f"/ung/cases/{ref}").text))
    assert "Du stoppede forløbet" in hers
    emma = _login(TestClient(create_app(citizen_runtime)), "emma")
    own = re.sub(r"<[^>]+>", "", html.unescape(emma.get(f"/ung/cases/{ref}").text))
    assert "Din forælder/værge stoppede forløbet" in own
    for words in (hers, own):
        assert "Afbrudt af den unge" not in words
    # Her consent card says what a yes means once the course has ended.
    assert "Dit forløb er afsluttet, så der deles ikke noget nyt." in own
    assert "Forløbet er afsluttet, så der deles ikke noget nyt." in hers
    # The bar is a parent's (it said "Mit forløb" to her mother too).
    assert "Mit barns forløb" in hers
    assert "Mit barns forløb" not in own
    # Her log says why she wrote in the course as what it was, not "Den unge stopper".
    log = re.sub(r"<[^>]+>", "", html.unescape(parent.get(f"/ung/cases/{ref}/log").text))
    assert "Du skrev i forløbet" in log
    assert "Hvorfor: Forløbet blev stoppet" in log
    assert "Den unge stopper forløbet" not in log
    # Ended by her tovholder: said in Sorø's word for the coordinator.
    third = _case(citizen_runtime, replace(EMMA, cpr="0101104323"))
    citizen_runtime.service.trigger(third, "withdraw", {}, COORDINATOR)
    ended = re.sub(r"<[^>]+>", "", html.unescape(parent.get(f"/ung/cases/{third}").text))
    assert "Tovholderen stoppede forløbet" in ended
    # A course the young person ends herself is hers to have ended.
    other = _case(citizen_runtime, replace(EMMA, cpr="0101104322"))
    jonas = _login(TestClient(create_app(citizen_runtime)), "mor")
    form = jonas.get(f"/ung/cases/{other}/steps/withdraw")
    jonas.post(f"/ung/cases/{other}/steps/withdraw", data={"csrf_token": _csrf(form.text)})
    listed = re.sub(r"<[^>]+>", "", html.unescape(jonas.get("/ung/").text))
    assert "Stoppet" in listed
    assert "Afbrudt af den unge" not in listed


def test_a_paused_course_says_so_and_offers_no_calendar_for_its_meeting(
    citizen_runtime: Runtime,
) -> None:
    """Paused by the caseworker (treatment): her page says the course is paused and when
    it is expected to resume; the booked meeting is not held meanwhile (no calendar
    entry offered); the caseworker's reason is not shown as something she wrote."""
    ref = _case(citizen_runtime, EMMA)
    inputs = {"pause_reason": "treatment", "expected_resume": "2026-05-01"}
    citizen_runtime.service.trigger(ref, "pause", inputs, CASEWORKER)
    emma = _login(TestClient(create_app(citizen_runtime)), "emma")
    page = html.unescape(emma.get(f"/ung/cases/{ref}").text)
    words = re.sub(r"<[^>]+>", "", page)
    assert "Dit forløb er sat på pause" in words
    assert "Forventes genoptaget fredag den 1. maj 2026." in words
    assert "tirsdag den 17. marts 2026 kl. 09.00" in words  # still booked
    citizen_runtime.service.trigger(
        ref, "move_meeting", {"moved_to": "2026-03-19T09:00"}, CASEWORKER
    )  # a step in the pause: the day expected stays
    words = re.sub(r"<[^>]+>", "", html.unescape(emma.get(f"/ung/cases/{ref}").text))
    assert "Forventes genoptaget fredag den 1. maj 2026." in words
    assert "torsdag den 19. marts 2026 kl. 09.00" in words
    assert "Mødet holdes ikke, mens dit forløb er på pause." in words
    assert "meeting.ics" not in page
    assert "Behandling eller indlæggelse" not in words  # the caseworker's, not hers
    assert "Den dag er gået" not in words
    # Her own pause, and her own answer while it lasts; gone from her page once resumed.
    citizen_runtime.service.trigger(ref, "resume", {}, CASEWORKER)
    form = emma.get(f"/ung/cases/{ref}/steps/pause")
    # What a pause means, said before she sends it (a bare "Send" button before).
    assert "holdes der ingen møder, før det bliver genoptaget" in html.unescape(form.text)
    # The date picker offers no day gone (the step refuses one: min 0 days from today).
    assert 'name="expected_resume" value="" min="2026-03-02"' in form.text
    sent = emma.post(
        f"/ung/cases/{ref}/steps/pause",
        data={"csrf_token": _csrf(form.text), "pause_reason": "young_person_wishes"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    # A pause is told to her whole team, and the notice says so (it said "din tovholder").
    assert sent.headers["location"].endswith("?notice=saved_team")
    told = html.unescape(emma.get(sent.headers["location"]).text)
    assert "Tak! Det er gemt, og dit team får besked." in told
    hers = re.sub(r"<[^>]+>", "", html.unescape(emma.get(f"/ung/cases/{ref}").text))
    assert "Hvorfor pause? Ønske om en pause" in hers
    assert "Forventes genoptaget" not in hers  # none given
    # A meeting moved in her pause is a step in it, not the one that paused: her answer
    # stays (it was gone from her page, with the day expected, after the move).
    citizen_runtime.service.trigger(
        ref, "move_meeting", {"moved_to": "2026-03-24T09:00"}, CASEWORKER
    )
    moved = re.sub(r"<[^>]+>", "", html.unescape(emma.get(f"/ung/cases/{ref}").text))
    assert "Hvorfor pause? Ønske om en pause" in moved
    assert "Dit forløb er sat på pause" in moved
    citizen_runtime.service.trigger(ref, "resume", {}, CASEWORKER)
    resumed = html.unescape(emma.get(f"/ung/cases/{ref}").text)
    assert "Hvorfor pause?" not in resumed
    assert "sat på pause" not in resumed
    assert "meeting.ics" in resumed
    # A later pause the caseworker began does not show her reason for the earlier one.
    citizen_runtime.service.trigger(
        ref, "pause", {"pause_reason": "other", "pause_other": "Flytning"}, CASEWORKER
    )
    again = html.unescape(emma.get(f"/ung/cases/{ref}").text)
    assert "sat på pause" in again
    assert "Hvorfor pause?" not in again


def test_her_pause_for_something_else_asks_what_and_her_page_says_her_words(
    citizen_runtime: Runtime,
) -> None:
    """The pause form's "Hvad er anledningen?" is not marked optional to her (a rule asks
    for it when she chooses Andet, as its help says; the day expected stays optional), and
    what she wrote there is on her page while her pause lasts, under what she has written
    (only her choices were: "Andet" without what for)."""
    ref = _case(citizen_runtime, EMMA)
    emma = _login(TestClient(create_app(citizen_runtime)), "emma")
    form = emma.get(f"/ung/cases/{ref}/steps/pause")
    labels = re.sub(r"<[^>]+>", "", html.unescape(form.text))
    assert "kan din tovholder" not in labels  # a pause is not hers alone: not said there
    assert "Hvad er anledningen? (frivilligt)" not in labels
    assert "Hvad er anledningen?" in labels
    assert "Forventet genoptagelse (frivilligt)" in labels
    refused = emma.post(
        f"/ung/cases/{ref}/steps/pause",
        data={"csrf_token": _csrf(form.text), "pause_reason": "other"},
    )
    assert refused.status_code == 422
    assert "når du har valgt Andet" in html.unescape(refused.text)
    sent = emma.post(
        f"/ung/cases/{ref}/steps/pause",
        data={
            "csrf_token": _csrf(refused.text),
            "pause_reason": "other",
            "pause_other": "  Jeg skal flytte  ",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    words = re.sub(r"<[^>]+>", "", html.unescape(emma.get(f"/ung/cases/{ref}").text))
    mine = words.split("Det har jeg skrevet", 1)[1]
    assert "Hvorfor pause? Andet" in mine
    assert "Hvad er anledningen? Jeg skal flytte" in mine
    citizen_runtime.service.trigger(ref, "resume", {}, CASEWORKER)
    resumed = html.unescape(emma.get(f"/ung/cases/{ref}").text)
    assert "Jeg skal flytte" not in resumed  # a pause's words, said while it lasts


def test_her_page_says_when_the_day_her_course_was_expected_to_resume_has_passed(
    citizen_runtime: Runtime, clock: Clock
) -> None:
    ref = _case(citizen_runtime, EMMA)
    inputs = {"pause_reason": "treatment", "expected_resume": "2026-03-10"}
    citizen_runtime.service.trigger(ref, "pause", inputs, CASEWORKER)
    emma = _login(TestClient(create_app(citizen_runtime)), "emma")
    words = re.sub(r"<[^>]+>", "", html.unescape(emma.get(f"/ung/cases/{ref}").text))
    assert "Forventes genoptaget tirsdag den 10. marts 2026." in words
    assert "Den dag er gået" not in words
    clock.now = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
    emma = _login(TestClient(create_app(citizen_runtime)), "emma")
    words = re.sub(r"<[^>]+>", "", html.unescape(emma.get(f"/ung/cases/{ref}").text))
    assert (
        "Forventes genoptaget tirsdag den 10. marts 2026. "
        "Den dag er gået, og forløbet er stadig på pause."
    ) in words


def test_her_notice_does_not_say_a_team_no_consent_covers_was_told(
    citizen_runtime: Runtime,
) -> None:
    """A pause is told to the team: with no consent covering it, its mails are withheld,
    and her notice said "dit team får besked" all the same. Her coordinator is told (a
    pause tells them too), and the notice says so."""
    ref = _case(citizen_runtime, EMMA, consent=False)
    emma = _login(TestClient(create_app(citizen_runtime)), "emma")
    form = emma.get(f"/ung/cases/{ref}/steps/pause")
    assert form.status_code == 200
    sent = emma.post(
        f"/ung/cases/{ref}/steps/pause",
        data={"csrf_token": _csrf(form.text), "pause_reason": "other", "pause_other": "Flytning"},
        follow_redirects=False,
    )
    assert sent.headers["location"].endswith("?notice=saved")
    told = html.unescape(emma.get(sent.headers["location"]).text)
    assert "dit team får besked" not in told
    assert "Tak! Det er gemt, og din tovholder får besked.</p>" in told


def test_a_meeting_whose_time_has_passed_is_not_said_to_be_unbooked(
    citizen_runtime: Runtime, clock: Clock
) -> None:
    """After the first meeting's time, before the coordinator writes it in: her page said
    "Der er ikke aftalt et møde endnu" under a stage saying the meeting was called."""
    ref = _case(citizen_runtime, EMMA)
    clock.now = clock.now.replace(month=3, day=17, hour=12)  # the meeting was at 09:00
    emma = _login(TestClient(create_app(citizen_runtime)), "emma")
    words = re.sub(r"<[^>]+>", "", html.unescape(emma.get(f"/ung/cases/{ref}").text))
    assert "Første samarbejdsmøde tirsdag den 17. marts 2026 kl. 09.00 er overstået." in words
    assert "Der er ikke aftalt et møde endnu" not in words


def test_an_adult_young_persons_own_yes_is_the_consent(citizen_runtime: Runtime) -> None:
    """Jonas is 21: no parent's yes is needed, so his own is recorded as the consent at
    once, given by him alone, and the team's departments are shared with."""
    ref = _case(citizen_runtime, JONAS, consent=False)
    client = _login(TestClient(create_app(citizen_runtime)), "jonas")
    page = client.get(f"/ung/cases/{ref}")
    asked = html.unescape(page.text)
    assert "Disse i dit team får ikke oplysninger om dit forløb, før du har sagt ja:" in asked
    assert "Giv mit samtykke" in asked
    given = client.post(
        f"/ung/cases/{ref}/consent",
        data={"csrf_token": _csrf(page.text), "give": "own"},
        follow_redirects=False,
    )
    assert given.headers["location"].endswith("?notice=consent_given")
    consents = citizen_runtime.service.view(ref, CASEWORKER).consents
    assert [c["given_by"] for c in consents] == [["young_person"]]
    assert sorted(d["department"] for d in consents[0]["departments"]) == ["skole", "uu"]
    after = html.unescape(client.get(f"/ung/cases/{ref}?notice=consent_given").text)
    assert "Dit samtykke er gemt." in after
    assert "Du har sagt ja til, at disse afdelinger må dele oplysninger" in after
    assert 'data-testid="consent-ask"' not in after
    assert "samtykket mangler" not in after


def test_a_parents_list_says_whose_course_each_is(citizen_runtime: Runtime, clock: Clock) -> None:
    """Mette follows two courses: her daughter's and her son's. Her list names whose each
    is (it said "Sorø Kommune · som forælder" twice), and is not called hers."""
    first = _case(citizen_runtime, EMMA)
    clock.advance(days=1)
    jonas = YoungPersonDetails(
        "Jonas Ung", "050509-4321", date(2009, 5, 5), guardians=EMMA.guardians
    )
    second = citizen_runtime.service.refer(
        "soroe", jonas, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    parent = _login(TestClient(create_app(citizen_runtime)), "mor")
    shown = html.unescape(parent.get("/ung/", follow_redirects=False).text)
    assert "<h1>Forløb, du følger</h1>" in shown
    assert "Emmas forløb – Sorø Kommune" in shown
    assert "Jonas' forløb – Sorø Kommune" in shown
    assert shown.index(second) < shown.index(first)
    assert "Emma Ung" not in shown  # a first name only
    # Whose each is says she follows it: no "som forælder" after the municipality's
    # name (it read as if the municipality were the parent).
    assert 'Sorø Kommune</a>\n  <span class="tag">' not in shown
    assert "som forælder</span>" not in shown
    english = html.unescape(parent.get("/ung/?lang=en", follow_redirects=False).text)
    assert "<h1>Courses you follow</h1>" in english
    assert "Emma's course – Sorø Kommune" in english


def test_her_preparation_opens_with_what_she_gave_until_the_meeting_is_held(
    citizen_runtime: Runtime, clock: Clock
) -> None:
    """Reopening "Jeg har forberedt mig til mødet" to add a topic showed an empty form:
    now it opens with her last answers while they are for the meeting to come, and
    empty once that meeting is held (the next preparation is for another meeting)."""
    ref = _case(citizen_runtime, EMMA)
    client = _login(TestClient(create_app(citizen_runtime)), "emma")
    address = f"/ung/cases/{ref}/steps/young_person_prepared"
    first = client.get(address)
    assert "checked" not in first.text
    # The star is explained, and said to a screen reader (it was hidden from it).
    assert "Spørgsmål med * skal besvares." in html.unescape(first.text)
    assert '<span class="visually-hidden"> (skal udfyldes)</span></legend>' in first.text
    client.post(
        address,
        data={
            "csrf_token": _csrf(first.text),
            "my_topics": ["uddannelse", "bolig"],
            "my_wishes": "Jeg vil tale om skolen\nog om at flytte",
        },
    )
    again = html.unescape(client.get(address).text)
    assert re.search(r'value="uddannelse" checked', again)
    assert re.search(r'value="bolig" checked', again)
    assert not re.search(r'value="fritid" checked', again)
    assert ">Jeg vil tale om skolen\nog om at flytte</textarea>" in again
    clock.advance(days=16)  # the first meeting (17 March) is held; the next after it
    held = FIRST_MEETING | {"next_meeting_at": "2026-03-26T09:00:00"}
    citizen_runtime.service.trigger(ref, "hold_first_meeting", held, COORDINATOR)
    after = html.unescape(client.get(address).text)
    assert "checked" not in after
    assert "Jeg vil tale om skolen" not in after


def test_asking_for_help_again_twice_opens_one_new_course(citizen_runtime: Runtime) -> None:
    """Each click on "Jeg vil gerne have hjælp igen" on the ended course started another
    new course (three Sorø courses on her list, a "referred again" task for each)."""
    ref = _case(citizen_runtime, EMMA, meeting=False)
    client = _login(TestClient(create_app(citizen_runtime)), "emma")
    page = client.get(f"/ung/cases/{ref}/steps/withdraw")
    client.post(f"/ung/cases/{ref}/steps/withdraw", data={"csrf_token": _csrf(page.text)})
    ended = client.get(f"/ung/cases/{ref}").text
    first = client.post(
        f"/ung/cases/{ref}/come-back", data={"csrf_token": _csrf(ended)}, follow_redirects=False
    )
    assert first.status_code == 303
    new = first.headers["location"].split("/ung/cases/", 1)[1].split("?", 1)[0]
    assert new != ref
    again = client.post(
        f"/ung/cases/{ref}/come-back", data={"csrf_token": _csrf(ended)}, follow_redirects=False
    )
    assert again.headers["location"] == f"/ung/cases/{new}?notice=still_open"
    told = html.unescape(client.get(again.headers["location"]).text)
    assert "Du har allerede bedt om hjælp igen: det er dette forløb." in told
    # The ended course, stopped before its first meeting, says no plan was written (it
    # said the plan "is written with you at the first meeting").
    stopped = re.sub(r"\s+", " ", html.unescape(ended))
    assert "Forløbet sluttede, før der blev skrevet en plan." in stopped
    assert "Planen skrives sammen med dig på det første møde." not in stopped
    with citizen_runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 2  # not three


def test_asking_for_help_again_goes_on_without_a_phone_number_no_sms_can_go_to(
    citizen_runtime: Runtime,
) -> None:
    """A number the referral took before the service checked them ("+45 12 34 56 78") is
    refused now: her "Jeg vil gerne have hjælp igen" failed on it, and she cannot mend it.
    The new course goes on without it."""
    ref = _case(citizen_runtime, EMMA, meeting=False)
    with citizen_runtime.sessions() as session, session.begin():
        session.execute(update(YoungPerson).values(phone="+45 12 34 56 78"))
    citizen_runtime.service.trigger(ref, "withdraw", {}, CASEWORKER)
    client = _login(TestClient(create_app(citizen_runtime)), "emma")
    ended = client.get(f"/ung/cases/{ref}").text
    asked = client.post(
        f"/ung/cases/{ref}/come-back", data={"csrf_token": _csrf(ended)}, follow_redirects=False
    )
    assert asked.status_code == 303, asked.text
    with citizen_runtime.sessions() as session:
        phones = session.scalars(select(YoungPerson.phone).order_by(YoungPerson.id)).all()
    assert phones[-1] is None


def test_a_move_withheld_while_withdrawn_is_what_reinvites_her(
    citizen_runtime: Runtime,
) -> None:
    """Moved while the school's consent was withdrawn, the update to the teacher was
    withheld; given again, the consent releases that update, and she is not also sent
    the invitation again (two messages of one meeting)."""
    ref = _case(citizen_runtime, EMMA)
    citizen_runtime.consents.withdraw(ref, CASEWORKER, ["skole"])
    citizen_runtime.service.trigger(
        ref, "move_meeting", {"moved_to": "2026-03-19T09:00"}, CASEWORKER
    )
    citizen_runtime.deliverer.drain()
    citizen_runtime.consents.give(
        ref, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True)
    )
    with citizen_runtime.sessions() as session:
        again = session.scalars(
            select(OutboxRow).where(OutboxRow.template == "meeting_invited_again")
        ).all()
    entry = _last_consent_entry(citizen_runtime, ref)
    assert again == []
    assert entry.details["released"] >= 1
    assert "invited_again" not in entry.details


def test_a_meeting_moved_after_a_withdrawal_names_no_attendee_of_that_department(
    citizen_runtime: Runtime,
) -> None:
    """The school's consent withdrawn, the meeting is moved: its update to the others no
    longer names the school's mailbox among the attendees (she is not invited: her update
    is withheld); the consent given again, the next update names her again."""
    ref = _case(citizen_runtime, EMMA)
    citizen_runtime.deliverer.drain()
    citizen_runtime.consents.withdraw(ref, CASEWORKER, ["skole"])

    def attendees_after_move(to: str) -> set[str]:
        before = set((citizen_runtime.settings.home / "mail").rglob("*.eml"))
        citizen_runtime.service.trigger(ref, "move_meeting", {"moved_to": to}, CASEWORKER)
        citizen_runtime.deliverer.drain()
        sent = sorted(set((citizen_runtime.settings.home / "mail").rglob("*.eml")) - before)
        found: set[str] = set()
        for path in sent:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if "uu@soroe.example" not in str(message["To"]):
                continue
            for part in message.walk():
                if part.get_content_type() == "text/calendar":
                    event = next(iter(Calendar.from_ical(part.get_content()).walk("VEVENT")))
                    found |= {str(a).removeprefix("mailto:") for a in event["ATTENDEE"]}
        return found

    moved = attendees_after_move("2026-03-19T09:00")
    assert "uu@soroe.example" in moved
    assert "skole@soroe.example" not in moved
    citizen_runtime.consents.give(
        ref, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True)
    )
    assert "skole@soroe.example" in attendees_after_move("2026-03-26T09:00")


@pytest.mark.parametrize("delivered_after", ["", "1", "2", "3", "13", "23", "123"])
def test_a_consent_withdrawn_given_withdrawn_and_given_again_leaves_her_invited(
    citizen_runtime: Runtime, clock: Clock, delivered_after: str
) -> None:
    """The school's consent withdrawn (1), given (2), withdrawn again (3) and given again,
    the delivery worker running after some of these: the teacher's calendar ends with the
    meeting (the last message she gets invites her), and she never gets the same kind of
    message twice in a row. Delivered only at the end, the second withdrawal's
    cancellation went after the invitation sent again: her calendar kept the meeting
    cancelled while the consent covered her; delivered after the second withdrawal, she
    got two cancellations in a row."""
    ref = _case(citizen_runtime, EMMA)
    citizen_runtime.deliverer.drain()  # the invitation reaches her

    def then(step: str) -> None:
        if step in delivered_after:
            citizen_runtime.deliverer.drain()
        clock.advance(minutes=5)

    school = ConsentRequest(["skole"], ["education"], guardian=True)
    citizen_runtime.consents.withdraw(ref, CASEWORKER, ["skole"])
    then("1")
    citizen_runtime.consents.give(ref, CASEWORKER, school)
    then("2")
    citizen_runtime.consents.withdraw(ref, CASEWORKER, ["skole"])
    then("3")
    citizen_runtime.consents.give(ref, CASEWORKER, school)
    citizen_runtime.deliverer.drain()
    with citizen_runtime.sessions() as session:
        sent = session.execute(
            select(OutboxRow.template)
            .where(
                OutboxRow.recipient["person"].as_string() == "laerer-anna",
                OutboxRow.state == "sent",
            )
            .order_by(OutboxRow.sent_at, OutboxRow.id)
        ).all()
    said = ["out" if t == "meeting_uninvited" else "in" for (t,) in sent]
    assert said[-1] == "in", sent
    assert all(a != b for a, b in pairwise(said)), sent


def test_a_withdrawal_before_the_invitation_went_out_sends_neither_cancellation_nor_two_invitations(
    citizen_runtime: Runtime,
) -> None:
    """Withdrawn before the delivery worker sent the teacher's invitation: she was sent a
    cancellation of a meeting she had never heard of, and on the consent given again
    both the released invitation and "Du er inviteret igen"."""
    ref = _case(citizen_runtime, EMMA)  # the invitation is queued, not sent
    citizen_runtime.consents.withdraw(ref, CASEWORKER, ["skole"])
    citizen_runtime.deliverer.drain()  # withheld from her now
    citizen_runtime.consents.give(
        ref, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True)
    )
    with citizen_runtime.sessions() as session:
        templates = session.scalars(
            select(OutboxRow.template).where(
                OutboxRow.recipient["person"].as_string() == "laerer-anna"
            )
        ).all()
    assert "meeting_uninvited" not in templates
    assert "meeting_invited_again" not in templates
