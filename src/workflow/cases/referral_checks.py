"""Deciding referrals: the checks a referral passes, the engine's decision, a file's check.

A referral is checked before it is opened, the same way on every way in (the web form,
the API, ``workflow case refer`` and ``workflow intake``): the young person's details
(:func:`person_problems`), its idempotency key's stored result, the staff its inputs
name (asked of the store set-wise for a batch), then the engine's decision as of a
moment. :class:`ReferralChecks` keeps the decisions of a bulk intake's file, made as of
one moment, so referrals alike in all the engine is given are decided once, for the
file's check and the opening of its cases alike (:mod:`workflow.cases.opening`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from workflow.cases.idempotency import repeated_result, stored_results
from workflow.cases.model import Referral, RejectedError, StepResult, YoungPersonDetails
from workflow.cases.staff import staff_directories
from workflow.definitions.calendar import age_on
from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import REFER_EVENT
from workflow.engine.decide import open_case
from workflow.engine.input_facts import InputFacts, StaffDirectory
from workflow.engine.inputs import FIRST_YEAR, name_problem
from workflow.engine.model import Decision, FieldError, Rejection, RejectionReason
from workflow.errors import WorkflowError
from workflow.privacy.cpr import cpr_birth_date, cpr_problem
from workflow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Opening:
    """A referral the engine accepted, not written yet."""

    request: Referral
    definition: Definition
    decision: Decision
    given: dict[str, Any]
    local_day: date


@dataclass(frozen=True)
class Asked:
    """A referral that passed the checks that need no store: its staff ids are next."""

    request: Referral
    definition: Definition
    given: dict[str, Any]
    local_day: date


@dataclass(frozen=True)
class Answers:
    """What the store knows of a batch of referrals."""

    #: Each referral after the checks that need no engine (an :class:`Asked` passed them; a
    #: refusal, or a key's stored result).
    outcomes: list[Asked | StepResult | WorkflowError]
    #: The staff each :class:`Asked` names, by its id().
    staff: dict[int, StaffDirectory]
    #: The stored results of the referrals' idempotency keys.
    stored: dict[str, dict[str, Any]]


def ask_store(
    uow: UnitOfWork, session: Session, requests: Sequence[Referral], now: datetime
) -> Answers:
    """Each referral after the checks that need no engine, and the staff it names.

    What the store knows is asked set-wise: the stored results of all the keys in one
    query, the staff ids of a municipality's referrals in one (and one to learn whether
    it has accounts). Each referral means what it means alone, in order.
    """
    keys = [r.idempotency_key for r in requests if r.idempotency_key]
    stored = stored_results(session.connection(), keys) if keys else {}
    outcomes: list[Asked | StepResult | WorkflowError] = [
        _first_checks(uow, request, now, stored) for request in requests
    ]
    asked = [o for o in outcomes if isinstance(o, Asked)]
    staff: dict[int, StaffDirectory] = {}
    for municipality in dict.fromkeys(_municipality(a.definition) for a in asked):
        mine = [a for a in asked if _municipality(a.definition) == municipality]
        directories = staff_directories(session, municipality, [a.given for a in mine])
        staff.update((id(a), d) for a, d in zip(mine, directories, strict=True))
    return Answers(outcomes, staff, stored)


def _municipality(definition: Definition) -> str:
    assert definition.municipality is not None
    return definition.municipality.code


def _first_checks(
    uow: UnitOfWork, request: Referral, now: datetime, stored: dict[str, dict[str, Any]]
) -> Asked | StepResult | WorkflowError:
    """The checks of a referral that need no store beyond its key's stored result."""
    try:
        definition = uow.catalog.by_id(request.definition_id)
    except WorkflowError as exc:
        return exc
    assert definition.municipality is not None
    key = request.idempotency_key
    if key and key in stored:
        try:
            return repeated_result(stored[key], key, None, REFER_EVENT)
        except WorkflowError as exc:
            return exc
    local_day = now.astimezone(ZoneInfo(definition.calendar.timezone)).date()
    problems = person_problems(request.person, local_day)
    if problems:
        return person_refused(problems)
    given = dict(request.inputs)
    declared = next((i for i in definition.referral.inputs if i.name == "age"), None)
    if declared is not None:  # the form asks the age: it follows from the birth date
        given["age"] = age = age_on(request.person.birth_date, local_day)
        low, high = declared.min, declared.max
        if (low is not None and age < low) or (high is not None and age > high):
            # Told of the birth date the user gave, not of an input they never saw.
            bounds = {"age": age, "min": int(low or 0), "max": int(high if high else 130)}
            where = f"{PERSON_FIELD}.birth_date"
            return person_refused((FieldError(where, "age_outside_inputs", bounds),))
    return Asked(request, definition, given, local_day)


def decide(asked: Asked, now: datetime, staff: StaffDirectory) -> Opening | WorkflowError:
    """The engine's decision on a referral that passed the first checks (all it is given
    but ``now`` is :func:`_engine_arguments`: keep the two together)."""
    request, definition = asked.request, asked.definition
    decision = open_case(
        definition,
        "(new)",
        request.actor,
        asked.given,
        now,
        born=request.person.birth_date,
        facts=InputFacts(staff=staff),
    )
    if isinstance(decision, Rejection):
        return RejectedError(decision)
    return Opening(request, definition, decision, asked.given, asked.local_day)


def check_referral(
    uow: UnitOfWork, session: Session, request: Referral, now: datetime
) -> WorkflowError | None:
    """Why a referral would be refused (nothing is written), or None."""
    return check_referrals(uow, session, [request], now)[0]


def check_referrals(
    uow: UnitOfWork,
    session: Session,
    requests: Sequence[Referral],
    now: datetime,
    checks: ReferralChecks | None = None,
) -> list[WorkflowError | None]:
    """Why each referral would be refused (nothing is written), or None: the same checks
    as :func:`open_cases_in` (a bulk intake checks a whole file before it opens any case).

    ``checks``: the answers so far of a check made as of ``now`` (a bulk intake's, across
    its chunks)."""
    if checks is None or checks.now != now:
        checks = ReferralChecks(now)
    asked = ask_store(uow, session, requests, now)
    answers: list[WorkflowError | None] = []
    for outcome in asked.outcomes:
        if isinstance(outcome, Asked):
            answers.append(checks.refusal(outcome, asked.staff[id(outcome)]))
        else:  # refused before the engine, or a key's stored result (no refusal)
            answers.append(outcome if isinstance(outcome, WorkflowError) else None)
    return answers


class ReferralChecks:
    """The engine's decisions on referrals taken in as of one moment (a bulk intake's).

    The engine's decision is a function of what it is given alone: the definition, who
    refers, the inputs, the young person's birth date, the staff the inputs name as the
    account store knows them, and the moment. Referrals alike in all of these get the
    same decision, so each such set is decided once: a file of 50,000 young people has a
    few thousand birth dates. A file's check and the opening of its cases share them (an
    intake opens its cases as of the moment its check began). The decisions are kept in
    the process for the intake's length only, keyed by those arguments (never a
    person's name or CPR number, which the engine is not given); the checks before the
    engine's (the CPR number, the name, the key) are made for every referral.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._decisions: dict[tuple[Any, ...], Decision | WorkflowError] = {}
        #: The definitions decided for, kept while their id() is in a key.
        self._definitions: dict[int, Definition] = {}

    def refusal(self, asked: Asked, staff: StaffDirectory) -> WorkflowError | None:
        """Why the engine refuses the referral, or None."""
        decided = self.decided(asked, staff)
        return decided if isinstance(decided, WorkflowError) else None

    def decided(self, asked: Asked, staff: StaffDirectory) -> Opening | WorkflowError:
        """The engine's decision on the referral as of :attr:`now` (taken from an alike
        referral's where there is one: the same decision, which its writing copies)."""
        key = _engine_arguments(asked, staff)
        known = None if key is None else self._decisions.get(key)
        if known is None:
            decided = decide(asked, self.now, staff)
            if key is not None:
                self._definitions.setdefault(id(asked.definition), asked.definition)
                self._decisions[key] = decided.decision if isinstance(decided, Opening) else decided
            return decided
        if isinstance(known, WorkflowError):
            return known
        return Opening(asked.request, asked.definition, known, asked.given, asked.local_day)


def _engine_arguments(asked: Asked, staff: StaffDirectory) -> tuple[Any, ...] | None:
    """All that :func:`decide` gives the engine but the moment, as a key (None: an
    input's value cannot be one)."""
    key = (
        id(asked.definition),
        asked.request.actor,
        tuple(sorted(asked.given.items())),
        asked.request.person.birth_date,
        staff.known,
        staff.elsewhere,
        staff.checked,
        tuple(sorted(staff.meant.items())),
    )
    try:
        hash(key)
    except TypeError:  # a list or a mapping among the inputs
        return None
    return key


#: Where the young person's details are named in a refusal (the API body's own path).
PERSON_FIELD = "young_person"


def person_problems(person: YoungPersonDetails, today: date) -> tuple[FieldError, ...]:
    """What is wrong with a referral's young person and guardians, field by field.

    A name is one printable line; a CPR number is valid (:func:`workflow.privacy.cpr.
    cpr_problem`: a real date in the century its 7th digit gives) and gives the birth date,
    century and all; the birth date is not in the future. Fields are named
    ``young_person.name``, ``young_person.cpr``, ``young_person.guardians.1.cpr``...
    The errors hold no personal data (a refusal may reach a log or an intake report).
    """
    problems: list[FieldError] = []

    def add(where: str, error: FieldError | None) -> None:
        if error is not None:
            problems.append(FieldError(f"{where}.{error.name}", error.code, error.params))

    add(PERSON_FIELD, name_problem(person.name))
    add(PERSON_FIELD, _cpr_error(person.cpr, person.birth_date, today))
    born = person.birth_date
    if not isinstance(born, date) or not born.year >= FIRST_YEAR or born > today:
        add(PERSON_FIELD, FieldError("birth_date", "birth_date_not_past"))
    for error in _contact_errors(person.email, person.phone):
        add(PERSON_FIELD, error)
    for number, guardian in enumerate(person.guardians, start=1):
        where = f"{PERSON_FIELD}.guardians.{number}"
        add(where, name_problem(guardian.name))
        add(where, _cpr_error(guardian.cpr, None, today))
        for error in _contact_errors(guardian.email, guardian.phone):
            add(where, error)
    return tuple(problems)


#: An e-mail address as a mail server takes one.
EMAIL = re.compile(r"[^@\s/]{1,64}@[^@\s/]{1,190}\.[^@\s/]{2,}")
#: A Danish mobile number, as the SMS channel sends to one: 8 digits, the first 2-9,
#: optionally after +45 or 0045 (spaces anywhere). "+45 12 34 56 78" was taken at the
#: referral, and every message to it then failed.
DANISH_MOBILE = re.compile(r"(?:\+45|0045)?[2-9]\d{7}")


def usable_email(email: str | None) -> str | None:
    """A stored e-mail address if a message can go to it, else None (kept from before
    the service checked it: a course asked for again goes on without it)."""
    return email if email and EMAIL.fullmatch(email.strip()) else None


def usable_phone(phone: str | None) -> str | None:
    """A stored phone number if an SMS can go to it, else None (as :func:`usable_email`)."""
    return phone if phone and DANISH_MOBILE.fullmatch("".join(phone.split())) else None


def _contact_errors(email: str | None, phone: str | None) -> list[FieldError]:
    """A person's own channels, if given, must be ones a message can go to."""
    found = []
    if email and not EMAIL.fullmatch(email.strip()):
        found.append(FieldError("email", "email_format"))
    if phone and not DANISH_MOBILE.fullmatch("".join(phone.split())):
        found.append(FieldError("phone", "phone_format"))
    return found


def _cpr_error(cpr: str, born: date | None, today: date) -> FieldError | None:
    if not isinstance(cpr, str) or not cpr.strip():
        return FieldError("cpr", "required")
    problem = cpr_problem(cpr, today)
    if problem is not None:
        return FieldError("cpr", problem)
    given = cpr_birth_date(cpr)
    if born is None or given is None or given == born:
        return None
    same_digits = given.strftime("%d%m%y") == born.strftime("%d%m%y")
    return FieldError("cpr", "cpr_century" if same_digits else "cpr_not_birth_date")


def person_refused(problems: tuple[FieldError, ...]) -> RejectedError:
    """The refusal of a referral whose young person's details are wrong."""
    fields = ", ".join(dict.fromkeys(p.name for p in problems))
    return RejectedError(Rejection(RejectionReason.INVALID_INPUT, {"fields": fields}, problems))
