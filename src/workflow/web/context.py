"""What the web app's routes share: the services, the identity layer, and case helpers.

Handlers receive the context through a dependency (``workflow.web.dependencies.Web``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from workflow.cases.caseload import CaseloadService
from workflow.cases.conferences import ConferenceService
from workflow.cases.model import StepResult
from workflow.cases.outcomes import OutcomeService
from workflow.cases.pool import PoolService
from workflow.cases.service import CaseService
from workflow.cases.tasks import TaskService
from workflow.definitions.models import Definition
from workflow.definitions.parts import Input, Transition
from workflow.definitions.templates import when as written_when
from workflow.definitions.vocabulary import REFER_EVENT, CaseRole, InputType
from workflow.engine.model import Actor
from workflow.engine.steps import acting_role, next_steps, open_meeting_kinds
from workflow.errors import CaseNotFoundError
from workflow.privacy.accounts import AccountService, User
from workflow.privacy.audit import AuditService
from workflow.privacy.consents import ConsentService
from workflow.privacy.staff_roster import StaffRoster
from workflow.settings import Settings
from workflow.store.catalog import DefinitionCatalog
from workflow.store.reading import CaseView
from workflow.texts import text
from workflow.web.definition_texts import local
from workflow.web.identity import Identity
from workflow.web.rendering import Pages


@dataclass
class WebContext:
    """Everything a request handler needs, built once by :func:`create_app`."""

    settings: Settings
    service: CaseService
    caseload: CaseloadService
    consents: ConsentService
    audit: AuditService
    accounts: AccountService
    #: Staff names, colleagues and work addresses by staff id.
    staff: StaffRoster
    catalog: DefinitionCatalog
    identity: Identity
    #: Tasks: each person's worklist, a case's tasks, done and added by hand.
    tasks: TaskService
    #: The store's clock (the demo runs on an accelerated one).
    clock: Callable[[], datetime]
    pages: Pages
    #: Called with every committed step (e.g. to start its Prefect flow run).
    on_step: Callable[[StepResult], None]
    #: Case-conference sessions (e.g. Horsens): plan, put forward, agenda, record.
    conferences: ConferenceService
    #: A municipality's pooled budget (e.g. Ballerup): ledger and deposits.
    pool: PoolService
    #: Outcome figures for leaders, and the national comparison.
    outcomes: OutcomeService

    def definitions_for(self, user: User) -> list[Definition]:
        """The definitions a user can refer to: their municipality's (or all)."""
        return [
            d
            for d in sorted(self.catalog.current.values(), key=lambda d: d.id)
            if d.municipality is not None
            and (user.municipality_code in (None, d.municipality.code))
        ]

    def reference_example(self, user: User) -> str:
        """A case reference as the user's municipality writes them, for a search field's
        example ("HOR-2026-0042" to Horsens' staff; it said Sorø's "SOR-…" to all)."""
        prefixes = {
            d.municipality.case_prefix for d in self.definitions_for(user) if d.municipality
        }
        prefix = prefixes.pop() if len(prefixes) == 1 else "SOR"
        return f"{prefix}-{self.clock().year}-0042"

    def definition_of(self, view: CaseView) -> Definition:
        """The definition a case is pinned to."""
        return self.service.definition(view.definition_version_id)

    def visible_case(
        self, user: User, reference: str, channel: str, purpose: str | None = None
    ) -> tuple[CaseView, Definition] | None:
        """A case and its definition, read (and audited) — or None when it does not exist
        or the access rule does not let the user see it (the two look the same).

        Raises PurposeRequiredError when the user sees it only through a legal basis and
        has not stated a purpose.
        """
        try:
            view = self.service.view(reference, user.actor(), purpose, channel=channel)
        except CaseNotFoundError:
            return None
        return view, self.definition_of(view)


def scoped_key(channel: str, user: User, key: str | None) -> str | None:
    """A caller's idempotency key, kept apart from other users' and short enough to store."""
    if not key:
        return None
    return f"{channel}:" + hashlib.sha256(f"{user.person_id}\0{key}".encode()).hexdigest()


def person_actor(user: User, role: str | None = None) -> Actor:
    """The user acting where only who matters (tasks are done by their assignee): in a
    role they hold on the case where known, else their account's first."""
    return Actor(role or (user.roles[0] if user.roles else "staff"), user.person_id)


def choice_label(definition: Definition, value: str | None, lang: str) -> str:
    """The label of a choice value given in any step (e.g. a meeting room), else the value."""
    return definition.choice_label(value, lang) if value else ""


def case_roles(web: WebContext, user: User, view: CaseView) -> list[str]:
    """The roles a user may act in on this case, most specific first.

    They come from the user's standing on the case (its caseworker of record, the
    coordinator the young person chose, a consented team member, a legal basis), never
    from the account's roles.
    """
    if view.reader_roles is not None and view.reader == user.person_id:
        return list(view.reader_roles)  # as the user's read of the case found them
    return list(web.service.roles_held(view.reference, user.person_id))


def steps_for(
    web: WebContext, definition: Definition, view: CaseView, user: User, *, offered: bool = False
) -> list[Transition]:
    """The steps this user may take on the case now, in one of their roles on it;
    ``offered``: those worth offering (not a move or cancel while no meeting is booked,
    nor a step its guard refuses on the case as it is — taken anyway, the service
    refuses it with its reason)."""
    kinds = open_meeting_kinds(view.meetings) if offered else None
    refused = view.refused_steps if offered else ()
    return next_steps(definition, view.stage, case_roles(web, user, view), kinds, refused)


def acting_as(allowed: Sequence[str], held: Sequence[str], chosen: str | None) -> str | None:
    """The role a user acts in for a step: the one they chose ("act as"), if they hold it
    and the step allows it; else the first of their roles on the case the step allows."""
    if chosen and chosen in held and chosen in allowed:
        return chosen
    return acting_role(allowed, held)


def displayed(
    definition: Definition, data: Mapping[str, Any], lang: str, *, young_person: bool = False
) -> list[tuple[str, str]]:
    """The case data the definition's ``display:`` shows, as (label, value in words);
    ``young_person``: only what is shown on the young person's own page too."""
    shown = []
    for item in definition.display:
        if young_person and not item.young_person:
            continue
        value = data.get(item.field)
        if value is None or value == "":
            continue
        shown.append((local(item.label, lang), _written(value, item.format, lang)))
    return shown


def young_persons_words(
    definition: Definition, data: Mapping[str, Any], lang: str
) -> list[tuple[str, str]]:
    """What the young person gave in their own steps (the steps only they take: their
    themes and words before a meeting, their feedback after one), as (the step's own
    question, the answer in words), the latest each: the case page and meeting mode show
    it, so the people who hold the meeting read it first."""
    shown: list[tuple[str, str]] = []
    seen: set[str] = set()
    for transition in definition.transitions:
        if list(transition.roles) != [CaseRole.YOUNG_PERSON]:
            continue
        for item in transition.inputs:
            value = data.get(item.name)
            if item.name in seen or value is None or value in ("", []):
                continue
            seen.add(item.name)
            shown.append((local(item.label, lang), _answer(definition, item, value, lang)))
    return shown


def entered_by(view: CaseView) -> dict[str, Any] | None:
    """The step that put the case in the stage it is in: the last one taken into it from
    another stage (a step taken in the stage since, e.g. a meeting moved in a pause, is
    not it)."""
    into = [
        h
        for h in view.history
        if h.get("to") == view.stage and h.get("from") != view.stage and not h.get("refused")
    ]
    return max(into, key=lambda h: h["seq"]) if into else None


def pause_of(
    definition: Definition, view: CaseView, lang: str, *, everything: bool, today: date
) -> dict[str, Any] | None:
    """A course on pause as the case page says it: when, by whom (an actor id) and what
    the step that paused it was given, in words (why, the expected resumption); None
    when the course is not paused. ``everything``: all its answers (the caseworker and
    the coordinator); else only those the step shares (a pause's reason may be health
    information: the team is told the expected resumption, not why)."""
    stage = definition.stages_by_id.get(view.stage)
    last = entered_by(view)
    if stage is None or not stage.pause or last is None:
        return None
    transition = definition.transitions_by_id.get(last.get("transition") or "")
    given = last.get("inputs") or {}
    answers = [
        (
            local(item.label, lang),
            _answer(definition, item, given[item.name], lang) + _passed(item, given, today, lang),
        )
        for item in (transition.inputs if transition else [])
        if given.get(item.name) not in (None, "", []) and (everything or item.share)
    ]
    return {"at": last["at"], "actor": last.get("actor"), "answers": answers}


def _passed(item: Input, given: Mapping[str, Any], today: date, lang: str) -> str:
    """ " (the day has passed)" after a day the pause expected that is gone (the course
    was expected to resume then: someone should look at it)."""
    value = given.get(item.name)
    if item.type is not InputType.DATE or not day_gone(value, today):
        return ""
    return f" ({text('day_passed', lang)})"


def day_gone(value: Any, today: date) -> bool:
    """Whether a date input's value (ISO text) is a day before ``today``."""
    try:
        return isinstance(value, str) and date.fromisoformat(value[:10]) < today
    except ValueError:
        return False


def holds_the_case(roles: Sequence[str]) -> bool:
    """Whether the reader holds the case (its caseworker or coordinator): they read every
    answer a step was given; anyone else, the answers steps share (``share: true``: no
    free text — a pause's reason may be health information)."""
    return bool({CaseRole.CASEWORKER, CaseRole.COORDINATOR} & set(roles))


def shared_history(
    definition: Definition, history: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The case's history with each step's inputs limited to those its step shares (a
    step the definition no longer names shares none)."""
    shared: list[dict[str, Any]] = []
    for entry in history:
        transition = definition.transitions_by_id.get(entry.get("transition") or "")
        declared = (
            transition.inputs
            if transition is not None
            else definition.referral.inputs
            if entry.get("event") == REFER_EVENT
            else []
        )
        names = {item.name for item in declared if item.share}
        given = entry.get("inputs") or {}
        shared.append({**entry, "inputs": {k: v for k, v in given.items() if k in names}})
    return shared


def _answer(definition: Definition, item: Input, value: Any, lang: str) -> str:
    """An answer in words: themes and choices by their labels, a day written out."""
    if item.type is InputType.DATE and isinstance(value, str):
        return written_when(value, lang)
    if item.type is InputType.THEMES and isinstance(value, list):
        names = {t.id: local(t.name, lang) for t in definition.themes}
        return ", ".join(names.get(str(v), str(v)) for v in value)
    if item.type is InputType.CHOICE:
        labels = {c.value: local(c.label, lang) for c in item.choices}
        return labels.get(str(value), str(value))
    return str(value)


def _written(value: Any, form: str, lang: str) -> str:
    if form == "money" and isinstance(value, int | float):
        amount = f"{value:,.0f}"
        return (amount.replace(",", ".") + " kr.") if lang == "da" else f"DKK {amount}"
    if form == "number" and isinstance(value, int | float):
        return f"{value:,}".replace(",", ".") if lang == "da" else f"{value:,}"
    return str(value)
