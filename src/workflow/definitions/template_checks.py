"""Load-time check that every notification renders where it is used.

Each ``notify`` effect is rendered, in every language its template is written in,
with a sample of exactly the context it will get at run time (StrictUndefined),
so a template that names a value the step does not provide fails at load time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from jinja2 import TemplateError

from workflow.definitions.effects import CreateTaskEffect, Effect, Notify, NotifyEffect, Recipients
from workflow.definitions.findings import Finding, Path
from workflow.definitions.models import Definition
from workflow.definitions.parts import Input
from workflow.definitions.templates import (
    compile_template,
    notification_context,
    render,
    template_filters,
)
from workflow.definitions.types import text_in, text_variants
from workflow.definitions.vocabulary import InputType
from workflow.errors import did_you_mean


def sample_value(item: Input, definition: Definition) -> Any:
    """A plausible value of an input, for checking templates and generating tests."""
    first_dept = definition.departments[0].id if definition.departments else "afdeling"
    first_theme = definition.themes[0].id if definition.themes else "tema"
    rooms = definition.meeting_rules.rooms
    first_choice = item.choices[0].value if item.choices else rooms[0].value if rooms else "valg"
    member = {"department": first_dept, "person": "medarbejder-1", "role": "team_member"}
    samples: dict[InputType, Any] = {
        InputType.TEXT: "tekst",
        InputType.INTEGER: int(item.min) if item.min is not None else 1,
        InputType.DECIMAL: float(item.min) if item.min is not None else 1.0,
        InputType.BOOLEAN: True,
        InputType.DATE: "2026-03-03",
        InputType.DATETIME: "2026-03-03T09:00:00+01:00",
        InputType.MEETING: "2026-03-03T09:00:00+01:00",
        InputType.MEETING_PLACE: first_choice,
        InputType.CHOICE: first_choice,
        InputType.MULTICHOICE: [first_choice],
        InputType.DEPARTMENT: first_dept,
        InputType.DEPARTMENTS: [first_dept],
        InputType.THEME: first_theme,
        InputType.THEMES: [first_theme],
        InputType.PERSON: "medarbejder-1",
        InputType.COORDINATOR: "medarbejder-1",
        InputType.TEAM: [member],
        InputType.GOALS: [
            {
                "text": "Jeg vil ...",
                "department": first_dept,
                "owner": "medarbejder-1",
                "deadline": "2026-04-01",
                "status": "open",
            }
        ],
        InputType.GOAL_REVIEWS: [{"goal": 1, "status": "met"}],
        InputType.NETWORKS: [{"name": "Klub", "kind": "leisure"}],
        InputType.BOOKED_MEETING: 1,
        InputType.ATTENDANCE: {"absent": [], "no_show": []},
        InputType.PROGRESSION: (
            definition.progression.levels[0].id if definition.progression else "niveau"
        ),
    }
    return samples[item.type]


def _sample_case(definition: Definition) -> dict[str, Any]:
    municipality = definition.municipality.name if definition.municipality else "Kommune"
    return {
        "reference": "XXX-2026-0001",
        "municipality": municipality,
        "stage": "Fase",
        "phase": "referral",
        "roles": {role.id: text_in(role.name, definition.locale) for role in definition.roles},
    }


_RECIPIENT = {"kind": "department", "id": "afdeling", "name": "Afdeling", "person": None}


def check_templates(definition: Definition) -> list[Finding]:
    """Every template parses, and renders wherever a notify effect uses it."""
    findings: list[Finding] = []
    broken: set[str] = set()
    for i, template in enumerate(definition.templates):
        for field in ("subject", "body"):
            for lang, source in text_variants(getattr(template, field)).items():
                try:
                    compile_template(source)
                except Exception as exc:  # syntax, or absurd nesting
                    broken.add(template.id)
                    findings.append(
                        (
                            ("templates", i, field),
                            f"template syntax error ({lang}, template line "
                            f"{getattr(exc, 'lineno', 1)}): {getattr(exc, 'message', None) or exc}",
                            _guess(exc, {})
                            or "templates use Jinja2 syntax: {{ value }} and {% if ... %}",
                        )
                    )
    for path, notify, context in _usages(definition):
        if notify.template in broken or notify.template not in definition.templates_by_id:
            continue
        template = definition.templates_by_id[notify.template]
        for field in ("subject", "body"):
            for lang, source in text_variants(getattr(template, field)).items():
                try:
                    render(source, context)
                except Exception as exc:  # any failure of author-written code
                    hint = _context_hint(context, source, exc)
                    guess = _guess(exc, context)
                    findings.append(
                        (
                            path + ("template",),
                            f"template '{notify.template}' ({field}, {lang}) cannot be rendered "
                            f"here: {_reason(exc)}",
                            f"{guess} {hint}" if guess else hint,
                        )
                    )
    return findings


def _guess(exc: Exception, context: dict[str, Any]) -> str | None:
    """ "did you mean 'case.reference'?" for a misspelt value of the context (one level
    down: ``case.referance``) or a misspelt filter (``| wen``)."""
    said = str(exc)
    missing = re.search(r"has no attribute '(\w+)'", said)
    if missing:
        known = {
            attribute: f"{name}.{attribute}"
            for name, value in context.items()
            if isinstance(value, dict)
            for attribute in value
        }
        close = difflib.get_close_matches(missing[1], list(known), n=1, cutoff=0.7)
        return f"did you mean '{known[close[0]]}'?" if close else None
    unknown_filter = re.search(r"No filter named '(\w+)'", said)
    if unknown_filter:
        return did_you_mean(unknown_filter[1], template_filters(), list_known=False)
    return None


def _reason(exc: Exception) -> str:
    text = str(exc).replace("'dict object' has no attribute", "no value")
    return text if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {text}"


def _context_hint(context: dict[str, Any], source: str = "", exc: Exception | None = None) -> str:
    """What the template may use here: the fields of the value it reached into for a
    field it does not have (``timer.deu``: the timer's), else the names of the context."""
    missing = re.search(r"has no attribute '(\w+)'", str(exc or ""))
    if missing:
        owners = re.findall(r"\b(\w+)\." + re.escape(missing[1]) + r"\b", source)
        value = context.get(owners[0]) if owners else None
        if isinstance(value, dict) and value:
            return f"{owners[0]} has: " + ", ".join(f"{owners[0]}.{k}" for k in sorted(value))
    shared = context.get("shared")
    names = ", ".join(sorted(context))
    if shared is not None:
        return f"available: {names}; shared inputs of this step: " + (
            ", ".join(sorted(shared)) or "none (mark inputs with share: true)"
        )
    return f"available: {names}"


#: What templates see of a meeting (the step's booked, moved, cancelled or held one).
_SAMPLE_MEETING = {
    "key": 1,
    "kind": "follow_up",
    "name": "Opfølgningsmøde",
    "starts": "2026-03-03T09:00:00+01:00",
    "ends": "2026-03-03T10:00:00+01:00",
    "place": "Rådhuset",
    "state": "moved",
    "sequence": 1,
    "calendar": True,
}
#: What a task's reminder sees of the task.
_SAMPLE_TASK = {"title": "Aftal formøde", "due": "2026-03-03T09:00:00+01:00", "details": ""}


def _usages(d: Definition) -> Iterator[tuple[Path, Notify, dict[str, Any]]]:
    case = _sample_case(d)

    def shared_of(inputs: list[Input]) -> dict[str, Any]:
        return {i.name: sample_value(i, d) for i in inputs if i.share}

    def in_effects(
        path: Path, effects: list[Effect], event: dict[str, Any], shared: dict[str, Any]
    ) -> Iterator[tuple[Path, Notify, dict[str, Any]]]:
        for j, effect in enumerate(effects):
            if isinstance(effect, NotifyEffect):
                context = notification_context(
                    case=case,
                    recipient=_RECIPIENT,
                    event=event,
                    shared=shared,
                    link="https://",
                    meeting=_SAMPLE_MEETING,
                )
                yield path + (j, "notify"), effect.notify, context
            elif isinstance(effect, CreateTaskEffect):
                for k, reminder in enumerate(effect.create_task.reminders):
                    context = notification_context(
                        case=case, recipient=_RECIPIENT, link="https://", task=_SAMPLE_TASK
                    )
                    to = reminder.to or Recipients(roles=["caseworker"])
                    notice = Notify(to=to, template=reminder.template)
                    yield path + (j, "create_task", "reminders", k), notice, context

    yield from in_effects(
        ("referral", "effects"),
        d.referral.effects,
        {"id": "refer", "name": "Henvisning"},
        shared_of(d.referral.inputs),
    )
    for i, t in enumerate(d.transitions):
        event = {"id": t.event_name, "name": text_in(t.name, d.locale)}
        yield from in_effects(("transitions", i, "effects"), t.effects, event, shared_of(t.inputs))
    for i, timer in enumerate(d.timers):
        if timer.fires.notify is not None:
            timer_ctx = {
                "id": timer.id,
                "name": text_in(timer.name, d.locale),
                "due": "2026-03-03T09:00:00+01:00",
            }
            context = notification_context(
                case=case, recipient=_RECIPIENT, timer=timer_ctx, link="https://"
            )
            yield ("timers", i, "fires", "notify"), timer.fires.notify, context
