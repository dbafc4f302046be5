"""Who may take which step: a person's standing on a case decides the roles they act in.

Through the service layer (``runtime.service.trigger``), on SQLite and PostgreSQL, for every
shipped municipality definition: one case per definition is walked with the inputs of its
example script (definitions/examples/), and every step of the definition is tried by every
standing of :data:`WHO` — each person acting in the role their standing gives them. The
expected outcome of a cell comes from the definition's ``roles`` (that is what "as the
definition says" means) and from the standing -> role mapping written out by hand in
:data:`WHO`, never from ``workflow.engine.access.roles_held``: allowed (past the role checks)
exactly when the standing's role is one of the step's roles.

A step is tried in a stage it can be taken from: the engine looks at the stage before the
role, so a step tried in the wrong stage would be refused as wrong_stage by everyone who
stands on the case and say nothing about roles. Every attempt carries an input no step
declares (:data:`PROBE`): the role checks come before the inputs are validated, so an
attempt that gets past them is refused as ``invalid_input`` and nothing is ever changed —
the walk checks that the case's version is the same after every round of attempts, and
that every attempt is in the audit log. At the follow-up, everyone also claims every role
(only the role their standing gives gets them past the service).

The named tests below the matrix are the issue's reproductions (a teacher on the team
writing the plan as coordinator, or closing the case as caseworker) and the rules around
them: the guardian of an adult, separation of duties on closing, the engine's own role.
The last tests are defects this module found (guardian's age on the Danish day, reads by
the runtime's clock, the engine's role claimed by a stranger), kept so they stay fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.conftest import Clock
from tests.integration.scripted import PERSON
from tests.support.case_api import (
    ACCEPT,
    CASEWORKER,
    CLOSE,
    COORDINATOR,
    FIRST_MEETING,
    FOLLOW_UP,
    HANDOVER,
    PRE_MEETING,
    referred_case,
)
from tests.support.services import create_database
from workflow.cases.model import GuardianDetails, RejectedError, YoungPersonDetails
from workflow.definitions.models import Definition
from workflow.engine.access import guardian_actor, young_person_actor
from workflow.engine.model import Actor, RejectionReason
from workflow.engine.simulation import ScriptStep, load_script
from workflow.errors import CaseNotFoundError, NotAllowedError
from workflow.orchestration.demo import pay_into_pool, step_moments
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime
from workflow.settings import Settings
from workflow.store.tables import AuditEntry, Case, Guardian

DEFINITIONS = ("ballerup", "horsens", "koebenhavn", "roskilde", "silkeborg", "skanderborg", "soroe")
EXAMPLES = Path("definitions/examples")
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LAW = "Serviceloven § 146"

#: An input no step declares: every attempt that gets past the role checks is refused by the
#: engine as invalid_input, so no attempt ever changes the case.
PROBE: dict[str, Any] = {"__probe__": 1}

#: Every young person of the matrix is 16 when their case opens and has a guardian.
SIXTEEN = date(2010, 1, 1)
GUARDIAN = GuardianDetails("Forælder Testesen", "0101751234", email="forælder@example.org")


@dataclass(frozen=True)
class Who:
    """A standing on a case: the role the person acts in, and what the standing gives them."""

    acts_as: str
    #: The role the standing lets them act in on this case; None: no standing at all.
    holds: str | None
    #: False: the standing lets them see the case, but not take steps on it.
    may_step: bool = True


#: The standings, each with the role it gives, written out by hand from the rule.
WHO: dict[str, Who] = {
    "caseworker of record": Who("caseworker", "caseworker"),
    "another caseworker": Who("caseworker", None),  # a caseworker account, not on this case
    "coordinator of record": Who("coordinator", "coordinator"),
    "another coordinator": Who("coordinator", None),
    "team member, consented": Who("team_member", "team_member"),
    "guardian of the minor": Who("guardian", "guardian"),
    "guardian on no case": Who("guardian", None),
    "young person": Who("young_person", "young_person"),
    "another young person": Who("young_person", None),
    "leader, basis with trigger": Who("leader", "leader"),
    "leader, read-only basis": Who("leader", "leader", may_step=False),
    "leader, no basis": Who("leader", None),
    "operator": Who("caseworker", None),  # runs the system; no standing on any case
}
#: Chosen by the young person at the pre-meeting: before it, strangers to the case.
CHOSEN_AT_PRE_MEETING = {"coordinator of record", "team member, consented"}

#: Staff on none of the cases (accounts with the role, but no standing).
OTHER_CASEWORKER, OTHER_COORDINATOR = "cw-anden", "koordinator-anden"
LEADER_STEPS, LEADER_READS, LEADER_NONE = "leder-tilsyn", "leder-laeser", "leder-uden"
OPERATOR = "operator-ola"

#: Where a step is tried: the first stage of this order it can leave (the pre-meeting is
#: entered a second time, after the coordinator and team were chosen; see _Walk).
PROBE_ORDER = (
    "awaiting_first_meeting",
    "pre_meeting",
    "follow_up",
    "handover",
    "paused",
    "referred",
)

# The letters of a cell:
#   A  past the role checks: the engine refused the probe's inputs (invalid_input), or the
#      separation of duties (separation_of_duties) — both come after the role check
#   R  the engine refused the role (role_not_allowed): the person holds the role on the
#      case, but the step is not that role's
#   F  NotAllowedError: the person stands on the case, but not so that they may do this
#   N  CaseNotFoundError: no standing at all — exactly as if the case did not exist
PAST_THE_ROLE_CHECK = {RejectionReason.INVALID_INPUT, RejectionReason.SEPARATION_OF_DUTIES}


def expected_letter(who: str, roles: frozenset[str], stage: str) -> str:
    """The outcome the rule and the definition give ``who`` on a step allowed to ``roles``."""
    standing = WHO[who]
    holds = standing.holds
    if stage == "referred" and who in CHOSEN_AT_PRE_MEETING:
        holds = None
    if holds is None:
        return "N"
    if not standing.may_step:
        return "F"
    return "A" if holds in roles else "R"


def attempt(
    runtime: Runtime, reference: str, event: str, actor: Actor, inputs: dict[str, Any]
) -> tuple[str, str]:
    """Try a step; the outcome's letter and what was said."""
    try:
        runtime.service.trigger(reference, event, dict(inputs), actor)
    except CaseNotFoundError as exc:
        return "N", str(exc)
    except NotAllowedError as exc:
        return "F", str(exc)
    except RejectedError as exc:
        reason = exc.rejection.reason
        if reason is RejectionReason.ROLE_NOT_ALLOWED:
            return "R", str(exc)
        return ("A" if reason in PAST_THE_ROLE_CHECK else f"?{reason.value}"), str(exc)
    return "!", "the step was taken"  # a probe must never be taken


# --- the world: one runtime per store, cases walked on demand ---------------------------


@dataclass
class Cell:
    definition: str
    event: str
    stage: str
    who: str
    roles: frozenset[str]
    actual: str
    detail: str

    @property
    def expected(self) -> str:
        return expected_letter(self.who, self.roles, self.stage)


@dataclass
class Walked:
    """One definition's case, and every attempt made on it."""

    reference: str
    cells: list[Cell] = field(default_factory=list)
    #: (who, claimed role) -> (letter, what was said): everyone claiming every role.
    claims: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: The stage each event was tried in.
    stages: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    runtime: Runtime
    clock: Clock
    walked: dict[str, Walked] = field(default_factory=dict)

    def walk(self, name: str) -> Walked:
        if name not in self.walked:
            self.walked[name] = _Walk(self, name).run()
        return self.walked[name]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One runtime per store for the module (building one takes seconds); every test
    works on cases of its own."""
    home: Path = tmp_path_factory.mktemp("standing-matrix")
    url = (
        f"sqlite:///{home / 'workflow.db'}"
        if request.param == "sqlite"
        else create_database(request.getfixturevalue("pg_server"))
    )
    clock = Clock(START)
    settings = Settings(database_url=url, home=home / "var", base_url="https://kui.example")
    runtime = build_runtime(settings, clock=clock)
    staff = [
        (OTHER_CASEWORKER, "caseworker"),
        (OTHER_COORDINATOR, "coordinator"),
        (LEADER_STEPS, "leader"),
        (LEADER_READS, "leader"),
        (LEADER_NONE, "leader"),
    ]
    for person, role in staff:
        runtime.accounts.create(
            person, None, display_name=person.title(), person_id=person, roles=[role]
        )
    yield World(runtime, clock)
    runtime.engine.dispose()


@pytest.fixture
def runtime(world: World) -> Runtime:
    """The world's runtime, its clock back at the start (this module's own, per store)."""
    world.clock.now = START
    return world.runtime


def probe_plan(definition: Definition) -> dict[str, dict[str, frozenset[str]]]:
    """stage -> {event: the roles its transitions from that stage allow}, each event once,
    at the first stage of PROBE_ORDER it can be taken in."""
    plan: dict[str, dict[str, frozenset[str]]] = {stage: {} for stage in PROBE_ORDER}
    for event, transitions in definition.transitions_by_event.items():
        sources = {s for t in transitions for s in definition.source_stages(t)}
        stage = next((s for s in PROBE_ORDER if s in sources), None)
        assert stage is not None, f"{definition.id}: {event} is never tried ({sorted(sources)})"
        roles = {r for t in transitions if stage in definition.source_stages(t) for r in t.roles}
        plan[stage][event] = frozenset(roles)
    return plan


class _Walk:
    """Plays a definition's example script on one case and tries every step on the way.

    The script is followed up to the handover (steps it expects to be refused are left out;
    its young person's steps are taken by the case's own young person). The steps are tried
    on arrival at each stage of PROBE_ORDER. The pre-meeting is tried only once the
    coordinator and the team exist: just before the first meeting the coordinator reports
    it missed (first_meeting_missed: back to the pre-meeting), and the script's steps from
    the pre-meeting on are taken again. Last, the caseworker pauses the case.
    """

    def __init__(self, world: World, name: str) -> None:
        self.runtime, self.clock, self.name = world.runtime, world.clock, name
        self.definition = self.runtime.catalog.by_id(name)
        assert self.definition.municipality is not None
        self.code = self.definition.municipality.code
        self.plan = probe_plan(self.definition)
        self.walked = Walked("")
        self.cast: dict[str, Actor] = {}
        self.stage = ""
        self.met_again = False

    def run(self) -> Walked:
        script = load_script(EXAMPLES / f"{self.name}.yaml")
        grants = self.runtime.grants
        for g in script.grants:
            grants.grant(g.person, self.code, g.basis, g.law, "operator:test", tuple(g.actions))
        grants.grant(
            LEADER_STEPS, self.code, "inspection", LAW, "operator:dpo", ("read", "trigger")
        )
        grants.grant(LEADER_READS, self.code, "oversight", LAW, "operator:dpo", ("read", "export"))
        pay_into_pool(self.runtime, script)  # Ballerup's grants draw from the pooled budget

        moments = step_moments(self.definition, script.start, script.steps)
        steps = [
            (step, moment)
            for step, moment in zip(script.steps, moments, strict=True)
            if step.event is not None and step.expect_rejection is None
        ]
        self._cast_of(script.steps)
        (refer, at), *rest = steps
        assert refer.event == "refer"
        self.clock.now = at
        self._refer(refer)
        since_pre_meeting: list[ScriptStep] = []
        for step, moment in rest:
            self.clock.now = moment
            if step.event == "hold_first_meeting" and not self.met_again:
                self._meet_again(since_pre_meeting)
            self._take(step)
            if self.stage == "awaiting_first_meeting":
                since_pre_meeting.append(step)
            if self.stage == "handover":
                break
        assert self.stage == "handover", f"{self.name}: the script did not reach the handover"
        self._step(
            "pause",
            {"pause_reason": "other", "pause_other": "Flytning"},
            self.cast["caseworker of record"],
        )
        assert self.stage == "paused"
        untried = {stage: events for stage, events in self.plan.items() if events}
        assert not untried, f"{self.name}: steps never tried: {untried}"
        return self.walked

    def _cast_of(self, steps: list[ScriptStep]) -> None:
        """Who is who: the script names the caseworker, coordinator and team."""
        refer = next(s for s in steps if s.event == "refer")
        chosen = next(s for s in steps if s.event == "hold_pre_meeting" and not s.expect_rejection)
        consented = next(s.consent for s in steps if s.consent is not None)
        member = next(
            m["person"] for m in chosen.inputs["team"] if m["department"] in consented.departments
        )
        self.cast = {
            "caseworker of record": Actor("caseworker", refer.inputs["caseworker"]),
            "another caseworker": Actor("caseworker", OTHER_CASEWORKER),
            "coordinator of record": Actor("coordinator", chosen.inputs["coordinator"]),
            "another coordinator": Actor("coordinator", OTHER_COORDINATOR),
            "team member, consented": Actor("team_member", member),
            "guardian on no case": Actor("guardian", guardian_actor(10**9)),
            "another young person": Actor("young_person", young_person_actor("SOR-1999-0001")),
            "leader, basis with trigger": Actor("leader", LEADER_STEPS),
            "leader, read-only basis": Actor("leader", LEADER_READS),
            "leader, no basis": Actor("leader", LEADER_NONE),
            "operator": Actor("caseworker", OPERATOR),
        }

    def _refer(self, step: ScriptStep) -> None:
        person = YoungPersonDetails(
            f"Ung {self.name.title()}", "0101104321", SIXTEEN, guardians=(GUARDIAN,)
        )
        result = self.runtime.service.refer(
            self.name, person, self._actor(step.actor), dict(step.inputs)
        )
        reference = self.walked.reference = result.reference
        with self.runtime.uow.reading() as session:
            guardian = session.scalar(
                select(Guardian.id)
                .join(Case, Case.id == Guardian.case_id)
                .where(Case.reference == reference)
            )
        assert guardian is not None
        self.cast["guardian of the minor"] = Actor("guardian", guardian_actor(guardian))
        self.cast["young person"] = Actor("young_person", young_person_actor(reference))
        assert set(self.cast) == set(WHO)
        self._arrive(result.to_stage)

    def _take(self, step: ScriptStep) -> None:
        assert step.event is not None
        actor = self._actor(step.actor)
        self._step(step.event, dict(step.inputs), actor)
        if step.consent is not None:  # the young person is 16: a guardian consents too
            request = ConsentRequest(
                step.consent.departments, step.consent.categories, guardian=True
            )
            self.runtime.consents.give(self.walked.reference, actor, request)

    def _meet_again(self, since_pre_meeting: list[ScriptStep]) -> None:
        """Back to the pre-meeting (the first meeting was missed), and on again."""
        assert self.stage == "awaiting_first_meeting", self.stage
        assert since_pre_meeting[0].event == "hold_pre_meeting"
        self.met_again = True
        self._step("first_meeting_missed", {}, self.cast["coordinator of record"])
        assert self.stage == "pre_meeting"
        for step in since_pre_meeting:
            self._take(step)
        assert self.stage == "awaiting_first_meeting"

    def _step(self, event: str, inputs: dict[str, Any], actor: Actor) -> None:
        result = self.runtime.service.trigger(self.walked.reference, event, inputs, actor)
        if result.to_stage != self.stage:
            self._arrive(result.to_stage)

    def _actor(self, text: str) -> Actor:
        role, _, ident = text.partition(":")
        if role == "young_person":  # the script's young person is the case's own
            reference = self.walked.reference
            return Actor(role, young_person_actor(reference) if reference else None)
        return Actor(role, ident or None)

    # -- trying every step

    def _arrive(self, stage: str) -> None:
        self.stage = stage
        events = self.plan.get(stage, {})
        if not events or (stage == "pre_meeting" and not self.met_again):
            return  # (the first pre-meeting: nobody chosen yet)
        reference = self.walked.reference
        version, refusals = self._version(), self._refusals()
        tries = 0
        for event, roles in events.items():
            self.walked.stages[event] = stage
            for who, standing in WHO.items():
                actor = Actor(standing.acts_as, self.cast[who].id)
                letter, detail = attempt(self.runtime, reference, event, actor, PROBE)
                self.walked.cells.append(Cell(self.name, event, stage, who, roles, letter, detail))
                tries += 1
        if stage == "follow_up":
            tries += self._claim_every_role()
        self.plan[stage] = {}
        assert self._version() == version, f"{reference}: an attempt changed the case"
        assert self._refusals() == refusals + tries, "every refused attempt is audited"

    def _claim_every_role(self) -> int:
        """Everyone claims every role of the rule, on 'withdraw' (which most roles may take)."""
        reference = self.walked.reference
        for who in WHO:
            for role in CLAIMED_ROLES:
                actor = Actor(role, self.cast[who].id)
                self.walked.claims[who, role] = attempt(
                    self.runtime, reference, "withdraw", actor, PROBE
                )
        return len(WHO) * len(CLAIMED_ROLES)

    def _version(self) -> tuple[int, str]:
        with self.runtime.uow.reading() as session:
            version, stage = session.execute(
                select(Case.version, Case.stage).where(Case.reference == self.walked.reference)
            ).one()
        return version, stage

    def _refusals(self) -> int:
        return refusals_of(self.runtime, self.walked.reference)


CLAIMED_ROLES = ("caseworker", "coordinator", "team_member", "young_person", "guardian", "leader")


def refusals_of(runtime: Runtime, reference: str) -> int:
    """How many refusals the audit log holds for a case."""
    with runtime.uow.reading() as session:
        count = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.object_id == reference, AuditEntry.action == "refused")
        )
    return int(count or 0)


# --- the matrix -------------------------------------------------------------------------


@pytest.mark.parametrize("name", DEFINITIONS)
def test_every_step_as_every_standing(world: World, runtime: Runtime, name: str) -> None:
    walked = world.walk(name)
    definition = runtime.catalog.by_id(name)
    assert set(walked.stages) == set(definition.transitions_by_event), "every step is tried"
    assert len(walked.cells) == len(definition.transitions_by_event) * len(WHO)

    wrong = [
        f"  {c.event} @ {c.stage} | {c.who}: expected {c.expected}, got {c.actual}  ({c.detail})"
        for c in walked.cells
        if c.actual != c.expected
    ]
    columns = list(WHO)
    legend = "  ".join(f"{i:>2}={who}" for i, who in enumerate(columns))
    by_cell = {(c.event, c.who): c for c in walked.cells}
    rows = "\n".join(
        f"  {event:28} {walked.stages[event]:24} "
        + " ".join(f"{by_cell[event, who].actual:>2}" for who in columns)
        + f"   roles: {', '.join(sorted(by_cell[event, columns[0]].roles))}"
        for event in definition.transitions_by_event
    )
    assert not wrong, (
        f"{name}: {len(wrong)} of {len(walked.cells)} cells differ from the definition:\n"
        + "\n".join(wrong)
        + f"\nThe matrix as answered ({legend}):\n{rows}"
    )


@pytest.mark.parametrize("name", DEFINITIONS)
def test_nobody_acts_in_a_role_their_standing_does_not_give(
    world: World, runtime: Runtime, name: str
) -> None:
    """Everyone claims every role: only the one their standing gives gets to the engine."""
    walked = world.walk(name)
    withdraw = {
        r for t in runtime.catalog.by_id(name).transitions_by_event["withdraw"] for r in t.roles
    }
    wrong = []
    for (who, role), (letter, detail) in walked.claims.items():
        standing = WHO[who]
        if standing.holds is None:
            expected = "N"
        elif role != standing.holds or not standing.may_step:
            expected = "F"
        else:
            expected = "A" if role in withdraw else "R"
        if letter != expected:
            wrong.append(f"  {who} as {role}: expected {expected}, got {letter}  ({detail})")
        elif expected == "F" and role != standing.holds:  # the refusal says what they are
            assert " is " in detail, detail
            assert ", not " in detail, detail
    assert not wrong, f"{name}:\n" + "\n".join(wrong)


# --- the reproductions, and the rules around them (Sorø) -------------------------

ANNA = "laerer-anna"  # on the team as skole; the young person consented to skole


def case_row(runtime: Runtime, reference: str) -> tuple[int, str]:
    """The case's version and stage (what a refused step must leave as it was)."""
    with runtime.uow.reading() as session:
        version, stage = session.execute(
            select(Case.version, Case.stage).where(Case.reference == reference)
        ).one()
    return version, stage


def at_first_meeting(runtime: Runtime, referred_by: Actor = CASEWORKER) -> str:
    """A Sorø case (caseworker cw-mette, coordinator tovholder-lise, team laerer-anna for
    skole and vejleder-sara for uu, both consented) waiting for its first meeting."""
    if referred_by == CASEWORKER:
        reference = referred_case(runtime)
    else:
        opened = runtime.service.refer(
            "soroe", PERSON, referred_by, {"source": "school", "caseworker": "cw-mette"}
        )
        reference = opened.reference
        runtime.service.trigger(reference, "accept_referral", ACCEPT, CASEWORKER)
    consent = ConsentRequest(["skole", "uu"], ["education"], guardian=True)
    runtime.consents.give(reference, CASEWORKER, consent)
    runtime.service.trigger(reference, "hold_pre_meeting", PRE_MEETING, CASEWORKER)
    return reference


def at_handover(runtime: Runtime, referred_by: Actor = CASEWORKER) -> str:
    """The same case, its plan agreed and followed up, handed over to networks."""
    reference = at_first_meeting(runtime, referred_by)
    for event, inputs in [
        ("hold_first_meeting", FIRST_MEETING),
        ("hold_follow_up", FOLLOW_UP),
        ("start_handover", HANDOVER),
    ]:
        runtime.service.trigger(reference, event, inputs, COORDINATOR)
    assert case_row(runtime, reference)[1] == "handover"
    return reference


def test_a_team_member_cannot_write_the_plan_as_coordinator(runtime: Runtime) -> None:
    reference = at_first_meeting(runtime)
    before = case_row(runtime, reference)
    with pytest.raises(NotAllowedError) as refused:
        runtime.service.trigger(
            reference, "hold_first_meeting", FIRST_MEETING, Actor("coordinator", ANNA)
        )
    assert str(refused.value).startswith(
        f"laerer-anna is on the team of {reference} as skole, not its coordinator: "
    ), refused.value
    assert case_row(runtime, reference) == before  # nothing written
    view = runtime.service.view(reference, CASEWORKER)
    assert (view.stage, view.plan, view.plan_version) == ("awaiting_first_meeting", [], None)


def test_the_coordinator_of_record_holds_the_first_meeting(runtime: Runtime) -> None:
    reference = at_first_meeting(runtime)
    result = runtime.service.trigger(reference, "hold_first_meeting", FIRST_MEETING, COORDINATOR)
    assert (result.from_stage, result.to_stage) == ("awaiting_first_meeting", "follow_up")
    view = runtime.service.view(reference, COORDINATOR)
    assert [goal["text"] for goal in view.plan] == [FIRST_MEETING["plan"][0]["text"]]


def test_a_team_member_cannot_close_the_case_as_caseworker(runtime: Runtime) -> None:
    reference = at_first_meeting(runtime)
    before = case_row(runtime, reference)
    with pytest.raises(
        NotAllowedError,
        match=f"^laerer-anna is on the team of {reference} as skole, not its caseworker: ",
    ):
        runtime.service.trigger(reference, "age_out", {}, Actor("caseworker", ANNA))
    assert case_row(runtime, reference) == before
    # The caseworker of record passes the access rule; the step's own rule then refuses a
    # young person inside the age range (16, in Sorø's 14-29), nothing changed either.
    with pytest.raises(RejectedError, match=r"not past the upper age.* from 14 to 29"):
        runtime.service.trigger(reference, "age_out", {}, CASEWORKER)
    assert case_row(runtime, reference) == before


def test_a_refused_step_is_in_the_audit_log(runtime: Runtime) -> None:
    reference = at_first_meeting(runtime)
    with pytest.raises(NotAllowedError):
        runtime.service.trigger(
            reference, "hold_first_meeting", FIRST_MEETING, Actor("coordinator", ANNA)
        )
    with runtime.uow.reading() as session:
        entries = session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == reference, AuditEntry.action == "refused"
            )
        ).all()
    assert [(e.actor, e.object_type, e.purpose, e.details) for e in entries] == [
        (
            "coordinator:laerer-anna",
            "case",
            "hold_first_meeting",
            {"event": "hold_first_meeting", "role": "coordinator", "reason": "NotAllowedError"},
        )
    ]


def test_a_guardian_of_an_adult_has_no_standing(runtime: Runtime) -> None:
    adult = YoungPersonDetails(
        "Voksen Testesen", "0101084321", date(2008, 1, 1), guardians=(GUARDIAN,)
    )
    opened = runtime.service.refer(
        "soroe", adult, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    )
    reference = opened.reference
    guardian = Actor("guardian", guardian_actor(guardian_of(runtime, reference)))
    before = case_row(runtime, reference)
    with pytest.raises(CaseNotFoundError, match=f"^no case {reference}$"):
        runtime.service.trigger(reference, "withdraw", {}, guardian)
    with pytest.raises(CaseNotFoundError, match=f"^no case {reference}$"):
        runtime.service.view(reference, guardian)
    assert case_row(runtime, reference) == before
    # The young person themself stands on their case.
    own = Actor("young_person", young_person_actor(reference))
    assert runtime.service.view(reference, own).reference == reference


def test_a_guardian_stands_on_the_case_until_the_young_person_turns_18(
    world: World, runtime: Runtime
) -> None:
    minor = YoungPersonDetails("Ung Testesen", "0101104321", SIXTEEN, guardians=(GUARDIAN,))
    opened = runtime.service.refer(
        "soroe", minor, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    )
    reference = opened.reference
    guardian = Actor("guardian", guardian_actor(guardian_of(runtime, reference)))
    world.clock.now = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)  # 17
    assert attempt(runtime, reference, "withdraw", guardian, PROBE)[0] == "A"
    world.clock.now = datetime(2028, 1, 1, 12, 0, tzinfo=UTC)  # 18 today
    assert attempt(runtime, reference, "withdraw", guardian, PROBE)[0] == "N"


def guardian_of(runtime: Runtime, reference: str) -> int:
    with runtime.uow.reading() as session:
        found = session.scalar(
            select(Guardian.id)
            .join(Case, Case.id == Guardian.case_id)
            .where(Case.reference == reference)
        )
    assert found is not None
    return found


def test_the_caseworker_who_referred_may_not_close_the_case(runtime: Runtime) -> None:
    reference = at_handover(runtime)  # cw-mette referred the young person
    # Not offered to her (it would be refused), offered to the coordinator; refused if
    # taken anyway, in words on a page: the steps by name, not by id.
    assert "close_case" in runtime.service.view(reference, CASEWORKER).refused_steps
    assert "close_case" not in runtime.service.view(reference, COORDINATOR).refused_steps
    with pytest.raises(RejectedError) as refused:
        runtime.service.trigger(reference, "close_case", CLOSE, CASEWORKER)
    assert refused.value.rejection.reason is RejectionReason.SEPARATION_OF_DUTIES
    from workflow.web.page_support import rejection_text

    definition = runtime.catalog.by_id("soroe")
    assert rejection_text(refused.value.rejection, "da", definition) == (
        "'Afslut forløbet' skal tages af en anden end den, der tog: Henvisning."
    )
    assert case_row(runtime, reference)[1] == "handover"
    result = runtime.service.trigger(reference, "close_case", CLOSE, COORDINATOR)
    assert result.to_stage == "closed"


def test_the_caseworker_closes_a_case_someone_else_referred(runtime: Runtime) -> None:
    """Separation of duties is about who referred, not about the role: a teacher referred."""
    reference = at_handover(runtime, referred_by=Actor("team_member", ANNA))
    result = runtime.service.trigger(reference, "close_case", CLOSE, CASEWORKER)
    assert result.to_stage == "closed"


def test_nobody_acts_in_the_engines_own_role(runtime: Runtime) -> None:
    """'system' is how timers act; a person claiming it is refused, whoever they are on the
    case — even for a timer's own event, which the engine lets the system role take."""
    reference = at_first_meeting(runtime)
    before = case_row(runtime, reference)
    for person in ("cw-mette", "tovholder-lise", ANNA):
        with pytest.raises(NotAllowedError, match="'system' is the engine's own role"):
            runtime.service.trigger(reference, "first_meeting_missed", {}, Actor("system", person))
    with pytest.raises(CaseNotFoundError):  # nobody in particular: as for a missing case
        runtime.service.trigger(reference, "first_meeting_missed", {}, Actor("system", None))
    assert case_row(runtime, reference) == before
    assert refusals_of(runtime, reference) == 4


# --- defects this module found (each failed before its fix) ------------------------------


def test_a_guardian_loses_standing_at_midnight_danish_time(world: World, runtime: Runtime) -> None:
    minor = YoungPersonDetails("Ung Testesen", "0101104321", SIXTEEN, guardians=(GUARDIAN,))
    opened = runtime.service.refer(
        "soroe", minor, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    )
    guardian = Actor("guardian", guardian_actor(guardian_of(runtime, opened.reference)))
    world.clock.now = datetime(2027, 12, 31, 23, 30, tzinfo=UTC)  # 1 Jan 2028 00:30 in Sorø
    assert attempt(runtime, opened.reference, "withdraw", guardian, PROBE)[0] == "N"


def test_a_guardians_reads_follow_the_runtime_clock_like_their_steps(
    world: World, runtime: Runtime
) -> None:
    world.clock.now = datetime(2015, 6, 1, 10, 0, tzinfo=UTC)  # the young person is 15 then
    minor = YoungPersonDetails(
        "Ung Testesen", "0101004321", date(2000, 1, 1), guardians=(GUARDIAN,)
    )
    opened = runtime.service.refer(
        "soroe", minor, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    )
    guardian = Actor("guardian", guardian_actor(guardian_of(runtime, opened.reference)))
    assert attempt(runtime, opened.reference, "withdraw", guardian, PROBE)[0] == "A"
    assert runtime.service.view(opened.reference, guardian).reference == opened.reference


def test_a_stranger_claiming_the_engines_role_learns_nothing(runtime: Runtime) -> None:
    reference = at_first_meeting(runtime)
    stranger = Actor("system", "cw-anden")
    assert attempt(runtime, reference, "withdraw", stranger, PROBE)[0] == "N"
