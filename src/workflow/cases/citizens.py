"""What the young person and their guardian do on their own page, through the services.

A citizen acts on a case only as what they are on it: its young person, or a guardian of a
minor. Their steps go through the case service like everyone's (the same standing check,
the same audit); a case that is not theirs is answered exactly as a missing case, and the
attempt is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from workflow.cases.model import GuardianDetails, StepResult, YoungPersonDetails
from workflow.cases.referral_checks import usable_email, usable_phone
from workflow.cases.service import CaseService
from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.vocabulary import CaseRole, StageKind
from workflow.engine.access import guardian_actor, young_person_actor
from workflow.engine.model import Actor
from workflow.engine.steps import next_steps
from workflow.errors import CaseNotFoundError, NotAllowedError, WorkflowError
from workflow.privacy.audit import AuditService, ShownAccessLog
from workflow.privacy.citizen_sessions import Citizen, CitizenSessions
from workflow.privacy.consents import ConsentService, PartGiven
from workflow.store.audit import AuditAction, AuditObject, write_audit
from workflow.store.citizens import CitizenCase, citizen_details
from workflow.store.reading import CaseView
from workflow.store.unit_of_work import UnitOfWork

#: What the audit log says a citizen's own reads are for.
OWN_CASE = "den unges egen side"


def departments_without_consent(view: CaseView) -> list[str]:
    """The team's departments no consent has covered yet (a guardian may give it).

    A department whose consent was withdrawn is not among them: the young person took
    that yes back, and a parent's consent does not give it again.
    """
    named = {d["department"] for given in view.consents for d in given["departments"]}
    return sorted({m["department"] for m in view.team} - named)


def departments_consented(view: CaseView) -> set[str]:
    """The departments a consent in force covers (they may be told of the course)."""
    return {
        d["department"]
        for given in view.consents
        if not given.get("withdrawn_at")
        for d in given["departments"]
        if not d.get("withdrawn_at")
    }


def departments_withdrawn(view: CaseView) -> frozenset[str]:
    """The departments a consent named whose consent has since been withdrawn, and that no
    consent in force covers: their team members are no longer part of the course."""
    named: set[str] = set()
    active: set[str] = set()
    for given in view.consents:
        for d in given["departments"]:
            named.add(d["department"])
            if not given.get("withdrawn_at") and not d.get("withdrawn_at"):
                active.add(d["department"])
    return frozenset(named - active)


class StillOpenError(WorkflowError):
    """The young person asks for help again while a course of theirs is still open."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"a course is still open: {reference}")
        self.reference = reference


@dataclass(frozen=True)
class CitizenPage:
    """One case as its young person or guardian sees it, and the steps they may take."""

    membership: CitizenCase
    view: CaseView
    definition: Definition
    steps: list[Transition]
    #: The yeses given and waiting for another's: department -> parties who gave theirs.
    consent_parts: dict[str, set[str]] = field(default_factory=dict)

    @property
    def is_guardian(self) -> bool:
        """Whether the reader is a guardian (who does not see the young person's own words)."""
        return self.membership.role is CaseRole.GUARDIAN


class CitizenService:
    """The citizen's page: read, take their own steps, consent, access log, come back."""

    def __init__(
        self,
        uow: UnitOfWork,
        cases: CaseService,
        consents: ConsentService,
        audit: AuditService,
        logins: CitizenSessions,
    ) -> None:
        self.uow = uow
        self.cases = cases
        self.consents = consents
        self.audit = audit
        self.logins = logins

    def my_cases(self, citizen: Citizen) -> list[tuple[CitizenCase, Definition]]:
        """The citizen's cases, newest first, each with the definition it follows (its
        municipality and stage names tell the cases apart on the citizen's list)."""
        cases = self.logins.cases(citizen)
        with self.uow.reading() as session:
            return [
                (case, self.uow.catalog.pinned(session, case.definition_version_id))
                for case in cases
            ]

    def membership(self, citizen: Citizen, reference: str) -> CitizenCase:
        """The citizen's place on the case, or CaseNotFoundError (audited) if not theirs."""
        for case in self.logins.cases(citizen):
            if case.reference == reference:
                return case
        with self.uow.transaction() as session:
            write_audit(
                session,
                at=self.uow.clock(),
                actor=citizen.audit_name,
                action=AuditAction.REFUSED,
                object_type=AuditObject.CASE,
                object_id=reference[:64],
                purpose=OWN_CASE,
                details={"reason": "not the citizen's case"},
            )
        raise CaseNotFoundError(f"no case {reference}")

    @staticmethod
    def actor(membership: CitizenCase) -> Actor:
        """The citizen acting on this case: as its young person, or as a guardian."""
        if membership.role is CaseRole.GUARDIAN and membership.guardian_id is not None:
            return Actor(CaseRole.GUARDIAN, guardian_actor(membership.guardian_id))
        return Actor(CaseRole.YOUNG_PERSON, young_person_actor(membership.reference))

    def page(self, citizen: Citizen, reference: str) -> CitizenPage:
        """The case, read as the citizen (logged like every read)."""
        membership = self.membership(citizen, reference)
        view = self.cases.view(reference, self.actor(membership), OWN_CASE, channel="citizen")
        definition = self.cases.definition(view.definition_version_id)
        steps = next_steps(definition, view.stage, [membership.role.value])
        return CitizenPage(membership, view, definition, steps, self.consents.parts(reference))

    def take_step(
        self,
        citizen: Citizen,
        reference: str,
        event: str,
        inputs: dict[str, Any],
        idempotency_key: str | None = None,
    ) -> StepResult:
        """One of the citizen's own steps (the service checks their standing again)."""
        membership = self.membership(citizen, reference)
        return self.cases.trigger(
            reference, event, inputs, self.actor(membership), idempotency_key=idempotency_key
        )

    def withdraw_consent(self, citizen: Citizen, reference: str, department: str) -> list[str]:
        """Stop sharing the case with one department."""
        membership = self.membership(citizen, reference)
        return self.consents.withdraw(reference, self.actor(membership), [department])

    def give_consent(self, citizen: Citizen, reference: str) -> PartGiven:
        """The young person's or a guardian's own yes to sharing with the team's
        departments that no consent covers yet. It is recorded as theirs only: under 18
        the consent is in force once the other has said yes too (see
        :meth:`ConsentService.give_part`)."""
        membership = self.membership(citizen, reference)
        page = self.page(citizen, reference)
        party = membership.role.value
        if page.view.closed_at is not None:  # an ended course shares with no one anew
            raise NotAllowedError("the course has ended", text_key="ung_consent_course_ended")
        asked = [
            d
            for d in departments_without_consent(page.view)
            if party not in page.consent_parts.get(d, set())
        ]
        if not asked:
            raise NotAllowedError(
                "every department of the team is covered by this person's yes",
                text_key="ung_consent_covers_all",
            )
        categories = sorted({c for given in page.view.consents for c in given["categories"]})
        return self.consents.give_part(reference, self.actor(membership), asked, categories)

    def access_log(self, citizen: Citizen, reference: str) -> tuple[ShownAccessLog, CitizenCase]:
        """Who has used the case and why, in roles (no staff names; C-579/21); repeated
        reads by one person within ten minutes are one line with their number. With the
        citizen's place on the case (a guardian reads it written to a parent).

        A guardian's log leaves out the young person's own use of their pages (how often
        they read their course, what they did there): the guardian's page shows nothing
        the young person wrote or did themself, and the log must not show it either (a
        parent following a 16-year-old's every visit). The young person's log shows the
        guardian's use: it is their course."""
        membership = self.membership(citizen, reference)
        shown = self.audit.access_log_shown(reference, self.actor(membership), OWN_CASE)
        if membership.role is CaseRole.GUARDIAN:
            own = CaseRole.YOUNG_PERSON.value
            shown = replace(shown, lines=[line for line in shown.lines if line.role != own])
        return shown, membership

    def come_back(self, citizen: Citizen, reference: str) -> StepResult:
        """After a closed course: the young person refers themself again (same municipality,
        same caseworker), and a new case starts from referral."""
        membership = self.membership(citizen, reference)
        if membership.role is not CaseRole.YOUNG_PERSON:
            raise NotAllowedError("the young person asks to come back themself")
        for case, definition in self.my_cases(citizen):
            stage = definition.stages_by_id.get(case.stage)
            if (
                case.reference != reference
                and case.role is CaseRole.YOUNG_PERSON
                and stage is not None
                and stage.kind is not StageKind.FINAL
            ):  # asked already (a second click started a second new course, and a third)
                raise StillOpenError(case.reference)
        page = self.page(citizen, reference)
        with self.uow.reading() as session:
            person, guardians = citizen_details(session, reference)
        # Contact details stored before the service checked them, and no message can go
        # to, are left out rather than refusing her (she cannot mend them here).
        details = YoungPersonDetails(
            name=person["name"],
            cpr=self.uow.cpr.decrypt(person["cpr"]),
            birth_date=person["birth_date"],
            email=usable_email(person["email"]),
            phone=usable_phone(person["phone"]),
            guardians=tuple(
                GuardianDetails(
                    g["name"],
                    self.uow.cpr.decrypt(g["cpr"]),
                    usable_email(g["email"]),
                    usable_phone(g["phone"]),
                )
                for g in guardians
            ),
        )
        inputs = {"source": "young_person", "caseworker": page.view.caseworker}
        actor = Actor(CaseRole.YOUNG_PERSON, young_person_actor(reference))
        return self.cases.refer(page.definition.id, details, actor, inputs, purpose="come back")
