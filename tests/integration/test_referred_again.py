"""A young person referred while a course of theirs is open: its caseworker is given a task.

The referral is accepted as always (the referring person learns nothing of the other
course); the caseworker of each course already open for the same young person in the
same municipality gets a task on that course naming the new one, on every way in.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from workflow.cases.model import Referral, YoungPersonDetails
from workflow.cases.referred_again import TASK_KEY
from workflow.engine.model import Actor
from workflow.runtime import Runtime
from workflow.store.tables import AuditEntry, Case, CaseTask
from workflow.web.privacy_pages import purpose_words

METTE = Actor("caseworker", "cw-mette")
LARS = Actor("caseworker", "cw-lars")
FREJA = YoungPersonDetails("Freja Testesen", "0101104321", date(2010, 1, 1))
OTHER = YoungPersonDetails("Jonas Andersen", "0303054321", date(2005, 3, 3))


def _refer(runtime: Runtime, person: YoungPersonDetails, actor: Actor, where: str = "soroe") -> str:
    inputs = {"source": "school", "caseworker": actor.id}
    return runtime.service.refer(where, person, actor, inputs).reference


def _told(runtime: Runtime, reference: str) -> list[CaseTask]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(CaseTask)
                .join(Case, Case.id == CaseTask.case_id)
                .where(Case.reference == reference, CaseTask.key == TASK_KEY)
                .order_by(CaseTask.id)
            )
        )


def test_the_caseworker_of_the_open_course_is_told_of_the_new_referral(runtime: Runtime) -> None:
    for username, name in (("mette", "Mette Sagsbehandler"), ("lars", "Lars Sagsbehandler")):
        runtime.accounts.create(
            username,
            "kode-til-sorø-2026",
            display_name=name,
            person_id=f"cw-{username}",
            roles=["caseworker"],
            municipality_code="340",
        )
    first = _refer(runtime, FREJA, METTE)
    _refer(runtime, OTHER, METTE)  # another young person: nobody is told
    assert _told(runtime, first) == []
    second = _refer(runtime, FREJA, LARS)  # Freja again, by Lars: accepted as always

    (task,) = _told(runtime, first)
    assert task.person == "cw-mette"  # the first course's caseworker, on her worklist
    assert task.state == "open"
    assert task.title == (
        f"Den unge er henvist igen: {second} (sagsbehandler: Lars Sagsbehandler) – aftal med "
        "sagsbehandleren, hvilket forløb der fortsætter"
    )
    assert [t.title for t in runtime.tasks.worklist("cw-mette") if t.reference == first] == [
        task.title
    ]
    assert _told(runtime, second) == []  # the new course is told nothing of the old
    assert runtime.tasks.worklist("cw-lars") == []
    with runtime.sessions() as session:
        audited = session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == first, AuditEntry.purpose == "den unge er henvist igen"
            )
        ).all()
    assert [(a.actor, a.details) for a in audited] == [
        ("system:referral", {"task": TASK_KEY, "referral": second})
    ]
    # The access log (the staff's and the young person's) says why, in the reader's words:
    soroe = runtime.catalog.by_id("soroe")
    assert purpose_words(soroe, audited[0].purpose, "en") == "The young person was referred again"
    assert purpose_words(soroe, "opgave løst", "da") == "Opgave løst"  # as the others are


def test_only_open_courses_of_the_same_municipality_are_told(runtime: Runtime) -> None:
    ended = _refer(runtime, FREJA, METTE)
    declined = {"decline_reason": "young_person_declines"}
    runtime.service.trigger(ended, "decline_referral", declined, METTE)
    elsewhere = _refer(runtime, FREJA, Actor("caseworker", "cw-bo"), "ballerup")
    _refer(runtime, FREJA, METTE)  # Sorø again: the course that ended is not told
    assert _told(runtime, ended) == []
    assert _told(runtime, elsewhere) == []  # another municipality's course never is


def test_a_file_with_the_young_person_twice_tells_the_first_course(runtime: Runtime) -> None:
    inputs = {"source": "school", "caseworker": "cw-mette"}
    results = runtime.service.refer_many(
        [Referral("soroe", FREJA, METTE, inputs), Referral("soroe", FREJA, METTE, inputs)]
    )
    first, second = (r.reference for r in results)  # type: ignore[union-attr]
    assert [t.title.split(" (")[0] for t in _told(runtime, first)] == [
        f"Den unge er henvist igen: {second}"
    ]
    assert _told(runtime, second) == []


def test_only_the_caseworker_who_was_told_sees_the_task(runtime: Runtime) -> None:
    """The new referral is the told caseworker's to act on: the first course's coordinator
    and team (the school teacher who may well have referred the young person again) see
    the case and its other tasks, not that one — on the case page's view, the API's case
    and the case's task list alike."""
    from tests.support.case_api import ACCEPT, COORDINATOR, PRE_MEETING
    from workflow.privacy.consents import ConsentRequest

    first = _refer(runtime, FREJA, METTE)
    runtime.service.trigger(first, "accept_referral", ACCEPT, METTE)
    runtime.consents.give(
        first, METTE, ConsentRequest(["skole", "uu"], ["education"], guardian=True)
    )
    runtime.service.trigger(first, "hold_pre_meeting", PRE_MEETING, METTE)
    second = _refer(runtime, FREJA, LARS)
    (told,) = _told(runtime, first)
    teacher = Actor("team_member", "laerer-anna")

    def titles(view_tasks: list[dict[str, object]]) -> list[object]:
        return [t["title"] for t in view_tasks]

    assert told.title in titles(runtime.service.view(first, METTE, "test").tasks)
    assert told.title in [t.title for t in runtime.tasks.case_tasks(first, METTE)]
    for other in (teacher, COORDINATOR):
        seen = titles(runtime.service.view(first, other, "test").tasks)
        assert seen  # the step's own tasks (Sorø: confirm taking part) are still there
        assert told.title not in seen
        assert second not in str(seen)
        assert told.title not in [t.title for t in runtime.tasks.case_tasks(first, other)]
