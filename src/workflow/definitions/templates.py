"""Notification templates: Jinja2 in the sandbox, StrictUndefined, checked at load time.

A template is rendered with exactly what the recipient may know:

* ``case`` — ``reference``, ``municipality``, ``stage`` (its name) and ``phase``;
* ``recipient`` — ``kind`` (department, role or team_member), ``id``, ``name`` and
  ``person`` (a team member's or role holder's staff identifier, or none);
* ``event`` — ``id`` and ``name`` of the step (for notifications of transitions);
* ``shared`` — the step's inputs marked ``share: true`` (dates, choices, departments...;
  a choice or theme as its label in the reader's language);
* ``timer`` — ``id``, ``name`` and ``due`` (for notifications fired by a timer);
* ``link`` — where the recipient opens the case.

No names, CPR numbers or free text about the young person are ever in it.
The ``when`` filter writes a date or time the way the locale does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateSyntaxError

from workflow.definitions.sandbox import MAX_LOOP_DEPTH, BoundedSandbox, loop_depth
from workflow.texts import text


def when(value: Any, locale: str = "da") -> str:
    """A date or date-time (or its ISO text) written for people, in Danish or English."""
    lang = "da" if locale == "da" else "en"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return text("date_at_time", lang, day=when(value.date(), lang), time=value)
    if isinstance(value, date):
        return text(
            "date_written",
            lang,
            weekday=text(f"weekday_{value.weekday()}", lang),
            day=value.day,
            month=text(f"month_{value.month}", lang),
            year=value.year,
        )
    return str(value)


_env = BoundedSandbox(autoescape=False, keep_trailing_newline=True)
_env.filters["when"] = when


def template_filters() -> list[str]:
    """The filters a template may use (for a 'did you mean' on a misspelt one)."""
    return sorted(_env.filters)


@lru_cache(maxsize=2048)
def compile_template(source: str) -> Template:
    """Compile a template once; raises TemplateSyntaxError on bad syntax, and on loops
    nested deeper than MAX_LOOP_DEPTH (a template must not be able to run for ever)."""
    tree = _env.parse(source)
    if loop_depth(tree) > MAX_LOOP_DEPTH:
        raise TemplateSyntaxError(f"loops are nested more than {MAX_LOOP_DEPTH} deep", lineno=1)
    return _env.from_string(tree)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a template in the sandbox; undefined variables raise."""
    return str(compile_template(source).render(**context))


def notification_context(
    *,
    case: Mapping[str, Any],
    recipient: Mapping[str, Any],
    event: Mapping[str, Any] | None = None,
    shared: Mapping[str, Any] | None = None,
    timer: Mapping[str, Any] | None = None,
    link: str = "",
    meeting: Mapping[str, Any] | None = None,
    task: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The variables a notification template gets (absent ones are left out on purpose).

    A step's notification gets ``meeting`` — the meeting the step booked, moved,
    cancelled or held (kind, name, starts, ends, place, state), or none; a task's
    reminder gets ``task`` (title, due, details) instead of an event.
    """
    context: dict[str, Any] = {"case": case, "recipient": recipient, "link": link}
    if event is not None:
        context["event"] = event
        context["shared"] = dict(shared or {})
        context["meeting"] = dict(meeting) if meeting else None
    if timer is not None:
        context["timer"] = timer
    if task is not None:
        context["task"] = dict(task)
    return context
